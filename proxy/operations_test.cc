// Operating a server, end to end on loopback through the real binary: the
// Prometheus endpoint counts each user's tunnels and bytes exactly, and a
// reload (SIGHUP) changes the users without dropping open tunnels.
#include <signal.h>
#include <sys/stat.h>

#include <gtest/gtest.h>

#include <cerrno>
#include <chrono>
#include <fstream>
#include <functional>
#include <memory>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "proxy/connection_state.h"
#include "proxy/e2e/child_process.h"
#include "proxy/e2e/reflex_process.h"
#include "proxy/e2e/test_dns_server.h"
#include "proxy/e2e/test_servers.h"
#include "reflex/client_session.h"
#include "reflex/crypto_init.h"
#include "reflex/random.h"
#include "reflex/session_types.h"

namespace reflex::proxy::e2e {
namespace {

using namespace std::chrono_literals;

// The label a user has in metrics and logs.
std::string UserLabel(const char* uuid) {
  UserId id;
  EXPECT_TRUE(ParseUserId(uuid, &id));
  return ShortUserId(id).data();
}

// GET http://127.0.0.1:port/path with curl: {status, body}.
std::pair<int, std::string> Fetch(uint16_t port, const std::string& path, const std::string& tag) {
  const std::string out = TestDir() + "/" + tag + ".out";
  ChildProcess curl({"/usr/bin/curl", "-s", "--max-time", "20", "-o", out, "-w", "%{http_code}",
                     "http://127.0.0.1:" + std::to_string(port) + path},
                    TestDir(), tag);
  curl.Wait(30s);
  return {std::atoi(curl.ReadStdout().c_str()), ReadFile(out)};
}

// The value of one sample ("name{labels}") in a metrics page, or -1.
long long Sample(const std::string& page, const std::string& series) {
  const std::string key = series + " ";
  for (size_t at = page.find(key); at != std::string::npos; at = page.find(key, at + 1)) {
    if (at == 0 || page[at - 1] == '\n') return std::atoll(page.c_str() + at + key.size());
  }
  return -1;
}

// A tunnel through the client's SOCKS5 port to the echo server: n bytes
// there and back, then closed. True when all came back.
bool EchoThrough(uint16_t socks, uint16_t echo, size_t n) {
  BlockingSocket s(socks);
  if (Socks5Connect(s, "127.0.0.1", echo) != 0) return false;
  const Bytes data = Content(0, n);
  if (!s.Send(data)) return false;
  return s.ReadExactly(n, 10s) == data;
}

Bytes B(std::string_view text) { return Bytes(text.begin(), text.end()); }

void WriteFile(const std::string& path, const std::string& text) {
  std::ofstream(path) << text;
}

class Operations : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { ASSERT_EQ(InitCrypto(), Error::kOk); }
  RecordingListener echo_{{"127.0.0.1", 0}, RecordingListener::Mode::kEcho};
};

TEST_F(Operations, MetricsCountEachUsersTunnelsBytesAndRefusalsExactly) {
  auto server = ReflexProcess::Server("metrics-server", UnusedPort(), {"--metrics", "127.0.0.1:0"});
  ASSERT_TRUE(server->ok()) << server->child().ReadStderr();
  const uint16_t metrics = server->child().WaitForListening("metrics", 20s);
  ASSERT_NE(metrics, 0) << server->child().ReadStderr();
  auto one = ReflexProcess::Client("metrics-user1", server->port());
  auto two = ReflexProcess::Client("metrics-user2", server->port(), {"--user", kUser2});
  ASSERT_TRUE(one->ok() && two->ok());

  for (int i = 0; i < 3; ++i) ASSERT_TRUE(EchoThrough(one->port(), echo_.port(), 1000));
  ASSERT_TRUE(EchoThrough(two->port(), echo_.port(), 500));
  {
    BlockingSocket s(one->port());
    EXPECT_EQ(Socks5Connect(s, "169.254.169.254", 80), kConnectNotAllowed);
  }
  const nlohmann::json idle = server->WaitIdle(10s);
  ASSERT_TRUE(IsIdle(idle)) << idle.dump();

  const auto [status, page] = Fetch(metrics, "/metrics", "scrape");
  ASSERT_EQ(status, 200) << page;
  const std::string u1 = "user=\"" + UserLabel(kUser1) + "\"";
  const std::string u2 = "user=\"" + UserLabel(kUser2) + "\"";
  EXPECT_EQ(Sample(page, "reflex_user_tunnels_total{" + u1 + "}"), 3) << page;
  EXPECT_EQ(Sample(page, "reflex_user_tunnels_total{" + u2 + "}"), 1) << page;
  EXPECT_EQ(Sample(page, "reflex_user_tunnels_open{" + u1 + "}"), 0) << page;
  EXPECT_EQ(Sample(page, "reflex_user_bytes_total{" + u1 + ",direction=\"up\"}"), 3000) << page;
  EXPECT_EQ(Sample(page, "reflex_user_bytes_total{" + u1 + ",direction=\"down\"}"), 3000) << page;
  EXPECT_EQ(Sample(page, "reflex_user_bytes_total{" + u2 + ",direction=\"up\"}"), 500) << page;
  EXPECT_EQ(Sample(page, "reflex_user_bytes_total{" + u2 + ",direction=\"down\"}"), 500) << page;
  EXPECT_EQ(Sample(page, "reflex_user_refusals_total{" + u1 + ",reason=\"target_not_allowed\"}"), 1) << page;
  EXPECT_EQ(Sample(page, "reflex_tunnels_total"), 4) << page;
  EXPECT_EQ(Sample(page, "reflex_bytes_total{direction=\"up\"}"), 3500) << page;
  EXPECT_EQ(Sample(page, "reflex_connections_active"), 0) << page;
  EXPECT_EQ(Sample(page, "reflex_pool_outstanding{pool=\"buffers\"}"), 0) << page;
  EXPECT_GT(Sample(page, "process_resident_memory_bytes"), 0) << page;
  EXPECT_GT(Sample(page, "process_open_fds"), 0) << page;
  EXPECT_EQ(page.find(kUser1), std::string::npos) << "users appear by hash, never by id";
  EXPECT_NE(page.find("# TYPE reflex_user_bytes_total counter"), std::string::npos);
  // Every sample line is NAME{LABELS} VALUE or NAME VALUE.
  const std::regex line(R"(([a-z_]+(\{[a-z_]+="[^"]*"(,[a-z_]+="[^"]*")*\})? [0-9]+|# (HELP|TYPE) .*))");
  size_t start = 0;
  for (size_t eol = page.find('\n'); eol != std::string::npos; start = eol + 1, eol = page.find('\n', start)) {
    const std::string l = page.substr(start, eol - start);
    EXPECT_TRUE(std::regex_match(l, line)) << l;
  }
  EXPECT_EQ(Fetch(metrics, "/", "scrape-root").first, 404);
}

TEST(OperationsCommandLine, MetricsBeyondLoopbackNeedPublicMetrics) {
  ChildProcess p({Runfile("proxy/reflex"), "server", "--listen", "127.0.0.1:0", "--user", kUser1, "--fallback",
                  "127.0.0.1:1", "--metrics", "0.0.0.0:0", "--check-config"},
                 TestDir(), "public-metrics");
  EXPECT_EQ(p.Wait(20s).value_or(-1), 1);
  EXPECT_NE(p.ReadStderr().find("--public-metrics"), std::string::npos) << p.ReadStderr();
}

// With the server's lookups on a DNS server that never answers one zone:
// lookups of another zone are not delayed by them (on one thread, where
// Asio's one resolver thread used to serialize them), and one user cannot
// hold more than --max-lookups-per-user of them at once.
TEST_F(Operations, ASilentDnsZoneDelaysNoOtherLookupAndOneUserCannotFillTheResolver) {
  FakeDnsServer dns;
  constexpr auto kDnsTimeout = 3s;
  auto server = ReflexProcess::Server(
      "dns-server", UnusedPort(),
      {"--threads", "1", "--dns-server", "127.0.0.1:" + std::to_string(dns.port()), "--dns-timeout", "3",
       "--max-lookups-per-user", "4"});
  ASSERT_TRUE(server->ok()) << server->child().ReadStderr();
  auto one = ReflexProcess::Client("dns-user1", server->port());
  auto two = ReflexProcess::Client("dns-user2", server->port(), {"--user", kUser2});
  ASSERT_TRUE(one->ok() && two->ok());

  std::vector<std::thread> stalled;
  std::vector<int> stalled_codes(4, -1);
  for (size_t i = 0; i < stalled_codes.size(); ++i) {
    stalled.emplace_back([&, i] {
      BlockingSocket s(one->port());
      stalled_codes[i] = Socks5Connect(s, "n" + std::to_string(i) + ".slow.test", 80);
    });
  }
  const auto until = std::chrono::steady_clock::now() + 10s;
  while (dns.slow_queries() < 4 && std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(10ms);
  }
  ASSERT_GE(dns.slow_queries(), 4) << "the four lookups reached the DNS server";

  auto timed = [](const std::function<int()>& connect) {
    const auto start = std::chrono::steady_clock::now();
    const int code = connect();
    return std::make_pair(code, std::chrono::steady_clock::now() - start);
  };
  const auto [fast, fast_took] = timed([&] {
    BlockingSocket s(two->port());
    return Socks5Connect(s, "www.fast.test", echo_.port());
  });
  EXPECT_EQ(fast, 0) << "another zone resolves";
  EXPECT_LT(fast_took, kDnsTimeout / 2) << "and is not kept waiting behind the silent zone";
  const auto [capped, capped_took] = timed([&] {
    BlockingSocket s(one->port());
    return Socks5Connect(s, "n9.slow.test", 80);
  });
  EXPECT_EQ(capped, kConnectHostUnreachable) << "a fifth lookup of the same user is refused";
  EXPECT_LT(capped_took, kDnsTimeout / 2) << "at once";

  for (std::thread& t : stalled) t.join();
  for (const int code : stalled_codes) EXPECT_EQ(code, kConnectTimedOut) << "the stalled lookups time out";
  const std::string log = server->child().ReadStderr();
  EXPECT_NE(log.find("close=target_unreachable"), std::string::npos) << log;
}

// With --state-dir, a hello recorded before a restart is refused after
// it, whether the server was stopped (SIGTERM) or killed (SIGKILL), and a
// genuine client connects right away.
TEST_F(Operations, AHelloRecordedBeforeARestartGoesToTheFallbackAfterIt) {
  RecordingListener fallback({"127.0.0.1", 0}, RecordingListener::Mode::kCapture);
  const std::string state = TestDir() + "/state";
  ASSERT_EQ(mkdir(state.c_str(), 0700) == 0 || errno == EEXIST, true);
  auto server = ReflexProcess::Server("journal-0", fallback.port(), {"--state-dir", state});
  ASSERT_TRUE(server->ok()) << server->child().ReadStderr();
  for (const int signo : {SIGKILL, SIGTERM}) {
    SCOPED_TRACE(signo == SIGKILL ? "kill -9" : "SIGTERM");
    RecordingRelay relay(server->port(), 76);
    auto client = ReflexProcess::Client("journal-client", relay.port());
    ASSERT_TRUE(client->ok());
    ASSERT_TRUE(EchoThrough(client->port(), echo_.port(), 100));
    const std::vector<Bytes> recorded = relay.Recorded();
    ASSERT_EQ(recorded.size(), 1u);

    server->child().Signal(signo);
    ASSERT_TRUE(server->child().Wait(20s).has_value());
    server = ReflexProcess::Server("journal-restarted", fallback.port(), {"--state-dir", state});
    ASSERT_TRUE(server->ok()) << server->child().ReadStderr();
    EXPECT_TRUE(server->WaitForLog("replay journal: ", 5s)) << server->child().ReadStderr();

    const size_t from = fallback.count();
    BlockingSocket replay(server->port());
    ASSERT_TRUE(replay.Send(recorded[0]));
    const size_t n = fallback.WaitForUsed(from, recorded[0].size(), false, 10s);
    ASSERT_NE(n, 0u) << "the replayed hello reached the fallback";
    EXPECT_EQ(fallback.Connections()[n - 1].bytes, recorded[0]);

    auto fresh = ReflexProcess::Client("journal-fresh", server->port());
    ASSERT_TRUE(fresh->ok());
    EXPECT_TRUE(EchoThrough(fresh->port(), echo_.port(), 100)) << "a genuine client connects at once";
  }
}

class Reload : public Operations {
 protected:
  // A config file with these users (everything else fixed).
  std::string Config(const std::string& name, std::vector<const char*> users,
                     const std::string& fallback = "127.0.0.1:1") {
    std::string list;
    for (const char* u : users) list += std::string(list.empty() ? "" : ", ") + "\"" + u + "\"";
    const std::string path = TestDir() + "/" + name;
    WriteFile(path, "{\"listen\": \"127.0.0.1:0\", \"fallback\": \"" + fallback + "\", \"user\": [" + list +
                        "], \"allow-target\": [\"127.0.0.0/8\"]}");
    return path;
  }
};

// Users added by a reload connect, users removed cannot open a new tunnel
// but keep the ones they have, and tunnels of every user keep moving data.
TEST_F(Reload, SighupAddsAndRemovesUsersWithoutDroppingOpenTunnels) {
  const std::string config = Config("reload.json", {kUser1, kUser2});
  auto server = ReflexProcess::ServerWithConfig("reload-server", config);
  ASSERT_TRUE(server->ok()) << server->child().ReadStderr();
  auto one = ReflexProcess::Client("reload-user1", server->port());
  auto two = ReflexProcess::Client("reload-user2", server->port(), {"--user", kUser2});
  auto three = ReflexProcess::Client("reload-user3", server->port(), {"--user", kUser3});
  ASSERT_TRUE(one->ok() && two->ok() && three->ok());
  EXPECT_FALSE(EchoThrough(three->port(), echo_.port(), 10)) << "user 3 is not configured yet";

  BlockingSocket open2(two->port());
  ASSERT_EQ(Socks5Connect(open2, "127.0.0.1", echo_.port()), 0);
  ASSERT_TRUE(open2.Send(std::string("before")));
  ASSERT_EQ(open2.ReadExactly(6, 10s), B("before"));

  BlockingSocket early(server->port());  // a connection that sends its hello after the reload
  ASSERT_TRUE(early.connected());
  // Accepted by the server (not only queued by the kernel) before the reload:
  // the tunnel open2 and this connection are both open.
  bool accepted = false;
  for (const auto until = std::chrono::steady_clock::now() + 10s;
       !accepted && std::chrono::steady_clock::now() < until;) {
    const nlohmann::json stats = server->Stats();
    accepted = stats.is_object() && stats["connections"]["active"].get<int>() >= 2;
  }
  ASSERT_TRUE(accepted);
  Config("reload.json", {kUser1, kUser3}, "127.0.0.1:2");
  server->child().Signal(SIGHUP);
  ASSERT_TRUE(server->WaitForLog("reload: 2 user(s): 1 added, 1 removed", 10s)) << server->child().ReadStderr();
  EXPECT_TRUE(server->WaitForLog("reload: --fallback changed, which takes a restart; ignored", 1s));

  ASSERT_TRUE(open2.Send(std::string("after")));
  EXPECT_EQ(open2.ReadExactly(5, 10s), B("after"))
      << "a removed user's open tunnel keeps moving data";
  EXPECT_TRUE(EchoThrough(three->port(), echo_.port(), 1000)) << "an added user connects";
  {
    // A connection accepted before the reload, the removed user's hello
    // sent after it: no server hello, the connection ends.
    SystemClock clock;
    Csprng random;
    ClientConfig client_config;
    ASSERT_TRUE(ParseUserId(kUser2, &client_config.user));
    ClientSession c(client_config, clock, random);
    ASSERT_EQ(c.Start(), Error::kOk);
    ASSERT_TRUE(early.Send(c.PendingOutput()));
    bool ended = false;
    EXPECT_TRUE(early.ReadAll(10s, &ended).empty()) << "no server hello for a removed user";
    EXPECT_TRUE(ended);
    EXPECT_TRUE(server->WaitForLog("close=user_removed", 10s)) << server->child().ReadStderr();
  }
  EXPECT_TRUE(EchoThrough(one->port(), echo_.port(), 1000)) << "a kept user connects";
  EXPECT_FALSE(EchoThrough(two->port(), echo_.port(), 10)) << "a removed user opens no new tunnel";
  open2.Close();

  WriteFile(config, "{\"listen\": \"127.0.0.1:0\", \"usr\": []}");
  server->child().Signal(SIGHUP);
  EXPECT_TRUE(server->WaitForLog("unknown key 'usr'; the running configuration stays", 10s))
      << server->child().ReadStderr();
  EXPECT_TRUE(EchoThrough(one->port(), echo_.port(), 100)) << "a bad file changes nothing";
}

TEST_F(Reload, WithDropRemovedUsersARemovedUsersOpenTunnelEnds) {
  const std::string config = Config("drop.json", {kUser1, kUser2});
  auto server = ReflexProcess::ServerWithConfig("drop-server", config, {"--drop-removed-users"});
  ASSERT_TRUE(server->ok()) << server->child().ReadStderr();
  auto one = ReflexProcess::Client("drop-user1", server->port());
  auto two = ReflexProcess::Client("drop-user2", server->port(), {"--user", kUser2});
  ASSERT_TRUE(one->ok() && two->ok());
  BlockingSocket open1(one->port()), open2(two->port());
  ASSERT_EQ(Socks5Connect(open1, "127.0.0.1", echo_.port()), 0);
  ASSERT_EQ(Socks5Connect(open2, "127.0.0.1", echo_.port()), 0);

  Config("drop.json", {kUser1});
  server->child().Signal(SIGHUP);
  ASSERT_TRUE(server->WaitForLog("reload: 1 user(s): 0 added, 1 removed", 10s));
  bool ended = false;
  EXPECT_TRUE(open2.ReadAll(10s, &ended).empty());
  EXPECT_TRUE(ended) << "the removed user's tunnel ends";
  EXPECT_TRUE(server->WaitForLog("close=user_removed", 10s)) << server->child().ReadStderr();
  ASSERT_TRUE(open1.Send(std::string("kept")));
  EXPECT_EQ(open1.ReadExactly(4, 10s).size(), 4u) << "the other user's tunnel stays";
}

}  // namespace
}  // namespace reflex::proxy::e2e
