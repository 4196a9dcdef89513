#include "reflex/request_header.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "reflex/testing/codec_test_util.h"
#include "base/hex.h"

namespace reflex {
namespace {

using testing::FromHex;
using testing::ToHex;

RequestHeader Domain(const std::string& name, uint16_t port = 443) {
  RequestHeader h;
  h.command = 1;
  h.port = port;
  h.address_type = AddressType::kDomain;
  h.address_length = static_cast<uint8_t>(name.size());
  std::copy(name.begin(), name.end(), h.address.begin());
  return h;
}

TEST(RequestHeader, Ipv4LayoutAndExactLength) {
  // command 1, port 80, IPv4 10.0.0.1, then two bytes of data.
  const std::vector<uint8_t> in = FromHex("010050010a000001" "4142");
  RequestHeader h;
  size_t n = 0;
  ASSERT_EQ(DecodeRequestHeader(in, &h, &n), Error::kOk);
  EXPECT_EQ(n, 8u);
  EXPECT_EQ(h.command, 1);
  EXPECT_EQ(h.port, 80);
  EXPECT_EQ(h.address_type, AddressType::kIpv4);
  EXPECT_EQ(ToHex(h.address_bytes()), "0a000001");
}

TEST(RequestHeader, Ipv6HeaderIs20BytesNotTheGoServers12) {
  std::vector<uint8_t> in = FromHex("0101bb04" "20010db8000000000000000000000001");
  in.push_back('D');
  RequestHeader h;
  size_t n = 0;
  ASSERT_EQ(DecodeRequestHeader(in, &h, &n), Error::kOk);
  EXPECT_EQ(n, 20u);
  EXPECT_EQ(h.address_length, 16);
  EXPECT_EQ(in[n], 'D');
}

TEST(RequestHeader, OneCharacterDomainParsesToThatDomain) {
  const std::vector<uint8_t> in = FromHex("0101bb03" "01" "78");
  RequestHeader h;
  size_t n = 0;
  ASSERT_EQ(DecodeRequestHeader(in, &h, &n), Error::kOk);
  EXPECT_EQ(n, 6u);
  EXPECT_EQ(h, Domain("x"));
}

TEST(RequestHeader, RoundTripsEveryAddressKindAndDomainLength) {
  std::vector<RequestHeader> cases;
  RequestHeader v4;
  v4.address_type = AddressType::kIpv4;
  v4.address_length = 4;
  v4.port = 65535;
  cases.push_back(v4);
  RequestHeader v6;
  v6.address_type = AddressType::kIpv6;
  v6.address_length = 16;
  v6.command = 255;
  cases.push_back(v6);
  for (size_t len : {1u, 2u, 11u, 254u, 255u}) cases.push_back(Domain(std::string(len, 'a')));
  for (const RequestHeader& h : cases) {
    uint8_t out[kMaxRequestHeaderBytes];
    size_t written = 0;
    ASSERT_EQ(EncodeRequestHeader(h, out, &written), Error::kOk);
    size_t size = 0;
    ASSERT_EQ(EncodedRequestHeaderSize(h, &size), Error::kOk);
    EXPECT_EQ(written, size);
    RequestHeader back;
    size_t n = 0;
    ASSERT_EQ(DecodeRequestHeader({out, written}, &back, &n), Error::kOk);
    EXPECT_EQ(n, written);
    EXPECT_EQ(back, h);
  }
}

TEST(RequestHeader, RefusesEveryMalformedHeaderWithItsCode) {
  struct Case {
    const char* hex;
    Error error;
  };
  const Case cases[] = {
      {"", Error::kTooShort},
      {"01", Error::kTooShort},
      {"010050", Error::kTooShort},
      {"01005001", Error::kTooShort},          // IPv4 without address
      {"010050010a0000", Error::kTooShort},    // 3 of 4 address bytes
      {"01005003", Error::kTooShort},          // domain without length
      {"0100500300", Error::kBadDomainLength},
      {"010050030561", Error::kTooShort},      // 1 of 5 domain bytes
      {"0100500400", Error::kTooShort},        // 1 of 16 IPv6 bytes
      {"01005000", Error::kBadAddressType},
      {"01005002", Error::kBadAddressType},
      {"01005005", Error::kBadAddressType},
      {"010050ff", Error::kBadAddressType},
  };
  for (const Case& c : cases) {
    RequestHeader h = Domain("untouched");
    size_t n = 12345;
    EXPECT_EQ(DecodeRequestHeader(FromHex(c.hex), &h, &n), c.error) << c.hex;
    EXPECT_EQ(h, Domain("untouched")) << c.hex;
    EXPECT_EQ(n, 12345u) << c.hex;
  }
}

TEST(RequestHeader, EncoderRefusesHeadersItCouldNotDecode) {
  uint8_t out[kMaxRequestHeaderBytes];
  size_t written = 0;
  RequestHeader h = Domain("");
  EXPECT_EQ(EncodeRequestHeader(h, out, &written), Error::kInvalidArgument);
  EXPECT_EQ(EncodedRequestHeaderSize(h, &written), Error::kInvalidArgument);
  h.address_type = AddressType::kIpv4;
  h.address_length = 5;
  EXPECT_EQ(EncodeRequestHeader(h, out, &written), Error::kInvalidArgument);
  EXPECT_EQ(EncodedRequestHeaderSize(h, &written), Error::kInvalidArgument);
  h.address_type = static_cast<AddressType>(2);
  h.address_length = 4;
  EXPECT_EQ(EncodeRequestHeader(h, out, &written), Error::kInvalidArgument);
  EXPECT_EQ(EncodedRequestHeaderSize(h, &written), Error::kInvalidArgument);
  EXPECT_EQ(EncodeRequestHeader(Domain("abc"), std::span<uint8_t>(out, 7), &written),
            Error::kBufferTooSmall);
}

}  // namespace
}  // namespace reflex
