// The lineage log's tiles, entry bundles and signed checkpoint note.
#include "runtime/lineage/publish.h"

#include <dirent.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <linux/fs.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <sstream>

#include "runtime/lineage/format.h"

namespace gov::lineage {
namespace {

constexpr std::uint64_t kReadChunk = 1u << 20;

std::string Errno(const std::string& what) {
  return fmt::format("{}: {}", what, std::strerror(errno));
}

// The whole file at `path`; `missing` is set (and an error returned) when it
// does not exist. Files here are tiles and notes: at most 256 entries of 64 KiB.
ErrorOr<std::string> ReadSmallFile(const std::string& path, bool* missing = nullptr, ino_t* inode = nullptr) {
  // O_NONBLOCK: a FIFO planted in its place must not hang the reader.
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
  if (fd < 0) {
    if (missing != nullptr) *missing = errno == ENOENT;
    return Error{Errno("cannot open " + path)};
  }
  struct stat st {};
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    close(fd);
    return Error{path + " is not a regular file"};
  }
  if (inode != nullptr) *inode = st.st_ino;
  std::string out;
  char buffer[65536];
  while (true) {
    ssize_t n = read(fd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const Error error{Errno("cannot read " + path)};
      close(fd);
      return error;
    }
    if (n == 0) break;
    out.append(buffer, static_cast<std::size_t>(n));
    if (out.size() > 256 * (tlog::kMaxEntrySize + 2)) {
      close(fd);
      return Error{path + ": larger than any tile or note"};
    }
  }
  close(fd);
  return out;
}

std::string PartialDirectory(const tlog::Tile& tile, bool entries) {
  const tlog::Tile full{tile.level, tile.index, tlog::kTileWidth};
  return (entries ? tlog::EntryBundlePath(full) : tlog::TilePath(full)) + ".p";
}

std::string PathOf(const tlog::Tile& tile, bool entries) {
  return entries ? tlog::EntryBundlePath(tile) : tlog::TilePath(tile);
}

// The record lines of `log_fd` in [from, to), read in chunks: `line` gets
// each complete line without its LF.
template <typename OnLine>
ErrorOr<void> ForEachLine(int log_fd, std::uint64_t from, std::uint64_t to, OnLine on_line) {
  std::string buffer;
  std::uint64_t offset = from;
  while (offset < to) {
    const std::uint64_t want = std::min<std::uint64_t>(kReadChunk, to - offset);
    const std::size_t old = buffer.size();
    buffer.resize(old + want);
    ssize_t n = pread(log_fd, buffer.data() + old, want, static_cast<off_t>(offset));
    if (n < 0 && errno == EINTR) {
      buffer.resize(old);
      continue;
    }
    if (n <= 0) return Error{n < 0 ? Errno("lineage log: read failed") : "lineage log: file shrank while reading"};
    buffer.resize(old + static_cast<std::size_t>(n));
    offset += static_cast<std::uint64_t>(n);
    std::size_t start = 0;
    for (std::size_t lf; (lf = buffer.find('\n', start)) != std::string::npos; start = lf + 1) {
      GOV_RETURN_IF_ERROR(on_line(std::string_view(buffer).substr(start, lf - start)));
    }
    buffer.erase(0, start);
    if (buffer.size() > 2 * kMaxRecordBytes) return Error{"lineage log: a line longer than any record"};
  }
  return {};
}

}  // namespace

std::string LogOrigin(std::string_view log_id) {
  return "gov-lineage/" + std::string(log_id);
}

ErrorOr<tlog::NoteVerifier> LineageNoteVerifier(std::string_view log_id, const crypto::PublicKey& key) {
  return tlog::NoteVerifier::Create(LogOrigin(log_id), key);
}

ErrorOr<tlog::Checkpoint> OpenLineageNote(std::string_view note, std::string_view log_id,
                                          const std::vector<crypto::PublicKey>& trusted, bool& signature_failure) {
  signature_failure = false;
  std::vector<tlog::NoteVerifier> known;
  for (const auto& key : trusted) {
    GOV_ASSIGN_OR_RETURN(tlog::NoteVerifier verifier, LineageNoteVerifier(log_id, key));
    known.push_back(std::move(verifier));
  }
  auto parsed = tlog::ParseNote(note);
  if (!parsed.ok()) return Error{"checkpoint note: " + parsed.error().message};
  auto opened = tlog::OpenNote(note, known);
  if (!opened.ok()) {
    signature_failure = true;
    return Error{"checkpoint note: " + opened.error().message};
  }
  auto checkpoint = tlog::ParseCheckpoint(opened.value().text);
  if (!checkpoint.ok()) return Error{"checkpoint note: " + checkpoint.error().message};
  if (checkpoint.value().origin != LogOrigin(log_id)) {
    return Error{fmt::format("checkpoint note: origin is not {}", LogOrigin(log_id))};
  }
  if (!checkpoint.value().extensions.empty()) return Error{"checkpoint note: unexpected extension lines"};
  return std::move(checkpoint).value();
}

ErrorOr<std::optional<std::string>> ReadNoteFile(const std::string& dir) {
  bool missing = false;
  auto note = ReadSmallFile(dir + "/" + std::string(kNoteFileName), &missing);
  if (!note.ok()) {
    if (missing) return std::optional<std::string>();
    return note.error();
  }
  if (note.value().size() > 64 * 1024) return Error{dir + "/checkpoint: larger than any checkpoint note"};
  return std::optional<std::string>(std::move(note).value());
}

std::optional<std::string> DirectoryTileSource::Locate(const tlog::Tile& tile, bool entries) const {
  struct stat st {};
  const std::string exact = PathOf(tile, entries);
  if (lstat((dir_ + "/" + exact).c_str(), &st) == 0) return exact;
  if (tile.width == tlog::kTileWidth) return std::nullopt;
  const std::string full = PathOf(tlog::Tile{tile.level, tile.index, tlog::kTileWidth}, entries);
  if (lstat((dir_ + "/" + full).c_str(), &st) == 0) return full;
  const std::string partials = PartialDirectory(tile, entries);
  DIR* listing = opendir((dir_ + "/" + partials).c_str());
  if (listing == nullptr) return std::nullopt;
  unsigned best = 0;
  while (const dirent* entry = readdir(listing)) {
    char* end = nullptr;
    const unsigned long width = std::strtoul(entry->d_name, &end, 10);
    if (end == entry->d_name || *end != '\0' || width <= tile.width || width >= tlog::kTileWidth) continue;
    if (best == 0 || width < best) best = static_cast<unsigned>(width);
  }
  closedir(listing);
  if (best == 0) return std::nullopt;
  return PathOf(tlog::Tile{tile.level, tile.index, static_cast<std::uint16_t>(best)}, entries);
}

ErrorOr<std::string> DirectoryTileSource::ReadGrowing(const tlog::Tile& tile, bool entries, bool* exact) const {
  bool missing = false;
  *exact = true;
  ino_t inode = 0;
  const std::string path = dir_ + "/" + PathOf(tile, entries);
  auto read = ReadSmallFile(path, &missing, &inode);
  if (read.ok() && tile.width != tlog::kTileWidth) {
    // A writer may have renamed this file to its successor's name and
    // appended while it was read: then what was read is a successor.
    struct stat st {};
    if (lstat(path.c_str(), &st) != 0 || st.st_ino != inode) *exact = false;
  }
  if (read.ok() || !missing || tile.width == tlog::kTileWidth) return read;
  // Superseded: a writer renamed it to a wider partial tile or to the full
  // tile as the tile grew (and may rename that one too while it is looked
  // for, so look a few times).
  *exact = false;
  for (int attempt = 0; attempt < 16; ++attempt) {
    // A directory listing may miss a file renamed while it is read: look again.
    const std::optional<std::string> successor = Locate(tile, entries);
    if (!successor) continue;
    auto wider = ReadSmallFile(dir_ + "/" + *successor, &missing);
    if (wider.ok() || !missing) return wider;
  }
  return read;
}

ErrorOr<std::string> DirectoryTileSource::ReadTile(const tlog::Tile& tile) const {
  bool exact = true;
  GOV_ASSIGN_OR_RETURN(std::string data, ReadGrowing(tile, /*entries=*/false, &exact));
  const std::size_t want = std::size_t{tile.width} * tlog::kHashSize;
  // A successor holds the tile as its prefix (the rest may still be being
  // appended); the tile's own file must be exactly the tile.
  if (!exact && data.size() > want) data.resize(want);
  if (data.size() != want) {
    return Error{fmt::format("{}: {} bytes where a tile of {} hashes has {}", tlog::TilePath(tile), data.size(),
                             tile.width, want)};
  }
  return data;
}

ErrorOr<std::vector<std::string>> DirectoryTileSource::ReadEntries(const tlog::Tile& tile) const {
  bool exact = true;
  GOV_ASSIGN_OR_RETURN(std::string data, ReadGrowing(tile, /*entries=*/true, &exact));
  if (exact) {
    GOV_ASSIGN_OR_RETURN(std::vector<std::string> entries, tlog::DecodeEntryBundle(data));
    if (entries.size() != tile.width) {
      return Error{fmt::format("{}: {} entries where it has {}", EntryBundlePath(tile), entries.size(), tile.width)};
    }
    return entries;
  }
  // A successor: its first tile.width entries (a torn tail after them is a
  // writer's append in progress, or one a crash interrupted).
  std::vector<std::string> entries;
  std::size_t at = 0;
  while (entries.size() < tile.width) {
    if (data.size() - at < 2) break;
    const std::size_t length = (static_cast<unsigned char>(data[at]) << 8) | static_cast<unsigned char>(data[at + 1]);
    if (data.size() - at - 2 < length) break;
    entries.emplace_back(data.substr(at + 2, length));
    at += 2 + length;
  }
  if (entries.size() != tile.width) {
    return Error{fmt::format("{}: its successor holds {} entries where {} are needed", EntryBundlePath(tile),
                             entries.size(), tile.width)};
  }
  return entries;
}

void TlogPublisher::Reset() {
  appender_ = tlog::TileAppender();
  edge_entries_.clear();
  partial_.clear();
  stored_.clear();
  log_offset_ = 0;
  // Rebuilt from the log: no file of an earlier tree may be read as a
  // prefix of the new one.
  std::error_code ignored;
  std::filesystem::remove_all(dir_ + "/tile", ignored);
}

ErrorOr<void> TlogPublisher::Resume(int log_fd, const Tail& tail) {
  // "gov-tlog-state 1 <size> <log offset>\n"
  GOV_ASSIGN_OR_RETURN(std::string state, ReadSmallFile(dir_ + "/" + std::string(kTlogStateFileName)));
  std::istringstream in(state);
  std::string magic;
  int version = 0;
  std::uint64_t size = 0, offset = 0;
  if (!(in >> magic >> version >> size >> offset) || magic != "gov-tlog-state" || version != 1) {
    return Error{"tlog.state is not a resume point"};
  }
  GOV_ASSIGN_OR_RETURN(std::string note, ReadSmallFile(dir_ + "/" + std::string(kNoteFileName)));
  bool signature_failure = false;
  GOV_ASSIGN_OR_RETURN(tlog::Checkpoint checkpoint,
                       OpenLineageNote(note, tail.log_id, {key_.public_key()}, signature_failure));
  // The state is written after the note: a writer killed in between left it
  // behind the note; the records between them are found by reading on.
  if (size > checkpoint.size) return Error{"tlog.state is ahead of the note"};
  if (offset > tail.valid_end || checkpoint.size > tail.next_seq) {
    return Error{"the log is shorter than its published tree"};
  }
  if (size < checkpoint.size) {
    std::uint64_t seq = size;
    const std::uint64_t from = offset;
    auto read = ForEachLine(log_fd, from, tail.valid_end, [&](std::string_view line) -> ErrorOr<void> {
      if (seq == checkpoint.size) return {};
      const SplitLine split = Split(line);
      auto head = split.has_body ? ParseHead(split.head) : ErrorOr<Head>(Error{""});
      if (head.ok() && DigestOf(split.body) == head.value().body) {
        if (head.value().seq != seq) return Error{"the records after tlog.state are not the next leaves"};
        ++seq;
      }
      offset += line.size() + 1;
      return {};
    });
    if (!read.ok()) return read.error();
    if (seq != checkpoint.size) return Error{"the log does not reach the note's size"};
    size = checkpoint.size;
  }
  if (offset < tail.valid_end) {
    // The next record must be leaf `size`.
    char buffer[1024];
    ssize_t n = pread(log_fd, buffer, sizeof buffer, static_cast<off_t>(offset));
    if (n <= 0) return Error{"cannot read the log at the resume point"};
    std::string_view text(buffer, static_cast<std::size_t>(n));
    const std::size_t tab = text.find('\t');
    if (tab == std::string_view::npos) return Error{"no record at the resume point"};
    auto head = ParseHead(text.substr(0, tab));
    if (!head.ok() || head.value().seq != size) return Error{"the record at the resume point is not the next leaf"};
  } else if (tail.next_seq != size) {
    return Error{"the resume point is the log's end but the tree is not the whole log"};
  }
  DirectoryTileSource source(dir_);
  GOV_ASSIGN_OR_RETURN(tlog::TileAppender appender, tlog::TileAppender::Resume(size, source));
  if (appender.RootHash() != checkpoint.root_hash) return Error{"the tiles do not give the note's tree head"};
  std::vector<std::string> entries;
  if (const auto width = static_cast<std::uint16_t>(size % tlog::kTileWidth); width != 0) {
    const tlog::Tile tile{0, size / tlog::kTileWidth, width};
    GOV_ASSIGN_OR_RETURN(entries, source.ReadEntries(tile));
    GOV_ASSIGN_OR_RETURN(std::string hashes, source.ReadTile(tile));
    for (std::size_t i = 0; i < entries.size(); ++i) {
      const tlog::Hash leaf = tlog::LeafHash(entries[i]);
      if (std::memcmp(leaf.data(), hashes.data() + i * tlog::kHashSize, tlog::kHashSize) != 0) {
        return Error{"an entry bundle does not match its tile"};
      }
    }
  }
  std::map<StoredKey, Stored> stored;
  for (const tlog::Tile& tile : tlog::PartialTiles(size)) {
    const std::optional<std::string> path = source.Locate(tile, /*entries=*/false);
    if (!path) return Error{"a partial tile is gone"};
    stored[{false, tile.level, tile.index}] = Stored{*path, std::uint64_t{tile.width} * tlog::kHashSize};
  }
  if (!entries.empty()) {
    const tlog::Tile tile{0, size / tlog::kTileWidth, static_cast<std::uint16_t>(entries.size())};
    const std::optional<std::string> path = source.Locate(tile, /*entries=*/true);
    if (!path) return Error{"a partial entry bundle is gone"};
    std::uint64_t bytes = 0;
    for (const std::string& entry : entries) bytes += 2 + entry.size();
    stored[{true, 0, tile.index}] = Stored{*path, bytes};
  }
  appender_ = std::move(appender);
  edge_entries_ = std::move(entries);
  partial_.clear();
  stored_ = std::move(stored);
  log_offset_ = offset;
  return {};
}

ErrorOr<void> TlogPublisher::CatchUp(int log_fd, const Tail& tail) {
  if (!loaded_ || !sole_writer_) {
    // Another writer may have published since (or nobody ever did): start
    // from what is stored, or from nothing.
    if (!Resume(log_fd, tail).ok()) Reset();
    loaded_ = true;
  }
  if (log_offset_ > tail.valid_end) return Error{"lineage: the log is shorter than its published tree"};
  std::vector<std::string> heads;
  auto read = ForEachLine(log_fd, log_offset_, tail.valid_end, [&](std::string_view line) -> ErrorOr<void> {
    const SplitLine split = Split(line);
    if (!split.has_body) return {};
    auto head = ParseHead(split.head);
    // Torn bytes are not records (a recovery record accounts for them).
    if (!head.ok() || DigestOf(split.body) != head.value().body) return {};
    if (head.value().seq != size() + heads.size()) {
      return Error{fmt::format("lineage: record seq {} where the published tree expects {}", head.value().seq,
                               size() + heads.size())};
    }
    heads.emplace_back(split.head);
    if (heads.size() == 4096) {
      GOV_RETURN_IF_ERROR(AddLeaves(heads));
      heads.clear();
    }
    return {};
  });
  if (!read.ok()) return read;
  GOV_RETURN_IF_ERROR(AddLeaves(heads));
  log_offset_ = tail.valid_end;
  if (size() != tail.next_seq) {
    return Error{fmt::format("lineage: the log has {} records but {} were found", tail.next_seq, size())};
  }
  return {};
}

ErrorOr<void> TlogPublisher::AddHead(std::string_view head) {
  return AddLeaves({std::string(head)});
}

ErrorOr<void> TlogPublisher::AddLeaves(const std::vector<std::string>& heads) {
  if (heads.empty()) return {};
  std::vector<tlog::Hash> leaves;
  leaves.reserve(heads.size());
  std::uint64_t index = size();
  for (const std::string& head : heads) {
    if (head.size() > tlog::kMaxEntrySize) return Error{"lineage: a HEAD longer than a tile entry"};
    leaves.push_back(tlog::LeafHash(head));
    edge_entries_.push_back(head);
    if (edge_entries_.size() == tlog::kTileWidth) {
      GOV_ASSIGN_OR_RETURN(std::string bundle, tlog::EncodeEntryBundle(edge_entries_));
      const tlog::Tile full{0, index / tlog::kTileWidth, tlog::kTileWidth};
      GOV_RETURN_IF_ERROR(GrowFile({true, 0, full.index}, full, tlog::EntryBundlePath(full), bundle));
      edge_entries_.clear();
    }
    ++index;
  }
  for (tlog::TileContents& tile : appender_.Append(leaves)) {
    if (tile.tile.width == tlog::kTileWidth) {
      GOV_RETURN_IF_ERROR(
          GrowFile({false, tile.tile.level, tile.tile.index}, tile.tile, tlog::TilePath(tile.tile), tile.hashes));
      partial_.erase({tile.tile.level, tile.tile.index});
    } else {
      const auto key = std::make_pair(tile.tile.level, tile.tile.index);
      partial_[key] = std::move(tile);
    }
  }
  return {};
}

ErrorOr<void> TlogPublisher::MakeParents(const std::string& relative) {
  // Directories as searchable as the files are readable.
  const unsigned dir_mode = 0700 | ((file_mode_ & 0040) != 0 ? 0050 : 0) | ((file_mode_ & 0004) != 0 ? 0005 : 0);
  for (std::size_t slash = relative.find('/'); slash != std::string::npos; slash = relative.find('/', slash + 1)) {
    const std::string parent = dir_ + "/" + relative.substr(0, slash);
    if (mkdir(parent.c_str(), dir_mode) != 0 && errno != EEXIST)
      return Error{Errno("lineage: cannot create " + parent)};
  }
  return {};
}

namespace {

// Writes `data` at `offset` of the open file `fd` and cuts it there.
ErrorOr<void> WriteAt(int fd, std::string_view data, std::uint64_t offset, const std::string& path) {
  std::size_t done = 0;
  while (done < data.size()) {
    ssize_t n = pwrite(fd, data.data() + done, data.size() - done, static_cast<off_t>(offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Error{Errno("lineage: cannot write " + path)};
    done += static_cast<std::size_t>(n);
  }
  if (ftruncate(fd, static_cast<off_t>(offset + data.size())) != 0)
    return Error{Errno("lineage: cannot write " + path)};
  return {};
}

}  // namespace

ErrorOr<void> TlogPublisher::CreateFile(const std::string& relative, std::string_view data) {
  GOV_RETURN_IF_ERROR(MakeParents(relative));
  const std::string path = dir_ + "/" + relative;
  const int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, file_mode_);
  if (fd < 0) return Error{Errno("lineage: cannot create " + path)};
  auto written = WriteAt(fd, data, 0, path);
  close(fd);
  return written;
}

ErrorOr<void> TlogPublisher::GrowFile(const StoredKey& key, const tlog::Tile& tile, const std::string& relative,
                                      std::string_view data) {
  auto it = stored_.find(key);
  if (it == stored_.end() || it->second.bytes > data.size()) {
    GOV_RETURN_IF_ERROR(CreateFile(relative, data));
  } else {
    const std::string path = dir_ + "/" + relative;
    if (it->second.path != relative) {
      GOV_RETURN_IF_ERROR(MakeParents(relative));
      if (rename((dir_ + "/" + it->second.path).c_str(), path.c_str()) != 0) {
        return Error{Errno("lineage: cannot rename " + it->second.path + " to " + relative)};
      }
    }
    const int fd = open(path.c_str(), O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) return Error{Errno("lineage: cannot open " + path)};
    auto written = WriteAt(fd, data.substr(it->second.bytes), it->second.bytes, path);
    close(fd);
    GOV_RETURN_IF_ERROR(written);
  }
  if (tile.width == tlog::kTileWidth) {
    stored_.erase(key);
    // Its partial predecessors' directory, now empty.
    rmdir((dir_ + "/" + PartialDirectory(tile, std::get<0>(key))).c_str());
  } else {
    stored_[key] = Stored{relative, data.size()};
  }
  return {};
}

ErrorOr<void> TlogPublisher::ReplaceFile(const std::string& name, std::string_view data) {
  const std::string path = dir_ + "/" + name;
  const std::string partner = dir_ + "/." + name + ".swap";
  const int fd = open(partner.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, file_mode_);
  if (fd < 0) return Error{Errno("lineage: cannot open " + partner)};
  auto written = WriteAt(fd, data, 0, partner);
  close(fd);
  GOV_RETURN_IF_ERROR(written);
  // Exchanged, not renamed over: replacing a file by rename makes ext4
  // flush the new one at once (auto_da_alloc), which costs more than the
  // whole publication; the old version becomes the next partner.
  if (syscall(SYS_renameat2, AT_FDCWD, partner.c_str(), AT_FDCWD, path.c_str(), RENAME_EXCHANGE) == 0) return {};
  if (errno != ENOENT && errno != EINVAL && errno != ENOSYS) return Error{Errno("lineage: cannot replace " + path)};
  // The first time (nothing to exchange with), or a file system without
  // exchange: a plain rename.
  if (rename(partner.c_str(), path.c_str()) != 0) return Error{Errno("lineage: cannot replace " + path)};
  return {};
}

ErrorOr<std::string> SigstoreBundleOf(std::string_view checkpoint_body) {
  auto body = ParseUntrusted(checkpoint_body);
  if (!body.ok()) return body.error();
  try {
    const nlohmann::json& envelope = body.value().at("envelope");
    const std::string keyid = envelope.at("signatures").at(0).value("keyid", std::string());
    const nlohmann::json bundle = {
        {"mediaType", "application/vnd.dev.sigstore.bundle.v0.3+json"},
        {"verificationMaterial", {{"publicKey", {{"hint", keyid}}}, {"tlogEntries", nlohmann::json::array()}}},
        {"dsseEnvelope", envelope}};
    return bundle.dump(2) + "\n";
  } catch (const nlohmann::json::exception& e) {
    return Error{std::string("a checkpoint body that is not a DSSE envelope: ") + e.what()};
  }
}

ErrorOr<void> TlogPublisher::Publish(std::string_view log_id, std::uint64_t log_end, std::string_view checkpoint_body) {
  if (size() == 0) return {};
  for (const auto& [key, tile] : partial_) {
    GOV_RETURN_IF_ERROR(
        GrowFile({false, tile.tile.level, tile.tile.index}, tile.tile, tlog::TilePath(tile.tile), tile.hashes));
  }
  partial_.clear();
  if (!edge_entries_.empty()) {
    const tlog::Tile tile{0, size() / tlog::kTileWidth, static_cast<std::uint16_t>(edge_entries_.size())};
    GOV_ASSIGN_OR_RETURN(std::string bundle, tlog::EncodeEntryBundle(edge_entries_));
    GOV_RETURN_IF_ERROR(GrowFile({true, 0, tile.index}, tile, tlog::EntryBundlePath(tile), bundle));
  }
  log_offset_ = log_end;
  GOV_ASSIGN_OR_RETURN(tlog::NoteSigner signer, tlog::NoteSigner::Create(LogOrigin(log_id), key_));
  tlog::Checkpoint checkpoint{LogOrigin(log_id), size(), RootHash(), {}};
  GOV_ASSIGN_OR_RETURN(std::string note, tlog::SignCheckpoint(checkpoint, std::span(&signer, 1)));
  GOV_ASSIGN_OR_RETURN(std::string sigstore, SigstoreBundleOf(checkpoint_body));
  GOV_RETURN_IF_ERROR(ReplaceFile(std::string(kSigstoreBundleFileName), sigstore));
  GOV_RETURN_IF_ERROR(ReplaceFile(std::string(kNoteFileName), note));
  // Last: a writer killed before this resumes from the note by reading on.
  return ReplaceFile(std::string(kTlogStateFileName), fmt::format("gov-tlog-state 1 {} {}\n", size(), log_offset_));
}

}  // namespace gov::lineage
