// FrameSealer: seals the frames of one direction into caller memory. It
// owns the direction's counter and never reuses a nonce: once the last
// counter was used every seal fails with counter_exhausted. Pooled
// conveniences (a new pooled buffer per frame) are in pooled_frames.h.
#ifndef REFLEX_FRAME_SEALER_H_
#define REFLEX_FRAME_SEALER_H_

#include <cstddef>
#include <cstdint>
#include <span>

#include "reflex/aead.h"
#include "reflex/error.h"
#include "reflex/frame_cipher.h"
#include "reflex/frame_nonce.h"
#include "reflex/key_schedule.h"
#include "reflex/wire.h"

namespace reflex {

class FrameSealer {
 public:
  // If the AEAD cannot be keyed (crypto_init_failed, alloc_failed) the
  // sealer is finished from the start: error() and every Seal return that.
  // Starts at the profile's first counter.
  FrameSealer(const SessionKey& key, const FrameCipherOptions& options)
      : FrameSealer(key, options.profile.first_counter, options) {}
  // Starts at a later counter (a resumed direction, or a test of the last
  // counters).
  FrameSealer(const SessionKey& key, uint64_t first_counter, const FrameCipherOptions& options);

  // Seals (type, payload) into out[0 .. 19 + payload.size()): the length
  // field, then the type and payload encrypted, then the tag. The payload may
  // already sit at out[kFramePayloadOffset..] (then nothing is copied: fill
  // a buffer from a socket and seal it where it lies); any other overlap is
  // not allowed. Errors, checked in this order before anything is written
  // or any counter used: invalid_argument (a type other than 1..4),
  // frame_too_large (payload above 16384), counter_exhausted,
  // buffer_too_small (out shorter than 19 + payload.size()).
  Error SealInto(FrameType type, std::span<const uint8_t> payload,
                 std::span<uint8_t> out, size_t* written);

  // The construction error, or ok.
  Error error() const { return error_; }
  uint64_t next_counter() const { return counter_.next(); }
  bool exhausted() const { return counter_.exhausted(); }
  NonceLayout nonce_layout() const { return layout_; }

 private:
  Aead aead_;
  NonceLayout layout_;
  FrameCounter counter_;
  Error error_ = Error::kOk;
};

}  // namespace reflex

#endif  // REFLEX_FRAME_SEALER_H_
