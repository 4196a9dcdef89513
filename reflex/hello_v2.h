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
  std::array<uint8_t, kReservedBytesV2> reserved{};  // zero; non-zero is refused

  bool operator==(const HelloPayloadV2&) const = default;
};

// timestamp (i64 big-endian) || nonce (16) || reserved (4).
void EncodeHelloPayloadV2(const HelloPayloadV2& payload,
                          std::span<uint8_t, kHelloPayloadBytesV2> out);
// Exactly 28 bytes (too_short / trailing_bytes), reserved all zero
// (bad_reserved). *out is written only on success.
Error DecodeHelloPayloadV2(std::span<const uint8_t> in, HelloPayloadV2* out);

// PSK = HKDF-SHA256(IKM = the user's 16 raw bytes, salt = "reflex/2 psk",
// info = empty, L = 32).
Error DeriveUserPskV2(const UserId& user, noise::Psk* out);

// A HandshakeState for v2: Noise_NNpsk0_25519_ChaChaPoly_SHA256, prologue
// "reflex/2", the user's PSK.
Error InitHandshakeV2(bool initiator, const noise::Psk& psk, noise::HandshakeState* out);

// The responder's state for one user, prepared up to message 1's bytes:
// initialized, the leading psk token done (it reads nothing), so a server
// does it once per user and copies it per trial.
Error PrepareServerHandshakeV2(const UserId& user, noise::HandshakeState* out);

// The client hello (Noise message 1): e.pub || ENCRYPT(payload). *state
// is the initiator's state after it (for ReadServerHelloV2).
Error WriteClientHelloV2(const UserId& user, const KeyPair& ephemeral,
                         const HelloPayloadV2& payload,
                         std::span<uint8_t, kClientHelloBytesV2> out, noise::HandshakeState* state);

struct ClientHelloV2 {
  size_t user = 0;                 // index into the prepared states
  HelloPayloadV2 payload;
  noise::HandshakeState state;     // the responder's, after message 1
};
// Reads a client hello by trying every prepared user state, always all of
// them (the time does not depend on which one verifies). Errors in order:
// too_short, trailing_bytes (not exactly 76 bytes), auth_failed (no user's
// PSK verifies), bad_reserved.
Error ReadClientHelloV2(std::span<const noise::HandshakeState> prepared,
                        std::span<const uint8_t> hello, ClientHelloV2* out);

// The server hello (Noise message 2): e.pub || ENCRYPT(empty), then the
// transport keys. low_order_point when the client's ephemeral key is of
// small order. The state must come from ReadClientHelloV2.
struct TransportKeysV2 {
  noise::CipherKey client_to_server;
  noise::CipherKey server_to_client;
  noise::Hash handshake_hash{};
};
Error WriteServerHelloV2(noise::HandshakeState& state, const KeyPair& ephemeral,
                         std::span<uint8_t, kServerHelloBytesV2> out, TransportKeysV2* keys);
// The client reads the server hello: too_short, trailing_bytes (not exactly
// 48 bytes), low_order_point, auth_failed.
Error ReadServerHelloV2(noise::HandshakeState& state, std::span<const uint8_t> hello,
                        TransportKeysV2* keys);

}  // namespace reflex

#endif  // REFLEX_HELLO_V2_H_
