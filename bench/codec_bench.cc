// Codec benchmarks, each against raw libsodium doing the same cryptography in
// the same run. Allocations per iteration come from the process-wide
// allocator counter.
#include <benchmark/benchmark.h>
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
#include "reflex/pooled_frames.h"
#include "reflex/hello.h"
#include "reflex/hkdf.h"
#include "reflex/key_schedule.h"
#include "tools/testing/alloc_counter.h"

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

// The codec's libsodium backend: the one comparable with BM_RawAead.
const FrameCipherOptions kSodiumV1 = {NonceLayout::kV1, AeadBackend::kSodium};

SessionKey RandomKey() {
  SessionKey key;
  randombytes_buf(key.data(), key.size());
  return key;
}

void Nonce(uint64_t counter, uint8_t out[12]) {
  for (int i = 0; i < 12; ++i) out[i] = i < 8 ? static_cast<uint8_t>(counter >> (8 * i)) : 0;
}

// Raw: encrypt then decrypt (type + payload) in place with libsodium.
void BM_RawAead(benchmark::State& state) {
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

// Codec, zero-copy: the payload is produced in the pooled frame buffer
// (as a proxy reading from a socket would), sealed and opened in place. The
// buffer then holds plaintext, so it is wiped when it goes back: a cost the
// raw baseline does not pay.
void BM_FrameSealOpen(benchmark::State& state) {
  const auto size = static_cast<size_t>(state.range(0));
  pool::BufferPool pool;
  const SessionKey key = RandomKey();
  FrameSealer sealer(key, kFirstFrameCounter, kSodiumV1);
  FrameOpener opener(key, kFirstFrameCounter, kSodiumV1);
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

// Codec, copying: Seal() copies the payload into the pooled buffer.
void BM_FrameSealCopyOpen(benchmark::State& state) {
  const auto size = static_cast<size_t>(state.range(0));
  pool::BufferPool pool;
  const SessionKey key = RandomKey();
  FrameSealer sealer(key, kFirstFrameCounter, kSodiumV1);
  FrameOpener opener(key, kFirstFrameCounter, kSodiumV1);
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

BENCHMARK(BM_RawAead)->Arg(64)->Arg(1400)->Arg(4096)->Arg(16384);
BENCHMARK(BM_FrameSealOpen)->Arg(64)->Arg(1400)->Arg(4096)->Arg(16384);
BENCHMARK(BM_FrameSealCopyOpen)->Arg(64)->Arg(1400)->Arg(4096)->Arg(16384);

constexpr int kLifecycleFrames = 100;
constexpr size_t kLifecyclePayload = 4096;

// The Go seed's ConnectionLifecycle100Frames: fresh key, 100 frames of 4 KiB
// random payload, encode + stream-decode. Arg 1: a new random payload per
// frame (as the seed does); arg 0: payload prepared once (codec only).
void BM_ConnectionLifecycle100Frames(benchmark::State& state) {
  const bool fresh_payloads = state.range(0) == 1;
  pool::BufferPool pool;
  Bytes payload(kLifecyclePayload);
  randombytes_buf(payload.data(), payload.size());
  AllocReport allocs(state);
  for (auto _ : state) {
    const SessionKey key = RandomKey();
    FrameSealer sealer(key, kFirstFrameCounter, kSodiumV1);
    FrameDecoder decoder(key, pool, kFirstFrameCounter, kSodiumV1);
    for (int i = 0; i < kLifecycleFrames; ++i) {
      if (fresh_payloads) randombytes_buf(payload.data(), payload.size());
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
BENCHMARK(BM_ConnectionLifecycle100Frames)->Arg(0)->Arg(1)->Unit(benchmark::kMicrosecond);

// The Go seed's HandshakeExchange: two key pairs, both hellos encoded and
// decoded, the session key derived on both sides.
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
  RegisterRatio("BM_RawAead", "BM_FrameSealOpen",
                "zero-copy frame seal+open in a pooled buffer, wiped on return, vs raw AEAD "
                "encrypt+decrypt in place");
  RegisterRatio("BM_RawAead", "BM_FrameSealCopyOpen",
                "frame seal (copying the payload) + open, wiped on return, vs raw AEAD");
  RegisterRatio("BM_RawLifecycle100Frames", "BM_ConnectionLifecycle100Frames",
                "100 x 4 KiB frames through sealer + stream decoder vs raw AEAD (arg 1: "
                "random payload per frame as the Go seed; 0: payload prepared once)");
  RegisterRatio("BM_RawHandshake", "BM_HandshakeExchange",
                "handshake (2 key pairs, both hellos via the handshake pool, both sides' "
                "session key) vs the same libsodium calls");
  return true;
}();

}  // namespace
}  // namespace reflex::bench

int main(int argc, char** argv) { return reflex::bench::RunWithRatios(argc, argv); }
