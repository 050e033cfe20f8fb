// ParseFile: lex (compiler/parse/lexer.h, equivalent to the grammar's lexer
// rules) into compact tokens, split the token stream into declarations,
// parse each declaration with the generated ANTLR parser, and build the AST
// from each parse tree. ANTLR types and exceptions never leave this file.
//
// Speed (docs/architecture.md, "Parser performance"): one parser and one
// token stream serve every declaration of a file; the parser builds no child
// lists (the AST builder reads labelled fields); each declaration is parsed
// in SLL prediction mode first and again in full LL mode only when SLL fails
// (ANTLR guarantees SLL either yields the LL tree or a syntax error); the AST
// builder reads token types and source slices, never ParseTree::getText().
#include "compiler/parse/parse.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <exception>
#include <set>
#include <stdexcept>
#include <string>

#include "GovLexer.h"
#include "GovParser.h"
#include "antlr4-runtime.h"
#include "compiler/diagnostics/suggest.h"
#include "compiler/parse/lexer.h"

namespace gov::parse {
namespace {

using gov_parser::GovLexer;
using gov_parser::GovParser;
using diagnostics::Kind;
using source::Span;

// Token types of the literal tokens the parser phases look at, found by spelling.
struct KeywordTypes {
  std::size_t policy = 0, import = 0, const_ = 0, context = 0, def = 0, allow = 0, deny = 0, ask = 0, test = 0;
  std::size_t default_ = 0, command = 0;
  std::size_t not_ = 0, any = 0, all = 0, if_ = 0, minus = 0, and_ = 0, or_ = 0, true_ = 0, false_ = 0, none = 0;
  std::size_t with = 0, plus = 0, star = 0, slash = 0, percent = 0, coalesce = 0;
  std::size_t eq = 0, ne = 0, lt = 0, le = 0, gt = 0, ge = 0, in = 0, under = 0, matches = 0;
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
      t.default_ = find("default"), t.command = find("command");
      t.not_ = find("not"), t.any = find("any"), t.all = find("all"), t.if_ = find("if"), t.minus = find("-");
      t.lparen = find("("), t.rparen = find(")"), t.lbracket = find("["), t.rbracket = find("]");
      t.lbrace = find("{"), t.rbrace = find("}");
      t.and_ = find("and"), t.or_ = find("or"), t.true_ = find("true"), t.false_ = find("false");
      t.none = find("none"), t.with = find("with");
      t.plus = find("+"), t.star = find("*"), t.slash = find("/"), t.percent = find("%"), t.coalesce = find("??");
      t.eq = find("=="), t.ne = find("!="), t.lt = find("<"), t.le = find("<="), t.gt = find(">"), t.ge = find(">=");
      t.in = find("in"), t.under = find("under"), t.matches = find("matches");
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
           type == deny || type == ask || type == test || type == default_ || type == command;
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

// A token of the file: its type and byte range. It is also the ANTLR token
// the parser reads, so the file's tokens are allocated once; `index` is its
// position in the declaration being parsed (see TokenWindow).
class GovToken final : public antlr4::Token {
 public:
  GovToken(std::size_t token_type, std::uint32_t begin_offset, std::uint32_t end_offset, const std::string* text)
      : type(token_type), begin(begin_offset), end(end_offset), text_(text) {}

  std::size_t type;
  std::uint32_t begin;
  std::uint32_t end;
  std::size_t index = 0;

  std::string getText() const override {
    if (type == EOF) return "<EOF>";
    return text_->substr(begin, end - begin);
  }
  std::size_t getType() const override { return type; }
  std::size_t getLine() const override { return 0; }
  std::size_t getCharPositionInLine() const override { return 0; }
  std::size_t getChannel() const override { return DEFAULT_CHANNEL; }
  std::size_t getTokenIndex() const override { return index; }
  std::size_t getStartIndex() const override { return begin; }
  // For the end-of-input token (empty) this is begin - 1, as ANTLR's own.
  std::size_t getStopIndex() const override { return static_cast<std::size_t>(end) - 1; }
  antlr4::TokenSource* getTokenSource() const override;
  antlr4::CharStream* getInputStream() const override { return nullptr; }
  std::string toString() const override { return getText(); }

 private:
  const std::string* text_;
};

// The token source GovToken reports; ANTLR asks it for a token factory only
// while recovering from errors, which this parser never does (see
// FirstErrorListener), but it must exist.
class NoTokenSource final : public antlr4::TokenSource {
 public:
  std::unique_ptr<antlr4::Token> nextToken() override {
    return std::make_unique<antlr4::CommonToken>(antlr4::Token::EOF);
  }
  std::size_t getLine() const override { return 0; }
  std::size_t getCharPositionInLine() override { return 0; }
  antlr4::CharStream* getInputStream() override { return nullptr; }
  std::string getSourceName() override { return "policy"; }
  antlr4::TokenFactory<antlr4::CommonToken>* getTokenFactory() override {
    return antlr4::CommonTokenFactory::DEFAULT.get();
  }

  static NoTokenSource& Get() {
    static NoTokenSource source;
    return source;
  }
};

antlr4::TokenSource* GovToken::getTokenSource() const { return &NoTokenSource::Get(); }

// The parser's token stream: the tokens [begin, end) of the file's token
// vector, followed by an end-of-input token placed right after the last one.
class TokenWindow final : public antlr4::TokenStream {
 public:
  TokenWindow(std::vector<GovToken>& tokens, const std::string& text)
      : tokens_(tokens), text_(text), eof_(antlr4::Token::EOF, 0, 0, &text) {}

  void Select(std::size_t begin, std::size_t end) {
    window_ = tokens_.data() + begin;
    size_ = end - begin;
    position_ = 0;
    for (std::size_t i = 0; i < size_; ++i) tokens_[begin + i].index = i;
    eof_.begin = eof_.end = tokens_[end - 1].end;
    eof_.index = size_;
    ends_file_ = end == tokens_.size();
  }
  // False when the window's end is the start of the next declaration.
  bool EndsFile() const { return ends_file_; }

  antlr4::Token* LT(ssize_t k) override {
    if (k > 0) return At(position_ + static_cast<std::size_t>(k) - 1);
    if (k == 0) return nullptr;
    std::size_t back = static_cast<std::size_t>(-k);
    return back > position_ ? nullptr : At(position_ - back);
  }
  antlr4::Token* get(std::size_t index) const override { return At(index); }
  antlr4::TokenSource* getTokenSource() const override { return &NoTokenSource::Get(); }
  std::string getText(const antlr4::misc::Interval& interval) override {
    if (interval.a < 0 || interval.b < interval.a || static_cast<std::size_t>(interval.a) >= size_) return "";
    return Between(At(static_cast<std::size_t>(interval.a)),
                   At(std::min(static_cast<std::size_t>(interval.b), size_ - 1)));
  }
  std::string getText() override { return size_ == 0 ? "" : Between(At(0), At(size_ - 1)); }
  std::string getText(antlr4::RuleContext* ctx) override { return getText(ctx->getSourceInterval()); }
  std::string getText(antlr4::Token* start, antlr4::Token* stop) override {
    if (start == nullptr || stop == nullptr) return "";
    return Between(start, stop);
  }

  void consume() override {
    if (position_ >= size_) throw antlr4::IllegalStateException("cannot consume EOF");
    ++position_;
  }
  std::size_t LA(ssize_t i) override {
    if (i == 1) return position_ < size_ ? window_[position_].type : antlr4::Token::EOF;
    antlr4::Token* token = LT(i);
    return token == nullptr ? antlr4::Token::INVALID_TYPE : token->getType();
  }
  ssize_t mark() override { return 0; }
  void release(ssize_t) override {}
  std::size_t index() override { return position_; }
  void seek(std::size_t index) override { position_ = std::min(index, size_); }
  std::size_t size() override { return size_ + 1; }
  std::string getSourceName() const override { return "policy"; }

 private:
  GovToken* At(std::size_t i) const { return i < size_ ? window_ + i : &eof_; }
  std::string Between(antlr4::Token* start, antlr4::Token* stop) const {
    std::size_t from = start->getStartIndex();
    std::size_t to = stop->getStopIndex() + 1;
    return to > from && to <= text_.size() ? text_.substr(from, to - from) : std::string();
  }

  std::vector<GovToken>& tokens_;
  const std::string& text_;
  mutable GovToken eof_;
  GovToken* window_ = nullptr;
  std::size_t size_ = 0;
  std::size_t position_ = 0;
  bool ends_file_ = true;
};

// Raised by the error listener to stop parsing a declaration at its first error.
struct DeclarationAbandoned {};
// Raised instead when a silent SLL attempt fails; the declaration is parsed again in LL mode.
struct SllFailed {};

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

// How to write NUMBER with the unit a user spelled as `word` (`minutes`,
// `gb`, `Sec`): "`10m`", "`4GB` (10^9 bytes) or `4GiB` (2^30 bytes)"; empty
// when `word` is no unit.
std::string UnitSpelling(std::string_view number, std::string_view word) {
  std::string unit(word);
  std::transform(unit.begin(), unit.end(), unit.begin(), [](unsigned char c) { return std::tolower(c); });
  struct Spelling {
    std::vector<std::string_view> words;
    std::string_view suffix;
    std::string_view decimal;  // the SI suffix of a size, else empty
  };
  static const std::vector<Spelling> kUnits = {
      {{"ms", "msec", "msecs", "millisecond", "milliseconds"}, "ms", ""},
      {{"s", "sec", "secs", "second", "seconds"}, "s", ""},
      {{"m", "min", "mins", "minute", "minutes"}, "m", ""},
      {{"h", "hr", "hrs", "hour", "hours"}, "h", ""},
      {{"d", "day", "days"}, "d", ""},
      {{"b", "byte", "bytes"}, "B", ""},
      {{"k", "kb", "kib", "kilobyte", "kilobytes"}, "KiB", "KB"},
      {{"mb", "mib", "megabyte", "megabytes"}, "MiB", "MB"},
      {{"g", "gb", "gib", "gigabyte", "gigabytes"}, "GiB", "GB"},
      {{"t", "tb", "tib", "terabyte", "terabytes"}, "TiB", "TB"},
  };
  for (const Spelling& spelling : kUnits) {
    if (std::find(spelling.words.begin(), spelling.words.end(), unit) == spelling.words.end()) continue;
    if (spelling.decimal.empty()) return fmt::format("`{}{}`", number, spelling.suffix);
    return fmt::format("`{}{}` (10^{} bytes) or `{}{}` (2^{} bytes)", number, spelling.decimal,
                       spelling.decimal == "KB"   ? 3
                       : spelling.decimal == "MB" ? 6
                       : spelling.decimal == "GB" ? 9
                                                  : 12,
                       number, spelling.suffix,
                       spelling.decimal == "KB"   ? 10
                       : spelling.decimal == "MB" ? 20
                       : spelling.decimal == "GB" ? 30
                                                  : 40);
  }
  return {};
}

// Stops the parse at the first syntax error: reports it (or, in the silent
// SLL attempt, only signals the failure) and abandons the declaration.
class FirstErrorListener : public antlr4::BaseErrorListener {
 public:
  FirstErrorListener(diagnostics::Collector& diagnostics, source::FileId file, const std::string& text,
                     const TokenWindow& window)
      : diagnostics_(diagnostics), file_(file), text_(text), window_(window) {}

  void set_silent(bool silent) { silent_ = silent; }

  void syntaxError(antlr4::Recognizer* recognizer, antlr4::Token* offending, size_t, size_t, const std::string&,
                   std::exception_ptr) override {
    if (silent_) throw SllFailed{};
    std::uint32_t file_size = static_cast<std::uint32_t>(text_.size());
    Span span{file_, file_size, file_size};
    std::string found = offending != nullptr && !window_.EndsFile() ? "end of declaration" : "end of file";
    if (offending != nullptr && offending->getType() != antlr4::Token::EOF) {
      span.begin = static_cast<std::uint32_t>(offending->getStartIndex());
      span.end = static_cast<std::uint32_t>(offending->getStopIndex() + 1);
      std::string shown = text_.substr(span.begin, span.end - span.begin);
      if (shown.size() > 40) shown = shown.substr(0, 37) + "...";
      found = fmt::format("`{}`", shown);
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
    diagnostics::Diagnostic& d = diagnostics_.Emit(Kind::kSyntaxError, span, std::move(message));
    if (offending != nullptr && offending->getType() != antlr4::Token::EOF) d.help = Help(offending, expected);
    throw DeclarationAbandoned{};
  }

 private:
  std::string_view TextOf(const antlr4::Token* token) const {
    if (token == nullptr || token->getType() == antlr4::Token::EOF) return {};
    return std::string_view(text_).substr(token->getStartIndex(), token->getStopIndex() + 1 - token->getStartIndex());
  }

  // What to write instead, for the mistakes people make (docs/language.md
  // "Common mistakes"); empty when there is nothing better to say than the
  // expected tokens.
  std::string Help(const antlr4::Token* offending, const std::vector<std::string>& expected) const {
    const KeywordTypes& kw = KeywordTypes::Get();
    const std::size_t index = offending->getTokenIndex();
    const antlr4::Token* previous = index >= 1 ? window_.get(index - 1) : nullptr;
    const antlr4::Token* before = index >= 2 ? window_.get(index - 2) : nullptr;
    const std::string_view found = TextOf(offending);
    const std::size_t type = offending->getType();
    auto expects = [&](std::string_view what) {
      return std::find(expected.begin(), expected.end(), what) != expected.end();
    };
    // A declaration keyword misspelt: `alow`, `dney`, `imoprt`.
    const std::size_t start = offending->getStartIndex();
    const bool starts_line = start == 0 || (start <= text_.size() && text_[start - 1] == '\n');
    if ((index == 0 || starts_line) && type == GovParser::IDENT) {
      const std::vector<std::string> keywords = {"allow",   "deny", "ask",    "const",   "def",    "import",
                                                 "context", "test", "policy", "default", "command"};
      if (auto closest = diagnostics::ClosestName(found, keywords)) return fmt::format("did you mean `{}`?", *closest);
    }
    // `const x = ...`: a constant's type is written.
    if (found == "=" && before != nullptr && before->getType() == kw.const_) {
      return fmt::format(
          "a constant declares its type: `const {}: string = ...` (or `int`, `path`, `list<string>`, ...)",
          TextOf(previous));
    }
    // `program.name = "git"` in a condition.
    if (found == "=" && !expects("`=`"))
      return "compare with `==`; `=` gives a value only in `with { ... }`, records and maps";
    // `10 minutes`, `4 GiB`: a number and its unit are one word.
    if (type == GovParser::IDENT && previous != nullptr && previous->getType() == GovParser::INT) {
      if (std::string unit = UnitSpelling(TextOf(previous), found); !unit.empty()) {
        return fmt::format("write the number and its unit as one word: {}", unit);
      }
    }
    // `... with { ... } because "..."`.
    if (type != GovParser::IDENT && found == "because" && previous != nullptr && previous->getType() == kw.rbrace) {
      return "`because` comes before `with`: `allow NAME when CONDITION because \"...\" with { ... }`";
    }
    // A reason without `because`.
    const std::size_t first = window_.get(0)->getType();
    const bool in_rule = first == kw.allow || first == kw.deny || first == kw.ask;
    if (type == GovParser::STRING && (expects("`because`") || (expected.empty() && in_rule)))
      return "write `because` before the reason: `because \"...\"`";
    return {};
  }

  diagnostics::Collector& diagnostics_;
  source::FileId file_;
  const std::string& text_;
  const TokenWindow& window_;
  bool silent_ = false;
};

// A parse tree that does not have the shape the grammar gives it (a bug, not
// bad input); the declaration is reported and dropped.
struct MalformedTree : std::logic_error {
  MalformedTree() : std::logic_error("unexpected parse tree shape") {}
};

// `node`, which the grammar says is present.
template <typename T>
T* Need(T* node) {
  if (node == nullptr) throw MalformedTree{};
  return node;
}

// Converts one declaration's parse tree into AST nodes. The parser builds no
// child lists (see grammar/Gov.g4): the builder reads the labelled fields of
// the contexts, tokens by type and by their slice of the source (never
// ParseTree::getText(), which rebuilds strings). The tree comes from a parse
// without errors; a missing field it relies on is a MalformedTree.
class AstBuilder {
 public:
  // `depths` is scratch space reused across declarations.
  AstBuilder(const source::SourceFile& source, source::FileId file, diagnostics::Collector& diagnostics,
             std::uint32_t& next_expr_id, std::vector<int>& depths)
      : text_(source.text()),
        file_(file),
        diagnostics_(diagnostics),
        next_expr_id_(next_expr_id),
        first_expr_id_(next_expr_id),
        depths_(depths) {
    depths_.clear();
  }

  // Returns false when the declaration must be dropped (an error was reported).
  bool BuildDeclaration(GovParser::DeclarationContext* ctx, ast::Decl& out) {
    out.span = SpanOf(ctx);
    if (ctx->policyRule != nullptr) {
      out.node = BuildRule(ctx->policyRule);
    } else if (ctx->header != nullptr) {
      out.node = BuildHeader(ctx->header);
    } else if (ctx->imported != nullptr) {
      out.node = BuildImport(ctx->imported);
    } else if (ctx->constant != nullptr) {
      out.node = BuildConst(ctx->constant);
    } else if (ctx->contextBlock != nullptr) {
      out.node = BuildContext(ctx->contextBlock);
    } else if (ctx->function != nullptr) {
      out.node = BuildDef(ctx->function);
    } else if (ctx->testBlock != nullptr) {
      out.node = BuildTest(ctx->testBlock);
    } else if (ctx->command != nullptr) {
      ast::CommandDecl command;
      command.span = SpanOf(ctx->command);
      command.name = StringOf(Need(ctx->command->name));
      command.name_span = SpanOf(ctx->command->name);
      for (auto* item : ctx->command->items) command.items.push_back(BuildCommandItem(item, /*in_subcommand=*/false));
      out.node = std::move(command);
    } else if (ctx->defaults != nullptr) {
      ast::DefaultDecl defaults;
      defaults.span = SpanOf(ctx->defaults);
      if (ctx->defaults->withKeyword != nullptr) {
        defaults.has_with = true;
        defaults.with_span = SpanOf(ctx->defaults->withKeyword);
        for (auto* obligation : ctx->defaults->obligations) defaults.obligations.push_back(BuildObligation(obligation));
      } else {
        defaults.has_verdict = true;
        defaults.verdict = VerdictOf(ctx->defaults->verdict);
        defaults.verdict_span = SpanOf(ctx->defaults->verdict);
        if (ctx->defaults->reason != nullptr) defaults.reason = DecodeString(ctx->defaults->reason);
      }
      out.node = std::move(defaults);
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

  // The token's spelling in the source.
  std::string_view TextOf(antlr4::Token* token) const {
    std::size_t begin = token->getStartIndex();
    std::size_t end = token->getStopIndex() + 1;
    return end > begin ? std::string_view(text_).substr(begin, end - begin) : std::string_view();
  }
  std::string StringOf(antlr4::Token* token) const { return std::string(TextOf(token)); }

  void Fail(Kind kind, Span span, std::string message) {
    diagnostics_.Emit(kind, span, std::move(message));
    failed_ = true;
  }

  // ------------------------------------------------------------ literals

  // Decodes a quoted literal (`"..."`, `g"..."`, `r"..."`) token.
  std::string DecodeString(antlr4::Token* token) {
    std::string_view raw = TextOf(token);
    if (raw.empty()) throw MalformedTree{};
    // `"..."`; `g"..."`, `r"..."`; a single-quoted string (already an error) as if double-quoted.
    std::size_t prefix = raw.front() == '"' || raw.front() == '\'' ? 1 : 2;
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
          bool ok = i + 1 < end && raw[i + 1] == '{' && close != std::string_view::npos && close < end &&
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
    std::string text = StringOf(token);
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
    ast::ExprPtr expr(new ast::Expr{next_expr_id_++, span, std::move(node)});
    int depth = 0;
    ast::ForEachChild(*expr, [&](const ast::Expr& child) { depth = std::max(depth, DepthOf(child)); });
    depth += 1;
    if (depth > ast::kMaxExprDepth && !depth_reported_) {
      depth_reported_ = true;
      Fail(Kind::kNestingTooDeep, span,
           fmt::format("expression nests more than {} levels deep", ast::kMaxExprDepth));
    }
    std::size_t slot = expr->id - first_expr_id_;
    if (depths_.size() <= slot) depths_.resize(slot + 1, 1);
    depths_[slot] = depth;
    return expr;
  }

  // Nesting depth of an expression built by this builder (ids are consecutive from first_expr_id_).
  int DepthOf(const ast::Expr& expr) const {
    if (expr.id < first_expr_id_) return 1;
    std::size_t slot = expr.id - first_expr_id_;
    return slot < depths_.size() ? depths_[slot] : 1;
  }

  ast::ExprPtr BuildExpr(GovParser::ExprContext* ctx) { return BuildOr(Need(Need(ctx)->inner)); }

  // orExpr: first=andExpr ('or' rest+=andExpr)*
  ast::ExprPtr BuildOr(GovParser::OrExprContext* ctx) {
    if (ctx->rest.empty()) return BuildAnd(Need(ctx->first));
    ast::Logical logical{ast::LogicalOp::kOr, {}};
    logical.operands.push_back(BuildAnd(Need(ctx->first)));
    for (auto* part : ctx->rest) logical.operands.push_back(BuildAnd(Need(part)));
    return Make(SpanOf(ctx), std::move(logical));
  }

  // andExpr: first=notExpr ('and' rest+=notExpr)*
  ast::ExprPtr BuildAnd(GovParser::AndExprContext* ctx) {
    if (ctx->rest.empty()) return BuildNot(Need(ctx->first));
    ast::Logical logical{ast::LogicalOp::kAnd, {}};
    logical.operands.push_back(BuildNot(Need(ctx->first)));
    for (auto* part : ctx->rest) logical.operands.push_back(BuildNot(Need(part)));
    return Make(SpanOf(ctx), std::move(logical));
  }

  // notExpr: one alternative, told apart by its labels.
  ast::ExprPtr BuildNot(GovParser::NotExprContext* ctx) {
    if (ctx->comparison != nullptr) return BuildCompare(ctx->comparison);
    if (ctx->negation != nullptr) {
      return Make(SpanOf(ctx), ast::Unary{ast::UnaryOp::kNot, BuildNot(Need(ctx->operand))});
    }
    if (ctx->quantifier != nullptr) {
      ast::Quantified node;
      node.quantifier =
          ctx->quantifier->getType() == KeywordTypes::Get().any ? ast::Quantifier::kAny : ast::Quantifier::kAll;
      node.var = StringOf(Need(ctx->var));
      node.var_span = SpanOf(ctx->var);
      node.domain = BuildExpr(ctx->domain);
      node.body = BuildExpr(ctx->body);
      return Make(SpanOf(ctx), std::move(node));
    }
    if (ctx->conditional != nullptr) {
      return Make(SpanOf(ctx),
                  ast::Conditional{BuildExpr(ctx->cond), BuildExpr(ctx->then), BuildExpr(ctx->otherwise)});
    }
    throw MalformedTree{};
  }

  // compareExpr: lhs=coalesceExpr (op=compareOp rhs=coalesceExpr | 'as' var ':' body)?
  ast::ExprPtr BuildCompare(GovParser::CompareExprContext* ctx) {
    ast::ExprPtr lhs = BuildCoalesce(Need(ctx->lhs));
    if (ctx->asKeyword != nullptr) {
      ast::Bind bind;
      bind.value = std::move(lhs);
      bind.var = StringOf(Need(ctx->var));
      bind.var_span = SpanOf(ctx->var);
      bind.body = BuildExpr(ctx->body);
      return Make(SpanOf(ctx), std::move(bind));
    }
    if (ctx->op == nullptr) return lhs;
    const KeywordTypes& kw = KeywordTypes::Get();
    std::size_t op = Need(ctx->op->getStart())->getType();
    ast::BinaryOp binary = ast::BinaryOp::kEq;
    if (op == kw.eq) binary = ast::BinaryOp::kEq;
    else if (op == kw.ne) binary = ast::BinaryOp::kNe;
    else if (op == kw.lt) binary = ast::BinaryOp::kLt;
    else if (op == kw.le) binary = ast::BinaryOp::kLe;
    else if (op == kw.gt) binary = ast::BinaryOp::kGt;
    else if (op == kw.ge) binary = ast::BinaryOp::kGe;
    else if (op == kw.in) binary = ast::BinaryOp::kIn;
    else if (op == kw.not_) binary = ast::BinaryOp::kNotIn;
    else if (op == kw.under) binary = ast::BinaryOp::kUnder;
    else if (op == kw.matches) binary = ast::BinaryOp::kMatches;
    else throw MalformedTree{};
    ast::ExprPtr rhs = BuildCoalesce(Need(ctx->rhs));
    return Make(SpanOf(ctx), ast::Binary{binary, std::move(lhs), std::move(rhs), SpanOf(ctx->op)});
  }

  // The operator a chain's token or one-token rule stands for.
  static ast::BinaryOp ArithmeticOp(antlr4::Token* op) {
    const KeywordTypes& kw = KeywordTypes::Get();
    std::size_t type = Need(op)->getType();
    if (type == kw.plus) return ast::BinaryOp::kAdd;
    if (type == kw.minus) return ast::BinaryOp::kSub;
    if (type == kw.star) return ast::BinaryOp::kMul;
    if (type == kw.slash) return ast::BinaryOp::kDiv;
    if (type == kw.percent) return ast::BinaryOp::kMod;
    if (type == kw.coalesce) return ast::BinaryOp::kCoalesce;
    throw MalformedTree{};
  }
  static antlr4::Token* OpToken(antlr4::Token* token) { return token; }
  static antlr4::Token* OpToken(antlr4::ParserRuleContext* rule) { return Need(rule)->getStart(); }

  // first (ops[i] rest[i])*, folded to the left.
  template <typename Chain, typename BuildOperand>
  ast::ExprPtr FoldLeft(Chain* ctx, BuildOperand build_operand) {
    ast::ExprPtr result = build_operand(Need(ctx->first));
    if (ctx->ops.size() != ctx->rest.size()) throw MalformedTree{};
    for (std::size_t i = 0; i < ctx->rest.size(); ++i) {
      antlr4::Token* op = OpToken(ctx->ops[i]);
      ast::BinaryOp binary = ArithmeticOp(op);
      ast::ExprPtr rhs = build_operand(Need(ctx->rest[i]));
      Span span = result->span.Join(rhs->span);
      result = Make(span, ast::Binary{binary, std::move(result), std::move(rhs), SpanOf(op)});
      // Past the depth cap the declaration is dropped; stop before the chain
      // grows deep enough to make even its destruction recurse too far.
      if (depth_reported_) break;
    }
    return result;
  }

  ast::ExprPtr BuildCoalesce(GovParser::CoalesceExprContext* ctx) {
    return FoldLeft(ctx, [this](auto* c) { return BuildAdditive(c); });
  }
  ast::ExprPtr BuildAdditive(GovParser::AdditiveExprContext* ctx) {
    return FoldLeft(ctx, [this](auto* c) { return BuildMultiplicative(c); });
  }
  ast::ExprPtr BuildMultiplicative(GovParser::MultiplicativeExprContext* ctx) {
    return FoldLeft(ctx, [this](auto* c) { return BuildUnary(c); });
  }

  // unaryExpr: negate='-' operand=unaryExpr | inner=postfixExpr
  ast::ExprPtr BuildUnary(GovParser::UnaryExprContext* ctx) {
    if (ctx->inner != nullptr) return BuildPostfix(ctx->inner);
    if (ctx->negate == nullptr) throw MalformedTree{};
    return Make(SpanOf(ctx), ast::Unary{ast::UnaryOp::kNegate, BuildUnary(Need(ctx->operand))});
  }

  std::vector<ast::ExprPtr> BuildArguments(GovParser::ArgumentsContext* ctx) {
    std::vector<ast::ExprPtr> out;
    if (ctx == nullptr) return out;
    out.reserve(ctx->items.size());
    for (auto* e : ctx->items) out.push_back(BuildExpr(e));
    return out;
  }

  // postfixExpr: base=primary suffixes+=postfix*
  ast::ExprPtr BuildPostfix(GovParser::PostfixExprContext* ctx) {
    ast::ExprPtr result = BuildPrimary(Need(ctx->base));
    for (auto* postfix : ctx->suffixes) {
      Span span = result->span.Join(SpanOf(Need(postfix)));
      if (postfix->dot != nullptr) {
        antlr4::Token* name = Need(postfix->name);
        if (postfix->call != nullptr) {
          result = Make(span, ast::MethodCall{std::move(result), StringOf(name), SpanOf(name),
                                              BuildArguments(postfix->args)});
        } else {
          result = Make(span, ast::Member{std::move(result), StringOf(name), SpanOf(name)});
        }
      } else {
        result = Make(span, ast::Index{std::move(result), BuildExpr(postfix->index)});
      }
    }
    return result;
  }

  ast::ExprPtr BuildRecordLiteral(GovParser::RecordLiteralContext* ctx) {
    ast::RecordLiteral record;
    for (auto* field : ctx->fields) {
      GovParser::FieldNameContext* name = Need(Need(field)->name);
      record.fields.push_back(
          ast::RecordLiteralField{StringOf(Need(name->getStart())), SpanOf(name), BuildExpr(field->value)});
    }
    return Make(SpanOf(ctx), std::move(record));
  }

  // primary: one alternative, told apart by its labels.
  ast::ExprPtr BuildPrimary(GovParser::PrimaryContext* ctx) {
    Span span = SpanOf(ctx);
    if (ctx->variable != nullptr) return Make(span, ast::NameRef{StringOf(ctx->variable)});
    if (ctx->stringLiteral != nullptr) return Make(span, ast::StringLiteral{DecodeString(ctx->stringLiteral)});
    if (ctx->callee != nullptr) {
      return Make(span, ast::Call{StringOf(ctx->callee), SpanOf(ctx->callee), BuildArguments(ctx->callArgs)});
    }
    if (ctx->intLiteral != nullptr) return Make(span, BuildNumber(ctx->intLiteral, GovParser::INT));
    if (ctx->durationLiteral != nullptr) return Make(span, BuildNumber(ctx->durationLiteral, GovParser::DURATION));
    if (ctx->sizeLiteral != nullptr) return Make(span, BuildNumber(ctx->sizeLiteral, GovParser::SIZE));
    if (ctx->globLiteral != nullptr) {
      return Make(span, ast::PatternLiteral{ast::PatternSyntax::kGlob, DecodeString(ctx->globLiteral)});
    }
    if (ctx->regexLiteral != nullptr) {
      return Make(span, ast::PatternLiteral{ast::PatternSyntax::kRegex, DecodeString(ctx->regexLiteral)});
    }
    if (ctx->boolLiteral != nullptr) {
      return Make(span, ast::BoolLiteral{ctx->boolLiteral->getType() == KeywordTypes::Get().true_});
    }
    if (ctx->noneLiteral != nullptr) return Make(span, ast::NoneLiteral{});
    if (ctx->contextKeyword != nullptr) return Make(span, ast::NameRef{"context"});
    if (ctx->paren != nullptr) return BuildExpr(ctx->inner);
    if (ctx->list != nullptr) return Make(span, ast::ListLiteral{BuildArguments(ctx->items)});
    if (ctx->set != nullptr) return Make(span, ast::SetLiteral{BuildArguments(Need(ctx->items))});
    return BuildRecordLiteral(Need(ctx->record));
  }

  // ------------------------------------------------------------ types

  // type: base=baseType optional='?'?; baseType is named when it has a name, else a record.
  // ------------------------------------------------------------ commands

  ast::CommandValueType BuildValueType(GovParser::ValueTypeContext* ctx) {
    ast::CommandValueType value;
    value.span = SpanOf(Need(ctx));
    if (ctx->plain != nullptr) {
      value.type = BuildType(ctx->plain);
      return value;
    }
    if (TextOf(Need(ctx->enumWord)) != "enum") {
      Fail(Kind::kSyntaxError, SpanOf(ctx->enumWord),
           fmt::format("expected a type or `enum {{...}}`, found `{}`", TextOf(ctx->enumWord)));
      return value;
    }
    value.is_enum = true;
    value.optional = ctx->optional != nullptr;
    for (antlr4::Token* choice : ctx->choices) value.choices.push_back(DecodeString(choice));
    return value;
  }

  // commandItem: the first word says which item it is.
  ast::CommandItem BuildCommandItem(GovParser::CommandItemContext* ctx, bool in_subcommand) {
    ast::CommandItem item;
    item.span = SpanOf(ctx);
    const std::string_view kind = TextOf(Need(ctx->kind));
    const Span kind_span = SpanOf(ctx->kind);
    const auto expect = [&](bool shape_ok, std::string_view form) {
      if (!shape_ok) Fail(Kind::kSyntaxError, item.span, fmt::format("`{}` is written `{}`", kind, form));
      return shape_ok;
    };
    if (ctx->name != nullptr) {
      item.name = StringOf(ctx->name);
      item.name_span = SpanOf(ctx->name);
    }
    for (antlr4::Token* spelling : ctx->spellings) {
      item.spellings.push_back(DecodeString(spelling));
      item.spelling_spans.push_back(SpanOf(spelling));
    }
    if (kind == "style") {
      item.kind = ast::CommandItem::Kind::kStyle;
      if (expect(ctx->word != nullptr, "style gnu`, `style posix` or `style cobra")) {
        item.name = StringOf(ctx->word);
        item.name_span = SpanOf(ctx->word);
      }
    } else if (kind == "options") {
      const bool persistent = ctx->word != nullptr && TextOf(ctx->word) == "persistent";
      item.kind = persistent ? ast::CommandItem::Kind::kOptionsPersistent : ast::CommandItem::Kind::kOptionsFirst;
      if (expect(ctx->word != nullptr && (persistent || TextOf(ctx->word) == "first"),
                 "options first` or `options persistent")) {
        item.name = StringOf(ctx->word);
        item.name_span = SpanOf(ctx->word);
      }
    } else if (kind == "flag") {
      item.kind = ast::CommandItem::Kind::kFlag;
      expect(ctx->name != nullptr && !ctx->spellings.empty() && ctx->value == nullptr,
             "flag NAME: \"-f\", \"--force\"");
    } else if (kind == "option") {
      item.kind = ast::CommandItem::Kind::kOption;
      if (expect(ctx->value != nullptr, "option NAME: TYPE = \"-n\", \"--lines\"")) {
        item.value = BuildValueType(ctx->value);
      }
      for (antlr4::Token* modifier : ctx->modifiers) item.modifiers.push_back(StringOf(modifier));
      // `value optional` and `ends options`, each at most once, in either order.
      bool modifiers_ok = item.modifiers.size() % 2 == 0;
      std::set<std::string> seen;
      for (std::size_t i = 0; modifiers_ok && i < item.modifiers.size(); i += 2) {
        const std::string pair = item.modifiers[i] + " " + item.modifiers[i + 1];
        modifiers_ok = (pair == "value optional" || pair == "ends options") && seen.insert(pair).second;
      }
      if (!modifiers_ok) {
        Fail(Kind::kSyntaxError, SpanOf(ctx->modifiers.front()),
             "option modifiers are `value optional` (only `--opt=value` carries a value) and `ends options` (the "
             "words after it are operands)");
      }
    } else if (kind == "operands") {
      item.kind = ast::CommandItem::Kind::kOperands;
      if (expect(!ctx->groups.empty(), "operands NAME: TYPE, NAME: TYPE+ (counts: `?`, `*`, `+`)")) {
        for (auto* group_ctx : ctx->groups) {
          ast::OperandGroup group;
          group.span = SpanOf(group_ctx);
          group.name = StringOf(Need(group_ctx->name));
          group.name_span = SpanOf(group_ctx->name);
          group.value = BuildValueType(Need(group_ctx->value));
          if (group_ctx->count != nullptr) group.count = TextOf(group_ctx->count).front();
          item.groups.push_back(std::move(group));
        }
      }
    } else if (kind == "subcommand") {
      item.kind = ast::CommandItem::Kind::kSubcommand;
      if (in_subcommand) {
        Fail(Kind::kSyntaxError, kind_span, "subcommands do not nest (one level: `git push`, `kubectl get`)");
      } else if (expect(ctx->name != nullptr && ctx->spellings.size() <= 1 && ctx->value == nullptr &&
                            ctx->groups.empty() && ctx->word == nullptr,
                        "subcommand NAME { ... } or subcommand NAME: \"written-name\" { ... }")) {
        for (auto* inner : ctx->items) item.items.push_back(BuildCommandItem(inner, /*in_subcommand=*/true));
      }
    } else {
      UnknownCommandItem(kind, kind_span);
    }
    return item;
  }

  void UnknownCommandItem(std::string_view kind, Span span) {
    diagnostics::Diagnostic& d =
        diagnostics_.Emit(Kind::kSyntaxError, span, fmt::format("unknown item `{}` in a command", kind));
    const std::vector<std::string> words = {"style", "options", "flag", "option", "operands", "subcommand"};
    if (auto closest = diagnostics::ClosestName(kind, words)) {
      d.help = fmt::format("did you mean `{}`?", *closest);
    } else {
      d.help =
          "a command declares `style`, `options first`, `options persistent`, `flag`, `option`, `operands` and "
          "`subcommand` items";
    }
    failed_ = true;
  }

  ast::TypeExprPtr BuildType(GovParser::TypeContext* ctx) {
    auto type = std::make_unique<ast::TypeExpr>();
    type->span = SpanOf(Need(ctx));
    type->optional = ctx->optional != nullptr;
    GovParser::BaseTypeContext* base = Need(ctx->base);
    if (base->name != nullptr) {
      ast::NamedTypeExpr node;
      node.name = StringOf(base->name);
      for (auto* arg : base->args) node.args.push_back(BuildType(arg));
      type->node = std::move(node);
    } else {
      ast::RecordTypeExpr node;
      for (auto* field : base->fields) {
        node.fields.push_back(ast::RecordTypeFieldExpr{StringOf(Need(Need(field)->name)), SpanOf(field->name),
                                                       BuildType(field->declared)});
      }
      type->node = std::move(node);
    }
    return type;
  }

  // ------------------------------------------------------------ declarations

  ast::PolicyHeader BuildHeader(GovParser::PolicyHeaderContext* ctx) {
    ast::PolicyHeader header;
    header.span = SpanOf(ctx);
    header.name = StringOf(Need(ctx->name));
    header.name_span = SpanOf(ctx->name);
    if (ctx->version != nullptr) header.version = DecodeString(ctx->version);
    return header;
  }

  // `rule`, `default` or `org.rule` as written, without whitespace or comments.
  std::string RuleNameOf(GovParser::RuleNameContext* ctx) {
    std::string name = StringOf(Need(ctx->first));
    for (antlr4::Token* part : ctx->rest) name += "." + StringOf(Need(part));
    return name;
  }

  ast::Import BuildImport(GovParser::ImportDeclContext* ctx) {
    ast::Import import;
    import.span = SpanOf(ctx);
    if (ctx->path != nullptr) {
      import.is_file = true;
      import.target = DecodeString(ctx->path);
      import.target_span = SpanOf(ctx->path);
    } else {
      // The dotted name as written, without whitespace or comments: `std . x` is `std.x`.
      GovParser::DottedNameContext* module = Need(ctx->module);
      for (std::size_t i = 0; i < module->parts.size(); ++i) {
        if (i > 0) import.target += '.';
        import.target += TextOf(Need(module->parts[i]));
      }
      import.target_span = SpanOf(module);
    }
    if (ctx->alias != nullptr) import.alias = StringOf(ctx->alias);
    if (ctx->withKeyword != nullptr) {
      import.with_rules = true;
      import.with_span = ctx->rulesWord != nullptr ? Span{SpanOf(ctx->withKeyword).file, SpanOf(ctx->withKeyword).begin,
                                                          SpanOf(ctx->rulesWord).end}
                                                   : SpanOf(ctx->withKeyword);
      if (ctx->rulesWord == nullptr || StringOf(ctx->rulesWord) != "rules") {
        Fail(Kind::kSyntaxError, ctx->rulesWord != nullptr ? SpanOf(ctx->rulesWord) : SpanOf(ctx),
             "expected `with rules` after the imported module");
        diagnostics_.mutable_diagnostics().back().help =
            "`import \"FILE\" with rules` makes the module's rules part of this policy, named ALIAS.RULE";
      }
    }
    return import;
  }

  ast::ConstDecl BuildConst(GovParser::ConstDeclContext* ctx) {
    ast::ConstDecl decl;
    decl.span = SpanOf(ctx);
    decl.name = StringOf(Need(ctx->name));
    decl.name_span = SpanOf(ctx->name);
    decl.type = BuildType(ctx->declared);
    decl.value = BuildExpr(ctx->value);
    return decl;
  }

  ast::ContextDecl BuildContext(GovParser::ContextDeclContext* ctx) {
    ast::ContextDecl decl;
    decl.span = SpanOf(ctx);
    for (auto* field : ctx->fields) {
      decl.fields.push_back(ast::ContextField{SpanOf(Need(field)), StringOf(Need(field->name)), SpanOf(field->name),
                                              BuildType(field->declared)});
    }
    return decl;
  }

  ast::DefDecl BuildDef(GovParser::DefDeclContext* ctx) {
    ast::DefDecl decl;
    decl.span = SpanOf(ctx);
    decl.name = StringOf(Need(ctx->name));
    decl.name_span = SpanOf(ctx->name);
    for (auto* param : ctx->params) {
      decl.params.push_back(
          ast::Param{StringOf(Need(Need(param)->name)), SpanOf(param->name), BuildType(param->declared)});
    }
    decl.result = BuildType(ctx->result);
    decl.body = BuildExpr(ctx->body);
    return decl;
  }

  static ast::Verdict VerdictOf(antlr4::Token* token) {
    const KeywordTypes& kw = KeywordTypes::Get();
    std::size_t type = Need(token)->getType();
    if (type == kw.allow) return ast::Verdict::kAllow;
    if (type == kw.ask) return ast::Verdict::kAsk;
    return ast::Verdict::kDeny;
  }

  ast::Rule BuildRule(GovParser::RuleDeclContext* ctx) {
    ast::Rule rule;
    rule.span = SpanOf(ctx);
    rule.verdict = VerdictOf(ctx->verdict);
    rule.name = StringOf(Need(ctx->name));
    rule.name_span = SpanOf(ctx->name);
    rule.condition = BuildExpr(ctx->condition);
    if (ctx->reason != nullptr) {
      rule.reason = DecodeString(ctx->reason);
      rule.reason_span = SpanOf(ctx->reason);
    }
    rule.has_with = ctx->withKeyword != nullptr;
    for (auto* obligation : ctx->obligations) {
      rule.obligations.push_back(BuildObligation(obligation));
    }
    return rule;
  }

  ast::Obligation BuildObligation(GovParser::ObligationContext* obligation) {
    ast::Obligation out;
    out.span = SpanOf(Need(obligation));
    out.name = StringOf(Need(obligation->name));
    out.name_span = SpanOf(obligation->name);
    if (obligation->anyValue != nullptr) {
      out.value = Make(SpanOf(obligation->anyValue), ast::NameRef{"any"});
    } else {
      out.value = BuildExpr(obligation->value);
    }
    return out;
  }

  ast::TestBlock BuildTest(GovParser::TestDeclContext* ctx) {
    static constexpr std::string_view kModifiers[] = {"cwd",  "host",   "sha256", "time",  "context",           "env",
                                                      "user", "parent", "via",    "argv0", "written_in_session"};
    ast::TestBlock block;
    block.span = SpanOf(ctx);
    block.name = DecodeString(Need(ctx->name));
    for (auto* c : ctx->cases) {
      ast::TestCase test;
      test.span = SpanOf(Need(c));
      for (auto* argv : c->argvs) test.argvs.push_back(BuildExpr(argv));
      for (auto* m : c->modifiers) {
        ast::TestModifier modifier;
        modifier.span = SpanOf(Need(m));
        modifier.kind = StringOf(Need(m->kind));
        modifier.kind_span = SpanOf(m->kind);
        modifier.value = BuildExpr(m->value);
        if (std::find(std::begin(kModifiers), std::end(kModifiers), modifier.kind) == std::end(kModifiers)) {
          Fail(Kind::kUnknownTestModifier, modifier.kind_span,
               fmt::format("unknown test modifier `{}`", modifier.kind));
          diagnostics_.mutable_diagnostics().back().help =
              "a test case accepts `via`, `argv0`, `cwd`, `env`, `user`, `host`, `time`, `sha256`, "
              "`written_in_session`, `context` and `parent`";
        }
        test.modifiers.push_back(std::move(modifier));
      }
      test.expected = VerdictOf(c->verdict);
      test.expected_span = SpanOf(c->verdict);
      for (GovParser::RuleNameContext* rule : c->byRules) {
        test.by_rules.push_back(RuleNameOf(Need(rule)));
        test.by_spans.push_back(SpanOf(rule));
      }
      if (c->others != nullptr) {
        test.by_and_others = true;
        if (StringOf(c->others) != "others") {
          Fail(Kind::kInvalidTestCase, SpanOf(c->others),
               fmt::format("expected `and others` after the `by` rules, found `and {}`", StringOf(c->others)));
          diagnostics_.mutable_diagnostics().back().help =
              "`by a, b` expects exactly these rules to decide; `by a and others` at least these";
        }
      }
      for (GovParser::RuleNameContext* rule : c->notByRules) {
        test.not_by_rules.push_back(RuleNameOf(Need(rule)));
        test.not_by_spans.push_back(SpanOf(rule));
      }
      test.has_with = c->withKeyword != nullptr;
      if (test.has_with) test.with_span = SpanOf(c->withKeyword);
      for (auto* obligation : c->obligations) test.obligations.push_back(BuildObligation(obligation));
      block.cases.push_back(std::move(test));
    }
    return block;
  }

  const std::string& text_;
  source::FileId file_;
  diagnostics::Collector& diagnostics_;
  std::uint32_t& next_expr_id_;
  std::uint32_t first_expr_id_;
  std::vector<int>& depths_;  // by expression id - first_expr_id_
  bool failed_ = false;
  bool depth_reported_ = false;
};

// Wall-clock time accumulated into one ParseTimings field (when timings are wanted).
class PhaseTimer {
 public:
  explicit PhaseTimer(double* sink) : sink_(sink) {
    if (sink_ != nullptr) start_ = std::chrono::steady_clock::now();
  }
  ~PhaseTimer() {
    if (sink_ != nullptr) {
      *sink_ += std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start_).count();
    }
  }
  PhaseTimer(const PhaseTimer&) = delete;
  PhaseTimer& operator=(const PhaseTimer&) = delete;

 private:
  double* sink_;
  std::chrono::steady_clock::time_point start_;
};

class FileParser {
 public:
  FileParser(const source::SourceManager& sources, source::FileId file, diagnostics::Collector& diagnostics,
             ParseTimings* timings)
      : source_(sources.file(file)), file_id_(file), diagnostics_(diagnostics), timings_(timings) {}

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
    std::vector<GovToken> tokens;
    {
      PhaseTimer timer(timings_ != nullptr ? &timings_->lex_ms : nullptr);
      tokens = Lex(out);
    }
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

  std::vector<GovToken> Lex(ast::File& out) {
    const std::string& text = source_.text();
    // A UTF-8 byte-order mark is skipped; offsets stay those of the whole file.
    std::uint32_t bom = text.rfind("\xEF\xBB\xBF", 0) == 0 ? 3 : 0;
    std::string_view body = std::string_view(text).substr(bom);
    std::vector<GovToken> tokens;
    if (lexer::Literals::Get().unsupported()) {
      ++errors_;
      diagnostics_.Emit(Kind::kInvalidCharacter, Span{file_id_, 0, 0},
                        "the lexer does not support an operator of the grammar (compiler/parse/lexer.h)");
      return tokens;
    }
    lexer::Lexer lexer(body, bom);
    try {
      tokens.reserve(std::min<std::size_t>(body.size() / 6 + 16, std::size_t{1} << 20));
      lexer::Token token{};
      std::uint32_t skip_until = 0;  // tokens before this offset belong to a reported mistake
      while (lexer.Next(token)) {
        std::size_t type = token.type;
        std::uint32_t begin = token.begin;
        std::uint32_t end = token.end;
        Span span{file_id_, begin, end};
        if (begin < skip_until) continue;  // part of a mistake already reported
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
            std::string help;
            // `&&`, `||`, `!x` and single-quoted strings, as other languages write them.
            const char next = end < text.size() ? text[end] : '\0';
            if ((ch == "&" || ch == "|") && next == ch[0]) {
              shown += ch;
              span.end = end + 1;
              skip_until = end + 1;
              help = ch == "&" ? "write `and`" : "write `or`";
            } else if (ch == "&" || ch == "|") {
              help = ch == "&" ? "write `and`" : "write `or`";
            } else if (ch == "!") {
              help = "write `not`; `!=` compares";
            } else if (ch == "'") {
              const std::size_t close = text.find_first_of("'\n", end);
              if (close != std::string::npos && text[close] == '\'') {
                shown = std::string(text.substr(begin, close + 1 - begin));
                span.end = static_cast<std::uint32_t>(close + 1);
                skip_until = span.end;
                std::string quoted = "\"";
                for (char c : shown.substr(1, shown.size() - 2)) {
                  if (c == '"' || c == '\\') quoted += '\\';
                  quoted += c;
                }
                help = fmt::format("strings are written in double quotes: {}\"", quoted);
                diagnostics_
                    .Emit(Kind::kInvalidCharacter, span, fmt::format("unexpected single-quoted string `{}`", shown))
                    .help = std::move(help);
                if (TooManyErrors(end)) return tokens;
                // Parse on with a string in its place so that later errors are still found.
                tokens.emplace_back(GovLexer::STRING, begin, span.end, &text);
                continue;
              }
              help = "strings are written in double quotes: \"...\"";
            }
            diagnostics_.Emit(Kind::kInvalidCharacter, span, fmt::format("unexpected character `{}`", shown)).help =
                std::move(help);
            if (TooManyErrors(end)) return tokens;
            // `&&`, `||` and `!` stand for `and`, `or` and `not` from here on,
            // so that the rest of the declaration is still checked.
            const KeywordTypes& kw = KeywordTypes::Get();
            if (shown == "&&" || shown == "||" || shown == "!") {
              tokens.emplace_back(shown == "&&" ? kw.and_ : shown == "||" ? kw.or_ : kw.not_, begin, span.end, &text);
            }
            continue;
          }
          case GovLexer::BAD_NUMBER: {
            ++errors_;
            const std::string_view literal = std::string_view(text).substr(begin, end - begin);
            const std::size_t digits = std::min(literal.find_first_not_of("0123456789"), literal.size());
            const std::string unit = UnitSpelling(literal.substr(0, digits), literal.substr(digits));
            diagnostics_.Emit(Kind::kUnknownUnit, span, fmt::format("unknown unit or suffix in `{}`", literal)).help =
                unit.empty() ? "durations use ms, s, m, h, d; sizes use B, KB, MB, GB, TB, KiB, MiB, GiB, TiB"
                             : fmt::format("write {}", unit);
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
        tokens.emplace_back(type, begin, end, &text);
      }
    } catch (const std::exception& e) {
      ++errors_;
      diagnostics_.Emit(Kind::kInvalidCharacter, Span{file_id_, 0, 0}, fmt::format("the lexer failed: {}", e.what()));
    }
    return tokens;
  }

  // Splits tokens into declarations: a declaration keyword at bracket depth
  // zero, or in the first column of a line, starts a new one.
  std::vector<std::pair<std::size_t, std::size_t>> Split(const std::vector<GovToken>& tokens) {
    const KeywordTypes& kw = KeywordTypes::Get();
    const std::string& text = source_.text();
    std::vector<std::pair<std::size_t, std::size_t>> chunks;
    std::size_t start = 0;
    long depth = 0;
    for (std::size_t i = 0; i < tokens.size(); ++i) {
      const GovToken& t = tokens[i];
      bool column_zero = t.begin == 0 || text[t.begin - 1] == '\n';
      // `default ask`: the verdict after `default` belongs to it.
      const bool after_default = i > 0 && tokens[i - 1].type == kw.default_ && !column_zero;
      bool starts = kw.StartsDeclaration(t.type) && (depth <= 0 || column_zero) && !after_default;
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
  void RecordDropped(const std::vector<GovToken>& tokens, std::size_t begin, std::size_t end, ast::File& out) {
    const KeywordTypes& kw = KeywordTypes::Get();
    std::size_t type = tokens[begin].type;
    bool named = type == kw.allow || type == kw.deny || type == kw.ask || type == kw.const_ || type == kw.def ||
                 type == kw.command;
    if (named && begin + 1 < end && tokens[begin + 1].type == GovLexer::IDENT) {
      const GovToken& name = tokens[begin + 1];
      out.dropped_names.push_back(source_.text().substr(name.begin, name.end - name.begin));
    }
    if (type == kw.context) out.dropped_context = true;
  }

  // Reports (and returns true) when brackets plus prefix operators nest too deep.
  bool NestsTooDeep(const std::vector<GovToken>& tokens, std::size_t begin, std::size_t end) {
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

  // Parses one declaration (the window's tokens) into a parse tree owned by
  // the parser. ANTLR's two-stage strategy: first SLL prediction with an
  // error strategy that neither synchronizes nor recovers, silently; only if
  // that fails, full LL prediction with the default strategy, which reports
  // the first syntax error. SLL either gives the tree LL would give or fails.
  GovParser::SingleDeclarationContext* ParseWindow(GovParser& parser, TokenWindow& window,
                                                   FirstErrorListener& listener) {
    auto* interpreter = parser.getInterpreter<antlr4::atn::ParserATNSimulator>();
    try {
      parser.setErrorHandler(bail_);
      parser.setTokenStream(&window);
      interpreter->setPredictionMode(antlr4::atn::PredictionMode::SLL);
      listener.set_silent(true);
      return parser.singleDeclaration();
    } catch (const SllFailed&) {
    } catch (const antlr4::ParseCancellationException&) {
    }
    window.seek(0);  // setTokenStream does not rewind the new stream
    parser.setErrorHandler(recover_);
    parser.setTokenStream(&window);
    interpreter->setPredictionMode(antlr4::atn::PredictionMode::LL);
    listener.set_silent(false);
    return parser.singleDeclaration();
  }

  void ParseDeclarations(std::vector<GovToken>& tokens, ast::File& out) {
    const std::string& text = source_.text();
    std::vector<std::pair<std::size_t, std::size_t>> chunks;
    {
      PhaseTimer timer(timings_ != nullptr ? &timings_->split_ms : nullptr);
      chunks = Split(tokens);
    }
    TokenWindow window(tokens, text);
    FirstErrorListener listener(diagnostics_, file_id_, text, window);
    std::unique_ptr<GovParser> parser;
    std::vector<int> depths;
    for (auto [begin, end] : chunks) {
      if (TooManyErrors(tokens[begin].begin)) return;
      bool too_deep = false;
      {
        PhaseTimer timer(timings_ != nullptr ? &timings_->split_ms : nullptr);
        too_deep = NestsTooDeep(tokens, begin, end);
      }
      if (too_deep) {
        ++errors_;
        continue;
      }
      if (end - begin > kMaxDeclTokens) {
        ++errors_;
        diagnostics_.Emit(Kind::kTooLarge, Span{file_id_, tokens[begin].begin, tokens[begin].end},
                          fmt::format("declaration has more than {} tokens", kMaxDeclTokens));
        continue;
      }
      window.Select(begin, end);
      try {
        if (parser == nullptr) {
          parser = std::make_unique<GovParser>(&window);
          parser->setBuildParseTree(false);
          parser->removeErrorListeners();
          parser->addErrorListener(&listener);
        }
        GovParser::SingleDeclarationContext* tree = nullptr;
        {
          PhaseTimer timer(timings_ != nullptr ? &timings_->parse_ms : nullptr);
          tree = ParseWindow(*parser, window, listener);
        }
        PhaseTimer timer(timings_ != nullptr ? &timings_->build_ms : nullptr);
        ast::Decl decl;
        AstBuilder builder(source_, file_id_, diagnostics_, out.expr_count, depths);
        if (builder.BuildDeclaration(Need(tree->decl), decl)) {
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
  ParseTimings* timings_;
  // Error strategies hold per-parse state, so each file parser has its own.
  std::shared_ptr<antlr4::ANTLRErrorStrategy> bail_ = std::make_shared<antlr4::BailErrorStrategy>();
  std::shared_ptr<antlr4::ANTLRErrorStrategy> recover_ = std::make_shared<antlr4::DefaultErrorStrategy>();
  std::size_t errors_ = 0;
  bool gave_up_ = false;
};

}  // namespace

ast::File ParseFile(const source::SourceManager& sources, source::FileId file, diagnostics::Collector& diagnostics,
                    ParseTimings* timings) {
  PhaseTimer timer(timings != nullptr ? &timings->total_ms : nullptr);
  return FileParser(sources, file, diagnostics, timings).Run();
}

}  // namespace gov::parse
