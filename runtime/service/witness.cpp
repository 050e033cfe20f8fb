// govd witness: check a lineage log's published checkpoint and cosign it.
#include "runtime/service/witness.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "runtime/lineage/format.h"
#include "runtime/lineage/publish.h"
#include "runtime/tlog/checkpoint.h"
#include "runtime/tlog/cosignature.h"
#include "runtime/tlog/merkle.h"
#include "runtime/tlog/note.h"
#include "runtime/tlog/tile.h"

namespace gov::service {
namespace {

constexpr std::string_view kOriginPrefix = "gov-lineage/";

ErrorOr<void> WriteAtomically(const std::string& path, const std::string& data) {
  const std::string temporary = path + ".tmp";
  const int fd = open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
  if (fd < 0) return Error{fmt::format("cannot create {}: {}", temporary, std::strerror(errno))};
  const bool written = write(fd, data.data(), data.size()) == static_cast<ssize_t>(data.size()) && fsync(fd) == 0;
  const int error = errno;
  close(fd);
  if (!written || rename(temporary.c_str(), path.c_str()) != 0) {
    unlink(temporary.c_str());
    return Error{fmt::format("cannot write {}: {}", path, std::strerror(written ? errno : error))};
  }
  return {};
}

WitnessOutcome Refuse(WitnessVerdict verdict, std::string log_id, std::string message) {
  WitnessOutcome outcome;
  outcome.verdict = verdict;
  outcome.log_id = std::move(log_id);
  outcome.message = std::move(message);
  return outcome;
}

}  // namespace

ErrorOr<WitnessOutcome> WitnessLog(const std::string& log_dir, const WitnessOptions& options) {
  GOV_ASSIGN_OR_RETURN(std::optional<std::string> text, lineage::ReadNoteFile(log_dir));
  if (!text) return Error{log_dir + " publishes no checkpoint note"};
  // The origin names the log; the pinned lineage keys must vouch for it.
  auto parsed = tlog::ParseNote(*text);
  auto claimed = parsed.ok() ? tlog::ParseCheckpoint(parsed.value().text) : ErrorOr<tlog::Checkpoint>(parsed.error());
  if (!claimed.ok()) return Refuse(WitnessVerdict::kUnsigned, "", "the checkpoint note: " + claimed.error().message);
  const std::string& origin = claimed.value().origin;
  const std::string log_id =
      origin.substr(0, kOriginPrefix.size()) == kOriginPrefix ? origin.substr(kOriginPrefix.size()) : "";
  if (!lineage::IsId(log_id))
    return Refuse(WitnessVerdict::kUnsigned, "", "the checkpoint note is not a lineage log's");
  bool signature_failure = false;
  auto opened = lineage::OpenLineageNote(*text, log_id, options.log_keys, signature_failure);
  if (!opened.ok()) return Refuse(WitnessVerdict::kUnsigned, log_id, opened.error().message);
  const tlog::Checkpoint& latest = opened.value();

  // What this witness cosigned before, checked as carefully as the log (its
  // own cosignature included: the state directory is not trusted blindly).
  const std::string state_dir = options.state_dir + "/" + log_id;
  GOV_ASSIGN_OR_RETURN(std::optional<std::string> earlier_text, lineage::ReadNoteFile(state_dir));
  WitnessOutcome outcome;
  outcome.log_id = log_id;
  outcome.size = latest.size;
  if (earlier_text) {
    auto earlier = lineage::OpenLineageNote(*earlier_text, log_id, options.log_keys, signature_failure);
    auto earlier_note = tlog::ParseNote(*earlier_text);
    if (!earlier.ok() || !earlier_note.ok() ||
        !tlog::FindCosignature(earlier_note.value(), options.key.public_key()).ok()) {
      return Error{fmt::format("{}/checkpoint is not a checkpoint this witness cosigned; not overwritten", state_dir)};
    }
    const tlog::Checkpoint& seen = earlier.value();
    outcome.previous_size = seen.size;
    if (latest.size < seen.size) {
      return Refuse(WitnessVerdict::kInconsistent, log_id,
                    fmt::format("rollback: the log publishes {} records, fewer than the {} this witness cosigned",
                                latest.size, seen.size));
    }
    if (latest.size == seen.size && latest.root_hash != seen.root_hash) {
      return Refuse(WitnessVerdict::kInconsistent, log_id,
                    fmt::format("fork: another tree head for the {} records this witness cosigned", seen.size));
    }
    if (latest.size > seen.size) {
      // The proof comes from the log's published tiles, as any tlog client
      // would get it.
      lineage::DirectoryTileSource tiles(log_dir);
      auto proof = tlog::ConsistencyProof(seen.size, latest.size, tlog::TileHashReader(latest.size, tiles));
      auto consistent =
          proof.ok() ? tlog::VerifyConsistency(seen.size, latest.size, proof.value(), seen.root_hash, latest.root_hash)
                     : ErrorOr<void>(proof.error());
      if (!consistent.ok()) {
        return Refuse(WitnessVerdict::kInconsistent, log_id,
                      fmt::format("fork: the tree of {} records does not extend the {} this witness cosigned: {}",
                                  latest.size, seen.size, consistent.error().message));
      }
    }
  }
  GOV_ASSIGN_OR_RETURN(tlog::NoteSignature cosignature,
                       tlog::Cosign(parsed.value().text, options.name, options.key, options.now));
  tlog::Note cosigned = parsed.value();
  std::erase_if(cosigned.signatures,
                [&](const tlog::NoteSignature& line) { return line.key_id == cosignature.key_id; });
  cosigned.signatures.push_back(std::move(cosignature));
  if (mkdir(options.state_dir.c_str(), 0755) != 0 && errno != EEXIST) {
    return Error{fmt::format("cannot create {}: {}", options.state_dir, std::strerror(errno))};
  }
  if (mkdir(state_dir.c_str(), 0755) != 0 && errno != EEXIST) {
    return Error{fmt::format("cannot create {}: {}", state_dir, std::strerror(errno))};
  }
  outcome.cosigned_path = state_dir + "/" + std::string(lineage::kNoteFileName);
  GOV_RETURN_IF_ERROR(WriteAtomically(outcome.cosigned_path, tlog::FormatNote(cosigned)));
  return outcome;
}

}  // namespace gov::service
