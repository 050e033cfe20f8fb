// govverify's JSON as a contract (docs/schemas): the reports of a verified
// log, a bundle and a tampered log, and `list` and `show`, validate against
// govverify-report/-list/-show.schema.json (with Ajv); mutated documents do
// not, so a schema that accepts everything is caught.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "tests/lineage/helpers.h"
#include "tests/support/json_schema.h"

#ifndef GOV_GOVVERIFY
#define GOV_GOVVERIFY "govverify"
#endif

namespace gov::lineage {
namespace {

using nlohmann::json;
using testing::ExpectInvalidJson;
using testing::ExpectValidJson;
using testing::ParseOneJson;

}  // namespace

TEST_CASE("govverify --format json, list and show follow their schemas, and broken documents do not",
          "[lineage][cli][json_contract]") {
  Session s;
  const std::string pub = s.dir.path + "/key.pub";
  REQUIRE(crypto::WritePublicKeyFile(pub, s.key.public_key()).ok());
  auto govverify = [&](std::vector<std::string> args) {
    args.insert(args.begin(), GOV_GOVVERIFY);
    return RunProgram(args, s.dir.path);
  };

  // A log and a bundle, verified.
  const Ran verified = govverify({"--trust", pub, "--format", "json", s.dir.path, s.bundle_path});
  INFO(verified.err);
  CHECK(verified.code == 0);
  const json report = ParseOneJson(verified.out);
  CHECK(report.at("version") == 1);
  REQUIRE(report.at("results").size() == 2);
  ExpectValidJson("govverify-report.schema.json", verified.out);

  // A log with a record deleted: a failure, still a valid report.
  std::vector<std::string> lines = Lines(ReadFile(s.log_path));
  lines.erase(lines.begin() + 2);
  WriteFile(s.dir.path + "/deleted.log", Join(lines));
  const Ran deleted = govverify({"--trust", pub, "--format", "json", s.dir.path + "/deleted.log"});
  CHECK(deleted.code == 2);
  const json failed = ParseOneJson(deleted.out);
  CHECK(failed.at("results").at(0).at("failure").at("class") == "chain");
  ExpectValidJson("govverify-report.schema.json", deleted.out);

  json mutated = report;
  mutated["version"] = 2;
  ExpectInvalidJson("govverify-report.schema.json", mutated, "version 2");
  mutated = report;
  mutated["results"][0]["failure"] = failed.at("results").at(0).at("failure");
  ExpectInvalidJson("govverify-report.schema.json", mutated, "ok with a failure");
  mutated = failed;
  mutated["results"][0]["failure"]["class"] = "tampered";
  ExpectInvalidJson("govverify-report.schema.json", mutated, "an unknown failure class");
  mutated = report;
  for (json& result : mutated["results"]) {
    if (result.at("kind") == "bundle") result.erase("root");
  }
  ExpectInvalidJson("govverify-report.schema.json", mutated, "a bundle without its root");
  mutated = report;
  mutated["results"][0]["runs"] = -1;
  ExpectInvalidJson("govverify-report.schema.json", mutated, "a negative count");

  // list: every run of the log.
  const Ran list = govverify({"list", "--trust", pub, "--format", "json", s.dir.path});
  INFO(list.err);
  CHECK(list.code == 0);
  const json listed = ParseOneJson(list.out);
  CHECK(listed.at("runs").size() == 4);
  ExpectValidJson("govverify-list.schema.json", list.out);
  mutated = listed;
  mutated["runs"][0]["verdict"] = "maybe";
  ExpectInvalidJson("govverify-list.schema.json", mutated, "an unknown verdict");
  mutated = listed;
  mutated["runs"][0]["request"]["argz"] = json::array();
  ExpectInvalidJson("govverify-list.schema.json", mutated, "a request with an unknown key");
  mutated = listed;
  mutated["runs"][0].erase("certified");
  ExpectInvalidJson("govverify-list.schema.json", mutated, "a run without certified");
  mutated = listed;
  mutated["report"].erase("ok");
  ExpectInvalidJson("govverify-list.schema.json", mutated, "a report without ok");

  // show: one run.
  const Ran show = govverify({"show", "--trust", pub, "--format", "json", s.root, s.dir.path});
  INFO(show.err);
  CHECK(show.code == 0);
  const json shown = ParseOneJson(show.out);
  CHECK(shown.at("run").at("id") == s.root);
  ExpectValidJson("govverify-show.schema.json", show.out);
  mutated = shown;
  mutated["run"]["inclusion_proof"] = {
      {"leaf_index", 0}, {"tree_size", 1}, {"leaf_hash", "xyz"}, {"proof", json::array()}, {"root", "00"}};
  ExpectInvalidJson("govverify-show.schema.json", mutated, "a malformed inclusion proof");
  mutated = shown;
  mutated["runs"] = json::array({shown.at("run")});
  ExpectInvalidJson("govverify-show.schema.json", mutated, "list's key in show");
}

}  // namespace gov::lineage
