// The first flight's shape (SPEC.md 11.8): Noise message 1 (76 bytes) as
// it goes on the wire in profile v2. `raw` sends it as is; `http` and `tls`
// wrap it so that the first packet reads as the start of the fallback's
// protocol (an HTTP request head, a TLS ClientHello record) and satisfies
// the exemptions of the "fully encrypted traffic" rule (Wu et al., USENIX
// Security 2023). Client and server are configured with the same shape and
// parameters, as they are with the user id. Sans-IO: the caller's memory.
#ifndef REFLEX_FIRST_FLIGHT_H_
#define REFLEX_FIRST_FLIGHT_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "reflex/error.h"
#include "reflex/wire.h"

namespace reflex {

enum class FirstFlightShape : uint8_t {
  kRaw,   // message 1 alone (76 bytes)
  kHttp,  // GET PATH<base64url(message 1)> HTTP/1.1, Host, Accept, empty line
  kTls,   // a TLS 1.3 ClientHello record carrying message 1 in its key share,
          // random and session id
};

struct FirstFlight {
  FirstFlightShape shape = FirstFlightShape::kRaw;
  // http: the Host header; tls: the server_name. 1 to kMaxShapeHostBytes
  // of letters, digits, '-' and '.'.
  std::string host;
  // http: what the request target starts with: '/' then up to
  // kMaxShapePathBytes - 1 of letters, digits, "-._~/".
  std::string path = "/";
};

inline constexpr size_t kMaxShapeHostBytes = 253;
// The tls shape's bytes that carry no part of message 1 (the session id's
// last 20).
inline constexpr size_t kTlsFillerBytes = 20;
using TlsFiller = std::array<uint8_t, kTlsFillerBytes>;
inline constexpr size_t kMaxShapePathBytes = 64;
// The longest shaped first flight: the http shape with the longest host
// and path (140 + 253 + 64).
// Below TCP's smallest segment (536), so a client's one write is one packet.
inline constexpr size_t kMaxFirstFlightBytes = 457;

std::string_view FirstFlightShapeName(FirstFlightShape shape);
// "raw", "http", "tls".
[[nodiscard]] bool ParseFirstFlightShape(std::string_view name, FirstFlightShape* out);

// invalid_argument for an unknown shape, or a host or path the shape does
// not allow (raw takes neither: they are ignored).
Error CheckFirstFlight(const FirstFlight& flight);

// The shaped first flight's length for a valid `flight`.
size_t FirstFlightBytes(const FirstFlight& flight);

// The tls shape's filler for a user: the first 20 bytes of
// HMAC-SHA256(key = the user's filler key, message 1), the filler key being
// HKDF-SHA256(IKM = the user's PSK, salt = "reflex/2 tls filler", info =
// empty, L = 32) (a key of its own, not Noise's PSK). So no byte of the
// first flight can be altered unnoticed by the server (a TLS server would
// notice: the ClientHello is in its transcript), and the filler looks
// random to whoever lacks the PSK.
inline constexpr size_t kTlsFillerKeyBytes = 32;
Error DeriveTlsFillerKey(std::span<const uint8_t, 32> psk, std::span<uint8_t, kTlsFillerKeyBytes> out);
TlsFiller TlsFillerOf(std::span<const uint8_t, kTlsFillerKeyBytes> filler_key,
                      std::span<const uint8_t, kClientHelloBytesV2> message1);

// Writes the shaped first flight around `message1` into out[0,
// FirstFlightBytes): buffer_too_small, invalid_argument (CheckFirstFlight).
// `filler` goes in the tls shape's session id (the others ignore it).
Error EncodeFirstFlight(const FirstFlight& flight, std::span<const uint8_t, kClientHelloBytesV2> message1,
                        const TlsFiller& filler, std::span<uint8_t> out);

// Reads message 1 (and, for tls, the filler, when `filler` is given) out of
// exactly FirstFlightBytes(flight) bytes: too_short, trailing_bytes,
// bad_shape (any byte not the shape's; for http, a base64url digit out of
// the alphabet or a non-canonical last digit). The filler's check needs the
// user, known only after the trial: the caller's (SPEC 12.1).
Error DecodeFirstFlight(const FirstFlight& flight, std::span<const uint8_t> in,
                        std::span<uint8_t, kClientHelloBytesV2> message1, TlsFiller* filler = nullptr);

}  // namespace reflex

#endif  // REFLEX_FIRST_FLIGHT_H_
