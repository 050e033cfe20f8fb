// "Did you mean ...?" for names a policy misspells: the edit distance and
// the closest of the known names.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace gov::diagnostics {

// Edit distance (insert, delete, substitute, swap neighbours); names longer
// than 64 characters are never close (1000).
std::size_t EditDistance(std::string_view a, std::string_view b);

// The candidate closest to `name` when close enough to be a typo: at most
// max(1, |name| / 3) edits away. The first of equally close candidates wins.
std::optional<std::string> ClosestName(std::string_view name, const std::vector<std::string>& candidates);

}  // namespace gov::diagnostics
