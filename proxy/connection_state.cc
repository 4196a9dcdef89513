#include "proxy/connection_state.h"

#include <sodium.h>

#include <atomic>
#include <string>

#include "proxy/address.h"
#include "proxy/log.h"

namespace reflex::proxy {
namespace {

std::atomic<PeerLogging> g_peers{PeerLogging::kHashed};
std::atomic<bool> g_targets{false};

// The key of the peers' hashes: random, drawn once per process.
const std::array<uint8_t, crypto_generichash_KEYBYTES>& PeerHashKey() {
  static const auto key = [] {
    std::array<uint8_t, crypto_generichash_KEYBYTES> k;
    randombytes_buf(k.data(), k.size());
    return k;
  }();
  return key;
}

}  // namespace

bool PeerLoggingFromName(std::string_view name, PeerLogging* out) {
  if (name == "none") *out = PeerLogging::kNone;
  else if (name == "hashed") *out = PeerLogging::kHashed;
  else if (name == "full") *out = PeerLogging::kFull;
  else return false;
  return true;
}

void SetLogPrivacy(PeerLogging peers, bool targets) {
  g_peers.store(peers, std::memory_order_relaxed);
  g_targets.store(targets, std::memory_order_relaxed);
}

std::string LoggedPeer(std::string_view host_port) {
  switch (g_peers.load(std::memory_order_relaxed)) {
    case PeerLogging::kNone: return "-";
    case PeerLogging::kFull: return std::string(host_port);
    case PeerLogging::kHashed: break;
  }
  HostPort hp;
  const std::string host = ParseHostPort(host_port, &hp) ? hp.host : std::string(host_port);
  uint8_t digest[8];
  const auto& key = PeerHashKey();
  crypto_generichash(digest, sizeof digest, reinterpret_cast<const uint8_t*>(host.data()), host.size(),
                     key.data(), key.size());
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "h:";
  for (const uint8_t b : digest) {
    out += kHex[b >> 4];
    out += kHex[b & 15];
  }
  return out;
}

std::array<char, 9> ShortUserId(const UserId& id) {
  uint8_t digest[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(digest, id.data(), id.size());
  static constexpr char kHex[] = "0123456789abcdef";
  std::array<char, 9> out{};
  for (size_t i = 0; i < 4; ++i) {
    out[2 * i] = kHex[digest[i] >> 4];
    out[2 * i + 1] = kHex[digest[i] & 15];
  }
  return out;
}

void ConnectionRecord::LogLine(const char* role) const {
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::steady_clock::now() - start)
                      .count();
  const std::string_view name = CloseReasonName(reason);
  const bool has_detail = !detail.view().empty();
  REFLEX_LOG(kInfo,
             "%s peer=%s user=%s profile=%s target=%s up=%llu down=%llu ms=%lld close=%.*s%s%s%s",
             role, peer.c_str(), user.c_str(), profile.c_str(),
             g_targets.load(std::memory_order_relaxed) || LogEnabled(LogLevel::kDebug) ? target.c_str()
                                                                                       : "-",
             static_cast<unsigned long long>(up), static_cast<unsigned long long>(down),
             static_cast<long long>(ms), static_cast<int>(name.size()), name.data(),
             has_detail ? " (" : "", detail.c_str(), has_detail ? ")" : "");
}

}  // namespace reflex::proxy
