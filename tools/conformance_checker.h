// Checks reflex-vectors/1 files (testdata/vectors/FORMAT.md) against this
// repository's implementations. Every test that does not hold is reported
// on one line:
//   <file>: test <id> (<kind>): <implementation>: <what differed>
// where <implementation> names what failed:
//   "codec/sodium", "codec/openssl"  the codec with that AEAD backend (the
//                                    v1-compat handshake kinds and the
//                                    request header: the default one only)
//   "codec/sodium, 1-byte chunks"    a frame stream fed to the codec's
//                                    decoder in that chunking ("one chunk",
//                                    "1-2-3 chunks", ...)
//   "codec"                          the codec's v2 handshake functions,
//                                    which take no AEAD backend
//   "session/sodium", ...            the v2 client and server sessions
//   "reference"                      the plain reference model
// and the "<implementation>: " part is left out when the test itself is at
// fault (a malformed field, or fields that contradict its bytes). A problem
// of the file itself is reported as
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
