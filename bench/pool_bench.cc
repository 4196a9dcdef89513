// Pool benchmarks, each against a baseline measured in the same run:
// malloc/free (plus memset where the pool wipes), new/delete for objects.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "bench/ratio_reporter.h"
#include "pool/buffer_pool.h"
#include "pool/object_pool.h"
#include "pool/slot_pool.h"

namespace reflex::bench {
namespace {

using pool::Buffer;
using pool::BufferPool;
using pool::PoolOptions;

PoolOptions Options(bool wipe, bool checked) {
  PoolOptions options;
  options.name = "bench";
  options.wipe_on_return = wipe;
  options.checked = checked;
  return options;
}

// One pool per configuration, shared by the threads of a multi-threaded run.
BufferPool& UnwipedPool() {
  static BufferPool pool(Options(false, false));
  return pool;
}
BufferPool& WipedPool() {
  static BufferPool pool(Options(true, false));
  return pool;
}
BufferPool& CheckedPool() {
  static BufferPool pool(Options(true, true));
  return pool;
}

void BM_MallocFree(benchmark::State& state) {
  const auto size = static_cast<size_t>(state.range(0));
  for (auto _ : state) {
    void* p = std::malloc(size);
    benchmark::DoNotOptimize(p);
    std::free(p);
  }
}

void BM_MallocMemsetFree(benchmark::State& state) {
  const auto size = static_cast<size_t>(state.range(0));
  for (auto _ : state) {
    void* p = std::malloc(size);
    benchmark::DoNotOptimize(p);
    std::memset(p, 0, size);
    benchmark::ClobberMemory();
    std::free(p);
  }
}

void RunPool(benchmark::State& state, BufferPool& pool) {
  const auto size = static_cast<size_t>(state.range(0));
  for (auto _ : state) {
    Buffer b = pool.Get(size);
    benchmark::DoNotOptimize(b.data());
  }
}

void BM_PoolGetReturn(benchmark::State& state) { RunPool(state, UnwipedPool()); }
void BM_PoolGetReturnWiped(benchmark::State& state) {
  RunPool(state, WipedPool());
}
void BM_PoolGetReturnChecked(benchmark::State& state) {
  RunPool(state, CheckedPool());
}

#define TIER_ARGS Arg(2048)->Arg(8192)->Arg(32768)->Arg(131072)
BENCHMARK(BM_MallocFree)->TIER_ARGS;
BENCHMARK(BM_PoolGetReturn)->TIER_ARGS;
BENCHMARK(BM_MallocMemsetFree)->TIER_ARGS;
BENCHMARK(BM_PoolGetReturnWiped)->TIER_ARGS;
BENCHMARK(BM_PoolGetReturnChecked)->TIER_ARGS;
BENCHMARK(BM_MallocFree)->Arg(2048)->Threads(2);
BENCHMARK(BM_PoolGetReturn)->Arg(2048)->Threads(2);
BENCHMARK(BM_MallocFree)->Arg(131072)->Threads(2);
BENCHMARK(BM_PoolGetReturn)->Arg(131072)->Threads(2);

// The frame struct the codec pools (cf. the Go seed's GetFrame/PutFrame).
struct Frame {
  uint8_t type = 0;
  uint64_t counter = 0;
  const uint8_t* payload = nullptr;
  size_t payload_size = 0;
  void Reset() {
    type = 0;
    counter = 0;
    payload = nullptr;
    payload_size = 0;
  }
};

void BM_NewDelete(benchmark::State& state) {
  for (auto _ : state) {
    auto* f = new Frame();
    benchmark::DoNotOptimize(f);
    delete f;
  }
}

pool::ObjectPool<Frame>& Frames() {
  static pool::ObjectPool<Frame> frames(Options(false, false));
  return frames;
}

void BM_ObjectGetReturn(benchmark::State& state) {
  auto& frames = Frames();
  for (auto _ : state) {
    auto f = frames.Get();
    benchmark::DoNotOptimize(f.get());
  }
}
BENCHMARK(BM_NewDelete);
BENCHMARK(BM_ObjectGetReturn);
BENCHMARK(BM_NewDelete)->Threads(2);
BENCHMARK(BM_ObjectGetReturn)->Threads(2);

// Two slot sizes, as reflex/'s handshake pool configures them (76-byte
// client hellos, 40-byte v1 server hellos), with its thread-cache options.
pool::SlotPool& Slots() {
  static const size_t sizes[] = {76, 40};
  static pool::SlotPool slots = [] {
    PoolOptions options;
    options.name = "slots";
    options.checked = false;
    options.thread_cache_bytes = 64 * 1024;
    options.thread_cache_max_blocks = 64;
    return pool::SlotPool(sizes, options);
  }();
  return slots;
}

void BM_SlotGetReturn(benchmark::State& state) {
  auto& slots = Slots();
  const auto size = static_cast<size_t>(state.range(0));
  const size_t cls = size == 76 ? 0 : 1;
  for (auto _ : state) {
    Buffer b = slots.Get(cls, size);
    benchmark::DoNotOptimize(b.data());
  }
}
// Slot buffers are wiped on return (hellos hold nonces and keys' public
// halves): the baseline wipes too.
BENCHMARK(BM_MallocMemsetFree)->Arg(76)->Arg(40);
BENCHMARK(BM_SlotGetReturn)->Arg(76)->Arg(40);

const bool kRatios = [] {
  RegisterRatio("BM_MallocFree", "BM_PoolGetReturn",
                "buffer get+return, wipe off, vs malloc+free");
  RegisterRatio("BM_MallocMemsetFree", "BM_PoolGetReturnWiped",
                "buffer get+return, wipe on, vs malloc+memset+free");
  RegisterRatio("BM_PoolGetReturnWiped", "BM_PoolGetReturnChecked",
                "checked mode (pattern verified on hand-out) vs unchecked");
  RegisterRatio("BM_NewDelete", "BM_ObjectGetReturn",
                "object get+return vs new+delete");
  RegisterRatio("BM_MallocMemsetFree", "BM_SlotGetReturn",
                "slot (hello-sized) buffer get+return vs malloc+memset+free");
  return true;
}();

}  // namespace
}  // namespace reflex::bench

int main(int argc, char** argv) {
  return reflex::bench::RunWithRatios(argc, argv);
}
