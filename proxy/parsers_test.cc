// The proxy's sans-IO parsers: SOCKS5 (RFC 1928), HTTP CONNECT, host:port.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "proxy/address.h"
#include "proxy/http_connect.h"
#include "proxy/socks5.h"

namespace reflex::proxy {
namespace {

using Bytes = std::vector<uint8_t>;

std::span<const uint8_t> S(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

TEST(Socks5Greeting, NeedsMoreUntilEveryMethodArrived) {
  const Bytes g = {5, 2, 2, 0};
  for (size_t n = 0; n < g.size(); ++n) {
    size_t used = 99;
    EXPECT_EQ(ParseSocks5Greeting(std::span(g).first(n), kSocks5NoAuthentication, &used), Socks5Status::kNeedMore) << n;
    EXPECT_EQ(used, 99u);  // nothing written unless kOk
  }
  size_t used = 0;
  EXPECT_EQ(ParseSocks5Greeting(g, kSocks5NoAuthentication, &used), Socks5Status::kOk);
  EXPECT_EQ(used, 4u);
}

TEST(Socks5Greeting, RefusesOtherVersionsAndGreetingsWithoutTheMethodRequired) {
  size_t used = 0;
  EXPECT_EQ(ParseSocks5Greeting(Bytes{4, 1, 0}, kSocks5NoAuthentication, &used), Socks5Status::kBadVersion);
  EXPECT_EQ(ParseSocks5Greeting(Bytes{5, 1, 2}, kSocks5NoAuthentication, &used),
            Socks5Status::kNoAcceptableMethod);
  EXPECT_EQ(ParseSocks5Greeting(Bytes{5, 0}, kSocks5NoAuthentication, &used),
            Socks5Status::kNoAcceptableMethod);
  EXPECT_EQ(ParseSocks5Greeting(Bytes{5, 1, 0}, kSocks5UsernamePassword, &used),
            Socks5Status::kNoAcceptableMethod)
      << "with local users, a client offering only no-authentication is refused";
  EXPECT_EQ(ParseSocks5Greeting(Bytes{5, 2, 0, 2}, kSocks5UsernamePassword, &used), Socks5Status::kOk);
  EXPECT_EQ(Socks5MethodReply(kSocks5NoAcceptableMethod), (std::array<uint8_t, 2>{5, 0xFF}));
  EXPECT_EQ(Socks5MethodReply(kSocks5UsernamePassword), (std::array<uint8_t, 2>{5, 2}));
}

TEST(Socks5UsernamePassword, ReadsBothFieldsOnceWholeAndRefusesEmptyOnesAndOtherVersions) {
  const Bytes auth = {1, 3, 'b', 'o', 'b', 2, 'p', 'w', 0xAA};
  size_t used = 99;
  std::string_view name, password;
  for (size_t n = 0; n + 1 < auth.size(); ++n) {
    EXPECT_EQ(ParseSocks5UsernamePassword(std::span(auth).first(n), &used, &name, &password),
              Socks5Status::kNeedMore)
        << n;
  }
  EXPECT_EQ(used, 99u);
  ASSERT_EQ(ParseSocks5UsernamePassword(auth, &used, &name, &password), Socks5Status::kOk);
  EXPECT_EQ(used, 8u);
  EXPECT_EQ(name, "bob");
  EXPECT_EQ(password, "pw");
  EXPECT_EQ(ParseSocks5UsernamePassword(Bytes{5, 1, 'a', 1, 'b'}, &used, &name, &password),
            Socks5Status::kBadVersion);
  EXPECT_EQ(ParseSocks5UsernamePassword(Bytes{1, 0, 1, 'b'}, &used, &name, &password),
            Socks5Status::kBadAuthRequest);
  EXPECT_EQ(ParseSocks5UsernamePassword(Bytes{1, 1, 'a', 0}, &used, &name, &password),
            Socks5Status::kBadAuthRequest);
  EXPECT_EQ(Socks5AuthReply(true), (std::array<uint8_t, 2>{1, 0}));
  EXPECT_EQ(Socks5AuthReply(false), (std::array<uint8_t, 2>{1, 1}));
}

TEST(Socks5Request, ReadsIpv4Ipv6AndDomainTargets) {
  size_t used = 0;
  RequestHeader r;
  ASSERT_EQ(ParseSocks5Request(Bytes{5, 1, 0, 1, 127, 0, 0, 1, 0x1F, 0x90}, &used, &r),
            Socks5Status::kOk);
  EXPECT_EQ(used, 10u);
  EXPECT_EQ(FormatHostPort(TargetOf(r)), "127.0.0.1:8080");

  Bytes v6 = {5, 1, 0, 4};
  for (int i = 0; i < 15; ++i) v6.push_back(0);
  v6.push_back(1);
  v6.push_back(0);
  v6.push_back(80);
  ASSERT_EQ(ParseSocks5Request(v6, &used, &r), Socks5Status::kOk);
  EXPECT_EQ(used, 22u);
  EXPECT_EQ(FormatHostPort(TargetOf(r)), "[::1]:80");

  Bytes name = {5, 1, 0, 3, 11};
  for (char c : std::string("example.com")) name.push_back(static_cast<uint8_t>(c));
  name.push_back(1);
  name.push_back(187);
  for (size_t n = 0; n < name.size(); ++n) {
    EXPECT_EQ(ParseSocks5Request(std::span(name).first(n), &used, &r), Socks5Status::kNeedMore);
  }
  ASSERT_EQ(ParseSocks5Request(name, &used, &r), Socks5Status::kOk);
  EXPECT_EQ(FormatHostPort(TargetOf(r)), "example.com:443");
}

TEST(Socks5Request, RefusesOtherCommandsAddressTypesAndEmptyNames) {
  size_t used = 0;
  RequestHeader r;
  EXPECT_EQ(ParseSocks5Request(Bytes{5, 2, 0, 1, 1, 2, 3, 4, 0, 1}, &used, &r),
            Socks5Status::kUnsupportedCommand)
      << "BIND";
  EXPECT_EQ(ParseSocks5Request(Bytes{5, 1, 0, 9, 1, 2, 3, 4, 0, 1}, &used, &r),
            Socks5Status::kBadAddressType);
  EXPECT_EQ(ParseSocks5Request(Bytes{5, 1, 0, 3, 0, 0, 1}, &used, &r), Socks5Status::kBadAddress);
  EXPECT_EQ(ParseSocks5Request(Bytes{4, 1, 0, 1, 1, 2, 3, 4, 0, 1}, &used, &r),
            Socks5Status::kBadVersion);
}

TEST(Socks5Request, UdpAssociateIsReadWithItsCommandAndTheClientsAddress) {
  size_t used = 0;
  RequestHeader r;
  ASSERT_EQ(ParseSocks5Request(Bytes{5, 3, 0, 1, 0, 0, 0, 0, 0x12, 0x34}, &used, &r), Socks5Status::kOk);
  EXPECT_EQ(used, 10u);
  EXPECT_EQ(r.command, kSocks5UdpAssociate);
  EXPECT_EQ(r.port, 0x1234) << "the port the application will send from";
}

TEST(Socks5Reply, ABoundReplyNamesTheRelaysAddressAndPort) {
  const Socks5BoundReply v4 = Socks5ReplyBound(asio::ip::make_address("127.0.0.1"), 0x1f90);
  EXPECT_EQ(Bytes(v4.bytes.begin(), v4.bytes.begin() + v4.size), (Bytes{5, 0, 0, 1, 127, 0, 0, 1, 0x1f, 0x90}));
  const Socks5BoundReply mapped = Socks5ReplyBound(asio::ip::make_address("::ffff:127.0.0.1"), 0x1f90);
  EXPECT_EQ(Bytes(mapped.bytes.begin(), mapped.bytes.begin() + mapped.size),
            (Bytes{5, 0, 0, 1, 127, 0, 0, 1, 0x1f, 0x90}))
      << "what a dual-stack listener reports for an IPv4 application";
  const Socks5BoundReply v6 = Socks5ReplyBound(asio::ip::make_address("::1"), 53);
  Bytes expected = {5, 0, 0, 4};
  expected.resize(expected.size() + 15, 0);
  expected.insert(expected.end(), {1, 0, 53});
  EXPECT_EQ(Bytes(v6.bytes.begin(), v6.bytes.begin() + v6.size), expected);
}

TEST(Socks5Reply, IsTenBytesWithTheCode) {
  EXPECT_EQ(Socks5Reply(5), (std::array<uint8_t, 10>{5, 5, 0, 1, 0, 0, 0, 0, 0, 0}));
}

TEST(HttpConnect, ReadsTheAuthorityAndConsumesTheHead) {
  size_t used = 0;
  HostPort hp;
  std::string_view auth = "x";
  const std::string head = "CONNECT [2001:db8::1]:443 HTTP/1.1\r\nHost: x\r\n\r\n";
  for (size_t n = 0; n < head.size(); ++n) {
    EXPECT_EQ(ParseHttpConnect(S(head).first(n), &used, &hp, &auth), HttpConnectStatus::kNeedMore);
  }
  ASSERT_EQ(ParseHttpConnect(S(head + "tail"), &used, &hp, &auth), HttpConnectStatus::kOk);
  EXPECT_EQ(used, head.size());
  EXPECT_EQ(hp.host, "2001:db8::1");
  EXPECT_EQ(hp.port, 443);
  EXPECT_EQ(auth, "") << "no Proxy-Authorization header";
}

TEST(HttpConnect, FindsTheFirstProxyAuthorizationHeaderWhateverItsCase) {
  size_t used = 0;
  HostPort hp;
  std::string_view auth;
  ASSERT_EQ(ParseHttpConnect(S("CONNECT a:1 HTTP/1.1\r\nHost: a\r\nPROXY-authorization: Basic Ym9iOnB3\r\n"
                               "Proxy-Authorization: Basic other\r\n\r\n"),
                             &used, &hp, &auth),
            HttpConnectStatus::kOk);
  EXPECT_EQ(auth, " Basic Ym9iOnB3");
  ASSERT_EQ(ParseHttpConnect(S("CONNECT a:1 HTTP/1.1\r\nX-Proxy-Authorization: Basic no\r\n\r\n"), &used,
                             &hp, &auth),
            HttpConnectStatus::kOk);
  EXPECT_EQ(auth, "");
  EXPECT_NE(HttpConnectResponse(407).find("Proxy-Authenticate: Basic"), std::string_view::npos);
}

TEST(HttpConnect, RefusesOtherMethodsBadTargetsAndHugeHeads) {
  size_t used = 0;
  HostPort hp;
  std::string_view auth;
  EXPECT_EQ(ParseHttpConnect(S("GET / HTTP/1.1\r\n\r\n"), &used, &hp, &auth), HttpConnectStatus::kNotConnect);
  EXPECT_EQ(ParseHttpConnect(S("CONNECT host HTTP/1.1\r\n\r\n"), &used, &hp, &auth),
            HttpConnectStatus::kBadRequest);
  EXPECT_EQ(ParseHttpConnect(S("CONNECT host:0 HTTP/1.1\r\n\r\n"), &used, &hp, &auth),
            HttpConnectStatus::kBadRequest);
  EXPECT_EQ(ParseHttpConnect(S("CONNECT host:1 HTTP/2\r\n\r\n"), &used, &hp, &auth),
            HttpConnectStatus::kBadRequest);
  const std::string huge = "CONNECT a:1 HTTP/1.1\r\n" + std::string(kMaxHeadBytes, 'x');
  EXPECT_EQ(ParseHttpConnect(S(huge), &used, &hp, &auth), HttpConnectStatus::kTooLarge);
}

TEST(HostPortText, ParsesAndFormatsNamesIpv4AndBracketedIpv6) {
  HostPort hp;
  ASSERT_TRUE(ParseHostPort("example.com:80", &hp));
  EXPECT_EQ(hp.host, "example.com");
  ASSERT_TRUE(ParseHostPort("[::1]:0", &hp));
  EXPECT_EQ(hp.host, "::1");
  EXPECT_EQ(FormatHostPort(hp), "[::1]:0");
  for (const char* bad : {"", "host", "host:", ":80", "host:65536", "host:-1", "[::1:80", "::1:80",
                          "host:8o"}) {
    EXPECT_FALSE(ParseHostPort(bad, &hp)) << bad;
  }
  EXPECT_FALSE(ParseHostPort(std::string_view("127.0.0.1\0.example.com:80", 26), &hp));
}

TEST(RequestHeaders, GetTheAddressTypeOfTheirHost) {
  RequestHeader r;
  ASSERT_TRUE(RequestHeaderFor({"1.2.3.4", 1}, &r));
  EXPECT_EQ(r.address_type, AddressType::kIpv4);
  ASSERT_TRUE(RequestHeaderFor({"::ffff:1.2.3.4", 1}, &r));
  EXPECT_EQ(r.address_type, AddressType::kIpv6);
  ASSERT_TRUE(RequestHeaderFor({std::string(255, 'a'), 1}, &r));
  EXPECT_EQ(r.address_type, AddressType::kDomain);
  EXPECT_FALSE(RequestHeaderFor({std::string(256, 'a'), 1}, &r));
  EXPECT_FALSE(RequestHeaderFor({"", 1}, &r));
  EXPECT_FALSE(RequestHeaderFor({std::string("127.0.0.1\0.example.com", 23), 1}, &r))
      << "not the address before the NUL";
}

}  // namespace
}  // namespace reflex::proxy
