#include "proxy/redis_users.h"

#include <sodium.h>

#include "proxy/log.h"
#include "reflex/session_types.h"

namespace reflex::proxy {

std::vector<std::string> UsersOfReply(const RedisReply& reply, size_t* invalid) {
  std::vector<std::string> users;
  *invalid = 0;
  for (const RedisReply& member : reply.elements) {
    UserId id;
    if (member.type == RedisReply::Type::kString && ParseUserId(member.text, &id)) {
      users.push_back(member.text);
      sodium_memzero(id.data(), id.size());
    } else {
      ++*invalid;
    }
  }
  return users;
}

bool ReadUsersOnce(const RedisOptions& options, std::vector<std::string>* users, std::string* error) {
  asio::io_context io;
  RedisClient client(io.get_executor(), options);
  std::optional<std::pair<std::error_code, RedisReply>> got;
  auto read = [&]() -> awaitable<void> {
    asio::steady_timer wait(io);
    const auto until = std::chrono::steady_clock::now() + options.timeout * 4;
    while (!client.connected() && std::chrono::steady_clock::now() < until) {
      wait.expires_after(std::chrono::milliseconds(5));
      (void)co_await wait.async_wait(kUseTuple);
    }
    // (Made before the co_await: GCC 12 mishandles a braced list inside one.)
    auto smembers = client.Command({"SMEMBERS", options.endpoint.key});
    got = co_await std::move(smembers);
    client.Stop();
  };
  asio::co_spawn(io, client.Run(), asio::detached);
  asio::co_spawn(io, read(), asio::detached);
  io.run_for(options.timeout * 8);
  if (!got || got->first) {
    *error = "cannot read the users at " + FormatRedisEndpoint(options.endpoint) + " key " + options.endpoint.key +
             ": " + (got ? got->first.message() : std::string("no answer"));
    return false;
  }
  if (got->second.type != RedisReply::Type::kArray) {
    *error = "the users' key " + options.endpoint.key + " is not a set: " + got->second.text;
    return false;
  }
  size_t invalid = 0;
  *users = UsersOfReply(got->second, &invalid);
  if (invalid > 0) REFLEX_LOG(kWarn, "users from Redis: %zu member(s) are not UUIDs; skipped", invalid);
  return true;
}

namespace {
RedisOptions Named(RedisOptions o, const char* name) {
  o.name = name;
  return o;
}

// A report holds up to five commands per user in flight.
RedisOptions ForUsage(RedisOptions o) {
  o.name = "usage";
  o.max_in_flight = size_t{1} << 22;
  return o;
}
}  // namespace

RedisUserFollower::RedisUserFollower(asio::any_io_executor executor, const RedisOptions& options,
                                     std::function<void(std::vector<std::string>)> on_users)
    : executor_(executor),
      key_(options.endpoint.key),
      channel_("__keyspace@" + std::to_string(options.endpoint.db) + "__:" + options.endpoint.key),
      commands_(executor, Named(options, "users")),
      subscriber_(executor, Named(options, "users (notifications)")),
      on_users_(std::move(on_users)) {
  commands_.OnConnected([this] { asio::co_spawn(executor_, ReadAgain(), asio::detached); });
  subscriber_.OnConnected([this] { asio::co_spawn(executor_, Subscribe(), asio::detached); });
  // Every notification on the key (sadd, srem, del, rename, ...) means:
  // read it again.
  subscriber_.OnPush([this](const RedisReply& push) {
    if (push.type == RedisReply::Type::kArray && !push.elements.empty() && push.elements[0].text == "message") {
      asio::co_spawn(executor_, ReadAgain(), asio::detached);
    }
  });
}

void RedisUserFollower::Start() {
  asio::co_spawn(executor_, commands_.Run(), asio::detached);
  asio::co_spawn(executor_, subscriber_.Run(), asio::detached);
}

void RedisUserFollower::Stop() {
  commands_.Stop();
  subscriber_.Stop();
}

// Subscribed first, then read: a change after the reading began is
// notified, so none falls between the two.
awaitable<void> RedisUserFollower::Subscribe() {
  auto subscribe = subscriber_.Command({"SUBSCRIBE", channel_});
  const auto [ec, reply] = co_await std::move(subscribe);
  const bool subscribed = !ec && reply.type == RedisReply::Type::kArray && !reply.elements.empty() &&
                          reply.elements[0].text == "subscribe";
  if (!subscribed) {
    REFLEX_LOG(kWarn, "users from Redis: cannot subscribe to %s (%s); changes are seen at reconnections only",
               channel_.c_str(), ec ? ec.message().c_str() : reply.text.c_str());
  }
  co_await ReadAgain();
}

// One reading at a time; changes during it make one more after it.
awaitable<void> RedisUserFollower::ReadAgain() {
  if (reading_) {
    again_ = true;
    co_return;
  }
  reading_ = true;
  do {
    again_ = false;
    auto smembers = commands_.Command({"SMEMBERS", key_});
    const auto [ec, reply] = co_await std::move(smembers);
    if (ec || reply.type != RedisReply::Type::kArray) {
      REFLEX_LOG(kWarn, "users from Redis: cannot read %s (%s); the users stay as they are", key_.c_str(),
                 ec ? ec.message().c_str() : reply.text.c_str());
      break;  // read again at the next reconnection or change
    }
    size_t invalid = 0;
    std::vector<std::string> users = UsersOfReply(reply, &invalid);
    if (invalid > 0) REFLEX_LOG(kWarn, "users from Redis: %zu member(s) are not UUIDs; skipped", invalid);
    on_users_(std::move(users));
  } while (again_);
  reading_ = false;
}

UsageReporter::UsageReporter(asio::any_io_executor executor, const RedisOptions& options, std::string prefix,
                             const UserStats& users, std::chrono::seconds interval)
    : executor_(executor),
      client_(executor, ForUsage(options)),
      prefix_(std::move(prefix)),
      users_(users),
      interval_(interval),
      timer_(executor) {}

void UsageReporter::Start() {
  asio::co_spawn(executor_, client_.Run(), asio::detached);
  asio::co_spawn(executor_, Run(), asio::detached);
}

void UsageReporter::Stop() {
  stopped_ = true;
  timer_.cancel();
  client_.Stop();
}

awaitable<void> UsageReporter::Run() {
  while (!stopped_) {
    timer_.expires_after(interval_);
    (void)co_await timer_.async_wait(kUseTuple);
    if (stopped_) co_return;
    (void)co_await ReportOnce();
  }
}

// Each user's differences since the last report Redis took, as one
// transaction per user (MULTI, HINCRBY..., EXEC), all pipelined: Redis
// carries out a user's increments all or none, so a connection lost in
// the middle of a report loses nothing and adds nothing twice (unless it
// is lost between EXEC and its reply). A user whose EXEC did not answer
// is reported again, in full, next time.
awaitable<bool> UsageReporter::ReportOnce() {
  std::map<std::string, Totals> now;
  users_.ForEach([&now](const std::string& user, const UserCounters& c) {
    now[user] = {c.bytes_up.load(std::memory_order_relaxed), c.bytes_down.load(std::memory_order_relaxed),
                 c.tunnels_total.load(std::memory_order_relaxed)};
  });
  std::vector<std::pair<std::string, awaitable<std::pair<std::error_code, RedisReply>>>> execs;
  bool all = true;
  for (const auto& [user, t] : now) {
    const Totals& before = reported_[user];
    if (t.up == before.up && t.down == before.down && t.tunnels == before.tunnels) continue;
    const std::string key = prefix_ + "usage:" + user;
    if (!client_.Send({"MULTI"})) {  // no connection: nothing more is sent
      all = false;
      break;
    }
    const std::pair<const char*, uint64_t> fields[] = {
        {"bytes_up", t.up - before.up}, {"bytes_down", t.down - before.down}, {"tunnels", t.tunnels - before.tunnels}};
    for (const auto& [field, delta] : fields) {
      if (delta == 0) continue;
      const std::string amount = std::to_string(delta);
      (void)client_.Send({"HINCRBY", key, field, amount});
    }
    execs.emplace_back(user, client_.Command({"EXEC"}));
  }
  for (auto& [user, exec] : execs) {
    const auto [ec, reply] = co_await std::move(exec);
    if (!ec && reply.type == RedisReply::Type::kArray) {
      // Carried out (a transaction is not undone): an increment Redis
      // refused (the key is not a hash) is not sent again, but said.
      for (const RedisReply& r : reply.elements) {
        if (r.type == RedisReply::Type::kError) {
          REFLEX_LOG(kWarn, "usage: Redis refused an increment of %susage:%s: %s", prefix_.c_str(), user.c_str(),
                     r.text.c_str());
        }
      }
      reported_[user] = now[user];
    } else {
      all = false;
    }
  }
  co_return all;
}

}  // namespace reflex::proxy
