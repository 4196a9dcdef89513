// The server (inbound) side of one connection, on any stream type
// (stream.h): the hello through a ServerSession, then either the tunnel
// (the request's target, relayed both ways) or the fallback (every byte
// received, then a plain splice). Logs one line when the connection ends.
#ifndef REFLEX_PROXY_SERVER_HANDLER_H_
#define REFLEX_PROXY_SERVER_HANDLER_H_

#include <chrono>
#include <cstring>
#include <memory>
#include <string>

#include "proxy/asio_config.h"
#include "proxy/connection_state.h"
#include "proxy/defects.h"
#include "proxy/env.h"
#include "proxy/log.h"
#include "proxy/relay.h"
#include "proxy/stream.h"
#include "proxy/watchdog.h"
#include "reflex/server_session.h"

namespace reflex::proxy {

// Both pumps of a tunnel, until both directions ended or one failed; a
// failure (or the watchdog) resets both streams, which ends the other: a
// failed tunnel never reaches either end as a clean end of stream.
template <class A, class B, class PumpAB, class PumpBA>
awaitable<std::pair<PumpResult, PumpResult>> RunBothWays(A& a, B& b, PumpAB ab, PumpBA ba) {
  using namespace asio::experimental::awaitable_operators;
  auto guard = [&](auto pump) -> awaitable<PumpResult> {
    PumpResult r = co_await std::move(pump);
    if (!r.ok()) {
      a.Abort();
      b.Abort();
    }
    co_return r;
  };
  auto [r1, r2] = co_await (guard(std::move(ab)) && guard(std::move(ba)));
  co_return std::pair<PumpResult, PumpResult>{r1, r2};
}

inline std::string DescribeEnd(const PumpResult& r) {
  if (r.protocol != Error::kOk) return std::string(ErrorName(r.protocol));
  if (r.io) return r.io.message();
  return "done";
}

// The fallback: `held` (what the session consumed) and `rest` (received
// after it, in `storage`) first, then a plain splice both ways. `storage`
// goes back to the pool once they are written. `other` points at the
// fallback's stream while it exists, for the watchdog's cancel.
template <class Stream, class Dialer>
awaitable<void> ServeFallback(Stream& client, std::span<const uint8_t> held,
                              std::span<const uint8_t> rest, bool client_ended, ServerEnv& env,
                              Dialer& dialer, Watchdog& watchdog, ConnectionRecord& rec,
                              pool::Buffer& storage, size_t storage_dirty, Stream*& other) {
  env.stats->fallbacks.fetch_add(1, std::memory_order_relaxed);
  rec.target = "fallback " + FormatHostPort(env.fallback);
  auto dialed = co_await dialer.Connect(env.fallback, watchdog);
  const std::error_code ec = dialed.first;
  auto& fallback = dialed.second;
  if (ec) {
    rec.close = "fallback unreachable: " + ec.message();
    client.Close();
    co_return;
  }
  other = &fallback;
  struct Forget {
    Stream*& other;
    ~Forget() { other = nullptr; }
  } forget{other};
  // Every byte the client sent, in order, before anything else.
  if constexpr (kDefectLostFallbackBytes) held = {};
  const std::array<asio::const_buffer, 2> first = {asio::buffer(held.data(), held.size()),
                                                   asio::buffer(rest.data(), rest.size())};
  if (const std::error_code wec = co_await fallback.WriteAll(first); wec) {
    rec.close = "fallback write: " + wec.message();
    client.Close();
    fallback.Close();
    co_return;
  }
  rec.up += held.size() + rest.size();
  storage.set_wipe_extent(storage_dirty);
  storage.Reset();  // (rest pointed into it)
  if (client_ended) fallback.ShutdownSend();
  watchdog.SetDeadline(Watchdog::Clock::time_point::max());
  // (No conditional operator between two coroutine calls here: GCC 12
  // destroys the unused branch's frame wrongly. The choice is made inside.)
  auto up = [&]() -> awaitable<PumpResult> {
    if (client_ended) co_return PumpResult{};
    co_return co_await CopyPump(client, fallback, env, watchdog, &rec.up);
  };
  auto [r1, r2] = co_await RunBothWays(client, fallback, up(),
                                       CopyPump(fallback, client, env, watchdog, &rec.down));
  rec.close = r1.ok() && r2.ok() ? "fallback done" : "fallback " + DescribeEnd(r1.ok() ? r2 : r1);
  client.Close();
  fallback.Close();
}

// Refuses a request: CLOSE carrying `code`, the end of the server's
// stream, then whatever the client still sends is read and dropped until it
// ends (at most 2 s), so closing does not reset the connection under the
// CLOSE before the client has read it.
template <class Stream>
awaitable<void> Refuse(Stream& client, ServerSession& session, uint8_t code, std::span<uint8_t> scratch,
                       Watchdog& watchdog) {
  std::array<uint8_t, kFrameOverheadBytes + 1> result{};
  size_t size = 0;
  if (session.SealConnectResult(code, result, &size) == Error::kOk &&
      !co_await client.WriteAll(asio::buffer(result.data(), size))) {
    client.ShutdownSend();
    watchdog.SetDeadline(Watchdog::Clock::now() + std::chrono::seconds(2));
    while (true) {
      const IoResult r = co_await client.ReadSome(scratch);
      if (r.ec) break;
    }
  }
  client.Close();
}

// One inbound connection, start to end.
template <class Stream, class Dialer>
awaitable<void> ServeReflexConnection(Stream client, ServerEnv& env, Dialer& dialer) {
  env.stats->ConnectionOpened();
  ServerStatePool::Handle state = env.states->Get();
  if (!state) {
    client.Close();
    env.stats->ConnectionClosed();
    REFLEX_LOG(kWarn, "server: out of memory for a connection's state");
    co_return;
  }
  ConnectionRecord& rec = state->record;
  rec.start = std::chrono::steady_clock::now();
  rec.peer = client.PeerName();
  std::unique_ptr<ServerContext> defect_context;  // REFLEX_DEFECT_ACCEPT_REPLAY only
  if constexpr (kDefectAcceptReplay) {
    ServerConfig config = env.context->config();
    config.replay_capacity = 16;
    (void)ServerContext::Create(config, &defect_context);
  }
  ServerSession& session = state->session.emplace(defect_context ? *defect_context : *env.context,
                                                  *env.clock, *env.random);
  Stream* other = nullptr;  // the target or the fallback, once dialed
  Watchdog watchdog(*env.sweeper, [&client, &other] {
    client.Cancel();
    if (other != nullptr) other->Cancel();
  });
  const auto hello_deadline = Watchdog::Clock::now() +
                              std::chrono::milliseconds(env.context->config().hello_wait_ms);
  watchdog.Start(hello_deadline, env.timeouts.idle);

  // No buffer until the client sends something (a silent connection holds
  // its state only), then a small one for the hello, grown once the
  // handshake is done to hold the request frame.
  pool::Buffer in;
  size_t have = 0;
  size_t in_dirty = 0;  // how far `in` was ever written (its wipe)
  WipeExtent in_extent{in, in_dirty};
  bool request_seen = false;
  RequestHeader request;
  // The request frame's data, and where the frames after it start, in `in`.
  size_t data_at = 0, data_size = 0, rest_at = 0;
  auto finish = [&]() {
    watchdog.Stop();
    env.stats->ConnectionClosed();
    rec.LogLine("server");
  };
  // The hello, then the request: read, feed, until the session decides.
  while (!request_seen) {
    IoResult r;
    if (!in) {
      r.ec = co_await client.WaitReadable();
      if (!r.ec) {
        in = env.pool->Get(kHelloBufferBytes);
        if (!in) {
          rec.close = "out of memory";
          client.Close();
          finish();
          co_return;
        }
      }
    }
    if (!r.ec) r = co_await client.ReadSome(in.span().subspan(have));
    if (r.ec && !(r.ec == asio::error::eof && !session.established())) {
      if (watchdog.expired() && !session.established()) {
        // The hello wait passed: what arrived goes to the fallback, which
        // is watched from now on like any connection.
        SessionEvent e;
        if (session.OnTimer(&e) == Error::kOk && e.kind == SessionEventKind::kFallback) {
          env.stats->timeouts.fetch_add(1, std::memory_order_relaxed);
          client.ClearCancel();
          watchdog.Rearm(Watchdog::Clock::time_point::max());
          co_await ServeFallback(client, e.fallback_bytes, {}, false, env, dialer, watchdog, rec, in,
                                 in_dirty, other);
          finish();
          co_return;
        }
      }
      rec.close = watchdog.expired() ? std::string("timeout ") + watchdog.reason()
                                      : "read: " + r.ec.message();
      if (watchdog.expired()) env.stats->timeouts.fetch_add(1, std::memory_order_relaxed);
      client.Close();
      finish();
      co_return;
    }
    const bool client_ended = r.ec == asio::error::eof;
    have += r.n;
    in_dirty = std::max(in_dirty, have);
    watchdog.Touch();
    if (client_ended && !session.established()) {
      // The client ended before its hello was whole: the fallback gets what
      // it sent, then the end of stream.
      SessionEvent e;
      if (session.OnEndOfInput(&e) == Error::kOk && e.kind == SessionEventKind::kFallback) {
        co_await ServeFallback(client, e.fallback_bytes, in ? in.span().first(have) : std::span<uint8_t>(),
                               true, env, dialer, watchdog, rec, in, in_dirty, other);
        finish();
        co_return;
      }
    }
    size_t at = 0;
    while (!request_seen) {
      size_t used = 0;
      SessionEvent e;
      if (session.Receive(in.span().subspan(at, have - at), &used, &e) != Error::kOk) break;
      at += used;
      if (e.kind == SessionEventKind::kFallback) {
        co_await ServeFallback(client, e.fallback_bytes, in.span().subspan(at, have - at),
                               client_ended, env, dialer, watchdog, rec, in, in_dirty, other);
        finish();
        co_return;
      }
      if (e.kind == SessionEventKind::kHandshakeDone) {
        (e.profile == Profile::kV2 ? env.stats->handshakes_v2 : env.stats->handshakes_v1)
            .fetch_add(1, std::memory_order_relaxed);
        rec.profile = std::string(ProfileName(e.profile));
        rec.user = ShortUserId(env.context->config().users[e.user_index]).data();
        const auto reply = session.PendingOutput();
        if (const std::error_code ec =
                co_await client.WriteAll(asio::buffer(reply.data(), reply.size()));
            ec) {
          rec.close = "write: " + ec.message();
          client.Close();
          finish();
          co_return;
        }
        session.ConsumeOutput(reply.size());
        watchdog.SetDeadline(Watchdog::Clock::now() + env.timeouts.handshake);
        if (in.size() < kHandshakeBufferBytes) {  // room for the request frame
          pool::Buffer bigger = env.pool->Get(kHandshakeBufferBytes);
          if (!bigger) {
            rec.close = "out of memory";
            client.Abort();
            finish();
            co_return;
          }
          std::memcpy(bigger.data(), in.data(), have);  // offsets stay valid
          in.set_wipe_extent(in_dirty);
          in = std::move(bigger);
          in_dirty = have;
        }
        continue;
      }
      if (e.kind == SessionEventKind::kRequest) {
        request = e.request;
        data_at = static_cast<size_t>(e.data.data() - in.data());
        data_size = e.data.size();
        rest_at = at;
        request_seen = true;
        break;
      }
      if (e.kind == SessionEventKind::kError || e.kind == SessionEventKind::kPeerClosed) {
        if (e.kind == SessionEventKind::kError) env.stats->errors.fetch_add(1, std::memory_order_relaxed);
        rec.close = e.kind == SessionEventKind::kError ? std::string(ErrorName(e.reason))
                                                       : "closed before a request";
        client.Close();
        finish();
        co_return;
      }
      if (e.kind == SessionEventKind::kNone && used == 0) break;
    }
    if (request_seen) break;
    if (client_ended) {
      rec.close = "client closed during the handshake";
      client.Close();
      finish();
      co_return;
    }
    std::memmove(in.data(), in.data() + at, have - at);
    have -= at;
  }

  // The target. CONNECT is the only command; anything else is refused
  // with the SOCKS5 code for an unsupported command (SPEC.md 13.4).
  const HostPort target = TargetOf(request);
  rec.target = FormatHostPort(target);
  if (request.command != kCommandConnect) {
    in_dirty = in.size();  // Refuse reads into all of it
    co_await Refuse(client, session, kConnectCommandNotSupported, in.span(), watchdog);
    rec.close = "command " + std::to_string(request.command) + " not supported";
    finish();
    co_return;
  }
  watchdog.SetDeadline(Watchdog::Clock::time_point::max());
  auto [ec, upstream] = co_await dialer.Connect(target, watchdog);
  if (ec) {
    env.stats->target_failures.fetch_add(1, std::memory_order_relaxed);
    in_dirty = in.size();  // Refuse reads into all of it
    co_await Refuse(client, session, ConnectFailureCode(ec), in.span(), watchdog);
    rec.close = "target: " + ec.message();
    finish();
    co_return;
  }
  other = &upstream;
  std::array<uint8_t, kFrameOverheadBytes> connected{};
  size_t connected_size = 0;
  if (session.SealConnectResult(kConnectOk, connected, &connected_size) == Error::kOk) {
    (void)co_await client.WriteAll(asio::buffer(connected.data(), connected_size));
  }
  env.stats->tunnels.fetch_add(1, std::memory_order_relaxed);
  if (data_size > 0) {
    if (const std::error_code wec =
            co_await upstream.WriteAll(asio::buffer(in.data() + data_at, data_size));
        wec) {
      rec.close = "target write: " + wec.message();
      client.Close();
      upstream.Close();
      finish();
      co_return;
    }
    rec.up += data_size;
  }
  // The frames after the request's are the relay's to open.
  std::memmove(in.data(), in.data() + rest_at, have - rest_at);
  have -= rest_at;
  auto [r1, r2] = co_await RunBothWays(
      client, upstream,
      OpenPump(session, client, upstream, std::move(in), have, in_dirty, env, watchdog, &rec.up),
      SealPump(session, upstream, client, env, watchdog, &rec.down));
  if (watchdog.expired()) {
    env.stats->timeouts.fetch_add(1, std::memory_order_relaxed);
    rec.close = std::string("timeout ") + watchdog.reason();
  } else if (r1.protocol != Error::kOk && r1.protocol != Error::kTooShort) {
    env.stats->errors.fetch_add(1, std::memory_order_relaxed);
    rec.close = DescribeEnd(r1);
  } else {
    rec.close = r1.ok() && r2.ok() ? "done" : DescribeEnd(r1.ok() ? r2 : r1);
  }
  env.stats->bytes_up.fetch_add(rec.up, std::memory_order_relaxed);
  env.stats->bytes_down.fetch_add(rec.down, std::memory_order_relaxed);
  client.Close();
  upstream.Close();
  finish();
}

}  // namespace reflex::proxy

#endif  // REFLEX_PROXY_SERVER_HANDLER_H_
