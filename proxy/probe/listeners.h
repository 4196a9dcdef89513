// The endpoints the probe (and the end-to-end tests) run themselves, each
// on a thread of its own: a capture, which records every byte of every
// connection and sends nothing (a fallback, seen exactly), and an echo,
// which records too and sends back what it receives, then, after the
// peer's end of stream, an optional trailer (to see a half-close work).
#ifndef REFLEX_PROXY_PROBE_LISTENERS_H_
#define REFLEX_PROXY_PROBE_LISTENERS_H_

#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "proxy/address.h"
#include "proxy/asio_config.h"

namespace reflex::proxy::probe {

using Bytes = std::vector<uint8_t>;

// An io_context on its own thread.
class IoThread {
 public:
  IoThread();
  ~IoThread();
  asio::io_context& io() { return io_; }
  // Stops the thread (idempotent).
  void Stop();

 private:
  asio::io_context io_{1};
  asio::executor_work_guard<asio::io_context::executor_type> guard_;
  std::thread thread_;
};

// Accepts on an address (port 0: the OS picks) and serves each connection
// with Serve, on its own thread.
class Listener {
 public:
  virtual ~Listener();
  bool ok() const { return port_ != 0; }
  uint16_t port() const { return port_; }
  std::string error() const { return error_; }

 protected:
  explicit Listener(const HostPort& address);
  void Start();
  // Every subclass's destructor calls this first, so no connection runs
  // while the members it uses go away.
  void Shutdown() { io_.Stop(); }
  virtual awaitable<void> Serve(asio::ip::tcp::socket socket) = 0;
  IoThread io_;

 private:
  awaitable<void> AcceptLoop();
  asio::ip::tcp::acceptor acceptor_;
  uint16_t port_ = 0;
  std::string error_;
};

// What one accepted connection delivered.
struct Recorded {
  Bytes bytes;
  bool ended = false;  // the peer's end of stream (FIN) arrived
  bool closed = false;  // the connection is over (end, reset or error)
};

class RecordingListener final : public Listener {
 public:
  enum class Mode { kCapture, kEcho };
  // Records at most `record_limit` bytes per connection (the echo itself is
  // whole regardless).
  RecordingListener(const HostPort& address, Mode mode, std::string trailer = "",
                    size_t record_limit = SIZE_MAX);
  ~RecordingListener() override { Shutdown(); }

  std::vector<Recorded> Connections();
  size_t count();
  // Waits until connection n (1-based) exists, holds at least `bytes`
  // bytes and, if `closed`, is over; false when `timeout` passed first.
  bool WaitFor(size_t n, size_t bytes, bool closed, std::chrono::milliseconds timeout);
  // For a fallback: the first connection numbered past `from` that carried
  // something (a byte; for `bytes` 0, a byte or an end of stream), once it
  // holds at least `bytes` bytes and, if `closed`, is over: its number
  // (1-based), or 0 when `timeout` passed first. A connection that carried
  // nothing is no probe's: a server that dials its fallback as soon as a
  // connection comes drops that one unused when a genuine hello (or a
  // client's first bytes, while the dial is under way) arrives (SPEC 12.1),
  // maybe after the probe that follows began.
  size_t WaitForUsed(size_t from, size_t bytes, bool closed, std::chrono::milliseconds timeout);
  // Until a connection numbered past `from` exists that was not reset
  // before carrying anything; false on timeout.
  bool WaitForNew(size_t from, std::chrono::milliseconds timeout);

 private:
  awaitable<void> Serve(asio::ip::tcp::socket socket) override;
  Mode mode_;
  std::string trailer_;
  size_t record_limit_;
  std::mutex mu_;
  std::vector<Recorded> connections_;
};

}  // namespace reflex::proxy::probe

#endif  // REFLEX_PROXY_PROBE_LISTENERS_H_
