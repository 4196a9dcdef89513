#include "reflex/client_session.h"

#include <sodium.h>

#include <algorithm>

#include "reflex/hello.h"
#include "reflex/hello_v2.h"

namespace reflex {

ClientSession::ClientSession(const ClientConfig& config, const Clock& clock,
                             RandomSource& random)
    : config_(config), clock_(&clock), random_(&random) {}

size_t ClientSession::server_hello_size() const {
  return WireProfileOf(config_.profile).server_hello_bytes;
}

Error ClientSession::Start() {
  if (state_ != State::kIdle) return Error::kInvalidArgument;
  const Error e = config_.profile == Profile::kV2 ? StartV2() : StartV1();
  if (e != Error::kOk) return e;
  state_ = State::kHello;
  return Error::kOk;
}

ClientSession::~ClientSession() {
  // The hello (a v1 hello carries the user id in the clear).
  sodium_memzero(output_.data(), output_.size());
}

Error ClientSession::StartV1() {
  Secret<kPrivateKeyBytes> seed;
  random_->Fill(seed.span());
  if (const Error e = KeyPairFromPrivate(seed.span(), &ephemeral_); e != Error::kOk) return e;
  ClientHello hello;
  hello.public_key = ephemeral_.public_key;
  hello.user_id = config_.user;
  hello.timestamp = clock_->UnixSeconds();
  random_->Fill(hello.nonce);  // the Go client sends zeros; servers ignore it
  if (const Error e = EncodeClientHello(hello, std::span(output_).first<kClientHelloBytesV1>()); e != Error::kOk) {
    return e;
  }
  output_size_ = kClientHelloBytes;
  return Error::kOk;
}

Error ClientSession::StartV2() {
  // A v2 hello never begins with the v1 magic, so a server accepting both
  // profiles tells them apart by the first 4 bytes (redrawn 1 time in 2^32).
  do {
    Secret<kPrivateKeyBytes> seed;
    random_->Fill(seed.span());
    if (const Error e = KeyPairFromPrivate(seed.span(), &ephemeral_); e != Error::kOk) return e;
  } while (std::equal(kMagic.begin(), kMagic.end(), ephemeral_.public_key.begin()));
  HelloPayloadV2 fields;
  fields.timestamp = clock_->UnixSeconds();
  random_->Fill(fields.nonce);
  Secret<kClientHelloBytesV2> message1;  // (not secret, but wiped like the output)
  if (const Error e = WriteClientHelloV2(config_.user, ephemeral_, fields, message1.span(), &handshake_.emplace());
      e != Error::kOk) {
    return e;
  }
  TlsFiller filler{};
  if (config_.first_flight.shape == FirstFlightShape::kTls) {
    noise::Psk psk;
    Secret<kTlsFillerKeyBytes> filler_key;
    if (const Error e = DeriveUserPskV2(config_.user, &psk); e != Error::kOk) return e;
    if (const Error e = DeriveTlsFillerKey(psk.span(), filler_key.span()); e != Error::kOk) return e;
    filler = TlsFillerOf(filler_key.span(), message1.span());
  }
  if (const Error e = EncodeFirstFlight(config_.first_flight, message1.span(), filler, output_); e != Error::kOk) {
    return e;
  }
  output_size_ = FirstFlightBytes(config_.first_flight);
  return Error::kOk;
}

std::span<const uint8_t> ClientSession::PendingOutput() const {
  return std::span<const uint8_t>(output_).subspan(output_sent_, output_size_ - output_sent_);
}

void ClientSession::ConsumeOutput(size_t n) {
  output_sent_ = std::min(output_size_, output_sent_ + n);
}

bool ClientSession::holds_handshake_secrets() const {
  return handshake_.has_value() ||
         !sodium_is_zero(ephemeral_.private_key.data(), kPrivateKeyBytes);
}

Error ClientSession::FinishHandshake() {
  const Error e = OpenChannel();
  // Whatever the outcome, the handshake's secrets are done with: the
  // Noise state's destructor wipes its PSK, chaining key and ephemeral key.
  ephemeral_.private_key.Wipe();
  handshake_.reset();
  return e;
}

Error ClientSession::OpenChannel() {
  const std::span<const uint8_t> reply(reply_.data(), reply_have_);
  if (config_.profile == Profile::kV1Compat) {
    ServerHello hello;
    if (const Error e = DecodeServerHello(reply, &hello); e != Error::kOk) return e;
    SessionKey key;
    if (const Error e = DeriveSessionKeyV1(ephemeral_.private_key, hello.public_key, &key);
        e != Error::kOk) {
      return e;
    }
    channel_.emplace(ChannelKeys{key, key, {kWireProfileV1, config_.backend}},
                     FrameChannel::Side::kClient);
  } else {
    TransportKeysV2 keys;
    if (!handshake_) return Error::kInvalidArgument;
    if (const Error e = ReadServerHelloV2(*handshake_, reply, &keys); e != Error::kOk) return e;
    channel_.emplace(ChannelKeys{keys.client_to_server, keys.server_to_client,
                                 {kWireProfileV2, config_.backend}},
                     FrameChannel::Side::kClient);
  }
  return Error::kOk;
}

Error ClientSession::Receive(std::span<uint8_t> input, size_t* consumed, SessionEvent* event) {
  if (state_ == State::kIdle || state_ == State::kFinished) return Error::kInvalidArgument;
  if (state_ == State::kEstablished) {
    size_t used = 0;
    SessionEvent e;
    channel_->Receive(input, &used, &e);
    if (e.kind == SessionEventKind::kError) state_ = State::kFinished;
    *consumed = used;
    *event = e;
    return Error::kOk;
  }
  SessionEvent e;
  const size_t take = std::min(input.size(), server_hello_size() - reply_have_);
  std::copy(input.begin(), input.begin() + static_cast<ptrdiff_t>(take),
            reply_.begin() + static_cast<ptrdiff_t>(reply_have_));
  reply_have_ += take;
  if (reply_have_ == server_hello_size()) {
    if (const Error err = FinishHandshake(); err != Error::kOk) {
      state_ = State::kFinished;
      e.kind = SessionEventKind::kError;
      e.reason = err;
    } else {
      state_ = State::kEstablished;
      e.kind = SessionEventKind::kHandshakeDone;
      e.profile = config_.profile;
    }
  }
  *consumed = take;
  *event = e;
  return Error::kOk;
}

Error ClientSession::SealRequest(const RequestHeader& request, std::span<const uint8_t> data,
                                 std::span<uint8_t> out, size_t* written) {
  if (!channel_ || state_ == State::kFinished) return Error::kInvalidArgument;
  return channel_->SealRequest(request, data, out, written);
}

Error ClientSession::Seal(FrameType type, std::span<const uint8_t> payload,
                          std::span<uint8_t> out, size_t* written) {
  if (!channel_ || state_ == State::kFinished) return Error::kInvalidArgument;
  return channel_->Seal(type, payload, out, written);
}

Error ClientSession::SealClose(std::span<uint8_t> out, size_t* written, uint8_t code) {
  if (!channel_ || state_ == State::kFinished) return Error::kInvalidArgument;
  return channel_->SealClose(out, written, code);
}

Error ClientSession::SealShaped(Shaper& shaper, std::span<const uint8_t> data,
                                std::span<uint8_t> out, ShapedOutput* result) {
  if (!channel_ || state_ == State::kFinished) return Error::kInvalidArgument;
  return channel_->SealShaped(shaper, clock_->MonotonicMillis(), data, out, result);
}

}  // namespace reflex
