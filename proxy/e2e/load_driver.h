// Many concurrent SOCKS5 connections through a reflex client to an echo
// server, each sending `bytes` and reading them back intact, on one
// thread of the test process, bounded by a deadline.
#ifndef REFLEX_PROXY_E2E_LOAD_DRIVER_H_
#define REFLEX_PROXY_E2E_LOAD_DRIVER_H_

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>

namespace reflex::proxy::e2e {

struct LoadResult {
  size_t intact = 0;       // connections whose echo came back whole and exact
  size_t failed = 0;
  std::string first_error;
  double seconds = 0;
};

LoadResult RunEchoLoad(uint16_t socks_port, uint16_t echo_port, size_t connections, size_t bytes,
                       std::chrono::seconds deadline);

}  // namespace reflex::proxy::e2e

#endif  // REFLEX_PROXY_E2E_LOAD_DRIVER_H_
