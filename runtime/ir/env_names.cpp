// `env` obligation names and prefix patterns (env_names.h).
#include "runtime/ir/env_names.h"

#include <algorithm>

namespace gov::ir {
namespace {

bool IsPattern(std::string_view entry) {
  return !entry.empty() && entry.back() == '*';
}

// True when everything `entry` passes is passed by `by`: the same name, or
// a pattern whose prefix begins `entry` (a name or another pattern's prefix).
bool Covers(std::string_view by, std::string_view entry) {
  if (!IsPattern(by)) return by == entry;
  const std::string_view stem = IsPattern(entry) ? entry.substr(0, entry.size() - 1) : entry;
  return stem.starts_with(by.substr(0, by.size() - 1));
}

bool CoveredByAny(const std::vector<std::string>& entries, std::string_view entry) {
  return std::any_of(entries.begin(), entries.end(), [&](const std::string& by) { return Covers(by, entry); });
}

}  // namespace

bool IsEnvEntry(std::string_view entry) {
  std::string_view name = IsPattern(entry) ? entry.substr(0, entry.size() - 1) : entry;
  if (name.empty()) return false;
  return name.find_first_of(std::string_view("=*\0", 3)) == std::string_view::npos;
}

bool EnvNameListed(const std::vector<std::string>& entries, std::string_view name) {
  for (const std::string& entry : entries) {
    if (IsPattern(entry) ? name.starts_with(std::string_view(entry).substr(0, entry.size() - 1)) : name == entry) {
      return true;
    }
  }
  return false;
}

std::vector<std::string> IntersectEnvEntries(const std::vector<std::string>& a, const std::vector<std::string>& b) {
  std::vector<std::string> both;
  for (const std::string& entry : a) {
    if (CoveredByAny(b, entry)) both.push_back(entry);
  }
  for (const std::string& entry : b) {
    if (CoveredByAny(a, entry)) both.push_back(entry);
  }
  std::sort(both.begin(), both.end());
  both.erase(std::unique(both.begin(), both.end()), both.end());
  // Drop an entry that another (different) entry covers: `LC_ALL` beside `LC_*`.
  std::vector<std::string> reduced;
  for (const std::string& entry : both) {
    const bool redundant = std::any_of(
        both.begin(), both.end(), [&](const std::string& other) { return other != entry && Covers(other, entry); });
    if (!redundant) reduced.push_back(entry);
  }
  return reduced;
}

}  // namespace gov::ir
