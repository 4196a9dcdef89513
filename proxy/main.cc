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
// Every subcommand takes --config FILE (JSON, the flags' long names as
// keys) and --help.
#include <CLI/CLI.hpp>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "proxy/address.h"
#include "proxy/client_handler.h"
#include "proxy/connection_state.h"
#include "proxy/egress_policy.h"
#include "proxy/local_auth.h"
#include "proxy/defects.h"
#include "proxy/log.h"
#include "proxy/probe/probe.h"
#include "proxy/runtime.h"
#include "proxy/server_handler.h"
#include "reflex/crypto_init.h"
#include "reflex/random.h"

namespace reflex::proxy {
namespace {

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
};

struct ServerFlags {
  std::string listen, fallback;
  std::vector<std::string> users, profiles;
  std::vector<std::string> allow_targets, deny_targets;
  int64_t window_s = 120;
  int64_t hello_wait_ms = 10000;
  size_t replay_capacity = 131072;
};

struct ProbeFlags {
  std::string target, fallback_listen, echo_listen, listen, socks, user, profile = "v2", only, json;
  int64_t hello_wait_ms = 10000;
  bool list = false;
};

struct ClientFlags {
  std::string server, socks, http, user, profile = "v2", morph;
  std::vector<std::string> local_users;
  bool allow_open_proxy = false;
};

// The ranges of the numeric flags. Durations are converted to integer
// milliseconds, so NaN, infinities and values past these bounds (where the
// conversion would be undefined) are refused before they are read.
inline constexpr double kMaxTimeoutSeconds = 7 * 24 * 3600;  // a week
inline constexpr int64_t kMaxHelloWaitMs = 600000;           // ten minutes
inline constexpr int64_t kMaxWindowSeconds = 24 * 3600;
// The replay filter must remember at least a burst of hellos, and at most
// what fits in memory comfortably (about 40 bytes each).
inline constexpr size_t kMinReplayCapacity = 1024;
inline constexpr size_t kMaxReplayCapacity = size_t{1} << 24;

// A finite number of seconds in [min, max].
CLI::Validator SecondsIn(double min, double max) {
  auto text = [](double v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%g", v);
    return std::string(buf);
  };
  const std::string range = "seconds from " + text(min) + " to " + text(max);
  return CLI::Validator(
      [min, max, range](std::string& s) -> std::string {
        double v = 0;
        const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
        if (ec != std::errc() || end != s.data() + s.size() || !std::isfinite(v) || v < min ||
            v > max) {
          return "'" + s + "' is not " + range;
        }
        return {};
      },
      "SECONDS in [" + text(min) + ", " + text(max) + "]");
}

void AddCommon(CLI::App* app, CommonFlags* f) {
  app->add_option("--log-level", f->log_level, "error, warn, info or debug")
      ->check(CLI::IsMember({"error", "warn", "info", "debug"}));
  app->add_option("--log-peers", f->log_peers,
                  "peers in log lines: none, hashed (a keyed hash of the address; default) or full")
      ->check(CLI::IsMember({"none", "hashed", "full"}));
  app->add_flag("--log-targets", f->log_targets, "log targets at info level too (else at debug only)");
  app->add_option("--threads", f->threads, "threads, one io_context each (0: one per core)")
      ->check(CLI::Range(0, 1024));
  app->add_flag("--stats", f->stats, "print statistics (JSON, stdout) on SIGUSR1 and at exit");
  app->add_option("--aead", f->aead, "ChaCha20-Poly1305 backend: openssl or sodium")
      ->check(CLI::IsMember({"openssl", "sodium"}));
  app->add_option("--max-connections", f->max_connections, "connections open at once")
      ->check(CLI::Range(1, 10000000));
  app->add_option("--drain-timeout", f->drain_timeout_s, "seconds to let connections end on SIGTERM")
      ->check(SecondsIn(0, 3600));
  app->add_option("--idle-timeout", f->idle_timeout_s, "seconds without a byte before a tunnel closes")
      ->check(SecondsIn(1, kMaxTimeoutSeconds));
  app->add_option("--connect-timeout", f->connect_timeout_s, "seconds for a TCP connect")
      ->check(SecondsIn(0.1, 600));
  app->add_option("--handshake-timeout", f->handshake_timeout_s,
                  "seconds for a local request or a Reflex handshake")
      ->check(SecondsIn(0.1, 600));
  app->add_option("--config", "JSON file; keys are these flags' long names");
  app->add_flag("--check-config", f->check_config,
                "check the flags and the config file, say so and exit without starting");
}

CLI::Validator HostPortCheck() {
  return CLI::Validator(
      [](std::string& s) {
        HostPort hp;
        return ParseHostPort(s, &hp) ? std::string() : "not HOST:PORT: " + s;
      },
      "HOST:PORT");
}

CLI::Validator CidrCheck() {
  return CLI::Validator(
      [](std::string& s) {
        Cidr c;
        return ParseCidr(s, &c) ? std::string() : "not an address or ADDRESS/BITS range: " + s;
      },
      "CIDR");
}

// The server's default policy, then the operator's ranges.
EgressPolicy TargetPolicyOf(const ServerFlags& flags) {
  EgressPolicy policy = EgressPolicy::ServerDefault();
  Cidr c;
  for (const std::string& s : flags.allow_targets) {
    if (ParseCidr(s, &c)) policy.Allow(c);
  }
  for (const std::string& s : flags.deny_targets) {
    if (ParseCidr(s, &c)) policy.Deny(c);
  }
  return policy;
}

CLI::Validator LocalUserCheck() {
  return CLI::Validator(
      [](std::string& s) {
        return IsLocalUserSpec(s) ? std::string()
                                  : std::string("not NAME:PASS (a name without ':', each 1 to 255 bytes)");
      },
      "NAME:PASS");
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

CLI::Validator UuidCheck() {
  return CLI::Validator(
      [](std::string& s) {
        UserId id;
        return ParseUserId(s, &id) ? std::string() : "not a UUID: " + s;
      },
      "UUID");
}

Timeouts TimeoutsOf(const CommonFlags& f) {
  auto ms = [](double s) { return std::chrono::milliseconds(static_cast<int64_t>(s * 1000)); };
  return {ms(f.handshake_timeout_s), ms(f.connect_timeout_s), ms(f.idle_timeout_s)};
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

// --check-config: everything a start would check has passed.
int ConfigurationOk() {
  std::fprintf(stderr, "reflex: configuration ok\n");
  return 0;
}

int RunServer(const CommonFlags& common, const ServerFlags& flags) {
  ServerConfig config;
  config.profiles.clear();
  for (const std::string& p : flags.profiles.empty() ? std::vector<std::string>{"v2"} : flags.profiles) {
    Profile profile;
    if (!ProfileFromName(p, &profile)) return Fail("unknown profile: " + p);
    config.profiles.push_back(profile);
  }
  for (const std::string& u : flags.users) {
    UserId id;
    (void)ParseUserId(u, &id);
    config.users.push_back(id);
  }
  config.timestamp_window_seconds = flags.window_s;
  config.hello_wait_ms = flags.hello_wait_ms;
  config.replay_capacity = flags.replay_capacity;
  if (!AeadBackendFromName(common.aead, &config.backend)) return Fail("unknown AEAD: " + common.aead);
  std::unique_ptr<ServerContext> context;
  if (const Error e = ServerContext::Create(config, &context); e != Error::kOk) {
    return Fail("bad server configuration (" + std::string(ErrorName(e)) +
                "): users must be distinct, window and wait positive");
  }
  if (common.idle_timeout_s * 1000 < static_cast<double>(flags.hello_wait_ms)) {
    return Fail("--idle-timeout must be at least the hello wait (--hello-wait): a connection "
                "still waiting for its hello goes to the fallback, it is not dropped as idle");
  }
  HostPort listen, fallback;
  (void)ParseHostPort(flags.listen, &listen);
  (void)ParseHostPort(flags.fallback, &fallback);
  const EgressPolicy target_policy = TargetPolicyOf(flags);
  if (common.check_config) return ConfigurationOk();
  SystemClock clock;
  Runtime runtime(RuntimeOf(common, "server"));
  ServerStatePool states(StatePoolOptions("server-states"));
  runtime.AddPoolStats("states", [&states] { return states.Stats(); });
  std::vector<std::unique_ptr<ServerEnv>> envs;
  std::vector<std::unique_ptr<TcpDialer>> dialers;
  std::vector<std::unique_ptr<Sweeper>> sweepers;
  for (int t = 0; t < runtime.threads(); ++t) {
    sweepers.push_back(std::make_unique<Sweeper>(runtime.context(t).get_executor()));
    auto env = std::make_unique<ServerEnv>();
    env->sweeper = sweepers.back().get();
    env->pool = &runtime.pool();
    env->stats = &runtime.stats();
    env->clock = &clock;
    env->timeouts = TimeoutsOf(common);
    env->context = context.get();
    env->states = &states;
    env->fallback = fallback;
    if constexpr (kDefectAcceptReplay) env->per_connection_context = &ContextOfItsOwn;
    envs.push_back(std::move(env));
    dialers.push_back(std::make_unique<TcpDialer>(runtime.context(t).get_executor(),
                                                  TimeoutsOf(common).connect, &target_policy));
  }
  const std::error_code error = runtime.Listen(listen, "server", [&](asio::ip::tcp::socket s, int t) {
    ServerEnv& env = *envs[static_cast<size_t>(t)];
    if (env.random == nullptr) env.random = &ThreadRandom();  // this thread's
    asio::co_spawn(runtime.context(t),
                   ServeReflexConnection(TcpStream(std::move(s)), env, *dialers[static_cast<size_t>(t)]),
                   asio::detached);
  });
  if (error) return Fail("cannot listen on " + FormatHostPort(listen) + ": " + error.message());
  return runtime.Run();
}

int RunClient(const CommonFlags& common, const ClientFlags& flags) {
  ClientEnv base;
  if (!ProfileFromName(flags.profile, &base.session.profile)) return Fail("unknown profile: " + flags.profile);
  (void)ParseUserId(flags.user, &base.session.user);
  if (!AeadBackendFromName(common.aead, &base.session.backend)) return Fail("unknown AEAD: " + common.aead);
  if (!flags.morph.empty()) {
    base.morph = FindMorphProfile(flags.morph);
    if (base.morph == nullptr) return Fail("unknown morphing profile: " + flags.morph);
  }
  (void)ParseHostPort(flags.server, &base.server);
  HostPort socks, http;
  (void)ParseHostPort(flags.socks, &socks);
  const bool with_http = !flags.http.empty() && ParseHostPort(flags.http, &http);
  LocalUsers local_users;
  for (std::string spec : flags.local_users) {
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
  runtime.AddPoolStats("states", [&states] { return states.Stats(); });
  std::vector<std::unique_ptr<ClientEnv>> envs;
  std::vector<std::unique_ptr<TcpDialer>> dialers;
  std::vector<std::unique_ptr<Sweeper>> sweepers;
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
    dialers.push_back(std::make_unique<TcpDialer>(runtime.context(t).get_executor(),
                                                  TimeoutsOf(common).connect));
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
  if (server) {
    probe::ServerProbeOptions o;
    (void)ParseHostPort(f.target, &o.target);
    (void)ParseHostPort(f.fallback_listen, &o.fallback_listen);
    (void)ParseHostPort(f.echo_listen, &o.echo_listen);
    o.user = user;
    o.profile = profile;
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
  o.only = f.only;
  o.json_path = f.json;
  return probe::ProbeClient(o);
}

// --config FILE: the JSON object's keys become flags placed before the
// command line's own, so the command line wins.
bool ExpandConfig(std::vector<std::string>& args, CLI::App* sub, std::string* error) {
  for (size_t i = 0; i < args.size(); ++i) {
    std::string path;
    size_t drop = 0;
    if (args[i] == "--config" && i + 1 < args.size()) {
      path = args[i + 1];
      drop = 2;
    } else if (args[i].rfind("--config=", 0) == 0) {
      path = args[i].substr(9);
      drop = 1;
    } else {
      continue;
    }
    std::ifstream in(path);
    if (!in) {
      *error = "cannot read config " + path;
      return false;
    }
    const nlohmann::json doc = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
    if (!doc.is_object()) {
      *error = "config " + path + " is not a JSON object";
      return false;
    }
    std::vector<std::string> expanded;
    for (const auto& [key, value] : doc.items()) {
      if (key == "config" || sub->get_option_no_throw("--" + key) == nullptr) {
        *error = "config " + path + ": unknown key '" + key + "'";
        return false;
      }
      auto scalar = [&](const nlohmann::json& v, std::string* out) {
        if (v.is_string()) *out = v.get<std::string>();
        else if (v.is_number_integer()) *out = std::to_string(v.get<int64_t>());
        else if (v.is_number()) *out = std::to_string(v.get<double>());
        else return false;
        return true;
      };
      if (value.is_boolean()) {
        if (value.get<bool>()) expanded.push_back("--" + key);
        continue;
      }
      for (const nlohmann::json& v : value.is_array() ? value : nlohmann::json::array({value})) {
        std::string text;
        if (!scalar(v, &text)) {
          *error = "config " + path + ": key '" + key + "' must be a string, number, list or boolean";
          return false;
        }
        expanded.push_back("--" + key);
        expanded.push_back(text);
      }
    }
    args.erase(args.begin() + static_cast<ptrdiff_t>(i), args.begin() + static_cast<ptrdiff_t>(i + drop));
    args.insert(args.begin(), expanded.begin(), expanded.end());
    return true;
  }
  return true;
}

}  // namespace
}  // namespace reflex::proxy

int main(int argc, char** argv) {
  using namespace reflex;
  using namespace reflex::proxy;
  if (reflex::InitCrypto() != reflex::Error::kOk) return Fail("libsodium did not initialize");
  CLI::App app("reflex: the Reflex proxy (server, client) and its tools", "reflex");
  app.require_subcommand(1);
  CommonFlags common;
  ServerFlags sf;
  ClientFlags cf;

  CLI::App* server = app.add_subcommand("server", "accept Reflex clients; the rest goes to the fallback");
  AddCommon(server, &common);
  server->add_option("--listen", sf.listen, "address to listen on")->required()->check(HostPortCheck());
  server->add_option("--user", sf.users, "a user's UUID (repeat for more)")->required()->check(UuidCheck());
  server->add_option("--fallback", sf.fallback, "where everything that is not Reflex goes")
      ->required()->check(HostPortCheck());
  server->add_option("--profile", sf.profiles, "profiles accepted: v2 (default), v1-compat")
      ->check(CLI::IsMember({"v2", "v1-compat"}));
  server->add_option("--allow-target", sf.allow_targets,
                     "let users reach this range (CIDR; repeat), though the default refuses it")
      ->check(CidrCheck());
  server->add_option("--deny-target", sf.deny_targets, "refuse targets in this range (CIDR; repeat)")
      ->check(CidrCheck());
  server->add_option("--window", sf.window_s, "seconds a hello's timestamp may be off")
      ->check(CLI::Range(int64_t{1}, kMaxWindowSeconds));
  server->add_option("--hello-wait", sf.hello_wait_ms, "milliseconds to wait for a hello")
      ->check(CLI::Range(int64_t{1}, kMaxHelloWaitMs));
  server->add_option("--replay-capacity", sf.replay_capacity, "hellos the replay filter remembers")
      ->check(CLI::Range(kMinReplayCapacity, kMaxReplayCapacity));

  CLI::App* client = app.add_subcommand("client", "SOCKS5 (and HTTP CONNECT) into Reflex tunnels");
  AddCommon(client, &common);
  client->add_option("--server", cf.server, "the Reflex server")->required()->check(HostPortCheck());
  client->add_option("--user", cf.user, "your UUID")->required()->check(UuidCheck());
  client->add_option("--socks", cf.socks, "local SOCKS5 address")->required()->check(HostPortCheck());
  client->add_option("--http", cf.http, "local HTTP CONNECT address")->check(HostPortCheck());
  client->add_option("--profile", cf.profile, "v2 (default) or v1-compat")
      ->check(CLI::IsMember({"v2", "v1-compat"}));
  client->add_option("--local-user", cf.local_users,
                     "NAME:PASS the local ports require (SOCKS5 username/password, HTTP Basic); repeat")
      ->check(LocalUserCheck());
  client->add_flag("--allow-open-proxy", cf.allow_open_proxy,
                   "listen on a non-loopback address without --local-user");
  client->add_option("--morph", cf.morph, "traffic morphing: youtube, zoom or http2-api")
      ->check(CLI::IsMember({"youtube", "zoom", "http2-api"}));

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
  CLI::App* probe_client = probe->add_subcommand("client", "play the server for a client under test");
  probe_client->add_option("--listen", pf.listen, "where the client's --server points (the probe listens)")
      ->required()->check(HostPortCheck());
  probe_client->add_option("--socks", pf.socks, "the client's SOCKS5 address")->required()->check(HostPortCheck());
  for (CLI::App* sub : {probe_server, probe_client}) {
    sub->add_option("--user", pf.user, "a user the implementation under test knows")->check(UuidCheck());
    sub->add_option("--profile", pf.profile, "v2 (default) or v1-compat")
        ->check(CLI::IsMember({"v2", "v1-compat"}));
    sub->add_option("--only", pf.only, "run one scenario");
    sub->add_option("--json", pf.json, "also write the verdicts as JSON");
    sub->add_flag("--list", pf.list, "print the scenarios' names and exit");
  }

  for (CLI::App* sub : {server, client}) {
    for (CLI::Option* o : sub->get_options()) {
      if (o->get_items_expected_max() == 1) o->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
    }
  }
  std::vector<std::string> args(argv + 1, argv + argc);
  if (!args.empty()) {
    for (CLI::App* sub : {server, client}) {
      if (args[0] == sub->get_name()) {
        std::vector<std::string> rest(args.begin() + 1, args.end());
        std::string error;
        if (!ExpandConfig(rest, sub, &error)) return Fail(error);
        rest.insert(rest.begin(), args[0]);
        args = rest;
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
  HideLocalUsersFromPs(argc, argv);
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
  if (server->parsed()) return RunServer(common, sf);
  if (client->parsed()) return RunClient(common, cf);
  return 2;
}
