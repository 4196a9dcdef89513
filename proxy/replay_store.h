// The replay filter several servers share (SPEC 12.4), as the server
// handler asks it (ReplayStore), and kept in Redis (RedisReplayStore): a
// hello that passed every local check (this server's own filter included)
// is claimed there with one atomic command,
//
//   SET <prefix><client ephemeral key> 1 NX PX <ms until it leaves the window>
//
// and is new only if no server claimed it before. The key expires when a
// replay of the hello could no longer pass the timestamp window, so the
// store holds only what can still be replayed.
#ifndef REFLEX_PROXY_REPLAY_STORE_H_
#define REFLEX_PROXY_REPLAY_STORE_H_

#include <atomic>
#include <cstdint>
#include <span>
#include <string>

#include "proxy/asio_config.h"
#include "proxy/redis_client.h"
#include "proxy/stats.h"
#include "reflex/server_session.h"

namespace reflex::proxy {

// What a server does with a hello while the store cannot answer
// (--replay-store-unavailable).
enum class ReplayStorePolicy : uint8_t {
  kRefuse,  // the hello goes to the fallback: no replay can pass, and no client gets in
  kLocal,   // this server's own filter decides alone: clients get in, and a hello
            // recorded on its way to another server can pass here
};

// What the server handler asks (one per thread): the verdict for the
// session (ServerSession::OnReplayVerdict) about the hello whose replay key
// is `key`, to be remembered for `ttl_ms`. `key` is copied at once.
class ReplayStore {
 public:
  virtual ~ReplayStore() = default;
  virtual awaitable<ReplayVerdict> Claim(std::span<const uint8_t> key, int64_t ttl_ms) = 0;
};

class RedisReplayStore final : public ReplayStore {
 public:
  // `client` and `counters` outlive the store; the prefix namespaces the
  // keys (several deployments may share one Redis).
  RedisReplayStore(RedisClient& client, std::string prefix, ReplayStorePolicy policy,
                   ReplayStoreCounters& counters)
      : client_(client), prefix_(std::move(prefix)), policy_(policy), counters_(counters) {}

  // kFresh, kSeen, or, without an answer, what the policy says
  // (kUnavailable under kRefuse, kFresh under kLocal).
  awaitable<ReplayVerdict> Claim(std::span<const uint8_t> key, int64_t ttl_ms) override;

 private:
  awaitable<ReplayVerdict> Judge(awaitable<std::pair<std::error_code, RedisReply>> answer);

  RedisClient& client_;
  std::string prefix_;
  ReplayStorePolicy policy_;
  ReplayStoreCounters& counters_;
  bool outage_ = false;  // logged once per outage
};

}  // namespace reflex::proxy

#endif  // REFLEX_PROXY_REPLAY_STORE_H_
