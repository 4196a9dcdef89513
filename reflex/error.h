// Stable error codes. Names (ErrorName) are part of the spec and appear in
// conformance vectors; numbers are grouped by class:
//   1..31   malformed input      (the peer sent bytes that do not parse)
//   32..47  cryptographic        (bytes parse but do not verify)
//   48..63  state                (the object cannot do this any more)
//   64..79  caller               (the local program asked for the impossible,
//                                 or its pool could not serve a buffer: the
//                                 caller chose and sized that pool)
//   80..95  environment          (the crypto library or the shared
//                                 replay store failed us)
//
// Error is [[nodiscard]]: every function returning one must have it checked.
// The contract of every fallible call in reflex/: it returns an Error, and
// writes its outputs (including sizes such as *consumed or *written) only
// when it returns kOk; on any error the caller's outputs are untouched.
#ifndef REFLEX_ERROR_H_
#define REFLEX_ERROR_H_

#include <cstdint>
#include <string_view>

namespace reflex {

enum class [[nodiscard]] Error : uint8_t {
  kOk = 0,

  // Malformed input.
  kTooShort = 1,          // fewer bytes than the structure needs
  kTrailingBytes = 2,     // more bytes than a fixed-size structure has
  kBadMagic = 3,          // client hello does not start with "RFXL"
  kBadLength = 4,         // frame length field below 16 (cannot hold a tag)
  kFrameTooLarge = 5,     // payload above 16384 bytes
  kEmptyPlaintext = 6,    // authentic frame without a type byte
  kUnknownFrameType = 7,  // authentic frame of a type other than 1..4
  kBadAddressType = 8,    // request header address type not 1, 3 or 4
  kBadDomainLength = 9,   // request header domain of length 0
  kFrameAfterClose = 10,  // a frame after the peer's CLOSE
  kBadReserved = 11,      // v2 client hello: reserved bytes not zero
  kBadShape = 12,         // a first flight not of the configured shape (SPEC 11.8)

  // Cryptographic.
  kAuthFailed = 32,     // frame tag does not verify
  kLowOrderPoint = 33,  // peer public key of small order (all-zero secret)
  kUnknownUser = 34,    // v1 client hello: user id not configured
  kTimestampOutOfWindow = 35,  // hello timestamp too far from the clock
  kReplayedHello = 36,  // hello seen before (or too old to tell)

  // State.
  kCounterExhausted = 48,  // the direction used counter 2^64-1 already
  kHandshakeTimeout = 49,  // the hello did not arrive in time
  kClosed = 50,            // sending after this side's CLOSE

  // Caller.
  kBufferTooSmall = 64,   // the output buffer cannot hold the result
  kAllocFailed = 65,      // the pool could not provide memory
  kInvalidArgument = 66,  // e.g. an unknown frame type given to the sealer

  // Environment.
  kCryptoInitFailed = 80,  // libsodium or OpenSSL could not initialize
  kReplayStoreUnavailable = 81,  // the shared replay store could not answer
};

// "ok", "too_short", ... : the names used in SPEC.md and vector files.
std::string_view ErrorName(Error e);

// The error with that name, or false.
[[nodiscard]] bool ErrorFromName(std::string_view name, Error* out);

// The class of an error code, as named in the header comment.
std::string_view ErrorClass(Error e);

}  // namespace reflex

#endif  // REFLEX_ERROR_H_
