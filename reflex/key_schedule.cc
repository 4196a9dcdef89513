#include "reflex/key_schedule.h"

#include <sodium.h>

#include <cstring>

#include "reflex/hkdf.h"

namespace reflex {
namespace {

std::span<const uint8_t> Label() {
  return {reinterpret_cast<const uint8_t*>(kHkdfLabelV1),
          sizeof(kHkdfLabelV1) - 1};
}

}  // namespace

Error GenerateKeyPair(KeyPair* out) {
  if (const Error e = InitCrypto(); e != Error::kOk) return e;
  KeyPair pair;
  randombytes_buf(pair.private_key.data(), pair.private_key.size());
  if (crypto_scalarmult_base(pair.public_key.data(), pair.private_key.data()) !=
      0) {
    return Error::kInvalidArgument;
  }
  *out = pair;
  return Error::kOk;
}

Error KeyPairFromPrivate(std::span<const uint8_t, kPrivateKeyBytes> private_key,
                         KeyPair* out) {
  if (const Error e = InitCrypto(); e != Error::kOk) return e;
  KeyPair pair;
  pair.private_key = PrivateKey(private_key);
  if (crypto_scalarmult_base(pair.public_key.data(), pair.private_key.data()) !=
      0) {
    return Error::kInvalidArgument;
  }
  *out = pair;
  return Error::kOk;
}

Error ComputeSharedSecret(const PrivateKey& own,
                          std::span<const uint8_t, kPublicKeyBytes> peer,
                          SharedSecret* out) {
  if (const Error e = InitCrypto(); e != Error::kOk) return e;
  SharedSecret shared;
  // libsodium refuses (-1) small-order points and any all-zero result.
  if (crypto_scalarmult(shared.data(), own.data(), peer.data()) != 0) {
    return Error::kLowOrderPoint;
  }
  *out = shared;
  return Error::kOk;
}

Error DeriveSessionKeyV1(const SharedSecret& shared, SessionKey* out) {
  SessionKey key;
  const Error e = HkdfSha256(Label(), shared.span(), Label(), key.span());
  if (e == Error::kOk) *out = key;
  return e;
}

Error DeriveSessionKeyV1(const PrivateKey& own,
                         std::span<const uint8_t, kPublicKeyBytes> peer,
                         SessionKey* out) {
  SharedSecret shared;
  const Error e = ComputeSharedSecret(own, peer, &shared);
  if (e != Error::kOk) return e;
  return DeriveSessionKeyV1(shared, out);
}

}  // namespace reflex
