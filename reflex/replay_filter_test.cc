// The replay filter, with a fake clock: exact within the window, forgets at
// the window's edge, bounded, and safe when full.
#include "reflex/replay_filter.h"

#include <gtest/gtest.h>

#include <random>
#include <set>
#include <vector>

namespace reflex {
namespace {

using Key = std::array<uint8_t, 32>;
using Verdict = ReplayFilter::Verdict;

Key KeyOf(uint64_t n) {
  Key k{};
  for (int i = 0; i < 8; ++i) k[i] = static_cast<uint8_t>(n >> (8 * i));
  k[31] = 0xAB;
  return k;
}

TEST(ReplayFilter, AReplayWithinTheWindowIsRefusedAndAFreshKeyAccepted) {
  ReplayFilter f({.capacity = 16, .window_seconds = 120});
  EXPECT_EQ(f.Check(KeyOf(1), 1000, 1000), Verdict::kFresh);
  EXPECT_EQ(f.Check(KeyOf(1), 1000, 1000), Verdict::kReplay);
  EXPECT_EQ(f.Check(KeyOf(2), 1000, 1000), Verdict::kFresh);
  EXPECT_EQ(f.GetStats().entries, 2u);
  EXPECT_EQ(f.GetStats().replays, 1u);
}

TEST(ReplayFilter, AnEntryLivesExactlyUntilItsTimestampLeavesTheWindow) {
  // A hello stamped T passes the timestamp check while now <= T + 120: the
  // filter must remember it that long, and may forget it just after.
  ReplayFilter f({.capacity = 16, .window_seconds = 120});
  ASSERT_EQ(f.Check(KeyOf(1), 1000, 950), Verdict::kFresh);  // stamped in the future
  EXPECT_EQ(f.Check(KeyOf(1), 1000, 1120), Verdict::kReplay) << "last second of the window";
  EXPECT_EQ(f.GetStats().entries, 1u);
  EXPECT_EQ(f.Check(KeyOf(2), 1121, 1121), Verdict::kFresh);  // now = T + 121
  EXPECT_EQ(f.GetStats().entries, 1u) << "the first key expired";
  EXPECT_EQ(f.GetStats().expired, 1u);
}

TEST(ReplayFilter, AKeyRestoredTwiceIsRememberedUntilItsLaterStampLeavesTheWindow) {
  for (const bool later_first : {false, true}) {
    SCOPED_TRACE(later_first ? "later first" : "earlier first");
    ReplayFilter f({.capacity = 16, .window_seconds = 120});
    if (later_first) {
      f.Restore(KeyOf(1), 1100, 1050, 0);
      f.Restore(KeyOf(1), 1000, 1050, 0);
    } else {
      f.Restore(KeyOf(1), 1000, 1050, 0);
      f.Restore(KeyOf(1), 1100, 1050, 0);
    }
    EXPECT_EQ(f.Check(KeyOf(1), 1100, 1150), Verdict::kReplay) << "past the earlier stamp's window";
    EXPECT_EQ(f.Check(KeyOf(1), 1100, 1220), Verdict::kReplay);
  }
}

TEST(ReplayFilter, AFullFilterEvictsTheOldestAndRefusesAnythingAsOld) {
  ReplayFilter f({.capacity = 4, .window_seconds = 120});
  for (uint64_t i = 0; i < 4; ++i) ASSERT_EQ(f.Check(KeyOf(i), 1000 + i, 1010), Verdict::kFresh);
  // Full. A fifth fresh hello evicts key 0 (stamped 1000) and sets the floor.
  EXPECT_EQ(f.Check(KeyOf(9), 1010, 1010), Verdict::kFresh);
  EXPECT_EQ(f.GetStats().floor, 1000);
  EXPECT_EQ(f.GetStats().evictions, 1u);
  // The evicted key is forgotten, but its replay is still refused: it is
  // stamped at the floor.
  EXPECT_EQ(f.Check(KeyOf(0), 1000, 1011), Verdict::kBelowFloor);
  // Remembered keys are still refused as replays.
  EXPECT_EQ(f.Check(KeyOf(2), 1002, 1011), Verdict::kReplay);
  EXPECT_EQ(f.GetStats().entries, 4u);
}

// One credential filling the filter with hellos stamped as far ahead as the
// window allows evicts its own entries and raises its own floor only: the
// other users' clients, clocks a little behind, still get in.
TEST(ReplayFilter, OneUsersFloodRaisesOnlyThatUsersFloor) {
  constexpr uint64_t kHonest = 1, kFlooder = 2;
  ReplayFilter f({.capacity = 16, .window_seconds = 120});
  const int64_t now = 10000;
  for (uint64_t i = 0; i < 4; ++i) ASSERT_EQ(f.Check(KeyOf(i), now - 5, now, kHonest), Verdict::kFresh);
  size_t flood_accepted = 0;
  for (uint64_t i = 100; i < 400; ++i) {
    flood_accepted += f.Check(KeyOf(i), now + 120, now, kFlooder) == Verdict::kFresh;
  }
  EXPECT_EQ(flood_accepted, 12u) << "until the filter was full; then its own floor stopped it";
  EXPECT_EQ(f.Check(KeyOf(9), now - 30, now, kHonest), Verdict::kFresh)
      << "an honest client 30 s behind is not refused for the flood";
  for (uint64_t i = 0; i < 4; ++i) {
    EXPECT_EQ(f.Check(KeyOf(i), now - 5, now, kHonest), Verdict::kReplay) << "its entries were kept";
  }
  EXPECT_EQ(f.Check(KeyOf(500), now + 120, now, kFlooder), Verdict::kBelowFloor)
      << "the flooder's own floor rose";
  EXPECT_EQ(f.GetStats().entries, 16u);
}

TEST(ReplayFilter, NoReplayEverPassesWhateverTheLoadAndNoFreshKeyIsRefused) {
  // Random traffic: fresh keys and replays of earlier ones, clocks a little
  // off, a small capacity so the filter is full most of the time. The model
  // remembers everything forever.
  std::mt19937_64 rng(1);
  for (size_t capacity : {size_t{1}, size_t{7}, size_t{64}, size_t{1000}}) {
    ReplayFilter f({.capacity = capacity, .window_seconds = 30});
    std::vector<std::pair<uint64_t, int64_t>> accepted;  // key, timestamp
    std::set<uint64_t> seen;
    int64_t now = 100000;
    uint64_t next_key = 1;
    for (int step = 0; step < 20000; ++step) {
      now += rng() % 3 == 0;
      if (!accepted.empty() && rng() % 3 == 0) {
        const auto& [key, ts] = accepted[rng() % accepted.size()];
        if (std::abs(now - ts) > 30) continue;  // the timestamp check refuses it first
        ASSERT_NE(f.Check(KeyOf(key), ts, now), Verdict::kFresh) << "a replay passed";
      } else {
        const int64_t ts = now - static_cast<int64_t>(rng() % 5);  // clocks up to 4 s behind
        const uint64_t key = next_key++;
        const Verdict v = f.Check(KeyOf(key), ts, now);
        ASSERT_NE(v, Verdict::kReplay) << "a fresh key was taken for a replay";
        if (v == Verdict::kFresh) accepted.push_back({key, ts});
      }
    }
    const auto stats = f.GetStats();
    EXPECT_LE(stats.entries, capacity);
  }
}

TEST(ReplayFilter, WithRoomToSpareNoGenuineHelloIsEverRefused) {
  // Capacity above the peak (hellos per second x 2 x window): no refusals.
  ReplayFilter f({.capacity = 4096, .window_seconds = 10});
  int64_t now = 5000;
  uint64_t key = 1;
  for (int second = 0; second < 200; ++second, ++now) {
    for (int i = 0; i < 100; ++i) {
      ASSERT_EQ(f.Check(KeyOf(key++), now - (i % 3), now), Verdict::kFresh);
    }
  }
  EXPECT_EQ(f.GetStats().evictions, 0u);
  EXPECT_EQ(f.GetStats().below_floor, 0u);
}

TEST(ReplayFilter, MemoryIsBoundedAndTakenUpFront) {
  for (size_t capacity : {size_t{1} << 10, size_t{1} << 16, size_t{100000}}) {
    ReplayFilter f({.capacity = capacity, .window_seconds = 120});
    const size_t before = f.MemoryBytes();
    EXPECT_GE(before, capacity * 92);
    EXPECT_LE(before, capacity * 100 + 64);
    for (uint64_t i = 0; i < 2 * capacity; ++i) (void)f.Check(KeyOf(i), 1000, 1000);
    EXPECT_EQ(f.MemoryBytes(), before) << "memory grew with use";
    std::printf("capacity %zu: %zu bytes, %.1f bytes per entry\n", capacity, before,
                static_cast<double>(before) / static_cast<double>(capacity));
  }
}

}  // namespace
}  // namespace reflex
