#include "tools/conformance_checker.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <system_error>

#include "pool/buffer_pool.h"
#include "reflex/frame_decoder.h"
#include "reflex/frame_opener.h"
#include "reflex/frame_sealer.h"
#include "reflex/hello.h"
#include "reflex/key_schedule.h"
#include "reflex/pooled_frames.h"
#include "reflex/reference_model.h"
#include "reflex/request_header.h"
#include "tools/testing/chunked_decode.h"
#include "tools/testing/hex.h"
#include "tools/vector_file.h"

namespace reflex::tools {
namespace {

using testing::ToHex;

const char kReference[] = "reference";

std::string CodecName(AeadBackend backend) {
  return "codec/" + std::string(AeadBackendName(backend));
}

// "differ at byte 5: expected 3a, got 3b" or "lengths differ: expected 22
// bytes, got 21": enough to start debugging a port, short for 16 KiB.
std::string Difference(const Bytes& expected, std::span<const uint8_t> got) {
  std::ostringstream out;
  for (size_t i = 0; i < std::min(expected.size(), got.size()); ++i) {
    if (expected[i] != got[i]) {
      out << "differ at byte " << i << ": expected " << ToHex({&expected[i], 1}) << ", got "
          << ToHex({&got[i], 1});
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

template <size_t N>
std::span<const uint8_t, N> Fixed(const Bytes& b) {
  return std::span<const uint8_t, N>(b.data(), N);
}

SessionKey KeyOf(const Bytes& b) { return SessionKey(Fixed<32>(b)); }

// Invalid tests may give the fields a malformed encoding was made from;
// then the encoding must agree with theirs wherever both have bytes
// (outside the magic, for a bad_magic test).
void ExpectMadeFrom(const Bytes& encoded, const Bytes& from_fields, size_t skip_prefix,
                    Failures& out) {
  for (size_t i = skip_prefix; i < std::min(encoded.size(), from_fields.size()); ++i) {
    if (encoded[i] != from_fields[i]) {
      out.Add("", "the fields do not describe 'encoded': byte " + std::to_string(i) +
                      " is " + ToHex({&encoded[i], 1}) + ", the fields give " +
                      ToHex({&from_fields[i], 1}));
      return;
    }
  }
}

ClientHello ClientHelloOf(const VectorTest& t) {
  ClientHello h;
  std::ranges::copy(t.HexField("public_key"), h.public_key.begin());
  std::ranges::copy(t.HexField("user_id"), h.user_id.begin());
  h.timestamp = t.I64Field("timestamp");
  std::ranges::copy(t.HexField("nonce"), h.nonce.begin());
  return h;
}

bool HasAll(const VectorTest& t, std::initializer_list<const char*> names) {
  return std::all_of(names.begin(), names.end(), [&](const char* n) { return t.Has(n); });
}

void CheckClientHandshake(const VectorTest& t, Failures& out) {
  const Bytes& encoded = t.HexField("encoded");
  const bool has_fields = HasAll(t, {"public_key", "user_id", "timestamp", "nonce"});
  if (!t.valid) {
    ClientHello h;
    out.ExpectRefused(CodecName(DefaultAeadBackend()), "decode", DecodeClientHello(encoded, &h),
                      t.ErrorField());
    out.ExpectRefused(kReference, "decode", reference::DecodeClientHello(encoded, &h),
                      t.ErrorField());
    if (has_fields) {
      ExpectMadeFrom(encoded, reference::EncodeClientHello(ClientHelloOf(t)),
                     t.ErrorField() == Error::kBadMagic ? 4 : 0, out);
    }
    return;
  }
  const ClientHello expected = ClientHelloOf(t);
  ClientHello got;
  const Error e = DecodeClientHello(encoded, &got);
  const std::string codec = CodecName(DefaultAeadBackend());
  out.ExpectOk(codec, "decode", e);
  if (e == Error::kOk && !(got == expected)) out.Add(codec, "decode yields other fields");
  Bytes again(kClientHelloBytes);
  out.ExpectOk(codec, "encode", EncodeClientHello(expected, again));
  out.ExpectBytes(codec, "encode:", encoded, again);
  ClientHello got2;
  const Error e2 = reference::DecodeClientHello(encoded, &got2);
  out.ExpectOk(kReference, "decode", e2);
  if (e2 == Error::kOk && !(got2 == expected)) out.Add(kReference, "decode yields other fields");
  out.ExpectBytes(kReference, "encode:", encoded, reference::EncodeClientHello(expected));
}

ServerHello ServerHelloOf(const VectorTest& t) {
  ServerHello h;
  std::ranges::copy(t.HexField("public_key"), h.public_key.begin());
  h.timestamp = t.I64Field("timestamp");
  return h;
}

void CheckServerHandshake(const VectorTest& t, Failures& out) {
  const Bytes& encoded = t.HexField("encoded");
  const std::string codec = CodecName(DefaultAeadBackend());
  if (!t.valid) {
    ServerHello h;
    out.ExpectRefused(codec, "decode", DecodeServerHello(encoded, &h), t.ErrorField());
    out.ExpectRefused(kReference, "decode", reference::DecodeServerHello(encoded, &h),
                      t.ErrorField());
    if (HasAll(t, {"public_key", "timestamp"})) {
      ExpectMadeFrom(encoded, reference::EncodeServerHello(ServerHelloOf(t)), 0, out);
    }
    return;
  }
  const ServerHello expected = ServerHelloOf(t);
  ServerHello got;
  const Error e = DecodeServerHello(encoded, &got);
  out.ExpectOk(codec, "decode", e);
  if (e == Error::kOk && !(got == expected)) out.Add(codec, "decode yields other fields");
  Bytes again(kServerHelloBytes);
  out.ExpectOk(codec, "encode", EncodeServerHello(expected, again));
  out.ExpectBytes(codec, "encode:", encoded, again);
  ServerHello got2;
  const Error e2 = reference::DecodeServerHello(encoded, &got2);
  out.ExpectOk(kReference, "decode", e2);
  if (e2 == Error::kOk && !(got2 == expected)) out.Add(kReference, "decode yields other fields");
  out.ExpectBytes(kReference, "encode:", encoded, reference::EncodeServerHello(expected));
}

// One side of an exchange: own private key, peer public key.
void CheckSide(const std::string& side, const VectorTest& t, const char* own_private_name,
               const char* own_public_name, const char* peer_public_name, Failures& out) {
  const Bytes& own_private = t.HexField(own_private_name);
  const Bytes& peer_public = t.HexField(peer_public_name);
  const std::string codec = CodecName(DefaultAeadBackend());
  KeyPair pair;
  out.ExpectOk(codec, side + " key pair", KeyPairFromPrivate(Fixed<32>(own_private), &pair));
  if (t.Has(own_public_name)) {
    out.ExpectBytes(codec, side + " public key", t.HexField(own_public_name), pair.public_key);
    Bytes pub;
    out.ExpectOk(kReference, side + " public key", reference::PublicKeyOf(own_private, &pub));
    out.ExpectBytes(kReference, side + " public key", t.HexField(own_public_name), pub);
  }
  SharedSecret s;
  SessionKey k;
  Error e1 = ComputeSharedSecret(pair.private_key, Fixed<32>(peer_public), &s);
  const Error e2 = e1 == Error::kOk ? DeriveSessionKeyV1(s, &k) : e1;
  Bytes k2;
  const Error e3 = reference::SessionKeyV1(own_private, peer_public, &k2);
  if (!t.valid) {
    out.ExpectRefused(codec, side + " key agreement", e2, t.ErrorField());
    out.ExpectRefused(kReference, side + " key agreement", e3, t.ErrorField());
    return;
  }
  out.ExpectOk(codec, side + " shared secret", e1);
  out.ExpectOk(codec, side + " session key", e2);
  out.ExpectOk(kReference, side + " session key", e3);
  if (e1 == Error::kOk) out.ExpectBytes(codec, side + " shared secret", t.HexField("shared_secret"), s.span());
  if (e2 == Error::kOk) out.ExpectBytes(codec, side + " session key", t.HexField("session_key"), k.span());
  if (e3 == Error::kOk) out.ExpectBytes(kReference, side + " session key", t.HexField("session_key"), k2);
}

void CheckKeySchedule(const VectorTest& t, Failures& out) {
  const bool client = HasAll(t, {"client_private", "server_public"});
  const bool server = HasAll(t, {"server_private", "client_public"});
  if (client) CheckSide("client", t, "client_private", "client_public", "server_public", out);
  if (server) CheckSide("server", t, "server_private", "server_public", "client_public", out);
  if (t.valid) return;
  if (!client && !server) {
    out.Add("", "no side of the exchange can be computed from the given fields");
  }
  // The only refused exchange is the one whose shared secret is all zeros
  // (a low-order key); a test that gives it must give that.
  if (t.Has("shared_secret") && t.HexField("shared_secret") != Bytes(32, 0)) {
    out.Add("", "a refused exchange's shared_secret must be all zeros (a low-order key)");
  }
  if (t.Has("shared_secret") && t.Has("session_key")) {
    const Bytes label = {'r', 'e', 'f', 'l', 'e', 'x', '-', 's', 'e', 's', 's',
                         'i', 'o', 'n', '-', 'v', '1'};
    out.ExpectBytes(kReference, "session key of the given shared secret:",
                    t.HexField("session_key"),
                    reference::HkdfSha256(label, t.HexField("shared_secret"), label, 32));
  }
}

void CheckFrame(const VectorTest& t, Failures& out) {
  const Bytes& key = t.HexField("key");
  const uint64_t counter = t.U64Field("counter");
  const Bytes& wire = t.HexField("wire");
  const bool has_contents = HasAll(t, {"frame_type", "payload"});
  if (!t.valid) {
    for (AeadBackend backend : kAllAeadBackends) {
      FrameOpener opener(KeyOf(key), counter, {NonceLayout::kV1, backend});
      Bytes copy = wire;
      OpenedFrame opened;
      out.ExpectRefused(CodecName(backend), "open", opener.OpenInPlace(copy, &opened),
                        t.ErrorField());
      if (!opened.payload.empty()) out.Add(CodecName(backend), "a refused frame yielded a payload");
    }
    reference::Frame frame;
    out.ExpectRefused(kReference, "open", reference::OpenFrame(key, counter, wire, &frame),
                      t.ErrorField());
    if (has_contents) {
      Bytes plaintext = {static_cast<uint8_t>(t.IntField("frame_type"))};
      const Bytes& payload = t.HexField("payload");
      plaintext.insert(plaintext.end(), payload.begin(), payload.end());
      if (payload.size() + 17 <= 0xFFFF &&
          reference::SealAnyPlaintext(key, counter, plaintext) == wire &&
          t.ErrorField() != Error::kUnknownFrameType) {
        out.Add("", "the frame_type and payload seal to exactly this wire, which opens");
      }
    }
    return;
  }
  const auto type = static_cast<uint8_t>(t.IntField("frame_type"));
  const Bytes& payload = t.HexField("payload");
  pool::BufferPool pool;
  for (AeadBackend backend : kAllAeadBackends) {
    const std::string codec = CodecName(backend);
    FrameSealer sealer(KeyOf(key), counter, {NonceLayout::kV1, backend});
    pool::Buffer sealed;
    const Error e = SealToBuffer(sealer, pool, static_cast<FrameType>(type), payload, &sealed);
    out.ExpectOk(codec, "seal", e);
    if (e == Error::kOk) out.ExpectBytes(codec, "seal: wire", wire, sealed.span());
    FrameOpener opener(KeyOf(key), counter, {NonceLayout::kV1, backend});
    Bytes copy = wire;
    OpenedFrame opened;
    const Error e2 = opener.OpenInPlace(copy, &opened);
    out.ExpectOk(codec, "open", e2);
    if (e2 == Error::kOk) {
      if (static_cast<uint8_t>(opened.type) != type) out.Add(codec, "open: other frame type");
      out.ExpectBytes(codec, "open: payload", payload, opened.payload);
    }
  }
  Bytes wire2;
  const Error e3 = reference::SealFrame(key, counter, type, payload, &wire2);
  out.ExpectOk(kReference, "seal", e3);
  if (e3 == Error::kOk) out.ExpectBytes(kReference, "seal: wire", wire, wire2);
  reference::Frame frame;
  const Error e4 = reference::OpenFrame(key, counter, wire, &frame);
  out.ExpectOk(kReference, "open", e4);
  if (e4 == Error::kOk) {
    if (frame.type != type) out.Add(kReference, "open: other frame type");
    out.ExpectBytes(kReference, "open: payload", payload, frame.payload);
  }
}

std::vector<reference::Frame> AsFrames(const std::vector<FrameItem>& items) {
  std::vector<reference::Frame> frames;
  for (const FrameItem& i : items) frames.push_back({i.frame_type, i.payload});
  return frames;
}

void CheckFrameStream(const VectorTest& t, Failures& out) {
  const Bytes& key = t.HexField("key");
  const uint64_t first = t.U64Field("first_counter");
  const Bytes& wire = t.HexField("wire");
  std::optional<std::vector<reference::Frame>> expected;
  if (t.Has("frames")) expected = AsFrames(t.FramesField("frames"));
  pool::BufferPool pool;
  for (AeadBackend backend : kAllAeadBackends) {
    for (const auto& chunks : testing::StandardChunkings(static_cast<uint32_t>(t.id))) {
      const std::string impl = CodecName(backend) + ", " + testing::ChunkingName(chunks);
      FrameDecoder decoder(KeyOf(key), pool, first, {NonceLayout::kV1, backend});
      const testing::ChunkedDecode got = testing::DecodeInChunks(decoder, wire, chunks);
      if (!got.broken.empty()) out.Add(impl, "decoder contract broken: " + got.broken);
      if (t.valid) {
        out.ExpectOk(impl, "decode", got.error);
      } else {
        out.ExpectRefused(impl, "decode", got.error, t.ErrorField());
      }
      if (expected && got.frames != *expected) {
        out.Add(impl, "yielded " + std::to_string(got.frames.size()) + " frame(s) other than the " +
                          std::to_string(expected->size()) + " expected");
      }
      if (!out.empty()) return;  // one chunking's report is enough
    }
  }
  const reference::StreamResult r = reference::DecodeStream(key, first, wire);
  if (t.valid) {
    out.ExpectOk(kReference, "decode", r.error);
  } else {
    out.ExpectRefused(kReference, "decode", r.error, t.ErrorField());
  }
  if (expected && r.frames != *expected) out.Add(kReference, "yielded other frames");
}

RequestHeader RequestHeaderOf(const VectorTest& t, Failures& out) {
  RequestHeader h;
  h.command = static_cast<uint8_t>(t.IntField("command"));
  h.port = static_cast<uint16_t>(t.IntField("port"));
  h.address_type = static_cast<AddressType>(t.IntField("address_type"));
  const Bytes& address = t.HexField("address");
  if (address.size() > kMaxDomainBytes) {
    out.Add("", "address longer than 255 bytes");
    return h;
  }
  h.address_length = static_cast<uint8_t>(address.size());
  std::ranges::copy(address, h.address.begin());
  return h;
}

void CheckRequestHeader(const VectorTest& t, Failures& out) {
  const Bytes& encoded = t.HexField("encoded");
  const std::string codec = CodecName(DefaultAeadBackend());
  if (!t.valid) {
    RequestHeader h;
    size_t n = 0;
    out.ExpectRefused(codec, "decode", DecodeRequestHeader(encoded, &h, &n), t.ErrorField());
    out.ExpectRefused(kReference, "decode", reference::DecodeRequestHeader(encoded, &h, &n),
                      t.ErrorField());
    if (HasAll(t, {"command", "port", "address_type", "address"})) {
      const RequestHeader from = RequestHeaderOf(t, out);
      if (reference::EncodeRequestHeader(from) == encoded) {
        out.Add("", "the fields encode to exactly 'encoded', which decodes");
      }
    }
    return;
  }
  const RequestHeader expected = RequestHeaderOf(t, out);
  if (!out.empty()) return;
  Bytes payload = encoded;
  const Bytes& trailing = t.HexField("trailing");
  payload.insert(payload.end(), trailing.begin(), trailing.end());
  using Decode = std::function<Error(const Bytes&, RequestHeader*, size_t*)>;
  const std::pair<std::string, Decode> decoders[] = {
      {codec, [](const Bytes& b, RequestHeader* h, size_t* n) {
         return DecodeRequestHeader(b, h, n);
       }},
      {kReference, [](const Bytes& b, RequestHeader* h, size_t* n) {
         return reference::DecodeRequestHeader(b, h, n);
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
  out.ExpectOk(codec, "encode", e);
  if (e == Error::kOk) out.ExpectBytes(codec, "encode:", encoded, {again.data(), written});
  out.ExpectBytes(kReference, "encode:", encoded, reference::EncodeRequestHeader(expected));
}

void CheckTest(const std::string& kind, const VectorTest& t, Failures& out) {
  if (kind == "client_handshake") CheckClientHandshake(t, out);
  if (kind == "server_handshake") CheckServerHandshake(t, out);
  if (kind == "key_schedule") CheckKeySchedule(t, out);
  if (kind == "frame") CheckFrame(t, out);
  if (kind == "frame_stream") CheckFrameStream(t, out);
  if (kind == "request_header") CheckRequestHeader(t, out);
}

}  // namespace

void CheckVectorText(const std::string& name, std::string_view text, std::ostream& report,
                     ConformanceSummary* summary) {
  const VectorFile file = ReadVectorFile(text);
  for (const std::string& problem : file.problems) {
    report << name << ": " << problem << "\n";
    ++summary->failed;
  }
  for (const VectorGroup& group : file.groups) {
    for (const VectorTest& test : group.tests) {
      Failures failures;
      for (const std::string& p : test.problems) failures.Add("", p);
      if (failures.empty()) CheckTest(group.kind, test, failures);
      if (failures.empty()) {
        ++summary->passed;
        continue;
      }
      ++summary->failed;
      for (const std::string& m : failures.messages()) {
        report << name << ": test " << test.id_text << " (" << group.kind << "): " << m << "\n";
      }
    }
  }
}

ConformanceSummary CheckVectorFiles(const std::vector<std::string>& paths, std::ostream& report) {
  ConformanceSummary summary;
  for (const std::string& path : paths) {
    auto fail = [&](const std::string& problem) {
      report << path << ": " << problem << "\n";
      ++summary.failed;
    };
    std::error_code ec;
    if (std::filesystem::is_directory(path, ec)) {
      fail("is a directory, not a vector file");
      continue;
    }
    const auto size = std::filesystem::file_size(path, ec);
    if (ec) {
      fail("cannot open: " + ec.message());
      continue;
    }
    if (size > kMaxVectorFileBytes) {
      fail("larger than " + std::to_string(kMaxVectorFileBytes) + " bytes; not read");
      continue;
    }
    std::ifstream in(path, std::ios::binary);
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (!in.good() && !in.eof()) {
      fail("cannot read");
      continue;
    }
    CheckVectorText(path, text, report, &summary);
  }
  report << summary.passed << " passed, " << summary.failed << " failed\n";
  return summary;
}

}  // namespace reflex::tools
