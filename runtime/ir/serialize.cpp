// The byte format of a Decision IR policy (format version 6). Layout, byte
// for byte, in docs/ir.md "Byte format". Compact: lengths, counts and
// operands are varints, nodes and obligations store only the fields they
// use. The reader trusts nothing: every read is bounds-checked, every count
// is capped by the bytes that remain, every varint and presence bit must be
// canonical (so accepted bytes re-serialize identically), and the decoded
// policy must pass ir::Validate.
#include "runtime/ir/serialize.h"

#include <algorithm>
#include <cstdint>
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
  kSectionCommands = 11,
};
constexpr std::uint32_t kSectionCount = 11;

// A node's flags byte: its kind, `optional`, and which of a, b, c, imm follow.
constexpr std::uint8_t kNodeKindMask = 0x07;
constexpr std::uint8_t kNodeOptional = 0x08;
constexpr std::uint8_t kNodeHasA = 0x10;
constexpr std::uint8_t kNodeHasB = 0x20;
constexpr std::uint8_t kNodeHasC = 0x40;
constexpr std::uint8_t kNodeHasImm = 0x80;
// Fewest bytes of one encoded item, for capping counts.
constexpr std::size_t kMinNodeBytes = 2;  // op, flags
constexpr std::size_t kMinRuleBytes = 7;  // name, verdict, reason, condition, obligations mask, 2 index lists
constexpr std::size_t kMinStrBytes = 1;   // the length

// An obligations record's mask (a varint since version 4): which fields
// follow. Any other bit is an error.
constexpr std::uint32_t kObligationTimeout = 0x01;
constexpr std::uint32_t kObligationMemory = 0x02;
constexpr std::uint32_t kObligationProcesses = 0x04;
constexpr std::uint32_t kObligationNetwork = 0x08;
constexpr std::uint32_t kObligationRead = 0x10;
constexpr std::uint32_t kObligationWrite = 0x20;
constexpr std::uint32_t kObligationEnv = 0x40;
constexpr std::uint32_t kObligationCapabilities = 0x80;
constexpr std::uint32_t kObligationCreate = 0x100;
constexpr std::uint32_t kObligationPrivateTmp = 0x200;  // no field follows
constexpr std::uint32_t kObligationKnown = 0x3ff;

std::uint64_t ZigZag(std::int64_t v) {
  return (static_cast<std::uint64_t>(v) << 1) ^ static_cast<std::uint64_t>(v >> 63);
}
std::int64_t UnZigZag(std::uint64_t v) {
  return static_cast<std::int64_t>(v >> 1) ^ -static_cast<std::int64_t>(v & 1);
}

class Writer {
 public:
  void U8(std::uint8_t v) { out_.push_back(static_cast<char>(v)); }
  void Bool(bool v) { U8(v ? 1 : 0); }
  void U32(std::uint32_t v) {
    for (int i = 0; i < 4; ++i) U8(static_cast<std::uint8_t>(v >> (8 * i)));
  }
  // Unsigned LEB128, shortest form.
  void Varint(std::uint64_t v) {
    while (v >= 0x80) {
      U8(static_cast<std::uint8_t>(v | 0x80));
      v >>= 7;
    }
    U8(static_cast<std::uint8_t>(v));
  }
  void SignedVarint(std::int64_t v) { Varint(ZigZag(v)); }
  void Count(std::size_t n) { Varint(n); }
  void Str(const std::string& s) {
    Count(s.size());
    out_.append(s);
  }
  void StrList(const std::vector<std::string>& list) {
    Count(list.size());
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
  std::uint32_t mask = 0;
  if (o.timeout_ms != 0) mask |= kObligationTimeout;
  if (o.memory_bytes != 0) mask |= kObligationMemory;
  if (o.processes != 0) mask |= kObligationProcesses;
  if (o.network != Network::kUnset) mask |= kObligationNetwork;
  if (o.has_read) mask |= kObligationRead;
  if (o.has_write) mask |= kObligationWrite;
  if (o.has_env) mask |= kObligationEnv;
  if (o.has_capabilities) mask |= kObligationCapabilities;
  if (o.has_create) mask |= kObligationCreate;
  if (o.private_tmp) mask |= kObligationPrivateTmp;
  w.Varint(mask);
  if (o.timeout_ms != 0) w.SignedVarint(o.timeout_ms);
  if (o.memory_bytes != 0) w.SignedVarint(o.memory_bytes);
  if (o.processes != 0) w.SignedVarint(o.processes);
  if (o.network != Network::kUnset) w.U8(static_cast<std::uint8_t>(o.network));
  if (o.has_read) w.StrList(o.read);
  if (o.has_write) w.StrList(o.write);
  if (o.has_env) w.StrList(o.env);
  if (o.has_capabilities) w.StrList(o.capabilities);
  if (o.has_create) w.StrList(o.create);
}

// A command field's encoding (IR version 7): `u8 kind` (role | value << 2 |
// type << 4 | ends_options << 7), `u8 flags` (kField*), then only what differs from the
// defaults, in this order: name (unless it is the first long spelling with
// `-` as `_`), shorts, longs, choices, min, max, counts.
constexpr std::uint8_t kFieldRepeatable = 1;
constexpr std::uint8_t kFieldNameFromLong = 2;
constexpr std::uint8_t kFieldShorts = 4;
constexpr std::uint8_t kFieldLongs = 8;
constexpr std::uint8_t kFieldChoices = 16;
constexpr std::uint8_t kFieldMin = 32;
constexpr std::uint8_t kFieldMax = 64;
constexpr std::uint8_t kFieldCounts = 128;

// The field name a long spelling implies: `ignore-case` names `ignore_case`.
std::string NameFromLong(const std::string& spelling) {
  std::string name = spelling;
  std::replace(name.begin(), name.end(), '-', '_');
  return name;
}

// A scope's style byte: argparse::Style, or this for cobra with `options
// first`, or kStylePersistent + the style for gnu and posix with `options
// persistent`.
constexpr std::uint8_t kStyleCobraOptionsFirst = 3;
constexpr std::uint8_t kStylePersistent = 4;

std::uint8_t StyleByte(const argparse::CommandScope& scope) {
  if (scope.options_first && scope.style == argparse::Style::kCobra) return kStyleCobraOptionsFirst;
  if (scope.options_persistent && scope.style != argparse::Style::kCobra) {
    return static_cast<std::uint8_t>(kStylePersistent + static_cast<std::uint8_t>(scope.style));
  }
  return static_cast<std::uint8_t>(scope.style);
}

void WriteScope(Writer& w, const argparse::CommandScope& scope) {
  w.Str(scope.name);
  w.U8(StyleByte(scope));
  w.Count(scope.fields.size());
  for (const argparse::CommandField& f : scope.fields) {
    std::uint8_t flags = 0;
    if (f.repeatable) flags |= kFieldRepeatable;
    if (!f.longs.empty() && f.name == NameFromLong(f.longs.front())) flags |= kFieldNameFromLong;
    if (!f.shorts.empty()) flags |= kFieldShorts;
    if (!f.longs.empty()) flags |= kFieldLongs;
    if (!f.type.choices.empty()) flags |= kFieldChoices;
    if (f.type.min != INT64_MIN) flags |= kFieldMin;
    if (f.type.max != INT64_MAX) flags |= kFieldMax;
    if (f.min_count != 1 || f.max_count != 1) flags |= kFieldCounts;
    w.U8(static_cast<std::uint8_t>(static_cast<unsigned>(f.role) | static_cast<unsigned>(f.value) << 2 |
                                   static_cast<unsigned>(f.type.type) << 4 | (f.ends_options ? 1u : 0u) << 7));
    w.U8(flags);
    if ((flags & kFieldNameFromLong) == 0) w.Str(f.name);
    if ((flags & kFieldShorts) != 0) w.Str(f.shorts);
    if ((flags & kFieldLongs) != 0) w.StrList(f.longs);
    if ((flags & kFieldChoices) != 0) w.StrList(f.type.choices);
    if ((flags & kFieldMin) != 0) w.SignedVarint(f.type.min);
    if ((flags & kFieldMax) != 0) w.SignedVarint(f.type.max);
    if ((flags & kFieldCounts) != 0) {
      w.Varint(f.min_count);
      w.Varint(f.max_count);
    }
  }
}

void WriteCommand(Writer& w, const argparse::Command& command) {
  w.Str(command.name);
  WriteScope(w, command.top);
  w.Count(command.subcommands.size());
  for (const argparse::CommandScope& scope : command.subcommands) WriteScope(w, scope);
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
    std::uint32_t v = 0;
    for (int i = 0; i < 4; ++i) v |= static_cast<std::uint32_t>(static_cast<std::uint8_t>(bytes_[pos_ + i])) << (8 * i);
    pos_ += 4;
    return v;
  }
  // A shortest-form unsigned LEB128 of at most 64 bits.
  std::uint64_t Varint() {
    if (pos_ < bytes_.size()) [[likely]] {
      const auto first = static_cast<std::uint8_t>(bytes_[pos_]);
      if (first < 0x80) {
        ++pos_;
        return first;
      }
    }
    return LongVarint();
  }
  std::uint32_t Varint32() {
    std::uint64_t v = Varint();
    if (v > 0xffffffffu) [[unlikely]] {
      Fail("a varint exceeds 32 bits");
      return 0;
    }
    return static_cast<std::uint32_t>(v);
  }
  std::int64_t SignedVarint() { return UnZigZag(Varint()); }
  std::string_view Bytes(std::size_t n) {
    if (!Need(n)) return {};
    std::string_view v = bytes_.substr(pos_, n);
    pos_ += n;
    return v;
  }
  std::string Str() {
    std::uint64_t n = Varint();
    return std::string(Bytes(n));
  }
  // A count of items each at least `min_item_bytes` long; capped by the
  // remaining bytes so a corrupt count cannot trigger a huge allocation.
  std::uint32_t Count(std::size_t min_item_bytes) {
    std::uint64_t n = Varint();
    if (failed_) return 0;
    if (n > 0xffffffffu || (min_item_bytes > 0 && n > remaining() / min_item_bytes)) {
      Fail("a count exceeds the remaining bytes");
      return 0;
    }
    return static_cast<std::uint32_t>(n);
  }
  std::vector<std::string> StrList() {
    std::vector<std::string> list;
    std::uint32_t n = Count(kMinStrBytes);
    list.reserve(n);
    for (std::uint32_t i = 0; i < n && !failed_; ++i) list.push_back(Str());
    return list;
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

  [[gnu::noinline]] std::uint64_t LongVarint() {
    std::uint64_t value = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (!Need(1)) return 0;
      const auto byte = static_cast<std::uint8_t>(bytes_[pos_++]);
      if (shift == 63 && byte > 1) {
        Fail("a varint exceeds 64 bits");
        return 0;
      }
      value |= static_cast<std::uint64_t>(byte & 0x7f) << shift;
      if (byte < 0x80) {
        if (byte == 0 && shift > 0) {
          Fail("a varint is not in its shortest form");
          return 0;
        }
        return value;
      }
    }
    Fail("a varint exceeds 64 bits");
    return 0;
  }

  std::string_view bytes_;
  std::size_t pos_ = 0;
  bool failed_ = false;
  std::string error_;
};

bool KnownOp(std::uint8_t v) {
  return v <= 7 || (v >= 10 && v <= 13) || (v >= 20 && v <= 25) || (v >= 30 && v <= 37) || (v >= 40 && v <= 51) ||
         (v >= 60 && v <= 65) || v == 70 || v == 71 || (v >= 80 && v <= 82);
}

void ReadObligations(Reader& r, Obligations& o) {
  // Every bit of the mask names a field (bit 7, capabilities, since version
  // 3; bits 8 and 9, create and tmp, since version 4).
  const std::uint64_t mask = r.Varint();
  if ((mask & ~std::uint64_t{kObligationKnown}) != 0) r.Fail("unknown bits in an obligations mask");
  // A present integer is never 0: 0 is what "absent" decodes to.
  auto limit = [&](std::uint32_t bit) -> std::int64_t {
    if ((mask & bit) == 0) return 0;
    const std::int64_t v = r.SignedVarint();
    if (v == 0) r.Fail("an obligation limit marked present is 0");
    return v;
  };
  o.timeout_ms = limit(kObligationTimeout);
  o.memory_bytes = limit(kObligationMemory);
  o.processes = limit(kObligationProcesses);
  o.network = Network::kUnset;
  if ((mask & kObligationNetwork) != 0) {
    const std::uint8_t network = r.U8();
    if (network == 0 || network > static_cast<std::uint8_t>(Network::kAny)) r.Fail("unknown network value");
    o.network = static_cast<Network>(network);
  }
  o.has_read = (mask & kObligationRead) != 0;
  if (o.has_read) o.read = r.StrList();
  o.has_write = (mask & kObligationWrite) != 0;
  if (o.has_write) o.write = r.StrList();
  o.has_env = (mask & kObligationEnv) != 0;
  if (o.has_env) o.env = r.StrList();
  o.has_capabilities = (mask & kObligationCapabilities) != 0;
  if (o.has_capabilities) o.capabilities = r.StrList();
  o.has_create = (mask & kObligationCreate) != 0;
  if (o.has_create) o.create = r.StrList();
  o.private_tmp = (mask & kObligationPrivateTmp) != 0;
}

// One node: op, flags, then the operands and immediate the flags announce.
// An operand is stored only when it is not kNoNode, the immediate only when
// it is not 0.
void ReadNode(Reader& r, std::uint32_t index, Node& node) {
  const std::uint8_t op = r.U8();
  const std::uint8_t flags = r.U8();
  if (!r.ok()) return;
  if (!KnownOp(op)) [[unlikely]] {
    r.Fail("node " + std::to_string(index) + ": unknown op " + std::to_string(op));
    return;
  }
  if ((flags & kNodeKindMask) > static_cast<std::uint8_t>(Kind::kStrMap)) [[unlikely]] {
    r.Fail("node " + std::to_string(index) + ": unknown kind " + std::to_string(flags & kNodeKindMask));
    return;
  }
  node.op = static_cast<Op>(op);
  node.kind = static_cast<Kind>(flags & kNodeKindMask);
  node.optional = (flags & kNodeOptional) != 0;
  auto operand = [&](std::uint8_t bit) -> std::uint32_t {
    if ((flags & bit) == 0) return kNoNode;
    const std::uint32_t v = r.Varint32();
    if (v == kNoNode) [[unlikely]]
      r.Fail("node " + std::to_string(index) + ": an operand marked present is absent");
    return v;
  };
  node.a = operand(kNodeHasA);
  node.b = operand(kNodeHasB);
  node.c = operand(kNodeHasC);
  node.imm = 0;
  if ((flags & kNodeHasImm) != 0) {
    node.imm = r.SignedVarint();
    if (node.imm == 0) [[unlikely]]
      r.Fail("node " + std::to_string(index) + ": an immediate marked present is 0");
  }
}

void ReadRule(Reader& r, Rule& rule) {
  rule.name = r.Str();
  std::uint8_t verdict = r.U8();
  if (verdict > static_cast<std::uint8_t>(Verdict::kAsk)) r.Fail("unknown verdict value");
  rule.verdict = static_cast<Verdict>(verdict);
  rule.reason = r.Str();
  rule.condition = r.Varint32();
  ReadObligations(r, rule.obligations);
  rule.index.paths = r.StrList();
  rule.index.names = r.StrList();
}

// Moves past one rule record, checking only that it lies within the
// section (ReadRule checks the rest when the rule is read).
void SkipRule(Reader& r) {
  auto skip_str = [&r] { r.Bytes(r.Varint()); };
  auto skip_strs = [&] {
    const std::uint32_t n = r.Count(kMinStrBytes);
    for (std::uint32_t i = 0; i < n && r.ok(); ++i) skip_str();
  };
  skip_str();  // name
  r.U8();      // verdict
  skip_str();  // reason
  r.Varint();  // condition
  const std::uint64_t mask = r.Varint();
  if ((mask & kObligationTimeout) != 0) r.Varint();
  if ((mask & kObligationMemory) != 0) r.Varint();
  if ((mask & kObligationProcesses) != 0) r.Varint();
  if ((mask & kObligationNetwork) != 0) r.U8();
  if ((mask & kObligationRead) != 0) skip_strs();
  if ((mask & kObligationWrite) != 0) skip_strs();
  if ((mask & kObligationEnv) != 0) skip_strs();
  if ((mask & kObligationCapabilities) != 0) skip_strs();
  if ((mask & kObligationCreate) != 0) skip_strs();
  skip_strs();  // index paths
  skip_strs();  // index names
}

// The header section: name, version, quantifier slots, and the summary of
// the environment values the policy reads (EnvReadsOf, checked against the
// nodes once they are decoded).
void ReadHeader(Reader& r, std::string& name, std::string& version, std::uint32_t& local_slots, EnvReads& env) {
  name = r.Str();
  version = r.Str();
  local_slots = r.Varint32();
  env.all = r.Bool();
  env.names = r.StrList();
}

// Fewest bytes of one encoded command field (kind, flags).
constexpr std::size_t kMinCommandFieldBytes = 2;

void ReadScope(Reader& r, argparse::CommandScope& scope) {
  scope.name = r.Str();
  const std::uint8_t style = r.U8();
  if (style > kStylePersistent + static_cast<std::uint8_t>(argparse::Style::kPosix)) r.Fail("unknown command style");
  scope.options_first = style == kStyleCobraOptionsFirst;
  scope.options_persistent = style >= kStylePersistent;
  scope.style = scope.options_first        ? argparse::Style::kCobra
                : scope.options_persistent ? static_cast<argparse::Style>(style - kStylePersistent)
                                           : static_cast<argparse::Style>(style);
  const std::uint32_t n = r.Count(kMinCommandFieldBytes);
  scope.fields.resize(n);
  for (std::uint32_t i = 0; i < n && r.ok(); ++i) {
    argparse::CommandField& f = scope.fields[i];
    const std::uint8_t kind = r.U8();
    const std::uint8_t flags = r.U8();
    const unsigned role = kind & 3;
    const unsigned value = (kind >> 2) & 3;
    const unsigned type = (kind >> 4) & 7;
    if (role > static_cast<unsigned>(argparse::FieldRole::kOperands)) r.Fail("unknown command field role");
    if (value > static_cast<unsigned>(argparse::Value::kOptional)) r.Fail("unknown option value mode");
    if (type > static_cast<unsigned>(argparse::ValueType::kAssignment)) r.Fail("unknown value type");
    if (!r.ok()) return;
    f.role = static_cast<argparse::FieldRole>(role);
    f.value = static_cast<argparse::Value>(value);
    f.type.type = static_cast<argparse::ValueType>(type);
    f.ends_options = (kind >> 7) != 0;
    f.repeatable = (flags & kFieldRepeatable) != 0;
    if ((flags & kFieldNameFromLong) == 0) f.name = r.Str();
    if ((flags & kFieldShorts) != 0) f.shorts = r.Str();
    if ((flags & kFieldLongs) != 0) f.longs = r.StrList();
    if ((flags & kFieldChoices) != 0) f.type.choices = r.StrList();
    if ((flags & kFieldMin) != 0) f.type.min = r.SignedVarint();
    if ((flags & kFieldMax) != 0) f.type.max = r.SignedVarint();
    if ((flags & kFieldCounts) != 0) {
      f.min_count = r.Varint32();
      f.max_count = r.Varint32();
    }
    if (!r.ok()) return;
    // One encoding per field: a part is flagged exactly when it differs
    // from its default, and the name is implied whenever it can be.
    const bool canonical =
        ((flags & kFieldShorts) == 0 || !f.shorts.empty()) && ((flags & kFieldLongs) == 0 || !f.longs.empty()) &&
        ((flags & kFieldChoices) == 0 || !f.type.choices.empty()) &&
        ((flags & kFieldMin) == 0 || f.type.min != INT64_MIN) && ((flags & kFieldMax) == 0 || f.type.max != INT64_MAX) &&
        ((flags & kFieldCounts) == 0 || f.min_count != 1 || f.max_count != 1) &&
        ((flags & kFieldNameFromLong) == 0 || !f.longs.empty()) &&
        ((flags & kFieldNameFromLong) != 0 || f.longs.empty() || f.name != NameFromLong(f.longs.front()));
    if (!canonical) {
      r.Fail("command field not in canonical form");
      return;
    }
    if ((flags & kFieldNameFromLong) != 0) f.name = NameFromLong(f.longs.front());
  }
}

// Fewest bytes of one encoded command: name, top scope (name, style, field count), subcommand count.
constexpr std::size_t kMinCommandBytes = kMinStrBytes + (kMinStrBytes + 2) + 1;

void ReadCommand(Reader& r, argparse::Command& command) {
  command.name = r.Str();
  ReadScope(r, command.top);
  const std::uint32_t subs = r.Count(kMinStrBytes + 2);
  command.subcommands.resize(subs);
  for (std::uint32_t k = 0; k < subs && r.ok(); ++k) ReadScope(r, command.subcommands[k]);
}

// Decodes the body of section `tag` into `policy` (the header's environment
// summary into `env`).
void ReadSection(std::uint32_t tag, Reader& r, Policy& policy, EnvReads& env) {
  switch (tag) {
    case kSectionHeader:
      ReadHeader(r, policy.name, policy.version, policy.local_slots, env);
      break;
    case kSectionStrings:
      policy.strings = r.StrList();
      break;
    case kSectionStrLists: {
      std::uint32_t n = r.Count(1);
      policy.str_lists.reserve(n);
      for (std::uint32_t i = 0; i < n && r.ok(); ++i) policy.str_lists.push_back(r.StrList());
      break;
    }
    case kSectionIntLists: {
      std::uint32_t n = r.Count(1);
      policy.int_lists.reserve(n);
      for (std::uint32_t i = 0; i < n && r.ok(); ++i) {
        std::uint32_t m = r.Count(1);
        std::vector<std::int64_t> list;
        list.reserve(m);
        for (std::uint32_t k = 0; k < m && r.ok(); ++k) list.push_back(r.SignedVarint());
        policy.int_lists.push_back(std::move(list));
      }
      break;
    }
    case kSectionMaps: {
      std::uint32_t n = r.Count(1);
      policy.maps.reserve(n);
      for (std::uint32_t i = 0; i < n && r.ok(); ++i) {
        std::uint32_t m = r.Count(2 * kMinStrBytes);
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
      std::uint32_t n = r.Count(2 * kMinStrBytes + 1);
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
      std::uint32_t n = r.Count(1);
      policy.operands.reserve(n);
      for (std::uint32_t i = 0; i < n && r.ok(); ++i) policy.operands.push_back(r.Varint32());
      break;
    }
    case kSectionNodes: {
      std::uint32_t n = r.Count(kMinNodeBytes);
      policy.nodes.resize(n);
      for (std::uint32_t i = 0; i < n && r.ok(); ++i) ReadNode(r, i, policy.nodes[i]);
      break;
    }
    case kSectionRules: {
      std::uint32_t n = r.Count(kMinRuleBytes);
      policy.rules.resize(n);
      for (std::uint32_t i = 0; i < n && r.ok(); ++i) ReadRule(r, policy.rules[i]);
      break;
    }
    case kSectionContext: {
      std::uint32_t n = r.Count(kMinStrBytes + 3);
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
    case kSectionCommands: {
      std::uint32_t n = r.Count(kMinCommandBytes);
      policy.commands.resize(n);
      for (std::uint32_t i = 0; i < n && r.ok(); ++i) ReadCommand(r, policy.commands[i]);
      break;
    }
    default:
      r.Fail("unknown section");
  }
}

const char* SectionName(std::uint32_t tag) {
  static const char* const kNames[] = {"",         "header",   "strings", "str_lists", "int_lists", "maps",
                                       "patterns", "operands", "nodes",   "rules",     "context",   "commands"};
  return tag <= kSectionCount ? kNames[tag] : "unknown";
}

}  // namespace

std::string EncodeCommand(const argparse::Command& command) {
  Writer w;
  WriteCommand(w, command);
  return w.Take();
}

ErrorOr<argparse::Command> DecodeCommand(std::string_view bytes) {
  Reader r(bytes);
  argparse::Command command;
  ReadCommand(r, command);
  if (r.ok() && !r.AtEnd()) r.Fail("trailing bytes");
  if (!r.ok()) return Error{"invalid command table: " + r.error()};
  if (std::string problem = argparse::ValidateCommand(command); !problem.empty()) {
    return Error{"invalid command table: " + problem};
  }
  return command;
}

std::string Serialize(const Policy& policy) {
  Writer out;
  out.Raw(std::string(kSerializedMagic));
  out.U32(kSerializedVersion);

  Writer w;
  w.Str(policy.name);
  w.Str(policy.version);
  w.Varint(policy.local_slots);
  const EnvReads env = EnvReadsOf(policy);
  w.Bool(env.all);
  w.StrList(env.names);
  out.Raw(EncodeSection(kSectionHeader, w.Take()));

  w = Writer();
  w.StrList(policy.strings);
  out.Raw(EncodeSection(kSectionStrings, w.Take()));

  w = Writer();
  w.Count(policy.str_lists.size());
  for (const auto& list : policy.str_lists) w.StrList(list);
  out.Raw(EncodeSection(kSectionStrLists, w.Take()));

  w = Writer();
  w.Count(policy.int_lists.size());
  for (const auto& list : policy.int_lists) {
    w.Count(list.size());
    for (std::int64_t v : list) w.SignedVarint(v);
  }
  out.Raw(EncodeSection(kSectionIntLists, w.Take()));

  w = Writer();
  w.Count(policy.maps.size());
  for (const auto& map : policy.maps) {
    w.Count(map.size());
    for (const auto& [key, value] : map) {
      w.Str(key);
      w.Str(value);
    }
  }
  out.Raw(EncodeSection(kSectionMaps, w.Take()));

  w = Writer();
  w.Count(policy.patterns.size());
  for (const PatternConst& pattern : policy.patterns) {
    w.Str(pattern.source);
    w.Bool(pattern.is_regex);
    w.Str(pattern.dfa);
  }
  out.Raw(EncodeSection(kSectionPatterns, w.Take()));

  w = Writer();
  w.Count(policy.operands.size());
  for (std::uint32_t v : policy.operands) w.Varint(v);
  out.Raw(EncodeSection(kSectionOperands, w.Take()));

  w = Writer();
  w.Count(policy.nodes.size());
  for (const Node& node : policy.nodes) {
    std::uint8_t flags = static_cast<std::uint8_t>(node.kind) & kNodeKindMask;
    if (node.optional) flags |= kNodeOptional;
    if (node.a != kNoNode) flags |= kNodeHasA;
    if (node.b != kNoNode) flags |= kNodeHasB;
    if (node.c != kNoNode) flags |= kNodeHasC;
    if (node.imm != 0) flags |= kNodeHasImm;
    w.U8(static_cast<std::uint8_t>(node.op));
    w.U8(flags);
    if (node.a != kNoNode) w.Varint(node.a);
    if (node.b != kNoNode) w.Varint(node.b);
    if (node.c != kNoNode) w.Varint(node.c);
    if (node.imm != 0) w.SignedVarint(node.imm);
  }
  out.Raw(EncodeSection(kSectionNodes, w.Take()));

  w = Writer();
  w.Count(policy.rules.size());
  for (const Rule& rule : policy.rules) {
    w.Str(rule.name);
    w.U8(static_cast<std::uint8_t>(rule.verdict));
    w.Str(rule.reason);
    w.Varint(rule.condition);
    WriteObligations(w, rule.obligations);
    w.StrList(rule.index.paths);
    w.StrList(rule.index.names);
  }
  out.Raw(EncodeSection(kSectionRules, w.Take()));

  w = Writer();
  w.Count(policy.context.size());
  for (const ContextField& field : policy.context) {
    w.Str(field.name);
    w.U8(static_cast<std::uint8_t>(field.kind));
    w.Bool(field.optional);
    w.U8(static_cast<std::uint8_t>(field.spelling));
  }
  out.Raw(EncodeSection(kSectionContext, w.Take()));

  w = Writer();
  w.Count(policy.commands.size());
  for (const argparse::Command& command : policy.commands) WriteCommand(w, command);
  out.Raw(EncodeSection(kSectionCommands, w.Take()));
  return out.Take();
}

namespace {

Error Invalid(const std::string& message) {
  return Error{"invalid policy IR: " + message};
}

// Checks the magic, the version and the framing of all eleven sections, and
// returns their bodies (index 0 is the header).
ErrorOr<std::vector<std::string_view>> SplitSections(std::string_view bytes) {
  Reader r(bytes);
  if (r.Bytes(kSerializedMagic.size()) != kSerializedMagic) return Invalid("not a gov IR file (bad magic)");
  std::uint32_t version = r.U32();
  if (!r.ok()) return Invalid(r.error());
  if (version >= 1 && version < kSerializedVersion) {
    return Invalid("IR format version " + std::to_string(version) +
                   " was written by an older govc; this build reads version " + std::to_string(kSerializedVersion) +
                   ": rebuild the bundle with this govc (govc build)");
  }
  if (version != kSerializedVersion) return Invalid("unsupported format version " + std::to_string(version));
  std::vector<std::string_view> bodies;
  bodies.reserve(kSectionCount);
  for (std::uint32_t expected = 1; expected <= kSectionCount; ++expected) {
    std::uint32_t tag = r.U32();
    std::uint32_t length = r.U32();
    if (!r.ok()) return Invalid(std::string(SectionName(expected)) + " section: " + r.error());
    if (tag != expected) {
      return Invalid("expected section " + std::string(SectionName(expected)) + ", found tag " + std::to_string(tag));
    }
    bodies.push_back(r.Bytes(length));
    if (!r.ok()) return Invalid(std::string(SectionName(expected)) + " section: " + r.error());
  }
  if (!r.AtEnd()) return Invalid("trailing bytes after the last section");
  return bodies;
}

// Reads one section's body with `read`, which must consume it exactly.
template <typename ReadFn>
ErrorOr<void> ReadWhole(std::uint32_t tag, std::string_view body, ReadFn read) {
  Reader section(body);
  read(section);
  if (section.ok() && !section.AtEnd()) section.Fail("trailing bytes in the section");
  if (!section.ok()) return Invalid(std::string(SectionName(tag)) + " section: " + section.error());
  return {};
}

}  // namespace

ErrorOr<Policy> Deserialize(std::string_view bytes) {
  GOV_ASSIGN_OR_RETURN(const std::vector<std::string_view> bodies, SplitSections(bytes));
  Policy policy;
  EnvReads env;
  for (std::uint32_t tag = 1; tag <= kSectionCount; ++tag) {
    GOV_RETURN_IF_ERROR(
        ReadWhole(tag, bodies[tag - 1], [&](Reader& section) { ReadSection(tag, section, policy, env); }));
  }
  if (std::string problem = Validate(policy); !problem.empty()) return Invalid(problem);
  if (EnvReadsOf(policy) != env) {
    return Invalid("header section: the summary of environment reads does not match the policy's nodes");
  }
  return policy;
}

ErrorOr<PolicyView> PolicyView::Open(std::string_view bytes) {
  GOV_ASSIGN_OR_RETURN(const std::vector<std::string_view> bodies, SplitSections(bytes));
  PolicyView view;
  GOV_RETURN_IF_ERROR(ReadWhole(kSectionHeader, bodies[kSectionHeader - 1], [&](Reader& section) {
    std::uint32_t local_slots = 0;
    ReadHeader(section, view.name_, view.version_, local_slots, view.env_reads_);
  }));
  Policy context_only;
  EnvReads unused;
  GOV_RETURN_IF_ERROR(ReadWhole(kSectionContext, bodies[kSectionContext - 1],
                                [&](Reader& section) { ReadSection(kSectionContext, section, context_only, unused); }));
  view.context_ = std::move(context_only.context);
  if (std::string problem = ValidateContext(view.context_); !problem.empty()) return Invalid(problem);
  view.rules_ = bodies[kSectionRules - 1];
  GOV_RETURN_IF_ERROR(ReadWhole(kSectionRules, view.rules_, [&](Reader& section) {
    const std::uint32_t n = section.Count(kMinRuleBytes);
    view.rule_offsets_.reserve(n + 1);
    for (std::uint32_t i = 0; i < n && section.ok(); ++i) {
      view.rule_offsets_.push_back(static_cast<std::uint32_t>(view.rules_.size() - section.remaining()));
      SkipRule(section);
    }
    view.rule_offsets_.push_back(static_cast<std::uint32_t>(view.rules_.size() - section.remaining()));
  }));
  return view;
}

std::uint32_t PolicyView::rule_count() const {
  return rule_offsets_.empty() ? 0 : static_cast<std::uint32_t>(rule_offsets_.size() - 1);
}

ErrorOr<Rule> PolicyView::RuleAt(std::uint32_t id) const {
  if (id >= rule_count()) return Invalid("rule " + std::to_string(id) + " does not exist");
  const std::uint32_t begin = rule_offsets_[id];
  Rule rule;
  Reader record(rules_.substr(begin, rule_offsets_[id + 1] - begin));
  ReadRule(record, rule);
  if (record.ok() && !record.AtEnd()) record.Fail("trailing bytes in the record");
  if (!record.ok()) return Invalid("rules section: rule " + std::to_string(id) + ": " + record.error());
  if (std::string problem = ValidateRuleRecord(rule); !problem.empty()) {
    return Invalid("rule " + std::to_string(id) + ": " + problem);
  }
  return rule;
}

}  // namespace gov::ir
