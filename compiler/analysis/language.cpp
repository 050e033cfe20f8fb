// Byte-string languages: construction, boolean combination, member search.
#include "compiler/analysis/language.h"

#include <algorithm>
#include <map>
#include <set>
#include <unordered_map>
#include <utility>

namespace gov::analysis {
namespace {

// Rows of 256 successors, state 0 dead unless a builder says otherwise.
class Builder {
 public:
  std::uint32_t Add(bool accepting, std::uint32_t fill = 0) {
    rows_.emplace_back();
    rows_.back().fill(fill);
    accepting_.push_back(accepting ? 1 : 0);
    return static_cast<std::uint32_t>(rows_.size() - 1);
  }
  std::array<std::uint32_t, 256>& Row(std::uint32_t state) { return rows_[state]; }
  void SetAccepting(std::uint32_t state) { accepting_[state] = 1; }

  // Merges bytes whose columns agree into classes.
  Automaton Finish(std::uint32_t start) {
    Automaton a;
    std::map<std::vector<std::uint32_t>, std::uint16_t> classes;
    std::vector<std::vector<std::uint32_t>> columns;
    for (int byte = 0; byte < 256; ++byte) {
      std::vector<std::uint32_t> column(rows_.size());
      for (std::size_t s = 0; s < rows_.size(); ++s) column[s] = rows_[s][static_cast<std::size_t>(byte)];
      auto [it, inserted] = classes.emplace(column, static_cast<std::uint16_t>(columns.size()));
      if (inserted) columns.push_back(std::move(column));
      a.byte_class[static_cast<std::size_t>(byte)] = it->second;
    }
    a.class_count = static_cast<std::uint32_t>(columns.size());
    a.next.resize(rows_.size() * a.class_count);
    for (std::size_t s = 0; s < rows_.size(); ++s) {
      for (std::size_t c = 0; c < columns.size(); ++c) a.next[s * a.class_count + c] = columns[c][s];
    }
    a.accepting = accepting_;
    a.start = start;
    return a;
  }

 private:
  std::vector<std::array<std::uint32_t, 256>> rows_;
  std::vector<std::uint8_t> accepting_;
};

std::uint8_t Byte(char c) {
  return static_cast<std::uint8_t>(c);
}

// The Knuth-Morris-Pratt automaton of `text`: state j = the longest prefix
// of `text` that is a suffix of what was read; `absorb`: state n stays.
Automaton Kmp(std::string_view text, bool absorb) {
  Builder b;
  const std::size_t n = text.size();
  for (std::size_t j = 0; j <= n; ++j) b.Add(j == n);
  if (n == 0) {
    b.Row(0).fill(0);
    return b.Finish(0);
  }
  b.Row(0).fill(0);
  b.Row(0)[Byte(text[0])] = 1;
  std::uint32_t restart = 0;
  for (std::size_t j = 1; j <= n; ++j) {
    b.Row(static_cast<std::uint32_t>(j)) = b.Row(restart);
    if (j < n) {
      b.Row(static_cast<std::uint32_t>(j))[Byte(text[j])] = static_cast<std::uint32_t>(j + 1);
      restart = b.Row(restart)[Byte(text[j])];
    }
  }
  if (absorb) b.Row(static_cast<std::uint32_t>(n)).fill(static_cast<std::uint32_t>(n));
  return b.Finish(0);
}

// Bytes in the order the search tries them: readable ones first, NUL never.
const std::vector<std::uint8_t>& SearchOrder() {
  static const std::vector<std::uint8_t> order = [] {
    std::vector<std::uint8_t> bytes;
    const std::string first = "abcdefghijklmnopqrstuvwxyz0123456789/.-_=ABCDEFGHIJKLMNOPQRSTUVWXYZ";
    for (char c : first) bytes.push_back(Byte(c));
    for (int c = 0x20; c < 0x7f; ++c) {
      if (first.find(static_cast<char>(c)) == std::string::npos) bytes.push_back(static_cast<std::uint8_t>(c));
    }
    for (int c = 1; c < 0x20; ++c) bytes.push_back(static_cast<std::uint8_t>(c));
    for (int c = 0x7f; c < 0x100; ++c) bytes.push_back(static_cast<std::uint8_t>(c));
    return bytes;
  }();
  return order;
}

// Three-valued truth for pruning: 1 true, 0 false, 2 either.
int Eval3(const Lang& lang, const std::vector<std::uint8_t>& leaf_values, const std::vector<std::uint32_t>& slot_of) {
  switch (lang.kind) {
    case Lang::Kind::kTrue:
      return 1;
    case Lang::Kind::kFalse:
      return 0;
    case Lang::Kind::kLeaf:
      return leaf_values[slot_of[lang.leaf]];
    case Lang::Kind::kNot: {
      int v = Eval3(lang.parts[0], leaf_values, slot_of);
      return v == 2 ? 2 : 1 - v;
    }
    case Lang::Kind::kAnd:
    case Lang::Kind::kOr: {
      // `and` stops at a false part, `or` at a true one.
      const int decisive = lang.kind == Lang::Kind::kAnd ? 0 : 1;
      int result = 1 - decisive;
      for (const Lang& part : lang.parts) {
        int v = Eval3(part, leaf_values, slot_of);
        if (v == decisive) return decisive;
        if (v == 2) result = 2;
      }
      return result;
    }
  }
  return 2;
}

void CollectLeaves(const Lang& lang, std::vector<std::uint32_t>& leaves) {
  if (lang.kind == Lang::Kind::kLeaf) {
    if (std::find(leaves.begin(), leaves.end(), lang.leaf) == leaves.end()) leaves.push_back(lang.leaf);
  }
  for (const Lang& part : lang.parts) CollectLeaves(part, leaves);
}

}  // namespace

bool Automaton::Accepts(std::string_view text) const {
  std::uint32_t state = start;
  for (char c : text) state = Step(state, Byte(c));
  return accepting[state] != 0;
}

Automaton Automaton::FromDfa(const pattern::Dfa& dfa) {
  Automaton a;
  for (std::size_t b = 0; b < 256; ++b) a.byte_class[b] = dfa.byte_class()[b];
  a.class_count = static_cast<std::uint32_t>(dfa.class_count());
  a.next.assign(dfa.transitions().begin(), dfa.transitions().end());
  a.accepting.assign(dfa.accepting().begin(), dfa.accepting().end());
  a.start = static_cast<std::uint32_t>(dfa.start_state());
  return a;
}

Automaton Automaton::Set(const std::vector<std::string>& texts) {
  Builder b;
  b.Add(false);  // dead
  const std::uint32_t root = b.Add(false);
  for (const std::string& text : texts) {
    std::uint32_t state = root;
    for (char c : text) {
      std::uint32_t next = b.Row(state)[Byte(c)];
      if (next == 0) {
        next = b.Add(false);
        b.Row(state)[Byte(c)] = next;
      }
      state = next;
    }
    b.SetAccepting(state);
  }
  return b.Finish(root);
}

Automaton Automaton::Prefix(std::string_view text) {
  Builder b;
  b.Add(false);
  std::uint32_t state = b.Add(text.empty());
  const std::uint32_t start = state;
  for (std::size_t i = 0; i < text.size(); ++i) {
    std::uint32_t next = b.Add(i + 1 == text.size());
    b.Row(state)[Byte(text[i])] = next;
    state = next;
  }
  b.Row(state).fill(state);
  return b.Finish(start);
}

Automaton Automaton::Suffix(std::string_view text) {
  return Kmp(text, false);
}

Automaton Automaton::Contains(std::string_view text) {
  return Kmp(text, true);
}

Automaton Automaton::Length(std::int64_t min, std::int64_t max) {
  Builder b;
  const std::int64_t last = max < 0 ? min : max + 1;  // saturating count (max+1: too long, dead)
  for (std::int64_t i = 0; i <= last; ++i) b.Add(i >= min && (max < 0 || i <= max));
  for (std::int64_t i = 0; i <= last; ++i)
    b.Row(static_cast<std::uint32_t>(i)).fill(static_cast<std::uint32_t>(std::min(i + 1, last)));
  return b.Finish(0);
}

Automaton Automaton::NormalizedAbsolutePath() {
  Builder b;
  const std::uint32_t dead = b.Add(false);
  const std::uint32_t start = b.Add(false);
  const std::uint32_t root = b.Add(true);      // "/"
  const std::uint32_t slash = b.Add(false);    // "/seg/": a segment must follow
  const std::uint32_t dot = b.Add(false);      // segment "."
  const std::uint32_t dot_dot = b.Add(false);  // segment ".."
  const std::uint32_t segment = b.Add(true);   // any other segment
  b.Row(start)[Byte('/')] = root;
  for (std::uint32_t at_segment_start : {root, slash}) {
    b.Row(at_segment_start).fill(segment);
    b.Row(at_segment_start)[Byte('/')] = dead;
    b.Row(at_segment_start)[Byte('.')] = dot;
  }
  b.Row(dot).fill(segment);
  b.Row(dot)[Byte('/')] = dead;
  b.Row(dot)[Byte('.')] = dot_dot;
  b.Row(dot_dot).fill(segment);
  b.Row(dot_dot)[Byte('/')] = dead;
  b.Row(segment).fill(segment);
  b.Row(segment)[Byte('/')] = slash;
  for (std::uint32_t s : {root, slash, dot, dot_dot, segment}) b.Row(s)[0] = dead;
  return b.Finish(start);
}

Automaton Automaton::Under(std::string_view dir) {
  if (dir == "/") return NormalizedAbsolutePath();
  Builder b;
  b.Add(false);
  std::uint32_t state = b.Add(false);
  const std::uint32_t start = state;
  for (char c : dir) {
    std::uint32_t next = b.Add(false);
    b.Row(state)[Byte(c)] = next;
    state = next;
  }
  b.SetAccepting(state);
  const std::uint32_t below = b.Add(true);
  b.Row(state)[Byte('/')] = below;
  b.Row(below).fill(below);
  return b.Finish(start);
}

Automaton Automaton::ParentIs(std::string_view dir) {
  Builder b;
  b.Add(false);
  std::uint32_t state = b.Add(false);
  const std::uint32_t start = state;
  const std::string_view prefix = dir == "/" ? std::string_view() : dir;
  for (char c : prefix) {
    std::uint32_t next = b.Add(false);
    b.Row(state)[Byte(c)] = next;
    state = next;
  }
  const std::uint32_t slash = b.Add(dir == "/");  // DirName("/") is "/"
  const std::uint32_t name = b.Add(true);
  b.Row(state)[Byte('/')] = slash;
  b.Row(slash).fill(name);
  b.Row(slash)[Byte('/')] = 0;
  b.Row(name).fill(name);
  b.Row(name)[Byte('/')] = 0;
  return b.Finish(start);
}

Automaton Automaton::Without(std::uint8_t excluded) {
  Builder b;
  b.Add(false);
  const std::uint32_t any = b.Add(true, 1);
  b.Row(any)[excluded] = 0;
  return b.Finish(any);
}

Automaton Automaton::NonEmptyWithout(std::uint8_t excluded) {
  Builder b;
  b.Add(false);
  const std::uint32_t start = b.Add(false, 2);
  const std::uint32_t some = b.Add(true, 2);
  b.Row(start)[excluded] = 0;
  b.Row(some)[excluded] = 0;
  return b.Finish(start);
}

Automaton Automaton::Sha256Digest() {
  Builder b;
  b.Add(false);
  std::uint32_t state = b.Add(false);
  const std::uint32_t start = state;
  for (char c : std::string_view("sha256:")) {
    std::uint32_t next = b.Add(false);
    b.Row(state)[Byte(c)] = next;
    state = next;
  }
  for (int i = 0; i < 64; ++i) {
    std::uint32_t next = b.Add(i == 63);
    for (char c : std::string_view("0123456789abcdef")) b.Row(state)[Byte(c)] = next;
    state = next;
  }
  return b.Finish(start);
}

Transform::Transform() {
  for (std::size_t i = 0; i < 256; ++i) bytes[i] = static_cast<std::uint8_t>(i);
}

Lang Lang::Not(Lang a) {
  if (a.kind == Kind::kTrue) return False();
  if (a.kind == Kind::kFalse) return True();
  if (a.kind == Kind::kNot) return std::move(a.parts[0]);
  Lang n{Kind::kNot, 0, {}};
  n.parts.push_back(std::move(a));
  return n;
}

namespace {
// `parts` joined by `kind` (kAnd or kOr): a part equal to `absorbing` decides
// the whole; parts equal to the other constant drop out.
Lang Join(Lang::Kind kind, Lang::Kind absorbing, std::vector<Lang> parts) {
  const Lang::Kind neutral = absorbing == Lang::Kind::kFalse ? Lang::Kind::kTrue : Lang::Kind::kFalse;
  Lang result{kind, 0, {}};
  for (Lang& part : parts) {
    if (part.kind == absorbing) return {absorbing, 0, {}};
    if (part.kind != neutral) result.parts.push_back(std::move(part));
  }
  if (result.parts.empty()) return {neutral, 0, {}};
  if (result.parts.size() == 1) return std::move(result.parts[0]);
  return result;
}
}  // namespace

Lang Lang::And(std::vector<Lang> parts) {
  return Join(Kind::kAnd, Kind::kFalse, std::move(parts));
}

Lang Lang::Or(std::vector<Lang> parts) {
  return Join(Kind::kOr, Kind::kTrue, std::move(parts));
}

std::uint32_t Languages::AddAutomaton(Automaton automaton, const std::string& key) {
  if (!key.empty()) {
    for (const auto& [k, id] : keyed_) {
      if (k == key) return id;
    }
  }
  automata_.push_back(std::move(automaton));
  const auto id = static_cast<std::uint32_t>(automata_.size() - 1);
  if (!key.empty()) keyed_.emplace_back(key, id);
  return id;
}

std::uint32_t Languages::Leaf(std::uint32_t automaton, const Transform& transform) {
  for (std::size_t i = 0; i < leaves_.size(); ++i) {
    if (leaves_[i].automaton == automaton && leaves_[i].transform == transform) return static_cast<std::uint32_t>(i);
  }
  LeafInfo leaf{automaton, transform, {}, {}};
  ComputeFutures(leaf);
  leaves_.push_back(std::move(leaf));
  return static_cast<std::uint32_t>(leaves_.size() - 1);
}

std::uint32_t Languages::StepLeaf(const LeafInfo& leaf, std::uint32_t state, std::uint8_t byte) const {
  const Automaton& a = automata_[leaf.automaton];
  if (leaf.transform.base_name && byte == '/') return a.start;
  return a.Step(state, leaf.transform.bytes[byte]);
}

void Languages::ComputeFutures(LeafInfo& leaf) const {
  const Automaton& a = automata_[leaf.automaton];
  const std::size_t n = a.StateCount();
  std::vector<std::vector<std::uint32_t>> predecessors(n);
  for (std::uint32_t s = 0; s < n; ++s) {
    std::vector<std::uint32_t> seen;
    for (int byte = 1; byte < 256; ++byte) {
      std::uint32_t t = StepLeaf(leaf, s, static_cast<std::uint8_t>(byte));
      if (std::find(seen.begin(), seen.end(), t) == seen.end()) {
        seen.push_back(t);
        predecessors[t].push_back(s);
      }
    }
  }
  auto backwards = [&](bool accepting) {
    std::vector<std::uint8_t> reach(n, 0);
    std::vector<std::uint32_t> work;
    for (std::uint32_t s = 0; s < n; ++s) {
      if ((a.accepting[s] != 0) == accepting) {
        reach[s] = 1;
        work.push_back(s);
      }
    }
    while (!work.empty()) {
      std::uint32_t s = work.back();
      work.pop_back();
      for (std::uint32_t p : predecessors[s]) {
        if (reach[p] == 0) {
          reach[p] = 1;
          work.push_back(p);
        }
      }
    }
    return reach;
  };
  leaf.can_accept = backwards(true);
  leaf.can_reject = backwards(false);
}

namespace {
bool Eval(const Lang& lang, const std::vector<std::uint8_t>& accept, const std::vector<std::uint32_t>& slot_of) {
  return Eval3(lang, accept, slot_of) == 1;
}
}  // namespace

bool Languages::Meets(const std::vector<Constraint>& constraints, std::string_view text) const {
  if (text.find('\0') != std::string_view::npos) return false;
  std::vector<std::uint32_t> leaves;
  for (const Constraint& c : constraints) CollectLeaves(c.lang, leaves);
  std::vector<std::uint32_t> slot_of(leaves_.size(), 0);
  std::vector<std::uint8_t> accept(leaves.size());
  for (std::size_t i = 0; i < leaves.size(); ++i) {
    slot_of[leaves[i]] = static_cast<std::uint32_t>(i);
    const LeafInfo& leaf = leaves_[leaves[i]];
    std::uint32_t state = automata_[leaf.automaton].start;
    for (char c : text) state = StepLeaf(leaf, state, Byte(c));
    accept[i] = automata_[leaf.automaton].accepting[state];
  }
  for (const Constraint& c : constraints) {
    if (Eval(c.lang, accept, slot_of) != c.member) return false;
  }
  return true;
}

namespace {
void AppendKey(const Lang& lang, std::string& key) {
  key.push_back(static_cast<char>('0' + static_cast<int>(lang.kind)));
  if (lang.kind == Lang::Kind::kLeaf) key += std::to_string(lang.leaf);
  if (!lang.parts.empty()) {
    key.push_back('(');
    for (const Lang& part : lang.parts) AppendKey(part, key);
    key.push_back(')');
  }
}
}  // namespace

SearchResult Languages::Find(const std::vector<Constraint>& constraints, const std::vector<std::string>& preferred,
                             std::size_t budget) {
  std::string key = std::to_string(budget);
  for (const Constraint& c : constraints) {
    key.push_back(c.member ? '+' : '-');
    AppendKey(c.lang, key);
  }
  for (const std::string& text : preferred) key += "\n" + text;
  auto cached = cache_.find(key);
  if (cached != cache_.end()) return cached->second;
  SearchResult result = Search(constraints, preferred, budget);
  if (cache_.size() > 200000) cache_.clear();
  cache_.emplace(std::move(key), result);
  return result;
}

SearchResult Languages::Search(const std::vector<Constraint>& constraints, const std::vector<std::string>& preferred,
                               std::size_t budget) {
  for (const std::string& text : preferred) {
    if (Meets(constraints, text)) return {SearchResult::Status::kFound, text};
  }
  std::vector<std::uint32_t> leaves;
  for (const Constraint& c : constraints) CollectLeaves(c.lang, leaves);
  const std::size_t k = leaves.size();
  if (slot_of_.size() < leaves_.size()) slot_of_.resize(leaves_.size());
  std::vector<std::uint32_t>& slot_of = slot_of_;
  for (std::size_t i = 0; i < k; ++i) slot_of[leaves[i]] = static_cast<std::uint32_t>(i);

  std::vector<std::uint32_t> tuples;  // k per explored state
  std::vector<std::pair<std::uint32_t, std::uint8_t>> came_from;
  std::unordered_map<std::string, std::uint32_t> index;
  std::vector<std::uint8_t> values(k);

  // 0: cannot lead to a member; 1: is a member; 2: may lead to one.
  auto classify = [&](const std::uint32_t* tuple) {
    for (std::size_t i = 0; i < k; ++i) {
      const LeafInfo& leaf = leaves_[leaves[i]];
      values[i] = automata_[leaf.automaton].accepting[tuple[i]];
    }
    bool member = true;
    for (const Constraint& c : constraints) {
      if (Eval(c.lang, values, slot_of) != c.member) member = false;
    }
    if (member) return 1;
    for (std::size_t i = 0; i < k; ++i) {
      const LeafInfo& leaf = leaves_[leaves[i]];
      const bool yes = leaf.can_accept[tuple[i]] != 0;
      const bool no = leaf.can_reject[tuple[i]] != 0;
      values[i] = yes && no ? 2 : (yes ? 1 : 0);
    }
    for (const Constraint& c : constraints) {
      const int v = Eval3(c.lang, values, slot_of);
      if (v != 2 && (v == 1) != c.member) return 0;
    }
    return 2;
  };
  auto rebuild = [&](std::uint32_t at) {
    std::string text;
    while (at != 0) {
      text.push_back(static_cast<char>(came_from[at].second));
      at = came_from[at].first;
    }
    std::reverse(text.begin(), text.end());
    return text;
  };

  // One byte per class of bytes every leaf treats alike (the first in
  // search order), so each state has a few successors rather than 255: the
  // partition of the bytes refined by each leaf's classes in turn.
  std::vector<std::uint8_t> representatives;
  {
    std::array<std::uint32_t, 256> block{};
    for (std::size_t i = 0; i < k; ++i) {
      const LeafInfo& leaf = leaves_[leaves[i]];
      std::unordered_map<std::uint64_t, std::uint32_t> split;
      for (int byte = 0; byte < 256; ++byte) {
        const std::uint32_t leaf_class = leaf.transform.base_name && byte == '/'
                                             ? 0xffffu
                                             : automata_[leaf.automaton].byte_class[leaf.transform.bytes[byte]];
        const std::uint64_t pair =
            (static_cast<std::uint64_t>(block[static_cast<std::size_t>(byte)]) << 32) | leaf_class;
        auto [it, inserted] = split.emplace(pair, static_cast<std::uint32_t>(split.size()));
        block[static_cast<std::size_t>(byte)] = it->second;
      }
    }
    std::vector<std::uint8_t> seen(257, 0);
    for (std::uint8_t byte : SearchOrder()) {
      if (seen[block[byte]] == 0) {
        seen[block[byte]] = 1;
        representatives.push_back(byte);
      }
    }
  }

  std::vector<std::uint32_t> tuple(k);
  for (std::size_t i = 0; i < k; ++i) tuple[i] = automata_[leaves_[leaves[i]].automaton].start;
  const int first = classify(tuple.data());
  if (first == 1) return {SearchResult::Status::kFound, ""};
  if (first == 0) return {SearchResult::Status::kEmpty, ""};
  tuples.insert(tuples.end(), tuple.begin(), tuple.end());
  came_from.emplace_back(0, 0);
  index.emplace(std::string(reinterpret_cast<const char*>(tuple.data()), k * sizeof(std::uint32_t)), 0);
  for (std::size_t head = 0; head < came_from.size(); ++head) {
    for (std::uint8_t byte : representatives) {
      for (std::size_t i = 0; i < k; ++i) {
        tuple[i] = StepLeaf(leaves_[leaves[i]], tuples[head * k + i], byte);
      }
      std::string key(reinterpret_cast<const char*>(tuple.data()), k * sizeof(std::uint32_t));
      if (index.count(key) != 0) continue;
      const int verdict = classify(tuple.data());
      const auto id = static_cast<std::uint32_t>(came_from.size());
      index.emplace(std::move(key), id);
      if (verdict == 0) continue;
      came_from.emplace_back(static_cast<std::uint32_t>(head), byte);
      tuples.insert(tuples.end(), tuple.begin(), tuple.end());
      if (verdict == 1) return {SearchResult::Status::kFound, rebuild(id)};
      if (came_from.size() > budget) return {SearchResult::Status::kBudget, ""};
    }
  }
  return {SearchResult::Status::kEmpty, ""};
}

}  // namespace gov::analysis
