// Datagram decoding (SPEC.md 15.2): never reads past its input, agrees
// with the reference model on the error, the address and the data, and
// re-encodes to exactly its input.
#include <cstdint>
#include <vector>

#include "fuzz/fuzz_check.h"
#include "reflex/datagram.h"
#include "reflex/reference_model.h"

using namespace reflex;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // A copy of exactly `size` bytes, so ASan sees any read past the end.
  const std::vector<uint8_t> in(data, data + size);
  DatagramAddress address;
  size_t address_bytes = 999;
  const Error e = DecodeDatagram(in, &address, &address_bytes);
  DatagramAddress oracle;
  std::vector<uint8_t> oracle_data;
  const Error oracle_error = reference::DecodeDatagram(in, &oracle, &oracle_data);
  FUZZ_CHECK(e == oracle_error, "codec and reference model disagree on the error");
  if (e != Error::kOk) {
    FUZZ_CHECK(address_bytes == 999, "a refused datagram reported a length");
    return 0;
  }
  FUZZ_CHECK(address_bytes <= size, "address form longer than its input");
  FUZZ_CHECK(address == oracle, "addresses differ");
  FUZZ_CHECK(oracle_data.size() == size - address_bytes &&
                 std::equal(oracle_data.begin(), oracle_data.end(), in.begin() + static_cast<ptrdiff_t>(address_bytes)),
             "data differ");
  std::vector<uint8_t> again(kMaxPayloadBytes);
  size_t written = 0;
  FUZZ_CHECK(EncodeDatagram(address, std::span<const uint8_t>(in).subspan(address_bytes), again, &written) ==
                 Error::kOk,
             "re-encode failed");
  FUZZ_CHECK(written == size && std::equal(again.begin(), again.begin() + static_cast<ptrdiff_t>(written), in.begin()),
             "encode(decode(b)) != b");
  return 0;
}
