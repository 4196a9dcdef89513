// A pool destroyed while other threads return its handles (issue: defect 1).
// Thread T warms its cache on the pool, takes handles, and returns them while
// the main thread destroys the pool. Whatever the interleaving: no data race
// (TSan), no use after free (ASan), and every core is deleted in the end,
// by whichever holder leaves last (LiveCoreCount, LeakSanitizer).
#include <gtest/gtest.h>

#include <atomic>
#include <barrier>
#include <memory>
#include <random>
#include <thread>
#include <vector>

#include "pool/buffer_pool.h"
#include "pool/object_pool.h"
#include "pool/pool_core.h"

namespace reflex::pool {
namespace {

void CountLeak(const PoolStats&, void* context) {
  static_cast<std::atomic<int>*>(context)->fetch_add(1);
}

struct Object {
  uint64_t value = 0;
};

// The scenario once per iteration, with `workers` persistent threads. After
// the destruction each worker touches a second pool, the "next touch" that
// retires its cache of the destroyed one; at thread exit the rest retire.
void RunDestroyWhileReturning(int workers, int iterations, bool touch_after) {
  const uint64_t cores_before = detail::LiveCoreCount();
  std::atomic<int> leaks{0};
  std::unique_ptr<BufferPool> buffers;
  std::unique_ptr<ObjectPool<Object>> objects;
  BufferPool other;  // the pool workers touch afterwards
  std::barrier start(workers + 1);
  std::barrier taken(workers + 1);
  std::barrier done(workers + 1);
  auto make_pools = [&] {
    PoolOptions options;
    options.name = "doomed";
    options.on_leak = CountLeak;
    options.on_leak_context = &leaks;
    buffers = std::make_unique<BufferPool>(options);
    objects = std::make_unique<ObjectPool<Object>>(options);
  };
  std::vector<std::thread> threads;
  for (int w = 0; w < workers; ++w) {
    threads.emplace_back([&, w] {
      std::mt19937 rng(w);
      for (int i = 0; i < iterations; ++i) {
        start.arrive_and_wait();
        // Warm this thread's caches, then hold handles of every kind.
        for (int k = 0; k < 4; ++k) {
          Buffer warm = buffers->Get(100 + 3000 * k);
          auto object = objects->Get();
        }
        std::vector<Buffer> held;
        held.push_back(buffers->Get(100));
        held.push_back(buffers->Get(9000));
        held.push_back(buffers->Get(200000));  // oversize
        auto object = objects->Get();
        taken.arrive_and_wait();
        // Racing the destruction: return in a random order.
        std::shuffle(held.begin(), held.end(), rng);
        for (Buffer& b : held) b.Reset();
        object.Reset();
        if (touch_after) Buffer b = other.Get(50);
        done.arrive_and_wait();
      }
    });
  }
  for (int i = 0; i < iterations; ++i) {
    make_pools();
    start.arrive_and_wait();
    taken.arrive_and_wait();
    buffers.reset();
    objects.reset();
    done.arrive_and_wait();
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(detail::LiveCoreCount(), cores_before + 1)  // `other` only
      << "a destroyed pool's core was never deleted";
  EXPECT_LE(leaks.load(), 2 * iterations);
}

TEST(PoolLifetime, APoolDestroyedWhileThreadsReturnItsHandlesIsFreedExactlyOnce) {
  RunDestroyWhileReturning(/*workers=*/3, /*iterations=*/1500, /*touch_after=*/true);
}

TEST(PoolLifetime, CachesOfADestroyedPoolAreRetiredAtThreadExit) {
  RunDestroyWhileReturning(/*workers=*/3, /*iterations=*/300, /*touch_after=*/false);
}

TEST(PoolLifetime, ThreadsThatOutliveAPoolLeaveNoCoreBehind) {
  const uint64_t cores_before = detail::LiveCoreCount();
  auto pool = std::make_unique<BufferPool>();
  std::barrier step(2);
  std::thread worker([&] {
    { Buffer b = pool->Get(5000); }  // leaves a block in this thread's cache
    step.arrive_and_wait();
    step.arrive_and_wait();  // the pool is gone now
    // The next slow-path operation on any pool retires the stale cache.
    BufferPool second;
    Buffer b = second.Get(5000);
    EXPECT_TRUE(b);
    b.Reset();
    EXPECT_EQ(detail::LiveCoreCount(), cores_before + 1) << "only `second` is alive";
  });
  step.arrive_and_wait();
  pool.reset();
  // The worker's cache still holds the first core.
  EXPECT_EQ(detail::LiveCoreCount(), cores_before + 1);
  step.arrive_and_wait();
  worker.join();
  EXPECT_EQ(detail::LiveCoreCount(), cores_before);
}

TEST(PoolLifetime, AHandleReturnedAfterItsPoolIsGoneIsTheLastHolder) {
  const uint64_t cores_before = detail::LiveCoreCount();
  std::atomic<int> leaks{0};
  PoolOptions options;
  options.on_leak = CountLeak;
  options.on_leak_context = &leaks;
  auto pool = std::make_unique<BufferPool>(options);
  Buffer small = pool->Get(10);
  Buffer big = pool->Get(500000);
  pool.reset();
  EXPECT_EQ(leaks.load(), 1);
  EXPECT_EQ(detail::LiveCoreCount(), cores_before + 1);
  small.Reset();
  EXPECT_EQ(detail::LiveCoreCount(), cores_before + 1);
  big.Reset();
  EXPECT_EQ(detail::LiveCoreCount(), cores_before);
}

}  // namespace
}  // namespace reflex::pool
