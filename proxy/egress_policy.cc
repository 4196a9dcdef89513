#include "proxy/egress_policy.h"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <netinet/in.h>

#include <charconv>
#include <cstring>
#include <optional>

namespace reflex::proxy {
namespace {

using Bytes16 = std::array<uint8_t, 16>;

constexpr int kV4InV6Bits = 96;  // ::ffff:0:0/96

Bytes16 V4Mapped(const asio::ip::address_v4& v4) {
  Bytes16 out{};
  out[10] = 0xff;
  out[11] = 0xff;
  const auto b = v4.to_bytes();
  for (size_t i = 0; i < 4; ++i) out[12 + i] = b[i];
  return out;
}

bool StartsWith(const Bytes16& a, std::initializer_list<uint8_t> head, size_t zeros_until) {
  size_t i = 0;
  for (const uint8_t h : head) {
    if (a[i++] != h) return false;
  }
  for (; i < zeros_until; ++i) {
    if (a[i] != 0) return false;
  }
  return true;
}

// The address as held (IPv4 as ::ffff:a.b.c.d).
Bytes16 Held(const asio::ip::address& address) {
  return address.is_v4() ? V4Mapped(address.to_v4()) : address.to_v6().to_bytes();
}

// The IPv4 address an IPv6 address carries, as ::ffff:a.b.c.d, if any
// (not for ::ffff:a.b.c.d itself, which is held that way already).
std::optional<Bytes16> CarriedIpv4(const Bytes16& a) {
  auto v4_at = [&](size_t at) {
    return V4Mapped(asio::ip::address_v4({a[at], a[at + 1], a[at + 2], a[at + 3]}));
  };
  if (StartsWith(a, {0x00, 0x64, 0xff, 0x9b}, 12)) return v4_at(12);  // NAT64 64:ff9b::/96
  // RFC 8215's local-use NAT64 prefix, with the /96 layout its operators use.
  if (StartsWith(a, {0x00, 0x64, 0xff, 0x9b, 0x00, 0x01}, 6)) return v4_at(12);
  if (a[0] == 0x20 && a[1] == 0x02) return v4_at(2);  // 6to4 2002:V4::/48
  if (StartsWith(a, {}, 12)) {
    // ::a.b.c.d (deprecated "IPv4-compatible"); :: and ::1 are themselves.
    const bool unspecified_or_loopback = a[12] == 0 && a[13] == 0 && a[14] == 0 && a[15] <= 1;
    if (!unspecified_or_loopback) return v4_at(12);
  }
  return std::nullopt;
}

bool Contains(const Cidr& range, const Bytes16& a) {
  const int full = range.bits / 8;
  for (int i = 0; i < full; ++i) {
    if (a[static_cast<size_t>(i)] != range.prefix[static_cast<size_t>(i)]) return false;
  }
  const int rest = range.bits % 8;
  if (rest == 0) return true;
  const uint8_t mask = static_cast<uint8_t>(0xff << (8 - rest));
  return (a[static_cast<size_t>(full)] & mask) == range.prefix[static_cast<size_t>(full)];
}

bool HostBitsClear(const Cidr& range) {
  Cidr masked = range;
  for (size_t i = 0; i < 16; ++i) {
    const int bit = static_cast<int>(i) * 8;
    if (bit >= range.bits) masked.prefix[i] = 0;
    else if (bit + 8 > range.bits) masked.prefix[i] &= static_cast<uint8_t>(0xff << (bit + 8 - range.bits));
  }
  return masked.prefix == range.prefix;
}

}  // namespace

bool ParseCidr(std::string_view text, Cidr* out) {
  const size_t slash = text.find('/');
  const std::string host(text.substr(0, slash));
  std::error_code ec;
  const asio::ip::address address = asio::ip::make_address(host, ec);
  if (ec) return false;
  const int max_bits = address.is_v4() ? 32 : 128;
  int bits = max_bits;
  if (slash != std::string_view::npos) {
    const std::string_view digits = text.substr(slash + 1);
    const auto [end, pec] = std::from_chars(digits.data(), digits.data() + digits.size(), bits);
    if (digits.empty() || pec != std::errc() || end != digits.data() + digits.size() || bits < 0 ||
        bits > max_bits) {
      return false;
    }
  }
  Cidr cidr;
  // Written as given: an IPv6 range is not folded into IPv4 here, so
  // "::ffff:0:0/96" still means every IPv4 address.
  if (address.is_v4()) {
    cidr.prefix = V4Mapped(address.to_v4());
    cidr.bits = bits + kV4InV6Bits;
  } else {
    cidr.prefix = address.to_v6().to_bytes();
    cidr.bits = bits;
  }
  if (!HostBitsClear(cidr)) return false;
  *out = cidr;
  return true;
}

std::string FormatCidr(const Cidr& cidr) {
  const asio::ip::address_v6 v6(cidr.prefix);
  if (v6.is_v4_mapped() && cidr.bits >= kV4InV6Bits) {
    return asio::ip::make_address_v4(asio::ip::v4_mapped, v6).to_string() + "/" +
           std::to_string(cidr.bits - kV4InV6Bits);
  }
  return v6.to_string() + "/" + std::to_string(cidr.bits);
}

std::vector<DefaultDeniedRange> DefaultDeniedRanges() {
  return {
      {"0.0.0.0/8", "\"this network\"; 0.0.0.0 reaches the server itself"},
      {"10.0.0.0/8", "private (RFC 1918)"},
      {"100.64.0.0/10", "carrier-grade NAT (RFC 6598); Alibaba Cloud metadata 100.100.100.200"},
      {"127.0.0.0/8", "loopback: the server's own services and listener"},
      {"168.63.129.16/32", "Azure's host endpoint (WireServer): metadata on a public address"},
      {"169.254.0.0/16", "link-local; cloud metadata 169.254.169.254"},
      {"172.16.0.0/12", "private (RFC 1918)"},
      {"192.0.0.0/24", "IETF protocol assignments; Oracle Cloud metadata 192.0.0.192"},
      {"192.168.0.0/16", "private (RFC 1918)"},
      {"198.18.0.0/15", "benchmarking networks (RFC 2544), often internal"},
      {"224.0.0.0/4", "multicast"},
      {"240.0.0.0/4", "reserved, and the broadcast address"},
      {"::/128", "unspecified: reaches the server itself"},
      {"::1/128", "loopback"},
      {"fc00::/7", "unique local (RFC 4193); AWS metadata fd00:ec2::254"},
      {"fe80::/10", "link-local"},
      {"fec0::/10", "site-local (deprecated, still routed in some networks)"},
      {"ff00::/8", "multicast"},
  };
}

EgressPolicy EgressPolicy::ServerDefault() {
  EgressPolicy policy;
  for (const DefaultDeniedRange& r : DefaultDeniedRanges()) {
    Cidr cidr;
    if (ParseCidr(r.cidr, &cidr)) policy.rules_.push_back({cidr, /*allow=*/false, /*operator_rule=*/false});
  }
  return policy;
}

void EgressPolicy::DenyOwn(const std::vector<asio::ip::address>& own) {
  for (const asio::ip::address& a : own) {
    if (a.is_loopback() || a.is_unspecified()) continue;
    if (a.is_v6() && a.to_v6().is_v4_mapped() &&
        asio::ip::make_address_v4(asio::ip::v4_mapped, a.to_v6()).is_loopback()) {
      continue;
    }
    rules_.push_back({Cidr{Held(a), 128}, /*allow=*/false, /*operator_rule=*/false});
  }
}

std::vector<asio::ip::address> HostAddresses() {
  std::vector<asio::ip::address> out;
  ifaddrs* list = nullptr;
  if (getifaddrs(&list) != 0) return out;
  for (const ifaddrs* i = list; i != nullptr; i = i->ifa_next) {
    if (i->ifa_addr == nullptr) continue;
    if (i->ifa_addr->sa_family == AF_INET) {
      const auto* in = reinterpret_cast<const sockaddr_in*>(i->ifa_addr);
      out.push_back(asio::ip::address_v4(ntohl(in->sin_addr.s_addr)));
    } else if (i->ifa_addr->sa_family == AF_INET6) {
      const auto* in6 = reinterpret_cast<const sockaddr_in6*>(i->ifa_addr);
      asio::ip::address_v6::bytes_type bytes;
      std::memcpy(bytes.data(), in6->sin6_addr.s6_addr, bytes.size());
      out.push_back(asio::ip::address_v6(bytes, in6->sin6_scope_id));
    }
  }
  freeifaddrs(list);
  return out;
}

bool EgressPolicy::Allows(const asio::ip::address& address) const {
  const Bytes16 held = Held(address);
  const std::optional<Bytes16> carried = CarriedIpv4(held);
  return Decide(held) && (!carried || Decide(*carried));
}

bool EgressPolicy::Decide(const Bytes16& a) const {
  const Rule* best = nullptr;
  auto beats = [](const Rule& r, const Rule& than) {
    if (r.range.bits != than.range.bits) return r.range.bits > than.range.bits;
    if (r.operator_rule != than.operator_rule) return r.operator_rule;
    return !r.allow && than.allow;
  };
  for (const Rule& r : rules_) {
    if (Contains(r.range, a) && (best == nullptr || beats(r, *best))) best = &r;
  }
  return best == nullptr || best->allow;
}

}  // namespace reflex::proxy
