// FrameOpener: opens frames for one direction, in counter order. Any error
// finishes it (sticky): after a failed frame a stream cannot resynchronize,
// and trying would turn the opener into an oracle.
#ifndef REFLEX_FRAME_OPENER_H_
#define REFLEX_FRAME_OPENER_H_

#include <cstddef>
#include <cstdint>
#include <span>

#include "reflex/error.h"
#include "reflex/frame_nonce.h"
#include "reflex/key_schedule.h"
#include "reflex/wire.h"

namespace reflex {

struct OpenedFrame {
  FrameType type = FrameType::kData;
  uint64_t counter = 0;
  std::span<uint8_t> payload;  // inside the caller's memory
};

// What a frame's 2-byte length field allows, checked before any bytes of the
// body are needed: frame_too_large above 16401 sealed bytes (payload above
// 16384), bad_length below 16 (no room for a tag). Exactly 16 passes here and
// fails after authentication as empty_plaintext.
Error CheckSealedLength(size_t sealed_length);

class FrameOpener {
 public:
  explicit FrameOpener(const SessionKey& key,
                       uint64_t first_counter = kFirstFrameCounter);

  // Opens exactly one wire frame ([length][sealed bytes]) in place. Checks,
  // in order: too_short (fewer than 2 bytes), the length field
  // (CheckSealedLength), too_short / trailing_bytes (wire size against the
  // length), counter_exhausted, auth_failed, empty_plaintext,
  // unknown_frame_type. On success out->payload points into wire.
  Error OpenInPlace(std::span<uint8_t> wire, OpenedFrame* out);

  // Opens sealed bytes whose length field was already checked, decrypting
  // into plaintext (plaintext.size() >= sealed.size() - 16; it may be
  // sealed.data() itself). On failure nothing decrypted is left behind.
  Error OpenSealed(std::span<const uint8_t> sealed, uint8_t* plaintext,
                   OpenedFrame* out);

  // The error that finished this opener, or ok.
  Error error() const { return error_; }
  uint64_t next_counter() const { return counter_.next(); }
  bool exhausted() const { return counter_.exhausted(); }

 private:
  Error Fail(Error e) {
    error_ = e;
    return e;
  }

  SessionKey key_;
  FrameCounter counter_;
  Error error_ = Error::kOk;
};

}  // namespace reflex

#endif  // REFLEX_FRAME_OPENER_H_
