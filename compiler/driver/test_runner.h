// `govc test`: runs the test cases of a lowered policy through native code
// (checked against the IR interpreter) or the interpreter, and renders the
// results as text, JSON or JUnit XML (docs/language.md "Running tests").
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "compiler/driver/build.h"
#include "runtime/support/error_or.h"

namespace gov::driver {

struct TestRunOptions {
  bool interp = false;  // the IR interpreter only
  std::string filter;   // only the `test` blocks whose name contains this text (empty: all)
};

// One `exec ... => ...` case after it ran.
struct TestCaseResult {
  std::string block;  // the `test "..."` block's name
  std::string file;   // where the case is written
  std::uint32_t line = 0;
  std::uint32_t column = 0;
  std::string command;   // `exec [...]` with `via`/`argv0` as written
  std::string expected;  // `allow by a, b not by c with { timeout = 10m }`
  std::string actual;    // `allow by a (obligations also of b) with { ... }`
  // What did not hold, in this order: "verdict", "by", "not by", "obligations".
  std::vector<std::string> mismatches;

  bool passed() const { return mismatches.empty(); }
};

// The results of one policy file.
struct PolicyTestReport {
  std::string path;
  std::string engine;                 // "native code (LLVM ORC JIT)" or "IR interpreter"
  bool tested = false;                // false: the policy has errors, no case ran
  std::vector<TestCaseResult> cases;  // the selected cases, in source order
  std::size_t filtered_out = 0;       // cases of blocks the filter left out
  std::vector<std::string> rules;     // every rule, in policy order
  std::vector<bool> exercised;        // parallel to `rules`: decided some selected case

  std::size_t failed() const;
  std::size_t covered() const;
};

// Runs the selected cases of `lowered` (which must be ok()).
ErrorOr<PolicyTestReport> RunPolicyTests(const std::string& path, const LoweredPolicy& lowered,
                                         const TestRunOptions& options);

// What a bundle records of a passing run (its TESTS section): the number
// of cases, of rules, and the ids of the rules the cases exercised.
bundle::BuildTests BuildTestsOf(const PolicyTestReport& report);

// The text report of one file: the failures (for stderr), then the summary
// line and the rules no case exercised (for stdout).
struct TestText {
  std::string failures;
  std::string summary;
};
TestText RenderTestText(const PolicyTestReport& report);

// The whole run as one JSON document (docs/schemas/govc-test.schema.json).
std::string RenderTestJson(const std::vector<PolicyTestReport>& reports);

// The whole run as JUnit XML: a <testsuite> per policy file, a <testcase>
// per case (classname: the test block), <failure> with expected and actual.
std::string RenderTestJunit(const std::vector<PolicyTestReport>& reports);

}  // namespace gov::driver
