// The Redis connection as redis_client.h describes it, against a real
// redis-server started by the test: addresses as URLs, commands pipelined
// and answered in order, AUTH and SELECT, and what a caller sees when the
// server goes away, freezes, or comes back: a bounded wait, never a hang.
#include "proxy/redis_client.h"

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "proxy/e2e/redis_server.h"

namespace reflex::proxy {
namespace {

using e2e::RedisServer;
using std::chrono::milliseconds;
using Answer = std::pair<std::error_code, RedisReply>;

TEST(RedisUrlTest, NamesATcpServerAUnixSocketADatabaseAndAKey) {
  RedisEndpoint e;
  std::string error;
  ASSERT_TRUE(ParseRedisUrl("redis://127.0.0.1:6379", false, &e, &error)) << error;
  EXPECT_EQ(e.tcp.host, "127.0.0.1");
  EXPECT_EQ(e.tcp.port, 6379);
  EXPECT_EQ(e.db, 0);
  ASSERT_TRUE(ParseRedisUrl("redis://[::1]:7000/3", false, &e, &error)) << error;
  EXPECT_EQ(e.tcp.host, "::1");
  EXPECT_EQ(e.db, 3);
  ASSERT_TRUE(ParseRedisUrl("redis://redis.internal:6379/2/reflex:users", true, &e, &error)) << error;
  EXPECT_EQ(e.db, 2);
  EXPECT_EQ(e.key, "reflex:users");
  ASSERT_TRUE(ParseRedisUrl("unix:///run/redis/redis.sock?db=1&key=u", true, &e, &error)) << error;
  EXPECT_EQ(e.unix_path, "/run/redis/redis.sock");
  EXPECT_EQ(e.db, 1);
  EXPECT_EQ(e.key, "u");

  for (const char* bad : {"", "http://h:1", "redis://h", "redis://h:0", "redis://h:1/16", "redis://h:1/x",
                          "unix://relative.sock", "unix:///s?db=99", "unix:///s?color=red"}) {
    EXPECT_FALSE(ParseRedisUrl(bad, false, &e, &error)) << bad;
  }
  EXPECT_FALSE(ParseRedisUrl("redis://h:1/0/key", false, &e, &error)) << "a key where none is used";
  EXPECT_FALSE(ParseRedisUrl("redis://h:1/0", true, &e, &error)) << "no key where one is needed";
}

class RedisClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    redis_ = std::make_unique<RedisServer>(::testing::UnitTest::GetInstance()->current_test_info()->name());
    ASSERT_TRUE(redis_->ok()) << "redis-server did not start (tools/bootstrap.sh installs it)";
  }
  void TearDown() override {
    if (client_) client_->Stop();
    io_.run_for(milliseconds(200));  // Run() returns
  }

  void StartClient(const std::string& url, std::string password = "", size_t max_in_flight = 1024,
                   milliseconds stall_after = milliseconds(400)) {
    RedisOptions o;
    std::string error;
    ASSERT_TRUE(ParseRedisUrl(url, false, &o.endpoint, &error)) << error;
    o.password = std::move(password);
    o.timeout = milliseconds(200);
    o.stall_after = stall_after;
    o.min_backoff = milliseconds(20);
    o.max_backoff = milliseconds(100);
    o.max_in_flight = max_in_flight;
    client_ = std::make_unique<RedisClient>(io_.get_executor(), o);
    asio::co_spawn(io_, client_->Run(), asio::detached);
  }

  // Runs the loop until the client is connected (bounded).
  bool WaitConnected(milliseconds bound = milliseconds(5000)) {
    const auto until = std::chrono::steady_clock::now() + bound;
    while (!client_->connected() && std::chrono::steady_clock::now() < until) io_.run_for(milliseconds(5));
    return client_->connected();
  }

  // One command, the loop run until it is answered (bounded).
  Answer Call(std::initializer_list<std::string_view> argv) {
    auto got = std::make_shared<std::optional<Answer>>();  // outlives a call that gives up
    asio::co_spawn(io_, client_->Command(argv), [got](std::exception_ptr, Answer a) { *got = std::move(a); });
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (!*got && std::chrono::steady_clock::now() < until) io_.run_for(milliseconds(5));
    EXPECT_TRUE(got->has_value()) << "a command must end within its timeout";
    return got->value_or(Answer{asio::error::in_progress, {}});
  }

  asio::io_context io_;
  asio::executor_work_guard<asio::io_context::executor_type> work_ = asio::make_work_guard(io_);
  std::unique_ptr<RedisServer> redis_;
  std::unique_ptr<RedisClient> client_;
};

TEST_F(RedisClientTest, SetNxAnswersOkOnceThenNilOverTcpAndUnixSockets) {
  for (const std::string& url : {redis_->TcpUrl(), redis_->UnixUrl()}) {
    StartClient(url);
    ASSERT_TRUE(WaitConnected()) << url;
    const std::string key = "k:" + url;
    const Answer first = Call({"SET", key, "1", "NX", "PX", "60000"});
    ASSERT_FALSE(first.first) << first.first.message();
    EXPECT_TRUE(first.second.IsStatus("OK"));
    const Answer second = Call({"SET", key, "1", "NX", "PX", "60000"});
    ASSERT_FALSE(second.first);
    EXPECT_EQ(second.second.type, RedisReply::Type::kNil) << "the key is taken";
    const Answer ttl = Call({"PTTL", key});
    EXPECT_EQ(ttl.second.type, RedisReply::Type::kInteger);
    EXPECT_GT(ttl.second.integer, 50000);
    EXPECT_LE(ttl.second.integer, 60000);
    client_->Stop();
    io_.run_for(milliseconds(50));
  }
}

TEST_F(RedisClientTest, ManyCommandsInFlightAreAnsweredEachToItsOwnCaller) {
  StartClient(redis_->UnixUrl());
  ASSERT_TRUE(WaitConnected());
  constexpr int kCommands = 500;
  std::vector<std::optional<Answer>> got(kCommands);
  for (int i = 0; i < kCommands; ++i) {
    const std::string value = std::to_string(i);
    asio::co_spawn(io_, client_->Command({"ECHO", value}),
                   [&got, i](std::exception_ptr, Answer a) { got[static_cast<size_t>(i)] = std::move(a); });
  }
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (std::chrono::steady_clock::now() < until &&
         std::any_of(got.begin(), got.end(), [](const auto& g) { return !g.has_value(); })) {
    io_.run_for(milliseconds(5));
  }
  for (int i = 0; i < kCommands; ++i) {
    ASSERT_TRUE(got[static_cast<size_t>(i)].has_value()) << i;
    EXPECT_FALSE(got[static_cast<size_t>(i)]->first);
    EXPECT_EQ(got[static_cast<size_t>(i)]->second.text, std::to_string(i));
  }
}

TEST_F(RedisClientTest, SelectsTheDatabaseOfTheUrl) {
  StartClient(redis_->UnixUrl(3));
  ASSERT_TRUE(WaitConnected());
  ASSERT_TRUE(Call({"SET", "in-three", "x"}).second.IsStatus("OK"));
  EXPECT_EQ(redis_->Cli({"EXISTS", "in-three"}, 3), "1");
  EXPECT_EQ(redis_->Cli({"EXISTS", "in-three"}, 0), "0");
}

TEST_F(RedisClientTest, AStoppedServerEndsEveryWaitAtOnceAndTheClientComesBackWithIt) {
  StartClient(redis_->UnixUrl());
  ASSERT_TRUE(WaitConnected());
  ASSERT_TRUE(Call({"PING"}).second.IsStatus("PONG"));
  redis_->Stop();
  const auto before = std::chrono::steady_clock::now();
  const Answer gone = Call({"PING"});
  EXPECT_TRUE(gone.first == asio::error::not_connected || gone.first == asio::error::timed_out)
      << gone.first.message();
  EXPECT_FALSE(client_->connected());
  EXPECT_EQ(Call({"PING"}).first, asio::error::not_connected) << "refused at once while it is gone";
  EXPECT_LT(std::chrono::steady_clock::now() - before, std::chrono::seconds(2));
  ASSERT_TRUE(redis_->Start());
  ASSERT_TRUE(WaitConnected()) << "connects again (backoff at most 100 ms here)";
  EXPECT_TRUE(Call({"PING"}).second.IsStatus("PONG"));
  EXPECT_GE(client_->stats().connects, 2u);
}

TEST_F(RedisClientTest, AFrozenServerCostsEachCallerItsTimeoutAndNeverAnUnboundedQueue) {
  StartClient(redis_->UnixUrl(), "", /*max_in_flight=*/4, /*stall_after=*/milliseconds(2000));
  ASSERT_TRUE(WaitConnected());
  redis_->Freeze();
  for (int i = 0; i < 4; ++i) {
    const Answer a = Call({"PING"});
    EXPECT_EQ(a.first, asio::error::timed_out) << i;
  }
  ASSERT_TRUE(client_->connected()) << "not yet stalled for 2 s";
  EXPECT_EQ(Call({"PING"}).first, std::errc::resource_unavailable_try_again)
      << "the four are still in flight (their replies late): a fifth is not sent";
  // A reply overdue by stall_after drops the connection.
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (client_->stats().failures == 0 && std::chrono::steady_clock::now() < until) io_.run_for(milliseconds(5));
  EXPECT_GE(client_->stats().failures, 1u);
  redis_->Thaw();
  const auto again = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  Answer a{asio::error::not_connected, {}};
  while (std::chrono::steady_clock::now() < again && !a.second.IsStatus("PONG")) {
    io_.run_for(milliseconds(20));
    if (client_->connected()) a = Call({"PING"});
  }
  EXPECT_TRUE(a.second.IsStatus("PONG")) << "answers again once thawed";
}

TEST_F(RedisClientTest, AReplyThatComesAfterItsCallerGaveUpIsNeverAnotherCallersReply) {
  StartClient(redis_->UnixUrl(), "", 1024, /*stall_after=*/milliseconds(5000));
  ASSERT_TRUE(WaitConnected());
  redis_->Freeze();
  EXPECT_EQ(Call({"ECHO", "late"}).first, asio::error::timed_out);
  redis_->Thaw();
  const Answer mine = Call({"ECHO", "mine"});
  ASSERT_FALSE(mine.first) << mine.first.message();
  EXPECT_EQ(mine.second.text, "mine") << "the late reply to the first call is dropped, not handed on";
  EXPECT_TRUE(client_->connected()) << "the same connection, still in step";
  EXPECT_EQ(client_->stats().connects, 1u);
}

class RedisPasswordTest : public RedisClientTest {
 protected:
  void SetUp() override {
    redis_ = std::make_unique<RedisServer>("redis-password", "s3cret pass");
    ASSERT_TRUE(redis_->ok());
  }
};

TEST_F(RedisPasswordTest, AuthenticatesWithThePasswordAndStaysOutWithAWrongOne) {
  StartClient(redis_->UnixUrl(), "s3cret pass");
  ASSERT_TRUE(WaitConnected());
  EXPECT_TRUE(Call({"PING"}).second.IsStatus("PONG"));
  client_->Stop();
  io_.run_for(milliseconds(50));

  StartClient(redis_->UnixUrl(), "wrong");
  EXPECT_FALSE(WaitConnected(milliseconds(500)));
  EXPECT_GE(client_->stats().failures, 1u);
  EXPECT_EQ(Call({"PING"}).first, asio::error::not_connected);
}

}  // namespace
}  // namespace reflex::proxy
