// The lineage log as a transparency log (docs/lineage-format.md
// "Transparency log"): what a writer publishes is what a client outside gov
// reads (note, tiles, entry bundles, proofs), and every change to the
// published directory, every rollback and every fork is caught.
#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <sstream>

#include "runtime/crypto/sha256.h"
#include "runtime/lineage/log_io.h"
#include "runtime/lineage/publish.h"
#include "runtime/lineage/verify.h"
#include "runtime/tlog/checkpoint.h"
#include "runtime/tlog/merkle.h"
#include "runtime/tlog/tile.h"
#include "tests/lineage/helpers.h"

namespace gov::lineage {
namespace {

namespace fs = std::filesystem;

std::vector<std::string> Heads(const std::string& log_path) {
  std::vector<std::string> heads;
  for (const std::string& line : Lines(ReadFile(log_path))) heads.emplace_back(Split(line).head);
  return heads;
}

tlog::Checkpoint OpenNoteOf(const std::string& dir, const std::string& log_id, const crypto::PublicKey& key) {
  bool signature_failure = false;
  auto checkpoint = OpenLineageNote(ReadFile(dir + "/checkpoint"), log_id, {key}, signature_failure);
  INFO((checkpoint.ok() ? "" : checkpoint.error().message));
  REQUIRE(checkpoint.ok());
  return checkpoint.value();
}

Report VerifyDir(const std::string& dir, const crypto::PrivateKey& key, const std::string& since = "") {
  VerifyOptions options = Trusting(key);
  options.since_checkpoint = since;
  return Verify(dir, options);
}

void CopyTree(const std::string& from, const std::string& to) {
  fs::copy(from, to, fs::copy_options::recursive | fs::copy_options::overwrite_existing);
}

TEST_CASE("tlog: the published log is what a tlog client reads: note, tiles, entries, proofs", "[lineage][tlog]") {
  TempDir dir;
  const crypto::PrivateKey key = TestKey(7);
  // 100 invocations of 4 records: over a full tile of 256 leaves, so full
  // and partial tiles at level 0 and a partial one at level 1.
  AppendSampleRuns(dir.path, key, 100);
  const std::vector<std::string> heads = Heads(dir.path + "/lineage.log");
  REQUIRE(heads.size() == 401);
  auto head = ParseHead(heads[0]);
  REQUIRE(head.ok());
  const std::string log_id(head.value().log);

  // The note: C2SP checkpoint signed by the lineage key under the log's origin.
  const tlog::Checkpoint note = OpenNoteOf(dir.path, log_id, key.public_key());
  CHECK(note.origin == "gov-lineage/" + log_id);
  CHECK(note.size == heads.size());
  tlog::CompactTree tree;
  for (const std::string& text : heads) tree.AppendLeafHash(tlog::LeafHash(text));
  CHECK(note.root_hash == tree.RootHash());

  // The tiles give the same head and every record's inclusion proof; the
  // entry bundles hold exactly the HEADs.
  DirectoryTileSource tiles(dir.path);
  const tlog::TileHashReader reader(note.size, tiles);
  auto tree_head = tlog::TreeHash(note.size, reader);
  REQUIRE(tree_head.ok());
  CHECK(tree_head.value() == note.root_hash);
  for (std::uint64_t i = 0; i < note.size; ++i) {
    auto proof = tlog::InclusionProof(i, note.size, reader);
    REQUIRE(proof.ok());
    REQUIRE(tlog::VerifyInclusion(tlog::LeafHash(heads[i]), i, note.size, proof.value(), note.root_hash).ok());
  }
  auto full = tiles.ReadEntries(tlog::Tile{0, 0, 256});
  auto partial = tiles.ReadEntries(tlog::Tile{0, 1, static_cast<std::uint16_t>(note.size - 256)});
  REQUIRE(full.ok());
  REQUIRE(partial.ok());
  for (std::size_t i = 0; i < 256; ++i) CHECK(full.value()[i] == heads[i]);
  for (std::size_t i = 256; i < heads.size(); ++i) CHECK(partial.value()[i - 256] == heads[i]);
  // Superseded partial tiles are gone: one width per partial tile remains.
  CHECK(!fs::exists(dir.path + "/tile/0/000.p"));
  std::size_t widths = 0;
  for ([[maybe_unused]] const auto& entry : fs::directory_iterator(dir.path + "/tile/0/001.p")) ++widths;
  CHECK(widths == 1);

  // The DSSE checkpoints name the tree head of the records before them.
  std::size_t checked = 0;
  tlog::CompactTree before;
  for (const std::string& line : Lines(ReadFile(dir.path + "/lineage.log"))) {
    const SplitLine split = Split(line);
    auto parsed = ParseHead(split.head);
    REQUIRE(parsed.ok());
    if (parsed.value().type == RecordType::kCheckpoint) {
      bool signature_failure = false;
      auto claim = OpenCheckpoint(split.body, {key.public_key()}, signature_failure);
      REQUIRE(claim.ok());
      REQUIRE(claim.value().root.has_value());
      CHECK(*claim.value().root == before.RootHash());
      ++checked;
    }
    before.AppendLeafHash(tlog::LeafHash(split.head));
  }
  CHECK(checked == 100);

  // govverify agrees, and prints what it can hand a third-party client.
  Report report = VerifyDir(dir.path, key);
  INFO(report.message);
  CHECK(report.failure == Failure::kNone);
  CHECK(report.published == heads.size());
  CHECK(report.last_note == ReadFile(dir.path + "/checkpoint"));
}

TEST_CASE("tlog: a mirror copy verifies as the original, a changed copy does not", "[lineage][tlog][tamper]") {
  TempDir dir;
  const crypto::PrivateKey key = TestKey(7);
  AppendSampleRuns(dir.path, key, 70);
  TempDir mirror_parent;
  const std::string mirror = mirror_parent.path + "/mirror";
  CopyTree(dir.path, mirror);
  fs::remove(mirror + "/tlog.state");  // not published
  Report copy = VerifyDir(mirror, key);
  INFO(copy.message);
  CHECK(copy.failure == Failure::kNone);

  struct Case {
    std::string name;
    std::function<void(const std::string&)> change;
    Failure expected;
  };
  const std::vector<Case> cases = {
      {"note deleted", [](const std::string& d) { fs::remove(d + "/checkpoint"); }, Failure::kSignature},
      {"note signature flipped",
       [](const std::string& d) {
         std::string note = ReadFile(d + "/checkpoint");
         const std::size_t at = note.rfind(' ') + 10;
         note[at] = note[at] == 'A' ? 'B' : 'A';
         WriteFile(d + "/checkpoint", note);
       },
       Failure::kSignature},
      {"note re-signed by another key",
       [](const std::string& d) {
         const std::string note = ReadFile(d + "/checkpoint");
         auto parsed = tlog::ParseNote(note);
         REQUIRE(parsed.ok());
         auto checkpoint = tlog::ParseCheckpoint(parsed.value().text);
         REQUIRE(checkpoint.ok());
         auto signer = tlog::NoteSigner::Create(checkpoint.value().origin, TestKey(99));
         REQUIRE(signer.ok());
         auto signed_note = tlog::SignCheckpoint(checkpoint.value(), std::span(&signer.value(), 1));
         REQUIRE(signed_note.ok());
         WriteFile(d + "/checkpoint", signed_note.value());
       },
       Failure::kSignature},
      {"a hash tile byte flipped",
       [](const std::string& d) {
         std::string tile = ReadFile(d + "/tile/0/000");
         tile[100] ^= 1;
         WriteFile(d + "/tile/0/000", tile);
       },
       Failure::kChain},
      {"an entry bundle byte flipped (first entry)",
       [](const std::string& d) {
         std::string entries = ReadFile(d + "/tile/entries/000");
         entries[10] ^= 1;
         WriteFile(d + "/tile/entries/000", entries);
       },
       Failure::kChain},
      {"two entries of a bundle swapped",
       [](const std::string& d) {
         auto entries = tlog::DecodeEntryBundle(ReadFile(d + "/tile/entries/000"));
         REQUIRE(entries.ok());
         std::swap(entries.value()[200], entries.value()[201]);
         auto encoded = tlog::EncodeEntryBundle(entries.value());
         REQUIRE(encoded.ok());
         WriteFile(d + "/tile/entries/000", encoded.value());
       },
       Failure::kChain},
      {"the last entry of the partial bundle changed",
       [](const std::string& d) {
         for (const auto& file : fs::directory_iterator(d + "/tile/entries/001.p")) {
           std::string entries = ReadFile(file.path());
           entries[entries.size() - 3] ^= 1;
           WriteFile(file.path(), entries);
         }
       },
       Failure::kChain},
      {"the partial entry bundle removed",
       [](const std::string& d) {
         for (const auto& file : fs::directory_iterator(d + "/tile/entries/001.p")) fs::remove(file.path());
       },
       Failure::kChain},
      {"a partial tile removed",
       [](const std::string& d) {
         for (const auto& entry : fs::directory_iterator(d + "/tile/0/001.p")) fs::remove(entry.path());
       },
       Failure::kChain},
      {"the log cut back to an earlier checkpoint under a newer note",
       [](const std::string& d) {
         std::vector<std::string> lines = Lines(ReadFile(d + "/lineage.log"));
         lines.resize(lines.size() - 4);
         WriteFile(d + "/lineage.log", Join(lines));
       },
       Failure::kChain},
  };
  for (const Case& c : cases) {
    TempDir parent;
    const std::string changed = parent.path + "/changed";
    CopyTree(dir.path, changed);
    c.change(changed);
    Report report = VerifyDir(changed, key);
    INFO(c.name << ": " << FailureName(report.failure) << ": " << report.message);
    CHECK(report.failure == c.expected);
  }
}

TEST_CASE("tlog: --since a saved note catches a rolled-back and a forked log", "[lineage][tlog][tamper]") {
  TempDir dir;
  const crypto::PrivateKey key = TestKey(7);
  AppendSampleRuns(dir.path, key, 3);
  TempDir saved_parent;
  const std::string earlier = saved_parent.path + "/earlier";
  CopyTree(dir.path, earlier);
  const std::string seen_early = ReadFile(dir.path + "/checkpoint");
  AppendSampleRuns(dir.path, key, 3);
  const std::string seen_late = ReadFile(dir.path + "/checkpoint");

  // The log grew: it extends both notes seen.
  for (const std::string& seen : {seen_early, seen_late}) {
    Report report = VerifyDir(dir.path, key, seen);
    INFO(report.message);
    CHECK(report.failure == Failure::kNone);
  }
  // The whole directory put back to its earlier state verifies on its own,
  // but not against the later note seen.
  CHECK(VerifyDir(earlier, key).failure == Failure::kNone);
  Report rolled_back = VerifyDir(earlier, key, seen_late);
  INFO(rolled_back.message);
  CHECK(rolled_back.failure == Failure::kChain);
  CHECK(rolled_back.message.find("rollback") != std::string::npos);

  // A fork: the early state continued differently by someone holding the
  // key (a consistent log with a valid note) is not the log seen later.
  AppendSampleRuns(earlier, key, 3);
  CHECK(VerifyDir(earlier, key).failure == Failure::kNone);
  Report forked = VerifyDir(earlier, key, seen_late);
  INFO(forked.message);
  CHECK(forked.failure == Failure::kChain);
  CHECK(forked.message.find("fork") != std::string::npos);

  // A note of another log, or one signed by another key, is refused.
  TempDir other;
  AppendSampleRuns(other.path, key, 1);
  CHECK(VerifyDir(dir.path, key, ReadFile(other.path + "/checkpoint")).failure == Failure::kChain);
  CHECK(VerifyDir(dir.path, TestKey(99), seen_early).failure == Failure::kSignature);
}

TEST_CASE("tlog: the writer resumes from its state and rebuilds when it is wrong", "[lineage][tlog]") {
  TempDir dir;
  const crypto::PrivateKey key = TestKey(7);
  AppendSampleRuns(dir.path, key, 20);  // 81 records: partial tile 000.p/81
  const std::string log_before = ReadFile(dir.path + "/lineage.log");

  // Each damage to the resume point, the note or the tiles is repaired by
  // the next checkpoint: the published tree is again the whole log's.
  const std::vector<std::function<void(const std::string&)>> damages = {
      [](const std::string& d) { WriteFile(d + "/tlog.state", "gov-tlog-state 1 3 12\n"); },
      [](const std::string& d) { fs::remove(d + "/tlog.state"); },
      [](const std::string& d) { fs::remove(d + "/checkpoint"); },
      [](const std::string& d) { fs::remove_all(d + "/tile"); },
      [](const std::string& d) {
        std::string tile = ReadFile(d + "/tile/0/000.p/81");
        REQUIRE(tile.size() == 81 * 32);
        tile[0] ^= 1;
        WriteFile(d + "/tile/0/000.p/81", tile);
      },
      [](const std::string& d) {
        std::string entries = ReadFile(d + "/tile/entries/000.p/81");
        entries[10] ^= 1;
        WriteFile(d + "/tile/entries/000.p/81", entries);
      },
  };
  for (std::size_t i = 0; i < damages.size(); ++i) {
    INFO("damage " << i);
    TempDir copy;
    CopyTree(dir.path, copy.path);
    damages[i](copy.path);
    AppendSampleRuns(copy.path, key, 1);
    Report report = VerifyDir(copy.path, key);
    INFO(report.message);
    CHECK(report.failure == Failure::kNone);
    CHECK(report.published == Heads(copy.path + "/lineage.log").size());
    CHECK(ReadFile(copy.path + "/lineage.log").starts_with(log_before));
    auto entries = DirectoryTileSource(copy.path).ReadEntries(tlog::Tile{0, 0, 85});
    REQUIRE(entries.ok());
    CHECK(entries.value() == Heads(copy.path + "/lineage.log"));
  }
}

TEST_CASE("tlog: a version 2 statement whose tree head is wrong fails, even re-signed", "[lineage][tlog][tamper]") {
  TempDir dir;
  const crypto::PrivateKey key = TestKey(7);
  AppendSampleRuns(dir.path, key, 2);
  std::vector<std::string> lines = Lines(ReadFile(dir.path + "/lineage.log"));
  // Re-sign the last checkpoint with the right key but a wrong tree head.
  const SplitLine split = Split(lines.back());
  auto parsed = ParseHead(split.head);
  REQUIRE(parsed.ok());
  Head head = parsed.value();
  const std::string log(head.log), prev(head.prev);
  head.log = log;
  head.prev = prev;
  const tlog::Hash wrong = tlog::LeafHash("not the tree");
  lines.back() = MakeLine(head, CheckpointBody(log, head.seq, prev, {}, {}, key, &wrong));
  lines.back().pop_back();
  Report report = VerifyBytes(Join(lines), "log", Trusting(key));
  INFO(report.message);
  CHECK(report.failure == Failure::kChain);
  CHECK(report.message.find("Merkle tree head") != std::string::npos);
}

}  // namespace
}  // namespace gov::lineage

namespace gov::lineage {
namespace {

// The test vectors of docs/lineage-format.md "Transparency log": three HEADs,
// their tree, proofs and the checkpoint note signed with the key whose seed
// is 32 bytes 0x07 (Ed25519 signatures are deterministic).
TEST_CASE("tlog: the test vectors of lineage-format.md", "[lineage][tlog]") {
  const std::string log_id = "0123456789abcdef0123456789abcdef";
  const std::vector<std::string> heads = {
      "{\"body\":\"sha256:" + std::string(64, 'a') + "\",\"log\":\"" + log_id +
          "\",\"prev\":\"sha256:" + std::string(64, '0') + "\",\"seq\":0,\"type\":\"header\",\"v\":1}",
      "{\"body\":\"sha256:" + std::string(64, 'b') + "\",\"log\":\"" + log_id +
          "\",\"prev\":\"sha256:" + std::string(64, '1') + "\",\"seq\":1,\"type\":\"recovery\",\"v\":1}",
      "{\"body\":\"sha256:" + std::string(64, 'c') + "\",\"log\":\"" + log_id +
          "\",\"prev\":\"sha256:" + std::string(64, '2') + "\",\"seq\":2,\"type\":\"checkpoint\",\"v\":1}"};
  tlog::MemoryTree tree;
  std::vector<std::string> leaves;
  for (const std::string& head : heads) {
    tree.Append(head);
    leaves.push_back(crypto::HexEncode(tlog::LeafHash(head)));
  }
  auto root2 = tlog::TreeHash(2, tree);
  auto root3 = tlog::TreeHash(3, tree);
  auto inclusion = tlog::InclusionProof(1, 3, tree);
  auto consistency = tlog::ConsistencyProof(2, 3, tree);
  REQUIRE((root2.ok() && root3.ok() && inclusion.ok() && consistency.ok()));
  auto signer = tlog::NoteSigner::Create(LogOrigin(log_id), TestKey(7));
  REQUIRE(signer.ok());
  auto note =
      tlog::SignCheckpoint(tlog::Checkpoint{LogOrigin(log_id), 3, root3.value(), {}}, std::span(&signer.value(), 1));
  REQUIRE(note.ok());
  auto vkey = LineageNoteVerifier(log_id, TestKey(7).public_key());
  REQUIRE(vkey.ok());
  std::ostringstream out;
  for (std::size_t i = 0; i < leaves.size(); ++i) out << "leaf hash " << i << "  " << leaves[i] << "\n";
  out << "tree head 2   " << crypto::HexEncode(root2.value()) << "\n";
  out << "tree head 3   " << crypto::HexEncode(root3.value()) << "\n";
  out << "inclusion of leaf 1 in 3:";
  for (const auto& hash : inclusion.value()) out << " " << crypto::HexEncode(hash);
  out << "\nconsistency 2 -> 3:";
  for (const auto& hash : consistency.value()) out << " " << crypto::HexEncode(hash);
  out << "\nverifier key  " << vkey.value().Encode() << "\n" << note.value();
  const std::string doc = ReadFile(std::string(GOV_SOURCE_DIR) + "/docs/lineage-format.md");
  if (std::getenv("GOV_PRINT_VECTORS") != nullptr) std::fputs(out.str().c_str(), stdout);
  INFO(out.str());
  CHECK(doc.find("```\n" + out.str() + "```\n") != std::string::npos);
}

}  // namespace
}  // namespace gov::lineage

namespace gov::lineage {
namespace {

// A writer killed between the note and tlog.state (written last) leaves the
// state behind the note: the next one reads on from it — no rebuild.
TEST_CASE("tlog: a resume point behind the note is caught up without a rebuild", "[lineage][tlog]") {
  TempDir dir;
  const crypto::PrivateKey key = TestKey(7);
  AppendSampleRuns(dir.path, key, 70);  // 281 records: a full tile 0/000
  const std::string behind = ReadFile(dir.path + "/tlog.state");
  AppendSampleRuns(dir.path, key, 2);
  WriteFile(dir.path + "/tlog.state", behind);
  struct stat before {};
  REQUIRE(stat((dir.path + "/tile/0/000").c_str(), &before) == 0);
  AppendSampleRuns(dir.path, key, 1);
  struct stat after {};
  REQUIRE(stat((dir.path + "/tile/0/000").c_str(), &after) == 0);
  CHECK(after.st_ino == before.st_ino);  // not removed and rewritten
  Report report = Verify(dir.path, Trusting(key));
  INFO(report.message);
  CHECK(report.failure == Failure::kNone);
  CHECK(report.published == 293);
}

}  // namespace
}  // namespace gov::lineage
