// Properties of the sessions (RapidCheck):
//  - a client and a server wired back to back deliver any data both ways,
//    under any chunking and interleaving, in both profiles, with and
//    without traffic morphing, and half-close in either order;
//  - the fallback is lossless: any input that is not a hello of an
//    accepted profile reaches it byte for byte, however it is chunked;
//  - a replayed hello always falls back, whatever time passed within the
//    window.
#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include <deque>
#include <memory>
#include <vector>

#include "reflex/testing/session_test_util.h"

namespace reflex {
namespace {

using testing::Bytes;
using testing::Delivered;
using testing::FakeClock;
using testing::Feed;
using testing::SeededRandom;
using testing::TestUser;

rc::Gen<Profile> GenProfile() { return rc::gen::element(Profile::kV2, Profile::kV1Compat); }
rc::Gen<AeadBackend> GenBackend() {
  return rc::gen::element(AeadBackend::kSodium, AeadBackend::kOpenssl);
}

std::unique_ptr<ServerContext> Context(std::vector<Profile> profiles, AeadBackend backend) {
  ServerConfig config;
  config.profiles = profiles;
  config.users = {TestUser(1), TestUser(2)};
  config.backend = backend;
  std::unique_ptr<ServerContext> context;
  RC_ASSERT(ServerContext::Create(config, &context) == Error::kOk);
  return context;
}

// Bytes in flight one way, handed over in generated chunk sizes.
struct Pipe {
  std::deque<uint8_t> bytes;
  void Put(std::span<const uint8_t> b) { bytes.insert(bytes.end(), b.begin(), b.end()); }
  Bytes Take(size_t n) {
    n = std::min(n, bytes.size());
    Bytes out(bytes.begin(), bytes.begin() + static_cast<ptrdiff_t>(n));
    bytes.erase(bytes.begin(), bytes.begin() + static_cast<ptrdiff_t>(n));
    return out;
  }
};

// Seals data as frames of generated sizes (or shaped slots) into a pipe.
template <class Session>
void SendAll(Session& s, const Bytes& data, const std::vector<size_t>& sizes, Shaper* shaper,
             Pipe& pipe) {
  Bytes out(kMaxFrameBytes + kMaxMorphSlotBytes);
  size_t at = 0;
  for (size_t i = 0; at < data.size(); ++i) {
    std::span<const uint8_t> rest(data.data() + at, data.size() - at);
    if (shaper != nullptr) {
      ShapedOutput slot;
      RC_ASSERT(s.SealShaped(*shaper, rest, out, &slot) == Error::kOk);
      pipe.Put({out.data(), slot.wire_bytes});
      at += slot.data_taken;
    } else {
      const size_t n = std::min({rest.size(), sizes[i % sizes.size()], kMaxPayloadBytes});
      size_t w = 0;
      RC_ASSERT(s.Seal(FrameType::kData, rest.first(n), out, &w) == Error::kOk);
      pipe.Put({out.data(), w});
      at += n;
    }
  }
}

RC_GTEST_PROP(SessionProperties, BackToBackSessionsDeliverAnyDataBothWaysUnderAnyChunking, ()) {
  const Profile profile = *GenProfile();
  const AeadBackend backend = *GenBackend();
  const bool morph = *rc::gen::arbitrary<bool>();
  const auto up = *rc::gen::container<Bytes>(rc::gen::arbitrary<uint8_t>());
  const auto down = *rc::gen::container<Bytes>(rc::gen::arbitrary<uint8_t>());
  const auto frame_sizes = *rc::gen::nonEmpty(
      rc::gen::container<std::vector<size_t>>(rc::gen::inRange<size_t>(1, 20000)));
  const auto chunks = *rc::gen::nonEmpty(
      rc::gen::container<std::vector<size_t>>(rc::gen::inRange<size_t>(1, 3000)));
  const bool client_closes_first = *rc::gen::arbitrary<bool>();

  FakeClock clock;
  SeededRandom client_random(*rc::gen::arbitrary<uint32_t>()), server_random(7);
  const auto context = Context({profile}, backend);
  ClientSession client({profile, TestUser(2), backend, {}}, clock, client_random);
  ServerSession server(*context, clock, server_random);
  RC_ASSERT(client.Start() == Error::kOk);
  Pipe to_server, to_client;
  to_server.Put(client.PendingOutput());
  Delivered at_server, at_client;
  Bytes server_in, client_in;
  size_t chunk_i = 0;
  auto pump = [&] {
    // Alternate directions in generated chunk sizes until both pipes drain.
    while (!to_server.bytes.empty() || !to_client.bytes.empty()) {
      if (!to_server.bytes.empty()) {
        RC_ASSERT(Feed(server, server_in, to_server.Take(chunks[chunk_i++ % chunks.size()]),
                       &at_server));
        if (server.established() && !server.PendingOutput().empty()) {
          to_client.Put(server.PendingOutput());
          server.ConsumeOutput(server.PendingOutput().size());
        }
      }
      if (!to_client.bytes.empty()) {
        RC_ASSERT(Feed(client, client_in, to_client.Take(chunks[chunk_i++ % chunks.size()]),
                       &at_client));
      }
    }
  };
  pump();
  RC_ASSERT(client.established() && server.established());
  Bytes out(kMaxFrameBytes);
  size_t w = 0;
  RequestHeader request;
  request.address_type = AddressType::kIpv4;
  request.address_length = 4;
  RC_ASSERT(client.SealRequest(request, {}, out, &w) == Error::kOk);
  to_server.Put({out.data(), w});
  Shaper client_shaper(kMorphYoutube, client_random), server_shaper(kMorphZoom, server_random);
  SendAll(client, up, frame_sizes, morph ? &client_shaper : nullptr, to_server);
  SendAll(server, down, frame_sizes, morph ? &server_shaper : nullptr, to_client);
  auto close = [&](auto& s, Pipe& p) {
    RC_ASSERT(s.SealClose(out, &w) == Error::kOk);
    p.Put({out.data(), w});
  };
  if (client_closes_first) {
    close(client, to_server);
    pump();
    close(server, to_client);
  } else {
    close(server, to_client);
    pump();
    close(client, to_server);
  }
  pump();
  RC_ASSERT(at_server.got_request);
  RC_ASSERT(at_server.data == up);
  RC_ASSERT(at_client.data == down);
  RC_ASSERT(at_server.peer_closed && at_client.peer_closed);
  RC_ASSERT(at_server.error == Error::kOk && at_client.error == Error::kOk);
}

RC_GTEST_PROP(SessionProperties, AnyNonReflexInputReachesTheFallbackByteForByte, ()) {
  const AeadBackend backend = *GenBackend();
  const auto profiles = *rc::gen::element(std::vector{Profile::kV2},
                                          std::vector{Profile::kV1Compat},
                                          std::vector{Profile::kV2, Profile::kV1Compat});
  // Any bytes, at least a hello's worth so the server decides without a timer.
  const auto input = *rc::gen::suchThat(rc::gen::container<Bytes>(rc::gen::arbitrary<uint8_t>()),
                                        [](const Bytes& b) { return b.size() >= 76; });
  const auto chunks = *rc::gen::nonEmpty(
      rc::gen::container<std::vector<size_t>>(rc::gen::inRange<size_t>(1, 200)));
  FakeClock clock;
  SeededRandom random(1);
  const auto context = Context(profiles, backend);
  ServerSession server(*context, clock, random);
  Delivered at;
  Bytes in;
  size_t fed = 0;
  for (size_t i = 0; fed < input.size(); ++i) {
    const size_t n = std::min(chunks[i % chunks.size()], input.size() - fed);
    const bool live = Feed(server, in, Bytes(input.begin() + fed, input.begin() + fed + n), &at);
    fed += n;
    if (!live) break;
  }
  // Random bytes are not a valid hello (the tag of v2, the magic and a
  // configured user of v1): the fallback gets them all.
  RC_ASSERT(at.events == std::vector{SessionEventKind::kFallback});
  Bytes got = at.fallback;
  got.insert(got.end(), input.begin() + static_cast<ptrdiff_t>(fed), input.end());
  RC_ASSERT(got == input);
}

RC_GTEST_PROP(SessionProperties, AReplayedHelloAlwaysFallsBack, ()) {
  const Profile profile = *GenProfile();
  const AeadBackend backend = *GenBackend();
  const auto delay_s = *rc::gen::inRange<int64_t>(0, 120);
  FakeClock clock;
  SeededRandom random(*rc::gen::arbitrary<uint32_t>());
  const auto context = Context({profile}, backend);
  ClientSession client({profile, TestUser(1), backend, {}}, clock, random);
  RC_ASSERT(client.Start() == Error::kOk);
  const Bytes hello(client.PendingOutput().begin(), client.PendingOutput().end());
  {
    ServerSession first(*context, clock, random);
    Delivered at;
    Bytes in;
    RC_ASSERT(Feed(first, in, hello, &at));
    RC_ASSERT(at.events == std::vector{SessionEventKind::kHandshakeDone});
  }
  clock.SetUnix(clock.UnixSeconds() + delay_s);
  ServerSession again(*context, clock, random);
  Delivered at;
  Bytes in;
  RC_ASSERT(!Feed(again, in, hello, &at));
  RC_ASSERT(at.events == std::vector{SessionEventKind::kFallback});
  RC_ASSERT(at.fallback == hello);
  RC_ASSERT(at.fallback_reason == Error::kReplayedHello);
}

}  // namespace
}  // namespace reflex
