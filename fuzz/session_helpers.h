// Shared by the session targets: a session fed the way a proxy feeds it (a
// receive buffer, events taken until it needs more), with the invariants
// every session must keep checked on every call:
//  - a Fallback event carries exactly every byte consumed so far;
//  - nothing is consumed beyond what was given; no event after a final one
//    (every later call is refused and writes nothing);
//  - data is delivered only in kRequest and kData events;
//  - a server asks a shared replay store (kReplayQuery) only when it has
//    one, about a 32-byte key, and the verdict (the record's) leads to a
//    handshake or a fallback like any other decision.
#ifndef REFLEX_FUZZ_SESSION_HELPERS_H_
#define REFLEX_FUZZ_SESSION_HELPERS_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "fuzz/fuzz_check.h"
#include "fuzz/fuzz_input.h"
#include "reflex/client_session.h"
#include "reflex/server_session.h"
#include "reflex/testing/session_test_util.h"

namespace reflex::fuzz {

using Bytes = std::vector<uint8_t>;

struct SessionRecord {
  Bytes consumed;   // every byte the session consumed, in order
  Bytes delivered;  // request data and data, in order
  std::vector<SessionEventKind> events;
  bool finished = false;
  bool handshake_done = false;
  Bytes receive_buffer;
  // The shared replay store's answer to every query (none: the session
  // has no shared store and must not ask).
  std::optional<ReplayVerdict> replay_verdict;
};

// A server session's query answered with the record's verdict: the event
// that follows (a client session never asks).
template <class Session>
SessionEvent AnswerReplayQuery(Session& s, const SessionEvent& query, SessionRecord& r) {
  FUZZ_CHECK(r.replay_verdict.has_value(), "a replay query without a shared store");
  FUZZ_CHECK(query.replay_key.size() == kPublicKeyBytes && query.replay_ttl_ms >= 1000,
             "a query names a key and how long to keep it");
  SessionEvent e;
  if constexpr (requires { s.OnReplayVerdict(ReplayVerdict::kFresh, &e); }) {
    Bytes probe = {1, 2, 3};
    size_t used = 12345;
    FUZZ_CHECK(s.Receive(probe, &used, &e) == Error::kInvalidArgument && used == 12345,
               "nothing is read while a verdict is pending");
    FUZZ_CHECK(s.OnReplayVerdict(*r.replay_verdict, &e) == Error::kOk, "the verdict is taken");
    FUZZ_CHECK(e.kind == SessionEventKind::kHandshakeDone || e.kind == SessionEventKind::kFallback,
               "a verdict ends in a handshake or a fallback");
  } else {
    FUZZ_CHECK(false, "a client session asked a replay store");
  }
  return e;
}

template <class Session>
void FeedChecked(Session& s, std::span<const uint8_t> chunk, SessionRecord& r) {
  if (r.finished) {
    Bytes copy(chunk.begin(), chunk.end());
    size_t used = 12345;
    SessionEvent e;
    FUZZ_CHECK(s.Receive(copy, &used, &e) == Error::kInvalidArgument, "a finished session took input");
    FUZZ_CHECK(used == 12345 && e.kind == SessionEventKind::kNone, "a finished session wrote");
    return;
  }
  r.receive_buffer.insert(r.receive_buffer.end(), chunk.begin(), chunk.end());
  size_t at = 0;
  for (int guard = 0; guard < 100000; ++guard) {
    std::span<uint8_t> rest = std::span<uint8_t>(r.receive_buffer).subspan(at);
    const Bytes before(rest.begin(), rest.end());
    size_t used = 0;
    SessionEvent e;
    FUZZ_CHECK(s.Receive(rest, &used, &e) == Error::kOk, "a live session refused input");
    FUZZ_CHECK(used <= rest.size(), "consumed more than given");
    r.consumed.insert(r.consumed.end(), before.begin(), before.begin() + static_cast<ptrdiff_t>(used));
    at += used;
    if (e.kind == SessionEventKind::kReplayQuery) {
      r.events.push_back(e.kind);
      e = AnswerReplayQuery(s, e, r);
    }
    if (e.kind != SessionEventKind::kNone) r.events.push_back(e.kind);
    switch (e.kind) {
      case SessionEventKind::kFallback:
        FUZZ_CHECK(Bytes(e.fallback_bytes.begin(), e.fallback_bytes.end()) == r.consumed,
                   "the fallback did not get exactly every byte consumed");
        FUZZ_CHECK(!r.handshake_done, "a fallback after the handshake");
        r.finished = true;
        break;
      case SessionEventKind::kError:
        r.finished = true;
        break;
      case SessionEventKind::kHandshakeDone:
        FUZZ_CHECK(!r.handshake_done, "two handshakes");
        r.handshake_done = true;
        break;
      case SessionEventKind::kRequest:
      case SessionEventKind::kData:
        FUZZ_CHECK(r.handshake_done, "data before the handshake");
        r.delivered.insert(r.delivered.end(), e.data.begin(), e.data.end());
        break;
      default:
        break;
    }
    if (r.finished) break;
    if (e.kind == SessionEventKind::kNone && used == 0) break;
  }
  r.receive_buffer.erase(r.receive_buffer.begin(),
                         r.receive_buffer.begin() + static_cast<ptrdiff_t>(at));
}

// Fuzzer-chosen edits of a byte stream: flip, cut, insert, or none.
inline void Mutate(FuzzInput& in, Bytes& stream) {
  const int edits = in.U8() % 4;
  for (int i = 0; i < edits; ++i) {
    const uint8_t kind = in.U8() % 3;
    const size_t at = stream.empty() ? 0 : in.U16() % stream.size();
    const uint8_t value = in.U8();
    if (kind == 0 && !stream.empty()) stream[at] ^= value | 1;
    if (kind == 1) stream.resize(at);
    if (kind == 2) stream.insert(stream.begin() + static_cast<ptrdiff_t>(at), value);
  }
}

// A first-flight shape (SPEC 11.8) picked by `selector`: raw, http or tls.
inline FirstFlight FuzzFirstFlight(uint8_t selector) {
  switch (selector % 3) {
    case 1: return {FirstFlightShape::kHttp, "fuzz.example", "/f/"};
    case 2: return {FirstFlightShape::kTls, "fuzz.example", "/"};
    default: return {};
  }
}

inline std::unique_ptr<ServerContext> FuzzServerContext(bool v1, bool v2, AeadBackend backend,
                                                        const FirstFlight& first_flight = {},
                                                        bool shared_replay_check = false) {
  ServerConfig config;
  config.shared_replay_check = shared_replay_check;
  config.first_flight = first_flight;
  config.profiles.clear();
  if (v1) config.profiles.push_back(Profile::kV1Compat);
  if (v2 || !v1) config.profiles.push_back(Profile::kV2);
  config.users = {testing::TestUser(1), testing::TestUser(2)};
  config.backend = backend;
  config.hello_wait_ms = 2000;
  config.replay_capacity = 64;
  std::unique_ptr<ServerContext> context;
  FUZZ_CHECK(ServerContext::Create(config, &context) == Error::kOk, "server context");
  return context;
}

}  // namespace reflex::fuzz

#endif  // REFLEX_FUZZ_SESSION_HELPERS_H_
