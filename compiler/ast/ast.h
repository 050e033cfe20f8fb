// The Gov AST: plain structs with spans, built from the parse tree by
// compiler/parse and read by check, lint, format and lower. Every Expr has a
// dense id so later phases keep facts (types, constant values) in side tables.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <variant>
#include <vector>

#include "compiler/source/source.h"

namespace gov::ast {

using source::Span;

// Deepest expression nesting the parser accepts; later phases may recurse this deep.
inline constexpr int kMaxExprDepth = 200;

struct Expr;
using ExprPtr = std::unique_ptr<Expr>;

// ---------------------------------------------------------------- types as written

struct TypeExpr;
using TypeExprPtr = std::unique_ptr<TypeExpr>;

// `name` or `name<args>`, e.g. `string`, `set<string>`, `map<string, string>`.
struct NamedTypeExpr {
  std::string name;
  std::vector<TypeExprPtr> args;
};

struct RecordTypeFieldExpr {
  std::string name;
  Span name_span;
  TypeExprPtr type;
};

// `{ name: T, ... }`
struct RecordTypeExpr {
  std::vector<RecordTypeFieldExpr> fields;
};

// A type as written in the source; `optional` is the trailing `?`.
struct TypeExpr {
  Span span;
  std::variant<NamedTypeExpr, RecordTypeExpr> node;
  bool optional = false;
};

// ---------------------------------------------------------------- expressions

struct BoolLiteral {
  bool value;
};
// Integer literal; `text` keeps the spelling (e.g. `1_000`) for the formatter.
struct IntLiteral {
  std::int64_t value;
  std::string text;
  bool reported_invalid = false;  // the lexer already reported its unknown unit
};
struct StringLiteral {
  std::string value;  // decoded (escapes resolved)
};
enum class PatternSyntax : std::uint8_t { kGlob, kRegex };
// `g"..."` or `r"..."`.
struct PatternLiteral {
  PatternSyntax syntax;
  std::string source;  // decoded
};
// `10m`: value in milliseconds.
struct DurationLiteral {
  std::int64_t millis;
  std::string text;
};
// `4GiB`: value in bytes.
struct SizeLiteral {
  std::int64_t bytes;
  std::string text;
};
struct NoneLiteral {};

// A bare name: constant, function parameter, quantifier variable, or a
// request field (`program`, `args`, `cwd`, `context`, ...).
struct NameRef {
  std::string name;
};
// `object.field`
struct Member {
  ExprPtr object;
  std::string field;
  Span field_span;
};
// `object.method(args)`
struct MethodCall {
  ExprPtr receiver;
  std::string method;
  Span method_span;
  std::vector<ExprPtr> args;
};
// `function(args)`: a `def` or a built-in function.
struct Call {
  std::string callee;
  Span callee_span;
  std::vector<ExprPtr> args;
};
// `object[index]`
struct Index {
  ExprPtr object;
  ExprPtr index;
};

enum class UnaryOp : std::uint8_t { kNot, kNegate };
struct Unary {
  UnaryOp op;
  ExprPtr operand;
};

enum class BinaryOp : std::uint8_t {
  kEq, kNe, kLt, kLe, kGt, kGe, kIn, kNotIn, kUnder, kMatches,
  kAdd, kSub, kMul, kDiv, kMod, kCoalesce,
};
struct Binary {
  BinaryOp op;
  ExprPtr lhs;
  ExprPtr rhs;
  Span op_span;
};

enum class LogicalOp : std::uint8_t { kAnd, kOr };
// `a and b and c`: n-ary so long chains stay shallow.
struct Logical {
  LogicalOp op;
  std::vector<ExprPtr> operands;
};

enum class Quantifier : std::uint8_t { kAny, kAll };
// `any x in domain: body`
struct Quantified {
  Quantifier quantifier;
  std::string var;
  Span var_span;
  ExprPtr domain;
  ExprPtr body;
};
// `if c then a else b`
struct Conditional {
  ExprPtr condition;
  ExprPtr then_value;
  ExprPtr else_value;
};
// `value as var: body`: body with var bound to value when value is present;
// false when it is absent.
struct Bind {
  ExprPtr value;
  std::string var;
  Span var_span;
  ExprPtr body;
};
struct ListLiteral {
  std::vector<ExprPtr> elements;
};
struct SetLiteral {
  std::vector<ExprPtr> elements;
};
struct RecordLiteralField {
  std::string name;
  Span name_span;
  ExprPtr value;
};
// `{ name = value, ... }`; `{}` is an empty record literal.
struct RecordLiteral {
  std::vector<RecordLiteralField> fields;
};

using ExprNode = std::variant<BoolLiteral, IntLiteral, StringLiteral, PatternLiteral, DurationLiteral, SizeLiteral,
                              NoneLiteral, NameRef, Member, MethodCall, Call, Index, Unary, Binary, Logical, Quantified,
                              Conditional, ListLiteral, SetLiteral, RecordLiteral, Bind>;

// An expression node with its span and a per-file unique id.
struct Expr {
  std::uint32_t id = 0;
  Span span;
  ExprNode node;
};

// ---------------------------------------------------------------- declarations

// `policy NAME version "1.0.0"`
struct PolicyHeader {
  Span span;
  std::string name;
  Span name_span;
  std::optional<std::string> version;
};

// `import std.shell` or `import "relative/file.gov" as x`.
struct Import {
  Span span;
  bool is_file = false;
  std::string target;  // dotted module name or file path
  std::string alias;   // explicit alias, or empty
  Span target_span;
  // `with rules`: the module's rules (and those it includes) join the
  // importing policy, named ALIAS.RULE.
  bool with_rules = false;
  Span with_span;
};

struct ConstDecl {
  Span span;
  std::string name;
  Span name_span;
  TypeExprPtr type;
  ExprPtr value;
};

struct ContextField {
  Span span;
  std::string name;
  Span name_span;
  TypeExprPtr type;
};

struct ContextDecl {
  Span span;
  std::vector<ContextField> fields;
};

struct Param {
  std::string name;
  Span name_span;
  TypeExprPtr type;
};

// `def name(params): T = body` — pure, non-recursive.
struct DefDecl {
  Span span;
  std::string name;
  Span name_span;
  std::vector<Param> params;
  TypeExprPtr result;
  ExprPtr body;
};

enum class Verdict : std::uint8_t { kAllow, kDeny, kAsk };

// `timeout = 10m` in a rule's `with { ... }`.
struct Obligation {
  Span span;
  std::string name;
  Span name_span;
  ExprPtr value;
};

// `allow NAME when COND because "..." with { ... }`
struct Rule {
  Span span;
  Verdict verdict;
  std::string name;
  Span name_span;
  ExprPtr condition;
  std::optional<std::string> reason;
  Span reason_span;
  bool has_with = false;
  std::vector<Obligation> obligations;
};

// `cwd "/w"`, `context { k = v }`, ... inside a test case.
struct TestModifier {
  Span span;
  std::string kind;
  Span kind_span;
  ExprPtr value;
};

// `exec [argv] modifiers => verdict by rule, ...`
struct TestCase {
  Span span;
  // The command lines: one, or several for a table (`exec [...], [...]`),
  // each a case with the same modifiers and expectations.
  std::vector<ExprPtr> argvs;
  std::vector<TestModifier> modifiers;
  Verdict expected;
  Span expected_span;
  std::vector<std::string> by_rules;
  std::vector<Span> by_spans;
  bool by_and_others = false;             // `by a and others`: at least the `by` rules decide
  std::vector<std::string> not_by_rules;  // `not by c`: rules that must not decide
  std::vector<Span> not_by_spans;
  bool has_with = false;  // `with { ... }`: exactly these obligations apply
  Span with_span;
  std::vector<Obligation> obligations;
};

struct TestBlock {
  Span span;
  std::string name;
  std::vector<TestCase> cases;
};

// `default with { ... }`: obligations for the module's allow and ask rules
// that have no `with` of their own; or `default VERDICT because "..."`: the
// verdict of a request no rule decides.
struct DefaultDecl {
  Span span;
  bool has_with = false;
  Span with_span;
  std::vector<Obligation> obligations;
  bool has_verdict = false;
  Verdict verdict = Verdict::kDeny;
  Span verdict_span;
  std::optional<std::string> reason;
};

// The type of a value in a `command` block: a Gov type (`string`, `path`,
// `int`, `list<T>` for a repeatable option, `T?`) or `enum {"a", "b"}`.
struct CommandValueType {
  Span span;
  TypeExprPtr type;  // unless is_enum
  bool is_enum = false;
  std::vector<std::string> choices;  // is_enum
  bool optional = false;             // is_enum and `?`
};

// One operand group: `targets: path+`.
struct OperandGroup {
  Span span;
  std::string name;
  Span name_span;
  CommandValueType value;
  char count = 0;  // 0 (exactly one, or `?` through the type), '*' or '+'
};

// An item of a `command` block or of one of its subcommands.
struct CommandItem {
  // kOptionsFirst: `options first` (options end at the scope's first operand);
  // kOptionsPersistent: `options persistent` (top-level options are read
  // after the subcommand's name too)
  enum class Kind : std::uint8_t { kStyle, kOptionsFirst, kOptionsPersistent, kFlag, kOption, kOperands, kSubcommand };
  Span span;
  Kind kind = Kind::kFlag;
  std::string name;  // the field or subcommand name; the style word for kStyle
  Span name_span;
  // flag, option: as written (`-f`, `--force`); subcommand: its name as written, if given
  std::vector<std::string> spellings;
  std::vector<Span> spelling_spans;
  CommandValueType value;              // option
  std::vector<std::string> modifiers;  // option: `value optional`
  std::vector<OperandGroup> groups;    // operands
  std::vector<CommandItem> items;      // subcommand
};

// `command NAME { ... }`: a program's command line; `NAME(list)` parses a
// list under it (docs/language.md "Argument grammars").
struct CommandDecl {
  Span span;
  std::string name;
  Span name_span;
  std::vector<CommandItem> items;
};

using DeclNode =
    std::variant<PolicyHeader, Import, ConstDecl, ContextDecl, DefDecl, Rule, TestBlock, DefaultDecl, CommandDecl>;

struct Decl {
  Span span;
  DeclNode node;
};

// A source comment, kept for the formatter.
struct Comment {
  Span span;
  std::string text;
  bool own_line = false;  // nothing but whitespace precedes it on its line
};

// One parsed policy file.
struct File {
  source::FileId file_id = source::kNoFile;
  std::vector<Decl> decls;
  std::vector<Comment> comments;
  std::uint32_t expr_count = 0;  // ids are 0..expr_count-1
  // Syntax or lexical errors occurred; some declarations may be missing.
  bool had_errors = false;
  // Names of rules, constants and functions whose declarations were dropped
  // because of syntax errors (their uses are not reported again).
  std::vector<std::string> dropped_names;
  bool dropped_context = false;
};

std::string_view VerdictName(Verdict verdict);
std::string_view BinaryOpSpelling(BinaryOp op);

// Structural equality that ignores spans, ids and comments (used by the
// round-trip test: parse → print → parse gives an equal AST).
bool Equal(const File& a, const File& b);
bool Equal(const Expr& a, const Expr& b);

}  // namespace gov::ast

namespace gov::ast {

// Calls `fn(const Expr&)` for each direct child of `expr`, in source order.
template <typename Fn>
void ForEachChild(const Expr& expr, Fn&& fn) {
  auto visit_list = [&](const std::vector<ExprPtr>& list) {
    for (const ExprPtr& e : list) fn(*e);
  };
  std::visit(
      [&](const auto& node) {
        using T = std::decay_t<decltype(node)>;
        if constexpr (std::is_same_v<T, Member>) {
          fn(*node.object);
        } else if constexpr (std::is_same_v<T, MethodCall>) {
          fn(*node.receiver);
          visit_list(node.args);
        } else if constexpr (std::is_same_v<T, Call>) {
          visit_list(node.args);
        } else if constexpr (std::is_same_v<T, Index>) {
          fn(*node.object);
          fn(*node.index);
        } else if constexpr (std::is_same_v<T, Unary>) {
          fn(*node.operand);
        } else if constexpr (std::is_same_v<T, Binary>) {
          fn(*node.lhs);
          fn(*node.rhs);
        } else if constexpr (std::is_same_v<T, Logical>) {
          visit_list(node.operands);
        } else if constexpr (std::is_same_v<T, Quantified>) {
          fn(*node.domain);
          fn(*node.body);
        } else if constexpr (std::is_same_v<T, Conditional>) {
          fn(*node.condition);
          fn(*node.then_value);
          fn(*node.else_value);
        } else if constexpr (std::is_same_v<T, ListLiteral> || std::is_same_v<T, SetLiteral>) {
          visit_list(node.elements);
        } else if constexpr (std::is_same_v<T, RecordLiteral>) {
          for (const RecordLiteralField& field : node.fields) fn(*field.value);
        }
      },
      expr.node);
}

}  // namespace gov::ast
