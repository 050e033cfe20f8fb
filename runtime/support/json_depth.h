// A guard for parsers of untrusted JSON: how deep text nests, found without
// parsing it, so that a recursive parser never sees input that would only
// exercise its recursion.
#pragma once

#include <string_view>

namespace gov {

// True when `text` opens more than `limit` arrays or objects inside each
// other (brackets inside strings do not count).
bool JsonNestsDeeperThan(std::string_view text, int limit);

}  // namespace gov
