// What the connection handlers of one thread share: the buffer pool, the
// statistics, the clock and random source, and the timeouts.
#ifndef REFLEX_PROXY_ENV_H_
#define REFLEX_PROXY_ENV_H_

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <memory>
#include <unordered_set>

#include "base/mutex.h"
#include "base/thread_annotations.h"

#include "pool/buffer_pool.h"
#include "proxy/address.h"
#include "proxy/connection_state.h"
#include "proxy/local_auth.h"
#include "proxy/replay_store.h"
#include "proxy/stats.h"
#include "proxy/watchdog.h"
#include "reflex/client_session.h"
#include "reflex/morph.h"
#include "reflex/random.h"
#include "reflex/server_session.h"
#include "reflex/session_types.h"
#include "reflex/wire.h"

namespace reflex::proxy {

// A server connection reads its hello into 2 KiB (taken only once bytes
// arrive), then, after the handshake, the request frame into 32 KiB (at
// most 76 + 16403 bytes in all). A local SOCKS5 or HTTP
// CONNECT request fits 8 KiB. A tunnel receives into 128 KiB buffers
// (about 8 frames a read; smaller ones, switched by size, measured slower),
// and sends from a small buffer (one frame, 32 KiB) until a read fills it,
// then from 128 KiB ones: 7 frames sealed from one scattered read and sent
// with one gathered write. Idle tunnels hold no buffer at all.
inline constexpr size_t kHelloBufferBytes = 2 * 1024;
inline constexpr size_t kHandshakeBufferBytes = 32 * 1024;
inline constexpr size_t kLocalRequestBytes = 8 * 1024;
inline constexpr size_t kSmallBufferBytes = 32 * 1024;
inline constexpr size_t kLargeBufferBytes = 128 * 1024;
inline constexpr size_t kMaxFramesPerWrite = 7;
static_assert(kMaxFramesPerWrite * kMaxFrameBytes + kFrameOverheadBytes + 1 <= kLargeBufferBytes,
              "7 frames and a CLOSE fit a large buffer");
static_assert(kMaxFrameBytes + kFrameOverheadBytes + 1 <= kSmallBufferBytes,
              "a frame and a CLOSE fit a small buffer");
inline constexpr size_t kPlainBufferBytes = 32 * 1024;

struct Timeouts {
  std::chrono::milliseconds handshake{10000};  // a client's SOCKS/HTTP request, a server hello
  std::chrono::milliseconds connect{10000};    // a TCP connect (target, fallback, server)
  std::chrono::milliseconds idle{300000};      // no byte either way for this long
};

struct ProxyEnv {
  pool::BufferPool* pool = nullptr;
  Stats* stats = nullptr;
  const Clock* clock = nullptr;
  RandomSource* random = nullptr;
  Sweeper* sweeper = nullptr;  // this thread's deadlines (watchdog.h)
  Timeouts timeouts;
};

// The server's context as the last reload (SIGHUP) left it. A connection
// takes the current one when it starts and holds it for its life, so a
// reload never changes the users under a handshake in progress.
class LiveServerContext {
 public:
  explicit LiveServerContext(std::shared_ptr<const ServerContext> context) { Replace(std::move(context)); }
  std::shared_ptr<const ServerContext> Current() const {
    base::MutexLock lock(mu_);
    return current_;
  }
  void Replace(std::shared_ptr<const ServerContext> next) {
    UserSet users(next->config().users.begin(), next->config().users.end());
    {
      base::MutexLock lock(mu_);
      current_ = std::move(next);
      users_.swap(users);
    }
    generation_.fetch_add(1, std::memory_order_release);
  }
  // Changes at each Replace: a cheap "anything new?" for the sweeps.
  uint64_t generation() const { return generation_.load(std::memory_order_acquire); }
  // Whether the current users include `id` (an id already authenticated:
  // a hash lookup, not a constant-time one).
  bool HasUser(const UserId& id) const {
    base::MutexLock lock(mu_);
    return users_.contains(id);
  }

 private:
  struct UserIdHash {
    size_t operator()(const UserId& id) const {
      size_t h = 0;
      std::memcpy(&h, id.data(), sizeof h);
      return h;
    }
  };
  using UserSet = std::unordered_set<UserId, UserIdHash>;

  mutable base::Mutex mu_;
  std::shared_ptr<const ServerContext> current_ REFLEX_GUARDED_BY(mu_);
  UserSet users_ REFLEX_GUARDED_BY(mu_);
  std::atomic<uint64_t> generation_{0};
};

// UDP associations (SPEC.md 15.3): on or off, at most this many per user
// at once, ended after this long with no datagram either way.
struct UdpSettings {
  bool enabled = true;
  uint64_t associations_per_user = 64;
  std::chrono::milliseconds idle{60000};
};

// When the server dials its fallback (--fallback-dial).
enum class FallbackDial : uint8_t {
  kEarly,  // at once for a connection that has sent nothing yet
  kLate,   // only once a connection is judged not Reflex
};

struct ServerEnv : ProxyEnv {
  // The users and settings: `live` when the server can reload, else the
  // fixed `context` (tests, the fuzz target).
  const ServerContext* context = nullptr;
  const LiveServerContext* live = nullptr;
  // A user a reload removed loses its open tunnels too (else they run on).
  bool drop_removed_users = false;
  ServerStatePool* states = nullptr;
  HostPort fallback;
  FallbackDial fallback_dial = FallbackDial::kEarly;
  // Early dialing waits this long for the client's first bytes before it
  // dials (SPEC 12.1's grace): a genuine hello that comes just after its
  // connection then costs no fallback connection.
  std::chrono::milliseconds fallback_dial_grace{0};
  UdpSettings udp;
  // Set once the server is shutting down (null: never).
  const std::atomic<bool>* draining = nullptr;
  // This thread's connection to the replay filter several servers share
  // (null: none; the context's config says shared_replay_check then).
  ReplayStore* replay_store = nullptr;
  // Test-only (proxy/defects.h): a context of the connection's own in
  // place of `context`. Null in every release build.
  std::unique_ptr<ServerContext> (*per_connection_context)(const ServerContext& shared) = nullptr;
};

struct ClientEnv : ProxyEnv {
  HostPort server;
  ClientStatePool* states = nullptr;
  ClientConfig session;                   // profile, user, AEAD backend
  const MorphProfile* morph = nullptr;    // shaping of what the client sends
  const LocalUsers* local_users = nullptr;  // null or empty: the local ports are open
};

}  // namespace reflex::proxy

#endif  // REFLEX_PROXY_ENV_H_
