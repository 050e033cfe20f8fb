// govc's back-end subcommands: keygen, build, eval, test, and check --cost.
// Each returns govc's exit status (0 ok, 1 problems in policies or failing
// tests, 2 usage or tool failure).
#pragma once

#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/support/error_or.h"

namespace gov::cli {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFindings = 1;
inline constexpr int kExitToolFailure = 2;
// A command line govc cannot use (EX_USAGE, as every gov tool: docs/govc.md).
inline constexpr int kExitUsage = 64;

// Prints "govc: error: MESSAGE" and returns kExitToolFailure.
int ToolFailure(const std::string& message);

// `--color`: auto (a terminal and no NO_COLOR), always or never.
enum class ColorMode { kAuto, kAlways, kNever };
void SetColorMode(ColorMode mode);
// Whether diagnostics written to `stream` are coloured.
bool UseColor(FILE* stream);

// govc keygen NAME: NAME.key (PKCS#8 PEM, 0600) and NAME.pub (SPKI PEM).
int RunKeygen(const std::string& name, bool force);

struct BuildArgs {
  std::vector<std::string> paths;
  std::string key_path;
  std::string output;
  bool native = true;
  std::string cpu;
  int opt_level = -1;  // codegen::kAutoOptLevel
  std::string emit_llvm;  // also write the optimized LLVM IR here
  bool skip_tests = false;  // build even when the policy's own tests fail
};
// govc build PATH --key KEY -o FILE.govb.
int RunBuild(const BuildArgs& args);

struct EvalArgs {
  std::vector<std::string> paths;
  std::string bundle;
  std::vector<std::string> trusted_keys;
  std::string request;
  std::string format = "text";
  bool interp = false;
};
// govc eval (PATH | --bundle FILE --trust KEY.pub) --request REQ.json.
int RunEval(const EvalArgs& args);

struct BenchArgs {
  std::vector<std::string> paths;
  std::string bundle;
  std::vector<std::string> trusted_keys;
  std::string requests;  // JSON Lines; empty: the policy's test cases
  std::string format = "text";
  int rounds = 200;
  bool per_rule = false;
};
// govc bench (PATH | --bundle FILE --trust KEY.pub) [--requests FILE.jsonl].
int RunBenchCommand(const BenchArgs& args);

struct TestArgs {
  std::vector<std::string> paths;
  bool interp = false;
  std::string coverage_min;     // a decimal percentage ("100", "87.5", "100%"), empty: none
  std::string format = "text";  // text, json or junit
  std::string filter;           // only test blocks whose name contains this text
};
// govc test PATH…: runs every test case.
int RunTest(const TestArgs& args);

struct DiffArgs {
  std::string old_policy;  // a policy file or a signed bundle (.govb)
  std::string new_policy;
  std::vector<std::string> trusted_keys;  // for bundles
  std::string format = "text";            // text, json or markdown
  std::size_t max_classes = 100;
};
// The exit status of govc diff when the list is not proved complete.
inline constexpr int kExitDiffIncomplete = 3;
// govc diff OLD NEW: the requests decided differently (docs/diff.md).
int RunDiff(const DiffArgs& args);

// govc check --cost: prints each policy's static worst-case decision cost.
int RunCost(const std::vector<std::string>& paths);

// govc check --cost --format json: the `costs` array of the check document
// (docs/schemas/govc-check.schema.json), one entry per file. For policies
// that checked clean; a policy with errors is an error here.
ErrorOr<nlohmann::json> CostJson(const std::vector<std::string>& paths);

}  // namespace gov::cli
