#include "proxy/connection_state.h"

#include <sodium.h>

#include "proxy/log.h"

namespace reflex::proxy {

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
             role, peer.c_str(), user.c_str(), profile.c_str(), target.c_str(),
             static_cast<unsigned long long>(up), static_cast<unsigned long long>(down),
             static_cast<long long>(ms), static_cast<int>(name.size()), name.data(),
             has_detail ? " (" : "", detail.c_str(), has_detail ? ")" : "");
}

}  // namespace reflex::proxy
