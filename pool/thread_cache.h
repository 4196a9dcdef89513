// One thread's cache of blocks for one pool. Owned and used by that thread
// alone: only it pushes, pops, counts, flushes and finally retires the cache
// (on its next slow-path operation after the pool shut down, or at thread
// exit). Other threads only read the counters, for statistics, while holding
// the pool's lifetime mutex, which keeps the cache registered and alive.
#ifndef REFLEX_POOL_THREAD_CACHE_H_
#define REFLEX_POOL_THREAD_CACHE_H_

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>

#include "pool/pool_stats.h"

namespace reflex::pool::detail {

class PoolCore;

// Counters are written only by the owning thread (a relaxed load and store,
// which compiles to a plain increment) and read by Snapshot() from any
// thread: a torn value is impossible, a slightly old one is expected.
inline void OwnerIncrement(std::atomic<uint64_t>& counter) {
  counter.store(counter.load(std::memory_order_relaxed) + 1,
                std::memory_order_relaxed);
}

// One cache line per class: the fast path touches one line per operation.
struct alignas(64) CacheClass {
  void** slots = nullptr;  // a stack: slots[count - 1] is the warmest block
  uint32_t limit = 0;
  std::atomic<uint32_t> count{0};
  // Each get is counted once, after it succeeded: as a hit (a reused block)
  // or a miss (a fresh allocation). gets = hits + misses.
  std::atomic<uint64_t> hits{0};
  std::atomic<uint64_t> misses{0};
  std::atomic<uint64_t> returns{0};
};

struct ThreadCache {
  PoolCore* core = nullptr;  // holds the core alive until retired
  uint64_t seen_trim_epoch = 0;
  size_t reserved_bytes = 0;  // charged to the pool's budget for the slots
  uint64_t gets_at_decay = 0;  // the gets counted at the last Decay
  std::array<CacheClass, kMaxTiers> classes;
  std::unique_ptr<void*[]> storage;
};

}  // namespace reflex::pool::detail

#endif  // REFLEX_POOL_THREAD_CACHE_H_
