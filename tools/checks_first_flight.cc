// The v2 first flight's shapes (SPEC.md 11.8): the codec's encoder and
// decoder and the reference model's, each against the test.
#include <algorithm>
#include <array>
#include <cstring>
#include <string>

#include "reflex/first_flight.h"
#include "reflex/hello_v2.h"
#include "reflex/reference_model.h"
#include "tools/checks.h"

namespace reflex::tools {
namespace {

constexpr char kCodec[] = "codec";

std::string Ascii(const Bytes& b) { return std::string(b.begin(), b.end()); }

FirstFlight FlightOf(const VectorTest& t) {
  FirstFlight f;
  f.shape = static_cast<FirstFlightShape>(t.IntField("shape"));
  f.host = Ascii(t.HexField("host"));
  f.path = Ascii(t.HexField("path"));
  return f;
}

}  // namespace

void CheckFirstFlight(const VectorTest& t, const WireProfile&, Failures& out) {
  const FirstFlight f = FlightOf(t);
  const int shape = static_cast<int>(t.IntField("shape"));
  const Bytes& encoded = t.HexField("encoded");
  std::array<uint8_t, kClientHelloBytesV2> codec_message{};
  TlsFiller read_filler{};
  const Error codec_read = DecodeFirstFlight(f, encoded, codec_message, &read_filler);
  Bytes ref_message;
  const Error ref_read = reference::UnshapeFirstFlight(shape, f.host, f.path, encoded, &ref_message);
  if (!t.valid) {
    out.ExpectRefused(kCodec, "read", codec_read, t.ErrorField());
    out.ExpectRefused(kReference, "read", ref_read, t.ErrorField());
    return;
  }
  const Bytes& message1 = t.HexField("message1");
  const Bytes filler = t.Has("filler") ? t.HexField("filler") : Bytes();
  TlsFiller codec_filler{};
  std::copy(filler.begin(), filler.begin() + static_cast<ptrdiff_t>(std::min(filler.size(), codec_filler.size())),
            codec_filler.begin());
  Bytes written(FirstFlightBytes(f));
  out.ExpectOk(kCodec, "write", EncodeFirstFlight(f, Fixed<kClientHelloBytesV2>(message1), codec_filler, written));
  out.ExpectBytes(kCodec, "write:", encoded, written);
  out.ExpectOk(kCodec, "read", codec_read);
  if (codec_read == Error::kOk) out.ExpectBytes(kCodec, "read:", message1, codec_message);
  if (codec_read == Error::kOk && f.shape == FirstFlightShape::kTls) {
    out.ExpectBytes(kCodec, "read filler:", filler, read_filler);
  }
  // A user given: the filler is that user's (SPEC 11.8).
  if (t.Has("user_id") && f.shape == FirstFlightShape::kTls) {
    UserId user{};
    std::copy(t.HexField("user_id").begin(), t.HexField("user_id").end(), user.begin());
    noise::Psk psk;
    Secret<kTlsFillerKeyBytes> key;
    out.ExpectOk(kCodec, "psk", DeriveUserPskV2(user, &psk));
    out.ExpectOk(kCodec, "filler key", DeriveTlsFillerKey(psk.span(), key.span()));
    out.ExpectBytes(kCodec, "the user's filler:", filler, TlsFillerOf(key.span(), Fixed<kClientHelloBytesV2>(message1)));
    out.ExpectBytes(kReference, "the user's filler:", filler, reference::TlsFillerV2(t.HexField("user_id"), message1));
  }
  out.ExpectBytes(kReference, "write:", encoded,
                  reference::ShapeFirstFlight(shape, f.host, f.path, message1, filler));
  out.ExpectOk(kReference, "read", ref_read);
  if (ref_read == Error::kOk) out.ExpectBytes(kReference, "read:", message1, ref_message);
}

}  // namespace reflex::tools
