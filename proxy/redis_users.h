// The users of a fleet, kept in Redis (--users-from), and what each user
// used, added up there (--usage-to).
//
// Users: a Redis set of UUIDs. A server reads it at start and again each
// time it changes: it subscribes to the key's keyspace notifications
// (__keyspace@DB__:KEY; the Redis server needs notify-keyspace-events with
// K, s and g, e.g. "Ksg"), and reads it again after every reconnection of
// either connection (once subscribed, for the subscriber's), since a change
// made while it was away sent it nothing.
//
// Usage: every interval, each user's bytes and tunnels since the last
// report are added (HINCRBY, pipelined) to the hash PREFIXusage:ID, ID the
// user's short id of the logs and metrics (never the UUID: the credential
// stays out of keys an accounting system reads). A report Redis did not
// take is kept and added to the next.
#ifndef REFLEX_PROXY_REDIS_USERS_H_
#define REFLEX_PROXY_REDIS_USERS_H_

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "proxy/asio_config.h"
#include "proxy/redis_client.h"
#include "proxy/stats.h"

namespace reflex::proxy {

// The UUIDs of a SMEMBERS reply, in order; members that are not one are
// counted in *invalid and skipped.
std::vector<std::string> UsersOfReply(const RedisReply& reply, size_t* invalid);

// The set, read once before the server starts (blocking, bounded by
// `timeout` for the connection and the command). false and *error when it
// cannot be read.
bool ReadUsersOnce(const RedisOptions& options, std::vector<std::string>* users, std::string* error);

class RedisUserFollower {
 public:
  // `on_users` runs on `executor`'s thread with each new reading.
  RedisUserFollower(asio::any_io_executor executor, const RedisOptions& options,
                    std::function<void(std::vector<std::string>)> on_users);
  void Start();
  void Stop();

 private:
  awaitable<void> Subscribe();
  awaitable<void> ReadAgain();

  asio::any_io_executor executor_;
  std::string key_;
  std::string channel_;
  RedisClient commands_;
  RedisClient subscriber_;
  std::function<void(std::vector<std::string>)> on_users_;
  bool reading_ = false;
  bool again_ = false;  // a change came during a reading
};

class UsageReporter {
 public:
  UsageReporter(asio::any_io_executor executor, const RedisOptions& options, std::string prefix,
                const UserStats& users, std::chrono::seconds interval);
  void Start();
  void Stop();
  // One report: what Run() does each interval.
  awaitable<bool> ReportOnce();

 private:
  struct Totals {
    uint64_t up = 0, down = 0, tunnels = 0;
  };
  awaitable<void> Run();

  asio::any_io_executor executor_;
  RedisClient client_;
  std::string prefix_;
  const UserStats& users_;
  std::chrono::seconds interval_;
  asio::steady_timer timer_;
  bool stopped_ = false;
  std::map<std::string, Totals> reported_;  // what Redis has taken, per user
};

}  // namespace reflex::proxy

#endif  // REFLEX_PROXY_REDIS_USERS_H_
