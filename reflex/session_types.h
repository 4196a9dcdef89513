// What the sans-IO sessions (client_session.h, server_session.h) share:
// profiles (profile.h), user ids, the injected clock, and the events a session hands
// its caller.
#ifndef REFLEX_SESSION_TYPES_H_
#define REFLEX_SESSION_TYPES_H_

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

#include "reflex/error.h"
#include "reflex/profile.h"
#include "reflex/request_header.h"
#include "reflex/wire.h"

namespace reflex {

using UserId = std::array<uint8_t, kUserIdBytes>;

// Text form "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx" (any case) <-> raw bytes.
[[nodiscard]] bool ParseUserId(std::string_view text, UserId* out);
std::array<char, 36> FormatUserId(const UserId& id);

// Whether a hello stamped `timestamp` is within `window` seconds of `now`,
// either way (no overflow, whatever the values).
constexpr bool WithinWindow(int64_t timestamp, int64_t now, int64_t window) {
  const __int128 d = static_cast<__int128>(timestamp) - now;
  return d >= -static_cast<__int128>(window) && d <= window;
}

// The session's view of time, injected so tests are deterministic:
// wall-clock Unix seconds (hello timestamps) and a monotonic clock in
// milliseconds (the hello wait, traffic shaping). SystemClock is the real one.
class Clock {
 public:
  virtual ~Clock() = default;
  virtual int64_t UnixSeconds() const = 0;
  virtual int64_t MonotonicMillis() const = 0;
};

class SystemClock final : public Clock {
 public:
  int64_t UnixSeconds() const override;
  int64_t MonotonicMillis() const override;
};

enum class SessionEventKind : uint8_t {
  kNone,           // nothing to report: feed more bytes
  kHandshakeDone,  // the peer proved itself; the session speaks frames now
  kRequest,        // server: the client's request header (and data after it)
  kData,           // application data
  kTargetConnected,  // client: the server reached the request's target
  kPeerClosed,     // the peer sent CLOSE: its direction is finished
  kFallback,       // server: not Reflex; hand the connection to the fallback
  kReplayQuery,    // server: ask the shared replay store about this hello
  kError,          // the session failed; it is finished
};
std::string_view SessionEventName(SessionEventKind kind);

struct SessionEvent {
  SessionEventKind kind = SessionEventKind::kNone;
  // kHandshakeDone: the profile spoken, and (server) which configured user.
  Profile profile = Profile::kV2;
  size_t user_index = 0;
  // kRequest: the header of the client's first DATA frame.
  RequestHeader request;
  // kRequest and kData: data delivered, inside the caller's input buffer
  // (decrypted where it arrived); valid until the caller reuses that memory.
  std::span<uint8_t> data;
  // kFallback: every byte the session consumed, in order. The caller hands
  // the fallback these, then the input bytes not consumed, then everything
  // the peer sends later. Valid until the session is destroyed.
  std::span<const uint8_t> fallback_bytes;
  // kFallback: why (e.g. auth_failed, replayed_hello); kError: the error.
  Error reason = Error::kOk;
  // kReplayQuery: the hello's replay key (the client's ephemeral public
  // key), valid until OnReplayVerdict, and how long the store must
  // remember it: until a replay could no longer pass the window.
  std::span<const uint8_t> replay_key;
  int64_t replay_ttl_ms = 0;
  // kPeerClosed: the CLOSE frame's payload when it is exactly one byte,
  // else 0 (SPEC.md 13.4: a code travels only as a one-byte payload).
  // A server that could not reach the target says why with a SOCKS5 reply
  // code (SPEC.md 13.4): kConnectRefused, kHostUnreachable, ...
  uint8_t close_code = 0;
};

// Why a server could not reach a request's target: SOCKS5 reply codes
// (RFC 1928), carried as the payload of the server's CLOSE (SPEC.md 13.4).
inline constexpr uint8_t kConnectOk = 0x00;
inline constexpr uint8_t kConnectGeneralFailure = 0x01;
inline constexpr uint8_t kConnectNotAllowed = 0x02;
inline constexpr uint8_t kConnectNetworkUnreachable = 0x03;
inline constexpr uint8_t kConnectHostUnreachable = 0x04;
inline constexpr uint8_t kConnectRefused = 0x05;
inline constexpr uint8_t kConnectTimedOut = 0x06;
inline constexpr uint8_t kConnectCommandNotSupported = 0x07;
// The request header's command: the only one there is (SPEC.md 6).
inline constexpr uint8_t kCommandConnect = 0x01;

}  // namespace reflex

#endif  // REFLEX_SESSION_TYPES_H_
