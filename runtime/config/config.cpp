// govrun configuration: search order and strict TOML parsing (see config.h).
// toml++ reports syntax errors by throwing; they are caught here.
#include "runtime/config/config.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <set>
#include <string_view>
#include <toml++/toml.h>

#include "runtime/support/path.h"

namespace gov::config {

namespace {

constexpr std::size_t kMaxConfigSize = 1 << 20;

const std::set<std::string, std::less<>> kKnownKeys = {"policy",      "trusted_keys", "lineage_dir",
                                                        "signing_key", "ask_timeout",  "kill_grace"};

ErrorOr<std::string> ReadConfigFile(const std::string& path) {
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) {
    return Error{path + ": cannot open the configuration: " + std::strerror(errno)};
  }
  struct stat st {};
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    close(fd);
    return Error{path + ": the configuration is not a regular file"};
  }
  if (static_cast<std::size_t>(st.st_size) > kMaxConfigSize) {
    close(fd);
    return Error{path + ": the configuration is larger than 1 MiB"};
  }
  std::string text(static_cast<std::size_t>(st.st_size), '\0');
  std::size_t done = 0;
  while (done < text.size()) {
    const ssize_t got = read(fd, text.data() + done, text.size() - done);
    if (got < 0 && errno == EINTR) {
      continue;
    }
    if (got <= 0) {
      const int error = got < 0 ? errno : EIO;
      close(fd);
      return Error{path + ": cannot read the configuration: " + std::strerror(error)};
    }
    done += static_cast<std::size_t>(got);
  }
  close(fd);
  return text;
}

std::string Resolve(const std::string& base_dir, const std::string& value) {
  return paths::Join(base_dir, value);
}

// A duration: an integer of milliseconds, or a string "<n>ms|s|m".
ErrorOr<std::int64_t> ParseDurationMs(const toml::node& node, const std::string& where) {
  if (auto integer = node.value<std::int64_t>(); integer && node.is_integer()) {
    if (*integer < 0 || *integer > 86400000) {
      return Error{where + " must be between 0 and 86400000 milliseconds"};
    }
    return *integer;
  }
  if (auto text = node.value<std::string>()) {
    std::size_t digits = 0;
    while (digits < text->size() && (*text)[digits] >= '0' && (*text)[digits] <= '9') {
      ++digits;
    }
    const std::string unit = text->substr(digits);
    if (digits == 0 || digits > 8) {
      return Error{where + ": expected a duration like \"30s\", \"500ms\" or \"2m\", got \"" + *text + "\""};
    }
    const std::int64_t number = std::stoll(text->substr(0, digits));
    std::int64_t scale = 0;
    if (unit == "ms") {
      scale = 1;
    } else if (unit == "s") {
      scale = 1000;
    } else if (unit == "m") {
      scale = 60000;
    } else {
      return Error{where + ": expected a duration like \"30s\", \"500ms\" or \"2m\", got \"" + *text + "\""};
    }
    if (number * scale > 86400000) {
      return Error{where + " must be at most 24h"};
    }
    return number * scale;
  }
  return Error{where + " must be a duration string (\"30s\") or an integer of milliseconds"};
}

ErrorOr<std::string> RequiredPath(const toml::table& table, const std::string& key, const std::string& path,
                                  const std::string& base_dir) {
  const toml::node* node = table.get(key);
  if (node == nullptr) {
    return Error{path + ": missing required key `" + key + "`"};
  }
  auto text = node->value<std::string>();
  if (!node->is_string() || !text) {
    return Error{path + ": `" + key + "` must be a string (a file path)"};
  }
  if (text->empty() || text->find('\0') != std::string::npos) {
    return Error{path + ": `" + key + "` must be a non-empty path"};
  }
  return Resolve(base_dir, *text);
}

// toml++ 3.3 (Debian 12) reaches __builtin_unreachable — undefined behaviour
// — when it tests some non-ASCII code points for whitespace (upstream issues
// #190 and #295): outside strings, and after a line-ending backslash in a
// multi-line basic string. A configuration is paths and durations, so non-
// ASCII bytes are allowed only where toml++ never tests them: inside
// single-line strings, multi-line literal strings and comments. Anything
// else is reported here, before toml++ sees the text (docs/govrun.md).
ErrorOr<void> CheckNonAsciiPlacement(std::string_view text, const std::string& path) {
  std::size_t line = 1;
  std::size_t line_start = 0;
  auto fail = [&](std::size_t at, const char* where) {
    return Error{path + ":" + std::to_string(line) + ":" + std::to_string(at - line_start + 1) +
                 ": a non-ASCII character " + where +
                 " (allowed only in comments, single-line strings and '''literal''' strings)"};
  };
  auto newline = [&](std::size_t at) {
    ++line;
    line_start = at + 1;
  };
  const std::size_t n = text.size();
  std::size_t i = 0;
  while (i < n) {
    const char c = text[i];
    if (c == '\n') {
      newline(i);
      ++i;
    } else if (c == '#') {
      while (i < n && text[i] != '\n') ++i;
    } else if (text.substr(i, 3) == R"(""")") {
      // A multi-line basic string: ASCII only; a backslash escapes the next byte.
      i += 3;
      while (i < n && text.substr(i, 3) != R"(""")") {
        if (static_cast<unsigned char>(text[i]) >= 0x80) return fail(i, R"(in a multi-line """ string)");
        if (text[i] == '\\' && i + 1 < n) {
          ++i;
          if (static_cast<unsigned char>(text[i]) >= 0x80) return fail(i, R"(in a multi-line """ string)");
        }
        if (text[i] == '\n') newline(i);
        ++i;
      }
      i += 3;
    } else if (text.substr(i, 3) == "'''") {
      i += 3;
      while (i < n && text.substr(i, 3) != "'''") {
        if (text[i] == '\n') newline(i);
        ++i;
      }
      i += 3;
    } else if (c == '"' || c == '\'') {
      // A single-line string ends at its quote (unescaped, for "…") or the line.
      ++i;
      while (i < n && text[i] != c && text[i] != '\n') {
        if (c == '"' && text[i] == '\\' && i + 1 < n && text[i + 1] != '\n') ++i;
        ++i;
      }
      if (i < n && text[i] == c) ++i;
    } else if (static_cast<unsigned char>(c) >= 0x80) {
      return fail(i, "outside a string or comment");
    } else {
      ++i;
    }
  }
  return {};
}

}  // namespace

std::vector<std::string> CandidatePaths(const Search& search, bool* strict) {
  *strict = true;
  if (!search.explicit_path.empty()) {
    return {search.explicit_path};
  }
  if (search.has_gov_config) {
    return {search.gov_config};
  }
  *strict = false;
  std::vector<std::string> out;
  if (!search.xdg_config_home.empty() && search.xdg_config_home[0] == '/') {
    out.push_back(search.xdg_config_home + "/gov/config.toml");
  } else if (!search.home.empty() && search.home[0] == '/') {
    out.push_back(search.home + "/.config/gov/config.toml");
  }
  out.push_back("/etc/gov/config.toml");
  return out;
}

ErrorOr<Config> ParseConfig(const std::string& text, const std::string& path) {
  GOV_RETURN_IF_ERROR(CheckNonAsciiPlacement(text, path));
  toml::table table;
  try {
    table = toml::parse(text, path);
  } catch (const toml::parse_error& error) {
    const auto& begin = error.source().begin;
    return Error{path + ":" + std::to_string(begin.line) + ":" + std::to_string(begin.column) +
                 ": invalid TOML: " + std::string(error.description())};
  }
  for (const auto& [key, value] : table) {
    if (kKnownKeys.find(key.str()) == kKnownKeys.end()) {
      return Error{path + ": unknown key `" + std::string(key.str()) +
                   "` (known: policy, trusted_keys, lineage_dir, signing_key, ask_timeout, kill_grace)"};
    }
  }
  std::string base_dir;
  {
    char* cwd = getcwd(nullptr, 0);
    base_dir = paths::DirName(paths::Join(cwd != nullptr ? cwd : "/", path));
    std::free(cwd);
  }
  Config config;
  config.source = path;
  GOV_ASSIGN_OR_RETURN(config.policy, RequiredPath(table, "policy", path, base_dir));
  GOV_ASSIGN_OR_RETURN(config.lineage_dir, RequiredPath(table, "lineage_dir", path, base_dir));
  GOV_ASSIGN_OR_RETURN(config.signing_key, RequiredPath(table, "signing_key", path, base_dir));
  const toml::node* keys = table.get("trusted_keys");
  if (keys == nullptr) {
    return Error{path + ": missing required key `trusted_keys`"};
  }
  const toml::array* list = keys->as_array();
  if (list == nullptr) {
    return Error{path + ": `trusted_keys` must be an array of public key file paths"};
  }
  if (list->empty()) {
    return Error{path + ": `trusted_keys` is empty: no bundle could be trusted"};
  }
  for (const toml::node& item : *list) {
    auto entry = item.value<std::string>();
    if (!item.is_string() || !entry || entry->empty()) {
      return Error{path + ": every entry of `trusted_keys` must be a non-empty string (a file path)"};
    }
    config.trusted_keys.push_back(Resolve(base_dir, *entry));
  }
  if (const toml::node* node = table.get("ask_timeout")) {
    GOV_ASSIGN_OR_RETURN(config.ask_timeout_ms, ParseDurationMs(*node, path + ": `ask_timeout`"));
  }
  if (const toml::node* node = table.get("kill_grace")) {
    GOV_ASSIGN_OR_RETURN(config.kill_grace_ms, ParseDurationMs(*node, path + ": `kill_grace`"));
  }
  return config;
}

ErrorOr<Config> LoadConfig(const Search& search) {
  bool strict = false;
  const std::vector<std::string> candidates = CandidatePaths(search, &strict);
  std::string looked;
  for (const std::string& candidate : candidates) {
    if (!strict && access(candidate.c_str(), F_OK) != 0 && errno == ENOENT) {
      looked += (looked.empty() ? "" : ", ") + candidate;
      continue;
    }
    GOV_ASSIGN_OR_RETURN(std::string text, ReadConfigFile(candidate));
    return ParseConfig(text, candidate);
  }
  return Error{"no configuration found (looked at " + looked +
               "); pass --config FILE or set GOV_CONFIG"};
}

}  // namespace gov::config
