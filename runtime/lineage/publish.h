// The lineage log published as a transparency log (docs/lineage-format.md
// "Transparency log"): leaf i of an RFC 9162 Merkle tree is the HEAD of the
// record with seq i; the tree is kept as C2SP tlog-tiles under the lineage
// directory and its head as a signed C2SP checkpoint note, `checkpoint`.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "runtime/crypto/ed25519.h"
#include "runtime/lineage/log_io.h"
#include "runtime/support/error_or.h"
#include "runtime/tlog/checkpoint.h"
#include "runtime/tlog/note.h"
#include "runtime/tlog/tile.h"

namespace gov::lineage {

inline constexpr std::string_view kNoteFileName = "checkpoint";
// The writer's resume point; not part of the published log.
inline constexpr std::string_view kTlogStateFileName = "tlog.state";
// The last checkpoint record's DSSE envelope as a Sigstore bundle v0.3.
inline constexpr std::string_view kSigstoreBundleFileName = "checkpoint.sigstore.json";

// The Sigstore bundle (v0.3 JSON, a DSSE envelope verified by a public key
// named by its key id) of a checkpoint record's body; an error when the
// body is not {"envelope": …}.
ErrorOr<std::string> SigstoreBundleOf(std::string_view checkpoint_body);

// The checkpoint origin and note key name of log `log_id`: "gov-lineage/<id>".
std::string LogOrigin(std::string_view log_id);

// The note verifier of lineage key `key` for log `log_id`.
ErrorOr<tlog::NoteVerifier> LineageNoteVerifier(std::string_view log_id, const crypto::PublicKey& key);

// Opens a checkpoint note of log `log_id` with the note keys of `trusted`:
// the checkpoint, or an error; `signature_failure` tells a note no trusted
// key vouches for from one that does not parse.
ErrorOr<tlog::Checkpoint> OpenLineageNote(std::string_view note, std::string_view log_id,
                                          const std::vector<crypto::PublicKey>& trusted, bool& signature_failure);

// The checkpoint note in `dir`, if there is one (unverified; an error when
// it cannot be read or is larger than any note).
ErrorOr<std::optional<std::string>> ReadNoteFile(const std::string& dir);

// Tiles and entry bundles under `dir`/tile/. A partial tile that is no
// longer stored at its width (a writer replaced it by a wider one or by the
// full tile) is read as the prefix of its successor: tiles only grow.
class DirectoryTileSource final : public tlog::TileSource {
 public:
  explicit DirectoryTileSource(std::string dir) : dir_(std::move(dir)) {}
  ErrorOr<std::string> ReadTile(const tlog::Tile& tile) const override;
  // The entries of level 0 tile `tile` (exactly tile.width of them).
  ErrorOr<std::vector<std::string>> ReadEntries(const tlog::Tile& tile) const;
  // The path (relative to the directory) of the stored file that holds
  // `tile` or, when it was superseded, its successor (the full tile or the
  // narrowest wider partial one); none when there is neither.
  std::optional<std::string> Locate(const tlog::Tile& tile, bool entries) const;

 private:
  // The bytes of the file of `tile`, or, when that one is gone, of its
  // successor (`exact` false).
  ErrorOr<std::string> ReadGrowing(const tlog::Tile& tile, bool entries, bool* exact) const;
  std::string dir_;
};

// Keeps the published tree of one log current. Its caller holds the log's
// lock (or is its sole writer) across CatchUp, AddHead and Publish.
class TlogPublisher {
 public:
  // `file_mode`: permission bits of the files it writes (the log's).
  TlogPublisher(std::string dir, crypto::PrivateKey key, unsigned file_mode, bool sole_writer)
      : dir_(std::move(dir)), key_(std::move(key)), file_mode_(file_mode), sole_writer_(sole_writer) {}

  // Brings the tree up to the valid records of the log open as `log_fd`
  // that end at `tail.valid_end` (tail.next_seq of them): from the stored
  // resume point when it agrees with the note, the tiles and the log, else
  // rebuilt from the whole log. Complete tiles are written as they fill.
  ErrorOr<void> CatchUp(int log_fd, const Tail& tail);
  // Adds the record whose HEAD is `head` as the next leaf.
  ErrorOr<void> AddHead(std::string_view head);
  std::uint64_t size() const { return appender_.size(); }
  tlog::Hash RootHash() const { return appender_.RootHash(); }
  // Writes the partial tiles and entry bundles, the resume point (the log
  // ends at `log_end` after the last leaf's record), the Sigstore bundle of
  // the last leaf's checkpoint record (`checkpoint_body`) and the signed
  // note of the current tree, then removes partial tiles the new ones
  // superseded.
  ErrorOr<void> Publish(std::string_view log_id, std::uint64_t log_end, std::string_view checkpoint_body);

 private:
  // A partial tile (or entry bundle) as stored: its file and how many of
  // its bytes are the tile's.
  struct Stored {
    std::string path;
    std::uint64_t bytes = 0;
  };
  using StoredKey = std::tuple<bool, std::uint8_t, std::uint64_t>;  // entries?, level, index

  ErrorOr<void> Resume(int log_fd, const Tail& tail);
  void Reset();
  ErrorOr<void> AddLeaves(const std::vector<std::string>& heads);
  // Writes the tile (or entry bundle) `tile` at `relative`: the stored
  // prefix of the same tile, if any, is renamed there and appended to
  // (tiles only grow, so readers of an older note read the same prefix),
  // else a new file is written. No new inode, no rename over a file.
  ErrorOr<void> GrowFile(const StoredKey& key, const tlog::Tile& tile, const std::string& relative,
                         std::string_view data);
  ErrorOr<void> CreateFile(const std::string& relative, std::string_view data);
  // Replaces the file `name` (in the directory, not below) atomically: its
  // partner `.<name>.swap` is rewritten in place and the two exchanged.
  ErrorOr<void> ReplaceFile(const std::string& name, std::string_view data);
  ErrorOr<void> MakeParents(const std::string& relative);

  std::string dir_;
  crypto::PrivateKey key_;
  unsigned file_mode_;
  bool sole_writer_;
  bool loaded_ = false;
  std::uint64_t log_offset_ = 0;  // the log offset just after the last leaf's record
  tlog::TileAppender appender_;
  std::vector<std::string> edge_entries_;  // the entries of the level 0 partial tile
  // Partial tiles changed since the last Publish, by (level, index).
  std::map<std::pair<std::uint8_t, std::uint64_t>, tlog::TileContents> partial_;
  // The partial tiles and entry bundle on disk.
  std::map<StoredKey, Stored> stored_;
};

}  // namespace gov::lineage
