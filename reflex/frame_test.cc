// FrameSealer and FrameOpener: one frame at a time.
#include <gtest/gtest.h>
#include <sodium.h>

#include <vector>

#include "pool/buffer_pool.h"
#include "reflex/frame_opener.h"
#include "reflex/frame_sealer.h"
#include "reflex/codec_test_util.h"
#include "tools/testing/hex.h"

namespace reflex {
namespace {

using Bytes = std::vector<uint8_t>;
using testing::ToHex;

Bytes ToBytes(const pool::Buffer& b) { return Bytes(b.data(), b.data() + b.size()); }

// The frame as the notes describe it, built here straight from libsodium.
Bytes ExpectedWire(const SessionKey& key, uint64_t counter, uint8_t type,
                   const Bytes& payload) {
  Bytes plaintext = {type};
  plaintext.insert(plaintext.end(), payload.begin(), payload.end());
  uint8_t nonce[12] = {};
  for (int i = 0; i < 8; ++i) nonce[i] = static_cast<uint8_t>(counter >> (8 * i));
  Bytes sealed(plaintext.size() + 16);
  unsigned long long n = 0;
  crypto_aead_chacha20poly1305_ietf_encrypt(sealed.data(), &n, plaintext.data(),
                                            plaintext.size(), nullptr, 0, nullptr,
                                            nonce, key.data());
  Bytes wire = {static_cast<uint8_t>(sealed.size() >> 8),
                static_cast<uint8_t>(sealed.size())};
  wire.insert(wire.end(), sealed.begin(), sealed.end());
  return wire;
}

class FrameTest : public ::testing::Test {
 protected:
  pool::BufferPool pool_;
  SessionKey key_ = TestKey();
};

TEST_F(FrameTest, SealMatchesTheV1WireFormat) {
  FrameSealer sealer(key_, pool_);
  const Bytes payload = {'h', 'e', 'l', 'l', 'o'};
  pool::Buffer wire;
  ASSERT_EQ(sealer.Seal(FrameType::kData, payload, &wire), Error::kOk);
  EXPECT_EQ(wire.size(), 2 + 1 + 5 + 16u);
  EXPECT_EQ(wire.data()[0], 0x00);
  EXPECT_EQ(wire.data()[1], 22);  // sealed bytes = 1 + payload + 16
  EXPECT_EQ(ToHex(wire.span()), ToHex(ExpectedWire(key_, 1, 0x01, payload)));
}

TEST_F(FrameTest, CountersStartAtOneAndAdvanceByOnePerFrame) {
  FrameSealer sealer(key_, pool_);
  for (uint64_t counter = 1; counter <= 5; ++counter) {
    EXPECT_EQ(sealer.next_counter(), counter);
    pool::Buffer wire;
    ASSERT_EQ(sealer.Seal(FrameType::kPadding, TestPayload(counter), &wire), Error::kOk);
    EXPECT_EQ(ToBytes(wire), ExpectedWire(key_, counter, 0x02, TestPayload(counter)));
  }
}

TEST_F(FrameTest, OpenInPlaceInvertsSealForEveryTypeAndSize) {
  const FrameType types[] = {FrameType::kData, FrameType::kPadding,
                             FrameType::kTiming, FrameType::kClose};
  const size_t sizes[] = {0, 1, 15, 16, 17, 1400, 4096, 16383, 16384};
  FrameSealer sealer(key_, pool_);
  FrameOpener opener(key_);
  for (FrameType type : types) {
    for (size_t size : sizes) {
      const Bytes payload = TestPayload(size, static_cast<uint8_t>(type));
      pool::Buffer wire;
      ASSERT_EQ(sealer.Seal(type, payload, &wire), Error::kOk);
      OpenedFrame f;
      ASSERT_EQ(opener.OpenInPlace(wire.span(), &f), Error::kOk);
      EXPECT_EQ(f.type, type);
      EXPECT_EQ(f.counter, sealer.next_counter() - 1);
      EXPECT_EQ(Bytes(f.payload.begin(), f.payload.end()), payload);
    }
  }
}

TEST_F(FrameTest, SealIntoCallerMemoryAndInPlace) {
  FrameSealer a(key_, pool_), b(key_, pool_);
  const Bytes payload = TestPayload(100);
  Bytes out(kFrameOverheadBytes + payload.size());
  size_t written = 0;
  ASSERT_EQ(a.SealInto(FrameType::kData, payload, out, &written), Error::kOk);
  EXPECT_EQ(written, out.size());
  EXPECT_EQ(out, ExpectedWire(key_, 1, 1, payload));
  // The payload already at out[3..]: sealed without a copy, same bytes.
  Bytes in_place(kFrameOverheadBytes + payload.size());
  std::copy(payload.begin(), payload.end(), in_place.begin() + 3);
  ASSERT_EQ(b.SealInto(FrameType::kData, {in_place.data() + 3, payload.size()},
                       in_place, &written),
            Error::kOk);
  EXPECT_EQ(in_place, out);
  Bytes small(kFrameOverheadBytes + payload.size() - 1);
  EXPECT_EQ(a.SealInto(FrameType::kData, payload, small, &written),
            Error::kBufferTooSmall);
  EXPECT_EQ(a.next_counter(), 2u) << "a refused seal uses no counter";
}

TEST_F(FrameTest, ZeroCopySealingFillsThePayloadInPlace) {
  FrameSealer sealer(key_, pool_);
  const Bytes payload = TestPayload(700);
  pool::Buffer frame = sealer.NewFrame(payload.size());
  ASSERT_TRUE(frame);
  ASSERT_EQ(frame.size(), kFrameOverheadBytes + payload.size());
  std::span<uint8_t> slot = FrameSealer::PayloadOf(frame);
  ASSERT_EQ(slot.size(), payload.size());
  std::copy(payload.begin(), payload.end(), slot.begin());
  ASSERT_EQ(sealer.SealFrame(FrameType::kData, frame), Error::kOk);
  EXPECT_EQ(ToBytes(frame), ExpectedWire(key_, 1, 1, payload));
  EXPECT_FALSE(sealer.NewFrame(16385));
  pool::Buffer tiny = pool_.Get(18);
  EXPECT_EQ(sealer.SealFrame(FrameType::kData, tiny), Error::kInvalidArgument);
  EXPECT_EQ(sealer.next_counter(), 2u);
}

TEST_F(FrameTest, SealerRefusesOversizeAndUnknownTypesWithoutUsingACounter) {
  FrameSealer sealer(key_, pool_);
  pool::Buffer wire;
  EXPECT_EQ(sealer.Seal(FrameType::kData, TestPayload(16385), &wire),
            Error::kFrameTooLarge);
  EXPECT_EQ(sealer.Seal(static_cast<FrameType>(0), {}, &wire), Error::kInvalidArgument);
  EXPECT_EQ(sealer.Seal(static_cast<FrameType>(5), {}, &wire), Error::kInvalidArgument);
  EXPECT_FALSE(wire);
  EXPECT_EQ(sealer.next_counter(), 1u);
}

TEST_F(FrameTest, TheCounterNeverWraps) {
  FrameSealer sealer(key_, pool_, UINT64_MAX - 1);
  FrameOpener opener(key_, UINT64_MAX - 1);
  for (uint64_t expected : {UINT64_MAX - 1, UINT64_MAX}) {
    pool::Buffer wire;
    ASSERT_EQ(sealer.Seal(FrameType::kData, TestPayload(3), &wire), Error::kOk);
    EXPECT_EQ(ToBytes(wire), ExpectedWire(key_, expected, 1, TestPayload(3)));
    OpenedFrame f;
    ASSERT_EQ(opener.OpenInPlace(wire.span(), &f), Error::kOk);
    EXPECT_EQ(f.counter, expected);
  }
  EXPECT_TRUE(sealer.exhausted());
  pool::Buffer wire;
  EXPECT_EQ(sealer.Seal(FrameType::kData, {}, &wire), Error::kCounterExhausted);
  EXPECT_FALSE(wire);
  // A frame sealed at counter 0 (what a wrap would reuse) is not accepted.
  Bytes wrapped = ExpectedWire(key_, 0, 1, {});
  OpenedFrame f;
  EXPECT_EQ(opener.OpenInPlace(wrapped, &f), Error::kCounterExhausted);
}

TEST_F(FrameTest, OpenerChecksTheLengthFieldBeforeAnythingElse) {
  struct Case {
    Bytes wire;
    Error error;
  };
  const Case cases[] = {
      {{}, Error::kTooShort},
      {{0x00}, Error::kTooShort},
      {{0x00, 0x0F}, Error::kBadLength},         // 15 cannot hold a tag
      {{0x40, 0x12}, Error::kFrameTooLarge},     // 16402 = payload 16385
      {{0xFF, 0xFE}, Error::kFrameTooLarge},     // the Go decoder panics here
      {{0xFF, 0xFF}, Error::kFrameTooLarge},
      {{0x00, 0x11, 0x00}, Error::kTooShort},    // 17 announced, 1 present
  };
  for (const Case& c : cases) {
    FrameOpener opener(key_);
    Bytes wire = c.wire;
    OpenedFrame f;
    EXPECT_EQ(opener.OpenInPlace(wire, &f), c.error) << ToHex(c.wire);
    EXPECT_EQ(opener.error(), c.error);
  }
  Bytes trailing = ExpectedWire(key_, 1, 1, TestPayload(4));
  trailing.push_back(0);
  FrameOpener opener(key_);
  OpenedFrame f;
  EXPECT_EQ(opener.OpenInPlace(trailing, &f), Error::kTrailingBytes);
}

TEST_F(FrameTest, AuthenticFramesWithoutATypeOrOfAnUnknownTypeAreRefused) {
  // Built with the key, as only a key holder could.
  auto seal_raw = [&](const Bytes& plaintext) {
    uint8_t nonce[12] = {1};
    Bytes sealed(plaintext.size() + 16);
    unsigned long long n = 0;
    crypto_aead_chacha20poly1305_ietf_encrypt(sealed.data(), &n, plaintext.data(),
                                              plaintext.size(), nullptr, 0, nullptr,
                                              nonce, key_.data());
    Bytes wire = {0, static_cast<uint8_t>(sealed.size())};
    wire.insert(wire.end(), sealed.begin(), sealed.end());
    return wire;
  };
  struct Case {
    Bytes plaintext;
    Error error;
  };
  const Case cases[] = {{{}, Error::kEmptyPlaintext},
                        {{0x00, 'x'}, Error::kUnknownFrameType},
                        {{0x05}, Error::kUnknownFrameType},
                        {{0xFF, 1, 2, 3}, Error::kUnknownFrameType}};
  for (const Case& c : cases) {
    FrameOpener opener(key_);
    Bytes wire = seal_raw(c.plaintext);
    OpenedFrame f;
    EXPECT_EQ(opener.OpenInPlace(wire, &f), c.error);
    EXPECT_TRUE(f.payload.empty());
    // Nothing decrypted is left in the caller's memory.
    for (size_t i = 2; i < 2 + c.plaintext.size(); ++i) {
      EXPECT_NE(wire[i], 'x');
    }
  }
}

TEST_F(FrameTest, FlippingAnyBitFailsAuthenticationAndTheErrorSticks) {
  FrameSealer sealer(key_, pool_);
  pool::Buffer wire;
  ASSERT_EQ(sealer.Seal(FrameType::kData, TestPayload(40), &wire), Error::kOk);
  const Bytes good = ToBytes(wire);
  for (size_t bit = 16; bit < good.size() * 8; ++bit) {  // past the length
    Bytes bad = good;
    bad[bit / 8] ^= static_cast<uint8_t>(1u << (bit % 8));
    FrameOpener opener(key_);
    OpenedFrame f;
    ASSERT_EQ(opener.OpenInPlace(bad, &f), Error::kAuthFailed) << "bit " << bit;
    EXPECT_TRUE(f.payload.empty());
    Bytes fine = good;
    EXPECT_EQ(opener.OpenInPlace(fine, &f), Error::kAuthFailed) << "not sticky";
  }
}

TEST_F(FrameTest, AFrameReflectedToItsSenderDoesNotAuthenticateAtTheWrongCounter) {
  // v1 uses one key both ways (flaw 1); what the codec can enforce is the
  // counter: a frame only opens at the counter it was sealed with.
  FrameSealer sealer(key_, pool_);
  pool::Buffer first, second;
  ASSERT_EQ(sealer.Seal(FrameType::kData, TestPayload(8), &first), Error::kOk);
  ASSERT_EQ(sealer.Seal(FrameType::kData, TestPayload(8), &second), Error::kOk);
  FrameOpener opener(key_);
  OpenedFrame f;
  EXPECT_EQ(opener.OpenInPlace(second.span(), &f), Error::kAuthFailed);
}

TEST_F(FrameTest, WrongKeyFailsAuthentication) {
  FrameSealer sealer(key_, pool_);
  pool::Buffer wire;
  ASSERT_EQ(sealer.Seal(FrameType::kData, TestPayload(8), &wire), Error::kOk);
  FrameOpener opener(TestKey(1));
  OpenedFrame f;
  EXPECT_EQ(opener.OpenInPlace(wire.span(), &f), Error::kAuthFailed);
}

}  // namespace
}  // namespace reflex
