// Inclusion proofs from a lineage directory's tiles (inclusion.h).
#include "console/viewer/inclusion.h"

#include <array>

#include "runtime/lineage/publish.h"
#include "runtime/tlog/merkle.h"
#include "runtime/tlog/tile.h"

namespace gov::console {

ErrorOr<nlohmann::json> InclusionProofJson(const std::string& dir, std::uint64_t seq, std::uint64_t tree_size) {
  if (seq >= tree_size) return Error{"record " + std::to_string(seq) + " is not in the published tree"};
  lineage::DirectoryTileSource tiles(dir);
  const tlog::TileHashReader reader(tree_size, tiles);
  const std::array<tlog::NodeId, 1> leaf = {tlog::NodeId{0, seq}};
  auto leaf_hash = reader.ReadHashes(leaf);
  if (!leaf_hash.ok()) return leaf_hash.error();
  auto proof = tlog::InclusionProof(seq, tree_size, reader);
  if (!proof.ok()) return proof.error();
  auto root = tlog::TreeHash(tree_size, reader);
  if (!root.ok()) return root.error();
  if (auto checked = tlog::VerifyInclusion(leaf_hash.value()[0], seq, tree_size, proof.value(), root.value());
      !checked.ok()) {
    return checked.error();
  }
  nlohmann::json hashes = nlohmann::json::array();
  for (const tlog::Hash& hash : proof.value()) hashes.push_back(crypto::HexEncode(hash));
  return nlohmann::json{{"leaf_index", seq},
                        {"tree_size", tree_size},
                        {"leaf_hash", crypto::HexEncode(leaf_hash.value()[0])},
                        {"proof", hashes},
                        {"root", crypto::HexEncode(root.value())}};
}

}  // namespace gov::console
