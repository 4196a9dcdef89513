// Traffic morphing: the Go original's three profiles, as distributions of
// slot sizes (wire bytes an observer sees per burst) and of the delay
// between slots. A Shaper draws them; the session fills each slot with a
// DATA frame and, where the data runs short, a PADDING frame of zeros
// (encrypted, so zeros are as good as random), never padding inside DATA
// (the Go original's flaw 10). Sans-IO: a slot carries its earliest send
// time and the caller waits, never the library.
#ifndef REFLEX_MORPH_H_
#define REFLEX_MORPH_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "reflex/random.h"

namespace reflex {

struct Weighted {
  uint32_t value = 0;  // bytes, or milliseconds
  uint32_t weight = 0;  // relative (the profiles' tenths)
};

struct MorphProfile {
  std::string_view name;
  std::array<Weighted, 4> sizes{};
  size_t size_count = 0;
  std::array<Weighted, 4> delays{};
  size_t delay_count = 0;
};

// youtube: 1400/1200/1000/800 B at .4/.3/.2/.1, 10/20/30 ms at .5/.3/.2;
// zoom: 500/600/700 B at .3/.4/.3, 30/40/50 ms at .4/.4/.2;
// http2-api: 200/500/1000/1500 B at .2/.3/.3/.2, 5/10/15 ms at .3/.4/.3.
inline constexpr MorphProfile kMorphYoutube = {
    "youtube", {{{1400, 4}, {1200, 3}, {1000, 2}, {800, 1}}}, 4, {{{10, 5}, {20, 3}, {30, 2}}}, 3};
inline constexpr MorphProfile kMorphZoom = {
    "zoom", {{{500, 3}, {600, 4}, {700, 3}}}, 3, {{{30, 4}, {40, 4}, {50, 2}}}, 3};
inline constexpr MorphProfile kMorphHttp2Api = {
    "http2-api", {{{200, 2}, {500, 3}, {1000, 3}, {1500, 2}}}, 4, {{{5, 3}, {10, 4}, {15, 3}}}, 3};
inline constexpr const MorphProfile* kMorphProfiles[] = {&kMorphYoutube, &kMorphZoom,
                                                         &kMorphHttp2Api};
const MorphProfile* FindMorphProfile(std::string_view name);  // null if unknown

// One slot: send its frames (exactly `wire_bytes` of them) at or after
// `send_at_ms` on the caller's monotonic clock.
struct MorphSlot {
  size_t wire_bytes = 0;
  int64_t send_at_ms = 0;
};

class Shaper {
 public:
  Shaper(const MorphProfile& profile, RandomSource& random) : profile_(&profile), random_(&random) {}
  // The next slot, for data ready at now_ms: the first slot goes at once,
  // each later one a drawn delay after the previous (or now, if later).
  MorphSlot Next(int64_t now_ms);
  uint32_t DrawSize() { return Draw(profile_->sizes, profile_->size_count); }
  uint32_t DrawDelay() { return Draw(profile_->delays, profile_->delay_count); }
  const MorphProfile& profile() const { return *profile_; }

 private:
  uint32_t Draw(const std::array<Weighted, 4>& choices, size_t count);

  const MorphProfile* profile_;
  RandomSource* random_;
  bool started_ = false;
  int64_t last_send_ms_ = 0;
};

}  // namespace reflex

#endif  // REFLEX_MORPH_H_
