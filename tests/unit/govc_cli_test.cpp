// govc's command line: usage errors are 64 with what to write instead
// (`govc chek` → `govc check`, `--formt` → `--format`), `govc help
// SUBCOMMAND`, and `govc build` refusing a policy whose own tests fail.
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <string>

#include "tests/unit/test_support.h"

namespace {

namespace fs = std::filesystem;
using gov::testing::Outcome;
using gov::testing::RunCommand;

bool Contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

}  // namespace

TEST_CASE("govc usage errors are 64 and say what to write", "[govc][cli]") {
  const Outcome misspelt = RunCommand("'" GOV_GOVC "' chek examples/agent.gov");
  CHECK(misspelt.status == 64);
  CHECK(Contains(misspelt.stderr_text, "unknown subcommand `chek`"));
  CHECK(Contains(misspelt.stderr_text, "did you mean `govc check`?"));
  const Outcome option = RunCommand("'" GOV_GOVC "' test --formt json examples/agent.gov");
  CHECK(option.status == 64);
  CHECK(Contains(option.stderr_text, "did you mean `--format`?"));
  const Outcome truncated = RunCommand("'" GOV_GOVC "' test --coverage 100 examples/agent.gov");
  CHECK(truncated.status == 64);
  CHECK(Contains(truncated.stderr_text, "did you mean `--coverage-min`?"));
  const Outcome value = RunCommand("'" GOV_GOVC "' test --format yaml examples/agent.gov");
  CHECK(value.status == 64);
  const Outcome none = RunCommand("'" GOV_GOVC "'");
  CHECK(none.status == 64);
}

TEST_CASE("govc help SUBCOMMAND prints that subcommand's help", "[govc][cli]") {
  const Outcome help = RunCommand("'" GOV_GOVC "' help test");
  CHECK(help.status == 0);
  CHECK(Contains(help.stdout_text, "--coverage-min"));
  CHECK(Contains(help.stdout_text, "--format"));
  const Outcome all = RunCommand("'" GOV_GOVC "' help");
  CHECK(all.status == 0);
  CHECK(Contains(all.stdout_text, "Exit status"));
  const Outcome unknown = RunCommand("'" GOV_GOVC "' help tset");
  CHECK(unknown.status == 64);
  CHECK(Contains(unknown.stderr_text, "did you mean `govc test`?"));
}

TEST_CASE("govc build writes no bundle while the policy's own tests fail", "[govc][cli]") {
  const fs::path dir = fs::temp_directory_path() / ("gov_build_tests_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const std::string key = (dir / "k").string();
  REQUIRE(RunCommand("'" GOV_GOVC "' keygen '" + key + "'").status == 0);
  const std::string bundle = (dir / "failing.govb").string();
  const Outcome refused =
      RunCommand("'" GOV_GOVC "' build tests/golden/test/failing.gov --key '" + key + ".key' -o '" + bundle + "'");
  CHECK(refused.status == 1);
  CHECK(Contains(refused.stderr_text, "FAIL test \"verdicts\""));
  CHECK(
      Contains(refused.stderr_text, "4 of 5 test cases of tests/golden/test/failing.gov fail; no bundle was written"));
  CHECK_FALSE(fs::exists(bundle));
  const Outcome skipped = RunCommand("'" GOV_GOVC "' build tests/golden/test/failing.gov --skip-tests --key '" + key +
                                     ".key' -o '" + bundle + "'");
  CHECK(skipped.status == 0);
  CHECK(fs::exists(bundle));
  // A public key where the private one belongs is named as such.
  const Outcome public_key =
      RunCommand("'" GOV_GOVC "' build tests/golden/test/passing.gov --key '" + key + ".pub' -o '" + bundle + "'");
  CHECK(public_key.status == 2);
  CHECK(Contains(public_key.stderr_text, key + ".pub is a public key; signing needs the private key"));
  fs::remove_all(dir);
}
