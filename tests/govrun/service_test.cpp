// govd, the lineage service, with real processes (docs/govd.md): govd runs
// as its own uid and alone holds the key and writes the log; the governed
// caller (another uid) runs a set-gid copy of govrun. Each test's attack
// fails without the defence it names.
#include <sched.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "tests/govrun/support.h"

namespace gov_test {
namespace {

constexpr uid_t kServiceUid = 64201;    // govd's user
constexpr gid_t kSubmitterGid = 64201;  // the group govrun is set-gid to
constexpr uid_t kCallerUid = 64202;     // a user without an /etc/passwd entry
constexpr uid_t kApproverUid = 64203;   // a person who answers asks

std::string Govd() {
  const char* override_path = std::getenv("GOVRUN_TEST_GOVD");
  return override_path != nullptr ? override_path : GOV_GOVD;
}

// A fixture whose lineage goes through a govd started for it.
class ServiceFixture {
 public:
  // `approvers`: govd takes asks and listens for these approvers at
  // `approvals` (docs/govd.md "Approvals").
  explicit ServiceFixture(const std::string& body, std::vector<uid_t> approvers = {})
      : fixture(body), approvers(std::move(approvers)) {
    lineage = fixture.dir + "/lineage";
    socket = fixture.dir + "/run/govd.sock";
    approvals = fixture.dir + "/run/approvals.sock";
    key = fixture.dir + "/lin.key";
    fs::create_directory(fixture.dir + "/run");
    fs::create_directory(fixture.dir + "/bin");
    REQUIRE(chown(lineage.c_str(), kServiceUid, kServiceUid) == 0);
    REQUIRE(chown((fixture.dir + "/run").c_str(), kServiceUid, kServiceUid) == 0);
    REQUIRE(chown(key.c_str(), kServiceUid, kServiceUid) == 0);
    // The installed form: root-owned, set-gid to the submitters' group.
    govrun = fixture.dir + "/bin/govrun";
    fs::copy_file(Govrun(), govrun);
    REQUIRE(chown(govrun.c_str(), 0, kSubmitterGid) == 0);
    REQUIRE(chmod(govrun.c_str(), 02755) == 0);
    fixture.WriteConfig(
        "policy = \"p.govb\"\ntrusted_keys = [\"pol.pub\"]\nlineage_dir = \"lineage\"\n"
        "lineage_service = \"run/govd.sock\"\nkill_grace = \"300ms\"\nlineage_lock_timeout = \"20s\"\n");
    StartService();
  }
  ~ServiceFixture() { StopService(); }
  ServiceFixture(const ServiceFixture&) = delete;
  ServiceFixture& operator=(const ServiceFixture&) = delete;

  void StartService() {
    std::vector<std::string> argv = {Govd(),
                                     "--lineage",
                                     lineage,
                                     "--key",
                                     key,
                                     "--socket",
                                     socket,
                                     "--submitter-group",
                                     std::to_string(kSubmitterGid),
                                     "--user",
                                     std::to_string(kServiceUid)};
    if (!approvers.empty()) {
      argv.insert(argv.end(), {"--approvals-socket", approvals});
      for (const uid_t uid : approvers) argv.insert(argv.end(), {"--approver", std::to_string(uid)});
    }
    service = StartProcess(argv, fixture.dir);
    // Ready once it says it serves: govd binds its socket before it opens
    // (and creates) the log, so the socket alone does not mean the log exists.
    const auto serving = [&] { return ReadText(service.err_path).find("govd: serving ") != std::string::npos; };
    for (int i = 0; i < 1000 && !serving(); ++i) usleep(10000);
    INFO(ReadText(service.err_path));
    REQUIRE(serving());
    REQUIRE(Exists(socket));
    running = true;
  }

  // Stops govd (SIGTERM, or SIGKILL when `hard`) and returns its stderr.
  std::string StopService(bool hard = false) {
    if (!running) return "";
    running = false;
    kill(service.pid, hard ? SIGKILL : SIGTERM);
    const Result stopped = Finish(service);
    fs::remove(socket);
    return stopped.err;
  }

  // `binary` --config CONFIG [pre…] -- command… as kCallerUid (no groups).
  std::vector<std::string> AsCaller(const std::string& binary, const std::vector<std::string>& command,
                                    const std::vector<std::string>& pre = {}) const {
    std::vector<std::string> argv = {"/usr/bin/setpriv",         "--reuid",       std::to_string(kCallerUid), "--regid",
                                     std::to_string(kCallerUid), "--clear-groups"};
    argv.push_back(binary);
    argv.push_back("--config");
    argv.push_back(fixture.config);
    argv.insert(argv.end(), pre.begin(), pre.end());
    argv.push_back("--");
    argv.insert(argv.end(), command.begin(), command.end());
    return argv;
  }

  Result Run(const std::vector<std::string>& command, const std::vector<std::string>& pre = {}) const {
    return RunProcess(AsCaller(govrun, command, pre), fixture.dir, RunOptions{.cwd = "/tmp"});
  }

  int Verify() const {
#ifdef GOV_GOVVERIFY
    const Result verified =
        RunProcess({GOV_GOVVERIFY, "--trust", fixture.dir + "/lin.pub", "--trust", fixture.dir + "/pol.pub", "--policy",
                    fixture.dir + "/p.govb", "--replay", lineage},
                   fixture.dir);
    INFO(verified.out << verified.err);
    return verified.code;
#else
    return 0;
#endif
  }

  Fixture fixture;
  std::vector<uid_t> approvers;
  std::string approvals;
  std::string lineage;
  std::string socket;
  std::string key;
  std::string govrun;
  Started service;
  bool running = false;
};

std::string Policy() {
  return std::string(kTools) + "allow python when program.name == \"python3\" or program.name == \"python3.11\"\n" +
         "deny curl when program.name == \"curl\" because \"no network tools\"\n";
}

}  // namespace

TEST_CASE("govd: runs are recorded by the service alone, with the submitter the kernel names", "[govrun][govd]") {
  ServiceFixture service(Policy());
  const std::string dir = service.fixture.dir;
  // The governed program (uid kCallerUid) tries to read the key, write the
  // log and reach the socket itself; each must fail.
  const std::string script = "cat " + service.key +
                             " > /dev/null 2>&1 && echo key-read; "
                             "echo forged >> " +
                             service.lineage +
                             "/lineage.log 2>/dev/null && echo log-written; "
                             ": >> " +
                             service.lineage +
                             "/lineage.lock 2>/dev/null && echo lock-opened; "
                             "python3 -c 'import socket,sys; socket.socket(socket.AF_UNIX).connect(sys.argv[1])' " +
                             service.socket + " 2>/dev/null && echo socket-reached; echo done";
  // TMPDIR and LD_PRELOAD are removed by the C library of a set-gid
  // program before main; the request must still show them.
  std::vector<std::string> argv = service.AsCaller(service.govrun, {"bash", "-c", script});
  argv.insert(
      argv.begin() + static_cast<std::ptrdiff_t>(std::find(argv.begin(), argv.end(), service.govrun) - argv.begin()),
      {"/usr/bin/env", "TMPDIR=/tmp/caller-tmp", "LD_PRELOAD="});
  const Result run = RunProcess(argv, dir, RunOptions{.cwd = "/tmp"});
  INFO(run.out << run.err);
  CHECK(run.code == 0);
  CHECK(run.out == "done\n");
  const Result denied = service.Run({"curl", "x"});
  CHECK(denied.code == 77);
  // govd's files: its uid's, the log readable by all, the lock not.
  struct stat log {};
  REQUIRE(stat((service.lineage + "/lineage.log").c_str(), &log) == 0);
  CHECK(log.st_uid == kServiceUid);
  CHECK((log.st_mode & 0777) == 0644);
  const std::string text = ReadText(service.lineage + "/lineage.log");
  CHECK(text.find("\"submitter\":{\"gid\":" + std::to_string(kSubmitterGid) + ",\"pid\":") != std::string::npos);
  CHECK(text.find(",\"uid\":" + std::to_string(kCallerUid) + "}") != std::string::npos);
  CHECK(text.find("\"TMPDIR\":\"sha256:") != std::string::npos);
  CHECK(text.find("\"LD_PRELOAD\":\"sha256:") != std::string::npos);
  // govrun read the caller's identity without an /etc/passwd entry (by number).
  CHECK(text.find("\"name\":\"" + std::to_string(kCallerUid) + "\"") != std::string::npos);
  service.StopService();
  CHECK(service.Verify() == 0);
}

// `govd approvals ARGS` as `uid`.
Result Approvals(uid_t uid, const std::vector<std::string>& args, const std::string& dir) {
  std::vector<std::string> argv = {"/usr/bin/setpriv", "--reuid", std::to_string(uid), "--regid", std::to_string(uid),
                                   "--clear-groups",   Govd(),    "approvals"};
  argv.insert(argv.end(), args.begin(), args.end());
  return RunProcess(argv, dir);
}

// The id of the one ask waiting (polled as the approver), "" when none came.
std::string WaitingAsk(const std::string& approvals, const std::string& dir) {
  for (int i = 0; i < 1000; ++i) {
    const Result listed = Approvals(kApproverUid, {"--socket", approvals, "--json", "list"}, dir);
    INFO(listed.err);
    REQUIRE(listed.code == 0);
    const std::size_t at = listed.out.find("\"ask\": \"");
    if (at != std::string::npos) return listed.out.substr(at + 8, 32);
    usleep(20000);
  }
  return "";
}

TEST_CASE("govd: an ask goes to an approver of another uid, never to the caller, the record names who answered",
          "[govrun][govd][approvals]") {
  const std::string ask_rule = "ask touchy when program.name == \"touch\" because \"a person decides\"\n";
  ServiceFixture service(std::string(kTools) + ask_rule, {kApproverUid, kCallerUid});
  const std::string dir = service.fixture.dir;
  const std::string& approvals = service.approvals;
  service.fixture.WriteConfig(
      "policy = \"p.govb\"\ntrusted_keys = [\"pol.pub\"]\nlineage_dir = \"lineage\"\n"
      "lineage_service = \"run/govd.sock\"\nask = \"service\"\nask_timeout = \"30s\"\n");
  const std::string marker = dir + "/approved";
  REQUIRE(chmod(dir.c_str(), 0777) == 0);  // the caller's program writes the markers

  // A terminal of the caller's choosing cannot replace the approvers.
  const Result own_terminal = service.Run({"true"}, {"--session", "--ask-terminal", "/dev/null"});
  CHECK(own_terminal.code == 78);
  CHECK(own_terminal.err.find("puts asks to govd's approvers") != std::string::npos);

  // One-shot: the caller — even listed as an approver — cannot answer its
  // own ask; the approver can.
  const Started asking = StartProcess(service.AsCaller(service.govrun, {"touch", marker}), dir);
  const std::string ask = WaitingAsk(approvals, dir);
  REQUIRE(ask.size() == 32);
  const Result own = Approvals(kCallerUid, {"--socket", approvals, "approve", ask}, dir);
  CHECK(own.code == 1);
  CHECK(own.err.find("never answers an ask of their own uid") != std::string::npos);
  CHECK_FALSE(Exists(marker));
  const Result approved = Approvals(kApproverUid, {"--socket", approvals, "approve", ask}, dir);
  INFO(approved.err);
  CHECK(approved.code == 0);
  const Result ran = Finish(asking);
  INFO(ran.err);
  CHECK(ran.code == 0);
  CHECK(Exists(marker));

  // Refused: not run, 77.
  const Started refused_run = StartProcess(service.AsCaller(service.govrun, {"touch", marker + "-refused"}), dir);
  const std::string second = WaitingAsk(approvals, dir);
  REQUIRE(second.size() == 32);
  CHECK(Approvals(kApproverUid, {"--socket", approvals, "refuse", second}, dir).code == 0);
  const Result refused = Finish(refused_run);
  CHECK(refused.code == 77);
  CHECK_FALSE(Exists(marker + "-refused"));

  // In a session: the exec waits for the approver, then runs.
  const Started session = StartProcess(
      service.AsCaller(service.govrun, {"bash", "-c", "touch " + marker + "-session; echo done"}, {"--session"}), dir);
  const std::string third = WaitingAsk(approvals, dir);
  REQUIRE(third.size() == 32);
  CHECK(Approvals(kApproverUid, {"--socket", approvals, "approve", third}, dir).code == 0);
  const Result in_session = Finish(session);
  INFO(in_session.err);
  CHECK(in_session.code == 0);
  CHECK(Exists(marker + "-session"));

  service.StopService();
  const std::string text = ReadText(service.lineage + "/lineage.log");
  CHECK(text.find("\"approval\":{\"answer\":\"yes\",\"ask\":\"" + ask + "\"") != std::string::npos);
  CHECK(text.find("\"by_uid\":" + std::to_string(kApproverUid)) != std::string::npos);
  CHECK(text.find("\"answer\":\"no\",\"ask\":\"" + second + "\"") != std::string::npos);
  CHECK(text.find("\"ask\":\"" + third + "\"") != std::string::npos);
  CHECK(service.Verify() == 0);
}

TEST_CASE("govd: without the submitter group, or without govd, nothing runs", "[govrun][govd][failclosed]") {
  ServiceFixture service(Policy());
  const Fixture& fixture = service.fixture;
  // The build's govrun is not set-gid: the socket (0660) refuses its caller.
  const Result plain = RunProcess(service.AsCaller(Govrun(), TouchMarker(fixture)), fixture.dir);
  ExpectNotRun(fixture, plain, 74, "Permission denied");
  // With the socket opened to everyone, govd itself still refuses a peer
  // whose effective gid (as the kernel reports it) is not the submitters'.
  REQUIRE(chmod(service.socket.c_str(), 0666) == 0);
  const Result opened = RunProcess(service.AsCaller(Govrun(), TouchMarker(fixture)), fixture.dir);
  ExpectNotRun(fixture, opened, 74, "govd takes records only from govrun installed set-gid to group");
  service.StopService();
  const Result without = service.Run(TouchMarker(fixture));
  ExpectNotRun(fixture, without, 74, "cannot connect");
}

TEST_CASE("govd: when govd dies during a session, no further exec runs", "[govrun][govd][session][failclosed]") {
  // As an unprivileged caller (ptrace mechanism) and as root (kernel
  // mechanism where it loads).
  for (const bool as_root : {false, true}) {
    INFO((as_root ? "as root" : "as an unprivileged caller"));
    ServiceFixture service(Policy());
    const Fixture& fixture = service.fixture;
    const std::string ready = fixture.dir + "/ready";
    const std::string go = fixture.dir + "/go";
    REQUIRE(chmod(fixture.dir.c_str(), 0777) == 0);
    const std::string script =
        "touch " + ready + "; while [ ! -e " + go + " ]; do :; done; touch " + fixture.Marker() + "; echo status=$?";
    std::vector<std::string> argv = service.AsCaller(service.govrun, {"bash", "-c", script}, {"--session"});
    if (as_root) argv.erase(argv.begin(), std::find(argv.begin(), argv.end(), service.govrun));  // no setpriv
    const Started started = StartProcess(argv, fixture.dir);
    REQUIRE(WaitForText(ready, ""));
    service.StopService(/*hard=*/true);
    WriteText(go, "");
    const Result result = Finish(started);
    INFO(result.out << result.err);
    CHECK_FALSE(Exists(fixture.Marker()));
    CHECK(result.code != 0);
    CHECK(result.err.find("lineage service") != std::string::npos);
  }
}

TEST_CASE("govd: killed mid-commit, no acknowledged run is lost and the next start repairs the log",
          "[govrun][govd][failclosed]") {
  ServiceFixture service(Policy());
  const Fixture& fixture = service.fixture;
  // Eight callers, each a loop of runs; every run that printed its token
  // was acknowledged as durable before the program ran.
  std::vector<Started> loops;
  for (int caller = 0; caller < 8; ++caller) {
    std::string script;
    for (int i = 0; i < 15; ++i) {
      const std::string token = "t" + std::to_string(caller) + "x" + std::to_string(i);
      script += service.govrun + " --config " + fixture.config + " -- /usr/bin/echo " + token + " || exit 0; ";
    }
    loops.push_back(StartProcess({"/usr/bin/setpriv", "--reuid", std::to_string(kCallerUid), "--regid",
                                  std::to_string(kCallerUid), "--clear-groups", "/bin/sh", "-c", script},
                                 fixture.dir, RunOptions{.cwd = "/tmp"}));
  }
  // Kill govd once some runs were acknowledged, while the others commit.
  const std::string log_path = service.lineage + "/lineage.log";
  for (int i = 0; i < 2000 && ReadText(log_path).size() < 100000; ++i) usleep(5000);
  service.StopService(/*hard=*/true);
  std::vector<std::string> acknowledged;
  for (const Started& loop : loops) {
    const Result result = Finish(loop);
    std::istringstream lines(result.out);
    for (std::string token; std::getline(lines, token);) acknowledged.push_back(token);
  }
  INFO(acknowledged.size() << " runs acknowledged before the kill");
  CHECK_FALSE(acknowledged.empty());
  // A new govd takes over the log; its first append accounts for torn bytes.
  service.StartService();
  const Result after = service.Run({"echo", "after"});
  CHECK(after.code == 0);
  service.StopService();
  CHECK(service.Verify() == 0);
  const std::string text = ReadText(log_path);
  for (const std::string& token : acknowledged) {
    INFO(token);
    CHECK(text.find("\"" + token + "\"") != std::string::npos);
  }
}

TEST_CASE("govd: a full disk denies runs and loses nothing", "[govrun][govd][failclosed]") {
  ServiceFixture service(Policy());
  const Fixture& fixture = service.fixture;
  REQUIRE(service.Run({"echo", "before"}).code == 0);
  service.StopService();
  // The log on a small filesystem of its own, nearly full.
  const std::string saved = ReadText(service.lineage + "/lineage.log");
  REQUIRE(mount("tmpfs", service.lineage.c_str(), "tmpfs", 0, "size=64k,mode=0755") == 0);
  struct Unmount {
    std::string path;
    ~Unmount() { umount2(path.c_str(), MNT_DETACH); }
  } unmount{service.lineage};
  WriteText(service.lineage + "/lineage.log", saved);
  REQUIRE(chown(service.lineage.c_str(), kServiceUid, kServiceUid) == 0);
  REQUIRE(chown((service.lineage + "/lineage.log").c_str(), kServiceUid, kServiceUid) == 0);
  {
    std::string filler(64 * 1024, 'x');
    const int fd = open((service.lineage + "/filler").c_str(), O_WRONLY | O_CREAT, 0600);
    REQUIRE(fd >= 0);
    while (write(fd, filler.data(), filler.size()) > 0) {
    }
    close(fd);
  }
  service.StartService();
  const Result full = service.Run(TouchMarker(fixture));
  INFO(full.err);
  CHECK(full.code == 74);
  CHECK_FALSE(Exists(fixture.Marker()));
  service.StopService();
  // Room again: what was recorded before is intact, and runs resume.
  fs::remove(service.lineage + "/filler");
  service.StartService();
  CHECK(service.Run({"echo", "after"}).code == 0);
  service.StopService();
  CHECK(service.Verify() == 0);
  CHECK(ReadText(service.lineage + "/lineage.log").find("\"before\"") != std::string::npos);
}

TEST_CASE("govd: concurrent govruns share the log, a reader holding its lock does not stall govd", "[govrun][govd]") {
  ServiceFixture service(Policy());
  const Fixture& fixture = service.fixture;
  // Any user can open the readable log and flock it; govd must not care.
  const int held = open((service.lineage + "/lineage.log").c_str(), O_RDONLY | O_CLOEXEC);
  REQUIRE(held >= 0);
  REQUIRE(flock(held, LOCK_EX) == 0);
  std::vector<Started> runs;
  for (int i = 0; i < 8; ++i) {
    runs.push_back(StartProcess(service.AsCaller(service.govrun, {"echo", std::to_string(i)}), fixture.dir));
  }
  for (const Started& started : runs) {
    const Result result = Finish(started);
    INFO(result.err);
    CHECK(result.code == 0);
  }
  close(held);
  // A second govd on the same log is refused at once.
  const Result second = RunProcess(
      {Govd(), "--lineage", service.lineage, "--key", service.key, "--socket", fixture.dir + "/run/second.sock",
       "--submitter-group", std::to_string(kSubmitterGid), "--user", std::to_string(kServiceUid)},
      fixture.dir);
  CHECK(second.code == 74);
  CHECK(second.err.find("already writes") != std::string::npos);
  service.StopService();
  CHECK(service.Verify() == 0);
  const std::string text = ReadText(service.lineage + "/lineage.log");
  std::size_t authorizations = 0;
  for (std::size_t at = text.find("\"type\":\"authorization\""); at != std::string::npos;
       at = text.find("\"type\":\"authorization\"", at + 1)) {
    ++authorizations;
  }
  CHECK(authorizations == 8);
}

}  // namespace gov_test

namespace gov_test {
namespace {

// Runs `argv` as `uid` with a private /etc (a tmpfs in a new mount
// namespace) holding /etc/gov/config.toml = `system_config` with `mode`,
// and copies of the files programs read from /etc: the machine's own
// /etc/gov is never touched.
Result RunWithSystemConfig(const std::string& dir, const std::string& system_config, mode_t mode, uid_t uid,
                           const std::vector<std::string>& argv, const std::map<std::string, std::string>& set_env = {},
                           mode_t etc_gov_mode = 0755) {
  const std::string out_path = dir + "/.system-out";
  const std::string err_path = dir + "/.system-err";
  std::map<std::string, std::string> copies;
  for (const char* name : {"passwd", "group", "ld.so.cache", "nsswitch.conf"}) {
    copies[name] = ReadText(std::string("/etc/") + name);
  }
  const pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    if (unshare(CLONE_NEWNS) != 0 || mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0 ||
        mount("tmpfs", "/etc", "tmpfs", 0, "mode=0755") != 0 || mkdir("/etc/gov", 0755) != 0) {
      _exit(210);
    }
    for (const auto& [name, text] : copies) WriteText("/etc/" + name, text);
    WriteText("/etc/gov/config.toml", system_config, mode);
    if (chmod("/etc/gov/config.toml", mode) != 0 || chmod("/etc/gov", etc_gov_mode) != 0) _exit(211);
    const int out = open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0666);
    const int err = open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0666);
    if (out < 0 || err < 0 || dup2(out, 1) < 0 || dup2(err, 2) < 0 || chdir(dir.c_str()) != 0) _exit(212);
    for (const char* name : {"GOV_RUN_ID", "GOV_RUN_RECORD", "GOV_CONFIG"}) unsetenv(name);
    for (const auto& [name, value] : set_env) setenv(name.c_str(), value.c_str(), 1);
    if (uid != 0 && (setgroups(0, nullptr) != 0 || setresgid(uid, uid, uid) != 0 || setresuid(uid, uid, uid) != 0)) {
      _exit(213);
    }
    std::vector<char*> args;
    for (const std::string& arg : argv) args.push_back(const_cast<char*>(arg.c_str()));
    args.push_back(nullptr);
    execv(args[0], args.data());
    _exit(214);
  }
  int status = 0;
  REQUIRE(waitpid(pid, &status, 0) == pid);
  Result result;
  result.code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  result.out = ReadText(out_path);
  result.err = ReadText(err_path);
  return result;
}

}  // namespace

TEST_CASE("a locked system configuration is the only one for callers who are not root",
          "[govrun][config][failclosed]") {
  Fixture fixture(kTools, /*native=*/false, /*for_nobody=*/true);
  const std::string system = "policy = \"" + fixture.dir + "/p.govb\"\ntrusted_keys = [\"" + fixture.dir +
                             "/pol.pub\"]\nlineage_dir = \"" + fixture.dir + "/lineage\"\nsigning_key = \"" +
                             fixture.dir + "/lin.key\"\nlock = true\n";
  // The caller's own configuration, which would also allow the marker.
  const std::vector<std::string> touch = {Govrun(), "--config",       fixture.config,
                                          "--",     "/usr/bin/touch", fixture.Marker()};
  SECTION("--config is refused") {
    const Result result = RunWithSystemConfig(fixture.dir, system, 0644, kNobody, touch);
    ExpectNotRun(fixture, result, 78, "is locked (`lock = true`): only root may choose another configuration");
  }
  SECTION("GOV_CONFIG is refused") {
    const Result result =
        RunWithSystemConfig(fixture.dir, system, 0644, kNobody, {Govrun(), "--", "/usr/bin/touch", fixture.Marker()},
                            {{"GOV_CONFIG", fixture.config}});
    ExpectNotRun(fixture, result, 78, "is locked");
  }
  SECTION("a lock anyone may rewrite is no lock: nothing runs") {
    const Result result =
        RunWithSystemConfig(fixture.dir, system, 0666, kNobody, {Govrun(), "--", "/usr/bin/touch", fixture.Marker()});
    ExpectNotRun(fixture, result, 78, "is not a root-owned file or directory writable by root alone");
  }
  SECTION("a system configuration the caller cannot see might lock: nothing runs") {
    const Result result = RunWithSystemConfig(fixture.dir, system, 0644, kNobody, touch, {}, 0700);
    ExpectNotRun(fixture, result, 78, "cannot tell whether it locks the configuration");
  }
  SECTION("without a choice the locked configuration governs") {
    const Result result =
        RunWithSystemConfig(fixture.dir, system, 0644, kNobody, {Govrun(), "--", "/usr/bin/touch", fixture.Marker()});
    INFO(result.err);
    CHECK(result.code == 0);
    CHECK(Exists(fixture.Marker()));
  }
  SECTION("root may still choose") {
    REQUIRE(chmod(fixture.dir.c_str(), 0777) == 0);  // root's run keeps no capability
    const Result result = RunWithSystemConfig(fixture.dir, system, 0644, 0, touch);
    INFO(result.err);
    CHECK(result.code == 0);
    CHECK(Exists(fixture.Marker()));
  }
  SECTION("`lock` anywhere else is an error") {
    fixture.WriteConfig(ReadText(fixture.config) + "lock = true\n");
    const Result result = fixture.Run({"/usr/bin/touch", fixture.Marker()});
    ExpectNotRun(fixture, result, 78, "`lock` is honoured only in /etc/gov/config.toml");
  }
}

}  // namespace gov_test
