// The console's view of one lineage directory: verified with the same code
// as govverify, read into the viewer data, and read again whenever the log
// changes. Readers take immutable snapshots; a refresh swaps in a new one.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <unordered_map>
#include <vector>

#include "console/viewer/proof_viewer.h"
#include "runtime/lineage/verify.h"
#include "runtime/support/error_or.h"

namespace gov::console {

// One verified state of the log.
struct LineageSnapshot {
  std::uint64_t generation = 0;      // 1, 2, … per refresh that saw a change
  nlohmann::json report;             // govverify's JSON report
  nlohmann::json data;               // ProofViewerData
  std::uint64_t log_size = 0;        // bytes
  std::int64_t log_modified_ns = 0;  // the log's mtime (its last write)
  std::int64_t verified_at_ns = 0;   // when this verification ran
  double verify_seconds = 0;
  std::unordered_map<std::string, std::size_t> by_id;                  // run id → index in data["runs"]
  std::unordered_map<std::string, std::vector<std::size_t>> children;  // run id → its children's indices
};

class LineageIndex {
 public:
  // `dir` is a lineage directory (its lineage.log and published checkpoint).
  LineageIndex(std::string dir, std::vector<PinnedKey> keys);

  // Verifies and reads the log again when its size or mtime changed since
  // the last refresh (always the first time). Returns whether it changed.
  ErrorOr<bool> Refresh();

  // The current snapshot (never null after a successful first Refresh).
  std::shared_ptr<const LineageSnapshot> Current() const;

  const std::string& dir() const { return dir_; }
  const std::vector<PinnedKey>& keys() const { return keys_; }

 private:
  std::string dir_;
  std::vector<PinnedKey> keys_;
  mutable std::mutex mutex_;
  std::shared_ptr<const LineageSnapshot> current_;
  std::uint64_t seen_size_ = 0;
  std::int64_t seen_mtime_ns_ = -1;
  std::uint64_t generation_ = 0;
};

}  // namespace gov::console
