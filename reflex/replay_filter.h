// ReplayFilter: remembers the client ephemeral public keys of accepted
// hellos for as long as a replay of that hello could pass the timestamp
// check (a hello stamped T is acceptable while now <= T + window), and
// refuses any key it remembers. Used by both profiles.
//
// Exact: it stores whole keys, so it never refuses a hello it has not seen
// (no false positives) and never accepts one it has (no false negatives).
// Bounded: at most `capacity` entries, all taken at construction (plus a
// small record per user with entries in it). Each entry belongs to the
// user whose hello it was (an owner: ReplayOwnerOf). When full of
// unexpired entries, it evicts the earliest-accepted entry of the user
// holding the most, and raises that user's floor to its timestamp: from
// then on a hello of that user stamped at or below the floor is refused,
// since it might replay an evicted entry. So a user who floods the filter
// (with hellos stamped up to the window ahead, say) evicts its own
// entries and raises only its own floor; the others' hellos are not
// refused for it. A client with an accurate clock is refused only if its
// user held the most entries when the filter was full; size capacity >=
// peak hellos per second x 2 x window.
//
// Thread-safe (one mutex); lookups are O(1) (a keyed SipHash table, so
// chosen keys cannot force collisions), insertions and expiry O(log n).
#ifndef REFLEX_REPLAY_FILTER_H_
#define REFLEX_REPLAY_FILTER_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <unordered_map>
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
  virtual void Record(std::span<const uint8_t, kPublicKeyBytes> key, int64_t timestamp,
                      uint64_t owner) = 0;
};

// The owner of a user's entries: a hash of the user's id, the same in
// every process (so a journal read back keeps them apart).
uint64_t ReplayOwnerOf(std::span<const uint8_t> user_id);

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
    int64_t floor = INT64_MIN;  // the highest user's floor; INT64_MIN: never full
    uint64_t accepted = 0;
    uint64_t replays = 0;
    uint64_t below_floor = 0;
    uint64_t evictions = 0;  // unexpired entries dropped because full
    uint64_t expired = 0;
  };
  // The entries are allocated by the constructor: per unit of capacity an
  // entry (64 bytes), a heap slot (16), a free-list slot (4) and 2 to 4
  // hash slots (8 to 16): 92 to 100 bytes (92 when capacity is a power of
  // two). MemoryBytes() reports those; the per-user records (one per user
  // with entries or a floor, 40 bytes or so) come on top.
  size_t MemoryBytes() const REFLEX_EXCLUDES(mu_);

  explicit ReplayFilter(Options options);
  ReplayFilter(const ReplayFilter&) = delete;
  ReplayFilter& operator=(const ReplayFilter&) = delete;

  // Decides about a hello of `owner` whose timestamp already passed the
  // window check (|now - timestamp| <= window), and remembers it if fresh.
  Verdict Check(std::span<const uint8_t, kPublicKeyBytes> key, int64_t timestamp, int64_t now,
                uint64_t owner = 0) REFLEX_EXCLUDES(mu_);

  // Remembers a hello an earlier process accepted (read back from its
  // journal) as Check would, without recording it again; one that
  // expired by `now` is skipped, and a key restored twice keeps the later
  // stamp.
  void Restore(std::span<const uint8_t, kPublicKeyBytes> key, int64_t timestamp, int64_t now,
               uint64_t owner) REFLEX_EXCLUDES(mu_);
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
    uint64_t owner;
    uint32_t newer;  // the owner's next entry in acceptance order, or kEmpty
    uint32_t older;
  };
  struct Owner {
    size_t entries = 0;
    int64_t floor = INT64_MIN;
    uint32_t oldest = kEmpty;  // accepted first
    uint32_t newest = kEmpty;
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
  Verdict Insert(std::span<const uint8_t, kPublicKeyBytes> key, int64_t timestamp, int64_t now,
                 uint64_t owner) REFLEX_REQUIRES(mu_);
  // Full: the earliest entry of the owner with the most goes, raising that
  // owner's floor.
  void EvictFromTheLargestOwner() REFLEX_REQUIRES(mu_);
  void Unlink(uint32_t entry) REFLEX_REQUIRES(mu_);
  int64_t FloorOf(uint64_t owner) const REFLEX_REQUIRES(mu_);

  const Options options_;
  std::array<uint8_t, 16> hash_key_{};
  mutable base::Mutex mu_;
  std::vector<Entry> entries_ REFLEX_GUARDED_BY(mu_);
  std::vector<uint32_t> free_ REFLEX_GUARDED_BY(mu_);
  std::vector<uint32_t> slots_ REFLEX_GUARDED_BY(mu_);  // power of two, >= 2 x capacity
  std::vector<HeapItem> heap_ REFLEX_GUARDED_BY(mu_);   // min-heap by timestamp
  Stats stats_ REFLEX_GUARDED_BY(mu_);
  ReplayJournal* journal_ REFLEX_GUARDED_BY(mu_) = nullptr;
  std::unordered_map<uint64_t, Owner> owners_ REFLEX_GUARDED_BY(mu_);
};

}  // namespace reflex

#endif  // REFLEX_REPLAY_FILTER_H_
