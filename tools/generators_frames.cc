// The kinds both profiles share: frames, frame streams and request
// headers. The wire profile fixes the counters and the nonce layout the
// frames are sealed with.
#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "base/hex.h"
#include "reflex/request_header.h"
#include "tools/generators.h"

namespace reflex::tools {
namespace {

using testing::FromHex;
using testing::ToHex;

void AddValidFrames(VectorBuilder& b, const WireProfile& p) {
  const SessionKey key = Key(kFrameKey);
  struct Valid {
    uint64_t counter;
    FrameType type;
    Bytes payload;
    std::string comment;
  };
  const uint64_t f = p.first_counter;
  const std::string last = p.last_counter == UINT64_MAX ? "2^64-1" : "2^64-2";
  const Valid valid[] = {
      {f, FrameType::kData, Text("hello"), "first frame of a direction"},
      {f + 1, FrameType::kData, {}, "empty DATA payload"},
      {f, FrameType::kPadding, Pattern(16, 1), "PADDING"},
      {f, FrameType::kTiming, Pattern(8, 2), "TIMING"},
      {f, FrameType::kClose, {}, "CLOSE"},
      {f + 2, FrameType::kData, Pattern(1400, 3), "1400-byte payload"},
      {f + 3, FrameType::kData, Pattern(16384, 4), "largest payload: 16384 bytes"},
      {UINT64_C(4294967295), FrameType::kData, Text("2^32-1"), "counter 2^32-1"},
      {UINT64_C(4294967296), FrameType::kData, Text("2^32"), "counter 2^32"},
      {UINT64_C(9223372036854775808), FrameType::kData, Text("2^63"), "counter 2^63"},
      {p.last_counter, FrameType::kData, Text(last), "counter " + last + ", the last one"},
  };
  for (const Valid& v : valid) {
    Json t = b.Test("valid", v.comment);
    t["key"] = kFrameKey;
    t["counter"] = Decimal(v.counter);
    t["wire"] = ToHex(Seal(key, v.counter, v.type, v.payload, p));
    t["frame_type"] = static_cast<int>(v.type);
    t["payload"] = ToHex(v.payload);
    b.Add(t);
  }
}

void AddInvalidFrames(VectorBuilder& b, const WireProfile& p) {
  const SessionKey key = Key(kFrameKey);
  const uint64_t f = p.first_counter;
  const Bytes hello = Seal(key, f, FrameType::kData, Text("hello"), p);
  Bytes tag_flip = hello;
  tag_flip.back() ^= 0x01;
  Bytes body_flip = hello;
  body_flip[3] ^= 0x80;
  Bytes type_flip = hello;
  type_flip[2] ^= 0x01;
  Bytes len15 = {0x00, 0x0f};
  len15.resize(2 + 15, 0xaa);
  struct Invalid {
    uint64_t counter;
    Bytes wire;
    const char* error;
    const char* comment;
    const char* key = kFrameKey;
  };
  std::vector<Invalid> invalid = {
      {f, {}, "too_short", "no length field"},
      {f, {0x00}, "too_short", "half a length field"},
      {f, Bytes(hello.begin(), hello.end() - 1), "too_short", "one byte missing"},
      {f, {0x00, 0x00}, "bad_length", "length 0"},
      {f, len15, "bad_length", "length 15: no room for the tag"},
      {f, {0x40, 0x12}, "frame_too_large", "length 16402: payload 16385"},
      {f, {0xff, 0xfe}, "frame_too_large", "length 0xfffe: the Go decoder panics"},
      {f, {0xff, 0xff}, "frame_too_large", "length 0xffff: the Go decoder panics"},
      {f, Concat(hello, {0x00}), "trailing_bytes", "one byte after the frame"},
      {f, tag_flip, "auth_failed", "tag bit flipped"},
      {f, body_flip, "auth_failed", "payload bit flipped"},
      {f, type_flip, "auth_failed", "encrypted type bit flipped"},
      {f + 1, hello, "auth_failed", "opened at the next counter"},
      p.nonce_layout == NonceLayout::kV1
          ? Invalid{0, hello, "auth_failed", "opened at counter 0"}
          : Invalid{f + 2, hello, "auth_failed", "opened two counters later"},
      {f, hello, "auth_failed", "wrong key",
       "1f1e1d1c1b1a191817161514131211100f0e0d0c0b0a09080706050403020100"},
      {f, SealRaw(key, f, {}, p), "empty_plaintext", "authentic, no type byte"},
      {f, SealRaw(key, f, {0x00, 'x'}, p), "unknown_frame_type", "authentic, type 0"},
      {f, SealRaw(key, f, {0x05}, p), "unknown_frame_type", "authentic, type 5"},
      {f, SealRaw(key, f, Concat({0xff}, Text("data")), p), "unknown_frame_type",
       "authentic, type 255"},
  };
  if (p.nonce_layout == NonceLayout::kNoise) {
    // Noise reserves nonce 2^64-1: a direction never opens it.
    invalid.push_back({UINT64_MAX, SealRaw(key, UINT64_MAX, {0x01}, p), "counter_exhausted",
                       "at the reserved counter 2^64-1"});
  }
  for (const Invalid& v : invalid) {
    Json t = b.Test("invalid", v.comment);
    t["key"] = v.key;
    t["counter"] = Decimal(v.counter);
    t["wire"] = ToHex(v.wire);
    t["error"] = v.error;
    b.Add(t);
  }
}

struct StreamFrame {
  FrameType type;
  Bytes payload;
};

Bytes SealStream(const SessionKey& key, uint64_t first, const std::vector<StreamFrame>& frames,
                 const WireProfile& p) {
  Bytes wire;
  uint64_t counter = first;
  for (const StreamFrame& f : frames) {
    wire = Concat(wire, Seal(key, counter++, f.type, f.payload, p));
  }
  return wire;
}

Json FrameList(const std::vector<StreamFrame>& frames) {
  Json list = Json::array();
  for (const StreamFrame& f : frames) {
    list.push_back({{"frame_type", static_cast<int>(f.type)}, {"payload", ToHex(f.payload)}});
  }
  return list;
}

// A client's direction: its request header alone first, then data.
std::vector<StreamFrame> ClientDirection() {
  RequestHeader header;
  header.command = 1;
  header.port = 443;
  header.address_type = AddressType::kDomain;
  const std::string host = "example.com";
  header.address_length = static_cast<uint8_t>(host.size());
  std::copy(host.begin(), host.end(), header.address.begin());
  Bytes header_bytes(kMaxRequestHeaderBytes);
  size_t header_size = 0;
  Must(EncodeRequestHeader(header, header_bytes, &header_size));
  header_bytes.resize(header_size);
  return {
      {FrameType::kData, header_bytes},
      {FrameType::kPadding, Pattern(100, 5)},
      {FrameType::kData, Text("GET / HTTP/1.1\r\nHost: example.com\r\n\r\n")},
      {FrameType::kTiming, {}},
      {FrameType::kData, Pattern(16384, 6)},
      {FrameType::kClose, {}},
  };
}

void AddValidFrameStreams(VectorBuilder& b, const WireProfile& p) {
  const SessionKey key = Key(kFrameKey);
  struct Valid {
    uint64_t first;
    std::vector<StreamFrame> frames;
    const char* comment;
  };
  const uint64_t f = p.first_counter;
  const Valid valid[] = {
      {f, ClientDirection(), "a client's direction: request header alone first, then data"},
      {UINT64_C(4294967294),
       {{FrameType::kData, Text("a")},
        {FrameType::kData, Text("b")},
        {FrameType::kData, Text("c")}},
       "counters 2^32-2 .. 2^32"},
      {p.last_counter, {{FrameType::kClose, {}}}, "one frame at the last counter"},
      {f, {}, "no bytes at all"},
  };
  for (const Valid& v : valid) {
    Json t = b.Test("valid", v.comment);
    t["key"] = kFrameKey;
    t["first_counter"] = Decimal(v.first);
    t["wire"] = ToHex(SealStream(key, v.first, v.frames, p));
    t["frames"] = FrameList(v.frames);
    b.Add(t);
  }
}

void AddInvalidFrameStreams(VectorBuilder& b, const WireProfile& p) {
  const SessionKey key = Key(kFrameKey);
  const uint64_t f = p.first_counter;
  const std::vector<StreamFrame> three = {{FrameType::kData, Text("one")},
                                          {FrameType::kData, Text("two")},
                                          {FrameType::kData, Text("three")}};
  const Bytes good = SealStream(key, f, three, p);
  const size_t first_size = 2 + 1 + 3 + 16;
  Bytes corrupt_second = good;
  corrupt_second[first_size + 5] ^= 0x04;
  Bytes swapped(good.begin() + first_size, good.begin() + 2 * first_size);
  swapped = Concat(swapped, Bytes(good.begin(), good.begin() + first_size));
  swapped = Concat(swapped, Bytes(good.begin() + 2 * first_size, good.end()));
  struct Invalid {
    uint64_t first;
    Bytes wire;
    std::vector<StreamFrame> frames_before_error;
    const char* error;
    const char* comment;
  };
  const Invalid invalid[] = {
      {f, Bytes(good.begin(), good.end() - 1), {three[0], three[1]}, "too_short",
       "stream cut one byte short"},
      {f, Bytes(good.begin(), good.begin() + first_size + 1), {three[0]}, "too_short",
       "stream cut inside a length field"},
      {f, corrupt_second, {three[0]}, "auth_failed", "second frame corrupted"},
      {f, swapped, {}, "auth_failed", "first two frames swapped"},
      {f, Concat(Bytes(good.begin(), good.begin() + first_size), {0xff, 0xff}), {three[0]},
       "frame_too_large", "length 0xffff after a frame"},
      {f, Concat(Bytes(good.begin(), good.begin() + first_size), {0x00, 0x05}), {three[0]},
       "bad_length", "length 5 after a frame"},
      {f, Concat(Seal(key, f, FrameType::kData, Text("one"), p), SealRaw(key, f + 1, {0x09}, p)),
       {three[0]}, "unknown_frame_type", "authentic frame of type 9"},
      {f, Concat(Seal(key, f, FrameType::kData, Text("one"), p), SealRaw(key, f + 1, {}, p)),
       {three[0]}, "empty_plaintext", "authentic frame without a type byte"},
      {p.last_counter, Concat(Seal(key, p.last_counter, FrameType::kData, Text("last"), p),
                      SealRaw(key, p.last_counter + 1, {0x01}, p)),
       {{FrameType::kData, Text("last")}}, "counter_exhausted",
       p.nonce_layout == NonceLayout::kV1
           ? "a frame after counter 2^64-1 (sealed at the wrapped counter 0)"
           : "a frame after counter 2^64-2 (sealed at the reserved counter 2^64-1)"},
  };
  for (const Invalid& v : invalid) {
    Json t = b.Test("invalid", v.comment);
    t["key"] = kFrameKey;
    t["first_counter"] = Decimal(v.first);
    t["wire"] = ToHex(v.wire);
    t["frames"] = FrameList(v.frames_before_error);
    t["error"] = v.error;
    b.Add(t);
  }
}

void AddValidRequestHeaders(VectorBuilder& b) {
  struct Valid {
    uint8_t command;
    uint16_t port;
    AddressType type;
    Bytes address;
    Bytes trailing;
    const char* comment;
  };
  const Valid valid[] = {
      {1, 80, AddressType::kIpv4, {10, 0, 0, 1}, Text("GET"), "IPv4, data follows"},
      {1, 443, AddressType::kIpv6, FromHex("20010db8000000000000000000000001"), Text("data"),
       "IPv6: 20 header bytes, not the Go server's fixed 12"},
      {2, 53, AddressType::kDomain, Text("x"), {},
       "1-character domain (the Go server parses it to no address)"},
      {1, 443, AddressType::kDomain, Text("example.com"), Pattern(9, 1), "domain"},
      {255, 65535, AddressType::kDomain, Bytes(255, 'a'), {}, "255-byte domain"},
      {0, 0, AddressType::kIpv4, {0, 0, 0, 0}, {}, "command and port are not interpreted"},
  };
  for (const Valid& v : valid) {
    RequestHeader h;
    h.command = v.command;
    h.port = v.port;
    h.address_type = v.type;
    h.address_length = static_cast<uint8_t>(v.address.size());
    std::copy(v.address.begin(), v.address.end(), h.address.begin());
    Bytes encoded(kMaxRequestHeaderBytes);
    size_t n = 0;
    Must(EncodeRequestHeader(h, encoded, &n));
    encoded.resize(n);
    Json t = b.Test("valid", v.comment);
    t["encoded"] = ToHex(encoded);
    t["trailing"] = ToHex(v.trailing);
    t["command"] = v.command;
    t["port"] = v.port;
    t["address_type"] = static_cast<int>(v.type);
    t["address"] = ToHex(v.address);
    b.Add(t);
  }
}

void AddInvalidRequestHeaders(VectorBuilder& b) {
  struct Invalid {
    const char* hex;
    const char* error;
  };
  const Invalid invalid[] = {
      {"", "too_short"},
      {"010050", "too_short"},
      {"010050010a0000", "too_short"},
      {"01005003", "too_short"},
      {"010050030561", "too_short"},
      {"0100500420010db8", "too_short"},
      {"0100500300", "bad_domain_length"},
      {"01005000", "bad_address_type"},
      {"010050020a000001", "bad_address_type"},
      {"01005005", "bad_address_type"},
  };
  for (const Invalid& v : invalid) {
    Json t = b.Test("invalid", std::string(v.error) + ": " + v.hex);
    t["encoded"] = v.hex;
    t["error"] = v.error;
    b.Add(t);
  }
}

}  // namespace

void GenerateFrames(VectorBuilder& b, const WireProfile& wire_profile) {
  AddValidFrames(b, wire_profile);
  AddInvalidFrames(b, wire_profile);
}

void GenerateFrameStreams(VectorBuilder& b, const WireProfile& wire_profile) {
  AddValidFrameStreams(b, wire_profile);
  AddInvalidFrameStreams(b, wire_profile);
}

void GenerateRequestHeaders(VectorBuilder& b, const WireProfile&) {
  AddValidRequestHeaders(b);
  AddInvalidRequestHeaders(b);
}

}  // namespace reflex::tools
