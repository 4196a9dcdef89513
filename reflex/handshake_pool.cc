#include "reflex/handshake_pool.h"

#include <utility>

namespace reflex {
namespace {

// Largest hello of each kind: client 76 (v1 and v2), server 48 (v2).
constexpr size_t kSlotSizes[] = {kClientHelloBytes, 48};

}  // namespace

pool::PoolOptions HandshakePool::DefaultOptions() {
  pool::PoolOptions options;
  options.name = "handshake";
  // Hellos are small; a generous count per thread costs little memory.
  options.thread_cache_bytes = 64 * 1024;
  options.thread_cache_max_blocks = 64;
  return options;
}

HandshakePool::HandshakePool(pool::PoolOptions options)
    : slots_(kSlotSizes, std::move(options)) {}

Error EncodeClientHello(const ClientHello& hello, HandshakePool& pool,
                        pool::Buffer* out) {
  pool::Buffer buffer = pool.GetClientHello();
  if (!buffer) return Error::kAllocFailed;
  if (const Error e = EncodeClientHello(hello, buffer.span()); e != Error::kOk) {
    return e;
  }
  *out = std::move(buffer);
  return Error::kOk;
}

Error EncodeServerHello(const ServerHello& hello, HandshakePool& pool,
                        pool::Buffer* out) {
  pool::Buffer buffer = pool.GetServerHello(kWireProfileV1);
  if (!buffer) return Error::kAllocFailed;
  if (const Error e = EncodeServerHello(hello, buffer.span()); e != Error::kOk) {
    return e;
  }
  *out = std::move(buffer);
  return Error::kOk;
}

}  // namespace reflex
