// The codec and the reference model agree byte for byte and error for error
// on a fixed set of inputs, with each AEAD backend (property_tests/ and
// fuzz/ go further).
#include <gtest/gtest.h>

#include <vector>

#include "pool/buffer_pool.h"
#include "reflex/testing/codec_test_util.h"
#include "reflex/frame_decoder.h"
#include "reflex/frame_opener.h"
#include "reflex/frame_sealer.h"
#include "reflex/pooled_frames.h"
#include "reflex/reference_model.h"
#include "reflex/testing/chunked_decode.h"

namespace reflex {
namespace {

using Bytes = std::vector<uint8_t>;

class CodecAgreement : public BackendTest {};
INSTANTIATE_TEST_SUITE_P(Backends, CodecAgreement, AllBackends(), BackendName);

TEST_P(CodecAgreement, SealedFramesAreIdentical) {
  pool::BufferPool pool;
  const SessionKey key = TestKey(9);
  for (uint64_t counter : {uint64_t{1}, uint64_t{2}, uint64_t{1} << 32, UINT64_MAX}) {
    FrameSealer sealer(key, counter, v1());
    for (size_t size : {0, 1, 100, 16384}) {
      pool::Buffer wire;
      ASSERT_EQ(SealToBuffer(sealer, pool, FrameType::kData, TestPayload(size), &wire),
                Error::kOk);
      Bytes expected;
      ASSERT_EQ(reference::SealFrame(KeyBytes(key), counter, 1, TestPayload(size), &expected, Profile::kV1Compat),
                Error::kOk);
      EXPECT_EQ(Bytes(wire.data(), wire.data() + wire.size()), expected);
      if (counter == UINT64_MAX) break;
      ++counter;
    }
  }
}

TEST_P(CodecAgreement, StreamDecodingAgreesOnFramesAndErrors) {
  pool::BufferPool pool;
  const SessionKey key = TestKey(4);
  Bytes stream;
  uint64_t counter = 1;
  for (size_t size : {5, 0, 3000}) {
    Bytes wire;
    ASSERT_EQ(reference::SealFrame(KeyBytes(key), counter++, 1, TestPayload(size), &wire, Profile::kV1Compat),
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
  const size_t sevens[] = {7};
  for (const Bytes& v : variants) {
    const reference::StreamResult expected = reference::DecodeStream(KeyBytes(key), 1, v, Profile::kV1Compat);
    FrameDecoder decoder(key, pool, v1());
    const testing::ChunkedDecode got = testing::DecodeInChunks(decoder, v, sevens);
    EXPECT_EQ(got.broken, "");
    EXPECT_EQ(got.error, expected.error);
    EXPECT_EQ(got.frames, expected.frames);
  }
}

}  // namespace
}  // namespace reflex
