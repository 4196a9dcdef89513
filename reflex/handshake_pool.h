// HandshakePool: pooled buffers for the hellos, a SlotPool with one slot
// size per hello: 80 bytes for the 76-byte client hellos (both profiles) and
// 48 for the server hellos (40 bytes in v1-compat, 48 in v2). Slots are
// multiples of 8 bytes, so under ASan the bytes after a hello are poisoned.
#ifndef REFLEX_HANDSHAKE_POOL_H_
#define REFLEX_HANDSHAKE_POOL_H_

#include <cstddef>

#include "pool/buffer.h"
#include "pool/pool_options.h"
#include "pool/pool_stats.h"
#include "pool/slot_pool.h"
#include "reflex/error.h"
#include "reflex/hello.h"
#include "reflex/profile.h"

namespace reflex {

class HandshakePool {
 public:
  static constexpr size_t kClientSlot = 0;  // tier 0 of the statistics
  static constexpr size_t kServerSlot = 1;  // tier 1

  explicit HandshakePool(pool::PoolOptions options = DefaultOptions());
  static pool::PoolOptions DefaultOptions();

  // A 76-byte buffer; empty handle on allocation failure.
  pool::Buffer GetClientHello() { return slots_.Get(kClientSlot, kClientHelloBytes); }
  // A buffer for the profile's server hello (40 or 48 bytes); empty handle
  // on allocation failure.
  pool::Buffer GetServerHello(const WireProfile& profile) {
    return slots_.Get(kServerSlot, profile.server_hello_bytes);
  }

  void Trim() { slots_.Trim(); }
  pool::PoolStats Stats() const { return slots_.Stats(); }

 private:
  pool::SlotPool slots_;
};

// The hellos encoded into pooled buffers. alloc_failed when the pool is out
// of memory; *out is written only on success.
Error EncodeClientHello(const ClientHello& hello, HandshakePool& pool,
                        pool::Buffer* out);
Error EncodeServerHello(const ServerHello& hello, HandshakePool& pool,
                        pool::Buffer* out);

}  // namespace reflex

#endif  // REFLEX_HANDSHAKE_POOL_H_
