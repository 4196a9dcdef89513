// The crypto layer against Wycheproof (every valid case passes, every
// invalid case is refused, every acceptable case has an explicit decision)
// and against the examples printed in RFC 7748, RFC 8439 and RFC 5869.
#include <gtest/gtest.h>
#include <sodium.h>

#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "reflex/aead.h"
#include "reflex/hkdf.h"
#include "reflex/key_schedule.h"
#include "base/hex.h"

namespace reflex {
namespace {

using nlohmann::json;
using testing::FromHex;
using testing::ToHex;
using Bytes = std::vector<uint8_t>;

json Load(const std::string& name) {
  std::ifstream in("testdata/vectors/wycheproof/" + name);
  EXPECT_TRUE(in.good()) << name;
  return json::parse(in);
}

Bytes Hex(const json& v) { return FromHex(v.get<std::string>()); }

bool AllZero(const Bytes& b) {
  for (uint8_t x : b) {
    if (x != 0) return false;
  }
  return true;
}

TEST(Wycheproof, X25519) {
  const json file = Load("x25519_test.json");
  int checked = 0;
  for (const json& group : file["testGroups"]) {
    for (const json& t : group["tests"]) {
      SCOPED_TRACE("tcId " + std::to_string(t["tcId"].get<int>()) + ": " +
                   t["comment"].get<std::string>());
      const Bytes priv = Hex(t["private"]);
      const Bytes pub = Hex(t["public"]);
      const Bytes expected = Hex(t["shared"]);
      const std::string result = t["result"];
      ASSERT_EQ(priv.size(), 32u);
      ASSERT_EQ(pub.size(), 32u);
      PrivateKey own{std::span<const uint8_t, 32>(priv.data(), 32)};
      SharedSecret shared;
      const Error e =
          ComputeSharedSecret(own, std::span<const uint8_t, 32>(pub.data(), 32), &shared);
      // The decision for "acceptable" cases: a peer key that yields the
      // all-zero secret (low-order points, in any encoding) is refused;
      // every other acceptable key (twist points, non-canonical encodings)
      // is computed per RFC 7748 and must match.
      if (result == "invalid" || (result == "acceptable" && AllZero(expected))) {
        EXPECT_EQ(e, Error::kLowOrderPoint);
      } else {
        ASSERT_TRUE(result == "valid" || result == "acceptable");
        ASSERT_EQ(e, Error::kOk);
        EXPECT_EQ(ToHex(shared.span()), ToHex(expected));
      }
      ++checked;
    }
  }
  EXPECT_EQ(checked, file["numberOfTests"].get<int>());
}

// The AEAD as the frame layer calls it: the seam (reflex/aead.h), once per
// backend. Reflex nonces are 12 bytes; a Wycheproof case with another nonce
// size cannot be expressed through the seam and is counted as not
// applicable, never as a pass.
struct AeadVerdicts {
  int passed = 0;
  int not_applicable = 0;
};

AeadVerdicts CheckChaCha20Poly1305(AeadBackend backend, const json& file) {
  AeadVerdicts v;
  for (const json& group : file["testGroups"]) {
    for (const json& t : group["tests"]) {
      SCOPED_TRACE("tcId " + std::to_string(t["tcId"].get<int>()));
      const Bytes key = Hex(t["key"]), iv = Hex(t["iv"]), aad = Hex(t["aad"]),
                  msg = Hex(t["msg"]), ct = Hex(t["ct"]), tag = Hex(t["tag"]);
      const std::string result = t["result"];
      EXPECT_NE(result, "acceptable") << "no acceptable cases expected";
      if (iv.size() != kAeadNonceBytes || key.size() != kAeadKeyBytes ||
          tag.size() != kTagBytes) {
        // Wycheproof marks every such case invalid; it stays unexercised.
        EXPECT_EQ(result, "invalid");
        ++v.not_applicable;
        continue;
      }
      const std::span<const uint8_t, kAeadNonceBytes> nonce(iv.data(), kAeadNonceBytes);
      Aead opener;
      EXPECT_EQ(opener.Init(backend, AeadDirection::kOpen,
                            std::span<const uint8_t, 32>(key.data(), 32)),
                Error::kOk);
      Bytes opened(ct.size(), 0xEE);
      const Error e = opener.Open(nonce, aad, ct,
                                  std::span<const uint8_t, kTagBytes>(tag.data(), kTagBytes),
                                  opened.data());
      if (result == "valid") {
        EXPECT_EQ(e, Error::kOk);
        EXPECT_EQ(ToHex(opened), ToHex(msg));
        Aead sealer;
        EXPECT_EQ(sealer.Init(backend, AeadDirection::kSeal,
                              std::span<const uint8_t, 32>(key.data(), 32)),
                  Error::kOk);
        Bytes data = msg;
        uint8_t got_tag[kTagBytes];
        EXPECT_EQ(sealer.Seal(nonce, aad, data, got_tag), Error::kOk);
        EXPECT_EQ(ToHex(data), ToHex(ct));
        EXPECT_EQ(ToHex(got_tag), ToHex(tag));
      } else {
        EXPECT_EQ(e, Error::kAuthFailed);
        for (uint8_t b : opened) {
          if (b != 0xEE && b != 0) ADD_FAILURE() << "a refused open left output behind";
        }
      }
      ++v.passed;
    }
  }
  return v;
}

class WycheproofAead : public ::testing::TestWithParam<AeadBackend> {};
INSTANTIATE_TEST_SUITE_P(Backends, WycheproofAead, ::testing::ValuesIn(kAllAeadBackends),
                         [](const auto& info) { return std::string(AeadBackendName(info.param)); });

TEST_P(WycheproofAead, ChaCha20Poly1305EveryApplicableCase) {
  const json file = Load("chacha20_poly1305_test.json");
  const AeadVerdicts v = CheckChaCha20Poly1305(GetParam(), file);
  EXPECT_EQ(v.passed + v.not_applicable, file["numberOfTests"].get<int>());
  // The file's 12-byte-nonce cases, counted when these vectors were added:
  // the rest use 0, 8, 16 or more bytes of nonce.
  EXPECT_GT(v.passed, 250);
  RecordProperty("not_applicable", v.not_applicable);
  std::printf("ChaCha20-Poly1305 (%s): %d cases checked, %d not applicable (nonce size)\n",
              std::string(AeadBackendName(GetParam())).c_str(), v.passed, v.not_applicable);
}

TEST(Wycheproof, HkdfSha256) {
  const json file = Load("hkdf_sha256_test.json");
  int checked = 0;
  for (const json& group : file["testGroups"]) {
    for (const json& t : group["tests"]) {
      SCOPED_TRACE("tcId " + std::to_string(t["tcId"].get<int>()));
      const Bytes ikm = Hex(t["ikm"]), salt = Hex(t["salt"]), info = Hex(t["info"]);
      const size_t size = t["size"].get<size_t>();
      const std::string result = t["result"];
      ASSERT_NE(result, "acceptable") << "no acceptable cases expected";
      Bytes okm(size, 0xEE);
      const Error e = HkdfSha256(salt, ikm, info, okm);
      if (result == "valid") {
        ASSERT_EQ(e, Error::kOk);
        EXPECT_EQ(ToHex(okm), t["okm"].get<std::string>());
      } else {
        EXPECT_EQ(e, Error::kInvalidArgument);
        EXPECT_EQ(okm, Bytes(size, 0xEE)) << "refused output must be untouched";
      }
      ++checked;
    }
  }
  EXPECT_EQ(checked, file["numberOfTests"].get<int>());
}

// RFC 7748 section 6.1: Alice and Bob.
TEST(RfcExamples, X25519DiffieHellman) {
  const Bytes alice_priv =
      FromHex("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a");
  const Bytes bob_priv =
      FromHex("5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb");
  KeyPair alice, bob;
  ASSERT_EQ(KeyPairFromPrivate(std::span<const uint8_t, 32>(alice_priv.data(), 32), &alice),
            Error::kOk);
  ASSERT_EQ(KeyPairFromPrivate(std::span<const uint8_t, 32>(bob_priv.data(), 32), &bob),
            Error::kOk);
  EXPECT_EQ(ToHex(alice.public_key),
            "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a");
  EXPECT_EQ(ToHex(bob.public_key),
            "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f");
  SharedSecret k1, k2;
  ASSERT_EQ(ComputeSharedSecret(alice.private_key, bob.public_key, &k1), Error::kOk);
  ASSERT_EQ(ComputeSharedSecret(bob.private_key, alice.public_key, &k2), Error::kOk);
  EXPECT_EQ(ToHex(k1.span()),
            "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742");
  EXPECT_TRUE(k1.Equals(k2.span()));
}

// RFC 8439 section 2.8.2: the AEAD example ("Ladies and Gentlemen..."),
// through the seam with each backend.
TEST_P(WycheproofAead, Rfc8439AeadExample) {
  const std::string text =
      "Ladies and Gentlemen of the class of '99: If I could offer you only one "
      "tip for the future, sunscreen would be it.";
  const Bytes msg(text.begin(), text.end());
  const Bytes key =
      FromHex("808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f");
  const Bytes iv = FromHex("070000004041424344454647");
  const Bytes aad = FromHex("50515253c0c1c2c3c4c5c6c7");
  Aead aead;
  ASSERT_EQ(aead.Init(GetParam(), AeadDirection::kSeal, std::span<const uint8_t, 32>(key.data(), 32)),
            Error::kOk);
  Bytes ct = msg;
  uint8_t tag[kTagBytes];
  ASSERT_EQ(aead.Seal(std::span<const uint8_t, 12>(iv.data(), 12), aad, ct, tag), Error::kOk);
  EXPECT_EQ(ToHex(tag), "1ae10b594f09e26a7e902ecbd0600691");
  EXPECT_EQ(ToHex(ct).substr(0, 32), "d31a8d34648e60db7b86afbc53ef7ec2");
}

// RFC 5869 appendix A.1, including the intermediate PRK.
TEST(RfcExamples, HkdfTestCase1) {
  const Bytes ikm(22, 0x0b);
  const Bytes salt = FromHex("000102030405060708090a0b0c");
  const Bytes info = FromHex("f0f1f2f3f4f5f6f7f8f9");
  uint8_t prk[32];
  HkdfSha256Extract(salt, ikm, prk);
  EXPECT_EQ(ToHex(prk),
            "077709362c2e32df0ddc3f0dc47bba6390b6c73bb50f9c3122ec844ad7c2b3e5");
  Bytes okm(42);
  ASSERT_EQ(HkdfSha256Expand(prk, info, okm), Error::kOk);
  EXPECT_EQ(ToHex(okm),
            "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf"
            "34007208d5b887185865");
}

TEST(Hkdf, OutputLimitIs255Blocks) {
  Bytes okm(255 * 32);
  EXPECT_EQ(HkdfSha256({}, Bytes(32, 1), {}, okm), Error::kOk);
  Bytes too_long(255 * 32 + 1);
  EXPECT_EQ(HkdfSha256({}, Bytes(32, 1), {}, too_long), Error::kInvalidArgument);
}

}  // namespace
}  // namespace reflex
