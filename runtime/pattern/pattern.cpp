// Compile, the entry point of the pattern library, and the helpers shared by
// both parsers: code point range sets, UTF-8 decoding, POSIX classes, and
// AST construction.
#include "runtime/pattern/pattern.h"

#include <algorithm>
#include <array>
#include <new>
#include <string>
#include <utility>

#include "runtime/pattern/pattern_internal.h"

namespace gov::pattern {
namespace internal {

std::vector<Range> NormalizeRanges(std::vector<Range> ranges) {
  std::sort(ranges.begin(), ranges.end(),
            [](const Range& a, const Range& b) { return a.lo < b.lo || (a.lo == b.lo && a.hi < b.hi); });
  std::vector<Range> merged;
  for (const Range& range : ranges) {
    // Merge when overlapping or adjacent; `hi + 1` cannot overflow because
    // code points and bytes are far below the uint32 maximum.
    if (!merged.empty() && range.lo <= merged.back().hi + 1) {
      merged.back().hi = std::max(merged.back().hi, range.hi);
    } else {
      merged.push_back(range);
    }
  }
  return merged;
}

std::vector<Range> ComplementRanges(const std::vector<Range>& ranges) {
  std::vector<Range> result;
  std::uint32_t next = 0;
  for (const Range& range : ranges) {
    if (range.lo > next) {
      result.push_back({next, range.lo - 1});
    }
    next = range.hi + 1;
  }
  if (next <= kMaxCodePoint) {
    result.push_back({next, kMaxCodePoint});
  }
  return result;
}

std::vector<Range> RemoveCodePoint(const std::vector<Range>& ranges, std::uint32_t cp) {
  std::vector<Range> result;
  for (const Range& range : ranges) {
    if (cp < range.lo || cp > range.hi) {
      result.push_back(range);
      continue;
    }
    if (range.lo < cp) {
      result.push_back({range.lo, cp - 1});
    }
    if (cp < range.hi) {
      result.push_back({cp + 1, range.hi});
    }
  }
  return result;
}

std::size_t DecodeUtf8(std::string_view text, std::size_t pos, std::uint32_t* cp) {
  if (pos >= text.size()) {
    return 0;
  }
  const auto byte = [&](std::size_t i) { return static_cast<std::uint8_t>(text[pos + i]); };
  const std::uint8_t b0 = byte(0);
  if (b0 < 0x80) {
    *cp = b0;
    return 1;
  }
  std::size_t length = 0;
  // The allowed range of the second byte excludes overlong forms, surrogates
  // and code points above U+10FFFF.
  std::uint8_t second_lo = 0x80;
  std::uint8_t second_hi = 0xBF;
  std::uint32_t value = 0;
  if (b0 < 0xC2 || b0 >= 0xF5) {
    // Continuation bytes, overlong leads C0/C1, and leads beyond U+10FFFF.
    return 0;
  }
  if (b0 < 0xE0) {
    length = 2;
    value = b0 & 0x1F;
  } else if (b0 < 0xF0) {
    length = 3;
    value = b0 & 0x0F;
    if (b0 == 0xE0) {
      second_lo = 0xA0;
    } else if (b0 == 0xED) {
      second_hi = 0x9F;
    }
  } else {
    length = 4;
    value = b0 & 0x07;
    if (b0 == 0xF0) {
      second_lo = 0x90;
    } else if (b0 == 0xF4) {
      second_hi = 0x8F;
    }
  }
  if (text.size() - pos < length) {
    return 0;
  }
  for (std::size_t i = 1; i < length; ++i) {
    const std::uint8_t b = byte(i);
    const std::uint8_t lo = i == 1 ? second_lo : 0x80;
    const std::uint8_t hi = i == 1 ? second_hi : 0xBF;
    if (b < lo || b > hi) {
      return 0;
    }
    value = (value << 6) | (b & 0x3F);
  }
  *cp = value;
  return length;
}

PosixClassParse ParsePosixClass(std::string_view source, std::size_t pos, std::size_t* end,
                                std::vector<Range>* ranges) {
  struct PosixClass {
    std::string_view name;
    std::array<Range, 4> ranges;
    std::size_t count;
  };
  static constexpr PosixClass kClasses[] = {
      {"alnum", {{{'0', '9'}, {'A', 'Z'}, {'a', 'z'}}}, 3},
      {"alpha", {{{'A', 'Z'}, {'a', 'z'}}}, 2},
      {"ascii", {{{0x00, 0x7F}}}, 1},
      {"blank", {{{'\t', '\t'}, {' ', ' '}}}, 2},
      {"cntrl", {{{0x00, 0x1F}, {0x7F, 0x7F}}}, 2},
      {"digit", {{{'0', '9'}}}, 1},
      {"graph", {{{'!', '~'}}}, 1},
      {"lower", {{{'a', 'z'}}}, 1},
      {"print", {{{' ', '~'}}}, 1},
      {"punct", {{{'!', '/'}, {':', '@'}, {'[', '`'}, {'{', '~'}}}, 4},
      {"space", {{{'\t', '\r'}, {' ', ' '}}}, 2},
      {"upper", {{{'A', 'Z'}}}, 1},
      {"word", {{{'0', '9'}, {'A', 'Z'}, {'_', '_'}, {'a', 'z'}}}, 4},
      {"xdigit", {{{'0', '9'}, {'A', 'F'}, {'a', 'f'}}}, 3},
  };
  std::size_t i = pos + 2;
  const bool negated = i < source.size() && source[i] == '^';
  if (negated) {
    ++i;
  }
  const std::size_t name_start = i;
  while (i < source.size() && source[i] >= 'a' && source[i] <= 'z') {
    ++i;
  }
  if (i + 1 >= source.size() || source[i] != ':' || source[i + 1] != ']') {
    return PosixClassParse::kNotPosixClass;
  }
  *end = i + 2;
  const std::string_view name = source.substr(name_start, i - name_start);
  for (const PosixClass& posix_class : kClasses) {
    if (posix_class.name == name) {
      std::vector<Range> members(posix_class.ranges.begin(),
                                 posix_class.ranges.begin() + static_cast<std::ptrdiff_t>(posix_class.count));
      if (negated) {
        members = ComplementRanges(NormalizeRanges(std::move(members)));
      }
      ranges->insert(ranges->end(), members.begin(), members.end());
      return PosixClassParse::kParsed;
    }
  }
  return PosixClassParse::kUnknownName;
}

std::size_t Ast::AddEmpty() {
  nodes.push_back(Node{});
  return nodes.size() - 1;
}

std::size_t Ast::AddBytes(std::vector<Range> ranges) {
  Node node;
  node.kind = NodeKind::kBytes;
  node.ranges = NormalizeRanges(std::move(ranges));
  nodes.push_back(std::move(node));
  return nodes.size() - 1;
}

std::size_t Ast::AddCodePoints(std::vector<Range> ranges) {
  Node node;
  node.kind = NodeKind::kCodePoints;
  node.ranges = NormalizeRanges(std::move(ranges));
  nodes.push_back(std::move(node));
  return nodes.size() - 1;
}

std::size_t Ast::AddCodePoint(std::uint32_t cp) {
  return AddCodePoints({{cp, cp}});
}

std::size_t Ast::AddConcat(std::vector<std::size_t> children) {
  if (children.empty()) {
    return AddEmpty();
  }
  if (children.size() == 1) {
    return children[0];
  }
  Node node;
  node.kind = NodeKind::kConcat;
  node.children = std::move(children);
  nodes.push_back(std::move(node));
  return nodes.size() - 1;
}

std::size_t Ast::AddAlternate(std::vector<std::size_t> children) {
  if (children.empty()) {
    return AddEmpty();
  }
  if (children.size() == 1) {
    return children[0];
  }
  Node node;
  node.kind = NodeKind::kAlternate;
  node.children = std::move(children);
  nodes.push_back(std::move(node));
  return nodes.size() - 1;
}

std::size_t Ast::AddRepeat(std::size_t child, int min, int max) {
  Node node;
  node.kind = NodeKind::kRepeat;
  node.children = {child};
  node.min = min;
  node.max = max;
  nodes.push_back(std::move(node));
  return nodes.size() - 1;
}

}  // namespace internal

namespace {

// An error spanning the whole pattern, for limits that are not local.
PatternError WholePatternError(std::string_view source, std::string message) {
  return PatternError{0, source.size(), std::move(message)};
}

// The offset of the first byte of `source` that does not start a valid
// UTF-8 sequence, if any.
std::optional<std::size_t> FirstInvalidUtf8(std::string_view source) {
  for (std::size_t pos = 0; pos < source.size();) {
    std::uint32_t cp = 0;
    const std::size_t length = internal::DecodeUtf8(source, pos, &cp);
    if (length == 0) return pos;
    pos += length;
  }
  return std::nullopt;
}

CompileResult CompileImpl(Syntax syntax, std::string_view source) {
  if (source.size() > kMaxSourceBytes) {
    return {std::nullopt, PatternError{kMaxSourceBytes, source.size() - kMaxSourceBytes,
                                       "pattern is too long: " + std::to_string(source.size()) +
                                           " bytes, the limit is " + std::to_string(kMaxSourceBytes)}};
  }
  if (const std::optional<std::size_t> bad = FirstInvalidUtf8(source)) {
    return {std::nullopt, PatternError{*bad, 1, "pattern is not valid UTF-8"}};
  }

  internal::Ast ast;
  std::optional<PatternError> error =
      syntax == Syntax::kGlob ? internal::ParseGlob(source, &ast) : internal::ParseRegex(source, &ast);
  if (error.has_value()) {
    return {std::nullopt, std::move(error)};
  }

  auto built = internal::BuildDfaTables(ast);
  if (const auto* failure = std::get_if<internal::BuildFailure>(&built)) {
    std::string message;
    switch (*failure) {
      case internal::BuildFailure::kTooManyNfaStates:
        message =
            "pattern is too complex: it expands to more than " + std::to_string(kMaxNfaStates) + " automaton nodes";
        break;
      case internal::BuildFailure::kTooManyDfaStates:
        message = "pattern is too complex: more than " + std::to_string(kMaxDfaStates) + " automaton states";
        break;
      case internal::BuildFailure::kTooMuchWork:
        message = "pattern is too complex: building its automaton exceeds the work limit";
        break;
    }
    return {std::nullopt, WholePatternError(source, std::move(message))};
  }
  return {internal::DfaFactory::Canonicalize(std::get<internal::DfaTables>(built)), std::nullopt};
}

}  // namespace

std::vector<std::string> TopLevelAlternatives(Syntax syntax, std::string_view source) {
  if (syntax == Syntax::kGlob || source.size() > kMaxSourceBytes || FirstInvalidUtf8(source)) {
    return {std::string(source)};
  }
  return internal::RegexAlternatives(source);
}

CompileResult Compile(Syntax syntax, std::string_view source) noexcept {
  try {
    return CompileImpl(syntax, source);
  } catch (const std::bad_alloc&) {
    return {std::nullopt, WholePatternError(source, "pattern is too complex: out of memory")};
  }
}

}  // namespace gov::pattern
