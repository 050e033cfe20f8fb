// The default gov_helpers (see helpers.h): thin C-ABI wrappers over
// runtime/support/path.h and runtime/argparse that write into the caller's
// scratch buffer.
#include "runtime/abi/helpers.h"

#include <atomic>
#include <cstring>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/argparse/command.h"
#include "runtime/ir/serialize.h"
#include "runtime/support/path.h"

namespace gov::abi {
namespace {

// Copies `text` to out[0, capacity); its length, or -1 if it does not fit.
std::int64_t Emit(std::string_view text, char* out, std::uint64_t capacity) {
  if (text.size() > capacity) return -1;
  if (!text.empty()) std::memcpy(out, text.data(), text.size());
  return static_cast<std::int64_t>(text.size());
}

std::string_view View(const char* data, std::uint64_t size) {
  return size == 0 ? std::string_view() : std::string_view(data, size);
}

// paths::Normalize of `first` (joined by "/" with `second` when `join`),
// written to out[0, capacity) without allocating. Returns the length, or -1
// when an intermediate or the final result does not fit (callers then fall
// back to paths::, which decides whether the final result fits).
std::int64_t NormalizeInto(std::string_view first, std::string_view second, bool join, char* out,
                           std::uint64_t capacity) {
  bool absolute = join ? (first.empty() || first.front() == '/') : (!first.empty() && first.front() == '/');
  std::uint64_t length = 0;
  std::uint64_t prefix = 0;  // the root and leading `..` segments, never popped
  std::uint64_t kept = 0;    // normal segments after the prefix
  auto append = [&](std::string_view segment) {
    bool separator = length > 0 && out[length - 1] != '/';
    if (length + (separator ? 1 : 0) + segment.size() > capacity) return false;
    if (separator) out[length++] = '/';
    if (!segment.empty()) std::memcpy(out + length, segment.data(), segment.size());
    length += segment.size();
    return true;
  };
  if (absolute) {
    if (capacity < 1) return -1;
    out[length++] = '/';
    prefix = length;
  }
  for (std::string_view piece : {first, join ? second : std::string_view()}) {
    std::size_t i = 0;
    while (i < piece.size()) {
      while (i < piece.size() && piece[i] == '/') ++i;
      std::size_t start = i;
      while (i < piece.size() && piece[i] != '/') ++i;
      std::string_view segment = piece.substr(start, i - start);
      if (segment.empty() || segment == ".") continue;
      if (segment == "..") {
        if (kept > 0) {
          std::uint64_t p = length;
          while (p > prefix && out[p - 1] != '/') --p;
          length = p > prefix ? p - 1 : p;
          --kept;
        } else if (!absolute) {
          if (!append("..")) return -1;
          prefix = length;
        }
        continue;
      }
      if (!append(segment)) return -1;
      ++kept;
    }
  }
  if (length == 0) {
    if (capacity < 1) return -1;
    out[length++] = '.';
  }
  return static_cast<std::int64_t>(length);
}

// True when `path`'s `/`-separated segments, from `start` on, are neither
// empty, `.` nor `..` (a path with no segment there is not). One pass over
// the bytes: every decision's `under` and `/` ask it, often of one path
// against each directory of a list.
bool NormalSegmentsFrom(std::string_view path, std::size_t start) {
  const std::size_t n = path.size();
  if (start >= n || path[n - 1] == '/') return false;
  const char* s = path.data();
  // The segment starting at `b` (< n) is empty, `.` or `..`.
  auto bad_segment_at = [&](std::size_t b) {
    if (s[b] == '/') return true;
    if (s[b] != '.') return false;
    if (b + 1 == n || s[b + 1] == '/') return true;
    return s[b + 1] == '.' && (b + 2 == n || s[b + 2] == '/');
  };
  if (bad_segment_at(start)) return false;
  for (std::size_t i = start; i + 1 < n; ++i) {
    if (s[i] == '/' && bad_segment_at(i + 1)) return false;
  }
  return true;
}

// True when `path` is absolute and already in paths::Normalize form: `/`,
// or `/`-separated segments that are neither empty, `.` nor `..`.
bool IsNormalAbsolute(std::string_view path) {
  if (path.empty() || path[0] != '/') return false;
  return path.size() == 1 || NormalSegmentsFrom(path, 1);
}

std::int64_t PathJoin(const char* a, std::uint64_t a_size, const char* b, std::uint64_t b_size, char* out,
                      std::uint64_t capacity) noexcept {
  std::string_view base = View(a, a_size);
  std::string_view rest = View(b, b_size);
  // The common case, `cwd / "src/x.c"`: a normal absolute base and a
  // relative path of normal segments join into a normal path as they are.
  if (IsNormalAbsolute(base) && NormalSegmentsFrom(rest, 0) && rest.front() != '/') {
    std::uint64_t separator = base.size() > 1 ? 1 : 0;
    std::uint64_t size = base.size() + separator + rest.size();
    if (size > capacity) return -1;
    std::memcpy(out, base.data(), base.size());
    if (separator != 0) out[base.size()] = '/';
    std::memcpy(out + base.size() + separator, rest.data(), rest.size());
    return static_cast<std::int64_t>(size);
  }
  bool rest_absolute = !rest.empty() && rest.front() == '/';
  std::int64_t written = rest_absolute ? NormalizeInto(rest, {}, false, out, capacity)
                                       : NormalizeInto(base, rest, true, out, capacity);
  if (written >= 0) return written;
  return Emit(paths::Join(base, rest), out, capacity);
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
  // `path(cwd)`, `path(env["HOME"])`: already normal, copied as it is.
  if (op == GOV_PATH_NORMALIZE && IsNormalAbsolute(text)) return Emit(text, out, capacity);
  // Without allocating: normalize into `out`, then cut the part wanted.
  if (op <= GOV_PATH_EXT) {
    std::int64_t written = NormalizeInto(text, {}, false, out, capacity);
    if (written >= 0) {
      std::string_view p(out, static_cast<std::size_t>(written));
      std::size_t slash = p.rfind('/');
      switch (op) {
        case GOV_PATH_NORMALIZE:
          return written;
        case GOV_PATH_NAME: {
          if (p == "/") return 0;
          std::size_t from = slash == std::string_view::npos ? 0 : slash + 1;
          std::memmove(out, out + from, p.size() - from);
          return static_cast<std::int64_t>(p.size() - from);
        }
        case GOV_PATH_PARENT:
          if (slash == std::string_view::npos) {
            out[0] = '.';
            return 1;
          }
          return slash == 0 ? 1 : static_cast<std::int64_t>(slash);  // "/" is out[0]
        case GOV_PATH_EXT: {
          if (p == "/") return 0;
          std::size_t from = slash == std::string_view::npos ? 0 : slash + 1;
          std::string_view name = p.substr(from);
          std::size_t dot = name.rfind('.');
          if (dot == std::string_view::npos || dot == 0) return 0;
          std::size_t size = name.size() - dot - 1;
          std::memmove(out, name.data() + dot + 1, size);
          return static_cast<std::int64_t>(size);
        }
        default:
          break;
      }
    }
  }
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

// Per thread: the decoded command tables seen (a code image's constants;
// nullopt for malformed bytes), where each was seen in which code image, and
// the last parses made with them.
struct ThreadTables {
  struct Entry {
    std::string bytes;
    std::optional<argparse::PreparedCommand> command;
    std::vector<ir::ArgFieldRef> fields;  // ir::ArgFieldAt of each field number of `command`
  };
  struct Seen {
    std::uint64_t image_id;
    const char* table;
    std::uint64_t size;
    const Entry* entry;
  };
  std::deque<Entry> tables;  // a deque: the memo and `seen` keep pointers to its entries
  std::vector<Seen> seen;
  argparse::ParseMemo memo;
  std::uint64_t image_id = 0;  // the CodeImageScope's, 0 outside one
  std::vector<std::string_view> arguments;
};

ThreadTables& Tables() {
  thread_local ThreadTables tables;
  return tables;
}

std::atomic<std::uint64_t> last_image_id{0};

const ThreadTables::Entry* CommandOf(const ThreadTables::Entry& entry) {
  return entry.command ? &entry : nullptr;
}

// The decoded command of a table's bytes, or null when they are malformed.
const ThreadTables::Entry* CommandTable(const char* table, std::uint64_t size) {
  ThreadTables& t = Tables();
  if (t.image_id != 0) {
    for (const ThreadTables::Seen& seen : t.seen) {
      if (seen.table == table && seen.size == size && seen.image_id == t.image_id) return CommandOf(*seen.entry);
    }
  }
  const std::string_view bytes(table, size);
  const ThreadTables::Entry* found = nullptr;
  for (const ThreadTables::Entry& entry : t.tables) {
    if (entry.bytes == bytes) {
      found = &entry;
      break;
    }
  }
  if (found == nullptr) {
    if (t.tables.size() >= 64) {
      t.memo.Clear();
      t.seen.clear();
      t.tables.clear();
    }
    ErrorOr<argparse::Command> decoded = ir::DecodeCommand(bytes);
    ThreadTables::Entry& entry = t.tables.emplace_back();
    entry.bytes = std::string(bytes);
    if (decoded.ok()) {
      entry.command.emplace(std::move(decoded.value()));
      for (std::uint32_t field = 0;; ++field) {
        std::optional<ir::ArgFieldRef> ref = ir::ArgFieldAt(entry.command->command(), field);
        if (!ref) break;
        entry.fields.push_back(*ref);
      }
    }
    found = &entry;
  }
  if (t.image_id != 0) {
    if (t.seen.size() >= 256) t.seen.clear();
    t.seen.push_back({t.image_id, table, size, found});
  }
  return CommandOf(*found);
}

// Reserves `size` bytes at the next 8-byte aligned address of out[0..capacity)
// after `*used`; null when they do not fit.
char* Aligned(char* out, std::uint64_t capacity, std::uint64_t& used, std::uint64_t size) {
  const auto address = reinterpret_cast<std::uintptr_t>(out + used);
  const std::uint64_t padding = (8 - address % 8) % 8;
  if (padding > capacity - used || size > capacity - used - padding) return nullptr;
  char* at = out + used + padding;
  used += padding + size;
  return at;
}

std::int64_t ArgRead(const char* table, std::uint64_t table_size, std::uint32_t what, std::uint32_t field,
                     const gov_str* items, std::uint64_t count, const char* cwd, std::uint64_t cwd_size, char* out,
                     std::uint64_t capacity, gov_arg_result* result) {
  *result = gov_arg_result{};
  const ThreadTables::Entry* entry = CommandTable(table, table_size);
  if (entry == nullptr) return -2;
  const argparse::PreparedCommand* prepared = &*entry->command;
  const argparse::Command& command = prepared->command();
  ThreadTables& t = Tables();
  std::vector<std::string_view>& arguments = t.arguments;
  arguments.clear();
  for (std::uint64_t i = 0; i < count; ++i) arguments.emplace_back(items[i].data, items[i].size);
  const argparse::CommandResult& parsed = t.memo.Parse(*prepared, arguments, std::string_view(cwd, cwd_size));
  if (what == GOV_ARG_PARSES) {
    result->present = 1;
    result->number = parsed.parse ? 1 : 0;
    return 0;
  }
  if (!parsed.parse) return 0;
  const argparse::CommandParse& parse = *parsed.parse;
  std::uint64_t used = 0;
  const auto text = [&](std::string_view value) -> std::int64_t {
    if (value.size() > capacity - used) return -1;
    if (!value.empty()) std::memcpy(out + used, value.data(), value.size());
    result->present = 1;
    result->data = out + used;
    result->size = value.size();
    used += value.size();
    return static_cast<std::int64_t>(used);
  };
  if (what == GOV_ARG_SUBCOMMAND) {
    if (parse.subcommand < 0) return 0;
    return text(command.subcommands[static_cast<std::size_t>(parse.subcommand)].name);
  }
  if (what != GOV_ARG_FIELD) return -2;
  if (field >= entry->fields.size()) return -2;
  const ir::ArgFieldRef* ref = &entry->fields[field];
  const argparse::FieldValues* found = ir::ArgFieldValues(*ref, parse);
  if (found == nullptr) return 0;
  const argparse::FieldValues& values = *found;
  switch (ref->kind) {
    case ir::Kind::kBool:
      result->present = 1;
      result->number = values.present ? 1 : 0;
      return 0;
    case ir::Kind::kInt:
      if (values.numbers.empty()) return 0;
      result->present = 1;
      result->number = values.numbers.back();
      return 0;
    case ir::Kind::kStr:
      if (values.texts.empty()) return 0;
      return text(values.texts.back());
    case ir::Kind::kIntList: {
      char* at = Aligned(out, capacity, used, values.numbers.size() * sizeof(std::int64_t));
      if (at == nullptr) return -1;
      if (!values.numbers.empty()) std::memcpy(at, values.numbers.data(), values.numbers.size() * sizeof(std::int64_t));
      result->present = 1;
      result->data = at;
      result->number = static_cast<std::int64_t>(values.numbers.size());
      return static_cast<std::int64_t>(used);
    }
    case ir::Kind::kStrList: {
      auto* list = reinterpret_cast<gov_str*>(Aligned(out, capacity, used, values.texts.size() * sizeof(gov_str)));
      if (list == nullptr) return -1;
      for (std::size_t i = 0; i < values.texts.size(); ++i) {
        const std::string& value = values.texts[i];
        if (value.size() > capacity - used) return -1;
        if (!value.empty()) std::memcpy(out + used, value.data(), value.size());
        list[i] = gov_str{out + used, value.size()};
        used += value.size();
      }
      result->present = 1;
      result->data = list;
      result->number = static_cast<std::int64_t>(values.texts.size());
      return static_cast<std::int64_t>(used);
    }
    default:
      return -2;
  }
}

constexpr gov_helpers kHelpers = {
    GOV_ABI_VERSION, 0, nullptr, &PathJoin, &PathUnder, &PathUnary, &ArgRead,
};

}  // namespace

const gov_helpers* DefaultHelpers() {
  return &kHelpers;
}

std::uint64_t NewCodeImageId() {
  return last_image_id.fetch_add(1, std::memory_order_relaxed) + 1;
}

CodeImageScope::CodeImageScope(std::uint64_t image_id) : previous_(Tables().image_id) {
  Tables().image_id = image_id;
}

CodeImageScope::~CodeImageScope() {
  Tables().image_id = previous_;
}

}  // namespace gov::abi
