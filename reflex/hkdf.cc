#include "reflex/hkdf.h"

#include <sodium.h>

#include <algorithm>

namespace reflex {
namespace {

// crypto_auth_hmacsha256_init declares its key nonnull even when keylen is 0
// (an empty salt); an empty span may carry a null pointer.
const uint8_t* KeyPointer(std::span<const uint8_t> key) {
  static const uint8_t kEmpty = 0;
  return key.empty() ? &kEmpty : key.data();
}

}  // namespace

void HkdfSha256Extract(std::span<const uint8_t> salt,
                       std::span<const uint8_t> ikm,
                       std::span<uint8_t, kHkdfSha256PrkBytes> prk) {
  crypto_auth_hmacsha256_state state;
  crypto_auth_hmacsha256_init(&state, KeyPointer(salt), salt.size());
  crypto_auth_hmacsha256_update(&state, ikm.data(), ikm.size());
  crypto_auth_hmacsha256_final(&state, prk.data());
  sodium_memzero(&state, sizeof(state));
}

Error HkdfSha256Expand(std::span<const uint8_t> prk,
                       std::span<const uint8_t> info, std::span<uint8_t> out) {
  if (out.size() > kHkdfSha256MaxOutputBytes) return Error::kInvalidArgument;
  uint8_t block[crypto_auth_hmacsha256_BYTES];
  crypto_auth_hmacsha256_state state;
  size_t done = 0;
  for (uint8_t counter = 1; done < out.size(); ++counter) {
    crypto_auth_hmacsha256_init(&state, KeyPointer(prk), prk.size());
    if (counter > 1) crypto_auth_hmacsha256_update(&state, block, sizeof(block));
    crypto_auth_hmacsha256_update(&state, info.data(), info.size());
    crypto_auth_hmacsha256_update(&state, &counter, 1);
    crypto_auth_hmacsha256_final(&state, block);
    const size_t n = std::min(sizeof(block), out.size() - done);
    std::copy(block, block + n, out.begin() + static_cast<ptrdiff_t>(done));
    done += n;
  }
  sodium_memzero(block, sizeof(block));
  sodium_memzero(&state, sizeof(state));
  return Error::kOk;
}

Error HkdfSha256(std::span<const uint8_t> salt, std::span<const uint8_t> ikm,
                 std::span<const uint8_t> info, std::span<uint8_t> out) {
  if (out.size() > kHkdfSha256MaxOutputBytes) return Error::kInvalidArgument;
  uint8_t prk[kHkdfSha256PrkBytes];
  HkdfSha256Extract(salt, ikm, prk);
  const Error e = HkdfSha256Expand(prk, info, out);
  sodium_memzero(prk, sizeof(prk));
  return e;
}

}  // namespace reflex
