// govrun configuration: search order and strict TOML parsing (see config.h).
// toml++ reports syntax errors by throwing; they are caught here.
#include "runtime/config/config.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <set>
#include <string_view>

#include "runtime/support/path.h"
#include "runtime/support/toml.h"

namespace gov::config {

namespace {

constexpr std::size_t kMaxConfigSize = 1 << 20;

const std::set<std::string, std::less<>> kKnownKeys = {
    "policy",     "trusted_keys",         "lineage_dir",   "signing_key",     "ask_timeout",
    "kill_grace", "lineage_lock_timeout", "session_drift", "lineage_service", "lock",
    "ask"};

ErrorOr<std::string> ReadConfigFile(const std::string& path) {
  if (path == "-") {
    // Not standard input: a configuration decides which keys are trusted and
    // names files relative to its own directory; it is a file someone owns.
    return Error{"the configuration cannot be `-` (standard input): give a regular file"};
  }
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

// True for the code points toml++ 3.3 (Debian 12) cannot classify as
// whitespace or not: its is_non_ascii_horizontal_whitespace reaches
// __builtin_unreachable — undefined behaviour — for them (upstream issues
// #190 and #295, fixed after 3.3). It tests characters for whitespace in
// many places (between tokens, while scanning a bare value ahead into what
// follows, after a line-ending backslash in a string), so no placement of
// them is safe. The same arithmetic as upstream's generated table:
// U+00A1–U+0499, U+2F4E–U+3347 but U+3000, U+FB26–U+FEFE.
bool TomlCannotClassify(char32_t c) {
  if (c < 0xA0 || c > 0xFEFF) return false;
  const std::uint64_t index = (static_cast<std::uint64_t>(c) - 0xA0) / 0x3FA;
  if (((1ull << index) & 0x7FFFFFFFFFFFF75Eull) != 0) return false;
  if (c == 0xA0 || c == 0x3000 || c == 0xFEFF) return false;
  return index != 0x05 && index != 0x07;
}

// Checks, before toml++ reads `text`, that it is valid UTF-8 (as TOML
// requires) and holds no character toml++ 3.3 cannot classify; such a
// character can still be written as a \uXXXX escape in a "…" string.
ErrorOr<void> CheckTomlText(std::string_view text, const std::string& path) {
  std::size_t line = 1;
  std::size_t column = 1;  // in code points
  std::size_t i = 0;
  const std::size_t n = text.size();
  auto where = [&] { return path + ":" + std::to_string(line) + ":" + std::to_string(column) + ": "; };
  while (i < n) {
    const auto lead = static_cast<unsigned char>(text[i]);
    std::size_t length = 1;
    char32_t c = lead;
    if (lead >= 0x80) {
      unsigned char low = 0x80, high = 0xBF;  // the range of the second byte (RFC 3629)
      if (lead >= 0xC2 && lead <= 0xDF) {
        length = 2;
        c = lead & 0x1F;
      } else if (lead >= 0xE0 && lead <= 0xEF) {
        length = 3;
        c = lead & 0x0F;
        if (lead == 0xE0) low = 0xA0;
        if (lead == 0xED) high = 0x9F;
      } else if (lead >= 0xF0 && lead <= 0xF4) {
        length = 4;
        c = lead & 0x07;
        if (lead == 0xF0) low = 0x90;
        if (lead == 0xF4) high = 0x8F;
      } else {
        return Error{where() + "the configuration is not valid UTF-8"};
      }
      for (std::size_t k = 1; k < length; ++k) {
        const auto next = i + k < n ? static_cast<unsigned char>(text[i + k]) : 0;
        if (next < (k == 1 ? low : 0x80) || next > (k == 1 ? high : 0xBF)) {
          return Error{where() + "the configuration is not valid UTF-8"};
        }
        c = (c << 6) | (next & 0x3F);
      }
      if (TomlCannotClassify(c)) {
        char code[16];
        std::snprintf(code, sizeof code, "%04X", static_cast<unsigned>(c));
        return Error{where() + "U+" + code + " cannot be read safely by this build's TOML library (toml++ 3.3 " +
                     "has undefined behaviour on it); in a \"…\" string, write it as \\u" + code};
      }
    }
    if (lead == '\n') {
      ++line;
      column = 1;
    } else {
      ++column;
    }
    i += length;
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
  GOV_RETURN_IF_ERROR(CheckTomlText(text, path));
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
      return Error{
          path + ": unknown key `" + std::string(key.str()) +
          "` (known: policy, trusted_keys, lineage_dir, signing_key, ask_timeout, kill_grace, lineage_lock_timeout, "
          "session_drift, lineage_service, lock, ask)"};
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
  if (table.get("lineage_service") != nullptr) {
    // govd holds the key and writes the log; govrun only reads the log.
    if (table.get("signing_key") != nullptr) {
      return Error{path + ": `signing_key` and `lineage_service` exclude each other (govd holds the lineage key)"};
    }
    GOV_ASSIGN_OR_RETURN(config.lineage_service, RequiredPath(table, "lineage_service", path, base_dir));
  } else {
    GOV_ASSIGN_OR_RETURN(config.signing_key, RequiredPath(table, "signing_key", path, base_dir));
  }
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
  if (const toml::node* node = table.get("ask")) {
    const auto value = node->value<std::string>();
    if (!node->is_string() || (*value != "terminal" && *value != "service")) {
      return Error{path + ": `ask` must be \"terminal\" or \"service\""};
    }
    config.ask_via_service = *value == "service";
    if (config.ask_via_service && config.lineage_service.empty()) {
      return Error{path + ": `ask = \"service\"` needs `lineage_service` (govd's approvers answer the asks)"};
    }
  }
  if (const toml::node* node = table.get("kill_grace")) {
    GOV_ASSIGN_OR_RETURN(config.kill_grace_ms, ParseDurationMs(*node, path + ": `kill_grace`"));
  }
  if (const toml::node* node = table.get("lineage_lock_timeout")) {
    GOV_ASSIGN_OR_RETURN(config.lineage_lock_timeout_ms, ParseDurationMs(*node, path + ": `lineage_lock_timeout`"));
  }
  if (const toml::node* node = table.get("session_drift")) {
    const auto value = node->value<std::string>();
    if (!node->is_string() || (*value != "deny-execs" && *value != "stop-session")) {
      return Error{path + ": `session_drift` must be \"deny-execs\" or \"stop-session\""};
    }
    config.session_stop_on_drift = *value == "stop-session";
  }
  if (const toml::node* node = table.get("lock")) {
    if (!node->is_boolean()) return Error{path + ": `lock` must be true or false"};
    if (path != kSystemConfigPath) {
      return Error{path + ": `lock` is honoured only in " + std::string(kSystemConfigPath)};
    }
    config.locked = node->value<bool>().value_or(false);
  }
  return config;
}

ErrorOr<Config> LoadConfig(const Search& search) {
  // A caller who is not root first meets the system configuration: when it
  // locks, it is the only one (and one that cannot be read or trusted
  // stops everything, since whether it locks is unknown).
  // Only a file that is not there may be passed by: one this caller cannot
  // see (a directory without search permission) might lock.
  if (!search.caller_is_root && access(kSystemConfigPath, F_OK) != 0 && errno != ENOENT) {
    return Error{std::string(kSystemConfigPath) + ": cannot tell whether it locks the configuration (" +
                 std::strerror(errno) + "); nothing runs"};
  }
  if (!search.caller_is_root && access(kSystemConfigPath, F_OK) == 0) {
    GOV_ASSIGN_OR_RETURN(std::string text, ReadConfigFile(kSystemConfigPath));
    GOV_ASSIGN_OR_RETURN(Config system, ParseConfig(text, kSystemConfigPath));
    if (system.locked) {
      for (const char* path : {kSystemConfigPath, "/etc/gov", "/etc", "/"}) {
        struct stat st {};
        if (lstat(path, &st) != 0 || st.st_uid != 0 || (st.st_mode & 022) != 0 ||
            (std::string(path) == kSystemConfigPath && !S_ISREG(st.st_mode))) {
          return Error{std::string(kSystemConfigPath) + " says `lock = true` but " + path +
                       " is not a root-owned file or directory writable by root alone; nothing runs"};
        }
      }
      if (!search.explicit_path.empty() || search.has_gov_config) {
        return Error{std::string(kSystemConfigPath) +
                     " is locked (`lock = true`): only root may choose another configuration (--config, GOV_CONFIG)"};
      }
      return system;
    }
  }
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
  return Error{"no configuration found (looked at " + looked + "); pass --config FILE or set GOV_CONFIG"};
}

}  // namespace gov::config
