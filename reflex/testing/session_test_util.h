// Shared by the session tests, fuzzers and properties: a clock the test
// sets, a seeded random source, and a client and a server wired back to
// back through byte queues that the test (or fuzzer) chunks as it likes.
#ifndef REFLEX_SESSION_TEST_UTIL_H_
#define REFLEX_SESSION_TEST_UTIL_H_

#include <sodium.h>

#include <cstdint>
#include <cstring>
#include <memory>
#include <vector>

#include "reflex/client_session.h"
#include "reflex/random.h"
#include "reflex/server_session.h"
#include "reflex/session_types.h"

namespace reflex::testing {

class FakeClock final : public Clock {
 public:
  explicit FakeClock(int64_t unix_seconds = 1700000000, int64_t monotonic_ms = 1000)
      : unix_(unix_seconds), mono_(monotonic_ms) {}
  int64_t UnixSeconds() const override { return unix_; }
  int64_t MonotonicMillis() const override { return mono_; }
  void Advance(int64_t ms) {
    mono_ += ms;
    unix_ = unix_ + (mono_ / 1000 - (mono_ - ms) / 1000);
  }
  void SetUnix(int64_t s) { unix_ = s; }

 private:
  int64_t unix_;
  int64_t mono_;
};

// A deterministic stream: ChaCha20 under a key made from the seed.
class SeededRandom final : public RandomSource {
 public:
  explicit SeededRandom(uint64_t seed) {
    key_.fill(0);
    std::memcpy(key_.data(), &seed, sizeof(seed));
  }
  void Fill(std::span<uint8_t> out) override {
    static const uint8_t nonce[12] = {};
    std::memset(out.data(), 0, out.size());
    crypto_stream_chacha20_ietf_xor_ic(out.data(), out.data(), out.size(), nonce, block_, key_.data());
    block_ += static_cast<uint32_t>((out.size() + 63) / 64);
  }

 private:
  std::array<uint8_t, 32> key_;
  uint32_t block_ = 0;
};

inline UserId TestUser(uint8_t n) {
  UserId id;
  for (size_t i = 0; i < id.size(); ++i) id[i] = static_cast<uint8_t>(n * 17 + i);
  return id;
}

using Bytes = std::vector<uint8_t>;

// Everything one side delivered to its application.
struct Delivered {
  std::vector<SessionEventKind> events;
  Bytes data;
  bool got_request = false;
  RequestHeader request;
  bool peer_closed = false;
  Error error = Error::kOk;
  Bytes fallback;  // server: bytes handed to the fallback, in order
  Error fallback_reason = Error::kOk;
};

// Feeds bytes to a session the way a proxy does: appended to a receive
// buffer, events taken until the session needs more, consumed bytes
// dropped. Returns false once the session finished.
template <class Session>
bool Feed(Session& s, Bytes& buffer, std::span<const uint8_t> bytes, Delivered* out) {
  buffer.insert(buffer.end(), bytes.begin(), bytes.end());
  size_t at = 0;
  while (true) {
    size_t used = 0;
    SessionEvent e;
    if (s.Receive(std::span<uint8_t>(buffer).subspan(at), &used, &e) != Error::kOk) {
      buffer.erase(buffer.begin(), buffer.begin() + static_cast<ptrdiff_t>(at));
      return false;
    }
    at += used;
    if (e.kind == SessionEventKind::kNone) {
      if (used == 0) break;
      continue;
    }
    out->events.push_back(e.kind);
    switch (e.kind) {
      case SessionEventKind::kRequest:
        out->got_request = true;
        out->request = e.request;
        out->data.insert(out->data.end(), e.data.begin(), e.data.end());
        break;
      case SessionEventKind::kData:
        out->data.insert(out->data.end(), e.data.begin(), e.data.end());
        break;
      case SessionEventKind::kPeerClosed:
        out->peer_closed = true;
        break;
      case SessionEventKind::kError:
        out->error = e.reason;
        break;
      case SessionEventKind::kFallback:
        out->fallback.assign(e.fallback_bytes.begin(), e.fallback_bytes.end());
        out->fallback.insert(out->fallback.end(), buffer.begin() + static_cast<ptrdiff_t>(at),
                             buffer.end());
        out->fallback_reason = e.reason;
        buffer.clear();
        return false;
      default:
        break;
    }
    if (e.kind == SessionEventKind::kError) break;
  }
  buffer.erase(buffer.begin(), buffer.begin() + static_cast<ptrdiff_t>(at));
  return true;
}

}  // namespace reflex::testing

#endif  // REFLEX_SESSION_TEST_UTIL_H_
