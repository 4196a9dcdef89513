#include "reflex/aead.h"

#include <openssl/evp.h>
#include <sodium.h>

#include <atomic>
#include <utility>

#include "reflex/crypto_init.h"

namespace reflex {
namespace {

// libsodium takes no null pointer for empty messages on every path; an empty
// span may carry one.
uint8_t* NonNull(uint8_t* p) {
  static uint8_t empty;
  return p != nullptr ? p : &empty;
}
const uint8_t* NonNull(const uint8_t* p) {
  static const uint8_t empty = 0;
  return p != nullptr ? p : &empty;
}

std::atomic<int64_t> g_contexts_alive{0};

}  // namespace

int64_t AeadContextsAlive() { return g_contexts_alive.load(std::memory_order_relaxed); }

std::string_view AeadBackendName(AeadBackend backend) {
  return backend == AeadBackend::kSodium ? "sodium" : "openssl";
}

bool AeadBackendFromName(std::string_view name, AeadBackend* out) {
  for (AeadBackend b : kAllAeadBackends) {
    if (AeadBackendName(b) == name) {
      *out = b;
      return true;
    }
  }
  return false;
}

AeadBackend DefaultAeadBackend() {
#if defined(REFLEX_DEFAULT_AEAD_SODIUM)
  return AeadBackend::kSodium;
#else
  return AeadBackend::kOpenssl;
#endif
}

Error CheckAeadBackend(AeadBackend backend) {
  uint8_t key[kAeadKeyBytes] = {};
  uint8_t nonce[kAeadNonceBytes] = {};
  uint8_t data[kOpensslFromBytes] = {};
  uint8_t tag[kTagBytes];
  Aead aead;
  if (const Error e = aead.Init(backend, AeadDirection::kSeal, key); e != Error::kOk) return e;
  return aead.Seal(nonce, {}, data, tag);
}

Aead::~Aead() { Clear(); }

Aead::Aead(Aead&& other) noexcept
    : backend_(other.backend_),
      direction_(other.direction_),
      keyed_(std::exchange(other.keyed_, false)),
      key_(other.key_),
      ctx_(std::exchange(other.ctx_, nullptr)) {
  other.key_.Wipe();
}

Aead& Aead::operator=(Aead&& other) noexcept {
  if (this != &other) {
    Clear();
    backend_ = other.backend_;
    direction_ = other.direction_;
    keyed_ = std::exchange(other.keyed_, false);
    key_ = other.key_;
    other.key_.Wipe();
    ctx_ = std::exchange(other.ctx_, nullptr);
  }
  return *this;
}

void Aead::Clear() {
  keyed_ = false;
  key_.Wipe();
  // EVP_CIPHER_CTX_free cleanses the key schedule it holds.
  if (ctx_ != nullptr) g_contexts_alive.fetch_sub(1, std::memory_order_relaxed);
  EVP_CIPHER_CTX_free(ctx_);
  ctx_ = nullptr;
}

Error Aead::Init(AeadBackend backend, AeadDirection direction,
                 std::span<const uint8_t, kAeadKeyBytes> key) {
  Clear();
  if (const Error e = InitCrypto(); e != Error::kOk) return e;
  key_ = Secret<kAeadKeyBytes>(key);
  backend_ = backend;
  direction_ = direction;
  keyed_ = true;
  return Error::kOk;
}

Error Aead::EnsureContext() {
  if (ctx_ != nullptr) return Error::kOk;
  ctx_ = EVP_CIPHER_CTX_new();
  if (ctx_ == nullptr) return Error::kAllocFailed;
  const int enc = direction_ == AeadDirection::kSeal ? 1 : 0;
  if (EVP_CipherInit_ex(ctx_, EVP_chacha20_poly1305(), nullptr, key_.data(), nullptr, enc) != 1) {
    EVP_CIPHER_CTX_free(ctx_);
    ctx_ = nullptr;
    return Error::kCryptoInitFailed;
  }
  g_contexts_alive.fetch_add(1, std::memory_order_relaxed);
  return Error::kOk;
}

Error Aead::Seal(std::span<const uint8_t, kAeadNonceBytes> nonce,
                 std::span<const uint8_t> ad, std::span<uint8_t> data,
                 std::span<uint8_t, kTagBytes> tag) {
  if (!keyed_ || direction_ != AeadDirection::kSeal) {
    return Error::kInvalidArgument;
  }
  if (UsesOpenssl(data.size())) {
    if (const Error e = EnsureContext(); e != Error::kOk) return e;
    return SealOpenssl(nonce, ad, data, tag);
  }
  crypto_aead_chacha20poly1305_ietf_encrypt_detached(
      NonNull(data.data()), tag.data(), nullptr, NonNull(data.data()),
      data.size(), NonNull(ad.data()), ad.size(), nullptr, nonce.data(),
      key_.data());
  return Error::kOk;
}

Error Aead::Open(std::span<const uint8_t, kAeadNonceBytes> nonce,
                 std::span<const uint8_t> ad,
                 std::span<const uint8_t> ciphertext,
                 std::span<const uint8_t, kTagBytes> tag, uint8_t* out) {
  if (!keyed_ || direction_ != AeadDirection::kOpen) {
    return Error::kInvalidArgument;
  }
  if (UsesOpenssl(ciphertext.size())) {
    if (const Error e = EnsureContext(); e != Error::kOk) return e;
    return OpenOpenssl(nonce, ad, ciphertext, tag, out);
  }
  // libsodium verifies the tag before it decrypts anything.
  if (crypto_aead_chacha20poly1305_ietf_decrypt_detached(
          NonNull(out), nullptr, NonNull(ciphertext.data()), ciphertext.size(),
          tag.data(), NonNull(ad.data()), ad.size(), nonce.data(),
          key_.data()) != 0) {
    return Error::kAuthFailed;
  }
  return Error::kOk;
}

// One message on the context made once (EnsureContext): only the nonce changes, so no
// cipher lookup and no allocation happens here.
Error Aead::SealOpenssl(std::span<const uint8_t, kAeadNonceBytes> nonce,
                        std::span<const uint8_t> ad, std::span<uint8_t> data,
                        std::span<uint8_t, kTagBytes> tag) {
  int n = 0;
  uint8_t final_block[16];
  const bool ok =
      EVP_CipherInit_ex(ctx_, nullptr, nullptr, nullptr, nonce.data(), 1) == 1 &&
      (ad.empty() || EVP_CipherUpdate(ctx_, nullptr, &n, ad.data(),
                                      static_cast<int>(ad.size())) == 1) &&
      (data.empty() || EVP_CipherUpdate(ctx_, data.data(), &n, data.data(),
                                        static_cast<int>(data.size())) == 1) &&
      EVP_CipherFinal_ex(ctx_, final_block, &n) == 1 &&
      EVP_CIPHER_CTX_ctrl(ctx_, EVP_CTRL_AEAD_GET_TAG, kTagBytes, tag.data()) == 1;
  if (!ok) {
    if (!data.empty()) sodium_memzero(data.data(), data.size());
    return Error::kCryptoInitFailed;
  }
  return Error::kOk;
}

Error Aead::OpenOpenssl(std::span<const uint8_t, kAeadNonceBytes> nonce,
                        std::span<const uint8_t> ad,
                        std::span<const uint8_t> ciphertext,
                        std::span<const uint8_t, kTagBytes> tag, uint8_t* out) {
  int n = 0;
  uint8_t final_block[16];
  // EVP decrypts first and verifies in Final, so a forgery's decryption
  // must be wiped below.
  const bool ran =
      EVP_CipherInit_ex(ctx_, nullptr, nullptr, nullptr, nonce.data(), 0) == 1 &&
      EVP_CIPHER_CTX_ctrl(ctx_, EVP_CTRL_AEAD_SET_TAG, kTagBytes,
                          const_cast<uint8_t*>(tag.data())) == 1 &&
      (ad.empty() || EVP_CipherUpdate(ctx_, nullptr, &n, ad.data(),
                                      static_cast<int>(ad.size())) == 1) &&
      (ciphertext.empty() ||
       EVP_CipherUpdate(ctx_, out, &n, ciphertext.data(),
                        static_cast<int>(ciphertext.size())) == 1);
  const bool verified = ran && EVP_CipherFinal_ex(ctx_, final_block, &n) == 1;
  if (!verified) {
    if (!ciphertext.empty()) sodium_memzero(out, ciphertext.size());
    return ran ? Error::kAuthFailed : Error::kCryptoInitFailed;
  }
  return Error::kOk;
}

}  // namespace reflex
