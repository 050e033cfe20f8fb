// Enforcing a decision's obligations with kernel mechanisms. Planned in the
// parent before anything runs (so an obligation this kernel cannot enforce
// is refused with kExitConfig before exec), then applied in the child just
// before it executes (run.h; raw system calls on StepsForChild(), or
// ApplyInChild() in a forked child when namespaces are needed):
//   memory      cgroup v2 memory.max, else cgroup v1 memory.limit_in_bytes, else RLIMIT_AS
//   processes   cgroup v2 pids.max, else cgroup v1 pids.max, else RLIMIT_NPROC
//               (refused when RLIMIT_NPROC would not bind: CAP_SYS_RESOURCE/CAP_SYS_ADMIN)
//   read/write  one Landlock ruleset (filesystem access rights)
//   network     none: seccomp filter allowing only AF_UNIX sockets and no io_uring;
//               loopback: a new network namespace whose only interface is `lo`
//   always      no_new_privs; a seccomp filter refusing TIOCSTI/TIOCLINUX ioctls
// `timeout` is enforced by the supervisor (run.h); `env` by env.h.
#pragma once

#include <linux/filter.h>
#include <sys/resource.h>
#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "runtime/exec/exit_codes.h"
#include "runtime/ir/ir.h"
#include "runtime/lineage/recorder.h"

namespace gov::exec {

// Inputs besides the obligations.
struct SandboxOptions {
  // Names the per-run cgroups (gov-<run_id>).
  std::string run_id;
  // Files the program needs to start that `read` must not hide: the program
  // itself and a script's interpreter (read access only, file rules).
  std::vector<std::string> program_files;
};

// A planned sandbox. Move-only; removes the cgroups it created when destroyed.
class Sandbox {
 public:
  // Checks every obligation against this kernel and prepares what can be
  // prepared in the parent (cgroups, the Landlock ruleset, the seccomp
  // program). kExitConfig with the obligation's name and the reason when one
  // cannot be enforced; nothing is left behind on failure.
  static Outcome<Sandbox> Plan(const ir::Obligations& obligations, const SandboxOptions& options);

  Sandbox(Sandbox&&) noexcept;
  Sandbox& operator=(Sandbox&&) noexcept;
  ~Sandbox();

  // How each obligation is enforced (for the Start record and --explain).
  const std::vector<lineage::EnforcedLimit>& limits() const;

  // In the parent, right after fork: moves `pid` into the run's cgroups.
  ErrorOr<void> AdoptChild(pid_t pid) const;

  // In the child after fork (single-threaded, before exec): rlimits, network
  // namespace, no_new_privs, Landlock, seccomp — in that order. Returns 0,
  // or an errno value with `*stage` naming the step that failed. Uses libc
  // (errno, and malloc for the user namespace maps): only for a forked child
  // with its own address space.
  int ApplyInChild(const char** stage) const;

  // The same steps as plain data, for a child that shares govrun's address
  // space (run.cpp applies them with raw system calls, no libc state).
  // `namespaces` set ⇒ those steps need ApplyInChild in a forked child
  // (unshare(CLONE_NEWUSER) refuses a process that shares its memory).
  struct ChildSteps {
    bool namespaces = false;
    bool has_rlimit_as = false;
    rlim_t rlimit_as = 0;
    bool has_rlimit_nproc = false;
    rlim_t rlimit_nproc = 0;
    int landlock_fd = -1;                   // -1: none
    const sock_filter* seccomp = nullptr;   // nullptr: none
    unsigned short seccomp_length = 0;
  };
  ChildSteps StepsForChild() const;

  // True when the cgroups hold no process any more (or there are none).
  bool CgroupsEmpty() const;
  // Sends `signal` to every process in the run's cgroups; returns how many.
  int SignalCgroups(int signal) const;
  // "memory" when the kernel's OOM killer acted inside the run's memory
  // cgroup, else empty.
  std::string LimitHit() const;
  // True when processes are tracked by a cgroup (else by PR_SET_CHILD_SUBREAPER).
  bool HasCgroups() const;

 private:
  struct State;
  explicit Sandbox(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

// The Landlock ABI version of this kernel, or 0 when Landlock is unavailable.
int LandlockAbi();

}  // namespace gov::exec
