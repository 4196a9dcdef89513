// Buffer: a move-only handle to pooled bytes. Destroying the handle (or
// calling Reset) returns the memory to its pool; there is no other way to
// return it, so it cannot be returned twice.
#ifndef REFLEX_POOL_BUFFER_H_
#define REFLEX_POOL_BUFFER_H_

#include <cstddef>
#include <cstdint>
#include <span>
#include <utility>

#include "pool/pool_core.h"

namespace reflex::pool {

class Buffer {
 public:
  Buffer() = default;
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;
  Buffer(Buffer&& other) noexcept { MoveFrom(other); }
  Buffer& operator=(Buffer&& other) noexcept {
    if (this != &other) {
      Reset();
      MoveFrom(other);
    }
    return *this;
  }
  ~Buffer() { Reset(); }

  // False for an empty handle (default-constructed, moved-from, reset, or a
  // request the pool could not serve).
  explicit operator bool() const { return data_ != nullptr; }

  uint8_t* data() { return data_; }
  const uint8_t* data() const { return data_; }
  // The size asked for (or last set by Resize).
  size_t size() const { return size_; }
  // What the tier holds; for an oversize buffer, the size asked for.
  size_t capacity() const { return capacity_; }
  std::span<uint8_t> span() { return {data_, size_}; }
  std::span<const uint8_t> span() const { return {data_, size_}; }
  bool is_oversize() const { return cls_ == detail::kOversizeClass; }

  // Changes the size within the capacity. Returns false (size unchanged)
  // when n > capacity(). Under ASan, bytes past the new size are poisoned,
  // for tier and oversize buffers alike.
  [[nodiscard]] bool Resize(size_t n) {
    if (n > capacity_) return false;
    size_ = static_cast<uint32_t>(n);
    if (size_ > high_water_) high_water_ = size_;
    detail::PoolCore::SetAccessible(data_, size_, capacity_);
    return true;
  }

  // Turns the wipe off for this buffer only (it holds nothing secret, e.g.
  // ciphertext about to be sent). Checked pools write their pattern anyway.
  void set_wipe_on_return(bool wipe) { wipe_ = wipe; }

  // Limits the wipe on return to the first n bytes: the caller promises it
  // wrote nothing past them (a 128 KiB receive buffer that a read filled
  // only 300 bytes into). Saves the memset and keeps untouched pages out
  // of memory. A caller that breaks the promise leaves the bytes it wrote
  // past n in the pool's free memory until the block is handed out again
  // (and then to its next holder). Checked pools ignore the extent: they
  // write their pattern over the whole capacity and verify all of it.
  void set_wipe_extent(size_t n) {
    if (n < high_water_) high_water_ = static_cast<uint32_t>(n);
  }

  // Returns the memory now; the handle becomes empty. Safe to call again.
  void Reset() {
    if (data_ == nullptr) return;
    if (cls_ == detail::kOversizeClass) {
      core_->PutOversize(data_, core_->fills_whole_blocks() ? capacity_ : high_water_, wipe_);
    } else {
      core_->Put(data_, cls_, high_water_, wipe_);  // (a checked core fills the whole block)
    }
    data_ = nullptr;
    core_ = nullptr;
    size_ = capacity_ = high_water_ = 0;
  }

 private:
  friend class BufferPool;
  friend class SlotPool;

  Buffer(detail::PoolCore* core, const detail::PoolCore::Block& block,
         size_t size)
      : core_(core),
        data_(static_cast<uint8_t*>(block.ptr)),
        size_(static_cast<uint32_t>(size)),
        capacity_(block.capacity),
        high_water_(static_cast<uint32_t>(size)),
        cls_(block.cls) {}

  void MoveFrom(Buffer& other) {
    core_ = std::exchange(other.core_, nullptr);
    data_ = std::exchange(other.data_, nullptr);
    size_ = std::exchange(other.size_, 0);
    capacity_ = std::exchange(other.capacity_, 0);
    high_water_ = std::exchange(other.high_water_, 0);
    cls_ = other.cls_;
    wipe_ = other.wipe_;
  }

  detail::PoolCore* core_ = nullptr;
  uint8_t* data_ = nullptr;
  uint32_t size_ = 0;
  uint32_t capacity_ = 0;
  uint32_t high_water_ = 0;  // what the wipe must cover
  uint8_t cls_ = 0;
  bool wipe_ = true;
};

}  // namespace reflex::pool

#endif  // REFLEX_POOL_BUFFER_H_
