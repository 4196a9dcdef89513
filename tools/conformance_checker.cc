#include "tools/conformance_checker.h"

#include <charconv>
#include <cstdint>
#include <fstream>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <sstream>

#include "pool/buffer_pool.h"
#include "reflex/frame_decoder.h"
#include "reflex/frame_opener.h"
#include "reflex/frame_sealer.h"
#include "reflex/hello.h"
#include "reflex/key_schedule.h"
#include "reflex/request_header.h"
#include "reflex/unpooled_codec.h"
#include "tools/testing/hex.h"

namespace reflex::tools {
namespace {

using Bytes = std::vector<uint8_t>;
using nlohmann::json;
using testing::ToHex;

// "lengths differ: expected 22 bytes, got 21" or "differ at byte 5:
// expected 3a, got 3b": enough to start debugging a port, short enough for
// 16 KiB payloads.
std::string Difference(const Bytes& expected, std::span<const uint8_t> got) {
  std::ostringstream out;
  for (size_t i = 0; i < std::min(expected.size(), got.size()); ++i) {
    if (expected[i] != got[i]) {
      out << "differ at byte " << i << ": expected " << ToHex({&expected[i], 1})
          << ", got " << ToHex({&got[i], 1});
      return out.str();
    }
  }
  if (expected.size() != got.size()) {
    out << "lengths differ: expected " << expected.size() << " bytes, got " << got.size();
  }
  return out.str();
}

bool Same(const Bytes& expected, std::span<const uint8_t> got) {
  return expected.size() == got.size() && std::equal(expected.begin(), expected.end(), got.begin());
}

// Failure messages of one test; the implementation name prefixes each.
class Failures {
 public:
  void Add(const std::string& impl, const std::string& message) {
    messages_.push_back(impl.empty() ? message : impl + ": " + message);
  }
  void ExpectBytes(const std::string& impl, const std::string& what, const Bytes& expected,
                   std::span<const uint8_t> got) {
    if (!Same(expected, got)) Add(impl, what + " " + Difference(expected, got));
  }
  void ExpectOk(const std::string& impl, const std::string& what, Error e) {
    if (e != Error::kOk) Add(impl, what + " failed with " + std::string(ErrorName(e)));
  }
  // For an invalid test: e must be an error, and the named one if given.
  void ExpectRefused(const std::string& impl, const std::string& what, Error e,
                     const std::optional<Error>& expected) {
    if (e == Error::kOk) {
      Add(impl, what + " succeeded; expected " +
                    (expected ? std::string(ErrorName(*expected)) : "an error"));
    } else if (expected && e != *expected) {
      Add(impl, what + ": expected error " + std::string(ErrorName(*expected)) + ", got " +
                    std::string(ErrorName(e)));
    }
  }
  bool empty() const { return messages_.empty(); }
  const std::vector<std::string>& messages() const { return messages_; }

 private:
  std::vector<std::string> messages_;
};

// Reads the fields of one test, recording malformed or unknown ones.
class Fields {
 public:
  Fields(const json& test, Failures& failures) : test_(test), failures_(failures) {}

  bool Has(const std::string& name) const { return test_.contains(name); }

  Bytes Hex(const std::string& name, size_t exact_size = SIZE_MAX) {
    seen_.insert(name);
    Bytes out;
    if (!test_.contains(name) || !test_[name].is_string() ||
        !testing::TryFromHex(test_[name].get<std::string>(), &out)) {
      failures_.Add("", "field '" + name + "' missing or not a hex string");
      return {};
    }
    if (exact_size != SIZE_MAX && out.size() != exact_size) {
      failures_.Add("", "field '" + name + "' must be " + std::to_string(exact_size) + " bytes");
      return Bytes(exact_size, 0);
    }
    return out;
  }
  // 64-bit integers travel as decimal strings.
  uint64_t U64(const std::string& name) {
    seen_.insert(name);
    uint64_t v = 0;
    if (!test_.contains(name) || !test_[name].is_string() || !ParseDecimal(test_[name], &v)) {
      failures_.Add("", "field '" + name + "' missing or not a decimal string");
    }
    return v;
  }
  int64_t I64(const std::string& name) {
    seen_.insert(name);
    int64_t v = 0;
    if (!test_.contains(name) || !test_[name].is_string() || !ParseDecimal(test_[name], &v)) {
      failures_.Add("", "field '" + name + "' missing or not a decimal string");
    }
    return v;
  }
  int64_t Int(const std::string& name, int64_t min, int64_t max) {
    seen_.insert(name);
    if (!test_.contains(name) || !test_[name].is_number_integer() ||
        test_[name].get<int64_t>() < min || test_[name].get<int64_t>() > max) {
      failures_.Add("", "field '" + name + "' missing or not an integer in [" +
                            std::to_string(min) + ", " + std::to_string(max) + "]");
      return min;
    }
    return test_[name].get<int64_t>();
  }
  const json& Raw(const std::string& name) {
    seen_.insert(name);
    return test_[name];
  }
  std::optional<Error> OptionalError() {
    if (!test_.contains("error")) return std::nullopt;
    seen_.insert("error");
    Error e;
    if (!test_["error"].is_string() || !ErrorFromName(test_["error"].get<std::string>(), &e) ||
        e == Error::kOk) {
      failures_.Add("", "field 'error' is not an error name of SPEC.md");
      return std::nullopt;
    }
    return e;
  }
  // Call last: every field not read is unknown (id, result, comment are
  // read by the caller).
  void RejectUnknown() {
    for (const auto& [name, value] : test_.items()) {
      if (name == "id" || name == "result" || name == "comment") continue;
      if (!seen_.count(name)) failures_.Add("", "unknown field '" + name + "'");
    }
  }

 private:
  template <class T>
  static bool ParseDecimal(const json& v, T* out) {
    const std::string s = v.get<std::string>();
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
    return ec == std::errc() && end == s.data() + s.size() && !s.empty();
  }

  const json& test_;
  Failures& failures_;
  std::set<std::string> seen_;
};

SessionKey KeyOf(const Bytes& b) {
  return SessionKey(std::span<const uint8_t, 32>(b.data(), 32));
}

template <size_t N>
std::span<const uint8_t, N> Fixed(const Bytes& b) {
  return std::span<const uint8_t, N>(b.data(), N);
}

void CheckClientHandshake(Fields& f, bool valid, Failures& out) {
  const Bytes encoded = f.Hex("encoded");
  if (!valid) {
    const auto error = f.OptionalError();
    f.RejectUnknown();
    ClientHello h;
    out.ExpectRefused("pooled", "decode", DecodeClientHello(encoded, &h), error);
    out.ExpectRefused("unpooled", "decode", unpooled::DecodeClientHello(encoded, &h), error);
    return;
  }
  ClientHello expected;
  const Bytes pub = f.Hex("public_key", 32), user = f.Hex("user_id", 16),
              nonce = f.Hex("nonce", 16);
  expected.timestamp = f.I64("timestamp");
  f.RejectUnknown();
  if (!out.empty()) return;
  std::copy(pub.begin(), pub.end(), expected.public_key.begin());
  std::copy(user.begin(), user.end(), expected.user_id.begin());
  std::copy(nonce.begin(), nonce.end(), expected.nonce.begin());
  ClientHello got;
  const Error e = DecodeClientHello(encoded, &got);
  out.ExpectOk("pooled", "decode", e);
  if (e == Error::kOk && !(got == expected)) out.Add("pooled", "decode yields other fields");
  Bytes again(kClientHelloBytes);
  out.ExpectOk("pooled", "encode", EncodeClientHello(expected, again));
  out.ExpectBytes("pooled", "encode:", encoded, again);
  ClientHello got2;
  const Error e2 = unpooled::DecodeClientHello(encoded, &got2);
  out.ExpectOk("unpooled", "decode", e2);
  if (e2 == Error::kOk && !(got2 == expected)) out.Add("unpooled", "decode yields other fields");
  out.ExpectBytes("unpooled", "encode:", encoded, unpooled::EncodeClientHello(expected));
}

void CheckServerHandshake(Fields& f, bool valid, Failures& out) {
  const Bytes encoded = f.Hex("encoded");
  if (!valid) {
    const auto error = f.OptionalError();
    f.RejectUnknown();
    ServerHello h;
    out.ExpectRefused("pooled", "decode", DecodeServerHello(encoded, &h), error);
    out.ExpectRefused("unpooled", "decode", unpooled::DecodeServerHello(encoded, &h), error);
    return;
  }
  ServerHello expected;
  const Bytes pub = f.Hex("public_key", 32);
  expected.timestamp = f.I64("timestamp");
  f.RejectUnknown();
  if (!out.empty()) return;
  std::copy(pub.begin(), pub.end(), expected.public_key.begin());
  ServerHello got;
  const Error e = DecodeServerHello(encoded, &got);
  out.ExpectOk("pooled", "decode", e);
  if (e == Error::kOk && !(got == expected)) out.Add("pooled", "decode yields other fields");
  Bytes again(kServerHelloBytes);
  out.ExpectOk("pooled", "encode", EncodeServerHello(expected, again));
  out.ExpectBytes("pooled", "encode:", encoded, again);
  ServerHello got2;
  const Error e2 = unpooled::DecodeServerHello(encoded, &got2);
  out.ExpectOk("unpooled", "decode", e2);
  if (e2 == Error::kOk && !(got2 == expected)) out.Add("unpooled", "decode yields other fields");
  out.ExpectBytes("unpooled", "encode:", encoded, unpooled::EncodeServerHello(expected));
}

// Checks one side of an exchange (own private key, peer public key).
void CheckSide(const std::string& side, const Bytes& own_private, const Bytes& own_public,
               const Bytes& peer_public, const Bytes* shared, const Bytes* session,
               const std::optional<Error>& refused, bool valid, Failures& out) {
  KeyPair pair;
  out.ExpectOk("pooled", side + " key pair", KeyPairFromPrivate(Fixed<32>(own_private), &pair));
  if (!own_public.empty()) {
    out.ExpectBytes("pooled", side + " public key", own_public, pair.public_key);
    Bytes pub;
    out.ExpectOk("unpooled", side + " public key", unpooled::PublicKeyOf(own_private, &pub));
    out.ExpectBytes("unpooled", side + " public key", own_public, pub);
  }
  SharedSecret s;
  SessionKey k;
  const Error e1 = ComputeSharedSecret(pair.private_key, Fixed<32>(peer_public), &s);
  const Error e2 = e1 == Error::kOk ? DeriveSessionKeyV1(s, &k) : e1;
  Bytes k2;
  const Error e3 = unpooled::SessionKeyV1(own_private, peer_public, &k2);
  if (!valid) {
    out.ExpectRefused("pooled", side + " key agreement", e2, refused);
    out.ExpectRefused("unpooled", side + " key agreement", e3, refused);
    return;
  }
  out.ExpectOk("pooled", side + " shared secret", e1);
  out.ExpectOk("pooled", side + " session key", e2);
  out.ExpectOk("unpooled", side + " session key", e3);
  if (e1 == Error::kOk) out.ExpectBytes("pooled", side + " shared secret", *shared, s.span());
  if (e2 == Error::kOk) out.ExpectBytes("pooled", side + " session key", *session, k.span());
  if (e3 == Error::kOk) out.ExpectBytes("unpooled", side + " session key", *session, k2);
}

void CheckKeySchedule(Fields& f, bool valid, Failures& out) {
  if (valid) {
    const Bytes cpriv = f.Hex("client_private", 32), spriv = f.Hex("server_private", 32),
                cpub = f.Hex("client_public", 32), spub = f.Hex("server_public", 32),
                shared = f.Hex("shared_secret", 32), session = f.Hex("session_key", 32);
    f.RejectUnknown();
    if (!out.empty()) return;
    CheckSide("client", cpriv, cpub, spub, &shared, &session, std::nullopt, true, out);
    CheckSide("server", spriv, spub, cpub, &shared, &session, std::nullopt, true, out);
    return;
  }
  // Invalid: only the fields that exist are given; each side that can be
  // computed must refuse.
  auto optional = [&](const char* name) { return f.Has(name) ? f.Hex(name, 32) : Bytes(); };
  const Bytes cpriv = optional("client_private"), spriv = optional("server_private"),
              cpub = optional("client_public"), spub = optional("server_public");
  const auto error = f.OptionalError();
  f.RejectUnknown();
  if (!out.empty()) return;
  bool checked = false;
  if (!cpriv.empty() && !spub.empty()) {
    CheckSide("client", cpriv, cpub, spub, nullptr, nullptr, error, false, out);
    checked = true;
  }
  if (!spriv.empty() && !cpub.empty()) {
    CheckSide("server", spriv, spub, cpub, nullptr, nullptr, error, false, out);
    checked = true;
  }
  if (!checked) out.Add("", "no side of the exchange can be computed from the given fields");
}

void CheckFrame(Fields& f, bool valid, Failures& out) {
  const Bytes key = f.Hex("key", 32);
  const uint64_t counter = f.U64("counter");
  const Bytes wire = f.Hex("wire");
  if (!valid) {
    const auto error = f.OptionalError();
    f.RejectUnknown();
    if (!out.empty()) return;
    FrameOpener opener(KeyOf(key), counter);
    Bytes copy = wire;
    OpenedFrame opened;
    out.ExpectRefused("pooled", "open", opener.OpenInPlace(copy, &opened), error);
    if (!opened.payload.empty()) out.Add("pooled", "a refused frame yielded a payload");
    unpooled::Frame frame;
    out.ExpectRefused("unpooled", "open", unpooled::OpenFrame(key, counter, wire, &frame), error);
    return;
  }
  const auto type = static_cast<uint8_t>(f.Int("frame_type", 0, 255));
  const Bytes payload = f.Hex("payload");
  f.RejectUnknown();
  if (!out.empty()) return;
  pool::BufferPool pool;
  FrameSealer sealer(KeyOf(key), pool, counter);
  pool::Buffer sealed;
  const Error e = sealer.Seal(static_cast<FrameType>(type), payload, &sealed);
  out.ExpectOk("pooled", "seal", e);
  if (e == Error::kOk) out.ExpectBytes("pooled", "seal: wire", wire, sealed.span());
  FrameOpener opener(KeyOf(key), counter);
  Bytes copy = wire;
  OpenedFrame opened;
  const Error e2 = opener.OpenInPlace(copy, &opened);
  out.ExpectOk("pooled", "open", e2);
  if (e2 == Error::kOk) {
    if (static_cast<uint8_t>(opened.type) != type) out.Add("pooled", "open: other frame type");
    out.ExpectBytes("pooled", "open: payload", payload, opened.payload);
  }
  Bytes wire2;
  const Error e3 = unpooled::SealFrame(key, counter, type, payload, &wire2);
  out.ExpectOk("unpooled", "seal", e3);
  if (e3 == Error::kOk) out.ExpectBytes("unpooled", "seal: wire", wire, wire2);
  unpooled::Frame frame;
  const Error e4 = unpooled::OpenFrame(key, counter, wire, &frame);
  out.ExpectOk("unpooled", "open", e4);
  if (e4 == Error::kOk) {
    if (frame.type != type) out.Add("unpooled", "open: other frame type");
    out.ExpectBytes("unpooled", "open: payload", payload, frame.payload);
  }
}

// The chunkings every frame_stream test is decoded under: whole, fixed
// sizes around the frame layout, and pseudo-random splits seeded by the id.
std::vector<std::vector<size_t>> Chunkings(int id) {
  std::vector<std::vector<size_t>> all = {{SIZE_MAX}, {1},  {2},   {3},    {5},
                                          {7},        {16}, {17},  {18},   {19},
                                          {64},       {1000}, {4096}, {16403}, {1, 2, 3}};
  std::mt19937 rng(static_cast<uint32_t>(id));
  for (int i = 0; i < 8; ++i) {
    std::vector<size_t> c;
    for (int j = 0; j < 32; ++j) c.push_back(1 + rng() % (i < 4 ? 40 : 20000));
    all.push_back(c);
  }
  return all;
}

std::string ChunkingName(const std::vector<size_t>& c) {
  if (c.size() == 1) return c[0] == SIZE_MAX ? "one chunk" : std::to_string(c[0]) + "-byte chunks";
  return "chunking #" + std::to_string(c[0]) + "/" + std::to_string(c.size());
}

void CheckFrameStream(Fields& f, bool valid, int id, Failures& out) {
  const Bytes key = f.Hex("key", 32);
  const uint64_t first = f.U64("first_counter");
  const Bytes wire = f.Hex("wire");
  std::optional<std::vector<unpooled::Frame>> expected;
  if (valid || f.Has("frames")) {
    const json& list = f.Raw("frames");
    expected.emplace();
    if (!list.is_array()) {
      out.Add("", "field 'frames' missing or not a list");
    } else {
      for (const json& item : list) {
        Failures item_failures;
        Fields item_fields(item, item_failures);
        unpooled::Frame frame;
        frame.type = static_cast<uint8_t>(item_fields.Int("frame_type", 0, 255));
        frame.payload = item_fields.Hex("payload");
        item_fields.RejectUnknown();
        for (const auto& m : item_failures.messages()) out.Add("", "frames: " + m);
        expected->push_back(frame);
      }
    }
  }
  const std::optional<Error> error = valid ? std::nullopt : f.OptionalError();
  f.RejectUnknown();
  if (!out.empty()) return;

  pool::BufferPool pool;
  for (const auto& chunks : Chunkings(id)) {
    const std::string impl = "pooled, " + ChunkingName(chunks);
    FrameDecoder decoder(KeyOf(key), pool, first);
    std::vector<unpooled::Frame> got;
    Error e = Error::kOk;
    size_t at = 0;
    uint64_t counter = first;
    bool counters_ok = true;
    for (size_t i = 0; at < wire.size() && e == Error::kOk; ++i) {
      std::span<const uint8_t> in(wire.data() + at,
                                  std::min(chunks[i % chunks.size()], wire.size() - at));
      at += in.size();
      while (!in.empty() && e == Error::kOk) {
        size_t used = 0;
        DecodedFrame frame;
        e = decoder.Decode(in, &used, &frame);
        in = in.subspan(used);
        if (frame) {
          counters_ok = counters_ok && frame.counter == counter++;
          const auto p = frame.payload();
          got.push_back({static_cast<uint8_t>(frame.type), Bytes(p.begin(), p.end())});
        }
      }
    }
    if (e == Error::kOk) e = decoder.Finish();
    if (!counters_ok) out.Add(impl, "frames do not carry consecutive counters from first_counter");
    if (valid) {
      out.ExpectOk(impl, "decode", e);
    } else {
      out.ExpectRefused(impl, "decode", e, error);
    }
    if (expected && got != *expected) {
      out.Add(impl, "yielded " + std::to_string(got.size()) + " frame(s) other than the " +
                        std::to_string(expected->size()) + " expected");
    }
    if (!out.empty()) return;  // one chunking's report is enough
  }
  const unpooled::StreamResult r = unpooled::DecodeStream(key, first, wire);
  if (valid) {
    out.ExpectOk("unpooled", "decode", r.error);
  } else {
    out.ExpectRefused("unpooled", "decode", r.error, error);
  }
  if (expected && r.frames != *expected) out.Add("unpooled", "yielded other frames");
}

void CheckRequestHeader(Fields& f, bool valid, Failures& out) {
  const Bytes encoded = f.Hex("encoded");
  if (!valid) {
    const auto error = f.OptionalError();
    f.RejectUnknown();
    RequestHeader h;
    size_t n = 0;
    out.ExpectRefused("pooled", "decode", DecodeRequestHeader(encoded, &h, &n), error);
    out.ExpectRefused("unpooled", "decode", unpooled::DecodeRequestHeader(encoded, &h, &n),
                      error);
    return;
  }
  const Bytes trailing = f.Hex("trailing");
  RequestHeader expected;
  expected.command = static_cast<uint8_t>(f.Int("command", 0, 255));
  expected.port = static_cast<uint16_t>(f.Int("port", 0, 65535));
  expected.address_type = static_cast<AddressType>(f.Int("address_type", 0, 255));
  const Bytes address = f.Hex("address");
  f.RejectUnknown();
  if (address.size() > kMaxDomainBytes) out.Add("", "address longer than 255 bytes");
  if (!out.empty()) return;
  expected.address_length = static_cast<uint8_t>(address.size());
  std::copy(address.begin(), address.end(), expected.address.begin());
  Bytes payload = encoded;
  payload.insert(payload.end(), trailing.begin(), trailing.end());
  using Decode = std::function<Error(const Bytes&, RequestHeader*, size_t*)>;
  const std::pair<std::string, Decode> decoders[] = {
      {"pooled", [](const Bytes& b, RequestHeader* h, size_t* n) {
         return DecodeRequestHeader(b, h, n);
       }},
      {"unpooled", [](const Bytes& b, RequestHeader* h, size_t* n) {
         return unpooled::DecodeRequestHeader(b, h, n);
       }},
  };
  for (const auto& [impl, decode] : decoders) {
    RequestHeader got;
    size_t n = 0;
    const Error e = decode(payload, &got, &n);
    out.ExpectOk(impl, "decode", e);
    if (e != Error::kOk) continue;
    if (!(got == expected)) out.Add(impl, "decode yields other fields");
    if (n != encoded.size()) {
      out.Add(impl, "header length " + std::to_string(n) + ", expected " +
                        std::to_string(encoded.size()));
    }
  }
  Bytes again(kMaxRequestHeaderBytes);
  size_t written = 0;
  const Error e = EncodeRequestHeader(expected, again, &written);
  out.ExpectOk("pooled", "encode", e);
  if (e == Error::kOk) out.ExpectBytes("pooled", "encode:", encoded, {again.data(), written});
  out.ExpectBytes("unpooled", "encode:", encoded, unpooled::EncodeRequestHeader(expected));
}

const std::set<std::string>& KnownKinds() {
  static const std::set<std::string> kinds = {"client_handshake", "server_handshake",
                                              "key_schedule",     "frame",
                                              "frame_stream",     "request_header"};
  return kinds;
}

void CheckFile(const std::string& path, std::ostream& report, ConformanceSummary& summary) {
  auto file_failure = [&](const std::string& message) {
    report << path << ": " << message << "\n";
    ++summary.failed;
  };
  std::ifstream in(path);
  if (!in) return file_failure("cannot open");
  json doc;
  try {
    doc = json::parse(in);
  } catch (const json::exception& e) {
    return file_failure(std::string("not JSON: ") + e.what());
  }
  if (!doc.is_object()) return file_failure("not a JSON object");
  for (const auto& [name, value] : doc.items()) {
    if (name != "schema" && name != "profile" && name != "source" && name != "groups") {
      file_failure("unknown top-level field '" + name + "'");
    }
  }
  if (doc.value("schema", "") != "reflex-vectors/1") {
    return file_failure("schema is not \"reflex-vectors/1\"");
  }
  const std::string profile = doc.value("profile", "");
  if (profile != "v1-compat") return file_failure("unknown profile '" + profile + "'");
  if (!doc.contains("groups") || !doc["groups"].is_array()) {
    return file_failure("no list of groups");
  }
  std::set<int64_t> ids;
  for (const json& group : doc["groups"]) {
    const std::string kind = group.is_object() ? group.value("kind", "") : "";
    if (!group.is_object() || !group.contains("tests") || !group["tests"].is_array()) {
      file_failure("group '" + kind + "' has no list of tests");
      continue;
    }
    for (const auto& [name, value] : group.items()) {
      if (name != "kind" && name != "tests") {
        file_failure("group '" + kind + "': unknown field '" + name + "'");
      }
    }
    for (const json& test : group["tests"]) {
      Failures failures;
      std::string id_text = "?";
      int64_t id = -1;
      if (test.is_object() && test.contains("id") && test["id"].is_number_integer()) {
        id = test["id"].get<int64_t>();
        id_text = std::to_string(id);
        if (!ids.insert(id).second) failures.Add("", "duplicate id");
      } else {
        failures.Add("", "no integer id");
      }
      const std::string result =
          test.is_object() && test.contains("result") && test["result"].is_string()
              ? test["result"].get<std::string>()
              : "";
      if (result != "valid" && result != "invalid") {
        failures.Add("", "result is neither \"valid\" nor \"invalid\"");
      } else if (!KnownKinds().count(kind)) {
        failures.Add("", "unknown kind '" + kind + "'");
      } else if (test.contains("comment") && !test["comment"].is_string()) {
        failures.Add("", "comment is not a string");
      } else {
        Fields fields(test, failures);
        const bool valid = result == "valid";
        if (kind == "client_handshake") CheckClientHandshake(fields, valid, failures);
        if (kind == "server_handshake") CheckServerHandshake(fields, valid, failures);
        if (kind == "key_schedule") CheckKeySchedule(fields, valid, failures);
        if (kind == "frame") CheckFrame(fields, valid, failures);
        if (kind == "frame_stream") CheckFrameStream(fields, valid, static_cast<int>(id), failures);
        if (kind == "request_header") CheckRequestHeader(fields, valid, failures);
      }
      if (failures.empty()) {
        ++summary.passed;
      } else {
        ++summary.failed;
        for (const std::string& m : failures.messages()) {
          report << path << ": test " << id_text << " (" << kind << "): " << m << "\n";
        }
      }
    }
  }
}

}  // namespace

ConformanceSummary CheckVectorFiles(const std::vector<std::string>& paths, std::ostream& report) {
  ConformanceSummary summary;
  for (const std::string& path : paths) CheckFile(path, report, summary);
  report << summary.passed << " passed, " << summary.failed << " failed\n";
  return summary;
}

}  // namespace reflex::tools
