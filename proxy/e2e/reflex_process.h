// The reflex binary as a child process: a server or a client on OS-chosen
// loopback ports, its statistics read through SIGUSR1.
#ifndef REFLEX_PROXY_E2E_REFLEX_PROCESS_H_
#define REFLEX_PROXY_E2E_REFLEX_PROCESS_H_

#include <chrono>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "proxy/e2e/child_process.h"

namespace reflex::proxy::e2e {

inline constexpr char kUser1[] = "6f1c2a9e-2b1d-4c1e-9a55-0f3b8d7c6e51";
inline constexpr char kUser2[] = "0b7e5d44-91a3-4f0e-8c2b-7d6a5e4f3c21";
inline constexpr char kUser3[] = "3c9d1e27-5a4b-4e8f-b1c2-d3e4f5a6b7c8";

class ReflexProcess {
 public:
  // reflex server --listen 127.0.0.1:0 --user U... --fallback 127.0.0.1:F
  //   --allow-target 127.0.0.0/8 --allow-target ::1 (the tests' targets
  //   are on loopback, which the server's egress policy refuses by default)
  // `binary`: a runfile path (a build with a defect, say).
  static std::unique_ptr<ReflexProcess> Server(const std::string& tag, uint16_t fallback_port,
                                               std::vector<std::string> extra = {},
                                               const std::string& binary = "proxy/reflex");
  // reflex server --config FILE EXTRA... (everything else from the file).
  static std::unique_ptr<ReflexProcess> ServerWithConfig(const std::string& tag, const std::string& config,
                                                         std::vector<std::string> extra = {});
  // The same without the loopback allowance: the default egress policy.
  static std::unique_ptr<ReflexProcess> ServerWithDefaultPolicy(const std::string& tag,
                                                                uint16_t fallback_port,
                                                                std::vector<std::string> extra = {});
  // reflex client --server 127.0.0.1:S --user U --socks 127.0.0.1:0 --http 127.0.0.1:0
  static std::unique_ptr<ReflexProcess> Client(const std::string& tag, uint16_t server_port,
                                               std::vector<std::string> extra = {});

  // SIGTERM, then the exit status must be 0 within 20 s (under ASan that
  // includes the leak check); a failure is added to the running test.
  ~ReflexProcess();

  bool ok() const { return port_ != 0; }
  uint16_t port() const { return port_; }       // server: its port; client: SOCKS5
  uint16_t http_port() const { return http_port_; }
  ChildProcess& child() { return *child_; }

  // Waits (bounded) until the log (stderr) holds `text`.
  bool WaitForLog(const std::string& text, std::chrono::milliseconds timeout);
  // The statistics now (SIGUSR1; the JSON line it prints), or null.
  nlohmann::json Stats();
  // Polls the statistics until no connection is open and every pooled
  // buffer and state is back (bounded); the last statistics read.
  nlohmann::json WaitIdle(std::chrono::milliseconds timeout);

 private:
  static std::unique_ptr<ReflexProcess> StartServer(const std::string& tag, uint16_t fallback_port,
                                                    std::vector<std::string> extra,
                                                    const std::string& binary);
  std::unique_ptr<ChildProcess> child_;
  uint16_t port_ = 0;
  uint16_t http_port_ = 0;
  size_t stats_lines_ = 0;
};

// True when the statistics say: nothing open, nothing outstanding.
bool IsIdle(const nlohmann::json& stats);

// The reflex program run to its end (bounded: 300 s), e.g. a probe: its
// exit status (-1 if it did not end) and what it printed (stdout, then
// stderr).
struct CommandRun {
  int status = -1;
  std::string out;
};
CommandRun RunReflex(std::vector<std::string> args, const std::string& tag);

}  // namespace reflex::proxy::e2e

#endif  // REFLEX_PROXY_E2E_REFLEX_PROCESS_H_
