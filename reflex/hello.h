// Client and server hellos of profile v1-compat: the 76- and 40-byte
// handshake messages, in caller memory.
#ifndef REFLEX_HELLO_H_
#define REFLEX_HELLO_H_

#include <array>
#include <cstdint>
#include <span>

#include "reflex/error.h"
#include "reflex/wire.h"

namespace reflex {

struct ClientHello {
  std::array<uint8_t, kPublicKeyBytes> public_key{};
  std::array<uint8_t, kUserIdBytes> user_id{};
  int64_t timestamp = 0;  // Unix seconds
  std::array<uint8_t, kHelloNonceBytes> nonce{};

  bool operator==(const ClientHello&) const = default;
};

struct ServerHello {
  std::array<uint8_t, kPublicKeyBytes> public_key{};
  int64_t timestamp = 0;  // Unix seconds

  bool operator==(const ServerHello&) const = default;
};

// Writes exactly kClientHelloBytesV1 into out (buffer_too_small if shorter;
// bytes past the first 76 are left alone). Pooled buffers for hellos:
// handshake_pool.h.
Error EncodeClientHello(const ClientHello& hello, std::span<uint8_t> out);

// Decodes exactly kClientHelloBytesV1. Checks, in this order: too_short
// (fewer than 76 bytes), bad_magic, trailing_bytes (more than 76). *out is
// written only on success.
Error DecodeClientHello(std::span<const uint8_t> in, ClientHello* out);

Error EncodeServerHello(const ServerHello& hello, std::span<uint8_t> out);
// Decodes exactly kServerHelloBytesV1: too_short, then trailing_bytes.
Error DecodeServerHello(std::span<const uint8_t> in, ServerHello* out);

}  // namespace reflex

#endif  // REFLEX_HELLO_H_
