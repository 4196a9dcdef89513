// The resolver against a DNS server in this test, on 127.0.0.1 (UDP, a
// port the OS chooses), serving three zones: fast.test. answers at once,
// missing.test. does not exist, and slow.test. never answers.
#include "proxy/resolver.h"

#include "proxy/e2e/test_dns_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cstdlib>
#include <chrono>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace reflex::proxy {
namespace {

using e2e::FakeDnsServer;

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

struct Outcome {
  bool finished = false;
  std::error_code ec;
  Resolver::Addresses addresses;
  Clock::time_point at;
};

// By value: the coroutine outlives the caller's arguments.
awaitable<void> ResolveInto(Resolver* resolver, std::string host, uint64_t key, Lookup* lookup,
                            Outcome* out) {
  auto [ec, addresses] = co_await resolver->Resolve(std::move(host), key, lookup);
  out->ec = ec;
  out->addresses = std::move(addresses);
  out->at = Clock::now();
  out->finished = true;
}

asio::ip::address Ip(const char* text) { return asio::ip::make_address(text); }

class ResolverTest : public ::testing::Test {
 protected:
  std::unique_ptr<Resolver> MakeResolver(milliseconds timeout, size_t cap = 8) {
    ResolverOptions options;
    options.servers = {{"127.0.0.1", server_.port()}};
    options.timeout = timeout;
    options.max_in_flight_per_key = cap;
    std::unique_ptr<Resolver> resolver;
    const std::error_code ec = Resolver::Create(io_.get_executor(), options, &resolver);
    EXPECT_FALSE(ec) << ec.message();
    return resolver;
  }

  void Start(Resolver* resolver, std::string host, uint64_t key, Outcome* out,
             Lookup* lookup = nullptr) {
    asio::co_spawn(io_, ResolveInto(resolver, std::move(host), key, lookup, out), asio::detached);
  }

  // Runs the event loop until `done` holds; false if `limit` passed first.
  // Slices of at most 10 ms: some conditions are the DNS server's (another
  // thread), which does not wake the loop.
  bool RunUntil(const std::function<bool()>& done, milliseconds limit) {
    const auto deadline = Clock::now() + limit;
    while (!done()) {
      const auto now = Clock::now();
      if (now >= deadline) return false;
      io_.run_one_for(std::min<Clock::duration>(deadline - now, milliseconds(10)));
      if (io_.stopped()) io_.restart();
    }
    return true;
  }

  FakeDnsServer server_;
  asio::io_context io_;
};

TEST_F(ResolverTest, ANameInAFastZoneResolvesToTheServersAddress) {
  auto resolver = MakeResolver(milliseconds(2000));
  ASSERT_TRUE(resolver);
  Outcome plain, numbered;
  Start(resolver.get(), "fast.test", 1, &plain);
  Start(resolver.get(), "n7.fast.test", 1, &numbered);
  ASSERT_TRUE(RunUntil([&] { return plain.finished && numbered.finished; }, milliseconds(2000)));
  ASSERT_FALSE(plain.ec) << plain.ec.message();
  EXPECT_EQ(plain.addresses, Resolver::Addresses{Ip("127.0.0.1")});
  ASSERT_FALSE(numbered.ec) << numbered.ec.message();
  EXPECT_EQ(numbered.addresses, Resolver::Addresses{Ip("192.0.2.7")});
  EXPECT_EQ(resolver->in_flight(1), 0u);

  // An address needs no query.
  const int queries = server_.queries();
  Outcome v4, v6;
  Start(resolver.get(), "192.0.2.55", 1, &v4);
  Start(resolver.get(), "2001:db8::5", 1, &v6);
  ASSERT_TRUE(RunUntil([&] { return v4.finished && v6.finished; }, milliseconds(500)));
  EXPECT_EQ(v4.addresses, Resolver::Addresses{Ip("192.0.2.55")}) << v4.ec.message();
  EXPECT_EQ(v6.addresses, Resolver::Addresses{Ip("2001:db8::5")}) << v6.ec.message();
  EXPECT_EQ(server_.queries(), queries);
}

TEST_F(ResolverTest, AMissingNameIsHostNotFound) {
  auto resolver = MakeResolver(milliseconds(2000));
  ASSERT_TRUE(resolver);
  Outcome missing;
  Start(resolver.get(), "missing.test", 1, &missing);
  ASSERT_TRUE(RunUntil([&] { return missing.finished; }, milliseconds(2000)));
  EXPECT_EQ(missing.ec, asio::error::host_not_found) << missing.ec.message();
  EXPECT_TRUE(missing.addresses.empty());
}

TEST_F(ResolverTest, ALookupInASilentZoneTimesOutAfterTheTimeout) {
  constexpr milliseconds kTimeout(300);
  auto resolver = MakeResolver(kTimeout);
  ASSERT_TRUE(resolver);
  Outcome silent;
  const auto start = Clock::now();
  Start(resolver.get(), "www.slow.test", 1, &silent);
  ASSERT_TRUE(RunUntil([&] { return silent.finished; }, milliseconds(5000)));
  EXPECT_EQ(silent.ec, asio::error::timed_out) << silent.ec.message();
  EXPECT_GE(silent.at - start, kTimeout);
  EXPECT_LT(silent.at - start, milliseconds(1500));
  EXPECT_GE(server_.slow_queries(), 1) << "the query reached the server";
  // c-ares itself gives up near the timeout too, so the lookup leaves the
  // key's count soon after its caller heard of the timeout.
  EXPECT_TRUE(RunUntil([&] { return resolver->in_flight(1) == 0; }, milliseconds(1000)));
}

// The point of the resolver: a zone whose servers never answer stalls the
// lookups into it, and nothing else.
TEST_F(ResolverTest, LookupsStalledInASilentZoneDoNotDelayAnotherUsersLookup) {
  constexpr milliseconds kTimeout(3000);
  auto resolver = MakeResolver(kTimeout);
  ASSERT_TRUE(resolver);
  std::vector<Outcome> stalled(8);
  for (uint64_t key = 1; key <= 8; ++key) {
    Start(resolver.get(), "h" + std::to_string(key) + ".slow.test", key, &stalled[key - 1]);
  }
  // Every one of them (A and AAAA) is at the server, unanswered. (Not
  // fatal: a resolver that queues lookups fails here and below.)
  EXPECT_TRUE(RunUntil([&] { return server_.slow_queries() >= 16; }, milliseconds(1000)));

  Outcome fast;
  const auto start = Clock::now();
  Start(resolver.get(), "n9.fast.test", 100, &fast);
  ASSERT_TRUE(RunUntil([&] { return fast.finished; }, milliseconds(1000)))
      << "a lookup in a fast zone waited behind the stalled ones";
  EXPECT_LT(fast.at - start, milliseconds(1000));
  ASSERT_FALSE(fast.ec) << fast.ec.message();
  EXPECT_EQ(fast.addresses, Resolver::Addresses{Ip("192.0.2.9")});
  for (const Outcome& o : stalled) EXPECT_FALSE(o.finished);

  ASSERT_TRUE(RunUntil(
      [&] {
        for (const Outcome& o : stalled) {
          if (!o.finished) return false;
        }
        return true;
      },
      kTimeout + milliseconds(3000)));
  for (const Outcome& o : stalled) EXPECT_EQ(o.ec, asio::error::timed_out) << o.ec.message();
}

TEST_F(ResolverTest, APerKeyCapRefusesTheNextLookupAtOnceAndCountsAbandonedOnes) {
  constexpr size_t kCap = 8;
  constexpr milliseconds kTimeout(1000);
  auto resolver = MakeResolver(kTimeout, kCap);
  ASSERT_TRUE(resolver);
  std::vector<Outcome> stalled(kCap);
  std::vector<Lookup> lookups(kCap);
  for (size_t i = 0; i < kCap; ++i) {
    Start(resolver.get(), "c" + std::to_string(i) + ".slow.test", 1, &stalled[i], &lookups[i]);
  }
  ASSERT_TRUE(
      RunUntil([&] { return server_.slow_queries() >= int{2 * kCap}; }, milliseconds(2000)));
  EXPECT_EQ(resolver->in_flight(1), kCap);

  Outcome over;
  const auto start = Clock::now();
  Start(resolver.get(), "over.slow.test", 1, &over);
  ASSERT_TRUE(RunUntil([&] { return over.finished; }, milliseconds(500)));
  EXPECT_EQ(over.ec, std::errc::resource_unavailable_try_again) << over.ec.message();
  EXPECT_LT(over.at - start, milliseconds(200));

  // Another key is not held back; its answer also proves that the refused
  // lookup sent nothing (one socket, in order, on loopback).
  Outcome other;
  Start(resolver.get(), "fast.test", 2, &other);
  ASSERT_TRUE(RunUntil([&] { return other.finished; }, milliseconds(1000)));
  ASSERT_FALSE(other.ec) << other.ec.message();
  EXPECT_EQ(server_.slow_queries(), int{2 * kCap});

  // A caller that gives up does not free its place: c-ares still has its
  // query.
  lookups[0].Cancel();
  ASSERT_TRUE(RunUntil([&] { return stalled[0].finished; }, milliseconds(500)));
  EXPECT_EQ(stalled[0].ec, asio::error::operation_aborted);
  EXPECT_EQ(resolver->in_flight(1), kCap);
  Outcome still_over;
  Start(resolver.get(), "fast.test", 1, &still_over);
  ASSERT_TRUE(RunUntil([&] { return still_over.finished; }, milliseconds(500)));
  EXPECT_EQ(still_over.ec, std::errc::resource_unavailable_try_again);

  // Once c-ares gives up on them (near the timeout), the key may ask again.
  ASSERT_TRUE(RunUntil([&] { return resolver->in_flight(1) == 0; }, kTimeout + milliseconds(2000)));
  Outcome again;
  Start(resolver.get(), "fast.test", 1, &again);
  ASSERT_TRUE(RunUntil([&] { return again.finished; }, milliseconds(1000)));
  EXPECT_FALSE(again.ec) << again.ec.message();
}

// A user asking for "www" must not reach www.<the server's own domain>.
TEST_F(ResolverTest, NoSearchDomainIsAppended) {
  ASSERT_EQ(setenv("LOCALDOMAIN", "fast.test", 1), 0);  // c-ares's search list, unless options set one
  auto resolver = MakeResolver(milliseconds(1000));
  unsetenv("LOCALDOMAIN");
  ASSERT_TRUE(resolver);
  Outcome bare;
  Start(resolver.get(), "www", 1, &bare);
  ASSERT_TRUE(RunUntil([&] { return bare.finished; }, milliseconds(3000)));
  EXPECT_EQ(bare.ec, asio::error::host_not_found) << bare.ec.message();
  const std::vector<std::string> seen = server_.names_seen();
  EXPECT_EQ(std::count(seen.begin(), seen.end(), "www.fast.test"), 0);
}

TEST_F(ResolverTest, TheProcesssOwnLookupsAreNotCapped) {
  auto resolver = MakeResolver(milliseconds(1000), /*cap=*/1);
  ASSERT_TRUE(resolver);
  std::vector<Outcome> own(3);
  for (size_t i = 0; i < own.size(); ++i) {
    Start(resolver.get(), "o" + std::to_string(i) + ".slow.test", Resolver::kUncappedKey, &own[i]);
  }
  ASSERT_TRUE(RunUntil([&] { return server_.slow_queries() >= 6; }, milliseconds(2000)));
  EXPECT_EQ(resolver->in_flight(Resolver::kUncappedKey), 3u);
  ASSERT_TRUE(RunUntil([&] { return own[0].finished && own[1].finished && own[2].finished; },
                       milliseconds(3000)));
  for (const Outcome& o : own) EXPECT_EQ(o.ec, asio::error::timed_out) << o.ec.message();
}

TEST_F(ResolverTest, AnAbandonedLookupEndsPromptlyWithOperationAborted) {
  auto resolver = MakeResolver(milliseconds(5000));
  ASSERT_TRUE(resolver);
  Lookup lookup;
  Outcome abandoned;
  Start(resolver.get(), "gone.slow.test", 1, &abandoned, &lookup);
  ASSERT_TRUE(RunUntil([&] { return server_.slow_queries() >= 2; }, milliseconds(2000)));
  EXPECT_FALSE(abandoned.finished);

  const auto cancelled_at = Clock::now();
  lookup.Cancel();
  ASSERT_TRUE(RunUntil([&] { return abandoned.finished; }, milliseconds(1000)));
  EXPECT_EQ(abandoned.ec, asio::error::operation_aborted) << abandoned.ec.message();
  EXPECT_LT(abandoned.at - cancelled_at, milliseconds(200));
  EXPECT_EQ(resolver->in_flight(1), 1u) << "c-ares still has the query";

  // A handle cancelled before its lookup starts ends it at once, unsent.
  Outcome early;
  Start(resolver.get(), "early.slow.test", 1, &early, &lookup);
  ASSERT_TRUE(RunUntil([&] { return early.finished; }, milliseconds(500)));
  EXPECT_EQ(early.ec, asio::error::operation_aborted);
  EXPECT_EQ(resolver->in_flight(1), 1u);

  // Destroying the resolver with the query still in c-ares frees its state
  // (ARES_EDESTRUCTION); ASan's leak check holds us to it.
  resolver.reset();
  io_.restart();
  io_.poll();
}

TEST_F(ResolverTest, AsioCancellationAbandonsTheLookup) {
  using namespace asio::experimental::awaitable_operators;
  auto resolver = MakeResolver(milliseconds(5000));
  ASSERT_TRUE(resolver);
  bool finished = false;
  size_t winner = 99;
  const auto start = Clock::now();
  asio::co_spawn(
      io_,
      [](Resolver* r, bool* done, size_t* index) -> awaitable<void> {
        asio::steady_timer give_up(co_await asio::this_coro::executor, milliseconds(100));
        auto result =
            co_await (r->Resolve("late.slow.test", 1) || give_up.async_wait(asio::use_awaitable));
        *index = result.index();
        *done = true;
      }(resolver.get(), &finished, &winner),
      asio::detached);
  ASSERT_TRUE(RunUntil([&] { return finished; }, milliseconds(2000)));
  EXPECT_EQ(winner, 1u) << "the timer, not the lookup";
  EXPECT_LT(Clock::now() - start, milliseconds(1000));
}

TEST_F(ResolverTest, DestroyingTheResolverEndsWaitingLookupsAborted) {
  auto resolver = MakeResolver(milliseconds(5000));
  ASSERT_TRUE(resolver);
  std::vector<Outcome> waiting(3);
  for (size_t i = 0; i < waiting.size(); ++i) {
    Start(resolver.get(), "w" + std::to_string(i) + ".slow.test", i, &waiting[i]);
  }
  ASSERT_TRUE(RunUntil([&] { return server_.slow_queries() >= 6; }, milliseconds(2000)));
  resolver.reset();
  ASSERT_TRUE(RunUntil(
      [&] { return waiting[0].finished && waiting[1].finished && waiting[2].finished; },
      milliseconds(500)));
  for (const Outcome& o : waiting) EXPECT_EQ(o.ec, asio::error::operation_aborted);
}

// A name of `length` bytes under fast.test: labels of 50 bytes.
std::string NameOfLength(size_t length) {
  const std::string zone = ".fast.test";
  std::string name;
  for (size_t i = 0; name.size() + zone.size() < length; ++i) name += i % 51 == 50 ? '.' : 'a';
  if (name.back() == '.') name.back() = 'a';  // a label of 51 bytes, still a label
  return name + zone;
}

TEST_F(ResolverTest, NamesWithANulOrOverLongAreRefusedWithoutAQuery) {
  auto resolver = MakeResolver(milliseconds(2000));
  ASSERT_TRUE(resolver);
  const std::string longest = NameOfLength(253);
  ASSERT_EQ(longest.size(), 253u);
  const std::string too_long = NameOfLength(254);
  ASSERT_EQ(too_long.size(), 254u);

  const std::vector<std::string> refused = {
      std::string("fast.test\0.evil", 15),
      too_long,
      too_long + ".",
      "",
      ".",
  };
  std::vector<Outcome> outcomes(refused.size());
  for (size_t i = 0; i < refused.size(); ++i) Start(resolver.get(), refused[i], 1, &outcomes[i]);
  ASSERT_TRUE(RunUntil(
      [&] {
        for (const Outcome& o : outcomes) {
          if (!o.finished) return false;
        }
        return true;
      },
      milliseconds(500)));
  for (size_t i = 0; i < refused.size(); ++i) {
    EXPECT_EQ(outcomes[i].ec, asio::error::host_not_found) << i;
  }

  // The longest name is a name (a trailing dot aside); its answer arrives
  // after any query the refused ones could have sent.
  Outcome ok, ok_dot;
  Start(resolver.get(), longest, 1, &ok);
  Start(resolver.get(), longest + ".", 1, &ok_dot);
  ASSERT_TRUE(RunUntil([&] { return ok.finished && ok_dot.finished; }, milliseconds(2000)));
  ASSERT_FALSE(ok.ec) << ok.ec.message();
  ASSERT_FALSE(ok_dot.ec) << ok_dot.ec.message();
  EXPECT_EQ(ok.addresses, Resolver::Addresses{Ip("127.0.0.1")});
  for (const std::string& name : server_.names_seen()) {
    EXPECT_EQ(name, longest) << "a refused name reached the server";
  }
  EXPECT_GE(server_.queries(), 1);
}

TEST_F(ResolverTest, BadOptionsAreRefused) {
  std::unique_ptr<Resolver> resolver;
  ResolverOptions options;
  options.servers = {{"dns.example", 53}};
  EXPECT_EQ(Resolver::Create(io_.get_executor(), options, &resolver), std::errc::invalid_argument);
  options.servers = {{"127.0.0.1", server_.port()}};
  options.timeout = milliseconds(0);
  EXPECT_EQ(Resolver::Create(io_.get_executor(), options, &resolver), std::errc::invalid_argument);
  options.timeout = milliseconds(100);
  options.max_in_flight_per_key = 0;
  EXPECT_EQ(Resolver::Create(io_.get_executor(), options, &resolver), std::errc::invalid_argument);
  EXPECT_FALSE(resolver);
}

}  // namespace
}  // namespace reflex::proxy
