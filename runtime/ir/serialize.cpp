// The byte format of a Decision IR policy (format version 1). Layout, byte
// for byte, in docs/ir.md "Byte format". The reader trusts nothing: every
// read is bounds-checked, every count is capped by the bytes that remain,
// and the decoded policy must pass ir::Validate.
#include "runtime/ir/serialize.h"

#include <bit>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

namespace gov::ir {
namespace {

// Section tags, in the order they appear.
enum Section : std::uint32_t {
  kSectionHeader = 1,
  kSectionStrings = 2,
  kSectionStrLists = 3,
  kSectionIntLists = 4,
  kSectionMaps = 5,
  kSectionPatterns = 6,
  kSectionOperands = 7,
  kSectionNodes = 8,
  kSectionRules = 9,
  kSectionContext = 10,
};
constexpr std::uint32_t kSectionCount = 10;
// Bytes of one encoded node: op, kind, optional, a, b, c (u32), imm (i64).
constexpr std::size_t kNodeBytes = 3 + 3 * 4 + 8;

class Writer {
 public:
  void U8(std::uint8_t v) { out_.push_back(static_cast<char>(v)); }
  void Bool(bool v) { U8(v ? 1 : 0); }
  void U32(std::uint32_t v) {
    for (int i = 0; i < 4; ++i) U8(static_cast<std::uint8_t>(v >> (8 * i)));
  }
  void I64(std::int64_t v) {
    auto u = static_cast<std::uint64_t>(v);
    for (int i = 0; i < 8; ++i) U8(static_cast<std::uint8_t>(u >> (8 * i)));
  }
  void Str(const std::string& s) {
    U32(static_cast<std::uint32_t>(s.size()));
    out_.append(s);
  }
  void StrList(const std::vector<std::string>& list) {
    U32(static_cast<std::uint32_t>(list.size()));
    for (const std::string& s : list) Str(s);
  }
  void Raw(const std::string& bytes) { out_.append(bytes); }
  std::string Take() { return std::move(out_); }

 private:
  std::string out_;
};

std::string EncodeSection(Section tag, std::string body) {
  Writer w;
  w.U32(tag);
  w.U32(static_cast<std::uint32_t>(body.size()));
  w.Raw(body);
  return w.Take();
}

void WriteObligations(Writer& w, const Obligations& o) {
  w.I64(o.timeout_ms);
  w.I64(o.memory_bytes);
  w.I64(o.processes);
  w.U8(static_cast<std::uint8_t>(o.network));
  w.Bool(o.has_read);
  w.StrList(o.read);
  w.Bool(o.has_write);
  w.StrList(o.write);
  w.Bool(o.has_env);
  w.StrList(o.env);
}

// A bounds-checked cursor; the first failure sticks. The accessors are small
// enough to inline; the failure path is out of line.
class Reader {
 public:
  explicit Reader(std::string_view bytes) : bytes_(bytes) {}

  bool ok() const { return !failed_; }
  const std::string& error() const { return error_; }
  std::size_t remaining() const { return bytes_.size() - pos_; }
  bool AtEnd() const { return pos_ == bytes_.size(); }
  // The next `n` unread bytes (valid when remaining() >= n); Skip(n) consumes them.
  const char* Peek() const { return bytes_.data() + pos_; }
  void Skip(std::size_t n) { pos_ += n; }

  [[gnu::cold, gnu::noinline]] void Fail(std::string message) {
    if (failed_) return;
    failed_ = true;
    error_ = std::move(message);
  }

  std::uint8_t U8() {
    if (!Need(1)) return 0;
    return static_cast<std::uint8_t>(bytes_[pos_++]);
  }
  bool Bool() {
    std::uint8_t v = U8();
    if (v > 1) Fail("a boolean byte is neither 0 nor 1");
    return v == 1;
  }
  std::uint32_t U32() {
    if (!Need(4)) return 0;
    std::uint32_t v = LoadU32(Peek());
    pos_ += 4;
    return v;
  }
  std::int64_t I64() {
    if (!Need(8)) return 0;
    std::int64_t v = LoadI64(Peek());
    pos_ += 8;
    return v;
  }
  std::string_view Bytes(std::size_t n) {
    if (!Need(n)) return {};
    std::string_view v = bytes_.substr(pos_, n);
    pos_ += n;
    return v;
  }
  std::string Str() {
    std::uint32_t n = U32();
    return std::string(Bytes(n));
  }
  // A count of items each at least `min_item_bytes` long; capped by the
  // remaining bytes so a corrupt count cannot trigger a huge allocation.
  std::uint32_t Count(std::size_t min_item_bytes) {
    std::uint32_t n = U32();
    if (failed_) return 0;
    if (min_item_bytes > 0 && n > remaining() / min_item_bytes) {
      Fail("a count exceeds the remaining bytes");
      return 0;
    }
    return n;
  }
  std::vector<std::string> StrList() {
    std::vector<std::string> list;
    std::uint32_t n = Count(4);
    list.reserve(n);
    for (std::uint32_t i = 0; i < n && !failed_; ++i) list.push_back(Str());
    return list;
  }

  // Little-endian loads from bytes known to be in range.
  static std::uint32_t LoadU32(const char* at) {
    std::uint32_t v = 0;
    std::memcpy(&v, at, sizeof v);
    if constexpr (std::endian::native == std::endian::big) v = __builtin_bswap32(v);
    return v;
  }
  static std::int64_t LoadI64(const char* at) {
    std::uint64_t v = 0;
    std::memcpy(&v, at, sizeof v);
    if constexpr (std::endian::native == std::endian::big) v = __builtin_bswap64(v);
    return static_cast<std::int64_t>(v);
  }

 private:
  bool Need(std::size_t n) {
    if (failed_) return false;
    if (n > remaining()) [[unlikely]] {
      Fail("truncated input");
      return false;
    }
    return true;
  }

  std::string_view bytes_;
  std::size_t pos_ = 0;
  bool failed_ = false;
  std::string error_;
};

bool KnownOp(std::uint8_t v) {
  return v <= 7 || (v >= 10 && v <= 13) || (v >= 20 && v <= 25) || (v >= 30 && v <= 37) || (v >= 40 && v <= 51) ||
         (v >= 60 && v <= 65) || v == 70 || v == 71;
}

void ReadObligations(Reader& r, Obligations& o) {
  o.timeout_ms = r.I64();
  o.memory_bytes = r.I64();
  o.processes = r.I64();
  std::uint8_t network = r.U8();
  if (network > static_cast<std::uint8_t>(Network::kAny)) r.Fail("unknown network value");
  o.network = static_cast<Network>(network);
  o.has_read = r.Bool();
  o.read = r.StrList();
  o.has_write = r.Bool();
  o.write = r.StrList();
  o.has_env = r.Bool();
  o.env = r.StrList();
}

// Decodes the body of section `tag` into `policy`.
void ReadSection(std::uint32_t tag, Reader& r, Policy& policy) {
  switch (tag) {
    case kSectionHeader:
      policy.name = r.Str();
      policy.version = r.Str();
      policy.local_slots = r.U32();
      break;
    case kSectionStrings: {
      std::uint32_t n = r.Count(4);
      policy.strings.reserve(n);
      for (std::uint32_t i = 0; i < n && r.ok(); ++i) policy.strings.push_back(r.Str());
      break;
    }
    case kSectionStrLists: {
      std::uint32_t n = r.Count(4);
      policy.str_lists.reserve(n);
      for (std::uint32_t i = 0; i < n && r.ok(); ++i) policy.str_lists.push_back(r.StrList());
      break;
    }
    case kSectionIntLists: {
      std::uint32_t n = r.Count(4);
      policy.int_lists.reserve(n);
      for (std::uint32_t i = 0; i < n && r.ok(); ++i) {
        std::uint32_t m = r.Count(8);
        std::vector<std::int64_t> list;
        list.reserve(m);
        for (std::uint32_t k = 0; k < m && r.ok(); ++k) list.push_back(r.I64());
        policy.int_lists.push_back(std::move(list));
      }
      break;
    }
    case kSectionMaps: {
      std::uint32_t n = r.Count(4);
      policy.maps.reserve(n);
      for (std::uint32_t i = 0; i < n && r.ok(); ++i) {
        std::uint32_t m = r.Count(8);
        std::vector<std::pair<std::string, std::string>> map;
        map.reserve(m);
        for (std::uint32_t k = 0; k < m && r.ok(); ++k) {
          std::string key = r.Str();
          std::string value = r.Str();
          map.emplace_back(std::move(key), std::move(value));
        }
        policy.maps.push_back(std::move(map));
      }
      break;
    }
    case kSectionPatterns: {
      std::uint32_t n = r.Count(9);
      policy.patterns.reserve(n);
      for (std::uint32_t i = 0; i < n && r.ok(); ++i) {
        PatternConst pattern;
        pattern.source = r.Str();
        pattern.is_regex = r.Bool();
        pattern.dfa = r.Str();
        policy.patterns.push_back(std::move(pattern));
      }
      break;
    }
    case kSectionOperands: {
      std::uint32_t n = r.Count(4);
      policy.operands.reserve(n);
      for (std::uint32_t i = 0; i < n && r.ok(); ++i) policy.operands.push_back(r.U32());
      break;
    }
    case kSectionNodes: {
      std::uint32_t n = r.Count(kNodeBytes);
      policy.nodes.reserve(n);
      // Fixed-size records: one bounds check for the whole array (Count
      // guarantees n * kNodeBytes <= remaining), then plain loads.
      for (std::uint32_t i = 0; i < n; ++i) {
        const char* at = r.Peek();
        const auto op = static_cast<std::uint8_t>(at[0]);
        const auto kind = static_cast<std::uint8_t>(at[1]);
        const auto optional = static_cast<std::uint8_t>(at[2]);
        if (!KnownOp(op)) [[unlikely]] {
          r.Fail("node " + std::to_string(i) + ": unknown op " + std::to_string(op));
          break;
        }
        if (kind > static_cast<std::uint8_t>(Kind::kStrMap)) [[unlikely]] {
          r.Fail("node " + std::to_string(i) + ": unknown kind " + std::to_string(kind));
          break;
        }
        if (optional > 1) [[unlikely]] {
          r.Fail("a boolean byte is neither 0 nor 1");
          break;
        }
        Node& node = policy.nodes.emplace_back();
        node.op = static_cast<Op>(op);
        node.kind = static_cast<Kind>(kind);
        node.optional = optional == 1;
        node.a = Reader::LoadU32(at + 3);
        node.b = Reader::LoadU32(at + 7);
        node.c = Reader::LoadU32(at + 11);
        node.imm = Reader::LoadI64(at + 15);
        r.Skip(kNodeBytes);
      }
      break;
    }
    case kSectionRules: {
      std::uint32_t n = r.Count(4 + 1 + 4 + 4 + 24 + 1 + 3 * 5 + 8);
      policy.rules.reserve(n);
      for (std::uint32_t i = 0; i < n && r.ok(); ++i) {
        Rule rule;
        rule.name = r.Str();
        std::uint8_t verdict = r.U8();
        if (verdict > static_cast<std::uint8_t>(Verdict::kAsk)) r.Fail("unknown verdict value");
        rule.verdict = static_cast<Verdict>(verdict);
        rule.reason = r.Str();
        rule.condition = r.U32();
        ReadObligations(r, rule.obligations);
        rule.index.paths = r.StrList();
        rule.index.names = r.StrList();
        policy.rules.push_back(std::move(rule));
      }
      break;
    }
    case kSectionContext: {
      std::uint32_t n = r.Count(7);
      policy.context.reserve(n);
      for (std::uint32_t i = 0; i < n && r.ok(); ++i) {
        ContextField field;
        field.name = r.Str();
        std::uint8_t kind = r.U8();
        if (kind > static_cast<std::uint8_t>(Kind::kStrMap)) r.Fail("unknown context kind");
        field.kind = static_cast<Kind>(kind);
        field.optional = r.Bool();
        std::uint8_t spelling = r.U8();
        if (spelling > static_cast<std::uint8_t>(ContextField::Spelling::kDigest)) r.Fail("unknown context spelling");
        field.spelling = static_cast<ContextField::Spelling>(spelling);
        policy.context.push_back(std::move(field));
      }
      break;
    }
    default:
      r.Fail("unknown section");
  }
}

const char* SectionName(std::uint32_t tag) {
  static const char* const kNames[] = {"",         "header",   "strings", "str_lists", "int_lists", "maps",
                                       "patterns", "operands", "nodes",   "rules",     "context"};
  return tag <= kSectionCount ? kNames[tag] : "unknown";
}

}  // namespace

std::string Serialize(const Policy& policy) {
  Writer out;
  out.Raw(std::string(kSerializedMagic));
  out.U32(kSerializedVersion);

  Writer w;
  w.Str(policy.name);
  w.Str(policy.version);
  w.U32(policy.local_slots);
  out.Raw(EncodeSection(kSectionHeader, w.Take()));

  w = Writer();
  w.StrList(policy.strings);
  out.Raw(EncodeSection(kSectionStrings, w.Take()));

  w = Writer();
  w.U32(static_cast<std::uint32_t>(policy.str_lists.size()));
  for (const auto& list : policy.str_lists) w.StrList(list);
  out.Raw(EncodeSection(kSectionStrLists, w.Take()));

  w = Writer();
  w.U32(static_cast<std::uint32_t>(policy.int_lists.size()));
  for (const auto& list : policy.int_lists) {
    w.U32(static_cast<std::uint32_t>(list.size()));
    for (std::int64_t v : list) w.I64(v);
  }
  out.Raw(EncodeSection(kSectionIntLists, w.Take()));

  w = Writer();
  w.U32(static_cast<std::uint32_t>(policy.maps.size()));
  for (const auto& map : policy.maps) {
    w.U32(static_cast<std::uint32_t>(map.size()));
    for (const auto& [key, value] : map) {
      w.Str(key);
      w.Str(value);
    }
  }
  out.Raw(EncodeSection(kSectionMaps, w.Take()));

  w = Writer();
  w.U32(static_cast<std::uint32_t>(policy.patterns.size()));
  for (const PatternConst& pattern : policy.patterns) {
    w.Str(pattern.source);
    w.Bool(pattern.is_regex);
    w.Str(pattern.dfa);
  }
  out.Raw(EncodeSection(kSectionPatterns, w.Take()));

  w = Writer();
  w.U32(static_cast<std::uint32_t>(policy.operands.size()));
  for (std::uint32_t v : policy.operands) w.U32(v);
  out.Raw(EncodeSection(kSectionOperands, w.Take()));

  w = Writer();
  w.U32(static_cast<std::uint32_t>(policy.nodes.size()));
  for (const Node& node : policy.nodes) {
    w.U8(static_cast<std::uint8_t>(node.op));
    w.U8(static_cast<std::uint8_t>(node.kind));
    w.Bool(node.optional);
    w.U32(node.a);
    w.U32(node.b);
    w.U32(node.c);
    w.I64(node.imm);
  }
  out.Raw(EncodeSection(kSectionNodes, w.Take()));

  w = Writer();
  w.U32(static_cast<std::uint32_t>(policy.rules.size()));
  for (const Rule& rule : policy.rules) {
    w.Str(rule.name);
    w.U8(static_cast<std::uint8_t>(rule.verdict));
    w.Str(rule.reason);
    w.U32(rule.condition);
    WriteObligations(w, rule.obligations);
    w.StrList(rule.index.paths);
    w.StrList(rule.index.names);
  }
  out.Raw(EncodeSection(kSectionRules, w.Take()));

  w = Writer();
  w.U32(static_cast<std::uint32_t>(policy.context.size()));
  for (const ContextField& field : policy.context) {
    w.Str(field.name);
    w.U8(static_cast<std::uint8_t>(field.kind));
    w.Bool(field.optional);
    w.U8(static_cast<std::uint8_t>(field.spelling));
  }
  out.Raw(EncodeSection(kSectionContext, w.Take()));
  return out.Take();
}

ErrorOr<Policy> Deserialize(std::string_view bytes) {
  auto fail = [](const std::string& message) { return Error{"invalid policy IR: " + message}; };
  Reader r(bytes);
  if (r.Bytes(kSerializedMagic.size()) != kSerializedMagic) return fail("not a gov IR file (bad magic)");
  std::uint32_t version = r.U32();
  if (!r.ok()) return fail(r.error());
  if (version != kSerializedVersion) return fail("unsupported format version " + std::to_string(version));

  Policy policy;
  for (std::uint32_t expected = 1; expected <= kSectionCount; ++expected) {
    std::uint32_t tag = r.U32();
    std::uint32_t length = r.U32();
    if (!r.ok()) return fail(std::string(SectionName(expected)) + " section: " + r.error());
    if (tag != expected) {
      return fail("expected section " + std::string(SectionName(expected)) + ", found tag " + std::to_string(tag));
    }
    std::string_view body = r.Bytes(length);
    if (!r.ok()) return fail(std::string(SectionName(expected)) + " section: " + r.error());
    Reader section(body);
    ReadSection(tag, section, policy);
    if (section.ok() && !section.AtEnd()) section.Fail("trailing bytes in the section");
    if (!section.ok()) return fail(std::string(SectionName(expected)) + " section: " + section.error());
  }
  if (!r.AtEnd()) return fail("trailing bytes after the last section");
  if (std::string problem = Validate(policy); !problem.empty()) return fail(problem);
  return policy;
}

}  // namespace gov::ir
