// HKDF-SHA256 (RFC 5869) on libsodium's HMAC-SHA256. Debian's libsodium
// 1.0.18 has no crypto_kdf_hkdf_sha256_* (added in 1.0.19).
#ifndef REFLEX_HKDF_H_
#define REFLEX_HKDF_H_

#include <cstddef>
#include <cstdint>
#include <span>

#include "reflex/error.h"

namespace reflex {

inline constexpr size_t kHkdfSha256PrkBytes = 32;
inline constexpr size_t kHkdfSha256MaxOutputBytes = 255 * 32;

// PRK = HMAC-SHA256(salt, IKM). An empty salt means 32 zero bytes (the RFC's
// default), which HMAC's key padding makes identical to an empty key.
void HkdfSha256Extract(std::span<const uint8_t> salt,
                       std::span<const uint8_t> ikm,
                       std::span<uint8_t, kHkdfSha256PrkBytes> prk);

// OKM = T(1) | T(2) | ... truncated to out.size(). invalid_argument when
// out.size() > 255 * 32 (out is then left untouched).
Error HkdfSha256Expand(std::span<const uint8_t> prk,
                       std::span<const uint8_t> info, std::span<uint8_t> out);

// Extract then expand; intermediate values are wiped.
Error HkdfSha256(std::span<const uint8_t> salt, std::span<const uint8_t> ikm,
                 std::span<const uint8_t> info, std::span<uint8_t> out);

}  // namespace reflex

#endif  // REFLEX_HKDF_H_
