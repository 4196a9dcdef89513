// The streaming decoder fed fuzzer bytes in fuzzer-chosen chunks: raw
// bytes, or frames the target seals from fuzzer-chosen plaintexts (any type,
// any length) and then cuts or corrupts as the input says. The decoder must
// agree with the whole-input oracle on every frame and on the error.
// Input: [mode][counter choice][chunking][...].
#include <cstdint>
#include <vector>

#include "fuzz/stream_helpers.h"

using namespace reflex;
using Bytes = std::vector<uint8_t>;

namespace {

Bytes SealedFrames(fuzz::FuzzInput& in, uint64_t first_counter) {
  Bytes wire;
  uint64_t counter = first_counter;
  const int n = in.U8() % 8;
  for (int i = 0; i < n; ++i) {
    Bytes plaintext;
    const uint8_t type = in.U8();
    const size_t length = in.U16() % (kMaxPayloadBytes + 64);
    if (!(type == 0xEE)) plaintext.push_back(type % 8);  // 0xEE: no type byte
    Bytes payload = in.Bytes(length);
    payload.resize(length, 0x5A);
    plaintext.insert(plaintext.end(), payload.begin(), payload.end());
    const Bytes frame = reference::SealAnyPlaintext(fuzz::FuzzKeyBytes(), counter++, plaintext, Profile::kV1Compat);
    wire.insert(wire.end(), frame.begin(), frame.end());
  }
  // Damage, as chosen: cut the stream, flip one bit, or leave it whole.
  const uint8_t damage = in.U8() % 3;
  const size_t where = in.U16();
  if (damage == 1 && !wire.empty()) wire.resize(where % wire.size());
  if (damage == 2 && !wire.empty()) wire[where % wire.size()] ^= static_cast<uint8_t>(1 << (where % 8));
  return wire;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  fuzz::FuzzInput in(data, size);
  const bool structured = in.Bool();
  const uint64_t first = fuzz::ChooseCounter(in);
  const std::vector<size_t> chunks = fuzz::ChooseChunking(in);
  const Bytes wire = structured ? SealedFrames(in, first) : in.Rest();
  const testing::ChunkedDecode got =
      fuzz::DecodeChecked(first, wire, chunks, fuzz::FuzzBackend(size));
  const reference::StreamResult oracle =
      reference::DecodeStream(fuzz::FuzzKeyBytes(), first, wire, Profile::kV1Compat);
  FUZZ_CHECK(got.error == oracle.error, "decoder and oracle disagree on the error");
  FUZZ_CHECK(got.frames == oracle.frames, "decoder and oracle yield different frames");
  return 0;
}
