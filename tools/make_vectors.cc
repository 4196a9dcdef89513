// Prints the v1-compat conformance vectors:
//   bazel run //tools:make_vectors > testdata/vectors/reflex-v1-compat.json
#include <cstdio>

#include "tools/vector_generator.h"

int main() {
  const std::string text = reflex::tools::GenerateV1CompatVectors().dump(1) + "\n";
  std::fwrite(text.data(), 1, text.size(), stdout);
  return 0;
}
