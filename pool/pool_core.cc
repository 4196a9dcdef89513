// The slow paths of get and return: thread caches created, refilled,
// spilled and flushed; the shared lists used directly when a pool has no
// caches (quarantine on, or caches turned off).
#include "pool/pool_core.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <new>

namespace reflex::pool::detail {
namespace {

// Blocks are aligned for any use and so that ASan's 8-byte shadow granules
// start at a block's first byte (the slack poisoning depends on it).
constexpr std::align_val_t kBlockAlign{64};

}  // namespace

void* PoolCore::AllocateFresh(uint8_t cls) {
  const size_t size = class_sizes_[cls];
  void* block = ::operator new(size, kBlockAlign, std::nothrow);
  if (block == nullptr) return nullptr;
  // The whole capacity starts as pattern, so the slack of every later
  // hand-out can be checked too.
  if (writes_pattern()) FillPattern(block, size);
  PoisonRegion(block, size);
  return block;
}

void PoolCore::FreeBlock(void* block, uint8_t cls) {
  UnpoisonRegion(block, class_sizes_[cls]);
  if (destroy_block_ != nullptr) destroy_block_(block);
  ::operator delete(block, kBlockAlign);
}

bool PoolCore::VerifyReused(void* block, uint8_t cls) {
  // Under ASan any write after return was already reported at the write.
  if (!verify_on_hand_out_) return true;
  const size_t capacity = class_sizes_[cls];
  UnpoisonRegion(block, capacity);
  const size_t offset = FindPatternMismatch(block, capacity);
  if (offset == capacity) return true;
  std::fprintf(stderr,
               "reflex pool '%s': write after return detected in tier %zu at "
               "offset %zu (found 0x%02x, expected 0x%02x)\n",
               options_.name.c_str(), static_cast<size_t>(capacity), offset,
               static_cast<const uint8_t*>(block)[offset], kFillByte);
  if (options_.abort_on_violation) std::abort();
  SharedClass& sc = shared_[cls];
  MutexLock lock(sc.mu);
  ++sc.counters.violations;
  return false;
}

ThreadCache* PoolCore::CacheForThisThread() {
  if (!use_caches_) return nullptr;
  if (ThreadCache* cache = FindThreadCache(id_); cache != nullptr) {
    return cache;
  }
  if (ThreadIsExiting()) return nullptr;
  return CreateCache();
}

ThreadCache* PoolCore::CreateCache() {
  auto* cache = new (std::nothrow) ThreadCache;
  if (cache == nullptr) return nullptr;
  const size_t per_class_bytes = options_.thread_cache_bytes / class_count_;
  size_t total_slots = 0;
  size_t reservation = 0;
  std::array<uint32_t, kMaxTiers> limits{};
  for (size_t c = 0; c < class_count_; ++c) {
    limits[c] = static_cast<uint32_t>(std::min(
        options_.thread_cache_max_blocks, per_class_bytes / class_sizes_[c]));
    total_slots += limits[c];
    reservation += size_t{limits[c]} * class_sizes_[c];
  }
  // No budget left: the cache exists (so the pool is found quickly) but
  // holds nothing, and every operation takes the shared path.
  if (reservation == 0 || !budget_.Take(reservation)) {
    limits.fill(0);
    total_slots = 0;
    reservation = 0;
  }
  if (total_slots > 0) {
    cache->storage.reset(new (std::nothrow) void*[total_slots]);
    if (!cache->storage) {
      budget_.Give(reservation);
      limits.fill(0);
      reservation = 0;
    }
  }
  size_t offset = 0;
  for (size_t c = 0; c < class_count_; ++c) {
    cache->classes[c].limit = limits[c];
    cache->classes[c].slots = cache->storage.get() + offset;
    offset += limits[c];
  }
  cache->reserved_bytes = reservation;
  cache->core = this;
  cache->seen_trim_epoch = trim_epoch_.load(std::memory_order_relaxed);
  bool registered = false;
  {
    MutexLock lock(life_mu_);
    // A pool that closed meanwhile gets no new holder.
    if (!closed_.load(std::memory_order_relaxed)) {
      registered = RegisterThreadCache(id_, cache);
      if (registered) caches_.push_back(cache);
    }
  }
  if (!registered) {
    budget_.Give(reservation);
    delete cache;
    return nullptr;
  }
  return cache;
}

PoolCore::Block PoolCore::GetSlow(uint8_t cls, size_t size) {
  MaybeRetireClosedThreadCaches();
  ThreadCache* cache = CacheForThisThread();
  if (cache == nullptr || cache->classes[cls].limit == 0) {
    return GetShared(cls, size);
  }
  if (cache->seen_trim_epoch != trim_epoch_.load(std::memory_order_relaxed)) {
    FlushCache(cache);
  }
  CacheClass& cc = cache->classes[cls];
  while (true) {
    void* block = nullptr;
    if (const uint32_t n = cc.count.load(std::memory_order_relaxed); n != 0) {
      block = cc.slots[n - 1];
      cc.count.store(n - 1, std::memory_order_relaxed);
    } else {
      block = Refill(cache, cls);
    }
    if (block == nullptr) break;
    if (!VerifyReused(block, cls)) {
      FreeBlock(block, cls);  // counted as a violation; try the next one
      continue;
    }
    SetAccessible(block, size, class_sizes_[cls]);
    OwnerIncrement(cc.hits);
    return {block, class_sizes_[cls], cls, false};
  }
  void* block = AllocateFresh(cls);
  if (block == nullptr) return {};
  SetAccessible(block, size, class_sizes_[cls]);
  OwnerIncrement(cc.misses);
  SamplePeak(cls);
  return {block, class_sizes_[cls], cls, true};
}

void* PoolCore::Refill(ThreadCache* cache, uint8_t cls) {
  SharedClass& sc = shared_[cls];
  CacheClass& cc = cache->classes[cls];
  MutexLock lock(sc.mu);
  void* first = sc.PopFree();
  if (first == nullptr) return nullptr;
  size_t moved = 1;
  uint32_t n = cc.count.load(std::memory_order_relaxed);
  const size_t want = std::max<uint32_t>(1, cc.limit / 2);
  for (; moved < want; ++moved) {
    void* block = sc.PopFree();
    if (block == nullptr) break;
    cc.slots[n++] = block;
  }
  cc.count.store(n, std::memory_order_relaxed);
  // Blocks leaving the shared list stop counting against the budget: the
  // ones kept in the cache are covered by its reservation.
  budget_.Give(moved * class_sizes_[cls]);
  return first;
}

PoolCore::Block PoolCore::GetShared(uint8_t cls, size_t size) {
  SharedClass& sc = shared_[cls];
  // Without caches every count lives here, so the peak is exact.
  auto count_locked = [&](bool hit) REFLEX_REQUIRES(sc.mu) {
    ++(hit ? sc.counters.hits : sc.counters.misses);
    if (!use_caches_) {
      sc.counters.peak = std::max(sc.counters.peak,
                                  sc.counters.gets() - sc.counters.returns);
    }
  };
  while (true) {
    void* block;
    {
      MutexLock lock(sc.mu);
      block = sc.PopFree();
      if (block == nullptr) break;
      budget_.Give(class_sizes_[cls]);
      // Without verification the hand-out cannot fail now: count it here.
      if (!verify_on_hand_out_) count_locked(true);
    }
    if (verify_on_hand_out_) {
      if (!VerifyReused(block, cls)) {
        FreeBlock(block, cls);
        continue;
      }
      MutexLock lock(sc.mu);
      count_locked(true);
    }
    SetAccessible(block, size, class_sizes_[cls]);
    if (use_caches_) SamplePeak(cls);
    return {block, class_sizes_[cls], cls, false};
  }
  void* block = AllocateFresh(cls);
  if (block == nullptr) return {};
  {
    MutexLock lock(sc.mu);
    count_locked(false);
  }
  SetAccessible(block, size, class_sizes_[cls]);
  if (use_caches_) SamplePeak(cls);
  return {block, class_sizes_[cls], cls, true};
}

void PoolCore::PutSlow(void* block, uint8_t cls, size_t used, bool wipe) {
  if (closed()) {
    // This thread's cache (if any) goes first; the handle being returned
    // keeps the core alive through that.
    RetireThreadCache(id_);
    PrepareForReturn(block, cls, used, wipe);
    ReturnAfterClose(block, cls);
    return;
  }
  MaybeRetireClosedThreadCaches();
  ThreadCache* cache = CacheForThisThread();
  if (cache == nullptr || cache->classes[cls].limit == 0) {
    PrepareForReturn(block, cls, used, wipe);
    if (!PutShared(block, cls)) ReturnAfterClose(block, cls);
    return;
  }
  if (cache->seen_trim_epoch != trim_epoch_.load(std::memory_order_relaxed)) {
    FlushCache(cache);
  }
  PrepareForReturn(block, cls, used, wipe);
  CacheClass& cc = cache->classes[cls];
  if (cc.count.load(std::memory_order_relaxed) == cc.limit) Spill(cache, cls);
  const uint32_t n = cc.count.load(std::memory_order_relaxed);
  cc.slots[n] = block;
  cc.count.store(n + 1, std::memory_order_relaxed);
  OwnerIncrement(cc.returns);
}

// Moves the coldest half of a full cache to the shared free list (or frees
// it, once the pool is closed: nothing may be shelved after Shutdown
// emptied the lists).
void PoolCore::Spill(ThreadCache* cache, uint8_t cls) {
  CacheClass& cc = cache->classes[cls];
  const uint32_t n = cc.count.load(std::memory_order_relaxed);
  const uint32_t move = std::max<uint32_t>(1, n / 2);
  {
    SharedClass& sc = shared_[cls];
    MutexLock lock(sc.mu);
    const bool closed_now = closed_.load(std::memory_order_relaxed);
    for (uint32_t i = 0; i < move; ++i) {
      if (closed_now) {
        FreeBlock(cc.slots[i], cls);
      } else {
        ShelveLocked(sc, cc.slots[i], cls);
      }
    }
  }
  std::copy(cc.slots + move, cc.slots + n, cc.slots);
  cc.count.store(n - move, std::memory_order_relaxed);
}

void PoolCore::ShelveLocked(SharedClass& sc, void* block, uint8_t cls) {
  if (budget_.Take(class_sizes_[cls])) {
    sc.PushFree(block);
  } else {
    ++sc.counters.drops;
    FreeBlock(block, cls);
  }
}

bool PoolCore::PutShared(void* block, uint8_t cls) {
  SharedClass& sc = shared_[cls];
  MutexLock lock(sc.mu);
  if (closed_.load(std::memory_order_relaxed)) return false;
  ++sc.counters.returns;
  if (!sc.quarantine_enabled()) {
    ShelveLocked(sc, block, cls);
    return true;
  }
  // Quarantine ring: the oldest entry leaves when a new one arrives.
  if (void* oldest = sc.Quarantine(block); oldest != nullptr) {
    ShelveLocked(sc, oldest, cls);
  }
  return true;
}

void PoolCore::FlushCache(ThreadCache* cache) {
  cache->seen_trim_epoch = trim_epoch_.load(std::memory_order_relaxed);
  for (size_t c = 0; c < class_count_; ++c) {
    CacheClass& cc = cache->classes[c];
    const uint32_t n = cc.count.load(std::memory_order_relaxed);
    for (uint32_t i = 0; i < n; ++i) {
      FreeBlock(cc.slots[i], static_cast<uint8_t>(c));
    }
    cc.count.store(0, std::memory_order_relaxed);
  }
}

// With caches, the outstanding count is spread over the threads: it is summed
// at every fresh allocation (and snapshot). That is exact for a pool used from
// one thread: a new peak can only be reached by a fresh allocation, since
// every retained block is then in that thread's cache or the shared list.
void PoolCore::SamplePeak(uint8_t cls) {
  MutexLock lock(life_mu_);
  uint64_t gets = 0;
  uint64_t returns = 0;
  for (const ThreadCache* cache : caches_) {
    const CacheClass& cc = cache->classes[cls];
    gets += cc.hits.load(std::memory_order_relaxed) +
            cc.misses.load(std::memory_order_relaxed);
    returns += cc.returns.load(std::memory_order_relaxed);
  }
  SharedClass& sc = shared_[cls];
  MutexLock class_lock(sc.mu);
  gets += sc.counters.gets();
  returns += sc.counters.returns;
  // Under concurrency a return may be counted before its get; never wrap.
  if (gets > returns) sc.counters.peak = std::max(sc.counters.peak, gets - returns);
}

PoolCore::Block PoolCore::GetOversize(size_t size) {
  if (!allow_oversize_ || size == 0 || size > kMaxRequestBytes) return {};
  void* block = ::operator new(size, kBlockAlign, std::nothrow);
  if (block == nullptr) return {};
  MutexLock lock(oversize_.mu);
  ++oversize_.gets;
  oversize_.peak = std::max(oversize_.peak, oversize_.gets - oversize_.returns);
  return {block, static_cast<uint32_t>(size), kOversizeClass, true};
}

void PoolCore::PutOversize(void* block, size_t used, bool wipe) {
  // Resize may have poisoned the tail; the wipe and the allocator need it
  // all addressable.
  UnpoisonRegion(block, used);
  if (wipe && options_.wipe_on_return) FillPattern(block, used);
  ::operator delete(block, kBlockAlign);
  {
    MutexLock lock(oversize_.mu);
    if (!closed_.load(std::memory_order_relaxed)) {
      ++oversize_.returns;
      return;
    }
  }
  OversizeReturnAfterClose();
}

size_t PoolCore::DecayThreadCache() {
  size_t freed = 0;
  if (ThreadCache* cache = FindThreadCache(id_); cache != nullptr) {
    uint64_t gets = 0;
    for (size_t c = 0; c < class_count_; ++c) {
      gets += cache->classes[c].hits.load(std::memory_order_relaxed) +
              cache->classes[c].misses.load(std::memory_order_relaxed);
    }
    if (gets == cache->gets_at_decay) {
      for (size_t c = 0; c < class_count_; ++c) {
        freed += cache->classes[c].count.load(std::memory_order_relaxed) * class_sizes_[c];
      }
      FlushCache(cache);
    }
    cache->gets_at_decay = gets;
  }
  return freed;
}

size_t PoolCore::DecaySharedLists() {
  size_t freed = 0;
  std::vector<void*> blocks;
  for (size_t c = 0; c < class_count_; ++c) {
    {
      SharedClass& sc = shared_[c];
      MutexLock lock(sc.mu);
      sc.TakeUnused(sc.low_water(), &blocks);
      budget_.Give(blocks.size() * class_sizes_[c]);
    }
    freed += blocks.size() * class_sizes_[c];
    for (void* block : blocks) FreeBlock(block, static_cast<uint8_t>(c));
    blocks.clear();
  }
  return freed;
}

void PoolCore::Trim() {
  trim_epoch_.fetch_add(1, std::memory_order_relaxed);
  if (ThreadCache* cache = FindThreadCache(id_); cache != nullptr) {
    FlushCache(cache);
  }
  std::vector<void*> blocks;
  for (size_t c = 0; c < class_count_; ++c) {
    {
      SharedClass& sc = shared_[c];
      MutexLock lock(sc.mu);
      const size_t free_count = sc.free_count();
      sc.TakeAll(&blocks);
      budget_.Give(free_count * class_sizes_[c]);
    }
    for (void* block : blocks) FreeBlock(block, static_cast<uint8_t>(c));
    blocks.clear();
  }
}

}  // namespace reflex::pool::detail
