#include "proxy/probe/listeners.h"

namespace reflex::proxy::probe {

IoThread::IoThread() : guard_(io_.get_executor()), thread_([this] { io_.run(); }) {}

IoThread::~IoThread() { Stop(); }

void IoThread::Stop() {
  if (!thread_.joinable()) return;
  guard_.reset();
  io_.stop();
  thread_.join();
}

Listener::Listener(const HostPort& address) : acceptor_(io_.io()) {
  std::error_code ec;
  const auto ip = asio::ip::make_address(address.host, ec);
  if (ec) {
    error_ = "not an IP address: " + address.host;
    return;
  }
  const asio::ip::tcp::endpoint endpoint(ip, address.port);
  acceptor_.open(endpoint.protocol(), ec);
  if (!ec) acceptor_.set_option(asio::ip::tcp::acceptor::reuse_address(true), ec);
  if (!ec) acceptor_.bind(endpoint, ec);
  if (!ec) acceptor_.listen(4096, ec);
  if (ec) {
    error_ = ec.message();
    return;
  }
  port_ = acceptor_.local_endpoint().port();
}

Listener::~Listener() { io_.Stop(); }

void Listener::Start() {
  if (ok()) asio::co_spawn(io_.io(), AcceptLoop(), asio::detached);
}

awaitable<void> Listener::AcceptLoop() {
  while (true) {
    auto [ec, socket] = co_await acceptor_.async_accept(kUseTuple);
    if (ec == asio::error::operation_aborted) co_return;
    if (ec) continue;
    asio::co_spawn(io_.io(), Serve(std::move(socket)), asio::detached);
  }
}

RecordingListener::RecordingListener(const HostPort& address, Mode mode, std::string trailer,
                                     size_t record_limit)
    : Listener(address), mode_(mode), trailer_(std::move(trailer)), record_limit_(record_limit) {
  Start();
}

std::vector<Recorded> RecordingListener::Connections() {
  std::lock_guard<std::mutex> lock(mu_);
  return connections_;
}

size_t RecordingListener::count() {
  std::lock_guard<std::mutex> lock(mu_);
  return connections_.size();
}

bool RecordingListener::WaitFor(size_t n, size_t bytes, bool closed,
                                std::chrono::milliseconds timeout) {
  const auto until = std::chrono::steady_clock::now() + timeout;
  while (true) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (connections_.size() >= n) {
        const Recorded& c = connections_[n - 1];
        if (c.bytes.size() >= bytes && (!closed || c.closed)) return true;
      }
    }
    if (std::chrono::steady_clock::now() >= until) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
}

size_t RecordingListener::WaitForUsed(size_t from, size_t bytes, bool closed,
                                      std::chrono::milliseconds timeout) {
  const auto until = std::chrono::steady_clock::now() + timeout;
  while (true) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      for (size_t i = from; i < connections_.size(); ++i) {
        const Recorded& c = connections_[i];
        if (c.bytes.empty() && (bytes > 0 || !c.ended)) continue;
        if (c.bytes.size() >= bytes && (!closed || c.closed)) return i + 1;
        break;
      }
    }
    if (std::chrono::steady_clock::now() >= until) return 0;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
}

bool RecordingListener::WaitForNew(size_t from, std::chrono::milliseconds timeout) {
  const auto until = std::chrono::steady_clock::now() + timeout;
  while (true) {
    {
      // Not one reset before it carried anything (another probe's early
      // dial, accepted late).
      std::lock_guard<std::mutex> lock(mu_);
      for (size_t i = from; i < connections_.size(); ++i) {
        const Recorded& c = connections_[i];
        if (!(c.closed && c.bytes.empty() && !c.ended)) return true;
      }
    }
    if (std::chrono::steady_clock::now() >= until) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
}

awaitable<void> RecordingListener::Serve(asio::ip::tcp::socket socket) {
  size_t index;
  {
    std::lock_guard<std::mutex> lock(mu_);
    index = connections_.size();
    connections_.emplace_back();
  }
  std::vector<uint8_t> buf(65536);
  std::error_code end;
  while (true) {
    auto [ec, n] = co_await socket.async_read_some(asio::buffer(buf), kUseTuple);
    {
      std::lock_guard<std::mutex> lock(mu_);
      Bytes& kept = connections_[index].bytes;
      const size_t take = std::min(n, record_limit_ - std::min(record_limit_, kept.size()));
      kept.insert(kept.end(), buf.begin(), buf.begin() + static_cast<ptrdiff_t>(take));
    }
    if (mode_ == Mode::kEcho && n > 0) {
      auto [wec, w] = co_await asio::async_write(socket, asio::buffer(buf.data(), n), kUseTuple);
      (void)w;
      if (wec) {
        end = wec;
        break;
      }
    }
    if (ec) {
      end = ec;
      break;
    }
  }
  if (end == asio::error::eof) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      connections_[index].ended = true;
    }
    if (mode_ == Mode::kEcho && !trailer_.empty()) {
      auto [wec, w] = co_await asio::async_write(socket, asio::buffer(trailer_), kUseTuple);
      (void)wec;
      (void)w;
    }
    std::error_code ignored;
    socket.shutdown(asio::ip::tcp::socket::shutdown_send, ignored);
    // Wait for the peer to close (so nothing resets what was sent).
    while (true) {
      auto [ec, n] = co_await socket.async_read_some(asio::buffer(buf), kUseTuple);
      (void)n;
      if (ec) break;
    }
  }
  std::lock_guard<std::mutex> lock(mu_);
  connections_[index].closed = true;
}

}  // namespace reflex::proxy::probe
