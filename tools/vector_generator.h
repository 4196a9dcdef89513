// Generates testdata/vectors/reflex-v1-compat.json and reflex-v2.json
// (reflex-vectors/1) from fixed inputs: one group per kind of the profile,
// in the kind table's order. Deterministic: the checked-in files must equal
// its output (tools:conformance_test checks that).
#ifndef REFLEX_TOOLS_VECTOR_GENERATOR_H_
#define REFLEX_TOOLS_VECTOR_GENERATOR_H_

#include <nlohmann/json.hpp>

#include "reflex/profile.h"

namespace reflex::tools {

// testdata/vectors/reflex-<ProfileName(profile)>.json.
nlohmann::ordered_json GenerateVectors(Profile profile);

}  // namespace reflex::tools

#endif  // REFLEX_TOOLS_VECTOR_GENERATOR_H_
