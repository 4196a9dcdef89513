// The pooled codec and the unpooled oracle agree byte for byte and error for
// error on a fixed set of inputs (property_tests/ and fuzz/ go further).
#include <gtest/gtest.h>

#include <vector>

#include "pool/buffer_pool.h"
#include "reflex/frame_decoder.h"
#include "reflex/frame_opener.h"
#include "reflex/frame_sealer.h"
#include "reflex/codec_test_util.h"
#include "reflex/unpooled_codec.h"

namespace reflex {
namespace {

using Bytes = std::vector<uint8_t>;

Bytes KeyBytes(const SessionKey& k) { return Bytes(k.data(), k.data() + k.size()); }

TEST(CodecAgreement, SealedFramesAreIdentical) {
  pool::BufferPool pool;
  const SessionKey key = TestKey(9);
  for (uint64_t counter : {uint64_t{1}, uint64_t{2}, uint64_t{1} << 32, UINT64_MAX}) {
    FrameSealer sealer(key, pool, counter);
    for (size_t size : {0, 1, 100, 16384}) {
      pool::Buffer wire;
      ASSERT_EQ(sealer.Seal(FrameType::kData, TestPayload(size), &wire), Error::kOk);
      Bytes expected;
      ASSERT_EQ(unpooled::SealFrame(KeyBytes(key), counter, 1, TestPayload(size), &expected),
                Error::kOk);
      EXPECT_EQ(Bytes(wire.data(), wire.data() + wire.size()), expected);
      if (counter == UINT64_MAX) break;
      ++counter;
    }
  }
}

TEST(CodecAgreement, StreamDecodingAgreesOnFramesAndErrors) {
  pool::BufferPool pool;
  const SessionKey key = TestKey(4);
  Bytes stream;
  uint64_t counter = 1;
  for (size_t size : {5, 0, 3000}) {
    Bytes wire;
    ASSERT_EQ(unpooled::SealFrame(KeyBytes(key), counter++, 1, TestPayload(size), &wire),
              Error::kOk);
    stream.insert(stream.end(), wire.begin(), wire.end());
  }
  // Variants: intact, cut, one corrupted byte, a bogus length.
  std::vector<Bytes> variants = {stream, Bytes(stream.begin(), stream.end() - 1)};
  Bytes corrupt = stream;
  corrupt[30] ^= 1;
  variants.push_back(corrupt);
  Bytes bogus = stream;
  bogus.insert(bogus.end(), {0xFF, 0xFF});
  variants.push_back(bogus);
  for (const Bytes& v : variants) {
    const unpooled::StreamResult expected = unpooled::DecodeStream(KeyBytes(key), 1, v);
    FrameDecoder decoder(key, pool);
    std::vector<unpooled::Frame> got;
    std::span<const uint8_t> in(v);
    Error e = Error::kOk;
    while (!in.empty() && e == Error::kOk) {
      size_t used = 0;
      DecodedFrame f;
      e = decoder.Decode(in.first(std::min<size_t>(7, in.size())), &used, &f);
      in = in.subspan(used);
      if (f) {
        const auto p = f.payload();
        got.push_back({static_cast<uint8_t>(f.type), Bytes(p.begin(), p.end())});
      }
    }
    if (e == Error::kOk) e = decoder.Finish();
    EXPECT_EQ(e, expected.error);
    EXPECT_EQ(got, expected.frames);
  }
}

}  // namespace
}  // namespace reflex
