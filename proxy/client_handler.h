// The client (outbound) side: a local SOCKS5 or HTTP CONNECT request,
// a tunnel to the Reflex server (ClientSession), the server's connect
// result turned into the local protocol's reply, then the relay. On any
// stream type (stream.h).
#ifndef REFLEX_PROXY_CLIENT_HANDLER_H_
#define REFLEX_PROXY_CLIENT_HANDLER_H_

#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "proxy/asio_config.h"
#include "proxy/env.h"
#include "proxy/http_connect.h"
#include "proxy/log.h"
#include "proxy/relay.h"
#include "proxy/server_handler.h"
#include "proxy/socks5.h"
#include "proxy/stream.h"
#include "proxy/watchdog.h"
#include "reflex/client_session.h"

namespace reflex::proxy {

// A tunnel being opened: the connection to the server, the session, and
// what the server already sent past its connect result.
template <class Stream>
struct Tunnel {
  std::optional<Stream> server;
  pool::Buffer buffer;  // received bytes not yet opened (from `at`)
  size_t at = 0;
  size_t have = 0;
  size_t dirty = 0;  // how far `buffer` was ever written (its wipe)
  ~Tunnel() { buffer.set_wipe_extent(dirty); }
  uint8_t code = kConnectGeneralFailure;  // SOCKS5 reply code
  std::string failure;
  // Data the server sent instead of a connect result (a server that sends
  // none): delivered to the application right after its reply.
  size_t early_at = 0;
  size_t early_size = 0;
};

// Reads from `s` into buf[have..] until `parse` says done, an error, or
// the watchdog ends it. Returns false on failure.
template <class Stream>
awaitable<bool> ReadMore(Stream& s, pool::Buffer& buf, size_t* have) {
  if (*have == buf.size()) co_return false;
  const IoResult r = co_await s.ReadSome(buf.span().subspan(*have));
  if (r.ec) co_return false;
  *have += r.n;
  co_return true;
}

template <class Stream, class Dialer>
awaitable<void> OpenTunnel(const RequestHeader& request, ClientEnv& env, Dialer& dialer,
                           ClientSession& session, Watchdog& watchdog, Tunnel<Stream>* t) {
  // The dial and the handshake after it get their own time, whatever is
  // left of the local request's.
  watchdog.SetDeadline(Watchdog::Clock::now() + env.timeouts.connect + env.timeouts.handshake);
  auto [ec, server] = co_await dialer.Connect(env.server, watchdog);
  if (ec) {
    t->failure = "server " + FormatHostPort(env.server) + " unreachable: " + ec.message();
    REFLEX_LOG(kWarn, "reflex server %s unreachable: %s", FormatHostPort(env.server).c_str(),
               ec.message().c_str());
    co_return;
  }
  t->server.emplace(std::move(server));
  Stream& s = *t->server;
  watchdog.SetDeadline(Watchdog::Clock::now() + env.timeouts.handshake);
  if (session.Start() != Error::kOk) {
    t->failure = "session start";
    co_return;
  }
  const auto hello = session.PendingOutput();
  if (const std::error_code wec = co_await s.WriteAll(asio::buffer(hello.data(), hello.size())); wec) {
    t->failure = "server write: " + wec.message();
    co_return;
  }
  session.ConsumeOutput(hello.size());
  t->buffer = env.pool->Get(kHandshakeBufferBytes);
  if (!t->buffer) co_return;
  // The server hello, then (v2) the connect result.
  bool established = false;
  const bool wait_result = env.session.profile == Profile::kV2;
  while (true) {
    SessionEvent e;
    size_t used = 0;
    if (session.Receive(t->buffer.span().subspan(t->at, t->have - t->at), &used, &e) !=
        Error::kOk) {
      t->failure = "session finished";
      co_return;
    }
    t->at += used;
    if (e.kind == SessionEventKind::kHandshakeDone) {
      established = true;
      std::array<uint8_t, kFrameOverheadBytes + kMaxRequestHeaderBytes> frame;
      size_t n = 0;
      if (session.SealRequest(request, {}, frame, &n) != Error::kOk) {
        t->failure = "request";
        co_return;
      }
      if (const std::error_code wec = co_await s.WriteAll(asio::buffer(frame.data(), n)); wec) {
        t->failure = "server write: " + wec.message();
        co_return;
      }
      watchdog.SetDeadline(Watchdog::Clock::now() + env.timeouts.connect + env.timeouts.handshake);
      if (!wait_result) {
        // v1-compat: the Go server sends no connect result.
        t->code = kConnectOk;
        co_return;
      }
      continue;
    }
    if (e.kind == SessionEventKind::kTargetConnected) {
      t->code = kConnectOk;
      co_return;
    }
    if (e.kind == SessionEventKind::kData) {
      // A server that sends no connect result: data means connected.
      t->code = kConnectOk;
      t->early_at = static_cast<size_t>(e.data.data() - t->buffer.data());
      t->early_size = e.data.size();
      co_return;
    }
    if (e.kind == SessionEventKind::kPeerClosed) {
      t->code = e.close_code != 0 ? e.close_code : kConnectGeneralFailure;
      t->failure = "target refused by the server (code " + std::to_string(e.close_code) + ")";
      co_return;
    }
    if (e.kind == SessionEventKind::kError) {
      t->failure = "server: " + std::string(ErrorName(e.reason));
      co_return;
    }
    // Need more bytes: keep what is unopened at the front.
    std::memmove(t->buffer.data(), t->buffer.data() + t->at, t->have - t->at);
    t->have -= t->at;
    t->at = 0;
    const bool more = co_await ReadMore(s, t->buffer, &t->have);
    t->dirty = std::max(t->dirty, t->have);
    if (!more) {
      t->failure = watchdog.expired() ? "server: timeout"
                                      : (established ? "server closed before the connect result"
                                                     : "server closed during the handshake");
      co_return;
    }
    watchdog.Touch();
  }
}

// The relay of an open tunnel, with the record's byte counts.
template <class Stream>
awaitable<void> RelayTunnel(Stream& app, Tunnel<Stream>& t, ClientSession& session, ClientEnv& env,
                            Watchdog& watchdog, ConnectionRecord& rec) {
  watchdog.SetDeadline(Watchdog::Clock::time_point::max());
  std::memmove(t.buffer.data(), t.buffer.data() + t.at, t.have - t.at);
  const size_t have = t.have - t.at;
  std::unique_ptr<Shaper> shaper;
  if (env.morph != nullptr) shaper = std::make_unique<Shaper>(*env.morph, *env.random);
  // The choice is made inside a coroutine, not with a conditional operator
  // between two coroutine calls (GCC 12 destroys the unused one wrongly).
  auto up = [&]() -> awaitable<PumpResult> {
    if (shaper) co_return co_await ShapedSealPump(session, *shaper, app, *t.server, env, watchdog, &rec.up);
    co_return co_await SealPump(session, app, *t.server, env, watchdog, &rec.up);
  };
  auto [r1, r2] = co_await RunBothWays(
      *t.server, app,
      OpenPump(session, *t.server, app, std::move(t.buffer), have, t.dirty, env, watchdog, &rec.down),
      up());
  if (watchdog.expired()) {
    rec.close = std::string("timeout ") + watchdog.reason();
  } else {
    rec.close = r1.ok() && r2.ok() ? "done" : DescribeEnd(r1.ok() ? r2 : r1);
  }
  env.stats->bytes_up.fetch_add(rec.up, std::memory_order_relaxed);
  env.stats->bytes_down.fetch_add(rec.down, std::memory_order_relaxed);
}

enum class LocalProtocol : uint8_t { kSocks5, kHttpConnect };

// One local connection (SOCKS5 or HTTP CONNECT), start to end.
template <class Stream, class Dialer>
awaitable<void> ServeLocalConnection(Stream app, LocalProtocol protocol, ClientEnv& env,
                                     Dialer& dialer) {
  env.stats->ConnectionOpened();
  ClientStatePool::Handle state = env.states->Get();
  if (!state) {
    app.Close();
    env.stats->ConnectionClosed();
    REFLEX_LOG(kWarn, "client: out of memory for a connection's state");
    co_return;
  }
  ConnectionRecord& rec = state->record;
  rec.start = std::chrono::steady_clock::now();
  rec.peer = app.PeerName();
  rec.profile = ProfileName(env.session.profile);
  ClientSession& session = state->session.emplace(env.session, *env.clock, *env.random);
  std::optional<Stream>* server_ref = nullptr;
  Tunnel<Stream> t;
  server_ref = &t.server;
  Watchdog watchdog(*env.sweeper, [&app, server_ref] {
    app.Cancel();
    if (*server_ref) (*server_ref)->Cancel();
  });
  watchdog.Start(Watchdog::Clock::now() + env.timeouts.handshake, env.timeouts.idle);
  auto finish = [&]() {
    watchdog.Stop();
    app.Close();
    if (t.server) t.server->Close();
    env.stats->ConnectionClosed();
    rec.LogLine(protocol == LocalProtocol::kSocks5 ? "socks" : "http");
  };
  pool::Buffer in = env.pool->Get(kLocalRequestBytes);
  size_t have = 0;
  size_t in_dirty = 0;  // how far `in` was ever written (its wipe)
  WipeExtent in_extent{in, in_dirty};
  RequestHeader request;
  size_t head = 0;  // bytes of the local request
  bool parsed = false;
  if (protocol == LocalProtocol::kSocks5) {
    bool greeted = false;
    while (!parsed) {
      const bool more = co_await ReadMore(app, in, &have);
      in_dirty = std::max(in_dirty, have);
      if (!more) {
        rec.close = watchdog.expired() ? "timeout" : "client closed before its request";
        finish();
        co_return;
      }
      if (!greeted) {
        size_t n = 0;
        const Socks5Status st = ParseSocks5Greeting(in.span().first(have), &n);
        if (st == Socks5Status::kNeedMore) continue;
        const auto reply = Socks5MethodReply(st == Socks5Status::kOk);
        (void)co_await app.WriteAll(asio::buffer(reply));
        if (st != Socks5Status::kOk) {
          rec.close = "socks greeting refused";
          finish();
          co_return;
        }
        greeted = true;
        std::memmove(in.data(), in.data() + n, have - n);
        have -= n;
      }
      const Socks5Status st = ParseSocks5Request(in.span().first(have), &head, &request);
      if (st == Socks5Status::kNeedMore) continue;
      if (st != Socks5Status::kOk) {
        const uint8_t code = st == Socks5Status::kUnsupportedCommand ? kSocks5CommandNotSupported
                             : st == Socks5Status::kBadAddressType ? kSocks5AddressTypeNotSupported
                                                                   : kConnectGeneralFailure;
        const auto reply = Socks5Reply(code);
        (void)co_await app.WriteAll(asio::buffer(reply));
        rec.close = "bad socks request";
        finish();
        co_return;
      }
      parsed = true;
    }
  } else {
    while (!parsed) {
      const bool more = co_await ReadMore(app, in, &have);
      in_dirty = std::max(in_dirty, have);
      if (!more) {
        rec.close = watchdog.expired() ? "timeout" : "client closed before its request";
        finish();
        co_return;
      }
      HostPort target;
      const HttpConnectStatus st = ParseHttpConnect(in.span().first(have), &head, &target);
      if (st == HttpConnectStatus::kNeedMore) continue;
      if (st != HttpConnectStatus::kOk || !RequestHeaderFor(target, &request)) {
        const int status = st == HttpConnectStatus::kTooLarge    ? 431
                           : st == HttpConnectStatus::kNotConnect ? 405
                                                                  : 400;
        const std::string_view reply = HttpConnectResponse(status);
        (void)co_await app.WriteAll(asio::buffer(reply.data(), reply.size()));
        rec.close = "bad http request";
        finish();
        co_return;
      }
      parsed = true;
    }
  }
  rec.target = FormatHostPort(TargetOf(request));
  co_await OpenTunnel(request, env, dialer, session, watchdog, &t);
  const bool ok = t.code == kConnectOk && t.server.has_value();
  if (protocol == LocalProtocol::kSocks5) {
    const auto reply = Socks5Reply(ok ? kSocks5Succeeded : t.code);
    if (const std::error_code ec = co_await app.WriteAll(asio::buffer(reply)); ec) {
      rec.close = "client write: " + ec.message();
      finish();
      co_return;
    }
  } else {
    const std::string_view reply =
        HttpConnectResponse(ok ? 200 : t.code == kConnectTimedOut ? 504 : 502);
    if (const std::error_code ec = co_await app.WriteAll(asio::buffer(reply.data(), reply.size()));
        ec) {
      rec.close = "client write: " + ec.message();
      finish();
      co_return;
    }
  }
  if (!ok) {
    env.stats->target_failures.fetch_add(1, std::memory_order_relaxed);
    rec.close = t.failure.empty() ? "failed" : t.failure;
    finish();
    co_return;
  }
  env.stats->tunnels.fetch_add(1, std::memory_order_relaxed);
  if (t.early_size > 0) {
    if (co_await app.WriteAll(asio::buffer(t.buffer.data() + t.early_at, t.early_size))) {
      rec.close = "client write";
      finish();
      co_return;
    }
    rec.down += t.early_size;
  }
  // Bytes the application sent after its request (pipelined) go first.
  if (have > head) {
    // (A pooled buffer, not an array: a coroutine's locals live in its
    // frame for the whole connection.)
    pool::Buffer frame = env.pool->Get(kMaxFrameBytes);
    frame.set_wipe_on_return(false);  // ciphertext only
    std::span<const uint8_t> early(in.data() + head, have - head);
    while (!early.empty()) {
      const size_t n = std::min(early.size(), kMaxPayloadBytes);
      size_t w = 0;
      // A hole in the stream would be worse than no stream: any failure
      // ends the connection.
      if (!frame || session.Seal(FrameType::kData, early.first(n), frame.span(), &w) != Error::kOk ||
          co_await t.server->WriteAll(asio::buffer(frame.data(), w))) {
        rec.close = "sending the application's first bytes failed";
        app.Abort();
        t.server->Abort();
        finish();
        co_return;
      }
      rec.up += n;
      early = early.subspan(n);
    }
  }
  in.set_wipe_extent(in_dirty);
  in.Reset();
  co_await RelayTunnel(app, t, session, env, watchdog, rec);
  finish();
}

}  // namespace reflex::proxy

#endif  // REFLEX_PROXY_CLIENT_HANDLER_H_
