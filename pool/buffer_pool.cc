#include "pool/buffer_pool.h"

namespace reflex::pool {

BufferPool::BufferPool(PoolOptions options) {
  detail::CoreConfig config;
  config.options = std::move(options);
  config.class_count = kBufferTierSizes.size();
  for (size_t i = 0; i < kBufferTierSizes.size(); ++i) {
    config.class_sizes[i] = static_cast<uint32_t>(kBufferTierSizes[i]);
  }
  config.allow_oversize = true;
  core_ = detail::PoolCore::Create(config);
}

BufferPool::~BufferPool() {
  if (core_ != nullptr) core_->Shutdown();
}

void BufferPool::Trim() {
  if (core_ != nullptr) core_->Trim();
}

size_t BufferPool::DecayThreadCache() { return core_ != nullptr ? core_->DecayThreadCache() : 0; }
size_t BufferPool::DecaySharedLists() { return core_ != nullptr ? core_->DecaySharedLists() : 0; }

PoolStats BufferPool::Stats() const {
  return core_ != nullptr ? core_->Snapshot() : PoolStats{};
}

}  // namespace reflex::pool
