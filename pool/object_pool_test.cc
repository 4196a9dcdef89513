#include "pool/object_pool.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

#include "pool/pool_test_util.h"

namespace reflex::pool {
namespace {

// Resets itself through Reset(), keeping its vector's capacity.
struct FrameLike {
  uint8_t type = 0;
  uint64_t counter = 0;
  std::vector<uint8_t> payload;
  int resets = 0;

  void Reset() {
    type = 0;
    counter = 0;
    payload.clear();
    ++resets;
  }
};

// No Reset(): the pool assigns a default-constructed value.
struct Plain {
  int a = 1;
  int b = 2;
};

int g_live_counted = 0;
struct Counted {
  Counted() noexcept { ++g_live_counted; }
  ~Counted() { --g_live_counted; }
  Counted& operator=(const Counted&) = default;
  int value = 0;
};

TEST(ObjectPool, FreshObjectsAreDefaultConstructed) {
  ObjectPool<FrameLike> pool;
  auto frame = pool.Get();
  ASSERT_TRUE(frame);
  EXPECT_EQ(frame->type, 0);
  EXPECT_EQ(frame->counter, 0u);
  EXPECT_TRUE(frame->payload.empty());
  EXPECT_EQ(frame->resets, 0);
}

TEST(ObjectPool, ObjectsAreResetOnReturnAndKeepTheirCapacity) {
  ObjectPool<FrameLike> pool;
  FrameLike* address;
  size_t capacity;
  {
    auto frame = pool.Get();
    frame->type = 4;
    frame->counter = 99;
    frame->payload.assign(1000, 0xAB);
    address = frame.get();
    capacity = frame->payload.capacity();
  }
  auto again = pool.Get();
  EXPECT_EQ(again.get(), address);
  EXPECT_EQ(again->type, 0);
  EXPECT_EQ(again->counter, 0u);
  EXPECT_TRUE(again->payload.empty());
  EXPECT_EQ(again->payload.capacity(), capacity);
  EXPECT_EQ(again->resets, 1);
}

TEST(ObjectPool, TypesWithoutResetAreReassignedFromADefaultValue) {
  ObjectPool<Plain> pool;
  {
    auto p = pool.Get();
    p->a = 10;
    p->b = 20;
  }
  auto p = pool.Get();
  EXPECT_EQ(p->a, 1);
  EXPECT_EQ(p->b, 2);
}

TEST(ObjectPool, StatisticsCountEveryGetAndReturn) {
  ObjectPool<FrameLike> pool(SharedOnlyOptions("frames"));
  {
    auto a = pool.Get();
    auto b = pool.Get();
  }
  { auto c = pool.Get(); }
  const PoolStats s = pool.Stats();
  EXPECT_EQ(s.name, "frames");
  EXPECT_EQ(s.tier_count, 1u);
  EXPECT_EQ(s.tiers[0], (TierStats{.capacity = (sizeof(FrameLike) + 7) / 8 * 8,
                                   .gets = 3,
                                   .hits = 1,
                                   .misses = 2,
                                   .returns = 3,
                                   .peak_outstanding = 2,
                                   .retained_blocks = 2,
                                   .retained_bytes =
                                       2 * ((sizeof(FrameLike) + 7) / 8 * 8)}));
}

TEST(ObjectPool, PooledObjectsAreDestroyedWhenThePoolIsTrimmedOrDestroyed) {
  {
    ObjectPool<Counted> pool;
    {
      auto a = pool.Get();
      auto b = pool.Get();
      EXPECT_EQ(g_live_counted, 2);
    }
    EXPECT_EQ(g_live_counted, 2);  // pooled, still constructed
    pool.Trim();
    EXPECT_EQ(g_live_counted, 0);
    auto c = pool.Get();
    EXPECT_EQ(g_live_counted, 1);
  }
  EXPECT_EQ(g_live_counted, 0);
}

TEST(ObjectPool, AnObjectOutlivingItsPoolIsDestroyedWhenItComesBack) {
  ObjectPool<Counted>::Handle survivor;
  bool reported = false;
  PoolOptions options;
  options.on_leak = [](const PoolStats& s, void* ctx) {
    *static_cast<bool*>(ctx) = s.tiers[0].outstanding == 1;
  };
  options.on_leak_context = &reported;
  {
    ObjectPool<Counted> pool(options);
    survivor = pool.Get();
    survivor->value = 7;
  }
  EXPECT_TRUE(reported);
  EXPECT_EQ(survivor->value, 7);
  EXPECT_EQ(g_live_counted, 1);
  survivor.Reset();
  EXPECT_EQ(g_live_counted, 0);
}

}  // namespace
}  // namespace reflex::pool
