#include "reflex/random.h"

#include <pthread.h>
#include <sodium.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>

#include "reflex/crypto_init.h"

namespace reflex {
namespace {

// Bumped in every child after fork(): a generator that sees a new value
// reseeds, so parent and child never share a stream.
std::atomic<uint64_t> g_fork_generation{0};
void OnFork() { g_fork_generation.fetch_add(1, std::memory_order_relaxed); }
const int g_atfork = pthread_atfork(nullptr, nullptr, OnFork);

constexpr uint8_t kNonce[crypto_stream_chacha20_ietf_NONCEBYTES] = {};
constexpr size_t kBlockBytes = 64;
// ChaCha20-IETF counts blocks in 32 bits; requests are cut well below that.
constexpr size_t kMaxChunk = size_t{1} << 30;

}  // namespace

uint64_t RandomSource::NextU64() {
  uint8_t b[8];
  Fill(b);
  uint64_t v = 0;
  for (uint8_t x : b) v = v << 8 | x;
  return v;
}

uint64_t RandomSource::Below(uint64_t bound) {
  // The largest multiple of bound that fits; draws above it are rejected.
  const uint64_t limit = UINT64_MAX - UINT64_MAX % bound;
  while (true) {
    const uint64_t v = NextU64();
    if (v < limit) return v % bound;
  }
}

Csprng::Csprng() {
  (void)g_atfork;
  error_ = InitCrypto();
  if (error_ == Error::kOk) Reseed();
}

void Csprng::Reseed() {
  randombytes_buf(key_.data(), key_.size());
  fork_generation_ = g_fork_generation.load(std::memory_order_relaxed);
}

void Csprng::Fill(std::span<uint8_t> out) {
  if (error_ != Error::kOk) {
    std::fprintf(stderr, "reflex: Csprng used after libsodium failed to initialize\n");
    std::abort();
  }
  if (fork_generation_ != g_fork_generation.load(std::memory_order_relaxed)) Reseed();
  while (!out.empty()) {
    const size_t n = std::min(out.size(), kMaxChunk);
    // Keystream blocks [0, blocks) are the output; block `blocks` becomes
    // the next key (fast key erasure).
    crypto_stream_chacha20_ietf(out.data(), n, kNonce, key_.data());
    const auto blocks = static_cast<uint32_t>((n + kBlockBytes - 1) / kBlockBytes);
    uint8_t next[kBlockBytes] = {};
    crypto_stream_chacha20_ietf_xor_ic(next, next, sizeof(next), kNonce, blocks, key_.data());
    std::copy(next, next + key_.size(), key_.data());
    sodium_memzero(next, sizeof(next));
    out = out.subspan(n);
  }
}

RandomSource& ThreadRandom() {
  static thread_local Csprng random;
  return random;
}

}  // namespace reflex
