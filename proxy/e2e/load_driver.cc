#include "proxy/e2e/load_driver.h"

#include <cstring>
#include <vector>

#include "proxy/asio_config.h"
#include "proxy/e2e/test_servers.h"

namespace reflex::proxy::e2e {

namespace {

using asio::ip::tcp;

// Every connection's tunnel is open before any moves data, so all of them
// are concurrent: each arrives at the gate, the last one opens it.
class Gate {
 public:
  Gate(asio::io_context& io, size_t n) : timer_(io), waiting_(n) {
    timer_.expires_at(asio::steady_timer::time_point::max());
  }
  awaitable<void> Arrive() {
    Leave();
    while (waiting_ > 0) {
      auto [ec] = co_await timer_.async_wait(kUseTuple);
      (void)ec;
    }
  }
  // A connection that failed before the gate no longer holds it shut.
  void Leave() {
    if (--waiting_ == 0) timer_.cancel();
  }

 private:
  asio::steady_timer timer_;
  size_t waiting_;
};

awaitable<std::string> OpenTunnel(tcp::socket& s, uint16_t socks_port, uint16_t echo_port) {
  auto [cec] = co_await s.async_connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), socks_port),
                                        kUseTuple);
  if (cec) co_return "connect: " + cec.message();
  const uint8_t request[] = {5, 1, 0, 5, 1, 0, 1, 127, 0, 0, 1,
                             static_cast<uint8_t>(echo_port >> 8), static_cast<uint8_t>(echo_port)};
  auto [wec, w] = co_await asio::async_write(s, asio::buffer(request), kUseTuple);
  (void)w;
  if (wec) co_return "socks write: " + wec.message();
  uint8_t reply[12];
  auto [rec, r] = co_await asio::async_read(s, asio::buffer(reply), kUseTuple);
  (void)r;
  if (rec) co_return "socks read: " + rec.message();
  if (reply[0] != 5 || reply[1] != 0 || reply[3] != 0) co_return "socks refused";
  co_return "";
}

// Sends pattern[offset, offset + bytes) and reads it back: each connection
// its own window of the pattern, so crossed streams cannot look intact.
awaitable<std::string> Transfer(tcp::socket& s, size_t bytes, const Bytes& pattern, size_t offset) {
  auto writer = [&]() -> awaitable<std::string> {
    constexpr size_t kChunk = 64 * 1024;
    for (size_t at = 0; at < bytes; at += kChunk) {
      auto [ec, n] = co_await asio::async_write(
          s, asio::buffer(pattern.data() + offset + at, std::min(kChunk, bytes - at)), kUseTuple);
      (void)n;
      if (ec) co_return "write: " + ec.message();
    }
    std::error_code ignored;
    s.shutdown(tcp::socket::shutdown_send, ignored);
    co_return "";
  };
  auto reader = [&]() -> awaitable<std::string> {
    std::vector<uint8_t> buf(64 * 1024);
    size_t got = 0;
    while (true) {
      auto [ec, n] = co_await s.async_read_some(asio::buffer(buf), kUseTuple);
      if (got + n > bytes) co_return "echo longer than sent";
      if (std::memcmp(buf.data(), pattern.data() + offset + got, n) != 0) {
        co_return "echo differs after byte " + std::to_string(got);
      }
      got += n;
      if (ec == asio::error::eof) break;
      if (ec) co_return "read after " + std::to_string(got) + ": " + ec.message();
    }
    if (got != bytes) co_return "echo ended after " + std::to_string(got) + " bytes";
    co_return "";
  };
  using namespace asio::experimental::awaitable_operators;
  auto [we, re] = co_await (writer() && reader());
  co_return !we.empty() ? we : re;
}

awaitable<std::string> OneConnection(uint16_t socks_port, uint16_t echo_port, size_t bytes,
                                     const Bytes& pattern, size_t offset, Gate& gate) {
  tcp::socket s(co_await asio::this_coro::executor);
  const std::string error = co_await OpenTunnel(s, socks_port, echo_port);
  if (!error.empty()) {
    gate.Leave();
    co_return error;
  }
  co_await gate.Arrive();
  co_return co_await Transfer(s, bytes, pattern, offset);
}

}  // namespace

LoadResult RunEchoLoad(uint16_t socks_port, uint16_t echo_port, size_t connections, size_t bytes,
                       std::chrono::seconds deadline) {
  asio::io_context io(1);
  LoadResult result;
  size_t finished = 0;
  constexpr size_t kWindows = 1 << 16;
  const Bytes pattern = Content(0, bytes + kWindows);
  Gate gate(io, connections);
  const auto start = std::chrono::steady_clock::now();
  for (size_t i = 0; i < connections; ++i) {
    asio::co_spawn(io,
                   OneConnection(socks_port, echo_port, bytes, pattern, (i * 4099) % kWindows, gate),
                   [&](std::exception_ptr e, std::string error) {
                     ++finished;
                     if (e) error = "exception";
                     if (error.empty()) {
                       ++result.intact;
                     } else {
                       ++result.failed;
                       if (result.first_error.empty()) result.first_error = error;
                     }
                   });
  }
  io.run_for(deadline);
  if (finished < connections) {
    result.failed += connections - finished;
    if (result.first_error.empty()) result.first_error = "deadline passed";
  }
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return result;
}

}  // namespace reflex::proxy::e2e
