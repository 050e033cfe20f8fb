// govd as a witness of other logs (docs/govd.md "Witnessing"): it cosigns a
// lineage log's published checkpoint (C2SP tlog-cosignature) only after
// checking the log's signature and that the tree grew consistently from the
// last one it cosigned — so a log that rolls back or shows another history
// (a fork) to anyone who pins this witness is refused.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "runtime/crypto/ed25519.h"
#include "runtime/support/error_or.h"

namespace gov::service {

struct WitnessOptions {
  // The cosigner name (a note key name, e.g. "witness.host-a.example/gov")
  // and its key: a key of the witness role, not a lineage or policy key.
  std::string name;
  crypto::PrivateKey key;
  // Where the witness keeps what it cosigned: `<state_dir>/<log id>/checkpoint`,
  // the log's note with the witness's cosignature added. Clients fetch it.
  std::string state_dir;
  // The lineage keys whose logs this witness accepts.
  std::vector<crypto::PublicKey> log_keys;
  // The cosignature's time (POSIX seconds).
  std::uint64_t now = 0;
};

// What a witness run found.
enum class WitnessVerdict {
  kCosigned,      // first sight, or the tree grew (or stayed) consistently
  kUnsigned,      // the log's note is not signed by a pinned lineage key
  kInconsistent,  // rollback or fork: refused, nothing written
};

struct WitnessOutcome {
  WitnessVerdict verdict = WitnessVerdict::kCosigned;
  std::string log_id;
  std::uint64_t previous_size = 0;  // 0: first sight
  std::uint64_t size = 0;
  std::string cosigned_path;  // kCosigned: the cosigned note written
  std::string message;        // why, for the other verdicts
};

// Witnesses the published log in `log_dir` (its `checkpoint` and `tile/`,
// a mirror or the live directory). An error only when a file cannot be read
// or written; a log that fails the checks is an outcome.
ErrorOr<WitnessOutcome> WitnessLog(const std::string& log_dir, const WitnessOptions& options);

}  // namespace gov::service
