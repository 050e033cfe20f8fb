// govrun's side of the lineage service (docs/govd.md): a lineage::Recorder
// whose records go to govd over its Unix socket. Reading the log (a parent
// run's start record, bundle export) stays local: govd's log is readable,
// only govd can write it.
#pragma once

#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "runtime/lineage/recorder.h"
#include "runtime/support/error_or.h"

namespace gov::service {

// Connects to govd at `socket_path` and sends its greeting, whose answer the
// first call reads before its own (so govd's refusal of this peer is that
// call's error). Every call waits at most `timeout_ms` for govd's answer; no
// answer, a refusal or a closed connection is an error (the caller must not
// execute). `lineage_dir` is
// govd's log directory, read for ReadStart and ExportBundle.
ErrorOr<std::unique_ptr<lineage::Recorder>> ConnectService(const std::string& socket_path,
                                                           const std::string& lineage_dir, std::int64_t timeout_ms);

// An approver's connection to govd's approvals socket (docs/govd.md
// "Approvals"); govd knows the approver by the kernel's SO_PEERCRED.
class Approver {
 public:
  virtual ~Approver() = default;
  // The asks waiting for an answer, oldest first: govd's "asks" array.
  virtual ErrorOr<nlohmann::json> Pending() = 0;
  // Answers ask `ask_id`: yes when `approve`, else no.
  virtual ErrorOr<void> Answer(const std::string& ask_id, bool approve) = 0;
};

// Connects to the approvals socket at `socket_path` and greets govd.
ErrorOr<std::unique_ptr<Approver>> ConnectApprover(const std::string& socket_path, std::int64_t timeout_ms);

}  // namespace gov::service
