// Options shared by every pool kind (buffer, slot and object pools).
#ifndef REFLEX_POOL_POOL_OPTIONS_H_
#define REFLEX_POOL_POOL_OPTIONS_H_

#include <cstddef>
#include <string>

namespace reflex::pool {

struct PoolStats;

// Checked mode verifies the fill pattern of every reused buffer when it is
// handed out again. On in debug builds (and so in tests), off in optimized
// builds unless selected.
#ifdef NDEBUG
inline constexpr bool kCheckedByDefault = false;
#else
inline constexpr bool kCheckedByDefault = true;
#endif

// Called when a pool is destroyed while handles are still outstanding, with
// the statistics at that moment (tiers[i].outstanding > 0 names the tiers).
// The pool stays alive internally until the last handle comes back, so
// returning those handles later is safe.
using LeakHandler = void (*)(const PoolStats& at_destruction, void* context);

struct PoolOptions {
  // Named in statistics, leak reports and poison-violation messages.
  std::string name = "pool";

  // Overwrite what was handed out when it comes back. Turn off only for a
  // pool that never holds plaintext or keys. Checked mode writes the fill
  // pattern regardless (it needs it to detect writes after return).
  bool wipe_on_return = true;

  // Verify the fill pattern when a reused buffer is handed out (not under
  // ASan, where poisoning already reports any access after return).
  bool checked = kCheckedByDefault;

  // What a pattern mismatch does: abort with a message (default), or count
  // it in poison_violations, report it on stderr and discard the buffer.
  bool abort_on_violation = true;

  // Bytes of reusable memory the pool may keep (free lists plus the
  // reservations of per-thread caches). Returns past the cap are freed and
  // counted as drops.
  size_t max_retained_bytes = size_t{64} << 20;

  // Buffers per tier held back in FIFO order before they may be reused, so a
  // stale pointer is caught even under heavy reuse. 0 turns it off. A pool
  // with quarantine bypasses the per-thread caches.
  size_t quarantine_per_tier = 0;

  // Per-thread caches in front of the shared free lists: at most this many
  // bytes per thread (split evenly across tiers), and at most
  // thread_cache_max_blocks per tier. 0 bytes turns the caches off.
  size_t thread_cache_bytes = size_t{1} << 20;
  size_t thread_cache_max_blocks = 32;

  // Leak reporting; nullptr prints a report to stderr.
  LeakHandler on_leak = nullptr;
  void* on_leak_context = nullptr;
};

}  // namespace reflex::pool

#endif  // REFLEX_POOL_POOL_OPTIONS_H_
