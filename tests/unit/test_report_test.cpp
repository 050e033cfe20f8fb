// `govc test` reports: the JSON document validates against
// docs/schemas/govc-test.schema.json (with Ajv, installed by ./gov.sh under
// build/node) and a broken one does not; JUnit XML escapes what a policy's
// strings may hold; the CLI's input checks (an empty folder, `100%`).
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "compiler/driver/test_runner.h"
#include "tests/support/json_schema.h"
#include "tests/unit/test_support.h"

namespace {

namespace fs = std::filesystem;
using gov::testing::Outcome;
using gov::testing::RunCommand;

// Validates `document` (JSON text) against the schema; the validator's exit status.
int ValidateAgainstSchema(const std::string& schema, const std::string& document, std::string& output) {
  const gov::testing::SchemaCheck check = gov::testing::ValidateJsonSchema(schema, document);
  output = check.output;
  return check.status;
}

}  // namespace

TEST_CASE("govc test --format json: the document follows its schema, a broken one does not", "[test_report]") {
  // The folder holds passing, failing and untested (erroneous) policies.
  const Outcome run = RunCommand("'" GOV_GOVC "' test --format json tests/golden/test");
  CHECK(run.status == 1);
  const nlohmann::json report = nlohmann::json::parse(run.stdout_text);
  CHECK(report.at("version") == 1);
  CHECK(report.at("total").at("untested_files") == 1);
  CHECK(report.at("total").at("failed").get<int>() > 0);
  std::string output;
  CHECK(ValidateAgainstSchema("govc-test.schema.json", run.stdout_text, output) == 0);
  INFO(output);

  nlohmann::json wrong_version = report;
  wrong_version["version"] = 2;
  CHECK(ValidateAgainstSchema("govc-test.schema.json", wrong_version.dump(), output) == 1);
  nlohmann::json no_mismatches = report;
  for (nlohmann::json& file : no_mismatches["files"]) {
    if (file.at("tested") == true && !file.at("cases").empty()) {
      file["cases"][0].erase("mismatches");
      break;
    }
  }
  CHECK(ValidateAgainstSchema("govc-test.schema.json", no_mismatches.dump(), output) == 1);
  nlohmann::json unknown_mismatch = report;
  for (nlohmann::json& file : unknown_mismatch["files"]) {
    if (file.at("tested") == true && !file.at("cases").empty()) {
      file["cases"][0]["mismatches"] = {"rules"};
      break;
    }
  }
  CHECK(ValidateAgainstSchema("govc-test.schema.json", unknown_mismatch.dump(), output) == 1);
}

TEST_CASE("govc test --format junit escapes names, commands and expectations", "[test_report]") {
  gov::driver::PolicyTestReport report;
  report.path = "p<1>.gov";
  report.tested = true;
  report.engine = "IR interpreter";
  gov::driver::TestCaseResult failing;
  failing.block = "a<b>&\"c\"\x01";
  failing.file = "p<1>.gov";
  failing.line = 3;
  failing.column = 1;
  failing.command = "exec [\"/bin/x\", \"\x1b[31m\"]";
  failing.expected = "allow";
  failing.actual = "deny (no rule allows)";
  failing.mismatches = {"verdict"};
  report.cases.push_back(failing);
  const std::string xml = gov::driver::RenderTestJunit({report});
  CHECK(xml.find("classname=\"a&lt;b&gt;&amp;&quot;c&quot;\\x01\"") != std::string::npos);
  CHECK(xml.find("exec [&quot;/bin/x&quot;, &quot;\\x1b[31m&quot;]") != std::string::npos);
  CHECK(xml.find("name=\"p&lt;1&gt;.gov\" tests=\"1\" failures=\"1\"") != std::string::npos);
  for (char c : xml) {
    const auto byte = static_cast<unsigned char>(c);
    CHECK((byte >= 0x20 || c == '\n' || c == '\t'));
  }
}

TEST_CASE("govc test refuses an empty folder and accepts a percentage with %", "[test_report]") {
  const fs::path empty = fs::temp_directory_path() / ("gov_empty_" + std::to_string(::getpid()));
  fs::create_directories(empty);
  const Outcome none = RunCommand("'" GOV_GOVC "' test '" + empty.string() + "'");
  fs::remove_all(empty);
  CHECK(none.status == 2);
  CHECK(none.stderr_text.find("no policy file") != std::string::npos);
  const Outcome percent = RunCommand("'" GOV_GOVC "' test --coverage-min 100% tests/golden/test/passing.gov");
  CHECK(percent.status == 1);  // 3 of 4 rules: below 100%
  CHECK(percent.stderr_text.find("rule coverage 3/4 is below --coverage-min 100%\n") != std::string::npos);
  const Outcome filtered = RunCommand("'" GOV_GOVC "' test --filter nothing-matches tests/golden/test/passing.gov");
  CHECK(filtered.status == 0);
  CHECK(filtered.stdout_text.find("0 cases, 0 passed, 0 failed, 4 left out by the filter") != std::string::npos);
}
