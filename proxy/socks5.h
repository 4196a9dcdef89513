// SOCKS5 (RFC 1928) as the client's local proxy speaks it: no
// authentication or username/password (RFC 1929), CONNECT and UDP
// ASSOCIATE (not BIND), IPv4, IPv6 and domain names. Sans-IO: parsers take what has arrived and say
// whether they need more.
#ifndef REFLEX_PROXY_SOCKS5_H_
#define REFLEX_PROXY_SOCKS5_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "proxy/asio_config.h"
#include "reflex/request_header.h"

namespace reflex::proxy {

enum class Socks5Status : uint8_t {
  kOk,
  kNeedMore,
  kBadVersion,          // not 5
  kNoAcceptableMethod,  // the client does not offer "no authentication"
  kUnsupportedCommand,  // BIND (reply 07)
  kBadAddressType,      // reply 08
  kBadAddress,          // an empty domain, a reserved byte not zero
  kBadAuthRequest,      // RFC 1929: an empty username or password
};

inline constexpr uint8_t kSocks5NoAuthentication = 0x00;
inline constexpr uint8_t kSocks5UsernamePassword = 0x02;
inline constexpr uint8_t kSocks5NoAcceptableMethod = 0xFF;

// The greeting: VER NMETHODS METHODS. kOk when `method` is among those
// offered (kNoAcceptableMethod otherwise); *consumed bytes were it.
Socks5Status ParseSocks5Greeting(std::span<const uint8_t> in, uint8_t method, size_t* consumed);
// The reply to a greeting: 05 METHOD (05 FF: none acceptable).
std::array<uint8_t, 2> Socks5MethodReply(uint8_t method);

// RFC 1929: VER=1 ULEN UNAME PLEN PASSWD. On kOk the views point into `in`.
Socks5Status ParseSocks5UsernamePassword(std::span<const uint8_t> in, size_t* consumed,
                                         std::string_view* name, std::string_view* password);
// 01 00 (accepted) or 01 01; after a refusal the connection closes.
std::array<uint8_t, 2> Socks5AuthReply(bool accepted);

// The request: VER CMD RSV ATYP DST.ADDR DST.PORT, as a Reflex request
// header (same address types; the command as SOCKS5 numbers it: CONNECT 1,
// UDP ASSOCIATE 3).
inline constexpr uint8_t kSocks5Connect = 0x01;
inline constexpr uint8_t kSocks5UdpAssociate = 0x03;
Socks5Status ParseSocks5Request(std::span<const uint8_t> in, size_t* consumed,
                                RequestHeader* out);

// The 10-byte reply: VER REP RSV ATYP=1 BND.ADDR=0.0.0.0 BND.PORT=0.
inline constexpr uint8_t kSocks5Succeeded = 0x00;
inline constexpr uint8_t kSocks5CommandNotSupported = 0x07;
inline constexpr uint8_t kSocks5AddressTypeNotSupported = 0x08;
std::array<uint8_t, 10> Socks5Reply(uint8_t code);

// A success reply naming an address: BND.ADDR and BND.PORT of a UDP
// ASSOCIATE's relay socket (10 bytes for IPv4, 22 for IPv6).
struct Socks5BoundReply {
  std::array<uint8_t, 22> bytes{};
  size_t size = 0;
};
Socks5BoundReply Socks5ReplyBound(const asio::ip::address& address, uint16_t port);

}  // namespace reflex::proxy

#endif  // REFLEX_PROXY_SOCKS5_H_
