#include "proxy/stream.h"

#include "proxy/asio_config.h"
#include "reflex/session_types.h"

namespace reflex::proxy {

using namespace asio::experimental::awaitable_operators;

awaitable<std::pair<std::error_code, TcpStream>> TcpDialer::Connect(const HostPort& target) {
  asio::ip::tcp::resolver resolver(executor_);
  asio::ip::tcp::socket socket(executor_);
  asio::steady_timer timer(executor_, timeout_);
  // The connect (with its resolution) races the deadline; the loser is
  // cancelled by the operator.
  auto attempt = [&]() -> awaitable<std::error_code> {
    auto [rec, results] = co_await resolver.async_resolve(target.host, std::to_string(target.port),
                                                          kUseTuple);
    if (rec) co_return rec;
    auto [cec, endpoint] = co_await asio::async_connect(socket, results, kUseTuple);
    (void)endpoint;
    co_return cec;
  };
  auto result = co_await (attempt() || timer.async_wait(asio::use_awaitable));
  std::error_code ec = result.index() == 0 ? std::get<0>(result) : asio::error::timed_out;
  if (!ec) {
    std::error_code ignored;
    socket.set_option(asio::ip::tcp::no_delay(true), ignored);
  }
  co_return std::pair<std::error_code, TcpStream>{ec, TcpStream(std::move(socket))};
}

uint8_t ConnectFailureCode(const std::error_code& ec) {
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
