#include "tools/conformance_checker.h"

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <system_error>

#include "tools/checks.h"
#include "tools/vector_file.h"
#include "tools/vector_kinds.h"

namespace reflex::tools {
namespace {

// Runs a test through its kind's check. The reader reads only groups of
// known kinds, so the entry is always there; a missing one still fails.
void CheckTest(const std::string& profile, const std::string& kind, const VectorTest& t,
               Failures& out) {
  const VectorKind* entry = FindVectorKind(profile, kind);
  if (entry == nullptr) {
    out.Add("", "unknown kind '" + kind + "' for profile '" + profile + "'");
    return;
  }
  entry->check(t, WireProfileOf(entry->profile), out);
}

// One report line: the file, then the message, whose text may come from the
// file itself (an unknown field's name, an id): control characters are
// written escaped, so a line stays one line and names its file.
void ReportLine(std::ostream& report, const std::string& name, std::string_view message) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string line = name + ": ";
  for (const char c : message) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '\n') {
      line += "\\n";
    } else if (u < 0x20 || u == 0x7f) {
      line += "\\x";
      line += kHex[u >> 4];
      line += kHex[u & 15];
    } else {
      line += c;
    }
  }
  report << line << "\n";
}

}  // namespace

void CheckVectorText(const std::string& name, std::string_view text, std::ostream& report,
                     ConformanceSummary* summary) {
  const VectorFile file = ReadVectorFile(text);
  for (const std::string& problem : file.problems) {
    ReportLine(report, name, problem);
    ++summary->failed;
  }
  for (const VectorGroup& group : file.groups) {
    for (const VectorTest& test : group.tests) {
      Failures failures;
      for (const std::string& p : test.problems) failures.Add("", p);
      if (failures.empty()) CheckTest(file.profile, group.kind, test, failures);
      if (failures.empty()) {
        ++summary->passed;
        continue;
      }
      ++summary->failed;
      for (const std::string& m : failures.messages()) {
        ReportLine(report, name, "test " + test.id_text + " (" + group.kind + "): " + m);
      }
    }
  }
}

ConformanceSummary CheckVectorFiles(const std::vector<std::string>& paths, std::ostream& report) {
  ConformanceSummary summary;
  for (const std::string& path : paths) {
    auto fail = [&](const std::string& problem) {
      ReportLine(report, path, problem);
      ++summary.failed;
    };
    std::error_code ec;
    if (std::filesystem::is_directory(path, ec)) {
      fail("is a directory, not a vector file");
      continue;
    }
    const auto size = std::filesystem::file_size(path, ec);
    if (ec) {
      fail("cannot open: " + ec.message());
      continue;
    }
    if (size > kMaxVectorFileBytes) {
      fail("larger than " + std::to_string(kMaxVectorFileBytes) + " bytes; not read");
      continue;
    }
    std::ifstream in(path, std::ios::binary);
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (!in.good() && !in.eof()) {
      fail("cannot read");
      continue;
    }
    CheckVectorText(path, text, report, &summary);
  }
  report << summary.passed << " passed, " << summary.failed << " failed\n";
  return summary;
}

}  // namespace reflex::tools
