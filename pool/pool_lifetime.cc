// Creation, shutdown and deletion of a pool core. Holders: the pool object
// (owner_alive_), each registered thread cache (caches_) and each handle out
// (gets - returns, exact once no cache is registered, because retiring a
// cache folds its counters into the shared ones). Each path that releases a
// hold decides under life_mu_ whether it was the last, and if so deletes
// the core as its very last statement.
#include <cinttypes>
#include <cstdio>
#include <new>

#include "pool/pool_core.h"

namespace reflex::pool::detail {
namespace {

std::atomic<uint64_t> g_next_pool_id{1};
std::atomic<uint64_t> g_live_cores{0};

void DefaultLeakHandler(const PoolStats& stats, void*) {
  std::fprintf(stderr,
               "reflex pool '%s' destroyed with %" PRIu64
               " handle(s) outstanding:",
               stats.name.c_str(), stats.total_outstanding());
  for (size_t i = 0; i < stats.tier_count; ++i) {
    if (stats.tiers[i].outstanding != 0) {
      std::fprintf(stderr, " tier %zu: %" PRIu64 ";", stats.tiers[i].capacity,
                   stats.tiers[i].outstanding);
    }
  }
  if (stats.oversize.outstanding != 0) {
    std::fprintf(stderr, " oversize: %" PRIu64 ";",
                 stats.oversize.outstanding);
  }
  std::fprintf(stderr, " they are freed when they come back\n");
}

}  // namespace

PoolCore::PoolCore(const CoreConfig& config)
    : id_(g_next_pool_id.fetch_add(1, std::memory_order_relaxed)),
      class_sizes_(config.class_sizes),
      verify_on_hand_out_(!kAsanEnabled && config.options.checked &&
                          !config.blocks_hold_objects),
      fill_on_return_(config.options.checked && !config.blocks_hold_objects),
      fill_on_wipe_(config.options.wipe_on_return && !config.blocks_hold_objects),
      use_caches_(config.options.thread_cache_bytes > 0 &&
                  config.options.thread_cache_max_blocks > 0 &&
                  config.options.quarantine_per_tier == 0),
      allow_oversize_(config.allow_oversize),
      class_count_(config.class_count),
      destroy_block_(config.destroy_block),
      options_(config.options),
      budget_(config.options.max_retained_bytes) {
  for (SharedClass& sc : shared_) {
    MutexLock lock(sc.mu);
    sc.SetQuarantineDepth(options_.quarantine_per_tier);
  }
  g_live_cores.fetch_add(1, std::memory_order_relaxed);
}

PoolCore::~PoolCore() { g_live_cores.fetch_sub(1, std::memory_order_relaxed); }

uint64_t LiveCoreCount() { return g_live_cores.load(std::memory_order_relaxed); }

PoolCore* PoolCore::Create(const CoreConfig& config) {
  return new (std::nothrow) PoolCore(config);
}

bool PoolCore::NoHolderLeftLocked() {
  if (owner_alive_ || !caches_.empty()) return false;
  for (size_t c = 0; c < class_count_; ++c) {
    const SharedClass& sc = shared_[c];
    MutexLock lock(sc.mu);
    if (sc.counters.gets() != sc.counters.returns) return false;
  }
  MutexLock lock(oversize_.mu);
  return oversize_.gets == oversize_.returns;
}

// Takes every class lock (in class order) and the oversize lock, a set the
// analysis cannot name, so it is unchecked here: closing under all of them
// means a return holding any one sees either the open pool (and is counted
// in the final snapshot) or the closed one (and frees its block itself).
void PoolCore::CloseAndEmptySharedLists() {
  std::vector<void*> retained;
  for (size_t c = 0; c < class_count_; ++c) shared_[c].mu.Lock();
  oversize_.mu.Lock();
  closed_.store(true, std::memory_order_release);
  oversize_.mu.Unlock();
  for (size_t c = class_count_; c-- > 0;) {
    budget_.Give(shared_[c].free_count() * class_sizes_[c]);
    shared_[c].TakeAll(&retained);
    shared_[c].mu.Unlock();
    for (void* block : retained) FreeBlock(block, static_cast<uint8_t>(c));
    retained.clear();
  }
}

void PoolCore::Shutdown() {
  // The owner's own cache goes first, like any thread's; the owner's hold
  // keeps the core alive through it.
  RetireThreadCache(id_);
  PoolStats final_stats;
  bool last_holder;
  const LeakHandler on_leak =
      options_.on_leak != nullptr ? options_.on_leak : DefaultLeakHandler;
  void* const on_leak_context = options_.on_leak_context;
  {
    MutexLock lock(life_mu_);
    CloseAndEmptySharedLists();
    owner_alive_ = false;
    final_stats = SnapshotLocked();
    last_holder = NoHolderLeftLocked();
    // Every cache is now stale: its thread's next operation takes the slow
    // path, sees the pool closed and retires the cache.
    trim_epoch_.fetch_add(1, std::memory_order_release);
    g_shutdown_generation.fetch_add(1, std::memory_order_release);
  }
  // Only copies from here on: unless this was the last holder, another
  // thread may delete the core at any moment now.
  if (!last_holder && final_stats.total_outstanding() != 0) {
    on_leak(final_stats, on_leak_context);
  }
  if (last_holder) delete this;
}

void PoolCore::RetireCache(ThreadCache* cache) {
  bool last_holder;
  {
    MutexLock lock(life_mu_);
    std::erase(caches_, cache);
    budget_.Give(cache->reserved_bytes);
    for (size_t c = 0; c < class_count_; ++c) {
      CacheClass& cc = cache->classes[c];
      SharedClass& sc = shared_[c];
      MutexLock class_lock(sc.mu);
      sc.counters.hits += cc.hits.load(std::memory_order_relaxed);
      sc.counters.misses += cc.misses.load(std::memory_order_relaxed);
      sc.counters.returns += cc.returns.load(std::memory_order_relaxed);
      const uint32_t n = cc.count.load(std::memory_order_relaxed);
      const bool closed_now = closed_.load(std::memory_order_relaxed);
      for (uint32_t i = 0; i < n; ++i) {
        if (closed_now) {
          FreeBlock(cc.slots[i], static_cast<uint8_t>(c));
        } else {
          ShelveLocked(sc, cc.slots[i], static_cast<uint8_t>(c));
        }
      }
      cc.count.store(0, std::memory_order_relaxed);
    }
    cache->core = nullptr;
    last_holder = NoHolderLeftLocked();
  }
  if (last_holder) delete this;
}

void PoolCore::ReturnAfterClose(void* block, uint8_t cls) {
  FreeBlock(block, cls);
  bool last_holder;
  {
    MutexLock lock(life_mu_);
    {
      SharedClass& sc = shared_[cls];
      MutexLock class_lock(sc.mu);
      ++sc.counters.returns;
    }
    last_holder = NoHolderLeftLocked();
  }
  if (last_holder) delete this;
}

void PoolCore::OversizeReturnAfterClose() {
  bool last_holder;
  {
    MutexLock lock(life_mu_);
    {
      MutexLock oversize_lock(oversize_.mu);
      ++oversize_.returns;
    }
    last_holder = NoHolderLeftLocked();
  }
  if (last_holder) delete this;
}

}  // namespace reflex::pool::detail
