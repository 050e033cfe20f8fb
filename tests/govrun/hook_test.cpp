// End to end: the real `govrun hook claude-code` with the JSON Claude Code
// sends a PreToolUse hook, a real policy built and signed by govc. A denied
// first program gets the deny decision; an allowed one comes back rewritten
// to run inside `govrun --session` (not run here); failures block (exit 2).
// The hook itself never runs the command and writes no lineage.
#include <catch2/catch.hpp>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "tests/govrun/support.h"

namespace {

using gov_test::Exists;
using gov_test::Fixture;
using gov_test::Result;
using Json = nlohmann::json;

constexpr const char* kHookPolicy =
    "deny no_rm when program.name == \"rm\" because \"deletes files\"\n"
    "allow tools when program.name in {\"cat\", \"touch\", \"true\"} because \"test tools\"\n";

// The PreToolUse input of a Bash tool call, as Claude Code sends it.
std::string BashCall(const Fixture& fixture, const std::string& command) {
  return Json{{"session_id", "abc123"},
              {"transcript_path", fixture.dir + "/transcript.jsonl"},
              {"cwd", fixture.dir},
              {"permission_mode", "default"},
              {"hook_event_name", "PreToolUse"},
              {"tool_name", "Bash"},
              {"tool_input", {{"command", command}, {"description", "a test"}, {"timeout", 120000}}},
              {"tool_use_id", "toolu_01ABC123"}}
      .dump();
}

Result Hook(const Fixture& fixture, const std::string& input, const std::vector<std::string>& options) {
  const std::string input_file = fixture.dir + "/hook-input.json";
  gov_test::WriteText(input_file, input);
  std::vector<std::string> argv = {gov_test::Govrun(), "hook", "claude-code"};
  argv.insert(argv.end(), options.begin(), options.end());
  gov_test::RunOptions run;
  run.cwd = fixture.dir;
  run.stdin_file = input_file;
  return gov_test::RunProcess(argv, fixture.dir, run);
}

bool LineageEmpty(const Fixture& fixture) {
  return std::filesystem::is_empty(fixture.dir + "/lineage");
}

TEST_CASE("hook claude-code: a denied first program is denied with its rule and reason", "[govrun][hook]") {
  Fixture fixture(kHookPolicy);
  const Result result =
      Hook(fixture, BashCall(fixture, "rm -rf " + fixture.Marker() + " && true"), {"--config", fixture.config});
  INFO("stdout: " << result.out << "\nstderr: " << result.err);
  REQUIRE(result.code == 0);
  const Json output = Json::parse(result.out);
  const Json& specific = output.at("hookSpecificOutput");
  CHECK(specific.at("hookEventName") == "PreToolUse");
  CHECK(specific.at("permissionDecision") == "deny");
  const std::string reason = specific.at("permissionDecisionReason");
  CHECK(reason.find("deny by no_rm (deletes files)") != std::string::npos);
  CHECK(reason.find("/usr/bin/rm") != std::string::npos);
  CHECK_FALSE(specific.contains("updatedInput"));
  CHECK(LineageEmpty(fixture));
}

TEST_CASE("hook claude-code: an allowed command is rewritten to run inside govrun --session", "[govrun][hook]") {
  Fixture fixture(kHookPolicy);
  const std::string command = "touch " + fixture.Marker() + " && echo 'it'\\''s done'";
  // A relative --config reaches the session as an absolute path.
  const Result result = Hook(fixture, BashCall(fixture, command), {"--config=config.toml"});
  INFO("stdout: " << result.out << "\nstderr: " << result.err);
  REQUIRE(result.code == 0);
  const Json specific = Json::parse(result.out).at("hookSpecificOutput");
  CHECK(specific.at("permissionDecision") == "ask");
  const Json& updated = specific.at("updatedInput");
  CHECK(updated.at("description") == "a test");
  CHECK(updated.at("timeout") == 120000);
  const std::string rewritten = updated.at("command");
  const std::string govrun = std::filesystem::canonical(gov_test::Govrun()).string();
  const std::string config = std::filesystem::canonical(fixture.config).string();
  CHECK(rewritten.starts_with(govrun + " --session --config " + config + " -- /bin/bash -c '"));
  // bash reads the original command back from the rewritten one.
  const Result words =
      gov_test::RunProcess({"/bin/bash", "-c", "set -- " + rewritten + "\nprintf '%s' \"${@: -1}\""}, fixture.dir);
  CHECK(words.out == command);
  // The hook ran nothing and recorded nothing.
  CHECK_FALSE(Exists(fixture.Marker()));
  CHECK(LineageEmpty(fixture));
}

TEST_CASE("hook claude-code: failures block the tool call, other tools pass through", "[govrun][hook]") {
  Fixture fixture(kHookPolicy);
  SECTION("a configuration that cannot be loaded") {
    const Result result = Hook(fixture, BashCall(fixture, "true"), {"--config", fixture.dir + "/missing.toml"});
    CHECK(result.code == 2);
    CHECK(result.out.empty());
    CHECK(result.err.find("missing.toml") != std::string::npos);
    CHECK(result.err.find("the tool call is blocked") != std::string::npos);
  }
  SECTION("a policy signed by an untrusted key") {
    fixture.WriteConfig(
        "policy = \"p.govb\"\ntrusted_keys = [\"other.pub\"]\nlineage_dir = \"lineage\"\nsigning_key = \"lin.key\"\n");
    const Result result = Hook(fixture, BashCall(fixture, "true"), {"--config", fixture.config});
    CHECK(result.code == 2);
    CHECK(result.out.empty());
    CHECK(result.err.find("policy bundle") != std::string::npos);
  }
  SECTION("a --context the policy does not declare") {
    const Result result = Hook(fixture, BashCall(fixture, "true"), {"--config", fixture.config, "--context", "x=1"});
    CHECK(result.code == 2);
    CHECK(result.err.find("--context") != std::string::npos);
  }
  SECTION("an unknown option") {
    const Result result = Hook(fixture, BashCall(fixture, "true"), {"--explain"});
    CHECK(result.code == 2);
    CHECK(result.err.find("--explain") != std::string::npos);
  }
  SECTION("malformed JSON") {
    const Result result = Hook(fixture, "{\"tool_name\": \"Bash\", ", {"--config", fixture.config});
    CHECK(result.code == 2);
    CHECK(result.out.empty());
    CHECK(result.err.find("not valid JSON") != std::string::npos);
  }
  SECTION("another tool") {
    const Result result = Hook(fixture,
                               Json{{"hook_event_name", "PreToolUse"},
                                    {"tool_name", "Write"},
                                    {"tool_input", {{"file_path", fixture.Marker()}, {"content", "x"}}}}
                                   .dump(),
                               {"--config", fixture.config});
    CHECK(result.code == 0);
    CHECK(result.out.empty());
    CHECK(result.err.empty());
  }
  CHECK_FALSE(Exists(fixture.Marker()));
}

}  // namespace
