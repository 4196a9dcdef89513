// ReplayFilter: remembers the client ephemeral public keys of accepted
// hellos for as long as a replay of that hello could pass the timestamp
// check (a hello stamped T is acceptable while now <= T + window), and
// refuses any key it remembers. Used by both profiles.
//
// Exact: it stores whole keys, so it never refuses a hello it has not seen
// (no false positives) and never accepts one it has (no false negatives).
// Bounded: at most `capacity` entries, all memory taken at construction.
// When full of unexpired entries, it evicts the entry with the oldest
// timestamp and raises a floor to that timestamp: from then on a hello
// stamped at or below the floor is refused, since it might replay an
// evicted entry. A client with an accurate clock is refused only if the
// server accepted more than `capacity` hellos in the seconds between the
// floor and now; size capacity >= peak hellos per second x 2 x window.
//
// Thread-safe (one mutex); lookups are O(1) (a keyed SipHash table, so
// chosen keys cannot force collisions), insertions and expiry O(log n).
#ifndef REFLEX_REPLAY_FILTER_H_
#define REFLEX_REPLAY_FILTER_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "base/mutex.h"
#include "base/thread_annotations.h"
#include "reflex/wire.h"

namespace reflex {

// Where a filter records each hello it accepts, so that a server started
// again can remember them (ReplayFilter::Restore): without it, a hello
// recorded before a restart would be accepted after it and confirm the
// server to whoever recorded it. Called with the filter's lock held, once
// per accepted hello: keep it short (a write the kernel buffers).
class ReplayJournal {
 public:
  virtual ~ReplayJournal() = default;
  virtual void Record(std::span<const uint8_t, kPublicKeyBytes> key, int64_t timestamp) = 0;
};

class ReplayFilter {
 public:
  struct Options {
    size_t capacity = 131072;
    int64_t window_seconds = 120;
  };
  enum class Verdict : uint8_t {
    kFresh,       // not seen: remembered now
    kReplay,      // seen within the window
    kBelowFloor,  // stamped at or below the floor of a full filter
  };
  struct Stats {
    size_t entries = 0;
    size_t capacity = 0;
    int64_t floor = INT64_MIN;  // INT64_MIN: never full
    uint64_t accepted = 0;
    uint64_t replays = 0;
    uint64_t below_floor = 0;
    uint64_t evictions = 0;  // unexpired entries dropped because full
    uint64_t expired = 0;
  };
  // All memory is allocated by the constructor: per unit of capacity an
  // entry (48 bytes), a heap slot (16), a free-list slot (4) and 2 to 4
  // hash slots (8 to 16): 76 to 84 bytes (76 when capacity is a power of
  // two). MemoryBytes() reports what this filter holds.
  size_t MemoryBytes() const REFLEX_EXCLUDES(mu_);

  explicit ReplayFilter(Options options);
  ReplayFilter(const ReplayFilter&) = delete;
  ReplayFilter& operator=(const ReplayFilter&) = delete;

  // Decides about a hello whose timestamp already passed the window check
  // (|now - timestamp| <= window), and remembers it if fresh.
  Verdict Check(std::span<const uint8_t, kPublicKeyBytes> key, int64_t timestamp, int64_t now)
      REFLEX_EXCLUDES(mu_);

  // Remembers a hello an earlier process accepted (read back from its
  // journal) as Check would, without recording it again; one that
  // expired by `now` is skipped.
  void Restore(std::span<const uint8_t, kPublicKeyBytes> key, int64_t timestamp, int64_t now)
      REFLEX_EXCLUDES(mu_);
  // Every hello accepted from now on is recorded there (null: none). The
  // journal outlives the filter's use.
  void SetJournal(ReplayJournal* journal) REFLEX_EXCLUDES(mu_);

  Stats GetStats() const REFLEX_EXCLUDES(mu_);
  int64_t window_seconds() const { return options_.window_seconds; }

 private:
  static constexpr uint32_t kEmpty = UINT32_MAX;
  struct Entry {
    std::array<uint8_t, kPublicKeyBytes> key;
    int64_t timestamp;
    uint32_t heap_pos;
  };
  struct HeapItem {
    int64_t timestamp;
    uint32_t entry;
  };

  uint64_t HashOf(std::span<const uint8_t, kPublicKeyBytes> key) const;
  uint32_t FindSlot(std::span<const uint8_t, kPublicKeyBytes> key) const REFLEX_REQUIRES(mu_);
  void RemoveEntry(uint32_t entry) REFLEX_REQUIRES(mu_);
  void HeapSwap(size_t a, size_t b) REFLEX_REQUIRES(mu_);
  void SiftUp(size_t i) REFLEX_REQUIRES(mu_);
  void SiftDown(size_t i) REFLEX_REQUIRES(mu_);
  void HeapRemove(size_t i) REFLEX_REQUIRES(mu_);
  Verdict Insert(std::span<const uint8_t, kPublicKeyBytes> key, int64_t timestamp, int64_t now)
      REFLEX_REQUIRES(mu_);

  const Options options_;
  std::array<uint8_t, 16> hash_key_{};
  mutable base::Mutex mu_;
  std::vector<Entry> entries_ REFLEX_GUARDED_BY(mu_);
  std::vector<uint32_t> free_ REFLEX_GUARDED_BY(mu_);
  std::vector<uint32_t> slots_ REFLEX_GUARDED_BY(mu_);  // power of two, >= 2 x capacity
  std::vector<HeapItem> heap_ REFLEX_GUARDED_BY(mu_);   // min-heap by timestamp
  Stats stats_ REFLEX_GUARDED_BY(mu_);
  ReplayJournal* journal_ REFLEX_GUARDED_BY(mu_) = nullptr;
};

}  // namespace reflex

#endif  // REFLEX_REPLAY_FILTER_H_
