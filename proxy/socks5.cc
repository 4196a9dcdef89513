#include "proxy/socks5.h"

#include <algorithm>

#include "reflex/byte_reader.h"

namespace reflex::proxy {

Socks5Status ParseSocks5Greeting(std::span<const uint8_t> in, uint8_t method, size_t* consumed) {
  ByteReader r(in);
  uint8_t version = 0, methods = 0;
  if (!r.ReadU8(&version)) return Socks5Status::kNeedMore;
  if (version != 5) return Socks5Status::kBadVersion;
  if (!r.ReadU8(&methods)) return Socks5Status::kNeedMore;
  std::span<const uint8_t> list;
  if (!r.ReadView(methods, &list)) return Socks5Status::kNeedMore;
  *consumed = 2 + methods;
  if (std::find(list.begin(), list.end(), method) == list.end()) {
    return Socks5Status::kNoAcceptableMethod;
  }
  return Socks5Status::kOk;
}

std::array<uint8_t, 2> Socks5MethodReply(uint8_t method) { return {0x05, method}; }

Socks5Status ParseSocks5UsernamePassword(std::span<const uint8_t> in, size_t* consumed,
                                         std::string_view* name, std::string_view* password) {
  ByteReader r(in);
  uint8_t version = 0, name_length = 0, password_length = 0;
  std::span<const uint8_t> n, p;
  if (!r.ReadU8(&version)) return Socks5Status::kNeedMore;
  if (version != 1) return Socks5Status::kBadVersion;
  if (!r.ReadU8(&name_length) || !r.ReadView(name_length, &n) || !r.ReadU8(&password_length) ||
      !r.ReadView(password_length, &p)) {
    return Socks5Status::kNeedMore;
  }
  if (n.empty() || p.empty()) return Socks5Status::kBadAuthRequest;
  *consumed = in.size() - r.remaining();
  *name = {reinterpret_cast<const char*>(n.data()), n.size()};
  *password = {reinterpret_cast<const char*>(p.data()), p.size()};
  return Socks5Status::kOk;
}

std::array<uint8_t, 2> Socks5AuthReply(bool accepted) {
  return {0x01, static_cast<uint8_t>(accepted ? 0x00 : 0x01)};
}

Socks5Status ParseSocks5Request(std::span<const uint8_t> in, size_t* consumed,
                                RequestHeader* out) {
  ByteReader r(in);
  uint8_t version = 0, command = 0, reserved = 0, type = 0;
  if (!r.ReadU8(&version)) return Socks5Status::kNeedMore;
  if (version != 5) return Socks5Status::kBadVersion;
  if (!r.ReadU8(&command) || !r.ReadU8(&reserved) || !r.ReadU8(&type)) {
    return Socks5Status::kNeedMore;
  }
  RequestHeader h;
  h.command = command;
  size_t length = 0;
  switch (type) {
    case 0x01:
      h.address_type = AddressType::kIpv4;
      length = kIpv4Bytes;
      break;
    case 0x04:
      h.address_type = AddressType::kIpv6;
      length = kIpv6Bytes;
      break;
    case 0x03: {
      uint8_t n = 0;
      if (!r.ReadU8(&n)) return Socks5Status::kNeedMore;
      if (n == 0) return Socks5Status::kBadAddress;
      h.address_type = AddressType::kDomain;
      length = n;
      break;
    }
    default:
      return Socks5Status::kBadAddressType;
  }
  if (!r.ReadBytes({h.address.data(), length}) || !r.ReadU16BE(&h.port)) {
    return Socks5Status::kNeedMore;
  }
  h.address_length = static_cast<uint8_t>(length);
  // Decided only once the whole request is here, so *consumed is exact.
  if (reserved != 0) return Socks5Status::kBadAddress;
  if (command != kSocks5Connect && command != kSocks5UdpAssociate) return Socks5Status::kUnsupportedCommand;
  *consumed = in.size() - r.remaining();
  *out = h;
  return Socks5Status::kOk;
}

std::array<uint8_t, 10> Socks5Reply(uint8_t code) {
  return {0x05, code, 0x00, 0x01, 0, 0, 0, 0, 0, 0};
}

Socks5BoundReply Socks5ReplyBound(const asio::ip::address& address, uint16_t port) {
  Socks5BoundReply r;
  r.bytes[0] = 0x05;
  r.bytes[1] = kSocks5Succeeded;
  size_t at = 3;
  // An IPv4 address a dual-stack socket reports mapped is sent as IPv4.
  if (address.is_v6() && address.to_v6().is_v4_mapped()) {
    r.bytes[at++] = 0x01;
    for (const uint8_t b : asio::ip::make_address_v4(asio::ip::v4_mapped, address.to_v6()).to_bytes()) r.bytes[at++] = b;
  } else if (address.is_v4()) {
    r.bytes[at++] = 0x01;
    for (const uint8_t b : address.to_v4().to_bytes()) r.bytes[at++] = b;
  } else {
    r.bytes[at++] = 0x04;
    for (const uint8_t b : address.to_v6().to_bytes()) r.bytes[at++] = b;
  }
  r.bytes[at++] = static_cast<uint8_t>(port >> 8);
  r.bytes[at++] = static_cast<uint8_t>(port);
  r.size = at;
  return r;
}

}  // namespace reflex::proxy
