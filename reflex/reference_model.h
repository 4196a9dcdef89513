// The reference model: every operation of Reflex written again for
// obviousness, with std::vector, whole inputs and the numbers of SPEC.md
// spelled out, in the order SPEC.md gives them. Porters: read this first;
// it is the shortest complete statement of the protocol in code.
//
// It shares with the codec only its value types (ClientHello, ServerHello,
// RequestHeader, Error, Profile) and calls libsodium directly: no pool, no
// ByteReader, no wire.h constants, no AEAD seam. Property tests, the
// differential fuzzers and the conformance tool hold the codec to it. Not
// for production: it allocates freely and does not wipe secrets.
#ifndef REFLEX_REFERENCE_MODEL_H_
#define REFLEX_REFERENCE_MODEL_H_

#include <cstdint>
#include <string>
#include <vector>

#include "reflex/datagram.h"
#include "reflex/error.h"
#include "reflex/hello.h"
#include "reflex/profile.h"
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

// Frames take their profile: v1-compat puts the counter in nonce bytes
// 0..7 and counts 1 .. 2^64-1; v2 (Noise) in bytes 4..11, 0 .. 2^64-2.

// The wire form of ANY plaintext (no type byte, unknown types, oversize up
// to 65519 bytes) sealed at a counter: frames only a key holder could make,
// which the codec itself refuses to seal. For tests, fuzzers, vectors.
Bytes SealAnyPlaintext(const Bytes& key, uint64_t counter, const Bytes& plaintext,
                       Profile profile);

// One frame at one counter.
Error SealFrame(const Bytes& key, uint64_t counter, uint8_t type,
                const Bytes& payload, Bytes* wire, Profile profile);
Error OpenFrame(const Bytes& key, uint64_t counter, const Bytes& wire,
                Frame* out, Profile profile);

// A whole stream: frames in order until the first error. A partial frame at
// the end is too_short. counter_exhausted once counter 2^64-1 was used.
struct StreamResult {
  std::vector<Frame> frames;
  Error error = Error::kOk;
};
StreamResult DecodeStream(const Bytes& key, uint64_t first_counter,
                          const Bytes& wire, Profile profile);

Bytes EncodeRequestHeader(const RequestHeader& header);  // empty if invalid
Error DecodeRequestHeader(const Bytes& in, RequestHeader* out,
                          size_t* header_bytes);

// A UDP association's DATA payload (section 15.2): the address form, then
// the datagram. Encoding gives empty for an invalid address or a payload
// above 16384 bytes.
Bytes EncodeDatagram(const DatagramAddress& address, const Bytes& data);
Error DecodeDatagram(const Bytes& payload, DatagramAddress* address, Bytes* data);

// --- Profile v2: Noise_NNpsk0_25519_ChaChaPoly_SHA256 written out step by
// step (Noise revision 34, sections 5 and 9), prologue "reflex/2".

Bytes Sha256(const Bytes& data);
// A user's PSK: HKDF-SHA256(IKM = the 16-byte user id, salt = "reflex/2 psk").
Bytes PskV2(const Bytes& user_id);

// What one side knows during the handshake.
struct StateV2 {
  Bytes ck, h, k;  // chaining key, handshake hash, cipher key
  uint64_t n = 0;  // the cipher key's nonce
  Bytes e_private, e_public, re;  // own ephemeral pair, peer's ephemeral
};

// Client: message 1 = e.pub || ENCRYPT(timestamp || nonce || reserved).
Error WriteClientHelloV2(const Bytes& user_id, const Bytes& client_private, int64_t timestamp,
                    const Bytes& nonce, const Bytes& reserved, Bytes* hello, StateV2* client);
// The same message made from a public key alone (a low-order one, say):
// message 1 needs no DH, so no private key.
Error WriteClientHelloWithPublicV2(const Bytes& user_id, const Bytes& client_public, int64_t timestamp,
                              const Bytes& nonce, const Bytes& reserved, Bytes* hello);
// Server: tries every user (too_short, trailing_bytes, auth_failed,
// bad_reserved), then yields the fields and its state.
Error ReadClientHelloV2(const std::vector<Bytes>& user_ids, const Bytes& hello, size_t* user,
                        int64_t* timestamp, Bytes* nonce, StateV2* server);
// Server: message 2 = e.pub || ENCRYPT(empty), then Split (low_order_point).
Error WriteServerHelloV2(StateV2& server, const Bytes& server_private, Bytes* reply, Bytes* c2s,
                    Bytes* s2c, Bytes* handshake_hash);
// Client: reads message 2 (too_short, trailing_bytes, low_order_point,
// auth_failed), then Split.
Error ReadServerHelloV2(StateV2& client, const Bytes& reply, Bytes* c2s, Bytes* s2c,
                        Bytes* handshake_hash);

// --- The first flight's shapes (SPEC.md 11.8). `shape` 0 raw, 1 http, 2
// tls; `filler` the tls session id's last 20 bytes. Written as the text
// reads, field by field; read back by writing again what the input
// carries and comparing. Empty (invalid_argument) for a host or path the
// shape does not allow.
Bytes ShapeFirstFlight(int shape, const std::string& host, const std::string& path, const Bytes& message1,
                       const Bytes& filler);
// too_short, trailing_bytes, bad_shape; *message1 on success.
Error UnshapeFirstFlight(int shape, const std::string& host, const std::string& path, const Bytes& in,
                         Bytes* message1);
// A user's tls filler for message 1 (20 bytes): HMAC-SHA256 keyed with
// HKDF-SHA256(IKM = PskV2(user), salt = "reflex/2 tls filler", L = 32).
Bytes TlsFillerV2(const Bytes& user_id, const Bytes& message1);

}  // namespace reflex::reference

#endif  // REFLEX_REFERENCE_MODEL_H_
