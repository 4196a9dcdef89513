#include "reflex/replay_filter.h"

#include <sodium.h>

#include <algorithm>
#include <cstring>

namespace reflex {

ReplayFilter::ReplayFilter(Options options) : options_(options) {
  const size_t capacity = std::max<size_t>(1, options_.capacity);
  size_t slots = 2;
  while (slots < 2 * capacity) slots *= 2;
  if (sodium_init() >= 0) randombytes_buf(hash_key_.data(), hash_key_.size());
  base::MutexLock lock(mu_);
  entries_.resize(capacity);
  free_.reserve(capacity);
  for (size_t i = capacity; i-- > 0;) free_.push_back(static_cast<uint32_t>(i));
  slots_.assign(slots, kEmpty);
  heap_.reserve(capacity);
  stats_.capacity = capacity;
}

uint64_t ReplayFilter::HashOf(std::span<const uint8_t, kPublicKeyBytes> key) const {
  uint8_t out[crypto_shorthash_siphash24_BYTES];
  crypto_shorthash_siphash24(out, key.data(), key.size(), hash_key_.data());
  uint64_t h;
  std::memcpy(&h, out, sizeof(h));
  return h;
}

// The slot holding key, or the empty slot where it would go.
uint32_t ReplayFilter::FindSlot(std::span<const uint8_t, kPublicKeyBytes> key) const {
  const size_t mask = slots_.size() - 1;
  for (size_t i = HashOf(key) & mask;; i = (i + 1) & mask) {
    const uint32_t e = slots_[i];
    if (e == kEmpty || std::equal(key.begin(), key.end(), entries_[e].key.begin())) {
      return static_cast<uint32_t>(i);
    }
  }
}

void ReplayFilter::HeapSwap(size_t a, size_t b) {
  std::swap(heap_[a], heap_[b]);
  entries_[heap_[a].entry].heap_pos = static_cast<uint32_t>(a);
  entries_[heap_[b].entry].heap_pos = static_cast<uint32_t>(b);
}

void ReplayFilter::SiftUp(size_t i) {
  while (i > 0 && heap_[(i - 1) / 2].timestamp > heap_[i].timestamp) {
    HeapSwap(i, (i - 1) / 2);
    i = (i - 1) / 2;
  }
}

void ReplayFilter::SiftDown(size_t i) {
  while (true) {
    size_t smallest = i;
    for (size_t c : {2 * i + 1, 2 * i + 2}) {
      if (c < heap_.size() && heap_[c].timestamp < heap_[smallest].timestamp) smallest = c;
    }
    if (smallest == i) return;
    HeapSwap(i, smallest);
    i = smallest;
  }
}

void ReplayFilter::HeapRemove(size_t i) {
  const size_t last = heap_.size() - 1;
  if (i != last) HeapSwap(i, last);
  heap_.pop_back();
  if (i < heap_.size()) {
    SiftDown(i);
    SiftUp(i);
  }
}

// Drops an entry from the heap and the table (backward-shift deletion keeps
// every probe chain unbroken) and frees it.
void ReplayFilter::RemoveEntry(uint32_t entry) {
  Unlink(entry);
  HeapRemove(entries_[entry].heap_pos);
  const size_t mask = slots_.size() - 1;
  size_t hole = FindSlot(entries_[entry].key);
  for (size_t i = (hole + 1) & mask; slots_[i] != kEmpty; i = (i + 1) & mask) {
    const size_t home = HashOf(entries_[slots_[i]].key) & mask;
    // Move the entry back if the hole lies on its probe path.
    if (((i - home) & mask) >= ((i - hole) & mask)) {
      slots_[hole] = slots_[i];
      hole = i;
    }
  }
  slots_[hole] = kEmpty;
  free_.push_back(entry);
  --stats_.entries;
}

uint64_t ReplayOwnerOf(std::span<const uint8_t> user_id) {
  uint8_t digest[crypto_generichash_BYTES_MIN];
  crypto_generichash(digest, sizeof digest, user_id.data(), user_id.size(), nullptr, 0);
  uint64_t owner;
  std::memcpy(&owner, digest, sizeof owner);
  return owner;
}

ReplayFilter::Verdict ReplayFilter::Check(std::span<const uint8_t, kPublicKeyBytes> key,
                                          int64_t timestamp, int64_t now, uint64_t owner) {
  base::MutexLock lock(mu_);
  const Verdict verdict = Insert(key, timestamp, now, owner);
  if (verdict == Verdict::kFresh && journal_ != nullptr) journal_->Record(key, timestamp, owner);
  return verdict;
}

void ReplayFilter::Restore(std::span<const uint8_t, kPublicKeyBytes> key, int64_t timestamp,
                           int64_t now, uint64_t owner) {
  if (static_cast<__int128>(timestamp) + options_.window_seconds < static_cast<__int128>(now)) return;
  base::MutexLock lock(mu_);
  // A key recorded twice (a v1 client may reuse one once its first hello
  // has left the window) is remembered with its later stamp, whatever order
  // the journal gives them in.
  const uint32_t slot = FindSlot(key);
  if (slots_[slot] != kEmpty) {
    if (entries_[slots_[slot]].timestamp >= timestamp) return;
    RemoveEntry(slots_[slot]);
  }
  (void)Insert(key, timestamp, now, owner);
}

void ReplayFilter::SetJournal(ReplayJournal* journal) {
  base::MutexLock lock(mu_);
  journal_ = journal;
}

void ReplayFilter::EvictFromTheLargestOwner() {
  // A scan of the users (few) only when full, so the common path stays O(1).
  auto largest = owners_.end();
  for (auto it = owners_.begin(); it != owners_.end(); ++it) {
    if (it->second.entries > 0 && (largest == owners_.end() || it->second.entries > largest->second.entries)) {
      largest = it;
    }
  }
  Owner& o = largest->second;
  const uint32_t victim = o.oldest;
  o.floor = std::max(o.floor, entries_[victim].timestamp);
  stats_.floor = std::max(stats_.floor, o.floor);
  RemoveEntry(victim);
  ++stats_.evictions;
}

int64_t ReplayFilter::FloorOf(uint64_t owner) const {
  const auto it = owners_.find(owner);
  return it == owners_.end() ? INT64_MIN : it->second.floor;
}

void ReplayFilter::Unlink(uint32_t entry) {
  Entry& e = entries_[entry];
  Owner& o = owners_[e.owner];
  if (e.older != kEmpty) entries_[e.older].newer = e.newer;
  if (e.newer != kEmpty) entries_[e.newer].older = e.older;
  if (o.oldest == entry) o.oldest = e.newer;
  if (o.newest == entry) o.newest = e.older;
  --o.entries;
  if (o.entries == 0 && o.floor == INT64_MIN) owners_.erase(e.owner);
}

ReplayFilter::Verdict ReplayFilter::Insert(std::span<const uint8_t, kPublicKeyBytes> key,
                                           int64_t timestamp, int64_t now, uint64_t owner) {
  // Expired: no replay of these could pass the timestamp check any more.
  while (!heap_.empty() && static_cast<__int128>(heap_[0].timestamp) + options_.window_seconds <
                              static_cast<__int128>(now)) {
    RemoveEntry(heap_[0].entry);
    ++stats_.expired;
  }
  const uint32_t slot = FindSlot(key);
  if (slots_[slot] != kEmpty) {
    ++stats_.replays;
    return Verdict::kReplay;
  }
  if (timestamp <= FloorOf(owner)) {
    ++stats_.below_floor;
    return Verdict::kBelowFloor;
  }
  if (free_.empty()) {
    EvictFromTheLargestOwner();
    if (timestamp <= FloorOf(owner)) {
      ++stats_.below_floor;
      return Verdict::kBelowFloor;
    }
  }
  const uint32_t entry = free_.back();
  free_.pop_back();
  Entry& e = entries_[entry];
  std::copy(key.begin(), key.end(), e.key.begin());
  e.timestamp = timestamp;
  Owner& o = owners_[owner];
  e.owner = owner;
  e.newer = kEmpty;
  e.older = o.newest;
  if (o.newest != kEmpty) entries_[o.newest].newer = entry;
  o.newest = entry;
  if (o.oldest == kEmpty) o.oldest = entry;
  ++o.entries;
  e.heap_pos = static_cast<uint32_t>(heap_.size());
  heap_.push_back({timestamp, entry});
  SiftUp(heap_.size() - 1);
  slots_[FindSlot(key)] = entry;  // the table changed only if an entry left
  ++stats_.entries;
  ++stats_.accepted;
  return Verdict::kFresh;
}

size_t ReplayFilter::MemoryBytes() const {
  base::MutexLock lock(mu_);
  return entries_.capacity() * sizeof(Entry) + heap_.capacity() * sizeof(HeapItem) +
         free_.capacity() * sizeof(uint32_t) + slots_.capacity() * sizeof(uint32_t);
}

ReplayFilter::Stats ReplayFilter::GetStats() const {
  base::MutexLock lock(mu_);
  return stats_;
}

}  // namespace reflex
