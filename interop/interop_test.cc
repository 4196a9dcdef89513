// This implementation against the Go port (interop/go, written from
// SPEC.md alone): each one's client through the other's server, both
// profiles, data intact both ways; and `reflex probe` against the Go
// server and client, every scenario passing.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "proxy/e2e/child_process.h"
#include "proxy/e2e/load_driver.h"
#include "proxy/e2e/reflex_process.h"
#include "proxy/e2e/test_servers.h"
#include "proxy/probe/blocking_udp.h"
#include "reflex/datagram.h"

namespace reflex::proxy::e2e {
namespace {

using namespace std::chrono_literals;

std::string Loopback(uint16_t port) { return "127.0.0.1:" + std::to_string(port); }

// The Go port's server (both profiles) or client, on OS-chosen ports.
struct GoProcess {
  std::unique_ptr<ChildProcess> child;
  uint16_t port = 0;
};

GoProcess GoServer(uint16_t fallback, const std::string& tag, const std::vector<std::string>& extra = {}) {
  GoProcess g;
  std::vector<std::string> argv = {Runfile("interop/reflex-go"), "server", "--listen", "127.0.0.1:0", "--user",
                                   kUser1, "--user", kUser2, "--fallback", Loopback(fallback), "--profile", "v2",
                                   "--profile", "v1-compat", "--hello-wait", "1500ms"};
  argv.insert(argv.end(), extra.begin(), extra.end());
  g.child = std::make_unique<ChildProcess>(argv, TestDir(), tag);
  g.port = g.child->WaitForListening("server", 20s);
  return g;
}

GoProcess GoClient(uint16_t server, const std::string& profile, const std::string& tag,
                   const std::vector<std::string>& extra = {}) {
  GoProcess g;
  std::vector<std::string> argv = {Runfile("interop/reflex-go"), "client", "--server", Loopback(server), "--user",
                                   kUser1, "--socks", "127.0.0.1:0", "--profile", profile};
  argv.insert(argv.end(), extra.begin(), extra.end());
  g.child = std::make_unique<ChildProcess>(argv, TestDir(), tag);
  g.port = g.child->WaitForListening("socks", 20s);
  return g;
}

std::string RunProbe(std::vector<std::string> args, const std::string& tag, int* status) {
  args.insert(args.begin(), {Runfile("proxy/reflex"), "probe"});
  ChildProcess p(args, TestDir(), tag);
  *status = p.Wait(300s).value_or(-1);
  return p.ReadStdout() + p.ReadStderr();
}

constexpr size_t kTunnels = 8;
constexpr size_t kBytes = 1 << 20;

TEST(Interop, TheGoClientThroughOurServerCarriesDataBothWaysInBothProfiles) {
  RecordingListener echo({"127.0.0.1", 0}, RecordingListener::Mode::kEcho, "", 0);
  auto server = ReflexProcess::Server("cpp-server", UnusedPort(), {"--profile", "v2", "--profile", "v1-compat"});
  ASSERT_TRUE(server->ok()) << server->child().ReadStderr();
  for (const char* profile : {"v2", "v1-compat"}) {
    SCOPED_TRACE(profile);
    GoProcess go = GoClient(server->port(), profile, std::string("go-client-") + profile);
    ASSERT_NE(go.port, 0) << go.child->ReadStderr();
    const LoadResult r = RunEchoLoad(go.port, echo.port(), kTunnels, kBytes, 120s);
    EXPECT_EQ(r.intact, kTunnels) << r.first_error << "\n" << go.child->ReadStderr();
  }
}

TEST(Interop, OurClientThroughTheGoServerCarriesDataBothWaysInBothProfiles) {
  RecordingListener echo({"127.0.0.1", 0}, RecordingListener::Mode::kEcho, "", 0);
  GoProcess go = GoServer(UnusedPort(), "go-server");
  ASSERT_NE(go.port, 0) << go.child->ReadStderr();
  for (const char* profile : {"v2", "v1-compat"}) {
    SCOPED_TRACE(profile);
    auto client = ReflexProcess::Client(std::string("cpp-client-") + profile, go.port, {"--profile", profile});
    ASSERT_TRUE(client->ok()) << client->child().ReadStderr();
    const LoadResult r = RunEchoLoad(client->port(), echo.port(), kTunnels, kBytes, 120s);
    EXPECT_EQ(r.intact, kTunnels) << r.first_error << "\n" << go.child->ReadStderr();
  }
}

// SPEC 11.8: each shaped first flight, both ways.
TEST(Interop, EachShapedFirstFlightCarriesDataBothWaysBetweenGoAndOurs) {
  RecordingListener echo({"127.0.0.1", 0}, RecordingListener::Mode::kEcho, "", 0);
  const std::vector<std::vector<std::string>> shapes = {
      {"--first-flight", "http", "--first-flight-host", "cdn.example.com", "--first-flight-path", "/assets/"},
      {"--first-flight", "tls", "--first-flight-host", "cdn.example.com"}};
  for (const std::vector<std::string>& shape : shapes) {
    SCOPED_TRACE(shape[1]);
    auto server = ReflexProcess::Server("cpp-server-" + shape[1], UnusedPort(), shape);
    ASSERT_TRUE(server->ok()) << server->child().ReadStderr();
    GoProcess go_client = GoClient(server->port(), "v2", "go-client-" + shape[1], shape);
    ASSERT_NE(go_client.port, 0) << go_client.child->ReadStderr();
    LoadResult r = RunEchoLoad(go_client.port, echo.port(), kTunnels, kBytes, 120s);
    EXPECT_EQ(r.intact, kTunnels) << "Go client, our server: " << r.first_error;

    GoProcess go_server = GoServer(UnusedPort(), "go-server-" + shape[1], shape);
    ASSERT_NE(go_server.port, 0) << go_server.child->ReadStderr();
    auto client = ReflexProcess::Client("cpp-client-" + shape[1], go_server.port, shape);
    ASSERT_TRUE(client->ok()) << client->child().ReadStderr();
    r = RunEchoLoad(client->port(), echo.port(), kTunnels, kBytes, 120s);
    EXPECT_EQ(r.intact, kTunnels) << "our client, Go server: " << r.first_error;
  }
}

// SPEC 15 through a client's SOCKS5 port: datagrams of every size to two
// echoes on one association, each answered byte-exact from its echo.
void ExpectUdpEchoes(uint16_t socks_port) {
  probe::UdpEcho e1, e2;
  probe::Socks5UdpAssociation a({"127.0.0.1", socks_port});
  ASSERT_EQ(a.code(), 0) << "UDP ASSOCIATE refused";
  for (const size_t size : {size_t{0}, size_t{1}, size_t{512}, size_t{1452}, kMaxIpv4DatagramBytes}) {
    for (probe::UdpEcho* echo : {&e1, &e2}) {
      SCOPED_TRACE(std::to_string(size) + " bytes to " + std::to_string(echo->port()));
      probe::Bytes data(size);
      for (size_t i = 0; i < size; ++i) data[i] = static_cast<uint8_t>(i * 7 + echo->port());
      ASSERT_TRUE(a.Send({"127.0.0.1", echo->port()}, data));
      const std::optional<probe::Datagram> back = a.Receive(5s);
      ASSERT_TRUE(back.has_value()) << "no answer";
      EXPECT_EQ(back->peer.port, echo->port());
      EXPECT_EQ(back->bytes, data);
    }
  }
}

TEST(Interop, UdpAssociationsCarryDatagramsBothWaysBetweenGoAndOursInBothProfiles) {
  auto server = ReflexProcess::Server("cpp-udp-server", UnusedPort(), {"--profile", "v2", "--profile", "v1-compat"});
  ASSERT_TRUE(server->ok()) << server->child().ReadStderr();
  GoProcess go_server = GoServer(UnusedPort(), "go-udp-server");
  ASSERT_NE(go_server.port, 0) << go_server.child->ReadStderr();
  for (const char* profile : {"v2", "v1-compat"}) {
    SCOPED_TRACE(profile);
    GoProcess go_client = GoClient(server->port(), profile, std::string("go-udp-client-") + profile);
    ASSERT_NE(go_client.port, 0) << go_client.child->ReadStderr();
    {
      SCOPED_TRACE("the Go client, our server");
      ExpectUdpEchoes(go_client.port);
    }
    auto client = ReflexProcess::Client(std::string("cpp-udp-client-") + profile, go_server.port,
                                        {"--profile", profile});
    ASSERT_TRUE(client->ok()) << client->child().ReadStderr();
    {
      SCOPED_TRACE("our client, the Go server");
      ExpectUdpEchoes(client->port());
    }
  }
}

TEST(Interop, TheProbeFindsTheGoServerConformantInBothProfiles) {
  const uint16_t fallback = UnusedPort();
  GoProcess go = GoServer(fallback, "probed-go-server");
  ASSERT_NE(go.port, 0) << go.child->ReadStderr();
  for (const char* profile : {"v2", "v1-compat"}) {
    int status = -1;
    const std::string out =
        RunProbe({"server", "--target", Loopback(go.port), "--user", kUser1, "--profile", profile,
                  "--fallback-listen", Loopback(fallback), "--echo-listen", "127.0.0.1:0", "--hello-wait", "1500"},
                 std::string("probe-go-server-") + profile, &status);
    EXPECT_EQ(status, 0) << out;
    EXPECT_NE(out.find(" passed, 0 failed"), std::string::npos) << out;
  }
}

TEST(Interop, TheProbeFindsTheGoClientConformantInBothProfiles) {
  for (const char* profile : {"v2", "v1-compat"}) {
    const uint16_t listen = UnusedPort();
    GoProcess go = GoClient(listen, profile, std::string("probed-go-client-") + profile);
    ASSERT_NE(go.port, 0) << go.child->ReadStderr();
    int status = -1;
    const std::string out = RunProbe({"client", "--listen", Loopback(listen), "--user", kUser1, "--profile",
                                      profile, "--socks", Loopback(go.port)},
                                     std::string("probe-go-client-") + profile, &status);
    EXPECT_EQ(status, 0) << out;
    EXPECT_NE(out.find(" passed, 0 failed"), std::string::npos) << out;
  }
}

}  // namespace
}  // namespace reflex::proxy::e2e
