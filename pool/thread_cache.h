// One thread's cache of blocks for one pool. Owned by that thread (found
// through a thread-local registry in pool_core.cc); the pool keeps a list of
// its caches to read their counters and to drain them at shutdown.
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
// which compiles to a plain increment) and read by Snapshot() from any thread.
inline void OwnerIncrement(std::atomic<uint64_t>& counter) {
  counter.store(counter.load(std::memory_order_relaxed) + 1,
                std::memory_order_relaxed);
}
inline void OwnerDecrement(std::atomic<uint64_t>& counter) {
  counter.store(counter.load(std::memory_order_relaxed) - 1,
                std::memory_order_relaxed);
}

struct CacheClass {
  void** slots = nullptr;  // a stack: slots[count - 1] is the warmest block
  uint32_t limit = 0;
  std::atomic<uint32_t> count{0};
  std::atomic<uint64_t> gets{0};
  std::atomic<uint64_t> returns{0};
};

struct ThreadCache {
  // Null once the pool has shut down; read and written under the global
  // registry mutex only.
  PoolCore* core = nullptr;
  uint64_t seen_trim_epoch = 0;
  size_t reserved_bytes = 0;  // taken from the pool's budget for the slots
  std::array<CacheClass, kMaxTiers> classes;
  std::unique_ptr<void*[]> storage;
};

}  // namespace reflex::pool::detail

#endif  // REFLEX_POOL_THREAD_CACHE_H_
