// The probe's verdicts: one line per scenario on stdout ("PASS name" or
// "FAIL name: what differed"), then "N passed, M failed"; optionally the
// same as JSON ([{"name", "result", "detail"}]).
#ifndef REFLEX_PROXY_PROBE_REPORT_H_
#define REFLEX_PROXY_PROBE_REPORT_H_

#include <functional>
#include <string>
#include <vector>

namespace reflex::proxy::probe {

// A scenario: a name (stable, for --only and for tests that grep) and a
// check returning "" when it passed, else what differed.
struct Scenario {
  std::string name;
  std::function<std::string()> run;
};

// Runs the scenarios (only `only`, when set), prints each verdict as it
// comes and the summary; writes `json_path` when set. The exit status: 0
// when all passed and at least one ran, 1 otherwise, 2 when `only` names
// no scenario.
int RunScenarios(const std::vector<Scenario>& scenarios, const std::string& only,
                 const std::string& json_path);

}  // namespace reflex::proxy::probe

#endif  // REFLEX_PROXY_PROBE_REPORT_H_
