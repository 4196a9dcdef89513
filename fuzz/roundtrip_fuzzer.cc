// Round trip: fuzzer-chosen frames sealed by the sealer (pooled copying,
// pooled zero-copy and caller-memory paths), then stream-decoded under a
// fuzzer-chosen chunking, come back identical, in order, at consecutive
// counters.
#include <cstdint>
#include <vector>

#include "fuzz/stream_helpers.h"
#include "reflex/frame_sealer.h"
#include "reflex/pooled_frames.h"

using namespace reflex;
using Bytes = std::vector<uint8_t>;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  fuzz::FuzzInput in(data, size);
  uint64_t first = fuzz::ChooseCounter(in);
  const std::vector<size_t> chunks = fuzz::ChooseChunking(in);
  const AeadBackend backend = fuzz::FuzzBackend(size);
  FrameSealer sealer(fuzz::FuzzKey(), first, {kWireProfileV1, backend});
  std::vector<reference::Frame> sent;
  Bytes wire;
  const int n = 1 + in.U8() % 12;
  for (int i = 0; i < n && !sealer.exhausted(); ++i) {
    const auto type = static_cast<FrameType>(1 + in.U8() % 4);
    const size_t length = in.U16() % (kMaxPayloadBytes + 1);
    Bytes payload = in.Bytes(length);
    payload.resize(length, static_cast<uint8_t>(i));
    const uint8_t path = in.U8() % 3;
    Bytes frame;
    if (path == 0) {
      pool::Buffer b;
      FUZZ_CHECK(SealToBuffer(sealer, fuzz::FuzzPool(), type, payload, &b) == Error::kOk,
                 "seal failed");
      frame.assign(b.data(), b.data() + b.size());
    } else if (path == 1) {
      pool::Buffer b;
      FUZZ_CHECK(NewFrameBuffer(fuzz::FuzzPool(), payload.size(), &b) == Error::kOk,
                 "NewFrameBuffer failed");
      std::copy(payload.begin(), payload.end(), FramePayload(b).begin());
      FUZZ_CHECK(SealFrameBuffer(sealer, type, b) == Error::kOk, "SealFrameBuffer failed");
      frame.assign(b.data(), b.data() + b.size());
    } else {
      frame.resize(kFrameOverheadBytes + payload.size());
      size_t written = 0;
      FUZZ_CHECK(sealer.SealInto(type, payload, frame, &written) == Error::kOk &&
                     written == frame.size(),
                 "SealInto failed");
    }
    FUZZ_CHECK(frame.size() == kFrameOverheadBytes + payload.size(), "wrong frame size");
    wire.insert(wire.end(), frame.begin(), frame.end());
    sent.push_back({static_cast<uint8_t>(type), payload});
  }
  const testing::ChunkedDecode got = fuzz::DecodeChecked(first, wire, chunks, backend);
  FUZZ_CHECK(got.error == Error::kOk, "an honest stream failed to decode");
  FUZZ_CHECK(got.frames == sent, "frames did not come back identical");
  return 0;
}
