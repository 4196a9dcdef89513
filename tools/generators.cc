#include "tools/generators.h"

#include <cstdio>
#include <cstdlib>
#include <span>
#include <utility>

#include "base/hex.h"
#include "pool/buffer_pool.h"
#include "reflex/frame_sealer.h"
#include "reflex/pooled_frames.h"
#include "reflex/reference_model.h"

namespace reflex::tools {

void VectorBuilder::StartGroup(const std::string& kind) {
  groups_.push_back({{"kind", kind}, {"tests", Json::array()}});
}

Json VectorBuilder::Test(const std::string& result, const std::string& comment) {
  return Json{{"id", next_id_++}, {"result", result}, {"comment", comment}};
}

void VectorBuilder::Add(Json test) { groups_.back()["tests"].push_back(std::move(test)); }

Json VectorBuilder::Finish() const {
  return Json{{"schema", "reflex-vectors/1"},
              {"profile", std::string(ProfileName(profile_))},
              {"source",
               "reflex-cpp tools/vector_generator.cc from fixed inputs "
               "(bazel run //tools:make_vectors)"},
              {"groups", groups_}};
}

void Must(Error e) {
  if (e != Error::kOk) {
    std::fprintf(stderr, "make_vectors: unexpected error %s\n", std::string(ErrorName(e)).c_str());
    std::abort();
  }
}

Bytes Text(const std::string& s) { return Bytes(s.begin(), s.end()); }

Bytes Pattern(size_t n, uint8_t salt) {
  Bytes b(n);
  for (size_t i = 0; i < n; ++i) b[i] = static_cast<uint8_t>(i * 131 + salt);
  return b;
}

Bytes Concat(Bytes a, const Bytes& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

std::string Decimal(uint64_t v) { return std::to_string(v); }
std::string Decimal(int64_t v) { return std::to_string(v); }

SessionKey Key(const char* hex) {
  const Bytes b = testing::FromHex(hex);
  return SessionKey(std::span<const uint8_t, 32>(b.data(), 32));
}

KeyPair KeyPairOf(const char* private_hex) {
  const Bytes priv = testing::FromHex(private_hex);
  KeyPair pair;
  Must(KeyPairFromPrivate(std::span<const uint8_t, 32>(priv.data(), 32), &pair));
  return pair;
}

Bytes Seal(const SessionKey& key, uint64_t counter, FrameType type, const Bytes& payload,
           const WireProfile& wire_profile) {
  pool::BufferPool pool;
  FrameSealer sealer(key, counter, {wire_profile, DefaultAeadBackend()});
  pool::Buffer wire;
  Must(SealToBuffer(sealer, pool, type, payload, &wire));
  return Bytes(wire.data(), wire.data() + wire.size());
}

Bytes SealRaw(const SessionKey& key, uint64_t counter, const Bytes& plaintext,
              const WireProfile& wire_profile) {
  return reference::SealAnyPlaintext(Bytes(key.data(), key.data() + key.size()), counter,
                                     plaintext, wire_profile.profile);
}

}  // namespace reflex::tools
