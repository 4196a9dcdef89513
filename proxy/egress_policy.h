// Which addresses the server may connect to on a user's behalf. A user who
// can name a target could otherwise reach what only the server can reach:
// its loopback, the private networks around it, link-local (where cloud
// metadata answers, 169.254.169.254), and its own addresses (services a
// firewall hides from the outside answer a connection from the host
// itself). So by default those are refused, and the operator adjusts the
// list with --allow-target / --deny-target.
//
// The check is on the address the server is about to connect to, after
// resolution: a name such as "2130706433" or one that resolves to 10.0.0.1
// is judged by where it leads, not by its spelling.
//
// Rule: of the ranges containing the address, the longest prefix decides;
// at equal length the operator's ranges beat the defaults, and deny beats
// allow. An address no range contains is allowed. IPv4 is held as IPv6's
// ::ffff:0:0/96, so "::/0" covers IPv4 too. An IPv6 address that carries
// an IPv4 address (NAT64 64:ff9b::/96 and 64:ff9b:1::/48, 6to4 2002::/16,
// the deprecated ::a.b.c.d) is allowed only when both it and the IPv4
// address it carries are: a range written for either form applies.
#ifndef REFLEX_PROXY_EGRESS_POLICY_H_
#define REFLEX_PROXY_EGRESS_POLICY_H_

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "proxy/asio_config.h"

namespace reflex::proxy {

// An IPv4 or IPv6 range, held as IPv6 (IPv4 as ::ffff:0:0/96 + its bits).
struct Cidr {
  std::array<uint8_t, 16> prefix{};  // bits past `bits` are zero
  int bits = 0;                      // 0..128
};

// "10.0.0.0/8", "fd00::/8", "192.0.2.1" (a /32), "::1" (a /128). False for
// anything else, and for a prefix with bits set past its length (a typo
// such as 10.0.0.1/8 is refused, not silently widened).
[[nodiscard]] bool ParseCidr(std::string_view text, Cidr* out);
std::string FormatCidr(const Cidr& cidr);

class EgressPolicy {
 public:
  // Nothing refused (the client's policy, and tests of the rule).
  EgressPolicy() = default;
  // The server's default: every range in DefaultDeniedRanges() refused.
  static EgressPolicy ServerDefault();

  void Allow(const Cidr& range) { rules_.push_back({range, /*allow=*/true, /*operator_rule=*/true}); }
  void Deny(const Cidr& range) { rules_.push_back({range, /*allow=*/false, /*operator_rule=*/true}); }
  // The host's own addresses, refused as defaults are (one address each,
  // so only an operator's range of that one address lets it through).
  // Loopback addresses are left to the loopback range.
  void DenyOwn(const std::vector<asio::ip::address>& own);

  [[nodiscard]] bool Allows(const asio::ip::address& address) const;

 private:
  bool Decide(const std::array<uint8_t, 16>& address) const;
  struct Rule {
    Cidr range;
    bool allow;
    bool operator_rule;
  };
  std::vector<Rule> rules_;
};

// The ranges a server refuses unless told otherwise, with why (for the
// README and the tests).
struct DefaultDeniedRange {
  const char* cidr;
  const char* why;
};
std::vector<DefaultDeniedRange> DefaultDeniedRanges();

// This host's addresses (getifaddrs), every interface's, up or not.
std::vector<asio::ip::address> HostAddresses();

}  // namespace reflex::proxy

#endif  // REFLEX_PROXY_EGRESS_POLICY_H_
