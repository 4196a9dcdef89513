// Properties of the codec: round trips under any chunking, hellos, the key
// schedule, tamper evidence, and the request header.
#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include <array>
#include <vector>

#include "pool/buffer_pool.h"
#include "reflex/frame_decoder.h"
#include "reflex/frame_opener.h"
#include "reflex/frame_sealer.h"
#include "reflex/pooled_frames.h"
#include "reflex/testing/chunked_decode.h"
#include "reflex/hello.h"
#include "reflex/key_schedule.h"
#include "reflex/request_header.h"

namespace reflex {
namespace {

using Bytes = std::vector<uint8_t>;

rc::Gen<AeadBackend> GenBackend() {
  return rc::gen::element(AeadBackend::kSodium, AeadBackend::kOpenssl);
}

pool::BufferPool& Pool() {
  static pool::BufferPool pool;
  return pool;
}

SessionKey KeyFrom(const std::array<uint8_t, 32>& bytes) {
  return SessionKey(std::span<const uint8_t, 32>(bytes));
}

struct Frame {
  FrameType type;
  Bytes payload;
};

// Payload sizes: mostly small, sometimes at or near the 16384 limit.
rc::Gen<Bytes> GenPayload() {
  return rc::gen::oneOf(
      rc::gen::container<Bytes>(rc::gen::arbitrary<uint8_t>()),
      rc::gen::mapcat(rc::gen::inRange<size_t>(16000, 16385), [](size_t n) {
        return rc::gen::container<Bytes>(n, rc::gen::arbitrary<uint8_t>());
      }));
}

rc::Gen<FrameType> GenType() {
  return rc::gen::element(FrameType::kData, FrameType::kPadding, FrameType::kTiming,
                          FrameType::kClose);
}

rc::Gen<uint64_t> GenFirstCounter() {
  return rc::gen::oneOf(rc::gen::just<uint64_t>(1), rc::gen::inRange<uint64_t>(1, 1000000),
                        rc::gen::just<uint64_t>(UINT64_C(0xFFFFFFF0)),
                        rc::gen::just<uint64_t>(UINT64_MAX - 20));
}

// Property 2: any frames, sealed, then stream-decoded under any chunking
// (1-byte chunks included) come back identical, one counter each.
RC_GTEST_PROP(CodecProperties, RoundTripUnderAnyChunking, ()) {
  const auto key_bytes = *rc::gen::arbitrary<std::array<uint8_t, 32>>();
  const uint64_t first = *GenFirstCounter();
  const auto count = *rc::gen::inRange<size_t>(0, 8);
  std::vector<Frame> frames;
  for (size_t i = 0; i < count; ++i) frames.push_back({*GenType(), *GenPayload()});
  const auto chunks = *rc::gen::nonEmpty(rc::gen::container<std::vector<size_t>>(
      rc::gen::oneOf(rc::gen::just<size_t>(1), rc::gen::inRange<size_t>(1, 40),
                     rc::gen::inRange<size_t>(1, 40000))));

  const FrameCipherOptions options = {kWireProfileV1, *GenBackend()};
  const SessionKey key = KeyFrom(key_bytes);
  FrameSealer sealer(key, first, options);
  Bytes wire;
  for (const Frame& f : frames) {
    pool::Buffer b;
    RC_ASSERT(SealToBuffer(sealer, Pool(), f.type, f.payload, &b) == Error::kOk);
    wire.insert(wire.end(), b.data(), b.data() + b.size());
  }
  RC_ASSERT(sealer.next_counter() == first + frames.size());

  FrameDecoder decoder(key, Pool(), first, options);
  const testing::ChunkedDecode decoded = testing::DecodeInChunks(decoder, wire, chunks);
  RC_ASSERT(decoded.broken.empty());
  RC_ASSERT(decoded.error == Error::kOk);
  std::vector<Frame> got;
  for (size_t i = 0; i < decoded.frames.size(); ++i) {
    RC_ASSERT(decoded.counters[i] == first + i);
    got.push_back({static_cast<FrameType>(decoded.frames[i].type), decoded.frames[i].payload});
  }
  RC_ASSERT(got.size() == frames.size());
  for (size_t i = 0; i < frames.size(); ++i) {
    RC_ASSERT(got[i].type == frames[i].type);
    RC_ASSERT(got[i].payload == frames[i].payload);
  }
}

// Property 3a: decode(encode(x)) == x for any hello fields.
RC_GTEST_PROP(CodecProperties, HellosDecodeWhatWasEncoded, ()) {
  ClientHello c;
  c.public_key = *rc::gen::arbitrary<std::array<uint8_t, 32>>();
  c.user_id = *rc::gen::arbitrary<std::array<uint8_t, 16>>();
  c.timestamp = *rc::gen::arbitrary<int64_t>();
  c.nonce = *rc::gen::arbitrary<std::array<uint8_t, 16>>();
  uint8_t cb[kClientHelloBytes];
  RC_ASSERT(EncodeClientHello(c, cb) == Error::kOk);
  ClientHello c2;
  RC_ASSERT(DecodeClientHello(cb, &c2) == Error::kOk);
  RC_ASSERT(c2 == c);

  ServerHello s;
  s.public_key = *rc::gen::arbitrary<std::array<uint8_t, 32>>();
  s.timestamp = *rc::gen::arbitrary<int64_t>();
  uint8_t sb[kServerHelloBytesV1];
  RC_ASSERT(EncodeServerHello(s, sb) == Error::kOk);
  ServerHello s2;
  RC_ASSERT(DecodeServerHello(sb, &s2) == Error::kOk);
  RC_ASSERT(s2 == s);
}

// Property 3b: encode(decode(b)) == b for any 76/40-byte b that decodes.
RC_GTEST_PROP(CodecProperties, HellosReencodeToTheirBytes, ()) {
  auto body = *rc::gen::container<Bytes>(kClientHelloBytes - 4, rc::gen::arbitrary<uint8_t>());
  Bytes client(kMagic.begin(), kMagic.end());
  client.insert(client.end(), body.begin(), body.end());
  ClientHello c;
  RC_ASSERT(DecodeClientHello(client, &c) == Error::kOk);
  Bytes again(kClientHelloBytes);
  RC_ASSERT(EncodeClientHello(c, again) == Error::kOk);
  RC_ASSERT(again == client);

  const auto server = *rc::gen::container<Bytes>(kServerHelloBytesV1, rc::gen::arbitrary<uint8_t>());
  ServerHello s;
  RC_ASSERT(DecodeServerHello(server, &s) == Error::kOk);
  Bytes again2(kServerHelloBytesV1);
  RC_ASSERT(EncodeServerHello(s, again2) == Error::kOk);
  RC_ASSERT(again2 == server);
}

// Property 4a: both sides derive the same key from any two private keys.
RC_GTEST_PROP(CodecProperties, BothSidesDeriveTheSameKey, ()) {
  const auto a = *rc::gen::arbitrary<std::array<uint8_t, 32>>();
  const auto b = *rc::gen::arbitrary<std::array<uint8_t, 32>>();
  KeyPair client, server;
  RC_ASSERT(KeyPairFromPrivate(a, &client) == Error::kOk);
  RC_ASSERT(KeyPairFromPrivate(b, &server) == Error::kOk);
  SessionKey k1, k2;
  RC_ASSERT(DeriveSessionKeyV1(client.private_key, server.public_key, &k1) == Error::kOk);
  RC_ASSERT(DeriveSessionKeyV1(server.private_key, client.public_key, &k2) == Error::kOk);
  RC_ASSERT(k1.Equals(k2.span()));
}

// Property 4b: low-order peer keys are refused, whatever the own key.
RC_GTEST_PROP(CodecProperties, LowOrderPeerKeysAreRefused, ()) {
  static const std::array<std::array<uint8_t, 32>, 4> kLowOrder = [] {
    std::array<std::array<uint8_t, 32>, 4> k{};
    k[1][0] = 1;  // u = 1
    // u = p - 1 and u = p (non-canonical 0)
    k[2].fill(0xff);
    k[2][0] = 0xec;
    k[2][31] = 0x7f;
    k[3].fill(0xff);
    k[3][0] = 0xed;
    k[3][31] = 0x7f;
    return k;
  }();
  const auto own = *rc::gen::arbitrary<std::array<uint8_t, 32>>();
  const auto& peer = *rc::gen::elementOf(kLowOrder);
  KeyPair pair;
  RC_ASSERT(KeyPairFromPrivate(own, &pair) == Error::kOk);
  SessionKey k;
  RC_ASSERT(DeriveSessionKeyV1(pair.private_key, peer, &k) == Error::kLowOrderPoint);
}

// Property 5: flipping any single bit anywhere in a sealed frame makes
// opening fail, and no payload is yielded.
RC_GTEST_PROP(CodecProperties, AnySingleBitFlipIsDetected, ()) {
  const auto key_bytes = *rc::gen::arbitrary<std::array<uint8_t, 32>>();
  const uint64_t counter = *GenFirstCounter();
  const FrameType type = *GenType();
  const Bytes payload = *rc::gen::container<Bytes>(rc::gen::arbitrary<uint8_t>());
  const FrameCipherOptions options = {kWireProfileV1, *GenBackend()};
  const SessionKey key = KeyFrom(key_bytes);
  FrameSealer sealer(key, counter, options);
  pool::Buffer wire;
  RC_ASSERT(SealToBuffer(sealer, Pool(), type, payload, &wire) == Error::kOk);
  const auto bit = *rc::gen::inRange<size_t>(0, wire.size() * 8);
  Bytes tampered(wire.data(), wire.data() + wire.size());
  tampered[bit / 8] ^= static_cast<uint8_t>(1u << (bit % 8));
  FrameOpener opener(key, counter, options);
  OpenedFrame f;
  RC_ASSERT(opener.OpenInPlace(tampered, &f) != Error::kOk);
  RC_ASSERT(f.payload.empty());
}

rc::Gen<RequestHeader> GenValidHeader() {
  return rc::gen::exec([] {
    RequestHeader h;
    h.command = *rc::gen::arbitrary<uint8_t>();
    h.port = *rc::gen::arbitrary<uint16_t>();
    h.address_type = *rc::gen::element(AddressType::kIpv4, AddressType::kDomain, AddressType::kIpv6);
    size_t length = h.address_type == AddressType::kIpv4   ? 4
                    : h.address_type == AddressType::kIpv6 ? 16
                                                           : *rc::gen::inRange<size_t>(1, 256);
    const auto address = *rc::gen::container<Bytes>(length, rc::gen::arbitrary<uint8_t>());
    h.address_length = static_cast<uint8_t>(length);
    std::copy(address.begin(), address.end(), h.address.begin());
    return h;
  });
}

// Property 6a: every valid header round-trips, with any data after it.
RC_GTEST_PROP(CodecProperties, RequestHeadersRoundTrip, ()) {
  const RequestHeader h = *GenValidHeader();
  const Bytes data = *rc::gen::container<Bytes>(rc::gen::arbitrary<uint8_t>());
  Bytes payload(kMaxRequestHeaderBytes);
  size_t written = 0;
  RC_ASSERT(EncodeRequestHeader(h, payload, &written) == Error::kOk);
  payload.resize(written);
  payload.insert(payload.end(), data.begin(), data.end());
  RequestHeader back;
  size_t header_bytes = 0;
  RC_ASSERT(DecodeRequestHeader(payload, &back, &header_bytes) == Error::kOk);
  RC_ASSERT(back == h);
  RC_ASSERT(header_bytes == written);
  RC_ASSERT(Bytes(payload.begin() + static_cast<ptrdiff_t>(header_bytes), payload.end()) == data);
}

// Property 6b: every invalid header is refused with its code: any strict
// prefix of a valid header (too_short), an unknown address type
// (bad_address_type), a zero domain length (bad_domain_length).
RC_GTEST_PROP(CodecProperties, InvalidRequestHeadersAreRefusedWithTheirCode, ()) {
  const RequestHeader h = *GenValidHeader();
  Bytes encoded(kMaxRequestHeaderBytes);
  size_t written = 0;
  RC_ASSERT(EncodeRequestHeader(h, encoded, &written) == Error::kOk);
  encoded.resize(written);
  RequestHeader out;
  size_t n = 0;
  const auto cut = *rc::gen::inRange<size_t>(0, written);
  RC_ASSERT(DecodeRequestHeader(std::span<const uint8_t>(encoded.data(), cut), &out, &n) ==
            Error::kTooShort);
  Bytes bad_type = encoded;
  bad_type[3] = *rc::gen::suchThat(rc::gen::arbitrary<uint8_t>(),
                                   [](uint8_t t) { return t != 1 && t != 3 && t != 4; });
  RC_ASSERT(DecodeRequestHeader(bad_type, &out, &n) == Error::kBadAddressType);
  Bytes zero_domain = {encoded[0], encoded[1], encoded[2], 0x03, 0x00};
  const Bytes tail = *rc::gen::container<Bytes>(rc::gen::arbitrary<uint8_t>());
  zero_domain.insert(zero_domain.end(), tail.begin(), tail.end());
  RC_ASSERT(DecodeRequestHeader(zero_domain, &out, &n) == Error::kBadDomainLength);
}

}  // namespace
}  // namespace reflex
