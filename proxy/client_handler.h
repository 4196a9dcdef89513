// The client (outbound) side of one local connection, on any stream type
// (stream.h), as named phases. Each phase is a member coroutine that does
// one job and returns the next phase; Run() dispatches them:
//
//   ReadSocks5Request ──┬──────────────────────┐
//                       │                      ▼
//                       │               OpenLocalRelay (UDP ASSOCIATE)
//                       ▼                      │
//                       ├──► DialServer ◄──────┘
//                       │        │
//   ReadHttpConnectRequest       ▼
//                         ReadServerHello ──► ReadConnectResult
//                                 │                    │
//                                 ▼                    ▼
//                             ReplyLocal ◄─────────────┘
//                                 │
//                                 ├──────────────────────────► RelayDatagrams (UDP)
//                                 ├──► ForwardRequest ──► ForwardResponse ──► ForwardNext
//                                 │       ▲    (http://, absolute form)          │
//                                 │       └───────── the same target ◄───────────┤
//                                 ▼                  another: DialServer ◄───────┘
//                         SendEarlyData ──► Relay
//
// A tunnel that fails before it is open still goes through ReplyLocal, so
// the application gets its protocol's failure reply. Every phase may also
// end the connection (kEnd) after recording why; Run() then closes both
// streams, stops the watchdog and writes the one log line.
#ifndef REFLEX_PROXY_CLIENT_HANDLER_H_
#define REFLEX_PROXY_CLIENT_HANDLER_H_

#include <sodium.h>

#include <algorithm>
#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "proxy/asio_config.h"
#include "proxy/close_reason.h"
#include "proxy/connection_state.h"
#include "proxy/datagram_relay.h"
#include "proxy/datagram_socket.h"
#include "proxy/env.h"
#include "proxy/http_connect.h"
#include "proxy/http_forward.h"
#include "proxy/input_buffer.h"
#include "proxy/local_auth.h"
#include "proxy/log.h"
#include "proxy/relay.h"
#include "proxy/socks5.h"
#include "proxy/stream.h"
#include "proxy/udp_association.h"
#include "proxy/watchdog.h"
#include "reflex/client_session.h"
#include "reflex/datagram.h"

namespace reflex::proxy {

enum class LocalProtocol : uint8_t { kSocks5, kHttpConnect };

enum class ClientPhase : uint8_t {
  kReadSocks5Request,       // greeting, method reply, request
  kReadHttpConnectRequest,  // a CONNECT request head
  kOpenLocalRelay,          // (UDP ASSOCIATE) the application's UDP relay socket
  kDialServer,              // connect to the Reflex server, send the hello
  kReadServerHello,         // until the handshake is done; send the request
  kReadConnectResult,       // (v2) until the server reached the target or not
  kReplyLocal,              // the local protocol's reply, success or failure
  kSendEarlyData,           // bytes that arrived before the relay, both ways
  kRelay,                   // the tunnel, both ways
  kRelayDatagrams,          // (UDP ASSOCIATE) datagrams both ways
  kForwardRequest,          // (http:// absolute form) the request, origin form, to the tunnel
  kForwardResponse,         // its response to the application
  kForwardNext,             // the next request: this tunnel, or another target's
  kEnd,
};

// Reads once from `s` into buf[*have..]. False on an error, the end of
// stream, or a full buffer.
template <class Stream>
awaitable<bool> ReadMore(Stream& s, pool::Buffer& buf, size_t* have) {
  if (*have == buf.size()) co_return false;
  const IoResult r = co_await s.ReadSome(buf.span().subspan(*have));
  if (r.ec) co_return false;
  *have += r.n;
  co_return true;
}

template <class Stream, class Dialer>
class ClientConnection {
 public:
  ClientConnection(Stream app, LocalProtocol protocol, ClientEnv& env, Dialer& dialer,
                   ClientConnectionState& state)
      : env_(env),
        dialer_(dialer),
        protocol_(protocol),
        rec_(state.record),
        session_slot_(state.session),
        session_(state.session.emplace(env.session, *env.clock, *env.random)),
        app_(std::move(app)),
        watchdog_(*env.sweeper, [this] {
          app_.Cancel();
          if (server_) server_->Cancel();
        }) {
    rec_.start = std::chrono::steady_clock::now();
    // Only for the log line (a system call and a hash per connection).
    if (LogEnabled(LogLevel::kInfo)) rec_.peer = LoggedPeer(app_.PeerName());
    rec_.profile = ProfileName(env.session.profile);
    watchdog_.Start(Watchdog::Clock::now() + env.timeouts.handshake, env.timeouts.idle);
  }
  ClientConnection(const ClientConnection&) = delete;
  ClientConnection& operator=(const ClientConnection&) = delete;

  // The dispatcher, and the one way out: phases end the connection by
  // returning kEnd (a phase resets a stream first only where a clean end
  // would mislead the peer), and the streams are closed here.
  awaitable<void> Run() {
    ClientPhase phase = protocol_ == LocalProtocol::kSocks5 ? ClientPhase::kReadSocks5Request
                                                             : ClientPhase::kReadHttpConnectRequest;
    while (phase != ClientPhase::kEnd) phase = co_await Step(phase);
    watchdog_.Stop();
    app_.Close();
    if (server_) server_->Close();
    if (local_udp_) local_udp_->Close();
    if (forwarding_) {  // (Relay and RelayDatagrams count their own)
      Wipe(forward_.head);
      env_.stats->bytes_up.fetch_add(rec_.up, std::memory_order_relaxed);
      env_.stats->bytes_down.fetch_add(rec_.down, std::memory_order_relaxed);
    }
    env_.stats->ConnectionClosed(rec_.reason);
    rec_.LogLine(protocol_ == LocalProtocol::kSocks5 ? "socks" : "http");
  }

  awaitable<ClientPhase> Step(ClientPhase phase) {
    switch (phase) {
      case ClientPhase::kReadSocks5Request: co_return co_await ReadSocks5Request();
      case ClientPhase::kReadHttpConnectRequest: co_return co_await ReadHttpConnectRequest();
      case ClientPhase::kOpenLocalRelay: co_return co_await OpenLocalRelay();
      case ClientPhase::kDialServer: co_return co_await DialServer();
      case ClientPhase::kReadServerHello: co_return co_await ReadServerHello();
      case ClientPhase::kReadConnectResult: co_return co_await ReadConnectResult();
      case ClientPhase::kReplyLocal: co_return co_await ReplyLocal();
      case ClientPhase::kSendEarlyData: co_return co_await SendEarlyData();
      case ClientPhase::kRelay: co_return co_await Relay();
      case ClientPhase::kRelayDatagrams: co_return co_await RelayDatagrams();
      case ClientPhase::kForwardRequest: co_return co_await ForwardRequestPhase();
      case ClientPhase::kForwardResponse: co_return co_await ForwardResponsePhase();
      case ClientPhase::kForwardNext: co_return co_await ForwardNext();
      case ClientPhase::kEnd: break;
    }
    co_return ClientPhase::kEnd;
  }

 private:
  ClientPhase End(CloseReason reason, std::string_view detail = {}) {
    rec_.Close(reason, detail);
    return ClientPhase::kEnd;
  }
  // The tunnel could not be opened: the application still gets its reply.
  ClientPhase Fail(CloseReason reason, std::string_view detail = {}) {
    rec_.Close(reason, detail);
    return ClientPhase::kReplyLocal;
  }

  // One more read of the local request; false once it cannot come.
  awaitable<bool> ReadLocal() {
    if (!local_.buffer) local_.buffer = env_.pool->Get(kLocalRequestBytes);
    const bool more = local_.buffer && co_await ReadMore(app_, local_.buffer, &local_.have);
    local_.dirty = std::max(local_.dirty, local_.have);
    if (!more) rec_.Close(watchdog_.expired() ? CloseReason::kTimeout : CloseReason::kLocalClosedEarly);
    co_return more;
  }

  bool LocalUsersRequired() const { return env_.local_users != nullptr && !env_.local_users->empty(); }

  // Drops the first n unread bytes, wiped first: they may be a password.
  // Compacting copies what follows to the front; the stale copy left
  // behind it goes too.
  void ConsumeLocal(size_t n) {
    sodium_memzero(local_.unread().data(), n);
    const size_t had = local_.have;
    local_.at += n;
    local_.Compact();
    sodium_memzero(local_.buffer.data() + local_.have, had - local_.have);
  }

  // The greeting, then (with local users) RFC 1929's username and
  // password, then the request; each may arrive in pieces.
  awaitable<ClientPhase> ReadSocks5Request() {
    enum class Stage : uint8_t { kGreeting, kCredentials, kRequest } stage = Stage::kGreeting;
    const uint8_t method = LocalUsersRequired() ? kSocks5UsernamePassword : kSocks5NoAuthentication;
    while (true) {
      if (!co_await ReadLocal()) co_return ClientPhase::kEnd;
      if (stage == Stage::kGreeting) {
        size_t n = 0;
        const Socks5Status st = ParseSocks5Greeting(local_.unread(), method, &n);
        if (st == Socks5Status::kNeedMore) continue;
        const auto reply = Socks5MethodReply(st == Socks5Status::kOk ? method : kSocks5NoAcceptableMethod);
        (void)co_await app_.WriteAll(asio::buffer(reply));
        if (st != Socks5Status::kOk) co_return End(CloseReason::kLocalRequestRefused, "socks greeting");
        ConsumeLocal(n);
        stage = method == kSocks5UsernamePassword ? Stage::kCredentials : Stage::kRequest;
      }
      if (stage == Stage::kCredentials) {
        size_t n = 0;
        std::string_view name, password;
        const Socks5Status st = ParseSocks5UsernamePassword(local_.unread(), &n, &name, &password);
        if (st == Socks5Status::kNeedMore) continue;
        const bool accepted = st == Socks5Status::kOk && env_.local_users->Accepts(name, password);
        if (st == Socks5Status::kOk) ConsumeLocal(n);
        const auto reply = Socks5AuthReply(accepted);
        (void)co_await app_.WriteAll(asio::buffer(reply));
        if (!accepted) co_return End(CloseReason::kLocalAuthFailed, "socks");
        stage = Stage::kRequest;
      }
      const Socks5Status st = ParseSocks5Request(local_.unread(), &head_, &request_);
      if (st == Socks5Status::kNeedMore) continue;
      if (st != Socks5Status::kOk) {
        const uint8_t code = st == Socks5Status::kUnsupportedCommand ? kSocks5CommandNotSupported
                             : st == Socks5Status::kBadAddressType ? kSocks5AddressTypeNotSupported
                                                                   : kConnectGeneralFailure;
        const auto reply = Socks5Reply(code);
        (void)co_await app_.WriteAll(asio::buffer(reply));
        co_return End(CloseReason::kLocalRequestRefused, "socks request");
      }
      if (request_.command == kSocks5UdpAssociate) {
        // DST names where the application's datagrams will come from
        // (its port, or 0 for "the first one"); the Reflex request's
        // address is not used (SPEC.md 15.1).
        udp_ = true;
        application_ = UdpEndpoint(app_.PeerAddress(), request_.port);
        request_.command = kCommandUdp;
        co_return ClientPhase::kOpenLocalRelay;
      }
      request_.command = kCommandConnect;
      co_return ClientPhase::kDialServer;
    }
  }

  awaitable<ClientPhase> ReadHttpConnectRequest() {
    while (true) {
      if (!co_await ReadLocal()) co_return ClientPhase::kEnd;
      HostPort target;
      std::string_view authorization;
      const HttpConnectStatus st = ParseHttpConnect(local_.unread(), &head_, &target, &authorization);
      if (st == HttpConnectStatus::kNeedMore) continue;
      if (st == HttpConnectStatus::kNotConnect) co_return co_await TakeForwardRequest();
      if (st == HttpConnectStatus::kOk && LocalUsersRequired()) {
        const bool accepted = env_.local_users->AcceptsBasic(authorization);
        // The head carried the password (base64); the target is parsed out.
        sodium_memzero(local_.unread().data(), head_);
        if (!accepted) {
          const std::string_view reply = HttpConnectResponse(407);
          (void)co_await app_.WriteAll(asio::buffer(reply.data(), reply.size()));
          co_return End(CloseReason::kLocalAuthFailed, "http");
        }
      }
      if (st != HttpConnectStatus::kOk || !RequestHeaderFor(target, &request_)) {
        const int status = st == HttpConnectStatus::kTooLarge ? 431 : 400;
        const std::string_view reply = HttpConnectResponse(status);
        (void)co_await app_.WriteAll(asio::buffer(reply.data(), reply.size()));
        co_return End(CloseReason::kLocalRequestRefused, "http request");
      }
      co_return ClientPhase::kDialServer;
    }
  }

  // The UDP relay socket, on the address the application reached this
  // client at (the reply names it), a port the system chooses.
  awaitable<ClientPhase> OpenLocalRelay() {
    auto [ec, socket] = dialer_.OpenDatagramSocket(UdpEndpoint(app_.LocalAddress(), 0));
    if (ec) co_return Fail(CloseReason::kUdpSocketFailed, ec.message());
    local_udp_.emplace(std::move(socket));
    co_return ClientPhase::kDialServer;
  }

  // An absolute-form request (the head is whole in local_): checked
  // against the local users, then its target's tunnel (RFC 9112 3.2.2).
  // (Proxy-Authorization is checked on every request: each names its own
  // target.)
  awaitable<ClientPhase> TakeForwardRequest() {
    Wipe(forward_.head);
    const HttpForwardStatus st = ParseForwardRequest(local_.unread(), &head_, &forward_);
    int refusal = 0;
    CloseReason reason = CloseReason::kLocalRequestRefused;
    if (st != HttpForwardStatus::kOk) {
      refusal = st == HttpForwardStatus::kTooLarge ? 431 : 400;
    } else if (LocalUsersRequired() && !env_.local_users->AcceptsBasic(forward_.authorization)) {
      refusal = 407;
      reason = CloseReason::kLocalAuthFailed;
    } else if (!RequestHeaderFor(forward_.target, &request_)) {
      refusal = 400;
    }
    forward_.authorization = {};
    if (refusal != 0) {
      const std::string_view reply = HttpForwardError(refusal);
      (void)co_await app_.WriteAll(asio::buffer(reply.data(), reply.size()));
      if (server_) co_await EndTunnel();
      co_return End(reason, refusal == 407 ? "http" : "http request");
    }
    ConsumeLocal(head_);  // forward_.head is what goes on (without the credentials)
    head_ = 0;
    request_.command = kCommandConnect;
    forwarding_ = true;
    retried_ = false;
    // The tunnel to this target is still open: the request goes on it.
    if (server_ && tunnel_target_.host == forward_.target.host && tunnel_target_.port == forward_.target.port &&
        TunnelStillOpen()) {
      co_return ClientPhase::kForwardRequest;
    }
    if (server_) co_await EndTunnel();
    tunnel_target_ = forward_.target;
    co_return ClientPhase::kDialServer;
  }

  // Whether a kept-alive tunnel can take another request: nothing came on
  // it since the last response (a target that closed an idle connection
  // sends its CLOSE; bytes past a response are a confused target's).
  bool TunnelStillOpen() {
    if (!from_server_.buffer) return false;
    from_server_.Compact();
    const IoResult r = server_->TryRead(from_server_.buffer.span().subspan(from_server_.have));
    if (r.ec) return false;
    from_server_.have += r.n;
    from_server_.dirty = std::max(from_server_.dirty, from_server_.have);
    return from_server_.unread().empty();
  }

  // The dial and the handshake after it get their own time, whatever is
  // left of the local request's.
  awaitable<ClientPhase> DialServer() {
    rec_.target = FormatHostPort(TargetOf(request_));
    watchdog_.SetDeadline(Watchdog::Clock::now() + env_.timeouts.connect + env_.timeouts.handshake);
    auto [ec, server] = co_await dialer_.Connect(env_.server, watchdog_);
    if (ec) {
      REFLEX_LOG(kWarn, "reflex server %s unreachable: %s", FormatHostPort(env_.server).c_str(),
                 ec.message().c_str());
      co_return Fail(CloseReason::kServerUnreachable, ec.message());
    }
    server_.emplace(std::move(server));
    watchdog_.SetDeadline(Watchdog::Clock::now() + env_.timeouts.handshake);
    if (session_.Start() != Error::kOk) co_return Fail(CloseReason::kServerFailed, "session start");
    const auto hello = session_.PendingOutput();
    if (const std::error_code wec = co_await server_->WriteAll(asio::buffer(hello.data(), hello.size()));
        wec) {
      co_return Fail(CloseReason::kServerFailed, "write: " + wec.message());
    }
    session_.ConsumeOutput(hello.size());
    from_server_.buffer = env_.pool->Get(kHandshakeBufferBytes);
    if (!from_server_.buffer) co_return Fail(CloseReason::kOutOfMemory);
    co_return ClientPhase::kReadServerHello;
  }

  // The server hello, then the request frame. v1-compat's Go server sends
  // no connect result: the tunnel counts as open once the request is sent.
  awaitable<ClientPhase> ReadServerHello() {
    const std::optional<SessionEvent> e = co_await NextServerEvent("server closed during the handshake");
    if (!e) co_return ClientPhase::kReplyLocal;
    if (e->kind != SessionEventKind::kHandshakeDone) co_return FailOnEvent(*e);
    std::array<uint8_t, kFrameOverheadBytes + kMaxRequestHeaderBytes> frame;
    size_t n = 0;
    if (session_.SealRequest(request_, {}, frame, &n) != Error::kOk) {
      co_return Fail(CloseReason::kServerFailed, "request");
    }
    if (const std::error_code wec = co_await server_->WriteAll(asio::buffer(frame.data(), n)); wec) {
      co_return Fail(CloseReason::kServerFailed, "write: " + wec.message());
    }
    watchdog_.SetDeadline(Watchdog::Clock::now() + env_.timeouts.connect + env_.timeouts.handshake);
    // An association waits for the result in both profiles (SPEC.md 15.1).
    if (env_.session.profile != Profile::kV2 && !udp_) {
      code_ = kConnectOk;
      co_return ClientPhase::kReplyLocal;
    }
    co_return ClientPhase::kReadConnectResult;
  }

  // The server's connect result (SPEC.md 13.4). Data in its place (a
  // server that sends none) means connected; it reaches the application
  // right after its reply.
  awaitable<ClientPhase> ReadConnectResult() {
    const std::optional<SessionEvent> e =
        co_await NextServerEvent("server closed before the connect result");
    if (!e) co_return ClientPhase::kReplyLocal;
    if (e->kind == SessionEventKind::kTargetConnected) {
      code_ = kConnectOk;
    } else if (e->kind == SessionEventKind::kData) {
      code_ = kConnectOk;
      early_at_ = static_cast<size_t>(e->data.data() - from_server_.buffer.data());
      early_size_ = e->data.size();
    } else {
      co_return FailOnEvent(*e);
    }
    co_return ClientPhase::kReplyLocal;
  }

  // The local protocol's reply: success only once the server reached the
  // target; otherwise the failure the tunnel recorded, with its code.
  awaitable<ClientPhase> ReplyLocal() {
    const bool ok = code_ == kConnectOk;
    std::error_code ec;
    if (protocol_ == LocalProtocol::kSocks5 && udp_ && ok) {
      const UdpEndpoint relay = local_udp_->LocalEndpoint();
      const Socks5BoundReply reply = Socks5ReplyBound(relay.address(), relay.port());
      ec = co_await app_.WriteAll(asio::buffer(reply.bytes.data(), reply.size));
    } else if (protocol_ == LocalProtocol::kSocks5) {
      const auto reply = Socks5Reply(ok ? kSocks5Succeeded : code_);
      ec = co_await app_.WriteAll(asio::buffer(reply));
    } else if (!(forwarding_ && ok)) {  // a forwarded request's answer is the target's
      const std::string_view reply = HttpConnectResponse(ok ? 200 : code_ == kConnectTimedOut ? 504 : 502);
      ec = co_await app_.WriteAll(asio::buffer(reply.data(), reply.size()));
    }
    if (ec) co_return End(CloseReason::kWriteFailed, ec.message());
    if (!ok) {
      env_.stats->target_failures.fetch_add(1, std::memory_order_relaxed);
      co_return ClientPhase::kEnd;  // the tunnel's failure is recorded
    }
    if (udp_) {
      env_.stats->udp.associations.fetch_add(1, std::memory_order_relaxed);
      co_return ClientPhase::kRelayDatagrams;
    }
    env_.stats->tunnels.fetch_add(1, std::memory_order_relaxed);
    if (forwarding_) co_return ClientPhase::kForwardRequest;
    co_return ClientPhase::kSendEarlyData;
  }

  // The forwarded request: the head the target gets, then the body as far
  // as its framing says (RFC 9112 6.3); what follows it stays in local_
  // (the next request, pipelined).
  awaitable<ClientPhase> ForwardRequestPhase() {
    watchdog_.SetDeadline(Watchdog::Clock::time_point::max());
    if (forward_.expect_continue && !forward_.http10 && !retried_) {
      const std::string_view go_on = HttpContinueResponse();
      if (const std::error_code ec = co_await app_.WriteAll(asio::buffer(go_on.data(), go_on.size())); ec) {
        co_return End(CloseReason::kWriteFailed, ec.message());
      }
    }
    // The head is kept (wiped later: its fields may be credentials) until
    // the response's head came: a request lost to a tunnel closing under it
    // is sent once more on a new one.
    const bool sent = co_await SendToServer({reinterpret_cast<const uint8_t*>(forward_.head.data()), forward_.head.size()});
    if (!sent) co_return AbortForward(CloseReason::kServerFailed, "write");
    BodyFramer body(forward_.body, forward_.length);
    while (!body.done()) {
      if (local_.unread().empty()) {
        const bool more = co_await ReadLocal();
        if (!more) co_return AbortForward(CloseReason::kLocalClosedEarly);
      }
      size_t used = 0;
      if (!body.Consume(local_.unread(), &used)) {
        const std::string_view reply = HttpForwardError(400);
        (void)co_await app_.WriteAll(asio::buffer(reply.data(), reply.size()));
        co_return AbortForward(CloseReason::kLocalRequestRefused, "chunked body");
      }
      if (!co_await SendToServer(local_.unread().first(used))) co_return AbortForward(CloseReason::kServerFailed, "write");
      ConsumeLocal(used);
      watchdog_.Touch();
    }
    co_return ClientPhase::kForwardResponse;
  }

  // The target's response: its head (1xx ones passed on as they come),
  // then its body to where its framing ends.
  awaitable<ClientPhase> ForwardResponsePhase() {
    ForwardResponse r;
    if (!response_.buffer) response_.buffer = env_.pool->Get(kLargeBufferBytes);
    if (!response_.buffer) co_return AbortForward(CloseReason::kOutOfMemory);
    response_.at = response_.have = 0;
    size_t searched = 0;  // of the unread bytes, those holding no end of head
    bool any = false;     // a byte of the response came
    while (true) {
      size_t used = 0;
      const HttpForwardStatus st = ParseForwardResponse(response_.unread(), forward_.head_method, &used, &r, searched);
      if (st == HttpForwardStatus::kOk) {
        // 1xx only to an HTTP/1.1 client (RFC 9110 15.2); the final
        // response always.
        std::error_code ec;
        if (r.status >= 200 || !forward_.http10) ec = co_await app_.WriteAll(asio::buffer(r.head.data(), r.head.size()));
        rec_.down += r.head.size();
        Wipe(r.head);
        if (ec) co_return AbortForward(CloseReason::kWriteFailed, ec.message());
        response_.at += used;
        response_.Compact();
        searched = 0;
        if (r.status >= 200) break;
        continue;  // 1xx: the final response follows
      }
      if (st != HttpForwardStatus::kNeedMore) co_return co_await FailForward(502, "response head");
      searched = response_.unread().size();
      const std::optional<SessionEvent> e = co_await NextServerEvent("server closed before the response");
      if (!e || e->kind != SessionEventKind::kData) {
        // The tunnel went (the target had closed it) before any answer: a
        // request without a body is sent once more, on a new tunnel.
        if (!any && !retried_ && forward_.body == BodyKind::kNone && !watchdog_.expired()) {
          retried_ = true;
          co_await EndTunnel();
          co_return ClientPhase::kDialServer;
        }
        co_return co_await FailForward(watchdog_.expired() ? 504 : 502, "no response");
      }
      any = true;
      // A head within kMaxResponseHeadBytes completes before the buffer
      // fills: it takes at most that and one frame more.
      if (response_.have + e->data.size() > response_.buffer.size()) co_return co_await FailForward(502, "response head");
      std::memcpy(response_.buffer.data() + response_.have, e->data.data(), e->data.size());
      response_.have += e->data.size();
      response_.dirty = std::max(response_.dirty, response_.have);
    }
    Wipe(forward_.head);
    BodyFramer body(r.body, r.length);
    std::span<const uint8_t> pending = response_.unread();
    bool reusable = !r.close && !forward_.close;
    while (true) {
      size_t used = 0;
      if (!body.Consume(pending, &used)) co_return AbortForward(CloseReason::kServerFailed, "chunked response");
      if (used > 0) {
        const std::error_code ec = co_await app_.WriteAll(asio::buffer(pending.data(), used));
        if (ec) co_return AbortForward(CloseReason::kWriteFailed, ec.message());
      }
      rec_.down += used;
      if (used < pending.size()) reusable = false;  // bytes past the response: the target is confused
      if (body.done()) break;
      const std::optional<SessionEvent> e = co_await NextServerEvent("server closed during the response");
      if (!e) co_return AbortForward(watchdog_.expired() ? CloseReason::kTimeout : CloseReason::kTunnelCut);
      if (e->kind == SessionEventKind::kPeerClosed && r.body == BodyKind::kUntilClose) {
        app_.ShutdownSend();  // the body's end, as the target marked it
        co_return End(CloseReason::kDone);
      }
      if (e->kind != SessionEventKind::kData) co_return AbortForward(CloseReason::kTunnelCut, "response cut");
      pending = e->data;
      watchdog_.Touch();
    }
    response_.buffer.set_wipe_extent(response_.dirty);
    response_.buffer.Reset();  // an idle keep-alive connection holds no buffer
    response_.at = response_.have = response_.dirty = 0;
    if (!reusable) {
      co_await EndTunnel();
      co_return End(CloseReason::kDone);
    }
    co_return ClientPhase::kForwardNext;
  }

  // Keep-alive: the application's next request, on this tunnel when it
  // names the same target, else on a new one; the application ending its
  // connection ends the tunnel.
  awaitable<ClientPhase> ForwardNext() {
    watchdog_.SetDeadline(Watchdog::Clock::now() + env_.timeouts.idle);
    while (true) {
      size_t n = 0;
      HostPort target;
      std::string_view authorization;
      const HttpConnectStatus st = ParseHttpConnect(local_.unread(), &n, &target, &authorization);
      if (st == HttpConnectStatus::kNotConnect) co_return co_await TakeForwardRequest();
      if (st == HttpConnectStatus::kOk || (st != HttpConnectStatus::kNeedMore && !local_.unread().empty())) {
        // A CONNECT (or a bad request) after forwarded ones: answered on a
        // connection of its own.
        const std::string_view reply = HttpForwardError(st == HttpConnectStatus::kTooLarge ? 431 : 400);
        (void)co_await app_.WriteAll(asio::buffer(reply.data(), reply.size()));
        co_await EndTunnel();
        co_return End(CloseReason::kLocalRequestRefused, "http request after forwarded ones");
      }
      if (!co_await ReadLocal()) {
        co_await EndTunnel();
        co_return End(CloseReason::kDone);
      }
    }
  }

  // The tunnel's end when a forwarded exchange is over: CLOSE, then the
  // connection closed; a new target gets a new session.
  awaitable<void> EndTunnel() {
    std::array<uint8_t, kFrameOverheadBytes> close{};
    size_t n = 0;
    if (session_.SealClose(close, &n) == Error::kOk) (void)co_await server_->WriteAll(asio::buffer(close.data(), n));
    server_->Close();
    server_.reset();
    from_server_.buffer.set_wipe_extent(from_server_.dirty);
    from_server_.buffer.Reset();
    from_server_.have = from_server_.at = from_server_.dirty = 0;
    session_slot_.emplace(env_.session, *env_.clock, *env_.random);
    code_ = kConnectGeneralFailure;
    early_at_ = early_size_ = 0;
  }

  static void Wipe(std::string& s) {
    sodium_memzero(s.data(), s.size());
    s.clear();
  }

  // A forwarded exchange that cannot finish: both ends reset, so neither
  // takes a cut message for a whole one.
  ClientPhase AbortForward(CloseReason reason, std::string_view detail = {}) {
    app_.Abort();
    if (server_) server_->Abort();
    return End(reason, detail);
  }
  // No usable response: the proxy's own error (504 when it timed out),
  // when nothing of a response reached the application yet.
  awaitable<ClientPhase> FailForward(int status, std::string_view detail) {
    const std::string_view reply = HttpForwardError(status);
    (void)co_await app_.WriteAll(asio::buffer(reply.data(), reply.size()));
    if (server_) server_->Abort();
    if (watchdog_.expired()) co_return End(CloseReason::kTimeout, watchdog_.reason());
    co_return End(CloseReason::kServerFailed, detail);
  }

  // What the server sent in place of a connect result, to the application;
  // what the application sent after its request (pipelined), to the server.
  awaitable<ClientPhase> SendEarlyData() {
    if (early_size_ > 0) {
      const auto early = asio::buffer(from_server_.buffer.data() + early_at_, early_size_);
      if (const std::error_code ec = co_await app_.WriteAll(early); ec) {
        co_return End(CloseReason::kWriteFailed, ec.message());
      }
      rec_.down += early_size_;
    }
    if (local_.have > head_ && !co_await SendPipelined()) {
      // A hole in the stream would be worse than no stream.
      app_.Abort();
      server_->Abort();
      co_return End(CloseReason::kEarlyDataFailed);
    }
    local_.buffer.set_wipe_extent(local_.dirty);
    local_.buffer.Reset();
    co_return ClientPhase::kRelay;
  }

  awaitable<bool> SendPipelined() {
    co_return co_await SendToServer({local_.buffer.data() + head_, local_.have - head_});
  }

  // Bytes to the server as DATA frames of at most a payload each.
  awaitable<bool> SendToServer(std::span<const uint8_t> early) {
    // (A pooled buffer, not an array: a coroutine's locals live in its
    // frame for the whole connection.)
    pool::Buffer frame = env_.pool->Get(kMaxFrameBytes);
    if (!frame) co_return false;
    frame.set_wipe_on_return(false);  // ciphertext only
    while (!early.empty()) {
      const size_t n = std::min(early.size(), kMaxPayloadBytes);
      size_t w = 0;
      if (session_.Seal(FrameType::kData, early.first(n), frame.span(), &w) != Error::kOk ||
          co_await server_->WriteAll(asio::buffer(frame.data(), w))) {
        co_return false;
      }
      rec_.up += n;
      early = early.subspan(n);
    }
    co_return true;
  }

  awaitable<ClientPhase> Relay() {
    watchdog_.SetDeadline(Watchdog::Clock::time_point::max());
    from_server_.Compact();
    std::unique_ptr<Shaper> shaper;
    if (env_.morph != nullptr) shaper = std::make_unique<Shaper>(*env_.morph, *env_.random);
    // The choice is made inside a coroutine, not with a conditional operator
    // between two coroutine calls (GCC 12 destroys the unused one wrongly).
    auto up = [&]() -> awaitable<PumpResult> {
      if (shaper) co_return co_await ShapedSealPump(session_, *shaper, app_, *server_, env_, watchdog_, &rec_.up);
      co_return co_await SealPump(session_, app_, *server_, env_, watchdog_, &rec_.up);
    };
    auto [r1, r2] = co_await RunBothWays(*server_, app_,
                                         OpenPump(session_, *server_, app_, std::move(from_server_.buffer),
                                                  from_server_.have, from_server_.dirty, env_, watchdog_,
                                                  &rec_.down),
                                         up());
    from_server_.have = from_server_.dirty = 0;
    RecordRelayEnd(r1, r2, watchdog_, rec_);
    env_.stats->bytes_up.fetch_add(rec_.up, std::memory_order_relaxed);
    env_.stats->bytes_down.fetch_add(rec_.down, std::memory_order_relaxed);
    co_return ClientPhase::kEnd;
  }

  // The association (SPEC.md 15.4, 15.5): the application's datagrams to
  // the server and the server's to the application, while the control
  // connection is watched: its end (RFC 1928 section 7) ends the
  // association with CLOSE, as the server's CLOSE does.
  awaitable<ClientPhase> RelayDatagrams() {
    watchdog_.SetDeadline(Watchdog::Clock::time_point::max());
    local_.buffer.set_wipe_extent(local_.dirty);
    local_.buffer.Reset();
    env_.stats->udp.open.fetch_add(1, std::memory_order_relaxed);
    LocalUdpRelay<typename Dialer::DatagramSocket> relay(*local_udp_, application_, udp_counts_);
    // A datagram in place of the connect result: delivered before the
    // buffer is compacted (that moves what follows it over it).
    if (early_size_ > 0) {
      bool ignored = false;
      const std::span<uint8_t> early(from_server_.buffer.data() + early_at_, early_size_);
      if (const Error e = relay.Deliver(early, &ignored); e != Error::kOk) {
        env_.stats->udp.open.fetch_sub(1, std::memory_order_relaxed);
        server_->Abort();
        co_return End(CloseReason::kSessionError, ErrorName(e));
      }
    }
    from_server_.Compact();
    using asio::experimental::awaitable_operators::operator&&;
    bool pump_ended = false;
    auto up = [&]() -> awaitable<PumpResult> {
      const PumpResult r = co_await DatagramSealPump(session_, relay, *server_, env_, watchdog_);
      pump_ended = true;
      app_.Cancel();  // the control connection's watch ends with it
      co_return r;
    };
    auto watch = [&]() -> awaitable<void> {
      std::array<uint8_t, 64> ignored;
      while (!pump_ended) {
        const std::error_code ec = co_await app_.WaitReadable();
        if (pump_ended) break;
        // Bytes on the control connection mean nothing (RFC 1928): read
        // and dropped. Its end, or a failure, ends the association.
        const IoResult r = ec ? IoResult{ec, 0} : app_.TryRead(ignored);
        if (r.ec) {
          // The CLOSE goes now; the server's answer has kAssociationCloseWait.
          watchdog_.SetDeadline(Watchdog::Clock::now() + kAssociationCloseWait);
          relay.End();
          break;
        }
      }
    };
    auto up_and_watch = [&]() -> awaitable<PumpResult> { co_return co_await (up() && watch()); };
    auto [r1, r2] = co_await RunBothWays(
        *server_, relay,
        DatagramOpenPump(session_, *server_, relay, std::move(from_server_.buffer), from_server_.have,
                         from_server_.dirty, env_, watchdog_),
        up_and_watch());
    from_server_.have = from_server_.dirty = 0;
    RecordRelayEnd(r1, r2, watchdog_, rec_);
    rec_.up = udp_counts_.up_bytes;
    rec_.down = udp_counts_.down_bytes;
    env_.stats->udp.open.fetch_sub(1, std::memory_order_relaxed);
    env_.stats->udp.datagrams_up.fetch_add(udp_counts_.up, std::memory_order_relaxed);
    env_.stats->udp.datagrams_down.fetch_add(udp_counts_.down, std::memory_order_relaxed);
    env_.stats->udp.dropped.fetch_add(udp_counts_.dropped, std::memory_order_relaxed);
    env_.stats->udp.system_drops.fetch_add(local_udp_->SystemDrops(), std::memory_order_relaxed);
    env_.stats->bytes_up.fetch_add(rec_.up, std::memory_order_relaxed);
    env_.stats->bytes_down.fetch_add(rec_.down, std::memory_order_relaxed);
    co_return ClientPhase::kEnd;
  }

  // A server event other than the one the phase waits for.
  ClientPhase FailOnEvent(const SessionEvent& e) {
    if (e.kind == SessionEventKind::kPeerClosed) {
      code_ = e.close_code != 0 ? e.close_code : kConnectGeneralFailure;
      return Fail(CloseReason::kTargetRefused, "code " + std::to_string(e.close_code));
    }
    return Fail(CloseReason::kServerFailed,
                ErrorName(e.kind == SessionEventKind::kError ? e.reason : Error::kInvalidArgument));
  }

  // The session's next event, reading from the server whenever it needs
  // more bytes; nullopt (the failure recorded) once it cannot get them.
  awaitable<std::optional<SessionEvent>> NextServerEvent(std::string_view closed_early) {
    while (true) {
      SessionEvent e;
      size_t used = 0;
      if (session_.Receive(from_server_.unread(), &used, &e) != Error::kOk) {
        rec_.Close(CloseReason::kServerFailed, "session finished");
        co_return std::nullopt;
      }
      from_server_.at += used;
      if (e.kind != SessionEventKind::kNone) co_return e;
      if (used > 0) continue;
      from_server_.Compact();
      const bool more = co_await ReadMore(*server_, from_server_.buffer, &from_server_.have);
      from_server_.dirty = std::max(from_server_.dirty, from_server_.have);
      if (!more) {
        if (watchdog_.expired()) {
          rec_.Close(CloseReason::kTimeout, watchdog_.reason());
        } else {
          rec_.Close(CloseReason::kServerFailed, closed_early);
        }
        co_return std::nullopt;
      }
      watchdog_.Touch();
    }
  }

  ClientEnv& env_;
  Dialer& dialer_;
  const LocalProtocol protocol_;
  ConnectionRecord& rec_;
  std::optional<ClientSession>& session_slot_;  // a new session for each tunnel
  ClientSession& session_;
  Stream app_;
  std::optional<Stream> server_;  // the Reflex server, once dialed
  Watchdog watchdog_;
  // The local request, and the application's bytes after it (from head_).
  InputBuffer local_;
  size_t head_ = 0;  // bytes of the local request
  RequestHeader request_;
  InputBuffer from_server_;
  uint8_t code_ = kConnectGeneralFailure;  // the SOCKS5 reply code
  // A UDP ASSOCIATE: its relay socket, whom it takes datagrams from.
  bool udp_ = false;
  std::optional<typename Dialer::DatagramSocket> local_udp_;
  UdpEndpoint application_;
  DatagramCounts udp_counts_;
  // Plain http:// requests (absolute form): the current one, its tunnel's
  // target, the response read so far.
  bool forwarding_ = false;
  bool retried_ = false;  // the current request was sent again on a new tunnel
  ForwardRequest forward_;
  HostPort tunnel_target_;
  InputBuffer response_;  // pooled: a response's head is the target's plaintext
  size_t early_at_ = 0;  // data the server sent in place of a connect result
  size_t early_size_ = 0;
};

// One local connection (SOCKS5 or HTTP CONNECT), start to end.
template <class Stream, class Dialer>
awaitable<void> ServeLocalConnection(Stream app, LocalProtocol protocol, ClientEnv& env,
                                     Dialer& dialer) {
  env.stats->ConnectionOpened();
  ClientStatePool::Handle state = env.states->Get();
  if (!state) {
    app.Close();
    env.stats->ConnectionClosed(CloseReason::kOutOfMemory);
    REFLEX_LOG(kWarn, "client: out of memory for a connection's state");
    co_return;
  }
  ClientConnection<Stream, Dialer> connection(std::move(app), protocol, env, dialer, *state);
  co_await connection.Run();
}

}  // namespace reflex::proxy

#endif  // REFLEX_PROXY_CLIENT_HANDLER_H_
