// The interface between govrun and the lineage log: what govrun records about
// one governed run, and the Recorder that makes it durable and signed.
// govrun (cli/govrun.cpp, runtime/exec/) depends only on this header;
// runtime/lineage/ implements it (docs/lineage-format.md).
//
// Order per run: Authorization (every run, whatever the verdict), then — only
// when the program is executed — Start and End. A Recorder call that fails
// means the caller must not go on: no durable authorization, no exec.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "runtime/abi/gov_abi.h"
#include "runtime/crypto/ed25519.h"
#include "runtime/interp/interp.h"
#include "runtime/ir/env_reads.h"
#include "runtime/ir/ir.h"
#include "runtime/request/request.h"
#include "runtime/support/error_or.h"

namespace gov::lineage {

// Environment variables a nested govrun reads to find the enclosing run
// (set by govrun in the child's environment). They are only a hint: the run
// is accepted as parent when its start record, at that offset of the log,
// names a supervisor that is a live ancestor of the nested govrun
// (docs/request.md "Who vouches for each field").
inline constexpr const char* kEnvRunId = "GOV_RUN_ID";          // the enclosing run's id
inline constexpr const char* kEnvRunRecord = "GOV_RUN_RECORD";  // byte offset of its start record

// A fresh run id: 32 lower-case hex digits from the system CSPRNG.
std::string NewRunId();

// One rule that decided (or erred), as recorded.
struct RecordedRule {
  std::uint32_t id = 0;
  std::string name;
  std::string verdict;  // "allow" | "deny" | "ask"
  std::string reason;   // the `because` text, may be empty
};

// An `ask` answered by an approver through the lineage service
// (docs/govd.md "Approvals"): govd's record of who answered, and when.
struct Approval {
  std::string ask_id;           // 32 lower-case hex digits, chosen by govd
  std::string answer;           // "yes", "no" or "timeout"
  std::int64_t by_uid = -1;     // the approver's uid as the kernel reported it to govd; -1 for "timeout"
  std::string by_user;          // that uid's user name on govd's host ("" when none)
  std::int64_t at_unix_ns = 0;  // when govd took the answer (or the ask timed out)
};

// What the policy saw and what it decided. Written, durably, before exec.
struct Authorization {
  std::string run_id;
  std::string parent_run_id;  // empty for a root run
  // The request exactly as decided (program path/name/sha256, argv, env,
  // cwd, user, host, time, parent, context). The recorder decides how env
  // values are stored (docs/lineage-format.md: names plus salted hashes by
  // default); everything else is recorded as is.
  request::Request request;
  // The policy's declared context fields (to type `request.context`).
  std::vector<ir::ContextField> context_fields;
  // Env variable names whose values are recorded in clear (the policy's
  // `env` obligation or a documented govrun option).
  std::vector<std::string> env_in_clear;
  // Every env value is recorded in clear (the policy reads values under
  // computed names; see EnvReadByPolicy). Names in the policy's `env`
  // obligation are always recorded in clear.
  bool env_all_in_clear = false;
  // For `#!` scripts: the interpreter that will run, resolved and hashed.
  std::string interpreter_path;    // empty when not a script
  std::string interpreter_sha256;  // "sha256:…"
  // The policy: "sha256:…" of the whole bundle file, its name and version.
  std::string policy_digest;
  std::string policy_name;
  std::string policy_version;
  std::string engine;  // LoadedPolicy::engine()
  // The decision.
  std::string verdict;  // final: "allow" | "deny" | "ask" (ask: see ask_answer)
  std::string error;    // empty, or interp::ErrorName of the decision's error
  // The rules the decision names (RecordedRules): the deciding rules (or
  // the erring rule), then for an ask the matching allow rules whose
  // obligations apply if it is approved.
  std::vector<RecordedRule> rules;
  ir::Obligations obligations;  // merged (interp::MergeObligations)
  // For `ask`: "yes", "no", "timeout" or "no-terminal"; empty otherwise.
  std::string ask_answer;
  // For an `ask` put to approvers through govd: its answer as govd took it.
  // govd checks it against its own table and writes its own copy; a log
  // without govd never has one.
  std::optional<Approval> approval;
  // Whether govrun will execute the program (allow, or ask answered yes).
  bool execute = false;
  // Set only by govd (docs/govd.md): the process that submitted the record
  // as the kernel identifies the socket's peer (SO_PEERCRED), recorded
  // beside what govrun reports about the request.
  struct Submitter {
    std::int64_t pid = 0;
    std::int64_t uid = 0;
    std::int64_t gid = 0;
  };
  std::optional<Submitter> submitter;
};

// One enforced limit and how the kernel enforces it.
struct EnforcedLimit {
  std::string obligation;  // "timeout", "memory", "processes", "network", "read", "write", "create", "env", ...
  std::string mechanism;   // e.g. "cgroup v2 memory.max", "RLIMIT_AS", "landlock ABI 7", "seccomp"
  std::string value;       // the limit as text, e.g. "4294967296", "none", "/work/repo:/tmp"
};

// The program was started.
struct Start {
  std::string run_id;
  std::int64_t pid = 0;
  std::int64_t time_unix_ns = 0;
  std::vector<EnforcedLimit> limits;
  // The supervising govrun as the kernel identifies it (pid, start time in
  // clock ticks since boot, boot id): what a nested govrun checks against
  // its ancestors before it accepts this run as its parent.
  std::int64_t supervisor_pid = 0;
  std::uint64_t supervisor_start_time = 0;
  std::string boot_id;
  // The run's depth (root: 0) and its program path, for nested requests.
  std::int64_t depth = 0;
  std::string program;
  // The supervisor's own measurements (CLOCK_MONOTONIC): how long building
  // the request and deciding took, and how long the exec was held — from
  // govrun's first instruction, or in a session from the exec call's
  // interception, to this record.
  std::int64_t decision_ns = 0;
  std::int64_t exec_latency_ns = 0;
};

// A start record as read back (Recorder::ReadStart).
struct StartedRun {
  std::string run_id;
  std::int64_t supervisor_pid = 0;
  std::uint64_t supervisor_start_time = 0;
  std::string boot_id;
  std::int64_t depth = 0;
  std::string program;
};

// The program ended (or could not be started after authorization).
struct End {
  std::string run_id;
  std::int64_t time_unix_ns = 0;
  std::int64_t duration_ns = 0;
  bool exited = false;  // true: exit_status is valid
  int exit_status = 0;
  int signal = 0;         // when killed by a signal
  std::string killed_by;  // "" | "timeout" | "memory" | "processes" | "govrun-signal" | "exec-mismatch" | "lineage"
  std::int64_t user_cpu_us = 0;
  std::int64_t system_cpu_us = 0;
  std::int64_t max_rss_kib = 0;
  std::string exec_error;  // non-empty when exec itself failed after authorization
  // In a governed session: the run whose image replaced this one in the
  // same process (the process executed again). Empty otherwise.
  std::string replaced_by;
};

// Makes records durable and signed. One Recorder per govrun invocation.
class Recorder {
 public:
  virtual ~Recorder() = default;
  // Appends the authorization record and makes it durable (fsync) before
  // returning. Not ok ⇒ the caller must not execute.
  virtual ErrorOr<void> RecordAuthorization(const Authorization& record) = 0;
  // Appends the authorization record and starts making it durable without
  // waiting (group commit: one fdatasync covers every record appended
  // before it began). Returns the ticket AwaitDurable takes. For a
  // supervisor that can hold the program before its first instruction
  // while the kernel performs the exec (sessions). Not ok ⇒ not appended.
  virtual ErrorOr<std::uint64_t> RecordAuthorizationDeferred(const Authorization& record) = 0;
  // Returns once the record of `ticket` is durable. An error when a flush
  // failed: then no later record is taken as durable either.
  virtual ErrorOr<void> AwaitDurable(std::uint64_t ticket) = 0;
  // Appends the authorization record without making it durable: the caller
  // does, with MakeDurableNow, before the program may run (a supervisor
  // that decides several execs and syncs once for all of them).
  virtual ErrorOr<void> AppendAuthorizationOnly(const Authorization& record) = 0;
  // Makes every record appended so far durable with one fdatasync in the
  // caller's thread (a supervisor that waits anyway saves the hand-off to
  // the syncing thread); a failure is final, as for AwaitDurable.
  virtual ErrorOr<void> MakeDurableNow() = 0;
  // Durability for a service loop that must not block (govd's group
  // commit): StartDurable begins making everything appended so far durable
  // and returns its ticket; DurableProgress is the highest ticket made
  // durable (or the failure that stopped syncing, final); DurableEventFd
  // becomes readable whenever DurableProgress changes (-1: none). The
  // defaults sync in the caller's thread.
  virtual ErrorOr<std::uint64_t> StartDurable() {
    GOV_RETURN_IF_ERROR(MakeDurableNow());
    return std::uint64_t{0};
  }
  virtual ErrorOr<std::uint64_t> DurableProgress() { return std::uint64_t{0}; }
  virtual int DurableEventFd() { return -1; }
  // Puts an `ask` to the approvers of the lineage service and waits for the
  // answer ("yes", "no", or "timeout" after `timeout_ms`). `run_id` is the
  // run the authorization will name; `question` is a JSON object shown to
  // approvers. Only the service has approvers: the default is an error.
  virtual ErrorOr<Approval> AskApprovers(const std::string& run_id, const std::string& question,
                                         std::int64_t timeout_ms) {
    (void)run_id;
    (void)question;
    (void)timeout_ms;
    return Error{"asks go to approvers only through the lineage service (govd): no lineage_service is configured"};
  }
  // Returns the byte offset of the start record in the log.
  virtual ErrorOr<std::uint64_t> RecordStart(const Start& record) = 0;
  virtual ErrorOr<void> RecordEnd(const End& record) = 0;
  // Appends a signed checkpoint covering everything recorded so far. govrun
  // calls it once at the end of every invocation (also after a deny).
  virtual ErrorOr<void> Checkpoint() = 0;
  // Writes a self-contained lineage bundle for `run_id` and its descendants
  // to `path` (govrun --bundle).
  virtual ErrorOr<void> ExportBundle(const std::string& run_id, const std::string& path) = 0;
  // The start record at byte `offset` of this log, if it is a valid record
  // (its body matches its HEAD) of type start for `run_id`; else an error
  // saying why.
  virtual ErrorOr<StartedRun> ReadStart(const std::string& run_id, std::uint64_t offset) = 0;
};

// How OpenLog waits for the log's lock.
struct OpenOptions {
  // Longest wait for another writer's flock before failing (a same-user
  // process holding the lock forever must not stall every govrun).
  std::int64_t lock_timeout_ms = 10000;
  // Permission bits of a new log file (the umask applies): the caller's
  // alone by default; govd's log is readable by everyone (0644), whose runs
  // read it (docs/govd.md).
  unsigned log_mode = 0600;
  // govd: the only writer of this log. OpenLog takes an exclusive lock on
  // `lineage_dir`/lineage.lock (mode 0600, held while the Recorder lives; a
  // second writer fails at once) and appends without flock on the log, so a
  // reader holding the log's flock cannot stall the writer.
  bool sole_writer = false;
};

// The environment variables whose VALUES a policy can read (ir/env_reads.h):
// decision evidence that --replay must see, so the recorder stores them in
// clear (docs/lineage-format.md "Environment values").
using EnvReads = ir::EnvReads;

// Adds the names of `reads` to `record.env_in_clear` and sets
// `record.env_all_in_clear` when the policy reads them all. govrun calls it
// (through FillDecision) before RecordAuthorization so that --replay can
// reproduce the decision.
void AddPolicyEnvReads(const EnvReads& reads, Authorization& record);

// The rules an authorization records for an explained decision, in
// decision order: `explained.rules`, then `explained.obligation_rules`.
std::vector<RecordedRule> RecordedRules(const interp::Explanation& explained);

// Fills the decision fields of `record` from `decision`, made under a
// policy whose rules `rules` finds and which reads `reads`, exactly as
// govverify --replay re-derives them: verdict (interp::VerdictName), error
// ("" or interp::ErrorName), rules (RecordedRules of interp::Explain), obligations
// (interp::MergeObligations), and the env names the policy reads
// (AddPolicyEnvReads). `execute` and `ask_answer` stay the caller's.
void FillDecision(const interp::RuleLookup& rules, const EnvReads& reads, const gov_decision& decision,
                  Authorization& record);
// The same for a whole decoded policy.
void FillDecision(const ir::Policy& policy, const gov_decision& decision, Authorization& record);

// Opens (creating if needed) the append-only log `lineage_dir`/lineage.log,
// signing checkpoints with `signing_key`; the salt of its environment
// hashes is derived from the key and the log id (docs/lineage-format.md
// "Environment values"). Errors: directory missing or unwritable, no valid
// record in an existing log, the lock not obtained within
// `options.lock_timeout_ms` (naming the process that holds it).
// Many processes may hold Recorders on one log: every append takes flock
// (LOCK_EX), continues the chain from the last valid record and first
// accounts for torn bytes a dead writer left (a recovery record). Run ids
// and parent run ids must be 32 lower-case hex digits (NewRunId), else
// RecordAuthorization fails.
ErrorOr<std::unique_ptr<Recorder>> OpenLog(const std::string& lineage_dir, const crypto::PrivateKey& signing_key,
                                           const OpenOptions& options = {});

// Recorder::ReadStart without a Recorder: opens `lineage_dir`/lineage.log
// read-only (no lock, no signing key, nothing created or written) and reads
// the start record of `run_id` at byte `offset` with the same checks.
// govrun --check verifies a parent run with it.
ErrorOr<StartedRun> ReadStartFromLog(const std::string& lineage_dir, const std::string& run_id, std::uint64_t offset);

}  // namespace gov::lineage
