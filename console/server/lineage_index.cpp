// The console's verified view of a lineage directory (lineage_index.h).
#include "console/server/lineage_index.h"

#include <sys/stat.h>

#include <chrono>
#include <fstream>
#include <sstream>

#include "runtime/lineage/log_io.h"
#include "runtime/lineage/report_json.h"

namespace gov::console {
namespace {

std::int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

LineageIndex::LineageIndex(std::string dir, std::vector<PinnedKey> keys)
    : dir_(std::move(dir)), keys_(std::move(keys)) {}

std::shared_ptr<const LineageSnapshot> LineageIndex::Current() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return current_;
}

ErrorOr<bool> LineageIndex::Refresh() {
  const std::string log_path = dir_ + "/" + std::string(lineage::kLogFileName);
  struct stat st {};
  if (stat(log_path.c_str(), &st) != 0) return Error{"cannot read " + log_path + ": " + std::strerror(errno)};
  const std::int64_t mtime_ns = static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
  if (current_ != nullptr && static_cast<std::uint64_t>(st.st_size) == seen_size_ && mtime_ns == seen_mtime_ns_) {
    return false;
  }
  auto snapshot = std::make_shared<LineageSnapshot>();
  const auto started = std::chrono::steady_clock::now();
  lineage::VerifyOptions options;
  for (const auto& key : keys_) {
    if (key.role == "lineage" || key.role == "both") options.trusted.push_back(key.key);
  }
  const lineage::Report report = lineage::Verify(dir_, options);
  // The bytes verified may have grown since: read no further than the size
  // Verify saw — the failure offset or the certified records lie within it.
  std::ifstream in(log_path, std::ios::binary);
  std::ostringstream bytes;
  bytes << in.rdbuf();
  if (!in && !in.eof()) return Error{"cannot read " + log_path};
  const std::string text = bytes.str();
  ProofViewerInput input;
  input.bytes = text;
  input.report = lineage::ReportToJson(report);
  input.keys = keys_;
  input.note = report.last_note;
  input.generator = "govconsole 0.1.0";
  snapshot->data = ProofViewerData(input);
  snapshot->report = input.report;
  snapshot->log_size = text.size();
  snapshot->log_modified_ns = mtime_ns;
  snapshot->verified_at_ns = NowNs();
  snapshot->verify_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  const auto& runs = snapshot->data["runs"];
  for (std::size_t i = 0; i < runs.size(); ++i) {
    const std::string id = runs[i].value("id", "");
    snapshot->by_id.emplace(id, i);
    const std::string parent = runs[i].value("parent", "");
    if (!parent.empty()) snapshot->children[parent].push_back(i);
  }
  std::lock_guard<std::mutex> lock(mutex_);
  snapshot->generation = ++generation_;
  seen_size_ = static_cast<std::uint64_t>(st.st_size);
  seen_mtime_ns_ = mtime_ns;
  current_ = std::move(snapshot);
  return true;
}

}  // namespace gov::console
