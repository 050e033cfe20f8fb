// The inclusion proof of one record in a lineage directory's published
// Merkle tree (docs/lineage-format.md "Transparency log"), for `govverify
// show` and the console's run page: what an auditor needs to check, with
// any RFC 9162 verifier, that the record is in the signed tree.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "runtime/support/error_or.h"

namespace gov::console {

// {"leaf_index", "tree_size", "leaf_hash", "proof": [hex…], "root": hex} for
// record `seq` of the tree of `tree_size` records published in `dir`'s
// tiles (which govverify compares with the log), checked here before it is
// returned.
ErrorOr<nlohmann::json> InclusionProofJson(const std::string& dir, std::uint64_t seq, std::uint64_t tree_size);

}  // namespace gov::console
