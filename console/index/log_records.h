// The log's records as the console shows them: read again from the log at
// the places the index names, and checked there — the record is the one the
// index says (seq, type, run), its BODY is the one its HEAD hashes, and a
// record the signed checkpoint note covers is proven in its tree by the
// published tiles (docs/console.md "The index"). The index is trusted for
// nothing it shows.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "console/index/run_index.h"
#include "runtime/crypto/ed25519.h"
#include "runtime/lineage/format.h"
#include "runtime/support/error_or.h"
#include "runtime/tlog/checkpoint.h"

namespace gov::console {

// One record read from the log and checked.
struct CheckedRecord {
  std::string text;        // the line, HEAD TAB BODY
  nlohmann::json body;     // null when it does not parse
  bool certified = false;  // within the signed tree, and proven in it
  // Why the log's record fails its check ("" when it passes): its BODY is
  // not the one its HEAD names, or it is in the signed tree's range and not
  // proven in it. Such a record is shown, flagged, and never certified.
  std::string problem;
  // The HEAD (its views point into `text`).
  lineage::Head Head() const;
};

class LogRecords {
 public:
  // The log of `dir` and its checkpoint note as opened by the keys
  // `trusted` for log `log_id`. Without a note (or with one no trusted key
  // signed) nothing is certified; `note_problem` says why.
  static ErrorOr<std::unique_ptr<LogRecords>> Open(const std::string& dir, std::string_view log_id,
                                                   const std::vector<crypto::PublicKey>& trusted);
  ~LogRecords();
  LogRecords(const LogRecords&) = delete;
  LogRecords& operator=(const LogRecords&) = delete;

  // The size of the signed tree (0 without a verified note).
  std::uint64_t tree_size() const { return note_.size; }
  const std::string& note_problem() const { return note_problem_; }

  // The record `ref` of type `type` (of run `run`, unless empty), checked.
  // An error when the log holds something else there than the index says
  // (the index is then wrong, not the log).
  ErrorOr<CheckedRecord> Read(const RecordRef& ref, lineage::RecordType type, std::string_view run) const;

 private:
  LogRecords() = default;
  // Whether leaf `seq` with HEAD `head` is in the note's tree.
  ErrorOr<void> ProveIncluded(std::uint64_t seq, std::string_view head) const;

  int fd_ = -1;
  std::string dir_;
  tlog::Checkpoint note_;
  std::string note_problem_;
  mutable std::mutex mutex_;
  mutable std::map<std::string, std::string> tiles_;  // tile path → bytes (a tree of one size)
};

}  // namespace gov::console
