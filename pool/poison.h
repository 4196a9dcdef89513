// Poisoning of pooled memory: AddressSanitizer shadow poisoning when the build
// has ASan, and a fill pattern that can be verified when it does not.
#ifndef REFLEX_POOL_POISON_H_
#define REFLEX_POOL_POISON_H_

#include <cstddef>
#include <cstdint>

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define REFLEX_POOL_ASAN 1
#endif
#endif
#if !defined(REFLEX_POOL_ASAN) && defined(__SANITIZE_ADDRESS__)
#define REFLEX_POOL_ASAN 1
#endif
#if !defined(REFLEX_POOL_ASAN)
#define REFLEX_POOL_ASAN 0
#endif

#if REFLEX_POOL_ASAN
#include <sanitizer/asan_interface.h>
#endif

namespace reflex::pool {

// True when this translation unit is built with AddressSanitizer.
inline constexpr bool kAsanEnabled = REFLEX_POOL_ASAN != 0;

// The byte a returned buffer is filled with. Not zero, so that a reader of
// stale memory sees an obviously wrong value rather than plausible zeros.
inline constexpr uint8_t kFillByte = 0xDB;

// Marks [p, p+n) as not addressable under ASan; no-op otherwise.
inline void PoisonRegion(const void* p, size_t n) {
#if REFLEX_POOL_ASAN
  ASAN_POISON_MEMORY_REGION(p, n);
#else
  (void)p;
  (void)n;
#endif
}

// Marks [p, p+n) as addressable under ASan; no-op otherwise.
inline void UnpoisonRegion(const void* p, size_t n) {
#if REFLEX_POOL_ASAN
  ASAN_UNPOISON_MEMORY_REGION(p, n);
#else
  (void)p;
  (void)n;
#endif
}

// Under ASan: whether the byte at p is poisoned. Always false otherwise.
inline bool IsPoisoned(const void* p) {
#if REFLEX_POOL_ASAN
  return __asan_address_is_poisoned(p) != 0;
#else
  (void)p;
  return false;
#endif
}

// Under ASan: whether any byte of [p, p+n) is poisoned. False otherwise.
inline bool AnyPoisoned(const void* p, size_t n) {
#if REFLEX_POOL_ASAN
  return __asan_region_is_poisoned(const_cast<void*>(p), n) != nullptr;
#else
  (void)p;
  (void)n;
  return false;
#endif
}

// Overwrites [p, p+n) with kFillByte. The write is never elided by the
// optimizer, even when the memory is freed right after: it is the wipe that
// keeps plaintext and key bytes from lingering.
void FillPattern(void* p, size_t n);

// Returns the offset of the first byte in [p, p+n) that is not kFillByte, or
// n when the whole region still holds the pattern.
size_t FindPatternMismatch(const void* p, size_t n);

}  // namespace reflex::pool

#endif  // REFLEX_POOL_POISON_H_
