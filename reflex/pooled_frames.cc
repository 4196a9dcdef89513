#include "reflex/pooled_frames.h"

#include <utility>

namespace reflex {

Error SealToBuffer(FrameSealer& sealer, pool::BufferPool& pool, FrameType type,
                   std::span<const uint8_t> payload, pool::Buffer* out) {
  // A payload no buffer is made for gets the sealer's own verdict.
  if (payload.size() > kMaxPayloadBytes) {
    size_t unused = 0;
    return sealer.SealInto(type, payload, {}, &unused);
  }
  pool::Buffer frame = pool.Get(kFrameOverheadBytes + payload.size());
  if (!frame) return Error::kAllocFailed;
  size_t written = 0;
  if (const Error e = sealer.SealInto(type, payload, frame.span(), &written);
      e != Error::kOk) {
    return e;
  }
  frame.set_wipe_on_return(false);  // only ciphertext is left
  *out = std::move(frame);
  return Error::kOk;
}

Error NewFrameBuffer(pool::BufferPool& pool, size_t payload_size, pool::Buffer* out) {
  if (payload_size > kMaxPayloadBytes) return Error::kFrameTooLarge;
  pool::Buffer frame = pool.Get(kFrameOverheadBytes + payload_size);
  if (!frame) return Error::kAllocFailed;
  *out = std::move(frame);
  return Error::kOk;
}

Error SealFrameBuffer(FrameSealer& sealer, FrameType type, pool::Buffer& frame) {
  if (frame.size() < kFrameOverheadBytes) return Error::kInvalidArgument;
  std::span<uint8_t> payload = FramePayload(frame);
  size_t written = 0;
  if (const Error e = sealer.SealInto(type, payload, frame.span(), &written);
      e != Error::kOk) {
    return e;
  }
  frame.set_wipe_on_return(false);  // only ciphertext is left
  return Error::kOk;
}

}  // namespace reflex
