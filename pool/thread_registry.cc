#include "pool/thread_registry.h"

#include "pool/pool_core.h"

namespace reflex::pool::detail {

constinit thread_local RegistryEntry t_entries[kMaxPoolsPerThread]
    REFLEX_POOL_FAST_TLS = {};
constinit thread_local uint32_t t_entry_count REFLEX_POOL_FAST_TLS = 0;
constinit thread_local RegistryEntry t_last_entry REFLEX_POOL_FAST_TLS = {};
std::atomic<uint64_t> g_shutdown_generation{0};
constinit thread_local uint64_t t_seen_shutdown_generation
    REFLEX_POOL_FAST_TLS = 0;

namespace {

constinit thread_local bool t_exiting REFLEX_POOL_FAST_TLS = false;

// Removes entry i from the table, then retires its cache. The core may be
// deleted by the retirement, so nothing touches it after.
void RetireEntry(uint32_t i) {
  ThreadCache* cache = t_entries[i].cache;
  t_entries[i] = t_entries[--t_entry_count];
  t_entries[t_entry_count] = {};
  t_last_entry = {};
  cache->core->RetireCache(cache);
  delete cache;
}

// Its destructor retires this thread's caches at thread exit. Kept apart
// from the entries so the fast path reads only constant-initialized
// thread-locals (no initialization guard).
struct ThreadExitHook {
  bool armed = false;
  ~ThreadExitHook() {
    t_exiting = true;
    while (t_entry_count > 0) RetireEntry(t_entry_count - 1);
  }
};
thread_local ThreadExitHook t_exit_hook;

}  // namespace

bool ThreadIsExiting() { return t_exiting; }

bool RegisterThreadCache(uint64_t pool_id, ThreadCache* cache) {
  if (t_entry_count == kMaxPoolsPerThread) {
    RetireClosedThreadCaches();
    if (t_entry_count == kMaxPoolsPerThread) return false;
  }
  t_entries[t_entry_count++] = {pool_id, cache};
  t_exit_hook.armed = true;  // constructs the hook, registering its destructor
  return true;
}

void RetireClosedThreadCaches() {
  t_seen_shutdown_generation =
      g_shutdown_generation.load(std::memory_order_acquire);
  for (uint32_t i = 0; i < t_entry_count;) {
    if (t_entries[i].cache->core->closed()) {
      RetireEntry(i);  // moves the last entry to i
    } else {
      ++i;
    }
  }
}

void RetireThreadCache(uint64_t pool_id) {
  for (uint32_t i = 0; i < t_entry_count; ++i) {
    if (t_entries[i].pool_id == pool_id) {
      RetireEntry(i);
      return;
    }
  }
}

}  // namespace reflex::pool::detail
