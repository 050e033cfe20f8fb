// Diagnostics rendered for the Language Server Protocol (3.17): positions are
// 0-based lines and UTF-16 code units, files are `file://` URIs.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "compiler/diagnostics/diagnostic.h"
#include "compiler/source/source.h"

namespace gov::diagnostics {

// The `file://` URI of an absolute path (bytes outside RFC 3986's unreserved
// set and '/' percent-encoded).
std::string FileUri(std::string_view path);

// An LSP `Range` covering `span` of `file`.
nlohmann::json LspRange(const source::SourceFile& file, const source::Span& span);

// The LSP `Diagnostic[]` for the diagnostics whose primary span lies in
// `file`: severity, code, the message with its help, notes as related
// information, and in `data.fix` the `TextEdit` of a diagnostic's Fix.
nlohmann::json RenderLsp(const source::SourceManager& sources, const std::vector<Diagnostic>& diagnostics,
                         source::FileId file);

}  // namespace gov::diagnostics
