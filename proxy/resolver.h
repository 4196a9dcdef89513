// Name resolution on the event loop (c-ares), with a timeout per lookup
// and a cap on the lookups one user may have in flight.
//
// Why not asio::ip::tcp::resolver: it runs getaddrinfo on one helper
// thread per io_context, one lookup at a time, so a user who asks for names
// in a zone whose servers never answer blocks every other lookup of that
// thread for the system resolver's whole timeout. Here every lookup is a
// c-ares query driven by the io_context itself: a silent zone costs its
// own lookups their timeout and nothing else, and the per-key cap keeps one
// user from filling c-ares with them.
//
// One Resolver per io_context (thread). Not thread-safe: create, use and
// destroy it on its io_context's thread, and destroy it before the
// io_context (it owns Asio I/O objects).
//
// Errors of Resolve:
//   asio::error::host_not_found      the name does not exist (NXDOMAIN), or
//                                    is not a name: empty, an embedded NUL,
//                                    over 253 bytes (refused before any query)
//   asio::error::no_data             the name exists but has no A/AAAA record
//   asio::error::timed_out           no answer within the lookup's timeout
//                                    (ours or c-ares's own, which ends near it)
//   asio::error::host_not_found_try_again
//                                    the servers failed (SERVFAIL, REFUSED) or
//                                    could not be reached (connection refused)
//   asio::error::no_recovery         a malformed query or answer (FORMERR,
//                                    NOTIMP, a bad response, ...)
//   std::errc::resource_unavailable_try_again
//                                    the key already has max_in_flight_per_key
//                                    lookups in flight; nothing was sent
//   asio::error::operation_aborted   the lookup was abandoned (Lookup::Cancel,
//                                    or the awaiting coroutine's Asio
//                                    cancellation slot), or the Resolver was
//                                    destroyed while it waited
//   std::errc::not_enough_memory     c-ares ran out of memory
#ifndef REFLEX_PROXY_RESOLVER_H_
#define REFLEX_PROXY_RESOLVER_H_

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <system_error>
#include <unordered_map>
#include <utility>
#include <vector>

#include "proxy/address.h"
#include "proxy/asio_config.h"

// c-ares's types, without its header here.
struct ares_channeldata;
struct ares_addrinfo;

namespace reflex::proxy {

struct ResolverOptions {
  // IP literals (port 0: 53). Empty: the system's servers, from
  // /etc/resolv.conf; /etc/hosts is consulted first either way.
  std::vector<HostPort> servers;
  // The whole lookup (A and AAAA, every server and retry), not one try.
  std::chrono::milliseconds timeout{5000};
  // Lookups one key (one user) may have in flight, counting those whose
  // caller gave up but that c-ares has not finished.
  size_t max_in_flight_per_key = 8;
};

// The state of one lookup in flight, shared by its waiter and c-ares's
// callback (defined in resolver.cc).
struct PendingLookup;

// What a caller holds to abandon its lookup: Cancel() ends the Resolve
// given this handle with operation_aborted at once (from the io_context's
// thread, e.g. a connection's watchdog). Cancel before Resolve starts makes
// it fail at once: a cancel is never lost. One handle per lookup.
class Lookup {
 public:
  void Cancel();
  bool cancelled() const { return cancelled_; }

 private:
  friend class Resolver;
  bool cancelled_ = false;
  std::weak_ptr<PendingLookup> pending_;
};

class Resolver {
 public:
  using Addresses = std::vector<asio::ip::address>;
  // The key of the process's own lookups (a server's fallback, a client's
  // server): no cap, since no user chooses those names; each belongs to a
  // connection, so their number is bounded by the connections'.
  static constexpr uint64_t kUncappedKey = 0;

  // invalid_argument for bad options (a server that is not an IP literal,
  // a timeout under 1 ms, a cap of 0); other errors when c-ares cannot
  // start (e.g. no readable resolv.conf).
  static std::error_code Create(asio::any_io_executor executor, const ResolverOptions& options,
                                std::unique_ptr<Resolver>* out);
  // Ends every lookup in flight (waiters get operation_aborted).
  ~Resolver();
  Resolver(const Resolver&) = delete;
  Resolver& operator=(const Resolver&) = delete;

  // Every A and AAAA address of `host`, in c-ares's order (RFC 6724), or an
  // error (see the top of this file). `key` names the user asking, for the
  // cap. `lookup`, when given, lets the caller abandon the lookup. An IP
  // literal is its own answer (no query, no place under the cap); a name in
  // /etc/hosts is answered without a query. `host` is taken by value: the
  // awaitable may start after the caller's string is gone.
  awaitable<std::pair<std::error_code, Addresses>> Resolve(std::string host, uint64_t key,
                                                           Lookup* lookup = nullptr);

  // Lookups of `key` that c-ares has not finished (for tests, statistics).
  size_t in_flight(uint64_t key) const;

 private:
  struct Socket;
  struct TimeoutTimer;

  Resolver(asio::any_io_executor executor, const ResolverOptions& options);
  std::error_code Init(int servers);

  static void OnSocketState(void* data, int fd, int readable, int writable);
  static void OnAddrInfo(void* arg, int status, int timeouts, ::ares_addrinfo* result);
  void WaitFor(const std::shared_ptr<Socket>& socket, bool write);
  void ScheduleTimeouts();

  asio::any_io_executor executor_;
  ResolverOptions options_;
  ares_channeldata* channel_ = nullptr;
  // The sockets c-ares has open, by descriptor.
  std::unordered_map<int, std::shared_ptr<Socket>> sockets_;
  std::shared_ptr<TimeoutTimer> timeouts_;
  std::unordered_map<uint64_t, size_t> in_flight_;
};

}  // namespace reflex::proxy

#endif  // REFLEX_PROXY_RESOLVER_H_
