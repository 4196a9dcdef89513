#include "bench/ratio_reporter.h"

#include <cstdio>
#include <cstdlib>
#include <fstream>

namespace reflex::bench {
namespace {

struct Pair {
  std::string baseline;
  std::string measured;
  std::string what;
};

std::vector<Pair>& Pairs() {
  static std::vector<Pair> pairs;
  return pairs;
}

double ToNanoseconds(double value, benchmark::TimeUnit unit) {
  switch (unit) {
    case benchmark::kNanosecond:
      return value;
    case benchmark::kMicrosecond:
      return value * 1e3;
    case benchmark::kMillisecond:
      return value * 1e6;
    case benchmark::kSecond:
      return value * 1e9;
  }
  return value;
}

void PrintTime(double ns) {
  if (ns >= 1e6) {
    std::printf(" %10.3f ms |", ns / 1e6);
  } else if (ns >= 1e3) {
    std::printf(" %10.3f us |", ns / 1e3);
  } else {
    std::printf(" %10.2f ns |", ns);
  }
}

}  // namespace

void RegisterRatio(const std::string& baseline, const std::string& measured,
                   const std::string& what) {
  Pairs().push_back({baseline, measured, what});
}

void RatioReporter::ReportRuns(const std::vector<Run>& runs) {
  ConsoleReporter::ReportRuns(runs);
  for (const Run& run : runs) {
    if (run.error_occurred) continue;
    // With repetitions the median stands for the benchmark (it is reported
    // after the single runs, so it replaces them).
    const bool median =
        run.run_type == Run::RT_Aggregate && run.aggregate_name == "median";
    if (run.run_type != Run::RT_Iteration && !median) continue;
    Result result{ToNanoseconds(run.GetAdjustedRealTime(), run.time_unit), -1};
    auto it = run.counters.find("allocs/iter");
    if (it != run.counters.end()) result.allocs_per_iter = it->second.value;
    results_[run.run_name.str()] = result;
  }
}

// Figures measured by another program in the same run (bench/go/run.sh):
// "name nanoseconds" per line, from the file REFLEX_BENCH_BASELINES names.
void RatioReporter::LoadExternalBaselines() {
  const char* path = std::getenv("REFLEX_BENCH_BASELINES");
  if (path == nullptr) return;
  std::ifstream in(path);
  std::string name;
  double ns = 0;
  while (in >> name >> ns) results_[name] = Result{ns, -1};
}

void RatioReporter::Finalize() {
  ConsoleReporter::Finalize();
  LoadExternalBaselines();
  std::printf(
      "\n| measured | baseline | measured time | baseline time | ratio "
      "(baseline/measured) | allocs/iter |\n"
      "|---|---|---:|---:|---:|---:|\n");
  for (const Pair& pair : Pairs()) {
    for (const auto& [name, measured] : results_) {
      if (name.rfind(pair.measured, 0) != 0) continue;
      const std::string suffix = name.substr(pair.measured.size());
      if (!suffix.empty() && suffix[0] != '/') continue;
      auto base = results_.find(pair.baseline + suffix);
      if (base == results_.end()) continue;
      std::printf("| %s | %s |", name.c_str(), base->first.c_str());
      PrintTime(measured.real_ns);
      PrintTime(base->second.real_ns);
      std::printf(" %6.2fx |", base->second.real_ns / measured.real_ns);
      if (measured.allocs_per_iter >= 0) {
        std::printf(" %.2f |\n", measured.allocs_per_iter);
      } else {
        std::printf(" - |\n");
      }
    }
  }
  std::printf("\nratios: %s\n", "above 1.00x the measured code is faster");
  for (const Pair& pair : Pairs()) {
    std::printf("  %s vs %s: %s\n", pair.measured.c_str(),
                pair.baseline.c_str(), pair.what.c_str());
  }
  std::fflush(stdout);
}

int RunWithRatios(int argc, char** argv) {
  // Defaults that make the ratio table steady on a noisy 2-core machine:
  // repetitions (the median is used), baseline and measured runs
  // interleaved at random. Flags given on the command line come later and
  // win.
  std::vector<char*> args = {argv[0]};
  static char repetitions[] = "--benchmark_repetitions=5";
  static char interleave[] = "--benchmark_enable_random_interleaving=true";
  static char min_time[] = "--benchmark_min_time=0.2";
  static char aggregates[] = "--benchmark_report_aggregates_only=true";
  args.insert(args.end(), {repetitions, interleave, min_time, aggregates});
  args.insert(args.end(), argv + 1, argv + argc);
  argc = static_cast<int>(args.size());
  argv = args.data();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  RatioReporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  benchmark::Shutdown();
  return 0;
}

}  // namespace reflex::bench
