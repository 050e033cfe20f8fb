// RFC 9162 Merkle tree hashing, proof generation from stored subtree hashes,
// and the RFC's proof verification algorithms.
#include "runtime/tlog/merkle.h"

#include <algorithm>
#include <bit>
#include <cstring>
#include <string>

#include "runtime/crypto/fast_sha256.h"

namespace gov::tlog {
namespace {

// The leaves [begin, end) of a tree whose MTH a tree head or proof needs.
// Every range the RFC's recursion visits starts at a multiple of the largest
// power of two not above its length, so it is a run of complete subtrees of
// decreasing size, and its MTH folds their hashes from the right.
struct LeafRange {
  std::uint64_t begin = 0;
  std::uint64_t end = 0;
};

// The largest power of two strictly below n (n >= 2): where MTH splits.
std::uint64_t SplitSize(std::uint64_t n) {
  return std::bit_floor(n - 1);
}

void AppendSubtrees(const LeafRange& range, std::vector<NodeId>& nodes) {
  std::uint64_t begin = range.begin;
  while (begin < range.end) {
    const std::uint64_t size = std::bit_floor(range.end - begin);
    const auto level = static_cast<std::uint8_t>(std::countr_zero(size));
    nodes.push_back(NodeId{level, begin >> level});
    begin += size;
  }
}

// The MTH of each range, reading every subtree hash in one ReadHashes call.
ErrorOr<std::vector<Hash>> HashRanges(std::span<const LeafRange> ranges, const HashReader& reader) {
  std::vector<NodeId> nodes;
  std::vector<std::size_t> range_ends;
  range_ends.reserve(ranges.size());
  for (const LeafRange& range : ranges) {
    AppendSubtrees(range, nodes);
    range_ends.push_back(nodes.size());
  }
  GOV_ASSIGN_OR_RETURN(const std::vector<Hash> hashes, reader.ReadHashes(nodes));
  if (hashes.size() != nodes.size()) {
    return Error{"hash reader returned " + std::to_string(hashes.size()) + " hashes for " +
                 std::to_string(nodes.size()) + " nodes"};
  }
  std::vector<Hash> result;
  result.reserve(ranges.size());
  std::size_t first = 0;
  for (const std::size_t end : range_ends) {
    Hash hash = hashes[end - 1];
    for (std::size_t i = end - 1; i > first; --i) {
      hash = NodeHash(hashes[i - 1], hash);
    }
    result.push_back(hash);
    first = end;
  }
  return result;
}

// The subtrees of PATH(index, D[tree_size]) (RFC 9162 §2.1.3.1), nearest the
// leaf first.
std::vector<LeafRange> InclusionRanges(std::uint64_t index, std::uint64_t tree_size) {
  std::vector<LeafRange> siblings;
  std::uint64_t begin = 0;
  std::uint64_t end = tree_size;
  while (end - begin > 1) {
    const std::uint64_t split = begin + SplitSize(end - begin);
    if (index < split) {
      siblings.push_back({split, end});
      end = split;
    } else {
      siblings.push_back({begin, split});
      begin = split;
    }
  }
  std::reverse(siblings.begin(), siblings.end());
  return siblings;
}

// The subtrees of PROOF(old_size, D[new_size]) = SUBPROOF(old_size,
// D[new_size], true) (RFC 9162 §2.1.4.1), deepest first.
std::vector<LeafRange> ConsistencyRanges(std::uint64_t old_size, std::uint64_t new_size) {
  std::vector<LeafRange> parts;
  std::uint64_t begin = 0;
  std::uint64_t end = new_size;
  bool old_tree_is_whole_subtree = true;
  while (old_size - begin != end - begin) {
    const std::uint64_t split = begin + SplitSize(end - begin);
    if (old_size <= split) {
      parts.push_back({split, end});
      end = split;
    } else {
      parts.push_back({begin, split});
      begin = split;
      old_tree_is_whole_subtree = false;
    }
  }
  if (!old_tree_is_whole_subtree) {
    parts.push_back({begin, end});
  }
  std::reverse(parts.begin(), parts.end());
  return parts;
}

}  // namespace

// Both hash a prefix byte and at most a small entry: through a stack buffer
// with the CPU's SHA instructions (FastSha256), which verifying a large log
// (a leaf and a node hash per record) needs; libsodium's portable SHA-256
// is several times slower.
Hash LeafHash(std::string_view entry) {
  char buffer[1024];
  if (entry.size() < sizeof buffer) {
    buffer[0] = 0x00;
    std::memcpy(buffer + 1, entry.data(), entry.size());
    return crypto::FastSha256(std::string_view(buffer, entry.size() + 1));
  }
  crypto::Sha256 sha;
  const std::uint8_t prefix = 0x00;
  sha.Update(&prefix, 1);
  sha.Update(entry);
  return sha.Finish();
}

Hash NodeHash(const Hash& left, const Hash& right) {
  char buffer[1 + 2 * kHashSize];
  buffer[0] = 0x01;
  std::memcpy(buffer + 1, left.data(), kHashSize);
  std::memcpy(buffer + 1 + kHashSize, right.data(), kHashSize);
  return crypto::FastSha256(std::string_view(buffer, sizeof buffer));
}

Hash EmptyTreeHash() {
  return crypto::Sha256Of("");
}

ErrorOr<Hash> TreeHash(std::uint64_t tree_size, const HashReader& reader) {
  if (tree_size == 0) {
    return EmptyTreeHash();
  }
  const LeafRange whole{0, tree_size};
  GOV_ASSIGN_OR_RETURN(const std::vector<Hash> hashes, HashRanges(std::span<const LeafRange>(&whole, 1), reader));
  return hashes[0];
}

ErrorOr<std::vector<Hash>> InclusionProof(std::uint64_t index, std::uint64_t tree_size, const HashReader& reader) {
  if (index >= tree_size) {
    return Error{"leaf index " + std::to_string(index) + " is not in a tree of size " + std::to_string(tree_size)};
  }
  return HashRanges(InclusionRanges(index, tree_size), reader);
}

ErrorOr<std::vector<Hash>> ConsistencyProof(std::uint64_t old_size, std::uint64_t new_size, const HashReader& reader) {
  if (old_size == 0) {
    return Error{"no consistency proof from the empty tree: every tree extends it"};
  }
  if (old_size > new_size) {
    return Error{"old tree size " + std::to_string(old_size) + " is larger than new tree size " +
                 std::to_string(new_size)};
  }
  return HashRanges(ConsistencyRanges(old_size, new_size), reader);
}

std::size_t InclusionProofSize(std::uint64_t index, std::uint64_t tree_size) {
  return InclusionRanges(index, tree_size).size();
}

std::size_t ConsistencyProofSize(std::uint64_t old_size, std::uint64_t new_size) {
  return ConsistencyRanges(old_size, new_size).size();
}

ErrorOr<void> VerifyInclusion(const Hash& leaf_hash, std::uint64_t index, std::uint64_t tree_size,
                              std::span<const Hash> proof, const Hash& root) {
  if (index >= tree_size) {
    return Error{"leaf index " + std::to_string(index) + " is not in a tree of size " + std::to_string(tree_size)};
  }
  const std::size_t expected = InclusionProofSize(index, tree_size);
  if (proof.size() != expected) {
    return Error{"inclusion proof has " + std::to_string(proof.size()) + " hashes; leaf " + std::to_string(index) +
                 " of a tree of size " + std::to_string(tree_size) + " needs " + std::to_string(expected)};
  }
  std::uint64_t fn = index;
  std::uint64_t sn = tree_size - 1;
  Hash r = leaf_hash;
  for (const Hash& p : proof) {
    if (sn == 0) {
      return Error{"inclusion proof is longer than the path to the root"};
    }
    if ((fn & 1) != 0 || fn == sn) {
      r = NodeHash(p, r);
      while ((fn & 1) == 0 && fn != 0) {
        fn >>= 1;
        sn >>= 1;
      }
    } else {
      r = NodeHash(r, p);
    }
    fn >>= 1;
    sn >>= 1;
  }
  if (sn != 0) {
    return Error{"inclusion proof is shorter than the path to the root"};
  }
  if (r != root) {
    return Error{"inclusion proof of leaf " + std::to_string(index) + " does not lead to the tree head of size " +
                 std::to_string(tree_size)};
  }
  return {};
}

ErrorOr<void> VerifyConsistency(std::uint64_t old_size, std::uint64_t new_size, std::span<const Hash> proof,
                                const Hash& old_root, const Hash& new_root) {
  if (old_size == 0) {
    return Error{"no consistency proof from the empty tree: every tree extends it"};
  }
  if (old_size > new_size) {
    return Error{"old tree size " + std::to_string(old_size) + " is larger than new tree size " +
                 std::to_string(new_size)};
  }
  if (old_size == new_size) {
    if (!proof.empty()) {
      return Error{"consistency proof between equal tree sizes must be empty, has " + std::to_string(proof.size()) +
                   " hashes"};
    }
    if (old_root != new_root) {
      return Error{"tree heads of the same size " + std::to_string(old_size) + " differ"};
    }
    return {};
  }
  const std::size_t expected = ConsistencyProofSize(old_size, new_size);
  if (proof.size() != expected) {
    return Error{"consistency proof has " + std::to_string(proof.size()) + " hashes; from size " +
                 std::to_string(old_size) + " to " + std::to_string(new_size) + " it needs " +
                 std::to_string(expected)};
  }
  std::vector<Hash> path;
  path.reserve(proof.size() + 1);
  if (std::has_single_bit(old_size)) {
    path.push_back(old_root);
  }
  path.insert(path.end(), proof.begin(), proof.end());

  std::uint64_t fn = old_size - 1;
  std::uint64_t sn = new_size - 1;
  while ((fn & 1) != 0) {
    fn >>= 1;
    sn >>= 1;
  }
  Hash fr = path[0];
  Hash sr = path[0];
  for (std::size_t i = 1; i < path.size(); ++i) {
    const Hash& c = path[i];
    if (sn == 0) {
      return Error{"consistency proof is longer than the path to the root"};
    }
    if ((fn & 1) != 0 || fn == sn) {
      fr = NodeHash(c, fr);
      sr = NodeHash(c, sr);
      while ((fn & 1) == 0 && fn != 0) {
        fn >>= 1;
        sn >>= 1;
      }
    } else {
      sr = NodeHash(sr, c);
    }
    fn >>= 1;
    sn >>= 1;
  }
  if (sn != 0) {
    return Error{"consistency proof is shorter than the path to the root"};
  }
  if (fr != old_root) {
    return Error{"consistency proof does not lead to the old tree head of size " + std::to_string(old_size)};
  }
  if (sr != new_root) {
    return Error{"consistency proof does not lead to the new tree head of size " + std::to_string(new_size)};
  }
  return {};
}

void CompactTree::AppendLeafHash(const Hash& leaf_hash) {
  Hash carry = leaf_hash;
  // Each trailing one bit of the old size is a subtree of that size that
  // the new leaf completes into one twice as large.
  for (std::uint64_t bits = size_; (bits & 1) != 0; bits >>= 1) {
    carry = NodeHash(edge_.back(), carry);
    edge_.pop_back();
  }
  edge_.push_back(carry);
  ++size_;
}

Hash CompactTree::RootHash() const {
  if (edge_.empty()) return EmptyTreeHash();
  Hash root = edge_.back();
  for (std::size_t i = edge_.size() - 1; i-- > 0;) root = NodeHash(edge_[i], root);
  return root;
}

void MemoryTree::Append(std::string_view entry) {
  AppendLeafHash(LeafHash(entry));
}

void MemoryTree::AppendLeafHash(const Hash& leaf_hash) {
  Hash carry = leaf_hash;
  for (std::size_t level = 0;; ++level) {
    if (level == levels_.size()) {
      levels_.emplace_back();
    }
    std::vector<Hash>& hashes = levels_[level];
    hashes.push_back(carry);
    if (hashes.size() % 2 != 0) {
      return;
    }
    carry = NodeHash(hashes[hashes.size() - 2], hashes[hashes.size() - 1]);
  }
}

ErrorOr<std::vector<Hash>> MemoryTree::ReadHashes(std::span<const NodeId> nodes) const {
  std::vector<Hash> hashes;
  hashes.reserve(nodes.size());
  for (const NodeId& node : nodes) {
    if (node.level >= levels_.size() || node.index >= levels_[node.level].size()) {
      return Error{"node (level " + std::to_string(node.level) + ", index " + std::to_string(node.index) +
                   ") is not a complete subtree of the " + std::to_string(size()) + " stored leaves"};
    }
    hashes.push_back(levels_[node.level][node.index]);
  }
  return hashes;
}

}  // namespace gov::tlog
