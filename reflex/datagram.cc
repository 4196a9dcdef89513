#include "reflex/datagram.h"

#include "reflex/byte_reader.h"
#include "reflex/byte_writer.h"

namespace reflex {

Error EncodedDatagramAddressSize(const DatagramAddress& a, size_t* size) {
  switch (a.type) {
    case AddressType::kIpv4:
      if (a.length != kIpv4Bytes) return Error::kInvalidArgument;
      *size = kIpv4DatagramAddressBytes;
      return Error::kOk;
    case AddressType::kIpv6:
      if (a.length != kIpv6Bytes) return Error::kInvalidArgument;
      *size = kIpv6DatagramAddressBytes;
      return Error::kOk;
    case AddressType::kDomain:
      if (a.length == 0) return Error::kInvalidArgument;
      *size = 1 + 1 + a.length + kDatagramPortBytes;
      return Error::kOk;
  }
  return Error::kInvalidArgument;
}

Error EncodeDatagramAddress(const DatagramAddress& a, std::span<uint8_t> out, size_t* written) {
  size_t size = 0;
  if (const Error e = EncodedDatagramAddressSize(a, &size); e != Error::kOk) return e;
  if (out.size() < size) return Error::kBufferTooSmall;
  ByteWriter w(out);
  w.WriteU8(static_cast<uint8_t>(a.type));
  if (a.type == AddressType::kDomain) w.WriteU8(a.length);
  w.WriteBytes(a.address_bytes());
  w.WriteU16BE(a.port);
  if (!w.ok()) return Error::kBufferTooSmall;  // unreachable: size checked
  *written = w.written();
  return Error::kOk;
}

Error EncodeDatagram(const DatagramAddress& a, std::span<const uint8_t> data, std::span<uint8_t> out,
                     size_t* written) {
  size_t size = 0;
  if (const Error e = EncodedDatagramAddressSize(a, &size); e != Error::kOk) return e;
  if (data.size() > kMaxPayloadBytes - size) return Error::kFrameTooLarge;
  if (out.size() < size + data.size()) return Error::kBufferTooSmall;
  size_t n = 0;
  if (const Error e = EncodeDatagramAddress(a, out, &n); e != Error::kOk) return e;
  std::copy(data.begin(), data.end(), out.begin() + static_cast<ptrdiff_t>(n));
  *written = n + data.size();
  return Error::kOk;
}

Error DecodeDatagram(std::span<const uint8_t> payload, DatagramAddress* address, size_t* address_bytes) {
  if (payload.size() > kMaxPayloadBytes) return Error::kFrameTooLarge;
  ByteReader r(payload);
  DatagramAddress a;
  uint8_t type = 0;
  if (!r.ReadU8(&type)) return Error::kTooShort;
  size_t length = 0;
  switch (type) {
    case static_cast<uint8_t>(AddressType::kIpv4):
      length = kIpv4Bytes;
      break;
    case static_cast<uint8_t>(AddressType::kIpv6):
      length = kIpv6Bytes;
      break;
    case static_cast<uint8_t>(AddressType::kDomain): {
      uint8_t n = 0;
      if (!r.ReadU8(&n)) return Error::kTooShort;
      if (n == 0) return Error::kBadDomainLength;
      length = n;
      break;
    }
    default:
      return Error::kBadAddressType;
  }
  a.type = static_cast<AddressType>(type);
  if (!r.ReadBytes({a.bytes.data(), length}) || !r.ReadU16BE(&a.port)) return Error::kTooShort;
  a.length = static_cast<uint8_t>(length);
  *address = a;
  *address_bytes = payload.size() - r.remaining();
  return Error::kOk;
}

}  // namespace reflex
