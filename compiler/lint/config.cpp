// gov.toml: finding the file for a policy and reading its `[lint]` table into
// a lint::Config. toml++ reports syntax errors by throwing; they are caught
// here and become GOV4001 diagnostics, so nothing escapes this file.
#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <exception>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "compiler/diagnostics/suggest.h"
#include "compiler/lint/lint.h"
#include "runtime/support/toml.h"

namespace gov::lint {

namespace {

using diagnostics::Kind;
using source::Span;

// Byte offset in `file` of a toml++ position (1-based line, column counted
// in code points), clamped to the end of its line and of the file.
std::uint32_t OffsetOf(const source::SourceFile& file, const toml::source_position& position) {
  const std::string& text = file.text();
  if (position.line == 0) return 0;
  if (position.line > file.line_count()) return static_cast<std::uint32_t>(text.size());
  std::string_view line = file.Line(position.line);
  std::size_t offset = static_cast<std::size_t>(line.data() - text.data());
  std::size_t line_end = offset + line.size();
  for (std::uint32_t column = 1; column < position.column && offset < line_end; ++column) {
    ++offset;
    // Skip the continuation bytes of a multi-byte code point.
    while (offset < line_end && (static_cast<unsigned char>(text[offset]) & 0xC0) == 0x80) ++offset;
  }
  return static_cast<std::uint32_t>(offset);
}

Span SpanOf(source::FileId id, const source::SourceFile& file, const toml::source_region& region) {
  std::uint32_t begin = OffsetOf(file, region.begin);
  std::uint32_t end = region.end ? OffsetOf(file, region.end) : begin;
  return Span{id, begin, std::max(begin, end)};
}

// A span of one code point at a toml++ error position (empty at end of file).
Span PointSpan(source::FileId id, const source::SourceFile& file, const toml::source_position& position) {
  const std::string& text = file.text();
  std::uint32_t begin = OffsetOf(file, position);
  std::uint32_t end = begin;
  if (end < text.size() && text[end] != '\n' && text[end] != '\r') {
    ++end;
    while (end < text.size() && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) ++end;
  }
  return Span{id, begin, end};
}

std::string Lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool IsLint(const diagnostics::KindInfo& info) { return info.code.rfind("GOV3", 0) == 0; }

// `GOV3001` to the last lint code, from the registry.
std::string LintRange() {
  std::string_view first;
  std::string_view last;
  for (const diagnostics::KindInfo& info : diagnostics::AllKinds()) {
    if (!IsLint(info)) continue;
    if (first.empty()) first = info.code;
    last = info.code;
  }
  return fmt::format("`{}` to `{}`", first, last);
}

// True for `GOV` followed by digits, in any case.
bool LooksLikeCode(std::string_view key) {
  if (key.size() < 4 || Lower(key.substr(0, 3)) != "gov") return false;
  return std::all_of(key.begin() + 3, key.end(), [](char c) { return std::isdigit(static_cast<unsigned char>(c)); });
}

// Help for a key that names no diagnostic: the nearest lint code or name.
std::string SuggestLint(std::string_view key) {
  std::string lowered = Lower(key);
  const diagnostics::KindInfo* best = nullptr;
  bool best_is_code = false;
  std::size_t best_distance = LooksLikeCode(key) ? 1 : std::max<std::size_t>(1, key.size() / 3) + 1;
  for (const diagnostics::KindInfo& info : diagnostics::AllKinds()) {
    if (!IsLint(info)) continue;
    // Codes differ from their neighbours in one digit: only suggest one
    // spelled the same apart from case.
    std::size_t code_distance = Lower(info.code) == lowered ? 0 : 1000;
    std::size_t name_distance = diagnostics::EditDistance(lowered, Lower(info.name));
    std::size_t distance = std::min(code_distance, name_distance);
    if (distance < best_distance) {
      best_distance = distance;
      best = &info;
      best_is_code = code_distance <= name_distance;
    }
  }
  if (best != nullptr) {
    return best_is_code ? fmt::format("did you mean `{}` (`{}`)?", best->code, best->name)
                        : fmt::format("did you mean `{}` (`{}`)?", best->name, best->code);
  }
  return fmt::format("lints are {}, by code or by name; see docs/lint.md", LintRange());
}

std::optional<Level> ParseLevel(std::string_view text) {
  if (text == "off") return Level::kOff;
  if (text == "warning") return Level::kWarning;
  if (text == "error") return Level::kError;
  return std::nullopt;
}

// One `key = value` of a table, with the key's span.
struct Entry {
  std::string key;
  Span key_span;
  const toml::node* value;
};

// The entries of `table` in source order (toml++ keeps them sorted by key).
std::vector<Entry> EntriesInSourceOrder(source::FileId id, const source::SourceFile& file, const toml::table& table) {
  std::vector<Entry> entries;
  for (const auto& [key, value] : table) {
    entries.push_back(Entry{std::string(key.str()), SpanOf(id, file, key.source()), &value});
  }
  std::stable_sort(entries.begin(), entries.end(),
                   [](const Entry& a, const Entry& b) { return a.key_span.begin < b.key_span.begin; });
  return entries;
}

class ConfigReader {
 public:
  ConfigReader(const source::SourceManager& sources, source::FileId id, diagnostics::Collector& diagnostics)
      : id_(id), file_(sources.file(id)), diagnostics_(diagnostics) {}

  Config Read() {
    Config config;
    config.path = file_.path();
    std::optional<toml::table> root = Parse();
    if (!root) return config;
    for (const Entry& entry : EntriesInSourceOrder(id_, file_, *root)) {
      if (entry.key == "lint") {
        if (const toml::table* lint = entry.value->as_table()) {
          ReadLintTable(*lint, config);
        } else {
          diagnostics_.Emit(Kind::kConfigUnknownKey, entry.key_span, "`lint` must be a table")
              .help = "write the lint levels under a `[lint]` header";
        }
        continue;
      }
      bool is_table = entry.value->is_table();
      diagnostics_
          .Emit(Kind::kConfigUnknownKey, entry.key_span,
                is_table ? fmt::format("unknown table `[{}]` in gov.toml", entry.key)
                         : fmt::format("unknown key `{}` in gov.toml", entry.key))
          .help = "gov.toml has one table, `[lint]`; see docs/lint.md";
    }
    return config;
  }

 private:
  std::optional<toml::table> Parse() {
    const std::string& text = file_.text();
    try {
      return toml::parse(std::string_view(text), std::string_view(file_.path()));
    } catch (const toml::parse_error& error) {
      diagnostics_.Emit(Kind::kConfigSyntax, PointSpan(id_, file_, error.source().begin),
                        fmt::format("gov.toml is not valid TOML: {}", Describe(error.description())));
    } catch (const std::exception& error) {
      diagnostics_.Emit(Kind::kConfigSyntax, Span{id_, 0, 0},
                        fmt::format("gov.toml could not be read: {}", error.what()));
    } catch (...) {
      diagnostics_.Emit(Kind::kConfigSyntax, Span{id_, 0, 0}, "gov.toml could not be read");
    }
    return std::nullopt;
  }

  // toml++ says "Error while parsing table header: expected ']', saw '\n'";
  // this gives "expected ']', saw '\n' in a table header".
  static std::string Describe(std::string_view description) {
    constexpr std::string_view kPrefix = "Error while parsing ";
    std::string out(description);
    if (description.rfind(kPrefix, 0) == 0) {
      std::size_t colon = description.find(": ", kPrefix.size());
      if (colon != std::string_view::npos) {
        std::string_view what = description.substr(kPrefix.size(), colon - kPrefix.size());
        bool vowel = !what.empty() && std::string_view("aeiouAEIOU").find(what.front()) != std::string_view::npos;
        out = fmt::format("{} in {} {}", description.substr(colon + 2), vowel ? "an" : "a", what);
      }
    }
    if (!out.empty()) out[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(out[0])));
    while (!out.empty() && (out.back() == '.' || out.back() == '\n' || out.back() == ' ')) out.pop_back();
    return out;
  }

  void ReadLintTable(const toml::table& table, Config& config) {
    // Where each configured kind was first configured, to report repeats.
    std::map<Kind, Span> seen;
    for (const Entry& entry : EntriesInSourceOrder(id_, file_, table)) {
      // One problem per entry: a bad key makes its level moot.
      std::optional<Kind> kind = CheckKey(entry);
      if (!kind) continue;
      auto [it, inserted] = seen.emplace(*kind, entry.key_span);
      if (!inserted) {
        // TOML itself rejects a repeated key; this is the same lint by code and by name.
        const diagnostics::KindInfo& info = diagnostics::Info(*kind);
        diagnostics_
            .Emit(Kind::kConfigUnknownKey, entry.key_span,
                  fmt::format("`{}` configures `{}` (`{}`) a second time", entry.key, info.code, info.name))
            .notes.push_back({it->second, "first configured here"});
        continue;
      }
      if (std::optional<Level> level = CheckLevel(entry)) config.levels[*kind] = *level;
    }
  }

  std::optional<Kind> CheckKey(const Entry& entry) {
    std::optional<Kind> kind = diagnostics::FindKind(entry.key);
    if (!kind) {
      diagnostics_.Emit(Kind::kConfigUnknownCode, entry.key_span, fmt::format("unknown lint `{}`", entry.key)).help =
          SuggestLint(entry.key);
      return std::nullopt;
    }
    const diagnostics::KindInfo& info = diagnostics::Info(*kind);
    if (!IsLint(info)) {
      bool config_error = info.code.rfind("GOV4", 0) == 0;
      diagnostics_
          .Emit(Kind::kConfigUnknownCode, entry.key_span,
                config_error ? fmt::format("`{}` (`{}`) is a gov.toml error, not a lint: it can't be configured",
                                           info.code, info.name)
                             : fmt::format("`{}` (`{}`) is a checker error, not a lint: checker errors can't be "
                                           "turned off",
                                           info.code, info.name))
          .help = fmt::format("only lints, {}, can be configured", LintRange());
      return std::nullopt;
    }
    return kind;
  }

  std::optional<Level> CheckLevel(const Entry& entry) {
    const toml::node& value = *entry.value;
    Span span = SpanOf(id_, file_, value.source());
    if (const auto* text = value.as_string()) {
      if (std::optional<Level> level = ParseLevel(text->get())) return level;
      diagnostics::Diagnostic& d =
          diagnostics_.Emit(Kind::kConfigInvalidLevel, span,
                            fmt::format("invalid level `\"{}\"` for `{}`", text->get(), entry.key));
      if (ParseLevel(Lower(text->get()))) {
        d.help = fmt::format("levels are lower-case: write `\"{}\"`", Lower(text->get()));
      } else {
        d.help = "levels are `\"off\"`, `\"warning\"` and `\"error\"`";
      }
      return std::nullopt;
    }
    diagnostics_
        .Emit(Kind::kConfigInvalidLevel, span,
              fmt::format("the level for `{}` must be a string, found {}", entry.key, NodeKindName(value)))
        .help = "levels are `\"off\"`, `\"warning\"` and `\"error\"`";
    return std::nullopt;
  }

  static std::string_view NodeKindName(const toml::node& node) {
    switch (node.type()) {
      case toml::node_type::table: return "a table";
      case toml::node_type::array: return "an array";
      case toml::node_type::integer: return "an integer";
      case toml::node_type::floating_point: return "a number";
      case toml::node_type::boolean: return "a boolean";
      case toml::node_type::date:
      case toml::node_type::time:
      case toml::node_type::date_time: return "a date or time";
      default: return "a value of another type";
    }
  }

  source::FileId id_;
  const source::SourceFile& file_;
  diagnostics::Collector& diagnostics_;
};

}  // namespace

Config ParseConfig(const source::SourceManager& sources, source::FileId file, diagnostics::Collector& diagnostics) {
  return ConfigReader(sources, file, diagnostics).Read();
}

std::string FindConfig(const std::string& policy_path) {
  namespace fs = std::filesystem;
  if (policy_path.empty()) return {};
  std::error_code error;
  fs::path given(policy_path);
  fs::path start = fs::is_directory(given, error) ? given : given.parent_path();
  if (start.empty()) start = ".";
  fs::path directory = fs::absolute(start, error);
  if (error) return {};
  directory = directory.lexically_normal();
  // `/a/b/` normalizes with a trailing separator; drop it (but keep the root).
  if (!directory.has_filename() && directory != directory.root_path()) directory = directory.parent_path();
  while (true) {
    fs::path candidate = directory / kConfigFileName;
    std::error_code probe_error;
    if (fs::is_regular_file(candidate, probe_error)) {
      if (given.is_absolute()) return candidate.string();
      fs::path cwd = fs::current_path(error);
      if (error) return candidate.string();
      fs::path relative = candidate.lexically_relative(cwd);
      return relative.empty() ? candidate.string() : relative.string();
    }
    fs::path parent = directory.parent_path();
    if (parent.empty() || parent == directory) return {};
    directory = parent;
  }
}

}  // namespace gov::lint
