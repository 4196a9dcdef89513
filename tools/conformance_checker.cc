#include "tools/conformance_checker.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <sstream>
#include <system_error>

#include "pool/buffer_pool.h"
#include "reflex/frame_decoder.h"
#include "reflex/frame_opener.h"
#include "reflex/frame_sealer.h"
#include "reflex/client_session.h"
#include "reflex/hello.h"
#include "reflex/hello_v2.h"
#include "reflex/server_session.h"
#include "reflex/key_schedule.h"
#include "reflex/pooled_frames.h"
#include "reflex/reference_model.h"
#include "reflex/request_header.h"
#include "reflex/testing/chunked_decode.h"
#include "base/hex.h"
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
  Bytes again(kServerHelloBytesV1);
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

// The profile named in a file ("v1-compat" or "v2").
const WireProfile& WireProfileNamed(const std::string& name) {
  Profile profile = Profile::kV1Compat;
  (void)ProfileFromName(name, &profile);
  return WireProfileOf(profile);
}

void CheckFrame(const VectorTest& t, const WireProfile& layout, Failures& out) {
  const Bytes& key = t.HexField("key");
  const uint64_t counter = t.U64Field("counter");
  const Bytes& wire = t.HexField("wire");
  const bool has_contents = HasAll(t, {"frame_type", "payload"});
  if (!t.valid) {
    for (AeadBackend backend : kAllAeadBackends) {
      FrameOpener opener(KeyOf(key), counter, {layout, backend});
      Bytes copy = wire;
      OpenedFrame opened;
      out.ExpectRefused(CodecName(backend), "open", opener.OpenInPlace(copy, &opened),
                        t.ErrorField());
      if (!opened.payload.empty()) out.Add(CodecName(backend), "a refused frame yielded a payload");
    }
    reference::Frame frame;
    out.ExpectRefused(kReference, "open",
                      reference::OpenFrame(key, counter, wire, &frame, layout.profile),
                      t.ErrorField());
    if (has_contents) {
      Bytes plaintext = {static_cast<uint8_t>(t.IntField("frame_type"))};
      const Bytes& payload = t.HexField("payload");
      plaintext.insert(plaintext.end(), payload.begin(), payload.end());
      if (payload.size() + 17 <= 0xFFFF &&
          reference::SealAnyPlaintext(key, counter, plaintext, layout.profile) == wire &&
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
    FrameSealer sealer(KeyOf(key), counter, {layout, backend});
    pool::Buffer sealed;
    const Error e = SealToBuffer(sealer, pool, static_cast<FrameType>(type), payload, &sealed);
    out.ExpectOk(codec, "seal", e);
    if (e == Error::kOk) out.ExpectBytes(codec, "seal: wire", wire, sealed.span());
    FrameOpener opener(KeyOf(key), counter, {layout, backend});
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
  const Error e3 = reference::SealFrame(key, counter, type, payload, &wire2, layout.profile);
  out.ExpectOk(kReference, "seal", e3);
  if (e3 == Error::kOk) out.ExpectBytes(kReference, "seal: wire", wire, wire2);
  reference::Frame frame;
  const Error e4 = reference::OpenFrame(key, counter, wire, &frame, layout.profile);
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

void CheckFrameStream(const VectorTest& t, const WireProfile& layout, Failures& out) {
  const Bytes& key = t.HexField("key");
  const uint64_t first = t.U64Field("first_counter");
  const Bytes& wire = t.HexField("wire");
  std::optional<std::vector<reference::Frame>> expected;
  if (t.Has("frames")) expected = AsFrames(t.FramesField("frames"));
  pool::BufferPool pool;
  for (AeadBackend backend : kAllAeadBackends) {
    for (const auto& chunks : testing::StandardChunkings(static_cast<uint32_t>(t.id))) {
      const std::string impl = CodecName(backend) + ", " + testing::ChunkingName(chunks);
      FrameDecoder decoder(KeyOf(key), pool, first, {layout, backend});
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
  const reference::StreamResult r = reference::DecodeStream(key, first, wire, layout.profile);
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

// --- Profile v2.

// Hands out exactly the bytes it was given, in order: the ephemeral keys and
// nonces a vector names, drawn by a session as from any random source.
class ScriptedRandom final : public RandomSource {
 public:
  explicit ScriptedRandom(Bytes script) : script_(std::move(script)) {}
  void Fill(std::span<uint8_t> out) override {
    for (uint8_t& b : out) b = at_ < script_.size() ? script_[at_++] : (overrun_ = true, 0);
  }
  bool overrun() const { return overrun_; }

 private:
  Bytes script_;
  size_t at_ = 0;
  bool overrun_ = false;
};

class FixedClock final : public Clock {
 public:
  explicit FixedClock(int64_t unix_seconds) : unix_(unix_seconds) {}
  int64_t UnixSeconds() const override { return unix_; }
  int64_t MonotonicMillis() const override { return 0; }

 private:
  int64_t unix_;
};

UserId UserOf(const VectorTest& t) {
  UserId id{};
  std::ranges::copy(t.HexField("user_id"), id.begin());
  return id;
}

KeyPair PairOf(const Bytes& priv) {
  KeyPair pair;
  (void)KeyPairFromPrivate(Fixed<32>(priv), &pair);
  return pair;
}

HelloPayloadV2 PayloadOf(const VectorTest& t) {
  HelloPayloadV2 p;
  p.timestamp = t.I64Field("timestamp");
  std::ranges::copy(t.HexField("nonce"), p.nonce.begin());
  if (t.Has("reserved")) std::ranges::copy(t.HexField("reserved"), p.reserved.begin());
  return p;
}

Bytes ReservedOf(const VectorTest& t) { return t.Has("reserved") ? t.HexField("reserved") : Bytes(4, 0); }

// Session names: the sessions drive the same functions end to end.
std::string SessionName(AeadBackend backend) {
  return "session/" + std::string(AeadBackendName(backend));
}

// The first 32 bytes of a message are its sender's ephemeral public key:
// when a test gives the private key, they must match.
void ExpectEphemeralOf(const Bytes& message, const VectorTest& t, const char* private_field,
                       Failures& out) {
  if (!t.Has(private_field)) return;
  const KeyPair pair = PairOf(t.HexField(private_field));
  const size_t n = std::min<size_t>(message.size(), kPublicKeyBytes);
  if (!std::equal(message.begin(), message.begin() + static_cast<ptrdiff_t>(n),
                  pair.public_key.begin())) {
    out.Add("", std::string("'encoded' does not start with the public key of '") + private_field +
                    "'");
  }
}

std::unique_ptr<ServerContext> OneUserServer(const UserId& user, AeadBackend backend) {
  ServerConfig config;
  config.users = {user};
  config.backend = backend;
  config.replay_capacity = 16;
  std::unique_ptr<ServerContext> context;
  (void)ServerContext::Create(config, &context);
  return context;
}

// A server session fed hello; the event it reports.
SessionEvent ServeHello(const ServerContext& context, int64_t now, const Bytes& server_private,
                        const Bytes& hello, Bytes* reply) {
  FixedClock clock(now);
  ScriptedRandom random(server_private);
  ServerSession server(context, clock, random);
  Bytes in = hello;
  size_t used = 0;
  SessionEvent event;
  if (server.Receive(in, &used, &event) == Error::kOk && reply != nullptr) {
    const auto out = server.PendingOutput();
    reply->assign(out.begin(), out.end());
  }
  return event;
}

void CheckClientHandshakeV2(const VectorTest& t, Failures& out) {
  const Bytes& encoded = t.HexField("encoded");
  const UserId user = UserOf(t);
  noise::HandshakeState prepared;
  out.ExpectOk("codec", "prepare the server's state", PrepareServerHandshakeV2(user, &prepared));
  const noise::HandshakeState users[] = {prepared};
  ClientHelloV2 read;
  const Error read_error = ReadClientHelloV2(users, encoded, &read);
  size_t ref_user = 0;
  int64_t ref_timestamp = 0;
  Bytes ref_nonce;
  reference::StateV2 ref_state;
  const Error ref_error = reference::V2ServerReadHello({t.HexField("user_id")}, encoded, &ref_user,
                                                       &ref_timestamp, &ref_nonce, &ref_state);
  if (!t.valid) {
    out.ExpectRefused("codec", "server read", read_error, t.ErrorField());
    out.ExpectRefused(kReference, "server read", ref_error, t.ErrorField());
    ExpectEphemeralOf(encoded, t, "client_private", out);
    if (encoded.size() == kClientHelloBytesV2 && t.Has("timestamp")) {
      for (AeadBackend backend : kAllAeadBackends) {
        const auto context = OneUserServer(user, backend);
        const SessionEvent e = ServeHello(*context, t.I64Field("timestamp"), Bytes(32, 1), encoded, nullptr);
        if (e.kind != SessionEventKind::kFallback) {
          out.Add(SessionName(backend), "the server did not fall back");
        } else if (t.ErrorField() && e.reason != *t.ErrorField()) {
          out.Add(SessionName(backend), "fell back for " + std::string(ErrorName(e.reason)) +
                                            ", expected " + std::string(ErrorName(*t.ErrorField())));
        }
      }
    }
    return;
  }
  const Bytes& client_private = t.HexField("client_private");
  const HelloPayloadV2 payload = PayloadOf(t);
  Bytes written(kClientHelloBytesV2);
  noise::HandshakeState client_state;
  out.ExpectOk("codec", "client write",
               WriteClientHelloV2(user, PairOf(client_private), payload,
                                  std::span<uint8_t, kClientHelloBytesV2>(written), &client_state));
  out.ExpectBytes("codec", "client write:", encoded, written);
  out.ExpectOk("codec", "server read", read_error);
  if (read_error == Error::kOk && !(read.payload == payload)) {
    out.Add("codec", "server read yields other fields");
  }
  Bytes ref_hello;
  reference::StateV2 ref_client;
  out.ExpectOk(kReference, "client write",
               reference::V2ClientHello(t.HexField("user_id"), client_private, payload.timestamp,
                                        t.HexField("nonce"), ReservedOf(t), &ref_hello, &ref_client));
  out.ExpectBytes(kReference, "client write:", encoded, ref_hello);
  out.ExpectOk(kReference, "server read", ref_error);
  if (ref_error == Error::kOk &&
      (ref_timestamp != payload.timestamp || ref_nonce != t.HexField("nonce"))) {
    out.Add(kReference, "server read yields other fields");
  }
  // The sessions, end to end: a client drawing exactly these keys and
  // nonce at this time sends exactly this hello, and a server takes it.
  for (AeadBackend backend : kAllAeadBackends) {
    FixedClock clock(payload.timestamp);
    Bytes script = client_private;
    script.insert(script.end(), payload.nonce.begin(), payload.nonce.end());
    ScriptedRandom random(script);
    ClientSession client({Profile::kV2, user, backend}, clock, random);
    out.ExpectOk(SessionName(backend), "client start", client.Start());
    const auto sent = client.PendingOutput();
    out.ExpectBytes(SessionName(backend), "client hello:", encoded, sent);
    const auto context = OneUserServer(user, backend);
    const SessionEvent e = ServeHello(*context, payload.timestamp, Bytes(32, 1), encoded, nullptr);
    if (e.kind != SessionEventKind::kHandshakeDone) {
      out.Add(SessionName(backend), "the server did not accept the hello (" +
                                        std::string(ErrorName(e.reason)) + ")");
    }
  }
}

void CheckServerHandshakeV2(const VectorTest& t, Failures& out) {
  const Bytes& encoded = t.HexField("encoded");
  const UserId user = UserOf(t);
  const Bytes& client_private = t.HexField("client_private");
  const HelloPayloadV2 payload = PayloadOf(t);
  Bytes hello(kClientHelloBytesV2);
  noise::HandshakeState client_state;
  out.ExpectOk("codec", "client write",
               WriteClientHelloV2(user, PairOf(client_private), payload,
                                  std::span<uint8_t, kClientHelloBytesV2>(hello), &client_state));
  TransportKeysV2 client_keys;
  const Error read_error = ReadServerHelloV2(client_state, encoded, &client_keys);
  Bytes ref_hello, c2s, s2c, hash;
  reference::StateV2 ref_client;
  out.ExpectOk(kReference, "client write",
               reference::V2ClientHello(t.HexField("user_id"), client_private, payload.timestamp,
                                        t.HexField("nonce"), ReservedOf(t), &ref_hello,
                                        &ref_client));
  reference::StateV2 ref_client_after = ref_client;
  const Error ref_error = reference::V2ClientReadHello(ref_client_after, encoded, &c2s, &s2c, &hash);
  // The client session reads exactly 48 bytes before it decides.
  auto client_session_event = [&](AeadBackend backend) {
    FixedClock clock(payload.timestamp);
    Bytes script = client_private;
    script.insert(script.end(), payload.nonce.begin(), payload.nonce.end());
    ScriptedRandom random(script);
    ClientSession client({Profile::kV2, user, backend}, clock, random);
    SessionEvent e;
    if (client.Start() != Error::kOk) return e;
    Bytes in = encoded;
    size_t used = 0;
    (void)client.Receive(in, &used, &e);
    return e;
  };
  if (!t.valid) {
    out.ExpectRefused("codec", "client read", read_error, t.ErrorField());
    out.ExpectRefused(kReference, "client read", ref_error, t.ErrorField());
    ExpectEphemeralOf(encoded, t, "server_private", out);
    if (encoded.size() == kServerHelloBytesV2) {
      for (AeadBackend backend : kAllAeadBackends) {
        const SessionEvent e = client_session_event(backend);
        if (e.kind != SessionEventKind::kError) {
          out.Add(SessionName(backend), "the client did not refuse the server hello");
        } else {
          out.ExpectRefused(SessionName(backend), "client read", e.reason, t.ErrorField());
        }
      }
    }
    return;
  }
  const Bytes& server_private = t.HexField("server_private");
  noise::HandshakeState prepared;
  out.ExpectOk("codec", "prepare", PrepareServerHandshakeV2(user, &prepared));
  const noise::HandshakeState users[] = {prepared};
  ClientHelloV2 read;
  out.ExpectOk("codec", "server read", ReadClientHelloV2(users, hello, &read));
  Bytes reply(kServerHelloBytesV2);
  TransportKeysV2 server_keys;
  out.ExpectOk("codec", "server write",
               WriteServerHelloV2(read.state, PairOf(server_private),
                                  std::span<uint8_t, kServerHelloBytesV2>(reply), &server_keys));
  out.ExpectBytes("codec", "server write:", encoded, reply);
  out.ExpectOk("codec", "client read", read_error);
  if (read_error == Error::kOk &&
      !(client_keys.client_to_server.Equals(server_keys.client_to_server.span()) &&
        client_keys.server_to_client.Equals(server_keys.server_to_client.span()))) {
    out.Add("codec", "client and server split to different keys");
  }
  size_t ref_user = 0;
  int64_t ref_ts = 0;
  Bytes ref_nonce, ref_reply, rc2s, rs2c, rhash;
  reference::StateV2 ref_server;
  out.ExpectOk(kReference, "server read",
               reference::V2ServerReadHello({t.HexField("user_id")}, ref_hello, &ref_user, &ref_ts,
                                            &ref_nonce, &ref_server));
  out.ExpectOk(kReference, "server write",
               reference::V2ServerHello(ref_server, server_private, &ref_reply, &rc2s, &rs2c, &rhash));
  out.ExpectBytes(kReference, "server write:", encoded, ref_reply);
  out.ExpectOk(kReference, "client read", ref_error);
  for (AeadBackend backend : kAllAeadBackends) {
    const auto context = OneUserServer(user, backend);
    Bytes session_reply;
    const SessionEvent e = ServeHello(*context, payload.timestamp, server_private, hello, &session_reply);
    if (e.kind != SessionEventKind::kHandshakeDone) {
      out.Add(SessionName(backend), "the server did not accept the client hello");
    }
    out.ExpectBytes(SessionName(backend), "server hello:", encoded, session_reply);
    const SessionEvent c = client_session_event(backend);
    if (c.kind != SessionEventKind::kHandshakeDone) {
      out.Add(SessionName(backend), "the client did not accept the server hello");
    }
  }
}

void CheckKeyScheduleV2(const VectorTest& t, Failures& out) {
  const UserId user = UserOf(t);
  const HelloPayloadV2 payload = PayloadOf(t);
  if (t.Has("psk")) {
    noise::Psk psk;
    out.ExpectOk("codec", "psk", DeriveUserPskV2(user, &psk));
    out.ExpectBytes("codec", "psk", t.HexField("psk"), psk.span());
    out.ExpectBytes(kReference, "psk", t.HexField("psk"), reference::PskV2(t.HexField("user_id")));
  }
  for (auto [priv, pub] : {std::pair{"client_private", "client_public"},
                           std::pair{"server_private", "server_public"}}) {
    if (t.Has(priv) && t.Has(pub)) {
      out.ExpectBytes("codec", std::string(pub), t.HexField(pub), PairOf(t.HexField(priv)).public_key);
    }
  }
  const bool client_side = t.Has("client_private") && t.Has("server_public");
  const bool server_side = t.Has("client_public") && t.Has("server_private");
  if (!t.valid) {
    if (!client_side && !server_side) {
      out.Add("", "no side of the exchange can be computed from the given fields");
    }
    if (client_side) {
      // The client reads a message 2 carrying server_public (its tag is
      // never reached: the DH comes first).
      Bytes hello(kClientHelloBytesV2);
      noise::HandshakeState client_state;
      out.ExpectOk("codec", "client write",
                   WriteClientHelloV2(user, PairOf(t.HexField("client_private")), payload,
                                      std::span<uint8_t, kClientHelloBytesV2>(hello), &client_state));
      Bytes reply = t.HexField("server_public");
      reply.resize(kServerHelloBytesV2, 0);
      TransportKeysV2 keys;
      out.ExpectRefused("codec", "client read", ReadServerHelloV2(client_state, reply, &keys),
                        t.ErrorField());
      Bytes ref_hello, c2s, s2c, hash;
      reference::StateV2 state;
      out.ExpectOk(kReference, "client write",
                   reference::V2ClientHello(t.HexField("user_id"), t.HexField("client_private"),
                                            payload.timestamp, t.HexField("nonce"), Bytes(4, 0),
                                            &ref_hello, &state));
      out.ExpectRefused(kReference, "client read",
                        reference::V2ClientReadHello(state, reply, &c2s, &s2c, &hash), t.ErrorField());
    }
    if (server_side) {
      // The server reads a message 1 carrying client_public, then refuses
      // to answer it (the DH).
      Bytes hello;
      out.ExpectOk(kReference, "client write",
                   reference::V2ClientHelloWithPublic(t.HexField("user_id"), t.HexField("client_public"),
                                                      payload.timestamp, t.HexField("nonce"),
                                                      Bytes(4, 0), &hello));
      noise::HandshakeState prepared;
      out.ExpectOk("codec", "prepare", PrepareServerHandshakeV2(user, &prepared));
      const noise::HandshakeState users[] = {prepared};
      ClientHelloV2 read;
      const Error e = ReadClientHelloV2(users, hello, &read);
      out.ExpectOk("codec", "server read", e);
      if (e == Error::kOk) {
        Bytes reply(kServerHelloBytesV2);
        TransportKeysV2 keys;
        out.ExpectRefused("codec", "server write",
                          WriteServerHelloV2(read.state, PairOf(t.HexField("server_private")),
                                             std::span<uint8_t, kServerHelloBytesV2>(reply), &keys),
                          t.ErrorField());
      }
      size_t u = 0;
      int64_t ts = 0;
      Bytes nonce, reply, c2s, s2c, hash;
      reference::StateV2 state;
      out.ExpectOk(kReference, "server read",
                   reference::V2ServerReadHello({t.HexField("user_id")}, hello, &u, &ts, &nonce, &state));
      out.ExpectRefused(kReference, "server write",
                        reference::V2ServerHello(state, t.HexField("server_private"), &reply, &c2s,
                                                 &s2c, &hash),
                        t.ErrorField());
    }
    return;
  }
  // Valid: the whole handshake, both implementations, everything derived.
  Bytes hello(kClientHelloBytesV2);
  noise::HandshakeState client_state;
  out.ExpectOk("codec", "client write",
               WriteClientHelloV2(user, PairOf(t.HexField("client_private")), payload,
                                  std::span<uint8_t, kClientHelloBytesV2>(hello), &client_state));
  noise::HandshakeState prepared;
  out.ExpectOk("codec", "prepare", PrepareServerHandshakeV2(user, &prepared));
  const noise::HandshakeState users[] = {prepared};
  ClientHelloV2 read;
  out.ExpectOk("codec", "server read", ReadClientHelloV2(users, hello, &read));
  Bytes reply(kServerHelloBytesV2);
  TransportKeysV2 server_keys, client_keys;
  out.ExpectOk("codec", "server write",
               WriteServerHelloV2(read.state, PairOf(t.HexField("server_private")),
                                  std::span<uint8_t, kServerHelloBytesV2>(reply), &server_keys));
  out.ExpectOk("codec", "client read", ReadServerHelloV2(client_state, reply, &client_keys));
  for (const auto* keys : {&server_keys, &client_keys}) {
    const std::string side = keys == &server_keys ? "server " : "client ";
    out.ExpectBytes("codec", side + "handshake hash", t.HexField("handshake_hash"), keys->handshake_hash);
    out.ExpectBytes("codec", side + "c2s key", t.HexField("c2s_key"), keys->client_to_server.span());
    out.ExpectBytes("codec", side + "s2c key", t.HexField("s2c_key"), keys->server_to_client.span());
  }
  Bytes ref_hello, ref_reply, c2s, s2c, hash, cc2s, cs2c, chash, nonce;
  reference::StateV2 ref_client, ref_server;
  size_t u = 0;
  int64_t ts = 0;
  const bool ref_ok =
      reference::V2ClientHello(t.HexField("user_id"), t.HexField("client_private"), payload.timestamp,
                               t.HexField("nonce"), Bytes(4, 0), &ref_hello, &ref_client) == Error::kOk &&
      reference::V2ServerReadHello({t.HexField("user_id")}, ref_hello, &u, &ts, &nonce, &ref_server) ==
          Error::kOk &&
      reference::V2ServerHello(ref_server, t.HexField("server_private"), &ref_reply, &c2s, &s2c,
                               &hash) == Error::kOk &&
      reference::V2ClientReadHello(ref_client, ref_reply, &cc2s, &cs2c, &chash) == Error::kOk;
  if (!ref_ok) {
    out.Add(kReference, "the handshake failed");
    return;
  }
  out.ExpectBytes(kReference, "handshake hash", t.HexField("handshake_hash"), hash);
  out.ExpectBytes(kReference, "c2s key", t.HexField("c2s_key"), c2s);
  out.ExpectBytes(kReference, "s2c key", t.HexField("s2c_key"), s2c);
  out.ExpectBytes(kReference, "client's c2s key", t.HexField("c2s_key"), cc2s);
}

void CheckTest(const std::string& profile, const std::string& kind, const VectorTest& t,
               Failures& out) {
  const bool v2 = profile == "v2";
  if (kind == "client_handshake") v2 ? CheckClientHandshakeV2(t, out) : CheckClientHandshake(t, out);
  if (kind == "server_handshake") v2 ? CheckServerHandshakeV2(t, out) : CheckServerHandshake(t, out);
  if (kind == "key_schedule") v2 ? CheckKeyScheduleV2(t, out) : CheckKeySchedule(t, out);
  if (kind == "frame") CheckFrame(t, WireProfileNamed(profile), out);
  if (kind == "frame_stream") CheckFrameStream(t, WireProfileNamed(profile), out);
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
      if (failures.empty()) CheckTest(file.profile, group.kind, test, failures);
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
