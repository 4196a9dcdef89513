#include "reflex/frame_decoder.h"

#include <algorithm>
#include <cstring>

namespace reflex {

FrameDecoder::FrameDecoder(const SessionKey& key, pool::BufferPool& pool,
                           uint64_t first_counter)
    : opener_(key, first_counter), pool_(&pool) {}

Error FrameDecoder::Fail(Error e) {
  error_ = e;
  body_.Reset();
  body_have_ = 0;
  header_have_ = 0;
  return e;
}

Error FrameDecoder::Deliver(std::span<const uint8_t> sealed,
                            uint8_t* plaintext, pool::Buffer buffer,
                            DecodedFrame* frame) {
  OpenedFrame opened;
  if (const Error e = opener_.OpenSealed(sealed, plaintext, &opened);
      e != Error::kOk) {
    return Fail(e);
  }
  buffer.Resize(kFrameTypeBytes + opened.payload.size());
  frame->type = opened.type;
  frame->counter = opened.counter;
  frame->plaintext = std::move(buffer);
  header_have_ = 0;
  body_have_ = 0;
  return Error::kOk;
}

Error FrameDecoder::Decode(std::span<const uint8_t> input, size_t* consumed,
                           DecodedFrame* frame) {
  *consumed = 0;
  if (error_ != Error::kOk) return error_;
  size_t used = 0;

  // The 2-byte length field, possibly split across calls.
  while (header_have_ < kFrameHeaderBytes && used < input.size()) {
    header_[header_have_++] = input[used++];
  }
  if (header_have_ < kFrameHeaderBytes) {
    *consumed = used;
    return Error::kOk;
  }
  if (body_have_ == 0 && !body_) {
    sealed_length_ = (size_t{header_[0]} << 8) | header_[1];
    // Refuse an impossible length before buffering any of its body.
    if (const Error e = CheckSealedLength(sealed_length_); e != Error::kOk) {
      *consumed = used;
      return Fail(e);
    }
    if (opener_.exhausted()) {
      *consumed = used;
      return Fail(Error::kCounterExhausted);
    }
    const std::span<const uint8_t> rest = input.subspan(used);
    if (rest.size() >= sealed_length_) {
      // The whole body is here: decrypt from the input into the frame's
      // buffer, no gathering.
      pool::Buffer buffer = pool_->Get(sealed_length_);
      if (!buffer) return Fail(Error::kAllocFailed);
      *consumed = used + sealed_length_;
      uint8_t* plaintext = buffer.data();  // before the buffer is moved
      return Deliver(rest.first(sealed_length_), plaintext, std::move(buffer),
                     frame);
    }
    body_ = pool_->Get(sealed_length_);
    if (!body_) return Fail(Error::kAllocFailed);
  }

  const size_t take = std::min(sealed_length_ - body_have_, input.size() - used);
  if (take != 0) std::memcpy(body_.data() + body_have_, input.data() + used, take);
  body_have_ += take;
  used += take;
  *consumed = used;
  if (body_have_ < sealed_length_) return Error::kOk;
  uint8_t* sealed = body_.data();
  return Deliver({sealed, sealed_length_}, sealed, std::move(body_), frame);
}

Error FrameDecoder::Finish() {
  if (error_ != Error::kOk) return error_;
  if (buffered() != 0) return Fail(Error::kTooShort);
  return Error::kOk;
}

}  // namespace reflex
