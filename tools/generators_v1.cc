// The v1-compat handshake kinds of testdata/vectors/reflex-v1-compat.json.
#include <cstdint>
#include <string>
#include <utility>

#include "base/hex.h"
#include "reflex/hello.h"
#include "reflex/key_schedule.h"
#include "tools/generators.h"

namespace reflex::tools {
namespace {

using testing::FromHex;
using testing::ToHex;

void AddValidClientHellos(VectorBuilder& b, const KeyPair& client) {
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
    b.Add(t);
  }
}

void AddInvalidClientHellos(VectorBuilder& b, const KeyPair& client) {
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
    b.Add(t);
  }
}

void AddValidKeySchedules(VectorBuilder& b) {
  struct Valid {
    const char* client_private;
    const char* server_private;
    const char* comment;
  };
  const Valid valid[] = {
      {kClientPrivate, kServerPrivate, "RFC 7748 section 6.1 key pairs"},
      {"1111111111111111111111111111111111111111111111111111111111111111",
       "2222222222222222222222222222222222222222222222222222222222222222", "repeated-byte keys"},
      {"ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
       "0000000000000000000000000000000000000000000000000000000000000000",
       "private keys that clamping changes"},
  };
  for (const Valid& v : valid) {
    const KeyPair c = KeyPairOf(v.client_private), s = KeyPairOf(v.server_private);
    SharedSecret shared;
    Must(ComputeSharedSecret(c.private_key, s.public_key, &shared));
    SessionKey key;
    Must(DeriveSessionKeyV1(shared, &key));
    Json t = b.Test("valid", v.comment);
    t["client_private"] = v.client_private;
    t["server_private"] = v.server_private;
    t["client_public"] = ToHex(c.public_key);
    t["server_public"] = ToHex(s.public_key);
    t["shared_secret"] = ToHex(shared.span());
    t["session_key"] = ToHex(key.span());
    b.Add(t);
  }
}

void AddLowOrderKeySchedules(VectorBuilder& b) {
  const KeyPair c = KeyPairOf(kClientPrivate);
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
    b.Add(t);
  }
}

}  // namespace

void GenerateClientHandshakesV1(VectorBuilder& b, const WireProfile&) {
  const KeyPair client = KeyPairOf(kClientPrivate);
  AddValidClientHellos(b, client);
  AddInvalidClientHellos(b, client);
}

void GenerateServerHandshakesV1(VectorBuilder& b, const WireProfile&) {
  const KeyPair server = KeyPairOf(kServerPrivate);
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
    b.Add(t);
  }
  const std::pair<size_t, const char*> invalid[] = {
      {0, "too_short"}, {39, "too_short"}, {41, "trailing_bytes"}, {76, "trailing_bytes"}};
  for (const auto& [size, error] : invalid) {
    Json t = b.Test("invalid", std::to_string(size) + " bytes");
    t["encoded"] = ToHex(Pattern(size, 3));
    t["error"] = error;
    b.Add(t);
  }
}

void GenerateKeySchedulesV1(VectorBuilder& b, const WireProfile&) {
  AddValidKeySchedules(b);
  AddLowOrderKeySchedules(b);
}

}  // namespace reflex::tools
