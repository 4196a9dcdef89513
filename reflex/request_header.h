// The request header the client sends at the start of its first DATA frame:
// [command][port u16 BE][address type][address], where the address is 4
// bytes (IPv4), 1-byte length + 1..255 bytes (domain) or 16 bytes (IPv6).
// Decoding reports the header's exact length: what follows it in the
// payload is application data (the Go server's fixed payload[12:] leaks
// header bytes as data, or data bytes into the header).
#ifndef REFLEX_REQUEST_HEADER_H_
#define REFLEX_REQUEST_HEADER_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

#include "reflex/error.h"
#include "reflex/wire.h"

namespace reflex {

struct RequestHeader {
  uint8_t command = 0;  // opaque to the codec
  uint16_t port = 0;
  AddressType address_type = AddressType::kIpv4;
  // The address bytes: 4 (IPv4), 16 (IPv6) or the domain name (1..255).
  uint8_t address_length = 0;
  std::array<uint8_t, kMaxDomainBytes> address{};

  std::span<const uint8_t> address_bytes() const {
    return {address.data(), address_length};
  }
  bool operator==(const RequestHeader& o) const {
    return command == o.command && port == o.port &&
           address_type == o.address_type &&
           address_length == o.address_length &&
           std::equal(address.begin(), address.begin() + address_length,
                      o.address.begin());
  }
};

// Size of the encoded header; invalid_argument when the address type is
// unknown or the address length does not fit it.
Error EncodedRequestHeaderSize(const RequestHeader& header, size_t* size);

// Writes the header; invalid_argument when the address type is unknown or
// the address length does not fit it, buffer_too_small when out is short.
Error EncodeRequestHeader(const RequestHeader& header, std::span<uint8_t> out,
                          size_t* written);

// Decodes the header at the start of in. *header_bytes gets its exact length;
// in[*header_bytes..] is data. Errors: too_short, bad_address_type,
// bad_domain_length (a domain of length 0). Outputs are written only on ok.
Error DecodeRequestHeader(std::span<const uint8_t> in, RequestHeader* out,
                          size_t* header_bytes);

}  // namespace reflex

#endif  // REFLEX_REQUEST_HEADER_H_
