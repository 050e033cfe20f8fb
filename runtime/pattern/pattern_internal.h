// Internal interfaces of the pattern library, shared by the parsers
// (glob.cpp, regex.cpp), the automaton builder (nfa.cpp) and the Dfa
// implementation (dfa.cpp). Not part of the public API.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "runtime/pattern/pattern.h"

namespace gov::pattern::internal {

// The largest Unicode code point.
inline constexpr std::uint32_t kMaxCodePoint = 0x10FFFF;

// A closed range [lo, hi] of code points or bytes.
struct Range {
  std::uint32_t lo = 0;
  std::uint32_t hi = 0;

  bool operator==(const Range&) const = default;
};

// Sorts `ranges` and merges overlapping or adjacent ones.
std::vector<Range> NormalizeRanges(std::vector<Range> ranges);
// The code points in [0, kMaxCodePoint] not in `ranges` (normalized input).
std::vector<Range> ComplementRanges(const std::vector<Range>& ranges);
// `ranges` (normalized) without the single code point `cp`.
std::vector<Range> RemoveCodePoint(const std::vector<Range>& ranges, std::uint32_t cp);

// Decodes one UTF-8 code point of `text` at `pos`. Returns its length in
// bytes (1..4) and stores it in `*cp`, or returns 0 if the bytes there are not
// a valid, shortest-form, non-surrogate encoding.
std::size_t DecodeUtf8(std::string_view text, std::size_t pos, std::uint32_t* cp);

// The outcome of ParsePosixClass.
enum class PosixClassParse { kNotPosixClass, kParsed, kUnknownName };

// Parses an ASCII POSIX class `[:name:]` or `[:^name:]` starting at `pos`
// (which holds `[:`) inside a bracket class. On kParsed its code points are
// appended to `ranges`; on kParsed and kUnknownName `*end` is set just past
// the closing `:]`. kNotPosixClass means there is no closing `:]` after a
// name, so the `[` is an ordinary character.
PosixClassParse ParsePosixClass(std::string_view source, std::size_t pos, std::size_t* end, std::vector<Range>* ranges);

// The pattern AST: a tree stored in an arena, nodes referenced by index.
enum class NodeKind {
  // Matches the empty string.
  kEmpty,
  // Matches one byte in `ranges` (byte values 0..255).
  kBytes,
  // Matches the UTF-8 encoding of one code point in `ranges` (normalized).
  kCodePoints,
  // Matches `children` in sequence.
  kConcat,
  // Matches any one of `children`.
  kAlternate,
  // Matches children[0] between `min` and `max` times; max < 0 is unbounded.
  kRepeat,
};

// One AST node; which fields are meaningful depends on `kind`.
struct Node {
  NodeKind kind = NodeKind::kEmpty;
  std::vector<Range> ranges;
  std::vector<std::size_t> children;
  int min = 0;
  int max = 0;
};

// An arena of nodes and the index of the root.
struct Ast {
  std::vector<Node> nodes;
  std::size_t root = 0;

  std::size_t AddEmpty();
  std::size_t AddBytes(std::vector<Range> ranges);
  std::size_t AddCodePoints(std::vector<Range> ranges);
  std::size_t AddCodePoint(std::uint32_t cp);
  // Single operands are returned as is; no operands give kEmpty.
  std::size_t AddConcat(std::vector<std::size_t> children);
  std::size_t AddAlternate(std::vector<std::size_t> children);
  std::size_t AddRepeat(std::size_t child, int min, int max);
};

// Parses a glob into `ast` (source already checked for length and UTF-8).
std::optional<PatternError> ParseGlob(std::string_view source, Ast* ast);
// Parses a regex into `ast` (source already checked for length and UTF-8).
std::optional<PatternError> ParseRegex(std::string_view source, Ast* ast);
// The top-level alternatives of a regex source (see TopLevelAlternatives).
std::vector<std::string> RegexAlternatives(std::string_view source);

// A deterministic automaton with valid indices but in no particular form.
struct DfaTables {
  std::size_t state_count = 0;
  std::size_t class_count = 0;
  std::array<std::uint8_t, 256> byte_class{};
  // state_count * class_count entries, each < state_count.
  std::vector<std::uint32_t> transitions;
  // state_count entries, 0 or 1.
  std::vector<std::uint8_t> accepting;
  std::uint32_t start = 0;
};

// Why automaton construction gave up.
enum class BuildFailure { kTooManyNfaStates, kTooManyDfaStates, kTooMuchWork };

// Builds a (non-minimal) DFA for `ast` by Thompson construction and subset
// construction, within the limits in pattern.h.
std::variant<DfaTables, BuildFailure> BuildDfaTables(const Ast& ast);

// Creates Dfa objects; the only code that touches Dfa's representation.
class DfaFactory {
 public:
  // Minimizes and renumbers `tables` (valid indices required) into the
  // canonical form described in pattern.h.
  static Dfa Canonicalize(const DfaTables& tables);
};

}  // namespace gov::pattern::internal
