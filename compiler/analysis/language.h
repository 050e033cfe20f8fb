// Byte-string languages for the symbolic analyses (govc diff): complete
// deterministic automata over bytes built from the policy's constants, its
// pattern automata and the shapes of request paths; boolean combinations of
// them; and a search for a shortest member of a combination (a product
// construction explored breadth-first, never materialized).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "runtime/pattern/pattern.h"

namespace gov::analysis {

// A complete DFA over bytes: every state has a successor for every byte.
struct Automaton {
  std::array<std::uint16_t, 256> byte_class{};  // byte → class
  std::uint32_t class_count = 1;
  std::vector<std::uint32_t> next;  // state * class_count + class
  std::vector<std::uint8_t> accepting;
  std::uint32_t start = 0;

  std::uint32_t Step(std::uint32_t state, std::uint8_t byte) const {
    return next[state * class_count + byte_class[byte]];
  }
  std::size_t StateCount() const { return accepting.size(); }
  bool Accepts(std::string_view text) const;

  // The language of a compiled pattern.
  static Automaton FromDfa(const pattern::Dfa& dfa);
  // Exactly the strings of `texts`.
  static Automaton Set(const std::vector<std::string>& texts);
  // Strings that start with / end with / contain `text`.
  static Automaton Prefix(std::string_view text);
  static Automaton Suffix(std::string_view text);
  static Automaton Contains(std::string_view text);
  // Strings of `min` to `max` bytes (max < 0: unbounded). Both below 4097.
  static Automaton Length(std::int64_t min, std::int64_t max);
  // Absolute normalized paths (`/`, or `/seg` repeated with no segment empty,
  // `.` or `..`): what the request's program, invoked and cwd fields hold.
  static Automaton NormalizedAbsolutePath();
  // Normalized absolute paths equal to `dir` or below it (`dir` absolute and
  // normalized), and those whose parent directory is `dir`.
  static Automaton Under(std::string_view dir);
  static Automaton ParentIs(std::string_view dir);
  // Strings without the byte `excluded` (request strings are C strings: no
  // NUL; environment names: no `=` either).
  static Automaton Without(std::uint8_t excluded);
  // The same without the empty string.
  static Automaton NonEmptyWithout(std::uint8_t excluded);
  // `sha256:` and 64 lower-case hexadecimal digits.
  static Automaton Sha256Digest();
};

// How a leaf reads its subject before its automaton does.
struct Transform {
  // The automaton reads only the last path segment: every `/` restarts it
  // (exact on normalized paths, whose last segment is their base name).
  bool base_name = false;
  // Each byte is mapped through `bytes` (ASCII case mapping), identity by default.
  std::array<std::uint8_t, 256> bytes{};
  Transform();
  bool operator==(const Transform&) const = default;
};

// A boolean combination of leaves (automata read through a transform).
struct Lang {
  enum class Kind : std::uint8_t { kTrue, kFalse, kLeaf, kNot, kAnd, kOr };
  Kind kind = Kind::kTrue;
  std::uint32_t leaf = 0;
  std::vector<Lang> parts;

  static Lang True() { return {}; }
  static Lang False() { return {Kind::kFalse, 0, {}}; }
  static Lang Leaf(std::uint32_t leaf) { return {Kind::kLeaf, leaf, {}}; }
  static Lang Not(Lang a);
  static Lang And(std::vector<Lang> parts);
  static Lang Or(std::vector<Lang> parts);
};

// A requirement on one string: it is in `lang` (or not, when !member).
struct Constraint {
  Lang lang;
  bool member = true;
};

// The outcome of a search for a string meeting constraints.
struct SearchResult {
  enum class Status : std::uint8_t { kFound, kEmpty, kBudget } status = Status::kEmpty;
  std::string text;
};

// Owns automata and leaves; searches their combinations.
class Languages {
 public:
  // Adds an automaton (deduplicated by `key` when not empty) and returns its id.
  std::uint32_t AddAutomaton(Automaton automaton, const std::string& key = "");
  // The leaf reading automaton `automaton` through `transform`.
  std::uint32_t Leaf(std::uint32_t automaton, const Transform& transform = Transform());

  // True when `text` meets every constraint.
  bool Meets(const std::vector<Constraint>& constraints, std::string_view text) const;
  // A string meeting every constraint: `preferred` when it does, else a
  // shortest one (readable bytes tried first; never NUL). Explores at most
  // `budget` product states before giving up (kBudget).
  SearchResult Find(const std::vector<Constraint>& constraints, const std::vector<std::string>& preferred = {},
                    std::size_t budget = 200000);

 private:
  struct LeafInfo {
    std::uint32_t automaton;
    Transform transform;
    // Per state: an accepting state can still be reached / a rejecting one.
    std::vector<std::uint8_t> can_accept;
    std::vector<std::uint8_t> can_reject;
  };
  SearchResult Search(const std::vector<Constraint>& constraints, const std::vector<std::string>& preferred,
                      std::size_t budget);
  std::uint32_t StepLeaf(const LeafInfo& leaf, std::uint32_t state, std::uint8_t byte) const;
  void ComputeFutures(LeafInfo& leaf) const;

  std::deque<Automaton> automata_;
  std::vector<std::pair<std::string, std::uint32_t>> keyed_;
  std::vector<LeafInfo> leaves_;
  // Results of Find by constraints, preferences and budget (searches repeat
  // across the assignments of one analysis).
  std::unordered_map<std::string, SearchResult> cache_;
  // Search's map from a leaf to its slot, sized to leaves_ once: a search
  // writes (and reads) only the entries of its own leaves.
  std::vector<std::uint32_t> slot_of_;
};

}  // namespace gov::analysis
