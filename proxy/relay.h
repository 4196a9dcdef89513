// The relays of a connection, one coroutine (pump) per direction:
//   SealPump:       plaintext from a stream, sealed into frames, written to
//                   the tunnel; its end of stream becomes CLOSE;
//   ShapedSealPump: the same, shaped by a morphing profile;
//   OpenPump:       frames from the tunnel, opened in place, the data
//                   written to a stream; the peer's CLOSE becomes a
//                   half-close (FIN);
//   CopyPump:       a plain byte copy (the fallback).
// RunBothWays runs two pumps until both end; RecordRelayEnd turns how they
// ended into the connection's close reason. A pump holds a pooled buffer
// only while bytes are moving: an idle tunnel waits for readability with
// no buffer at all.
#ifndef REFLEX_PROXY_RELAY_H_
#define REFLEX_PROXY_RELAY_H_

#include <array>
#include <cstring>
#include <span>
#include <string>
#include <utility>

#include "pool/buffer.h"
#include "proxy/defects.h"
#include "proxy/asio_config.h"
#include "proxy/close_reason.h"
#include "proxy/connection_state.h"
#include "proxy/env.h"
#include "proxy/stream.h"
#include "proxy/watchdog.h"
#include "reflex/frame_channel.h"
#include "reflex/wire.h"

namespace reflex::proxy {

// How a pump ended.
struct PumpResult {
  std::error_code io;       // an I/O error, or none
  Error protocol = Error::kOk;  // a session error (the tunnel's bytes were bad)
  bool ok() const { return !io && protocol == Error::kOk; }
};

// A failed pump in words: the session error's name or the I/O error's text.
inline std::string DescribeFailure(const PumpResult& r) {
  if (r.protocol != Error::kOk) return std::string(ErrorName(r.protocol));
  return r.io.message();
}

// The close reason of a relay whose pumps ended with `a` and `b`: the
// watchdog's expiry, both done, or the first failure (`a`'s if both).
inline void RecordRelayEnd(const PumpResult& a, const PumpResult& b, const Watchdog& watchdog,
                           ConnectionRecord& rec) {
  if (watchdog.expired()) return rec.Close(CloseReason::kTimeout, watchdog.reason());
  if (a.ok() && b.ok()) return rec.Close(CloseReason::kDone);
  const PumpResult& failed = a.ok() ? b : a;
  if (failed.protocol == Error::kTooShort) return rec.Close(CloseReason::kTunnelCut);
  if (failed.protocol == Error::kAllocFailed) return rec.Close(CloseReason::kOutOfMemory);
  if (failed.protocol != Error::kOk) {
    return rec.Close(CloseReason::kSessionError, ErrorName(failed.protocol));
  }
  rec.Close(CloseReason::kRelayFailed, failed.io.message());
}

// Both pumps of a relay, until both directions ended or one failed; a
// failure (or the watchdog) resets both streams, which ends the other: a
// failed tunnel never reaches either end as a clean end of stream.
// `ab` runs in this coroutine and `ba` beside it (co_spawn); a timer that
// never expires stands for "ba ended" (its cancel wakes the wait). Lighter
// than awaitable_operators' && (no parallel group, no cancellation slots):
// an idle tunnel holds two coroutine frames fewer per side.
template <class A, class B, class PumpAB, class PumpBA>
awaitable<std::pair<PumpResult, PumpResult>> RunBothWays(A& a, B& b, PumpAB ab, PumpBA ba) {
  const auto executor = co_await asio::this_coro::executor;
  struct Other {
    PumpResult result;
    bool done = false;
    asio::steady_timer ended;
  } other{{}, false, asio::steady_timer(executor, asio::steady_timer::time_point::max())};
  auto fail_both = [&a, &b](const PumpResult& r) {
    if (!r.ok()) {
      a.Abort();
      b.Abort();
    }
  };
  asio::co_spawn(executor, std::move(ba), [&other, fail_both](std::exception_ptr e, PumpResult r) {
    if (e) r = PumpResult{asio::error::fault};
    fail_both(r);
    other.result = r;
    other.done = true;
    other.ended.cancel();
  });
  // An exception (a frame that could not be allocated) must not leave this
  // frame while `ba` still refers to `other`: it ends this pump as a fault.
  PumpResult first;
  try {
    first = co_await std::move(ab);
  } catch (...) {
    first = PumpResult{asio::error::fault};
  }
  fail_both(first);
  while (!other.done) (void)co_await other.ended.async_wait(kUseTuple);
  co_return std::pair<PumpResult, PumpResult>{first, other.result};
}

// Limits a buffer's wipe to the bytes written into it, whatever way the
// pump ends (pool/buffer.h: set_wipe_extent).
struct WipeExtent {
  pool::Buffer& buffer;
  size_t& dirty;
  ~WipeExtent() { buffer.set_wipe_extent(dirty); }
};

// What one pass over received bytes opened: the data of up to a batch of
// DATA frames (in place, ready for one gathered write), how many bytes of
// whole frames it handled, and whether the peer's CLOSE or a failed frame
// ended the pass.
struct OpenedBatch {
  std::array<asio::const_buffer, 32> data;
  size_t count = 0;
  size_t used = 0;
  bool peer_closed = false;
  Error error = Error::kOk;
  bool full() const { return count == data.size(); }
};

// Opens the whole frames at the start of `received`, in place. Nothing of
// a failed frame reaches the batch: the session refuses the frame before
// any byte of it is delivered.
template <class Session>
OpenedBatch OpenFrames(Session& session, std::span<uint8_t> received, uint64_t* delivered) {
  OpenedBatch batch;
  while (!batch.full()) {
    size_t used = 0;
    SessionEvent e;
    if (session.Receive(received.subspan(batch.used), &used, &e) != Error::kOk) {
      batch.error = Error::kInvalidArgument;
      break;
    }
    batch.used += used;
    if (e.kind == SessionEventKind::kData) {
      batch.data[batch.count++] = asio::buffer(e.data.data(), e.data.size());
      *delivered += e.data.size();
    } else if (e.kind == SessionEventKind::kPeerClosed) {
      batch.peer_closed = true;
      break;
    } else if (e.kind == SessionEventKind::kError) {
      batch.error = e.reason;
      break;
    } else if (e.kind == SessionEventKind::kNone && used == 0) {
      break;
    }
  }
  return batch;
}

// Frames from `tunnel` to `plain`. `buffer` may hold `have` bytes already
// received (the rest of the read that completed the handshake); `dirty` is
// how far it was ever written. The buffer is kept while bytes keep
// arriving and given back when the tunnel goes idle.
template <class Session, class Tunnel, class Plain>
awaitable<PumpResult> OpenPump(Session& session, Tunnel& tunnel, Plain& plain, pool::Buffer buffer,
                               size_t have, size_t dirty, const ProxyEnv& env, Watchdog& watchdog,
                               uint64_t* delivered) {
  WipeExtent extent{buffer, dirty};
  bool read_more = have == 0;
  while (true) {
    if (have == 0 && buffer) {
      const IoResult r = tunnel.TryRead(buffer.span());
      if (r.ec == asio::error::eof) co_return PumpResult{{}, Error::kTooShort};
      if (r.ec) co_return PumpResult{r.ec};
      have = r.n;
      dirty = std::max(dirty, have);
      read_more = have == 0;
      if (have == 0) {  // idle: hold nothing while waiting
        buffer.set_wipe_extent(dirty);
        buffer.Reset();
      } else {
        watchdog.Touch();
      }
    }
    if (!buffer) {
      if (const std::error_code ec = co_await tunnel.WaitReadable(); ec) co_return PumpResult{ec};
      buffer = env.pool->Get(kLargeBufferBytes);
      if (!buffer) co_return PumpResult{{}, Error::kAllocFailed};
      dirty = 0;
      read_more = true;
    }
    if (read_more) {
      const IoResult r = co_await tunnel.ReadSome(buffer.span().subspan(have));
      // The tunnel ended without the peer's CLOSE: the stream was cut.
      if (r.ec == asio::error::eof) co_return PumpResult{{}, Error::kTooShort};
      if (r.ec) co_return PumpResult{r.ec};
      watchdog.Touch();
      have += r.n;
      dirty = std::max(dirty, have);
    }
    const OpenedBatch batch = OpenFrames(session, buffer.span().first(have), delivered);
    if (batch.count > 0) {
      const std::span<const asio::const_buffer> data(batch.data.data(), batch.count);
      if (const std::error_code ec = co_await plain.WriteAll(data); ec) co_return PumpResult{ec};
      watchdog.Touch();
    }
    if constexpr (kDefectForwardAfterFailure) {
      if (batch.error != Error::kOk && have > batch.used) {
        (void)co_await plain.WriteAll(asio::buffer(buffer.data() + batch.used, have - batch.used));
      }
    }
    if (batch.error != Error::kOk) co_return PumpResult{{}, batch.error};
    if (batch.peer_closed) {
      plain.ShutdownSend();
      co_return PumpResult{};
    }
    // Keep what is left (a partial frame, or whole frames past a full
    // batch) at the front of the buffer; read again only when no whole
    // frame is waiting.
    std::memmove(buffer.data(), buffer.data() + batch.used, have - batch.used);
    have -= batch.used;
    read_more = !batch.full();
  }
}

// Plaintext from `plain` to the tunnel: one read scattered over the
// payload areas of up to kMaxFramesPerWrite frame slots (one while reads
// are small), each slot sealed in place, the frames sent with one gathered
// write. Its end of stream seals CLOSE.
template <class Session, class Plain, class Tunnel>
awaitable<PumpResult> SealPump(Session& session, Plain& plain, Tunnel& tunnel, const ProxyEnv& env,
                               Watchdog& watchdog, uint64_t* sent) {
  constexpr size_t kSlot = kMaxFrameBytes;
  bool busy = false;  // data is streaming: use large buffers
  while (true) {
    if (const std::error_code ec = co_await plain.WaitReadable(); ec) co_return PumpResult{ec};
    pool::Buffer buffer = env.pool->Get(busy ? kLargeBufferBytes : kSmallBufferBytes);
    if (!buffer) co_return PumpResult{{}, Error::kAllocFailed};
    buffer.set_wipe_on_return(false);  // only ciphertext is left in it (unless a seal fails)
    const size_t slots = busy ? kMaxFramesPerWrite : 1;
    const size_t close_at = slots * kSlot;  // where a CLOSE goes
    std::array<asio::mutable_buffer, kMaxFramesPerWrite> payloads;
    for (size_t k = 0; k < slots; ++k) {
      payloads[k] = asio::buffer(buffer.data() + k * kSlot + kFramePayloadOffset, kMaxPayloadBytes);
    }
    const IoResult r = co_await plain.ReadSomeV(std::span<const asio::mutable_buffer>(payloads.data(), slots));
    const bool eof = r.ec == asio::error::eof;
    if (r.ec && !eof) co_return PumpResult{r.ec};
    // Large buffers once a read fills the one slot; small again once a
    // read brings less than a frame's worth.
    busy = r.n >= kMaxPayloadBytes;
    std::array<asio::const_buffer, kMaxFramesPerWrite + 1> frames;
    size_t count = 0;
    for (size_t left = r.n; left > 0; ++count) {
      const size_t n = std::min(left, kMaxPayloadBytes);
      uint8_t* frame = buffer.data() + count * kSlot;
      size_t written = 0;
      if (const Error e = session.Seal(FrameType::kData, std::span<const uint8_t>(frame + kFramePayloadOffset, n),
                                       std::span<uint8_t>(frame, kSlot), &written);
          e != Error::kOk) {
        buffer.set_wipe_on_return(true);  // plaintext is left in the slots not sealed
        co_return PumpResult{{}, e};
      }
      frames[count] = asio::buffer(frame, written);
      left -= n;
    }
    *sent += r.n;
    if (eof) {
      size_t written = 0;
      if (const Error e = session.SealClose(buffer.span().subspan(close_at), &written); e != Error::kOk) {
        co_return PumpResult{{}, e};
      }
      frames[count++] = asio::buffer(buffer.data() + close_at, written);
    }
    if (count > 0) {
      if (const std::error_code ec =
              co_await tunnel.WriteAll(std::span<const asio::const_buffer>(frames.data(), count));
          ec) {
        co_return PumpResult{ec};
      }
      watchdog.Touch();
    }
    if (eof) {
      tunnel.ShutdownSend();
      co_return PumpResult{};
    }
  }
}

// The same, shaped by a morphing profile: each slot waits for its send
// time (the session draws it; this coroutine waits, never the library).
template <class Session, class Plain, class Tunnel>
awaitable<PumpResult> ShapedSealPump(Session& session, Shaper& shaper, Plain& plain, Tunnel& tunnel,
                                     const ProxyEnv& env, Watchdog& watchdog, uint64_t* sent) {
  asio::steady_timer timer(co_await asio::this_coro::executor);
  while (true) {
    if (const std::error_code ec = co_await plain.WaitReadable(); ec) co_return PumpResult{ec};
    pool::Buffer in = env.pool->Get(kPlainBufferBytes);
    pool::Buffer out = env.pool->Get(kMaxMorphSlotBytes);
    if (!in || !out) co_return PumpResult{{}, Error::kAllocFailed};
    const IoResult r = co_await plain.ReadSome(in.span());
    const bool eof = r.ec == asio::error::eof;
    if (r.ec && !eof) co_return PumpResult{r.ec};
    std::span<const uint8_t> data(in.data(), r.n);
    *sent += r.n;
    while (!data.empty()) {
      ShapedOutput slot;
      if (const Error e = session.SealShaped(shaper, data, out.span(), &slot); e != Error::kOk) {
        co_return PumpResult{{}, e};
      }
      const int64_t wait_ms = slot.send_at_ms - env.clock->MonotonicMillis();
      if (wait_ms > 0) {
        timer.expires_after(std::chrono::milliseconds(wait_ms));
        auto [ec] = co_await timer.async_wait(kUseTuple);
        if (ec) co_return PumpResult{ec};
      }
      if (const std::error_code ec = co_await tunnel.WriteAll(asio::buffer(out.data(), slot.wire_bytes));
          ec) {
        co_return PumpResult{ec};
      }
      watchdog.Touch();
      data = data.subspan(slot.data_taken);
    }
    if (eof) {
      size_t written = 0;
      if (const Error e = session.SealClose(out.span(), &written); e != Error::kOk) {
        co_return PumpResult{{}, e};
      }
      if (const std::error_code ec = co_await tunnel.WriteAll(asio::buffer(out.data(), written)); ec) {
        co_return PumpResult{ec};
      }
      tunnel.ShutdownSend();
      co_return PumpResult{};
    }
  }
}

// A plain copy from one stream to another, until end of stream (then a
// half-close) or an error.
template <class From, class To>
awaitable<PumpResult> CopyPump(From& from, To& to, const ProxyEnv& env, Watchdog& watchdog,
                               uint64_t* copied) {
  while (true) {
    if (const std::error_code ec = co_await from.WaitReadable(); ec) co_return PumpResult{ec};
    pool::Buffer buffer = env.pool->Get(kPlainBufferBytes);
    if (!buffer) co_return PumpResult{{}, Error::kAllocFailed};
    const IoResult r = co_await from.ReadSome(buffer.span());
    if (r.ec == asio::error::eof) {
      to.ShutdownSend();
      co_return PumpResult{};
    }
    if (r.ec) co_return PumpResult{r.ec};
    if (const std::error_code ec = co_await to.WriteAll(asio::buffer(buffer.data(), r.n)); ec) {
      co_return PumpResult{ec};
    }
    *copied += r.n;
    watchdog.Touch();
  }
}

}  // namespace reflex::proxy

#endif  // REFLEX_PROXY_RELAY_H_
