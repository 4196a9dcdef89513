// A profile, and everything it fixes about the bytes on the wire: how each
// direction numbers its frames (first and last counter, nonce layout) and
// the sizes of the two hellos. One value carries all of it, so a sealer,
// an opener, a decoder or the reference model cannot be built with one
// profile's counters and another's nonces, and no constructor picks a
// profile by default.
//
// Naming rule for what differs between profiles: the profile is a suffix
// (kServerHelloBytesV1, kServerHelloBytesV2, WriteClientHelloV2).
#ifndef REFLEX_PROFILE_H_
#define REFLEX_PROFILE_H_

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "reflex/frame_nonce.h"
#include "reflex/wire.h"

namespace reflex {

enum class Profile : uint8_t {
  kV1Compat,  // byte-exact with the Go original (SPEC.md sections 2-6)
  kV2,        // Noise_NNpsk0_25519_ChaChaPoly_SHA256 (SPEC.md section 11)
};
std::string_view ProfileName(Profile profile);  // "v1-compat", "v2"
[[nodiscard]] bool ProfileFromName(std::string_view name, Profile* out);

struct WireProfile {
  Profile profile;
  NonceLayout nonce_layout;
  uint64_t first_counter;  // of each direction
  uint64_t last_counter;   // after it, a direction is done
  size_t client_hello_bytes;
  size_t server_hello_bytes;
};

inline constexpr WireProfile kWireProfileV1 = {
    Profile::kV1Compat, NonceLayout::kV1,   kFirstFrameCounterV1, LastCounter(NonceLayout::kV1),
    kClientHelloBytesV1, kServerHelloBytesV1};
inline constexpr WireProfile kWireProfileV2 = {
    Profile::kV2,         NonceLayout::kNoise, kFirstFrameCounterV2, LastCounter(NonceLayout::kNoise),
    kClientHelloBytesV2, kServerHelloBytesV2};

constexpr const WireProfile& WireProfileOf(Profile profile) {
  return profile == Profile::kV1Compat ? kWireProfileV1 : kWireProfileV2;
}

}  // namespace reflex

#endif  // REFLEX_PROFILE_H_
