#include "tools/vector_generator.h"

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "pool/buffer_pool.h"
#include "reflex/frame_sealer.h"
#include "reflex/hello.h"
#include "reflex/hello_v2.h"
#include "reflex/noise.h"
#include "reflex/key_schedule.h"
#include "reflex/request_header.h"
#include "reflex/pooled_frames.h"
#include "reflex/reference_model.h"
#include "base/hex.h"

namespace reflex::tools {
namespace {

// The generator's inputs are fixed and valid: any error is a bug here.
void Must(Error e) {
  if (e != Error::kOk) {
    std::fprintf(stderr, "make_vectors: unexpected error %s\n", std::string(ErrorName(e)).c_str());
    std::abort();
  }
}

using Bytes = std::vector<uint8_t>;
using Json = nlohmann::ordered_json;
using testing::FromHex;
using testing::ToHex;

// Fixed inputs. The two X25519 private keys are RFC 7748's Alice and Bob.
constexpr char kClientPrivate[] =
    "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a";
constexpr char kServerPrivate[] =
    "5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb";
constexpr char kUserId[] = "6ba7b8109dad11d180b400c04fd430c8";
constexpr char kFrameKey[] =
    "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

Bytes Text(const std::string& s) { return Bytes(s.begin(), s.end()); }

Bytes Pattern(size_t n, uint8_t salt) {
  Bytes b(n);
  for (size_t i = 0; i < n; ++i) b[i] = static_cast<uint8_t>(i * 131 + salt);
  return b;
}

Bytes Concat(Bytes a, const Bytes& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

template <size_t N>
std::array<uint8_t, N> Array(const Bytes& b) {
  std::array<uint8_t, N> a{};
  std::copy(b.begin(), b.begin() + N, a.begin());
  return a;
}

SessionKey Key(const char* hex) {
  const Bytes b = FromHex(hex);
  return SessionKey(std::span<const uint8_t, 32>(b.data(), 32));
}


// A frame sealed by the codec at a given counter.
Bytes Seal(const SessionKey& key, uint64_t counter, FrameType type, const Bytes& payload,
           const WireProfile& p) {
  pool::BufferPool pool;
  FrameSealer sealer(key, counter, {p, DefaultAeadBackend()});
  pool::Buffer wire;
  Must(SealToBuffer(sealer, pool, type, payload, &wire));
  return Bytes(wire.data(), wire.data() + wire.size());
}

// A frame around an arbitrary plaintext (no type byte, unknown types), as
// only a key holder could make it; the codec refuses to seal these.
Bytes SealRaw(const SessionKey& key, uint64_t counter, const Bytes& plaintext,
              const WireProfile& p) {
  return reference::SealAnyPlaintext(
      Bytes(key.data(), key.data() + key.size()), counter, plaintext,
      p.profile);
}

class Builder {
 public:
  explicit Builder(std::string profile) : profile_(std::move(profile)) {}
  Json& Group(const std::string& kind) {
    groups_.push_back({{"kind", kind}, {"tests", Json::array()}});
    return groups_.back()["tests"];
  }
  Json Test(const std::string& result, const std::string& comment) {
    return Json{{"id", next_id_++}, {"result", result}, {"comment", comment}};
  }
  Json Finish() {
    return Json{{"schema", "reflex-vectors/1"},
                {"profile", profile_},
                {"source",
                 "reflex-cpp tools/vector_generator.cc from fixed inputs "
                 "(bazel run //tools:make_vectors)"},
                {"groups", groups_}};
  }

 private:
  std::string profile_;
  Json groups_ = Json::array();
  int next_id_ = 1;
};

std::string Decimal(uint64_t v) { return std::to_string(v); }
std::string Decimal(int64_t v) { return std::to_string(v); }

void ClientHandshakes(Builder& b) {
  Json& tests = b.Group("client_handshake");
  KeyPair client;
  const Bytes priv = FromHex(kClientPrivate);
  Must(KeyPairFromPrivate(std::span<const uint8_t, 32>(priv.data(), 32), &client));
  struct Valid {
    int64_t timestamp;
    Bytes nonce;
    const char* comment;
  };
  const Valid valid[] = {
      {1700000000, Bytes(16, 0), "the Go client: nonce always zero"},
      {1700000123, Pattern(16, 7), "non-zero nonce"},
      {0, Pattern(16, 9), "timestamp 0"},
      {-1, Bytes(16, 0xff), "timestamp -1: an int64, big-endian two's complement"},
      {INT64_MAX, Pattern(16, 1), "largest timestamp"},
  };
  for (const Valid& v : valid) {
    ClientHello h;
    h.public_key = client.public_key;
    h.user_id = Array<16>(FromHex(kUserId));
    h.timestamp = v.timestamp;
    h.nonce = Array<16>(v.nonce);
    Bytes encoded(kClientHelloBytes);
    Must(EncodeClientHello(h, encoded));
    Json t = b.Test("valid", v.comment);
    t["encoded"] = ToHex(encoded);
    t["public_key"] = ToHex(h.public_key);
    t["user_id"] = ToHex(h.user_id);
    t["timestamp"] = Decimal(h.timestamp);
    t["nonce"] = ToHex(h.nonce);
    tests.push_back(t);
  }
  ClientHello h;
  h.public_key = client.public_key;
  Bytes good(kClientHelloBytes);
  Must(EncodeClientHello(h, good));
  Bytes refx = good;
  refx[0] = 'R', refx[1] = 'E', refx[2] = 'F', refx[3] = 'X';
  Bytes http = Text("GET / HTTP/1.1\r\nHost: example.com\r\nUser-Agent: curl/8.0\r\n");
  http.resize(kClientHelloBytes, ' ');
  struct Invalid {
    Bytes encoded;
    const char* error;
    const char* comment;
  };
  const Invalid invalid[] = {
      {{}, "too_short", "empty"},
      {Bytes(good.begin(), good.end() - 1), "too_short", "75 bytes"},
      {Bytes(good.begin(), good.begin() + 4), "too_short", "magic alone"},
      {refx, "bad_magic", "\"REFX\", the Go comment's name, is not the magic"},
      {Bytes(kClientHelloBytes, 0), "bad_magic", "76 zero bytes"},
      {http, "bad_magic", "an HTTP request: the server's fallback case"},
      {Concat(good, {0}), "trailing_bytes", "77 bytes"},
  };
  for (const Invalid& v : invalid) {
    Json t = b.Test("invalid", v.comment);
    t["encoded"] = ToHex(v.encoded);
    t["error"] = v.error;
    tests.push_back(t);
  }
}

void ServerHandshakes(Builder& b) {
  Json& tests = b.Group("server_handshake");
  KeyPair server;
  const Bytes priv = FromHex(kServerPrivate);
  Must(KeyPairFromPrivate(std::span<const uint8_t, 32>(priv.data(), 32), &server));
  for (int64_t ts : {int64_t{1700000001}, int64_t{0}, int64_t{-2}}) {
    ServerHello h;
    h.public_key = server.public_key;
    h.timestamp = ts;
    Bytes encoded(kServerHelloBytesV1);
    Must(EncodeServerHello(h, encoded));
    Json t = b.Test("valid", "timestamp " + Decimal(ts));
    t["encoded"] = ToHex(encoded);
    t["public_key"] = ToHex(h.public_key);
    t["timestamp"] = Decimal(h.timestamp);
    tests.push_back(t);
  }
  const std::pair<size_t, const char*> invalid[] = {
      {0, "too_short"}, {39, "too_short"}, {41, "trailing_bytes"}, {76, "trailing_bytes"}};
  for (const auto& [size, error] : invalid) {
    Json t = b.Test("invalid", std::to_string(size) + " bytes");
    t["encoded"] = ToHex(Pattern(size, 3));
    t["error"] = error;
    tests.push_back(t);
  }
}

void KeySchedules(Builder& b) {
  Json& tests = b.Group("key_schedule");
  const std::pair<const char*, const char*> pairs[] = {
      {kClientPrivate, kServerPrivate},
      {"1111111111111111111111111111111111111111111111111111111111111111",
       "2222222222222222222222222222222222222222222222222222222222222222"},
      {"ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
       "0000000000000000000000000000000000000000000000000000000000000000"},
  };
  const char* comments[] = {"RFC 7748 section 6.1 key pairs", "repeated-byte keys",
                            "private keys that clamping changes"};
  int i = 0;
  for (const auto& [cpriv_hex, spriv_hex] : pairs) {
    KeyPair c, s;
    const Bytes cpriv = FromHex(cpriv_hex), spriv = FromHex(spriv_hex);
    Must(KeyPairFromPrivate(std::span<const uint8_t, 32>(cpriv.data(), 32), &c));
    Must(KeyPairFromPrivate(std::span<const uint8_t, 32>(spriv.data(), 32), &s));
    SharedSecret shared;
    Must(ComputeSharedSecret(c.private_key, s.public_key, &shared));
    SessionKey key;
    Must(DeriveSessionKeyV1(shared, &key));
    Json t = b.Test("valid", comments[i++]);
    t["client_private"] = cpriv_hex;
    t["server_private"] = spriv_hex;
    t["client_public"] = ToHex(c.public_key);
    t["server_public"] = ToHex(s.public_key);
    t["shared_secret"] = ToHex(shared.span());
    t["session_key"] = ToHex(key.span());
    tests.push_back(t);
  }
  KeyPair c;
  const Bytes cpriv = FromHex(kClientPrivate);
  Must(KeyPairFromPrivate(std::span<const uint8_t, 32>(cpriv.data(), 32), &c));
  const std::pair<const char*, const char*> low_order[] = {
      {"0000000000000000000000000000000000000000000000000000000000000000", "zero point"},
      {"0100000000000000000000000000000000000000000000000000000000000000", "u = 1"},
      {"e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800",
       "point of order 8"},
      {"ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", "u = p - 1"},
      {"edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
       "u = p (non-canonical zero)"},
  };
  for (const auto& [pub, comment] : low_order) {
    Json t = b.Test("invalid",
                    std::string("low-order server public key, ") + comment +
                        ": all-zero shared secret (the Go code accepts it)");
    t["client_private"] = kClientPrivate;
    t["client_public"] = ToHex(c.public_key);
    t["server_public"] = pub;
    t["shared_secret"] = ToHex(Bytes(32, 0));  // what X25519 gives: refused
    t["error"] = "low_order_point";
    tests.push_back(t);
  }
}

void Frames(Builder& b, const WireProfile& p) {
  Json& tests = b.Group("frame");
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
    tests.push_back(t);
  }
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
    tests.push_back(t);
  }
}

struct StreamFrame {
  FrameType type;
  Bytes payload;
};

// The profile SealStream seals for (set by FrameStreams).
const WireProfile* current_profile = &kWireProfileV1;

Bytes SealStream(const SessionKey& key, uint64_t first, const std::vector<StreamFrame>& frames) {
  Bytes wire;
  uint64_t counter = first;
  for (const StreamFrame& f : frames) {
    wire = Concat(wire, Seal(key, counter++, f.type, f.payload, *current_profile));
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

void FrameStreams(Builder& b, const WireProfile& p) {
  Json& tests = b.Group("frame_stream");
  const SessionKey key = Key(kFrameKey);
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

  const std::vector<StreamFrame> session = {
      {FrameType::kData, header_bytes},
      {FrameType::kPadding, Pattern(100, 5)},
      {FrameType::kData, Text("GET / HTTP/1.1\r\nHost: example.com\r\n\r\n")},
      {FrameType::kTiming, {}},
      {FrameType::kData, Pattern(16384, 6)},
      {FrameType::kClose, {}},
  };
  struct Valid {
    uint64_t first;
    std::vector<StreamFrame> frames;
    const char* comment;
  };
  current_profile = &p;
  const uint64_t f = p.first_counter;
  const Valid valid[] = {
      {f, session, "a client's direction: request header alone first, then data"},
      {UINT64_C(4294967294),
       {{FrameType::kData, Text("a")}, {FrameType::kData, Text("b")}, {FrameType::kData, Text("c")}},
       "counters 2^32-2 .. 2^32"},
      {p.last_counter, {{FrameType::kClose, {}}}, "one frame at the last counter"},
      {f, {}, "no bytes at all"},
  };
  for (const Valid& v : valid) {
    Json t = b.Test("valid", v.comment);
    t["key"] = kFrameKey;
    t["first_counter"] = Decimal(v.first);
    t["wire"] = ToHex(SealStream(key, v.first, v.frames));
    t["frames"] = FrameList(v.frames);
    tests.push_back(t);
  }
  const std::vector<StreamFrame> three = {{FrameType::kData, Text("one")},
                                          {FrameType::kData, Text("two")},
                                          {FrameType::kData, Text("three")}};
  const Bytes good = SealStream(key, f, three);
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
    tests.push_back(t);
  }
}

void RequestHeaders(Builder& b) {
  Json& tests = b.Group("request_header");
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
    tests.push_back(t);
  }
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
    tests.push_back(t);
  }
}

// --- Profile v2 (Noise NNpsk0), through the codec's v2 functions.

constexpr char kOtherUserId[] = "00112233445566778899aabbccddeeff";

KeyPair PairOf(const char* private_hex) {
  const Bytes priv = FromHex(private_hex);
  KeyPair pair;
  Must(KeyPairFromPrivate(std::span<const uint8_t, 32>(priv.data(), 32), &pair));
  return pair;
}

UserId UserOf(const char* hex) { return Array<16>(FromHex(hex)); }

struct V2Hello {
  Bytes encoded;
  noise::HandshakeState state;  // the client's, after message 1
};

V2Hello MakeClientHelloV2(const char* user, const char* client_private, int64_t timestamp,
                          const Bytes& nonce, const Bytes& reserved = Bytes(4, 0)) {
  HelloPayloadV2 payload;
  payload.timestamp = timestamp;
  payload.nonce = Array<16>(nonce);
  payload.reserved = Array<4>(reserved);
  V2Hello out;
  out.encoded.resize(kClientHelloBytesV2);
  // WriteClientHelloV2 encodes the reserved bytes it is given, zero or not:
  // the generator needs the refused kind too.
  Must(WriteClientHelloV2(UserOf(user), PairOf(client_private), payload,
                          std::span<uint8_t, kClientHelloBytesV2>(out.encoded), &out.state));
  return out;
}

void SetClientFields(Json& t, const char* user, const char* client_private, int64_t timestamp,
                     const Bytes& nonce) {
  t["user_id"] = user;
  if (client_private != nullptr) t["client_private"] = client_private;
  t["timestamp"] = Decimal(timestamp);
  t["nonce"] = ToHex(nonce);
}

void V2ClientHandshakes(Builder& b) {
  Json& tests = b.Group("client_handshake");
  struct Valid {
    int64_t timestamp;
    Bytes nonce;
    const char* comment;
  };
  const Valid valid[] = {
      {1700000000, Pattern(16, 7), "a client hello (Noise message 1)"},
      {0, Bytes(16, 0), "timestamp 0, zero nonce"},
      {-1, Bytes(16, 0xff), "timestamp -1: an int64, big-endian two's complement"},
      {INT64_MAX, Pattern(16, 1), "largest timestamp"},
  };
  for (const Valid& v : valid) {
    Json t = b.Test("valid", v.comment);
    t["encoded"] = ToHex(MakeClientHelloV2(kUserId, kClientPrivate, v.timestamp, v.nonce).encoded);
    SetClientFields(t, kUserId, kClientPrivate, v.timestamp, v.nonce);
    tests.push_back(t);
  }
  const Bytes nonce = Pattern(16, 7);
  const Bytes good = MakeClientHelloV2(kUserId, kClientPrivate, 1700000000, nonce).encoded;
  auto flipped = [&](size_t at) {
    Bytes x = good;
    x[at] ^= 0x01;
    return x;
  };
  Bytes v1_hello(kClientHelloBytes);
  ClientHello v1;
  v1.public_key = PairOf(kClientPrivate).public_key;
  v1.user_id = UserOf(kUserId);
  v1.timestamp = 1700000000;
  Must(EncodeClientHello(v1, v1_hello));
  struct Invalid {
    Bytes encoded;
    const char* error;
    std::string comment;
    bool fields;  // the fields it was made from are given
    Bytes reserved = Bytes(4, 0);
  };
  const Invalid invalid[] = {
      {{}, "too_short", "empty", false},
      {Bytes(good.begin(), good.end() - 1), "too_short", "75 bytes", true},
      {Concat(good, {0x00}), "trailing_bytes", "77 bytes", true},
      {MakeClientHelloV2(kOtherUserId, kClientPrivate, 1700000000, nonce).encoded, "auth_failed",
       "made for another user: no configured user's PSK verifies", true},
      {flipped(40), "auth_failed", "a payload bit flipped", true},
      {flipped(75), "auth_failed", "a tag bit flipped", true},
      {flipped(3), "auth_failed", "an ephemeral key bit flipped (it is mixed into the key)",
       false},
      {MakeClientHelloV2(kUserId, kClientPrivate, 1700000000, nonce, {0, 0, 0, 1}).encoded,
       "bad_reserved", "reserved bytes 00000001", true, {0, 0, 0, 1}},
      {Pattern(76, 9), "auth_failed", "76 bytes of noise", false},
      {v1_hello, "auth_failed", "a v1-compat hello given to a v2 server", false},
  };
  for (const Invalid& v : invalid) {
    Json t = b.Test("invalid", v.comment);
    t["encoded"] = ToHex(v.encoded);
    SetClientFields(t, kUserId, v.fields ? kClientPrivate : nullptr, 1700000000, nonce);
    if (v.reserved != Bytes(4, 0)) t["reserved"] = ToHex(v.reserved);
    t["error"] = v.error;
    tests.push_back(t);
  }
}

void V2ServerHandshakes(Builder& b) {
  Json& tests = b.Group("server_handshake");
  const Bytes nonce = Pattern(16, 7);
  Bytes good;
  for (int64_t ts : {int64_t{1700000000}, int64_t{1700000123}}) {
    V2Hello hello = MakeClientHelloV2(kUserId, kClientPrivate, ts, nonce);
    noise::HandshakeState server;
    Must(PrepareServerHandshakeV2(UserOf(kUserId), &server));
    const noise::HandshakeState prepared[] = {server};
    ClientHelloV2 read;
    Must(ReadClientHelloV2(prepared, hello.encoded, &read));
    Bytes reply(kServerHelloBytesV2);
    TransportKeysV2 keys;
    Must(WriteServerHelloV2(read.state, PairOf(kServerPrivate),
                            std::span<uint8_t, kServerHelloBytesV2>(reply), &keys));
    if (good.empty()) good = reply;
    Json t = b.Test("valid", "a server hello (Noise message 2), client timestamp " + Decimal(ts));
    t["encoded"] = ToHex(reply);
    SetClientFields(t, kUserId, kClientPrivate, ts, nonce);
    t["server_private"] = kServerPrivate;
    tests.push_back(t);
  }
  auto flipped = [&](size_t at) {
    Bytes x = good;
    x[at] ^= 0x01;
    return x;
  };
  struct Invalid {
    Bytes encoded;
    const char* error;
    const char* comment;
    bool server_private;
  };
  const Invalid invalid[] = {
      {Bytes(good.begin(), good.end() - 1), "too_short", "47 bytes", true},
      {Concat(good, {0x00}), "trailing_bytes", "49 bytes", true},
      {Bytes(40, 0x33), "too_short", "a v1-compat server hello (40 bytes)", false},
      {flipped(47), "auth_failed", "a tag bit flipped", true},
      {flipped(5), "auth_failed", "an ephemeral key bit flipped", false},
      {Concat(Bytes(32, 0), Bytes(16, 0)), "low_order_point",
       "the server's ephemeral key is the zero point", false},
      {Concat(FromHex("0100000000000000000000000000000000000000000000000000000000000000"),
              Bytes(16, 0)),
       "low_order_point", "the server's ephemeral key is u = 1 (order 4)", false},
  };
  for (const Invalid& v : invalid) {
    Json t = b.Test("invalid", v.comment);
    t["encoded"] = ToHex(v.encoded);
    SetClientFields(t, kUserId, kClientPrivate, 1700000000, nonce);
    if (v.server_private) t["server_private"] = kServerPrivate;
    t["error"] = v.error;
    tests.push_back(t);
  }
}

void V2KeySchedules(Builder& b) {
  Json& tests = b.Group("key_schedule");
  const Bytes nonce = Pattern(16, 3);
  struct Valid {
    const char* user;
    const char* client_private;
    const char* server_private;
    const char* comment;
  };
  const Valid valid[] = {
      {kUserId, kClientPrivate, kServerPrivate, "RFC 7748's Alice as the client, Bob as the server"},
      {kOtherUserId, kServerPrivate, kClientPrivate, "the other way round, another user"},
  };
  for (const Valid& v : valid) {
    V2Hello hello = MakeClientHelloV2(v.user, v.client_private, 1700000000, nonce);
    noise::HandshakeState server;
    Must(PrepareServerHandshakeV2(UserOf(v.user), &server));
    const noise::HandshakeState prepared[] = {server};
    ClientHelloV2 read;
    Must(ReadClientHelloV2(prepared, hello.encoded, &read));
    Bytes reply(kServerHelloBytesV2);
    TransportKeysV2 keys;
    Must(WriteServerHelloV2(read.state, PairOf(v.server_private),
                            std::span<uint8_t, kServerHelloBytesV2>(reply), &keys));
    noise::Psk psk;
    Must(DeriveUserPskV2(UserOf(v.user), &psk));
    Json t = b.Test("valid", v.comment);
    SetClientFields(t, v.user, v.client_private, 1700000000, nonce);
    t["psk"] = ToHex(psk.span());
    t["client_public"] = ToHex(PairOf(v.client_private).public_key);
    t["server_private"] = v.server_private;
    t["server_public"] = ToHex(PairOf(v.server_private).public_key);
    t["handshake_hash"] = ToHex(keys.handshake_hash);
    t["c2s_key"] = ToHex(keys.client_to_server.span());
    t["s2c_key"] = ToHex(keys.server_to_client.span());
    tests.push_back(t);
  }
  const std::pair<const char*, const char*> low_order[] = {
      {"0000000000000000000000000000000000000000000000000000000000000000", "zero point"},
      {"e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800", "point of order 8"},
  };
  for (const auto& [pub, comment] : low_order) {
    Json t = b.Test("invalid", std::string("the server's ephemeral key is a low-order point (") +
                                   comment + "): the client refuses the ee DH");
    SetClientFields(t, kUserId, kClientPrivate, 1700000000, nonce);
    t["server_public"] = pub;
    t["error"] = "low_order_point";
    tests.push_back(t);
    Json u = b.Test("invalid", std::string("the client's ephemeral key is a low-order point (") +
                                   comment + "): the server refuses the ee DH");
    SetClientFields(u, kUserId, nullptr, 1700000000, nonce);
    u["client_public"] = pub;
    u["server_private"] = kServerPrivate;
    u["error"] = "low_order_point";
    tests.push_back(u);
  }
}

}  // namespace

Json GenerateV2Vectors() {
  Builder b("v2");
  V2ClientHandshakes(b);
  V2ServerHandshakes(b);
  V2KeySchedules(b);
  Frames(b, kWireProfileV2);
  FrameStreams(b, kWireProfileV2);
  RequestHeaders(b);
  return b.Finish();
}

Json GenerateV1CompatVectors() {
  Builder b("v1-compat");
  ClientHandshakes(b);
  ServerHandshakes(b);
  KeySchedules(b);
  Frames(b, kWireProfileV1);
  FrameStreams(b, kWireProfileV1);
  RequestHeaders(b);
  return b.Finish();
}

}  // namespace reflex::tools
