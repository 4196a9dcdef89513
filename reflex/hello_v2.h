// Profile v2's handshake pieces (SPEC.md section 11): a user's PSK, the
// client hello's 28-byte payload, and the Noise handshake state set up the
// way Reflex uses it (pattern NNpsk0, prologue "reflex/2").
#ifndef REFLEX_HELLO_V2_H_
#define REFLEX_HELLO_V2_H_

#include <array>
#include <cstdint>
#include <span>

#include "reflex/error.h"
#include "reflex/noise.h"
#include "reflex/session_types.h"
#include "reflex/wire.h"

namespace reflex {

struct HelloPayloadV2 {
  int64_t timestamp = 0;  // Unix seconds
  std::array<uint8_t, kHelloNonceBytes> nonce{};
  std::array<uint8_t, kV2ReservedBytes> reserved{};  // zero; non-zero is refused

  bool operator==(const HelloPayloadV2&) const = default;
};

// timestamp (i64 big-endian) || nonce (16) || reserved (4).
void EncodeHelloPayloadV2(const HelloPayloadV2& payload,
                          std::span<uint8_t, kV2HelloPayloadBytes> out);
// Exactly 28 bytes (too_short / trailing_bytes), reserved all zero
// (bad_reserved). *out is written only on success.
Error DecodeHelloPayloadV2(std::span<const uint8_t> in, HelloPayloadV2* out);

// PSK = HKDF-SHA256(IKM = the user's 16 raw bytes, salt = "reflex/2 psk",
// info = empty, L = 32).
Error DeriveUserPskV2(const UserId& user, noise::Psk* out);

// A HandshakeState for v2: Noise_NNpsk0_25519_ChaChaPoly_SHA256, prologue
// "reflex/2", the user's PSK.
Error InitHandshakeV2(bool initiator, const noise::Psk& psk, noise::HandshakeState* out);

}  // namespace reflex

#endif  // REFLEX_HELLO_V2_H_
