// The peers of end-to-end tests, in the test process, each on a thread of
// its own, on 127.0.0.1 with OS-chosen ports:
//   HttpFileServer: GET /bytes/N (N deterministic bytes), / (a page),
//     /close-early/N and /reset/N (half the body, then FIN or RST),
//     /stall/N (half the body, then nothing until the client goes),
//     POST /upload (answers the body's length and SHA-256);
//   CaptureServer: records every byte of every connection, sends nothing;
//   EchoServer: sends back what it receives, then ends when the client does;
//   RecordingRelay: forwards to a port and records each connection's
//     first bytes from the client (a client hello, to replay it).
#ifndef REFLEX_PROXY_E2E_TEST_SERVERS_H_
#define REFLEX_PROXY_E2E_TEST_SERVERS_H_

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "proxy/asio_config.h"

namespace reflex::proxy::e2e {

using Bytes = std::vector<uint8_t>;

// Byte i of every test body.
uint8_t ContentByte(uint64_t i);
Bytes Content(uint64_t offset, size_t n);
// Lowercase hex SHA-256 of Content(0, n), and of any bytes.
std::string ContentSha256(uint64_t n);
std::string Sha256Hex(const std::string& bytes);

inline constexpr char kIndexPage[] =
    "<!doctype html><title>fallback</title><p>An ordinary web server.</p>\n";

// An io_context on its own thread; servers live on it.
class IoThread {
 public:
  IoThread();
  ~IoThread();
  asio::io_context& io() { return io_; }
  // Stops the thread (idempotent); servers call it before they go away.
  void Stop();

 private:
  asio::io_context io_{1};
  asio::executor_work_guard<asio::io_context::executor_type> guard_;
  std::thread thread_;
};

class TestServer {
 public:
  virtual ~TestServer();
  uint16_t port() const { return port_; }

 protected:
  TestServer();
  // Accepts forever, calling Serve for each connection.
  void Start();
  // Every subclass's destructor calls this first: no connection runs
  // while the members it uses go away.
  void Shutdown() { io_.Stop(); }
  virtual awaitable<void> Serve(asio::ip::tcp::socket socket) = 0;
  IoThread io_;

 private:
  awaitable<void> AcceptLoop();
  asio::ip::tcp::acceptor acceptor_;
  uint16_t port_ = 0;
};

class HttpFileServer final : public TestServer {
 public:
  HttpFileServer() { Start(); }
  ~HttpFileServer() override { Shutdown(); }

 private:
  awaitable<void> Serve(asio::ip::tcp::socket socket) override;
};

class CaptureServer final : public TestServer {
 public:
  struct Connection {
    Bytes bytes;
    bool ended = false;  // the peer's end of stream arrived
  };
  CaptureServer() { Start(); }
  ~CaptureServer() override { Shutdown(); }
  std::vector<Connection> Connections();
  // Waits (bounded) until `n` connections exist and the last one holds at
  // least `bytes` bytes and, if `ended`, has ended.
  bool WaitFor(size_t n, size_t bytes, bool ended, std::chrono::milliseconds timeout);

 private:
  awaitable<void> Serve(asio::ip::tcp::socket socket) override;
  std::mutex mu_;
  std::vector<Connection> connections_;
};

class EchoServer final : public TestServer {
 public:
  EchoServer() { Start(); }
  ~EchoServer() override { Shutdown(); }

 private:
  awaitable<void> Serve(asio::ip::tcp::socket socket) override;
};

class RecordingRelay final : public TestServer {
 public:
  RecordingRelay(uint16_t upstream, size_t record_bytes)
      : upstream_(upstream), record_bytes_(record_bytes) {
    Start();
  }
  ~RecordingRelay() override { Shutdown(); }
  std::vector<Bytes> Recorded();

 private:
  awaitable<void> Serve(asio::ip::tcp::socket socket) override;
  uint16_t upstream_;
  size_t record_bytes_;
  std::mutex mu_;
  std::vector<Bytes> recorded_;
};

// A blocking TCP client with timeouts, for probes: connect, send, read
// until end of stream.
class ProbeSocket {
 public:
  explicit ProbeSocket(uint16_t port);
  ~ProbeSocket();
  bool connected() const { return fd_ >= 0; }
  bool Send(const void* data, size_t n);
  bool Send(const std::string& s) { return Send(s.data(), s.size()); }
  bool Send(const Bytes& b) { return Send(b.data(), b.size()); }
  void ShutdownSend();
  // Reads until end of stream or `timeout`; *ended says which.
  Bytes ReadAll(std::chrono::milliseconds timeout, bool* ended);
  // Reads exactly n bytes within `timeout` (fewer on end of stream).
  Bytes ReadExactly(size_t n, std::chrono::milliseconds timeout);
  void Close();

 private:
  int fd_ = -1;
};

// SOCKS5 CONNECT through a local proxy on a ProbeSocket; returns the reply
// code (0 succeeded), or -1 if the proxy did not answer properly.
int Socks5Connect(ProbeSocket& s, const std::string& host, uint16_t port);

}  // namespace reflex::proxy::e2e

#endif  // REFLEX_PROXY_E2E_TEST_SERVERS_H_
