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

}  // namespace reflex::tools
