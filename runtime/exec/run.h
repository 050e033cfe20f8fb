// Starting and supervising the governed program. The child is created with
// clone(CLONE_VM) on its own small stack — no copy of govrun's page tables,
// no copy-on-write faults in govrun afterwards — and runs only raw system
// calls on data prepared before the clone (no libc state, no malloc, no
// errno): its own session, tied to govrun's life (PR_SET_PDEATHSIG), the
// sandbox (rlimits, capabilities, no_new_privs, Landlock, seccomp), then it
// waits for Go() before it executes the very descriptor that was hashed
// (execveat AT_EMPTY_PATH) — so govrun can record the authorization and the
// start and check for a pending termination signal before anything runs.
// The start signal is a futex word in an anonymous shared mapping that only
// govrun and the child map: no descriptor or name exists that another
// process could open to start the child early (and govrun is not dumpable,
// so /proc/<govrun>/mem is closed to others of its user too). When the run
// has a cgroup v2, the child is born in it (clone3 CLONE_INTO_CGROUP); v1
// cgroups are joined before Go(). A sandbox that needs namespaces
// (network = loopback) is applied in a forked child instead, since
// unshare(CLONE_NEWUSER) refuses a shared address space. govrun stays the
// parent: it forwards signals to the child's process group, enforces the
// timeout (SIGTERM to every process of the run, SIGKILL after the grace
// period), and reaps the whole tree (it is a child subreaper).
#pragma once

#include <signal.h>
#include <sys/resource.h>
#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "runtime/exec/exit_codes.h"
#include "runtime/exec/program.h"
#include "runtime/exec/sandbox.h"

namespace gov::exec {

// Signals govrun forwards to the child's process group.
inline constexpr int kForwardedSignals[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH};

// Call first thing in main: opens /dev/null on a closed descriptor 0, 1 or 2
// (so govrun's own files never become the program's stdio), blocks the
// forwarded signals and SIGCHLD (so a signal arriving before exec is seen and
// the program is not started), makes this process a child subreaper, ignores
// SIGPIPE, and notes the descriptors inherited without close-on-exec (the
// only ones passed on to the program besides 0-2).
void PrepareSupervisor();

// The first terminating signal (SIGINT, SIGTERM, SIGHUP, SIGQUIT) pending
// for govrun, consumed; 0 if none.
int TakePendingTermination();

// What to run.
struct LaunchSpec {
  const Program* program = nullptr;
  std::vector<std::string> argv;  // argv[0] as the user typed it
  std::vector<std::string> envp;  // "NAME=value"
  // An entry of `envp` ("NAME=" + 16 characters) whose value is only known
  // at Go(): the child writes Go()'s value there as 16 hex digits. Empty: none.
  std::string late_env_name;
  const Sandbox* sandbox = nullptr;
};

// A started child waiting for Go().
class Child {
 public:
  Child() = default;
  Child(Child&&) noexcept;
  Child& operator=(Child&&) noexcept;
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;
  ~Child();

  pid_t pid() const { return pid_; }

  // Lets the child execute and waits until it has: ok, or the Failure of
  // the sandbox step or exec (kExitNotFound, kExitNotExecutable,
  // kExitConfig for an obligation the kernel refused, kExitInternal). After
  // a failure the child has exited and is reaped. `late_value` fills the
  // LaunchSpec's late_env_name entry.
  Outcome<bool> Go(std::uint64_t late_value = 0, bool wait = true);
  // With Go(late_value, /*wait=*/false) (a traced session root, whose exec
  // stops for the supervisor): the rest of Go() once the supervisor saw
  // the child execute or end.
  Outcome<bool> FinishGo();
  // A traced session root (Sandbox::ChildSteps::traced): waits until it has
  // applied its sandbox and made itself attachable; its failure otherwise.
  Outcome<bool> WaitReady();
  // After WaitReady(), a session root of the kernel mechanism: a descriptor
  // of the listener of its seccomp filter (close-on-exec; the child closes
  // its own before it executes).
  Outcome<int> TakeListener() const;
  // Kills the child before it executed anything and reaps it. Also done by
  // the destructor when neither Go() nor Abort() ran.
  void Abort();
  // The argv the child will pass to execveat (for a script: interpreter,
  // its argument, /dev/fd/N, the arguments). Before Go() only.
  std::vector<std::string> ExecArgv() const;
  // True when the child was created inside the run's cgroup v2.
  bool born_in_cgroup() const { return born_in_cgroup_; }

  // What the child reads (argv, envp, descriptors, sandbox steps, expected
  // file states): allocated before the clone and freed only once the child
  // has executed or is gone, since it shares this memory.
  struct Plan;

 private:
  friend Outcome<Child> Spawn(const LaunchSpec& spec);
  void Release();
  pid_t pid_ = -1;
  int status_fd_ = -1;  // read end: EOF on successful exec, else an error report
  bool born_in_cgroup_ = false;
  std::unique_ptr<Plan> plan_;
  void* stack_ = nullptr;  // the child's stack (mmap), CLONE_VM children only
  std::size_t stack_size_ = 0;
  void* go_page_ = nullptr;  // MAP_SHARED page holding the start word
};

// Starts the child (see the file comment). kExitInternal on clone/pipe failures.
Outcome<Child> Spawn(const LaunchSpec& spec);

// Ends the whole run when destroyed — SIGKILL to the program's process
// group, every descendant of govrun and every process in the run's cgroups,
// until none is left — unless disarmed. Guards every way out of govrun once
// the program may run (an exception, an early return).
class RunKiller {
 public:
  RunKiller(pid_t group, const Sandbox& sandbox) : group_(group), sandbox_(&sandbox) {}
  RunKiller(const RunKiller&) = delete;
  RunKiller& operator=(const RunKiller&) = delete;
  ~RunKiller();
  void Disarm() { sandbox_ = nullptr; }

 private:
  pid_t group_;
  const Sandbox* sandbox_;
};

// Supervision settings.
struct SuperviseOptions {
  std::int64_t timeout_ms = 0;        // 0: none
  std::int64_t kill_grace_ms = 2000;  // SIGTERM → SIGKILL
};

// How the run ended.
struct RunResult {
  bool exited = false;
  int exit_status = 0;
  int signal = 0;
  std::string killed_by;  // "" | "timeout" | "memory" | "govrun-signal"
  struct rusage usage {};
  std::int64_t duration_ns = 0;
  int leftover_killed = 0;  // processes still alive after the program ended, killed
  // govrun's exit code for this result: the status, or 128+signal.
  int ExitCode() const { return exited ? exit_status : 128 + signal; }
};

// Supervises a started child until it and every process it left behind are
// gone. `started_ns` is CLOCK_MONOTONIC at start.
RunResult Supervise(const Child& child, const Sandbox& sandbox, const SuperviseOptions& options,
                    std::int64_t started_ns);

// CLOCK_MONOTONIC and CLOCK_REALTIME in nanoseconds.
std::int64_t MonotonicNs();
std::int64_t RealtimeNs();

}  // namespace gov::exec
