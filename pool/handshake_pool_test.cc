#include "pool/handshake_pool.h"

#include <gtest/gtest.h>

#include <cstring>

#include "pool/poison.h"
#include "pool/pool_test_util.h"

namespace reflex::pool {
namespace {

TEST(HandshakePool, ClientHelloBuffersAre76BytesIn8ByteAlignedSlots) {
  HandshakePool pool;
  Buffer hello = pool.GetClientHello();
  ASSERT_TRUE(hello);
  EXPECT_EQ(hello.size(), 76u);
  EXPECT_EQ(hello.capacity(), 80u);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(hello.data()) % 8, 0u);
  std::memset(hello.data(), 0x52, hello.size());
}

TEST(HandshakePool, ServerHelloBuffersAre40Bytes) {
  HandshakePool pool;
  Buffer hello = pool.GetServerHello();
  ASSERT_TRUE(hello);
  EXPECT_EQ(hello.size(), 40u);
  EXPECT_EQ(hello.capacity(), 40u);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(hello.data()) % 8, 0u);
}

TEST(HandshakePool, BothKindsAreReusedAndWipedAndCountedApart) {
  HandshakePool pool;
  uint8_t* client_address;
  uint8_t* server_address;
  {
    Buffer c = pool.GetClientHello();
    Buffer s = pool.GetServerHello();
    std::memset(c.data(), 0x11, c.size());
    std::memset(s.data(), 0x22, s.size());
    client_address = c.data();
    server_address = s.data();
  }
  Buffer c = pool.GetClientHello();
  Buffer s = pool.GetServerHello();
  EXPECT_EQ(c.data(), client_address);
  EXPECT_EQ(s.data(), server_address);
  for (size_t i = 0; i < c.size(); ++i) ASSERT_EQ(c.data()[i], kFillByte);
  for (size_t i = 0; i < s.size(); ++i) ASSERT_EQ(s.data()[i], kFillByte);

  const PoolStats stats = pool.Stats();
  EXPECT_EQ(stats.name, "handshake");
  ASSERT_EQ(stats.tier_count, 2u);
  const TierStats expected_client{.capacity = 80,
                                  .gets = 2,
                                  .hits = 1,
                                  .misses = 1,
                                  .returns = 1,
                                  .outstanding = 1,
                                  .peak_outstanding = 1};
  EXPECT_EQ(stats.tiers[0], expected_client);
  TierStats expected_server = expected_client;
  expected_server.capacity = 40;
  EXPECT_EQ(stats.tiers[1], expected_server);
  EXPECT_EQ(stats.oversize.gets, 0u);
}

TEST(HandshakePool, HelloBuffersCannotGrowPastTheirSlot) {
  HandshakePool pool;
  Buffer c = pool.GetClientHello();
  EXPECT_TRUE(c.Resize(80));
  EXPECT_FALSE(c.Resize(81));
  Buffer s = pool.GetServerHello();
  EXPECT_FALSE(s.Resize(41));
}

}  // namespace
}  // namespace reflex::pool
