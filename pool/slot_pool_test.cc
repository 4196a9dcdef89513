#include "pool/slot_pool.h"

#include <gtest/gtest.h>

#include <cstring>

#include "pool/poison.h"
#include "pool/pool_test_util.h"

namespace reflex::pool {
namespace {

constexpr size_t kTwoSlots[] = {76, 40};

PoolOptions Named(const char* name) {
  PoolOptions options;
  options.name = name;
  return options;
}

TEST(SlotPool, SlotsAreTheNamedSizesRoundedUpTo8BytesInTheCallersOrder) {
  SlotPool pool(kTwoSlots, Named("slots"));
  Buffer a = pool.Get(0, 76);
  Buffer b = pool.Get(1, 40);
  ASSERT_TRUE(a && b);
  EXPECT_EQ(a.size(), 76u);
  EXPECT_EQ(a.capacity(), 80u);
  EXPECT_EQ(b.size(), 40u);
  EXPECT_EQ(b.capacity(), 40u);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(a.data()) % 8, 0u);
  const PoolStats stats = pool.Stats();
  ASSERT_EQ(stats.tier_count, 2u);
  EXPECT_EQ(stats.tiers[0].capacity, 80u);
  EXPECT_EQ(stats.tiers[1].capacity, 40u);
}

TEST(SlotPool, AnUnknownClassOrASizePastTheSlotGetsAnEmptyHandle) {
  SlotPool pool(kTwoSlots, Named("slots"));
  EXPECT_FALSE(pool.Get(2, 1));
  EXPECT_FALSE(pool.Get(1, 41));
  EXPECT_TRUE(pool.Get(0, 80));  // the rounded slot is usable
  EXPECT_EQ(pool.Stats().tiers[1].gets, 0u);
}

TEST(SlotPool, AnInvalidSlotTableServesNothingAndCleansUp) {
  const size_t too_many[] = {8, 16, 24, 32, 40};
  const size_t zero[] = {0};
  const size_t huge[] = {SlotPool::kMaxSlotBytes + 1};
  for (std::span<const size_t> sizes :
       {std::span<const size_t>(too_many), std::span<const size_t>(zero),
        std::span<const size_t>(huge), std::span<const size_t>()}) {
    SlotPool pool(sizes, Named("invalid"));
    EXPECT_FALSE(pool.Get(0, 1));
    EXPECT_EQ(pool.Stats().tier_count, 0u);
    pool.Trim();
  }
}

TEST(SlotPool, EachClassIsReusedWipedAndCountedApart) {
  SlotPool pool(kTwoSlots, Named("slots"));
  uint8_t* first_address;
  uint8_t* second_address;
  {
    Buffer c = pool.Get(0, 76);
    Buffer s = pool.Get(1, 40);
    std::memset(c.data(), 0x11, c.size());
    std::memset(s.data(), 0x22, s.size());
    first_address = c.data();
    second_address = s.data();
  }
  Buffer c = pool.Get(0, 76);
  Buffer s = pool.Get(1, 40);
  EXPECT_EQ(c.data(), first_address);
  EXPECT_EQ(s.data(), second_address);
  for (size_t i = 0; i < c.size(); ++i) ASSERT_EQ(c.data()[i], kFillByte);
  for (size_t i = 0; i < s.size(); ++i) ASSERT_EQ(s.data()[i], kFillByte);

  const PoolStats stats = pool.Stats();
  EXPECT_EQ(stats.name, "slots");
  const TierStats expected_first{.capacity = 80,
                                 .gets = 2,
                                 .hits = 1,
                                 .misses = 1,
                                 .returns = 1,
                                 .outstanding = 1,
                                 .peak_outstanding = 1};
  EXPECT_EQ(stats.tiers[0], expected_first);
  TierStats expected_second = expected_first;
  expected_second.capacity = 40;
  EXPECT_EQ(stats.tiers[1], expected_second);
  EXPECT_EQ(stats.oversize.gets, 0u);
}

TEST(SlotPool, BuffersCannotGrowPastTheirSlot) {
  SlotPool pool(kTwoSlots, Named("slots"));
  Buffer c = pool.Get(0, 76);
  EXPECT_TRUE(c.Resize(80));
  EXPECT_FALSE(c.Resize(81));
  Buffer s = pool.Get(1, 40);
  EXPECT_FALSE(s.Resize(41));
}

}  // namespace
}  // namespace reflex::pool
