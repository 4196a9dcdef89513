// HTTP CONNECT (RFC 9110 section 9.3.6) as the client's optional local
// proxy speaks it: "CONNECT host:port HTTP/1.x", headers ignored but
// Proxy-Authorization, the request head at most kMaxHeadBytes.
#ifndef REFLEX_PROXY_HTTP_CONNECT_H_
#define REFLEX_PROXY_HTTP_CONNECT_H_

#include <cstddef>
#include <span>
#include <string_view>

#include "proxy/address.h"

namespace reflex::proxy {

inline constexpr size_t kMaxHeadBytes = 8192;

enum class HttpConnectStatus : uint8_t {
  kOk,
  kNeedMore,
  kTooLarge,      // no end of head within kMaxHeadBytes (431)
  kNotConnect,    // another method (the HTTP proxy forwards it: http_forward.h)
  kBadRequest,    // malformed request line or target (400)
};

// On kOk: *consumed is the head's length (through the empty line), *target
// the authority, *authorization the first Proxy-Authorization header's
// value (a view into `in`; empty when there is none).
HttpConnectStatus ParseHttpConnect(std::span<const uint8_t> in, size_t* consumed,
                                   HostPort* target, std::string_view* authorization);

// The response head for a status (200, 400, 407, 431, 502, 504).
std::string_view HttpConnectResponse(int status);

}  // namespace reflex::proxy

#endif  // REFLEX_PROXY_HTTP_CONNECT_H_
