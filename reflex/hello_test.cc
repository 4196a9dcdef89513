#include "reflex/hello.h"

#include <gtest/gtest.h>

#include <vector>

#include "reflex/testing/codec_test_util.h"
#include "reflex/handshake_pool.h"
#include "base/hex.h"

namespace reflex {
namespace {

using testing::FromHex;
using testing::ToHex;

ClientHello SampleClientHello() {
  ClientHello h;
  for (size_t i = 0; i < 32; ++i) h.public_key[i] = static_cast<uint8_t>(i);
  for (size_t i = 0; i < 16; ++i) h.user_id[i] = static_cast<uint8_t>(0xA0 + i);
  h.timestamp = 0x0102030405060708;
  for (size_t i = 0; i < 16; ++i) h.nonce[i] = static_cast<uint8_t>(0xF0 + i);
  return h;
}

TEST(ClientHello, EncodesTheV1LayoutByteForByte) {
  uint8_t out[76];
  ASSERT_EQ(EncodeClientHello(SampleClientHello(), out), Error::kOk);
  EXPECT_EQ(ToHex(out),
            "5246584c"  // magic "RFXL"
            "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
            "a0a1a2a3a4a5a6a7a8a9aaabacadaeaf"  // user id
            "0102030405060708"                  // timestamp, big-endian
            "f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff");
}

TEST(ClientHello, DecodeInvertsEncode) {
  uint8_t out[76];
  ClientHello h = SampleClientHello();
  h.timestamp = -1;  // int64, any value
  ASSERT_EQ(EncodeClientHello(h, out), Error::kOk);
  ClientHello back;
  ASSERT_EQ(DecodeClientHello(out, &back), Error::kOk);
  EXPECT_EQ(back, h);
}

TEST(ClientHello, RefusesShortInputBeforeLookingAtTheMagic) {
  std::vector<uint8_t> b(75, 0);
  ClientHello untouched = SampleClientHello();
  EXPECT_EQ(DecodeClientHello(b, &untouched), Error::kTooShort);
  EXPECT_EQ(untouched, SampleClientHello());
  EXPECT_EQ(DecodeClientHello({}, &untouched), Error::kTooShort);
}

TEST(ClientHello, RefusesBadMagic) {
  uint8_t out[76];
  ASSERT_EQ(EncodeClientHello(SampleClientHello(), out), Error::kOk);
  ClientHello h;
  for (int i = 0; i < 4; ++i) {
    uint8_t copy[76];
    std::copy(out, out + 76, copy);
    copy[i] ^= 0x01;
    EXPECT_EQ(DecodeClientHello(copy, &h), Error::kBadMagic) << "byte " << i;
  }
  // "REFX", the Go comment's name, is not the magic: the bytes are.
  const std::vector<uint8_t> refx = {'R', 'E', 'F', 'X'};
  std::copy(refx.begin(), refx.end(), out);
  EXPECT_EQ(DecodeClientHello(out, &h), Error::kBadMagic);
}

TEST(ClientHello, RefusesTrailingBytesAfterAValidMagic) {
  std::vector<uint8_t> b(77, 0);
  ASSERT_EQ(EncodeClientHello(SampleClientHello(), b), Error::kOk);
  ClientHello h;
  EXPECT_EQ(DecodeClientHello(b, &h), Error::kTrailingBytes);
  b[0] = 0;  // with a bad magic too, the magic is reported first
  EXPECT_EQ(DecodeClientHello(b, &h), Error::kBadMagic);
}

TEST(ClientHello, EncodeNeedsRoomFor76Bytes) {
  std::vector<uint8_t> small(75, 0x77);
  EXPECT_EQ(EncodeClientHello(SampleClientHello(), small), Error::kBufferTooSmall);
  EXPECT_EQ(small, std::vector<uint8_t>(75, 0x77));
}

TEST(ClientHello, EncodesIntoAPooledHandshakeBuffer) {
  HandshakePool pool;
  pool::Buffer b;
  ASSERT_EQ(EncodeClientHello(SampleClientHello(), pool, &b), Error::kOk);
  ASSERT_EQ(b.size(), 76u);
  ClientHello back;
  ASSERT_EQ(DecodeClientHello(b.span(), &back), Error::kOk);
  EXPECT_EQ(back, SampleClientHello());
}

TEST(ServerHello, EncodesTheV1LayoutAndRoundTrips) {
  ServerHello h;
  h.public_key.fill(0x33);
  h.timestamp = 1700000000;
  uint8_t out[40];
  ASSERT_EQ(EncodeServerHello(h, out), Error::kOk);
  EXPECT_EQ(ToHex(out),
            "3333333333333333333333333333333333333333333333333333333333333333"
            "000000006553f100");
  ServerHello back;
  ASSERT_EQ(DecodeServerHello(out, &back), Error::kOk);
  EXPECT_EQ(back, h);
  HandshakePool pool;
  pool::Buffer b;
  ASSERT_EQ(EncodeServerHello(h, pool, &b), Error::kOk);
  EXPECT_EQ(ToHex(b.span()), ToHex(out));
}

TEST(HandshakePool, ClientHellosTake80ByteSlotsAndServerHellosUpTo48) {
  HandshakePool pool;
  pool::Buffer c = pool.GetClientHello();
  ASSERT_TRUE(c);
  EXPECT_EQ(c.size(), 76u);
  EXPECT_EQ(c.capacity(), 80u);
  pool::Buffer v1 = pool.GetServerHello(kWireProfileV1);
  EXPECT_EQ(v1.size(), 40u);
  EXPECT_EQ(v1.capacity(), 48u);
  pool::Buffer v2 = pool.GetServerHello(kWireProfileV2);
  EXPECT_EQ(v2.size(), 48u);
  EXPECT_EQ(v2.capacity(), 48u);
  EXPECT_EQ(pool.Stats().name, "handshake");
  EXPECT_EQ(pool.Stats().tiers[HandshakePool::kClientSlot].outstanding, 1u);
  EXPECT_EQ(pool.Stats().tiers[HandshakePool::kServerSlot].outstanding, 2u);
}

TEST(ServerHello, RefusesAnyOtherLength) {
  ServerHello h;
  EXPECT_EQ(DecodeServerHello(std::vector<uint8_t>(39), &h), Error::kTooShort);
  EXPECT_EQ(DecodeServerHello(std::vector<uint8_t>(41), &h), Error::kTrailingBytes);
  EXPECT_EQ(DecodeServerHello(std::vector<uint8_t>(76), &h), Error::kTrailingBytes);
}

}  // namespace
}  // namespace reflex
