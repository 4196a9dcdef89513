// The kind `datagram` (SPEC.md 15.2), the same in both profiles: valid
// payloads of every address type and the size limits, then refusals
// front to back.
#include <string>
#include <vector>

#include "base/hex.h"
#include "reflex/datagram.h"
#include "tools/generators.h"

namespace reflex::tools {
namespace {

using testing::FromHex;
using testing::ToHex;

struct ValidDatagram {
  AddressType type;
  Bytes address;
  uint16_t port;
  Bytes data;
  const char* comment;
};

void AddValidDatagrams(VectorBuilder& b) {
  const Bytes loopback6 = FromHex("00000000000000000000000000000001");
  const ValidDatagram valid[] = {
      {AddressType::kIpv4, {127, 0, 0, 1}, 53, Text("query"), "IPv4 destination"},
      {AddressType::kIpv4, {192, 0, 2, 1}, 9, {}, "a datagram of 0 bytes: the address alone"},
      {AddressType::kIpv4, {10, 0, 0, 1}, 65535, Pattern(1, 1), "1 byte, port 65535"},
      {AddressType::kIpv6, FromHex("20010db8000000000000000000000001"), 443, Pattern(1200, 2),
       "IPv6, 1200 bytes"},
      {AddressType::kDomain, Text("example.com"), 53, Pattern(512, 3), "domain destination"},
      {AddressType::kDomain, Text("x"), 1, {}, "1-byte domain, empty datagram"},
      {AddressType::kDomain, Bytes(255, 'a'), 7, Pattern(kMaxPayloadBytes - 259, 4),
       "255-byte domain and the largest datagram after it (16125 bytes)"},
      {AddressType::kIpv4, {127, 0, 0, 1}, 7, Pattern(kMaxIpv4DatagramBytes, 5),
       "the largest IPv4 datagram: 16377 bytes"},
      {AddressType::kIpv6, loopback6, 7, Pattern(kMaxIpv6DatagramBytes, 6),
       "the largest IPv6 datagram: 16365 bytes"},
      {AddressType::kIpv4, {0, 0, 0, 0}, 0, Text("x"), "address 0.0.0.0 and port 0 decode (a server drops them)"},
  };
  for (const ValidDatagram& v : valid) {
    DatagramAddress a;
    a.type = v.type;
    a.length = static_cast<uint8_t>(v.address.size());
    std::copy(v.address.begin(), v.address.end(), a.bytes.begin());
    a.port = v.port;
    Bytes encoded(kMaxPayloadBytes);
    size_t n = 0;
    Must(EncodeDatagram(a, v.data, encoded, &n));
    encoded.resize(n);
    Json t = b.Test("valid", v.comment);
    t["encoded"] = ToHex(encoded);
    t["address_type"] = static_cast<int>(v.type);
    t["address"] = ToHex(v.address);
    t["port"] = v.port;
    t["data"] = ToHex(v.data);
    b.Add(t);
  }
}

void AddInvalidDatagrams(VectorBuilder& b) {
  struct Invalid {
    std::string hex;
    const char* error;
    const char* comment;
  };
  const std::string largest_ipv4 = "017f0000010007" + ToHex(Pattern(kMaxIpv4DatagramBytes, 5));
  const Invalid invalid[] = {
      {"", "too_short", "no payload at all"},
      {"01", "too_short", "IPv4 type, no address"},
      {"017f0000", "too_short", "IPv4 address cut"},
      {"017f000001", "too_short", "no port"},
      {"017f00000100", "too_short", "port cut"},
      {"0420010db8", "too_short", "IPv6 address cut"},
      {"03", "too_short", "domain type, no length"},
      {"030561", "too_short", "domain cut"},
      {"03056162636465", "too_short", "domain whole, no port"},
      {"0300", "bad_domain_length", "domain of length 0"},
      {"03000035", "bad_domain_length", "domain of length 0, then bytes"},
      {"00", "bad_address_type", "address type 0"},
      {"027f0000010035", "bad_address_type", "address type 2"},
      {"05", "bad_address_type", "address type 5"},
      {"ff7f000001003541", "bad_address_type", "address type 255"},
      {largest_ipv4 + "00", "frame_too_large", "16385 bytes: one more than a frame holds"},
      {"02" + ToHex(Bytes(kMaxPayloadBytes, 0)), "frame_too_large",
       "16385 bytes are refused by size before the bad address type"},
  };
  for (const Invalid& v : invalid) {
    Json t = b.Test("invalid", std::string(v.error) + ": " + v.comment);
    t["encoded"] = v.hex;
    t["error"] = v.error;
    b.Add(t);
  }
  // Fields given: they must not encode to exactly the refused bytes.
  Json t = b.Test("invalid", "frame_too_large: the largest IPv4 datagram and one byte more, fields given");
  t["encoded"] = largest_ipv4 + "00";
  t["error"] = "frame_too_large";
  t["address_type"] = 1;
  t["address"] = "7f000001";
  t["port"] = 7;
  t["data"] = ToHex(Pattern(kMaxIpv4DatagramBytes, 5)) + "00";
  b.Add(t);
}

}  // namespace

void GenerateDatagrams(VectorBuilder& b, const WireProfile&) {
  AddValidDatagrams(b);
  AddInvalidDatagrams(b);
}

}  // namespace reflex::tools
