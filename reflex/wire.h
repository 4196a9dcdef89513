// Reflex wire constants. Sizes and frame limits are shared by the profiles;
// what is specific to v1-compat or v2 says so. SPEC.md explains each.
#ifndef REFLEX_WIRE_H_
#define REFLEX_WIRE_H_

#include <array>
#include <cstddef>
#include <cstdint>

namespace reflex {

// Client hello: magic | client public key | user id | timestamp | nonce.
inline constexpr std::array<uint8_t, 4> kMagic = {0x52, 0x46, 0x58, 0x4C};
inline constexpr size_t kMagicBytes = 4;
inline constexpr size_t kPublicKeyBytes = 32;
inline constexpr size_t kPrivateKeyBytes = 32;
inline constexpr size_t kSharedSecretBytes = 32;
inline constexpr size_t kUserIdBytes = 16;
inline constexpr size_t kTimestampBytes = 8;
inline constexpr size_t kHelloNonceBytes = 16;
inline constexpr size_t kClientHelloBytesV1 = kMagicBytes + kPublicKeyBytes +
                                              kUserIdBytes + kTimestampBytes +
                                              kHelloNonceBytes;  // 76
// Server hello: server public key | timestamp (no magic).
inline constexpr size_t kServerHelloBytesV1 =
    kPublicKeyBytes + kTimestampBytes;  // 40

// Key schedule.
inline constexpr size_t kSessionKeyBytes = 32;
inline constexpr char kHkdfLabelV1[] = "reflex-session-v1";  // salt and info

// Frames: [length u16 BE][ciphertext of (type | payload)][tag].
inline constexpr size_t kFrameHeaderBytes = 2;
inline constexpr size_t kFrameTypeBytes = 1;
inline constexpr size_t kTagBytes = 16;
inline constexpr size_t kAeadNonceBytes = 12;
inline constexpr size_t kMaxPayloadBytes = 16384;
// Length field bounds (sealed bytes = type + payload + tag). A length of 16
// (a tag and nothing else) passes the length check and is refused after
// authentication as empty_plaintext; below 16 is bad_length.
inline constexpr size_t kMinSealedBytes = kTagBytes;  // 16
inline constexpr size_t kMaxSealedBytes =
    kFrameTypeBytes + kMaxPayloadBytes + kTagBytes;  // 16401
// Where a frame's payload starts in its wire bytes: length, then type.
inline constexpr size_t kFramePayloadOffset =
    kFrameHeaderBytes + kFrameTypeBytes;  // 3
// Bytes a frame adds to its payload on the wire.
inline constexpr size_t kFrameOverheadBytes =
    kFrameHeaderBytes + kFrameTypeBytes + kTagBytes;  // 19
inline constexpr size_t kMaxFrameBytes =
    kFrameOverheadBytes + kMaxPayloadBytes;  // 16403

// v1-compat: the first frame of each direction uses counter 1 (the Go
// original increments before use); the last usable counter is 2^64-1,
// after which a direction is done.
inline constexpr uint64_t kFirstFrameCounterV1 = 1;
inline constexpr uint64_t kLastFrameCounterV1 = UINT64_MAX;

enum class FrameType : uint8_t {
  kData = 0x01,
  kPadding = 0x02,  // control: the receiver ignores its payload
  kTiming = 0x03,   // control: the receiver ignores its payload
  kClose = 0x04,
};

inline constexpr bool IsKnownFrameType(uint8_t t) {
  return t >= 0x01 && t <= 0x04;
}

// Request header, first DATA frame from the client:
// [command][port u16 BE][address type][address].
enum class AddressType : uint8_t {
  kIpv4 = 0x01,
  kDomain = 0x03,
  kIpv6 = 0x04,
};
inline constexpr size_t kIpv4Bytes = 4;
inline constexpr size_t kIpv6Bytes = 16;
inline constexpr size_t kMaxDomainBytes = 255;
inline constexpr size_t kRequestHeaderFixedBytes = 4;  // command, port, type
inline constexpr size_t kMaxRequestHeaderBytes =
    kRequestHeaderFixedBytes + 1 + kMaxDomainBytes;  // 260

// Profile v2 (SPEC.md section 11): Noise_NNpsk0_25519_ChaChaPoly_SHA256.
inline constexpr char kPrologueV2[] = "reflex/2";         // 8 bytes, no terminator
inline constexpr char kPskSaltV2[] = "reflex/2 psk";      // HKDF salt of a user's PSK
inline constexpr size_t kHelloPayloadBytesV2 = 8 + 16 + 4;  // timestamp, nonce, reserved
inline constexpr size_t kReservedBytesV2 = 4;
inline constexpr size_t kClientHelloBytesV2 =
    kPublicKeyBytes + kHelloPayloadBytesV2 + kTagBytes;  // 76
inline constexpr size_t kServerHelloBytesV2 = kPublicKeyBytes + kTagBytes;  // 48
// The first flight of either profile: the server reads this many bytes
// before it can tell which profile (if any) a client speaks.
inline constexpr size_t kClientHelloBytes = kClientHelloBytesV1;
static_assert(kClientHelloBytesV2 == kClientHelloBytes, "both profiles' hellos are 76 bytes");
// v2 frame counters are Noise nonces: from 0.
inline constexpr uint64_t kFirstFrameCounterV2 = 0;

}  // namespace reflex

#endif  // REFLEX_WIRE_H_
