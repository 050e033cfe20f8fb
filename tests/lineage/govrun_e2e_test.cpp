// Lineage end to end through the real govrun, govc and govverify: a nested
// governed session yields a bundle that `govverify --trust … --policy …
// --replay` accepts (and the Python verifier too); an env secret never
// appears in clear; concurrent govrun processes; govrun SIGKILLed at random
// points leaves a log that verifies with the interrupted runs incomplete.
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <random>
#include <thread>

#include "tests/lineage/helpers.h"

#if defined(GOV_GOVRUN) && defined(GOV_GOVC)

namespace gov::lineage {
namespace {

constexpr const char* kPolicy =
    "policy lineage_e2e version \"1.0.0\"\n"
    "allow tools when program.name in {\"true\", \"false\", \"touch\", \"sh\", \"dash\", \"sleep\"}\n"
    "    because \"test tools\"\n"
    "    with { env = [\"GOV_CONFIG\", \"MODE\", \"PATH\"] }\n"
    "allow echo_ci when program.name == \"echo\" and (env[\"MODE\"] ?? \"\") == \"ci\"\n"
    "    because \"echo in CI mode\"\n"
    "deny fffd when program.name == \"echo\" and args[0] == \"a\\u{FFFD}\"\n"
    "    because \"the replacement character\"\n"
    "allow printenv_raw when program.name == \"printenv\" and (env[\"RAW\"] ?? \"\") != \"\"\n"
    "    with { env = [\"RAW\"] }\n";

constexpr const char* kSecret = "hunter2-never-in-clear-7f3a";

// Keys, a policy built and signed by govc, a lineage directory and a config.
struct Governed {
  TempDir dir;
  std::string config;
  Governed() {
    for (const char* name : {"pol", "lin"}) {
      auto key = crypto::PrivateKey::Generate();
      REQUIRE(key.ok());
      REQUIRE(crypto::WritePrivateKeyFile(dir.path + "/" + name + ".key", key.value()).ok());
      REQUIRE(crypto::WritePublicKeyFile(dir.path + "/" + name + ".pub", key.value().public_key()).ok());
    }
    WriteFile(dir.path + "/p.gov", kPolicy);
    // govc may be mid-relink in a shared build directory (exit 127): retry briefly.
    Ran built;
    for (int attempt = 0; attempt < 20; ++attempt) {
      built = RunProgram(
          {GOV_GOVC, "build", dir.path + "/p.gov", "--key", dir.path + "/pol.key", "-o", dir.path + "/p.govb"},
          dir.path);
      if (built.code != 127) break;
      std::this_thread::sleep_for(std::chrono::seconds(1));
    }
    INFO(built.out << built.err);
    REQUIRE(built.code == 0);
    REQUIRE(mkdir((dir.path + "/lineage").c_str(), 0700) == 0);
    config = dir.path + "/config.toml";
    WriteFile(config, "policy = \"" + dir.path + "/p.govb\"\ntrusted_keys = [\"" + dir.path +
                          "/pol.pub\"]\nlineage_dir = \"" + dir.path + "/lineage\"\nsigning_key = \"" + dir.path +
                          "/lin.key\"\n");
  }
  std::vector<std::string> Env() const {
    return {"GOV_CONFIG=" + config, "MODE=ci", std::string("SECRET_TOKEN=") + kSecret, "PATH=/usr/bin:/bin"};
  }
  Ran Govverify(std::vector<std::string> args) const {
    std::vector<std::string> argv = {GOV_GOVVERIFY,
                                     "--trust",
                                     dir.path + "/lin.pub",
                                     "--trust",
                                     dir.path + "/pol.pub",
                                     "--policy",
                                     dir.path + "/p.govb",
                                     "--replay",
                                     "--format",
                                     "json"};
    argv.insert(argv.end(), args.begin(), args.end());
    return RunProgram(argv, dir.path);
  }
};

TEST_CASE("govrun: a nested governed session verifies and replays, secrets stay hashed", "[lineage][govrun]") {
  Governed g;
  const std::string bundle = g.dir.path + "/session.lineage";
  const std::string govrun = GOV_GOVRUN;
  const std::string script = govrun + " -- true && " + govrun + " -- echo hi && " + govrun + " -- sh -c '" + govrun +
                             " -- touch " + g.dir.path + "/marker'; " + govrun + " -- false; " + govrun +
                             " -- cat /etc/hostname; exit 0";
  Ran session = RunProgram({govrun, "--bundle", bundle, "--", "sh", "-c", script}, g.dir.path, g.Env());
  INFO(session.out << session.err);
  REQUIRE(session.code == 0);
  CHECK(session.out.find("hi") != std::string::npos);
  CHECK(session.err.find("deny") != std::string::npos);  // cat

  Ran verified = g.Govverify({bundle, g.dir.path + "/lineage"});
  INFO(verified.out << verified.err);
  REQUIRE(verified.code == 0);
  auto results = nlohmann::json::parse(verified.out).at("results");
  // sh (root), true, echo, sh, touch (nested twice), false, cat (denied).
  CHECK(results.at(0).at("kind") == "bundle");
  CHECK(results.at(0).at("runs") == 7);
  CHECK(results.at(0).at("deny") == 1);
  CHECK(results.at(0).at("replayed") == 7);
  CHECK(results.at(0).at("incomplete").empty());
  CHECK(results.at(1).at("runs") == 7);

  const std::string log = ReadFile(g.dir.path + "/lineage/lineage.log");
  const std::string bundle_bytes = ReadFile(bundle);
  CHECK(log.find(kSecret) == std::string::npos);
  CHECK(bundle_bytes.find(kSecret) == std::string::npos);
  CHECK(log.find("\"SECRET_TOKEN\":\"sha256:") != std::string::npos);
  CHECK(log.find("\"MODE\":\"ci\"") != std::string::npos);  // the policy reads it: evidence for replay

  Ran python = RunProgram({"python3", std::string(GOV_SOURCE_DIR) + "/tests/lineage/verify_lineage.py", "--trust",
                           g.dir.path + "/lin.pub", bundle, g.dir.path + "/lineage"},
                          g.dir.path);
  INFO(python.out << python.err);
  CHECK(python.code == 0);

  // A bundle exported later for the nested sh proves its subtree alone.
  std::string nested;  // the nested sh: a child run whose program is the shell
  for (const std::string& line : Lines(log)) {
    SplitLine split = Split(line);
    auto head = ParseHead(split.head);
    if (!head.ok() || head.value().type != RecordType::kAuthorization || head.value().parent.empty()) continue;
    const std::string program = nlohmann::json::parse(split.body).at("request").at("program");
    if (program == "/usr/bin/dash" || program == "/usr/bin/sh" || program == "/bin/sh")
      nested = std::string(head.value().run);
  }
  REQUIRE(!nested.empty());
  const std::string exported = g.dir.path + "/nested.lineage";
  REQUIRE(RunProgram({GOV_GOVVERIFY, "export", g.dir.path + "/lineage", nested, "-o", exported}, g.dir.path).code == 0);
  Ran sub = g.Govverify({exported});
  INFO("nested run " << nested << ": " << sub.out);
  CHECK(sub.code == 0);
  CHECK(nlohmann::json::parse(sub.out).at("results").at(0).at("runs") == 2);  // sh and touch
}

// Finding 7: argv, cwd and env that are not UTF-8 were recorded with U+FFFD:
// `echo $'a\xff'` and `echo $'a\xfe'` gave identical records, and a policy
// denying `args[0] == "a\u{FFFD}"` allowed the run that replay then denied.
TEST_CASE("govrun: argv, cwd and env that are not UTF-8 are recorded byte for byte and replay",
          "[lineage][govrun][bytes]") {
  Governed g;
  const std::string cwd = g.dir.path + "/d\xfe\xff";
  REQUIRE(mkdir(cwd.c_str(), 0700) == 0);
  std::vector<std::string> env = g.Env();
  env.push_back("N\xff=v\xfe");
  env.push_back("RAW=r\xff");
  // env(1) changes into the directory (a shell would drop the variable whose
  // name is not an identifier).
  auto governed = [&](std::vector<std::string> command) {
    std::vector<std::string> argv = {"env", "-C", cwd, GOV_GOVRUN, "--"};
    argv.insert(argv.end(), command.begin(), command.end());
    return RunProgram(argv, g.dir.path, env);
  };
  Ran ff = governed({"echo", "a\xff"});
  Ran fe = governed({"echo", "a\xfe"});
  Ran fffd = governed({"echo", "a\xef\xbf\xbd"});
  Ran raw = governed({"printenv", "RAW"});
  INFO(ff.err << fe.err << fffd.err << raw.err);
  CHECK(ff.code == 0);
  CHECK(ff.out == "a\xff\n");  // what the program got
  CHECK(fe.code == 0);
  CHECK(fe.out == "a\xfe\n");
  CHECK(fffd.code == 77);  // the UTF-8 of U+FFFD, and only that, is denied
  CHECK(raw.code == 0);
  CHECK(raw.out == "r\xff\n");

  const std::string log_text = ReadFile(g.dir.path + "/lineage/lineage.log");
  const std::size_t log_at = log_text.find("\"log\":\"");
  REQUIRE(log_at != std::string::npos);
  auto lineage_key = crypto::ReadPrivateKeyFile(g.dir.path + "/lin.key");
  REQUIRE(lineage_key.ok());
  const std::string salt = DeriveEnvSalt(lineage_key.value(), log_text.substr(log_at + 7, 32));
  std::vector<nlohmann::json> requests;
  std::vector<nlohmann::json> hashed;
  for (const std::string& line : Lines(ReadFile(g.dir.path + "/lineage/lineage.log"))) {
    SplitLine split = Split(line);
    auto head = ParseHead(split.head);
    REQUIRE(head.ok());
    if (head.value().type != RecordType::kAuthorization) continue;
    auto body = nlohmann::json::parse(split.body);
    requests.push_back(body.at("request"));
    hashed.push_back(body.at("env_hashed"));
  }
  REQUIRE(requests.size() == 4);
  CHECK(requests[0].at("args") == nlohmann::json::parse(R"([{"base64":"Yf8="}])"));
  CHECK(requests[1].at("args") == nlohmann::json::parse(R"([{"base64":"Yf4="}])"));
  CHECK(requests[2].at("args") == nlohmann::json::array({"a\xef\xbf\xbd"}));
  CHECK(requests[0] != requests[1]);
  const std::string cwd_base64 = crypto::Base64Encode(cwd);
  CHECK(requests[0].at("cwd") == nlohmann::json{{"base64", cwd_base64}});
  // The env name N\xff is hashed with its value, over the raw bytes.
  bool found = false;
  for (const auto& pair : hashed[0]) {
    if (pair.at(0) == nlohmann::json{{"base64", "Tv8="}}) {
      found = true;
      CHECK(pair.at(1) == EnvValueHash(salt, "N\xff", "v\xfe"));
    }
  }
  CHECK(found);
  // RAW is read by printenv_raw: recorded in clear, as its bytes.
  CHECK(requests[3].at("env").at("RAW") == nlohmann::json{{"base64", "cv8="}});

  // Both runs replay: the verifier decodes the bytes the policy decided on.
  Ran verified = g.Govverify({g.dir.path + "/lineage"});
  INFO(verified.out << verified.err);
  REQUIRE(verified.code == 0);
  auto result = nlohmann::json::parse(verified.out).at("results").at(0);
  CHECK(result.at("replayed") == 4);
  CHECK(result.at("deny") == 1);

  // The independent verifier decodes the same bytes.
  Ran python = RunProgram({"python3", std::string(GOV_SOURCE_DIR) + "/tests/lineage/verify_lineage.py", "--trust",
                           g.dir.path + "/lin.pub", "--requests", g.dir.path + "/lineage"},
                          g.dir.path);
  INFO(python.out << python.err);
  CHECK(python.code == 0);
  std::vector<nlohmann::json> decoded;
  for (const std::string& line : Lines(python.out)) {
    if (line.starts_with("request\t")) decoded.push_back(nlohmann::json::parse(line.substr(line.rfind('\t') + 1)));
  }
  REQUIRE(decoded.size() == 4);
  CHECK(decoded[0].at("args") == nlohmann::json::array({"61ff"}));
  CHECK(decoded[1].at("args") == nlohmann::json::array({"61fe"}));
  CHECK(decoded[2].at("args") == nlohmann::json::array({"61efbfbd"}));
  CHECK(decoded[0].at("cwd") == crypto::HexEncode(cwd));
  // MODE and RAW, read by the policy, in clear: [name, value] as hex.
  CHECK(decoded[3].at("env") == nlohmann::json::parse(R"([["4d4f4445","6369"],["524157","72ff"]])"));
  bool python_found = false;
  for (const auto& pair : decoded[0].at("env_hashed")) {
    if (pair.at(0) == "4eff") python_found = pair.at(1) == EnvValueHash(salt, "N\xff", "v\xfe");
  }
  CHECK(python_found);
}

// Finding 15: `govrun --bundle FIFO` replaced the FIFO with a file.
TEST_CASE("govrun --bundle: a FIFO is written to, a symlink written through", "[lineage][govrun][output]") {
  Governed g;
  const std::string fifo = g.dir.path + "/fifo";
  REQUIRE(mkfifo(fifo.c_str(), 0600) == 0);
  std::string got;
  std::thread reader([&] {
    const int fd = open(fifo.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return;
    char buffer[4096];
    ssize_t n;
    while ((n = read(fd, buffer, sizeof buffer)) > 0) got.append(buffer, static_cast<std::size_t>(n));
    close(fd);
  });
  Ran ran = RunProgram({GOV_GOVRUN, "--bundle", fifo, "--", "true"}, g.dir.path, g.Env());
  reader.join();
  INFO(ran.out << ran.err);
  CHECK(ran.code == 0);
  struct stat st {};
  REQUIRE(lstat(fifo.c_str(), &st) == 0);
  CHECK(S_ISFIFO(st.st_mode));
  REQUIRE(got.starts_with("{\"checkpoint\":\"gov-lineage/"));
  REQUIRE(got.find("\"format\":\"gov-lineage-bundle-v2\"") != std::string::npos);
  const std::string copy = g.dir.path + "/from-fifo.lineage";
  WriteFile(copy, got);
  Ran verified = g.Govverify({copy});
  INFO(verified.out);
  CHECK(verified.code == 0);

  const std::string real = g.dir.path + "/real.lineage";
  const std::string link = g.dir.path + "/link.lineage";
  WriteFile(real, "old");
  REQUIRE(symlink("real.lineage", link.c_str()) == 0);
  Ran through = RunProgram({GOV_GOVRUN, "--bundle", link, "--", "true"}, g.dir.path, g.Env());
  CHECK(through.code == 0);
  REQUIRE(lstat(link.c_str(), &st) == 0);
  CHECK(S_ISLNK(st.st_mode));
  CHECK(g.Govverify({real}).code == 0);
}

TEST_CASE("govrun: 8 concurrent govrun loops into one log", "[lineage][govrun][processes]") {
  Governed g;
#if defined(GOV_SANITIZED)
  const int per_process = 10;  // an ASan govrun starts ~10x slower; the release suite runs 200
#else
  const int per_process = 200;  // issue 5: 8 concurrent govrun processes x 200 runs
#endif
  std::vector<pid_t> pids;
  for (int p = 0; p < 8; ++p) {
    pid_t pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      std::string loop = "i=0; while [ $i -lt " + std::to_string(per_process) + " ]; do " + GOV_GOVRUN +
                         " -- true || { echo \"run $i: govrun exited $?\" >&2; exit 1; }; i=$((i+1)); done";
      std::string env = "GOV_CONFIG=" + g.config;
      putenv(env.data());
      execl("/bin/sh", "sh", "-c", loop.c_str(), static_cast<char*>(nullptr));
      _exit(127);
    }
    pids.push_back(pid);
  }
  for (pid_t pid : pids) {
    int status = 0;
    REQUIRE(waitpid(pid, &status, 0) == pid);
    CHECK(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
  }
  Ran verified = g.Govverify({g.dir.path + "/lineage"});
  INFO(verified.out << verified.err);
  REQUIRE(verified.code == 0);
  auto result = nlohmann::json::parse(verified.out).at("results").at(0);
  CHECK(result.at("runs") == 8 * per_process);
  CHECK(result.at("allow") == 8 * per_process);
  CHECK(result.at("incomplete").empty());
  CHECK(result.at("uncertified") == 0);
}

TEST_CASE("govrun SIGKILLed at random points: the log verifies, interrupted runs are incomplete",
          "[lineage][govrun][crash]") {
  Governed g;
  std::mt19937 random(1129);
  const std::string env = "GOV_CONFIG=" + g.config;
  int killed = 0;
  for (int round = 0; round < 100; ++round) {  // 200 runs, two at a time
    std::vector<pid_t> pids;
    for (int k = 0; k < 2; ++k) {
      pid_t pid = fork();
      REQUIRE(pid >= 0);
      if (pid == 0) {
        putenv(const_cast<char*>(env.c_str()));
        int null = open("/dev/null", O_RDWR);
        dup2(null, 1);
        dup2(null, 2);
        execl(GOV_GOVRUN, "govrun", "--", "sleep", "0.03", static_cast<char*>(nullptr));
        _exit(127);
      }
      pids.push_back(pid);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(std::uniform_int_distribution<int>(0, 120)(random)));
    for (pid_t pid : pids) {
      kill(pid, SIGKILL);
      int status = 0;
      REQUIRE(waitpid(pid, &status, 0) == pid);
      if (WIFSIGNALED(status)) ++killed;
    }
  }
  Ran last = RunProgram({GOV_GOVRUN, "--", "true"}, g.dir.path, {env});
  REQUIRE(last.code == 0);
  Ran verified = g.Govverify({g.dir.path + "/lineage"});
  INFO(verified.out << verified.err);
  REQUIRE(verified.code == 0);
  auto result = nlohmann::json::parse(verified.out).at("results").at(0);
  CHECK(result.at("uncertified") == 0);
  CHECK(result.at("runs").get<int>() >= 1);
  // Every run whose authorization is in the log is accounted for: ended, or
  // reported incomplete — never lost, never corrupt.
  std::size_t authorized = 0;
  for (const std::string& line : Lines(ReadFile(g.dir.path + "/lineage/lineage.log"))) {
    SplitLine split = Split(line);
    auto head = ParseHead(split.head);
    if (head.ok() && split.has_body && head.value().body == DigestOf(split.body) &&
        head.value().type == RecordType::kAuthorization) {
      ++authorized;
    }
  }
  CHECK(result.at("runs").get<std::size_t>() == authorized);
  WARN(killed << " govrun processes killed, " << authorized << " runs authorized, " << result.at("incomplete").size()
              << " incomplete, " << result.at("recoveries") << " recoveries");
}

}  // namespace
}  // namespace gov::lineage

#endif
