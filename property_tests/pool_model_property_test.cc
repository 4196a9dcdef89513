// Property 7: a stateful model of the buffer pool (rc::state). Commands:
// Get(size), Return(handle), Trim, ChangeSize(handle, size), Snapshot. The
// model tracks outstanding handles, free and quarantined buffers per tier
// and the byte budget; after every command the pool's statistics must equal
// the model's, with the cap and quarantine each on and off.
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
  uint64_t free = 0;         // reusable buffers retained
  uint64_t quarantined = 0;  // buffers waiting in the FIFO
  uint64_t outstanding() const { return gets - returns; }
};

struct Model {
  size_t cap = 0;
  size_t quarantine = 0;
  // With a small cap the per-thread cache cannot reserve its slots, and
  // with quarantine there are no caches: the pool then counts every free
  // buffer against the cap. With a large cap nothing is ever dropped.
  bool budget_applies = false;
  uint64_t budget_used = 0;
  std::vector<Handle> handles;
  std::array<TierModel, kMaxTiers> tiers;
  TierModel oversize;
};

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
    RC_ASSERT(g.retained_blocks == e.free);
    RC_ASSERT(g.retained_bytes == e.free * kBufferTierSizes[t]);
    RC_ASSERT(g.quarantined == e.quarantined);
    RC_ASSERT(g.poison_violations == 0u);
  }
  RC_ASSERT(s.oversize.gets == m.oversize.gets);
  RC_ASSERT(s.oversize.returns == m.oversize.returns);
  RC_ASSERT(s.oversize.outstanding == m.oversize.outstanding());
  RC_ASSERT(s.oversize.peak_outstanding == m.oversize.peak);
  RC_ASSERT(s.total_retained_bytes() <= m.cap);
}

// Shelving a buffer into a tier's free list, as the pool does: only while
// the cap allows, else it is freed and counted as a drop.
void Shelve(Model& m, int tier) {
  const size_t bytes = kBufferTierSizes[tier];
  if (m.budget_applies && m.budget_used + bytes > m.cap) {
    ++m.tiers[tier].drops;
    return;
  }
  if (m.budget_applies) m.budget_used += bytes;
  ++m.tiers[tier].free;
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
    if (tier != kOversize && t.free > 0) {
      ++t.hits;
      --t.free;
      if (m.budget_applies) m.budget_used -= kBufferTierSizes[tier];
    } else {
      ++t.misses;
    }
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
    if (m.quarantine == 0) {
      Shelve(m, tier);
    } else if (t.quarantined < m.quarantine) {
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
    for (TierModel& t : m.tiers) {
      t.free = 0;
      t.quarantined = 0;
    }
    m.budget_used = 0;
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

void CheckPoolAgainstModel(size_t cap, size_t quarantine) {
  PoolOptions options;
  options.name = "model";
  options.max_retained_bytes = cap;
  options.quarantine_per_tier = quarantine;
  Model initial;
  initial.cap = cap;
  initial.quarantine = quarantine;
  // The thread cache reserves its slots (all tiers) from the cap when it is
  // created; a cap below that reservation leaves the cache empty, and
  // quarantine disables caches: either way every buffer is budgeted.
  initial.budget_applies = quarantine > 0 || cap < (size_t{1} << 20);
  // A new pool per case: this thread's cache for it starts empty, as the
  // model does.
  Sut sut(options);
  rc::state::check(initial, sut,
                   rc::state::gen::execOneOfWithArgs<Get, Get, Get, Return, Return, Trim,
                                                     ChangeSize, Snapshot>());
}

RC_GTEST_PROP(PoolModel, LargeCapNoQuarantine, ()) { CheckPoolAgainstModel(64 << 20, 0); }
RC_GTEST_PROP(PoolModel, SmallCapNoQuarantine, ()) { CheckPoolAgainstModel(20 << 10, 0); }
RC_GTEST_PROP(PoolModel, LargeCapWithQuarantine, ()) { CheckPoolAgainstModel(64 << 20, 2); }
RC_GTEST_PROP(PoolModel, SmallCapWithQuarantine, ()) { CheckPoolAgainstModel(20 << 10, 3); }

}  // namespace
}  // namespace reflex::pool
