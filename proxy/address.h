// Addresses as the proxy handles them: "host:port" text (IPv4, [IPv6] or
// a name) for flags and logs, and Reflex request headers for the wire.
#ifndef REFLEX_PROXY_ADDRESS_H_
#define REFLEX_PROXY_ADDRESS_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "reflex/request_header.h"

namespace reflex::proxy {

struct HostPort {
  std::string host;  // a name, an IPv4 literal, or an IPv6 literal without brackets
  uint16_t port = 0;
};

// "host:port", "[v6]:port"; the port 0..65535 (0 lets the OS choose, for
// listening). False for anything else.
[[nodiscard]] bool ParseHostPort(std::string_view text, HostPort* out);
std::string FormatHostPort(const HostPort& hp);

// The request header naming a host and port: an IPv4 or IPv6 literal gets
// its address type, anything else is a domain (1..255 bytes, no NUL).
[[nodiscard]] bool RequestHeaderFor(const HostPort& target, RequestHeader* out);
// The host and port a request header names (IPv6 without brackets).
HostPort TargetOf(const RequestHeader& header);

}  // namespace reflex::proxy

#endif  // REFLEX_PROXY_ADDRESS_H_
