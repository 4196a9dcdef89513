// A Redis connection on one Asio event loop: commands pipelined on one
// socket, each with a bounded wait, and a bounded number in flight. What
// the shared replay store (replay_store.h) and the user set kept in Redis
// (redis_users.h) speak. hiredis formats the commands and parses the
// replies; the socket is the loop's, so a command never blocks a thread.
//
// The connection is kept up by Run(): connect (TCP or a unix socket),
// AUTH when a password is set, SELECT the database, then serve. When the
// connection fails (or a reply is overdue by more than stall_after), every
// command in flight ends with not_connected and Run() connects again after
// a backoff that doubles from min_backoff up to max_backoff (reset only by
// a connection that lasted a second: one that a server accepts and drops
// at once is retried no faster than one that cannot be made). An idle
// connection is pinged every keepalive_after, so one cut silently (a NAT's
// idle timeout, a host gone) is noticed like a stalled one.
//
// Errors of Command:
//   asio::error::not_connected    no connection now, or it failed before
//                                 the reply came: nothing is known
//   asio::error::timed_out        no reply within `timeout` (the command
//                                 may still be carried out)
//   std::errc::resource_unavailable_try_again
//                                 max_in_flight commands wait already
//                                 (their replies are late): nothing was sent
//   asio::error::operation_aborted
//                                 the client was stopped
// A reply of type kError (Redis refused the command) is a reply, not an
// error code: the caller judges it.
//
// One RedisClient per io_context (thread). Not thread-safe: create and use
// it on its io_context's thread, and destroy it only once that loop no
// longer runs (stopped, or Run() returned after Stop()): its coroutines
// refer to it until then.
#ifndef REFLEX_PROXY_REDIS_CLIENT_H_
#define REFLEX_PROXY_REDIS_CLIENT_H_

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <initializer_list>
#include <memory>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include "proxy/address.h"
#include "proxy/asio_config.h"

struct redisReader;

namespace reflex::proxy {

// Where a Redis server is, and (for --users-from) which key:
//   redis://HOST:PORT[/DB[/KEY]]   TCP; HOST an IP literal or a name
//                                  (resolved once, at start)
//   unix://PATH[?db=DB][&key=KEY]  a unix socket (PATH absolute)
struct RedisEndpoint {
  std::string unix_path;  // set: a unix socket; else `tcp`
  HostPort tcp;
  int db = 0;
  std::string key;
};
// false and *error for anything else (a DB outside 0..15 included, a KEY
// where `want_key` is false, no KEY where it is true).
[[nodiscard]] bool ParseRedisUrl(std::string_view url, bool want_key, RedisEndpoint* out, std::string* error);
std::string FormatRedisEndpoint(const RedisEndpoint& endpoint);

struct RedisReply {
  enum class Type : uint8_t { kStatus, kError, kInteger, kNil, kString, kArray };
  Type type = Type::kNil;
  int64_t integer = 0;
  std::string text;  // kStatus, kError, kString
  std::vector<RedisReply> elements;  // kArray

  bool IsStatus(std::string_view s) const { return type == Type::kStatus && text == s; }
};

struct RedisOptions {
  // Every copy wipes its password when it goes.
  ~RedisOptions();
  RedisOptions() = default;
  RedisOptions(const RedisOptions&) = default;
  RedisOptions& operator=(const RedisOptions&) = default;

  RedisEndpoint endpoint;
  std::string password;  // empty: no AUTH
  std::string name = "redis";  // in the log lines
  std::chrono::milliseconds timeout{250};          // a command's wait, and a connect's
  std::chrono::milliseconds stall_after{1000};     // a reply this late: the connection is dead
  std::chrono::milliseconds keepalive_after{2000};  // idle this long: a PING
  std::chrono::milliseconds min_backoff{100};
  std::chrono::milliseconds max_backoff{5000};
  size_t max_in_flight = 1024;
};

class RedisClient {
 public:
  struct Stats {
    uint64_t commands = 0;      // sent
    uint64_t timeouts = 0;      // waits that ended before their reply
    uint64_t refused = 0;       // not sent: no connection, or too many in flight
    uint64_t connects = 0;      // connections made (the first included)
    uint64_t failures = 0;      // connection attempts failed, and connections lost
  };

  RedisClient(asio::any_io_executor executor, const RedisOptions& options);
  ~RedisClient();
  RedisClient(const RedisClient&) = delete;
  RedisClient& operator=(const RedisClient&) = delete;

  // Keeps the connection up until Stop(); co_spawn it once.
  awaitable<void> Run();
  // Closes the connection; commands in flight end with operation_aborted,
  // Run() returns.
  void Stop();

  // Sends one command (its arguments are copied at once) and waits for the
  // reply: see the top of this file.
  awaitable<std::pair<std::error_code, RedisReply>> Command(std::initializer_list<std::string_view> argv);
  // Sends one command whose reply nobody waits for (a pipeline's members:
  // await a Command after them to know they were carried out). False if it
  // could not be sent (no connection, too many in flight).
  bool Send(std::initializer_list<std::string_view> argv);

  // Runs on the loop after each connection is made and set up (a
  // subscriber subscribes again there, a reader of a key reads it again).
  void OnConnected(std::function<void()> f) { on_connected_ = std::move(f); }
  // A subscriber's messages ("message" and "pmessage" arrays), whenever
  // they come; without it a reply no command waits for is a protocol
  // error and the connection is dropped.
  void OnPush(std::function<void(const RedisReply&)> f) { on_push_ = std::move(f); }

  bool connected() const { return connected_; }
  // The endpoint's addresses are known (a name is resolved once, when the
  // client is made).
  bool resolved() const { return !endpoints_.empty(); }
  size_t in_flight() const { return in_flight_.size(); }
  const Stats& stats() const { return stats_; }

 private:
  struct Waiter;
  using Socket = asio::generic::stream_protocol::socket;

  std::shared_ptr<Waiter> Enqueue(std::initializer_list<std::string_view> argv, std::error_code* ec);
  awaitable<std::pair<std::error_code, RedisReply>> Await(std::shared_ptr<Waiter> waiter, std::error_code ec);
  awaitable<std::error_code> Connect();
  awaitable<std::error_code> SetUp();
  awaitable<void> Serve();
  awaitable<void> ReadLoop();
  awaitable<void> WriteLoop();
  awaitable<void> StallWatch();
  // A reply, for the oldest command in flight (or the push handler);
  // false: a protocol error.
  bool Deliver(RedisReply reply);
  void FailAll(std::error_code ec);
  void DropConnection();

  asio::any_io_executor executor_;
  RedisOptions options_;
  std::vector<asio::generic::stream_protocol::endpoint> endpoints_;
  std::unique_ptr<Socket> socket_;
  redisReader* reader_ = nullptr;
  asio::steady_timer wake_writer_;
  asio::steady_timer backoff_;
  std::string out_;  // formatted commands not yet written
  std::deque<std::shared_ptr<Waiter>> in_flight_;
  std::function<void()> on_connected_;
  std::function<void(const RedisReply&)> on_push_;
  bool connected_ = false;
  bool stopped_ = false;
  bool outage_logged_ = false;
  std::chrono::steady_clock::time_point last_sent_{};
  Stats stats_;
};

}  // namespace reflex::proxy

#endif  // REFLEX_PROXY_REDIS_CLIENT_H_
