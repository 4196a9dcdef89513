// An HTTP/1.1 origin for the HTTP proxy's tests: persistent connections,
// Content-Length and chunked bodies both ways, and a record of every
// request head it received (to see what a proxy forwarded).
//   GET /bytes/N    N bytes of Content(0, N), with Content-Length
//   GET /chunked/N  the same bytes in the chunked coding
//   GET /then-close/N  N bytes, then the connection closed (as an origin's
//                   idle timeout would), though nobody asked
//   POST /upload    "LENGTH SHA256\n" of the body (Content-Length or chunked)
// A request with "Connection: close" ends its connection after the answer.
#ifndef REFLEX_PROXY_E2E_KEEPALIVE_HTTP_SERVER_H_
#define REFLEX_PROXY_E2E_KEEPALIVE_HTTP_SERVER_H_

#include <atomic>
#include <mutex>
#include <string>
#include <vector>

#include "proxy/probe/listeners.h"

namespace reflex::proxy::e2e {

class KeepAliveHttpServer final : public probe::Listener {
 public:
  KeepAliveHttpServer() : Listener({"127.0.0.1", 0}) { Start(); }
  ~KeepAliveHttpServer() override { Shutdown(); }
  int connections() const { return connections_.load(); }
  std::vector<std::string> heads() {
    std::lock_guard<std::mutex> lock(mu_);
    return heads_;
  }

 private:
  awaitable<void> Serve(asio::ip::tcp::socket socket) override;
  std::atomic<int> connections_{0};
  std::mutex mu_;
  std::vector<std::string> heads_;
};

}  // namespace reflex::proxy::e2e

#endif  // REFLEX_PROXY_E2E_KEEPALIVE_HTTP_SERVER_H_
