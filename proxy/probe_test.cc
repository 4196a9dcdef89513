// reflex probe against this implementation: every scenario passes for our
// server and client in both profiles, and each deliberately broken server
// (proxy/defects.h) is reported by the scenario that names its defect.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "proxy/asio_config.h"
#include "proxy/e2e/child_process.h"
#include "proxy/e2e/reflex_process.h"
#include "proxy/e2e/test_servers.h"

namespace reflex::proxy::e2e {
namespace {

using namespace std::chrono_literals;

using ProbeRun = CommandRun;

ProbeRun RunProbe(std::vector<std::string> args, const std::string& tag) {
  args.insert(args.begin(), "probe");
  return RunReflex(std::move(args), tag);
}

// A server (ours or a defective build) and the probe against it.
// `shape`: --first-flight flags, given to the server and the probe alike.
ProbeRun ProbeServerBinary(const std::string& binary, const std::string& profile, const std::string& tag,
                           const std::string& only = "", const std::vector<std::string>& shape = {}) {
  const uint16_t fallback = UnusedPort();
  std::vector<std::string> flags = {"--profile", profile, "--hello-wait", "1500"};
  flags.insert(flags.end(), shape.begin(), shape.end());
  auto server = ReflexProcess::Server(tag, fallback, flags, binary);
  if (!server->ok()) return {-1, "the server did not start: " + server->child().ReadStderr()};
  std::vector<std::string> args = {"server", "--target", "127.0.0.1:" + std::to_string(server->port()),
                                   "--user", kUser1, "--profile", profile, "--fallback-listen",
                                   "127.0.0.1:" + std::to_string(fallback), "--echo-listen", "127.0.0.1:0",
                                   "--hello-wait", "1500", "--only", only};
  args.insert(args.end(), shape.begin(), shape.end());
  return RunProbe(std::move(args), tag + "-probe");
}

const std::vector<std::vector<std::string>> kShapes = {
    {"--first-flight", "http", "--first-flight-host", "cdn.example.com", "--first-flight-path", "/assets/"},
    {"--first-flight", "tls", "--first-flight-host", "cdn.example.com"}};

TEST(Probe, OurServerPassesEveryScenarioInBothProfiles) {
  for (const char* profile : {"v2", "v1-compat"}) {
    const ProbeRun r = ProbeServerBinary("proxy/reflex", profile, std::string("server-") + profile);
    EXPECT_EQ(r.status, 0) << r.out;
    EXPECT_EQ(r.out.find("FAIL"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find(" passed, 0 failed"), std::string::npos) << r.out;
    for (const char* udp : {"udp-echo", "udp-several-destinations", "udp-oversized-datagram", "udp-datagram-after-close"}) {
      EXPECT_NE(r.out.find(std::string("PASS ") + udp + "\n"), std::string::npos) << udp << "\n" << r.out;
    }
  }
}

// SPEC 11.8: every scenario again with v2's first flight shaped, both
// sides configured alike.
TEST(Probe, OurServerAndClientPassEveryScenarioWithEachShapedFirstFlight) {
  for (const std::vector<std::string>& shape : kShapes) {
    SCOPED_TRACE(shape[1]);
    const ProbeRun server = ProbeServerBinary("proxy/reflex", "v2", "server-" + shape[1], "", shape);
    EXPECT_EQ(server.status, 0) << server.out;
    EXPECT_NE(server.out.find(" passed, 0 failed"), std::string::npos) << server.out;
    const uint16_t listen = UnusedPort();
    auto client = ReflexProcess::Client("client-" + shape[1], listen, shape);
    ASSERT_TRUE(client->ok()) << client->child().ReadStderr();
    std::vector<std::string> args = {"client", "--listen", "127.0.0.1:" + std::to_string(listen), "--user",
                                     kUser1, "--socks", "127.0.0.1:" + std::to_string(client->port())};
    args.insert(args.end(), shape.begin(), shape.end());
    const ProbeRun c = RunProbe(std::move(args), "client-probe-" + shape[1]);
    EXPECT_EQ(c.status, 0) << c.out;
    EXPECT_NE(c.out.find(" passed, 0 failed"), std::string::npos) << c.out;
  }
}

TEST(Probe, OurClientPassesEveryScenarioInBothProfiles) {
  for (const char* profile : {"v2", "v1-compat"}) {
    const uint16_t listen = UnusedPort();
    auto client = ReflexProcess::Client(std::string("client-") + profile, listen, {"--profile", profile});
    ASSERT_TRUE(client->ok()) << client->child().ReadStderr();
    const ProbeRun r = RunProbe({"client", "--listen", "127.0.0.1:" + std::to_string(listen), "--user", kUser1,
                                 "--profile", profile, "--socks", "127.0.0.1:" + std::to_string(client->port())},
                                std::string("client-probe-") + profile);
    EXPECT_EQ(r.status, 0) << r.out;
    EXPECT_NE(r.out.find(" passed, 0 failed"), std::string::npos) << r.out;
    for (const char* udp : {"udp-associate", "udp-several-destinations", "udp-oversized-datagram",
                            "udp-datagram-after-close", "udp-refused"}) {
      EXPECT_NE(r.out.find(std::string("PASS ") + udp + "\n"), std::string::npos) << udp << "\n" << r.out;
    }
  }
}

TEST(Probe, EachInjectedDefectIsReportedAsAFailureByName) {
  struct Case {
    const char* defect;
    const char* scenario;  // the scenario that must fail
  };
  for (const Case& c : {Case{"lost_fallback_bytes", "probe-76-random"},
                        Case{"accept_replay", "probe-replayed-hello"},
                        Case{"forward_after_failure", "frame-flipped-bit"},
                        Case{"udp_truncate_oversize", "udp-oversized-datagram"}}) {
    SCOPED_TRACE(c.defect);
    const std::string binary = std::string("proxy/reflex_with_") + c.defect;
    const ProbeRun r = ProbeServerBinary(binary, "v2", c.defect, c.scenario);
    EXPECT_EQ(r.status, 1) << r.out;
    EXPECT_NE(r.out.find(std::string("FAIL ") + c.scenario + ":"), std::string::npos) << r.out;
    // The defect is the only thing wrong: an honest session still passes.
    const ProbeRun honest = ProbeServerBinary(binary, "v2", std::string(c.defect) + "-honest", "data-16384");
    EXPECT_EQ(honest.status, 0) << honest.out;
  }
}

TEST(Probe, ListNamesTheScenariosAndOnlyRunsOne) {
  const ProbeRun list = RunProbe({"server", "--list", "--target", "127.0.0.1:1", "--fallback-listen",
                                  "127.0.0.1:0", "--echo-listen", "127.0.0.1:0"},
                                 "list");
  EXPECT_EQ(list.status, 0) << list.out;
  for (const char* name : {"data-0", "hello-split-at-every-offset", "probe-replayed-hello", "frame-reflected",
                           "length-65535", "concurrent-100", "udp-echo", "udp-several-destinations",
                           "udp-oversized-datagram", "udp-datagram-after-close"}) {
    EXPECT_NE(list.out.find(std::string(name) + "\n"), std::string::npos) << name;
  }
  const ProbeRun none = RunProbe({"server", "--only", "no-such-scenario", "--user", kUser1, "--target",
                                  "127.0.0.1:1", "--fallback-listen", "127.0.0.1:0", "--echo-listen",
                                  "127.0.0.1:0"},
                                 "only");
  EXPECT_EQ(none.status, 2) << none.out;
}

}  // namespace
}  // namespace reflex::proxy::e2e
