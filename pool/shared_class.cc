#include "pool/shared_class.h"

#include <algorithm>
#include <cstddef>

namespace reflex::pool::detail {

void SharedClass::SetQuarantineDepth(size_t depth) {
  quarantine_.assign(depth, nullptr);
  quarantine_head_ = 0;
  quarantine_count_ = 0;
}

void* SharedClass::PopFree() {
  if (free_.empty()) return nullptr;
  void* block = free_.back();
  free_.pop_back();
  low_water_ = std::min(low_water_, free_.size());
  return block;
}

void SharedClass::TakeUnused(size_t n, std::vector<void*>* out) {
  n = std::min(n, free_.size());
  // The list is a stack: its front holds the blocks returned longest ago.
  out->insert(out->end(), free_.begin(), free_.begin() + static_cast<std::ptrdiff_t>(n));
  free_.erase(free_.begin(), free_.begin() + static_cast<std::ptrdiff_t>(n));
  low_water_ = free_.size();
}

void* SharedClass::Quarantine(void* block) {
  const size_t depth = quarantine_.size();
  if (quarantine_count_ < depth) {
    quarantine_[(quarantine_head_ + quarantine_count_) % depth] = block;
    ++quarantine_count_;
    return nullptr;
  }
  void* oldest = quarantine_[quarantine_head_];
  quarantine_[quarantine_head_] = block;
  quarantine_head_ = (quarantine_head_ + 1) % depth;
  return oldest;
}

void SharedClass::TakeAll(std::vector<void*>* out) {
  out->insert(out->end(), free_.begin(), free_.end());
  free_.clear();
  free_.shrink_to_fit();
  low_water_ = 0;
  const size_t depth = quarantine_.size();
  for (size_t i = 0; i < quarantine_count_; ++i) {
    out->push_back(quarantine_[(quarantine_head_ + i) % depth]);
  }
  quarantine_head_ = 0;
  quarantine_count_ = 0;
}

}  // namespace reflex::pool::detail
