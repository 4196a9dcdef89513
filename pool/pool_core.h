// The engine behind every pool kind: fixed-size blocks in up to kMaxTiers
// size classes, per-thread caches in front of mutex-guarded shared free lists,
// poisoning, quarantine, statistics and leak handling. Not used directly: the
// public faces are BufferPool, HandshakePool and ObjectPool<T>.
//
// Thread caches. A get or return on the fast path touches only the calling
// thread's cache (no lock, no atomic read-modify-write): one thread-local
// lookup, one slot push or pop, one counter. The shared free lists are reached
// in batches when a cache runs empty or full. Retained memory is bounded:
// each cache reserves its slots from the pool's byte budget when it is
// created, and the shared lists take a block only while the budget allows.
//
// Lifetime. A PoolCore is owned by its pool object until that object is
// destroyed; if handles are still outstanding then, it reports the leak and
// lives on, orphaned, until the last handle returns (then it deletes itself).
#ifndef REFLEX_POOL_POOL_CORE_H_
#define REFLEX_POOL_POOL_CORE_H_

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <vector>

#include "pool/pool_options.h"
#include "pool/pool_stats.h"

namespace reflex::pool::detail {

inline constexpr uint8_t kOversizeClass = 0xFF;
// Largest request any pool serves (oversize included); larger ones fail.
inline constexpr size_t kMaxRequestBytes = size_t{1} << 30;

struct ThreadCache;

// Called on a block before it is freed for good (object pools destroy the
// object living in it). Must not depend on the pool object: it may run after
// the pool is gone, when an orphaned handle returns.
using BlockDestroyFn = void (*)(void* block);

struct CoreConfig {
  PoolOptions options;
  size_t class_count = 0;
  std::array<uint32_t, kMaxTiers> class_sizes{};  // ascending, multiples of 8
  bool allow_oversize = false;
  // Object pools keep objects constructed in free blocks: no fill pattern is
  // written and no pattern is verified, poisoning (ASan) still applies.
  bool blocks_hold_objects = false;
  BlockDestroyFn destroy_block = nullptr;
};

class PoolCore {
 public:
  struct Block {
    void* ptr = nullptr;
    uint32_t capacity = 0;
    uint8_t cls = 0;
    bool fresh = false;  // newly allocated (object pools construct in it)
  };

  static PoolCore* Create(const CoreConfig& config);
  // Called by the owning pool object's destructor: drains caches, reports a
  // leak if handles are outstanding, and deletes the core unless orphaned.
  void Shutdown();

  size_t class_count() const { return class_count_; }
  uint32_t class_size(uint8_t cls) const { return class_sizes_[cls]; }
  const PoolOptions& options() const { return options_; }

  // Smallest class whose size is >= n, or kOversizeClass.
  uint8_t ClassFor(size_t n) const;

  // Hands out a block of class cls with [0, size) addressable. ptr is null
  // when the allocation failed.
  Block Get(uint8_t cls, size_t size);
  Block GetOversize(size_t size);

  // Takes a block back. used: the largest size the holder ever had access to
  // (what the wipe covers). wipe: the holder's wipe choice.
  void Put(void* block, uint8_t cls, size_t used, bool wipe);
  void PutOversize(void* block, size_t used, bool wipe);

  // Under ASan: marks [0, size) of a handed-out block addressable and
  // [size, capacity) poisoned. No-op otherwise.
  static void SetAccessible(void* block, size_t size, size_t capacity);

  // Frees retained memory: shared free lists, quarantine and the calling
  // thread's cache now; other threads' caches at their next operation.
  void Trim();

  PoolStats Snapshot();

  // Thread-exit path (see ThreadCache): returns the cache's blocks and
  // counters to the shared state. Caller holds the global registry mutex.
  void RetireCache(ThreadCache* cache);

 private:
  struct SharedClass {
    std::mutex mu;
    std::vector<void*> free_blocks;  // LIFO: the warmest block first
    std::vector<void*> quarantine;   // ring of quarantine_per_tier slots
    size_t quarantine_head = 0;
    size_t quarantine_count = 0;
    // Counters of the shared path and of retired thread caches.
    uint64_t gets = 0;
    uint64_t returns = 0;
    uint64_t misses = 0;
    uint64_t drops = 0;
    uint64_t violations = 0;
    std::atomic<uint64_t> peak{0};
  };
  struct OversizeState {
    std::atomic<uint64_t> gets{0};
    std::atomic<uint64_t> returns{0};
    std::atomic<int64_t> outstanding{0};
    std::atomic<uint64_t> peak{0};
  };

  explicit PoolCore(const CoreConfig& config);
  ~PoolCore();

  ThreadCache* CacheForThisThread();
  ThreadCache* CreateCache();
  Block GetShared(uint8_t cls, size_t size);
  void PutShared(void* block, uint8_t cls);
  void* Refill(ThreadCache* cache, uint8_t cls);
  void Spill(ThreadCache* cache, uint8_t cls);
  void FlushCache(ThreadCache* cache);
  void* AllocateFresh(uint8_t cls);
  void FreeBlock(void* block, uint8_t cls);
  bool TakeBudget(size_t bytes);
  void GiveBudget(size_t bytes);
  // Pushes a block to the shared free list if the budget allows, else frees
  // it and counts a drop. Caller holds shared_[cls].mu.
  void ShelveLocked(void* block, uint8_t cls);
  void PrepareForHandOut(void* block, uint8_t cls, size_t size, bool fresh,
                         bool* discard);
  void PrepareForReturn(void* block, uint8_t cls, size_t used, bool wipe);
  void SamplePeak(uint8_t cls);
  uint64_t CurrentOutstandingLocked(uint8_t cls);  // caller holds caches_mu_
  void ReturnOrphaned(void* block, uint8_t cls, size_t used, bool wipe);
  bool uses_thread_caches() const { return use_caches_; }
  bool writes_pattern() const;

  friend struct ThreadCache;

  const uint64_t id_;
  const PoolOptions options_;
  const size_t class_count_;
  const std::array<uint32_t, kMaxTiers> class_sizes_;
  const bool allow_oversize_;
  const bool blocks_hold_objects_;
  const BlockDestroyFn destroy_block_;
  const bool use_caches_;

  std::array<SharedClass, kMaxTiers> shared_;
  OversizeState oversize_;

  // Bytes retained in shared free lists plus bytes reserved by caches.
  std::atomic<size_t> budget_used_{0};
  // Bumped by Trim; a cache that sees a new value empties itself.
  std::atomic<uint64_t> trim_epoch_{0};

  std::mutex caches_mu_;  // guards caches_ (and reading their counters)
  std::vector<ThreadCache*> caches_;

  std::atomic<bool> orphaned_{false};
  std::atomic<uint64_t> orphan_outstanding_{0};
};

}  // namespace reflex::pool::detail

#endif  // REFLEX_POOL_POOL_CORE_H_
