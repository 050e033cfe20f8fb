// `govverify list` and `govverify show` (docs/govverify.md "list and show"):
// the console's filters on the command line, run by the real binary over a
// real log; hostile argv never reaches the terminal unescaped.
#include "console/viewer/query.h"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "runtime/tlog/merkle.h"
#include "tests/console/viewer_log.h"

namespace gov::console {
namespace {

using Json = nlohmann::json;

lineage::Ran Govverify(const ViewerLog& log, std::vector<std::string> args) {
  std::vector<std::string> argv = {GOV_GOVVERIFY, args[0], "--lineage-key", log.key_path};
  argv.insert(argv.end(), args.begin() + 1, args.end());
  return lineage::RunProgram(argv, log.dir.path);
}

std::vector<std::string> OutputLines(const std::string& text) {
  return lineage::Lines(text);
}

TEST_CASE("list: every run newest first, and the console's filters", "[console][query]") {
  ViewerLog log;
  const lineage::Ran all = Govverify(log, {"list", log.dir.path});
  INFO(all.out << all.err);
  REQUIRE(all.code == 0);
  const auto lines = OutputLines(all.out);
  REQUIRE(lines.size() == 5);
  CHECK(lines[0].find(log.hostile) != std::string::npos);
  CHECK(lines[4].find(log.shell) != std::string::npos);
  CHECK(lines[4].find("/usr/bin/bash -c 'make && curl https://example.com'") != std::string::npos);

  const lineage::Ran denies = Govverify(log, {"list", "--verdict", "deny", log.dir.path});
  REQUIRE(denies.code == 0);
  REQUIRE(OutputLines(denies.out).size() == 1);
  CHECK(denies.out.find(log.curl) != std::string::npos);
  CHECK(denies.out.find("deny   not run") != std::string::npos);

  const lineage::Ran by_program = Govverify(log, {"list", "--program", "cc", log.dir.path});
  REQUIRE(OutputLines(by_program.out).size() == 1);
  CHECK(by_program.out.find(log.cc) != std::string::npos);
  CHECK(by_program.out.find("exit 1") != std::string::npos);
  CHECK(OutputLines(Govverify(log, {"list", "--program", "/usr/bin/make", log.dir.path}).out).size() == 1);
  CHECK(OutputLines(Govverify(log, {"list", "--exit", "1", log.dir.path}).out).size() == 1);
  CHECK(OutputLines(Govverify(log, {"list", "--rule", "build_tools", log.dir.path}).out).size() == 2);
  CHECK(OutputLines(Govverify(log, {"list", "--text", "main.c", log.dir.path}).out).size() == 1);
  CHECK(OutputLines(Govverify(log, {"list", "--user", "user", log.dir.path}).out).size() == 5);
  CHECK(OutputLines(Govverify(log, {"list", "--user", "root", log.dir.path}).out).empty());
  // The sample requests are decided at 2026-01-01T12:00:00Z.
  CHECK(OutputLines(Govverify(log, {"list", "--since", "2026-01-01", log.dir.path}).out).size() == 5);
  CHECK(OutputLines(Govverify(log, {"list", "--since", "2026-01-01T12:00:01Z", log.dir.path}).out).empty());
  CHECK(OutputLines(Govverify(log, {"list", "--until", "2026-01-02", log.dir.path}).out).size() == 5);
  CHECK(OutputLines(Govverify(log, {"list", "--since", "1d", log.dir.path}).out).empty());
  CHECK(OutputLines(Govverify(log, {"list", "--limit", "2", log.dir.path}).out).size() == 2);

  const lineage::Ran json = Govverify(log, {"list", "--format", "json", "--verdict", "allow", log.dir.path});
  REQUIRE(json.code == 0);
  const Json parsed = Json::parse(json.out);
  CHECK(parsed["version"] == 1);
  CHECK(parsed["report"]["ok"] == true);
  CHECK(parsed["runs"].size() == 4);
  CHECK(parsed["runs"][0]["id"] == log.hostile);

  CHECK(Govverify(log, {"list", "--verdict", "maybe", log.dir.path}).code == 64);
  CHECK(Govverify(log, {"list", "--since", "yesterday", log.dir.path}).code == 64);
  CHECK(Govverify(log, {"list", "--exit", "256", log.dir.path}).code == 64);
  CHECK(Govverify(log, {"list", "--html", log.dir.path + "/x.html", log.dir.path}).code == 64);
}

TEST_CASE("show: everything recorded about one run, escaped for the terminal", "[console][query]") {
  ViewerLog log;
  const lineage::Ran deny = Govverify(log, {"show", log.curl.substr(0, 10), log.dir.path});
  INFO(deny.out << deny.err);
  REQUIRE(deny.code == 0);
  CHECK(deny.out.starts_with("run " + log.curl + "\n"));
  CHECK(deny.out.find("deny by no_network_tools (curl can send the workspace anywhere)") != std::string::npos);
  CHECK(deny.out.find("deny (not executed)") != std::string::npos);
  CHECK(deny.out.find("parent               " + log.shell) != std::string::npos);

  const lineage::Ran make = Govverify(log, {"show", log.make, log.dir.path});
  CHECK(make.out.find("child                " + log.cc + " allow /usr/bin/cc -c main.c") != std::string::npos);
  CHECK(make.out.find("enforced             timeout 600000 ms by govrun timer (SIGKILL)") != std::string::npos);
  CHECK(make.out.find("env hashed           API_TOKEN, HOME") != std::string::npos);

  const lineage::Ran hostile = Govverify(log, {"show", log.hostile, log.dir.path});
  REQUIRE(hostile.code == 0);
  CHECK(hostile.out.find('\x1b') == std::string::npos);
  CHECK(hostile.out.find('\x07') == std::string::npos);
  CHECK(hostile.out.find("\xE2\x80\xAE") == std::string::npos);
  CHECK(hostile.out.find("\\x1b[2J") != std::string::npos);
  CHECK(hostile.out.find("\\xff\\xfe\\x80ok") != std::string::npos);

  // An ask answered through govd: who answered, as govd recorded it.
  {
    auto opened = lineage::OpenLog(log.dir.path, log.key);
    REQUIRE(opened.ok());
    lineage::Authorization asked = lineage::SampleAuthorization(lineage::NewRunId(), "", "ask");
    asked.ask_answer = "yes";
    asked.approval = lineage::Approval{std::string(32, 'c'), "yes", 1001, "alice", 1767268800000000000};
    REQUIRE(opened.value()->RecordAuthorization(asked).ok());
    REQUIRE(opened.value()->Checkpoint().ok());
    const lineage::Ran answered = Govverify(log, {"show", asked.run_id, log.dir.path});
    INFO(answered.out << answered.err);
    CHECK(answered.out.find("answered by          uid 1001 (alice), ask " + std::string(32, 'c') +
                            ", as govd recorded it\n") != std::string::npos);
  }

  const lineage::Ran json = Govverify(log, {"show", "--format", "json", log.curl, log.dir.path});
  REQUIRE(json.code == 0);
  const Json shown = Json::parse(json.out)["run"];
  CHECK(shown["rules"][0]["reason"] == "curl can send the workspace anywhere");
  // The inclusion proof holds for the authorization's own HEAD, checked here
  // from the log's bytes, not from the tiles the proof came from.
  const Json& proof = shown["inclusion_proof"];
  const std::uint64_t seq = shown["seq"];
  REQUIRE(proof["leaf_index"] == seq);
  const std::vector<std::string> lines = lineage::Lines(lineage::ReadFile(log.log_path));
  const tlog::Hash leaf = tlog::LeafHash(lineage::Split(lines[seq]).head);
  CHECK(proof["leaf_hash"] == crypto::HexEncode(leaf));
  std::vector<tlog::Hash> path;
  for (const auto& hash : proof["proof"]) {
    tlog::Hash decoded{};
    const std::string bytes = crypto::HexDecode(hash.get<std::string>()).value();
    std::copy(bytes.begin(), bytes.end(), decoded.begin());
    path.push_back(decoded);
  }
  tlog::Hash root{};
  const std::string root_bytes = crypto::HexDecode(proof["root"].get<std::string>()).value();
  std::copy(root_bytes.begin(), root_bytes.end(), root.begin());
  CHECK(tlog::VerifyInclusion(leaf, seq, proof["tree_size"], path, root).ok());
  CHECK(deny.out.find("inclusion proof (RFC 9162) of the authorization record") != std::string::npos);

  CHECK(Govverify(log, {"show", std::string(32, 'f'), log.dir.path}).code == 66);
  CHECK(Govverify(log, {"show", log.curl.substr(0, 4), log.dir.path}).code == 66);  // too short a prefix
  CHECK(Govverify(log, {"show", log.dir.path}).code == 64);
}

TEST_CASE("list: a tampered log is listed with its failure, and what follows it is uncertified", "[console][query]") {
  ViewerLog log;
  std::string bytes = lineage::ReadFile(log.log_path);
  const std::size_t at = bytes.find("curl can send");
  REQUIRE(at != std::string::npos);
  bytes[at] = 'C';
  lineage::WriteFile(log.log_path, bytes);
  const lineage::Ran listed = Govverify(log, {"list", log.dir.path});
  CHECK(listed.code == 2);
  CHECK(listed.err.find("FAILED (chain)") != std::string::npos);
  CHECK(listed.out.find("(uncertified)") != std::string::npos);
}

TEST_CASE("list: time arguments", "[console][query]") {
  const std::int64_t now = 1767268800;
  CHECK(ParseTimeArgument("2026-01-01", now).value() == 1767225600);
  CHECK(ParseTimeArgument("2026-01-01T12:00:00Z", now).value() == 1767268800);
  CHECK(ParseTimeArgument("@42", now).value() == 42);
  CHECK(ParseTimeArgument("90s", now).value() == now - 90);
  CHECK(ParseTimeArgument("30m", now).value() == now - 1800);
  CHECK(ParseTimeArgument("7d", now).value() == now - 7 * 86400);
  for (const char* bad :
       {"", "d", "12", "2026-13-01", "2026-01-01T25:00:00Z", "2026-01-01 12:00:00", "@", "@x", "-5m"}) {
    INFO(bad);
    CHECK(!ParseTimeArgument(bad, now).ok());
  }
}

}  // namespace
}  // namespace gov::console
