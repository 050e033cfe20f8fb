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

// Wall-clock milliseconds spent in each phase of ParseFile, added to the
// fields (bench/bench_check prints them).
struct ParseTimings {
  double lex_ms = 0;    // source text → tokens
  double split_ms = 0;  // tokens → declarations, nesting limits
  double parse_ms = 0;  // ANTLR parser: tokens → parse trees
  double build_ms = 0;  // parse trees → AST
  double total_ms = 0;  // all of ParseFile
};

// Parses one file. Syntax errors lose only the declaration they occur in;
// the returned File holds every declaration that parsed.
ast::File ParseFile(const source::SourceManager& sources, source::FileId file, diagnostics::Collector& diagnostics,
                    ParseTimings* timings = nullptr);

}  // namespace gov::parse
