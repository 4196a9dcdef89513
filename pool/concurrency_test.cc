// Many threads sharing one pool: nothing is lost, nothing is handed out
// twice, and the statistics balance exactly once every thread has joined.
#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <mutex>
#include <random>
#include <thread>
#include <vector>

#include "pool/buffer_pool.h"
#include "pool/object_pool.h"
#include "pool/pool_test_util.h"
#include "pool/slot_pool.h"

namespace reflex::pool {
namespace {

constexpr size_t kSizes[] = {1, 2048, 2049, 8192, 30000, 131072, 131073};

// Checks the buffer still holds what its owner wrote: two owners of one
// buffer at once would overwrite each other's stamp.
void Stamp(Buffer& b, uint8_t value) { std::memset(b.data(), value, b.size()); }
bool StampIntact(const Buffer& b, uint8_t value) {
  for (size_t i = 0; i < b.size(); ++i) {
    if (b.data()[i] != value) return false;
  }
  return true;
}

void ExpectBalanced(const PoolStats& s, uint64_t expected_gets) {
  uint64_t gets = s.oversize.gets;
  for (size_t t = 0; t < s.tier_count; ++t) {
    const TierStats& tier = s.tiers[t];
    EXPECT_EQ(tier.outstanding, 0u) << "tier " << t;
    EXPECT_EQ(tier.gets, tier.returns) << "tier " << t;
    EXPECT_EQ(tier.gets, tier.hits + tier.misses) << "tier " << t;
    EXPECT_EQ(tier.retained_bytes, tier.retained_blocks * tier.capacity);
    EXPECT_EQ(tier.poison_violations, 0u);
    gets += tier.gets;
  }
  EXPECT_EQ(s.oversize.gets, s.oversize.returns);
  EXPECT_EQ(gets, expected_gets);
}

// One worker's traffic: `cycles` gets of random tiers, each buffer stamped
// with the worker's id and checked when it is returned (at most four held);
// a stamp found changed counts in `corrupted`. `each_cycle(i)` runs after
// cycle i.
template <class EachCycle = void (*)(int)>
void StampedCycles(BufferPool& pool, int worker, int cycles, std::atomic<int>& corrupted,
                   EachCycle each_cycle = [](int) {}) {
  const auto stamp = static_cast<uint8_t>(worker);
  std::mt19937 rng(worker);
  std::vector<Buffer> held;
  for (int i = 0; i < cycles; ++i) {
    Buffer b = pool.Get(kSizes[rng() % std::size(kSizes)]);
    Stamp(b, stamp);
    held.push_back(std::move(b));
    if (held.size() > 3 || rng() % 2 == 0) {
      if (!StampIntact(held.front(), stamp)) ++corrupted;
      held.erase(held.begin());
    }
    each_cycle(i);
  }
  for (Buffer& b : held) {
    if (!StampIntact(b, stamp)) ++corrupted;
  }
}

TEST(PoolConcurrency, HundredTwentyEightThreadsGetAndReturn) {
  constexpr int kThreads = 128;
  constexpr int kCyclesPerThread = 400;
  BufferPool pool;
  std::atomic<int> corrupted{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&pool, &corrupted, t] { StampedCycles(pool, t, kCyclesPerThread, corrupted); });
  }
  for (std::thread& th : threads) th.join();
  EXPECT_EQ(corrupted.load(), 0);
  ExpectBalanced(pool.Stats(), uint64_t{kThreads} * kCyclesPerThread);
  EXPECT_LE(pool.Stats().total_retained_bytes(),
            PoolOptions{}.max_retained_bytes);
}

// The decay as the proxy runs it: every worker decays its own cache now and
// then while one thread decays the shared lists, all during gets and
// returns. Nothing held is touched, the counters stay balanced, and once
// the workers stop two more decays leave nothing retained.
TEST(PoolConcurrency, DecayRunsBesideGetsAndReturnsOnEveryThread) {
  constexpr int kThreads = 16;
  constexpr int kCyclesPerThread = 2000;
  BufferPool pool;
  std::atomic<int> corrupted{0};
  std::atomic<bool> done{false};
  std::thread decayer([&pool, &done] {
    while (!done.load()) (void)pool.DecaySharedLists();
  });
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&pool, &corrupted, t] {
      StampedCycles(pool, t, kCyclesPerThread, corrupted, [&pool](int i) {
        if (i % 64 == 0) (void)pool.DecayThreadCache();
      });
      (void)pool.DecayThreadCache();  // this period's gets
      (void)pool.DecayThreadCache();  // none since: the cache goes
    });
  }
  for (std::thread& th : threads) th.join();
  done.store(true);
  decayer.join();
  EXPECT_EQ(corrupted.load(), 0);
  ExpectBalanced(pool.Stats(), uint64_t{kThreads} * kCyclesPerThread);
  (void)pool.DecaySharedLists();
  (void)pool.DecaySharedLists();
  EXPECT_EQ(pool.Stats().total_retained_bytes(), 0u);
}

// A work queue that moves buffers between threads, so buffers are returned
// on threads other than the one that took them.
class Handoff {
 public:
  void Push(Buffer b, uint8_t stamp) {
    std::lock_guard<std::mutex> lock(mu_);
    items_.push_back({std::move(b), stamp});
    cv_.notify_one();
  }
  bool Pop(Buffer* b, uint8_t* stamp) {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [this] { return !items_.empty() || closed_; });
    if (items_.empty()) return false;
    *b = std::move(items_.front().buffer);
    *stamp = items_.front().stamp;
    items_.pop_front();
    return true;
  }
  void Close() {
    std::lock_guard<std::mutex> lock(mu_);
    closed_ = true;
    cv_.notify_all();
  }

 private:
  struct Item {
    Buffer buffer;
    uint8_t stamp;
  };
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Item> items_;
  bool closed_ = false;
};

TEST(PoolConcurrency, FiftyWorkersMixAllTiersAndReturnAcrossThreads) {
  constexpr int kProducers = 25;
  constexpr int kConsumers = 25;
  constexpr int kItemsPerProducer = 600;
  PoolOptions options;
  options.name = "stress";
  options.max_retained_bytes = 8 << 20;  // small cap: drops happen too
  BufferPool buffers(options);
  const size_t slot_sizes[] = {76, 40};
  SlotPool slots(slot_sizes, PoolOptions{});
  ObjectPool<std::vector<uint8_t>> objects;
  Handoff queue;
  std::atomic<int> corrupted{0};
  std::atomic<int> consumed{0};

  std::vector<std::thread> consumers;
  for (int c = 0; c < kConsumers; ++c) {
    consumers.emplace_back([&] {
      Buffer b;
      uint8_t stamp;
      while (queue.Pop(&b, &stamp)) {
        if (!StampIntact(b, stamp)) ++corrupted;
        b.Reset();
        ++consumed;
      }
    });
  }
  std::vector<std::thread> producers;
  for (int p = 0; p < kProducers; ++p) {
    producers.emplace_back([&, p] {
      std::mt19937 rng(1000 + p);
      for (int i = 0; i < kItemsPerProducer; ++i) {
        const auto stamp = static_cast<uint8_t>(rng());
        Buffer b = buffers.Get(kSizes[rng() % std::size(kSizes)]);
        Stamp(b, stamp);
        Buffer slot = (i % 2) ? slots.Get(0, 76) : slots.Get(1, 40);
        Stamp(slot, stamp);
        auto object = objects.Get();
        object->assign(i % 64, stamp);
        if (!StampIntact(slot, stamp)) ++corrupted;
        queue.Push(std::move(b), stamp);
      }
    });
  }
  for (std::thread& th : producers) th.join();
  queue.Close();
  for (std::thread& th : consumers) th.join();

  EXPECT_EQ(corrupted.load(), 0);
  EXPECT_EQ(consumed.load(), kProducers * kItemsPerProducer);
  ExpectBalanced(buffers.Stats(), uint64_t{kProducers} * kItemsPerProducer);
  ExpectBalanced(slots.Stats(), uint64_t{kProducers} * kItemsPerProducer);
  ExpectBalanced(objects.Stats(), uint64_t{kProducers} * kItemsPerProducer);
  EXPECT_LE(buffers.Stats().total_retained_bytes(), options.max_retained_bytes);
}

TEST(PoolConcurrency, TrimFromAnotherThreadEmptiesLiveCachesAtTheirNextUse) {
  BufferPool pool;
  std::mutex mu;
  std::condition_variable cv;
  int step = 0;
  auto wait_for = [&](int s) {
    std::unique_lock<std::mutex> lock(mu);
    cv.wait(lock, [&] { return step >= s; });
  };
  auto advance = [&](int s) {
    std::lock_guard<std::mutex> lock(mu);
    step = s;
    cv.notify_all();
  };
  std::thread worker([&] {
    { Buffer b = pool.Get(100); }  // leaves one block in this thread's cache
    advance(1);
    wait_for(2);
    { Buffer b = pool.Get(100); }  // first use after the trim
    advance(3);
    wait_for(4);
  });
  wait_for(1);
  EXPECT_EQ(pool.Stats().tiers[0].retained_blocks, 1u);
  pool.Trim();
  advance(2);
  wait_for(3);
  // The worker's cache was emptied before its get (a miss), then kept the
  // one block it returned.
  const TierStats t = pool.Stats().tiers[0];
  EXPECT_EQ(t.misses, 2u);
  EXPECT_EQ(t.retained_blocks, 1u);
  advance(4);
  worker.join();
  // On exit the worker's cache went back to the shared list.
  EXPECT_EQ(pool.Stats().tiers[0].retained_blocks, 1u);
  pool.Trim();
  EXPECT_EQ(pool.Stats().tiers[0].retained_blocks, 0u);
}

TEST(PoolConcurrency, LiveSnapshotsAreInternallyConsistentAndNeverWrap) {
  // Workers miss (fresh allocations), hit, return and trim while the main
  // thread takes snapshots: every snapshot must satisfy its documented
  // invariants, and counters must only grow from one snapshot to the next.
  // Long runs of pure misses (everything held, then trimmed) are where a
  // hit count derived from counters read at different times would wrap.
  BufferPool pool;
  std::atomic<bool> stop{false};
  std::vector<std::thread> workers;
  for (int w = 0; w < 3; ++w) {
    workers.emplace_back([&, w] {
      std::mt19937 rng(w);
      std::vector<Buffer> held;
      for (int round = 0; round < 400 && !stop.load(std::memory_order_relaxed); ++round) {
        for (int i = 0; i < 200; ++i) held.push_back(pool.Get(kSizes[rng() % 3]));
        held.clear();
        pool.Trim();
      }
    });
  }
  PoolStats previous = pool.Stats();
  int broken = 0;
  for (int n = 0; n < 3000; ++n) {
    const PoolStats s = pool.Stats();
    for (size_t t = 0; t < s.tier_count; ++t) {
      const TierStats& now = s.tiers[t];
      const TierStats& before = previous.tiers[t];
      const bool consistent =
          now.gets == now.hits + now.misses && now.hits <= now.gets &&
          now.outstanding <= now.gets && now.gets < (uint64_t{1} << 40) &&
          now.returns < (uint64_t{1} << 40) &&
          now.retained_bytes == now.retained_blocks * now.capacity &&
          now.gets >= before.gets && now.hits >= before.hits &&
          now.misses >= before.misses && now.returns >= before.returns;
      if (!consistent && broken++ < 5) {
        ADD_FAILURE() << "tier " << t << ": " << ToString(now) << "\n  after "
                      << ToString(before);
      }
    }
    previous = s;
  }
  stop = true;
  for (std::thread& t : workers) t.join();
  EXPECT_EQ(broken, 0);
  ExpectBalanced(pool.Stats(), [&] {
    uint64_t gets = pool.Stats().oversize.gets;
    for (size_t t = 0; t < kMaxTiers; ++t) gets += pool.Stats().tiers[t].gets;
    return gets;
  }());
}

}  // namespace
}  // namespace reflex::pool
