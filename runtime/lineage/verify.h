// Offline verification of lineage logs and bundles (govverify): chain,
// completeness, signed checkpoints against pinned keys, policy binding and
// replay of every decision with the IR interpreter. docs/govverify.md.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "runtime/crypto/ed25519.h"
#include "runtime/interp/interp.h"
#include "runtime/ir/ir.h"

namespace gov::lineage {

// Failure classes; the value is govverify's exit code.
enum class Failure : int {
  kNone = 0,
  kSignature = 1,  // a checkpoint is not signed by a pinned key, or no checkpoint
  kChain = 2,      // chain, order, gap, duplicate, withheld record, truncation, torn tail
  kBinding = 3,    // a record names another policy than --policy
  kReplay = 4,     // a recorded decision is not reproduced by the policy
  kMalformed = 5,  // not a lineage log or bundle, or a record that does not parse
  kUsage = 64,     // bad command line
  kInput = 66,     // a file cannot be read
};

// The name of a failure class: "ok", "signature", "chain", "binding",
// "replay", "malformed", "usage", "input".
const char* FailureName(Failure failure);

// A policy to bind and replay against.
struct ReplayPolicy {
  std::string digest;                                // "sha256:…" of the bundle file
  const interp::PreparedPolicy* prepared = nullptr;  // non-null: replay every decision
};

struct VerifyOptions {
  std::vector<crypto::PublicKey> trusted;  // pinned keys; at least one
  // --policy (and --replay), each version of the policy the log spans:
  // every authorization must name one of them and is replayed with it.
  std::vector<ReplayPolicy> policies;
  bool all_signatures = false;             // check every checkpoint, not only the last
  // --since: what was seen of this log earlier — a signed checkpoint note
  // (Report::last_note, or the published `checkpoint`), or a checkpoint
  // record line, HEAD TAB BODY (Report::last_checkpoint_line, for logs
  // without notes). The log must extend it: the note's tree must be a prefix
  // of the log's (the line must be at its seq); shorter is a rollback,
  // different is a fork (both class chain). Logs only.
  std::string since_checkpoint;
  // --witness: each key must have cosigned the --since note (C2SP
  // tlog-cosignature; docs/govd.md "Witnessing"), else class signature.
  std::vector<crypto::PublicKey> witnesses;
  // The log's signed checkpoint note (docs/lineage-format.md "Transparency
  // log"), when one was found beside it; `note_required`: its absence fails
  // a log whose last checkpoint is version 2 (a directory was verified).
  std::optional<std::string> note;
  bool note_required = false;
  // The directory whose tile/ publishes the log (with `note`): every hash
  // tile and entry bundle of the note's tree must be the log's.
  std::string published_dir;
  // Called now and then with (bytes done, bytes total).
  std::function<void(std::uint64_t, std::uint64_t)> progress;
};

// The outcome of verifying one file.
struct Report {
  std::string path;
  std::string kind;  // "log" | "bundle" | "" (unknown)
  std::string log_id;
  std::string root;               // bundle: the root run
  std::string root_parent;        // bundle: the root's parent run ("" for a root run)
  std::uint64_t records = 0;      // records in the chain
  std::uint64_t certified = 0;    // records covered by the last verified checkpoint (itself included)
  std::uint64_t uncertified = 0;  // records after it: reported, not vouched for
  std::uint64_t checkpoints = 0;
  std::uint64_t signatures_checked = 0;
  std::uint64_t recoveries = 0;                          // torn regions accounted for by recovery records
  std::uint64_t external_parents = 0;                    // log: runs whose parent run is in another log
  std::uint64_t runs = 0, allow = 0, deny = 0, ask = 0;  // certified authorizations
  std::vector<std::string> incomplete;                   // executed runs without a certified end
  // --all-signatures: certified runs that no verified checkpoint lists as
  // recorded by its signer (a writer that died before its checkpoint, or
  // records inserted by someone without a key before a later checkpoint).
  std::vector<std::string> unattributed;
  std::uint64_t replayed = 0;
  std::uint64_t bound = 0;  // authorizations checked against --policy
  // The verified last checkpoint's record line (log only; empty on failure):
  // what a later --since compares against.
  std::string last_checkpoint_line;
  // The verified checkpoint note (log only; empty when there was none) and
  // the tree size it publishes (a version 2 bundle's note too).
  std::string last_note;
  std::uint64_t published = 0;
  // --witness: "<name> at <POSIX time>" of each verified cosignature.
  std::vector<std::string> witnessed_by;
  // The first failure, if any.
  Failure failure = Failure::kNone;
  std::string message;
  std::int64_t failure_seq = -1;     // the failing record's seq, when known
  std::uint64_t failure_line = 0;    // 1-based line in the file, 0 if none
  std::uint64_t failure_offset = 0;  // byte offset of that line
};

// True iff `text` is canonical JSON (docs/lineage-format.md "Canonical
// JSON"): exactly the texts ParseUntrusted reads and Canonical writes back
// unchanged, checked in one pass without building a tree. `why` (when given)
// receives the first reason it is not.
bool IsCanonicalJson(std::string_view text, std::string* why = nullptr);

// Verifies the log or bundle at `path` (a lineage_dir means its lineage.log).
Report Verify(const std::string& path, const VerifyOptions& options);

// Verifies in-memory bytes (tests, fuzzing); `path` only names them.
Report VerifyBytes(std::string_view data, const std::string& path, const VerifyOptions& options);

}  // namespace gov::lineage
