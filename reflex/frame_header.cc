#include "reflex/frame_header.h"

#include <cstdint>

#include "reflex/wire.h"

namespace reflex {

Error CheckSealedLength(size_t sealed_length) {
  if (sealed_length > kMaxSealedBytes) return Error::kFrameTooLarge;
  if (sealed_length < kMinSealedBytes) return Error::kBadLength;
  return Error::kOk;
}

Error ReadFrameHeader(ByteReader& r, size_t* sealed_length) {
  uint16_t length = 0;
  if (!r.ReadU16BE(&length)) return Error::kTooShort;
  if (const Error e = CheckSealedLength(length); e != Error::kOk) return e;
  *sealed_length = length;
  return Error::kOk;
}

}  // namespace reflex
