#include "proxy/stream.h"

#include "proxy/asio_config.h"
#include "reflex/session_types.h"

namespace reflex::proxy {

awaitable<std::pair<std::error_code, TcpStream>> TcpDialer::Connect(const HostPort& target,
                                                                    Watchdog& watchdog) {
  return Dial(target, watchdog, nullptr);
}

awaitable<std::pair<std::error_code, TcpStream>> TcpDialer::ConnectTarget(const HostPort& target,
                                                                          Watchdog& watchdog) {
  return Dial(target, watchdog, policy_);
}

std::error_code TargetNotAllowed() { return std::make_error_code(std::errc::permission_denied); }

awaitable<std::pair<std::error_code, TcpStream>> TcpDialer::Dial(const HostPort& target,
                                                                 Watchdog& watchdog,
                                                                 const EgressPolicy* policy) {
  asio::ip::tcp::resolver resolver(executor_);
  asio::ip::tcp::socket socket(executor_);
  watchdog.ArmConnect(Watchdog::Clock::now() + timeout_, [&] {
    resolver.cancel();
    std::error_code ignored;
    socket.close(ignored);
  });
  std::error_code ec;
  std::vector<asio::ip::tcp::endpoint> endpoints;
  // An address needs no resolver: asio resolves on a thread of its own, a
  // hand-off per connection that an IP target does not need.
  std::error_code literal;
  const auto ip = asio::ip::make_address(target.host, literal);
  if (!literal) {
    endpoints.emplace_back(ip, target.port);
  } else {
    auto [rec, results] = co_await resolver.async_resolve(target.host, std::to_string(target.port),
                                                          kUseTuple);
    ec = rec;
    for (const auto& entry : results) endpoints.push_back(entry.endpoint());
  }
  // Judged on the addresses about to be dialed, so no spelling of a name
  // or an address gets past it.
  if (!ec && policy != nullptr) {
    std::erase_if(endpoints, [policy](const auto& e) { return !policy->Allows(e.address()); });
    if (endpoints.empty()) ec = TargetNotAllowed();
  }
  if (!ec) {
    auto [cec, endpoint] = co_await asio::async_connect(socket, endpoints, kUseTuple);
    (void)endpoint;
    ec = cec;
  }
  if (watchdog.DisarmConnect()) ec = asio::error::timed_out;
  if (!ec) {
    std::error_code ignored;
    socket.set_option(asio::ip::tcp::no_delay(true), ignored);
  }
  co_return std::pair<std::error_code, TcpStream>{ec, TcpStream(std::move(socket))};
}

uint8_t ConnectFailureCode(const std::error_code& ec) {
  if (ec == TargetNotAllowed()) return kConnectNotAllowed;
  if (ec == asio::error::connection_refused) return kConnectRefused;
  if (ec == asio::error::host_unreachable || ec == asio::error::host_not_found ||
      ec == asio::error::host_not_found_try_again || ec == asio::error::no_data) {
    return kConnectHostUnreachable;
  }
  if (ec == asio::error::network_unreachable) return kConnectNetworkUnreachable;
  if (ec == asio::error::timed_out) return kConnectTimedOut;
  return kConnectGeneralFailure;
}

}  // namespace reflex::proxy
