#include "proxy/probe/reflex_peer.h"

#include <thread>

#include "reflex/wire.h"

namespace reflex::proxy::probe {

namespace {

using Clock_ = std::chrono::steady_clock;

std::chrono::milliseconds Left(Clock_::time_point until) {
  return std::max(std::chrono::milliseconds(0),
                  std::chrono::duration_cast<std::chrono::milliseconds>(until - Clock_::now()));
}

// Records one event of either session into a Received.
void Note(const SessionEvent& e, Received* r) {
  switch (e.kind) {
    case SessionEventKind::kData:
      r->payloads.emplace_back(e.data.begin(), e.data.end());
      r->data.insert(r->data.end(), e.data.begin(), e.data.end());
      break;
    case SessionEventKind::kRequest:
      r->data.insert(r->data.end(), e.data.begin(), e.data.end());
      break;
    case SessionEventKind::kTargetConnected:
      r->connected = true;
      break;
    case SessionEventKind::kPeerClosed:
      r->peer_closed = true;
      r->close_code = e.close_code;
      break;
    case SessionEventKind::kError:
      r->error = e.reason;
      break;
    default:
      break;
  }
}

}  // namespace

ClientPeer::ClientPeer(const HostPort& server, Profile profile, const UserId& user,
                       int64_t skew_seconds, const FirstFlight& first_flight)
    : clock_(skew_seconds), socket_(server) {
  ClientConfig config;
  config.profile = profile;
  config.user = user;
  config.first_flight = first_flight;
  session_.emplace(config, clock_, random_);
  if (session_->Start() == Error::kOk) {
    const auto hello = session_->PendingOutput();
    hello_.assign(hello.begin(), hello.end());
    session_->ConsumeOutput(hello.size());
  }
}

Verdict ClientPeer::Handshake(const std::vector<size_t>& pieces) {
  if (!socket_.connected()) return Verdict::Fail("cannot connect to the server");
  std::vector<size_t> sizes = pieces.empty() ? std::vector<size_t>{hello_.size()} : pieces;
  size_t at = 0;
  for (size_t i = 0; i < sizes.size(); ++i) {
    if (!socket_.Send(std::span<const uint8_t>(hello_).subspan(at, sizes[i]))) {
      return Verdict::Fail("the server closed during the hello");
    }
    at += sizes[i];
    if (i + 1 < sizes.size()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  const auto until = Clock_::now() + kReadTimeout;
  while (!session_->established()) {
    Received r;
    if (!Feed(&r)) return Verdict::Fail("the server hello was refused: " + std::string(ErrorName(r.error)));
    if (session_->established()) break;
    bool ended = false;
    const Bytes part = socket_.ReadSome(65536, Left(until), &ended);
    if (ended) return Verdict::Fail("the server closed instead of answering the hello");
    if (part.empty()) return Verdict::Fail("no server hello within 5 s");
    buffer_.insert(buffer_.end(), part.begin(), part.end());
    raw_.insert(raw_.end(), part.begin(), part.end());
  }
  return Verdict::Pass();
}

Verdict ClientPeer::Request(const RequestHeader& request, std::span<const uint8_t> data) {
  Bytes frame(kMaxFrameBytes);
  size_t n = 0;
  if (const Error e = session_->SealRequest(request, data, frame, &n); e != Error::kOk) {
    return Verdict::Fail("sealing the request: " + std::string(ErrorName(e)));
  }
  if (!socket_.Send(std::span<const uint8_t>(frame).first(n))) return Verdict::Fail("the server closed before the request");
  return Verdict::Pass();
}

Verdict ClientPeer::AwaitConnected() {
  Received r = Read(0, false);
  // Data may follow the connect result in the same read (an echo of the
  // request frame's data): the next Read returns it.
  carry_ = std::move(r.data);
  if (r.connected) return Verdict::Pass();
  if (r.peer_closed) return Verdict::Fail("the server could not reach the target (CLOSE code " + std::to_string(r.close_code) + ")");
  if (r.error != Error::kOk) return Verdict::Fail("the connect result did not open: " + std::string(ErrorName(r.error)));
  if (r.ended) return Verdict::Fail("the server closed instead of sending a connect result");
  return Verdict::Fail("no connect result within 5 s");
}

Bytes ClientPeer::Seal(FrameType type, std::span<const uint8_t> payload) {
  Bytes frame(kMaxFrameBytes);
  size_t n = 0;
  if (session_->Seal(type, payload, frame, &n) != Error::kOk) return {};
  frame.resize(n);
  return frame;
}

Bytes ClientPeer::SealClose() {
  Bytes frame(kMaxFrameBytes);
  size_t n = 0;
  if (session_->SealClose(frame, &n) != Error::kOk) return {};
  frame.resize(n);
  return frame;
}

bool ClientPeer::SendData(std::span<const uint8_t> data) {
  do {
    const size_t n = std::min(data.size(), kMaxPayloadBytes);
    const Bytes frame = Seal(FrameType::kData, data.first(n));
    if (frame.empty() || !socket_.Send(frame)) return false;
    data = data.subspan(n);
  } while (!data.empty());
  return true;
}

bool ClientPeer::Feed(Received* r) {
  size_t at = 0;
  bool ok = true;
  while (true) {
    size_t used = 0;
    SessionEvent e;
    if (session_->Receive(std::span<uint8_t>(buffer_).subspan(at), &used, &e) != Error::kOk) {
      ok = false;  // finished by an earlier error
      break;
    }
    at += used;
    Note(e, r);
    if (e.kind == SessionEventKind::kError) {
      ok = false;
      break;
    }
    if (e.kind == SessionEventKind::kNone && used == 0) break;
  }
  buffer_.erase(buffer_.begin(), buffer_.begin() + static_cast<ptrdiff_t>(at));
  return ok;
}

Received ClientPeer::Read(size_t data_bytes, bool until_close, std::chrono::milliseconds timeout) {
  return ReadUntil(
      [&](const Received& r) {
        if (until_close) return r.peer_closed;
        // With no data wanted: the connect result (or a CLOSE instead).
        return r.data.size() >= data_bytes && (data_bytes > 0 || r.connected || r.peer_closed);
      },
      timeout);
}

Received ClientPeer::ReadFrames(size_t frames, std::chrono::milliseconds timeout) {
  return ReadUntil([&](const Received& r) { return r.payloads.size() >= frames || r.peer_closed; }, timeout);
}

Received ClientPeer::ReadUntil(const std::function<bool(const Received&)>& done, std::chrono::milliseconds timeout) {
  Received r;
  r.data = std::move(carry_);
  carry_.clear();
  const auto until = Clock_::now() + timeout;
  while (true) {
    if (!Feed(&r) || done(r) || r.ended) return r;
    bool ended = false;
    const Bytes part = socket_.ReadSome(65536, Left(until), &ended);
    if (ended) r.ended = true;
    if (part.empty() && !ended) return r;  // the time passed
    buffer_.insert(buffer_.end(), part.begin(), part.end());
    raw_.insert(raw_.end(), part.begin(), part.end());
  }
}

ServerPeer::ServerPeer(BlockingSocket socket, Profile profile, const UserId& user,
                       const FirstFlight& first_flight)
    : socket_(std::move(socket)),
      hello_bytes_(profile == Profile::kV1Compat ? kClientHelloBytesV1 : FirstFlightBytes(first_flight)) {
  ServerConfig config;
  config.profiles = {profile};
  config.users = {user};
  config.first_flight = first_flight;
  config.replay_capacity = 4096;
  if (ServerContext::Create(config, &context_) == Error::kOk) {
    session_.emplace(*context_, clock_, random_);
  }
}

bool ServerPeer::Feed(Received* r, RequestHeader* request, bool* got_request) {
  size_t at = 0;
  bool ok = true;
  while (true) {
    size_t used = 0;
    SessionEvent e;
    if (session_->Receive(std::span<uint8_t>(buffer_).subspan(at), &used, &e) != Error::kOk) break;
    at += used;
    if (e.kind == SessionEventKind::kHandshakeDone) {
      const auto reply = session_->PendingOutput();
      if (!socket_.Send(reply)) ok = false;
      session_->ConsumeOutput(reply.size());
    }
    if (e.kind == SessionEventKind::kRequest && request != nullptr) {
      *request = e.request;
      *got_request = true;
      Note(e, r);
      break;  // what follows the request is for the next Read
    }
    if (e.kind == SessionEventKind::kFallback) {
      r->error = e.reason;
      ok = false;
      break;
    }
    Note(e, r);
    if (e.kind == SessionEventKind::kError) {
      ok = false;
      break;
    }
    if (e.kind == SessionEventKind::kNone && used == 0) break;
  }
  buffer_.erase(buffer_.begin(), buffer_.begin() + static_cast<ptrdiff_t>(at));
  return ok;
}

Verdict ServerPeer::Handshake() {
  if (!session_) return Verdict::Fail("bad probe configuration");
  const auto until = Clock_::now() + kReadTimeout;
  Received r;
  bool first = true;
  while (!session_->established()) {
    bool ended = false;
    const Bytes part = socket_.ReadSome(hello_bytes_ - std::min(hello_bytes_, buffer_.size()),
                                        Left(until), &ended);
    if (ended) return Verdict::Fail("the client closed before its hello was whole");
    if (part.empty()) return Verdict::Fail("no whole client hello within 5 s");
    // A server judges the first flight (SPEC 12.1): a hello in pieces is
    // not one.
    if (first && part.size() < hello_bytes_) {
      return Verdict::Fail("the hello came in pieces (the first read had " + std::to_string(part.size()) +
                           " bytes): a client must write its hello whole");
    }
    first = false;
    buffer_.insert(buffer_.end(), part.begin(), part.end());
    hello_.insert(hello_.end(), part.begin(), part.end());
    if (!Feed(&r, nullptr, nullptr)) return Verdict::Fail("refused: " + std::string(ErrorName(r.error)));
  }
  return Verdict::Pass();
}

Verdict ServerPeer::AwaitRequest(RequestHeader* request, Bytes* data) {
  const auto until = Clock_::now() + kReadTimeout;
  Received r;
  bool got = false;
  while (true) {
    if (!Feed(&r, request, &got)) return Verdict::Fail("the request did not open: " + std::string(ErrorName(r.error)));
    if (got) {
      *data = r.data;
      return Verdict::Pass();
    }
    bool ended = false;
    const Bytes part = socket_.ReadSome(65536, Left(until), &ended);
    if (ended) return Verdict::Fail("the client closed before its request");
    if (part.empty()) return Verdict::Fail("no request within 5 s");
    buffer_.insert(buffer_.end(), part.begin(), part.end());
  }
}

Bytes ServerPeer::Seal(FrameType type, std::span<const uint8_t> payload) {
  Bytes frame(kMaxFrameBytes);
  size_t n = 0;
  if (session_->Seal(type, payload, frame, &n) != Error::kOk) return {};
  frame.resize(n);
  return frame;
}

Bytes ServerPeer::SealConnectResult(uint8_t code) {
  Bytes frame(kFrameOverheadBytes + 1);
  size_t n = 0;
  if (session_->SealConnectResult(code, frame, &n) != Error::kOk) return {};
  frame.resize(n);
  return frame;
}

Bytes ServerPeer::SealClose() {
  Bytes frame(kFrameOverheadBytes + 1);
  size_t n = 0;
  if (session_->SealClose(frame, &n) != Error::kOk) return {};
  frame.resize(n);
  return frame;
}

Received ServerPeer::Read(size_t data_bytes, bool until_close, std::chrono::milliseconds timeout) {
  return ReadUntil([&](const Received& r) { return until_close ? r.peer_closed : r.data.size() >= data_bytes; },
                   timeout);
}

Received ServerPeer::ReadFrames(size_t frames, std::chrono::milliseconds timeout) {
  return ReadUntil([&](const Received& r) { return r.payloads.size() >= frames || r.peer_closed; }, timeout);
}

Received ServerPeer::ReadUntil(const std::function<bool(const Received&)>& done, std::chrono::milliseconds timeout) {
  Received r;
  const auto until = Clock_::now() + timeout;
  while (true) {
    if (!Feed(&r, nullptr, nullptr)) return r;
    if (done(r)) return r;
    if (r.ended) return r;
    bool ended = false;
    const Bytes part = socket_.ReadSome(65536, Left(until), &ended);
    if (ended) r.ended = true;
    if (part.empty() && !ended) return r;
    buffer_.insert(buffer_.end(), part.begin(), part.end());
  }
}

}  // namespace reflex::proxy::probe
