// The two pumps of a UDP association (SPEC.md 15), one per direction, over
// a tunnel stream and a datagram endpoint (udp_association.h: the server's
// destinations, the client's local relay):
//   DatagramOpenPump: frames from the tunnel, opened in place; each DATA
//                     payload is one datagram, handed to the endpoint; the
//                     peer's CLOSE ends the endpoint;
//   DatagramSealPump: datagrams from the endpoint, each placed in a frame
//                     slot and sealed in place, a batch sent with one
//                     gathered write; the endpoint ending seals CLOSE.
// Nothing waits for a datagram's sake: an endpoint that cannot send one at
// once drops it, and while the tunnel's write is pending the endpoint's
// datagrams wait in the system's receive buffer (bounded; the system drops
// and counts the rest). Buffers come from the pool, per batch.
//
// An endpoint provides:
//   Error Deliver(std::span<uint8_t> payload, bool* needs_lookup)
//       one datagram's payload; three writable bytes precede it (the
//       opened frame's header). Malformed: the session error to end with.
//       *needs_lookup: call DeliverAfterLookup instead (a name to resolve).
//   awaitable<Error> DeliverAfterLookup(std::span<uint8_t> payload)
//   void OnPeerClosed()                      the peer's CLOSE came
//   awaitable<std::error_code> WaitReadable()
//   SlotDatagram Next(std::span<uint8_t> slot)  the next datagram, placed
//                                            in a slot of kDatagramSlotBytes
//   bool ending() const                      seal CLOSE: the association ends
//   void Abort()                             the relay failed
#ifndef REFLEX_PROXY_DATAGRAM_RELAY_H_
#define REFLEX_PROXY_DATAGRAM_RELAY_H_

#include <array>
#include <chrono>
#include <cstring>
#include <span>

#include "pool/buffer.h"
#include "proxy/asio_config.h"
#include "proxy/env.h"
#include "proxy/relay.h"
#include "proxy/watchdog.h"
#include "reflex/datagram.h"
#include "reflex/wire.h"

namespace reflex::proxy {

// A frame slot: room for the frame's length and type, the largest address
// form a source gets (IPv6), the largest datagram after an IPv4 one, and
// the tag. Seven fill a large buffer.
inline constexpr size_t kDatagramSlotBytes =
    kFramePayloadOffset + kIpv6DatagramAddressBytes + kMaxIpv4DatagramBytes + kTagBytes;
inline constexpr size_t kDatagramSlotsPerWrite = kLargeBufferBytes / kDatagramSlotBytes;
static_assert(kDatagramSlotsPerWrite == 7, "seven slots a large buffer");

// How long one side of an association waits for the answer to its CLOSE
// (SPEC.md 15.4) before it closes the connection anyway.
inline constexpr std::chrono::seconds kAssociationCloseWait{2};

// Where an endpoint put a datagram in a slot: its frame payload at
// slot[at, at + size), with at >= 3 (the frame's length and type go
// before it).
struct SlotDatagram {
  std::error_code ec;
  bool none = false;  // nothing (more) waiting
  size_t at = 0;
  size_t size = 0;
};

// Frames from the tunnel to the endpoint. `buffer` may hold `have` bytes
// already received (the rest of the read that held the request).
template <class Session, class Tunnel, class Endpoint>
awaitable<PumpResult> DatagramOpenPump(Session& session, Tunnel& tunnel, Endpoint& endpoint, pool::Buffer buffer,
                                       size_t have, size_t dirty, const ProxyEnv& env, Watchdog& watchdog) {
  WipeExtent extent{buffer, dirty};
  bool read_more = have == 0;
  uint64_t delivered = 0;
  while (true) {
    if (have == 0 && buffer) {  // idle: hold nothing while waiting
      buffer.set_wipe_extent(dirty);
      buffer.Reset();
      read_more = true;
    }
    if (!buffer) {
      if (const std::error_code ec = co_await tunnel.WaitReadable(); ec) co_return PumpResult{ec};
      buffer = env.pool->Get(kLargeBufferBytes);
      if (!buffer) co_return PumpResult{{}, Error::kAllocFailed};
      dirty = 0;
    }
    if (read_more) {
      const IoResult r = co_await tunnel.ReadSome(buffer.span().subspan(have));
      if (r.ec == asio::error::eof) co_return PumpResult{{}, Error::kTooShort};
      if (r.ec) co_return PumpResult{r.ec};
      have += r.n;
      dirty = std::max(dirty, have);
    }
    const OpenedBatch batch = OpenFrames(session, buffer.span().first(have), &delivered);
    for (size_t k = 0; k < batch.count; ++k) {
      // The payload sits in `buffer`: its own memory, writable.
      const size_t at = static_cast<size_t>(static_cast<const uint8_t*>(batch.data[k].data()) - buffer.data());
      const std::span<uint8_t> payload(buffer.data() + at, batch.data[k].size());
      bool needs_lookup = false;
      Error e = endpoint.Deliver(payload, &needs_lookup);
      if (needs_lookup) e = co_await endpoint.DeliverAfterLookup(payload);
      if (e != Error::kOk) co_return PumpResult{{}, e};
    }
    if (batch.count > 0) watchdog.Touch();
    if (batch.error != Error::kOk) co_return PumpResult{{}, batch.error};
    if (batch.peer_closed) {
      endpoint.OnPeerClosed();
      co_return PumpResult{};
    }
    std::memmove(buffer.data(), buffer.data() + batch.used, have - batch.used);
    have -= batch.used;
    read_more = !batch.full();
  }
}

// Datagrams from the endpoint to the tunnel; CLOSE once it is ending.
template <class Session, class Endpoint, class Tunnel>
awaitable<PumpResult> DatagramSealPump(Session& session, Endpoint& endpoint, Tunnel& tunnel, const ProxyEnv& env,
                                       Watchdog& watchdog) {
  while (true) {
    const std::error_code wait = co_await endpoint.WaitReadable();
    if (endpoint.ending()) {
      std::array<uint8_t, kFrameOverheadBytes> close{};
      size_t written = 0;
      if (const Error e = session.SealClose(close, &written); e != Error::kOk) co_return PumpResult{{}, e};
      if (const std::error_code ec = co_await tunnel.WriteAll(asio::buffer(close.data(), written)); ec) {
        co_return PumpResult{ec};
      }
      tunnel.ShutdownSend();
      co_return PumpResult{};
    }
    if (wait) co_return PumpResult{wait};
    pool::Buffer buffer = env.pool->Get(kLargeBufferBytes);
    if (!buffer) co_return PumpResult{{}, Error::kAllocFailed};
    size_t dirty = 0;  // datagrams are plaintext until sealed: wiped up to here
    std::array<asio::const_buffer, kDatagramSlotsPerWrite> frames;
    size_t count = 0;
    while (count < kDatagramSlotsPerWrite) {
      const std::span<uint8_t> slot = buffer.span().subspan(count * kDatagramSlotBytes, kDatagramSlotBytes);
      const SlotDatagram d = endpoint.Next(slot);
      if (d.ec) {
        buffer.set_wipe_extent(kDatagramSlotsPerWrite * kDatagramSlotBytes);
        co_return PumpResult{d.ec};
      }
      if (d.none) break;
      dirty = count * kDatagramSlotBytes + d.at + d.size + kTagBytes;
      uint8_t* frame = slot.data() + d.at - kFramePayloadOffset;
      size_t written = 0;
      if (const Error e = session.Seal(FrameType::kData, std::span<const uint8_t>(slot.data() + d.at, d.size),
                                       std::span<uint8_t>(frame, slot.size() - (d.at - kFramePayloadOffset)),
                                       &written);
          e != Error::kOk) {
        buffer.set_wipe_extent(dirty);
        co_return PumpResult{{}, e};
      }
      frames[count++] = asio::buffer(frame, written);
    }
    buffer.set_wipe_extent(dirty);
    if (count == 0) continue;
    if (const std::error_code ec =
            co_await tunnel.WriteAll(std::span<const asio::const_buffer>(frames.data(), count));
        ec) {
      co_return PumpResult{ec};
    }
    watchdog.Touch();
  }
}

}  // namespace reflex::proxy

#endif  // REFLEX_PROXY_DATAGRAM_RELAY_H_
