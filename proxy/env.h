// What the connection handlers of one thread share: the buffer pool, the
// statistics, the clock and random source, and the timeouts.
#ifndef REFLEX_PROXY_ENV_H_
#define REFLEX_PROXY_ENV_H_

#include <chrono>
#include <cstdint>

#include "pool/buffer_pool.h"
#include "proxy/address.h"
#include "proxy/connection_state.h"
#include "proxy/stats.h"
#include "reflex/client_session.h"
#include "reflex/morph.h"
#include "reflex/random.h"
#include "reflex/server_session.h"
#include "reflex/session_types.h"

namespace reflex::proxy {

// Receive buffers hold at least one whole frame (16403 bytes); 32 KiB is a
// pool tier. Send batches of up to 4 frames fit the 128 KiB tier.
inline constexpr size_t kReceiveBufferBytes = 32 * 1024;
inline constexpr size_t kFramesPerWrite = 4;
inline constexpr size_t kSendBufferBytes = 128 * 1024;
inline constexpr size_t kPlainBufferBytes = 32 * 1024;

struct Timeouts {
  std::chrono::milliseconds handshake{10000};  // a client's SOCKS/HTTP request, a server hello
  std::chrono::milliseconds connect{10000};    // a TCP connect (target, fallback, server)
  std::chrono::milliseconds idle{300000};      // no byte either way for this long
};

struct ProxyEnv {
  pool::BufferPool* pool = nullptr;
  Stats* stats = nullptr;
  const Clock* clock = nullptr;
  RandomSource* random = nullptr;
  Timeouts timeouts;
};

struct ServerEnv : ProxyEnv {
  const ServerContext* context = nullptr;
  ServerStatePool* states = nullptr;
  HostPort fallback;
};

struct ClientEnv : ProxyEnv {
  HostPort server;
  ClientStatePool* states = nullptr;
  ClientConfig session;                   // profile, user, AEAD backend
  const MorphProfile* morph = nullptr;    // shaping of what the client sends
};

}  // namespace reflex::proxy

#endif  // REFLEX_PROXY_ENV_H_
