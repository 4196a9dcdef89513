// Prints the conformance vectors of a profile:
//   bazel run //tools:make_vectors > testdata/vectors/reflex-v1-compat.json
//   bazel run //tools:make_vectors -- v2 > testdata/vectors/reflex-v2.json
#include <cstdio>
#include <string>

#include "tools/vector_generator.h"

int main(int argc, char** argv) {
  const std::string profile = argc > 1 ? argv[1] : "v1-compat";
  if (profile != "v1-compat" && profile != "v2") {
    std::fprintf(stderr, "usage: make_vectors [v1-compat|v2]\n");
    return 2;
  }
  const auto vectors = profile == "v2" ? reflex::tools::GenerateV2Vectors()
                                       : reflex::tools::GenerateV1CompatVectors();
  const std::string text = vectors.dump(1) + "\n";
  std::fwrite(text.data(), 1, text.size(), stdout);
  return 0;
}
