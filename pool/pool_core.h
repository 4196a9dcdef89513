// The engine behind every pool kind: fixed-size blocks in up to kMaxTiers
// size classes, per-thread caches in front of mutex-guarded shared free
// lists, poisoning, quarantine, statistics and leak handling. Not used
// directly: the public faces are BufferPool, SlotPool and ObjectPool<T>.
//
// The engine's jobs live in separate files:
//   pool_core.cc        get and return: inline fast paths here, slow paths
//   thread_registry.cc  which caches a thread has; retiring them
//   shared_class.cc     free lists and quarantine of one class
//   byte_budget.h       the cap on retained bytes
//   pool_lifetime.cc    creation, shutdown, who keeps the core alive
//   pool_snapshot.cc    statistics
//
// Thread caches. A get or return on the fast path touches only the calling
// thread's cache (no lock, no atomic read-modify-write): one thread-local
// lookup, one slot push or pop, one counter. The shared free lists are
// reached in batches when a cache runs empty or full.
//
// Lifetime. The core is kept alive by its holders: the pool object (until
// its destructor calls Shutdown), every thread cache still registered, and
// every handle still out. Shutdown never touches another thread's cache:
// each thread retires its own. Every decision to delete the core is taken
// under life_mu_ by whichever holder leaves last, and `delete this` is the
// last statement of that path.
//
// Lock order: life_mu_, then a class's mu (in class order), then
// oversize_.mu.
#ifndef REFLEX_POOL_POOL_CORE_H_
#define REFLEX_POOL_POOL_CORE_H_

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "pool/byte_budget.h"
#include "base/mutex.h"
#include "pool/poison.h"
#include "pool/pool_options.h"
#include "pool/pool_stats.h"
#include "pool/shared_class.h"
#include "base/thread_annotations.h"
#include "pool/thread_cache.h"
#include "pool/thread_registry.h"

namespace reflex::pool::detail {

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
  // Multiples of 8 (ASan's shadow granule). ClassFor needs them ascending;
  // pools that pick classes by index (SlotPool, ObjectPool) need not.
  std::array<uint32_t, kMaxTiers> class_sizes{};
  bool allow_oversize = false;
  // Object pools keep objects constructed in free blocks: no fill pattern is
  // written and no pattern is verified, poisoning (ASan) still applies.
  bool blocks_hold_objects = false;
  BlockDestroyFn destroy_block = nullptr;
};

// Cores alive in this process (created, not yet deleted): lets tests prove
// that every core is eventually deleted, whatever the order of events.
uint64_t LiveCoreCount();

class PoolCore {
 public:
  struct Block {
    void* ptr = nullptr;
    uint32_t capacity = 0;
    uint8_t cls = 0;
    bool fresh = false;  // newly allocated (object pools construct in it)
  };

  // Null when memory for the core itself cannot be had.
  static PoolCore* Create(const CoreConfig& config);
  // Called once, by the owning pool object's destructor: reports a leak if
  // handles are outstanding, frees what the shared lists retain, and
  // releases the owner's hold. The core may be deleted by this call or later
  // by the last cache or handle to leave; the caller must not touch it after.
  void Shutdown() REFLEX_EXCLUDES(life_mu_);

  size_t class_count() const { return class_count_; }
  uint32_t class_size(uint8_t cls) const { return class_sizes_[cls]; }
  const PoolOptions& options() const { return options_; }
  bool closed() const { return closed_.load(std::memory_order_acquire); }

  // Smallest class whose size is >= n, or kOversizeClass (ascending sizes).
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
        void* block = cc.slots[n - 1];
        cc.count.store(n - 1, std::memory_order_relaxed);
        OwnerIncrement(cc.hits);
        SetAccessible(block, size, class_sizes_[cls]);
        return {block, class_sizes_[cls], cls, false};
      }
    }
    return GetSlow(cls, size);
  }
  Block GetOversize(size_t size) REFLEX_EXCLUDES(life_mu_);

  // Takes a block back. used: the largest size the holder ever had access to
  // (what the wipe covers). wipe: the holder's wipe choice. After Shutdown
  // every cache is stale (the trim epoch moved), so returns reach PutSlow,
  // which sees the pool closed; a return that raced past that check lands
  // in this thread's own cache, which the thread retires later.
  void Put(void* block, uint8_t cls, size_t used, bool wipe) {
    if (ThreadCache* cache = CurrentCache(); cache != nullptr) {
      CacheClass& cc = cache->classes[cls];
      const uint32_t n = cc.count.load(std::memory_order_relaxed);
      if (n < cc.limit) {
        PrepareForReturn(block, cls, used, wipe);
        cc.slots[n] = block;
        cc.count.store(n + 1, std::memory_order_relaxed);
        OwnerIncrement(cc.returns);
        return;
      }
    }
    PutSlow(block, cls, used, wipe);
  }
  void PutOversize(void* block, size_t used, bool wipe)
      REFLEX_EXCLUDES(life_mu_);

  // Checked mode: a return fills the whole block with the pattern, not
  // only the extent its holder declared, because the hand-out check
  // verifies the whole block (tier blocks: PrepareForReturn; an oversize
  // block's holder passes its whole capacity).
  bool fills_whole_blocks() const { return fill_on_return_; }

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
  void Trim() REFLEX_EXCLUDES(life_mu_);

  // The decay of retained memory, in two parts, each returning the bytes
  // it freed. A load that keeps coming keeps what it uses; a burst's
  // surplus is gone two periods after the burst.
  //   DecayThreadCache: the calling thread's whole cache, if it served no
  //     get since this thread's last call. Once per period on every thread
  //     that uses the pool.
  //   DecaySharedLists: the blocks each shared free list never needed since
  //     the last call (its low-water mark), the coldest. Once per period
  //     for the whole pool: a second caller right after the first would
  //     measure a period of microseconds and free what the load uses.
  size_t DecayThreadCache() REFLEX_EXCLUDES(life_mu_);
  size_t DecaySharedLists() REFLEX_EXCLUDES(life_mu_);

  PoolStats Snapshot() REFLEX_EXCLUDES(life_mu_);

  // Called by the cache's own thread (thread_registry.cc) with the cache
  // already out of its table: folds the cache's counters into the shared
  // ones, hands its blocks back (or frees them if the pool is closed) and
  // releases its hold. May delete the core.
  void RetireCache(ThreadCache* cache) REFLEX_EXCLUDES(life_mu_);

 private:
  struct OversizeState {
    mutable Mutex mu;
    uint64_t gets REFLEX_GUARDED_BY(mu) = 0;
    uint64_t returns REFLEX_GUARDED_BY(mu) = 0;
    uint64_t peak REFLEX_GUARDED_BY(mu) = 0;
  };

  explicit PoolCore(const CoreConfig& config);
  ~PoolCore();

  // This thread's cache for this pool if it exists and has seen the latest
  // trim; else null (the slow path creates caches and applies trims).
  ThreadCache* CurrentCache() const {
    ThreadCache* cache = FindThreadCache(id_);
    if (cache == nullptr) return nullptr;
    return cache->seen_trim_epoch ==
                   trim_epoch_.load(std::memory_order_relaxed)
               ? cache
               : nullptr;
  }
  void PrepareForReturn(void* block, uint8_t cls, size_t used, bool wipe) {
    if (fill_on_return_ || (wipe && fill_on_wipe_)) {
      // Checked mode fills the whole block: the hand-out check verifies it
      // all, whatever extent the holder declared.
      const size_t n = fill_on_return_ ? class_sizes_[cls] : used;
      // The holder may have shrunk its size (poisoning the tail under ASan).
      UnpoisonRegion(block, n);
      FillPattern(block, n);
    }
    PoisonRegion(block, class_sizes_[cls]);
  }

  // pool_core.cc: the slow paths.
  Block GetSlow(uint8_t cls, size_t size) REFLEX_EXCLUDES(life_mu_);
  Block GetShared(uint8_t cls, size_t size) REFLEX_EXCLUDES(life_mu_);
  void PutSlow(void* block, uint8_t cls, size_t used, bool wipe)
      REFLEX_EXCLUDES(life_mu_);
  // False, with nothing done, when the pool is closed.
  bool PutShared(void* block, uint8_t cls) REFLEX_EXCLUDES(life_mu_);
  ThreadCache* CacheForThisThread() REFLEX_EXCLUDES(life_mu_);
  ThreadCache* CreateCache() REFLEX_EXCLUDES(life_mu_);
  // Takes up to half a cache's worth from the shared list; returns one block
  // for the caller (null when the list is empty).
  void* Refill(ThreadCache* cache, uint8_t cls);
  void Spill(ThreadCache* cache, uint8_t cls);
  void FlushCache(ThreadCache* cache);
  void* AllocateFresh(uint8_t cls);
  void FreeBlock(void* block, uint8_t cls);
  // Whether a reused block still holds the fill pattern (checked mode). On a
  // mismatch: abort, or report, count the violation and return false.
  bool VerifyReused(void* block, uint8_t cls);
  // Shelves a block on the shared free list if the budget allows, else
  // frees it and counts a drop.
  void ShelveLocked(SharedClass& sc, void* block, uint8_t cls)
      REFLEX_REQUIRES(sc.mu);
  void SamplePeak(uint8_t cls) REFLEX_EXCLUDES(life_mu_);
  bool writes_pattern() const { return fill_on_return_ || fill_on_wipe_; }

  // pool_lifetime.cc.
  // A handle returned after Shutdown (its block already wiped and
  // poisoned): the block is freed and the return counted; the core is
  // deleted if that was the last holder.
  void ReturnAfterClose(void* block, uint8_t cls) REFLEX_EXCLUDES(life_mu_);
  void OversizeReturnAfterClose() REFLEX_EXCLUDES(life_mu_);
  void CloseAndEmptySharedLists() REFLEX_REQUIRES(life_mu_)
      REFLEX_NO_THREAD_SAFETY_ANALYSIS;
  // Whether no holder is left: owner gone, no cache registered, nothing out.
  bool NoHolderLeftLocked() REFLEX_REQUIRES(life_mu_);

  // pool_snapshot.cc.
  PoolStats SnapshotLocked() REFLEX_REQUIRES(life_mu_);

  // The fields the inline fast paths read come first, in one cache line.
  const uint64_t id_;
  // Bumped by Trim and Shutdown; a cache that sees a new value empties
  // itself (Trim) or finds the pool closed (Shutdown).
  std::atomic<uint64_t> trim_epoch_{0};
  const std::array<uint32_t, kMaxTiers> class_sizes_;
  // Derived from the options once, for the inline fast paths.
  const bool verify_on_hand_out_;  // checked, no ASan, not objects
  const bool fill_on_return_;      // checked, not objects: always fill
  const bool fill_on_wipe_;        // wipe_on_return, not objects
  const bool use_caches_;
  const bool allow_oversize_;
  const size_t class_count_;
  const BlockDestroyFn destroy_block_;
  const PoolOptions options_;

  std::array<SharedClass, kMaxTiers> shared_;
  OversizeState oversize_;
  ByteBudget budget_;
  // Set by Shutdown while it holds life_mu_, every class mu and
  // oversize_.mu; read under any one of them it is exact.
  std::atomic<bool> closed_{false};

  Mutex life_mu_;
  bool owner_alive_ REFLEX_GUARDED_BY(life_mu_) = true;
  std::vector<ThreadCache*> caches_ REFLEX_GUARDED_BY(life_mu_);
};

}  // namespace reflex::pool::detail

#endif  // REFLEX_POOL_POOL_CORE_H_
