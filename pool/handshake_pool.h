// HandshakePool: fixed-size buffers for the two Reflex hellos, 76 bytes
// (client) and 40 bytes (server). Slots are 80 and 40 bytes apart, multiples
// of 8 so that under ASan the 4 bytes after a client hello are poisoned.
#ifndef REFLEX_POOL_HANDSHAKE_POOL_H_
#define REFLEX_POOL_HANDSHAKE_POOL_H_

#include <cstddef>

#include "pool/buffer.h"
#include "pool/pool_options.h"
#include "pool/pool_stats.h"

namespace reflex::pool {

inline constexpr size_t kClientHelloBytes = 76;
inline constexpr size_t kServerHelloBytes = 40;
inline constexpr size_t kClientHelloSlotBytes = 80;
inline constexpr size_t kServerHelloSlotBytes = 40;

class HandshakePool {
 public:
  explicit HandshakePool(PoolOptions options = DefaultOptions());
  ~HandshakePool();
  HandshakePool(const HandshakePool&) = delete;
  HandshakePool& operator=(const HandshakePool&) = delete;

  static PoolOptions DefaultOptions();

  // 76-byte buffer (tier 0 of the stats), empty handle on failure.
  Buffer GetClientHello();
  // 40-byte buffer (tier 1 of the stats), empty handle on failure.
  Buffer GetServerHello();

  void Trim();
  PoolStats Stats() const;

 private:
  Buffer GetTier(uint8_t tier, size_t size);
  detail::PoolCore* core_;
};

}  // namespace reflex::pool

#endif  // REFLEX_POOL_HANDSHAKE_POOL_H_
