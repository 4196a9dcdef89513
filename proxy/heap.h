// The process's malloc as the proxy sees it: what it holds, and freed
// memory given back to the kernel. The reflex program links jemalloc
// (proxy/jemalloc_config.cc): its size classes keep small long-lived
// objects apart from short-lived ones (Asio keeps every socket's reactor
// state for reuse; in glibc's heap those pin the pages a burst of tunnels
// used, so resident memory stayed at several times its level before the
// burst). Tests built without a sanitizer run on glibc's malloc, which is
// handled here too (found at run time); under ASan and TSan the
// sanitizer's allocator is in use, and these calls do little.
#ifndef REFLEX_PROXY_HEAP_H_
#define REFLEX_PROXY_HEAP_H_

#include <cstdint>
#include <string_view>

namespace reflex::proxy {

struct HeapFigures {
  std::string_view allocator;   // "jemalloc" or "glibc"
  uint64_t in_use_bytes = 0;    // held by live allocations
  uint64_t resident_bytes = 0;  // jemalloc: pages it keeps resident; glibc: 0 (unknown)
  uint64_t free_bytes = 0;      // glibc: free in its arenas; jemalloc: 0
};
HeapFigures ReadHeapFigures();

// Bytes this thread has allocated so far (jemalloc: exact, ever allocated;
// glibc: the process's bytes in use), for measuring what one object costs
// as a difference around making it.
uint64_t ThreadAllocatedBytes();

// The calling thread's share of giving memory back: jemalloc's cache of
// this thread is emptied into its arena. Every thread, every housekeeping
// period.
void GiveBackThreadCache();

// Freed memory returned to the kernel: jemalloc purges every unused dirty
// page of every arena; glibc trims its arenas when more than 1 MiB lies
// free in them. True when anything was asked of the allocator.
bool GiveBackFreedMemory();

}  // namespace reflex::proxy

#endif  // REFLEX_PROXY_HEAP_H_
