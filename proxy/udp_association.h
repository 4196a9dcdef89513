// The two datagram endpoints of a UDP association (SPEC.md 15), as
// datagram_relay.h's pumps drive them:
//   UdpDestinations: the server's side: one unconnected socket, every
//     datagram to the destination its frame names (the egress policy
//     judges each), every datagram that arrives to the client with its
//     source (15.3);
//   LocalUdpRelay: the client's side: the application's SOCKS5 UDP
//     datagrams (RFC 1928 section 7) from the one source allowed, and the
//     server's to it (15.5).
// What cannot go at once is dropped and counted, never queued.
#ifndef REFLEX_PROXY_UDP_ASSOCIATION_H_
#define REFLEX_PROXY_UDP_ASSOCIATION_H_

#include <sodium.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <span>
#include <string>

#include "proxy/asio_config.h"
#include "proxy/datagram_relay.h"
#include "proxy/datagram_socket.h"
#include "proxy/defects.h"
#include "reflex/datagram.h"

namespace reflex::proxy {

// One association's datagrams; added to Stats when it ends.
struct DatagramCounts {
  uint64_t up = 0;        // datagrams sent towards destinations (server) or the server (client)
  uint64_t down = 0;      // datagrams passed the other way
  uint64_t up_bytes = 0;  // their data, without addresses
  uint64_t down_bytes = 0;
  uint64_t dropped = 0;
};

// A datagram dropped in a slot leaves nothing behind: it was plaintext.
inline void WipeDropped(std::span<uint8_t> slot, size_t size) {
  sodium_memzero(slot.data(), std::min(size, slot.size()));
}

// The server's side. `Dialer` opens nothing here; it resolves names and
// holds the egress policy (stream.h's TcpDialer, the memory dialer).
template <class Socket, class Dialer>
class UdpDestinations {
 public:
  UdpDestinations(Socket& socket, Dialer& dialer, uint64_t lookup_key, DatagramCounts& counts)
      : socket_(socket), dialer_(dialer), lookup_key_(lookup_key), counts_(counts) {}

  Error Deliver(std::span<uint8_t> payload, bool* needs_lookup) {
    if (ending_) {  // after this side's CLOSE: read and dropped (SPEC.md 15.4)
      ++counts_.dropped;
      return Error::kOk;
    }
    DatagramAddress address;
    size_t address_bytes = 0;
    if (const Error e = DecodeDatagram(payload, &address, &address_bytes); e != Error::kOk) return e;
    asio::ip::address ip;
    if (!IpAddressOf(address, &ip)) {
      if (!CachedName(address, &ip)) {
        *needs_lookup = true;
        return Error::kOk;
      }
    }
    SendTo(ip, address.port, payload.subspan(address_bytes));
    return Error::kOk;
  }

  // A domain destination: resolved (the first address the policy allows),
  // remembered for the association's next datagrams to the same name.
  awaitable<Error> DeliverAfterLookup(std::span<uint8_t> payload) {
    DatagramAddress address;
    size_t address_bytes = 0;
    if (const Error e = DecodeDatagram(payload, &address, &address_bytes); e != Error::kOk) co_return e;
    const std::string host(reinterpret_cast<const char*>(address.bytes.data()), address.length);
    auto [ec, ip] = co_await dialer_.ResolveDatagramHost(host, lookup_key_);
    // The association may have ended while the name was looked up.
    if (ec || ending_ || aborted_) {
      ++counts_.dropped;
      co_return Error::kOk;
    }
    name_ = address;
    name_ip_ = ip;
    SendTo(ip, address.port, payload.subspan(address_bytes));
    co_return Error::kOk;
  }

  void OnPeerClosed() { End(); }

  awaitable<std::error_code> WaitReadable() { return socket_.WaitReadable(); }

  // A datagram that arrived, after the slot's room for the largest
  // address form; its source's form is written just before it.
  SlotDatagram Next(std::span<uint8_t> slot) {
    constexpr size_t kDataAt = kFramePayloadOffset + kIpv6DatagramAddressBytes;
    while (true) {
      UdpEndpoint from;
      const std::span<uint8_t> room = slot.subspan(kDataAt, kMaxIpv4DatagramBytes);
      const DatagramReceived r = socket_.TryReceive(room, &from);
      if (r.ec) return SlotDatagram{r.ec};
      if (r.none) return SlotDatagram{{}, true};
      const DatagramAddress source = DatagramAddressOf(from);
      size_t form = 0;
      (void)EncodedDatagramAddressSize(source, &form);
      DatagramReceived got = r;
      if constexpr (kDefectUdpTruncateOversize) {
        got.truncated = false;
        got.size = std::min(got.size, kMaxPayloadBytes - form);
      }
      if (got.truncated || got.size > kMaxPayloadBytes - form) {
        WipeDropped(room, got.size);
        ++counts_.dropped;  // never split (SPEC.md 15.2)
        continue;
      }
      const size_t at = kDataAt - form;
      size_t written = 0;
      (void)EncodeDatagramAddress(source, slot.subspan(at, form), &written);
      ++counts_.down;
      counts_.down_bytes += got.size;
      return SlotDatagram{{}, false, at, form + got.size};
    }
  }

  // The association ends (the client's CLOSE, idle, the user removed):
  // the seal pump sends CLOSE.
  void End() {
    ending_ = true;
    socket_.Cancel();
  }
  bool ending() const { return ending_; }
  void Abort() {
    aborted_ = true;
    socket_.Cancel();
  }

 private:
  bool CachedName(const DatagramAddress& address, asio::ip::address* ip) const {
    if (name_.length == 0 || name_.type != AddressType::kDomain ||
        !std::equal(address.bytes.begin(), address.bytes.begin() + address.length, name_.bytes.begin(),
                    name_.bytes.begin() + name_.length)) {
      return false;
    }
    *ip = name_ip_;
    return true;
  }

  // Port 0, an address the policy refuses, or a send the system cannot
  // take now: dropped (UDP has no refusal to pass on).
  void SendTo(const asio::ip::address& ip, uint16_t port, std::span<const uint8_t> data) {
    if (port == 0 || !dialer_.AllowsDatagramTo(ip) ||
        socket_.TrySend(data, EndpointFor(ip, port, socket_.dual_stack()))) {
      ++counts_.dropped;
      return;
    }
    ++counts_.up;
    counts_.up_bytes += data.size();
  }

  Socket& socket_;
  Dialer& dialer_;
  uint64_t lookup_key_;
  DatagramCounts& counts_;
  bool ending_ = false;
  bool aborted_ = false;
  DatagramAddress name_;  // the last name resolved (length 0: none)
  asio::ip::address name_ip_;
};

// The client's side: the application's UDP relay socket.
template <class Socket>
class LocalUdpRelay {
 public:
  // Datagrams are taken from `application` (its IP address; its port, or
  // when that is 0 the port of the first datagram accepted).
  LocalUdpRelay(Socket& socket, UdpEndpoint application, DatagramCounts& counts)
      : socket_(socket), application_(application), counts_(counts) {}

  // The server's datagram to the application: "00 00 00" and the payload,
  // written over the frame's header in front of it. A payload that does
  // not decode is the server's error (the session ends).
  Error Deliver(std::span<uint8_t> payload, bool* /*needs_lookup*/) {
    if (ending_) {  // after this side's CLOSE: read and dropped (SPEC.md 15.4)
      ++counts_.dropped;
      return Error::kOk;
    }
    DatagramAddress address;
    size_t address_bytes = 0;
    if (const Error e = DecodeDatagram(payload, &address, &address_bytes); e != Error::kOk) return e;
    if (application_.port() == 0) {  // it has sent nothing yet: nowhere to go
      ++counts_.dropped;
      return Error::kOk;
    }
    uint8_t* const datagram = payload.data() - kSocksUdpHeaderBytes;
    std::memset(datagram, 0, kSocksUdpHeaderBytes);
    if (socket_.TrySend(std::span<const uint8_t>(datagram, kSocksUdpHeaderBytes + payload.size()), application_)) {
      ++counts_.dropped;
      return Error::kOk;
    }
    ++counts_.down;
    counts_.down_bytes += payload.size() - address_bytes;
    return Error::kOk;
  }
  awaitable<Error> DeliverAfterLookup(std::span<uint8_t>) { co_return Error::kInvalidArgument; }
  void OnPeerClosed() { End(); }

  awaitable<std::error_code> WaitReadable() { return socket_.WaitReadable(); }

  // RSV RSV FRAG land where the frame's length and type go; the payload
  // is the SOCKS5 datagram's address form and data, unchanged.
  SlotDatagram Next(std::span<uint8_t> slot) {
    while (true) {
      UdpEndpoint from;
      const std::span<uint8_t> room = slot.first(slot.size() - kTagBytes);
      const DatagramReceived r = socket_.TryReceive(room, &from);
      if (r.ec) return SlotDatagram{r.ec};
      if (r.none) return SlotDatagram{{}, true};
      if (!Accepts(from) || r.truncated || r.size < kSocksUdpHeaderBytes || r.size - kSocksUdpHeaderBytes > kMaxPayloadBytes ||
          slot[2] != 0 /* FRAG */ || !Decodes(room.subspan(kSocksUdpHeaderBytes, r.size - kSocksUdpHeaderBytes))) {
        WipeDropped(room, r.size);
        ++counts_.dropped;
        continue;
      }
      if (application_.port() == 0) application_.port(from.port());
      ++counts_.up;
      counts_.up_bytes += r.size - kSocksUdpHeaderBytes;
      return SlotDatagram{{}, false, kSocksUdpHeaderBytes, r.size - kSocksUdpHeaderBytes};
    }
  }

  // The application closed its control connection, or the server ended
  // the association: the seal pump sends CLOSE.
  void End() {
    ending_ = true;
    socket_.Cancel();
  }
  bool ending() const { return ending_; }
  void Abort() { socket_.Cancel(); }

 private:
  static constexpr size_t kSocksUdpHeaderBytes = 3;  // RSV (2), FRAG (1)
  static_assert(kSocksUdpHeaderBytes == kFramePayloadOffset, "the SOCKS5 header takes the frame header's place");

  static bool Decodes(std::span<const uint8_t> payload) {
    DatagramAddress address;
    size_t n = 0;
    return DecodeDatagram(payload, &address, &n) == Error::kOk;
  }
  // The application's address, and its port once known (RFC 1928 section
  // 7: datagrams from any other source are dropped).
  bool Accepts(const UdpEndpoint& from) const {
    return Unmapped(from.address()) == Unmapped(application_.address()) &&
           (application_.port() == 0 || from.port() == application_.port());
  }
  static asio::ip::address Unmapped(const asio::ip::address& a) {
    if (a.is_v6() && a.to_v6().is_v4_mapped()) return asio::ip::make_address_v4(asio::ip::v4_mapped, a.to_v6());
    return a;
  }

  Socket& socket_;
  UdpEndpoint application_;
  DatagramCounts& counts_;
  bool ending_ = false;
};

}  // namespace reflex::proxy

#endif  // REFLEX_PROXY_UDP_ASSOCIATION_H_
