// Bytes received while a session reads a handshake (or a local request
// is parsed): a pooled buffer, taken only once the peer sends; [at, have)
// is not yet consumed. Its wipe covers what was ever written.
#ifndef REFLEX_PROXY_INPUT_BUFFER_H_
#define REFLEX_PROXY_INPUT_BUFFER_H_

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <span>

#include "pool/buffer.h"

namespace reflex::proxy {

struct InputBuffer {
  pool::Buffer buffer;
  size_t at = 0;
  size_t have = 0;
  size_t dirty = 0;    // how far `buffer` was ever written (its wipe)
  bool ended = false;  // the peer ended its stream
  ~InputBuffer() { buffer.set_wipe_extent(dirty); }

  std::span<uint8_t> unread() {
    return buffer ? buffer.span().subspan(at, have - at) : std::span<uint8_t>();
  }
  // Moves the unread bytes to the front: the next read appends to them.
  void Compact() {
    if (at > 0) std::memmove(buffer.data(), buffer.data() + at, have - at);
    have -= at;
    at = 0;
  }
};

}  // namespace reflex::proxy

#endif  // REFLEX_PROXY_INPUT_BUFFER_H_
