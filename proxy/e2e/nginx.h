// nginx (Debian's nginx-light) as the fallback of end-to-end tests: one
// process in the foreground on 127.0.0.1 at a port of its own, serving a
// small page, with short timeouts (a silent connection ends after
// kNginxHeaderTimeout) so that tests about silence stay quick; over plain
// HTTP, or over TLS with a self-signed ECDSA P-256 certificate made for the
// run by the openssl command.
#ifndef REFLEX_PROXY_E2E_NGINX_H_
#define REFLEX_PROXY_E2E_NGINX_H_

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "proxy/e2e/child_process.h"

namespace reflex::proxy::e2e {

inline constexpr char kNginx[] = "/usr/sbin/nginx";
inline constexpr std::chrono::seconds kNginxHeaderTimeout{2};

class Nginx {
 public:
  enum class Transport { kHttp, kTls };
  // Starts it (ok() says whether it listens); stops it when destroyed.
  explicit Nginx(const std::string& tag, Transport transport = Transport::kHttp);
  ~Nginx();
  bool ok() const { return port_ != 0; }
  uint16_t port() const { return port_; }

 private:
  std::unique_ptr<ChildProcess> process_;
  uint16_t port_ = 0;
};

}  // namespace reflex::proxy::e2e

#endif  // REFLEX_PROXY_E2E_NGINX_H_
