// A governed session (`govrun --session -- PROGRAM …`): every execve and
// execveat of every process in the run's tree is decided by the policy
// before the new image executes its first instruction, recorded as a child
// run linked to the run that asked for it, and denied in the caller with
// EACCES when the policy does not allow it (docs/govrun.md "Sessions").
//
// Two mechanisms share everything above the interception (requests,
// decisions, records, drift, approval). The kernel mechanism (root; see
// kernel_binding.h and Mechanism below) answers seccomp user notifications
// and lets BPF bind each new image and kill a mismatch before it runs. The
// ptrace mechanism (docs/threat-model.md "Sessions"): the session root is spawned
// with SandboxOptions::governed_session — a seccomp filter that stops every
// exec for the tracer (SECCOMP_RET_TRACE; with no tracer the kernel fails
// the call) — and govrun attaches to it with PTRACE_SEIZE before it may
// start. Every fork, vfork and clone is traced from birth (the kernel
// attaches it), so no process of the tree escapes. For each exec:
//   1. at the system call's entry the supervisor reads the path, argv and
//      environment from the caller's memory, resolves and hashes the file
//      as govrun does, decides, and records the authorization durably; a
//      denial skips the call with EACCES;
//   2. at PTRACE_EVENT_EXEC — the new image exists, single-threaded, and
//      has run nothing — the supervisor checks that the kernel executed the
//      authorized file (/proc/PID/exe: same inode, unchanged) with the
//      authorized argv and environment (read from the new image). Memory
//      another thread changed between 1 and the kernel's copy is caught
//      here: the process is killed before its first instruction and the
//      run is recorded as killed_by "exec-mismatch".
// PTRACE_O_EXITKILL and the root's PR_SET_PDEATHSIG end the whole tree when
// govrun dies; nothing runs ungoverned.
#pragma once

#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "runtime/bundle/loader.h"
#include "runtime/exec/exit_codes.h"
#include "runtime/exec/run.h"
#include "runtime/exec/sandbox.h"
#include "runtime/ir/ir.h"
#include "runtime/lineage/recorder.h"
#include "runtime/request/request.h"
#include "runtime/session/kernel_binding.h"

namespace gov::session {

// How a session binds its execs (docs/govrun.md "Sessions").
enum class Mechanism {
  kAuto,    // kernel when govrun is root and the BPF programs load, else ptrace
  kKernel,  // seccomp user notification + BPF binding + PID namespace (root)
  kPtrace,  // ptrace + seccomp (any user)
};

// The kernel mechanism, set up by govrun around the root's spawn:
// LoadKernelMechanism, EnterTreeNamespace, Spawn, LeaveTreeNamespace,
// WaitReady, AttachKernel.
struct KernelMechanism {
  std::unique_ptr<KernelBinding> binding;
  int listener = -1;         // the root's seccomp listener (owned)
  pid_t namespace_init = 0;  // pid 1 of the tree's PID namespace: killing it ends every process of the tree
  int outer_namespace = -1;  // govrun's own PID namespace while the root is spawned (owned)
  KernelMechanism() = default;
  KernelMechanism(const KernelMechanism&) = delete;
  KernelMechanism& operator=(const KernelMechanism&) = delete;
  ~KernelMechanism();
};

// Loads and attaches the BPF programs; an Error says why the mechanism is
// unavailable here.
ErrorOr<std::unique_ptr<KernelMechanism>> LoadKernelMechanism();
// Creates the PID namespace the session's tree lives in: its init (a child
// of govrun that dies with it, PR_SET_PDEATHSIG) takes every orphan, and
// when it dies the kernel kills every process of the namespace — nothing
// runs on once govrun is gone. Until LeaveTreeNamespace, govrun's children
// are created in it (and govrun can create no thread).
ErrorOr<void> EnterTreeNamespace(KernelMechanism& mechanism);
// After the root was spawned: govrun's later children (and threads) are
// created in its own PID namespace again.
ErrorOr<void> LeaveTreeNamespace(KernelMechanism& mechanism);
// After Child::WaitReady of a root spawned with SandboxOptions::session_notify:
// takes its seccomp listener and marks it for the kernel (kExitConfig).
exec::Outcome<bool> AttachKernel(const exec::Child& root, KernelMechanism& mechanism);

// Everything the supervisor needs besides the root child.
struct SessionOptions {
  const bundle::LoadedPolicy* policy = nullptr;
  lineage::Recorder* recorder = nullptr;
  // The root request as decided: its context values, identity and host are
  // those of every exec in the session (the session's processes cannot
  // change user: no_new_privs, no capabilities).
  const request::Request* root_request = nullptr;
  ir::Obligations root_obligations;
  std::string root_run_id;
  std::int64_t root_depth = 0;
  // The root's first exec as govrun authorized it: the descriptor that
  // executes (for a script, the interpreter) and the image's argv and envp.
  struct stat root_file {};
  std::vector<std::string> root_argv;
  std::vector<std::string> root_envp;
  // When the root is a `#!` script: the script as hashed (watched while the
  // root runs, as every script run of the session is).
  std::string root_script_path;
  struct stat root_script {};
  // When the session started (StartTime, read before the root's exec): an
  // exec whose file changed at or after it has `program.written_in_session`.
  timespec started{};
  std::int64_t root_timeout_ms = 0;  // 0: none
  std::int64_t kill_grace_ms = 2000;
  // Where the one-line notices of denied execs go (the session's stderr).
  int notice_fd = 2;
  // The approval terminal (--ask-terminal; OpenApprovalTerminal): an `ask`
  // is put to a person there, blocking the session's decisions meanwhile.
  // -1: asks are denied ("no-terminal").
  int ask_tty = -1;
  std::int64_t ask_timeout_ms = 30000;
  // Without an approval terminal: put each `ask` to the lineage service's
  // approvers (config `ask = "service"`; docs/govd.md "Approvals").
  bool ask_via_service = false;
  // Files whose change on disk during the session (replaced, rewritten,
  // removed) is drift: the policy bundle, the trusted keys, the
  // configuration. From the first exec after a change every exec is denied
  // and the session says why once (fail closed: the running policy may no
  // longer be the one its operator means).
  std::vector<std::string> watched_files;
  // On drift (above, or a running script changed) also end the whole
  // session: every process is killed (config `session_drift = "stop-session"`).
  bool stop_on_drift = false;
  // A signed checkpoint after this many recorded authorizations (and at the
  // end of the session, by govrun).
  int checkpoint_every = 256;
  // The kernel mechanism (AttachKernel done); null: ptrace (Attach done).
  KernelMechanism* kernel = nullptr;
};

// How the session ended.
struct SessionResult {
  exec::RunResult root;  // the root process (its final image)
  int runs = 0;          // child execs authorized and started
  int denied = 0;        // child execs denied (policy, ask, unenforceable, lineage)
  int mismatches = 0;    // execs killed at the post-exec check
  // Where the supervisor's time went, summed over the child execs (ns):
  // reading the call from the caller's memory, resolving and hashing the
  // file, deciding, appending the authorization, waiting at the exec event
  // for the fdatasync that makes it durable (what the kernel's exec did not
  // overlap), and the post-exec check with the start record (without that
  // wait). For bench/bench_session.
  struct Costs {
    std::int64_t read_ns = 0;
    std::int64_t resolve_hash_ns = 0;
    std::int64_t decide_ns = 0;
    std::int64_t record_ns = 0;
    std::int64_t durable_wait_ns = 0;
    std::int64_t check_start_ns = 0;
  } costs;
  // A lineage write failed during the session (execs were denied, or an
  // end could not be recorded): govrun exits 74.
  std::string lineage_error;
};

// The session's start for `program.written_in_session`: the realtime clock
// the kernel stamps file times with (CLOCK_REALTIME_COARSE, which lags
// CLOCK_REALTIME by up to a tick), rounded down to the whole second, so a
// change made after this call never has an earlier ctime, even on a file
// system that keeps whole seconds.
timespec StartTime();

// True when this kernel and build can run a session: x86-64, seccomp, ptrace.
bool Supported(std::string* why);

// Attaches to `root` (spawned with SandboxOptions::governed_session and not
// yet started: call before Child::Go), so that its first exec stops for the
// supervisor. kExitConfig when the kernel refuses (e.g. Yama ptrace_scope).
exec::Outcome<bool> Attach(const exec::Child& root);

// Supervises the session after Child::Go(…, /*wait=*/false): decides every
// exec of the tree, records child runs (authorization, start, end) and the
// root run's end, enforces the root's timeout and the children's, forwards
// govrun's signals to the root's process group, and ends every process of
// the tree once the root has ended. A failure of the root's own exec
// (before it ran) is returned as the Failure Child::FinishGo reports.
exec::Outcome<SessionResult> Supervise(exec::Child& root, const exec::Sandbox& sandbox, const SessionOptions& options,
                                       std::int64_t started_ns);

// Whether a child's obligations hold for it in a session: the root's
// sandbox binds the whole tree and cannot be changed for one process, so a
// child's `read`, `write`, `create`, `tmp`, `network`, `memory`,
// `processes` and `capabilities` hold when the root's are at least as
// strict, its `env` when the environment it was given has only those names
// (besides govrun's GOV_RUN_* and, under a root with `tmp = private`,
// TMPDIR), and `timeout` is enforced by the supervisor. Returns empty when every obligation holds,
// else the first that cannot, and why.
std::string UnenforceableInSession(const ir::Obligations& child, const ir::Obligations& root,
                                   const std::vector<std::pair<std::string, std::string>>& env);

}  // namespace gov::session
