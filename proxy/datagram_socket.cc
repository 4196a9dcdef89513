#include "proxy/datagram_socket.h"

#include <netinet/in.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

namespace reflex::proxy {

std::pair<std::error_code, UdpSocket> UdpSocket::Open(asio::any_io_executor executor, const UdpEndpoint& bind) {
  asio::ip::udp::socket socket(executor);
  std::error_code ec;
  socket.open(bind.protocol(), ec);
  // IPv6's wildcard must carry IPv4 too; where it cannot, the error
  // sends the caller to an IPv4 socket.
  const bool dual_stack = bind.address().is_v6() && bind.address().is_unspecified();
  if (!ec && dual_stack) socket.set_option(asio::ip::v6_only(false), ec);
  if (!ec) socket.bind(bind, ec);
  if (!ec) socket.non_blocking(true, ec);
  if (!ec) {
    // The count of datagrams the system dropped, on every receive (a
    // figure for the statistics: a system without it just reports none).
    const int on = 1;
    (void)setsockopt(socket.native_handle(), SOL_SOCKET, SO_RXQ_OVFL, &on, sizeof on);
  }
  UdpSocket s(std::move(socket));
  s.dual_stack_ = dual_stack;
  return {ec, std::move(s)};
}

DatagramReceived UdpSocket::TryReceive(std::span<uint8_t> out, UdpEndpoint* from) {
  if (cancelled_) return {asio::error::operation_aborted};
  sockaddr_storage source{};
  iovec iov{out.data(), out.size()};
  alignas(cmsghdr) uint8_t control[CMSG_SPACE(sizeof(uint32_t))];
  msghdr msg{};
  msg.msg_name = &source;
  msg.msg_namelen = sizeof source;
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  // MSG_TRUNC: the real size of a datagram larger than the span.
  const ssize_t n = recvmsg(socket_.native_handle(), &msg, MSG_TRUNC | MSG_DONTWAIT);
  if (n < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK) return {{}, true};
    // An ICMP error queued for an earlier send: not this socket's failure.
    if (errno == ECONNREFUSED || errno == EHOSTUNREACH || errno == ENETUNREACH) return {{}, true};
    return {std::error_code(errno, std::system_category())};
  }
  for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SO_RXQ_OVFL) {
      uint32_t drops = 0;
      std::memcpy(&drops, CMSG_DATA(c), sizeof drops);
      system_drops_ = drops;
    }
  }
  from->resize(msg.msg_namelen);
  std::memcpy(from->data(), &source, msg.msg_namelen);
  DatagramReceived r;
  r.size = static_cast<size_t>(n);
  r.truncated = r.size > out.size();
  return r;
}

std::error_code UdpSocket::TrySend(std::span<const uint8_t> data, const UdpEndpoint& to) {
  const ssize_t n = sendto(socket_.native_handle(), data.data(), data.size(), MSG_DONTWAIT | MSG_NOSIGNAL,
                           to.data(), static_cast<socklen_t>(to.size()));
  if (n < 0) return std::error_code(errno, std::system_category());
  return {};
}

UdpEndpoint UdpSocket::LocalEndpoint() const {
  std::error_code ec;
  return socket_.local_endpoint(ec);
}

DatagramAddress DatagramAddressOf(const UdpEndpoint& endpoint) {
  DatagramAddress a;
  a.port = endpoint.port();
  asio::ip::address address = endpoint.address();
  if (address.is_v6() && address.to_v6().is_v4_mapped()) {
    address = asio::ip::make_address_v4(asio::ip::v4_mapped, address.to_v6());
  }
  if (address.is_v4()) {
    const auto bytes = address.to_v4().to_bytes();
    a.type = AddressType::kIpv4;
    a.length = kIpv4Bytes;
    std::copy(bytes.begin(), bytes.end(), a.bytes.begin());
  } else {
    const auto bytes = address.to_v6().to_bytes();
    a.type = AddressType::kIpv6;
    a.length = kIpv6Bytes;
    std::copy(bytes.begin(), bytes.end(), a.bytes.begin());
  }
  return a;
}

UdpEndpoint EndpointFor(const asio::ip::address& address, uint16_t port, bool dual_stack) {
  if (dual_stack && address.is_v4()) {
    return UdpEndpoint(asio::ip::make_address_v6(asio::ip::v4_mapped, address.to_v4()), port);
  }
  return UdpEndpoint(address, port);
}

bool IpAddressOf(const DatagramAddress& a, asio::ip::address* out) {
  if (a.type == AddressType::kIpv4 && a.length == kIpv4Bytes) {
    asio::ip::address_v4::bytes_type b;
    std::copy_n(a.bytes.begin(), kIpv4Bytes, b.begin());
    *out = asio::ip::address_v4(b);
    return true;
  }
  if (a.type == AddressType::kIpv6 && a.length == kIpv6Bytes) {
    asio::ip::address_v6::bytes_type b;
    std::copy_n(a.bytes.begin(), kIpv6Bytes, b.begin());
    *out = asio::ip::address_v6(b);
    return true;
  }
  return false;
}

}  // namespace reflex::proxy
