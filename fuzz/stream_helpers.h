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
#include "reflex/unpooled_codec.h"

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

struct StreamOutcome {
  std::vector<unpooled::Frame> frames;
  Error error = Error::kOk;
};

// Decodes wire in the given chunking, checking on every call that: each
// call consumes something or finishes its chunk, at most one frame is
// buffered, counters are consecutive, nothing is yielded after an error
// and the error sticks.
inline StreamOutcome DecodeChecked(uint64_t first_counter, const std::vector<uint8_t>& wire,
                                   const std::vector<size_t>& chunks) {
  FrameDecoder decoder(FuzzKey(), FuzzPool(), first_counter);
  StreamOutcome out;
  uint64_t counter = first_counter;
  size_t yielded_bytes = 0;
  size_t at = 0;
  for (size_t i = 0; at < wire.size() && out.error == Error::kOk; ++i) {
    std::span<const uint8_t> in(wire.data() + at,
                                std::min(chunks[i % chunks.size()], wire.size() - at));
    at += in.size();
    while (!in.empty()) {
      size_t used = 0;
      DecodedFrame frame;
      const Error e = decoder.Decode(in, &used, &frame);
      if (e != Error::kOk) {
        FUZZ_CHECK(!frame, "a frame came with an error");
        out.error = e;
        break;
      }
      FUZZ_CHECK(used > 0 && used <= in.size(), "no progress, or consumed too much");
      FUZZ_CHECK(decoder.buffered() <= kMaxFrameBytes, "more than one frame buffered");
      in = in.subspan(used);
      if (frame) {
        FUZZ_CHECK(frame.counter == counter, "counters not consecutive");
        FUZZ_CHECK(frame.payload().size() <= kMaxPayloadBytes, "payload above the limit");
        counter = counter == UINT64_MAX ? 0 : counter + 1;
        yielded_bytes += frame.payload().size() + kFrameOverheadBytes;
        const auto p = frame.payload();
        out.frames.push_back({static_cast<uint8_t>(frame.type),
                              std::vector<uint8_t>(p.begin(), p.end())});
      }
    }
  }
  if (out.error == Error::kOk) out.error = decoder.Finish();
  FUZZ_CHECK(yielded_bytes <= wire.size(), "yielded more than the input");
  if (out.error != Error::kOk) {
    // Sticky: nothing more is consumed or yielded.
    const uint8_t more[kFrameOverheadBytes] = {0, 17};
    size_t used = 7;
    DecodedFrame frame;
    FUZZ_CHECK(decoder.Decode(more, &used, &frame) == out.error, "the error did not stick");
    FUZZ_CHECK(used == 0 && !frame, "a failed decoder consumed or yielded");
    FUZZ_CHECK(decoder.Finish() == out.error, "Finish forgot the error");
  }
  return out;
}

}  // namespace reflex::fuzz

#endif  // REFLEX_FUZZ_STREAM_HELPERS_H_
