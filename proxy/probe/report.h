// The probe's verdicts: one line per scenario on stdout ("PASS name" or
// "FAIL name: what differed"), then "N passed, M failed"; optionally the
// same as JSON ([{"name", "result", "detail"}]).
#ifndef REFLEX_PROXY_PROBE_REPORT_H_
#define REFLEX_PROXY_PROBE_REPORT_H_

#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace reflex::proxy::probe {

// What a check found: it held, or what differed. Every step of the probe
// (a handshake, a read, a whole scenario) answers with one.
class [[nodiscard]] Verdict {
 public:
  static Verdict Pass() { return Verdict(); }
  static Verdict Fail(std::string what) {
    Verdict v;
    v.failed_ = true;
    v.what_ = std::move(what);
    return v;
  }
  bool failed() const { return failed_; }
  const std::string& what() const { return what_; }  // empty when it passed
  // The same failure, said where it happened: "handshake: <what>".
  Verdict Within(std::string_view where) const {
    return Fail(std::string(where) + ": " + what_);
  }

 private:
  bool failed_ = false;
  std::string what_;
};

// A scenario: a name (stable, for --only and for tests that grep) and its
// check.
struct Scenario {
  std::string name;
  std::function<Verdict()> run;
};

// Runs the scenarios (only `only`, when set), prints each verdict as it
// comes and the summary; writes `json_path` when set. The exit status: 0
// when all passed and at least one ran, 1 otherwise, 2 when `only` names
// no scenario.
// `labels`: the words for a check that held and one that did not.
struct VerdictLabels {
  const char* held = "PASS";
  const char* differed = "FAIL";
};
int RunScenarios(const std::vector<Scenario>& scenarios, const std::string& only,
                 const std::string& json_path, VerdictLabels labels = {});

}  // namespace reflex::proxy::probe

#endif  // REFLEX_PROXY_PROBE_REPORT_H_
