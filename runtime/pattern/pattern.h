// Pattern automata for Gov `glob` and `regex` patterns. A pattern is parsed,
// compiled to a minimal deterministic automaton over bytes, and matched
// against whole strings in linear time with no backtracking. The automaton's
// flat tables can be serialized for code generation and signed bundles.
// The syntax and semantics are specified in docs/patterns.md.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace gov::pattern {

namespace internal {
class DfaFactory;
}  // namespace internal

// Longest accepted pattern source, in bytes.
inline constexpr std::size_t kMaxSourceBytes = 4096;
// Deepest accepted nesting of regex groups `(...)`.
inline constexpr int kMaxGroupNesting = 64;
// Largest accepted count in a regex repetition `{n}`, `{n,}` or `{n,m}`.
inline constexpr int kMaxRepeatCount = 1000;
// Most nondeterministic automaton nodes a pattern may expand to.
inline constexpr std::size_t kMaxNfaStates = 50000;
// Most deterministic automaton states (the dead state included) that the
// subset construction may create, before minimization.
inline constexpr std::size_t kMaxDfaStates = 4096;

// The two pattern languages.
enum class Syntax { kGlob, kRegex };

// A compile error: the byte range [offset, offset + length) of the pattern
// source where it was detected, and a message (lower-case start, no trailing
// period, code in backticks). Complexity limits span the whole pattern; the
// length limit spans the bytes past it.
struct PatternError {
  std::size_t offset = 0;
  std::size_t length = 0;
  std::string message;

  bool operator==(const PatternError&) const = default;
};

// An immutable, minimal deterministic automaton over bytes, in a canonical
// form: two Dfas compare equal exactly when they accept the same language.
// Copyable; all const members are allocation-free and thread-safe.
//
// Tables:
//   byte_class()   256 entries, each byte's class in [0, class_count())
//   transitions()  StateCount() * class_count() entries, row-major:
//                  next state = transitions()[state * class_count() + class]
//   accepting()    StateCount() entries, 1 if the state accepts, else 0
//   start_state()  where matching begins
//   dead_state()   always 0: non-accepting, every transition loops to itself
// States are numbered dead first, then breadth-first from the start state
// (classes in increasing order); classes are numbered by their lowest byte.
//
// Serialized form (version 3), all integers little-endian; W = 1 (u8) when
// S <= 256, else 2 (u16):
//   offset  size        field
//   0       4           magic "GDFA"
//   4       2           version, 3
//   6       2           class_count C, 1..256
//   8       2           state_count S, 1..kMaxDfaStates
//   10      2           start_state, < S
//   12      1           R - 1: byte_class as R runs of equal classes
//   13      2*R         per run: u8 class (< C), u8 length - 1; the runs cover
//                       bytes 0..255 in order, adjacent runs differ
//   ...     ceil(S/8)   accepting bitset: state i is bit (i % 8) of byte i / 8;
//                       unused high bits are 0
//   ...                 per state, its row of C transitions (each < S):
//                         u8 E < 255, W common target, then E times
//                         (u8 class, W target) in ascending class order for
//                         the classes that do not go to the common target —
//                         the most frequent target of the row, the smallest
//                         on a tie; or u8 255 and all C targets (W each), used
//                         exactly when E would be 255 or more or the sparse
//                         form would be larger (W + E(1 + W) > C W)
//   ...     4           FNV-1a 32-bit hash of all preceding bytes
// Exactly one encoding per automaton is accepted.
// The hash detects corruption (any single changed byte), not tampering.
class Dfa {
 public:
  // The automaton that matches nothing: one dead state, one class.
  Dfa();

  // True if the automaton accepts all of `text` (whole-string match).
  // O(text.size()), no allocation.
  bool Matches(std::string_view text) const noexcept;
  // True if no accepting state is reachable from the start state.
  bool MatchesNothing() const noexcept { return matches_nothing_; }
  // True if every byte string, including invalid UTF-8, is accepted.
  bool MatchesEverything() const noexcept { return matches_everything_; }

  // Number of states, the dead state included.
  std::size_t StateCount() const noexcept { return accepting_.size(); }
  // Number of byte equivalence classes, 1..256.
  std::size_t class_count() const noexcept { return class_count_; }
  // Maps each byte to its equivalence class.
  const std::array<std::uint8_t, 256>& byte_class() const noexcept { return byte_class_; }
  // Row-major next-state table, StateCount() * class_count() entries.
  std::span<const std::uint16_t> transitions() const noexcept { return transitions_; }
  // Per-state accepting flag (0 or 1), StateCount() entries.
  std::span<const std::uint8_t> accepting() const noexcept { return accepting_; }
  // The most frequent target of `state`'s row (the smallest on a tie): the
  // serialized form's common target, and native code's comb default.
  std::uint16_t CommonTarget(std::size_t state) const;
  // The state matching starts in; equals dead_state() if MatchesNothing().
  std::size_t start_state() const noexcept { return start_; }
  // The non-accepting sink state; always 0.
  std::size_t dead_state() const noexcept { return 0; }

  // Encodes the automaton in the versioned format above.
  std::string Serialize() const;
  // Decodes bytes produced by Serialize. Returns std::nullopt for anything
  // else: wrong magic or version, bad sizes or indices, hash mismatch, or
  // tables that are not in canonical form.
  static std::optional<Dfa> Deserialize(std::string_view bytes) noexcept;

  // Compares tables; since every Dfa is canonical, equal means same language.
  bool operator==(const Dfa& other) const noexcept;

 private:
  friend class internal::DfaFactory;

  // Bytes per transition with `state_count` states.
  static std::size_t TransitionBytes(std::size_t state_count) noexcept;

  std::array<std::uint8_t, 256> byte_class_{};
  std::size_t class_count_ = 1;
  std::vector<std::uint16_t> transitions_;
  std::vector<std::uint8_t> accepting_;
  std::size_t start_ = 0;
  bool matches_nothing_ = true;
  bool matches_everything_ = false;
};

// The outcome of Compile: exactly one of `dfa` and `error` is set.
struct CompileResult {
  std::optional<Dfa> dfa;
  std::optional<PatternError> error;
};

// Compiles a pattern source (which must be valid UTF-8) of the given syntax.
// Never throws; every failure, resource limits included, is a PatternError.
CompileResult Compile(Syntax syntax, std::string_view source) noexcept;

// The top-level alternatives of a pattern: for a regex `a|b(c|d)|e`, the
// sources `a`, `b(c|d)` and `e`, each a valid regex; a text matches the
// pattern exactly when it matches one of them. A glob, a regex without a
// top-level `|`, or one that does not parse: the source alone. (The
// compiler matches such alternatives with separate automata when their
// union's automaton is much larger than theirs together.)
std::vector<std::string> TopLevelAlternatives(Syntax syntax, std::string_view source);

}  // namespace gov::pattern
