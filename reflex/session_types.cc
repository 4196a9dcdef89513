#include "reflex/session_types.h"

#include <time.h>

namespace reflex {

bool ParseUserId(std::string_view text, UserId* out) {
  if (text.size() != 36) return false;
  UserId id{};
  size_t byte = 0;
  for (size_t i = 0; i < text.size();) {
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (text[i] != '-') return false;
      ++i;
      continue;
    }
    auto nibble = [](char c) -> int {
      if (c >= '0' && c <= '9') return c - '0';
      if (c >= 'a' && c <= 'f') return c - 'a' + 10;
      if (c >= 'A' && c <= 'F') return c - 'A' + 10;
      return -1;
    };
    const int hi = nibble(text[i]), lo = nibble(text[i + 1]);
    if (hi < 0 || lo < 0) return false;
    id[byte++] = static_cast<uint8_t>(hi << 4 | lo);
    i += 2;
  }
  *out = id;
  return true;
}

std::array<char, 36> FormatUserId(const UserId& id) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::array<char, 36> out{};
  size_t at = 0;
  for (size_t i = 0; i < id.size(); ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out[at++] = '-';
    out[at++] = kHex[id[i] >> 4];
    out[at++] = kHex[id[i] & 15];
  }
  return out;
}

int64_t SystemClock::UnixSeconds() const {
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return ts.tv_sec;
}

int64_t SystemClock::MonotonicMillis() const {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

std::string_view SessionEventName(SessionEventKind kind) {
  switch (kind) {
    case SessionEventKind::kNone: return "none";
    case SessionEventKind::kHandshakeDone: return "handshake_done";
    case SessionEventKind::kRequest: return "request";
    case SessionEventKind::kData: return "data";
    case SessionEventKind::kTargetConnected: return "target_connected";
    case SessionEventKind::kPeerClosed: return "peer_closed";
    case SessionEventKind::kReplayQuery: return "replay_query";
    case SessionEventKind::kFallback: return "fallback";
    case SessionEventKind::kError: return "error";
  }
  return "unknown";
}

}  // namespace reflex
