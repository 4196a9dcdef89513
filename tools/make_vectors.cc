// Prints the conformance vectors of a profile:
//   bazel run //tools:make_vectors > testdata/vectors/reflex-v1-compat.json
//   bazel run //tools:make_vectors -- v2 > testdata/vectors/reflex-v2.json
#include <cstdio>
#include <string>

#include "reflex/profile.h"
#include "tools/vector_generator.h"

int main(int argc, char** argv) {
  reflex::Profile profile = reflex::Profile::kV1Compat;
  if (argc > 1 && !reflex::ProfileFromName(argv[1], &profile)) {
    std::fprintf(stderr, "usage: make_vectors [v1-compat|v2]\n");
    return 2;
  }
  const std::string text = reflex::tools::GenerateVectors(profile).dump(1) + "\n";
  std::fwrite(text.data(), 1, text.size(), stdout);
  return 0;
}
