#include "proxy/metrics.h"

#include <array>
#include <memory>

namespace reflex::proxy {
namespace {

// Builds the exposition: each family's HELP and TYPE once, then its samples.
class Exposition {
 public:
  void Family(const char* name, const char* type, const char* help) {
    out_ += "# HELP ";
    out_ += name;
    out_ += ' ';
    out_ += help;
    out_ += "\n# TYPE ";
    out_ += name;
    out_ += ' ';
    out_ += type;
    out_ += '\n';
  }
  // labels: already formatted, e.g. user="1a2b3c4d",direction="up"
  void Sample(const char* name, std::string_view labels, uint64_t value) {
    out_ += name;
    if (!labels.empty()) {
      out_ += '{';
      out_ += labels;
      out_ += '}';
    }
    out_ += ' ';
    out_ += std::to_string(value);
    out_ += '\n';
  }
  void Single(const char* name, const char* type, const char* help, uint64_t value) {
    Family(name, type, help);
    Sample(name, {}, value);
  }
  std::string Take() { return std::move(out_); }

 private:
  std::string out_;
};

// A label value: the names used here are hex digits, profile and reason
// tokens and pool names, but escape as the format requires anyway.
std::string Label(std::string_view key, std::string_view value) {
  std::string out(key);
  out += "=\"";
  for (const char c : value) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  out += '"';
  return out;
}

uint64_t Load(const std::atomic<uint64_t>& a) { return a.load(std::memory_order_relaxed); }

void ConnectionFamilies(const Stats& s, Exposition& e) {
  e.Single("reflex_connections_accepted_total", "counter", "Connections accepted.", Load(s.accepted));
  e.Single("reflex_connections_active", "gauge", "Connections open now.", Load(s.active));
  e.Single("reflex_connections_peak_active", "gauge", "Most connections open at once.",
           Load(s.peak_active));
  e.Single("reflex_connections_refused_limit_total", "counter",
           "Connections closed at accept: over --max-connections.", Load(s.refused_limit));
  e.Single("reflex_accept_errors_total", "counter", "Accept failures (EMFILE and the like).",
           Load(s.accept_errors));
  e.Family("reflex_handshakes_total", "counter", "Reflex handshakes accepted, by profile.");
  e.Sample("reflex_handshakes_total", Label("profile", "v1-compat"), Load(s.handshakes_v1));
  e.Sample("reflex_handshakes_total", Label("profile", "v2"), Load(s.handshakes_v2));
  e.Single("reflex_fallbacks_total", "counter", "Connections handed to the fallback.", Load(s.fallbacks));
  e.Single("reflex_early_fallback_dials_total", "counter",
           "Fallback connections opened for a connection that had sent nothing yet.",
           Load(s.early_fallback_dials));
  e.Single("reflex_early_fallbacks_unused_total", "counter",
           "Early fallback connections a genuine hello left unused.", Load(s.early_fallbacks_unused));
  e.Family("reflex_replay_store_verdicts_total", "counter",
           "The shared replay store's answers about hellos (--replay-store).");
  e.Sample("reflex_replay_store_verdicts_total", Label("verdict", "fresh"), Load(s.replay_store.fresh));
  e.Sample("reflex_replay_store_verdicts_total", Label("verdict", "seen"), Load(s.replay_store.seen));
  e.Sample("reflex_replay_store_verdicts_total", Label("verdict", "unavailable"),
           Load(s.replay_store.unavailable));
  e.Single("reflex_replay_store_accepted_locally_total", "counter",
           "Hellos accepted by this server's filter alone while the store did not answer "
           "(--replay-store-unavailable local).",
           Load(s.replay_store.accepted_locally));
  e.Single("reflex_tunnels_total", "counter", "Requests whose target was reached.", Load(s.tunnels));
  e.Single("reflex_target_failures_total", "counter", "Requests whose target could not be reached.",
           Load(s.target_failures));
  e.Single("reflex_session_errors_total", "counter", "Sessions ended by a peer's bad bytes.",
           Load(s.errors));
  e.Single("reflex_timeouts_total", "counter", "Watchdog expiries.", Load(s.timeouts));
  e.Family("reflex_bytes_total", "counter", "Plaintext bytes relayed, counted when a tunnel ends.");
  e.Sample("reflex_bytes_total", Label("direction", "up"), Load(s.bytes_up));
  e.Sample("reflex_bytes_total", Label("direction", "down"), Load(s.bytes_down));
  e.Single("reflex_udp_associations_total", "counter", "UDP associations opened (SPEC.md 15).",
           Load(s.udp.associations));
  e.Single("reflex_udp_associations_open", "gauge", "UDP associations open now.", Load(s.udp.open));
  e.Family("reflex_udp_datagrams_total", "counter",
           "Datagrams relayed, counted when an association ends: up towards destinations, down towards "
           "the application.");
  e.Sample("reflex_udp_datagrams_total", Label("direction", "up"), Load(s.udp.datagrams_up));
  e.Sample("reflex_udp_datagrams_total", Label("direction", "down"), Load(s.udp.datagrams_down));
  e.Family("reflex_udp_dropped_total", "counter",
           "Datagrams dropped, by whom: this process (too large, refused, unsendable) or the system (a full "
           "receive buffer).");
  e.Sample("reflex_udp_dropped_total", Label("by", "process"), Load(s.udp.dropped));
  e.Sample("reflex_udp_dropped_total", Label("by", "system"), Load(s.udp.system_drops));
  e.Family("reflex_connections_closed_total", "counter", "Connections ended, by close reason.");
  for (size_t r = 0; r < kCloseReasonCount; ++r) {
    e.Sample("reflex_connections_closed_total",
             Label("reason", CloseReasonName(static_cast<CloseReason>(r))), Load(s.closes[r]));
  }
}

void UserFamilies(const Stats& s, Exposition& e) {
  struct Row {
    std::string user;
    uint64_t open, total, up, down;
    std::vector<std::pair<std::string_view, uint64_t>> refusals;
  };
  std::vector<Row> rows;
  s.users.ForEach([&rows](const std::string& user, const UserCounters& c) {
    Row row{user, Load(c.tunnels_open), Load(c.tunnels_total), Load(c.bytes_up), Load(c.bytes_down), {}};
    for (size_t r = 0; r < kCloseReasonCount; ++r) {
      if (const uint64_t n = Load(c.refusals[r]); n > 0) {
        row.refusals.emplace_back(CloseReasonName(static_cast<CloseReason>(r)), n);
      }
    }
    rows.push_back(std::move(row));
  });
  e.Family("reflex_user_tunnels_open", "gauge", "A user's tunnels open now.");
  for (const Row& r : rows) e.Sample("reflex_user_tunnels_open", Label("user", r.user), r.open);
  e.Family("reflex_user_tunnels_total", "counter", "A user's tunnels opened.");
  for (const Row& r : rows) e.Sample("reflex_user_tunnels_total", Label("user", r.user), r.total);
  e.Family("reflex_user_bytes_total", "counter", "A user's plaintext bytes, counted when a tunnel ends.");
  for (const Row& r : rows) {
    e.Sample("reflex_user_bytes_total", Label("user", r.user) + "," + Label("direction", "up"), r.up);
    e.Sample("reflex_user_bytes_total", Label("user", r.user) + "," + Label("direction", "down"), r.down);
  }
  e.Family("reflex_user_refusals_total", "counter", "A user's requests refused, by reason.");
  for (const Row& r : rows) {
    for (const auto& [reason, n] : r.refusals) {
      e.Sample("reflex_user_refusals_total", Label("user", r.user) + "," + Label("reason", reason), n);
    }
  }
}

void PoolFamilies(const std::vector<NamedPoolStats>& pools, Exposition& e) {
  e.Family("reflex_pool_outstanding", "gauge", "Pooled blocks handed out and not yet returned.");
  for (const NamedPoolStats& p : pools) {
    e.Sample("reflex_pool_outstanding", Label("pool", p.name), p.stats.total_outstanding());
  }
  e.Family("reflex_pool_retained_bytes", "gauge", "Bytes a pool keeps for reuse.");
  for (const NamedPoolStats& p : pools) {
    e.Sample("reflex_pool_retained_bytes", Label("pool", p.name), p.stats.total_retained_bytes());
  }
}

void ProcessFamilies(Exposition& e) {
  const ProcessFigures p = ReadProcessFigures();
  e.Single("process_resident_memory_bytes", "gauge", "Resident memory (VmRSS).", p.rss_kib * 1024);
  e.Single("reflex_peak_resident_memory_bytes", "gauge", "Peak resident memory (VmHWM).",
           p.peak_rss_kib * 1024);
  e.Single("reflex_heap_in_use_bytes", "gauge", "malloc's bytes in use (jemalloc's stats.allocated, or glibc's mallinfo2).",
           p.heap_in_use_bytes);
  e.Single("process_open_fds", "gauge", "Open file descriptors.", p.fds);
}

std::string Response(const char* status, std::string_view body) {
  std::string out = "HTTP/1.1 ";
  out += status;
  out += "\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\nContent-Length: ";
  out += std::to_string(body.size());
  out += "\r\nConnection: close\r\n\r\n";
  out += body;
  return out;
}

}  // namespace

std::string PrometheusText(const Stats& stats, const std::vector<NamedPoolStats>& pools,
                           std::string_view role) {
  Exposition e;
  e.Family("reflex_info", "gauge", "The process's role.");
  e.Sample("reflex_info", Label("role", role), 1);
  ConnectionFamilies(stats, e);
  UserFamilies(stats, e);
  PoolFamilies(pools, e);
  ProcessFamilies(e);
  return e.Take();
}

std::string MetricsResponse(std::string_view head, const std::function<std::string()>& render) {
  const std::string_view line = head.substr(0, head.find("\r\n"));
  const size_t sp1 = line.find(' ');
  const size_t sp2 = line.rfind(' ');
  if (sp1 == std::string_view::npos || sp2 == sp1 || line.substr(sp2 + 1).substr(0, 7) != "HTTP/1.") {
    return Response("400 Bad Request", "bad request\n");
  }
  std::string_view path = line.substr(sp1 + 1, sp2 - sp1 - 1);
  path = path.substr(0, path.find('?'));
  if (path != "/metrics") return Response("404 Not Found", "not found: the metrics are at /metrics\n");
  const std::string_view method = line.substr(0, sp1);
  if (method != "GET") return Response("405 Method Not Allowed", "GET only\n");
  return Response("200 OK", render());
}

awaitable<void> ServeMetricsConnection(asio::ip::tcp::socket socket, std::function<std::string()> render) {
  asio::steady_timer deadline(socket.get_executor());
  deadline.expires_after(kMetricsRequestTimeout);
  // An expiry already queued when the answer is done must not touch the
  // socket of a finished coroutine.
  auto finished = std::make_shared<bool>(false);
  deadline.async_wait([&socket, finished](std::error_code ec) {
    std::error_code ignored;
    if (!ec && !*finished) socket.close(ignored);  // a slow or silent client
  });
  std::string head;
  std::array<char, 1024> chunk;
  while (head.find("\r\n\r\n") == std::string::npos && head.size() < kMaxMetricsRequestBytes) {
    auto [ec, n] = co_await socket.async_read_some(asio::buffer(chunk), kUseTuple);
    if (ec) {  // the deadline's close lands here too
      *finished = true;
      co_return;
    }
    head.append(chunk.data(), n);
  }
  const std::string response = head.find("\r\n\r\n") == std::string::npos
                                   ? std::string("HTTP/1.1 431 Request Header Fields Too Large\r\n"
                                                 "Content-Length: 0\r\nConnection: close\r\n\r\n")
                                   : MetricsResponse(head, render);
  (void)co_await asio::async_write(socket, asio::buffer(response), kUseTuple);
  *finished = true;
  deadline.cancel();
  std::error_code ignored;
  socket.shutdown(asio::ip::tcp::socket::shutdown_send, ignored);
  socket.close(ignored);
}

}  // namespace reflex::proxy
