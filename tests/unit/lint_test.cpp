// Unit tests of the linter (compiler/lint): each lint's positive and
// negative case, gov.toml parsing and its GOV4xxx errors, level overrides,
// and FindConfig. Policies are written to a temporary directory and compiled
// with driver::Compile, as `govc lint` does.
#include "compiler/lint/lint.h"

#include <fmt/format.h>
#include <stdlib.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "compiler/diagnostics/diagnostic.h"
#include "compiler/driver/driver.h"
#include "tests/unit/test_support.h"

namespace gov::lint {
namespace {

namespace fs = std::filesystem;
using diagnostics::Diagnostic;
using diagnostics::Kind;
using diagnostics::Severity;
using testing::TempDir;

// A compiled, linted policy: the lint findings apart from checker diagnostics.
struct Linted {
  std::unique_ptr<TempDir> dir;
  std::unique_ptr<driver::Compilation> compilation;
  std::vector<Diagnostic> findings;

  std::vector<const Diagnostic*> Of(Kind kind) const {
    std::vector<const Diagnostic*> out;
    for (const Diagnostic& d : findings) {
      if (d.kind == kind) out.push_back(&d);
    }
    return out;
  }
  std::string_view Text(const source::Span& span) const {
    return compilation->sources.file(span.file).Slice(span);
  }
  std::string Rendered() const { return diagnostics::RenderText(compilation->sources, findings); }
};

// Compiles `policy` (plus `extra` files beside it), requires that it checks
// without errors, and lints it with `config`.
Linted LintPolicy(const std::string& policy, const Config& config = {},
                  const std::vector<std::pair<std::string, std::string>>& extra = {}) {
  Linted linted;
  linted.dir = std::make_unique<TempDir>();
  for (const auto& [name, text] : extra) linted.dir->Write(name, text);
  std::string path = linted.dir->Write("policy.gov", policy);
  ErrorOr<std::unique_ptr<driver::Compilation>> compiled = driver::Compile(path);
  REQUIRE(compiled.ok());
  linted.compilation = std::move(compiled).value();
  driver::Compilation& c = *linted.compilation;
  INFO(diagnostics::RenderText(c.sources, c.diagnostics.diagnostics()));
  REQUIRE(!c.diagnostics.HasErrors());
  std::size_t before = c.diagnostics.diagnostics().size();
  Lint(c.program, c.sources, config, c.diagnostics);
  linted.findings.assign(c.diagnostics.diagnostics().begin() + static_cast<std::ptrdiff_t>(before),
                         c.diagnostics.diagnostics().end());
  return linted;
}

// A policy whose one rule is tested, so that GOV3010 stays quiet.
std::string Policy(const std::string& body, const std::string& tests) {
  return "policy p version \"1.0.0\"\n" + body + "\ntest \"t\" {\n" + tests + "\n}\n";
}

const Diagnostic& Single(const Linted& linted, Kind kind) {
  INFO(linted.Rendered());
  std::vector<const Diagnostic*> found = linted.Of(kind);
  REQUIRE(found.size() == 1);
  return *found[0];
}

void RequireNone(const Linted& linted, Kind kind) {
  INFO(linted.Rendered());
  REQUIRE(linted.Of(kind).empty());
}

// ---------------------------------------------------------------- GOV3001..GOV3004

TEST_CASE("GOV3001 reports a constant nothing uses", "[lint]") {
  Linted linted = LintPolicy(Policy("const git: path = \"/usr/bin/git\"\n"
                                    "const scratch_dirs: list<path> = [\"/tmp\"]\n"
                                    "allow run_git when program.path == git",
                                    "exec [\"/usr/bin/git\"] => allow by run_git"));
  const Diagnostic& d = Single(linted, Kind::kUnusedConst);
  CHECK(diagnostics::Info(d.kind).code == "GOV3001");
  CHECK(d.severity == Severity::kWarning);
  CHECK(d.message == "constant `scratch_dirs` is never used");
  CHECK(linted.Text(d.span) == "scratch_dirs");
}

TEST_CASE("GOV3001 is quiet when every constant is used", "[lint]") {
  Linted linted = LintPolicy(Policy("const git: path = \"/usr/bin/git\"\n"
                                    "allow run_git when program.path == git",
                                    "exec [\"/usr/bin/git\"] => allow by run_git"));
  RequireNone(linted, Kind::kUnusedConst);
}

TEST_CASE("GOV3001 counts a use by another unused constant as a use", "[lint]") {
  Linted linted = LintPolicy(Policy("const base: path = \"/usr\"\n"
                                    "const bin: path = base / \"bin\"\n"
                                    "allow run_git when program.path == \"/usr/bin/git\"",
                                    "exec [\"/usr/bin/git\"] => allow by run_git"));
  const Diagnostic& d = Single(linted, Kind::kUnusedConst);
  CHECK(linted.Text(d.span) == "bin");
}

TEST_CASE("GOV3002 reports a function nothing calls", "[lint]") {
  Linted linted = LintPolicy(Policy("def in_tmp(p: path): bool = p under \"/tmp\"\n"
                                    "allow run_git when program.path == \"/usr/bin/git\"",
                                    "exec [\"/usr/bin/git\"] => allow by run_git"));
  const Diagnostic& d = Single(linted, Kind::kUnusedDef);
  CHECK(diagnostics::Info(d.kind).code == "GOV3002");
  CHECK(d.message == "function `in_tmp` is never called");
  CHECK(linted.Text(d.span) == "in_tmp");
}

TEST_CASE("GOV3002 is quiet when the function is called", "[lint]") {
  Linted linted = LintPolicy(Policy("def in_tmp(p: path): bool = p under \"/tmp\"\n"
                                    "allow run_git when program.path == \"/usr/bin/git\" and in_tmp(cwd)",
                                    "exec [\"/usr/bin/git\"] cwd \"/tmp\" => allow by run_git"));
  RequireNone(linted, Kind::kUnusedDef);
}

const std::vector<std::pair<std::string, std::string>> kHelpers = {
    {"helpers.gov", "policy helpers version \"1.0.0\"\nconst tmp: path = \"/tmp\"\nconst unused_here: int = 1\n"}};

TEST_CASE("GOV3003 reports an import nothing uses", "[lint]") {
  Linted linted = LintPolicy(Policy("import \"helpers.gov\" as h\n"
                                    "allow run_git when program.path == \"/usr/bin/git\"",
                                    "exec [\"/usr/bin/git\"] => allow by run_git"),
                             {}, kHelpers);
  const Diagnostic& d = Single(linted, Kind::kUnusedImport);
  CHECK(diagnostics::Info(d.kind).code == "GOV3003");
  CHECK_THAT(d.message, Catch::Contains("imported as `h` but never used"));
  CHECK(linted.Text(d.span) == "\"helpers.gov\"");
  // Only the entry module is linted: the helper's unused constants are not reported.
  RequireNone(linted, Kind::kUnusedConst);
}

TEST_CASE("GOV3003 is quiet when the import is used", "[lint]") {
  Linted linted = LintPolicy(Policy("import \"helpers.gov\" as h\n"
                                    "allow run_git when program.path == \"/usr/bin/git\" and cwd under h.tmp",
                                    "exec [\"/usr/bin/git\"] cwd \"/tmp\" => allow by run_git"),
                             {}, kHelpers);
  RequireNone(linted, Kind::kUnusedImport);
}

TEST_CASE("GOV3004 reports a context field no expression reads", "[lint]") {
  // `team` gets a value in a test, but nothing in the policy reads it.
  Linted linted = LintPolicy(Policy("context {\n  ticket: string?\n  team: string?\n}\n"
                                    "allow run_git when program.path == \"/usr/bin/git\" and context.ticket != none",
                                    "exec [\"/usr/bin/git\"] context { ticket = \"T-1\", team = \"infra\" } "
                                    "=> allow by run_git"));
  const Diagnostic& d = Single(linted, Kind::kUnusedContextField);
  CHECK(diagnostics::Info(d.kind).code == "GOV3004");
  CHECK(d.message == "context field `team` is never read");
  CHECK(linted.Text(d.span) == "team");
}

TEST_CASE("GOV3004 counts reads in functions", "[lint]") {
  Linted linted = LintPolicy(Policy("context {\n  ticket: string?\n  team: string?\n}\n"
                                    "def infra(): bool = context.team == \"infra\"\n"
                                    "allow run_git when program.path == \"/usr/bin/git\" and context.ticket != none "
                                    "and infra()",
                                    "exec [\"/usr/bin/git\"] context { ticket = \"T-1\", team = \"infra\" } "
                                    "=> allow by run_git"));
  RequireNone(linted, Kind::kUnusedContextField);
}

// ---------------------------------------------------------------- GOV3005

TEST_CASE("GOV3005 reports the second rule of a name", "[lint]") {
  Linted linted = LintPolicy(Policy("allow git when program.path == \"/usr/bin/git\"\n"
                                    "deny git when program.path == \"/usr/bin/git\" and \"push\" in args",
                                    "exec [\"/usr/bin/git\", \"status\"] => allow by git"));
  const Diagnostic& d = Single(linted, Kind::kDuplicateRuleName);
  CHECK(diagnostics::Info(d.kind).code == "GOV3005");
  CHECK(d.severity == Severity::kError);
  CHECK_THAT(d.message, Catch::Contains("rule name `git` is already used"));
  CHECK(d.span.begin > d.notes.at(0).span.begin);
  CHECK(linted.Text(d.span) == "git");
  REQUIRE(d.notes.size() == 1);
  CHECK(linted.Text(d.notes[0].span) == "git");
}

TEST_CASE("GOV3005 is quiet when rule names differ", "[lint]") {
  Linted linted = LintPolicy(Policy("allow git when program.path == \"/usr/bin/git\"\n"
                                    "deny git_push when program.path == \"/usr/bin/git\" and \"push\" in args",
                                    "exec [\"/usr/bin/git\", \"status\"] => allow by git\n"
                                    "exec [\"/usr/bin/git\", \"push\"] => deny by git_push"));
  RequireNone(linted, Kind::kDuplicateRuleName);
}

// ---------------------------------------------------------------- GOV3006

TEST_CASE("GOV3006 reports a condition that folds to false", "[lint]") {
  Linted linted = LintPolicy(Policy("const enabled: bool = false\n"
                                    "allow run_git when enabled and program.path == \"/usr/bin/git\"",
                                    "exec [\"/usr/bin/git\"] => deny"));
  const Diagnostic& d = Single(linted, Kind::kConditionNeverTrue);
  CHECK(diagnostics::Info(d.kind).code == "GOV3006");
  CHECK(d.message == "the condition of rule `run_git` is always false, so the rule never fires");
  CHECK(linted.Text(d.span) == "enabled and program.path == \"/usr/bin/git\"");
  REQUIRE(d.notes.size() == 1);
  CHECK(linted.Text(d.notes[0].span) == "enabled");
}

TEST_CASE("GOV3006 reports two equality tests that contradict", "[lint]") {
  Linted linted = LintPolicy(Policy("deny odd when program.name == \"a\" and args[0] == \"x\" and program.name == \"b\"",
                                    "exec [\"/usr/bin/a\"] => deny"));
  const Diagnostic& d = Single(linted, Kind::kConditionNeverTrue);
  CHECK_THAT(d.message, Catch::Contains("`program.name` cannot be `\"a\"` and also `\"b\"`"));
  CHECK(linted.Text(d.span) == "program.name == \"b\"");
  REQUIRE(d.notes.size() == 1);
  CHECK(linted.Text(d.notes[0].span) == "program.name == \"a\"");
}

TEST_CASE("GOV3006 reports an equality test outside a membership test", "[lint]") {
  Linted linted = LintPolicy(Policy("deny odd when program.name in {\"cmake\", \"ninja\"} and (program.name == \"make\")",
                                    "exec [\"/usr/bin/make\"] => deny"));
  const Diagnostic& d = Single(linted, Kind::kConditionNeverTrue);
  CHECK_THAT(d.message, Catch::Contains("cannot be one of `{\"cmake\", \"ninja\"}` and also `\"make\"`"));
  CHECK(linted.Text(d.span) == "program.name == \"make\"");
}

TEST_CASE("GOV3006 reports tests that together leave no value", "[lint]") {
  Linted linted = LintPolicy(Policy("deny odd when args[0] in {\"a\", \"b\"} and args[0] in {\"b\", \"c\"} and "
                                    "args[0] in [\"a\", \"c\"]",
                                    "exec [\"/usr/bin/x\", \"b\"] => deny"));
  const Diagnostic& d = Single(linted, Kind::kConditionNeverTrue);
  CHECK(d.message == "rule `odd` never fires: no value of `args[0]` passes this test and the earlier ones");
  CHECK(linted.Text(d.span) == "args[0] in [\"a\", \"c\"]");
  REQUIRE(d.notes.size() == 2);
  CHECK(linted.Text(d.notes[0].span) == "args[0] in {\"a\", \"b\"}");
  CHECK(linted.Text(d.notes[1].span) == "args[0] in {\"b\", \"c\"}");
}

TEST_CASE("GOV3006 reports membership in an empty set", "[lint]") {
  Linted linted = LintPolicy(Policy("const approved: set<string> = {}\n"
                                    "allow run_git when program.path == \"/usr/bin/git\" and args[1] in approved",
                                    "exec [\"/usr/bin/git\"] => deny"));
  const Diagnostic& d = Single(linted, Kind::kConditionNeverTrue);
  CHECK_THAT(d.message, Catch::Contains("`approved` is empty"));
  CHECK(linted.Text(d.span) == "args[1] in approved");
}

TEST_CASE("GOV3006 is quiet for compatible tests and for `or`", "[lint]") {
  Linted linted = LintPolicy(Policy("deny a when program.name == \"make\" and program.name in {\"make\", \"ninja\"}\n"
                                    "deny b when program.name == \"a\" or program.name == \"b\"\n"
                                    "deny c when program.name == \"a\" and args[0] == \"b\"\n"
                                    "deny d when cwd == \"/w/\" and cwd == \"/w\"",
                                    "exec [\"/usr/bin/make\"] => deny by a\n"
                                    "exec [\"/usr/bin/b\"] => deny by b\n"
                                    "exec [\"/usr/bin/a\", \"b\"] => deny by c\n"
                                    "exec [\"/usr/bin/a\"] cwd \"/w\" => deny by d"));
  RequireNone(linted, Kind::kConditionNeverTrue);
}

// ---------------------------------------------------------------- GOV3007, GOV3012

TEST_CASE("GOV3007 reports an allow whose condition is always true", "[lint]") {
  Linted linted = LintPolicy(Policy("const open: bool = true\n"
                                    "allow everything when open or program.path == \"/usr/bin/git\"",
                                    "exec [\"/usr/bin/git\"] => allow by everything"));
  const Diagnostic& d = Single(linted, Kind::kAllowAlwaysTrue);
  CHECK(diagnostics::Info(d.kind).code == "GOV3007");
  CHECK(d.severity == Severity::kError);
  CHECK_THAT(d.message, Catch::Contains("allow rule `everything` is always true, so it allows every command"));
  CHECK(linted.Text(d.span) == "open or program.path == \"/usr/bin/git\"");
  CHECK_FALSE(d.help.empty());
}

TEST_CASE("GOV3007 is quiet for an allow that depends on the request", "[lint]") {
  Linted linted = LintPolicy(Policy("allow run_git when program.path == \"/usr/bin/git\"",
                                    "exec [\"/usr/bin/git\"] => allow by run_git"));
  RequireNone(linted, Kind::kAllowAlwaysTrue);
}

TEST_CASE("GOV3012 reports an ask whose condition is always true", "[lint]") {
  Linted linted = LintPolicy(Policy("ask everything when true", "exec [\"/usr/bin/git\"] => ask by everything"));
  const Diagnostic& d = Single(linted, Kind::kAskAlwaysTrue);
  CHECK(diagnostics::Info(d.kind).code == "GOV3012");
  CHECK(d.severity == Severity::kWarning);
  CHECK_THAT(d.message, Catch::Contains("ask rule `everything` is always true, so every command is asked"));
  CHECK(linted.Text(d.span) == "true");
}

TEST_CASE("GOV3012 is quiet for an ask that depends on the request", "[lint]") {
  Linted linted = LintPolicy(Policy("ask push when program.path == \"/usr/bin/git\" and args[1] == \"push\"",
                                    "exec [\"/usr/bin/git\", \"push\"] => ask by push"));
  RequireNone(linted, Kind::kAskAlwaysTrue);
}

// ---------------------------------------------------------------- GOV3008

TEST_CASE("GOV3008 reports an allow a deny covers", "[lint]") {
  Linted linted = LintPolicy(Policy("allow make_here when program.path == \"/usr/bin/make\" and cwd under \"/w\"\n"
                                    "deny no_make when program.path == \"/usr/bin/make\"",
                                    "exec [\"/usr/bin/make\"] cwd \"/w\" => deny by no_make\n"
                                    "exec [\"/usr/bin/true\"] => deny"));
  const Diagnostic& d = Single(linted, Kind::kAllowShadowedByDeny);
  CHECK(diagnostics::Info(d.kind).code == "GOV3008");
  CHECK(d.message == "allow rule `make_here` can never decide: deny rule `no_make` matches whenever it does");
  CHECK(linted.Text(d.span) == "make_here");
  REQUIRE(d.notes.size() == 1);
  CHECK(linted.Text(d.notes[0].span) == "no_make");
}

TEST_CASE("GOV3008 matches conjuncts in any order and through parentheses", "[lint]") {
  Linted linted = LintPolicy(Policy("allow a when program.path == \"/usr/bin/make\" and (cwd under \"/w\" and "
                                    "args[0] == \"all\")\n"
                                    "deny b when args[0] == \"all\" and program.path == \"/usr/bin/make\"\n"
                                    "deny c when cwd under \"/w\"",
                                    "exec [\"/usr/bin/make\"] cwd \"/w\" => deny by b, c"));
  const Diagnostic& d = Single(linted, Kind::kAllowShadowedByDeny);
  CHECK(linted.Text(d.span) == "a");
  REQUIRE(d.notes.size() == 2);
  CHECK(linted.Text(d.notes[0].span) == "b");
  CHECK(linted.Text(d.notes[1].span) == "c");
}

TEST_CASE("GOV3008 reports an allow when a deny is always true", "[lint]") {
  Linted linted = LintPolicy(Policy("allow run_git when program.path == \"/usr/bin/git\"\n"
                                    "deny everything when true",
                                    "exec [\"/usr/bin/git\"] => deny by everything"));
  const Diagnostic& d = Single(linted, Kind::kAllowShadowedByDeny);
  CHECK(linted.Text(d.span) == "run_git");
  REQUIRE(d.notes.size() == 1);
  CHECK(linted.Text(d.notes[0].span) == "everything");
}

TEST_CASE("GOV3008 is quiet when the deny is narrower than the allow", "[lint]") {
  Linted linted = LintPolicy(Policy("allow make_here when program.path == \"/usr/bin/make\"\n"
                                    "deny release when program.path == \"/usr/bin/make\" and \"release\" in args",
                                    "exec [\"/usr/bin/make\"] => allow by make_here\n"
                                    "exec [\"/usr/bin/make\", \"release\"] => deny by release"));
  RequireNone(linted, Kind::kAllowShadowedByDeny);
}

// ---------------------------------------------------------------- GOV3009

TEST_CASE("GOV3009 reports an allow that names the program only by `program.name`", "[lint]") {
  Linted linted = LintPolicy(Policy("allow build when program.name in {\"make\", \"cmake\"} and cwd under \"/w\"",
                                    "exec [\"/usr/bin/make\"] cwd \"/w\" => allow by build"));
  const Diagnostic& d = Single(linted, Kind::kProgramByNameOnly);
  CHECK(diagnostics::Info(d.kind).code == "GOV3009");
  CHECK(d.severity == Severity::kWarning);
  CHECK_THAT(d.message, Catch::Contains("any binary named `make` anywhere would match"));
  CHECK(linted.Text(d.span) == "program.name");
  CHECK_THAT(d.help, Catch::Contains("program.path == \"/usr/bin/make\"") &&
                         Catch::Contains("program.path under \"/usr/bin\""));
}

TEST_CASE("GOV3009 is quiet when the path is also checked, directly or in a function", "[lint]") {
  Linted linted = LintPolicy(Policy("def system_tool(): bool = program.path under \"/usr/bin\"\n"
                                    "allow a when program.name == \"make\" and program.path under \"/usr/bin\"\n"
                                    "allow b when program.name == \"ninja\" and system_tool()\n"
                                    "deny c when program.name == \"rm\"",
                                    "exec [\"/usr/bin/make\"] => allow by a\n"
                                    "exec [\"/usr/bin/ninja\"] => allow by b\n"
                                    "exec [\"/usr/bin/rm\"] => deny by c"));
  RequireNone(linted, Kind::kProgramByNameOnly);
}

TEST_CASE("GOV3009 reads `invoked` like `program`: its name alone is not enough, its path is", "[lint]") {
  Linted linted = LintPolicy(Policy("allow npm when invoked.name == \"npm\" and args[0] == \"test\"",
                                    "exec [\"/usr/bin/npm\", \"test\"] => allow by npm"));
  const Diagnostic& d = Single(linted, Kind::kProgramByNameOnly);
  CHECK_THAT(d.message, Catch::Contains("only by `invoked.name`: any binary named `npm` anywhere would match"));
  CHECK(linted.Text(d.span) == "invoked.name");
  CHECK_THAT(d.help,
             Catch::Contains("invoked.path == \"/usr/bin/npm\"") && Catch::Contains("invoked.path under \"/usr/bin\""));
  Linted pinned =
      LintPolicy(Policy("allow a when invoked.name == \"npm\" and invoked.path.parent == \"/usr/bin\"\n"
                        "allow b when invoked.name == \"npx\" and program.sha256 == \"sha256:" +
                            std::string(64, 'a') + "\"",
                        "exec [\"/usr/bin/npm\"] => allow by a\n"
                        "exec [\"/usr/bin/npx\"] sha256 \"sha256:" +
                            std::string(64, 'a') + "\" => allow by b"));
  RequireNone(pinned, Kind::kProgramByNameOnly);
}

TEST_CASE("the issue-2 agent policy lints with GOV3009 on `build` and GOV3016 on its two allows", "[lint]") {
  std::string path = std::string(GOV_SOURCE_DIR) + "/tests/golden/check/issue2_agent.gov";
  ErrorOr<std::unique_ptr<driver::Compilation>> compiled = driver::Compile(path);
  REQUIRE(compiled.ok());
  driver::Compilation& c = *compiled.value();
  REQUIRE(!c.diagnostics.HasErrors());
  Lint(c.program, c.sources, {}, c.diagnostics);
  INFO(diagnostics::RenderText(c.sources, c.diagnostics.diagnostics()));
  std::vector<const Diagnostic*> by_name, unconfined;
  for (const Diagnostic& d : c.diagnostics.diagnostics()) {
    if (d.kind == Kind::kProgramByNameOnly) by_name.push_back(&d);
    if (d.kind == Kind::kReadsUnconfined) unconfined.push_back(&d);
  }
  REQUIRE(c.diagnostics.diagnostics().size() == 3);
  REQUIRE(by_name.size() == 1);
  CHECK_THAT(by_name[0]->message, Catch::Contains("allow rule `build`") && Catch::Contains("named `make`"));
  REQUIRE(unconfined.size() == 2);
  CHECK_THAT(unconfined[0]->message, Catch::Contains("allow rule `git_read`"));
  CHECK_THAT(unconfined[1]->message, Catch::Contains("allow rule `build`"));
}

// ---------------------------------------------------------------- GOV3010

TEST_CASE("GOV3010 reports a rule no test names", "[lint]") {
  Linted linted = LintPolicy(Policy("allow run_git when program.path == \"/usr/bin/git\"\n"
                                    "deny git_push when program.path == \"/usr/bin/git\" and \"push\" in args",
                                    "exec [\"/usr/bin/git\", \"status\"] => allow by run_git\n"
                                    "exec [\"/usr/bin/git\", \"push\"] => deny"));
  const Diagnostic& d = Single(linted, Kind::kRuleNotTested);
  CHECK(diagnostics::Info(d.kind).code == "GOV3010");
  CHECK(d.message == "no test exercises rule `git_push`");
  CHECK(linted.Text(d.span) == "git_push");
  CHECK_THAT(d.help, Catch::Contains("=> deny by git_push"));
}

TEST_CASE("GOV3010 reports a policy without tests once, on its header", "[lint]") {
  Linted linted = LintPolicy("policy p version \"1.0.0\"\n"
                             "allow run_git when program.path == \"/usr/bin/git\"\n"
                             "deny rm when program.path == \"/usr/bin/rm\"\n");
  const Diagnostic& d = Single(linted, Kind::kRuleNotTested);
  CHECK(d.message == "policy `p` has no tests, so no test exercises its 2 rules");
  CHECK(linted.Text(d.span) == "policy p version \"1.0.0\"");
}

TEST_CASE("GOV3010 is quiet when every rule is named by a test", "[lint]") {
  Linted linted = LintPolicy(Policy("allow run_git when program.path == \"/usr/bin/git\"\n"
                                    "deny git_push when program.path == \"/usr/bin/git\" and \"push\" in args",
                                    "exec [\"/usr/bin/git\", \"status\"] => allow by run_git\n"
                                    "exec [\"/usr/bin/git\", \"push\"] => deny by git_push"));
  RequireNone(linted, Kind::kRuleNotTested);
}

// ---------------------------------------------------------------- GOV3011

TEST_CASE("GOV3011 reports a pattern that matches nothing", "[lint]") {
  Linted linted = LintPolicy(Policy("allow run_git when program.path == \"/usr/bin/git\" and "
                                    "args[1] matches r\"[^\\s\\S]\"",
                                    "exec [\"/usr/bin/git\", \"x\"] => deny"));
  const Diagnostic& d = Single(linted, Kind::kPatternMatchesNothing);
  CHECK(diagnostics::Info(d.kind).code == "GOV3011");
  CHECK(d.severity == Severity::kError);
  CHECK_THAT(d.message, Catch::Contains("can never match"));
  CHECK(linted.Text(d.span) == "r\"[^\\s\\S]\"");
}

TEST_CASE("GOV3011 is quiet for patterns that can match", "[lint]") {
  Linted linted = LintPolicy(Policy("const logs: glob = \"*.log\"\n"
                                    "allow run_git when program.path == \"/usr/bin/git\" and "
                                    "args[1] matches r\"[a-z]+\" and cwd matches logs",
                                    "exec [\"/usr/bin/git\", \"x\"] cwd \"/a.log\" => allow by run_git"));
  RequireNone(linted, Kind::kPatternMatchesNothing);
}

// ---------------------------------------------------------------- order and levels

TEST_CASE("lint findings come out in source order", "[lint]") {
  Linted linted = LintPolicy("policy p version \"1.0.0\"\n"
                             "const z: int = 1\n"
                             "const a: int = 2\n"
                             "def f(): bool = true\n"
                             "allow x when program.name == \"x\"\n");
  REQUIRE(linted.findings.size() >= 4);
  for (std::size_t i = 1; i < linted.findings.size(); ++i) {
    CHECK(linted.findings[i - 1].span.begin <= linted.findings[i].span.begin);
  }
}

TEST_CASE("config levels drop, demote and promote lints", "[lint]") {
  std::string policy = Policy("const unused: int = 1\n"
                              "allow build when program.name == \"make\"\n"
                              "allow anything when true\n"
                              "deny rm when program.path == \"/usr/bin/rm\"",
                              "exec [\"/usr/bin/make\"] => allow by build");
  Config config;
  config.levels[Kind::kUnusedConst] = Level::kOff;
  config.levels[Kind::kRuleNotTested] = Level::kError;
  config.levels[Kind::kAllowAlwaysTrue] = Level::kWarning;
  Linted linted = LintPolicy(policy, config);
  RequireNone(linted, Kind::kUnusedConst);
  std::vector<const Diagnostic*> untested = linted.Of(Kind::kRuleNotTested);
  REQUIRE(untested.size() == 2);
  for (const Diagnostic* d : untested) CHECK(d->severity == Severity::kError);
  CHECK(Single(linted, Kind::kAllowAlwaysTrue).severity == Severity::kWarning);
  // Unmentioned codes keep their registry default.
  CHECK(Single(linted, Kind::kProgramByNameOnly).severity == Severity::kWarning);

  Linted defaults = LintPolicy(policy);
  CHECK(Single(defaults, Kind::kUnusedConst).severity == Severity::kWarning);
  CHECK(Single(defaults, Kind::kAllowAlwaysTrue).severity == Severity::kError);
}

// ---------------------------------------------------------------- gov.toml

struct ParsedConfig {
  source::SourceManager sources;
  diagnostics::Collector diagnostics;
  Config config;

  std::string_view Text(const source::Span& span) const { return sources.file(span.file).Slice(span); }
  std::string Rendered() const { return diagnostics::RenderText(sources, diagnostics.diagnostics()); }
};

std::unique_ptr<ParsedConfig> Parse(const std::string& text) {
  auto parsed = std::make_unique<ParsedConfig>();
  source::FileId id = parsed->sources.Add("gov.toml", text);
  parsed->config = ParseConfig(parsed->sources, id, parsed->diagnostics);
  return parsed;
}

const Diagnostic& SingleConfigError(const ParsedConfig& parsed, Kind kind) {
  INFO(parsed.Rendered());
  REQUIRE(parsed.diagnostics.diagnostics().size() == 1);
  const Diagnostic& d = parsed.diagnostics.diagnostics()[0];
  REQUIRE(d.kind == kind);
  CHECK(d.severity == Severity::kError);
  return d;
}

TEST_CASE("gov.toml sets levels by code and by name", "[lint]") {
  auto parsed = Parse("# project lint levels\n"
                      "[lint]\n"
                      "GOV3010 = \"off\"          # by code\n"
                      "UnusedConst = \"error\"    # or by registry name\n"
                      "ProgramByNameOnly = 'warning'\n");
  INFO(parsed->Rendered());
  CHECK(parsed->diagnostics.diagnostics().empty());
  CHECK(parsed->config.path == "gov.toml");
  CHECK(parsed->config.levels ==
        std::map<Kind, Level>{{Kind::kRuleNotTested, Level::kOff},
                              {Kind::kUnusedConst, Level::kError},
                              {Kind::kProgramByNameOnly, Level::kWarning}});
  CHECK(LevelFor(parsed->config, Kind::kRuleNotTested) == Level::kOff);
  CHECK(LevelFor(parsed->config, Kind::kAllowAlwaysTrue) == Level::kError);
  CHECK(LevelFor(parsed->config, Kind::kUnusedDef) == Level::kWarning);
}

TEST_CASE("an empty gov.toml configures nothing", "[lint]") {
  auto parsed = Parse("");
  CHECK(parsed->diagnostics.diagnostics().empty());
  CHECK(parsed->config.levels.empty());
}

TEST_CASE("GOV4001 points at toml++'s error position", "[lint]") {
  auto parsed = Parse("[lint]\nGOV3010 = \"off\" junk\n");
  const Diagnostic& d = SingleConfigError(*parsed, Kind::kConfigSyntax);
  CHECK_THAT(d.message, Catch::StartsWith("gov.toml is not valid TOML: "));
  CHECK(parsed->Text(d.span) == "j");
  CHECK(parsed->sources.file(d.span.file).Locate(d.span.begin).line == 2);
  CHECK(parsed->sources.file(d.span.file).Locate(d.span.begin).column == 17);
  CHECK(parsed->config.levels.empty());
}

TEST_CASE("GOV4001 for a table header whose key starts with no key character", "[lint]") {
  // toml++ 3.3 asserted this could not happen (runtime/support/toml.h).
  for (const char* text : {"[ +\"lint\"]\n", "[[[1]]]\n", "[[=\n"}) {
    INFO(text);
    auto parsed = Parse(text);
    const Diagnostic& d = SingleConfigError(*parsed, Kind::kConfigSyntax);
    CHECK_THAT(d.message, Catch::StartsWith("gov.toml is not valid TOML: "));
  }
}

TEST_CASE("GOV4001 at the end of a line has an empty span there", "[lint]") {
  auto parsed = Parse("[lint\nGOV3010 = \"off\"\n");
  const Diagnostic& d = SingleConfigError(*parsed, Kind::kConfigSyntax);
  CHECK_THAT(d.message, Catch::Contains("expected ']'") && Catch::Contains("table header"));
  CHECK(d.span.begin == 5);
  CHECK(parsed->Text(d.span).empty());
}

TEST_CASE("GOV3015 names each included module whose `default ask` the includer overrules", "[lint]") {
  const std::vector<std::pair<std::string, std::string>> modules = {
      {"inner.gov",
       "policy inner version \"1.0.0\"\ndefault ask because \"inner asks\"\n"
       "allow ls when program.name == \"ls\" because \"listing\"\n"},
      {"outer.gov",
       "policy outer version \"1.0.0\"\nimport \"inner.gov\" as inner with rules\n"
       "allow cat when program.name == \"cat\" because \"reading\"\n"},
      {"plain.gov", "policy plain version \"1.0.0\"\nallow pwd when program.name == \"pwd\" because \"where\"\n"}};
  // Through a module that includes it in turn: reported at this policy's import.
  const Linted linted =
      LintPolicy(Policy("import \"outer.gov\" as outer with rules\nimport \"plain.gov\" as plain with rules",
                        "exec [\"/bin/ls\"] => allow by outer.inner.ls\n"
                        "exec [\"/bin/cat\"] => allow by outer.cat\n"
                        "exec [\"/bin/pwd\"] => allow by plain.pwd"),
                 {}, modules);
  const Diagnostic& d = Single(linted, Kind::kIncludedDefaultIgnored);
  CHECK(linted.Text(d.span) == "with rules");
  CHECK(d.message ==
        "policy `inner` says `default ask`, which does not apply here: a request no rule decides is denied by this "
        "policy's default");
  // An includer that asks by default asks for those requests too: nothing to say.
  RequireNone(LintPolicy(Policy("import \"outer.gov\" as outer with rules\ndefault ask because \"ask\"",
                                "exec [\"/bin/ls\"] => allow by outer.inner.ls\n"
                                "exec [\"/bin/cat\"] => allow by outer.cat"),
                         {}, modules),
              Kind::kIncludedDefaultIgnored);
  // Imported for its constants and functions only: its default is not in play.
  RequireNone(LintPolicy(Policy("import \"inner.gov\" as inner\nallow x when program.name == \"x\" because \"x\"",
                                "exec [\"/bin/x\"] => allow by x"),
                         {}, modules),
              Kind::kIncludedDefaultIgnored);
}

TEST_CASE("GOV4001 columns count code points", "[lint]") {
  auto parsed = Parse("# é\n[lint]\nGOV3010 = \"é\" é\n");
  const Diagnostic& d = SingleConfigError(*parsed, Kind::kConfigSyntax);
  CHECK(parsed->Text(d.span) == "é");
}

TEST_CASE("GOV4002 reports an unknown code with the nearest lint", "[lint]") {
  auto parsed = Parse("[lint]\nUnusedConstant = \"off\"\n");
  const Diagnostic& d = SingleConfigError(*parsed, Kind::kConfigUnknownCode);
  CHECK(d.message == "unknown lint `UnusedConstant`");
  CHECK(parsed->Text(d.span) == "UnusedConstant");
  CHECK(d.help == "did you mean `UnusedConst` (`GOV3001`)?");
  CHECK(parsed->config.levels.empty());
}

TEST_CASE("GOV4002 for an unknown code lists the lint codes", "[lint]") {
  auto parsed = Parse("[lint]\nGOV3999 = \"off\"\n");
  const Diagnostic& d = SingleConfigError(*parsed, Kind::kConfigUnknownCode);
  CHECK(parsed->Text(d.span) == "GOV3999");
  CHECK_THAT(d.help, Catch::Contains("`GOV3001` to `GOV3016`"));
}

TEST_CASE("GOV4002 is the only problem of an unknown key with a bad value", "[lint]") {
  auto parsed = Parse("[lint.unused]\nlevel = \"off\"\n");
  const Diagnostic& d = SingleConfigError(*parsed, Kind::kConfigUnknownCode);
  CHECK(parsed->Text(d.span) == "unused");
}

TEST_CASE("GOV4002 says checker errors can't be turned off", "[lint]") {
  auto parsed = Parse("[lint]\nTypeMismatch = \"off\"\n");
  const Diagnostic& d = SingleConfigError(*parsed, Kind::kConfigUnknownCode);
  CHECK_THAT(d.message, Catch::Contains("`GOV2005`") && Catch::Contains("checker errors can't be turned off"));
  CHECK(parsed->Text(d.span) == "TypeMismatch");
  CHECK(parsed->config.levels.empty());
}

TEST_CASE("GOV4003 reports an invalid level", "[lint]") {
  auto parsed = Parse("[lint]\nGOV3010 = \"loud\"\nGOV3001 = \"off\"\n");
  const Diagnostic& d = SingleConfigError(*parsed, Kind::kConfigInvalidLevel);
  CHECK(d.message == "invalid level `\"loud\"` for `GOV3010`");
  CHECK(parsed->Text(d.span) == "\"loud\"");
  // The valid entry still applies: the configuration is partial, not empty.
  CHECK(parsed->config.levels == std::map<Kind, Level>{{Kind::kUnusedConst, Level::kOff}});
}

TEST_CASE("GOV4003 reports a level that is not a string", "[lint]") {
  auto parsed = Parse("[lint]\nGOV3010 = 0\n");
  const Diagnostic& d = SingleConfigError(*parsed, Kind::kConfigInvalidLevel);
  CHECK_THAT(d.message, Catch::Contains("must be a string, found an integer"));
  CHECK(parsed->Text(d.span) == "0");
}

TEST_CASE("GOV4003 suggests lower case", "[lint]") {
  auto parsed = Parse("[lint]\nGOV3010 = \"Warning\"\n");
  const Diagnostic& d = SingleConfigError(*parsed, Kind::kConfigInvalidLevel);
  CHECK(d.help == "levels are lower-case: write `\"warning\"`");
}

TEST_CASE("GOV4004 reports an unknown table", "[lint]") {
  auto parsed = Parse("[lint]\nGOV3010 = \"off\"\n\n[format]\nwidth = 100\n");
  const Diagnostic& d = SingleConfigError(*parsed, Kind::kConfigUnknownKey);
  CHECK(d.message == "unknown table `[format]` in gov.toml");
  CHECK(parsed->Text(d.span) == "format");
  CHECK(parsed->config.levels.size() == 1);
}

TEST_CASE("GOV4004 reports an unknown top-level key", "[lint]") {
  auto parsed = Parse("verbose = true\n[lint]\n");
  const Diagnostic& d = SingleConfigError(*parsed, Kind::kConfigUnknownKey);
  CHECK(d.message == "unknown key `verbose` in gov.toml");
  CHECK(parsed->Text(d.span) == "verbose");
}

TEST_CASE("GOV4004 reports a lint configured by code and by name", "[lint]") {
  auto parsed = Parse("[lint]\nGOV3001 = \"off\"\nUnusedConst = \"error\"\n");
  const Diagnostic& d = SingleConfigError(*parsed, Kind::kConfigUnknownKey);
  CHECK(parsed->Text(d.span) == "UnusedConst");
  REQUIRE(d.notes.size() == 1);
  CHECK(parsed->Text(d.notes[0].span) == "GOV3001");
  CHECK(parsed->config.levels == std::map<Kind, Level>{{Kind::kUnusedConst, Level::kOff}});
}

TEST_CASE("problems in gov.toml render with carets", "[lint]") {
  auto parsed = Parse("[lint]\nGOV3010 = \"loud\"\n");
  CHECK(parsed->Rendered() ==
        "gov.toml:2:11: error[GOV4003]: invalid level `\"loud\"` for `GOV3010`\n"
        "    2 | GOV3010 = \"loud\"\n"
        "      |           ^^^^^^\n"
        "help: levels are `\"off\"`, `\"warning\"` and `\"error\"`\n");
}

TEST_CASE("a parsed gov.toml drives Lint", "[lint]") {
  auto parsed = Parse("[lint]\nGOV3010 = \"off\"\nProgramByNameOnly = \"error\"\n");
  REQUIRE(parsed->diagnostics.diagnostics().empty());
  Linted linted = LintPolicy("policy p version \"1.0.0\"\nallow build when program.name == \"make\"\n",
                             parsed->config);
  RequireNone(linted, Kind::kRuleNotTested);
  CHECK(Single(linted, Kind::kProgramByNameOnly).severity == Severity::kError);
}

// ---------------------------------------------------------------- FindConfig

TEST_CASE("FindConfig looks in the policy's directory and its parents", "[lint]") {
  TempDir dir;
  std::string policy = dir.Write("a/b/c/policy.gov", "policy p\n");
  std::string config = dir.Write("a/gov.toml", "[lint]\n");
  CHECK(fs::equivalent(FindConfig(policy), config));
  // A directory is searched itself.
  CHECK(fs::equivalent(FindConfig((dir.path() / "a" / "b").string()), config));
  // The nearest one wins.
  std::string nearer = dir.Write("a/b/c/gov.toml", "[lint]\n");
  CHECK(fs::equivalent(FindConfig(policy), nearer));
}

TEST_CASE("FindConfig keeps relative paths relative", "[lint]") {
  TempDir dir;
  dir.Write("p/policy.gov", "policy p\n");
  std::string config = dir.Write("gov.toml", "[lint]\n");
  fs::path relative_policy = fs::relative(dir.path() / "p" / "policy.gov", fs::current_path());
  REQUIRE(relative_policy.is_relative());
  std::string found = FindConfig(relative_policy.string());
  CHECK(fs::path(found).is_relative());
  CHECK(fs::equivalent(found, config));
}

TEST_CASE("FindConfig finds nothing without a gov.toml", "[lint]") {
  TempDir dir;
  std::string policy = dir.Write("a/policy.gov", "policy p\n");
  std::string found = FindConfig(policy);
  // A gov.toml above the temp directory is not ours to control; none may be below it.
  if (!found.empty()) CHECK(fs::path(found).parent_path().string().find(dir.path().string()) == std::string::npos);
  CHECK(FindConfig("").empty());
}

// ---------------------------------------------------------------- GOV3016

TEST_CASE("GOV3016 names each allow that does not confine reads, by its own `with` or the defaults", "[lint]") {
  Linted linted =
      LintPolicy(Policy("allow open_reads when program.path == \"/usr/bin/cat\" with { timeout = 1m }\n"
                        "allow no_with when program.path == \"/usr/bin/ls\"\n"
                        "allow confined when program.path == \"/usr/bin/grep\" with { read = [\"/work\"] }\n"
                        "ask asked when program.path == \"/usr/bin/sh\" because \"a person reads it\"\n",
                        "exec [\"/usr/bin/cat\"] => allow by open_reads\nexec [\"/usr/bin/ls\"] => allow by no_with\n"
                        "exec [\"/usr/bin/grep\"] => allow by confined\nexec [\"/usr/bin/sh\"] => ask by asked"));
  INFO(linted.Rendered());
  const std::vector<const Diagnostic*> found = linted.Of(Kind::kReadsUnconfined);
  REQUIRE(found.size() == 2);
  CHECK(diagnostics::Info(found[0]->kind).code == "GOV3016");
  CHECK(found[0]->severity == Severity::kWarning);
  CHECK(linted.Text(found[0]->span) == "open_reads");
  CHECK_THAT(found[0]->message, Catch::Contains("read every file its user can"));
  CHECK_THAT(found[0]->help, Catch::StartsWith("add `read = [...]` to its `with`"));
  CHECK(linted.Text(found[1]->span) == "no_with");
  CHECK_THAT(found[1]->help, Catch::Contains("`default with`"));
}

TEST_CASE("GOV3016 is quiet when `default with` confines reads for rules without a `with`", "[lint]") {
  Linted linted =
      LintPolicy(Policy("default with { read = [\"/work\", \"/usr\"] }\n"
                        "allow ls when program.path == \"/usr/bin/ls\"\n",
                        "exec [\"/usr/bin/ls\"] => allow by ls"));
  RequireNone(linted, Kind::kReadsUnconfined);
  // A rule that writes its own `with` opts out of the defaults, and is named.
  Linted own =
      LintPolicy(Policy("default with { read = [\"/work\"] }\n"
                        "allow ls when program.path == \"/usr/bin/ls\" with { timeout = 1m }\n",
                        "exec [\"/usr/bin/ls\"] => allow by ls"));
  CHECK(own.Text(Single(own, Kind::kReadsUnconfined).span) == "ls");
}

}  // namespace
}  // namespace gov::lint
