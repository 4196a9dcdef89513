// The reader of reflex-vectors/1 files (testdata/vectors/FORMAT.md): JSON
// text in, typed tests out, every malformation named. It decodes untrusted
// files, so it never throws, never asserts and never aborts: whatever the
// bytes, it returns either file-level problems or tests, each test carrying
// the problems of its own fields. Checking the tests against
// implementations is conformance_checker's job.
#ifndef REFLEX_TOOLS_VECTOR_FILE_H_
#define REFLEX_TOOLS_VECTOR_FILE_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "reflex/error.h"

namespace reflex::tools {

using Bytes = std::vector<uint8_t>;

// The kinds of field values the format has.
enum class FieldType {
  kHex,     // lowercase hex string -> bytes (optionally of an exact size)
  kU64,     // decimal string -> unsigned 64-bit
  kI64,     // decimal string -> signed 64-bit
  kInt,     // JSON integer within [min, max]
  kError,   // an error name of SPEC.md section 7 (not "ok")
  kFrames,  // list of {"frame_type": int 0..255, "payload": hex}
};

struct FrameItem {
  uint8_t frame_type = 0;
  Bytes payload;
  bool operator==(const FrameItem&) const = default;
};

struct FieldValue {
  FieldType type = FieldType::kHex;
  Bytes bytes;
  uint64_t u64 = 0;
  int64_t i64 = 0;  // kI64 and kInt
  Error error = Error::kOk;
  std::vector<FrameItem> frames;
};

struct VectorTest {
  int64_t id = -1;            // -1 when the file gave none usable
  std::string id_text = "?";  // as printed in reports
  bool valid = false;
  std::map<std::string, FieldValue> fields;
  // Malformed, unknown or missing fields; a test with problems fails
  // without being run.
  std::vector<std::string> problems;

  bool Has(const std::string& name) const { return fields.count(name) != 0; }
  // The field's value; callers ask only for fields Has() reports (the
  // schema makes the fields of valid tests required).
  const Bytes& HexField(const std::string& name) const;
  uint64_t U64Field(const std::string& name) const;
  int64_t I64Field(const std::string& name) const;
  int64_t IntField(const std::string& name) const;
  std::optional<Error> ErrorField() const;
  const std::vector<FrameItem>& FramesField(const std::string& name) const;
};

struct VectorGroup {
  std::string kind;
  std::vector<VectorTest> tests;
};

struct VectorFile {
  std::string profile;
  std::string source;
  std::vector<VectorGroup> groups;
  // Problems of the file or of a group as a whole (each counts as one
  // failure): not JSON, wrong schema, unknown profile, unknown kind, ...
  std::vector<std::string> problems;
};

// The profiles and kinds the format defines.
bool IsKnownProfile(std::string_view profile);
bool IsKnownKind(std::string_view profile, std::string_view kind);

// Parses and validates text as a reflex-vectors/1 file.
VectorFile ReadVectorFile(std::string_view text);

}  // namespace reflex::tools

#endif  // REFLEX_TOOLS_VECTOR_FILE_H_
