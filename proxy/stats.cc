#include "proxy/stats.h"

#include <dirent.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>

#include "proxy/asio_config.h"
#include "proxy/heap.h"
#include "reflex/aead.h"
#include <string_view>

namespace reflex::proxy {
namespace {

// VmRSS and VmHWM of this process, in KiB.
void MemoryKib(uint64_t* rss, uint64_t* peak) {
  std::ifstream in("/proc/self/status");
  std::string key;
  uint64_t value = 0;
  std::string unit;
  while (in >> key) {
    if (key == "VmRSS:" && in >> value >> unit) *rss = value;
    if (key == "VmHWM:" && in >> value >> unit) *peak = value;
  }
}

uint64_t OpenFds() {
  uint64_t n = 0;
  if (DIR* d = opendir("/proc/self/fd")) {
    while (dirent* e = readdir(d)) n += e->d_name[0] != '.';
    closedir(d);
  }
  return n > 0 ? n - 1 : 0;  // not the directory stream's own
}

uint64_t OutstandingBytes(const pool::PoolStats& p) {
  uint64_t bytes = 0;
  for (size_t i = 0; i < p.tier_count; ++i) bytes += p.tiers[i].outstanding * p.tiers[i].capacity;
  return bytes;
}

// What one OpenSSL context costs here, measured once: a key, then a
// message large enough to make its context; the second of two such keys
// (the first may pay OpenSSL's one-time setup). Under glibc the figure is
// the process's, so other threads' allocations meanwhile may blur it.
uint64_t AeadContextBytes() {
  static const uint64_t bytes = [] {
    const std::array<uint8_t, kAeadKeyBytes> key{};
    std::array<uint8_t, kOpensslFromBytes> data{};
    const std::array<uint8_t, kAeadNonceBytes> nonce{};
    std::array<uint8_t, kTagBytes> tag{};
    uint64_t cost = 0;
    Aead first, second;
    for (Aead* aead : {&first, &second}) {
      if (aead->Init(AeadBackend::kOpenssl, AeadDirection::kSeal, key) != Error::kOk) return uint64_t{0};
      const uint64_t before = ThreadAllocatedBytes();
      if (aead->Seal(nonce, {}, data, tag) != Error::kOk) return uint64_t{0};
      const uint64_t after = ThreadAllocatedBytes();
      cost = after > before ? after - before : 0;
    }
    return cost;
  }();
  return bytes;
}

// Where an open connection's memory goes (--stats "per_connection"): the
// heap it holds (malloc's bytes in use beyond those at start and beyond
// what the pools keep for reuse), and of that its state object, its
// buffers in use, its OpenSSL contexts, Asio's state of its sockets, and
// the rest (coroutine frames, Asio's pending operations). Averages over the
// open connections; the rest is what is left after the measured items.
nlohmann::ordered_json PerConnection(const Stats& s, const std::vector<NamedPoolStats>& pools,
                                     const ProcessFigures& process) {
  const uint64_t active = s.active.load(std::memory_order_relaxed);
  if (active == 0) return nlohmann::ordered_json::object();
  uint64_t retained = 0, buffers = 0, states = 0;
  for (const NamedPoolStats& p : pools) {
    retained += p.stats.total_retained_bytes();
    (p.name == "states" ? states : buffers) += OutstandingBytes(p.stats);
  }
  const uint64_t at_start = s.memory.heap_at_start.load(std::memory_order_relaxed);
  const uint64_t grown = process.heap_in_use_bytes > at_start + retained
                             ? process.heap_in_use_bytes - at_start - retained
                             : 0;
  const uint64_t fds_at_start = s.memory.fds_at_start.load(std::memory_order_relaxed);
  const uint64_t sockets = process.fds > fds_at_start ? process.fds - fds_at_start : 0;
  const uint64_t contexts = static_cast<uint64_t>(std::max<int64_t>(AeadContextsAlive(), 0));
  const double n = static_cast<double>(active);
  const double heap = static_cast<double>(grown) / n;
  const double state = static_cast<double>(states) / n;
  const double buffer = static_cast<double>(buffers) / n;
  const double crypto = static_cast<double>(contexts * AeadContextBytes()) / n;
  const double socket =
      static_cast<double>(sockets * sizeof(asio::detail::epoll_reactor::descriptor_state)) / n;
  const double rest = std::max(0.0, heap - state - buffer - crypto - socket);
  auto bytes = [](double v) { return static_cast<uint64_t>(v + 0.5); };
  return {{"connections", active},          {"heap_bytes", bytes(heap)},
          {"state_bytes", bytes(state)},    {"buffer_bytes", bytes(buffer)},
          {"openssl_context_bytes", bytes(crypto)},
          {"socket_state_bytes", bytes(socket)},
          {"coroutine_frames_and_rest_bytes", bytes(rest)}};
}

nlohmann::ordered_json TierJson(const pool::TierStats& t) {
  return {{"capacity", t.capacity},         {"gets", t.gets},
          {"hits", t.hits},                 {"misses", t.misses},
          {"returns", t.returns},           {"drops", t.drops},
          {"outstanding", t.outstanding},   {"peak_outstanding", t.peak_outstanding},
          {"retained_bytes", t.retained_bytes}};
}

}  // namespace

UserCounters& UserStats::For(std::string_view user) {
  base::MutexLock lock(mu_);
  auto it = users_.find(user);
  if (it == users_.end()) it = users_.emplace(std::string(user), std::make_unique<UserCounters>()).first;
  return *it->second;
}

void UserStats::ForEach(const std::function<void(const std::string&, const UserCounters&)>& visit) const {
  base::MutexLock lock(mu_);
  for (const auto& [name, counters] : users_) visit(name, *counters);
}

ProcessFigures ReadProcessFigures() {
  ProcessFigures f;
  MemoryKib(&f.rss_kib, &f.peak_rss_kib);
  const HeapFigures heap = ReadHeapFigures();
  f.allocator = heap.allocator;
  f.heap_in_use_bytes = heap.in_use_bytes;
  f.heap_resident_bytes = heap.resident_bytes;
  f.heap_free_bytes = heap.free_bytes;
  f.fds = OpenFds();
  return f;
}

void Stats::ConnectionOpened() {
  accepted.fetch_add(1, std::memory_order_relaxed);
  const uint64_t now = active.fetch_add(1, std::memory_order_relaxed) + 1;
  uint64_t peak = peak_active.load(std::memory_order_relaxed);
  while (now > peak && !peak_active.compare_exchange_weak(peak, now, std::memory_order_relaxed)) {
  }
}

std::string StatsJson(const Stats& s, const std::vector<NamedPoolStats>& named,
                      std::string_view role) {
  auto v = [](const std::atomic<uint64_t>& a) { return a.load(std::memory_order_relaxed); };
  nlohmann::ordered_json pools = nlohmann::ordered_json::object();
  for (const NamedPoolStats& p : named) {
    nlohmann::ordered_json tiers = nlohmann::ordered_json::array();
    for (size_t i = 0; i < p.stats.tier_count; ++i) tiers.push_back(TierJson(p.stats.tiers[i]));
    pools[p.name] = {{"outstanding", p.stats.total_outstanding()},
                     {"retained_bytes", p.stats.total_retained_bytes()},
                     {"tiers", tiers},
                     {"oversize", TierJson(p.stats.oversize)}};
  }
  nlohmann::ordered_json closes = nlohmann::ordered_json::object();
  for (size_t r = 0; r < kCloseReasonCount; ++r) {
    if (const uint64_t n = v(s.closes[r]); n > 0) {
      closes[std::string(CloseReasonName(static_cast<CloseReason>(r)))] = n;
    }
  }
  const ProcessFigures process = ReadProcessFigures();
  const nlohmann::ordered_json j = {
      {"role", role},
      {"connections",
       {{"accepted", v(s.accepted)},
        {"active", v(s.active)},
        {"peak_active", v(s.peak_active)},
        {"refused_limit", v(s.refused_limit)},
        {"accept_errors", v(s.accept_errors)},
        {"handshakes_v1", v(s.handshakes_v1)},
        {"handshakes_v2", v(s.handshakes_v2)},
        {"fallbacks", v(s.fallbacks)},
        {"early_fallback_dials", v(s.early_fallback_dials)},
        {"early_fallbacks_unused", v(s.early_fallbacks_unused)},
        {"tunnels", v(s.tunnels)},
        {"target_failures", v(s.target_failures)},
        {"errors", v(s.errors)},
        {"timeouts", v(s.timeouts)}}},
      {"closes", closes},
      {"bytes", {{"up", v(s.bytes_up)}, {"down", v(s.bytes_down)}}},
      {"udp",
       {{"associations", v(s.udp.associations)},
        {"open", v(s.udp.open)},
        {"datagrams_up", v(s.udp.datagrams_up)},
        {"datagrams_down", v(s.udp.datagrams_down)},
        {"dropped", v(s.udp.dropped)},
        {"system_drops", v(s.udp.system_drops)}}},
      {"replay_store",
       {{"fresh", v(s.replay_store.fresh)},
        {"seen", v(s.replay_store.seen)},
        {"unavailable", v(s.replay_store.unavailable)},
        {"accepted_locally", v(s.replay_store.accepted_locally)}}},
      {"pools", pools},
      {"memory",
       {{"allocator", process.allocator},
        {"heap_resident_bytes", process.heap_resident_bytes},
        {"heap_free_bytes", process.heap_free_bytes},
        {"per_connection", PerConnection(s, named, process)},
        {"decayed_bytes", v(s.memory.decayed_bytes)},
        {"heap_trims", v(s.memory.heap_trims)}}},
      {"rss_kib", process.rss_kib},
      {"heap_in_use_bytes", process.heap_in_use_bytes},
      {"peak_rss_kib", process.peak_rss_kib},
      {"fds", process.fds}};
  return j.dump();
}

}  // namespace reflex::proxy
