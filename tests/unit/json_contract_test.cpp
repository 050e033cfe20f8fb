// Machine-readable outputs and inputs as a contract (docs/schemas): every
// schema compiles in Ajv's strict mode and is linked from the docs; the real
// JSON of govc check (and --cost), lint and eval, the requests of the tests
// and docs, and govrun's configurations (TOML, as JSON) validate against
// their schemas; mutated documents do not, and the request reader refuses
// the mutated requests too, so schema and reader agree.
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>
#include <regex>
#include <set>
#include <string>
#include <vector>

#include "compiler/driver/build.h"
#include "compiler/driver/driver.h"
#include "runtime/request/request.h"
#include "tests/support/json_schema.h"
#include "tests/unit/test_support.h"

namespace {

namespace fs = std::filesystem;
using gov::testing::ExpectInvalidJson;
using gov::testing::ExpectValidJson;
using gov::testing::Outcome;
using gov::testing::ParseOneJson;
using gov::testing::ReadAll;
using gov::testing::RunCommand;
using gov::testing::ValidateJsonSchema;
using nlohmann::json;

const fs::path kSchemas = fs::path(GOV_SOURCE_DIR) / "docs" / "schemas";

// The fenced code blocks of `markdown` in `language` (```language ... ```).
std::vector<std::string> CodeBlocks(const std::string& markdown, const std::string& language) {
  std::vector<std::string> blocks;
  const std::string open = "```" + language + "\n";
  for (std::size_t at = markdown.find(open); at != std::string::npos; at = markdown.find(open, at)) {
    at += open.size();
    const std::size_t end = markdown.find("```", at);
    if (end == std::string::npos) break;
    blocks.push_back(markdown.substr(at, end - at));
    at = end + 3;
  }
  return blocks;
}

// A TOML text as the JSON of its table, by Python's tomllib (3.11+).
json TomlToJson(const std::string& toml) {
  static int counter = 0;
  const fs::path file = fs::temp_directory_path() /
                        ("gov_config_" + std::to_string(::getpid()) + "_" + std::to_string(counter++) + ".toml");
  std::ofstream(file, std::ios::binary) << toml;
  const Outcome converted = RunCommand(
      "python3 -c 'import json, sys, tomllib; print(json.dumps(tomllib.load(open(sys.argv[1], \"rb\"))))' '" +
      file.string() + "'");
  fs::remove(file);
  INFO(toml << converted.stderr_text);
  REQUIRE(converted.status == 0);
  return json::parse(converted.stdout_text);
}

// `document` with the JSON merge patch `patch` (RFC 7386: null removes a key).
json Patched(const json& document, const json& patch) {
  json patched = document;
  patched.merge_patch(patch);
  return patched;
}

// The policy's context declarations, for reading requests written for it.
std::vector<gov::ir::ContextField> ContextOf(const std::string& policy) {
  std::optional<gov::ErrorOr<gov::driver::LoweredPolicy>> lowered;
  gov::driver::RunWithLargeStack([&] { lowered.emplace(gov::driver::LowerPolicy(policy)); });
  REQUIRE(lowered->ok());
  REQUIRE(lowered->value().ok());
  return lowered->value().policy.context;
}

}  // namespace

TEST_CASE("docs/schemas: every schema compiles, names itself and is linked from the docs", "[json_contract]") {
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(kSchemas)) {
    const std::string name = entry.path().filename().string();
    if (name.size() > 12 && name.ends_with(".schema.json")) names.push_back(name);
  }
  std::sort(names.begin(), names.end());
  REQUIRE(names.size() >= 9);
  std::string arguments = "--compile";
  for (const std::string& name : names) arguments += " 'docs/schemas/" + name + "'";
  const gov::testing::SchemaCheck compiled = gov::testing::RunSchemaValidator(arguments);
  INFO(compiled.output);
  CHECK(compiled.status == 0);

  // Every doc page but the index, concatenated: each schema is linked from one.
  std::string docs;
  for (const auto& entry : fs::directory_iterator(fs::path(GOV_SOURCE_DIR) / "docs")) {
    if (entry.path().extension() == ".md") docs += ReadAll(entry.path());
  }
  const std::string index = ReadAll(kSchemas / "README.md");
  for (const std::string& name : names) {
    INFO(name);
    const json schema = json::parse(ReadAll(kSchemas / name));
    CHECK(schema.at("$schema") == "https://json-schema.org/draft/2020-12/schema");
    CHECK(schema.at("$id") == "https://gov.invalid/schemas/" + name);
    CHECK(!schema.at("title").get<std::string>().empty());
    CHECK(!schema.at("description").get<std::string>().empty());
    CHECK(index.find("(" + name + ")") != std::string::npos);
    CHECK(docs.find("(schemas/" + name + ")") != std::string::npos);
  }

  // A schema Ajv's strict mode refuses fails the check.
  const fs::path broken = fs::temp_directory_path() / ("gov_broken_" + std::to_string(::getpid()) + ".schema.json");
  std::ofstream(broken) << R"({"$schema": "https://json-schema.org/draft/2020-12/schema", "type": "objekt"})";
  const gov::testing::SchemaCheck refused = gov::testing::RunSchemaValidator("--compile '" + broken.string() + "'");
  fs::remove(broken);
  CHECK(refused.status == 1);
}

TEST_CASE("govc check --format json: one document with a version, and --cost adds costs to it", "[json_contract]") {
  const std::string schema = "govc-check.schema.json";
  const Outcome errors =
      RunCommand("'" GOV_GOVC "' check --format json tests/golden/check/2007_comparison_mismatch.gov");
  CHECK(errors.status == 1);
  CHECK(errors.stderr_text.empty());
  const json report = ParseOneJson(errors.stdout_text);
  CHECK(report.at("version") == 1);
  CHECK(!report.contains("costs"));
  REQUIRE(!report.at("diagnostics").empty());
  CHECK(report.at("diagnostics").at(0).at("code") == "GOV2007");
  ExpectValidJson(schema, errors.stdout_text);

  // --cost: the bounds are in the same document, nothing follows it.
  const Outcome cost = RunCommand("'" GOV_GOVC "' check --cost --format json tests/golden/cost/quantifiers.gov");
  CHECK(cost.status == 0);
  CHECK(cost.stderr_text.empty());
  const json costs = ParseOneJson(cost.stdout_text);
  CHECK(costs.at("diagnostics").empty());
  REQUIRE(costs.at("costs").size() == 1);
  const json& first = costs.at("costs").at(0);
  CHECK(first.at("policy") == "quantifiers");
  CHECK(first.at("max_rules_evaluated") == 3);
  CHECK(first.at("rules").size() == 4);
  // The text form is the golden text output's.
  const std::string golden = ReadAll(fs::path(GOV_SOURCE_DIR) / "tests/golden/cost/quantifiers.out");
  CHECK(golden.find("at most " + first.at("decision").at("text").get<std::string>() + " steps") != std::string::npos);
  CHECK(first.at("decision").at("terms").size() == 4);
  ExpectValidJson(schema, cost.stdout_text);

  // --cost with an error: the diagnostics, no costs.
  const Outcome failed =
      RunCommand("'" GOV_GOVC "' check --cost --format json tests/golden/check/2003_unknown_name.gov");
  CHECK(failed.status == 1);
  CHECK(!ParseOneJson(failed.stdout_text).contains("costs"));
  ExpectValidJson(schema, failed.stdout_text);

  json mutated = report;
  mutated["version"] = 2;
  ExpectInvalidJson(schema, mutated, "version 2");
  ExpectInvalidJson(schema, report.at("diagnostics"), "the bare array of before version 1");
  mutated = report;
  mutated["diagnostics"][0]["severity"] = "fatal";
  ExpectInvalidJson(schema, mutated, "an unknown severity");
  mutated = report;
  mutated["diagnostics"][0].erase("span");
  ExpectInvalidJson(schema, mutated, "no span");
  mutated = report;
  mutated["diagnostics"][0]["span"]["line"] = 0;
  ExpectInvalidJson(schema, mutated, "line 0");
  mutated = costs;
  mutated["costs"][0]["decision"]["terms"][0]["variables"] = {"argv"};
  ExpectInvalidJson(schema, mutated, "an unknown collection");
  mutated = costs;
  mutated["costs"][0]["rules"][0].erase("name");
  ExpectInvalidJson(schema, mutated, "a rule cost without its name");
  mutated = costs;
  mutated["costs"][0]["decision"]["name"] = "x";
  ExpectInvalidJson(schema, mutated, "an unknown key in the decision's bound");
}

TEST_CASE("govc lint --format json: the same document as check", "[json_contract]") {
  const Outcome lint = RunCommand("'" GOV_GOVC
                                  "' lint --format json --config tests/golden/lint/0001_levels_from_config.toml "
                                  "tests/golden/lint/0001_levels_from_config.gov");
  CHECK(lint.status == 1);
  const json report = ParseOneJson(lint.stdout_text);
  CHECK(report.at("version") == 1);
  REQUIRE(!report.at("diagnostics").empty());
  CHECK(report.at("diagnostics").at(0).at("code") == "GOV3001");
  ExpectValidJson("govc-check.schema.json", lint.stdout_text);
}

TEST_CASE("govc diff --format json: classes with example requests, and why a report is unproved", "[json_contract]") {
  const std::string schema = "govc-diff.schema.json";
  const Outcome proved = RunCommand(
      "'" GOV_GOVC "' diff --format json tests/golden/diff/agent_change.old tests/golden/diff/agent_change.gov");
  CHECK(proved.status == 1);
  const json report = ParseOneJson(proved.stdout_text);
  CHECK(report.at("proved") == true);
  REQUIRE(report.at("classes").size() == 3);
  ExpectValidJson(schema, proved.stdout_text);
  // Each example is a request govc eval reads.
  ExpectValidJson("gov-request.schema.json", report.at("classes").at(0).at("request").dump());

  const Outcome unproved = RunCommand("'" GOV_GOVC "' diff --format json examples/agent.gov examples/agent.gov");
  CHECK(unproved.status == 3);
  const json open = ParseOneJson(unproved.stdout_text);
  CHECK(open.at("proved") == false);
  CHECK(open.at("opaque_tests").get<int>() > 0);
  ExpectValidJson(schema, unproved.stdout_text);

  json mutated = report;
  mutated["version"] = 2;
  ExpectInvalidJson(schema, mutated, "version 2");
  mutated = report;
  mutated["classes"][0]["old"]["verdict"] = "maybe";
  ExpectInvalidJson(schema, mutated, "an unknown verdict");
  mutated = report;
  mutated["classes"][0].erase("request");
  ExpectInvalidJson(schema, mutated, "a class without its example");
}

TEST_CASE("govc bench --format json: a policy's tests or a bundle with a requests file, measured", "[json_contract]") {
  const std::string schema = "govc-bench.schema.json";
  const Outcome source = RunCommand("'" GOV_GOVC "' bench --rounds 3 --format json examples/ci-deploy.gov");
  INFO(source.stderr_text);
  REQUIRE(source.status == 0);
  ExpectValidJson(schema, source.stdout_text);
  const json measured = ParseOneJson(source.stdout_text);
  CHECK(measured.at("policy").at("name") == "ci_deploy");
  CHECK(measured.at("build_ms").at("total").get<double>() > 0);
  CHECK(measured.at("bundle").at("bytes").get<std::uint64_t>() >
        measured.at("bundle").at("native_bytes").get<std::uint64_t>() +
            measured.at("bundle").at("ir_bytes").get<std::uint64_t>());
  std::size_t decided = 0;
  for (const auto& [verdict, count] : measured.at("verdicts").items()) decided += count.get<std::size_t>();
  CHECK(decided == measured.at("requests").at("count").get<std::size_t>());
  CHECK(measured.at("requests").at("from").get<std::string>().find("test case") != std::string::npos);

  // A bundle and two requests (one line each): the verdicts are the policy's.
  const fs::path dir = fs::temp_directory_path() / ("gov_bench_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const std::string d = dir.string();
  REQUIRE(RunCommand("'" GOV_GOVC "' keygen '" + d + "/k'").status == 0);
  REQUIRE(RunCommand("'" GOV_GOVC "' build tests/golden/eval/default_deny.gov --key '" + d + "/k.key' -o '" + d +
                     "/p.govb'")
              .status == 0);
  std::string request = ReadAll("tests/golden/eval/default_deny.json");
  request.erase(std::remove(request.begin(), request.end(), '\n'), request.end());
  std::ofstream(d + "/requests.jsonl") << request << "\n\n" << request << "\n";
  const Outcome bundle = RunCommand("'" GOV_GOVC "' bench --rounds 3 --format json --bundle '" + d +
                                    "/p.govb' --trust '" + d + "/k.pub' --requests '" + d + "/requests.jsonl'");
  INFO(bundle.stderr_text);
  REQUIRE(bundle.status == 0);
  ExpectValidJson(schema, bundle.stdout_text);
  const json from_bundle = ParseOneJson(bundle.stdout_text);
  CHECK(from_bundle.at("build_ms").is_null());
  CHECK(from_bundle.at("requests").at("count") == 2);
  CHECK(from_bundle.at("verdicts") == json{{"deny", 2}});  // as `govc eval` decides it (tests/golden/eval)
  CHECK_FALSE(from_bundle.contains("per_rule"));

  // --per-rule: the bundle's rules, each compiled alone, every one named once.
  const Outcome per_rule = RunCommand("'" GOV_GOVC "' bench --rounds 4 --per-rule --format json --bundle '" + d +
                                      "/p.govb' --trust '" + d + "/k.pub' --requests '" + d + "/requests.jsonl'");
  INFO(per_rule.stderr_text);
  REQUIRE(per_rule.status == 0);
  ExpectValidJson(schema, per_rule.stdout_text);
  const json rules = ParseOneJson(per_rule.stdout_text).at("per_rule").at("rules");
  std::set<std::string> named;
  for (const json& rule : rules) named.insert(rule.at("rule").get<std::string>());
  CHECK(named.size() == 4);
  CHECK(rules.size() == 4);
  for (std::size_t i = 1; i < rules.size(); ++i) {
    CHECK(rules[i - 1].at("native_ns").get<double>() >= rules[i].at("native_ns").get<double>());
  }
  const Outcome per_rule_text = RunCommand("'" GOV_GOVC "' bench --rounds 4 --per-rule --bundle '" + d +
                                           "/p.govb' --trust '" + d + "/k.pub' --requests '" + d + "/requests.jsonl'");
  REQUIRE(per_rule_text.status == 0);
  CHECK(per_rule_text.stdout_text.find("per rule (each compiled alone") != std::string::npos);
  for (const std::string& name : named) CHECK(per_rule_text.stdout_text.find("    " + name + " ") != std::string::npos);

  // What cannot be measured is a tool failure (2) that says why.
  const Outcome no_requests = RunCommand("'" GOV_GOVC "' bench --bundle '" + d + "/p.govb' --trust '" + d + "/k.pub'");
  CHECK(no_requests.status == 2);
  CHECK(no_requests.stderr_text.find("--bundle needs --requests") != std::string::npos);
  std::ofstream(d + "/bad.jsonl") << request << "\n{\"program\": 3}\n";
  const Outcome bad_line = RunCommand("'" GOV_GOVC "' bench --bundle '" + d + "/p.govb' --trust '" + d +
                                      "/k.pub' --requests '" + d + "/bad.jsonl'");
  CHECK(bad_line.status == 2);
  CHECK(bad_line.stderr_text.find("bad.jsonl: line 2: ") != std::string::npos);
  const Outcome untested = RunCommand("'" GOV_GOVC "' bench tests/golden/eval/default_deny.gov");
  CHECK(untested.status == 2);
  CHECK(untested.stderr_text.find("no requests to decide") != std::string::npos);
  fs::remove_all(dir);

  json mutated = measured;
  mutated["verdicts"]["maybe"] = 1;
  ExpectInvalidJson(schema, mutated, "an unknown verdict");
  mutated = measured;
  mutated["native_ns"].erase("p99");
  ExpectInvalidJson(schema, mutated, "a spread without its p99");
}

TEST_CASE("govc eval --format json: every golden request's decision follows the schema", "[json_contract]") {
  const std::string schema = "govc-eval.schema.json";
  std::optional<json> default_deny;
  std::optional<json> with_obligations;
  std::size_t runs = 0;
  for (const auto& entry : fs::directory_iterator(fs::path(GOV_SOURCE_DIR) / "tests/golden/eval")) {
    if (entry.path().extension() != ".gov") continue;
    fs::path request = entry.path();
    request.replace_extension(".json");
    const std::string relative = fs::relative(entry.path(), GOV_SOURCE_DIR).string();
    const Outcome eval = RunCommand("'" GOV_GOVC "' eval --interp --format json " + relative + " --request '" +
                                    fs::relative(request, GOV_SOURCE_DIR).string() + "'");
    INFO(relative << "\n" << eval.stderr_text);
    CHECK(eval.status == 0);
    const json decision = ParseOneJson(eval.stdout_text);
    CHECK(decision.at("version") == 1);
    ExpectValidJson(schema, eval.stdout_text);
    if (decision.contains("not_allowed") && !decision.at("not_allowed").empty()) default_deny = decision;
    if (!decision.at("obligations").empty() && !decision.at("rules").empty()) with_obligations = decision;
    ++runs;
  }
  CHECK(runs >= 7);
  REQUIRE(default_deny);
  REQUIRE(with_obligations);

  json mutated = *with_obligations;
  mutated["version"] = "1";
  ExpectInvalidJson(schema, mutated, "a version that is a string");
  mutated = *with_obligations;
  mutated["verdict"] = "maybe";
  ExpectInvalidJson(schema, mutated, "an unknown verdict");
  mutated = *with_obligations;
  mutated["rules"][0].erase("reason");
  ExpectInvalidJson(schema, mutated, "a rule without its reason");
  mutated = *with_obligations;
  mutated["obligations"]["timeout"] = 5;
  ExpectInvalidJson(schema, mutated, "an unknown obligation");
  mutated = *default_deny;
  mutated["not_allowed"][0]["why"] = "because";
  ExpectInvalidJson(schema, mutated, "an unknown why");
  mutated = *default_deny;
  mutated["explanation"] = "";
  ExpectInvalidJson(schema, mutated, "an unknown key");
}

TEST_CASE(
    "requests: the tests' and the docs' requests follow the schema, and schema and reader refuse the same breakage",
    "[json_contract]") {
  const std::string schema = "gov-request.schema.json";
  std::size_t requests = 0;
  for (const auto& entry : fs::directory_iterator(fs::path(GOV_SOURCE_DIR) / "tests/golden/eval")) {
    if (entry.path().extension() != ".json") continue;
    INFO(entry.path());
    ExpectValidJson(schema, ReadAll(entry.path()));
    ++requests;
  }
  // docs/request.md's examples are for examples/agent.gov: the reader accepts them too.
  const std::vector<gov::ir::ContextField> agent = ContextOf(std::string(GOV_SOURCE_DIR) + "/examples/agent.gov");
  for (const std::string& block : CodeBlocks(ReadAll(fs::path(GOV_SOURCE_DIR) / "docs/request.md"), "json")) {
    if (block.find("\"program\"") == std::string::npos) continue;
    INFO(block);
    ExpectValidJson(schema, block);
    CHECK(gov::request::RequestFromJson(block, agent).ok());
    ++requests;
  }
  CHECK(requests >= 9);

  // Canonical output (every key written, byte strings) is a request too.
  const json base = {
      {"program", "/usr/bin/make"},
      {"args", {"release", {{"base64", "Yf8="}}}},
      {"env", {{"HOME", "/home/dev"}}},
      {"cwd", "/work/repo"},
      {"user", {{"name", "dev"}, {"uid", 1000}, {"gid", 1000}, {"groups", {"dev"}}}},
      {"time", "2026-01-01T12:00:00Z"},
      {"parent", {{"run_id", "54e72a2b57111b071d453e86df9cfb52"}, {"depth", 0}, {"program", "/bin/sh"}}}};
  ExpectValidJson(schema, base.dump());
  gov::ErrorOr<gov::request::Request> read = gov::request::RequestFromJson(base.dump(), {});
  INFO((read.ok() ? std::string() : read.error().message));
  REQUIRE(read.ok());
  const std::string canonical = gov::request::RequestToJson(read.value(), {});
  ExpectValidJson(schema, canonical);

  // Each breakage: the schema refuses it and so does the reader.
  const std::vector<std::pair<std::string, json>> broken = {
      {"an unknown key", Patched(base, {{"argz", json::array()}})},
      {"no program",
       [&] {
         json j = base;
         j.erase("program");
         return j;
       }()},
      {"a relative program", Patched(base, {{"program", "usr/bin/make"}})},
      {"a relative cwd", Patched(base, {{"cwd", "work"}})},
      {"a malformed digest", Patched(base, {{"sha256", "sha256:ABC"}})},
      {"base64 without padding", Patched(base, {{"argv0", {{"base64", "Yf8"}}}})},
      {"base64 with unused bits set", Patched(base, {{"argv0", {{"base64", "Yf9="}}}})},
      {"a byte string with another key", Patched(base, {{"host", {{"base64", "Yf8="}, {"hex", "61ff"}}}})},
      {"a uid that is not an integer", Patched(base, {{"user", {{"uid", 1.5}}}})},
      {"an unknown user key", Patched(base, {{"user", {{"home", "/root"}}}})},
      {"an impossible month", Patched(base, {{"time", "2026-13-01T00:00:00Z"}})},
      {"a parent without depth", Patched(base, {{"parent", {{"depth", nullptr}}}})},
      {"args that are not a list", Patched(base, {{"args", "release"}})},
      {"written_in_session as a string", Patched(base, {{"written_in_session", "true"}})},
  };
  for (const auto& [what, document] : broken) {
    ExpectInvalidJson(schema, document, what);
    INFO("the reader, on " << what << ": " << document.dump());
    CHECK_FALSE(gov::request::RequestFromJson(document.dump(), {}).ok());
  }
}

TEST_CASE("govrun configuration: the documented and the tests' configurations follow the schema", "[json_contract]") {
  const std::string schema = "govrun-config.schema.json";
  std::vector<std::string> configs;
  for (const std::string& block : CodeBlocks(ReadAll(fs::path(GOV_SOURCE_DIR) / "docs/govrun.md"), "toml")) {
    if (block.find("policy") != std::string::npos) configs.push_back(block);
  }
  for (const std::string& block : CodeBlocks(ReadAll(fs::path(GOV_SOURCE_DIR) / "docs/govd.md"), "toml")) {
    if (block.find("policy") != std::string::npos) configs.push_back(block);
  }
  REQUIRE(configs.size() >= 2);
  // The configuration tests/govrun's fixture writes: its C++ string literals.
  const std::string support = ReadAll(fs::path(GOV_SOURCE_DIR) / "tests/govrun/support.h");
  const std::size_t call = support.find("WriteConfig(\n");
  REQUIRE(call != std::string::npos);
  const std::string literals = support.substr(call, support.find(");", call) - call);
  std::string fixture;
  const std::regex literal(R"re("((?:[^"\\]|\\.)*)")re");
  for (auto it = std::sregex_iterator(literals.begin(), literals.end(), literal); it != std::sregex_iterator(); ++it) {
    fixture +=
        std::regex_replace(std::regex_replace((*it)[1].str(), std::regex(R"(\\n)"), "\n"), std::regex(R"(\\")"), "\"");
  }
  REQUIRE(fixture.find("signing_key") != std::string::npos);
  configs.push_back(fixture);

  std::optional<json> example;
  for (const std::string& config : configs) {
    const json table = TomlToJson(config);
    ExpectValidJson(schema, table.dump());
    if (table.contains("signing_key") && table.contains("ask_timeout")) example = table;
  }
  REQUIRE(example);
  // The keys the table documents, all at once (with the service, not the key).
  json service = *example;
  service.erase("signing_key");
  service.merge_patch({{"lineage_service", "/run/gov/govd.sock"},
                       {"ask", "service"},
                       {"kill_grace", 2000},
                       {"session_drift", "stop-session"},
                       {"lineage_lock_timeout", "10s"},
                       {"lock", true}});
  ExpectValidJson(schema, service.dump());

  const std::vector<std::pair<std::string, json>> broken = {
      {"an unknown key", Patched(*example, {{"policies", "x.govb"}})},
      {"no trusted key", Patched(*example, {{"trusted_keys", json::array()}})},
      {"a trusted key that is not a string", Patched(*example, {{"trusted_keys", {1}}})},
      {"no policy", Patched(*example, {{"policy", nullptr}})},
      {"neither signing_key nor lineage_service", Patched(*example, {{"signing_key", nullptr}})},
      {"signing_key and lineage_service", Patched(*example, {{"lineage_service", "/run/gov/govd.sock"}})},
      {"ask by the service without one", Patched(*example, {{"ask", "service"}})},
      {"a duration in hours", Patched(*example, {{"ask_timeout", "1h"}})},
      {"a duration over 24 h", Patched(*example, {{"kill_grace", 86400001}})},
      {"an unknown drift action", Patched(*example, {{"session_drift", "ignore"}})},
      {"lock as a string", Patched(*example, {{"lock", "true"}})},
  };
  for (const auto& [what, document] : broken) ExpectInvalidJson(schema, document, what);
}

TEST_CASE("gov.toml: the documented and the golden configurations follow the schema, the broken ones do not",
          "[json_contract]") {
  const std::string schema = "govc-lint-config.schema.json";
  const fs::path golden = fs::path(GOV_SOURCE_DIR) / "tests/golden/lint";
  std::vector<std::string> blocks = CodeBlocks(ReadAll(fs::path(GOV_SOURCE_DIR) / "docs/lint.md"), "toml");
  REQUIRE(!blocks.empty());
  blocks.push_back(ReadAll(golden / "0001_levels_from_config.toml"));
  for (const std::string& block : blocks) ExpectValidJson(schema, TomlToJson(block).dump());
  // The golden cases of GOV4002 (unknown codes), GOV4003 (a bad level) and
  // GOV4004 (an unknown table) are TOML the schema refuses.
  for (const char* name :
       {"4002_config_unknown_code.toml", "4003_config_invalid_level.toml", "4004_config_unknown_key.toml"}) {
    ExpectInvalidJson(schema, TomlToJson(ReadAll(golden / name)), name);
  }
  ExpectInvalidJson(schema, {{"lint", {{"GOV3001", "Warning"}}}}, "a level that is not lower-case");
  ExpectInvalidJson(schema, {{"lint", "off"}}, "lint that is not a table");

  // It names every lint of docs/lint.md's table, by code and by name, and nothing else.
  const json names = json::parse(ReadAll(kSchemas / schema))["properties"]["lint"]["propertyNames"]["enum"];
  std::set<std::string> documented;
  const std::string lints = ReadAll(fs::path(GOV_SOURCE_DIR) / "docs/lint.md");
  const std::regex row(R"(\n\| (GOV3[0-9]{3}) \| `(\w+)` \|)");
  for (auto it = std::sregex_iterator(lints.begin(), lints.end(), row); it != std::sregex_iterator(); ++it) {
    documented.insert((*it)[1]);
    documented.insert((*it)[2]);
  }
  CHECK(documented.size() >= 28);
  CHECK(names.get<std::set<std::string>>() == documented);
}
