#include "reflex/datagram.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "reflex/reference_model.h"
#include "base/hex.h"

namespace reflex {
namespace {

using testing::FromHex;
using testing::ToHex;
using Bytes = std::vector<uint8_t>;

DatagramAddress Ipv4(uint8_t a, uint8_t b, uint8_t c, uint8_t d, uint16_t port) {
  DatagramAddress addr;
  addr.type = AddressType::kIpv4;
  addr.length = 4;
  addr.bytes[0] = a;
  addr.bytes[1] = b;
  addr.bytes[2] = c;
  addr.bytes[3] = d;
  addr.port = port;
  return addr;
}

DatagramAddress Domain(const std::string& name, uint16_t port) {
  DatagramAddress addr;
  addr.type = AddressType::kDomain;
  addr.length = static_cast<uint8_t>(name.size());
  std::copy(name.begin(), name.end(), addr.bytes.begin());
  addr.port = port;
  return addr;
}

TEST(Datagram, Ipv4FormIsSocks5sPortAfterTheAddress) {
  // 01, 10.0.0.1, port 53, then the datagram "AB".
  const Bytes payload = FromHex("010a000001" "0035" "4142");
  DatagramAddress a;
  size_t n = 0;
  ASSERT_EQ(DecodeDatagram(payload, &a, &n), Error::kOk);
  EXPECT_EQ(n, kIpv4DatagramAddressBytes);
  EXPECT_EQ(a, Ipv4(10, 0, 0, 1, 53));
  Bytes again(kMaxPayloadBytes);
  size_t w = 0;
  ASSERT_EQ(EncodeDatagram(a, Bytes{0x41, 0x42}, again, &w), Error::kOk);
  EXPECT_EQ(ToHex({again.data(), w}), ToHex(payload));
}

TEST(Datagram, EmptyDatagramIsTheAddressAlone) {
  const Bytes payload = FromHex("03" "0b" "6578616d706c652e636f6d" "01bb");
  DatagramAddress a;
  size_t n = 0;
  ASSERT_EQ(DecodeDatagram(payload, &a, &n), Error::kOk);
  EXPECT_EQ(n, payload.size());
  EXPECT_EQ(a, Domain("example.com", 443));
}

TEST(Datagram, LargestDatagramsFillOneFrame) {
  DatagramAddress v6;
  v6.type = AddressType::kIpv6;
  v6.length = 16;
  v6.port = 9;
  Bytes out(kMaxPayloadBytes + 64);
  size_t w = 0;
  EXPECT_EQ(EncodeDatagram(Ipv4(127, 0, 0, 1, 9), Bytes(kMaxIpv4DatagramBytes), out, &w), Error::kOk);
  EXPECT_EQ(w, kMaxPayloadBytes);
  EXPECT_EQ(EncodeDatagram(v6, Bytes(kMaxIpv6DatagramBytes), out, &w), Error::kOk);
  EXPECT_EQ(w, kMaxPayloadBytes);
  // One byte more is never split: the encoder refuses it.
  EXPECT_EQ(EncodeDatagram(Ipv4(127, 0, 0, 1, 9), Bytes(kMaxIpv4DatagramBytes + 1), out, &w),
            Error::kFrameTooLarge);
  EXPECT_EQ(EncodeDatagram(v6, Bytes(kMaxIpv6DatagramBytes + 1), out, &w), Error::kFrameTooLarge);
}

TEST(Datagram, RefusalsFrontToBack) {
  struct Case {
    const char* hex;
    Error error;
  };
  const Case cases[] = {
      {"", Error::kTooShort},
      {"02", Error::kBadAddressType},
      {"00" "7f000001" "0035", Error::kBadAddressType},
      {"03", Error::kTooShort},
      {"0300", Error::kBadDomainLength},
      {"0300" "0035", Error::kBadDomainLength},
      {"0305" "6162", Error::kTooShort},
      {"01" "7f0000", Error::kTooShort},
      {"01" "7f000001" "00", Error::kTooShort},
      {"04" "00000000000000000000000000000001", Error::kTooShort},
  };
  for (const Case& c : cases) {
    const Bytes in = FromHex(c.hex);
    DatagramAddress a = Ipv4(1, 2, 3, 4, 5);
    size_t n = 77;
    EXPECT_EQ(DecodeDatagram(in, &a, &n), c.error) << c.hex;
    EXPECT_EQ(n, 77u) << "outputs untouched on error: " << c.hex;
    EXPECT_EQ(a, Ipv4(1, 2, 3, 4, 5)) << c.hex;
    Bytes data;
    EXPECT_EQ(reference::DecodeDatagram(in, &a, &data), c.error) << c.hex;
  }
  Bytes over(kMaxPayloadBytes + 1, 0);
  over[0] = 0x01;
  DatagramAddress a;
  size_t n = 0;
  EXPECT_EQ(DecodeDatagram(over, &a, &n), Error::kFrameTooLarge);
}

TEST(Datagram, EncoderRefusesAddressesThatDoNotFitTheirType) {
  DatagramAddress a = Ipv4(1, 2, 3, 4, 5);
  a.length = 5;
  Bytes out(64);
  size_t w = 0;
  EXPECT_EQ(EncodeDatagram(a, {}, out, &w), Error::kInvalidArgument);
  EXPECT_EQ(EncodeDatagram(Domain("", 1), {}, out, &w), Error::kInvalidArgument);
  EXPECT_EQ(EncodeDatagram(Ipv4(1, 2, 3, 4, 5), {}, std::span<uint8_t>(out).first(6), &w),
            Error::kBufferTooSmall);
}

TEST(Datagram, CodecAgreesWithTheReferenceModel) {
  const DatagramAddress addresses[] = {Ipv4(192, 0, 2, 1, 65535), Domain(std::string(255, 'a'), 0),
                                       Domain("x", 53)};
  for (const DatagramAddress& a : addresses) {
    const Bytes data = {1, 2, 3};
    Bytes out(kMaxPayloadBytes);
    size_t w = 0;
    ASSERT_EQ(EncodeDatagram(a, data, out, &w), Error::kOk);
    out.resize(w);
    EXPECT_EQ(ToHex(out), ToHex(reference::EncodeDatagram(a, data)));
    DatagramAddress back;
    Bytes back_data;
    ASSERT_EQ(reference::DecodeDatagram(out, &back, &back_data), Error::kOk);
    EXPECT_EQ(back, a);
    EXPECT_EQ(back_data, data);
  }
}

}  // namespace
}  // namespace reflex
