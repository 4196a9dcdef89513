// Several reflex servers sharing one replay filter in Redis (SPEC 12.4),
// through the real binaries: a hello recorded on its way to one server is
// refused by every other (and accepted by them without the store: the
// defect this guards against), a thousand genuine tunnels spread over
// three servers all open, the store forgets each hello once it leaves the
// window, and taking the store away and giving it back keeps every open
// tunnel, with each policy doing what it says while it is gone.
#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "proxy/connection_state.h"
#include "proxy/e2e/load_driver.h"
#include "proxy/e2e/nginx.h"
#include "proxy/e2e/redis_server.h"
#include "proxy/e2e/reflex_process.h"
#include "proxy/e2e/test_servers.h"
#include "proxy/probe/listeners.h"

namespace reflex::proxy::e2e {
namespace {

using namespace std::chrono_literals;
using probe::RecordingListener;

class Fleet : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(redis_.ok()) << "redis-server did not start (tools/bootstrap.sh installs it)";
    ASSERT_TRUE(nginx_.ok()) << "nginx did not start";
    ASSERT_TRUE(echo_.ok());
  }
  // A server of the fleet: the store at `store` (empty: none).
  std::unique_ptr<ReflexProcess> Server(const std::string& tag, const std::string& store,
                                        std::vector<std::string> extra = {}) {
    if (!store.empty()) extra.insert(extra.end(), {"--replay-store", store});
    auto s = ReflexProcess::Server(tag, nginx_.port(), extra);
    EXPECT_TRUE(s->ok()) << tag;
    return s;
  }
  // A tunnel through the client's SOCKS5 port to the echo server that
  // echoes a few bytes back: whether it did.
  bool TunnelEchoes(uint16_t socks, BlockingSocket* keep = nullptr) {
    BlockingSocket s(socks);
    if (!s.connected() || Socks5Connect(s, "127.0.0.1", echo_.port()) != 0) return false;
    const std::string hello = "through the fleet";
    if (!s.Send(hello)) return false;
    const Bytes back = s.ReadExactly(hello.size(), 5s);
    if (back != Bytes(hello.begin(), hello.end())) return false;
    if (keep != nullptr) *keep = std::move(s);
    return true;
  }
  static uint64_t Counter(ReflexProcess& p, const char* group, const char* name) {
    const nlohmann::json s = p.Stats();
    return s.is_object() ? s[group][name].get<uint64_t>() : UINT64_MAX;
  }
  // What a server answers to `hello` sent on a connection of its own:
  // everything until it closes (bounded).
  static std::string Answer(uint16_t port, const Bytes& hello) {
    BlockingSocket s(port);
    EXPECT_TRUE(s.Send(hello));
    bool ended = false;
    const Bytes answer = s.ReadAll(5s, &ended);
    return std::string(answer.begin(), answer.end());
  }
  // A hello a genuine client sent to `server`, recorded on its way.
  Bytes RecordedHelloTo(uint16_t server) {
    RecordingRelay relay(server, 76);
    auto client = ReflexProcess::Client("recording-client", relay.port());
    EXPECT_TRUE(client->ok());
    EXPECT_TRUE(TunnelEchoes(client->port()));
    const std::vector<Bytes> recorded = relay.Recorded();
    EXPECT_EQ(recorded.size(), 1u);
    return recorded.empty() ? Bytes{} : recorded[0];
  }

  RedisServer redis_{"fleet-redis"};
  Nginx nginx_{"fleet-nginx"};
  RecordingListener echo_{{"127.0.0.1", 0}, RecordingListener::Mode::kEcho, "", 0};
};

TEST_F(Fleet, AHelloRecordedOnItsWayToOneServerIsRefusedByEveryOther) {
  auto a = Server("fleet-a", redis_.UnixUrl());
  auto b = Server("fleet-b", redis_.UnixUrl());
  auto c = Server("fleet-c", redis_.TcpUrl());  // the TCP form reaches the same store
  const Bytes hello = RecordedHelloTo(a->port());
  ASSERT_EQ(hello.size(), 76u);
  for (ReflexProcess* other : {b.get(), c.get()}) {
    const std::string answer = Answer(other->port(), hello);
    EXPECT_EQ(answer.rfind("HTTP/1.1 400", 0), 0u) << "the fallback's answer, not a server hello";
    EXPECT_EQ(Counter(*other, "replay_store", "seen"), 1u);
    EXPECT_EQ(Counter(*other, "connections", "handshakes_v2"), 0u);
  }
  EXPECT_EQ(Counter(*a, "replay_store", "fresh"), 1u);

  // The defect it guards against: servers without the shared store each
  // accept the hello another accepted (it is new to their own filters).
  auto d = Server("fleet-d-alone", "");
  auto e = Server("fleet-e-alone", "");
  const Bytes hello_to_d = RecordedHelloTo(d->port());
  const std::string answer = Answer(e->port(), hello_to_d);
  EXPECT_NE(answer.rfind("HTTP/1.1", 0), 0u) << "without the store, e answers a server hello";
  EXPECT_EQ(Counter(*e, "connections", "handshakes_v2"), 1u) << "the replay was accepted";
}

TEST_F(Fleet, AThousandTunnelsOverThreeServersAllOpenAndTheStoreForgetsThemAfterTheWindow) {
  constexpr int kWindowSeconds = 2;
  std::vector<std::unique_ptr<ReflexProcess>> servers, clients;
  for (int i = 0; i < 3; ++i) {
    servers.push_back(Server("fleet-" + std::to_string(i), redis_.UnixUrl(),
                             {"--window", std::to_string(kWindowSeconds)}));
    clients.push_back(ReflexProcess::Client("fleet-client-" + std::to_string(i), servers.back()->port()));
    ASSERT_TRUE(clients.back()->ok());
  }
  const size_t per_server[] = {334, 333, 333};
  size_t intact = 0;
  for (size_t i = 0; i < 3; ++i) {
    const LoadResult r = RunEchoLoad(clients[i]->port(), echo_.port(), per_server[i], 64, 60s);
    EXPECT_EQ(r.failed, 0u) << r.first_error;
    intact += r.intact;
  }
  EXPECT_EQ(intact, 1000u);
  uint64_t fresh = 0;
  for (auto& s : servers) fresh += Counter(*s, "replay_store", "fresh");
  EXPECT_EQ(fresh, 1000u) << "each hello claimed once, by the server it reached";
  const std::string keys = redis_.Cli({"DBSIZE"});
  EXPECT_GT(std::stoll(keys), 0) << "the hellos are remembered while they can be replayed";
  // For as long as a replay could pass: at most 2 x window + 1 s.
  const std::string ttl = redis_.Cli({"EVAL", "return redis.call('PTTL', redis.call('RANDOMKEY'))", "0"});
  EXPECT_GT(std::stoll(ttl), 0) << ttl;
  EXPECT_LE(std::stoll(ttl), (2 * kWindowSeconds + 1) * 1000);
  // Each key lives until its hello leaves the window (at most 2 x window
  // + 1 s from now): then none is left.
  const auto until = std::chrono::steady_clock::now() + 15s;
  std::string left = keys;
  while (left != "0" && std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(100ms);
    left = redis_.Cli({"DBSIZE"});
  }
  EXPECT_EQ(left, "0");
}

TEST_F(Fleet, TakingTheStoreAwayKeepsOpenTunnelsAndEachPolicyDoesWhatItSays) {
  auto refusing = Server("fleet-refuse", redis_.UnixUrl(), {"--replay-store-unavailable", "refuse"});
  auto local = Server("fleet-local", redis_.UnixUrl(), {"--replay-store-unavailable", "local"});
  auto via_refusing = ReflexProcess::Client("fleet-client-refuse", refusing->port(), {"--handshake-timeout", "2"});
  auto via_local = ReflexProcess::Client("fleet-client-local", local->port(), {"--handshake-timeout", "2"});
  ASSERT_TRUE(via_refusing->ok() && via_local->ok());

  constexpr int kOpen = 10;
  std::vector<BlockingSocket> open(2 * kOpen);
  for (int i = 0; i < kOpen; ++i) {
    ASSERT_TRUE(TunnelEchoes(via_refusing->port(), &open[static_cast<size_t>(i)]));
    ASSERT_TRUE(TunnelEchoes(via_local->port(), &open[static_cast<size_t>(kOpen + i)]));
  }

  redis_.Stop();
  int refused_while_gone = 0, local_while_gone = 0;
  for (int i = 0; i < 5; ++i) {
    refused_while_gone += !TunnelEchoes(via_refusing->port());
    local_while_gone += TunnelEchoes(via_local->port());
  }
  EXPECT_EQ(refused_while_gone, 5) << "refuse: no hello gets in without the store's answer";
  EXPECT_EQ(local_while_gone, 5) << "local: this server's filter decides alone";
  EXPECT_GE(Counter(*refusing, "replay_store", "unavailable"), 5u);
  EXPECT_GE(Counter(*local, "replay_store", "accepted_locally"), 5u);
  EXPECT_TRUE(refusing->WaitForLog("hellos are refused (sent to the fallback)", 1s));
  EXPECT_TRUE(local->WaitForLog("judged by this server's filter alone", 1s));

  for (BlockingSocket& s : open) {  // every tunnel open before still carries bytes
    const std::string more = "still here";
    ASSERT_TRUE(s.Send(more));
    EXPECT_EQ(s.ReadExactly(more.size(), 5s), Bytes(more.begin(), more.end()));
  }

  ASSERT_TRUE(redis_.Start());
  // Both reconnect (backoff at most 5 s) and take hellos again.
  const auto until = std::chrono::steady_clock::now() + 15s;
  bool back = false;
  while (!back && std::chrono::steady_clock::now() < until) {
    back = TunnelEchoes(via_refusing->port());
    if (!back) std::this_thread::sleep_for(100ms);
  }
  EXPECT_TRUE(back) << "the refusing server takes hellos again once the store answers";
  EXPECT_TRUE(TunnelEchoes(via_local->port()));
  EXPECT_TRUE(refusing->child().running());
  EXPECT_TRUE(local->child().running());
}

// Until `condition` holds (polled, bounded): whether it did.
template <class Condition>
bool Eventually(Condition condition, std::chrono::milliseconds bound = 15s) {
  const auto until = std::chrono::steady_clock::now() + bound;
  while (!condition()) {
    if (std::chrono::steady_clock::now() >= until) return false;
    std::this_thread::sleep_for(50ms);
  }
  return true;
}

TEST_F(Fleet, UsersComeFromARedisSetFollowedAsItChangesAndUsageAddsUpThere) {
  const std::string users_url = redis_.UnixUrl() + "&key=reflex:users";
  ASSERT_EQ(redis_.Cli({"SADD", "reflex:users", "not-a-uuid"}), "1");
  auto server = Server("fleet-users", "",
                       {"--users-from", users_url, "--usage-to", redis_.UnixUrl(), "--usage-interval", "1"});
  auto third = ReflexProcess::Client("fleet-user3", server->port(), {"--user", kUser3, "--handshake-timeout", "2"});
  auto first = ReflexProcess::Client("fleet-user1", server->port());
  ASSERT_TRUE(third->ok() && first->ok());
  EXPECT_FALSE(TunnelEchoes(third->port())) << "user 3 is in no list yet";
  EXPECT_TRUE(server->WaitForLog("1 member(s) are not UUIDs; skipped", 1s));

  ASSERT_EQ(redis_.Cli({"SADD", "reflex:users", kUser3}), "1");
  EXPECT_TRUE(Eventually([&] { return TunnelEchoes(third->port()); })) << "added in Redis: let in, no restart";
  ASSERT_EQ(redis_.Cli({"SREM", "reflex:users", kUser3}), "1");
  EXPECT_TRUE(Eventually([&] { return !TunnelEchoes(third->port()); })) << "removed in Redis: no new tunnel";

  // Usage: user 1's tunnels and bytes, added to its hash every second.
  constexpr int kTunnels = 3;
  for (int i = 0; i < kTunnels; ++i) ASSERT_TRUE(TunnelEchoes(first->port()));
  UserId id;
  ASSERT_TRUE(ParseUserId(kUser1, &id));
  const std::string hash = std::string("reflex:usage:") + ShortUserId(id).data();
  // (Bytes are counted as each tunnel ends, a moment after the client sees it end.)
  const std::string bytes_up = std::to_string(kTunnels * std::string("through the fleet").size());
  EXPECT_TRUE(Eventually([&] {
    return redis_.Cli({"HGET", hash, "tunnels"}) == std::to_string(kTunnels) &&
           redis_.Cli({"HGET", hash, "bytes_up"}) == bytes_up;
  })) << redis_.Cli({"HGETALL", hash});
  // A later report adds only what came since: one more tunnel, its bytes once.
  ASSERT_TRUE(TunnelEchoes(first->port()));
  const std::string bytes_after = std::to_string((kTunnels + 1) * std::string("through the fleet").size());
  EXPECT_TRUE(Eventually([&] {
    return redis_.Cli({"HGET", hash, "tunnels"}) == std::to_string(kTunnels + 1) &&
           redis_.Cli({"HGET", hash, "bytes_up"}) == bytes_after;
  })) << redis_.Cli({"HGETALL", hash});
}

}  // namespace
}  // namespace reflex::proxy::e2e
