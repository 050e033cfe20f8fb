// The generated policies the benchmarks measure: four rule shapes in rotation
// (path equality with argument membership; a quantifier over args with path
// joins; an ask; a rule with obligations).
#pragma once

#include <fmt/format.h>

#include <string>

namespace gov::bench {

// The fourth shape: a program-path prefix (bench_check, as first measured) or
// a program name, which the rule index can select (bench_decide).
enum class FourthShape { kPathPrefix, kProgramName };

inline std::string GeneratePolicy(int rules, FourthShape fourth) {
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
        text += fourth == FourthShape::kPathPrefix
                    ? fmt::format("allow r{} when program.path under \"/opt/t{}\" and cwd under workspace\n", i, i)
                    : fmt::format("allow r{} when program.name == \"t{}\" and cwd under workspace\n", i, i);
        text += "    with { timeout = 10m, memory = 1GiB, network = none }\n";
        break;
    }
  }
  return text;
}

}  // namespace gov::bench
