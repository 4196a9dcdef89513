// FrameSealer: seals frames for one direction. It owns the direction's
// counter (first frame: counter 1 in v1) and never reuses a nonce: after
// counter 2^64-1 every seal fails with counter_exhausted.
#ifndef REFLEX_FRAME_SEALER_H_
#define REFLEX_FRAME_SEALER_H_

#include <cstddef>
#include <cstdint>
#include <span>

#include "pool/buffer.h"
#include "pool/buffer_pool.h"
#include "reflex/error.h"
#include "reflex/frame_nonce.h"
#include "reflex/key_schedule.h"
#include "reflex/wire.h"

namespace reflex {

class FrameSealer {
 public:
  FrameSealer(const SessionKey& key, pool::BufferPool& pool,
              uint64_t first_counter = kFirstFrameCounter);

  // Seals (type, payload) into one pooled buffer holding exactly the wire
  // bytes (19 + payload.size()): header, type and payload are written once
  // and encrypted in place. Errors: invalid_argument (unknown type),
  // frame_too_large (payload > 16384), counter_exhausted, alloc_failed. On
  // error *out is untouched and no counter is used.
  Error Seal(FrameType type, std::span<const uint8_t> payload,
             pool::Buffer* out);

  // Zero-copy sealing: NewFrame hands out a pooled buffer of
  // 19 + payload_size bytes whose payload area (PayloadOf) the caller fills,
  // e.g. straight from a socket; SealFrame then seals it in place. Empty
  // handle when payload_size > 16384 or the pool is out of memory.
  pool::Buffer NewFrame(size_t payload_size);
  static std::span<uint8_t> PayloadOf(pool::Buffer& frame) {
    return frame.span().subspan(kFrameHeaderBytes + kFrameTypeBytes,
                                frame.size() - kFrameOverheadBytes);
  }
  // Errors as Seal, and invalid_argument for a buffer NewFrame did not make
  // (smaller than 19 bytes).
  Error SealFrame(FrameType type, pool::Buffer& frame);

  // The same into caller memory: out.size() >= 19 + payload.size(), else
  // buffer_too_small. The payload may already sit at out[3..] (no copy is
  // made then); any other overlap is not allowed.
  Error SealInto(FrameType type, std::span<const uint8_t> payload,
                 std::span<uint8_t> out, size_t* written);

  uint64_t next_counter() const { return counter_.next(); }
  bool exhausted() const { return counter_.exhausted(); }

 private:
  Error Check(FrameType type, size_t payload_size) const;
  // Encrypts [type|payload] at frame[2..] in place and writes the header and
  // tag around it.
  void SealPrepared(uint8_t* frame, size_t payload_size);

  SessionKey key_;
  pool::BufferPool* pool_;
  FrameCounter counter_;
};

}  // namespace reflex

#endif  // REFLEX_FRAME_SEALER_H_
