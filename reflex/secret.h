// Fixed-size secret bytes that wipe themselves (sodium_memzero) when they go
// out of scope or are overwritten, and compare in constant time.
#ifndef REFLEX_SECRET_H_
#define REFLEX_SECRET_H_

#include <sodium.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

namespace reflex {

template <size_t N>
class Secret {
 public:
  Secret() { bytes_.fill(0); }
  explicit Secret(std::span<const uint8_t, N> bytes) {
    std::copy(bytes.begin(), bytes.end(), bytes_.begin());
  }
  Secret(const Secret& other) : bytes_(other.bytes_) {}
  Secret& operator=(const Secret& other) {
    bytes_ = other.bytes_;
    return *this;
  }
  ~Secret() { Wipe(); }

  uint8_t* data() { return bytes_.data(); }
  const uint8_t* data() const { return bytes_.data(); }
  static constexpr size_t size() { return N; }
  std::span<uint8_t, N> span() { return std::span<uint8_t, N>(bytes_); }
  std::span<const uint8_t, N> span() const {
    return std::span<const uint8_t, N>(bytes_);
  }

  void Wipe() { sodium_memzero(bytes_.data(), N); }

  // Constant time in the contents.
  bool Equals(std::span<const uint8_t, N> other) const {
    return sodium_memcmp(bytes_.data(), other.data(), N) == 0;
  }

 private:
  std::array<uint8_t, N> bytes_;
};

}  // namespace reflex

#endif  // REFLEX_SECRET_H_
