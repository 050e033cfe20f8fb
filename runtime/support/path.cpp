// Lexical path normalization, join, containment and name parts.
#include "runtime/support/path.h"

#include <vector>

namespace gov::paths {

std::string Normalize(std::string_view path) {
  bool absolute = !path.empty() && path.front() == '/';
  std::vector<std::string_view> segments;
  std::size_t leading_parents = 0;
  std::size_t i = 0;
  while (i < path.size()) {
    while (i < path.size() && path[i] == '/') ++i;
    std::size_t start = i;
    while (i < path.size() && path[i] != '/') ++i;
    std::string_view segment = path.substr(start, i - start);
    if (segment.empty() || segment == ".") continue;
    if (segment == "..") {
      if (!segments.empty()) {
        segments.pop_back();
      } else if (!absolute) {
        ++leading_parents;
      }
      continue;
    }
    segments.push_back(segment);
  }
  std::string out;
  if (absolute) out.push_back('/');
  for (std::size_t k = 0; k < leading_parents; ++k) {
    if (!out.empty() && out.back() != '/') out.push_back('/');
    out += "..";
  }
  for (std::string_view segment : segments) {
    if (!out.empty() && out.back() != '/') out.push_back('/');
    out.append(segment);
  }
  if (out.empty()) out = ".";
  return out;
}

std::string Join(std::string_view base, std::string_view rest) {
  if (!rest.empty() && rest.front() == '/') return Normalize(rest);
  std::string joined(base);
  joined.push_back('/');
  joined.append(rest);
  return Normalize(joined);
}

bool Under(std::string_view path, std::string_view root) {
  std::string p = Normalize(path);
  std::string r = Normalize(root);
  bool p_absolute = p.front() == '/';
  bool r_absolute = r.front() == '/';
  if (p_absolute != r_absolute) return false;
  if (r == "/") return true;
  if (r == ".") return p.rfind("..", 0) != 0;
  if (p == r) return true;
  return p.size() > r.size() && p.compare(0, r.size(), r) == 0 && p[r.size()] == '/';
}

std::string BaseName(std::string_view path) {
  std::string p = Normalize(path);
  if (p == "/") return "";
  std::size_t slash = p.rfind('/');
  return slash == std::string::npos ? p : p.substr(slash + 1);
}

std::string DirName(std::string_view path) {
  std::string p = Normalize(path);
  std::size_t slash = p.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return p.substr(0, slash);
}

std::string Extension(std::string_view path) {
  std::string name = BaseName(path);
  std::size_t dot = name.rfind('.');
  if (dot == std::string::npos || dot == 0) return "";
  return name.substr(dot + 1);
}

std::vector<std::string> SearchDirs(std::string_view path_env) {
  std::vector<std::string> dirs;
  std::size_t start = 0;
  while (start <= path_env.size()) {
    std::size_t end = path_env.find(':', start);
    if (end == std::string_view::npos) end = path_env.size();
    const std::string_view entry = path_env.substr(start, end - start);
    if (!entry.empty() && entry[0] == '/') dirs.emplace_back(entry);
    start = end + 1;
  }
  return dirs;
}

}  // namespace gov::paths
