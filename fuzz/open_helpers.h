// Shared by the frame targets: one frame opened by the pooled opener and by
// the oracle, with the invariants every opening must keep.
#ifndef REFLEX_FUZZ_OPEN_HELPERS_H_
#define REFLEX_FUZZ_OPEN_HELPERS_H_

#include <cstdint>
#include <optional>
#include <vector>

#include "fuzz/fuzz_check.h"
#include "fuzz/fuzz_fixtures.h"
#include "reflex/frame_opener.h"
#include "reflex/reference_model.h"

namespace reflex::fuzz {

// Opens wire at counter both ways and checks that: both agree on the error
// and on the frame, the opener's sticky error is the one returned, a refused
// frame yields no payload, an opened one carries the counter, stays within
// the limit and points into the wire. Returns the frame when it opened.
inline std::optional<reference::Frame> OpenChecked(uint64_t counter,
                                                   const std::vector<uint8_t>& wire,
                                                   AeadBackend backend) {
  FrameOpener opener(FuzzKey(), counter, {kWireProfileV1, backend});
  std::vector<uint8_t> copy = wire;
  OpenedFrame f;
  const Error e = opener.OpenInPlace(copy, &f);
  reference::Frame oracle;
  const Error oracle_error = reference::OpenFrame(FuzzKeyBytes(), counter, wire, &oracle, Profile::kV1Compat);
  FUZZ_CHECK(e == oracle_error, "codec and reference model disagree on the error");
  FUZZ_CHECK(opener.error() == e, "the opener's sticky error is not the one returned");
  if (e != Error::kOk) {
    FUZZ_CHECK(f.payload.empty(), "a refused frame yielded a payload");
    return std::nullopt;
  }
  FUZZ_CHECK(f.counter == counter, "opened at another counter");
  FUZZ_CHECK(f.payload.size() <= kMaxPayloadBytes, "payload above the limit");
  FUZZ_CHECK(f.payload.data() >= copy.data() + 3 &&
                 f.payload.data() + f.payload.size() <= copy.data() + copy.size(),
             "payload outside the wire");
  FUZZ_CHECK(static_cast<uint8_t>(f.type) == oracle.type &&
                 std::vector<uint8_t>(f.payload.begin(), f.payload.end()) == oracle.payload,
             "codec and reference model open differently");
  return oracle;
}

}  // namespace reflex::fuzz

#endif  // REFLEX_FUZZ_OPEN_HELPERS_H_
