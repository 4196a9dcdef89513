#include "proxy/replay_store.h"

#include "proxy/log.h"

namespace reflex::proxy {

awaitable<ReplayVerdict> RedisReplayStore::Claim(std::span<const uint8_t> key, int64_t ttl_ms) {
  std::string name = prefix_;
  name.append(reinterpret_cast<const char*>(key.data()), key.size());
  const std::string ttl = std::to_string(ttl_ms);
  return Judge(client_.Command({"SET", name, "1", "NX", "PX", ttl}));
}

awaitable<ReplayVerdict> RedisReplayStore::Judge(awaitable<std::pair<std::error_code, RedisReply>> answer) {
  const auto [ec, reply] = co_await std::move(answer);
  if (!ec && reply.IsStatus("OK")) {
    counters_.fresh.fetch_add(1, std::memory_order_relaxed);
    outage_ = false;
    co_return ReplayVerdict::kFresh;
  }
  if (!ec && reply.type == RedisReply::Type::kNil) {
    counters_.seen.fetch_add(1, std::memory_order_relaxed);
    outage_ = false;
    co_return ReplayVerdict::kSeen;
  }
  // No answer, or Redis refused the command (out of memory under
  // noeviction, a read-only replica, a lost AUTH): nothing is known.
  counters_.unavailable.fetch_add(1, std::memory_order_relaxed);
  const bool local = policy_ == ReplayStorePolicy::kLocal;
  if (!outage_) {
    outage_ = true;
    REFLEX_LOG(kWarn, "replay store: no answer (%s); hellos are %s until it answers again",
               ec ? ec.message().c_str() : reply.text.c_str(),
               local ? "judged by this server's filter alone" : "refused (sent to the fallback)");
  }
  if (!local) co_return ReplayVerdict::kUnavailable;
  counters_.accepted_locally.fetch_add(1, std::memory_order_relaxed);
  co_return ReplayVerdict::kFresh;
}

}  // namespace reflex::proxy
