// Lexical path operations shared by the compiler (constant folding, literal
// checks) and the runtime (decisions). Purely textual: no filesystem access,
// no symlink resolution — the request carries resolved paths.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace gov::paths {

// Collapses `//`, removes `.` segments and trailing slashes, resolves `..`
// lexically (`/..` stays `/`; leading `..` of a relative path are kept).
// The empty path normalizes to `.`.
std::string Normalize(std::string_view path);
// `base / rest`: `rest` when it is absolute, else the normalized join.
std::string Join(std::string_view base, std::string_view rest);
// True when `path` equals `root` or lies beneath it, after normalizing both.
// An absolute path is never under a relative root and vice versa.
bool Under(std::string_view path, std::string_view root);
// Last segment (`/usr/bin/git` → `git`); empty for `/`.
std::string BaseName(std::string_view path);
// All but the last segment (`/usr/bin/git` → `/usr/bin`); `/` for `/x` and `/`.
std::string DirName(std::string_view path);
// Extension of the last segment without the dot (`a/b.tar.gz` → `gz`), or empty.
std::string Extension(std::string_view path);

// The directories govrun searches for a program name without a slash when
// PATH is not set (govc's test requests use it too).
inline constexpr std::string_view kDefaultSearchPath = "/usr/local/bin:/usr/bin:/bin";
// The directories a PATH value names, in order: its absolute entries as
// written; empty entries, `.` and other relative entries are skipped.
std::vector<std::string> SearchDirs(std::string_view path_env);

}  // namespace gov::paths
