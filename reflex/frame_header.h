// The frame header: the 2-byte big-endian length of the sealed bytes that
// follow. The one place that decides what a length field allows, checked as
// soon as its 2 bytes are there, before any byte of the body is needed.
#ifndef REFLEX_FRAME_HEADER_H_
#define REFLEX_FRAME_HEADER_H_

#include <cstddef>

#include "reflex/byte_reader.h"
#include "reflex/error.h"

namespace reflex {

// frame_too_large above 16401 sealed bytes (a payload above 16384, which
// includes FFFE and FFFF); bad_length below 16 (no room for a tag). Exactly
// 16 passes here and fails after authentication as empty_plaintext.
Error CheckSealedLength(size_t sealed_length);

// Reads a length field from r and checks it: too_short when r holds fewer
// than 2 bytes (nothing read then), else as CheckSealedLength.
Error ReadFrameHeader(ByteReader& r, size_t* sealed_length);

}  // namespace reflex

#endif  // REFLEX_FRAME_HEADER_H_
