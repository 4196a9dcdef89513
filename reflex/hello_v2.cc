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
                          std::span<uint8_t, kV2HelloPayloadBytes> out) {
  ByteWriter w(out);
  w.WriteU64BE(static_cast<uint64_t>(payload.timestamp));
  w.WriteBytes(payload.nonce);
  w.WriteBytes(payload.reserved);
}

Error DecodeHelloPayloadV2(std::span<const uint8_t> in, HelloPayloadV2* out) {
  if (in.size() < kV2HelloPayloadBytes) return Error::kTooShort;
  if (in.size() > kV2HelloPayloadBytes) return Error::kTrailingBytes;
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
  if (const Error e = HkdfSha256(Ascii(kV2PskSalt, sizeof(kV2PskSalt) - 1), user, {}, psk.span());
      e != Error::kOk) {
    return e;
  }
  *out = psk;
  return Error::kOk;
}

Error InitHandshakeV2(bool initiator, const noise::Psk& psk, noise::HandshakeState* out) {
  const noise::Psk psks[] = {psk};
  return out->Initialize(noise::kNNpsk0, initiator, Ascii(kV2Prologue, sizeof(kV2Prologue) - 1),
                         psks);
}

}  // namespace reflex
