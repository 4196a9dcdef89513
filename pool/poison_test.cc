// Poison on return: any access to a returned buffer, and any access past the
// requested size into the tier's slack, is reported. Under ASan by the
// sanitizer itself; without it, by the fill-pattern check of checked mode.
// Each config runs the half that applies to it (CI runs both configs).
#include <gtest/gtest.h>

#include <cstring>

#include "pool/buffer_pool.h"
#include "pool/slot_pool.h"
#include "pool/object_pool.h"
#include "pool/poison.h"

namespace reflex::pool {
namespace {

// Reads and writes through volatile pointers so they are not optimized away.
uint8_t ReadByte(const uint8_t* p) { return *static_cast<const volatile uint8_t*>(p); }
void WriteByte(uint8_t* p, uint8_t v) { *static_cast<volatile uint8_t*>(p) = v; }

class PoisonUnderAsan : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!kAsanEnabled) GTEST_SKIP() << "needs --config=asan";
    GTEST_FLAG_SET(death_test_style, "threadsafe");
  }
};

TEST_F(PoisonUnderAsan, ReadAfterReturnIsReported) {
  EXPECT_DEATH(
      {
        BufferPool pool;
        uint8_t* stale;
        {
          Buffer b = pool.Get(100);
          stale = b.data();
        }
        ReadByte(stale + 10);
      },
      "use-after-poison");
}

TEST_F(PoisonUnderAsan, WriteAfterReturnIsReported) {
  EXPECT_DEATH(
      {
        BufferPool pool;
        uint8_t* stale;
        {
          Buffer b = pool.Get(100);
          stale = b.data();
        }
        WriteByte(stale, 1);
      },
      "use-after-poison");
}

TEST_F(PoisonUnderAsan, AccessIntoTheSlackPastTheRequestedSizeIsReported) {
  EXPECT_DEATH(
      {
        BufferPool pool;
        Buffer b = pool.Get(100);  // capacity 2048: bytes 100.. are slack
        ReadByte(b.data() + 100);
      },
      "use-after-poison");
}

TEST_F(PoisonUnderAsan, ShrinkingPoisonsTheTail) {
  BufferPool pool;
  Buffer b = pool.Get(1000);
  ASSERT_TRUE(b.Resize(10));
  EXPECT_FALSE(IsPoisoned(b.data() + 9));
  EXPECT_TRUE(IsPoisoned(b.data() + 10));
  ASSERT_TRUE(b.Resize(2048));
  EXPECT_FALSE(AnyPoisoned(b.data(), 2048));
}

TEST_F(PoisonUnderAsan, TheBytesBetweenASlotsRequestedSizeAndItsEndArePoisoned) {
  const size_t sizes[] = {76};
  SlotPool pool(sizes, PoolOptions{});
  Buffer b = pool.Get(0, 76);
  EXPECT_FALSE(IsPoisoned(b.data() + 75));
  EXPECT_TRUE(IsPoisoned(b.data() + 76));
  EXPECT_TRUE(IsPoisoned(b.data() + 79));
}

TEST_F(PoisonUnderAsan, ShrinkingAnOversizeBufferPoisonsItsTailToo) {
  BufferPool pool;
  Buffer b = pool.Get(200000);
  ASSERT_TRUE(b.is_oversize());
  ASSERT_TRUE(b.Resize(100));
  EXPECT_FALSE(IsPoisoned(b.data() + 99));
  EXPECT_TRUE(IsPoisoned(b.data() + 100));
  EXPECT_TRUE(IsPoisoned(b.data() + 199999));
  ASSERT_TRUE(b.Resize(200000));
  EXPECT_FALSE(AnyPoisoned(b.data(), 200000));
}

TEST_F(PoisonUnderAsan, ReturnedObjectsArePoisoned) {
  ObjectPool<uint64_t> pool;
  uint64_t* stale;
  {
    auto h = pool.Get();
    stale = h.get();
    EXPECT_FALSE(IsPoisoned(stale));
  }
  EXPECT_TRUE(IsPoisoned(stale));
}

class PatternCheck : public ::testing::Test {
 protected:
  void SetUp() override {
    if (kAsanEnabled) GTEST_SKIP() << "ASan reports the access itself";
    GTEST_FLAG_SET(death_test_style, "threadsafe");
  }
  static PoolOptions Checked(bool abort_on_violation) {
    PoolOptions options;
    options.name = "checked";
    options.checked = true;
    options.abort_on_violation = abort_on_violation;
    return options;
  }
};

TEST_F(PatternCheck, WriteAfterReturnAbortsNamingPoolTierAndOffset) {
  EXPECT_DEATH(
      {
        BufferPool pool(Checked(true));
        uint8_t* stale;
        {
          Buffer b = pool.Get(5000);
          stale = b.data();
        }
        WriteByte(stale + 4321, 0x41);
        Buffer again = pool.Get(5000);
      },
      "reflex pool 'checked': write after return detected in tier 8192 at "
      "offset 4321 \\(found 0x41, expected 0xdb\\)");
}

TEST_F(PatternCheck, WriteIntoTheSlackAfterReturnIsCaughtToo) {
  EXPECT_DEATH(
      {
        BufferPool pool(Checked(true));
        uint8_t* stale;
        {
          Buffer b = pool.Get(10);
          stale = b.data();
        }
        WriteByte(stale + 2047, 0);
        Buffer again = pool.Get(10);
      },
      "tier 2048 at offset 2047");
}

TEST_F(PatternCheck, WithoutAbortAViolationIsCountedAndTheBufferDiscarded) {
  BufferPool pool(Checked(false));
  uint8_t* stale;
  {
    Buffer b = pool.Get(64);
    stale = b.data();
  }
  WriteByte(stale, 0x41);
  Buffer again = pool.Get(64);
  ASSERT_TRUE(again);
  for (size_t i = 0; i < again.size(); ++i) ASSERT_EQ(again.data()[i], kFillByte);
  const TierStats t = pool.Stats().tiers[0];
  EXPECT_EQ(t.poison_violations, 1u);
  EXPECT_EQ(t.gets, 2u);
  EXPECT_EQ(t.misses, 2u);
  EXPECT_EQ(t.outstanding, 1u);
}

TEST_F(PatternCheck, UncheckedPoolsDoNotVerify) {
  PoolOptions options = Checked(false);
  options.checked = false;
  BufferPool pool(options);
  uint8_t* stale;
  {
    Buffer b = pool.Get(64);
    stale = b.data();
  }
  WriteByte(stale, 0x41);
  Buffer again = pool.Get(64);
  EXPECT_EQ(again.data(), stale);
  EXPECT_EQ(pool.Stats().tiers[0].poison_violations, 0u);
}

TEST(FillPattern, FindsTheFirstMismatch) {
  uint8_t bytes[37];
  FillPattern(bytes, sizeof(bytes));
  EXPECT_EQ(FindPatternMismatch(bytes, sizeof(bytes)), sizeof(bytes));
  bytes[35] = 0;
  EXPECT_EQ(FindPatternMismatch(bytes, sizeof(bytes)), 35u);
  bytes[3] = 0;
  EXPECT_EQ(FindPatternMismatch(bytes, sizeof(bytes)), 3u);
  EXPECT_EQ(FindPatternMismatch(bytes, 0), 0u);
}

}  // namespace
}  // namespace reflex::pool
