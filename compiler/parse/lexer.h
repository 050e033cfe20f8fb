// The Gov lexer: a hand-written equivalent of the lexer rules of
// grammar/Gov.g4, which stays the definition. It yields the generated
// lexer's token types and follows its semantics exactly (the longest match
// wins; on equal length the rule defined first, and literal tokens such as
// keywords come before every named rule), but reads UTF-8 bytes directly
// instead of building ANTLR token objects. Only compiler/parse uses it.
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "GovLexer.h"

namespace gov::parse::lexer {

// One token: its generated token type and its byte range in the text.
struct Token {
  std::size_t type;
  std::uint32_t begin;
  std::uint32_t end;
};

// The spelling → type tables of the grammar's literal tokens, read from the
// generated vocabulary (so a new keyword or operator needs no change here).
class Literals {
 public:
  static const Literals& Get() {
    static const Literals literals;
    return literals;
  }

  // Type of the keyword spelled `word`, or 0.
  std::size_t Keyword(std::string_view word) const {
    auto it = keywords_.find(word);
    return it == keywords_.end() ? 0 : it->second;
  }
  // Type of the one-character operator or punctuation `c`, or 0.
  std::size_t Single(char c) const { return IsAscii(c) ? single_[static_cast<unsigned char>(c)] : 0; }
  // Type of the two-character operator `first second`, or 0.
  std::size_t Double(char first, char second) const {
    if (!IsAscii(first) || !IsAscii(second)) return 0;
    return double_[static_cast<unsigned char>(first) * 128u + static_cast<unsigned char>(second)];
  }

 private:
  Literals() {
    const antlr4::dfa::Vocabulary& vocabulary = gov_parser::GovLexer(nullptr).getVocabulary();
    std::vector<std::pair<std::size_t, std::string>> words;
    for (std::size_t type = 1; type <= vocabulary.getMaxTokenType(); ++type) {
      std::string name = vocabulary.getLiteralName(type);
      if (name.size() < 3 || name.front() != '\'' || name.back() != '\'') continue;
      std::string spelling = name.substr(1, name.size() - 2);
      bool word = true;
      for (char c : spelling) word = word && IsIdentChar(c);
      if (word) {
        words.emplace_back(type, spelling);
      } else if (spelling.size() == 1 && IsAscii(spelling[0])) {
        single_[static_cast<unsigned char>(spelling[0])] = static_cast<std::uint16_t>(type);
      } else if (spelling.size() == 2 && IsAscii(spelling[0]) && IsAscii(spelling[1])) {
        double_[static_cast<unsigned char>(spelling[0]) * 128u + static_cast<unsigned char>(spelling[1])] =
            static_cast<std::uint16_t>(type);
      } else {
        unsupported_ = true;
      }
    }
    storage_.reserve(words.size());
    for (auto& [type, spelling] : words) {
      storage_.push_back(std::move(spelling));
      keywords_.emplace(storage_.back(), type);
    }
  }

 public:
  static bool IsAscii(char c) { return static_cast<unsigned char>(c) < 128; }
  static bool IsIdentStart(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
  static bool IsIdentChar(char c) { return IsIdentStart(c) || (c >= '0' && c <= '9'); }
  // True when the grammar has a literal token this lexer cannot produce (an
  // operator longer than two characters); ParseFile then fails closed.
  bool unsupported() const { return unsupported_; }

 private:
  std::vector<std::string> storage_;
  std::unordered_map<std::string_view, std::size_t> keywords_;
  std::array<std::uint16_t, 128> single_{};
  std::array<std::uint16_t, 128 * 128> double_{};
  bool unsupported_ = false;
};

// Splits `text` (valid UTF-8) into tokens, comments and whitespace included;
// offsets are those of `text` plus `base`.
class Lexer {
 public:
  Lexer(std::string_view text, std::uint32_t base) : text_(text), base_(base), literals_(Literals::Get()) {}

  // The next token; false at the end of the text.
  bool Next(Token& token) {
    if (position_ >= text_.size()) return false;
    std::size_t start = position_;
    std::size_t type = Scan();
    token = Token{type, static_cast<std::uint32_t>(base_ + start), static_cast<std::uint32_t>(base_ + position_)};
    return true;
  }

 private:
  using L = gov_parser::GovLexer;

  char At(std::size_t i) const { return i < text_.size() ? text_[i] : '\0'; }
  bool HasAt(std::size_t i) const { return i < text_.size(); }
  static bool IsDigit(char c) { return c >= '0' && c <= '9'; }

  std::size_t Scan() {
    char c = text_[position_];
    if ((c == 'g' || c == 'r') && At(position_ + 1) == '"') return ScanQuoted(position_ + 1, c == 'g' ? L::GLOB : L::REGEX);
    if (Literals::IsIdentStart(c)) return ScanWord();
    if (c == '"') return ScanQuoted(position_, L::STRING);
    if (IsDigit(c)) return ScanNumber();
    if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
      while (HasAt(position_) && (At(position_) == ' ' || At(position_) == '\t' || At(position_) == '\r' ||
                                  At(position_) == '\n')) {
        ++position_;
      }
      return L::WS;
    }
    if (c == '/' && At(position_ + 1) == '/') {
      position_ += 2;
      while (HasAt(position_) && At(position_) != '\r' && At(position_) != '\n') ++position_;
      return L::LINE_COMMENT;
    }
    if (c == '/' && At(position_ + 1) == '*') {
      std::size_t close = text_.find("*/", position_ + 2);
      if (close == std::string_view::npos) {
        position_ = text_.size();
        return L::UNTERMINATED_COMMENT;
      }
      position_ = close + 2;
      return L::BLOCK_COMMENT;
    }
    if (HasAt(position_ + 1)) {
      if (std::size_t type = literals_.Double(c, At(position_ + 1))) {
        position_ += 2;
        return type;
      }
    }
    if (std::size_t type = literals_.Single(c)) {
      position_ += 1;
      return type;
    }
    // ERRCHAR: one code point.
    auto lead = static_cast<unsigned char>(c);
    std::size_t length = lead < 0x80 ? 1 : lead < 0xE0 ? 2 : lead < 0xF0 ? 3 : 4;
    position_ = std::min(position_ + length, text_.size());
    return L::ERRCHAR;
  }

  // IDENT or keyword.
  std::size_t ScanWord() {
    std::size_t start = position_;
    while (HasAt(position_) && Literals::IsIdentChar(At(position_))) ++position_;
    std::size_t keyword = literals_.Keyword(text_.substr(start, position_ - start));
    return keyword != 0 ? keyword : static_cast<std::size_t>(L::IDENT);
  }

  // `"` STRING_BODY `"` from the quote at `quote`; UNTERMINATED_STRING when
  // the body ends (line end, end of text, `\` before a line end) unclosed.
  std::size_t ScanQuoted(std::size_t quote, std::size_t closed_type) {
    std::size_t i = quote + 1;
    while (HasAt(i)) {
      char c = At(i);
      if (c == '"') {
        position_ = i + 1;
        return closed_type;
      }
      if (c == '\r' || c == '\n') break;
      if (c == '\\') {
        if (!HasAt(i + 1) || At(i + 1) == '\r' || At(i + 1) == '\n') break;
        i += 2;  // the escaped code point's further bytes are ordinary body bytes
        continue;
      }
      ++i;
    }
    position_ = i;
    return L::UNTERMINATED_STRING;
  }

  // DURATION, SIZE, INT or BAD_NUMBER: the longest, on a tie the first of these.
  std::size_t ScanNumber() {
    std::size_t start = position_;
    // DIGITS: [0-9] ('_'? [0-9])*, as long as possible.
    std::size_t digits_end = start + 1;
    bool underscore = false;
    for (;;) {
      if (IsDigit(At(digits_end)) && HasAt(digits_end)) {
        ++digits_end;
      } else if (At(digits_end) == '_' && HasAt(digits_end + 1) && IsDigit(At(digits_end + 1))) {
        underscore = true;
        digits_end += 2;
      } else {
        break;
      }
    }
    std::size_t run_end = start;
    while (HasAt(run_end) && Literals::IsIdentChar(At(run_end))) ++run_end;

    std::size_t duration = 0;
    if (At(digits_end) == 'm' && At(digits_end + 1) == 's') {
      duration = 2;
    } else if (HasAt(digits_end) && std::string_view("smhd").find(At(digits_end)) != std::string_view::npos) {
      duration = 1;
    }
    std::size_t size = 0;
    for (std::string_view unit : {"KiB", "MiB", "GiB", "TiB", "KB", "MB", "GB", "TB", "B"}) {
      if (text_.substr(digits_end, unit.size()) == unit) {
        size = unit.size();
        break;
      }
    }
    // BAD_NUMBER is DIGITS [a-zA-Z_] [a-zA-Z_0-9]*: the whole run of word
    // characters, when some shorter or full DIGITS is followed by a letter or `_`.
    bool bad = underscore || (HasAt(digits_end) && Literals::IsIdentStart(At(digits_end)));
    std::size_t length = digits_end - start;
    std::size_t type = L::INT;
    if (duration != 0) type = L::DURATION, length += duration;
    else if (size != 0) type = L::SIZE, length += size;
    if (bad && run_end - start > length) type = L::BAD_NUMBER, length = run_end - start;
    position_ = start + length;
    return type;
  }

  std::string_view text_;
  std::uint32_t base_;
  const Literals& literals_;
  std::size_t position_ = 0;
};

}  // namespace gov::parse::lexer
