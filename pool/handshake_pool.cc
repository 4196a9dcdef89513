#include "pool/handshake_pool.h"

namespace reflex::pool {
namespace {
constexpr uint8_t kClientTier = 0;
constexpr uint8_t kServerTier = 1;
}  // namespace

PoolOptions HandshakePool::DefaultOptions() {
  PoolOptions options;
  options.name = "handshake";
  // Hellos are small; a generous count per thread costs little memory.
  options.thread_cache_bytes = 64 * 1024;
  options.thread_cache_max_blocks = 64;
  return options;
}

HandshakePool::HandshakePool(PoolOptions options) {
  detail::CoreConfig config;
  config.options = std::move(options);
  config.class_count = 2;
  // Tiers are ordered by role, not size: ClassFor is never used here.
  config.class_sizes[kClientTier] = kClientHelloSlotBytes;
  config.class_sizes[kServerTier] = kServerHelloSlotBytes;
  core_ = detail::PoolCore::Create(config);
}

HandshakePool::~HandshakePool() { core_->Shutdown(); }

Buffer HandshakePool::GetTier(uint8_t tier, size_t size) {
  const detail::PoolCore::Block block = core_->Get(tier, size);
  if (block.ptr == nullptr) return Buffer();
  return Buffer(core_, block, size);
}

Buffer HandshakePool::GetClientHello() {
  return GetTier(kClientTier, kClientHelloBytes);
}

Buffer HandshakePool::GetServerHello() {
  return GetTier(kServerTier, kServerHelloBytes);
}

void HandshakePool::Trim() { core_->Trim(); }

PoolStats HandshakePool::Stats() const { return core_->Snapshot(); }

}  // namespace reflex::pool
