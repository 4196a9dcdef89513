// Load: thousands of concurrent tunnels, each moving data both ways, all
// intact; afterwards nothing is open, no descriptor is left, every pooled
// buffer and state is back. Peak resident memory of both processes is
// reported (not asserted: it is a measurement).
#include <gtest/gtest.h>

#include <cstdio>

#include "proxy/e2e/load_driver.h"
#include "proxy/e2e/reflex_process.h"
#include "proxy/e2e/test_servers.h"

namespace reflex::proxy::e2e {
namespace {

using namespace std::chrono_literals;

#if defined(__SANITIZE_THREAD__)
#define REFLEX_UNDER_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define REFLEX_UNDER_TSAN 1
#endif
#endif

#ifdef REFLEX_UNDER_TSAN
// TSan runs the processes several times slower: as many tunnels at once,
// a quarter of the bytes.
constexpr size_t kConnections = 2000;
constexpr size_t kBytes = 256 * 1024;
#else
constexpr size_t kConnections = 2000;
constexpr size_t kBytes = 1 << 20;
#endif

TEST(Load, TwoThousandConcurrentTunnelsEachMovingDataBothWaysAllIntact) {
  RecordingListener echo({"127.0.0.1", 0}, RecordingListener::Mode::kEcho, "", /*record_limit=*/0);
  auto server = ReflexProcess::Server("load-server", 1, {"--log-level", "warn"});
  ASSERT_TRUE(server->ok()) << server->child().ReadStderr();
  auto client = ReflexProcess::Client("load-client", server->port(), {"--log-level", "warn"});
  ASSERT_TRUE(client->ok()) << client->child().ReadStderr();
  const uint64_t server_fds = server->WaitIdle(10s)["fds"].get<uint64_t>();
  const uint64_t client_fds = client->WaitIdle(10s)["fds"].get<uint64_t>();

  const LoadResult r = RunEchoLoad(client->port(), echo.port(), kConnections, kBytes, 600s);
  EXPECT_EQ(r.intact, kConnections) << r.failed << " failed; first: " << r.first_error;

  const nlohmann::json s = server->WaitIdle(30s);
  const nlohmann::json c = client->WaitIdle(30s);
  EXPECT_TRUE(IsIdle(s)) << s.dump();
  EXPECT_TRUE(IsIdle(c)) << c.dump();
  EXPECT_EQ(s["fds"], server_fds) << "a descriptor leaked in the server";
  EXPECT_EQ(c["fds"], client_fds) << "a descriptor leaked in the client";
  EXPECT_EQ(s["connections"]["tunnels"], kConnections);
  EXPECT_EQ(s["connections"]["peak_active"], kConnections) << "every tunnel was open at once";
  const double mib = static_cast<double>(kConnections * kBytes) / (1 << 20);
  std::printf(
      "load: %zu tunnels x %zu KiB each way in %.1f s (%.0f MiB/s each way); peak concurrent %s; "
      "peak RSS: server %.1f MiB, client %.1f MiB\n",
      kConnections, kBytes / 1024, r.seconds, mib / r.seconds,
      s["connections"]["peak_active"].dump().c_str(), s["peak_rss_kib"].get<double>() / 1024,
      c["peak_rss_kib"].get<double>() / 1024);
  ::testing::Test::RecordProperty("server_peak_rss_kib", s["peak_rss_kib"].dump());
  ::testing::Test::RecordProperty("client_peak_rss_kib", c["peak_rss_kib"].dump());
}

}  // namespace
}  // namespace reflex::proxy::e2e
