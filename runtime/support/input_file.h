// Reading one input file whole, where `-` names standard input (every tool's
// convention for a file argument).
#pragma once

#include <cstddef>
#include <string>

#include "runtime/support/error_or.h"

namespace gov::input {

// The argument that names standard input.
inline constexpr const char* kStandardInput = "-";

// How messages name `path`: "standard input" for `-`, else the path.
std::string DisplayName(const std::string& path);

// The whole content of `path` (`-`: standard input, read to its end), at most
// `limit` bytes; errors name the input and say why (missing, a directory,
// unreadable, larger than the limit).
ErrorOr<std::string> ReadInputFile(const std::string& path, std::size_t limit);

}  // namespace gov::input
