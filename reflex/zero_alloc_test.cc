// After warm-up, sealing, opening and stream-decoding frames of up to 16 KiB
// make no heap allocation at all, with either AEAD backend: counted by
// interposing the allocator of this whole process (tools/testing/alloc_counter).
#include <gtest/gtest.h>

#include <vector>

#include "pool/buffer_pool.h"
#include "reflex/frame_decoder.h"
#include "reflex/frame_opener.h"
#include "reflex/codec_test_util.h"
#include "reflex/frame_sealer.h"
#include "reflex/handshake_pool.h"
#include "reflex/hello.h"
#include "reflex/pooled_frames.h"
#include "tools/testing/alloc_counter.h"

namespace reflex {
namespace {

using testing::AllocationScope;

// Once per AEAD backend: OpenSSL's contexts are made when a sealer or
// opener is keyed, never per frame.
class ZeroAllocation : public BackendTest {
 protected:
  void SetUp() override {
    if (!testing::AllocationCountsAreExact()) GTEST_SKIP() << "inexact under TSan";
  }

  // One round of traffic: every payload size sealed, opened in place, and
  // stream-decoded both whole and in 1000-byte chunks.
  void Round() {
    for (size_t size : sizes_) {
      pool::Buffer a, b;
      ASSERT_EQ(SealToBuffer(sealer_, pool_, FrameType::kData, payloads_[size], &a), Error::kOk);
      ASSERT_EQ(SealToBuffer(sealer_, pool_, FrameType::kPadding, payloads_[size], &b),
                Error::kOk);
      OpenedFrame opened;
      ASSERT_EQ(opener_.OpenInPlace(a.span(), &opened), Error::kOk);
      ASSERT_EQ(opened.payload.size(), size);
      ASSERT_EQ(opener_.OpenInPlace(b.span(), &opened), Error::kOk);
      ASSERT_EQ(sealer2_.SealInto(FrameType::kData, payloads_[size], scratch_, &written_),
                Error::kOk);
      Decode({scratch_.data(), written_}, written_);
      ASSERT_EQ(sealer2_.SealInto(FrameType::kTiming, payloads_[size], scratch_, &written_),
                Error::kOk);
      Decode({scratch_.data(), written_}, 1000);
      // The zero-copy path: opened where it lies in a receive buffer.
      ASSERT_EQ(sealer3_.SealInto(FrameType::kData, payloads_[size], scratch_, &written_),
                Error::kOk);
      size_t consumed = 0;
      ASSERT_EQ(opener3_.OpenNext({scratch_.data(), written_}, &consumed, &opened), Error::kOk);
      ASSERT_EQ(consumed, written_);
    }
  }

  void Decode(std::span<const uint8_t> in, size_t chunk) {
    while (!in.empty()) {
      const auto piece = in.first(std::min(chunk, in.size()));
      size_t used = 0;
      DecodedFrame f;
      ASSERT_EQ(decoder_.Decode(piece, &used, &f), Error::kOk);
      in = in.subspan(used);
      if (f) frames_ += 1;
    }
  }

  pool::BufferPool pool_;
  SessionKey key_ = TestKey(3);
  FrameSealer sealer_{key_, kFirstFrameCounter, v1()};
  FrameOpener opener_{key_, kFirstFrameCounter, v1()};
  FrameSealer sealer2_{key_, kFirstFrameCounter, v1()};
  FrameDecoder decoder_{key_, pool_, kFirstFrameCounter, v1()};
  FrameSealer sealer3_{key_, 0, noise()};
  FrameOpener opener3_{key_, 0, noise()};
  std::vector<size_t> sizes_ = {0, 1, 64, 1400, 4096, 8192, 16384};
  std::vector<std::vector<uint8_t>> payloads_ = [this] {
    std::vector<std::vector<uint8_t>> p(16385);
    for (size_t s : sizes_) p[s] = TestPayload(s);
    return p;
  }();
  std::vector<uint8_t> scratch_ = std::vector<uint8_t>(kMaxFrameBytes);
  size_t written_ = 0;
  size_t frames_ = 0;
};
INSTANTIATE_TEST_SUITE_P(Backends, ZeroAllocation, AllBackends(), BackendName);

TEST_P(ZeroAllocation, TheCounterSeesAllocationsInThisBinary) {
  AllocationScope scope;
  std::vector<int> v(10);
  EXPECT_GE(scope.count(), 1u);
}

TEST_P(ZeroAllocation, SealOpenAndStreamDecodeAfterWarmUp) {
  Round();  // warm-up: pool tiers and this thread's cache fill
  const size_t frames_before = frames_;
  AllocationScope scope;
  for (int i = 0; i < 20; ++i) Round();
  EXPECT_EQ(scope.count(), 0u);
  EXPECT_EQ(frames_ - frames_before, 20 * 2 * sizes_.size());
}

TEST_P(ZeroAllocation, HelloEncodeDecodeIntoPooledBuffers) {
  HandshakePool hellos;
  ClientHello hello;
  hello.timestamp = 1;
  pool::Buffer warm;
  ASSERT_EQ(EncodeClientHello(hello, hellos, &warm), Error::kOk);
  warm.Reset();
  AllocationScope scope;
  for (int i = 0; i < 100; ++i) {
    pool::Buffer b;
    ASSERT_EQ(EncodeClientHello(hello, hellos, &b), Error::kOk);
    ClientHello back;
    ASSERT_EQ(DecodeClientHello(b.span(), &back), Error::kOk);
  }
  EXPECT_EQ(scope.count(), 0u);
}

}  // namespace
}  // namespace reflex
