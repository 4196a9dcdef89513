// ObjectPool<T>: a pool of constructed T objects, for per-connection state
// that should cost no allocation once warm. Objects stay constructed while
// pooled, so their own buffers keep their capacity; they are reset when they
// come back: by T::Reset() if T has one, else by assigning T{}. Under ASan a
// pooled object's memory is poisoned until it is handed out again.
#ifndef REFLEX_POOL_OBJECT_POOL_H_
#define REFLEX_POOL_OBJECT_POOL_H_

#include <cstddef>
#include <new>
#include <type_traits>
#include <utility>

#include "pool/pool_core.h"
#include "pool/pool_options.h"
#include "pool/pool_stats.h"

namespace reflex::pool {

template <class T>
concept Resettable = requires(T& t) { t.Reset(); };

template <class T>
class ObjectPool {
  static_assert(std::is_nothrow_default_constructible_v<T>,
                "pooled objects are constructed in place without exceptions");
  static_assert(alignof(T) <= 64, "blocks are 64-byte aligned");

 public:
  // Move-only owner of one pooled object; returns it on destruction.
  class Handle {
   public:
    Handle() = default;
    Handle(const Handle&) = delete;
    Handle& operator=(const Handle&) = delete;
    Handle(Handle&& o) noexcept
        : core_(std::exchange(o.core_, nullptr)),
          object_(std::exchange(o.object_, nullptr)) {}
    Handle& operator=(Handle&& o) noexcept {
      if (this != &o) {
        Reset();
        core_ = std::exchange(o.core_, nullptr);
        object_ = std::exchange(o.object_, nullptr);
      }
      return *this;
    }
    ~Handle() { Reset(); }

    explicit operator bool() const { return object_ != nullptr; }
    T* get() const { return object_; }
    T& operator*() const { return *object_; }
    T* operator->() const { return object_; }

    // Resets the object and returns it now; the handle becomes empty.
    void Reset() {
      if (object_ == nullptr) return;
      if constexpr (Resettable<T>) {
        object_->Reset();
      } else {
        *object_ = T{};
      }
      core_->Put(object_, 0, sizeof(T), /*wipe=*/false);
      object_ = nullptr;
      core_ = nullptr;
    }

   private:
    friend class ObjectPool;
    Handle(detail::PoolCore* core, T* object) : core_(core), object_(object) {}
    detail::PoolCore* core_ = nullptr;
    T* object_ = nullptr;
  };

  explicit ObjectPool(PoolOptions options = {}) {
    detail::CoreConfig config;
    config.options = std::move(options);
    config.class_count = 1;
    config.class_sizes[0] = static_cast<uint32_t>((sizeof(T) + 7) / 8 * 8);
    config.blocks_hold_objects = true;
    config.destroy_block = [](void* block) { static_cast<T*>(block)->~T(); };
    core_ = detail::PoolCore::Create(config);
  }
  ~ObjectPool() {
    if (core_ != nullptr) core_->Shutdown();
  }
  ObjectPool(const ObjectPool&) = delete;
  ObjectPool& operator=(const ObjectPool&) = delete;

  // A default-constructed (fresh) or reset (reused) object; empty handle on
  // allocation failure.
  Handle Get() {
    if (core_ == nullptr) return Handle();
    const detail::PoolCore::Block block = core_->Get(0, sizeof(T));
    if (block.ptr == nullptr) return Handle();
    T* object = block.fresh ? new (block.ptr) T() : static_cast<T*>(block.ptr);
    return Handle(core_, object);
  }

  void Trim() {
    if (core_ != nullptr) core_->Trim();
  }
  // The decay of retained memory (pool_core.h; as BufferPool's).
  size_t Decay() { return DecayThreadCache() + DecaySharedLists(); }
  size_t DecayThreadCache() { return core_ != nullptr ? core_->DecayThreadCache() : 0; }
  size_t DecaySharedLists() { return core_ != nullptr ? core_->DecaySharedLists() : 0; }
  PoolStats Stats() const {
    return core_ != nullptr ? core_->Snapshot() : PoolStats{};
  }

 private:
  detail::PoolCore* core_;  // null only if the core could not be allocated
};

}  // namespace reflex::pool

#endif  // REFLEX_POOL_OBJECT_POOL_H_
