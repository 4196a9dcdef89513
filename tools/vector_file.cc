#include "tools/vector_file.h"

#include <algorithm>
#include <charconv>
#include <exception>
#include <nlohmann/json.hpp>
#include <set>

#include "base/hex.h"
#include "reflex/profile.h"
#include "tools/vector_kinds.h"

namespace reflex::tools {
namespace {

using nlohmann::json;

// A frame list's items, read field by field like a test's.
const FieldSpec kFrameTypeField = {"frame_type", FieldType::kInt, 0, 0, 255};
const FieldSpec kPayloadField = {"payload", FieldType::kHex};

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
        std::string problem = ReadField(kFrameTypeField, *type_it, &type_value);
        if (problem.empty()) problem = ReadField(kPayloadField, *payload_it, &payload_value);
        if (!problem.empty()) return name + ": " + problem;
        frame.frame_type = static_cast<uint8_t>(type_value.i64);
        frame.payload = std::move(payload_value.bytes);
        out->frames.push_back(std::move(frame));
      }
      return "";
  }
  return name + " has an unknown type";
}

VectorTest ReadTest(const VectorKind& kind, const json& t, std::set<int64_t>* ids) {
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
    const VectorKind* spec = FindVectorKind(file->profile, kind_name);
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
  Profile p = Profile::kV1Compat;
  if (!ProfileFromName(profile, &p)) return false;
  for (const VectorKind& k : VectorKinds()) {
    if (k.profile == p) return true;
  }
  return false;
}

bool IsKnownKind(std::string_view profile, std::string_view kind) {
  return FindVectorKind(profile, kind) != nullptr;
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
