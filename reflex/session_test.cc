// The sans-IO sessions as SPEC.md describes them: handshakes of both
// profiles, the request header, data both ways, half-close, swallowed
// shaping frames, final errors, and the server's fallback, which always
// receives every byte, exactly.
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "reflex/testing/codec_test_util.h"
#include "reflex/hello.h"
#include "reflex/hello_v2.h"
#include "reflex/testing/session_test_util.h"

namespace reflex {
namespace {

using testing::Bytes;
using testing::Delivered;
using testing::FakeClock;
using testing::Feed;
using testing::SeededRandom;
using testing::TestUser;

Bytes Text(const std::string& s) { return Bytes(s.begin(), s.end()); }

RequestHeader Domain(const std::string& host, uint16_t port) {
  RequestHeader h;
  h.command = 1;
  h.port = port;
  h.address_type = AddressType::kDomain;
  h.address_length = static_cast<uint8_t>(host.size());
  std::copy(host.begin(), host.end(), h.address.begin());
  return h;
}

struct Params {
  Profile profile;
  AeadBackend backend;
};

class SessionTest : public ::testing::TestWithParam<Params> {
 protected:
  void SetUp() override { MakeServer({GetParam().profile}); }

  void MakeServer(std::vector<Profile> profiles, int64_t window = 120) {
    ServerConfig config;
    config.profiles = profiles;
    config.users = {TestUser(1), TestUser(2), TestUser(3)};
    config.timestamp_window_seconds = window;
    config.backend = GetParam().backend;
    ASSERT_EQ(ServerContext::Create(config, &context_), Error::kOk);
  }
  std::unique_ptr<ClientSession> Client(UserId user = TestUser(2),
                                        std::optional<Profile> profile = std::nullopt) {
    ClientConfig config;
    config.profile = profile.value_or(GetParam().profile);
    config.user = user;
    config.backend = GetParam().backend;
    auto c = std::make_unique<ClientSession>(config, clock_, client_random_);
    EXPECT_EQ(c->Start(), Error::kOk);
    return c;
  }
  std::unique_ptr<ServerSession> Server() {
    return std::make_unique<ServerSession>(*context_, clock_, server_random_);
  }
  Bytes HelloOf(ClientSession& c) {
    const auto out = c.PendingOutput();
    Bytes hello(out.begin(), out.end());
    c.ConsumeOutput(out.size());
    return hello;
  }
  // Runs the handshake; returns the server's delivered record.
  void Handshake(ClientSession& c, ServerSession& s) {
    ASSERT_TRUE(Feed(s, server_in_, HelloOf(c), &at_server_));
    ASSERT_EQ(at_server_.events.back(), SessionEventKind::kHandshakeDone);
    const auto reply = s.PendingOutput();
    Bytes r(reply.begin(), reply.end());
    s.ConsumeOutput(r.size());
    EXPECT_EQ(r.size(), GetParam().profile == Profile::kV2 ? 48u : 40u);
    ASSERT_TRUE(Feed(c, client_in_, r, &at_client_));
    ASSERT_EQ(at_client_.events.back(), SessionEventKind::kHandshakeDone);
  }
  template <class Session>
  Bytes Sealed(Session& s, FrameType type, const Bytes& payload) {
    Bytes out(kFrameOverheadBytes + payload.size());
    size_t n = 0;
    EXPECT_EQ(s.Seal(type, payload, out, &n), Error::kOk);
    return out;
  }

  FakeClock clock_;
  SeededRandom client_random_{1}, server_random_{2};
  std::unique_ptr<ServerContext> context_;
  Bytes server_in_, client_in_;
  Delivered at_server_, at_client_;
};

INSTANTIATE_TEST_SUITE_P(
    ProfilesAndBackends, SessionTest,
    ::testing::Values(Params{Profile::kV2, AeadBackend::kSodium},
                      Params{Profile::kV2, AeadBackend::kOpenssl},
                      Params{Profile::kV1Compat, AeadBackend::kSodium},
                      Params{Profile::kV1Compat, AeadBackend::kOpenssl}),
    [](const auto& info) {
      return std::string(info.param.profile == Profile::kV2 ? "v2" : "v1") + "_" +
             std::string(AeadBackendName(info.param.backend));
    });

TEST_P(SessionTest, AHonestSessionCarriesTheRequestAndDataBothWaysThenHalfClosesEachWay) {
  auto c = Client();
  auto s = Server();
  Handshake(*c, *s);
  EXPECT_EQ(s->profile(), GetParam().profile);
  EXPECT_EQ(s->user_index(), 1u) << "TestUser(2) is the second configured user";
  // The request header and the first data travel in one frame; the server
  // gets the header and exactly the data after it.
  Bytes frame(kMaxFrameBytes);
  size_t n = 0;
  const Bytes first = Text("GET / HTTP/1.1\r\n\r\n");
  ASSERT_EQ(c->SealRequest(Domain("example.com", 443), first, frame, &n), Error::kOk);
  frame.resize(n);
  ASSERT_TRUE(Feed(*s, server_in_, frame, &at_server_));
  ASSERT_TRUE(at_server_.got_request);
  EXPECT_EQ(at_server_.request, Domain("example.com", 443));
  EXPECT_EQ(at_server_.data, first);
  // More data both ways.
  ASSERT_TRUE(Feed(*s, server_in_, Sealed(*c, FrameType::kData, Text("more")), &at_server_));
  ASSERT_TRUE(Feed(*c, client_in_, Sealed(*s, FrameType::kData, Text("reply")), &at_client_));
  EXPECT_EQ(at_server_.data, Text("GET / HTTP/1.1\r\n\r\nmore"));
  EXPECT_EQ(at_client_.data, Text("reply"));
  // The client closes its direction; the server can still send.
  Bytes close(kFrameOverheadBytes);
  ASSERT_EQ(c->SealClose(close, &n), Error::kOk);
  ASSERT_TRUE(Feed(*s, server_in_, close, &at_server_));
  EXPECT_TRUE(at_server_.peer_closed);
  EXPECT_EQ(c->Seal(FrameType::kData, Text("x"), frame, &n), Error::kClosed);
  ASSERT_TRUE(Feed(*c, client_in_, Sealed(*s, FrameType::kData, Text(" after")), &at_client_));
  EXPECT_EQ(at_client_.data, Text("reply after"));
  Bytes close2(kFrameOverheadBytes);
  ASSERT_EQ(s->SealClose(close2, &n), Error::kOk);
  ASSERT_TRUE(Feed(*c, client_in_, close2, &at_client_));
  EXPECT_TRUE(at_client_.peer_closed);
}

TEST_P(SessionTest, PaddingAndTimingFramesAreNeverDelivered) {
  auto c = Client();
  auto s = Server();
  Handshake(*c, *s);
  Bytes stream;
  for (auto [type, text] : {std::pair{FrameType::kPadding, "pad"}, {FrameType::kTiming, "tim"}}) {
    const Bytes f = Sealed(*c, type, Text(text));
    stream.insert(stream.end(), f.begin(), f.end());
  }
  Bytes frame(kMaxFrameBytes);
  size_t n = 0;
  ASSERT_EQ(c->SealRequest(Domain("a", 1), Text("data"), frame, &n), Error::kOk);
  stream.insert(stream.end(), frame.begin(), frame.begin() + static_cast<ptrdiff_t>(n));
  ASSERT_TRUE(Feed(*s, server_in_, stream, &at_server_));
  EXPECT_EQ(at_server_.data, Text("data"));
  EXPECT_EQ(at_server_.events,
            (std::vector{SessionEventKind::kHandshakeDone, SessionEventKind::kRequest}));
}

TEST_P(SessionTest, ATamperedFrameIsAFinalErrorReportedOnceAndNothingOfItIsDelivered) {
  auto c = Client();
  auto s = Server();
  Handshake(*c, *s);
  Bytes frame(kMaxFrameBytes);
  size_t n = 0;
  ASSERT_EQ(c->SealRequest(Domain("a", 1), {}, frame, &n), Error::kOk);
  ASSERT_TRUE(Feed(*s, server_in_, Bytes(frame.begin(), frame.begin() + n), &at_server_));
  Bytes bad = Sealed(*c, FrameType::kData, Text("secret"));
  bad[5] ^= 1;
  EXPECT_FALSE(Feed(*s, server_in_, bad, &at_server_) && !s->finished());
  EXPECT_EQ(at_server_.error, Error::kAuthFailed);
  EXPECT_EQ(std::count(at_server_.events.begin(), at_server_.events.end(),
                       SessionEventKind::kError),
            1);
  EXPECT_TRUE(s->finished());
  size_t used = 99;
  SessionEvent e;
  Bytes more = Sealed(*c, FrameType::kData, Text("x"));
  EXPECT_EQ(s->Receive(more, &used, &e), Error::kInvalidArgument);
  EXPECT_EQ(used, 99u);
  EXPECT_EQ(e.kind, SessionEventKind::kNone) << "nothing after a final error";
  EXPECT_TRUE(at_server_.data.empty()) << "nothing of the tampered frame was delivered";
}

TEST_P(SessionTest, TheFirstFramesHeaderIsParsedExactlyAndTheRestIsData) {
  // IPv6 (20-byte header) and a 255-byte domain: the Go server's fixed
  // payload[12:] would leak header bytes; here the data is exact.
  RequestHeader v6;
  v6.command = 1;
  v6.port = 8443;
  v6.address_type = AddressType::kIpv6;
  v6.address_length = 16;
  for (int i = 0; i < 16; ++i) v6.address[i] = static_cast<uint8_t>(i);
  for (const RequestHeader& h : {v6, Domain(std::string(255, 'd'), 80), Domain("x", 1)}) {
    at_server_ = {};
    server_in_.clear();
    client_in_.clear();
    auto c = Client();
    auto s = Server();
    Handshake(*c, *s);
    Bytes frame(kMaxFrameBytes);
    size_t n = 0;
    const Bytes data = TestPayload(300);
    ASSERT_EQ(c->SealRequest(h, data, frame, &n), Error::kOk);
    ASSERT_TRUE(Feed(*s, server_in_, Bytes(frame.begin(), frame.begin() + n), &at_server_));
    EXPECT_EQ(at_server_.request, h);
    EXPECT_EQ(at_server_.data, data);
  }
}

TEST_P(SessionTest, AnyChunkingOfTheWholeExchangeGivesTheSameResult) {
  for (size_t chunk : {size_t{1}, size_t{2}, size_t{7}, size_t{75}, size_t{77}, size_t{1000}}) {
    at_server_ = {};
    server_in_.clear();
    auto c = Client();
    auto s = Server();
    Bytes stream = HelloOf(*c);
    // The client can only seal after the server hello; do the handshake on
    // a twin first, then stream everything the client sends in chunks.
    Delivered twin_at;
    Bytes twin_in;
    ASSERT_TRUE(Feed(*s, server_in_, stream, &at_server_));
    const auto reply = s->PendingOutput();
    ASSERT_TRUE(Feed(*c, client_in_, Bytes(reply.begin(), reply.end()), &twin_at));
    Bytes rest;
    Bytes frame(kMaxFrameBytes);
    size_t n = 0;
    ASSERT_EQ(c->SealRequest(Domain("host", 9), TestPayload(5000), frame, &n), Error::kOk);
    rest.insert(rest.end(), frame.begin(), frame.begin() + n);
    for (int i = 0; i < 3; ++i) {
      const Bytes f = Sealed(*c, FrameType::kData, TestPayload(16384, static_cast<uint8_t>(i)));
      rest.insert(rest.end(), f.begin(), f.end());
    }
    for (size_t at = 0; at < rest.size(); at += chunk) {
      const size_t len = std::min(chunk, rest.size() - at);
      ASSERT_TRUE(Feed(*s, server_in_, Bytes(rest.begin() + at, rest.begin() + at + len),
                       &at_server_));
    }
    Bytes expected = TestPayload(5000);
    for (int i = 0; i < 3; ++i) {
      const Bytes p = TestPayload(16384, static_cast<uint8_t>(i));
      expected.insert(expected.end(), p.begin(), p.end());
    }
    EXPECT_EQ(at_server_.data, expected) << "chunk " << chunk;
  }
}

// --- The server's decision: every refusal is a fallback with every byte.

class FallbackTest : public SessionTest {
 protected:
  // A server session accepts `hello` (and is gone again: the filter keeps it).
  void ExpectAccepted(const Bytes& hello) {
    auto s = Server();
    Delivered at;
    Bytes in;
    ASSERT_TRUE(Feed(*s, in, hello, &at));
    ASSERT_EQ(at.events.back(), SessionEventKind::kHandshakeDone);
  }
  // Feeds bytes (in one piece or byte by byte) and expects a fallback with
  // exactly them and the given reason.
  void ExpectFallback(const Bytes& bytes, Error reason, bool byte_by_byte = false) {
    auto s = Server();
    Delivered at;
    Bytes in;
    if (byte_by_byte) {
      for (uint8_t b : bytes) {
        if (!Feed(*s, in, Bytes{b}, &at)) break;
      }
      // The rest of the bytes after the decision are the caller's: append.
      if (at.fallback.size() < bytes.size() && !at.fallback.empty()) {
        at.fallback.insert(at.fallback.end(), bytes.begin() + at.fallback.size(), bytes.end());
      }
    } else {
      Feed(*s, in, bytes, &at);
    }
    ASSERT_EQ(at.events.size(), 1u) << "exactly one event: the fallback";
    EXPECT_EQ(at.events[0], SessionEventKind::kFallback);
    EXPECT_EQ(at.fallback, bytes) << "the fallback must get every byte, exactly";
    EXPECT_EQ(at.fallback_reason, reason) << ErrorName(at.fallback_reason);
    EXPECT_TRUE(s->finished());
  }
};
INSTANTIATE_TEST_SUITE_P(
    ProfilesAndBackends, FallbackTest,
    ::testing::Values(Params{Profile::kV2, AeadBackend::kOpenssl},
                      Params{Profile::kV1Compat, AeadBackend::kSodium}),
    [](const auto& info) { return info.param.profile == Profile::kV2 ? "v2" : "v1"; });

TEST_P(FallbackTest, AnHttpRequestReachesTheFallbackWhole) {
  const Bytes http = Text(
      "GET /index.html HTTP/1.1\r\nHost: example.com\r\nUser-Agent: curl/8.0\r\nAccept: */*\r\n"
      "Accept-Language: en\r\n\r\n");
  ASSERT_GT(http.size(), 76u);
  const Error reason = GetParam().profile == Profile::kV2 ? Error::kAuthFailed : Error::kBadMagic;
  ExpectFallback(http, reason);
  ExpectFallback(http, reason, /*byte_by_byte=*/true);
}

TEST_P(FallbackTest, AShortCompleteHttpRequestGoesAtOnceWithoutWaiting) {
  const Bytes http = Text("GET / HTTP/1.0\r\n\r\n");
  ExpectFallback(http, GetParam().profile == Profile::kV2 ? Error::kTooShort : Error::kBadMagic);
}

TEST_P(FallbackTest, ATlsClientHelloReachesTheFallbackWhole) {
  Bytes tls = {0x16, 0x03, 0x01, 0x00, 0xF0, 0x01, 0x00, 0x00, 0xEC, 0x03, 0x03};
  tls.resize(5 + 0xF0, 0x42);
  ExpectFallback(tls, GetParam().profile == Profile::kV2 ? Error::kAuthFailed : Error::kBadMagic);
}

TEST_P(FallbackTest, SeventySixRandomBytesFallBack) {
  Bytes random(76);
  SeededRandom(9).Fill(random);
  random[0] = 0x00;  // not the magic
  ExpectFallback(random, GetParam().profile == Profile::kV2 ? Error::kAuthFailed : Error::kBadMagic);
}

TEST_P(FallbackTest, SeventyFiveBytesThenSilenceFallBackWhenTheWaitEnds) {
  auto c = Client();
  Bytes hello = HelloOf(*c);
  hello.pop_back();
  auto s = Server();
  Delivered at;
  Bytes in;
  ASSERT_TRUE(Feed(*s, in, hello, &at));
  EXPECT_TRUE(at.events.empty());
  SessionEvent e;
  clock_.Advance(context_->config().hello_wait_ms - 1);
  ASSERT_EQ(s->OnTimer(&e), Error::kOk);
  EXPECT_EQ(e.kind, SessionEventKind::kNone) << "not yet";
  clock_.Advance(1);
  ASSERT_EQ(s->OnTimer(&e), Error::kOk);
  ASSERT_EQ(e.kind, SessionEventKind::kFallback);
  EXPECT_EQ(e.reason, Error::kHandshakeTimeout);
  EXPECT_EQ(Bytes(e.fallback_bytes.begin(), e.fallback_bytes.end()), hello);
  EXPECT_EQ(s->OnTimer(&e), Error::kInvalidArgument) << "finished";
}

TEST_P(FallbackTest, SeventyFiveBytesThenEndOfStreamFallBackAtOnceWithEveryByte) {
  auto c = Client();
  Bytes hello = HelloOf(*c);
  hello.pop_back();
  auto s = Server();
  Delivered at;
  Bytes in;
  ASSERT_TRUE(Feed(*s, in, hello, &at));
  SessionEvent e;
  ASSERT_EQ(s->OnEndOfInput(&e), Error::kOk);
  ASSERT_EQ(e.kind, SessionEventKind::kFallback);
  EXPECT_EQ(e.reason, Error::kTooShort);
  EXPECT_EQ(Bytes(e.fallback_bytes.begin(), e.fallback_bytes.end()), hello);
  EXPECT_EQ(s->OnEndOfInput(&e), Error::kInvalidArgument) << "finished";
}

TEST_P(SessionTest, EndOfStreamAfterTheHandshakeIsNoFallback) {
  auto c = Client();
  auto s = Server();
  Delivered at;
  Bytes in;
  ASSERT_TRUE(Feed(*s, in, HelloOf(*c), &at));
  SessionEvent e;
  ASSERT_EQ(s->OnEndOfInput(&e), Error::kOk);
  EXPECT_EQ(e.kind, SessionEventKind::kNone);
}

TEST_P(FallbackTest, AnUnknownUserFallsBack) {
  auto c = Client(TestUser(9));
  const Bytes hello = HelloOf(*c);
  ExpectFallback(hello, GetParam().profile == Profile::kV2 ? Error::kAuthFailed
                                                           : Error::kUnknownUser);
}

TEST_P(FallbackTest, ATimestampOutsideTheWindowFallsBackAndTheEdgesAreInside) {
  for (int64_t skew : {-120, 120}) {
    auto c = Client();
    const Bytes hello = HelloOf(*c);
    clock_.SetUnix(1700000000 - skew);
    auto s = Server();
    Delivered at;
    Bytes in;
    ASSERT_TRUE(Feed(*s, in, hello, &at)) << "skew " << skew << " is inside the window";
    clock_.SetUnix(1700000000);
  }
  for (int64_t skew : {-121, 121}) {
    auto c = Client();
    const Bytes hello = HelloOf(*c);
    clock_.SetUnix(1700000000 - skew);
    ExpectFallback(hello, Error::kTimestampOutOfWindow);
    clock_.SetUnix(1700000000);
  }
}

TEST_P(FallbackTest, AReplayedHelloFallsBackEvenLater) {
  auto c = Client();
  const Bytes hello = HelloOf(*c);
  ExpectAccepted(hello);
  clock_.Advance(60000);  // a minute later, still inside the window
  ExpectFallback(hello, Error::kReplayedHello);
}

// A reload replaces the context with another set of users: hellos the old
// one accepted stay refused (the replay filter carries over), a removed
// user is refused, an added one accepted.
TEST_P(FallbackTest, AReplacingContextKeepsTheReplayFilterAndTheNewUsers) {
  auto c = Client(TestUser(2));
  const Bytes hello = HelloOf(*c);
  ExpectAccepted(hello);

  ServerConfig config = context_->config();
  config.users = {TestUser(2), TestUser(4)};
  std::unique_ptr<ServerContext> next;
  ASSERT_EQ(ServerContext::CreateReplacing(config, *context_, &next), Error::kOk);
  context_ = std::move(next);
  ExpectFallback(hello, Error::kReplayedHello);
  auto removed = Client(TestUser(1));
  ExpectFallback(HelloOf(*removed), GetParam().profile == Profile::kV2 ? Error::kAuthFailed
                                                                      : Error::kUnknownUser);
  auto added = Client(TestUser(4));
  auto s = Server();
  Delivered added_at;
  Bytes added_in;
  ASSERT_TRUE(Feed(*s, added_in, HelloOf(*added), &added_at));
  EXPECT_EQ(added_at.events.back(), SessionEventKind::kHandshakeDone);

  config.timestamp_window_seconds += 1;
  EXPECT_EQ(ServerContext::CreateReplacing(config, *context_, &next), Error::kInvalidArgument)
      << "the filter's window cannot change under it";
}

// Counts the bytes drawn: drawing the server's key pair is where the
// X25519 work of accepting a hello starts.
class CountingRandom final : public RandomSource {
 public:
  void Fill(std::span<uint8_t> out) override {
    drawn += out.size();
    inner_.Fill(out);
  }
  size_t drawn = 0;

 private:
  SeededRandom inner_{7};
};

TEST_P(FallbackTest, AReplayIsRefusedBeforeAnyKeyIsDrawn) {
  auto c = Client();
  const Bytes hello = HelloOf(*c);
  ExpectAccepted(hello);

  CountingRandom counting;
  ServerSession replay(*context_, clock_, counting);
  Delivered replay_at;
  Bytes replay_in;
  Feed(replay, replay_in, hello, &replay_at);
  ASSERT_EQ(replay_at.events.size(), 1u);
  EXPECT_EQ(replay_at.fallback_reason, Error::kReplayedHello);
  EXPECT_EQ(counting.drawn, 0u) << "no key drawn, no X25519: it costs what a random hello does";
}

// Several servers sharing one replay filter (SPEC 12.4): a hello that
// passed every local check waits for the shared store's verdict, and only
// a fresh one costs key work.
class SharedReplayTest : public FallbackTest {
 protected:
  void SetUp() override {
    ServerConfig config;
    config.profiles = {GetParam().profile};
    config.users = {TestUser(1), TestUser(2), TestUser(3)};
    config.backend = GetParam().backend;
    config.shared_replay_check = true;
    ASSERT_EQ(ServerContext::Create(config, &context_), Error::kOk);
  }
  // The client's ephemeral key, where each profile's hello carries it.
  Bytes EphemeralKeyOf(const Bytes& hello) {
    if (GetParam().profile == Profile::kV2) return Bytes(hello.begin(), hello.begin() + kPublicKeyBytes);
    ClientHello h;
    EXPECT_EQ(DecodeClientHello(hello, &h), Error::kOk);
    return Bytes(h.public_key.begin(), h.public_key.end());
  }
  // Feeds a whole hello; the one event it reports.
  SessionEvent FeedHello(ServerSession& s, Bytes& hello) {
    size_t used = 0;
    SessionEvent e;
    EXPECT_EQ(s.Receive(hello, &used, &e), Error::kOk);
    EXPECT_EQ(used, hello.size());
    return e;
  }
};
INSTANTIATE_TEST_SUITE_P(
    ProfilesAndBackends, SharedReplayTest,
    ::testing::Values(Params{Profile::kV2, AeadBackend::kOpenssl},
                      Params{Profile::kV1Compat, AeadBackend::kSodium}),
    [](const auto& info) { return info.param.profile == Profile::kV2 ? "v2" : "v1"; });

TEST_P(SharedReplayTest, AFreshHelloAsksTheStoreBeforeAnyKeyIsDrawn) {
  auto c = Client();
  Bytes hello = HelloOf(*c);
  CountingRandom counting;
  ServerSession s(*context_, clock_, counting);
  const SessionEvent e = FeedHello(s, hello);
  ASSERT_EQ(e.kind, SessionEventKind::kReplayQuery);
  EXPECT_EQ(Bytes(e.replay_key.begin(), e.replay_key.end()), EphemeralKeyOf(hello));
  EXPECT_EQ(e.replay_ttl_ms, (120 + 1) * 1000) << "a hello stamped now can be replayed for the window";
  EXPECT_EQ(counting.drawn, 0u);
  EXPECT_TRUE(s.awaiting_replay_verdict());

  size_t used = 7;
  SessionEvent more;
  more.kind = SessionEventKind::kData;
  Bytes next = Text("the request frame, early");
  EXPECT_EQ(s.Receive(next, &used, &more), Error::kInvalidArgument) << "nothing is read while it waits";
  EXPECT_EQ(used, 7u);
  EXPECT_EQ(more.kind, SessionEventKind::kData) << "and nothing is written";
  clock_.Advance(20000);
  EXPECT_EQ(s.OnTimer(&more), Error::kOk);
  EXPECT_EQ(more.kind, SessionEventKind::kNone) << "the caller bounds the wait, not the hello wait";

  SessionEvent done;
  ASSERT_EQ(s.OnReplayVerdict(ReplayVerdict::kFresh, &done), Error::kOk);
  ASSERT_EQ(done.kind, SessionEventKind::kHandshakeDone);
  EXPECT_EQ(done.user_index, 1u);
  EXPECT_GT(counting.drawn, 0u);
  const auto reply = s.PendingOutput();
  Delivered at_client;
  Bytes client_in;
  ASSERT_TRUE(Feed(*c, client_in, Bytes(reply.begin(), reply.end()), &at_client));
  EXPECT_EQ(at_client.events.back(), SessionEventKind::kHandshakeDone) << "the client accepts the server hello";
  EXPECT_EQ(s.OnReplayVerdict(ReplayVerdict::kFresh, &done), Error::kInvalidArgument) << "no query pending";
}

TEST_P(SharedReplayTest, AHelloTheStoreHasSeenFallsBackWithEveryByteAndNoKeyWork) {
  for (const auto& [verdict, reason] : {std::pair{ReplayVerdict::kSeen, Error::kReplayedHello},
                                        std::pair{ReplayVerdict::kUnavailable, Error::kReplayStoreUnavailable}}) {
    auto c = Client();
    Bytes hello = HelloOf(*c);
    CountingRandom counting;
    ServerSession s(*context_, clock_, counting);
    ASSERT_EQ(FeedHello(s, hello).kind, SessionEventKind::kReplayQuery);
    SessionEvent e;
    ASSERT_EQ(s.OnReplayVerdict(verdict, &e), Error::kOk);
    ASSERT_EQ(e.kind, SessionEventKind::kFallback);
    EXPECT_EQ(e.reason, reason) << ErrorName(e.reason);
    EXPECT_EQ(Bytes(e.fallback_bytes.begin(), e.fallback_bytes.end()), hello);
    EXPECT_EQ(counting.drawn, 0u);
    EXPECT_TRUE(s.finished());
  }
}

TEST_P(SharedReplayTest, AReplayToTheSameServerNeverAsksTheStore) {
  auto c = Client();
  Bytes hello = HelloOf(*c);
  {
    ServerSession first(*context_, clock_, server_random_);
    ASSERT_EQ(FeedHello(first, hello).kind, SessionEventKind::kReplayQuery);
  }
  ServerSession again(*context_, clock_, server_random_);
  const SessionEvent e = FeedHello(again, hello);
  EXPECT_EQ(e.kind, SessionEventKind::kFallback) << "the local filter answers first";
  EXPECT_EQ(e.reason, Error::kReplayedHello);
}

TEST_P(SharedReplayTest, TheStoreRemembersAKeyUntilItsHelloLeavesTheWindow) {
  auto c = Client();
  Bytes hello = HelloOf(*c);
  clock_.SetUnix(clock_.UnixSeconds() + 100);  // stamped 100 s ago: 20 s of window left
  ServerSession s(*context_, clock_, server_random_);
  const SessionEvent e = FeedHello(s, hello);
  ASSERT_EQ(e.kind, SessionEventKind::kReplayQuery);
  EXPECT_EQ(e.replay_ttl_ms, (20 + 1) * 1000);
}

TEST_P(FallbackTest, ALowOrderClientKeyFallsBack) {
  if (GetParam().profile == Profile::kV1Compat) {
    ClientHello h;
    h.public_key.fill(0);  // the zero point
    h.user_id = TestUser(1);
    h.timestamp = clock_.UnixSeconds();
    Bytes hello(kClientHelloBytes);
    ASSERT_EQ(EncodeClientHello(h, hello), Error::kOk);
    ExpectFallback(hello, Error::kLowOrderPoint);
    return;
  }
  // v2: a message 1 made by a client whose ephemeral key is the zero
  // point (a hand-made HandshakeState: the session never draws such a key).
  noise::Psk psk;
  ASSERT_EQ(DeriveUserPskV2(TestUser(1), &psk), Error::kOk);
  noise::HandshakeState hs;
  ASSERT_EQ(InitHandshakeV2(true, psk, &hs), Error::kOk);
  KeyPair zero;
  zero.public_key.fill(0);
  hs.SetEphemeral(zero);
  HelloPayloadV2 fields;
  fields.timestamp = clock_.UnixSeconds();
  std::array<uint8_t, kHelloPayloadBytesV2> payload;
  EncodeHelloPayloadV2(fields, payload);
  Bytes hello(76);
  size_t n = 0;
  ASSERT_EQ(hs.WriteMessage(payload, hello, &n), Error::kOk);
  ExpectFallback(hello, Error::kLowOrderPoint);
}

TEST_P(FallbackTest, V2NonZeroReservedBytesFallBack) {
  if (GetParam().profile != Profile::kV2) GTEST_SKIP() << "v2 only";
  noise::Psk psk;
  ASSERT_EQ(DeriveUserPskV2(TestUser(1), &psk), Error::kOk);
  noise::HandshakeState hs;
  ASSERT_EQ(InitHandshakeV2(true, psk, &hs), Error::kOk);
  KeyPair e;
  ASSERT_EQ(GenerateKeyPair(&e), Error::kOk);
  hs.SetEphemeral(e);
  HelloPayloadV2 fields;
  fields.timestamp = clock_.UnixSeconds();
  fields.reserved[3] = 1;
  std::array<uint8_t, kHelloPayloadBytesV2> payload;
  EncodeHelloPayloadV2(fields, payload);
  Bytes hello(76);
  size_t n = 0;
  ASSERT_EQ(hs.WriteMessage(payload, hello, &n), Error::kOk);
  ExpectFallback(hello, Error::kBadReserved);
}

TEST_P(FallbackTest, AHelloOfAProfileTheServerDoesNotAcceptFallsBack) {
  // A v2-only server (the default) given a v1 hello, and the reverse.
  const Profile other =
      GetParam().profile == Profile::kV2 ? Profile::kV1Compat : Profile::kV2;
  auto c = Client(TestUser(1), other);
  ExpectFallback(HelloOf(*c),
                 GetParam().profile == Profile::kV2 ? Error::kAuthFailed : Error::kBadMagic);
}

TEST_P(SessionTest, AServerAcceptingBothProfilesTellsThemApart) {
  MakeServer({Profile::kV2, Profile::kV1Compat});
  for (Profile p : {Profile::kV2, Profile::kV1Compat}) {
    auto c = Client(TestUser(3), p);
    auto s = Server();
    Delivered at;
    Bytes in;
    ASSERT_TRUE(Feed(*s, in, HelloOf(*c), &at));
    ASSERT_EQ(at.events.back(), SessionEventKind::kHandshakeDone);
    EXPECT_EQ(s->profile(), p);
    EXPECT_EQ(s->user_index(), 2u);
  }
}

TEST_P(SessionTest, AClientRefusesATamperedServerHello) {
  auto c = Client();
  auto s = Server();
  Delivered at;
  Bytes in;
  ASSERT_TRUE(Feed(*s, in, HelloOf(*c), &at));
  auto reply = s->PendingOutput();
  Bytes r(reply.begin(), reply.end());
  r[r.size() - 1] ^= 1;
  Delivered at_c;
  Bytes in_c;
  Feed(*c, in_c, r, &at_c);
  if (GetParam().profile == Profile::kV2) {
    EXPECT_EQ(at_c.error, Error::kAuthFailed) << "v2's server hello is authenticated";
  } else {
    // v1's server hello has no tag: the tampered timestamp goes unnoticed;
    // a tampered key would fail at the first frame.
    EXPECT_EQ(at_c.error, Error::kOk);
  }
}

// SPEC.md section 4: a secret is wiped as soon as it is no longer needed.
// The client's ephemeral private key (and, in v2, the Noise state with the
// PSK and chaining key) is needed from Start until the server hello is
// read, not for the whole tunnel.
TEST_P(SessionTest, TheClientWipesItsHandshakeSecretsOnceTheServerHelloIsRead) {
  auto c = Client();
  EXPECT_TRUE(c->holds_handshake_secrets());
  auto s = Server();
  Handshake(*c, *s);
  EXPECT_TRUE(c->established());
  EXPECT_FALSE(c->holds_handshake_secrets());
}

TEST_P(SessionTest, TheClientWipesItsHandshakeSecretsWhenTheServerHelloFails) {
  auto c = Client();
  auto s = Server();
  Delivered at;
  Bytes in;
  ASSERT_TRUE(Feed(*s, in, HelloOf(*c), &at));
  const auto reply = s->PendingOutput();
  Bytes r(reply.begin(), reply.end());
  r[r.size() - 1] ^= 1;
  Delivered at_c;
  Bytes in_c;
  Feed(*c, in_c, r, &at_c);
  EXPECT_FALSE(c->holds_handshake_secrets());
}

TEST(WithinWindow, ExtremeValuesNeitherOverflowNorPass) {
  EXPECT_TRUE(WithinWindow(INT64_MAX, INT64_MAX - 120, 120));
  EXPECT_FALSE(WithinWindow(INT64_MAX, INT64_MAX - 121, 120));
  EXPECT_FALSE(WithinWindow(INT64_MIN, 0, 120));
  EXPECT_FALSE(WithinWindow(INT64_MAX, INT64_MIN, 120));
  EXPECT_TRUE(WithinWindow(INT64_MIN, INT64_MIN + 5, 120));
  EXPECT_TRUE(WithinWindow(1000, 880, 120));
  EXPECT_FALSE(WithinWindow(1000, 879, 120));
}

}  // namespace
}  // namespace reflex
