#include "pool/buffer_pool.h"

#include <gtest/gtest.h>

#include <cstring>
#include <memory>
#include <vector>

#include "pool/poison.h"
#include "pool/pool_test_util.h"
#include "base/alloc_counter.h"

namespace reflex::pool {
namespace {

// The tier index a request size lands in, by the published tier table.
struct Boundary {
  size_t request;
  size_t expected_capacity;  // 0: oversize
};

TEST(BufferPool, RequestIsServedBySmallestTierThatFits) {
  BufferPool pool;
  const Boundary cases[] = {
      {0, 2048},          {1, 2048},          {2048, 2048},
      {2049, 8192},       {8192, 8192},       {8193, 32768},
      {32768, 32768},     {32769, 131072},    {131072, 131072},
      {131073, 0},
  };
  for (const Boundary& c : cases) {
    Buffer b = pool.Get(c.request);
    ASSERT_TRUE(b) << c.request;
    EXPECT_EQ(b.size(), c.request);
    if (c.expected_capacity == 0) {
      EXPECT_TRUE(b.is_oversize()) << c.request;
      EXPECT_EQ(b.capacity(), c.request);
    } else {
      EXPECT_FALSE(b.is_oversize()) << c.request;
      EXPECT_EQ(b.capacity(), c.expected_capacity) << c.request;
    }
    std::memset(b.data(), 0x5A, b.size());
  }
}

TEST(BufferPool, GetReturnCycleReusesTheSameBufferInEveryTier) {
  for (size_t tier = 0; tier < kBufferTierSizes.size(); ++tier) {
    BufferPool pool;
    const size_t size = kBufferTierSizes[tier];
    uint8_t* first;
    {
      Buffer b = pool.Get(size);
      first = b.data();
    }
    Buffer again = pool.Get(size);
    EXPECT_EQ(again.data(), first) << "tier " << size;
    again.Reset();

    const PoolStats s = pool.Stats();
    EXPECT_EQ(s.tiers[tier], (TierStats{.capacity = size,
                                        .gets = 2,
                                        .hits = 1,
                                        .misses = 1,
                                        .returns = 2,
                                        .peak_outstanding = 1,
                                        .retained_blocks = 1,
                                        .retained_bytes = size}));
    for (size_t other = 0; other < kBufferTierSizes.size(); ++other) {
      if (other != tier) {
        EXPECT_EQ(s.tiers[other].gets, 0u);
      }
    }
  }
}

TEST(BufferPool, StatisticsAreExactWhileBuffersAreHeld) {
  BufferPool pool;
  std::vector<Buffer> held;
  for (int i = 0; i < 3; ++i) held.push_back(pool.Get(100));
  EXPECT_EQ(pool.Stats().tiers[0], (TierStats{.capacity = 2048,
                                              .gets = 3,
                                              .misses = 3,
                                              .outstanding = 3,
                                              .peak_outstanding = 3}));
  held.clear();
  for (int i = 0; i < 2; ++i) held.push_back(pool.Get(2000));
  EXPECT_EQ(pool.Stats().tiers[0], (TierStats{.capacity = 2048,
                                              .gets = 5,
                                              .hits = 2,
                                              .misses = 3,
                                              .returns = 3,
                                              .outstanding = 2,
                                              .peak_outstanding = 3,
                                              .retained_blocks = 1,
                                              .retained_bytes = 2048}));
  held.clear();
}

TEST(BufferPool, OversizeRequestsArePlainAllocationsCountedApart) {
  BufferPool pool;
  {
    Buffer a = pool.Get(200000);
    Buffer b = pool.Get(131073);
    ASSERT_TRUE(a && b);
    EXPECT_TRUE(a.is_oversize());
    std::memset(a.data(), 1, a.size());
  }
  const PoolStats s = pool.Stats();
  EXPECT_EQ(s.oversize, (TierStats{.gets = 2,
                                   .misses = 2,
                                   .returns = 2,
                                   .peak_outstanding = 2}));
  for (size_t t = 0; t < s.tier_count; ++t) EXPECT_EQ(s.tiers[t].gets, 0u);
  EXPECT_EQ(s.total_retained_bytes(), 0u);
}

TEST(BufferPool, RequestsAboveTheLimitGetAnEmptyHandle) {
  BufferPool pool;
  Buffer b = pool.Get(kMaxBufferRequest + 1);
  EXPECT_FALSE(b);
  EXPECT_EQ(b.data(), nullptr);
  EXPECT_EQ(b.size(), 0u);
  EXPECT_EQ(pool.Stats().oversize.gets, 0u);
}

TEST(BufferPool, ResizeStaysWithinCapacity) {
  BufferPool pool;
  Buffer b = pool.Get(10);
  EXPECT_TRUE(b.Resize(2048));
  EXPECT_EQ(b.size(), 2048u);
  std::memset(b.data(), 7, b.size());
  EXPECT_FALSE(b.Resize(2049));
  EXPECT_EQ(b.size(), 2048u);
  EXPECT_TRUE(b.Resize(0));
  EXPECT_EQ(b.size(), 0u);
  EXPECT_EQ(b.capacity(), 2048u);
}

TEST(BufferPool, ReturnedBytesAreWipedBeforeReuse) {
  BufferPool pool;
  uint8_t* address;
  {
    Buffer secret = pool.Get(64);
    std::memset(secret.data(), 0x42, 64);
    ASSERT_TRUE(secret.Resize(1500));  // the wipe covers the high-water mark
    std::memset(secret.data(), 0x43, 1500);
    ASSERT_TRUE(secret.Resize(16));
    address = secret.data();
  }
  Buffer next = pool.Get(2048);
  ASSERT_EQ(next.data(), address);
  for (size_t i = 0; i < next.size(); ++i) {
    ASSERT_EQ(next.data()[i], kFillByte) << "offset " << i;
  }
}

TEST(BufferPool, AWipeExtentLimitsTheWipeToTheBytesWritten) {
  PoolOptions options;
  options.checked = false;  // checked pools write their pattern everywhere
  BufferPool pool(options);
  uint8_t* address;
  {
    Buffer b = pool.Get(2048);
    std::memset(b.data(), 0x42, 2048);
    b.set_wipe_extent(100);  // a promise broken on purpose, to see the extent
    address = b.data();
  }
  Buffer next = pool.Get(2048);
  ASSERT_EQ(next.data(), address);
  for (size_t i = 0; i < 100; ++i) ASSERT_EQ(next.data()[i], kFillByte) << "offset " << i;
  EXPECT_EQ(next.data()[100], 0x42) << "past the extent nothing was wiped";
}

// A checked pool verifies the whole block when it hands it out again, so it
// must wipe the whole block on return, whatever extent its holder
// declared: a holder that wrote past its extent leaves no plaintext behind
// and draws no false "write after return" report.
TEST(BufferPool, ACheckedPoolWipesTheWholeBlockWhateverTheExtent) {
  PoolOptions options;
  options.checked = true;
  options.abort_on_violation = false;  // count a violation instead
  BufferPool pool(options);
  uint8_t* address;
  {
    Buffer b = pool.Get(2048);
    std::memset(b.data(), 0x42, 1000);
    b.set_wipe_extent(10);  // a promise broken: 990 bytes past it
    address = b.data();
  }
  Buffer next = pool.Get(2048);
  EXPECT_EQ(pool.Stats().tiers[0].poison_violations, 0u);
  ASSERT_EQ(next.data(), address);
  for (size_t i = 0; i < next.size(); ++i) {
    ASSERT_EQ(next.data()[i], kFillByte) << "offset " << i;
  }
}

// What the allocator sees of one block when it is freed.
struct FreedBlock {
  const void* address = nullptr;
  size_t size = 0;
  bool seen = false;
  size_t first_unwiped = SIZE_MAX;  // SIZE_MAX: every byte was kFillByte
};

void InspectFreedBlock(const void* block, size_t usable_size, void* context) {
  auto* watched = static_cast<FreedBlock*>(context);
  if (block != watched->address || usable_size < watched->size) return;
  watched->seen = true;
  const auto* bytes = static_cast<const uint8_t*>(block);
  for (size_t i = 0; i < watched->size; ++i) {
    if (bytes[i] != kFillByte) {
      watched->first_unwiped = i;
      return;
    }
  }
}

TEST(BufferPool, OversizeBuffersAreWipedBeforeFree) {
  BufferPool pool;
  Buffer b = pool.Get(300000);
  ASSERT_TRUE(b);
  std::memset(b.data(), 0x11, b.size());
  FreedBlock watched{.address = b.data(), .size = b.size()};
  testing::SetFreeObserver(InspectFreedBlock, &watched);
  b.Reset();
  testing::SetFreeObserver(nullptr, nullptr);
  ASSERT_TRUE(watched.seen) << "the block never reached the allocator";
  EXPECT_EQ(watched.first_unwiped, SIZE_MAX) << "plaintext left at that offset";
  EXPECT_EQ(pool.Stats().oversize.returns, 1u);
}

TEST(BufferPool, OversizeBuffersWithTheWipeTurnedOffAreNotWiped) {
  // The other side of the test above: the observer does see what is freed.
  BufferPool pool;
  Buffer b = pool.Get(300000);
  std::memset(b.data(), 0x11, b.size());
  b.set_wipe_on_return(false);
  FreedBlock watched{.address = b.data(), .size = b.size()};
  testing::SetFreeObserver(InspectFreedBlock, &watched);
  b.Reset();
  testing::SetFreeObserver(nullptr, nullptr);
  ASSERT_TRUE(watched.seen);
  EXPECT_EQ(watched.first_unwiped, 0u);
}

TEST(BufferPool, MovedFromHandleIsEmptyAndReturnsNothing) {
  BufferPool pool;
  Buffer a = pool.Get(100);
  uint8_t* p = a.data();
  Buffer b = std::move(a);
  EXPECT_FALSE(a);  // NOLINT(bugprone-use-after-move): the point of the test
  EXPECT_EQ(b.data(), p);
  EXPECT_EQ(pool.Stats().tiers[0].outstanding, 1u);
  Buffer c = pool.Get(5000);
  c = std::move(b);  // returns c's 8 KiB buffer, takes b's
  EXPECT_EQ(c.data(), p);
  const PoolStats s = pool.Stats();
  EXPECT_EQ(s.tiers[0].outstanding, 1u);
  EXPECT_EQ(s.tiers[1].outstanding, 0u);
  EXPECT_EQ(s.tiers[1].returns, 1u);
  c.Reset();
  c.Reset();  // a second reset is a no-op, never a second return
  EXPECT_EQ(pool.Stats().tiers[0].returns, 1u);
}

TEST(BufferPool, ReturnsPastTheCapAreDropped) {
  PoolOptions options = SharedOnlyOptions("capped");
  options.max_retained_bytes = 3 * 2048;
  BufferPool pool(options);
  {
    std::vector<Buffer> held;
    for (int i = 0; i < 5; ++i) held.push_back(pool.Get(2048));
  }
  EXPECT_EQ(pool.Stats().tiers[0], (TierStats{.capacity = 2048,
                                              .gets = 5,
                                              .misses = 5,
                                              .returns = 5,
                                              .drops = 2,
                                              .peak_outstanding = 5,
                                              .retained_blocks = 3,
                                              .retained_bytes = 3 * 2048}));
}

TEST(BufferPool, ThreadCachesNeverPushRetainedBytesPastTheCap) {
  PoolOptions options;
  options.name = "capped-with-caches";
  options.max_retained_bytes = 1 << 20;
  BufferPool pool(options);
  for (int round = 0; round < 4; ++round) {
    std::vector<Buffer> held;
    for (int i = 0; i < 20; ++i) {
      for (size_t size : kBufferTierSizes) held.push_back(pool.Get(size));
    }
    held.clear();
    EXPECT_LE(pool.Stats().total_retained_bytes(), options.max_retained_bytes);
  }
  EXPECT_GT(pool.Stats().tiers[3].drops, 0u);
}

TEST(BufferPool, TrimReleasesRetainedMemory) {
  BufferPool pool;
  {
    std::vector<Buffer> held;
    for (size_t size : kBufferTierSizes) {
      held.push_back(pool.Get(size));
      held.push_back(pool.Get(size));
    }
  }
  EXPECT_EQ(pool.Stats().total_retained_bytes(),
            2u * (2048 + 8192 + 32768 + 131072));
  pool.Trim();
  const PoolStats s = pool.Stats();
  EXPECT_EQ(s.total_retained_bytes(), 0u);
  for (size_t t = 0; t < s.tier_count; ++t) {
    EXPECT_EQ(s.tiers[t].retained_blocks, 0u);
    EXPECT_EQ(s.tiers[t].drops, 0u);  // a trim is not a drop
  }
  // The pool keeps working after a trim, with fresh allocations.
  Buffer b = pool.Get(10);
  EXPECT_TRUE(b);
  EXPECT_EQ(pool.Stats().tiers[0].misses, 3u);
}

// Decay: what a pool retains but did not need since the last Decay is given
// back (the coldest blocks); what it needs stays.
TEST(BufferPool, DecayFreesTheBlocksNoGetNeededSinceTheLastDecay) {
  PoolOptions options;
  options.thread_cache_bytes = 0;  // every block on the shared free list
  BufferPool pool(options);
  {
    std::vector<Buffer> held;
    for (int i = 0; i < 8; ++i) held.push_back(pool.Get(100));
  }
  EXPECT_EQ(pool.Stats().tiers[0].retained_blocks, 8u);
  EXPECT_EQ(pool.Decay(), 0u);  // the first period starts here
  {
    std::vector<Buffer> held;
    for (int i = 0; i < 3; ++i) held.push_back(pool.Get(100));
  }
  EXPECT_EQ(pool.Decay(), 5u * 2048) << "three were needed";
  EXPECT_EQ(pool.Stats().tiers[0].retained_blocks, 3u);
  EXPECT_EQ(pool.Decay(), 3u * 2048);
  EXPECT_EQ(pool.Stats().tiers[0].retained_blocks, 0u);
  EXPECT_EQ(pool.Stats().tiers[0].drops, 0u);  // a decay is not a drop
}

TEST(BufferPool, DecayKeepsTheBlocksThePoolKeepsUsing) {
  PoolOptions options;
  options.thread_cache_bytes = 0;
  BufferPool pool(options);
  auto use = [&pool](int n) {
    std::vector<Buffer> held;
    for (int i = 0; i < n; ++i) held.push_back(pool.Get(100));
  };
  use(8);
  (void)pool.Decay();
  for (int period = 0; period < 10; ++period) {
    use(6);  // six of the eight are needed in every period
    (void)pool.Decay();
  }
  EXPECT_EQ(pool.Stats().tiers[0].retained_blocks, 6u);
  EXPECT_EQ(pool.Stats().tiers[0].misses, 8u);  // never allocated again
}

// A pool used from several threads decays its shared lists once per period
// (one thread) and each thread's cache on that thread: a thread's cache
// decay never touches the shared lists.
TEST(BufferPool, DecayingAThreadCacheLeavesTheSharedListsAlone) {
  PoolOptions options;
  options.thread_cache_bytes = 0;
  BufferPool pool(options);
  {
    std::vector<Buffer> held;
    for (int i = 0; i < 8; ++i) held.push_back(pool.Get(100));
  }
  (void)pool.DecaySharedLists();  // a period starts
  for (int i = 0; i < 3; ++i) EXPECT_EQ(pool.DecayThreadCache(), 0u);
  EXPECT_EQ(pool.Stats().tiers[0].retained_blocks, 8u);
  EXPECT_EQ(pool.DecaySharedLists(), 8u * 2048);
}

TEST(BufferPool, DecayEmptiesAThreadCacheThatServedNoGetSinceTheLastDecay) {
  BufferPool pool;  // with thread caches
  {
    std::vector<Buffer> held;
    for (size_t size : kBufferTierSizes) held.push_back(pool.Get(size));
  }
  const size_t all = 2048 + 8192 + 32768 + 131072;
  EXPECT_EQ(pool.Stats().total_retained_bytes(), all);
  EXPECT_EQ(pool.Decay(), 0u);  // the cache served gets in this period
  EXPECT_EQ(pool.Stats().total_retained_bytes(), all);
  EXPECT_EQ(pool.Decay(), all);  // none in this one
  EXPECT_EQ(pool.Stats().total_retained_bytes(), 0u);
  Buffer b = pool.Get(10);  // the pool keeps working
  EXPECT_TRUE(b);
}

TEST(BufferPool, QuarantineDelaysReuseInFifoOrder) {
  PoolOptions options;
  options.name = "quarantined";
  options.quarantine_per_tier = 2;
  BufferPool pool(options);
  Buffer a = pool.Get(100);
  Buffer b = pool.Get(100);
  Buffer c = pool.Get(100);
  uint8_t* pa = a.data();
  uint8_t* pb = b.data();
  uint8_t* pc = c.data();
  a.Reset();
  Buffer d = pool.Get(100);  // a is in quarantine: not reused
  EXPECT_NE(d.data(), pa);
  b.Reset();
  c.Reset();  // the ring is full: a leaves quarantine
  EXPECT_EQ(pool.Stats().tiers[0].quarantined, 2u);
  Buffer e = pool.Get(100);
  EXPECT_EQ(e.data(), pa);
  EXPECT_NE(e.data(), pb);
  EXPECT_NE(e.data(), pc);
  const TierStats t = pool.Stats().tiers[0];
  EXPECT_EQ(t.gets, 5u);
  EXPECT_EQ(t.misses, 4u);
  EXPECT_EQ(t.returns, 3u);
  EXPECT_EQ(t.outstanding, 2u);
  EXPECT_EQ(t.peak_outstanding, 3u);
  EXPECT_EQ(t.retained_blocks, 0u);
}

struct LeakRecord {
  int calls = 0;
  PoolStats stats;
};

void RecordLeak(const PoolStats& stats, void* context) {
  auto* record = static_cast<LeakRecord*>(context);
  ++record->calls;
  record->stats = stats;
}

TEST(BufferPool, DestroyingAPoolWithOutstandingBuffersReportsThemPerTier) {
  LeakRecord record;
  PoolOptions options;
  options.name = "leaky";
  options.on_leak = RecordLeak;
  options.on_leak_context = &record;
  Buffer small, large, huge;
  {
    BufferPool pool(options);
    small = pool.Get(10);
    large = pool.Get(100000);
    huge = pool.Get(500000);
    Buffer returned = pool.Get(10);
  }
  ASSERT_EQ(record.calls, 1);
  EXPECT_EQ(record.stats.name, "leaky");
  EXPECT_EQ(record.stats.tiers[0].outstanding, 1u);
  EXPECT_EQ(record.stats.tiers[1].outstanding, 0u);
  EXPECT_EQ(record.stats.tiers[3].outstanding, 1u);
  EXPECT_EQ(record.stats.oversize.outstanding, 1u);
  EXPECT_EQ(record.stats.total_outstanding(), 3u);
  // The handles stay usable and return safely after the pool is gone (under
  // ASan + LSan this also proves nothing leaks once they are back).
  std::memset(small.data(), 1, small.size());
  small.Reset();
  large.Reset();
  huge.Reset();
}

TEST(BufferPool, DestroyingAPoolWithNothingOutstandingReportsNothing) {
  LeakRecord record;
  PoolOptions options;
  options.on_leak = RecordLeak;
  options.on_leak_context = &record;
  {
    BufferPool pool(options);
    Buffer b = pool.Get(10);
  }
  EXPECT_EQ(record.calls, 0);
}

TEST(BufferPool, AThreadUsingMorePoolsThanItCachesGetsExactStatisticsFromAll) {
  // A thread keeps caches for 16 pools; the 17th and later go through the
  // shared free lists, with the same results.
  std::vector<std::unique_ptr<BufferPool>> pools;
  for (int i = 0; i < 20; ++i) pools.push_back(std::make_unique<BufferPool>());
  for (int round = 0; round < 3; ++round) {
    for (auto& pool : pools) {
      Buffer a = pool->Get(100);
      Buffer b = pool->Get(5000);
      ASSERT_TRUE(a && b);
    }
  }
  for (auto& pool : pools) {
    const PoolStats s = pool->Stats();
    EXPECT_EQ(s.tiers[0].gets, 3u);
    EXPECT_EQ(s.tiers[0].misses, 1u);
    EXPECT_EQ(s.tiers[1].hits, 2u);
    EXPECT_EQ(s.total_outstanding(), 0u);
  }
}

TEST(BufferPool, ManyPoolsOneAfterAnotherInOneThreadKeepReusingBuffers) {
  // Far more pools than a thread keeps caches for, one after another (the
  // entries of destroyed pools are swept): each still reuses its buffers.
  for (int i = 0; i < 100; ++i) {
    BufferPool pool;
    { Buffer b = pool.Get(64); }
    { Buffer b = pool.Get(64); }
    ASSERT_EQ(pool.Stats().tiers[0].hits, 1u) << "pool " << i;
  }
}

TEST(PoolStats, PrintsEveryFieldOfEveryTier) {
  BufferPool pool(SharedOnlyOptions("printed"));
  Buffer b = pool.Get(3000);
  const std::string text = ToString(pool.Stats());
  EXPECT_EQ(text.rfind("pool 'printed'\n", 0), 0u) << text;
  EXPECT_NE(text.find("tier 1: capacity=8192 gets=1 hits=0 misses=1 returns=0 drops=0 "
                      "outstanding=1 peak_outstanding=1 retained_blocks=0 retained_bytes=0 "
                      "quarantined=0 poison_violations=0\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("oversize: capacity=0 gets=0"), std::string::npos) << text;
}

}  // namespace
}  // namespace reflex::pool
