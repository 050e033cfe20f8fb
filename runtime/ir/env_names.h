// The `env` obligation's names: a variable name (`PATH`) or a prefix
// pattern, a name followed by one `*` (`LC_*` passes LC_ALL, LC_CTYPE, ...).
// The checker accepts nothing else (a `*` elsewhere, or `*` alone, which
// would pass LD_PRELOAD and every other variable), ir::Validate rejects
// anything else in a bundle, and govrun, the session supervisor and the
// recorder match environments with EnvNameListed.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace gov::ir {

// True when `entry` is a valid `env` entry: a non-empty name without `=`,
// NUL or `*`, optionally followed by one `*`.
bool IsEnvEntry(std::string_view entry);

// True when the variable `name` is passed by the entries: equal to a name,
// or starting with a pattern's prefix.
bool EnvNameListed(const std::vector<std::string>& entries, std::string_view name);

// The entries both lists pass (the `env` obligations of several rules
// combined): a name or pattern of one list that the other list passes in
// full. Sorted, without duplicates, and without entries another entry of
// the result already covers.
std::vector<std::string> IntersectEnvEntries(const std::vector<std::string>& a, const std::vector<std::string>& b);

}  // namespace gov::ir
