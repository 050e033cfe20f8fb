// The canonical formatter behind `govc fmt`: prints an AST plus its comments
// in the one layout described in docs/formatting.md. The layout is a function
// of the AST and the comments only, so formatting is idempotent and
// parse(FormatFile(x)) is ast::Equal to x.
#pragma once

#include <string>

#include "compiler/ast/ast.h"
#include "compiler/source/source.h"

namespace gov::format {

// Lines are broken so that code stays within this many columns where the
// layout allows it (comments are not counted).
inline constexpr int kLineWidth = 100;

// Prints `file` in the one canonical layout, keeping every comment of
// `file.comments` exactly once and in order. `source` is the text `file` was
// parsed from; it is read only for blank lines next to comments and for the
// positions of a few tokens the AST keeps no span for (`with`, `)`).
std::string FormatFile(const ast::File& file, const source::SourceFile& source);

// Prints one expression canonically on a single line without comments, with
// parentheses only where precedence requires them (e.g. for diagnostics,
// help text and lint messages).
std::string FormatExpr(const ast::Expr& expr);

// `value` as a Gov string literal with canonical escapes (`"a\"b"`).
std::string Quote(std::string_view value);

}  // namespace gov::format
