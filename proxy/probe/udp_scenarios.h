// reflex probe's UDP scenarios (SPEC.md 15), beside the TCP ones: against
// a server (the probe as the client, its own UDP echoes as destinations)
// and against a client (the probe as its server and its application).
#ifndef REFLEX_PROXY_PROBE_UDP_SCENARIOS_H_
#define REFLEX_PROXY_PROBE_UDP_SCENARIOS_H_

#include <vector>

#include "proxy/probe/blocking_socket.h"
#include "proxy/probe/probe.h"
#include "proxy/probe/report.h"

namespace reflex::proxy::probe {

// udp-echo, udp-several-destinations, udp-oversized-datagram,
// udp-datagram-after-close. The echoes listen on `options.echo_listen`'s
// address (ports the system chooses), so the server must reach it.
std::vector<Scenario> ServerUdpScenarios(const ServerProbeOptions& options);

// udp-associate (datagrams both ways, exact payloads, fragments and other
// sources dropped, the control connection's end as CLOSE),
// udp-several-destinations, udp-oversized-datagram (dropped, never
// split), udp-datagram-after-close (the server's CLOSE answered, nothing
// after it, the control connection closed) and udp-refused (the server's
// code in the SOCKS5 reply). `listener` is where the client under test
// connects.
std::vector<Scenario> ClientUdpScenarios(const ClientProbeOptions& options, BlockingListener& listener);

}  // namespace reflex::proxy::probe

#endif  // REFLEX_PROXY_PROBE_UDP_SCENARIOS_H_
