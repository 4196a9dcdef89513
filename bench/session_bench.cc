// Session benchmarks: what a server spends on a hello, by profile and by
// the number of configured users (v2 tries every user's PSK on every hello,
// which an unauthenticated prober can cause), against the same cost with
// one user, in the same run.
#include <benchmark/benchmark.h>

#include <memory>
#include <vector>

#include "bench/ratio_reporter.h"
#include "reflex/client_session.h"
#include "reflex/server_session.h"
#include "reflex/testing/session_test_util.h"

namespace reflex::bench {
namespace {

using Bytes = std::vector<uint8_t>;

// v2's first flight in each shape (SPEC 11.8).
FirstFlight ShapeOf(FirstFlightShape shape) {
  if (shape == FirstFlightShape::kRaw) return {};
  return {shape, "cdn.example.com", "/assets/"};
}

std::unique_ptr<ServerContext> ContextWithUsers(Profile profile, int users,
                                                FirstFlightShape shape = FirstFlightShape::kRaw) {
  ServerConfig config;
  config.profiles = {profile};
  config.first_flight = ShapeOf(shape);
  for (int i = 0; i < users; ++i) config.users.push_back(testing::TestUser(static_cast<uint8_t>(i)));
  config.replay_capacity = 1 << 20;
  std::unique_ptr<ServerContext> context;
  if (ServerContext::Create(config, &context) != Error::kOk) std::abort();
  return context;
}

// A server reading a hello that no configured user's PSK verifies (a probe,
// or 76 random bytes): the trial loop runs over every user and falls back.
void BM_V2RefuseHello(benchmark::State& state) {
  const auto context = ContextWithUsers(Profile::kV2, static_cast<int>(state.range(0)));
  testing::FakeClock clock;
  Csprng random;
  Bytes probe(kClientHelloBytesV2);
  random.Fill(probe);
  for (auto _ : state) {
    ServerSession server(*context, clock, random);
    Bytes in = probe;
    size_t used = 0;
    SessionEvent e;
    if (server.Receive(in, &used, &e) != Error::kOk || e.kind != SessionEventKind::kFallback) {
      state.SkipWithError("no fallback");
    }
  }
}
BENCHMARK(BM_V2RefuseHello)->Arg(1)->Arg(10)->Arg(100)->Unit(benchmark::kMicrosecond);

// The whole server side of an accepted hello (the last of N users): trial
// loop, timestamp and replay checks, message 2, key split, cipher setup.
// (Shaped: the shape's decoding on top, SPEC 11.8.)
template <Profile kProfile, FirstFlightShape kShape = FirstFlightShape::kRaw>
void BM_ServerAccept(benchmark::State& state) {
  const int users = static_cast<int>(state.range(0));
  const auto context = ContextWithUsers(kProfile, users, kShape);
  testing::FakeClock clock;
  Csprng random;
  for (auto _ : state) {
    state.PauseTiming();
    ClientSession client({kProfile, testing::TestUser(static_cast<uint8_t>(users - 1)), DefaultAeadBackend(),
                          ShapeOf(kShape)},
                         clock, random);
    if (client.Start() != Error::kOk) state.SkipWithError("start");
    Bytes hello(client.PendingOutput().begin(), client.PendingOutput().end());
    state.ResumeTiming();
    ServerSession server(*context, clock, random);
    size_t used = 0;
    SessionEvent e;
    if (server.Receive(hello, &used, &e) != Error::kOk ||
        e.kind != SessionEventKind::kHandshakeDone) {
      state.SkipWithError("not accepted");
    }
  }
}
BENCHMARK(BM_ServerAccept<Profile::kV1Compat>)
    ->Name("BM_ServerAccept_v1")
    ->Arg(1)
    ->Arg(100)
    ->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_ServerAccept<Profile::kV2>)
    ->Name("BM_ServerAccept_v2")
    ->Arg(1)
    ->Arg(100)
    ->Unit(benchmark::kMicrosecond);

BENCHMARK(BM_ServerAccept<Profile::kV2, FirstFlightShape::kHttp>)
    ->Name("BM_ServerAccept_v2_http")
    ->Arg(1)
    ->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_ServerAccept<Profile::kV2, FirstFlightShape::kTls>)
    ->Name("BM_ServerAccept_v2_tls")
    ->Arg(1)
    ->Unit(benchmark::kMicrosecond);

const bool kRatios = [] {
  RegisterRatio("BM_ServerAccept_v2", "BM_ServerAccept_v2_http",
                "accepting a v2 hello shaped as an HTTP request vs raw (SPEC 11.8)");
  RegisterRatio("BM_ServerAccept_v2", "BM_ServerAccept_v2_tls",
                "accepting a v2 hello shaped as a TLS ClientHello vs raw");
  RegisterRatio("BM_ServerAccept_v1", "BM_ServerAccept_v2",
                "accepting a v2 hello (Noise, trial of every user) vs a v1 hello (user id in "
                "the clear), same number of users");
  return true;
}();

}  // namespace
}  // namespace reflex::bench

int main(int argc, char** argv) { return reflex::bench::RunWithRatios(argc, argv); }
