// The Noise Protocol Framework (revision 34) as far as Reflex v2 needs it:
// DH 25519, cipher ChaChaPoly (IETF ChaCha20-Poly1305), hash SHA256, the NN
// pattern family with the psk modifier (NN, NNpsk0, NNpsk2, NNpsk0+psk2),
// on libsodium. CipherState, SymmetricState and HandshakeState follow the
// specification's objects and token rules; nothing here knows Reflex's
// message sizes (hello_v2.cc and the sessions apply those).
#ifndef REFLEX_NOISE_H_
#define REFLEX_NOISE_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "reflex/error.h"
#include "reflex/key_schedule.h"
#include "reflex/secret.h"

namespace reflex::noise {

inline constexpr size_t kHashBytes = 32;  // HASHLEN (SHA256)
inline constexpr size_t kKeyBytes = 32;
inline constexpr size_t kDhBytes = 32;    // DHLEN (25519)
inline constexpr size_t kPskBytes = 32;
inline constexpr size_t kTagBytes = 16;
inline constexpr size_t kMaxMessageBytes = 65535;

using Hash = std::array<uint8_t, kHashBytes>;
using CipherKey = Secret<kKeyBytes>;
using Psk = Secret<kPskBytes>;

// HASH and HKDF of the specification (section 4.3): HKDF(chaining_key,
// input_key_material, num_outputs) with HMAC-SHA256, 2 or 3 outputs.
void HashOf(std::span<const uint8_t> a, std::span<const uint8_t> b, Hash* out);
void Hkdf(std::span<const uint8_t, kHashBytes> chaining_key, std::span<const uint8_t> ikm,
          Secret<kHashBytes>* out1, Secret<kHashBytes>* out2, Secret<kHashBytes>* out3);

// Section 5.1: a key k (maybe empty) and a nonce n.
class CipherState {
 public:
  void InitializeKey(std::span<const uint8_t, kKeyBytes> key);
  bool HasKey() const { return has_key_; }
  uint64_t nonce() const { return n_; }
  const CipherKey& key() const { return k_; }

  // ENCRYPT(k, n++, ad, plaintext) into out (plaintext.size() + 16 bytes;
  // out may be plaintext.data()). Without a key: a copy. counter_exhausted
  // at n = 2^64-1 (reserved), buffer_too_small for a short out.
  Error EncryptWithAd(std::span<const uint8_t> ad, std::span<const uint8_t> plaintext,
                      std::span<uint8_t> out, size_t* written);
  // DECRYPT(k, n++, ad, ciphertext) into out (ciphertext.size() - 16
  // bytes). auth_failed (n does not advance, nothing left in out).
  Error DecryptWithAd(std::span<const uint8_t> ad, std::span<const uint8_t> ciphertext,
                      std::span<uint8_t> out, size_t* written);

 private:
  CipherKey k_;
  bool has_key_ = false;
  uint64_t n_ = 0;
};

// Section 5.2.
class SymmetricState {
 public:
  void InitializeSymmetric(std::string_view protocol_name);
  void MixKey(std::span<const uint8_t> input_key_material);
  void MixHash(std::span<const uint8_t> data);
  void MixKeyAndHash(std::span<const uint8_t> input_key_material);
  const Hash& GetHandshakeHash() const { return h_; }
  Error EncryptAndHash(std::span<const uint8_t> plaintext, std::span<uint8_t> out,
                       size_t* written);
  Error DecryptAndHash(std::span<const uint8_t> ciphertext, std::span<uint8_t> out,
                       size_t* written);
  // The two transport keys (the first for the initiator's messages).
  void Split(CipherKey* initiator_to_responder, CipherKey* responder_to_initiator) const;
  bool HasKey() const { return cipher_.HasKey(); }

 private:
  Secret<kHashBytes> ck_;
  Hash h_{};
  CipherState cipher_;
};

// The tokens the NN family uses, and its patterns (section 7.5, 9.3).
enum class Token : uint8_t { kE, kEe, kPsk };
struct MessagePattern {
  std::array<Token, 3> tokens{};
  uint8_t count = 0;
};
struct HandshakePattern {
  std::string_view name;  // as in the protocol name, e.g. "NNpsk0"
  std::array<MessagePattern, 2> messages{};
  bool uses_psk = false;

  size_t psk_tokens() const {
    size_t n = 0;
    for (const MessagePattern& m : messages) {
      for (uint8_t i = 0; i < m.count; ++i) n += m.tokens[i] == Token::kPsk;
    }
    return n;
  }
};
inline constexpr HandshakePattern kNN = {"NN", {{{{Token::kE}, 1}, {{Token::kE, Token::kEe}, 2}}}, false};
inline constexpr HandshakePattern kNNpsk0 = {
    "NNpsk0", {{{{Token::kPsk, Token::kE}, 2}, {{Token::kE, Token::kEe}, 2}}}, true};
inline constexpr HandshakePattern kNNpsk2 = {
    "NNpsk2", {{{{Token::kE}, 1}, {{Token::kE, Token::kEe, Token::kPsk}, 3}}}, true};
inline constexpr HandshakePattern kNNpsk0psk2 = {
    "NNpsk0+psk2",
    {{{{Token::kPsk, Token::kE}, 2}, {{Token::kE, Token::kEe, Token::kPsk}, 3}}},
    true};

// Section 5.3, for two-message patterns without static keys.
class HandshakeState {
 public:
  // The protocol name is "Noise_" + pattern name + "_25519_ChaChaPoly_SHA256".
  // psks: one for each psk token of the pattern, in order (invalid_argument
  // otherwise).
  Error Initialize(const HandshakePattern& pattern, bool initiator,
                   std::span<const uint8_t> prologue, std::span<const Psk> psks);
  // The ephemeral key pair this side will use (drawn by the caller, so
  // randomness is injected).
  void SetEphemeral(const KeyPair& ephemeral) { e_ = ephemeral; }

  // Processes the psk tokens that lead the next message: they consume no
  // message bytes, so a responder can do them once, ahead of every trial.
  void ApplyLeadingPskTokens();

  // WriteMessage/ReadMessage of the next message (initiator writes message
  // 0, responder message 1). invalid_argument out of turn; too_short for a
  // message shorter than its tokens and tag; low_order_point for a DH whose
  // result is all zeros; auth_failed when the payload does not decrypt.
  // Outputs only on success.
  Error WriteMessage(std::span<const uint8_t> payload, std::span<uint8_t> out, size_t* written);
  Error ReadMessage(std::span<const uint8_t> message, std::span<uint8_t> payload_out,
                    size_t* payload_size);

  bool Complete() const { return message_index_ == 2; }
  const Hash& handshake_hash() const { return symmetric_.GetHandshakeHash(); }
  const PublicKey& remote_ephemeral() const { return re_; }
  const PublicKey& local_ephemeral() const { return e_.public_key; }
  // After the last message: the transport keys (Split).
  Error Split(CipherKey* initiator_to_responder, CipherKey* responder_to_initiator) const;

 private:
  Error ProcessTokens(bool writing, std::span<const uint8_t> message, size_t* at,
                      std::span<uint8_t> out, size_t* written);

  SymmetricState symmetric_;
  const HandshakePattern* pattern_ = nullptr;
  bool initiator_ = false;
  std::array<Psk, 2> psks_;
  uint8_t psk_count_ = 0;
  uint8_t psks_used_ = 0;
  KeyPair e_;
  PublicKey re_{};
  bool has_re_ = false;
  uint8_t message_index_ = 0;
  uint8_t token_index_ = 0;  // psk tokens of the current message already done
};

}  // namespace reflex::noise

#endif  // REFLEX_NOISE_H_
