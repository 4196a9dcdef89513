#include "reflex/frame_decoder.h"

#include <algorithm>
#include <cstring>

namespace reflex {

FrameDecoder::FrameDecoder(const SessionKey& key, pool::BufferPool& pool,
                           uint64_t first_counter,
                           const FrameCipherOptions& options)
    : opener_(key, first_counter, options), pool_(&pool) {}

Error FrameDecoder::Fail(Error e) {
  body_.Reset();
  body_have_ = 0;
  header_have_ = 0;
  return opener_.Fail(e);
}

Error FrameDecoder::Deliver(std::span<const uint8_t> sealed, uint8_t* plaintext,
                            pool::Buffer buffer, DecodedFrame* frame) {
  OpenedFrame opened;
  if (const Error e = opener_.OpenBody(sealed, plaintext, &opened); e != Error::kOk) {
    return Fail(e);
  }
  // Shrinking to the plaintext cannot fail; the tag's bytes are poisoned.
  (void)buffer.Resize(kFrameTypeBytes + opened.payload.size());
  frame->type = opened.type;
  frame->counter = opened.counter;
  frame->plaintext = std::move(buffer);
  header_have_ = 0;
  body_have_ = 0;
  return Error::kOk;
}

Error FrameDecoder::Decode(std::span<const uint8_t> input, size_t* consumed,
                           DecodedFrame* frame) {
  if (opener_.error() != Error::kOk) return opener_.error();
  size_t used = 0;

  // The 2-byte length field, possibly split across calls.
  while (header_have_ < kFrameHeaderBytes && used < input.size()) {
    header_[header_have_++] = input[used++];
  }
  if (header_have_ < kFrameHeaderBytes) {
    *consumed = used;
    return Error::kOk;
  }
  if (!opener_.frame_begun()) {
    // The length is checked before any of its body is buffered.
    if (const Error e = opener_.BeginFrame(header_, &sealed_length_); e != Error::kOk) {
      return Fail(e);
    }
    const std::span<const uint8_t> rest = input.subspan(used);
    if (rest.size() >= sealed_length_) {
      // The whole body is here: decrypt from the input into the frame's
      // buffer, no gathering.
      pool::Buffer buffer = pool_->Get(sealed_length_);
      if (!buffer) return Fail(Error::kAllocFailed);
      uint8_t* plaintext = buffer.data();  // before the buffer is moved
      if (const Error e = Deliver(rest.first(sealed_length_), plaintext,
                                  std::move(buffer), frame);
          e != Error::kOk) {
        return e;
      }
      *consumed = used + sealed_length_;
      return Error::kOk;
    }
    body_ = pool_->Get(sealed_length_);
    if (!body_) return Fail(Error::kAllocFailed);
  }

  const size_t take = std::min(sealed_length_ - body_have_, input.size() - used);
  if (take != 0) std::memcpy(body_.data() + body_have_, input.data() + used, take);
  body_have_ += take;
  used += take;
  if (body_have_ == sealed_length_) {
    uint8_t* sealed = body_.data();
    if (const Error e = Deliver({sealed, sealed_length_}, sealed, std::move(body_), frame);
        e != Error::kOk) {
      return e;
    }
  }
  *consumed = used;
  return Error::kOk;
}

Error FrameDecoder::Finish() {
  if (opener_.error() != Error::kOk) return opener_.error();
  if (buffered() != 0) return Fail(Error::kTooShort);
  return Error::kOk;
}

}  // namespace reflex
