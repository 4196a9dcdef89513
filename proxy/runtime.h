// The process around the handlers: one io_context per thread, each with
// its own acceptor on every listening address (SO_REUSEPORT lets the kernel
// spread connections over them), so a connection lives on one thread from
// accept to close and no lock sits on the data path. Signals: SIGTERM and
// SIGINT drain (stop accepting, let connections finish, up to a limit),
// SIGUSR1 prints statistics, SIGHUP reloads (OnReload). Accept errors such as EMFILE pause that
// acceptor briefly instead of spinning.
#ifndef REFLEX_PROXY_RUNTIME_H_
#define REFLEX_PROXY_RUNTIME_H_

#include <signal.h>

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <system_error>
#include <vector>

#include "pool/buffer_pool.h"
#include "proxy/address.h"
#include "proxy/asio_config.h"
#include "proxy/stats.h"

namespace reflex::proxy {

// How often each thread gives back memory it kept but did not need.
inline constexpr std::chrono::seconds kHousekeepingPeriod{1};

struct RuntimeOptions {
  int threads = 0;  // 0: one per core
  size_t max_connections = 20000;
  std::chrono::milliseconds drain_timeout{10000};
  bool print_stats = false;  // JSON on SIGUSR1 and at exit (stdout)
  std::string role;          // "server" or "client", in the statistics
};

class Runtime {
 public:
  // Runs on the accepting thread's io_context, for each connection.
  using Handler = std::function<void(asio::ip::tcp::socket socket, int thread)>;

  explicit Runtime(const RuntimeOptions& options);
  ~Runtime();

  int threads() const { return static_cast<int>(contexts_.size()); }
  asio::io_context& context(int thread) { return *contexts_[static_cast<size_t>(thread)]; }
  Stats& stats() { return stats_; }
  pool::BufferPool& pool() { return pool_; }
  // Another pool in the statistics (besides "buffers"); call before Run().
  // Another pool of the process: its statistics in --stats, and its decay
  // (what it retains unused is given back over time, see Housekeeping).
  // decay(shared_lists): the pool's DecayThreadCache, plus its
  // DecaySharedLists when shared_lists is true (thread 0 only).
  void AddPool(std::string name, std::function<pool::PoolStats()> stats, std::function<size_t(bool)> decay) {
    extra_pools_.push_back({std::move(name), std::move(stats), std::move(decay)});
  }

  // Binds `address` on every thread (the first bind picks the port when it
  // is 0) and prints "listening on HOST:PORT" (stderr, info). The error on
  // failure (address_in_use, or invalid_argument for a host that is not
  // an IP address).
  [[nodiscard]] std::error_code Listen(const HostPort& address, const std::string& name,
                                       Handler handler);

  // Serves the statistics in Prometheus's text format at http://address/metrics
  // (on thread 0) and prints "metrics listening on HOST:PORT"; closed
  // when the drain begins.
  [[nodiscard]] std::error_code ListenMetrics(const HostPort& address);
  // Runs on thread 0 at each SIGHUP. Without it SIGHUP keeps its default
  // action (the process ends, as when its terminal goes).
  void OnReload(std::function<void()> reload) {
    reload_ = std::move(reload);
    signals_->add(SIGHUP);
  }

  // Runs until drained after a signal. The process's exit status.
  int Run();
  // Set once the drain begins (what a connection that should end then
  // watches: a UDP association sends its CLOSE).
  const std::atomic<bool>* draining() const { return &draining_; }

 private:
  struct Listener;
  awaitable<void> AcceptLoop(Listener* listener, int thread);
  awaitable<void> Signals();
  void BeginDrain();
  void PrintStats();
  std::vector<NamedPoolStats> PoolStats();
  awaitable<void> MetricsLoop(asio::ip::tcp::acceptor* acceptor);
  awaitable<void> Housekeeping(int thread);

  RuntimeOptions options_;
  Stats stats_;
  pool::BufferPool pool_;
  std::vector<std::unique_ptr<asio::io_context>> contexts_;
  std::vector<std::unique_ptr<Listener>> listeners_;
  struct ExtraPool {
    std::string name;
    std::function<pool::PoolStats()> stats;
    std::function<size_t(bool)> decay;
  };
  std::vector<ExtraPool> extra_pools_;
  std::unique_ptr<asio::signal_set> signals_;
  std::unique_ptr<asio::ip::tcp::acceptor> metrics_;
  std::function<void()> reload_;
  std::atomic<bool> draining_{false};
};

}  // namespace reflex::proxy

#endif  // REFLEX_PROXY_RUNTIME_H_
