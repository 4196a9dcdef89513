#include "reflex/request_header.h"

#include "reflex/byte_reader.h"
#include "reflex/byte_writer.h"

namespace reflex {
namespace {

// The address length an address type requires (0 for a domain: variable).
bool FixedAddressLength(AddressType type, size_t* length) {
  switch (type) {
    case AddressType::kIpv4:
      *length = kIpv4Bytes;
      return true;
    case AddressType::kIpv6:
      *length = kIpv6Bytes;
      return true;
    case AddressType::kDomain:
      *length = 0;
      return true;
  }
  return false;
}

}  // namespace

Error EncodedRequestHeaderSize(const RequestHeader& h, size_t* size) {
  size_t fixed;
  if (!FixedAddressLength(h.address_type, &fixed)) return Error::kInvalidArgument;
  if (h.address_type == AddressType::kDomain) {
    if (h.address_length == 0) return Error::kInvalidArgument;
    *size = kRequestHeaderFixedBytes + 1 + h.address_length;
    return Error::kOk;
  }
  if (h.address_length != fixed) return Error::kInvalidArgument;
  *size = kRequestHeaderFixedBytes + fixed;
  return Error::kOk;
}

Error EncodeRequestHeader(const RequestHeader& h, std::span<uint8_t> out,
                          size_t* written) {
  size_t size = 0;
  if (const Error e = EncodedRequestHeaderSize(h, &size); e != Error::kOk) return e;
  if (out.size() < size) return Error::kBufferTooSmall;
  ByteWriter w(out);
  w.WriteU8(h.command);
  w.WriteU16BE(h.port);
  w.WriteU8(static_cast<uint8_t>(h.address_type));
  if (h.address_type == AddressType::kDomain) w.WriteU8(h.address_length);
  w.WriteBytes(h.address_bytes());
  if (!w.ok()) return Error::kBufferTooSmall;  // unreachable: size checked
  *written = w.written();
  return Error::kOk;
}

Error DecodeRequestHeader(std::span<const uint8_t> in, RequestHeader* out,
                          size_t* header_bytes) {
  ByteReader r(in);
  RequestHeader h;
  uint8_t type = 0;
  if (!r.ReadU8(&h.command) || !r.ReadU16BE(&h.port) || !r.ReadU8(&type)) {
    return Error::kTooShort;
  }
  h.address_type = static_cast<AddressType>(type);
  size_t length;
  if (!FixedAddressLength(h.address_type, &length)) {
    return Error::kBadAddressType;
  }
  if (h.address_type == AddressType::kDomain) {
    uint8_t domain_length = 0;
    if (!r.ReadU8(&domain_length)) return Error::kTooShort;
    if (domain_length == 0) return Error::kBadDomainLength;
    length = domain_length;
  }
  if (!r.ReadBytes({h.address.data(), length})) return Error::kTooShort;
  h.address_length = static_cast<uint8_t>(length);
  *out = h;
  *header_bytes = in.size() - r.remaining();
  return Error::kOk;
}

}  // namespace reflex
