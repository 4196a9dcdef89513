#include "proxy/local_auth.h"

#include <sodium.h>

namespace reflex::proxy {
namespace {

inline constexpr size_t kMaxField = 255;  // RFC 1929: one length byte each

bool Split(std::string_view text, std::string_view* name, std::string_view* password) {
  const size_t colon = text.find(':');
  if (colon == std::string_view::npos) return false;
  *name = text.substr(0, colon);
  *password = text.substr(colon + 1);
  return !name->empty() && name->size() <= kMaxField && !password->empty() &&
         password->size() <= kMaxField;
}

// Trims optional whitespace (RFC 9110 OWS) around a header value's parts.
std::string_view TrimSpaces(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool EqualsIgnoringCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; };
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

}  // namespace

bool IsLocalUserSpec(std::string_view text) {
  std::string_view name, password;
  return Split(text, &name, &password);
}

LocalUsers::LocalUsers() { randombytes_buf(key_.data(), key_.size()); }

LocalUsers::~LocalUsers() {
  sodium_memzero(key_.data(), key_.size());
  for (Digest& d : digests_) sodium_memzero(d.data(), d.size());
}

bool LocalUsers::Add(std::string& name_colon_password) {
  std::string_view name, password;
  const bool ok = Split(name_colon_password, &name, &password);
  if (ok) digests_.push_back(DigestOf(name, password));
  sodium_memzero(name_colon_password.data(), name_colon_password.size());
  return ok;
}

LocalUsers::Digest LocalUsers::DigestOf(std::string_view name, std::string_view password) const {
  // The name's length goes first, so "a" + "b:c" and "a:b" + "c" differ.
  const uint8_t name_length = static_cast<uint8_t>(name.size());
  crypto_generichash_state state;
  crypto_generichash_init(&state, key_.data(), key_.size(), sizeof(Digest));
  crypto_generichash_update(&state, &name_length, 1);
  crypto_generichash_update(&state, reinterpret_cast<const uint8_t*>(name.data()), name.size());
  crypto_generichash_update(&state, reinterpret_cast<const uint8_t*>(password.data()), password.size());
  Digest out;
  crypto_generichash_final(&state, out.data(), out.size());
  sodium_memzero(&state, sizeof state);
  return out;
}

bool LocalUsers::Accepts(std::string_view name, std::string_view password) const {
  if (name.empty() || name.size() > kMaxField || password.empty() || password.size() > kMaxField) {
    return false;
  }
  Digest offered = DigestOf(name, password);
  int matches = 0;
  for (const Digest& d : digests_) {
    matches |= sodium_memcmp(offered.data(), d.data(), d.size()) == 0 ? 1 : 0;
  }
  sodium_memzero(offered.data(), offered.size());
  return matches != 0;
}

bool LocalUsers::AcceptsBasic(std::string_view header_value) const {
  const std::string_view value = TrimSpaces(header_value);
  const size_t space = value.find(' ');
  if (space == std::string_view::npos || !EqualsIgnoringCase(value.substr(0, space), "basic")) {
    return false;
  }
  const std::string_view encoded = TrimSpaces(value.substr(space + 1));
  // Base64 of a 255-byte name, ':' and a 255-byte password.
  std::array<uint8_t, 2 * kMaxField + 1> decoded{};
  size_t decoded_size = 0;
  if (encoded.size() > 4 * ((decoded.size() + 2) / 3) ||
      sodium_base642bin(decoded.data(), decoded.size(), encoded.data(), encoded.size(), nullptr,
                        &decoded_size, nullptr, sodium_base64_VARIANT_ORIGINAL) != 0) {
    return false;
  }
  std::string_view name, password;
  const std::string_view text(reinterpret_cast<const char*>(decoded.data()), decoded_size);
  const bool ok = Split(text, &name, &password) && Accepts(name, password);
  sodium_memzero(decoded.data(), decoded.size());
  return ok;
}

}  // namespace reflex::proxy
