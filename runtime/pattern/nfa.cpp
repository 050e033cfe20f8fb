// Automaton construction. The pattern AST becomes a byte-level NFA by
// Thompson's construction, with each code point set compiled to the UTF-8
// byte sequences that encode it; the NFA becomes a DFA over byte equivalence
// classes by subset construction. Every step is bounded by the limits in
// pattern.h, so hostile patterns fail fast instead of exhausting memory.
#include <algorithm>
#include <array>
#include <map>
#include <tuple>
#include <unordered_map>

#include "runtime/pattern/pattern_internal.h"

namespace gov::pattern::internal {
namespace {

// Bounds Emit calls, which repetitions of empty groups could otherwise
// multiply without creating states.
constexpr std::size_t kMaxEmitCalls = 4 * kMaxNfaStates;
// Bounds closure and transition steps of the subset construction.
constexpr std::uint64_t kMaxSubsetWork = 50'000'000;
// Bounds the NFA states stored across all DFA state sets.
constexpr std::uint64_t kMaxSubsetElements = std::uint64_t{1} << 22;

// A transition on any byte in [lo, hi].
struct NfaEdge {
  std::uint8_t lo = 0;
  std::uint8_t hi = 0;
  std::uint32_t to = 0;
};

struct NfaState {
  std::vector<NfaEdge> edges;
  std::vector<std::uint32_t> epsilons;
};

// The bytes of one UTF-8 encoding pattern: byte i is in [lo[i], hi[i]].
struct Utf8Sequence {
  int length = 0;
  std::array<std::uint8_t, 4> lo{};
  std::array<std::uint8_t, 4> hi{};
};

int EncodeUtf8(std::uint32_t cp, std::array<std::uint8_t, 4>* out) {
  auto& bytes = *out;
  if (cp < 0x80) {
    bytes[0] = static_cast<std::uint8_t>(cp);
    return 1;
  }
  if (cp < 0x800) {
    bytes[0] = static_cast<std::uint8_t>(0xC0 | (cp >> 6));
    bytes[1] = static_cast<std::uint8_t>(0x80 | (cp & 0x3F));
    return 2;
  }
  if (cp < 0x10000) {
    bytes[0] = static_cast<std::uint8_t>(0xE0 | (cp >> 12));
    bytes[1] = static_cast<std::uint8_t>(0x80 | ((cp >> 6) & 0x3F));
    bytes[2] = static_cast<std::uint8_t>(0x80 | (cp & 0x3F));
    return 3;
  }
  bytes[0] = static_cast<std::uint8_t>(0xF0 | (cp >> 18));
  bytes[1] = static_cast<std::uint8_t>(0x80 | ((cp >> 12) & 0x3F));
  bytes[2] = static_cast<std::uint8_t>(0x80 | ((cp >> 6) & 0x3F));
  bytes[3] = static_cast<std::uint8_t>(0x80 | (cp & 0x3F));
  return 4;
}

// Appends byte sequences whose union is exactly the UTF-8 encodings of the
// code points in `range` (surrogates excluded). The range is split until
// both ends share an encoded length and, for each trailing byte position,
// either share all higher bits or span every value of the lower ones; then
// the encodings are the product of per-byte ranges.
void AppendUtf8Sequences(Range range, std::vector<Utf8Sequence>* out) {
  std::vector<Range> pending = {range};
  while (!pending.empty()) {
    const Range r = pending.back();
    pending.pop_back();
    if (r.lo > r.hi) {
      continue;
    }
    if (r.lo <= 0xDFFF && r.hi >= 0xD800) {
      if (r.lo < 0xD800) {
        pending.push_back({r.lo, 0xD7FF});
      }
      if (r.hi > 0xDFFF) {
        pending.push_back({0xE000, r.hi});
      }
      continue;
    }
    bool split = false;
    for (const std::uint32_t last : {0x7Fu, 0x7FFu, 0xFFFFu}) {
      if (r.lo <= last && r.hi > last) {
        pending.push_back({r.lo, last});
        pending.push_back({last + 1, r.hi});
        split = true;
        break;
      }
    }
    if (split) {
      continue;
    }
    Utf8Sequence sequence;
    sequence.length = EncodeUtf8(r.lo, &sequence.lo);
    EncodeUtf8(r.hi, &sequence.hi);
    for (int i = 1; i < sequence.length && !split; ++i) {
      const std::uint32_t mask = (std::uint32_t{1} << (6 * i)) - 1;
      if ((r.lo & ~mask) == (r.hi & ~mask)) {
        continue;
      }
      if ((r.lo & mask) != 0) {
        pending.push_back({r.lo, r.lo | mask});
        pending.push_back({(r.lo | mask) + 1, r.hi});
        split = true;
      } else if ((r.hi & mask) != mask) {
        pending.push_back({r.lo, (r.hi & ~mask) - 1});
        pending.push_back({r.hi & ~mask, r.hi});
        split = true;
      }
    }
    if (!split) {
      out->push_back(sequence);
    }
  }
}

// Thompson's construction. Emit(node, in) adds the NFA for `node` starting
// at state `in` and returns its exit state. Invariant: every returned exit
// state's outgoing edges lie on cycles back to it, and loops only jump back
// to fresh states, so callers may add edges from any exit state.
class NfaBuilder {
 public:
  explicit NfaBuilder(const Ast& ast) : ast_(ast) {}

  // Builds the NFA; returns why it gave up if a limit was hit.
  std::optional<BuildFailure> Build() {
    start_ = NewState();
    const std::uint32_t end = Emit(ast_.root, start_);
    accept_ = NewState();
    AddEpsilon(end, accept_);
    return failure_;
  }

  const std::vector<NfaState>& States() const { return states_; }
  std::uint32_t Start() const { return start_; }
  std::uint32_t Accept() const { return accept_; }

 private:
  void Fail(BuildFailure failure) {
    if (!failed_) {
      failed_ = true;
      failure_ = failure;
    }
  }

  std::uint32_t NewState() {
    if (states_.size() >= kMaxNfaStates) {
      Fail(BuildFailure::kTooManyNfaStates);
      // State 0 always exists; edges to it are harmless since we give up.
      return 0;
    }
    states_.emplace_back();
    return static_cast<std::uint32_t>(states_.size() - 1);
  }

  void AddEdge(std::uint32_t from, std::uint32_t lo, std::uint32_t hi, std::uint32_t to) {
    states_[from].edges.push_back({static_cast<std::uint8_t>(lo), static_cast<std::uint8_t>(hi), to});
  }

  void AddEpsilon(std::uint32_t from, std::uint32_t to) {
    if (from != to) {
      states_[from].epsilons.push_back(to);
    }
  }

  std::uint32_t Emit(std::size_t index, std::uint32_t in) {
    if (failed_) {
      return in;
    }
    if (++emit_calls_ > kMaxEmitCalls) {
      Fail(BuildFailure::kTooMuchWork);
      return in;
    }
    const Node& node = ast_.nodes[index];
    switch (node.kind) {
      case NodeKind::kEmpty:
        return in;
      case NodeKind::kBytes: {
        const std::uint32_t out = NewState();
        for (const Range& range : node.ranges) {
          AddEdge(in, range.lo, range.hi, out);
        }
        return out;
      }
      case NodeKind::kCodePoints:
        return EmitCodePoints(node.ranges, in);
      case NodeKind::kConcat: {
        std::uint32_t current = in;
        for (const std::size_t child : node.children) {
          current = Emit(child, current);
        }
        return current;
      }
      case NodeKind::kAlternate: {
        const std::uint32_t out = NewState();
        for (const std::size_t child : node.children) {
          const std::uint32_t branch = NewState();
          AddEpsilon(in, branch);
          AddEpsilon(Emit(child, branch), out);
        }
        return out;
      }
      case NodeKind::kRepeat:
        return EmitRepeat(node, in);
    }
    return in;
  }

  std::uint32_t EmitRepeat(const Node& node, std::uint32_t in) {
    const std::size_t child = node.children[0];
    const bool unbounded = node.max < 0;
    // For x{n,} with n >= 1 the last required copy doubles as the loop.
    const int fixed = unbounded && node.min > 0 ? node.min - 1 : node.min;
    std::uint32_t current = in;
    for (int i = 0; i < fixed && !failed_; ++i) {
      current = Emit(child, current);
    }
    if (unbounded) {
      const std::uint32_t loop = NewState();
      AddEpsilon(current, loop);
      const std::uint32_t body_end = Emit(child, loop);
      AddEpsilon(body_end, loop);
      return node.min > 0 ? body_end : loop;
    }
    if (node.max == node.min) {
      return current;
    }
    const std::uint32_t out = NewState();
    for (int i = node.min; i < node.max && !failed_; ++i) {
      AddEpsilon(current, out);
      current = Emit(child, current);
    }
    AddEpsilon(current, out);
    return out;
  }

  // Compiles a code point set to UTF-8 byte paths from `in` to a new exit,
  // sharing states between paths with equal suffixes.
  std::uint32_t EmitCodePoints(const std::vector<Range>& ranges, std::uint32_t in) {
    const std::uint32_t out = NewState();
    std::vector<Utf8Sequence> sequences;
    for (const Range& range : ranges) {
      AppendUtf8Sequences(range, &sequences);
    }
    std::map<std::tuple<std::uint8_t, std::uint8_t, std::uint32_t>, std::uint32_t> suffix_states;
    for (const Utf8Sequence& sequence : sequences) {
      std::uint32_t target = out;
      for (int i = sequence.length - 1; i >= 1; --i) {
        const auto key = std::make_tuple(sequence.lo[i], sequence.hi[i], target);
        auto it = suffix_states.find(key);
        if (it == suffix_states.end()) {
          const std::uint32_t state = NewState();
          AddEdge(state, sequence.lo[i], sequence.hi[i], target);
          it = suffix_states.emplace(key, state).first;
        }
        target = it->second;
      }
      AddEdge(in, sequence.lo[0], sequence.hi[0], target);
    }
    return out;
  }

  const Ast& ast_;
  std::vector<NfaState> states_;
  std::uint32_t start_ = 0;
  std::uint32_t accept_ = 0;
  std::size_t emit_calls_ = 0;
  bool failed_ = false;
  std::optional<BuildFailure> failure_;
};

struct StateSetHash {
  std::size_t operator()(const std::vector<std::uint32_t>& set) const {
    std::uint64_t hash = 0xcbf29ce484222325ull;
    for (const std::uint32_t state : set) {
      hash = (hash ^ state) * 0x100000001b3ull;
      hash ^= hash >> 29;
    }
    return static_cast<std::size_t>(hash);
  }
};

// Subset construction over byte classes. DFA state 0 is the empty set (the
// dead state); the others are sorted sets of "important" NFA states, those
// with byte edges or the accepting state, closed under epsilon moves.
class SubsetBuilder {
 public:
  explicit SubsetBuilder(const NfaBuilder& nfa)
      : states_(nfa.States()), accept_(nfa.Accept()), start_(nfa.Start()), mark_(states_.size(), 0) {}

  std::variant<DfaTables, BuildFailure> Build() {
    DfaTables tables;
    ComputeByteClasses(&tables);
    const std::size_t class_count = tables.class_count;

    ids_.emplace(std::vector<std::uint32_t>{}, 0);
    sets_.push_back(&ids_.begin()->first);
    std::vector<std::uint32_t> closure;
    Closure({start_}, &closure);
    std::optional<std::uint32_t> start = Intern(closure);
    if (!start.has_value()) {
      return *failure_;
    }
    tables.start = *start;

    std::vector<std::vector<std::uint32_t>> targets(class_count);
    std::vector<std::uint32_t> current;
    for (std::size_t id = 0; id < sets_.size(); ++id) {
      current = *sets_[id];
      for (auto& target : targets) {
        target.clear();
      }
      for (const std::uint32_t state : current) {
        for (const NfaEdge& edge : states_[state].edges) {
          const std::size_t last = tables.byte_class[edge.hi];
          for (std::size_t c = tables.byte_class[edge.lo]; c <= last; ++c) {
            targets[c].push_back(edge.to);
            ++work_;
          }
        }
      }
      for (std::size_t c = 0; c < class_count; ++c) {
        std::uint32_t next = 0;
        if (!targets[c].empty()) {
          Closure(targets[c], &closure);
          const std::optional<std::uint32_t> interned = Intern(closure);
          if (!interned.has_value()) {
            return *failure_;
          }
          next = *interned;
        }
        tables.transitions.push_back(next);
      }
      if (work_ > kMaxSubsetWork) {
        return BuildFailure::kTooMuchWork;
      }
    }

    tables.state_count = sets_.size();
    tables.accepting.resize(sets_.size(), 0);
    for (std::size_t id = 0; id < sets_.size(); ++id) {
      tables.accepting[id] = std::binary_search(sets_[id]->begin(), sets_[id]->end(), accept_) ? 1 : 0;
    }
    return tables;
  }

 private:
  // Bytes are equivalent when no NFA edge range separates them.
  void ComputeByteClasses(DfaTables* tables) const {
    std::array<bool, 257> boundary{};
    boundary[0] = true;
    for (const NfaState& state : states_) {
      for (const NfaEdge& edge : state.edges) {
        boundary[edge.lo] = true;
        boundary[edge.hi + 1u] = true;
      }
    }
    std::size_t current = 0;
    for (std::size_t b = 0; b < 256; ++b) {
      if (boundary[b] && b > 0) {
        ++current;
      }
      tables->byte_class[b] = static_cast<std::uint8_t>(current);
    }
    tables->class_count = current + 1;
  }

  // The sorted important states reachable from `seeds` by epsilon moves.
  void Closure(const std::vector<std::uint32_t>& seeds, std::vector<std::uint32_t>* out) {
    ++generation_;
    out->clear();
    stack_.clear();
    for (const std::uint32_t seed : seeds) {
      if (mark_[seed] != generation_) {
        mark_[seed] = generation_;
        stack_.push_back(seed);
      }
    }
    while (!stack_.empty()) {
      const std::uint32_t state = stack_.back();
      stack_.pop_back();
      ++work_;
      if (!states_[state].edges.empty() || state == accept_) {
        out->push_back(state);
      }
      for (const std::uint32_t next : states_[state].epsilons) {
        if (mark_[next] != generation_) {
          mark_[next] = generation_;
          stack_.push_back(next);
        }
      }
    }
    std::sort(out->begin(), out->end());
    work_ += out->size();
  }

  // The DFA state for `set`, created if new; nullopt past a limit.
  std::optional<std::uint32_t> Intern(const std::vector<std::uint32_t>& set) {
    auto it = ids_.find(set);
    if (it != ids_.end()) {
      return it->second;
    }
    if (sets_.size() >= kMaxDfaStates) {
      failure_ = BuildFailure::kTooManyDfaStates;
      return std::nullopt;
    }
    elements_ += set.size();
    if (elements_ > kMaxSubsetElements) {
      failure_ = BuildFailure::kTooMuchWork;
      return std::nullopt;
    }
    const auto id = static_cast<std::uint32_t>(sets_.size());
    it = ids_.emplace(set, id).first;
    // Keys of unordered_map nodes stay put across rehashing.
    sets_.push_back(&it->first);
    return id;
  }

  const std::vector<NfaState>& states_;
  const std::uint32_t accept_;
  const std::uint32_t start_;
  std::vector<std::uint32_t> mark_;
  std::uint32_t generation_ = 0;
  std::vector<std::uint32_t> stack_;
  std::unordered_map<std::vector<std::uint32_t>, std::uint32_t, StateSetHash> ids_;
  std::vector<const std::vector<std::uint32_t>*> sets_;
  std::uint64_t work_ = 0;
  std::uint64_t elements_ = 0;
  std::optional<BuildFailure> failure_;
};

}  // namespace

std::variant<DfaTables, BuildFailure> BuildDfaTables(const Ast& ast) {
  NfaBuilder nfa(ast);
  if (const std::optional<BuildFailure> failure = nfa.Build()) {
    return *failure;
  }
  return SubsetBuilder(nfa).Build();
}

}  // namespace gov::pattern::internal
