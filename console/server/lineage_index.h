// The console's view of one lineage directory: its SQLite index (brought up
// to the log as it grows), the signed checkpoint note every record shown is
// checked against, and the last verification of the whole log with the same
// code as govverify, run in the background whenever the log changed.
// docs/console.md "The index".
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "console/index/log_records.h"
#include "console/index/run_index.h"
#include "console/viewer/proof_viewer.h"
#include "runtime/support/error_or.h"

namespace gov::console {

// The last verification of the whole log.
struct Verification {
  bool done = false;      // one has finished
  bool running = false;   // one is running now
  nlohmann::json report;  // govverify's JSON report (null before the first)
  std::int64_t verified_at_ns = 0;
  double seconds = 0;
};

class LineageIndex {
 public:
  // `dir` is a lineage directory (its lineage.log, checkpoint note and
  // tiles); `index_path` the index file (":memory:" for none on disk).
  LineageIndex(std::string dir, std::vector<PinnedKey> keys, std::string index_path);
  ~LineageIndex();
  LineageIndex(const LineageIndex&) = delete;
  LineageIndex& operator=(const LineageIndex&) = delete;

  // Opens the index, brings it up to the log (`progress`: bytes done, log
  // size) and starts verifying the log in the background. An index that
  // cannot be used is an error starting "--index PATH: ".
  ErrorOr<void> Start(const std::function<void(std::uint64_t, std::uint64_t)>& progress = {});

  // When the log changed: indexes what it gained (the whole log again when
  // the index no longer matches it), re-reads the note, and asks for a new
  // verification. Returns whether the index changed.
  ErrorOr<bool> Refresh();

  // Counts changes: new records indexed, a verification finished.
  std::uint64_t generation() const;
  // Waits until generation() > `after`, `timeout` passes or `stop` is true.
  void WaitForChange(std::uint64_t after, std::chrono::milliseconds timeout, const std::function<bool()>& stop);

  // The last verification; waits up to `wait` for the first to finish.
  Verification LastVerification(std::chrono::milliseconds wait = std::chrono::milliseconds(0));

  // The log's size and last write as the last refresh saw them.
  std::uint64_t log_size() const;
  std::int64_t log_modified_ns() const;

  // The records checker of the current note.
  std::shared_ptr<const LogRecords> Records() const;

  // The index's answers (one at a time).
  ErrorOr<RunList> Find(const RunFilter& filter, std::uint64_t offset, std::uint64_t limit);
  ErrorOr<std::optional<RunRef>> Run(const std::string& id);
  ErrorOr<RunList> Children(const std::string& id, std::uint64_t limit);
  ErrorOr<IndexTallies> Tallies();

  // A record the index pointed at is not there: the index is made again
  // from the whole log at the next refresh.
  void Distrust(const std::string& why);

  const std::string& dir() const { return dir_; }
  const std::vector<PinnedKey>& keys() const { return keys_; }

 private:
  void VerifyLoop();
  void Changed();

  std::string dir_;
  std::vector<PinnedKey> keys_;
  std::vector<crypto::PublicKey> lineage_keys_;
  std::string index_path_;

  std::mutex index_mutex_;  // the index's SQLite connection
  std::unique_ptr<RunIndex> index_;

  mutable std::mutex mutex_;  // everything below
  std::condition_variable changed_;
  std::uint64_t generation_ = 0;
  std::uint64_t seen_size_ = 0;
  std::int64_t seen_mtime_ns_ = -1;
  std::string distrusted_;
  std::shared_ptr<const LogRecords> records_;
  std::string note_text_;
  Verification verification_;
  bool verify_wanted_ = false;
  bool stopping_ = false;
  std::thread verifier_;
};

}  // namespace gov::console
