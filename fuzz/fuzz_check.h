// Invariant checks inside fuzz targets: a broken invariant aborts with a
// message, so libFuzzer (and the replay driver) report it like a crash.
#ifndef REFLEX_FUZZ_FUZZ_CHECK_H_
#define REFLEX_FUZZ_FUZZ_CHECK_H_

#include <cstdio>
#include <cstdlib>

#define FUZZ_CHECK(condition, what)                                       \
  do {                                                                    \
    if (!(condition)) {                                                   \
      std::fprintf(stderr, "%s:%d: invariant broken: %s (%s)\n", __FILE__, \
                   __LINE__, what, #condition);                           \
      std::abort();                                                       \
    }                                                                     \
  } while (0)

#endif  // REFLEX_FUZZ_FUZZ_CHECK_H_
