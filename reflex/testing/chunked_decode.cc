#include "reflex/testing/chunked_decode.h"

#include <algorithm>
#include <random>

namespace reflex::testing {

ChunkedDecode DecodeInChunks(FrameDecoder& decoder, std::span<const uint8_t> wire,
                             std::span<const size_t> chunk_sizes) {
  ChunkedDecode out;
  auto broken = [&](const char* rule) {
    if (out.broken.empty()) out.broken = rule;
  };
  uint64_t counter = decoder.next_counter();
  size_t at = 0;
  for (size_t i = 0; at < wire.size() && out.error == Error::kOk; ++i) {
    const size_t want = chunk_sizes.empty() ? kWholeInput : chunk_sizes[i % chunk_sizes.size()];
    std::span<const uint8_t> in = wire.subspan(at, std::min(want, wire.size() - at));
    at += in.size();
    while (!in.empty()) {
      constexpr size_t kUntouched = 0xC0FFEE;
      size_t used = kUntouched;
      DecodedFrame frame;
      const Error e = decoder.Decode(in, &used, &frame);
      if (e != Error::kOk) {
        if (used != kUntouched || frame) broken("an error wrote an output");
        if (decoder.error() != e) broken("error() is not the error returned");
        out.error = e;
        break;
      }
      if (used == 0 || used > in.size()) broken("no progress, or more consumed than given");
      if (decoder.buffered() > kMaxFrameBytes) broken("more than one frame buffered");
      in = in.subspan(std::min(used, in.size()));
      if (frame) {
        if (frame.counter != counter) broken("counters not consecutive");
        if (frame.payload().size() > kMaxPayloadBytes) broken("payload above the limit");
        counter = counter == UINT64_MAX ? 0 : counter + 1;
        const auto p = frame.payload();
        out.frames.push_back({static_cast<uint8_t>(frame.type), {p.begin(), p.end()}});
        out.counters.push_back(frame.counter);
      }
      if (used == 0) break;  // reported above; do not spin
    }
  }
  if (out.error == Error::kOk) out.error = decoder.Finish();
  if (out.error != Error::kOk) {
    // Sticky: nothing more is consumed or yielded, Finish remembers.
    const uint8_t more[kFrameOverheadBytes] = {0, 17};
    constexpr size_t kUntouched = 0xC0FFEE;
    size_t used = kUntouched;
    DecodedFrame frame;
    if (decoder.Decode(more, &used, &frame) != out.error) broken("the error did not stick");
    if (used != kUntouched || frame) broken("a finished decoder wrote an output");
    if (decoder.Finish() != out.error) broken("Finish forgot the error");
  }
  return out;
}

std::vector<std::vector<size_t>> StandardChunkings(uint32_t seed) {
  std::vector<std::vector<size_t>> all = {
      {kWholeInput}, {1},   {2},    {3},    {5},     {7},      {16},     {17},
      {18},          {19},  {64},   {1000}, {4096},  {16403},  {1, 2, 3}};
  std::mt19937 rng(seed);
  for (int i = 0; i < 8; ++i) {
    std::vector<size_t> c;
    for (int j = 0; j < 32; ++j) c.push_back(1 + rng() % (i < 4 ? 40 : 20000));
    all.push_back(c);
  }
  return all;
}

std::string ChunkingName(const std::vector<size_t>& c) {
  if (c.size() == 1) {
    return c[0] == kWholeInput ? "one chunk" : std::to_string(c[0]) + "-byte chunks";
  }
  if (c == std::vector<size_t>{1, 2, 3}) return "1-2-3 chunks";
  return "random chunking starting " + std::to_string(c[0]);
}

}  // namespace reflex::testing
