// Attack tests for the trusted core (issue 13): each reproduces a finding of
// the outside review against the real govrun, the real kernel mechanisms or
// the sandbox library, and passes only while the defence holds. The program
// the attacks would run creates a marker file; its absence is the proof.
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "runtime/exec/private_tmp.h"
#include "runtime/exec/process.h"
#include "runtime/exec/program.h"
#include "runtime/exec/run.h"
#include "runtime/exec/sandbox.h"
#include "runtime/lineage/log_io.h"
#include "runtime/lineage/recorder.h"
#include "tests/govrun/support.h"

namespace {

using namespace gov_test;  // NOLINT(google-build-using-namespace)

std::string Helper() {
  return Self();
}

// govrun_tests --helper NAME ARG… as a command for govrun.
std::vector<std::string> HelperCommand(const std::vector<std::string>& args) {
  std::vector<std::string> command = {Helper(), "--helper"};
  command.insert(command.end(), args.begin(), args.end());
  return command;
}

// Allows the helper (the test binary) with `with` obligations.
std::string AllowHelper(const std::string& with = "") {
  return "allow helper when program.name == \"govrun_tests\"" + (with.empty() ? "" : " with { " + with + " }") + "\n";
}

// Runs `argv` in a sandbox planned by the library for `obligations`, the way
// govrun does (Plan, Spawn, AdoptChild, Go), and returns its exit status;
// -1 with `failure` when it could not start.
int RunSandboxed(const gov::ir::Obligations& obligations, gov::exec::SandboxOptions options,
                 const std::vector<std::string>& argv, std::string* failure = nullptr) {
  auto program = gov::exec::ResolveProgram(argv[0], "", false);
  REQUIRE(program.ok());
  options.run_id = gov::lineage::NewRunId();
  options.program_fds = {program.value().file.fd.get()};
  auto sandbox = gov::exec::Sandbox::Plan(obligations, options);
  if (!sandbox.ok()) {
    if (failure != nullptr) {
      *failure = sandbox.failure().message;
    }
    return -1;
  }
  gov::exec::LaunchSpec spec;
  spec.program = &program.value();
  spec.argv = argv;
  spec.envp = {"PATH=/usr/bin:/bin"};
  spec.sandbox = &sandbox.value();
  auto child = gov::exec::Spawn(spec);
  REQUIRE(child.ok());
  REQUIRE(sandbox.value().AdoptChild(child.value().pid(), child.value().born_in_cgroup()).ok());
  const pid_t pid = child.value().pid();
  auto went = child.value().Go();
  if (!went.ok()) {
    if (failure != nullptr) {
      *failure = went.failure().message;
    }
    return -1;
  }
  int status = 0;
  REQUIRE(waitpid(pid, &status, 0) == pid);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

// The pids of `pid`'s children (all threads).
std::vector<pid_t> ChildrenOf(pid_t pid) {
  std::vector<pid_t> out;
  for (const auto& task : fs::directory_iterator("/proc/" + std::to_string(pid) + "/task")) {
    std::istringstream in(ReadText(task.path().string() + "/children"));
    pid_t child = 0;
    while (in >> child) {
      out.push_back(child);
    }
  }
  return out;
}

// In a child process running as nobody: tries to open every descriptor of
// each of `pids` through /proc for writing and write one byte, and to open
// their memory. Returns how many of those attempts succeeded.
int ForgeStartSignal(const std::vector<pid_t>& pids) {
  int pipe_fds[2];
  REQUIRE(pipe(pipe_fds) == 0);
  const pid_t attacker = fork();
  REQUIRE(attacker >= 0);
  if (attacker == 0) {
    close(pipe_fds[0]);
    if (setgroups(0, nullptr) != 0 || setresgid(kNobody, kNobody, kNobody) != 0 ||
        setresuid(kNobody, kNobody, kNobody) != 0) {
      _exit(2);
    }
    int succeeded = 0;
    for (const pid_t pid : pids) {
      const std::string base = "/proc/" + std::to_string(pid);
      for (int fd = 0; fd < 64; ++fd) {
        const int opened = open((base + "/fd/" + std::to_string(fd)).c_str(), O_WRONLY | O_NONBLOCK);
        if (opened >= 0) {
          if (write(opened, "g", 1) == 1) {
            ++succeeded;
          }
          close(opened);
        }
      }
      const int mem = open((base + "/mem").c_str(), O_RDWR);
      if (mem >= 0) {
        ++succeeded;
        close(mem);
      }
    }
    [[maybe_unused]] auto ignored = write(pipe_fds[1], &succeeded, sizeof succeeded);
    _exit(0);
  }
  close(pipe_fds[1]);
  int succeeded = -1;
  REQUIRE(read(pipe_fds[0], &succeeded, sizeof succeeded) == sizeof succeeded);
  close(pipe_fds[0]);
  waitpid(attacker, nullptr, 0);
  return succeeded;
}

bool HasPermittedCapability(int capability) {
  const std::string status = ReadText("/proc/self/status");
  const std::size_t at = status.find("CapPrm:\t");
  REQUIRE(at != std::string::npos);
  return ((std::stoull(status.substr(at + 8, 16), nullptr, 16) >> capability) & 1u) != 0;
}

// ================================================================ finding 1 --

TEST_CASE("finding 1: another process of the user cannot start the program before its record", "[govrun][hardening]") {
  Fixture fixture(std::string(kTools) + "allow limited when program.name == \"touch\" with { processes = 5 }\n", false,
                  /*for_nobody=*/true);
  RunOptions options;
  options.as_nobody = true;
  REQUIRE(fixture.Run({"true"}, options).code == 0);  // the log exists
  const std::string before = ReadText(fixture.dir + "/lineage/lineage.log");
  // Keep govrun before its authorization record: hold the log's lock.
  const int log = open((fixture.dir + "/lineage/lineage.log").c_str(), O_RDONLY | O_CLOEXEC);
  REQUIRE(log >= 0);
  REQUIRE(flock(log, LOCK_EX) == 0);
  const Started started = fixture.Start(TouchMarker(fixture), options);
  // Wait until govrun has created its (waiting) child.
  std::vector<pid_t> children;
  for (int i = 0; i < 1000 && children.empty(); ++i) {
    usleep(10000);
    for (const pid_t pid : ChildrenOf(started.pid)) {
      children.push_back(pid);
    }
  }
  REQUIRE_FALSE(children.empty());
  std::vector<pid_t> targets = children;
  targets.push_back(started.pid);
  CHECK(ForgeStartSignal(targets) == 0);
  usleep(300000);
  CHECK_FALSE(Exists(fixture.Marker()));
  // govrun killed before its record: nothing ran, nothing was recorded.
  kill(started.pid, SIGKILL);
  Finish(started);
  usleep(300000);
  CHECK_FALSE(Exists(fixture.Marker()));
  flock(log, LOCK_UN);
  close(log);
  CHECK(ReadText(fixture.dir + "/lineage/lineage.log") == before);
}

TEST_CASE("finding 1: the child is born in the run's cgroup v2 (clone3 CLONE_INTO_CGROUP)", "[govrun][hardening]") {
  std::optional<gov::exec::CgroupMount> unified;
  for (const gov::exec::CgroupMount& mount : gov::exec::CgroupMounts()) {
    if (mount.v2) {
      unified = mount;
    }
  }
  if (!unified || access(unified->mount_point.c_str(), W_OK) != 0) {
    // Only where a cgroup v2 hierarchy is mounted and writable (root here).
    WARN("no writable cgroup v2 hierarchy: CLONE_INTO_CGROUP not exercised");
    return;
  }
  auto program = gov::exec::ResolveProgram("/bin/true", "", false);
  REQUIRE(program.ok());
  gov::exec::SandboxOptions options;
  options.run_id = gov::lineage::NewRunId();
  options.program_fds = {program.value().file.fd.get()};
  auto sandbox = gov::exec::Sandbox::Plan({}, options);
  REQUIRE(sandbox.ok());
  bool tracked = false;
  for (const auto& limit : sandbox.value().limits()) {
    tracked = tracked ||
              (limit.obligation == "tracking" && limit.mechanism.find("gov-" + options.run_id) != std::string::npos);
  }
  REQUIRE(tracked);
  gov::exec::LaunchSpec spec;
  spec.program = &program.value();
  spec.argv = {"true"};
  spec.sandbox = &sandbox.value();
  auto child = gov::exec::Spawn(spec);
  REQUIRE(child.ok());
  // Before anything moved it: already inside.
  CHECK(child.value().born_in_cgroup());
  const std::string cgroup = ReadText("/proc/" + std::to_string(child.value().pid()) + "/cgroup");
  INFO(cgroup);
  CHECK(cgroup.find("0::") != std::string::npos);
  CHECK(cgroup.find("/gov-" + options.run_id) != std::string::npos);
  child.value().Abort();
}

// ================================================================ finding 2 --

TEST_CASE("finding 2: the program's read rule is the file that was hashed, not what its path names later",
          "[govrun][hardening]") {
  if (gov::exec::LandlockAbi() < 1) {
    WARN("no Landlock: skipped");
    return;
  }
  const std::string dir = fs::temp_directory_path() / ("gov-swap-" + gov::lineage::NewRunId());
  fs::create_directories(dir + "/w/d");
  fs::create_directories(dir + "/secret");
  WriteText(dir + "/secret/key", "TOP SECRET\n");
  fs::copy_file("/bin/cat", dir + "/w/d/tool");
  chmod((dir + "/w/d/tool").c_str(), 0755);
  // govrun hashed w/d/tool through this descriptor …
  auto program = gov::exec::ResolveProgram(dir + "/w/d/tool", "", false);
  REQUIRE(program.ok());
  // … then the directory is swapped so that the path names the secret directory.
  fs::rename(dir + "/w/d", dir + "/w/d.old");
  fs::create_directories(dir + "/w/d");
  fs::create_directory_symlink(dir + "/secret", dir + "/w/d/tool");
  gov::ir::Obligations obligations;
  obligations.has_read = true;
  obligations.read = {"/usr", "/etc"};
  gov::exec::SandboxOptions options;
  options.run_id = gov::lineage::NewRunId();
  options.program_fds = {program.value().file.fd.get()};
  auto sandbox = gov::exec::Sandbox::Plan(obligations, options);
  REQUIRE(sandbox.ok());
  gov::exec::LaunchSpec spec;
  spec.program = &program.value();
  spec.argv = {"tool", dir + "/secret/key"};
  spec.sandbox = &sandbox.value();
  const std::string out_path = dir + "/out";
  // The child inherits stdout: point it at a file for the run.
  const int saved = dup(1);
  const int out = open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  REQUIRE((saved >= 0 && out >= 0));
  dup2(out, 1);
  auto child = gov::exec::Spawn(spec);
  dup2(saved, 1);
  close(saved);
  close(out);
  REQUIRE(child.ok());
  REQUIRE(sandbox.value().AdoptChild(child.value().pid(), child.value().born_in_cgroup()).ok());
  const pid_t pid = child.value().pid();
  REQUIRE(child.value().Go().ok());
  int status = 0;
  REQUIRE(waitpid(pid, &status, 0) == pid);
  CHECK(ReadText(out_path).find("TOP SECRET") == std::string::npos);
  CHECK(WEXITSTATUS(status) != 0);
  fs::remove_all(dir);
}

// ================================================================ finding 3 --

TEST_CASE("finding 3: a parent is accepted only when it is a live enclosing run", "[govrun][hardening]") {
  Fixture fixture(std::string(kTools) +
                  "allow nested_touch when program.name == \"touch\" and parent != none\n"
                  "deny top_touch when program.name == \"touch\" and parent == none because \"only nested\"\n");
  // Forged: the variables of a run that has ended (any caller can learn
  // them from the log).
  const Result first = fixture.Run({"env"});
  REQUIRE(first.code == 0);
  const std::size_t at = first.out.find("GOV_RUN_ID=");
  REQUIRE(at != std::string::npos);
  const std::string id = first.out.substr(at + 11, 32);
  const std::size_t record_at = first.out.find("GOV_RUN_RECORD=");
  REQUIRE(record_at != std::string::npos);
  const std::string record = first.out.substr(record_at + 15, 16);
  RunOptions forged;
  forged.set_env["GOV_RUN_ID"] = id;
  forged.set_env["GOV_RUN_RECORD"] = record;
  const Result ended = fixture.Run(TouchMarker(fixture), forged);
  INFO(ended.err);
  CHECK(ended.err.find("not an enclosing governed run") != std::string::npos);
  ExpectNotRun(fixture, ended, 77, "deny by top_touch");
  // Forged: a made-up run.
  forged.set_env["GOV_RUN_ID"] = std::string(32, 'a');
  ExpectNotRun(fixture, fixture.Run(TouchMarker(fixture), forged), 77, "deny by top_touch");

  // Forged: the variables of a run still in progress, used by a process that
  // is not inside it.
  const Started running = fixture.Start({"dash", "-c", "echo $GOV_RUN_ID $GOV_RUN_RECORD; exec sleep 30"});
  REQUIRE(WaitForText(running.out_path, "\n"));
  std::istringstream vars(ReadText(running.out_path));
  std::string live_id;
  std::string live_record;
  vars >> live_id >> live_record;
  RunOptions sibling;
  sibling.set_env["GOV_RUN_ID"] = live_id;
  sibling.set_env["GOV_RUN_RECORD"] = live_record;
  const Result outside = fixture.Run(TouchMarker(fixture), sibling);
  INFO(outside.err);
  CHECK(outside.err.find("is not an ancestor of this process") != std::string::npos);
  ExpectNotRun(fixture, outside, 77, "deny by top_touch");
  kill(running.pid, SIGTERM);
  Finish(running);

  // Genuine: a govrun inside the run has it as parent, also from a
  // grandchild whose parent has exited (reparented to the supervisor).
  const Result genuine = fixture.Run({"dash", "-c",
                                      "(dash -c \"sleep 0.2; '" + Govrun() + "' --config '" + fixture.config +
                                          "' -- touch " + fixture.Marker() + "\" &) ; sleep 1"});
  INFO(genuine.err);
  CHECK(genuine.code == 0);
  CHECK(Exists(fixture.Marker()));
}

// ================================================================ finding 4 --

TEST_CASE("finding 4: an approved ask runs under the obligations of the matching allow and ask rules",
          "[govrun][hardening][ask]") {
  if (gov::exec::LandlockAbi() < 1) {
    WARN("no Landlock: skipped");
    return;
  }
  Fixture fixture(
      "allow touch_ok when program.name == \"touch\" with { write = [\"@DIR@/ok\"] }\n"
      "ask confirm when program.name == \"touch\" because \"touching needs a yes\" with { timeout = 1m }\n");
  fs::create_directories(fixture.dir + "/ok");
  const Result approved = RunOnTerminal(fixture, {"touch", fixture.dir + "/ok/a", fixture.dir + "/outside2"}, "y\n");
  INFO(approved.err);
  // The prompt shows the limits it will run under: the allow's and the ask's.
  CHECK(approved.err.find("limits: timeout=1m write=[" + fixture.dir + "/ok]") != std::string::npos);
  CHECK(Exists(fixture.dir + "/ok/a"));
  CHECK_FALSE(Exists(fixture.dir + "/outside2"));
  CHECK(approved.code != 0);  // touch could not create outside2
}

// ================================================================ finding 5 --

TEST_CASE("finding 5: the ask prompt reads the terminal after flushing it and shows what will run",
          "[govrun][hardening][ask]") {
  Fixture fixture(std::string(kTools) +
                  "ask confirm when program.name == \"touch\" because \"touching needs a yes\"\n");
  fixture.WriteConfig(ReadText(fixture.config) + "ask_timeout = \"700ms\"\n");
  // Typed ahead (or injected by whatever owns the terminal) before the
  // question: discarded.
  const Result typed_ahead = RunOnTerminal(fixture, TouchMarker(fixture), "", "y\n");
  INFO(typed_ahead.err);
  ExpectNotRun(fixture, typed_ahead, 77, "no answer in time");
  // A "yes" on stdin is not an answer: only the terminal is asked.
  const std::string yes = "y\n";
  const Result piped = RunOnTerminal(fixture, TouchMarker(fixture), "", "", &yes);
  INFO(piped.err);
  ExpectNotRun(fixture, piped, 77, "no answer in time");
  // The prompt shows the command line with control characters escaped.
  const Result shown = RunOnTerminal(fixture, {"touch", "a\x1b[2Jb", fixture.dir + "/x y"}, "n\n");
  INFO(shown.err);
  CHECK(shown.err.find("command: touch 'a\\x1b[2Jb'") == std::string::npos);
  CHECK(shown.err.find("command: touch a\\x1b[2Jb '" + fixture.dir + "/x y'") != std::string::npos);
  CHECK(shown.err.find("in: " + fixture.dir) != std::string::npos);
  CHECK(shown.err.find("limits: none") != std::string::npos);
  CHECK(shown.err.find("\x1b[2J") == std::string::npos);
  // Without a controlling terminal: refused even with stdin a pipe of "y".
  RunOptions no_tty;
  WriteText(fixture.dir + "/yes.txt", "y\n");
  no_tty.stdin_file = fixture.dir + "/yes.txt";
  ExpectNotRun(fixture, fixture.Run(TouchMarker(fixture), no_tty), 77, "no terminal to ask on");
}

// ================================================================ finding 6 --

TEST_CASE("finding 6: `write` never leaves truncate(2) open, at every Landlock ABI", "[govrun][hardening]") {
  const int kernel_abi = gov::exec::LandlockAbi();
  if (kernel_abi < 1) {
    WARN("no Landlock: skipped");
    return;
  }
  const std::string dir = fs::temp_directory_path() / ("gov-trunc-" + gov::lineage::NewRunId());
  fs::create_directories(dir + "/inside");
  fs::create_directories(dir + "/outside");
  gov::ir::Obligations obligations;
  obligations.has_write = true;
  obligations.write = {dir + "/inside"};
  for (int abi = 1; abi <= kernel_abi; ++abi) {
    INFO("Landlock ABI " << abi);
    WriteText(dir + "/outside/victim", "precious\n");
    WriteText(dir + "/inside/own", "data\n");
    gov::exec::SandboxOptions options;
    options.landlock_abi_override = abi;
    CHECK(RunSandboxed(obligations, options, HelperCommand({"truncate", dir + "/outside/victim"})) == 3);
    CHECK(ReadText(dir + "/outside/victim") == "precious\n");
    // open(O_RDONLY | O_TRUNC) needs only the read right below ABI 3.
    CHECK(RunSandboxed(obligations, options, HelperCommand({"open-truncate", dir + "/outside/victim"})) == 3);
    CHECK(ReadText(dir + "/outside/victim") == "precious\n");
    // io_uring could open (and truncate) where the filter cannot see.
    CHECK(RunSandboxed(obligations, options, HelperCommand({"io-uring"})) == (abi >= 3 ? 0 : 3));
    const int inside = RunSandboxed(obligations, options, HelperCommand({"truncate", dir + "/inside/own"}));
    // Landlock >= 3 restricts truncation by path; below, seccomp refuses
    // truncate(2) everywhere (docs/govrun.md).
    CHECK(inside == (abi >= 3 ? 0 : 3));
  }
  fs::remove_all(dir);
}

// ======================================================= create (issue 17) --

// A directory with files a `create` run must not destroy: `victim` (text),
// `tree/` (nested), `link` (a symbolic link to victim), `empty/`.
void PlantVictims(const std::string& out) {
  fs::remove_all(out);
  fs::create_directories(out + "/tree/deep");
  fs::create_directories(out + "/empty");
  WriteText(out + "/victim", "precious\n");
  WriteText(out + "/tree/deep/file", "precious\n");
  fs::create_symlink("victim", out + "/link");
}

// Whether everything PlantVictims made is as it was.
bool VictimsIntact(const std::string& out) {
  std::error_code error;
  return ReadText(out + "/victim") == "precious\n" && ReadText(out + "/tree/deep/file") == "precious\n" &&
         fs::is_directory(out + "/empty") && fs::read_symlink(out + "/link", error) == "victim";
}

TEST_CASE("`create`: a run makes new files but removes, renames over or truncates nothing", "[govrun][hardening]") {
  const int abi = gov::exec::LandlockAbi();
  if (abi < 3) {
    WARN("Landlock ABI " << abi << ": `create` is refused below ABI 3 (tested below)");
    return;
  }
  const std::string dir = fs::temp_directory_path() / ("gov-create-" + gov::lineage::NewRunId());
  const std::string out = dir + "/out";
  gov::ir::Obligations create;
  create.has_create = true;
  create.create = {out};
  // The same attacks under `write` succeed: the control that shows each
  // one would destroy something without the defence.
  gov::ir::Obligations write;
  write.has_write = true;
  write.write = {out};
  const std::pair<const char*, std::string> attacks[] = {
      {"rm -rf of a tree", "rm -rf " + out + "/tree"},
      {"rm of a file", "rm -f " + out + "/victim"},
      {"rmdir", "rmdir " + out + "/empty"},
      {"sort -o over a file", "sort -o " + out + "/victim /dev/null"},
      {"a shell redirection that truncates", ": > " + out + "/victim"},
      {"truncate -s0", "truncate -s0 " + out + "/victim"},
      {"mv a new file over an old one", "echo forged > " + out + "/new && mv -f " + out + "/new " + out + "/victim"},
      {"mv an old file away", "mv " + out + "/victim " + out + "/moved"},
      {"ln -sf over an existing link", "ln -sfn /etc/passwd " + out + "/link"},
      {"a hard link across directories, then removal",
       "ln " + out + "/tree/deep/file " + out + "/hard && rm " + out + "/tree/deep/file"},
  };
  for (const auto& [what, script] : attacks) {
    INFO(what << ": " << script);
    PlantVictims(out);
    CHECK(RunSandboxed(write, {}, {"/bin/sh", "-c", script}) == 0);
    CHECK_FALSE(VictimsIntact(out));
    PlantVictims(out);
    CHECK(RunSandboxed(create, {}, {"/bin/sh", "-c", script}) != 0);
    CHECK(VictimsIntact(out));
  }
  // What `create` is for works: new files, directories and links, written
  // by open(O_CREAT | O_TRUNC) as shells and compilers do.
  PlantVictims(out);
  const std::string make = "set -e; cd " + out + "; touch new; mkdir -p a/b/c; echo text > a/b/c/f; " +
                           "printf more >> a/b/c/f; ln -s a/b/c/f sym; cat sym; echo appended >> victim";
  CHECK(RunSandboxed(create, {}, {"/bin/sh", "-c", make}) == 0);
  CHECK(ReadText(out + "/a/b/c/f") == "text\nmore");
  CHECK(fs::exists(out + "/new"));
  // Not covered (docs/threat-model.md): an existing file can be appended to.
  CHECK(ReadText(out + "/victim") == "precious\nappended\n");
  // Without `write`, nothing outside the `create` paths is writable.
  CHECK(RunSandboxed(create, {}, {"/bin/sh", "-c", "touch " + dir + "/elsewhere"}) != 0);
  CHECK_FALSE(fs::exists(dir + "/elsewhere"));
  // With both, each path gets what its obligation grants.
  gov::ir::Obligations both = create;
  both.has_write = true;
  both.write = {dir + "/scratch"};
  fs::create_directories(dir + "/scratch/old");
  CHECK(RunSandboxed(both, {}, {"/bin/sh", "-c", "rm -r " + dir + "/scratch/old && touch " + out + "/fresh"}) == 0);
  CHECK_FALSE(fs::exists(dir + "/scratch/old"));
  CHECK(fs::exists(out + "/fresh"));
  fs::remove_all(dir);
}

TEST_CASE("`create` is refused where Landlock cannot forbid truncation (below ABI 3)", "[govrun][hardening]") {
  const int kernel_abi = gov::exec::LandlockAbi();
  gov::ir::Obligations create;
  create.has_create = true;
  create.create = {"/tmp"};
  for (int abi = 1; abi <= std::min(kernel_abi, 2); ++abi) {
    INFO("Landlock ABI " << abi);
    gov::exec::SandboxOptions options;
    options.landlock_abi_override = abi;
    std::string failure;
    CHECK(RunSandboxed(create, options, {"/bin/true"}, &failure) == -1);
    CHECK(failure == "cannot enforce the `create` obligation: Landlock ABI " + std::to_string(abi) +
                         " cannot forbid truncation (ABI 3, Linux 6.2, can): a run could empty the files it may not "
                         "remove");
  }
  if (kernel_abi < 1) {
    std::string failure;
    CHECK(RunSandboxed(create, {}, {"/bin/true"}, &failure) == -1);
    CHECK(failure.find("Landlock is not available") != std::string::npos);
  }
}

// ================================================== tmp = private (issue 17) --

TEST_CASE("`tmp = private`: the removal deletes what the run left, follows no link, spares other owners",
          "[govrun][hardening]") {
  const std::string base = fs::temp_directory_path() / ("gov-privtmp-" + gov::lineage::NewRunId());
  fs::create_directories(base + "/outside/dir");
  WriteText(base + "/outside/file", "precious\n");
  WriteText(base + "/outside/dir/inner", "precious\n");
  // A name planted in advance (here a link) is refused, never reused.
  fs::create_directory_symlink(base + "/outside", base + "/gov-tmp-planted");
  auto planted = gov::exec::PrivateTmp::Create("planted", base);
  REQUIRE_FALSE(planted.ok());
  CHECK(planted.error().message.find("File exists") != std::string::npos);
  CHECK(fs::exists(base + "/outside/file"));

  auto made = gov::exec::PrivateTmp::Create("run1", base);
  REQUIRE(made.ok());
  gov::exec::PrivateTmp tmp = std::move(made.value());
  const std::string dir = tmp.path();
  CHECK(dir == base + "/gov-tmp-run1");
  struct stat st {};
  REQUIRE(stat(dir.c_str(), &st) == 0);
  CHECK((st.st_mode & 07777) == 0700);
  // What a run leaves: files, nested directories, links to the outside
  // (to a file and to a directory, which removal must not enter).
  fs::create_directories(dir + "/a/b/c");
  WriteText(dir + "/a/b/c/f", "x");
  WriteText(dir + "/top", "x");
  fs::create_symlink(base + "/outside/file", dir + "/link-to-file");
  fs::create_directory_symlink(base + "/outside/dir", dir + "/link-to-dir");
  fs::create_directory_symlink(base + "/outside", dir + "/a/b/link-up");
  // 70 levels: deeper than the removal goes.
  std::string deep = dir + "/deep";
  for (int i = 0; i < 70; ++i) deep += "/d";
  fs::create_directories(deep);
  std::size_t left = 0;
  if (geteuid() == 0) {
    // Something of another user moved in: not govrun's to delete.
    fs::create_directories(dir + "/foreign/kept");
    REQUIRE(chown((dir + "/foreign").c_str(), kNobody, kNobody) == 0);
    left = tmp.Remove();
    CHECK(fs::exists(dir + "/foreign/kept"));
  } else {
    left = tmp.Remove();
  }
  CHECK(left > 0);
  CHECK(ReadText(base + "/outside/file") == "precious\n");
  CHECK(ReadText(base + "/outside/dir/inner") == "precious\n");
  CHECK_FALSE(fs::exists(dir + "/top"));
  CHECK_FALSE(fs::exists(dir + "/a"));
  CHECK_FALSE(fs::is_symlink(dir + "/link-to-dir"));
  CHECK(fs::exists(dir + "/deep"));  // beyond 64 levels: left, reported
  // Once only: a second Remove() does nothing.
  CHECK(tmp.Remove() == 0);

  // A clean run leaves nothing behind, the directory included.
  auto clean = gov::exec::PrivateTmp::Create("run2", base);
  REQUIRE(clean.ok());
  const std::string clean_dir = clean.value().path();
  WriteText(clean_dir + "/f", "x");
  CHECK(clean.value().Remove() == 0);
  CHECK_FALSE(fs::exists(clean_dir));
  // The directory renamed away and a link put in its place: the link stays.
  auto swapped = gov::exec::PrivateTmp::Create("run3", base);
  REQUIRE(swapped.ok());
  const std::string swapped_dir = swapped.value().path();
  fs::rename(swapped_dir, base + "/moved");
  fs::create_directory_symlink(base + "/outside", swapped_dir);
  CHECK(swapped.value().Remove() == 1);
  CHECK(fs::is_symlink(swapped_dir));
  CHECK(ReadText(base + "/outside/file") == "precious\n");
  fs::remove_all(base);
}

// ================================================================ finding 8 --

TEST_CASE("finding 8: RLIMIT_AS is used only where it binds", "[govrun][hardening]") {
  gov::ir::Obligations obligations;
  obligations.memory_bytes = 64 << 20;
  gov::exec::SandboxOptions no_cgroups;
  no_cgroups.cgroup_mounts_override = std::vector<gov::exec::CgroupMount>{};
  // An uninstrumented allocator (the helper itself cannot even load its
  // sanitizer runtime under a 64 MiB address space in sanitizer builds).
  const std::vector<std::string> allocate = {"/usr/bin/python3", "-c", "x = bytearray(256 << 20)"};
  const std::vector<std::string> small = {"/usr/bin/python3", "-c", "x = bytearray(1 << 20)"};
  // Without a cgroup the limit is RLIMIT_AS; with the capabilities emptied
  // it binds root too: 256 MiB cannot be allocated (Python: MemoryError, 1).
  CHECK(RunSandboxed(obligations, no_cgroups, small) == 0);
  CHECK(RunSandboxed(obligations, no_cgroups, allocate) == 1);
  gov::exec::SandboxOptions keeps = no_cgroups;
  keeps.keep_capabilities = {CAP_SYS_RESOURCE};
  std::string failure;
  if (HasPermittedCapability(CAP_SYS_RESOURCE)) {
    // A run that keeps CAP_SYS_RESOURCE could raise it: refused.
    CHECK(RunSandboxed(obligations, keeps, small, &failure) == -1);
    CHECK(failure.find("cannot enforce the `memory` obligation") != std::string::npos);
  } else {
    // Asking to keep a capability the caller lacks keeps nothing: it binds.
    CHECK(RunSandboxed(obligations, keeps, allocate) == 1);
  }
  if (geteuid() == 0) {
    gov::ir::Obligations processes;
    processes.processes = 5;
    CHECK(RunSandboxed(processes, no_cgroups, HelperCommand({"forks", "2"}), &failure) == -1);
    CHECK(failure.find("RLIMIT_NPROC does not bind uid 0") != std::string::npos);
  }
}

// ================================================================ finding 9 --

TEST_CASE("finding 9: an allowed tool cannot be steered through its environment", "[govrun][hardening][env]") {
  Fixture fixture(kTools + std::string("allow git when program.name == \"git\"\n"));
  const std::map<std::string, std::string> families = {{"GIT_CONFIG_COUNT", "1"},
                                                       {"GIT_CONFIG_KEY_0", "core.fsmonitor"},
                                                       {"GIT_CONFIG_VALUE_0", "x"},
                                                       {"GIT_EXTERNAL_DIFF", "x"},
                                                       {"GIT_SSH_COMMAND", "x"},
                                                       {"BASH_ENV", "x"},
                                                       {"ENV", "x"},
                                                       {"BASH_FUNC_ls%%", "() { x; }"},
                                                       {"PYTHONPATH", "x"},
                                                       {"PYTHONSTARTUP", "x"},
                                                       {"PERL5OPT", "x"},
                                                       {"NODE_OPTIONS", "x"},
                                                       {"TMPDIR", "x"},
                                                       {"TZDIR", "x"},
                                                       {"LD_PRELOAD", "x"},
                                                       {"GCONV_PATH", "x"},
                                                       {"RUBYOPT", "x"},
                                                       {"JAVA_TOOL_OPTIONS", "x"},
                                                       {"XDG_CONFIG_HOME", "x"},
                                                       {"EDITOR", "x"},
                                                       {"PAGER", "x"},
                                                       {"LESSOPEN", "x"},
                                                       {"OPENSSL_CONF", "x"},
                                                       {"KUBECONFIG", "x"},
                                                       {"MAKEFLAGS", "x"},
                                                       {"GOFLAGS", "x"},
                                                       {"RUSTC_WRAPPER", "x"},
                                                       {"npm_config_script_shell", "x"}};
  RunOptions options;
  options.set_env = families;
  const Result env = fixture.Run({"env"}, options);
  INFO(env.out);
  REQUIRE(env.code == 0);
  for (const auto& [name, value] : families) {
    INFO(name);
    CHECK(env.out.find(name + "=") == std::string::npos);
  }
  // The attacks themselves, with the real tools.
  if (Exists("/usr/bin/git")) {
    const std::string repo = fixture.dir + "/repo";
    fs::create_directories(repo);
    REQUIRE(RunProcess({"/usr/bin/git", "init", "-q", repo}, fixture.dir).code == 0);
    RunOptions git;
    git.cwd = repo;
    git.set_env = {{"GIT_CONFIG_COUNT", "1"},
                   {"GIT_CONFIG_KEY_0", "core.fsmonitor"},
                   {"GIT_CONFIG_VALUE_0", "touch " + fixture.Marker() + "; false"}};
    // Without govrun the variables run the command (the attack is real) …
    RunProcess({"/usr/bin/git", "status"}, fixture.dir, git);
    REQUIRE(Exists(fixture.Marker()));
    fs::remove(fixture.Marker());
    // … through govrun they do not reach git.
    fixture.Run({"git", "status"}, git);
    CHECK_FALSE(Exists(fixture.Marker()));
  }
  RunOptions bash;
  WriteText(fixture.dir + "/rc", "touch " + fixture.Marker() + "\n");
  bash.set_env["BASH_ENV"] = fixture.dir + "/rc";
  CHECK(fixture.Run({"bash", "-c", "true"}, bash).code == 0);
  CHECK_FALSE(Exists(fixture.Marker()));
}

// =============================================================== finding 13 --

TEST_CASE("finding 13: a process holding the log's lock cannot stall govrun", "[govrun][hardening][failclosed]") {
  Fixture fixture(kTools);
  fixture.WriteConfig(ReadText(fixture.config) + "lineage_lock_timeout = \"300ms\"\n");
  REQUIRE(fixture.Run({"true"}).code == 0);  // creates the log
  const int log = open((fixture.dir + "/lineage/lineage.log").c_str(), O_RDONLY | O_CLOEXEC);
  REQUIRE(log >= 0);
  REQUIRE(flock(log, LOCK_EX) == 0);
  const Result held = fixture.Run(TouchMarker(fixture));
  INFO(held.err);
  ExpectNotRun(fixture, held, 74, "held the log's lock for more than 300 ms");
  CHECK(held.err.find("(pid " + std::to_string(getpid()) + ")") != std::string::npos);
  flock(log, LOCK_UN);
  close(log);
  CHECK(fixture.Run({"true"}).code == 0);
}

// =============================================================== finding 16 --

TEST_CASE("finding 16: nothing the caller's environment names is loaded into govrun", "[govrun][hardening]") {
#ifdef GOV_SANITIZED
  WARN("sanitizer builds link govrun dynamically: the static-binary defence is tested in release builds");
#else
  Fixture fixture(kTools);
  const std::string source = fixture.dir + "/evil.c";
  WriteText(source,
            "#include <stdio.h>\n__attribute__((constructor)) static void evil(void) {\n"
            "  FILE* f = fopen(\"" +
                fixture.Marker() + "\", \"w\"); if (f) fclose(f); }\n");
  const std::string library = fixture.dir + "/evil.so";
  REQUIRE(RunProcess({"/usr/bin/cc", "-shared", "-fPIC", "-o", library, source}, fixture.dir).code == 0);
  // NSS modules govrun's user lookup could load from LD_LIBRARY_PATH.
  const std::string libdir = fixture.dir + "/lib";
  fs::create_directories(libdir);
  for (const char* name : {"libnss_files.so.2", "libnss_systemd.so.2", "libnss_sss.so.2", "libnss_compat.so.2"}) {
    fs::copy_file(library, libdir + "/" + name);
  }
  const std::vector<std::pair<std::string, std::string> > attacks = {
      {"LD_PRELOAD", library},   {"LD_AUDIT", library}, {"LD_LIBRARY_PATH", libdir},
      {"GCONV_PATH", libdir},    {"LOCPATH", libdir},   {"GLIBC_TUNABLES", "glibc.malloc.check=3"},
      {"MALLOC_PERTURB_", "85"},
  };
  for (const auto& [name, value] : attacks) {
    INFO(name);
    RunOptions options;
    options.set_env[name] = value;
    const Result result = fixture.Run({"true"}, options);
    INFO(result.err);
    CHECK(result.code == 0);
    CHECK_FALSE(Exists(fixture.Marker()));
  }
  // The caller's environment is still what the request records.
  CHECK(ReadText(fixture.dir + "/lineage/lineage.log").find("LD_LIBRARY_PATH") != std::string::npos);
#endif
}

// =============================================================== finding 17 --

TEST_CASE("finding 17: governed programs hold no capabilities and create no device nodes", "[govrun][hardening]") {
  if (geteuid() != 0) {
    WARN("needs root");
    return;
  }
  Fixture fixture(AllowHelper("write = [\"@DIR@/ws\"]"));
  fs::create_directories(fixture.dir + "/ws");
  const Result caps = fixture.Run(HelperCommand({"caps"}));
  INFO(caps.out << caps.err);
  CHECK(caps.out.find("CapEff:\t0000000000000000") != std::string::npos);
  CHECK(caps.out.find("CapPrm:\t0000000000000000") != std::string::npos);
  CHECK(caps.out.find("CapAmb:\t0000000000000000") != std::string::npos);
  CHECK(caps.out.find("CapBnd:\t0000000000000000") != std::string::npos);
  const Result mknod = fixture.Run(HelperCommand({"mknod", fixture.dir + "/ws/disk"}));
  INFO(mknod.out);
  CHECK(mknod.code == 3);
  CHECK_FALSE(Exists(fixture.dir + "/ws/disk"));
  // Even without a `write` obligation (the baseline domain).
  Fixture open(AllowHelper());
  CHECK(open.Run(HelperCommand({"mknod", open.dir + "/disk"})).code == 3);
  CHECK_FALSE(Exists(open.dir + "/disk"));
  // A policy grants capabilities by name: exactly those are kept.
  Fixture granted(AllowHelper("write = [\"@DIR@/ws\"], capabilities = [\"chown\", \"mknod\"]"));
  fs::create_directories(granted.dir + "/ws");
  const Result kept = granted.Run(HelperCommand({"caps"}), {}, {"--explain"});
  INFO(kept.out << kept.err);
  // CAP_CHOWN (0) and CAP_MKNOD (27).
  CHECK(kept.out.find("CapEff:\t0000000008000001") != std::string::npos);
  CHECK(kept.err.find("enforce capabilities=chown,mknod") != std::string::npos);
  const Result device = granted.Run(HelperCommand({"mknod", granted.dir + "/ws/disk"}));
  INFO(device.out);
  CHECK(device.code == 0);
  CHECK(Exists(granted.dir + "/ws/disk"));
}

// =============================================================== finding 18 --

TEST_CASE("finding 18: metadata outside the write set: what root loses and what the owner keeps",
          "[govrun][hardening]") {
  if (geteuid() != 0) {
    WARN("needs root");
    return;
  }
  Fixture fixture(AllowHelper("write = [\"@DIR@/ws\"]"));
  fs::create_directories(fixture.dir + "/ws");
  const std::string other = fixture.dir + "/others";
  WriteText(other, "x\n");
  REQUIRE(chown(other.c_str(), kNobody, kNobody) == 0);
  // Without CAP_CHOWN, CAP_FOWNER, CAP_LINUX_IMMUTABLE: refused.
  CHECK(fixture.Run(HelperCommand({"chown", other})).code == 3);
  CHECK(fixture.Run(HelperCommand({"chmod", other})).code == 3);
  const Result immutable = fixture.Run(HelperCommand({"immutable", other}));
  INFO(immutable.out);
  CHECK(immutable.code == 3);
  struct stat st {};
  REQUIRE(stat(other.c_str(), &st) == 0);
  CHECK(st.st_uid == kNobody);
  CHECK((st.st_mode & 0777) == 0644);
  // The documented gap: the owner may still change the mode of its own file
  // outside `write` (Landlock has no right for it; docs/threat-model.md).
  const std::string own = fixture.dir + "/own";
  WriteText(own, "x\n");
  CHECK(fixture.Run(HelperCommand({"chmod", own})).code == 0);
}

// ====================================== findings 1, 17 (review): system interfaces --

TEST_CASE("a run writes nothing beneath /proc, /sys or /dev unless `write` names it, even as root",
          "[govrun][hardening]") {
  if (gov::exec::LandlockAbi() < 1) {
    WARN("no Landlock: skipped");
    return;
  }
  // Without a `write` obligation: everywhere else is writable, the kernel's
  // interfaces are not (a capability-less root still owns them).
  Fixture fixture(AllowHelper("processes = 5"));
  std::vector<std::string> interfaces = {"/proc/sys/kernel/core_pattern", "/proc/self/oom_score_adj"};
  for (const gov::exec::CgroupMount& mount : gov::exec::CgroupMounts()) {
    interfaces.push_back(mount.mount_point + "/cgroup.procs");
  }
  for (const std::string& path : interfaces) {
    INFO(path);
    if (!Exists(path)) {
      continue;
    }
    const Result result = fixture.Run(HelperCommand({"open-write", path}));
    INFO(result.out << result.err);
    CHECK(result.code == 3);
  }
  const std::string own = fixture.dir + "/own";
  WriteText(own, "x\n");
  CHECK(fixture.Run(HelperCommand({"open-write", own})).code == 0);
  CHECK(fixture.Run(HelperCommand({"open-write", "/dev/null"})).code == 0);
  // `/` in `write` means everything but the system interfaces.
  Fixture everything(AllowHelper("write = [\"/\"]"));
  CHECK(everything.Run(HelperCommand({"open-write", everything.dir + "/own2"})).code == 3);  // no such file
  WriteText(everything.dir + "/own2", "x\n");
  CHECK(everything.Run(HelperCommand({"open-write", everything.dir + "/own2"})).code == 0);
  CHECK(everything.Run(HelperCommand({"open-write", "/proc/sys/kernel/core_pattern"})).code == 3);
}

TEST_CASE("govrun refuses to work under a tracer", "[govrun][hardening]") {
  Fixture fixture(kTools);
  const pid_t child = fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    const int null_fd = open("/dev/null", O_RDWR);
    dup2(null_fd, 0);
    dup2(null_fd, 1);
    dup2(null_fd, 2);
    if (ptrace(PTRACE_TRACEME, 0, nullptr, nullptr) != 0) {
      _exit(201);
    }
    const std::string govrun = Govrun();
    const std::string config = fixture.config;
    const std::string marker = fixture.Marker();
    execl(govrun.c_str(), govrun.c_str(), "--config", config.c_str(), "--", "touch", marker.c_str(),
          static_cast<char*>(nullptr));
    _exit(202);
  }
  int status = 0;
  while (waitpid(child, &status, 0) == child && WIFSTOPPED(status)) {
    // The exec's SIGTRAP is swallowed; other signals are passed on.
    const int signal = WSTOPSIG(status) == SIGTRAP ? 0 : WSTOPSIG(status);
    ptrace(PTRACE_CONT, child, nullptr, reinterpret_cast<void*>(static_cast<long>(signal)));
  }
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 78);
  CHECK_FALSE(Exists(fixture.Marker()));
}

TEST_CASE("a start record naming a process that is not govrun makes no parent", "[govrun][hardening]") {
  if (geteuid() != 0) {
    WARN("needs root (to look at the forged supervisor's executable)");
    return;
  }
  Fixture fixture(std::string(kTools) +
                  "allow nested_touch when program.name == \"touch\" and parent != none\n"
                  "deny top_touch when program.name == \"touch\" and parent == none because \"only nested\"\n");
  REQUIRE(fixture.Run({"true"}).code == 0);  // the log exists
  // A shell that waits for a line, then runs govrun as its child.
  int lines[2];
  REQUIRE(pipe(lines) == 0);
  RunOptions options;
  const std::string run_id(32, 'c');
  const std::string log_path = fixture.dir + "/lineage/lineage.log";
  const std::uint64_t offset = fs::file_size(log_path);
  options.set_env["GOV_RUN_ID"] = run_id;
  char record[17];
  std::snprintf(record, sizeof record, "%016llx", static_cast<unsigned long long>(offset));
  options.set_env["GOV_RUN_RECORD"] = record;
  const std::string script = "read line; '" + Govrun() + "' --config '" + fixture.config + "' -- touch " +
                             fixture.Marker() + "; echo status=$?";
  const pid_t shell = fork();
  REQUIRE(shell >= 0);
  if (shell == 0) {
    dup2(lines[0], 0);
    close(lines[1]);
    const int err = open((fixture.dir + "/forged.err").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(err, 2);
    dup2(err, 1);
    for (const auto& [name, value] : options.set_env) {
      setenv(name.c_str(), value.c_str(), 1);
    }
    execl("/bin/dash", "dash", "-c", script.c_str(), static_cast<char*>(nullptr));
    _exit(202);
  }
  close(lines[0]);
  // The forged start record, appended by hand with a body that matches its
  // digest, naming the shell (an ancestor of that govrun) as supervisor.
  const auto identity = gov::exec::IdentityOf(shell);
  REQUIRE(identity.has_value());
  const std::string log_text = ReadText(log_path);
  const std::size_t log_at = log_text.find("\"log\":\"");
  REQUIRE(log_at != std::string::npos);
  nlohmann::json body = {
      {"run", run_id},
      {"pid", shell},
      {"time_unix_ns", 1},
      {"limits", nlohmann::json::array()},
      {"supervisor", {{"pid", shell}, {"start_time", identity->start_time}, {"boot_id", gov::exec::BootId()}}},
      {"depth", 0},
      {"program", "/usr/bin/forged"}};
  // Head holds views: the strings it names must outlive it.
  const std::string log_id = log_text.substr(log_at + 7, 32);
  const std::string prev = "sha256:" + std::string(64, '0');
  gov::lineage::Head head;
  head.type = gov::lineage::RecordType::kStart;
  head.seq = 999;
  head.log = log_id;
  head.prev = prev;
  head.run = run_id;
  {
    std::ofstream out(log_path, std::ios::app | std::ios::binary);
    out << gov::lineage::MakeLine(head, gov::lineage::Canonical(body));
  }
  REQUIRE(write(lines[1], "go\n", 3) == 3);
  close(lines[1]);
  int status = 0;
  REQUIRE(waitpid(shell, &status, 0) == shell);
  const std::string err = ReadText(fixture.dir + "/forged.err");
  INFO(err);
  CHECK(err.find("is not govrun") != std::string::npos);
  CHECK(err.find("deny by top_touch") != std::string::npos);
  // The forged line is outside the chain (seq 999): the deny is recorded,
  // but the writer refuses to publish a tree past it, so the run ends 74.
  CHECK(err.find("record seq 999 where the published tree expects") != std::string::npos);
  CHECK(err.find("status=74") != std::string::npos);
  CHECK_FALSE(Exists(fixture.Marker()));
}

// =============================================================== finding 19 --

TEST_CASE("finding 19: the run cannot kill govrun to outlive its timeout", "[govrun][hardening][signals]") {
  Fixture fixture(kTools + std::string("allow limited when program.name == \"dash\" with { timeout = 1s }\n"));
  const Result result = fixture.Run({"dash", "-c",
                                     "(setsid dash -c 'sleep 3; touch " + fixture.Marker() +
                                         "' &); kill -9 $PPID; "
                                         "kill -STOP $PPID; echo kill=$?; sleep 5"});
  INFO(result.out << result.err);
  CHECK(result.code == 128 + SIGTERM);
  CHECK(result.err.find("exceeded its timeout") != std::string::npos);
  // The detached grandchild died with the run.
  usleep(3500000);
  CHECK_FALSE(Exists(fixture.Marker()));
}

// =============================================================== finding 20 --

TEST_CASE("finding 20: network = none reaches no Unix socket of the host", "[govrun][hardening]") {
  Fixture none(AllowHelper("network = none"));
  Fixture open(AllowHelper());
  const std::string path = none.dir + "/daemon.sock";
  const std::string abstract = "@gov-test-" + gov::lineage::NewRunId();
  std::vector<int> listeners;
  for (const std::string& name : {path, abstract}) {
    const int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    REQUIRE(fd >= 0);
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    socklen_t length = sizeof address.sun_family;
    if (name[0] == '@') {
      std::strncpy(address.sun_path + 1, name.c_str() + 1, sizeof address.sun_path - 2);
      length += static_cast<socklen_t>(name.size());
    } else {
      std::strncpy(address.sun_path, name.c_str(), sizeof address.sun_path - 1);
      length += static_cast<socklen_t>(name.size() + 1);
    }
    REQUIRE(bind(fd, reinterpret_cast<sockaddr*>(&address), length) == 0);
    REQUIRE(listen(fd, 8) == 0);
    listeners.push_back(fd);
  }
  for (const std::string& name : {path, abstract}) {
    INFO(name);
    const Result blocked = none.Run(HelperCommand({"unix", name}));
    INFO(blocked.out);
    CHECK(blocked.code == 3);
    const Result allowed = open.Run(HelperCommand({"unix", name}));
    INFO(allowed.out);
    CHECK(allowed.code == 0);
  }
  for (const int fd : listeners) {
    close(fd);
  }
  // io_uring would open sockets (IORING_OP_SOCKET) the filter never sees.
  Fixture loopback(AllowHelper("network = loopback"));
  CHECK(loopback.Run(HelperCommand({"io-uring"})).code == 3);
  CHECK(none.Run(HelperCommand({"io-uring"})).code == 3);
  CHECK(open.Run(HelperCommand({"io-uring"})).code == 0);
}

// =============================================================== finding 21 --

TEST_CASE("finding 21: a run cannot read the environment of processes outside it", "[govrun][hardening]") {
  if (gov::exec::LandlockAbi() < 1) {
    WARN("no Landlock: skipped");
    return;
  }
  Fixture fixture(AllowHelper(), false, /*for_nobody=*/true);
  // A process of the same user (nobody) outside the run.
  RunOptions as_nobody;
  as_nobody.as_nobody = true;
  const Started outside = StartProcess({"/bin/sleep", "30"}, fixture.dir, as_nobody);
  usleep(100000);
  const std::string environ_path = "/proc/" + std::to_string(outside.pid) + "/environ";
  // Without govrun the user can read it …
  const Result direct = RunProcess(HelperCommand({"read", environ_path}), fixture.dir, as_nobody);
  CHECK(direct.code == 0);
  // … a governed program cannot.
  const Result governed = fixture.Run(HelperCommand({"read", environ_path}), as_nobody);
  INFO(governed.out << governed.err);
  CHECK(governed.code == 3);
  kill(outside.pid, SIGKILL);
  Finish(outside);
  // No separate salt file a governed program could read.
  CHECK_FALSE(Exists(fixture.dir + "/lineage/env-salt"));
}

}  // namespace
