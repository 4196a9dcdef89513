#include "proxy/e2e/reflex_process.h"

#include <gtest/gtest.h>
#include <signal.h>

#include <sstream>
#include <thread>

namespace reflex::proxy::e2e {

namespace {

std::vector<std::string> Base(const char* role, const std::string& binary = "proxy/reflex") {
  return {Runfile(binary), role, "--threads", "2", "--log-level", "info"};
}

}  // namespace

std::unique_ptr<ReflexProcess> ReflexProcess::Server(const std::string& tag, uint16_t fallback_port,
                                                     std::vector<std::string> extra,
                                                     const std::string& binary) {
  extra.insert(extra.begin(), {"--allow-target", "127.0.0.0/8", "--allow-target", "::1"});
  return StartServer(tag, fallback_port, std::move(extra), binary);
}

std::unique_ptr<ReflexProcess> ReflexProcess::ServerWithConfig(const std::string& tag,
                                                               const std::string& config,
                                                               std::vector<std::string> extra) {
  auto p = std::unique_ptr<ReflexProcess>(new ReflexProcess);
  std::vector<std::string> argv = Base("server", "proxy/reflex");
  argv.push_back("--config");
  argv.push_back(config);
  argv.insert(argv.end(), extra.begin(), extra.end());
  p->child_ = std::make_unique<ChildProcess>(argv, TestDir(), tag);
  p->port_ = p->child_->WaitForListening("server", std::chrono::seconds(20));
  return p;
}

CommandRun RunReflex(std::vector<std::string> args, const std::string& tag) {
  args.insert(args.begin(), Runfile("proxy/reflex"));
  ChildProcess p(args, TestDir(), tag);
  CommandRun r;
  r.status = p.Wait(std::chrono::seconds(300)).value_or(-1);
  r.out = p.ReadStdout() + p.ReadStderr();
  return r;
}

bool ReflexProcess::WaitForLog(const std::string& text, std::chrono::milliseconds timeout) {
  const auto until = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < until) {
    if (child_->ReadStderr().find(text) != std::string::npos) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return child_->ReadStderr().find(text) != std::string::npos;
}

std::unique_ptr<ReflexProcess> ReflexProcess::ServerWithDefaultPolicy(const std::string& tag,
                                                                      uint16_t fallback_port,
                                                                      std::vector<std::string> extra) {
  return StartServer(tag, fallback_port, std::move(extra), "proxy/reflex");
}

std::unique_ptr<ReflexProcess> ReflexProcess::StartServer(const std::string& tag, uint16_t fallback_port,
                                                          std::vector<std::string> extra,
                                                          const std::string& binary) {
  auto p = std::unique_ptr<ReflexProcess>(new ReflexProcess);
  std::vector<std::string> argv = Base("server", binary);
  for (const std::string& a : {std::string("--listen"), std::string("127.0.0.1:0"),
                               std::string("--user"), std::string(kUser1), std::string("--user"),
                               std::string(kUser2), std::string("--fallback"),
                               "127.0.0.1:" + std::to_string(fallback_port)}) {
    argv.push_back(a);
  }
  argv.insert(argv.end(), extra.begin(), extra.end());
  p->child_ = std::make_unique<ChildProcess>(argv, TestDir(), tag);
  p->port_ = p->child_->WaitForListening("server", std::chrono::seconds(20));
  return p;
}

std::unique_ptr<ReflexProcess> ReflexProcess::Client(const std::string& tag, uint16_t server_port,
                                                     std::vector<std::string> extra) {
  auto p = std::unique_ptr<ReflexProcess>(new ReflexProcess);
  std::vector<std::string> argv = Base("client");
  for (const std::string& a :
       {std::string("--server"), "127.0.0.1:" + std::to_string(server_port), std::string("--user"),
        std::string(kUser1), std::string("--socks"), std::string("127.0.0.1:0"),
        std::string("--http"), std::string("127.0.0.1:0")}) {
    argv.push_back(a);
  }
  argv.insert(argv.end(), extra.begin(), extra.end());
  p->child_ = std::make_unique<ChildProcess>(argv, TestDir(), tag);
  p->port_ = p->child_->WaitForListening("socks", std::chrono::seconds(20));
  p->http_port_ = p->child_->WaitForListening("http", std::chrono::seconds(20));
  return p;
}

ReflexProcess::~ReflexProcess() {
  if (!child_->running()) return;  // a test that killed it checks it
  child_->Signal(SIGTERM);
  const std::optional<int> status = child_->Wait(std::chrono::seconds(20));
  if (status != std::optional<int>(0)) {
    ADD_FAILURE() << "reflex did not exit cleanly on SIGTERM (status "
                  << (status ? std::to_string(*status) : "none") << "):\n"
                  << child_->ReadStderr();
  }
}

nlohmann::json ReflexProcess::Stats() {
  child_->Signal(SIGUSR1);
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (std::chrono::steady_clock::now() < until) {
    std::istringstream out(child_->ReadStdout());
    std::vector<std::string> lines;
    for (std::string line; std::getline(out, line);) {
      if (!line.empty() && line[0] == '{') lines.push_back(line);
    }
    if (lines.size() > stats_lines_) {
      stats_lines_ = lines.size();
      return nlohmann::json::parse(lines.back(), nullptr, /*allow_exceptions=*/false);
    }
    if (!child_->running()) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return nullptr;
}

bool IsIdle(const nlohmann::json& s) {
  if (!s.is_object()) return false;
  if (s["connections"]["active"] != 0) return false;
  for (const auto& [name, pool] : s["pools"].items()) {
    if (pool["outstanding"] != 0) return false;
  }
  return true;
}

nlohmann::json ReflexProcess::WaitIdle(std::chrono::milliseconds timeout) {
  const auto until = std::chrono::steady_clock::now() + timeout;
  nlohmann::json s;
  do {
    s = Stats();
    if (IsIdle(s)) return s;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  } while (std::chrono::steady_clock::now() < until);
  return s;
}

}  // namespace reflex::proxy::e2e
