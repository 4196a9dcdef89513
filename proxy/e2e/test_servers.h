// The peers of end-to-end tests besides the probe's capture and echo
// (proxy/probe/listeners.h), each on a thread of its own, on 127.0.0.1
// with OS-chosen ports:
//   HttpFileServer: GET /bytes/N (N deterministic bytes), / (a page),
//     /close-early/N and /reset/N (half the body, then FIN or RST),
//     /stall/N (half the body, then nothing until the client goes),
//     POST /upload (answers the body's length and SHA-256);
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
#include "proxy/probe/blocking_socket.h"
#include "proxy/probe/listeners.h"

namespace reflex::proxy::e2e {

using Bytes = std::vector<uint8_t>;
using probe::BlockingSocket;
using probe::RecordingListener;
using probe::Socks5Connect;

// Byte i of every test body.
uint8_t ContentByte(uint64_t i);
Bytes Content(uint64_t offset, size_t n);
// Lowercase hex SHA-256 of Content(0, n), and of any bytes.
std::string ContentSha256(uint64_t n);
std::string Sha256Hex(const std::string& bytes);

// A loopback port nothing listens on (bound by the OS, then let go): for a
// peer that must be told its port before it starts, or must be refused.
uint16_t UnusedPort();

inline constexpr char kIndexPage[] =
    "<!doctype html><title>fallback</title><p>An ordinary web server.</p>\n";

class HttpFileServer final : public probe::Listener {
 public:
  HttpFileServer() : Listener({"127.0.0.1", 0}) { Start(); }
  ~HttpFileServer() override { Shutdown(); }

 private:
  awaitable<void> Serve(asio::ip::tcp::socket socket) override;
};

class RecordingRelay final : public probe::Listener {
 public:
  RecordingRelay(uint16_t upstream, size_t record_bytes)
      : Listener({"127.0.0.1", 0}), upstream_(upstream), record_bytes_(record_bytes) {
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

}  // namespace reflex::proxy::e2e

#endif  // REFLEX_PROXY_E2E_TEST_SERVERS_H_
