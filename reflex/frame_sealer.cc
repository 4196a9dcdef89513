#include "reflex/frame_sealer.h"

#include <sodium.h>

#include <cstring>

namespace reflex {

FrameSealer::FrameSealer(const SessionKey& key, pool::BufferPool& pool,
                         uint64_t first_counter)
    : key_(key), pool_(&pool), counter_(first_counter) {
  InitCrypto();
}

Error FrameSealer::Check(FrameType type, size_t payload_size) const {
  if (!IsKnownFrameType(static_cast<uint8_t>(type))) {
    return Error::kInvalidArgument;
  }
  if (payload_size > kMaxPayloadBytes) return Error::kFrameTooLarge;
  if (counter_.exhausted()) return Error::kCounterExhausted;
  return Error::kOk;
}

void FrameSealer::SealPrepared(uint8_t* frame, size_t payload_size) {
  const size_t plaintext_size = kFrameTypeBytes + payload_size;
  const size_t sealed_size = plaintext_size + kTagBytes;
  frame[0] = static_cast<uint8_t>(sealed_size >> 8);
  frame[1] = static_cast<uint8_t>(sealed_size);
  const auto nonce = FrameNonce(counter_.Take());
  uint8_t* plaintext = frame + kFrameHeaderBytes;
  crypto_aead_chacha20poly1305_ietf_encrypt_detached(
      plaintext, plaintext + plaintext_size, nullptr, plaintext,
      plaintext_size, nullptr, 0, nullptr, nonce.data(), key_.data());
}

Error FrameSealer::Seal(FrameType type, std::span<const uint8_t> payload,
                        pool::Buffer* out) {
  if (const Error e = Check(type, payload.size()); e != Error::kOk) return e;
  pool::Buffer frame = pool_->Get(kFrameOverheadBytes + payload.size());
  if (!frame) return Error::kAllocFailed;
  uint8_t* p = frame.data();
  p[kFrameHeaderBytes] = static_cast<uint8_t>(type);
  if (!payload.empty()) {
    std::memcpy(p + kFrameHeaderBytes + kFrameTypeBytes, payload.data(),
                payload.size());
  }
  SealPrepared(p, payload.size());
  // Only ciphertext is left: returning it needs no wipe.
  frame.set_wipe_on_return(false);
  *out = std::move(frame);
  return Error::kOk;
}

pool::Buffer FrameSealer::NewFrame(size_t payload_size) {
  if (payload_size > kMaxPayloadBytes) return pool::Buffer();
  return pool_->Get(kFrameOverheadBytes + payload_size);
}

Error FrameSealer::SealFrame(FrameType type, pool::Buffer& frame) {
  if (frame.size() < kFrameOverheadBytes) return Error::kInvalidArgument;
  const size_t payload_size = frame.size() - kFrameOverheadBytes;
  if (const Error e = Check(type, payload_size); e != Error::kOk) return e;
  frame.data()[kFrameHeaderBytes] = static_cast<uint8_t>(type);
  SealPrepared(frame.data(), payload_size);
  frame.set_wipe_on_return(false);  // only ciphertext is left
  return Error::kOk;
}

Error FrameSealer::SealInto(FrameType type, std::span<const uint8_t> payload,
                            std::span<uint8_t> out, size_t* written) {
  if (const Error e = Check(type, payload.size()); e != Error::kOk) return e;
  const size_t total = kFrameOverheadBytes + payload.size();
  if (out.size() < total) return Error::kBufferTooSmall;
  uint8_t* p = out.data();
  uint8_t* payload_slot = p + kFrameHeaderBytes + kFrameTypeBytes;
  if (!payload.empty() && payload.data() != payload_slot) {
    std::memcpy(payload_slot, payload.data(), payload.size());
  }
  p[kFrameHeaderBytes] = static_cast<uint8_t>(type);
  SealPrepared(p, payload.size());
  *written = total;
  return Error::kOk;
}

}  // namespace reflex
