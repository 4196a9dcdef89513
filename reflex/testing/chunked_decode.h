// The one chunked-decode loop every test, fuzzer and tool shares: feeds a
// wire stream to a FrameDecoder in chunks and checks the decoder's contract
// on every call (progress, at most one frame buffered, consecutive
// counters, nothing written on error, the error sticky).
#ifndef REFLEX_TESTING_CHUNKED_DECODE_H_
#define REFLEX_TESTING_CHUNKED_DECODE_H_

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "reflex/error.h"
#include "reflex/frame_decoder.h"
#include "reflex/reference_model.h"

namespace reflex::testing {

// A chunk size meaning "everything that is left".
inline constexpr size_t kWholeInput = SIZE_MAX;

struct ChunkedDecode {
  std::vector<reference::Frame> frames;
  std::vector<uint64_t> counters;
  Error error = Error::kOk;  // the first error, Finish's included
  std::string broken;        // the first broken contract rule, or empty
};

// Feeds wire to decoder in chunks of chunk_sizes[0], [1], ... (cycled),
// decoding each chunk to its end, then calls Finish.
ChunkedDecode DecodeInChunks(FrameDecoder& decoder, std::span<const uint8_t> wire,
                             std::span<const size_t> chunk_sizes);

// The 23 chunkings of SPEC.md section 8: whole, 1, 2, 3, 5, 7, 16, 17, 18,
// 19, 64, 1000, 4096 and 16403-byte chunks, 1-2-3 cycles, and 8
// pseudo-random ones derived from seed.
std::vector<std::vector<size_t>> StandardChunkings(uint32_t seed);
std::string ChunkingName(const std::vector<size_t>& chunk_sizes);

}  // namespace reflex::testing

#endif  // REFLEX_TESTING_CHUNKED_DECODE_H_
