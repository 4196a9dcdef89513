#include "proxy/flags.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>

#include "proxy/address.h"
#include "proxy/asio_config.h"
#include "proxy/redis_client.h"
#include "proxy/egress_policy.h"
#include "proxy/local_auth.h"
#include "reflex/session_types.h"

namespace reflex::proxy {
namespace {

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

// A check that a flag's value parses: the error names what it is not and,
// unless the value is a secret, repeats it.
enum class Echo : uint8_t { kValue, kNothing };
CLI::Validator Parses(std::function<bool(const std::string&)> parses, std::string not_what, std::string name,
                      Echo echo = Echo::kValue) {
  return CLI::Validator(
      [parses = std::move(parses), not_what = std::move(not_what), echo](std::string& s) {
        if (parses(s)) return std::string();
        return echo == Echo::kValue ? not_what + ": " + s : not_what;
      },
      std::move(name));
}

// An IP literal, with or without a port ("192.0.2.1", "192.0.2.1:5353",
// "[2001:db8::1]:53").
CLI::Validator DnsServerCheck() {
  return Parses([](const std::string& s) { HostPort hp; return ParseDnsServer(s, &hp); },
                "not an IP address with an optional port", "IP[:PORT]");
}

CLI::Validator CidrCheck() {
  return Parses([](const std::string& s) { Cidr c; return ParseCidr(s, &c); },
                "not an address or ADDRESS/BITS range", "CIDR");
}

// The value is a password: the error does not repeat it.
CLI::Validator LocalUserCheck() {
  return Parses([](const std::string& s) { return IsLocalUserSpec(s); },
                "not NAME:PASS (a name without ':', each 1 to 255 bytes)", "NAME:PASS", Echo::kNothing);
}

}  // namespace

bool ParseDnsServer(const std::string& text, HostPort* out) {
  std::error_code ec;
  (void)asio::ip::make_address(text, ec);
  HostPort hp{text, 53};
  if (ec && (!ParseHostPort(text, &hp) || hp.port == 0)) return false;
  (void)asio::ip::make_address(hp.host, ec);
  if (ec) return false;
  *out = hp;
  return true;
}

CLI::Validator HostPortCheck() {
  return Parses([](const std::string& s) { HostPort hp; return ParseHostPort(s, &hp); }, "not HOST:PORT",
                "HOST:PORT");
}

CLI::Validator UuidCheck() {
  return Parses([](const std::string& s) { UserId id; return ParseUserId(s, &id); }, "not a UUID", "UUID");
}

void AddCommonOptions(CLI::App* app, CommonFlags* f) {
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
  app->add_option("--dns-server", f->dns_servers,
                  "a DNS server's IP[:PORT] to resolve names with (repeat; default: /etc/resolv.conf's)")
      ->check(DnsServerCheck());
  app->add_option("--dns-timeout", f->dns_timeout_s,
                  "seconds for one name's lookup, every retry included (at most --connect-timeout)")
      ->check(SecondsIn(0.1, 60));
  app->add_option("--config", "JSON file; keys are these flags' long names");
  app->add_flag("--check-config", f->check_config,
                "check the flags and the config file, say so and exit without starting");
}

void AddFirstFlightOptions(CLI::App* app, FirstFlightFlags* f) {
  app->add_option("--first-flight", f->shape,
                  "v2's first flight: raw (76 random-looking bytes), http (a GET request head) or tls (a "
                  "ClientHello); the same on client and server (SPEC.md 11.8)")
      ->check(CLI::IsMember({"raw", "http", "tls"}));
  app->add_option("--first-flight-host", f->host, "http and tls: the Host header or server_name it names");
  app->add_option("--first-flight-path", f->path, "http: what the request's path starts with (default /)");
}

bool FirstFlightOf(const FirstFlightFlags& flags, FirstFlight* out, std::string* error) {
  FirstFlight f;
  if (!ParseFirstFlightShape(flags.shape, &f.shape)) {
    *error = "--first-flight: not raw, http or tls: " + flags.shape;
    return false;
  }
  f.host = flags.host;
  f.path = flags.path;
  if (f.shape != FirstFlightShape::kRaw && f.host.empty()) {
    *error = "--first-flight " + flags.shape + " needs --first-flight-host";
    return false;
  }
  if (CheckFirstFlight(f) != Error::kOk) {
    *error = "--first-flight-host must be a host name (letters, digits, '-', '.'; at most 253) and "
             "--first-flight-path a path ('/' then letters, digits, \"-._~/\"; at most 64)";
    return false;
  }
  *out = std::move(f);
  return true;
}

void AddServerOptions(CLI::App* app, ServerFlags* f) {
  AddFirstFlightOptions(app, &f->first_flight);
  app->add_option("--listen", f->listen, "address to listen on")->required()->check(HostPortCheck());
  app->add_option("--user", f->users, "a user's UUID (repeat for more; or --users-from)")->check(UuidCheck());
  app->add_option("--fallback", f->fallback, "where everything that is not Reflex goes")
      ->required()->check(HostPortCheck());
  app->add_option("--profile", f->profiles, "profiles accepted: v2 (default), v1-compat")
      ->check(CLI::IsMember({"v2", "v1-compat"}));
  app->add_option("--allow-target", f->allow_targets,
                     "let users reach this range (CIDR; repeat), though the default refuses it")
      ->check(CidrCheck());
  app->add_option("--deny-target", f->deny_targets, "refuse targets in this range (CIDR; repeat)")
      ->check(CidrCheck());
  app->add_option("--window", f->window_s, "seconds a hello's timestamp may be off")
      ->check(CLI::Range(int64_t{1}, kMaxWindowSeconds));
  app->add_option("--hello-wait", f->hello_wait_ms, "milliseconds a connection that sent nothing may still send a hello (then it is the fallback's)")
      ->check(CLI::Range(int64_t{1}, kMaxHelloWaitMs));
  app->add_option("--fallback-dial", f->fallback_dial,
                  "early: dial the fallback as soon as a connection comes with nothing sent, so a silent "
                  "one ends as at the fallback directly; late: only once a connection is judged not Reflex")
      ->check(CLI::IsMember({"early", "late"}));
  app->add_option("--fallback-dial-grace", f->fallback_dial_grace_ms,
                  "milliseconds an early dial waits for a connection's first bytes before it dials "
                  "(a genuine hello mostly comes within them, and then no fallback connection is made)")
      ->check(CLI::Range(int64_t{0}, kMaxFallbackDialGraceMs));
  app->add_flag("--no-udp", f->no_udp, "refuse every UDP association (SOCKS5 UDP ASSOCIATE through a client)");
  app->add_option("--udp-associations-per-user", f->udp_associations_per_user,
                  "UDP associations one user may have open at once")
      ->check(CLI::Range(uint64_t{1}, kMaxUdpAssociationsPerUser));
  app->add_option("--udp-idle-timeout", f->udp_idle_timeout_s,
                  "seconds a UDP association may pass with no datagram either way")
      ->check(CLI::Range(int64_t{1}, kMaxUdpIdleTimeoutS));
  app->add_option("--replay-capacity", f->replay_capacity, "hellos the replay filter remembers")
      ->check(CLI::Range(kMinReplayCapacity, kMaxReplayCapacity));
  app->add_option("--metrics", f->metrics, "serve Prometheus metrics at http://HOST:PORT/metrics")
      ->check(HostPortCheck());
  app->add_flag("--public-metrics", f->public_metrics,
                "let --metrics listen beyond loopback (a prober who finds it knows what runs here)");
  app->add_option("--state-dir", f->state_dir,
                  "directory for the replay filter's journal, so replays stay refused across restarts")
      ->check(CLI::ExistingDirectory);
  app->add_option("--max-lookups-per-user", f->max_lookups_per_user,
                  "DNS lookups one user may have in flight on a thread")
      ->check(CLI::Range(size_t{1}, kMaxLookupsPerUser));
  app->add_flag("--drop-removed-users", f->drop_removed_users,
                "on reload (SIGHUP), also end the open tunnels of users no longer configured");
  app->add_option("--replay-store", f->replay_store,
                  "a replay filter shared with other servers, in Redis: redis://HOST:PORT[/DB] or "
                  "unix:///PATH[?db=DB]");
  app->add_option("--replay-store-unavailable", f->replay_store_unavailable,
                  "while the store does not answer: refuse (hellos go to the fallback) or local "
                  "(this server's filter alone decides)")
      ->check(CLI::IsMember({"refuse", "local"}));
  app->add_option("--replay-store-timeout", f->replay_store_timeout_ms,
                  "milliseconds a hello waits for the store's answer")
      ->check(CLI::Range(int64_t{1}, int64_t{10000}));
  app->add_option("--redis-password-file", f->redis_password_file,
                  "file whose first line is the Redis password (never on the command line)")
      ->check(CLI::ExistingFile);
  app->add_option("--redis-prefix", f->redis_prefix, "prefix of every key this server writes in Redis");
  app->add_option("--users-from", f->users_from,
                  "the users are the set at redis://HOST:PORT/DB/KEY (or unix:///PATH?db=DB&key=KEY), "
                  "followed as it changes (with the --user ones)");
  app->add_option("--usage-to", f->usage_to,
                  "add each user's bytes and tunnels to hashes PREFIXusage:ID in this Redis (ID: the user's "
                  "short id of the logs and metrics)");
  app->add_option("--usage-interval", f->usage_interval_s, "seconds between --usage-to updates")
      ->check(CLI::Range(int64_t{1}, int64_t{3600}));
}

void AddClientOptions(CLI::App* app, ClientFlags* f) {
  AddFirstFlightOptions(app, &f->first_flight);
  app->add_option("--server", f->server, "the Reflex server")->required()->check(HostPortCheck());
  app->add_option("--user", f->user, "your UUID")->required()->check(UuidCheck());
  app->add_option("--socks", f->socks, "local SOCKS5 address")->required()->check(HostPortCheck());
  app->add_option("--http", f->http, "local HTTP proxy address (CONNECT, and plain http:// requests)")->check(HostPortCheck());
  app->add_option("--profile", f->profile, "v2 (default) or v1-compat")
      ->check(CLI::IsMember({"v2", "v1-compat"}));
  // One value per --local-user: a second word after it is not taken as
  // another password (main.cc hides each flag's one value from `ps`).
  app->add_option("--local-user", f->local_users,
                     "NAME:PASS the local ports require (SOCKS5 username/password, HTTP Basic); repeat")
      ->check(LocalUserCheck())
      ->allow_extra_args(false);
  app->add_flag("--allow-open-proxy", f->allow_open_proxy,
                   "listen on a non-loopback address without --local-user");
  app->add_option("--morph", f->morph, "traffic morphing: youtube, zoom or http2-api")
      ->check(CLI::IsMember({"youtube", "zoom", "http2-api"}));
}

void LastValueWins(CLI::App* sub) {
  for (CLI::Option* o : sub->get_options()) {
    if (o->get_items_expected_max() == 1) o->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  }
}

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

bool ParseServerArgs(const std::vector<std::string>& args, CommonFlags* common, ServerFlags* flags,
                     std::string* error) {
  CLI::App app("reflex server", "reflex");
  CLI::App* server = app.add_subcommand("server");
  AddCommonOptions(server, common);
  AddServerOptions(server, flags);
  LastValueWins(server);
  std::vector<std::string> rest = args;
  if (!ExpandConfig(rest, server, error)) return false;
  rest.insert(rest.begin(), "server");
  std::reverse(rest.begin(), rest.end());  // CLI11 parses a reversed vector
  try {
    app.parse(rest);
  } catch (const CLI::ParseError& e) {
    *error = e.what();
    return false;
  }
  return CheckRedisFlags(*flags, error);
}

bool CheckRedisFlags(const ServerFlags& flags, std::string* error) {
  if (flags.users.empty() && flags.users_from.empty()) {
    *error = "no users: give --user UUID (repeat for more) or --users-from";
    return false;
  }
  RedisEndpoint endpoint;
  const std::pair<const std::string*, const char*> urls[] = {
      {&flags.replay_store, "--replay-store"}, {&flags.users_from, "--users-from"}, {&flags.usage_to, "--usage-to"}};
  for (const auto& [url, name] : urls) {
    if (url->empty()) continue;
    if (std::string why; !ParseRedisUrl(*url, url == &flags.users_from, &endpoint, &why)) {
      *error = std::string(name) + " " + *url + ": " + why;
      return false;
    }
  }
  return true;
}

}  // namespace reflex::proxy
