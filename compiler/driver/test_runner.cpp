// govc test: running the cases and rendering the results (test_runner.h).
#include "compiler/driver/test_runner.h"

#include <fmt/format.h>

#include <algorithm>
#include <memory>
#include <nlohmann/json.hpp>

#include "compiler/driver/decider.h"
#include "compiler/format/format.h"
#include "runtime/interp/interp.h"
#include "runtime/request/request.h"

namespace gov::driver {
namespace {

// A string as the case would write it: a Gov string literal.
std::string Quoted(const std::string& text) {
  return format::Quote(text);
}

std::string JoinNames(const std::vector<std::string>& names) {
  std::string joined;
  for (const std::string& name : names) joined += (joined.empty() ? "" : ", ") + name;
  return joined;
}

std::string RuleName(const ir::Policy& policy, std::uint32_t id) {
  return id < policy.rules.size() ? policy.rules[id].name : "?";
}

// The decision as a test would state it: `allow by a, b`, `deny (no rule
// allows)`, `deny (rule r failed: ...)`; for an ask the allow rules whose
// obligations apply follow in parentheses.
std::string DescribeDecision(const ir::Policy& policy, const gov_decision& decision) {
  std::string text = interp::VerdictName(decision.verdict);
  if (decision.error != GOV_OK) {
    return text + fmt::format(" (rule {} failed: {})", RuleName(policy, decision.error_rule),
                              interp::ErrorName(decision.error));
  }
  if (decision.rule_count == 0) return text + (decision.verdict == GOV_DENY ? " (no rule allows)" : "");
  auto names = [&](std::uint32_t begin, std::uint32_t end) {
    std::vector<std::string> list;
    for (std::uint32_t k = begin; k < end; ++k) list.push_back(RuleName(policy, decision.rules[k]));
    return JoinNames(list);
  };
  const std::uint32_t count = std::min<std::uint32_t>(decision.rule_count, GOV_MAX_DECIDING_RULES);
  const std::uint32_t deciding = std::min(decision.deciding_count, count);
  text += " by " + names(0, deciding);
  if (deciding < count) text += " (obligations also of " + names(deciding, count) + ")";
  return text;
}

// The case's command line as written: `exec [invoked, args...]`, with `via`
// and `argv0` when they differ from the invoked path, and
// `written_in_session true` when the case sets it.
std::string DescribeCase(const lower::LoweredTest& test) {
  const request::Request& r = test.request;
  const std::string& invoked = r.invoked_path.empty() ? r.program_path : r.invoked_path;
  std::vector<std::string> argv{invoked};
  argv.insert(argv.end(), r.args.begin(), r.args.end());
  std::string text;
  for (const std::string& arg : argv) text += (text.empty() ? "" : ", ") + Quoted(arg);
  text = "exec [" + text + "]";
  if (r.program_path != invoked) text += " via " + Quoted(r.program_path);
  if (!r.argv0.empty() && r.argv0 != invoked) text += " argv0 " + Quoted(r.argv0);
  if (r.program_written_in_session) text += " written_in_session true";
  return text;
}

// What the case expects, in the case's own syntax.
std::string DescribeExpectation(const lower::LoweredTest& test) {
  std::string text = interp::VerdictName(static_cast<std::uint32_t>(test.expected));
  if (!test.by_names.empty()) {
    text += " by " + JoinNames(test.by_names);
    if (!test.by_exact) text += " and others";
  }
  if (!test.not_by_names.empty()) text += " not by " + JoinNames(test.not_by_names);
  if (test.obligations) text += " with " + ObligationsText(*test.obligations);
  return text;
}

// `&`, `<`, `>`, `"` as entities; characters XML 1.0 cannot hold (controls
// other than tab and newline) as `\xNN`.
std::string XmlEscape(const std::string& text) {
  std::string out;
  for (char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        if ((byte < 0x20 && c != '\t' && c != '\n') || byte == 0x7f) {
          out += fmt::format("\\x{:02x}", byte);
        } else {
          out += c;
        }
    }
  }
  return out;
}

}  // namespace

std::size_t PolicyTestReport::failed() const {
  return static_cast<std::size_t>(
      std::count_if(cases.begin(), cases.end(), [](const TestCaseResult& c) { return !c.passed(); }));
}

std::size_t PolicyTestReport::covered() const {
  return static_cast<std::size_t>(std::count(exercised.begin(), exercised.end(), true));
}

ErrorOr<PolicyTestReport> RunPolicyTests(const std::string& path, const LoweredPolicy& lowered,
                                         const TestRunOptions& options) {
  PolicyTestReport report;
  report.path = SourceName(path);  // `<stdin>` for `-`
  report.tested = true;
  const ir::Policy& policy = lowered.policy;
  GOV_ASSIGN_OR_RETURN(std::unique_ptr<Decider> decider, Decider::Create(policy, options.interp));
  report.engine = decider->engine();
  for (const ir::Rule& rule : policy.rules) report.rules.push_back(rule.name);
  report.exercised.assign(policy.rules.size(), false);
  const source::SourceManager& sources = lowered.compilation->sources;
  for (const lower::LoweredTest& test : lowered.tests) {
    if (!options.filter.empty() && test.block.find(options.filter) == std::string::npos) {
      ++report.filtered_out;
      continue;
    }
    request::RequestView view(test.request);
    gov_decision decision{};
    if (ErrorOr<void> decided = decider->Decide(view.get(), decision); !decided.ok()) {
      return Error{fmt::format("{}: {}", path, decided.error().message)};
    }
    // The deciding rules (an ask's matching allow rules decide nothing).
    std::vector<std::uint32_t> deciding;
    if (decision.error == GOV_OK) {
      const std::uint32_t count = std::min<std::uint32_t>(decision.deciding_count, GOV_MAX_DECIDING_RULES);
      deciding.assign(decision.rules, decision.rules + count);
      std::sort(deciding.begin(), deciding.end());
      deciding.erase(std::unique(deciding.begin(), deciding.end()), deciding.end());
      for (std::uint32_t id : deciding) {
        if (id < report.exercised.size()) report.exercised[id] = true;
      }
    }
    auto decided_by = [&](std::uint32_t id) { return std::binary_search(deciding.begin(), deciding.end(), id); };

    TestCaseResult result;
    result.block = test.block;
    const source::SourceFile& file = sources.file(test.span.file);
    const source::LineColumn at = file.Locate(test.span.begin);
    result.file = file.path();
    result.line = at.line;
    result.column = at.column;
    result.command = DescribeCase(test);
    result.expected = DescribeExpectation(test);
    result.actual = DescribeDecision(policy, decision);
    if (decision.verdict != static_cast<std::uint32_t>(test.expected)) result.mismatches.push_back("verdict");
    if (!test.by_rules.empty()) {
      const bool all_named_decide =
          decision.error == GOV_OK && std::all_of(test.by_rules.begin(), test.by_rules.end(), decided_by);
      if (!all_named_decide || (test.by_exact && deciding.size() != test.by_rules.size())) {
        result.mismatches.push_back("by");
      }
    }
    if (std::any_of(test.not_by_rules.begin(), test.not_by_rules.end(), decided_by)) {
      result.mismatches.push_back("not by");
    }
    if (test.obligations) {
      const ir::Obligations applied = interp::MergeObligations(policy, decision);
      result.actual += " with " + ObligationsText(applied);
      if (decision.error != GOV_OK || applied != interp::CanonicalObligations(*test.obligations)) {
        result.mismatches.push_back("obligations");
      }
    }
    report.cases.push_back(std::move(result));
  }
  return report;
}

bundle::BuildTests BuildTestsOf(const PolicyTestReport& report) {
  bundle::BuildTests tests;
  tests.cases = report.cases.size();
  tests.rules = report.rules.size();
  tests.engine = report.engine;
  for (std::size_t id = 0; id < report.exercised.size(); ++id) {
    if (report.exercised[id]) tests.exercised.push_back(static_cast<std::uint32_t>(id));
  }
  return tests;
}

TestText RenderTestText(const PolicyTestReport& report) {
  TestText text;
  if (!report.tested) {
    text.failures = fmt::format("{}: not tested: the policy has errors\n", report.path);
    return text;
  }
  for (const TestCaseResult& c : report.cases) {
    if (c.passed()) continue;
    text.failures += fmt::format("{}:{}:{}: FAIL test {}: {}\n    expected: {}\n    actual:   {}\n", c.file, c.line,
                                 c.column, Quoted(c.block), c.command, c.expected, c.actual);
  }
  const std::size_t total = report.cases.size();
  const std::size_t failed = report.failed();
  text.summary = fmt::format("{}: {} case{}, {} passed, {} failed", report.path, total, total == 1 ? "" : "s",
                             total - failed, failed);
  if (report.filtered_out > 0) text.summary += fmt::format(", {} left out by the filter", report.filtered_out);
  text.summary +=
      fmt::format(" ({}); rules exercised: {} of {}\n", report.engine, report.covered(), report.rules.size());
  for (std::size_t r = 0; r < report.rules.size(); ++r) {
    if (!report.exercised[r]) text.summary += fmt::format("  rule {} decided no test case\n", report.rules[r]);
  }
  return text;
}

std::string RenderTestJson(const std::vector<PolicyTestReport>& reports) {
  nlohmann::ordered_json files = nlohmann::ordered_json::array();
  std::size_t cases = 0;
  std::size_t failed = 0;
  std::size_t untested = 0;
  for (const PolicyTestReport& report : reports) {
    nlohmann::ordered_json file = {{"path", report.path}, {"tested", report.tested}};
    if (!report.tested) {
      file["error"] = "the policy has errors";
      ++untested;
      files.push_back(std::move(file));
      continue;
    }
    nlohmann::ordered_json list = nlohmann::ordered_json::array();
    for (const TestCaseResult& c : report.cases) {
      list.push_back({{"test", c.block},
                      {"file", c.file},
                      {"line", c.line},
                      {"column", c.column},
                      {"command", c.command},
                      {"expected", c.expected},
                      {"actual", c.actual},
                      {"passed", c.passed()},
                      {"mismatches", c.mismatches}});
    }
    nlohmann::ordered_json unexercised = nlohmann::ordered_json::array();
    for (std::size_t r = 0; r < report.rules.size(); ++r) {
      if (!report.exercised[r]) unexercised.push_back(report.rules[r]);
    }
    file["engine"] = report.engine;
    file["cases"] = std::move(list);
    file["passed"] = report.cases.size() - report.failed();
    file["failed"] = report.failed();
    file["filtered_out"] = report.filtered_out;
    file["rules"] = report.rules.size();
    file["rules_exercised"] = report.covered();
    file["unexercised_rules"] = std::move(unexercised);
    cases += report.cases.size();
    failed += report.failed();
    files.push_back(std::move(file));
  }
  nlohmann::ordered_json out;
  out["version"] = 1;
  out["files"] = std::move(files);
  out["total"] = {{"cases", cases}, {"failed", failed}, {"untested_files", untested}};
  return out.dump(2, ' ', false, nlohmann::ordered_json::error_handler_t::replace) + "\n";
}

std::string RenderTestJunit(const std::vector<PolicyTestReport>& reports) {
  std::size_t cases = 0;
  std::size_t failed = 0;
  std::size_t errors = 0;
  std::string suites;
  for (const PolicyTestReport& report : reports) {
    if (!report.tested) {
      ++errors;
      suites += fmt::format(
          "  <testsuite name=\"{}\" tests=\"1\" failures=\"0\" errors=\"1\">\n"
          "    <testcase classname=\"{}\" name=\"check\">\n"
          "      <error message=\"the policy has errors\"/>\n"
          "    </testcase>\n"
          "  </testsuite>\n",
          XmlEscape(report.path), XmlEscape(report.path));
      continue;
    }
    cases += report.cases.size();
    failed += report.failed();
    suites += fmt::format("  <testsuite name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"0\">\n",
                          XmlEscape(report.path), report.cases.size(), report.failed());
    for (const TestCaseResult& c : report.cases) {
      const std::string name = XmlEscape(fmt::format("line {}: {}", c.line, c.command));
      suites += fmt::format("    <testcase classname=\"{}\" name=\"{}\" file=\"{}\" line=\"{}\"", XmlEscape(c.block),
                            name, XmlEscape(c.file), c.line);
      if (c.passed()) {
        suites += "/>\n";
        continue;
      }
      suites += fmt::format(">\n      <failure message=\"{}\">expected: {}\nactual:   {}</failure>\n    </testcase>\n",
                            XmlEscape("expected " + c.expected + ", actual " + c.actual), XmlEscape(c.expected),
                            XmlEscape(c.actual));
    }
    suites += "  </testsuite>\n";
  }
  return fmt::format(
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
      "<testsuites name=\"govc test\" tests=\"{}\" failures=\"{}\" errors=\"{}\">\n{}</testsuites>\n",
      cases + errors, failed, errors, suites);
}

}  // namespace gov::driver
