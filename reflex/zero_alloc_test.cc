// After warm-up, sealing, opening and stream-decoding frames of up to 16 KiB
// make no heap allocation at all, with either AEAD backend: counted by
// interposing the allocator of this whole process (//base:alloc_counter).
#include <gtest/gtest.h>

#include <vector>

#include "pool/buffer_pool.h"
#include "reflex/aead.h"
#include "reflex/frame_decoder.h"
#include "reflex/frame_opener.h"
#include "reflex/testing/codec_test_util.h"
#include "reflex/frame_sealer.h"
#include "reflex/handshake_pool.h"
#include "reflex/hello.h"
#include "reflex/pooled_frames.h"
#include "reflex/testing/session_test_util.h"
#include "base/alloc_counter.h"

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
  FrameSealer sealer_{key_, v1()};
  FrameOpener opener_{key_, v1()};
  FrameSealer sealer2_{key_, v1()};
  FrameDecoder decoder_{key_, pool_, v1()};
  FrameSealer sealer3_{key_, v2()};
  FrameOpener opener3_{key_, v2()};
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

// The OpenSSL backend takes messages of kOpensslFromBytes or more to
// OpenSSL, whose context it makes at the first such message: a key that
// only ever protects smaller ones (an idle tunnel's) costs no allocation.
TEST(ZeroAllocationOpenssl, TheContextIsMadeAtTheFirstMessageThatNeedsIt) {
  if (!testing::AllocationCountsAreExact()) GTEST_SKIP() << "inexact under TSan";
  const SessionKey key = TestKey(5);
  std::vector<uint8_t> data(kOpensslFromBytes, 7);
  uint8_t nonce[kAeadNonceBytes] = {};
  uint8_t tag[kTagBytes];
  Aead aead;
  {
    AllocationScope scope;
    ASSERT_EQ(aead.Init(AeadBackend::kOpenssl, AeadDirection::kSeal, key.span()), Error::kOk);
    for (size_t n = 0; n < kOpensslFromBytes; ++n) {
      ASSERT_EQ(aead.Seal(nonce, {}, std::span<uint8_t>(data).first(n), tag), Error::kOk);
    }
    EXPECT_EQ(scope.count(), 0u) << "nothing for messages below the threshold";
  }
  {
    AllocationScope scope;
    ASSERT_EQ(aead.Seal(nonce, {}, data, tag), Error::kOk);
    EXPECT_GT(scope.count(), 0u) << "the context, at the first message that needs it";
  }
  AllocationScope scope;
  for (int i = 0; i < 10; ++i) ASSERT_EQ(aead.Seal(nonce, {}, data, tag), Error::kOk);
  EXPECT_EQ(scope.count(), 0u) << "and never again";
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

// Whole sessions: after the handshake (which makes the cipher contexts), a
// client and a server exchange frames both ways, shaped and not, with no
// allocation at all.
TEST_P(ZeroAllocation, WholeSessionsAfterTheHandshakeInBothProfiles) {
  for (Profile profile : {Profile::kV2, Profile::kV1Compat}) {
    ServerConfig config;
    config.profiles = {profile};
    config.users = {testing::TestUser(1)};
    config.backend = backend();
    std::unique_ptr<ServerContext> context;
    ASSERT_EQ(ServerContext::Create(config, &context), Error::kOk);
    testing::FakeClock clock;
    testing::SeededRandom random(3);
    ServerSession server(*context, clock, random);
    ClientSession client({profile, testing::TestUser(1), backend(), {}}, clock, random);
    ASSERT_EQ(client.Start(), Error::kOk);
    std::vector<uint8_t> buffer(kMaxFrameBytes + kMaxMorphSlotBytes);
    auto deliver = [&](auto& to, std::span<const uint8_t> bytes, SessionEventKind expected) {
      std::copy(bytes.begin(), bytes.end(), buffer.begin());
      size_t at = 0;
      bool seen = false;
      while (at < bytes.size()) {
        size_t used = 0;
        SessionEvent e;
        ASSERT_EQ(to.Receive(std::span<uint8_t>(buffer).subspan(at, bytes.size() - at), &used, &e),
                  Error::kOk);
        seen |= e.kind == expected;
        if (used == 0) break;
        at += used;
      }
      ASSERT_TRUE(seen) << SessionEventName(expected);
    };
    const auto hello = client.PendingOutput();
    std::vector<uint8_t> hello_copy(hello.begin(), hello.end());
    deliver(server, hello_copy, SessionEventKind::kHandshakeDone);
    const auto reply = server.PendingOutput();
    std::vector<uint8_t> reply_copy(reply.begin(), reply.end());
    deliver(client, reply_copy, SessionEventKind::kHandshakeDone);
    std::vector<uint8_t> out(kMaxFrameBytes + kMaxMorphSlotBytes);
    size_t n = 0;
    RequestHeader request;
    request.address_type = AddressType::kIpv4;
    request.address_length = 4;
    ASSERT_EQ(client.SealRequest(request, payloads_[64], out, &n), Error::kOk);
    deliver(server, {out.data(), n}, SessionEventKind::kRequest);
    Shaper shaper(kMorphYoutube, random);
    auto round = [&] {
      for (size_t size : sizes_) {
        if (size == 0) continue;
        ASSERT_EQ(client.Seal(FrameType::kData, payloads_[size], out, &n), Error::kOk);
        deliver(server, {out.data(), n}, SessionEventKind::kData);
        ASSERT_EQ(server.Seal(FrameType::kData, payloads_[size], out, &n), Error::kOk);
        deliver(client, {out.data(), n}, SessionEventKind::kData);
        ShapedOutput slot;
        ASSERT_EQ(client.SealShaped(shaper, payloads_[size], out, &slot), Error::kOk);
        deliver(server, {out.data(), slot.wire_bytes}, SessionEventKind::kData);
      }
    };
    round();  // warm-up
    AllocationScope scope;
    for (int i = 0; i < 10; ++i) round();
    EXPECT_EQ(scope.count(), 0u) << ProfileName(profile);
  }
}

}  // namespace
}  // namespace reflex
