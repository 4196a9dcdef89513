// The load driver and target of bench/proxy/run.sh, the same for every
// proxy it compares (reflex, shadowsocks-libev, v2ray, and none):
//   proxy_load serve --listen 127.0.0.1:PORT
//       the target: reads an 8-byte big-endian count, sends that many
//       bytes, then closes (with the count's top bit set: then waits for
//       the peer to close first, so the tunnel stays open); and a UDP echo
//       on the same port number;
//   proxy_load bulk --target HOST:PORT [--socks HOST:PORT] --connections C --bytes N [--pids P1,P2]
//       C connections at once, each fetching N bytes: aggregate MB/s, and
//       the CPU time the processes P1, P2 spent per GiB;
//   proxy_load rate --target ... [--socks ...] --concurrency C --seconds S --bytes N [--pids P1,P2]
//       closed loop of new tunnels (connect, fetch N bytes, close): tunnels
//       per second, p50 and p99 latency, CPU time of P1, P2 per tunnel;
//   proxy_load idle --target ... --socks ... --connections C --pids P1,P2 [--unanswered 1]
//       opens C tunnels, each fetching 1 byte from a target that then
//       keeps the connection open (or, unanswered, sending 1 byte the
//       target never answers), then reports the resident memory
//       P1, P2 grew by, per tunnel; then closes them all and reports
//       P1, P2's resident memory 5 s later beside the one before (read
//       after one tunnel opened and closed, so that code paged in by the
//       first tunnel is not counted);
//   proxy_load udp --target HOST:PORT [--socks HOST:PORT] --bytes N --seconds S [--pids P1,P2]
//       datagrams of N bytes to the target's UDP echo (on the target's
//       port), through a SOCKS5 UDP ASSOCIATE or directly, at most 64
//       unanswered at a time (each carries a sequence number; one still
//       unanswered 200 ms after it was sent is lost, and the last window's
//       answers are waited for): datagrams per second and MB/s each way,
//       the share lost, the CPU time of P1, P2 per 1,000 datagrams;
//   proxy_load aead --bytes N
//       raw libsodium, for scale: ChaCha20-Poly1305 seal and
//       open of N bytes in 16 KiB messages (the bytes a tunnel carries);
//   proxy_load freeport
//       a loopback port nothing listens on, for the peers' configurations;
//   proxy_load report FILE
//       the results table (Markdown) from the JSON lines run.sh collected.
// One line of JSON on stdout per measurement.
#include <sodium.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <deque>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include <poll.h>
#include <sys/socket.h>

#include "proxy/address.h"
#include "proxy/asio_config.h"
#include "proxy/probe/blocking_udp.h"

namespace {

using namespace reflex::proxy;
using asio::ip::tcp;
using Clock = std::chrono::steady_clock;

struct Options {
  std::string mode;
  HostPort listen, target, socks;
  bool via_socks = false;
  size_t connections = 1, concurrency = 1;
  uint64_t bytes = 0;
  double seconds = 10;
  bool unanswered = false;
  std::vector<int> pids;
};

bool Parse(int argc, char** argv, Options* o) {
  if (argc < 2) return false;
  o->mode = argv[1];
  for (int i = 2; i + 1 < argc; i += 2) {
    const std::string k = argv[i], v = argv[i + 1];
    if (k == "--listen") { if (!ParseHostPort(v, &o->listen)) return false; }
    else if (k == "--target") { if (!ParseHostPort(v, &o->target)) return false; }
    else if (k == "--socks") { if (!ParseHostPort(v, &o->socks)) return false; o->via_socks = true; }
    else if (k == "--connections") o->connections = std::stoul(v);
    else if (k == "--concurrency") o->concurrency = std::stoul(v);
    else if (k == "--bytes") o->bytes = std::stoull(v);
    else if (k == "--seconds") o->seconds = std::stod(v);
    else if (k == "--unanswered") o->unanswered = v == "1";
    else if (k == "--pids") {
      for (size_t at = 0; at < v.size();) {
        const size_t comma = v.find(',', at);
        o->pids.push_back(std::stoi(v.substr(at, comma - at)));
        at = comma == std::string::npos ? v.size() : comma + 1;
      }
    } else return false;
  }
  return true;
}

// The count's flag for "answer, then keep the connection open".
constexpr uint64_t kHoldOpen = uint64_t{1} << 63;

awaitable<void> ServeOne(tcp::socket s) {
  uint8_t head[8];
  auto [ec, n] = co_await asio::async_read(s, asio::buffer(head), kUseTuple);
  if (ec) co_return;
  uint64_t want = 0;
  for (uint8_t b : head) want = want << 8 | b;
  const bool hold = (want & kHoldOpen) != 0;
  want &= ~kHoldOpen;
  static const std::vector<uint8_t> chunk(256 * 1024, 0x5a);
  while (want > 0) {
    const size_t m = static_cast<size_t>(std::min<uint64_t>(want, chunk.size()));
    auto [wec, w] = co_await asio::async_write(s, asio::buffer(chunk.data(), m), kUseTuple);
    (void)w;
    if (wec) co_return;
    want -= m;
  }
  if (hold) {
    uint8_t rest[64];
    while (true) {
      auto [rec, r] = co_await s.async_read_some(asio::buffer(rest), kUseTuple);
      (void)r;
      if (rec) break;
    }
  }
  // The target closes first: TIME_WAIT stays here, on the fixed port, and
  // never eats the driver's ephemeral ports.
  std::error_code ignored;
  s.shutdown(tcp::socket::shutdown_both, ignored);
  s.close(ignored);
}

awaitable<void> Serve(tcp::acceptor& acceptor) {
  while (true) {
    auto [ec, s] = co_await acceptor.async_accept(kUseTuple);
    if (ec) continue;
    s.set_option(tcp::no_delay(true));
    asio::co_spawn(acceptor.get_executor(), ServeOne(std::move(s)), asio::detached);
  }
}

// A connection to the target, through SOCKS5 or not. Empty on success.
awaitable<std::string> Open(tcp::socket& s, const Options& o) {
  const HostPort& first = o.via_socks ? o.socks : o.target;
  auto [cec] = co_await s.async_connect(tcp::endpoint(asio::ip::make_address(first.host), first.port), kUseTuple);
  if (cec) co_return "connect: " + cec.message();
  s.set_option(tcp::no_delay(true));
  if (!o.via_socks) co_return "";
  // The greeting, its answer, then the request, as curl and browsers do
  // (trojan's client drops a request sent with the greeting).
  const uint8_t greeting[] = {5, 1, 0};
  auto [gec, g] = co_await asio::async_write(s, asio::buffer(greeting), kUseTuple);
  (void)g;
  if (gec) co_return "socks write: " + gec.message();
  uint8_t method[2];
  auto [mec, m] = co_await asio::async_read(s, asio::buffer(method), kUseTuple);
  (void)m;
  if (mec) co_return "socks read: " + mec.message();
  if (method[1] != 0) co_return "socks method " + std::to_string(method[1]);
  const auto ip = asio::ip::make_address_v4(o.target.host).to_bytes();
  const uint8_t req[] = {5, 1, 0, 1, ip[0], ip[1], ip[2], ip[3],
                         static_cast<uint8_t>(o.target.port >> 8), static_cast<uint8_t>(o.target.port)};
  auto [wec, w] = co_await asio::async_write(s, asio::buffer(req), kUseTuple);
  (void)w;
  if (wec) co_return "socks write: " + wec.message();
  uint8_t reply[10];
  auto [rec, r] = co_await asio::async_read(s, asio::buffer(reply), kUseTuple);
  (void)r;
  if (rec) co_return "socks read: " + rec.message();
  if (reply[1] != 0) co_return "socks reply " + std::to_string(reply[1]);
  co_return "";
}

// `buf` belongs to the caller and lives across fetches: allocating (and
// faulting in) a fresh buffer per tunnel would be the driver's cost.
awaitable<std::string> Fetch(tcp::socket& s, uint64_t bytes, std::vector<uint8_t>& buf, bool hold = false) {
  uint8_t head[8];
  const uint64_t count = bytes | (hold ? kHoldOpen : 0);
  for (int i = 0; i < 8; ++i) head[i] = static_cast<uint8_t>(count >> (56 - 8 * i));
  auto [wec, w] = co_await asio::async_write(s, asio::buffer(head), kUseTuple);
  (void)w;
  if (wec) co_return "write: " + wec.message();
  uint64_t got = 0;
  while (got < bytes) {
    auto [ec, n] = co_await s.async_read_some(asio::buffer(buf), kUseTuple);
    got += n;
    if (ec) co_return "read after " + std::to_string(got) + ": " + ec.message();
  }
  co_return "";
}

// Microseconds of CPU (user + system, every thread) process `pid` has
// used; 0 when it cannot be read.
double CpuMicros(int pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  std::getline(in, line);
  const size_t comm_end = line.rfind(')');
  if (comm_end == std::string::npos) return 0;
  std::istringstream fields(line.substr(comm_end + 2));
  std::string skip;
  for (int i = 3; i < 14; ++i) fields >> skip;  // state .. cmajflt (fields 3..13)
  double utime = 0, stime = 0;
  fields >> utime >> stime;
  return (utime + stime) * 1e6 / static_cast<double>(sysconf(_SC_CLK_TCK));
}

std::vector<double> CpuOf(const std::vector<int>& pids) {
  std::vector<double> v;
  for (int pid : pids) v.push_back(CpuMicros(pid));
  return v;
}

// ",\"KEY\":[a,b]": each process's CPU since `before`, divided by `per`.
std::string CpuField(const char* key, const std::vector<int>& pids, const std::vector<double>& before,
                     double per, double scale) {
  std::string out = std::string(",\"") + key + "\":[";
  for (size_t i = 0; i < pids.size(); ++i) {
    const double used = CpuMicros(pids[i]) - before[i];
    char buf[32];
    std::snprintf(buf, sizeof buf, "%s%.1f", i ? "," : "", per > 0 ? used * scale / per : 0.0);
    out += buf;
  }
  return out + "]";
}

int Bulk(const Options& o) {
  asio::io_context io(1);
  size_t failed = 0;
  std::string first_error;
  const std::vector<double> cpu_before = CpuOf(o.pids);
  const auto start = Clock::now();
  for (size_t i = 0; i < o.connections; ++i) {
    asio::co_spawn(io, [&]() -> awaitable<std::string> {
      tcp::socket s(co_await asio::this_coro::executor);
      std::vector<uint8_t> buf(256 * 1024);
      std::string e = co_await Open(s, o);
      if (e.empty()) e = co_await Fetch(s, o.bytes, buf);
      co_return e;
    }, [&](std::exception_ptr, std::string e) {
      if (!e.empty() && failed++ == 0) first_error = e;
    });
  }
  io.run();
  const double secs = std::chrono::duration<double>(Clock::now() - start).count();
  const double total = static_cast<double>(o.bytes) * static_cast<double>(o.connections - failed);
  const std::string cpu = CpuField("cpu_ms_per_gib", o.pids, cpu_before, total / (1u << 30), 1e-3);
  std::printf("{\"mode\":\"bulk\",\"connections\":%zu,\"bytes\":%llu,\"seconds\":%.3f,\"mb_per_s\":%.1f,"
              "\"failed\":%zu,\"error\":\"%s\"%s}\n",
              o.connections, static_cast<unsigned long long>(o.bytes), secs, total / secs / 1e6, failed,
              first_error.c_str(), cpu.c_str());
  return failed == 0 ? 0 : 1;
}

int Rate(const Options& o) {
  asio::io_context io;
  std::vector<double> latencies;
  size_t failed = 0, in_window = 0;
  std::string first_error;
  const std::vector<double> cpu_before = CpuOf(o.pids);
  const auto start = Clock::now();
  const auto until = start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(o.seconds));
  for (size_t i = 0; i < o.concurrency; ++i) {
    asio::co_spawn(io, [&]() -> awaitable<void> {
      std::vector<uint8_t> buf(64 * 1024);
      asio::steady_timer limit(co_await asio::this_coro::executor);
      while (Clock::now() < until) {
        const auto t0 = Clock::now();
        tcp::socket s(co_await asio::this_coro::executor);
        // A tunnel that does not finish in 5 s is a failure (a proxy that
        // silently holds a connection must not stall the run).
        limit.expires_after(std::chrono::seconds(5));
        limit.async_wait([&s](std::error_code ec) {
          std::error_code ignored;
          if (!ec) s.close(ignored);
        });
        std::string e = co_await Open(s, o);
        if (e.empty()) e = co_await Fetch(s, o.bytes, buf);
        limit.cancel();
        // A reset, not a FIN: 10^5 tunnels in TIME_WAIT would exhaust the
        // ephemeral ports and measure the kernel's port search instead.
        // Every proxy sees the same.
        std::error_code ignored;
        s.set_option(asio::socket_base::linger(true, 0), ignored);
        s.close(ignored);
        if (e.empty()) {
          latencies.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
          if (Clock::now() <= until) ++in_window;
        } else if (failed++ == 0) {
          first_error = e;
        }
      }
    }, asio::detached);
  }
  io.run();
  // The rate counts tunnels finished within the window (a stalled one
  // would otherwise stretch the run).
  std::sort(latencies.begin(), latencies.end());
  auto pct = [&](double p) {
    return latencies.empty() ? 0.0 : latencies[std::min(latencies.size() - 1, static_cast<size_t>(p * latencies.size()))];
  };
  // Every tunnel opened, failed ones too, cost the proxies CPU.
  const std::string cpu = CpuField("cpu_us_per_tunnel", o.pids, cpu_before,
                                   static_cast<double>(latencies.size() + failed), 1);
  std::printf("{\"mode\":\"rate\",\"concurrency\":%zu,\"tunnels\":%zu,\"per_s\":%.0f,\"p50_ms\":%.2f,"
              "\"p99_ms\":%.2f,\"failed\":%zu,\"error\":\"%s\"%s}\n",
              o.concurrency, latencies.size(), static_cast<double>(in_window) / o.seconds, pct(0.5), pct(0.99), failed,
              first_error.c_str(), cpu.c_str());
  return failed == 0 ? 0 : 1;
}

uint64_t RssKib(int pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string key;
  uint64_t v = 0;
  std::string unit;
  while (in >> key) {
    if (key == "VmRSS:" && in >> v >> unit) return v;
  }
  return 0;
}

int Idle(const Options& o) {
  asio::io_context io(1);
  // One tunnel first, closed before "before" is read: the code a tunnel
  // runs is then resident already (shared pages, in RSS), and only what
  // the tunnels themselves hold is counted.
  asio::co_spawn(io, [&]() -> awaitable<void> {
    tcp::socket s(co_await asio::this_coro::executor);
    std::vector<uint8_t> buf(64);
    if ((co_await Open(s, o)).empty()) (void)co_await Fetch(s, 1, buf);
  }, asio::detached);
  io.run();
  io.restart();
  std::this_thread::sleep_for(std::chrono::seconds(1));
  std::vector<uint64_t> before;
  for (int pid : o.pids) before.push_back(RssKib(pid));
  std::vector<std::unique_ptr<tcp::socket>> sockets;
  size_t ready = 0, failed = 0;
  std::string first_error;
  // At most 256 handshakes in flight: a burst of thousands would measure
  // the proxies' backlog handling, not their idle cost.
  size_t next = 0;
  std::function<void()> launch = [&] {
    if (next >= o.connections) return;
    ++next;
    sockets.push_back(std::make_unique<tcp::socket>(io));
    tcp::socket* s = sockets.back().get();
    asio::co_spawn(io, [&, s]() -> awaitable<std::string> {
      std::vector<uint8_t> buf(64);
      std::string e = co_await Open(*s, o);
      if (!e.empty()) co_return e;
      // Answered: the target keeps its end open after the byte, so the
      // tunnel stays whole (a proxy that closes a tunnel once the target
      // half-closes would otherwise be measured with no tunnel at all).
      if (!o.unanswered) co_return co_await Fetch(*s, 1, buf, /*hold=*/true);
      // One byte of the 8-byte count: the target waits for the rest.
      const uint8_t first = 0;
      auto [wec, w] = co_await asio::async_write(*s, asio::buffer(&first, 1), kUseTuple);
      (void)w;
      co_return wec ? "write: " + wec.message() : "";
    }, [&](std::exception_ptr, std::string e) {
      if (e.empty()) ++ready;
      else if (failed++ == 0) first_error = e;
      launch();
    });
  };
  for (size_t i = 0; i < std::min<size_t>(256, o.connections); ++i) launch();
  io.run();
  std::this_thread::sleep_for(std::chrono::seconds(2));  // let the proxies settle
  std::printf("{\"mode\":\"idle\",\"tunnels\":%zu,\"failed\":%zu,\"error\":\"%s\",\"kib_per_tunnel\":[",
              ready, failed, first_error.c_str());
  for (size_t i = 0; i < o.pids.size(); ++i) {
    const double grew = static_cast<double>(RssKib(o.pids[i])) - static_cast<double>(before[i]);
    std::printf("%s%.2f", i ? "," : "", ready ? grew / static_cast<double>(ready) : 0.0);
  }
  // Memory given back: every tunnel closed, then 5 s for the proxies to
  // notice and return what they can.
  for (auto& s : sockets) {
    std::error_code ignored;
    s->close(ignored);
  }
  std::this_thread::sleep_for(std::chrono::seconds(5));
  std::printf("],\"before_mib\":[");
  for (size_t i = 0; i < o.pids.size(); ++i) std::printf("%s%.1f", i ? "," : "", before[i] / 1024.0);
  std::printf("],\"after_close_mib\":[");
  for (size_t i = 0; i < o.pids.size(); ++i) std::printf("%s%.1f", i ? "," : "", RssKib(o.pids[i]) / 1024.0);
  std::printf("]}\n");
  return failed == 0 ? 0 : 1;
}

awaitable<void> EchoDatagrams(asio::ip::udp::socket& socket) {
  std::vector<uint8_t> buf(65536);
  asio::ip::udp::endpoint from;
  while (true) {
    auto [ec, n] = co_await socket.async_receive_from(asio::buffer(buf), from, kUseTuple);
    if (ec) continue;
    auto [sec, m] = co_await socket.async_send_to(asio::buffer(buf.data(), n), from, kUseTuple);
    (void)sec;
    (void)m;
  }
}

// Round trips of o.bytes-byte datagrams, a window of 64 at a time.
int Udp(const Options& o) {
  constexpr size_t kWindow = 64;
  constexpr int kLostAfterMs = 200;
  sockaddr_storage local;
  socklen_t local_length = 0;
  if (!probe::ToSockaddr({"127.0.0.1", 0}, &local, &local_length)) return 1;
  const int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return 1;
  const int room = 4 << 20;
  setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &room, sizeof room);
  if (bind(fd, reinterpret_cast<sockaddr*>(&local), local_length) != 0) return 1;  // (the process ends here)
  sockaddr_storage bound;
  socklen_t bound_length = sizeof bound;
  getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &bound_length);
  // Through SOCKS5, the association takes datagrams from the port its
  // request names: this socket's.
  HostPort to = o.target;
  probe::BlockingSocket control;
  std::vector<uint8_t> datagram(o.bytes, 0x5a);
  size_t header = 0;  // RSV FRAG ATYP ADDR PORT before each datagram
  if (o.via_socks) {
    control = probe::BlockingSocket(o.socks);
    const int code = probe::Socks5UdpAssociate(control, probe::FromSockaddr(bound).port, &to);
    if (code != 0) {
      std::printf("{\"mode\":\"udp\",\"error\":\"UDP ASSOCIATE: %d\"}\n", code);
      return 1;
    }
    datagram = probe::Socks5UdpDatagram(o.target, datagram);
    header = datagram.size() - o.bytes;
  }
  sockaddr_storage address;
  socklen_t length = 0;
  if (!probe::ToSockaddr(to, &address, &length)) return 1;
  if (o.bytes < 8) return 1;  // room for the sequence number
  // Each datagram carries its sequence number (8 bytes, after the SOCKS5
  // header): an answer is matched to what it answers, and each one still
  // missing 200 ms after it was sent counts as lost on its own.
  std::vector<uint8_t> in(65536);
  std::vector<bool> done;  // by sequence number: answered or counted lost
  std::deque<std::pair<uint64_t, Clock::time_point>> in_flight;  // in the order sent
  uint64_t sent = 0, answered = 0, lost = 0;
  auto receive_all = [&] {
    while (true) {
      const ssize_t n = recv(fd, in.data(), in.size(), MSG_DONTWAIT);
      if (n < 0) break;
      size_t at = 0;  // the answer's own SOCKS5 header: 10 bytes for IPv4, 22 for IPv6
      if (o.via_socks) at = n > 3 && in[3] == 4 ? 22 : 10;
      if (static_cast<size_t>(n) < at + 8) continue;
      uint64_t seq = 0;
      for (int k = 0; k < 8; ++k) seq = seq << 8 | in[at + static_cast<size_t>(k)];
      if (seq < done.size() && !done[seq]) {
        done[seq] = true;
        ++answered;
      }
    }
  };
  auto expire = [&](Clock::time_point now) {
    while (!in_flight.empty() && (done[in_flight.front().first] || now - in_flight.front().second > std::chrono::milliseconds(kLostAfterMs))) {
      if (!done[in_flight.front().first]) {
        done[in_flight.front().first] = true;
        ++lost;
      }
      in_flight.pop_front();
    }
  };
  const std::vector<double> cpu_before = CpuOf(o.pids);
  const auto start = Clock::now();
  const auto end = start + std::chrono::duration<double>(o.seconds);
  while (Clock::now() < end) {
    while (sent - answered - lost < kWindow) {
      for (int k = 0; k < 8; ++k) datagram[header + static_cast<size_t>(k)] = static_cast<uint8_t>(sent >> (56 - 8 * k));
      if (sendto(fd, datagram.data(), datagram.size(), 0, reinterpret_cast<sockaddr*>(&address), length) < 0) break;
      done.push_back(false);
      in_flight.emplace_back(sent, Clock::now());
      ++sent;
    }
    pollfd p{fd, POLLIN, 0};
    (void)poll(&p, 1, 50);
    receive_all();
    expire(Clock::now());
  }
  const double secs = std::chrono::duration<double>(Clock::now() - start).count();
  // The last window's answers are still on their way: waited for, not
  // counted lost.
  for (const auto drain_end = Clock::now() + std::chrono::milliseconds(kLostAfterMs); Clock::now() < drain_end;) {
    pollfd p{fd, POLLIN, 0};
    (void)poll(&p, 1, 20);
    receive_all();
  }
  lost = sent - answered;
  const std::string cpu = CpuField("cpu_us_per_1k_datagrams", o.pids, cpu_before, static_cast<double>(answered) / 1000, 1);
  std::printf("{\"mode\":\"udp\",\"bytes\":%llu,\"sent\":%llu,\"answered\":%llu,\"per_s\":%.0f,\"mb_per_s\":%.1f,"
              "\"lost_percent\":%.3f%s}\n",
              static_cast<unsigned long long>(o.bytes), static_cast<unsigned long long>(sent),
              static_cast<unsigned long long>(answered), static_cast<double>(answered) / secs,
              static_cast<double>(answered * o.bytes) / secs / 1e6,
              sent > 0 ? 100.0 * static_cast<double>(sent - std::min(sent, answered)) / static_cast<double>(sent) : 0.0,
              cpu.c_str());
  ::close(fd);
  return 0;
}

int Aead(const Options& o) {
  if (sodium_init() < 0) return 1;
  constexpr size_t kMessage = 16384;
  std::vector<uint8_t> key(32, 7), nonce(12, 0), plain(kMessage, 1), sealed(kMessage + 16), opened(kMessage);
  const size_t rounds = static_cast<size_t>(o.bytes / kMessage);
  const auto start = Clock::now();
  for (size_t i = 0; i < rounds; ++i) {
    std::memcpy(nonce.data(), &i, sizeof(i));
    unsigned long long n = 0;
    crypto_aead_chacha20poly1305_ietf_encrypt(sealed.data(), &n, plain.data(), kMessage, nullptr, 0,
                                              nullptr, nonce.data(), key.data());
    if (crypto_aead_chacha20poly1305_ietf_decrypt(opened.data(), &n, nullptr, sealed.data(), sealed.size(),
                                                  nullptr, 0, nonce.data(), key.data()) != 0) {
      return 1;
    }
  }
  const double secs = std::chrono::duration<double>(Clock::now() - start).count();
  std::printf("{\"mode\":\"aead\",\"bytes\":%zu,\"mb_per_s\":%.1f}\n", rounds * kMessage,
              static_cast<double>(rounds * kMessage) / secs / 1e6);
  return 0;
}

// The median of each (peer, workload, metric) over the rounds, as a table
// with reflex's ratio to the best peer and to a baseline build beside it.
int Report(const char* path) {
  std::ifstream in(path);
  std::map<std::string, std::map<std::string, std::vector<double>>> values;  // row -> peer -> values
  std::vector<std::string> rows;  // in the order measured
  double aead = 0;
  for (std::string line; std::getline(in, line);) {
    const auto j = nlohmann::json::parse(line, nullptr, false);
    if (!j.is_object() || !j.contains("peer")) continue;
    const std::string peer = j["peer"], w = j["workload"];
    if (j["mode"] == "aead") { aead = j["mb_per_s"]; continue; }
    auto add = [&](const std::string& row, double v) {
      if (!values.contains(row)) rows.push_back(row);
      values[row][peer].push_back(v);
    };
    // Per side (client, server) and both together, when measured.
    auto add_sides = [&](const std::string& row, const char* unit, const char* key) {
      if (!j.contains(key) || j[key].size() != 2) return;
      const double client = j[key][0], server = j[key][1];
      add(row + " client (" + unit + ")", client);
      add(row + " server (" + unit + ")", server);
      add(row + " client + server (" + unit + ")", client + server);
    };
    if (j["mode"] == "bulk") {
      add(w + " (MB/s)", j["mb_per_s"]);
      add_sides(w + " CPU", "ms/GiB", "cpu_ms_per_gib");
    }
    if (j["mode"] == "rate") {
      add(w + " (tunnels/s)", j["per_s"]);
      add(w + " p50 (ms)", j["p50_ms"]);
      add(w + " p99 (ms)", j["p99_ms"]);
      add(w + " failed", j["failed"]);
      add_sides(w + " CPU", "us/tunnel", "cpu_us_per_tunnel");
    }
    if (j["mode"] == "udp") {
      add(w + " (datagrams/s)", j["per_s"]);
      add(w + " (MB/s each way)", j["mb_per_s"]);
      add(w + " lost (%)", j["lost_percent"]);
      add_sides(w + " CPU", "us/1k datagrams", "cpu_us_per_1k_datagrams");
    }
    if (j["mode"] == "idle") {
      add(w + " client (KiB/tunnel)", j["kib_per_tunnel"][0]);
      add(w + " server (KiB/tunnel)", j["kib_per_tunnel"][1]);
      if (j.contains("after_close_mib")) {
        add(w + ": client before (MiB)", j["before_mib"][0]);
        add(w + ": client 5 s after close (MiB)", j["after_close_mib"][0]);
        add(w + ": server before (MiB)", j["before_mib"][1]);
        add(w + ": server 5 s after close (MiB)", j["after_close_mib"][1]);
      }
    }
  }
  auto median = [](std::vector<double> v) {
    if (v.empty()) return -1.0;
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
  };
  // Columns for the peers this run measured, in a fixed order; then
  // reflex against the best peer, and against a baseline build of reflex
  // when one ran (run.sh --baseline-reflex).
  std::set<std::string> seen;
  for (const auto& [row, by_peer] : values) {
    for (const auto& [peer, v] : by_peer) seen.insert(peer);
  }
  std::vector<std::string> peers;
  for (const char* p : {"direct", "reflex", "reflex-baseline", "reflex-store", "ss-libev", "v2ray", "trojan"}) {
    if (seen.contains(p)) peers.push_back(p);
  }
  const bool vs_peers = seen.contains("ss-libev") || seen.contains("v2ray") || seen.contains("trojan");
  const bool vs_baseline = seen.contains("reflex-baseline");
  std::printf("| workload |");
  for (const std::string& p : peers) std::printf(" %s |", p.c_str());
  if (vs_peers) std::printf(" reflex vs best peer (above 1: reflex ahead) |");
  if (vs_baseline) std::printf(" reflex vs baseline (above 1: reflex ahead) |");
  std::printf("\n|---|");
  for (size_t i = 0; i < peers.size() + vs_peers + vs_baseline; ++i) std::printf("---|");
  std::printf("\n");
  for (const std::string& row : rows) {
    const auto& by_peer = values[row];
    auto median_of = [&](const char* p) {
      const auto it = by_peer.find(p);
      return it == by_peer.end() ? -1.0 : median(it->second);
    };
    std::printf("| %s |", row.c_str());
    for (const std::string& p : peers) {
      const double m = median_of(p.c_str());
      if (m < 0) std::printf(" - |");
      else std::printf(" %.*f |", m < 100 ? 2 : 0, m);
    }
    // Higher is better for rates, lower for latency, memory and failures.
    const bool higher = row.find("MB/s") != std::string::npos || row.find("tunnels/s") != std::string::npos ||
                        row.find("datagrams/s") != std::string::npos;
    double best = -1;
    for (const char* p : {"ss-libev", "v2ray", "trojan"}) {
      const double m = median_of(p);
      if (m >= 0 && (best < 0 || (higher ? m > best : m < best))) best = m;
    }
    const double ours = median_of("reflex");
    auto ratio = [&](double other) {
      if (row.find("failed") == std::string::npos && row.find("lost") == std::string::npos && ours > 0 && other > 0) {
        std::printf(" %.2fx |", higher ? ours / other : other / ours);
      } else {
        std::printf(" - |");
      }
    };
    if (vs_peers) ratio(best);
    if (vs_baseline) ratio(median_of("reflex-baseline"));
    std::printf("\n");
  }
  std::printf("\nRaw libsodium ChaCha20-Poly1305 on this machine, for scale (seal + open of 16 KiB "
              "messages): %.0f MB/s\n", aead);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 3 && std::string(argv[1]) == "report") return Report(argv[2]);
  if (argc == 2 && std::string(argv[1]) == "freeport") {
    asio::io_context io;
    tcp::acceptor a(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    std::printf("%u\n", a.local_endpoint().port());
    return 0;
  }
  Options o;
  if (!Parse(argc, argv, &o)) {
    std::fprintf(stderr, "usage: proxy_load serve|bulk|rate|idle|udp|aead [options] (see the source's header)\n");
    return 2;
  }
  if (o.mode == "serve") {
    asio::io_context io(1);
    tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::make_address(o.listen.host), o.listen.port));
    acceptor.listen(4096);
    std::fprintf(stderr, "target listening on %s:%u\n", o.listen.host.c_str(), acceptor.local_endpoint().port());
    asio::co_spawn(io, Serve(acceptor), asio::detached);
    asio::ip::udp::socket echo(io, asio::ip::udp::endpoint(acceptor.local_endpoint().address(), acceptor.local_endpoint().port()));
    echo.set_option(asio::socket_base::receive_buffer_size(4 << 20));
    asio::co_spawn(io, EchoDatagrams(echo), asio::detached);
    io.run();
    return 0;
  }
  if (o.mode == "bulk") return Bulk(o);
  if (o.mode == "rate") return Rate(o);
  if (o.mode == "idle") return Idle(o);
  if (o.mode == "aead") return Aead(o);
  if (o.mode == "udp") return Udp(o);
  return 2;
}
