// The unpooled codec: every operation of the pooled codec written again for
// obviousness, with std::vector and whole inputs, sharing nothing with it
// but the wire constants, the error codes and libsodium. It is the oracle
// that property tests and the differential fuzzer hold the pooled codec to.
// Test-only: it allocates freely and does not wipe.
#ifndef REFLEX_UNPOOLED_CODEC_H_
#define REFLEX_UNPOOLED_CODEC_H_

#include <cstdint>
#include <vector>

#include "reflex/error.h"
#include "reflex/hello.h"
#include "reflex/request_header.h"

namespace reflex::unpooled {

using Bytes = std::vector<uint8_t>;

struct Frame {
  uint8_t type = 0;
  Bytes payload;
  bool operator==(const Frame&) const = default;
};

Bytes EncodeClientHello(const ClientHello& hello);
Error DecodeClientHello(const Bytes& in, ClientHello* out);
Bytes EncodeServerHello(const ServerHello& hello);
Error DecodeServerHello(const Bytes& in, ServerHello* out);

Bytes HkdfSha256(const Bytes& salt, const Bytes& ikm, const Bytes& info,
                 size_t length);
Error PublicKeyOf(const Bytes& private_key, Bytes* public_key);
Error SessionKeyV1(const Bytes& own_private, const Bytes& peer_public,
                   Bytes* session_key);

// The wire form of ANY plaintext (no type byte, unknown types, oversize up
// to 65519 bytes) sealed at a counter: frames only a key holder could make,
// which the codec itself refuses to seal. For tests, fuzzers, vectors.
Bytes SealAnyPlaintext(const Bytes& key, uint64_t counter, const Bytes& plaintext);

// One frame at one counter.
Error SealFrame(const Bytes& key, uint64_t counter, uint8_t type,
                const Bytes& payload, Bytes* wire);
Error OpenFrame(const Bytes& key, uint64_t counter, const Bytes& wire,
                Frame* out);

// A whole stream: frames in order until the first error. A partial frame at
// the end is too_short. counter_exhausted once counter 2^64-1 was used.
struct StreamResult {
  std::vector<Frame> frames;
  Error error = Error::kOk;
};
StreamResult DecodeStream(const Bytes& key, uint64_t first_counter,
                          const Bytes& wire);

Bytes EncodeRequestHeader(const RequestHeader& header);  // empty if invalid
Error DecodeRequestHeader(const Bytes& in, RequestHeader* out,
                          size_t* header_bytes);

}  // namespace reflex::unpooled

#endif  // REFLEX_UNPOOLED_CODEC_H_
