#include "reflex/hello.h"

#include "reflex/byte_reader.h"
#include "reflex/byte_writer.h"

namespace reflex {

Error EncodeClientHello(const ClientHello& hello, std::span<uint8_t> out) {
  if (out.size() < kClientHelloBytesV1) return Error::kBufferTooSmall;
  ByteWriter w(out.first(kClientHelloBytesV1));
  w.WriteBytes(kMagic);
  w.WriteBytes(hello.public_key);
  w.WriteBytes(hello.user_id);
  w.WriteU64BE(static_cast<uint64_t>(hello.timestamp));
  w.WriteBytes(hello.nonce);
  // The size was checked above, so every write fitted.
  return w.ok() && w.written() == kClientHelloBytesV1 ? Error::kOk
                                                     : Error::kBufferTooSmall;
}

Error DecodeClientHello(std::span<const uint8_t> in, ClientHello* out) {
  if (in.size() < kClientHelloBytesV1) return Error::kTooShort;
  ByteReader r(in);
  std::span<const uint8_t> magic;
  if (!r.ReadView(kMagicBytes, &magic)) return Error::kTooShort;
  if (!std::equal(magic.begin(), magic.end(), kMagic.begin())) {
    return Error::kBadMagic;
  }
  if (in.size() > kClientHelloBytesV1) return Error::kTrailingBytes;
  ClientHello hello;
  uint64_t timestamp = 0;
  if (!r.ReadBytes(hello.public_key) || !r.ReadBytes(hello.user_id) ||
      !r.ReadU64BE(&timestamp) || !r.ReadBytes(hello.nonce)) {
    return Error::kTooShort;
  }
  hello.timestamp = static_cast<int64_t>(timestamp);
  *out = hello;
  return Error::kOk;
}

Error EncodeServerHello(const ServerHello& hello, std::span<uint8_t> out) {
  if (out.size() < kServerHelloBytesV1) return Error::kBufferTooSmall;
  ByteWriter w(out.first(kServerHelloBytesV1));
  w.WriteBytes(hello.public_key);
  w.WriteU64BE(static_cast<uint64_t>(hello.timestamp));
  return w.ok() ? Error::kOk : Error::kBufferTooSmall;
}

Error DecodeServerHello(std::span<const uint8_t> in, ServerHello* out) {
  if (in.size() < kServerHelloBytesV1) return Error::kTooShort;
  if (in.size() > kServerHelloBytesV1) return Error::kTrailingBytes;
  ByteReader r(in);
  ServerHello hello;
  uint64_t timestamp = 0;
  if (!r.ReadBytes(hello.public_key) || !r.ReadU64BE(&timestamp)) {
    return Error::kTooShort;
  }
  hello.timestamp = static_cast<int64_t>(timestamp);
  *out = hello;
  return Error::kOk;
}

}  // namespace reflex
