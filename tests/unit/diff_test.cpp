// govc diff: byte languages against direct string predicates; the search on
// policy pairs with known differences, checked against every request of a
// finite universe decided by the interpreter (a proved report must name the
// outcome pair of every request decided differently); exit codes and formats.
#include "compiler/driver/diff.h"

#include <stdlib.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <random>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "compiler/analysis/language.h"
#include "compiler/driver/build.h"
#include "runtime/interp/interp.h"
#include "runtime/support/path.h"
#include "tests/unit/test_support.h"

namespace gov::driver {
namespace {

namespace fs = std::filesystem;
using analysis::Automaton;
using analysis::Constraint;
using analysis::Lang;
using analysis::Languages;
using analysis::SearchResult;

using Files = testing::TempDir;

ir::Policy Lowered(const Files& files, const std::string& name, const std::string& body) {
  const std::string path = files.Write(name, "policy t version \"1.0.0\"\n" + body + "\n");
  ErrorOr<LoweredPolicy> lowered = LowerPolicy(path);
  REQUIRE(lowered.ok());
  INFO(body);
  REQUIRE(lowered.value().ok());
  return std::move(lowered.value().policy);
}

// Random strings over bytes that matter to the constructions.
std::string RandomText(std::mt19937& rng) {
  static const std::string alphabet = "ab/.-x";
  std::uniform_int_distribution<int> length(0, 7);
  std::uniform_int_distribution<std::size_t> pick(0, alphabet.size() - 1);
  std::string out;
  for (int n = length(rng); n > 0; --n) out.push_back(alphabet[pick(rng)]);
  return out;
}

bool IsNormalizedAbsolute(const std::string& s) {
  return !s.empty() && s[0] == '/' && paths::Normalize(s) == s;
}

TEST_CASE("diff: constructed automata accept exactly their languages", "[diff]") {
  std::mt19937 rng(7);
  const std::vector<std::string> words = {"", "a", "ab", "a/b", "/a", "/a/b", "x.", "/"};
  for (const std::string& w : words) {
    const Automaton prefix = Automaton::Prefix(w);
    const Automaton suffix = Automaton::Suffix(w);
    const Automaton contains = Automaton::Contains(w);
    const Automaton set = Automaton::Set({w, "b"});
    for (int i = 0; i < 400; ++i) {
      const std::string t = RandomText(rng) + (i % 3 == 0 ? w : "") + (i % 5 == 0 ? RandomText(rng) : "");
      INFO("word `" << w << "` text `" << t << "`");
      CHECK(prefix.Accepts(t) == (t.rfind(w, 0) == 0));
      CHECK(suffix.Accepts(t) == (t.size() >= w.size() && t.compare(t.size() - w.size(), w.size(), w) == 0));
      CHECK(contains.Accepts(t) == (t.find(w) != std::string::npos));
      CHECK(set.Accepts(t) == (t == w || t == "b"));
    }
  }
  const Automaton normalized = Automaton::NormalizedAbsolutePath();
  const Automaton under = Automaton::Under("/a/b");
  const Automaton parent = Automaton::ParentIs("/a");
  const Automaton parent_root = Automaton::ParentIs("/");
  const Automaton length = Automaton::Length(2, 4);
  for (int i = 0; i < 3000; ++i) {
    const std::string t = (i % 2 == 0 ? "/" : "") + RandomText(rng) + (i % 7 == 0 ? "/a/b" + RandomText(rng) : "");
    INFO("text `" << t << "`");
    CHECK(normalized.Accepts(t) == IsNormalizedAbsolute(t));
    if (IsNormalizedAbsolute(t)) {
      CHECK(under.Accepts(t) == paths::Under(t, "/a/b"));
      CHECK(parent.Accepts(t) == (paths::DirName(t) == "/a"));
      CHECK(parent_root.Accepts(t) == (paths::DirName(t) == "/"));
    }
    CHECK(length.Accepts(t) == (t.size() >= 2 && t.size() <= 4));
  }
}

TEST_CASE("diff: a search finds a shortest common member or proves there is none", "[diff]") {
  Languages languages;
  const auto leaf = [&](Automaton a) { return Lang::Leaf(languages.Leaf(languages.AddAutomaton(std::move(a)))); };
  const Lang git = leaf(Automaton::Suffix("/git"));
  const Lang usr = leaf(Automaton::Under("/usr"));
  const Lang path = leaf(Automaton::NormalizedAbsolutePath());
  const Lang exact = leaf(Automaton::Set({"/usr/bin/git"}));

  SearchResult r = languages.Find({{path, true}, {git, true}, {usr, true}, {exact, false}});
  REQUIRE(r.status == SearchResult::Status::kFound);
  CHECK(r.text == "/usr/git");
  CHECK(languages.Meets({{path, true}, {git, true}, {usr, true}, {exact, false}}, r.text));

  CHECK(languages.Find({{exact, true}, {usr, false}}).status == SearchResult::Status::kEmpty);
  CHECK(languages.Find({{path, true}, {leaf(Automaton::Length(0, 0)), true}}).status == SearchResult::Status::kEmpty);
  // A preferred text is taken when it qualifies, never when it does not.
  CHECK(languages.Find({{git, true}}, {"/bin/git"}).text == "/bin/git");
  CHECK(languages.Find({{git, true}}, {"/bin/ls"}).text == "/git");

  // The base name reading: `name == "ls"` of a normalized path.
  analysis::Transform base_name;
  base_name.base_name = true;
  const Lang ls = Lang::Leaf(languages.Leaf(languages.AddAutomaton(Automaton::Set({"ls"})), base_name));
  r = languages.Find({{path, true}, {ls, true}, {usr, true}});
  REQUIRE(r.status == SearchResult::Status::kFound);
  CHECK(r.text == "/usr/ls");
  CHECK(languages.Find({{path, true}, {ls, true}, {exact, true}}).status == SearchResult::Status::kEmpty);
}

// Every request of a small universe, decided by both policies: those decided
// differently, as (old verdict, old rules, new verdict, new rules).
using ClassKey = std::tuple<std::string, std::vector<std::string>, std::string, std::vector<std::string>>;

std::set<ClassKey> BruteForce(const ir::Policy& old_policy, const ir::Policy& new_policy, std::size_t& requests) {
  ErrorOr<interp::PreparedPolicy> old_prepared = interp::PreparedPolicy::Create(old_policy);
  ErrorOr<interp::PreparedPolicy> new_prepared = interp::PreparedPolicy::Create(new_policy);
  REQUIRE(old_prepared.ok());
  REQUIRE(new_prepared.ok());
  const std::vector<std::string> programs = {"/usr/bin/git", "/usr/bin/ls", "/usr/bin/rm",
                                             "/opt/tool",    "/work/a/run", "/usr/local/bin/make"};
  const std::vector<std::string> words = {"status", "diff", "/", "/etc/x", "-v", "x", "release", "push"};
  std::vector<std::vector<std::string>> arg_lists = {{}};
  for (const std::string& a : words) {
    arg_lists.push_back({a});
    for (const std::string& b : words) {
      arg_lists.push_back({a, b});
      arg_lists.push_back({a, b, "x"});
    }
  }
  const std::vector<std::string> cwds = {"/", "/work", "/work/a", "/tmp"};
  std::set<ClassKey> out;
  requests = 0;
  for (const std::string& program : programs) {
    for (const auto& args : arg_lists) {
      for (const std::string& cwd : cwds) {
        for (int env = 0; env < 2; ++env) {
          request::Request r;
          r.program_path = program;
          r.args = args;
          r.cwd = cwd;
          if (env == 1) r.env.emplace_back("CI", "true");
          request::RequestView view(r);
          gov_decision a{};
          gov_decision b{};
          interp::Decide(old_prepared.value(), view.get(), a);
          interp::Decide(new_prepared.value(), view.get(), b);
          ++requests;
          const ir::Obligations oa = interp::CanonicalObligations(interp::MergeObligations(old_policy, a));
          const ir::Obligations ob = interp::CanonicalObligations(interp::MergeObligations(new_policy, b));
          if (a.verdict == b.verdict && (a.verdict == GOV_DENY || oa == ob)) continue;
          auto names = [](const ir::Policy& p, const gov_decision& d) {
            std::vector<std::string> n;
            for (std::uint32_t i = 0; i < d.deciding_count; ++i) n.push_back(p.rules[d.rules[i]].name);
            return n;
          };
          out.emplace(interp::VerdictName(a.verdict), names(old_policy, a), interp::VerdictName(b.verdict),
                      names(new_policy, b));
        }
      }
    }
  }
  return out;
}

struct Case {
  const char* name;
  const char* old_rules;
  const char* new_rules;
  std::size_t classes;
};

TEST_CASE("diff: proved reports name every differently decided request", "[diff]") {
  const std::vector<Case> cases = {
      {"identical", R"(allow git when program.path == "/usr/bin/git" and args[0] in {"status", "diff"})",
       R"(allow git when program.path == "/usr/bin/git" and args[0] in {"status", "diff"})", 0},
      {"widened set", R"(allow git when program.path == "/usr/bin/git" and args[0] in {"status"})",
       R"(allow git when program.path == "/usr/bin/git" and args[0] in {"status", "diff"})", 1},
      {"obligations only", R"(allow ls when program.name == "ls" and cwd under "/work" with { timeout = 1m })",
       R"(allow ls when program.name == "ls" and cwd under "/work" with { timeout = 2m })", 1},
      {"new deny inside an allow", R"(allow rm when program.name == "rm" and len(args) < 3)",
       "allow rm when program.name == \"rm\" and len(args) < 3\n"
       "deny rm_root when program.name == \"rm\" and any a in args: a == \"/\" or a.starts_with(\"/etc\")",
       1},
      {"quantifiers, prefixes and patterns",
       "allow run when program.path under \"/work\" and cwd under \"/work\"\n"
       "deny flags when any a in args: a matches r\"-[a-z]+\"",
       "allow run when program.path under \"/work/a\" and (cwd under \"/work\" or \"CI\" in env)\n"
       "deny flags when any a in args: a matches r\"-[a-z]+\" and a != \"-v\"\n"
       "ask make_release when program.name == \"make\" and \"release\" in args",
       0 /* checked against brute force below */},
  };
  for (const Case& c : cases) {
    DYNAMIC_SECTION(c.name) {
      Files files;
      const ir::Policy old_policy = Lowered(files, "old.gov", c.old_rules);
      const ir::Policy new_policy = Lowered(files, "new.gov", c.new_rules);
      ErrorOr<DiffReport> report = DiffPolicies(old_policy, new_policy, DiffOptions());
      REQUIRE(report.ok());
      const DiffReport& r = report.value();
      CHECK(r.proved);
      CHECK(r.opaque_atoms == 0);
      if (c.classes > 0 || std::string(c.name) == "identical") CHECK(r.classes.size() == c.classes);
      // Every example is decided as reported.
      std::set<ClassKey> reported;
      for (const DiffClass& k : r.classes) {
        reported.emplace(k.old_decision.verdict, k.old_decision.rules, k.new_decision.verdict, k.new_decision.rules);
        ErrorOr<interp::PreparedPolicy> p = interp::PreparedPolicy::Create(old_policy);
        REQUIRE(p.ok());
        request::RequestView view(k.request);
        gov_decision d{};
        interp::Decide(p.value(), view.get(), d);
        CHECK(interp::VerdictName(d.verdict) == k.old_decision.verdict);
      }
      std::size_t requests = 0;
      const std::set<ClassKey> found = BruteForce(old_policy, new_policy, requests);
      CHECK(requests > 1000);
      // The universe reaches the differences (the check below is not vacuous).
      CHECK(found.empty() == (std::string(c.name) == "identical"));
      for (const ClassKey& k : found) {
        INFO("decided differently, not reported: " << std::get<0>(k) << " → " << std::get<2>(k));
        CHECK(reported.count(k) == 1);
      }
    }
  }
}

TEST_CASE("diff: what requests cannot be is never a difference, and long lists are not claimed", "[diff]") {
  Files files;
  // A request's argv0 is never empty (empty stands for the invoked path): proved the same.
  const ir::Policy plain = Lowered(files, "plain.gov", R"(allow a when program.path == "/usr/bin/a")");
  const ir::Policy named = Lowered(files, "named.gov", R"(allow a when program.path == "/usr/bin/a" and argv0 != "")");
  ErrorOr<DiffReport> same = DiffPolicies(plain, named, DiffOptions());
  REQUIRE(same.ok());
  CHECK(same.value().proved);
  CHECK(same.value().classes.empty());
  // Lists longer than the model's are not claimed alike: 1,000 arguments differ.
  const ir::Policy bounded =
      Lowered(files, "bounded.gov", R"(allow a when program.path == "/usr/bin/a" and len(args) < 1000)");
  ErrorOr<DiffReport> long_lists = DiffPolicies(plain, bounded, DiffOptions());
  REQUIRE(long_lists.ok());
  CHECK_FALSE(long_lists.value().proved);
  ErrorOr<DiffReport> index = DiffPolicies(
      plain, Lowered(files, "index.gov", R"(allow a when program.path == "/usr/bin/a" and args[900] == none)"),
      DiffOptions());
  REQUIRE(index.ok());
  CHECK_FALSE(index.value().proved);
}

TEST_CASE("diff: tests the model leaves to the interpreter make the report unproved", "[diff]") {
  Files files;
  const char* grammar = "command tool {\n  flag verbose: \"-v\", \"--verbose\"\n  operands files: path*\n}\n";
  const ir::Policy old_policy =
      Lowered(files, "old.gov", std::string(grammar) + "allow t when program.name == \"tool\" and tool(args) != none");
  const ir::Policy new_policy =
      Lowered(files, "new.gov",
              std::string(grammar) + "allow t when program.name == \"tool\" and tool(args) as t: not t.verbose");
  ErrorOr<DiffReport> report = DiffPolicies(old_policy, new_policy, DiffOptions());
  REQUIRE(report.ok());
  CHECK_FALSE(report.value().proved);
  CHECK(report.value().opaque_atoms > 0);
  // What it reports is still real: each example decided as stated.
  for (const DiffClass& k : report.value().classes) CHECK(k.old_decision.verdict != k.new_decision.verdict);
}

TEST_CASE("govc diff: exit status and formats", "[diff][cli]") {
  Files files;
  const std::string old_path = files.Write(
      "old.gov",
      "policy t version \"1.0.0\"\nallow git when program.path == \"/usr/bin/git\" and args[0] == \"status\"\n");
  const std::string new_path = files.Write("new.gov",
                                           "policy t version \"1.1.0\"\nallow git when program.path == "
                                           "\"/usr/bin/git\" and args[0] in {\"status\", \"log\"}\n");
  const std::string govc = GOV_GOVC;
  testing::Outcome same = testing::RunCommand(govc + " diff " + old_path + " " + old_path);
  CHECK(same.status == 0);
  CHECK(same.stdout_text.find("no request is decided differently (proved exhaustive") == 0);

  testing::Outcome text = testing::RunCommand(govc + " diff " + old_path + " " + new_path);
  CHECK(text.status == 1);
  CHECK(text.stdout_text.find("1. deny → allow") != std::string::npos);
  CHECK(text.stdout_text.find("for example: program /usr/bin/git, args [\"log\"]") != std::string::npos);

  testing::Outcome json = testing::RunCommand(govc + " diff --format json " + old_path + " " + new_path);
  CHECK(json.status == 1);
  const nlohmann::json doc = nlohmann::json::parse(json.stdout_text);
  CHECK(doc["version"] == 1);
  CHECK(doc["proved"] == true);
  REQUIRE(doc["classes"].size() == 1);
  CHECK(doc["classes"][0]["old"]["verdict"] == "deny");
  CHECK(doc["classes"][0]["new"]["rules"] == nlohmann::json::array({"git"}));
  CHECK(doc["classes"][0]["request"]["args"] == nlohmann::json::array({"log"}));

  testing::Outcome markdown = testing::RunCommand(govc + " diff --format markdown " + old_path + " " + new_path);
  CHECK(markdown.status == 1);
  CHECK(markdown.stdout_text.find("### Policy change: t 1.0.0 → t 1.1.0") == 0);
  CHECK(markdown.stdout_text.find("| 1 | deny: no rule allows | allow by git {} |") != std::string::npos);

  testing::Outcome unproved = testing::RunCommand(govc + " diff examples/agent.gov examples/agent.gov");
  CHECK(unproved.status == 3);
  CHECK(unproved.stdout_text.find("no request is decided differently (not proved exhaustive") == 0);

  testing::Outcome broken = testing::RunCommand(govc + " diff " + old_path + " " + files.Write("bad.gov", "policy"));
  CHECK(broken.status == 1);
  testing::Outcome missing = testing::RunCommand(govc + " diff " + old_path + " /nonexistent/x.gov");
  CHECK(missing.status == 2);
  testing::Outcome unsigned_bundle = testing::RunCommand(govc + " diff " + old_path + " " + files.Write("x.govb", "x"));
  CHECK(unsigned_bundle.status == 2);
  CHECK(unsigned_bundle.stderr_text.find("--trust") != std::string::npos);
}

}  // namespace
}  // namespace gov::driver

namespace gov::driver {
namespace {

// A mutation of examples/agent.gov and a class its diff must report.
struct Mutation {
  const char* name;
  const char* from;
  const char* to;
  const char* old_verdict;
  const char* old_rule;  // among the old deciding rules ("" : none)
  const char* new_verdict;
  const char* new_rule;
};

TEST_CASE("diff: mutations of examples/agent.gov are reported, each example decided as stated", "[diff]") {
  // The policy without its test blocks (a mutation may contradict them).
  std::string agent = testing::ReadAll(fs::path(GOV_SOURCE_DIR) / "examples/agent.gov");
  REQUIRE(agent.find("\ntest ") != std::string::npos);
  agent.resize(agent.find("\ntest ") + 1);
  std::vector<Mutation> mutations = {
      {"a tool leaves the inspection set", "  \"cat\",\n", "", "allow", "inspect", "deny", ""},
      {"a timeout changes",
       "      timeout = 2m,\n      network = none,\n      read = readable,\n      write = [workspace],\n      tmp = "
       "private,\n      env = passed_env,\n    }\n\nallow workspace_files",
       "      timeout = 3m,\n      network = none,\n      read = readable,\n      write = [workspace],\n      tmp = "
       "private,\n      env = passed_env,\n    }\n\nallow workspace_files",
       "allow", "inspect", "allow", "inspect"},
      {"an ask becomes a deny", "ask git_push when", "deny git_push when", "ask", "git_push", "deny", "git_push"},
      {"a condition is dropped", "installed(invoked.path) and invoked.name in build_tools and cwd under workspace",
       "installed(invoked.path) and invoked.name in build_tools", "deny", "", "allow", "build"},
      {"a directory leaves a list", "const bin_dirs: list<path> = [\"/usr/bin\", \"/bin\", \"/usr/local/bin\"]",
       "const bin_dirs: list<path> = [\"/usr/bin\", \"/bin\"]", "allow", "build", "deny", ""},
      {"a variable leaves a test", "(\"MAKEFLAGS\" in env or \"MFLAGS\" in env or \"GNUMAKEFLAGS\" in env)",
       "(\"MAKEFLAGS\" in env or \"MFLAGS\" in env)", "ask", "make_flags_from_caller", "allow", "build"},
  };
#if defined(GOV_SANITIZED)
  // Under the sanitizers one mutation checks the memory safety of the search
  // on a real policy (each takes ~20 s there); the release build checks that
  // each class is found.
  mutations.resize(1);
#endif
  Files files;
  const ir::Policy old_policy = [&] {
    ErrorOr<LoweredPolicy> lowered = LowerPolicy(files.Write("agent.gov", agent));
    REQUIRE(lowered.ok());
    REQUIRE(lowered.value().ok());
    return std::move(lowered.value().policy);
  }();
  ErrorOr<interp::PreparedPolicy> old_prepared = interp::PreparedPolicy::Create(old_policy);
  REQUIRE(old_prepared.ok());
  for (const Mutation& m : mutations) {
    DYNAMIC_SECTION(m.name) {
      const std::size_t at = agent.find(m.from);
      REQUIRE(at != std::string::npos);
      std::string mutated = agent;
      mutated.replace(at, std::string(m.from).size(), m.to);
      ErrorOr<LoweredPolicy> lowered = LowerPolicy(files.Write("mutated.gov", mutated));
      REQUIRE(lowered.ok());
      REQUIRE(lowered.value().ok());
      const ir::Policy& new_policy = lowered.value().policy;
      ErrorOr<interp::PreparedPolicy> new_prepared = interp::PreparedPolicy::Create(new_policy);
      REQUIRE(new_prepared.ok());
      DiffOptions options;
      options.max_unresolved = 80;
      ErrorOr<DiffReport> report = DiffPolicies(old_policy, new_policy, options);
      REQUIRE(report.ok());
      CHECK_FALSE(report.value().proved);  // std.shell's grammars are left to the interpreter
      bool expected = false;
      for (const DiffClass& c : report.value().classes) {
        auto has = [](const std::vector<std::string>& rules, const std::string& rule) {
          return rule.empty() ? rules.empty() : std::find(rules.begin(), rules.end(), rule) != rules.end();
        };
        if (c.old_decision.verdict == m.old_verdict && c.new_decision.verdict == m.new_verdict &&
            has(c.old_decision.rules, m.old_rule) && has(c.new_decision.rules, m.new_rule)) {
          expected = true;
        }
        // Nothing else: each example is decided as reported, and differently.
        request::RequestView old_view(c.request);
        request::RequestView new_view(c.new_request);
        gov_decision a{};
        gov_decision b{};
        interp::Decide(old_prepared.value(), old_view.get(), a);
        interp::Decide(new_prepared.value(), new_view.get(), b);
        CHECK(interp::VerdictName(a.verdict) == c.old_decision.verdict);
        CHECK(interp::VerdictName(b.verdict) == c.new_decision.verdict);
        CHECK(interp::Explain(old_policy, a).summary == c.old_decision.summary);
        CHECK(interp::Explain(new_policy, b).summary == c.new_decision.summary);
        const bool differ =
            a.verdict != b.verdict || interp::CanonicalObligations(interp::MergeObligations(old_policy, a)) !=
                                          interp::CanonicalObligations(interp::MergeObligations(new_policy, b));
        CHECK(differ);
      }
      INFO(DiffText(report.value(), old_policy, new_policy));
      CHECK(expected);
    }
  }
}

}  // namespace
}  // namespace gov::driver
