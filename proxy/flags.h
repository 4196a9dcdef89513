// The flags of `reflex server` and `reflex client`, and --config FILE (a
// JSON object whose keys are the flags' long names). One definition for
// the start and for a reload (SIGHUP), which parses the same command line
// again and so re-reads the file.
#ifndef REFLEX_PROXY_FLAGS_H_
#define REFLEX_PROXY_FLAGS_H_

#include <CLI/CLI.hpp>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "proxy/address.h"
#include "reflex/aead.h"
#include "reflex/first_flight.h"

namespace reflex::proxy {

struct CommonFlags {
  std::string log_level = "info";
  std::string log_peers = "hashed";
  bool log_targets = false;
  int threads = 0;
  bool stats = false;
  std::string aead = std::string(AeadBackendName(DefaultAeadBackend()));
  size_t max_connections = 20000;
  double drain_timeout_s = 10;
  double idle_timeout_s = 300;
  double connect_timeout_s = 10;
  double handshake_timeout_s = 10;
  bool check_config = false;
  std::vector<std::string> dns_servers;  // IP[:PORT]; empty: /etc/resolv.conf's
  double dns_timeout_s = 5;
};

// v2's first flight on the wire (SPEC.md 11.8): the same on client and
// server, like the user id.
struct FirstFlightFlags {
  std::string shape = "raw";  // raw | http | tls
  std::string host;           // http and tls: the Host header, the server_name
  std::string path = "/";     // http: the request target's prefix
};

struct ServerFlags {
  std::string listen, fallback;
  std::vector<std::string> users, profiles;
  std::vector<std::string> allow_targets, deny_targets;
  int64_t window_s = 120;
  int64_t hello_wait_ms = 10000;
  size_t replay_capacity = 131072;
  std::string metrics;          // HOST:PORT of the Prometheus endpoint; empty: none
  bool public_metrics = false;  // let --metrics listen beyond loopback
  bool drop_removed_users = false;
  size_t max_lookups_per_user = 8;
  std::string state_dir;  // the replay journal's directory; empty: none
  std::string fallback_dial = "early";  // early | late
  int64_t fallback_dial_grace_ms = 2;
  // UDP associations (SPEC.md 15.3).
  bool no_udp = false;
  uint64_t udp_associations_per_user = 64;
  int64_t udp_idle_timeout_s = 60;
  FirstFlightFlags first_flight;
  // Several servers (SPEC 12.4, docs/scaling.md).
  std::string replay_store;                        // redis://... or unix://...; empty: none
  std::string replay_store_unavailable = "refuse";  // refuse | local
  int64_t replay_store_timeout_ms = 200;
  std::string redis_password_file;  // the password of every Redis connection
  std::string redis_prefix = "reflex:";
  std::string users_from;  // redis://.../DB/KEY: a set of UUIDs, followed
  std::string usage_to;    // redis://...: per-user counters added there
  int64_t usage_interval_s = 5;
};

struct ClientFlags {
  std::string server, socks, http, user, profile = "v2", morph;
  std::vector<std::string> local_users;
  bool allow_open_proxy = false;
  FirstFlightFlags first_flight;
};

// The ranges of the numeric flags. Durations are converted to integer
// milliseconds, so NaN, infinities and values past these bounds (where the
// conversion would be undefined) are refused before they are read.
inline constexpr double kMaxTimeoutSeconds = 7 * 24 * 3600;  // a week
inline constexpr int64_t kMaxHelloWaitMs = 600000;           // ten minutes
// A grace longer than this would shift a silent prober's view of the
// fallback's timers measurably (SPEC 12.1 allows a few milliseconds).
inline constexpr int64_t kMaxFallbackDialGraceMs = 10;
inline constexpr uint64_t kMaxUdpAssociationsPerUser = 65536;
inline constexpr int64_t kMaxUdpIdleTimeoutS = 3600;
inline constexpr int64_t kMaxWindowSeconds = 24 * 3600;
// The replay filter must remember at least a burst of hellos, and at most
// what fits in memory comfortably (about 40 bytes each).
inline constexpr size_t kMinReplayCapacity = 1024;
inline constexpr size_t kMaxReplayCapacity = size_t{1} << 24;
inline constexpr size_t kMaxLookupsPerUser = 1024;

// --dns-server's value: an IP literal, its port 53 unless given.
bool ParseDnsServer(const std::string& text, HostPort* out);

// Checks of a flag's value: HOST:PORT, and a user's UUID.
CLI::Validator HostPortCheck();
CLI::Validator UuidCheck();

// The shape the flags describe; false and *error (naming the flag) when
// they describe none.
bool FirstFlightOf(const FirstFlightFlags& flags, FirstFlight* out, std::string* error);
// --first-flight, --first-flight-host, --first-flight-path (server, client
// and the probes).
void AddFirstFlightOptions(CLI::App* app, FirstFlightFlags* f);

void AddCommonOptions(CLI::App* app, CommonFlags* f);
void AddServerOptions(CLI::App* app, ServerFlags* f);
void AddClientOptions(CLI::App* app, ClientFlags* f);
// A flag given twice (in the file and on the command line) takes the
// last value; repeatable ones (--user, ...) collect every value.
void LastValueWins(CLI::App* sub);

// --config FILE: the JSON object's keys become flags placed before the
// command line's own, so the command line wins. False (and *error) for an
// unreadable file, a key that is not one of `sub`'s flags, or a value that
// is not a string, number, list or boolean.
bool ExpandConfig(std::vector<std::string>& args, CLI::App* sub, std::string* error);

// The Redis flags of a server: some user (--user or --users-from), and
// URLs of the right form. false and *error otherwise.
[[nodiscard]] bool CheckRedisFlags(const ServerFlags& flags, std::string* error);

// `reflex server ARGS` parsed again, as at the start (for a reload).
bool ParseServerArgs(const std::vector<std::string>& args, CommonFlags* common, ServerFlags* flags,
                     std::string* error);

}  // namespace reflex::proxy

#endif  // REFLEX_PROXY_FLAGS_H_
