// A child process for end-to-end tests: the reflex binary (or curl) with
// stdout and stderr in files, waited for with a bound, killed if the test
// ends first. Reads "NAME listening on HOST:PORT" lines to learn ports.
#ifndef REFLEX_PROXY_E2E_CHILD_PROCESS_H_
#define REFLEX_PROXY_E2E_CHILD_PROCESS_H_

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace reflex::proxy::e2e {

class ChildProcess {
 public:
  // Starts argv[0] (a path) with the arguments; output goes to
  // <dir>/<tag>.stdout and <dir>/<tag>.stderr.
  ChildProcess(std::vector<std::string> argv, const std::string& dir, const std::string& tag);
  ~ChildProcess();  // SIGKILL and reap, if still running
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  bool started() const { return pid_ > 0; }
  pid_t pid() const { return pid_; }
  // The port of the first "<name> listening on HOST:PORT" line on stderr,
  // waiting up to `timeout`; 0 if none appeared (or the child exited).
  uint16_t WaitForListening(const std::string& name, std::chrono::milliseconds timeout);
  // The exit status (WEXITSTATUS, or 128 + signal), waiting up to
  // `timeout`; nullopt if it is still running then.
  std::optional<int> Wait(std::chrono::milliseconds timeout);
  void Signal(int signo);
  bool running();

  std::string ReadStdout() const;
  std::string ReadStderr() const;

 private:
  pid_t pid_ = -1;
  std::optional<int> status_;
  std::string stdout_path_;
  std::string stderr_path_;
};

// The directory for a test's files: $TEST_TMPDIR, else /tmp.
std::string TestDir();
// A runfile's path (e.g. "proxy/reflex"), for tests under `bazel test`.
std::string Runfile(const std::string& path);
std::string ReadFile(const std::string& path);

}  // namespace reflex::proxy::e2e

#endif  // REFLEX_PROXY_E2E_CHILD_PROCESS_H_
