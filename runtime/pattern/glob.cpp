// The glob parser: turns a glob such as `src/**/*.c` into a pattern AST.
// Syntax and semantics are specified in docs/patterns.md.
#include <string>

#include "runtime/pattern/pattern_internal.h"

namespace gov::pattern::internal {
namespace {

constexpr std::uint32_t kSlash = '/';

// Globs have no nesting, so the parser is one loop over the source.
class GlobParser {
 public:
  GlobParser(std::string_view source, Ast* ast) : source_(source), ast_(ast) {}

  std::optional<PatternError> Parse() {
    std::vector<std::size_t> items;
    while (pos_ < source_.size() && !error_.has_value()) {
      switch (source_[pos_]) {
        case '\\':
          ParseEscape(&items);
          break;
        case '*':
          ParseStars(&items);
          break;
        case '?':
          items.push_back(ast_->AddCodePoints(RemoveCodePoint({{0, kMaxCodePoint}}, kSlash)));
          ++pos_;
          break;
        case '[':
          ParseClass(&items);
          break;
        default:
          items.push_back(ast_->AddCodePoint(NextCodePoint()));
          break;
      }
    }
    if (error_.has_value()) {
      return error_;
    }
    ast_->root = ast_->AddConcat(std::move(items));
    return std::nullopt;
  }

 private:
  void Fail(std::size_t offset, std::size_t length, std::string message) {
    if (!error_.has_value()) {
      error_ = PatternError{offset, length, std::move(message)};
    }
  }

  // Decodes the code point at pos_ (the source is valid UTF-8) and moves past.
  std::uint32_t NextCodePoint() {
    std::uint32_t cp = 0;
    pos_ += DecodeUtf8(source_, pos_, &cp);
    return cp;
  }

  // `\c` matches the character c literally.
  void ParseEscape(std::vector<std::size_t>* items) {
    if (pos_ + 1 >= source_.size()) {
      Fail(pos_, 1, "trailing `\\` escapes nothing: write `\\\\` to match a backslash");
      return;
    }
    ++pos_;
    items->push_back(ast_->AddCodePoint(NextCodePoint()));
  }

  // `*` stays within a path segment; `**` is a whole segment and crosses `/`.
  void ParseStars(std::vector<std::size_t>* items) {
    const std::size_t start = pos_;
    std::size_t end = pos_;
    while (end < source_.size() && source_[end] == '*') {
      ++end;
    }
    const std::size_t run = end - start;
    if (run == 1) {
      items->push_back(ast_->AddRepeat(ast_->AddBytes({{0, kSlash - 1}, {kSlash + 1, 0xFF}}), 0, -1));
      pos_ = end;
      return;
    }
    if (run > 2) {
      Fail(start, run, "too many consecutive `*`: use `*` within a path segment or `**` as a whole segment");
      return;
    }
    const bool starts_segment = start == 0 || source_[start - 1] == '/';
    const bool ends_segment = end == source_.size() || source_[end] == '/';
    if (!starts_segment || !ends_segment) {
      Fail(start, run, "`**` must be a whole path segment, as in `a/**/b`: use `*` to match within a segment");
      return;
    }
    const std::size_t anything = ast_->AddRepeat(ast_->AddBytes({{0, 0xFF}}), 0, -1);
    if (end == source_.size()) {
      // A final `**` matches any rest of the string.
      items->push_back(anything);
      pos_ = end;
      return;
    }
    // `**/` matches zero or more whole segments, each with its `/`: the
    // empty string or any string ending in `/`.
    items->push_back(ast_->AddAlternate({ast_->AddEmpty(), ast_->AddConcat({anything, ast_->AddCodePoint(kSlash)})}));
    pos_ = end + 1;
  }

  // Reads one class member character, unescaping `\c`; false on error.
  bool ReadClassChar(std::size_t class_start, std::uint32_t* cp) {
    if (source_[pos_] == '\\') {
      if (pos_ + 1 >= source_.size()) {
        Fail(class_start, 1, "unclosed character class `[`");
        return false;
      }
      ++pos_;
    }
    *cp = NextCodePoint();
    return true;
  }

  // `[abc]`, `[a-z]`, `[!a-z]`, `[^a-z]`, `[[:alpha:]]`; never matches `/`.
  void ParseClass(std::vector<std::size_t>* items) {
    const std::size_t start = pos_;
    ++pos_;
    bool negated = false;
    if (pos_ < source_.size() && (source_[pos_] == '!' || source_[pos_] == '^')) {
      negated = true;
      ++pos_;
    }
    if (pos_ < source_.size() && source_[pos_] == ']') {
      const std::size_t length = pos_ + 1 - start;
      Fail(start, length,
           "empty character class `" + std::string(source_.substr(start, length)) + "`: write `\\]` to match `]`");
      return;
    }
    std::vector<Range> ranges;
    while (true) {
      if (pos_ >= source_.size()) {
        Fail(start, 1, "unclosed character class `[`");
        return;
      }
      if (source_[pos_] == ']') {
        ++pos_;
        break;
      }
      if (source_[pos_] == '[' && pos_ + 1 < source_.size() && source_[pos_ + 1] == ':') {
        std::size_t end = 0;
        const PosixClassParse parsed = ParsePosixClass(source_, pos_, &end, &ranges);
        if (parsed == PosixClassParse::kUnknownName) {
          Fail(pos_, end - pos_, "unknown POSIX class `" + std::string(source_.substr(pos_, end - pos_)) + "`");
          return;
        }
        if (parsed == PosixClassParse::kParsed) {
          pos_ = end;
          continue;
        }
      }
      const std::size_t item_start = pos_;
      std::uint32_t lo = 0;
      if (!ReadClassChar(start, &lo)) {
        return;
      }
      std::uint32_t hi = lo;
      if (pos_ + 1 < source_.size() && source_[pos_] == '-' && source_[pos_ + 1] != ']') {
        ++pos_;
        if (!ReadClassChar(start, &hi)) {
          return;
        }
      }
      if (lo == kSlash || hi == kSlash) {
        Fail(item_start, pos_ - item_start, "character classes never match `/`: remove it from the class");
        return;
      }
      if (lo > hi) {
        Fail(item_start, pos_ - item_start,
             "reversed range `" + std::string(source_.substr(item_start, pos_ - item_start)) + "` in character class");
        return;
      }
      ranges.push_back({lo, hi});
    }
    ranges = NormalizeRanges(std::move(ranges));
    if (negated) {
      ranges = ComplementRanges(ranges);
    }
    items->push_back(ast_->AddCodePoints(RemoveCodePoint(ranges, kSlash)));
  }

  std::string_view source_;
  Ast* ast_;
  std::size_t pos_ = 0;
  std::optional<PatternError> error_;
};

}  // namespace

std::optional<PatternError> ParseGlob(std::string_view source, Ast* ast) {
  return GlobParser(source, ast).Parse();
}

}  // namespace gov::pattern::internal
