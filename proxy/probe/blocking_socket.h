// A blocking TCP connection with a bound on every wait: what the probe
// (and the end-to-end tests) use to play a peer byte by byte.
#ifndef REFLEX_PROXY_PROBE_BLOCKING_SOCKET_H_
#define REFLEX_PROXY_PROBE_BLOCKING_SOCKET_H_

#include <sys/socket.h>

#include <chrono>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "proxy/address.h"

namespace reflex::proxy::probe {

using Bytes = std::vector<uint8_t>;

// The socket address of a literal ("127.0.0.1", "::1"); false if it is
// not one.
bool ToSockaddr(const HostPort& hp, sockaddr_storage* out, socklen_t* len);
// The literal and port of a socket address.
HostPort FromSockaddr(const sockaddr_storage& address);

class BlockingSocket {
 public:
  BlockingSocket() = default;
  // Connects to an IPv4 or IPv6 literal (127.0.0.1 if only a port).
  explicit BlockingSocket(uint16_t port) : BlockingSocket(HostPort{"127.0.0.1", port}) {}
  explicit BlockingSocket(const HostPort& target);
  explicit BlockingSocket(int fd) : fd_(fd) {}  // takes an accepted socket
  ~BlockingSocket();
  BlockingSocket(BlockingSocket&& o) noexcept : fd_(o.fd_) { o.fd_ = -1; }
  BlockingSocket& operator=(BlockingSocket&& o) noexcept;
  BlockingSocket(const BlockingSocket&) = delete;
  BlockingSocket& operator=(const BlockingSocket&) = delete;

  bool connected() const { return fd_ >= 0; }
  bool Send(std::span<const uint8_t> bytes);
  bool Send(const std::string& s) {
    return Send(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(s.data()), s.size()));
  }
  void ShutdownSend();
  // Reads until end of stream (or reset: *ended either way) or `timeout`.
  Bytes ReadAll(std::chrono::milliseconds timeout, bool* ended);
  // Reads exactly n bytes within `timeout` (fewer on end of stream).
  Bytes ReadExactly(size_t n, std::chrono::milliseconds timeout);
  // Whatever arrives within `timeout` (at most `max`), at least one byte
  // unless the stream ended (*ended) or the time passed.
  Bytes ReadSome(size_t max, std::chrono::milliseconds timeout, bool* ended);
  void Close();

 private:
  int fd_ = -1;
};

// SOCKS5 CONNECT through a local proxy: the reply code (0 succeeded), or
// -1 if the proxy did not answer as RFC 1928 says.
int Socks5Connect(BlockingSocket& s, const std::string& host, uint16_t port);

// A listening socket on a literal address ("127.0.0.1", "::1"), port 0 for
// any; Accept waits up to `timeout`.
class BlockingListener {
 public:
  explicit BlockingListener(const HostPort& address);
  ~BlockingListener();
  bool ok() const { return fd_ >= 0; }
  uint16_t port() const { return port_; }
  BlockingSocket Accept(std::chrono::milliseconds timeout);

 private:
  int fd_ = -1;
  uint16_t port_ = 0;
};

}  // namespace reflex::proxy::probe

#endif  // REFLEX_PROXY_PROBE_BLOCKING_SOCKET_H_
