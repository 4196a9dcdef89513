// In-memory transport for running the real connection handlers without
// sockets (unit tests and the fuzz target): a handler gets a MemoryStream,
// the test holds the other end as a MemoryPeer, and a MemoryDialer hands
// out MemoryStreams for the handler's outgoing connections (target,
// fallback), keeping their far ends for the test to inspect.
//
// Nothing here waits for time: the test drives the io_context with poll()
// until the handler is blocked on input, so a run is deterministic.
#ifndef REFLEX_PROXY_TESTING_MEMORY_TRANSPORT_H_
#define REFLEX_PROXY_TESTING_MEMORY_TRANSPORT_H_

#include <algorithm>
#include <cstdint>
#include <deque>
#include <memory>
#include <span>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "proxy/address.h"
#include "proxy/asio_config.h"
#include "proxy/datagram_socket.h"
#include "proxy/stream.h"
#include "proxy/watchdog.h"

namespace reflex::proxy::testing {

using Bytes = std::vector<uint8_t>;

// One direction of an in-memory connection.
class MemoryPipe {
 public:
  explicit MemoryPipe(asio::any_io_executor executor) : signal_(executor) {
    signal_.expires_at(asio::steady_timer::time_point::max());
  }
  void Write(std::span<const uint8_t> bytes) {
    if (closed_) return;
    data_.insert(data_.end(), bytes.begin(), bytes.end());
    ++writes_;
    signal_.cancel();
  }
  size_t writes() const { return writes_; }
  void CloseWrite() {
    closed_ = true;
    signal_.cancel();
  }
  // The writer reset the connection (Abort).
  void Abort() {
    aborted_ = true;
    CloseWrite();
  }
  bool closed() const { return closed_; }
  bool aborted() const { return aborted_; }
  std::deque<uint8_t>& data() { return data_; }
  asio::steady_timer& signal() { return signal_; }

 private:
  std::deque<uint8_t> data_;
  bool closed_ = false;
  bool aborted_ = false;
  size_t writes_ = 0;  // Write calls, to see how a stream was cut up
  asio::steady_timer signal_;
};

// A stream over two MemoryPipes (what it reads, what it writes): tests and
// the fuzz target run the real handlers on these, with no sockets.
class MemoryStream {
 public:
  MemoryStream(std::shared_ptr<MemoryPipe> in, std::shared_ptr<MemoryPipe> out)
      : in_(std::move(in)), out_(std::move(out)) {}

  awaitable<IoResult> ReadSome(std::span<uint8_t> out) {
    if (const std::error_code ec = co_await WaitReadable(); ec) co_return IoResult{ec, 0};
    if (in_->data().empty()) co_return IoResult{asio::error::eof, 0};
    const size_t n = std::min(out.size(), in_->data().size());
    std::copy(in_->data().begin(), in_->data().begin() + static_cast<ptrdiff_t>(n), out.begin());
    in_->data().erase(in_->data().begin(), in_->data().begin() + static_cast<ptrdiff_t>(n));
    co_return IoResult{{}, n};
  }
  awaitable<std::error_code> WaitReadable() {
    while (!cancelled_ && in_->data().empty() && !in_->closed()) {
      auto [ec] = co_await in_->signal().async_wait(kUseTuple);
      (void)ec;
      in_->signal().expires_at(asio::steady_timer::time_point::max());
    }
    if (cancelled_) co_return asio::error::operation_aborted;
    co_return std::error_code{};
  }
  // Until the peer aborts (true), or both directions are closed or the
  // stream is cancelled (false).
  awaitable<bool> WaitReset() {
    while (!cancelled_ && !in_->aborted() && !(in_->closed() && out_->closed())) {
      auto [ec] = co_await in_->signal().async_wait(kUseTuple);
      (void)ec;
      in_->signal().expires_at(asio::steady_timer::time_point::max());
    }
    co_return !cancelled_ && in_->aborted();
  }
  IoResult TryRead(std::span<uint8_t> out) {
    if (cancelled_) return IoResult{asio::error::operation_aborted, 0};
    if (in_->data().empty()) return IoResult{in_->closed() ? asio::error::eof : std::error_code{}, 0};
    const size_t n = std::min(out.size(), in_->data().size());
    std::copy(in_->data().begin(), in_->data().begin() + static_cast<ptrdiff_t>(n), out.begin());
    in_->data().erase(in_->data().begin(), in_->data().begin() + static_cast<ptrdiff_t>(n));
    return IoResult{{}, n};
  }
  bool HasInput() const { return !in_->data().empty() || in_->closed(); }
  awaitable<IoResult> ReadSomeV(std::span<const asio::mutable_buffer> out) {
    if (const std::error_code ec = co_await WaitReadable(); ec) co_return IoResult{ec, 0};
    if (in_->data().empty()) co_return IoResult{asio::error::eof, 0};
    size_t n = 0;
    for (const asio::mutable_buffer& b : out) {
      const size_t m = std::min(b.size(), in_->data().size());
      std::copy(in_->data().begin(), in_->data().begin() + static_cast<ptrdiff_t>(m),
                static_cast<uint8_t*>(b.data()));
      in_->data().erase(in_->data().begin(), in_->data().begin() + static_cast<ptrdiff_t>(m));
      n += m;
      if (in_->data().empty()) break;
    }
    co_return IoResult{{}, n};
  }
  // One call is one Write (as one writev is one segment, when it fits).
  template <class Buffers>
  awaitable<std::error_code> WriteAll(const Buffers& buffers) {
    if (cancelled_ || out_->closed()) co_return asio::error::broken_pipe;
    std::vector<uint8_t> all;
    for (auto it = asio::buffer_sequence_begin(buffers); it != asio::buffer_sequence_end(buffers); ++it) {
      const asio::const_buffer b(*it);
      all.insert(all.end(), static_cast<const uint8_t*>(b.data()), static_cast<const uint8_t*>(b.data()) + b.size());
    }
    out_->Write(all);
    co_return std::error_code{};
  }
  void ShutdownSend() {
    out_->CloseWrite();
    in_->signal().cancel();  // a WaitReset here may be over: both directions closed
  }
  void Close() {
    out_->CloseWrite();
    Cancel();
  }
  void Abort() {
    out_->Abort();
    Cancel();
  }
  void Cancel() {
    cancelled_ = true;
    in_->signal().cancel();
  }
  void ClearCancel() { cancelled_ = false; }
  std::string PeerName() const { return "memory"; }
  // Both ends are loopback here (a local UDP relay binds to this address).
  asio::ip::address LocalAddress() const { return asio::ip::address_v4::loopback(); }
  asio::ip::address PeerAddress() const { return asio::ip::address_v4::loopback(); }

 private:
  std::shared_ptr<MemoryPipe> in_;
  std::shared_ptr<MemoryPipe> out_;
  bool cancelled_ = false;
};

// The test's end of an in-memory connection.
class MemoryPeer {
 public:
  MemoryPeer(std::shared_ptr<MemoryPipe> from_handler, std::shared_ptr<MemoryPipe> to_handler)
      : from_(std::move(from_handler)), to_(std::move(to_handler)) {}

  void Send(std::span<const uint8_t> bytes) { to_->Write(bytes); }
  void Send(std::string_view text) {
    Send({reinterpret_cast<const uint8_t*>(text.data()), text.size()});
  }
  // End of stream towards the handler.
  void CloseSend() { to_->CloseWrite(); }
  // A reset towards the handler (a peer that closed entirely and was sent
  // more bytes).
  void Reset() { to_->Abort(); }
  // Everything the handler wrote since the last call.
  Bytes Take() {
    Bytes out(from_->data().begin(), from_->data().end());
    from_->data().clear();
    return out;
  }
  // The handler ended its sending direction (shutdown, close or abort).
  bool HandlerClosed() const { return from_->closed(); }
  // The handler reset the connection (a failed tunnel), not a clean end.
  bool HandlerAborted() const { return from_->aborted(); }
  // How many writes the handler made (each WriteAll is one).
  size_t HandlerWrites() const { return from_->writes(); }

 private:
  std::shared_ptr<MemoryPipe> from_;
  std::shared_ptr<MemoryPipe> to_;
};

// A connection: the handler's stream and the test's peer.
inline std::pair<MemoryStream, MemoryPeer> MemoryLink(asio::any_io_executor executor) {
  auto to_handler = std::make_shared<MemoryPipe>(executor);
  auto from_handler = std::make_shared<MemoryPipe>(executor);
  return {MemoryStream(to_handler, from_handler), MemoryPeer(from_handler, to_handler)};
}

// A UDP socket in memory (proxy/datagram_socket.h's interface): the test
// puts datagrams in from any source and takes what the handler sent.
struct MemoryDatagrams {
  explicit MemoryDatagrams(asio::any_io_executor executor) : signal(executor) {
    signal.expires_at(asio::steady_timer::time_point::max());
  }
  struct Datagram {
    UdpEndpoint peer;  // the source (in) or the destination (sent)
    Bytes bytes;
  };
  std::deque<Datagram> in;
  std::vector<Datagram> sent;
  size_t send_room = SIZE_MAX;  // sends past this many fail: a full socket buffer
  UdpEndpoint local;
  bool closed = false;
  asio::steady_timer signal;

  void Inject(const UdpEndpoint& from, Bytes bytes) {
    in.push_back({from, std::move(bytes)});
    signal.cancel();
  }
};

class MemoryDatagramSocket {
 public:
  explicit MemoryDatagramSocket(std::shared_ptr<MemoryDatagrams> d) : d_(std::move(d)) {}

  awaitable<std::error_code> WaitReadable() {
    while (!cancelled_ && d_->in.empty()) {
      auto [ec] = co_await d_->signal.async_wait(kUseTuple);
      (void)ec;
      d_->signal.expires_at(asio::steady_timer::time_point::max());
    }
    if (cancelled_) co_return asio::error::operation_aborted;
    co_return std::error_code{};
  }
  DatagramReceived TryReceive(std::span<uint8_t> out, UdpEndpoint* from) {
    if (cancelled_) return {asio::error::operation_aborted};
    if (d_->in.empty()) return {{}, true};
    const MemoryDatagrams::Datagram& d = d_->in.front();
    const size_t n = std::min(out.size(), d.bytes.size());
    std::copy_n(d.bytes.begin(), n, out.begin());
    *from = d.peer;
    DatagramReceived r;
    r.size = d.bytes.size();
    r.truncated = d.bytes.size() > out.size();
    d_->in.pop_front();
    return r;
  }
  std::error_code TrySend(std::span<const uint8_t> data, const UdpEndpoint& to) {
    if (d_->closed || d_->sent.size() >= d_->send_room) return asio::error::would_block;
    d_->sent.push_back({to, Bytes(data.begin(), data.end())});
    return {};
  }
  UdpEndpoint LocalEndpoint() const { return d_->local; }
  uint64_t SystemDrops() const { return 0; }
  bool dual_stack() const { return false; }
  void Cancel() {
    cancelled_ = true;
    d_->signal.cancel();
  }
  void Close() {
    d_->closed = true;
    Cancel();
  }

 private:
  std::shared_ptr<MemoryDatagrams> d_;
  bool cancelled_ = false;
};

// The handler's outgoing connections.
class MemoryDialer {
 public:
  using DatagramSocket = MemoryDatagramSocket;

  struct Dialed {
    HostPort target;
    MemoryPeer peer;
  };

  explicit MemoryDialer(asio::any_io_executor executor) : executor_(executor) {}

  // Every later Connect fails with `ec` (e.g. connection_refused).
  void FailWith(std::error_code ec) { fail_ = ec; }
  // Bytes each new connection's far end sends at once (a target's banner),
  // and whether it then ends its stream.
  void Greet(Bytes bytes, bool then_close) {
    greeting_ = std::move(bytes);
    greet_close_ = then_close;
  }

  awaitable<std::pair<std::error_code, MemoryStream>> Connect(const HostPort& target, Watchdog&) {
    auto [stream, peer] = MemoryLink(executor_);
    if (fail_) co_return std::pair<std::error_code, MemoryStream>{fail_, std::move(stream)};
    if (!greeting_.empty()) peer.Send(greeting_);
    if (greet_close_) peer.CloseSend();
    dialed_.push_back({target, std::move(peer)});
    co_return std::pair<std::error_code, MemoryStream>{{}, std::move(stream)};
  }

  // The policy is the real dialer's (proxy/egress_policy_test.cc tests
  // it); here a target is dialed as any other connection.
  awaitable<std::pair<std::error_code, MemoryStream>> ConnectTarget(const HostPort& target,
                                                                    Watchdog& watchdog, uint64_t /*user*/) {
    return Connect(target, watchdog);
  }

  std::vector<Dialed>& dialed() { return dialed_; }

  // UDP (SPEC.md 15): every socket opened, in order; names resolve to
  // kResolvedAddress but those ending in ".invalid"; addresses in
  // denied_datagram_addresses are refused as the egress policy would.
  static constexpr const char* kResolvedAddress = "198.51.100.7";
  std::pair<std::error_code, MemoryDatagramSocket> OpenDatagramSocket(const UdpEndpoint& bind) {
    auto d = std::make_shared<MemoryDatagrams>(executor_);
    d->local = UdpEndpoint(bind.address(), static_cast<uint16_t>(40000 + datagram_sockets_.size()));
    datagram_sockets_.push_back(d);
    return {udp_fail_, MemoryDatagramSocket(d)};
  }
  awaitable<std::pair<std::error_code, asio::ip::address>> ResolveDatagramHost(std::string host, uint64_t) {
    ++datagram_lookups;
    const asio::ip::address a = asio::ip::make_address(kResolvedAddress);
    if (host.ends_with(".invalid")) co_return std::pair<std::error_code, asio::ip::address>{asio::error::host_not_found, {}};
    if (!AllowsDatagramTo(a)) co_return std::pair<std::error_code, asio::ip::address>{TargetNotAllowed(), {}};
    co_return std::pair<std::error_code, asio::ip::address>{{}, a};
  }
  bool AllowsDatagramTo(const asio::ip::address& a) const {
    return std::find(denied_datagram_addresses.begin(), denied_datagram_addresses.end(), a) ==
           denied_datagram_addresses.end();
  }
  void FailDatagramSocketsWith(std::error_code ec) { udp_fail_ = ec; }
  std::vector<std::shared_ptr<MemoryDatagrams>>& datagram_sockets() { return datagram_sockets_; }
  std::vector<asio::ip::address> denied_datagram_addresses;
  int datagram_lookups = 0;

 private:
  std::vector<std::shared_ptr<MemoryDatagrams>> datagram_sockets_;
  std::error_code udp_fail_;
  asio::any_io_executor executor_;
  std::error_code fail_;
  Bytes greeting_;
  bool greet_close_ = false;
  std::vector<Dialed> dialed_;
};

}  // namespace reflex::proxy::testing

#endif  // REFLEX_PROXY_TESTING_MEMORY_TRANSPORT_H_
