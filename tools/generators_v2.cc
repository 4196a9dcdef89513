// The v2 handshake kinds (Noise NNpsk0) of testdata/vectors/reflex-v2.json,
// made through the codec's v2 functions.
#include <cstdint>
#include <span>
#include <string>
#include <utility>

#include "base/hex.h"
#include "reflex/hello.h"
#include "reflex/hello_v2.h"
#include "reflex/noise.h"
#include "tools/generators.h"

namespace reflex::tools {
namespace {

using testing::FromHex;
using testing::ToHex;

constexpr char kOtherUserId[] = "00112233445566778899aabbccddeeff";

UserId UserOf(const char* hex) { return Array<16>(FromHex(hex)); }

// Message 1 as the codec's client writes it.
Bytes MakeClientHelloV2(const char* user, const char* client_private, int64_t timestamp,
                        const Bytes& nonce, const Bytes& reserved = Bytes(4, 0)) {
  HelloPayloadV2 payload;
  payload.timestamp = timestamp;
  payload.nonce = Array<16>(nonce);
  payload.reserved = Array<4>(reserved);
  Bytes hello(kClientHelloBytesV2);
  noise::HandshakeState client;
  // WriteClientHelloV2 encodes the reserved bytes it is given, zero or not:
  // the generator needs the refused kind too.
  Must(WriteClientHelloV2(UserOf(user), KeyPairOf(client_private), payload,
                          std::span<uint8_t, kClientHelloBytesV2>(hello), &client));
  return hello;
}

struct ServerHelloV2 {
  Bytes encoded = Bytes(kServerHelloBytesV2);
  TransportKeysV2 keys;
};

// Message 2 as the codec's server, configured with user alone, answers
// message 1.
ServerHelloV2 AnswerClientHelloV2(const char* user, const Bytes& hello,
                                  const char* server_private) {
  noise::HandshakeState server;
  Must(PrepareServerHandshakeV2(UserOf(user), &server));
  const noise::HandshakeState prepared[] = {server};
  ClientHelloV2 read;
  Must(ReadClientHelloV2(prepared, hello, &read));
  ServerHelloV2 out;
  Must(WriteServerHelloV2(read.state, KeyPairOf(server_private),
                          std::span<uint8_t, kServerHelloBytesV2>(out.encoded), &out.keys));
  return out;
}

void SetClientFields(Json& t, const char* user, const char* client_private, int64_t timestamp,
                     const Bytes& nonce) {
  t["user_id"] = user;
  if (client_private != nullptr) t["client_private"] = client_private;
  t["timestamp"] = Decimal(timestamp);
  t["nonce"] = ToHex(nonce);
}

void AddValidClientHellos(VectorBuilder& b) {
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
    t["encoded"] = ToHex(MakeClientHelloV2(kUserId, kClientPrivate, v.timestamp, v.nonce));
    SetClientFields(t, kUserId, kClientPrivate, v.timestamp, v.nonce);
    b.Add(t);
  }
}

// Message 1 in the v1-compat profile, from the same fields.
Bytes ClientHelloV1() {
  Bytes hello(kClientHelloBytesV1);
  ClientHello v1;
  v1.public_key = KeyPairOf(kClientPrivate).public_key;
  v1.user_id = UserOf(kUserId);
  v1.timestamp = 1700000000;
  Must(EncodeClientHello(v1, hello));
  return hello;
}

// `message` with the lowest bit of byte `at` flipped.
Bytes FlipBit(Bytes message, size_t at) {
  message[at] ^= 0x01;
  return message;
}

void AddInvalidClientHellos(VectorBuilder& b) {
  const Bytes nonce = Pattern(16, 7);
  const Bytes good = MakeClientHelloV2(kUserId, kClientPrivate, 1700000000, nonce);
  auto flipped = [&](size_t at) { return FlipBit(good, at); };
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
      {MakeClientHelloV2(kOtherUserId, kClientPrivate, 1700000000, nonce), "auth_failed",
       "made for another user: no configured user's PSK verifies", true},
      {flipped(40), "auth_failed", "a payload bit flipped", true},
      {flipped(75), "auth_failed", "a tag bit flipped", true},
      {flipped(3), "auth_failed", "an ephemeral key bit flipped (it is mixed into the key)",
       false},
      {MakeClientHelloV2(kUserId, kClientPrivate, 1700000000, nonce, {0, 0, 0, 1}),
       "bad_reserved", "reserved bytes 00000001", true, {0, 0, 0, 1}},
      {Pattern(76, 9), "auth_failed", "76 bytes of noise", false},
      {ClientHelloV1(), "auth_failed", "a v1-compat hello given to a v2 server", false},
  };
  for (const Invalid& v : invalid) {
    Json t = b.Test("invalid", v.comment);
    t["encoded"] = ToHex(v.encoded);
    SetClientFields(t, kUserId, v.fields ? kClientPrivate : nullptr, 1700000000, nonce);
    if (v.reserved != Bytes(4, 0)) t["reserved"] = ToHex(v.reserved);
    t["error"] = v.error;
    b.Add(t);
  }
}

// Message 2 answering the message 1 of kUserId and kClientPrivate at
// timestamp ts.
Bytes ServerHelloAt(int64_t ts, const Bytes& nonce) {
  return AnswerClientHelloV2(kUserId, MakeClientHelloV2(kUserId, kClientPrivate, ts, nonce),
                             kServerPrivate)
      .encoded;
}

void AddValidServerHellos(VectorBuilder& b) {
  const Bytes nonce = Pattern(16, 7);
  for (int64_t ts : {int64_t{1700000000}, int64_t{1700000123}}) {
    const Bytes reply = ServerHelloAt(ts, nonce);
    Json t = b.Test("valid", "a server hello (Noise message 2), client timestamp " + Decimal(ts));
    t["encoded"] = ToHex(reply);
    SetClientFields(t, kUserId, kClientPrivate, ts, nonce);
    t["server_private"] = kServerPrivate;
    b.Add(t);
  }
}

void AddInvalidServerHellos(VectorBuilder& b) {
  const Bytes nonce = Pattern(16, 7);
  const Bytes good = ServerHelloAt(1700000000, nonce);
  auto flipped = [&](size_t at) { return FlipBit(good, at); };
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
    b.Add(t);
  }
}

void AddValidKeySchedules(VectorBuilder& b, const Bytes& nonce) {
  struct Valid {
    const char* user;
    const char* client_private;
    const char* server_private;
    const char* comment;
  };
  const Valid valid[] = {
      {kUserId, kClientPrivate, kServerPrivate,
       "RFC 7748's Alice as the client, Bob as the server"},
      {kOtherUserId, kServerPrivate, kClientPrivate, "the other way round, another user"},
  };
  for (const Valid& v : valid) {
    const TransportKeysV2 keys =
        AnswerClientHelloV2(v.user, MakeClientHelloV2(v.user, v.client_private, 1700000000, nonce),
                            v.server_private)
            .keys;
    noise::Psk psk;
    Must(DeriveUserPskV2(UserOf(v.user), &psk));
    Json t = b.Test("valid", v.comment);
    SetClientFields(t, v.user, v.client_private, 1700000000, nonce);
    t["psk"] = ToHex(psk.span());
    t["client_public"] = ToHex(KeyPairOf(v.client_private).public_key);
    t["server_private"] = v.server_private;
    t["server_public"] = ToHex(KeyPairOf(v.server_private).public_key);
    t["handshake_hash"] = ToHex(keys.handshake_hash);
    t["c2s_key"] = ToHex(keys.client_to_server.span());
    t["s2c_key"] = ToHex(keys.server_to_client.span());
    b.Add(t);
  }
}

// Each low-order point once as the server's ephemeral key (the client
// refuses it) and once as the client's (the server refuses it).
void AddLowOrderKeySchedules(VectorBuilder& b, const Bytes& nonce) {
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
    b.Add(t);
    Json u = b.Test("invalid", std::string("the client's ephemeral key is a low-order point (") +
                                   comment + "): the server refuses the ee DH");
    SetClientFields(u, kUserId, nullptr, 1700000000, nonce);
    u["client_public"] = pub;
    u["server_private"] = kServerPrivate;
    u["error"] = "low_order_point";
    b.Add(u);
  }
}
}  // namespace

void GenerateClientHandshakesV2(VectorBuilder& b, const WireProfile&) {
  AddValidClientHellos(b);
  AddInvalidClientHellos(b);
}

void GenerateServerHandshakesV2(VectorBuilder& b, const WireProfile&) {
  AddValidServerHellos(b);
  AddInvalidServerHellos(b);
}

void GenerateKeySchedulesV2(VectorBuilder& b, const WireProfile&) {
  const Bytes nonce = Pattern(16, 3);
  AddValidKeySchedules(b, nonce);
  AddLowOrderKeySchedules(b, nonce);
}

}  // namespace reflex::tools
