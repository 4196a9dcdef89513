// Server hello decoding: never crashes, agrees with the oracle, and a hello
// that decodes re-encodes to exactly its input.
#include <cstdint>
#include <vector>

#include "fuzz/fuzz_check.h"
#include "reflex/hello.h"
#include "reflex/reference_model.h"

using namespace reflex;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::span<const uint8_t> in(data, size);
  ServerHello hello;
  const Error e = DecodeServerHello(in, &hello);
  ServerHello oracle;
  const Error oracle_error =
      reference::DecodeServerHello(std::vector<uint8_t>(data, data + size), &oracle);
  FUZZ_CHECK(e == oracle_error, "codec and reference model disagree on the error");
  FUZZ_CHECK((e == Error::kOk) == (size == kServerHelloBytesV1), "exactly 40 bytes decode");
  if (e != Error::kOk) return 0;
  FUZZ_CHECK(hello == oracle, "codec and reference model decode differently");
  uint8_t again[kServerHelloBytesV1];
  FUZZ_CHECK(EncodeServerHello(hello, again) == Error::kOk, "re-encode failed");
  FUZZ_CHECK(std::equal(again, again + kServerHelloBytesV1, data), "encode(decode(b)) != b");
  return 0;
}
