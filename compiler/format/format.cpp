// The formatter: the AST is turned into a small layout document (text, line
// breaks, indentation and groups that break only when they do not fit, in
// the style of Wadler's "prettier printer"), and the document is rendered
// with the file's comments woven in at line breaks. Comments never influence
// the width decisions; they only force the groups that contain them
// (brackets, and/or chains with a comment between operands, `= value` with a
// comment after `=`) onto several lines, where the comment keeps its place.
// See docs/formatting.md for the rules.
#include "compiler/format/format.h"

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

namespace gov::format {

// A string literal with canonical escapes.
std::string Quote(std::string_view value) {
  std::string out = "\"";
  for (char c : value) {
    unsigned char byte = static_cast<unsigned char>(c);
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\r':
        out += "\\r";
        break;
      default:
        // NUL has no escape (`\u{0}` is rejected), so it stays a raw byte.
        if ((byte < 0x20 && byte != 0) || byte == 0x7F) {
          char escape[16];
          std::snprintf(escape, sizeof escape, "\\u{%02X}", static_cast<unsigned>(byte));
          out += escape;
        } else {
          out.push_back(c);
        }
        break;
    }
  }
  out += '"';
  return out;
}

namespace {

using DocId = std::uint32_t;

// An offset after every comment: flushes all remaining comments.
constexpr std::uint32_t kEndOfFile = std::numeric_limits<std::uint32_t>::max();

// Width used by FormatExpr: nothing is ever broken.
constexpr int kUnlimitedWidth = std::numeric_limits<int>::max() / 2;

// ---------------------------------------------------------------- layout documents

enum class DocKind : std::uint8_t { kText, kConcat, kNest, kGroup, kLine, kIfBreak };

// A possible line break and what it means for the comments printed there.
struct LineBreak {
  bool soft = false;         // when flat: nothing instead of one space
  bool hard = false;         // always a line break
  std::uint32_t next = 0;    // source offset of what follows; comments before it are printed here
  bool closing = false;      // a closing bracket follows: no blank line before it
  bool keep_blanks = false;  // keep one blank line next to own-line comments where the source had one
  bool after_open = false;   // first line inside a block: no blank line before its first comment
  bool blank = false;        // a blank line always separates what follows (between declarations)
  int comment_indent = 0;    // extra indentation of own-line comments printed here
};

struct Doc {
  DocKind kind = DocKind::kText;
  std::string text;             // kText, kIfBreak
  int indent = 0;               // kNest
  std::vector<DocId> children;  // kConcat; kNest and kGroup have exactly one
  LineBreak line;               // kLine
  bool breaks = false;          // contains a hard line or a group that must break
};

// Owns the documents of one formatting run; children are built before parents.
class Docs {
 public:
  DocId Text(std::string text) {
    Doc doc;
    doc.kind = DocKind::kText;
    doc.text = std::move(text);
    return Add(std::move(doc));
  }
  DocId Concat(std::vector<DocId> parts) {
    Doc doc;
    doc.kind = DocKind::kConcat;
    for (DocId part : parts) doc.breaks = doc.breaks || docs_[part].breaks;
    doc.children = std::move(parts);
    return Add(std::move(doc));
  }
  DocId Nest(int indent, DocId child) {
    Doc doc;
    doc.kind = DocKind::kNest;
    doc.indent = indent;
    doc.breaks = docs_[child].breaks;
    doc.children.push_back(child);
    return Add(std::move(doc));
  }
  // Lays `child` out flat when it fits, else with its lines broken.
  DocId Group(DocId child, bool force_break) {
    Doc doc;
    doc.kind = DocKind::kGroup;
    doc.breaks = force_break || docs_[child].breaks;
    doc.children.push_back(child);
    return Add(std::move(doc));
  }
  DocId Line(const LineBreak& line) {
    Doc doc;
    doc.kind = DocKind::kLine;
    doc.line = line;
    doc.breaks = line.hard;
    return Add(std::move(doc));
  }
  // `text` only when the enclosing group is broken (trailing commas).
  DocId IfBreak(std::string text) {
    Doc doc;
    doc.kind = DocKind::kIfBreak;
    doc.text = std::move(text);
    return Add(std::move(doc));
  }
  const Doc& operator[](DocId id) const { return docs_[id]; }

 private:
  DocId Add(Doc doc) {
    docs_.push_back(std::move(doc));
    return static_cast<DocId>(docs_.size() - 1);
  }

  std::vector<Doc> docs_;
};

// Columns taken by `text` (one per code point).
int Width(std::string_view text) {
  int width = 0;
  for (char c : text) {
    if ((static_cast<unsigned char>(c) & 0xC0) != 0x80) ++width;
  }
  return width;
}

bool IsLineComment(const ast::Comment& comment) {
  return comment.text.rfind("//", 0) == 0;
}

// ---------------------------------------------------------------- source scanning

// Reads the source around comments: blank lines, and tokens without AST spans.
// Without a source (FormatExpr) every question gets a neutral answer.
class SourceScan {
 public:
  explicit SourceScan(const source::SourceFile* source)
      : text_(source != nullptr ? source->text() : std::string_view()) {}

  // Whether the line before the one holding `offset` is blank.
  bool BlankLineBefore(std::uint32_t offset) const {
    std::size_t i = std::min<std::size_t>(offset, text_.size());
    while (i > 0 && (text_[i - 1] == ' ' || text_[i - 1] == '\t')) --i;
    if (i == 0 || text_[i - 1] != '\n') return false;
    --i;
    while (i > 0 && (text_[i - 1] == ' ' || text_[i - 1] == '\t' || text_[i - 1] == '\r')) --i;
    return i > 0 && text_[i - 1] == '\n';
  }

  // Whether the line after the one where `offset` ends is blank.
  bool BlankLineAfter(std::uint32_t offset) const {
    std::size_t i = std::min<std::size_t>(offset, text_.size());
    while (i < text_.size() && (text_[i] == ' ' || text_[i] == '\t' || text_[i] == '\r')) ++i;
    if (i >= text_.size() || text_[i] != '\n') return false;
    ++i;
    while (i < text_.size() && (text_[i] == ' ' || text_[i] == '\t' || text_[i] == '\r')) ++i;
    return i < text_.size() && text_[i] == '\n';
  }

  // Whether [begin, end) holds a blank line outside comments.
  bool HasBlankLine(std::uint32_t begin, std::uint32_t end) const {
    std::size_t i = std::min<std::size_t>(begin, text_.size());
    std::size_t stop = std::min<std::size_t>(end, text_.size());
    bool after_newline = false;
    bool content = false;
    while (i < stop) {
      char c = text_[i];
      if (c == '\n') {
        if (after_newline && !content) return true;
        after_newline = true;
        content = false;
        ++i;
      } else if (c == ' ' || c == '\t' || c == '\r') {
        ++i;
      } else if (text_.compare(i, 2, "//") == 0) {
        content = true;
        while (i < stop && text_[i] != '\n') ++i;
      } else if (text_.compare(i, 2, "/*") == 0) {
        content = true;
        std::size_t close = text_.find("*/", i + 2);
        i = close == std::string_view::npos ? stop : close + 2;
      } else {
        content = true;
        ++i;
      }
    }
    return false;
  }

  // The offset of the first character at or after `offset` that is neither
  // whitespace nor part of a comment.
  std::size_t SkipTrivia(std::size_t offset) const {
    std::size_t i = std::min(offset, text_.size());
    while (i < text_.size()) {
      char c = text_[i];
      if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
        ++i;
      } else if (text_.compare(i, 2, "//") == 0) {
        while (i < text_.size() && text_[i] != '\n') ++i;
      } else if (text_.compare(i, 2, "/*") == 0) {
        std::size_t close = text_.find("*/", i + 2);
        i = close == std::string_view::npos ? text_.size() : close + 2;
      } else {
        break;
      }
    }
    return i;
  }

  char At(std::size_t offset) const { return offset < text_.size() ? text_[offset] : '\0'; }

  // The `)` closing a parenthesized expression whose content ends at `end`.
  std::uint32_t CloseParen(std::uint32_t end) const {
    std::size_t i = SkipTrivia(end);
    return At(i) == ')' ? static_cast<std::uint32_t>(i) : end;
  }

  // The `with` of a rule, searched from the end of its condition or reason.
  std::uint32_t WithKeyword(std::uint32_t from) const {
    std::size_t i = SkipTrivia(from);
    while (At(i) == ')') i = SkipTrivia(i + 1);
    return text_.compare(i, 4, "with") == 0 ? static_cast<std::uint32_t>(i) : from;
  }

  // The `)` closing a def's parameter list; `from` is the end of the last
  // parameter, or of the name when there are none.
  std::uint32_t CloseParams(std::uint32_t from, bool has_params) const {
    std::size_t i = SkipTrivia(from);
    if (!has_params && At(i) == '(') i = SkipTrivia(i + 1);
    if (has_params && At(i) == ',') i = SkipTrivia(i + 1);
    return At(i) == ')' ? static_cast<std::uint32_t>(i) : from;
  }

 private:
  std::string_view text_;
};

// ---------------------------------------------------------------- literals

std::string TypeText(const ast::TypeExpr& type);

std::string TypeText(const ast::TypeExprPtr& type) {
  return type ? TypeText(*type) : std::string("?");
}

std::string TypeText(const ast::TypeExpr& type) {
  std::string out;
  if (const auto* named = std::get_if<ast::NamedTypeExpr>(&type.node)) {
    out = named->name;
    if (!named->args.empty()) {
      out += '<';
      for (std::size_t i = 0; i < named->args.size(); ++i) {
        if (i > 0) out += ", ";
        out += TypeText(named->args[i]);
      }
      out += '>';
    }
  } else if (const auto* record = std::get_if<ast::RecordTypeExpr>(&type.node)) {
    if (record->fields.empty()) {
      out = "{}";
    } else {
      out = "{ ";
      for (std::size_t i = 0; i < record->fields.size(); ++i) {
        if (i > 0) out += ", ";
        out += record->fields[i].name + ": " + TypeText(record->fields[i].type);
      }
      out += " }";
    }
  }
  if (type.optional) out += '?';
  return out;
}

// ---------------------------------------------------------------- precedence

// Binding strength, loosest first. Quantifiers and `if` sit with `not` (the
// grammar accepts them wherever it accepts `not`), but they are "open": their
// last part extends as far right as possible.
enum Level : int {
  kLevelAny = 0,
  kLevelOr = 1,
  kLevelAnd = 2,
  kLevelNot = 3,
  kLevelCompare = 4,
  kLevelCoalesce = 5,
  kLevelAdditive = 6,
  kLevelMultiplicative = 7,
  kLevelNegate = 8,
  kLevelPostfix = 9,
};

int BinaryLevel(ast::BinaryOp op) {
  switch (op) {
    case ast::BinaryOp::kCoalesce:
      return kLevelCoalesce;
    case ast::BinaryOp::kAdd:
    case ast::BinaryOp::kSub:
      return kLevelAdditive;
    case ast::BinaryOp::kMul:
    case ast::BinaryOp::kDiv:
    case ast::BinaryOp::kMod:
      return kLevelMultiplicative;
    default:
      return kLevelCompare;
  }
}

int LevelOf(const ast::Expr& expr) {
  if (const auto* logical = std::get_if<ast::Logical>(&expr.node)) {
    return logical->op == ast::LogicalOp::kOr ? kLevelOr : kLevelAnd;
  }
  if (const auto* unary = std::get_if<ast::Unary>(&expr.node)) {
    return unary->op == ast::UnaryOp::kNot ? kLevelNot : kLevelNegate;
  }
  if (const auto* binary = std::get_if<ast::Binary>(&expr.node)) return BinaryLevel(binary->op);
  if (std::holds_alternative<ast::Quantified>(expr.node) || std::holds_alternative<ast::Conditional>(expr.node) ||
      std::holds_alternative<ast::Bind>(expr.node)) {
    return kLevelNot;
  }
  return kLevelPostfix;
}

// The weakest level each operand of a logical chain may have unparenthesized.
int OperandLevel(ast::LogicalOp op) {
  return op == ast::LogicalOp::kOr ? kLevelAnd : kLevelNot;
}

// Whether `expr`, printed without parentheses, ends in a quantifier or `if`
// whose body would swallow whatever follows. Walks the right spine only.
bool IsOpen(const ast::Expr& expr) {
  const ast::Expr* current = &expr;
  for (int steps = 0; steps <= ast::kMaxExprDepth * 4; ++steps) {
    if (std::holds_alternative<ast::Quantified>(current->node) ||
        std::holds_alternative<ast::Conditional>(current->node) || std::holds_alternative<ast::Bind>(current->node)) {
      return true;
    }
    const ast::Expr* last = nullptr;
    int min_level = kLevelAny;
    if (const auto* unary = std::get_if<ast::Unary>(&current->node); unary && unary->op == ast::UnaryOp::kNot) {
      last = unary->operand.get();
      min_level = kLevelNot;
    } else if (const auto* logical = std::get_if<ast::Logical>(&current->node); logical && !logical->operands.empty()) {
      last = logical->operands.back().get();
      min_level = OperandLevel(logical->op);
    }
    if (last == nullptr || LevelOf(*last) < min_level) return false;
    current = last;
  }
  return false;
}

// ---------------------------------------------------------------- AST → document

// Builds the layout document of a file or an expression.
class Printer {
 public:
  Printer(Docs& docs, const SourceScan& scan, const std::vector<const ast::Comment*>& comments)
      : docs_(docs), scan_(scan), comments_(comments) {}

  // The whole file; declarations are separated by hard line breaks.
  DocId File(const ast::File& file) {
    std::vector<DocId> parts;
    for (std::size_t i = 0; i < file.decls.size(); ++i) {
      const ast::Decl& decl = file.decls[i];
      if (i > 0) {
        LineBreak line;
        line.hard = true;
        line.next = decl.span.begin;
        line.keep_blanks = true;
        line.blank = !Grouped(file.decls[i - 1], decl);
        parts.push_back(docs_.Line(line));
      }
      parts.push_back(Decl(decl));
    }
    return docs_.Concat(std::move(parts));
  }

  // An expression in a position that accepts any expression.
  DocId Expression(const ast::Expr& expr) { return Operand(expr, kLevelAny, false); }

 private:
  // One item of a bracketed list and where it starts in the source.
  struct Item {
    DocId doc;
    std::uint32_t begin;
  };

  DocId Text(std::string text) { return docs_.Text(std::move(text)); }

  // Whether a comment starts in [begin, end).
  bool HasCommentIn(std::uint32_t begin, std::uint32_t end) const {
    auto it = std::lower_bound(comments_.begin(), comments_.end(), begin,
                               [](const ast::Comment* c, std::uint32_t offset) { return c->span.begin < offset; });
    return it != comments_.end() && (*it)->span.begin < end;
  }

  // Consecutive constants or imports stay together when the source had no
  // blank line between them.
  bool Grouped(const ast::Decl& previous, const ast::Decl& next) const {
    bool same_kind = previous.node.index() == next.node.index() && (std::holds_alternative<ast::ConstDecl>(next.node) ||
                                                                    std::holds_alternative<ast::Import>(next.node));
    return same_kind && !scan_.HasBlankLine(previous.span.end, next.span.begin);
  }

  // `open item, item, ... close`, flat when it fits (with inner spaces when
  // `spaced`), else one item per line with a trailing comma.
  DocId Bracketed(std::string_view open, std::string_view close, const std::vector<Item>& items, bool spaced,
                  bool commas, bool force_break, std::uint32_t close_at) {
    LineBreak closing;
    closing.soft = !spaced;
    closing.next = close_at;
    closing.closing = true;
    closing.keep_blanks = true;
    closing.comment_indent = 2;
    if (items.empty()) {
      closing.soft = true;
      closing.after_open = true;
      return docs_.Group(docs_.Concat({Text(std::string(open)), docs_.Line(closing), Text(std::string(close))}),
                         force_break);
    }
    std::vector<DocId> inner;
    for (std::size_t i = 0; i < items.size(); ++i) {
      LineBreak line;
      line.soft = i == 0 && !spaced;
      line.next = items[i].begin;
      line.keep_blanks = true;
      line.after_open = i == 0;
      if (i > 0 && commas) inner.push_back(Text(","));
      inner.push_back(docs_.Line(line));
      inner.push_back(items[i].doc);
    }
    if (commas) inner.push_back(docs_.IfBreak(","));
    return docs_.Group(docs_.Concat({Text(std::string(open)), docs_.Nest(2, docs_.Concat(std::move(inner))),
                                     docs_.Line(closing), Text(std::string(close))}),
                       force_break);
  }

  // `expr` where the grammar accepts `min_level` or tighter; `followed` says
  // that more of the enclosing and/or chain comes after it.
  DocId Operand(const ast::Expr& expr, int min_level, bool followed) {
    if (LevelOf(expr) >= min_level && !(followed && IsOpen(expr))) return Node(expr, followed);
    if (const auto* logical = std::get_if<ast::Logical>(&expr.node); logical && logical->operands.size() > 1) {
      return Chain(expr, *logical, true, false, false);
    }
    return docs_.Concat({Text("("), Node(expr, false), Text(")")});
  }

  // `a and b and c`: one operand per line, operator first, when it does not
  // fit or a comment sits between operands. Inside parentheses the
  // parentheses belong to the same group. `followed`: see Operand.
  // `hanging`: the chain starts in the middle of a line, so its other lines
  // are indented 4 more.
  DocId Chain(const ast::Expr& expr, const ast::Logical& logical, bool parenthesized, bool followed, bool hanging) {
    std::string_view op = logical.op == ast::LogicalOp::kAnd ? "and " : "or ";
    int min_level = OperandLevel(logical.op);
    bool force_break = false;
    DocId first = Operand(*logical.operands[0], min_level, logical.operands.size() > 1 || followed);
    std::vector<DocId> rest;
    for (std::size_t i = 1; i < logical.operands.size(); ++i) {
      const ast::Expr& previous = *logical.operands[i - 1];
      const ast::Expr& operand = *logical.operands[i];
      bool last = i + 1 == logical.operands.size();
      force_break = force_break || HasCommentIn(previous.span.end, operand.span.begin);
      LineBreak line;
      line.next = operand.span.begin;
      rest.push_back(docs_.Line(line));
      rest.push_back(Text(std::string(op)));
      rest.push_back(Operand(operand, min_level, !last || followed));
    }
    DocId others = docs_.Concat(std::move(rest));
    DocId chain = docs_.Concat({first, hanging ? docs_.Nest(4, others) : others});
    if (!parenthesized) return docs_.Group(chain, force_break);
    LineBreak open;
    open.soft = true;
    open.next = expr.span.begin;
    open.after_open = true;
    LineBreak close;
    close.soft = true;
    close.next = scan_.CloseParen(expr.span.end);
    close.closing = true;
    close.comment_indent = 2;
    return docs_.Group(
        docs_.Concat({Text("("), docs_.Nest(2, docs_.Concat({docs_.Line(open), chain})), docs_.Line(close), Text(")")}),
        force_break);
  }

  // An expression that starts in the middle of a line (after `name = `,
  // `exec `, `if `, ...): a top-level and/or chain hangs, indented 4.
  DocId Hanging(const ast::Expr& expr) {
    if (const auto* logical = std::get_if<ast::Logical>(&expr.node); logical && logical->operands.size() > 1) {
      return Chain(expr, *logical, false, false, true);
    }
    return Expression(expr);
  }

  std::vector<Item> ExprItems(const std::vector<ast::ExprPtr>& exprs) {
    std::vector<Item> items;
    for (const ast::ExprPtr& e : exprs) items.push_back(Item{Expression(*e), e->span.begin});
    return items;
  }

  DocId Arguments(const std::vector<ast::ExprPtr>& args, std::uint32_t open_at, const ast::Expr& call) {
    std::uint32_t close_at = call.span.end > 0 ? call.span.end - 1 : 0;
    return Bracketed("(", ")", ExprItems(args), false, true, HasCommentIn(open_at, close_at), close_at);
  }

  // The expression itself, its operands parenthesized as needed.
  DocId Node(const ast::Expr& expr, bool followed) {
    std::uint32_t close_at = expr.span.end > 0 ? expr.span.end - 1 : 0;
    bool has_comment = HasCommentIn(expr.span.begin, close_at);
    return std::visit(
        [&](const auto& node) -> DocId {
          using T = std::decay_t<decltype(node)>;
          if constexpr (std::is_same_v<T, ast::BoolLiteral>) {
            return Text(node.value ? "true" : "false");
          } else if constexpr (std::is_same_v<T, ast::IntLiteral>) {
            return Text(node.text.empty() ? std::to_string(node.value) : node.text);
          } else if constexpr (std::is_same_v<T, ast::StringLiteral>) {
            return Text(Quote(node.value));
          } else if constexpr (std::is_same_v<T, ast::PatternLiteral>) {
            return Text((node.syntax == ast::PatternSyntax::kGlob ? "g\"" : "r\"") + node.source + "\"");
          } else if constexpr (std::is_same_v<T, ast::DurationLiteral>) {
            return Text(node.text.empty() ? std::to_string(node.millis) + "ms" : node.text);
          } else if constexpr (std::is_same_v<T, ast::SizeLiteral>) {
            return Text(node.text.empty() ? std::to_string(node.bytes) + "B" : node.text);
          } else if constexpr (std::is_same_v<T, ast::NoneLiteral>) {
            return Text("none");
          } else if constexpr (std::is_same_v<T, ast::NameRef>) {
            return Text(node.name);
          } else if constexpr (std::is_same_v<T, ast::Member>) {
            return docs_.Concat({Operand(*node.object, kLevelPostfix, false), Text("." + node.field)});
          } else if constexpr (std::is_same_v<T, ast::MethodCall>) {
            return docs_.Concat({Operand(*node.receiver, kLevelPostfix, false), Text("." + node.method),
                                 Arguments(node.args, node.method_span.end, expr)});
          } else if constexpr (std::is_same_v<T, ast::Call>) {
            return docs_.Concat({Text(node.callee), Arguments(node.args, node.callee_span.end, expr)});
          } else if constexpr (std::is_same_v<T, ast::Index>) {
            return docs_.Concat(
                {Operand(*node.object, kLevelPostfix, false), Text("["), Hanging(*node.index), Text("]")});
          } else if constexpr (std::is_same_v<T, ast::Unary>) {
            if (node.op == ast::UnaryOp::kNot) {
              return docs_.Concat({Text("not "), Operand(*node.operand, kLevelNot, followed)});
            }
            // `- -x` rather than `--x`; not `-(-x)`, whose extra parentheses
            // could push a deeply nested expression over the parser's limit.
            const auto* inner = std::get_if<ast::Unary>(&node.operand->node);
            bool nested = inner != nullptr && inner->op == ast::UnaryOp::kNegate;
            return docs_.Concat({Text(nested ? "- " : "-"), Operand(*node.operand, kLevelNegate, false)});
          } else if constexpr (std::is_same_v<T, ast::Binary>) {
            int level = BinaryLevel(node.op);
            // Comparisons do not chain; the other operators associate to the left.
            int lhs_level = level == kLevelCompare ? kLevelCoalesce : level;
            return docs_.Concat({Operand(*node.lhs, lhs_level, false),
                                 Text(" " + std::string(ast::BinaryOpSpelling(node.op)) + " "),
                                 Operand(*node.rhs, level + 1, false)});
          } else if constexpr (std::is_same_v<T, ast::Logical>) {
            if (node.operands.empty()) return Text(node.op == ast::LogicalOp::kAnd ? "true" : "false");
            return Chain(expr, node, false, followed, false);
          } else if constexpr (std::is_same_v<T, ast::Quantified>) {
            std::string head = node.quantifier == ast::Quantifier::kAny ? "any " : "all ";
            LineBreak line;
            line.next = node.body->span.begin;
            line.after_open = true;
            return docs_.Concat(
                {Text(head + node.var + " in "), Hanging(*node.domain), Text(":"),
                 docs_.Group(docs_.Nest(2, docs_.Concat({docs_.Line(line), Expression(*node.body)})), false)});
          } else if constexpr (std::is_same_v<T, ast::Bind>) {
            LineBreak line;
            line.next = node.body->span.begin;
            line.after_open = true;
            return docs_.Concat(
                {Operand(*node.value, kLevelCoalesce, false), Text(" as " + node.var + ":"),
                 docs_.Group(docs_.Nest(2, docs_.Concat({docs_.Line(line), Expression(*node.body)})), false)});
          } else if constexpr (std::is_same_v<T, ast::Conditional>) {
            LineBreak then_line;
            then_line.next = node.then_value->span.begin;
            LineBreak else_line;
            else_line.next = node.else_value->span.begin;
            return docs_.Group(
                docs_.Concat(
                    {Text("if "), Hanging(*node.condition),
                     docs_.Nest(2, docs_.Concat({docs_.Line(then_line), Text("then "), Hanging(*node.then_value),
                                                 docs_.Line(else_line), Text("else "), Hanging(*node.else_value)}))}),
                false);
          } else if constexpr (std::is_same_v<T, ast::ListLiteral>) {
            return Bracketed("[", "]", ExprItems(node.elements), false, true, has_comment, close_at);
          } else if constexpr (std::is_same_v<T, ast::SetLiteral>) {
            return Bracketed("{", "}", ExprItems(node.elements), false, true, has_comment, close_at);
          } else if constexpr (std::is_same_v<T, ast::RecordLiteral>) {
            std::vector<Item> items;
            for (const ast::RecordLiteralField& field : node.fields) {
              items.push_back(
                  Item{docs_.Concat({Text(field.name + " = "), Hanging(*field.value)}), field.name_span.begin});
            }
            return Bracketed("{", "}", items, true, true, has_comment, close_at);
          }
        },
        expr.node);
  }

  // ` = value`: bracketed values and calls stay on the line; anything else
  // moves to the next line, indented 4, when it does not fit or a comment
  // sits between `=` and the value. `after` is where the text before `=` ends.
  DocId AssignedValue(std::uint32_t after, const ast::Expr& value) {
    bool hug = std::holds_alternative<ast::ListLiteral>(value.node) ||
               std::holds_alternative<ast::SetLiteral>(value.node) ||
               std::holds_alternative<ast::RecordLiteral>(value.node) ||
               std::holds_alternative<ast::Call>(value.node) || std::holds_alternative<ast::MethodCall>(value.node);
    if (hug) return docs_.Concat({Text(" = "), Expression(value)});
    LineBreak line;
    line.next = value.span.begin;
    line.after_open = true;
    return docs_.Group(docs_.Concat({Text(" ="), docs_.Nest(4, docs_.Concat({docs_.Line(line), Expression(value)}))}),
                       HasCommentIn(after, value.span.begin));
  }

  DocId Decl(const ast::Decl& decl) {
    std::uint32_t close_at = decl.span.end > 0 ? decl.span.end - 1 : 0;
    return std::visit(
        [&](const auto& node) -> DocId {
          using T = std::decay_t<decltype(node)>;
          if constexpr (std::is_same_v<T, ast::PolicyHeader>) {
            std::string text = "policy " + node.name;
            if (node.version) text += " version " + Quote(*node.version);
            return Text(std::move(text));
          } else if constexpr (std::is_same_v<T, ast::Import>) {
            std::string text = "import " + (node.is_file ? Quote(node.target) : node.target);
            if (!node.alias.empty()) text += " as " + node.alias;
            if (node.with_rules) text += " with rules";
            return Text(std::move(text));
          } else if constexpr (std::is_same_v<T, ast::ConstDecl>) {
            return docs_.Concat({Text("const " + node.name + ": " + TypeText(node.type)),
                                 AssignedValue(node.type ? node.type->span.end : node.name_span.end, *node.value)});
          } else if constexpr (std::is_same_v<T, ast::ContextDecl>) {
            std::vector<Item> items;
            for (const ast::ContextField& field : node.fields) {
              items.push_back(Item{Text(field.name + ": " + TypeText(field.type)), field.span.begin});
            }
            bool force_break = !items.empty() || HasCommentIn(decl.span.begin, close_at);
            return docs_.Concat({Text("context "), Bracketed("{", "}", items, true, false, force_break, close_at)});
          } else if constexpr (std::is_same_v<T, ast::DefDecl>) {
            return Def(node);
          } else if constexpr (std::is_same_v<T, ast::Rule>) {
            return Rule(node, close_at);
          } else if constexpr (std::is_same_v<T, ast::DefaultDecl>) {
            if (node.has_verdict) {
              std::string text = "default " + std::string(ast::VerdictName(node.verdict));
              if (node.reason) text += " because " + Quote(*node.reason);
              return Text(std::move(text));
            }
            std::vector<Item> items;
            for (const ast::Obligation& obligation : node.obligations) {
              items.push_back(Item{docs_.Concat({Text(obligation.name + " = "), Hanging(*obligation.value)}),
                                   obligation.span.begin});
            }
            return docs_.Concat({Text("default with "), Bracketed("{", "}", items, true, true,
                                                                  HasCommentIn(decl.span.begin, close_at), close_at)});
          } else if constexpr (std::is_same_v<T, ast::CommandDecl>) {
            bool force_break = !node.items.empty() || HasCommentIn(decl.span.begin, close_at);
            return docs_.Concat({Text("command " + node.name + " "),
                                 Bracketed("{", "}", CommandItems(node.items), true, false, force_break, close_at)});
          } else if constexpr (std::is_same_v<T, ast::TestBlock>) {
            std::vector<Item> items;
            for (const ast::TestCase& test : node.cases) items.push_back(Item{TestCase(test), test.span.begin});
            bool force_break = !items.empty() || HasCommentIn(decl.span.begin, close_at);
            return docs_.Concat({Text("test " + Quote(node.name) + " "),
                                 Bracketed("{", "}", items, true, false, force_break, close_at)});
          }
        },
        decl.node);
  }

  // The items of a command or subcommand block, one per line.
  std::vector<Item> CommandItems(const std::vector<ast::CommandItem>& items) {
    std::vector<Item> out;
    for (const ast::CommandItem& item : items) {
      out.push_back(Item{CommandItem(item), item.span.begin});
    }
    return out;
  }

  std::string ValueTypeText(const ast::CommandValueType& value) {
    if (!value.is_enum) return TypeText(value.type);
    std::string text = "enum {";
    for (std::size_t i = 0; i < value.choices.size(); ++i) text += (i > 0 ? ", " : "") + Quote(value.choices[i]);
    return text + "}" + (value.optional ? "?" : "");
  }

  DocId CommandItem(const ast::CommandItem& item) {
    std::string spellings;
    for (std::size_t i = 0; i < item.spellings.size(); ++i) spellings += (i > 0 ? ", " : "") + Quote(item.spellings[i]);
    switch (item.kind) {
      case ast::CommandItem::Kind::kStyle:
        return Text("style " + item.name);
      case ast::CommandItem::Kind::kOptionsFirst:
        return Text("options first");
      case ast::CommandItem::Kind::kOptionsPersistent:
        return Text("options persistent");
      case ast::CommandItem::Kind::kFlag:
        return Text("flag " + item.name + ": " + spellings);
      case ast::CommandItem::Kind::kOption: {
        std::string text = "option " + item.name + ": " + ValueTypeText(item.value);
        for (const std::string& modifier : item.modifiers) text += " " + modifier;
        return Text(text + " = " + spellings);
      }
      case ast::CommandItem::Kind::kOperands: {
        std::string text = "operands ";
        for (std::size_t i = 0; i < item.groups.size(); ++i) {
          const ast::OperandGroup& group = item.groups[i];
          text += (i > 0 ? ", " : "") + group.name + ": " + ValueTypeText(group.value);
          if (group.count != 0) text += group.count;
        }
        return Text(text);
      }
      case ast::CommandItem::Kind::kSubcommand: {
        const std::uint32_t close_at = item.span.end > 0 ? item.span.end - 1 : 0;
        return docs_.Concat({Text("subcommand " + item.name + (spellings.empty() ? "" : ": " + spellings) + " "),
                             Bracketed("{", "}", CommandItems(item.items), true, false,
                                       !item.items.empty() || HasCommentIn(item.span.begin, close_at), close_at)});
      }
    }
    return Text("");
  }

  DocId Def(const ast::DefDecl& def) {
    std::vector<Item> params;
    for (const ast::Param& param : def.params) {
      params.push_back(Item{Text(param.name + ": " + TypeText(param.type)), param.name_span.begin});
    }
    std::uint32_t params_end = def.name_span.end;
    if (!def.params.empty() && def.params.back().type) params_end = def.params.back().type->span.end;
    std::uint32_t close_at = scan_.CloseParams(params_end, !def.params.empty());
    bool force_break = HasCommentIn(def.name_span.end, close_at);
    return docs_.Concat({Text("def " + def.name), Bracketed("(", ")", params, false, true, force_break, close_at),
                         Text(": " + TypeText(def.result)),
                         AssignedValue(def.result ? def.result->span.end : close_at, *def.body)});
  }

  // `VERDICT name when` with the condition, `because` and `with` on their
  // own lines, indented 4.
  DocId Rule(const ast::Rule& rule, std::uint32_t close_at) {
    std::vector<DocId> body;
    LineBreak condition_line;
    condition_line.hard = true;
    condition_line.next = rule.condition->span.begin;
    condition_line.after_open = true;
    body.push_back(docs_.Line(condition_line));
    body.push_back(Expression(*rule.condition));
    std::uint32_t tail = rule.condition->span.end;
    if (rule.reason) {
      LineBreak line;
      line.hard = true;
      line.next = rule.reason_span.begin;
      body.push_back(docs_.Line(line));
      body.push_back(Text("because " + Quote(*rule.reason)));
      tail = rule.reason_span.end;
    }
    if (rule.has_with || !rule.obligations.empty()) {
      std::uint32_t with_at = scan_.WithKeyword(tail);
      LineBreak line;
      line.hard = true;
      line.next = with_at;
      body.push_back(docs_.Line(line));
      std::vector<Item> items;
      for (const ast::Obligation& obligation : rule.obligations) {
        items.push_back(
            Item{docs_.Concat({Text(obligation.name + " = "), Hanging(*obligation.value)}), obligation.span.begin});
      }
      bool force_break = HasCommentIn(with_at, close_at);
      body.push_back(docs_.Concat({Text("with "), Bracketed("{", "}", items, true, true, force_break, close_at)}));
    }
    return docs_.Concat({Text(std::string(ast::VerdictName(rule.verdict)) + " " + rule.name + " when"),
                         docs_.Nest(4, docs_.Concat(std::move(body)))});
  }

  // `exec argv modifiers => verdict by rules`; when it does not fit, each
  // modifier goes on its own line, indented 4.
  DocId TestCase(const ast::TestCase& test) {
    std::vector<DocId> modifiers;
    for (const ast::TestModifier& modifier : test.modifiers) {
      LineBreak line;
      line.next = modifier.span.begin;
      modifiers.push_back(docs_.Line(line));
      modifiers.push_back(docs_.Concat({Text(modifier.kind + " "), Hanging(*modifier.value)}));
    }
    std::string tail = " => " + std::string(ast::VerdictName(test.expected));
    for (std::size_t i = 0; i < test.by_rules.size(); ++i) tail += (i == 0 ? " by " : ", ") + test.by_rules[i];
    if (test.by_and_others) tail += " and others";
    for (std::size_t i = 0; i < test.not_by_rules.size(); ++i) {
      tail += (i == 0 ? " not by " : ", ") + test.not_by_rules[i];
    }
    std::vector<DocId> tail_docs{Text(std::move(tail))};
    if (test.has_with) {
      // The case's span ends with the closing brace of `with { ... }`.
      const std::uint32_t close_at = test.span.end - 1;
      std::vector<Item> items;
      for (const ast::Obligation& obligation : test.obligations) {
        items.push_back(
            Item{docs_.Concat({Text(obligation.name + " = "), Hanging(*obligation.value)}), obligation.span.begin});
      }
      tail_docs.push_back(Text(" with "));
      tail_docs.push_back(
          Bracketed("{", "}", items, true, true, HasCommentIn(test.with_span.begin, close_at), close_at));
    }
    // The modifiers form their own group so that a multi-line argv does not
    // push them onto separate lines.
    // A table's command lines: one per line, aligned after `exec `.
    std::vector<DocId> commands{Hanging(*test.argvs.front())};
    for (std::size_t i = 1; i < test.argvs.size(); ++i) {
      LineBreak line;
      line.hard = true;
      line.next = test.argvs[i]->span.begin;
      commands.push_back(Text(","));
      commands.push_back(docs_.Nest(5, docs_.Concat({docs_.Line(line), Hanging(*test.argvs[i])})));
    }
    return docs_.Concat({Text("exec "), docs_.Concat(std::move(commands)),
                         docs_.Group(docs_.Concat({docs_.Nest(4, docs_.Concat(std::move(modifiers))),
                                                   docs_.Concat(std::move(tail_docs))}),
                                     false)});
  }

  Docs& docs_;
  const SourceScan& scan_;
  const std::vector<const ast::Comment*>& comments_;
};

// ---------------------------------------------------------------- rendering

// Renders a document within a width, printing comments at line breaks.
class Renderer {
 public:
  Renderer(const Docs& docs, int width, const SourceScan& scan, const std::vector<const ast::Comment*>& comments)
      : docs_(docs), width_(width), scan_(scan), comments_(comments) {}

  // Renders `root`; `first` is where the first declaration starts.
  std::string Render(DocId root, std::uint32_t first) {
    PrintOwnLine(first, 0, true, true, false);
    if (const ast::Comment* last = last_own_line_;
        last != nullptr && scan_.BlankLineAfter(last->span.end) && first != kEndOfFile) {
      out_ += '\n';
    }
    Print(root);
    if (column_ > 0 || last_was_comment_) {
      FlushTrailing(kEndOfFile);
      out_ += '\n';
      PrintOwnLine(kEndOfFile, 0, true, false, false);
    }
    return std::move(out_);
  }

  // Renders an expression document on one line.
  std::string RenderFlat(DocId root) {
    Print(root);
    return std::move(out_);
  }

 private:
  struct Command {
    int indent;
    bool flat;
    DocId doc;
  };

  void Append(std::string_view text) {
    out_ += text;
    column_ += Width(text);
    last_was_comment_ = false;
  }

  void Print(DocId root) {
    stack_.push_back(Command{0, false, root});
    while (!stack_.empty()) {
      Command command = stack_.back();
      stack_.pop_back();
      const Doc& doc = docs_[command.doc];
      switch (doc.kind) {
        case DocKind::kText:
          Append(doc.text);
          break;
        case DocKind::kConcat:
          for (auto it = doc.children.rbegin(); it != doc.children.rend(); ++it) {
            stack_.push_back(Command{command.indent, command.flat, *it});
          }
          break;
        case DocKind::kNest:
          stack_.push_back(Command{command.indent + doc.indent, command.flat, doc.children[0]});
          break;
        case DocKind::kGroup: {
          Command flat{command.indent, true, doc.children[0]};
          Command broken{command.indent, false, doc.children[0]};
          if (command.flat) {
            stack_.push_back(flat);
          } else if (doc.breaks) {
            stack_.push_back(broken);
          } else {
            stack_.push_back(Fits(flat, width_ - column_) ? flat : broken);
          }
          break;
        }
        case DocKind::kLine:
          if (command.flat && !doc.line.hard) {
            if (!doc.line.soft) Append(" ");
          } else {
            Break(command.indent, doc.line);
          }
          break;
        case DocKind::kIfBreak:
          if (!command.flat) Append(doc.text);
          break;
      }
    }
  }

  // Whether `next`, flat, and what follows it up to the next line break fit
  // in `remaining` columns.
  bool Fits(Command next, int remaining) const {
    std::vector<Command> pending{next};
    std::size_t rest = stack_.size();
    while (remaining >= 0) {
      if (pending.empty()) {
        if (rest == 0) return true;
        pending.push_back(stack_[--rest]);
      }
      Command command = pending.back();
      pending.pop_back();
      const Doc& doc = docs_[command.doc];
      switch (doc.kind) {
        case DocKind::kText:
          remaining -= Width(doc.text);
          break;
        case DocKind::kConcat:
          for (auto it = doc.children.rbegin(); it != doc.children.rend(); ++it) {
            pending.push_back(Command{command.indent, command.flat, *it});
          }
          break;
        case DocKind::kNest:
          pending.push_back(Command{command.indent, command.flat, doc.children[0]});
          break;
        case DocKind::kGroup:
          pending.push_back(Command{command.indent, command.flat && !doc.breaks, doc.children[0]});
          break;
        case DocKind::kLine:
          if (!command.flat || doc.line.hard) return true;
          if (!doc.line.soft) remaining -= 1;
          break;
        case DocKind::kIfBreak:
          if (!command.flat) remaining -= Width(doc.text);
          break;
      }
    }
    return false;
  }

  // Trailing comments before `next` go at the end of the current line while
  // no `//` comment has ended it.
  void FlushTrailing(std::uint32_t next) {
    while (next_comment_ < comments_.size() && !line_closed_) {
      const ast::Comment& comment = *comments_[next_comment_];
      if (comment.span.begin >= next || comment.own_line) break;
      if (!last_was_comment_) TrimTrailingSpaces();
      out_ += "  ";
      out_ += comment.text;
      last_was_comment_ = true;
      line_closed_ = IsLineComment(comment);
      ++next_comment_;
    }
  }

  void TrimTrailingSpaces() {
    while (!out_.empty() && out_.back() == ' ') out_.pop_back();
  }

  // Prints the comments before `next` on lines of their own; the output is at
  // the start of a line. Remembers the last one in last_own_line_.
  void PrintOwnLine(std::uint32_t next, int indent, bool keep_blanks, bool after_open, bool blank_first) {
    last_own_line_ = nullptr;
    while (next_comment_ < comments_.size() && comments_[next_comment_]->span.begin < next) {
      const ast::Comment& comment = *comments_[next_comment_++];
      bool first = last_own_line_ == nullptr;
      bool blank = first && blank_first;
      if (keep_blanks && !(first && after_open) && scan_.BlankLineBefore(comment.span.begin)) blank = true;
      if (blank && !out_.empty()) out_ += '\n';
      out_.append(static_cast<std::size_t>(indent), ' ');
      out_ += comment.text;
      out_ += '\n';
      last_own_line_ = &comment;
    }
  }

  void Break(int indent, const LineBreak& line) {
    FlushTrailing(line.next);
    if (!last_was_comment_) TrimTrailingSpaces();
    out_ += '\n';
    PrintOwnLine(line.next, indent + line.comment_indent, line.keep_blanks, line.after_open, line.blank);
    if (last_own_line_ != nullptr) {
      if (line.keep_blanks && !line.closing && scan_.BlankLineAfter(last_own_line_->span.end)) out_ += '\n';
    } else if (line.blank) {
      out_ += '\n';
    }
    out_.append(static_cast<std::size_t>(indent), ' ');
    column_ = indent;
    line_closed_ = false;
    last_was_comment_ = false;
  }

  const Docs& docs_;
  int width_;
  const SourceScan& scan_;
  const std::vector<const ast::Comment*>& comments_;
  std::vector<Command> stack_;
  std::string out_;
  int column_ = 0;
  std::size_t next_comment_ = 0;
  bool line_closed_ = false;       // a `//` comment ends the current line
  bool last_was_comment_ = false;  // the current line ends with a trailing comment
  const ast::Comment* last_own_line_ = nullptr;
};

}  // namespace

std::string FormatFile(const ast::File& file, const source::SourceFile& source) {
  std::vector<const ast::Comment*> comments;
  comments.reserve(file.comments.size());
  for (const ast::Comment& comment : file.comments) comments.push_back(&comment);
  std::stable_sort(comments.begin(), comments.end(),
                   [](const ast::Comment* a, const ast::Comment* b) { return a->span.begin < b->span.begin; });
  SourceScan scan(&source);
  Docs docs;
  Printer printer(docs, scan, comments);
  DocId root = printer.File(file);
  std::uint32_t first = file.decls.empty() ? kEndOfFile : file.decls.front().span.begin;
  return Renderer(docs, kLineWidth, scan, comments).Render(root, first);
}

std::string FormatExpr(const ast::Expr& expr) {
  std::vector<const ast::Comment*> no_comments;
  SourceScan scan(nullptr);
  Docs docs;
  Printer printer(docs, scan, no_comments);
  DocId root = printer.Expression(expr);
  return Renderer(docs, kUnlimitedWidth, scan, no_comments).RenderFlat(root);
}

}  // namespace gov::format
