// SOCKS5 (RFC 1928) as the client's local proxy speaks it: no
// authentication, CONNECT only, IPv4, IPv6 and domain names. Sans-IO:
// parsers take what has arrived and say whether they need more.
#ifndef REFLEX_PROXY_SOCKS5_H_
#define REFLEX_PROXY_SOCKS5_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

#include "reflex/request_header.h"

namespace reflex::proxy {

enum class Socks5Status : uint8_t {
  kOk,
  kNeedMore,
  kBadVersion,          // not 5
  kNoAcceptableMethod,  // the client does not offer "no authentication"
  kUnsupportedCommand,  // BIND, UDP ASSOCIATE (reply 07)
  kBadAddressType,      // reply 08
  kBadAddress,          // an empty domain, a reserved byte not zero
};

// The greeting: VER NMETHODS METHODS. On kOk, *consumed bytes were it.
Socks5Status ParseSocks5Greeting(std::span<const uint8_t> in, size_t* consumed);
// The reply to a greeting: 05 00, or 05 FF when no method is acceptable.
std::array<uint8_t, 2> Socks5MethodReply(bool acceptable);

// The request: VER CMD RSV ATYP DST.ADDR DST.PORT, as a Reflex request
// header (same address types, command CONNECT = 1).
Socks5Status ParseSocks5Request(std::span<const uint8_t> in, size_t* consumed,
                                RequestHeader* out);

// The 10-byte reply: VER REP RSV ATYP=1 BND.ADDR=0.0.0.0 BND.PORT=0.
inline constexpr uint8_t kSocks5Succeeded = 0x00;
inline constexpr uint8_t kSocks5CommandNotSupported = 0x07;
inline constexpr uint8_t kSocks5AddressTypeNotSupported = 0x08;
std::array<uint8_t, 10> Socks5Reply(uint8_t code);

}  // namespace reflex::proxy

#endif  // REFLEX_PROXY_SOCKS5_H_
