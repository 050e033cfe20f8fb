// Unit tests for runtime/tlog: RFC 6962 / RFC 9162 known answers, proofs
// cross-checked against the RFC's recursive definitions for every tree of up
// to 64 leaves, tampered proofs, C2SP tlog-tiles paths and tiles (built at
// once, incrementally, and read back for proofs), entry bundles, and C2SP
// signed notes and checkpoints (published vectors and hostile inputs).
#include <algorithm>
#include <bit>
#include <catch2/catch.hpp>
#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/crypto/ed25519.h"
#include "runtime/crypto/sha256.h"
#include "runtime/tlog/checkpoint.h"
#include "runtime/tlog/cosignature.h"
#include "runtime/tlog/merkle.h"
#include "runtime/tlog/note.h"
#include "runtime/tlog/tile.h"
#include "tests/unit/test_support.h"

namespace gov::tlog {
namespace {

Hash HashFromHex(std::string_view hex) {
  auto bytes = crypto::HexDecode(hex);
  REQUIRE(bytes.ok());
  REQUIRE(bytes.value().size() == kHashSize);
  Hash hash;
  std::copy(bytes.value().begin(), bytes.value().end(), hash.begin());
  return hash;
}

std::string Hex(const Hash& hash) {
  return crypto::HexEncode(std::span<const std::uint8_t>(hash));
}

std::string Unhex(std::string_view hex) {
  auto bytes = crypto::HexDecode(hex);
  REQUIRE(bytes.ok());
  return bytes.value();
}

using gov::testing::ExpectError;

// ---- RFC 6962 / RFC 9162 Merkle trees ----

// The reference tree of RFC 6962 implementations (RFC 6962 itself publishes
// no vectors): the eight leaf inputs and heads of google/certificate-
// transparency cpp/merkletree/merkle_tree_test.cc (kInputs, kSHA256Roots),
// with the hashes of all complete subtrees as transparency-dev/merkle
// testonly/constants.go publishes them (LeafInputs, NodeHashes, RootHashes).
const std::vector<std::string>& TestLeaves() {
  static const std::vector<std::string> leaves = {
      Unhex(""),
      Unhex("00"),
      Unhex("10"),
      Unhex("2021"),
      Unhex("3031"),
      Unhex("40414243"),
      Unhex("5051525354555657"),
      Unhex("606162636465666768696a6b6c6d6e6f"),
  };
  return leaves;
}

// NodeHashes()[level][index].
Hash TestNode(unsigned level, unsigned index) {
  static const std::vector<std::vector<std::string_view>> nodes = {
      {"6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
       "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
       "0298d122906dcfc10892cb53a73992fc5b9f493ea4c9badb27b791b4127a7fe7",
       "07506a85fd9dd2f120eb694f86011e5bb4662e5c415a62917033d4a9624487e7",
       "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
       "4271a26be0d8a84f0bd54c8c302e7cb3a3b5d1fa6780a40bcce2873477dab658",
       "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
       "46f6ffadd3d06a09ff3c5860d2755c8b9819db7df44251788c7d8e3180de8eb1"},
      {"fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
       "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
       "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
       "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0"},
      {"d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
       "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"},
      {"5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"},
  };
  return HashFromHex(nodes[level][index]);
}

// RootHashes()[size].
Hash TestRoot(std::size_t size) {
  static const std::vector<std::string_view> roots = {
      "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
      "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
      "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
      "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
      "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
      "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
      "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
      "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
      "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
  };
  return HashFromHex(roots[size]);
}

MemoryTree TestTree(std::size_t size) {
  MemoryTree tree;
  for (std::size_t i = 0; i < size; ++i) {
    tree.Append(TestLeaves()[i]);
  }
  return tree;
}

struct NodeRef {
  unsigned level;
  unsigned index;
};

std::vector<Hash> TestNodes(std::initializer_list<NodeRef> refs) {
  std::vector<Hash> hashes;
  for (const NodeRef& ref : refs) {
    hashes.push_back(TestNode(ref.level, ref.index));
  }
  return hashes;
}

// The RFC's recursive definitions, literally (RFC 9162 §2.1.1, §2.1.3.1,
// §2.1.4.1), over leaf hashes: the reference the implementation is checked
// against.
std::uint64_t LargestPowerOfTwoBelow(std::uint64_t n) {
  std::uint64_t k = 1;
  while (k * 2 < n) {
    k *= 2;
  }
  return k;
}

Hash ReferenceMth(std::span<const Hash> leaves) {
  if (leaves.empty()) {
    return EmptyTreeHash();
  }
  if (leaves.size() == 1) {
    return leaves[0];
  }
  const std::size_t k = LargestPowerOfTwoBelow(leaves.size());
  return NodeHash(ReferenceMth(leaves.first(k)), ReferenceMth(leaves.subspan(k)));
}

std::vector<Hash> ReferencePath(std::size_t m, std::span<const Hash> leaves) {
  if (leaves.size() <= 1) {
    return {};
  }
  const std::size_t k = LargestPowerOfTwoBelow(leaves.size());
  std::vector<Hash> path;
  if (m < k) {
    path = ReferencePath(m, leaves.first(k));
    path.push_back(ReferenceMth(leaves.subspan(k)));
  } else {
    path = ReferencePath(m - k, leaves.subspan(k));
    path.push_back(ReferenceMth(leaves.first(k)));
  }
  return path;
}

std::vector<Hash> ReferenceSubproof(std::size_t m, std::span<const Hash> leaves, bool whole) {
  if (m == leaves.size()) {
    return whole ? std::vector<Hash>{} : std::vector<Hash>{ReferenceMth(leaves)};
  }
  const std::size_t k = LargestPowerOfTwoBelow(leaves.size());
  std::vector<Hash> proof;
  if (m <= k) {
    proof = ReferenceSubproof(m, leaves.first(k), whole);
    proof.push_back(ReferenceMth(leaves.subspan(k)));
  } else {
    proof = ReferenceSubproof(m - k, leaves.subspan(k), false);
    proof.push_back(ReferenceMth(leaves.first(k)));
  }
  return proof;
}

Hash Flipped(Hash hash, std::size_t bit) {
  hash[bit / 8 % kHashSize] ^= static_cast<std::uint8_t>(1u << (bit % 8));
  return hash;
}

TEST_CASE("tlog: RFC 6962 leaf, node and empty tree hashes", "[tlog]") {
  CHECK(Hex(EmptyTreeHash()) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  for (unsigned i = 0; i < 8; ++i) {
    CHECK(LeafHash(TestLeaves()[i]) == TestNode(0, i));
  }
  CHECK(NodeHash(TestNode(0, 0), TestNode(0, 1)) == TestNode(1, 0));
  CHECK(NodeHash(TestNode(2, 0), TestNode(2, 1)) == TestNode(3, 0));
  // Domain separation: a leaf is not the node of its halves.
  CHECK(LeafHash(std::string(64, '\0')) != NodeHash(Hash{}, Hash{}));
}

TEST_CASE("tlog: tree heads and stored subtrees of the RFC 6962 test tree", "[tlog]") {
  const MemoryTree tree = TestTree(8);
  for (std::uint64_t size = 0; size <= 8; ++size) {
    INFO("size " << size);
    auto head = TreeHash(size, tree);
    REQUIRE(head.ok());
    CHECK(head.value() == TestRoot(size));
    auto partial = TreeHash(size, TestTree(size));
    REQUIRE(partial.ok());
    CHECK(partial.value() == TestRoot(size));
  }
  for (unsigned level = 0; level <= 3; ++level) {
    for (unsigned index = 0; index < (8u >> level); ++index) {
      const NodeId node{static_cast<std::uint8_t>(level), index};
      auto hashes = tree.ReadHashes(std::span<const NodeId>(&node, 1));
      REQUIRE(hashes.ok());
      CHECK(hashes.value()[0] == TestNode(level, index));
    }
  }
  const NodeId missing{1, 4};
  ExpectError(tree.ReadHashes(std::span<const NodeId>(&missing, 1)),
              "node (level 1, index 4) is not a complete subtree of the 8 stored leaves");
  ExpectError(TreeHash(9, tree), "is not a complete subtree");
}

TEST_CASE("tlog: known inclusion proofs of the RFC 6962 test tree", "[tlog]") {
  // certificate-transparency merkle_tree_test.cc kSHA256Paths (1-based leaf
  // numbers there) = transparency-dev/merkle
  // testdata/inclusion/{0..4}/happy-path.json; proofs as test tree nodes.
  struct Case {
    std::uint64_t index;
    std::uint64_t size;
    std::vector<Hash> proof;
  };
  const std::vector<Case> cases = {
      {0, 1, {}},
      {0, 8, TestNodes({{0, 1}, {1, 1}, {2, 1}})},
      {5, 8, TestNodes({{0, 4}, {1, 3}, {2, 0}})},
      {2, 3, TestNodes({{1, 0}})},
      {1, 5, TestNodes({{0, 0}, {1, 1}, {0, 4}})},
  };
  const MemoryTree tree = TestTree(8);
  for (const Case& c : cases) {
    INFO("leaf " << c.index << " of " << c.size);
    auto proof = InclusionProof(c.index, c.size, tree);
    REQUIRE(proof.ok());
    CHECK(proof.value() == c.proof);
    CHECK(InclusionProofSize(c.index, c.size) == c.proof.size());
    CHECK(
        VerifyInclusion(TestNode(0, static_cast<unsigned>(c.index)), c.index, c.size, c.proof, TestRoot(c.size)).ok());
  }
}

TEST_CASE("tlog: known consistency proofs of the RFC 6962 test tree", "[tlog]") {
  // transparency-dev/merkle testdata/consistency/{0..4}/happy-path.json (all
  // but the last also certificate-transparency's kSHA256Proofs).
  struct Case {
    std::uint64_t old_size;
    std::uint64_t new_size;
    std::vector<Hash> proof;
  };
  const std::vector<Case> cases = {
      {1, 1, {}},
      {1, 8, TestNodes({{0, 1}, {1, 1}, {2, 1}})},
      {6, 8, TestNodes({{1, 2}, {1, 3}, {2, 0}})},
      {2, 5, TestNodes({{1, 1}, {0, 4}})},
      {6, 7, TestNodes({{1, 2}, {0, 6}, {2, 0}})},
  };
  const MemoryTree tree = TestTree(8);
  for (const Case& c : cases) {
    INFO("from " << c.old_size << " to " << c.new_size);
    auto proof = ConsistencyProof(c.old_size, c.new_size, tree);
    REQUIRE(proof.ok());
    CHECK(proof.value() == c.proof);
    CHECK(VerifyConsistency(c.old_size, c.new_size, c.proof, TestRoot(c.old_size), TestRoot(c.new_size)).ok());
  }
}

TEST_CASE("tlog: proofs match the RFC's definitions for every tree of up to 64 leaves", "[tlog]") {
  constexpr std::uint64_t kMaxSize = 64;
  std::vector<Hash> leaves;
  MemoryTree tree;
  for (std::uint64_t i = 0; i < kMaxSize; ++i) {
    leaves.push_back(LeafHash("entry " + std::to_string(i)));
    tree.AppendLeafHash(leaves.back());
  }
  std::vector<Hash> roots;
  CompactTree compact;
  for (std::uint64_t size = 0; size <= kMaxSize; ++size) {
    roots.push_back(ReferenceMth(std::span<const Hash>(leaves).first(size)));
    auto head = TreeHash(size, tree);
    REQUIRE(head.ok());
    REQUIRE(head.value() == roots[size]);
    REQUIRE(compact.size() == size);
    REQUIRE(compact.RootHash() == roots[size]);
    if (size < kMaxSize) compact.AppendLeafHash(leaves[size]);
  }
  std::size_t checked = 0;
  for (std::uint64_t size = 1; size <= kMaxSize; ++size) {
    const std::span<const Hash> prefix = std::span<const Hash>(leaves).first(size);
    for (std::uint64_t index = 0; index < size; ++index) {
      INFO("leaf " << index << " of " << size);
      auto proof = InclusionProof(index, size, tree);
      REQUIRE(proof.ok());
      REQUIRE(proof.value() == ReferencePath(index, prefix));
      REQUIRE(InclusionProofSize(index, size) == proof.value().size());
      REQUIRE(VerifyInclusion(leaves[index], index, size, proof.value(), roots[size]).ok());
      ++checked;
    }
    for (std::uint64_t old_size = 1; old_size <= size; ++old_size) {
      INFO("from " << old_size << " to " << size);
      auto proof = ConsistencyProof(old_size, size, tree);
      REQUIRE(proof.ok());
      REQUIRE(proof.value() == ReferenceSubproof(old_size, prefix, true));
      REQUIRE(ConsistencyProofSize(old_size, size) == proof.value().size());
      REQUIRE(VerifyConsistency(old_size, size, proof.value(), roots[old_size], roots[size]).ok());
      ++checked;
    }
  }
  CHECK(checked == std::size_t{64} * 65);
}

TEST_CASE("tlog: tampered proofs are rejected", "[tlog]") {
  constexpr std::uint64_t kMaxSize = 64;
  MemoryTree tree;
  std::vector<Hash> leaves;
  for (std::uint64_t i = 0; i < kMaxSize; ++i) {
    leaves.push_back(LeafHash("entry " + std::to_string(i)));
    tree.AppendLeafHash(leaves.back());
  }
  std::vector<Hash> roots;
  for (std::uint64_t size = 0; size <= kMaxSize; ++size) {
    roots.push_back(TreeHash(size, tree).value());
  }
  const Hash stranger = LeafHash("not in the log");
  for (std::uint64_t size = 1; size <= kMaxSize; ++size) {
    for (std::uint64_t index = 0; index < size; ++index) {
      INFO("leaf " << index << " of " << size);
      const std::vector<Hash> proof = InclusionProof(index, size, tree).value();
      for (std::size_t i = 0; i < proof.size(); ++i) {
        std::vector<Hash> bad = proof;
        bad[i] = Flipped(bad[i], i * 37 + index);
        ExpectError(VerifyInclusion(leaves[index], index, size, bad, roots[size]), "does not lead to the tree head");
      }
      ExpectError(VerifyInclusion(stranger, index, size, proof, roots[size]), "does not lead to the tree head");
      ExpectError(VerifyInclusion(leaves[index], index, size, proof, Flipped(roots[size], index)),
                  "does not lead to the tree head");
      std::vector<Hash> longer = proof;
      longer.push_back(leaves[0]);
      ExpectError(VerifyInclusion(leaves[index], index, size, longer, roots[size]), "inclusion proof has");
      if (!proof.empty()) {
        const std::vector<Hash> shorter(proof.begin(), proof.end() - 1);
        ExpectError(VerifyInclusion(leaves[index], index, size, shorter, roots[size]), "inclusion proof has");
      }
      for (std::uint64_t other = 0; other < size; ++other) {
        if (other != index) {
          CHECK_FALSE(VerifyInclusion(leaves[index], other, size, proof, roots[size]).ok());
        }
      }
    }
    for (std::uint64_t old_size = 1; old_size < size; ++old_size) {
      INFO("from " << old_size << " to " << size);
      const std::vector<Hash> proof = ConsistencyProof(old_size, size, tree).value();
      for (std::size_t i = 0; i < proof.size(); ++i) {
        std::vector<Hash> bad = proof;
        bad[i] = Flipped(bad[i], i * 37 + old_size);
        CHECK_FALSE(VerifyConsistency(old_size, size, bad, roots[old_size], roots[size]).ok());
      }
      // An old size that is a power of two is a node of the new tree: the
      // proof starts from the old head, so a wrong one shows in the new head.
      ExpectError(
          VerifyConsistency(old_size, size, proof, Flipped(roots[old_size], size), roots[size]),
          std::has_single_bit(old_size) ? "does not lead to the new tree head" : "does not lead to the old tree head");
      ExpectError(VerifyConsistency(old_size, size, proof, roots[old_size], Flipped(roots[size], old_size)),
                  "does not lead to the new tree head");
      CHECK_FALSE(VerifyConsistency(old_size, size, proof, roots[size], roots[old_size]).ok());
      std::vector<Hash> longer = proof;
      longer.push_back(leaves[0]);
      ExpectError(VerifyConsistency(old_size, size, longer, roots[old_size], roots[size]), "consistency proof has");
      const std::vector<Hash> shorter(proof.begin(), proof.end() - 1);
      ExpectError(VerifyConsistency(old_size, size, shorter, roots[old_size], roots[size]), "consistency proof has");
    }
  }
}

TEST_CASE("tlog: proof arguments outside the tree are errors", "[tlog]") {
  const MemoryTree tree = TestTree(8);
  const Hash root = TestRoot(8);
  ExpectError(InclusionProof(8, 8, tree), "leaf index 8 is not in a tree of size 8");
  ExpectError(InclusionProof(0, 0, tree), "leaf index 0 is not in a tree of size 0");
  ExpectError(InclusionProof(3, 9, tree), "is not a complete subtree");
  ExpectError(VerifyInclusion(TestNode(0, 0), 8, 8, {}, root), "leaf index 8 is not in a tree of size 8");
  ExpectError(VerifyInclusion(TestNode(0, 0), 0, 0, {}, EmptyTreeHash()), "not in a tree of size 0");
  ExpectError(ConsistencyProof(0, 8, tree), "no consistency proof from the empty tree");
  ExpectError(ConsistencyProof(5, 4, tree), "old tree size 5 is larger than new tree size 4");
  ExpectError(VerifyConsistency(0, 8, {}, EmptyTreeHash(), root), "no consistency proof from the empty tree");
  ExpectError(VerifyConsistency(5, 4, {}, TestRoot(5), TestRoot(4)), "old tree size 5 is larger");
  CHECK(VerifyConsistency(8, 8, {}, root, root).ok());
  ExpectError(VerifyConsistency(8, 8, TestNodes({{0, 0}}), root, root), "between equal tree sizes must be empty");
  ExpectError(VerifyConsistency(8, 8, {}, root, TestRoot(7)), "tree heads of the same size 8 differ");
  ExpectError(VerifyConsistency(4, 8, {}, TestRoot(4), root), "consistency proof has 0 hashes");
}

// ---- C2SP tlog-tiles ----

// A deterministic sequence for choosing sizes and indexes (splitmix64).
class Sequence {
 public:
  explicit Sequence(std::uint64_t seed) : state_(seed) {}
  std::uint64_t Next() {
    std::uint64_t z = (state_ += 0x9e3779b97f4a7c15);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9;
    z = (z ^ (z >> 27)) * 0x94d049bb133111eb;
    return z ^ (z >> 31);
  }
  std::uint64_t Below(std::uint64_t bound) { return Next() % bound; }

 private:
  std::uint64_t state_;
};

// Tiles kept by path, as a file tree or an HTTP server would hold them.
class MemoryTileStore : public TileSource {
 public:
  void Write(const std::vector<TileContents>& tiles) {
    for (const TileContents& contents : tiles) {
      files[TilePath(contents.tile)] = contents.hashes;
    }
  }

  ErrorOr<std::string> ReadTile(const Tile& tile) const override {
    ++reads;
    const auto found = files.find(TilePath(tile));
    if (found == files.end()) {
      return Error{"no tile at " + TilePath(tile)};
    }
    return found->second;
  }

  std::map<std::string, std::string> files;
  mutable std::size_t reads = 0;
};

std::vector<Hash> EntryLeafHashes(std::uint64_t count) {
  std::vector<Hash> hashes;
  hashes.reserve(count);
  for (std::uint64_t i = 0; i < count; ++i) {
    hashes.push_back(LeafHash("entry " + std::to_string(i)));
  }
  return hashes;
}

TEST_CASE("tlog: tile and entry bundle paths follow tlog-tiles", "[tlog]") {
  // The spec's example: index 1234067 is x001/x234/067.
  CHECK(TilePath(Tile{0, 1234067, 256}) == "tile/0/x001/x234/067");
  CHECK(TilePath(Tile{0, 1234067, 8}) == "tile/0/x001/x234/067.p/8");
  CHECK(EntryBundlePath(Tile{0, 1234067, 256}) == "tile/entries/x001/x234/067");
  CHECK(EntryBundlePath(Tile{0, 1234067, 255}) == "tile/entries/x001/x234/067.p/255");
  CHECK(TilePath(Tile{0, 0, 256}) == "tile/0/000");
  CHECK(TilePath(Tile{1, 7, 1}) == "tile/1/007.p/1");
  CHECK(TilePath(Tile{2, 999, 256}) == "tile/2/999");
  CHECK(TilePath(Tile{2, 1000, 256}) == "tile/2/x001/000");
  CHECK(TilePath(Tile{63, 1000000, 256}) == "tile/63/x001/x000/000");
  CHECK(TilePath(Tile{5, UINT64_MAX, 256}) == "tile/5/x018/x446/x744/x073/x709/x551/615");

  for (const Tile& tile : {Tile{0, 1234067, 256}, Tile{0, 1234067, 8}, Tile{0, 0, 1}, Tile{63, 1000, 255},
                           Tile{5, UINT64_MAX, 256}, Tile{1, 999999, 256}}) {
    auto parsed = ParseTilePath(TilePath(tile));
    REQUIRE(parsed.ok());
    CHECK(parsed.value() == tile);
    auto bundle = ParseEntryBundlePath(EntryBundlePath(tile));
    REQUIRE(bundle.ok());
    CHECK(bundle.value().index == tile.index);
    CHECK(bundle.value().width == tile.width);
  }

  ExpectError(ParseTilePath("tiles/0/000"), "does not start with `tile/`");
  ExpectError(ParseTilePath("tile/00/000"), "the level must be a decimal number from 0 to 63");
  ExpectError(ParseTilePath("tile/64/000"), "the level must be a decimal number from 0 to 63");
  ExpectError(ParseTilePath("tile/entries/000"), "the level must be");
  ExpectError(ParseTilePath("tile/0"), "the level must be");
  ExpectError(ParseTilePath("tile/0/"), "missing tile index");
  ExpectError(ParseTilePath("tile/0/1"), "last index element `1` must be 3 digits");
  ExpectError(ParseTilePath("tile/0/0001"), "must be 3 digits");
  ExpectError(ParseTilePath("tile/0/001/002"), "index element `001` must be `x` and 3 digits");
  ExpectError(ParseTilePath("tile/0/x001/x02"), "must be 3 digits");
  ExpectError(ParseTilePath("tile/0/x000/001"), "leading `x000` element");
  ExpectError(ParseTilePath("tile/0/x001/"), "last index element `` must be 3 digits");
  ExpectError(ParseTilePath("tile/0/x018/x446/x744/x073/x709/x551/616"), "does not fit in 64 bits");
  ExpectError(ParseTilePath("tile/0/000.p/0"), "width must be a decimal number from 1 to 255");
  ExpectError(ParseTilePath("tile/0/000.p/256"), "width must be a decimal number from 1 to 255");
  ExpectError(ParseTilePath("tile/0/000.p/007"), "without leading zeros");
  ExpectError(ParseTilePath("tile/0/000.p/"), "width must be");
  ExpectError(ParseTilePath("tile/0/000.q/5"), "expected `.p/<width>`");
  ExpectError(ParseTilePath("tile/0/000.p/5/"), "width must be");
  ExpectError(ParseEntryBundlePath("tile/0/000"), "does not start with `tile/entries/`");
  ExpectError(ParseEntryBundlePath("tile/entries/x1/000"), "must be `x` and 3 digits");
}

TEST_CASE("tlog: the tiles that hold a node", "[tlog]") {
  auto leaf = TileForNode(NodeId{0, 300}, 1000);
  REQUIRE(leaf.ok());
  CHECK(leaf.value() == Tile{0, 1, 256});
  auto last = TileForNode(NodeId{0, 999}, 1000);
  REQUIRE(last.ok());
  CHECK(last.value() == Tile{0, 3, 232});
  auto inner = TileForNode(NodeId{3, 40}, 1000);
  REQUIRE(inner.ok());
  CHECK(inner.value() == Tile{0, 1, 256});
  auto upper = TileForNode(NodeId{8, 2}, 1000);
  REQUIRE(upper.ok());
  CHECK(upper.value() == Tile{1, 0, 3});
  auto level2 = TileForNode(NodeId{16, 1}, 70000 + 65536);
  REQUIRE(level2.ok());
  CHECK(level2.value() == Tile{2, 0, 2});
  ExpectError(TileForNode(NodeId{8, 3}, 1000), "node (level 8, index 3) is not a complete subtree");
  ExpectError(TileForNode(NodeId{0, 1000}, 1000), "is not a complete subtree of a tree of size 1000");
  ExpectError(TileForNode(NodeId{64, 0}, UINT64_MAX), "is not a complete subtree");

  MemoryTree tree;
  TileAppender appender;
  const std::vector<Hash> leaves = EntryLeafHashes(1000);
  for (const Hash& hash : leaves) {
    tree.AppendLeafHash(hash);
  }
  MemoryTileStore store;
  store.Write(appender.Append(leaves));
  for (const NodeId node :
       {NodeId{0, 0}, NodeId{0, 999}, NodeId{3, 40}, NodeId{7, 6}, NodeId{8, 2}, NodeId{9, 0}, NodeId{5, 30}}) {
    INFO("node " << int{node.level} << "/" << node.index);
    const Tile tile = TileForNode(node, 1000).value();
    const std::string data = store.ReadTile(tile).value();
    auto hash = HashFromTile(tile, data, node);
    REQUIRE(hash.ok());
    CHECK(hash.value() == tree.ReadHashes(std::span<const NodeId>(&node, 1)).value()[0]);
  }
  const std::string tile0 = store.ReadTile(Tile{0, 0, 256}).value();
  ExpectError(HashFromTile(Tile{0, 0, 256}, tile0.substr(1), NodeId{0, 0}), "has 8191 bytes, expected 8192");
  ExpectError(HashFromTile(Tile{0, 0, 256}, tile0, NodeId{0, 256}), "is not in tile (level 0, index 0, width 256)");
  ExpectError(HashFromTile(Tile{0, 0, 256}, tile0, NodeId{8, 0}), "is not in tile");
  const std::string partial = store.ReadTile(Tile{0, 3, 232}).value();
  ExpectError(HashFromTile(Tile{0, 3, 232}, partial, NodeId{3, 125}), "is not in tile (level 0, index 3, width 232)");
}

TEST_CASE("tlog: the tiles of a 70,000-leaf tree are the ones the spec lists", "[tlog]") {
  // tlog-tiles: "a tree of size 70,000 will be represented by 273 full level 0
  // tiles, one partial level 0 tile of width 112, one full level 1 tile, one
  // partial level 1 tile of width 17, and one partial level 2 tile of width 1".
  constexpr std::uint64_t kSize = 70000;
  const std::vector<Hash> leaves = EntryLeafHashes(kSize);
  MemoryTree tree;
  for (const Hash& hash : leaves) {
    tree.AppendLeafHash(hash);
  }
  TileAppender appender;
  const std::vector<TileContents> tiles = appender.Append(leaves);
  CHECK(appender.size() == kSize);
  CHECK(appender.RootHash() == TreeHash(kSize, tree).value());

  std::vector<Tile> expected;
  for (std::uint64_t i = 0; i < 273; ++i) {
    expected.push_back(Tile{0, i, 256});
  }
  expected.push_back(Tile{0, 273, 112});
  expected.push_back(Tile{1, 0, 256});
  expected.push_back(Tile{1, 1, 17});
  expected.push_back(Tile{2, 0, 1});
  REQUIRE(tiles.size() == expected.size());
  for (std::size_t i = 0; i < tiles.size(); ++i) {
    REQUIRE(tiles[i].tile == expected[i]);
    // Hash j of tile (l, n) is MTH(D[(n * 256 + j) * 256^l : (n * 256 + j + 1) * 256^l]).
    const Tile& tile = tiles[i].tile;
    REQUIRE(tiles[i].hashes.size() == tile.width * kHashSize);
    for (std::uint64_t j = 0; j < tile.width; ++j) {
      const NodeId node{static_cast<std::uint8_t>(tile.level * kTileHeight), tile.index * kTileWidth + j};
      const Hash stored = tree.ReadHashes(std::span<const NodeId>(&node, 1)).value()[0];
      REQUIRE(tiles[i].hashes.compare(j * kHashSize, kHashSize, reinterpret_cast<const char*>(stored.data()),
                                      kHashSize) == 0);
    }
  }
  CHECK(PartialTiles(kSize) == std::vector<Tile>{Tile{0, 273, 112}, Tile{1, 1, 17}, Tile{2, 0, 1}});
  // "a tree of size 256 will be represented by a full level 0 tile and a
  // partial level 1 tile of width 1."
  CHECK(PartialTiles(256) == std::vector<Tile>{Tile{1, 0, 1}});
  CHECK(PartialTiles(0).empty());
  CHECK(PartialTiles(65536) == std::vector<Tile>{Tile{2, 0, 1}});
  TileAppender exact;
  const std::vector<TileContents> two_levels = exact.Append(std::span<const Hash>(leaves).first(256));
  REQUIRE(two_levels.size() == 2);
  CHECK(two_levels[0].tile == Tile{0, 0, 256});
  CHECK(two_levels[1].tile == Tile{1, 0, 1});
  CHECK(exact.RootHash() == TreeHash(256, tree).value());
  CHECK(TileAppender().RootHash() == EmptyTreeHash());
}

TEST_CASE("tlog: tiles built incrementally equal tiles built at once, and serve the same proofs", "[tlog]") {
  constexpr std::uint64_t kSize = 70000;
  const std::vector<Hash> leaves = EntryLeafHashes(kSize);
  MemoryTree tree;
  for (const Hash& hash : leaves) {
    tree.AppendLeafHash(hash);
  }
  MemoryTileStore at_once;
  TileAppender whole;
  at_once.Write(whole.Append(leaves));

  // Batches of varied sizes, each appended by an appender resumed from the
  // stored partial tiles, as a log server restarted between batches would.
  Sequence sequence(7);
  const std::vector<std::uint64_t> fixed_batches = {1, 1, 1, 252, 1, 1, 255, 256, 257, 511, 1, 2, 3};
  MemoryTileStore incremental;
  std::vector<std::uint64_t> checkpoints;
  std::uint64_t size = 0;
  std::size_t batch = 0;
  while (size < kSize) {
    std::uint64_t count = batch < fixed_batches.size() ? fixed_batches[batch] : 1 + sequence.Below(1000);
    count = std::min(count, kSize - size);
    ++batch;
    auto appender = TileAppender::Resume(size, incremental);
    REQUIRE(appender.ok());
    REQUIRE(appender.value().size() == size);
    const std::vector<TileContents> changed =
        appender.value().Append(std::span<const Hash>(leaves).subspan(size, count));
    size += count;
    for (const Tile& partial : PartialTiles(size)) {
      const bool written = std::any_of(changed.begin(), changed.end(),
                                       [&](const TileContents& contents) { return contents.tile == partial; });
      const bool kept = incremental.files.count(TilePath(partial)) != 0;
      REQUIRE((written || kept));
    }
    incremental.Write(changed);
    REQUIRE(appender.value().RootHash() == TreeHash(size, tree).value());
    checkpoints.push_back(size);
  }
  CHECK(batch > 100);

  // Every tile of the final tree is byte for byte the same, and every partial
  // tile left from an earlier size is a prefix of its successor.
  for (const auto& [path, data] : at_once.files) {
    INFO(path);
    REQUIRE(incremental.files.count(path) == 1);
    CHECK(incremental.files.at(path) == data);
  }
  for (const auto& [path, data] : incremental.files) {
    INFO(path);
    const Tile tile = ParseTilePath(path).value();
    const std::uint64_t available = (kSize >> (tile.level * kTileHeight)) - tile.index * kTileWidth;
    const Tile final_tile{tile.level, tile.index, static_cast<std::uint16_t>(std::min<std::uint64_t>(available, 256))};
    REQUIRE(at_once.files.count(TilePath(final_tile)) == 1);
    CHECK(at_once.files.at(TilePath(final_tile)).compare(0, data.size(), data) == 0);
  }

  // Tree heads and proofs read from the tiles at each checkpoint size equal
  // those from the whole tree in memory.
  for (std::size_t i = 0; i < checkpoints.size(); i += 7) {
    const std::uint64_t checkpoint = checkpoints[i];
    INFO("tree size " << checkpoint);
    const TileHashReader reader(checkpoint, incremental);
    REQUIRE(TreeHash(checkpoint, reader).value() == TreeHash(checkpoint, tree).value());
    for (const std::uint64_t index : {std::uint64_t{0}, checkpoint - 1, checkpoint / 2, sequence.Below(checkpoint)}) {
      auto from_tiles = InclusionProof(index, checkpoint, reader);
      REQUIRE(from_tiles.ok());
      CHECK(from_tiles.value() == InclusionProof(index, checkpoint, tree).value());
    }
    for (std::size_t j = 0; j <= i; j += 5) {
      auto from_tiles = ConsistencyProof(checkpoints[j], checkpoint, reader);
      REQUIRE(from_tiles.ok());
      CHECK(from_tiles.value() == ConsistencyProof(checkpoints[j], checkpoint, tree).value());
    }
  }

  // One ReadHashes call reads each tile once.
  const TileHashReader reader(kSize, at_once);
  at_once.reads = 0;
  REQUIRE(InclusionProof(12345, kSize, reader).ok());
  CHECK(at_once.reads == 4);
}

TEST_CASE("tlog: tile readers reject missing and malformed tiles", "[tlog]") {
  const std::vector<Hash> leaves = EntryLeafHashes(600);
  MemoryTileStore store;
  TileAppender appender;
  store.Write(appender.Append(leaves));
  ExpectError(TileAppender::Resume(601, store), "no tile at tile/0/002.p/89");
  ExpectError(InclusionProof(0, 601, TileHashReader(601, store)), "no tile at tile/0/002.p/89");
  store.files["tile/0/002.p/88"].pop_back();
  ExpectError(TileAppender::Resume(600, store), "tile (level 0, index 2, width 88) has 2815 bytes, expected 2816");
  ExpectError(InclusionProof(599, 600, TileHashReader(600, store)), "has 2815 bytes, expected 2816");
}

TEST_CASE("tlog: entry bundles are uint16 length-prefixed entries", "[tlog]") {
  const std::vector<std::string> entries = {"", "a", std::string(300, 'x'), std::string(65535, 'y')};
  auto bundle = EncodeEntryBundle(entries);
  REQUIRE(bundle.ok());
  CHECK(bundle.value().substr(0, 5) == std::string("\x00\x00\x00\x01"
                                                   "a",
                                                   5));
  CHECK(bundle.value().substr(5, 2) == "\x01\x2c");
  CHECK(bundle.value().substr(307, 2) == "\xff\xff");
  CHECK(bundle.value().size() == 2 + 3 + 302 + 65537);
  auto decoded = DecodeEntryBundle(bundle.value());
  REQUIRE(decoded.ok());
  CHECK(decoded.value() == entries);
  auto empty = DecodeEntryBundle("");
  REQUIRE(empty.ok());
  CHECK(empty.value().empty());

  // A full bundle's entries hash to the leaf hashes of its level 0 tile.
  std::vector<std::string> full;
  std::vector<Hash> hashes;
  for (int i = 0; i < 256; ++i) {
    full.push_back("entry " + std::to_string(i));
    hashes.push_back(LeafHash(full.back()));
  }
  TileAppender appender;
  const std::vector<TileContents> tiles = appender.Append(hashes);
  const std::vector<std::string> read_back = DecodeEntryBundle(EncodeEntryBundle(full).value()).value();
  std::string leaf_tile;
  for (const std::string& entry : read_back) {
    const Hash hash = LeafHash(entry);
    leaf_tile.append(reinterpret_cast<const char*>(hash.data()), hash.size());
  }
  CHECK(tiles[0].tile == Tile{0, 0, 256});
  CHECK(tiles[0].hashes == leaf_tile);

  ExpectError(EncodeEntryBundle(std::vector<std::string>{"a", std::string(65536, 'z')}),
              "entry 1 has 65536 bytes; a bundle entry has at most 65535");
  full.push_back("one too many");
  ExpectError(EncodeEntryBundle(full), "at most 256 entries, got 257");
  ExpectError(DecodeEntryBundle(std::string("\x00\x01"
                                            "a\x00",
                                            4)),
              "ends inside the length of entry 1");
  ExpectError(DecodeEntryBundle(std::string("\x00\x05"
                                            "abc",
                                            5)),
              "entry 0 of the bundle needs 5 bytes, 3 remain");
  ExpectError(DecodeEntryBundle(std::string(std::size_t{257} * 2, '\0')), "more than 256 entries (byte 512)");
}

// ---- C2SP signed notes and checkpoints ----

// golang.org/x/mod/sumdb/note note_test.go and example_test.go: the
// PeterNeumann and EnochRoot keys, the signed quotation, and its signatures.
constexpr std::string_view kPeterVerifier = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
// TEST FIXTURE ONLY: the published sumdb/note test signer key.
constexpr std::string_view kPeterSigner =
    "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";
constexpr std::string_view kEnochVerifier = "EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop";
constexpr std::string_view kQuote =
    "If you think cryptography is the answer to your problem,\n"
    "then you don't know what your problem is.\n";
constexpr std::string_view kPeterSignature =
    "\xe2\x80\x94 PeterNeumann "
    "x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";
constexpr std::string_view kEnochSignature =
    "\xe2\x80\x94 EnochRoot "
    "rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLox33WWd1RvMc+QQ=\n";

NoteVerifier Verifier(std::string_view vkey) {
  auto verifier = NoteVerifier::Parse(vkey);
  REQUIRE(verifier.ok());
  return verifier.value();
}

std::string Message(std::string_view signatures) {
  return std::string(kQuote) + "\n" + std::string(signatures);
}

TEST_CASE("tlog: sumdb/note keys and the PeterNeumann signed note", "[tlog]") {
  const NoteVerifier peter = Verifier(kPeterVerifier);
  CHECK(peter.name() == "PeterNeumann");
  CHECK(peter.key_id() == 0xc74f20a3);
  CHECK(peter.Encode() == kPeterVerifier);
  CHECK(NoteKeyId("PeterNeumann", peter.public_key()) == 0xc74f20a3);

  auto signer = NoteSigner::Parse(kPeterSigner);
  REQUIRE(signer.ok());
  CHECK(signer.value().name() == "PeterNeumann");
  CHECK(signer.value().key_id() == 0xc74f20a3);
  CHECK(signer.value().Encode() == kPeterSigner);
  CHECK(signer.value().Verifier().Encode() == kPeterVerifier);

  // Ed25519 is deterministic: signing reproduces sumdb/note's output exactly.
  const std::vector<NoteSigner> signers = {signer.value()};
  auto signed_note = SignNote(kQuote, signers);
  REQUIRE(signed_note.ok());
  CHECK(signed_note.value() == Message(kPeterSignature));

  const std::vector<NoteVerifier> known = {peter};
  auto opened = OpenNote(Message(kPeterSignature), known);
  REQUIRE(opened.ok());
  CHECK(opened.value().text == kQuote);
  REQUIRE(opened.value().verified.size() == 1);
  CHECK(opened.value().verified[0].name == "PeterNeumann");
  CHECK(opened.value().verified[0].key_id == 0xc74f20a3);
  CHECK(opened.value().verified[0].signature.size() == 64);
  CHECK(opened.value().unknown.empty());
}

TEST_CASE("tlog: the signed-note spec's example verifies", "[tlog]") {
  // c2sp.org/signed-note, "Verifier keys", Example.
  const NoteVerifier verifier = Verifier("example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k");
  const std::vector<NoteVerifier> known = {verifier};
  auto opened = OpenNote(
      "This is an example message.\n\n"
      "\xe2\x80\x94 example.com/foo "
      "Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mFXmRKuwHjG1Yu72IneyaQM=\n",
      known);
  REQUIRE(opened.ok());
  CHECK(opened.value().text == "This is an example message.\n");
  CHECK(opened.value().verified.size() == 1);
}

TEST_CASE("tlog: notes are verified only by known keys", "[tlog]") {
  const NoteVerifier peter = Verifier(kPeterVerifier);
  const NoteVerifier enoch = Verifier(kEnochVerifier);
  const std::string both = Message(std::string(kPeterSignature) + std::string(kEnochSignature));

  const std::vector<NoteVerifier> only_peter = {peter};
  auto one = OpenNote(both, only_peter);
  REQUIRE(one.ok());
  REQUIRE(one.value().verified.size() == 1);
  CHECK(one.value().verified[0].name == "PeterNeumann");
  REQUIRE(one.value().unknown.size() == 1);
  CHECK(one.value().unknown[0].name == "EnochRoot");
  CHECK(one.value().unknown[0].key_id == 0xaf0cfe78);

  const std::vector<NoteVerifier> peter_and_enoch = {peter, enoch};
  auto two = OpenNote(both, peter_and_enoch);
  REQUIRE(two.ok());
  CHECK(two.value().verified.size() == 2);
  CHECK(two.value().unknown.empty());

  ExpectError(OpenNote(both, {}),
              "signed note has no signature by a known key (signed by PeterNeumann+c74f20a3, EnochRoot+af0cfe78)");

  // A verifier listed twice is ambiguous only for a note it signed.
  const std::vector<NoteVerifier> doubled = {enoch, peter, enoch};
  ExpectError(OpenNote(Message(kEnochSignature), doubled), "key EnochRoot+af0cfe78 matches 2 known verifier keys");
  CHECK(OpenNote(Message(kPeterSignature), doubled).ok());

  // Repeated signatures count once; a bad signature by an unknown key is
  // only set aside.
  std::string enoch_tampered(kEnochSignature);
  enoch_tampered.insert(60, "ABCD");
  auto repeated = OpenNote(Message(std::string(kPeterSignature) + std::string(kPeterSignature) +
                                   std::string(kEnochSignature) + std::string(kEnochSignature) + enoch_tampered),
                           only_peter);
  REQUIRE(repeated.ok());
  CHECK(repeated.value().verified.size() == 1);
  CHECK(repeated.value().unknown.size() == 2);

  // A bad signature by a known key rejects the whole note.
  std::string peter_tampered(kPeterSignature);
  peter_tampered.insert(60, "ABCD");
  ExpectError(OpenNote(Message(peter_tampered), only_peter),
              "the signature by known key PeterNeumann+c74f20a3 does not verify");
  ExpectError(OpenNote(Message(std::string(kEnochSignature) + peter_tampered), peter_and_enoch), "does not verify");

  // The signature covers the text: changing one byte of it breaks it.
  std::string altered = Message(kPeterSignature);
  altered[3] = 'Y';
  ExpectError(OpenNote(altered, only_peter), "the signature by known key PeterNeumann+c74f20a3 does not verify");

  // A signature claiming another key id is by an unknown key.
  std::string wrong_id(kPeterSignature);
  wrong_id.replace(wrong_id.find("x08g"), 4, "xxxx");
  ExpectError(OpenNote(Message(wrong_id), only_peter), "no signature by a known key");

  // 100 signatures are accepted, 101 are not.
  std::string hundred;
  for (int i = 0; i < 100; ++i) {
    hundred += kPeterSignature;
  }
  CHECK(OpenNote(Message(hundred), only_peter).ok());
  ExpectError(OpenNote(Message(hundred + std::string(kPeterSignature)), only_peter),
              "signed note has more than 100 signature lines");
  ExpectError(OpenNote(Message(hundred + std::string(kPeterSignature)), {}), "more than 100 signature lines");
}

TEST_CASE("tlog: hostile notes are rejected with precise errors", "[tlog]") {
  const std::vector<NoteVerifier> known = {Verifier(kPeterVerifier)};
  const std::string quote(kQuote);
  const std::string signature(kPeterSignature);
  const std::string base64 = signature.substr(signature.find(' ', 4) + 1);
  struct Case {
    std::string message;
    std::string error;
  };
  const std::vector<Case> cases = {
      // sumdb/note's malformed notes.
      {quote, "signed note has no blank line before its signatures"},
      {quote + "\n", "signed note has no signature lines after the blank line"},
      {quote + "\n" + signature.substr(0, signature.size() - 1), "the last signature line does not end in a newline"},
      {"\x01" + quote + "\n" + signature, "signed note: control character 0x01 at byte 0"},
      {"\xff" + quote + "\n" + signature, "signed note: byte 0 (0xff) is not valid UTF-8"},
      {quote + "\n\xe2\x80\x94 Bad Name " + base64, "signature line 1: the signature is not base64"},
      {quote + "\n" + signature + "Unexpected line.\n",
       "signature line 2 does not start with an em dash (U+2014) and a space"},
      // More.
      {quote + "\n-- PeterNeumann " + base64, "signature line 1 does not start with an em dash"},
      {quote + "\n\xe2\x80\x94PeterNeumann " + base64, "signature line 1 does not start with an em dash"},
      {quote + "\n\xe2\x80\x94 PeterNeumann\n", "signature line 1 has no space between the key name and the signature"},
      {quote + "\n\xe2\x80\x94  " + base64, "signature line 1: invalid key name ``"},
      {quote + "\n\xe2\x80\x94 Peter+Neumann " + base64, "signature line 1: invalid key name `Peter+Neumann`"},
      {quote + "\n\xe2\x80\x94 Peter\xc2\xa0Neumann " + base64, "invalid key name"},
      {quote + "\n\xe2\x80\x94 Peter\xe3\x80\x80Neumann " + base64, "invalid key name"},
      {quote + "\n\xe2\x80\x94 PeterNeumann AAAA\n", "the signature has 3 bytes, fewer than a 4-byte key id"},
      {quote + "\n\xe2\x80\x94 PeterNeumann AAAAAA==\n", "the signature has 4 bytes"},
      {quote + "\n\xe2\x80\x94 PeterNeumann " + base64.substr(1), "the signature is not base64"},
      {quote + "\n" + signature + "\n", "signed note has no signature lines after the blank line"},
      {"tab\there\n\n" + signature, "control character 0x09 at byte 3"},
      {"carriage\r\n\n" + signature, "control character 0x0d at byte 8"},
      {"overlong \xc0\xaf\n\n" + signature, "byte 9 (0xc0) is not valid UTF-8"},
      {"surrogate \xed\xa0\x80\n\n" + signature, "byte 10 (0xed) is not valid UTF-8"},
      {"beyond \xf4\x90\x80\x80\n\n" + signature, "byte 7 (0xf4) is not valid UTF-8"},
      {"cut \xe2\x80", "byte 4 (0xe2) is not valid UTF-8"},
      {"", "signed note has no blank line"},
  };
  for (const Case& c : cases) {
    INFO("message: " << c.message);
    ExpectError(OpenNote(c.message, known), c.error);
    ExpectError(ParseNote(c.message), c.error);
  }
  // The last blank line separates the signatures: an empty line inside the
  // text is part of it.
  const std::string text_with_blank = "first\n\nsecond\n";
  auto parsed = ParseNote(text_with_blank + "\n" + signature);
  REQUIRE(parsed.ok());
  CHECK(parsed.value().text == text_with_blank);
}

TEST_CASE("tlog: malformed and mismatched note keys are rejected", "[tlog]") {
  // sumdb/note TestNewVerifier / TestNewSigner: every proper substring and
  // every single-byte change of a key is rejected.
  for (const std::string_view key : {kPeterVerifier, kPeterSigner}) {
    const bool is_signer = key == kPeterSigner;
    const auto parses = [&](std::string_view text) {
      return is_signer ? NoteSigner::Parse(text).ok() : NoteVerifier::Parse(text).ok();
    };
    for (std::size_t i = 0; i <= key.size(); ++i) {
      for (std::size_t j = i + 1; j <= key.size(); ++j) {
        if (i != 0 || j != key.size()) {
          INFO("substring " << key.substr(i, j - i));
          CHECK_FALSE(parses(key.substr(i, j - i)));
        }
      }
    }
    std::string changed(key);
    for (std::size_t i = 0; i < changed.size(); ++i) {
      ++changed[i];
      INFO("changed " << changed);
      CHECK_FALSE(parses(changed));
      --changed[i];
    }
  }
  // sumdb/note's wrong-length key is also non-canonical base64 here.
  ExpectError(NoteVerifier::Parse("PeterNeumann+cc469956+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TWBADKEY=="),
              "verifier key: the key is not base64: non-canonical base64");
  ExpectError(NoteVerifier::Parse("PeterNeumann+c74f20a3+" + crypto::Base64Encode(std::string(34, '\x01'))),
              "verifier key: an Ed25519 public key is 32 bytes, got 33");
  ExpectError(NoteVerifier::Parse("PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"),
              "verifier key: unknown signature type 0x65 (only 0x01, Ed25519, is supported)");
  ExpectError(NoteVerifier::Parse("PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"),
              "verifier key: key id c74f20a4 does not match the name and key (c74f20a3)");
  ExpectError(NoteVerifier::Parse("PeterNeumann+C74F20A3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"),
              "key id `C74F20A3` is not 8 lower-case hex digits");
  ExpectError(NoteVerifier::Parse("PeterNeumann"), "verifier key is not `<name>+<key id>+<key>`");
  ExpectError(NoteVerifier::Parse("+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"), "invalid key name ``");
  ExpectError(NoteVerifier::Parse("Peter Neumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"),
              "invalid key name `Peter Neumann`");
  ExpectError(NoteVerifier::Parse("PeterNeumann+c74f20a3+"), "verifier key: the key is empty");
  ExpectError(NoteVerifier::Parse("PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10T"),
              "verifier key: the key is not base64");
  ExpectError(NoteSigner::Parse("PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"),
              "signer key does not start with `PRIVATE+KEY+`");
  ExpectError(NoteSigner::Parse("PRIVATE+KEY+PeterNeumann+c74f20a4+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"),
              "signer key: key id c74f20a4 does not match the name and derived public key (c74f20a3)");
  ExpectError(NoteSigner::Parse("PRIVATE+KEY+EnochRoot+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"),
              "does not match the name and derived public key");
  // The signer key's secret never appears in an error.
  auto bad_base64 = NoteSigner::Parse("PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKD!z");
  ExpectError(bad_base64, "signer key: the key is not canonical base64");
  CHECK(bad_base64.error().message.find("AYEK") == std::string::npos);
  auto no_key_id = NoteSigner::Parse("PRIVATE+KEY+PeterNeumann+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz");
  ExpectError(no_key_id, "signer key: key id is not 8 lower-case hex digits");
  CHECK(no_key_id.error().message.find("AYEK") == std::string::npos);
  ExpectError(NoteSigner::Parse("PRIVATE+KEY+Peter Neumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"),
              "signer key: invalid key name (empty, or with white space or `+`)");
}

TEST_CASE("tlog: signing notes with generated keys", "[tlog]") {
  auto first_key = crypto::PrivateKey::Generate();
  auto second_key = crypto::PrivateKey::Generate();
  REQUIRE(first_key.ok());
  REQUIRE(second_key.ok());
  auto first = NoteSigner::Create("log.example/one", first_key.value());
  auto second = NoteSigner::Create("witness.example/w1", second_key.value());
  REQUIRE(first.ok());
  REQUIRE(second.ok());
  CHECK(first.value().key_id() == NoteKeyId("log.example/one", first_key.value().public_key()));

  // Keys survive their text forms.
  auto reparsed = NoteSigner::Parse(first.value().Encode());
  REQUIRE(reparsed.ok());
  CHECK(reparsed.value().Verifier().Encode() == first.value().Verifier().Encode());
  auto verifier = NoteVerifier::Parse(second.value().Verifier().Encode());
  REQUIRE(verifier.ok());
  CHECK(verifier.value().public_key() == second_key.value().public_key());

  const std::vector<NoteSigner> signers = {first.value(), second.value()};
  const std::string text = "line one\n\nline three, after an empty line\nünïcödé ✓\n";
  auto message = SignNote(text, signers);
  REQUIRE(message.ok());
  const std::vector<NoteVerifier> known = {second.value().Verifier()};
  auto opened = OpenNote(message.value(), known);
  REQUIRE(opened.ok());
  CHECK(opened.value().text == text);
  REQUIRE(opened.value().verified.size() == 1);
  CHECK(opened.value().verified[0].name == "witness.example/w1");
  REQUIRE(opened.value().unknown.size() == 1);
  CHECK(opened.value().unknown[0].name == "log.example/one");

  ExpectError(SignNote("no final newline", signers), "note text does not end in a newline");
  ExpectError(SignNote("", signers), "note text does not end in a newline");
  ExpectError(SignNote("bell\a\n", signers), "note text: control character 0x07 at byte 4");
  ExpectError(SignNote("latin1 \xe9\n", signers), "note text: byte 7 (0xe9) is not valid UTF-8");
  ExpectError(SignNote(text, {}), "a signed note needs at least one signer");
  ExpectError(NoteSigner::Create("bad name", first_key.value()), "invalid note key name `bad name`");
  ExpectError(NoteSigner::Create("a+b", first_key.value()), "invalid note key name `a+b`");
  ExpectError(NoteVerifier::Create("", first_key.value().public_key()), "invalid note key name ``");
  CHECK(IsValidNoteKeyName("example.com/log42"));
  CHECK(IsValidNoteKeyName("ünïcödé"));
  CHECK_FALSE(IsValidNoteKeyName("tab\tname"));
  CHECK_FALSE(IsValidNoteKeyName("nbsp\xc2\xa0name"));
  CHECK_FALSE(IsValidNoteKeyName("bad\xff"));
}

TEST_CASE("tlog: checkpoints format and parse strictly", "[tlog]") {
  // golang.org/x/mod/sumdb/tlog note_test.go TestFormatTree: a tree of
  // 123456789012 leaves whose head is RecordHash("hello world").
  const std::string golden = "go.sum database tree\n123456789012\nTszzRgjTG6xce+z2AG31kAXYKBgQVtCSCE40HmuwBb0=\n";
  Checkpoint checkpoint{"go.sum database tree", 123456789012, LeafHash("hello world"), {}};
  auto formatted = FormatCheckpoint(checkpoint);
  REQUIRE(formatted.ok());
  CHECK(formatted.value() == golden);
  auto parsed = ParseCheckpoint(golden);
  REQUIRE(parsed.ok());
  CHECK(parsed.value() == checkpoint);

  // c2sp.org/tlog-checkpoint's example note.
  auto example = ParseNote(
      "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n\n"
      "\xe2\x80\x94 example.com/behind-the-sofa "
      "Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOoRDe4URYN7u5/Zhcyv2q1gGzGku9nTo+zyWE+xeMcTOAYQ8=\n");
  REQUIRE(example.ok());
  auto sofa = ParseCheckpoint(example.value().text);
  REQUIRE(sofa.ok());
  CHECK(sofa.value().origin == "example.com/behind-the-sofa");
  CHECK(sofa.value().size == 20852163);
  CHECK(Hex(sofa.value().root_hash) == "0ac5186a91863e8e1d90c808014aa89bf5da8e3ee1d9f07630f0378f68f1ab62");
  CHECK(sofa.value().extensions.empty());

  const Checkpoint extended{"example.com/log", UINT64_MAX, EmptyTreeHash(), {"ext one", "— two"}};
  auto extended_text = FormatCheckpoint(extended);
  REQUIRE(extended_text.ok());
  CHECK(extended_text.value() ==
        "example.com/log\n18446744073709551615\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\next one\n— two\n");
  CHECK(ParseCheckpoint(extended_text.value()).value() == extended);
  CHECK(ParseCheckpoint("o\n0\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n").value().size == 0);

  const std::string root = "\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n";
  ExpectError(ParseCheckpoint("o\n5\n"),
              "checkpoint has only 2 of its 3 required lines (origin, tree size, root hash)");
  ExpectError(ParseCheckpoint("o\n5" + root.substr(0, root.size() - 1)), "note text does not end in a newline");
  ExpectError(ParseCheckpoint("\n5" + root), "checkpoint line 1 is empty");
  ExpectError(ParseCheckpoint("o\n5" + root + "\n"), "checkpoint line 4 is empty");
  ExpectError(ParseCheckpoint("o\n05" + root), "checkpoint tree size `05` is not a decimal number");
  ExpectError(ParseCheckpoint("o\n-5" + root), "tree size `-5`");
  ExpectError(ParseCheckpoint("o\n+5" + root), "tree size `+5`");
  ExpectError(ParseCheckpoint("o\n0x10" + root), "tree size `0x10`");
  ExpectError(ParseCheckpoint("o\n18446744073709551616" + root), "tree size `18446744073709551616`");
  ExpectError(ParseCheckpoint("o\n5\nAAAA\n"), "checkpoint root hash has 3 bytes, expected 32");
  ExpectError(ParseCheckpoint("o\n5\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU\n"), "root hash is not base64");
  ExpectError(ParseCheckpoint("o\t\n5" + root), "control character 0x09");
  ExpectError(FormatCheckpoint(Checkpoint{"", 1, {}, {}}), "checkpoint origin is empty");
  ExpectError(FormatCheckpoint(Checkpoint{"a\nb", 1, {}, {}}), "checkpoint origin `a\\nb` holds a newline");
  ExpectError(FormatCheckpoint(Checkpoint{"o", 1, {}, {""}}), "checkpoint extension line is empty");
  ExpectError(FormatCheckpoint(Checkpoint{"o", 1, {}, {"bell\a"}}), "control character 0x07");
}

TEST_CASE("tlog: a signed checkpoint vouches for inclusion in a log", "[tlog]") {
  auto key = crypto::PrivateKey::Generate();
  REQUIRE(key.ok());
  auto signer = NoteSigner::Create("log.example/tlog", key.value());
  REQUIRE(signer.ok());
  const std::vector<NoteSigner> signers = {signer.value()};
  const std::vector<NoteVerifier> known = {signer.value().Verifier()};

  MemoryTree tree;
  for (int i = 0; i < 1000; ++i) {
    tree.Append("record " + std::to_string(i));
  }
  const Checkpoint checkpoint{"log.example/tlog", tree.size(), TreeHash(tree.size(), tree).value(), {}};
  auto message = SignCheckpoint(checkpoint, signers);
  REQUIRE(message.ok());

  auto opened = OpenCheckpoint(message.value(), "log.example/tlog", known);
  REQUIRE(opened.ok());
  CHECK(opened.value() == checkpoint);
  const auto proof = InclusionProof(617, opened.value().size, tree);
  REQUIRE(proof.ok());
  CHECK(
      VerifyInclusion(LeafHash("record 617"), 617, opened.value().size, proof.value(), opened.value().root_hash).ok());

  ExpectError(OpenCheckpoint(message.value(), "log.example/other", known),
              "checkpoint origin `log.example/tlog` is not the expected `log.example/other`");
  ExpectError(OpenCheckpoint(message.value(), "log.example/tlog", {}), "no signature by a known key");
  std::string forged = message.value();
  forged.replace(forged.find("\n1000\n"), 6, "\n1001\n");
  ExpectError(OpenCheckpoint(forged, "log.example/tlog", known), "does not verify");
  const std::vector<NoteSigner> signers_for_bad = {signer.value()};
  auto not_a_checkpoint = SignNote("just one line\n", signers_for_bad);
  REQUIRE(not_a_checkpoint.ok());
  ExpectError(OpenCheckpoint(not_a_checkpoint.value(), "log.example/tlog", known),
              "checkpoint has only 1 of its 3 required lines");
}

TEST_CASE("tlog: cosignature/v1 lines: the spec's example, signing, verifying, rejecting", "[tlog]") {
  // The example of c2sp.org/tlog-cosignature: its witness line holds a key
  // id, the timestamp of its "time 1679315147" message, and 64 bytes.
  const std::string example =
      "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n\n"
      "\xe2\x80\x94 example.com/behind-the-sofa "
      "Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOoRDe4URYN7u5/Zhcyv2q1gGzGku9nTo+zyWE+xeMcTOAYQ8=\n"
      "\xe2\x80\x94 witness.example.com/w1 "
      "jWbPPwAAAABkGFDLEZMHwSRaJNiIDoe9DYn/zXcrtPHeolMI5OWXEhZCB9dlrDJsX3b2oyin1nPZqhf5nNo0xUe+mbIUBkBIfZ+qnA==\n";
  auto parsed = ParseNote(example);
  REQUIRE(parsed.ok());
  REQUIRE(parsed.value().signatures.size() == 2);
  const NoteSignature& line = parsed.value().signatures[1];
  REQUIRE(line.signature.size() == 72);
  std::uint64_t timestamp = 0;
  for (int i = 0; i < 8; ++i) timestamp = (timestamp << 8) | static_cast<unsigned char>(line.signature[i]);
  CHECK(timestamp == 1679315147);
  CHECK(CosignedMessage(parsed.value().text, timestamp) ==
        "cosignature/v1\ntime 1679315147\nexample.com/behind-the-sofa\n20852163\n"
        "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n");

  auto log_key = crypto::PrivateKey::Generate();
  auto witness_key = crypto::PrivateKey::Generate();
  auto stranger = crypto::PrivateKey::Generate();
  REQUIRE((log_key.ok() && witness_key.ok() && stranger.ok()));
  // The key id: SHA-256(name || 0x0A || 0x04 || key)[:4], unlike a note
  // key's 0x01.
  crypto::Sha256 sha;
  sha.Update("witness.example/w1\n\x04");
  sha.Update(witness_key.value().public_key().raw().data(), 32);
  const crypto::Sha256Digest digest = sha.Finish();
  CHECK(CosignatureKeyId("witness.example/w1", witness_key.value().public_key()) ==
        ((std::uint32_t{digest[0]} << 24) | (std::uint32_t{digest[1]} << 16) | (std::uint32_t{digest[2]} << 8) |
         digest[3]));
  CHECK(CosignatureKeyId("witness.example/w1", witness_key.value().public_key()) !=
        NoteKeyId("witness.example/w1", witness_key.value().public_key()));

  auto signer = NoteSigner::Create("log.example/one", log_key.value());
  REQUIRE(signer.ok());
  const std::string text = "log.example/one\n5\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n";
  auto note_text = SignNote(text, std::span(&signer.value(), 1));
  REQUIRE(note_text.ok());
  auto note = ParseNote(note_text.value());
  REQUIRE(note.ok());
  auto cosignature = Cosign(text, "witness.example/w1", witness_key.value(), 1795900000);
  REQUIRE(cosignature.ok());
  note.value().signatures.push_back(cosignature.value());
  const std::string cosigned = FormatNote(note.value());
  auto reread = ParseNote(cosigned);
  REQUIRE(reread.ok());
  auto found = FindCosignature(reread.value(), witness_key.value().public_key());
  REQUIRE(found.ok());
  CHECK(found.value().name == "witness.example/w1");
  CHECK(found.value().timestamp == 1795900000);
  // The log's own signature still verifies; the cosignature is one more line.
  CHECK(OpenNote(cosigned, std::vector<NoteVerifier>{signer.value().Verifier()}).ok());

  CHECK_FALSE(FindCosignature(reread.value(), stranger.value().public_key()).ok());
  Note changed_text = reread.value();
  changed_text.text = "log.example/one\n6\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n";
  CHECK(FindCosignature(changed_text, witness_key.value().public_key()).error().message.find("does not verify") !=
        std::string::npos);
  Note changed_time = reread.value();
  changed_time.signatures.back().signature[7] ^= 1;
  CHECK_FALSE(FindCosignature(changed_time, witness_key.value().public_key()).ok());
  Note huge_time = reread.value();
  huge_time.signatures.back().signature[0] = static_cast<char>(0x80);
  CHECK(FindCosignature(huge_time, witness_key.value().public_key()).error().message.find("2^63") != std::string::npos);
  CHECK_FALSE(Cosign(text, "bad name", witness_key.value(), 1).ok());
  CHECK_FALSE(Cosign(text, "w", witness_key.value(), kMaxCosignatureTime + 1).ok());
}

}  // namespace
}  // namespace gov::tlog
