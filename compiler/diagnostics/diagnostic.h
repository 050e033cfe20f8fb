// Diagnostics: problems in a user's policy (or gov.toml), as data. One
// registry (diagnostic_kinds.def), one collector, one renderer per format.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "compiler/source/source.h"

namespace gov::diagnostics {

enum class Severity : std::uint8_t { kNote, kWarning, kError };

// Every diagnostic gov can report; see diagnostic_kinds.def.
enum class Kind : std::uint16_t {
#define GOV_DIAGNOSTIC(Name, Code, DefaultSeverity, Summary) k##Name,
#include "compiler/diagnostics/diagnostic_kinds.def"
#undef GOV_DIAGNOSTIC
};

// Static facts about one Kind.
struct KindInfo {
  Kind kind;
  std::string_view name;
  std::string_view code;
  Severity default_severity;
  std::string_view summary;
};

// All kinds in registry order.
const std::vector<KindInfo>& AllKinds();
const KindInfo& Info(Kind kind);
// Finds a kind by its code (`GOV3001`) or its name (`UnusedConst`).
std::optional<Kind> FindKind(std::string_view code_or_name);
std::string_view SeverityName(Severity severity);

// A secondary location with its own message.
struct Note {
  source::Span span;
  std::string message;
};

// A machine-applicable change that resolves a diagnostic: the text of
// `span` becomes `replacement` (the name a "did you mean" help offers).
struct Fix {
  source::Span span;
  std::string replacement;
};

// One reported problem: stable code, primary span, message, notes, help,
// and a fix when the help names one exact replacement.
struct Diagnostic {
  Kind kind;
  Severity severity;
  source::Span span;
  std::string message;
  std::vector<Note> notes;
  std::string help;
  std::optional<Fix> fix = std::nullopt;
};

// Collects diagnostics during a compilation.
class Collector {
 public:
  // Adds a diagnostic with the kind's default severity; returns it for notes/help.
  Diagnostic& Emit(Kind kind, source::Span span, std::string message);
  void Add(Diagnostic diagnostic) { diagnostics_.push_back(std::move(diagnostic)); }

  const std::vector<Diagnostic>& diagnostics() const { return diagnostics_; }
  std::vector<Diagnostic>& mutable_diagnostics() { return diagnostics_; }
  std::size_t ErrorCount() const;
  bool HasErrors() const { return ErrorCount() > 0; }

  // Orders by file, position, code, message: output never depends on check order.
  void Sort();

 private:
  std::vector<Diagnostic> diagnostics_;
};

// Renders `file:line:col: error[GOVnnnn]: message` with the source line,
// carets under the span, notes and help.
std::string RenderText(const source::SourceManager& sources, const std::vector<Diagnostic>& diagnostics,
                       bool color = false);
// A JSON array (see docs/diagnostics.md for the schema).
std::string RenderJson(const source::SourceManager& sources, const std::vector<Diagnostic>& diagnostics);
// `path` with every byte outside RFC 3986's unreserved set and '/'
// percent-encoded: the path of a file:// URI (SARIF, LSP).
std::string PercentEncodePath(std::string_view path);
// A SARIF 2.1.0 log with one run, for code scanning.
std::string RenderSarif(const source::SourceManager& sources, const std::vector<Diagnostic>& diagnostics,
                        std::string_view tool_version);
// "2 errors, 1 warning" style summary; empty when there is nothing.
std::string Summary(const std::vector<Diagnostic>& diagnostics);

}  // namespace gov::diagnostics
