// End-to-end tests of governed sessions (govrun --session, issue 14): an
// escape corpus run inside a session — every way a shell, an interpreter or
// a tool starts a program — where the forbidden program would create a
// marker file; racing threads that change an exec's arguments after the
// supervisor read them; fileless and indirect execs; a killed supervisor;
// an unwritable log. Every forbidden exec must be denied (the marker never
// appears), allowed ones recorded as child runs with the right parent, and
// govverify --replay must accept the log.
#include "runtime/session/session.h"

#include <fcntl.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <cstddef>
#include <cstdio>
#include <cstring>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "runtime/crypto/sha256.h"
#include "runtime/exec/program.h"
#include "tests/govrun/support.h"

extern char** environ;

namespace gov_test {

namespace {

// Copies `path` into a memfd and executes it (fexecve): a program with no file.
int HelperExecMemfd(const char* path, char** args) {
  const int in = open(path, O_RDONLY | O_CLOEXEC);
  const int fd = static_cast<int>(syscall(SYS_memfd_create, "payload", 0));
  if (in < 0 || fd < 0) {
    return 90;
  }
  char buffer[65536];
  ssize_t got;
  while ((got = read(in, buffer, sizeof buffer)) > 0) {
    if (write(fd, buffer, static_cast<std::size_t>(got)) != got) {
      return 91;
    }
  }
  fexecve(fd, args, environ);
  std::printf("exec-memfd: %s\n", std::strerror(errno));
  std::fflush(stdout);
  _exit(3);  // no exit-time leak check (see HelperExecRace)
}

// Executes `path` through /proc/self/fd/N of a descriptor opened on it.
int HelperExecProcFd(const char* path, char** args) {
  const int fd = open(path, O_RDONLY);
  if (fd < 0) {
    return 90;
  }
  const std::string via = "/proc/self/fd/" + std::to_string(fd);
  execve(via.c_str(), args, environ);
  std::printf("exec-procfd: %s\n", std::strerror(errno));
  std::fflush(stdout);
  _exit(3);  // no exit-time leak check (see HelperExecRace)
}

// execveat(fd, "", AT_EMPTY_PATH) on a descriptor opened on `path`.
int HelperExecAtEmpty(const char* path, char** args) {
  const int fd = open(path, O_RDONLY);
  if (fd < 0) {
    return 90;
  }
  syscall(SYS_execveat, fd, "", args, environ, AT_EMPTY_PATH);
  std::printf("exec-at-empty: %s\n", std::strerror(errno));
  std::fflush(stdout);
  _exit(3);  // no exit-time leak check (see HelperExecRace)
}

// Executes `path` from a thread other than the main one.
int HelperExecThread(const char* path, char** args) {
  std::thread thread([&] { execve(path, args, environ); });
  thread.join();
  std::printf("exec-thread: %s\n", std::strerror(errno));
  std::fflush(stdout);
  _exit(3);  // no exit-time leak check (see HelperExecRace)
}

// The leader's exec of `path` with an argument over the kernel's limit
// (E2BIG, after the supervisor allowed it), then the leader ends while
// another thread executes `path` with `args`: that image takes over the
// leader's id, which the supervisor saw last as the leader's.
int HelperLeaderGoneAfterFailedExec(const char* path, char** args) {
  static const char* thread_path = path;
  static char** thread_args = args;
  std::string huge(200000, 'x');
  char* refused[] = {const_cast<char*>(path), huge.data(), nullptr};
  execve(path, refused, environ);
  pthread_t thread;
  if (pthread_create(
          &thread, nullptr,
          [](void*) -> void* {
            usleep(200000);  // the leader has ended by then
            execve(thread_path, thread_args, environ);
            _exit(3);
          },
          nullptr) != 0) {
    _exit(2);
  }
  syscall(SYS_exit, 0);  // this thread only
  return 0;
}

// clone(CLONE_PARENT): a sibling of this process, the session root's would
// be govrun's own child. Prints what it got.
int HelperCloneParent() {
  const long pid = syscall(SYS_clone, CLONE_PARENT | SIGCHLD, 0, 0, 0, 0);
  if (pid == 0) {
    _exit(0);
  }
  std::printf("clone(CLONE_PARENT): %s\n", pid > 0 ? "yes" : std::strerror(errno));
  std::fflush(stdout);
  _exit(0);
}

// Tries to change the memory of a process of the session (its own child,
// stopped at a pipe read): ptrace attach, process_vm_writev and a write
// through /proc/PID/mem. Prints one line per way with what it got; the
// child prints "intact" when its word is unchanged.
int HelperWritePeer() {
  int go[2];
  if (pipe(go) != 0) {
    _exit(2);
  }
  static volatile char word[8] = "intact";
  const pid_t child = fork();
  if (child == 0) {
    char byte = 0;
    while (read(go[0], &byte, 1) < 0 && errno == EINTR) {
    }
    std::printf("child: %s\n", const_cast<const char*>(word));
    std::fflush(stdout);
    _exit(0);
  }
  const char changed[8] = "CHANGED";
  const long attached = ptrace(PTRACE_ATTACH, child, nullptr, nullptr);
  std::printf("ptrace: %s\n", attached == 0 ? "attached" : std::strerror(errno));
  if (attached == 0) {
    int stopped = 0;
    waitpid(child, &stopped, 0);  // the attach stop
  }
  iovec local{const_cast<char*>(changed), sizeof changed};
  iovec remote{const_cast<char*>(word), sizeof changed};
  const ssize_t written = process_vm_writev(child, &local, 1, &remote, 1, 0);
  std::printf("process_vm_writev: %s\n", written >= 0 ? "written" : std::strerror(errno));
  const int mem = open(("/proc/" + std::to_string(child) + "/mem").c_str(), O_RDWR | O_CLOEXEC);
  const bool poked = mem >= 0 && pwrite(mem, changed, sizeof changed, reinterpret_cast<off_t>(word)) > 0;
  std::printf("proc-mem: %s\n", poked ? "written" : std::strerror(errno));
  std::fflush(stdout);
  if (attached == 0) {
    ptrace(PTRACE_DETACH, child, nullptr, nullptr);
  }
  if (write(go[1], "x", 1) != 1) {
    _exit(2);
  }
  int status = 0;
  waitpid(child, &status, 0);
  _exit(0);  // no exit-time leak check (see HelperExecRace)
}

// The escape a reviewer found: a child created with CLONE_UNTRACED (so
// the kernel does not attach it to the supervisor) executes `path` while a
// seccomp filter of the helper's own answers its exec with
// SECCOMP_RET_USER_NOTIF (which outranks the session's RET_TRACE) and the
// helper lets the call continue. Prints what each step got.
int HelperEscapeUntraced(const char* path, char** args) {
  struct sock_filter filter[] = {
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_execve, 0, 1),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_USER_NOTIF),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
  };
  struct sock_fprog program {
    4, filter
  };
  prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
  const long listener = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_NEW_LISTENER, &program);
  std::printf("listener: %s\n", listener >= 0 ? "yes" : std::strerror(errno));
  const long pid = syscall(SYS_clone, CLONE_UNTRACED | SIGCHLD, 0, 0, 0, 0);
  if (pid == 0) {
    syscall(SYS_execve, path, args, environ);
    _exit(3);
  }
  std::printf("clone(CLONE_UNTRACED): %s\n", pid > 0 ? "yes" : std::strerror(errno));
  if (listener >= 0 && pid > 0) {
    struct seccomp_notif request {};
    if (ioctl(static_cast<int>(listener), SECCOMP_IOCTL_NOTIF_RECV, &request) == 0) {
      struct seccomp_notif_resp response {};
      response.id = request.id;
      response.flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
      ioctl(static_cast<int>(listener), SECCOMP_IOCTL_NOTIF_SEND, &response);
    }
  }
  if (pid > 0) {
    int status = 0;
    waitpid(static_cast<pid_t>(pid), &status, 0);
  }
  std::fflush(stdout);
  _exit(0);  // no exit-time leak check (see HelperExecRace)
}

// A seccomp filter of the helper's own traces execve with another
// SECCOMP_RET_DATA (a newer filter's data wins among equal actions), then
// the helper executes `path`: the supervisor must not take that stop for
// its own and run the exec. Prints what execve returned. (The same trick
// with the i386 call 59 cannot be tested on this VM: `int 0x80` faults.)
// Maps `path` executable — `mmap` with PROT_EXEC, or PROT_READ then
// `mprotect` — and prints "mapped" once the memory exists.
int HelperMapExec(const char* path, const char* how) {
  const int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    std::perror("open");
    return 2;
  }
  const bool protect = std::strcmp(how, "mprotect") == 0;
  void* map = mmap(nullptr, 4096, protect ? PROT_READ : PROT_READ | PROT_EXEC, MAP_PRIVATE, fd, 0);
  if (map == MAP_FAILED || (protect && mprotect(map, 4096, PROT_READ | PROT_EXEC) != 0)) {
    std::perror("map");
    return 3;
  }
  std::printf("mapped\n");
  std::fflush(stdout);
  std::_Exit(0);  // no sanitizer leak check at exit: it needs ptrace, which a session refuses
}

// mmap2 through the compat (int 0x80) entry of a 64-bit process: the
// file's first page with PROT_EXEC. Prints the raw result (an address, or
// -errno).
int HelperMapExecCompat(const char* path) {
  const int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    std::perror("open");
    return 2;
  }
  long result = 0;
  asm volatile(
      "push %%rbp\n\t"
      "xor %%ebp, %%ebp\n\t"
      "int $0x80\n\t"
      "pop %%rbp"
      : "=a"(result)
      : "a"(192), "b"(0), "c"(4096), "d"(PROT_READ | PROT_EXEC), "S"(MAP_PRIVATE), "D"(fd)
      : "memory", "cc");
  std::printf("compat=%ld\n", result < 0 ? result : 1L);
  std::fflush(stdout);
  std::_Exit(0);
}

int HelperOwnTrace(const char* path, char** args) {
  const std::uint32_t arch = AUDIT_ARCH_X86_64;
  struct sock_filter filter[] = {
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, arch, 0, 3),
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 59, 0, 1),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_TRACE | 0x1234),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
  };
  struct sock_fprog program {
    6, filter
  };
  prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
  if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &program) != 0) {
    std::printf("filter: %s\n", std::strerror(errno));
    std::fflush(stdout);
    _exit(90);
  }
  syscall(SYS_execve, path, args, environ);
  std::printf("result=%d\n", -errno);
  std::fflush(stdout);
  _exit(0);  // no exit-time leak check (see HelperExecRace)
}

// `tries` times: a forked process executes a path (mode "path") or an
// argument (mode "arg") that a second thread flips between byte `from` and
// byte `to` at offset `index`, as fast as it can. Prints how each try ended:
// ran (exit 0), refused (EACCES), killed (SIGKILL) or other.
int HelperExecRace(const std::string& mode, const char* program, const char* argument, int index, char from, char to,
                   int tries) {
  std::map<std::string, int> outcomes;
  for (int i = 0; i < tries; ++i) {
    const pid_t pid = fork();
    if (pid < 0) {
      return 90;
    }
    if (pid == 0) {
      static char path[4096];
      static char arg[4096];
      std::snprintf(path, sizeof path, "%s", program);
      std::snprintf(arg, sizeof arg, "%s", argument);
      char* target = mode == "path" ? path : arg;
      std::atomic<bool> started{false};
      std::thread flipper([&] {
        started = true;
        for (;;) {
          __atomic_store_n(&target[index], to, __ATOMIC_RELAXED);
          __atomic_store_n(&target[index], from, __ATOMIC_RELAXED);
        }
      });
      while (!started) {
      }
      char* argv[] = {path, arg, nullptr};
      syscall(SYS_execve, path, argv, environ);
      _exit(errno == EACCES ? 3 : 100 + errno);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    const std::string outcome = WIFEXITED(status) && WEXITSTATUS(status) == 0        ? "ran"
                                : WIFEXITED(status) && WEXITSTATUS(status) == 3      ? "refused"
                                : WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL ? "killed"
                                : WIFEXITED(status) ? "other-exit-" + std::to_string(WEXITSTATUS(status))
                                                    : "other-signal-" + std::to_string(WTERMSIG(status));
    ++outcomes[outcome];
  }
  for (const auto& [outcome, count] : outcomes) {
    std::printf("%s=%d\n", outcome.c_str(), count);
  }
  // No exit-time leak check: LeakSanitizer traces its own threads, and a
  // session refuses ptrace.
  std::fflush(stdout);
  _exit(0);
}

std::string Helper() {
  return Self();
}

std::string Sha256OfFile(const std::string& path) {
  return gov::crypto::DigestString(gov::crypto::Sha256Of(ReadText(path)));
}

// Bounded: up to 10 s for `path` to appear.
bool WaitForFile(const std::string& path) {
  for (int i = 0; i < 1000; ++i) {
    if (Exists(path)) {
      return true;
    }
    usleep(10000);
  }
  return false;
}

// One record of a lineage log: its HEAD and BODY.
struct Record {
  nlohmann::json head;
  nlohmann::json body;
};

std::vector<Record> ReadLog(const Fixture& fixture) {
  std::vector<Record> records;
  std::istringstream lines(ReadText(fixture.dir + "/lineage/lineage.log"));
  std::string line;
  while (std::getline(lines, line)) {
    const std::size_t tab = line.find('\t');
    if (tab == std::string::npos) {
      continue;
    }
    records.push_back({nlohmann::json::parse(line.substr(0, tab)), nlohmann::json::parse(line.substr(tab + 1))});
  }
  return records;
}

// The session mechanism every session test uses: $GOVRUN_TEST_SESSION_MECHANISM
// (ctest runs the session tests once more with `ptrace`), else `auto`, which
// is the kernel mechanism where govrun is root and can load it.
std::string SessionMechanism() {
  const char* chosen = std::getenv("GOVRUN_TEST_SESSION_MECHANISM");
  return chosen != nullptr && *chosen != '\0' ? chosen : "auto";
}

Result Session(const Fixture& fixture, const std::vector<std::string>& command, const RunOptions& options = {}) {
  return fixture.Run(command, options, {"--session", "--session-mechanism", SessionMechanism()});
}

Result SessionWith(const Fixture& fixture, const std::string& mechanism, const std::vector<std::string>& command,
                   const RunOptions& options = {}) {
  return fixture.Run(command, options, {"--session", "--session-mechanism", mechanism});
}

// How the session of the fixture's log bound its execs: the root's start
// record names its mechanism ("session" limit).
std::string RecordedMechanism(const Fixture& fixture) {
  for (const Record& record : ReadLog(fixture)) {
    if (record.head.value("type", "") != "start" || !record.body.contains("limits")) {
      continue;
    }
    for (const auto& limit : record.body["limits"]) {
      if (limit.value("obligation", "") == "session" && limit.value("value", "") == "every exec") {
        return limit.value("mechanism", "");
      }
    }
  }
  return "";
}

// Shells, the tools of the corpus and the helper are allowed; touch (which
// makes the marker) is denied.
std::string CorpusPolicy() {
  return "allow tools when program.name in {\"bash\", \"sh\", \"dash\", \"true\", \"echo\", \"cat\", \"env\", "
         "\"make\", \"python3\", \"python3.11\", \"perl\", \"awk\", \"mawk\", \"xargs\", \"find\", \"git\", "
         "\"sleep\", \"setsid\", \"nohup\", \"govrun_tests\"} because \"the corpus' tools\"\n"
         "deny no_marker when program.name == \"touch\" because \"markers are forbidden\"\n";
}

// bash and touch only: a test whose touch must not run for another reason
// than the policy (CorpusPolicy denies it).
std::string BashAndTouchPolicy() {
  return "allow tools when program.name in {\"bash\", \"touch\"} because \"the test's tools\"\n";
}

// A session whose bash waits (with builtins only) for `go` to exist, then
// runs `/usr/bin/touch MARKER` and prints `status=$?`; returned once it waits.
Started StartTouchOnGo(const Fixture& fixture, const std::string& go) {
  const std::string ready = fixture.dir + "/ready";
  const std::string script = ": > " + ready + "; while [ ! -e " + go + " ]; do :; done; /usr/bin/touch " +
                             fixture.Marker() + "; echo status=$?";
  const Started started = StartProcess({Govrun(), "--session", "--session-mechanism", SessionMechanism(), "--config",
                                        fixture.config, "--", "bash", "-c", script},
                                       fixture.dir);
  REQUIRE(WaitForFile(ready));
  return started;
}

}  // namespace

int SessionHelper(const std::string& name, int argc, char** args) {
  if (name == "exec-memfd" && argc >= 1) {
    return HelperExecMemfd(args[0], args + 1);
  }
  if (name == "exec-procfd" && argc >= 1) {
    return HelperExecProcFd(args[0], args + 1);
  }
  if (name == "exec-at-empty" && argc >= 1) {
    return HelperExecAtEmpty(args[0], args + 1);
  }
  if (name == "clone-parent") {
    return HelperCloneParent();
  }
  if (name == "leader-gone-after-failed-exec" && argc >= 1) {
    return HelperLeaderGoneAfterFailedExec(args[0], args + 1);
  }
  if (name == "exec-thread" && argc >= 1) {
    return HelperExecThread(args[0], args + 1);
  }
  if (name == "escape-untraced" && argc >= 1) {
    return HelperEscapeUntraced(args[0], args + 1);
  }
  if (name == "write-peer" && argc == 0) {
    return HelperWritePeer();
  }
  if (name == "map-exec" && argc == 2) {
    return HelperMapExec(args[0], args[1]);
  }
  if (name == "map-exec-compat" && argc == 1) {
    return HelperMapExecCompat(args[0]);
  }
  if (name == "own-trace" && argc >= 1) {
    return HelperOwnTrace(args[0], args + 1);
  }
  if (name == "exec-race" && argc == 7) {
    return HelperExecRace(args[0], args[1], args[2], std::atoi(args[3]), args[4][0], args[5][0], std::atoi(args[6]));
  }
  return -1;
}

TEST_CASE("session: no escape corpus entry runs a denied program", "[govrun][session]") {
  Fixture fixture(CorpusPolicy());
  const std::string marker = fixture.Marker();
  WriteText(fixture.dir + "/Makefile", "all:\n\ttouch " + marker + "\n\techo made\n");
  const std::string helper = Helper();
  const std::vector<std::string> corpus = {
      "touch " + marker,
      "sh -c 'touch " + marker + "'",
      "true && touch " + marker,
      "true; touch " + marker,
      "x=$(touch " + marker + ")",
      "eval 'touch " + marker + "'",
      "echo " + marker + " | xargs touch",
      "find " + fixture.dir + " -maxdepth 0 -exec touch " + marker + " \\;",
      "env touch " + marker,
      "make -C " + fixture.dir,
      "python3 -c 'import os; os.system(\"touch " + marker + "\")'",
      "python3 -c 'import os; os.execv(\"/usr/bin/touch\", [\"touch\", \"" + marker + "\"])'",
      "python3 -c 'import subprocess; subprocess.run([\"touch\", \"" + marker + "\"])'",
      "perl -e 'system(\"touch " + marker + "\")'",
      "perl -e 'exec(\"/usr/bin/touch\", \"" + marker + "\")'",
      "awk 'BEGIN{system(\"touch " + marker + "\")}'",
      "git -c alias.x='!touch " + marker + "' x",
      "/lib64/ld-linux-x86-64.so.2 /usr/bin/touch " + marker,
      helper + " --helper exec-memfd /usr/bin/touch touch " + marker,
      helper + " --helper exec-procfd /usr/bin/touch touch " + marker,
      helper + " --helper exec-at-empty /usr/bin/touch touch " + marker,
      helper + " --helper exec-thread /usr/bin/touch touch " + marker,
      "setsid sh -c 'touch " + marker + "' & wait",
      "(sh -c 'touch " + marker + "' &) ; sleep 0.5",
      "nohup touch " + marker,
      // The loader as a `#!` interpreter, by its name and as a copy.
      fixture.dir + "/true " + marker,
      fixture.dir + "/echo " + marker,
      // An untraced child whose exec a filter of its own lets through.
      helper + " --helper escape-untraced /usr/bin/touch touch " + marker,
  };
  WriteText(fixture.dir + "/true", "#!/lib64/ld-linux-x86-64.so.2 /usr/bin/touch\n", 0755);
  fs::copy_file("/lib64/ld-linux-x86-64.so.2", fixture.dir + "/interp");
  chmod((fixture.dir + "/interp").c_str(), 0755);
  WriteText(fixture.dir + "/echo", "#!" + fixture.dir + "/interp /usr/bin/touch\n", 0755);
  for (const std::string& line : corpus) {
    INFO(line);
    const Result result = Session(fixture, {"bash", "-c", line + "; echo carried-on"});
    INFO(result.out << result.err);
    CHECK_FALSE(Exists(marker));
    // The shell carries on after the denial: the caller got an error.
    CHECK(result.out.find("carried-on") != std::string::npos);
    CHECK(result.code == 0);
    fs::remove(marker);
  }
  // Each denial is an authorization record, and the whole log replays.
  CHECK(VerifyAndReplay(fixture) == 0);
}

TEST_CASE("a script whose interpreter is the dynamic loader does not run, in one-shot runs too", "[govrun][session]") {
  Fixture fixture(CorpusPolicy());
  WriteText(fixture.dir + "/true", "#!/lib64/ld-linux-x86-64.so.2 /usr/bin/touch\n", 0755);
  const Result result = fixture.Run({fixture.dir + "/true", fixture.Marker()});
  INFO(result.out << result.err);
  CHECK(result.code == 126);
  CHECK(result.err.find("is the dynamic loader") != std::string::npos);
  CHECK_FALSE(Exists(fixture.Marker()));
}

TEST_CASE("session: no process of the session can write another's memory", "[govrun][session]") {
  // A checked image's argv, or a running allowed program, changed from the
  // outside would run what nobody decided. Outside a session (the control)
  // the same helper succeeds: the test can tell.
  Fixture fixture(CorpusPolicy());
  const Result control = RunProcess({Helper(), "--helper", "write-peer"}, fixture.dir);
  INFO(control.out << control.err);
  REQUIRE(control.code == 0);
  CHECK(control.out.find("process_vm_writev: written") != std::string::npos);
  CHECK(control.out.find("child: CHANGED") != std::string::npos);

  const Result result = Session(fixture, {Helper(), "--helper", "write-peer"});
  INFO(result.out << result.err);
  REQUIRE(result.code == 0);
  CHECK(result.out.find("ptrace: Operation not permitted") != std::string::npos);
  CHECK(result.out.find("process_vm_writev: Operation not permitted") != std::string::npos);
  CHECK(result.out.find("proc-mem: written") == std::string::npos);
  CHECK(result.out.find("child: intact") != std::string::npos);
}

// Reads the pty `master` until `text` shows (10 s at most); what was seen.
std::string ReadTerminalUntil(int master, const std::string& text) {
  std::string seen;
  for (int i = 0; i < 1000 && seen.find(text) == std::string::npos; ++i) {
    pollfd ready{master, POLLIN, 0};
    if (poll(&ready, 1, 10) == 1) {
      char buffer[512];
      const ssize_t got = read(master, buffer, sizeof buffer);
      if (got > 0) {
        seen.append(buffer, static_cast<std::size_t>(got));
      }
    }
  }
  return seen;
}

TEST_CASE("session: an ask is put to the approval terminal, only yes runs it", "[govrun][session][ask]") {
  const std::string answer = GENERATE(as<std::string>{}, "y", "n");
  DYNAMIC_SECTION("answer " << answer) {
    Fixture fixture(CorpusPolicy() +
                    "ask make_dir when program.name == \"mkdir\" because \"a directory for the build\"\n");
    const std::string marker = fixture.Marker();
    int master = -1;
    int slave = -1;
    char name[256] = {};
    REQUIRE(openpty(&master, &slave, name, nullptr, nullptr) == 0);
    const Started started =
        StartProcess({Govrun(), "--session", "--session-mechanism", SessionMechanism(), "--ask-terminal", name,
                      "--config", fixture.config, "--", "bash", "-c", "mkdir " + marker + "; echo status=$?"},
                     fixture.dir);
    const std::string prompt = ReadTerminalUntil(master, "[y/N]");
    CHECK(prompt.find("govrun: the policy asks before running /usr/bin/mkdir") != std::string::npos);
    CHECK(prompt.find("rule make_dir: a directory for the build") != std::string::npos);
    CHECK(prompt.find("command: mkdir " + marker) != std::string::npos);
    const std::string line = answer + "\n";
    REQUIRE(write(master, line.data(), line.size()) == static_cast<ssize_t>(line.size()));
    const Result result = Finish(started);
    close(master);
    close(slave);
    INFO(prompt << "\n" << result.out << result.err);
    REQUIRE(result.code == 0);
    std::string recorded;
    for (const Record& record : ReadLog(fixture)) {
      if (record.head.value("type", "") == "authorization" && record.head.value("verdict", "") == "ask") {
        recorded = record.body.value("ask_answer", "");
      }
    }
    if (answer == "y") {
      CHECK(Exists(marker));
      CHECK(result.out == "status=0\n");
      CHECK(recorded == "yes");
    } else {
      CHECK_FALSE(Exists(marker));
      CHECK(result.out == "status=126\n");
      CHECK(result.err.find("ask: answered no on the approval terminal") != std::string::npos);
      CHECK(recorded == "no");
    }
    CHECK(VerifyAndReplay(fixture) == 0);
  }
}

TEST_CASE("session: the approval terminal cannot be one the session's programs hold", "[govrun][session][ask]") {
  Fixture fixture(CorpusPolicy());
  int master = -1;
  int slave = -1;
  char name[256] = {};
  REQUIRE(openpty(&master, &slave, name, nullptr, nullptr) == 0);
  RunOptions on_terminal;
  on_terminal.stdin_file = name;
  const Result own = RunProcess({Govrun(), "--session", "--session-mechanism", SessionMechanism(), "--ask-terminal",
                                 name, "--config", fixture.config, "--", "bash", "-c", "echo ran"},
                                fixture.dir, on_terminal);
  close(master);
  close(slave);
  INFO(own.out << own.err);
  CHECK(own.code == 78);
  CHECK(own.out.empty());
  CHECK(own.err.find("is the session's own terminal") != std::string::npos);
  const Result file = RunProcess({Govrun(), "--session", "--session-mechanism", SessionMechanism(), "--ask-terminal",
                                  fixture.config, "--config", fixture.config, "--", "bash", "-c", "echo ran"},
                                 fixture.dir);
  CHECK(file.code == 78);
  CHECK(file.err.find("is not a terminal") != std::string::npos);
  const Result one_shot =
      RunProcess({Govrun(), "--ask-terminal", "/dev/tty", "--config", fixture.config, "--", "/bin/true"}, fixture.dir);
  CHECK(one_shot.code == 64);  // a usage error
  CHECK(one_shot.err.find("--ask-terminal needs --session") != std::string::npos);
}

TEST_CASE("a program file mapped writable by a process is not run: its bytes could change unseen",
          "[govrun][session][toctou]") {
  // A write through a shared page that is already dirty and writable
  // changes no timestamp, so the state checks after hashing cannot see it:
  // govrun refuses a file that has a writer when it hashes it.
  Fixture fixture(CorpusPolicy() + "allow prog when program.name == \"prog\" because \"the test's program\"\n");
  const std::string prog = fixture.dir + "/prog";
  fs::copy_file("/usr/bin/true", prog);
  chmod(prog.c_str(), 0755);
  const int fd = open(prog.c_str(), O_RDWR | O_CLOEXEC);
  REQUIRE(fd >= 0);
  void* map = mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  REQUIRE(map != MAP_FAILED);
  close(fd);
  static_cast<volatile char*>(map)[0] = static_cast<char*>(map)[0];  // dirty, same byte

  const Result one_shot = fixture.Run({prog});
  CHECK(one_shot.code == 126);
  CHECK(one_shot.err.find("open for writing (or mapped writable)") != std::string::npos);
  const Result session = Session(fixture, {"bash", "-c", prog + "; echo status=$?"});
  CHECK(session.code == 0);
  CHECK(session.out == "status=126\n");
  CHECK(session.err.find("open for writing (or mapped writable)") != std::string::npos);

  munmap(map, 4096);
  CHECK(fixture.Run({prog}).code == 0);
  CHECK(Session(fixture, {"bash", "-c", prog + "; echo status=$?"}).out == "status=0\n");
}

TEST_CASE("session: a trace stop of the run's own filter is never taken for an exec", "[govrun][session]") {
  Fixture fixture(CorpusPolicy());
  const std::string helper = Helper();
  // ptrace mechanism: a native exec of an allowed program whose trace
  // another filter answered: denied, not run. (The kernel mechanism's
  // notification outranks any trace: the exec is decided as every other,
  // see "session (kernel mechanism): …".)
  const Result native = SessionWith(fixture, "ptrace", {helper, "--helper", "own-trace", "/usr/bin/true", "true"});
  INFO(native.out << native.err);
  CHECK(native.code == 0);
  CHECK(native.out.find("result=-13") != std::string::npos);  // EACCES
  CHECK(native.err.find("an exec traced by another seccomp filter of the process") != std::string::npos);
  // Only the helper's run is authorized: the exec had no decision of its own.
  int authorizations = 0;
  for (const Record& record : ReadLog(fixture)) {
    authorizations += record.head.value("type", "") == "authorization" ? 1 : 0;
  }
  CHECK(authorizations == 1);
  CHECK(VerifyAndReplay(fixture) == 0);
}

TEST_CASE("session (kernel mechanism): root's default, recorded, its tree in a PID namespace that ends with it",
          "[govrun][session][kernel]") {
  Fixture fixture(CorpusPolicy());
  const Result probe = SessionWith(fixture, "kernel", {"/usr/bin/true"});
  INFO(probe.out << probe.err);
  if (geteuid() != 0 || probe.code == 78) {
    // Not root, or a kernel that refuses the BPF programs: said loudly.
    WARN("the kernel session mechanism is not available here: " << probe.err);
    CHECK(probe.code == 78);
    return;
  }
  REQUIRE(probe.code == 0);
  CHECK(RecordedMechanism(fixture).find("seccomp user notification + BPF") != std::string::npos);
  SECTION("auto is the kernel mechanism for root; ptrace when asked for") {
    Fixture other(CorpusPolicy());
    REQUIRE(SessionWith(other, "auto", {"/usr/bin/true"}).code == 0);
    CHECK(RecordedMechanism(other).find("seccomp user notification + BPF") != std::string::npos);
    Fixture traced(CorpusPolicy());
    REQUIRE(SessionWith(traced, "ptrace", {"/usr/bin/true"}).code == 0);
    CHECK(RecordedMechanism(traced).find("ptrace + seccomp") != std::string::npos);
  }
  SECTION("the tree is pid 2 onwards of its own namespace; what it leaves behind ends with the session") {
    const std::string marker = fixture.Marker();
    // A double-forked, setsid daemon that would write the marker after the
    // root has ended: killed with the namespace when the root ends.
    const Result result =
        SessionWith(fixture, "kernel",
                    {"bash", "-c", "echo pid=$$; (setsid bash -c 'sleep 1; touch " + marker + "' &) ; echo root-ends"});
    INFO(result.out << result.err);
    CHECK(result.code == 0);
    CHECK(result.out == "pid=2\nroot-ends\n");
    usleep(1500 * 1000);
    CHECK_FALSE(Exists(marker));
    CHECK(VerifyAndReplay(fixture) == 0);
  }
  SECTION("no process of the tree holds the seccomp listener (it could answer its own execs)") {
    const Result result = SessionWith(
        fixture, "kernel", {"bash", "-c", "find /proc/self/fd/ /proc/$BASHPID/fd/ -mindepth 1 -printf '%p %l\\n'"});
    INFO(result.out << result.err);
    CHECK(result.code == 0);
    CHECK(result.out.find("/proc/self/fd/") != std::string::npos);
    CHECK(result.out.find("seccomp") == std::string::npos);
  }
  SECTION("a nested govrun runs (nothing traces it), its runs linked to the session's") {
    Fixture nested(CorpusPolicy() + "allow nested when program.name == \"govrun\"\n");
#ifdef GOV_SANITIZED
    // No leak check at the nested govrun's exit: it needs ptrace, which a session refuses.
    const std::string prefix = "ASAN_OPTIONS=detect_leaks=0 ";
#else
    const std::string prefix;
#endif
    const Result result = SessionWith(
        nested, "kernel", {"bash", "-c", prefix + Govrun() + " --config " + nested.config + " -- /bin/echo nested-ok"});
    INFO(result.out << result.err);
    CHECK(result.code == 0);
    CHECK(result.out == "nested-ok\n");
    CHECK(result.err.find("deciding without a parent") == std::string::npos);
    std::string govrun_run;
    std::vector<std::string> echo_parents;
    for (const Record& record : ReadLog(nested)) {
      if (record.head.value("type", "") != "authorization") {
        continue;
      }
      const std::string program = record.body["request"].value("program", "");
      if (program.ends_with("/govrun")) {
        govrun_run = record.head.value("run", "");
      } else if (program.ends_with("/echo")) {
        echo_parents.push_back(record.head.value("parent", ""));
      }
    }
    // govrun (after its re-execution) executed echo: the session records that
    // exec with govrun's run as parent; the nested govrun records its own run
    // of echo with the enclosing run its environment names (the session's root).
    REQUIRE_FALSE(govrun_run.empty());
    REQUIRE(echo_parents.size() == 2);
    CHECK(std::count(echo_parents.begin(), echo_parents.end(), govrun_run) == 1);
    CHECK(std::count(echo_parents.begin(), echo_parents.end(), std::string()) == 0);
    CHECK(VerifyAndReplay(nested) == 0);
  }
  SECTION("a root that keeps a capability reaching BPF or other processes gets ptrace, or no run") {
    Fixture privileged("allow shell when program.name == \"bash\" with { capabilities = [\"sys_ptrace\"] }\n");
    const Result automatic = SessionWith(privileged, "auto", {"bash", "-c", "exit 0"});
    INFO(automatic.out << automatic.err);
    CHECK(automatic.code == 0);
    CHECK(RecordedMechanism(privileged).find("ptrace + seccomp") != std::string::npos);
    const std::string marker = privileged.Marker();
    const Result explicit_kernel = SessionWith(privileged, "kernel", {"bash", "-c", "touch " + marker});
    INFO(explicit_kernel.out << explicit_kernel.err);
    CHECK(explicit_kernel.code == 78);
    CHECK(explicit_kernel.err.find("cannot hold against a tree that keeps sys_ptrace") != std::string::npos);
    CHECK_FALSE(Exists(marker));
  }
  SECTION("the run's own seccomp filter cannot take an exec from the supervisor") {
    // The notification outranks the helper's own SECCOMP_RET_TRACE: the exec
    // is decided by the policy (allowed), recorded, and runs.
    const Result result = SessionWith(fixture, "kernel", {Helper(), "--helper", "own-trace", "/usr/bin/true", "true"});
    INFO(result.out << result.err);
    CHECK(result.code == 0);
    CHECK(result.out.find("result=") == std::string::npos);  // the exec happened: the helper's image is gone
    int true_runs = 0;
    for (const Record& record : ReadLog(fixture)) {
      if (record.head.value("type", "") == "authorization" && record.body.contains("request") &&
          record.body["request"].value("program", "") == "/usr/bin/true" && record.head.value("parent", "") != "") {
        ++true_runs;
      }
    }
    CHECK(true_runs == 1);
    CHECK(VerifyAndReplay(fixture) == 0);
  }
}

TEST_CASE("session mechanism: usage errors are 64, privilege errors 78, and run nothing", "[govrun][session][kernel]") {
  Fixture fixture(CorpusPolicy());
  const std::string marker = fixture.Marker();
  const Result bogus = SessionWith(fixture, "magic", {"touch", marker});
  CHECK(bogus.code == 64);
  CHECK(bogus.err.find("--session-mechanism must be") != std::string::npos);
  const Result alone = fixture.Run({"touch", marker}, {}, {"--session-mechanism", "kernel"});
  CHECK(alone.code == 64);
  CHECK(alone.err.find("--session-mechanism needs --session") != std::string::npos);
  RunOptions nobody;
  nobody.as_nobody = true;
  const Result unprivileged = SessionWith(fixture, "kernel", {"touch", marker}, nobody);
  INFO(unprivileged.out << unprivileged.err);
  CHECK(unprivileged.code == 78);
  CHECK(unprivileged.err.find("needs root") != std::string::npos);
  CHECK_FALSE(Exists(marker));
}

TEST_CASE("session: a denied exec fails with EACCES, is recorded with its rule and a notice names it",
          "[govrun][session]") {
  Fixture fixture(CorpusPolicy());
  const Result result = Session(fixture, {"bash", "-c", "touch " + fixture.Marker() + "; echo status=$?"});
  INFO(result.out << result.err);
  CHECK_FALSE(Exists(fixture.Marker()));
  CHECK(result.out.find("status=126") != std::string::npos);  // bash: permission denied
  CHECK(result.err.find("Permission denied") != std::string::npos);
  CHECK(result.err.find("govrun: deny by no_marker (markers are forbidden): /usr/bin/touch was not run") !=
        std::string::npos);
  bool recorded = false;
  std::string root;
  for (const Record& record : ReadLog(fixture)) {
    if (record.head.value("type", "") != "authorization") {
      continue;
    }
    if (record.head.value("parent", "").empty()) {
      root = record.head.value("run", "");
      continue;
    }
    if (record.head.value("verdict", "") == "deny") {
      recorded = true;
      CHECK(record.head.value("exec", true) == false);
      CHECK(record.head.value("parent", "") == root);
      CHECK(record.body.dump().find("no_marker") != std::string::npos);
    }
  }
  CHECK(recorded);
  CHECK(VerifyAndReplay(fixture) == 0);
}

TEST_CASE("session: allowed execs are child runs linked to the run that executed them", "[govrun][session]") {
  Fixture fixture(CorpusPolicy());
  const Result result = Session(fixture, {"bash", "-c", "/usr/bin/true; sh -c '/usr/bin/true; exit 3'; echo $?"});
  INFO(result.out << result.err);
  REQUIRE(result.code == 0);
  CHECK(result.out == "3\n");
  // run id → (program, parent)
  std::map<std::string, std::pair<std::string, std::string>> runs;
  std::map<std::string, int> starts;
  std::map<std::string, nlohmann::json> ends;
  for (const Record& record : ReadLog(fixture)) {
    const std::string type = record.head.value("type", "");
    const std::string run = record.head.value("run", "");
    if (type == "authorization") {
      runs[run] = {record.body.dump(), record.head.value("parent", "")};
    } else if (type == "start") {
      ++starts[run];
      // The supervisor's own figures: deciding, then holding the exec (which includes deciding).
      const std::int64_t decision = record.body.value("decision_ns", std::int64_t{-1});
      const std::int64_t held = record.body.value("exec_latency_ns", std::int64_t{-1});
      CHECK(decision > 0);
      CHECK(held >= decision);
      CHECK(held < std::int64_t{60} * 1000000000);
    } else if (type == "end") {
      ends[run] = record.body;
    }
  }
  // bash (root), true, sh, true inside sh.
  REQUIRE(runs.size() == 4);
  std::string root;
  std::string sh;
  for (const auto& [run, info] : runs) {
    if (info.second.empty()) {
      root = run;
    }
  }
  REQUIRE(!root.empty());
  int under_root = 0;
  for (const auto& [run, info] : runs) {
    if (info.second == root) {
      ++under_root;
      if (info.first.find("/usr/bin/dash") != std::string::npos || info.first.find("\"sh\"") != std::string::npos) {
        sh = run;
      }
    }
  }
  CHECK(under_root == 2);
  REQUIRE(!sh.empty());
  int under_sh = 0;
  for (const auto& [run, info] : runs) {
    under_sh += info.second == sh ? 1 : 0;
  }
  CHECK(under_sh == 1);
  for (const auto& [run, info] : runs) {
    CHECK(starts[run] == 1);
    REQUIRE(ends.count(run) == 1);
  }
  CHECK(ends[sh]["exit_status"] == 3);
  CHECK(ends[sh]["exited"] == true);
  CHECK(VerifyAndReplay(fixture) == 0);
}

TEST_CASE("session: an exec whose path or argument another thread changes runs only as authorized",
          "[govrun][session]") {
  // ok/prog is /usr/bin/true (allowed), nk/prog is touch (denied): the
  // flipped byte is the `o` of ok / the `n` of nk.
  Fixture fixture(
      "allow helper when program.name == \"govrun_tests\"\n"
      "allow ok when program.path == \"@DIR@/ok/prog\"\n"
      "allow toucher when program.name == \"touch\" and args == [\"@DIR@/allowed\"]\n");
  fs::create_directory(fixture.dir + "/ok");
  fs::create_directory(fixture.dir + "/nk");
  fs::copy_file("/usr/bin/true", fixture.dir + "/ok/prog");
  fs::copy_file("/usr/bin/touch", fixture.dir + "/nk/prog");
  chmod((fixture.dir + "/ok/prog").c_str(), 0755);
  chmod((fixture.dir + "/nk/prog").c_str(), 0755);
  const std::string marker = fixture.dir + "/nk/prog-ran";
  // 1,000 tries per section; sanitizer builds (several times slower per
  // exec) run 200, enough to see many mismatches killed.
#ifdef GOV_SANITIZED
  const int tries = 200;
#else
  const int tries = 1000;
#endif
  SECTION("path") {
    const std::string path = fixture.dir + "/ok/prog";
    const int index = static_cast<int>(fixture.dir.size()) + 1;
    const Result result = Session(fixture, {Helper(), "--helper", "exec-race", "path", path, marker,
                                            std::to_string(index), "o", "n", std::to_string(tries)});
    INFO(result.out << result.err.substr(0, 2000));
    REQUIRE(result.code == 0);
    CHECK_FALSE(Exists(marker));
    CHECK(result.out.find("other") == std::string::npos);
  }
  SECTION("argument") {
    // touch with argument DIR/allowed is allowed; DIR/bllowed is not.
    const std::string argument = fixture.dir + "/allowed";
    const std::string flipped = fixture.dir + "/bllowed";
    const int index = static_cast<int>(fixture.dir.size()) + 1;
    const Result result = Session(fixture, {Helper(), "--helper", "exec-race", "arg", "/usr/bin/touch", argument,
                                            std::to_string(index), "a", "b", std::to_string(tries)});
    INFO(result.out << result.err.substr(0, 2000));
    REQUIRE(result.code == 0);
    CHECK_FALSE(Exists(flipped));
    CHECK(result.out.find("other") == std::string::npos);
  }
  CHECK(VerifyAndReplay(fixture) == 0);
}

TEST_CASE("session: indirect and fileless execs are decided by what actually runs", "[govrun][session]") {
  Fixture fixture(
      "allow helper when program.name == \"govrun_tests\"\n"
      "allow shells when program.name in {\"bash\", \"sh\", \"dash\"}\n"
      "allow script when program.name == \"script.sh\"\n"
      "allow true_by_content when program.sha256 == \"" +
      Sha256OfFile("/usr/bin/true") + "\"\n");
  const std::string helper = Helper();
  // Allowed by content whichever way it is reached.
  for (const char* way : {"exec-memfd", "exec-procfd", "exec-at-empty", "exec-thread"}) {
    INFO(way);
    const Result result = Session(fixture, {helper, "--helper", way, "/usr/bin/true", "true"});
    INFO(result.out << result.err);
    CHECK(result.code == 0);
  }
  // A script: the policy sees the script, and its interpreter runs it.
  WriteText(fixture.dir + "/script.sh", "#!/bin/sh\nexit 7\n", 0755);
  const Result script = Session(fixture, {"bash", "-c", fixture.dir + "/script.sh; echo $?"});
  INFO(script.out << script.err);
  CHECK(script.out == "7\n");
  // The dynamic loader as a program is refused (what it would load is never decided).
  const Result loader = Session(fixture, {"bash", "-c", "/lib64/ld-linux-x86-64.so.2 /usr/bin/true; echo $?"});
  INFO(loader.out << loader.err);
  CHECK(loader.out == "126\n");
  CHECK(loader.err.find("the dynamic loader as a program") != std::string::npos);
  CHECK(VerifyAndReplay(fixture) == 0);
}

TEST_CASE("session: when the supervisor is killed, the whole tree dies", "[govrun][session][failclosed]") {
  Fixture fixture(BashAndTouchPolicy());
  // A child of the root (no PR_SET_PDEATHSIG of its own) waits with builtins
  // only for a go file, then executes touch at once (which must fail: no
  // exec is authorized once govrun is gone) and, a second later, would write
  // a marker with a builtin (the tree must be dead by then; the kernel
  // mechanism kills it when the namespace's init has run, a scheduling delay
  // after govrun's death, not in the same instant).
  const std::string go = fixture.dir + "/go";
  const std::string ready = fixture.dir + "/ready";
  const std::string survived = fixture.dir + "/survived";
  const std::string pause = fixture.dir + "/pause";
  REQUIRE(mkfifo(pause.c_str(), 0600) == 0);
  const std::string script = "( : > " + ready + "; while [ ! -e " + go + " ]; do :; done; /usr/bin/touch " +
                             fixture.Marker() + "; read -t 1 <> " + pause + "; : > " + survived + " ) & wait";
  std::vector<std::string> argv = {
      Govrun(), "--session", "--session-mechanism", SessionMechanism(), "--config", fixture.config, "--", "bash",
      "-c",     script};
  const Started started = StartProcess(argv, fixture.dir);
  REQUIRE(WaitForFile(ready));
  REQUIRE(kill(started.pid, SIGKILL) == 0);
  int status = 0;
  waitpid(started.pid, &status, 0);
  WriteText(go, "");
  // Bounded wait (past the builtin's second) for markers that must never come.
  for (int i = 0; i < 30 && !Exists(fixture.Marker()) && !Exists(survived); ++i) {
    usleep(100000);
  }
  CHECK_FALSE(Exists(survived));
  CHECK_FALSE(Exists(fixture.Marker()));
}

TEST_CASE("session: when lineage cannot be written, execs are denied", "[govrun][session][failclosed]") {
  Fixture fixture(BashAndTouchPolicy());
  fixture.WriteConfig(ReadText(fixture.config) + "lineage_lock_timeout = \"300ms\"\n");
  const std::string go = fixture.dir + "/go";
  const Started started = StartTouchOnGo(fixture, go);
  // Another process holds the log's lock: no authorization can be recorded.
  const int log = open((fixture.dir + "/lineage/lineage.log").c_str(), O_RDONLY | O_CLOEXEC);
  REQUIRE(log >= 0);
  REQUIRE(flock(log, LOCK_EX) == 0);
  WriteText(go, "");
  const Result result = Finish(started);
  flock(log, LOCK_UN);
  close(log);
  INFO(result.out << result.err);
  CHECK_FALSE(Exists(fixture.Marker()));
  CHECK(result.out.find("status=126") != std::string::npos);
  CHECK(result.err.find("cannot record the authorization") != std::string::npos);
  CHECK(result.code == 74);
}

#ifdef GOV_GATED_FS
// gated_fs (gated_fs.c) mounted over `backing` at `mount`, its fsyncs held
// or failed through files in `control`; unmounted when destroyed.
class GatedMount {
 public:
  GatedMount(const std::string& backing, const std::string& mount, const std::string& control) : mount_(mount) {
    fs::create_directories(mount);
    fs::create_directories(control);
    struct stat before {};
    REQUIRE(stat(mount.c_str(), &before) == 0);
    started_ = StartProcess({GOV_GATED_FS, backing, mount, control}, control);
    // Bounded: up to 10 s for the mount (another device) to appear.
    bool mounted = false;
    for (int i = 0; i < 1000 && !mounted; ++i) {
      struct stat now {};
      mounted = stat(mount.c_str(), &now) == 0 && now.st_dev != before.st_dev;
      if (!mounted) usleep(10000);
    }
    REQUIRE(mounted);
  }
  ~GatedMount() {
    umount2(mount_.c_str(), MNT_DETACH);
    kill(started_.pid, SIGTERM);
    Finish(started_);
  }
  GatedMount(const GatedMount&) = delete;
  GatedMount& operator=(const GatedMount&) = delete;

 private:
  std::string mount_;
  Started started_;
};
#endif

TEST_CASE("session: a new image runs nothing before its authorization is durable, and dies when the sync fails",
          "[govrun][session][failclosed]") {
#ifndef GOV_GATED_FS
  FAIL("tests/govrun/gated_fs was not built: libfuse3-dev is missing (gov.sh test installs it)");
#else
  Fixture fixture(BashAndTouchPolicy());
  const std::string control = fixture.dir + "/control";
  const GatedMount gated(fixture.dir + "/lineage", fixture.dir + "/lineage-gated", control);
  fixture.WriteConfig(
      Replace(ReadText(fixture.config), "lineage_dir = \"lineage\"", "lineage_dir = \"lineage-gated\""));
  const std::string go = fixture.dir + "/go";
  const Started started = StartTouchOnGo(fixture, go);
  // The next sync — touch's authorization — waits until the test lets it go.
  WriteText(control + "/hold", "");
  WriteText(go, "");
  REQUIRE(WaitForFile(control + "/held"));
  usleep(300000);
  CHECK_FALSE(Exists(fixture.Marker()));  // however far its exec got, touch has not run
  // The disk fails the sync: touch never runs.
  WriteText(control + "/fail", "");
  REQUIRE(unlink((control + "/hold").c_str()) == 0);
  const Result result = Finish(started);
  INFO(result.out << result.err);
  CHECK_FALSE(Exists(fixture.Marker()));
  CHECK(result.code == 74);
  CHECK(result.err.find("fdatasync failed") != std::string::npos);
  // Its run is recorded as not run: refused before its exec, or killed at
  // its exec stop (`killed_by: "lineage"`).
  std::string touch_run;
  std::string outcome;
  for (const Record& record : ReadLog(fixture)) {
    const std::string type = record.head.value("type", "");
    if (type == "authorization" && record.body.dump().find("/usr/bin/touch") != std::string::npos) {
      touch_run = record.head.value("run", "");
    } else if (type == "end" && !touch_run.empty() && record.head.value("run", "") == touch_run) {
      outcome = record.body.value("killed_by", "") + "|" + record.body.value("exec_error", "");
    }
  }
  CAPTURE(outcome);
  CHECK((outcome == "lineage|" || outcome.find("|not run: cannot make its authorization durable") == 0));
#endif
}

TEST_CASE(
    "session: a process id that another thread's exec took over is never taken as held: its exec waits for its sync",
    "[govrun][session][failclosed]") {
#ifndef GOV_GATED_FS
  FAIL("tests/govrun/gated_fs was not built: libfuse3-dev is missing (gov.sh test installs it)");
#else
  Fixture fixture(
      "allow tools when program.name in {\"govrun_tests\", \"sh\", \"dash\", \"touch\"} because \"tools\"\n");
  const std::string control = fixture.dir + "/control";
  const GatedMount gated(fixture.dir + "/lineage", fixture.dir + "/lineage-gated", control);
  fixture.WriteConfig(
      Replace(ReadText(fixture.config), "lineage_dir = \"lineage\"", "lineage_dir = \"lineage-gated\""));
  const std::string go = fixture.dir + "/go";
  const std::string ready = fixture.dir + "/ready";
  // The helper (a child of the root: the root is never held) execs sh with
  // a refused argument (held, then the kernel's E2BIG), its leader ends, and
  // its thread execs sh, which takes the leader's id and execs touch once
  // `go` exists.
  const std::string script =
      ": > " + ready + "; while [ ! -e " + go + " ]; do :; done; exec /usr/bin/touch " + fixture.Marker();
  const Started started = StartProcess(
      {Govrun(), "--session", "--session-mechanism", SessionMechanism(), "--config", fixture.config, "--", "/bin/sh",
       "-c", "'" + Helper() + "' --helper leader-gone-after-failed-exec /bin/sh sh -c '" + script + "'; true"},
      fixture.dir);
  REQUIRE(WaitForFile(ready));
  WriteText(control + "/hold", "");
  WriteText(go, "");
  REQUIRE(WaitForFile(control + "/held"));
  usleep(300000);
  CHECK_FALSE(Exists(fixture.Marker()));  // touch waits for its sync
  REQUIRE(unlink((control + "/hold").c_str()) == 0);
  const Result result = Finish(started);
  INFO(result.out << result.err);
  CHECK(Exists(fixture.Marker()));  // and runs once it is durable
  CHECK(result.code == 0);
#endif
}

TEST_CASE("session: no process becomes the supervisor's own child (clone(CLONE_PARENT) is refused)",
          "[govrun][session]") {
  // The root itself tries: its sibling would be govrun's child, which the
  // kernel mechanism never reaps (the namespace's dying init would wait for
  // it forever). A child of the root tries too.
  Fixture fixture(CorpusPolicy());
  const Result root = Session(fixture, {Helper(), "--helper", "clone-parent"});
  INFO(root.out << root.err);
  CHECK(root.out == "clone(CLONE_PARENT): Operation not permitted\n");
  CHECK(root.code == 0);
  const Result child = Session(fixture, {"bash", "-c", "'" + Helper() + "' --helper clone-parent; true"});
  INFO(child.out << child.err);
  CHECK(child.out == "clone(CLONE_PARENT): Operation not permitted\n");
  CHECK(child.code == 0);
}

TEST_CASE("session: an allowed exec the kernel then refuses (E2BIG) fails in its caller, which goes on",
          "[govrun][session]") {
  // The kernel mechanism holds the calling thread for its exec stop, which
  // never comes: the thread returns to its old image, which must go on.
  Fixture fixture(CorpusPolicy());
  const Result result = Session(
      fixture, {"bash", "-c",
                "big=$(printf '%*s' 200000 ''); for i in 1 2 3; do /usr/bin/true \"$big\"; echo status=$?; done; "
                "/usr/bin/true; echo after=$?"});
  INFO(result.out << result.err);
  CHECK(result.code == 0);
  CHECK(result.out == "status=126\nstatus=126\nstatus=126\nafter=0\n");
  CHECK(result.err.find("Argument list too long") != std::string::npos);
  int failed = 0;
  for (const Record& record : ReadLog(fixture)) {
    if (record.head.value("type", "") == "end" && !record.body.value("exec_error", "").empty()) {
      ++failed;
    }
  }
  CHECK(failed == 3);
}

TEST_CASE("session: when the policy bundle changes on disk, no further exec runs (drift)",
          "[govrun][session][failclosed]") {
  const bool stop_session = GENERATE(false, true);
  CAPTURE(stop_session);
  Fixture fixture(CorpusPolicy());
  if (stop_session) {
    fixture.WriteConfig(ReadText(fixture.config) + "session_drift = \"stop-session\"\n");
  }
  const std::string go = fixture.dir + "/go";
  const std::string ready = fixture.dir + "/ready";
  const std::string script = "/usr/bin/true; echo first=$?; : > " + ready + "; while [ ! -e " + go +
                             " ]; do :; done; /usr/bin/true; echo second=$?";
  std::vector<std::string> argv = {
      Govrun(), "--session", "--session-mechanism", SessionMechanism(), "--config", fixture.config, "--", "bash",
      "-c",     script};
  const Started started = StartProcess(argv, fixture.dir);
  REQUIRE(WaitForFile(ready));
  // The same bytes written again: a new ctime is change enough.
  const std::string bundle = ReadText(fixture.dir + "/p.govb");
  WriteText(fixture.dir + "/p.govb", bundle);
  WriteText(go, "");
  const Result result = Finish(started);
  INFO(result.out << result.err);
  CHECK(result.out.find("first=0") != std::string::npos);
  CHECK(result.err.find("drift: ") != std::string::npos);
  CHECK(result.err.find("p.govb changed on disk during the session") != std::string::npos);
  if (stop_session) {
    // The whole session ends at the first exec after the change.
    CHECK(result.out.find("second=") == std::string::npos);
    CHECK(result.code == 128 + SIGKILL);
    CHECK(result.err.find("drift: the session was stopped") != std::string::npos);
    std::string root_killed_by;
    for (const Record& record : ReadLog(fixture)) {
      if (record.head.value("type", "") == "end" && record.body.value("killed_by", "") == "drift") {
        root_killed_by = "drift";
      }
    }
    CHECK(root_killed_by == "drift");
  } else {
    CHECK(result.out.find("second=126") != std::string::npos);
    CHECK(result.code == 0);
  }
}

// How the test changes a running script: not at all, with write(2), or
// through a shared writable mapping (no inotify event; ctime changes).
enum class ScriptChange { kNone, kWrite, kMapping };

TEST_CASE("session: a script changed while it runs is stopped before its new code executes anything",
          "[govrun][session][failclosed]") {
  const auto [change, name] = GENERATE(table<ScriptChange, const char*>(
      {{ScriptChange::kNone, "unchanged"}, {ScriptChange::kWrite, "write"}, {ScriptChange::kMapping, "mapping"}}));
  DYNAMIC_SECTION(name) {
    Fixture fixture(CorpusPolicy() +
                    "allow scripts when program.name == \"script.sh\" because \"the test's script\"\n");
    const std::string marker = fixture.Marker();
    const std::string ready = fixture.dir + "/ready";
    const std::string go = fixture.dir + "/go";
    const std::string script = fixture.dir + "/script.sh";
    // The line the change writes over the placeholder (same length): an
    // allowed exec that makes the marker.
    const std::string payload = "/bin/sh -c ': > " + marker + "'";
    std::string placeholder = ":";
    placeholder.resize(payload.size(), ' ');
    // bash reads its script through a buffer it drops before each fork, so
    // the lines after the loop are read again from the file.
    const std::string before = "#!/bin/bash\n: > " + ready + "\nwhile [ ! -e " + go + " ]; do sleep 0.01; done\n";
    WriteText(script, before + (change == ScriptChange::kNone ? payload : placeholder) + "\necho finished\n", 0755);
    const Started started = StartProcess({Govrun(), "--session", "--session-mechanism", SessionMechanism(), "--config",
                                          fixture.config, "--", "bash", "-c", script + "; echo status=$?"},
                                         fixture.dir);
    if (!WaitForFile(ready)) {
      WriteText(go, "");
      const Result failed = Finish(started);
      FAIL("the script did not start: " << failed.out << failed.err);
    }
    if (change == ScriptChange::kWrite) {
      const int fd = open(script.c_str(), O_WRONLY | O_CLOEXEC);
      REQUIRE(fd >= 0);
      REQUIRE(pwrite(fd, payload.data(), payload.size(), static_cast<off_t>(before.size())) ==
              static_cast<ssize_t>(payload.size()));
      close(fd);
    } else if (change == ScriptChange::kMapping) {
      const int fd = open(script.c_str(), O_RDWR | O_CLOEXEC);
      REQUIRE(fd >= 0);
      const std::size_t size = before.size() + payload.size();
      void* map = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
      REQUIRE(map != MAP_FAILED);
      close(fd);
      std::memcpy(static_cast<char*>(map) + before.size(), payload.data(), payload.size());
      munmap(map, size);
    }
    if (change != ScriptChange::kNone) {
      // The loop's next `sleep` is an exec after the change: the session
      // stops the script there. (Ending the loop at once instead raced on a
      // loaded machine: bash, stalled between writing `ready` and its first
      // test of `go`, left the loop without a fork and ran the old bytes it
      // had buffered — builtins only, so nothing was stopped.) `go` is made
      // only if the script is still running after 10 s, so that the
      // assertions below fail instead of the test hanging.
      if (!WaitForText(started.out_path, "status=")) WriteText(go, "");
    } else {
      WriteText(go, "");
    }
    const Result result = Finish(started);
    INFO(result.out << result.err);
    REQUIRE(result.code == 0);
    int drift_ends = 0;
    for (const Record& record : ReadLog(fixture)) {
      if (record.head.value("type", "") == "end" && record.body.value("killed_by", "") == "drift") {
        ++drift_ends;
      }
    }
    if (change == ScriptChange::kNone) {
      CHECK(Exists(marker));
      CHECK(result.out.find("finished\nstatus=0\n") != std::string::npos);
      CHECK(drift_ends == 0);
    } else {
      CHECK_FALSE(Exists(marker));
      CHECK(result.out.find("status=137") != std::string::npos);
      CHECK(result.err.find("drift: the script " + script) != std::string::npos);
      CHECK(drift_ends == 1);
    }
    CHECK(VerifyAndReplay(fixture) == 0);
  }
}

TEST_CASE("session: obligations of a child's rule that cannot bind one process deny it", "[govrun][session]") {
  Fixture fixture(
      "allow shells when program.name in {\"bash\", \"sh\", \"dash\", \"env\"}\n"
      "allow offline when program.name == \"true\" with { network = none }\n"
      "allow quick when program.name == \"sleep\" with { timeout = 300ms }\n"
      "allow cat_env when program.name == \"cat\" with { env = [\"PATH\"] }\n");
  // network = none for one process while the session root has the network: denied, with the reason.
  const Result offline = Session(fixture, {"bash", "-c", "/usr/bin/true; echo $?"});
  INFO(offline.out << offline.err);
  CHECK(offline.out == "126\n");
  CHECK(offline.err.find("obligation network cannot be applied") != std::string::npos);
  // timeout binds a child: the supervisor stops it.
  const Result quick = Session(fixture, {"bash", "-c", "sleep 30; echo $?"});
  INFO(quick.out << quick.err);
  CHECK(quick.out == "143\n");  // SIGTERM
  CHECK(quick.err.find("exceeded its timeout") != std::string::npos);
  // env holds only when the child's environment has no other names.
  const Result env = Session(fixture, {"bash", "-c", "cat /dev/null; echo $?"});
  INFO(env.out << env.err);
  CHECK(env.out == "126\n");
  CHECK(env.err.find("obligation env") != std::string::npos);
  // ... except the variables govrun itself sets for nested runs (GOV_RUN_ID, GOV_RUN_RECORD).
  const Result listed = Session(
      fixture,
      {"bash", "-c",
       "[ -n \"$GOV_RUN_ID\" ] && [ -n \"$GOV_RUN_RECORD\" ] || exit 9; "
       "env -i PATH=/usr/bin:/bin GOV_RUN_ID=$GOV_RUN_ID GOV_RUN_RECORD=$GOV_RUN_RECORD cat /dev/null; echo $?; "
       "env -i PATH=/usr/bin:/bin GOV_RUN_ID=$GOV_RUN_ID X=1 cat /dev/null; echo $?"});
  INFO(listed.out << listed.err);
  CHECK(listed.out == "0\n126\n");
  CHECK(VerifyAndReplay(fixture) == 0);
}

// Both mechanisms (ctest runs this file once more with ptrace): the kernel's
// BPF program, or the ptrace supervisor at the call's seccomp stop.
TEST_CASE("session: executable memory from a file written in the session: the process dies before it has it",
          "[govrun][session]") {
  Fixture fixture(CorpusPolicy());
  const std::string helper = Helper();
  const std::string fresh = fixture.dir + "/fresh.so";
  for (const std::string how : {"mmap", "mprotect"}) {
    // An old file maps; a copy written in the session does not, and its run is stopped (drift).
    const Result result =
        Session(fixture, {"bash", "-c",
                          helper + " --helper map-exec /usr/bin/true " + how + "; echo old=$?; cat /usr/bin/true > " +
                              fresh + "; " + helper + " --helper map-exec " + fresh + " " + how + "; echo fresh=$?"});
    INFO(how << " (" << RecordedMechanism(fixture) << "): " << result.out << result.err);
    CHECK(result.out.find("mapped\nold=0\n") == 0);
    CHECK(result.out.find("fresh=137") != std::string::npos);
    CHECK(result.out.find("mapped\nfresh") == std::string::npos);
    CHECK(result.err.find("mapped executable memory from a file written in the session") != std::string::npos);
  }
  CHECK(VerifyAndReplay(fixture) == 0);
  // The compat entry (int 0x80) is read by neither mechanism: refused.
  const Result outside = RunProcess({helper, "--helper", "map-exec-compat", "/usr/bin/true"}, fixture.dir);
  if (outside.out != "compat=1\n") {
    WARN("no compat (i386) system calls on this kernel: " << outside.out << outside.err);
    return;
  }
  const Result compat = Session(fixture, {helper, "--helper", "map-exec-compat", "/usr/bin/true"});
  INFO(compat.out << compat.err);
  CHECK(compat.out == "compat=-1\n");  // EPERM
}

TEST_CASE("session: a policy can refuse programs the session wrote (program.written_in_session)", "[govrun][session]") {
  Fixture fixture(
      "allow installed when not program.written_in_session because \"written before the session\"\n"
      "deny fresh_binaries when program.written_in_session because \"not run: written during this session\"\n");
  const std::string dir = fixture.dir;
  // Each denied program would make its marker.
  const std::string copied = dir + "/copied-ran";
  const std::string scripted = dir + "/script-ran";
  const std::string backdated = dir + "/backdated-ran";
  std::string script;
  for (const std::string& line : {
           "cp /usr/bin/touch " + dir + "/t; " + dir + "/t " + copied + "; echo copied=$?",
           std::string("/bin/true; echo true=$?"),
           "printf '#!/bin/sh\\n/usr/bin/touch " + scripted + "\\n' > " + dir + "/s.sh",
           "chmod +x " + dir + "/s.sh; " + dir + "/s.sh; echo script=$?",
           "cp /usr/bin/touch " + dir + "/old; touch -d 2000-01-01 " + dir + "/old",
           dir + "/old " + backdated + "; echo backdated=$?",
       }) {
    script += line + "\n";
  }
  const Result result = Session(fixture, {"bash", "-c", script});
  INFO(result.out << result.err);
  CHECK(result.code == 0);
  CHECK(result.out.find("copied=126") != std::string::npos);
  CHECK(result.out.find("true=0") != std::string::npos);
  CHECK(result.out.find("script=126") != std::string::npos);
  // touch -d set the copy's mtime back; its ctime says when it was written.
  CHECK(result.out.find("backdated=126") != std::string::npos);
  CHECK_FALSE(Exists(copied));
  CHECK_FALSE(Exists(scripted));
  CHECK_FALSE(Exists(backdated));
  CHECK(result.err.find("govrun: deny by fresh_binaries (not run: written during this session): " + dir +
                        "/t was not run") != std::string::npos);
  CHECK(result.err.find(dir + "/s.sh was not run") != std::string::npos);
  CHECK(result.err.find(dir + "/old was not run") != std::string::npos);
  // The records carry the field as the policy saw it, and replay reproduces every decision.
  std::map<std::string, std::pair<bool, std::string>> seen;  // program → (written_in_session, verdict)
  for (const Record& record : ReadLog(fixture)) {
    if (record.head.value("type", "") == "authorization" && !record.head.value("parent", "").empty()) {
      const nlohmann::json& request = record.body["request"];
      seen[request["program"].get<std::string>()] = {request["written_in_session"].get<bool>(),
                                                     record.head.value("verdict", "")};
    }
  }
  using Seen = std::pair<bool, std::string>;
  CHECK(seen[dir + "/t"] == Seen{true, "deny"});
  CHECK(seen[dir + "/s.sh"] == Seen{true, "deny"});
  CHECK(seen[dir + "/old"] == Seen{true, "deny"});
  CHECK(seen[gov::exec::ResolveProgram("/bin/true", "", false).value().file.path] == Seen{false, "allow"});
  CHECK(seen[gov::exec::ResolveProgram("/usr/bin/touch", "", false).value().file.path] == Seen{false, "allow"});
  CHECK(VerifyAndReplay(fixture) == 0);

  // Outside a session the same file is not "written in the session": a one-shot run runs it.
  const std::string one_shot = dir + "/one-shot-ran";
  const Result direct = fixture.Run({dir + "/t", one_shot});
  INFO(direct.out << direct.err);
  CHECK(direct.code == 0);
  CHECK(Exists(one_shot));
  bool recorded = false;
  for (const Record& record : ReadLog(fixture)) {
    if (record.head.value("type", "") == "authorization" && record.head.value("parent", "").empty() &&
        record.body["request"]["program"] == dir + "/t") {
      recorded = true;
      CHECK(record.body["request"]["written_in_session"] == false);
      CHECK(record.head.value("verdict", "") == "allow");
    }
  }
  CHECK(recorded);
  CHECK(VerifyAndReplay(fixture) == 0);
}

}  // namespace gov_test

namespace gov_test {

TEST_CASE("ChangedSince: the file that runs or a script's interpreter, by ctime", "[govrun][session]") {
  gov::exec::Program program;
  program.file.st.st_ctim = timespec{100, 500};
  CHECK(gov::exec::ChangedSince(program, timespec{100, 500}));  // at the start counts
  CHECK(gov::exec::ChangedSince(program, timespec{99, 999999999}));
  CHECK_FALSE(gov::exec::ChangedSince(program, timespec{100, 501}));
  CHECK_FALSE(gov::exec::ChangedSince(program, timespec{101, 0}));
  // A script: the script or its interpreter.
  program.is_script = true;
  program.interpreter.st.st_ctim = timespec{200, 0};
  CHECK(gov::exec::ChangedSince(program, timespec{150, 0}));
  program.interpreter.st.st_ctim = timespec{50, 0};
  CHECK_FALSE(gov::exec::ChangedSince(program, timespec{150, 0}));
  CHECK(gov::exec::ChangedSince(program, timespec{100, 0}));
  // Not a script: the interpreter's state is not looked at.
  program.is_script = false;
  program.interpreter.st.st_ctim = timespec{200, 0};
  CHECK_FALSE(gov::exec::ChangedSince(program, timespec{150, 0}));
}

TEST_CASE("session::StartTime: a file changed after it never has an earlier ctime", "[govrun][session]") {
  char pattern[] = "/tmp/written-since-XXXXXX";
  REQUIRE(mkdtemp(pattern) != nullptr);
  const std::string file = std::string(pattern) + "/f";
  // The kernel stamps ctime from its coarse clock, truncated to the file
  // system's granularity: the start must never lie after such a stamp.
  for (int i = 0; i < 200; ++i) {
    const timespec start = gov::session::StartTime();
    CHECK(start.tv_nsec == 0);
    WriteText(file, std::to_string(i), 0755);
    auto resolved = gov::exec::ResolveProgram(file, "", false);
    REQUIRE(resolved.ok());
    INFO("start " << start.tv_sec << " ctime " << resolved.value().file.st.st_ctim.tv_sec << "."
                  << resolved.value().file.st.st_ctim.tv_nsec);
    REQUIRE(gov::exec::ChangedSince(resolved.value(), start));
  }
  std::error_code ignored;
  fs::remove_all(pattern, ignored);
}

TEST_CASE("DigestCache: a digest is reused only for a file in the very state it was hashed in", "[govrun][session]") {
  char pattern[] = "/tmp/digest-cache-XXXXXX";
  REQUIRE(mkdtemp(pattern) != nullptr);
  const std::string file = std::string(pattern) + "/f";
  WriteText(file, "one", 0755);
  struct stat st {};
  REQUIRE(stat(file.c_str(), &st) == 0);
  gov::exec::DigestCache cache;
  timespec now{};
  clock_gettime(CLOCK_REALTIME, &now);
  // Changed within the last second: never remembered.
  cache.Add(st, "sha256:one", now);
  CHECK(cache.Find(st) == nullptr);
  // Hashed well after its last change: remembered for that state only.
  timespec later = now;
  later.tv_sec += 5;
  cache.Add(st, "sha256:one", later);
  REQUIRE(cache.Find(st) != nullptr);
  CHECK(*cache.Find(st) == "sha256:one");
  usleep(20000);
  WriteText(file, "two", 0755);  // an in-place rewrite: new size, mtime and ctime
  struct stat changed {};
  REQUIRE(stat(file.c_str(), &changed) == 0);
  CHECK(cache.Find(changed) == nullptr);
  std::error_code ignored;
  fs::remove_all(pattern, ignored);
}

}  // namespace gov_test
