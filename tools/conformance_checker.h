// Checks reflex-vectors/1 files (testdata/vectors/FORMAT.md) against this
// repository's implementations: the codec with each AEAD backend
// ("codec/sodium", "codec/openssl") and the plain reference model
// ("reference"). Every test that does not hold is reported on one line:
//   <file>: test <id> (<kind>): <implementation>: <what differed>
// a problem of the file itself as
//   <file>: <problem>
// and the report ends with "N passed, M failed". An unknown kind, profile or
// field is a failure, never a skip.
#ifndef REFLEX_TOOLS_CONFORMANCE_CHECKER_H_
#define REFLEX_TOOLS_CONFORMANCE_CHECKER_H_

#include <ostream>
#include <string>
#include <string_view>
#include <vector>

namespace reflex::tools {

struct ConformanceSummary {
  int passed = 0;
  int failed = 0;
  // The exit status the tool uses: 0 only when nothing failed and
  // something passed.
  int exit_code() const { return failed == 0 && passed > 0 ? 0 : 1; }
};

// Files larger than this are refused unread (the largest of ours is under
// 1 MiB).
inline constexpr size_t kMaxVectorFileBytes = size_t{64} << 20;

// Checks one file's contents; name prefixes its report lines.
void CheckVectorText(const std::string& name, std::string_view text, std::ostream& report,
                     ConformanceSummary* summary);

// Reads and checks every file; writes failure lines and the final count.
ConformanceSummary CheckVectorFiles(const std::vector<std::string>& paths,
                                    std::ostream& report);

}  // namespace reflex::tools

#endif  // REFLEX_TOOLS_CONFORMANCE_CHECKER_H_
