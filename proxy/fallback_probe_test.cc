// reflex probe fallback, with nginx as the fallback: it finds nothing to
// tell nginx from itself, nor the server (v2) from nginx; in v1-compat it
// finds only the altered hellos v1 cannot authenticate (SPEC 12.1); and it
// names, by probe, a server that dials its fallback late (silence) and the
// defect builds that wait for a whole hello or leave the ending half-open.
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <utility>
#include <vector>

#include "proxy/e2e/child_process.h"
#include "proxy/e2e/nginx.h"
#include "proxy/e2e/reflex_process.h"
#include "reflex/crypto_init.h"

namespace reflex::proxy::e2e {
namespace {

using namespace std::chrono_literals;

using ProbeRun = CommandRun;

ProbeRun RunFallbackProbe(uint16_t target, uint16_t fallback, std::vector<std::string> extra,
                          const std::string& tag) {
  std::vector<std::string> args = {"probe", "fallback", "--target", "127.0.0.1:" + std::to_string(target),
                                   "--fallback", "127.0.0.1:" + std::to_string(fallback), "--max-wait", "6"};
  args.insert(args.end(), extra.begin(), extra.end());
  return RunReflex(std::move(args), tag);
}

bool Has(const std::string& out, const std::string& line_start) {
  return out.find("\n" + line_start) != std::string::npos || out.rfind(line_start, 0) == 0;
}

class FallbackProbe : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { ASSERT_EQ(InitCrypto(), Error::kOk); }
};

TEST_F(FallbackProbe, FindsNothingBetweenNginxAndItself) {
  Nginx nginx("nginx-self");
  ASSERT_TRUE(nginx.ok()) << "nginx-light is needed (tools/bootstrap.sh installs it)";
  const ProbeRun r = RunFallbackProbe(nginx.port(), nginx.port(), {}, "probe-self");
  EXPECT_EQ(r.status, 0) << r.out;
  EXPECT_TRUE(Has(r.out, "SAME silence")) << r.out;
  EXPECT_TRUE(Has(r.out, "SAME random-10")) << r.out;
  EXPECT_NE(r.out.find(" passed, 0 failed"), std::string::npos) << r.out;
}

TEST_F(FallbackProbe, FindsTheServerLikeNginxOnEveryProbe) {
  Nginx nginx("nginx-fallback");
  ASSERT_TRUE(nginx.ok()) << "nginx-light is needed (tools/bootstrap.sh installs it)";
  auto server = ReflexProcess::Server("probed-server", nginx.port(), {"--hello-wait", "1500"});
  ASSERT_TRUE(server->ok()) << server->child().ReadStderr();
  const ProbeRun r = RunFallbackProbe(server->port(), nginx.port(), {"--user", kUser1}, "probe-server");
  EXPECT_EQ(r.status, 0) << r.out;
  EXPECT_NE(r.out.find(" passed, 0 failed"), std::string::npos) << r.out;
  for (const char* same : {"SAME silence", "SAME random-1", "SAME random-10", "SAME random-75",
                           "SAME http-partial-line", "SAME http-bare-lf", "SAME http-0.9",
                           "SAME tls-client-hello-cut-50", "SAME http-get", "SAME http-get-close",
                           "SAME random-100", "SAME genuine-hello-replayed", "SAME tls-client-hello"}) {
    EXPECT_TRUE(Has(r.out, same)) << same << "\n" << r.out;
  }
}

// A v1 hello carries its user id in clear and nothing authenticates its key
// or its nonce: whoever holds one recorded hello can make new ones the
// server accepts (SPEC 9 and 12.1). Those, and only those, differ.
TEST_F(FallbackProbe, FindsTheServerInV1CompatLikeNginxButForTheHellosV1CannotAuthenticate) {
  Nginx nginx("nginx-v1");
  ASSERT_TRUE(nginx.ok()) << "nginx-light is needed (tools/bootstrap.sh installs it)";
  auto server = ReflexProcess::Server("probed-v1-server", nginx.port(),
                                      {"--hello-wait", "1500", "--profile", "v2", "--profile", "v1-compat"});
  ASSERT_TRUE(server->ok()) << server->child().ReadStderr();
  const ProbeRun r = RunFallbackProbe(server->port(), nginx.port(),
                                      {"--user", kUser1, "--profile", "v1-compat"}, "probe-v1-server");
  EXPECT_EQ(r.status, 1) << r.out;
  for (const char* key_or_nonce : {"16", "31", "32", "60", "75"}) {
    const std::string name = std::string("genuine-hello-byte-") + key_or_nonce + "-changed";
    EXPECT_TRUE(Has(r.out, "DIFFERENT " + name + ": answer (direct ")) << name << "\n" << r.out;
  }
  EXPECT_NE(r.out.find(" passed, 5 failed"), std::string::npos) << r.out;
  for (const char* same : {"SAME silence", "SAME genuine-hello-replayed", "SAME genuine-hello-byte-0-changed",
                           "SAME genuine-hello-byte-44-changed", "SAME random-10", "SAME http-get"}) {
    EXPECT_TRUE(Has(r.out, same)) << same << "\n" << r.out;
  }
}

// SPEC 11.8: a first flight shaped like the fallback's protocol changes
// nothing a prober sees: http in front of nginx, tls in front of nginx over
// TLS (its own ClientHello-shaped hellos, replayed and altered, included).
TEST_F(FallbackProbe, FindsAServerWithAShapedFirstFlightLikeItsNginxFallback) {
  for (const auto& [shape, transport] : {std::pair{"http", Nginx::Transport::kHttp},
                                         std::pair{"tls", Nginx::Transport::kTls}}) {
    SCOPED_TRACE(shape);
    Nginx nginx(std::string("nginx-shape-") + shape, transport);
    ASSERT_TRUE(nginx.ok()) << "nginx-light and openssl are needed (tools/bootstrap.sh installs them)";
    const std::vector<std::string> flags = {"--first-flight", shape, "--first-flight-host", "cdn.example.com"};
    std::vector<std::string> server_flags = {"--hello-wait", "1500"};
    server_flags.insert(server_flags.end(), flags.begin(), flags.end());
    auto server = ReflexProcess::Server(std::string("shaped-server-") + shape, nginx.port(), server_flags);
    ASSERT_TRUE(server->ok()) << server->child().ReadStderr();
    std::vector<std::string> probe_flags = {"--user", kUser1};
    probe_flags.insert(probe_flags.end(), flags.begin(), flags.end());
    const ProbeRun r =
        RunFallbackProbe(server->port(), nginx.port(), probe_flags, std::string("probe-shaped-") + shape);
    EXPECT_EQ(r.status, 0) << r.out;
    EXPECT_NE(r.out.find(" passed, 0 failed"), std::string::npos) << r.out;
    EXPECT_TRUE(Has(r.out, "SAME genuine-hello-replayed")) << r.out;
  }
}

// --fallback-dial late: a silent connection waits the hello wait before the
// fallback's own timers start, so it ends later than at nginx directly.
TEST_F(FallbackProbe, NamesTheSilenceOfAServerThatDialsItsFallbackLate) {
  Nginx nginx("nginx-late");
  ASSERT_TRUE(nginx.ok()) << "nginx-light is needed (tools/bootstrap.sh installs it)";
  auto server = ReflexProcess::Server("late-server", nginx.port(),
                                      {"--hello-wait", "1500", "--fallback-dial", "late"});
  ASSERT_TRUE(server->ok()) << server->child().ReadStderr();
  const ProbeRun r = RunFallbackProbe(server->port(), nginx.port(), {"--only", "silence"}, "probe-late");
  EXPECT_EQ(r.status, 1) << r.out;
  EXPECT_TRUE(Has(r.out, "DIFFERENT silence: end (direct FIN at ")) << r.out;
}

TEST_F(FallbackProbe, NamesTheHelloWaitOfTheDefectBuildThatWaitsForAWholeHello) {
  Nginx nginx("nginx-wait");
  ASSERT_TRUE(nginx.ok()) << "nginx-light is needed (tools/bootstrap.sh installs it)";
  auto server = ReflexProcess::Server("wait-server", nginx.port(), {"--hello-wait", "1500"},
                                      "proxy/reflex_with_wait_for_whole_hello");
  ASSERT_TRUE(server->ok()) << server->child().ReadStderr();
  const ProbeRun r = RunFallbackProbe(server->port(), nginx.port(), {"--only", "random-10"}, "probe-wait");
  EXPECT_EQ(r.status, 1) << r.out;
  EXPECT_TRUE(Has(r.out, "DIFFERENT random-10: first byte (direct ")) << r.out;
}

TEST_F(FallbackProbe, NamesTheHalfOpenEndingOfTheDefectBuildThatHasIt) {
  Nginx nginx("nginx-half-open");
  ASSERT_TRUE(nginx.ok()) << "nginx-light is needed (tools/bootstrap.sh installs it)";
  auto server = ReflexProcess::Server("half-open-server", nginx.port(), {}, "proxy/reflex_with_half_open_ending");
  ASSERT_TRUE(server->ok()) << server->child().ReadStderr();
  const ProbeRun r = RunFallbackProbe(server->port(), nginx.port(), {"--only", "http-get"}, "probe-half-open");
  EXPECT_EQ(r.status, 1) << r.out;
  EXPECT_TRUE(Has(r.out, "DIFFERENT http-get: a write after the end (direct ok then broken pipe, "
                         "through server ok then ok)"))
      << r.out;
}

}  // namespace
}  // namespace reflex::proxy::e2e
