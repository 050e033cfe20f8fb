// Benchmark: parse + type-check of generated policies with 1,000 and 10,000
// rules, in process (median and best of several runs), with the time of each
// phase in the median run and of the process's first (cold) run. Prints
// figures; the target for 1,000 rules is 10 ms.
#include <fmt/format.h>

#include <time.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <optional>
#include <string>
#include <vector>

#include "bench/generated_policy.h"
#include "compiler/check/check.h"
#include "compiler/parse/parse.h"

namespace {

std::string GeneratePolicy(int rules) { return gov::bench::GeneratePolicy(rules, gov::bench::FourthShape::kPathPrefix); }

struct Run {
  double total_ms = 0;
  double cpu_ms = 0;  // CPU time of this thread: unaffected by waiting for a core on a shared machine
  double check_ms = 0;
  gov::parse::ParseTimings parse;
};

double Millis(std::chrono::steady_clock::time_point from, std::chrono::steady_clock::time_point to) {
  return std::chrono::duration<double, std::milli>(to - from).count();
}

double ThreadCpuMillis() {
  timespec now{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now);
  return static_cast<double>(now.tv_sec) * 1e3 + static_cast<double>(now.tv_nsec) / 1e6;
}

Run CheckOnce(const std::string& text, std::size_t* errors) {
  Run run;
  double cpu_start = ThreadCpuMillis();
  auto start = std::chrono::steady_clock::now();
  gov::source::SourceManager sources;
  gov::source::FileId id = sources.Add("generated.gov", text);
  gov::diagnostics::Collector diagnostics;
  gov::ast::File file = gov::parse::ParseFile(sources, id, diagnostics, &run.parse);
  auto parsed = std::chrono::steady_clock::now();
  std::vector<gov::check::ParsedModule> modules{{&file, {}, true}};
  gov::check::Program program = gov::check::Check(modules, diagnostics);
  auto stop = std::chrono::steady_clock::now();
  *errors = diagnostics.ErrorCount();
  run.total_ms = Millis(start, stop);
  run.cpu_ms = ThreadCpuMillis() - cpu_start;
  run.check_ms = Millis(parsed, stop);
  return run;
}

}  // namespace

// Arguments: the rule counts to measure (default 1000 10000).
int main(int argc, char** argv) {
  std::vector<int> sizes;
  for (int i = 1; i < argc; ++i) sizes.push_back(std::atoi(argv[i]));
  if (sizes.empty()) sizes = {1000, 10000};
  fmt::print("govc check (parse + resolve + type-check), in process\n");
  fmt::print("{:>8} {:>10} {:>12} {:>12} {:>14} {:>10}\n", "rules", "bytes", "median ms", "best ms", "median cpu ms",
             "target");
  std::vector<std::pair<int, Run>> medians;
  std::optional<Run> first_run;  // the process's first parse: the parser's prediction cache is cold
  for (int rules : sizes) {
    if (rules <= 0) {
      fmt::print(stderr, "usage: bench_check [RULES...]\n");
      return 2;
    }
    std::string text = GeneratePolicy(rules);
    std::vector<Run> runs;
    std::size_t errors = 0;
    int repetitions = rules <= 1000 ? 41 : 9;
    for (int i = 0; i < repetitions; ++i) runs.push_back(CheckOnce(text, &errors));
    if (!first_run) first_run = runs.front();
    if (errors != 0) {
      fmt::print(stderr, "generated policy has {} errors\n", errors);
      return 1;
    }
    std::vector<double> cpu;
    for (const Run& run : runs) cpu.push_back(run.cpu_ms);
    std::sort(cpu.begin(), cpu.end());
    std::sort(runs.begin(), runs.end(), [](const Run& a, const Run& b) { return a.total_ms < b.total_ms; });
    fmt::print("{:>8} {:>10} {:>12.2f} {:>12.2f} {:>14.2f} {:>10}\n", rules, text.size(),
               runs[runs.size() / 2].total_ms, runs.front().total_ms, cpu[cpu.size() / 2],
               rules == 1000 ? "<= 10 ms" : "-");
    medians.emplace_back(rules, runs[runs.size() / 2]);
  }
  fmt::print("\nphases, ms (the first run of the process has a cold prediction cache, as one govc check)\n");
  fmt::print("{:>14} {:>8} {:>8} {:>8} {:>8} {:>8} {:>8}\n", "run", "lex", "split", "parse", "ast", "check",
             "total");
  auto print_phases = [](const std::string& name, const Run& run) {
    fmt::print("{:>14} {:>8.2f} {:>8.2f} {:>8.2f} {:>8.2f} {:>8.2f} {:>8.2f}\n", name, run.parse.lex_ms,
               run.parse.split_ms, run.parse.parse_ms, run.parse.build_ms, run.check_ms, run.total_ms);
  };
  print_phases(fmt::format("first, {}", sizes.front()), *first_run);
  for (const auto& [rules, run] : medians) print_phases(fmt::format("median, {}", rules), run);
  return 0;
}
