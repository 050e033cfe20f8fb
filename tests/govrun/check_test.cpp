// End-to-end tests of `govrun --check` (docs/govrun.md "govrun --check"):
// it decides and explains exactly as a real run would — same configuration,
// trust, bundle, resolved and hashed program, request, parent, decision,
// merged obligations and sandbox plan — but runs nothing (the marker file is
// never created), records nothing (the lineage log is left byte for byte
// as it was, or not created at all) and asks nothing. Its JSON document
// (docs/schemas/govrun-check.schema.json) is parsed and compared with what
// the test measures itself, and validated against its schema.
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "runtime/crypto/sha256.h"
#include "tests/govrun/support.h"
#include "tests/support/json_schema.h"

namespace {

using gov_test::Exists;
using gov_test::Fixture;
using gov_test::kNobody;
using gov_test::kTools;
using gov_test::ReadText;
using gov_test::Result;
using gov_test::RunOptions;
using gov_test::TouchMarker;
using gov_test::WriteText;
using Json = nlohmann::json;
namespace fs = std::filesystem;

// govrun --check --format FORMAT [extra…] --config CONFIG -- command…
Result Check(const Fixture& fixture, const std::vector<std::string>& command, const std::string& format = "json",
             const RunOptions& options = {}, const std::vector<std::string>& extra = {}) {
  std::vector<std::string> pre = {"--check", "--format", format};
  pre.insert(pre.end(), extra.begin(), extra.end());
  return fixture.Run(command, options, pre);
}

// The JSON document on stdout (fails the test when it does not parse).
Json Parse(const Result& result) {
  INFO("stdout: " << result.out << "\nstderr: " << result.err);
  Json doc;
  REQUIRE_NOTHROW(doc = Json::parse(result.out));
  REQUIRE(doc.is_object());
  return doc;
}

std::string FileDigest(const std::string& path) {
  return gov::crypto::DigestString(gov::crypto::Sha256Of(ReadText(path)));
}

std::string LogPath(const Fixture& fixture) {
  return fixture.dir + "/lineage/lineage.log";
}

std::size_t Entries(const std::string& dir) {
  std::size_t count = 0;
  for ([[maybe_unused]] const auto& entry : fs::directory_iterator(dir)) {
    ++count;
  }
  return count;
}

}  // namespace

TEST_CASE("govrun --check: an allow exits 0, runs nothing, records nothing", "[govrun][check]") {
  Fixture fixture(kTools);
  // Before any real run: no log is created.
  const Result text = fixture.Run(TouchMarker(fixture), {}, {"--check"});
  INFO(text.out << text.err);
  CHECK(text.code == 0);
  CHECK_FALSE(Exists(fixture.Marker()));
  CHECK(Entries(fixture.dir + "/lineage") == 0);
  CHECK(text.out.find("govrun: program /usr/bin/touch (sha256:") != std::string::npos);
  CHECK(text.out.find("govrun: decision: allow by tools (test tools)") != std::string::npos);
  CHECK(text.out.find("govrun: enforce ") != std::string::npos);
  CHECK(text.out.find("govrun: check: allow: the program would run; nothing was run or recorded") != std::string::npos);
  CHECK(text.err.empty());
  // After a real run, --check (text or JSON, allow or deny) leaves the log byte for byte as it was.
  REQUIRE(fixture.Run({"true"}).code == 0);
  const std::string before = ReadText(LogPath(fixture));
  REQUIRE_FALSE(before.empty());
  CHECK(fixture.Run(TouchMarker(fixture), {}, {"--check", "--format", "text"}).code == 0);
  CHECK(Check(fixture, TouchMarker(fixture)).code == 0);
  CHECK(Check(fixture, {"no-such-program-xyz"}).code == 127);
  CHECK(Check(fixture, {"sha256sum", "/dev/null"}).code == 77);
  CHECK_FALSE(Exists(fixture.Marker()));
  CHECK(ReadText(LogPath(fixture)) == before);
  // lineage.log and the published tree of the first run (checkpoint,
  // checkpoint.sigstore.json, tile/, tlog.state): --check added nothing.
  CHECK(Entries(fixture.dir + "/lineage") == 5);
}

TEST_CASE("govrun --check --format json: one document with the request as decided", "[govrun][check]") {
  Fixture fixture(
      "context {\n  ticket: string?\n}\n"
      "allow touch_here when program.name == \"touch\" because \"touching in the test directory\"\n"
      "    with { timeout = 10s, write = [\"@DIR@\"] }\n");
  // Not UTF-8: 'a', 0xff, 'b' (base64 "Yf9i").
  const std::string odd_arg = std::string("a\xff") + "b";
  const Result result =
      Check(fixture, {"touch", fixture.Marker(), odd_arg}, "json", {}, {"--context", "ticket=CHG-1234"});
  INFO(result.out << result.err);
  REQUIRE(result.code == 0);
  CHECK_FALSE(Exists(fixture.Marker()));
  const Json doc = Parse(result);
  CHECK(doc["version"] == 1);
  // Its schema (with Ajv) accepts it, byte strings and all, and not a broken copy.
  const gov::testing::SchemaCheck valid = gov::testing::ValidateJsonSchema("govrun-check.schema.json", result.out);
  INFO(valid.output);
  CHECK(valid.status == 0);
  Json broken = doc;
  broken["outcome"] = "ran";
  CHECK(gov::testing::ValidateJsonSchema("govrun-check.schema.json", broken.dump()).status == 1);
  broken = doc;
  broken["request"]["args"][1] = {{"base64", "Yf9"}};
  CHECK(gov::testing::ValidateJsonSchema("govrun-check.schema.json", broken.dump()).status == 1);
  CHECK(doc["verdict"] == "allow");
  CHECK(doc["error"].is_null());
  CHECK(doc["outcome"] == "run");
  CHECK(doc["exit_code"] == 0);
  REQUIRE(doc["rules"].size() == 1);
  CHECK(doc["rules"][0]["name"] == "touch_here");
  CHECK(doc["rules"][0]["verdict"] == "allow");
  CHECK(doc["rules"][0]["reason"] == "touching in the test directory");
  CHECK(doc["rules"][0]["id"].is_number_unsigned());
  CHECK(doc["obligation_rules"].empty());
  const std::string dir = fs::canonical(fixture.dir).string();
  CHECK(doc["obligations"]["timeout_ms"] == 10000);
  CHECK(doc["obligations"]["write"] == Json::array({dir}));
  CHECK(doc["obligations"]["network"] == "unset");
  CHECK(doc["enforcement"]["enforceable"] == true);
  CHECK(doc["enforcement"]["failure"].is_null());
  std::vector<std::string> enforced;
  for (const Json& limit : doc["enforcement"]["limits"]) {
    enforced.push_back(limit["obligation"].get<std::string>());
  }
  CHECK(std::find(enforced.begin(), enforced.end(), "timeout") != enforced.end());
  CHECK(std::find(enforced.begin(), enforced.end(), "write") != enforced.end());
  // The program as the policy saw it: resolved, hashed.
  const std::string touch = fs::canonical("/usr/bin/touch").string();
  CHECK(doc["program"]["path"] == touch);
  CHECK(doc["program"]["name"] == "touch");
  CHECK(doc["program"]["sha256"] == FileDigest(touch));
  CHECK(doc["program"]["invoked_path"] == "/usr/bin/touch");
  CHECK(doc["program"]["invoked_name"] == "touch");
  CHECK(doc["program"]["argv0"] == "touch");
  CHECK(doc["interpreter"].is_null());
  // The request in the form of docs/request.md; bytes that are not UTF-8 losslessly as base64.
  const Json& request = doc["request"];
  CHECK(request["program"] == touch);
  CHECK(request["sha256"] == FileDigest(touch));
  CHECK(request["invoked"] == "/usr/bin/touch");
  CHECK(request["argv0"] == "touch");
  CHECK(request["args"] == Json::array({fixture.Marker(), Json{{"base64", "Yf9i"}}}));
  CHECK(request["cwd"] == dir);
  CHECK(request["user"]["uid"] == static_cast<std::int64_t>(geteuid()));
  CHECK(request["user"]["gid"] == static_cast<std::int64_t>(getegid()));
  CHECK(request["user"]["groups"].is_array());
  char host[256] = {};
  REQUIRE(gethostname(host, sizeof host - 1) == 0);
  CHECK(request["host"] == host);
  CHECK(request["parent"].is_null());
  CHECK(request["context"] == Json{{"ticket", "CHG-1234"}});
  // The policy reads no environment value: none is shown, every name is listed.
  CHECK(request["env"] == Json::object());
  const Json& withheld = doc["env_withheld"];
  CHECK(std::find(withheld.begin(), withheld.end(), Json("PATH")) != withheld.end());
  CHECK(doc["policy"]["name"] == "t");
  CHECK(doc["policy"]["version"] == "1.0.0");
  CHECK(doc["policy"]["digest"] == FileDigest(fixture.dir + "/p.govb"));
  CHECK(doc["policy"]["engine"].get<std::string>().find("interpreter") != std::string::npos);
  CHECK(doc["notices"] == Json::array());
  CHECK(Entries(fixture.dir + "/lineage") == 0);
}

TEST_CASE("govrun --check: a #! script's interpreter, and the env values the policy reads", "[govrun][check]") {
  Fixture fixture(
      "allow s when program.name == \"script.sh\" and (env[\"GOV_CHECK_MODE\"] ?? \"\") == \"yes\"\n"
      "    because \"the script, in check mode\"\n");
  WriteText(fixture.dir + "/script.sh", "#!/bin/sh\ntouch " + fixture.Marker() + "\n", 0755);
  RunOptions options;
  options.set_env = {{"GOV_CHECK_MODE", "yes"}, {"GOV_CHECK_SECRET", "hunter2"}};
  const Result result = Check(fixture, {"./script.sh"}, "json", options);
  INFO(result.out << result.err);
  CHECK(result.code == 0);
  CHECK_FALSE(Exists(fixture.Marker()));
  const Json doc = Parse(result);
  CHECK(doc["program"]["path"] == fs::canonical(fixture.dir).string() + "/script.sh");
  CHECK(doc["program"]["argv0"] == "./script.sh");
  const std::string dash = fs::canonical("/bin/sh").string();
  CHECK(doc["interpreter"]["path"] == dash);
  CHECK(doc["interpreter"]["sha256"] == FileDigest(dash));
  // The value the policy reads is shown (a replay needs it); the others are named only.
  CHECK(doc["request"]["env"] == Json{{"GOV_CHECK_MODE", "yes"}});
  CHECK(result.out.find("hunter2") == std::string::npos);
  const Json& withheld = doc["env_withheld"];
  CHECK(std::find(withheld.begin(), withheld.end(), Json("GOV_CHECK_SECRET")) != withheld.end());
  // Without the variable the same policy denies.
  CHECK(Check(fixture, {"./script.sh"}).code == 77);
}

TEST_CASE("govrun --check: a deny and an evaluation error exit 77 with the rule and reason", "[govrun][check]") {
  Fixture fixture(std::string(kTools) +
                  "deny no_marker when program.name == \"touch\" because \"markers are forbidden\"\n"
                  "allow divide when program.name == \"sha256sum\" and 10 / (len(args) - 1) > 0\n");
  const Result result = Check(fixture, TouchMarker(fixture));
  INFO(result.out << result.err);
  CHECK(result.code == 77);
  CHECK_FALSE(Exists(fixture.Marker()));
  const Json doc = Parse(result);
  CHECK(doc["verdict"] == "deny");
  CHECK(doc["outcome"] == "deny");
  CHECK(doc["exit_code"] == 77);
  CHECK(doc["error"].is_null());
  REQUIRE(doc["rules"].size() == 1);
  CHECK(doc["rules"][0]["name"] == "no_marker");
  CHECK(doc["rules"][0]["verdict"] == "deny");
  CHECK(doc["rules"][0]["reason"] == "markers are forbidden");
  CHECK(doc["summary"] == "deny by no_marker (markers are forbidden)");
  CHECK(doc["enforcement"].is_null());
  CHECK(doc["obligations"]["timeout_ms"] == 0);

  const Result text = Check(fixture, TouchMarker(fixture), "text");
  CHECK(text.code == 77);
  CHECK(text.out.find("govrun:   rule no_marker (deny): markers are forbidden") != std::string::npos);
  CHECK(text.out.find("govrun: check: deny: the program would not run") != std::string::npos);

  const Result erred = Check(fixture, {"sha256sum", "/dev/null"});
  CHECK(erred.code == 77);
  const Json error_doc = Parse(erred);
  CHECK(error_doc["verdict"] == "deny");
  CHECK(error_doc["error"] == "division by zero");
  REQUIRE(error_doc["rules"].size() == 1);
  CHECK(error_doc["rules"][0]["name"] == "divide");
  CHECK(Entries(fixture.dir + "/lineage") == 0);
}

TEST_CASE("govrun --check: an ask exits 77 with verdict ask and never prompts", "[govrun][check]") {
  Fixture fixture(std::string(kTools) +
                  "ask confirm when program.name == \"touch\" because \"touching needs a yes\"\n");
  // On a terminal, where a real run would ask: --check says so and does not.
  const Result on_terminal =
      gov_test::RunOnTerminal(fixture, TouchMarker(fixture), "y\n", "", nullptr, {"--check", "--format", "json"});
  INFO(on_terminal.err);
  CHECK(on_terminal.code == 77);
  CHECK(on_terminal.err.find("[y/N]") == std::string::npos);
  CHECK_FALSE(Exists(fixture.Marker()));
  Json doc;
  REQUIRE_NOTHROW(doc = Json::parse(on_terminal.err));  // the terminal's output is the document (CR LF is whitespace)
  CHECK(doc["verdict"] == "ask");
  CHECK(doc["outcome"] == "ask");
  CHECK(doc["exit_code"] == 77);
  REQUIRE(doc["rules"].size() == 1);
  CHECK(doc["rules"][0]["name"] == "confirm");
  CHECK(doc["rules"][0]["reason"] == "touching needs a yes");
  // The allow rule whose obligations would apply if it were approved, and the plan for it.
  REQUIRE(doc["obligation_rules"].size() == 1);
  CHECK(doc["obligation_rules"][0]["name"] == "tools");
  CHECK(doc["enforcement"]["enforceable"] == true);
  // Without a terminal: the same, and no "no terminal" refusal.
  const Result plain = Check(fixture, TouchMarker(fixture), "text");
  CHECK(plain.code == 77);
  CHECK(plain.out.find("govrun: check: ask: a real run would ask on the terminal (not asked)") != std::string::npos);
  CHECK(plain.err.find("no terminal") == std::string::npos);
  CHECK(Entries(fixture.dir + "/lineage") == 0);
}

TEST_CASE("govrun --check: program not found 127, not executable 126, nothing on stdout", "[govrun][check]") {
  Fixture fixture(kTools + std::string("allow any_prog when true\n"));
  const Result missing = Check(fixture, {"no-such-program-xyz"});
  CHECK(missing.code == 127);
  CHECK(missing.err.find("command not found") != std::string::npos);
  CHECK(missing.out.empty());
  WriteText(fixture.dir + "/plain", "#!/bin/sh\ntouch " + fixture.Marker() + "\n", 0644);
  const Result plain = Check(fixture, {"./plain"});
  CHECK(plain.code == 126);
  CHECK(plain.err.find("not executable") != std::string::npos);
  CHECK(plain.out.empty());
  CHECK_FALSE(Exists(fixture.Marker()));
}

TEST_CASE("govrun --check: an obligation the kernel cannot enforce for this caller is 78, as a real run",
          "[govrun][check]") {
  // The pattern of "an obligation the kernel cannot enforce for this caller: 78" (govrun_test.cpp).
  Fixture fixture("allow t when program.name == \"touch\" with { write = [\"/root/.gov-check-test/x\"] }\n", false,
                  true);
  fs::create_directories("/root/.gov-check-test/x");
  RunOptions options;
  options.as_nobody = true;
  const Result result = Check(fixture, TouchMarker(fixture), "json", options);
  INFO(result.out << result.err);
  CHECK(result.code == 78);
  CHECK(result.err.find("cannot enforce the `write` obligation") != std::string::npos);
  CHECK_FALSE(Exists(fixture.Marker()));
  const Json doc = Parse(result);
  CHECK(doc["verdict"] == "allow");
  CHECK(doc["outcome"] == "refused");
  CHECK(doc["exit_code"] == 78);
  CHECK(doc["enforcement"]["enforceable"] == false);
  CHECK(doc["enforcement"]["failure"].get<std::string>().find("cannot enforce the `write` obligation") !=
        std::string::npos);
  const Result text = Check(fixture, TouchMarker(fixture), "text", options);
  CHECK(text.code == 78);
  CHECK(text.out.find("govrun: check: refused: the program would not run") != std::string::npos);
  CHECK(Entries(fixture.dir + "/lineage") == 0);
  std::error_code ignored;
  fs::remove_all("/root/.gov-check-test", ignored);
}

TEST_CASE("govrun --check works for a caller who cannot read the signing key nor write lineage", "[govrun][check]") {
  Fixture fixture(kTools, false, true);
  REQUIRE(chown((fixture.dir + "/lin.key").c_str(), 0, 0) == 0);
  REQUIRE(chown((fixture.dir + "/lineage").c_str(), 0, 0) == 0);
  RunOptions options;
  options.as_nobody = true;
  // A real run refuses (the signing key) ...
  gov_test::ExpectNotRun(fixture, fixture.Run(TouchMarker(fixture), options), 78, "lineage signing key");
  // ... --check decides.
  const Result result = Check(fixture, TouchMarker(fixture), "json", options);
  INFO(result.out << result.err);
  CHECK(result.code == 0);
  CHECK_FALSE(Exists(fixture.Marker()));
  const Json doc = Parse(result);
  CHECK(doc["verdict"] == "allow");
  CHECK(doc["request"]["user"]["uid"] == kNobody);
  CHECK(Entries(fixture.dir + "/lineage") == 0);
}

TEST_CASE("govrun --check verifies configuration, policy and trust as a real run does", "[govrun][check]") {
  Fixture fixture(kTools);
  fixture.WriteConfig(
      "policy = \"p.govb\"\ntrusted_keys = [\"other.pub\"]\nlineage_dir = \"lineage\"\nsigning_key = \"lin.key\"\n");
  const Result untrusted = Check(fixture, {"true"});
  CHECK(untrusted.code == 78);
  CHECK(untrusted.err.find("policy bundle") != std::string::npos);
  CHECK(untrusted.out.empty());
  fixture.WriteConfig("policy = \"p.govb\"\ntrusted_keys = [\"pol.pub\"]\nlineage_dir = \"lineage\"\n");
  const Result incomplete = Check(fixture, {"true"});
  CHECK(incomplete.code == 78);
  CHECK(incomplete.err.find("signing_key") != std::string::npos);
  fixture.WriteConfig(
      "policy = \"p.govb\"\ntrusted_keys = [\"pol.pub\"]\nlineage_dir = \"lineage\"\nsigning_key = \"lin.key\"\n");
  std::string bundle = ReadText(fixture.dir + "/p.govb");
  bundle[bundle.size() / 2] = static_cast<char>(bundle[bundle.size() / 2] ^ 0x01);
  WriteText(fixture.dir + "/p.govb", bundle);
  const Result flipped = Check(fixture, {"true"});
  CHECK(flipped.code == 78);
  CHECK(flipped.err.find("policy bundle") != std::string::npos);
}

TEST_CASE("govrun --check inside a governed run sees the verified parent", "[govrun][check]") {
  Fixture fixture(kTools);
  const std::string inner = std::string("echo outer=$GOV_RUN_ID; '") + gov_test::Govrun() +
                            "' --check --format json --config '" + fixture.config + "' -- true";
  const Result result = fixture.Run({"dash", "-c", inner});
  INFO(result.out << result.err);
  REQUIRE(result.code == 0);
  const std::size_t at = result.out.find("outer=");
  REQUIRE(at != std::string::npos);
  const std::string outer_id = result.out.substr(at + 6, 32);
  const std::size_t brace = result.out.find('{');
  REQUIRE(brace != std::string::npos);
  Json doc;
  REQUIRE_NOTHROW(doc = Json::parse(result.out.substr(brace)));
  CHECK(doc["request"]["parent"]["run_id"] == outer_id);
  CHECK(doc["request"]["parent"]["depth"] == 0);
  CHECK(doc["request"]["parent"]["program"] == "/usr/bin/dash");
  CHECK(doc["notices"] == Json::array());
  // A made-up parent is not accepted, and the notice says why.
  RunOptions options;
  options.set_env = {{"GOV_RUN_ID", std::string(32, 'a')}, {"GOV_RUN_RECORD", std::string(16, '0')}};
  const Result made_up = Check(fixture, {"true"}, "json", options);
  CHECK(made_up.code == 0);
  const Json made_up_doc = Parse(made_up);
  CHECK(made_up_doc["request"]["parent"].is_null());
  REQUIRE(made_up_doc["notices"].size() == 1);
  CHECK(made_up_doc["notices"][0].get<std::string>().find("deciding without a parent") != std::string::npos);
}

TEST_CASE("govrun --check command line: --format needs --check, text or json, once, without --bundle",
          "[govrun][check]") {
  Fixture fixture(kTools);
  auto usage = [&](const std::vector<std::string>& pre, const std::string& message) {
    const Result result = fixture.Run(TouchMarker(fixture), {}, pre);
    INFO(result.err);
    CHECK(result.code == 64);
    CHECK(result.err.find(message) != std::string::npos);
    CHECK(result.out.empty());
    CHECK_FALSE(Exists(fixture.Marker()));
  };
  usage({"--format", "json"}, "--format needs --check");
  usage({"--check", "--format", "yaml"}, "--format must be `text` or `json`");
  usage({"--check", "--format=json", "--format=text"}, "--format is given more than once");
  usage({"--check", "--bundle", fixture.dir + "/b"}, "--bundle cannot be used with --check");
  const Result help = gov_test::RunProcess({gov_test::Govrun(), "--help"}, fixture.dir);
  CHECK(help.code == 0);
  CHECK(help.out.find("--check") != std::string::npos);
  CHECK(help.out.find("--format text|json") != std::string::npos);
  CHECK(Check(fixture, {"true"}, "text", {}, {"--explain"}).err.empty());
}
