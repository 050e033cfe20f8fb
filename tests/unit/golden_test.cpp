// Golden tests: every tests/golden/<suite>/*.gov is run through the real
// `govc` binary and its exit status and stderr are compared with the sibling
// `.out` file. Suites: `check` runs `govc check`, `lint` runs `govc lint`
// (with `NAME.toml` as --config when present), `fmt` runs `govc fmt --stdout`,
// `test` runs `govc test` (with the options in `NAME.args` when present;
// stdout too), `eval` runs `govc eval NAME.gov
// --request NAME.json` (stdout too), `cost` runs `govc check --cost` and
// `diff` runs `govc diff NAME.old NAME.gov` (stdout too).
// Refresh expectations with GOV_UPDATE_GOLDEN=1 (then review the diff).
#include <sys/wait.h>

#include <algorithm>
#include <array>
#include <catch2/catch.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <string>

#include "compiler/diagnostics/diagnostic.h"
#include "tests/unit/test_support.h"

namespace {

namespace fs = std::filesystem;

using gov::testing::Outcome;
using gov::testing::ReadAll;

Outcome Run(const std::string& command) { return gov::testing::RunCommand(command); }

std::vector<fs::path> Cases(const std::string& suite) {
  std::vector<fs::path> cases;
  fs::path dir = fs::path(GOV_SOURCE_DIR) / "tests" / "golden" / suite;
  if (!fs::exists(dir)) return cases;
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (entry.path().extension() == ".gov") cases.push_back(entry.path());
  }
  std::sort(cases.begin(), cases.end());
  return cases;
}

std::string Relative(const fs::path& path) { return fs::relative(path, GOV_SOURCE_DIR).string(); }

void CheckGolden(const std::string& suite, const fs::path& input) {
  std::string command;
  std::string relative = Relative(input);
  if (suite == "check") {
    command = "'" GOV_GOVC "' check " + relative;
  } else if (suite == "lint") {
    fs::path config = input;
    config.replace_extension(".toml");
    command = "'" GOV_GOVC "' lint ";
    if (fs::exists(config)) command += "--config " + Relative(config) + " ";
    command += relative;
  } else if (suite == "test") {
    // NAME.args: more options, e.g. `--format junit` or `--filter NAME`.
    fs::path options = input;
    options.replace_extension(".args");
    std::string extra;
    if (fs::exists(options)) {
      extra = ReadAll(options);
      while (!extra.empty() && (extra.back() == '\n' || extra.back() == ' ')) extra.pop_back();
      extra += " ";
    }
    command = "'" GOV_GOVC "' test " + extra + relative;
  } else if (suite == "eval") {
    fs::path request = input;
    request.replace_extension(".json");
    command = "'" GOV_GOVC "' eval " + relative + " --request " + Relative(request);
  } else if (suite == "cost") {
    command = "'" GOV_GOVC "' check --cost " + relative;
  } else if (suite == "diff") {
    fs::path before = input;
    before.replace_extension(".old");
    command = "'" GOV_GOVC "' diff " + Relative(before) + " " + relative;
  } else {
    command = "'" GOV_GOVC "' fmt --stdout " + relative;
  }
  Outcome outcome = Run(command);
  std::string actual = "# exit: " + std::to_string(outcome.status) + "\n" + outcome.stderr_text;
  if (suite != "check" && suite != "lint") actual += "# stdout:\n" + outcome.stdout_text;
  fs::path expected_path = input;
  expected_path.replace_extension(".out");
  if (std::getenv("GOV_UPDATE_GOLDEN") != nullptr) {
    std::ofstream(expected_path, std::ios::binary) << actual;
    return;
  }
  INFO("golden file " << Relative(expected_path) << " (refresh with GOV_UPDATE_GOLDEN=1)");
  REQUIRE(fs::exists(expected_path));
  CHECK(actual == ReadAll(expected_path));
}

}  // namespace

TEST_CASE("golden: govc check diagnostics", "[golden]") {
  auto cases = Cases("check");
  REQUIRE(!cases.empty());
  for (const fs::path& input : cases) {
    SECTION(input.filename().string()) { CheckGolden("check", input); }
  }
}

TEST_CASE("golden: govc lint diagnostics", "[golden]") {
  for (const fs::path& input : Cases("lint")) {
    SECTION(input.filename().string()) { CheckGolden("lint", input); }
  }
}

TEST_CASE("golden: govc fmt output", "[golden]") {
  for (const fs::path& input : Cases("fmt")) {
    SECTION(input.filename().string()) { CheckGolden("fmt", input); }
  }
}

TEST_CASE("golden: govc test results", "[golden]") {
  auto cases = Cases("test");
  REQUIRE(!cases.empty());
  for (const fs::path& input : cases) {
    SECTION(input.filename().string()) { CheckGolden("test", input); }
  }
}

TEST_CASE("golden: govc eval explanations", "[golden]") {
  auto cases = Cases("eval");
  REQUIRE(!cases.empty());
  for (const fs::path& input : cases) {
    SECTION(input.filename().string()) { CheckGolden("eval", input); }
  }
}

TEST_CASE("golden: govc check --cost bounds", "[golden]") {
  auto cases = Cases("cost");
  REQUIRE(!cases.empty());
  for (const fs::path& input : cases) {
    SECTION(input.filename().string()) { CheckGolden("cost", input); }
  }
}

TEST_CASE("golden: govc diff reports", "[golden]") {
  auto cases = Cases("diff");
  REQUIRE(!cases.empty());
  for (const fs::path& input : cases) {
    SECTION(input.filename().string()) {
      CheckGolden("diff", input);
    }
  }
}

TEST_CASE("golden: every diagnostic code has a golden test", "[golden]") {
  std::set<std::string> seen;
  std::regex code_pattern(R"(\[(GOV[0-9]{4})\])");
  for (const std::string suite : {"check", "lint", "fmt"}) {
    fs::path dir = fs::path(GOV_SOURCE_DIR) / "tests" / "golden" / suite;
    if (!fs::exists(dir)) continue;
    for (const auto& entry : fs::directory_iterator(dir)) {
      if (entry.path().extension() != ".out") continue;
      std::string text = ReadAll(entry.path());
      for (auto it = std::sregex_iterator(text.begin(), text.end(), code_pattern); it != std::sregex_iterator(); ++it) {
        seen.insert((*it)[1]);
      }
    }
  }
  for (const gov::diagnostics::KindInfo& info : gov::diagnostics::AllKinds()) {
    INFO("no golden .out file under tests/golden/ shows " << info.code << " (" << info.name << ")");
    CHECK(seen.count(std::string(info.code)) == 1);
  }
}
