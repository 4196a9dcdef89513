#include "reflex/server_session.h"

#include <sodium.h>

#include <algorithm>
#include <cstring>
#include <set>

#include "reflex/key_schedule.h"

namespace reflex {
namespace {

bool MagicMatches(std::span<const uint8_t> prefix) {
  return std::equal(prefix.begin(), prefix.end(), kMagic.begin());
}

// A fresh ephemeral key pair from the session's random source.
Error DrawKeyPair(RandomSource& random, KeyPair* out) {
  Secret<kPrivateKeyBytes> seed;
  random.Fill(seed.span());
  return KeyPairFromPrivate(seed.span(), out);
}

}  // namespace

Error ServerContext::Create(const ServerConfig& config, std::unique_ptr<ServerContext>* out) {
  if (config.profiles.empty() || config.users.empty() || config.timestamp_window_seconds < 1 ||
      config.hello_wait_ms < 1 || CheckFirstFlight(config.first_flight) != Error::kOk) {
    return Error::kInvalidArgument;
  }
  if (std::set<UserId>(config.users.begin(), config.users.end()).size() != config.users.size()) {
    return Error::kInvalidArgument;
  }
  if (const Error e = InitCrypto(); e != Error::kOk) return e;
  std::unique_ptr<ServerContext> context(new ServerContext(config));
  for (const UserId& user : config.users) {
    noise::HandshakeState state;
    if (const Error e = PrepareServerHandshakeV2(user, &state); e != Error::kOk) return e;
    context->prepared_v2_.push_back(state);
    noise::Psk psk;
    Secret<kTlsFillerKeyBytes> filler_key;
    if (const Error e = DeriveUserPskV2(user, &psk); e != Error::kOk) return e;
    if (const Error e = DeriveTlsFillerKey(psk.span(), filler_key.span()); e != Error::kOk) return e;
    context->tls_filler_keys_.push_back(filler_key);
  }
  context->tls_filler_keys_.emplace_back();  // no user's (all zero)
  context->replay_filter_ = std::make_shared<ReplayFilter>(
      ReplayFilter::Options{config.replay_capacity, config.timestamp_window_seconds});
  *out = std::move(context);
  return Error::kOk;
}

Error ServerContext::CreateReplacing(const ServerConfig& config, const ServerContext& previous,
                                     std::unique_ptr<ServerContext>* out) {
  if (config.timestamp_window_seconds != previous.config_.timestamp_window_seconds) {
    return Error::kInvalidArgument;
  }
  ServerConfig same_filter = config;
  same_filter.replay_capacity = previous.config_.replay_capacity;
  std::unique_ptr<ServerContext> context;
  if (const Error e = Create(same_filter, &context); e != Error::kOk) return e;
  context->replay_filter_ = previous.replay_filter_;
  *out = std::move(context);
  return Error::kOk;
}

ServerContext::ServerContext(const ServerConfig& config) : config_(config) {}

// The prepared states' PSKs and chaining keys are Secrets, which wipe
// themselves; the ids are plain arrays.
ServerContext::~ServerContext() {
  for (UserId& id : config_.users) sodium_memzero(id.data(), id.size());
}

bool ServerContext::accepts(Profile p) const {
  return std::find(config_.profiles.begin(), config_.profiles.end(), p) != config_.profiles.end();
}

// Every user is compared, each in constant time: how long the lookup takes
// does not tell which user matched, or whether one did.
std::optional<size_t> ServerContext::FindUser(const UserId& id) const {
  size_t found = SIZE_MAX;
  for (size_t i = 0; i < config_.users.size(); ++i) {
    const bool same = sodium_memcmp(config_.users[i].data(), id.data(), id.size()) == 0;
    found = same && found == SIZE_MAX ? i : found;
  }
  if (found == SIZE_MAX) return std::nullopt;
  return found;
}

ServerSession::ServerSession(const ServerContext& context, const Clock& clock,
                             RandomSource& random)
    : context_(&context),
      clock_(&clock),
      random_(&random),
      deadline_ms_(clock.MonotonicMillis() + context.config().hello_wait_ms) {}

ServerSession::~ServerSession() {
  // The hello (a v1 hello carries the user id in the clear).
  sodium_memzero(hello_.data(), hello_.size());
  sodium_memzero(output_.data(), output_.size());
  DropPending();
}

// A v1 hello carries the user id in the clear; v2's state wipes itself.
void ServerSession::DropPending() {
  if (pending_v1_) sodium_memzero(pending_v1_->user_id.data(), pending_v1_->user_id.size());
  pending_v1_.reset();
  pending_v2_.reset();
}

void ServerSession::Fallback(Error reason, SessionEvent* event) {
  state_ = State::kFinished;
  *event = SessionEvent{};
  event->kind = SessionEventKind::kFallback;
  event->reason = reason;
  event->fallback_bytes = std::span<const uint8_t>(hello_.data(), hello_have_);
}

// While the bytes so far could still begin the v1 magic.
bool ServerSession::MagicStillPossible() const {
  return MagicMatches({hello_.data(), std::min(hello_have_, kMagicBytes)});
}

bool ServerSession::LooksLikeAnotherProtocol() const {
  const std::span<const uint8_t> in(hello_.data(), hello_have_);
  // An HTTP request head: it ends with an empty line.
  static constexpr uint8_t kEmptyLine[] = {'\r', '\n', '\r', '\n'};
  if (std::search(in.begin(), in.end(), std::begin(kEmptyLine), std::end(kEmptyLine)) != in.end()) {
    return true;
  }
  // A whole TLS record: type 20..23, version 3.x, and its length is here.
  if (in.size() >= 5 && in[0] >= 20 && in[0] <= 23 && in[1] == 3) {
    const size_t record = 5 + (size_t{in[3]} << 8 | in[4]);
    return in.size() >= record;
  }
  return false;
}

Error ServerSession::Receive(std::span<uint8_t> input, size_t* consumed, SessionEvent* event) {
  if (state_ == State::kFinished || state_ == State::kAwaitingVerdict) return Error::kInvalidArgument;
  if (state_ == State::kEstablished) {
    size_t used = 0;
    SessionEvent e;
    channel_->Receive(input, &used, &e);
    if (e.kind == SessionEventKind::kError) state_ = State::kFinished;
    *consumed = used;
    *event = e;
    return Error::kOk;
  }
  // The hello: copied (the fallback may need it), never decrypted in place.
  // What it needs grows once the v1 magic is ruled out (a shaped v2 hello
  // is longer than v1's).
  SessionEvent e;
  size_t take = 0;
  while (take < input.size() && hello_have_ < HelloBytesNeeded()) {
    const size_t n = std::min(input.size() - take, HelloBytesNeeded() - hello_have_);
    std::copy(input.begin() + static_cast<ptrdiff_t>(take), input.begin() + static_cast<ptrdiff_t>(take + n),
              hello_.begin() + static_cast<ptrdiff_t>(hello_have_));
    hello_have_ += n;
    take += n;
  }
  const bool v1_only = context_->accepts(Profile::kV1Compat) && !context_->accepts(Profile::kV2);
  if (hello_have_ == HelloBytesNeeded()) {
    DecideHello(&e);
  } else if (v1_only && !MagicStillPossible()) {
    Fallback(Error::kBadMagic, &e);
  } else if (context_->config().early_fallback && LooksLikeAnotherProtocol()) {
    Fallback(Error::kTooShort, &e);
  }
  *consumed = take;
  *event = e;
  return Error::kOk;
}

Error ServerSession::OnTimer(SessionEvent* event) {
  if (state_ == State::kFinished) return Error::kInvalidArgument;
  SessionEvent e;
  if (state_ == State::kHello && clock_->MonotonicMillis() >= deadline_ms_) {
    Fallback(Error::kHandshakeTimeout, &e);
  }
  *event = e;
  return Error::kOk;
}

Error ServerSession::OnFirstFlightEnd(SessionEvent* event) {
  if (state_ == State::kFinished) return Error::kInvalidArgument;
  SessionEvent e;
  if (state_ == State::kHello && hello_have_ > 0) Fallback(Error::kTooShort, &e);
  *event = e;
  return Error::kOk;
}

Error ServerSession::OnEndOfInput(SessionEvent* event) {
  if (state_ == State::kFinished) return Error::kInvalidArgument;
  SessionEvent e;
  if (state_ == State::kHello) Fallback(Error::kTooShort, &e);
  *event = e;
  return Error::kOk;
}

size_t ServerSession::HelloBytesNeeded() const {
  if (context_->accepts(Profile::kV1Compat) && MagicStillPossible()) return kClientHelloBytesV1;
  if (!context_->accepts(Profile::kV2)) return kClientHelloBytesV1;
  return FirstFlightBytes(context_->config().first_flight);
}

void ServerSession::DecideHello(SessionEvent* event) {
  const bool v1 = context_->accepts(Profile::kV1Compat) && MagicStillPossible();
  if (!v1 && !context_->accepts(Profile::kV2)) return Fallback(Error::kBadMagic, event);
  profile_ = v1 ? Profile::kV1Compat : Profile::kV2;
  if (const Error e = v1 ? VerifyV1() : VerifyV2(); e != Error::kOk) return Fallback(e, event);
  if (!context_->config().shared_replay_check) return Complete(event);
  state_ = State::kAwaitingVerdict;
  *event = SessionEvent{};
  event->kind = SessionEventKind::kReplayQuery;
  event->replay_key = v1 ? std::span<const uint8_t>(pending_v1_->public_key)
                         : std::span<const uint8_t>(pending_v2_->state.remote_ephemeral());
  event->replay_ttl_ms = pending_ttl_ms_;
}

Error ServerSession::OnReplayVerdict(ReplayVerdict verdict, SessionEvent* event) {
  if (state_ != State::kAwaitingVerdict) return Error::kInvalidArgument;
  switch (verdict) {
    case ReplayVerdict::kFresh: Complete(event); break;
    case ReplayVerdict::kSeen:
      DropPending();
      Fallback(Error::kReplayedHello, event);
      break;
    case ReplayVerdict::kUnavailable:
      DropPending();
      Fallback(Error::kReplayStoreUnavailable, event);
      break;
  }
  return Error::kOk;
}

void ServerSession::Complete(SessionEvent* event) {
  size_t user = 0;
  const Error e = profile_ == Profile::kV1Compat ? CompleteV1(&user) : CompleteV2(&user);
  DropPending();
  if (e != Error::kOk) return Fallback(e, event);
  user_index_ = user;
  state_ = State::kEstablished;
  *event = SessionEvent{};
  event->kind = SessionEventKind::kHandshakeDone;
  event->profile = profile_;
  event->user_index = user;
}

// A replay of a hello stamped T passes the window while now <= T + window:
// the store remembers its key until then, and a second more for the
// rounding of the seconds.
// (In 128 bits: any 64-bit timestamp, clock and window, without overflow.)
int64_t ServerSession::ReplayTtlMillis(int64_t timestamp) const {
  const __int128 window = context_->config().timestamp_window_seconds;
  const __int128 left = static_cast<__int128>(timestamp) + window - clock_->UnixSeconds() + 1;
  const __int128 ms = std::clamp<__int128>(left, 1, 2 * window + 1) * 1000;
  return static_cast<int64_t>(std::min<__int128>(ms, INT64_MAX));
}

Error ServerSession::VerifyV1() {
  ClientHello hello;
  if (const Error e = DecodeClientHello(std::span<const uint8_t>(hello_.data(), hello_have_), &hello);
      e != Error::kOk) {
    return e;
  }
  const std::optional<size_t> found = context_->FindUser(hello.user_id);
  if (!found) return Error::kUnknownUser;
  const int64_t now = clock_->UnixSeconds();
  const int64_t window = context_->config().timestamp_window_seconds;
  if (!WithinWindow(hello.timestamp, now, window)) return Error::kTimestampOutOfWindow;
  // Before any key is drawn or X25519 computed: a replayed hello costs what
  // a random one does, so timing does not tell a prober it was recognized.
  if (context_->replay_filter().Check(hello.public_key, hello.timestamp, now,
                                      ReplayOwnerOf(hello.user_id)) != ReplayFilter::Verdict::kFresh) {
    return Error::kReplayedHello;
  }
  user_index_ = *found;
  pending_ttl_ms_ = ReplayTtlMillis(hello.timestamp);
  pending_v1_ = hello;
  return Error::kOk;
}

Error ServerSession::CompleteV1(size_t* user) {
  const ClientHello& hello = *pending_v1_;
  KeyPair server;
  if (const Error e = DrawKeyPair(*random_, &server); e != Error::kOk) return e;
  SessionKey key;
  if (const Error e = DeriveSessionKeyV1(server.private_key, hello.public_key, &key);
      e != Error::kOk) {
    return e;  // low_order_point
  }
  ServerHello reply;
  reply.public_key = server.public_key;
  reply.timestamp = clock_->UnixSeconds();
  if (const Error e = EncodeServerHello(reply, output_); e != Error::kOk) return e;
  output_size_ = kServerHelloBytesV1;
  // v1: one key, each direction counting from 1 (flaw 1 stays: wire-fixed).
  channel_.emplace(ChannelKeys{key, key, {kWireProfileV1, context_->config().backend}},
                   FrameChannel::Side::kServer);
  *user = user_index_;
  return Error::kOk;
}

Error ServerSession::VerifyV2() {
  const FirstFlight& shape = context_->config().first_flight;
  std::array<uint8_t, kClientHelloBytesV2> message1{};
  TlsFiller filler{};
  if (const Error e = DecodeFirstFlight(shape, std::span<const uint8_t>(hello_.data(), hello_have_), message1, &filler);
      e != Error::kOk) {
    return e;  // bad_shape
  }
  ClientHelloV2 hello;
  const Error trial = ReadClientHelloV2(context_->prepared_v2(), message1, &hello);
  // The tls shape's filler, which only the user's filler key makes (SPEC
  // 11.8). Its HMAC is computed whether or not a user was found (with a key
  // of no user's then), so a refusal by the trial costs what this one does.
  bool filler_ok = true;
  if (shape.shape == FirstFlightShape::kTls) {
    const size_t key = trial == Error::kOk ? hello.user : context_->user_count();
    const TlsFiller expected = TlsFillerOf(context_->tls_filler_key(key), message1);
    filler_ok = sodium_memcmp(expected.data(), filler.data(), filler.size()) == 0;
  }
  if (trial != Error::kOk) return trial;  // auth_failed (no user's PSK verifies), bad_reserved
  if (!filler_ok) return Error::kBadShape;
  const int64_t now = clock_->UnixSeconds();
  const int64_t window = context_->config().timestamp_window_seconds;
  if (!WithinWindow(hello.payload.timestamp, now, window)) return Error::kTimestampOutOfWindow;
  // Before any key is drawn or X25519 computed (see VerifyV1).
  if (context_->replay_filter().Check(hello.state.remote_ephemeral(), hello.payload.timestamp, now,
                                      ReplayOwnerOf(context_->config().users[hello.user])) !=
      ReplayFilter::Verdict::kFresh) {
    return Error::kReplayedHello;
  }
  pending_ttl_ms_ = ReplayTtlMillis(hello.payload.timestamp);
  pending_v2_.emplace(std::move(hello));
  return Error::kOk;
}

Error ServerSession::CompleteV2(size_t* user) {
  ClientHelloV2& hello = *pending_v2_;
  KeyPair server;
  if (const Error e = DrawKeyPair(*random_, &server); e != Error::kOk) return e;
  std::array<uint8_t, kServerHelloBytesV2> reply;
  TransportKeysV2 keys;
  if (const Error e = WriteServerHelloV2(hello.state, server, reply, &keys); e != Error::kOk) {
    return e;  // low_order_point: the client's ephemeral key
  }
  std::copy(reply.begin(), reply.end(), output_.begin());
  output_size_ = reply.size();
  channel_.emplace(ChannelKeys{keys.server_to_client, keys.client_to_server,
                               {kWireProfileV2, context_->config().backend}},
                   FrameChannel::Side::kServer);
  *user = hello.user;
  return Error::kOk;
}

std::span<const uint8_t> ServerSession::PendingOutput() const {
  return std::span<const uint8_t>(output_).subspan(output_sent_, output_size_ - output_sent_);
}

void ServerSession::ConsumeOutput(size_t n) {
  output_sent_ = std::min(output_size_, output_sent_ + n);
}

Error ServerSession::Seal(FrameType type, std::span<const uint8_t> payload,
                          std::span<uint8_t> out, size_t* written) {
  if (!channel_ || state_ == State::kFinished) return Error::kInvalidArgument;
  return channel_->Seal(type, payload, out, written);
}

Error ServerSession::SealClose(std::span<uint8_t> out, size_t* written, uint8_t code) {
  if (!channel_ || state_ == State::kFinished) return Error::kInvalidArgument;
  return channel_->SealClose(out, written, code);
}

Error ServerSession::SealConnectResult(uint8_t code, std::span<uint8_t> out, size_t* written) {
  if (!channel_ || state_ == State::kFinished) return Error::kInvalidArgument;
  return channel_->SealConnectResult(code, out, written);
}

Error ServerSession::SealShaped(Shaper& shaper, std::span<const uint8_t> data,
                                std::span<uint8_t> out, ShapedOutput* result) {
  if (!channel_ || state_ == State::kFinished) return Error::kInvalidArgument;
  return channel_->SealShaped(shaper, clock_->MonotonicMillis(), data, out, result);
}

}  // namespace reflex
