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

#include "pool/poison.h"
#include "pool/pool_options.h"
#include "pool/pool_stats.h"
#include "pool/thread_cache.h"

// initial-exec: Bazel compiles with -fPIC, whose default TLS model calls
// __tls_get_addr on every access; that call alone would double the cost of a
// get+return. (It limits dlopen() of a shared build of this library to the
// static TLS surplus glibc reserves, which these few bytes fit.)
#define REFLEX_POOL_FAST_TLS __attribute__((tls_model("initial-exec")))

namespace reflex::pool::detail {

// This thread's caches, one entry per pool it has used (pool_core.cc).
// Pool ids are never reused, so a stale entry can never match a new pool.
inline constexpr size_t kMaxPoolsPerThread = 16;
struct RegistryEntry {
  uint64_t pool_id;
  ThreadCache* cache;
};
extern constinit thread_local RegistryEntry t_entries[kMaxPoolsPerThread]
    REFLEX_POOL_FAST_TLS;
extern constinit thread_local uint32_t t_entry_count REFLEX_POOL_FAST_TLS;
// The entry this thread used last: a thread usually works with one pool at a
// time, so one compare finds it.
extern constinit thread_local RegistryEntry t_last_entry REFLEX_POOL_FAST_TLS;

inline constexpr uint8_t kOversizeClass = 0xFF;
// Largest request any pool serves (oversize included); larger ones fail.
inline constexpr size_t kMaxRequestBytes = size_t{1} << 30;

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
  uint8_t ClassFor(size_t n) const {
    for (size_t c = 0; c < class_count_; ++c) {
      if (n <= class_sizes_[c]) return static_cast<uint8_t>(c);
    }
    return kOversizeClass;
  }

  // Hands out a block of class cls with [0, size) addressable. ptr is null
  // when the allocation failed. The fast path (a block in this thread's
  // cache) is inline; everything else is in GetSlow.
  Block Get(uint8_t cls, size_t size) {
    if (ThreadCache* cache = CurrentCache(); cache != nullptr) {
      CacheClass& cc = cache->classes[cls];
      const uint32_t n = cc.count.load(std::memory_order_relaxed);
      if (n != 0 && !verify_on_hand_out_) {
        OwnerIncrement(cc.gets);
        void* block = cc.slots[n - 1];
        cc.count.store(n - 1, std::memory_order_relaxed);
        SetAccessible(block, size, class_sizes_[cls]);
        return {block, class_sizes_[cls], cls, false};
      }
    }
    return GetSlow(cls, size);
  }
  Block GetOversize(size_t size);

  // Takes a block back. used: the largest size the holder ever had access to
  // (what the wipe covers). wipe: the holder's wipe choice.
  void Put(void* block, uint8_t cls, size_t used, bool wipe) {
    // Shutdown bumps the trim epoch last, so once a pool is orphaned no
    // cache is current and every return takes the slow path, which checks.
    if (ThreadCache* cache = CurrentCache(); cache != nullptr) {
      CacheClass& cc = cache->classes[cls];
      const uint32_t n = cc.count.load(std::memory_order_relaxed);
      if (n < cc.limit) {
        PrepareForReturn(block, cls, used, wipe);
        OwnerIncrement(cc.returns);
        cc.slots[n] = block;
        cc.count.store(n + 1, std::memory_order_relaxed);
        return;
      }
    }
    PutSlow(block, cls, used, wipe);
  }
  void PutOversize(void* block, size_t used, bool wipe);

  // Under ASan: marks [0, size) of a handed-out block addressable and
  // [size, capacity) poisoned. No-op otherwise.
  static void SetAccessible(void* block, size_t size, size_t capacity) {
    UnpoisonRegion(block, size);
    if (capacity > size) {
      PoisonRegion(static_cast<uint8_t*>(block) + size, capacity - size);
    }
  }

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

  // This thread's cache for this pool if it exists and has seen the latest
  // trim; else null (the slow path creates caches and applies trims).
  ThreadCache* CurrentCache() const {
    ThreadCache* cache = nullptr;
    if (t_last_entry.pool_id == id_) {
      cache = t_last_entry.cache;
    } else {
      for (uint32_t i = 0; i < t_entry_count; ++i) {
        if (t_entries[i].pool_id == id_) {
          cache = t_entries[i].cache;
          t_last_entry = t_entries[i];
          break;
        }
      }
      if (cache == nullptr) return nullptr;
    }
    return cache->seen_trim_epoch == trim_epoch_.load(std::memory_order_relaxed)
               ? cache
               : nullptr;
  }
  void PrepareForReturn(void* block, uint8_t cls, size_t used, bool wipe) {
    if (fill_on_return_ || (wipe && fill_on_wipe_)) {
      // The holder may have shrunk its size (poisoning the tail under ASan).
      UnpoisonRegion(block, used);
      FillPattern(block, used);
    }
    PoisonRegion(block, class_sizes_[cls]);
  }

  Block GetSlow(uint8_t cls, size_t size);
  void PutSlow(void* block, uint8_t cls, size_t used, bool wipe);
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
  void SamplePeak(uint8_t cls);
  uint64_t CurrentOutstandingLocked(uint8_t cls);  // caller holds caches_mu_
  void ReturnOrphaned(void* block, uint8_t cls, size_t used, bool wipe);
  bool writes_pattern() const { return fill_on_return_ || fill_on_wipe_; }

  const uint64_t id_;
  const PoolOptions options_;
  const size_t class_count_;
  const std::array<uint32_t, kMaxTiers> class_sizes_;
  const bool allow_oversize_;
  const BlockDestroyFn destroy_block_;
  const bool use_caches_;
  // Derived from the options once, for the inline fast paths.
  const bool verify_on_hand_out_;  // checked, no ASan, not objects
  const bool fill_on_return_;      // checked, not objects: always fill
  const bool fill_on_wipe_;        // wipe_on_return, not objects

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
