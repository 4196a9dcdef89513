#include "pool/pool_core.h"

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <new>

#include "pool/poison.h"
#include "pool/thread_cache.h"

namespace reflex::pool::detail {
namespace {

// Blocks are aligned for any use and so that ASan's 8-byte shadow granules
// start at a block's first byte (the slack poisoning depends on it).
constexpr std::align_val_t kBlockAlign{64};

std::atomic<uint64_t> g_next_pool_id{1};

// Serializes thread exit against pool shutdown (both touch the other's data).
constinit std::mutex g_registry_mu;

// Set when this thread's exit hook has run: later operations (from other
// thread-local destructors) take the shared path.
constinit thread_local bool t_exiting REFLEX_POOL_FAST_TLS = false;

// Its destructor returns this thread's caches to their pools at thread exit.
// Kept apart from the entries so the fast path reads only constant-initialized
// thread-locals (no initialization guard).
struct ThreadExitHook {
  bool armed = false;
  ~ThreadExitHook() {
    t_exiting = true;
    std::lock_guard<std::mutex> lock(g_registry_mu);
    for (uint32_t i = 0; i < t_entry_count; ++i) {
      ThreadCache* cache = t_entries[i].cache;
      if (cache->core != nullptr) cache->core->RetireCache(cache);
      delete cache;
    }
    t_entry_count = 0;
    t_last_entry = {};
  }
};
thread_local ThreadExitHook t_exit_hook;

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

void RaiseMax(std::atomic<uint64_t>& peak, uint64_t value) {
  uint64_t seen = peak.load(std::memory_order_relaxed);
  while (value > seen &&
         !peak.compare_exchange_weak(seen, value, std::memory_order_relaxed)) {
  }
}

}  // namespace

// A thread keeps caches for at most kMaxPoolsPerThread pools at once; past
// that (after dropping the entries of pools that are gone) it uses the
// shared path.
constinit thread_local RegistryEntry t_entries[kMaxPoolsPerThread]
    REFLEX_POOL_FAST_TLS = {};
constinit thread_local uint32_t t_entry_count REFLEX_POOL_FAST_TLS = 0;
constinit thread_local RegistryEntry t_last_entry REFLEX_POOL_FAST_TLS = {};

PoolCore::PoolCore(const CoreConfig& config)
    : id_(g_next_pool_id.fetch_add(1, std::memory_order_relaxed)),
      options_(config.options),
      class_count_(config.class_count),
      class_sizes_(config.class_sizes),
      allow_oversize_(config.allow_oversize),
      destroy_block_(config.destroy_block),
      use_caches_(config.options.thread_cache_bytes > 0 &&
                  config.options.thread_cache_max_blocks > 0 &&
                  config.options.quarantine_per_tier == 0),
      verify_on_hand_out_(!kAsanEnabled && config.options.checked &&
                          !config.blocks_hold_objects),
      fill_on_return_(config.options.checked && !config.blocks_hold_objects),
      fill_on_wipe_(config.options.wipe_on_return &&
                    !config.blocks_hold_objects) {
  for (size_t c = 0; c < class_count_; ++c) {
    shared_[c].quarantine.resize(options_.quarantine_per_tier);
  }
}

PoolCore::~PoolCore() = default;

PoolCore* PoolCore::Create(const CoreConfig& config) {
  return new PoolCore(config);
}

bool PoolCore::TakeBudget(size_t bytes) {
  size_t before = budget_used_.fetch_add(bytes, std::memory_order_relaxed);
  if (before + bytes <= options_.max_retained_bytes) return true;
  budget_used_.fetch_sub(bytes, std::memory_order_relaxed);
  return false;
}

void PoolCore::GiveBudget(size_t bytes) {
  budget_used_.fetch_sub(bytes, std::memory_order_relaxed);
}

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

void PoolCore::PrepareForHandOut(void* block, uint8_t cls, size_t size,
                                 bool fresh, bool* discard) {
  const size_t capacity = class_sizes_[cls];
  *discard = false;
  // Under ASan any write after return was already reported at the write.
  if (verify_on_hand_out_ && !fresh) {
    const size_t offset = FindPatternMismatch(block, capacity);
    if (offset != capacity) {
      std::fprintf(stderr,
                   "reflex pool '%s': write after return detected in tier "
                   "%zu at offset %zu (found 0x%02x, expected 0x%02x)\n",
                   options_.name.c_str(), capacity, offset,
                   static_cast<const uint8_t*>(block)[offset], kFillByte);
      if (options_.abort_on_violation) std::abort();
      std::lock_guard<std::mutex> lock(shared_[cls].mu);
      ++shared_[cls].violations;
      *discard = true;
      return;
    }
  }
  SetAccessible(block, size, capacity);
}

ThreadCache* PoolCore::CacheForThisThread() {
  if (!use_caches_) return nullptr;
  for (uint32_t i = 0; i < t_entry_count; ++i) {
    if (t_entries[i].pool_id == id_) return t_entries[i].cache;
  }
  if (t_exiting) return nullptr;
  return CreateCache();
}

ThreadCache* PoolCore::CreateCache() {
  std::lock_guard<std::mutex> lock(g_registry_mu);
  if (t_entry_count == kMaxPoolsPerThread) {
    // Drop the entries of pools that have shut down.
    uint32_t kept = 0;
    for (uint32_t i = 0; i < t_entry_count; ++i) {
      if (t_entries[i].cache->core == nullptr) {
        delete t_entries[i].cache;
      } else {
        t_entries[kept++] = t_entries[i];
      }
    }
    t_entry_count = kept;
    t_last_entry = {};
    if (t_entry_count == kMaxPoolsPerThread) return nullptr;
  }
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
  if (reservation == 0 || !TakeBudget(reservation)) {
    limits.fill(0);
    total_slots = 0;
    reservation = 0;
  }
  if (total_slots > 0) {
    cache->storage.reset(new (std::nothrow) void*[total_slots]);
    if (!cache->storage) {
      GiveBudget(reservation);
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
  {
    std::lock_guard<std::mutex> caches_lock(caches_mu_);
    caches_.push_back(cache);
  }
  t_entries[t_entry_count++] = {id_, cache};
  t_exit_hook.armed = true;  // registers the exit hook for this thread
  return cache;
}

PoolCore::Block PoolCore::GetSlow(uint8_t cls, size_t size) {
  ThreadCache* cache = CacheForThisThread();
  if (cache == nullptr || cache->classes[cls].limit == 0) {
    return GetShared(cls, size);
  }
  if (cache->seen_trim_epoch != trim_epoch_.load(std::memory_order_relaxed)) {
    FlushCache(cache);
  }
  CacheClass& cc = cache->classes[cls];
  OwnerIncrement(cc.gets);
  const uint32_t n = cc.count.load(std::memory_order_relaxed);
  void* block;
  bool fresh = false;
  if (n != 0) {
    block = cc.slots[n - 1];
    cc.count.store(n - 1, std::memory_order_relaxed);
  } else {
    block = Refill(cache, cls);
    if (block == nullptr) {
      block = AllocateFresh(cls);
      if (block == nullptr) {
        OwnerDecrement(cc.gets);
        std::lock_guard<std::mutex> lock(shared_[cls].mu);
        --shared_[cls].misses;
        return {};
      }
      fresh = true;
      SamplePeak(cls);
    }
  }
  bool discard;
  PrepareForHandOut(block, cls, size, fresh, &discard);
  if (discard) {
    FreeBlock(block, cls);
    OwnerDecrement(cc.gets);
    return GetSlow(cls, size);
  }
  return {block, class_sizes_[cls], cls, fresh};
}

// Refills an empty cache from the shared free list, half its slots at a time.
// Returns one block for the caller, or null (counted as a miss) when the
// shared list is empty too.
void* PoolCore::Refill(ThreadCache* cache, uint8_t cls) {
  SharedClass& sc = shared_[cls];
  CacheClass& cc = cache->classes[cls];
  std::lock_guard<std::mutex> lock(sc.mu);
  if (sc.free_blocks.empty()) {
    ++sc.misses;
    return nullptr;
  }
  const size_t take =
      std::min<size_t>(sc.free_blocks.size(), std::max<uint32_t>(1, cc.limit / 2));
  // Blocks leaving the shared list stop counting against the budget: the
  // ones kept in the cache are covered by its reservation.
  GiveBudget(take * class_sizes_[cls]);
  void* block = sc.free_blocks.back();
  sc.free_blocks.pop_back();
  uint32_t n = cc.count.load(std::memory_order_relaxed);
  for (size_t i = 1; i < take; ++i) {
    cc.slots[n++] = sc.free_blocks.back();
    sc.free_blocks.pop_back();
  }
  cc.count.store(n, std::memory_order_relaxed);
  return block;
}

PoolCore::Block PoolCore::GetShared(uint8_t cls, size_t size) {
  SharedClass& sc = shared_[cls];
  void* block = nullptr;
  {
    std::lock_guard<std::mutex> lock(sc.mu);
    ++sc.gets;
    if (!sc.free_blocks.empty()) {
      block = sc.free_blocks.back();
      sc.free_blocks.pop_back();
      GiveBudget(class_sizes_[cls]);
    } else {
      ++sc.misses;
    }
    // Without caches every count lives here, so the peak is exact.
    if (!use_caches_) RaiseMax(sc.peak, sc.gets - sc.returns);
  }
  bool fresh = false;
  if (block == nullptr) {
    block = AllocateFresh(cls);
    if (block == nullptr) {
      std::lock_guard<std::mutex> lock(sc.mu);
      --sc.gets;
      --sc.misses;
      return {};
    }
    fresh = true;
  }
  if (use_caches_) SamplePeak(cls);
  bool discard;
  PrepareForHandOut(block, cls, size, fresh, &discard);
  if (discard) {
    FreeBlock(block, cls);
    {
      std::lock_guard<std::mutex> lock(sc.mu);
      --sc.gets;
    }
    return GetShared(cls, size);
  }
  return {block, class_sizes_[cls], cls, fresh};
}

void PoolCore::PutSlow(void* block, uint8_t cls, size_t used, bool wipe) {
  if (orphaned_.load(std::memory_order_acquire)) {
    ReturnOrphaned(block, cls, used, wipe);
    return;
  }
  PrepareForReturn(block, cls, used, wipe);
  ThreadCache* cache = CacheForThisThread();
  if (cache == nullptr || cache->classes[cls].limit == 0) {
    PutShared(block, cls);
    return;
  }
  if (cache->seen_trim_epoch != trim_epoch_.load(std::memory_order_relaxed)) {
    FlushCache(cache);
  }
  CacheClass& cc = cache->classes[cls];
  OwnerIncrement(cc.returns);
  uint32_t n = cc.count.load(std::memory_order_relaxed);
  if (n == cc.limit) {
    Spill(cache, cls);
    n = cc.count.load(std::memory_order_relaxed);
  }
  cc.slots[n] = block;
  cc.count.store(n + 1, std::memory_order_relaxed);
}

// Moves the coldest half of a full cache to the shared free list.
void PoolCore::Spill(ThreadCache* cache, uint8_t cls) {
  CacheClass& cc = cache->classes[cls];
  const uint32_t n = cc.count.load(std::memory_order_relaxed);
  const uint32_t move = std::max<uint32_t>(1, n / 2);
  {
    std::lock_guard<std::mutex> lock(shared_[cls].mu);
    for (uint32_t i = 0; i < move; ++i) ShelveLocked(cc.slots[i], cls);
  }
  std::copy(cc.slots + move, cc.slots + n, cc.slots);
  cc.count.store(n - move, std::memory_order_relaxed);
}

void PoolCore::ShelveLocked(void* block, uint8_t cls) {
  SharedClass& sc = shared_[cls];
  if (TakeBudget(class_sizes_[cls])) {
    sc.free_blocks.push_back(block);
  } else {
    ++sc.drops;
    FreeBlock(block, cls);
  }
}

void PoolCore::PutShared(void* block, uint8_t cls) {
  SharedClass& sc = shared_[cls];
  std::lock_guard<std::mutex> lock(sc.mu);
  ++sc.returns;
  if (sc.quarantine.empty()) {
    ShelveLocked(block, cls);
    return;
  }
  // Quarantine ring: the oldest entry leaves when a new one arrives.
  const size_t depth = sc.quarantine.size();
  if (sc.quarantine_count == depth) {
    void* oldest = sc.quarantine[sc.quarantine_head];
    sc.quarantine[sc.quarantine_head] = block;
    sc.quarantine_head = (sc.quarantine_head + 1) % depth;
    ShelveLocked(oldest, cls);
  } else {
    sc.quarantine[(sc.quarantine_head + sc.quarantine_count) % depth] = block;
    ++sc.quarantine_count;
  }
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

uint64_t PoolCore::CurrentOutstandingLocked(uint8_t cls) {
  uint64_t gets = 0;
  uint64_t returns = 0;
  for (ThreadCache* cache : caches_) {
    gets += cache->classes[cls].gets.load(std::memory_order_relaxed);
    returns += cache->classes[cls].returns.load(std::memory_order_relaxed);
  }
  std::lock_guard<std::mutex> lock(shared_[cls].mu);
  gets += shared_[cls].gets;
  returns += shared_[cls].returns;
  // Under concurrency a return may be counted before its get; never wrap.
  return gets > returns ? gets - returns : 0;
}

// With caches, the outstanding count is spread over the threads: it is summed
// at every fresh allocation (and snapshot). That is exact for a pool used from
// one thread: a new peak can only be reached by a fresh allocation, since
// every retained block is then in that thread's cache or the shared list.
void PoolCore::SamplePeak(uint8_t cls) {
  std::lock_guard<std::mutex> lock(caches_mu_);
  RaiseMax(shared_[cls].peak, CurrentOutstandingLocked(cls));
}

PoolCore::Block PoolCore::GetOversize(size_t size) {
  if (!allow_oversize_ || size == 0 || size > kMaxRequestBytes) return {};
  void* block = ::operator new(size, kBlockAlign, std::nothrow);
  if (block == nullptr) return {};
  oversize_.gets.fetch_add(1, std::memory_order_relaxed);
  const int64_t now =
      oversize_.outstanding.fetch_add(1, std::memory_order_relaxed) + 1;
  RaiseMax(oversize_.peak, static_cast<uint64_t>(now));
  return {block, static_cast<uint32_t>(size), kOversizeClass, true};
}

void PoolCore::PutOversize(void* block, size_t used, bool wipe) {
  if (wipe && options_.wipe_on_return) FillPattern(block, used);
  ::operator delete(block, kBlockAlign);
  if (orphaned_.load(std::memory_order_acquire)) {
    if (orphan_outstanding_.fetch_sub(1, std::memory_order_acq_rel) == 1) {
      delete this;
    }
    return;
  }
  oversize_.returns.fetch_add(1, std::memory_order_relaxed);
  oversize_.outstanding.fetch_sub(1, std::memory_order_relaxed);
}

void PoolCore::ReturnOrphaned(void* block, uint8_t cls, size_t used,
                              bool wipe) {
  PrepareForReturn(block, cls, used, wipe);
  FreeBlock(block, cls);
  if (orphan_outstanding_.fetch_sub(1, std::memory_order_acq_rel) == 1) {
    delete this;
  }
}

void PoolCore::Trim() {
  trim_epoch_.fetch_add(1, std::memory_order_relaxed);
  if (use_caches_) {
    for (uint32_t i = 0; i < t_entry_count; ++i) {
      if (t_entries[i].pool_id == id_) FlushCache(t_entries[i].cache);
    }
  }
  for (size_t c = 0; c < class_count_; ++c) {
    SharedClass& sc = shared_[c];
    std::lock_guard<std::mutex> lock(sc.mu);
    GiveBudget(sc.free_blocks.size() * class_sizes_[c]);
    for (void* block : sc.free_blocks) FreeBlock(block, static_cast<uint8_t>(c));
    sc.free_blocks.clear();
    sc.free_blocks.shrink_to_fit();
    const size_t depth = sc.quarantine.size();
    for (size_t i = 0; i < sc.quarantine_count; ++i) {
      FreeBlock(sc.quarantine[(sc.quarantine_head + i) % depth],
                static_cast<uint8_t>(c));
    }
    sc.quarantine_head = 0;
    sc.quarantine_count = 0;
  }
}

void PoolCore::RetireCache(ThreadCache* cache) {
  std::lock_guard<std::mutex> caches_lock(caches_mu_);
  caches_.erase(std::find(caches_.begin(), caches_.end(), cache));
  GiveBudget(cache->reserved_bytes);
  for (size_t c = 0; c < class_count_; ++c) {
    CacheClass& cc = cache->classes[c];
    SharedClass& sc = shared_[c];
    std::lock_guard<std::mutex> lock(sc.mu);
    sc.gets += cc.gets.load(std::memory_order_relaxed);
    sc.returns += cc.returns.load(std::memory_order_relaxed);
    const uint32_t n = cc.count.load(std::memory_order_relaxed);
    for (uint32_t i = 0; i < n; ++i) {
      ShelveLocked(cc.slots[i], static_cast<uint8_t>(c));
    }
    cc.count.store(0, std::memory_order_relaxed);
  }
  cache->core = nullptr;
}

void PoolCore::Shutdown() {
  {
    std::lock_guard<std::mutex> registry_lock(g_registry_mu);
    // Each cache's blocks go to the shared lists (freed just below), its
    // counters are folded in, and its thread will find it detached.
    while (true) {
      ThreadCache* cache;
      {
        std::lock_guard<std::mutex> caches_lock(caches_mu_);
        if (caches_.empty()) break;
        cache = caches_.back();
      }
      RetireCache(cache);
    }
  }
  PoolStats final_stats = Snapshot();
  Trim();
  const uint64_t outstanding = final_stats.total_outstanding();
  if (outstanding == 0) {
    delete this;
    return;
  }
  if (options_.on_leak != nullptr) {
    options_.on_leak(final_stats, options_.on_leak_context);
  } else {
    DefaultLeakHandler(final_stats, nullptr);
  }
  orphan_outstanding_.store(outstanding, std::memory_order_relaxed);
  orphaned_.store(true, std::memory_order_release);
  // Makes every thread's cache stale (Trim above refreshed this thread's):
  // the inline Put then always reaches PutSlow, which sees orphaned_.
  trim_epoch_.fetch_add(1, std::memory_order_release);
}

PoolStats PoolCore::Snapshot() {
  PoolStats stats;
  stats.name = options_.name;
  stats.tier_count = class_count_;
  std::lock_guard<std::mutex> caches_lock(caches_mu_);
  for (size_t c = 0; c < class_count_; ++c) {
    TierStats& t = stats.tiers[c];
    t.capacity = class_sizes_[c];
    uint64_t cached_blocks = 0;
    for (ThreadCache* cache : caches_) {
      const CacheClass& cc = cache->classes[c];
      t.gets += cc.gets.load(std::memory_order_relaxed);
      t.returns += cc.returns.load(std::memory_order_relaxed);
      cached_blocks += cc.count.load(std::memory_order_relaxed);
    }
    SharedClass& sc = shared_[c];
    std::lock_guard<std::mutex> lock(sc.mu);
    t.gets += sc.gets;
    t.returns += sc.returns;
    t.misses = sc.misses;
    t.hits = t.gets - t.misses;
    t.drops = sc.drops;
    t.outstanding = t.gets > t.returns ? t.gets - t.returns : 0;
    RaiseMax(sc.peak, t.outstanding);
    t.peak_outstanding = sc.peak.load(std::memory_order_relaxed);
    t.retained_blocks = sc.free_blocks.size() + cached_blocks;
    t.retained_bytes = t.retained_blocks * t.capacity;
    t.quarantined = sc.quarantine_count;
    t.poison_violations = sc.violations;
  }
  TierStats& o = stats.oversize;
  o.gets = oversize_.gets.load(std::memory_order_relaxed);
  o.misses = o.gets;
  o.returns = oversize_.returns.load(std::memory_order_relaxed);
  o.outstanding = o.gets > o.returns ? o.gets - o.returns : 0;
  o.peak_outstanding = oversize_.peak.load(std::memory_order_relaxed);
  return stats;
}

}  // namespace reflex::pool::detail
