// Property 7: a stateful model of the buffer pool (rc::state). Commands:
// Get(size), Return(handle), Trim, ChangeSize(handle, size), Snapshot. The
// model tracks outstanding handles, this thread's cache and the shared free
// and quarantined buffers per tier, and the byte budget, following the
// documented policy (pool_options.h, pool_core.h): the cache is created by
// the first tiered get, reserves min(max_blocks, thread_cache_bytes / tiers
// / tier size) slots per tier from the cap if the cap allows (else it holds
// nothing), refills half its slots from the shared list when empty and
// spills its coldest half when full. After every command the pool's
// statistics must equal the model's, for caps from 0 to 64 MiB (below, at
// and above the cache's reservation) with quarantine on and off.
#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>
#include <rapidcheck/state.h>

#include <array>
#include <cstring>
#include <deque>
#include <memory>
#include <vector>

#include "pool/buffer_pool.h"
#include "pool/pool_stats.h"

namespace reflex::pool {
namespace {

constexpr int kOversize = -1;

struct Handle {
  size_t size;
  size_t capacity;  // the tier's, or for oversize the size first asked for
  int tier;         // kOversize for plain allocations
};

struct TierModel {
  uint64_t gets = 0, hits = 0, misses = 0, returns = 0, drops = 0, peak = 0;
  uint64_t free = 0;         // reusable buffers on the shared list
  uint64_t cached = 0;       // reusable buffers in this thread's cache
  uint64_t quarantined = 0;  // buffers waiting in the FIFO
  uint64_t outstanding() const { return gets - returns; }
};

struct Model {
  PoolOptions options;
  bool caches_enabled = false;  // no quarantine, nonzero cache size
  bool cache_created = false;
  std::array<uint64_t, kMaxTiers> limits{};  // this thread's cache slots
  uint64_t budget_used = 0;  // reservation + shared free bytes
  std::vector<Handle> handles;
  std::array<TierModel, kMaxTiers> tiers;
  TierModel oversize;
};

// The cache a first tiered get creates: its slots, reserved from the cap
// in one piece, or none at all if the cap cannot hold them.
void CreateCache(Model& m) {
  m.cache_created = true;
  uint64_t reservation = 0;
  std::array<uint64_t, kMaxTiers> limits{};
  for (size_t t = 0; t < kBufferTierSizes.size(); ++t) {
    const size_t per_tier = m.options.thread_cache_bytes / kBufferTierSizes.size();
    limits[t] = std::min(m.options.thread_cache_max_blocks, per_tier / kBufferTierSizes[t]);
    reservation += limits[t] * kBufferTierSizes[t];
  }
  if (reservation == 0 || reservation > m.options.max_retained_bytes - m.budget_used) return;
  m.limits = limits;
  m.budget_used += reservation;
}

struct Sut {
  explicit Sut(const PoolOptions& options) : pool(options) {}
  BufferPool pool;
  std::vector<Buffer> handles;  // parallel to Model::handles
};

using PoolCommand = rc::state::Command<Model, Sut>;

int TierOf(size_t size) {
  for (size_t t = 0; t < kBufferTierSizes.size(); ++t) {
    if (size <= kBufferTierSizes[t]) return static_cast<int>(t);
  }
  return kOversize;
}

void ExpectStatsEqualModel(const Model& m, const Sut& sut) {
  const PoolStats s = sut.pool.Stats();
  for (size_t t = 0; t < kBufferTierSizes.size(); ++t) {
    const TierModel& e = m.tiers[t];
    const TierStats& g = s.tiers[t];
    RC_ASSERT(g.capacity == kBufferTierSizes[t]);
    RC_ASSERT(g.gets == e.gets);
    RC_ASSERT(g.hits == e.hits);
    RC_ASSERT(g.misses == e.misses);
    RC_ASSERT(g.returns == e.returns);
    RC_ASSERT(g.drops == e.drops);
    RC_ASSERT(g.outstanding == e.outstanding());
    RC_ASSERT(g.peak_outstanding == e.peak);
    RC_ASSERT(g.retained_blocks == e.free + e.cached);
    RC_ASSERT(g.retained_bytes == (e.free + e.cached) * kBufferTierSizes[t]);
    RC_ASSERT(g.quarantined == e.quarantined);
    RC_ASSERT(g.poison_violations == 0u);
  }
  RC_ASSERT(s.oversize.gets == m.oversize.gets);
  RC_ASSERT(s.oversize.returns == m.oversize.returns);
  RC_ASSERT(s.oversize.outstanding == m.oversize.outstanding());
  RC_ASSERT(s.oversize.peak_outstanding == m.oversize.peak);
  RC_ASSERT(s.total_retained_bytes() <= m.options.max_retained_bytes);
}

// Shelving a buffer into a tier's free list, as the pool does: only while
// the cap allows, else it is freed and counted as a drop.
void Shelve(Model& m, int tier) {
  const size_t bytes = kBufferTierSizes[tier];
  if (bytes > m.options.max_retained_bytes - m.budget_used) {
    ++m.tiers[tier].drops;
    return;
  }
  m.budget_used += bytes;
  ++m.tiers[tier].free;
}

// Takes one shared block for the caller plus up to half the cache's slots
// minus one for the cache. False when the shared list is empty.
bool Refill(Model& m, int tier) {
  TierModel& t = m.tiers[tier];
  if (t.free == 0) return false;
  const uint64_t want = std::max<uint64_t>(1, m.limits[tier] / 2);
  const uint64_t moved = std::min(t.free, want);
  t.free -= moved;
  t.cached += moved - 1;
  m.budget_used -= moved * kBufferTierSizes[tier];
  return true;
}

struct Get : PoolCommand {
  size_t size;
  Get()
      : size(*rc::gen::oneOf(
            rc::gen::element<size_t>(0, 1, 2048, 2049, 8192, 8193, 32768, 32769, 131072, 131073),
            rc::gen::inRange<size_t>(0, 140000))) {}

  void apply(Model& m) const override {
    const int tier = TierOf(size);
    m.handles.push_back({size, tier == kOversize ? size : kBufferTierSizes[tier], tier});
    TierModel& t = tier == kOversize ? m.oversize : m.tiers[tier];
    ++t.gets;
    if (tier != kOversize && m.caches_enabled && !m.cache_created) CreateCache(m);
    bool hit = false;
    if (tier == kOversize) {
      hit = false;
    } else if (m.limits[tier] > 0) {  // through the cache
      if (t.cached > 0) {
        --t.cached;
        hit = true;
      } else {
        hit = Refill(m, tier);
      }
    } else if (t.free > 0) {  // the shared list directly
      --t.free;
      m.budget_used -= kBufferTierSizes[tier];
      hit = true;
    }
    ++(hit ? t.hits : t.misses);
    t.peak = std::max(t.peak, t.outstanding());
  }
  void run(const Model& m, Sut& sut) const override {
    Buffer b = sut.pool.Get(size);
    RC_ASSERT(static_cast<bool>(b));
    RC_ASSERT(b.size() == size);
    const int tier = TierOf(size);
    RC_ASSERT(b.capacity() == (tier == kOversize ? size : kBufferTierSizes[tier]));
    if (size > 0) std::memset(b.data(), 0x77, size);  // every byte is ours
    sut.handles.push_back(std::move(b));
    ExpectStatsEqualModel(nextState(m), sut);
  }
  void show(std::ostream& os) const override { os << "Get(" << size << ")"; }
};

struct Return : PoolCommand {
  size_t index;
  explicit Return(const Model& m)
      : index(m.handles.empty() ? 0 : *rc::gen::inRange<size_t>(0, m.handles.size())) {}

  void checkPreconditions(const Model& m) const override { RC_PRE(index < m.handles.size()); }
  void apply(Model& m) const override {
    const int tier = m.handles[index].tier;
    m.handles.erase(m.handles.begin() + static_cast<ptrdiff_t>(index));
    if (tier == kOversize) {
      ++m.oversize.returns;
      return;
    }
    TierModel& t = m.tiers[tier];
    ++t.returns;
    if (m.limits[tier] > 0) {  // into the cache, spilling half when full
      if (t.cached == m.limits[tier]) {
        const uint64_t move = std::max<uint64_t>(1, t.cached / 2);
        for (uint64_t i = 0; i < move; ++i) Shelve(m, tier);
        t.cached -= move;
      }
      ++t.cached;
    } else if (m.options.quarantine_per_tier == 0) {
      Shelve(m, tier);
    } else if (t.quarantined < m.options.quarantine_per_tier) {
      ++t.quarantined;
    } else {
      Shelve(m, tier);  // the oldest leaves the FIFO as this one enters
    }
  }
  void run(const Model& m, Sut& sut) const override {
    sut.handles.erase(sut.handles.begin() + static_cast<ptrdiff_t>(index));
    ExpectStatsEqualModel(nextState(m), sut);
  }
  void show(std::ostream& os) const override { os << "Return(#" << index << ")"; }
};

struct Trim : PoolCommand {
  void apply(Model& m) const override {
    uint64_t reservation = 0;
    for (size_t t = 0; t < kMaxTiers; ++t) {
      m.tiers[t].free = 0;
      m.tiers[t].cached = 0;
      m.tiers[t].quarantined = 0;
      reservation += m.limits[t] * (t < kBufferTierSizes.size() ? kBufferTierSizes[t] : 0);
    }
    m.budget_used = reservation;  // the cache keeps its slots
  }
  void run(const Model& m, Sut& sut) const override {
    sut.pool.Trim();
    ExpectStatsEqualModel(nextState(m), sut);
  }
  void show(std::ostream& os) const override { os << "Trim"; }
};

struct ChangeSize : PoolCommand {
  size_t index;
  size_t size;
  explicit ChangeSize(const Model& m)
      : index(m.handles.empty() ? 0 : *rc::gen::inRange<size_t>(0, m.handles.size())),
        size(*rc::gen::inRange<size_t>(0, 140000)) {}

  void checkPreconditions(const Model& m) const override { RC_PRE(index < m.handles.size()); }
  void apply(Model& m) const override {
    Handle& h = m.handles[index];
    if (size <= h.capacity) h.size = size;
  }
  void run(const Model& m, Sut& sut) const override {
    Buffer& b = sut.handles[index];
    const Handle& before = m.handles[index];
    RC_ASSERT(b.capacity() == before.capacity);
    const bool fits = size <= before.capacity;
    RC_ASSERT(b.Resize(size) == fits);
    const Model next = nextState(m);
    RC_ASSERT(b.size() == next.handles[index].size);
    if (fits && size > before.size) std::memset(b.data() + before.size, 0x66, size - before.size);
    ExpectStatsEqualModel(next, sut);
  }
  void show(std::ostream& os) const override {
    os << "ChangeSize(#" << index << ", " << size << ")";
  }
};

struct Snapshot : PoolCommand {
  void run(const Model& m, Sut& sut) const override {
    ExpectStatsEqualModel(m, sut);
    ExpectStatsEqualModel(m, sut);  // a snapshot changes nothing
  }
  void show(std::ostream& os) const override { os << "Snapshot"; }
};

void CheckPoolAgainstModel(const PoolOptions& options) {
  Model initial;
  initial.options = options;
  initial.caches_enabled = options.quarantine_per_tier == 0 && options.thread_cache_bytes > 0 &&
                           options.thread_cache_max_blocks > 0;
  // A new pool per case: this thread's cache for it does not exist yet, as
  // in the model.
  Sut sut(options);
  rc::state::check(initial, sut,
                   rc::state::gen::execOneOfWithArgs<Get, Get, Get, Return, Return, Trim,
                                                     ChangeSize, Snapshot>());
}

uint64_t ReservationOf(const PoolOptions& options) {
  Model m;
  m.options = options;
  m.options.max_retained_bytes = SIZE_MAX;
  CreateCache(m);
  return m.budget_used;
}

// A configuration: cache sizes from none to the default, a few slots per
// tier (so refills and spills happen within a short command sequence) or
// the default 32, and a cap drawn below the cache's reservation, just above
// it (where spills start to drop), or anywhere up to 64 MiB.
PoolOptions GenOptions(bool quarantine) {
  PoolOptions options;
  options.name = "model";
  options.thread_cache_bytes = *rc::gen::element<size_t>(0, 16 << 10, 64 << 10, 256 << 10,
                                                         1 << 20, 4 << 20);
  options.thread_cache_max_blocks = *rc::gen::element<size_t>(0, 1, 2, 3, 4, 6, 32);
  options.quarantine_per_tier = quarantine ? *rc::gen::inRange<size_t>(1, 4) : 0;
  const size_t reservation = ReservationOf(options);
  options.max_retained_bytes =
      *rc::gen::oneOf(rc::gen::inRange<size_t>(0, reservation + 1),
                      rc::gen::inRange<size_t>(reservation, reservation + 300000),
                      rc::gen::inRange<size_t>(0, size_t{64} << 20),
                      rc::gen::just(size_t{64} << 20));
  RC_TAG(options.max_retained_bytes < reservation ? "cap below the reservation"
                                                  : "cap above the reservation");
  return options;
}

RC_GTEST_PROP(PoolModel, AnyConfigurationNoQuarantine, ()) {
  CheckPoolAgainstModel(GenOptions(false));
}
RC_GTEST_PROP(PoolModel, AnyConfigurationWithQuarantine, ()) {
  CheckPoolAgainstModel(GenOptions(true));
}

TEST(PoolModel, TheDefaultCacheReservationIsTheOneTheCapsAreDrawnAround) {
  Model m;
  m.options = PoolOptions{};
  m.options.max_retained_bytes = size_t{64} << 20;
  CreateCache(m);
  EXPECT_EQ(m.budget_used, 851968u);
}

}  // namespace
}  // namespace reflex::pool
