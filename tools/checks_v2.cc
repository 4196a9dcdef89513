// The v2 handshake kinds (Noise NNpsk0): message 1, message 2 and the keys
// they derive, each through the codec's functions, the reference model and
// the sessions. The codec's functions report as "codec" (its v2 handshake
// functions take no AEAD backend), the sessions per backend.
#include <algorithm>
#include <cstddef>
#include <string>
#include <utility>

#include "reflex/hello_v2.h"
#include "reflex/key_schedule.h"
#include "reflex/reference_model.h"
#include "tools/checks.h"
#include "tools/handshake_v2.h"

namespace reflex::tools {
namespace {

constexpr char kCodec[] = "codec";

// The first 32 bytes of a message are its sender's ephemeral public key:
// when a test gives the private key, they must match.
void ExpectEphemeralOf(const Bytes& message, const VectorTest& t, const char* private_field,
                       Failures& out) {
  if (!t.Has(private_field)) return;
  const KeyPair pair = PairOf(t.HexField(private_field));
  const size_t n = std::min<size_t>(message.size(), kPublicKeyBytes);
  if (!std::equal(message.begin(), message.begin() + static_cast<ptrdiff_t>(n),
                  pair.public_key.begin())) {
    out.Add("", std::string("'encoded' does not start with the public key of '") + private_field +
                    "'");
  }
}

// An invalid message 1: both servers refuse it, and a server session falls
// back for the named reason.
void CheckRefusedClientHello(const VectorTest& t, Error read_error, Error ref_error,
                             Failures& out) {
  const Bytes& encoded = t.HexField("encoded");
  out.ExpectRefused(kCodec, "server read", read_error, t.ErrorField());
  out.ExpectRefused(kReference, "server read", ref_error, t.ErrorField());
  ExpectEphemeralOf(encoded, t, "client_private", out);
  if (encoded.size() != kClientHelloBytesV2 || !t.Has("timestamp")) return;
  for (AeadBackend backend : kAllAeadBackends) {
    const SessionEvent e = ServerSessionReads(UserOf(t), backend, t.I64Field("timestamp"),
                                              Bytes(32, 1), encoded, nullptr);
    if (e.kind != SessionEventKind::kFallback) {
      out.Add(SessionName(backend), "the server did not fall back");
    } else if (t.ErrorField() && e.reason != *t.ErrorField()) {
      out.Add(SessionName(backend), "fell back for " + std::string(ErrorName(e.reason)) +
                                        ", expected " + std::string(ErrorName(*t.ErrorField())));
    }
  }
}

// The sessions, end to end: a client drawing exactly the test's key and
// nonce at its time sends exactly this hello, and a server takes it.
void ExpectSessionsSendAndTakeClientHello(const VectorTest& t, Failures& out) {
  const Bytes& encoded = t.HexField("encoded");
  for (AeadBackend backend : kAllAeadBackends) {
    ScriptedClientV2 client(t, backend);
    out.ExpectOk(SessionName(backend), "client start", client.session().Start());
    out.ExpectBytes(SessionName(backend), "client hello:", encoded,
                    client.session().PendingOutput());
    const SessionEvent e = ServerSessionReads(UserOf(t), backend, t.I64Field("timestamp"),
                                              Bytes(32, 1), encoded, nullptr);
    if (e.kind != SessionEventKind::kHandshakeDone) {
      out.Add(SessionName(backend), "the server did not accept the hello (" +
                                        std::string(ErrorName(e.reason)) + ")");
    }
  }
}

// An invalid message 2: both clients refuse it, and so does a client
// session given a message of the right size.
void CheckRefusedServerHello(const VectorTest& t, Error read_error, Error ref_error,
                             Failures& out) {
  const Bytes& encoded = t.HexField("encoded");
  out.ExpectRefused(kCodec, "client read", read_error, t.ErrorField());
  out.ExpectRefused(kReference, "client read", ref_error, t.ErrorField());
  ExpectEphemeralOf(encoded, t, "server_private", out);
  if (encoded.size() != kServerHelloBytesV2) return;
  for (AeadBackend backend : kAllAeadBackends) {
    const SessionEvent e = ClientSessionReads(t, backend, encoded);
    if (e.kind != SessionEventKind::kError) {
      out.Add(SessionName(backend), "the client did not refuse the server hello");
    } else {
      out.ExpectRefused(SessionName(backend), "client read", e.reason, t.ErrorField());
    }
  }
}

bool SameKeys(const TransportKeysV2& a, const TransportKeysV2& b) {
  return a.client_to_server.Equals(b.client_to_server.span()) &&
         a.server_to_client.Equals(b.server_to_client.span());
}

// A server session answers the client hello with exactly this message 2,
// and a client session takes it.
void ExpectSessionsSendAndTakeServerHello(const VectorTest& t, const Bytes& client_hello,
                                          Failures& out) {
  const Bytes& encoded = t.HexField("encoded");
  for (AeadBackend backend : kAllAeadBackends) {
    Bytes reply;
    const SessionEvent e = ServerSessionReads(UserOf(t), backend, t.I64Field("timestamp"),
                                              t.HexField("server_private"), client_hello, &reply);
    if (e.kind != SessionEventKind::kHandshakeDone) {
      out.Add(SessionName(backend), "the server did not accept the client hello");
    }
    out.ExpectBytes(SessionName(backend), "server hello:", encoded, reply);
    if (ClientSessionReads(t, backend, encoded).kind != SessionEventKind::kHandshakeDone) {
      out.Add(SessionName(backend), "the client did not accept the server hello");
    }
  }
}

void ExpectPskAndPublicKeys(const VectorTest& t, Failures& out) {
  if (t.Has("psk")) {
    noise::Psk psk;
    out.ExpectOk(kCodec, "psk", DeriveUserPskV2(UserOf(t), &psk));
    out.ExpectBytes(kCodec, "psk", t.HexField("psk"), psk.span());
    out.ExpectBytes(kReference, "psk", t.HexField("psk"), reference::PskV2(t.HexField("user_id")));
  }
  for (auto [priv, pub] : {std::pair{"client_private", "client_public"},
                           std::pair{"server_private", "server_public"}}) {
    if (t.Has(priv) && t.Has(pub)) {
      out.ExpectBytes(kCodec, std::string(pub), t.HexField(pub),
                      PairOf(t.HexField(priv)).public_key);
    }
  }
}

// The client reads a message 2 carrying server_public (its tag is never
// reached: the DH comes first) and refuses it.
void ExpectClientRefusesServerPublic(const VectorTest& t, Failures& out) {
  const Bytes& client_private = t.HexField("client_private");
  Bytes reply = t.HexField("server_public");
  reply.resize(kServerHelloBytesV2, 0);
  CodecHandshakeV2 codec(t);
  out.ExpectOk(kCodec, "client write", codec.WriteClientHello(client_private));
  out.ExpectRefused(kCodec, "client read", codec.ReadServerHello(reply), t.ErrorField());
  ReferenceHandshakeV2 ref(t);
  out.ExpectOk(kReference, "client write", ref.WriteClientHello(client_private));
  out.ExpectRefused(kReference, "client read", ref.ReadServerHello(reply), t.ErrorField());
}

// The server reads a message 1 carrying client_public, then refuses to
// answer it (the DH).
void ExpectServerRefusesClientPublic(const VectorTest& t, Failures& out) {
  const Bytes& server_private = t.HexField("server_private");
  ReferenceHandshakeV2 ref(t);
  out.ExpectOk(kReference, "client write",
               ref.WriteClientHelloWithPublic(t.HexField("client_public")));
  const Bytes& hello = ref.client_hello();
  CodecHandshakeV2 codec(t);
  const Error e = codec.ReadClientHello(hello);
  out.ExpectOk(kCodec, "server read", e);
  if (e == Error::kOk) {
    out.ExpectRefused(kCodec, "server write", codec.WriteServerHello(server_private),
                      t.ErrorField());
  }
  out.ExpectOk(kReference, "server read", ref.ReadClientHello(hello));
  out.ExpectRefused(kReference, "server write", ref.WriteServerHello(server_private),
                    t.ErrorField());
}

void CheckRefusedKeySchedule(const VectorTest& t, Failures& out) {
  const bool client_side = t.Has("client_private") && t.Has("server_public");
  const bool server_side = t.Has("client_public") && t.Has("server_private");
  if (!client_side && !server_side) {
    out.Add("", "no side of the exchange can be computed from the given fields");
  }
  if (client_side) ExpectClientRefusesServerPublic(t, out);
  if (server_side) ExpectServerRefusesClientPublic(t, out);
}

// The codec's whole handshake: both sides derive the test's keys.
void ExpectCodecKeySchedule(const VectorTest& t, Failures& out) {
  CodecHandshakeV2 codec(t);
  out.ExpectOk(kCodec, "client write", codec.WriteClientHello(t.HexField("client_private")));
  out.ExpectOk(kCodec, "server read", codec.ReadClientHello(codec.client_hello()));
  out.ExpectOk(kCodec, "server write", codec.WriteServerHello(t.HexField("server_private")));
  out.ExpectOk(kCodec, "client read", codec.ReadServerHello(codec.server_hello()));
  for (const auto& [side, keys] : {std::pair{"server ", &codec.server_keys()},
                                   std::pair{"client ", &codec.client_keys()}}) {
    out.ExpectBytes(kCodec, std::string(side) + "handshake hash", t.HexField("handshake_hash"),
                    keys->handshake_hash);
    out.ExpectBytes(kCodec, std::string(side) + "c2s key", t.HexField("c2s_key"),
                    keys->client_to_server.span());
    out.ExpectBytes(kCodec, std::string(side) + "s2c key", t.HexField("s2c_key"),
                    keys->server_to_client.span());
  }
}

// The reference model's whole handshake: the test's keys.
void ExpectReferenceKeySchedule(const VectorTest& t, Failures& out) {
  ReferenceHandshakeV2 ref(t);
  const bool ok = ref.WriteClientHello(t.HexField("client_private")) == Error::kOk &&
                  ref.ReadClientHello(ref.client_hello()) == Error::kOk &&
                  ref.WriteServerHello(t.HexField("server_private")) == Error::kOk &&
                  ref.ReadServerHello(ref.server_hello()) == Error::kOk;
  if (!ok) {
    out.Add(kReference, "the handshake failed");
    return;
  }
  out.ExpectBytes(kReference, "handshake hash", t.HexField("handshake_hash"),
                  ref.server_keys().handshake_hash);
  out.ExpectBytes(kReference, "c2s key", t.HexField("c2s_key"), ref.server_keys().c2s);
  out.ExpectBytes(kReference, "s2c key", t.HexField("s2c_key"), ref.server_keys().s2c);
  out.ExpectBytes(kReference, "client's c2s key", t.HexField("c2s_key"), ref.client_keys().c2s);
}

}  // namespace

// Message 1 given: the servers read it; a valid one is also what the
// clients write from the test's fields.
void CheckClientHandshakeV2(const VectorTest& t, const WireProfile&, Failures& out) {
  const Bytes& encoded = t.HexField("encoded");
  CodecHandshakeV2 codec(t);
  const Error read_error = codec.ReadClientHello(encoded);
  ReferenceHandshakeV2 ref(t);
  const Error ref_error = ref.ReadClientHello(encoded);
  if (!t.valid) {
    CheckRefusedClientHello(t, read_error, ref_error, out);
    return;
  }
  const Bytes& client_private = t.HexField("client_private");
  const HelloPayloadV2 payload = PayloadOf(t);
  out.ExpectOk(kCodec, "client write", codec.WriteClientHello(client_private));
  out.ExpectBytes(kCodec, "client write:", encoded, codec.client_hello());
  out.ExpectOk(kCodec, "server read", read_error);
  if (read_error == Error::kOk && !(codec.read_payload() == payload)) {
    out.Add(kCodec, "server read yields other fields");
  }
  out.ExpectOk(kReference, "client write", ref.WriteClientHello(client_private));
  out.ExpectBytes(kReference, "client write:", encoded, ref.client_hello());
  out.ExpectOk(kReference, "server read", ref_error);
  if (ref_error == Error::kOk &&
      (ref.read_timestamp() != payload.timestamp || ref.read_nonce() != t.HexField("nonce"))) {
    out.Add(kReference, "server read yields other fields");
  }
  ExpectSessionsSendAndTakeClientHello(t, out);
}

// Message 2 given, message 1 made from the test's fields: the clients read
// it; a valid one is also what the servers answer.
void CheckServerHandshakeV2(const VectorTest& t, const WireProfile&, Failures& out) {
  const Bytes& encoded = t.HexField("encoded");
  const Bytes& client_private = t.HexField("client_private");
  CodecHandshakeV2 codec(t);
  out.ExpectOk(kCodec, "client write", codec.WriteClientHello(client_private));
  const Error read_error = codec.ReadServerHello(encoded);
  ReferenceHandshakeV2 ref(t);
  out.ExpectOk(kReference, "client write", ref.WriteClientHello(client_private));
  const Error ref_error = ref.ReadServerHello(encoded);
  if (!t.valid) {
    CheckRefusedServerHello(t, read_error, ref_error, out);
    return;
  }
  const Bytes& server_private = t.HexField("server_private");
  out.ExpectOk(kCodec, "server read", codec.ReadClientHello(codec.client_hello()));
  out.ExpectOk(kCodec, "server write", codec.WriteServerHello(server_private));
  out.ExpectBytes(kCodec, "server write:", encoded, codec.server_hello());
  out.ExpectOk(kCodec, "client read", read_error);
  if (read_error == Error::kOk && !SameKeys(codec.client_keys(), codec.server_keys())) {
    out.Add(kCodec, "client and server split to different keys");
  }
  out.ExpectOk(kReference, "server read", ref.ReadClientHello(ref.client_hello()));
  out.ExpectOk(kReference, "server write", ref.WriteServerHello(server_private));
  out.ExpectBytes(kReference, "server write:", encoded, ref.server_hello());
  out.ExpectOk(kReference, "client read", ref_error);
  ExpectSessionsSendAndTakeServerHello(t, codec.client_hello(), out);
}

void CheckKeyScheduleV2(const VectorTest& t, const WireProfile&, Failures& out) {
  ExpectPskAndPublicKeys(t, out);
  if (!t.valid) {
    CheckRefusedKeySchedule(t, out);
    return;
  }
  ExpectCodecKeySchedule(t, out);
  ExpectReferenceKeySchedule(t, out);
}

}  // namespace reflex::tools
