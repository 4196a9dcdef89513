// Process-wide proxy statistics: relaxed atomic counters, printed as one
// JSON object (with the buffer pool's statistics) on SIGUSR1 and at exit.
#ifndef REFLEX_PROXY_STATS_H_
#define REFLEX_PROXY_STATS_H_

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/mutex.h"
#include "base/thread_annotations.h"

#include "pool/pool_stats.h"
#include "proxy/close_reason.h"

namespace reflex::proxy {

// One user's share of a server's work. A user is named by the short hash
// of the log lines' user= (never by the id, which is the v2 PSK's input).
struct UserCounters {
  std::atomic<uint64_t> tunnels_open{0};
  std::atomic<uint64_t> udp_associations_open{0};  // under --udp-associations-per-user
  std::atomic<uint64_t> tunnels_total{0};   // tunnels opened (target reached)
  std::atomic<uint64_t> bytes_up{0};        // counted when each tunnel ends
  std::atomic<uint64_t> bytes_down{0};
  // Requests refused after the handshake, by close reason (target not
  // allowed, unreachable, command not supported).
  std::array<std::atomic<uint64_t>, kCloseReasonCount> refusals{};
};

// The users seen so far. Entries are created at a user's first accepted
// hello and kept (a user removed by a reload keeps its totals); their number is
// bounded by the users ever configured.
class UserStats {
 public:
  // Stable for the table's life.
  UserCounters& For(std::string_view user);
  // Each user's name and counters, in name order.
  void ForEach(const std::function<void(const std::string&, const UserCounters&)>& visit) const;

 private:
  mutable base::Mutex mu_;
  std::map<std::string, std::unique_ptr<UserCounters>, std::less<>> users_ REFLEX_GUARDED_BY(mu_);
};

// The shared replay store's verdicts (--replay-store; all zero without one).
struct ReplayStoreCounters {
  std::atomic<uint64_t> fresh{0};        // claimed: new everywhere
  std::atomic<uint64_t> seen{0};         // another server had it: refused
  std::atomic<uint64_t> unavailable{0};  // no answer (refused or accepted, by the policy)
  std::atomic<uint64_t> accepted_locally{0};  // of those, accepted by the local filter alone
};

struct Stats {
  std::atomic<uint64_t> accepted{0};
  std::atomic<uint64_t> active{0};
  std::atomic<uint64_t> peak_active{0};
  std::atomic<uint64_t> refused_limit{0};    // over --max-connections
  std::atomic<uint64_t> accept_errors{0};    // EMFILE and friends
  std::atomic<uint64_t> handshakes_v1{0};
  std::atomic<uint64_t> handshakes_v2{0};
  std::atomic<uint64_t> fallbacks{0};
  // Fallback connections opened for a connection that had sent nothing
  // (--fallback-dial early), and those of them a hello then left unused.
  std::atomic<uint64_t> early_fallback_dials{0};
  std::atomic<uint64_t> early_fallbacks_unused{0};
  std::atomic<uint64_t> tunnels{0};          // requests whose target was reached
  std::atomic<uint64_t> target_failures{0};
  std::atomic<uint64_t> errors{0};           // sessions ended by the client's bad bytes
  // Watchdog expiries: every close=timeout, and the hello waits that passed
  // (those connections go on to the fallback and close as fallback_*).
  std::atomic<uint64_t> timeouts{0};
  std::atomic<uint64_t> bytes_up{0};         // client -> target (plaintext)
  std::atomic<uint64_t> bytes_down{0};       // target -> client (plaintext)
  // UDP associations (SPEC.md 15), counted as each one ends but `udp_open`.
  struct {
    std::atomic<uint64_t> associations{0};  // opened
    std::atomic<uint64_t> open{0};
    std::atomic<uint64_t> datagrams_up{0};    // towards destinations
    std::atomic<uint64_t> datagrams_down{0};  // towards the application
    std::atomic<uint64_t> dropped{0};         // by this process (oversized, refused, unsendable, ...)
    std::atomic<uint64_t> system_drops{0};    // by the system: a socket's receive buffer was full
  } udp;
  // Connections ended, by reason (the log line's close=).
  std::array<std::atomic<uint64_t>, kCloseReasonCount> closes{};
  ReplayStoreCounters replay_store;
  UserStats users;
  // Memory given back (Runtime::Housekeeping): bytes the pools' decay
  // freed, and the times malloc was asked to return free pages.
  struct {
    std::atomic<uint64_t> decayed_bytes{0};
    std::atomic<uint64_t> heap_trims{0};
    // Taken as the runtime starts, before any connection: what the
    // per-connection figures are measured from.
    std::atomic<uint64_t> heap_at_start{0};
    std::atomic<uint64_t> fds_at_start{0};
  } memory;

  void ConnectionOpened();
  void ConnectionClosed(CloseReason reason) {
    active.fetch_sub(1, std::memory_order_relaxed);
    closes[static_cast<size_t>(reason)].fetch_add(1, std::memory_order_relaxed);
  }
};

struct NamedPoolStats {
  std::string name;
  pool::PoolStats stats;
};

// The process as the kernel and malloc see it.
struct ProcessFigures {
  uint64_t rss_kib = 0;
  uint64_t peak_rss_kib = 0;
  std::string_view allocator;       // proxy/heap.h
  uint64_t heap_in_use_bytes = 0;    // held by live allocations
  uint64_t heap_resident_bytes = 0;  // jemalloc's resident pages (glibc: 0)
  uint64_t heap_free_bytes = 0;      // glibc: free in its arenas, not yet returned
  uint64_t fds = 0;
};
ProcessFigures ReadProcessFigures();

// {"role": ..., "connections": {...}, "closes": {...}, "bytes": {...},
//  "replay_store": {...}, "pools": {name: {...}, ...}, "memory":
//  {"allocator", "heap_resident_bytes", "heap_free_bytes",
//  "per_connection": {...}, "decayed_bytes", "heap_trims"}, "rss_kib": N,
//  "heap_in_use_bytes": N (malloc's, proxy/heap.h), "peak_rss_kib": N,
//  "fds": N}
std::string StatsJson(const Stats& stats, const std::vector<NamedPoolStats>& pools,
                      std::string_view role);

}  // namespace reflex::proxy

#endif  // REFLEX_PROXY_STATS_H_
