// What the checks of every kind share (how a test's failures are collected
// and worded, fixed-size views of fields), and the check of each kind that
// the kind table (vector_kinds.cc) names. Internal to //tools:vectors.
#ifndef REFLEX_TOOLS_CHECKS_H_
#define REFLEX_TOOLS_CHECKS_H_

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "reflex/aead.h"
#include "reflex/error.h"
#include "reflex/key_schedule.h"
#include "reflex/profile.h"
#include "tools/vector_file.h"

namespace reflex::tools {

// The implementation name of the plain reference model in report lines.
inline constexpr char kReference[] = "reference";

// "codec/sodium", "codec/openssl": the codec with one AEAD backend.
std::string CodecName(AeadBackend backend);

// "differ at byte 5: expected 3a, got 3b" or "lengths differ: expected 22
// bytes, got 21": enough to start debugging a port, short for 16 KiB.
std::string Difference(const Bytes& expected, std::span<const uint8_t> got);

bool Same(const Bytes& expected, std::span<const uint8_t> got);

// Failure messages of one test; the implementation name prefixes each.
class Failures {
 public:
  void Add(const std::string& impl, const std::string& message);
  void ExpectBytes(const std::string& impl, const std::string& what, const Bytes& expected,
                   std::span<const uint8_t> got);
  void ExpectOk(const std::string& impl, const std::string& what, Error e);
  // For an invalid test: e must be an error, and the named one if given.
  void ExpectRefused(const std::string& impl, const std::string& what, Error e,
                     const std::optional<Error>& expected);
  bool empty() const { return messages_.empty(); }
  const std::vector<std::string>& messages() const { return messages_; }

 private:
  std::vector<std::string> messages_;
};

// A view of a field whose size the reader has checked.
template <size_t N>
std::span<const uint8_t, N> Fixed(const Bytes& b) {
  return std::span<const uint8_t, N>(b.data(), N);
}

SessionKey KeyOf(const Bytes& b);

bool HasAll(const VectorTest& t, std::initializer_list<const char*> names);

// Invalid tests may give the fields a malformed encoding was made from;
// then the encoding must agree with theirs wherever both have bytes
// (from skip_prefix on: outside the magic, for a bad_magic test).
void ExpectMadeFrom(const Bytes& encoded, const Bytes& from_fields, size_t skip_prefix,
                    Failures& out);

// The checks of the kind table, one per (profile, kind). The handshake
// checks ignore the wire profile: each exists for one profile only.
void CheckClientHandshakeV1(const VectorTest& t, const WireProfile& wire_profile, Failures& out);
void CheckServerHandshakeV1(const VectorTest& t, const WireProfile& wire_profile, Failures& out);
void CheckKeyScheduleV1(const VectorTest& t, const WireProfile& wire_profile, Failures& out);
void CheckClientHandshakeV2(const VectorTest& t, const WireProfile& wire_profile, Failures& out);
void CheckServerHandshakeV2(const VectorTest& t, const WireProfile& wire_profile, Failures& out);
void CheckKeyScheduleV2(const VectorTest& t, const WireProfile& wire_profile, Failures& out);
void CheckFrame(const VectorTest& t, const WireProfile& wire_profile, Failures& out);
void CheckFrameStream(const VectorTest& t, const WireProfile& wire_profile, Failures& out);
void CheckRequestHeader(const VectorTest& t, const WireProfile& wire_profile, Failures& out);
void CheckDatagram(const VectorTest& t, const WireProfile& wire_profile, Failures& out);
void CheckFirstFlight(const VectorTest& t, const WireProfile& wire_profile, Failures& out);

}  // namespace reflex::tools

#endif  // REFLEX_TOOLS_CHECKS_H_
