// A DNS server for tests, on 127.0.0.1 (UDP, a port the OS chooses) and a
// thread of its own. Three zones:
//   fast.test.  A queries answered at once with 127.0.0.1 (192.0.2.N for a
//               name nN.fast.test), other types with an empty NOERROR;
//   slow.test.  never answered;
//   anything else: NXDOMAIN.
#ifndef REFLEX_PROXY_E2E_TEST_DNS_SERVER_H_
#define REFLEX_PROXY_E2E_TEST_DNS_SERVER_H_

#include <netinet/in.h>

#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace reflex::proxy::e2e {

class FakeDnsServer {
 public:
  FakeDnsServer();
  ~FakeDnsServer();
  FakeDnsServer(const FakeDnsServer&) = delete;
  FakeDnsServer& operator=(const FakeDnsServer&) = delete;

  uint16_t port() const { return port_; }
  int queries() const { return queries_.load(); }
  int slow_queries() const { return slow_queries_.load(); }
  std::vector<std::string> names_seen() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return names_seen_;
  }

 private:
  void Serve();
  void Answer(const uint8_t* query, size_t n, const sockaddr_in& from);

  int fd_ = -1;
  int stop_[2] = {-1, -1};
  uint16_t port_ = 0;
  std::thread thread_;
  std::atomic<int> queries_{0};
  std::atomic<int> slow_queries_{0};
  mutable std::mutex mutex_;
  std::vector<std::string> names_seen_;
};

}  // namespace reflex::proxy::e2e

#endif  // REFLEX_PROXY_E2E_TEST_DNS_SERVER_H_
