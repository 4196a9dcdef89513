#include "reflex/morph.h"

#include <algorithm>

namespace reflex {

const MorphProfile* FindMorphProfile(std::string_view name) {
  for (const MorphProfile* p : kMorphProfiles) {
    if (p->name == name) return p;
  }
  return nullptr;
}

uint32_t Shaper::Draw(const std::array<Weighted, 4>& choices, size_t count) {
  uint64_t total = 0;
  for (size_t i = 0; i < count; ++i) total += choices[i].weight;
  uint64_t pick = random_->Below(total);
  for (size_t i = 0; i < count; ++i) {
    if (pick < choices[i].weight) return choices[i].value;
    pick -= choices[i].weight;
  }
  return choices[count - 1].value;  // unreachable: pick < total
}

MorphSlot Shaper::Next(int64_t now_ms) {
  MorphSlot slot;
  slot.wire_bytes = DrawSize();
  slot.send_at_ms = started_ ? std::max(now_ms, last_send_ms_ + DrawDelay()) : now_ms;
  started_ = true;
  last_send_ms_ = slot.send_at_ms;
  return slot;
}

}  // namespace reflex
