// The LSP renderer of diagnostics.
#include "compiler/diagnostics/lsp.h"

#include <fmt/format.h>

#include <cctype>
#include <filesystem>

namespace gov::diagnostics {

std::string FileUri(std::string_view path) {
  return "file://" + PercentEncodePath(path);
}

nlohmann::json LspRange(const source::SourceFile& file, const source::Span& span) {
  source::Utf16Position begin = file.LocateUtf16(span.begin);
  source::Utf16Position end = file.LocateUtf16(std::max(span.end, span.begin));
  return {{"start", {{"line", begin.line}, {"character", begin.character}}},
          {"end", {{"line", end.line}, {"character", end.character}}}};
}

namespace {

int LspSeverity(Severity severity) {
  switch (severity) {
    case Severity::kError:
      return 1;
    case Severity::kWarning:
      return 2;
    case Severity::kNote:
      return 3;
  }
  return 1;
}

std::string AbsolutePath(const std::string& path) {
  std::error_code ec;
  std::filesystem::path absolute = std::filesystem::absolute(path, ec);
  return ec ? path : absolute.lexically_normal().string();
}

}  // namespace

nlohmann::json RenderLsp(const source::SourceManager& sources, const std::vector<Diagnostic>& diagnostics,
                         source::FileId file) {
  nlohmann::json out = nlohmann::json::array();
  if (file >= sources.size()) return out;
  const source::SourceFile& source = sources.file(file);
  for (const Diagnostic& d : diagnostics) {
    if (d.span.file != file) continue;
    const KindInfo& info = Info(d.kind);
    nlohmann::json item = {{"range", LspRange(source, d.span)},
                           {"severity", LspSeverity(d.severity)},
                           {"code", info.code},
                           {"source", "govc"},
                           {"message", d.help.empty() ? d.message : d.message + "\nhelp: " + d.help}};
    // The lints about unused names: editors fade the text.
    if (info.name.rfind("Unused", 0) == 0) item["tags"] = nlohmann::json::array({1});
    nlohmann::json related = nlohmann::json::array();
    for (const Note& note : d.notes) {
      if (!note.span.valid() || note.span.file >= sources.size()) continue;
      const source::SourceFile& note_file = sources.file(note.span.file);
      related.push_back(
          {{"location", {{"uri", FileUri(AbsolutePath(note_file.path()))}, {"range", LspRange(note_file, note.span)}}},
           {"message", note.message}});
    }
    if (!related.empty()) item["relatedInformation"] = std::move(related);
    if (d.fix && d.fix->span.file == file) {
      item["data"] = {{"fix", {{"range", LspRange(source, d.fix->span)}, {"newText", d.fix->replacement}}}};
    }
    out.push_back(std::move(item));
  }
  return out;
}

}  // namespace gov::diagnostics
