// The AEAD seam: both backends give the same bytes and the same verdicts,
// refuse misuse, and leave nothing decrypted behind a failed open.
#include "reflex/aead.h"

#include <gtest/gtest.h>

#include <random>
#include <vector>

#include "reflex/testing/codec_test_util.h"
#include "base/hex.h"

namespace reflex {
namespace {

using Bytes = std::vector<uint8_t>;
using testing::ToHex;

constexpr uint8_t kKey[32] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,
                              17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32};
constexpr uint8_t kNonce[12] = {0, 0, 0, 0, 7, 0, 0, 0, 0, 0, 0, 0};

Aead Keyed(AeadBackend backend, AeadDirection direction) {
  Aead aead;
  EXPECT_EQ(aead.Init(backend, direction, kKey), Error::kOk);
  return aead;
}

TEST(Aead, BackendsHaveStableNamesAndADefault) {
  EXPECT_EQ(AeadBackendName(AeadBackend::kSodium), "sodium");
  EXPECT_EQ(AeadBackendName(AeadBackend::kOpenssl), "openssl");
  AeadBackend b = AeadBackend::kSodium;
  ASSERT_TRUE(AeadBackendFromName("openssl", &b));
  EXPECT_EQ(b, AeadBackend::kOpenssl);
  EXPECT_FALSE(AeadBackendFromName("OpenSSL", &b));
  EXPECT_EQ(b, AeadBackend::kOpenssl);
  const AeadBackend d = DefaultAeadBackend();
  EXPECT_TRUE(d == AeadBackend::kSodium || d == AeadBackend::kOpenssl);
}

TEST(Aead, BothBackendsSealAndOpenToTheSameBytesForAnyLengthAndAd) {
  std::mt19937 rng(7);
  for (size_t length : {0, 1, 15, 16, 17, 63, 64, 65, 127, 128, 129, 1400, 16401}) {
    for (size_t ad_length : {0, 1, 12, 32}) {
      Bytes data(length), ad(ad_length);
      for (auto& x : data) x = static_cast<uint8_t>(rng());
      for (auto& x : ad) x = static_cast<uint8_t>(rng());
      Bytes sealed[2];
      uint8_t tags[2][kTagBytes];
      for (AeadBackend backend : kAllAeadBackends) {
        const int i = static_cast<int>(backend);
        sealed[i] = data;
        Aead sealer = Keyed(backend, AeadDirection::kSeal);
        ASSERT_EQ(sealer.Seal(kNonce, ad, sealed[i], tags[i]), Error::kOk);
      }
      ASSERT_EQ(ToHex(sealed[0]), ToHex(sealed[1])) << length << "/" << ad_length;
      ASSERT_EQ(ToHex(tags[0]), ToHex(tags[1]));
      for (AeadBackend backend : kAllAeadBackends) {
        Aead opener = Keyed(backend, AeadDirection::kOpen);
        Bytes in_place = sealed[0];
        ASSERT_EQ(opener.Open(kNonce, ad, in_place, tags[0], in_place.data()), Error::kOk);
        EXPECT_EQ(in_place, data);
      }
    }
  }
}

TEST(Aead, BothBackendsWorkHereAndTheCheckLeavesNoContextBehind) {
  const int64_t before = AeadContextsAlive();
  for (AeadBackend backend : kAllAeadBackends) EXPECT_EQ(CheckAeadBackend(backend), Error::kOk);
  EXPECT_EQ(AeadContextsAlive(), before);
}

class AeadBackends : public BackendTest {};
INSTANTIATE_TEST_SUITE_P(Backends, AeadBackends, AllBackends(), BackendName);

TEST_P(AeadBackends, AFailedOpenLeavesNothingDecryptedInTheOutput) {
  const Bytes secret(200, 'x');
  Bytes ct = secret;
  uint8_t tag[kTagBytes];
  Aead sealer = Keyed(backend(), AeadDirection::kSeal);
  ASSERT_EQ(sealer.Seal(kNonce, {}, ct, tag), Error::kOk);
  tag[0] ^= 1;
  Aead opener = Keyed(backend(), AeadDirection::kOpen);
  Bytes out(ct.size(), 0x55);
  EXPECT_EQ(opener.Open(kNonce, {}, ct, tag, out.data()), Error::kAuthFailed);
  for (size_t i = 0; i < out.size(); ++i) ASSERT_NE(out[i], 'x') << "byte " << i;
  // In place too: the ciphertext may be overwritten, but not with plaintext.
  EXPECT_EQ(opener.Open(kNonce, {}, ct, tag, ct.data()), Error::kAuthFailed);
  for (size_t i = 0; i < ct.size(); ++i) ASSERT_NE(ct[i], 'x') << "byte " << i;
}

TEST_P(AeadBackends, WrongNonceAdOrKeyFailsAuthentication) {
  Bytes data(100, 3);
  uint8_t tag[kTagBytes];
  Aead sealer = Keyed(backend(), AeadDirection::kSeal);
  const Bytes ad = {9, 9};
  ASSERT_EQ(sealer.Seal(kNonce, ad, data, tag), Error::kOk);
  Aead opener = Keyed(backend(), AeadDirection::kOpen);
  Bytes out(data.size());
  uint8_t other_nonce[12] = {1};
  EXPECT_EQ(opener.Open(other_nonce, ad, data, tag, out.data()), Error::kAuthFailed);
  EXPECT_EQ(opener.Open(kNonce, {}, data, tag, out.data()), Error::kAuthFailed);
  Aead other;
  uint8_t other_key[32] = {};
  ASSERT_EQ(other.Init(backend(), AeadDirection::kOpen, other_key), Error::kOk);
  EXPECT_EQ(other.Open(kNonce, ad, data, tag, out.data()), Error::kAuthFailed);
  EXPECT_EQ(opener.Open(kNonce, ad, data, tag, out.data()), Error::kOk);
}

TEST_P(AeadBackends, MisuseIsRefusedNotUndefined) {
  Aead unkeyed;
  Bytes data(10);
  uint8_t tag[kTagBytes] = {};
  EXPECT_FALSE(unkeyed.keyed());
  EXPECT_EQ(unkeyed.Seal(kNonce, {}, data, tag), Error::kInvalidArgument);
  EXPECT_EQ(unkeyed.Open(kNonce, {}, data, tag, data.data()), Error::kInvalidArgument);
  Aead sealer = Keyed(backend(), AeadDirection::kSeal);
  EXPECT_EQ(sealer.Open(kNonce, {}, data, tag, data.data()), Error::kInvalidArgument);
  Aead opener = Keyed(backend(), AeadDirection::kOpen);
  EXPECT_EQ(opener.Seal(kNonce, {}, data, tag), Error::kInvalidArgument);
}

TEST_P(AeadBackends, AMovedFromAeadIsUnkeyedAndTheMoveKeepsTheKey) {
  Aead a = Keyed(backend(), AeadDirection::kSeal);
  Aead b = std::move(a);
  EXPECT_FALSE(a.keyed());  // NOLINT(bugprone-use-after-move): the point of the test
  EXPECT_TRUE(b.keyed());
  Bytes x(5, 1), y(5, 1);
  uint8_t t1[kTagBytes], t2[kTagBytes];
  ASSERT_EQ(b.Seal(kNonce, {}, x, t1), Error::kOk);
  Aead fresh = Keyed(backend(), AeadDirection::kSeal);
  ASSERT_EQ(fresh.Seal(kNonce, {}, y, t2), Error::kOk);
  EXPECT_EQ(x, y);
  EXPECT_EQ(ToHex(t1), ToHex(t2));
  a = std::move(b);
  EXPECT_TRUE(a.keyed());
  EXPECT_FALSE(b.keyed());  // NOLINT(bugprone-use-after-move)
}

}  // namespace
}  // namespace reflex
