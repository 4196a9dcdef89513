// reflex probe fallback: the differential probe. Each probe is sent, on a
// connection of its own, to the server under test and to its fallback
// reached directly, at the same moment; what a prober could observe of the
// two (the answer's first bytes, the time to its first byte, when and how
// the connection ended, what a write after the end drew) must agree, times
// within a tolerance. The probes are those censors were seen to send
// (Frolov et al., NDSS 2020; Alice et al., IMC 2020): silence, random bytes
// of every length up to 100 and some longer, HTTP requests whole, partial
// and malformed, a TLS ClientHello whole and cut, and, given a user, a
// genuine hello replayed and genuine hellos with one byte changed.
#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "proxy/probe/blocking_socket.h"
#include "proxy/probe/observe.h"
#include "proxy/probe/probe.h"
#include "proxy/probe/report.h"
#include "reflex/client_session.h"
#include "reflex/random.h"
#include "reflex/session_types.h"

namespace reflex::proxy::probe {
namespace {

using std::chrono::microseconds;
using std::chrono::milliseconds;

struct Probe {
  std::string name;
  Bytes bytes;
  // Sent to the server under test first, and answered there before the
  // probe runs (a genuine hello, so that the probe's copy is a replay).
  Bytes prime;
};

Bytes Text(std::string_view s) { return Bytes(s.begin(), s.end()); }

Bytes RandomBytes(size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  Bytes b(n);
  for (uint8_t& x : b) x = static_cast<uint8_t>(rng());
  return b;
}

// A TLS 1.3 ClientHello as a browser sends it, in outline: record header,
// handshake header, version, random, session id, ciphers, extensions
// (SNI example.com, supported versions, key share).
Bytes TlsClientHello() {
  Bytes body = {0x03, 0x03};
  const Bytes random = RandomBytes(32, 7);
  body.insert(body.end(), random.begin(), random.end());
  body.push_back(32);
  const Bytes session = RandomBytes(32, 8);
  body.insert(body.end(), session.begin(), session.end());
  body.insert(body.end(), {0x00, 0x06, 0x13, 0x01, 0x13, 0x02, 0x13, 0x03, 0x01, 0x00});
  Bytes ext = {0x00, 0x00, 0x00, 0x10, 0x00, 0x0e, 0x00, 0x00, 0x0b};
  const Bytes host = Text("example.com");
  ext.insert(ext.end(), host.begin(), host.end());
  ext.insert(ext.end(), {0x00, 0x2b, 0x00, 0x03, 0x02, 0x03, 0x04});
  ext.insert(ext.end(), {0x00, 0x33, 0x00, 0x26, 0x00, 0x24, 0x00, 0x1d, 0x00, 0x20});
  const Bytes share = RandomBytes(32, 9);
  ext.insert(ext.end(), share.begin(), share.end());
  body.push_back(static_cast<uint8_t>(ext.size() >> 8));
  body.push_back(static_cast<uint8_t>(ext.size()));
  body.insert(body.end(), ext.begin(), ext.end());
  Bytes hs = {0x01, 0x00, static_cast<uint8_t>(body.size() >> 8), static_cast<uint8_t>(body.size())};
  hs.insert(hs.end(), body.begin(), body.end());
  Bytes record = {0x16, 0x03, 0x01, static_cast<uint8_t>(hs.size() >> 8), static_cast<uint8_t>(hs.size())};
  record.insert(record.end(), hs.begin(), hs.end());
  return record;
}

// A genuine client hello of `user`, fresh.
Bytes GenuineHello(const UserId& user, Profile profile, const FirstFlight& first_flight) {
  static SystemClock clock;
  static Csprng random;
  ClientConfig config;
  config.user = user;
  config.profile = profile;
  config.first_flight = first_flight;
  ClientSession c(config, clock, random);
  if (c.Start() != Error::kOk) return {};
  const auto out = c.PendingOutput();
  return Bytes(out.begin(), out.end());
}

// Where a genuine hello is changed, one byte at a time: the raw hello's
// fields (the ones the Great Firewall was seen to alter); in a shape, the
// template's first bytes and bytes of message 1 where the shape carries it
// (http: its digits; tls: random, session id, filler, key share).
std::vector<size_t> ChangedOffsets(const FallbackProbeOptions& o) {
  if (o.profile != Profile::kV2 || o.first_flight.shape == FirstFlightShape::kRaw) {
    return {0, 1, 16, 31, 32, 44, 60, 75};
  }
  const size_t n = FirstFlightBytes(o.first_flight);
  if (o.first_flight.shape == FirstFlightShape::kHttp) {
    const size_t digits = 4 + o.first_flight.path.size();
    return {0, 1, digits, digits + 40, digits + 101, n - 1};
  }
  return {0, 1, 11, 44, 60, 75, n - 32, n - 1};
}

std::vector<Probe> Probes(const FallbackProbeOptions& o) {
  std::vector<Probe> p;
  p.push_back({"silence", {}, {}});
  for (size_t n = 1; n <= 100; ++n) p.push_back({"random-" + std::to_string(n), RandomBytes(n, n), {}});
  for (size_t n : {size_t{200}, size_t{1000}, size_t{4096}, size_t{16384}}) {
    p.push_back({"random-" + std::to_string(n), RandomBytes(n, n), {}});
  }
  p.push_back({"http-get", Text("GET / HTTP/1.1\r\nHost: localhost\r\nUser-Agent: curl/7.88.1\r\nAccept: */*\r\n\r\n"), {}});
  p.push_back({"http-get-close", Text("GET / HTTP/1.0\r\nConnection: close\r\n\r\n"), {}});
  p.push_back({"http-partial-line", Text("GET / HT"), {}});
  p.push_back({"http-bare-lf", Text("GET / HTTP/1.0\n\n"), {}});
  p.push_back({"http-0.9", Text("GET /\r\n"), {}});
  const Bytes tls = TlsClientHello();
  p.push_back({"tls-client-hello", tls, {}});
  for (size_t cut : {size_t{5}, size_t{50}, size_t{100}, size_t{150}}) {
    p.push_back({"tls-client-hello-cut-" + std::to_string(cut), Bytes(tls.begin(), tls.begin() + cut), {}});
  }
  // A shaped first flight: the server decides at its size N, so around N,
  // and the shape's own template carrying a message no user made (the path
  // that runs the trial).
  if (o.first_flight.shape != FirstFlightShape::kRaw && o.profile == Profile::kV2) {
    const size_t n = FirstFlightBytes(o.first_flight);
    p.push_back({"random-shape-size-minus-1", RandomBytes(n - 1, n - 1), {}});
    p.push_back({"random-shape-size", RandomBytes(n, n), {}});
    p.push_back({"random-shape-size-plus-1", RandomBytes(n + 1, n + 1), {}});
    Bytes message1 = RandomBytes(kClientHelloBytesV2, 7);
    Bytes shaped(n);
    TlsFiller filler{};
    std::copy(message1.begin(), message1.begin() + kTlsFillerBytes, filler.begin());
    if (EncodeFirstFlight(o.first_flight, std::span<const uint8_t, kClientHelloBytesV2>(message1.data(), kClientHelloBytesV2),
                          filler, shaped) == Error::kOk) {
      p.push_back({"shape-with-no-users-message", shaped, {}});
    }
  }
  if (o.user) {
    const Bytes hello = GenuineHello(*o.user, o.profile, o.first_flight);
    p.push_back({"genuine-hello-replayed", hello, hello});
    for (size_t at : ChangedOffsets(o)) {
      Bytes changed = GenuineHello(*o.user, o.profile, o.first_flight);
      if (at < changed.size()) changed[at] ^= 0x01;
      p.push_back({"genuine-hello-byte-" + std::to_string(at) + "-changed", changed, {}});
    }
  }
  return p;
}

// The answer as text, with what changes from one second to the next (an
// HTTP Date header) masked.
std::string Comparable(const Bytes& head) {
  std::string s(head.begin(), head.end());
  for (size_t at = s.find("\r\nDate: "); at != std::string::npos; at = s.find("\r\nDate: ", at + 1)) {
    const size_t end = s.find("\r\n", at + 2);
    s.replace(at + 8, (end == std::string::npos ? s.size() : end) - at - 8, "*");
  }
  return s;
}

std::string Millis(std::optional<microseconds> t) {
  if (!t) return "none";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f ms", static_cast<double>(t->count()) / 1000.0);
  return buf;
}

std::string Shown(const Bytes& head) {
  std::string out;
  for (size_t i = 0; i < head.size() && out.size() < 40; ++i) {
    const uint8_t c = head[i];
    if (c >= 0x20 && c < 0x7f) {
      out += static_cast<char>(c);
    } else {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
    }
  }
  return out;
}

// A TLS server's answer differs on every connection in its ServerHello's
// random and key share, and in the length of what it encrypts (a signature
// a byte or two longer or shorter). Two TLS answers are alike when they
// have the same records, in order, of the same type and version; the same
// plaintext records byte for byte, the ServerHello's random and key share
// aside; and encrypted records within kTlsRecordSlack bytes of each other.
constexpr size_t kTlsRecordSlack = 4;

struct TlsRecord {
  uint8_t type;
  uint16_t version;
  Bytes body;  // what of it the head holds
  size_t length;
};

// The records the head holds; empty if it does not start as TLS records.
std::vector<TlsRecord> TlsRecords(const Bytes& head) {
  std::vector<TlsRecord> out;
  size_t at = 0;
  while (at + 5 <= head.size()) {
    if (head[at] < 20 || head[at] > 23 || head[at + 1] != 3) return {};  // not records throughout
    const size_t length = size_t{head[at + 3]} << 8 | head[at + 4];
    const size_t have = std::min(length, head.size() - at - 5);
    out.push_back({head[at], static_cast<uint16_t>(head[at + 1] << 8 | head[at + 2]),
                   Bytes(head.begin() + static_cast<ptrdiff_t>(at + 5),
                         head.begin() + static_cast<ptrdiff_t>(at + 5 + have)),
                   length});
    at += 5 + length;
  }
  if (at < head.size()) return {};  // ends inside a record header
  return out;
}

// A ServerHello's body with its random and its key share's key zeroed.
Bytes MaskedServerHello(Bytes body) {
  if (body.size() < 4 || body[0] != 2) return body;
  auto zero = [&body](size_t from, size_t n) {
    for (size_t i = from; i < std::min(body.size(), from + n); ++i) body[i] = 0;
  };
  zero(6, 32);  // handshake header 4, version 2, then the random
  size_t at = 38;
  if (at >= body.size()) return body;
  at += 1 + body[at];  // session id echo (kept)
  at += 2 + 1 + 2;     // cipher suite, compression, extensions' length
  while (at + 4 <= body.size()) {
    const size_t type = size_t{body[at]} << 8 | body[at + 1];
    const size_t length = size_t{body[at + 2]} << 8 | body[at + 3];
    if (type == 0x0033 && length >= 4) zero(at + 8, length - 4);  // group 2, key length 2, key
    at += 4 + length;
  }
  return body;
}

bool SameTlsAnswer(const std::vector<TlsRecord>& a, const std::vector<TlsRecord>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i].type != b[i].type || a[i].version != b[i].version) return false;
    if (a[i].type == 23) {
      const size_t gap = a[i].length > b[i].length ? a[i].length - b[i].length : b[i].length - a[i].length;
      if (gap > kTlsRecordSlack) return false;
    } else if (a[i].length != b[i].length ||
               (a[i].type == 22 ? MaskedServerHello(a[i].body) != MaskedServerHello(b[i].body)
                                : a[i].body != b[i].body)) {
      return false;
    }
  }
  return true;
}

bool SameAnswer(const Observation& a, const Observation& b) {
  const std::vector<TlsRecord> ta = TlsRecords(a.head);
  const std::vector<TlsRecord> tb = TlsRecords(b.head);
  if (!ta.empty() && !tb.empty() && a.received == a.head.size() && b.received == b.head.size()) {
    return SameTlsAnswer(ta, tb);
  }
  return Comparable(a.head) == Comparable(b.head) && a.received == b.received;
}

Verdict Compare(const Observation& direct, const Observation& through, const FallbackProbeOptions& o) {
  std::vector<std::string> differ;
  auto close_enough = [&o](std::optional<microseconds> a, std::optional<microseconds> b) {
    if (!a || !b) return a.has_value() == b.has_value();
    const double x = static_cast<double>(a->count()) / 1000.0;
    const double y = static_cast<double>(b->count()) / 1000.0;
    return std::abs(x - y) <= static_cast<double>(o.tolerance.count()) + o.tolerance_fraction * std::max(x, y);
  };
  if (direct.connected != through.connected) {
    return Verdict::Fail(std::string("connect (direct ") + (direct.connected ? "ok" : "refused") +
                         ", through server " + (through.connected ? "ok" : "refused") + ")");
  }
  if (!SameAnswer(direct, through)) {
    differ.push_back("answer (direct " + std::to_string(direct.received) + " bytes \"" + Shown(direct.head) +
                     "\", through server " + std::to_string(through.received) + " bytes \"" +
                     Shown(through.head) + "\")");
  }
  if (!close_enough(direct.first_byte, through.first_byte)) {
    differ.push_back("first byte (direct " + Millis(direct.first_byte) + ", through server " +
                     Millis(through.first_byte) + ")");
  }
  if (direct.ending == Ending::kOpen && through.ending == Ending::kOpen) {
    differ.push_back("inconclusive: both still open after --max-wait; raise it past the fallback's own "
                     "timeouts");
  } else if (direct.ending != through.ending || !close_enough(direct.ended, through.ended)) {
    differ.push_back(std::string("end (direct ") + EndingName(direct.ending) + " at " + Millis(direct.ended) +
                     ", through server " + EndingName(through.ending) + " at " + Millis(through.ended) + ")");
  }
  if (direct.write_after_end != through.write_after_end) {
    differ.push_back("a write after the end (direct " + direct.write_after_end + ", through server " +
                     through.write_after_end + ")");
  }
  if (differ.empty()) return Verdict::Pass();
  std::string what = differ[0];
  for (size_t i = 1; i < differ.size(); ++i) what += "; " + differ[i];
  return Verdict::Fail(what);
}

// The probe's genuine hello reaches the server as a client's would: it
// answers with its server hello, which this reads before going.
void Prime(const HostPort& target, const Bytes& hello) {
  BlockingSocket s(target);
  if (!s.Send(hello)) return;
  bool ended = false;
  (void)s.ReadSome(64, milliseconds(5000), &ended);
}

}  // namespace

std::vector<std::string> FallbackProbeNames(const FallbackProbeOptions& options) {
  std::vector<std::string> names;
  for (const Probe& p : Probes(options)) names.push_back(p.name);
  return names;
}

int ProbeFallback(const FallbackProbeOptions& o) {
  std::vector<Probe> probes = Probes(o);
  if (!o.only.empty()) {
    std::erase_if(probes, [&o](const Probe& p) { return p.name != o.only; });
    if (probes.empty()) {
      std::fprintf(stderr, "reflex probe: no probe named '%s'\n", o.only.c_str());
      return 2;
    }
  }
  for (const Probe& p : probes) {
    if (!p.prime.empty()) Prime(o.target, p.prime);
  }
  // Every probe on both sides at once (a few probes at a time): the two
  // connections of a probe start together, so the fallback's timers run
  // from the same moment on both.
  std::vector<Verdict> verdicts(probes.size(), Verdict::Pass());
  std::atomic<size_t> next{0};
  auto worker = [&] {
    for (size_t i = next++; i < probes.size(); i = next++) {
      Observation direct, through;
      std::thread side([&] { direct = Observe(o.fallback, probes[i].bytes, o.max_wait); });
      through = Observe(o.target, probes[i].bytes, o.max_wait);
      side.join();
      verdicts[i] = Compare(direct, through, o);
    }
  };
  std::vector<std::thread> workers;
  for (int w = 0; w < std::max(1, o.parallel); ++w) workers.emplace_back(worker);
  for (std::thread& w : workers) w.join();

  std::vector<Scenario> scenarios;
  for (size_t i = 0; i < probes.size(); ++i) {
    scenarios.push_back({probes[i].name, [&verdicts, i] { return verdicts[i]; }});
  }
  return RunScenarios(scenarios, "", o.json_path, {"SAME", "DIFFERENT"});
}

}  // namespace reflex::proxy::probe
