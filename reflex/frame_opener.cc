#include "reflex/frame_opener.h"

#include <sodium.h>

namespace reflex {

FrameOpener::FrameOpener(const SessionKey& key, uint64_t first_counter,
                         const FrameCipherOptions& options)
    : layout_(options.profile.nonce_layout),
      counter_(first_counter, options.profile.last_counter) {
  error_ = aead_.Init(options.backend, AeadDirection::kOpen, key.span());
}

Error FrameOpener::BeginFrame(std::span<const uint8_t, kFrameHeaderBytes> header,
                              size_t* sealed_length) {
  if (error_ != Error::kOk) return error_;
  ByteReader r(header);
  size_t length = 0;
  if (const Error e = ReadFrameHeader(r, &length); e != Error::kOk) {
    return Fail(e);
  }
  if (counter_.exhausted()) return Fail(Error::kCounterExhausted);
  pending_length_ = length;
  *sealed_length = length;
  return Error::kOk;
}

Error FrameOpener::OpenBody(std::span<const uint8_t> sealed, uint8_t* plaintext,
                            OpenedFrame* out) {
  if (error_ != Error::kOk) return error_;
  if (sealed.size() != pending_length_) return Fail(Error::kInvalidArgument);
  pending_length_ = kNoFrame;
  const size_t plaintext_size = sealed.size() - kTagBytes;
  const uint64_t counter = counter_.Take();
  const auto nonce = FrameNonce(layout_, counter);
  if (const Error e = aead_.Open(
          nonce, {}, sealed.first(plaintext_size),
          std::span<const uint8_t, kTagBytes>(sealed.data() + plaintext_size, kTagBytes),
          plaintext);
      e != Error::kOk) {
    return Fail(e);
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

Error FrameOpener::OpenInPlace(std::span<uint8_t> wire, OpenedFrame* out) {
  if (error_ != Error::kOk) return error_;
  // SPEC.md 5.3's order: the length field, the wire's size against it, and
  // only then whether this direction can open another frame (BeginFrame).
  ByteReader r(wire);
  size_t length = 0;
  if (const Error e = ReadFrameHeader(r, &length); e != Error::kOk) return Fail(e);
  if (r.remaining() < length) return Fail(Error::kTooShort);
  if (r.remaining() > length) return Fail(Error::kTrailingBytes);
  if (const Error e = BeginFrame(wire.first<kFrameHeaderBytes>(), &length); e != Error::kOk) {
    return e;
  }
  uint8_t* sealed = wire.data() + kFrameHeaderBytes;
  return OpenBody({sealed, length}, sealed, out);
}

Error FrameOpener::OpenNext(std::span<uint8_t> buffered, size_t* consumed,
                            OpenedFrame* out) {
  if (error_ != Error::kOk) return error_;
  if (buffered.size() < kFrameHeaderBytes) {
    *consumed = 0;
    return Error::kOk;
  }
  size_t length = pending_length_;
  if (!frame_begun()) {
    if (const Error e = BeginFrame(buffered.first<kFrameHeaderBytes>(), &length);
        e != Error::kOk) {
      return e;
    }
  }
  if (buffered.size() < kFrameHeaderBytes + length) {
    *consumed = 0;
    return Error::kOk;
  }
  uint8_t* sealed = buffered.data() + kFrameHeaderBytes;
  OpenedFrame frame;
  if (const Error e = OpenBody({sealed, length}, sealed, &frame); e != Error::kOk) {
    return e;
  }
  *out = frame;
  *consumed = kFrameHeaderBytes + length;
  return Error::kOk;
}

}  // namespace reflex
