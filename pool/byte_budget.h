// ByteBudget: the bytes of reusable memory a pool may keep
// (PoolOptions::max_retained_bytes). Blocks on the shared free lists and the
// slots reserved by per-thread caches are charged to it; a charge that would
// pass the cap is refused, never taken and undone, so the cap holds at every
// instant, not only eventually.
#ifndef REFLEX_POOL_BYTE_BUDGET_H_
#define REFLEX_POOL_BYTE_BUDGET_H_

#include <atomic>
#include <cstddef>

namespace reflex::pool::detail {

class ByteBudget {
 public:
  explicit ByteBudget(size_t cap) : cap_(cap) {}

  // Charges bytes if the cap allows; false (nothing charged) otherwise.
  bool Take(size_t bytes) {
    size_t used = used_.load(std::memory_order_relaxed);
    do {
      if (bytes > cap_ - used) return false;  // used <= cap_ always
    } while (!used_.compare_exchange_weak(used, used + bytes,
                                          std::memory_order_relaxed));
    return true;
  }
  void Give(size_t bytes) { used_.fetch_sub(bytes, std::memory_order_relaxed); }
  size_t used() const { return used_.load(std::memory_order_relaxed); }

 private:
  const size_t cap_;
  std::atomic<size_t> used_{0};
};

}  // namespace reflex::pool::detail

#endif  // REFLEX_POOL_BYTE_BUDGET_H_
