// Checks reflex-vectors/1 files against both codecs of this repository (the
// pooled one and the unpooled oracle). Every test that does not hold is
// reported on one line:
//   <file>: test <id> (<kind>): <implementation>: <what differed>
// and the report ends with "N passed, M failed". An unknown kind, profile or
// field is a failure, never a skip.
#ifndef REFLEX_TOOLS_CONFORMANCE_CHECKER_H_
#define REFLEX_TOOLS_CONFORMANCE_CHECKER_H_

#include <ostream>
#include <string>
#include <vector>

namespace reflex::tools {

struct ConformanceSummary {
  int passed = 0;
  int failed = 0;
  // The exit status the tool uses: 0 only when nothing failed and
  // something passed.
  int exit_code() const { return failed == 0 && passed > 0 ? 0 : 1; }
};

// Checks every file; writes failure lines and the final count to report.
ConformanceSummary CheckVectorFiles(const std::vector<std::string>& paths,
                                    std::ostream& report);

}  // namespace reflex::tools

#endif  // REFLEX_TOOLS_CONFORMANCE_CHECKER_H_
