// The byte streams the connection handlers work on. A handler is a
// template over its stream type, so the same code runs on TCP sockets
// (TcpStream) and, in the fuzz target and unit tests, on in-memory pipes
// (MemoryStream). Every operation reports errors as values, never throws.
//
//   ReadSome(span)     -> {ec, n}; ec == asio::error::eof at end of stream
//   ReadSomeV(buffers) -> the same, scattered over buffers in order
//   TryRead(span)      -> what has already arrived, without waiting
//   WaitReadable()     -> ec (no buffer held while a connection is idle)
//   WriteAll(buffers)  -> ec (all bytes written, or an error)
//   ShutdownSend(), Close(), Abort() (a reset: the stream failed)
//   Cancel() (pending and later operations end aborted), ClearCancel()
#ifndef REFLEX_PROXY_STREAM_H_
#define REFLEX_PROXY_STREAM_H_

#include <cstdint>
#include <deque>
#include <memory>
#include <span>
#include <string>
#include <system_error>
#include <vector>

#include "proxy/address.h"
#include "proxy/asio_config.h"
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
  template <class Buffers>
  awaitable<std::error_code> WriteAll(const Buffers& buffers) {
    if (cancelled_) co_return asio::error::operation_aborted;
    auto [ec, n] = co_await asio::async_write(socket_, buffers, kUseTuple);
    (void)n;
    co_return ec;
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

// Connects TcpStreams to host:port (resolving names), within a deadline
// kept by the connection's watchdog.
class TcpDialer {
 public:
  TcpDialer(asio::any_io_executor executor, std::chrono::milliseconds timeout)
      : executor_(executor), timeout_(timeout) {}
  // ec: the reason (asio::error::timed_out when the deadline passed).
  awaitable<std::pair<std::error_code, TcpStream>> Connect(const HostPort& target, Watchdog& watchdog);

 private:
  asio::any_io_executor executor_;
  std::chrono::milliseconds timeout_;
};

// One direction of an in-memory connection.
class MemoryPipe {
 public:
  explicit MemoryPipe(asio::any_io_executor executor) : signal_(executor) {
    signal_.expires_at(asio::steady_timer::time_point::max());
  }
  void Write(std::span<const uint8_t> bytes) {
    if (closed_) return;
    data_.insert(data_.end(), bytes.begin(), bytes.end());
    signal_.cancel();
  }
  void CloseWrite() {
    closed_ = true;
    signal_.cancel();
  }
  // The writer reset the connection (Abort).
  void Abort() {
    aborted_ = true;
    CloseWrite();
  }
  bool closed() const { return closed_; }
  bool aborted() const { return aborted_; }
  std::deque<uint8_t>& data() { return data_; }
  asio::steady_timer& signal() { return signal_; }

 private:
  std::deque<uint8_t> data_;
  bool closed_ = false;
  bool aborted_ = false;
  asio::steady_timer signal_;
};

// A stream over two MemoryPipes (what it reads, what it writes): tests and
// the fuzz target run the real handlers on these, with no sockets.
class MemoryStream {
 public:
  MemoryStream(std::shared_ptr<MemoryPipe> in, std::shared_ptr<MemoryPipe> out)
      : in_(std::move(in)), out_(std::move(out)) {}

  awaitable<IoResult> ReadSome(std::span<uint8_t> out) {
    if (const std::error_code ec = co_await WaitReadable(); ec) co_return IoResult{ec, 0};
    if (in_->data().empty()) co_return IoResult{asio::error::eof, 0};
    const size_t n = std::min(out.size(), in_->data().size());
    std::copy(in_->data().begin(), in_->data().begin() + static_cast<ptrdiff_t>(n), out.begin());
    in_->data().erase(in_->data().begin(), in_->data().begin() + static_cast<ptrdiff_t>(n));
    co_return IoResult{{}, n};
  }
  awaitable<std::error_code> WaitReadable() {
    while (!cancelled_ && in_->data().empty() && !in_->closed()) {
      auto [ec] = co_await in_->signal().async_wait(kUseTuple);
      (void)ec;
      in_->signal().expires_at(asio::steady_timer::time_point::max());
    }
    if (cancelled_) co_return asio::error::operation_aborted;
    co_return std::error_code{};
  }
  IoResult TryRead(std::span<uint8_t> out) {
    if (cancelled_) return IoResult{asio::error::operation_aborted, 0};
    if (in_->data().empty()) return IoResult{in_->closed() ? asio::error::eof : std::error_code{}, 0};
    const size_t n = std::min(out.size(), in_->data().size());
    std::copy(in_->data().begin(), in_->data().begin() + static_cast<ptrdiff_t>(n), out.begin());
    in_->data().erase(in_->data().begin(), in_->data().begin() + static_cast<ptrdiff_t>(n));
    return IoResult{{}, n};
  }
  awaitable<IoResult> ReadSomeV(std::span<const asio::mutable_buffer> out) {
    if (const std::error_code ec = co_await WaitReadable(); ec) co_return IoResult{ec, 0};
    if (in_->data().empty()) co_return IoResult{asio::error::eof, 0};
    size_t n = 0;
    for (const asio::mutable_buffer& b : out) {
      const size_t m = std::min(b.size(), in_->data().size());
      std::copy(in_->data().begin(), in_->data().begin() + static_cast<ptrdiff_t>(m),
                static_cast<uint8_t*>(b.data()));
      in_->data().erase(in_->data().begin(), in_->data().begin() + static_cast<ptrdiff_t>(m));
      n += m;
      if (in_->data().empty()) break;
    }
    co_return IoResult{{}, n};
  }
  template <class Buffers>
  awaitable<std::error_code> WriteAll(const Buffers& buffers) {
    if (cancelled_ || out_->closed()) co_return asio::error::broken_pipe;
    for (auto it = asio::buffer_sequence_begin(buffers); it != asio::buffer_sequence_end(buffers); ++it) {
      const asio::const_buffer b(*it);
      out_->Write({static_cast<const uint8_t*>(b.data()), b.size()});
    }
    co_return std::error_code{};
  }
  void ShutdownSend() { out_->CloseWrite(); }
  void Close() {
    out_->CloseWrite();
    Cancel();
  }
  void Abort() {
    out_->Abort();
    Cancel();
  }
  void Cancel() {
    cancelled_ = true;
    in_->signal().cancel();
  }
  void ClearCancel() { cancelled_ = false; }
  std::string PeerName() const { return "memory"; }

 private:
  std::shared_ptr<MemoryPipe> in_;
  std::shared_ptr<MemoryPipe> out_;
  bool cancelled_ = false;
};

// Two ends of an in-memory connection.
inline std::pair<MemoryStream, MemoryStream> MemoryConnection(asio::any_io_executor executor) {
  auto a_to_b = std::make_shared<MemoryPipe>(executor);
  auto b_to_a = std::make_shared<MemoryPipe>(executor);
  return {MemoryStream(b_to_a, a_to_b), MemoryStream(a_to_b, b_to_a)};
}

// The SOCKS5 reply code for a failed connect (RFC 1928).
uint8_t ConnectFailureCode(const std::error_code& ec);

}  // namespace reflex::proxy

#endif  // REFLEX_PROXY_STREAM_H_
