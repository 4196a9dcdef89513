// Codec benchmarks, each against a baseline measured in the same run:
//   raw AEAD of each backend (libsodium; OpenSSL EVP with its context made
//   once), the codec on each backend, OpenSSL against libsodium, the Go
//   original's benchmark shapes, and (bench/go/run.sh) Go's x/crypto.
#include <benchmark/benchmark.h>
#include <openssl/evp.h>
#include <sodium.h>

#include <cstdint>
#include <cstring>
#include <vector>

#include "bench/ratio_reporter.h"
#include "pool/buffer_pool.h"
#include "reflex/frame_decoder.h"
#include "reflex/frame_opener.h"
#include "reflex/frame_sealer.h"
#include "reflex/handshake_pool.h"
#include "reflex/hello.h"
#include "reflex/hkdf.h"
#include "reflex/key_schedule.h"
#include "reflex/openssl_cpu_mask.h"
#include "reflex/pooled_frames.h"
#include "reflex/random.h"
#include "base/alloc_counter.h"

namespace reflex::bench {
namespace {

using Bytes = std::vector<uint8_t>;

// Reports allocations per iteration over the measured loop.
class AllocReport {
 public:
  explicit AllocReport(benchmark::State& state) : state_(state) {}
  ~AllocReport() {
    state_.counters["allocs/iter"] = benchmark::Counter(
        static_cast<double>(scope_.count()) / static_cast<double>(state_.iterations()));
  }

 private:
  benchmark::State& state_;
  testing::AllocationScope scope_;
};

SessionKey RandomKey() {
  SessionKey key;
  randombytes_buf(key.data(), key.size());
  return key;
}

void Nonce(uint64_t counter, uint8_t out[12]) {
  for (int i = 0; i < 12; ++i) out[i] = i < 8 ? static_cast<uint8_t>(counter >> (8 * i)) : 0;
}

// Raw libsodium: encrypt then decrypt (type + payload) in place.
void BM_RawAead_sodium(benchmark::State& state) {
  const auto size = static_cast<size_t>(state.range(0));
  const SessionKey key = RandomKey();
  Bytes buf(2 + 1 + size + 16, 0x41);
  uint64_t counter = 0;
  AllocReport allocs(state);
  for (auto _ : state) {
    uint8_t nonce[12];
    Nonce(++counter, nonce);
    uint8_t* m = buf.data() + 2;
    crypto_aead_chacha20poly1305_ietf_encrypt_detached(m, m + 1 + size, nullptr, m, 1 + size,
                                                       nullptr, 0, nullptr, nonce, key.data());
    if (crypto_aead_chacha20poly1305_ietf_decrypt_detached(m, nullptr, m, 1 + size, m + 1 + size,
                                                           nullptr, 0, nonce, key.data()) != 0) {
      state.SkipWithError("decrypt failed");
    }
    benchmark::DoNotOptimize(buf.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * size));
}

// Raw OpenSSL EVP, as well as it can be used: one context per direction
// made once, only the nonce set per message.
void BM_RawAead_openssl(benchmark::State& state) {
  const auto size = static_cast<size_t>(state.range(0));
  const SessionKey key = RandomKey();
  EVP_CIPHER_CTX* enc = EVP_CIPHER_CTX_new();
  EVP_CIPHER_CTX* dec = EVP_CIPHER_CTX_new();
  EVP_CipherInit_ex(enc, EVP_chacha20_poly1305(), nullptr, key.data(), nullptr, 1);
  EVP_CipherInit_ex(dec, EVP_chacha20_poly1305(), nullptr, key.data(), nullptr, 0);
  Bytes buf(2 + 1 + size + 16, 0x41);
  uint64_t counter = 0;
  AllocReport allocs(state);
  for (auto _ : state) {
    uint8_t nonce[12], scratch[16];
    Nonce(++counter, nonce);
    uint8_t* m = buf.data() + 2;
    const int n = static_cast<int>(1 + size);
    int out = 0;
    EVP_CipherInit_ex(enc, nullptr, nullptr, nullptr, nonce, 1);
    EVP_CipherUpdate(enc, m, &out, m, n);
    EVP_CipherFinal_ex(enc, scratch, &out);
    EVP_CIPHER_CTX_ctrl(enc, EVP_CTRL_AEAD_GET_TAG, 16, m + n);
    EVP_CipherInit_ex(dec, nullptr, nullptr, nullptr, nonce, 0);
    EVP_CIPHER_CTX_ctrl(dec, EVP_CTRL_AEAD_SET_TAG, 16, m + n);
    EVP_CipherUpdate(dec, m, &out, m, n);
    if (EVP_CipherFinal_ex(dec, scratch, &out) != 1) state.SkipWithError("decrypt failed");
    benchmark::DoNotOptimize(buf.data());
  }
  EVP_CIPHER_CTX_free(enc);
  EVP_CIPHER_CTX_free(dec);
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * size));
}

// Codec, zero-copy: the payload is produced in the pooled frame buffer (as
// a proxy reading from a socket would), sealed and opened in place. The
// buffer then holds plaintext, so it is wiped when it goes back: a cost the
// raw baseline does not pay.
template <AeadBackend kBackend>
void BM_FrameSealOpen(benchmark::State& state) {
  const auto size = static_cast<size_t>(state.range(0));
  pool::BufferPool pool;
  const SessionKey key = RandomKey();
  FrameSealer sealer(key, {kWireProfileV1, kBackend});
  FrameOpener opener(key, {kWireProfileV1, kBackend});
  AllocReport allocs(state);
  for (auto _ : state) {
    pool::Buffer frame;
    if (NewFrameBuffer(pool, size, &frame) != Error::kOk ||
        SealFrameBuffer(sealer, FrameType::kData, frame) != Error::kOk) {
      state.SkipWithError("seal failed");
    }
    OpenedFrame f;
    if (opener.OpenInPlace(frame.span(), &f) != Error::kOk) state.SkipWithError("open failed");
    frame.set_wipe_on_return(true);
    benchmark::DoNotOptimize(f.payload.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * size));
}

// Codec, copying: the payload is copied into the pooled buffer.
template <AeadBackend kBackend>
void BM_FrameSealCopyOpen(benchmark::State& state) {
  const auto size = static_cast<size_t>(state.range(0));
  pool::BufferPool pool;
  const SessionKey key = RandomKey();
  FrameSealer sealer(key, {kWireProfileV1, kBackend});
  FrameOpener opener(key, {kWireProfileV1, kBackend});
  const Bytes payload(size, 0x41);
  AllocReport allocs(state);
  for (auto _ : state) {
    pool::Buffer wire;
    if (SealToBuffer(sealer, pool, FrameType::kData, payload, &wire) != Error::kOk) {
      state.SkipWithError("seal failed");
    }
    OpenedFrame f;
    if (opener.OpenInPlace(wire.span(), &f) != Error::kOk) state.SkipWithError("open failed");
    wire.set_wipe_on_return(true);
    benchmark::DoNotOptimize(f.payload.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * size));
}

void FrameSizes(benchmark::internal::Benchmark* b) {
  for (int size : {64, 1400, 4096, 16384}) b->Arg(size);
}
BENCHMARK(BM_RawAead_sodium)->Apply(FrameSizes);
BENCHMARK(BM_RawAead_openssl)->Apply(FrameSizes);
BENCHMARK(BM_FrameSealOpen<AeadBackend::kSodium>)->Name("BM_FrameSealOpen_sodium")->Apply(FrameSizes);
BENCHMARK(BM_FrameSealOpen<AeadBackend::kOpenssl>)->Name("BM_FrameSealOpen_openssl")->Apply(FrameSizes);
BENCHMARK(BM_FrameSealCopyOpen<AeadBackend::kSodium>)
    ->Name("BM_FrameSealCopyOpen_sodium")
    ->Apply(FrameSizes);
BENCHMARK(BM_FrameSealCopyOpen<AeadBackend::kOpenssl>)
    ->Name("BM_FrameSealCopyOpen_openssl")
    ->Apply(FrameSizes);

constexpr int kLifecycleFrames = 100;
constexpr size_t kLifecyclePayload = 4096;

// The Go original's ConnectionLifecycle100Frames: a fresh key (so a new
// sealer and decoder, an OpenSSL context each), 100 frames of 4 KiB,
// encode + stream-decode. Arg 1: a new random payload per frame (as the Go
// original does, here from the CSPRNG); arg 0: payload prepared once.
template <AeadBackend kBackend>
void BM_ConnectionLifecycle100Frames(benchmark::State& state) {
  const bool fresh_payloads = state.range(0) == 1;
  pool::BufferPool pool;
  Bytes payload(kLifecyclePayload);
  RandomSource& random = ThreadRandom();
  random.Fill(payload);
  AllocReport allocs(state);
  for (auto _ : state) {
    const SessionKey key = RandomKey();
    FrameSealer sealer(key, {kWireProfileV1, kBackend});
    FrameDecoder decoder(key, pool, {kWireProfileV1, kBackend});
    for (int i = 0; i < kLifecycleFrames; ++i) {
      if (fresh_payloads) random.Fill(payload);
      pool::Buffer wire;
      if (SealToBuffer(sealer, pool, FrameType::kData, payload, &wire) != Error::kOk) {
        state.SkipWithError("seal failed");
      }
      size_t used = 0;
      DecodedFrame frame;
      if (decoder.Decode(wire.span(), &used, &frame) != Error::kOk || !frame) {
        state.SkipWithError("decode failed");
      }
      benchmark::DoNotOptimize(frame.plaintext.data());
    }
  }
}

void BM_RawLifecycle100Frames(benchmark::State& state) {
  const bool fresh_payloads = state.range(0) == 1;
  Bytes payload(kLifecyclePayload);
  randombytes_buf(payload.data(), payload.size());
  Bytes wire(2 + 1 + kLifecyclePayload + 16);
  Bytes plain(1 + kLifecyclePayload);
  AllocReport allocs(state);
  for (auto _ : state) {
    const SessionKey key = RandomKey();
    for (int i = 0; i < kLifecycleFrames; ++i) {
      if (fresh_payloads) randombytes_buf(payload.data(), payload.size());
      uint8_t nonce[12];
      Nonce(static_cast<uint64_t>(i) + 1, nonce);
      wire[2] = 1;
      std::copy(payload.begin(), payload.end(), wire.begin() + 3);
      uint8_t* m = wire.data() + 2;
      crypto_aead_chacha20poly1305_ietf_encrypt_detached(m, m + plain.size(), nullptr, m,
                                                         plain.size(), nullptr, 0, nullptr,
                                                         nonce, key.data());
      if (crypto_aead_chacha20poly1305_ietf_decrypt_detached(
              plain.data(), nullptr, m, plain.size(), m + plain.size(), nullptr, 0, nonce,
              key.data()) != 0) {
        state.SkipWithError("decrypt failed");
      }
      benchmark::DoNotOptimize(plain.data());
    }
  }
}
BENCHMARK(BM_RawLifecycle100Frames)->Arg(0)->Arg(1)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_ConnectionLifecycle100Frames<AeadBackend::kSodium>)
    ->Name("BM_ConnectionLifecycle100Frames_sodium")
    ->Arg(0)
    ->Arg(1)
    ->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_ConnectionLifecycle100Frames<AeadBackend::kOpenssl>)
    ->Name("BM_ConnectionLifecycle100Frames_openssl")
    ->Arg(0)
    ->Arg(1)
    ->Unit(benchmark::kMicrosecond);

// Bulk randomness: libsodium's randombytes_buf (a getrandom() call per 256
// bytes on this libsodium) against the CSPRNG (one syscall at seeding).
void BM_RandomFill_os(benchmark::State& state) {
  Bytes out(static_cast<size_t>(state.range(0)));
  for (auto _ : state) {
    randombytes_buf(out.data(), out.size());
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * out.size()));
}
void BM_RandomFill_csprng(benchmark::State& state) {
  Bytes out(static_cast<size_t>(state.range(0)));
  Csprng random;
  for (auto _ : state) {
    random.Fill(out);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * out.size()));
}
BENCHMARK(BM_RandomFill_os)->Arg(16)->Arg(4096);
BENCHMARK(BM_RandomFill_csprng)->Arg(16)->Arg(4096);

// The Go original's HandshakeExchange: two key pairs, both hellos encoded
// and decoded, the session key derived on both sides.
void BM_HandshakeExchange(benchmark::State& state) {
  HandshakePool hellos;
  AllocReport allocs(state);
  for (auto _ : state) {
    KeyPair client, server;
    ClientHello ch, ch2;
    ServerHello sh, sh2;
    pool::Buffer c, s;
    SessionKey k1, k2;
    ch.timestamp = 1700000000;
    const bool ok = GenerateKeyPair(&client) == Error::kOk &&
                    GenerateKeyPair(&server) == Error::kOk &&
                    (ch.public_key = client.public_key,
                     EncodeClientHello(ch, hellos, &c) == Error::kOk) &&
                    DecodeClientHello(c.span(), &ch2) == Error::kOk &&
                    (sh.public_key = server.public_key,
                     EncodeServerHello(sh, hellos, &s) == Error::kOk) &&
                    DecodeServerHello(s.span(), &sh2) == Error::kOk &&
                    DeriveSessionKeyV1(server.private_key, ch2.public_key, &k1) == Error::kOk &&
                    DeriveSessionKeyV1(client.private_key, sh2.public_key, &k2) == Error::kOk;
    if (!ok) state.SkipWithError("handshake failed");
    benchmark::DoNotOptimize(k1.data());
    benchmark::DoNotOptimize(k2.data());
  }
}

// Raw: the same cryptography straight from libsodium (hellos as memcpy).
void BM_RawHandshake(benchmark::State& state) {
  static const char kLabel[] = "reflex-session-v1";
  const auto* label = reinterpret_cast<const uint8_t*>(kLabel);
  AllocReport allocs(state);
  for (auto _ : state) {
    uint8_t cpriv[32], spriv[32], cpub[32], spub[32], hello[76], shared[32], k[2][32];
    randombytes_buf(cpriv, 32);
    randombytes_buf(spriv, 32);
    crypto_scalarmult_base(cpub, cpriv);
    crypto_scalarmult_base(spub, spriv);
    std::memcpy(hello + 4, cpub, 32);
    std::memcpy(hello, spub, 32);
    for (int side = 0; side < 2; ++side) {
      if (crypto_scalarmult(shared, side ? cpriv : spriv, side ? spub : cpub) != 0) {
        state.SkipWithError("low order");
      }
      if (HkdfSha256({label, 17}, {shared, 32}, {label, 17}, {k[side], 32}) != Error::kOk) {
        state.SkipWithError("hkdf failed");
      }
    }
    benchmark::DoNotOptimize(k);
    sodium_memzero(shared, sizeof(shared));
  }
}
BENCHMARK(BM_RawHandshake)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_HandshakeExchange)->Unit(benchmark::kMicrosecond);

const bool kRatios = [] {
  if (sodium_init() < 0) std::abort();
  for (const char* b : {"sodium", "openssl"}) {
    const std::string backend = b;
    RegisterRatio("BM_RawAead_" + backend, "BM_FrameSealOpen_" + backend,
                  "zero-copy frame seal+open (pooled buffer, wiped on return) vs the same "
                  "backend's raw AEAD encrypt+decrypt in place (target: >= 0.95x)");
    RegisterRatio("BM_RawAead_" + backend, "BM_FrameSealCopyOpen_" + backend,
                  "frame seal (copying the payload) + open vs the same backend's raw AEAD");
  }
  RegisterRatio("BM_RawAead_sodium", "BM_RawAead_openssl", "raw OpenSSL vs raw libsodium");
  RegisterRatio("BM_FrameSealOpen_sodium", "BM_FrameSealOpen_openssl",
                "the codec on OpenSSL vs the codec on libsodium");
  RegisterRatio("BM_GoRawAead", "BM_FrameSealOpen_openssl",
                "our zero-copy seal+open (OpenSSL) vs Go x/crypto raw seal+open "
                "(bench/go/run.sh; target: faster from 1400 B, at most 1.2x Go's time at 64 B)");
  RegisterRatio("BM_GoRawAead", "BM_FrameSealOpen_sodium",
                "our zero-copy seal+open (libsodium) vs Go x/crypto raw seal+open");
  RegisterRatio("BM_RawLifecycle100Frames", "BM_ConnectionLifecycle100Frames_sodium",
                "100 x 4 KiB frames through sealer + stream decoder vs raw libsodium (arg 1: "
                "random payload per frame as the Go original; 0: payload prepared once)");
  RegisterRatio("BM_RawLifecycle100Frames", "BM_ConnectionLifecycle100Frames_openssl",
                "the same lifecycle on OpenSSL vs raw libsodium");
  RegisterRatio("BM_GoRawLifecycle100Frames", "BM_ConnectionLifecycle100Frames_openssl",
                "our lifecycle (OpenSSL) vs Go x/crypto raw AEAD doing the same frames");
  RegisterRatio("BM_RandomFill_os", "BM_RandomFill_csprng",
                "bulk random bytes: our CSPRNG vs libsodium's randombytes_buf");
  RegisterRatio("BM_RawHandshake", "BM_HandshakeExchange",
                "handshake (2 key pairs, both hellos via the handshake pool, both sides' "
                "session key) vs the same libsodium calls");
  return true;
}();

}  // namespace
}  // namespace reflex::bench

int main(int argc, char** argv) {
  reflex::MaskOpensslIfma(argv);  // as reflex runs (reflex/openssl_cpu_mask.h)
  return reflex::bench::RunWithRatios(argc, argv);
}
