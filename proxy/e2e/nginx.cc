#include "proxy/e2e/nginx.h"

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <thread>

#include "proxy/e2e/test_servers.h"
#include "proxy/probe/blocking_socket.h"

namespace reflex::proxy::e2e {

namespace {

// A self-signed certificate and its key in `dir` (cert.pem, key.pem).
bool MakeCertificate(const std::string& dir) {
  ChildProcess openssl({"/usr/bin/openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                        "ec_paramgen_curve:P-256", "-nodes", "-days", "2", "-subj", "/CN=cdn.example.com",
                        "-keyout", dir + "/key.pem", "-out", dir + "/cert.pem"},
                       dir, "openssl");
  return openssl.Wait(std::chrono::seconds(30)).value_or(-1) == 0;
}

}  // namespace

Nginx::Nginx(const std::string& tag, Transport transport) {
  if (access(kNginx, X_OK) != 0) return;
  const std::string dir = TestDir() + "/" + tag;
  mkdir(dir.c_str(), 0700);
  mkdir((dir + "/www").c_str(), 0700);
  mkdir((dir + "/logs").c_str(), 0700);
  std::ofstream(dir + "/www/index.html") << kIndexPage;
  const uint16_t port = UnusedPort();
  const std::string timeout = std::to_string(kNginxHeaderTimeout.count()) + "s";
  std::string listen = "listen 127.0.0.1:" + std::to_string(port);
  if (transport == Transport::kTls) {
    if (!MakeCertificate(dir)) return;
    listen += " ssl;\n    ssl_certificate " + dir + "/cert.pem;\n    ssl_certificate_key " + dir +
              "/key.pem;\n    ssl_protocols TLSv1.2 TLSv1.3";
  }
  std::ofstream(dir + "/nginx.conf")
      << "daemon off;\nmaster_process off;\nworker_processes 1;\n"
      << "pid " << dir << "/nginx.pid;\nerror_log " << dir << "/logs/error.log;\n"
      << "events { worker_connections 512; }\n"
      << "http {\n  access_log off;\n"
      << "  client_header_timeout " << timeout << ";\n  client_body_timeout " << timeout << ";\n"
      << "  keepalive_timeout " << timeout << ";\n"
      << "  client_body_temp_path " << dir << "/body;\n"
      << "  server {\n    " << listen << ";\n    root " << dir << "/www;\n  }\n}\n";
  process_ = std::make_unique<ChildProcess>(
      std::vector<std::string>{kNginx, "-c", dir + "/nginx.conf", "-p", dir, "-e", dir + "/logs/error.log"},
      TestDir(), tag);
  // Ready once it accepts a connection (bounded).
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (std::chrono::steady_clock::now() < until && process_->running()) {
    probe::BlockingSocket s(port);
    if (s.connected()) {
      port_ = port;
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

Nginx::~Nginx() {
  if (process_ && process_->running()) {
    process_->Signal(SIGQUIT);  // nginx's graceful stop
    if (!process_->Wait(std::chrono::seconds(10))) process_->Signal(SIGKILL);
  }
}

}  // namespace reflex::proxy::e2e
