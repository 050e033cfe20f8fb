// RFC 9162 (RFC 6962) Merkle trees over SHA-256: leaf and node hashes, the
// tree head MTH (§2.1.1), inclusion proofs (§2.1.3) and consistency proofs
// (§2.1.4). Proofs are generated from stored hashes of complete subtrees (a
// HashReader: tiles, a database, memory), so a log never rehashes its leaves.
// docs/tlog.md describes the formats.
#pragma once

#include <compare>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "runtime/crypto/sha256.h"
#include "runtime/support/error_or.h"

namespace gov::tlog {

// A Merkle tree hash: SHA-256, 32 bytes.
using Hash = crypto::Sha256Digest;
inline constexpr std::size_t kHashSize = crypto::kSha256Size;

// Trees have at most 2^64 - 1 leaves, so a complete subtree has at most 2^63.
inline constexpr unsigned kMaxNodeLevel = 63;

// SHA-256(0x00 || entry): the hash of a log entry (RFC 9162 §2.1.1).
Hash LeafHash(std::string_view entry);

// SHA-256(0x01 || left || right): the hash of an interior node.
Hash NodeHash(const Hash& left, const Hash& right);

// SHA-256 of the empty string: the head of the empty tree, e3b0c442….
Hash EmptyTreeHash();

// A complete subtree: the 2^level leaves starting at leaf index * 2^level.
// Its hash is MTH of those leaves; level 0 nodes are the leaf hashes.
struct NodeId {
  std::uint8_t level = 0;
  std::uint64_t index = 0;

  auto operator<=>(const NodeId&) const = default;
};

// Where tree heads and proofs get subtree hashes from. The callers here ask
// only for complete subtrees of the tree they were given the size of.
class HashReader {
 public:
  virtual ~HashReader() = default;
  // The hashes of `nodes`, in the same order; fails when one is not stored.
  virtual ErrorOr<std::vector<Hash>> ReadHashes(std::span<const NodeId> nodes) const = 0;
};

// MTH of the first `tree_size` leaves; the empty tree's head for size 0.
ErrorOr<Hash> TreeHash(std::uint64_t tree_size, const HashReader& reader);

// PATH(index, D[tree_size]): the inclusion proof of leaf `index`, the
// sibling nearest the leaf first. Requires index < tree_size.
ErrorOr<std::vector<Hash>> InclusionProof(std::uint64_t index, std::uint64_t tree_size, const HashReader& reader);

// PROOF(old_size, D[new_size]): the proof that the tree of `new_size` leaves
// extends the one of `old_size`. Requires 0 < old_size <= new_size (a proof
// from the empty tree is meaningless, RFC 9162 §2.1.4); empty when equal.
ErrorOr<std::vector<Hash>> ConsistencyProof(std::uint64_t old_size, std::uint64_t new_size, const HashReader& reader);

// The number of hashes in those proofs (their sizes are fixed by the tree
// shape). The arguments must satisfy the requirements above.
std::size_t InclusionProofSize(std::uint64_t index, std::uint64_t tree_size);
std::size_t ConsistencyProofSize(std::uint64_t old_size, std::uint64_t new_size);

// Checks that `proof` shows `leaf_hash` is leaf `index` of the tree of
// `tree_size` leaves whose head is `root` (RFC 9162 §2.1.3.2).
ErrorOr<void> VerifyInclusion(const Hash& leaf_hash, std::uint64_t index, std::uint64_t tree_size,
                              std::span<const Hash> proof, const Hash& root);

// Checks that `proof` shows the tree of `new_size` leaves with head
// `new_root` extends the tree of `old_size` leaves with head `old_root`
// (RFC 9162 §2.1.4.2). Requires 0 < old_size <= new_size; when the sizes are
// equal the proof must be empty and the heads equal.
ErrorOr<void> VerifyConsistency(std::uint64_t old_size, std::uint64_t new_size, std::span<const Hash> proof,
                                const Hash& old_root, const Hash& new_root);

// The right edge of a growing tree: the hashes of its complete subtrees of
// decreasing size (one per set bit of the size), enough to append leaves and
// compute the tree head in O(log n) memory. Copying it snapshots a size.
class CompactTree {
 public:
  void AppendLeafHash(const Hash& leaf_hash);
  std::uint64_t size() const { return size_; }
  // MTH of the leaves appended so far; the empty tree's head for none.
  Hash RootHash() const;

 private:
  std::uint64_t size_ = 0;
  // Subtree hashes, largest (leftmost) first.
  std::vector<Hash> edge_;
};

// A tree kept whole in memory: every complete subtree's hash, for tests and
// small logs. Appending is O(1) amortized.
class MemoryTree : public HashReader {
 public:
  // Appends LeafHash(entry).
  void Append(std::string_view entry);
  void AppendLeafHash(const Hash& leaf_hash);

  std::uint64_t size() const { return levels_.empty() ? 0 : levels_[0].size(); }

  ErrorOr<std::vector<Hash>> ReadHashes(std::span<const NodeId> nodes) const override;

 private:
  // levels_[l][i] is the hash of NodeId{l, i}, for every complete subtree.
  std::vector<std::vector<Hash>> levels_;
};

}  // namespace gov::tlog
