// Fixed material the frame targets share: one key, one pool per process.
#ifndef REFLEX_FUZZ_FUZZ_FIXTURES_H_
#define REFLEX_FUZZ_FUZZ_FIXTURES_H_

#include <cstdint>
#include <vector>

#include "pool/buffer_pool.h"
#include "reflex/aead.h"
#include "reflex/key_schedule.h"

namespace reflex::fuzz {

inline SessionKey FuzzKey() {
  SessionKey key;
  for (size_t i = 0; i < key.size(); ++i) key.data()[i] = static_cast<uint8_t>(0xA0 + i);
  return key;
}

inline std::vector<uint8_t> FuzzKeyBytes() {
  const SessionKey k = FuzzKey();
  return std::vector<uint8_t>(k.data(), k.data() + k.size());
}

// The AEAD backend an input runs with: both are fuzzed, chosen by the
// input's size so every corpus exercises each.
inline AeadBackend FuzzBackend(size_t input_size) {
  return kAllAeadBackends[input_size % 2];
}

// One pool for the whole process, as a proxy has: buffers handed out by one
// input and returned are reused (poisoned, checked) by the next.
inline pool::BufferPool& FuzzPool() {
  static pool::BufferPool* pool = [] {
    pool::PoolOptions options;
    options.name = "fuzz";
    options.checked = true;  // verify the fill pattern on every reuse
    return new pool::BufferPool(options);
  }();
  return *pool;
}

}  // namespace reflex::fuzz

#endif  // REFLEX_FUZZ_FUZZ_FIXTURES_H_
