// Test helpers for pool statistics.
#ifndef REFLEX_POOL_POOL_TEST_UTIL_H_
#define REFLEX_POOL_POOL_TEST_UTIL_H_

#include <ostream>

#include "pool/pool_options.h"
#include "pool/pool_stats.h"

namespace reflex::pool {

// gtest prints TierStats field by field when an expectation fails.
inline void PrintTo(const TierStats& tier, std::ostream* os) {
  *os << ToString(tier);
}

// Options whose statistics are exact in every scenario: no thread caches.
inline PoolOptions SharedOnlyOptions(const char* name) {
  PoolOptions options;
  options.name = name;
  options.thread_cache_bytes = 0;
  return options;
}

}  // namespace reflex::pool

#endif  // REFLEX_POOL_POOL_TEST_UTIL_H_
