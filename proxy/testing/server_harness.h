// The server's connection handler (ServeReflexConnection) run over the
// in-memory transport, with a deterministic clock and random source, and an
// honest client to drive it: what the unit tests and the proxy fuzz target
// share. The test plays the client through a MemoryPeer and the targets
// and fallback through the MemoryDialer.
#ifndef REFLEX_PROXY_TESTING_SERVER_HARNESS_H_
#define REFLEX_PROXY_TESTING_SERVER_HARNESS_H_

#include <memory>
#include <optional>
#include <vector>

#include "pool/buffer_pool.h"
#include "proxy/connection_state.h"
#include "proxy/env.h"
#include "proxy/server_handler.h"
#include "proxy/testing/memory_transport.h"
#include "reflex/testing/session_test_util.h"

namespace reflex::proxy::testing {

using reflex::testing::FakeClock;
using reflex::testing::SeededRandom;
using reflex::testing::TestUser;

inline ServerConfig HarnessServerConfig() {
  ServerConfig config;
  config.profiles = {Profile::kV1Compat, Profile::kV2};
  config.users = {TestUser(1), TestUser(2)};
  config.replay_capacity = 1024;
  return config;
}

class ServerHarness {
 public:
  explicit ServerHarness(const ServerConfig& config = HarnessServerConfig(), uint64_t seed = 1)
      : random_(seed), dialer_(io_.get_executor()) {
    if (ServerContext::Create(config, &context_) != Error::kOk) std::abort();
    pool::PoolOptions buffers;
    buffers.name = "harness-buffers";
    pool_ = std::make_unique<pool::BufferPool>(buffers);
    pool::PoolOptions states;
    states.name = "harness-states";
    states_ = std::make_unique<ServerStatePool>(states);
    env_.pool = pool_.get();
    env_.stats = &stats_;
    env_.clock = &clock_;
    env_.random = &random_;
    env_.context = context_.get();
    env_.states = states_.get();
    env_.fallback = {"fallback.test", 80};
    env_.sweeper = &sweeper_;
  }
  ~ServerHarness() {
    // Let every handler unwind: the client side ends, then the far ends.
    for (MemoryPeer& c : clients_) c.CloseSend();
    for (auto& d : dialer_.dialed()) d.peer.CloseSend();
    Poll();
  }

  // A new connection to the server; its handler starts at the next Poll.
  MemoryPeer& Connect() {
    auto [stream, peer] = MemoryLink(io_.get_executor());
    ++running_;
    asio::co_spawn(io_, ServeReflexConnection(std::move(stream), env_, dialer_),
                   [this](std::exception_ptr e) {
                     --running_;
                     if (e) std::rethrow_exception(e);  // out of Poll: the test fails loudly
                   });
    clients_.push_back(std::move(peer));
    return clients_.back();
  }
  // Runs everything that can run without time passing.
  void Poll() {
    io_.restart();
    io_.poll();
  }
  int running() const { return running_; }
  ServerEnv& env() { return env_; }

  MemoryDialer& dialer() { return dialer_; }
  FakeClock& clock() { return clock_; }
  Stats& stats() { return stats_; }
  size_t buffers_outstanding() const { return pool_->Stats().total_outstanding(); }
  size_t states_outstanding() const { return states_->Stats().total_outstanding(); }
  asio::io_context& io() { return io_; }

 private:
  asio::io_context io_{1};
  Sweeper sweeper_{io_.get_executor()};
  FakeClock clock_;
  SeededRandom random_;
  std::unique_ptr<ServerContext> context_;
  std::unique_ptr<pool::BufferPool> pool_;
  std::unique_ptr<ServerStatePool> states_;
  Stats stats_;
  ServerEnv env_;
  MemoryDialer dialer_;
  std::deque<MemoryPeer> clients_;
  int running_ = 0;
};

// An honest client on a MemoryPeer: the library's ClientSession, with the
// harness polled between steps.
class HonestClient {
 public:
  HonestClient(ServerHarness& server, Profile profile, UserId user, uint64_t seed = 7)
      : HonestClient(server, server.Connect(), profile, user, seed) {}
  // On a connection the test made itself (to drive a handler phase by phase).
  HonestClient(ServerHarness& server, MemoryPeer& peer, Profile profile, UserId user, uint64_t seed = 7)
      : server_(server), random_(seed), peer_(peer) {
    ClientConfig config;
    config.profile = profile;
    config.user = user;
    session_.emplace(config, server.clock(), random_);
  }

  // The hello (in chunks of `chunk` bytes, all if 0); true when the server
  // answered with its hello.
  bool Handshake(size_t chunk = 0) { return SendHello(chunk) && Receive() && handshake_done_; }
  // Only the sending half of Handshake.
  bool SendHello(size_t chunk = 0) {
    if (!MakeHello()) return false;
    for (size_t at = 0; at < hello_.size();) {
      const size_t n = chunk == 0 ? hello_.size() : std::min(chunk, hello_.size() - at);
      peer_.Send(std::span<const uint8_t>(hello_).subspan(at, n));
      at += n;
      server_.Poll();
    }
    return true;
  }
  // The hello, made and kept (hello()), not sent: for a test that sends
  // it in its own pieces.
  bool MakeHello() {
    if (session_->Start() != Error::kOk) return false;
    const auto hello = session_->PendingOutput();
    hello_.assign(hello.begin(), hello.end());
    session_->ConsumeOutput(hello.size());
    return true;
  }
  bool handshake_done() const { return handshake_done_; }
  // The request (and data in the same frame).
  bool Request(const RequestHeader& request, std::span<const uint8_t> data = {}) {
    Bytes frame(kMaxFrameBytes);
    size_t n = 0;
    if (session_->SealRequest(request, data, frame, &n) != Error::kOk) return false;
    peer_.Send(std::span<const uint8_t>(frame).first(n));
    server_.Poll();
    return true;
  }
  Bytes Seal(FrameType type, std::span<const uint8_t> payload) {
    Bytes frame(kMaxFrameBytes);
    size_t n = 0;
    if (session_->Seal(type, payload, frame, &n) != Error::kOk) return {};
    frame.resize(n);
    return frame;
  }
  Bytes SealClose() {
    Bytes frame(kMaxFrameBytes);
    size_t n = 0;
    if (session_->SealClose(frame, &n) != Error::kOk) return {};
    frame.resize(n);
    return frame;
  }
  void SendRaw(std::span<const uint8_t> bytes) {
    peer_.Send(bytes);
    server_.Poll();
  }
  // Feeds what the server sent; false once the session failed.
  bool Receive() {
    const Bytes in = peer_.Take();
    buffer_.insert(buffer_.end(), in.begin(), in.end());
    size_t at = 0;
    bool ok = true;
    while (true) {
      size_t used = 0;
      SessionEvent e;
      if (session_->Receive(std::span<uint8_t>(buffer_).subspan(at), &used, &e) != Error::kOk) {
        ok = false;
        break;
      }
      at += used;
      if (e.kind == SessionEventKind::kHandshakeDone) handshake_done_ = true;
      if (e.kind == SessionEventKind::kTargetConnected) connected_ = true;
      if (e.kind == SessionEventKind::kData) {
        data_.insert(data_.end(), e.data.begin(), e.data.end());
        payloads_.emplace_back(e.data.begin(), e.data.end());
      }
      if (e.kind == SessionEventKind::kPeerClosed) {
        peer_closed_ = true;
        close_code_ = e.close_code;
      }
      if (e.kind == SessionEventKind::kError) {
        ok = false;
        break;
      }
      if (e.kind == SessionEventKind::kNone && used == 0) break;
    }
    buffer_.erase(buffer_.begin(), buffer_.begin() + static_cast<ptrdiff_t>(at));
    return ok;
  }

  MemoryPeer& peer() { return peer_; }
  const Bytes& hello() const { return hello_; }
  const Bytes& data() const { return data_; }
  // Each DATA frame's payload, one by one (a UDP association's datagrams).
  std::vector<Bytes>& payloads() { return payloads_; }
  bool connected() const { return connected_; }
  bool peer_closed() const { return peer_closed_; }
  uint8_t close_code() const { return close_code_; }

 private:
  ServerHarness& server_;
  SeededRandom random_;
  MemoryPeer& peer_;
  std::optional<ClientSession> session_;
  Bytes hello_;
  Bytes buffer_;
  Bytes data_;
  std::vector<Bytes> payloads_;
  bool handshake_done_ = false;
  bool connected_ = false;
  bool peer_closed_ = false;
  uint8_t close_code_ = 0;
};

// A UDP association's request (SPEC.md 15.1): its address is not used.
inline RequestHeader UdpRequest() {
  RequestHeader r;
  r.command = kCommandUdp;
  r.address_type = AddressType::kIpv4;
  r.address_length = 4;
  return r;
}

// A datagram's frame payload (SPEC.md 15.2) for host:port (an IP literal
// or a name).
inline Bytes DatagramPayload(std::string_view host, uint16_t port, std::span<const uint8_t> data) {
  RequestHeader r;
  if (!RequestHeaderFor(HostPort{std::string(host), port}, &r)) std::abort();
  DatagramAddress a;
  a.type = r.address_type;
  a.length = r.address_length;
  std::copy_n(r.address.begin(), r.address_length, a.bytes.begin());
  a.port = port;
  Bytes out(kMaxPayloadBytes);
  size_t n = 0;
  if (EncodeDatagram(a, data, out, &n) != Error::kOk) std::abort();
  out.resize(n);
  return out;
}

inline RequestHeader RequestTo(std::string_view host, uint16_t port) {
  RequestHeader r;
  HostPort hp{std::string(host), port};
  if (!RequestHeaderFor(hp, &r)) std::abort();
  return r;
}

}  // namespace reflex::proxy::testing

#endif  // REFLEX_PROXY_TESTING_SERVER_HARNESS_H_
