// govconsole (docs/console.md "The live console"): the real binary over a
// real log — the token, the Host check, no CORS, the JSON API, the signed
// bundle export, /metrics checked by promtool, live updates when the log
// grows — and the page driven in headless Chromium.
#include <httplib.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "runtime/crypto/sha256.h"
#include "tests/console/viewer_log.h"
#include "tests/support/json_schema.h"

namespace gov::console {
namespace {

using Json = nlohmann::json;

// A govconsole process serving `log` on a free loopback port.
struct Console {
  pid_t pid = -1;
  int port = 0;
  std::string token;
  std::string url;  // with #token=…
  std::string out;  // its standard output and error

  explicit Console(const ViewerLog& log, const std::vector<std::string>& more = {}) {
    out = log.dir.path + "/console.out";
    std::filesystem::remove(out);  // an earlier console's address is not this one's
    pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      const int fd = open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
      dup2(fd, 1);
      dup2(fd, 2);
      std::vector<std::string> argv = {GOV_GOVCONSOLE,
                                       "--lineage",
                                       log.dir.path,
                                       "--lineage-key",
                                       log.key_path,
                                       "--listen",
                                       "127.0.0.1:0",
                                       "--token-file",
                                       log.dir.path + "/console.token",
                                       "--index",
                                       log.dir.path + "/console.sqlite"};
      argv.insert(argv.end(), more.begin(), more.end());
      std::vector<char*> args;
      for (std::string& arg : argv) args.push_back(arg.data());
      args.push_back(nullptr);
      execv(GOV_GOVCONSOLE, args.data());
      _exit(127);
    }
    for (int i = 0; i < 1200 && url.empty(); ++i) {
      const std::string text = lineage::ReadFile(out);
      const std::size_t at = text.find("open http://127.0.0.1:");
      if (at != std::string::npos && text.find('\n', at) != std::string::npos) {
        url = text.substr(at + 5, text.find('\n', at) - at - 5);
        port = std::stoi(url.substr(17));
        token = url.substr(url.find("#token=") + 7);
      } else {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
      }
    }
    INFO(lineage::ReadFile(out));
    REQUIRE(!url.empty());
  }
  ~Console() {
    kill(pid, SIGTERM);
    int status = 0;
    waitpid(pid, &status, 0);
  }
  httplib::Client Client() const {
    httplib::Client client("127.0.0.1", port);
    client.set_read_timeout(60, 0);
    return client;
  }
  httplib::Headers Auth() const { return {{"Authorization", "Bearer " + token}}; }
  Json Get(const std::string& path) const {
    auto response = Client().Get(path.c_str(), Auth());
    INFO(path << " (" << httplib::to_string(response.error()) << "): govconsole said: " << lineage::ReadFile(out));
    REQUIRE(response);
    INFO(path << ": " << response->body);
    REQUIRE(response->status == 200);
    return Json::parse(response->body);
  }
};

void AppendRun(const ViewerLog& log) {
  auto opened = lineage::OpenLog(log.dir.path, log.key);
  REQUIRE(opened.ok());
  auto auth = lineage::SampleAuthorization(lineage::NewRunId(), "", "deny");
  auth.rules = {{4, "late_rule", "deny", "appended while the console watched"}};
  REQUIRE(opened.value()->RecordAuthorization(auth).ok());
  REQUIRE(opened.value()->Checkpoint().ok());
}

TEST_CASE("console: every API call needs the token, the Host must be the console's, and no CORS is granted",
          "[console][server]") {
  ViewerLog log;
  Console console(log);
  auto client = console.Client();
  for (const char* path : {"/api/overview", "/api/runs", "/api/policies", "/metrics", "/api/changes"}) {
    INFO(path);
    auto none = client.Get(path);
    REQUIRE(none);
    CHECK(none->status == 401);
    CHECK(none->body.find("allow") == std::string::npos);
    auto wrong = client.Get(path, {{"Authorization", "Bearer " + std::string(64, '0')}});
    CHECK(wrong->status == 401);
    auto shorter = client.Get(path, {{"Authorization", "Bearer " + console.token.substr(0, 63)}});
    CHECK(shorter->status == 401);
  }
  auto rebound =
      client.Get("/api/overview", {{"Authorization", "Bearer " + console.token}, {"Host", "evil.example:80"}});
  CHECK(rebound->status == 421);
  auto cross =
      client.Get("/api/runs", {{"Authorization", "Bearer " + console.token}, {"Origin", "http://evil.example"}});
  CHECK(cross->status == 200);
  CHECK(!cross->has_header("Access-Control-Allow-Origin"));
  auto preflight =
      client.Options("/api/runs", {{"Origin", "http://evil.example"}, {"Access-Control-Request-Method", "GET"}});
  REQUIRE(preflight);
  CHECK(!preflight->has_header("Access-Control-Allow-Origin"));
  // The page itself holds no lineage; it is served with a strict policy.
  auto page = client.Get("/");
  REQUIRE(page);
  CHECK(page->status == 200);
  const std::string csp = page->get_header_value("Content-Security-Policy");
  CHECK(csp.starts_with("default-src 'none'; script-src 'sha256-"));
  CHECK(csp.find("connect-src 'self'") != std::string::npos);
  CHECK(csp.find("frame-ancestors 'none'") != std::string::npos);
  CHECK(page->body.find(log.curl) == std::string::npos);
  CHECK(page->get_header_value("X-Content-Type-Options") == "nosniff");
}

TEST_CASE("console: the API lists, filters and shows runs, exports a bundle that verifies, and serves metrics",
          "[console][server]") {
  ViewerLog log;
  Console console(log);
  const Json all = console.Get("/api/runs");
  CHECK(all["total"] == 5);
  CHECK(all["runs"][0]["id"] == log.hostile);  // newest first
  const Json denies = console.Get("/api/runs?verdict=deny");
  REQUIRE(denies["total"] == 1);
  CHECK(denies["runs"][0]["id"] == log.curl);
  CHECK(denies["runs"][0]["rules"][0] == "no_network_tools");
  CHECK(console.Get("/api/runs?program=cc")["total"] == 1);
  CHECK(console.Get("/api/runs?limit=2&offset=4")["runs"].size() == 1);
  auto bad = console.Client().Get("/api/runs?verdict=maybe", console.Auth());
  CHECK(bad->status == 400);

  const Json curl = console.Get("/api/runs/" + log.curl);
  CHECK(curl["run"]["rules"][0]["reason"] == "curl can send the workspace anywhere");
  CHECK(curl["inclusion_proof"]["leaf_index"] == curl["run"]["seq"]);
  CHECK(curl["inclusion_proof"]["tree_size"] == 15);
  CHECK(curl["parent"]["id"] == log.shell);
  const Json make = console.Get("/api/runs/" + log.make);
  REQUIRE(make["children"].size() == 1);
  CHECK(make["children"][0]["id"] == log.cc);
  CHECK(console.Client().Get(("/api/runs/" + std::string(32, 'f')).c_str(), console.Auth())->status == 404);
  // Hostile argv: escaped in list rows as on a terminal, raw (as data) in the run.
  const Json hostile_row = console.Get("/api/runs?text=owned")["runs"][0];
  CHECK(hostile_row["argv"].dump().find("\\\\x1b[2J") != std::string::npos);

  auto bundle = console.Client().Get(("/api/runs/" + log.shell + "/bundle").c_str(), console.Auth());
  REQUIRE(bundle);
  REQUIRE(bundle->status == 200);
  const std::string bundle_path = log.dir.path + "/exported.lineage";
  lineage::WriteFile(bundle_path, bundle->body);
  const lineage::Ran verified =
      lineage::RunProgram({GOV_GOVVERIFY, "--lineage-key", log.key_path, bundle_path}, log.dir.path);
  INFO(verified.out << verified.err);
  CHECK(verified.code == 0);

  const Json overview = console.Get("/api/overview");
  CHECK(overview["report"]["ok"] == true);
  CHECK(overview["verdicts"]["deny"] == 1);
  CHECK(overview["top_denied_programs"][0]["name"] == "/usr/bin/curl");
  CHECK(overview["top_denied_rules"][0]["name"] == "no_network_tools");
  CHECK(overview["host"].contains("landlock_abi"));
  const Json policies = console.Get("/api/policies");
  REQUIRE(policies["policies"].size() == 1);
  CHECK(policies["policies"][0]["decisions"] == 5);

  // Each document follows its schema (docs/schemas, with Ajv), a broken copy does not.
  const std::vector<std::pair<std::string, Json>> documents = {{"govconsole-runs.schema.json", all},
                                                               {"govconsole-run.schema.json", curl},
                                                               {"govconsole-run.schema.json", make},
                                                               {"govconsole-overview.schema.json", overview},
                                                               {"govconsole-policies.schema.json", policies}};
  for (const auto& [schema, document] : documents) {
    CHECK(document["version"] == 1);
    const gov::testing::SchemaCheck valid = gov::testing::ValidateJsonSchema(schema, document.dump());
    INFO(schema << ": " << valid.output);
    CHECK(valid.status == 0);
    Json broken = document;
    broken["version"] = 2;
    CHECK(gov::testing::ValidateJsonSchema(schema, broken.dump()).status == 1);
  }
  Json broken = all;
  broken["runs"][0]["verdict"] = "maybe";
  CHECK(gov::testing::ValidateJsonSchema("govconsole-runs.schema.json", broken.dump()).status == 1);
  broken = curl;
  broken["inclusion_proof"]["root"] = "00";
  CHECK(gov::testing::ValidateJsonSchema("govconsole-run.schema.json", broken.dump()).status == 1);
  broken = overview;
  broken["per_minute"].erase(0);
  CHECK(gov::testing::ValidateJsonSchema("govconsole-overview.schema.json", broken.dump()).status == 1);
  broken = policies;
  broken["policies"][0]["rules"][0].erase("decisions");
  CHECK(gov::testing::ValidateJsonSchema("govconsole-policies.schema.json", broken.dump()).status == 1);

  // govd's own metrics file in the lineage directory joins /metrics (docs/govd.md "Metrics").
  lineage::WriteFile(log.dir.path + "/govd-metrics.prom",
                     "# HELP gov_govd_refusals_total Requests govd refused since it started.\n"
                     "# TYPE gov_govd_refusals_total counter\ngov_govd_refusals_total 7\n");
  auto metrics = console.Client().Get("/metrics", console.Auth());
  REQUIRE(metrics);
  REQUIRE(metrics->status == 200);
  CHECK(metrics->body.find("gov_decisions_total{verdict=\"deny\",rule=\"no_network_tools\"} 1\n") != std::string::npos);
  CHECK(metrics->body.find("gov_lineage_verified 1\n") != std::string::npos);
  // The start records' figures (4 executed runs: 0.3 ms deciding, 2 ms held).
  for (const char* sample :
       {"gov_decision_latency_seconds_bucket{le=\"0.00025\"} 0\n",
        "gov_decision_latency_seconds_bucket{le=\"0.0005\"} 4\n", "gov_decision_latency_seconds_count 4\n",
        "gov_exec_latency_seconds_bucket{le=\"0.001\"} 0\n", "gov_exec_latency_seconds_bucket{le=\"0.0025\"} 4\n",
        "gov_exec_latency_seconds_sum 0.008\n"}) {
    INFO(sample);
    CHECK(metrics->body.find(sample) != std::string::npos);
  }
  const std::string metrics_path = log.dir.path + "/metrics.txt";
  lineage::WriteFile(metrics_path, metrics->body);
  INFO("promtool comes with Debian's prometheus package (./gov.sh test installs it)");
  REQUIRE(std::filesystem::exists("/usr/bin/promtool"));
  const lineage::Ran promtool =
      lineage::RunProgram({"/bin/sh", "-c", "/usr/bin/promtool check metrics < " + metrics_path}, log.dir.path);
  INFO(promtool.out << promtool.err);
  CHECK(promtool.code == 0);
  CHECK(metrics->body.find("gov_govd_refusals_total 7\n") != std::string::npos);
  // A file that would add anything but govd's families is left out whole.
  lineage::WriteFile(log.dir.path + "/govd-metrics.prom",
                     "gov_govd_refusals_total 8\ngov_decisions_total{verdict=\"allow\",rule=\"forged\"} 1000\n");
  auto forged = console.Client().Get("/metrics", console.Auth());
  REQUIRE(forged);
  CHECK(forged->body.find("forged") == std::string::npos);
  CHECK(forged->body.find("gov_govd_refusals_total") == std::string::npos);
}

// A policy bundle `ops.govb` beside `log`, built by govc (with its tests,
// so it has a TESTS section) and signed by `ops.key`, and two runs of the
// log decided by its rule `tools` (id 1).
struct OpsBundle {
  std::string key_file, pub_file, bundle, digest;
  crypto::PrivateKey policy_key = lineage::TestKey(8);

  explicit OpsBundle(const ViewerLog& log) {
    key_file = log.dir.path + "/ops.key";
    pub_file = log.dir.path + "/ops.pub";
    REQUIRE(crypto::WritePrivateKeyFile(key_file, policy_key).ok());
    lineage::WriteFile(pub_file, policy_key.public_key().ToPem());
    lineage::WriteFile(log.dir.path + "/ops.gov",
                       "policy ops version \"2.1.0\"\n"
                       "allow shells when program.name == \"bash\" because \"shells\"\n"
                       "allow tools when program.name in {\"true\", \"echo\"} because \"harmless tools\"\n"
                       "deny fetch when program.name == \"curl\" because \"no network\"\n"
                       "test \"tools\" {\n"
                       "  exec [\"/usr/bin/true\"] => allow by tools\n"
                       "  exec [\"/usr/bin/curl\", \"x\"] => deny by fetch\n"
                       "}\n");
    bundle = log.dir.path + "/ops.govb";
    const lineage::Ran built = lineage::RunProgram(
        {GOV_GOVC, "build", log.dir.path + "/ops.gov", "--key", key_file, "-o", bundle}, log.dir.path);
    INFO(built.out << built.err);
    REQUIRE(built.code == 0);
    digest = crypto::DigestString(crypto::Sha256Of(lineage::ReadFile(bundle)));
    auto opened = lineage::OpenLog(log.dir.path, log.key);
    REQUIRE(opened.ok());
    for (int i = 0; i < 2; ++i) {
      auto auth = lineage::SampleAuthorization(lineage::NewRunId(), "", "allow");
      auth.policy_digest = digest;
      auth.policy_name = "ops";
      auth.policy_version = "2.1.0";
      auth.rules = {{1, "tools", "allow", "harmless tools"}};
      REQUIRE(opened.value()->RecordAuthorization(auth).ok());
    }
    REQUIRE(opened.value()->Checkpoint().ok());
  }
};

TEST_CASE(
    "console: --policy shows who signed a bundle, every rule it has and how many decided, an unverified "
    "bundle is refused",
    "[console][server]") {
  ViewerLog log;
  const OpsBundle ops_bundle(log);
  const std::string &key_file = ops_bundle.key_file, &pub_file = ops_bundle.pub_file, &bundle = ops_bundle.bundle,
                    &digest = ops_bundle.digest;
  const crypto::PrivateKey& policy_key = ops_bundle.policy_key;
  {
    Console console(log, {"--policy", bundle, "--policy-key", pub_file});
    const Json policies = console.Get("/api/policies");
    const gov::testing::SchemaCheck valid =
        gov::testing::ValidateJsonSchema("govconsole-policies.schema.json", policies.dump());
    INFO(valid.output);
    CHECK(valid.status == 0);
    REQUIRE(policies["policies"].size() == 2);
    Json ops, other;
    for (const Json& policy : policies["policies"]) (policy["digest"] == digest ? ops : other) = policy;
    REQUIRE(ops.is_object());
    CHECK(ops["decisions"] == 2);
    CHECK(ops["name"] == "ops");
    CHECK(ops["bundle"]["signer"] == policy_key.public_key().IdHex());
    CHECK(ops["bundle"]["signer_file"] == pub_file);
    CHECK(ops["bundle"]["file"] == bundle);
    REQUIRE(ops["rules"].size() == 3);  // every rule, also those that never decided
    CHECK(ops["rules"][0] ==
          Json({{"name", "shells"}, {"verdict", "allow"}, {"reason", "shells"}, {"decisions", 0}, {"tested", false}}));
    CHECK(ops["rules"][1]["decisions"] == 2);
    CHECK(ops["rules"][1]["tested"] == true);
    CHECK(ops["rules"][2] ==
          Json({{"name", "fetch"}, {"verdict", "deny"}, {"reason", "no network"}, {"decisions", 0}, {"tested", true}}));
    CHECK(ops["coverage"] == Json({{"rules", 3}, {"decided", 1}}));
    // What govc build's run of the policy's tests found, from the bundle's TESTS section.
    CHECK(ops["tests"]["cases"] == 2);
    CHECK(ops["tests"]["exercised"] == 2);
    // The log's other policy has no bundle here: its signer is unknown.
    CHECK(other["bundle"].is_null());
    CHECK(other["decisions"] == 5);
  }
  // Refused before serving: a bundle no pinned key signed (78), a bundle
  // without any policy key (78), a policy key with nothing to verify (64).
  const lineage::TempDir other_dir;
  const std::string other_pub = other_dir.path + "/other.pub";
  lineage::WriteFile(other_pub, lineage::TestKey(9).public_key().ToPem());
  const std::vector<std::string> base = {GOV_GOVCONSOLE,  "--lineage",    log.dir.path,
                                         "--lineage-key", log.key_path,   "--listen",
                                         "127.0.0.1:0",   "--token-file", log.dir.path + "/console.token"};
  auto run = [&](std::vector<std::string> more) {
    std::vector<std::string> argv = base;
    argv.insert(argv.end(), more.begin(), more.end());
    return lineage::RunProgram(argv, log.dir.path);
  };
  const lineage::Ran unsigned_by_pinned = run({"--policy", bundle, "--policy-key", other_pub});
  CHECK(unsigned_by_pinned.code == 78);
  CHECK(unsigned_by_pinned.err.find("--policy " + bundle + ": ") != std::string::npos);
  // Built with --skip-tests: no TESTS section, the coverage is unknown.
  const std::string untested = log.dir.path + "/untested.govb";
  REQUIRE(lineage::RunProgram(
              {GOV_GOVC, "build", log.dir.path + "/ops.gov", "--key", key_file, "-o", untested, "--skip-tests"},
              log.dir.path)
              .code == 0);
  {
    Console console(log, {"--policy", untested, "--policy-key", pub_file});
    const Json policies = console.Get("/api/policies");
    bool found = false;
    for (const Json& policy : policies["policies"]) {
      if (policy["bundle"].is_null()) continue;
      found = true;
      CHECK(policy["tests"].is_null());
      CHECK(!policy["rules"][0].contains("tested"));
    }
    CHECK(found);
  }
  const lineage::Ran no_key = run({"--policy", bundle});
  CHECK(no_key.code == 78);
  CHECK(no_key.err.find("no --policy-key or --trust key to verify it with") != std::string::npos);
  CHECK(run({"--policy-key", pub_file}).code == 64);
}

TEST_CASE("console: a change to the log is seen live, and a tampered log is reported as failing", "[console][server]") {
  ViewerLog log;
  Console console(log);
  const std::uint64_t generation = console.Get("/api/changes?after=0")["generation"];
  AppendRun(log);
  const Json changed = console.Get("/api/changes?after=" + std::to_string(generation));
  CHECK(changed["generation"].get<std::uint64_t>() > generation);
  CHECK(console.Get("/api/runs")["total"] == 6);

  std::string bytes = lineage::ReadFile(log.log_path);
  bytes[bytes.find("curl can send")] = 'C';
  lineage::WriteFile(log.log_path, bytes);
  const std::uint64_t before = console.Get("/api/overview")["generation"];
  console.Get("/api/changes?after=" + std::to_string(before));
  const Json overview = console.Get("/api/overview");
  CHECK(overview["report"]["ok"] == false);
  CHECK(overview["report"]["failure"]["class"] == "chain");
  auto metrics = console.Client().Get("/metrics", console.Auth());
  CHECK(metrics->body.find("gov_lineage_verified 0\n") != std::string::npos);
  // The tampered run itself is read from the log as it is now: flagged, not certified.
  const Json denied = console.Get("/api/runs?verdict=deny&rule=no_network_tools")["runs"][0];
  CHECK(denied["id"] == log.curl);
  CHECK(denied["certified"] == false);
  CHECK(denied["problem"].get<std::string>().find("BODY is not the one its HEAD names") != std::string::npos);
  const Json page = console.Get("/api/runs/" + log.curl);
  CHECK(page["run"]["certified"] == false);
  CHECK(!page.contains("inclusion_proof"));
}

// The index is a cache: a row that points at another record is never served
// as the run; the request fails and the index is made again from the log.
TEST_CASE("console: an index row pointing elsewhere is refused and the index is made again from the log",
          "[console][server]") {
  ViewerLog log;
  const std::string index = log.dir.path + "/console.sqlite";
  {
    Console console(log);
    CHECK(console.Get("/api/runs/" + log.curl)["run"]["rules"][0]["name"] == "no_network_tools");
  }
  // While no console runs, the curl row is pointed at the shell's authorization.
  const lineage::Ran edited = lineage::RunProgram(
      {"/usr/bin/python3", "-c",
       "import sqlite3, sys\n"
       "db = sqlite3.connect(sys.argv[1])\n"
       "shell = db.execute('SELECT a_seq, a_off, a_len FROM runs WHERE id = ?', (sys.argv[2],)).fetchone()\n"
       "db.execute('UPDATE runs SET a_seq = ?, a_off = ?, a_len = ? WHERE id = ?', shell + (sys.argv[3],))\n"
       "db.commit()\n",
       index, log.shell, log.curl},
      log.dir.path);
  INFO(edited.out << edited.err);
  REQUIRE(edited.code == 0);
  Console console(log);
  const std::uint64_t generation = console.Get("/api/changes?after=0")["generation"];
  auto refused = console.Client().Get(("/api/runs/" + log.curl).c_str(), console.Auth());
  REQUIRE(refused);
  CHECK(refused->status == 503);
  CHECK(refused->body.find("does not match the log") != std::string::npos);
  console.Get("/api/changes?after=" + std::to_string(generation));
  const Json fixed = console.Get("/api/runs/" + log.curl);
  CHECK(fixed["run"]["rules"][0]["name"] == "no_network_tools");
  CHECK(fixed["run"]["certified"] == true);
}

#ifdef GOV_GOVD
// Puts one ask to govd over its socket, as govrun would (docs/govd.md
// "Protocol"), and prints the answer: "ANSWER BY_UID".
constexpr const char* kAsker = R"(
import json, socket, struct, sys
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
def receive(n):
    data = b''
    while len(data) < n:
        chunk = s.recv(n - len(data))
        if not chunk:
            sys.exit('govd closed the connection')
        data += chunk
    return data
def call(request):
    data = json.dumps(request).encode()
    s.sendall(struct.pack('<I', len(data)) + data)
    return json.loads(receive(struct.unpack('<I', receive(4))[0]))
assert call({'op': 'hello', 'version': 2})['ok']
question = {'program': '/usr/bin/git', 'command': 'git push --force <img src=x onerror=alert(1)>', 'cwd': '/srv',
            'limits': 'timeout=1m', 'rules': [{'name': 'push', 'reason': 'a person decides'}]}
answer = call({'op': 'ask', 'run': sys.argv[2], 'question': question, 'timeout_ms': 60000})
print(answer['answer'], answer['by_uid'])
)";

TEST_CASE("console: the approvals page lists govd's waiting asks and answers them as the console's uid",
          "[console][server][approvals][browser]") {
  if (geteuid() != 0) {
    WARN("skipped: needs root (an asker of another uid)");
    return;
  }
  ViewerLog log;
  lineage::TempDir service;
  REQUIRE(chmod(service.path.c_str(), 0755) == 0);
  REQUIRE(crypto::WritePrivateKeyFile(service.path + "/lin.key", lineage::TestKey(9)).ok());
  std::filesystem::create_directory(service.path + "/lineage");
  const std::string socket = service.path + "/govd.sock";
  const std::string approvals = service.path + "/approvals.sock";
  std::thread asker;
  struct Join {
    std::thread& thread;
    ~Join() {
      if (thread.joinable()) thread.join();  // after govd stopped: the asker has its answer or its end
    }
  } join{asker};
  const pid_t govd = fork();
  REQUIRE(govd >= 0);
  if (govd == 0) {
    execl(GOV_GOVD, GOV_GOVD, "--lineage", (service.path + "/lineage").c_str(), "--key",
          (service.path + "/lin.key").c_str(), "--socket", socket.c_str(), "--submitter-group", "0",
          "--approvals-socket", approvals.c_str(), "--approver", "0", nullptr);
    _exit(127);
  }
  struct Stop {
    pid_t pid;
    ~Stop() {
      kill(pid, SIGTERM);
      waitpid(pid, nullptr, 0);
    }
  } stop{govd};
  for (int i = 0; i < 1000 && !std::filesystem::exists(approvals); ++i) usleep(10000);
  REQUIRE(std::filesystem::exists(approvals));

  Console console(log, {"--approvals-socket", approvals});
  CHECK(console.Get("/api/approvals")["asks"].empty());
  const std::string run = lineage::NewRunId();
  lineage::Ran asked;
  asker = std::thread([&] {
    asked = lineage::RunProgram(
        {"setpriv", "--reuid=64202", "--regid=0", "--clear-groups", "/usr/bin/python3", "-c", kAsker, socket, run},
        log.dir.path);
  });
  Json listed;
  for (int i = 0; i < 500; ++i) {
    listed = console.Get("/api/approvals");
    if (!listed["asks"].empty()) break;
    usleep(20000);
  }
  REQUIRE(listed["available"] == true);
  REQUIRE(listed["asks"].size() == 1);
  const Json& ask = listed["asks"][0];
  CHECK(ask["run"] == run);
  CHECK(ask["asker"]["uid"] == 64202);
  CHECK(ask["question"]["command"] == "git push --force <img src=x onerror=alert(1)>");
  const std::string id = ask["ask"];

  auto client = console.Client();
  auto bad = client.Post(("/api/approvals/" + id).c_str(), console.Auth(), "yes", "application/json");
  REQUIRE(bad);
  CHECK(bad->status == 400);
  auto unknown = client.Post(("/api/approvals/" + std::string(32, 'a')).c_str(), console.Auth(), R"({"approve":true})",
                             "application/json");
  REQUIRE(unknown);
  CHECK(unknown->status == 409);
  CHECK(unknown->body.find("is waiting") != std::string::npos);
  auto anonymous = client.Post(("/api/approvals/" + id).c_str(), R"({"approve":true})", "application/json");
  REQUIRE(anonymous);
  CHECK(anonymous->status == 401);
  // The approver approves in Chromium; the hostile command stays text.
  const std::string modules = std::string(GOV_SOURCE_DIR) + "/build/node/node_modules";
  REQUIRE(std::filesystem::exists(modules + "/puppeteer-core"));
  std::filesystem::create_directories(GOV_TEST_OUTPUT_DIR);
  const lineage::Ran browser = lineage::RunProgram(
      {"/usr/bin/env", "NODE_PATH=" + modules, "node",
       std::string(GOV_SOURCE_DIR) + "/tests/console/approvals_browser.js", console.url, GOV_TEST_OUTPUT_DIR},
      log.dir.path);
  INFO(browser.err);
  REQUIRE(browser.code == 0);
  const Json seen = Json::parse(browser.out);
  CHECK(seen["foreign"].empty());
  CHECK(seen["page_errors"].empty());
  CHECK(seen["ask"]["id"] == id);
  CHECK(seen["ask"]["images"] == 0);
  CHECK(seen["ask"]["text"].get<std::string>().find("git push --force <img src=x onerror=alert(1)>") !=
        std::string::npos);
  CHECK(seen["ask"]["text"].get<std::string>().find("uid 64202") != std::string::npos);
  CHECK(seen["answered"] == id + " approved");
  PublishScreenshot("console-approvals.png");
  asker.join();
  INFO(asked.err);
  CHECK(asked.code == 0);
  CHECK(asked.out == "yes 0\n");
  CHECK(console.Get("/api/approvals")["asks"].empty());
}
#endif

TEST_CASE("console: --token-file - takes the token from standard input, and only a well-formed one",
          "[console][server]") {
  ViewerLog log;
  const std::string base = std::string("'") + GOV_GOVCONSOLE + "' --lineage '" + log.dir.path + "' --lineage-key '" +
                           log.key_path + "' --listen 127.0.0.1:0 --token-file -";
  const lineage::Ran malformed =
      lineage::RunProgram({"/bin/sh", "-c", "printf 'not-a-token\\n' | " + base}, log.dir.path);
  CHECK(malformed.code == 78);
  CHECK(malformed.err.find("standard input does not hold a token") != std::string::npos);
  CHECK(lineage::RunProgram({"/bin/sh", "-c", base + " < /dev/null"}, log.dir.path).code == 78);

  const std::string token(64, 'c');
  const std::string token_path = log.dir.path + "/piped.token";
  lineage::WriteFile(token_path, token + "\n");
  const std::string out = log.dir.path + "/piped.out";
  const pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    const std::string command = "exec " + base + " < '" + token_path + "' > '" + out + "' 2>&1";
    execl("/bin/sh", "sh", "-c", command.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  int port = 0;
  for (int i = 0; i < 1200 && port == 0; ++i) {
    const std::string text = lineage::ReadFile(out);
    const std::size_t at = text.find("open http://127.0.0.1:");
    if (at != std::string::npos && text.find('\n', at) != std::string::npos) {
      CHECK(text.find("#token=" + token + "\n", at) != std::string::npos);
      CHECK(text.find("(token in standard input)") != std::string::npos);
      port = std::stoi(text.substr(at + 22));
    } else {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }
  INFO(lineage::ReadFile(out));
  REQUIRE(port > 0);
  httplib::Client client("127.0.0.1", port);
  client.set_read_timeout(60, 0);
  auto with_piped = client.Get("/api/runs", {{"Authorization", "Bearer " + token}});
  REQUIRE(with_piped);
  CHECK(with_piped->status == 200);
  auto other = client.Get("/api/runs", {{"Authorization", "Bearer " + std::string(64, 'd')}});
  REQUIRE(other);
  CHECK(other->status == 401);
  kill(pid, SIGTERM);
  int status = 0;
  waitpid(pid, &status, 0);
  CHECK(WIFEXITED(status));
}

TEST_CASE("console: refuses a readable token file, a non-loopback address and an index it must not write",
          "[console][server]") {
  ViewerLog log;
  const std::string token = log.dir.path + "/open.token";
  lineage::WriteFile(token, std::string(64, 'a'));
  chmod(token.c_str(), 0644);
  const lineage::Ran readable = lineage::RunProgram({GOV_GOVCONSOLE, "--lineage", log.dir.path, "--lineage-key",
                                                     log.key_path, "--listen", "127.0.0.1:0", "--token-file", token},
                                                    log.dir.path);
  CHECK(readable.code == 78);
  CHECK(readable.err.find("mode 0600") != std::string::npos);
  const lineage::Ran remote =
      lineage::RunProgram({GOV_GOVCONSOLE, "--lineage", log.dir.path, "--lineage-key", log.key_path, "--listen",
                           "0.0.0.0:0", "--token-file", log.dir.path + "/t"},
                          log.dir.path);
  CHECK(remote.code == 78);
  CHECK(remote.err.find("only loopback") != std::string::npos);
  // An index path that is a symbolic link (to a file the console must not overwrite) or a directory.
  const std::string victim = log.dir.path + "/victim";
  lineage::WriteFile(victim, "keep me");
  const std::string link = log.dir.path + "/index.sqlite";
  REQUIRE(symlink(victim.c_str(), link.c_str()) == 0);
  for (const std::string& index : {link, log.dir.path}) {
    const lineage::Ran refused = lineage::RunProgram(
        {GOV_GOVCONSOLE, "--lineage", log.dir.path, "--lineage-key", log.key_path, "--listen", "127.0.0.1:0",
         "--token-file", log.dir.path + "/t", "--index", index},
        log.dir.path);
    INFO(refused.err);
    CHECK(refused.code == 78);
    CHECK(refused.err.find("is not a regular file (left as it is)") != std::string::npos);
  }
  CHECK(lineage::ReadFile(victim) == "keep me");
  // A lineage directory without its log is unreadable input (66), not a bad index.
  const lineage::TempDir empty;
  const lineage::Ran no_log =
      lineage::RunProgram({GOV_GOVCONSOLE, "--lineage", empty.path, "--lineage-key", log.key_path, "--listen",
                           "127.0.0.1:0", "--token-file", log.dir.path + "/t", "--index", empty.path + "/index.sqlite"},
                          log.dir.path);
  INFO(no_log.err);
  CHECK(no_log.code == 66);
  CHECK(no_log.err.find("lineage.log") != std::string::npos);
}

TEST_CASE("console: --socket serves on a Unix socket of mode 0600, replaces only a stale socket, and removes it",
          "[console][server]") {
  ViewerLog log;
  const std::string socket_path = log.dir.path + "/console.sock";
  const std::string token_file = log.dir.path + "/console.token";
  const std::vector<std::string> base = {GOV_GOVCONSOLE, "--lineage",    log.dir.path, "--lineage-key",
                                         log.key_path,   "--token-file", token_file,   "--socket"};
  auto with_socket = [&](const std::string& path) {
    std::vector<std::string> argv = base;
    argv.push_back(path);
    return argv;
  };

  // A file that is not a socket is never replaced.
  const std::string precious = log.dir.path + "/precious";
  lineage::WriteFile(precious, "keep me");
  const lineage::Ran occupied = lineage::RunProgram(with_socket(precious), log.dir.path);
  CHECK(occupied.code == 74);
  CHECK(occupied.err.find("exists and is not a socket") != std::string::npos);
  CHECK(lineage::ReadFile(precious) == "keep me");
  // --listen and --socket exclude each other.
  std::vector<std::string> both = with_socket(socket_path);
  both.insert(both.end(), {"--listen", "127.0.0.1:0"});
  CHECK(lineage::RunProgram(both, log.dir.path).code == 64);

  // A stale socket (its server is gone) is replaced.
  {
    const int stale = socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::memcpy(address.sun_path, socket_path.c_str(), socket_path.size() + 1);
    REQUIRE(bind(stale, reinterpret_cast<const sockaddr*>(&address), sizeof address) == 0);
    close(stale);
  }
  const std::string out = log.dir.path + "/socket.out";
  const pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    const int fd = open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    dup2(fd, 1);
    dup2(fd, 2);
    std::vector<std::string> argv = with_socket(socket_path);
    std::vector<char*> args;
    for (std::string& arg : argv) args.push_back(arg.data());
    args.push_back(nullptr);
    execv(GOV_GOVCONSOLE, args.data());
    _exit(127);
  }
  bool serving = false;
  for (int i = 0; i < 1200 && !serving; ++i) {
    serving = lineage::ReadFile(out).find("on unix:" + socket_path) != std::string::npos;
    if (!serving) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  INFO(lineage::ReadFile(out));
  REQUIRE(serving);
  struct stat st {};
  REQUIRE(lstat(socket_path.c_str(), &st) == 0);
  CHECK(S_ISSOCK(st.st_mode));
  CHECK((st.st_mode & 0777) == 0600);
  const std::string token = lineage::ReadFile(token_file);

  httplib::Client client(socket_path);
  client.set_address_family(AF_UNIX);
  client.set_read_timeout(60, 0);
  auto anonymous = client.Get("/api/runs");
  REQUIRE(anonymous);
  CHECK(anonymous->status == 401);
  auto runs = client.Get("/api/runs", {{"Authorization", "Bearer " + token}});
  REQUIRE(runs);
  CHECK(runs->status == 200);
  CHECK(Json::parse(runs->body)["total"] == 5);
  // A proxy in front of the socket names its own host: no rebinding check here.
  auto proxied = client.Get("/api/overview", {{"Authorization", "Bearer " + token}, {"Host", "console.example"}});
  REQUIRE(proxied);
  CHECK(proxied->status == 200);
  // A second console on a live socket is refused and leaves the first serving.
  const lineage::Ran second = lineage::RunProgram(with_socket(socket_path), log.dir.path);
  CHECK(second.code == 74);
  CHECK(second.err.find("another server answers on it") != std::string::npos);
  CHECK(client.Get("/api/runs", {{"Authorization", "Bearer " + token}})->status == 200);

  kill(pid, SIGTERM);
  int status = 0;
  waitpid(pid, &status, 0);
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
  CHECK(lstat(socket_path.c_str(), &st) != 0);  // removed on exit
}

TEST_CASE("console: in Chromium an operator filters denies, opens one, exports it and sees new runs live",
          "[console][server][browser]") {
  const std::string modules = std::string(GOV_SOURCE_DIR) + "/build/node/node_modules";
  REQUIRE(std::filesystem::exists(modules + "/puppeteer-core"));
  ViewerLog log;
  const OpsBundle ops_bundle(log);
  Console console(log, {"--policy", ops_bundle.bundle, "--policy-key", ops_bundle.pub_file});
  std::filesystem::create_directories(GOV_TEST_OUTPUT_DIR);
  const std::string flag = log.dir.path + "/grow.flag";
  const std::string out = log.dir.path + "/browser.json", err = log.dir.path + "/browser.err";
  const pid_t node = fork();
  REQUIRE(node >= 0);
  if (node == 0) {
    const int out_fd = open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    const int err_fd = open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    dup2(out_fd, 1);
    dup2(err_fd, 2);
    const std::string path = "NODE_PATH=" + modules;
    execl("/usr/bin/env", "env", path.c_str(), "node",
          (std::string(GOV_SOURCE_DIR) + "/tests/console/console_browser.js").c_str(), console.url.c_str(),
          GOV_TEST_OUTPUT_DIR, flag.c_str(), nullptr);
    _exit(127);
  }
  bool grown = false;
  int status = 0;
  for (int i = 0; i < 4000; ++i) {  // 200 s at most
    if (!grown && std::filesystem::exists(flag)) {
      AppendRun(log);
      grown = true;
    }
    if (waitpid(node, &status, WNOHANG) == node) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  INFO(lineage::ReadFile(err));
  REQUIRE(WIFEXITED(status));
  REQUIRE(WEXITSTATUS(status) == 0);
  const Json seen = Json::parse(lineage::ReadFile(out));
  for (const char* shot : {"console-overview.png", "console-runs.png", "console-run.png", "console-policies.png"}) {
    PublishScreenshot(shot);
  }
  CHECK(seen["foreign"].empty());
  CHECK(seen["page_errors"].empty());
  CHECK(seen["token_left_in_url"] == false);
  CHECK(seen["overview"]["verdict"].get<std::string>().starts_with("Verified ✓ log "));
  CHECK(seen["overview"]["text"].get<std::string>().find("no_network_tools") != std::string::npos);
  REQUIRE(seen["denies"].size() == 1);
  CHECK(seen["denies"][0]["run"] == log.curl);
  const std::string run = seen["run"];
  CHECK(run.find("curl can send the workspace anywhere") != std::string::npos);
  CHECK(seen["export"].get<std::string>().starts_with("Exported "));
  CHECK(seen["inclusion"] == "✓ the path leads from the leaf to the root");
  CHECK(seen["inclusion_tampered"]["good"] == true);
  CHECK(seen["inclusion_tampered"]["bad"] == false);
  CHECK(seen["inclusion_tampered"]["hashes"].get<int>() > 0);
  CHECK(seen["after"].get<int>() == seen["before"].get<int>() + 1);
  CHECK(seen["live"].get<std::string>().starts_with("updated "));
  CHECK(seen["policies"].get<std::string>().find("late_rule") != std::string::npos);
  // The bundle given with --policy: its signer, coverage by the log and by its tests.
  const std::string policies = seen["policies"];
  CHECK(policies.find("key " + ops_bundle.policy_key.public_key().IdHex()) != std::string::npos);
  CHECK(policies.find("rules that decided\t1 of 3") != std::string::npos);
  CHECK(policies.find("2 test cases passed") != std::string::npos);
  CHECK(policies.find("no case decides it") != std::string::npos);
  CHECK(seen["xss"] == false);
  CHECK(seen["handlers"] == 0);
}

}  // namespace
}  // namespace gov::console
