#include "proxy/runtime.h"

#include <malloc.h>
#include <signal.h>
#include <sys/resource.h>

#include <cstdio>
#include <thread>

#include "proxy/heap.h"
#include "proxy/log.h"
#include "proxy/metrics.h"

namespace reflex::proxy {

struct Runtime::Listener {
  std::string name;
  Handler handler;
  std::vector<std::unique_ptr<asio::ip::tcp::acceptor>> acceptors;  // one per thread
};

namespace {

pool::PoolOptions ProxyPoolOptions() {
  pool::PoolOptions options;
  options.name = "proxy";
  options.checked = false;  // a debugging mode: off in the proxy
  // Buffers in use are not limited by this, only the idle ones kept for
  // reuse: 64 MiB keeps bursts fast without holding memory for idle
  // tunnels forever.
  options.max_retained_bytes = size_t{64} << 20;
  return options;
}

// Where malloc switches to mmap (above): the pool's two largest tiers.
constexpr size_t kMmapFromBytes = 32 * 1024;

bool IsResourceExhaustion(const std::error_code& ec) {
  return ec == asio::error::no_descriptors || ec == asio::error::no_buffer_space ||
         ec == asio::error::no_memory || ec.value() == ENFILE;
}

}  // namespace

Runtime::Runtime(const RuntimeOptions& options)
    : options_(options), pool_(ProxyPoolOptions()) {
  int n = options.threads > 0 ? options.threads : static_cast<int>(std::thread::hardware_concurrency());
  if (n < 1) n = 1;
  for (int i = 0; i < n; ++i) contexts_.push_back(std::make_unique<asio::io_context>(1));
  signal(SIGPIPE, SIG_IGN);
  // Under glibc's malloc (proxy/heap.h: tests built without a sanitizer):
  // the pool's 32 and 128 KiB buffers straight from the kernel (mmap), so
  // that freeing one (the pool's decay) returns it whole rather than
  // leaving it between small long-lived objects in the heap, whose pages
  // no trim can give back. A fixed threshold also stops glibc from raising
  // it after the first such free. The pool keeps what a load keeps using,
  // so the steady state maps nothing. jemalloc ignores this.
  (void)mallopt(M_MMAP_THRESHOLD, static_cast<int>(kMmapFromBytes));
  // Taken now, before any "listening" line: a signal sent as soon as a
  // script or test reads that line waits for Run() instead of ending the
  // process by its default action.
  signals_ = std::make_unique<asio::signal_set>(context(0), SIGINT, SIGTERM, SIGUSR1);
  // Each tunnel holds two descriptors: use every one the system allows.
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    (void)setrlimit(RLIMIT_NOFILE, &limit);
  }
}

Runtime::~Runtime() = default;

std::error_code Runtime::Listen(const HostPort& address, const std::string& name, Handler handler) {
  auto listener = std::make_unique<Listener>();
  listener->name = name;
  listener->handler = std::move(handler);
  std::error_code ec;
  const auto ip = asio::ip::make_address(address.host, ec);
  if (ec) return std::make_error_code(std::errc::invalid_argument);  // not an IP address
  uint16_t port = address.port;
  // SO_REUSEPORT would let a second reflex share a port already in use;
  // a plain bind first makes "address in use" an error as users expect.
  if (port != 0) {
    asio::ip::tcp::acceptor probe(context(0));
    const asio::ip::tcp::endpoint endpoint(ip, port);
    probe.open(endpoint.protocol(), ec);
    if (!ec) probe.set_option(asio::ip::tcp::acceptor::reuse_address(true), ec);
    if (!ec) probe.bind(endpoint, ec);
    if (ec) return ec;
  }
  for (int t = 0; t < threads(); ++t) {
    auto acceptor = std::make_unique<asio::ip::tcp::acceptor>(context(t));
    const asio::ip::tcp::endpoint endpoint(ip, port);
    acceptor->open(endpoint.protocol(), ec);
    if (!ec) acceptor->set_option(asio::ip::tcp::acceptor::reuse_address(true), ec);
    if (!ec) {
      const int one = 1;
      if (setsockopt(acceptor->native_handle(), SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) != 0) {
        ec = std::error_code(errno, std::system_category());
      }
    }
    if (!ec) acceptor->bind(endpoint, ec);
    if (!ec) acceptor->listen(asio::socket_base::max_listen_connections, ec);
    if (ec) return ec;
    port = acceptor->local_endpoint().port();  // the OS's pick, for the others
    listener->acceptors.push_back(std::move(acceptor));
  }
  // At every log level: scripts and tests read the port from this line.
  Log(LogLevel::kInfo, "%s listening on %s", name.c_str(),
      FormatHostPort({address.host, port}).c_str());
  for (int t = 0; t < threads(); ++t) {
    asio::co_spawn(context(t), AcceptLoop(listener.get(), t), asio::detached);
  }
  listeners_.push_back(std::move(listener));
  return {};
}

awaitable<void> Runtime::AcceptLoop(Listener* listener, int thread) {
  asio::ip::tcp::acceptor& acceptor = *listener->acceptors[static_cast<size_t>(thread)];
  asio::steady_timer pause(co_await asio::this_coro::executor);
  while (!draining_.load()) {
    auto [ec, socket] = co_await acceptor.async_accept(kUseTuple);
    if (draining_.load() || ec == asio::error::operation_aborted) break;
    if (ec) {
      stats_.accept_errors.fetch_add(1, std::memory_order_relaxed);
      if (IsResourceExhaustion(ec)) {
        // The connection waits in the backlog; retrying at once would spin.
        REFLEX_LOG(kWarn, "%s accept: %s; pausing 100 ms", listener->name.c_str(),
                   ec.message().c_str());
        pause.expires_after(std::chrono::milliseconds(100));
        (void)co_await pause.async_wait(kUseTuple);
      }
      continue;
    }
    if (stats_.active.load(std::memory_order_relaxed) >= options_.max_connections) {
      stats_.refused_limit.fetch_add(1, std::memory_order_relaxed);
      std::error_code ignored;
      socket.close(ignored);
      continue;
    }
    std::error_code ignored;
    socket.set_option(asio::ip::tcp::no_delay(true), ignored);
    listener->handler(std::move(socket), thread);
  }
}

void Runtime::BeginDrain() {
  if (draining_.exchange(true)) return;
  REFLEX_LOG(kInfo, "draining: %llu connection(s) open",
             static_cast<unsigned long long>(stats_.active.load()));
  for (auto& listener : listeners_) {
    for (size_t t = 0; t < listener->acceptors.size(); ++t) {
      asio::ip::tcp::acceptor* a = listener->acceptors[t].get();
      asio::post(context(static_cast<int>(t)), [a] {
        std::error_code ignored;
        a->close(ignored);
      });
    }
  }
  if (metrics_) {
    asio::post(context(0), [a = metrics_.get()] {
      std::error_code ignored;
      a->close(ignored);
    });
  }
}

std::error_code Runtime::ListenMetrics(const HostPort& address) {
  std::error_code ec;
  const auto ip = asio::ip::make_address(address.host, ec);
  if (ec) return std::make_error_code(std::errc::invalid_argument);
  auto acceptor = std::make_unique<asio::ip::tcp::acceptor>(context(0));
  const asio::ip::tcp::endpoint endpoint(ip, address.port);
  acceptor->open(endpoint.protocol(), ec);
  if (!ec) acceptor->set_option(asio::ip::tcp::acceptor::reuse_address(true), ec);
  if (!ec) acceptor->bind(endpoint, ec);
  if (!ec) acceptor->listen(64, ec);
  if (ec) return ec;
  Log(LogLevel::kInfo, "metrics listening on %s",
      FormatHostPort({address.host, acceptor->local_endpoint().port()}).c_str());
  metrics_ = std::move(acceptor);
  asio::co_spawn(context(0), MetricsLoop(metrics_.get()), asio::detached);
  return {};
}

awaitable<void> Runtime::MetricsLoop(asio::ip::tcp::acceptor* acceptor) {
  asio::steady_timer pause(co_await asio::this_coro::executor);
  // A few scrapes at once, so one silent client does not hold the page
  // for its request timeout; more wait in the backlog.
  constexpr int kMaxScrapes = 4;
  auto scrapes = std::make_shared<int>(0);
  while (!draining_.load()) {
    if (*scrapes >= kMaxScrapes) {
      pause.expires_after(std::chrono::milliseconds(10));
      (void)co_await pause.async_wait(kUseTuple);
      continue;
    }
    auto [ec, socket] = co_await acceptor->async_accept(kUseTuple);
    if (draining_.load() || ec == asio::error::operation_aborted) break;
    if (ec) {
      // EMFILE and the like: the connection stays in the backlog, and
      // retrying at once would spin this thread.
      pause.expires_after(std::chrono::milliseconds(100));
      (void)co_await pause.async_wait(kUseTuple);
      continue;
    }
    ++*scrapes;
    asio::co_spawn(
        context(0),
        [this, scrapes, s = std::move(socket)]() mutable -> awaitable<void> {
          co_await ServeMetricsConnection(std::move(s), [this] {
            return PrometheusText(stats_, PoolStats(), options_.role);
          });
          --*scrapes;
        },
        asio::detached);
  }
}

std::vector<NamedPoolStats> Runtime::PoolStats() {
  std::vector<NamedPoolStats> pools = {{"buffers", pool_.Stats()}};
  for (const ExtraPool& p : extra_pools_) pools.push_back({p.name, p.stats()});
  return pools;
}

void Runtime::PrintStats() {
  const std::string line = StatsJson(stats_, PoolStats(), options_.role);
  std::printf("%s\n", line.c_str());
  std::fflush(stdout);
}

awaitable<void> Runtime::Signals() {
  asio::signal_set& signals = *signals_;
  asio::steady_timer timer(co_await asio::this_coro::executor);
  while (true) {
    auto [ec, signo] = co_await signals.async_wait(kUseTuple);
    if (ec) co_return;
    if (signo == SIGUSR1) {
      PrintStats();
      continue;
    }
    if (signo == SIGHUP) {
      reload_();
      continue;
    }
    BeginDrain();
    // Wait for the connections (bounded), then stop every thread.
    const auto until = std::chrono::steady_clock::now() + options_.drain_timeout;
    while (stats_.active.load() > 0 && std::chrono::steady_clock::now() < until) {
      timer.expires_after(std::chrono::milliseconds(50));
      (void)co_await timer.async_wait(kUseTuple);
    }
    if (stats_.active.load() > 0) {
      REFLEX_LOG(kWarn, "drain timeout: %llu connection(s) still open",
                 static_cast<unsigned long long>(stats_.active.load()));
    }
    for (auto& c : contexts_) c->stop();
    co_return;
  }
}

// Memory given back, once a second on every thread: each pool's decay
// (what it kept but did not need in the last period, and this thread's
// cache if it was not used; pool_core.h) frees it to malloc, and malloc's
// cache of this thread goes back to its arenas; then thread 0 asks malloc
// to return free pages to the kernel (proxy/heap.h).
awaitable<void> Runtime::Housekeeping(int thread) {
  asio::steady_timer timer(co_await asio::this_coro::executor);
  while (true) {
    timer.expires_after(kHousekeepingPeriod);
    auto [ec] = co_await timer.async_wait(kUseTuple);
    if (ec) co_return;
    // The shared lists once per period (thread 0), each thread's cache on
    // its own thread.
    const bool shared_lists = thread == 0;
    size_t freed = pool_.DecayThreadCache() + (shared_lists ? pool_.DecaySharedLists() : 0);
    for (const ExtraPool& p : extra_pools_) freed += p.decay(shared_lists);
    stats_.memory.decayed_bytes.fetch_add(freed, std::memory_order_relaxed);
    GiveBackThreadCache();
    if (thread == 0 && GiveBackFreedMemory()) {
      stats_.memory.heap_trims.fetch_add(1, std::memory_order_relaxed);
    }
  }
}

int Runtime::Run() {
  {
    const ProcessFigures start = ReadProcessFigures();
    stats_.memory.heap_at_start.store(start.heap_in_use_bytes, std::memory_order_relaxed);
    stats_.memory.fds_at_start.store(start.fds, std::memory_order_relaxed);
  }
  asio::co_spawn(context(0), Signals(), asio::detached);
  for (int t = 0; t < threads(); ++t) asio::co_spawn(context(t), Housekeeping(t), asio::detached);
  std::vector<std::thread> workers;
  for (int t = 1; t < threads(); ++t) {
    workers.emplace_back([this, t] {
      auto guard = asio::make_work_guard(context(t));
      context(t).run();
    });
  }
  {
    auto guard = asio::make_work_guard(context(0));
    context(0).run();
  }
  for (std::thread& w : workers) w.join();
  if (options_.print_stats) PrintStats();
  return 0;
}

}  // namespace reflex::proxy
