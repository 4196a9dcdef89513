// Statistics of a pool, per tier, as a value snapshot.
//
// What a snapshot taken while other threads use the pool guarantees: every
// counter is a sum of per-thread counters read one after another, so the
// snapshot is not one instant, but it is internally consistent: gets ==
// hits + misses exactly (gets is derived, never read), so hits <= gets and
// nothing wraps; outstanding is gets - returns, clamped at 0 (a return
// counted on one thread can be seen before its get, counted on another);
// retained_bytes == retained_blocks * capacity. Counters only grow between
// snapshots, except retained_*, quarantined and outstanding. When no other
// thread is using the pool (e.g. after joining them), every field is exact.
#ifndef REFLEX_POOL_POOL_STATS_H_
#define REFLEX_POOL_POOL_STATS_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>

namespace reflex::pool {

inline constexpr size_t kMaxTiers = 4;

struct TierStats {
  size_t capacity = 0;          // bytes per buffer; 0 for the oversize path
  uint64_t gets = 0;            // handles handed out
  uint64_t hits = 0;            // gets served by reused memory
  uint64_t misses = 0;          // gets that needed a fresh allocation
  uint64_t returns = 0;         // handles that came back
  uint64_t drops = 0;           // returns freed because the cap was reached
  uint64_t outstanding = 0;     // gets - returns (see above)
  // Exact for a pool used from one thread, or with thread caches off (or
  // quarantine on). With several threads using caches at once it is sampled
  // at every fresh allocation and snapshot, so it is a lower bound.
  uint64_t peak_outstanding = 0;
  uint64_t retained_blocks = 0;  // reusable buffers kept (free lists + caches)
  uint64_t retained_bytes = 0;
  uint64_t quarantined = 0;     // buffers waiting in quarantine
  uint64_t poison_violations = 0;

  bool operator==(const TierStats&) const = default;
};

// One line, every field named: "capacity=2048 gets=3 hits=2 ...".
std::string ToString(const TierStats& tier);

struct PoolStats {
  std::string name;
  size_t tier_count = 0;
  std::array<TierStats, kMaxTiers> tiers{};
  // Requests larger than the largest tier: plain allocations behind the same
  // handle type. oversize.gets is the number of oversize requests.
  TierStats oversize{};

  uint64_t total_outstanding() const;
  uint64_t total_retained_bytes() const;
};

// A table of all tiers, for logs and tools.
std::string ToString(const PoolStats& stats);

}  // namespace reflex::pool

#endif  // REFLEX_POOL_POOL_STATS_H_
