// UDP on blocking sockets with a bound on every wait, for the probe and
// the end-to-end tests: a socket, a UDP echo, and a SOCKS5 UDP
// association through a local proxy (RFC 1928 section 7, SPEC.md 15.5).
#ifndef REFLEX_PROXY_PROBE_BLOCKING_UDP_H_
#define REFLEX_PROXY_PROBE_BLOCKING_UDP_H_

#include <atomic>
#include <chrono>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <thread>

#include "proxy/address.h"
#include "proxy/probe/blocking_socket.h"

namespace reflex::proxy::probe {

struct Datagram {
  HostPort peer;  // where it came from
  Bytes bytes;
};

class BlockingUdpSocket {
 public:
  // Bound to `address` (a literal; port 0 for any).
  explicit BlockingUdpSocket(const HostPort& address = {"127.0.0.1", 0});
  ~BlockingUdpSocket();
  BlockingUdpSocket(const BlockingUdpSocket&) = delete;
  BlockingUdpSocket& operator=(const BlockingUdpSocket&) = delete;

  bool ok() const { return fd_ >= 0; }
  uint16_t port() const { return port_; }
  bool SendTo(std::span<const uint8_t> bytes, const HostPort& to);
  // The next datagram within `timeout` (up to 65535 bytes).
  std::optional<Datagram> Receive(std::chrono::milliseconds timeout);

 private:
  int fd_ = -1;
  uint16_t port_ = 0;
};

// A datagram the echo answers with one too large for a frame after an
// IPv4 source (16378 bytes), then with this text itself: a proxy must drop
// the first (never split or cut it) and pass the second.
inline constexpr char kOversizeTrigger[] = "reflex-probe: answer too large";

// Sends every datagram back to its source, from its own thread, until it
// is destroyed (kOversizeTrigger aside).
class UdpEcho {
 public:
  explicit UdpEcho(const HostPort& address = {"127.0.0.1", 0});
  ~UdpEcho();
  UdpEcho(const UdpEcho&) = delete;
  UdpEcho& operator=(const UdpEcho&) = delete;
  bool ok() const { return fd_ >= 0; }
  uint16_t port() const { return port_; }
  // Datagrams received (each answered).
  uint64_t received() const { return received_.load(); }

 private:
  void Serve();
  int fd_ = -1;
  int stop_[2] = {-1, -1};
  uint16_t port_ = 0;
  std::atomic<uint64_t> received_{0};
  std::thread thread_;
};

// A UDP ASSOCIATE on `control` (a connection to a SOCKS5 proxy): the
// greeting, the request (DST 0.0.0.0 and `from_port`, 0 for "not said"),
// the reply. The reply code (0 succeeded; -1 if the proxy did not answer
// as RFC 1928 says); on success *relay is BND.ADDR:BND.PORT.
int Socks5UdpAssociate(BlockingSocket& control, uint16_t from_port, HostPort* relay);

// A SOCKS5 UDP datagram: RSV RSV FRAG, the address of `peer` (IP literal
// or name), its port, the data.
Bytes Socks5UdpDatagram(const HostPort& peer, std::span<const uint8_t> data, uint8_t frag = 0);
// Its parts; false when it is not one (FRAG not zero included).
bool ParseSocks5UdpDatagram(std::span<const uint8_t> in, HostPort* peer, Bytes* data);

// An application's association through a SOCKS5 proxy: the control
// connection, its UDP socket, the relay the reply named.
class Socks5UdpAssociation {
 public:
  // Associates at once; code() says how it went (0: open).
  explicit Socks5UdpAssociation(const HostPort& socks);
  int code() const { return code_; }
  const HostPort& relay() const { return relay_; }
  BlockingSocket& control() { return control_; }
  bool Send(const HostPort& to, std::span<const uint8_t> data, uint8_t frag = 0);
  // The next datagram from the relay, parsed: its source and data
  // (nullopt on a timeout, or a datagram that does not parse).
  std::optional<Datagram> Receive(std::chrono::milliseconds timeout);

 private:
  BlockingSocket control_;
  BlockingUdpSocket udp_;
  HostPort relay_;
  int code_ = -1;
};

}  // namespace reflex::proxy::probe

#endif  // REFLEX_PROXY_PROBE_BLOCKING_UDP_H_
