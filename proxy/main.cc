// reflex: the Reflex proxy.
//   reflex server --listen HOST:PORT --user UUID... --fallback HOST:PORT [--profile v2|v1-compat]...
//   reflex client --server HOST:PORT --user UUID --socks HOST:PORT [--http HOST:PORT]
//                 [--profile v2|v1-compat] [--morph youtube|zoom|http2-api]
//   reflex uuid
//   reflex probe server --target HOST:PORT --user UUID --profile v2|v1-compat
//                       --fallback-listen HOST:PORT --echo-listen HOST:PORT
//                       [--hello-wait MS] [--only NAME] [--json FILE] [--list]
//   reflex probe client --listen HOST:PORT --user UUID --profile v2|v1-compat
//                       --socks HOST:PORT [--only NAME] [--json FILE] [--list]
//   reflex probe fallback --target HOST:PORT --fallback HOST:PORT [--user UUID]
//                         [--tolerance-ms MS] [--tolerance-percent P] [--list]
// Every subcommand takes --config FILE (JSON, the flags' long names as
// keys) and --help.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdio>
#include <cstring>
#include <fstream>

#include <sodium.h>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "proxy/address.h"
#include "proxy/client_handler.h"
#include "proxy/connection_state.h"
#include "proxy/egress_policy.h"
#include "proxy/flags.h"
#include "proxy/local_auth.h"
#include "proxy/defects.h"
#include "proxy/log.h"
#include "proxy/redis_client.h"
#include "proxy/redis_users.h"
#include "proxy/replay_journal.h"
#include "proxy/replay_store.h"
#include "proxy/probe/probe.h"
#include "proxy/runtime.h"
#include "proxy/server_handler.h"
#include "reflex/crypto_init.h"
#include "reflex/openssl_cpu_mask.h"
#include "reflex/random.h"

namespace reflex::proxy {
namespace {

struct ProbeFlags {
  std::string target, fallback_listen, echo_listen, listen, socks, user, profile = "v2", only, json;
  std::string fallback;
  int64_t hello_wait_ms = 10000;
  int64_t tolerance_ms = 20;
  int64_t tolerance_percent = 20;
  double max_wait_s = 15;
  int parallel = 8;
  bool list = false;
  FirstFlightFlags first_flight;
};


// The server's default policy and its own addresses (every interface's,
// and the one it listens on), then the operator's ranges.
EgressPolicy TargetPolicyOf(const ServerFlags& flags, const HostPort& listen) {
  EgressPolicy policy = EgressPolicy::ServerDefault();
  std::vector<asio::ip::address> own = HostAddresses();
  std::error_code not_literal;
  const asio::ip::address listening = asio::ip::make_address(listen.host, not_literal);
  if (!not_literal) own.push_back(listening);
  policy.DenyOwn(own);
  Cidr c;
  for (const std::string& s : flags.allow_targets) {
    if (ParseCidr(s, &c)) policy.Allow(c);
  }
  for (const std::string& s : flags.deny_targets) {
    if (ParseCidr(s, &c)) policy.Deny(c);
  }
  return policy;
}

// A listening address only this machine can reach.
bool IsLoopback(const HostPort& address) {
  if (address.host == "localhost") return true;
  std::error_code ec;
  const asio::ip::address ip = asio::ip::make_address(address.host, ec);
  if (ec) return false;
  if (ip.is_v6() && ip.to_v6().is_v4_mapped()) {
    return asio::ip::make_address_v4(asio::ip::v4_mapped, ip.to_v6()).is_loopback();
  }
  return ip.is_loopback();
}

void WipeStrings(std::vector<std::string>& strings) {
  for (std::string& s : strings) sodium_memzero(s.data(), s.size());
}

// CLI11 keeps what it parsed for an option; its copy of a password goes
// once the program has its own.
void WipeOptionValues(CLI::Option* option) {
  for (std::string& value : const_cast<CLI::results_t&>(option->results())) {
    sodium_memzero(value.data(), value.size());
  }
  option->clear();
}

// The values of --local-user in argv, overwritten once parsed so that
// other users of the machine do not read passwords in `ps`.
void HideLocalUsersFromPs(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    char* value = nullptr;
    if (std::strcmp(argv[i], "--local-user") == 0 && i + 1 < argc) {
      value = argv[++i];
    } else if (std::strncmp(argv[i], "--local-user=", 13) == 0) {
      value = argv[i] + 13;
    }
    if (value != nullptr) std::memset(value, 'x', std::strlen(value));
  }
}

Timeouts TimeoutsOf(const CommonFlags& f) {
  auto ms = [](double s) { return std::chrono::milliseconds(static_cast<int64_t>(s * 1000)); };
  return {ms(f.handshake_timeout_s), ms(f.connect_timeout_s), ms(f.idle_timeout_s)};
}

ResolverOptions ResolverOf(const CommonFlags& f, size_t max_lookups_per_user) {
  ResolverOptions o;
  for (const std::string& s : f.dns_servers) {
    HostPort hp;
    if (ParseDnsServer(s, &hp)) o.servers.push_back(hp);
  }
  // A lookup is part of a connect, whose deadline bounds it as well.
  const double seconds = std::min(f.dns_timeout_s, f.connect_timeout_s);
  o.timeout = std::chrono::milliseconds(static_cast<int64_t>(seconds * 1000));
  o.max_in_flight_per_key = max_lookups_per_user;
  return o;
}

// One resolver per thread; false (and a message) if c-ares cannot start.
bool StartResolvers(Runtime& runtime, const ResolverOptions& options,
                    std::vector<std::unique_ptr<Resolver>>* out, std::string* error) {
  for (int t = 0; t < runtime.threads(); ++t) {
    std::unique_ptr<Resolver> resolver;
    if (const std::error_code ec = Resolver::Create(runtime.context(t).get_executor(), options, &resolver); ec) {
      *error = "cannot start the DNS resolver: " + ec.message();
      return false;
    }
    out->push_back(std::move(resolver));
  }
  return true;
}

RuntimeOptions RuntimeOf(const CommonFlags& f, const char* role) {
  RuntimeOptions o;
  o.threads = f.threads;
  o.max_connections = f.max_connections;
  o.drain_timeout = std::chrono::milliseconds(static_cast<int64_t>(f.drain_timeout_s * 1000));
  o.print_stats = f.stats;
  o.role = role;
  return o;
}

pool::PoolOptions StatePoolOptions(const char* name) {
  pool::PoolOptions options;
  options.name = name;
  options.checked = false;
  return options;
}

int Fail(const std::string& message) {
  std::fprintf(stderr, "reflex: %s\n", message.c_str());
  return 1;
}

// --check-config: the flags, the config file, the users and the ranges
// passed every check a start makes before it binds its ports and starts
// the resolver.
int ConfigurationOk() {
  std::fprintf(stderr, "reflex: configuration ok\n");
  return 0;
}

// The library's configuration from the flags; false (and *error) when it
// cannot be one.
bool ServerConfigOf(const CommonFlags& common, const ServerFlags& flags,
                    const std::vector<std::string>& redis_users, ServerConfig* config, std::string* error) {
  config->profiles.clear();
  for (const std::string& p : flags.profiles.empty() ? std::vector<std::string>{"v2"} : flags.profiles) {
    Profile profile;
    if (!ProfileFromName(p, &profile)) {
      *error = "unknown profile: " + p;
      return false;
    }
    config->profiles.push_back(profile);
  }
  config->users.clear();
  for (const std::string& u : flags.users) {  // twice on the command line: refused below
    UserId id;
    (void)ParseUserId(u, &id);
    config->users.push_back(id);
  }
  std::set<UserId> known(config->users.begin(), config->users.end());
  for (const std::string& u : redis_users) {
    UserId id;
    (void)ParseUserId(u, &id);
    // A user both on the command line and in Redis (or twice in Redis, in
    // two letter cases) is one user.
    if (known.insert(id).second) config->users.push_back(id);
  }
  if (config->users.empty()) {
    *error = "no users: --users-from " + flags.users_from + " holds no UUID and no --user is given";
    return false;
  }
  config->shared_replay_check = !flags.replay_store.empty();
  if (!FirstFlightOf(flags.first_flight, &config->first_flight, error)) return false;
  config->timestamp_window_seconds = flags.window_s;
  config->hello_wait_ms = flags.hello_wait_ms;
  config->replay_capacity = flags.replay_capacity;
  if (!AeadBackendFromName(common.aead, &config->backend)) {
    *error = "unknown AEAD: " + common.aead;
    return false;
  }
  if (const Error e = CheckAeadBackend(config->backend); e != Error::kOk) {
    *error = "--aead " + common.aead + " does not work here (" + std::string(ErrorName(e)) + ")";
    return false;
  }
  return true;
}

std::string BadServerConfiguration(Error e) {
  return "bad server configuration (" + std::string(ErrorName(e)) +
         "): users must be distinct, window and wait positive";
}

// What a reload cannot change in a running server: each setting whose
// value differs, by flag name.
std::vector<std::string> SettingsNeedingARestart(const CommonFlags& a, const ServerFlags& f,
                                                 const CommonFlags& b, const ServerFlags& g) {
  std::vector<std::string> changed;
  auto check = [&changed](const char* name, bool same) {
    if (!same) changed.push_back(name);
  };
  check("--listen", f.listen == g.listen);
  check("--fallback", f.fallback == g.fallback);
  check("--allow-target", f.allow_targets == g.allow_targets);
  check("--deny-target", f.deny_targets == g.deny_targets);
  check("--window", f.window_s == g.window_s);
  check("--replay-capacity", f.replay_capacity == g.replay_capacity);
  check("--metrics", f.metrics == g.metrics && f.public_metrics == g.public_metrics);
  check("--drop-removed-users", f.drop_removed_users == g.drop_removed_users);
  check("--state-dir", f.state_dir == g.state_dir);
  check("--fallback-dial", f.fallback_dial == g.fallback_dial);
  check("--fallback-dial-grace", f.fallback_dial_grace_ms == g.fallback_dial_grace_ms);
  check("--no-udp", f.no_udp == g.no_udp);
  check("--udp-associations-per-user", f.udp_associations_per_user == g.udp_associations_per_user);
  check("--udp-idle-timeout", f.udp_idle_timeout_s == g.udp_idle_timeout_s);
  check("--threads", a.threads == b.threads);
  check("--max-connections", a.max_connections == b.max_connections);
  check("--idle-timeout", a.idle_timeout_s == b.idle_timeout_s);
  check("--connect-timeout", a.connect_timeout_s == b.connect_timeout_s);
  check("--handshake-timeout", a.handshake_timeout_s == b.handshake_timeout_s);
  check("--drain-timeout", a.drain_timeout_s == b.drain_timeout_s);
  check("--log-level", a.log_level == b.log_level);
  check("--log-peers", a.log_peers == b.log_peers);
  check("--log-targets", a.log_targets == b.log_targets);
  check("--dns-server", a.dns_servers == b.dns_servers);
  check("--dns-timeout", a.dns_timeout_s == b.dns_timeout_s);
  check("--max-lookups-per-user", f.max_lookups_per_user == g.max_lookups_per_user);
  check("--stats", a.stats == b.stats);
  check("--replay-store", f.replay_store == g.replay_store &&
                              f.replay_store_unavailable == g.replay_store_unavailable &&
                              f.replay_store_timeout_ms == g.replay_store_timeout_ms);
  check("--redis-password-file", f.redis_password_file == g.redis_password_file);
  check("--redis-prefix", f.redis_prefix == g.redis_prefix);
  check("--users-from", f.users_from == g.users_from);
  check("--usage-to", f.usage_to == g.usage_to && f.usage_interval_s == g.usage_interval_s);
  return changed;
}

// SIGHUP: the command line parsed again (so the config file re-read).
// Users added are accepted from now on, users removed can open no new
// tunnel; profiles, --hello-wait and --aead apply to new connections;
// anything else is reported and left as it was.
// True when the new configuration is running.
bool Reload(const std::vector<std::string>& args, const CommonFlags& running_common,
            const ServerFlags& running, const std::vector<std::string>& redis_users, LiveServerContext& live) {
  CommonFlags common;
  ServerFlags flags;
  std::string error;
  ServerConfig config;
  if (!ParseServerArgs(args, &common, &flags, &error) ||
      !ServerConfigOf(common, flags, redis_users, &config, &error)) {
    REFLEX_LOG(kWarn, "reload: %s; the running configuration stays", error.c_str());
    return false;
  }
  if (running_common.idle_timeout_s * 1000 < static_cast<double>(flags.hello_wait_ms)) {
    REFLEX_LOG(kWarn, "reload: --hello-wait is longer than --idle-timeout; the running configuration stays");
    return false;
  }
  for (const std::string& name : SettingsNeedingARestart(running_common, running, common, flags)) {
    REFLEX_LOG(kWarn, "reload: %s changed, which takes a restart; ignored", name.c_str());
  }
  const std::shared_ptr<const ServerContext> previous = live.Current();
  config.timestamp_window_seconds = previous->config().timestamp_window_seconds;
  // Whether hellos ask a shared store is fixed at start with the store.
  config.shared_replay_check = previous->config().shared_replay_check;
  std::unique_ptr<ServerContext> next;
  if (const Error e = ServerContext::CreateReplacing(config, *previous, &next); e != Error::kOk) {
    REFLEX_LOG(kWarn, "reload: %s; the running configuration stays", BadServerConfiguration(e).c_str());
    return false;
  }
  size_t added = 0, removed = 0;
  for (const UserId& u : config.users) added += !previous->FindUser(u).has_value();
  for (const UserId& u : previous->config().users) removed += !next->FindUser(u).has_value();
  live.Replace(std::move(next));
  REFLEX_LOG(kInfo, "reload: %zu user(s): %zu added, %zu removed", config.users.size(), added, removed);
  return true;
}

// The options of one Redis connection from the server's flags; false
// (and *error) when the password file cannot be read.
bool RedisOptionsOf(const ServerFlags& flags, const std::string& url, bool with_key,
                    std::chrono::milliseconds timeout, RedisOptions* out, std::string* error) {
  if (!ParseRedisUrl(url, with_key, &out->endpoint, error)) return false;
  out->timeout = timeout;
  out->stall_after = std::max(std::chrono::milliseconds(1000), timeout * 4);
  if (flags.redis_password_file.empty()) return true;
  std::ifstream in(flags.redis_password_file);
  if (!in || !std::getline(in, out->password)) {
    *error = "cannot read --redis-password-file " + flags.redis_password_file;
    return false;
  }
  if (!out->password.empty() && out->password.back() == '\r') out->password.pop_back();  // a file from Windows
  return true;
}

int RunServer(const CommonFlags& common, const ServerFlags& flags, const std::vector<std::string>& args) {
  ServerConfig config;
  std::string error;
  if (!CheckRedisFlags(flags, &error)) return Fail(error);
  // The users kept in Redis, read before anything starts (a server that
  // cannot read them does not start: it would refuse every client).
  std::vector<std::string> redis_users;
  RedisOptions users_options;
  if (!flags.users_from.empty()) {
    if (!RedisOptionsOf(flags, flags.users_from, true, std::chrono::milliseconds(2000), &users_options, &error) ||
        !ReadUsersOnce(users_options, &redis_users, &error)) {
      return Fail(error);
    }
    REFLEX_LOG(kInfo, "users from Redis: %zu", redis_users.size());
  }
  if (!ServerConfigOf(common, flags, redis_users, &config, &error)) return Fail(error);
  RedisOptions store_options, usage_options;
  if (!flags.replay_store.empty() &&
      !RedisOptionsOf(flags, flags.replay_store, false, std::chrono::milliseconds(flags.replay_store_timeout_ms),
                      &store_options, &error)) {
    return Fail(error);
  }
  if (!flags.usage_to.empty() &&
      !RedisOptionsOf(flags, flags.usage_to, false, std::chrono::milliseconds(2000), &usage_options, &error)) {
    return Fail(error);
  }
  std::unique_ptr<ServerContext> context;
  if (const Error e = ServerContext::Create(config, &context); e != Error::kOk) {
    return Fail(BadServerConfiguration(e));
  }
  if (common.idle_timeout_s * 1000 < static_cast<double>(flags.hello_wait_ms)) {
    return Fail("--idle-timeout must be at least the hello wait (--hello-wait): a connection "
                "still waiting for its hello goes to the fallback, it is not dropped as idle");
  }
  HostPort listen, fallback, metrics;
  (void)ParseHostPort(flags.listen, &listen);
  (void)ParseHostPort(flags.fallback, &fallback);
  if (!flags.metrics.empty()) {
    (void)ParseHostPort(flags.metrics, &metrics);
    std::error_code not_literal;
    (void)asio::ip::make_address(metrics.host, not_literal);
    if (not_literal) return Fail("--metrics needs an IP address, not a name: " + flags.metrics);
    if (!IsLoopback(metrics) && !flags.public_metrics) {
      return Fail("--metrics " + flags.metrics +
                  " is beyond loopback: anyone who reaches it learns a Reflex server runs here; "
                  "scrape it through a tunnel, or add --public-metrics");
    }
  }
  const EgressPolicy target_policy = TargetPolicyOf(flags, listen);
  if (common.check_config) return ConfigurationOk();
  SystemClock clock;
  // Declared before the context it is attached to, so it outlives it.
  std::unique_ptr<FileReplayJournal> journal;
  if (!flags.state_dir.empty()) {
    size_t restored = 0;
    if (const std::error_code ec = FileReplayJournal::Open(flags.state_dir, flags.window_s, clock,
                                                           context->replay_filter(), &journal, &restored);
        ec) {
      const std::string why = ec == std::errc::device_or_resource_busy
                                  ? "another reflex server is using its journal"
                                  : ec.message();
      return Fail("cannot use --state-dir " + flags.state_dir + " for the replay journal: " + why);
    }
    REFLEX_LOG(kInfo, "replay journal: %zu hello(s) read back from %s", restored, flags.state_dir.c_str());
  }
  LiveServerContext live(std::move(context));
  Runtime runtime(RuntimeOf(common, "server"));
  ServerStatePool states(StatePoolOptions("server-states"));
  runtime.AddPool("states", [&states] { return states.Stats(); }, [&states](bool shared_lists) {
    return states.DecayThreadCache() + (shared_lists ? states.DecaySharedLists() : 0);
  });
  std::vector<std::unique_ptr<ServerEnv>> envs;
  std::vector<std::unique_ptr<TcpDialer>> dialers;
  std::vector<std::unique_ptr<Sweeper>> sweepers;
  std::vector<std::unique_ptr<Resolver>> resolvers;
  if (!StartResolvers(runtime, ResolverOf(common, flags.max_lookups_per_user), &resolvers, &error)) {
    return Fail(error);
  }
  // One connection to the shared replay store per thread, on its loop.
  std::vector<std::unique_ptr<RedisClient>> store_clients;
  std::vector<std::unique_ptr<RedisReplayStore>> stores;
  const ReplayStorePolicy policy =
      flags.replay_store_unavailable == "local" ? ReplayStorePolicy::kLocal : ReplayStorePolicy::kRefuse;
  for (int t = 0; !flags.replay_store.empty() && t < runtime.threads(); ++t) {
    store_options.name = "replay store";
    store_clients.push_back(std::make_unique<RedisClient>(runtime.context(t).get_executor(), store_options));
    if (!store_clients.back()->resolved()) return Fail("--replay-store " + flags.replay_store + ": cannot resolve its host");
    asio::co_spawn(runtime.context(t), store_clients.back()->Run(), asio::detached);
    stores.push_back(std::make_unique<RedisReplayStore>(*store_clients.back(), flags.redis_prefix + "replay:",
                                                         policy, runtime.stats().replay_store));
  }
  std::unique_ptr<RedisUserFollower> follower;
  std::unique_ptr<UsageReporter> usage;
  if (!flags.usage_to.empty()) {
    usage = std::make_unique<UsageReporter>(runtime.context(0).get_executor(), usage_options, flags.redis_prefix,
                                            runtime.stats().users, std::chrono::seconds(flags.usage_interval_s));
    usage->Start();
  }
  for (int t = 0; t < runtime.threads(); ++t) {
    sweepers.push_back(std::make_unique<Sweeper>(runtime.context(t).get_executor()));
    auto env = std::make_unique<ServerEnv>();
    env->sweeper = sweepers.back().get();
    env->pool = &runtime.pool();
    env->stats = &runtime.stats();
    env->clock = &clock;
    env->timeouts = TimeoutsOf(common);
    env->live = &live;
    env->drop_removed_users = flags.drop_removed_users;
    env->states = &states;
    env->fallback = fallback;
    env->fallback_dial = flags.fallback_dial == "late" ? FallbackDial::kLate : FallbackDial::kEarly;
    env->fallback_dial_grace = std::chrono::milliseconds(flags.fallback_dial_grace_ms);
    env->udp.enabled = !flags.no_udp;
    env->udp.associations_per_user = flags.udp_associations_per_user;
    env->udp.idle = std::chrono::seconds(flags.udp_idle_timeout_s);
    env->draining = runtime.draining();
    if (!stores.empty()) env->replay_store = stores[static_cast<size_t>(t)].get();
    if constexpr (kDefectAcceptReplay) env->per_connection_context = &ContextOfItsOwn;
    envs.push_back(std::move(env));
    dialers.push_back(std::make_unique<TcpDialer>(runtime.context(t).get_executor(), TimeoutsOf(common).connect,
                                                  *resolvers[static_cast<size_t>(t)], &target_policy));
  }
  // SIGHUP and the Redis user set's changes both run on thread 0.
  runtime.OnReload([&] { (void)Reload(args, common, flags, redis_users, live); });
  if (!flags.users_from.empty()) {
    follower = std::make_unique<RedisUserFollower>(
        runtime.context(0).get_executor(), users_options, [&](std::vector<std::string> users) {
          if (users == redis_users) {
            WipeStrings(users);
            return;
          }
          // Kept only once running: a reading that could not be applied
          // (the config file mid-edit, say) is applied at the next one.
          if (Reload(args, common, flags, users, live)) {
            WipeStrings(redis_users);
            redis_users = std::move(users);
          }
          WipeStrings(users);
        });
    follower->Start();
  }
  if (!flags.metrics.empty()) {
    if (const std::error_code e = runtime.ListenMetrics(metrics); e) {
      return Fail("cannot listen on " + FormatHostPort(metrics) + " (--metrics): " + e.message());
    }
  }
  const std::error_code e = runtime.Listen(listen, "server", [&](asio::ip::tcp::socket s, int t) {
    ServerEnv& env = *envs[static_cast<size_t>(t)];
    if (env.random == nullptr) env.random = &ThreadRandom();  // this thread's
    asio::co_spawn(runtime.context(t),
                   ServeReflexConnection(TcpStream(std::move(s)), env, *dialers[static_cast<size_t>(t)]),
                   asio::detached);
  });
  if (e) return Fail("cannot listen on " + FormatHostPort(listen) + ": " + e.message());
  return runtime.Run();
}

int RunClient(const CommonFlags& common, ClientFlags& flags) {
  ClientEnv base;
  if (!ProfileFromName(flags.profile, &base.session.profile)) return Fail("unknown profile: " + flags.profile);
  (void)ParseUserId(flags.user, &base.session.user);
  if (!AeadBackendFromName(common.aead, &base.session.backend)) return Fail("unknown AEAD: " + common.aead);
  if (const Error e = CheckAeadBackend(base.session.backend); e != Error::kOk) {
    return Fail("--aead " + common.aead + " does not work here (" + std::string(ErrorName(e)) + ")");
  }
  if (std::string error; !FirstFlightOf(flags.first_flight, &base.session.first_flight, &error)) {
    return Fail(error);
  }
  if (!flags.morph.empty()) {
    base.morph = FindMorphProfile(flags.morph);
    if (base.morph == nullptr) return Fail("unknown morphing profile: " + flags.morph);
  }
  (void)ParseHostPort(flags.server, &base.server);
  HostPort socks, http;
  (void)ParseHostPort(flags.socks, &socks);
  const bool with_http = !flags.http.empty() && ParseHostPort(flags.http, &http);
  LocalUsers local_users;
  for (std::string& spec : flags.local_users) {  // Add wipes each
    if (!local_users.Add(spec)) return Fail("--local-user must be NAME:PASS");
  }
  base.local_users = &local_users;
  for (const HostPort* local : {&socks, with_http ? &http : nullptr}) {
    if (local == nullptr || IsLoopback(*local) || !local_users.empty()) continue;
    if (!flags.allow_open_proxy) {
      return Fail("refusing to listen on " + FormatHostPort(*local) +
                  " without --local-user: anyone who reaches it could use your Reflex credential "
                  "(an open proxy); add --local-user NAME:PASS, or --allow-open-proxy if that is meant");
    }
    REFLEX_LOG(kWarn, "%s is an open proxy (--allow-open-proxy): anyone who reaches it uses your credential",
               FormatHostPort(*local).c_str());
  }
  if (common.check_config) return ConfigurationOk();
  SystemClock clock;
  Runtime runtime(RuntimeOf(common, "client"));
  ClientStatePool states(StatePoolOptions("client-states"));
  runtime.AddPool("states", [&states] { return states.Stats(); }, [&states](bool shared_lists) {
    return states.DecayThreadCache() + (shared_lists ? states.DecaySharedLists() : 0);
  });
  std::vector<std::unique_ptr<ClientEnv>> envs;
  std::vector<std::unique_ptr<TcpDialer>> dialers;
  std::vector<std::unique_ptr<Sweeper>> sweepers;
  std::vector<std::unique_ptr<Resolver>> resolvers;
  std::string error;
  if (!StartResolvers(runtime, ResolverOf(common, kMaxLookupsPerUser), &resolvers, &error)) return Fail(error);
  for (int t = 0; t < runtime.threads(); ++t) {
    sweepers.push_back(std::make_unique<Sweeper>(runtime.context(t).get_executor()));
    auto env = std::make_unique<ClientEnv>(base);
    env->sweeper = sweepers.back().get();
    env->states = &states;
    env->pool = &runtime.pool();
    env->stats = &runtime.stats();
    env->clock = &clock;
    env->timeouts = TimeoutsOf(common);
    envs.push_back(std::move(env));
    dialers.push_back(std::make_unique<TcpDialer>(runtime.context(t).get_executor(), TimeoutsOf(common).connect,
                                                  *resolvers[static_cast<size_t>(t)]));
  }
  auto handler = [&](LocalProtocol protocol) {
    return [&, protocol](asio::ip::tcp::socket s, int t) {
      ClientEnv& env = *envs[static_cast<size_t>(t)];
      if (env.random == nullptr) env.random = &ThreadRandom();
      asio::co_spawn(runtime.context(t),
                     ServeLocalConnection(TcpStream(std::move(s)), protocol, env,
                                          *dialers[static_cast<size_t>(t)]),
                     asio::detached);
    };
  };
  if (std::error_code e = runtime.Listen(socks, "socks", handler(LocalProtocol::kSocks5)); e) {
    return Fail("cannot listen on " + FormatHostPort(socks) + ": " + e.message());
  }
  if (with_http) {
    if (std::error_code e = runtime.Listen(http, "http", handler(LocalProtocol::kHttpConnect)); e) {
      return Fail("cannot listen on " + FormatHostPort(http) + ": " + e.message());
    }
  }
  return runtime.Run();
}

int RunFallbackProbe(const ProbeFlags& f) {
  probe::FallbackProbeOptions o;
  if (!ProfileFromName(f.profile, &o.profile)) return Fail("unknown profile: " + f.profile);
  if (std::string error; !FirstFlightOf(f.first_flight, &o.first_flight, &error)) return Fail(error);
  if (!f.user.empty()) {
    UserId user;
    (void)ParseUserId(f.user, &user);
    o.user = user;
  }
  if (f.list) {
    for (const std::string& name : probe::FallbackProbeNames(o)) std::printf("%s\n", name.c_str());
    return 0;
  }
  (void)ParseHostPort(f.target, &o.target);
  (void)ParseHostPort(f.fallback, &o.fallback);
  o.tolerance = std::chrono::milliseconds(f.tolerance_ms);
  o.tolerance_fraction = static_cast<double>(f.tolerance_percent) / 100.0;
  o.max_wait = std::chrono::milliseconds(static_cast<int64_t>(f.max_wait_s * 1000));
  o.parallel = f.parallel;
  o.only = f.only;
  o.json_path = f.json;
  return probe::ProbeFallback(o);
}

int RunProbe(const ProbeFlags& f, bool server) {
  Profile profile;
  if (!ProfileFromName(f.profile, &profile)) return Fail("unknown profile: " + f.profile);
  if (f.list) {
    for (const std::string& name : server ? probe::ServerScenarioNames(profile)
                                          : probe::ClientScenarioNames(profile)) {
      std::printf("%s\n", name.c_str());
    }
    return 0;
  }
  UserId user;
  if (!ParseUserId(f.user, &user)) return Fail("--user is required (a user the implementation knows)");
  FirstFlight first_flight;
  if (std::string error; !FirstFlightOf(f.first_flight, &first_flight, &error)) return Fail(error);
  if (server) {
    probe::ServerProbeOptions o;
    (void)ParseHostPort(f.target, &o.target);
    (void)ParseHostPort(f.fallback_listen, &o.fallback_listen);
    (void)ParseHostPort(f.echo_listen, &o.echo_listen);
    o.user = user;
    o.profile = profile;
    o.first_flight = first_flight;
    o.hello_wait = std::chrono::milliseconds(f.hello_wait_ms);
    o.only = f.only;
    o.json_path = f.json;
    return probe::ProbeServer(o);
  }
  probe::ClientProbeOptions o;
  (void)ParseHostPort(f.listen, &o.listen);
  (void)ParseHostPort(f.socks, &o.socks);
  o.user = user;
  o.profile = profile;
  o.first_flight = first_flight;
  o.only = f.only;
  o.json_path = f.json;
  return probe::ProbeClient(o);
}


}  // namespace
}  // namespace reflex::proxy

int main(int argc, char** argv) {
  using namespace reflex;
  using namespace reflex::proxy;
  MaskOpensslIfma(argv);
  if (reflex::InitCrypto() != reflex::Error::kOk) return Fail("libsodium did not initialize");
  CLI::App app("reflex: the Reflex proxy (server, client) and its tools", "reflex");
  app.require_subcommand(1);
  CommonFlags common;
  ServerFlags sf;
  ClientFlags cf;

  CLI::App* server = app.add_subcommand("server", "accept Reflex clients; the rest goes to the fallback");
  AddCommonOptions(server, &common);
  AddServerOptions(server, &sf);

  CLI::App* client = app.add_subcommand("client", "SOCKS5 (and HTTP CONNECT) into Reflex tunnels");
  AddCommonOptions(client, &common);
  AddClientOptions(client, &cf);

  CLI::App* uuid = app.add_subcommand("uuid", "print a fresh user UUID");

  CLI::App* probe = app.add_subcommand("probe", "test another Reflex implementation over sockets");
  probe->require_subcommand(1);
  ProbeFlags pf;
  CLI::App* probe_server = probe->add_subcommand("server", "play the client against a server under test");
  probe_server->add_option("--target", pf.target, "the server under test")->required()->check(HostPortCheck());
  probe_server->add_option("--fallback-listen", pf.fallback_listen,
                           "where the server's --fallback points (the probe listens)")
      ->required()->check(HostPortCheck());
  probe_server->add_option("--echo-listen", pf.echo_listen, "a target the server may reach (the probe's echo)")
      ->required()->check(HostPortCheck());
  probe_server->add_option("--hello-wait", pf.hello_wait_ms, "the server's hello wait, in milliseconds")
      ->check(CLI::Range(int64_t{1}, kMaxHelloWaitMs));
  CLI::App* probe_fallback = probe->add_subcommand(
      "fallback", "send the same probes to a server and to its fallback directly, and compare");
  probe_fallback->add_option("--target", pf.target, "the server under test")->required()->check(HostPortCheck());
  probe_fallback->add_option("--fallback", pf.fallback, "its fallback, reached directly")
      ->required()->check(HostPortCheck());
  probe_fallback->add_option("--user", pf.user, "a user the server accepts (adds the genuine-hello probes)")
      ->check(UuidCheck());
  probe_fallback->add_option("--profile", pf.profile, "the user's profile: v2 (default) or v1-compat")
      ->check(CLI::IsMember({"v2", "v1-compat"}));
  probe_fallback->add_option("--tolerance-ms", pf.tolerance_ms, "times agree within this, plus --tolerance-percent")
      ->check(CLI::Range(int64_t{0}, int64_t{60000}));
  probe_fallback->add_option("--tolerance-percent", pf.tolerance_percent, "of the larger time")
      ->check(CLI::Range(int64_t{0}, int64_t{100}));
  probe_fallback->add_option("--max-wait", pf.max_wait_s,
                             "seconds to watch one connection (past the fallback's own timeouts)")
      ->check(CLI::Range(0.1, 600.0));
  probe_fallback->add_option("--parallel", pf.parallel, "probes at once")->check(CLI::Range(1, 64));
  probe_fallback->add_option("--only", pf.only, "run one probe");
  probe_fallback->add_option("--json", pf.json, "also write the verdicts as JSON");
  probe_fallback->add_flag("--list", pf.list, "print the probes' names and exit");
  CLI::App* probe_client = probe->add_subcommand("client", "play the server for a client under test");
  probe_client->add_option("--listen", pf.listen, "where the client's --server points (the probe listens)")
      ->required()->check(HostPortCheck());
  probe_client->add_option("--socks", pf.socks, "the client's SOCKS5 address")->required()->check(HostPortCheck());
  for (CLI::App* sub : {probe_server, probe_client, probe_fallback}) AddFirstFlightOptions(sub, &pf.first_flight);
  for (CLI::App* sub : {probe_server, probe_client}) {
    sub->add_option("--user", pf.user, "a user the implementation under test knows")->check(UuidCheck());
    sub->add_option("--profile", pf.profile, "v2 (default) or v1-compat")
        ->check(CLI::IsMember({"v2", "v1-compat"}));
    sub->add_option("--only", pf.only, "run one scenario");
    sub->add_option("--json", pf.json, "also write the verdicts as JSON");
    sub->add_flag("--list", pf.list, "print the scenarios' names and exit");
  }

  for (CLI::App* sub : {server, client}) LastValueWins(sub);
  std::vector<std::string> args(argv + 1, argv + argc);
  // What a reload parses again (the config file is re-read then).
  const std::vector<std::string> server_args =
      !args.empty() && args[0] == "server" ? std::vector<std::string>(args.begin() + 1, args.end())
                                           : std::vector<std::string>();
  if (!args.empty()) {
    for (CLI::App* sub : {server, client}) {
      if (args[0] == sub->get_name()) {
        std::vector<std::string> rest(args.begin() + 1, args.end());
        std::string error;
        if (!ExpandConfig(rest, sub, &error)) return Fail(error);
        rest.insert(rest.begin(), args[0]);
        WipeStrings(args);
        args = rest;
        WipeStrings(rest);
      }
    }
  }
  std::reverse(args.begin(), args.end());  // CLI11 parses a reversed vector
  try {
    app.parse(args);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::fprintf(stderr, "reflex: %s (see --help)\n", e.what());
    return 2;
  }
  // The command line's copies of --local-user's passwords: gone once read.
  HideLocalUsersFromPs(argc, argv);
  WipeStrings(args);
  WipeOptionValues(client->get_option("--local-user"));
  LogLevel level;
  if (LogLevelFromName(common.log_level, &level)) SetLogLevel(level);
  PeerLogging peers = PeerLogging::kHashed;
  (void)PeerLoggingFromName(common.log_peers, &peers);
  SetLogPrivacy(peers, common.log_targets);
  if (uuid->parsed()) {
    UserId id;
    reflex::Csprng random;
    random.Fill(id);
    id[6] = static_cast<uint8_t>((id[6] & 0x0F) | 0x40);  // version 4
    id[8] = static_cast<uint8_t>((id[8] & 0x3F) | 0x80);  // RFC 4122 variant
    const auto text = FormatUserId(id);
    std::printf("%.*s\n", 36, text.data());
    return 0;
  }
  if (probe_server->parsed()) return RunProbe(pf, /*server=*/true);
  if (probe_client->parsed()) return RunProbe(pf, /*server=*/false);
  if (probe_fallback->parsed()) return RunFallbackProbe(pf);
  if (server->parsed()) return RunServer(common, sf, server_args);
  if (client->parsed()) return RunClient(common, cf);
  return 2;
}
