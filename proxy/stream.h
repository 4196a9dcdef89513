// The byte streams the connection handlers work on. A handler is a
// template over its stream type, so the same code runs on TCP sockets
// (TcpStream) and, in the fuzz target and unit tests, on in-memory pipes
// (proxy/testing/memory_transport.h). Every operation reports errors as
// values, never throws.
//
//   ReadSome(span)     -> {ec, n}; ec == asio::error::eof at end of stream
//   ReadSomeV(buffers) -> the same, scattered over buffers in order
//   TryRead(span)      -> what has already arrived, without waiting
//   HasInput()         -> whether bytes have arrived (nothing is read)
//   WaitReadable()     -> ec (no buffer held while a connection is idle)
//   WriteAll(buffers)  -> ec (all bytes written, or an error)
//   WaitReset()        -> true once the peer resets the connection; false
//                         when both directions have ended or on Cancel
//   ShutdownSend(), Close(), Abort() (a reset: the stream failed)
//   Cancel() (pending and later operations end aborted), ClearCancel()
#ifndef REFLEX_PROXY_STREAM_H_
#define REFLEX_PROXY_STREAM_H_

#include <sys/socket.h>

#include <cerrno>

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <system_error>
#include <vector>

#include "proxy/address.h"
#include "proxy/asio_config.h"
#include "proxy/datagram_socket.h"
#include "proxy/egress_policy.h"
#include "proxy/resolver.h"
#include "proxy/watchdog.h"

namespace reflex::proxy {

struct IoResult {
  std::error_code ec;
  size_t n = 0;
};

class TcpStream {
 public:
  explicit TcpStream(asio::ip::tcp::socket socket) : socket_(std::move(socket)) {
    std::error_code ignored;
    socket_.non_blocking(true, ignored);  // for TryRead; async operations are unaffected
  }

  awaitable<IoResult> ReadSome(std::span<uint8_t> out) {
    if (cancelled_) co_return IoResult{asio::error::operation_aborted, 0};
    auto [ec, n] = co_await socket_.async_read_some(asio::buffer(out.data(), out.size()), kUseTuple);
    co_return IoResult{ec, n};
  }
  awaitable<std::error_code> WaitReadable() {
    if (cancelled_) co_return asio::error::operation_aborted;
    auto [ec] = co_await socket_.async_wait(asio::ip::tcp::socket::wait_read, kUseTuple);
    co_return ec;
  }
  // One read scattered over several buffers, in order (readv).
  awaitable<IoResult> ReadSomeV(std::span<const asio::mutable_buffer> out) {
    if (cancelled_) co_return IoResult{asio::error::operation_aborted, 0};
    auto [ec, n] = co_await socket_.async_read_some(out, kUseTuple);
    co_return IoResult{ec, n};
  }
  // What has already arrived, without waiting: 0 and no error if nothing.
  IoResult TryRead(std::span<uint8_t> out) {
    if (cancelled_) return IoResult{asio::error::operation_aborted, 0};
    std::error_code ec;
    const size_t n = socket_.read_some(asio::buffer(out.data(), out.size()), ec);
    if (ec == asio::error::would_block || ec == asio::error::try_again) return IoResult{};
    return IoResult{ec, n};
  }
  bool HasInput() {
    std::error_code ec;
    return socket_.available(ec) > 0 && !ec;
  }
  template <class Buffers>
  awaitable<std::error_code> WriteAll(const Buffers& buffers) {
    if (cancelled_) co_return asio::error::operation_aborted;
    auto [ec, n] = co_await asio::async_write(socket_, buffers, kUseTuple);
    (void)n;
    co_return ec;
  }
  // For a peer whose stream has ended: the socket's error condition (a
  // reset, or both directions shut) ends the wait; the socket's pending
  // error then tells which (a reset after the peer's FIN is EPIPE, and a
  // read would only say end of stream).
  awaitable<bool> WaitReset() {
    if (cancelled_) co_return false;
    auto [ec] = co_await socket_.async_wait(asio::ip::tcp::socket::wait_error, kUseTuple);
    if (ec) co_return false;
    int error = 0;
    socklen_t length = sizeof error;
    if (getsockopt(socket_.native_handle(), SOL_SOCKET, SO_ERROR, &error, &length) != 0) co_return false;
    co_return error == EPIPE || error == ECONNRESET;
  }
  void ShutdownSend() {
    std::error_code ignored;
    socket_.shutdown(asio::ip::tcp::socket::shutdown_send, ignored);
  }
  void Close() {
    std::error_code ignored;
    socket_.close(ignored);
  }
  // Closes with a reset, not a FIN: the peer must not take a tunnel that
  // failed for a stream that ended (a truncated download looks complete
  // when its length is its end of stream).
  void Abort() {
    std::error_code ignored;
    socket_.set_option(asio::socket_base::linger(true, 0), ignored);
    socket_.close(ignored);
  }
  // Ends every pending operation (operation_aborted), and every later one
  // until ClearCancel: a watchdog's cancel is never lost on an operation
  // that had not started yet.
  void Cancel() {
    cancelled_ = true;
    std::error_code ignored;
    socket_.cancel(ignored);
  }
  void ClearCancel() { cancelled_ = false; }
  // The addresses of the connection's two ends (unspecified on an error).
  asio::ip::address LocalAddress() const {
    std::error_code ec;
    return socket_.local_endpoint(ec).address();
  }
  asio::ip::address PeerAddress() const {
    std::error_code ec;
    return socket_.remote_endpoint(ec).address();
  }
  std::string PeerName() const {
    std::error_code ec;
    const auto ep = socket_.remote_endpoint(ec);
    if (ec) return "?";
    return FormatHostPort({ep.address().to_string(), ep.port()});
  }
  asio::ip::tcp::socket& socket() { return socket_; }

 private:
  asio::ip::tcp::socket socket_;
  bool cancelled_ = false;
};

// Connects TcpStreams to host:port, within a deadline kept by the
// connection's watchdog, resolving names with this thread's Resolver
// (c-ares on the event loop). A target a user asked for goes through
// ConnectTarget: its lookups count under the user's cap (`user`), and
// only resolved addresses the egress policy allows are dialed
// (TargetNotAllowed() when it allows none). The server's own peers (its
// fallback, a client's server) go through Connect.
class TcpDialer {
 public:
  using DatagramSocket = UdpSocket;

  TcpDialer(asio::any_io_executor executor, std::chrono::milliseconds timeout, Resolver& resolver,
            const EgressPolicy* policy = nullptr)
      : executor_(executor), timeout_(timeout), resolver_(resolver), policy_(policy) {}
  // ec: the reason (asio::error::timed_out when the deadline passed).
  awaitable<std::pair<std::error_code, TcpStream>> Connect(const HostPort& target, Watchdog& watchdog);
  awaitable<std::pair<std::error_code, TcpStream>> ConnectTarget(const HostPort& target, Watchdog& watchdog,
                                                                 uint64_t user);
  // A UDP association's socket (SPEC.md 15), bound to `bind`.
  std::pair<std::error_code, UdpSocket> OpenDatagramSocket(const UdpEndpoint& bind) {
    return UdpSocket::Open(executor_, bind);
  }
  // A datagram destination's name: its first address the egress policy
  // allows (TargetNotAllowed() when it allows none); counted under the
  // user's cap on lookups like a target's.
  awaitable<std::pair<std::error_code, asio::ip::address>> ResolveDatagramHost(std::string host, uint64_t user);
  bool AllowsDatagramTo(const asio::ip::address& address) const {
    return policy_ == nullptr || policy_->Allows(address);
  }

 private:
  awaitable<std::pair<std::error_code, TcpStream>> Dial(const HostPort& target, Watchdog& watchdog,
                                                        const EgressPolicy* policy, uint64_t key);
  asio::any_io_executor executor_;
  std::chrono::milliseconds timeout_;
  Resolver& resolver_;
  const EgressPolicy* policy_;
};

// The resolver's key for the process's own lookups (fallback, server name).
inline constexpr uint64_t kOwnLookups = Resolver::kUncappedKey;

// The error of a target whose every address the egress policy refuses.
std::error_code TargetNotAllowed();

// The SOCKS5 reply code for a failed connect (RFC 1928).
uint8_t ConnectFailureCode(const std::error_code& ec);

}  // namespace reflex::proxy

#endif  // REFLEX_PROXY_STREAM_H_
