// Per-connection state that outlives no connection: the session and the
// connection's record, taken from an ObjectPool when a connection is
// accepted and returned (reset, the session's secrets wiped by its
// destructor) when it ends. Text fields are fixed arrays, so a reused
// state allocates nothing.
#ifndef REFLEX_PROXY_CONNECTION_STATE_H_
#define REFLEX_PROXY_CONNECTION_STATE_H_

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>

#include "pool/object_pool.h"
#include "proxy/close_reason.h"
#include "reflex/client_session.h"
#include "reflex/server_session.h"

namespace reflex::proxy {

// A bounded string: assignments longer than N - 1 bytes are cut (a log
// field, never a protocol value).
template <size_t N>
class FixedText {
 public:
  FixedText() noexcept = default;
  FixedText(std::string_view s) noexcept { *this = s; }  // NOLINT: implicit, like std::string
  // Control characters become '?': a target name from the wire must not
  // break a log line.
  FixedText& operator=(std::string_view s) noexcept {
    size_ = std::min(s.size(), N - 1);
    for (size_t i = 0; i < size_; ++i) {
      const auto c = static_cast<unsigned char>(s[i]);
      text_[i] = c < 0x20 || c == 0x7f ? '?' : s[i];
    }
    text_[size_] = '\0';
    return *this;
  }
  const char* c_str() const noexcept { return text_; }
  std::string_view view() const noexcept { return {text_, size_}; }

 private:
  char text_[N] = {};
  size_t size_ = 0;
};

// A user as logs name them: 8 hex digits of SHA-256 of the id. Not the
// id's own digits: in v2 the id is the only input of the user's PSK.
std::array<char, 9> ShortUserId(const UserId& id);

// What connection log lines say of peers and targets (--log-peers,
// --log-targets). By default a peer is a keyed hash of its address, the
// key drawn at start: connections from one address can be told apart from
// others' for the process's life, and the address cannot be recovered
// from the log. Targets are logged only at debug level unless asked for.
enum class PeerLogging : uint8_t { kNone, kHashed, kFull };
[[nodiscard]] bool PeerLoggingFromName(std::string_view name, PeerLogging* out);
// Set once at start, before any connection.
void SetLogPrivacy(PeerLogging peers, bool targets);
// The peer ("HOST:PORT") as log lines show it: "-", "h:" and 16 hex
// digits (the host's keyed hash; the port is left out), or as it is.
std::string LoggedPeer(std::string_view host_port);

// What one connection did, for its log line (one line at info when it
// ends: peer as LoggedPeer shows it, user's short id, profile, target or
// fallback (at debug level or with --log-targets), bytes each way,
// duration, close reason and its detail).
struct ConnectionRecord {
  FixedText<64> peer;
  FixedText<16> user{"-"};
  FixedText<16> profile{"-"};
  FixedText<280> target{"-"};  // a 255-byte domain name and a port fit
  CloseReason reason = CloseReason::kDone;
  FixedText<128> detail;  // e.g. the I/O error's message; may be empty
  uint64_t up = 0;    // plaintext towards the target / fallback
  uint64_t down = 0;  // plaintext towards the client
  std::chrono::steady_clock::time_point start = std::chrono::steady_clock::now();

  void Close(CloseReason why, std::string_view what = {}) {
    reason = why;
    detail = what;
  }
  void LogLine(const char* role) const;
};

struct ServerConnectionState {
  std::optional<ServerSession> session;
  ConnectionRecord record;
  void Reset() noexcept {
    session.reset();
    record = ConnectionRecord{};
  }
};

struct ClientConnectionState {
  std::optional<ClientSession> session;
  ConnectionRecord record;
  void Reset() noexcept {
    session.reset();
    record = ConnectionRecord{};
  }
};

using ServerStatePool = pool::ObjectPool<ServerConnectionState>;
using ClientStatePool = pool::ObjectPool<ClientConnectionState>;

}  // namespace reflex::proxy

#endif  // REFLEX_PROXY_CONNECTION_STATE_H_
