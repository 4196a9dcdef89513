#include "reflex/key_schedule.h"

#include <gtest/gtest.h>
#include <sodium.h>

#include "reflex/hkdf.h"
#include "reflex/testing/codec_test_util.h"
#include "base/hex.h"

namespace reflex {
namespace {

using testing::FromHex;
using testing::ToHex;

KeyPair FromHexPrivate(const char* hex) {
  const auto bytes = FromHex(hex);
  KeyPair pair;
  EXPECT_EQ(KeyPairFromPrivate(std::span<const uint8_t, 32>(bytes.data(), 32), &pair),
            Error::kOk);
  return pair;
}

TEST(KeySchedule, BothSidesDeriveTheSameV1SessionKey) {
  KeyPair client, server;
  ASSERT_EQ(GenerateKeyPair(&client), Error::kOk);
  ASSERT_EQ(GenerateKeyPair(&server), Error::kOk);
  SessionKey k1, k2;
  ASSERT_EQ(DeriveSessionKeyV1(client.private_key, server.public_key, &k1), Error::kOk);
  ASSERT_EQ(DeriveSessionKeyV1(server.private_key, client.public_key, &k2), Error::kOk);
  EXPECT_TRUE(k1.Equals(k2.span()));
}

TEST(KeySchedule, V1SessionKeyIsHkdfOfTheSharedSecretWithTheV1Label) {
  const KeyPair a = FromHexPrivate(
      "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a");
  const KeyPair b = FromHexPrivate(
      "5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb");
  SessionKey key;
  ASSERT_EQ(DeriveSessionKeyV1(a.private_key, b.public_key, &key), Error::kOk);
  // Recomputed here from the notes: salt = info = "reflex-session-v1".
  const auto shared =
      FromHex("4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742");
  const std::string label = "reflex-session-v1";
  const std::vector<uint8_t> l(label.begin(), label.end());
  std::vector<uint8_t> expected(32);
  ASSERT_EQ(HkdfSha256(l, shared, l, expected), Error::kOk);
  EXPECT_EQ(ToHex(key.span()), ToHex(expected));
}

TEST(KeySchedule, LowOrderPeerKeysAreRefused) {
  KeyPair own;
  ASSERT_EQ(GenerateKeyPair(&own), Error::kOk);
  const char* low_order[] = {
      "0000000000000000000000000000000000000000000000000000000000000000",
      "0100000000000000000000000000000000000000000000000000000000000000",
      "e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800",
      "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
  };
  for (const char* hex : low_order) {
    const auto peer = FromHex(hex);
    SharedSecret shared;
    shared.data()[0] = 0x99;
    EXPECT_EQ(ComputeSharedSecret(own.private_key,
                                  std::span<const uint8_t, 32>(peer.data(), 32), &shared),
              Error::kLowOrderPoint)
        << hex;
    EXPECT_EQ(shared.data()[0], 0x99) << "output written on failure";
    SessionKey key;
    EXPECT_EQ(DeriveSessionKeyV1(own.private_key,
                                 std::span<const uint8_t, 32>(peer.data(), 32), &key),
              Error::kLowOrderPoint);
  }
}

TEST(Secret, WipesItselfAndComparesInConstantTime) {
  SessionKey a;
  a.data()[5] = 7;
  SessionKey b = a;
  EXPECT_TRUE(a.Equals(b.span()));
  b.data()[31] ^= 1;
  EXPECT_FALSE(a.Equals(b.span()));
  a.Wipe();
  EXPECT_TRUE(sodium_is_zero(a.data(), a.size()));
}

}  // namespace
}  // namespace reflex
