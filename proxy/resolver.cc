#include "proxy/resolver.h"

#include <ares.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <climits>
#include <cstring>
#include <mutex>

namespace reflex::proxy {

// Owned jointly by the waiting coroutine and by c-ares (through the
// callback's argument), so whichever of the two finishes last frees it: an
// abandoned waiter leaves, and the callback still finds it alive.
struct PendingLookup {
  PendingLookup(asio::any_io_executor executor, uint64_t key, Resolver* resolver)
      : wakeup(executor), key(key), resolver(resolver) {}

  // The waiter's only wait: it expires at the lookup's deadline, and is
  // cancelled when c-ares answers or when the caller abandons the lookup.
  asio::steady_timer wakeup;
  uint64_t key;
  // Valid while c-ares holds the query: callbacks run only inside the
  // Resolver's own calls into c-ares (ares_destroy in its destructor too).
  Resolver* resolver;
  bool done = false;
  std::error_code ec;
  Resolver::Addresses addresses;
};

// One descriptor c-ares has open. The handlers of its waits hold it; once
// c-ares closes the descriptor (or the Resolver goes) `closed` tells them
// to touch nothing, as the number may already be another socket's.
struct Resolver::Socket {
  Socket(asio::any_io_executor executor, int fd) : descriptor(executor), fd(fd) {}

  asio::posix::stream_descriptor descriptor;  // never closes: released first
  int fd;
  bool want_read = false;
  bool want_write = false;
  bool read_pending = false;
  bool write_pending = false;
  bool closed = false;
};

// The wake-up for c-ares's own timeouts (retries, giving up). `generation`
// tells a superseded wait from the current one.
struct Resolver::TimeoutTimer {
  explicit TimeoutTimer(asio::any_io_executor executor) : timer(executor) {}

  asio::steady_timer timer;
  bool armed = false;
  uint64_t generation = 0;
  bool closed = false;
};

namespace {

std::error_code ErrorFromAres(int status) {
  switch (status) {
    case ARES_SUCCESS:
      return {};
    case ARES_ENOTFOUND:
    case ARES_ENONAME:
    case ARES_EBADNAME:
      return asio::error::host_not_found;
    case ARES_ENODATA:
      return asio::error::no_data;
    case ARES_ETIMEOUT:
      return asio::error::timed_out;
    case ARES_ESERVFAIL:
    case ARES_EREFUSED:
    case ARES_ECONNREFUSED:
      return asio::error::host_not_found_try_again;
    case ARES_ENOMEM:
      return std::make_error_code(std::errc::not_enough_memory);
    case ARES_EDESTRUCTION:
    case ARES_ECANCELLED:
      return asio::error::operation_aborted;
    default:  // FORMERR, NOTIMP, a bad response or query, EOF, ...
      return asio::error::no_recovery;
  }
}

// c-ares would take c_str(), which ends at an embedded NUL: a different
// name from the one asked for. A DNS name is at most 253 bytes in text
// (255 on the wire), a trailing dot aside.
bool IsQueryableName(const std::string& host) {
  if (host.find('\0') != std::string::npos) return false;
  size_t length = host.size();
  if (length > 0 && host.back() == '.') --length;
  return length > 0 && length <= 253;
}

void AppendAddress(const ares_addrinfo_node& node, Resolver::Addresses* out) {
  // memcpy: ai_addr is a sockaddr* that c-ares allocated as the family's type.
  if (node.ai_family == AF_INET && node.ai_addrlen >= sizeof(sockaddr_in)) {
    sockaddr_in v4;
    std::memcpy(&v4, node.ai_addr, sizeof(v4));
    out->push_back(asio::ip::address_v4(ntohl(v4.sin_addr.s_addr)));
  } else if (node.ai_family == AF_INET6 && node.ai_addrlen >= sizeof(sockaddr_in6)) {
    sockaddr_in6 v6;
    std::memcpy(&v6, node.ai_addr, sizeof(v6));
    asio::ip::address_v6::bytes_type bytes;
    std::memcpy(bytes.data(), &v6.sin6_addr, bytes.size());
    out->push_back(asio::ip::address_v6(bytes, v6.sin6_scope_id));
  }
}

// The number of servers c-ares finds in the system's configuration.
int CountSystemServers() {
  ares_channel probe = nullptr;
  if (ares_init(&probe) != ARES_SUCCESS) return 1;
  ares_addr_port_node* servers = nullptr;
  int count = 0;
  if (ares_get_servers_ports(probe, &servers) == ARES_SUCCESS) {
    for (const ares_addr_port_node* s = servers; s != nullptr; s = s->next) ++count;
  }
  ares_free_data(servers);
  ares_destroy(probe);
  return std::max(count, 1);
}

}  // namespace

void Lookup::Cancel() {
  cancelled_ = true;
  if (auto pending = pending_.lock()) pending->wakeup.cancel();
}

Resolver::Resolver(asio::any_io_executor executor, const ResolverOptions& options)
    : executor_(executor),
      options_(options),
      timeouts_(std::make_shared<TimeoutTimer>(executor)) {}

std::error_code Resolver::Create(asio::any_io_executor executor, const ResolverOptions& options,
                                 std::unique_ptr<Resolver>* out) {
  if (options.timeout < std::chrono::milliseconds(1) || options.max_in_flight_per_key == 0) {
    return std::make_error_code(std::errc::invalid_argument);
  }
  std::string servers_csv;
  for (const HostPort& server : options.servers) {
    std::error_code ec;
    const auto ip = asio::ip::make_address(server.host, ec);
    if (ec) return std::make_error_code(std::errc::invalid_argument);
    if (!servers_csv.empty()) servers_csv += ',';
    servers_csv += FormatHostPort({ip.to_string(), server.port == 0 ? uint16_t{53} : server.port});
  }

  static std::once_flag library_once;
  static int library_status = ARES_SUCCESS;
  std::call_once(library_once, [] { library_status = ares_library_init(ARES_LIB_INIT_ALL); });
  if (library_status != ARES_SUCCESS) return std::make_error_code(std::errc::io_error);

  const int servers = options.servers.empty() ? CountSystemServers()
                                              : static_cast<int>(options.servers.size());
  std::unique_ptr<Resolver> resolver(new Resolver(executor, options));
  if (std::error_code ec = resolver->Init(servers)) return ec;
  if (!servers_csv.empty() &&
      ares_set_servers_ports_csv(resolver->channel_, servers_csv.c_str()) != ARES_SUCCESS) {
    return std::make_error_code(std::errc::invalid_argument);
  }
  *out = std::move(resolver);
  return {};
}

std::error_code Resolver::Init(int servers) {
  // c-ares sends each query to every server `tries` times, doubling the
  // wait every round through the list: servers * per_try * (2^tries - 1)
  // in all. Two tries (one retry for a lost datagram), and per_try sized so
  // that c-ares gives up near the lookup's own deadline: an abandoned or
  // timed-out lookup then leaves the cap soon after its caller did.
  constexpr int kTries = 2;
  const int64_t rounds_weight = static_cast<int64_t>(servers) * ((1 << kTries) - 1);
  const int64_t per_try = std::clamp<int64_t>(options_.timeout.count() / rounds_weight, 1, INT_MAX);

  ares_options config{};
  config.sock_state_cb = &Resolver::OnSocketState;
  config.sock_state_cb_data = this;
  config.timeout = static_cast<int>(per_try);
  config.tries = kTries;
  // Names are taken as given: no search domains (resolv.conf's "search",
  // LOCALDOMAIN), so a user asking for "db" does not reach db.corp.internal,
  // and a lookup is one name, not one per domain, within its deadline.
  config.flags = ARES_FLAG_NOSEARCH;
  config.ndomains = 0;
  config.domains = nullptr;
  ares_channel channel = nullptr;
  const int status = ares_init_options(&channel, &config,
                                       ARES_OPT_SOCK_STATE_CB | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES |
                                           ARES_OPT_FLAGS | ARES_OPT_DOMAINS);
  if (status != ARES_SUCCESS) {
    return status == ARES_ENOMEM ? std::make_error_code(std::errc::not_enough_memory)
                                 : std::make_error_code(std::errc::io_error);
  }
  channel_ = channel;
  return {};
}

Resolver::~Resolver() {
  // c-ares ends its queries (callbacks with ARES_EDESTRUCTION, which free
  // their state and wake their waiters) and closes its sockets (through
  // OnSocketState) while every member is still alive.
  if (channel_ != nullptr) ares_destroy(channel_);
  channel_ = nullptr;
  for (auto& [fd, socket] : sockets_) {
    socket->closed = true;
    socket->descriptor.release();
  }
  sockets_.clear();
  timeouts_->closed = true;
  timeouts_->timer.cancel();
}

size_t Resolver::in_flight(uint64_t key) const {
  const auto it = in_flight_.find(key);
  return it == in_flight_.end() ? 0 : it->second;
}

awaitable<std::pair<std::error_code, Resolver::Addresses>> Resolver::Resolve(std::string host,
                                                                             uint64_t key,
                                                                             Lookup* lookup) {
  using Result = std::pair<std::error_code, Addresses>;
  if (lookup != nullptr && lookup->cancelled_) co_return Result{asio::error::operation_aborted, {}};
  if (!IsQueryableName(host)) co_return Result{asio::error::host_not_found, {}};
  // An address is its own answer. Not left to c-ares: 1.18.1 sends an IPv4
  // literal to the DNS servers as a name when the family is AF_UNSPEC
  // (fixed upstream after it, c-ares pull request 469).
  std::error_code not_literal;
  const asio::ip::address literal = asio::ip::make_address(host, not_literal);
  if (!not_literal) co_return Result{{}, Addresses{literal}};
  size_t& count = in_flight_[key];
  if (key != kUncappedKey && count >= options_.max_in_flight_per_key) {
    co_return Result{std::make_error_code(std::errc::resource_unavailable_try_again), {}};
  }
  ++count;  // before c-ares: its callback may run (and count down) at once

  // Not make_shared: a Lookup handle's weak_ptr would keep the memory.
  std::shared_ptr<PendingLookup> pending(new PendingLookup(executor_, key, this));
  pending->wakeup.expires_after(options_.timeout);
  ares_addrinfo_hints hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  ares_getaddrinfo(channel_, host.c_str(), nullptr, &hints, &Resolver::OnAddrInfo,
                   new std::shared_ptr<PendingLookup>(pending));
  ScheduleTimeouts();

  if (!pending->done) {
    if (lookup != nullptr) lookup->pending_ = pending;
    auto [ec] = co_await pending->wakeup.async_wait(kUseTuple);
    // From here only `pending`: the Resolver may be gone (its destruction
    // is one of the things that wake us).
    if (!pending->done) {
      // The timer expired (the deadline), or was cancelled without an
      // answer: by Lookup::Cancel or this coroutine's cancellation slot.
      co_return Result{ec ? asio::error::operation_aborted : asio::error::timed_out, {}};
    }
  }
  co_return Result{pending->ec, std::move(pending->addresses)};
}

void Resolver::OnAddrInfo(void* arg, int status, int /*timeouts*/, ares_addrinfo* result) {
  // c-ares's reference, taken in Resolve: dropped whatever happens below.
  std::unique_ptr<std::shared_ptr<PendingLookup>> owner(
      static_cast<std::shared_ptr<PendingLookup>*>(arg));
  PendingLookup& pending = **owner;
  Resolver& self = *pending.resolver;
  if (auto it = self.in_flight_.find(pending.key); it != self.in_flight_.end()) {
    if (--it->second == 0) self.in_flight_.erase(it);
  }
  pending.done = true;
  pending.ec = ErrorFromAres(status);
  if (result != nullptr) {
    for (const ares_addrinfo_node* node = result->nodes; node != nullptr; node = node->ai_next) {
      AppendAddress(*node, &pending.addresses);
    }
    ares_freeaddrinfo(result);
  }
  if (!pending.ec && pending.addresses.empty()) pending.ec = asio::error::no_data;
  // The waiter resumes from the io_context, never inside c-ares.
  pending.wakeup.cancel();
}

void Resolver::OnSocketState(void* data, int fd, int readable, int writable) {
  auto& self = *static_cast<Resolver*>(data);
  const auto it = self.sockets_.find(fd);
  if (readable == 0 && writable == 0) {
    // c-ares closes the descriptor right after this call: let go of it
    // without closing it, and end our waits (their handlers see `closed`).
    if (it == self.sockets_.end()) return;
    it->second->closed = true;
    it->second->descriptor.release();
    self.sockets_.erase(it);
    return;
  }
  std::shared_ptr<Socket> socket;
  if (it != self.sockets_.end()) {
    socket = it->second;
  } else {
    socket = std::make_shared<Socket>(self.executor_, fd);
    std::error_code ec;
    socket->descriptor.assign(fd, ec);
    // Not watchable (out of memory in the reactor): its queries still end,
    // by c-ares's timeouts.
    if (ec) return;
    self.sockets_.emplace(fd, socket);
  }
  socket->want_read = readable != 0;
  socket->want_write = writable != 0;
  if (socket->want_read) self.WaitFor(socket, false);
  if (socket->want_write) self.WaitFor(socket, true);
}

void Resolver::WaitFor(const std::shared_ptr<Socket>& socket, bool write) {
  bool& pending = write ? socket->write_pending : socket->read_pending;
  if (pending) return;
  pending = true;
  const auto what = write ? asio::posix::stream_descriptor::wait_write
                          : asio::posix::stream_descriptor::wait_read;
  socket->descriptor.async_wait(what, [this, socket, write](std::error_code ec) {
    (write ? socket->write_pending : socket->read_pending) = false;
    if (socket->closed || ec == asio::error::operation_aborted) return;
    // c-ares reads (or writes) until it would block, and may close this
    // socket or others, answer lookups and start retries as it goes.
    if (write ? socket->want_write : socket->want_read) {
      ares_process_fd(channel_, write ? ARES_SOCKET_BAD : socket->fd,
                      write ? socket->fd : ARES_SOCKET_BAD);
    }
    if (!socket->closed && (write ? socket->want_write : socket->want_read)) WaitFor(socket, write);
    ScheduleTimeouts();
  });
}

void Resolver::ScheduleTimeouts() {
  if (channel_ == nullptr) return;
  timeval tv{};
  if (ares_timeout(channel_, nullptr, &tv) == nullptr) return;  // no query in flight
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(tv.tv_sec) +
                        std::chrono::microseconds(tv.tv_usec);
  TimeoutTimer& t = *timeouts_;
  // An earlier wake-up is already set, and it schedules the next one: a
  // timer change per c-ares call would be a system call per packet.
  if (t.armed && t.timer.expiry() <= deadline) return;
  t.armed = true;
  const uint64_t generation = ++t.generation;
  t.timer.expires_at(deadline);
  t.timer.async_wait([this, timeouts = timeouts_, generation](std::error_code) {
    // Superseded by an earlier deadline, or the Resolver is gone.
    if (timeouts->closed || generation != timeouts->generation) return;
    timeouts->armed = false;
    ares_process_fd(channel_, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
    ScheduleTimeouts();
  });
}

}  // namespace reflex::proxy
