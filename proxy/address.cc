#include "proxy/address.h"

#include <arpa/inet.h>

#include <charconv>
#include <cstring>

namespace reflex::proxy {

bool ParseHostPort(std::string_view text, HostPort* out) {
  std::string_view host, port;
  if (!text.empty() && text[0] == '[') {
    const size_t close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      return false;
    }
    host = text.substr(1, close - 1);
    port = text.substr(close + 2);
    in6_addr v6;
    if (inet_pton(AF_INET6, std::string(host).c_str(), &v6) != 1) return false;
  } else {
    const size_t colon = text.rfind(':');
    if (colon == std::string_view::npos) return false;
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
    if (host.find(':') != std::string_view::npos) return false;  // v6 needs brackets
  }
  // A NUL would cut the host short wherever it is read as a C string.
  if (host.empty() || host.size() > 255 || port.empty() || host.find('\0') != std::string_view::npos) {
    return false;
  }
  unsigned value = 0;
  const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (ec != std::errc() || end != port.data() + port.size() || value > 65535) return false;
  out->host = std::string(host);
  out->port = static_cast<uint16_t>(value);
  return true;
}

std::string FormatHostPort(const HostPort& hp) {
  if (hp.host.find(':') != std::string::npos) {
    return "[" + hp.host + "]:" + std::to_string(hp.port);
  }
  return hp.host + ":" + std::to_string(hp.port);
}

bool RequestHeaderFor(const HostPort& target, RequestHeader* out) {
  // inet_pton reads a C string: "127.0.0.1\0.example" must not pass as
  // the address before its NUL.
  if (target.host.find('\0') != std::string::npos) return false;
  RequestHeader h;
  h.command = 1;  // CONNECT, as SOCKS5 numbers it
  h.port = target.port;
  in_addr v4;
  in6_addr v6;
  if (inet_pton(AF_INET, target.host.c_str(), &v4) == 1) {
    h.address_type = AddressType::kIpv4;
    h.address_length = kIpv4Bytes;
    std::memcpy(h.address.data(), &v4, kIpv4Bytes);
  } else if (inet_pton(AF_INET6, target.host.c_str(), &v6) == 1) {
    h.address_type = AddressType::kIpv6;
    h.address_length = kIpv6Bytes;
    std::memcpy(h.address.data(), &v6, kIpv6Bytes);
  } else {
    if (target.host.empty() || target.host.size() > kMaxDomainBytes) return false;
    h.address_type = AddressType::kDomain;
    h.address_length = static_cast<uint8_t>(target.host.size());
    std::memcpy(h.address.data(), target.host.data(), target.host.size());
  }
  *out = h;
  return true;
}

HostPort TargetOf(const RequestHeader& header) {
  HostPort hp;
  hp.port = header.port;
  char text[INET6_ADDRSTRLEN] = {};
  switch (header.address_type) {
    case AddressType::kIpv4:
      inet_ntop(AF_INET, header.address.data(), text, sizeof(text));
      hp.host = text;
      break;
    case AddressType::kIpv6:
      inet_ntop(AF_INET6, header.address.data(), text, sizeof(text));
      hp.host = text;
      break;
    case AddressType::kDomain:
      hp.host.assign(reinterpret_cast<const char*>(header.address.data()), header.address_length);
      break;
  }
  return hp;
}

}  // namespace reflex::proxy
