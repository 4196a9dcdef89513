// A datagram of a UDP association (SPEC.md 15.2): one per DATA frame, its
// payload the address in SOCKS5's form, then the datagram's bytes:
//   ATYP (1) || ADDR (4, 1 + n, or 16) || PORT (u16 BE) || data
// The client's address is the destination, the server's the source. The
// form is exactly what follows RSV and FRAG in a SOCKS5 UDP datagram
// (RFC 1928 section 7), so a client relays it without rewriting.
#ifndef REFLEX_DATAGRAM_H_
#define REFLEX_DATAGRAM_H_

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

#include "reflex/error.h"
#include "reflex/wire.h"

namespace reflex {

// The request header's command for a UDP association (SPEC.md 15.1).
inline constexpr uint8_t kCommandUdp = 0x02;

inline constexpr size_t kDatagramPortBytes = 2;
inline constexpr size_t kIpv4DatagramAddressBytes = 1 + kIpv4Bytes + kDatagramPortBytes;  // 7
inline constexpr size_t kIpv6DatagramAddressBytes = 1 + kIpv6Bytes + kDatagramPortBytes;  // 19
inline constexpr size_t kMaxDatagramAddressBytes = 1 + 1 + kMaxDomainBytes + kDatagramPortBytes;  // 259
// The largest datagram a frame carries, by the address form before it.
inline constexpr size_t kMaxIpv4DatagramBytes = kMaxPayloadBytes - kIpv4DatagramAddressBytes;  // 16377
inline constexpr size_t kMaxIpv6DatagramBytes = kMaxPayloadBytes - kIpv6DatagramAddressBytes;  // 16365

struct DatagramAddress {
  AddressType type = AddressType::kIpv4;
  uint8_t length = 0;  // address bytes: 4, 16, or the domain's 1..255
  std::array<uint8_t, kMaxDomainBytes> bytes{};
  uint16_t port = 0;

  std::span<const uint8_t> address_bytes() const { return {bytes.data(), length}; }
  bool operator==(const DatagramAddress& o) const {
    return type == o.type && length == o.length && port == o.port &&
           std::equal(bytes.begin(), bytes.begin() + length, o.bytes.begin());
  }
};

// The address form's size; invalid_argument for an unknown type or a
// length that does not fit it.
Error EncodedDatagramAddressSize(const DatagramAddress& address, size_t* size);

// Writes the address form alone (the datagram's bytes go right after it).
// invalid_argument as above, buffer_too_small when out is short.
Error EncodeDatagramAddress(const DatagramAddress& address, std::span<uint8_t> out, size_t* written);

// Writes the address form and data: a whole frame payload. frame_too_large
// when it would exceed a frame's payload (a datagram is never split).
Error EncodeDatagram(const DatagramAddress& address, std::span<const uint8_t> data,
                     std::span<uint8_t> out, size_t* written);

// Decodes a frame payload. *address_bytes gets the address form's length;
// payload[*address_bytes..] is the datagram (possibly empty). Errors:
// frame_too_large (above 16384 bytes), then front to back too_short,
// bad_address_type, bad_domain_length. Outputs are written only on ok.
Error DecodeDatagram(std::span<const uint8_t> payload, DatagramAddress* address,
                     size_t* address_bytes);

}  // namespace reflex

#endif  // REFLEX_DATAGRAM_H_
