#include "pool/slot_pool.h"

namespace reflex::pool {

SlotPool::SlotPool(std::span<const size_t> slot_sizes, PoolOptions options) {
  if (slot_sizes.empty() || slot_sizes.size() > kMaxTiers) return;
  detail::CoreConfig config;
  config.options = std::move(options);
  config.class_count = slot_sizes.size();
  for (size_t i = 0; i < slot_sizes.size(); ++i) {
    if (slot_sizes[i] == 0 || slot_sizes[i] > kMaxSlotBytes) return;
    config.class_sizes[i] = static_cast<uint32_t>((slot_sizes[i] + 7) / 8 * 8);
  }
  core_ = detail::PoolCore::Create(config);
}

SlotPool::~SlotPool() {
  if (core_ != nullptr) core_->Shutdown();
}

void SlotPool::Trim() {
  if (core_ != nullptr) core_->Trim();
}

size_t SlotPool::DecayThreadCache() { return core_ != nullptr ? core_->DecayThreadCache() : 0; }
size_t SlotPool::DecaySharedLists() { return core_ != nullptr ? core_->DecaySharedLists() : 0; }

PoolStats SlotPool::Stats() const {
  return core_ != nullptr ? core_->Snapshot() : PoolStats{};
}

}  // namespace reflex::pool
