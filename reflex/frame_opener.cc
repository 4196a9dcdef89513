#include "reflex/frame_opener.h"

#include <sodium.h>

namespace reflex {

Error CheckSealedLength(size_t sealed_length) {
  if (sealed_length > kMaxSealedBytes) return Error::kFrameTooLarge;
  if (sealed_length < kTagBytes) return Error::kBadLength;
  return Error::kOk;
}

FrameOpener::FrameOpener(const SessionKey& key, uint64_t first_counter)
    : key_(key), counter_(first_counter) {
  InitCrypto();
}

Error FrameOpener::OpenInPlace(std::span<uint8_t> wire, OpenedFrame* out) {
  if (error_ != Error::kOk) return error_;
  if (wire.size() < kFrameHeaderBytes) return Fail(Error::kTooShort);
  const size_t length = (size_t{wire[0]} << 8) | wire[1];
  if (const Error e = CheckSealedLength(length); e != Error::kOk) {
    return Fail(e);
  }
  if (wire.size() < kFrameHeaderBytes + length) return Fail(Error::kTooShort);
  if (wire.size() > kFrameHeaderBytes + length) {
    return Fail(Error::kTrailingBytes);
  }
  uint8_t* sealed = wire.data() + kFrameHeaderBytes;
  return OpenSealed({sealed, length}, sealed, out);
}

Error FrameOpener::OpenSealed(std::span<const uint8_t> sealed,
                              uint8_t* plaintext, OpenedFrame* out) {
  if (error_ != Error::kOk) return error_;
  if (const Error e = CheckSealedLength(sealed.size()); e != Error::kOk) {
    return Fail(e);
  }
  if (counter_.exhausted()) return Fail(Error::kCounterExhausted);
  const size_t plaintext_size = sealed.size() - kTagBytes;
  const uint64_t counter = counter_.Take();
  const auto nonce = FrameNonce(counter);
  if (crypto_aead_chacha20poly1305_ietf_decrypt_detached(
          plaintext, nullptr, sealed.data(), plaintext_size,
          sealed.data() + plaintext_size, nullptr, 0, nonce.data(),
          key_.data()) != 0) {
    return Fail(Error::kAuthFailed);
  }
  if (plaintext_size == 0) return Fail(Error::kEmptyPlaintext);
  if (!IsKnownFrameType(plaintext[0])) {
    sodium_memzero(plaintext, plaintext_size);
    return Fail(Error::kUnknownFrameType);
  }
  out->type = static_cast<FrameType>(plaintext[0]);
  out->counter = counter;
  out->payload = {plaintext + kFrameTypeBytes, plaintext_size - kFrameTypeBytes};
  return Error::kOk;
}

}  // namespace reflex
