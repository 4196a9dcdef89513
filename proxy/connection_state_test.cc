// What connection log lines say of a peer (--log-peers).
#include "proxy/connection_state.h"

#include <gtest/gtest.h>

#include <string>

namespace reflex::proxy {
namespace {

// Each test leaves the default behind.
class LogPrivacy : public ::testing::Test {
 protected:
  ~LogPrivacy() override { SetLogPrivacy(PeerLogging::kHashed, false); }
};

TEST_F(LogPrivacy, AHashedPeerHidesTheAddressAndIsStablePerHostWhateverThePort) {
  SetLogPrivacy(PeerLogging::kHashed, false);
  const std::string a = LoggedPeer("192.0.2.7:40001");
  EXPECT_EQ(a.size(), 2u + 16u);
  EXPECT_EQ(a.rfind("h:", 0), 0u) << a;
  EXPECT_EQ(a.find("192"), std::string::npos) << a;
  EXPECT_EQ(LoggedPeer("192.0.2.7:50002"), a) << "one host, one token";
  EXPECT_NE(LoggedPeer("192.0.2.8:40001"), a);
  EXPECT_NE(LoggedPeer("[2001:db8::7]:40001"), LoggedPeer("[2001:db8::8]:40001"));
}

TEST_F(LogPrivacy, NoneSaysNothingAndFullSaysEverything) {
  SetLogPrivacy(PeerLogging::kNone, false);
  EXPECT_EQ(LoggedPeer("192.0.2.7:40001"), "-");
  SetLogPrivacy(PeerLogging::kFull, false);
  EXPECT_EQ(LoggedPeer("192.0.2.7:40001"), "192.0.2.7:40001");
}

TEST_F(LogPrivacy, OnlyTheThreeModesHaveNames) {
  PeerLogging p = PeerLogging::kFull;
  EXPECT_TRUE(PeerLoggingFromName("none", &p));
  EXPECT_EQ(p, PeerLogging::kNone);
  EXPECT_TRUE(PeerLoggingFromName("hashed", &p));
  EXPECT_EQ(p, PeerLogging::kHashed);
  EXPECT_FALSE(PeerLoggingFromName("partial", &p));
}

}  // namespace
}  // namespace reflex::proxy
