#include "reflex/reference_model.h"

#include <sodium.h>

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

Bytes Nonce(uint64_t counter) {
  Bytes nonce(12, 0);
  for (int i = 0; i < 8; ++i) nonce[i] = static_cast<uint8_t>(counter >> (8 * i));
  return nonce;
}

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

Bytes SealAnyPlaintext(const Bytes& key, uint64_t counter, const Bytes& plaintext) {
  Bytes sealed(plaintext.size() + 16);
  unsigned long long sealed_length = 0;
  crypto_aead_chacha20poly1305_ietf_encrypt(
      sealed.data(), &sealed_length, plaintext.data(), plaintext.size(),
      nullptr, 0, nullptr, Nonce(counter).data(), key.data());
  Bytes out;
  AppendBigEndian(out, sealed.size(), 2);
  out.insert(out.end(), sealed.begin(), sealed.end());
  return out;
}

Error SealFrame(const Bytes& key, uint64_t counter, uint8_t type,
                const Bytes& payload, Bytes* wire) {
  if (type < 1 || type > 4) return Error::kInvalidArgument;
  if (payload.size() > 16384) return Error::kFrameTooLarge;
  Bytes plaintext = {type};
  plaintext.insert(plaintext.end(), payload.begin(), payload.end());
  *wire = SealAnyPlaintext(key, counter, plaintext);
  return Error::kOk;
}

Error OpenFrame(const Bytes& key, uint64_t counter, const Bytes& wire,
                Frame* out) {
  if (wire.size() < 2) return Error::kTooShort;
  const size_t length = ReadBigEndian(wire, 0, 2);
  if (length > 16401) return Error::kFrameTooLarge;
  if (length < 16) return Error::kBadLength;
  if (wire.size() < 2 + length) return Error::kTooShort;
  if (wire.size() > 2 + length) return Error::kTrailingBytes;
  Bytes plaintext(length - 16);
  unsigned long long plaintext_length = 0;
  if (crypto_aead_chacha20poly1305_ietf_decrypt(
          plaintext.data(), &plaintext_length, nullptr, wire.data() + 2,
          length, nullptr, 0, Nonce(counter).data(), key.data()) != 0) {
    return Error::kAuthFailed;
  }
  if (plaintext.empty()) return Error::kEmptyPlaintext;
  if (plaintext[0] < 1 || plaintext[0] > 4) return Error::kUnknownFrameType;
  out->type = plaintext[0];
  out->payload.assign(plaintext.begin() + 1, plaintext.end());
  return Error::kOk;
}

StreamResult DecodeStream(const Bytes& key, uint64_t first_counter,
                          const Bytes& wire) {
  StreamResult result;
  uint64_t counter = first_counter;
  bool exhausted = false;
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
    result.error = OpenFrame(key, counter, one, &frame);
    if (result.error != Error::kOk) return result;
    result.frames.push_back(frame);
    if (counter == UINT64_MAX) {
      exhausted = true;
    } else {
      ++counter;
    }
    at += 2 + length;
  }
  return result;
}

Bytes EncodeRequestHeader(const RequestHeader& h) {
  Bytes out = {h.command};
  AppendBigEndian(out, h.port, 2);
  out.push_back(static_cast<uint8_t>(h.address_type));
  switch (h.address_type) {
    case AddressType::kIpv4:
      if (h.address_length != 4) return {};
      break;
    case AddressType::kIpv6:
      if (h.address_length != 16) return {};
      break;
    case AddressType::kDomain:
      if (h.address_length == 0) return {};
      out.push_back(h.address_length);
      break;
    default:
      return {};
  }
  Append(out, h.address.data(), h.address_length);
  return out;
}

Error DecodeRequestHeader(const Bytes& in, RequestHeader* out,
                          size_t* header_bytes) {
  if (in.size() < 4) return Error::kTooShort;
  RequestHeader h;
  h.command = in[0];
  h.port = static_cast<uint16_t>(ReadBigEndian(in, 1, 2));
  size_t at = 4;
  size_t length = 0;
  switch (in[3]) {
    case 1:
      length = 4;
      break;
    case 4:
      length = 16;
      break;
    case 3:
      if (in.size() < 5) return Error::kTooShort;
      length = in[4];
      if (length == 0) return Error::kBadDomainLength;
      at = 5;
      break;
    default:
      return Error::kBadAddressType;
  }
  if (in.size() < at + length) return Error::kTooShort;
  h.address_type = static_cast<AddressType>(in[3]);
  h.address_length = static_cast<uint8_t>(length);
  std::copy(in.begin() + at, in.begin() + at + length, h.address.begin());
  *out = h;
  *header_bytes = at + length;
  return Error::kOk;
}

}  // namespace reflex::reference
