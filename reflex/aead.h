// The AEAD seam: ChaCha20-Poly1305 (IETF, RFC 8439: 32-byte key, 12-byte
// nonce, 16-byte tag) behind one small class, with two interchangeable
// backends:
//   kSodium   libsodium, the reference the tests run first;
//   kOpenssl  OpenSSL 3 libcrypto's EVP from kOpensslFromBytes of input on
//             (about twice as fast on x86-64 with AVX2: one pass over the
//             data instead of two), libsodium below that, where its single
//             call beats EVP's five (measured: README, "Small frames").
// Both give the same bytes and the same verdicts for every input (held so by
// the Wycheproof vectors, every reflex vector file and the aead_differential
// fuzz target). One Aead is one key in one direction. An OpenSSL context is
// made when the first message that needs it comes, and reused for every
// later one: sealing and opening allocate nothing after that, and a key that
// only ever protects small messages (an idle tunnel's) holds no context.
#ifndef REFLEX_AEAD_H_
#define REFLEX_AEAD_H_

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "reflex/error.h"
#include "reflex/secret.h"
#include "reflex/wire.h"

struct evp_cipher_ctx_st;  // OpenSSL's EVP_CIPHER_CTX

namespace reflex {

inline constexpr size_t kAeadKeyBytes = 32;
// The smallest message (data bytes) the kOpenssl backend gives to OpenSSL.
inline constexpr size_t kOpensslFromBytes = 128;

enum class AeadBackend : uint8_t { kSodium, kOpenssl };
inline constexpr AeadBackend kAllAeadBackends[] = {AeadBackend::kSodium,
                                                   AeadBackend::kOpenssl};
std::string_view AeadBackendName(AeadBackend backend);  // "sodium", "openssl"
[[nodiscard]] bool AeadBackendFromName(std::string_view name, AeadBackend* out);

// OpenSSL contexts alive in this process (statistics: what keys cost).
int64_t AeadContextsAlive();

// Whether `backend` works here: one message sealed with a throwaway key,
// large enough to need OpenSSL's context. A program checks this as it
// starts, since the context is otherwise first made by a tunnel's first
// large frame.
[[nodiscard]] Error CheckAeadBackend(AeadBackend backend);

// The backend objects get when none is named: chosen at build time with
// --define=reflex_aead=sodium|openssl (default openssl, see README).
AeadBackend DefaultAeadBackend();

enum class AeadDirection : uint8_t { kSeal, kOpen };

class Aead {
 public:
  Aead() = default;
  ~Aead();
  Aead(Aead&& other) noexcept;
  Aead& operator=(Aead&& other) noexcept;
  Aead(const Aead&) = delete;
  Aead& operator=(const Aead&) = delete;

  // Keys this object for one direction. crypto_init_failed when the backend
  // library cannot initialize; on error the object stays unkeyed.
  // Re-keying is allowed.
  Error Init(AeadBackend backend, AeadDirection direction,
             std::span<const uint8_t, kAeadKeyBytes> key);
  bool keyed() const { return keyed_; }
  AeadBackend backend() const { return backend_; }

  // Encrypts data in place and writes the tag. invalid_argument for an
  // unkeyed object or one keyed to open; alloc_failed when OpenSSL cannot
  // make its context (data untouched); crypto_init_failed if the backend
  // fails (data is then wiped, unless it failed making its context).
  Error Seal(std::span<const uint8_t, kAeadNonceBytes> nonce,
             std::span<const uint8_t> ad, std::span<uint8_t> data,
             std::span<uint8_t, kTagBytes> tag);

  // Verifies and decrypts ciphertext into out (ciphertext.size() bytes; out
  // may be ciphertext.data() itself, no other overlap). auth_failed when the
  // tag does not verify: nothing decrypted is left in out; alloc_failed as
  // for Seal (out untouched).
  Error Open(std::span<const uint8_t, kAeadNonceBytes> nonce,
             std::span<const uint8_t> ad, std::span<const uint8_t> ciphertext,
             std::span<const uint8_t, kTagBytes> tag, uint8_t* out);

 private:
  void Clear();
  bool UsesOpenssl(size_t data_bytes) const {
    return backend_ == AeadBackend::kOpenssl && data_bytes >= kOpensslFromBytes;
  }
  // The OpenSSL context, made from key_ the first time one is needed.
  Error EnsureContext();
  Error SealOpenssl(std::span<const uint8_t, kAeadNonceBytes> nonce,
                    std::span<const uint8_t> ad, std::span<uint8_t> data,
                    std::span<uint8_t, kTagBytes> tag);
  Error OpenOpenssl(std::span<const uint8_t, kAeadNonceBytes> nonce,
                    std::span<const uint8_t> ad,
                    std::span<const uint8_t> ciphertext,
                    std::span<const uint8_t, kTagBytes> tag, uint8_t* out);

  AeadBackend backend_ = AeadBackend::kSodium;
  AeadDirection direction_ = AeadDirection::kSeal;
  bool keyed_ = false;
  Secret<kAeadKeyBytes> key_;          // both backends' key
  evp_cipher_ctx_st* ctx_ = nullptr;  // OpenSSL's copy, once made
};

}  // namespace reflex

#endif  // REFLEX_AEAD_H_
