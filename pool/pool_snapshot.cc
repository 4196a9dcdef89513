// Statistics: the shared counters plus every registered cache's, summed
// under life_mu_ (which keeps the caches registered while they are read).
#include <algorithm>

#include "pool/pool_core.h"

namespace reflex::pool::detail {

PoolStats PoolCore::Snapshot() {
  MutexLock lock(life_mu_);
  return SnapshotLocked();
}

PoolStats PoolCore::SnapshotLocked() {
  PoolStats stats;
  stats.name = options_.name;
  stats.tier_count = class_count_;
  for (size_t c = 0; c < class_count_; ++c) {
    TierStats& t = stats.tiers[c];
    t.capacity = class_sizes_[c];
    uint64_t cached_blocks = 0;
    for (const ThreadCache* cache : caches_) {
      const CacheClass& cc = cache->classes[c];
      t.hits += cc.hits.load(std::memory_order_relaxed);
      t.misses += cc.misses.load(std::memory_order_relaxed);
      t.returns += cc.returns.load(std::memory_order_relaxed);
      cached_blocks += cc.count.load(std::memory_order_relaxed);
    }
    SharedClass& sc = shared_[c];
    MutexLock class_lock(sc.mu);
    t.hits += sc.counters.hits;
    t.misses += sc.counters.misses;
    t.returns += sc.counters.returns;
    // Derived, never read: gets == hits + misses in every snapshot.
    t.gets = t.hits + t.misses;
    t.drops = sc.counters.drops;
    t.outstanding = t.gets > t.returns ? t.gets - t.returns : 0;
    sc.counters.peak = std::max(sc.counters.peak, t.outstanding);
    t.peak_outstanding = sc.counters.peak;
    t.retained_blocks = sc.free_count() + cached_blocks;
    t.retained_bytes = t.retained_blocks * t.capacity;
    t.quarantined = sc.quarantined();
    t.poison_violations = sc.counters.violations;
  }
  TierStats& o = stats.oversize;
  MutexLock oversize_lock(oversize_.mu);
  o.gets = oversize_.gets;
  o.misses = o.gets;
  o.returns = oversize_.returns;
  o.outstanding = o.gets - o.returns;  // one lock: exact
  o.peak_outstanding = oversize_.peak;
  return stats;
}

}  // namespace reflex::pool::detail
