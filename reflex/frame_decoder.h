// FrameDecoder: a pooled convenience on top of FrameOpener, the streaming
// decoder of one direction for callers that do not keep the received bytes
// themselves. Accepts bytes in any chunking, yields frames in counter order,
// each in its own pooled buffer, buffers at most one frame (16403 bytes),
// and yields nothing after an error (the opener's sticky error is its own).
//
// When a whole frame sits in one input chunk it is decrypted straight from
// the input into its buffer (one pass over the bytes). A frame split across
// chunks is gathered into its buffer first and decrypted there (a copy, then
// the decryption). Callers that keep their own receive buffer should use
// FrameOpener::OpenNext instead: it decrypts in place, with no copy at all.
#ifndef REFLEX_FRAME_DECODER_H_
#define REFLEX_FRAME_DECODER_H_

#include <cstddef>
#include <cstdint>
#include <span>

#include "pool/buffer.h"
#include "pool/buffer_pool.h"
#include "reflex/error.h"
#include "reflex/frame_cipher.h"
#include "reflex/frame_opener.h"
#include "reflex/key_schedule.h"
#include "reflex/wire.h"

namespace reflex {

struct DecodedFrame {
  FrameType type = FrameType::kData;
  uint64_t counter = 0;
  // [type][payload], wiped when returned to the pool.
  pool::Buffer plaintext;

  explicit operator bool() const { return static_cast<bool>(plaintext); }
  std::span<const uint8_t> payload() const {
    return plaintext.span().subspan(kFrameTypeBytes);
  }
};

class FrameDecoder {
 public:
  // Starts at the profile's first counter, or at a later one.
  FrameDecoder(const SessionKey& key, pool::BufferPool& pool, const FrameCipherOptions& options)
      : FrameDecoder(key, pool, options.profile.first_counter, options) {}
  FrameDecoder(const SessionKey& key, pool::BufferPool& pool, uint64_t first_counter,
               const FrameCipherOptions& options);

  // Consumes input up to the end of the first frame it completes. On ok:
  // *consumed bytes were taken (at least one, when input is not empty);
  // *frame holds the completed frame, or is left empty when all input was
  // taken and no frame completed yet. On error nothing is written (neither
  // *consumed nor *frame) and the decoder is finished: the same error comes
  // back from every later call.
  //
  //   while (!in.empty()) {
  //     size_t n; DecodedFrame f;
  //     if (decoder.Decode(in, &n, &f) != Error::kOk) break;
  //     in = in.subspan(n);
  //     if (f) Deliver(f);
  //   }
  Error Decode(std::span<const uint8_t> input, size_t* consumed,
               DecodedFrame* frame);

  // End of stream: too_short if part of a frame is still buffered (the
  // stream was cut), else the decoder's error (ok if none).
  Error Finish();

  Error error() const { return opener_.error(); }
  // Bytes of an incomplete frame held (header included).
  size_t buffered() const { return header_have_ + body_have_; }
  uint64_t next_counter() const { return opener_.next_counter(); }

 private:
  Error Fail(Error e);
  Error Deliver(std::span<const uint8_t> sealed, uint8_t* plaintext,
                pool::Buffer buffer, DecodedFrame* frame);

  FrameOpener opener_;
  pool::BufferPool* pool_;
  uint8_t header_[kFrameHeaderBytes] = {};
  size_t header_have_ = 0;
  size_t sealed_length_ = 0;  // valid once the opener began the frame
  pool::Buffer body_;         // gathers a frame split across chunks
  size_t body_have_ = 0;
};

}  // namespace reflex

#endif  // REFLEX_FRAME_DECODER_H_
