// What a prober sees of one connection: it sends its bytes and records the
// answer's first bytes, when the first byte came, when and how the
// connection ended (FIN or reset), and what a write after that end drew.
// The differential probe (fallback_probe.cc) takes this of a server and of
// its fallback reached directly, and compares.
#ifndef REFLEX_PROXY_PROBE_OBSERVE_H_
#define REFLEX_PROXY_PROBE_OBSERVE_H_

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "proxy/address.h"

namespace reflex::proxy::probe {

using Bytes = std::vector<uint8_t>;

// At most this much of an answer is kept and compared.
inline constexpr size_t kObservedHeadBytes = 64 * 1024;

enum class Ending : uint8_t {
  kFin,    // the peer ended its stream
  kReset,  // the connection was reset
  kOpen,   // still open when the observation stopped
};
const char* EndingName(Ending e);

struct Observation {
  bool connected = false;
  Bytes head;          // the answer's first bytes
  size_t received = 0;  // the answer's length
  // Since the probe's last byte was sent (since the connect, when it sends
  // none).
  std::optional<std::chrono::microseconds> first_byte;
  std::optional<std::chrono::microseconds> ended;
  Ending ending = Ending::kOpen;
  // After a FIN: the outcome of two writes, the second once the first
  // could have drawn a reset ("ok", "reset", "broken pipe"), e.g.
  // "ok then broken pipe"; "-" when the connection did not end with a FIN.
  std::string write_after_end = "-";
};

// Connects to `target`, sends `input` in one write (nothing if empty) and
// watches for at most `max_wait`.
Observation Observe(const HostPort& target, const Bytes& input, std::chrono::milliseconds max_wait);

}  // namespace reflex::proxy::probe

#endif  // REFLEX_PROXY_PROBE_OBSERVE_H_
