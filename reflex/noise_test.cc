// The Noise layer against third-party vectors (cacophony, snow:
// testdata/vectors/noise/SOURCE.md): NN, NNpsk0, NNpsk2 and NNpsk0+psk2
// with 25519, ChaChaPoly, SHA256. Every handshake message, the handshake
// hash where given, and the transport messages after Split, both sides.
#include "reflex/noise.h"

#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "reflex/testing/codec_test_util.h"
#include "reflex/frame_nonce.h"
#include "base/hex.h"

namespace reflex::noise {
namespace {

using nlohmann::json;
using testing::FromHex;
using testing::ToHex;
using Bytes = std::vector<uint8_t>;

const HandshakePattern* PatternOf(const std::string& protocol) {
  for (const HandshakePattern* p : {&kNN, &kNNpsk0, &kNNpsk2, &kNNpsk0psk2}) {
    if (protocol == "Noise_" + std::string(p->name) + "_25519_ChaChaPoly_SHA256") return p;
  }
  return nullptr;
}

KeyPair KeyOf(const json& hex) {
  const Bytes priv = FromHex(hex.get<std::string>());
  KeyPair pair;
  EXPECT_EQ(KeyPairFromPrivate(std::span<const uint8_t, 32>(priv.data(), 32), &pair), Error::kOk);
  return pair;
}

std::vector<Psk> PsksOf(const json& v, const char* field) {
  std::vector<Psk> psks;
  if (!v.contains(field)) return psks;
  for (const json& p : v[field]) {
    const Bytes b = FromHex(p.get<std::string>());
    psks.emplace_back(std::span<const uint8_t, 32>(b.data(), 32));
  }
  return psks;
}

// A transport message: ENCRYPT(k, n, ad = empty, payload), the way Reflex v2
// frames use the keys from Split.
Bytes Transport(const CipherKey& key, uint64_t n, const Bytes& payload) {
  CipherState c;
  c.InitializeKey(key.span());
  for (uint64_t i = 0; i < n; ++i) {
    Bytes scratch(16);
    size_t w = 0;
    EXPECT_EQ(c.EncryptWithAd({}, {}, scratch, &w), Error::kOk);
  }
  Bytes out(payload.size() + 16);
  size_t w = 0;
  EXPECT_EQ(c.EncryptWithAd({}, payload, out, &w), Error::kOk);
  return out;
}

void CheckFile(const std::string& name, int* checked) {
  std::ifstream in("testdata/vectors/noise/" + name);
  EXPECT_TRUE(in.good()) << name;
  const json file = json::parse(in);
  for (const json& v : file["vectors"]) {
    const std::string protocol = v["protocol_name"];
    SCOPED_TRACE(name + ": " + protocol);
    const HandshakePattern* pattern = PatternOf(protocol);
    ASSERT_NE(pattern, nullptr) << "unexpected protocol in the file";
    const Bytes prologue = FromHex(v["init_prologue"].get<std::string>());
    const std::vector<Psk> init_psks = PsksOf(v, "init_psks");
    const std::vector<Psk> resp_psks = PsksOf(v, "resp_psks");
    HandshakeState init, resp;
    ASSERT_EQ(init.Initialize(*pattern, true, prologue, init_psks), Error::kOk);
    ASSERT_EQ(resp.Initialize(*pattern, false, FromHex(v["resp_prologue"].get<std::string>()),
                              resp_psks.empty() ? init_psks : resp_psks),
              Error::kOk);
    init.SetEphemeral(KeyOf(v["init_ephemeral"]));
    resp.SetEphemeral(KeyOf(v["resp_ephemeral"]));
    const json& messages = v["messages"];
    CipherKey i2r, r2i;
    for (size_t i = 0; i < messages.size(); ++i) {
      SCOPED_TRACE("message " + std::to_string(i));
      const Bytes payload = FromHex(messages[i]["payload"].get<std::string>());
      const Bytes expected = FromHex(messages[i]["ciphertext"].get<std::string>());
      const bool from_initiator = i % 2 == 0;
      if (i < 2) {
        HandshakeState& writer = from_initiator ? init : resp;
        HandshakeState& reader = from_initiator ? resp : init;
        Bytes out(1024);
        size_t written = 0;
        ASSERT_EQ(writer.WriteMessage(payload, out, &written), Error::kOk);
        out.resize(written);
        EXPECT_EQ(ToHex(out), ToHex(expected));
        Bytes got(1024);
        size_t got_size = 0;
        ASSERT_EQ(reader.ReadMessage(expected, got, &got_size), Error::kOk);
        got.resize(got_size);
        EXPECT_EQ(got, payload);
        if (i == 1) {
          ASSERT_TRUE(init.Complete() && resp.Complete());
          EXPECT_EQ(ToHex(init.handshake_hash()), ToHex(resp.handshake_hash()));
          if (v.contains("handshake_hash")) {
            EXPECT_EQ(ToHex(init.handshake_hash()), v["handshake_hash"].get<std::string>());
          }
          CipherKey r_i2r, r_r2i;
          ASSERT_EQ(init.Split(&i2r, &r2i), Error::kOk);
          ASSERT_EQ(resp.Split(&r_i2r, &r_r2i), Error::kOk);
          EXPECT_TRUE(i2r.Equals(r_i2r.span()) && r2i.Equals(r_r2i.span()));
        }
      } else {
        // Transport messages alternate too; each direction counts from 0.
        const uint64_t n = (i - 2) / 2;
        EXPECT_EQ(ToHex(Transport(from_initiator ? i2r : r2i, n, payload)), ToHex(expected));
      }
      ++*checked;
    }
  }
}

TEST(NoiseVectors, CacophonyNnNnpsk0Nnpsk2EveryMessage) {
  int checked = 0;
  CheckFile("cacophony_nn_25519_chachapoly_sha256.json", &checked);
  EXPECT_EQ(checked, 18);
}

TEST(NoiseVectors, SnowNnAndNnpsk0Psk2EveryMessage) {
  int checked = 0;
  CheckFile("snow_nn_25519_chachapoly_sha256.json", &checked);
  EXPECT_EQ(checked, 8);
}

TEST(Noise, AFailedReadChangesNothingAndTheRightMessageStillReads) {
  const Psk psk[] = {Psk(std::span<const uint8_t, 32>(Bytes(32, 7).data(), 32))};
  HandshakeState init, resp;
  ASSERT_EQ(init.Initialize(kNNpsk0, true, {}, psk), Error::kOk);
  ASSERT_EQ(resp.Initialize(kNNpsk0, false, {}, psk), Error::kOk);
  KeyPair e1, e2;
  ASSERT_EQ(GenerateKeyPair(&e1), Error::kOk);
  ASSERT_EQ(GenerateKeyPair(&e2), Error::kOk);
  init.SetEphemeral(e1);
  resp.SetEphemeral(e2);
  Bytes msg(100);
  size_t n = 0;
  ASSERT_EQ(init.WriteMessage(Bytes(10, 1), msg, &n), Error::kOk);
  msg.resize(n);
  Bytes bad = msg;
  bad.back() ^= 1;
  Bytes payload(100);
  size_t got = 77;
  EXPECT_EQ(resp.ReadMessage(bad, payload, &got), Error::kAuthFailed);
  EXPECT_EQ(got, 77u);
  EXPECT_EQ(resp.ReadMessage(Bytes(msg.begin(), msg.begin() + 31), payload, &got),
            Error::kTooShort);
  EXPECT_EQ(resp.ReadMessage(msg, payload, &got), Error::kOk);
  EXPECT_EQ(got, 10u);
  EXPECT_EQ(resp.ReadMessage(msg, payload, &got), Error::kInvalidArgument) << "out of turn";
}

TEST(Noise, ALowOrderEphemeralIsRefusedAtTheDh) {
  HandshakeState init, resp;
  ASSERT_EQ(init.Initialize(kNN, true, {}, {}), Error::kOk);
  ASSERT_EQ(resp.Initialize(kNN, false, {}, {}), Error::kOk);
  KeyPair e1, e2;
  ASSERT_EQ(GenerateKeyPair(&e1), Error::kOk);
  ASSERT_EQ(GenerateKeyPair(&e2), Error::kOk);
  init.SetEphemeral(e1);
  resp.SetEphemeral(e2);
  Bytes msg(32, 0);  // e = the all-zero point, payload empty (no key yet)
  Bytes payload(10);
  size_t got = 0;
  ASSERT_EQ(resp.ReadMessage(msg, payload, &got), Error::kOk);
  Bytes out(100);
  size_t n = 0;
  EXPECT_EQ(resp.WriteMessage({}, out, &n), Error::kLowOrderPoint);
}

TEST(Noise, APatternGetsExactlyOnePskPerPskToken) {
  HandshakeState s;
  const Psk one[] = {Psk()};
  EXPECT_EQ(s.Initialize(kNN, true, {}, one), Error::kInvalidArgument);
  EXPECT_EQ(s.Initialize(kNNpsk0, true, {}, {}), Error::kInvalidArgument);
  const Psk two[] = {Psk(), Psk()};
  EXPECT_EQ(s.Initialize(kNNpsk0psk2, true, {}, two), Error::kOk);
}

}  // namespace
}  // namespace reflex::noise
