// Differential: the two AEAD backends (libsodium and OpenSSL) checked
// against each other. For a fuzzer-chosen key, nonce layout, counter, frame
// type, payload and associated data, both must seal the same bytes and give
// the same verdict; then for a fuzzer-mutated wire both openers must agree
// on the error and, when it opens, on every byte. Two independent
// implementations of ChaCha20-Poly1305 hold each other to the RFC (the
// OpenSSL backend hands messages under kOpensslFromBytes to libsodium, so
// OpenSSL itself is compared from there up).
// Input: [key 32][layout][counter u64][type][length u16][payload]
//        [ad length][ad][mutations: (kind, position u16, value)...].
#include <cstdint>
#include <vector>

#include "fuzz/fuzz_check.h"
#include "fuzz/fuzz_input.h"
#include "reflex/aead.h"
#include "reflex/frame_opener.h"
#include "reflex/frame_sealer.h"

using namespace reflex;
using Bytes = std::vector<uint8_t>;

namespace {

constexpr AeadBackend kSodium = AeadBackend::kSodium;
constexpr AeadBackend kOpenssl = AeadBackend::kOpenssl;

// Applies up to 4 fuzzer-chosen edits: flip a byte, truncate, append, or
// rewrite the length field.
void Mutate(fuzz::FuzzInput& in, Bytes& wire) {
  for (int i = 0; i < 4 && !in.empty(); ++i) {
    const uint8_t kind = in.U8() % 5;
    const uint16_t where = in.U16();
    const uint8_t value = in.U8();
    if (kind == 0 && !wire.empty()) wire[where % wire.size()] ^= value | 1;
    if (kind == 1) wire.resize(where % (wire.size() + 1));
    if (kind == 2) wire.push_back(value);
    if (kind == 3 && wire.size() >= 2) {
      wire[0] = static_cast<uint8_t>(where >> 8);
      wire[1] = static_cast<uint8_t>(where);
    }
    // kind 4: leave it (the honest wire is opened too).
  }
}

// Raw AEAD with associated data (what a Noise handshake uses): same bytes,
// same verdict, on the honest and on a flipped ciphertext.
void RawWithAd(const SessionKey& key, const std::array<uint8_t, 12>& nonce, const Bytes& ad,
               const Bytes& plaintext, size_t flip) {
  Aead seal_a, seal_b, open_a, open_b;
  FUZZ_CHECK(seal_a.Init(kSodium, AeadDirection::kSeal, key.span()) == Error::kOk &&
                 seal_b.Init(kOpenssl, AeadDirection::kSeal, key.span()) == Error::kOk &&
                 open_a.Init(kSodium, AeadDirection::kOpen, key.span()) == Error::kOk &&
                 open_b.Init(kOpenssl, AeadDirection::kOpen, key.span()) == Error::kOk,
             "keying failed");
  Bytes a = plaintext, b = plaintext;
  uint8_t tag_a[kTagBytes], tag_b[kTagBytes];
  FUZZ_CHECK(seal_a.Seal(nonce, ad, a, tag_a) == Error::kOk, "sodium seal failed");
  FUZZ_CHECK(seal_b.Seal(nonce, ad, b, tag_b) == Error::kOk, "openssl seal failed");
  FUZZ_CHECK(a == b && std::equal(tag_a, tag_a + kTagBytes, tag_b), "ciphertexts differ");
  Bytes ct = a;
  if (!ct.empty()) ct[flip % ct.size()] ^= 0x20;
  Bytes out_a(ct.size()), out_b(ct.size());
  const Error ea = open_a.Open(nonce, ad, ct, tag_a, out_a.data());
  const Error eb = open_b.Open(nonce, ad, ct, tag_b, out_b.data());
  FUZZ_CHECK(ea == eb, "the backends disagree on a (possibly flipped) ciphertext");
  FUZZ_CHECK(ct.empty() ? ea == Error::kOk : ea == Error::kAuthFailed || ct == a,
             "a flipped ciphertext authenticated");
  if (ea == Error::kOk) FUZZ_CHECK(out_a == out_b && out_a == plaintext, "plaintexts differ");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  fuzz::FuzzInput in(data, size);
  Bytes key_bytes = in.Bytes(32);
  key_bytes.resize(32);
  const SessionKey key{std::span<const uint8_t, 32>(key_bytes.data(), 32)};
  const WireProfile& layout = in.Bool() ? kWireProfileV2 : kWireProfileV1;
  const uint64_t counter = in.U64();
  const auto type = static_cast<FrameType>(in.U8());
  const size_t length = in.U16() % (kMaxPayloadBytes + 2);
  Bytes payload = in.Bytes(length);
  payload.resize(length, 0x3C);
  const Bytes ad = in.Bytes(in.U8() % 64);

  // Seal with each backend: same error, same bytes, same counter use.
  FrameSealer sa(key, counter, {layout, kSodium});
  FrameSealer sb(key, counter, {layout, kOpenssl});
  Bytes wa(kFrameOverheadBytes + payload.size()), wb(wa.size());
  size_t na = 0, nb = 0;
  const Error ea = sa.SealInto(type, payload, wa, &na);
  const Error eb = sb.SealInto(type, payload, wb, &nb);
  FUZZ_CHECK(ea == eb, "the backends disagree on sealing");
  FUZZ_CHECK(sa.next_counter() == sb.next_counter() && sa.exhausted() == sb.exhausted(),
             "the backends used counters differently");
  Bytes wire;
  if (ea == Error::kOk) {
    FUZZ_CHECK(na == nb && wa == wb, "the backends sealed different bytes");
    wire = wa;
  } else {
    wire = in.Bytes(in.U16() % 20000);  // nothing sealed: open raw bytes
  }
  Mutate(in, wire);

  // Open the (mutated) wire with each backend: same verdict, same bytes.
  FrameOpener oa(key, counter, {layout, kSodium});
  FrameOpener ob(key, counter, {layout, kOpenssl});
  Bytes ca = wire, cb = wire;
  OpenedFrame fa, fb;
  const Error oea = oa.OpenInPlace(ca, &fa);
  const Error oeb = ob.OpenInPlace(cb, &fb);
  FUZZ_CHECK(oea == oeb, "the backends disagree on opening");
  if (oea == Error::kOk) {
    FUZZ_CHECK(fa.type == fb.type && fa.counter == fb.counter &&
                   Bytes(fa.payload.begin(), fa.payload.end()) ==
                       Bytes(fb.payload.begin(), fb.payload.end()),
               "the backends opened different frames");
  } else {
    FUZZ_CHECK(fa.payload.empty() && fb.payload.empty(), "a refused frame yielded a payload");
  }

  std::array<uint8_t, 12> nonce = FrameNonce(layout.nonce_layout, counter);
  RawWithAd(key, nonce, ad, Bytes(payload.begin(), payload.begin() + std::min<size_t>(payload.size(), 4096)),
            static_cast<size_t>(counter));
  return 0;
}
