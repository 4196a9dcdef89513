// Client hello decoding: never crashes, agrees with the oracle, and a hello
// that decodes re-encodes to exactly its input.
#include <cstdint>
#include <vector>

#include "fuzz/fuzz_check.h"
#include "reflex/hello.h"
#include "reflex/reference_model.h"

using namespace reflex;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::span<const uint8_t> in(data, size);
  ClientHello hello;
  hello.timestamp = 12345;
  const ClientHello before = hello;
  const Error e = DecodeClientHello(in, &hello);
  ClientHello oracle;
  const Error oracle_error =
      reference::DecodeClientHello(std::vector<uint8_t>(data, data + size), &oracle);
  FUZZ_CHECK(e == oracle_error, "codec and reference model disagree on the error");
  if (e != Error::kOk) {
    FUZZ_CHECK(hello == before, "a refused hello wrote its output");
    FUZZ_CHECK(size != kClientHelloBytes || e == Error::kBadMagic,
               "76 bytes can only fail on the magic");
    return 0;
  }
  FUZZ_CHECK(size == kClientHelloBytes, "only 76 bytes decode");
  FUZZ_CHECK(hello == oracle, "codec and reference model decode differently");
  uint8_t again[kClientHelloBytes];
  FUZZ_CHECK(EncodeClientHello(hello, again) == Error::kOk, "re-encode failed");
  FUZZ_CHECK(std::equal(again, again + kClientHelloBytes, data), "encode(decode(b)) != b");
  return 0;
}
