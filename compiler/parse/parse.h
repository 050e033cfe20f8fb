// Parsing: source text → AST. The only phase that sees ANTLR; everything it
// reports is a diagnostic, and no ANTLR type escapes this folder.
#pragma once

#include "compiler/ast/ast.h"
#include "compiler/diagnostics/diagnostic.h"
#include "compiler/source/source.h"

namespace gov::parse {

// Limits that keep hostile input from exhausting the stack or memory.
inline constexpr int kMaxTokenNesting = 100;          // brackets plus prefix operators
inline constexpr std::size_t kMaxDeclTokens = 100'000;  // tokens in one declaration
inline constexpr std::size_t kMaxFileTokens = 8'000'000;
inline constexpr std::size_t kMaxErrorsPerFile = 50;

// Parses one file. Syntax errors lose only the declaration they occur in;
// the returned File holds every declaration that parsed.
ast::File ParseFile(const source::SourceManager& sources, source::FileId file, diagnostics::Collector& diagnostics);

}  // namespace gov::parse
