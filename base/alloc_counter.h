// Counts heap allocations made anywhere in the process, so tests can assert
// exact allocation counts (e.g. zero per frame after warm-up).
//
// In plain builds linking this library interposes the malloc family (which
// operator new calls too); under sanitizers, which own malloc, it installs
// the sanitizer's allocation hooks. Either way C and C++ allocations count.
#ifndef REFLEX_BASE_ALLOC_COUNTER_H_
#define REFLEX_BASE_ALLOC_COUNTER_H_

#include <cstddef>
#include <cstdint>

namespace reflex::testing {

// Allocations since the process started (every thread).
uint64_t AllocationCount();


// False under ThreadSanitizer, whose allocation hooks miss operator new:
// tests of exact counts skip there (they run in the default and ASan configs).
bool AllocationCountsAreExact();

// Called with every block the process frees, just before it is freed, and
// the block's usable size: lets a test see what memory looked like when it
// went back to the allocator (e.g. that a secret was wiped). One observer at
// a time; nullptr removes it. Not for use while other threads free memory.
using FreeObserver = void (*)(const void* block, size_t usable_size, void* context);
void SetFreeObserver(FreeObserver observer, void* context);

// Allocations made between construction and count().
class AllocationScope {
 public:
  AllocationScope() : start_(AllocationCount()) {}
  uint64_t count() const { return AllocationCount() - start_; }

 private:
  uint64_t start_;
};

}  // namespace reflex::testing

#endif  // REFLEX_BASE_ALLOC_COUNTER_H_
