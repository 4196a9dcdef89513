// The conformance tool: checks reflex-vectors/1 files against this
// repository's codec, sessions and reference model.
//   bazel run //tools:conformance -- testdata/vectors/reflex-v1-compat.json
// Exit status 0 only when every test passed and at least one test ran.
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

#include "tools/conformance_checker.h"

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: conformance FILE...\n");
    return 2;
  }
  // Under `bazel run` the working directory is the runfiles tree; relative
  // paths are meant from where the user typed the command.
  const char* cwd = std::getenv("BUILD_WORKING_DIRECTORY");
  std::vector<std::string> paths;
  for (int i = 1; i < argc; ++i) {
    std::string p = argv[i];
    if (cwd != nullptr && !p.empty() && p[0] != '/') p = std::string(cwd) + "/" + p;
    paths.push_back(p);
  }
  return reflex::tools::CheckVectorFiles(paths, std::cout).exit_code();
}
