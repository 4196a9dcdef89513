// UDP end to end on loopback (SPEC.md 15): an application's SOCKS5 UDP
// ASSOCIATE on `reflex client`, through `reflex server`, to UDP echoes and
// a DNS server; then faults. Every wait is bounded; every process is killed
// when the test ends.
#include <signal.h>

#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <memory>
#include <string>

#include "proxy/e2e/reflex_process.h"
#include "proxy/e2e/test_dns_server.h"
#include "proxy/e2e/test_servers.h"
#include "proxy/probe/blocking_udp.h"
#include "reflex/crypto_init.h"
#include "reflex/datagram.h"

namespace reflex::proxy::e2e {
namespace {

using namespace std::chrono_literals;
using probe::Bytes;
using probe::Datagram;
using probe::UdpEcho;

constexpr auto kWait = 5s;

Bytes Pattern(size_t n, uint32_t seed) {
  Bytes b(n);
  for (size_t i = 0; i < n; ++i) b[i] = static_cast<uint8_t>(seed * 7 + i * 131 + (i >> 8));
  return b;
}

// An application's association through the client's SOCKS5 port.
struct Association : probe::Socks5UdpAssociation {
  explicit Association(uint16_t socks_port) : Socks5UdpAssociation(HostPort{"127.0.0.1", socks_port}) {}
  std::optional<Datagram> Receive(std::chrono::milliseconds timeout = kWait) {
    return Socks5UdpAssociation::Receive(timeout);
  }
};

class Udp : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    ASSERT_EQ(InitCrypto(), Error::kOk);
    http_ = new HttpFileServer;  // the fallback
    server_ = ReflexProcess::Server("udp-server", http_->port()).release();
    ASSERT_TRUE(server_->ok()) << server_->child().ReadStderr();
    client_ = ReflexProcess::Client("udp-client", server_->port()).release();
    ASSERT_TRUE(client_->ok()) << client_->child().ReadStderr();
  }
  static void TearDownTestSuite() {
    delete client_;
    delete server_;
    delete http_;
  }
  static void ExpectIdle(ReflexProcess* p) {
    const nlohmann::json s = p->WaitIdle(10s);
    EXPECT_TRUE(IsIdle(s)) << s.dump();
    EXPECT_EQ(s["udp"]["open"], 0) << s.dump();
  }

  static HttpFileServer* http_;
  static ReflexProcess* server_;
  static ReflexProcess* client_;
};

HttpFileServer* Udp::http_;
ReflexProcess* Udp::server_;
ReflexProcess* Udp::client_;

TEST_F(Udp, AnEchoAnswersDatagramsOfEverySizeByteExactFromItsOwnAddress) {
  UdpEcho echo;
  ASSERT_TRUE(echo.ok());
  {
    Association a(client_->port());
    ASSERT_EQ(a.code(), 0);
    EXPECT_EQ(a.relay().host, "127.0.0.1") << "the interface the application reached the client at";
    const HostPort to{"127.0.0.1", echo.port()};
    for (const size_t size : {size_t{0}, size_t{1}, size_t{512}, size_t{1452}, kMaxIpv4DatagramBytes}) {
      SCOPED_TRACE(size);
      const Bytes data = Pattern(size, static_cast<uint32_t>(size));
      ASSERT_TRUE(a.Send(to, data));
      const std::optional<Datagram> back = a.Receive();
      ASSERT_TRUE(back.has_value()) << "no answer";
      EXPECT_EQ(back->peer.host, "127.0.0.1");
      EXPECT_EQ(back->peer.port, echo.port());
      EXPECT_EQ(back->bytes, data);
    }
    // One byte more than a frame holds is dropped at the client, never split.
    ASSERT_TRUE(a.Send(to, Pattern(kMaxIpv4DatagramBytes + 1, 9)));
    EXPECT_FALSE(a.Receive(300ms).has_value());
  }
  ExpectIdle(client_);
  ExpectIdle(server_);
}

TEST_F(Udp, OneAssociationTalksToSeveralDestinationsAtOnce) {
  UdpEcho e1, e2, e3;
  Association a(client_->port());
  ASSERT_EQ(a.code(), 0);
  std::map<uint16_t, Bytes> sent;
  for (UdpEcho* e : {&e1, &e2, &e3}) {
    sent[e->port()] = Pattern(100 + e->port() % 50, e->port());
    ASSERT_TRUE(a.Send({"127.0.0.1", e->port()}, sent[e->port()]));
  }
  std::map<uint16_t, Bytes> got;
  for (int i = 0; i < 3; ++i) {
    const std::optional<Datagram> d = a.Receive();
    ASSERT_TRUE(d.has_value());
    got[d->peer.port] = d->bytes;
  }
  EXPECT_EQ(got, sent) << "each answer from the destination it was sent to";
}

// 10,000 datagrams, at most 64 unanswered at a time; loss is counted (none
// is expected on loopback).
TEST_F(Udp, TenThousandDatagramsComeBackInFull) {
  UdpEcho echo;
  Association a(client_->port());
  ASSERT_EQ(a.code(), 0);
  constexpr uint32_t kCount = 10000;
  constexpr uint32_t kWindow = 64;
  std::vector<bool> seen(kCount, false);
  uint32_t next = 0, answered = 0, lost = 0;
  const auto give_up = std::chrono::steady_clock::now() + 120s;
  while ((next < kCount || answered + lost < kCount) && std::chrono::steady_clock::now() < give_up) {
    while (next < kCount && next - answered - lost < kWindow) {
      Bytes data = Pattern(200, next);
      data[0] = static_cast<uint8_t>(next >> 24), data[1] = static_cast<uint8_t>(next >> 16);
      data[2] = static_cast<uint8_t>(next >> 8), data[3] = static_cast<uint8_t>(next);
      ASSERT_TRUE(a.Send({"127.0.0.1", echo.port()}, data));
      ++next;
    }
    const std::optional<Datagram> d = a.Receive(1s);
    if (!d) {  // the window's missing answers are lost: the count ends here
      lost = next - answered;
      break;
    }
    ASSERT_GE(d->bytes.size(), 4u);
    const uint32_t n = static_cast<uint32_t>(d->bytes[0] << 24 | d->bytes[1] << 16 | d->bytes[2] << 8 | d->bytes[3]);
    ASSERT_LT(n, kCount);
    EXPECT_FALSE(seen[n]) << "datagram " << n << " twice";
    seen[n] = true;
    Bytes expected = Pattern(200, n);
    std::copy_n(d->bytes.begin(), 4, expected.begin());
    EXPECT_EQ(d->bytes, expected);
    ++answered;
  }
  RecordProperty("datagrams_lost", static_cast<int>(lost));
  EXPECT_EQ(answered, kCount) << lost << " lost";
  EXPECT_EQ(lost, 0u);
}

// A DNS query (RFC 1035) for n7.fast.test, through the tunnel to a DNS
// server on loopback: answered with its A record, 192.0.2.7.
TEST_F(Udp, ADnsQueryThroughTheTunnelIsAnsweredCorrectly) {
  FakeDnsServer dns;
  Association a(client_->port());
  ASSERT_EQ(a.code(), 0);
  Bytes query = {0x4a, 0x21, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0};
  for (const std::string label : {"n7", "fast", "test"}) {
    query.push_back(static_cast<uint8_t>(label.size()));
    query.insert(query.end(), label.begin(), label.end());
  }
  query.insert(query.end(), {0, 0, 1, 0, 1});  // the root, type A, class IN
  ASSERT_TRUE(a.Send({"127.0.0.1", dns.port()}, query));
  const std::optional<Datagram> answer = a.Receive();
  ASSERT_TRUE(answer.has_value());
  const Bytes& r = answer->bytes;
  EXPECT_EQ(answer->peer.port, dns.port());
  ASSERT_GE(r.size(), query.size() + 16);
  EXPECT_EQ(r[0], 0x4a);
  EXPECT_EQ(r[1], 0x21) << "the query's id";
  EXPECT_EQ(r[2] & 0x80, 0x80) << "a response";
  EXPECT_EQ(r[3] & 0x0f, 0) << "NOERROR";
  EXPECT_EQ((r[6] << 8) | r[7], 1) << "one answer";
  EXPECT_EQ(Bytes(r.end() - 4, r.end()), (Bytes{192, 0, 2, 7}));
  EXPECT_EQ(dns.queries(), 1);
}

TEST_F(Udp, UnreachableAndForbiddenDestinationsDropDatagramsAndTheAssociationGoesOn) {
  UdpEcho echo;
  const uint64_t dropped_before = server_->Stats()["udp"]["dropped"];
  {
    Association a(client_->port());
    ASSERT_EQ(a.code(), 0);
    ASSERT_TRUE(a.Send({"127.0.0.1", UnusedPort()}, Pattern(10, 1)));  // nobody there
    ASSERT_TRUE(a.Send({"10.255.255.1", 9}, Pattern(10, 2)));  // the egress policy refuses it
    ASSERT_TRUE(a.Send({"127.0.0.1", 0}, Pattern(10, 3)));     // port 0
    EXPECT_FALSE(a.Receive(300ms).has_value());
    ASSERT_TRUE(a.Send({"127.0.0.1", echo.port()}, Pattern(10, 4)));
    const std::optional<Datagram> back = a.Receive();
    ASSERT_TRUE(back.has_value()) << "the association still works";
    EXPECT_EQ(back->bytes, Pattern(10, 4));
  }
  ExpectIdle(server_);
  const uint64_t dropped_after = server_->Stats()["udp"]["dropped"];
  EXPECT_EQ(dropped_after - dropped_before, 2u) << "the forbidden one and port 0";
}

TEST_F(Udp, TheControlConnectionClosingEndsTheAssociationAndItsSockets) {
  UdpEcho echo;
  const int server_fds = server_->Stats()["fds"];
  const int client_fds = client_->Stats()["fds"];
  {
    Association a(client_->port());
    ASSERT_EQ(a.code(), 0);
    ASSERT_TRUE(a.Send({"127.0.0.1", echo.port()}, Pattern(10, 1)));
    ASSERT_TRUE(a.Receive().has_value());
    EXPECT_EQ(server_->Stats()["udp"]["open"], 1);
  }
  ExpectIdle(client_);
  ExpectIdle(server_);
  EXPECT_EQ(server_->Stats()["fds"], server_fds) << "no descriptor left behind";
  EXPECT_EQ(client_->Stats()["fds"], client_fds);
}

TEST_F(Udp, AClientThatVanishesEndsItsAssociationsOnTheServer) {
  UdpEcho echo;
  auto client = ReflexProcess::Client("udp-vanishing", server_->port());
  ASSERT_TRUE(client->ok());
  const int server_fds = server_->Stats()["fds"];
  Association a(client->port());
  ASSERT_EQ(a.code(), 0);
  ASSERT_TRUE(a.Send({"127.0.0.1", echo.port()}, Pattern(10, 1)));
  ASSERT_TRUE(a.Receive().has_value());
  client->child().Signal(SIGKILL);
  ExpectIdle(server_);
  EXPECT_EQ(server_->Stats()["fds"], server_fds);
  bool ended = false;
  (void)a.control().ReadAll(kWait, &ended);
  EXPECT_TRUE(ended) << "the application's control connection ends with it";
}

TEST_F(Udp, TheServerGoingAwayEndsTheApplicationsControlConnection) {
  UdpEcho echo;
  auto server = ReflexProcess::Server("udp-vanishing-server", http_->port());
  ASSERT_TRUE(server->ok());
  auto client = ReflexProcess::Client("udp-client-2", server->port());
  ASSERT_TRUE(client->ok());
  const int client_fds = client->Stats()["fds"];
  Association a(client->port());
  ASSERT_EQ(a.code(), 0);
  ASSERT_TRUE(a.Send({"127.0.0.1", echo.port()}, Pattern(10, 1)));
  ASSERT_TRUE(a.Receive().has_value());
  server->child().Signal(SIGKILL);
  bool ended = false;
  (void)a.control().ReadAll(kWait, &ended);
  EXPECT_TRUE(ended) << "the association ends with its tunnel";
  ExpectIdle(client.get());
  EXPECT_EQ(client->Stats()["fds"], client_fds);
}

TEST_F(Udp, AServerWithoutUdpRefusesTheAssociationWithNotAllowed) {
  auto server = ReflexProcess::Server("udp-off", http_->port(), {"--no-udp"});
  ASSERT_TRUE(server->ok());
  auto client = ReflexProcess::Client("udp-off-client", server->port());
  ASSERT_TRUE(client->ok());
  Association a(client->port());
  EXPECT_EQ(a.code(), 2);
}

}  // namespace
}  // namespace reflex::proxy::e2e
