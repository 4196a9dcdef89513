#include "reflex/reference_model.h"

#include <sodium.h>

#include <cstring>
#include <string>

namespace reflex::reference {
namespace {

void Append(Bytes& out, const uint8_t* p, size_t n) { out.insert(out.end(), p, p + n); }

void AppendBigEndian(Bytes& out, uint64_t v, int bytes) {
  for (int i = bytes - 1; i >= 0; --i) out.push_back(static_cast<uint8_t>(v >> (8 * i)));
}

uint64_t ReadBigEndian(const Bytes& in, size_t at, int bytes) {
  uint64_t v = 0;
  for (int i = 0; i < bytes; ++i) v = (v << 8) | in[at + i];
  return v;
}

Bytes Nonce(uint64_t counter, Profile profile) {
  Bytes nonce(12, 0);
  const int at = profile == Profile::kV1Compat ? 0 : 4;
  for (int i = 0; i < 8; ++i) nonce[at + i] = static_cast<uint8_t>(counter >> (8 * i));
  return nonce;
}

uint64_t LastCounter(Profile profile) {
  return profile == Profile::kV1Compat ? UINT64_MAX : UINT64_MAX - 1;
}

// A Noise CipherState's nonce: v2's frame nonce.
Bytes NoiseNonce(uint64_t n) { return Nonce(n, Profile::kV2); }

Bytes HmacSha256(const Bytes& key, const Bytes& message) {
  crypto_auth_hmacsha256_state state;
  Bytes mac(32);
  const uint8_t empty = 0;  // the key pointer is declared nonnull
  crypto_auth_hmacsha256_init(&state, key.empty() ? &empty : key.data(), key.size());
  crypto_auth_hmacsha256_update(&state, message.data(), message.size());
  crypto_auth_hmacsha256_final(&state, mac.data());
  return mac;
}

Bytes Label() {
  const std::string label = "reflex-session-v1";
  return Bytes(label.begin(), label.end());
}

}  // namespace

Bytes EncodeClientHello(const ClientHello& hello) {
  Bytes out = {0x52, 0x46, 0x58, 0x4C};
  Append(out, hello.public_key.data(), 32);
  Append(out, hello.user_id.data(), 16);
  AppendBigEndian(out, static_cast<uint64_t>(hello.timestamp), 8);
  Append(out, hello.nonce.data(), 16);
  return out;
}

Error DecodeClientHello(const Bytes& in, ClientHello* out) {
  if (in.size() < 76) return Error::kTooShort;
  if (in[0] != 0x52 || in[1] != 0x46 || in[2] != 0x58 || in[3] != 0x4C) {
    return Error::kBadMagic;
  }
  if (in.size() > 76) return Error::kTrailingBytes;
  ClientHello hello;
  std::copy(in.begin() + 4, in.begin() + 36, hello.public_key.begin());
  std::copy(in.begin() + 36, in.begin() + 52, hello.user_id.begin());
  hello.timestamp = static_cast<int64_t>(ReadBigEndian(in, 52, 8));
  std::copy(in.begin() + 60, in.begin() + 76, hello.nonce.begin());
  *out = hello;
  return Error::kOk;
}

Bytes EncodeServerHello(const ServerHello& hello) {
  Bytes out(hello.public_key.begin(), hello.public_key.end());
  AppendBigEndian(out, static_cast<uint64_t>(hello.timestamp), 8);
  return out;
}

Error DecodeServerHello(const Bytes& in, ServerHello* out) {
  if (in.size() < 40) return Error::kTooShort;
  if (in.size() > 40) return Error::kTrailingBytes;
  ServerHello hello;
  std::copy(in.begin(), in.begin() + 32, hello.public_key.begin());
  hello.timestamp = static_cast<int64_t>(ReadBigEndian(in, 32, 8));
  *out = hello;
  return Error::kOk;
}

Bytes HkdfSha256(const Bytes& salt, const Bytes& ikm, const Bytes& info,
                 size_t length) {
  const Bytes prk = HmacSha256(salt, ikm);
  Bytes okm;
  Bytes previous;
  for (uint8_t i = 1; okm.size() < length; ++i) {
    Bytes message = previous;
    message.insert(message.end(), info.begin(), info.end());
    message.push_back(i);
    previous = HmacSha256(prk, message);
    okm.insert(okm.end(), previous.begin(), previous.end());
  }
  okm.resize(length);
  return okm;
}

Error PublicKeyOf(const Bytes& private_key, Bytes* public_key) {
  if (sodium_init() < 0 || private_key.size() != 32) return Error::kInvalidArgument;
  Bytes pub(32);
  crypto_scalarmult_base(pub.data(), private_key.data());
  *public_key = pub;
  return Error::kOk;
}

Error SessionKeyV1(const Bytes& own_private, const Bytes& peer_public,
                   Bytes* session_key) {
  if (sodium_init() < 0 || own_private.size() != 32 || peer_public.size() != 32) {
    return Error::kInvalidArgument;
  }
  Bytes shared(32);
  if (crypto_scalarmult(shared.data(), own_private.data(), peer_public.data()) != 0) {
    return Error::kLowOrderPoint;
  }
  *session_key = HkdfSha256(Label(), shared, Label(), 32);
  return Error::kOk;
}

Bytes SealAnyPlaintext(const Bytes& key, uint64_t counter, const Bytes& plaintext, Profile profile) {
  Bytes sealed(plaintext.size() + 16);
  unsigned long long sealed_length = 0;
  crypto_aead_chacha20poly1305_ietf_encrypt(
      sealed.data(), &sealed_length, plaintext.data(), plaintext.size(),
      nullptr, 0, nullptr, Nonce(counter, profile).data(), key.data());
  Bytes out;
  AppendBigEndian(out, sealed.size(), 2);
  out.insert(out.end(), sealed.begin(), sealed.end());
  return out;
}

Error SealFrame(const Bytes& key, uint64_t counter, uint8_t type,
                const Bytes& payload, Bytes* wire, Profile profile) {
  if (type < 1 || type > 4) return Error::kInvalidArgument;
  if (payload.size() > 16384) return Error::kFrameTooLarge;
  Bytes plaintext = {type};
  plaintext.insert(plaintext.end(), payload.begin(), payload.end());
  if (counter > LastCounter(profile)) return Error::kCounterExhausted;
  *wire = SealAnyPlaintext(key, counter, plaintext, profile);
  return Error::kOk;
}

Error OpenFrame(const Bytes& key, uint64_t counter, const Bytes& wire,
                Frame* out, Profile profile) {
  if (wire.size() < 2) return Error::kTooShort;
  const size_t length = ReadBigEndian(wire, 0, 2);
  if (length > 16401) return Error::kFrameTooLarge;
  if (length < 16) return Error::kBadLength;
  if (wire.size() < 2 + length) return Error::kTooShort;
  if (wire.size() > 2 + length) return Error::kTrailingBytes;
  if (counter > LastCounter(profile)) return Error::kCounterExhausted;
  Bytes plaintext(length - 16);
  unsigned long long plaintext_length = 0;
  if (crypto_aead_chacha20poly1305_ietf_decrypt(
          plaintext.data(), &plaintext_length, nullptr, wire.data() + 2,
          length, nullptr, 0, Nonce(counter, profile).data(), key.data()) != 0) {
    return Error::kAuthFailed;
  }
  if (plaintext.empty()) return Error::kEmptyPlaintext;
  if (plaintext[0] < 1 || plaintext[0] > 4) return Error::kUnknownFrameType;
  out->type = plaintext[0];
  out->payload.assign(plaintext.begin() + 1, plaintext.end());
  return Error::kOk;
}

StreamResult DecodeStream(const Bytes& key, uint64_t first_counter,
                          const Bytes& wire, Profile profile) {
  StreamResult result;
  uint64_t counter = first_counter;
  bool exhausted = first_counter > LastCounter(profile);
  size_t at = 0;
  while (at < wire.size()) {
    if (wire.size() - at < 2) {
      result.error = Error::kTooShort;
      return result;
    }
    const size_t length = ReadBigEndian(wire, at, 2);
    if (length > 16401) {
      result.error = Error::kFrameTooLarge;
      return result;
    }
    if (length < 16) {
      result.error = Error::kBadLength;
      return result;
    }
    if (exhausted) {
      result.error = Error::kCounterExhausted;
      return result;
    }
    if (wire.size() - at - 2 < length) {
      result.error = Error::kTooShort;
      return result;
    }
    const Bytes one(wire.begin() + at, wire.begin() + at + 2 + length);
    Frame frame;
    result.error = OpenFrame(key, counter, one, &frame, profile);
    if (result.error != Error::kOk) return result;
    result.frames.push_back(frame);
    if (counter == LastCounter(profile)) {
      exhausted = true;
    } else {
      ++counter;
    }
    at += 2 + length;
  }
  return result;
}

namespace {

// Sections 6 and 15.2's address: the type, then 4 bytes, 16 bytes, or a
// domain's length byte and the domain. False for a length the type
// does not have.
bool AppendAddress(Bytes& out, AddressType type, uint8_t length, const uint8_t* bytes) {
  out.push_back(static_cast<uint8_t>(type));
  switch (type) {
    case AddressType::kIpv4:
      if (length != 4) return false;
      break;
    case AddressType::kIpv6:
      if (length != 16) return false;
      break;
    case AddressType::kDomain:
      if (length == 0) return false;
      out.push_back(length);
      break;
    default:
      return false;
  }
  Append(out, bytes, length);
  return true;
}

// The same read back: the type at in[type_at]; where the address bytes
// start and how many there are.
Error ReadAddressExtent(const Bytes& in, size_t type_at, size_t* at, size_t* length) {
  *at = type_at + 1;
  switch (in[type_at]) {
    case 1:
      *length = 4;
      return Error::kOk;
    case 4:
      *length = 16;
      return Error::kOk;
    case 3:
      if (in.size() < type_at + 2) return Error::kTooShort;
      *length = in[type_at + 1];
      if (*length == 0) return Error::kBadDomainLength;
      *at = type_at + 2;
      return Error::kOk;
    default:
      return Error::kBadAddressType;
  }
}

}  // namespace

Bytes EncodeRequestHeader(const RequestHeader& h) {
  Bytes out = {h.command};
  AppendBigEndian(out, h.port, 2);
  if (!AppendAddress(out, h.address_type, h.address_length, h.address.data())) return {};
  return out;
}

Error DecodeRequestHeader(const Bytes& in, RequestHeader* out,
                          size_t* header_bytes) {
  if (in.size() < 4) return Error::kTooShort;
  RequestHeader h;
  h.command = in[0];
  h.port = static_cast<uint16_t>(ReadBigEndian(in, 1, 2));
  size_t at = 0, length = 0;
  if (const Error e = ReadAddressExtent(in, 3, &at, &length); e != Error::kOk) return e;
  if (in.size() < at + length) return Error::kTooShort;
  h.address_type = static_cast<AddressType>(in[3]);
  h.address_length = static_cast<uint8_t>(length);
  std::copy(in.begin() + at, in.begin() + at + length, h.address.begin());
  *out = h;
  *header_bytes = at + length;
  return Error::kOk;
}

// Section 15.2: ATYP, the address (a domain with its length byte first),
// the port, the datagram.
Bytes EncodeDatagram(const DatagramAddress& a, const Bytes& data) {
  Bytes out;
  if (!AppendAddress(out, a.type, a.length, a.bytes.data())) return {};
  AppendBigEndian(out, a.port, 2);
  Append(out, data.data(), data.size());
  if (out.size() > 16384) return {};
  return out;
}

Error DecodeDatagram(const Bytes& in, DatagramAddress* address, Bytes* data) {
  if (in.size() > 16384) return Error::kFrameTooLarge;
  if (in.empty()) return Error::kTooShort;
  size_t at = 0, length = 0;
  if (const Error e = ReadAddressExtent(in, 0, &at, &length); e != Error::kOk) return e;
  if (in.size() < at + length + 2) return Error::kTooShort;
  DatagramAddress a;
  a.type = static_cast<AddressType>(in[0]);
  a.length = static_cast<uint8_t>(length);
  std::copy(in.begin() + at, in.begin() + at + length, a.bytes.begin());
  a.port = static_cast<uint16_t>(ReadBigEndian(in, at + length, 2));
  *address = a;
  *data = Bytes(in.begin() + at + length + 2, in.end());
  return Error::kOk;
}

// --- Profile v2.

namespace {

Bytes Cat(const Bytes& a, const Bytes& b) {
  Bytes out = a;
  out.insert(out.end(), b.begin(), b.end());
  return out;
}

Bytes Ascii(const std::string& s) { return Bytes(s.begin(), s.end()); }

// Noise's HKDF: 2 or 3 outputs of HMAC-SHA256 chained from ck and the input.
std::vector<Bytes> NoiseHkdf(const Bytes& ck, const Bytes& ikm, int outputs) {
  const Bytes temp = HmacSha256(ck, ikm);
  std::vector<Bytes> out = {HmacSha256(temp, {0x01})};
  out.push_back(HmacSha256(temp, Cat(out[0], {0x02})));
  if (outputs == 3) out.push_back(HmacSha256(temp, Cat(out[1], {0x03})));
  return out;
}

void MixHash(StateV2& s, const Bytes& data) { s.h = Sha256(Cat(s.h, data)); }

void MixKey(StateV2& s, const Bytes& ikm) {
  const auto out = NoiseHkdf(s.ck, ikm, 2);
  s.ck = out[0];
  s.k = out[1];
  s.n = 0;
}

// ENCRYPT(k, n, ad = h, plaintext), then h = HASH(h || ciphertext).
Bytes EncryptAndHash(StateV2& s, const Bytes& plaintext) {
  Bytes ct(plaintext.size() + 16);
  unsigned long long n = 0;
  crypto_aead_chacha20poly1305_ietf_encrypt(ct.data(), &n, plaintext.data(), plaintext.size(),
                                            s.h.data(), s.h.size(), nullptr,
                                            NoiseNonce(s.n).data(), s.k.data());
  ++s.n;
  MixHash(s, ct);
  return ct;
}

Error DecryptAndHash(StateV2& s, const Bytes& ct, Bytes* plaintext) {
  if (ct.size() < 16) return Error::kTooShort;
  Bytes pt(ct.size() - 16);
  unsigned long long n = 0;
  if (crypto_aead_chacha20poly1305_ietf_decrypt(pt.data(), &n, nullptr, ct.data(), ct.size(),
                                                s.h.data(), s.h.size(),
                                                NoiseNonce(s.n).data(),
                                                s.k.data()) != 0) {
    return Error::kAuthFailed;
  }
  ++s.n;
  MixHash(s, ct);
  *plaintext = pt;
  return Error::kOk;
}

// InitializeSymmetric, MixHash(prologue), then the psk token.
StateV2 Start(const Bytes& user_id) {
  StateV2 s;
  s.h = Sha256(Ascii("Noise_NNpsk0_25519_ChaChaPoly_SHA256"));  // 37 bytes > 32: hashed
  s.ck = s.h;
  MixHash(s, Ascii("reflex/2"));
  const auto out = NoiseHkdf(s.ck, PskV2(user_id), 3);  // MixKeyAndHash(psk)
  s.ck = out[0];
  MixHash(s, out[1]);
  s.k = out[2];
  s.n = 0;
  return s;
}

// The e token in a PSK handshake: MixHash(e) then MixKey(e).
void MixEphemeral(StateV2& s, const Bytes& e) {
  MixHash(s, e);
  MixKey(s, e);
}

Error Dh(const Bytes& priv, const Bytes& pub, Bytes* out) {
  Bytes shared(32);
  if (crypto_scalarmult(shared.data(), priv.data(), pub.data()) != 0) return Error::kLowOrderPoint;
  *out = shared;
  return Error::kOk;
}

void Split(const StateV2& s, Bytes* c2s, Bytes* s2c) {
  const auto out = NoiseHkdf(s.ck, {}, 2);
  *c2s = out[0];
  *s2c = out[1];
}

}  // namespace

Bytes Sha256(const Bytes& data) {
  Bytes out(32);
  crypto_hash_sha256(out.data(), data.data(), data.size());
  return out;
}

Bytes PskV2(const Bytes& user_id) { return HkdfSha256(Ascii("reflex/2 psk"), user_id, {}, 32); }

namespace {

Error WriteClientHello(const Bytes& user_id, const Bytes& client_private,
                       const Bytes& client_public, int64_t timestamp, const Bytes& nonce,
                       const Bytes& reserved, Bytes* hello, StateV2* client) {
  if (sodium_init() < 0 || user_id.size() != 16 || client_public.size() != 32 ||
      nonce.size() != 16 || reserved.size() != 4) {
    return Error::kInvalidArgument;
  }
  StateV2 s = Start(user_id);
  s.e_private = client_private;
  s.e_public = client_public;
  MixEphemeral(s, s.e_public);
  Bytes payload;
  AppendBigEndian(payload, static_cast<uint64_t>(timestamp), 8);
  payload.insert(payload.end(), nonce.begin(), nonce.end());
  payload.insert(payload.end(), reserved.begin(), reserved.end());
  *hello = Cat(s.e_public, EncryptAndHash(s, payload));
  *client = s;
  return Error::kOk;
}

}  // namespace

Error WriteClientHelloV2(const Bytes& user_id, const Bytes& client_private, int64_t timestamp,
                    const Bytes& nonce, const Bytes& reserved, Bytes* hello, StateV2* client) {
  Bytes client_public;
  if (const Error e = PublicKeyOf(client_private, &client_public); e != Error::kOk) return e;
  return WriteClientHello(user_id, client_private, client_public, timestamp, nonce, reserved, hello,
                          client);
}

Error WriteClientHelloWithPublicV2(const Bytes& user_id, const Bytes& client_public, int64_t timestamp,
                              const Bytes& nonce, const Bytes& reserved, Bytes* hello) {
  StateV2 unused;
  return WriteClientHello(user_id, Bytes(32, 0), client_public, timestamp, nonce, reserved, hello,
                          &unused);
}

Error ReadClientHelloV2(const std::vector<Bytes>& user_ids, const Bytes& hello, size_t* user,
                        int64_t* timestamp, Bytes* nonce, StateV2* server) {
  if (hello.size() < 76) return Error::kTooShort;
  if (hello.size() > 76) return Error::kTrailingBytes;
  const Bytes e(hello.begin(), hello.begin() + 32);
  const Bytes ct(hello.begin() + 32, hello.end());
  for (size_t u = 0; u < user_ids.size(); ++u) {
    StateV2 s = Start(user_ids[u]);
    s.re = e;
    MixEphemeral(s, e);
    Bytes payload;
    if (DecryptAndHash(s, ct, &payload) != Error::kOk) continue;
    if (payload[24] != 0 || payload[25] != 0 || payload[26] != 0 || payload[27] != 0) {
      return Error::kBadReserved;
    }
    *user = u;
    *timestamp = static_cast<int64_t>(ReadBigEndian(payload, 0, 8));
    *nonce = Bytes(payload.begin() + 8, payload.begin() + 24);
    *server = s;
    return Error::kOk;
  }
  return Error::kAuthFailed;
}

Error WriteServerHelloV2(StateV2& server, const Bytes& server_private, Bytes* reply, Bytes* c2s,
                    Bytes* s2c, Bytes* handshake_hash) {
  StateV2 s = server;
  s.e_private = server_private;
  s.e_public = Bytes(32);
  crypto_scalarmult_base(s.e_public.data(), server_private.data());
  MixEphemeral(s, s.e_public);
  Bytes dh;
  if (const Error e = Dh(s.e_private, s.re, &dh); e != Error::kOk) return e;  // ee
  MixKey(s, dh);
  *reply = Cat(s.e_public, EncryptAndHash(s, {}));
  Split(s, c2s, s2c);
  *handshake_hash = s.h;
  server = s;
  return Error::kOk;
}

Error ReadServerHelloV2(StateV2& client, const Bytes& reply, Bytes* c2s, Bytes* s2c,
                        Bytes* handshake_hash) {
  if (reply.size() < 48) return Error::kTooShort;
  if (reply.size() > 48) return Error::kTrailingBytes;
  StateV2 s = client;
  s.re = Bytes(reply.begin(), reply.begin() + 32);
  MixEphemeral(s, s.re);
  Bytes dh;
  if (const Error e = Dh(s.e_private, s.re, &dh); e != Error::kOk) return e;  // ee
  MixKey(s, dh);
  Bytes empty;
  if (const Error e = DecryptAndHash(s, Bytes(reply.begin() + 32, reply.end()), &empty);
      e != Error::kOk) {
    return e;
  }
  Split(s, c2s, s2c);
  *handshake_hash = s.h;
  client = s;
  return Error::kOk;
}

// --- First-flight shapes.

namespace {

const char kBase64UrlDigits[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

std::string Base64Url(const Bytes& in) {
  std::string out;
  uint32_t bits = 0;
  int held = 0;
  for (const uint8_t b : in) {
    bits = (bits << 8) | b;
    held += 8;
    while (held >= 6) {
      held -= 6;
      out += kBase64UrlDigits[(bits >> held) & 63];
    }
  }
  if (held > 0) out += kBase64UrlDigits[(bits << (6 - held)) & 63];
  return out;
}

// Decodes digits; false on a foreign digit. (Canonical spelling is checked
// by the caller, which encodes the result again and compares.)
bool FromBase64Url(const std::string& in, Bytes* out) {
  out->clear();
  uint32_t bits = 0;
  int held = 0;
  for (const char c : in) {
    const char* at = std::strchr(kBase64UrlDigits, c);
    if (c == '\0' || at == nullptr) return false;
    bits = (bits << 6) | static_cast<uint32_t>(at - kBase64UrlDigits);
    held += 6;
    if (held >= 8) {
      held -= 8;
      out->push_back(static_cast<uint8_t>(bits >> held));
    }
  }
  return true;
}

bool AllOf(const std::string& s, const char* extra) {
  for (const char c : s) {
    const bool ascii_alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    if (!ascii_alnum && (c == '\0' || std::strchr(extra, c) == nullptr)) return false;
  }
  return true;
}

bool ShapeParamsOk(int shape, const std::string& host, const std::string& path) {
  if (shape == 0) return true;
  if (host.empty() || host.size() > 253 || !AllOf(host, "-.")) return false;
  if (shape == 1 && (path.empty() || path.size() > 64 || path[0] != '/' || !AllOf(path, "-._~/"))) return false;
  return shape == 1 || shape == 2;
}

void PutU16(Bytes& b, size_t v) {
  b.push_back(static_cast<uint8_t>(v >> 8));
  b.push_back(static_cast<uint8_t>(v));
}

void Append(Bytes& b, const Bytes& more) { b.insert(b.end(), more.begin(), more.end()); }

// The tls shape: the ClientHello's fields in order, then its two headers.
Bytes TlsShape(const std::string& host, const Bytes& m, const Bytes& filler) {
  Bytes extensions;
  PutU16(extensions, 0x0000);  // server_name
  PutU16(extensions, host.size() + 5);
  PutU16(extensions, host.size() + 3);
  extensions.push_back(0x00);  // host_name
  PutU16(extensions, host.size());
  extensions.insert(extensions.end(), host.begin(), host.end());
  Append(extensions, {0x00, 0x0a, 0x00, 0x04, 0x00, 0x02, 0x00, 0x1d});  // supported_groups: x25519
  Append(extensions, {0x00, 0x0d, 0x00, 0x08, 0x00, 0x06, 0x04, 0x03, 0x08, 0x04, 0x04, 0x01});
  Append(extensions, {0x00, 0x2b, 0x00, 0x03, 0x02, 0x03, 0x04});  // supported_versions: TLS 1.3
  Append(extensions, {0x00, 0x33, 0x00, 0x26, 0x00, 0x24, 0x00, 0x1d, 0x00, 0x20});  // key_share
  extensions.insert(extensions.end(), m.begin(), m.begin() + 32);
  Bytes body = {0x03, 0x03};
  body.insert(body.end(), m.begin() + 32, m.begin() + 64);  // random
  body.push_back(32);                                       // session id
  body.insert(body.end(), m.begin() + 64, m.end());
  Append(body, filler);
  Append(body, {0x00, 0x06, 0x13, 0x01, 0x13, 0x02, 0x13, 0x03, 0x01, 0x00});
  PutU16(body, extensions.size());
  Append(body, extensions);
  Bytes handshake = {0x01, static_cast<uint8_t>(body.size() >> 16), static_cast<uint8_t>(body.size() >> 8),
                     static_cast<uint8_t>(body.size())};
  Append(handshake, body);
  Bytes record = {0x16, 0x03, 0x01};
  PutU16(record, handshake.size());
  Append(record, handshake);
  return record;
}

}  // namespace

Bytes ShapeFirstFlight(int shape, const std::string& host, const std::string& path, const Bytes& message1,
                       const Bytes& filler) {
  if (message1.size() != 76 || !ShapeParamsOk(shape, host, path)) return {};
  if (shape == 0) return message1;
  if (shape == 1) {
    const std::string head =
        "GET " + path + Base64Url(message1) + " HTTP/1.1\r\nHost: " + host + "\r\nAccept: */*\r\n\r\n";
    return Bytes(head.begin(), head.end());
  }
  if (filler.size() != 20) return {};
  return TlsShape(host, message1, filler);
}

Error UnshapeFirstFlight(int shape, const std::string& host, const std::string& path, const Bytes& in,
                         Bytes* message1) {
  if (!ShapeParamsOk(shape, host, path)) return Error::kInvalidArgument;
  const size_t size = ShapeFirstFlight(shape, host, path, Bytes(76, 0), Bytes(20, 0)).size();
  if (in.size() < size) return Error::kTooShort;
  if (in.size() > size) return Error::kTrailingBytes;
  Bytes m;
  Bytes filler;
  if (shape == 0) {
    m = in;
  } else if (shape == 1) {
    const size_t at = 4 + path.size();
    if (!FromBase64Url(std::string(in.begin() + static_cast<ptrdiff_t>(at), in.begin() + static_cast<ptrdiff_t>(at + 102)), &m) ||
        m.size() != 76) {
      return Error::kBadShape;
    }
  } else {
    // Where the text puts what the flight carries: key share last, random
    // at 11, session id at 44.
    m.assign(in.end() - 32, in.end());
    m.insert(m.end(), in.begin() + 11, in.begin() + 43);
    m.insert(m.end(), in.begin() + 44, in.begin() + 56);
    filler.assign(in.begin() + 56, in.begin() + 76);
  }
  if (ShapeFirstFlight(shape, host, path, m, filler) != in) return Error::kBadShape;
  *message1 = m;
  return Error::kOk;
}

Bytes TlsFillerV2(const Bytes& user_id, const Bytes& message1) {
  const std::string salt = "reflex/2 tls filler";
  const Bytes key = HkdfSha256(Bytes(salt.begin(), salt.end()), PskV2(user_id), {}, 32);
  Bytes mac(crypto_auth_hmacsha256_BYTES);
  crypto_auth_hmacsha256(mac.data(), message1.data(), message1.size(), key.data());
  mac.resize(20);
  return mac;
}

}  // namespace reflex::reference
