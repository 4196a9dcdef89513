// The server's side of a UDP association (SPEC.md 15), run on in-memory
// connections and sockets: what reaches destinations, what comes back,
// what is dropped, and how an association ends.
#include <gtest/gtest.h>

#include <string>

#include "proxy/server_handler.h"
#include "proxy/testing/server_harness.h"
#include "reflex/crypto_init.h"

namespace reflex::proxy {
namespace {

using testing::Bytes;
using testing::DatagramPayload;
using testing::HonestClient;
using testing::MemoryDatagrams;
using testing::ServerHarness;
using testing::UdpRequest;
using reflex::testing::TestUser;

Bytes Pattern(size_t n, uint8_t seed) {
  Bytes b(n);
  for (size_t i = 0; i < n; ++i) b[i] = static_cast<uint8_t>(seed + i * 131 + (i >> 8));
  return b;
}

UdpEndpoint Ep(const char* ip, uint16_t port) { return UdpEndpoint(asio::ip::make_address(ip), port); }

class UdpAssociation : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { ASSERT_EQ(InitCrypto(), Error::kOk); }

  // A client with an open association, its socket in `udp`.
  bool Open(ServerHarness& h, HonestClient& c, Profile profile = Profile::kV2) {
    (void)profile;
    if (!c.Handshake() || !c.Request(UdpRequest()) || !c.Receive() || !c.connected()) return false;
    if (h.dialer().datagram_sockets().size() != 1) return false;
    udp = h.dialer().datagram_sockets()[0].get();
    return true;
  }
  void SendDatagram(HonestClient& c, std::string_view host, uint16_t port, std::span<const uint8_t> data) {
    c.SendRaw(c.Seal(FrameType::kData, DatagramPayload(host, port, data)));
  }
  void ExpectAllReturned(ServerHarness& h) {
    h.Poll();
    EXPECT_EQ(h.running(), 0);
    EXPECT_EQ(h.buffers_outstanding(), 0u);
    EXPECT_EQ(h.states_outstanding(), 0u);
    EXPECT_EQ(h.stats().active.load(), 0u);
    EXPECT_EQ(h.stats().udp.open.load(), 0u);
  }
  // The client's CLOSE, the server's answering CLOSE, the end.
  void CloseFromClient(ServerHarness& h, HonestClient& c) {
    c.SendRaw(c.SealClose());
    ASSERT_TRUE(c.Receive());
    EXPECT_TRUE(c.peer_closed()) << "the server answers CLOSE with its own";
    c.peer().CloseSend();
    ExpectAllReturned(h);
  }

  MemoryDatagrams* udp = nullptr;  // the dialer owns it (with the io_context its timer needs)
};

TEST_F(UdpAssociation, DatagramsReachTheirDestinationsAndRepliesComeBackWithTheirSource) {
  for (const Profile profile : {Profile::kV2, Profile::kV1Compat}) {
    SCOPED_TRACE(ProfileName(profile));
    ServerHarness h;
    HonestClient c(h, profile, TestUser(1));
    ASSERT_TRUE(Open(h, c, profile));
    EXPECT_TRUE(h.dialer().dialed().empty()) << "no TCP connection is made for an association";
    const Bytes query = Pattern(512, 1);
    SendDatagram(c, "192.0.2.1", 53, query);
    SendDatagram(c, "2001:db8::2", 9, Pattern(3, 2));
    ASSERT_EQ(udp->sent.size(), 2u);
    EXPECT_EQ(udp->sent[0].peer, Ep("192.0.2.1", 53));
    EXPECT_EQ(udp->sent[0].bytes, query);
    EXPECT_EQ(udp->sent[1].peer, Ep("2001:db8::2", 9));
    udp->Inject(Ep("192.0.2.1", 53), Pattern(100, 3));
    udp->Inject(Ep("2001:db8::2", 9), {});
    h.Poll();
    ASSERT_TRUE(c.Receive());
    ASSERT_EQ(c.payloads().size(), 2u);
    EXPECT_EQ(c.payloads()[0], DatagramPayload("192.0.2.1", 53, Pattern(100, 3)));
    EXPECT_EQ(c.payloads()[1], DatagramPayload("2001:db8::2", 9, {})) << "an empty reply is the address alone";
    CloseFromClient(h, c);
    EXPECT_EQ(h.stats().udp.datagrams_up.load(), 2u);
    EXPECT_EQ(h.stats().udp.datagrams_down.load(), 2u);
    EXPECT_EQ(h.stats().udp.dropped.load(), 0u);
  }
}

TEST_F(UdpAssociation, TheLargestDatagramsFitAFrameBothWaysAndOneByteMoreIsDropped) {
  ServerHarness h;
  HonestClient c(h, Profile::kV2, TestUser(1));
  ASSERT_TRUE(Open(h, c));
  SendDatagram(c, "192.0.2.1", 7, Pattern(kMaxIpv4DatagramBytes, 4));
  ASSERT_EQ(udp->sent.size(), 1u);
  EXPECT_EQ(udp->sent[0].bytes.size(), kMaxIpv4DatagramBytes);
  udp->Inject(Ep("192.0.2.1", 7), Pattern(kMaxIpv4DatagramBytes + 1, 5));  // never split
  udp->Inject(Ep("2001:db8::1", 7), Pattern(kMaxIpv6DatagramBytes + 1, 6));
  udp->Inject(Ep("2001:db8::1", 7), Pattern(65507, 7));
  udp->Inject(Ep("192.0.2.1", 7), Pattern(kMaxIpv4DatagramBytes, 8));
  udp->Inject(Ep("2001:db8::1", 7), Pattern(kMaxIpv6DatagramBytes, 9));
  h.Poll();
  ASSERT_TRUE(c.Receive());
  ASSERT_EQ(c.payloads().size(), 2u);
  EXPECT_EQ(c.payloads()[0], DatagramPayload("192.0.2.1", 7, Pattern(kMaxIpv4DatagramBytes, 8)));
  EXPECT_EQ(c.payloads()[1], DatagramPayload("2001:db8::1", 7, Pattern(kMaxIpv6DatagramBytes, 9)));
  CloseFromClient(h, c);
  EXPECT_EQ(h.stats().udp.dropped.load(), 3u);
}

TEST_F(UdpAssociation, NamesResolveAndWhatCannotBeSentIsDroppedAndCounted) {
  ServerHarness h;
  h.dialer().denied_datagram_addresses = {asio::ip::make_address("10.0.0.1")};
  HonestClient c(h, Profile::kV2, TestUser(1));
  ASSERT_TRUE(Open(h, c));
  SendDatagram(c, "dns.example", 53, Pattern(20, 1));
  SendDatagram(c, "dns.example", 53, Pattern(21, 1));  // the name remembered
  SendDatagram(c, "nowhere.invalid", 53, Pattern(22, 1));
  SendDatagram(c, "10.0.0.1", 53, Pattern(23, 1));  // the egress policy refuses it
  SendDatagram(c, "192.0.2.1", 0, Pattern(24, 1));  // port 0
  udp->send_room = 2;
  SendDatagram(c, "192.0.2.1", 53, Pattern(25, 1));  // the socket cannot take it now
  ASSERT_EQ(udp->sent.size(), 2u);
  EXPECT_EQ(h.dialer().datagram_lookups, 2) << "dns.example once, nowhere.invalid once";
  EXPECT_EQ(udp->sent[0].peer, Ep(testing::MemoryDialer::kResolvedAddress, 53));
  EXPECT_EQ(udp->sent[1].bytes.size(), 21u);
  EXPECT_EQ(h.running(), 1) << "a dropped datagram ends nothing";
  CloseFromClient(h, c);
  EXPECT_EQ(h.stats().udp.datagrams_up.load(), 2u);
  EXPECT_EQ(h.stats().udp.dropped.load(), 4u);
}

TEST_F(UdpAssociation, DataAfterTheRequestHeaderIsTheFirstDatagram) {
  ServerHarness h;
  HonestClient c(h, Profile::kV2, TestUser(1));
  ASSERT_TRUE(c.Handshake());
  ASSERT_TRUE(c.Request(UdpRequest(), DatagramPayload("192.0.2.9", 123, Pattern(48, 3))));
  ASSERT_TRUE(c.Receive());
  EXPECT_TRUE(c.connected());
  udp = h.dialer().datagram_sockets().at(0).get();
  ASSERT_EQ(udp->sent.size(), 1u);
  EXPECT_EQ(udp->sent[0].peer, Ep("192.0.2.9", 123));
  EXPECT_EQ(udp->sent[0].bytes, Pattern(48, 3));
  CloseFromClient(h, c);
}

TEST_F(UdpAssociation, AMalformedDatagramIsASessionErrorThatSendsNothing) {
  ServerHarness h;
  HonestClient c(h, Profile::kV2, TestUser(1));
  ASSERT_TRUE(Open(h, c));
  c.SendRaw(c.Seal(FrameType::kData, Bytes{0x02, 1, 2, 3, 4, 0, 53, 9}));  // address type 2
  EXPECT_TRUE(udp->sent.empty());
  EXPECT_TRUE(c.peer().HandlerAborted()) << "torn down, not ended as if cleanly";
  EXPECT_TRUE(udp->closed) << "its socket closed";
  c.peer().CloseSend();
  ExpectAllReturned(h);
  EXPECT_EQ(h.stats().closes[static_cast<size_t>(CloseReason::kSessionError)].load(), 1u);
}

TEST_F(UdpAssociation, ADatagramAfterTheClientsCloseIsNeverSentAndTheEndIsClean) {
  ServerHarness h;
  HonestClient c(h, Profile::kV2, TestUser(1));
  ASSERT_TRUE(Open(h, c));
  // CLOSE sealed as a plain frame, so a DATA frame can follow it at the
  // next counter, as a broken client's would.
  Bytes both = c.Seal(FrameType::kClose, {});
  const Bytes after = c.Seal(FrameType::kData, DatagramPayload("192.0.2.1", 53, Pattern(5, 1)));
  both.insert(both.end(), after.begin(), after.end());
  c.SendRaw(both);
  EXPECT_TRUE(udp->sent.empty());
  ASSERT_TRUE(c.Receive());
  EXPECT_TRUE(c.peer_closed());
  EXPECT_TRUE(c.payloads().empty());
  EXPECT_FALSE(c.peer().HandlerAborted()) << "the frame after CLOSE is not read: a clean end";
  c.peer().CloseSend();
  ExpectAllReturned(h);
  EXPECT_EQ(h.stats().closes[static_cast<size_t>(CloseReason::kDone)].load(), 1u);
}

TEST_F(UdpAssociation, AServerShuttingDownEndsItsAssociationsWithClose) {
  ServerHarness h;
  std::atomic<bool> draining{false};
  h.env().draining = &draining;
  HonestClient c(h, Profile::kV2, TestUser(1));
  ASSERT_TRUE(Open(h, c));
  draining = true;
  for (int i = 0; i < 40 && !c.peer_closed(); ++i) {  // the watchdog's sweeps (every 250 ms)
    h.io().run_for(std::chrono::milliseconds(25));
    ASSERT_TRUE(c.Receive());
  }
  ASSERT_TRUE(c.peer_closed()) << "CLOSE at the drain";
  CloseFromClient(h, c);
}

TEST_F(UdpAssociation, AClientThatNeverAnswersTheServersCloseIsClosedAfterTheWait) {
  ServerHarness h;
  h.env().udp.idle = std::chrono::milliseconds(300);
  HonestClient c(h, Profile::kV2, TestUser(1));
  ASSERT_TRUE(Open(h, c));
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < 400 && h.running() > 0; ++i) {
    h.io().run_for(std::chrono::milliseconds(25));
    ASSERT_TRUE(c.Receive());
  }
  EXPECT_TRUE(c.peer_closed());
  EXPECT_EQ(h.running(), 0) << "ended though the client never answered";
  EXPECT_GE(std::chrono::steady_clock::now() - start, kAssociationCloseWait) << "not before the wait";
  c.peer().CloseSend();
  ExpectAllReturned(h);
}

TEST_F(UdpAssociation, UdpTurnedOffIsRefusedWithNotAllowed) {
  ServerHarness h;
  h.env().udp.enabled = false;
  HonestClient c(h, Profile::kV2, TestUser(1));
  ASSERT_TRUE(c.Handshake());
  ASSERT_TRUE(c.Request(UdpRequest()));
  ASSERT_TRUE(c.Receive());
  EXPECT_TRUE(c.peer_closed());
  EXPECT_EQ(c.close_code(), kConnectNotAllowed);
  EXPECT_TRUE(h.dialer().datagram_sockets().empty());
  c.peer().CloseSend();
  ExpectAllReturned(h);
}

TEST_F(UdpAssociation, AUsersAssociationsAreCappedAndTheCapFreesAsOneEnds) {
  ServerHarness h;
  h.env().udp.associations_per_user = 2;
  HonestClient a(h, Profile::kV2, TestUser(1), 11);
  HonestClient b(h, Profile::kV2, TestUser(1), 12);
  HonestClient third(h, Profile::kV2, TestUser(1), 13);
  HonestClient other_user(h, Profile::kV2, TestUser(2), 14);
  for (HonestClient* c : {&a, &b}) {
    ASSERT_TRUE(c->Handshake() && c->Request(UdpRequest()) && c->Receive());
    EXPECT_TRUE(c->connected());
  }
  ASSERT_TRUE(third.Handshake() && third.Request(UdpRequest()) && third.Receive());
  EXPECT_TRUE(third.peer_closed());
  EXPECT_EQ(third.close_code(), kConnectNotAllowed) << "the user's third at once";
  ASSERT_TRUE(other_user.Handshake() && other_user.Request(UdpRequest()) && other_user.Receive());
  EXPECT_TRUE(other_user.connected()) << "the cap is per user";
  a.SendRaw(a.SealClose());
  a.peer().CloseSend();
  h.Poll();
  HonestClient fourth(h, Profile::kV2, TestUser(1), 15);
  ASSERT_TRUE(fourth.Handshake() && fourth.Request(UdpRequest()) && fourth.Receive());
  EXPECT_TRUE(fourth.connected()) << "one ended: room again";
}

TEST_F(UdpAssociation, ASocketThatCannotBeOpenedIsAGeneralFailure) {
  ServerHarness h;
  h.dialer().FailDatagramSocketsWith(asio::error::no_descriptors);
  HonestClient c(h, Profile::kV2, TestUser(1));
  ASSERT_TRUE(c.Handshake() && c.Request(UdpRequest()) && c.Receive());
  EXPECT_TRUE(c.peer_closed());
  EXPECT_EQ(c.close_code(), kConnectGeneralFailure);
  c.peer().CloseSend();
  ExpectAllReturned(h);
  EXPECT_EQ(h.stats().users.For(ShortUserId(TestUser(1)).data()).udp_associations_open.load(), 0u);
}

TEST_F(UdpAssociation, AnIdleAssociationIsEndedWithCloseAndTheClientsAnswer) {
  ServerHarness h;
  h.env().udp.idle = std::chrono::milliseconds(300);
  HonestClient c(h, Profile::kV2, TestUser(1));
  ASSERT_TRUE(Open(h, c));
  // The watchdog's sweeps (every 250 ms): at most two past the limit.
  for (int i = 0; i < 40 && !c.peer_closed(); ++i) {
    h.io().run_for(std::chrono::milliseconds(25));
    ASSERT_TRUE(c.Receive());
  }
  ASSERT_TRUE(c.peer_closed()) << "the server's CLOSE for an idle association";
  EXPECT_FALSE(c.peer().HandlerAborted());
  CloseFromClient(h, c);
  EXPECT_EQ(h.stats().closes[static_cast<size_t>(CloseReason::kTimeout)].load(), 1u);
}

TEST_F(UdpAssociation, AClientThatVanishesEndsTheAssociationAndClosesItsSocket) {
  ServerHarness h;
  HonestClient c(h, Profile::kV2, TestUser(1));
  ASSERT_TRUE(Open(h, c));
  const Bytes frame = c.Seal(FrameType::kData, DatagramPayload("192.0.2.1", 53, Pattern(30, 1)));
  c.SendRaw(std::span<const uint8_t>(frame).first(10));
  c.peer().CloseSend();
  h.Poll();
  EXPECT_TRUE(udp->sent.empty()) << "nothing of a cut frame";
  EXPECT_TRUE(udp->closed);
  ExpectAllReturned(h);
  EXPECT_EQ(h.stats().closes[static_cast<size_t>(CloseReason::kTunnelCut)].load(), 1u);
}

}  // namespace
}  // namespace reflex::proxy
