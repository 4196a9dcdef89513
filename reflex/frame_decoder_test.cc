// The streaming decoder: any chunking, in order, bounded buffering, sticky
// errors, nothing yielded that was not sent.
#include "reflex/frame_decoder.h"

#include <gtest/gtest.h>

#include <random>
#include <vector>

#include "pool/buffer_pool.h"
#include "reflex/testing/codec_test_util.h"
#include "reflex/frame_sealer.h"
#include "reflex/pooled_frames.h"
#include "reflex/testing/chunked_decode.h"

namespace reflex {
namespace {

using Bytes = std::vector<uint8_t>;

struct Sent {
  FrameType type;
  Bytes payload;
};

struct Received {
  FrameType type;
  uint64_t counter;
  Bytes payload;
};

class FrameDecoderTest : public BackendTest {
 protected:
  Bytes SealAll(const std::vector<Sent>& frames, uint64_t first_counter = 1) {
    FrameSealer sealer(key_, first_counter, v1());
    Bytes stream;
    for (const Sent& s : frames) {
      pool::Buffer wire;
      EXPECT_EQ(SealToBuffer(sealer, pool_, s.type, s.payload, &wire), Error::kOk);
      stream.insert(stream.end(), wire.data(), wire.data() + wire.size());
    }
    return stream;
  }
  FrameDecoder Decoder(uint64_t first_counter = kFirstFrameCounterV1) {
    return FrameDecoder(key_, pool_, first_counter, v1());
  }

  // Feeds `stream` in chunks of the given sizes (cycled) through the shared
  // loop, which also checks the decoder's contract on every call; returns
  // the frames and the first error.
  Error DecodeChunked(FrameDecoder& decoder, const Bytes& stream,
                      const std::vector<size_t>& chunks, std::vector<Received>* out) {
    const testing::ChunkedDecode r = testing::DecodeInChunks(decoder, stream, chunks);
    EXPECT_EQ(r.broken, "") << "decoder contract broken";
    for (size_t i = 0; i < r.frames.size(); ++i) {
      out->push_back({static_cast<FrameType>(r.frames[i].type), r.counters[i], r.frames[i].payload});
    }
    return r.error;
  }

  std::vector<Sent> MixedFrames() {
    return {{FrameType::kData, TestPayload(0)},
            {FrameType::kData, TestPayload(1)},
            {FrameType::kPadding, TestPayload(300)},
            {FrameType::kTiming, TestPayload(2)},
            {FrameType::kData, TestPayload(16384)},
            {FrameType::kData, TestPayload(4096)},
            {FrameType::kClose, {}}};
  }

  void ExpectSame(const std::vector<Sent>& sent, const std::vector<Received>& got,
                  uint64_t first_counter = 1) {
    ASSERT_EQ(got.size(), sent.size());
    for (size_t i = 0; i < sent.size(); ++i) {
      EXPECT_EQ(got[i].type, sent[i].type) << i;
      EXPECT_EQ(got[i].counter, first_counter + i) << i;
      EXPECT_EQ(got[i].payload, sent[i].payload) << i;
    }
  }

  pool::BufferPool pool_;
  SessionKey key_ = TestKey(7);
};
INSTANTIATE_TEST_SUITE_P(Backends, FrameDecoderTest, AllBackends(), BackendName);

TEST_P(FrameDecoderTest, DecodesAWholeStreamInOneChunk) {
  const auto sent = MixedFrames();
  FrameDecoder decoder = Decoder();
  std::vector<Received> got;
  ASSERT_EQ(DecodeChunked(decoder, SealAll(sent), {1 << 20}, &got), Error::kOk);
  ExpectSame(sent, got);
}

TEST_P(FrameDecoderTest, DecodesOneByteAtATime) {
  const auto sent = MixedFrames();
  FrameDecoder decoder = Decoder();
  std::vector<Received> got;
  ASSERT_EQ(DecodeChunked(decoder, SealAll(sent), {1}, &got), Error::kOk);
  ExpectSame(sent, got);
}

TEST_P(FrameDecoderTest, ChunkingNeverChangesTheResult) {
  const auto sent = MixedFrames();
  const Bytes stream = SealAll(sent);
  std::mt19937 rng(42);
  const std::vector<std::vector<size_t>> chunkings = {
      {2}, {3}, {17}, {18}, {19}, {1, 2}, {16402, 1}, {16403}, {100000}};
  for (const auto& chunks : chunkings) {
    FrameDecoder decoder = Decoder();
    std::vector<Received> got;
    ASSERT_EQ(DecodeChunked(decoder, stream, chunks, &got), Error::kOk);
    ExpectSame(sent, got);
  }
  for (int trial = 0; trial < 50; ++trial) {
    std::vector<size_t> chunks;
    for (int i = 0; i < 16; ++i) chunks.push_back(1 + rng() % 5000);
    FrameDecoder decoder = Decoder();
    std::vector<Received> got;
    ASSERT_EQ(DecodeChunked(decoder, stream, chunks, &got), Error::kOk);
    ExpectSame(sent, got);
  }
}

TEST_P(FrameDecoderTest, StartsAtTheGivenCounter) {
  const auto sent = MixedFrames();
  FrameDecoder decoder = Decoder(uint64_t{1} << 32);
  std::vector<Received> got;
  ASSERT_EQ(DecodeChunked(decoder, SealAll(sent, uint64_t{1} << 32), {777}, &got),
            Error::kOk);
  ExpectSame(sent, got, uint64_t{1} << 32);
}

TEST_P(FrameDecoderTest, AnImpossibleLengthFailsBeforeItsBodyArrives) {
  for (const Bytes& header : {Bytes{0xFF, 0xFF}, Bytes{0xFF, 0xFE}, Bytes{0x40, 0x12}}) {
    FrameDecoder decoder = Decoder();
    size_t used = 12345;
    DecodedFrame f;
    EXPECT_EQ(decoder.Decode(header, &used, &f), Error::kFrameTooLarge);
    EXPECT_EQ(used, 12345u) << "*consumed is not written on error";
    EXPECT_EQ(decoder.buffered(), 0u);
  }
  FrameDecoder decoder = Decoder();
  size_t used = 0;
  DecodedFrame f;
  EXPECT_EQ(decoder.Decode(Bytes{0x00, 0x0F}, &used, &f), Error::kBadLength);
}

TEST_P(FrameDecoderTest, ErrorsAreStickyAndNothingFollowsThem) {
  const auto sent = MixedFrames();
  Bytes stream = SealAll(sent);
  // Corrupt the third frame's tag; frames 1 and 2 still come out.
  const size_t third = (2 + 17 + 0) + (2 + 17 + 1);
  stream[third + 2 + 17 + 300 - 1] ^= 0x80;
  FrameDecoder decoder = Decoder();
  std::vector<Received> got;
  EXPECT_EQ(DecodeChunked(decoder, stream, {5}, &got), Error::kAuthFailed);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(decoder.error(), Error::kAuthFailed);
  // Good bytes afterwards change nothing.
  const Bytes more = SealAll(sent);
  size_t used = 99;
  DecodedFrame f;
  EXPECT_EQ(decoder.Decode(more, &used, &f), Error::kAuthFailed);
  EXPECT_EQ(used, 99u) << "nothing is written on error";
  EXPECT_FALSE(f);
  EXPECT_EQ(decoder.Finish(), Error::kAuthFailed);
}

TEST_P(FrameDecoderTest, ACutStreamIsReportedAtFinish) {
  const Bytes stream = SealAll({{FrameType::kData, TestPayload(10)}});
  for (size_t cut = 1; cut < stream.size(); ++cut) {
    FrameDecoder decoder = Decoder();
    size_t used = 0;
    DecodedFrame f;
    ASSERT_EQ(decoder.Decode({stream.data(), cut}, &used, &f), Error::kOk);
    EXPECT_EQ(used, cut);
    EXPECT_FALSE(f);
    EXPECT_EQ(decoder.buffered(), cut);
    EXPECT_EQ(decoder.Finish(), Error::kTooShort);
  }
  FrameDecoder decoder = Decoder();
  EXPECT_EQ(decoder.Finish(), Error::kOk);
}

TEST_P(FrameDecoderTest, ReorderedFramesFailAuthentication) {
  const Bytes a = SealAll({{FrameType::kData, TestPayload(5)}, {FrameType::kData, TestPayload(6)}});
  // Swap the two frames (each 2 + 1 + n + 16 bytes).
  Bytes swapped(a.begin() + 24, a.end());
  swapped.insert(swapped.end(), a.begin(), a.begin() + 24);
  FrameDecoder decoder = Decoder();
  std::vector<Received> got;
  EXPECT_EQ(DecodeChunked(decoder, swapped, {1000}, &got), Error::kAuthFailed);
  EXPECT_TRUE(got.empty());
}

TEST_P(FrameDecoderTest, CounterExhaustionEndsTheStream) {
  const auto sent = std::vector<Sent>{{FrameType::kData, TestPayload(3)}};
  FrameDecoder decoder = Decoder(UINT64_MAX);
  std::vector<Received> got;
  ASSERT_EQ(DecodeChunked(decoder, SealAll(sent, UINT64_MAX), {1000}, &got), Error::kOk);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].counter, UINT64_MAX);
  size_t used = 0;
  DecodedFrame f;
  const Bytes header = {0x00, 0x14};
  EXPECT_EQ(decoder.Decode(header, &used, &f), Error::kCounterExhausted);
}

TEST_P(FrameDecoderTest, OnErrorNeitherConsumedNorTheFrameIsWritten) {
  // Every way a Decode call can fail leaves the caller's outputs alone.
  Bytes good = SealAll({{FrameType::kData, TestPayload(40)}});
  Bytes forged = good;
  forged[10] ^= 1;
  const std::vector<std::pair<Bytes, Error>> cases = {
      {{0xFF, 0xFF}, Error::kFrameTooLarge},
      {{0x00, 0x01}, Error::kBadLength},
      {forged, Error::kAuthFailed},
  };
  for (const auto& [input, error] : cases) {
    FrameDecoder decoder = Decoder();
    size_t used = 777;
    DecodedFrame f;
    f.counter = 4242;
    EXPECT_EQ(decoder.Decode(input, &used, &f), error);
    EXPECT_EQ(used, 777u);
    EXPECT_EQ(f.counter, 4242u);
    EXPECT_FALSE(f);
  }
}

TEST_P(FrameDecoderTest, PayloadsLiveInPooledBuffersThatAreReturnedWiped) {
  const Bytes stream = SealAll({{FrameType::kData, TestPayload(1000)}});
  FrameDecoder decoder = Decoder();
  size_t used = 0;
  DecodedFrame f;
  ASSERT_EQ(decoder.Decode(stream, &used, &f), Error::kOk);
  ASSERT_TRUE(f);
  EXPECT_EQ(pool_.Stats().tiers[0].outstanding, 1u);
  const uint8_t* address = f.plaintext.data();
  f.plaintext.Reset();
  pool::Buffer next = pool_.Get(1100);
  ASSERT_EQ(next.data(), address);
  for (size_t i = 0; i < next.size(); ++i) ASSERT_EQ(next.data()[i], pool::kFillByte);
}

}  // namespace
}  // namespace reflex
