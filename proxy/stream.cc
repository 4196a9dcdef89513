#include "proxy/stream.h"

#include "proxy/asio_config.h"
#include "reflex/session_types.h"

namespace reflex::proxy {

awaitable<std::pair<std::error_code, TcpStream>> TcpDialer::Connect(const HostPort& target,
                                                                    Watchdog& watchdog) {
  return Dial(target, watchdog, nullptr, kOwnLookups);
}

awaitable<std::pair<std::error_code, TcpStream>> TcpDialer::ConnectTarget(const HostPort& target,
                                                                          Watchdog& watchdog, uint64_t user) {
  return Dial(target, watchdog, policy_, user);
}

std::error_code TargetNotAllowed() { return std::make_error_code(std::errc::permission_denied); }

awaitable<std::pair<std::error_code, TcpStream>> TcpDialer::Dial(const HostPort& target,
                                                                 Watchdog& watchdog,
                                                                 const EgressPolicy* policy, uint64_t key) {
  Lookup lookup;
  asio::ip::tcp::socket socket(executor_);
  // A connect given up on is reset, never closed with a FIN: the far end
  // may have accepted it already, and it carried nothing (an early
  // fallback dial a client's first bytes overtook, say).
  watchdog.ArmConnect(Watchdog::Clock::now() + timeout_, [&] {
    lookup.Cancel();
    std::error_code ignored;
    socket.set_option(asio::socket_base::linger(true, 0), ignored);
    socket.close(ignored);
  });
  // An IP literal is its own answer (the resolver sends no query for it).
  auto [ec, addresses] = co_await resolver_.Resolve(target.host, key, &lookup);
  // Given up on while the answer was on its way: no connect after it (it
  // would run with neither a deadline nor a way to stop it).
  if (!ec && lookup.cancelled()) ec = asio::error::operation_aborted;
  std::vector<asio::ip::tcp::endpoint> endpoints;
  for (const asio::ip::address& a : addresses) endpoints.emplace_back(a, target.port);
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

awaitable<std::pair<std::error_code, asio::ip::address>> TcpDialer::ResolveDatagramHost(std::string host,
                                                                                      uint64_t user) {
  Lookup lookup;
  auto [ec, addresses] = co_await resolver_.Resolve(std::move(host), user, &lookup);
  if (!ec) {
    for (const asio::ip::address& a : addresses) {
      if (AllowsDatagramTo(a)) co_return std::pair<std::error_code, asio::ip::address>{{}, a};
    }
    ec = TargetNotAllowed();
  }
  co_return std::pair<std::error_code, asio::ip::address>{ec, {}};
}

uint8_t ConnectFailureCode(const std::error_code& ec) {
  if (ec == TargetNotAllowed()) return kConnectNotAllowed;
  // A name whose lookup failed or never ended, or a user over the lookup cap.
  if (ec == asio::error::no_recovery || ec == std::errc::resource_unavailable_try_again) {
    return kConnectHostUnreachable;
  }
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
