#include "tools/vector_file.h"

#include <algorithm>
#include <charconv>
#include <exception>
#include <nlohmann/json.hpp>
#include <set>

#include "base/hex.h"

namespace reflex::tools {
namespace {

using nlohmann::json;

// One field a kind defines: its type, size, range, and whether valid tests
// must give it. Invalid tests may give any field of their kind.
struct FieldSpec {
  const char* name;
  FieldType type;
  size_t exact_size = 0;  // kHex: 0 means any size
  int64_t min = 0;        // kInt
  int64_t max = 0;
  bool required_when_valid = true;
  bool required_always = false;
};

struct KindSpec {
  const char* profile;
  const char* kind;
  std::vector<FieldSpec> fields;
};

FieldSpec Hex(const char* name, size_t size = 0) { return {name, FieldType::kHex, size}; }
FieldSpec Always(FieldSpec f) {
  f.required_always = true;
  return f;
}
FieldSpec Optional(FieldSpec f) {
  f.required_when_valid = false;
  return f;
}
FieldSpec Int(const char* name, int64_t min, int64_t max) {
  return {name, FieldType::kInt, 0, min, max};
}
FieldSpec Decimal(const char* name, FieldType type) { return {name, type}; }
const FieldSpec kErrorField = {"error", FieldType::kError, 0, 0, 0, false};

// The format's kinds (FORMAT.md is the prose of this table).
const std::vector<KindSpec>& Kinds() {
  static const std::vector<KindSpec> kinds = [] {
    std::vector<KindSpec> k;
    k.push_back({"v1-compat",
                 "client_handshake",
                 {Always(Hex("encoded")), Hex("public_key", 32), Hex("user_id", 16),
                  Decimal("timestamp", FieldType::kI64), Hex("nonce", 16), kErrorField}});
    k.push_back({"v1-compat",
                 "server_handshake",
                 {Always(Hex("encoded")), Hex("public_key", 32),
                  Decimal("timestamp", FieldType::kI64), kErrorField}});
    k.push_back({"v1-compat",
                 "key_schedule",
                 {Hex("client_private", 32), Hex("server_private", 32), Hex("client_public", 32),
                  Hex("server_public", 32), Hex("shared_secret", 32), Hex("session_key", 32),
                  kErrorField}});
    // v2: the client's side of message 1 is given by the fields it was
    // made from (user, ephemeral private key, timestamp, nonce).
    k.push_back({"v2",
                 "client_handshake",
                 {Always(Hex("encoded")), Always(Hex("user_id", 16)), Hex("client_private", 32),
                  Decimal("timestamp", FieldType::kI64), Hex("nonce", 16),
                  Optional(Hex("reserved", 4)), kErrorField}});
    k.push_back({"v2",
                 "server_handshake",
                 {Always(Hex("encoded")), Always(Hex("user_id", 16)),
                  Always(Hex("client_private", 32)), Always(Decimal("timestamp", FieldType::kI64)),
                  Always(Hex("nonce", 16)), Hex("server_private", 32), kErrorField}});
    k.push_back({"v2",
                 "key_schedule",
                 {Always(Hex("user_id", 16)), Hex("psk", 32), Hex("client_private", 32),
                  Hex("client_public", 32), Hex("server_private", 32), Hex("server_public", 32),
                  Always(Decimal("timestamp", FieldType::kI64)), Always(Hex("nonce", 16)),
                  Hex("handshake_hash", 32), Hex("c2s_key", 32), Hex("s2c_key", 32),
                  kErrorField}});
    for (const char* profile : {"v1-compat", "v2"}) {
      k.push_back({profile,
                   "frame",
                   {Always(Hex("key", 32)), Always(Decimal("counter", FieldType::kU64)),
                    Always(Hex("wire")), Int("frame_type", 0, 255), Hex("payload"),
                    kErrorField}});
      k.push_back({profile,
                   "frame_stream",
                   {Always(Hex("key", 32)), Always(Decimal("first_counter", FieldType::kU64)),
                    Always(Hex("wire")), {"frames", FieldType::kFrames}, kErrorField}});
      k.push_back({profile,
                   "request_header",
                   {Always(Hex("encoded")), Hex("trailing"), Int("command", 0, 255),
                    Int("port", 0, 65535), Int("address_type", 0, 255), Hex("address"),
                    kErrorField}});
    }
    return k;
  }();
  return kinds;
}

const KindSpec* FindKind(std::string_view profile, std::string_view kind) {
  for (const KindSpec& k : Kinds()) {
    if (profile == k.profile && kind == k.kind) return &k;
  }
  return nullptr;
}

bool IsLowercaseHex(const std::string& s) {
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

template <class T>
bool ParseDecimal(const std::string& s, T* out) {
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return !s.empty() && ec == std::errc() && end == s.data() + s.size();
}

// Reads one field per its spec; a problem message, or empty on success.
std::string ReadField(const FieldSpec& spec, const json& v, FieldValue* out) {
  const std::string name = std::string("field '") + spec.name + "'";
  out->type = spec.type;
  switch (spec.type) {
    case FieldType::kHex:
      if (!v.is_string() || !IsLowercaseHex(v.get_ref<const std::string&>()) ||
          !testing::TryFromHex(v.get_ref<const std::string&>(), &out->bytes)) {
        return name + " is not a lowercase hex string";
      }
      if (spec.exact_size != 0 && out->bytes.size() != spec.exact_size) {
        return name + " must be " + std::to_string(spec.exact_size) + " bytes";
      }
      return "";
    case FieldType::kU64:
      if (!v.is_string() || !ParseDecimal(v.get_ref<const std::string&>(), &out->u64)) {
        return name + " is not a decimal string of an unsigned 64-bit integer";
      }
      return "";
    case FieldType::kI64:
      if (!v.is_string() || !ParseDecimal(v.get_ref<const std::string&>(), &out->i64)) {
        return name + " is not a decimal string of a signed 64-bit integer";
      }
      return "";
    case FieldType::kInt:
      if (!v.is_number_integer() || (v.is_number_unsigned() && v.get<uint64_t>() > INT64_MAX) ||
          v.get<int64_t>() < spec.min || v.get<int64_t>() > spec.max) {
        return name + " is not an integer in [" + std::to_string(spec.min) + ", " +
               std::to_string(spec.max) + "]";
      }
      out->i64 = v.get<int64_t>();
      return "";
    case FieldType::kError:
      if (!v.is_string() || !ErrorFromName(v.get_ref<const std::string&>(), &out->error) ||
          out->error == Error::kOk) {
        return name + " is not an error name of SPEC.md section 7";
      }
      return "";
    case FieldType::kFrames:
      if (!v.is_array()) return name + " is not a list";
      for (const json& item : v) {
        if (!item.is_object()) return name + ": an item is not an object";
        FrameItem frame;
        FieldValue type_value, payload_value;
        for (const auto& [key, value] : item.items()) {
          if (key != "frame_type" && key != "payload") {
            return name + ": unknown field '" + key + "' in an item";
          }
        }
        const auto type_it = item.find("frame_type");
        const auto payload_it = item.find("payload");
        if (type_it == item.end() || payload_it == item.end()) {
          return name + ": an item lacks 'frame_type' or 'payload'";
        }
        std::string problem = ReadField(Int("frame_type", 0, 255), *type_it, &type_value);
        if (problem.empty()) problem = ReadField(Hex("payload"), *payload_it, &payload_value);
        if (!problem.empty()) return name + ": " + problem;
        frame.frame_type = static_cast<uint8_t>(type_value.i64);
        frame.payload = std::move(payload_value.bytes);
        out->frames.push_back(std::move(frame));
      }
      return "";
  }
  return name + " has an unknown type";
}

VectorTest ReadTest(const KindSpec& kind, const json& t, std::set<int64_t>* ids) {
  VectorTest test;
  if (!t.is_object()) {
    test.problems.push_back("a test is not a JSON object");
    return test;
  }
  const auto id = t.find("id");
  if (id != t.end() && id->is_number_integer() &&
      !(id->is_number_unsigned() && id->get<uint64_t>() > INT64_MAX)) {
    test.id = id->get<int64_t>();
    test.id_text = std::to_string(test.id);
    if (!ids->insert(test.id).second) test.problems.push_back("duplicate id");
  } else {
    test.problems.push_back("no integer id");
  }
  const auto result = t.find("result");
  if (result == t.end() || !result->is_string() ||
      (*result != "valid" && *result != "invalid")) {
    test.problems.push_back("result is neither \"valid\" nor \"invalid\"");
    return test;
  }
  test.valid = *result == "valid";
  if (const auto comment = t.find("comment"); comment != t.end() && !comment->is_string()) {
    test.problems.push_back("comment is not a string");
  }
  for (const auto& [name, value] : t.items()) {
    if (name == "id" || name == "result" || name == "comment") continue;
    const FieldSpec* spec = nullptr;
    for (const FieldSpec& f : kind.fields) {
      if (name == f.name) spec = &f;
    }
    if (spec == nullptr || (test.valid && spec->type == FieldType::kError)) {
      test.problems.push_back("unknown field '" + name + "'");
      continue;
    }
    FieldValue field;
    const std::string problem = ReadField(*spec, value, &field);
    if (problem.empty()) {
      test.fields.emplace(name, std::move(field));
    } else {
      test.problems.push_back(problem);
    }
  }
  for (const FieldSpec& f : kind.fields) {
    const bool required = f.required_always || (test.valid && f.required_when_valid &&
                                                f.type != FieldType::kError);
    if (required && !t.contains(f.name)) {
      test.problems.push_back(std::string("missing field '") + f.name + "'");
    }
  }
  return test;
}

void ReadGroups(const json& doc, VectorFile* file) {
  const auto groups = doc.find("groups");
  if (groups == doc.end() || !groups->is_array()) {
    file->problems.push_back("'groups' is missing or not a list");
    return;
  }
  std::set<int64_t> ids;
  for (const json& g : *groups) {
    if (!g.is_object()) {
      file->problems.push_back("a group is not a JSON object");
      continue;
    }
    const auto kind = g.find("kind");
    if (kind == g.end() || !kind->is_string()) {
      file->problems.push_back("a group's 'kind' is missing or not a string");
      continue;
    }
    const std::string kind_name = kind->get<std::string>();
    const KindSpec* spec = FindKind(file->profile, kind_name);
    if (spec == nullptr) {
      file->problems.push_back("unknown kind '" + kind_name + "' for profile '" +
                               file->profile + "'");
      continue;
    }
    bool group_ok = true;
    for (const auto& [name, value] : g.items()) {
      if (name != "kind" && name != "tests") {
        file->problems.push_back("group '" + kind_name + "': unknown field '" + name + "'");
        group_ok = false;
      }
    }
    const auto tests = g.find("tests");
    if (tests == g.end() || !tests->is_array()) {
      file->problems.push_back("group '" + kind_name + "' has no list of tests");
      continue;
    }
    if (!group_ok) continue;
    VectorGroup group;
    group.kind = kind_name;
    for (const json& t : *tests) group.tests.push_back(ReadTest(*spec, t, &ids));
    file->groups.push_back(std::move(group));
  }
}

}  // namespace

const Bytes& VectorTest::HexField(const std::string& name) const { return fields.at(name).bytes; }
uint64_t VectorTest::U64Field(const std::string& name) const { return fields.at(name).u64; }
int64_t VectorTest::I64Field(const std::string& name) const { return fields.at(name).i64; }
int64_t VectorTest::IntField(const std::string& name) const { return fields.at(name).i64; }
std::optional<Error> VectorTest::ErrorField() const {
  const auto it = fields.find("error");
  if (it == fields.end()) return std::nullopt;
  return it->second.error;
}
const std::vector<FrameItem>& VectorTest::FramesField(const std::string& name) const {
  return fields.at(name).frames;
}

bool IsKnownProfile(std::string_view profile) {
  for (const KindSpec& k : Kinds()) {
    if (profile == k.profile) return true;
  }
  return false;
}

bool IsKnownKind(std::string_view profile, std::string_view kind) {
  return FindKind(profile, kind) != nullptr;
}

VectorFile ReadVectorFile(std::string_view text) {
  VectorFile file;
  // The belt: the reader above touches only type-checked values, so no
  // exception is expected; one would still become a problem, not a crash.
  try {
    const json doc = json::parse(text.begin(), text.end(), nullptr,
                                 /*allow_exceptions=*/false);
    if (doc.is_discarded()) {
      file.problems.push_back("not JSON");
      return file;
    }
    if (!doc.is_object()) {
      file.problems.push_back("not a JSON object");
      return file;
    }
    for (const auto& [name, value] : doc.items()) {
      if (name != "schema" && name != "profile" && name != "source" && name != "groups") {
        file.problems.push_back("unknown top-level field '" + name + "'");
      }
    }
    const auto schema = doc.find("schema");
    if (schema == doc.end() || !schema->is_string() || *schema != "reflex-vectors/1") {
      file.problems.push_back("schema is not \"reflex-vectors/1\"");
      return file;
    }
    const auto profile = doc.find("profile");
    if (profile == doc.end() || !profile->is_string()) {
      file.problems.push_back("'profile' is missing or not a string");
      return file;
    }
    file.profile = profile->get<std::string>();
    if (!IsKnownProfile(file.profile)) {
      file.problems.push_back("unknown profile '" + file.profile + "'");
      return file;
    }
    if (const auto source = doc.find("source"); source != doc.end()) {
      if (source->is_string()) {
        file.source = source->get<std::string>();
      } else {
        file.problems.push_back("'source' is not a string");
      }
    }
    ReadGroups(doc, &file);
  } catch (const std::exception& e) {
    file.problems.push_back(std::string("unreadable: ") + e.what());
  }
  return file;
}

}  // namespace reflex::tools
