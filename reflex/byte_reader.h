// ByteReader: a bounded reader over caller-owned bytes, in the manner of
// BoringSSL's CBS. Every read checks the remaining length first and returns
// false (consuming nothing) when it is short, so a parser never reads past
// its input whatever the input says.
#ifndef REFLEX_BYTE_READER_H_
#define REFLEX_BYTE_READER_H_

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>

namespace reflex {

class ByteReader {
 public:
  explicit ByteReader(std::span<const uint8_t> bytes) : bytes_(bytes) {}

  size_t remaining() const { return bytes_.size(); }
  std::span<const uint8_t> rest() const { return bytes_; }

  [[nodiscard]] bool ReadU8(uint8_t* out) {
    if (bytes_.empty()) return false;
    *out = bytes_[0];
    bytes_ = bytes_.subspan(1);
    return true;
  }
  [[nodiscard]] bool ReadU16BE(uint16_t* out) {
    if (bytes_.size() < 2) return false;
    *out = static_cast<uint16_t>((bytes_[0] << 8) | bytes_[1]);
    bytes_ = bytes_.subspan(2);
    return true;
  }
  [[nodiscard]] bool ReadU64BE(uint64_t* out) {
    if (bytes_.size() < 8) return false;
    uint64_t v = 0;
    for (size_t i = 0; i < 8; ++i) v = (v << 8) | bytes_[i];
    *out = v;
    bytes_ = bytes_.subspan(8);
    return true;
  }
  // Copies exactly out.size() bytes.
  [[nodiscard]] bool ReadBytes(std::span<uint8_t> out) {
    if (bytes_.size() < out.size()) return false;
    if (!out.empty()) std::memcpy(out.data(), bytes_.data(), out.size());
    bytes_ = bytes_.subspan(out.size());
    return true;
  }
  // A view of the next n bytes, without copying.
  [[nodiscard]] bool ReadView(size_t n, std::span<const uint8_t>* out) {
    if (bytes_.size() < n) return false;
    *out = bytes_.first(n);
    bytes_ = bytes_.subspan(n);
    return true;
  }

 private:
  std::span<const uint8_t> bytes_;
};

}  // namespace reflex

#endif  // REFLEX_BYTE_READER_H_
