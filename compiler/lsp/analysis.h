// What the language server answers about a position in a compiled policy:
// hover text, the declaration a name refers to, completion candidates. Pure
// functions over a driver::Compilation (the same parse and check govc runs).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "compiler/driver/driver.h"
#include "compiler/source/source.h"

namespace gov::lsp {

// Hover content (Markdown) and the span it describes.
struct Hover {
  std::string markdown;
  source::Span span;
};

// What is at byte `offset` of the entry file: the type (and constant value) of
// an expression, a name's declaration, a function's signature and comment, or
// a rule's verdict, obligations and `because`.
std::optional<Hover> HoverAt(const driver::Compilation& compilation, std::uint32_t offset);

// The declaration of the name at `offset` of the entry file: a constant,
// function, parameter, quantifier variable, context field or rule, also in
// imported modules; an import's module file (its first byte).
std::optional<source::Span> DefinitionAt(const driver::Compilation& compilation, std::uint32_t offset);

// LSP CompletionItemKind values used here.
enum class CompletionKind : int {
  kMethod = 2,
  kFunction = 3,
  kField = 5,
  kVariable = 6,
  kModule = 9,
  kKeyword = 14,
  kConstant = 21
};

struct Completion {
  std::string label;
  CompletionKind kind;
  std::string detail;
};

// Candidates for the word being typed at the end of `line_prefix` (the
// line's text before the cursor): `std.` modules after `import std.`, the
// constants and functions of a module after its alias and `.`, the fields of
// a request record or `context` after `.`, else request fields, built-in
// functions, the policy's names, imported modules and keywords.
std::vector<Completion> CompletionsAt(const driver::Compilation* compilation, std::string_view line_prefix);

}  // namespace gov::lsp
