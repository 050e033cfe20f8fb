// Enforcing a decision's obligations — and govrun's baseline confinement of
// every run — with kernel mechanisms. Planned in the parent before anything
// runs (so an obligation this kernel cannot enforce is refused with
// kExitConfig before exec), then applied in the child just before it
// executes (run.h; raw system calls on StepsForChild(), preceded by
// ApplyNamespacesInChild() in a forked child when namespaces are needed):
//   memory      cgroup v2 memory.max, else cgroup v1 memory.limit_in_bytes, else RLIMIT_AS
//               (refused when RLIMIT_AS would not bind: the run keeps CAP_SYS_RESOURCE)
//   processes   cgroup v2 pids.max, else cgroup v1 pids.max, else RLIMIT_NPROC
//               (refused when RLIMIT_NPROC would not bind: uid 0, or the run keeps
//               CAP_SYS_RESOURCE/CAP_SYS_ADMIN)
//               One per-run cgroup per hierarchy holds every limit file of that
//               hierarchy; a cgroup v2 child is born in it (clone3 CLONE_INTO_CGROUP).
//   read/write  one Landlock ruleset (filesystem access rights); the program's and
//               interpreter's read rules are bound to the descriptors that were hashed.
//               On Landlock ABI 1-2 (no TRUNCATE right) `write` also refuses truncate(2)
//               with seccomp.
//   network     none: seccomp filter allowing only socketpair(AF_UNIX) — no socket of
//               any family, so no host daemon on a Unix socket either — and no io_uring;
//               loopback: a new network namespace whose only interface is `lo`, and no
//               AF_UNIX socket() (host daemons stay unreachable)
//   always      no capabilities (permitted, effective, inheritable, ambient emptied and
//               the bounding set dropped where allowed) beyond those the caller asks to
//               keep; no_new_privs; a Landlock domain (when the kernel has Landlock)
//               that denies creating device nodes, denies tracing processes outside the
//               run and, on ABI >= 6, signalling them; a seccomp filter refusing
//               TIOCSTI/TIOCLINUX and every signal aimed at govrun itself (its pid, its
//               process group, -1), plus, below Landlock ABI 6, the ways to signal it
//               that cannot be checked by argument (pidfd_send_signal, F_SETOWN_EX,
//               FIOSETOWN, SIOCSPGRP).
//   tmp         private: a fresh /tmp/gov-tmp-RUN_ID (private_tmp.h), named by TMPDIR,
//               read and write rights on it in the Landlock ruleset
// `timeout` is enforced by the supervisor (run.h); `env` by env.h.
#pragma once

#include <linux/capability.h>
#include <linux/filter.h>
#include <sys/resource.h>
#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "runtime/exec/exit_codes.h"
#include "runtime/ir/ir.h"
#include "runtime/lineage/recorder.h"

namespace gov::exec {

// A mounted cgroup hierarchy.
struct CgroupMount {
  std::string mount_point;
  bool v2 = false;
  std::vector<std::string> v1_controllers;  // from the super options
};

// The cgroup hierarchies mounted here, from /proc/self/mountinfo.
std::vector<CgroupMount> CgroupMounts();

// Inputs besides the obligations.
struct SandboxOptions {
  // Names the per-run cgroups (gov-<run_id>).
  std::string run_id;
  // Descriptors of the files the program needs to start that `read` must not
  // hide: the hashed program and a script's interpreter. Their read rules are
  // bound to these very files, never re-opened by name.
  std::vector<int> program_fds;
  // The supervisor (govrun): the run may not signal it. 0: this process.
  pid_t supervisor_pid = 0;
  pid_t supervisor_pgid = 0;
  // Capabilities (CAP_* numbers) the run keeps if the caller has them; every
  // other capability is removed before exec.
  std::vector<int> keep_capabilities;
  // The root of a governed session (runtime/session/): every execve and
  // execveat of the run stops for the session supervisor, which traces it
  // (seccomp SECCOMP_RET_TRACE with kSessionTraceData; the compat i386 exec
  // calls are refused), and no process of the run may trace another or
  // write its memory. The child is then forked and made dumpable so the
  // supervisor can attach to it before Go().
  bool governed_session = false;
  // With governed_session, the kernel mechanism (root): the exec calls go to
  // the supervisor as seccomp user notifications instead of ptrace stops. The
  // child installs the filter with a listener, which govrun takes from it
  // (Child::TakeListener) before Go(); the tree never holds it.
  bool session_notify = false;
  // `tmp = private`: the directory the run's own is made in ("/tmp" when empty).
  std::string private_tmp_base;
  // Test hooks (never set by govrun): plan for this Landlock ABI instead of
  // the kernel's (only lower values are meaningful), and for these cgroup
  // mounts instead of /proc/self/mountinfo's.
  int landlock_abi_override = 0;
  std::optional<std::vector<CgroupMount>> cgroup_mounts_override;
};

// A planned sandbox. Move-only; removes the cgroups it created when destroyed.
class Sandbox {
 public:
  // Checks every obligation against this kernel and prepares what can be
  // prepared in the parent (cgroups, the Landlock ruleset, the seccomp
  // program, the capability sets). kExitConfig with the obligation's name and
  // the reason when one cannot be enforced; nothing is left behind on failure.
  static Outcome<Sandbox> Plan(const ir::Obligations& obligations, const SandboxOptions& options);

  Sandbox(Sandbox&&) noexcept;
  Sandbox& operator=(Sandbox&&) noexcept;
  ~Sandbox();

  // How each obligation (and the baseline) is enforced (Start record, --explain).
  const std::vector<lineage::EnforcedLimit>& limits() const;

  // `tmp = private`: the run's temporary directory (for TMPDIR), removed
  // when the sandbox is destroyed; empty without the obligation.
  std::string private_tmp_path() const;

  // In the parent, before the child may execute: moves `pid` into the run's
  // cgroups that it was not born in (cgroup v1, or v2 without clone3).
  ErrorOr<void> AdoptChild(pid_t pid, bool born_in_v2_cgroup) const;

  // In a forked child (own address space, single-threaded, before exec):
  // the user and network namespaces. Returns 0, or an errno value with
  // `*stage` naming the step that failed. Uses libc.
  int ApplyNamespacesInChild(const char** stage) const;

  // The remaining steps as plain data for the child, applied with raw system
  // calls in this order: rlimits, capabilities, no_new_privs, Landlock,
  // seccomp. `namespaces` set ⇒ the child must be forked and call
  // ApplyNamespacesInChild first (unshare(CLONE_NEWUSER) refuses a process
  // that shares its memory).
  struct ChildSteps {
    bool namespaces = false;
    bool has_rlimit_as = false;
    rlim_t rlimit_as = 0;
    bool has_rlimit_nproc = false;
    rlim_t rlimit_nproc = 0;
    // Capabilities: capset() with these sets, ambient cleared then raised
    // for `ambient[0..ambient_count)`, bounding set dropped for
    // `bounding_drop[0..bounding_drop_count)`.
    __user_cap_header_struct cap_header{};
    __user_cap_data_struct cap_data[2]{};
    int ambient[64] = {};
    int ambient_count = 0;
    int bounding_drop[64] = {};
    int bounding_drop_count = 0;
    int landlock_fd = -1;                  // -1: none
    const sock_filter* seccomp = nullptr;  // nullptr: none
    unsigned short seccomp_length = 0;
    int cgroup_v2_fd = -1;  // the per-run cgroup v2 directory, for CLONE_INTO_CGROUP; -1: none
    // A governed session's root: forked (own memory) and dumpable before it
    // waits for Go(), so that the supervisor can attach (PTRACE_SEIZE).
    bool traced = false;
    // The session's filter is installed with a listener (session_notify).
    bool seccomp_listener = false;
  };
  ChildSteps StepsForChild() const;

  // True when the cgroups hold no process any more (or there are none).
  bool CgroupsEmpty() const;
  // Sends `signal` to every process in the run's cgroups; returns how many.
  // SIGKILL on cgroup v2 uses cgroup.kill where the kernel has it.
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

// SECCOMP_RET_DATA of the session's exec trace: a seccomp stop with any
// other value comes from a filter the run installed itself.
inline constexpr std::uint32_t kSessionTraceData = 0x0607;
// SECCOMP_RET_DATA of the ptrace mechanism's trace of executable memory
// (native mmap of a file, mprotect, pkey_mprotect with PROT_EXEC).
inline constexpr std::uint32_t kSessionMemoryTraceData = 0x0608;

// The argument that makes a program linking this library act as the
// namespace helper of an unprivileged `network = loopback` run (the child
// execs /proc/self/exe with it; see ApplyNamespacesInChild).
inline constexpr char kNamespaceHelperFlag[] = "--gov-internal-namespace-helper";

// Call first in main (before anything makes the process non-dumpable): when
// argv is {name, kNamespaceHelperFlag}, acts as the namespace helper and
// exits; otherwise returns.
void RunNamespaceHelperIfAsked(int argc, char** argv);

// The Landlock ABI version of this kernel, or 0 when Landlock is unavailable.
int LandlockAbi();

}  // namespace gov::exec
