#include "proxy/e2e/child_process.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <thread>

extern char** environ;

namespace reflex::proxy::e2e {

std::string TestDir() {
  const char* dir = std::getenv("TEST_TMPDIR");
  return dir != nullptr ? dir : "/tmp";
}

std::string Runfile(const std::string& path) {
  const char* srcdir = std::getenv("TEST_SRCDIR");
  const char* workspace = std::getenv("TEST_WORKSPACE");
  if (srcdir == nullptr) return path;
  return std::string(srcdir) + "/" + (workspace != nullptr ? workspace : "reflex_cpp") + "/" + path;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

ChildProcess::ChildProcess(std::vector<std::string> argv, const std::string& dir,
                           const std::string& tag)
    : stdout_path_(dir + "/" + tag + ".stdout"), stderr_path_(dir + "/" + tag + ".stderr") {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, stdout_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_addopen(&actions, 2, stderr_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  std::vector<char*> args;
  for (std::string& a : argv) args.push_back(a.data());
  args.push_back(nullptr);
  if (posix_spawn(&pid_, args[0], &actions, nullptr, args.data(), environ) != 0) pid_ = -1;
  posix_spawn_file_actions_destroy(&actions);
}

ChildProcess::~ChildProcess() {
  if (pid_ > 0 && !status_) {
    kill(pid_, SIGKILL);
    int status = 0;
    waitpid(pid_, &status, 0);
  }
}

uint16_t ChildProcess::WaitForListening(const std::string& name, std::chrono::milliseconds timeout) {
  const auto until = std::chrono::steady_clock::now() + timeout;
  const std::string key = name + " listening on ";
  while (std::chrono::steady_clock::now() < until) {
    const std::string err = ReadStderr();
    const size_t at = err.find(key);
    if (at != std::string::npos) {
      const size_t eol = err.find('\n', at);
      if (eol != std::string::npos) {
        const std::string hostport = err.substr(at + key.size(), eol - at - key.size());
        const size_t colon = hostport.rfind(':');
        if (colon != std::string::npos) return static_cast<uint16_t>(std::atoi(hostport.c_str() + colon + 1));
      }
    }
    if (!running()) return 0;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return 0;
}

std::optional<int> ChildProcess::Wait(std::chrono::milliseconds timeout) {
  const auto until = std::chrono::steady_clock::now() + timeout;
  while (!status_) {
    if (!running() || std::chrono::steady_clock::now() >= until) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return status_;
}

bool ChildProcess::running() {
  if (pid_ <= 0 || status_) return false;
  int status = 0;
  const pid_t r = waitpid(pid_, &status, WNOHANG);
  if (r == 0) return true;
  status_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return false;
}

void ChildProcess::Signal(int signo) {
  if (running()) kill(pid_, signo);
}

std::string ChildProcess::ReadStdout() const { return ReadFile(stdout_path_); }
std::string ChildProcess::ReadStderr() const { return ReadFile(stderr_path_); }

}  // namespace reflex::proxy::e2e
