// govrun's side of the lineage service (docs/govd.md): a lineage::Recorder
// whose records go to govd over its Unix socket. Reading the log (a parent
// run's start record, bundle export) stays local: govd's log is readable,
// only govd can write it.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "runtime/lineage/recorder.h"
#include "runtime/support/error_or.h"

namespace gov::service {

// Connects to govd at `socket_path` and greets it. Every later call waits at
// most `timeout_ms` for govd's answer; no answer, a refusal or a closed
// connection is an error (the caller must not execute). `lineage_dir` is
// govd's log directory, read for ReadStart and ExportBundle.
ErrorOr<std::unique_ptr<lineage::Recorder>> ConnectService(const std::string& socket_path,
                                                           const std::string& lineage_dir, std::int64_t timeout_ms);

}  // namespace gov::service
