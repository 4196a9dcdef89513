// The reference model: every operation of Reflex written again for
// obviousness, with std::vector, whole inputs and the numbers of SPEC.md
// spelled out, in the order SPEC.md gives them. Porters: read this first;
// it is the shortest complete statement of the protocol in code.
//
// It shares with the codec only its value types (ClientHello, ServerHello,
// RequestHeader, Error) and calls libsodium directly: no pool, no
// ByteReader, no wire.h constants, no AEAD seam. Property tests, the
// differential fuzzers and the conformance tool hold the codec to it. Not
// for production: it allocates freely and does not wipe secrets.
#ifndef REFLEX_REFERENCE_MODEL_H_
#define REFLEX_REFERENCE_MODEL_H_

#include <cstdint>
#include <vector>

#include "reflex/error.h"
#include "reflex/hello.h"
#include "reflex/request_header.h"

namespace reflex::reference {

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

}  // namespace reflex::reference

#endif  // REFLEX_REFERENCE_MODEL_H_
