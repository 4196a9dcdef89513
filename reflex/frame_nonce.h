// The v1 AEAD nonce of a frame: the 64-bit counter little-endian in bytes
// 0..7, then 4 zero bytes.
#ifndef REFLEX_FRAME_NONCE_H_
#define REFLEX_FRAME_NONCE_H_

#include <array>
#include <cstdint>

#include "reflex/wire.h"

namespace reflex {

inline std::array<uint8_t, kAeadNonceBytes> FrameNonce(uint64_t counter) {
  std::array<uint8_t, kAeadNonceBytes> nonce{};
  for (size_t i = 0; i < 8; ++i) {
    nonce[i] = static_cast<uint8_t>(counter >> (8 * i));
  }
  return nonce;
}

// A direction's counter: the next value to use, and whether 2^64-1 has been
// used already (the counter never wraps).
class FrameCounter {
 public:
  explicit FrameCounter(uint64_t first) : next_(first) {}
  bool exhausted() const { return exhausted_; }
  uint64_t next() const { return next_; }
  // The value to use now; the caller checked !exhausted().
  uint64_t Take() {
    const uint64_t value = next_;
    if (next_ == UINT64_MAX) {
      exhausted_ = true;
    } else {
      ++next_;
    }
    return value;
  }

 private:
  uint64_t next_;
  bool exhausted_ = false;
};

}  // namespace reflex

#endif  // REFLEX_FRAME_NONCE_H_
