#include "proxy/e2e/redis_server.h"

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <thread>

#include "proxy/e2e/test_servers.h"

namespace reflex::proxy::e2e {

RedisServer::RedisServer(const std::string& tag, std::string password)
    : tag_(tag), dir_(TestDir() + "/" + tag), password_(std::move(password)) {
  if (access(kRedisServer, X_OK) != 0) return;
  mkdir(dir_.c_str(), 0700);
  port_ = UnusedPort();
  // A unix socket's path has at most 107 bytes: the test's directory
  // under Bazel is longer than that.
  char socket_dir[] = "/tmp/reflex-redis-XXXXXX";
  if (mkdtemp(socket_dir) == nullptr) return;
  socket_dir_ = socket_dir;
  unix_path_ = socket_dir_ + "/redis.sock";
  std::ofstream conf(dir_ + "/redis.conf");
  conf << "bind 127.0.0.1\nport " << port_ << "\nunixsocket " << unix_path_ << "\nunixsocketperm 700\n"
       << "save \"\"\nappendonly no\ndir " << dir_ << "\nnotify-keyspace-events Ksg\n"
       << "maxmemory-policy noeviction\n";
  if (!password_.empty()) conf << "requirepass \"" << password_ << "\"\n";
  conf.close();
  up_ = Start();
}

RedisServer::~RedisServer() {
  Stop();
  if (!socket_dir_.empty()) {
    unlink(unix_path_.c_str());
    rmdir(socket_dir_.c_str());
  }
}

std::string RedisServer::TcpUrl(int db) const {
  return "redis://127.0.0.1:" + std::to_string(port_) + "/" + std::to_string(db);
}

std::string RedisServer::UnixUrl(int db) const { return "unix://" + unix_path_ + "?db=" + std::to_string(db); }

bool RedisServer::Start() {
  if (port_ == 0) return false;
  process_ = std::make_unique<ChildProcess>(std::vector<std::string>{kRedisServer, dir_ + "/redis.conf"},
                                            TestDir(), tag_ + "-" + std::to_string(starts_++));
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (std::chrono::steady_clock::now() < until && process_->running()) {
    if (Cli({"PING"}) == "PONG") return up_ = true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return up_ = false;
}

void RedisServer::Stop() {
  if (process_ && process_->running()) {
    process_->Signal(SIGCONT);  // a frozen one cannot end otherwise
    process_->Signal(SIGTERM);
    if (!process_->Wait(std::chrono::seconds(10))) process_->Signal(SIGKILL);
    (void)process_->Wait(std::chrono::seconds(10));
  }
  up_ = false;
}

void RedisServer::Freeze() {
  if (process_) process_->Signal(SIGSTOP);
}

void RedisServer::Thaw() {
  if (process_) process_->Signal(SIGCONT);
}

std::string RedisServer::Cli(const std::vector<std::string>& command, int db) const {
  std::vector<std::string> argv = {kRedisCli, "-s", unix_path_, "-n", std::to_string(db)};
  if (!password_.empty()) argv.insert(argv.end(), {"-a", password_, "--no-auth-warning"});
  argv.insert(argv.end(), command.begin(), command.end());
  ChildProcess cli(argv, TestDir(), tag_ + "-cli");
  if (cli.Wait(std::chrono::seconds(10)).value_or(-1) != 0) return "(failed)";
  std::string out = cli.ReadStdout();
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
  return out;
}

}  // namespace reflex::proxy::e2e
