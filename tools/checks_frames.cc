// The kinds both profiles share: one frame, a stream of frames (through
// every AEAD backend and several chunkings of the input) and the request
// header. The wire profile fixes the nonce layout and the counters.
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "pool/buffer_pool.h"
#include "reflex/frame_decoder.h"
#include "reflex/frame_opener.h"
#include "reflex/frame_sealer.h"
#include "reflex/pooled_frames.h"
#include "reflex/reference_model.h"
#include "reflex/request_header.h"
#include "reflex/testing/chunked_decode.h"
#include "tools/checks.h"

namespace reflex::tools {
namespace {

// An invalid frame: every implementation refuses to open it, and the
// contents it may give must not seal to exactly this wire.
void CheckRefusedFrame(const VectorTest& t, const WireProfile& wire_profile, Failures& out) {
  const Bytes& key = t.HexField("key");
  const uint64_t counter = t.U64Field("counter");
  const Bytes& wire = t.HexField("wire");
  for (AeadBackend backend : kAllAeadBackends) {
    FrameOpener opener(KeyOf(key), counter, {wire_profile, backend});
    Bytes copy = wire;
    OpenedFrame opened;
    out.ExpectRefused(CodecName(backend), "open", opener.OpenInPlace(copy, &opened),
                      t.ErrorField());
    if (!opened.payload.empty()) out.Add(CodecName(backend), "a refused frame yielded a payload");
  }
  reference::Frame frame;
  out.ExpectRefused(kReference, "open",
                    reference::OpenFrame(key, counter, wire, &frame, wire_profile.profile),
                    t.ErrorField());
  if (!HasAll(t, {"frame_type", "payload"})) return;
  Bytes plaintext = {static_cast<uint8_t>(t.IntField("frame_type"))};
  const Bytes& payload = t.HexField("payload");
  plaintext.insert(plaintext.end(), payload.begin(), payload.end());
  if (payload.size() + 17 <= 0xFFFF &&
      reference::SealAnyPlaintext(key, counter, plaintext, wire_profile.profile) == wire &&
      t.ErrorField() != Error::kUnknownFrameType) {
    out.Add("", "the frame_type and payload seal to exactly this wire, which opens");
  }
}

// A valid frame: every implementation seals the contents to the wire and
// opens the wire to the contents.
void CheckValidFrame(const VectorTest& t, const WireProfile& wire_profile, Failures& out) {
  const Bytes& key = t.HexField("key");
  const uint64_t counter = t.U64Field("counter");
  const Bytes& wire = t.HexField("wire");
  const auto type = static_cast<uint8_t>(t.IntField("frame_type"));
  const Bytes& payload = t.HexField("payload");
  pool::BufferPool pool;
  for (AeadBackend backend : kAllAeadBackends) {
    const std::string codec = CodecName(backend);
    FrameSealer sealer(KeyOf(key), counter, {wire_profile, backend});
    pool::Buffer sealed;
    const Error e = SealToBuffer(sealer, pool, static_cast<FrameType>(type), payload, &sealed);
    out.ExpectOk(codec, "seal", e);
    if (e == Error::kOk) out.ExpectBytes(codec, "seal: wire", wire, sealed.span());
    FrameOpener opener(KeyOf(key), counter, {wire_profile, backend});
    Bytes copy = wire;
    OpenedFrame opened;
    const Error e2 = opener.OpenInPlace(copy, &opened);
    out.ExpectOk(codec, "open", e2);
    if (e2 == Error::kOk) {
      if (static_cast<uint8_t>(opened.type) != type) out.Add(codec, "open: other frame type");
      out.ExpectBytes(codec, "open: payload", payload, opened.payload);
    }
  }
  Bytes wire2;
  const Error e3 = reference::SealFrame(key, counter, type, payload, &wire2, wire_profile.profile);
  out.ExpectOk(kReference, "seal", e3);
  if (e3 == Error::kOk) out.ExpectBytes(kReference, "seal: wire", wire, wire2);
  reference::Frame frame;
  const Error e4 = reference::OpenFrame(key, counter, wire, &frame, wire_profile.profile);
  out.ExpectOk(kReference, "open", e4);
  if (e4 == Error::kOk) {
    if (frame.type != type) out.Add(kReference, "open: other frame type");
    out.ExpectBytes(kReference, "open: payload", payload, frame.payload);
  }
}

std::vector<reference::Frame> AsFrames(const std::vector<FrameItem>& items) {
  std::vector<reference::Frame> frames;
  for (const FrameItem& i : items) frames.push_back({i.frame_type, i.payload});
  return frames;
}

// A valid test's decode must succeed; an invalid one's must fail as named.
void ExpectVerdict(const VectorTest& t, const std::string& impl, Error e, Failures& out) {
  if (t.valid) {
    out.ExpectOk(impl, "decode", e);
  } else {
    out.ExpectRefused(impl, "decode", e, t.ErrorField());
  }
}

RequestHeader RequestHeaderOf(const VectorTest& t, Failures& out) {
  RequestHeader h;
  h.command = static_cast<uint8_t>(t.IntField("command"));
  h.port = static_cast<uint16_t>(t.IntField("port"));
  h.address_type = static_cast<AddressType>(t.IntField("address_type"));
  const Bytes& address = t.HexField("address");
  if (address.size() > kMaxDomainBytes) {
    out.Add("", "address longer than 255 bytes");
    return h;
  }
  h.address_length = static_cast<uint8_t>(address.size());
  std::ranges::copy(address, h.address.begin());
  return h;
}

// An invalid header: both decoders refuse it, and the fields it may give
// must not encode to exactly it.
void CheckRefusedRequestHeader(const VectorTest& t, Failures& out) {
  const Bytes& encoded = t.HexField("encoded");
  RequestHeader h;
  size_t n = 0;
  out.ExpectRefused(CodecName(DefaultAeadBackend()), "decode", DecodeRequestHeader(encoded, &h, &n),
                    t.ErrorField());
  out.ExpectRefused(kReference, "decode", reference::DecodeRequestHeader(encoded, &h, &n),
                    t.ErrorField());
  if (HasAll(t, {"command", "port", "address_type", "address"})) {
    const RequestHeader from = RequestHeaderOf(t, out);
    if (reference::EncodeRequestHeader(from) == encoded) {
      out.Add("", "the fields encode to exactly 'encoded', which decodes");
    }
  }
}

// Both decoders, given the header with the trailing bytes after it, yield
// the fields and stop where the header ends.
void ExpectDecodes(const VectorTest& t, const RequestHeader& expected, Failures& out) {
  const Bytes& encoded = t.HexField("encoded");
  Bytes payload = encoded;
  const Bytes& trailing = t.HexField("trailing");
  payload.insert(payload.end(), trailing.begin(), trailing.end());
  using Decode = std::function<Error(const Bytes&, RequestHeader*, size_t*)>;
  const std::pair<std::string, Decode> decoders[] = {
      {CodecName(DefaultAeadBackend()),
       [](const Bytes& b, RequestHeader* h, size_t* n) { return DecodeRequestHeader(b, h, n); }},
      {kReference, [](const Bytes& b, RequestHeader* h, size_t* n) {
         return reference::DecodeRequestHeader(b, h, n);
       }},
  };
  for (const auto& [impl, decode] : decoders) {
    RequestHeader got;
    size_t n = 0;
    const Error e = decode(payload, &got, &n);
    out.ExpectOk(impl, "decode", e);
    if (e != Error::kOk) continue;
    if (!(got == expected)) out.Add(impl, "decode yields other fields");
    if (n != encoded.size()) {
      out.Add(impl, "header length " + std::to_string(n) + ", expected " +
                        std::to_string(encoded.size()));
    }
  }
}

void ExpectEncodes(const VectorTest& t, const RequestHeader& expected, Failures& out) {
  const Bytes& encoded = t.HexField("encoded");
  const std::string codec = CodecName(DefaultAeadBackend());
  Bytes again(kMaxRequestHeaderBytes);
  size_t written = 0;
  const Error e = EncodeRequestHeader(expected, again, &written);
  out.ExpectOk(codec, "encode", e);
  if (e == Error::kOk) out.ExpectBytes(codec, "encode:", encoded, {again.data(), written});
  out.ExpectBytes(kReference, "encode:", encoded, reference::EncodeRequestHeader(expected));
}

}  // namespace

void CheckFrame(const VectorTest& t, const WireProfile& wire_profile, Failures& out) {
  if (t.valid) {
    CheckValidFrame(t, wire_profile, out);
  } else {
    CheckRefusedFrame(t, wire_profile, out);
  }
}

void CheckFrameStream(const VectorTest& t, const WireProfile& wire_profile, Failures& out) {
  const Bytes& key = t.HexField("key");
  const uint64_t first = t.U64Field("first_counter");
  const Bytes& wire = t.HexField("wire");
  std::optional<std::vector<reference::Frame>> expected;
  if (t.Has("frames")) expected = AsFrames(t.FramesField("frames"));
  pool::BufferPool pool;
  for (AeadBackend backend : kAllAeadBackends) {
    for (const auto& chunks : testing::StandardChunkings(static_cast<uint32_t>(t.id))) {
      const std::string impl = CodecName(backend) + ", " + testing::ChunkingName(chunks);
      FrameDecoder decoder(KeyOf(key), pool, first, {wire_profile, backend});
      const testing::ChunkedDecode got = testing::DecodeInChunks(decoder, wire, chunks);
      if (!got.broken.empty()) out.Add(impl, "decoder contract broken: " + got.broken);
      ExpectVerdict(t, impl, got.error, out);
      if (expected && got.frames != *expected) {
        out.Add(impl, "yielded " + std::to_string(got.frames.size()) + " frame(s) other than the " +
                          std::to_string(expected->size()) + " expected");
      }
      if (!out.empty()) return;  // one chunking's report is enough
    }
  }
  const reference::StreamResult r = reference::DecodeStream(key, first, wire, wire_profile.profile);
  ExpectVerdict(t, kReference, r.error, out);
  if (expected && r.frames != *expected) out.Add(kReference, "yielded other frames");
}

void CheckRequestHeader(const VectorTest& t, const WireProfile&, Failures& out) {
  if (!t.valid) {
    CheckRefusedRequestHeader(t, out);
    return;
  }
  const RequestHeader expected = RequestHeaderOf(t, out);
  if (!out.empty()) return;
  ExpectDecodes(t, expected, out);
  ExpectEncodes(t, expected, out);
}

}  // namespace reflex::tools
