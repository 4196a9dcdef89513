#include "reflex/hello_v2.h"

#include "reflex/byte_reader.h"
#include "reflex/byte_writer.h"
#include "reflex/hkdf.h"

namespace reflex {
namespace {

std::span<const uint8_t> Ascii(const char* s, size_t n) {
  return {reinterpret_cast<const uint8_t*>(s), n};
}

}  // namespace

void EncodeHelloPayloadV2(const HelloPayloadV2& payload,
                          std::span<uint8_t, kHelloPayloadBytesV2> out) {
  ByteWriter w(out);
  w.WriteU64BE(static_cast<uint64_t>(payload.timestamp));
  w.WriteBytes(payload.nonce);
  w.WriteBytes(payload.reserved);
}

Error DecodeHelloPayloadV2(std::span<const uint8_t> in, HelloPayloadV2* out) {
  if (in.size() < kHelloPayloadBytesV2) return Error::kTooShort;
  if (in.size() > kHelloPayloadBytesV2) return Error::kTrailingBytes;
  ByteReader r(in);
  HelloPayloadV2 p;
  uint64_t timestamp = 0;
  if (!r.ReadU64BE(&timestamp) || !r.ReadBytes(p.nonce) || !r.ReadBytes(p.reserved)) {
    return Error::kTooShort;
  }
  for (uint8_t b : p.reserved) {
    if (b != 0) return Error::kBadReserved;
  }
  p.timestamp = static_cast<int64_t>(timestamp);
  *out = p;
  return Error::kOk;
}

Error DeriveUserPskV2(const UserId& user, noise::Psk* out) {
  noise::Psk psk;
  if (const Error e = HkdfSha256(Ascii(kPskSaltV2, sizeof(kPskSaltV2) - 1), user, {}, psk.span());
      e != Error::kOk) {
    return e;
  }
  *out = psk;
  return Error::kOk;
}

Error InitHandshakeV2(bool initiator, const noise::Psk& psk, noise::HandshakeState* out) {
  const noise::Psk psks[] = {psk};
  return out->Initialize(noise::kNNpsk0, initiator, Ascii(kPrologueV2, sizeof(kPrologueV2) - 1),
                         psks);
}

Error PrepareServerHandshakeV2(const UserId& user, noise::HandshakeState* out) {
  noise::Psk psk;
  if (const Error e = DeriveUserPskV2(user, &psk); e != Error::kOk) return e;
  noise::HandshakeState state;
  if (const Error e = InitHandshakeV2(/*initiator=*/false, psk, &state); e != Error::kOk) return e;
  state.ApplyLeadingPskTokens();
  *out = state;
  return Error::kOk;
}

Error WriteClientHelloV2(const UserId& user, const KeyPair& ephemeral,
                         const HelloPayloadV2& payload,
                         std::span<uint8_t, kClientHelloBytesV2> out, noise::HandshakeState* state) {
  noise::Psk psk;
  if (const Error e = DeriveUserPskV2(user, &psk); e != Error::kOk) return e;
  noise::HandshakeState hs;
  if (const Error e = InitHandshakeV2(/*initiator=*/true, psk, &hs); e != Error::kOk) return e;
  hs.SetEphemeral(ephemeral);
  std::array<uint8_t, kHelloPayloadBytesV2> plain;
  EncodeHelloPayloadV2(payload, plain);
  size_t written = 0;
  if (const Error e = hs.WriteMessage(plain, out, &written); e != Error::kOk) return e;
  *state = hs;
  return Error::kOk;
}

Error ReadClientHelloV2(std::span<const noise::HandshakeState> prepared,
                        std::span<const uint8_t> hello, ClientHelloV2* out) {
  if (hello.size() < kClientHelloBytesV2) return Error::kTooShort;
  if (hello.size() > kClientHelloBytesV2) return Error::kTrailingBytes;
  size_t matched = SIZE_MAX;
  noise::HandshakeState matched_state;
  std::array<uint8_t, kHelloPayloadBytesV2> plain{};
  for (size_t u = 0; u < prepared.size(); ++u) {
    noise::HandshakeState trial = prepared[u];
    std::array<uint8_t, kHelloPayloadBytesV2> got{};
    size_t n = 0;
    const bool ok = trial.ReadMessage(hello, got, &n) == Error::kOk && n == got.size();
    if (ok && matched == SIZE_MAX) {
      matched = u;
      matched_state = trial;
      plain = got;
    }
  }
  if (matched == SIZE_MAX) return Error::kAuthFailed;
  HelloPayloadV2 payload;
  if (const Error e = DecodeHelloPayloadV2(plain, &payload); e != Error::kOk) return e;
  out->user = matched;
  out->payload = payload;
  out->state = matched_state;
  return Error::kOk;
}

Error WriteServerHelloV2(noise::HandshakeState& state, const KeyPair& ephemeral,
                         std::span<uint8_t, kServerHelloBytesV2> out, TransportKeysV2* keys) {
  noise::HandshakeState hs = state;
  hs.SetEphemeral(ephemeral);
  std::array<uint8_t, kServerHelloBytesV2> message;
  size_t written = 0;
  if (const Error e = hs.WriteMessage({}, message, &written); e != Error::kOk) return e;
  TransportKeysV2 k;
  if (const Error e = hs.Split(&k.client_to_server, &k.server_to_client); e != Error::kOk) {
    return e;
  }
  k.handshake_hash = hs.handshake_hash();
  std::copy(message.begin(), message.end(), out.begin());
  state = hs;
  *keys = k;
  return Error::kOk;
}

Error ReadServerHelloV2(noise::HandshakeState& state, std::span<const uint8_t> hello,
                        TransportKeysV2* keys) {
  if (hello.size() < kServerHelloBytesV2) return Error::kTooShort;
  if (hello.size() > kServerHelloBytesV2) return Error::kTrailingBytes;
  noise::HandshakeState hs = state;
  size_t n = 0;
  if (const Error e = hs.ReadMessage(hello, {}, &n); e != Error::kOk) return e;
  TransportKeysV2 k;
  if (const Error e = hs.Split(&k.client_to_server, &k.server_to_client); e != Error::kOk) {
    return e;
  }
  k.handshake_hash = hs.handshake_hash();
  state = hs;
  *keys = k;
  return Error::kOk;
}

}  // namespace reflex
