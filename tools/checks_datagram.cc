// The kind `datagram` (SPEC.md 15.2): a UDP association's DATA payload,
// checked against the codec and the reference model.
#include <string>

#include "reflex/datagram.h"
#include "reflex/reference_model.h"
#include "tools/checks.h"

namespace reflex::tools {
namespace {

// The address and port a test gives (invalid_argument's job to refuse
// lengths that do not fit the type: the encoders see them as given).
DatagramAddress DatagramAddressOf(const VectorTest& t, Failures& out) {
  DatagramAddress a;
  a.type = static_cast<AddressType>(t.IntField("address_type"));
  a.port = static_cast<uint16_t>(t.IntField("port"));
  const Bytes& address = t.HexField("address");
  if (address.size() > kMaxDomainBytes) {
    out.Add("", "address longer than 255 bytes");
    return a;
  }
  a.length = static_cast<uint8_t>(address.size());
  std::ranges::copy(address, a.bytes.begin());
  return a;
}

void CheckRefusedDatagram(const VectorTest& t, Failures& out) {
  const Bytes& encoded = t.HexField("encoded");
  DatagramAddress a;
  size_t n = 0;
  out.ExpectRefused(CodecName(DefaultAeadBackend()), "decode", DecodeDatagram(encoded, &a, &n),
                    t.ErrorField());
  Bytes data;
  out.ExpectRefused(kReference, "decode", reference::DecodeDatagram(encoded, &a, &data), t.ErrorField());
  if (HasAll(t, {"address_type", "address", "port", "data"})) {
    const DatagramAddress from = DatagramAddressOf(t, out);
    if (reference::EncodeDatagram(from, t.HexField("data")) == encoded) {
      out.Add("", "the fields encode to exactly 'encoded', which decodes");
    }
  }
}

void ExpectDatagramDecodes(const VectorTest& t, const DatagramAddress& expected, Failures& out) {
  const Bytes& encoded = t.HexField("encoded");
  const Bytes& data = t.HexField("data");
  const std::string codec = CodecName(DefaultAeadBackend());
  DatagramAddress got;
  size_t n = 0;
  const Error e = DecodeDatagram(encoded, &got, &n);
  out.ExpectOk(codec, "decode", e);
  if (e == Error::kOk) {
    if (!(got == expected)) out.Add(codec, "decode yields another address or port");
    out.ExpectBytes(codec, "decode: data", data, Bytes(encoded.begin() + static_cast<ptrdiff_t>(n), encoded.end()));
  }
  Bytes reference_data;
  const Error r = reference::DecodeDatagram(encoded, &got, &reference_data);
  out.ExpectOk(kReference, "decode", r);
  if (r == Error::kOk) {
    if (!(got == expected)) out.Add(kReference, "decode yields another address or port");
    out.ExpectBytes(kReference, "decode: data", data, reference_data);
  }
}

void ExpectDatagramEncodes(const VectorTest& t, const DatagramAddress& expected, Failures& out) {
  const Bytes& encoded = t.HexField("encoded");
  const Bytes& data = t.HexField("data");
  const std::string codec = CodecName(DefaultAeadBackend());
  Bytes again(kMaxPayloadBytes);
  size_t written = 0;
  const Error e = EncodeDatagram(expected, data, again, &written);
  out.ExpectOk(codec, "encode", e);
  if (e == Error::kOk) out.ExpectBytes(codec, "encode:", encoded, {again.data(), written});
  out.ExpectBytes(kReference, "encode:", encoded, reference::EncodeDatagram(expected, data));
}

}  // namespace

void CheckDatagram(const VectorTest& t, const WireProfile&, Failures& out) {
  if (!t.valid) {
    CheckRefusedDatagram(t, out);
    return;
  }
  const DatagramAddress expected = DatagramAddressOf(t, out);
  if (!out.empty()) return;
  ExpectDatagramDecodes(t, expected, out);
  ExpectDatagramEncodes(t, expected, out);
}

}  // namespace reflex::tools
