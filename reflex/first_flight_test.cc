// The first flight's shapes (SPEC.md 11.8): what each writes around
// message 1, that the server reads message 1 back out of exactly that, and
// that anything else is bad_shape.
#include "reflex/first_flight.h"

#include <gtest/gtest.h>

#include <array>
#include <string>
#include <vector>

#include "reflex/testing/session_test_util.h"

namespace reflex {
namespace {

using Bytes = std::vector<uint8_t>;
using Message1 = std::array<uint8_t, kClientHelloBytesV2>;

Message1 SomeMessage1(uint8_t seed) {
  Message1 m{};
  for (size_t i = 0; i < m.size(); ++i) m[i] = static_cast<uint8_t>(seed * 31 + i * 7);
  return m;
}

FirstFlight Http(std::string host = "www.example.com", std::string path = "/assets/") {
  return {FirstFlightShape::kHttp, std::move(host), std::move(path)};
}
FirstFlight Tls(std::string host = "www.example.com") { return {FirstFlightShape::kTls, std::move(host), "/"}; }

const TlsFiller kFiller = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20};

Bytes Encode(const FirstFlight& f, const Message1& m) {
  Bytes out(FirstFlightBytes(f));
  EXPECT_EQ(EncodeFirstFlight(f, m, kFiller, out), Error::kOk);
  return out;
}

std::string Text(const Bytes& b) { return std::string(b.begin(), b.end()); }

TEST(FirstFlight, RawIsMessageOneAsIs) {
  const FirstFlight raw;
  const Message1 m = SomeMessage1(1);
  EXPECT_EQ(FirstFlightBytes(raw), 76u);
  EXPECT_EQ(Encode(raw, m), Bytes(m.begin(), m.end()));
}

TEST(FirstFlight, HttpIsAGetRequestHeadWithMessageOneInBase64UrlInThePath) {
  const FirstFlight f = Http();
  const Message1 m = SomeMessage1(2);
  const std::string head = Text(Encode(f, m));
  ASSERT_EQ(head.size(), FirstFlightBytes(f));
  EXPECT_EQ(head.size(), 140u + f.host.size() + f.path.size());
  EXPECT_EQ(head.substr(0, 12), "GET /assets/");
  EXPECT_EQ(head.substr(12 + 102), " HTTP/1.1\r\nHost: www.example.com\r\nAccept: */*\r\n\r\n");
  for (const char c : head.substr(12, 102)) {
    EXPECT_TRUE(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_') << c;
  }
}

TEST(FirstFlight, TlsIsAClientHelloRecordWithMessageOneInKeyShareRandomAndSessionId) {
  const FirstFlight f = Tls();
  const Message1 m = SomeMessage1(3);
  const Bytes hello = Encode(f, m);
  ASSERT_EQ(hello.size(), FirstFlightBytes(f));
  EXPECT_EQ(hello.size(), 166u + f.host.size());
  // Record header: handshake, TLS 1.0 on the record, its length.
  EXPECT_EQ(Bytes(hello.begin(), hello.begin() + 3), (Bytes{0x16, 0x03, 0x01}));
  EXPECT_EQ(size_t{hello[3]} << 8 | hello[4], hello.size() - 5);
  EXPECT_EQ(hello[5], 0x01) << "ClientHello";
  EXPECT_EQ(size_t{hello[6]} << 16 | size_t{hello[7]} << 8 | hello[8], hello.size() - 9);
  EXPECT_EQ(Bytes(hello.begin() + 11, hello.begin() + 43), Bytes(m.begin() + 32, m.begin() + 64)) << "random";
  EXPECT_EQ(hello[43], 32) << "session id length";
  EXPECT_EQ(Bytes(hello.begin() + 44, hello.begin() + 56), Bytes(m.begin() + 64, m.end()));
  EXPECT_EQ(Bytes(hello.begin() + 56, hello.begin() + 76), Bytes(kFiller.begin(), kFiller.end()));
  EXPECT_EQ(Bytes(hello.end() - 32, hello.end()), Bytes(m.begin(), m.begin() + 32)) << "the X25519 key share";
  const std::string text = Text(hello);
  EXPECT_NE(text.find("www.example.com"), std::string::npos) << "server_name";
}

TEST(FirstFlight, EachShapeReadsBackTheMessageItCarries) {
  for (const FirstFlight& f : {FirstFlight{}, Http(), Http("a", "/"), Tls(), Tls(std::string(253, 'h'))}) {
    SCOPED_TRACE(std::string(FirstFlightShapeName(f.shape)) + " " + f.host);
    for (uint8_t seed = 0; seed < 20; ++seed) {
      const Message1 m = SomeMessage1(seed);
      Message1 got{};
      TlsFiller filler{};
      ASSERT_EQ(DecodeFirstFlight(f, Encode(f, m), got, &filler), Error::kOk);
      EXPECT_EQ(got, m);
      if (f.shape == FirstFlightShape::kTls) {
        EXPECT_EQ(filler, kFiller);
      }
    }
  }
}

TEST(FirstFlight, TheLongestFitsTheBoundAndOneTcpSegment) {
  EXPECT_EQ(FirstFlightBytes(Http(std::string(kMaxShapeHostBytes, 'h'), "/" + std::string(63, 'p'))),
            kMaxFirstFlightBytes);
  EXPECT_LE(FirstFlightBytes(Tls(std::string(kMaxShapeHostBytes, 'h'))), kMaxFirstFlightBytes);
  EXPECT_LT(kMaxFirstFlightBytes, 536u);
}

// Every byte of the shape is checked: one changed anywhere but in what
// message 1 or the tls filler occupies is bad_shape (the filler is the
// session's to check, with the user's PSK: ShapedSessions).
TEST(FirstFlight, AnyByteChangedOutsideTheCarriedBytesIsBadShape) {
  for (const FirstFlight& f : {Http(), Tls()}) {
    SCOPED_TRACE(FirstFlightShapeName(f.shape));
    const Message1 m = SomeMessage1(9);
    const Bytes good = Encode(f, m);
    size_t refused = 0;
    for (size_t at = 0; at < good.size(); ++at) {
      Bytes bad = good;
      bad[at] ^= 0x01;
      Message1 got{};
      const Error e = DecodeFirstFlight(f, bad, got);
      const bool filler = f.shape == FirstFlightShape::kTls && at >= 56 && at < 76;
      if (e == Error::kOk) {
        EXPECT_TRUE(filler || got != m) << "a changed byte at " << at << " read back the same message";
      } else {
        EXPECT_EQ(e, Error::kBadShape) << at;
        ++refused;
      }
    }
    // http: all but the 102 digits, some of which turn into other digits
    // (and the last digit's low bits); tls: all but the 76 carried bytes
    // and the 20 filler bytes.
    const size_t carried = f.shape == FirstFlightShape::kHttp ? 102 : 96;
    EXPECT_GE(refused, good.size() - carried);
  }
}

TEST(FirstFlight, ANonCanonicalLastDigitOrAForeignDigitIsBadShape) {
  const FirstFlight f = Http("h", "/");
  const Bytes good = Encode(f, SomeMessage1(4));
  const size_t last = 5 + 101;  // "GET /" then the digits
  Message1 got{};
  Bytes bad = good;
  bad[last] = 'B';  // value 1: low bits not zero
  EXPECT_EQ(DecodeFirstFlight(f, bad, got), Error::kBadShape);
  bad = good;
  bad[10] = '+';  // standard base64, not base64url
  EXPECT_EQ(DecodeFirstFlight(f, bad, got), Error::kBadShape);
}

TEST(FirstFlight, TheWrongLengthIsTooShortOrTrailingBytes) {
  for (const FirstFlight& f : {FirstFlight{}, Http(), Tls()}) {
    const Bytes good = Encode(f, SomeMessage1(5));
    Message1 got{};
    EXPECT_EQ(DecodeFirstFlight(f, std::span<const uint8_t>(good).first(good.size() - 1), got), Error::kTooShort);
    Bytes longer = good;
    longer.push_back('x');
    EXPECT_EQ(DecodeFirstFlight(f, longer, got), Error::kTrailingBytes);
  }
}

TEST(FirstFlight, HostsAndPathsOutsideTheirAlphabetsAreRefused) {
  EXPECT_EQ(CheckFirstFlight(Http("")), Error::kInvalidArgument);
  EXPECT_EQ(CheckFirstFlight(Http(std::string(254, 'h'))), Error::kInvalidArgument);
  EXPECT_EQ(CheckFirstFlight(Http("a b")), Error::kInvalidArgument);
  EXPECT_EQ(CheckFirstFlight(Http("a\r\nX: y")), Error::kInvalidArgument);
  EXPECT_EQ(CheckFirstFlight(Http("h", "assets/")), Error::kInvalidArgument) << "no leading /";
  EXPECT_EQ(CheckFirstFlight(Http("h", "/a?b")), Error::kInvalidArgument);
  EXPECT_EQ(CheckFirstFlight(Http("h", "/" + std::string(64, 'p'))), Error::kInvalidArgument);
  EXPECT_EQ(CheckFirstFlight(Tls("bad_host")), Error::kInvalidArgument);
  EXPECT_EQ(CheckFirstFlight(Http("cdn.example-1.com", "/a/b-c_d.e~f/")), Error::kOk);
  Bytes out(kMaxFirstFlightBytes);
  EXPECT_EQ(EncodeFirstFlight(Http("a b"), SomeMessage1(1), kFiller, out), Error::kInvalidArgument);
  Bytes small(10);
  EXPECT_EQ(EncodeFirstFlight(Http(), SomeMessage1(1), kFiller, small), Error::kBufferTooSmall);
}

TEST(FirstFlight, ShapeNamesParseBack) {
  for (const FirstFlightShape s : {FirstFlightShape::kRaw, FirstFlightShape::kHttp, FirstFlightShape::kTls}) {
    FirstFlightShape parsed{};
    ASSERT_TRUE(ParseFirstFlightShape(FirstFlightShapeName(s), &parsed));
    EXPECT_EQ(parsed, s);
  }
  FirstFlightShape parsed{};
  EXPECT_FALSE(ParseFirstFlightShape("HTTP", &parsed));
}

}  // namespace
}  // namespace reflex
