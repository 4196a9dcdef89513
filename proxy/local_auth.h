// Who may use the client's local proxy ports: RFC 1929 username/password
// for SOCKS5 and Basic proxy authorization (RFC 9110 section 11.7.1, RFC
// 7617) for HTTP CONNECT, both checked against --local-user NAME:PASS.
// Without it the ports are open to whoever reaches them, which is why the
// client listens only on loopback unless given users (or told
// --allow-open-proxy).
//
// Only keyed digests of "name:password" are kept (a key drawn at start):
// the passwords themselves are wiped once read, and a check compares the
// offered pair's digest with every user's in constant time, so neither the
// number of matching bytes nor which user matched shows in its duration.
#ifndef REFLEX_PROXY_LOCAL_AUTH_H_
#define REFLEX_PROXY_LOCAL_AUTH_H_

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace reflex::proxy {

class LocalUsers {
 public:
  LocalUsers();
  ~LocalUsers();
  LocalUsers(const LocalUsers&) = delete;
  LocalUsers& operator=(const LocalUsers&) = delete;

  // "NAME:PASS": a name of 1..255 bytes without ':', a password of 1..255
  // bytes (RFC 1929's limits). The text is wiped whether or not it parses.
  [[nodiscard]] bool Add(std::string& name_colon_password);
  bool empty() const { return digests_.empty(); }
  [[nodiscard]] bool Accepts(std::string_view name, std::string_view password) const;
  // The value of a Proxy-Authorization header: "Basic BASE64(name:pass)".
  [[nodiscard]] bool AcceptsBasic(std::string_view header_value) const;

 private:
  using Digest = std::array<uint8_t, 32>;
  Digest DigestOf(std::string_view name, std::string_view password) const;
  std::array<uint8_t, 32> key_{};
  std::vector<Digest> digests_;
};

// Whether a "NAME:PASS" flag value is well formed (for the flag's check).
bool IsLocalUserSpec(std::string_view text);

}  // namespace reflex::proxy

#endif  // REFLEX_PROXY_LOCAL_AUTH_H_
