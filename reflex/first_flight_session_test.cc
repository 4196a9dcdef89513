// The sessions with a shaped first flight (SPEC.md 11.8): a client and a
// server configured with the same shape handshake; any other first flight
// reaches the fallback whole, decided as soon as it can be.
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "reflex/client_session.h"
#include "reflex/hello_v2.h"
#include "reflex/server_session.h"
#include "reflex/testing/session_test_util.h"

namespace reflex {
namespace {

using testing::Bytes;
using testing::Delivered;
using testing::FakeClock;
using testing::Feed;
using testing::SeededRandom;
using testing::TestUser;

const FirstFlight kRaw{};
const FirstFlight kHttp{FirstFlightShape::kHttp, "www.example.com", "/static/"};
const FirstFlight kTls{FirstFlightShape::kTls, "www.example.com", "/"};

class ShapedSessions : public ::testing::Test {
 protected:
  std::unique_ptr<ServerContext> Context(const FirstFlight& shape,
                                         std::vector<Profile> profiles = {Profile::kV2}) {
    ServerConfig config;
    config.profiles = std::move(profiles);
    config.users = {TestUser(1), TestUser(2)};
    config.first_flight = shape;
    std::unique_ptr<ServerContext> context;
    EXPECT_EQ(ServerContext::Create(config, &context), Error::kOk);
    return context;
  }
  // A client's first flight in `shape`.
  Bytes FirstFlightOf(const FirstFlight& shape, Profile profile = Profile::kV2) {
    ClientConfig config;
    config.profile = profile;
    config.user = TestUser(2);
    config.first_flight = shape;
    ClientSession client(config, clock_, client_random_);
    EXPECT_EQ(client.Start(), Error::kOk);
    const auto out = client.PendingOutput();
    return Bytes(out.begin(), out.end());
  }
  // What a server of `context` does with `sent` as one first read.
  Delivered Serve(const ServerContext& context, const Bytes& sent) {
    ServerSession server(context, clock_, server_random_);
    Bytes buffer;
    Delivered got;
    if (Feed(server, buffer, sent, &got) && got.events.empty()) {
      SessionEvent e;
      EXPECT_EQ(server.OnFirstFlightEnd(&e), Error::kOk);  // the first read ended there
      if (e.kind == SessionEventKind::kFallback) {
        got.events.push_back(e.kind);
        got.fallback.assign(e.fallback_bytes.begin(), e.fallback_bytes.end());
        got.fallback.insert(got.fallback.end(), buffer.begin(), buffer.end());
        got.fallback_reason = e.reason;
      }
    }
    return got;
  }

  FakeClock clock_{1700000000, 1000};
  SeededRandom client_random_{1};
  SeededRandom server_random_{2};
};

TEST_F(ShapedSessions, AClientAndAServerOfTheSameShapeHandshake) {
  for (const FirstFlight& shape : {kRaw, kHttp, kTls}) {
    SCOPED_TRACE(FirstFlightShapeName(shape.shape));
    const auto context = Context(shape);
    const Bytes flight = FirstFlightOf(shape);
    EXPECT_EQ(flight.size(), FirstFlightBytes(shape));
    const Delivered got = Serve(*context, flight);
    ASSERT_EQ(got.events, std::vector<SessionEventKind>{SessionEventKind::kHandshakeDone});
  }
}

TEST_F(ShapedSessions, AnotherShapeReachesTheFallbackWholeAndIsDecidedAtTheFirstRead) {
  for (const FirstFlight& server : {kRaw, kHttp, kTls}) {
    const auto context = Context(server);
    for (const FirstFlight& client : {kRaw, kHttp, kTls}) {
      if (client.shape == server.shape) continue;
      SCOPED_TRACE(std::string(FirstFlightShapeName(client.shape)) + " to a " +
                   std::string(FirstFlightShapeName(server.shape)) + " server");
      const Bytes flight = FirstFlightOf(client);
      const Delivered got = Serve(*context, flight);
      ASSERT_EQ(got.events, std::vector<SessionEventKind>{SessionEventKind::kFallback});
      EXPECT_EQ(got.fallback, flight) << "every byte, in order";
      // Shorter than the server's shape: the first read ended short; longer
      // (or as long): not the shape.
      EXPECT_EQ(got.fallback_reason, flight.size() < FirstFlightBytes(server) ? Error::kTooShort
                                     : server.shape == FirstFlightShape::kRaw ? Error::kAuthFailed
                                                                              : Error::kBadShape);
    }
  }
}

TEST_F(ShapedSessions, AShapedHelloWithAnyByteOfTheShapeChangedIsBadShape) {
  for (const FirstFlight& shape : {kHttp, kTls}) {
    SCOPED_TRACE(FirstFlightShapeName(shape.shape));
    const auto context = Context(shape);
    Bytes flight = FirstFlightOf(shape);
    flight[2] ^= 0x20;  // "GeT", or the record's version
    const Delivered got = Serve(*context, flight);
    ASSERT_EQ(got.events, std::vector<SessionEventKind>{SessionEventKind::kFallback});
    EXPECT_EQ(got.fallback_reason, Error::kBadShape);
    EXPECT_EQ(got.fallback, flight);
  }
}

// The tls filler is the user's HMAC of message 1: altered, the flight is
// refused like any other altered byte (a TLS server would fail such a
// ClientHello too), after the trial found the user.
TEST_F(ShapedSessions, ATlsFlightWithItsFillerAlteredIsBadShape) {
  const auto context = Context(kTls);
  for (const size_t at : {size_t{56}, size_t{60}, size_t{75}}) {
    Bytes flight = FirstFlightOf(kTls);
    flight[at] ^= 0x01;
    const Delivered got = Serve(*context, flight);
    ASSERT_EQ(got.events, std::vector<SessionEventKind>{SessionEventKind::kFallback}) << at;
    EXPECT_EQ(got.fallback_reason, Error::kBadShape) << at;
    EXPECT_EQ(got.fallback, flight);
  }
}

// The filler is judged after the trial: a flight no user made is
// auth_failed whatever its filler; a filler made with another user's key
// is bad_shape.
TEST_F(ShapedSessions, TheFillerIsJudgedAfterTheTrialAndOnlyItsUsersKeyMakesIt) {
  const auto context = Context(kTls);
  ClientConfig stranger;
  stranger.user = TestUser(9);
  stranger.first_flight = kTls;
  ClientSession client(stranger, clock_, client_random_);
  ASSERT_EQ(client.Start(), Error::kOk);
  Bytes unknown(client.PendingOutput().begin(), client.PendingOutput().end());
  unknown[60] ^= 0x01;
  EXPECT_EQ(Serve(*context, unknown).fallback_reason, Error::kAuthFailed);

  // User 2's flight, its filler replaced by user 1's.
  Bytes flight = FirstFlightOf(kTls);
  std::array<uint8_t, kClientHelloBytesV2> message1{};
  ASSERT_EQ(DecodeFirstFlight(kTls, flight, message1), Error::kOk);
  noise::Psk psk;
  Secret<kTlsFillerKeyBytes> key;
  ASSERT_EQ(DeriveUserPskV2(TestUser(1), &psk), Error::kOk);
  ASSERT_EQ(DeriveTlsFillerKey(psk.span(), key.span()), Error::kOk);
  Bytes other(flight.size());
  ASSERT_EQ(EncodeFirstFlight(kTls, message1, TlsFillerOf(key.span(), message1), other), Error::kOk);
  ASSERT_NE(other, flight);
  EXPECT_EQ(Serve(*context, other).fallback_reason, Error::kBadShape);
}

TEST_F(ShapedSessions, AnHttpRequestAsLongAsTheShapeIsBadShapeAndAShorterOneGoesAtOnce) {
  const auto context = Context(kHttp);
  std::string request = "GET /index.html HTTP/1.1\r\nHost: www.example.com\r\nUser-Agent: x\r\n";
  request += std::string(FirstFlightBytes(kHttp) - request.size() - 2, 'a') + "\r\n";
  ASSERT_EQ(request.size(), FirstFlightBytes(kHttp));
  Delivered got = Serve(*context, Bytes(request.begin(), request.end()));
  EXPECT_EQ(got.fallback_reason, Error::kBadShape);
  EXPECT_EQ(got.fallback, Bytes(request.begin(), request.end()));
  const std::string whole = "GET / HTTP/1.1\r\nHost: www.example.com\r\n\r\n";
  ServerSession server(*context, clock_, server_random_);
  Bytes buffer;
  got = {};
  EXPECT_FALSE(Feed(server, buffer, Bytes(whole.begin(), whole.end()), &got)) << "decided at once";
  EXPECT_EQ(got.fallback_reason, Error::kTooShort);
}

// The v1 hello stays as the Go original sends it: a server that accepts
// v1-compat and a shaped v2 takes the magic's 76 bytes as before.
TEST_F(ShapedSessions, AV1HelloIsStillDecidedAtSeventySixBytesBesideAShapedV2) {
  for (const FirstFlight& shape : {kHttp, kTls}) {
    const auto context = Context(shape, {Profile::kV1Compat, Profile::kV2});
    ASSERT_EQ(Serve(*context, FirstFlightOf(shape, Profile::kV1Compat)).events,
              std::vector<SessionEventKind>{SessionEventKind::kHandshakeDone});
    ASSERT_EQ(Serve(*context, FirstFlightOf(shape)).events,
              std::vector<SessionEventKind>{SessionEventKind::kHandshakeDone});
  }
}

TEST_F(ShapedSessions, AServerWithAnInvalidShapeIsRefused) {
  ServerConfig config;
  config.users = {TestUser(1)};
  config.first_flight = {FirstFlightShape::kHttp, "bad host", "/"};
  std::unique_ptr<ServerContext> context;
  EXPECT_EQ(ServerContext::Create(config, &context), Error::kInvalidArgument);
  ClientConfig client_config;
  client_config.first_flight = config.first_flight;
  ClientSession client(client_config, clock_, client_random_);
  EXPECT_EQ(client.Start(), Error::kInvalidArgument);
}

}  // namespace
}  // namespace reflex
