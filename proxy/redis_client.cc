#include "proxy/redis_client.h"

#include <hiredis/hiredis.h>
#include <sodium.h>

#include <algorithm>
#include <charconv>
#include <cstdlib>

#include "proxy/log.h"

namespace reflex::proxy {
namespace {

constexpr size_t kReadBytes = 16 * 1024;
constexpr size_t kMaxArguments = 8;

bool ParseDb(std::string_view text, int* db) {
  int value = -1;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || value < 0 || value > 15) return false;
  *db = value;
  return true;
}

// unix://PATH[?db=DB][&key=KEY]
bool ParseUnixUrl(std::string_view rest, RedisEndpoint* out, std::string* error) {
  const size_t query = rest.find('?');
  out->unix_path = std::string(rest.substr(0, query));
  if (out->unix_path.empty() || out->unix_path[0] != '/') {
    *error = "a unix socket's path must be absolute (unix:///run/redis/redis.sock)";
    return false;
  }
  if (query == std::string_view::npos) return true;
  std::string_view params = rest.substr(query + 1);
  while (!params.empty()) {
    const size_t amp = params.find('&');
    const std::string_view param = params.substr(0, amp);
    params = amp == std::string_view::npos ? std::string_view{} : params.substr(amp + 1);
    if (param.starts_with("db=")) {
      if (!ParseDb(param.substr(3), &out->db)) {
        *error = "the database must be 0 to 15";
        return false;
      }
    } else if (param.starts_with("key=") && param.size() > 4) {
      out->key = std::string(param.substr(4));
    } else {
      *error = "unknown parameter: " + std::string(param);
      return false;
    }
  }
  return true;
}

// redis://HOST:PORT[/DB[/KEY]]
bool ParseTcpUrl(std::string_view rest, RedisEndpoint* out, std::string* error) {
  const size_t slash = rest.find('/');
  if (!ParseHostPort(rest.substr(0, slash), &out->tcp) || out->tcp.port == 0) {
    *error = "expected HOST:PORT after redis://";
    return false;
  }
  if (slash == std::string_view::npos) return true;
  std::string_view path = rest.substr(slash + 1);
  const size_t second = path.find('/');
  if (!ParseDb(path.substr(0, second), &out->db)) {
    *error = "the database must be 0 to 15";
    return false;
  }
  if (second != std::string_view::npos) out->key = std::string(path.substr(second + 1));
  return true;
}

RedisReply Convert(const redisReply& r) {
  RedisReply out;
  switch (r.type) {
    case REDIS_REPLY_STATUS: out.type = RedisReply::Type::kStatus; break;
    case REDIS_REPLY_ERROR: out.type = RedisReply::Type::kError; break;
    case REDIS_REPLY_INTEGER: out.type = RedisReply::Type::kInteger; break;
    case REDIS_REPLY_STRING: out.type = RedisReply::Type::kString; break;
    case REDIS_REPLY_ARRAY: out.type = RedisReply::Type::kArray; break;
    default: out.type = RedisReply::Type::kNil; break;
  }
  out.integer = r.integer;
  if (r.str != nullptr) out.text.assign(r.str, r.len);
  for (size_t i = 0; i < r.elements; ++i) out.elements.push_back(Convert(*r.element[i]));
  return out;
}

// The command in Redis's protocol, appended to `out`.
bool AppendCommand(std::initializer_list<std::string_view> argv, std::string* out) {
  if (argv.size() == 0 || argv.size() > kMaxArguments) return false;
  const char* args[kMaxArguments];
  size_t lengths[kMaxArguments];
  int n = 0;
  for (std::string_view a : argv) {
    args[n] = a.data();
    lengths[n] = a.size();
    ++n;
  }
  char* formatted = nullptr;
  const int size = redisFormatCommandArgv(&formatted, n, args, lengths);
  if (size < 0 || formatted == nullptr) return false;
  out->append(formatted, static_cast<size_t>(size));
  sodium_memzero(formatted, static_cast<size_t>(size));  // an AUTH's password
  redisFreeCommand(formatted);
  return true;
}

}  // namespace

bool ParseRedisUrl(std::string_view url, bool want_key, RedisEndpoint* out, std::string* error) {
  RedisEndpoint e;
  bool ok = false;
  if (url.starts_with("redis://")) {
    ok = ParseTcpUrl(url.substr(8), &e, error);
  } else if (url.starts_with("unix://")) {
    ok = ParseUnixUrl(url.substr(7), &e, error);
  } else {
    *error = "expected redis://HOST:PORT[/DB] or unix:///PATH[?db=DB]";
  }
  if (!ok) return false;
  if (want_key && e.key.empty()) {
    *error = "no key named (redis://HOST:PORT/DB/KEY or unix:///PATH?key=KEY)";
    return false;
  }
  if (!want_key && !e.key.empty()) {
    *error = "a key is named where none is used";
    return false;
  }
  *out = std::move(e);
  return true;
}

std::string FormatRedisEndpoint(const RedisEndpoint& e) {
  std::string s = e.unix_path.empty() ? "redis://" + FormatHostPort(e.tcp) + "/" + std::to_string(e.db)
                                      : "unix://" + e.unix_path + "?db=" + std::to_string(e.db);
  return s;
}

RedisOptions::~RedisOptions() { sodium_memzero(password.data(), password.capacity()); }

struct RedisClient::Waiter {
  explicit Waiter(asio::any_io_executor executor) : timer(executor) {}
  asio::steady_timer timer;
  std::chrono::steady_clock::time_point sent;
  bool done = false;
  bool abandoned = false;  // nobody waits for the reply any more
  std::error_code ec;
  RedisReply reply;
};

RedisClient::RedisClient(asio::any_io_executor executor, const RedisOptions& options)
    : executor_(executor), options_(options), wake_writer_(executor), backoff_(executor) {
  if (!options_.endpoint.unix_path.empty()) {
    endpoints_.emplace_back(asio::local::stream_protocol::endpoint(options_.endpoint.unix_path));
  } else {
    // Once, at start (a name in the URL is the operator's, not a user's).
    asio::io_context once;
    asio::ip::tcp::resolver resolver(once);
    std::error_code ec;
    for (const auto& r : resolver.resolve(options_.endpoint.tcp.host, std::to_string(options_.endpoint.tcp.port), ec)) {
      endpoints_.emplace_back(r.endpoint());
    }
    if (ec) REFLEX_LOG(kWarn, "%s: cannot resolve %s: %s", options_.name.c_str(), options_.endpoint.tcp.host.c_str(), ec.message().c_str());
  }
}

RedisClient::~RedisClient() {
  Stop();
  if (reader_ != nullptr) redisReaderFree(reader_);
}

void RedisClient::Stop() {
  if (stopped_) return;
  stopped_ = true;
  DropConnection();
  FailAll(asio::error::operation_aborted);
  backoff_.cancel();
  wake_writer_.cancel();
}

awaitable<void> RedisClient::Run() {
  auto backoff = options_.min_backoff;
  while (!stopped_) {
    const std::error_code ec = co_await Connect();
    if (stopped_) break;
    if (!ec) {
      const auto connected_at = std::chrono::steady_clock::now();
      co_await Serve();
      if (stopped_) break;
      // A connection that lasted a second was a good one: the backoff
      // starts again; one dropped at once (a full server, a balancer with
      // no backend) goes on doubling it.
      if (std::chrono::steady_clock::now() - connected_at >= std::chrono::seconds(1)) {
        backoff = options_.min_backoff;
      }
    }
    ++stats_.failures;
    if (!outage_logged_) {  // once per outage
      REFLEX_LOG(kWarn, "%s: %s %s%s%s; connecting again", options_.name.c_str(),
                 ec ? "cannot reach" : "lost the connection to", FormatRedisEndpoint(options_.endpoint).c_str(),
                 ec ? ": " : "", ec ? ec.message().c_str() : "");
      outage_logged_ = true;
    }
    backoff_.expires_after(backoff);
    (void)co_await backoff_.async_wait(kUseTuple);
    backoff = std::min(backoff * 2, options_.max_backoff);
  }
}

// A connection made and set up, until it fails or the client stops;
// whatever was in flight then ends without a reply.
awaitable<void> RedisClient::Serve() {
  ++stats_.connects;
  connected_ = true;
  last_sent_ = std::chrono::steady_clock::now();
  if (outage_logged_) {
    REFLEX_LOG(kInfo, "%s: connected to %s again", options_.name.c_str(), FormatRedisEndpoint(options_.endpoint).c_str());
  }
  outage_logged_ = false;
  if (on_connected_) on_connected_();
  {
    using namespace asio::experimental::awaitable_operators;
    // (Named first: GCC 12 mishandles temporaries in a co_await.)
    auto serve = ReadLoop() || WriteLoop() || StallWatch();
    co_await std::move(serve);
  }
  connected_ = false;
  DropConnection();
  FailAll(stopped_ ? std::error_code(asio::error::operation_aborted) : std::error_code(asio::error::not_connected));
}

awaitable<std::error_code> RedisClient::Connect() {
  if (endpoints_.empty()) co_return asio::error::host_not_found;
  std::error_code last = asio::error::host_unreachable;
  for (const auto& endpoint : endpoints_) {
    socket_ = std::make_unique<Socket>(executor_);
    asio::steady_timer deadline(executor_);
    deadline.expires_after(options_.timeout);
    using namespace asio::experimental::awaitable_operators;
    const auto result = co_await (socket_->async_connect(endpoint, kUseTuple) || deadline.async_wait(kUseTuple));
    if (stopped_) co_return asio::error::operation_aborted;
    if (result.index() == 1) {
      last = asio::error::timed_out;
    } else if (const auto [ec] = std::get<0>(result); ec) {
      last = ec;
    } else {
      if (reader_ != nullptr) redisReaderFree(reader_);
      reader_ = redisReaderCreate();
      if (reader_ == nullptr) co_return std::make_error_code(std::errc::not_enough_memory);
      last = co_await SetUp();
      if (!last) co_return last;
    }
    DropConnection();
  }
  co_return last;
}

// AUTH and SELECT, answered before the connection serves anything else.
awaitable<std::error_code> RedisClient::SetUp() {
  std::string setup;
  setup.reserve(256 + 2 * options_.password.size());  // no reallocation leaves a copy behind
  size_t expected = 0;
  if (!options_.password.empty()) {
    (void)AppendCommand({"AUTH", options_.password}, &setup);
    ++expected;
  }
  const std::string db = std::to_string(options_.endpoint.db);
  if (options_.endpoint.db != 0) {
    (void)AppendCommand({"SELECT", db}, &setup);
    ++expected;
  }
  if (expected == 0) co_return std::error_code{};
  asio::steady_timer deadline(executor_);
  deadline.expires_after(options_.timeout);
  auto exchange = [&]() -> awaitable<std::error_code> {
    auto [wec, n] = co_await asio::async_write(*socket_, asio::buffer(setup), kUseTuple);
    sodium_memzero(setup.data(), setup.size());
    if (wec) co_return wec;
    std::array<char, 512> buffer;
    size_t answered = 0;
    while (answered < expected) {
      auto [rec, got] = co_await socket_->async_read_some(asio::buffer(buffer), kUseTuple);
      if (rec) co_return rec;
      if (redisReaderFeed(reader_, buffer.data(), got) != REDIS_OK) co_return asio::error::invalid_argument;
      void* raw = nullptr;
      while (answered < expected && redisReaderGetReply(reader_, &raw) == REDIS_OK && raw != nullptr) {
        const RedisReply reply = Convert(*static_cast<redisReply*>(raw));
        freeReplyObject(raw);
        raw = nullptr;
        ++answered;
        if (!reply.IsStatus("OK")) {
          REFLEX_LOG(kWarn, "%s: %s refused: %s", options_.name.c_str(),
                     answered == 1 && !options_.password.empty() ? "AUTH" : "SELECT", reply.text.c_str());
          co_return asio::error::access_denied;
        }
      }
    }
    co_return std::error_code{};
  };
  using namespace asio::experimental::awaitable_operators;
  auto answered_or_late = exchange() || deadline.async_wait(kUseTuple);
  const auto result = co_await std::move(answered_or_late);
  sodium_memzero(setup.data(), setup.size());
  if (result.index() == 1) co_return asio::error::timed_out;
  co_return std::get<0>(result);
}

awaitable<void> RedisClient::ReadLoop() {
  std::array<char, kReadBytes> buffer;
  while (true) {
    auto [ec, n] = co_await socket_->async_read_some(asio::buffer(buffer), kUseTuple);
    if (ec) co_return;
    if (redisReaderFeed(reader_, buffer.data(), n) != REDIS_OK) co_return;
    while (true) {
      void* raw = nullptr;
      if (redisReaderGetReply(reader_, &raw) != REDIS_OK) co_return;  // a protocol error
      if (raw == nullptr) break;
      RedisReply reply = Convert(*static_cast<redisReply*>(raw));
      freeReplyObject(raw);
      if (!Deliver(std::move(reply))) co_return;
    }
  }
}

awaitable<void> RedisClient::WriteLoop() {
  std::string writing;
  while (true) {
    if (out_.empty()) {
      wake_writer_.expires_at(std::chrono::steady_clock::time_point::max());
      (void)co_await wake_writer_.async_wait(kUseTuple);
      if (stopped_) co_return;
      continue;
    }
    writing.swap(out_);
    auto [ec, n] = co_await asio::async_write(*socket_, asio::buffer(writing), kUseTuple);
    writing.clear();
    if (ec) co_return;
  }
}

// A reply overdue by stall_after: Redis is stopped or the path to it is
// gone without a reset, so the connection is made again. An idle
// connection gets a PING now and then, so that this holds for it too.
awaitable<void> RedisClient::StallWatch() {
  asio::steady_timer tick(executor_);
  while (true) {
    tick.expires_after(std::min({options_.timeout, options_.stall_after, options_.keepalive_after}));
    (void)co_await tick.async_wait(kUseTuple);
    if (stopped_) co_return;
    if (in_flight_.empty() && std::chrono::steady_clock::now() - last_sent_ >= options_.keepalive_after) {
      (void)Send({"PING"});
    }
    if (!in_flight_.empty() &&
        std::chrono::steady_clock::now() - in_flight_.front()->sent > options_.stall_after) {
      REFLEX_LOG(kWarn, "%s: no reply for %lld ms", options_.name.c_str(),
                 static_cast<long long>(options_.stall_after.count()));
      co_return;
    }
  }
}

bool RedisClient::Deliver(RedisReply reply) {
  // A subscriber's message may come between a command and its reply.
  const bool message = reply.type == RedisReply::Type::kArray && !reply.elements.empty() &&
                       (reply.elements[0].text == "message" || reply.elements[0].text == "pmessage");
  if (on_push_ && message) {
    on_push_(reply);
    return true;
  }
  if (in_flight_.empty()) return false;
  std::shared_ptr<Waiter> w = std::move(in_flight_.front());
  in_flight_.pop_front();
  if (w->abandoned) return true;
  w->done = true;
  w->reply = std::move(reply);
  w->timer.cancel();
  return true;
}

void RedisClient::FailAll(std::error_code ec) {
  std::deque<std::shared_ptr<Waiter>> failing;
  failing.swap(in_flight_);
  for (const auto& w : failing) {
    if (w->abandoned) continue;
    w->done = true;
    w->ec = ec;
    w->timer.cancel();
  }
  sodium_memzero(out_.data(), out_.size());
  out_.clear();
}

void RedisClient::DropConnection() {
  if (socket_) {
    std::error_code ignored;
    socket_->close(ignored);
  }
  wake_writer_.cancel();
}

std::shared_ptr<RedisClient::Waiter> RedisClient::Enqueue(std::initializer_list<std::string_view> argv,
                                                          std::error_code* ec) {
  if (stopped_) {
    *ec = asio::error::operation_aborted;
  } else if (!connected_) {
    *ec = asio::error::not_connected;
  } else if (in_flight_.size() >= options_.max_in_flight) {
    *ec = std::make_error_code(std::errc::resource_unavailable_try_again);
  } else if (!AppendCommand(argv, &out_)) {
    *ec = asio::error::invalid_argument;
  } else {
    auto w = std::make_shared<Waiter>(executor_);
    w->sent = last_sent_ = std::chrono::steady_clock::now();
    in_flight_.push_back(w);
    ++stats_.commands;
    wake_writer_.cancel();
    return w;
  }
  ++stats_.refused;
  return nullptr;
}

awaitable<std::pair<std::error_code, RedisReply>> RedisClient::Command(std::initializer_list<std::string_view> argv) {
  std::error_code ec;
  std::shared_ptr<Waiter> w = Enqueue(argv, &ec);
  return Await(std::move(w), ec);
}

bool RedisClient::Send(std::initializer_list<std::string_view> argv) {
  std::error_code ec;
  std::shared_ptr<Waiter> w = Enqueue(argv, &ec);
  if (!w) return false;
  w->abandoned = true;
  return true;
}

awaitable<std::pair<std::error_code, RedisReply>> RedisClient::Await(std::shared_ptr<Waiter> w, std::error_code ec) {
  if (!w) co_return std::pair{ec, RedisReply{}};
  if (!w->done) {  // (a pipeline's later members may be answered already)
    w->timer.expires_after(options_.timeout);
    (void)co_await w->timer.async_wait(kUseTuple);
  }
  if (!w->done) {
    w->abandoned = true;
    ++stats_.timeouts;
    co_return std::pair{std::error_code(asio::error::timed_out), RedisReply{}};
  }
  co_return std::pair{w->ec, std::move(w->reply)};
}

}  // namespace reflex::proxy
