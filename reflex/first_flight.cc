#include "reflex/first_flight.h"

#include <sodium.h>

#include <algorithm>
#include <array>
#include <cstring>

#include "reflex/byte_reader.h"
#include "reflex/byte_writer.h"
#include "reflex/hkdf.h"

namespace reflex {
namespace {

constexpr size_t kMessage1 = kClientHelloBytesV2;

// http: "GET " PATH B64 " HTTP/1.1\r\nHost: " HOST "\r\nAccept: */*\r\n\r\n".
constexpr std::string_view kHttpMethod = "GET ";
constexpr std::string_view kHttpVersion = " HTTP/1.1\r\nHost: ";
constexpr std::string_view kHttpTail = "\r\nAccept: */*\r\n\r\n";
// base64url of 76 bytes without padding: 25 groups of 4, then 2 digits.
constexpr size_t kBase64Bytes = (kMessage1 / 3) * 4 + 2;
constexpr char kBase64Url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

// tls: the ClientHello's fixed parts (TLS 1.3, RFC 8446 section 4.1.2).
// Message 1's ephemeral key is the X25519 key share, its next 32 bytes the
// random, its last 12 the start of the 32-byte session id.
constexpr size_t kTlsRandomBytes = 32;
constexpr size_t kTlsSessionIdBytes = 32;
constexpr size_t kTlsSessionIdCarried = kMessage1 - kPublicKeyBytes - kTlsRandomBytes;  // 12
static_assert(kTlsSessionIdBytes - kTlsSessionIdCarried == kTlsFillerBytes);
constexpr uint8_t kTlsCipherSuites[] = {0x00, 0x06, 0x13, 0x01, 0x13, 0x02, 0x13, 0x03};
constexpr uint8_t kTlsCompression[] = {0x01, 0x00};
constexpr uint8_t kTlsGroups[] = {0x00, 0x0a, 0x00, 0x04, 0x00, 0x02, 0x00, 0x1d};
constexpr uint8_t kTlsSignatureAlgorithms[] = {0x00, 0x0d, 0x00, 0x08, 0x00, 0x06,
                                               0x04, 0x03, 0x08, 0x04, 0x04, 0x01};
constexpr uint8_t kTlsVersions[] = {0x00, 0x2b, 0x00, 0x03, 0x02, 0x03, 0x04};
constexpr uint8_t kTlsKeyShareHead[] = {0x00, 0x33, 0x00, 0x26, 0x00, 0x24, 0x00, 0x1d, 0x00, 0x20};
constexpr size_t kTlsServerNameFixed = 9;  // type, length, list length, name type, name length
constexpr size_t kTlsExtensionsFixed = sizeof kTlsGroups + sizeof kTlsSignatureAlgorithms +
                                       sizeof kTlsVersions + sizeof kTlsKeyShareHead + kPublicKeyBytes +
                                       kTlsServerNameFixed;
constexpr size_t kTlsBodyFixed = 2 + kTlsRandomBytes + 1 + kTlsSessionIdBytes + sizeof kTlsCipherSuites +
                                 sizeof kTlsCompression + 2;
constexpr size_t kTlsRecordHeader = 5;
constexpr size_t kTlsHandshakeHeader = 4;

bool HostByteOk(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.';
}
bool PathByteOk(char c) { return HostByteOk(c) || c == '_' || c == '~' || c == '/'; }

std::span<const uint8_t> Ascii(std::string_view text) {
  return {reinterpret_cast<const uint8_t*>(text.data()), text.size()};
}

// Reads a fixed layout, remembering whether anything differed from it.
class TemplateReader {
 public:
  explicit TemplateReader(std::span<const uint8_t> in) : in_(in) {}
  // The next bytes must be `expected`.
  void Expect(std::span<const uint8_t> expected) {
    std::span<const uint8_t> got;
    ok_ = ok_ && in_.ReadView(expected.size(), &got) && std::equal(got.begin(), got.end(), expected.begin());
  }
  // The next n bytes, whatever they are (empty if there are fewer).
  std::span<const uint8_t> Take(size_t n) {
    std::span<const uint8_t> got;
    ok_ = ok_ && in_.ReadView(n, &got);
    return ok_ ? got : std::span<const uint8_t>();
  }
  bool ok() const { return ok_ && in_.remaining() == 0; }

 private:
  ByteReader in_;
  bool ok_ = true;
};

void EncodeBase64Url(std::span<const uint8_t, kMessage1> in, std::span<uint8_t, kBase64Bytes> out) {
  size_t o = 0;
  size_t i = 0;
  for (; i + 3 <= in.size(); i += 3) {
    const uint32_t v = (uint32_t{in[i]} << 16) | (uint32_t{in[i + 1]} << 8) | in[i + 2];
    for (int shift = 18; shift >= 0; shift -= 6) out[o++] = static_cast<uint8_t>(kBase64Url[(v >> shift) & 63]);
  }
  // One byte left (76 = 3 x 25 + 1): two digits, the second's low 4 bits 0.
  out[o++] = static_cast<uint8_t>(kBase64Url[in[i] >> 2]);
  out[o++] = static_cast<uint8_t>(kBase64Url[(in[i] & 3) << 4]);
}

int Base64UrlValue(uint8_t c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '-') return 62;
  if (c == '_') return 63;
  return -1;
}

bool DecodeBase64Url(std::span<const uint8_t> in, std::span<uint8_t, kMessage1> out) {
  if (in.size() != kBase64Bytes) return false;
  std::array<uint8_t, kBase64Bytes> v{};
  for (size_t k = 0; k < in.size(); ++k) {
    const int d = Base64UrlValue(in[k]);
    if (d < 0) return false;
    v[k] = static_cast<uint8_t>(d);
  }
  if ((v[kBase64Bytes - 1] & 0x0f) != 0) return false;  // one spelling per message
  size_t o = 0;
  size_t k = 0;
  for (; k + 4 <= kBase64Bytes; k += 4) {
    const uint32_t w = (uint32_t{v[k]} << 18) | (uint32_t{v[k + 1]} << 12) | (uint32_t{v[k + 2]} << 6) | v[k + 3];
    out[o++] = static_cast<uint8_t>(w >> 16);
    out[o++] = static_cast<uint8_t>(w >> 8);
    out[o++] = static_cast<uint8_t>(w);
  }
  out[o] = static_cast<uint8_t>((v[k] << 2) | (v[k + 1] >> 4));
  return true;
}

size_t TlsExtensionsBytes(const FirstFlight& f) { return kTlsExtensionsFixed + f.host.size(); }
size_t TlsBodyBytes(const FirstFlight& f) { return kTlsBodyFixed + TlsExtensionsBytes(f); }

// The ClientHello's layout, shared by encoding (put) and decoding (expect).
template <class Fixed, class Carried>
void TlsLayout(const FirstFlight& f, Fixed fixed, Carried carried) {
  const size_t body = TlsBodyBytes(f);
  fixed(std::array<uint8_t, 3>{0x16, 0x03, 0x01});
  fixed(std::array<uint8_t, 2>{static_cast<uint8_t>((kTlsHandshakeHeader + body) >> 8),
                               static_cast<uint8_t>(kTlsHandshakeHeader + body)});
  fixed(std::array<uint8_t, 4>{0x01, static_cast<uint8_t>(body >> 16), static_cast<uint8_t>(body >> 8),
                               static_cast<uint8_t>(body)});
  fixed(std::array<uint8_t, 2>{0x03, 0x03});
  carried(kPublicKeyBytes, kTlsRandomBytes);  // random
  fixed(std::array<uint8_t, 1>{kTlsSessionIdBytes});
  carried(kPublicKeyBytes + kTlsRandomBytes, kTlsSessionIdCarried);
  carried(kMessage1, kTlsSessionIdBytes - kTlsSessionIdCarried);  // the filler (TlsFillerOf)
  fixed(std::span<const uint8_t>(kTlsCipherSuites));
  fixed(std::span<const uint8_t>(kTlsCompression));
  const size_t extensions = TlsExtensionsBytes(f);
  const size_t h = f.host.size();
  fixed(std::array<uint8_t, 2>{static_cast<uint8_t>(extensions >> 8), static_cast<uint8_t>(extensions)});
  fixed(std::array<uint8_t, 9>{0x00, 0x00, static_cast<uint8_t>((h + 5) >> 8), static_cast<uint8_t>(h + 5),
                               static_cast<uint8_t>((h + 3) >> 8), static_cast<uint8_t>(h + 3), 0x00,
                               static_cast<uint8_t>(h >> 8), static_cast<uint8_t>(h)});
  fixed(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(f.host.data()), h));
  fixed(std::span<const uint8_t>(kTlsGroups));
  fixed(std::span<const uint8_t>(kTlsSignatureAlgorithms));
  fixed(std::span<const uint8_t>(kTlsVersions));
  fixed(std::span<const uint8_t>(kTlsKeyShareHead));
  carried(0, kPublicKeyBytes);  // the X25519 key share: message 1's e
}

}  // namespace

std::string_view FirstFlightShapeName(FirstFlightShape shape) {
  switch (shape) {
    case FirstFlightShape::kRaw: return "raw";
    case FirstFlightShape::kHttp: return "http";
    case FirstFlightShape::kTls: return "tls";
  }
  return "?";
}

bool ParseFirstFlightShape(std::string_view name, FirstFlightShape* out) {
  for (const FirstFlightShape s : {FirstFlightShape::kRaw, FirstFlightShape::kHttp, FirstFlightShape::kTls}) {
    if (name == FirstFlightShapeName(s)) {
      *out = s;
      return true;
    }
  }
  return false;
}

Error CheckFirstFlight(const FirstFlight& f) {
  if (f.shape == FirstFlightShape::kRaw) return Error::kOk;
  if (f.shape != FirstFlightShape::kHttp && f.shape != FirstFlightShape::kTls) return Error::kInvalidArgument;
  if (f.host.empty() || f.host.size() > kMaxShapeHostBytes) return Error::kInvalidArgument;
  for (const char c : f.host) {
    if (!HostByteOk(c)) return Error::kInvalidArgument;
  }
  if (f.shape == FirstFlightShape::kHttp) {
    if (f.path.empty() || f.path.size() > kMaxShapePathBytes || f.path[0] != '/') return Error::kInvalidArgument;
    for (const char c : f.path) {
      if (!PathByteOk(c)) return Error::kInvalidArgument;
    }
  }
  return Error::kOk;
}

size_t FirstFlightBytes(const FirstFlight& f) {
  switch (f.shape) {
    case FirstFlightShape::kRaw: return kMessage1;
    case FirstFlightShape::kHttp:
      return kHttpMethod.size() + f.path.size() + kBase64Bytes + kHttpVersion.size() + f.host.size() +
             kHttpTail.size();
    case FirstFlightShape::kTls: return kTlsRecordHeader + kTlsHandshakeHeader + TlsBodyBytes(f);
  }
  return 0;
}

Error DeriveTlsFillerKey(std::span<const uint8_t, 32> psk, std::span<uint8_t, kTlsFillerKeyBytes> out) {
  static constexpr std::string_view kSalt = "reflex/2 tls filler";
  return HkdfSha256({reinterpret_cast<const uint8_t*>(kSalt.data()), kSalt.size()}, psk, {}, out);
}

TlsFiller TlsFillerOf(std::span<const uint8_t, kTlsFillerKeyBytes> filler_key,
                      std::span<const uint8_t, kClientHelloBytesV2> message1) {
  std::array<uint8_t, crypto_auth_hmacsha256_BYTES> mac{};
  crypto_auth_hmacsha256(mac.data(), message1.data(), message1.size(), filler_key.data());
  TlsFiller filler{};
  std::memcpy(filler.data(), mac.data(), filler.size());
  sodium_memzero(mac.data(), mac.size());
  return filler;
}

Error EncodeFirstFlight(const FirstFlight& f, std::span<const uint8_t, kClientHelloBytesV2> message1,
                        const TlsFiller& filler, std::span<uint8_t> out) {
  if (const Error e = CheckFirstFlight(f); e != Error::kOk) return e;
  if (out.size() < FirstFlightBytes(f)) return Error::kBufferTooSmall;
  ByteWriter w(out);
  switch (f.shape) {
    case FirstFlightShape::kRaw: w.WriteBytes(message1); break;
    case FirstFlightShape::kHttp: {
      std::array<uint8_t, kBase64Bytes> digits{};
      EncodeBase64Url(message1, digits);
      w.WriteBytes(Ascii(kHttpMethod));
      w.WriteBytes(Ascii(f.path));
      w.WriteBytes(digits);
      w.WriteBytes(Ascii(kHttpVersion));
      w.WriteBytes(Ascii(f.host));
      w.WriteBytes(Ascii(kHttpTail));
      break;
    }
    case FirstFlightShape::kTls: {
      TlsLayout(
          f, [&w](std::span<const uint8_t> bytes) { w.WriteBytes(bytes); },
          [&](size_t at, size_t n) {
            if (at == kMessage1) w.WriteBytes(filler);
            else w.WriteBytes(message1.subspan(at, n));
          });
      break;
    }
  }
  return w.ok() && w.written() == FirstFlightBytes(f) ? Error::kOk : Error::kInvalidArgument;
}

Error DecodeFirstFlight(const FirstFlight& f, std::span<const uint8_t> in,
                        std::span<uint8_t, kClientHelloBytesV2> message1, TlsFiller* filler) {
  const size_t size = FirstFlightBytes(f);
  if (in.size() < size) return Error::kTooShort;
  if (in.size() > size) return Error::kTrailingBytes;
  std::array<uint8_t, kMessage1> got{};
  TlsFiller got_filler{};
  TemplateReader r(in);
  switch (f.shape) {
    case FirstFlightShape::kRaw: std::memcpy(got.data(), r.Take(kMessage1).data(), kMessage1); break;
    case FirstFlightShape::kHttp: {
      r.Expect(Ascii(kHttpMethod));
      r.Expect(Ascii(f.path));
      const std::span<const uint8_t> digits = r.Take(kBase64Bytes);
      r.Expect(Ascii(kHttpVersion));
      r.Expect(Ascii(f.host));
      r.Expect(Ascii(kHttpTail));
      if (!r.ok() || !DecodeBase64Url(digits, got)) return Error::kBadShape;
      break;
    }
    case FirstFlightShape::kTls: {
      TlsLayout(
          f, [&r](std::span<const uint8_t> bytes) { r.Expect(bytes); },
          [&](size_t at, size_t n) {
            const std::span<const uint8_t> taken = r.Take(n);
            if (taken.size() != n) return;
            if (at != kMessage1) std::memcpy(got.data() + at, taken.data(), n);
            else std::memcpy(got_filler.data(), taken.data(), n);
          });
      break;
    }
  }
  if (!r.ok()) return Error::kBadShape;
  std::memcpy(message1.data(), got.data(), kMessage1);
  if (filler != nullptr) *filler = got_filler;
  return Error::kOk;
}

}  // namespace reflex
