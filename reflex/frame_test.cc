// FrameSealer and FrameOpener: one frame at a time.
#include <gtest/gtest.h>
#include <sodium.h>

#include <vector>

#include "pool/buffer_pool.h"
#include "reflex/testing/codec_test_util.h"
#include "reflex/frame_opener.h"
#include "reflex/frame_sealer.h"
#include "reflex/pooled_frames.h"
#include "base/hex.h"

namespace reflex {
namespace {

using Bytes = std::vector<uint8_t>;
using testing::ToHex;

Bytes ToBytes(const pool::Buffer& b) { return Bytes(b.data(), b.data() + b.size()); }

// The frame as SPEC.md describes it, built here straight from libsodium.
// v1 nonce: the counter in bytes 0..7; Noise nonce: in bytes 4..11.
Bytes ExpectedWire(const SessionKey& key, uint64_t counter, uint8_t type,
                   const Bytes& payload, bool noise = false) {
  Bytes plaintext = {type};
  plaintext.insert(plaintext.end(), payload.begin(), payload.end());
  uint8_t nonce[12] = {};
  for (int i = 0; i < 8; ++i) nonce[(noise ? 4 : 0) + i] = static_cast<uint8_t>(counter >> (8 * i));
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

// Every test runs once per AEAD backend: the frames must be the same bytes.
class FrameTest : public BackendTest {
 protected:
  FrameSealer Sealer(uint64_t first = kFirstFrameCounterV1) { return FrameSealer(key_, first, v1()); }
  FrameOpener Opener(uint64_t first = kFirstFrameCounterV1) { return FrameOpener(key_, first, v1()); }
  Error Seal(FrameSealer& sealer, FrameType type, const Bytes& payload, pool::Buffer* out) {
    return SealToBuffer(sealer, pool_, type, payload, out);
  }

  pool::BufferPool pool_;
  SessionKey key_ = TestKey();
};
INSTANTIATE_TEST_SUITE_P(Backends, FrameTest, AllBackends(), BackendName);

TEST_P(FrameTest, SealMatchesTheV1WireFormat) {
  FrameSealer sealer = Sealer();
  const Bytes payload = {'h', 'e', 'l', 'l', 'o'};
  pool::Buffer wire;
  ASSERT_EQ(Seal(sealer, FrameType::kData, payload, &wire), Error::kOk);
  EXPECT_EQ(wire.size(), 2 + 1 + 5 + 16u);
  EXPECT_EQ(wire.data()[0], 0x00);
  EXPECT_EQ(wire.data()[1], 22);  // sealed bytes = 1 + payload + 16
  EXPECT_EQ(ToHex(wire.span()), ToHex(ExpectedWire(key_, 1, 0x01, payload)));
}

TEST_P(FrameTest, CountersStartAtOneAndAdvanceByOnePerFrame) {
  FrameSealer sealer = Sealer();
  for (uint64_t counter = 1; counter <= 5; ++counter) {
    EXPECT_EQ(sealer.next_counter(), counter);
    pool::Buffer wire;
    ASSERT_EQ(Seal(sealer, FrameType::kPadding, TestPayload(counter), &wire), Error::kOk);
    EXPECT_EQ(ToBytes(wire), ExpectedWire(key_, counter, 0x02, TestPayload(counter)));
  }
}

TEST_P(FrameTest, OpenInPlaceInvertsSealForEveryTypeAndSize) {
  const FrameType types[] = {FrameType::kData, FrameType::kPadding,
                             FrameType::kTiming, FrameType::kClose};
  const size_t sizes[] = {0, 1, 15, 16, 17, 1400, 4096, 16383, 16384};
  FrameSealer sealer = Sealer();
  FrameOpener opener = Opener();
  for (FrameType type : types) {
    for (size_t size : sizes) {
      const Bytes payload = TestPayload(size, static_cast<uint8_t>(type));
      pool::Buffer wire;
      ASSERT_EQ(Seal(sealer, type, payload, &wire), Error::kOk);
      OpenedFrame f;
      ASSERT_EQ(opener.OpenInPlace(wire.span(), &f), Error::kOk);
      EXPECT_EQ(f.type, type);
      EXPECT_EQ(f.counter, sealer.next_counter() - 1);
      EXPECT_EQ(Bytes(f.payload.begin(), f.payload.end()), payload);
    }
  }
}

TEST_P(FrameTest, SealIntoCallerMemoryAndInPlace) {
  FrameSealer a = Sealer(), b = Sealer();
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

TEST_P(FrameTest, ZeroCopySealingFillsThePayloadInPlace) {
  FrameSealer sealer = Sealer();
  const Bytes payload = TestPayload(700);
  pool::Buffer frame;
  ASSERT_EQ(NewFrameBuffer(pool_, payload.size(), &frame), Error::kOk);
  ASSERT_EQ(frame.size(), kFrameOverheadBytes + payload.size());
  std::span<uint8_t> slot = FramePayload(frame);
  ASSERT_EQ(slot.size(), payload.size());
  std::copy(payload.begin(), payload.end(), slot.begin());
  ASSERT_EQ(SealFrameBuffer(sealer, FrameType::kData, frame), Error::kOk);
  EXPECT_EQ(ToBytes(frame), ExpectedWire(key_, 1, 1, payload));
  pool::Buffer too_big;
  EXPECT_EQ(NewFrameBuffer(pool_, 16385, &too_big), Error::kFrameTooLarge);
  EXPECT_FALSE(too_big);
  pool::Buffer tiny = pool_.Get(18);
  EXPECT_EQ(SealFrameBuffer(sealer, FrameType::kData, tiny), Error::kInvalidArgument);
  EXPECT_EQ(sealer.next_counter(), 2u);
}

TEST_P(FrameTest, SealerRefusesOversizeAndUnknownTypesWithoutUsingACounter) {
  FrameSealer sealer = Sealer();
  pool::Buffer wire;
  EXPECT_EQ(Seal(sealer, FrameType::kData, TestPayload(16385), &wire),
            Error::kFrameTooLarge);
  EXPECT_EQ(Seal(sealer, static_cast<FrameType>(0), {}, &wire), Error::kInvalidArgument);
  EXPECT_EQ(Seal(sealer, static_cast<FrameType>(5), {}, &wire), Error::kInvalidArgument);
  EXPECT_FALSE(wire);
  EXPECT_EQ(sealer.next_counter(), 1u);
}

TEST_P(FrameTest, TheCounterNeverWraps) {
  FrameSealer sealer = Sealer(UINT64_MAX - 1);
  FrameOpener opener = Opener(UINT64_MAX - 1);
  for (uint64_t expected : {UINT64_MAX - 1, UINT64_MAX}) {
    pool::Buffer wire;
    ASSERT_EQ(Seal(sealer, FrameType::kData, TestPayload(3), &wire), Error::kOk);
    EXPECT_EQ(ToBytes(wire), ExpectedWire(key_, expected, 1, TestPayload(3)));
    OpenedFrame f;
    ASSERT_EQ(opener.OpenInPlace(wire.span(), &f), Error::kOk);
    EXPECT_EQ(f.counter, expected);
  }
  EXPECT_TRUE(sealer.exhausted());
  pool::Buffer wire;
  EXPECT_EQ(Seal(sealer, FrameType::kData, {}, &wire), Error::kCounterExhausted);
  EXPECT_FALSE(wire);
  // A frame sealed at counter 0 (what a wrap would reuse) is not accepted.
  Bytes wrapped = ExpectedWire(key_, 0, 1, {});
  OpenedFrame f;
  EXPECT_EQ(opener.OpenInPlace(wrapped, &f), Error::kCounterExhausted);
}

TEST_P(FrameTest, NoiseNoncesCarryTheCounterInBytes4To11AndStartAtZero) {
  FrameSealer sealer(key_, v2());
  FrameOpener opener(key_, v2());
  for (uint64_t n = 0; n < 3; ++n) {
    pool::Buffer wire;
    ASSERT_EQ(Seal(sealer, FrameType::kData, TestPayload(10 + n), &wire), Error::kOk);
    EXPECT_EQ(ToBytes(wire), ExpectedWire(key_, n, 1, TestPayload(10 + n), /*noise=*/true));
    OpenedFrame f;
    ASSERT_EQ(opener.OpenInPlace(wire.span(), &f), Error::kOk);
    EXPECT_EQ(f.counter, n);
  }
  // The same frame under the v1 layout is another frame.
  EXPECT_NE(ExpectedWire(key_, 1, 1, {}, true), ExpectedWire(key_, 1, 1, {}, false));
}

TEST_P(FrameTest, NoiseNeverUsesTheReservedNonce2To64Minus1) {
  FrameSealer sealer(key_, UINT64_MAX - 1, v2());
  FrameOpener opener(key_, UINT64_MAX - 1, v2());
  pool::Buffer wire;
  ASSERT_EQ(Seal(sealer, FrameType::kData, TestPayload(3), &wire), Error::kOk);
  OpenedFrame f;
  ASSERT_EQ(opener.OpenInPlace(wire.span(), &f), Error::kOk);
  EXPECT_EQ(f.counter, UINT64_MAX - 1);
  EXPECT_TRUE(sealer.exhausted());
  EXPECT_EQ(Seal(sealer, FrameType::kData, {}, &wire), Error::kCounterExhausted);
  Bytes reserved = ExpectedWire(key_, UINT64_MAX, 1, {}, true);
  EXPECT_EQ(opener.OpenInPlace(reserved, &f), Error::kCounterExhausted);
  FrameSealer born_exhausted(key_, UINT64_MAX, v2());
  EXPECT_TRUE(born_exhausted.exhausted());
}

TEST_P(FrameTest, TheWiresSizeIsCheckedBeforeTheCounterIsFoundExhausted) {
  // SPEC.md 5.3: a frame of the wrong size is too_short or trailing_bytes
  // whatever the counter; counter_exhausted comes after.
  for (bool noise_layout : {false, true}) {
    const FrameCipherOptions options = noise_layout ? v2() : v1();
    Bytes wire = ExpectedWire(key_, 5, 1, TestPayload(4), noise_layout);
    FrameSealer spent(key_, UINT64_MAX, options);
    pool::Buffer last;
    ASSERT_EQ(Seal(spent, FrameType::kData, {}, &last), noise_layout ? Error::kCounterExhausted
                                                                        : Error::kOk);
    Bytes trailing = wire;
    trailing.push_back(0);
    Bytes cut(wire.begin(), wire.end() - 1);
    OpenedFrame f;
    FrameOpener a(key_, UINT64_MAX, options);
    if (!noise_layout) {
      // v1 can still open counter 2^64-1: spend it first.
      Bytes good = ExpectedWire(key_, UINT64_MAX, 1, {}, false);
      ASSERT_EQ(a.OpenInPlace(good, &f), Error::kOk);
    }
    FrameOpener b = std::move(a);
    EXPECT_EQ(b.OpenInPlace(trailing, &f), Error::kTrailingBytes);
    FrameOpener c(key_, UINT64_MAX, options);
    if (!noise_layout) {
      Bytes good = ExpectedWire(key_, UINT64_MAX, 1, {}, false);
      ASSERT_EQ(c.OpenInPlace(good, &f), Error::kOk);
    }
    EXPECT_EQ(c.OpenInPlace(cut, &f), Error::kTooShort);
    FrameOpener d(key_, UINT64_MAX, options);
    if (!noise_layout) {
      Bytes good = ExpectedWire(key_, UINT64_MAX, 1, {}, false);
      ASSERT_EQ(d.OpenInPlace(good, &f), Error::kOk);
    }
    EXPECT_EQ(d.OpenInPlace(wire, &f), Error::kCounterExhausted);
  }
}

TEST_P(FrameTest, OpenerChecksTheLengthFieldBeforeAnythingElse) {
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
    FrameOpener opener = Opener();
    Bytes wire = c.wire;
    OpenedFrame f;
    EXPECT_EQ(opener.OpenInPlace(wire, &f), c.error) << ToHex(c.wire);
    EXPECT_EQ(opener.error(), c.error);
  }
  Bytes trailing = ExpectedWire(key_, 1, 1, TestPayload(4));
  trailing.push_back(0);
  FrameOpener opener = Opener();
  OpenedFrame f;
  EXPECT_EQ(opener.OpenInPlace(trailing, &f), Error::kTrailingBytes);
}

TEST_P(FrameTest, AuthenticFramesWithoutATypeOrOfAnUnknownTypeAreRefused) {
  // Built with the key, as only a key holder could.
  auto seal_raw = [&](const Bytes& plaintext) {
    uint8_t nonce[12] = {1};  // counter 1, as the opener expects
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
  const Bytes secret(32, 'x');
  auto with_type = [&](uint8_t type) {
    Bytes p = {type};
    p.insert(p.end(), secret.begin(), secret.end());
    return p;
  };
  const Case cases[] = {{{}, Error::kEmptyPlaintext},
                        {with_type(0x00), Error::kUnknownFrameType},
                        {with_type(0x05), Error::kUnknownFrameType},
                        {with_type(0xFF), Error::kUnknownFrameType}};
  for (const Case& c : cases) {
    FrameOpener opener = Opener();
    Bytes wire = seal_raw(c.plaintext);
    OpenedFrame f;
    EXPECT_EQ(opener.OpenInPlace(wire, &f), c.error);
    EXPECT_TRUE(f.payload.empty());
    // Nothing decrypted is left in the caller's memory: the region the
    // plaintext was decrypted into matches it in at most one byte (by chance
    // or the zero type byte), where a leftover decryption matches in all.
    size_t matching = 0;
    for (size_t i = 0; i < c.plaintext.size(); ++i) {
      matching += wire[kFrameHeaderBytes + i] == c.plaintext[i];
    }
    EXPECT_LE(matching, 1u) << "decrypted bytes left behind";
  }
}

TEST_P(FrameTest, FlippingAnyBitFailsAuthenticationAndTheErrorSticks) {
  FrameSealer sealer = Sealer();
  pool::Buffer wire;
  ASSERT_EQ(Seal(sealer, FrameType::kData, TestPayload(40), &wire), Error::kOk);
  const Bytes good = ToBytes(wire);
  for (size_t bit = 16; bit < good.size() * 8; ++bit) {  // past the length
    Bytes bad = good;
    bad[bit / 8] ^= static_cast<uint8_t>(1u << (bit % 8));
    FrameOpener opener = Opener();
    OpenedFrame f;
    ASSERT_EQ(opener.OpenInPlace(bad, &f), Error::kAuthFailed) << "bit " << bit;
    EXPECT_TRUE(f.payload.empty());
    Bytes fine = good;
    EXPECT_EQ(opener.OpenInPlace(fine, &f), Error::kAuthFailed) << "not sticky";
  }
}

TEST_P(FrameTest, AFrameReflectedToItsSenderDoesNotAuthenticateAtTheWrongCounter) {
  // v1 uses one key both ways (flaw 1); what the codec can enforce is the
  // counter: a frame only opens at the counter it was sealed with.
  FrameSealer sealer = Sealer();
  pool::Buffer first, second;
  ASSERT_EQ(Seal(sealer, FrameType::kData, TestPayload(8), &first), Error::kOk);
  ASSERT_EQ(Seal(sealer, FrameType::kData, TestPayload(8), &second), Error::kOk);
  FrameOpener opener = Opener();
  OpenedFrame f;
  EXPECT_EQ(opener.OpenInPlace(second.span(), &f), Error::kAuthFailed);
}

TEST_P(FrameTest, WrongKeyFailsAuthentication) {
  FrameSealer sealer = Sealer();
  pool::Buffer wire;
  ASSERT_EQ(Seal(sealer, FrameType::kData, TestPayload(8), &wire), Error::kOk);
  FrameOpener opener(TestKey(1), v1());
  OpenedFrame f;
  EXPECT_EQ(opener.OpenInPlace(wire.span(), &f), Error::kAuthFailed);
}

}  // namespace
}  // namespace reflex
