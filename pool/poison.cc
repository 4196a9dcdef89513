#include "pool/poison.h"

#include <cstring>

namespace reflex::pool {

void FillPattern(void* p, size_t n) {
  std::memset(p, kFillByte, n);
  // Tell the compiler the memory is observed, so a memset before free is kept.
  __asm__ __volatile__("" : : "r"(p) : "memory");
}

size_t FindPatternMismatch(const void* p, size_t n) {
  const auto* bytes = static_cast<const uint8_t*>(p);
  // Word-at-a-time scan; the pattern check runs on every hand-out in checked
  // mode, so it should cost about as much as a memcmp.
  constexpr uint64_t kWord = 0x0101010101010101ull * kFillByte;
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    uint64_t w;
    std::memcpy(&w, bytes + i, 8);
    if (w != kWord) break;
  }
  for (; i < n; ++i) {
    if (bytes[i] != kFillByte) return i;
  }
  return n;
}

}  // namespace reflex::pool
