// Vectors of the v2 first flight's shapes (SPEC.md 11.8): each shape with a
// short and a long host, and first flights that are not the shape.
#include <string>
#include <vector>

#include "base/hex.h"
#include "reflex/reference_model.h"
#include "tools/generators.h"

namespace reflex::tools {
namespace {

struct Params {
  int shape;
  std::string host;
  std::string path;
};

// A message 1 of fixed bytes (the shape does not read it) and a filler.
Bytes Message1(uint8_t seed) {
  Bytes m(76);
  for (size_t i = 0; i < m.size(); ++i) m[i] = static_cast<uint8_t>(seed + 37 * i);
  return m;
}
// The tls filler of the vectors' user (SPEC 11.8).
Bytes FillerOf(const Bytes& message1) { return reference::TlsFillerV2(testing::FromHex(kUserId), message1); }

Json Base(VectorBuilder& b, const char* result, const std::string& comment, const Params& p) {
  Json t = b.Test(result, comment);
  t["shape"] = p.shape;
  t["host"] = testing::ToHex(Text(p.host));
  t["path"] = testing::ToHex(Text(p.path));
  return t;
}

Bytes Shaped(const Params& p, const Bytes& m) {
  const Bytes out = reference::ShapeFirstFlight(p.shape, p.host, p.path, m, p.shape == 2 ? FillerOf(m) : Bytes());
  if (out.empty()) Must(Error::kInvalidArgument);
  return out;
}

void AddInvalid(VectorBuilder& b, const Params& p, const std::string& what, const Bytes& encoded,
                const char* error) {
  Json t = Base(b, "invalid", what, p);
  t["encoded"] = testing::ToHex(encoded);
  t["error"] = error;
  b.Add(t);
}

}  // namespace

void GenerateFirstFlights(VectorBuilder& b, const WireProfile&) {
  const std::vector<Params> valid = {
      {0, "", "/"},
      {1, "a", "/"},
      {1, "cdn.example.com", "/assets/v1/"},
      {1, std::string(253, 'h'), "/" + std::string(63, 'p')},
      {2, "a", "/"},
      {2, "cdn.example.com", "/"},
      {2, std::string(253, 'h'), "/"},
  };
  uint8_t seed = 1;
  for (const Params& p : valid) {
    const Bytes m = Message1(seed++);
    Json t = Base(b, "valid", std::string(p.shape == 0 ? "raw" : p.shape == 1 ? "http" : "tls") + ", host of " +
                                  std::to_string(p.host.size()),
                  p);
    t["message1"] = testing::ToHex(m);
    if (p.shape == 2) {
      t["filler"] = testing::ToHex(FillerOf(m));
      t["user_id"] = kUserId;
    }
    t["encoded"] = testing::ToHex(Shaped(p, m));
    b.Add(t);
  }
  const Params http{1, "cdn.example.com", "/assets/"};
  const Params tls{2, "cdn.example.com", "/"};
  for (const Params& p : {http, tls}) {
    const Bytes good = Shaped(p, Message1(9));
    AddInvalid(b, p, "one byte short", Bytes(good.begin(), good.end() - 1), "too_short");
    Bytes longer = good;
    longer.push_back(0);
    AddInvalid(b, p, "one byte more", longer, "trailing_bytes");
    Bytes first = good;
    first[0] ^= 0x01;
    AddInvalid(b, p, "its first byte changed", first, "bad_shape");
    if (p.shape == 1) {  // (tls: its last byte is the key share's, carried)
      Bytes last = good;
      last.back() ^= 0x01;
      AddInvalid(b, p, "its last byte changed", last, "bad_shape");
    }
  }
  // http: the base64url digits.
  {
    const Bytes good = Shaped(http, Message1(10));
    const size_t digits = 4 + http.path.size();
    Bytes plus = good;
    plus[digits + 5] = '+';
    AddInvalid(b, http, "a standard base64 digit", plus, "bad_shape");
    Bytes last_digit = good;
    last_digit[digits + 101] = 'B';  // 2 data bits, then 4 that must be zero
    AddInvalid(b, http, "a last digit that is not canonical", last_digit, "bad_shape");
    Bytes other_host = Shaped({1, "cdn.example.org", "/assets/"}, Message1(10));
    AddInvalid(b, http, "another host", other_host, "bad_shape");
  }
  // tls: the fixed fields.
  {
    const Bytes good = Shaped(tls, Message1(11));
    Bytes version = good;
    version[9] = 0x04;  // legacy_version 03 03 -> 04 03
    AddInvalid(b, tls, "another legacy_version", version, "bad_shape");
    Bytes suites = good;
    suites[78] ^= 0x01;  // the cipher suites
    AddInvalid(b, tls, "another cipher suite", suites, "bad_shape");
    Bytes session = good;
    session[43] = 31;  // the session id's length
    AddInvalid(b, tls, "a session id of 31 bytes", session, "bad_shape");
  }
}

}  // namespace reflex::tools
