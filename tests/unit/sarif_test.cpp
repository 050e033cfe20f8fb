// Validates the SARIF that diagnostics::RenderSarif writes against what
// GitHub code scanning requires of a SARIF 2.1.0 upload: the log's version
// and schema, the tool's rules, and for each result its rule, level,
// message and physical location (relative URI, 1-based region). Cases
// below check the departures that were found and fixed.
#include <catch2/catch.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "compiler/check/check.h"
#include "compiler/diagnostics/diagnostic.h"
#include "compiler/lint/lint.h"
#include "compiler/parse/parse.h"

namespace gov::diagnostics {
namespace {

using nlohmann::json;

// Policies parsed, checked and linted into one collector, as `govc lint`
// over several files would.
struct Run {
  source::SourceManager sources;
  Collector diagnostics;
  std::vector<std::unique_ptr<ast::File>> files;

  void Add(const std::string& path, const std::string& text) {
    source::FileId id = sources.Add(path, text);
    files.push_back(std::make_unique<ast::File>(parse::ParseFile(sources, id, diagnostics)));
    std::vector<check::ParsedModule> modules{{files.back().get(), {}, true}};
    check::Program program = check::Check(modules, diagnostics);
    lint::Lint(program, sources, {}, diagnostics);
  }
};

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

// Findings of many kinds: notes, help, a multi-line span, non-ASCII text
// before a span, an empty span at the start of a file, two files.
std::unique_ptr<Run> SampleRun(const std::string& directory) {
  auto run = std::make_unique<Run>();
  run->Add(directory + "/agent.gov", ReadFile(std::string(GOV_SOURCE_DIR) + "/tests/golden/check/issue2_agent.gov"));
  run->Add(directory + "/broken.gov",
           "policy broken version \"1.0.0\"\n"
           "const unused: int = 1\n"
           "allow git when program.name == \"héllo\" and args == \"status\"\n"
           "allow git when program.path == \"/usr/bin/git\"\n"
           "allow anything when\n"
           "    true or\n"
           "    program.path == \"/usr/bin/sh\"\n");
  run->Add(directory + "/empty.gov", "");
  return run;
}

bool IsNonEmptyString(const json& value) { return value.is_string() && !value.get<std::string>().empty(); }

// True for a URI reference made only of RFC 3986 characters (or %XX escapes).
bool IsUriReference(const std::string& uri) {
  static const std::string kAllowed =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~:/?#[]@!$&'()*+,;=%";
  return std::all_of(uri.begin(), uri.end(), [](char c) { return kAllowed.find(c) != std::string::npos; });
}

// Checks one `location` object; returns its region for further checks.
void ValidateLocation(const json& location, bool expect_relative) {
  REQUIRE(location.is_object());
  REQUIRE(location.contains("physicalLocation"));
  const json& physical = location["physicalLocation"];
  REQUIRE(physical.contains("artifactLocation"));
  const json& uri = physical["artifactLocation"]["uri"];
  REQUIRE(IsNonEmptyString(uri));
  std::string text = uri.get<std::string>();
  CHECK(IsUriReference(text));
  CHECK(text.find('\\') == std::string::npos);
  if (expect_relative) {
    CHECK(text.front() != '/');
    CHECK(text.find("://") == std::string::npos);
  }
  REQUIRE(physical.contains("region"));
  const json& region = physical["region"];
  REQUIRE(region["startLine"].is_number_integer());
  CHECK(region["startLine"].get<long>() >= 1);
  if (region.contains("startColumn")) {
    REQUIRE(region["startColumn"].is_number_integer());
    CHECK(region["startColumn"].get<long>() >= 1);
  }
  long start_line = region["startLine"].get<long>();
  long end_line = region.value("endLine", start_line);
  CHECK(end_line >= start_line);
  if (region.contains("endColumn")) {
    REQUIRE(region["endColumn"].is_number_integer());
    CHECK(region["endColumn"].get<long>() >= 1);
    if (end_line == start_line && region.contains("startColumn")) {
      CHECK(region["endColumn"].get<long>() >= region["startColumn"].get<long>());
    }
  }
  if (location.contains("message")) CHECK(IsNonEmptyString(location["message"]["text"]));
}

// The structure GitHub code scanning requires of a SARIF 2.1.0 log.
void ValidateSarif(const json& log, bool expect_relative) {
  REQUIRE(log.is_object());
  CHECK(log["version"] == "2.1.0");
  REQUIRE(IsNonEmptyString(log["$schema"]));
  CHECK_THAT(log["$schema"].get<std::string>(), Catch::Contains("sarif") && Catch::Contains("2.1.0"));
  REQUIRE(log["runs"].is_array());
  REQUIRE(log["runs"].size() == 1);
  const json& run = log["runs"][0];
  const json& driver = run["tool"]["driver"];
  CHECK(IsNonEmptyString(driver["name"]));
  REQUIRE(driver["rules"].is_array());
  const json& rules = driver["rules"];
  std::set<std::string> ids;
  for (const json& rule : rules) {
    REQUIRE(IsNonEmptyString(rule["id"]));
    CHECK(ids.insert(rule["id"].get<std::string>()).second);
    REQUIRE(IsNonEmptyString(rule["shortDescription"]["text"]));
    CHECK(rule["shortDescription"]["text"].get<std::string>().size() <= 1024);
    if (rule.contains("defaultConfiguration")) {
      const json& level = rule["defaultConfiguration"]["level"];
      CHECK((level == "none" || level == "note" || level == "warning" || level == "error"));
    }
  }
  if (run.contains("columnKind")) {
    CHECK((run["columnKind"] == "unicodeCodePoints" || run["columnKind"] == "utf16CodeUnits"));
  }
  REQUIRE(run["results"].is_array());
  for (const json& result : run["results"]) {
    INFO(result.dump(2));
    REQUIRE(IsNonEmptyString(result["ruleId"]));
    CHECK(ids.count(result["ruleId"].get<std::string>()) == 1);
    if (result.contains("ruleIndex")) {
      REQUIRE(result["ruleIndex"].is_number_unsigned());
      std::size_t index = result["ruleIndex"].get<std::size_t>();
      REQUIRE(index < rules.size());
      CHECK(rules[index]["id"] == result["ruleId"]);
    }
    const json& level = result["level"];
    CHECK((level == "none" || level == "note" || level == "warning" || level == "error"));
    CHECK(IsNonEmptyString(result["message"]["text"]));
    REQUIRE(result["locations"].is_array());
    REQUIRE(!result["locations"].empty());
    CHECK(result["locations"].size() <= 10);
    for (const json& location : result["locations"]) ValidateLocation(location, expect_relative);
    if (result.contains("relatedLocations")) {
      std::set<long> related_ids;
      for (const json& location : result["relatedLocations"]) {
        ValidateLocation(location, expect_relative);
        if (location.contains("id")) {
          REQUIRE(location["id"].is_number_integer());
          CHECK(location["id"].get<long>() >= 0);
          CHECK(related_ids.insert(location["id"].get<long>()).second);
        }
      }
    }
  }
}

TEST_CASE("SARIF from RenderSarif has the structure code scanning requires", "[sarif]") {
  std::unique_ptr<Run> run = SampleRun("policies");
  const std::vector<Diagnostic>& all = run->diagnostics.diagnostics();
  // The sample covers what the renderer must handle.
  auto has = [&](Kind kind) {
    return std::any_of(all.begin(), all.end(), [&](const Diagnostic& d) { return d.kind == kind; });
  };
  REQUIRE(has(Kind::kProgramByNameOnly));
  REQUIRE(has(Kind::kComparisonMismatch));
  REQUIRE(has(Kind::kDuplicateRuleName));
  REQUIRE(has(Kind::kAllowAlwaysTrue));
  REQUIRE(has(Kind::kMissingPolicyHeader));
  REQUIRE(has(Kind::kUnusedConst));
  json log = json::parse(RenderSarif(run->sources, all, "0.1.0"));
  ValidateSarif(log, /*expect_relative=*/true);
  CHECK(log["runs"][0]["tool"]["driver"]["version"] == "0.1.0");
  CHECK(log["runs"][0]["results"].size() == all.size());
}

TEST_CASE("SARIF regions and levels match the diagnostics", "[sarif]") {
  std::unique_ptr<Run> run = SampleRun("policies");
  const std::vector<Diagnostic>& all = run->diagnostics.diagnostics();
  json results = json::parse(RenderSarif(run->sources, all, "0.1.0"))["runs"][0]["results"];
  REQUIRE(results.size() == all.size());
  for (std::size_t i = 0; i < all.size(); ++i) {
    const Diagnostic& d = all[i];
    const json& result = results[i];
    INFO(result.dump(2));
    CHECK(result["ruleId"] == std::string(Info(d.kind).code));
    CHECK(result["level"] == std::string(SeverityName(d.severity)));
    CHECK_THAT(result["message"]["text"].get<std::string>(), Catch::StartsWith(d.message));
    if (!d.help.empty()) CHECK_THAT(result["message"]["text"].get<std::string>(), Catch::Contains(d.help));
    const source::SourceFile& file = run->sources.file(d.span.file);
    const json& physical = result["locations"][0]["physicalLocation"];
    CHECK(physical["artifactLocation"]["uri"] == file.path());
    source::LineColumn begin = file.Locate(d.span.begin);
    CHECK(physical["region"]["startLine"] == begin.line);
    CHECK(physical["region"]["startColumn"] == begin.column);
    if (d.span.end > d.span.begin) {
      source::LineColumn end = file.Locate(d.span.end);
      CHECK(physical["region"]["endLine"] == end.line);
      CHECK(physical["region"]["endColumn"] == end.column);
    }
    std::size_t related = result.contains("relatedLocations") ? result["relatedLocations"].size() : 0;
    CHECK(related == d.notes.size());
  }
}

TEST_CASE("SARIF columns count code points, as columnKind says", "[sarif]") {
  std::unique_ptr<Run> run = SampleRun("policies");
  json log = json::parse(RenderSarif(run->sources, run->diagnostics.diagnostics(), "0.1.0"));
  REQUIRE(log["runs"][0]["columnKind"] == "unicodeCodePoints");
  // `args == "status"` follows `"héllo"` on its line: 43 code points (44 bytes) precede it.
  bool found = false;
  for (const json& result : log["runs"][0]["results"]) {
    if (result["ruleId"] != "GOV2007") continue;
    found = true;
    CHECK(result["locations"][0]["physicalLocation"]["region"]["startLine"] == 3);
    CHECK(result["locations"][0]["physicalLocation"]["region"]["startColumn"] == 44);
  }
  CHECK(found);
}

TEST_CASE("SARIF of no diagnostics is a valid empty run", "[sarif]") {
  source::SourceManager sources;
  json log = json::parse(RenderSarif(sources, {}, "0.1.0"));
  ValidateSarif(log, true);
  CHECK(log["runs"][0]["results"].empty());
}

// ---------------------------------------------------------------- known departures

TEST_CASE("SARIF URIs of absolute paths use the file scheme", "[sarif]") {
  // SARIF §3.10: an absolute artifact location is an absolute URI, `file:///...`;
  // RenderSarif writes the bare path `/abs/policy.gov`.
  std::unique_ptr<Run> run = SampleRun("/abs/policies");
  json log = json::parse(RenderSarif(run->sources, run->diagnostics.diagnostics(), "0.1.0"));
  std::set<std::string> wrong;
  for (const json& result : log["runs"][0]["results"]) {
    std::string uri = result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"];
    if (uri.rfind("file:///", 0) != 0) wrong.insert(uri);
  }
  CHECK(wrong == std::set<std::string>{});
}

TEST_CASE("SARIF URIs percent-encode spaces", "[sarif]") {
  std::unique_ptr<Run> run = SampleRun("my policies");
  json log = json::parse(RenderSarif(run->sources, run->diagnostics.diagnostics(), "0.1.0"));
  std::set<std::string> wrong;
  for (const json& result : log["runs"][0]["results"]) {
    std::string uri = result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"];
    if (!IsUriReference(uri)) wrong.insert(uri);
  }
  CHECK(wrong == std::set<std::string>{});
}

TEST_CASE("SARIF helpUri is an absolute URI", "[sarif]") {
  // SARIF §3.49.12: helpUri is an absolute URI; RenderSarif writes `docs/diagnostics.md#GOVnnnn`.
  source::SourceManager sources;
  json log = json::parse(RenderSarif(sources, {}, "0.1.0"));
  std::vector<std::string> relative;
  for (const json& rule : log["runs"][0]["tool"]["driver"]["rules"]) {
    if (rule.contains("helpUri") && rule["helpUri"].get<std::string>().find("://") == std::string::npos) {
      relative.push_back(rule["helpUri"]);
    }
  }
  CHECK(relative.size() == 0);
  if (!relative.empty()) WARN("e.g. helpUri " << relative.front());
}

TEST_CASE("SARIF results without a span still have a location", "[sarif]") {
  // GitHub requires at least one location per result; a diagnostic without a
  // valid span gets none.
  source::SourceManager sources;
  std::vector<Diagnostic> diagnostics{
      Diagnostic{Kind::kTooLarge, Severity::kError, source::Span{}, "policy exceeds a limit", {}, {}}};
  json log = json::parse(RenderSarif(sources, diagnostics, "0.1.0"));
  const json& result = log["runs"][0]["results"][0];
  CHECK(result.contains("locations"));
}

}  // namespace
}  // namespace gov::diagnostics
