#include "reflex/frame_sealer.h"

#include <cstring>

namespace reflex {

FrameSealer::FrameSealer(const SessionKey& key, uint64_t first_counter,
                         const FrameCipherOptions& options)
    : layout_(options.profile.nonce_layout),
      counter_(first_counter, options.profile.last_counter) {
  error_ = aead_.Init(options.backend, AeadDirection::kSeal, key.span());
}

Error FrameSealer::SealInto(FrameType type, std::span<const uint8_t> payload,
                            std::span<uint8_t> out, size_t* written) {
  if (error_ != Error::kOk) return error_;
  if (!IsKnownFrameType(static_cast<uint8_t>(type))) {
    return Error::kInvalidArgument;
  }
  if (payload.size() > kMaxPayloadBytes) return Error::kFrameTooLarge;
  if (counter_.exhausted()) return Error::kCounterExhausted;
  const size_t total = kFrameOverheadBytes + payload.size();
  if (out.size() < total) return Error::kBufferTooSmall;

  uint8_t* frame = out.data();
  uint8_t* payload_slot = frame + kFramePayloadOffset;
  if (!payload.empty() && payload.data() != payload_slot) {
    std::memcpy(payload_slot, payload.data(), payload.size());
  }
  const size_t plaintext_size = kFrameTypeBytes + payload.size();
  const size_t sealed_size = plaintext_size + kTagBytes;
  frame[0] = static_cast<uint8_t>(sealed_size >> 8);
  frame[1] = static_cast<uint8_t>(sealed_size);
  frame[kFrameHeaderBytes] = static_cast<uint8_t>(type);
  const auto nonce = FrameNonce(layout_, counter_.Take());
  uint8_t* plaintext = frame + kFrameHeaderBytes;
  const Error e = aead_.Seal(nonce, {}, {plaintext, plaintext_size},
                             std::span<uint8_t, kTagBytes>(plaintext + plaintext_size,
                                                           kTagBytes));
  // A backend failure wiped the plaintext; the length field must not make
  // the rest look like a frame.
  if (e != Error::kOk) {
    frame[0] = frame[1] = 0;
    return e;
  }
  *written = total;
  return Error::kOk;
}

}  // namespace reflex
