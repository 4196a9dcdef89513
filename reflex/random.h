// Randomness. Key material (ephemeral private keys) comes from the OS, one
// call per key (libsodium's randombytes_buf). Everything else the library
// needs in bulk or often (hello nonces, traffic-shaping choices) comes from
// a RandomSource, injected where it is used so tests are deterministic.
//
// Csprng is the production source: ChaCha20 keystream keyed from the OS,
// with fast key erasure (the key is replaced by fresh keystream after every
// request, so a later compromise of the state reveals nothing already
// produced) and a reseed in any child after fork(). It makes one syscall
// at construction, none per request. PADDING payloads need no randomness at
// all: they are encrypted, so zeros are as good (SPEC.md section 5.5).
#ifndef REFLEX_RANDOM_H_
#define REFLEX_RANDOM_H_

#include <cstddef>
#include <cstdint>
#include <span>

#include "reflex/error.h"
#include "reflex/secret.h"

namespace reflex {

class RandomSource {
 public:
  virtual ~RandomSource() = default;
  // Fills out with random bytes. Infallible once constructed.
  virtual void Fill(std::span<uint8_t> out) = 0;

  uint64_t NextU64();
  // Uniform in [0, bound), bound > 0 (rejection sampling: no modulo bias).
  uint64_t Below(uint64_t bound);
};

class Csprng final : public RandomSource {
 public:
  // Seeds from the OS. A failure to initialize libsodium is reported by
  // error(); such a generator aborts on use rather than hand out bytes that
  // are not random.
  Csprng();
  Error error() const { return error_; }
  void Fill(std::span<uint8_t> out) override;

 private:
  void Reseed();

  Secret<32> key_;
  uint64_t fork_generation_ = 0;
  Error error_ = Error::kOk;
};

// A Csprng per thread, for callers that have none of their own.
RandomSource& ThreadRandom();

}  // namespace reflex

#endif  // REFLEX_RANDOM_H_
