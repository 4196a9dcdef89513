// FrameOpener: opens the frames of one direction, in counter order, in the
// caller's memory. It holds the direction's one sticky error: any failure
// finishes it, because after a failed frame a stream cannot resynchronize
// and an opener that kept trying would become an oracle.
//
// Three ways in:
//   OpenInPlace  exactly one whole frame;
//   OpenNext     the next frame at the start of a receive buffer the caller
//                keeps (the zero-copy path: decrypted where it arrived);
//   BeginFrame + OpenBody  for a decoder that gathers a frame's body itself
//                (FrameDecoder): the length field is checked when its 2 bytes
//                arrive, the body opened once complete.
#ifndef REFLEX_FRAME_OPENER_H_
#define REFLEX_FRAME_OPENER_H_

#include <cstddef>
#include <cstdint>
#include <span>

#include "reflex/aead.h"
#include "reflex/error.h"
#include "reflex/frame_cipher.h"
#include "reflex/frame_header.h"
#include "reflex/frame_nonce.h"
#include "reflex/key_schedule.h"
#include "reflex/wire.h"

namespace reflex {

struct OpenedFrame {
  FrameType type = FrameType::kData;
  uint64_t counter = 0;
  std::span<uint8_t> payload;  // inside the caller's memory
};

class FrameOpener {
 public:
  // If the AEAD cannot be keyed the opener is finished from the start with
  // that error (crypto_init_failed, alloc_failed).
  // Starts at the profile's first counter, or at a later one.
  FrameOpener(const SessionKey& key, const FrameCipherOptions& options)
      : FrameOpener(key, options.profile.first_counter, options) {}
  FrameOpener(const SessionKey& key, uint64_t first_counter, const FrameCipherOptions& options);

  // Opens exactly one wire frame ([length][sealed bytes]) in place. Checks,
  // in order: too_short (fewer than 2 bytes), the length field
  // (CheckSealedLength), too_short / trailing_bytes (wire size against the
  // length), counter_exhausted, auth_failed, empty_plaintext,
  // unknown_frame_type. On success out->payload points into wire.
  Error OpenInPlace(std::span<uint8_t> wire, OpenedFrame* out);

  // Opens the frame at the start of `buffered` (bytes received and not yet
  // consumed) in place, if it is complete. ok with *consumed == 0: more
  // bytes are needed (a length field that has arrived was checked already);
  // ok with *consumed > 0: *out is the frame, its payload inside buffered,
  // and the caller drops *consumed bytes. Errors as OpenInPlace, except that
  // a short buffer is not an error here.
  Error OpenNext(std::span<uint8_t> buffered, size_t* consumed, OpenedFrame* out);

  // Checks a frame's length field before its body is needed: the length
  // rules (CheckSealedLength) and whether this direction can open another
  // frame (counter_exhausted). Then OpenBody opens exactly that many sealed
  // bytes, decrypting into plaintext (sealed.size() - 16 bytes; may be
  // sealed.data() itself). invalid_argument for an OpenBody without a
  // BeginFrame or of another length (a caller error, also sticky).
  Error BeginFrame(std::span<const uint8_t, kFrameHeaderBytes> header,
                   size_t* sealed_length);
  Error OpenBody(std::span<const uint8_t> sealed, uint8_t* plaintext,
                 OpenedFrame* out);

  // Finishes the direction with an error found outside the opener (the
  // stream ended inside a frame, the caller ran out of memory): every later
  // call returns it. A finished opener keeps its first error.
  Error Fail(Error e) {
    if (error_ == Error::kOk) error_ = e;
    return error_;
  }

  // The error that finished this opener, or ok.
  Error error() const { return error_; }
  uint64_t next_counter() const { return counter_.next(); }
  bool exhausted() const { return counter_.exhausted(); }
  // Whether BeginFrame accepted a length whose body was not opened yet.
  bool frame_begun() const { return pending_length_ != kNoFrame; }

 private:
  static constexpr size_t kNoFrame = SIZE_MAX;

  Aead aead_;
  NonceLayout layout_;
  FrameCounter counter_;
  size_t pending_length_ = kNoFrame;
  Error error_ = Error::kOk;
};

}  // namespace reflex

#endif  // REFLEX_FRAME_OPENER_H_
