// TcpDialer over real loopback sockets: what the far end sees of a
// connect the dialer gives up on.
#include "proxy/stream.h"

#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cerrno>
#include <memory>

#include "proxy/resolver.h"
#include "proxy/watchdog.h"

namespace reflex::proxy {
namespace {

bool Readable(int fd) {
  pollfd p{fd, POLLIN, 0};
  return ::poll(&p, 1, 0) == 1;
}

// An early fallback dial that a client's first bytes overtake is given up
// on after the far end accepted it (SPEC 12.1): it carried nothing and must
// not reach the fallback as a connection that ended cleanly.
TEST(TcpDialer, AConnectGivenUpOnReachesTheFarEndAsAResetNotAnEndOfStream) {
  asio::io_context io;
  asio::ip::tcp::acceptor listener(io, {asio::ip::make_address("127.0.0.1"), 0});
  const uint16_t port = listener.local_endpoint().port();
  std::unique_ptr<Resolver> resolver;
  ResolverOptions options;
  options.servers = {{"127.0.0.1", 9}};  // never asked: the target is an address
  ASSERT_FALSE(Resolver::Create(io.get_executor(), options, &resolver));
  TcpDialer dialer(io.get_executor(), std::chrono::seconds(5), *resolver);
  Sweeper sweeper(io.get_executor());
  Watchdog watchdog(sweeper, [] {});
  bool done = false;
  std::error_code result;
  // (Named: a coroutine lambda's captures live in the lambda, which must
  // outlive the coroutine.)
  const HostPort target{"127.0.0.1", port};  // (no temporary in a co_await: GCC 12 frees it twice)
  auto dial = [&]() -> awaitable<void> {
    auto [ec, stream] = co_await dialer.Connect(target, watchdog);
    result = ec;
    done = true;
  };
  asio::co_spawn(io, dial(), asio::detached);
  // One handler at a time until the kernel has the connection queued at the
  // listener, before the dialer has seen its connect complete.
  for (int i = 0; i < 1000 && !done && !Readable(listener.native_handle()); ++i) io.poll_one();
  ASSERT_FALSE(done) << "the connect completed before it could be given up on";
  ASSERT_TRUE(Readable(listener.native_handle()));
  watchdog.CancelConnect();
  for (int i = 0; i < 1000 && !done; ++i) io.run_one_for(std::chrono::milliseconds(10));
  ASSERT_TRUE(done);
  EXPECT_TRUE(result) << "a connect given up on is an error";

  const int fd = ::accept(listener.native_handle(), nullptr, nullptr);
  if (fd < 0) {
    EXPECT_EQ(errno, ECONNABORTED) << "reset in the accept queue";
    return;
  }
  char byte = 0;
  const ssize_t n = ::recv(fd, &byte, 1, 0);
  const int error = errno;
  ::close(fd);
  EXPECT_EQ(n, -1) << "a clean end of stream (FIN) reached the far end";
  EXPECT_EQ(error, ECONNRESET);
}

}  // namespace
}  // namespace reflex::proxy
