// ServerSession: the Reflex server (inbound) side of one connection,
// sans-IO. The caller feeds the bytes it receives and gets events; it sends
// PendingOutput() (the server hello) and the frames it seals. Clock and
// randomness are injected. Everything that is not a valid hello of an
// accepted profile becomes a Fallback event carrying every byte consumed,
// so the fallback sees the untouched stream.
//
//   ServerSession s(context, clock, random);
//   loop: s.Receive(buffered, &used, &event); buffered = buffered.subspan(used);
//         kHandshakeDone -> send s.PendingOutput(), then s.ConsumeOutput(n)
//         kRequest       -> connect to event.request, forward event.data
//         kData          -> forward event.data
//         kPeerClosed    -> half-close towards the target
//         kFallback      -> fallback gets event.fallback_bytes, then buffered
//         kReplayQuery   -> (shared_replay_check only) ask the shared store
//                           about event.replay_key, then
//                           s.OnReplayVerdict(verdict, &event): kHandshakeDone
//                           or kFallback
//         kError         -> close
//   after the connection's first read: s.OnFirstFlightEnd(&event) (maybe kFallback)
//   when s.hello_deadline_ms() passes: s.OnTimer(&event) (maybe kFallback)
//
// After a kFallback or kError event the session is finished: every later
// call returns invalid_argument and reports nothing.
#ifndef REFLEX_SERVER_SESSION_H_
#define REFLEX_SERVER_SESSION_H_

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <vector>

#include "reflex/aead.h"
#include "reflex/error.h"
#include "reflex/first_flight.h"
#include "reflex/frame_channel.h"
#include "reflex/hello.h"
#include "reflex/hello_v2.h"
#include "reflex/noise.h"
#include "reflex/random.h"
#include "reflex/replay_filter.h"
#include "reflex/secret.h"
#include "reflex/session_types.h"

namespace reflex {

struct ServerConfig {
  std::vector<Profile> profiles = {Profile::kV2};  // v1-compat is opt-in
  std::vector<UserId> users;
  int64_t timestamp_window_seconds = 120;
  // How long a connection may take to deliver its hello before what it sent
  // goes to the fallback.
  int64_t hello_wait_ms = 10000;
  // Hand a short input to the fallback at once when it is recognizably a
  // complete request of another protocol (an HTTP request head ending in an
  // empty line, or a whole TLS record), as a web server would answer it at
  // once. A genuine hello never looks like either in practice (2^-32).
  bool early_fallback = true;
  size_t replay_capacity = 131072;
  AeadBackend backend = DefaultAeadBackend();
  // v2's first flight on the wire (SPEC 11.8): a v2 hello in another shape
  // is refused (bad_shape). v1-compat hellos are never shaped.
  FirstFlight first_flight;
  // Several servers share one replay filter (SPEC 12.4): a hello that
  // passes every local check, the local filter included, waits for the
  // shared store's verdict (a kReplayQuery event, then OnReplayVerdict)
  // before any key is drawn or X25519 computed.
  bool shared_replay_check = false;
};

// What the shared replay store said about a hello (ServerSession::OnReplayVerdict).
enum class ReplayVerdict : uint8_t {
  kFresh,        // first seen anywhere: remembered by the store now
  kSeen,         // another server (or this one) accepted it already
  kUnavailable,  // no answer, and hellos are refused without one
};

// What every session of one server shares: the configuration, each user's
// v2 handshake state prepared up to the client's ephemeral key (the psk
// token done), and the replay filter. Thread-safe to share.
class ServerContext {
 public:
  // invalid_argument: no profile, no user, a duplicate user, a window or
  // wait below 1; crypto_init_failed.
  static Error Create(const ServerConfig& config, std::unique_ptr<ServerContext>* out);
  // A context for a new configuration (users added or removed) that keeps
  // `previous`'s replay filter, so a hello accepted before the change
  // cannot be replayed after it. The filter's capacity and window stay
  // `previous`'s; `config`'s window must equal it (invalid_argument).
  static Error CreateReplacing(const ServerConfig& config, const ServerContext& previous,
                               std::unique_ptr<ServerContext>* out);
  // Wipes the users' ids (a reload drops contexts while the server runs).
  ~ServerContext();
  ServerContext(const ServerContext&) = delete;
  ServerContext& operator=(const ServerContext&) = delete;

  const ServerConfig& config() const { return config_; }
  bool accepts(Profile p) const;
  ReplayFilter& replay_filter() const { return *replay_filter_; }
  size_t user_count() const { return config_.users.size(); }
  // The index of the v1 user with this id, if one is configured.
  std::optional<size_t> FindUser(const UserId& id) const;
  std::span<const noise::HandshakeState> prepared_v2() const { return prepared_v2_; }
  // The tls shape's filler key of user `i` (SPEC 11.8), made at start;
  // past the last user, a key of no user's, so that a flight no user made
  // costs the same HMAC.
  std::span<const uint8_t, kTlsFillerKeyBytes> tls_filler_key(size_t i) const {
    return tls_filler_keys_[std::min(i, tls_filler_keys_.size() - 1)].span();
  }

 private:
  explicit ServerContext(const ServerConfig& config);
  ServerConfig config_;
  std::vector<noise::HandshakeState> prepared_v2_;
  std::vector<Secret<kTlsFillerKeyBytes>> tls_filler_keys_;  // one per user, then one of no user's
  std::shared_ptr<ReplayFilter> replay_filter_;  // shared with replacements
};

class ServerSession {
 public:
  // The hello wait starts now (clock.MonotonicMillis()).
  ServerSession(const ServerContext& context, const Clock& clock, RandomSource& random);
  ~ServerSession();
  ServerSession(const ServerSession&) = delete;
  ServerSession& operator=(const ServerSession&) = delete;

  // Feeds received bytes (decrypted in place once the session speaks
  // frames; keep a receive buffer of at least kMaxFrameBytes). Consumes
  // what it used (*consumed) and reports at most one event. ok, or
  // invalid_argument once finished or while a replay verdict is pending
  // (nothing written then).
  Error Receive(std::span<uint8_t> input, size_t* consumed, SessionEvent* event);
  // Call when hello_deadline_ms() has passed: a session still waiting for
  // its hello falls back (reason handshake_timeout); otherwise kNone.
  Error OnTimer(SessionEvent* event);
  int64_t hello_deadline_ms() const { return deadline_ms_; }
  // The client's end of stream: a session still waiting for its hello
  // falls back (reason too_short) with what it holds; otherwise kNone.
  Error OnEndOfInput(SessionEvent* event);
  // The bytes fed so far are the client's whole first flight (its first
  // read, SPEC 12.1): a session holding some bytes but fewer than a hello
  // falls back (reason too_short) with them, since a genuine client sends
  // its hello in one write; otherwise (nothing held, or decided) kNone.
  Error OnFirstFlightEnd(SessionEvent* event);
  // The shared store's answer to the kReplayQuery event: kFresh completes
  // the handshake (kHandshakeDone, or kFallback if the client's key is of
  // small order); kSeen falls back (replayed_hello); kUnavailable falls back
  // (replay_store_unavailable). invalid_argument when no query is pending.
  Error OnReplayVerdict(ReplayVerdict verdict, SessionEvent* event);
  bool awaiting_replay_verdict() const { return state_ == State::kAwaitingVerdict; }

  // The server hello to send, once the handshake is done; then frames.
  std::span<const uint8_t> PendingOutput() const;
  void ConsumeOutput(size_t n);

  // Sending once established (FrameChannel); invalid_argument before.
  Error Seal(FrameType type, std::span<const uint8_t> payload, std::span<uint8_t> out,
             size_t* written);
  Error SealClose(std::span<uint8_t> out, size_t* written, uint8_t code = 0);
  // The outcome of connecting to the request's target (SPEC.md 13.4).
  Error SealConnectResult(uint8_t code, std::span<uint8_t> out, size_t* written);
  Error SealShaped(Shaper& shaper, std::span<const uint8_t> data, std::span<uint8_t> out,
                   ShapedOutput* result);

  bool established() const { return channel_.has_value(); }
  bool finished() const { return state_ == State::kFinished; }
  Profile profile() const { return profile_; }
  size_t user_index() const { return user_index_; }

 private:
  enum class State : uint8_t { kHello, kAwaitingVerdict, kEstablished, kFinished };

  void Fallback(Error reason, SessionEvent* event);
  // How many bytes the hello held so far must reach to be decided: a v1
  // hello's 76 while the magic is still possible, else v2's shaped size.
  size_t HelloBytesNeeded() const;
  // Decides about the hello held: accept (kHandshakeDone), fall back, or
  // ask the shared store (kReplayQuery).
  void DecideHello(SessionEvent* event);
  // Every check up to and including the local replay filter; the hello
  // passing them is kept in pending_v1_ / pending_v2_.
  Error VerifyV1();
  Error VerifyV2();
  // The server's key pair, the key schedule and the server hello.
  Error CompleteV1(size_t* user);
  Error CompleteV2(size_t* user);
  void Complete(SessionEvent* event);
  void DropPending();
  // The replay key's remaining life: until `timestamp + window` has passed.
  int64_t ReplayTtlMillis(int64_t timestamp) const;
  bool LooksLikeAnotherProtocol() const;
  bool MagicStillPossible() const;

  const ServerContext* context_;
  const Clock* clock_;
  RandomSource* random_;
  State state_ = State::kHello;
  int64_t deadline_ms_;
  std::array<uint8_t, kMaxFirstFlightBytes> hello_{};
  size_t hello_have_ = 0;
  std::array<uint8_t, kServerHelloBytesV2> output_{};
  size_t output_size_ = 0;
  size_t output_sent_ = 0;
  Profile profile_ = Profile::kV2;
  size_t user_index_ = 0;
  std::optional<FrameChannel> channel_;
  // A hello that passed the checks, until completed (or refused).
  std::optional<ClientHello> pending_v1_;
  std::optional<ClientHelloV2> pending_v2_;
  int64_t pending_ttl_ms_ = 0;
};

}  // namespace reflex

#endif  // REFLEX_SERVER_SESSION_H_
