// Request header decoding: never reads past its input, agrees with the
// oracle, reports an exact header length, and re-encodes to the header bytes.
#include <cstdint>
#include <vector>

#include "fuzz/fuzz_check.h"
#include "reflex/request_header.h"
#include "reflex/reference_model.h"

using namespace reflex;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // A copy of exactly `size` bytes, so ASan sees any read past the end.
  const std::vector<uint8_t> in(data, data + size);
  RequestHeader header;
  size_t header_bytes = 999;
  const Error e = DecodeRequestHeader(in, &header, &header_bytes);
  RequestHeader oracle;
  size_t oracle_bytes = 0;
  const Error oracle_error = reference::DecodeRequestHeader(in, &oracle, &oracle_bytes);
  FUZZ_CHECK(e == oracle_error, "codec and reference model disagree on the error");
  if (e != Error::kOk) {
    FUZZ_CHECK(header_bytes == 999, "a refused header reported a length");
    return 0;
  }
  FUZZ_CHECK(header == oracle && header_bytes == oracle_bytes, "decodes differ");
  FUZZ_CHECK(header_bytes <= size, "header longer than its input");
  size_t encoded_size = 0;
  FUZZ_CHECK(EncodedRequestHeaderSize(header, &encoded_size) == Error::kOk &&
                 header_bytes == encoded_size,
             "length is not exact");
  uint8_t again[kMaxRequestHeaderBytes];
  size_t written = 0;
  FUZZ_CHECK(EncodeRequestHeader(header, again, &written) == Error::kOk, "re-encode failed");
  FUZZ_CHECK(written == header_bytes && std::equal(again, again + written, data),
             "encode(decode(b)) != header bytes of b");
  return 0;
}
