#include "reflex/noise.h"

#include <sodium.h>

#include <algorithm>
#include <cstring>
#include <string>

#include "reflex/crypto_init.h"
#include "reflex/frame_nonce.h"

namespace reflex::noise {
namespace {

void Hmac(std::span<const uint8_t> key, std::span<const uint8_t> a, std::span<const uint8_t> b,
          uint8_t out[kHashBytes]) {
  crypto_auth_hmacsha256_state state;
  crypto_auth_hmacsha256_init(&state, key.data(), key.size());
  crypto_auth_hmacsha256_update(&state, a.data(), a.size());
  crypto_auth_hmacsha256_update(&state, b.data(), b.size());
  crypto_auth_hmacsha256_final(&state, out);
  sodium_memzero(&state, sizeof(state));
}

// libsodium's key pointers are declared nonnull even for empty input.
std::span<const uint8_t> NonNullSpan(std::span<const uint8_t> s) {
  static const uint8_t empty = 0;
  return s.data() != nullptr ? s : std::span<const uint8_t>(&empty, 0);
}

}  // namespace

void HashOf(std::span<const uint8_t> a, std::span<const uint8_t> b, Hash* out) {
  crypto_hash_sha256_state state;
  crypto_hash_sha256_init(&state);
  crypto_hash_sha256_update(&state, NonNullSpan(a).data(), a.size());
  crypto_hash_sha256_update(&state, NonNullSpan(b).data(), b.size());
  crypto_hash_sha256_final(&state, out->data());
}

void Hkdf(std::span<const uint8_t, kHashBytes> chaining_key, std::span<const uint8_t> ikm,
          Secret<kHashBytes>* out1, Secret<kHashBytes>* out2, Secret<kHashBytes>* out3) {
  Secret<kHashBytes> temp_key;
  Hmac(chaining_key, NonNullSpan(ikm), {}, temp_key.data());
  const uint8_t one = 0x01, two = 0x02, three = 0x03;
  Hmac(temp_key.span(), {&one, 1}, {}, out1->data());
  Hmac(temp_key.span(), out1->span(), {&two, 1}, out2->data());
  if (out3 != nullptr) Hmac(temp_key.span(), out2->span(), {&three, 1}, out3->data());
}

void CipherState::InitializeKey(std::span<const uint8_t, kKeyBytes> key) {
  k_ = CipherKey(key);
  has_key_ = true;
  n_ = 0;
}

Error CipherState::EncryptWithAd(std::span<const uint8_t> ad, std::span<const uint8_t> plaintext,
                                 std::span<uint8_t> out, size_t* written) {
  const size_t size = plaintext.size() + (has_key_ ? kTagBytes : 0);
  if (out.size() < size) return Error::kBufferTooSmall;
  if (!has_key_) {
    if (!plaintext.empty() && plaintext.data() != out.data()) {
      std::memmove(out.data(), plaintext.data(), plaintext.size());
    }
    *written = size;
    return Error::kOk;
  }
  if (n_ == UINT64_MAX) return Error::kCounterExhausted;
  const auto nonce = FrameNonce(NonceLayout::kNoise, n_);
  if (!plaintext.empty() && plaintext.data() != out.data()) {
    std::memmove(out.data(), plaintext.data(), plaintext.size());
  }
  crypto_aead_chacha20poly1305_ietf_encrypt_detached(
      out.data(), out.data() + plaintext.size(), nullptr, out.data(), plaintext.size(),
      NonNullSpan(ad).data(), ad.size(), nullptr, nonce.data(), k_.data());
  ++n_;
  *written = size;
  return Error::kOk;
}

Error CipherState::DecryptWithAd(std::span<const uint8_t> ad,
                                 std::span<const uint8_t> ciphertext, std::span<uint8_t> out,
                                 size_t* written) {
  if (!has_key_) {
    if (out.size() < ciphertext.size()) return Error::kBufferTooSmall;
    if (!ciphertext.empty() && ciphertext.data() != out.data()) {
      std::memmove(out.data(), ciphertext.data(), ciphertext.size());
    }
    *written = ciphertext.size();
    return Error::kOk;
  }
  if (ciphertext.size() < kTagBytes) return Error::kTooShort;
  const size_t size = ciphertext.size() - kTagBytes;
  if (out.size() < size) return Error::kBufferTooSmall;
  if (n_ == UINT64_MAX) return Error::kCounterExhausted;
  const auto nonce = FrameNonce(NonceLayout::kNoise, n_);
  // libsodium verifies before it decrypts: a forgery writes nothing.
  uint8_t empty = 0;
  if (crypto_aead_chacha20poly1305_ietf_decrypt_detached(
          size != 0 ? out.data() : &empty, nullptr, NonNullSpan(ciphertext).data(), size,
          ciphertext.data() + size, NonNullSpan(ad).data(), ad.size(), nonce.data(),
          k_.data()) != 0) {
    return Error::kAuthFailed;
  }
  ++n_;
  *written = size;
  return Error::kOk;
}

void SymmetricState::InitializeSymmetric(std::string_view protocol_name) {
  const std::span<const uint8_t> name(reinterpret_cast<const uint8_t*>(protocol_name.data()),
                                      protocol_name.size());
  if (name.size() <= kHashBytes) {
    h_.fill(0);
    std::copy(name.begin(), name.end(), h_.begin());
  } else {
    HashOf(name, {}, &h_);
  }
  ck_ = Secret<kHashBytes>(std::span<const uint8_t, kHashBytes>(h_));
  cipher_ = CipherState();
}

void SymmetricState::MixKey(std::span<const uint8_t> input_key_material) {
  Secret<kHashBytes> ck, temp_k;
  Hkdf(ck_.span(), input_key_material, &ck, &temp_k, nullptr);
  ck_ = ck;
  cipher_.InitializeKey(temp_k.span());
}

void SymmetricState::MixHash(std::span<const uint8_t> data) {
  Hash next;
  HashOf(h_, data, &next);
  h_ = next;
}

void SymmetricState::MixKeyAndHash(std::span<const uint8_t> input_key_material) {
  Secret<kHashBytes> ck, temp_h, temp_k;
  Hkdf(ck_.span(), input_key_material, &ck, &temp_h, &temp_k);
  ck_ = ck;
  MixHash(temp_h.span());
  cipher_.InitializeKey(temp_k.span());
}

Error SymmetricState::EncryptAndHash(std::span<const uint8_t> plaintext, std::span<uint8_t> out,
                                     size_t* written) {
  size_t n = 0;
  if (const Error e = cipher_.EncryptWithAd(h_, plaintext, out, &n); e != Error::kOk) return e;
  MixHash(out.first(n));
  *written = n;
  return Error::kOk;
}

Error SymmetricState::DecryptAndHash(std::span<const uint8_t> ciphertext, std::span<uint8_t> out,
                                     size_t* written) {
  size_t n = 0;
  // h is mixed with the ciphertext after the decryption used the old h.
  Hash next;
  HashOf(h_, ciphertext, &next);
  if (const Error e = cipher_.DecryptWithAd(h_, ciphertext, out, &n); e != Error::kOk) return e;
  h_ = next;
  *written = n;
  return Error::kOk;
}

void SymmetricState::Split(CipherKey* initiator_to_responder,
                           CipherKey* responder_to_initiator) const {
  Secret<kHashBytes> k1, k2;
  Hkdf(ck_.span(), {}, &k1, &k2, nullptr);
  *initiator_to_responder = CipherKey(k1.span());
  *responder_to_initiator = CipherKey(k2.span());
}

Error HandshakeState::Initialize(const HandshakePattern& pattern, bool initiator,
                                 std::span<const uint8_t> prologue, std::span<const Psk> psks) {
  if (const Error e = InitCrypto(); e != Error::kOk) return e;
  if (psks.size() != pattern.psk_tokens() || psks.size() > psks_.size()) {
    return Error::kInvalidArgument;
  }
  const std::string name =
      "Noise_" + std::string(pattern.name) + "_25519_ChaChaPoly_SHA256";
  symmetric_.InitializeSymmetric(name);
  symmetric_.MixHash(prologue);
  pattern_ = &pattern;
  initiator_ = initiator;
  psk_count_ = static_cast<uint8_t>(psks.size());
  psks_used_ = 0;
  for (size_t i = 0; i < psks.size(); ++i) psks_[i] = psks[i];
  has_re_ = false;
  message_index_ = 0;
  token_index_ = 0;
  return Error::kOk;
}

void HandshakeState::ApplyLeadingPskTokens() {
  if (pattern_ == nullptr || Complete()) return;
  const MessagePattern& m = pattern_->messages[message_index_];
  while (token_index_ < m.count && m.tokens[token_index_] == Token::kPsk) {
    symmetric_.MixKeyAndHash(psks_[psks_used_++].span());
    ++token_index_;
  }
}

// Runs the current message's remaining tokens, writing to out (writing) or
// reading from message (reading), then the payload is the caller's.
Error HandshakeState::ProcessTokens(bool writing, std::span<const uint8_t> message, size_t* at,
                                    std::span<uint8_t> out, size_t* written) {
  const MessagePattern& m = pattern_->messages[message_index_];
  for (; token_index_ < m.count; ++token_index_) {
    switch (m.tokens[token_index_]) {
      case Token::kE: {
        if (writing) {
          if (out.size() - *written < kDhBytes) return Error::kBufferTooSmall;
          std::copy(e_.public_key.begin(), e_.public_key.end(), out.begin() + *written);
          *written += kDhBytes;
          symmetric_.MixHash(e_.public_key);
          if (pattern_->uses_psk) symmetric_.MixKey(e_.public_key);
        } else {
          if (message.size() - *at < kDhBytes) return Error::kTooShort;
          std::copy(message.begin() + *at, message.begin() + *at + kDhBytes, re_.begin());
          *at += kDhBytes;
          has_re_ = true;
          symmetric_.MixHash(re_);
          if (pattern_->uses_psk) symmetric_.MixKey(re_);
        }
        break;
      }
      case Token::kEe: {
        SharedSecret dh;
        if (const Error e = ComputeSharedSecret(e_.private_key, re_, &dh); e != Error::kOk) {
          return e;  // low_order_point: an all-zero DH
        }
        symmetric_.MixKey(dh.span());
        break;
      }
      case Token::kPsk:
        symmetric_.MixKeyAndHash(psks_[psks_used_++].span());
        break;
    }
  }
  return Error::kOk;
}

Error HandshakeState::WriteMessage(std::span<const uint8_t> payload, std::span<uint8_t> out,
                                   size_t* written) {
  if (pattern_ == nullptr || Complete() || (message_index_ % 2 == 0) != initiator_) {
    return Error::kInvalidArgument;
  }
  // Work on copies, so a failure changes nothing the caller can see.
  HandshakeState next = *this;
  size_t n = 0;
  size_t unused = 0;
  if (const Error e = next.ProcessTokens(true, {}, &unused, out, &n); e != Error::kOk) return e;
  size_t payload_bytes = 0;
  if (const Error e = next.symmetric_.EncryptAndHash(payload, out.subspan(n), &payload_bytes);
      e != Error::kOk) {
    return e;
  }
  next.message_index_++;
  next.token_index_ = 0;
  *this = next;
  *written = n + payload_bytes;
  return Error::kOk;
}

Error HandshakeState::ReadMessage(std::span<const uint8_t> message, std::span<uint8_t> payload_out,
                                  size_t* payload_size) {
  if (pattern_ == nullptr || Complete() || (message_index_ % 2 == 1) != initiator_) {
    return Error::kInvalidArgument;
  }
  HandshakeState next = *this;
  size_t at = 0;
  size_t unused = 0;
  if (const Error e = next.ProcessTokens(false, message, &at, {}, &unused); e != Error::kOk) {
    return e;
  }
  size_t n = 0;
  if (const Error e = next.symmetric_.DecryptAndHash(message.subspan(at), payload_out, &n);
      e != Error::kOk) {
    return e;
  }
  next.message_index_++;
  next.token_index_ = 0;
  *this = next;
  *payload_size = n;
  return Error::kOk;
}

Error HandshakeState::Split(CipherKey* initiator_to_responder,
                            CipherKey* responder_to_initiator) const {
  if (!Complete()) return Error::kInvalidArgument;
  symmetric_.Split(initiator_to_responder, responder_to_initiator);
  return Error::kOk;
}

}  // namespace reflex::noise
