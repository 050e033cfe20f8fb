// Unit tests for runtime/tlog: RFC 6962 / RFC 9162 known answers, proofs
// cross-checked against the RFC's recursive definitions for every tree of up
// to 64 leaves, and tampered proofs.
#include <algorithm>
#include <bit>
#include <catch2/catch.hpp>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/crypto/sha256.h"
#include "runtime/tlog/merkle.h"

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

// Expects `result` to fail with a message containing `part`.
template <typename T>
void ExpectError(const ErrorOr<T>& result, std::string_view part) {
  INFO("expected an error containing: " << part);
  REQUIRE_FALSE(result.ok());
  INFO("got: " << result.error().message);
  CHECK(result.error().message.find(part) != std::string::npos);
}

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
  for (std::uint64_t size = 0; size <= kMaxSize; ++size) {
    roots.push_back(ReferenceMth(std::span<const Hash>(leaves).first(size)));
    auto head = TreeHash(size, tree);
    REQUIRE(head.ok());
    REQUIRE(head.value() == roots[size]);
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
  CHECK(checked == 64 * 65 / 2 * 2);
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

}  // namespace
}  // namespace gov::tlog
