// The diagnostic registry, the collector and the text/JSON/SARIF renderers.
#include "compiler/diagnostics/diagnostic.h"

#include <fmt/format.h>

#include <cctype>
#include <algorithm>
#include <nlohmann/json.hpp>
#include <tuple>

namespace gov::diagnostics {

const std::vector<KindInfo>& AllKinds() {
  static const std::vector<KindInfo> kinds = {
#define GOV_DIAGNOSTIC(Name, Code, DefaultSeverity, Summary) \
  KindInfo{Kind::k##Name, #Name, Code, Severity::k##DefaultSeverity, Summary},
#include "compiler/diagnostics/diagnostic_kinds.def"
#undef GOV_DIAGNOSTIC
  };
  return kinds;
}

const KindInfo& Info(Kind kind) { return AllKinds()[static_cast<std::size_t>(kind)]; }

std::optional<Kind> FindKind(std::string_view code_or_name) {
  for (const KindInfo& info : AllKinds()) {
    if (info.code == code_or_name || info.name == code_or_name) return info.kind;
  }
  return std::nullopt;
}

std::string_view SeverityName(Severity severity) {
  switch (severity) {
    case Severity::kNote:
      return "note";
    case Severity::kWarning:
      return "warning";
    case Severity::kError:
      return "error";
  }
  return "error";
}

Diagnostic& Collector::Emit(Kind kind, source::Span span, std::string message) {
  diagnostics_.push_back(Diagnostic{kind, Info(kind).default_severity, span, std::move(message), {}, {}});
  return diagnostics_.back();
}

std::size_t Collector::ErrorCount() const {
  return static_cast<std::size_t>(std::count_if(diagnostics_.begin(), diagnostics_.end(), [](const Diagnostic& d) {
    return d.severity == Severity::kError;
  }));
}

void Collector::Sort() {
  std::stable_sort(diagnostics_.begin(), diagnostics_.end(), [](const Diagnostic& a, const Diagnostic& b) {
    return std::tie(a.span.file, a.span.begin, a.span.end, Info(a.kind).code, a.message) <
           std::tie(b.span.file, b.span.begin, b.span.end, Info(b.kind).code, b.message);
  });
}

namespace {

// Number of code points in `text`.
std::size_t CodePoints(std::string_view text) {
  return static_cast<std::size_t>(
      std::count_if(text.begin(), text.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; }));
}

std::string Location(const source::SourceManager& sources, const source::Span& span) {
  if (!span.valid()) return "<input>";
  const source::SourceFile& file = sources.file(span.file);
  source::LineColumn where = file.Locate(span.begin);
  return fmt::format("{}:{}:{}", file.path(), where.line, where.column);
}

// Tabs and control characters would shift carets: show them as spaces / '?'.
std::string Printable(std::string_view line) {
  std::string out;
  out.reserve(line.size());
  for (char c : line) {
    unsigned char u = static_cast<unsigned char>(c);
    out.push_back(c == '\t' ? ' ' : (u < 0x20 || u == 0x7f) ? '?' : c);
  }
  return out;
}

// Appends the source line of `span` with carets under it (first line only).
void AppendSnippet(std::string& out, const source::SourceManager& sources, const source::Span& span) {
  if (!span.valid()) return;
  const source::SourceFile& file = sources.file(span.file);
  source::LineColumn begin = file.Locate(span.begin);
  std::string_view line = file.Line(begin.line);
  constexpr std::size_t kMaxShown = 200;
  std::size_t column = begin.column - 1;
  std::size_t line_points = CodePoints(line);
  std::size_t width = 1;
  if (span.end > span.begin) {
    source::LineColumn end = file.Locate(span.end);
    width = end.line == begin.line ? std::max<std::size_t>(1, end.column - begin.column)
                                   : std::max<std::size_t>(1, line_points > column ? line_points - column : 1);
  }
  if (line.size() > kMaxShown || column > kMaxShown) {
    // Very long lines are not echoed; the location says where the problem is.
    return;
  }
  std::string gutter = fmt::format("{:>5} | ", begin.line);
  out += gutter + Printable(line) + "\n";
  out += std::string(gutter.size() - 2, ' ') + "| " + std::string(column, ' ') + std::string(width, '^') + "\n";
}

}  // namespace

std::string RenderText(const source::SourceManager& sources, const std::vector<Diagnostic>& diagnostics, bool color) {
  std::string out;
  for (const Diagnostic& d : diagnostics) {
    const KindInfo& info = Info(d.kind);
    std::string_view severity = SeverityName(d.severity);
    if (color) {
      const char* tint = d.severity == Severity::kError ? "\x1b[1;31m" : "\x1b[1;33m";
      out += fmt::format("\x1b[1m{}:\x1b[0m {}{}[{}]:\x1b[0m \x1b[1m{}\x1b[0m\n", Location(sources, d.span), tint,
                         severity, info.code, d.message);
    } else {
      out += fmt::format("{}: {}[{}]: {}\n", Location(sources, d.span), severity, info.code, d.message);
    }
    AppendSnippet(out, sources, d.span);
    for (const Note& note : d.notes) {
      if (note.span.valid()) {
        out += fmt::format("{}: note: {}\n", Location(sources, note.span), note.message);
        AppendSnippet(out, sources, note.span);
      } else {
        out += fmt::format("note: {}\n", note.message);
      }
    }
    if (!d.help.empty()) out += fmt::format("help: {}\n", d.help);
  }
  return out;
}

namespace {

nlohmann::json SpanJson(const source::SourceManager& sources, const source::Span& span) {
  if (!span.valid()) return nullptr;
  const source::SourceFile& file = sources.file(span.file);
  source::LineColumn begin = file.Locate(span.begin);
  source::LineColumn end = file.Locate(span.end);
  return {{"file", file.path()},       {"line", begin.line},     {"column", begin.column},
          {"end_line", end.line},      {"end_column", end.column}, {"offset", span.begin},
          {"length", span.end - span.begin}};
}

}  // namespace

std::string RenderJson(const source::SourceManager& sources, const std::vector<Diagnostic>& diagnostics) {
  nlohmann::json out = nlohmann::json::array();
  for (const Diagnostic& d : diagnostics) {
    nlohmann::json notes = nlohmann::json::array();
    for (const Note& note : d.notes) {
      notes.push_back({{"message", note.message}, {"span", SpanJson(sources, note.span)}});
    }
    nlohmann::json item = {{"code", Info(d.kind).code},   {"name", Info(d.kind).name},
                           {"severity", SeverityName(d.severity)}, {"message", d.message},
                           {"span", SpanJson(sources, d.span)},   {"notes", notes}};
    if (!d.help.empty()) item["help"] = d.help;
    out.push_back(std::move(item));
  }
  return out.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

std::string PercentEncodePath(std::string_view path) {
  std::string out;
  for (char c : path) {
    unsigned char u = static_cast<unsigned char>(c);
    if (std::isalnum(u) || c == '-' || c == '.' || c == '_' || c == '~' || c == '/') {
      out.push_back(c);
    } else {
      out += fmt::format("%{:02X}", u);
    }
  }
  return out;
}

namespace {

// A SARIF artifact URI: relative paths stay relative (resolved against the
// repository root by code scanning), absolute ones become file:// URIs;
// characters outside RFC 3986's unreserved set and '/' are percent-encoded.
std::string ArtifactUri(std::string_view path) {
  return (!path.empty() && path.front() == '/' ? "file://" : "") + PercentEncodePath(path);
}

nlohmann::json SarifLocation(const source::SourceManager& sources, const source::Span& span,
                             const std::string& message) {
  const source::SourceFile& file = sources.file(span.file);
  source::LineColumn begin = file.Locate(span.begin);
  source::LineColumn end = file.Locate(std::max(span.end, span.begin + 1));
  if (span.end <= span.begin) end = source::LineColumn{begin.line, begin.column + 1};
  nlohmann::json location = {
      {"physicalLocation",
       {{"artifactLocation", {{"uri", ArtifactUri(file.path())}}},
        {"region",
         {{"startLine", begin.line},
          {"startColumn", begin.column},
          {"endLine", end.line},
          {"endColumn", end.column}}}}}};
  if (!message.empty()) location["message"] = {{"text", message}};
  return location;
}

}  // namespace

std::string RenderSarif(const source::SourceManager& sources, const std::vector<Diagnostic>& diagnostics,
                        std::string_view tool_version) {
  nlohmann::json rules = nlohmann::json::array();
  for (const KindInfo& info : AllKinds()) {
    rules.push_back({{"id", info.code},
                     {"name", info.name},
                     {"shortDescription", {{"text", info.summary}}},
                     {"fullDescription", {{"text", fmt::format("{} (see docs/diagnostics.md#{})", info.summary, info.code)}}},
                     {"defaultConfiguration", {{"level", SeverityName(info.default_severity)}}}});
  }
  nlohmann::json results = nlohmann::json::array();
  for (const Diagnostic& d : diagnostics) {
    const KindInfo& info = Info(d.kind);
    std::string text = d.message;
    if (!d.help.empty()) text += "\nhelp: " + d.help;
    nlohmann::json result = {{"ruleId", info.code},
                             {"ruleIndex", static_cast<std::size_t>(d.kind)},
                             {"level", SeverityName(d.severity)},
                             {"message", {{"text", text}}}};
    if (d.span.valid()) {
      result["locations"] = nlohmann::json::array({SarifLocation(sources, d.span, "")});
    } else if (sources.size() > 0) {
      // Code scanning needs a location: use the start of the first file.
      result["locations"] = nlohmann::json::array({SarifLocation(sources, source::Span{0, 0, 0}, "")});
    } else {
      result["locations"] = nlohmann::json::array();
    }
    nlohmann::json related = nlohmann::json::array();
    for (std::size_t i = 0; i < d.notes.size(); ++i) {
      if (!d.notes[i].span.valid()) continue;
      nlohmann::json location = SarifLocation(sources, d.notes[i].span, d.notes[i].message);
      location["id"] = i;
      related.push_back(std::move(location));
    }
    if (!related.empty()) result["relatedLocations"] = std::move(related);
    results.push_back(std::move(result));
  }
  nlohmann::json log = {
      {"$schema", "https://json.schemastore.org/sarif-2.1.0.json"},
      {"version", "2.1.0"},
      {"runs",
       nlohmann::json::array({{{"tool",
                                {{"driver",
                                  {{"name", "govc"},
                                   {"version", std::string(tool_version)},
                                   {"rules", rules}}}}},
                               {"columnKind", "unicodeCodePoints"},
                               {"results", results}}})}};
  return log.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

std::string Summary(const std::vector<Diagnostic>& diagnostics) {
  std::size_t errors = 0;
  std::size_t warnings = 0;
  for (const Diagnostic& d : diagnostics) {
    if (d.severity == Severity::kError) ++errors;
    if (d.severity == Severity::kWarning) ++warnings;
  }
  if (errors == 0 && warnings == 0) return "";
  std::string out;
  if (errors > 0) out += fmt::format("{} error{}", errors, errors == 1 ? "" : "s");
  if (warnings > 0) out += fmt::format("{}{} warning{}", out.empty() ? "" : ", ", warnings, warnings == 1 ? "" : "s");
  return out;
}

}  // namespace gov::diagnostics
