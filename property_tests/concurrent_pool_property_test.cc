// Property 1: codec == reference model under concurrent get/put. Each of 2..8
// threads runs its own generated schedule against one shared pool: frames
// of every type and of sizes 0..16384 sealed with a per-thread key, hellos
// encoded and decoded, raw buffers of every tier and the oversize path, some
// held across operations. Every pooled output must equal the reference
// model's; after the join the pool's statistics must balance exactly.
//
// RapidCheck generators are not thread-safe: the whole schedule is generated
// on the test's thread, the workers only run it, and every assertion is made
// on the test's thread after the join.
#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include <array>
#include <atomic>
#include <thread>
#include <vector>

#include "pool/buffer_pool.h"
#include "pool/poison.h"
#include "reflex/frame_sealer.h"
#include "reflex/hello.h"
#include "reflex/handshake_pool.h"
#include "reflex/pooled_frames.h"
#include "reflex/reference_model.h"

namespace reflex {
namespace {

using Bytes = std::vector<uint8_t>;

struct Op {
  enum Kind { kSeal, kHello, kGetBuffer, kReleaseHeld } kind = kSeal;
  FrameType type = FrameType::kData;
  Bytes payload;        // kSeal
  ClientHello hello;    // kHello
  size_t size = 0;      // kGetBuffer
  bool hold = false;    // kGetBuffer: keep it until kReleaseHeld
};

rc::Gen<Op> GenOp() {
  return rc::gen::exec([] {
    Op op;
    op.kind = static_cast<Op::Kind>(*rc::gen::inRange(0, 4));
    switch (op.kind) {
      case Op::kSeal:
        op.type = *rc::gen::element(FrameType::kData, FrameType::kPadding, FrameType::kTiming,
                                    FrameType::kClose);
        op.payload = *rc::gen::oneOf(
            rc::gen::container<Bytes>(rc::gen::arbitrary<uint8_t>()),
            rc::gen::container<Bytes>(*rc::gen::inRange<size_t>(0, 16385),
                                      rc::gen::just<uint8_t>(0x5A)));
        break;
      case Op::kHello:
        op.hello.public_key = *rc::gen::arbitrary<std::array<uint8_t, 32>>();
        op.hello.timestamp = *rc::gen::arbitrary<int64_t>();
        break;
      case Op::kGetBuffer:
        op.size = *rc::gen::oneOf(
            rc::gen::element<size_t>(0, 2048, 2049, 8192, 8193, 32768, 32769, 131072, 131073),
            rc::gen::inRange<size_t>(0, 140000));
        op.hold = *rc::gen::arbitrary<bool>();
        break;
      case Op::kReleaseHeld:
        break;
    }
    return op;
  });
}

struct ThreadResult {
  int mismatches = 0;
  std::vector<const uint8_t*> returned;  // first bytes of buffers given back
};

void RunSchedule(const std::vector<Op>& ops, uint8_t key_seed, pool::BufferPool& buffers,
                 HandshakePool& hellos, ThreadResult* result) {
  SessionKey key;
  for (size_t i = 0; i < key.size(); ++i) key.data()[i] = static_cast<uint8_t>(key_seed + i);
  const Bytes key_bytes(key.data(), key.data() + key.size());
  // Threads alternate backends: both share the one pool.
  FrameSealer sealer(key, {kWireProfileV1, kAllAeadBackends[key_seed % 2]});
  std::vector<pool::Buffer> held;
  auto give_back = [&](pool::Buffer& b) {
    if (b && !b.is_oversize()) result->returned.push_back(b.data());
    b.Reset();
  };
  for (const Op& op : ops) {
    switch (op.kind) {
      case Op::kSeal: {
        const uint64_t counter = sealer.next_counter();
        pool::Buffer wire;
        Bytes expected;
        const Error e = SealToBuffer(sealer, buffers, op.type, op.payload, &wire);
        const Error e2 = reference::SealFrame(key_bytes, counter, static_cast<uint8_t>(op.type),
                                              op.payload, &expected, Profile::kV1Compat);
        if (e != e2 || Bytes(wire.data(), wire.data() + wire.size()) != expected) {
          ++result->mismatches;
        }
        give_back(wire);
        break;
      }
      case Op::kHello: {
        pool::Buffer b;
        ClientHello back;
        if (EncodeClientHello(op.hello, hellos, &b) != Error::kOk ||
            Bytes(b.data(), b.data() + b.size()) != reference::EncodeClientHello(op.hello) ||
            DecodeClientHello(b.span(), &back) != Error::kOk || !(back == op.hello)) {
          ++result->mismatches;
        }
        give_back(b);
        break;
      }
      case Op::kGetBuffer: {
        pool::Buffer b = buffers.Get(op.size);
        if (!b || b.size() != op.size) ++result->mismatches;
        if (op.size > 0) std::fill(b.data(), b.data() + b.size(), key_seed);
        if (op.hold) {
          held.push_back(std::move(b));
        } else {
          give_back(b);
        }
        break;
      }
      case Op::kReleaseHeld:
        for (pool::Buffer& b : held) {
          // Another thread writing into a buffer we hold would show here.
          for (size_t i = 0; i < b.size(); ++i) {
            if (b.data()[i] != key_seed) {
              ++result->mismatches;
              break;
            }
          }
          give_back(b);
        }
        held.clear();
        break;
    }
  }
  for (pool::Buffer& b : held) give_back(b);
}

void ExpectBalanced(const pool::PoolStats& s) {
  RC_ASSERT(s.total_outstanding() == 0u);
  for (size_t t = 0; t < s.tier_count; ++t) {
    const pool::TierStats& tier = s.tiers[t];
    RC_ASSERT(tier.gets == tier.returns);
    RC_ASSERT(tier.gets == tier.hits + tier.misses);
    RC_ASSERT(tier.retained_bytes == tier.retained_blocks * tier.capacity);
    RC_ASSERT(tier.poison_violations == 0u);
  }
  RC_ASSERT(s.oversize.gets == s.oversize.returns);
}

RC_GTEST_PROP(ConcurrentPool, PooledEqualsUnpooledAndStatisticsBalance, ()) {
  const auto threads = *rc::gen::inRange<size_t>(2, 9);
  std::vector<std::vector<Op>> schedules;
  for (size_t t = 0; t < threads; ++t) {
    schedules.push_back(*rc::gen::resize(24, rc::gen::container<std::vector<Op>>(GenOp())));
  }

  pool::BufferPool buffers;
  HandshakePool hellos;
  std::vector<ThreadResult> results(threads);
  std::vector<std::thread> workers;
  for (size_t t = 0; t < threads; ++t) {
    workers.emplace_back(RunSchedule, std::cref(schedules[t]), static_cast<uint8_t>(t * 37 + 1),
                         std::ref(buffers), std::ref(hellos), &results[t]);
  }
  for (std::thread& w : workers) w.join();

  for (const ThreadResult& r : results) RC_ASSERT(r.mismatches == 0);
  ExpectBalanced(buffers.Stats());
  ExpectBalanced(hellos.Stats());
  // Every pointer kept from a returned buffer is poisoned now (ASan only;
  // a block since freed is poisoned by ASan itself).
  if (pool::kAsanEnabled) {
    for (const ThreadResult& r : results) {
      for (const uint8_t* p : r.returned) RC_ASSERT(pool::IsPoisoned(p));
    }
  }
}

}  // namespace
}  // namespace reflex
