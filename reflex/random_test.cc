// The CSPRNG: independent streams per generator, no repeats, uniform
// bounded draws, fresh output after the key is erased.
#include "reflex/random.h"

#include <gtest/gtest.h>

#include <set>
#include <thread>
#include <vector>

namespace reflex {
namespace {

using Bytes = std::vector<uint8_t>;

TEST(Csprng, TwoGeneratorsAndTwoRequestsNeverRepeatEachOther) {
  Csprng a, b;
  ASSERT_EQ(a.error(), Error::kOk);
  std::set<Bytes> seen;
  for (int i = 0; i < 100; ++i) {
    for (Csprng* g : {&a, &b}) {
      Bytes x(32);
      g->Fill(x);
      EXPECT_TRUE(seen.insert(x).second) << "a 32-byte draw repeated";
    }
  }
}

TEST(Csprng, EveryRequestSizeIsFilledCompletely) {
  Csprng g;
  for (size_t n : {0, 1, 15, 63, 64, 65, 1000, 70000}) {
    Bytes x(n + 8, 0);
    g.Fill(std::span<uint8_t>(x).first(n));
    for (size_t i = n; i < n + 8; ++i) EXPECT_EQ(x[i], 0) << "wrote past the request";
    if (n >= 64) {
      // A run of zeros this long in random output has probability 2^-512.
      EXPECT_NE(Bytes(x.begin(), x.begin() + 64), Bytes(64, 0));
    }
  }
}

TEST(Csprng, ByteValuesAreRoughlyUniform) {
  Csprng g;
  Bytes x(1 << 20);
  g.Fill(x);
  std::vector<int> counts(256);
  for (uint8_t v : x) ++counts[v];
  double chi2 = 0;
  const double expected = x.size() / 256.0;
  for (int c : counts) chi2 += (c - expected) * (c - expected) / expected;
  // 255 degrees of freedom: the 0.9999 quantile is about 347.
  EXPECT_LT(chi2, 347.0);
}

TEST(RandomSource, BelowIsInRangeAndHitsEveryValue) {
  Csprng g;
  std::vector<int> hits(7);
  for (int i = 0; i < 7000; ++i) {
    const uint64_t v = g.Below(7);
    ASSERT_LT(v, 7u);
    ++hits[v];
  }
  for (int h : hits) EXPECT_GT(h, 800);
  EXPECT_EQ(g.Below(1), 0u);
}

TEST(Csprng, EachThreadHasItsOwnGenerator) {
  Bytes here(16), there(16);
  ThreadRandom().Fill(here);
  std::thread([&] { ThreadRandom().Fill(there); }).join();
  EXPECT_NE(here, there);
}

}  // namespace
}  // namespace reflex
