// Differential: the same operations through the codec and the plain
// reference model give byte-identical outputs and identical error codes.
// The input is a sequence of operations with their arguments.
#include <cstdint>
#include <vector>

#include "fuzz/open_helpers.h"
#include "fuzz/stream_helpers.h"
#include "reflex/frame_sealer.h"
#include "reflex/pooled_frames.h"
#include "reflex/hello.h"
#include "reflex/key_schedule.h"
#include "reflex/request_header.h"

using namespace reflex;
using Bytes = std::vector<uint8_t>;

namespace {

void Hellos(fuzz::FuzzInput& in) {
  const Bytes b = in.Bytes(in.U8());
  ClientHello c1, c2;
  const Error e1 = DecodeClientHello(b, &c1), e2 = reference::DecodeClientHello(b, &c2);
  FUZZ_CHECK(e1 == e2, "client hello: errors differ");
  if (e1 == Error::kOk) {
    FUZZ_CHECK(c1 == c2, "client hello: fields differ");
    uint8_t out[kClientHelloBytes];
    FUZZ_CHECK(EncodeClientHello(c1, out) == Error::kOk, "client hello: encode failed");
    FUZZ_CHECK(Bytes(out, out + sizeof(out)) == reference::EncodeClientHello(c2),
               "client hello: encodings differ");
  }
  ServerHello s1, s2;
  const Error f1 = DecodeServerHello(b, &s1), f2 = reference::DecodeServerHello(b, &s2);
  FUZZ_CHECK(f1 == f2, "server hello: errors differ");
  if (f1 == Error::kOk) FUZZ_CHECK(s1 == s2, "server hello: fields differ");
}

void Headers(fuzz::FuzzInput& in) {
  const Bytes b = in.Bytes(in.U16() % 300);
  RequestHeader h1, h2;
  size_t n1 = 0, n2 = 0;
  const Error e1 = DecodeRequestHeader(b, &h1, &n1);
  const Error e2 = reference::DecodeRequestHeader(b, &h2, &n2);
  FUZZ_CHECK(e1 == e2, "request header: errors differ");
  if (e1 == Error::kOk) FUZZ_CHECK(h1 == h2 && n1 == n2, "request header: decodes differ");
  // Encoding arbitrary fields: both refuse or both produce the same bytes.
  RequestHeader h;
  h.command = in.U8();
  h.port = in.U16();
  h.address_type = static_cast<AddressType>(in.U8() % 6);
  h.address_length = in.U8();
  uint8_t out[kMaxRequestHeaderBytes];
  size_t written = 0;
  const Error e = EncodeRequestHeader(h, out, &written);
  const Bytes oracle = reference::EncodeRequestHeader(h);
  FUZZ_CHECK((e == Error::kOk) == !oracle.empty(), "request header: encoders disagree");
  if (e == Error::kOk) FUZZ_CHECK(Bytes(out, out + written) == oracle, "encodings differ");
}

void SealAndOpen(fuzz::FuzzInput& in) {
  const uint64_t counter = fuzz::ChooseCounter(in);
  const auto type = in.U8();
  const size_t length = in.U16() % (kMaxPayloadBytes + 8);
  Bytes payload = in.Bytes(length);
  payload.resize(length);
  const AeadBackend backend = fuzz::FuzzBackend(length);
  FrameSealer sealer(fuzz::FuzzKey(), counter, {kWireProfileV1, backend});
  pool::Buffer wire;
  const Error e1 =
      SealToBuffer(sealer, fuzz::FuzzPool(), static_cast<FrameType>(type), payload, &wire);
  Bytes oracle;
  const Error e2 = reference::SealFrame(fuzz::FuzzKeyBytes(), counter, type, payload, &oracle, Profile::kV1Compat);
  FUZZ_CHECK(e1 == e2, "seal: errors differ");
  if (e1 == Error::kOk) {
    FUZZ_CHECK(Bytes(wire.data(), wire.data() + wire.size()) == oracle, "seal: bytes differ");
  }
  // Open fuzzer bytes, or the sealed frame with one byte changed.
  Bytes raw = e1 == Error::kOk && in.Bool() ? oracle : in.Bytes(in.U16() % 20000);
  if (!raw.empty() && in.Bool()) raw[in.U16() % raw.size()] ^= in.U8();
  fuzz::OpenChecked(counter, raw, backend);
}

void Streams(fuzz::FuzzInput& in) {
  const uint64_t first = fuzz::ChooseCounter(in);
  const auto chunks = fuzz::ChooseChunking(in);
  const Bytes wire = in.Bytes(in.U16() % 40000);
  const testing::ChunkedDecode got =
      fuzz::DecodeChecked(first, wire, chunks, fuzz::FuzzBackend(wire.size()));
  const reference::StreamResult oracle = reference::DecodeStream(fuzz::FuzzKeyBytes(), first, wire, Profile::kV1Compat);
  FUZZ_CHECK(got.error == oracle.error && got.frames == oracle.frames, "streams differ");
}

void Keys(fuzz::FuzzInput& in) {
  Bytes priv = in.Bytes(32), peer = in.Bytes(32);
  priv.resize(32);
  peer.resize(32);
  PrivateKey own{std::span<const uint8_t, 32>(priv.data(), 32)};
  SessionKey k1;
  const Error e1 = DeriveSessionKeyV1(own, std::span<const uint8_t, 32>(peer.data(), 32), &k1);
  Bytes k2;
  const Error e2 = reference::SessionKeyV1(priv, peer, &k2);
  FUZZ_CHECK(e1 == e2, "key schedule: errors differ");
  if (e1 == Error::kOk) FUZZ_CHECK(Bytes(k1.data(), k1.data() + 32) == k2, "keys differ");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  fuzz::FuzzInput in(data, size);
  for (int ops = 0; ops < 16 && !in.empty(); ++ops) {
    switch (in.U8() % 5) {
      case 0:
        Hellos(in);
        break;
      case 1:
        Headers(in);
        break;
      case 2:
        SealAndOpen(in);
        break;
      case 3:
        Streams(in);
        break;
      default:
        Keys(in);
        break;
    }
  }
  return 0;
}
