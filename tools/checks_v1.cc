// The v1-compat handshake kinds: the 76-byte client hello, the 40-byte
// server hello and the X25519 + HKDF key schedule, each through the codec
// and the reference model.
#include <algorithm>
#include <string>

#include "reflex/hello.h"
#include "reflex/key_schedule.h"
#include "reflex/reference_model.h"
#include "tools/checks.h"

namespace reflex::tools {
namespace {

ClientHello ClientHelloOf(const VectorTest& t) {
  ClientHello h;
  std::ranges::copy(t.HexField("public_key"), h.public_key.begin());
  std::ranges::copy(t.HexField("user_id"), h.user_id.begin());
  h.timestamp = t.I64Field("timestamp");
  std::ranges::copy(t.HexField("nonce"), h.nonce.begin());
  return h;
}

ServerHello ServerHelloOf(const VectorTest& t) {
  ServerHello h;
  std::ranges::copy(t.HexField("public_key"), h.public_key.begin());
  h.timestamp = t.I64Field("timestamp");
  return h;
}

// One side of an exchange: own private key, peer public key.
void CheckSide(const std::string& side, const VectorTest& t, const char* own_private_name,
               const char* own_public_name, const char* peer_public_name, Failures& out) {
  const Bytes& own_private = t.HexField(own_private_name);
  const Bytes& peer_public = t.HexField(peer_public_name);
  const std::string codec = CodecName(DefaultAeadBackend());
  KeyPair pair;
  out.ExpectOk(codec, side + " key pair", KeyPairFromPrivate(Fixed<32>(own_private), &pair));
  if (t.Has(own_public_name)) {
    out.ExpectBytes(codec, side + " public key", t.HexField(own_public_name), pair.public_key);
    Bytes pub;
    out.ExpectOk(kReference, side + " public key", reference::PublicKeyOf(own_private, &pub));
    out.ExpectBytes(kReference, side + " public key", t.HexField(own_public_name), pub);
  }
  SharedSecret s;
  SessionKey k;
  Error e1 = ComputeSharedSecret(pair.private_key, Fixed<32>(peer_public), &s);
  const Error e2 = e1 == Error::kOk ? DeriveSessionKeyV1(s, &k) : e1;
  Bytes k2;
  const Error e3 = reference::SessionKeyV1(own_private, peer_public, &k2);
  if (!t.valid) {
    out.ExpectRefused(codec, side + " key agreement", e2, t.ErrorField());
    out.ExpectRefused(kReference, side + " key agreement", e3, t.ErrorField());
    return;
  }
  out.ExpectOk(codec, side + " shared secret", e1);
  out.ExpectOk(codec, side + " session key", e2);
  out.ExpectOk(kReference, side + " session key", e3);
  const Bytes& shared_secret = t.HexField("shared_secret");
  const Bytes& session_key = t.HexField("session_key");
  if (e1 == Error::kOk) out.ExpectBytes(codec, side + " shared secret", shared_secret, s.span());
  if (e2 == Error::kOk) out.ExpectBytes(codec, side + " session key", session_key, k.span());
  if (e3 == Error::kOk) out.ExpectBytes(kReference, side + " session key", session_key, k2);
}

// The codec's and the reference model's functions, by hello type.
Error DecodeHello(std::span<const uint8_t> in, ClientHello* out) {
  return DecodeClientHello(in, out);
}
Error DecodeHello(std::span<const uint8_t> in, ServerHello* out) {
  return DecodeServerHello(in, out);
}
Error EncodeHello(const ClientHello& h, std::span<uint8_t> out) {
  return EncodeClientHello(h, out);
}
Error EncodeHello(const ServerHello& h, std::span<uint8_t> out) {
  return EncodeServerHello(h, out);
}
Error DecodeReferenceHello(const Bytes& in, ClientHello* out) {
  return reference::DecodeClientHello(in, out);
}
Error DecodeReferenceHello(const Bytes& in, ServerHello* out) {
  return reference::DecodeServerHello(in, out);
}
Bytes EncodeReferenceHello(const ClientHello& h) {
  return reference::EncodeClientHello(h);
}
Bytes EncodeReferenceHello(const ServerHello& h) {
  return reference::EncodeServerHello(h);
}

// A valid v1 hello (ClientHello or ServerHello): the codec and the
// reference model each decode `encoded` to the test's fields and encode
// those fields back to `encoded`.
template <size_t kSize, class Hello>
void ExpectHelloRoundTrip(const Bytes& encoded, const Hello& expected, Failures& out) {
  const std::string codec = CodecName(DefaultAeadBackend());
  Hello got;
  const Error e = DecodeHello(encoded, &got);
  out.ExpectOk(codec, "decode", e);
  if (e == Error::kOk && !(got == expected)) out.Add(codec, "decode yields other fields");
  Bytes again(kSize);
  out.ExpectOk(codec, "encode", EncodeHello(expected, again));
  out.ExpectBytes(codec, "encode:", encoded, again);
  Hello got2;
  const Error e2 = DecodeReferenceHello(encoded, &got2);
  out.ExpectOk(kReference, "decode", e2);
  if (e2 == Error::kOk && !(got2 == expected)) out.Add(kReference, "decode yields other fields");
  out.ExpectBytes(kReference, "encode:", encoded, EncodeReferenceHello(expected));
}

}  // namespace

void CheckClientHandshakeV1(const VectorTest& t, const WireProfile&, Failures& out) {
  const Bytes& encoded = t.HexField("encoded");
  const bool has_fields = HasAll(t, {"public_key", "user_id", "timestamp", "nonce"});
  if (!t.valid) {
    ClientHello h;
    out.ExpectRefused(CodecName(DefaultAeadBackend()), "decode", DecodeClientHello(encoded, &h),
                      t.ErrorField());
    out.ExpectRefused(kReference, "decode", reference::DecodeClientHello(encoded, &h),
                      t.ErrorField());
    if (has_fields) {
      ExpectMadeFrom(encoded, reference::EncodeClientHello(ClientHelloOf(t)),
                     t.ErrorField() == Error::kBadMagic ? 4 : 0, out);
    }
    return;
  }
  ExpectHelloRoundTrip<kClientHelloBytesV1>(encoded, ClientHelloOf(t), out);
}

void CheckServerHandshakeV1(const VectorTest& t, const WireProfile&, Failures& out) {
  const Bytes& encoded = t.HexField("encoded");
  const std::string codec = CodecName(DefaultAeadBackend());
  if (!t.valid) {
    ServerHello h;
    out.ExpectRefused(codec, "decode", DecodeServerHello(encoded, &h), t.ErrorField());
    out.ExpectRefused(kReference, "decode", reference::DecodeServerHello(encoded, &h),
                      t.ErrorField());
    if (HasAll(t, {"public_key", "timestamp"})) {
      ExpectMadeFrom(encoded, reference::EncodeServerHello(ServerHelloOf(t)), 0, out);
    }
    return;
  }
  ExpectHelloRoundTrip<kServerHelloBytesV1>(encoded, ServerHelloOf(t), out);
}

void CheckKeyScheduleV1(const VectorTest& t, const WireProfile&, Failures& out) {
  const bool client = HasAll(t, {"client_private", "server_public"});
  const bool server = HasAll(t, {"server_private", "client_public"});
  if (client) CheckSide("client", t, "client_private", "client_public", "server_public", out);
  if (server) CheckSide("server", t, "server_private", "server_public", "client_public", out);
  if (t.valid) return;
  if (!client && !server) {
    out.Add("", "no side of the exchange can be computed from the given fields");
  }
  // The only refused exchange is the one whose shared secret is all zeros
  // (a low-order key); a test that gives it must give that.
  if (t.Has("shared_secret") && t.HexField("shared_secret") != Bytes(32, 0)) {
    out.Add("", "a refused exchange's shared_secret must be all zeros (a low-order key)");
  }
  if (t.Has("shared_secret") && t.Has("session_key")) {
    const Bytes label = {'r', 'e', 'f', 'l', 'e', 'x', '-', 's', 'e', 's', 's',
                         'i', 'o', 'n', '-', 'v', '1'};
    out.ExpectBytes(kReference, "session key of the given shared secret:",
                    t.HexField("session_key"),
                    reference::HkdfSha256(label, t.HexField("shared_secret"), label, 32));
  }
}

}  // namespace reflex::tools
