// Which thread caches the calling thread has: a small thread-local table of
// (pool id, cache) entries, one per pool the thread has used. Only the
// owning thread reads or writes its table, so it needs no lock. Pool ids are
// never reused.
//
// A cache keeps its pool's core alive (PoolCore counts it as a holder) until
// the thread retires it: at thread exit, or on the thread's next slow-path
// operation on any pool after that pool shut down. A thread that never uses
// any pool again keeps a destroyed pool's cache (at most
// PoolOptions::thread_cache_bytes of blocks) until it exits.
#ifndef REFLEX_POOL_THREAD_REGISTRY_H_
#define REFLEX_POOL_THREAD_REGISTRY_H_

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "pool/thread_cache.h"

// initial-exec: Bazel compiles with -fPIC, whose default TLS model calls
// __tls_get_addr on every access; that call alone would double the cost of a
// get+return. (It limits dlopen() of a shared build of this library to the
// static TLS surplus glibc reserves, which these few bytes fit.)
#define REFLEX_POOL_FAST_TLS __attribute__((tls_model("initial-exec")))

namespace reflex::pool::detail {

inline constexpr size_t kMaxPoolsPerThread = 16;

struct RegistryEntry {
  uint64_t pool_id;
  ThreadCache* cache;
};
extern constinit thread_local RegistryEntry t_entries[kMaxPoolsPerThread]
    REFLEX_POOL_FAST_TLS;
extern constinit thread_local uint32_t t_entry_count REFLEX_POOL_FAST_TLS;
// The entry this thread used last: a thread usually works with one pool at a
// time, so one compare finds it.
extern constinit thread_local RegistryEntry t_last_entry REFLEX_POOL_FAST_TLS;

// Bumped by every pool shutdown; a thread compares it with the value it last
// saw to know when to look for caches of closed pools.
extern std::atomic<uint64_t> g_shutdown_generation;
extern constinit thread_local uint64_t t_seen_shutdown_generation
    REFLEX_POOL_FAST_TLS;

// This thread's cache for the pool, or null.
inline ThreadCache* FindThreadCache(uint64_t pool_id) {
  if (t_last_entry.pool_id == pool_id) return t_last_entry.cache;
  for (uint32_t i = 0; i < t_entry_count; ++i) {
    if (t_entries[i].pool_id == pool_id) {
      t_last_entry = t_entries[i];
      return t_entries[i].cache;
    }
  }
  return nullptr;
}

// True once this thread's exit hook ran: later operations (from other
// thread-local destructors) must not create caches.
bool ThreadIsExiting();

// Adds an entry (and arms the thread-exit hook). False when the table is
// full even after retiring the caches of closed pools.
bool RegisterThreadCache(uint64_t pool_id, ThreadCache* cache);

// Retires this thread's caches of pools that shut down, if any pool shut
// down since the thread last looked. Cheap when none did.
void RetireClosedThreadCaches();
inline void MaybeRetireClosedThreadCaches() {
  if (g_shutdown_generation.load(std::memory_order_acquire) !=
      t_seen_shutdown_generation) {
    RetireClosedThreadCaches();
  }
}

// Retires this thread's cache for the pool now (it must not be used after).
void RetireThreadCache(uint64_t pool_id);

}  // namespace reflex::pool::detail

#endif  // REFLEX_POOL_THREAD_REGISTRY_H_
