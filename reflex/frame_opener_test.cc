// FrameOpener::OpenNext, the zero-copy stream path: frames opened where
// they lie in the caller's receive buffer, the length field checked as soon
// as it arrives, the one sticky error shared with every other way in.
#include "reflex/frame_opener.h"

#include <gtest/gtest.h>

#include <vector>

#include "reflex/testing/codec_test_util.h"
#include "reflex/frame_sealer.h"

namespace reflex {
namespace {

using Bytes = std::vector<uint8_t>;

class OpenNext : public BackendTest {
 protected:
  Bytes Stream(const std::vector<size_t>& sizes) {
    FrameSealer sealer(key_, v1());
    Bytes out;
    for (size_t size : sizes) {
      Bytes frame(kFrameOverheadBytes + size);
      size_t written = 0;
      EXPECT_EQ(sealer.SealInto(FrameType::kData, TestPayload(size, 1), frame, &written),
                Error::kOk);
      out.insert(out.end(), frame.begin(), frame.end());
    }
    return out;
  }
  SessionKey key_ = TestKey(5);
};
INSTANTIATE_TEST_SUITE_P(Backends, OpenNext, AllBackends(), BackendName);

TEST_P(OpenNext, OpensEachFrameWhereItLiesAsTheBufferGrows) {
  const std::vector<size_t> sizes = {0, 10, 16384, 3};
  const Bytes stream = Stream(sizes);
  Bytes buffer;  // what a proxy would keep: received, not yet consumed
  FrameOpener opener(key_, v1());
  size_t next = 0;
  for (uint8_t byte : stream) {
    buffer.push_back(byte);
    size_t consumed = 99;
    OpenedFrame f;
    ASSERT_EQ(opener.OpenNext(buffer, &consumed, &f), Error::kOk);
    if (consumed == 0) continue;
    ASSERT_EQ(consumed, buffer.size()) << "a frame is opened as soon as it is whole";
    EXPECT_EQ(f.counter, next + 1);
    EXPECT_EQ(Bytes(f.payload.begin(), f.payload.end()), TestPayload(sizes[next], 1));
    EXPECT_EQ(f.payload.data(), buffer.data() + kFramePayloadOffset) << "in place";
    buffer.clear();
    ++next;
  }
  EXPECT_EQ(next, sizes.size());
}

TEST_P(OpenNext, OpensSeveralFramesFromOneBufferInTurn) {
  Bytes stream = Stream({5, 6, 7});
  FrameOpener opener(key_, v1());
  std::span<uint8_t> rest(stream);
  for (size_t size : {5, 6, 7}) {
    size_t consumed = 0;
    OpenedFrame f;
    ASSERT_EQ(opener.OpenNext(rest, &consumed, &f), Error::kOk);
    ASSERT_EQ(consumed, kFrameOverheadBytes + size);
    EXPECT_EQ(f.payload.size(), size);
    rest = rest.subspan(consumed);
  }
  size_t consumed = 5;
  OpenedFrame f;
  ASSERT_EQ(opener.OpenNext(rest, &consumed, &f), Error::kOk);
  EXPECT_EQ(consumed, 0u);
}

TEST_P(OpenNext, ABadLengthIsRefusedFromItsTwoBytesAndTheErrorSticks) {
  FrameOpener opener(key_, v1());
  Bytes header = {0xFF, 0xFF};
  size_t consumed = 77;
  OpenedFrame f;
  EXPECT_EQ(opener.OpenNext(header, &consumed, &f), Error::kFrameTooLarge);
  EXPECT_EQ(consumed, 77u) << "nothing written on error";
  Bytes good = Stream({1});
  EXPECT_EQ(opener.OpenNext(good, &consumed, &f), Error::kFrameTooLarge);
  EXPECT_EQ(opener.OpenInPlace(good, &f), Error::kFrameTooLarge);
  EXPECT_EQ(opener.error(), Error::kFrameTooLarge);
}

TEST_P(OpenNext, AForgedFrameFailsAndNothingOfItIsDelivered) {
  Bytes stream = Stream({50, 50});
  stream[10] ^= 0x40;
  FrameOpener opener(key_, v1());
  size_t consumed = 3;
  OpenedFrame f;
  f.counter = 1234;
  EXPECT_EQ(opener.OpenNext(stream, &consumed, &f), Error::kAuthFailed);
  EXPECT_EQ(consumed, 3u);
  EXPECT_EQ(f.counter, 1234u);
  EXPECT_TRUE(f.payload.empty());
}

TEST_P(OpenNext, BeginFrameAndOpenBodyMustAgreeOnTheLength) {
  Bytes stream = Stream({8});
  FrameOpener opener(key_, v1());
  OpenedFrame f;
  EXPECT_EQ(opener.OpenBody({stream.data() + 2, stream.size() - 2}, stream.data() + 2, &f),
            Error::kInvalidArgument)
      << "a body without a begun frame";
  FrameOpener second(key_, v1());
  size_t length = 0;
  ASSERT_EQ(second.BeginFrame(std::span<const uint8_t, 2>(stream.data(), 2), &length),
            Error::kOk);
  EXPECT_EQ(length, stream.size() - 2);
  EXPECT_TRUE(second.frame_begun());
  EXPECT_EQ(second.OpenBody({stream.data() + 2, length - 1}, stream.data() + 2, &f),
            Error::kInvalidArgument);
  EXPECT_EQ(second.error(), Error::kInvalidArgument);
}

}  // namespace
}  // namespace reflex
