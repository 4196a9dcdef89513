// The first flight's shapes (SPEC.md 11.8): reading any input in any shape
// never crashes, agrees with the reference model on the error and on the
// message, and an input that reads back is exactly what shaping that message
// (and its tls filler) writes. Input: a shape byte (0 raw, 1 http, 2 tls),
// then the first flight.
#include <algorithm>
#include <array>
#include <cstdint>
#include <vector>

#include "fuzz/fuzz_check.h"
#include "reflex/first_flight.h"
#include "reflex/reference_model.h"

using namespace reflex;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const int shape = data[0] % 3;
  const FirstFlight flight{static_cast<FirstFlightShape>(shape), "fuzz.example", "/f/"};
  const std::span<const uint8_t> in(data + 1, size - 1);
  std::array<uint8_t, kClientHelloBytesV2> message1{};
  TlsFiller filler{};
  const Error e = DecodeFirstFlight(flight, in, message1, &filler);
  std::vector<uint8_t> oracle;
  const Error oracle_error =
      reference::UnshapeFirstFlight(shape, flight.host, flight.path, std::vector<uint8_t>(in.begin(), in.end()), &oracle);
  FUZZ_CHECK(e == oracle_error, "codec and reference model disagree on the error");
  if (e != Error::kOk) return 0;
  FUZZ_CHECK(std::equal(message1.begin(), message1.end(), oracle.begin(), oracle.end()),
             "codec and reference model read different messages");
  std::vector<uint8_t> again(FirstFlightBytes(flight));
  FUZZ_CHECK(EncodeFirstFlight(flight, message1, filler, again) == Error::kOk, "re-shaping failed");
  FUZZ_CHECK(std::equal(again.begin(), again.end(), in.begin(), in.end()), "shape(read(b)) != b");
  return 0;
}
