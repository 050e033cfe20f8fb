// The Dfa class: matching, canonical minimization (Hopcroft's algorithm,
// then canonical renumbering of states and byte classes), and the versioned
// serialization format documented in pattern.h.
#include <algorithm>
#include <map>
#include <new>

#include "runtime/pattern/pattern.h"
#include "runtime/pattern/pattern_internal.h"

namespace gov::pattern {
namespace internal {
namespace {

constexpr char kMagic[4] = {'G', 'D', 'F', 'A'};
// Version 3 stores the byte classes as runs and each row of transitions as
// its most frequent target plus exceptions (or, when that is not smaller,
// whole); a transition takes one byte when there are at most 256 states,
// two otherwise. Versions 1 and 2 (flat tables) are not read: IR format 7,
// the only one read, holds version 3.
constexpr std::uint16_t kFormatVersion = 3;
constexpr std::size_t kMaxNarrowStates = 256;
// A row's exception count that marks a dense row (every transition stored).
constexpr std::uint8_t kDenseRow = 255;
constexpr std::size_t kHeaderBytes = 12;
constexpr std::size_t kChecksumBytes = 4;

// Splits states into blocks of equivalent states by Hopcroft's partition
// refinement. `delta` is row-major (n states by k classes). Returns each
// state's block; blocks are numbered 0..*block_count-1.
std::vector<std::uint32_t> CoarsestPartition(std::size_t n, std::size_t k, const std::vector<std::uint32_t>& delta,
                                             const std::vector<std::uint8_t>& accepting, std::size_t* block_count) {
  // Predecessor lists per class, in compressed rows: with row = c*(n+1),
  // the predecessors of t by class c are inverse[c*n + i] for i in
  // [offsets[row+t], offsets[row+t+1]).
  std::vector<std::uint32_t> offsets(k * (n + 1), 0);
  for (std::size_t s = 0; s < n; ++s) {
    for (std::size_t c = 0; c < k; ++c) {
      ++offsets[c * (n + 1) + delta[s * k + c] + 1];
    }
  }
  for (std::size_t c = 0; c < k; ++c) {
    std::uint32_t* row = &offsets[c * (n + 1)];
    for (std::size_t t = 0; t < n; ++t) {
      row[t + 1] += row[t];
    }
  }
  std::vector<std::uint32_t> inverse(k * n);
  {
    std::vector<std::uint32_t> fill(offsets);
    for (std::size_t s = 0; s < n; ++s) {
      for (std::size_t c = 0; c < k; ++c) {
        inverse[c * n + fill[c * (n + 1) + delta[s * k + c]]++] = static_cast<std::uint32_t>(s);
      }
    }
  }

  // Blocks are contiguous runs of `elements`; the first `marked - start`
  // elements of a block are the ones marked while processing a splitter.
  std::vector<std::uint32_t> elements(n);
  std::vector<std::uint32_t> position(n);
  std::vector<std::uint32_t> block_of(n);
  std::vector<std::size_t> block_start;
  std::vector<std::size_t> block_end;
  std::vector<std::size_t> block_marked;
  std::vector<bool> in_worklist;
  std::vector<std::uint32_t> worklist;

  std::size_t next = 0;
  for (const std::uint8_t flag : {std::uint8_t{1}, std::uint8_t{0}}) {
    const std::size_t start = next;
    for (std::size_t s = 0; s < n; ++s) {
      if (accepting[s] == flag) {
        elements[next] = static_cast<std::uint32_t>(s);
        position[s] = static_cast<std::uint32_t>(next);
        block_of[s] = static_cast<std::uint32_t>(block_start.size());
        ++next;
      }
    }
    if (next > start) {
      worklist.push_back(static_cast<std::uint32_t>(block_start.size()));
      block_start.push_back(start);
      block_end.push_back(next);
      block_marked.push_back(start);
      in_worklist.push_back(true);
    }
  }

  std::vector<std::uint32_t> splitter;
  std::vector<std::uint32_t> touched;
  while (!worklist.empty()) {
    const std::uint32_t block = worklist.back();
    worklist.pop_back();
    in_worklist[block] = false;
    splitter.assign(elements.begin() + static_cast<std::ptrdiff_t>(block_start[block]),
                    elements.begin() + static_cast<std::ptrdiff_t>(block_end[block]));
    for (std::size_t c = 0; c < k; ++c) {
      touched.clear();
      const std::uint32_t* row = &offsets[c * (n + 1)];
      for (const std::uint32_t target : splitter) {
        for (std::uint32_t i = row[target]; i < row[target + 1]; ++i) {
          const std::uint32_t s = inverse[c * n + i];
          const std::uint32_t y = block_of[s];
          if (position[s] < block_marked[y]) {
            continue;
          }
          const std::size_t to = block_marked[y]++;
          const std::uint32_t other = elements[to];
          elements[position[s]] = other;
          position[other] = position[s];
          elements[to] = s;
          position[s] = static_cast<std::uint32_t>(to);
          if (block_marked[y] == block_start[y] + 1) {
            touched.push_back(y);
          }
        }
      }
      for (const std::uint32_t y : touched) {
        if (block_marked[y] == block_end[y]) {
          block_marked[y] = block_start[y];
          continue;
        }
        // The marked prefix becomes a new block z.
        const auto z = static_cast<std::uint32_t>(block_start.size());
        block_start.push_back(block_start[y]);
        block_end.push_back(block_marked[y]);
        block_marked.push_back(block_start[y]);
        block_start[y] = block_marked[y];
        for (std::size_t i = block_start[z]; i < block_end[z]; ++i) {
          block_of[elements[i]] = z;
        }
        const bool y_pending = in_worklist[y];
        in_worklist.push_back(false);
        std::uint32_t add = z;
        if (!y_pending && block_end[y] - block_start[y] < block_end[z] - block_start[z]) {
          add = y;
        }
        worklist.push_back(add);
        in_worklist[add] = true;
      }
    }
  }
  *block_count = block_start.size();
  return block_of;
}

std::uint32_t Fnv1a32(std::string_view bytes) {
  std::uint32_t hash = 0x811C9DC5u;
  for (const char byte : bytes) {
    hash ^= static_cast<std::uint8_t>(byte);
    hash *= 0x01000193u;
  }
  return hash;
}

void AppendU16(std::string* out, std::uint32_t value) {
  out->push_back(static_cast<char>(value & 0xFF));
  out->push_back(static_cast<char>((value >> 8) & 0xFF));
}

void AppendU32(std::string* out, std::uint32_t value) {
  AppendU16(out, value & 0xFFFF);
  AppendU16(out, value >> 16);
}

std::uint32_t ReadU16(std::string_view bytes, std::size_t offset) {
  return static_cast<std::uint32_t>(static_cast<std::uint8_t>(bytes[offset])) |
         (static_cast<std::uint32_t>(static_cast<std::uint8_t>(bytes[offset + 1])) << 8);
}

std::uint32_t ReadU32(std::string_view bytes, std::size_t offset) {
  return ReadU16(bytes, offset) | (ReadU16(bytes, offset + 2) << 16);
}

}  // namespace

Dfa DfaFactory::Canonicalize(const DfaTables& tables) {
  const std::size_t k = tables.class_count;

  // Keep the states reachable from the start, plus a sink that stands for
  // the dead state even if no reachable state is dead.
  std::vector<std::int64_t> local(tables.state_count, -1);
  std::vector<std::uint32_t> order = {tables.start};
  local[tables.start] = 0;
  for (std::size_t i = 0; i < order.size(); ++i) {
    for (std::size_t c = 0; c < k; ++c) {
      const std::uint32_t t = tables.transitions[order[i] * k + c];
      if (local[t] < 0) {
        local[t] = static_cast<std::int64_t>(order.size());
        order.push_back(t);
      }
    }
  }
  const std::size_t n = order.size() + 1;
  const auto sink = static_cast<std::uint32_t>(n - 1);
  std::vector<std::uint32_t> delta(n * k, sink);
  std::vector<std::uint8_t> accepting(n, 0);
  for (std::size_t i = 0; i + 1 < n; ++i) {
    accepting[i] = tables.accepting[order[i]] != 0 ? 1 : 0;
    for (std::size_t c = 0; c < k; ++c) {
      delta[i * k + c] = static_cast<std::uint32_t>(local[tables.transitions[order[i] * k + c]]);
    }
  }

  std::size_t block_count = 0;
  const std::vector<std::uint32_t> block_of = CoarsestPartition(n, k, delta, accepting, &block_count);

  // Transitions between blocks, over the input's classes.
  std::vector<std::uint32_t> representative(block_count, 0);
  for (std::size_t s = n; s-- > 0;) {
    representative[block_of[s]] = static_cast<std::uint32_t>(s);
  }
  std::vector<std::uint32_t> block_delta(block_count * k);
  for (std::size_t b = 0; b < block_count; ++b) {
    for (std::size_t c = 0; c < k; ++c) {
      block_delta[b * k + c] = block_of[delta[representative[b] * k + c]];
    }
  }

  // Merge input classes whose columns agree; number them by lowest byte.
  std::vector<int> new_class(k, -1);
  std::vector<std::size_t> old_class_of_new;
  std::map<std::vector<std::uint32_t>, int> columns;
  for (std::size_t byte = 0; byte < 256; ++byte) {
    const std::size_t old = tables.byte_class[byte];
    if (new_class[old] >= 0) {
      continue;
    }
    std::vector<std::uint32_t> column(block_count);
    for (std::size_t b = 0; b < block_count; ++b) {
      column[b] = block_delta[b * k + old];
    }
    const auto [it, inserted] = columns.emplace(std::move(column), static_cast<int>(columns.size()));
    if (inserted) {
      old_class_of_new.push_back(old);
    }
    new_class[old] = it->second;
  }
  const std::size_t new_k = old_class_of_new.size();

  // Renumber: dead first, then breadth-first from the start.
  const std::uint32_t dead_block = block_of[sink];
  const std::uint32_t start_block = block_of[0];
  std::vector<std::int64_t> number(block_count, -1);
  number[dead_block] = 0;
  std::vector<std::uint32_t> queue;
  if (start_block != dead_block) {
    number[start_block] = 1;
    queue.push_back(start_block);
  }
  std::int64_t next_number = static_cast<std::int64_t>(queue.size()) + 1;
  for (std::size_t i = 0; i < queue.size(); ++i) {
    for (std::size_t c = 0; c < new_k; ++c) {
      const std::uint32_t t = block_delta[queue[i] * k + old_class_of_new[c]];
      if (number[t] < 0) {
        number[t] = next_number++;
        queue.push_back(t);
      }
    }
  }

  Dfa dfa;
  dfa.class_count_ = new_k;
  for (std::size_t byte = 0; byte < 256; ++byte) {
    dfa.byte_class_[byte] = static_cast<std::uint8_t>(new_class[tables.byte_class[byte]]);
  }
  const auto state_count = static_cast<std::size_t>(next_number);
  dfa.transitions_.assign(state_count * new_k, 0);
  dfa.accepting_.assign(state_count, 0);
  for (const std::uint32_t b : queue) {
    const auto s = static_cast<std::size_t>(number[b]);
    dfa.accepting_[s] = accepting[representative[b]];
    for (std::size_t c = 0; c < new_k; ++c) {
      dfa.transitions_[s * new_k + c] = static_cast<std::uint16_t>(number[block_delta[b * k + old_class_of_new[c]]]);
    }
  }
  dfa.start_ = static_cast<std::size_t>(number[start_block]);

  // Every state but possibly the dead one is reachable from the start.
  dfa.matches_nothing_ = true;
  dfa.matches_everything_ = !queue.empty();
  for (const std::uint32_t b : queue) {
    const auto s = static_cast<std::size_t>(number[b]);
    const bool accepts = dfa.accepting_[s] != 0;
    dfa.matches_nothing_ = dfa.matches_nothing_ && !accepts;
    dfa.matches_everything_ = dfa.matches_everything_ && accepts;
    for (std::size_t c = 0; c < new_k; ++c) {
      if (dfa.transitions_[s * new_k + c] == 0) {
        dfa.matches_everything_ = false;
      }
    }
  }
  return dfa;
}

}  // namespace internal

Dfa::Dfa() : transitions_(1, 0), accepting_(1, 0) {}

bool Dfa::Matches(std::string_view text) const noexcept {
  // Locals, so the compiler need not reload members after byte reads.
  const std::uint16_t* table = transitions_.data();
  const std::uint8_t* byte_class = byte_class_.data();
  const std::size_t class_count = class_count_;
  std::size_t state = start_;
  for (const char byte : text) {
    state = table[state * class_count + byte_class[static_cast<std::uint8_t>(byte)]];
    if (state == 0) {
      return false;
    }
  }
  return accepting_[state] != 0;
}

bool Dfa::operator==(const Dfa& other) const noexcept {
  return class_count_ == other.class_count_ && start_ == other.start_ && byte_class_ == other.byte_class_ &&
         transitions_ == other.transitions_ && accepting_ == other.accepting_;
}

std::string Dfa::Serialize() const {
  const std::size_t states = StateCount();
  const std::size_t width = TransitionBytes(states);
  std::string out;
  out.append(internal::kMagic, sizeof(internal::kMagic));
  internal::AppendU16(&out, internal::kFormatVersion);
  internal::AppendU16(&out, static_cast<std::uint32_t>(class_count_));
  internal::AppendU16(&out, static_cast<std::uint32_t>(states));
  internal::AppendU16(&out, static_cast<std::uint32_t>(start_));
  // Byte classes: runs of equal classes, (class, length - 1) each.
  std::vector<std::pair<std::uint8_t, std::size_t>> runs;
  for (const std::uint8_t byte_class : byte_class_) {
    if (!runs.empty() && runs.back().first == byte_class) {
      ++runs.back().second;
    } else {
      runs.emplace_back(byte_class, 1);
    }
  }
  out.push_back(static_cast<char>(runs.size() - 1));
  for (const auto& [byte_class, length] : runs) {
    out.push_back(static_cast<char>(byte_class));
    out.push_back(static_cast<char>(length - 1));
  }
  for (std::size_t i = 0; i < states; i += 8) {
    std::uint8_t bits = 0;
    for (std::size_t j = i; j < std::min(states, i + 8); ++j) {
      bits = static_cast<std::uint8_t>(bits | (accepting_[j] << (j - i)));
    }
    out.push_back(static_cast<char>(bits));
  }
  const auto append_state = [&](std::uint16_t next) {
    if (width == 1) {
      out.push_back(static_cast<char>(next));
    } else {
      internal::AppendU16(&out, next);
    }
  };
  // Rows: the common target and the classes that go elsewhere, ascending;
  // or the whole row when that is not larger.
  for (std::size_t s = 0; s < states; ++s) {
    const std::uint16_t* row = &transitions_[s * class_count_];
    const std::uint16_t common = CommonTarget(s);
    const auto exceptions =
        static_cast<std::size_t>(std::count_if(row, row + class_count_, [&](std::uint16_t t) { return t != common; }));
    if (exceptions < internal::kDenseRow && width + exceptions * (1 + width) <= class_count_ * width) {
      out.push_back(static_cast<char>(exceptions));
      append_state(common);
      for (std::size_t c = 0; c < class_count_; ++c) {
        if (row[c] == common) continue;
        out.push_back(static_cast<char>(c));
        append_state(row[c]);
      }
    } else {
      out.push_back(static_cast<char>(internal::kDenseRow));
      for (std::size_t c = 0; c < class_count_; ++c) append_state(row[c]);
    }
  }
  internal::AppendU32(&out, internal::Fnv1a32(out));
  return out;
}

std::uint16_t Dfa::CommonTarget(std::size_t state) const {
  const std::uint16_t* row = &transitions_[state * class_count_];
  std::map<std::uint16_t, std::size_t> counts;
  for (std::size_t c = 0; c < class_count_; ++c) ++counts[row[c]];
  std::uint16_t common = 0;
  std::size_t most = 0;
  for (const auto& [target, count] : counts) {
    if (count > most) {
      common = target;
      most = count;
    }
  }
  return common;
}

std::size_t Dfa::TransitionBytes(std::size_t state_count) noexcept {
  return state_count <= internal::kMaxNarrowStates ? 1 : 2;
}

std::optional<Dfa> Dfa::Deserialize(std::string_view bytes) noexcept {
  using internal::ReadU16;
  try {
    if (bytes.size() < internal::kHeaderBytes + 1 + internal::kChecksumBytes ||
        bytes.substr(0, 4) != std::string_view(internal::kMagic, 4) || ReadU16(bytes, 4) != internal::kFormatVersion) {
      return std::nullopt;
    }
    const std::size_t body = bytes.size() - internal::kChecksumBytes;
    if (internal::ReadU32(bytes, body) != internal::Fnv1a32(bytes.substr(0, body))) {
      return std::nullopt;
    }
    const std::size_t class_count = ReadU16(bytes, 6);
    const std::size_t state_count = ReadU16(bytes, 8);
    const std::size_t start = ReadU16(bytes, 10);
    if (class_count < 1 || class_count > 256 || state_count < 1 || state_count > kMaxDfaStates ||
        start >= state_count) {
      return std::nullopt;
    }
    const std::size_t width = TransitionBytes(state_count);
    std::size_t offset = internal::kHeaderBytes;
    // Every read below checks that it stays within the body.
    const auto has = [&](std::size_t n) { return n <= body - offset; };
    const auto read_u8 = [&]() { return static_cast<std::uint8_t>(bytes[offset++]); };
    const auto read_state = [&]() -> std::uint32_t {
      const std::uint32_t next = width == 1 ? static_cast<std::uint8_t>(bytes[offset]) : ReadU16(bytes, offset);
      offset += width;
      return next;
    };

    internal::DfaTables tables;
    tables.state_count = state_count;
    tables.class_count = class_count;
    tables.start = static_cast<std::uint32_t>(start);
    const std::size_t run_count = std::size_t{read_u8()} + 1;
    if (!has(2 * run_count)) return std::nullopt;
    std::size_t byte = 0;
    for (std::size_t r = 0; r < run_count; ++r) {
      const std::uint8_t byte_class = read_u8();
      const std::size_t length = std::size_t{read_u8()} + 1;
      if (byte_class >= class_count || length > 256 - byte) return std::nullopt;
      for (std::size_t k = 0; k < length; ++k) tables.byte_class[byte++] = byte_class;
    }
    if (byte != 256) return std::nullopt;
    const std::size_t bitset_bytes = (state_count + 7) / 8;
    if (!has(bitset_bytes)) return std::nullopt;
    tables.accepting.resize(state_count);
    for (std::size_t i = 0; i < bitset_bytes * 8; ++i) {
      const bool bit = ((static_cast<std::uint8_t>(bytes[offset + i / 8]) >> (i % 8)) & 1) != 0;
      if (i < state_count) {
        tables.accepting[i] = bit ? 1 : 0;
      } else if (bit) {
        return std::nullopt;
      }
    }
    offset += bitset_bytes;
    tables.transitions.resize(state_count * class_count);
    for (std::size_t s = 0; s < state_count; ++s) {
      std::uint32_t* row = &tables.transitions[s * class_count];
      if (!has(1)) return std::nullopt;
      const std::uint8_t exceptions = read_u8();
      if (exceptions == internal::kDenseRow) {
        if (!has(class_count * width)) return std::nullopt;
        for (std::size_t c = 0; c < class_count; ++c) row[c] = read_state();
      } else {
        if (!has(width + exceptions * (1 + width))) return std::nullopt;
        const std::uint32_t common = read_state();
        std::fill(row, row + class_count, common);
        for (std::uint8_t e = 0; e < exceptions; ++e) {
          const std::uint8_t c = read_u8();
          if (c >= class_count) return std::nullopt;
          row[c] = read_state();
        }
      }
      for (std::size_t c = 0; c < class_count; ++c) {
        if (row[c] >= state_count) return std::nullopt;
      }
    }
    if (offset != body) return std::nullopt;

    // Only canonical tables in their one encoding are accepted:
    // re-canonicalizing and encoding must give back exactly these bytes.
    Dfa dfa = internal::DfaFactory::Canonicalize(tables);
    if (dfa.Serialize() != bytes) {
      return std::nullopt;
    }
    return dfa;
  } catch (const std::bad_alloc&) {
    return std::nullopt;
  }
}

}  // namespace gov::pattern
