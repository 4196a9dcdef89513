// reflex probe: a black-box conformance harness for any Reflex server or
// client, over sockets (like BoGo and tlsfuzzer for TLS stacks).
//
//   reflex probe server: the harness plays the client against a server
//     started with its fallback at --fallback-listen, and runs that
//     fallback (a capture) and a target (an echo at --echo-listen) itself,
//     so it sees exactly what arrives where.
//   reflex probe client: the harness plays the server for a client started
//     with --server at --listen, and drives it through its SOCKS5 port.
#ifndef REFLEX_PROXY_PROBE_PROBE_H_
#define REFLEX_PROXY_PROBE_PROBE_H_

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "proxy/address.h"
#include "reflex/first_flight.h"
#include "reflex/session_types.h"

namespace reflex::proxy::probe {

struct ServerProbeOptions {
  HostPort target;           // the server under test
  UserId user{};             // a user it accepts
  Profile profile = Profile::kV2;
  FirstFlight first_flight;  // the server's v2 shape (SPEC 11.8)
  HostPort fallback_listen;  // where its fallback points
  HostPort echo_listen;      // a target it may reach
  // How long the server holds a silent connection before falling back;
  // scenarios about silence wait this long plus 5 s, and those about short
  // input require the fallback within half of it (SPEC 12.1).
  std::chrono::milliseconds hello_wait{10000};
  std::string only;          // one scenario by name, or all
  std::string json_path;
};

struct ClientProbeOptions {
  HostPort listen;  // where the client under test sends its tunnels
  UserId user{};
  Profile profile = Profile::kV2;
  FirstFlight first_flight;  // the client's v2 shape
  HostPort socks;   // the client's SOCKS5 port
  std::string only;
  std::string json_path;
};

struct FallbackProbeOptions {
  HostPort target;    // the server under test
  HostPort fallback;  // its fallback, reached directly
  // A user the server accepts, for the genuine-hello probes (none: those
  // are left out).
  std::optional<UserId> user;
  Profile profile = Profile::kV2;
  FirstFlight first_flight;  // the server's v2 shape, for the genuine hellos
  // Two times agree when they differ by at most tolerance + fraction x the
  // larger.
  std::chrono::milliseconds tolerance{20};
  double tolerance_fraction = 0.2;
  // How long one connection is watched (longer than the fallback's own
  // timeouts, so that a silent connection is seen to end).
  std::chrono::milliseconds max_wait{15000};
  int parallel = 8;  // probes at once
  std::string only;
  std::string json_path;
};

// The scenarios' names, in the order they run.
std::vector<std::string> ServerScenarioNames(Profile profile);
std::vector<std::string> ClientScenarioNames(Profile profile);

std::vector<std::string> FallbackProbeNames(const FallbackProbeOptions& options);

// Prints the verdicts; returns the exit status (see report.h).
int ProbeServer(const ServerProbeOptions& options);
int ProbeClient(const ClientProbeOptions& options);
// "SAME name" or "DIFFERENT name: what differed (direct ..., through
// server ...)" per probe, then "N passed, M failed".
int ProbeFallback(const FallbackProbeOptions& options);

}  // namespace reflex::proxy::probe

#endif  // REFLEX_PROXY_PROBE_PROBE_H_
