// In-memory transport for running the real connection handlers without
// sockets (unit tests and the fuzz target): a handler gets a MemoryStream,
// the test holds the other end as a MemoryPeer, and a MemoryDialer hands
// out MemoryStreams for the handler's outgoing connections (target,
// fallback), keeping their far ends for the test to inspect.
//
// Nothing here waits for time: the test drives the io_context with poll()
// until the handler is blocked on input, so a run is deterministic.
#ifndef REFLEX_PROXY_TESTING_MEMORY_TRANSPORT_H_
#define REFLEX_PROXY_TESTING_MEMORY_TRANSPORT_H_

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "proxy/address.h"
#include "proxy/asio_config.h"
#include "proxy/stream.h"
#include "proxy/watchdog.h"

namespace reflex::proxy::testing {

using Bytes = std::vector<uint8_t>;

// The test's end of an in-memory connection.
class MemoryPeer {
 public:
  MemoryPeer(std::shared_ptr<MemoryPipe> from_handler, std::shared_ptr<MemoryPipe> to_handler)
      : from_(std::move(from_handler)), to_(std::move(to_handler)) {}

  void Send(std::span<const uint8_t> bytes) { to_->Write(bytes); }
  void Send(std::string_view text) {
    Send({reinterpret_cast<const uint8_t*>(text.data()), text.size()});
  }
  // End of stream towards the handler.
  void CloseSend() { to_->CloseWrite(); }
  // Everything the handler wrote since the last call.
  Bytes Take() {
    Bytes out(from_->data().begin(), from_->data().end());
    from_->data().clear();
    return out;
  }
  // The handler ended its sending direction (shutdown, close or abort).
  bool HandlerClosed() const { return from_->closed(); }
  // The handler reset the connection (a failed tunnel), not a clean end.
  bool HandlerAborted() const { return from_->aborted(); }

 private:
  std::shared_ptr<MemoryPipe> from_;
  std::shared_ptr<MemoryPipe> to_;
};

// A connection: the handler's stream and the test's peer.
inline std::pair<MemoryStream, MemoryPeer> MemoryLink(asio::any_io_executor executor) {
  auto to_handler = std::make_shared<MemoryPipe>(executor);
  auto from_handler = std::make_shared<MemoryPipe>(executor);
  return {MemoryStream(to_handler, from_handler), MemoryPeer(from_handler, to_handler)};
}

// The handler's outgoing connections.
class MemoryDialer {
 public:
  struct Dialed {
    HostPort target;
    MemoryPeer peer;
  };

  explicit MemoryDialer(asio::any_io_executor executor) : executor_(executor) {}

  // Every later Connect fails with `ec` (e.g. connection_refused).
  void FailWith(std::error_code ec) { fail_ = ec; }
  // Bytes each new connection's far end sends at once (a target's banner),
  // and whether it then ends its stream.
  void Greet(Bytes bytes, bool then_close) {
    greeting_ = std::move(bytes);
    greet_close_ = then_close;
  }

  awaitable<std::pair<std::error_code, MemoryStream>> Connect(const HostPort& target, Watchdog&) {
    auto [stream, peer] = MemoryLink(executor_);
    if (fail_) co_return std::pair<std::error_code, MemoryStream>{fail_, std::move(stream)};
    if (!greeting_.empty()) peer.Send(greeting_);
    if (greet_close_) peer.CloseSend();
    dialed_.push_back({target, std::move(peer)});
    co_return std::pair<std::error_code, MemoryStream>{{}, std::move(stream)};
  }

  std::vector<Dialed>& dialed() { return dialed_; }

 private:
  asio::any_io_executor executor_;
  std::error_code fail_;
  Bytes greeting_;
  bool greet_close_ = false;
  std::vector<Dialed> dialed_;
};

}  // namespace reflex::proxy::testing

#endif  // REFLEX_PROXY_TESTING_MEMORY_TRANSPORT_H_
