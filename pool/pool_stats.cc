#include "pool/pool_stats.h"

#include <cinttypes>
#include <cstdio>

namespace reflex::pool {

std::string ToString(const TierStats& t) {
  char line[512];
  std::snprintf(line, sizeof(line),
                "capacity=%zu gets=%" PRIu64 " hits=%" PRIu64
                " misses=%" PRIu64 " returns=%" PRIu64 " drops=%" PRIu64
                " outstanding=%" PRIu64 " peak_outstanding=%" PRIu64
                " retained_blocks=%" PRIu64 " retained_bytes=%" PRIu64
                " quarantined=%" PRIu64 " poison_violations=%" PRIu64,
                t.capacity, t.gets, t.hits, t.misses, t.returns, t.drops,
                t.outstanding, t.peak_outstanding, t.retained_blocks,
                t.retained_bytes, t.quarantined, t.poison_violations);
  return line;
}

std::string ToString(const PoolStats& stats) {
  std::string out = "pool '" + stats.name + "'\n";
  for (size_t i = 0; i < stats.tier_count; ++i) {
    out += "  tier " + std::to_string(i) + ": " + ToString(stats.tiers[i]) +
           "\n";
  }
  out += "  oversize: " + ToString(stats.oversize) + "\n";
  return out;
}

uint64_t PoolStats::total_outstanding() const {
  uint64_t sum = oversize.outstanding;
  for (size_t i = 0; i < tier_count; ++i) sum += tiers[i].outstanding;
  return sum;
}

uint64_t PoolStats::total_retained_bytes() const {
  uint64_t sum = 0;
  for (size_t i = 0; i < tier_count; ++i) sum += tiers[i].retained_bytes;
  return sum;
}

}  // namespace reflex::pool
