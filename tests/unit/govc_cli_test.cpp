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

TEST_CASE("govc reads a policy, a request or a bundle from `-` and writes `-` to stdout", "[govc][cli]") {
  const fs::path dir = fs::temp_directory_path() / ("gov_stdin_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const std::string d = dir.string();
  // A broken policy on stdin: its diagnostics name <stdin>.
  const Outcome broken = RunCommand(
      "printf 'policy p version \"1\"\\nallow a when program.nme == \"x\"\\n' | '" GOV_GOVC "' check --color never -");
  CHECK(broken.status == 1);
  CHECK(Contains(broken.stderr_text, "<stdin>:2:"));
  // Formatting standard input prints the formatted text and touches no file.
  const Outcome formatted = RunCommand(
      "printf 'policy p version \"1\"\\nallow   a when program.name==\"x\" because \"x\"\\n' | '" GOV_GOVC "' fmt -");
  CHECK(formatted.status == 0);
  CHECK(Contains(formatted.stdout_text, "allow a when\n    program.name == \"x\"\n"));
  // A request on stdin (a small policy: this runs under the sanitizers too).
  const std::string policy = "tests/golden/test/passing.gov";
  const Outcome eval = RunCommand("echo '{\"program\": \"/bin/ls\", \"args\": [\"/tmp\"]}' | '" GOV_GOVC "' eval " +
                                  policy + " --request -");
  CHECK(eval.status == 0);
  CHECK(Contains(eval.stdout_text, "allow by read_only"));
  // A bundle written to stdout and read back from stdin.
  REQUIRE(RunCommand("'" GOV_GOVC "' keygen '" + d + "/k'").status == 0);
  REQUIRE(
      RunCommand("echo '{\"program\": \"/bin/systemctl\", \"args\": [\"restart\"]}' > '" + d + "/req.json'").status ==
      0);
  const Outcome bundled = RunCommand("'" GOV_GOVC "' build " + policy + " --key '" + d +
                                     "/k.key' -o - | '" GOV_GOVC "' eval --bundle - --trust '" + d +
                                     "/k.pub' --request '" + d + "/req.json'");
  CHECK(bundled.status == 0);
  CHECK(Contains(bundled.stdout_text, "ask by maintenance"));
  // Standard input holds one thing.
  const Outcome twice = RunCommand("echo '{}' | '" GOV_GOVC "' eval - --request -");
  CHECK(twice.status == 2);
  CHECK(Contains(twice.stderr_text, "not both"));
  const Outcome repeated = RunCommand("echo | '" GOV_GOVC "' check - -");
  CHECK(repeated.status == 2);
  CHECK(Contains(repeated.stderr_text, "`-` (standard input) can be given only once"));
  fs::remove_all(dir);
}

TEST_CASE("govc --color always|never|auto decides whether diagnostics are coloured", "[govc][cli]") {
  const std::string policy = "tests/golden/check/mistakes_names.gov";
  const Outcome always = RunCommand("'" GOV_GOVC "' check --color always " + policy);
  CHECK(always.status == 1);
  CHECK(Contains(always.stderr_text, "\x1b["));
  const Outcome before = RunCommand("'" GOV_GOVC "' --color always check " + policy);
  CHECK(Contains(before.stderr_text, "\x1b["));
  const Outcome never = RunCommand("'" GOV_GOVC "' check --color never " + policy);
  CHECK(never.status == 1);
  CHECK_FALSE(Contains(never.stderr_text, "\x1b["));
  // auto: not a terminal here, so no colour (NO_COLOR or not).
  const Outcome automatic = RunCommand("'" GOV_GOVC "' check " + policy);
  CHECK_FALSE(Contains(automatic.stderr_text, "\x1b["));
  const Outcome wrong = RunCommand("'" GOV_GOVC "' check --color sometimes " + policy);
  CHECK(wrong.status == 64);
}
