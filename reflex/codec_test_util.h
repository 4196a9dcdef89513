// Shared by the codec tests: fixed keys and payloads, error printing.
#ifndef REFLEX_CODEC_TEST_UTIL_H_
#define REFLEX_CODEC_TEST_UTIL_H_

#include <cstdint>
#include <ostream>
#include <vector>

#include "reflex/error.h"
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

// n bytes of a recognisable pattern.
inline std::vector<uint8_t> TestPayload(size_t n, uint8_t salt = 0) {
  std::vector<uint8_t> p(n);
  for (size_t i = 0; i < n; ++i) p[i] = static_cast<uint8_t>(i * 31 + salt);
  return p;
}

}  // namespace reflex

#endif  // REFLEX_CODEC_TEST_UTIL_H_
