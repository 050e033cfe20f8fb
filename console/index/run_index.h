// The console's index of one lineage log (docs/console.md "The index"): an
// SQLite file that says where each run's records lie in the log and what to
// filter runs by, and keeps the tallies the overview, the policies page and
// /metrics show. It is a cache, never a source: the console re-reads and
// re-checks every record it shows (log_records.h), and the index is rebuilt
// from the log whenever it does not match it.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "console/viewer/query.h"
#include "runtime/support/error_or.h"

struct sqlite3;

namespace gov::console {

// Where one record lies in the log (length 0: there is none).
struct RecordRef {
  std::uint64_t seq = 0;
  std::uint64_t offset = 0;
  std::uint64_t length = 0;  // the line without its LF
};

// A run's records, by its 1-based position among the log's authorizations.
struct RunRef {
  std::uint64_t n = 0;
  std::string id;
  RecordRef authorization, start, end;
};

struct RunList {
  std::uint64_t total = 0;  // runs that match, beyond the page too
  std::vector<RunRef> runs;
};

// A count and a sum (histogram sums, durations) under one key.
struct Tally {
  std::uint64_t count = 0;
  double total = 0;
};

// What the index counted over every run and checkpoint of the log.
struct IndexTallies {
  // kind → key → tally. Kinds (docs/console.md "The index"): verdict,
  // denied_program, denied_rule, ask_outcome, outcome (exits), decision
  // (JSON [verdict, first rule]), ended, policy (digest), rule (JSON
  // [digest, name]), rule_id (JSON [digest, id]), hist.duration,
  // hist.decision, hist.exec (key: bucket index, "count" or "sum").
  std::map<std::string, std::map<std::string, Tally>> counts;
  // kind → key → what was first seen under it: policy (digest → JSON
  // {name, version, engine}), rule (JSON [digest, name] → JSON {verdict, reason}).
  std::map<std::string, std::map<std::string, std::string>> labels;
  // Decisions per minute: (minute start, Unix seconds) → verdict → count, for
  // the newest hour with decisions.
  std::map<std::int64_t, std::map<std::string, std::uint64_t>> minutes;
  std::uint64_t checkpoints = 0;
  std::string last_checkpoint;   // JSON of the newest checkpoint ("" when none)
  std::uint64_t unreadable = 0;  // lines the index could not read
  std::uint64_t records = 0;     // lines indexed
};

// How an Update went.
struct IndexUpdate {
  bool rebuilt = false;             // the index did not match the log and was made again
  std::uint64_t new_records = 0;    // lines indexed by this update
  std::uint64_t indexed_bytes = 0;  // of the log, now
};

class RunIndex {
 public:
  // The bounds of the duration histogram (/metrics gov_run_duration_seconds).
  static const std::vector<double>& DurationBounds();

  // Opens (or creates, mode 0600) the index at `path`; ":memory:" keeps it
  // in memory. A file of another format is made again; a path that is a
  // symbolic link or not a regular file is an error.
  static ErrorOr<std::unique_ptr<RunIndex>> Open(const std::string& path);
  ~RunIndex();
  RunIndex(const RunIndex&) = delete;
  RunIndex& operator=(const RunIndex&) = delete;

  // Indexes the records `log_path` gained since the last update (whole
  // lines only). When the log no longer starts with what was indexed —
  // another log, truncated, the last indexed record changed — the index is
  // emptied and made again from the whole log. `progress` (when given) is
  // called now and then with the bytes done and the log's size.
  ErrorOr<IndexUpdate> Update(const std::string& log_path,
                              const std::function<void(std::uint64_t, std::uint64_t)>& progress = {});

  // Empties the index: the next Update reads the whole log.
  ErrorOr<void> Clear();

  // The runs that match `filter`, newest first, `limit` from `offset` on.
  ErrorOr<RunList> Find(const RunFilter& filter, std::uint64_t offset, std::uint64_t limit);
  // The run `id`, if indexed.
  ErrorOr<std::optional<RunRef>> Run(const std::string& id);
  // The runs whose parent is `id`, oldest first, at most `limit`.
  ErrorOr<RunList> Children(const std::string& id, std::uint64_t limit);

  ErrorOr<IndexTallies> Tallies();

  // The log id the index is of ("" before the first record).
  std::string log_id() const { return log_id_; }

 private:
  explicit RunIndex(sqlite3* db) : db_(db) {}
  ErrorOr<void> CreateSchema();
  ErrorOr<void> LoadMeta();

  sqlite3* db_;
  std::string log_id_;
  std::uint64_t indexed_bytes_ = 0;
  std::uint64_t indexed_lines_ = 0;
  std::uint64_t last_line_offset_ = 0;
  std::string last_head_digest_;
  std::uint64_t next_n_ = 1;
  bool building_ = false;  // a build from nothing is under way (no journal, no format mark yet)
};

}  // namespace gov::console
