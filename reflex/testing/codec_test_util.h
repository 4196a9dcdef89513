// Shared by the codec tests: fixed keys and payloads, error printing, and
// the fixture that runs a test once per AEAD backend (libsodium first).
#ifndef REFLEX_CODEC_TEST_UTIL_H_
#define REFLEX_CODEC_TEST_UTIL_H_

#include <gtest/gtest.h>

#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

#include "reflex/aead.h"
#include "reflex/error.h"
#include "reflex/frame_cipher.h"
#include "reflex/key_schedule.h"

namespace reflex {

// gtest prints error codes by name.
inline void PrintTo(Error e, std::ostream* os) { *os << ErrorName(e); }

// Key bytes seed, seed+1, ..., seed+31.
inline SessionKey TestKey(uint8_t seed = 0) {
  SessionKey key;
  for (size_t i = 0; i < key.size(); ++i) key.data()[i] = static_cast<uint8_t>(seed + i);
  return key;
}

inline std::vector<uint8_t> KeyBytes(const SessionKey& k) {
  return std::vector<uint8_t>(k.data(), k.data() + k.size());
}

// n bytes of a recognisable pattern.
inline std::vector<uint8_t> TestPayload(size_t n, uint8_t salt = 0) {
  std::vector<uint8_t> p(n);
  for (size_t i = 0; i < n; ++i) p[i] = static_cast<uint8_t>(i * 31 + salt);
  return p;
}

// TEST_P fixtures derive from this; instantiate with
//   INSTANTIATE_TEST_SUITE_P(Backends, Fixture, AllBackends(), BackendName);
class BackendTest : public ::testing::TestWithParam<AeadBackend> {
 protected:
  AeadBackend backend() const { return GetParam(); }
  FrameCipherOptions v1() const { return {kWireProfileV1, GetParam()}; }
  FrameCipherOptions v2() const { return {kWireProfileV2, GetParam()}; }
};

inline auto AllBackends() { return ::testing::ValuesIn(kAllAeadBackends); }
inline std::string BackendName(const ::testing::TestParamInfo<AeadBackend>& info) {
  return std::string(AeadBackendName(info.param));
}

}  // namespace reflex

#endif  // REFLEX_CODEC_TEST_UTIL_H_
