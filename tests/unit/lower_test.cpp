// Unit tests of the lowering (compiler/lower): the IR shape of
// the issue-2 agent policy (tests/golden/check/issue2_agent.gov) (rules, obligations, indexes, context), structural
// properties (constant folding, hash-consing, def inlining, slots, the size
// limit), test cases turned into requests, and — with the IR interpreter —
// the first end-to-end semantic tests of the language: agent.gov's own test
// cases and a table of small policies, each decided with and without the
// rule index.
#include "compiler/lower/lower.h"

#include <stdlib.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "compiler/diagnostics/diagnostic.h"
#include "compiler/driver/driver.h"
#include "runtime/interp/interp.h"
#include "runtime/ir/ir.h"
#include "runtime/request/request.h"
#include "tests/unit/test_support.h"

namespace gov::lower {
namespace {

namespace fs = std::filesystem;
using testing::TempDir;

// A policy compiled, checked and lowered.
struct Lowered {
  std::unique_ptr<driver::Compilation> compilation;
  diagnostics::Collector diagnostics;  // lowering's own diagnostics
  ir::Policy policy;
};

std::unique_ptr<Lowered> LowerFile(const std::string& path) {
  auto out = std::make_unique<Lowered>();
  ErrorOr<std::unique_ptr<driver::Compilation>> compiled = driver::Compile(path);
  REQUIRE(compiled.ok());
  out->compilation = std::move(compiled).value();
  driver::Compilation& c = *out->compilation;
  INFO(diagnostics::RenderText(c.sources, c.diagnostics.diagnostics()));
  REQUIRE(!c.diagnostics.HasErrors());
  out->policy = Lower(c.program, out->diagnostics);
  return out;
}

// Lowers `text` (a whole policy file) and requires a clean, valid result.
std::unique_ptr<Lowered> LowerText(const std::string& text) {
  TempDir dir;
  std::unique_ptr<Lowered> lowered = LowerFile(dir.Write("policy.gov", text));
  INFO(text);
  INFO(diagnostics::RenderText(lowered->compilation->sources, lowered->diagnostics.diagnostics()));
  REQUIRE(lowered->diagnostics.diagnostics().empty());
  REQUIRE(ir::Validate(lowered->policy) == "");
  return lowered;
}

std::string WithHeader(const std::string& body) {
  return "policy t version \"1.0.0\"\n" + body + "\n";
}

const ir::Rule& RuleNamed(const ir::Policy& policy, const std::string& name) {
  for (const ir::Rule& rule : policy.rules) {
    if (rule.name == name) return rule;
  }
  FAIL("no rule " << name);
  return policy.rules.front();
}

// A decision as names, checked to be the same with and without the index.
struct Outcome {
  std::string verdict;
  std::vector<std::string> rules;             // the deciding rules
  std::vector<std::string> obligation_rules;  // an ask's matching allow rules
  std::uint32_t error = GOV_OK;
  gov_decision decision{};
};

Outcome Decide(const ir::Policy& policy, const request::Request& request) {
  ErrorOr<interp::PreparedPolicy> prepared = interp::PreparedPolicy::Create(policy);
  if (!prepared.ok()) FAIL(prepared.error().message);
  request::RequestView view(request);
  Outcome out;
  gov_decision unindexed{};
  interp::DecideOptions no_index;
  no_index.use_index = false;
  interp::Decide(prepared.value(), view.get(), out.decision);
  interp::Decide(prepared.value(), view.get(), unindexed, no_index);
  REQUIRE(interp::SameDecision(out.decision, unindexed));
  out.verdict = interp::VerdictName(out.decision.verdict);
  out.error = out.decision.error;
  for (std::uint32_t i = 0; i < out.decision.rule_count; ++i) {
    (i < out.decision.deciding_count ? out.rules : out.obligation_rules)
        .push_back(policy.rules[out.decision.rules[i]].name);
  }
  return out;
}

// A request for `argv` with the test defaults.
request::Request RequestFor(const std::vector<std::string>& argv) {
  request::Request r;
  r.program_path = argv.at(0);
  r.argv0 = argv.at(0);
  r.program_name = fs::path(argv[0]).filename().string();
  r.args.assign(argv.begin() + 1, argv.end());
  return r;
}

// ---------------------------------------------------------------- agent.gov

TEST_CASE("agent.gov lowers to the expected rules, obligations and indexes", "[lower]") {
  std::unique_ptr<Lowered> lowered = LowerFile(std::string(GOV_SOURCE_DIR) + "/tests/golden/check/issue2_agent.gov");
  REQUIRE(lowered->diagnostics.diagnostics().empty());
  const ir::Policy& policy = lowered->policy;
  REQUIRE(ir::Validate(policy) == "");
  CHECK(policy.name == "agent");
  CHECK(policy.version == "1.0.0");

  REQUIRE(policy.rules.size() == 5);
  std::vector<std::string> names;
  for (const ir::Rule& rule : policy.rules) names.push_back(rule.name);
  CHECK(names == std::vector<std::string>{"git_read", "build", "git_push", "delete_outside", "release_without_ticket"});
  CHECK(policy.rules[0].verdict == ir::Verdict::kAllow);
  CHECK(policy.rules[1].verdict == ir::Verdict::kAllow);
  CHECK(policy.rules[2].verdict == ir::Verdict::kAsk);
  CHECK(policy.rules[3].verdict == ir::Verdict::kDeny);
  CHECK(policy.rules[4].verdict == ir::Verdict::kDeny);
  CHECK(policy.rules[0].reason == "read-only git");
  CHECK(policy.rules[1].reason.empty());
  CHECK(policy.rules[3].reason == "deletes outside the workspace");

  CHECK(RuleNamed(policy, "git_read").index == ir::RuleIndex{{"/usr/bin/git"}, {}});
  CHECK(RuleNamed(policy, "build").index == ir::RuleIndex{{}, {"cmake", "make", "ninja"}});
  CHECK(RuleNamed(policy, "git_push").index == ir::RuleIndex{{"/usr/bin/git"}, {}});
  CHECK(RuleNamed(policy, "delete_outside").index == ir::RuleIndex{{}, {"rm"}});
  CHECK(RuleNamed(policy, "release_without_ticket").index == ir::RuleIndex{{}, {"make"}});

  ir::Obligations build;
  build.timeout_ms = 600'000;
  build.memory_bytes = 4LL << 30;
  build.processes = 256;
  build.network = ir::Network::kNone;
  build.has_write = true;
  build.write = {"/tmp", "/work/repo"};
  CHECK(RuleNamed(policy, "build").obligations == build);
  CHECK(RuleNamed(policy, "git_read").obligations == ir::Obligations{});

  REQUIRE(policy.context.size() == 1);
  CHECK(policy.context[0].name == "ticket");
  CHECK(policy.context[0].kind == ir::Kind::kStr);
  CHECK(policy.context[0].optional);
  CHECK(policy.context[0].spelling == ir::ContextField::Spelling::kString);

  // One quantifier (delete_outside), one slot; the shared `program.path ==
  // "/usr/bin/git"` test is one node used by two rules.
  CHECK(policy.local_slots == 1);
  const ir::Node& git_read = policy.nodes[policy.rules[0].condition];
  const ir::Node& git_push = policy.nodes[policy.rules[2].condition];
  REQUIRE(git_read.op == ir::Op::kAnd);
  REQUIRE(git_push.op == ir::Op::kAnd);
  CHECK(policy.operands[git_read.a] == policy.operands[git_push.a]);
  // Pools hold each constant once.
  CHECK(std::count(policy.strings.begin(), policy.strings.end(), "/usr/bin/git") == 1);
  CHECK(std::count(policy.strings.begin(), policy.strings.end(), "/work/repo") == 1);
  // Lowering is deterministic.
  diagnostics::Collector again;
  CHECK(Lower(lowered->compilation->program, again) == policy);
}

TEST_CASE("agent.gov's test cases pass under the interpreter", "[lower]") {
  std::unique_ptr<Lowered> lowered = LowerFile(std::string(GOV_SOURCE_DIR) + "/tests/golden/check/issue2_agent.gov");
  std::vector<LoweredTest> tests = LowerTests(lowered->compilation->program);
  REQUIRE(tests.size() == 7);
  for (const LoweredTest& test : tests) {
    CHECK(test.block == "agent basics");
    Outcome outcome = Decide(lowered->policy, test.request);
    INFO(test.request.program_path << " " << (test.request.args.empty() ? "" : test.request.args[0]));
    CHECK(outcome.decision.verdict == static_cast<std::uint32_t>(test.expected));
    CHECK(outcome.error == GOV_OK);
    if (!test.by_rules.empty()) {
      std::vector<std::uint32_t> rules(outcome.decision.rules,
                                       outcome.decision.rules + outcome.decision.deciding_count);
      CHECK(rules == test.by_rules);
    }
  }
  // The release case: a deny by release_without_ticket (rule 4).
  CHECK(tests[4].by_rules == std::vector<std::uint32_t>{4});
  CHECK(tests[4].by_names == std::vector<std::string>{"release_without_ticket"});
  CHECK(tests[5].request.context.size() == 1);
  CHECK(tests[5].request.context[0].present);
  CHECK(tests[5].request.context[0].text == "CHG-1");
}

// ---------------------------------------------------------------- test cases → requests

TEST_CASE("LowerTests fills the documented defaults and applies modifiers", "[lower]") {
  std::unique_ptr<Lowered> lowered =
      LowerText(WithHeader("context {\n  n: int?\n  flag: bool\n  dir: path?\n}\n"
                           "allow r when context.flag == true\n"
                           "test \"defaults\" {\n"
                           "  exec [\"/usr/../bin/tool\", \"a\", \"b\"] context { flag = true } => allow by r\n"
                           "  exec [\"/bin/x\"] cwd \"/w/./x/\" env { HOME = \"/h\", A = \"1\" } host \"h1\" "
                           "sha256 \"sha256:" +
                           std::string(64, 'a') +
                           "\" time \"2026-11-28T09:30:00Z\" "
                           "user { name = \"ci\", groups = {\"wheel\", \"docker\"} } parent { depth = 3 } "
                           "context { flag = false, n = 7, dir = \"/a/b/..\" } => deny\n"
                           "  exec [\"/bin/x\"] time 1795858200 context { flag = true } => allow by r\n"
                           "}"));
  std::vector<LoweredTest> tests = LowerTests(lowered->compilation->program);
  REQUIRE(tests.size() == 3);
  const request::Request& d = tests[0].request;
  CHECK(d.program_path == "/bin/tool");
  CHECK(d.program_name == "tool");
  CHECK(d.invoked_path == "/bin/tool");
  CHECK(d.argv0 == "/usr/../bin/tool");
  CHECK(d.args == std::vector<std::string>{"a", "b"});
  CHECK(d.cwd == "/");
  CHECK(d.env.empty());
  CHECK(d.user_name == "user");
  CHECK(d.uid == 1000);
  CHECK(d.gid == 1000);
  CHECK(d.groups.empty());
  CHECK(d.host == "localhost");
  CHECK(d.time_unix == 1767268800);
  CHECK(d.program_sha256 == "sha256:" + std::string(64, '0'));
  CHECK_FALSE(d.has_parent);
  REQUIRE(d.context.size() == 3);
  CHECK_FALSE(d.context[0].present);
  CHECK(d.context[1].present);
  CHECK(d.context[1].number == 1);
  CHECK_FALSE(d.context[2].present);
  CHECK(tests[0].expected == ir::Verdict::kAllow);
  CHECK(tests[0].by_rules == std::vector<std::uint32_t>{0});

  const request::Request& m = tests[1].request;
  CHECK(m.cwd == "/w/x");
  CHECK(m.env == std::vector<std::pair<std::string, std::string>>{{"HOME", "/h"}, {"A", "1"}});
  CHECK(m.host == "h1");
  CHECK(m.program_sha256 == "sha256:" + std::string(64, 'a'));
  CHECK(m.time_unix == 1795858200);
  CHECK(m.user_name == "ci");
  CHECK(m.uid == 1000);
  CHECK(m.groups == std::vector<std::string>{"docker", "wheel"});
  CHECK(m.has_parent);
  CHECK(m.parent_depth == 3);
  CHECK(m.parent_run_id == "test-parent");
  CHECK(m.parent_program == "/");
  CHECK(m.context[0].present);
  CHECK(m.context[0].number == 7);
  CHECK(m.context[1].present);
  CHECK(m.context[1].number == 0);
  CHECK(m.context[2].text == "/a");
  CHECK(tests[1].expected == ir::Verdict::kDeny);
  CHECK(tests[1].by_rules.empty());
  CHECK(tests[2].request.time_unix == 1795858200);

  for (const LoweredTest& test : tests) {
    Outcome outcome = Decide(lowered->policy, test.request);
    CHECK(outcome.decision.verdict == static_cast<std::uint32_t>(test.expected));
  }
}

TEST_CASE("LowerTests: `via` is the file that runs, `argv0` the spelling, the exec path the invoked one", "[lower]") {
  std::unique_ptr<Lowered> lowered = LowerText(
      WithHeader("allow npm when invoked.name == \"npm\" and program.name == \"npm-cli.js\" and argv0 == \"npm\"\n"
                 "allow app when invoked.path == \"/w/build/app\" and program.path == \"/w/build/app\"\n"
                 "test \"invoked\" {\n"
                 "  exec [\"/usr//bin/npm\", \"test\"] via \"/usr/lib/node_modules/npm/bin/./npm-cli.js\" "
                 "argv0 \"npm\" => allow by npm\n"
                 "  exec [\"/usr/bin/npm\"] via \"/usr/lib/node_modules/npm/bin/npm-cli.js\" => deny\n"
                 "  exec [\"/w/build/app\"] argv0 \"./build/app\" cwd \"/w\" => allow by app\n"
                 "}"));
  std::vector<LoweredTest> tests = LowerTests(lowered->compilation->program);
  REQUIRE(tests.size() == 3);
  const request::Request& npm = tests[0].request;
  CHECK(npm.invoked_path == "/usr/bin/npm");
  CHECK(npm.program_path == "/usr/lib/node_modules/npm/bin/npm-cli.js");
  CHECK(npm.program_name == "npm-cli.js");
  CHECK(npm.argv0 == "npm");
  CHECK(tests[1].request.argv0 == "/usr/bin/npm");
  CHECK(tests[2].request.invoked_path == "/w/build/app");
  CHECK(tests[2].request.program_path == "/w/build/app");
  CHECK(tests[2].request.argv0 == "./build/app");
  for (const LoweredTest& test : tests) {
    Outcome outcome = Decide(lowered->policy, test.request);
    CHECK(outcome.decision.verdict == static_cast<std::uint32_t>(test.expected));
  }
}

// ---------------------------------------------------------------- structure

TEST_CASE("constant expressions become single constant nodes", "[lower]") {
  std::unique_ptr<Lowered> lowered = LowerText(WithHeader(
      "const base: path = \"/opt/../usr\"\n"
      "const names: set<string> = {\"b\", \"a\", \"b\"}\n"
      "allow r when program.path == base / \"bin\" / \"git\" and args[0] in names and len(names) + 1 == len(args)"));
  const ir::Policy& policy = lowered->policy;
  REQUIRE(policy.rules.size() == 1);
  CHECK(policy.rules[0].index == ir::RuleIndex{{"/usr/bin/git"}, {}});
  CHECK(std::find(policy.strings.begin(), policy.strings.end(), "/usr/bin/git") != policy.strings.end());
  REQUIRE(policy.str_lists.size() == 1);
  CHECK(policy.str_lists[0] == std::vector<std::string>{"a", "b"});
  // The folded `len(names) + 1` is the constant 3: no arithmetic node remains.
  for (const ir::Node& node : policy.nodes) CHECK(node.op != ir::Op::kAdd);
  bool has_three = false;
  for (const ir::Node& node : policy.nodes) has_three = has_three || (node.op == ir::Op::kConstInt && node.imm == 3);
  CHECK(has_three);
}

TEST_CASE("identical nodes and pool entries are shared", "[lower]") {
  std::unique_ptr<Lowered> lowered =
      LowerText(WithHeader("def is_flag(s: string): bool = s.starts_with(\"-\")\n"
                           "deny a when program.name == \"rm\" and is_flag(args[0] ?? \"\")\n"
                           "deny b when program.name == \"rm\" and is_flag(args[0] ?? \"\")\n"
                           "deny c when program.name == \"mv\" and is_flag(args[0] ?? \"\")"));
  const ir::Policy& policy = lowered->policy;
  REQUIRE(policy.rules.size() == 3);
  CHECK(policy.rules[0].condition == policy.rules[1].condition);
  CHECK(policy.rules[0].condition != policy.rules[2].condition);
  for (std::size_t i = 0; i < policy.nodes.size(); ++i) {
    for (std::size_t j = i + 1; j < policy.nodes.size(); ++j) CHECK_FALSE(policy.nodes[i] == policy.nodes[j]);
  }
  std::vector<std::string> strings = policy.strings;
  std::sort(strings.begin(), strings.end());
  CHECK(std::adjacent_find(strings.begin(), strings.end()) == strings.end());
  // starts_with once, shared by all three rules.
  CHECK(std::count_if(policy.nodes.begin(), policy.nodes.end(),
                      [](const ir::Node& n) { return n.op == ir::Op::kStartsWith; }) == 1);
}

TEST_CASE("a regex whose union automaton blows up is matched as its alternatives", "[lower]") {
  // Three unanchored searches (std.paths' secret_text): their union's
  // automaton tracks all three at once (46 KB); apart they are 14 KB.
  const std::string secret =
      R"(r".*(/etc/g?shadow|/etc/sudoers|/etc/ssl/private|/etc/krb5\.keytab|/run/secrets|/proc/[^/]+/(task/[^/]+/)?environ).*|)"
      R"(.*/etc/ssh/ssh_host_[a-z0-9]+_key([^.].*)?|)"
      R"((.*[/=:])?(\.ssh|\.aws|\.azure|\.gnupg|\.kube|\.netrc|\.git-credentials|\.npmrc|\.pypirc|\.vault-token|\.password-store|\.pgpass|\.docker/config\.json|\.config/gcloud|\.config/gh|\.cargo/credentials)([/=:.].*)?")";
  std::unique_ptr<Lowered> lowered =
      LowerText(WithHeader("const secret: regex = " + secret + "\n" +
                           "deny words when any a in args: a matches secret\n"
                           "deny joined when any a in args: (cwd / a) matches secret\n"
                           "deny small when any a in args: a matches r\"-r|--recursive\""));
  const ir::Policy& policy = lowered->policy;
  std::size_t whole = 0;
  std::size_t split = 0;
  for (const ir::PatternConst& pattern : policy.patterns) {
    (pattern.source.size() > 100 ? whole : split) += pattern.dfa.size();
  }
  // `a` is read again at no cost: three automata. `cwd / a` takes scratch
  // and is not evaluated three times: the whole automaton. `-r|--recursive`
  // is small as a whole: one automaton.
  CHECK(policy.patterns.size() == 5);
  CHECK(whole > 2 * split);
  const std::vector<std::vector<std::string>> denied = {
      {"/bin/cat", "/etc/shadow"}, {"/bin/cat", "x=/proc/1/environ"}, {"/bin/cat", "/etc/ssh/ssh_host_rsa_key"},
      {"/bin/cat", "--key=.aws/credentials"}, {"/bin/cat", "-r"}};
  const std::vector<std::vector<std::string>> allowed = {
      {"/bin/cat", "/etc/ssh/ssh_host_rsa_key.pub"}, {"/bin/cat", "x.aws"}, {"/bin/cat", "notes.txt"}};
  for (const auto& argv : denied) {
    INFO(argv[1]);
    CHECK(Decide(policy, RequestFor(argv)).verdict == "deny");
  }
  for (const auto& argv : allowed) {
    INFO(argv[1]);
    CHECK(Decide(policy, RequestFor(argv)).rules.empty());
  }
}

TEST_CASE("nested quantifiers get distinct slots, siblings reuse them", "[lower]") {
  std::unique_ptr<Lowered> lowered = LowerText(
      WithHeader("def dup(xs: list<string>): bool = any a in xs: any b in xs: a != b and a.lower() == b.lower()\n"
                 "deny r when dup(args) or (any k in env: k == \"X\") or (all g in user.groups: g != \"root\")"));
  const ir::Policy& policy = lowered->policy;
  CHECK(policy.local_slots == 2);
  int quantifiers = 0;
  for (const ir::Node& node : policy.nodes) {
    if (node.op == ir::Op::kAny || node.op == ir::Op::kAll) ++quantifiers;
  }
  CHECK(quantifiers == 4);
}

TEST_CASE("`not in` is false for an absent element", "[lower]") {
  std::unique_ptr<Lowered> lowered = LowerText(WithHeader("allow r when args[1] not in {\"a\"}"));
  const ir::Policy& policy = lowered->policy;
  const ir::Node& root = policy.nodes[policy.rules[0].condition];
  REQUIRE(root.op == ir::Op::kAnd);
  REQUIRE(root.b == 2);
  bool tests_absence = false;
  for (std::uint32_t i = 0; i < root.b; ++i) {
    const ir::Node& operand = policy.nodes[policy.operands[root.a + i]];
    REQUIRE(operand.op == ir::Op::kNot);
    tests_absence = tests_absence || policy.nodes[operand.a].op == ir::Op::kIsNone;
  }
  CHECK(tests_absence);
}

TEST_CASE("`parent == none` lowers to an absence test of the parent run", "[lower]") {
  std::unique_ptr<Lowered> lowered = LowerText(WithHeader("allow r when parent == none\ndeny s when parent != none"));
  const ir::Policy& policy = lowered->policy;
  const ir::Node& is_none = policy.nodes[policy.rules[0].condition];
  REQUIRE(is_none.op == ir::Op::kIsNone);
  CHECK(policy.nodes[is_none.a].op == ir::Op::kField);
  CHECK(policy.nodes[is_none.a].imm == static_cast<std::int64_t>(ir::Field::kParentRunId));
  const ir::Node& negated = policy.nodes[policy.rules[1].condition];
  REQUIRE(negated.op == ir::Op::kNot);
  CHECK(negated.a == policy.rules[0].condition);
  CHECK(Decide(policy, RequestFor({"/bin/x"})).rules == std::vector<std::string>{"r"});
}

TEST_CASE("the most selective top-level conjunct indexes a rule", "[lower]") {
  std::unique_ptr<Lowered> lowered = LowerText(
      WithHeader("const tools: set<path> = {\"/bin/a\", \"/bin/b\", \"/bin/c\"}\n"
                 "def is_make(): bool = program.name == \"make\"\n"
                 "allow a when program.path in tools and program.name in [\"a\", \"b\"]\n"
                 "allow b when is_make() and program.path in tools\n"
                 "allow c when program.name == \"x\" or program.name == \"y\"\n"
                 "allow d when \"/bin/a\" == program.path\n"
                 "allow e when program.name in {\"q\"} and args[0] == \"x\" and program.path == \"/bin//q/\""));
  const ir::Policy& policy = lowered->policy;
  CHECK(RuleNamed(policy, "a").index == ir::RuleIndex{{}, {"a", "b"}});
  CHECK(RuleNamed(policy, "b").index == ir::RuleIndex{{}, {"make"}});
  CHECK(RuleNamed(policy, "c").index.Unindexed());
  CHECK(RuleNamed(policy, "d").index == ir::RuleIndex{{"/bin/a"}, {}});
  // A tie keeps the first conjunct.
  CHECK(RuleNamed(policy, "e").index == ir::RuleIndex{{}, {"q"}});
}

TEST_CASE("obligations are normalized, sorted and unique", "[lower]") {
  std::unique_ptr<Lowered> lowered = LowerText(
      WithHeader("allow r when program.name == \"x\" with { read = [\"/b/\", \"/a/./c\", \"/b\"], write = [], "
                 "env = [\"PATH\", \"HOME\", \"PATH\"], network = loopback, timeout = 2s }"));
  const ir::Obligations& o = lowered->policy.rules[0].obligations;
  CHECK(o.has_read);
  CHECK(o.read == std::vector<std::string>{"/a/c", "/b"});
  CHECK(o.has_write);
  CHECK(o.write.empty());
  CHECK(o.has_env);
  CHECK(o.env == std::vector<std::string>{"HOME", "PATH"});
  CHECK(o.network == ir::Network::kLoopback);
  CHECK(o.timeout_ms == 2000);
  CHECK(o.memory_bytes == 0);
}

TEST_CASE("a context field read by an imported module must be declared by the policy", "[lower]") {
  TempDir dir;
  dir.Write("lib.gov",
            "policy lib version \"1.0.0\"\ncontext {\n  ticket: string?\n}\n"
            "def has_ticket(): bool = context.ticket != none\n");
  std::string good = dir.Write("good.gov", WithHeader("import \"lib.gov\" as lib\ncontext {\n  ticket: string?\n}\n"
                                                      "allow r when lib.has_ticket()"));
  std::unique_ptr<Lowered> ok = LowerFile(good);
  CHECK(ok->diagnostics.diagnostics().empty());
  CHECK(ir::Validate(ok->policy) == "");
  std::string bad = dir.Write("bad.gov", WithHeader("import \"lib.gov\" as lib\nallow r when lib.has_ticket()"));
  std::unique_ptr<Lowered> failed = LowerFile(bad);
  REQUIRE(failed->diagnostics.diagnostics().size() == 1);
  CHECK(failed->diagnostics.diagnostics()[0].kind == diagnostics::Kind::kUnknownContextField);
}

TEST_CASE("a rule beyond the node limit is GOV2029", "[lower]") {
  CHECK(kMaxNodes == 1'000'000);
  CHECK(LowerOptions{}.max_nodes == kMaxNodes);
  // 60 * 60 unrolled bodies of 7 distinct nodes each: 25,200 nodes, over a
  // limit of 20,000 (the default limit takes the same path, 40 times later).
  std::string items;
  for (int i = 0; i < 60; ++i) items += (i ? ", " : "") + ("{n = " + std::to_string(i) + "}");
  std::string text = WithHeader("const xs: list<{n: int}> = [" + items +
                                "]\n"
                                "allow small when program.name == \"x\"\n"
                                "deny huge when any t in xs: any u in xs: len(args) == t.n * u.n or "
                                "len(args) == t.n - u.n or len(args) == t.n + u.n * 2");
  TempDir dir;
  std::unique_ptr<Lowered> lowered = LowerFile(dir.Write("big.gov", text));
  REQUIRE(lowered->diagnostics.diagnostics().empty());  // fits the default limit
  CHECK(lowered->policy.nodes.size() > 20'000);
  CHECK(ir::Validate(lowered->policy) == "");

  diagnostics::Collector limited;
  LowerOptions options;
  options.max_nodes = 20'000;
  ir::Policy partial = Lower(lowered->compilation->program, limited, options);
  const auto& found = limited.diagnostics();
  REQUIRE(found.size() == 1);
  CHECK(found[0].kind == diagnostics::Kind::kTooLarge);
  CHECK(diagnostics::Info(found[0].kind).code == "GOV2029");
  CHECK(found[0].message == "rule `huge` lowers to more than 20000 decision nodes");
  CHECK(lowered->compilation->sources.file(found[0].span.file).Slice(found[0].span).rfind("deny huge", 0) == 0);
  CHECK(partial.nodes.size() <= 20'000);
  CHECK(partial.rules.size() == 1);  // the rules before the one that did not fit
}

// ---------------------------------------------------------------- semantics, table-driven

struct Row {
  std::string policy;              // declarations after the header
  std::vector<std::string> argv;   // argv[0] is the program path
  std::string verdict;             // expected: "allow", "deny" or "ask"
  std::vector<std::string> rules;  // expected deciding (or erring) rules
  std::uint32_t error = GOV_OK;    // expected gov_error
  std::string cwd = "/";
  std::vector<std::pair<std::string, std::string>> env = {};
  std::vector<std::pair<std::string, std::string>> context = {};  // name → --context text
  int parent_depth = -1;                                          // >= 0: a parent run with this depth, program /bin/sh
  std::vector<std::string> groups = {};
};

const std::string kCtx = "context {\n  ticket: string?\n  n: int?\n  flag: bool?\n  dir: path?\n}\n";
const std::string kOk = "allow ok when program.name == \"ok\"\n";

std::vector<Row> Rows() {
  const std::string thirty = "sha256:" + std::string(64, '0');
  return {
      // Optionals.
      {.policy = "allow r when args[0] == none", .argv = {"/bin/x"}, .verdict = "allow", .rules = {"r"}},
      {.policy = "allow r when args[0] == none", .argv = {"/bin/x", "a"}, .verdict = "deny", .rules = {}},
      {.policy = "allow r when args[5] in {\"a\"}", .argv = {"/bin/x", "a"}, .verdict = "deny", .rules = {}},
      {.policy = "allow r when args[5] not in {\"a\"}", .argv = {"/bin/x", "a"}, .verdict = "deny", .rules = {}},
      {.policy = "allow r when args[0] not in {\"a\"}", .argv = {"/bin/x", "b"}, .verdict = "allow", .rules = {"r"}},
      {.policy = "allow r when args[0] not in {\"a\"}", .argv = {"/bin/x", "a"}, .verdict = "deny", .rules = {}},
      {.policy = "allow r when args[0] != \"a\"", .argv = {"/bin/x"}, .verdict = "allow", .rules = {"r"}},
      {.policy = "allow r when (args[0] ?? \"-\") == \"-\"", .argv = {"/bin/x"}, .verdict = "allow", .rules = {"r"}},
      {.policy = "allow r when args[0] < \"m\"", .argv = {"/bin/x"}, .verdict = "deny", .rules = {}},
      {.policy = "allow r when args[0] < \"m\"", .argv = {"/bin/x", "b"}, .verdict = "allow", .rules = {"r"}},
      {.policy = "allow r when args[0].starts_with(\"-\")", .argv = {"/bin/x"}, .verdict = "deny", .rules = {}},
      {.policy = "allow r when args[0].lower() == none", .argv = {"/bin/x"}, .verdict = "allow", .rules = {"r"}},
      {.policy = "allow r when len(args[0]) == none", .argv = {"/bin/x"}, .verdict = "allow", .rules = {"r"}},
      {.policy = "allow r when args[-1] == none", .argv = {"/bin/x", "a"}, .verdict = "allow", .rules = {"r"}},
      {.policy = "allow r when env[\"HOME\"] == \"/root\"",
       .argv = {"/bin/x"},
       .verdict = "allow",
       .rules = {"r"},
       .env = {{"HOME", "/root"}}},
      {.policy = "allow r when \"HOME\" in env", .argv = {"/bin/x"}, .verdict = "deny", .rules = {}},
      {.policy = "allow r when \"HOME\" not in env", .argv = {"/bin/x"}, .verdict = "allow", .rules = {"r"}},
      {.policy = "allow r when len(env) == 2",
       .argv = {"/bin/x"},
       .verdict = "allow",
       .rules = {"r"},
       .env = {{"A", "1"}, {"B", "2"}}},
      // Paths.
      {.policy = "allow r when cwd / \"a/../b\" == \"/w/b\"",
       .argv = {"/bin/x"},
       .verdict = "allow",
       .rules = {"r"},
       .cwd = "/w"},
      {.policy = "allow r when (cwd / (args[0] ?? \"\")) under \"/w\"",
       .argv = {"/bin/x", "../etc"},
       .verdict = "deny",
       .rules = {},
       .cwd = "/w"},
      {.policy = "allow r when (cwd / (args[0] ?? \"\")) under \"/w\"",
       .argv = {"/bin/x", "sub/f"},
       .verdict = "allow",
       .rules = {"r"},
       .cwd = "/w"},
      {.policy = "allow r when cwd / \"/etc\" == \"/etc\"",
       .argv = {"/bin/x"},
       .verdict = "allow",
       .rules = {"r"},
       .cwd = "/w"},
      {.policy = "allow r when path(args[0] ?? \"/\") under \"/etc\"",
       .argv = {"/bin/x", "/etc/../etc/passwd"},
       .verdict = "allow",
       .rules = {"r"}},
      {.policy = "allow r when path(args[0] ?? \"/\") under \"/etc\"",
       .argv = {"/bin/x", "/etc/../tmp"},
       .verdict = "deny",
       .rules = {}},
      {.policy = "allow r when program.path.name == \"git\" and program.path.parent == \"/usr/bin\"",
       .argv = {"/usr/bin/git"},
       .verdict = "allow",
       .rules = {"r"}},
      {.policy = "allow r when path(args[0] ?? \"\").ext == \"gz\"",
       .argv = {"/bin/x", "a/b.tar.gz"},
       .verdict = "allow",
       .rules = {"r"}},
      {.policy = "allow r when program.path == \"/usr/../bin/git\"",
       .argv = {"/bin/git"},
       .verdict = "allow",
       .rules = {"r"}},
      {.policy = "allow r when cwd under \"/work/\"",
       .argv = {"/bin/x"},
       .verdict = "allow",
       .rules = {"r"},
       .cwd = "/work"},
      {.policy = "allow r when cwd under \"/wo\"", .argv = {"/bin/x"}, .verdict = "deny", .rules = {}, .cwd = "/work"},
      // Patterns.
      {.policy = "allow r when args[0] matches g\"*.txt\"",
       .argv = {"/bin/x", "a.txt"},
       .verdict = "allow",
       .rules = {"r"}},
      {.policy = "allow r when args[0] matches g\"*.txt\"", .argv = {"/bin/x", "a.md"}, .verdict = "deny", .rules = {}},
      {.policy = "allow r when args[0] matches g\"*.txt\"", .argv = {"/bin/x"}, .verdict = "deny", .rules = {}},
      {.policy = "allow r when program.name matches r\"py(thon)?[0-9.]*\"",
       .argv = {"/usr/bin/python3.11"},
       .verdict = "allow",
       .rules = {"r"}},
      {.policy = "deny r when any a in args: a matches g\"--*\"\n" + kOk,
       .argv = {"/bin/ok", "-x", "--force"},
       .verdict = "deny",
       .rules = {"r"}},
      // Evaluation errors deny, naming the (lowest) erring rule.
      {.policy = "deny r when 10 / (len(args) - 1) > 0\n" + kOk,
       .argv = {"/bin/ok", "a"},
       .verdict = "deny",
       .rules = {"r"},
       .error = GOV_ERR_DIVISION},
      {.policy = "allow r when len(args) * 9223372036854775807 > 0",
       .argv = {"/bin/x", "a", "b"},
       .verdict = "deny",
       .rules = {"r"},
       .error = GOV_ERR_OVERFLOW},
      {.policy = "allow r when args[0] == \"x\" and 10 / len(args) > 1",
       .argv = {"/bin/x"},
       .verdict = "deny",
       .rules = {}},
      {.policy = "allow r when program.name == \"x\" or 1 / len(args) == 1",
       .argv = {"/bin/x"},
       .verdict = "allow",
       .rules = {"r"}},
      {.policy = "allow a when 1 / len(args) == 0\ndeny b when 2 / len(args) == 0",
       .argv = {"/bin/x"},
       .verdict = "deny",
       .rules = {"a"},
       .error = GOV_ERR_DIVISION},
      {.policy = "deny d when program.name == \"x\"\nallow e when 5 % len(args) == 0",
       .argv = {"/bin/x"},
       .verdict = "deny",
       .rules = {"e"},
       .error = GOV_ERR_DIVISION},
      {.policy = "allow r when 10m * len(args) > 15m and 1GiB / 2 == 512MiB",
       .argv = {"/bin/x", "a", "b"},
       .verdict = "allow",
       .rules = {"r"}},
      {.policy = "allow r when -len(args) == -2 and len(args) % 2 == 0",
       .argv = {"/bin/x", "a", "b"},
       .verdict = "allow",
       .rules = {"r"}},
      // `??` and context.
      {.policy = kCtx + "allow r when (context.n ?? 5) > 3", .argv = {"/bin/x"}, .verdict = "allow", .rules = {"r"}},
      {.policy = kCtx + "allow r when (context.n ?? 0) > 3",
       .argv = {"/bin/x"},
       .verdict = "deny",
       .rules = {},
       .context = {{"n", "2"}}},
      {.policy = kCtx + kOk + "deny r when context.ticket == none",
       .argv = {"/bin/ok"},
       .verdict = "deny",
       .rules = {"r"}},
      {.policy = kCtx + kOk + "deny r when context.ticket == none",
       .argv = {"/bin/ok"},
       .verdict = "allow",
       .rules = {"ok"},
       .context = {{"ticket", "CHG-1"}}},
      {.policy = kCtx + "allow r when context.flag == true",
       .argv = {"/bin/x"},
       .verdict = "allow",
       .rules = {"r"},
       .context = {{"flag", "true"}}},
      {.policy = kCtx + "allow r when context.flag == true", .argv = {"/bin/x"}, .verdict = "deny", .rules = {}},
      {.policy = kCtx + "allow r when context.dir under \"/w\"",
       .argv = {"/bin/x"},
       .verdict = "allow",
       .rules = {"r"},
       .context = {{"dir", "/w/x/.."}}},
      {.policy = "context {\n  level: int\n}\nallow r when context.level >= 3",
       .argv = {"/bin/x"},
       .verdict = "allow",
       .rules = {"r"},
       .context = {{"level", "3"}}},
      // Quantifiers.
      {.policy = "allow r when all a in args: a.starts_with(\"-\")",
       .argv = {"/bin/x"},
       .verdict = "allow",
       .rules = {"r"}},
      {.policy = "allow r when any a in args: a == \"x\"", .argv = {"/bin/x"}, .verdict = "deny", .rules = {}},
      {.policy = "allow r when any a in args: true", .argv = {"/bin/x"}, .verdict = "deny", .rules = {}},
      {.policy = "allow r when all a in args: false", .argv = {"/bin/x"}, .verdict = "allow", .rules = {"r"}},
      {.policy = "allow r when any k in env: k.starts_with(\"LD_\")",
       .argv = {"/bin/x"},
       .verdict = "allow",
       .rules = {"r"},
       .env = {{"LD_PRELOAD", "x"}}},
      {.policy = "allow r when all k in env: k != \"X\"", .argv = {"/bin/x"}, .verdict = "allow", .rules = {"r"}},
      {.policy = "allow r when any a in args: any b in args: a != b and a.lower() == b.lower()",
       .argv = {"/bin/x", "A", "a"},
       .verdict = "allow",
       .rules = {"r"}},
      {.policy = "allow r when any a in args: any b in args: a != b and a.lower() == b.lower()",
       .argv = {"/bin/x", "A", "b"},
       .verdict = "deny",
       .rules = {}},
      {.policy =
           "const tools: list<{p: path, arg: string}> = [{p = \"/bin/a\", arg = \"x\"}, "
           "{p = \"/bin/b\", arg = \"y\"}]\nallow r when any t in tools: program.path == t.p and args[0] == t.arg",
       .argv = {"/bin/b", "y"},
       .verdict = "allow",
       .rules = {"r"}},
      {.policy =
           "const tools: list<{p: path, arg: string}> = [{p = \"/bin/a\", arg = \"x\"}, "
           "{p = \"/bin/b\", arg = \"y\"}]\nallow r when any t in tools: program.path == t.p and args[0] == t.arg",
       .argv = {"/bin/b", "x"},
       .verdict = "deny",
       .rules = {}},
      {.policy = "const flags: list<bool> = [false, true]\nallow r when any f in flags: (len(args) > 0) == f",
       .argv = {"/bin/x"},
       .verdict = "allow",
       .rules = {"r"}},
      // Parent.
      {.policy = kOk + "deny r when parent.run_id != none and parent.depth > 2",
       .argv = {"/bin/ok"},
       .verdict = "allow",
       .rules = {"ok"}},
      {.policy = kOk + "deny r when parent.run_id != none and parent.depth > 2",
       .argv = {"/bin/ok"},
       .verdict = "deny",
       .rules = {"r"},
       .parent_depth = 3},
      {.policy = "allow r when parent.run_id == none", .argv = {"/bin/x"}, .verdict = "allow", .rules = {"r"}},
      {.policy = "allow r when parent.run_id == none",
       .argv = {"/bin/x"},
       .verdict = "deny",
       .rules = {},
       .parent_depth = 1},
      {.policy = "allow r when (parent.depth ?? 0) == 0", .argv = {"/bin/x"}, .verdict = "allow", .rules = {"r"}},
      {.policy = "allow r when parent.program under \"/bin\"",
       .argv = {"/bin/x"},
       .verdict = "allow",
       .rules = {"r"},
       .parent_depth = 1},
      {.policy = "allow r when parent.program under \"/bin\"", .argv = {"/bin/x"}, .verdict = "deny", .rules = {}},
      {.policy = kOk + "deny r when parent != none and parent.depth > 2",
       .argv = {"/bin/ok"},
       .verdict = "deny",
       .rules = {"r"},
       .parent_depth = 5},
      {.policy = "allow r when parent == none", .argv = {"/bin/x"}, .verdict = "allow", .rules = {"r"}},
      {.policy = "allow r when none == parent", .argv = {"/bin/x"}, .verdict = "deny", .rules = {}, .parent_depth = 1},
      // Functions and imports.
      {.policy = "def is_flag(s: string): bool = s.starts_with(\"-\")\nallow r when any a in args: is_flag(a)",
       .argv = {"/bin/x", "a", "-v"},
       .verdict = "allow",
       .rules = {"r"}},
      {.policy = "def named(p: {path: path, name: string, sha256: digest, written_in_session: bool}, n: string): "
                 "bool = p.name == n\n"
                 "allow r when named(program, \"git\")",
       .argv = {"/usr/bin/git"},
       .verdict = "allow",
       .rules = {"r"}},
      {.policy = "import std.paths\n" + kOk + "deny r when any a in args: paths.is_system(cwd / a)",
       .argv = {"/bin/ok", "../etc/passwd"},
       .verdict = "deny",
       .rules = {"r"},
       .cwd = "/work"},
      {.policy = "import std.paths\n" + kOk + "deny r when any a in args: paths.is_system(cwd / a)",
       .argv = {"/bin/ok", "src/main.c"},
       .verdict = "allow",
       .rules = {"ok"},
       .cwd = "/work"},
      {.policy = "import std.paths\n" + kOk + "deny r when any a in args: paths.is_secret(path(a))",
       .argv = {"/bin/ok", "/home/u/.ssh/id_rsa"},
       .verdict = "deny",
       .rules = {"r"},
       .env = {{"HOME", "/home/u"}}},
      // Verdict precedence and obligations.
      {.policy = "allow a when program.name == \"git\"\nask q when args[0] == \"push\"",
       .argv = {"/bin/git", "push"},
       .verdict = "ask",
       .rules = {"q"}},
      {.policy = "allow a when program.name == \"git\" with { timeout = 1h }\n"
                 "ask q when args[0] == \"push\" with { timeout = 1m }",
       .argv = {"/bin/git", "push"},
       .verdict = "ask",
       .rules = {"q"}},
      {.policy = "allow a when len(args) >= 0\nallow b when program.name == \"x\"",
       .argv = {"/bin/x"},
       .verdict = "allow",
       .rules = {"a", "b"}},
      // Request-dependent collections.
      {.policy = "allow r when program.name in [argv0, \"x\"]", .argv = {"/bin/x"}, .verdict = "allow", .rules = {"r"}},
      {.policy = "allow r when args[0] in [program.name, \"y\"]",
       .argv = {"/bin/x", "x"},
       .verdict = "allow",
       .rules = {"r"}},
      {.policy = "allow r when args[0] not in [program.name, \"y\"]",
       .argv = {"/bin/x"},
       .verdict = "deny",
       .rules = {}},
      {.policy = "allow r when len({args[0] ?? \"\", args[1] ?? \"\"}) == 1",
       .argv = {"/bin/x", "a", "a"},
       .verdict = "allow",
       .rules = {"r"}},
      {.policy = "allow r when len({args[0] ?? \"\", args[1] ?? \"\"}) == 1",
       .argv = {"/bin/x", "a", "b"},
       .verdict = "deny",
       .rules = {}},
      {.policy = "allow r when args == [\"a\", \"b\"]",
       .argv = {"/bin/x", "a", "b"},
       .verdict = "allow",
       .rules = {"r"}},
      {.policy = "allow r when args == [\"a\", \"b\"]", .argv = {"/bin/x", "a"}, .verdict = "deny", .rules = {}},
      {.policy = "allow r when args == [program.name, \"b\"]",
       .argv = {"/bin/a", "a", "b"},
       .verdict = "allow",
       .rules = {"r"}},
      {.policy = "allow r when user.groups == {\"docker\", \"wheel\"}",
       .argv = {"/bin/x"},
       .verdict = "allow",
       .rules = {"r"},
       .groups = {"wheel", "docker"}},
      {.policy = "allow r when user.groups == {args[0] ?? \"\", \"wheel\"}",
       .argv = {"/bin/x", "wheel"},
       .verdict = "allow",
       .rules = {"r"},
       .groups = {"wheel"}},
      {.policy = "allow r when user.groups == {args[0] ?? \"\", \"wheel\"}",
       .argv = {"/bin/x", "docker"},
       .verdict = "deny",
       .rules = {},
       .groups = {"wheel"}},
      // Conditionals.
      {.policy = "allow r when (if len(args) > 0 then args[0] else \"-\") == \"-\"",
       .argv = {"/bin/x"},
       .verdict = "allow",
       .rules = {"r"}},
      {.policy = "allow r when (if len(args) > 1 then args[1] else none) == none",
       .argv = {"/bin/x", "a"},
       .verdict = "allow",
       .rules = {"r"}},
      {.policy = "allow r when (if len(args) > 0 then 10 / (len(args) - len(args)) == 1 else true)",
       .argv = {"/bin/x"},
       .verdict = "allow",
       .rules = {"r"}},
      // Other request fields and string operations.
      {.policy = "allow r when time.hour >= 9 and time.hour < 17 and time.weekday == \"thu\" and "
                 "time.date == \"2026-01-01\"",
       .argv = {"/bin/x"},
       .verdict = "allow",
       .rules = {"r"}},
      {.policy = "allow r when user.uid == 1000 and user.name == \"user\" and host.name == \"localhost\"",
       .argv = {"/bin/x"},
       .verdict = "allow",
       .rules = {"r"}},
      {.policy = "allow r when program.sha256 == \"" + thirty + "\"",
       .argv = {"/bin/x"},
       .verdict = "allow",
       .rules = {"r"}},
      {.policy = "allow r when program.name + \"-x\" == \"git-x\" and (args[0] ?? \"\").upper() == \"ABC\"",
       .argv = {"/bin/git", "abc"},
       .verdict = "allow",
       .rules = {"r"}},
      {.policy = "allow r when argv0.ends_with(\"/git\") and argv0.contains(\"bin\")",
       .argv = {"/usr/bin/git"},
       .verdict = "allow",
       .rules = {"r"}},
      // A map constant with a key given twice keeps the last value (as `m["A"]` folds).
      {.policy = "const m: map<string, string> = {A = \"2\", B = \"x\"}\n"
                 "allow r when m[args[0] ?? \"\"] == \"2\" and (args[1] ?? \"\") in m",
       .argv = {"/bin/x", "A", "B"},
       .verdict = "allow",
       .rules = {"r"}},
  };
}

TEST_CASE("lowered policies decide as the language specifies", "[lower]") {
  std::map<std::string, std::unique_ptr<Lowered>> cache;
  int row_number = 0;
  for (const Row& row : Rows()) {
    ++row_number;
    std::string text = WithHeader(row.policy);
    INFO("row " << row_number << ":\n" << text);
    std::unique_ptr<Lowered>& lowered = cache[text];
    if (!lowered) lowered = LowerText(text);
    const ir::Policy& policy = lowered->policy;
    request::Request request = RequestFor(row.argv);
    request.cwd = row.cwd;
    request.env = row.env;
    request.groups = row.groups;
    request.context.assign(policy.context.size(), request::ContextValue{});
    for (const auto& [name, value] : row.context) {
      for (std::size_t i = 0; i < policy.context.size(); ++i) {
        if (policy.context[i].name != name) continue;
        ErrorOr<request::ContextValue> parsed = request::ParseContextValue(policy.context[i], value);
        REQUIRE(parsed.ok());
        request.context[i] = parsed.value();
      }
    }
    if (row.parent_depth >= 0) {
      request.has_parent = true;
      request.parent_run_id = "run-1";
      request.parent_depth = row.parent_depth;
      request.parent_program = "/bin/sh";
    }
    Outcome outcome = Decide(policy, request);
    CHECK(outcome.verdict == row.verdict);
    CHECK(outcome.rules == row.rules);
    CHECK(outcome.error == row.error);
  }
  CHECK(row_number >= 60);
}

TEST_CASE("obligations of all matching allow rules merge to the most restrictive", "[lower]") {
  std::unique_ptr<Lowered> lowered = LowerText(WithHeader(
      "allow a when len(args) >= 0 with { timeout = 10m, network = any, write = [\"/w\"] }\n"
      "allow b when program.name == \"x\" with { timeout = 5m, network = loopback, write = [\"/w/sub\", \"/tmp\"] }"));
  Outcome outcome = Decide(lowered->policy, RequestFor({"/bin/x"}));
  CHECK(outcome.rules == std::vector<std::string>{"a", "b"});
  CHECK(outcome.decision.timeout_ms == 300'000);
  CHECK(outcome.decision.network == GOV_NET_LOOPBACK);
  ir::Obligations merged = interp::MergeObligations(lowered->policy, outcome.decision);
  CHECK(merged.write == std::vector<std::string>{"/w/sub"});
}

TEST_CASE("capabilities lower to sorted unique names and merge like env", "[lower]") {
  std::unique_ptr<Lowered> lowered = LowerText(
      WithHeader("const admin: list<string> = [\"sys_admin\", \"chown\"]\n"
                 "allow web when program.name == \"nginx\" with { capabilities = [\"setuid\", \"net_bind_service\", "
                 "\"setuid\", \"chown\"] }\n"
                 "allow owned when len(args) >= 0 with { capabilities = [\"chown\", \"fowner\"] }\n"
                 "allow none_at_all when program.name == \"nginx\" and \"-t\" in args with { capabilities = [] }\n"
                 "ask admin_ask when \"--admin\" in args with { capabilities = admin }"));
  const ir::Obligations& web = RuleNamed(lowered->policy, "web").obligations;
  CHECK(web.has_capabilities);
  CHECK(web.capabilities == std::vector<std::string>{"chown", "net_bind_service", "setuid"});
  CHECK(RuleNamed(lowered->policy, "none_at_all").obligations.has_capabilities);
  CHECK(RuleNamed(lowered->policy, "admin_ask").obligations.capabilities ==
        std::vector<std::string>{"chown", "sys_admin"});
  CHECK_FALSE(RuleNamed(lowered->policy, "web").obligations.has_env);
  auto merged = [&](const std::vector<std::string>& argv) {
    Outcome outcome = Decide(lowered->policy, RequestFor(argv));
    return interp::MergeObligations(lowered->policy, outcome.decision);
  };
  CHECK(merged({"/usr/sbin/nginx"}).capabilities == std::vector<std::string>{"chown"});
  CHECK(merged({"/usr/sbin/nginx", "-t"}).capabilities.empty());
  CHECK(merged({"/usr/sbin/nginx", "-t"}).has_capabilities);
  CHECK(merged({"/usr/sbin/other", "--admin"}).capabilities == std::vector<std::string>{"chown"});
}

TEST_CASE("an approved ask runs under the obligations of its ask rules and every matching allow rule", "[lower]") {
  // Issue 13 finding 4: approving `touch ok/a outside2` must not lift the
  // allow rule's `write = [ok]`.
  std::unique_ptr<Lowered> lowered = LowerText(
      WithHeader("allow touch when program.name == \"touch\" with { timeout = 10m, write = [\"/work/ok\"] }\n"
                 "allow any_small when len(args) < 5 with { network = loopback, env = [\"PATH\", \"HOME\"] }\n"
                 "allow other when program.name == \"other\" with { timeout = 1s }\n"
                 "ask outside when \"outside2\" in args with { timeout = 1m, processes = 8, env = [\"PATH\"] }"));
  Outcome outcome = Decide(lowered->policy, RequestFor({"/usr/bin/touch", "ok/a", "outside2"}));
  CHECK(outcome.verdict == "ask");
  CHECK(outcome.decision.deciding_count == 1);
  CHECK(outcome.rules == std::vector<std::string>{"outside"});
  CHECK(outcome.obligation_rules == std::vector<std::string>{"touch", "any_small"});
  CHECK(outcome.decision.timeout_ms == 60'000);
  CHECK(outcome.decision.processes == 8);
  CHECK(outcome.decision.network == GOV_NET_LOOPBACK);
  ir::Obligations merged = interp::MergeObligations(lowered->policy, outcome.decision);
  CHECK(merged.has_write);
  CHECK(merged.write == std::vector<std::string>{"/work/ok"});
  CHECK(merged.env == std::vector<std::string>{"PATH"});
  CHECK_FALSE(merged.has_read);
  interp::Explanation explained = interp::Explain(lowered->policy, outcome.decision);
  REQUIRE(explained.rules.size() == 1);
  CHECK(explained.rules[0].name == "outside");
  REQUIRE(explained.obligation_rules.size() == 2);
  CHECK(explained.obligation_rules[0].name == "touch");
  CHECK(explained.obligation_rules[1].name == "any_small");
  CHECK(explained.summary == "ask by outside; if approved, the obligations of touch, any_small also apply");
  // Without a matching allow rule, the ask rule's own obligations apply.
  outcome = Decide(lowered->policy, RequestFor({"/bin/other", "1", "2", "3", "4", "outside2"}));
  CHECK(outcome.verdict == "ask");
  CHECK(outcome.rules == std::vector<std::string>{"outside"});
  CHECK(outcome.obligation_rules == std::vector<std::string>{"other"});
  outcome = Decide(lowered->policy, RequestFor({"/bin/x", "1", "2", "3", "4", "outside2"}));
  CHECK(outcome.rules == std::vector<std::string>{"outside"});
  CHECK(outcome.obligation_rules.empty());
  merged = interp::MergeObligations(lowered->policy, outcome.decision);
  CHECK(merged.timeout_ms == 60'000);
  CHECK(merged.env == std::vector<std::string>{"PATH"});
  CHECK_FALSE(merged.has_write);
}

}  // namespace
}  // namespace gov::lower
