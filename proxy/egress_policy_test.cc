// The egress policy: which resolved addresses the server may connect to.
#include "proxy/egress_policy.h"

#include <gtest/gtest.h>

#include <algorithm>

namespace reflex::proxy {
namespace {

asio::ip::address Ip(const char* text) { return asio::ip::make_address(text); }

Cidr Range(const char* text) {
  Cidr c;
  EXPECT_TRUE(ParseCidr(text, &c)) << text;
  return c;
}

TEST(EgressPolicy, EveryDefaultRangeParses) {
  for (const DefaultDeniedRange& r : DefaultDeniedRanges()) {
    Cidr c;
    EXPECT_TRUE(ParseCidr(r.cidr, &c)) << r.cidr;
    EXPECT_EQ(FormatCidr(c), r.cidr);
  }
}

TEST(EgressPolicy, TheServerDefaultRefusesItsOwnNetworksAndAllowsThePublicInternet) {
  const EgressPolicy policy = EgressPolicy::ServerDefault();
  for (const char* denied :
       {"127.0.0.1", "127.255.255.254", "0.0.0.0", "10.1.2.3", "172.16.0.1", "172.31.255.255",
        "192.168.1.1", "169.254.169.254", "100.64.0.1", "100.100.100.200", "192.0.0.192", "224.0.0.1",
        "168.63.129.16",
        "255.255.255.255", "198.18.0.1", "::", "::1", "fd00:ec2::254", "fc00::1", "fe80::1", "ff02::1",
        "fec0::1"}) {
    EXPECT_FALSE(policy.Allows(Ip(denied))) << denied;
  }
  for (const char* allowed : {"1.1.1.1", "8.8.8.8", "93.184.216.34", "172.32.0.1", "192.169.0.1",
                              "100.128.0.1", "2606:4700::1111", "2001:db8::1"}) {
    EXPECT_TRUE(policy.Allows(Ip(allowed))) << allowed;
  }
}

TEST(EgressPolicy, IPv4WrittenAsIPv6IsJudgedAsTheIPv4AddressItCarries) {
  const EgressPolicy policy = EgressPolicy::ServerDefault();
  for (const char* denied : {"::ffff:127.0.0.1", "::ffff:169.254.169.254", "::ffff:10.0.0.1",
                             "64:ff9b::7f00:1", "64:ff9b::a9fe:a9fe", "2002:7f00:1::1", "2002:a00:1::",
                             "::127.0.0.1", "::10.0.0.1"}) {
    EXPECT_FALSE(policy.Allows(Ip(denied))) << denied;
  }
  for (const char* allowed : {"::ffff:1.1.1.1", "64:ff9b::808:808", "2002:808:808::1"}) {
    EXPECT_TRUE(policy.Allows(Ip(allowed))) << allowed;
  }
}

TEST(EgressPolicy, ARangeWrittenForEitherFormOfAnAddressThatCarriesIpv4Applies) {
  EgressPolicy policy = EgressPolicy::ServerDefault();
  policy.Deny(Range("64:ff9b::/96"));
  policy.Deny(Range("2002::/16"));
  EXPECT_FALSE(policy.Allows(Ip("64:ff9b::808:808"))) << "the NAT64 range as written";
  EXPECT_FALSE(policy.Allows(Ip("2002:808:808::1"))) << "the 6to4 range as written";
  EXPECT_TRUE(policy.Allows(Ip("8.8.8.8"))) << "the IPv4 address itself is not in those ranges";
  EXPECT_FALSE(EgressPolicy::ServerDefault().Allows(Ip("64:ff9b:1::a00:1")))
      << "RFC 8215's local-use NAT64 prefix carries 10.0.0.1";

  EgressPolicy v6_closed = EgressPolicy::ServerDefault();
  v6_closed.Deny(Range("::/0"));
  EXPECT_FALSE(v6_closed.Allows(Ip("8.8.8.8"))) << "IPv4 is held in ::ffff:0:0/96, inside ::/0";
}

TEST(EgressPolicy, TheHostsOwnAddressesAreRefusedUnlessAllowedOneByOne) {
  const std::vector<asio::ip::address> own = {Ip("203.0.113.5"), Ip("2001:db8::5"), Ip("127.0.0.1"), Ip("::1")};
  EgressPolicy policy = EgressPolicy::ServerDefault();
  policy.DenyOwn(own);
  policy.Allow(Range("0.0.0.0/0"));
  policy.Allow(Range("127.0.0.0/8"));
  EXPECT_FALSE(policy.Allows(Ip("203.0.113.5"))) << "a wide allow does not open the host itself";
  EXPECT_FALSE(policy.Allows(Ip("::ffff:203.0.113.5")));
  EXPECT_FALSE(policy.Allows(Ip("2001:db8::5")));
  EXPECT_TRUE(policy.Allows(Ip("203.0.113.6")));
  EXPECT_TRUE(policy.Allows(Ip("127.0.0.1"))) << "loopback is the loopback range's to decide";
  policy.Allow(Range("203.0.113.5"));
  EXPECT_TRUE(policy.Allows(Ip("203.0.113.5"))) << "the operator's own /32 does";
}

TEST(EgressPolicy, HostAddressesIncludeLoopback) {
  const std::vector<asio::ip::address> own = HostAddresses();
  EXPECT_NE(std::find(own.begin(), own.end(), Ip("127.0.0.1")), own.end());
}

TEST(EgressPolicy, AnOperatorsRangeOfTheSameLengthOverridesTheDefault) {
  EgressPolicy policy = EgressPolicy::ServerDefault();
  policy.Allow(Range("127.0.0.0/8"));
  EXPECT_TRUE(policy.Allows(Ip("127.0.0.1")));
  EXPECT_TRUE(policy.Allows(Ip("::ffff:127.0.0.1")));
  EXPECT_FALSE(policy.Allows(Ip("::1"))) << "an IPv4 range says nothing of IPv6 loopback";
  EXPECT_FALSE(policy.Allows(Ip("10.0.0.1")));
}

TEST(EgressPolicy, TheLongestPrefixDecides) {
  EgressPolicy policy = EgressPolicy::ServerDefault();
  policy.Allow(Range("10.0.0.0/8"));
  policy.Deny(Range("10.9.0.0/16"));
  policy.Allow(Range("10.9.8.7"));
  EXPECT_TRUE(policy.Allows(Ip("10.1.1.1")));
  EXPECT_FALSE(policy.Allows(Ip("10.9.1.1")));
  EXPECT_TRUE(policy.Allows(Ip("10.9.8.7")));
  EXPECT_FALSE(policy.Allows(Ip("10.9.8.6")));
}

TEST(EgressPolicy, DenyBeatsAllowAtTheSameLength) {
  EgressPolicy policy;
  policy.Allow(Range("203.0.113.0/24"));
  policy.Deny(Range("203.0.113.0/24"));
  EXPECT_FALSE(policy.Allows(Ip("203.0.113.5")));
}

TEST(EgressPolicy, DenyEverythingThenAllowSomeMakesAnAllowList) {
  EgressPolicy policy = EgressPolicy::ServerDefault();
  policy.Deny(Range("0.0.0.0/0"));
  policy.Deny(Range("::/0"));
  policy.Allow(Range("203.0.113.0/24"));
  EXPECT_TRUE(policy.Allows(Ip("203.0.113.9")));
  EXPECT_FALSE(policy.Allows(Ip("1.1.1.1")));
  EXPECT_FALSE(policy.Allows(Ip("2606:4700::1111")));
}

TEST(EgressPolicy, NothingIsRefusedByAnEmptyPolicy) {
  const EgressPolicy policy;
  EXPECT_TRUE(policy.Allows(Ip("127.0.0.1")));
  EXPECT_TRUE(policy.Allows(Ip("::1")));
}

TEST(Cidr, ParsesAddressesAndPrefixesAndRefusesEverythingElse) {
  Cidr c;
  ASSERT_TRUE(ParseCidr("192.0.2.1", &c));
  EXPECT_EQ(FormatCidr(c), "192.0.2.1/32");
  ASSERT_TRUE(ParseCidr("2001:db8::/32", &c));
  EXPECT_EQ(FormatCidr(c), "2001:db8::/32");
  ASSERT_TRUE(ParseCidr("0.0.0.0/0", &c));
  EXPECT_EQ(FormatCidr(c), "0.0.0.0/0");
  for (const char* bad : {"", "/8", "10.0.0.0/", "10.0.0.0/33", "10.0.0.0/-1", "10.0.0.0/8x",
                          "::/129", "example.com/8", "10.0.0.1/8", "fd00::1/8", "10.0.0.0/ 8",
                          "2130706433"}) {
    EXPECT_FALSE(ParseCidr(bad, &c)) << bad;
  }
}

}  // namespace
}  // namespace reflex::proxy
