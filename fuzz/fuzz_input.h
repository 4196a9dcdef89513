// FuzzInput: reads structured choices from fuzzer bytes. Past the end every
// read yields zeros / empty, so any input is a valid sequence of choices.
#ifndef REFLEX_FUZZ_FUZZ_INPUT_H_
#define REFLEX_FUZZ_FUZZ_INPUT_H_

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace reflex::fuzz {

class FuzzInput {
 public:
  FuzzInput(const uint8_t* data, size_t size) : bytes_(data, size) {}

  bool empty() const { return bytes_.empty(); }
  size_t remaining() const { return bytes_.size(); }

  uint8_t U8() {
    if (bytes_.empty()) return 0;
    const uint8_t v = bytes_[0];
    bytes_ = bytes_.subspan(1);
    return v;
  }
  uint16_t U16() { return static_cast<uint16_t>(U8() << 8 | U8()); }
  uint64_t U64() {
    uint64_t v = 0;
    for (int i = 0; i < 8; ++i) v = v << 8 | U8();
    return v;
  }
  bool Bool() { return (U8() & 1) != 0; }
  // A value in [0, n) (n > 0).
  size_t Below(size_t n) { return U16() % n; }
  // Up to n bytes (fewer at the end of the input).
  std::vector<uint8_t> Bytes(size_t n) {
    n = std::min(n, bytes_.size());
    std::vector<uint8_t> out(bytes_.begin(), bytes_.begin() + static_cast<ptrdiff_t>(n));
    bytes_ = bytes_.subspan(n);
    return out;
  }
  std::vector<uint8_t> Rest() { return Bytes(bytes_.size()); }

 private:
  std::span<const uint8_t> bytes_;
};

}  // namespace reflex::fuzz

#endif  // REFLEX_FUZZ_FUZZ_INPUT_H_
