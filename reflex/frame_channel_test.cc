// FrameChannel on keys the test knows: what a peer that ignores the rules
// can send (a frame after CLOSE, a bad request header), what is swallowed,
// and traffic shaping: exact sizes, exact delivery, the profiles'
// distributions.
#include "reflex/frame_channel.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <vector>

#include "reflex/testing/codec_test_util.h"
#include "reflex/testing/session_test_util.h"

namespace reflex {
namespace {

using testing::Bytes;
using testing::Delivered;
using testing::SeededRandom;

ChannelKeys Keys() {
  return {TestKey(1), TestKey(1), {kWireProfileV2, AeadBackend::kSodium}};
}

Bytes Seal(FrameSealer& sealer, FrameType type, const Bytes& payload) {
  Bytes out(kFrameOverheadBytes + payload.size());
  size_t n = 0;
  EXPECT_EQ(sealer.SealInto(type, payload, out, &n), Error::kOk);
  return out;
}

// Feeds everything and collects events (a FrameChannel is fed directly).
Delivered Drain(FrameChannel& channel, Bytes stream) {
  Delivered d;
  size_t at = 0;
  while (true) {
    size_t used = 0;
    SessionEvent e;
    channel.Receive(std::span<uint8_t>(stream).subspan(at), &used, &e);
    at += used;
    if (e.kind == SessionEventKind::kNone) break;
    d.events.push_back(e.kind);
    if (e.kind == SessionEventKind::kData || e.kind == SessionEventKind::kRequest) {
      d.data.insert(d.data.end(), e.data.begin(), e.data.end());
    }
    if (e.kind == SessionEventKind::kError) {
      d.error = e.reason;
      break;
    }
  }
  return d;
}

TEST(FrameChannel, AFrameAfterThePeersCloseIsAnError) {
  FrameSealer peer(TestKey(1), {kWireProfileV2, AeadBackend::kSodium});
  Bytes stream = Seal(peer, FrameType::kData, {1, 2});
  const Bytes close = Seal(peer, FrameType::kClose, {});
  const Bytes after = Seal(peer, FrameType::kData, {3});
  stream.insert(stream.end(), close.begin(), close.end());
  stream.insert(stream.end(), after.begin(), after.end());
  FrameChannel channel(Keys(), FrameChannel::Side::kClient);
  const Delivered d = Drain(channel, stream);
  EXPECT_EQ(d.events, (std::vector{SessionEventKind::kData, SessionEventKind::kPeerClosed,
                                   SessionEventKind::kError}));
  EXPECT_EQ(d.error, Error::kFrameAfterClose);
  EXPECT_EQ(d.data, (Bytes{1, 2})) << "nothing after CLOSE is delivered";
}

TEST(FrameChannel, EmptyDataAndShapingFramesAreSwallowed) {
  FrameSealer peer(TestKey(1), {kWireProfileV2, AeadBackend::kSodium});
  Bytes stream;
  for (const Bytes& f : {Seal(peer, FrameType::kData, {}), Seal(peer, FrameType::kPadding, {9}),
                         Seal(peer, FrameType::kTiming, {}), Seal(peer, FrameType::kData, {7}),
                         Seal(peer, FrameType::kData, {})}) {
    stream.insert(stream.end(), f.begin(), f.end());
  }
  FrameChannel server(Keys(), FrameChannel::Side::kServer);
  // The server's first DATA frame is the request: an empty one is refused.
  EXPECT_EQ(Drain(server, stream).error, Error::kTooShort);
  FrameChannel client(Keys(), FrameChannel::Side::kClient);
  const Delivered d = Drain(client, stream);
  EXPECT_EQ(d.events, (std::vector{SessionEventKind::kTargetConnected, SessionEventKind::kData}))
      << "the first empty DATA is the connect result; a later one delivers nothing";
  EXPECT_EQ(d.data, Bytes{7});
}

TEST(FrameChannel, TheConnectResultIsAnEmptyDataFrameOrACloseCarryingTheReason) {
  FrameChannel server({TestKey(1), TestKey(1), {kWireProfileV2, AeadBackend::kSodium}},
                      FrameChannel::Side::kServer);
  Bytes out(kFrameOverheadBytes + 1);
  size_t n = 0;
  ASSERT_EQ(server.SealConnectResult(kConnectRefused, out, &n), Error::kOk);
  EXPECT_TRUE(server.closed());
  FrameChannel client(Keys(), FrameChannel::Side::kClient);
  size_t used = 0;
  SessionEvent e;
  client.Receive(std::span<uint8_t>(out.data(), n), &used, &e);
  EXPECT_EQ(e.kind, SessionEventKind::kPeerClosed);
  EXPECT_EQ(e.close_code, kConnectRefused);
  // A server that sends data without a result (the Go one): data is data.
  FrameSealer go(TestKey(1), {kWireProfileV2, AeadBackend::kSodium});
  FrameChannel client2(Keys(), FrameChannel::Side::kClient);
  const Delivered d = Drain(client2, Seal(go, FrameType::kData, {5, 5}));
  EXPECT_EQ(d.events, std::vector{SessionEventKind::kData});
}

TEST(FrameChannel, AMalformedRequestHeaderIsAnErrorWithTheDecodersCode) {
  FrameSealer peer(TestKey(1), {kWireProfileV2, AeadBackend::kSodium});
  for (auto [payload, error] : {std::pair{Bytes{1, 0, 80}, Error::kTooShort},
                                {Bytes{1, 0, 80, 2, 1, 2, 3, 4}, Error::kBadAddressType},
                                {Bytes{1, 0, 80, 3, 0}, Error::kBadDomainLength}}) {
    FrameChannel channel(Keys(), FrameChannel::Side::kServer);
    FrameSealer fresh(TestKey(1), {kWireProfileV2, AeadBackend::kSodium});
    const Delivered d = Drain(channel, Seal(fresh, FrameType::kData, payload));
    EXPECT_EQ(d.error, error);
  }
}

class Shaping : public ::testing::TestWithParam<const MorphProfile*> {};
INSTANTIATE_TEST_SUITE_P(Profiles, Shaping, ::testing::ValuesIn(kMorphProfiles),
                         [](const auto& info) {
                           std::string n(info.param->name);
                           std::replace(n.begin(), n.end(), '-', '_');
                           return n;
                         });

TEST_P(Shaping, ShapedOutputDeliversExactlyTheInputInSlotsOfTheDrawnSizes) {
  SeededRandom random(5);
  Shaper shaper(*GetParam(), random);
  FrameChannel sender({TestKey(2), TestKey(2), {kWireProfileV2, AeadBackend::kOpenssl}},
                      FrameChannel::Side::kClient);
  FrameChannel receiver({TestKey(2), TestKey(2), {kWireProfileV2, AeadBackend::kOpenssl}},
                        FrameChannel::Side::kClient);
  const Bytes input = TestPayload(100000);
  Bytes wire;
  std::span<const uint8_t> rest(input);
  int64_t now = 0, last_send = -1;
  std::vector<size_t> slot_sizes;
  while (!rest.empty()) {
    Bytes out(kMaxMorphSlotBytes);
    ShapedOutput slot;
    ASSERT_EQ(sender.SealShaped(shaper, now, rest, out, &slot), Error::kOk);
    ASSERT_GT(slot.data_taken, 0u);
    ASSERT_GE(slot.send_at_ms, now);
    ASSERT_GE(slot.send_at_ms, last_send);
    last_send = slot.send_at_ms;
    slot_sizes.push_back(slot.wire_bytes);
    wire.insert(wire.end(), out.begin(), out.begin() + static_cast<ptrdiff_t>(slot.wire_bytes));
    rest = rest.subspan(slot.data_taken);
  }
  const Delivered d = Drain(receiver, wire);
  EXPECT_EQ(d.data, input) << "the receiver gets exactly the original bytes, no padding";
  for (size_t size : slot_sizes) {
    bool allowed = false;
    for (size_t i = 0; i < GetParam()->size_count; ++i) allowed |= size == GetParam()->sizes[i].value;
    EXPECT_TRUE(allowed) << "slot of " << size << " bytes";
  }
}

// Chi-square goodness of fit at a fixed seed: 20000 draws against the
// profile's weights; the 0.999 quantile for 3 degrees of freedom is 16.27.
double ChiSquare(const std::map<uint32_t, int>& counts, const std::array<Weighted, 4>& choices,
                 size_t n, int draws) {
  double total_weight = 0;
  for (size_t i = 0; i < n; ++i) total_weight += choices[i].weight;
  double chi2 = 0;
  for (size_t i = 0; i < n; ++i) {
    const double expected = draws * choices[i].weight / total_weight;
    const auto it = counts.find(choices[i].value);
    const double got = it == counts.end() ? 0 : it->second;
    chi2 += (got - expected) * (got - expected) / expected;
  }
  return chi2;
}

TEST_P(Shaping, SlotSizesAndDelaysFollowTheProfilesDistributions) {
  SeededRandom random(11);
  Shaper shaper(*GetParam(), random);
  std::map<uint32_t, int> sizes, delays;
  constexpr int kDraws = 20000;
  int64_t previous = 0;
  for (int i = 0; i < kDraws + 1; ++i) {
    const MorphSlot slot = shaper.Next(0);  // data always waiting: delays are pure draws
    if (i > 0) ++delays[static_cast<uint32_t>(slot.send_at_ms - previous)];
    previous = slot.send_at_ms;
    if (i > 0) ++sizes[static_cast<uint32_t>(slot.wire_bytes)];
  }
  EXPECT_LT(ChiSquare(sizes, GetParam()->sizes, GetParam()->size_count, kDraws), 16.27);
  EXPECT_LT(ChiSquare(delays, GetParam()->delays, GetParam()->delay_count, kDraws), 16.27);
  EXPECT_EQ(sizes.size(), GetParam()->size_count) << "a size outside the profile";
  EXPECT_EQ(delays.size(), GetParam()->delay_count) << "a delay outside the profile";
}

TEST(Shaping, ProfilesAreFoundByName) {
  EXPECT_EQ(FindMorphProfile("youtube"), &kMorphYoutube);
  EXPECT_EQ(FindMorphProfile("zoom"), &kMorphZoom);
  EXPECT_EQ(FindMorphProfile("http2-api"), &kMorphHttp2Api);
  EXPECT_EQ(FindMorphProfile("netflix"), nullptr);
}

}  // namespace
}  // namespace reflex
