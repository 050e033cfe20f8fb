// Benchmark: parse + type-check of generated policies with 1,000 and 10,000
// rules, in process (median and best of several runs). Prints figures; the
// target for 1,000 rules is 10 ms.
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <string>
#include <vector>

#include "compiler/check/check.h"
#include "compiler/parse/parse.h"

namespace {

// A realistic mix: path equality, argument membership, cwd containment.
std::string GeneratePolicy(int rules) {
  std::string text = "policy generated version \"1.0.0\"\n\nconst workspace: path = \"/work/repo\"\n";
  text += "const read_cmds: set<string> = {\"status\", \"log\", \"diff\", \"show\"}\n\n";
  for (int i = 0; i < rules; ++i) {
    switch (i % 4) {
      case 0:
        text += fmt::format("allow r{} when program.path == \"/usr/bin/tool{}\" and args[0] in read_cmds\n", i, i);
        break;
      case 1:
        text += fmt::format(
            "deny r{} when program.name == \"rm{}\" and any a in args: not (cwd / a) under workspace\n"
            "    because \"deletes outside\"\n",
            i, i);
        break;
      case 2:
        text += fmt::format("ask r{} when program.path == \"/usr/bin/net{}\" and args[0] == \"push\"\n", i, i);
        break;
      default:
        text += fmt::format(
            "allow r{} when program.path under \"/opt/t{}\" and cwd under workspace\n"
            "    with {{ timeout = 10m, memory = 1GiB, network = none }}\n",
            i, i);
        break;
    }
  }
  return text;
}

double CheckMillis(const std::string& text, std::size_t* errors) {
  auto start = std::chrono::steady_clock::now();
  gov::source::SourceManager sources;
  gov::source::FileId id = sources.Add("generated.gov", text);
  gov::diagnostics::Collector diagnostics;
  gov::ast::File file = gov::parse::ParseFile(sources, id, diagnostics);
  std::vector<gov::check::ParsedModule> modules{{&file, {}, true}};
  gov::check::Program program = gov::check::Check(modules, diagnostics);
  auto stop = std::chrono::steady_clock::now();
  *errors = diagnostics.ErrorCount();
  return std::chrono::duration<double, std::milli>(stop - start).count();
}

}  // namespace

int main() {
  fmt::print("govc check (parse + resolve + type-check), in process\n");
  fmt::print("{:>8} {:>10} {:>12} {:>12} {:>10}\n", "rules", "bytes", "median ms", "best ms", "target");
  for (int rules : {1000, 10000}) {
    std::string text = GeneratePolicy(rules);
    std::vector<double> runs;
    std::size_t errors = 0;
    int repetitions = rules <= 1000 ? 21 : 7;
    for (int i = 0; i < repetitions; ++i) runs.push_back(CheckMillis(text, &errors));
    if (errors != 0) {
      fmt::print(stderr, "generated policy has {} errors\n", errors);
      return 1;
    }
    std::sort(runs.begin(), runs.end());
    fmt::print("{:>8} {:>10} {:>12.2f} {:>12.2f} {:>10}\n", rules, text.size(), runs[runs.size() / 2], runs.front(),
               rules == 1000 ? "<= 10 ms" : "-");
  }
  return 0;
}
