// Shared by the stream targets: fuzzer-chosen chunkings and counters, and a
// decode loop that checks the decoder's invariants as it goes.
#ifndef REFLEX_FUZZ_STREAM_HELPERS_H_
#define REFLEX_FUZZ_STREAM_HELPERS_H_

#include <cstdint>
#include <vector>

#include "fuzz/fuzz_check.h"
#include "fuzz/fuzz_fixtures.h"
#include "fuzz/fuzz_input.h"
#include "reflex/frame_decoder.h"
#include "reflex/reference_model.h"
#include "reflex/testing/chunked_decode.h"

namespace reflex::fuzz {

// 1..8 chunk sizes, used in turn; small sizes are likely.
inline std::vector<size_t> ChooseChunking(FuzzInput& in) {
  std::vector<size_t> chunks(1 + in.U8() % 8);
  for (size_t& c : chunks) {
    const uint16_t v = in.U16();
    c = (v & 0x8000) ? 1 + (v & 0x7FFF) : 1 + (v & 0x1F);
  }
  return chunks;
}

inline uint64_t ChooseCounter(FuzzInput& in) {
  switch (in.U8() % 5) {
    case 0:
      return 1;
    case 1:
      return UINT64_C(0xFFFFFFFF);
    case 2:
      return UINT64_MAX - 1;
    case 3:
      return UINT64_MAX;
    default:
      return in.U64();
  }
}

// Decodes wire in the given chunking with the shared loop, which checks the
// decoder's contract on every call (progress, at most one frame buffered,
// consecutive counters, nothing written on error, the error sticky).
inline testing::ChunkedDecode DecodeChecked(uint64_t first_counter,
                                            const std::vector<uint8_t>& wire,
                                            const std::vector<size_t>& chunks,
                                            AeadBackend backend) {
  FrameDecoder decoder(FuzzKey(), FuzzPool(), first_counter, {kWireProfileV1, backend});
  testing::ChunkedDecode out = testing::DecodeInChunks(decoder, wire, chunks);
  FUZZ_CHECK(out.broken.empty(), out.broken.c_str());
  size_t yielded_bytes = 0;
  for (const auto& f : out.frames) yielded_bytes += f.payload.size() + kFrameOverheadBytes;
  FUZZ_CHECK(yielded_bytes <= wire.size(), "yielded more than the input");
  return out;
}

}  // namespace reflex::fuzz

#endif  // REFLEX_FUZZ_STREAM_HELPERS_H_
