// What the generators of every kind share (the builder of a file, the
// fixed inputs, byte-string helpers, sealing), and the generator of each
// kind that the kind table (vector_kinds.cc) names. Internal to
// //tools:vectors.
#ifndef REFLEX_TOOLS_GENERATORS_H_
#define REFLEX_TOOLS_GENERATORS_H_

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "reflex/error.h"
#include "reflex/key_schedule.h"
#include "reflex/profile.h"
#include "reflex/wire.h"

namespace reflex::tools {

using Bytes = std::vector<uint8_t>;
using Json = nlohmann::ordered_json;

// Collects the groups of one file and numbers its tests.
class VectorBuilder {
 public:
  explicit VectorBuilder(Profile profile) : profile_(profile) {}
  // Starts the group the next tests go to.
  void StartGroup(const std::string& kind);
  // A test with the next id.
  Json Test(const std::string& result, const std::string& comment);
  // Appends a test to the current group.
  void Add(Json test);
  Json Finish() const;

 private:
  Profile profile_;
  Json groups_ = Json::array();
  int next_id_ = 1;
};

// The generator's inputs are fixed and valid: any error is a bug here, and
// it aborts.
void Must(Error e);

// Fixed inputs. The two X25519 private keys are RFC 7748's Alice and Bob.
inline constexpr char kClientPrivate[] =
    "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a";
inline constexpr char kServerPrivate[] =
    "5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb";
inline constexpr char kUserId[] = "6ba7b8109dad11d180b400c04fd430c8";
inline constexpr char kFrameKey[] =
    "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

Bytes Text(const std::string& s);
// n bytes that are neither constant nor random-looking: easy to eyeball.
Bytes Pattern(size_t n, uint8_t salt);
Bytes Concat(Bytes a, const Bytes& b);
std::string Decimal(uint64_t v);
std::string Decimal(int64_t v);

template <size_t N>
std::array<uint8_t, N> Array(const Bytes& b) {
  std::array<uint8_t, N> a{};
  std::copy(b.begin(), b.begin() + N, a.begin());
  return a;
}

SessionKey Key(const char* hex);
// The X25519 key pair of a private key given in hex.
KeyPair KeyPairOf(const char* private_hex);

// A frame sealed by the codec at a given counter.
Bytes Seal(const SessionKey& key, uint64_t counter, FrameType type, const Bytes& payload,
           const WireProfile& wire_profile);
// A frame around an arbitrary plaintext (no type byte, unknown types), as
// only a key holder could make it; the codec refuses to seal these.
Bytes SealRaw(const SessionKey& key, uint64_t counter, const Bytes& plaintext,
              const WireProfile& wire_profile);

// The generators of the kind table, one per (profile, kind). The handshake
// generators ignore the wire profile: each exists for one profile only.
void GenerateClientHandshakesV1(VectorBuilder& b, const WireProfile& wire_profile);
void GenerateServerHandshakesV1(VectorBuilder& b, const WireProfile& wire_profile);
void GenerateKeySchedulesV1(VectorBuilder& b, const WireProfile& wire_profile);
void GenerateClientHandshakesV2(VectorBuilder& b, const WireProfile& wire_profile);
void GenerateServerHandshakesV2(VectorBuilder& b, const WireProfile& wire_profile);
void GenerateKeySchedulesV2(VectorBuilder& b, const WireProfile& wire_profile);
void GenerateFrames(VectorBuilder& b, const WireProfile& wire_profile);
void GenerateFrameStreams(VectorBuilder& b, const WireProfile& wire_profile);
void GenerateRequestHeaders(VectorBuilder& b, const WireProfile& wire_profile);
void GenerateDatagrams(VectorBuilder& b, const WireProfile& wire_profile);
void GenerateFirstFlights(VectorBuilder& b, const WireProfile& wire_profile);

}  // namespace reflex::tools

#endif  // REFLEX_TOOLS_GENERATORS_H_
