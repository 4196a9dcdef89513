#include "proxy/e2e/keepalive_http_server.h"

#include <cstdlib>

#include "proxy/e2e/test_servers.h"

namespace reflex::proxy::e2e {
namespace {

// (Named, not literals in the co_await expressions: GCC 12 mishandles
// temporaries there.)
constexpr std::string_view kHeadEnd = "\r\n\r\n";
constexpr std::string_view kLineEnd = "\r\n";

std::string Lowered(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// Reads into `in` until it holds at least `n` bytes; false at the end.
awaitable<bool> Fill(asio::ip::tcp::socket& socket, std::string& in, size_t n) {
  char buf[16384];
  while (in.size() < n) {
    auto [ec, got] = co_await socket.async_read_some(asio::buffer(buf), kUseTuple);
    if (ec) co_return false;
    in.append(buf, got);
  }
  co_return true;
}

// Reads until `in` holds `token`; its position, or npos at the end.
awaitable<size_t> FillUntil(asio::ip::tcp::socket& socket, std::string& in, std::string_view token) {
  while (in.find(token) == std::string::npos) {
    if (in.size() > (1 << 20)) co_return std::string::npos;
    const size_t want = in.size() + 1;
    const bool more = co_await Fill(socket, in, want);
    if (!more) co_return std::string::npos;
  }
  co_return in.find(token);
}

}  // namespace

awaitable<void> KeepAliveHttpServer::Serve(asio::ip::tcp::socket socket) {
  connections_.fetch_add(1);
  std::string in;
  while (true) {
    const size_t end = co_await FillUntil(socket, in, kHeadEnd);
    if (end == std::string::npos) co_return;
    const std::string head = in.substr(0, end + 4);
    in.erase(0, end + 4);
    {
      std::lock_guard<std::mutex> lock(mu_);
      heads_.push_back(head);
    }
    const std::string lower = Lowered(head);
    const std::string line = head.substr(0, head.find("\r\n"));
    const std::string path = line.substr(line.find(' ') + 1, line.rfind(' ') - line.find(' ') - 1);
    const bool close = lower.find("\r\nconnection: close") != std::string::npos;
    std::string body;
    if (lower.find("\r\ntransfer-encoding: chunked") != std::string::npos) {
      while (true) {  // chunk-size CRLF data CRLF ... 0 CRLF CRLF (no trailers here)
        const size_t eol = co_await FillUntil(socket, in, kLineEnd);
        if (eol == std::string::npos) co_return;
        const size_t size = std::strtoull(in.c_str(), nullptr, 16);
        in.erase(0, eol + 2);
        const bool whole = co_await Fill(socket, in, size + 2);
        if (!whole) co_return;
        body.append(in, 0, size);
        in.erase(0, size + 2);
        if (size == 0) break;
      }
    } else if (const size_t cl = lower.find("\r\ncontent-length: "); cl != std::string::npos) {
      const size_t length = std::strtoull(lower.c_str() + cl + 18, nullptr, 10);
      const bool whole = co_await Fill(socket, in, length);
      if (!whole) co_return;
      body = in.substr(0, length);
      in.erase(0, length);
    }
    std::string answer;
    const char* connection = close ? "Connection: close\r\n" : "";
    if (path == "/upload") {
      const std::string text = std::to_string(body.size()) + " " + Sha256Hex(body) + "\n";
      answer = "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(text.size()) + "\r\n" + connection + "\r\n" + text;
    } else if (path.rfind("/bytes/", 0) == 0) {
      const size_t n = std::strtoull(path.c_str() + 7, nullptr, 10);
      const Bytes bytes = Content(0, n);
      answer = "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(n) + "\r\nKeep-Alive: timeout=5\r\n" +
               connection + "\r\n" + std::string(bytes.begin(), bytes.end());
    } else if (path.rfind("/then-close/", 0) == 0) {  // an origin that closes an idle connection
      const size_t n = std::strtoull(path.c_str() + 12, nullptr, 10);
      const Bytes bytes = Content(0, n);
      answer = "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(n) + "\r\n\r\n" + std::string(bytes.begin(), bytes.end());
      auto [ec, w] = co_await asio::async_write(socket, asio::buffer(answer), kUseTuple);
      (void)ec;
      (void)w;
      co_return;
    } else if (path.rfind("/chunked/", 0) == 0) {
      const size_t n = std::strtoull(path.c_str() + 9, nullptr, 10);
      const Bytes bytes = Content(0, n);
      answer = std::string("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n") + connection + "\r\n";
      for (size_t at = 0; at < n; at += 1000) {
        const size_t k = std::min<size_t>(1000, n - at);
        char size[16];
        std::snprintf(size, sizeof size, "%zx\r\n", k);
        answer += size;
        answer.append(bytes.begin() + static_cast<ptrdiff_t>(at), bytes.begin() + static_cast<ptrdiff_t>(at + k));
        answer += "\r\n";
      }
      answer += "0\r\n\r\n";
    } else {
      answer = std::string("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n") + connection + "\r\n";
    }
    auto [ec, n] = co_await asio::async_write(socket, asio::buffer(answer), kUseTuple);
    (void)n;
    if (ec || close) co_return;
  }
}

}  // namespace reflex::proxy::e2e
