// Unit tests for runtime/pattern: glob and regex matching, every compile
// error with its span, UTF-8 handling, resource limits, canonical minimal
// tables, serialization robustness, and differential tests against
// std::regex.
#include "runtime/pattern/pattern.h"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

// libstdc++ 12's <regex> trips a false -Wmaybe-uninitialized (GCC bug
// 105562) once inlined; std::regex is only the differential test's oracle.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <regex>
#pragma GCC diagnostic pop
#else
#include <regex>
#endif

namespace gov::pattern {
namespace {

// Renders bytes readably for test failure messages.
std::string Printable(std::string_view bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (const char c : bytes) {
    const auto byte = static_cast<std::uint8_t>(c);
    if (byte >= 0x20 && byte < 0x7F && byte != '\\') {
      out.push_back(c);
    } else {
      out += "\\x";
      out.push_back(kHex[byte >> 4]);
      out.push_back(kHex[byte & 0xF]);
    }
  }
  return out;
}

const char* SyntaxName(Syntax syntax) {
  return syntax == Syntax::kGlob ? "glob" : "regex";
}

Dfa CompileOk(Syntax syntax, std::string_view pattern) {
  CompileResult result = Compile(syntax, pattern);
  INFO(SyntaxName(syntax) << " `" << Printable(pattern.substr(0, 80))
                          << "` failed: " << (result.error ? result.error->message : ""));
  REQUIRE_FALSE(result.error.has_value());
  REQUIRE(result.dfa.has_value());
  return *result.dfa;
}

std::string EncodeUtf8(std::uint32_t cp) {
  std::string out;
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
  return out;
}

bool IsSurrogate(std::uint32_t cp) {
  return cp >= 0xD800 && cp <= 0xDFFF;
}

// Reference decoder written independently of the library: decode by the lead
// byte's bit pattern, then accept only if re-encoding gives the same bytes
// (which rules out overlong forms) and the value is a scalar value.
// Returns the code point if `bytes` is exactly one valid encoding, else -1.
long DecodeSingleCodePoint(std::string_view bytes) {
  if (bytes.empty()) {
    return -1;
  }
  const auto b0 = static_cast<std::uint8_t>(bytes[0]);
  std::size_t length = 0;
  std::uint32_t cp = 0;
  if ((b0 & 0x80) == 0) {
    length = 1;
    cp = b0;
  } else if ((b0 & 0xE0) == 0xC0) {
    length = 2;
    cp = b0 & 0x1F;
  } else if ((b0 & 0xF0) == 0xE0) {
    length = 3;
    cp = b0 & 0x0F;
  } else if ((b0 & 0xF8) == 0xF0) {
    length = 4;
    cp = b0 & 0x07;
  } else {
    return -1;
  }
  if (bytes.size() != length) {
    return -1;
  }
  for (std::size_t i = 1; i < length; ++i) {
    const auto b = static_cast<std::uint8_t>(bytes[i]);
    if ((b & 0xC0) != 0x80) {
      return -1;
    }
    cp = (cp << 6) | (b & 0x3F);
  }
  if (cp > 0x10FFFF || IsSurrogate(cp) || EncodeUtf8(cp) != bytes) {
    return -1;
  }
  return static_cast<long>(cp);
}

struct MatchCase {
  std::string pattern;
  std::string text;
  bool matches;
};

void CheckMatches(Syntax syntax, const std::vector<MatchCase>& cases) {
  for (const MatchCase& c : cases) {
    INFO(SyntaxName(syntax) << " `" << Printable(c.pattern) << "` on \"" << Printable(c.text) << "\"");
    const Dfa dfa = CompileOk(syntax, c.pattern);
    CHECK(dfa.Matches(c.text) == c.matches);
  }
}

struct ErrorCase {
  std::string pattern;
  std::size_t offset;
  std::size_t length;
  std::string message;
};

void CheckErrors(Syntax syntax, const std::vector<ErrorCase>& cases) {
  for (const ErrorCase& c : cases) {
    INFO(SyntaxName(syntax) << " `" << Printable(c.pattern.substr(0, 80)) << "`");
    const CompileResult result = Compile(syntax, c.pattern);
    CHECK_FALSE(result.dfa.has_value());
    REQUIRE(result.error.has_value());
    CHECK(result.error->message == c.message);
    CHECK(result.error->offset == c.offset);
    CHECK(result.error->length == c.length);
    CHECK(result.error->offset + result.error->length <= c.pattern.size());
  }
}

TEST_CASE("glob matching", "[pattern][glob]") {
  using namespace std::string_literals;
  const std::vector<MatchCase> cases = {
      {"", "", true},
      {"", "a", false},
      {"abc", "abc", true},
      {"abc", "abd", false},
      {"abc", "ab", false},
      {"abc", "abcd", false},
      // `*` stays within a segment and matches any bytes but `/`.
      {"*", "", true},
      {"*", "abc", true},
      {"*", "a/b", false},
      {"*", "/", false},
      {"*", "\xff\xfe", true},
      {"a*", "a\0b"s, true},
      {"*.txt", "notes.txt", true},
      {"*.txt", ".txt", true},
      {"*.txt", "dir/notes.txt", false},
      {"*.txt", "notes.txt.bak", false},
      {"a*b*c", "abc", true},
      {"a*b*c", "axxbyyc", true},
      {"a*b*c", "acb", false},
      {"/etc/*", "/etc/passwd", true},
      {"/etc/*", "/etc/ssh/sshd_config", false},
      {"/etc/*", "/etc/", true},
      // `?` is one code point other than `/`.
      {"?", "a", true},
      {"?", "", false},
      {"?", "ab", false},
      {"?", "/", false},
      {"?", "\xc3\xa9", true},
      {"?", "\xf0\x9f\x98\x80", true},
      {"?", "\xff", false},
      {"?", "\xc3", false},
      {"a?c", "abc", true},
      {"a?c", "a/c", false},
      // `**` as a whole segment.
      {"**", "", true},
      {"**", "a/b/c", true},
      {"**", "/", true},
      {"**", "\xff/\0"s, true},
      {"**/x", "x", true},
      {"**/x", "a/x", true},
      {"**/x", "a/b/x", true},
      {"**/x", "/x", true},
      {"**/x", "ax", false},
      {"**/x", "a/xx", false},
      {"a/**/b", "a/b", true},
      {"a/**/b", "a/x/b", true},
      {"a/**/b", "a/x/y/b", true},
      {"a/**/b", "a//b", true},
      {"a/**/b", "ab", false},
      {"a/**/b", "a/xb", false},
      {"a/**", "a/", true},
      {"a/**", "a/x", true},
      {"a/**", "a/x/y", true},
      {"a/**", "a", false},
      {"a/**", "ab", false},
      {"src/**/*.c", "src/main.c", true},
      {"src/**/*.c", "src/a/b/main.c", true},
      {"src/**/*.c", "src/main.h", false},
      {"src/**/*.c", "lib/main.c", false},
      {"**/**", "a/b", true},
      {"**/**", "", true},
      // Classes never match `/`.
      {"[abc]", "a", true},
      {"[abc]", "d", false},
      {"[abc]", "", false},
      {"[abc]", "ab", false},
      {"[a-z]", "m", true},
      {"[a-z]", "M", false},
      {"[!a-z]", "M", true},
      {"[!a-z]", "m", false},
      {"[!a-z]", "/", false},
      {"[^a-z]", "M", true},
      {"[^a-z]", "/", false},
      {"[!a]", "\xc3\xa9", true},
      {"[!a]", "\xff", false},
      {"[+-0]", "+", true},
      {"[+-0]", "0", true},
      {"[+-0]", "/", false},
      {"[\\]]", "]", true},
      {"[a\\-z]", "-", true},
      {"[a\\-z]", "b", false},
      {"[a-]", "-", true},
      {"[-a]", "-", true},
      {"[\\!a]", "!", true},
      {"[[:digit:]]x", "7x", true},
      {"[[:alpha:]]", "7", false},
      {"[[:^digit:]]", "a", true},
      {"[[:^digit:]]", "/", false},
      {"[[:^digit:]]", "5", false},
      {"[[a]", "[", true},
      {"[\xc3\xa9-\xc3\xab]", "\xc3\xaa", true},
      {"[\xc3\xa9-\xc3\xab]", "e", false},
      // Escapes and literals.
      {"\\*", "*", true},
      {"\\*", "a", false},
      {"\\?", "?", true},
      {"\\[a]", "[a]", true},
      {"a\\\\b", "a\\b", true},
      {"\\a", "a", true},
      {"{a,b}", "{a,b}", true},
      {"{a,b}", "a", false},
      {"]", "]", true},
      {"!", "!", true},
      {"a\\**", "a*bc", true},
      {"a\\**", "abc", false},
      {"h\xc3\xa9llo*", "h\xc3\xa9llo w\xc3\xb6rld", true},
      {"h\xc3\xa9llo", "hello", false},
  };
  CheckMatches(Syntax::kGlob, cases);
}

TEST_CASE("regex matching", "[pattern][regex]") {
  const std::vector<MatchCase> cases = {
      {"", "", true},
      {"", "a", false},
      {"abc", "abc", true},
      {"abc", "ab", false},
      {"abc", "xabc", false},
      {"a|b", "a", true},
      {"a|b", "b", true},
      {"a|b", "ab", false},
      {"a|", "", true},
      {"|a", "a", true},
      {"a*", "", true},
      {"a*", "aaa", true},
      {"a*", "ab", false},
      {"a+", "", false},
      {"a+", "aa", true},
      {"a?", "", true},
      {"a?", "aa", false},
      {"a{3}", "aaa", true},
      {"a{3}", "aa", false},
      {"a{3}", "aaaa", false},
      {"a{2,}", "aa", true},
      {"a{2,}", "aaaaa", true},
      {"a{2,}", "a", false},
      {"a{2,4}", "aa", true},
      {"a{2,4}", "aaaa", true},
      {"a{2,4}", "aaaaa", false},
      {"a{0,1}", "", true},
      {"a{0}", "", true},
      {"a{0}", "a", false},
      {"a{0,0}b", "b", true},
      {"a{007}", "aaaaaaa", true},
      // Lazy quantifiers decide the same language.
      {"a*?b", "aab", true},
      {"a+?", "a", true},
      {"a??", "", true},
      {"a{1,2}?", "aa", true},
      {"a{2,}?", "aaa", true},
      {"(ab)+", "abab", true},
      {"(ab)+", "aba", false},
      {"(?:ab)*c", "ababc", true},
      {"(?<x>ab)c", "abc", true},
      {"(?P<x_1>ab)c", "abc", true},
      {"()", "", true},
      {"(|a)b", "b", true},
      {"(a|ab)(c|bcd)(d*)", "abcd", true},
      {"(a*)*", "aaa", true},
      {"(a*)+b", "b", true},
      {"(a|b)*abb", "babb", true},
      {"(a|b)*abb", "abba", false},
      // `.` is one code point other than `\n`.
      {".", "a", true},
      {".", "", false},
      {".", "\n", false},
      {".", "\r", true},
      {".", "\xc3\xa9", true},
      {".", "\xff", false},
      {".", "ab", false},
      {".*", "anything at all", true},
      {".*", "line\nbreak", false},
      // Classes.
      {"[abc]+", "cab", true},
      {"[^abc]", "d", true},
      {"[^abc]", "a", false},
      {"[^abc]", "\n", true},
      {"[^abc]", "\xe2\x82\xac", true},
      {"[a-c]x", "bx", true},
      {"[\\]]", "]", true},
      {"[a\\-]", "-", true},
      {"[-a]", "-", true},
      {"[a-]", "-", true},
      {"[a-c-e]", "-", true},
      {"[a-c-e]", "d", false},
      {"[\\^]", "^", true},
      {"[a^]", "^", true},
      {"[$]", "$", true},
      {"[.]", ".", true},
      {"[.]", "a", false},
      {"[[]", "[", true},
      {"[\\d_]", "_", true},
      {"[\\s\\d]", "5", true},
      {"[\\x{41}-\\x{43}]", "B", true},
      {"[[:alpha:]]+", "abcXYZ", true},
      {"[[:alpha:]]", "1", false},
      {"[[:^alpha:]]", "1", true},
      {"[[:digit:][:upper:]]+", "A1B2", true},
      {"[[:space:]]", "\v", true},
      {"[[:punct:]]", "~", true},
      {"[[:xdigit:]]+", "09afAF", true},
      {"[[:xdigit:]]", "g", false},
      // Perl classes (ASCII).
      {"\\d+", "0123", true},
      {"\\d", "a", false},
      {"\\D", "a", true},
      {"\\D", "5", false},
      {"\\w+", "a_1Z", true},
      {"\\w", "-", false},
      {"\\w", "\xc3\xa9", false},
      {"\\W", "-", true},
      {"\\W", "\xc3\xa9", true},
      {"\\s", "\t", true},
      {"\\s", "\v", true},
      {"\\s", " ", true},
      {"\\S", "x", true},
      {"\\S", " ", false},
      // Escapes.
      {"\\.", ".", true},
      {"\\.", "a", false},
      {"\\\\", "\\", true},
      {"\\n", "\n", true},
      {"\\t", "\t", true},
      {"\\r", "\r", true},
      {"\\f", "\f", true},
      {"\\v", "\v", true},
      {"\\x41", "A", true},
      {"\\x{41}", "A", true},
      {"\\x{000041}", "A", true},
      {"\\x{1F600}", "\xf0\x9f\x98\x80", true},
      {"\\xe9", "\xc3\xa9", true},
      {"\\xe9", "\xe9", false},
      {"\\*\\+\\?\\(\\)\\[\\]\\{\\}\\|\\^\\$\\/\\-\\#\\~", "*+?()[]{}|^$/-#~", true},
      // Anchors at the very ends are no-ops.
      {"^abc$", "abc", true},
      {"^abc", "abc", true},
      {"abc$", "abc", true},
      {"^$", "", true},
      {"^", "", true},
      {"$", "", true},
      {"a|b$", "a", true},
      {"^a|b", "b", true},
      // `]` and `}` alone are literals.
      {"]", "]", true},
      {"}", "}", true},
      {"a]}", "a]}", true},
      // `\C` is any single byte.
      {"\\C", "\xff", true},
      {"\\C", "\xc3\xa9", false},
      {"\\C\\C", "\xc3\xa9", true},
      {"\\C*", "", true},
      // Literal UTF-8.
      {"\xc3\xa9+", "\xc3\xa9\xc3\xa9", true},
      {"\xc3\xa9+", "\xc3", false},
      {"[\xc3\xa9-\xc3\xab]", "\xc3\xaa", true},
      {"[^\xc3\xa9]", "\xc3\xa9", false},
      {"[^\xc3\xa9]", "e", true},
      {"\xe2\x82\xac\\d",
       "\xe2\x82\xac"
       "5",
       true},
  };
  CheckMatches(Syntax::kRegex, cases);
}

TEST_CASE("top-level alternatives: split only at a top-level `|`, each matching its share", "[pattern][regex]") {
  using V = std::vector<std::string>;
  CHECK(TopLevelAlternatives(Syntax::kRegex, "a|b(c|d)|e") == V{"a", "b(c|d)", "e"});
  CHECK(TopLevelAlternatives(Syntax::kRegex, "[|]|x") == V{"[|]", "x"});
  CHECK(TopLevelAlternatives(Syntax::kRegex, "\\||a") == V{"\\|", "a"});
  CHECK(TopLevelAlternatives(Syntax::kRegex, "[[:alpha:]|]+|(?:x)?") == V{"[[:alpha:]|]+", "(?:x)?"});
  CHECK(TopLevelAlternatives(Syntax::kRegex, "(a|b)") == V{"(a|b)"});
  CHECK(TopLevelAlternatives(Syntax::kRegex, "a|") == V{"a", ""});
  CHECK(TopLevelAlternatives(Syntax::kRegex, "^a|b$") == V{"^a", "b$"});
  // Not split: a glob (no alternation), a regex that does not parse, bad UTF-8.
  CHECK(TopLevelAlternatives(Syntax::kGlob, "a|b") == V{"a|b"});
  CHECK(TopLevelAlternatives(Syntax::kRegex, "a|(b") == V{"a|(b"});
  CHECK(TopLevelAlternatives(Syntax::kRegex, std::string("a|\xff")) == V{std::string("a|\xff")});

  // A text matches the whole exactly when it matches some alternative.
  const std::vector<std::string> sources = {
      R"(.*(/etc/g?shadow|/run/secrets).*|.*/etc/ssh/ssh_host_[a-z0-9]+_key([^.].*)?|(.*[/=:])?(\.ssh|\.aws)([/=:.].*)?)",
      "a|b(c|d)|e", "[|]|x", "\\||a", "^a|b$", "a|", "(a|b)*c|[0-9]{2,3}|x?y+"};
  const std::vector<std::string> texts = {
      "", "a", "b", "bc", "bd", "e", "|", "x", "c", "abc", "12", "1234", "y", "xyy", "/etc/shadow",
      "cat /etc/gshadow now", "/run/secrets/k", "/etc/ssh/ssh_host_ed25519_key", "/etc/ssh/ssh_host_rsa_key.pub",
      ".ssh", "--key=.aws/credentials", "a/.ssh/id", ".sshx", "x:.aws", "x.aws"};
  for (const std::string& source : sources) {
    const Dfa whole = CompileOk(Syntax::kRegex, source);
    std::vector<Dfa> parts;
    for (const std::string& part : TopLevelAlternatives(Syntax::kRegex, source)) {
      parts.push_back(CompileOk(Syntax::kRegex, part));
    }
    for (const std::string& text : texts) {
      INFO(source << " on " << text);
      bool any = std::any_of(parts.begin(), parts.end(), [&](const Dfa& part) { return part.Matches(text); });
      CHECK(any == whole.Matches(text));
    }
  }
}

TEST_CASE("glob errors", "[pattern][glob][errors]") {
  const std::vector<ErrorCase> cases = {
      {"[abc", 0, 1, "unclosed character class `[`"},
      {"a[b-", 1, 1, "unclosed character class `[`"},
      {"[a\\", 0, 1, "unclosed character class `[`"},
      {"[]", 0, 2, "empty character class `[]`: write `\\]` to match `]`"},
      {"[]]", 0, 2, "empty character class `[]`: write `\\]` to match `]`"},
      {"x[!]", 1, 3, "empty character class `[!]`: write `\\]` to match `]`"},
      {"[^]a]", 0, 3, "empty character class `[^]`: write `\\]` to match `]`"},
      {"abc\\", 3, 1, "trailing `\\` escapes nothing: write `\\\\` to match a backslash"},
      {"[z-a]", 1, 3, "reversed range `z-a` in character class"},
      {"[\\z-\\a]", 1, 5, "reversed range `\\z-\\a` in character class"},
      {"[a/]", 2, 1, "character classes never match `/`: remove it from the class"},
      {"[!\\/]", 2, 2, "character classes never match `/`: remove it from the class"},
      {"[+-/]", 1, 3, "character classes never match `/`: remove it from the class"},
      {"a**b", 1, 2, "`**` must be a whole path segment, as in `a/**/b`: use `*` to match within a segment"},
      {"**.txt", 0, 2, "`**` must be a whole path segment, as in `a/**/b`: use `*` to match within a segment"},
      {"a/**b", 2, 2, "`**` must be a whole path segment, as in `a/**/b`: use `*` to match within a segment"},
      {"a**/b", 1, 2, "`**` must be a whole path segment, as in `a/**/b`: use `*` to match within a segment"},
      {"***", 0, 3, "too many consecutive `*`: use `*` within a path segment or `**` as a whole segment"},
      {"a/****/b", 2, 4, "too many consecutive `*`: use `*` within a path segment or `**` as a whole segment"},
      {"[[:foo:]]", 1, 7, "unknown POSIX class `[:foo:]`"},
      {"\xff", 0, 1, "pattern is not valid UTF-8"},
      {"ab\xc3", 2, 1, "pattern is not valid UTF-8"},
      {"a\xc0\xaf/", 1, 1, "pattern is not valid UTF-8"},
      {"\xed\xa0\x80", 0, 1, "pattern is not valid UTF-8"},
      {std::string(100000, 'a'), 4096, 100000 - 4096, "pattern is too long: 100000 bytes, the limit is 4096"},
  };
  CheckErrors(Syntax::kGlob, cases);
}

TEST_CASE("regex errors", "[pattern][regex][errors]") {
  const std::string nested_65 = std::string(65, '(') + "a" + std::string(65, ')');
  const std::string missing_closers = std::string(4000, '(');
  const std::vector<ErrorCase> cases = {
      // Groups.
      {"(ab", 0, 1, "unclosed group `(`"},
      {"a(b(c)", 1, 1, "unclosed group `(`"},
      {"ab)", 2, 1, "unmatched `)`"},
      {")", 0, 1, "unmatched `)`"},
      {nested_65, 64, 1, "groups are nested too deeply: the limit is 64 levels"},
      {missing_closers, 64, 1, "groups are nested too deeply: the limit is 64 levels"},
      {"(?)", 0, 2, "invalid group syntax after `(?`"},
      {"(?#c)", 0, 2, "invalid group syntax after `(?`"},
      {"(?", 0, 2, "invalid group syntax after `(?`"},
      {"(?<1a>x)", 0, 3,
       "invalid group name: expected `(?<name>...)` with a name of ASCII "
       "letters, digits and `_`, not starting with a digit"},
      {"(?P<ab", 0, 6,
       "invalid group name: expected `(?<name>...)` with a name of ASCII "
       "letters, digits and `_`, not starting with a digit"},
      {"a(?=b)", 1, 3, "lookahead `(?=` is not supported: matching must be linear-time"},
      {"(?!b)", 0, 3, "lookahead `(?!` is not supported: matching must be linear-time"},
      {"(?<=a)b", 0, 4, "lookbehind `(?<=` is not supported: matching must be linear-time"},
      {"(?<!a)b", 0, 4, "lookbehind `(?<!` is not supported: matching must be linear-time"},
      {"(?>a)", 0, 3, "atomic groups `(?>` are not supported: their meaning depends on backtracking"},
      {"(?i)abc", 0, 4, "inline flags `(?i)` are not supported"},
      {"x(?s-i:a)", 1, 6, "inline flags `(?s-i:` are not supported"},
      // Quantifiers.
      {"*a", 0, 1, "quantifier `*` has nothing to repeat"},
      {"a|+", 2, 1, "quantifier `+` has nothing to repeat"},
      {"(*)", 1, 1, "quantifier `*` has nothing to repeat"},
      {"^*", 1, 1, "quantifier `*` has nothing to repeat"},
      {"?", 0, 1, "quantifier `?` has nothing to repeat"},
      {"{2}", 0, 3, "quantifier `{2}` has nothing to repeat"},
      {"a**", 2, 1, "quantifier `*` follows another quantifier: wrap the repeated part in a group `(...)`"},
      {"a{2}{3}", 4, 3, "quantifier `{3}` follows another quantifier: wrap the repeated part in a group `(...)`"},
      {"a*??", 3, 1, "quantifier `?` follows another quantifier: wrap the repeated part in a group `(...)`"},
      {"a*+", 1, 2, "possessive quantifier `*+` is not supported: its meaning depends on backtracking"},
      {"a{2}+", 1, 4, "possessive quantifier `{2}+` is not supported: its meaning depends on backtracking"},
      {"a{", 1, 1, "invalid repetition `{`: expected `{n}`, `{n,}` or `{n,m}`; write `\\{` for a literal `{`"},
      {"a{,3}", 1, 1, "invalid repetition `{`: expected `{n}`, `{n,}` or `{n,m}`; write `\\{` for a literal `{`"},
      {"a{1,2", 1, 1, "invalid repetition `{`: expected `{n}`, `{n,}` or `{n,m}`; write `\\{` for a literal `{`"},
      {"a{x}", 1, 1, "invalid repetition `{`: expected `{n}`, `{n,}` or `{n,m}`; write `\\{` for a literal `{`"},
      {"{", 0, 1, "invalid repetition `{`: expected `{n}`, `{n,}` or `{n,m}`; write `\\{` for a literal `{`"},
      {"a{1001}", 2, 4, "repetition count `1001` exceeds the limit of 1000"},
      {"a{2,99999999999}", 4, 11, "repetition count `99999999999` exceeds the limit of 1000"},
      {"a{5,3}", 1, 5, "reversed repetition range `{5,3}`: the minimum is greater than the maximum"},
      // Anchors.
      {"a^b", 1, 1, "`^` is only supported at the very start of the pattern: matching is always anchored"},
      {"(^a)", 1, 1, "`^` is only supported at the very start of the pattern: matching is always anchored"},
      {"a|^b", 2, 1, "`^` is only supported at the very start of the pattern: matching is always anchored"},
      {"a$b", 1, 1, "`$` is only supported at the very end of the pattern: matching is always anchored"},
      {"(a$)", 2, 1, "`$` is only supported at the very end of the pattern: matching is always anchored"},
      {"\\A", 0, 2, "anchor `\\A` is not supported: matching is always anchored at both ends"},
      {"a\\z", 1, 2, "anchor `\\z` is not supported: matching is always anchored at both ends"},
      // Backreferences and other escapes.
      {"(a)\\1", 3, 2, "backreferences are not supported: matching must be linear-time"},
      {"(?P<n>a)(?P=n)", 8, 4, "backreferences are not supported: matching must be linear-time"},
      {"\\k<n>", 0, 2, "backreferences are not supported: matching must be linear-time"},
      {"\\q", 0, 2, "unknown escape `\\q`"},
      {"a\\\xc3\xa9", 1, 3, "unknown escape `\\\xc3\xa9`"},
      {"\\ ", 0, 2, "unknown escape `\\ `"},
      {"\\b", 0, 2, "word boundary `\\b` is not supported"},
      {"\\B", 0, 2, "word boundary `\\B` is not supported"},
      {"\\pL", 0, 2, "property classes like `\\p{L}` are not supported: use explicit ranges"},
      {"\\u0041", 0, 2, "unknown escape `\\u`: write `\\x{...}` for a code point"},
      {"\\0", 0, 2, "octal escapes are not supported: write `\\xHH`"},
      {"ab\\", 2, 1, "trailing `\\` escapes nothing: write `\\\\` to match a backslash"},
      {"\\x4", 0, 3, "invalid hex escape: expected `\\xHH` or `\\x{HHHHHH}`"},
      {"\\xg1", 0, 2, "invalid hex escape: expected `\\xHH` or `\\x{HHHHHH}`"},
      {"\\x{}", 0, 3, "invalid hex escape: expected `\\xHH` or `\\x{HHHHHH}`"},
      {"\\x{12", 0, 5, "invalid hex escape: expected `\\xHH` or `\\x{HHHHHH}`"},
      {"\\x{110000}", 0, 10, "code point `\\x{110000}` is out of range: the maximum is `\\x{10FFFF}`"},
      {"\\x{FFFFFFFFFFFF}", 0, 16, "code point `\\x{FFFFFFFFFFFF}` is out of range: the maximum is `\\x{10FFFF}`"},
      {"\\x{D800}", 0, 8, "code point `\\x{D800}` is a surrogate, which UTF-8 cannot encode"},
      // Classes.
      {"[abc", 0, 1, "unclosed character class `[`"},
      {"a[\\]", 1, 1, "unclosed character class `[`"},
      {"[]", 0, 2, "empty character class `[]`: write `\\]` to match `]`"},
      {"[]a]", 0, 2, "empty character class `[]`: write `\\]` to match `]`"},
      {"[^]", 0, 3, "empty character class `[^]`: write `\\]` to match `]`"},
      {"[z-a]", 1, 3, "reversed range `z-a` in character class"},
      {"[\\x{100}-a]", 1, 9, "reversed range `\\x{100}-a` in character class"},
      {"[\\d-z]", 1, 3, "`\\d` cannot start a range: it is a class, not a character"},
      {"[a-\\d]", 3, 2, "`\\d` cannot end a range: it is a class, not a character"},
      {"[[:foo:]]", 1, 7, "unknown POSIX class `[:foo:]`"},
      {"[\\1]", 1, 2, "octal escapes are not supported: write `\\xHH`"},
      {"[\\b]", 1, 2, "unknown escape `\\b` in a character class: write `\\x08` for a backspace"},
      {"[\\C]", 1, 2, "`\\C` cannot be used in a character class"},
      // Source checks.
      {"a\xff", 1, 1, "pattern is not valid UTF-8"},
      {"\xf4\x90\x80\x80", 0, 1, "pattern is not valid UTF-8"},
      {std::string(100000, 'a'), 4096, 100000 - 4096, "pattern is too long: 100000 bytes, the limit is 4096"},
      {std::string(10000, '('), 4096, 10000 - 4096, "pattern is too long: 10000 bytes, the limit is 4096"},
  };
  CheckErrors(Syntax::kRegex, cases);
}

TEST_CASE("resource limits fail fast with errors", "[pattern][limits]") {
  const std::vector<ErrorCase> cases = {
      {"(a|b)*a(a|b){20}", 0, 16, "pattern is too complex: more than 4096 automaton states"},
      {"(a|b)*a(a|b){11}", 0, 16, "pattern is too complex: more than 4096 automaton states"},
      {"(a{1000}){1000}", 0, 15, "pattern is too complex: it expands to more than 50000 automaton nodes"},
      {".{1000}", 0, 7, "pattern is too complex: more than 4096 automaton states"},
      {"((){1000}){1000}", 0, 16, "pattern is too complex: building its automaton exceeds the work limit"},
      {"(((a{1000}){1000}){1000}){1000}", 0, 31,
       "pattern is too complex: it expands to more than 50000 automaton nodes"},
  };
  CheckErrors(Syntax::kRegex, cases);

  SECTION("patterns just inside the limits compile") {
    const Dfa fanout = CompileOk(Syntax::kRegex, "(a|b)*a(a|b){10}");
    CHECK(fanout.StateCount() == 2049);
    CHECK(fanout.Matches("ba" + std::string(10, 'b')));
    CHECK_FALSE(fanout.Matches("bb" + std::string(10, 'b')));

    const Dfa thousand = CompileOk(Syntax::kRegex, "a{1000}");
    CHECK(thousand.StateCount() == 1002);
    CHECK(thousand.Matches(std::string(1000, 'a')));
    CHECK_FALSE(thousand.Matches(std::string(999, 'a')));
    CHECK_FALSE(thousand.Matches(std::string(1001, 'a')));

    const Dfa dots = CompileOk(Syntax::kRegex, ".{100}");
    CHECK(dots.Matches(std::string(100, 'x')));
    CHECK_FALSE(dots.Matches(std::string(99, 'x')));

    std::string nested_64 = std::string(64, '(') + "a" + std::string(64, ')');
    CHECK(CompileOk(Syntax::kRegex, nested_64).Matches("a"));

    std::string longest;
    while (longest.size() < kMaxSourceBytes) {
      longest += "a*";
    }
    REQUIRE(longest.size() == kMaxSourceBytes);
    const Dfa stars = CompileOk(Syntax::kRegex, longest);
    CHECK(stars.StateCount() == 2);
    CHECK(stars.Matches("aaaa"));
    std::string longest_glob;
    while (longest_glob.size() + 3 <= kMaxSourceBytes) {
      longest_glob += "**/";
    }
    longest_glob += "*";
    REQUIRE(longest_glob.size() == kMaxSourceBytes);
    const Dfa segments = CompileOk(Syntax::kGlob, longest_glob);
    CHECK(segments == CompileOk(Syntax::kGlob, "**/*"));
    CHECK(segments.Matches("a/b/c"));
  }
}

TEST_CASE("UTF-8: `.` and `?` match exactly one encoded code point", "[pattern][utf8]") {
  const Dfa dot = CompileOk(Syntax::kRegex, ".");
  const Dfa question = CompileOk(Syntax::kGlob, "?");
  const Dfa any_byte = CompileOk(Syntax::kRegex, "\\C");

  std::vector<std::uint32_t> wrong;
  for (std::uint32_t cp = 0; cp <= 0x10FFFF; ++cp) {
    if (IsSurrogate(cp)) {
      continue;
    }
    const std::string bytes = EncodeUtf8(cp);
    if (dot.Matches(bytes) != (cp != '\n') || question.Matches(bytes) != (cp != '/')) {
      wrong.push_back(cp);
    }
  }
  CHECK(wrong.empty());

  // Every 1- and 2-byte string, and every 3-byte string with a lead byte
  // that has special second-byte rules.
  std::vector<std::string> wrong_bytes;
  const auto check = [&](const std::string& bytes) {
    const long cp = DecodeSingleCodePoint(bytes);
    if (dot.Matches(bytes) != (cp >= 0 && cp != '\n') || question.Matches(bytes) != (cp >= 0 && cp != '/') ||
        any_byte.Matches(bytes) != (bytes.size() == 1)) {
      wrong_bytes.push_back(bytes);
    }
  };
  for (int a = 0; a < 256; ++a) {
    check(std::string(1, static_cast<char>(a)));
    for (int b = 0; b < 256; ++b) {
      check(std::string{static_cast<char>(a), static_cast<char>(b)});
    }
  }
  for (const int lead : {0xE0, 0xED, 0xEF}) {
    for (int b = 0; b < 256; ++b) {
      for (int c = 0; c < 256; ++c) {
        check(std::string{static_cast<char>(lead), static_cast<char>(b), static_cast<char>(c)});
      }
    }
  }
  // Random 3- and 4-byte strings biased towards plausible encodings.
  std::mt19937 rng(12345);
  for (int i = 0; i < 200000; ++i) {
    const std::size_t length = 3 + static_cast<std::size_t>(rng() % 2);
    std::string bytes;
    for (std::size_t j = 0; j < length; ++j) {
      const std::uint32_t r = rng();
      bytes.push_back(static_cast<char>(j > 0 && (r & 0x300) != 0    ? 0x80 | (r & 0x3F)
                                        : j == 0 && (r & 0x300) != 0 ? 0xE0 | (r & 0x17)
                                                                     : (r & 0xFF)));
    }
    check(bytes);
  }
  CHECK(wrong_bytes.empty());
  for (std::size_t i = 0; i < std::min<std::size_t>(wrong_bytes.size(), 10); ++i) {
    UNSCOPED_INFO("wrong on " << Printable(wrong_bytes[i]));
  }
}

TEST_CASE("UTF-8: code point ranges and negated classes", "[pattern][utf8]") {
  struct RangeCase {
    std::uint32_t lo;
    std::uint32_t hi;
  };
  std::mt19937 rng(777);
  std::vector<RangeCase> ranges = {
      {0x80, 0x7FF},   {0x7F, 0x80},    {0x800, 0xFFFF},   {0xD7FF, 0xE000},   {0x10000, 0x10FFFF}, {0x41, 0x10FFFF},
      {0x3FF, 0x1000}, {0xFFF, 0x1001}, {0xFFFF, 0x10000}, {0x12345, 0x54321}, {0x7FF, 0x800},      {0x0, 0x0},
  };
  for (int i = 0; i < 20; ++i) {
    std::uint32_t a = rng() % 0x110000;
    std::uint32_t b = rng() % 0x110000;
    if (i % 2 == 0) {
      b = a + rng() % 5000;
      b = std::min<std::uint32_t>(b, 0x10FFFF);
    }
    if (a > b) {
      std::swap(a, b);
    }
    if (IsSurrogate(a) || IsSurrogate(b)) {
      continue;
    }
    ranges.push_back({a, b});
  }
  const auto hex = [](std::uint32_t cp) {
    char buffer[16];
    std::snprintf(buffer, sizeof(buffer), "\\x{%X}", cp);
    return std::string(buffer);
  };
  for (const RangeCase& range : ranges) {
    const std::string set = hex(range.lo) + "-" + hex(range.hi);
    INFO("range " << set);
    const Dfa positive = CompileOk(Syntax::kRegex, "[" + set + "]");
    const Dfa negative = CompileOk(Syntax::kRegex, "[^" + set + "]");
    const Dfa glob_negative = CompileOk(Syntax::kGlob, "[!" + EncodeUtf8(range.lo == '/' ? '0' : range.lo) + "-" +
                                                           EncodeUtf8(range.hi == '/' ? '0' : range.hi) + "]");
    std::set<std::uint32_t> probes;
    for (const std::uint32_t base : {range.lo, range.hi, 0x7Fu, 0x7FFu, 0xFFFFu, 0xD7FFu, 0xE000u, 0x10FFFFu}) {
      for (std::uint32_t delta = 0; delta < 3; ++delta) {
        probes.insert(base + delta);
        probes.insert(base - delta);
      }
      for (const std::uint32_t align : {0x3Fu, 0xFFFu, 0x3FFFFu}) {
        probes.insert(base | align);
        probes.insert((base | align) + 1);
        probes.insert(base & ~align);
      }
    }
    for (int i = 0; i < 3000; ++i) {
      probes.insert(rng() % 0x110000);
      probes.insert(range.lo + rng() % (range.hi - range.lo + 1));
    }
    std::vector<std::uint32_t> wrong;
    for (const std::uint32_t cp : probes) {
      if (cp > 0x10FFFF || IsSurrogate(cp)) {
        continue;
      }
      const bool inside = cp >= range.lo && cp <= range.hi;
      const std::string bytes = EncodeUtf8(cp);
      const bool glob_inside = cp >= (range.lo == '/' ? '0' : range.lo) && cp <= (range.hi == '/' ? '0' : range.hi);
      if (positive.Matches(bytes) != inside || negative.Matches(bytes) != !inside ||
          glob_negative.Matches(bytes) != (!glob_inside && cp != '/')) {
        wrong.push_back(cp);
      }
    }
    CHECK(wrong.empty());
  }
}

TEST_CASE("MatchesNothing and MatchesEverything", "[pattern][lint]") {
  struct Case {
    Syntax syntax;
    std::string pattern;
    bool nothing;
    bool everything;
  };
  const std::vector<Case> cases = {
      {Syntax::kRegex, "[^\\x00-\\x{10FFFF}]", true, false},
      {Syntax::kRegex, "[^\\s\\S]", true, false},
      {Syntax::kRegex, "[^\\d\\D]+a", true, false},
      {Syntax::kRegex, "a[^\\w\\W]b", true, false},
      {Syntax::kRegex, "[^\\x00-\\x{D7FF}\\x{E000}-\\x{10FFFF}]", true, false},
      {Syntax::kRegex, "[^\\s\\S]*", false, false},
      {Syntax::kRegex, "a|[^\\s\\S]", false, false},
      {Syntax::kRegex, "", false, false},
      {Syntax::kRegex, "a", false, false},
      {Syntax::kRegex, ".*", false, false},
      {Syntax::kRegex, "[\\s\\S]*", false, false},
      {Syntax::kRegex, "\\C*", false, true},
      {Syntax::kRegex, "(\\C|a)*", false, true},
      {Syntax::kRegex, "^(?:\\C\\C)*\\C?$", false, true},
      {Syntax::kRegex, "\\C+", false, false},
      {Syntax::kGlob, "**", false, true},
      {Syntax::kGlob, "**/**", false, true},
      {Syntax::kGlob, "*", false, false},
      {Syntax::kGlob, "**/*", false, true},
      {Syntax::kGlob, "**/a", false, false},
      {Syntax::kGlob, "", false, false},
  };
  for (const Case& c : cases) {
    INFO(SyntaxName(c.syntax) << " `" << c.pattern << "`");
    const Dfa dfa = CompileOk(c.syntax, c.pattern);
    CHECK(dfa.MatchesNothing() == c.nothing);
    CHECK(dfa.MatchesEverything() == c.everything);
    if (c.nothing) {
      CHECK(dfa.StateCount() == 1);
      CHECK(dfa.start_state() == dfa.dead_state());
    }
  }
  CHECK(Dfa().MatchesNothing());
  CHECK_FALSE(Dfa().MatchesEverything());
  CHECK_FALSE(Dfa().Matches(""));
}

TEST_CASE("equal languages give identical minimal tables", "[pattern][dfa]") {
  struct Pair {
    Syntax left_syntax;
    std::string left;
    Syntax right_syntax;
    std::string right;
  };
  const std::vector<Pair> equal = {
      {Syntax::kRegex, "a|b", Syntax::kRegex, "[ab]"},
      {Syntax::kRegex, "[ab]", Syntax::kRegex, "[a-b]"},
      {Syntax::kRegex, "a|b", Syntax::kGlob, "[ab]"},
      {Syntax::kRegex, "(a*)*", Syntax::kRegex, "a*"},
      {Syntax::kRegex, "x*x*", Syntax::kRegex, "x*"},
      {Syntax::kRegex, "a{2,3}", Syntax::kRegex, "aaa?"},
      {Syntax::kRegex, "(a|b)*", Syntax::kRegex, "[ab]*"},
      {Syntax::kRegex, "\\d", Syntax::kRegex, "[0-9]"},
      {Syntax::kRegex, "\\d", Syntax::kRegex, "[[:digit:]]"},
      {Syntax::kRegex, "a+", Syntax::kRegex, "aa*"},
      {Syntax::kRegex, "a+?", Syntax::kRegex, "a+"},
      {Syntax::kRegex, "^abc$", Syntax::kRegex, "abc"},
      {Syntax::kRegex, "\\C*", Syntax::kGlob, "**"},
      {Syntax::kGlob, "**/**", Syntax::kGlob, "**"},
      {Syntax::kGlob, "abc", Syntax::kRegex, "abc"},
      {Syntax::kGlob, "?", Syntax::kRegex, "[^/]"},
      {Syntax::kRegex, "[^\\s\\S]", Syntax::kRegex, "a[^\\d\\D]"},
  };
  for (const Pair& pair : equal) {
    INFO("`" << pair.left << "` vs `" << pair.right << "`");
    const Dfa left = CompileOk(pair.left_syntax, pair.left);
    const Dfa right = CompileOk(pair.right_syntax, pair.right);
    CHECK(left == right);
    CHECK(left.Serialize() == right.Serialize());
  }
  CHECK_FALSE(CompileOk(Syntax::kRegex, "a") == CompileOk(Syntax::kRegex, "b"));
  CHECK_FALSE(CompileOk(Syntax::kGlob, "*") == CompileOk(Syntax::kGlob, "**"));

  // Known minimal sizes (the dead state included).
  CHECK(CompileOk(Syntax::kRegex, "(a|b)*abb").StateCount() == 5);
  CHECK(CompileOk(Syntax::kGlob, "*").StateCount() == 2);
  CHECK(CompileOk(Syntax::kGlob, "*").class_count() == 2);
  CHECK(CompileOk(Syntax::kRegex, "").StateCount() == 2);
  CHECK(CompileOk(Syntax::kRegex, "").class_count() == 1);
}

TEST_CASE("tables are well formed and agree with Matches", "[pattern][dfa]") {
  const std::vector<std::pair<Syntax, std::string>> patterns = {
      {Syntax::kGlob, "src/**/*.c"},      {Syntax::kGlob, "[!a-z]?*"},         {Syntax::kRegex, "(a|b)*abb"},
      {Syntax::kRegex, ".+@[^@]+\\.com"}, {Syntax::kRegex, "\\w{2,5}"},        {Syntax::kRegex, "[^\\s\\S]"},
      {Syntax::kRegex, "\\C*"},           {Syntax::kRegex, "\xe2\x82\xac+|x"},
  };
  const std::vector<std::string> texts = {
      "", "a", "abb", "src/x.c", "src/a/b.c", "me@x.com", "hello", "\xe2\x82\xac\xe2\x82\xac", "\xff", "Zq", "abab",
  };
  for (const auto& [syntax, pattern] : patterns) {
    INFO("`" << Printable(pattern) << "`");
    const Dfa dfa = CompileOk(syntax, pattern);
    const std::size_t states = dfa.StateCount();
    const std::size_t classes = dfa.class_count();
    REQUIRE(classes >= 1);
    REQUIRE(classes <= 256);
    REQUIRE(dfa.transitions().size() == states * classes);
    REQUIRE(dfa.accepting().size() == states);
    REQUIRE(dfa.start_state() < states);
    CHECK(dfa.dead_state() == 0);
    CHECK(dfa.accepting()[0] == 0);
    std::vector<bool> used(classes, false);
    for (const std::uint8_t byte_class : dfa.byte_class()) {
      REQUIRE(byte_class < classes);
      used[byte_class] = true;
    }
    CHECK(std::find(used.begin(), used.end(), false) == used.end());
    for (std::size_t c = 0; c < classes; ++c) {
      CHECK(dfa.transitions()[c] == 0);
    }
    for (const std::uint16_t next : dfa.transitions()) {
      REQUIRE(next < states);
    }
    for (const std::string& text : texts) {
      std::size_t state = dfa.start_state();
      for (const char byte : text) {
        const std::size_t byte_class = dfa.byte_class()[static_cast<std::uint8_t>(byte)];
        state = dfa.transitions()[state * classes + byte_class];
      }
      CHECK(dfa.Matches(text) == (dfa.accepting()[state] != 0));
    }
  }
}

std::string WithChecksum(std::string body) {
  std::uint32_t hash = 0x811C9DC5u;
  for (const char byte : body) {
    hash ^= static_cast<std::uint8_t>(byte);
    hash *= 0x01000193u;
  }
  for (int i = 0; i < 4; ++i) {
    body.push_back(static_cast<char>((hash >> (8 * i)) & 0xFF));
  }
  return body;
}

// Deserializes untrusted bytes; any result must be canonical and usable.
void CheckDeserializeIsSafe(const std::string& bytes) {
  const std::optional<Dfa> dfa = Dfa::Deserialize(bytes);
  if (!dfa.has_value()) {
    return;
  }
  CHECK(dfa->Serialize() == bytes);
  for (const char* text : {"", "a", "ab", "a/b", "\xff\x00", "zzzzzzzz"}) {
    (void)dfa->Matches(text);
  }
}

TEST_CASE("serialization round trips", "[pattern][serialize]") {
  const std::vector<std::pair<Syntax, std::string>> patterns = {
      {Syntax::kGlob, "src/**/*.c"}, {Syntax::kGlob, "**"},
      {Syntax::kGlob, ""},           {Syntax::kRegex, "(a|b)*abb"},
      {Syntax::kRegex, "[^\\s\\S]"}, {Syntax::kRegex, ".{20}"},
      {Syntax::kRegex, "a{1000}"},   {Syntax::kRegex, "[\\x00-\\x{10FFFF}]*"},
  };
  for (const auto& [syntax, pattern] : patterns) {
    INFO("`" << pattern << "`");
    const Dfa dfa = CompileOk(syntax, pattern);
    const std::string bytes = dfa.Serialize();
    // Version 3: never larger than the flat tables of version 2 (one byte per
    // transition up to 256 states, `a{1000}` has more: two) but for a row's
    // exception count and the class runs.
    const std::size_t width = dfa.StateCount() <= 256 ? 1 : 2;
    const std::size_t flat = 12 + 256 + (dfa.StateCount() + 7) / 8 + width * dfa.StateCount() * dfa.class_count() + 4;
    CHECK(bytes.size() <= flat + dfa.StateCount());
    CHECK(bytes.substr(0, 4) == "GDFA");
    CHECK(bytes[4] == 3);
    CHECK(bytes[5] == 0);
    // Versions 1 and 2 are no longer read, whatever the layout behind them.
    for (char old : {'\x01', '\x02'}) {
      std::string relabeled = bytes.substr(0, bytes.size() - 4);
      relabeled[4] = old;
      CHECK_FALSE(Dfa::Deserialize(WithChecksum(relabeled)).has_value());
    }
    const std::optional<Dfa> back = Dfa::Deserialize(bytes);
    REQUIRE(back.has_value());
    CHECK(*back == dfa);
    CHECK(back->Serialize() == bytes);
    CHECK(back->MatchesNothing() == dfa.MatchesNothing());
    CHECK(back->MatchesEverything() == dfa.MatchesEverything());
    for (const char* text : {"", "src/a/b.c", "abb", "aaaa", "\xff"}) {
      CHECK(back->Matches(text) == dfa.Matches(text));
    }
  }
  // A trie of secret stores (std.paths' home_secret_patterns, shortened):
  // most transitions of a row go to one state, so rows are stored sparse.
  const Dfa stores = CompileOk(Syntax::kRegex,
                               "(/root|/home/[^/]+)/(\\.ssh|\\.aws|\\.azure|\\.config/gcloud|\\.gnupg|\\.kube|"
                               "\\.docker/config\\.json|\\.netrc|\\.git-credentials|\\.npmrc|\\.pypirc)(/.*)?");
  const std::size_t flat = 12 + 256 + (stores.StateCount() + 7) / 8 + stores.StateCount() * stores.class_count() + 4;
  INFO(stores.Serialize().size() << " bytes, flat " << flat);
  CHECK(stores.Serialize().size() * 3 < flat);
  const std::optional<Dfa> empty = Dfa::Deserialize(Dfa().Serialize());
  REQUIRE(empty.has_value());
  CHECK(*empty == Dfa());
  CHECK(empty->MatchesNothing());
}

TEST_CASE("Deserialize rejects corrupted bytes", "[pattern][serialize]") {
  const std::string bytes = CompileOk(Syntax::kGlob, "a*[bc]").Serialize();

  SECTION("every truncation and extension") {
    for (std::size_t length = 0; length < bytes.size(); ++length) {
      INFO("length " << length);
      CHECK_FALSE(Dfa::Deserialize(bytes.substr(0, length)).has_value());
    }
    CHECK_FALSE(Dfa::Deserialize(bytes + '\0').has_value());
    CHECK_FALSE(Dfa::Deserialize(WithChecksum(bytes.substr(0, bytes.size() - 4) + '\0')).has_value());
  }

  SECTION("every single-bit flip") {
    for (std::size_t i = 0; i < bytes.size(); ++i) {
      for (int bit = 0; bit < 8; ++bit) {
        std::string flipped = bytes;
        flipped[i] = static_cast<char>(flipped[i] ^ (1 << bit));
        INFO("byte " << i << " bit " << bit);
        CHECK_FALSE(Dfa::Deserialize(flipped).has_value());
      }
    }
  }

  SECTION("every single-bit flip with a recomputed checksum") {
    std::size_t accepted = 0;
    const std::string body = bytes.substr(0, bytes.size() - 4);
    for (std::size_t i = 0; i < body.size(); ++i) {
      for (int bit = 0; bit < 8; ++bit) {
        std::string flipped = body;
        flipped[i] = static_cast<char>(flipped[i] ^ (1 << bit));
        const std::string candidate = WithChecksum(flipped);
        CheckDeserializeIsSafe(candidate);
        accepted += Dfa::Deserialize(candidate).has_value() ? 1 : 0;
      }
    }
    // Some flips (e.g. moving a byte between classes) give another valid
    // canonical automaton; the checksum is what rejects those.
    INFO(accepted << " flipped encodings were still canonical");
    CHECK(accepted < body.size() * 8);
  }

  SECTION("structurally valid but non-canonical tables") {
    // Two accepting states that are equivalent: not minimal.
    std::string body = "GDFA";
    body += std::string("\x03\x00", 2);  // version
    body += std::string("\x01\x00", 2);  // 1 class
    body += std::string("\x03\x00", 2);  // 3 states
    body += std::string("\x01\x00", 2);  // start 1
    body += std::string("\x00\x00\xff", 3);  // one run: class 0 for all 256 bytes
    body += '\x06';  // states 1 and 2 accept
    body += std::string("\x00\x00\x00\x02\x00\x01", 6);  // rows: no exceptions, common targets 0, 2, 1
    CHECK_FALSE(Dfa::Deserialize(WithChecksum(body)).has_value());

    // The same language in canonical form is accepted.
    std::string canonical = "GDFA";
    canonical += std::string("\x03\x00\x01\x00\x02\x00\x01\x00", 8);
    canonical += std::string("\x00\x00\xff", 3);
    canonical += '\x02';
    canonical += std::string("\x00\x00\x00\x01", 4);
    const std::optional<Dfa> everything = Dfa::Deserialize(WithChecksum(canonical));
    REQUIRE(everything.has_value());
    CHECK(everything->MatchesEverything());
    CHECK(*everything == CompileOk(Syntax::kGlob, "**"));

    // The same automaton in another encoding is not: a dense row where the
    // sparse one is not larger, a class table split into equal runs, an
    // exception that names the common target.
    for (const std::string& other : {
             std::string("\x00\x00\xff\x02\xff\x00\xff\x01", 8),
             std::string("\x01\x00\x7f\x00\x7f\x02\x00\x00\x00\x01", 10),
             std::string("\x00\x00\xff\x02\x01\x00\x00\x00\x00\x01", 10),
         }) {
      CHECK_FALSE(Dfa::Deserialize(WithChecksum(canonical.substr(0, 12) + other)).has_value());
    }
  }

  SECTION("random tables behind a valid header and checksum") {
    std::mt19937 rng(99);
    for (int i = 0; i < 3000; ++i) {
      const std::uint32_t classes = 1 + rng() % 3;
      const std::uint32_t states = 1 + rng() % 4;
      std::string body = "GDFA";
      body += std::string("\x03\x00", 2);
      body.push_back(static_cast<char>(classes));
      body.push_back('\0');
      body.push_back(static_cast<char>(states));
      body.push_back('\0');
      body.push_back(static_cast<char>(rng() % (states + 1)));
      body.push_back('\0');
      // Class runs: lengths that may not add up to 256, classes out of range.
      const std::uint32_t runs = 1 + rng() % 4;
      body.push_back(static_cast<char>(rng() % 16 == 0 ? rng() % 256 : runs - 1));
      for (std::uint32_t r = 0; r < runs; ++r) {
        body.push_back(static_cast<char>(r < classes ? r : rng() % (classes + 1)));
        body.push_back(static_cast<char>(r + 1 < runs ? rng() % 128 : 255 - rng() % 3));
      }
      body.push_back(static_cast<char>(rng() % (1u << (states + 1))));
      for (std::uint32_t s = 0; s < states; ++s) {
        const auto next = [&] { return static_cast<char>(rng() % 64 == 0 ? rng() % 256 : rng() % (states + 1)); };
        if (rng() % 2 == 0) {
          body.push_back('\xff');  // dense
          for (std::uint32_t c = 0; c < classes; ++c) body.push_back(next());
        } else {
          const std::uint32_t exceptions = rng() % 8 == 0 ? rng() % 256 : rng() % (classes + 1);
          body.push_back(static_cast<char>(exceptions));
          body.push_back(next());
          for (std::uint32_t e = 0; e < exceptions && e < 4; ++e) {
            body.push_back(static_cast<char>(rng() % (classes + 1)));
            body.push_back(next());
          }
        }
      }
      CheckDeserializeIsSafe(WithChecksum(body));
    }
    for (int i = 0; i < 3000; ++i) {
      std::string garbage(rng() % 600, '\0');
      for (char& c : garbage) {
        c = static_cast<char>(rng());
      }
      if (i % 2 == 0 && garbage.size() > 12) {
        garbage.replace(0, 6, std::string("GDFA\x03\x00", 6));
      }
      CheckDeserializeIsSafe(garbage);
      CheckDeserializeIsSafe(WithChecksum(garbage));
    }
  }
}

// Random regexes over {a, b, /} within the supported subset, which has the
// same meaning in ECMAScript.
std::string RandomRegex(std::mt19937& rng, int depth) {
  std::string out;
  const int alternatives = depth > 0 ? 1 + static_cast<int>(rng() % 3) : 1;
  for (int alt = 0; alt < alternatives; ++alt) {
    if (alt > 0) {
      out += '|';
    }
    const int items = 1 + static_cast<int>(rng() % 3);
    for (int item = 0; item < items; ++item) {
      static const char* const kAtoms[] = {
          "a", "b", "/", "\\/", ".", "[ab]", "[^a]", "[a-b]", "[/b]", "[^/]",
      };
      const std::uint32_t pick = rng() % 13;
      if (pick < 10) {
        out += kAtoms[pick];
      } else if (depth > 0 && pick == 10) {
        out += "(" + RandomRegex(rng, depth - 1) + ")";
      } else if (depth > 0 && pick == 11) {
        out += "(?:" + RandomRegex(rng, depth - 1) + ")";
      } else {
        out += "a";
      }
      static const char* const kQuantifiers[] = {
          "", "", "", "", "*", "+", "?", "{2}", "{0,2}", "{1,}", "{1,3}", "*?", "+?", "??", "{0,1}?",
      };
      out += kQuantifiers[rng() % 15];
    }
  }
  return out;
}

std::vector<std::string> AllStrings(std::size_t max_length) {
  std::vector<std::string> out = {""};
  for (std::size_t i = 0; i < out.size(); ++i) {
    if (out[i].size() < max_length) {
      for (const char c : {'a', 'b', '/'}) {
        out.push_back(out[i] + c);
      }
    }
  }
  return out;
}

TEST_CASE("differential: regex agrees with std::regex", "[pattern][diff]") {
  std::mt19937 rng(2024);
  const std::vector<std::string> texts = AllStrings(5);
  int compared = 0;
  for (int i = 0; i < 300; ++i) {
    const std::string pattern = RandomRegex(rng, 2);
    INFO("regex `" << pattern << "`");
    const Dfa dfa = CompileOk(Syntax::kRegex, pattern);
    const std::regex reference(pattern, std::regex::ECMAScript);
    std::vector<std::string> extra;
    for (int j = 0; j < 20; ++j) {
      std::string text;
      const std::size_t length = 6 + rng() % 3;
      for (std::size_t k = 0; k < length; ++k) {
        text += "ab/"[rng() % 3];
      }
      extra.push_back(text);
    }
    for (const std::vector<std::string>* list : {&texts, static_cast<const std::vector<std::string>*>(&extra)}) {
      for (const std::string& text : *list) {
        const bool expected = std::regex_match(text, reference);
        if (dfa.Matches(text) != expected) {
          FAIL_CHECK("disagrees on \"" << text << "\": std::regex says " << expected);
        }
        ++compared;
      }
    }
  }
  CHECK(compared == 300 * (364 + 20));
}

// A random glob over {a, b, /} and its ECMAScript translation.
std::pair<std::string, std::string> RandomGlob(std::mt19937& rng) {
  std::string glob;
  std::string regex;
  const int segments = 1 + static_cast<int>(rng() % 3);
  for (int segment = 0; segment < segments; ++segment) {
    const bool last = segment + 1 == segments;
    if (rng() % 4 == 0) {
      glob += last ? "**" : "**/";
      regex += last ? "[ab/]*" : "(?:[ab/]*/)?";
      continue;
    }
    const int tokens = static_cast<int>(rng() % 4);
    bool previous_star = false;
    for (int token = 0; token < tokens; ++token) {
      std::uint32_t pick = rng() % 7;
      if (pick == 0 && previous_star) {
        pick = 1;
      }
      previous_star = pick == 0;
      switch (pick) {
        case 0:
          glob += "*";
          regex += "[^/]*";
          break;
        case 1:
          glob += "a";
          regex += "a";
          break;
        case 2:
          glob += "b";
          regex += "b";
          break;
        case 3:
          glob += "?";
          regex += "[^/]";
          break;
        case 4:
          glob += "[ab]";
          regex += "[ab]";
          break;
        case 5:
          glob += "[!a]";
          regex += "[^a/]";
          break;
        default:
          glob += "[^b]";
          regex += "[^b/]";
          break;
      }
    }
    if (!last) {
      glob += "/";
      regex += "/";
    }
  }
  return {glob, regex};
}

TEST_CASE("differential: glob agrees with a std::regex translation", "[pattern][diff]") {
  std::mt19937 rng(4242);
  const std::vector<std::string> texts = AllStrings(6);
  for (int i = 0; i < 300; ++i) {
    const auto [glob, translation] = RandomGlob(rng);
    INFO("glob `" << glob << "` as `" << translation << "`");
    const Dfa dfa = CompileOk(Syntax::kGlob, glob);
    const std::regex reference(translation, std::regex::ECMAScript);
    for (const std::string& text : texts) {
      const bool expected = std::regex_match(text, reference);
      if (dfa.Matches(text) != expected) {
        FAIL_CHECK("disagrees on \"" << text << "\": std::regex says " << expected);
      }
    }
  }
}

}  // namespace
}  // namespace gov::pattern
