// ByteWriter: the writing twin of ByteReader (BoringSSL's CBB over a fixed,
// caller-owned buffer). Writes fail, and stay failed, once the buffer would
// overflow; nothing is ever written past its end. Because failure sticks, a
// sequence of writes is checked once, with ok() at the end.
#ifndef REFLEX_BYTE_WRITER_H_
#define REFLEX_BYTE_WRITER_H_

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>

namespace reflex {

class ByteWriter {
 public:
  explicit ByteWriter(std::span<uint8_t> out) : out_(out) {}

  size_t written() const { return written_; }
  bool ok() const { return ok_; }

  bool WriteU8(uint8_t v) { return WriteBytes({&v, 1}); }
  bool WriteU16BE(uint16_t v) {
    const uint8_t b[2] = {static_cast<uint8_t>(v >> 8),
                          static_cast<uint8_t>(v)};
    return WriteBytes(b);
  }
  bool WriteU64BE(uint64_t v) {
    uint8_t b[8];
    for (size_t i = 0; i < 8; ++i) b[i] = static_cast<uint8_t>(v >> (56 - 8 * i));
    return WriteBytes(b);
  }
  bool WriteBytes(std::span<const uint8_t> bytes) {
    if (!ok_ || out_.size() - written_ < bytes.size()) {
      ok_ = false;
      return false;
    }
    if (!bytes.empty()) {
      std::memcpy(out_.data() + written_, bytes.data(), bytes.size());
    }
    written_ += bytes.size();
    return true;
  }

 private:
  std::span<uint8_t> out_;
  size_t written_ = 0;
  bool ok_ = true;
};

}  // namespace reflex

#endif  // REFLEX_BYTE_WRITER_H_
