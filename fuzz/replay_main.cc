// The plain fuzz driver: runs a target's entry point over files, without
// libFuzzer. `bazel test //...` uses it to replay every corpus and crash file
// forever; it also reproduces a single crash: bazel-bin/fuzz/TARGET FILE.
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);
extern "C" __attribute__((weak)) int LLVMFuzzerInitialize(int* argc, char*** argv);

namespace {

std::vector<std::string> InputsUnder(const std::string& path) {
  namespace fs = std::filesystem;
  std::vector<std::string> files;
  if (fs::is_directory(path)) {
    for (const auto& e : fs::recursive_directory_iterator(path)) {
      if (e.is_regular_file() && e.path().filename() != "README.md") {
        files.push_back(e.path().string());
      }
    }
  } else if (fs::path(path).filename() == "README.md") {
    // testdata/crashes/README.md keeps Bazel's file groups non-empty.
  } else if (fs::exists(path)) {
    files.push_back(path);
  } else {
    std::fprintf(stderr, "replay: no such file or directory: %s\n", path.c_str());
  }
  return files;
}

}  // namespace

int main(int argc, char** argv) {
  if (LLVMFuzzerInitialize != nullptr) LLVMFuzzerInitialize(&argc, &argv);
  size_t runs = 0;
  bool missing = false;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg.rfind("--", 0) == 0) continue;
    const auto files = InputsUnder(arg);
    if (!std::filesystem::exists(arg)) missing = true;
    for (const std::string& file : files) {
      std::ifstream in(file, std::ios::binary);
      const std::vector<uint8_t> data((std::istreambuf_iterator<char>(in)),
                                      std::istreambuf_iterator<char>());
      LLVMFuzzerTestOneInput(data.data(), data.size());
      ++runs;
    }
  }
  std::printf("replay: %zu input(s) ran without a crash or broken invariant\n", runs);
  // A replay that ran nothing proves nothing.
  return runs > 0 && !missing ? 0 : 1;
}
