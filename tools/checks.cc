#include "tools/checks.h"

#include <algorithm>
#include <sstream>

#include "base/hex.h"

namespace reflex::tools {

using testing::ToHex;

std::string CodecName(AeadBackend backend) {
  return "codec/" + std::string(AeadBackendName(backend));
}

std::string Difference(const Bytes& expected, std::span<const uint8_t> got) {
  std::ostringstream out;
  for (size_t i = 0; i < std::min(expected.size(), got.size()); ++i) {
    if (expected[i] != got[i]) {
      out << "differ at byte " << i << ": expected " << ToHex({&expected[i], 1}) << ", got "
          << ToHex({&got[i], 1});
      return out.str();
    }
  }
  if (expected.size() != got.size()) {
    out << "lengths differ: expected " << expected.size() << " bytes, got " << got.size();
  }
  return out.str();
}

bool Same(const Bytes& expected, std::span<const uint8_t> got) {
  return expected.size() == got.size() && std::equal(expected.begin(), expected.end(), got.begin());
}

void Failures::Add(const std::string& impl, const std::string& message) {
  messages_.push_back(impl.empty() ? message : impl + ": " + message);
}

void Failures::ExpectBytes(const std::string& impl, const std::string& what,
                           const Bytes& expected, std::span<const uint8_t> got) {
  if (!Same(expected, got)) Add(impl, what + " " + Difference(expected, got));
}

void Failures::ExpectOk(const std::string& impl, const std::string& what, Error e) {
  if (e != Error::kOk) Add(impl, what + " failed with " + std::string(ErrorName(e)));
}

void Failures::ExpectRefused(const std::string& impl, const std::string& what, Error e,
                             const std::optional<Error>& expected) {
  if (e == Error::kOk) {
    Add(impl, what + " succeeded; expected " +
                  (expected ? std::string(ErrorName(*expected)) : "an error"));
  } else if (expected && e != *expected) {
    Add(impl, what + ": expected error " + std::string(ErrorName(*expected)) + ", got " +
                  std::string(ErrorName(e)));
  }
}

SessionKey KeyOf(const Bytes& b) { return SessionKey(Fixed<32>(b)); }

bool HasAll(const VectorTest& t, std::initializer_list<const char*> names) {
  return std::all_of(names.begin(), names.end(), [&](const char* n) { return t.Has(n); });
}

void ExpectMadeFrom(const Bytes& encoded, const Bytes& from_fields, size_t skip_prefix,
                    Failures& out) {
  for (size_t i = skip_prefix; i < std::min(encoded.size(), from_fields.size()); ++i) {
    if (encoded[i] != from_fields[i]) {
      out.Add("", "the fields do not describe 'encoded': byte " + std::to_string(i) + " is " +
                      ToHex({&encoded[i], 1}) + ", the fields give " +
                      ToHex({&from_fields[i], 1}));
      return;
    }
  }
}

}  // namespace reflex::tools
