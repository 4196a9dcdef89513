// Console output of Google Benchmark plus a table of ratios between each
// measured benchmark and its baseline twin from the same run. Twins share
// the argument suffix: "BM_RawAead/4096" is the baseline of
// "BM_FrameSealOpen/4096".
#ifndef REFLEX_BENCH_RATIO_REPORTER_H_
#define REFLEX_BENCH_RATIO_REPORTER_H_

#include <benchmark/benchmark.h>

#include <map>
#include <string>
#include <vector>

namespace reflex::bench {

// Declares that `measured`/<args> is compared with `baseline`/<args>.
// The ratio printed is baseline time / measured time: above 1, the measured
// code is faster.
void RegisterRatio(const std::string& baseline, const std::string& measured,
                   const std::string& what);

class RatioReporter : public benchmark::ConsoleReporter {
 public:
  void ReportRuns(const std::vector<Run>& runs) override;
  void Finalize() override;

 private:
  void LoadExternalBaselines();

  struct Result {
    double real_ns;
    double allocs_per_iter;  // -1 when the benchmark does not report it
  };
  std::map<std::string, Result> results_;
};

// Runs the benchmarks selected on the command line with a RatioReporter.
int RunWithRatios(int argc, char** argv);

}  // namespace reflex::bench

#endif  // REFLEX_BENCH_RATIO_REPORTER_H_
