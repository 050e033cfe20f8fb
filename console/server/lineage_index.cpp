// The console's view of a lineage directory (lineage_index.h).
#include "console/server/lineage_index.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>

#include "runtime/lineage/format.h"
#include "runtime/lineage/publish.h"
#include "runtime/lineage/report_json.h"
#include "runtime/lineage/verify.h"
#include "runtime/support/clock.h"

namespace gov::console {
namespace {

// A verification of the whole log costs CPU in proportion to the log; after
// one that took T, the next starts no sooner than this many T later.
constexpr int kVerifyPause = 3;

}  // namespace

LineageIndex::LineageIndex(std::string dir, std::vector<PinnedKey> keys, std::string index_path)
    : dir_(std::move(dir)), keys_(std::move(keys)), index_path_(std::move(index_path)) {
  for (const auto& key : keys_) {
    if (key.role == "lineage" || key.role == "both") lineage_keys_.push_back(key.key);
  }
}

LineageIndex::~LineageIndex() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  changed_.notify_all();
  if (verifier_.joinable()) verifier_.join();
}

ErrorOr<void> LineageIndex::Start(const std::function<void(std::uint64_t, std::uint64_t)>& progress) {
  auto opened = RunIndex::Open(index_path_);
  if (!opened.ok()) return Error{"--index " + index_path_ + ": " + opened.error().message};
  {
    std::lock_guard<std::mutex> lock(index_mutex_);
    index_ = std::move(opened).value();
    const std::string log_path = dir_ + "/" + std::string(lineage::kLogFileName);
    if (auto updated = index_->Update(log_path, progress); !updated.ok()) return updated.error();
  }
  if (auto refreshed = Refresh(); !refreshed.ok()) return refreshed.error();
  verifier_ = std::thread([this] { VerifyLoop(); });
  return {};
}

ErrorOr<bool> LineageIndex::Refresh() {
  const std::string log_path = dir_ + "/" + std::string(lineage::kLogFileName);
  struct stat st {};
  if (stat(log_path.c_str(), &st) != 0) return Error{"cannot read " + log_path + ": " + std::strerror(errno)};
  const std::int64_t mtime_ns = static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
  auto note = lineage::ReadNoteFile(dir_);
  const std::string note_text = note.ok() && note.value() ? *note.value() : "";
  std::string distrusted;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (records_ != nullptr && static_cast<std::uint64_t>(st.st_size) == seen_size_ && mtime_ns == seen_mtime_ns_ &&
        distrusted_.empty() && note_text == note_text_) {
      return false;
    }
    distrusted = std::move(distrusted_);
    distrusted_.clear();
  }
  IndexUpdate update;
  std::string log_id;
  {
    std::lock_guard<std::mutex> lock(index_mutex_);
    if (!distrusted.empty()) {
      if (auto cleared = index_->Clear(); !cleared.ok()) return cleared.error();
    }
    auto updated = index_->Update(log_path);
    if (!updated.ok()) return updated.error();
    update = updated.value();
    log_id = index_->log_id();
  }
  // The log (it may be another file now) and the note, opened again.
  auto opened = LogRecords::Open(dir_, log_id, lineage_keys_);
  if (!opened.ok()) return opened.error();
  std::lock_guard<std::mutex> lock(mutex_);
  records_ = std::move(opened).value();
  note_text_ = note_text;
  seen_size_ = static_cast<std::uint64_t>(st.st_size);
  seen_mtime_ns_ = mtime_ns;
  verify_wanted_ = true;
  const bool changed = update.new_records > 0 || update.rebuilt || !distrusted.empty();
  if (changed) ++generation_;
  changed_.notify_all();
  return changed;
}

void LineageIndex::VerifyLoop() {
  std::unique_lock<std::mutex> lock(mutex_);
  while (true) {
    changed_.wait(lock, [this] { return verify_wanted_ || stopping_; });
    if (stopping_) return;
    verify_wanted_ = false;
    verification_.running = true;
    lock.unlock();
    const auto started = std::chrono::steady_clock::now();
    lineage::VerifyOptions options;
    options.trusted = lineage_keys_;
    const lineage::Report report = lineage::Verify(dir_, options);
    Verification done;
    done.done = true;
    done.report = lineage::ReportToJson(report);
    done.verified_at_ns = UnixNowNs();
    const auto took = std::chrono::steady_clock::now() - started;
    done.seconds = std::chrono::duration<double>(took).count();
    lock.lock();
    verification_ = std::move(done);
    ++generation_;
    changed_.notify_all();
    changed_.wait_for(lock, took * kVerifyPause, [this] { return stopping_; });
  }
}

std::uint64_t LineageIndex::generation() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return generation_;
}

void LineageIndex::WaitForChange(std::uint64_t after, std::chrono::milliseconds timeout,
                                 const std::function<bool()>& stop) {
  std::unique_lock<std::mutex> lock(mutex_);
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  // `stop` is polled: whoever sets it need not know this wait.
  while (generation_ <= after && !stopping_ && !stop() && std::chrono::steady_clock::now() < deadline) {
    changed_.wait_for(lock, std::chrono::milliseconds(200));
  }
}

Verification LineageIndex::LastVerification(std::chrono::milliseconds wait) {
  std::unique_lock<std::mutex> lock(mutex_);
  changed_.wait_for(lock, wait, [this] { return verification_.done || stopping_; });
  return verification_;
}

std::uint64_t LineageIndex::log_size() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return seen_size_;
}

std::int64_t LineageIndex::log_modified_ns() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return seen_mtime_ns_;
}

std::shared_ptr<const LogRecords> LineageIndex::Records() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return records_;
}

ErrorOr<RunList> LineageIndex::Find(const RunFilter& filter, std::uint64_t offset, std::uint64_t limit) {
  std::lock_guard<std::mutex> lock(index_mutex_);
  return index_->Find(filter, offset, limit);
}

ErrorOr<std::optional<RunRef>> LineageIndex::Run(const std::string& id) {
  std::lock_guard<std::mutex> lock(index_mutex_);
  return index_->Run(id);
}

ErrorOr<RunList> LineageIndex::Children(const std::string& id, std::uint64_t limit) {
  std::lock_guard<std::mutex> lock(index_mutex_);
  return index_->Children(id, limit);
}

ErrorOr<IndexTallies> LineageIndex::Tallies() {
  std::lock_guard<std::mutex> lock(index_mutex_);
  return index_->Tallies();
}

void LineageIndex::Distrust(const std::string& why) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (distrusted_.empty()) distrusted_ = why;
}

}  // namespace gov::console
