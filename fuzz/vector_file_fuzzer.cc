// The conformance tool's reader and checker on fuzzer-made vector files: a
// decoder of untrusted files must never crash, never throw, never abort.
// Invariants: a file the reader finds problems in fails; every test is
// counted exactly once, as passed or failed; every report line names the
// file; the verdict does not depend on anything but the text.
#include <cstdint>
#include <sstream>
#include <string>
#include <string_view>

#include "fuzz/fuzz_check.h"
#include "tools/conformance_checker.h"
#include "tools/vector_file.h"

using namespace reflex;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const tools::VectorFile file = tools::ReadVectorFile(text);
  size_t tests = 0;
  size_t tests_with_problems = 0;
  for (const tools::VectorGroup& g : file.groups) {
    FUZZ_CHECK(tools::IsKnownKind(file.profile, g.kind), "a group of an unknown kind was read");
    for (const tools::VectorTest& t : g.tests) {
      ++tests;
      tests_with_problems += !t.problems.empty();
    }
  }
  std::ostringstream report;
  tools::ConformanceSummary summary;
  tools::CheckVectorText("f", text, report, &summary);
  FUZZ_CHECK(static_cast<size_t>(summary.passed + summary.failed) ==
                 tests + file.problems.size(),
             "a test or a file problem was not counted exactly once");
  FUZZ_CHECK(static_cast<size_t>(summary.failed) >= tests_with_problems + file.problems.size(),
             "a problem did not fail");
  std::istringstream lines(report.str());
  for (std::string line; std::getline(lines, line);) {
    FUZZ_CHECK(line.rfind("f: ", 0) == 0, "a report line does not name its file");
  }
  FUZZ_CHECK((summary.failed == 0) == report.str().empty(), "failures without lines, or lines without");
  std::ostringstream again;
  tools::ConformanceSummary summary2;
  tools::CheckVectorText("f", text, again, &summary2);
  FUZZ_CHECK(again.str() == report.str() && summary2.passed == summary.passed,
             "the verdict changed between two runs");
  return 0;
}
