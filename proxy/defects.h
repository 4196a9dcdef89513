// Deliberate defects, for proving that `reflex probe` can fail: each one
// is compiled in only when its macro is defined, which only the test-only
// binaries //proxy:reflex_with_<defect> do (never //proxy:reflex). Each is
// a flaw a real implementation had or could easily have:
//   REFLEX_DEFECT_LOST_FALLBACK_BYTES: the fallback does not get the bytes
//     the session consumed (the Go original's flaw 9);
//   REFLEX_DEFECT_ACCEPT_REPLAY: a replay filter per connection instead of
//     per server, so a replayed hello is accepted;
//   REFLEX_DEFECT_FORWARD_AFTER_FAILURE: after a frame fails to open, the
//     bytes still buffered are passed to the target anyway;
//   REFLEX_DEFECT_HALF_OPEN_ENDING: when the fallback closes entirely after
//     its FIN, the client's connection is not reset with it: the client's
//     next writes are still accepted (and relayed into the reset);
//   REFLEX_DEFECT_WAIT_FOR_WHOLE_HELLO: a first read shorter than a hello
//     waits for more (until the hello wait passes), as the server did
//     before it judged the first flight;
//   REFLEX_DEFECT_UDP_TRUNCATE_OVERSIZE: a datagram too large for a frame
//     is cut to fit instead of dropped (a partial datagram that looks
//     whole, SPEC.md 15.2).
//
// The handlers take the replay defect as a hook in their environment
// (ServerEnv::per_connection_context), set by main.cc; the others are
// one-line `if constexpr` branches at the place the flaw would be.
#ifndef REFLEX_PROXY_DEFECTS_H_
#define REFLEX_PROXY_DEFECTS_H_

#include <memory>

#include "reflex/server_session.h"

namespace reflex::proxy {

#ifdef REFLEX_DEFECT_LOST_FALLBACK_BYTES
inline constexpr bool kDefectLostFallbackBytes = true;
#else
inline constexpr bool kDefectLostFallbackBytes = false;
#endif

#ifdef REFLEX_DEFECT_ACCEPT_REPLAY
inline constexpr bool kDefectAcceptReplay = true;
#else
inline constexpr bool kDefectAcceptReplay = false;
#endif

// REFLEX_DEFECT_ACCEPT_REPLAY's hook: a context (and so a replay filter)
// of the connection's own.
inline std::unique_ptr<ServerContext> ContextOfItsOwn(const ServerContext& shared) {
  ServerConfig config = shared.config();
  config.replay_capacity = 16;
  std::unique_ptr<ServerContext> own;
  (void)ServerContext::Create(config, &own);
  return own;
}

#ifdef REFLEX_DEFECT_FORWARD_AFTER_FAILURE
inline constexpr bool kDefectForwardAfterFailure = true;
#else
inline constexpr bool kDefectForwardAfterFailure = false;
#endif

#ifdef REFLEX_DEFECT_WAIT_FOR_WHOLE_HELLO
inline constexpr bool kDefectWaitForWholeHello = true;
#else
inline constexpr bool kDefectWaitForWholeHello = false;
#endif

#ifdef REFLEX_DEFECT_UDP_TRUNCATE_OVERSIZE
inline constexpr bool kDefectUdpTruncateOversize = true;
#else
inline constexpr bool kDefectUdpTruncateOversize = false;
#endif

#ifdef REFLEX_DEFECT_HALF_OPEN_ENDING
inline constexpr bool kDefectHalfOpenEnding = true;
#else
inline constexpr bool kDefectHalfOpenEnding = false;
#endif

}  // namespace reflex::proxy

#endif  // REFLEX_PROXY_DEFECTS_H_
