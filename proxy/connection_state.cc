#include "proxy/connection_state.h"

#include "proxy/log.h"

namespace reflex::proxy {

void ConnectionRecord::LogLine(const char* role) const {
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::steady_clock::now() - start)
                      .count();
  REFLEX_LOG(kInfo, "%s peer=%s user=%s profile=%s target=%s up=%llu down=%llu ms=%lld close=%s",
             role, peer.c_str(), user.c_str(), profile.c_str(), target.c_str(),
             static_cast<unsigned long long>(up), static_cast<unsigned long long>(down),
             static_cast<long long>(ms), close.c_str());
}

}  // namespace reflex::proxy
