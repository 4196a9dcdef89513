// redis-server (Debian's redis-server 7) for end-to-end tests: one process
// in the foreground, listening on 127.0.0.1 at a port of its own and on a
// unix socket in the test's directory, with nothing saved to disk and
// keyspace notifications for sets and generic commands on (what
// --users-from follows). Stop() and Start() again keep the same addresses,
// so a test can take the store away from running servers and give it back.
#ifndef REFLEX_PROXY_E2E_REDIS_SERVER_H_
#define REFLEX_PROXY_E2E_REDIS_SERVER_H_

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "proxy/e2e/child_process.h"

namespace reflex::proxy::e2e {

inline constexpr char kRedisServer[] = "/usr/bin/redis-server";
inline constexpr char kRedisCli[] = "/usr/bin/redis-cli";

class RedisServer {
 public:
  // Starts it (ok() says whether it answers); `password` set: requirepass.
  explicit RedisServer(const std::string& tag, std::string password = "");
  ~RedisServer();
  bool ok() const { return up_; }
  uint16_t port() const { return port_; }
  const std::string& unix_path() const { return unix_path_; }
  // redis://127.0.0.1:PORT/DB and unix://PATH?db=DB
  std::string TcpUrl(int db = 0) const;
  std::string UnixUrl(int db = 0) const;

  // SIGTERM and wait (bounded): the store is gone.
  void Stop();
  // SIGSTOP / SIGCONT: the store stops answering, its connections stay up.
  void Freeze();
  void Thaw();
  // Started again on the same addresses; true once it answers.
  bool Start();
  // redis-cli's output for one command (trailing newline removed), or
  // "(failed)".
  std::string Cli(const std::vector<std::string>& command, int db = 0) const;

 private:
  std::string tag_;
  std::string dir_;
  std::string password_;
  uint16_t port_ = 0;
  std::string socket_dir_;
  std::string unix_path_;
  int starts_ = 0;
  bool up_ = false;
  std::unique_ptr<ChildProcess> process_;
};

}  // namespace reflex::proxy::e2e

#endif  // REFLEX_PROXY_E2E_REDIS_SERVER_H_
