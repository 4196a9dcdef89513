// Why a connection ended: one value per ending, shared by the log line
// (close=<name>[ (<detail>)]) and the statistics (a counter per reason),
// so the two always agree. A name is a stable token: operators grep and
// graph it.
#ifndef REFLEX_PROXY_CLOSE_REASON_H_
#define REFLEX_PROXY_CLOSE_REASON_H_

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace reflex::proxy {

enum class CloseReason : uint8_t {
  kDone,                  // both directions ended cleanly
  kTimeout,               // the watchdog's deadline passed (detail: which)
  kReadFailed,            // reading from the connection's own peer failed
  kWriteFailed,           // writing to the connection's own peer failed
  kOutOfMemory,           // no pooled buffer or state
  kSessionError,          // the peer's Reflex bytes were bad (detail: error)
  kTunnelCut,             // the tunnel ended without the peer's CLOSE
  kRelayFailed,           // an I/O error while relaying (detail: the error)
  // Server.
  kClosedBeforeRequest,   // the client sent CLOSE instead of a request
  kEndedInHandshake,      // the client ended between its hello and request
  kCommandNotSupported,   // a request command other than CONNECT and UDP (detail)
  kTargetUnreachable,     // detail: the connect error
  kTargetNotAllowed,      // the egress policy refuses every address of the target
  kTargetWriteFailed,     // the request's first data could not be written
  kFallbackDone,          // the fallback's splice ended cleanly
  kFallbackUnreachable,   // detail: the connect error
  kFallbackWriteFailed,   // the bytes held for the fallback could not be written
  kFallbackFailed,        // the fallback's splice failed (detail)
  kUserRemoved,           // a reload removed the tunnel's user (--drop-removed-users)
  // Client.
  kLocalRequestRefused,   // a bad SOCKS5 or HTTP CONNECT request (detail)
  kLocalAuthFailed,       // wrong or missing local credentials (detail: socks, http)
  kLocalClosedEarly,      // the application ended before its request
  kServerUnreachable,     // detail: the connect error
  kServerFailed,          // the Reflex server failed the handshake (detail)
  kTargetRefused,         // the server could not reach the target (detail: code)
  kEarlyDataFailed,       // the application's pipelined bytes could not be sent
  // A UDP association (SPEC.md 15).
  kUdpNotAllowed,         // server: UDP off, or the user's associations at the cap
  kUdpSocketFailed,       // no UDP socket could be opened (detail: the error)
};
inline constexpr size_t kCloseReasonCount = static_cast<size_t>(CloseReason::kUdpSocketFailed) + 1;

std::string_view CloseReasonName(CloseReason reason);

}  // namespace reflex::proxy

#endif  // REFLEX_PROXY_CLOSE_REASON_H_
