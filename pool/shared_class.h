// The shared state of one size class: a LIFO free list, the quarantine ring
// and the counters of gets and returns that did not go through a thread
// cache (plus those of retired caches). Everything is guarded by mu.
#ifndef REFLEX_POOL_SHARED_CLASS_H_
#define REFLEX_POOL_SHARED_CLASS_H_

#include <cstddef>
#include <cstdint>
#include <vector>

#include "base/mutex.h"
#include "base/thread_annotations.h"

namespace reflex::pool::detail {

using base::Mutex;
using base::MutexLock;

struct SharedCounters {
  uint64_t hits = 0;
  uint64_t misses = 0;
  uint64_t returns = 0;
  uint64_t drops = 0;
  uint64_t violations = 0;
  uint64_t peak = 0;
  uint64_t gets() const { return hits + misses; }
};

class SharedClass {
 public:
  mutable Mutex mu;

  // Sizes the quarantine ring (0: no quarantine). Called once, before use.
  void SetQuarantineDepth(size_t depth) REFLEX_REQUIRES(mu);

  // The warmest free block, or null.
  void* PopFree() REFLEX_REQUIRES(mu);
  // The fewest blocks the free list held since the last TakeUnused: so
  // many were never needed in that time.
  size_t low_water() const REFLEX_REQUIRES(mu) { return low_water_; }
  // Moves up to n of the coldest free blocks (the oldest returns) to out,
  // and starts a new low-water period.
  void TakeUnused(size_t n, std::vector<void*>* out) REFLEX_REQUIRES(mu);
  void PushFree(void* block) REFLEX_REQUIRES(mu) { free_.push_back(block); }
  size_t free_count() const REFLEX_REQUIRES(mu) { return free_.size(); }

  bool quarantine_enabled() const REFLEX_REQUIRES(mu) {
    return !quarantine_.empty();
  }
  size_t quarantined() const REFLEX_REQUIRES(mu) { return quarantine_count_; }
  // Puts block at the back of the ring. Returns the block that leaves it
  // (the oldest, once the ring is full) or null.
  void* Quarantine(void* block) REFLEX_REQUIRES(mu);

  // Empties the free list and the ring into out (the caller frees them).
  void TakeAll(std::vector<void*>* out) REFLEX_REQUIRES(mu);

  SharedCounters counters REFLEX_GUARDED_BY(mu);

 private:
  std::vector<void*> free_ REFLEX_GUARDED_BY(mu);
  size_t low_water_ REFLEX_GUARDED_BY(mu) = 0;
  std::vector<void*> quarantine_ REFLEX_GUARDED_BY(mu);
  size_t quarantine_head_ REFLEX_GUARDED_BY(mu) = 0;
  size_t quarantine_count_ REFLEX_GUARDED_BY(mu) = 0;
};

}  // namespace reflex::pool::detail

#endif  // REFLEX_POOL_SHARED_CLASS_H_
