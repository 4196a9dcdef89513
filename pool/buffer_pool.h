// BufferPool: byte buffers in tiers of 2, 8, 32 and 128 KiB. A request is
// served by the smallest tier that fits; a larger one by a plain allocation
// behind the same handle type (counted as oversize).
#ifndef REFLEX_POOL_BUFFER_POOL_H_
#define REFLEX_POOL_BUFFER_POOL_H_

#include <array>
#include <cstddef>

#include "pool/buffer.h"
#include "pool/pool_options.h"
#include "pool/pool_stats.h"

namespace reflex::pool {

inline constexpr std::array<size_t, kMaxTiers> kBufferTierSizes = {
    2 * 1024, 8 * 1024, 32 * 1024, 128 * 1024};
inline constexpr size_t kMaxBufferRequest = detail::kMaxRequestBytes;

class BufferPool {
 public:
  explicit BufferPool(PoolOptions options = {});
  ~BufferPool();
  BufferPool(const BufferPool&) = delete;
  BufferPool& operator=(const BufferPool&) = delete;

  // A buffer of exactly `size` bytes (capacity: its tier's). Empty handle on
  // allocation failure or size > kMaxBufferRequest. Size 0 gets a 2 KiB
  // buffer with size 0 (to be grown with Resize).
  Buffer Get(size_t size) {
    if (core_ == nullptr) return Buffer();
    const uint8_t cls = core_->ClassFor(size);
    const detail::PoolCore::Block block =
        cls == detail::kOversizeClass ? core_->GetOversize(size)
                                      : core_->Get(cls, size);
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
  detail::PoolCore* core_;  // null only if the core could not be allocated
};

}  // namespace reflex::pool

#endif  // REFLEX_POOL_BUFFER_POOL_H_
