#include "proxy/e2e/test_servers.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sodium.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

namespace reflex::proxy::e2e {

namespace {

uint64_t Mix(uint64_t x) {  // splitmix64's finalizer
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

std::string Hex(const uint8_t* p, size_t n) {
  static const char* d = "0123456789abcdef";
  std::string out;
  for (size_t i = 0; i < n; ++i) {
    out += d[p[i] >> 4];
    out += d[p[i] & 15];
  }
  return out;
}

}  // namespace

uint16_t UnusedPort() {
  asio::io_context io;
  asio::ip::tcp::acceptor a(io, asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  return a.local_endpoint().port();
}

uint8_t ContentByte(uint64_t i) { return static_cast<uint8_t>(Mix(i / 8) >> (8 * (i % 8))); }

Bytes Content(uint64_t offset, size_t n) {
  Bytes out(n);
  for (size_t i = 0; i < n; ++i) out[i] = ContentByte(offset + i);
  return out;
}

std::string ContentSha256(uint64_t n) {
  crypto_hash_sha256_state state;
  crypto_hash_sha256_init(&state);
  constexpr size_t kChunk = 1 << 16;
  for (uint64_t at = 0; at < n; at += kChunk) {
    const Bytes part = Content(at, static_cast<size_t>(std::min<uint64_t>(kChunk, n - at)));
    crypto_hash_sha256_update(&state, part.data(), part.size());
  }
  uint8_t digest[crypto_hash_sha256_BYTES];
  crypto_hash_sha256_final(&state, digest);
  return Hex(digest, sizeof(digest));
}

std::string Sha256Hex(const std::string& bytes) {
  uint8_t digest[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(digest, reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
  return Hex(digest, sizeof(digest));
}

awaitable<void> HttpFileServer::Serve(asio::ip::tcp::socket socket) {
  std::string head;
  char buf[4096];
  while (head.find("\r\n\r\n") == std::string::npos && head.size() < 65536) {
    auto [ec, n] = co_await socket.async_read_some(asio::buffer(buf), kUseTuple);
    if (ec) co_return;
    head.append(buf, n);
  }
  const size_t end = head.find("\r\n\r\n");
  if (end == std::string::npos) co_return;
  std::string rest = head.substr(end + 4);
  const std::string line = head.substr(0, head.find("\r\n"));
  const size_t sp1 = line.find(' '), sp2 = line.rfind(' ');
  const std::string method = line.substr(0, sp1);
  const std::string path = line.substr(sp1 + 1, sp2 - sp1 - 1);
  auto send = [&](const std::string& s) -> awaitable<bool> {
    auto [ec, n] = co_await asio::async_write(socket, asio::buffer(s), kUseTuple);
    (void)n;
    co_return !ec;
  };
  auto number_after = [&](const std::string& prefix) -> int64_t {
    if (path.rfind(prefix, 0) != 0) return -1;
    return std::atoll(path.c_str() + prefix.size());
  };
  if (method == "POST" && path == "/upload") {
    const size_t cl_at = head.find("Content-Length: ");
    const size_t length = cl_at == std::string::npos ? 0 : std::strtoull(head.c_str() + cl_at + 16, nullptr, 10);
    while (rest.size() < length) {
      auto [ec, n] = co_await socket.async_read_some(asio::buffer(buf), kUseTuple);
      if (ec) co_return;
      rest.append(buf, n);
    }
    const std::string body = std::to_string(length) + " " + Sha256Hex(rest.substr(0, length)) + "\n";
    co_await send("HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(body.size()) +
                  "\r\nConnection: close\r\n\r\n" + body);
    co_return;
  }
  if (path == "/") {
    const std::string page = kIndexPage;
    co_await send("HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: " +
                  std::to_string(page.size()) + "\r\nConnection: close\r\n\r\n" + page);
    co_return;
  }
  int64_t n = -1;
  enum { kWhole, kCloseEarly, kReset, kStall } mode = kWhole;
  if ((n = number_after("/bytes/")) >= 0) mode = kWhole;
  else if ((n = number_after("/close-early/")) >= 0) mode = kCloseEarly;
  else if ((n = number_after("/reset/")) >= 0) mode = kReset;
  else if ((n = number_after("/stall/")) >= 0) mode = kStall;
  if (n < 0) {
    co_await send("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
    co_return;
  }
  if (!co_await send("HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: " +
                     std::to_string(n) + "\r\nConnection: close\r\n\r\n")) {
    co_return;
  }
  const uint64_t body = mode == kWhole ? static_cast<uint64_t>(n) : static_cast<uint64_t>(n) / 2;
  constexpr size_t kChunk = 256 * 1024;
  for (uint64_t at = 0; at < body; at += kChunk) {
    const Bytes part = Content(at, static_cast<size_t>(std::min<uint64_t>(kChunk, body - at)));
    auto [ec, w] = co_await asio::async_write(socket, asio::buffer(part), kUseTuple);
    (void)w;
    if (ec) co_return;
  }
  std::error_code ignored;
  if (mode == kReset) {
    socket.set_option(asio::socket_base::linger(true, 0), ignored);  // close sends RST
    socket.close(ignored);
  } else if (mode == kStall) {
    while (true) {  // until the client goes
      auto [ec, r] = co_await socket.async_read_some(asio::buffer(buf), kUseTuple);
      (void)r;
      if (ec) break;
    }
  } else {
    socket.shutdown(asio::ip::tcp::socket::shutdown_send, ignored);
    while (true) {  // let the client close first (no RST on unread bytes)
      auto [ec, r] = co_await socket.async_read_some(asio::buffer(buf), kUseTuple);
      (void)r;
      if (ec) break;
    }
  }
}

std::vector<Bytes> RecordingRelay::Recorded() {
  std::lock_guard<std::mutex> lock(mu_);
  return recorded_;
}

awaitable<void> RecordingRelay::Serve(asio::ip::tcp::socket client) {
  asio::ip::tcp::socket upstream(io_.io());
  auto [ec] = co_await upstream.async_connect(
      asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), upstream_), kUseTuple);
  if (ec) co_return;
  size_t index;
  {
    std::lock_guard<std::mutex> lock(mu_);
    index = recorded_.size();
    recorded_.emplace_back();
  }
  auto pump = [this](asio::ip::tcp::socket& from, asio::ip::tcp::socket& to,
                     size_t record_index) -> awaitable<void> {
    std::vector<uint8_t> buf(65536);
    while (true) {
      auto [rec, n] = co_await from.async_read_some(asio::buffer(buf), kUseTuple);
      if (n > 0 && record_index != SIZE_MAX) {
        std::lock_guard<std::mutex> lock(mu_);
        Bytes& r = recorded_[record_index];
        const size_t take = std::min(n, record_bytes_ - std::min(record_bytes_, r.size()));
        r.insert(r.end(), buf.begin(), buf.begin() + static_cast<ptrdiff_t>(take));
      }
      if (n > 0) {
        auto [wec, w] = co_await asio::async_write(to, asio::buffer(buf.data(), n), kUseTuple);
        (void)w;
        if (wec) break;
      }
      if (rec) break;
    }
    std::error_code ignored;
    to.shutdown(asio::ip::tcp::socket::shutdown_send, ignored);
  };
  using namespace asio::experimental::awaitable_operators;
  co_await (pump(client, upstream, index) && pump(upstream, client, SIZE_MAX));
}

}  // namespace reflex::proxy::e2e
