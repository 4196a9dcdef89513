// The server (inbound) side of one connection, on any stream type
// (stream.h), as named phases. Each phase is a member coroutine that does
// one job and returns the next phase; Run() dispatches them:
//
//   AwaitFirstFlight ──► ReadHello ──► ReplyHello ──► ReadRequest ──► DialTarget ──► Relay
//          │                 │                          │  │               │
//          ▼                 ▼                          │  ▼               │
//          └──────────► Fallback                        │ Refuse ◄─────────┤
//                                                       ▼                  │
//                                              OpenAssociation ──► RelayDatagrams
//
// Every phase may also end the connection (kEnd) after recording why.
// However it ends, Run() closes both streams, stops the watchdog and
// writes the one log line.
#ifndef REFLEX_PROXY_SERVER_HANDLER_H_
#define REFLEX_PROXY_SERVER_HANDLER_H_

#include <algorithm>
#include <sodium.h>

#include <chrono>
#include <cstring>
#include <memory>
#include <optional>
#include <string>

#include "proxy/asio_config.h"
#include "proxy/close_reason.h"
#include "proxy/connection_state.h"
#include "proxy/datagram_relay.h"
#include "proxy/datagram_socket.h"
#include "proxy/defects.h"
#include "proxy/env.h"
#include "proxy/input_buffer.h"
#include "proxy/log.h"
#include "proxy/relay.h"
#include "proxy/stream.h"
#include "proxy/udp_association.h"
#include "proxy/watchdog.h"
#include "reflex/datagram.h"
#include "reflex/server_session.h"

namespace reflex::proxy {

enum class ServerPhase : uint8_t {
  kAwaitFirstFlight,  // nothing arrived yet: the fallback is dialed now
  kReadHello,    // read until the session accepts a hello or falls back
  kReplyHello,   // send the server hello; room for the request frame
  kReadRequest,  // read until the request frame is open
  kDialTarget,   // connect to the request's target; the connect result
  kOpenAssociation,  // (UDP) the association's socket; the connect result
  kRelayDatagrams,   // (UDP) datagrams both ways, until CLOSE or idle
  kRefuse,       // CLOSE carrying a SOCKS5 code, then drain the client
  kFallback,     // every byte received to the fallback, then a splice
  kRelay,        // the tunnel, both ways
  kEnd,
};

template <class Stream, class Dialer>
class ServerConnection {
 public:
  ServerConnection(Stream client, ServerEnv& env, Dialer& dialer, ServerConnectionState& state)
      : env_(env),
        dialer_(dialer),
        rec_(state.record),
        // The generation before the context: a reload between the two
        // makes a later look at the users (ReadHello), never skips it.
        start_generation_(env.live != nullptr ? env.live->generation() : 0),
        held_context_(env.live != nullptr ? env.live->Current() : nullptr),
        own_context_(env.per_connection_context
                         ? env.per_connection_context(held_context_ ? *held_context_ : *env.context)
                         : nullptr),
        context_(own_context_ ? *own_context_ : held_context_ ? *held_context_ : *env.context),
        session_slot_(state.session),
        session_(state.session.emplace(context_, *env.clock, *env.random)),
        client_(std::move(client)),
        watchdog_(*env.sweeper, [this] { OnWatchdog(); }) {
    rec_.start = std::chrono::steady_clock::now();
    // Only for the log line (a system call and a hash per connection).
    if (LogEnabled(LogLevel::kInfo)) rec_.peer = LoggedPeer(client_.PeerName());
    watchdog_.Start(Watchdog::Clock::now() + std::chrono::milliseconds(context_.config().hello_wait_ms),
                    env.timeouts.idle);
  }
  ServerConnection(const ServerConnection&) = delete;
  ServerConnection& operator=(const ServerConnection&) = delete;
  // The session goes before a context of the connection's own that it
  // points at.
  ~ServerConnection() {
    session_slot_.reset();
    sodium_memzero(user_id_.data(), user_id_.size());
  }

  // The dispatcher, and the one way out: phases end the connection by
  // returning kEnd (a phase resets a stream first only where a clean end
  // would mislead the peer), and the streams are closed here.
  awaitable<void> Run() {
    ServerPhase phase = ServerPhase::kAwaitFirstFlight;
    while (phase != ServerPhase::kEnd) phase = co_await Step(phase);
    client_.Close();
    DropUnusedEarlyFallback();
    if (upstream_) upstream_->Close();
    watchdog_.Stop();
    if (tunnel_open_) {
      user_->tunnels_open.fetch_sub(1, std::memory_order_relaxed);
      user_->bytes_up.fetch_add(rec_.up, std::memory_order_relaxed);
      user_->bytes_down.fetch_add(rec_.down, std::memory_order_relaxed);
    }
    if (udp_) udp_->Close();
    if (association_open_) {
      user_->udp_associations_open.fetch_sub(1, std::memory_order_relaxed);
      user_->bytes_up.fetch_add(rec_.up, std::memory_order_relaxed);
      user_->bytes_down.fetch_add(rec_.down, std::memory_order_relaxed);
      env_.stats->udp.open.fetch_sub(1, std::memory_order_relaxed);
    }
    env_.stats->ConnectionClosed(rec_.reason);
    rec_.LogLine("server");
  }

  // One phase (public so that a test can drive the phases one by one).
  awaitable<ServerPhase> Step(ServerPhase phase) {
    switch (phase) {
      case ServerPhase::kAwaitFirstFlight: co_return co_await AwaitFirstFlight();
      case ServerPhase::kReadHello: co_return co_await ReadHello();
      case ServerPhase::kReplyHello: co_return co_await ReplyHello();
      case ServerPhase::kReadRequest: co_return co_await ReadRequest();
      case ServerPhase::kDialTarget: co_return co_await DialTarget();
      case ServerPhase::kOpenAssociation: co_return co_await OpenAssociation();
      case ServerPhase::kRelayDatagrams: co_return co_await RelayDatagrams();
      case ServerPhase::kRefuse: co_return co_await Refuse();
      case ServerPhase::kFallback: co_return co_await Fallback();
      case ServerPhase::kRelay: co_return co_await Relay();
      case ServerPhase::kEnd: break;
    }
    co_return ServerPhase::kEnd;
  }

 private:
  ServerPhase End(CloseReason reason, std::string_view detail = {}) {
    rec_.Close(reason, detail);
    return ServerPhase::kEnd;
  }

  // The watchdog's deadline, idle limit or revocation (the user removed,
  // the server shutting down). An association is ended with a CLOSE first
  // (SPEC.md 15.3, 15.4): only its socket is cancelled, so the seal pump
  // sends CLOSE, and the client has kAssociationCloseWait to answer it
  // before the second expiry cancels everything.
  void OnWatchdog() {
    if (destinations_ && !ended_by_watchdog_) {
      ended_by_watchdog_ = true;
      watchdog_reason_ = Draining() ? "shutdown" : watchdog_.revoked() ? "revoked" : watchdog_.reason();
      destinations_->End();
      watchdog_.SetRevocation(nullptr);  // else it expires again at the next sweep
      // The wait is the deadline alone: a quiet client is not cut short by
      // the idle limit.
      watchdog_.Rearm(Watchdog::Clock::now() + kAssociationCloseWait, Watchdog::Clock::duration::max());
      return;
    }
    client_.Cancel();
    if (upstream_) upstream_->Cancel();
  }

  // A connection that has sent nothing yet may be a prober's silence: the
  // fallback is dialed now, so that its own timers run from the moment they
  // would directly and whatever it does first (a banner, its timeout's
  // FIN or reset) reaches the client as it would directly (SPEC 12.1).
  // Whichever moves first decides: the client's first bytes are judged as
  // usual (the fallback connection is kept in case they are not a hello);
  // the fallback's first move makes this a fallback connection. Bytes that
  // are already there skip this: a genuine client's hello usually is, and
  // costs no fallback connection then.
  awaitable<ServerPhase> AwaitFirstFlight() {
    if (env_.fallback_dial != FallbackDial::kEarly || client_.HasInput()) co_return ServerPhase::kReadHello;
    if (env_.fallback_dial_grace.count() > 0 && co_await ClientSpeaksWithin(env_.fallback_dial_grace)) {
      co_return ServerPhase::kReadHello;
    }
    bool client_moved = false;
    bool fallback_moved = false;
    auto watch_client = [this, &client_moved]() -> awaitable<void> {
      if (co_await client_.WaitReadable()) co_return;
      client_moved = true;
      watchdog_.CancelConnect();
      if (upstream_) upstream_->Cancel();
    };
    auto watch_fallback = [this, &client_moved, &fallback_moved]() -> awaitable<void> {
      auto [ec, fallback] = co_await dialer_.Connect(env_.fallback, watchdog_);
      // Unreachable: the client's bytes, if any come, find it so again.
      if (ec) co_return;
      env_.stats->early_fallback_dials.fetch_add(1, std::memory_order_relaxed);
      upstream_.emplace(std::move(fallback));
      early_unused_ = true;
      if (client_moved || watchdog_.expired()) co_return;
      const std::error_code wait = co_await upstream_->WaitReadable();
      if (wait) co_return;
      fallback_moved = true;
      client_.Cancel();
    };
    {
      using namespace asio::experimental::awaitable_operators;
      co_await (watch_client() && watch_fallback());
    }
    // The hello wait passed, whatever else moved in that turn: what arrives
    // from now on is the fallback's (HelloWaitPassed clears both streams'
    // cancels and watches the connection again).
    if (watchdog_.expired()) {
      const std::optional<SessionEvent> e = co_await HelloWaitPassed();
      if (!e) co_return ServerPhase::kEnd;
      fallback_bytes_ = e->fallback_bytes;
      co_return ServerPhase::kFallback;
    }
    client_.ClearCancel();
    if (upstream_) upstream_->ClearCancel();
    // Both moved in one turn: the client's bytes are judged (a genuine hello
    // that raced a fallback's banner still gets in). Neither: the client's
    // wait failed, and ReadHello finds why.
    co_return fallback_moved && !client_moved ? ServerPhase::kFallback : ServerPhase::kReadHello;
  }

  // Whether the client's first bytes come within `grace` (SPEC 12.1's grace
  // before an early dial). A prober that stays silent sees the fallback's
  // timers run from at most `grace` after the moment they would directly.
  awaitable<bool> ClientSpeaksWithin(std::chrono::milliseconds grace) {
    asio::steady_timer timer(co_await asio::this_coro::executor);
    timer.expires_after(grace);
    // A timer that expired as the bytes came has its handler queued already
    // (cancel() cannot take it back): grace_pending_ keeps it from
    // cancelling the client after the wait. An aborted handler touches
    // nothing.
    grace_pending_ = true;
    timer.async_wait([this](std::error_code ec) {
      if (!ec && grace_pending_) client_.Cancel();
    });
    const std::error_code ec = co_await client_.WaitReadable();
    grace_pending_ = false;
    timer.cancel();
    // The hello wait passing cancels the client too: that cancel stands.
    if (watchdog_.expired()) co_return false;
    client_.ClearCancel();
    co_return !ec;
  }

  // Until the session accepts a hello (or decides it is not one).
  awaitable<ServerPhase> ReadHello() {
    std::optional<SessionEvent> e = co_await NextEvent();
    if (!e) co_return ServerPhase::kEnd;
    if (e->kind == SessionEventKind::kReplayQuery) e = co_await AskReplayStore(*e);
    if (e->kind == SessionEventKind::kFallback) {
      fallback_bytes_ = e->fallback_bytes;
      co_return ServerPhase::kFallback;
    }
    if (e->kind != SessionEventKind::kHandshakeDone) co_return EndOnEvent(*e);
    DropUnusedEarlyFallback();  // dialed for a hello that came
    (e->profile == Profile::kV2 ? env_.stats->handshakes_v2 : env_.stats->handshakes_v1)
        .fetch_add(1, std::memory_order_relaxed);
    rec_.profile = ProfileName(e->profile);
    user_id_ = context_.config().users[e->user_index];
    rec_.user = ShortUserId(user_id_).data();
    user_ = &env_.stats->users.For(rec_.user.view());
    lookup_key_ = LookupKeyOf(user_id_);
    // A reload since this connection started may have removed the user:
    // no new tunnel for it (the client sees the connection end).
    seen_generation_ = start_generation_;
    if (env_.live != nullptr && UserRemoved()) co_return End(CloseReason::kUserRemoved);
    if (env_.drop_removed_users && env_.live != nullptr) {
      watchdog_.SetRevocation([this] { return UserRemoved(); });
    }
    co_return ServerPhase::kReplyHello;
  }

  // A hello every local check accepted, claimed in the replay filter
  // several servers share (SPEC 12.4): the session completes it or falls
  // back on the store's verdict. No store given (a configuration without
  // one cannot ask): unavailable.
  awaitable<SessionEvent> AskReplayStore(const SessionEvent& query) {
    // The hello is whole: the hello wait is over (the store's own timeout
    // bounds this), and a deadline passing now must not cancel the streams
    // the server hello or the fallback is about to use.
    watchdog_.SetDeadline(Watchdog::Clock::time_point::max());
    ReplayVerdict verdict = ReplayVerdict::kUnavailable;
    if (env_.replay_store != nullptr) {
      verdict = co_await env_.replay_store->Claim(query.replay_key, query.replay_ttl_ms);
    }
    if constexpr (kDefectAcceptReplay) verdict = ReplayVerdict::kFresh;
    SessionEvent e;
    if (session_.OnReplayVerdict(verdict, &e) != Error::kOk) {
      e.kind = SessionEventKind::kError;
      e.reason = Error::kInvalidArgument;
    }
    co_return e;
  }

  // The server hello; then the request frame gets its time and its room.
  awaitable<ServerPhase> ReplyHello() {
    const auto reply = session_.PendingOutput();
    if (const std::error_code ec = co_await client_.WriteAll(asio::buffer(reply.data(), reply.size()));
        ec) {
      co_return End(CloseReason::kWriteFailed, ec.message());
    }
    session_.ConsumeOutput(reply.size());
    watchdog_.SetDeadline(Watchdog::Clock::now() + env_.timeouts.handshake);
    if (in_.buffer.size() < kHandshakeBufferBytes) {
      pool::Buffer bigger = env_.pool->Get(kHandshakeBufferBytes);
      if (!bigger) {
        client_.Abort();
        co_return End(CloseReason::kOutOfMemory);
      }
      std::memcpy(bigger.data(), in_.buffer.data(), in_.have);  // offsets stay valid
      in_.buffer.set_wipe_extent(in_.dirty);
      in_.buffer = std::move(bigger);
      in_.dirty = in_.have;
    }
    co_return ServerPhase::kReadRequest;
  }

  // Until the first frame, the request, is open. CONNECT and UDP are the
  // commands; anything else is refused with the SOCKS5 code for an
  // unsupported command (SPEC.md 13.4).
  awaitable<ServerPhase> ReadRequest() {
    const std::optional<SessionEvent> e = co_await NextEvent();
    if (!e) co_return ServerPhase::kEnd;
    if (e->kind != SessionEventKind::kRequest) co_return EndOnEvent(*e);
    request_ = e->request;
    request_data_at_ = static_cast<size_t>(e->data.data() - in_.buffer.data());
    request_data_size_ = e->data.size();
    rec_.target = FormatHostPort(TargetOf(request_));
    if (request_.command == kCommandUdp) {
      rec_.target = "udp";
      co_return ServerPhase::kOpenAssociation;
    }
    if (request_.command != kCommandConnect) {
      refuse_code_ = kConnectCommandNotSupported;
      rec_.Close(CloseReason::kCommandNotSupported, std::to_string(request_.command));
      user_->refusals[static_cast<size_t>(rec_.reason)].fetch_add(1, std::memory_order_relaxed);
      co_return ServerPhase::kRefuse;
    }
    co_return ServerPhase::kDialTarget;
  }

  // The target, the connect result, and the data of the request frame.
  awaitable<ServerPhase> DialTarget() {
    watchdog_.SetDeadline(Watchdog::Clock::time_point::max());
    auto [ec, upstream] = co_await dialer_.ConnectTarget(TargetOf(request_), watchdog_, lookup_key_);
    if (watchdog_.revoked()) co_return End(CloseReason::kUserRemoved);
    if (ec) {
      env_.stats->target_failures.fetch_add(1, std::memory_order_relaxed);
      refuse_code_ = ConnectFailureCode(ec);
      if (ec == TargetNotAllowed()) {
        rec_.Close(CloseReason::kTargetNotAllowed, "egress policy");
      } else {
        rec_.Close(CloseReason::kTargetUnreachable, ec.message());
      }
      user_->refusals[static_cast<size_t>(rec_.reason)].fetch_add(1, std::memory_order_relaxed);
      co_return ServerPhase::kRefuse;
    }
    upstream_.emplace(std::move(upstream));
    tunnel_open_ = true;
    user_->tunnels_total.fetch_add(1, std::memory_order_relaxed);
    user_->tunnels_open.fetch_add(1, std::memory_order_relaxed);
    std::array<uint8_t, kFrameOverheadBytes> connected{};
    size_t connected_size = 0;
    if (session_.SealConnectResult(kConnectOk, connected, &connected_size) == Error::kOk) {
      (void)co_await client_.WriteAll(asio::buffer(connected.data(), connected_size));
    }
    env_.stats->tunnels.fetch_add(1, std::memory_order_relaxed);
    if (request_data_size_ > 0) {
      const auto data = asio::buffer(in_.buffer.data() + request_data_at_, request_data_size_);
      if (const std::error_code wec = co_await upstream_->WriteAll(data); wec) {
        co_return End(CloseReason::kTargetWriteFailed, wec.message());
      }
      rec_.up += request_data_size_;
    }
    co_return ServerPhase::kRelay;
  }

  // A UDP association (SPEC.md 15.1, 15.3): refused (02) when UDP is off
  // or the user has its cap of associations open, else its socket, the
  // connect result, and the request frame's data as its first datagram.
  awaitable<ServerPhase> OpenAssociation() {
    watchdog_.SetDeadline(Watchdog::Clock::time_point::max());
    // Counted before the check, so threads racing for the last one cannot
    // both get it.
    const bool at_cap = env_.udp.enabled && user_->udp_associations_open.fetch_add(1, std::memory_order_relaxed) >=
                                                env_.udp.associations_per_user;
    if (at_cap) user_->udp_associations_open.fetch_sub(1, std::memory_order_relaxed);
    if (!env_.udp.enabled || at_cap) {
      refuse_code_ = kConnectNotAllowed;
      rec_.Close(CloseReason::kUdpNotAllowed, env_.udp.enabled ? "associations per user" : "udp off");
      user_->refusals[static_cast<size_t>(rec_.reason)].fetch_add(1, std::memory_order_relaxed);
      co_return ServerPhase::kRefuse;
    }
    if (const std::error_code ec = OpenAssociationSocket(); ec) {
      user_->udp_associations_open.fetch_sub(1, std::memory_order_relaxed);
      refuse_code_ = kConnectGeneralFailure;
      rec_.Close(CloseReason::kUdpSocketFailed, ec.message());
      co_return ServerPhase::kRefuse;
    }
    destinations_.emplace(*udp_, dialer_, lookup_key_, udp_counts_);
    association_open_ = true;
    env_.stats->udp.associations.fetch_add(1, std::memory_order_relaxed);
    env_.stats->udp.open.fetch_add(1, std::memory_order_relaxed);
    std::array<uint8_t, kFrameOverheadBytes> connected{};
    size_t connected_size = 0;
    if (session_.SealConnectResult(kConnectOk, connected, &connected_size) != Error::kOk) {
      co_return End(CloseReason::kSessionError, "connect result");
    }
    if (const std::error_code ec = co_await client_.WriteAll(asio::buffer(connected.data(), connected_size)); ec) {
      co_return End(CloseReason::kWriteFailed, ec.message());
    }
    if (request_data_size_ > 0) {
      const std::span<uint8_t> first(in_.buffer.data() + request_data_at_, request_data_size_);
      bool needs_lookup = false;
      Error e = destinations_->Deliver(first, &needs_lookup);
      if (needs_lookup) e = co_await destinations_->DeliverAfterLookup(first);
      if (e != Error::kOk) {
        env_.stats->errors.fetch_add(1, std::memory_order_relaxed);
        client_.Abort();
        co_return End(CloseReason::kSessionError, ErrorName(e));
      }
    }
    co_return ServerPhase::kRelayDatagrams;
  }

  bool Draining() const { return env_.draining != nullptr && env_.draining->load(std::memory_order_relaxed); }

  // IPv6's wildcard carrying IPv4 too where the system has IPv6, else
  // IPv4's.
  std::error_code OpenAssociationSocket() {
    auto opened = dialer_.OpenDatagramSocket(UdpEndpoint(asio::ip::address_v6::any(), 0));
    if (opened.first) opened = dialer_.OpenDatagramSocket(UdpEndpoint(asio::ip::address_v4::any(), 0));
    if (opened.first) return opened.first;
    udp_.emplace(std::move(opened.second));
    return {};
  }

  // The association: datagrams both ways until either side's CLOSE (the
  // other answers it), idle, or a failure.
  awaitable<ServerPhase> RelayDatagrams() {
    in_.Compact();
    // (An expiry during OpenAssociation already asked for the CLOSE, and
    // its wait for the answer stands.)
    if (!ended_by_watchdog_) watchdog_.Start(Watchdog::Clock::time_point::max(), env_.udp.idle);
    if (!ended_by_watchdog_) {
      const bool watch_removal = env_.drop_removed_users && env_.live != nullptr;
      watchdog_.SetRevocation([this, watch_removal] { return Draining() || (watch_removal && UserRemoved()); });
    }
    auto [r1, r2] = co_await RunBothWays(
        client_, *destinations_,
        DatagramOpenPump(session_, client_, *destinations_, std::move(in_.buffer), in_.have, in_.dirty, env_,
                         watchdog_),
        DatagramSealPump(session_, *destinations_, client_, env_, watchdog_));
    in_.have = in_.dirty = 0;
    RecordRelayEnd(r1, r2, watchdog_, rec_);
    if (ended_by_watchdog_) {
      const std::string_view why = watchdog_reason_;
      if (why == "revoked") {
        rec_.Close(CloseReason::kUserRemoved);
      } else if (why == "shutdown") {
        if (rec_.reason == CloseReason::kDone) rec_.Close(CloseReason::kDone, why);
      } else if (rec_.reason == CloseReason::kDone) {
        rec_.Close(CloseReason::kTimeout, why);
      }
    }
    if (rec_.reason == CloseReason::kTimeout) env_.stats->timeouts.fetch_add(1, std::memory_order_relaxed);
    if (rec_.reason == CloseReason::kSessionError && r1.protocol != Error::kOk) {
      env_.stats->errors.fetch_add(1, std::memory_order_relaxed);
    }
    rec_.up = udp_counts_.up_bytes;
    rec_.down = udp_counts_.down_bytes;
    env_.stats->udp.datagrams_up.fetch_add(udp_counts_.up, std::memory_order_relaxed);
    env_.stats->udp.datagrams_down.fetch_add(udp_counts_.down, std::memory_order_relaxed);
    env_.stats->udp.dropped.fetch_add(udp_counts_.dropped, std::memory_order_relaxed);
    env_.stats->udp.system_drops.fetch_add(udp_->SystemDrops(), std::memory_order_relaxed);
    env_.stats->bytes_up.fetch_add(rec_.up, std::memory_order_relaxed);
    env_.stats->bytes_down.fetch_add(rec_.down, std::memory_order_relaxed);
    co_return ServerPhase::kEnd;
  }

  // CLOSE carrying refuse_code_, the end of the server's stream, then
  // whatever the client still sends is read and dropped until it ends (at
  // most 2 s), so closing does not reset the connection under the CLOSE
  // before the client has read it. The close reason is already recorded.
  awaitable<ServerPhase> Refuse() {
    std::array<uint8_t, kFrameOverheadBytes + 1> result{};
    size_t size = 0;
    if (session_.SealConnectResult(refuse_code_, result, &size) != Error::kOk ||
        co_await client_.WriteAll(asio::buffer(result.data(), size))) {
      co_return ServerPhase::kEnd;
    }
    client_.ShutdownSend();
    watchdog_.SetDeadline(Watchdog::Clock::now() + std::chrono::seconds(2));
    in_.dirty = in_.buffer.size();  // the drain reads into all of it
    while (true) {
      const IoResult r = co_await client_.ReadSome(in_.buffer.span());
      if (r.ec) break;
    }
    co_return ServerPhase::kEnd;
  }

  // The fallback: the bytes the session held and those it did not read,
  // in order, before anything else; then a plain splice both ways.
  awaitable<ServerPhase> Fallback() {
    env_.stats->fallbacks.fetch_add(1, std::memory_order_relaxed);
    rec_.target = "fallback " + FormatHostPort(env_.fallback);
    // The hello wait is over whatever its deadline said: a first flight
    // that came just before it must not be cut by it while the fallback is
    // dialed (the dial has its own deadline).
    watchdog_.SetDeadline(Watchdog::Clock::time_point::max());
    early_unused_ = false;
    if (!upstream_) {  // not dialed when the connection came (AwaitFirstFlight)
      auto [ec, fallback] = co_await dialer_.Connect(env_.fallback, watchdog_);
      if (ec) co_return End(CloseReason::kFallbackUnreachable, ec.message());
      upstream_.emplace(std::move(fallback));
    }
    std::span<const uint8_t> held = fallback_bytes_;
    if constexpr (kDefectLostFallbackBytes) held = {};
    const std::span<const uint8_t> rest = in_.unread();
    // Whatever else the client has sent by now goes in the same write, so
    // the fallback gets the input in the pieces it would directly (a
    // prober's 16 KiB sent at once arrives at once, not as the hello
    // buffer's 2 KiB and the rest a moment later, which a fallback that
    // closes on the first bad bytes answers differently: with a reset).
    pool::Buffer more;
    size_t more_size = 0;
    if (!in_.ended && client_.HasInput() && (more = env_.pool->Get(kLargeBufferBytes))) {
      const IoResult r = client_.TryRead(more.span());
      if (r.ec == asio::error::eof) in_.ended = true;
      if (!r.ec) more_size = r.n;
    }
    const std::array<asio::const_buffer, 3> first = {asio::buffer(held.data(), held.size()),
                                                     asio::buffer(rest.data(), rest.size()),
                                                     asio::buffer(more.data(), more_size)};
    const std::error_code wec = co_await upstream_->WriteAll(first);
    if (more) {
      more.set_wipe_extent(more_size);
      more.Reset();
    }
    if (wec) co_return End(CloseReason::kFallbackWriteFailed, wec.message());
    rec_.up += held.size() + rest.size() + more_size;
    in_.buffer.set_wipe_extent(in_.dirty);
    in_.buffer.Reset();
    in_.have = in_.at = in_.dirty = 0;
    if (in_.ended) upstream_->ShutdownSend();
    watchdog_.SetDeadline(Watchdog::Clock::time_point::max());
    // (No conditional operator between two coroutine calls here: GCC 12
    // destroys the unused branch's frame wrongly. The choice is made inside.)
    // The idle timeout after the fallback's FIN: directly, a client silent
    // after it hears nothing more (the fallback's side goes away quietly),
    // so its connection is then closed, not reset.
    auto up = [this]() -> awaitable<PumpResult> {
      if (in_.ended) co_return PumpResult{};
      PumpResult r = co_await CopyPump(client_, *upstream_, env_, watchdog_, &rec_.up);
      if (fallback_reset_) r = PumpResult{};  // ended by the reset passed on below
      if (!r.ok() && watchdog_.expired() && fallback_finished_) r = PumpResult{};
      co_return r;
    };
    // After the fallback's FIN (passed on to the client), the client's
    // connection ends as it would at the fallback directly. A fallback that
    // closed entirely answers the next bytes sent to it with a reset: the
    // client's connection is reset then too, so its next write fails as it
    // would directly. One that only shut its sending side (a lingering
    // close) keeps taking bytes, and so does this. (Left half-open, the
    // client's writes were accepted until the idle timeout: a prober's tell.)
    auto down = [this]() -> awaitable<PumpResult> {
      const PumpResult r = co_await CopyPump(*upstream_, client_, env_, watchdog_, &rec_.down);
      fallback_finished_ = r.ok();
      if constexpr (!kDefectHalfOpenEnding) {
        if (r.ok() && co_await upstream_->WaitReset()) {
          fallback_reset_ = true;
          client_.Abort();
        }
      }
      co_return r;
    };
    auto [r1, r2] = co_await RunBothWays(client_, *upstream_, up(), down());
    if (watchdog_.expired()) {
      env_.stats->timeouts.fetch_add(1, std::memory_order_relaxed);
      co_return End(CloseReason::kTimeout, watchdog_.reason());
    }
    if (r1.ok() && r2.ok()) co_return End(CloseReason::kFallbackDone);
    co_return End(CloseReason::kFallbackFailed, DescribeFailure(r1.ok() ? r2 : r1));
  }

  // The tunnel: the frames after the request's are the relay's to open.
  awaitable<ServerPhase> Relay() {
    in_.Compact();
    auto [r1, r2] = co_await RunBothWays(
        client_, *upstream_,
        OpenPump(session_, client_, *upstream_, std::move(in_.buffer), in_.have, in_.dirty, env_,
                 watchdog_, &rec_.up),
        SealPump(session_, *upstream_, client_, env_, watchdog_, &rec_.down));
    in_.have = in_.dirty = 0;
    RecordRelayEnd(r1, r2, watchdog_, rec_);
    if (watchdog_.revoked()) rec_.Close(CloseReason::kUserRemoved);
    if (rec_.reason == CloseReason::kTimeout) env_.stats->timeouts.fetch_add(1, std::memory_order_relaxed);
    // `errors` counts the client's bad bytes, not a failure to seal.
    if (rec_.reason == CloseReason::kSessionError && r1.protocol != Error::kOk) {
      env_.stats->errors.fetch_add(1, std::memory_order_relaxed);
    }
    env_.stats->bytes_up.fetch_add(rec_.up, std::memory_order_relaxed);
    env_.stats->bytes_down.fetch_add(rec_.down, std::memory_order_relaxed);
    co_return ServerPhase::kEnd;
  }

  // A fallback dialed early and never used is reset (it carried nothing and
  // leaves no TIME_WAIT behind), however the connection goes on or ends.
  void DropUnusedEarlyFallback() {
    if (!upstream_ || !early_unused_) return;
    env_.stats->early_fallbacks_unused.fetch_add(1, std::memory_order_relaxed);
    upstream_->Abort();
    upstream_.reset();
    early_unused_ = false;
  }

  // A session event that ends the handshake phases: an error, or the
  // client's CLOSE before its request.
  ServerPhase EndOnEvent(const SessionEvent& e) {
    if (e.kind == SessionEventKind::kPeerClosed) return End(CloseReason::kClosedBeforeRequest);
    env_.stats->errors.fetch_add(1, std::memory_order_relaxed);
    return End(CloseReason::kSessionError,
               ErrorName(e.kind == SessionEventKind::kError ? e.reason : Error::kInvalidArgument));
  }

  // The session's next event, reading from the client whenever it needs
  // more bytes. The client's end of stream, or the hello wait passing,
  // before the session accepted a hello is the session's to judge (it falls
  // back with what it holds); any other end of input ends the connection
  // (nullopt, the reason recorded).
  awaitable<std::optional<SessionEvent>> NextEvent() {
    while (true) {
      SessionEvent e;
      size_t used = 0;
      if (session_.Receive(in_.unread(), &used, &e) != Error::kOk) {
        e.kind = SessionEventKind::kError;
        e.reason = Error::kInvalidArgument;
        co_return e;
      }
      in_.at += used;
      if (e.kind != SessionEventKind::kNone) co_return e;
      if (used > 0) continue;
      // The first read held less than a hello: a genuine client writes its
      // hello whole, so this is not one, and the fallback gets it now, not
      // after a wait a prober could time (SPEC 12.1).
      if (session_.established()) first_flight_ = false;
      if (first_flight_ && !kDefectWaitForWholeHello) {
        first_flight_ = false;
        if (session_.OnFirstFlightEnd(&e) == Error::kOk && e.kind != SessionEventKind::kNone) co_return e;
      }
      if (in_.ended) co_return co_await EndOfInput();
      in_.Compact();
      const IoResult r = co_await ReadClient();
      if (r.ec == asio::error::eof) {
        in_.ended = true;
        continue;
      }
      if (!r.ec) {
        if (!read_any_ && r.n > 0) first_flight_ = read_any_ = true;
        continue;
      }
      if (watchdog_.expired() && !session_.established()) {
        co_return co_await HelloWaitPassed();
      }
      if (watchdog_.revoked()) {
        rec_.Close(CloseReason::kUserRemoved);
      } else if (watchdog_.expired()) {
        env_.stats->timeouts.fetch_add(1, std::memory_order_relaxed);
        rec_.Close(CloseReason::kTimeout, watchdog_.reason());
      } else if (r.ec == asio::error::no_memory) {
        rec_.Close(CloseReason::kOutOfMemory);
      } else {
        rec_.Close(CloseReason::kReadFailed, r.ec.message());
      }
      co_return std::nullopt;
    }
  }

  // One read from the client into the input, taking the buffer only once
  // the client has sent something (no_memory if the pool has none).
  awaitable<IoResult> ReadClient() {
    if (!in_.buffer) {
      if (const std::error_code ec = co_await client_.WaitReadable(); ec) co_return IoResult{ec, 0};
      in_.buffer = env_.pool->Get(kHelloBufferBytes);
      if (!in_.buffer) co_return IoResult{asio::error::no_memory, 0};
    }
    const IoResult r = co_await client_.ReadSome(in_.buffer.span().subspan(in_.have));
    in_.have += r.n;
    in_.dirty = std::max(in_.dirty, in_.have);
    if (r.n > 0) watchdog_.Touch();
    co_return r;
  }

  // The client ended its stream: before a hello, the fallback gets what it
  // sent, then the end of stream.
  awaitable<std::optional<SessionEvent>> EndOfInput() {
    SessionEvent e;
    if (!session_.established() && session_.OnEndOfInput(&e) == Error::kOk &&
        e.kind == SessionEventKind::kFallback) {
      co_return e;
    }
    rec_.Close(CloseReason::kEndedInHandshake);
    co_return std::nullopt;
  }

  // The hello wait passed: what arrived goes to the fallback, which is
  // watched from now on like any connection.
  awaitable<std::optional<SessionEvent>> HelloWaitPassed() {
    env_.stats->timeouts.fetch_add(1, std::memory_order_relaxed);
    SessionEvent e;
    if (session_.OnTimer(&e) != Error::kOk || e.kind != SessionEventKind::kFallback) {
      rec_.Close(CloseReason::kTimeout, watchdog_.reason());
      co_return std::nullopt;
    }
    client_.ClearCancel();
    if (upstream_) upstream_->ClearCancel();  // dialed when the connection came
    watchdog_.Rearm(Watchdog::Clock::time_point::max());
    co_return e;
  }

  // The user's key for the resolver's cap on lookups in flight: a hash of
  // the id (not its bytes, a secret), never the uncapped kOwnLookups.
  static uint64_t LookupKeyOf(const UserId& id) {
    uint64_t key = 0;
    crypto_generichash(reinterpret_cast<uint8_t*>(&key), sizeof key, id.data(), id.size(), nullptr, 0);
    return key | (uint64_t{1} << 63);
  }

  // Whether a reload has removed this connection's user since the last
  // look (a look at the users only when something was reloaded).
  bool UserRemoved() {
    const uint64_t generation = env_.live->generation();
    if (generation == seen_generation_) return false;
    seen_generation_ = generation;
    return !env_.live->HasUser(user_id_);
  }

  ServerEnv& env_;
  Dialer& dialer_;
  ConnectionRecord& rec_;
  uint64_t start_generation_;
  std::shared_ptr<const ServerContext> held_context_;  // env.live's, when it is set
  std::unique_ptr<ServerContext> own_context_;  // a per-connection context (defect builds only)
  const ServerContext& context_;                // the context this connection uses
  UserId user_id_{};                            // once the hello is accepted
  UserCounters* user_ = nullptr;                // likewise
  bool tunnel_open_ = false;                    // the target was reached
  bool fallback_reset_ = false;                 // the fallback reset after its FIN
  bool fallback_finished_ = false;              // its FIN was passed on
  bool early_unused_ = false;                   // upstream_ is a fallback dialed early, not used yet
  bool read_any_ = false;                       // the client has sent something
  bool grace_pending_ = false;                  // ClientSpeaksWithin is waiting
  bool first_flight_ = false;                   // its first read is being judged
  uint64_t lookup_key_ = 0;
  uint64_t seen_generation_ = 0;
  std::optional<ServerSession>& session_slot_;
  ServerSession& session_;
  Stream client_;
  std::optional<Stream> upstream_;  // the target or the fallback, once dialed
  // A UDP association's socket, and what its datagrams go through.
  std::optional<typename Dialer::DatagramSocket> udp_;
  std::optional<UdpDestinations<typename Dialer::DatagramSocket, Dialer>> destinations_;
  DatagramCounts udp_counts_;
  bool association_open_ = false;
  bool ended_by_watchdog_ = false;  // idle or revoked: the server's CLOSE was sent for it
  const char* watchdog_reason_ = "";
  Watchdog watchdog_;
  InputBuffer in_;
  std::span<const uint8_t> fallback_bytes_;  // held by the session
  RequestHeader request_;
  size_t request_data_at_ = 0;  // the request frame's data, in in_.buffer
  size_t request_data_size_ = 0;
  uint8_t refuse_code_ = kConnectGeneralFailure;
};

// One inbound connection, start to end.
template <class Stream, class Dialer>
awaitable<void> ServeReflexConnection(Stream client, ServerEnv& env, Dialer& dialer) {
  env.stats->ConnectionOpened();
  ServerStatePool::Handle state = env.states->Get();
  if (!state) {
    client.Close();
    env.stats->ConnectionClosed(CloseReason::kOutOfMemory);
    REFLEX_LOG(kWarn, "server: out of memory for a connection's state");
    co_return;
  }
  ServerConnection<Stream, Dialer> connection(std::move(client), env, dialer, *state);
  co_await connection.Run();
}

}  // namespace reflex::proxy

#endif  // REFLEX_PROXY_SERVER_HANDLER_H_
