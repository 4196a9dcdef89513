// Mutex and MutexLock: std::mutex with the annotations clang's thread-safety
// analysis needs (libstdc++'s own mutex carries none).
#ifndef REFLEX_BASE_MUTEX_H_
#define REFLEX_BASE_MUTEX_H_

#include <mutex>

#include "base/thread_annotations.h"

namespace reflex::base {

class REFLEX_CAPABILITY("mutex") Mutex {
 public:
  constexpr Mutex() = default;
  Mutex(const Mutex&) = delete;
  Mutex& operator=(const Mutex&) = delete;

  void Lock() REFLEX_ACQUIRE() { mu_.lock(); }
  void Unlock() REFLEX_RELEASE() { mu_.unlock(); }

 private:
  std::mutex mu_;
};

class REFLEX_SCOPED_CAPABILITY MutexLock {
 public:
  explicit MutexLock(Mutex& mu) REFLEX_ACQUIRE(mu) : mu_(mu) { mu_.Lock(); }
  ~MutexLock() REFLEX_RELEASE() { mu_.Unlock(); }
  MutexLock(const MutexLock&) = delete;
  MutexLock& operator=(const MutexLock&) = delete;

 private:
  Mutex& mu_;
};

}  // namespace reflex::base

#endif  // REFLEX_BASE_MUTEX_H_
