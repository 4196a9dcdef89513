#include "proxy/probe/blocking_udp.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "reflex/datagram.h"
#include "reflex/request_header.h"

namespace reflex::proxy::probe {
namespace {

int BoundUdpSocket(const HostPort& address, uint16_t* port) {
  sockaddr_storage a;
  socklen_t len = 0;
  if (!ToSockaddr(address, &a, &len)) return -1;
  const int fd = socket(a.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  // Room for bursts: the tests count loss, and a small buffer would be
  // the cause.
  const int buffer = 4 << 20;
  setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buffer, sizeof buffer);
  setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &buffer, sizeof buffer);
  if (bind(fd, reinterpret_cast<sockaddr*>(&a), len) != 0) {
    ::close(fd);
    return -1;
  }
  sockaddr_storage bound;
  socklen_t blen = sizeof bound;
  getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &blen);
  *port = FromSockaddr(bound).port;
  return fd;
}

}  // namespace

BlockingUdpSocket::BlockingUdpSocket(const HostPort& address) { fd_ = BoundUdpSocket(address, &port_); }

BlockingUdpSocket::~BlockingUdpSocket() {
  if (fd_ >= 0) ::close(fd_);
}

bool BlockingUdpSocket::SendTo(std::span<const uint8_t> bytes, const HostPort& to) {
  sockaddr_storage a;
  socklen_t len = 0;
  if (fd_ < 0 || !ToSockaddr(to, &a, &len)) return false;
  return sendto(fd_, bytes.data(), bytes.size(), 0, reinterpret_cast<sockaddr*>(&a), len) ==
         static_cast<ssize_t>(bytes.size());
}

std::optional<Datagram> BlockingUdpSocket::Receive(std::chrono::milliseconds timeout) {
  if (fd_ < 0) return std::nullopt;
  pollfd p{fd_, POLLIN, 0};
  if (poll(&p, 1, static_cast<int>(timeout.count())) != 1) return std::nullopt;
  Bytes buffer(65536);
  sockaddr_storage from{};
  socklen_t len = sizeof from;
  const ssize_t n = recvfrom(fd_, buffer.data(), buffer.size(), MSG_DONTWAIT, reinterpret_cast<sockaddr*>(&from), &len);
  if (n < 0) return std::nullopt;
  buffer.resize(static_cast<size_t>(n));
  return Datagram{FromSockaddr(from), std::move(buffer)};
}

UdpEcho::UdpEcho(const HostPort& address) {
  fd_ = BoundUdpSocket(address, &port_);
  if (fd_ < 0 || pipe2(stop_, O_CLOEXEC) != 0) return;
  thread_ = std::thread([this] { Serve(); });
}

UdpEcho::~UdpEcho() {
  if (stop_[1] >= 0) {
    const char x = 0;
    (void)!write(stop_[1], &x, 1);
  }
  if (thread_.joinable()) thread_.join();
  for (int fd : {fd_, stop_[0], stop_[1]}) {
    if (fd >= 0) ::close(fd);
  }
}

void UdpEcho::Serve() {
  Bytes buffer(65536);
  while (true) {
    pollfd p[2] = {{fd_, POLLIN, 0}, {stop_[0], POLLIN, 0}};
    const int ready = poll(p, 2, -1);
    if (ready < 0 && errno == EINTR) continue;
    if (ready < 0 || (p[1].revents & POLLIN) != 0) return;
    sockaddr_storage from{};
    socklen_t len = sizeof from;
    const ssize_t n = recvfrom(fd_, buffer.data(), buffer.size(), MSG_DONTWAIT, reinterpret_cast<sockaddr*>(&from), &len);
    if (n < 0) continue;
    received_.fetch_add(1);  // before the answer: whoever got the answer sees this count
    if (std::string_view(reinterpret_cast<const char*>(buffer.data()), static_cast<size_t>(n)) == kOversizeTrigger) {
      const Bytes too_large(kMaxIpv4DatagramBytes + 1, 0x5a);
      (void)sendto(fd_, too_large.data(), too_large.size(), 0, reinterpret_cast<sockaddr*>(&from), len);
    }
    (void)sendto(fd_, buffer.data(), static_cast<size_t>(n), 0, reinterpret_cast<sockaddr*>(&from), len);
  }
}

int Socks5UdpAssociate(BlockingSocket& control, uint16_t from_port, HostPort* relay) {
  if (!control.Send(Bytes{5, 1, 0})) return -1;
  if (control.ReadExactly(2, std::chrono::seconds(10)) != Bytes{5, 0}) return -1;
  if (!control.Send(Bytes{5, 3, 0, 1, 0, 0, 0, 0, static_cast<uint8_t>(from_port >> 8),
                          static_cast<uint8_t>(from_port)})) {
    return -1;
  }
  const Bytes head = control.ReadExactly(4, std::chrono::seconds(30));
  if (head.size() != 4 || head[0] != 5 || head[2] != 0) return -1;
  const size_t rest = head[3] == 1 ? 6 : head[3] == 4 ? 18 : 0;
  if (rest == 0) return -1;
  const Bytes bound = control.ReadExactly(rest, std::chrono::seconds(10));
  if (bound.size() != rest) return -1;
  char text[INET6_ADDRSTRLEN] = {};
  inet_ntop(rest == 6 ? AF_INET : AF_INET6, bound.data(), text, sizeof text);
  *relay = {text, static_cast<uint16_t>(bound[rest - 2] << 8 | bound[rest - 1])};
  return head[1];
}

Bytes Socks5UdpDatagram(const HostPort& peer, std::span<const uint8_t> data, uint8_t frag) {
  RequestHeader header;
  if (!RequestHeaderFor(peer, &header)) return {};
  Bytes out = {0, 0, frag, static_cast<uint8_t>(header.address_type)};
  if (header.address_type == AddressType::kDomain) out.push_back(header.address_length);
  out.insert(out.end(), header.address.begin(), header.address.begin() + header.address_length);
  out.push_back(static_cast<uint8_t>(peer.port >> 8));
  out.push_back(static_cast<uint8_t>(peer.port));
  out.insert(out.end(), data.begin(), data.end());
  return out;
}

bool ParseSocks5UdpDatagram(std::span<const uint8_t> in, HostPort* peer, Bytes* data) {
  if (in.size() < 3 || in[2] != 0) return false;
  DatagramAddress a;
  size_t n = 0;
  if (DecodeDatagram(in.subspan(3), &a, &n) != Error::kOk) return false;
  RequestHeader h;
  h.address_type = a.type;
  h.address_length = a.length;
  std::copy_n(a.bytes.begin(), a.length, h.address.begin());
  h.port = a.port;
  *peer = TargetOf(h);
  data->assign(in.begin() + 3 + static_cast<ptrdiff_t>(n), in.end());
  return true;
}

Socks5UdpAssociation::Socks5UdpAssociation(const HostPort& socks)
    : control_(socks), udp_(HostPort{socks.host, 0}) {
  code_ = Socks5UdpAssociate(control_, udp_.port(), &relay_);
}

bool Socks5UdpAssociation::Send(const HostPort& to, std::span<const uint8_t> data, uint8_t frag) {
  return udp_.SendTo(Socks5UdpDatagram(to, data, frag), relay_);
}

std::optional<Datagram> Socks5UdpAssociation::Receive(std::chrono::milliseconds timeout) {
  const std::optional<Datagram> d = udp_.Receive(timeout);
  if (!d) return std::nullopt;
  Datagram out;
  if (!ParseSocks5UdpDatagram(d->bytes, &out.peer, &out.bytes)) return std::nullopt;
  return out;
}

}  // namespace reflex::proxy::probe
