// The kinds of the reflex-vectors/1 format (testdata/vectors/FORMAT.md), one
// table keyed by (profile, kind): for each kind the fields the reader
// validates, the check the conformance checker runs and the generator that
// writes our files. Adding a kind means adding an entry here and its two
// functions, nothing else. Internal to //tools:vectors.
#ifndef REFLEX_TOOLS_VECTOR_KINDS_H_
#define REFLEX_TOOLS_VECTOR_KINDS_H_

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "reflex/profile.h"
#include "tools/vector_file.h"

namespace reflex::tools {

class Failures;
class VectorBuilder;

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

// Runs one test (free of reader problems) against every implementation and
// adds what did not hold to out. Only the frame kinds depend on the wire
// profile; the handshake kinds are per profile anyway.
using CheckFn = void (*)(const VectorTest& test, const WireProfile& wire_profile, Failures& out);
// Appends the tests of one group, opened by the caller, to builder.
using GenerateFn = void (*)(VectorBuilder& builder, const WireProfile& wire_profile);

struct VectorKind {
  Profile profile;
  const char* kind;
  std::vector<FieldSpec> fields;
  CheckFn check;
  GenerateFn generate;
};

// Every kind of every profile; per profile, in the order of the groups of
// the generated files.
const std::vector<VectorKind>& VectorKinds();

// The entry for a file's profile string and a group's kind, or nullptr.
const VectorKind* FindVectorKind(std::string_view profile, std::string_view kind);

}  // namespace reflex::tools

#endif  // REFLEX_TOOLS_VECTOR_KINDS_H_
