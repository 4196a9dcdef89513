// Frame nonces and counters. Each direction numbers its frames; the AEAD
// nonce is made from the number in one of two layouts:
//   kV1     (v1-compat) the counter little-endian in bytes 0..7, then 4 zero
//           bytes; counters 1 .. 2^64-1 (the Go original starts at 1);
//   kNoise  (v2, a Noise CipherState) 4 zero bytes, then n little-endian in
//           bytes 4..11; n from 0 to 2^64-2 (Noise reserves 2^64-1).
// A counter never wraps: once the last one was used the direction is done.
#ifndef REFLEX_FRAME_NONCE_H_
#define REFLEX_FRAME_NONCE_H_

#include <array>
#include <cstdint>

#include "reflex/wire.h"

namespace reflex {

enum class NonceLayout : uint8_t { kV1, kNoise };

inline constexpr uint64_t LastCounter(NonceLayout layout) {
  return layout == NonceLayout::kV1 ? kLastFrameCounterV1 : UINT64_MAX - 1;
}

inline std::array<uint8_t, kAeadNonceBytes> FrameNonce(NonceLayout layout,
                                                       uint64_t counter) {
  std::array<uint8_t, kAeadNonceBytes> nonce{};
  const size_t at = layout == NonceLayout::kV1 ? 0 : 4;
  for (size_t i = 0; i < 8; ++i) {
    nonce[at + i] = static_cast<uint8_t>(counter >> (8 * i));
  }
  return nonce;
}

// A direction's counter: the next value to use, and whether the last one
// has been used already.
class FrameCounter {
 public:
  FrameCounter(uint64_t first, uint64_t last)
      : next_(first), last_(last), exhausted_(first > last) {}
  bool exhausted() const { return exhausted_; }
  uint64_t next() const { return next_; }
  // The value to use now; the caller checked !exhausted().
  uint64_t Take() {
    const uint64_t value = next_;
    if (next_ == last_) {
      exhausted_ = true;
    } else {
      ++next_;
    }
    return value;
  }

 private:
  uint64_t next_;
  uint64_t last_;
  bool exhausted_;
};

}  // namespace reflex

#endif  // REFLEX_FRAME_NONCE_H_
