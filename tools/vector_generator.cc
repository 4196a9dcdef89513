#include "tools/vector_generator.h"

#include "tools/generators.h"
#include "tools/vector_kinds.h"

namespace reflex::tools {

nlohmann::ordered_json GenerateVectors(Profile profile) {
  VectorBuilder builder(profile);
  for (const VectorKind& kind : VectorKinds()) {
    if (kind.profile != profile) continue;
    builder.StartGroup(kind.kind);
    kind.generate(builder, WireProfileOf(profile));
  }
  return builder.Finish();
}

nlohmann::ordered_json GenerateV1CompatVectors() { return GenerateVectors(Profile::kV1Compat); }

nlohmann::ordered_json GenerateV2Vectors() { return GenerateVectors(Profile::kV2); }

}  // namespace reflex::tools
