// Frame opening, past the AEAD. Each input is used twice:
//  - as raw wire bytes, opened at the counter the input chooses: the opener
//    agrees with the oracle, and an opened frame re-seals to its wire;
//  - as a plaintext (type byte + payload, any length, any type) that the
//    target seals itself with the fixed key, so every post-decryption check
//    is reached; a copy with one flipped bit must fail authentication.
// Input: [counter u64][bytes...].
#include <cstdint>
#include <vector>

#include "fuzz/fuzz_check.h"
#include "fuzz/fuzz_fixtures.h"
#include "fuzz/fuzz_input.h"
#include "fuzz/open_helpers.h"
#include "reflex/frame_opener.h"
#include "reflex/reference_model.h"

using namespace reflex;
using Bytes = std::vector<uint8_t>;

namespace {

void OpenRaw(uint64_t counter, const Bytes& wire, AeadBackend backend) {
  const std::optional<reference::Frame> oracle = fuzz::OpenChecked(counter, wire, backend);
  if (!oracle) return;
  Bytes resealed;
  FUZZ_CHECK(reference::SealFrame(fuzz::FuzzKeyBytes(), counter, oracle->type, oracle->payload,
                                 &resealed, Profile::kV1Compat) == Error::kOk &&
                 resealed == wire,
             "an opened frame does not re-seal to its wire");
}

void SealThenOpen(uint64_t counter, const Bytes& plaintext, size_t flip_bit,
                  AeadBackend backend) {
  if (plaintext.size() + 16 > 0xFFFF) return;  // cannot be framed at all
  const Bytes wire = reference::SealAnyPlaintext(fuzz::FuzzKeyBytes(), counter, plaintext, Profile::kV1Compat);
  Error expected = Error::kOk;
  if (plaintext.size() + 16 > kMaxSealedBytes) {
    expected = Error::kFrameTooLarge;
  } else if (plaintext.empty()) {
    expected = Error::kEmptyPlaintext;
  } else if (!IsKnownFrameType(plaintext[0])) {
    expected = Error::kUnknownFrameType;
  }
  {
    FrameOpener opener(fuzz::FuzzKey(), counter, {kWireProfileV1, backend});
    Bytes copy = wire;
    OpenedFrame f;
    FUZZ_CHECK(opener.OpenInPlace(copy, &f) == expected, "authentic frame: wrong verdict");
    if (expected == Error::kOk) {
      FUZZ_CHECK(static_cast<uint8_t>(f.type) == plaintext[0] &&
                     Bytes(f.payload.begin(), f.payload.end()) ==
                         Bytes(plaintext.begin() + 1, plaintext.end()),
                 "authentic frame: other contents");
    } else {
      FUZZ_CHECK(f.payload.empty(), "a refused frame yielded a payload");
    }
  }
  if (expected == Error::kFrameTooLarge) return;  // refused before the AEAD
  Bytes flipped = wire;
  const size_t bit = 16 + flip_bit % ((flipped.size() - 2) * 8);
  flipped[bit / 8] ^= static_cast<uint8_t>(1u << (bit % 8));
  FrameOpener opener(fuzz::FuzzKey(), counter, {kWireProfileV1, backend});
  OpenedFrame f;
  FUZZ_CHECK(opener.OpenInPlace(flipped, &f) == Error::kAuthFailed,
             "a flipped bit did not fail authentication");
  FUZZ_CHECK(f.payload.empty(), "a forged frame yielded a payload");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  fuzz::FuzzInput in(data, size);
  const uint64_t counter = in.U64();
  const Bytes rest = in.Rest();
  const AeadBackend backend = fuzz::FuzzBackend(size);
  OpenRaw(counter, rest, backend);
  SealThenOpen(counter, rest, static_cast<size_t>(counter >> 8), backend);
  return 0;
}
