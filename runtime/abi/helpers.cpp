// The default gov_helpers (see helpers.h): thin C-ABI wrappers over
// runtime/support/path.h that write into the caller's scratch buffer.
#include "runtime/abi/helpers.h"

#include <cstring>
#include <string>
#include <string_view>

#include "runtime/support/path.h"

namespace gov::abi {
namespace {

// Copies `text` to out[0, capacity); its length, or -1 if it does not fit.
std::int64_t Emit(const std::string& text, char* out, std::uint64_t capacity) {
  if (text.size() > capacity) return -1;
  if (!text.empty()) std::memcpy(out, text.data(), text.size());
  return static_cast<std::int64_t>(text.size());
}

std::string_view View(const char* data, std::uint64_t size) {
  return size == 0 ? std::string_view() : std::string_view(data, size);
}

std::int64_t PathJoin(const char* a, std::uint64_t a_size, const char* b, std::uint64_t b_size, char* out,
                      std::uint64_t capacity) noexcept {
  return Emit(paths::Join(View(a, a_size), View(b, b_size)), out, capacity);
}

// True when `path` is absolute and already in paths::Normalize form: `/`,
// or `/`-separated segments that are neither empty, `.` nor `..`.
bool IsNormalAbsolute(std::string_view path) {
  if (path.empty() || path[0] != '/') return false;
  if (path.size() == 1) return true;
  std::size_t start = 1;
  while (start <= path.size()) {
    std::size_t end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    std::string_view segment = path.substr(start, end - start);
    if (segment.empty() || segment == "." || segment == "..") return false;
    start = end + 1;
  }
  return true;
}

int PathUnder(const char* path, std::uint64_t path_size, const char* root, std::uint64_t root_size) noexcept {
  std::string_view p = View(path, path_size);
  std::string_view r = View(root, root_size);
  // The common case (request paths and constants are normalized) without
  // the allocations of paths::Under; identical results by construction.
  if (IsNormalAbsolute(p) && IsNormalAbsolute(r)) {
    if (r.size() == 1 || p == r) return 1;
    return p.size() > r.size() && p.substr(0, r.size()) == r && p[r.size()] == '/' ? 1 : 0;
  }
  return paths::Under(p, r) ? 1 : 0;
}

std::int64_t PathUnary(std::uint32_t op, const char* a, std::uint64_t a_size, char* out,
                       std::uint64_t capacity) noexcept {
  std::string_view text = View(a, a_size);
  switch (op) {
    case GOV_PATH_NORMALIZE:
      return Emit(paths::Normalize(text), out, capacity);
    case GOV_PATH_NAME:
      return Emit(paths::BaseName(text), out, capacity);
    case GOV_PATH_PARENT:
      return Emit(paths::DirName(text), out, capacity);
    case GOV_PATH_EXT:
      return Emit(paths::Extension(text), out, capacity);
    default:
      return -1;
  }
}

constexpr gov_helpers kHelpers = {
    GOV_ABI_VERSION, 0, nullptr, &PathJoin, &PathUnder, &PathUnary,
};

}  // namespace

const gov_helpers* DefaultHelpers() {
  return &kHelpers;
}

}  // namespace gov::abi
