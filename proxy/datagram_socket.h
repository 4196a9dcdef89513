// The UDP side of an association (SPEC.md 15): a socket that is never
// waited on for a send and never holds a datagram for later. A handler is
// a template over its socket type, so the same code runs on UdpSocket and,
// in tests and the fuzz target, on MemoryDatagramSocket
// (proxy/testing/memory_transport.h).
//
//   WaitReadable()           -> ec (no buffer held while nothing arrives)
//   TryReceive(span, &from)  -> a datagram that has arrived, without waiting
//   TrySend(span, to)        -> ec; would_block when the system cannot take
//                               it now (the caller drops it: never queued)
//   LocalEndpoint(), Close(), Cancel() (pending and later waits end
//   aborted), SystemDrops() (datagrams the system dropped for want of
//   room in the receive buffer, since the socket opened)
#ifndef REFLEX_PROXY_DATAGRAM_SOCKET_H_
#define REFLEX_PROXY_DATAGRAM_SOCKET_H_

#include <cstddef>
#include <cstdint>
#include <span>
#include <system_error>
#include <utility>

#include "proxy/asio_config.h"
#include "reflex/datagram.h"

namespace reflex::proxy {

using UdpEndpoint = asio::ip::udp::endpoint;

struct DatagramReceived {
  std::error_code ec;
  bool none = false;       // nothing waiting
  size_t size = 0;         // the datagram's real size
  bool truncated = false;  // larger than the span: only its start was kept
};

class UdpSocket {
 public:
  // Unconnected, bound to `bind` (port 0: the system chooses). Where the
  // address is IPv6's wildcard, IPv4 is carried too (mapped addresses).
  static std::pair<std::error_code, UdpSocket> Open(asio::any_io_executor executor, const UdpEndpoint& bind);

  UdpSocket(UdpSocket&&) = default;
  UdpSocket& operator=(UdpSocket&&) = default;

  awaitable<std::error_code> WaitReadable() {
    if (cancelled_) co_return asio::error::operation_aborted;
    auto [ec] = co_await socket_.async_wait(asio::ip::udp::socket::wait_read, kUseTuple);
    co_return ec;
  }
  DatagramReceived TryReceive(std::span<uint8_t> out, UdpEndpoint* from);
  std::error_code TrySend(std::span<const uint8_t> data, const UdpEndpoint& to);
  UdpEndpoint LocalEndpoint() const;
  uint64_t SystemDrops() const { return system_drops_; }
  void Cancel() {
    cancelled_ = true;
    std::error_code ignored;
    socket_.cancel(ignored);
  }
  void Close() {
    std::error_code ignored;
    socket_.close(ignored);
  }
  bool dual_stack() const { return dual_stack_; }

 private:
  explicit UdpSocket(asio::ip::udp::socket socket) : socket_(std::move(socket)) {}
  asio::ip::udp::socket socket_;
  bool cancelled_ = false;
  bool dual_stack_ = false;
  uint64_t system_drops_ = 0;  // SO_RXQ_OVFL's count, as of the last receive
};

// The address form of a datagram's source (SPEC.md 15.2): an IPv4-mapped
// IPv6 address as the IPv4 address it carries.
DatagramAddress DatagramAddressOf(const UdpEndpoint& endpoint);
// An IP destination's address (false for a domain).
[[nodiscard]] bool IpAddressOf(const DatagramAddress& address, asio::ip::address* out);
// Where a socket sends to reach `address`: a socket bound to IPv6's
// wildcard reaches an IPv4 address at its mapped address.
UdpEndpoint EndpointFor(const asio::ip::address& address, uint16_t port, bool dual_stack);

}  // namespace reflex::proxy

#endif  // REFLEX_PROXY_DATAGRAM_SOCKET_H_
