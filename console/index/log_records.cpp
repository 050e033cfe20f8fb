// Records re-read from the log and checked (log_records.h).
#include "console/index/log_records.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>

#include "runtime/lineage/log_io.h"
#include "runtime/lineage/publish.h"
#include "runtime/tlog/merkle.h"
#include "runtime/tlog/tile.h"

namespace gov::console {
namespace {

// Tiles kept in memory per note (a proof in a tree of a million leaves
// reads three; pages of runs share most of them).
constexpr std::size_t kTilesKept = 4096;

// The directory's tiles through a cache shared by the readers of one note.
class CachedTiles final : public tlog::TileSource {
 public:
  CachedTiles(const std::string& dir, std::mutex& mutex, std::map<std::string, std::string>& cache)
      : source_(dir), mutex_(mutex), cache_(cache) {}
  ErrorOr<std::string> ReadTile(const tlog::Tile& tile) const override {
    const std::string key = tlog::TilePath(tile);
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (auto found = cache_.find(key); found != cache_.end()) return found->second;
    }
    auto bytes = source_.ReadTile(tile);
    if (!bytes.ok()) return bytes;
    std::lock_guard<std::mutex> lock(mutex_);
    if (cache_.size() >= kTilesKept) cache_.clear();
    cache_.emplace(key, bytes.value());
    return bytes;
  }

 private:
  lineage::DirectoryTileSource source_;
  std::mutex& mutex_;
  std::map<std::string, std::string>& cache_;
};

}  // namespace

lineage::Head CheckedRecord::Head() const {
  auto head = lineage::ParseHead(lineage::Split(text).head);
  return head.ok() ? head.value() : lineage::Head{};
}

ErrorOr<std::unique_ptr<LogRecords>> LogRecords::Open(const std::string& dir, std::string_view log_id,
                                                      const std::vector<crypto::PublicKey>& trusted) {
  std::unique_ptr<LogRecords> records(new LogRecords());
  records->dir_ = dir;
  const std::string path = dir + "/" + std::string(lineage::kLogFileName);
  records->fd_ = open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
  if (records->fd_ < 0) return Error{"cannot read " + path + ": " + std::strerror(errno)};
  auto note = lineage::ReadNoteFile(dir);
  if (!note.ok()) {
    records->note_problem_ = note.error().message;
  } else if (!note.value()) {
    records->note_problem_ = "the directory has no checkpoint note";
  } else {
    bool signature_failure = false;
    auto opened = lineage::OpenLineageNote(*note.value(), log_id, trusted, signature_failure);
    if (opened.ok()) {
      records->note_ = opened.value();
    } else {
      records->note_problem_ = "the checkpoint note: " + opened.error().message;
    }
  }
  return records;
}

LogRecords::~LogRecords() {
  if (fd_ >= 0) close(fd_);
}

ErrorOr<void> LogRecords::ProveIncluded(std::uint64_t seq, std::string_view head) const {
  const CachedTiles tiles(dir_, mutex_, tiles_);
  const tlog::TileHashReader reader(note_.size, tiles);
  auto proof = tlog::InclusionProof(seq, note_.size, reader);
  if (!proof.ok()) return proof.error();
  return tlog::VerifyInclusion(tlog::LeafHash(head), seq, note_.size, proof.value(), note_.root_hash);
}

ErrorOr<CheckedRecord> LogRecords::Read(const RecordRef& ref, lineage::RecordType type, std::string_view run) const {
  const std::string where = "record " + std::to_string(ref.seq) + " at byte " + std::to_string(ref.offset);
  if (ref.length == 0 || ref.length > lineage::kMaxRecordBytes) return Error{where + ": not a record's length"};
  CheckedRecord record;
  record.text.resize(static_cast<std::size_t>(ref.length) + 1);
  std::size_t done = 0;
  while (done < record.text.size()) {
    const ssize_t got =
        pread(fd_, record.text.data() + done, record.text.size() - done, static_cast<off_t>(ref.offset + done));
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) return Error{where + ": the log is shorter than the index says"};
    done += static_cast<std::size_t>(got);
  }
  if (record.text.back() != '\n') return Error{where + ": not a whole line of the log"};
  record.text.pop_back();
  const lineage::SplitLine split = lineage::Split(record.text);
  auto head = lineage::ParseHead(split.head);
  if (!head.ok()) return Error{where + ": " + head.error().message};
  const lineage::Head& h = head.value();
  if (h.seq != ref.seq || h.type != type || (!run.empty() && h.run != run)) {
    return Error{where + ": the log holds another record there than the index says"};
  }
  if (!split.has_body || lineage::DigestOf(split.body) != h.body) {
    record.problem = where + ": its BODY is not the one its HEAD names";
  } else if (h.seq < note_.size) {
    if (auto proven = ProveIncluded(h.seq, split.head); !proven.ok()) {
      record.problem = where + ": not in the tree of the signed checkpoint note: " + proven.error().message;
    } else {
      record.certified = true;
    }
  }
  auto body = lineage::ParseUntrusted(split.body);
  if (body.ok()) {
    record.body = std::move(body).value();
  } else if (record.problem.empty()) {
    record.problem = where + ": " + body.error().message;
    record.certified = false;
  }
  return record;
}

}  // namespace gov::console
