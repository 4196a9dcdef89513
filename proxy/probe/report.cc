#include "proxy/probe/report.h"

#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>

namespace reflex::proxy::probe {

int RunScenarios(const std::vector<Scenario>& scenarios, const std::string& only,
                 const std::string& json_path, VerdictLabels labels) {
  size_t passed = 0, failed = 0;
  nlohmann::ordered_json results = nlohmann::ordered_json::array();
  for (const Scenario& s : scenarios) {
    if (!only.empty() && s.name != only) continue;
    const Verdict verdict = s.run();
    if (!verdict.failed()) {
      ++passed;
      std::printf("%s %s\n", labels.held, s.name.c_str());
    } else {
      ++failed;
      std::printf("%s %s: %s\n", labels.differed, s.name.c_str(), verdict.what().c_str());
    }
    std::fflush(stdout);
    results.push_back({{"name", s.name},
                       {"result", verdict.failed() ? "fail" : "pass"},
                       {"detail", verdict.what()}});
  }
  if (passed + failed == 0) {
    std::fprintf(stderr, "reflex probe: no scenario named '%s'\n", only.c_str());
    return 2;
  }
  std::printf("%zu passed, %zu failed\n", passed, failed);
  if (!json_path.empty()) {
    std::ofstream out(json_path);
    out << results.dump(2) << "\n";
    if (!out) {
      std::fprintf(stderr, "reflex probe: cannot write %s\n", json_path.c_str());
      return 1;
    }
  }
  return failed == 0 ? 0 : 1;
}

}  // namespace reflex::proxy::probe
