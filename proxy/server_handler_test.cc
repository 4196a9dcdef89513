// The server's connection handler, run on in-memory connections: what a
// Reflex client, a prober and a broken client each get.
#include "proxy/server_handler.h"

#include <gtest/gtest.h>

#include <thread>

#include <string>

#include "proxy/testing/phase_driver.h"
#include "proxy/testing/server_harness.h"
#include "reflex/crypto_init.h"

namespace reflex::proxy {
namespace {

using testing::Bytes;
using testing::HonestClient;
using testing::RequestTo;
using testing::ServerHarness;
using reflex::testing::TestUser;

Bytes B(std::string_view s) { return Bytes(s.begin(), s.end()); }

Bytes Pattern(size_t n, uint8_t seed) {
  Bytes b(n);
  for (size_t i = 0; i < n; ++i) b[i] = static_cast<uint8_t>(seed + i * 131 + (i >> 8));
  return b;
}

class ServerHandler : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { ASSERT_EQ(InitCrypto(), Error::kOk); }
  // Every connection ended and gave back every buffer and state.
  void ExpectAllReturned(ServerHarness& h) {
    h.Poll();
    EXPECT_EQ(h.running(), 0);
    EXPECT_EQ(h.buffers_outstanding(), 0u);
    EXPECT_EQ(h.states_outstanding(), 0u);
    EXPECT_EQ(h.stats().active.load(), 0u);
  }
};

TEST_F(ServerHandler, AnHonestClientsRequestReachesItsTargetAndDataFlowsBothWays) {
  for (const Profile profile : {Profile::kV2, Profile::kV1Compat}) {
    SCOPED_TRACE(ProfileName(profile));
    ServerHarness h;
    HonestClient c(h, profile, TestUser(2));
    ASSERT_TRUE(c.Handshake());
    const Bytes first = B("GET / HTTP/1.1\r\n\r\n");
    ASSERT_TRUE(c.Request(RequestTo("example.test", 8080), first));
    ASSERT_EQ(h.dialer().dialed().size(), 1u);
    auto& target = h.dialer().dialed()[0];
    EXPECT_EQ(target.target.host, "example.test");
    EXPECT_EQ(target.target.port, 8080);
    EXPECT_EQ(target.peer.Take(), first);
    ASSERT_TRUE(c.Receive());
    EXPECT_TRUE(c.connected());

    const Bytes up = Pattern(40000, 3);  // three frames
    for (size_t at = 0; at < up.size(); at += kMaxPayloadBytes) {
      const size_t n = std::min(kMaxPayloadBytes, up.size() - at);
      c.SendRaw(c.Seal(FrameType::kData, std::span<const uint8_t>(up).subspan(at, n)));
    }
    EXPECT_EQ(target.peer.Take(), up);
    const Bytes down = Pattern(70000, 9);
    target.peer.Send(down);
    h.Poll();
    ASSERT_TRUE(c.Receive());
    EXPECT_EQ(c.data(), down);

    // The client's CLOSE half-closes the target; the target's end of
    // stream becomes the server's CLOSE.
    c.SendRaw(c.SealClose());
    EXPECT_TRUE(target.peer.HandlerClosed());
    target.peer.CloseSend();
    h.Poll();
    ASSERT_TRUE(c.Receive());
    EXPECT_TRUE(c.peer_closed());
    EXPECT_EQ(h.stats().tunnels.load(), 1u);
    c.peer().CloseSend();
    ExpectAllReturned(h);
  }
}

// A connection that has sent nothing may be a prober's silence: the
// fallback is dialed at once, so its own timers run from the moment they
// would directly, and its end is the client's (SPEC 12.1).
TEST_F(ServerHandler, SilenceDialsTheFallbackAtOnceAndEndsWhenTheFallbackEndsIt) {
  ServerHarness h;
  testing::MemoryPeer& client = h.Connect();
  h.Poll();
  ASSERT_EQ(h.dialer().dialed().size(), 1u) << "dialed when the connection came";
  auto& fallback = h.dialer().dialed()[0];
  EXPECT_EQ(fallback.target.host, "fallback.test");
  EXPECT_EQ(h.stats().early_fallback_dials.load(), 1u);
  fallback.peer.CloseSend();  // its own header timeout, say
  h.Poll();
  EXPECT_TRUE(client.HandlerClosed()) << "the fallback's FIN, passed on";
  EXPECT_FALSE(client.HandlerAborted());
  EXPECT_EQ(h.stats().fallbacks.load(), 1u);
  client.CloseSend();
  ExpectAllReturned(h);
}

TEST_F(ServerHandler, AFallbackThatSpeaksFirstIsHeardAtOnceAndTheConnectionIsItsFromThen) {
  ServerHarness h;
  testing::MemoryPeer& client = h.Connect();
  h.Poll();
  ASSERT_EQ(h.dialer().dialed().size(), 1u);
  auto& fallback = h.dialer().dialed()[0];
  fallback.peer.Send(B("220 mail.example ESMTP\r\n"));
  h.Poll();
  EXPECT_EQ(client.Take(), B("220 mail.example ESMTP\r\n"));
  client.Send(B("QUIT\r\n"));
  h.Poll();
  EXPECT_EQ(fallback.peer.Take(), B("QUIT\r\n"));
  fallback.peer.CloseSend();
  client.CloseSend();
  ExpectAllReturned(h);
}

TEST_F(ServerHandler, AHelloAfterSilenceIsAcceptedAndTheFallbackDialedForItIsResetUnused) {
  ServerHarness h;
  HonestClient c(h, Profile::kV2, TestUser(1));
  h.Poll();
  ASSERT_EQ(h.dialer().dialed().size(), 1u);
  ASSERT_TRUE(c.Handshake());
  auto& fallback = h.dialer().dialed()[0];
  EXPECT_TRUE(fallback.peer.Take().empty()) << "not a byte of the hello";
  EXPECT_TRUE(fallback.peer.HandlerAborted()) << "a reset: no TIME_WAIT per tunnel";
  EXPECT_EQ(h.stats().early_fallbacks_unused.load(), 1u);
  EXPECT_EQ(h.stats().handshakes_v2.load(), 1u);
  c.peer().CloseSend();
  ExpectAllReturned(h);
}

TEST_F(ServerHandler, BytesAfterSilenceThatAreNoHelloGoToTheFallbackDialedWhenTheConnectionCame) {
  ServerHarness h;
  testing::MemoryPeer& client = h.Connect();
  h.Poll();
  ASSERT_EQ(h.dialer().dialed().size(), 1u);
  client.Send(B("GET / HTTP/1.0\r\n\r\n"));
  h.Poll();
  ASSERT_EQ(h.dialer().dialed().size(), 1u) << "no second dial";
  auto& fallback = h.dialer().dialed()[0];
  EXPECT_EQ(fallback.peer.Take(), B("GET / HTTP/1.0\r\n\r\n"));
  fallback.peer.CloseSend();
  client.CloseSend();
  ExpectAllReturned(h);
}

TEST_F(ServerHandler, AHelloAlreadyThereCostsNoFallbackConnection) {
  ServerHarness h;
  testing::MemoryPeer& peer = h.Connect();
  HonestClient c(h, peer, Profile::kV2, TestUser(1));
  ASSERT_TRUE(c.SendHello());  // before the handler first runs
  ASSERT_TRUE(c.Receive());
  EXPECT_TRUE(h.dialer().dialed().empty());
  EXPECT_EQ(h.stats().early_fallback_dials.load(), 0u);
  c.peer().CloseSend();
  ExpectAllReturned(h);
}

// The grace before an early dial (--fallback-dial-grace, SPEC 12.1): a
// hello that comes within it costs no fallback connection; silence past it
// dials the fallback then, not later.
TEST_F(ServerHandler, AHelloWithinTheGraceCostsNoFallbackConnection) {
  ServerHarness h;
  h.env().fallback_dial_grace = std::chrono::milliseconds(500);
  HonestClient c(h, Profile::kV2, TestUser(1));
  h.Poll();
  EXPECT_TRUE(h.dialer().dialed().empty()) << "waiting out the grace";
  ASSERT_TRUE(c.Handshake());
  EXPECT_TRUE(h.dialer().dialed().empty());
  EXPECT_EQ(h.stats().early_fallback_dials.load(), 0u);
  EXPECT_EQ(h.stats().handshakes_v2.load(), 1u);
  // Past the grace, the timer must not have cancelled the connection.
  h.io().run_for(std::chrono::milliseconds(600));
  EXPECT_EQ(h.running(), 1);
  EXPECT_FALSE(c.peer().HandlerClosed());
  c.peer().CloseSend();
  ExpectAllReturned(h);
}

TEST_F(ServerHandler, SilencePastTheGraceDialsTheFallbackThen) {
  ServerHarness h;
  h.env().fallback_dial_grace = std::chrono::milliseconds(30);
  const auto start = std::chrono::steady_clock::now();
  testing::MemoryPeer& client = h.Connect();
  h.Poll();
  EXPECT_TRUE(h.dialer().dialed().empty());
  for (int i = 0; i < 100 && h.dialer().dialed().empty(); ++i) {
    h.io().run_for(std::chrono::milliseconds(5));
  }
  ASSERT_EQ(h.dialer().dialed().size(), 1u);
  EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(30));
  EXPECT_EQ(h.stats().early_fallback_dials.load(), 1u);
  auto& fallback = h.dialer().dialed()[0];
  client.Send(B("GET / HTTP/1.0\r\n\r\n"));
  h.Poll();
  EXPECT_EQ(fallback.peer.Take(), B("GET / HTTP/1.0\r\n\r\n"));
  fallback.peer.CloseSend();
  client.CloseSend();
  ExpectAllReturned(h);
}

// Dialed at once, the fallback is watched with the client during the hello
// wait; after it the connection is a fallback connection like any other.
TEST_F(ServerHandler, SilenceThroughTheHelloWaitLeavesAFallbackConnectionWatchedForIdleness) {
  ServerConfig config = testing::HarnessServerConfig();
  config.hello_wait_ms = 50;
  ServerHarness h(config);
  h.env().timeouts.idle = std::chrono::milliseconds(1000);
  testing::MemoryPeer& client = h.Connect();
  h.Poll();
  ASSERT_EQ(h.dialer().dialed().size(), 1u);
  auto& fallback = h.dialer().dialed()[0];
  h.clock().Advance(50);                           // the session's clock
  h.io().run_for(std::chrono::milliseconds(600));  // the watchdog's sweeps (every 250 ms)
  EXPECT_EQ(h.running(), 1);
  EXPECT_EQ(h.dialer().dialed().size(), 1u);
  client.Send(B("late"));
  h.io().run_for(std::chrono::milliseconds(10));
  EXPECT_EQ(fallback.peer.Take(), B("late")) << "the hello wait passed: these bytes are the fallback's";
  // Neither side sends anything more: the idle limit ends the splice.
  h.io().run_for(std::chrono::milliseconds(1700));
  EXPECT_EQ(h.running(), 0) << "the fallback splice is watched for idleness too";
  EXPECT_TRUE(client.HandlerAborted());
  EXPECT_TRUE(fallback.peer.HandlerAborted());
  ExpectAllReturned(h);
}

// After the fallback's FIN, a client that stays silent hears nothing more
// directly: at the idle timeout its connection is closed, never reset.
TEST_F(ServerHandler, TheIdleTimeoutAfterTheFallbacksFinClosesTheClientQuietly) {
  ServerHarness h;
  h.env().timeouts.idle = std::chrono::milliseconds(500);
  testing::MemoryPeer& client = h.Connect();
  client.Send(B("GET / HTTP/1.1\r\n"));
  h.Poll();
  ASSERT_EQ(h.dialer().dialed().size(), 1u);
  auto& fallback = h.dialer().dialed()[0];
  fallback.peer.Send(B("HTTP/1.1 408 Request Time-out\r\n\r\n"));
  fallback.peer.CloseSend();
  h.Poll();
  EXPECT_TRUE(client.HandlerClosed());
  h.io().run_for(std::chrono::milliseconds(1000));  // the watchdog's sweeps (every 250 ms)
  EXPECT_EQ(h.running(), 0) << "ended at the idle timeout";
  EXPECT_FALSE(client.HandlerAborted()) << "no reset the fallback would not have sent";
  ExpectAllReturned(h);
}

// The hello wait passing in the same turn as the client's first bytes: the
// wait wins (those bytes are the fallback's), and the connection is still
// watched (it ends at the idle limit, never left unwatched).
TEST_F(ServerHandler, AHelloArrivingAsTheHelloWaitPassesGoesToTheFallbackAndIsStillWatched) {
  ServerConfig config = testing::HarnessServerConfig();
  config.hello_wait_ms = 50;
  ServerHarness h(config);
  h.env().timeouts.idle = std::chrono::milliseconds(1000);
  testing::MemoryPeer& peer = h.Connect();
  h.Poll();
  ASSERT_EQ(h.dialer().dialed().size(), 1u);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // past the wait and a sweep, unpolled
  h.clock().Advance(50);
  HonestClient c(h, peer, Profile::kV2, TestUser(1));
  ASSERT_TRUE(c.MakeHello());
  peer.Send(c.hello());  // ready in the same turn as the sweep
  h.io().run_for(std::chrono::milliseconds(100));
  EXPECT_EQ(h.stats().handshakes_v2.load(), 0u) << "the hello wait had passed";
  auto& fallback = h.dialer().dialed()[0];
  EXPECT_EQ(fallback.peer.Take(), c.hello());
  h.io().run_for(std::chrono::milliseconds(1700));
  EXPECT_EQ(h.running(), 0) << "watched for idleness";
  ExpectAllReturned(h);
}

// --fallback-dial late: nothing is dialed until the connection is judged,
// so a silent one reaches the fallback only when the hello wait ends.
TEST_F(ServerHandler, WithTheLateDialSilenceGoesToTheFallbackWhenTheHelloWaitEnds) {
  ServerConfig config = testing::HarnessServerConfig();
  config.hello_wait_ms = 50;
  ServerHarness h(config);
  h.env().fallback_dial = FallbackDial::kLate;
  h.env().timeouts.idle = std::chrono::milliseconds(1000);
  testing::MemoryPeer& client = h.Connect();
  h.Poll();
  EXPECT_TRUE(h.dialer().dialed().empty());
  h.clock().Advance(50);
  h.io().run_for(std::chrono::milliseconds(600));
  ASSERT_EQ(h.dialer().dialed().size(), 1u) << "the hello wait ended: the fallback";
  auto& fallback = h.dialer().dialed()[0];
  EXPECT_TRUE(fallback.peer.Take().empty());
  h.io().run_for(std::chrono::milliseconds(1700));
  EXPECT_EQ(h.running(), 0);
  EXPECT_TRUE(client.HandlerAborted());
  ExpectAllReturned(h);
}

TEST_F(ServerHandler, ASilentConnectionHoldsNoBuffer) {
  ServerHarness h;
  h.Connect();
  h.Poll();
  EXPECT_EQ(h.running(), 1);
  EXPECT_EQ(h.buffers_outstanding(), 0u);
  EXPECT_EQ(h.states_outstanding(), 1u);
}

// The first read decides (SPEC 12.1): a hello that arrives in pieces is
// not one, and the fallback gets the first piece at once, then the rest.
TEST_F(ServerHandler, AHelloArrivingInPiecesGoesToTheFallbackFromTheFirstPiece) {
  ServerHarness h;
  HonestClient c(h, Profile::kV2, TestUser(1));
  ASSERT_TRUE(c.MakeHello());
  const Bytes hello = c.hello();
  c.peer().Send(std::span<const uint8_t>(hello).first(10));
  h.Poll();
  ASSERT_EQ(h.dialer().dialed().size(), 1u) << "decided at the first read, without waiting";
  auto& fallback = h.dialer().dialed()[0];
  EXPECT_EQ(fallback.target.host, "fallback.test");
  EXPECT_EQ(fallback.peer.Take(), Bytes(hello.begin(), hello.begin() + 10));
  c.peer().Send(std::span<const uint8_t>(hello).subspan(10));
  h.Poll();
  EXPECT_EQ(fallback.peer.Take(), Bytes(hello.begin() + 10, hello.end()));
  EXPECT_TRUE(c.peer().Take().empty()) << "no server hello";
  c.peer().CloseSend();
  fallback.peer.CloseSend();
  ExpectAllReturned(h);
}

TEST_F(ServerHandler, AnHttpRequestGoesToTheFallbackByteExactAndItsAnswerComesBack) {
  ServerHarness h;
  const Bytes request = B("GET /index.html HTTP/1.1\r\nHost: x\r\n\r\n");
  testing::MemoryPeer& client = h.Connect();
  client.Send(request);
  h.Poll();
  ASSERT_EQ(h.dialer().dialed().size(), 1u);
  auto& fallback = h.dialer().dialed()[0];
  EXPECT_EQ(fallback.target.host, "fallback.test");
  EXPECT_EQ(fallback.peer.Take(), request);
  fallback.peer.Send(B("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi"));
  fallback.peer.CloseSend();
  h.Poll();
  EXPECT_EQ(client.Take(), B("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi"));
  EXPECT_TRUE(client.HandlerClosed());
  EXPECT_EQ(h.stats().fallbacks.load(), 1u);
  client.CloseSend();
  ExpectAllReturned(h);
}

// Input larger than the hello buffer, all received before the fallback is
// written to, reaches it in one write, as it would directly.
TEST_F(ServerHandler, WhatTheClientSentAtOnceReachesTheFallbackInOneWrite) {
  ServerHarness h;
  testing::MemoryPeer& client = h.Connect();
  const Bytes sent = Pattern(kHelloBufferBytes * 3, 5);
  client.Send(sent);
  h.Poll();
  ASSERT_EQ(h.dialer().dialed().size(), 1u);
  auto& fallback = h.dialer().dialed()[0];
  EXPECT_EQ(fallback.peer.HandlerWrites(), 1u) << "not the hello buffer's share, then the rest";
  EXPECT_EQ(fallback.peer.Take(), sent);
  client.CloseSend();
  fallback.peer.CloseSend();
  ExpectAllReturned(h);
}

TEST_F(ServerHandler, SeventySixRandomBytesAndWhatFollowsReachTheFallbackInOrder) {
  ServerHarness h;
  testing::MemoryPeer& client = h.Connect();
  const Bytes junk = Pattern(76, 200);
  const Bytes more = Pattern(5000, 17);
  client.Send(junk);
  h.Poll();
  client.Send(more);
  client.CloseSend();
  h.Poll();
  ASSERT_EQ(h.dialer().dialed().size(), 1u);
  Bytes all = junk;
  all.insert(all.end(), more.begin(), more.end());
  auto& fallback = h.dialer().dialed()[0];
  EXPECT_EQ(fallback.peer.Take(), all);
  EXPECT_TRUE(fallback.peer.HandlerClosed());  // the client's end of stream, passed on
  EXPECT_TRUE(client.Take().empty());          // nothing is sent to a refused connection
  fallback.peer.CloseSend();
  ExpectAllReturned(h);
}

// After the fallback's FIN the client's connection ends as it would at the
// fallback directly (SPEC 12.1): reset when the fallback resets.
TEST_F(ServerHandler, AFallbackThatResetsAfterItsFinResetsTheClientWithIt) {
  ServerHarness h;
  testing::MemoryPeer& client = h.Connect();
  client.Send(B("GET / HTTP/1.0\r\n\r\n"));
  h.Poll();
  ASSERT_EQ(h.dialer().dialed().size(), 1u);
  auto& fallback = h.dialer().dialed()[0];
  fallback.peer.Send(B("HTTP/1.0 200 OK\r\n\r\nbye"));
  fallback.peer.CloseSend();
  h.Poll();
  EXPECT_EQ(client.Take(), B("HTTP/1.0 200 OK\r\n\r\nbye"));
  EXPECT_TRUE(client.HandlerClosed()) << "the fallback's FIN, passed on";
  EXPECT_FALSE(client.HandlerAborted());
  client.Send(B("more"));
  h.Poll();
  EXPECT_EQ(fallback.peer.Take(), B("GET / HTTP/1.0\r\n\r\nmore")) << "relayed, as a client's bytes would go";
  fallback.peer.Reset();  // the fallback had closed entirely
  h.Poll();
  EXPECT_TRUE(client.HandlerAborted()) << "reset with it";
  ExpectAllReturned(h);
}

TEST_F(ServerHandler, AFallbackThatLingersAfterItsFinKeepsTakingTheClientsBytes) {
  ServerHarness h;
  testing::MemoryPeer& client = h.Connect();
  client.Send(B("GET / HTTP/1.0\r\n\r\n"));
  h.Poll();
  ASSERT_EQ(h.dialer().dialed().size(), 1u);
  auto& fallback = h.dialer().dialed()[0];
  fallback.peer.CloseSend();
  h.Poll();
  EXPECT_TRUE(client.HandlerClosed());
  client.Send(B("more"));
  h.Poll();
  EXPECT_EQ(fallback.peer.Take(), B("GET / HTTP/1.0\r\n\r\nmore"));
  client.CloseSend();
  h.Poll();
  EXPECT_FALSE(client.HandlerAborted()) << "both ended cleanly: nothing to reset";
  EXPECT_TRUE(fallback.peer.HandlerClosed());
  ExpectAllReturned(h);
}

TEST_F(ServerHandler, SeventyFiveBytesReachTheFallbackAtOnceThenTheirEnd) {
  ServerHarness h;
  testing::MemoryPeer& client = h.Connect();
  const Bytes short_hello = Pattern(75, 1);
  client.Send(short_hello);
  h.Poll();
  ASSERT_EQ(h.dialer().dialed().size(), 1u) << "a first read short of a hello is not one";
  auto& fallback = h.dialer().dialed()[0];
  EXPECT_EQ(fallback.peer.Take(), short_hello);
  EXPECT_FALSE(fallback.peer.HandlerClosed());
  client.CloseSend();
  h.Poll();
  EXPECT_TRUE(fallback.peer.HandlerClosed());
  fallback.peer.CloseSend();
  ExpectAllReturned(h);
}

TEST_F(ServerHandler, AnEmptyConnectionThatEndsReachesTheFallbackAsAnEmptyOne) {
  ServerHarness h;
  testing::MemoryPeer& client = h.Connect();
  client.CloseSend();
  h.Poll();
  ASSERT_EQ(h.dialer().dialed().size(), 1u);
  EXPECT_TRUE(h.dialer().dialed()[0].peer.Take().empty());
  EXPECT_TRUE(h.dialer().dialed()[0].peer.HandlerClosed());
  h.dialer().dialed()[0].peer.CloseSend();
  ExpectAllReturned(h);
}

TEST_F(ServerHandler, AReplayedHelloGoesToTheFallbackWithEveryByte) {
  ServerHarness h;
  HonestClient c(h, Profile::kV2, TestUser(1));
  ASSERT_TRUE(c.Handshake());
  const Bytes hello = c.hello();
  testing::MemoryPeer& replay = h.Connect();
  const Bytes trailer = Pattern(100, 5);
  replay.Send(hello);
  replay.Send(trailer);
  h.Poll();
  ASSERT_EQ(h.dialer().dialed().size(), 1u);
  Bytes all = hello;
  all.insert(all.end(), trailer.begin(), trailer.end());
  EXPECT_EQ(h.dialer().dialed()[0].target.host, "fallback.test");
  EXPECT_EQ(h.dialer().dialed()[0].peer.Take(), all);
  EXPECT_TRUE(replay.Take().empty());
  c.peer().CloseSend();
  replay.CloseSend();
  h.dialer().dialed()[0].peer.CloseSend();
  ExpectAllReturned(h);
}

// A shared replay store (SPEC 12.4) that answers `verdict` after `delay`
// of real time (the watchdog's sweeps run on real time too), and keeps
// what it was asked.
class SlowStore final : public ReplayStore {
 public:
  SlowStore(asio::io_context& io, ReplayVerdict verdict, std::chrono::milliseconds delay)
      : io_(io), verdict_(verdict), delay_(delay) {}
  awaitable<ReplayVerdict> Claim(std::span<const uint8_t> key, int64_t ttl_ms) override {
    keys.emplace_back(key.begin(), key.end());
    ttls.push_back(ttl_ms);
    return Answer();
  }
  std::vector<Bytes> keys;
  std::vector<int64_t> ttls;

 private:
  awaitable<ReplayVerdict> Answer() {
    asio::steady_timer later(io_, delay_);
    co_await later.async_wait(asio::use_awaitable);
    co_return verdict_;
  }
  asio::io_context& io_;
  ReplayVerdict verdict_;
  std::chrono::milliseconds delay_;
};

ServerConfig SharedStoreConfig() {
  ServerConfig config = testing::HarnessServerConfig();
  config.shared_replay_check = true;
  config.hello_wait_ms = 50;  // passes (and a sweep with it) while the store thinks
  return config;
}

TEST_F(ServerHandler, AFreshHelloWaitsForTheSharedStorePastTheHelloWaitAndGetsItsTunnel) {
  ServerHarness h(SharedStoreConfig());
  SlowStore store(h.io(), ReplayVerdict::kFresh, std::chrono::milliseconds(400));
  h.env().replay_store = &store;
  HonestClient c(h, Profile::kV2, TestUser(2));
  ASSERT_TRUE(c.SendHello());
  ASSERT_EQ(store.keys.size(), 1u) << "asked once the hello passed every local check";
  EXPECT_EQ(store.keys[0], Bytes(c.hello().begin(), c.hello().begin() + kPublicKeyBytes));
  EXPECT_EQ(store.ttls[0], (120 + 1) * 1000);
  h.io().run_for(std::chrono::milliseconds(600));  // the answer, after the deadline and a sweep
  ASSERT_TRUE(c.Receive());
  ASSERT_TRUE(c.handshake_done()) << "the server hello is sent: the hello wait ended with the hello";
  ASSERT_TRUE(c.Request(RequestTo("example.test", 8080), B("hi")));
  ASSERT_EQ(h.dialer().dialed().size(), 1u);
  EXPECT_EQ(h.dialer().dialed()[0].peer.Take(), B("hi"));
  EXPECT_EQ(h.stats().handshakes_v2.load(), 1u);
}

TEST_F(ServerHandler, AHelloTheSharedStoreHasSeenGoesToTheFallbackWhoseAnswerReachesTheClient) {
  ServerHarness h(SharedStoreConfig());
  SlowStore store(h.io(), ReplayVerdict::kSeen, std::chrono::milliseconds(400));
  h.env().replay_store = &store;
  HonestClient c(h, Profile::kV2, TestUser(2));
  ASSERT_TRUE(c.SendHello());
  h.io().run_for(std::chrono::milliseconds(600));
  ASSERT_EQ(h.dialer().dialed().size(), 1u);
  auto& fallback = h.dialer().dialed()[0];
  EXPECT_EQ(fallback.target.host, "fallback.test");
  EXPECT_EQ(fallback.peer.Take(), c.hello()) << "every byte, to the fallback";
  fallback.peer.Send(B("HTTP/1.1 400 Bad Request\r\n\r\n"));
  h.io().run_for(std::chrono::milliseconds(20));
  EXPECT_EQ(c.peer().Take(), B("HTTP/1.1 400 Bad Request\r\n\r\n")) << "and its answer, to the client";
  EXPECT_EQ(h.stats().handshakes_v2.load(), 0u);
}

TEST_F(ServerHandler, WithoutAStoreToAskAHelloNeedingOneGoesToTheFallback) {
  ServerHarness h(SharedStoreConfig());  // env().replay_store stays null
  HonestClient c(h, Profile::kV2, TestUser(2));
  ASSERT_TRUE(c.SendHello());
  ASSERT_EQ(h.dialer().dialed().size(), 1u);
  EXPECT_EQ(h.dialer().dialed()[0].peer.Take(), c.hello());
  EXPECT_EQ(h.stats().handshakes_v2.load(), 0u);
}

TEST_F(ServerHandler, AFrameWithAFlippedBitForwardsNothingAndClosesBothSides) {
  ServerHarness h;
  HonestClient c(h, Profile::kV2, TestUser(1));
  ASSERT_TRUE(c.Handshake());
  ASSERT_TRUE(c.Request(RequestTo("example.test", 80)));
  auto& target = h.dialer().dialed()[0];
  const Bytes good = c.Seal(FrameType::kData, B("before"));
  c.SendRaw(good);
  EXPECT_EQ(target.peer.Take(), B("before"));
  Bytes bad = c.Seal(FrameType::kData, B("tampered"));
  bad[bad.size() - 20] ^= 0x01;
  c.SendRaw(bad);
  c.SendRaw(c.Seal(FrameType::kData, B("after")));
  EXPECT_TRUE(target.peer.Take().empty());
  EXPECT_TRUE(target.peer.HandlerAborted()) << "a failed tunnel is reset, not ended cleanly";
  EXPECT_TRUE(c.peer().HandlerAborted());
  EXPECT_EQ(h.stats().errors.load(), 1u);
  ExpectAllReturned(h);
}

TEST_F(ServerHandler, AnUnreachableTargetIsAnsweredWithCloseCarryingItsSocksCode) {
  ServerHarness h;
  h.dialer().FailWith(asio::error::connection_refused);
  HonestClient c(h, Profile::kV2, TestUser(1));
  ASSERT_TRUE(c.Handshake());
  ASSERT_TRUE(c.Request(RequestTo("example.test", 81)));
  ASSERT_TRUE(c.Receive());
  EXPECT_FALSE(c.connected());
  EXPECT_TRUE(c.peer_closed());
  EXPECT_EQ(c.close_code(), kConnectRefused);
  EXPECT_TRUE(c.peer().HandlerClosed());
  EXPECT_EQ(h.stats().target_failures.load(), 1u);
  // The server reads on until the client ends, so the CLOSE is not reset away.
  EXPECT_EQ(h.running(), 1);
  c.peer().CloseSend();
  ExpectAllReturned(h);
}

TEST_F(ServerHandler, ACommandOtherThanConnectIsAnsweredWithCloseCode7) {
  ServerHarness h;
  HonestClient c(h, Profile::kV2, TestUser(1));
  ASSERT_TRUE(c.Handshake());
  RequestHeader bind = RequestTo("example.test", 81);
  bind.command = 3;  // SOCKS5 BIND's number: no Reflex command
  ASSERT_TRUE(c.Request(bind));
  ASSERT_TRUE(c.Receive());
  EXPECT_TRUE(c.peer_closed());
  EXPECT_EQ(c.close_code(), kConnectCommandNotSupported);
  EXPECT_TRUE(h.dialer().dialed().empty()) << "nothing is dialed for it";
  c.peer().CloseSend();
  ExpectAllReturned(h);
}

TEST_F(ServerHandler, TheTargetEndingFirstLetsTheClientKeepSending) {
  ServerHarness h;
  HonestClient c(h, Profile::kV2, TestUser(1));
  ASSERT_TRUE(c.Handshake());
  ASSERT_TRUE(c.Request(RequestTo("example.test", 80)));
  auto& target = h.dialer().dialed()[0];
  target.peer.Send(B("bye"));
  target.peer.CloseSend();
  h.Poll();
  ASSERT_TRUE(c.Receive());
  EXPECT_EQ(c.data(), B("bye"));
  EXPECT_TRUE(c.peer_closed());
  c.SendRaw(c.Seal(FrameType::kData, B("still here")));
  EXPECT_EQ(target.peer.Take(), B("still here"));
  c.SendRaw(c.SealClose());
  EXPECT_TRUE(target.peer.HandlerClosed());
  c.peer().CloseSend();
  ExpectAllReturned(h);
}

TEST_F(ServerHandler, AClientVanishingMidFrameEndsTheTunnelAndForwardsNothingOfIt) {
  ServerHarness h;
  HonestClient c(h, Profile::kV2, TestUser(1));
  ASSERT_TRUE(c.Handshake());
  ASSERT_TRUE(c.Request(RequestTo("example.test", 80)));
  auto& target = h.dialer().dialed()[0];
  const Bytes frame = c.Seal(FrameType::kData, Pattern(1000, 4));
  c.SendRaw(std::span<const uint8_t>(frame).first(500));
  c.peer().CloseSend();
  h.Poll();
  EXPECT_TRUE(target.peer.Take().empty());
  EXPECT_TRUE(target.peer.HandlerAborted()) << "the target must not take the cut for an end";
  ExpectAllReturned(h);
}

TEST_F(ServerHandler, PaddingAndTimingFramesNeverReachTheTarget) {
  ServerHarness h;
  HonestClient c(h, Profile::kV2, TestUser(1));
  ASSERT_TRUE(c.Handshake());
  ASSERT_TRUE(c.Request(RequestTo("example.test", 80)));
  auto& target = h.dialer().dialed()[0];
  c.SendRaw(c.Seal(FrameType::kPadding, Bytes(300, 0)));
  c.SendRaw(c.Seal(FrameType::kTiming, Bytes(8, 1)));
  c.SendRaw(c.Seal(FrameType::kData, B("x")));
  EXPECT_EQ(target.peer.Take(), B("x"));
  c.peer().CloseSend();
  target.peer.CloseSend();
  ExpectAllReturned(h);
}

TEST_F(ServerHandler, AFallbackThatRefusesClosesTheClientAndSendsItNothing) {
  ServerHarness h;
  h.dialer().FailWith(asio::error::connection_refused);
  testing::MemoryPeer& client = h.Connect();
  client.Send(B("GET / HTTP/1.0\r\n\r\n"));
  h.Poll();
  EXPECT_TRUE(client.Take().empty());
  EXPECT_TRUE(client.HandlerClosed());
  ExpectAllReturned(h);
}


// --- Each phase on its own: what it does with its input, and which phase
// it hands over to.

class ServerPhases : public ServerHandler {
 protected:
  using Connection = ServerConnection<testing::MemoryStream, testing::MemoryDialer>;

  ServerPhases() {
    auto [stream, peer] = testing::MemoryLink(h_.io().get_executor());
    peer_.emplace(std::move(peer));
    connection_.emplace(std::move(stream), h_.env(), h_.dialer(), *state_);
    driver_.emplace(h_.io(), *connection_);
  }
  // A phase still waiting ends with its input before the connection goes.
  ~ServerPhases() override {
    peer_->CloseSend();
    for (auto& d : h_.dialer().dialed()) d.peer.CloseSend();
    h_.Poll();
  }
  std::optional<ServerPhase> Run(ServerPhase phase) { return driver_->Run(phase); }
  const ConnectionRecord& record() const { return state_->record; }
  // An honest client through the hello and the server's answer.
  void Established(HonestClient& c) {
    ASSERT_TRUE(c.SendHello());
    ASSERT_EQ(Run(ServerPhase::kReadHello), ServerPhase::kReplyHello);
    ASSERT_EQ(Run(ServerPhase::kReplyHello), ServerPhase::kReadRequest);
    ASSERT_TRUE(c.Receive());
    ASSERT_TRUE(c.handshake_done());
  }

  ServerHarness h_;
  ServerStatePool::Handle state_ = h_.env().states->Get();
  std::optional<testing::MemoryPeer> peer_;
  std::optional<Connection> connection_;
  std::optional<testing::PhaseDriver<Connection, ServerPhase>> driver_;
};

TEST_F(ServerPhases, ReadHelloWaitsForAFirstReadThenHandsAnAcceptedHelloToReplyHello) {
  HonestClient c(h_, *peer_, Profile::kV2, TestUser(2));
  ASSERT_TRUE(c.MakeHello());
  EXPECT_EQ(Run(ServerPhase::kReadHello), std::nullopt) << "nothing yet";
  peer_->Send(c.hello());
  EXPECT_EQ(driver_->Poll(), ServerPhase::kReplyHello);
  EXPECT_TRUE(peer_->Take().empty()) << "the answer is ReplyHello's";
  EXPECT_EQ(record().profile.view(), "v2");
  EXPECT_NE(record().user.view(), "-");
}

TEST_F(ServerPhases, ReadHelloHandsAFirstReadShortOfAHelloToTheFallback) {
  HonestClient c(h_, *peer_, Profile::kV2, TestUser(2));
  ASSERT_TRUE(c.MakeHello());
  peer_->Send(std::span<const uint8_t>(c.hello()).first(40));
  EXPECT_EQ(Run(ServerPhase::kReadHello), ServerPhase::kFallback) << "not a hello: it came in pieces";
  EXPECT_TRUE(h_.dialer().dialed().empty()) << "dialing is Fallback's";
}

TEST_F(ServerPhases, ReadHelloHandsAnythingElseToTheFallbackWithoutDialingIt) {
  peer_->Send(B("GET / HTTP/1.1\r\nHost: a\r\n\r\n"));
  EXPECT_EQ(Run(ServerPhase::kReadHello), ServerPhase::kFallback);
  EXPECT_TRUE(h_.dialer().dialed().empty());
}

TEST_F(ServerPhases, ReadHelloHandsAnInputEndedBeforeAnyByteToTheFallback) {
  EXPECT_EQ(Run(ServerPhase::kReadHello), std::nullopt);
  peer_->CloseSend();
  EXPECT_EQ(driver_->Poll(), ServerPhase::kFallback);
}

TEST_F(ServerPhases, ReplyHelloSendsTheServerHelloAndWaitsForTheRequest) {
  HonestClient c(h_, *peer_, Profile::kV1Compat, TestUser(1));
  Established(c);
  EXPECT_EQ(record().profile.view(), "v1-compat");
}

TEST_F(ServerPhases, ReadRequestHandsAConnectToDialTarget) {
  HonestClient c(h_, *peer_, Profile::kV2, TestUser(1));
  Established(c);
  ASSERT_TRUE(c.Request(RequestTo("example.test", 443), B("hi")));
  EXPECT_EQ(Run(ServerPhase::kReadRequest), ServerPhase::kDialTarget);
  EXPECT_EQ(record().target.view(), "example.test:443");
  EXPECT_TRUE(h_.dialer().dialed().empty()) << "dialing is DialTarget's";
}

TEST_F(ServerPhases, ReadRequestHandsAnyOtherCommandToRefuse) {
  HonestClient c(h_, *peer_, Profile::kV2, TestUser(1));
  Established(c);
  RequestHeader bind = RequestTo("example.test", 443);
  bind.command = 3;  // SOCKS5 BIND's number: no Reflex command
  ASSERT_TRUE(c.Request(bind));
  EXPECT_EQ(Run(ServerPhase::kReadRequest), ServerPhase::kRefuse);
  EXPECT_EQ(record().reason, CloseReason::kCommandNotSupported);
}

TEST_F(ServerPhases, ReadRequestEndsOnTheClientsCloseInsteadOfARequest) {
  HonestClient c(h_, *peer_, Profile::kV2, TestUser(1));
  Established(c);
  c.SendRaw(c.SealClose());
  EXPECT_EQ(Run(ServerPhase::kReadRequest), ServerPhase::kEnd);
  EXPECT_EQ(record().reason, CloseReason::kClosedBeforeRequest);
}

TEST_F(ServerPhases, DialTargetSendsTheConnectResultAndTheRequestsDataThenRelays) {
  HonestClient c(h_, *peer_, Profile::kV2, TestUser(1));
  Established(c);
  ASSERT_TRUE(c.Request(RequestTo("example.test", 443), B("hi")));
  ASSERT_EQ(Run(ServerPhase::kReadRequest), ServerPhase::kDialTarget);
  EXPECT_EQ(Run(ServerPhase::kDialTarget), ServerPhase::kRelay);
  ASSERT_EQ(h_.dialer().dialed().size(), 1u);
  EXPECT_EQ(h_.dialer().dialed()[0].peer.Take(), B("hi"));
  ASSERT_TRUE(c.Receive());
  EXPECT_TRUE(c.connected());
}

TEST_F(ServerPhases, DialTargetHandsAnUnreachableTargetToRefuseWithItsSocksCode) {
  h_.dialer().FailWith(asio::error::host_unreachable);
  HonestClient c(h_, *peer_, Profile::kV2, TestUser(1));
  Established(c);
  ASSERT_TRUE(c.Request(RequestTo("example.test", 443)));
  ASSERT_EQ(Run(ServerPhase::kReadRequest), ServerPhase::kDialTarget);
  EXPECT_EQ(Run(ServerPhase::kDialTarget), ServerPhase::kRefuse);
  EXPECT_EQ(record().reason, CloseReason::kTargetUnreachable);
  EXPECT_EQ(Run(ServerPhase::kRefuse), std::nullopt) << "Refuse drains until the client ends";
  ASSERT_TRUE(c.Receive());
  EXPECT_TRUE(c.peer_closed());
  EXPECT_EQ(c.close_code(), kConnectHostUnreachable);
  EXPECT_TRUE(peer_->HandlerClosed());
  peer_->CloseSend();
  EXPECT_EQ(driver_->Poll(), ServerPhase::kEnd);
  EXPECT_EQ(record().reason, CloseReason::kTargetUnreachable) << "Refuse keeps the reason";
}

TEST_F(ServerPhases, DialTargetRefusesATargetTheEgressPolicyForbidsWithNotAllowed) {
  h_.dialer().FailWith(TargetNotAllowed());
  HonestClient c(h_, *peer_, Profile::kV2, TestUser(1));
  Established(c);
  ASSERT_TRUE(c.Request(RequestTo("169.254.169.254", 80)));
  ASSERT_EQ(Run(ServerPhase::kReadRequest), ServerPhase::kDialTarget);
  EXPECT_EQ(Run(ServerPhase::kDialTarget), ServerPhase::kRefuse);
  EXPECT_EQ(record().reason, CloseReason::kTargetNotAllowed);
  EXPECT_EQ(Run(ServerPhase::kRefuse), std::nullopt);
  ASSERT_TRUE(c.Receive());
  EXPECT_EQ(c.close_code(), kConnectNotAllowed);
}

TEST_F(ServerPhases, FallbackWritesEveryByteInOrderThenSplicesUntilBothEnd) {
  const Bytes probe = B("GET / HTTP/1.1\r\nHost: a\r\n\r\nand more");
  peer_->Send(probe);
  ASSERT_EQ(Run(ServerPhase::kReadHello), ServerPhase::kFallback);
  EXPECT_EQ(Run(ServerPhase::kFallback), std::nullopt);
  ASSERT_EQ(h_.dialer().dialed().size(), 1u);
  auto& fallback = h_.dialer().dialed()[0];
  EXPECT_EQ(fallback.peer.Take(), probe);
  fallback.peer.Send(B("HTTP/1.1 200 OK\r\n\r\n"));
  fallback.peer.CloseSend();
  peer_->CloseSend();
  EXPECT_EQ(driver_->Poll(), ServerPhase::kEnd);
  EXPECT_EQ(peer_->Take(), B("HTTP/1.1 200 OK\r\n\r\n"));
  EXPECT_EQ(record().reason, CloseReason::kFallbackDone);
}

TEST_F(ServerPhases, RelayEndsDoneWhenBothDirectionsEndCleanly) {
  HonestClient c(h_, *peer_, Profile::kV2, TestUser(1));
  Established(c);
  ASSERT_TRUE(c.Request(RequestTo("example.test", 443)));
  ASSERT_EQ(Run(ServerPhase::kReadRequest), ServerPhase::kDialTarget);
  ASSERT_EQ(Run(ServerPhase::kDialTarget), ServerPhase::kRelay);
  EXPECT_EQ(Run(ServerPhase::kRelay), std::nullopt);
  auto& target = h_.dialer().dialed()[0];
  c.SendRaw(c.Seal(FrameType::kData, B("up")));
  EXPECT_EQ(target.peer.Take(), B("up"));
  c.SendRaw(c.SealClose());
  target.peer.CloseSend();
  EXPECT_EQ(driver_->Poll(), ServerPhase::kEnd);
  EXPECT_EQ(record().reason, CloseReason::kDone);
  EXPECT_EQ(record().up, 2u);
}

}  // namespace
}  // namespace reflex::proxy
