#include "proxy/probe/blocking_socket.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace reflex::proxy::probe {

bool ToSockaddr(const HostPort& hp, sockaddr_storage* out, socklen_t* len) {
  std::memset(out, 0, sizeof(*out));
  auto* v4 = reinterpret_cast<sockaddr_in*>(out);
  if (inet_pton(AF_INET, hp.host.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(hp.port);
    *len = sizeof(sockaddr_in);
    return true;
  }
  auto* v6 = reinterpret_cast<sockaddr_in6*>(out);
  if (inet_pton(AF_INET6, hp.host.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(hp.port);
    *len = sizeof(sockaddr_in6);
    return true;
  }
  return false;
}

HostPort FromSockaddr(const sockaddr_storage& address) {
  char text[INET6_ADDRSTRLEN] = {};
  if (address.ss_family == AF_INET) {
    const auto* v4 = reinterpret_cast<const sockaddr_in*>(&address);
    inet_ntop(AF_INET, &v4->sin_addr, text, sizeof text);
    return {text, ntohs(v4->sin_port)};
  }
  const auto* v6 = reinterpret_cast<const sockaddr_in6*>(&address);
  inet_ntop(AF_INET6, &v6->sin6_addr, text, sizeof text);
  return {text, ntohs(v6->sin6_port)};
}

namespace {

int MillisLeft(std::chrono::steady_clock::time_point until) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      until - std::chrono::steady_clock::now());
  return static_cast<int>(std::max<int64_t>(0, left.count()));
}

}  // namespace

BlockingSocket::BlockingSocket(const HostPort& target) {
  sockaddr_storage a;
  socklen_t len = 0;
  if (!ToSockaddr(target, &a, &len)) return;
  fd_ = socket(a.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd_ < 0) return;
  if (connect(fd_, reinterpret_cast<sockaddr*>(&a), len) != 0) {
    Close();
    return;
  }
  const int one = 1;
  setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

BlockingSocket::~BlockingSocket() { Close(); }

BlockingSocket& BlockingSocket::operator=(BlockingSocket&& o) noexcept {
  if (this != &o) {
    Close();
    fd_ = o.fd_;
    o.fd_ = -1;
  }
  return *this;
}

void BlockingSocket::Close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

bool BlockingSocket::Send(std::span<const uint8_t> bytes) {
  if (fd_ < 0) return false;
  while (!bytes.empty()) {
    const ssize_t w = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (w <= 0) return false;
    bytes = bytes.subspan(static_cast<size_t>(w));
  }
  return true;
}

void BlockingSocket::ShutdownSend() {
  if (fd_ >= 0) ::shutdown(fd_, SHUT_WR);
}

Bytes BlockingSocket::ReadSome(size_t max, std::chrono::milliseconds timeout, bool* ended) {
  *ended = false;
  if (fd_ < 0) {
    *ended = true;
    return {};
  }
  const auto until = std::chrono::steady_clock::now() + timeout;
  while (true) {
    pollfd p{fd_, POLLIN, 0};
    const int ready = poll(&p, 1, MillisLeft(until));
    if (ready < 0 && errno == EINTR) continue;  // a signal is not the peer's doing
    if (ready <= 0) return {};
    Bytes out(std::min<size_t>(max, 65536));
    const ssize_t n = ::recv(fd_, out.data(), out.size(), 0);
    if (n < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)) continue;
    if (n <= 0) {
      *ended = true;  // end of stream, or reset
      return {};
    }
    out.resize(static_cast<size_t>(n));
    return out;
  }
}

Bytes BlockingSocket::ReadAll(std::chrono::milliseconds timeout, bool* ended) {
  Bytes out;
  const auto until = std::chrono::steady_clock::now() + timeout;
  *ended = false;
  while (!*ended) {
    const int left = MillisLeft(until);
    if (left == 0) break;
    const Bytes part = ReadSome(65536, std::chrono::milliseconds(left), ended);
    if (part.empty() && !*ended) break;
    out.insert(out.end(), part.begin(), part.end());
  }
  return out;
}

Bytes BlockingSocket::ReadExactly(size_t n, std::chrono::milliseconds timeout) {
  Bytes out;
  const auto until = std::chrono::steady_clock::now() + timeout;
  while (out.size() < n) {
    const int left = MillisLeft(until);
    if (left == 0) break;
    bool ended = false;
    const Bytes part = ReadSome(n - out.size(), std::chrono::milliseconds(left), &ended);
    if (ended || part.empty()) break;
    out.insert(out.end(), part.begin(), part.end());
  }
  return out;
}

int Socks5Connect(BlockingSocket& s, const std::string& host, uint16_t port) {
  RequestHeader header;
  if (!RequestHeaderFor({host, port}, &header)) return -1;
  Bytes request = {5, 1, 0};
  if (!s.Send(Bytes{5, 1, 0})) return -1;
  if (s.ReadExactly(2, std::chrono::seconds(10)) != Bytes{5, 0}) return -1;
  request.push_back(static_cast<uint8_t>(header.address_type));
  if (header.address_type == AddressType::kDomain) request.push_back(header.address_length);
  request.insert(request.end(), header.address.begin(), header.address.begin() + header.address_length);
  request.push_back(static_cast<uint8_t>(port >> 8));
  request.push_back(static_cast<uint8_t>(port));
  if (!s.Send(request)) return -1;
  const Bytes head = s.ReadExactly(4, std::chrono::seconds(30));
  if (head.size() != 4 || head[0] != 5 || head[2] != 0) return -1;
  const size_t rest = head[3] == 1 ? 6 : head[3] == 4 ? 18 : 0;
  if (rest == 0 || s.ReadExactly(rest, std::chrono::seconds(10)).size() != rest) return -1;
  return head[1];
}

BlockingListener::BlockingListener(const HostPort& address) {
  sockaddr_storage a;
  socklen_t len = 0;
  if (!ToSockaddr(address, &a, &len)) return;
  fd_ = socket(a.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd_ < 0) return;
  const int one = 1;
  setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  if (bind(fd_, reinterpret_cast<sockaddr*>(&a), len) != 0 || listen(fd_, 1024) != 0) {
    ::close(fd_);
    fd_ = -1;
    return;
  }
  sockaddr_storage bound;
  socklen_t blen = sizeof(bound);
  getsockname(fd_, reinterpret_cast<sockaddr*>(&bound), &blen);
  port_ = FromSockaddr(bound).port;
}

BlockingListener::~BlockingListener() {
  if (fd_ >= 0) ::close(fd_);
}

BlockingSocket BlockingListener::Accept(std::chrono::milliseconds timeout) {
  pollfd p{fd_, POLLIN, 0};
  int ready;
  do {
    ready = fd_ < 0 ? 0 : poll(&p, 1, static_cast<int>(timeout.count()));
  } while (ready < 0 && errno == EINTR);
  if (ready <= 0) return BlockingSocket();
  const int fd = accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
  if (fd < 0) return BlockingSocket();
  const int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  return BlockingSocket(fd);
}

}  // namespace reflex::proxy::probe
