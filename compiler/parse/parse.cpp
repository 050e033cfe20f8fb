// ParseFile: lex with the generated ANTLR lexer into compact tokens, split
// the token stream into declarations, parse each declaration with the
// generated parser, and build the AST from each parse tree. ANTLR types and
// exceptions never leave this file.
#include "compiler/parse/parse.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <exception>
#include <string>

#include "GovLexer.h"
#include "GovParser.h"
#include "antlr4-runtime.h"

namespace gov::parse {
namespace {

using gov_parser::GovLexer;
using gov_parser::GovParser;
using diagnostics::Kind;
using source::Span;

// A token of the file, reduced to what the parser needs; offsets in bytes.
struct LexToken {
  std::size_t type;
  std::uint32_t begin;
  std::uint32_t end;
};

// Token types of keywords that matter to the splitter, looked up by spelling.
struct KeywordTypes {
  std::size_t policy = 0, import = 0, const_ = 0, context = 0, def = 0, allow = 0, deny = 0, ask = 0, test = 0;
  std::size_t not_ = 0, any = 0, all = 0, if_ = 0, minus = 0, and_ = 0, or_ = 0, true_ = 0, false_ = 0, none = 0;
  std::vector<std::size_t> binary;  // binary operators other than and/or
  std::size_t lparen = 0, rparen = 0, lbracket = 0, rbracket = 0, lbrace = 0, rbrace = 0;

  static const KeywordTypes& Get() {
    static const KeywordTypes types = [] {
      KeywordTypes t;
      const antlr4::dfa::Vocabulary& vocabulary = GovLexer(nullptr).getVocabulary();
      auto find = [&](std::string_view literal) -> std::size_t {
        std::string quoted = fmt::format("'{}'", literal);
        for (std::size_t i = 0; i <= vocabulary.getMaxTokenType(); ++i) {
          if (vocabulary.getLiteralName(i) == quoted) return i;
        }
        return 0;
      };
      t.policy = find("policy"), t.import = find("import"), t.const_ = find("const"), t.context = find("context");
      t.def = find("def"), t.allow = find("allow"), t.deny = find("deny"), t.ask = find("ask"), t.test = find("test");
      t.not_ = find("not"), t.any = find("any"), t.all = find("all"), t.if_ = find("if"), t.minus = find("-");
      t.lparen = find("("), t.rparen = find(")"), t.lbracket = find("["), t.rbracket = find("]");
      t.lbrace = find("{"), t.rbrace = find("}");
      t.and_ = find("and"), t.or_ = find("or"), t.true_ = find("true"), t.false_ = find("false");
      t.none = find("none");
      for (std::string_view op : {"==", "!=", "<", "<=", ">", ">=", "in", "under", "matches", "??", "+", "-", "*",
                                  "/", "%", "not"}) {
        t.binary.push_back(find(op));
      }
      return t;
    }();
    return types;
  }

  bool StartsDeclaration(std::size_t type) const {
    return type == policy || type == import || type == const_ || type == context || type == def || type == allow ||
           type == deny || type == ask || type == test;
  }
  bool Opens(std::size_t type) const { return type == lparen || type == lbracket || type == lbrace; }
  bool Closes(std::size_t type) const { return type == rparen || type == rbracket || type == rbrace; }
  bool IsLogical(std::size_t type) const { return type == and_ || type == or_; }
  // `not` counts as binary after an operand (`x not in s`).
  bool IsBinary(std::size_t type) const { return std::find(binary.begin(), binary.end(), type) != binary.end(); }
  bool IsPrefixOperator(std::size_t type) const {
    return type == not_ || type == any || type == all || type == if_ || type == minus;
  }
};

// Human-readable name of a token type for "expected ..." messages.
std::string TokenDisplay(std::size_t type) {
  switch (type) {
    case antlr4::Token::EOF:
      return "end of file";
    case GovParser::IDENT:
      return "a name";
    case GovParser::STRING:
      return "a string";
    case GovParser::INT:
      return "an integer";
    case GovParser::DURATION:
      return "a duration";
    case GovParser::SIZE:
      return "a size";
    case GovParser::GLOB:
      return "a glob pattern";
    case GovParser::REGEX:
      return "a regex pattern";
    default:
      break;
  }
  static const antlr4::dfa::Vocabulary& vocabulary = GovLexer(nullptr).getVocabulary();
  std::string literal = vocabulary.getLiteralName(type);
  if (literal.size() >= 2 && literal.front() == '\'') return fmt::format("`{}`", literal.substr(1, literal.size() - 2));
  return vocabulary.getSymbolicName(type);
}

// Text of the EOF token that ends a declaration which is not the file's last.
constexpr const char* kEndOfDeclaration = "<end of declaration>";

// Raised by the error listener to stop parsing a declaration at its first error.
struct DeclarationAbandoned {};

// Scope strengths for the nesting measure (see NestsTooDeep).
constexpr int kUnaryScope = 1;
constexpr int kNotScope = 2;
constexpr int kBodyScope = 3;

// True when a token of this type can end an operand (so a following `-` is binary).
bool EndsOperand(std::size_t type) {
  const KeywordTypes& kw = KeywordTypes::Get();
  return type == GovParser::IDENT || type == GovParser::STRING || type == GovParser::INT ||
         type == GovParser::DURATION || type == GovParser::SIZE || type == GovParser::GLOB ||
         type == GovParser::REGEX || type == kw.rparen || type == kw.rbracket || type == kw.rbrace ||
         type == kw.true_ || type == kw.false_ || type == kw.none || type == kw.context;
}

class FirstErrorListener : public antlr4::BaseErrorListener {
 public:
  FirstErrorListener(diagnostics::Collector& diagnostics, source::FileId file, std::uint32_t file_size)
      : diagnostics_(diagnostics), file_(file), file_size_(file_size) {}

  void syntaxError(antlr4::Recognizer* recognizer, antlr4::Token* offending, size_t, size_t, const std::string&,
                   std::exception_ptr) override {
    Span span{file_, file_size_, file_size_};
    // The splitter marks the end of a declaration that is not the end of the file.
    std::string found = offending != nullptr && offending->getText() == kEndOfDeclaration ? "end of declaration"
                                                                                           : "end of file";
    if (offending != nullptr && offending->getType() != antlr4::Token::EOF) {
      span.begin = static_cast<std::uint32_t>(offending->getStartIndex());
      span.end = static_cast<std::uint32_t>(offending->getStopIndex() + 1);
      std::string text = offending->getText();
      if (text.size() > 40) text = text.substr(0, 37) + "...";
      found = fmt::format("`{}`", text);
    } else if (offending != nullptr) {
      span.begin = span.end = static_cast<std::uint32_t>(offending->getStartIndex());
    }
    std::vector<std::string> expected;
    if (auto* parser = dynamic_cast<antlr4::Parser*>(recognizer)) {
      try {
        for (ssize_t type : parser->getExpectedTokens().toList()) {
          if (type >= 0) expected.push_back(TokenDisplay(static_cast<std::size_t>(type)));
        }
      } catch (...) {
        expected.clear();
      }
    }
    std::sort(expected.begin(), expected.end());
    expected.erase(std::unique(expected.begin(), expected.end()), expected.end());
    std::string message = fmt::format("unexpected {}", found);
    if (!expected.empty() && expected.size() <= 6) {
      message += ", expected ";
      for (std::size_t i = 0; i < expected.size(); ++i) {
        message += i == 0 ? "" : (i + 1 == expected.size() ? " or " : ", ");
        message += expected[i];
      }
    }
    diagnostics_.Emit(Kind::kSyntaxError, span, std::move(message));
    throw DeclarationAbandoned{};
  }

 private:
  diagnostics::Collector& diagnostics_;
  source::FileId file_;
  std::uint32_t file_size_;
};

// Converts one declaration's parse tree into AST nodes.
class AstBuilder {
 public:
  AstBuilder(const source::SourceFile& source, source::FileId file, diagnostics::Collector& diagnostics,
             std::uint32_t& next_expr_id)
      : source_(source), file_(file), diagnostics_(diagnostics), next_expr_id_(next_expr_id) {}

  // Returns false when the declaration must be dropped (an error was reported).
  bool BuildDeclaration(GovParser::DeclarationContext* ctx, ast::Decl& out) {
    out.span = SpanOf(ctx);
    if (auto* header = ctx->policyHeader()) {
      out.node = BuildHeader(header);
    } else if (auto* import = ctx->importDecl()) {
      out.node = BuildImport(import);
    } else if (auto* constant = ctx->constDecl()) {
      out.node = BuildConst(constant);
    } else if (auto* context = ctx->contextDecl()) {
      out.node = BuildContext(context);
    } else if (auto* def = ctx->defDecl()) {
      out.node = BuildDef(def);
    } else if (auto* rule = ctx->ruleDecl()) {
      out.node = BuildRule(rule);
    } else if (auto* test = ctx->testDecl()) {
      out.node = BuildTest(test);
    } else {
      return false;
    }
    return !failed_;
  }

 private:
  Span SpanOf(antlr4::ParserRuleContext* ctx) const {
    antlr4::Token* start = ctx->getStart();
    antlr4::Token* stop = ctx->getStop();
    std::uint32_t begin = static_cast<std::uint32_t>(start->getStartIndex());
    std::uint32_t end = stop != nullptr && stop->getStopIndex() + 1 >= start->getStartIndex()
                            ? static_cast<std::uint32_t>(stop->getStopIndex() + 1)
                            : begin;
    return Span{file_, begin, end};
  }
  Span SpanOf(antlr4::Token* token) const {
    return Span{file_, static_cast<std::uint32_t>(token->getStartIndex()),
                static_cast<std::uint32_t>(token->getStopIndex() + 1)};
  }

  void Fail(Kind kind, Span span, std::string message) {
    diagnostics_.Emit(kind, span, std::move(message));
    failed_ = true;
  }

  // ------------------------------------------------------------ literals

  // Decodes a quoted literal (`"..."`, `g"..."`, `r"..."`) token.
  std::string DecodeString(antlr4::Token* token) {
    std::string raw = token->getText();
    std::size_t prefix = raw.front() == '"' ? 1 : 2;
    std::uint32_t base = static_cast<std::uint32_t>(token->getStartIndex());
    std::string out;
    out.reserve(raw.size());
    std::size_t end = raw.size() - 1;  // the closing quote
    for (std::size_t i = prefix; i < end; ++i) {
      char c = raw[i];
      if (c != '\\') {
        out.push_back(c);
        continue;
      }
      // Patterns keep their escapes: the pattern compiler interprets them.
      if (prefix == 2) {
        out.push_back(c);
        if (i + 1 < end) out.push_back(raw[++i]);
        continue;
      }
      Span escape_span{file_, base + static_cast<std::uint32_t>(i), base + static_cast<std::uint32_t>(i + 2)};
      char next = raw[i + 1];
      ++i;
      switch (next) {
        case '"': out.push_back('"'); break;
        case '\\': out.push_back('\\'); break;
        case 'n': out.push_back('\n'); break;
        case 't': out.push_back('\t'); break;
        case 'r': out.push_back('\r'); break;
        case 'u': {
          // \u{HHHH}: a Unicode scalar value.
          std::size_t close = raw.find('}', i);
          std::uint32_t code = 0;
          bool ok = i + 1 < end && raw[i + 1] == '{' && close != std::string::npos && close < end &&
                    close > i + 2 && close - i - 2 <= 6;
          if (ok) {
            auto [ptr, ec] = std::from_chars(raw.data() + i + 2, raw.data() + close, code, 16);
            ok = ec == std::errc() && ptr == raw.data() + close && code <= 0x10FFFF && !(code >= 0xD800 && code <= 0xDFFF) &&
                 code != 0;
          }
          if (!ok) {
            Fail(Kind::kInvalidEscape, escape_span,
                 "invalid `\\u` escape: write `\\u{HHHH}` with a non-zero Unicode scalar value");
            return out;
          }
          AppendUtf8(out, code);
          i = close;
          break;
        }
        default:
          Fail(Kind::kInvalidEscape, escape_span,
               fmt::format("unknown escape `\\{}`", next == '\0' ? std::string("\\0") : std::string(1, next)));
          return out;
      }
    }
    return out;
  }

  static void AppendUtf8(std::string& out, std::uint32_t code) {
    if (code < 0x80) {
      out.push_back(static_cast<char>(code));
    } else if (code < 0x800) {
      out.push_back(static_cast<char>(0xC0 | (code >> 6)));
      out.push_back(static_cast<char>(0x80 | (code & 0x3F)));
    } else if (code < 0x10000) {
      out.push_back(static_cast<char>(0xE0 | (code >> 12)));
      out.push_back(static_cast<char>(0x80 | ((code >> 6) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | (code & 0x3F)));
    } else {
      out.push_back(static_cast<char>(0xF0 | (code >> 18)));
      out.push_back(static_cast<char>(0x80 | ((code >> 12) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | ((code >> 6) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | (code & 0x3F)));
    }
  }

  // Parses the digits (with `_` separators) at the start of `text`.
  bool ParseDigits(std::string_view text, std::int64_t& value, std::size_t& consumed) {
    value = 0;
    consumed = 0;
    bool overflow = false;
    while (consumed < text.size() && (std::isdigit(static_cast<unsigned char>(text[consumed])) || text[consumed] == '_')) {
      char c = text[consumed++];
      if (c == '_') continue;
      if (value > (INT64_MAX - (c - '0')) / 10) overflow = true;
      if (!overflow) value = value * 10 + (c - '0');
    }
    return !overflow;
  }

  ast::ExprNode BuildNumber(antlr4::Token* token, std::size_t type) {
    std::string text = token->getText();
    std::int64_t digits = 0;
    std::size_t consumed = 0;
    if (!ParseDigits(text, digits, consumed)) {
      Fail(Kind::kNumberOutOfRange, SpanOf(token), fmt::format("`{}` does not fit in a 64-bit integer", text));
      return ast::IntLiteral{0, text};
    }
    std::string unit = text.substr(consumed);
    if (type == GovParser::INT) {
      // A number with an unknown suffix was reported by the lexer; the checker stays silent on it.
      return ast::IntLiteral{digits, text, consumed != text.size()};
    }
    struct Unit {
      std::string_view name;
      std::int64_t factor;
    };
    static constexpr Unit kDurations[] = {{"ms", 1}, {"s", 1000}, {"m", 60'000}, {"h", 3'600'000}, {"d", 86'400'000}};
    static constexpr Unit kSizes[] = {{"B", 1},
                                      {"KB", 1000},
                                      {"MB", 1000'000},
                                      {"GB", 1000'000'000},
                                      {"TB", 1000'000'000'000},
                                      {"KiB", 1LL << 10},
                                      {"MiB", 1LL << 20},
                                      {"GiB", 1LL << 30},
                                      {"TiB", 1LL << 40}};
    bool is_duration = type == GovParser::DURATION;
    const Unit* begin = is_duration ? std::begin(kDurations) : std::begin(kSizes);
    const Unit* end = is_duration ? std::end(kDurations) : std::end(kSizes);
    for (const Unit* u = begin; u != end; ++u) {
      if (u->name != unit) continue;
      if (digits > INT64_MAX / u->factor) {
        Fail(Kind::kNumberOutOfRange, SpanOf(token), fmt::format("`{}` is too large", text));
        return ast::IntLiteral{0, text};
      }
      if (is_duration) return ast::DurationLiteral{digits * u->factor, text};
      return ast::SizeLiteral{digits * u->factor, text};
    }
    Fail(Kind::kUnknownUnit, SpanOf(token), fmt::format("unknown unit in `{}`", text));
    return ast::IntLiteral{0, text};
  }

  // ------------------------------------------------------------ expressions

  ast::ExprPtr Make(Span span, ast::ExprNode node) {
    auto expr = std::make_unique<ast::Expr>();
    expr->id = next_expr_id_++;
    expr->span = span;
    expr->node = std::move(node);
    int depth = 0;
    ast::ForEachChild(*expr, [&](const ast::Expr& child) { depth = std::max(depth, DepthOf(child)); });
    depth += 1;
    if (depth > ast::kMaxExprDepth && !depth_reported_) {
      depth_reported_ = true;
      Fail(Kind::kNestingTooDeep, span,
           fmt::format("expression nests more than {} levels deep", ast::kMaxExprDepth));
    }
    depths_[expr.get()] = depth;
    return expr;
  }

  int DepthOf(const ast::Expr& expr) const {
    auto it = depths_.find(&expr);
    return it == depths_.end() ? 1 : it->second;
  }

  ast::ExprPtr BuildExpr(GovParser::ExprContext* ctx) { return BuildOr(ctx->orExpr()); }

  ast::ExprPtr BuildOr(GovParser::OrExprContext* ctx) {
    auto parts = ctx->andExpr();
    if (parts.size() == 1) return BuildAnd(parts[0]);
    ast::Logical logical{ast::LogicalOp::kOr, {}};
    for (auto* part : parts) logical.operands.push_back(BuildAnd(part));
    return Make(SpanOf(ctx), std::move(logical));
  }

  ast::ExprPtr BuildAnd(GovParser::AndExprContext* ctx) {
    auto parts = ctx->notExpr();
    if (parts.size() == 1) return BuildNot(parts[0]);
    ast::Logical logical{ast::LogicalOp::kAnd, {}};
    for (auto* part : parts) logical.operands.push_back(BuildNot(part));
    return Make(SpanOf(ctx), std::move(logical));
  }

  ast::ExprPtr BuildNot(GovParser::NotExprContext* ctx) {
    if (auto* negation = dynamic_cast<GovParser::NegationExprContext*>(ctx)) {
      return Make(SpanOf(ctx), ast::Unary{ast::UnaryOp::kNot, BuildNot(negation->notExpr())});
    }
    if (auto* quantified = dynamic_cast<GovParser::QuantifierExprContext*>(ctx)) {
      ast::Quantified node;
      node.quantifier = quantified->quantifier->getText() == "any" ? ast::Quantifier::kAny : ast::Quantifier::kAll;
      node.var = quantified->var->getText();
      node.var_span = SpanOf(quantified->var);
      node.domain = BuildExpr(quantified->domain);
      node.body = BuildExpr(quantified->body);
      return Make(SpanOf(ctx), std::move(node));
    }
    if (auto* conditional = dynamic_cast<GovParser::IfExprContext*>(ctx)) {
      return Make(SpanOf(ctx), ast::Conditional{BuildExpr(conditional->cond), BuildExpr(conditional->then),
                                                BuildExpr(conditional->otherwise)});
    }
    auto* plain = dynamic_cast<GovParser::ComparisonOnlyContext*>(ctx);
    return BuildCompare(plain->compareExpr());
  }

  ast::ExprPtr BuildCompare(GovParser::CompareExprContext* ctx) {
    ast::ExprPtr lhs = BuildCoalesce(ctx->lhs);
    if (ctx->op == nullptr) return lhs;
    std::string op = ctx->op->getText();
    ast::BinaryOp binary = ast::BinaryOp::kEq;
    if (op == "==") binary = ast::BinaryOp::kEq;
    else if (op == "!=") binary = ast::BinaryOp::kNe;
    else if (op == "<") binary = ast::BinaryOp::kLt;
    else if (op == "<=") binary = ast::BinaryOp::kLe;
    else if (op == ">") binary = ast::BinaryOp::kGt;
    else if (op == ">=") binary = ast::BinaryOp::kGe;
    else if (op == "in") binary = ast::BinaryOp::kIn;
    else if (op == "notin") binary = ast::BinaryOp::kNotIn;
    else if (op == "under") binary = ast::BinaryOp::kUnder;
    else if (op == "matches") binary = ast::BinaryOp::kMatches;
    ast::ExprPtr rhs = BuildCoalesce(ctx->rhs);
    return Make(SpanOf(ctx), ast::Binary{binary, std::move(lhs), std::move(rhs), SpanOf(ctx->op)});
  }

  template <typename Operand, typename BuildOperand>
  ast::ExprPtr FoldLeft(antlr4::ParserRuleContext* ctx, const std::vector<Operand*>& operands,
                        BuildOperand build_operand) {
    ast::ExprPtr result = build_operand(operands[0]);
    // Operators sit between operands among the children: operand op operand op ...
    std::size_t operand_index = 1;
    for (std::size_t i = 1; i + 1 < ctx->children.size(); i += 2) {
      auto* op_tree = ctx->children[i];
      std::string op = op_tree->getText();
      ast::BinaryOp binary = ast::BinaryOp::kAdd;
      if (op == "+") binary = ast::BinaryOp::kAdd;
      else if (op == "-") binary = ast::BinaryOp::kSub;
      else if (op == "*") binary = ast::BinaryOp::kMul;
      else if (op == "/") binary = ast::BinaryOp::kDiv;
      else if (op == "%") binary = ast::BinaryOp::kMod;
      else if (op == "??") binary = ast::BinaryOp::kCoalesce;
      Span op_span;
      if (auto* rule = dynamic_cast<antlr4::ParserRuleContext*>(op_tree)) {
        op_span = SpanOf(rule);
      } else if (auto* terminal = dynamic_cast<antlr4::tree::TerminalNode*>(op_tree)) {
        op_span = SpanOf(terminal->getSymbol());
      }
      ast::ExprPtr rhs = build_operand(operands[operand_index++]);
      Span span = result->span.Join(rhs->span);
      result = Make(span, ast::Binary{binary, std::move(result), std::move(rhs), op_span});
      // Past the depth cap the declaration is dropped; stop before the chain
      // grows deep enough to make even its destruction recurse too far.
      if (depth_reported_) break;
    }
    return result;
  }

  ast::ExprPtr BuildCoalesce(GovParser::CoalesceExprContext* ctx) {
    return FoldLeft(ctx, ctx->additiveExpr(), [this](auto* c) { return BuildAdditive(c); });
  }
  ast::ExprPtr BuildAdditive(GovParser::AdditiveExprContext* ctx) {
    return FoldLeft(ctx, ctx->multiplicativeExpr(), [this](auto* c) { return BuildMultiplicative(c); });
  }
  ast::ExprPtr BuildMultiplicative(GovParser::MultiplicativeExprContext* ctx) {
    return FoldLeft(ctx, ctx->unaryExpr(), [this](auto* c) { return BuildUnary(c); });
  }

  ast::ExprPtr BuildUnary(GovParser::UnaryExprContext* ctx) {
    if (auto* negate = dynamic_cast<GovParser::NegateExprContext*>(ctx)) {
      return Make(SpanOf(ctx), ast::Unary{ast::UnaryOp::kNegate, BuildUnary(negate->unaryExpr())});
    }
    auto* postfix = dynamic_cast<GovParser::PostfixOnlyContext*>(ctx);
    return BuildPostfix(postfix->postfixExpr());
  }

  std::vector<ast::ExprPtr> BuildArguments(GovParser::ArgumentsContext* ctx) {
    std::vector<ast::ExprPtr> out;
    if (ctx == nullptr) return out;
    for (auto* e : ctx->expr()) out.push_back(BuildExpr(e));
    return out;
  }

  ast::ExprPtr BuildPostfix(GovParser::PostfixExprContext* ctx) {
    ast::ExprPtr result = BuildPrimary(ctx->primary());
    for (auto* postfix : ctx->postfix()) {
      Span span = result->span.Join(SpanOf(postfix));
      if (auto* member = dynamic_cast<GovParser::MemberPostfixContext*>(postfix)) {
        bool is_call = member->children.size() > 2;
        if (is_call) {
          result = Make(span, ast::MethodCall{std::move(result), member->name->getText(), SpanOf(member->name),
                                              BuildArguments(member->arguments())});
        } else {
          result = Make(span, ast::Member{std::move(result), member->name->getText(), SpanOf(member->name)});
        }
      } else if (auto* index = dynamic_cast<GovParser::IndexPostfixContext*>(postfix)) {
        result = Make(span, ast::Index{std::move(result), BuildExpr(index->index)});
      }
    }
    return result;
  }

  ast::ExprPtr BuildRecordLiteral(GovParser::RecordLiteralContext* ctx) {
    ast::RecordLiteral record;
    for (auto* field : ctx->recordField()) {
      record.fields.push_back(
          ast::RecordLiteralField{field->name->getText(), SpanOf(field->name), BuildExpr(field->value)});
    }
    return Make(SpanOf(ctx), std::move(record));
  }

  ast::ExprPtr BuildPrimary(GovParser::PrimaryContext* ctx) {
    Span span = SpanOf(ctx);
    if (auto* s = dynamic_cast<GovParser::StringLiteralContext*>(ctx)) {
      return Make(span, ast::StringLiteral{DecodeString(s->STRING()->getSymbol())});
    }
    if (auto* g = dynamic_cast<GovParser::GlobLiteralContext*>(ctx)) {
      return Make(span, ast::PatternLiteral{ast::PatternSyntax::kGlob, DecodeString(g->GLOB()->getSymbol())});
    }
    if (auto* r = dynamic_cast<GovParser::RegexLiteralContext*>(ctx)) {
      return Make(span, ast::PatternLiteral{ast::PatternSyntax::kRegex, DecodeString(r->REGEX()->getSymbol())});
    }
    if (auto* i = dynamic_cast<GovParser::IntLiteralContext*>(ctx)) {
      return Make(span, BuildNumber(i->INT()->getSymbol(), GovParser::INT));
    }
    if (auto* d = dynamic_cast<GovParser::DurationLiteralContext*>(ctx)) {
      return Make(span, BuildNumber(d->DURATION()->getSymbol(), GovParser::DURATION));
    }
    if (auto* z = dynamic_cast<GovParser::SizeLiteralContext*>(ctx)) {
      return Make(span, BuildNumber(z->SIZE()->getSymbol(), GovParser::SIZE));
    }
    if (dynamic_cast<GovParser::BoolLiteralContext*>(ctx) != nullptr) {
      return Make(span, ast::BoolLiteral{ctx->getText() == "true"});
    }
    if (dynamic_cast<GovParser::NoneLiteralContext*>(ctx) != nullptr) {
      return Make(span, ast::NoneLiteral{});
    }
    if (auto* call = dynamic_cast<GovParser::CallExprContext*>(ctx)) {
      return Make(span, ast::Call{call->name->getText(), SpanOf(call->name), BuildArguments(call->arguments())});
    }
    if (auto* name = dynamic_cast<GovParser::NameExprContext*>(ctx)) {
      return Make(span, ast::NameRef{name->IDENT()->getText()});
    }
    if (dynamic_cast<GovParser::ContextExprContext*>(ctx) != nullptr) {
      return Make(span, ast::NameRef{"context"});
    }
    if (auto* paren = dynamic_cast<GovParser::ParenExprContext*>(ctx)) {
      return BuildExpr(paren->expr());
    }
    if (auto* list = dynamic_cast<GovParser::ListLiteralContext*>(ctx)) {
      return Make(span, ast::ListLiteral{BuildArguments(list->arguments())});
    }
    if (auto* set = dynamic_cast<GovParser::SetLiteralContext*>(ctx)) {
      return Make(span, ast::SetLiteral{BuildArguments(set->arguments())});
    }
    auto* record = dynamic_cast<GovParser::RecordLiteralExprContext*>(ctx);
    return BuildRecordLiteral(record->recordLiteral());
  }

  // ------------------------------------------------------------ types

  ast::TypeExprPtr BuildType(GovParser::TypeContext* ctx) {
    auto type = std::make_unique<ast::TypeExpr>();
    type->span = SpanOf(ctx);
    type->optional = ctx->optional != nullptr;
    if (auto* named = dynamic_cast<GovParser::NamedTypeContext*>(ctx->base)) {
      ast::NamedTypeExpr node;
      node.name = named->name->getText();
      for (auto* arg : named->type()) node.args.push_back(BuildType(arg));
      type->node = std::move(node);
    } else if (auto* record = dynamic_cast<GovParser::RecordTypeContext*>(ctx->base)) {
      ast::RecordTypeExpr node;
      for (auto* field : record->recordTypeField()) {
        node.fields.push_back(ast::RecordTypeFieldExpr{field->name->getText(), SpanOf(field->name),
                                                       BuildType(field->type())});
      }
      type->node = std::move(node);
    }
    return type;
  }

  // ------------------------------------------------------------ declarations

  ast::PolicyHeader BuildHeader(GovParser::PolicyHeaderContext* ctx) {
    ast::PolicyHeader header;
    header.span = SpanOf(ctx);
    header.name = ctx->name->getText();
    header.name_span = SpanOf(ctx->name);
    if (ctx->version != nullptr) header.version = DecodeString(ctx->version);
    return header;
  }

  ast::Import BuildImport(GovParser::ImportDeclContext* ctx) {
    ast::Import import;
    import.span = SpanOf(ctx);
    if (ctx->path != nullptr) {
      import.is_file = true;
      import.target = DecodeString(ctx->path);
      import.target_span = SpanOf(ctx->path);
    } else {
      import.target = ctx->module->getText();
      import.target_span = SpanOf(ctx->module);
    }
    if (ctx->alias != nullptr) import.alias = ctx->alias->getText();
    return import;
  }

  ast::ConstDecl BuildConst(GovParser::ConstDeclContext* ctx) {
    ast::ConstDecl decl;
    decl.span = SpanOf(ctx);
    decl.name = ctx->name->getText();
    decl.name_span = SpanOf(ctx->name);
    decl.type = BuildType(ctx->type());
    decl.value = BuildExpr(ctx->value);
    return decl;
  }

  ast::ContextDecl BuildContext(GovParser::ContextDeclContext* ctx) {
    ast::ContextDecl decl;
    decl.span = SpanOf(ctx);
    for (auto* field : ctx->contextField()) {
      decl.fields.push_back(
          ast::ContextField{SpanOf(field), field->name->getText(), SpanOf(field->name), BuildType(field->type())});
    }
    return decl;
  }

  ast::DefDecl BuildDef(GovParser::DefDeclContext* ctx) {
    ast::DefDecl decl;
    decl.span = SpanOf(ctx);
    decl.name = ctx->name->getText();
    decl.name_span = SpanOf(ctx->name);
    for (auto* param : ctx->param()) {
      decl.params.push_back(ast::Param{param->name->getText(), SpanOf(param->name), BuildType(param->type())});
    }
    decl.result = BuildType(ctx->result);
    decl.body = BuildExpr(ctx->body);
    return decl;
  }

  static ast::Verdict VerdictOf(antlr4::Token* token) {
    std::string text = token->getText();
    if (text == "allow") return ast::Verdict::kAllow;
    if (text == "ask") return ast::Verdict::kAsk;
    return ast::Verdict::kDeny;
  }

  ast::Rule BuildRule(GovParser::RuleDeclContext* ctx) {
    ast::Rule rule;
    rule.span = SpanOf(ctx);
    rule.verdict = VerdictOf(ctx->verdict);
    rule.name = ctx->name->getText();
    rule.name_span = SpanOf(ctx->name);
    rule.condition = BuildExpr(ctx->condition);
    if (ctx->reason != nullptr) {
      rule.reason = DecodeString(ctx->reason);
      rule.reason_span = SpanOf(ctx->reason);
    }
    for (auto* child : ctx->children) {
      if (child->getText() == "with") rule.has_with = true;
    }
    for (auto* obligation : ctx->obligation()) {
      ast::Obligation out;
      out.span = SpanOf(obligation);
      out.name = obligation->name->getText();
      out.name_span = SpanOf(obligation->name);
      if (obligation->anyValue != nullptr) {
        out.value = Make(SpanOf(obligation->anyValue), ast::NameRef{"any"});
      } else {
        out.value = BuildExpr(obligation->value);
      }
      rule.obligations.push_back(std::move(out));
    }
    return rule;
  }

  ast::TestBlock BuildTest(GovParser::TestDeclContext* ctx) {
    static constexpr std::string_view kModifiers[] = {"cwd", "host", "sha256", "time",
                                                      "context", "env", "user", "parent"};
    ast::TestBlock block;
    block.span = SpanOf(ctx);
    block.name = DecodeString(ctx->name);
    for (auto* c : ctx->testCase()) {
      ast::TestCase test;
      test.span = SpanOf(c);
      test.argv = BuildExpr(c->argv);
      for (auto* m : c->testModifier()) {
        ast::TestModifier modifier;
        modifier.span = SpanOf(m);
        modifier.kind = m->kind->getText();
        modifier.kind_span = SpanOf(m->kind);
        modifier.value = BuildExpr(m->value);
        if (std::find(std::begin(kModifiers), std::end(kModifiers), modifier.kind) == std::end(kModifiers)) {
          Fail(Kind::kUnknownTestModifier, modifier.kind_span,
               fmt::format("unknown test modifier `{}`", modifier.kind));
          diagnostics_.mutable_diagnostics().back().help =
              "a test case accepts `cwd`, `env`, `user`, `host`, `time`, `sha256`, `context` and `parent`";
        }
        test.modifiers.push_back(std::move(modifier));
      }
      test.expected = VerdictOf(c->verdict);
      test.expected_span = SpanOf(c->verdict);
      for (auto* rule : c->IDENT()) {
        test.by_rules.push_back(rule->getText());
        test.by_spans.push_back(SpanOf(rule->getSymbol()));
      }
      block.cases.push_back(std::move(test));
    }
    return block;
  }

  const source::SourceFile& source_;
  source::FileId file_;
  diagnostics::Collector& diagnostics_;
  std::uint32_t& next_expr_id_;
  std::unordered_map<const ast::Expr*, int> depths_;
  bool failed_ = false;
  bool depth_reported_ = false;
};

// Maps code-point indices (ANTLR's) to byte offsets; identity for ASCII text.
class OffsetMap {
 public:
  // `text` starts at byte `base` of the file.
  OffsetMap(std::string_view text, std::uint32_t base) : base_(base) {
    bool ascii = std::all_of(text.begin(), text.end(), [](char c) { return static_cast<unsigned char>(c) < 0x80; });
    if (ascii) return;
    for (std::uint32_t i = 0; i < text.size(); ++i) {
      if ((static_cast<unsigned char>(text[i]) & 0xC0) != 0x80) byte_of_.push_back(i);
    }
    byte_of_.push_back(static_cast<std::uint32_t>(text.size()));
  }
  std::uint32_t ToByte(std::size_t code_point) const {
    if (byte_of_.empty()) return base_ + static_cast<std::uint32_t>(code_point);
    return base_ + byte_of_[std::min(code_point, byte_of_.size() - 1)];
  }

 private:
  std::uint32_t base_;
  std::vector<std::uint32_t> byte_of_;
};

class FileParser {
 public:
  FileParser(const source::SourceManager& sources, source::FileId file, diagnostics::Collector& diagnostics)
      : source_(sources.file(file)), file_id_(file), diagnostics_(diagnostics) {}

  ast::File Run() {
    ast::File out;
    out.file_id = file_id_;
    const std::string& text = source_.text();
    std::size_t invalid = source::FindInvalidUtf8(text);
    if (invalid != std::string::npos) {
      diagnostics_.Emit(Kind::kInvalidUtf8, Span{file_id_, static_cast<std::uint32_t>(invalid),
                                                 static_cast<std::uint32_t>(invalid + 1)},
                        fmt::format("byte 0x{:02x} at offset {} is not valid UTF-8; policy files must be UTF-8",
                                    static_cast<unsigned char>(text[invalid]), invalid));
      out.had_errors = true;
      return out;
    }
    std::vector<LexToken> tokens = Lex(out);
    ParseDeclarations(tokens, out);
    out.had_errors = errors_ > 0;
    return out;
  }

 private:
  bool TooManyErrors(std::uint32_t at) {
    if (errors_ <= kMaxErrorsPerFile) return false;
    if (!gave_up_) {
      gave_up_ = true;
      diagnostics_.Emit(Kind::kTooManyErrors, Span{file_id_, at, at},
                        fmt::format("more than {} syntax errors in this file; the rest is not checked",
                                    kMaxErrorsPerFile));
    }
    return true;
  }

  std::vector<LexToken> Lex(ast::File& out) {
    const std::string& text = source_.text();
    // A UTF-8 byte-order mark is skipped; offsets stay those of the whole file.
    std::uint32_t bom = text.rfind("\xEF\xBB\xBF", 0) == 0 ? 3 : 0;
    std::string_view body = std::string_view(text).substr(bom);
    OffsetMap offsets(body, bom);
    std::vector<LexToken> tokens;
    antlr4::ANTLRInputStream input(body.data(), body.size());
    GovLexer lexer(&input);
    lexer.removeErrorListeners();
    try {
      for (;;) {
        std::unique_ptr<antlr4::Token> token = lexer.nextToken();
        std::size_t type = token->getType();
        if (type == antlr4::Token::EOF) break;
        std::uint32_t begin = offsets.ToByte(token->getStartIndex());
        std::uint32_t end = offsets.ToByte(token->getStopIndex() + 1);
        Span span{file_id_, begin, end};
        switch (type) {
          case GovLexer::WS:
            continue;
          case GovLexer::LINE_COMMENT:
          case GovLexer::BLOCK_COMMENT: {
            bool own_line = true;
            for (std::uint32_t i = begin; i > 0 && text[i - 1] != '\n'; --i) {
              if (text[i - 1] != ' ' && text[i - 1] != '\t') {
                own_line = false;
                break;
              }
            }
            out.comments.push_back(ast::Comment{span, std::string(text.substr(begin, end - begin)), own_line});
            continue;
          }
          case GovLexer::UNTERMINATED_COMMENT:
            ++errors_;
            diagnostics_.Emit(Kind::kUnterminatedComment, Span{file_id_, begin, begin + 2},
                              "block comment is never closed with `*/`");
            return tokens;
          case GovLexer::UNTERMINATED_STRING:
            ++errors_;
            diagnostics_.Emit(Kind::kUnterminatedString, span, "string literal is not closed before the end of the line");
            // Parse on as if it were closed so later errors are still found.
            type = text[begin] == 'g' ? GovLexer::GLOB : text[begin] == 'r' ? GovLexer::REGEX : GovLexer::STRING;
            break;
          case GovLexer::ERRCHAR: {
            ++errors_;
            std::string_view ch = std::string_view(text).substr(begin, end - begin);
            unsigned char first = static_cast<unsigned char>(ch.empty() ? 0 : ch[0]);
            std::string shown = first < 0x20 || first == 0x7f ? fmt::format("\\x{:02x}", first) : std::string(ch);
            diagnostics_.Emit(Kind::kInvalidCharacter, span, fmt::format("unexpected character `{}`", shown));
            if (TooManyErrors(end)) return tokens;
            continue;
          }
          case GovLexer::BAD_NUMBER: {
            ++errors_;
            diagnostics_.Emit(Kind::kUnknownUnit, span,
                              fmt::format("unknown unit or suffix in `{}`", text.substr(begin, end - begin)))
                .help = "durations use ms, s, m, h, d; sizes use B, KB, MB, GB, TB, KiB, MiB, GiB, TiB";
            if (TooManyErrors(end)) return tokens;
            type = GovLexer::INT;
            break;
          }
          default:
            break;
        }
        if (tokens.size() >= kMaxFileTokens) {
          diagnostics_.Emit(Kind::kTooLarge, span,
                            fmt::format("policy file has more than {} tokens; it is not checked further",
                                        kMaxFileTokens));
          ++errors_;
          return tokens;
        }
        tokens.push_back(LexToken{type, begin, end});
      }
    } catch (const std::exception& e) {
      diagnostics_.Emit(Kind::kInvalidCharacter, Span{file_id_, 0, 0}, fmt::format("the lexer failed: {}", e.what()));
    } catch (...) {
      diagnostics_.Emit(Kind::kInvalidCharacter, Span{file_id_, 0, 0}, "the lexer failed");
    }
    return tokens;
  }

  // Splits tokens into declarations: a declaration keyword at bracket depth
  // zero, or in the first column of a line, starts a new one.
  std::vector<std::pair<std::size_t, std::size_t>> Split(const std::vector<LexToken>& tokens) {
    const KeywordTypes& kw = KeywordTypes::Get();
    const std::string& text = source_.text();
    std::vector<std::pair<std::size_t, std::size_t>> chunks;
    std::size_t start = 0;
    long depth = 0;
    for (std::size_t i = 0; i < tokens.size(); ++i) {
      const LexToken& t = tokens[i];
      bool column_zero = t.begin == 0 || text[t.begin - 1] == '\n';
      bool starts = kw.StartsDeclaration(t.type) && (depth <= 0 || column_zero);
      if (t.type == kw.context) {
        // `context` starts a declaration only as `context {` (else it is `context.field`).
        starts = starts && i + 1 < tokens.size() && tokens[i + 1].type == kw.lbrace && (depth <= 0 || column_zero);
      }
      if (starts) {
        if (i > start) chunks.emplace_back(start, i);
        start = i;
        depth = 0;
      }
      if (kw.Opens(t.type)) ++depth;
      if (kw.Closes(t.type)) --depth;
    }
    if (start < tokens.size()) chunks.emplace_back(start, tokens.size());
    return chunks;
  }

  // Remembers the name a dropped declaration would have declared, so the
  // checker does not report its uses as undeclared (a follow-on error).
  void RecordDropped(const std::vector<LexToken>& tokens, std::size_t begin, std::size_t end, ast::File& out) {
    const KeywordTypes& kw = KeywordTypes::Get();
    std::size_t type = tokens[begin].type;
    bool named = type == kw.allow || type == kw.deny || type == kw.ask || type == kw.const_ || type == kw.def;
    if (named && begin + 1 < end && tokens[begin + 1].type == GovLexer::IDENT) {
      const LexToken& name = tokens[begin + 1];
      out.dropped_names.push_back(source_.text().substr(name.begin, name.end - name.begin));
    }
    if (type == kw.context) out.dropped_context = true;
  }

  // Reports (and returns true) when brackets plus prefix operators nest too deep.
  bool NestsTooDeep(const std::vector<LexToken>& tokens, std::size_t begin, std::size_t end) {
    const KeywordTypes& kw = KeywordTypes::Get();
    // Per bracket level, the open prefix operators, each with the binding
    // strength of the operators that end its operand: `-x` ends at any binary
    // operator, `not x` at `and`/`or`, quantifiers and `if` at the bracket.
    std::vector<std::vector<int>> open{{}};
    int total = 0;
    auto close_scopes = [&](int strength) {
      std::vector<int>& scopes = open.back();
      while (!scopes.empty() && scopes.back() <= strength) {
        scopes.pop_back();
        --total;
      }
    };
    for (std::size_t i = begin; i < end; ++i) {
      std::size_t type = tokens[i].type;
      bool after_operand = i > begin && EndsOperand(tokens[i - 1].type);
      if (kw.Opens(type)) {
        open.emplace_back();
        ++total;
      } else if (kw.Closes(type) && open.size() > 1) {
        total -= static_cast<int>(open.back().size()) + 1;
        open.pop_back();
      } else if (type == kw.minus && !after_operand) {
        open.back().push_back(kUnaryScope);
        ++total;
      } else if (type == kw.not_ && !after_operand) {
        open.back().push_back(kNotScope);
        ++total;
      } else if (type == kw.any || type == kw.all || type == kw.if_) {
        open.back().push_back(kBodyScope);
        ++total;
      } else if (kw.IsLogical(type)) {
        close_scopes(kNotScope);
      } else if (after_operand && kw.IsBinary(type)) {
        close_scopes(kUnaryScope);
      }
      if (total > kMaxTokenNesting) {
        diagnostics_.Emit(Kind::kNestingTooDeep, Span{file_id_, tokens[i].begin, tokens[i].end},
                          fmt::format("expression nests more than {} levels deep", kMaxTokenNesting))
            .help = "split the expression with `def` functions or constants";
        return true;
      }
    }
    return false;
  }

  void ParseDeclarations(const std::vector<LexToken>& tokens, ast::File& out) {
    const std::string& text = source_.text();
    std::uint32_t file_size = static_cast<std::uint32_t>(text.size());
    for (auto [begin, end] : Split(tokens)) {
      if (TooManyErrors(tokens[begin].begin)) return;
      if (NestsTooDeep(tokens, begin, end)) {
        ++errors_;
        continue;
      }
      if (end - begin > kMaxDeclTokens) {
        ++errors_;
        diagnostics_.Emit(Kind::kTooLarge, Span{file_id_, tokens[begin].begin, tokens[begin].end},
                          fmt::format("declaration has more than {} tokens", kMaxDeclTokens));
        continue;
      }
      std::vector<std::unique_ptr<antlr4::Token>> chunk;
      chunk.reserve(end - begin + 1);
      for (std::size_t i = begin; i < end; ++i) {
        const LexToken& t = tokens[i];
        auto token = std::make_unique<antlr4::CommonToken>(t.type, text.substr(t.begin, t.end - t.begin));
        token->setStartIndex(t.begin);
        token->setStopIndex(static_cast<ssize_t>(t.end) - 1);
        chunk.push_back(std::move(token));
      }
      // The end of a declaration sits right after its last token.
      std::uint32_t eof_at = tokens[end - 1].end;
      auto eof = std::make_unique<antlr4::CommonToken>(antlr4::Token::EOF,
                                                       end < tokens.size() ? kEndOfDeclaration : "<EOF>");
      eof->setStartIndex(eof_at);
      eof->setStopIndex(static_cast<ssize_t>(eof_at) - 1);
      chunk.push_back(std::move(eof));

      antlr4::ListTokenSource token_source(std::move(chunk));
      antlr4::CommonTokenStream stream(&token_source);
      GovParser parser(&stream);
      parser.removeErrorListeners();
      FirstErrorListener listener(diagnostics_, file_id_, file_size);
      parser.addErrorListener(&listener);
      try {
        GovParser::SingleDeclarationContext* tree = parser.singleDeclaration();
        ast::Decl decl;
        AstBuilder builder(source_, file_id_, diagnostics_, out.expr_count);
        if (builder.BuildDeclaration(tree->declaration(), decl)) {
          out.decls.push_back(std::move(decl));
        } else {
          ++errors_;
          RecordDropped(tokens, begin, end, out);
        }
      } catch (const DeclarationAbandoned&) {
        ++errors_;
        RecordDropped(tokens, begin, end, out);
      } catch (const std::exception& e) {
        ++errors_;
        diagnostics_.Emit(Kind::kSyntaxError, Span{file_id_, tokens[begin].begin, tokens[begin].end},
                          fmt::format("the parser failed on this declaration: {}", e.what()));
      } catch (...) {
        ++errors_;
        diagnostics_.Emit(Kind::kSyntaxError, Span{file_id_, tokens[begin].begin, tokens[begin].end},
                          "the parser failed on this declaration");
      }
    }
  }

  const source::SourceFile& source_;
  source::FileId file_id_;
  diagnostics::Collector& diagnostics_;
  std::size_t errors_ = 0;
  bool gave_up_ = false;
};

}  // namespace

ast::File ParseFile(const source::SourceManager& sources, source::FileId file, diagnostics::Collector& diagnostics) {
  return FileParser(sources, file, diagnostics).Run();
}

}  // namespace gov::parse
