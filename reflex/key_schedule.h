// Key schedule of profile v1-compat: X25519 key agreement (RFC 7748) and
// the session key HKDF-SHA256(IKM = shared, salt = info = "reflex-session-v1").
// Every secret lives in a Secret<N>, which wipes itself.
#ifndef REFLEX_KEY_SCHEDULE_H_
#define REFLEX_KEY_SCHEDULE_H_

#include <array>
#include <cstdint>
#include <span>

#include "reflex/crypto_init.h"
#include "reflex/error.h"
#include "reflex/secret.h"
#include "reflex/wire.h"

namespace reflex {

using PrivateKey = Secret<kPrivateKeyBytes>;
using SharedSecret = Secret<kSharedSecretBytes>;
using SessionKey = Secret<kSessionKeyBytes>;
using PublicKey = std::array<uint8_t, kPublicKeyBytes>;

struct KeyPair {
  PrivateKey private_key;
  PublicKey public_key{};
};

// A fresh key pair from libsodium's RNG (crypto_init_failed if libsodium
// cannot initialize).
Error GenerateKeyPair(KeyPair* out);

// The key pair of a given private key (tests, vectors).
Error KeyPairFromPrivate(std::span<const uint8_t, kPrivateKeyBytes> private_key,
                         KeyPair* out);

// X25519(own private, peer public). low_order_point when the peer key is of
// small order, i.e. the result would be all zeros (v1's flaw 4: the Go
// implementation accepts it). *out is written only on success.
Error ComputeSharedSecret(const PrivateKey& own,
                          std::span<const uint8_t, kPublicKeyBytes> peer,
                          SharedSecret* out);

// v1-compat: one session key for both directions.
Error DeriveSessionKeyV1(const SharedSecret& shared, SessionKey* out);

// Both steps: what either side runs after the hellos.
Error DeriveSessionKeyV1(const PrivateKey& own,
                         std::span<const uint8_t, kPublicKeyBytes> peer,
                         SessionKey* out);

}  // namespace reflex

#endif  // REFLEX_KEY_SCHEDULE_H_
