// SlotPool: fixed-size buffers in up to kMaxTiers slot sizes the caller
// names (e.g. one slot size per message kind of a protocol). Class i of Get
// and of the statistics is the i-th size given, in the caller's order.
// Slots are rounded up to multiples of 8 bytes; under ASan the bytes between
// the requested size and the slot's end stay poisoned.
#ifndef REFLEX_POOL_SLOT_POOL_H_
#define REFLEX_POOL_SLOT_POOL_H_

#include <cstddef>
#include <span>

#include "pool/buffer.h"
#include "pool/pool_options.h"
#include "pool/pool_stats.h"

namespace reflex::pool {

class SlotPool {
 public:
  // 1..kMaxTiers sizes, each 1..kMaxSlotBytes; otherwise the pool serves
  // nothing (every Get returns an empty handle).
  static constexpr size_t kMaxSlotBytes = size_t{1} << 20;
  SlotPool(std::span<const size_t> slot_sizes, PoolOptions options);
  ~SlotPool();
  SlotPool(const SlotPool&) = delete;
  SlotPool& operator=(const SlotPool&) = delete;

  // A buffer of `size` bytes in a slot of class slot_class. Empty handle
  // when the class does not exist, size exceeds its slot, or memory fails.
  Buffer Get(size_t slot_class, size_t size) {
    if (core_ == nullptr || slot_class >= core_->class_count()) return Buffer();
    const auto cls = static_cast<uint8_t>(slot_class);
    if (size > core_->class_size(cls)) return Buffer();
    const detail::PoolCore::Block block = core_->Get(cls, size);
    if (block.ptr == nullptr) return Buffer();
    return Buffer(core_, block, size);
  }

  void Trim();
  // The decay of retained memory (pool_core.h): bytes freed. A pool used
  // from one thread calls Decay once per period; one used from several
  // calls DecayThreadCache on each and DecaySharedLists on one of them.
  size_t Decay() { return DecayThreadCache() + DecaySharedLists(); }
  size_t DecayThreadCache();
  size_t DecaySharedLists();
  PoolStats Stats() const;

 private:
  detail::PoolCore* core_ = nullptr;
};

}  // namespace reflex::pool

#endif  // REFLEX_POOL_SLOT_POOL_H_
