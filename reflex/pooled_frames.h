// Pooled conveniences for sealing: each frame in a buffer of its own from a
// pool::BufferPool, returned to the pool (unwiped: it holds only
// ciphertext) when the handle goes. On top of FrameSealer::SealInto, which
// works on caller memory.
#ifndef REFLEX_POOLED_FRAMES_H_
#define REFLEX_POOLED_FRAMES_H_

#include <cstddef>
#include <span>

#include "pool/buffer.h"
#include "pool/buffer_pool.h"
#include "reflex/error.h"
#include "reflex/frame_sealer.h"
#include "reflex/wire.h"

namespace reflex {

// Seals (type, payload) into a new pooled buffer holding exactly the wire
// bytes. Errors as FrameSealer::SealInto, and alloc_failed. *out is written
// only on success.
Error SealToBuffer(FrameSealer& sealer, pool::BufferPool& pool, FrameType type,
                   std::span<const uint8_t> payload, pool::Buffer* out);

// Zero-copy sealing: a pooled buffer of 19 + payload_size bytes whose
// payload area (FramePayload) the caller fills, e.g. straight from a socket;
// SealFrameBuffer then seals it where it lies. frame_too_large above 16384,
// alloc_failed when the pool is out of memory.
Error NewFrameBuffer(pool::BufferPool& pool, size_t payload_size, pool::Buffer* out);
inline std::span<uint8_t> FramePayload(pool::Buffer& frame) {
  return frame.size() < kFrameOverheadBytes
             ? std::span<uint8_t>()
             : frame.span().subspan(kFramePayloadOffset,
                                    frame.size() - kFrameOverheadBytes);
}
// Errors as SealInto, and invalid_argument for a buffer smaller than 19
// bytes (not made by NewFrameBuffer).
Error SealFrameBuffer(FrameSealer& sealer, FrameType type, pool::Buffer& frame);

}  // namespace reflex

#endif  // REFLEX_POOLED_FRAMES_H_
