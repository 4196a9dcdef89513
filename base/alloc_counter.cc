#include "base/alloc_counter.h"

#include <atomic>
#include <cerrno>
#include <cstddef>
#include <cstdlib>
#include <new>

#if defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer) || \
    __has_feature(memory_sanitizer)
#define REFLEX_SANITIZER_OWNS_MALLOC 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define REFLEX_SANITIZER_OWNS_MALLOC 1
#endif
#if defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define REFLEX_TSAN 1
#endif
#endif
#if defined(__SANITIZE_THREAD__)
#define REFLEX_TSAN 1
#endif

namespace {
std::atomic<uint64_t> g_allocations{0};
void Count() { g_allocations.fetch_add(1, std::memory_order_relaxed); }
std::atomic<reflex::testing::FreeObserver> g_free_observer{nullptr};
std::atomic<void*> g_free_observer_context{nullptr};
void ObserveFree(const void* block, size_t usable_size) {
  if (block == nullptr) return;
  if (auto observer = g_free_observer.load(std::memory_order_acquire)) {
    observer(block, usable_size, g_free_observer_context.load(std::memory_order_relaxed));
  }
}
}  // namespace

namespace reflex::testing {

uint64_t AllocationCount() {
  return g_allocations.load(std::memory_order_relaxed);
}


void SetFreeObserver(FreeObserver observer, void* context) {
  g_free_observer_context.store(context, std::memory_order_relaxed);
  g_free_observer.store(observer, std::memory_order_release);
}

#if defined(REFLEX_TSAN)
bool AllocationCountsAreExact() { return false; }
#else
bool AllocationCountsAreExact() { return true; }
#endif

}  // namespace reflex::testing

#if !defined(REFLEX_SANITIZER_OWNS_MALLOC)

// glibc's own entry points, which the interposed functions forward to.
extern "C" {
void* __libc_malloc(size_t size);
void* __libc_calloc(size_t n, size_t size);
void* __libc_realloc(void* p, size_t size);
void* __libc_memalign(size_t alignment, size_t size);
void __libc_free(void* p);

void* malloc(size_t size) {
  Count();
  return __libc_malloc(size);
}
void* calloc(size_t n, size_t size) {
  Count();
  return __libc_calloc(n, size);
}
void* realloc(void* p, size_t size) {
  Count();
  return __libc_realloc(p, size);
}
size_t malloc_usable_size(void* p);
void free(void* p) {
  if (p != nullptr && g_free_observer.load(std::memory_order_relaxed) != nullptr) {
    ObserveFree(p, malloc_usable_size(p));
  }
  __libc_free(p);
}
void* aligned_alloc(size_t alignment, size_t size) {
  Count();
  return __libc_memalign(alignment, size);
}
void* memalign(size_t alignment, size_t size) {
  Count();
  return __libc_memalign(alignment, size);
}
int posix_memalign(void** out, size_t alignment, size_t size) {
  if (alignment < sizeof(void*) || (alignment & (alignment - 1)) != 0) {
    return EINVAL;
  }
  Count();
  void* p = __libc_memalign(alignment, size);
  if (p == nullptr) return ENOMEM;
  *out = p;
  return 0;
}
}  // extern "C"

#else  // sanitizer builds: the sanitizer owns malloc and reports to hooks.

#include <sanitizer/allocator_interface.h>

namespace {
void OnMalloc(const volatile void*, size_t) { Count(); }
// Sanitizers run free hooks before the block is released or poisoned.
void OnFree(const volatile void* p) {
  if (p != nullptr && g_free_observer.load(std::memory_order_relaxed) != nullptr) {
    const void* block = const_cast<const void*>(p);
    ObserveFree(block, __sanitizer_get_allocated_size(block));
  }
}
// Installed before main(); the hooks see malloc and operator new alike.
const int g_hooks_installed =
    __sanitizer_install_malloc_and_free_hooks(OnMalloc, OnFree);
}  // namespace

#endif
