// The regex parser: turns an RE2-like regular expression into a pattern AST.
// Recursion is bounded by kMaxGroupNesting. Syntax and semantics are
// specified in docs/patterns.md.
#include <cstdint>
#include <string>

#include "runtime/pattern/pattern_internal.h"

namespace gov::pattern::internal {
namespace {

bool IsAsciiDigit(char c) {
  return c >= '0' && c <= '9';
}

bool IsAsciiLetter(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') {
    return c - '0';
  }
  if (c >= 'a' && c <= 'f') {
    return c - 'a' + 10;
  }
  if (c >= 'A' && c <= 'F') {
    return c - 'A' + 10;
  }
  return -1;
}

// ASCII punctuation, which may always be escaped to stand for itself.
bool IsEscapablePunctuation(char c) {
  return (c >= '!' && c <= '/') || (c >= ':' && c <= '@') || (c >= '[' && c <= '`') || (c >= '{' && c <= '~');
}

std::vector<Range> AllCodePoints() {
  return {{0, kMaxCodePoint}};
}

// The sets behind `\d`, `\w` and `\s` (ASCII only).
std::vector<Range> PerlClass(char letter) {
  switch (letter) {
    case 'd':
      return {{'0', '9'}};
    case 'w':
      return {{'0', '9'}, {'A', 'Z'}, {'_', '_'}, {'a', 'z'}};
    default:
      return {{'\t', '\r'}, {' ', ' '}};
  }
}

// A repetition operator and where it is in the source.
struct Quantifier {
  std::size_t offset = 0;
  std::size_t end = 0;
  int min = 0;
  int max = 0;
};

// The result of an escape: one code point, a set of code points, or any byte.
struct Escape {
  enum class Kind { kCodePoint, kSet, kAnyByte };
  Kind kind = Kind::kCodePoint;
  std::uint32_t cp = 0;
  std::vector<Range> set;
};

class RegexParser {
 public:
  RegexParser(std::string_view source, Ast* ast, std::vector<std::size_t>* top_level_bars = nullptr)
      : source_(source), ast_(ast), top_level_bars_(top_level_bars) {}

  std::optional<PatternError> Parse() {
    const std::size_t root = ParseAlternation(0);
    if (!error_.has_value() && pos_ < source_.size()) {
      // ParseAlternation stops only at the end or at a `)` it did not open.
      Fail(pos_, 1, "unmatched `)`");
    }
    if (error_.has_value()) {
      return error_;
    }
    ast_->root = root;
    return std::nullopt;
  }

 private:
  // Records the first error; returns 0 so callers can `return Fail(...)`.
  std::size_t Fail(std::size_t offset, std::size_t length, std::string message) {
    if (!error_.has_value()) {
      error_ = PatternError{offset, length, std::move(message)};
    }
    return 0;
  }

  std::string Text(std::size_t offset, std::size_t length) const { return std::string(source_.substr(offset, length)); }

  bool AtEnd() const { return pos_ >= source_.size(); }

  char Peek(std::size_t ahead = 0) const { return pos_ + ahead < source_.size() ? source_[pos_ + ahead] : '\0'; }

  bool HasAhead(std::size_t ahead) const { return pos_ + ahead < source_.size(); }

  std::uint32_t NextCodePoint() {
    std::uint32_t cp = 0;
    pos_ += DecodeUtf8(source_, pos_, &cp);
    return cp;
  }

  // alternation := concat ('|' concat)*
  std::size_t ParseAlternation(int depth) {
    std::vector<std::size_t> branches;
    branches.push_back(ParseConcat(depth));
    while (!error_.has_value() && !AtEnd() && Peek() == '|') {
      if (depth == 0 && top_level_bars_ != nullptr) top_level_bars_->push_back(pos_);
      ++pos_;
      branches.push_back(ParseConcat(depth));
    }
    if (error_.has_value()) {
      return 0;
    }
    return ast_->AddAlternate(std::move(branches));
  }

  // concat := (atom quantifier?)*
  std::size_t ParseConcat(int depth) {
    std::vector<std::size_t> items;
    while (!AtEnd() && Peek() != '|' && Peek() != ')') {
      std::optional<std::size_t> atom = ParseAtom(depth);
      if (error_.has_value()) {
        return 0;
      }
      bool quantified = false;
      Quantifier quantifier;
      while (!AtEnd() && ParseQuantifier(&quantifier)) {
        const std::string text = Text(quantifier.offset, quantifier.end - quantifier.offset);
        if (!atom.has_value()) {
          return Fail(quantifier.offset, text.size(), "quantifier `" + text + "` has nothing to repeat");
        }
        if (quantified) {
          return Fail(
              quantifier.offset, text.size(),
              "quantifier `" + text + "` follows another quantifier: wrap the repeated part in a group `(...)`");
        }
        pos_ = quantifier.end;
        if (!AtEnd() && Peek() == '?') {
          // Lazy: the same language, since only membership is decided.
          ++pos_;
        } else if (!AtEnd() && Peek() == '+') {
          return Fail(quantifier.offset, text.size() + 1,
                      "possessive quantifier `" + text + "+` is not supported: its meaning depends on backtracking");
        }
        atom = ast_->AddRepeat(*atom, quantifier.min, quantifier.max);
        quantified = true;
      }
      if (error_.has_value()) {
        return 0;
      }
      if (atom.has_value()) {
        items.push_back(*atom);
      }
    }
    return ast_->AddConcat(std::move(items));
  }

  // Recognizes a quantifier at pos_ without consuming it. Returns false if
  // there is none, or if a `{` is malformed (then an error is recorded).
  bool ParseQuantifier(Quantifier* quantifier) {
    quantifier->offset = pos_;
    quantifier->end = pos_ + 1;
    switch (Peek()) {
      case '*':
        quantifier->min = 0;
        quantifier->max = -1;
        return true;
      case '+':
        quantifier->min = 1;
        quantifier->max = -1;
        return true;
      case '?':
        quantifier->min = 0;
        quantifier->max = 1;
        return true;
      case '{':
        return ParseBraces(quantifier);
      default:
        return false;
    }
  }

  // Reads a decimal count at `*i`; returns -1 if there are no digits, and
  // reports counts above kMaxRepeatCount.
  int ReadCount(std::size_t* i) {
    const std::size_t start = *i;
    std::int64_t value = 0;
    while (*i < source_.size() && IsAsciiDigit(source_[*i])) {
      if (value <= kMaxRepeatCount) {
        value = value * 10 + (source_[*i] - '0');
      }
      ++*i;
    }
    if (*i == start) {
      return -1;
    }
    if (value > kMaxRepeatCount) {
      Fail(
          start, *i - start,
          "repetition count `" + Text(start, *i - start) + "` exceeds the limit of " + std::to_string(kMaxRepeatCount));
      return -1;
    }
    return static_cast<int>(value);
  }

  // `{n}`, `{n,}` or `{n,m}` at pos_.
  bool ParseBraces(Quantifier* quantifier) {
    const std::size_t start = pos_;
    const auto invalid = [&] {
      Fail(start, 1, "invalid repetition `{`: expected `{n}`, `{n,}` or `{n,m}`; write `\\{` for a literal `{`");
      return false;
    };
    std::size_t i = start + 1;
    const int min = ReadCount(&i);
    if (error_.has_value()) {
      return false;
    }
    if (min < 0) {
      return invalid();
    }
    int max = min;
    if (i < source_.size() && source_[i] == ',') {
      ++i;
      if (i < source_.size() && IsAsciiDigit(source_[i])) {
        max = ReadCount(&i);
        if (error_.has_value()) {
          return false;
        }
      } else {
        max = -1;
      }
    }
    if (i >= source_.size() || source_[i] != '}') {
      return invalid();
    }
    ++i;
    if (max >= 0 && min > max) {
      Fail(start, i - start,
           "reversed repetition range `" + Text(start, i - start) + "`: the minimum is greater than the maximum");
      return false;
    }
    quantifier->end = i;
    quantifier->min = min;
    quantifier->max = max;
    return true;
  }

  // atom := literal | '.' | class | group | escape; anchors give no atom.
  // Quantifier characters are left for ParseConcat to report.
  std::optional<std::size_t> ParseAtom(int depth) {
    switch (Peek()) {
      case '(':
        return ParseGroup(depth);
      case '[':
        return ParseClass();
      case '.':
        ++pos_;
        return ast_->AddCodePoints(RemoveCodePoint(AllCodePoints(), '\n'));
      case '\\': {
        Escape escape;
        if (!ParseEscape(/*in_class=*/false, &escape)) {
          return std::nullopt;
        }
        switch (escape.kind) {
          case Escape::Kind::kCodePoint:
            return ast_->AddCodePoint(escape.cp);
          case Escape::Kind::kSet:
            return ast_->AddCodePoints(std::move(escape.set));
          case Escape::Kind::kAnyByte:
            return ast_->AddBytes({{0, 0xFF}});
        }
        return std::nullopt;
      }
      case '^':
        if (pos_ == 0) {
          ++pos_;
          return std::nullopt;
        }
        Fail(pos_, 1, "`^` is only supported at the very start of the pattern: matching is always anchored");
        return std::nullopt;
      case '$':
        if (pos_ + 1 == source_.size()) {
          ++pos_;
          return std::nullopt;
        }
        Fail(pos_, 1, "`$` is only supported at the very end of the pattern: matching is always anchored");
        return std::nullopt;
      case '*':
      case '+':
      case '?':
      case '{':
        return std::nullopt;
      default:
        return ast_->AddCodePoint(NextCodePoint());
    }
  }

  // group := '(' alternation ')' | '(?:' ... ')' | '(?<name>' ... ')'
  std::optional<std::size_t> ParseGroup(int depth) {
    const std::size_t open = pos_;
    if (depth >= kMaxGroupNesting) {
      Fail(open, 1, "groups are nested too deeply: the limit is " + std::to_string(kMaxGroupNesting) + " levels");
      return std::nullopt;
    }
    ++pos_;
    if (Peek() == '?') {
      if (!ParseGroupPrefix(open)) {
        return std::nullopt;
      }
    }
    const std::size_t inner = ParseAlternation(depth + 1);
    if (error_.has_value()) {
      return std::nullopt;
    }
    if (AtEnd() || Peek() != ')') {
      Fail(open, 1, "unclosed group `(`");
      return std::nullopt;
    }
    ++pos_;
    return inner;
  }

  // Consumes what follows `(?`; only non-capturing and named groups are
  // accepted. pos_ is at the `?`.
  bool ParseGroupPrefix(std::size_t open) {
    const std::string_view rest = source_.substr(pos_ + 1);
    const auto starts = [&](std::string_view prefix) { return rest.substr(0, prefix.size()) == prefix; };
    if (starts(":")) {
      pos_ += 2;
      return true;
    }
    if (starts("=") || starts("!")) {
      Fail(open, 3, "lookahead `" + Text(open, 3) + "` is not supported: matching must be linear-time");
      return false;
    }
    if (starts("<=") || starts("<!")) {
      Fail(open, 4, "lookbehind `" + Text(open, 4) + "` is not supported: matching must be linear-time");
      return false;
    }
    if (starts("P=")) {
      Fail(open, 4, "backreferences are not supported: matching must be linear-time");
      return false;
    }
    if (starts(">")) {
      Fail(open, 3, "atomic groups `(?>` are not supported: their meaning depends on backtracking");
      return false;
    }
    if (starts("<") || starts("P<")) {
      std::size_t i = pos_ + (starts("<") ? 2 : 3);
      const std::size_t name_start = i;
      while (i < source_.size() &&
             (IsAsciiLetter(source_[i]) || source_[i] == '_' || (i > name_start && IsAsciiDigit(source_[i])))) {
        ++i;
      }
      if (i == name_start || i >= source_.size() || source_[i] != '>') {
        Fail(open, i - open,
             "invalid group name: expected `(?<name>...)` with a name of "
             "ASCII letters, digits and `_`, not starting with a digit");
        return false;
      }
      pos_ = i + 1;
      return true;
    }
    if (IsAsciiLetter(Peek(1)) || Peek(1) == '-') {
      std::size_t i = pos_ + 1;
      while (i < source_.size() && (IsAsciiLetter(source_[i]) || source_[i] == '-')) {
        ++i;
      }
      if (i < source_.size() && (source_[i] == ')' || source_[i] == ':')) {
        ++i;
      }
      Fail(open, i - open, "inline flags `" + Text(open, i - open) + "` are not supported");
      return false;
    }
    Fail(open, 2, "invalid group syntax after `(?`");
    return false;
  }

  // Parses `\...` at pos_. In a class, `\C` is not allowed.
  bool ParseEscape(bool in_class, Escape* escape) {
    const std::size_t start = pos_;
    if (pos_ + 1 >= source_.size()) {
      Fail(start, 1, "trailing `\\` escapes nothing: write `\\\\` to match a backslash");
      return false;
    }
    ++pos_;
    const char c = Peek();
    if (static_cast<unsigned char>(c) >= 0x80) {
      NextCodePoint();
      Fail(start, pos_ - start, "unknown escape `" + Text(start, pos_ - start) + "`");
      return false;
    }
    ++pos_;
    const auto code_point = [&](std::uint32_t cp) {
      escape->kind = Escape::Kind::kCodePoint;
      escape->cp = cp;
      return true;
    };
    switch (c) {
      case 'd':
      case 'w':
      case 's':
        escape->kind = Escape::Kind::kSet;
        escape->set = PerlClass(c);
        return true;
      case 'D':
      case 'W':
      case 'S':
        escape->kind = Escape::Kind::kSet;
        escape->set = ComplementRanges(NormalizeRanges(PerlClass(static_cast<char>(c - 'A' + 'a'))));
        return true;
      case 'n':
        return code_point('\n');
      case 't':
        return code_point('\t');
      case 'r':
        return code_point('\r');
      case 'f':
        return code_point('\f');
      case 'v':
        return code_point('\v');
      case 'x':
        return ParseHexEscape(start, escape);
      case 'C':
        if (in_class) {
          Fail(start, 2, "`\\C` cannot be used in a character class");
          return false;
        }
        escape->kind = Escape::Kind::kAnyByte;
        return true;
      case '0':
        Fail(start, 2, "octal escapes are not supported: write `\\xHH`");
        return false;
      case 'b':
      case 'B':
        if (in_class) {
          Fail(start, 2, "unknown escape `\\b` in a character class: write `\\x08` for a backspace");
        } else {
          Fail(start, 2, "word boundary `" + Text(start, 2) + "` is not supported");
        }
        return false;
      case 'A':
      case 'z':
      case 'Z':
      case 'G':
        Fail(start, 2, "anchor `" + Text(start, 2) + "` is not supported: matching is always anchored at both ends");
        return false;
      case 'p':
      case 'P':
        Fail(start, 2, "property classes like `\\p{L}` are not supported: use explicit ranges");
        return false;
      case 'k':
        Fail(start, 2, "backreferences are not supported: matching must be linear-time");
        return false;
      case 'u':
        Fail(start, 2, "unknown escape `\\u`: write `\\x{...}` for a code point");
        return false;
      default:
        break;
    }
    if (IsAsciiDigit(c)) {
      if (in_class) {
        Fail(start, 2, "octal escapes are not supported: write `\\xHH`");
      } else {
        Fail(start, 2, "backreferences are not supported: matching must be linear-time");
      }
      return false;
    }
    if (IsEscapablePunctuation(c)) {
      return code_point(static_cast<unsigned char>(c));
    }
    Fail(start, 2, "unknown escape `" + Text(start, 2) + "`");
    return false;
  }

  // `\xHH` or `\x{H...}`; pos_ is just past the `x`.
  bool ParseHexEscape(std::size_t start, Escape* escape) {
    const auto invalid = [&] {
      Fail(start, pos_ - start, "invalid hex escape: expected `\\xHH` or `\\x{HHHHHH}`");
      return false;
    };
    std::uint32_t value = 0;
    if (Peek() == '{') {
      ++pos_;
      const std::size_t digits_start = pos_;
      while (!AtEnd() && HexValue(Peek()) >= 0) {
        if (value <= kMaxCodePoint) {
          value = value * 16 + static_cast<std::uint32_t>(HexValue(Peek()));
        }
        ++pos_;
      }
      if (pos_ == digits_start || AtEnd() || Peek() != '}') {
        return invalid();
      }
      ++pos_;
    } else {
      for (int i = 0; i < 2; ++i) {
        if (AtEnd() || HexValue(Peek()) < 0) {
          return invalid();
        }
        value = value * 16 + static_cast<std::uint32_t>(HexValue(Peek()));
        ++pos_;
      }
    }
    if (value > kMaxCodePoint) {
      Fail(start, pos_ - start,
           "code point `" + Text(start, pos_ - start) + "` is out of range: the maximum is `\\x{10FFFF}`");
      return false;
    }
    if (value >= 0xD800 && value <= 0xDFFF) {
      Fail(start, pos_ - start,
           "code point `" + Text(start, pos_ - start) + "` is a surrogate, which UTF-8 cannot encode");
      return false;
    }
    escape->kind = Escape::Kind::kCodePoint;
    escape->cp = value;
    return true;
  }

  // One class member: a character (possibly escaped) or an escape's set.
  bool ParseClassMember(Escape* member) {
    if (Peek() == '\\') {
      return ParseEscape(/*in_class=*/true, member);
    }
    member->kind = Escape::Kind::kCodePoint;
    member->cp = NextCodePoint();
    return true;
  }

  // class := '[' '^'? member+ ']' with ranges `a-z` and `[:name:]`.
  std::optional<std::size_t> ParseClass() {
    const std::size_t start = pos_;
    ++pos_;
    const bool negated = !AtEnd() && Peek() == '^';
    if (negated) {
      ++pos_;
    }
    if (!AtEnd() && Peek() == ']') {
      const std::size_t length = pos_ + 1 - start;
      Fail(start, length, "empty character class `" + Text(start, length) + "`: write `\\]` to match `]`");
      return std::nullopt;
    }
    std::vector<Range> ranges;
    while (true) {
      if (AtEnd()) {
        Fail(start, 1, "unclosed character class `[`");
        return std::nullopt;
      }
      if (Peek() == ']') {
        ++pos_;
        break;
      }
      if (Peek() == '[' && Peek(1) == ':') {
        std::size_t end = 0;
        const PosixClassParse parsed = ParsePosixClass(source_, pos_, &end, &ranges);
        if (parsed == PosixClassParse::kUnknownName) {
          Fail(pos_, end - pos_, "unknown POSIX class `" + Text(pos_, end - pos_) + "`");
          return std::nullopt;
        }
        if (parsed == PosixClassParse::kParsed) {
          pos_ = end;
          continue;
        }
      }
      const std::size_t item_start = pos_;
      Escape lo;
      if (!ParseClassMember(&lo)) {
        return std::nullopt;
      }
      const bool is_range = !AtEnd() && Peek() == '-' && HasAhead(1) && Peek(1) != ']';
      if (lo.kind == Escape::Kind::kSet) {
        if (is_range) {
          Fail(item_start, pos_ + 1 - item_start,
               "`" + Text(item_start, pos_ - item_start) + "` cannot start a range: it is a class, not a character");
          return std::nullopt;
        }
        ranges.insert(ranges.end(), lo.set.begin(), lo.set.end());
        continue;
      }
      if (!is_range) {
        ranges.push_back({lo.cp, lo.cp});
        continue;
      }
      ++pos_;
      const std::size_t hi_start = pos_;
      Escape hi;
      if (!ParseClassMember(&hi)) {
        return std::nullopt;
      }
      if (hi.kind == Escape::Kind::kSet) {
        Fail(hi_start, pos_ - hi_start,
             "`" + Text(hi_start, pos_ - hi_start) + "` cannot end a range: it is a class, not a character");
        return std::nullopt;
      }
      if (lo.cp > hi.cp) {
        Fail(item_start, pos_ - item_start,
             "reversed range `" + Text(item_start, pos_ - item_start) + "` in character class");
        return std::nullopt;
      }
      ranges.push_back({lo.cp, hi.cp});
    }
    ranges = NormalizeRanges(std::move(ranges));
    if (negated) {
      ranges = ComplementRanges(ranges);
    }
    return ast_->AddCodePoints(std::move(ranges));
  }

  std::string_view source_;
  Ast* ast_;
  std::vector<std::size_t>* top_level_bars_;
  std::size_t pos_ = 0;
  std::optional<PatternError> error_;
};

}  // namespace

std::optional<PatternError> ParseRegex(std::string_view source, Ast* ast) {
  return RegexParser(source, ast).Parse();
}

std::vector<std::string> RegexAlternatives(std::string_view source) {
  Ast ast;
  std::vector<std::size_t> bars;
  if (RegexParser(source, &ast, &bars).Parse().has_value()) return {std::string(source)};
  std::vector<std::string> alternatives;
  std::size_t begin = 0;
  for (std::size_t bar : bars) {
    alternatives.emplace_back(source.substr(begin, bar - begin));
    begin = bar + 1;
  }
  alternatives.emplace_back(source.substr(begin));
  return alternatives;
}

}  // namespace gov::pattern::internal
