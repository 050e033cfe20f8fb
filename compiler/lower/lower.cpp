// Lowering of a checked policy to the Decision IR.
//
// The lowerer is a small partial evaluator. Every expression becomes a `Val`:
// either one IR node (scalars, and lists/sets/maps the IR can hold), or a
// compile-time structure whose parts are Vals (records — including the
// request's `program`, `user`, `parent`, ... — lists of records or bools,
// list literals with request-dependent elements). Structures never reach the
// IR: member access picks a part, quantifiers over them are unrolled, and
// membership, indexing and equality expand into comparisons of their parts.
// Folded constants become pool constants; nodes and pool entries are
// hash-consed; `def` calls are inlined (parameters are bound to the argument
// Vals, so arguments are shared, not copied); unreachable nodes are dropped
// at the end.
#include "compiler/lower/lower.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <optional>
#include <set>
#include <tuple>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <variant>

#include "runtime/pattern/pattern.h"
#include "runtime/support/path.h"

namespace gov::lower {

ir::Obligations LowerObligations(const std::vector<check::CheckedObligation>& obligations) {
  ir::Obligations out;
  auto sorted_unique = [](std::vector<std::string> v) {
    std::sort(v.begin(), v.end());
    v.erase(std::unique(v.begin(), v.end()), v.end());
    return v;
  };
  for (const check::CheckedObligation& o : obligations) {
    const check::Value& v = o.value;
    if (o.name == "timeout") {
      out.timeout_ms = v.number;
    } else if (o.name == "memory") {
      out.memory_bytes = v.number;
    } else if (o.name == "processes") {
      out.processes = v.number;
    } else if (o.name == "tmp") {
      out.private_tmp = true;
    } else if (o.name == "network") {
      out.network = v.text == "none"       ? ir::Network::kNone
                    : v.text == "loopback" ? ir::Network::kLoopback
                                           : ir::Network::kAny;
    } else if (o.name == "read" || o.name == "write" || o.name == "create" || o.name == "env" ||
               o.name == "capabilities") {
      const bool is_paths = o.name == "read" || o.name == "write" || o.name == "create";
      std::vector<std::string> items;
      for (const check::Value& item : v.items) {
        items.push_back(is_paths ? paths::Normalize(item.text) : item.text);
      }
      items = sorted_unique(std::move(items));
      if (o.name == "read") {
        out.has_read = true;
        out.read = std::move(items);
      } else if (o.name == "write") {
        out.has_write = true;
        out.write = std::move(items);
      } else if (o.name == "create") {
        out.has_create = true;
        out.create = std::move(items);
      } else if (o.name == "capabilities") {
        out.has_capabilities = true;
        out.capabilities = std::move(items);
      } else {
        out.has_env = true;
        out.env = std::move(items);
      }
    }
  }
  return out;
}

namespace {

using check::Type;
using check::TypeKind;
using check::Value;
using ir::Kind;
using ir::Op;

constexpr std::uint32_t kNo = ir::kNoNode;
// Expression visits one policy may take (guards against exponential inlining
// that hash-consing would hide from the node count).
constexpr std::uint64_t kMaxSteps = 20'000'000;

// ---------------------------------------------------------------- kinds

std::optional<Kind> ScalarKind(TypeKind kind) {
  switch (kind) {
    case TypeKind::kBool:
      return Kind::kBool;
    case TypeKind::kInt:
    case TypeKind::kDuration:
    case TypeKind::kSize:
      return Kind::kInt;
    case TypeKind::kString:
    case TypeKind::kPath:
    case TypeKind::kDigest:
      return Kind::kStr;
    default:
      return std::nullopt;
  }
}

// The IR kind of a value of `type` when one IR node can hold it.
std::optional<Kind> NodeKind(const Type& type) {
  if (auto kind = ScalarKind(type.kind)) return kind;
  if ((type.kind == TypeKind::kList || type.kind == TypeKind::kSet) && !type.args.empty()) {
    auto element = ScalarKind(type.args[0].kind);
    if (element == Kind::kStr) return Kind::kStrList;
    if (element == Kind::kInt) return Kind::kIntList;
    return std::nullopt;
  }
  if (type.kind == TypeKind::kMap && type.args.size() == 2 && ScalarKind(type.args[1].kind) == Kind::kStr) {
    return Kind::kStrMap;
  }
  return std::nullopt;
}

// The element kind of a list or map node (map: its keys and values are Str).
Kind ElementKind(Kind collection) {
  return collection == Kind::kIntList ? Kind::kInt : Kind::kStr;
}

ir::ContextField::Spelling SpellingOf(TypeKind kind) {
  switch (kind) {
    case TypeKind::kBool:
      return ir::ContextField::Spelling::kBool;
    case TypeKind::kInt:
      return ir::ContextField::Spelling::kInt;
    case TypeKind::kPath:
      return ir::ContextField::Spelling::kPath;
    case TypeKind::kDuration:
      return ir::ContextField::Spelling::kDuration;
    case TypeKind::kSize:
      return ir::ContextField::Spelling::kSize;
    case TypeKind::kDigest:
      return ir::ContextField::Spelling::kDigest;
    default:
      return ir::ContextField::Spelling::kString;
  }
}

ir::Verdict VerdictOf(ast::Verdict verdict) {
  switch (verdict) {
    case ast::Verdict::kAllow:
      return ir::Verdict::kAllow;
    case ast::Verdict::kAsk:
      return ir::Verdict::kAsk;
    case ast::Verdict::kDeny:
      break;
  }
  return ir::Verdict::kDeny;
}

// How many node operands (a, b, c) an op has; n-ary ops report 0 here.
int NodeOperandCount(Op op) {
  switch (op) {
    case Op::kConstBool:
    case Op::kConstInt:
    case Op::kConstStr:
    case Op::kConstList:
    case Op::kConstMap:
    case Op::kNone:
    case Op::kField:
    case Op::kLocal:
    case Op::kAnd:
    case Op::kOr:
      return 0;
    case Op::kNot:
    case Op::kMatches:
    case Op::kIsNone:
    case Op::kLower:
    case Op::kUpper:
    case Op::kLen:
    case Op::kPathName:
    case Op::kPathParent:
    case Op::kPathExt:
    case Op::kToPath:
    case Op::kNeg:
      return 1;
    case Op::kIf:
      return 3;
    default:
      return 2;
  }
}

// ---------------------------------------------------------------- IR builder

// A 64-bit finalizer with full avalanche (every input bit affects every output bit).
std::uint64_t Scramble(std::uint64_t x) {
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdull;
  x ^= x >> 33;
  x *= 0xc4ceb9fe1a85ec53ull;
  x ^= x >> 33;
  return x;
}

struct NodeHash {
  std::size_t operator()(const ir::Node& n) const {
    std::uint64_t h = Scramble(static_cast<std::uint64_t>(n.op) | static_cast<std::uint64_t>(n.kind) << 8 |
                               static_cast<std::uint64_t>(n.optional) << 16);
    h = Scramble(h ^ (static_cast<std::uint64_t>(n.a) | static_cast<std::uint64_t>(n.b) << 32));
    h = Scramble(h ^ n.c);
    h = Scramble(h ^ static_cast<std::uint64_t>(n.imm));
    return static_cast<std::size_t>(h);
  }
};

struct NodeEqual {
  bool operator()(const ir::Node& x, const ir::Node& y) const {
    return x.op == y.op && x.kind == y.kind && x.optional == y.optional && x.a == y.a && x.b == y.b && x.c == y.c &&
           x.imm == y.imm;
  }
};

struct VectorHash {
  std::size_t operator()(const std::vector<std::uint32_t>& v) const {
    std::uint64_t h = v.size();
    for (std::uint32_t x : v) h = Scramble(h ^ x);
    return static_cast<std::size_t>(h);
  }
};

// Appends hash-consed nodes and interned pool entries to a policy.
class Builder {
 public:
  Builder(ir::Policy& policy, std::size_t max_nodes) : p_(policy), max_nodes_(max_nodes) {}

  bool overflow() const { return overflow_; }
  void SetOverflow() { overflow_ = true; }
  const ir::Node& node(std::uint32_t index) const { return p_.nodes[index]; }

  std::uint32_t Add(const ir::Node& n) {
    auto it = nodes_.find(n);
    if (it != nodes_.end()) return it->second;
    if (p_.nodes.size() >= max_nodes_) {
      overflow_ = true;
      return 0;
    }
    auto index = static_cast<std::uint32_t>(p_.nodes.size());
    p_.nodes.push_back(n);
    nodes_.emplace(n, index);
    return index;
  }

  std::uint32_t String(const std::string& s) { return Intern(strings_, p_.strings, s); }
  std::uint32_t StrList(const std::vector<std::string>& v) { return Intern(str_lists_, p_.str_lists, v); }
  std::uint32_t IntList(const std::vector<std::int64_t>& v) { return Intern(int_lists_, p_.int_lists, v); }
  std::uint32_t Map(const std::vector<std::pair<std::string, std::string>>& v) { return Intern(maps_, p_.maps, v); }

  std::uint32_t Pattern(bool is_regex, const std::string& source, const std::string& dfa) {
    auto key = std::make_pair(is_regex, source);
    auto it = patterns_.find(key);
    if (it != patterns_.end()) return it->second;
    auto index = static_cast<std::uint32_t>(p_.patterns.size());
    p_.patterns.push_back(ir::PatternConst{source, is_regex, dfa});
    patterns_.emplace(key, index);
    return index;
  }

  // An n-ary operand list; returns its offset in Policy::operands.
  std::uint32_t Operands(const std::vector<std::uint32_t>& list) {
    auto it = operand_lists_.find(list);
    if (it != operand_lists_.end()) return it->second;
    if (p_.operands.size() + list.size() > max_nodes_) {
      overflow_ = true;
      return 0;
    }
    auto offset = static_cast<std::uint32_t>(p_.operands.size());
    p_.operands.insert(p_.operands.end(), list.begin(), list.end());
    operand_lists_.emplace(list, offset);
    return offset;
  }

 private:
  template <typename T>
  static std::uint32_t Intern(std::map<T, std::uint32_t>& index, std::vector<T>& pool, const T& value) {
    auto it = index.find(value);
    if (it != index.end()) return it->second;
    auto i = static_cast<std::uint32_t>(pool.size());
    pool.push_back(value);
    index.emplace(value, i);
    return i;
  }

  ir::Policy& p_;
  std::size_t max_nodes_;
  bool overflow_ = false;
  std::unordered_map<ir::Node, std::uint32_t, NodeHash, NodeEqual> nodes_;
  std::unordered_map<std::vector<std::uint32_t>, std::uint32_t, VectorHash> operand_lists_;
  std::map<std::string, std::uint32_t> strings_;
  std::map<std::vector<std::string>, std::uint32_t> str_lists_;
  std::map<std::vector<std::int64_t>, std::uint32_t> int_lists_;
  std::map<std::vector<std::pair<std::string, std::string>>, std::uint32_t> maps_;
  std::map<std::pair<bool, std::string>, std::uint32_t> patterns_;
};

// ---------------------------------------------------------------- lowered values

struct FieldVal;

// A lowered expression: one IR node, or a compile-time structure of Vals.
struct Val {
  enum class Tag : std::uint8_t { kNode, kRecord, kList, kMap };
  Tag tag = Tag::kNode;
  std::uint32_t node = kNo;  // kNode
  // Structures: a node that is absent exactly when the structure is absent
  // (kNo: never absent). Invariant: when a record is absent, so is each field.
  std::uint32_t presence = kNo;
  bool is_set = false;           // kList
  std::vector<Val> items;        // kList elements
  std::vector<FieldVal> fields;  // kRecord fields (declaration order), kMap entries (sorted by key)

  static Val Node(std::uint32_t n);
};

struct FieldVal {
  std::string name;
  Val value;
};

// Defined once FieldVal is complete (Val's constructor needs it).
Val Val::Node(std::uint32_t n) {
  Val v;
  v.node = n;
  return v;
}

// ---------------------------------------------------------------- the lowerer

class Lowerer {
 public:
  Lowerer(const check::Program& program, diagnostics::Collector& diagnostics, ir::Policy& policy,
          const LowerOptions& options)
      : program_(program),
        diagnostics_(diagnostics),
        policy_(policy),
        options_(options),
        b_(policy, options.max_nodes) {}

  void Run() {
    const check::CheckedModule& entry = program_.Entry();
    policy_.name = entry.policy_name;
    policy_.version = entry.version.value_or("");
    for (const check::ContextFieldInfo& field : entry.context) {
      ir::ContextField out;
      out.name = field.name;
      out.kind = ScalarKind(field.type.kind).value_or(Kind::kStr);
      out.optional = field.type.optional;
      out.spelling = SpellingOf(field.type.kind);
      policy_.context.push_back(std::move(out));
    }
    taint_.resize(program_.modules.size());
    // The policy's own rules, then those of the modules it imports `with
    // rules` (each lowered in its own module, with that module's defaults).
    for (std::size_t i = 0; i < entry.rules.size(); ++i) {
      if (!LowerRule(program_.entry, i, entry.rules[i]->name)) return;
    }
    for (const check::CheckedModule::IncludedRule& included : entry.included_rules) {
      if (!LowerRule(included.module, included.index, included.name)) return;
    }
    if (entry.default_ask) {
      // `default ask`: asks exactly when no allow or ask rule matches (a deny
      // still wins by precedence). Its condition re-reads the others' and is
      // unindexed, so it runs for every request.
      std::vector<std::uint32_t> matches;
      for (const ir::Rule& rule : policy_.rules) {
        if (rule.verdict != ir::Verdict::kDeny) matches.push_back(rule.condition);
      }
      ir::Rule out;
      out.name = "default";
      out.verdict = ir::Verdict::kAsk;
      out.reason = entry.default_reason;
      out.condition = Not(Or(matches));
      out.index = IndexOf(out.condition);
      if (entry.has_default_obligations) out.obligations = LowerObligations(entry.default_obligations);
      policy_.rules.push_back(std::move(out));
    }
    if (!failed_) Compact();
  }

 private:
  // Lowers rule `index` of module `module` as `name`; false when the
  // policy is too large to go on.
  bool LowerRule(int module, std::size_t index, const std::string& name) {
    const check::CheckedModule& m = program_.modules[static_cast<std::size_t>(module)];
    const ast::Rule& rule = *m.rules[index];
    frames_.clear();
    frames_.push_back(Frame{module, nullptr, {}});
    ir::Rule out;
    out.name = name;
    out.verdict = VerdictOf(rule.verdict);
    out.reason = rule.reason.value_or("");
    Val condition = Lower(*rule.condition);
    if (b_.overflow()) {
      diagnostics_
          .Emit(diagnostics::Kind::kTooLarge, rule.span,
                fmt::format("rule `{}` lowers to more than {} decision nodes", name, options_.max_nodes))
          .help = "split large constant collections or simplify the functions this rule calls";
      return false;
    }
    out.condition = condition.node;
    out.index = IndexOf(out.condition);
    if (index < m.obligations.size()) out.obligations = LowerObligations(m.obligations[index]);
    // `default with { ... }` for an allow or ask rule without a `with` of its own.
    if (!rule.has_with && rule.verdict != ast::Verdict::kDeny && m.has_default_obligations) {
      out.obligations = LowerObligations(m.default_obligations);
    }
    policy_.rules.push_back(std::move(out));
    return true;
  }

  struct Frame {
    int module;
    const std::vector<Val>* params;
    std::vector<std::pair<std::string, Val>> locals;
  };

  const check::CheckedModule& Module() const {
    return program_.modules[static_cast<std::size_t>(frames_.back().module)];
  }

  // ------------------------------------------------------------ node helpers

  const ir::Node& N(std::uint32_t n) const { return b_.node(n); }
  Kind KindOf(std::uint32_t n) const { return N(n).kind; }
  bool Optional(std::uint32_t n) const { return N(n).optional; }

  std::uint32_t Add(Op op, Kind kind, bool optional, std::uint32_t a = kNo, std::uint32_t b = kNo,
                    std::uint32_t c = kNo, std::int64_t imm = 0) {
    ir::Node n{op, kind, optional, a, b, c, imm};
    return b_.Add(n);
  }
  std::uint32_t True() { return Add(Op::kConstBool, Kind::kBool, false, kNo, kNo, kNo, 1); }
  std::uint32_t False() { return Add(Op::kConstBool, Kind::kBool, false, kNo, kNo, kNo, 0); }
  std::uint32_t Bool(bool value) { return value ? True() : False(); }
  std::uint32_t Int(std::int64_t value) { return Add(Op::kConstInt, Kind::kInt, false, kNo, kNo, kNo, value); }
  std::uint32_t Str(const std::string& value) { return Add(Op::kConstStr, Kind::kStr, false, b_.String(value)); }
  std::uint32_t None(Kind kind) { return Add(Op::kNone, kind, true); }

  bool IsConstBool(std::uint32_t n, bool value) const { return N(n).op == Op::kConstBool && (N(n).imm != 0) == value; }
  bool IsConstLeaf(std::uint32_t n) const {
    Op op = N(n).op;
    return op == Op::kConstBool || op == Op::kConstInt || op == Op::kConstStr || op == Op::kConstList ||
           op == Op::kConstMap;
  }

  std::uint32_t Not(std::uint32_t x) {
    const ir::Node& n = N(x);
    if (n.op == Op::kConstBool) return Bool(n.imm == 0);
    if (n.op == Op::kNot) return n.a;
    return Add(Op::kNot, Kind::kBool, false, x);
  }

  // kAnd / kOr over `parts`: constants dropped or deciding, nested operations
  // of the same kind flattened, repeated operands dropped (order kept). All
  // of this preserves the order-independent semantics of docs/ir.md.
  std::uint32_t Nary(Op op, const std::vector<std::uint32_t>& parts) {
    bool is_and = op == Op::kAnd;
    std::vector<std::uint32_t> flat;
    std::unordered_set<std::uint32_t> seen;
    auto push = [&](std::uint32_t x) {
      if (seen.insert(x).second) flat.push_back(x);
    };
    for (std::uint32_t part : parts) {
      const ir::Node& n = N(part);
      if (n.op == Op::kConstBool) {
        if ((n.imm != 0) != is_and) return Bool(!is_and);
        continue;
      }
      if (n.op == op) {
        std::uint32_t begin = n.a;
        std::uint32_t count = n.b;
        for (std::uint32_t i = 0; i < count; ++i) push(policy_.operands[begin + i]);
      } else {
        push(part);
      }
    }
    if (flat.empty()) return Bool(is_and);
    if (flat.size() == 1) return flat[0];
    std::uint32_t offset = b_.Operands(flat);
    return Add(op, Kind::kBool, false, offset, static_cast<std::uint32_t>(flat.size()));
  }
  std::uint32_t And(const std::vector<std::uint32_t>& parts) { return Nary(Op::kAnd, parts); }
  std::uint32_t Or(const std::vector<std::uint32_t>& parts) { return Nary(Op::kOr, parts); }

  std::uint32_t If(std::uint32_t c, std::uint32_t t, std::uint32_t e) {
    if (IsConstBool(c, true)) return t;
    if (IsConstBool(c, false)) return e;
    // (`t == e` is not folded: the condition may fail, and its error counts.)
    if (KindOf(t) == Kind::kBool && KindOf(e) == Kind::kBool && !Optional(t) && !Optional(e)) {
      if (IsConstBool(t, true) && IsConstBool(e, false)) return c;
      if (IsConstBool(t, false) && IsConstBool(e, true)) return Not(c);
    }
    return Add(Op::kIf, KindOf(t), Optional(t) || Optional(e), c, t, e);
  }

  std::uint32_t IsNone(std::uint32_t x) {
    if (!Optional(x)) return False();
    if (N(x).op == Op::kNone) return True();
    return Add(Op::kIsNone, Kind::kBool, false, x);
  }

  // kEq of two nodes of one kind, folded when both are constants.
  std::uint32_t Eq(std::uint32_t a, std::uint32_t b) {
    if (a == b && IsConstLeaf(a)) return True();
    // Hash-consing makes equal constant leaves the same node.
    if (IsConstLeaf(a) && IsConstLeaf(b)) return False();
    if (N(a).op == Op::kNone) return IsNone(b);
    if (N(b).op == Op::kNone) return IsNone(a);
    return Add(Op::kEq, Kind::kBool, false, a, b);
  }

  // ------------------------------------------------------------ constants

  std::uint32_t ConstNode(const Value& v, Kind kind) {
    switch (kind) {
      case Kind::kBool:
        return Bool(v.boolean);
      case Kind::kInt:
        return Int(v.number);
      case Kind::kStr:
        return Str(v.text);
      case Kind::kStrList: {
        std::vector<std::string> items;
        items.reserve(v.items.size());
        for (const Value& item : v.items) items.push_back(item.text);
        return Add(Op::kConstList, Kind::kStrList, false, b_.StrList(items));
      }
      case Kind::kIntList: {
        std::vector<std::int64_t> items;
        items.reserve(v.items.size());
        for (const Value& item : v.items) items.push_back(item.number);
        return Add(Op::kConstList, Kind::kIntList, false, b_.IntList(items));
      }
      case Kind::kStrMap: {
        std::vector<std::pair<std::string, std::string>> entries;
        entries.reserve(v.fields.size());
        for (const auto& [key, value] : v.fields) entries.emplace_back(key, value.text);
        std::sort(entries.begin(), entries.end());
        // A key given twice keeps its last entry, as the checker's folding of `m[k]` does.
        auto last_of_key = [](const auto& x, const auto& y) { return x.first == y.first; };
        std::reverse(entries.begin(), entries.end());
        entries.erase(std::unique(entries.begin(), entries.end(), last_of_key), entries.end());
        std::reverse(entries.begin(), entries.end());
        return Add(Op::kConstMap, Kind::kStrMap, false, b_.Map(entries));
      }
    }
    return False();
  }

  // The Val of constant `v` of type `type`.
  Val FromConst(const Value& v, const Type& type) {
    if (auto kind = NodeKind(type)) {
      if (v.IsNone()) return Val::Node(None(*kind));
      return Val::Node(ConstNode(v, *kind));
    }
    Val out;
    switch (type.kind) {
      case TypeKind::kRecord: {
        out.tag = Val::Tag::kRecord;
        if (v.IsNone()) out.presence = None(Kind::kBool);
        for (const check::Field& field : *type.fields) {
          const Value* field_value = nullptr;
          for (const auto& [name, value] : v.fields) {
            if (name == field.name) field_value = &value;
          }
          Type field_type = v.IsNone() ? field.type->AsOptional() : *field.type;
          out.fields.push_back(FieldVal{field.name, FromConst(field_value ? *field_value : Value::None(), field_type)});
        }
        return out;
      }
      case TypeKind::kList:
      case TypeKind::kSet:
        out.tag = Val::Tag::kList;
        out.is_set = type.kind == TypeKind::kSet;
        if (v.IsNone()) out.presence = None(Kind::kBool);
        for (const Value& item : v.items) out.items.push_back(FromConst(item, type.args[0]));
        return out;
      case TypeKind::kMap:
        out.tag = Val::Tag::kMap;
        if (v.IsNone()) out.presence = None(Kind::kBool);
        // v.fields is sorted; a key given twice keeps its last entry (see ConstNode).
        for (const auto& [key, value] : v.fields) {
          if (!out.fields.empty() && out.fields.back().name == key) out.fields.pop_back();
          out.fields.push_back(FieldVal{key, FromConst(value, type.args[1])});
        }
        return out;
      default:
        // Patterns and the bare `none` type are never used as values.
        return Val::Node(None(Kind::kBool));
    }
  }

  // FromConst, remembered by the address of the checker's value (stable for
  // the whole lowering), so a constant collection used in many places (or in
  // an unrolled loop) is converted once.
  Val CachedConst(const Value& v, const Type& type) {
    if (v.kind != TypeKind::kList && v.kind != TypeKind::kSet && v.kind != TypeKind::kMap &&
        v.kind != TypeKind::kRecord) {
      return FromConst(v, type);
    }
    auto it = const_cache_.find(&v);
    if (it != const_cache_.end()) return it->second;
    Val out = FromConst(v, type);
    const_cache_.emplace(&v, out);
    return out;
  }

  // The absent value of `type`.
  Val Absent(const Type& type) { return FromConst(Value::None(), type.AsOptional()); }

  // ------------------------------------------------------------ presence

  bool MayBeAbsent(const Val& v) const {
    std::uint32_t n = v.tag == Val::Tag::kNode ? v.node : v.presence;
    return n != kNo && Optional(n);
  }

  // A Bool node: whether `v` is absent.
  std::uint32_t IsAbsent(const Val& v) {
    std::uint32_t n = v.tag == Val::Tag::kNode ? v.node : v.presence;
    if (n == kNo) return False();
    return IsNone(n);
  }

  // A presence node of kind Bool: absent exactly when `p` is absent.
  std::uint32_t BoolPresence(std::uint32_t p) {
    if (p == kNo) return True();
    if (KindOf(p) == Kind::kBool) return p;
    return If(IsNone(p), None(Kind::kBool), True());
  }

  std::uint32_t CombinePresence(std::uint32_t p, std::uint32_t q) {
    if (p == kNo) return q;
    if (q == kNo) return p;
    return If(IsNone(p), None(Kind::kBool), BoolPresence(q));
  }

  // `v` made absent whenever presence node `p` is absent.
  Val Mask(const Val& v, std::uint32_t p) {
    if (p == kNo || !Optional(p)) return v;
    if (v.tag == Val::Tag::kNode) {
      if (N(v.node).op == Op::kNone) return v;
      return Val::Node(If(IsNone(p), None(KindOf(v.node)), v.node));
    }
    Val out = v;
    out.presence = CombinePresence(p, v.presence);
    if (v.tag == Val::Tag::kRecord) {
      for (FieldVal& field : out.fields) field.value = Mask(field.value, p);
    }
    return out;
  }

  // ------------------------------------------------------------ diagnostics

  Val Unsupported(const ast::Expr& expr, std::string_view what) {
    failed_ = true;
    diagnostics_
        .Emit(diagnostics::Kind::kTooLarge, expr.span, fmt::format("this expression cannot be compiled: {}", what))
        .help = "rewrite it without request-dependent collections of different shapes";
    return Val::Node(False());
  }

  // ------------------------------------------------------------ folding

  // True when the checker's folded value of `expr` may not be used: it folded
  // a quantifier over a request-dependent domain from its constant body, which
  // is wrong for an empty domain (`any x in args: true` is false for no args).
  bool Tainted(const ast::Expr& expr) {
    std::vector<std::int8_t>& memo = taint_[static_cast<std::size_t>(frames_.back().module)];
    const check::CheckedModule& m = Module();
    if (memo.empty()) memo.assign(m.values.size(), -1);
    if (expr.id >= memo.size()) return false;
    if (memo[expr.id] >= 0) return memo[expr.id] != 0;
    bool tainted = false;
    if (const auto* q = std::get_if<ast::Quantified>(&expr.node)) {
      tainted = m.values[expr.id].has_value() && !m.values[q->domain->id].has_value();
    }
    ast::ForEachChild(expr, [&](const ast::Expr& child) { tainted = Tainted(child) || tainted; });
    memo[expr.id] = tainted ? 1 : 0;
    return tainted;
  }

  const Value* Folded(const ast::Expr& expr) {
    const check::CheckedModule& m = Module();
    if (expr.id >= m.values.size() || !m.values[expr.id]) return nullptr;
    if (Tainted(expr)) return nullptr;
    return &*m.values[expr.id];
  }

  const Type& TypeOf(const ast::Expr& expr) const { return Module().types[expr.id]; }

  // ------------------------------------------------------------ expressions

  Val Lower(const ast::Expr& expr) {
    if (++steps_ > kMaxSteps) b_.SetOverflow();
    if (b_.overflow()) return Val::Node(False());
    if (const Value* value = Folded(expr)) return CachedConst(*value, TypeOf(expr));
    return std::visit([&](const auto& node) { return LowerNode(expr, node); }, expr.node);
  }

  std::uint32_t LowerBool(const ast::Expr& expr) {
    Val v = Lower(expr);
    return v.tag == Val::Tag::kNode ? v.node : False();
  }

  // Literals are always folded by the checker.
  template <typename Literal>
  Val LowerNode(const ast::Expr& expr, const Literal&) {
    return Unsupported(expr, "a literal without a value");
  }

  Val LowerNode(const ast::Expr& expr, const ast::NameRef& ref) {
    const check::Resolution& r = Module().resolutions[expr.id];
    switch (r.kind) {
      case check::Resolution::Kind::kParam:
        return (*frames_.back().params)[static_cast<std::size_t>(r.slot)];
      case check::Resolution::Kind::kLocal: {
        const auto& locals = frames_.back().locals;
        for (auto it = locals.rbegin(); it != locals.rend(); ++it) {
          if (it->first == ref.name) return it->second;
        }
        break;
      }
      case check::Resolution::Kind::kRequest:
        return Request(r.name);
      case check::Resolution::Kind::kContext:
        return Context(expr);
      case check::Resolution::Kind::kConst:
        return ConstSymbol(expr, r);
      default:
        break;
    }
    return Unsupported(expr, fmt::format("`{}` is not resolved", ref.name));
  }

  Val ConstSymbol(const ast::Expr& expr, const check::Resolution& r) {
    const check::CheckedModule& m = program_.modules[static_cast<std::size_t>(r.module)];
    auto it = m.symbols.find(r.name);
    if (it == m.symbols.end() || !it->second.value) return Unsupported(expr, "a constant without a value");
    return CachedConst(*it->second.value, it->second.type);
  }

  std::uint32_t FieldNode(ir::Field field, Kind kind, bool optional = false) {
    return Add(Op::kField, kind, optional, kNo, kNo, kNo, static_cast<std::int64_t>(field));
  }

  static Val Record(std::vector<FieldVal> fields, std::uint32_t presence = kNo) {
    Val v;
    v.tag = Val::Tag::kRecord;
    v.fields = std::move(fields);
    v.presence = presence;
    return v;
  }

  Val Request(const std::string& name) {
    using F = ir::Field;
    auto field = [&](F f, Kind kind, bool optional = false) { return Val::Node(FieldNode(f, kind, optional)); };
    if (name == "program") {
      return Record({{"path", field(F::kProgramPath, Kind::kStr)},
                     {"name", field(F::kProgramName, Kind::kStr)},
                     {"sha256", field(F::kProgramSha256, Kind::kStr)},
                     {"written_in_session", field(F::kProgramWrittenInSession, Kind::kBool)}});
    }
    if (name == "invoked") {
      return Record({{"path", field(F::kInvokedPath, Kind::kStr)}, {"name", field(F::kInvokedName, Kind::kStr)}});
    }
    if (name == "args") return field(F::kArgs, Kind::kStrList);
    if (name == "argv0") return field(F::kArgv0, Kind::kStr);
    if (name == "env") return field(F::kEnv, Kind::kStrMap);
    if (name == "cwd") return field(F::kCwd, Kind::kStr);
    if (name == "user") {
      return Record({{"name", field(F::kUserName, Kind::kStr)},
                     {"uid", field(F::kUserUid, Kind::kInt)},
                     {"gid", field(F::kUserGid, Kind::kInt)},
                     {"groups", field(F::kUserGroups, Kind::kStrList)}});
    }
    if (name == "host") return Record({{"name", field(F::kHostName, Kind::kStr)}});
    if (name == "time") {
      return Record({{"unix", field(F::kTimeUnix, Kind::kInt)},
                     {"hour", field(F::kTimeHour, Kind::kInt)},
                     {"minute", field(F::kTimeMinute, Kind::kInt)},
                     {"weekday", field(F::kTimeWeekday, Kind::kStr)},
                     {"date", field(F::kTimeDate, Kind::kStr)}});
    }
    // parent: present exactly when the request has a parent run; every field
    // is then present, so the fields already satisfy the record invariant.
    return Record({{"run_id", field(F::kParentRunId, Kind::kStr, true)},
                   {"depth", field(F::kParentDepth, Kind::kInt, true)},
                   {"program", field(F::kParentProgram, Kind::kStr, true)}},
                  FieldNode(F::kParentRunId, Kind::kStr, true));
  }

  // The `context` record as seen from the current module. Imported modules
  // read the entry's context fields of the same name and type.
  Val Context(const ast::Expr& expr) {
    const check::CheckedModule& m = Module();
    std::vector<FieldVal> fields;
    for (const check::ContextFieldInfo& info : m.context) {
      std::optional<std::size_t> index;
      for (std::size_t i = 0; i < policy_.context.size(); ++i) {
        if (policy_.context[i].name == info.name) index = i;
      }
      auto kind = ScalarKind(info.type.kind).value_or(Kind::kStr);
      if (!index || policy_.context[*index].kind != kind || policy_.context[*index].optional != info.type.optional ||
          policy_.context[*index].spelling != SpellingOf(info.type.kind)) {
        failed_ = true;
        diagnostics_.Emit(diagnostics::Kind::kUnknownContextField, expr.span,
                          fmt::format("this module reads context field `{}: {}`, which the policy `{}` does not "
                                      "declare with that type",
                                      info.name, check::ToString(info.type), policy_.name));
        fields.push_back(FieldVal{info.name, Val::Node(None(kind))});
        continue;
      }
      fields.push_back(
          FieldVal{info.name, Val::Node(Add(Op::kField, kind, info.type.optional, static_cast<std::uint32_t>(*index),
                                            kNo, kNo, static_cast<std::int64_t>(ir::Field::kContext)))});
    }
    return Record(std::move(fields));
  }

  static const Val* FindField(const Val& record, const std::string& name) {
    for (const FieldVal& field : record.fields) {
      if (field.name == name) return &field.value;
    }
    return nullptr;
  }

  Val LowerNode(const ast::Expr& expr, const ast::Member& member) {
    const check::Resolution& r = Module().resolutions[expr.id];
    if (r.kind == check::Resolution::Kind::kConst) return ConstSymbol(expr, r);
    Val object = Lower(*member.object);
    if (object.tag == Val::Tag::kRecord) {
      if (const Val* field = FindField(object, member.field)) return *field;
      return Unsupported(expr, fmt::format("no field `{}`", member.field));
    }
    if (object.tag == Val::Tag::kNode && TypeOf(*member.object).kind == TypeKind::kPath) {
      Op op = member.field == "name" ? Op::kPathName : member.field == "parent" ? Op::kPathParent : Op::kPathExt;
      return Val::Node(Add(op, Kind::kStr, Optional(object.node), object.node));
    }
    return Unsupported(expr, fmt::format("field `{}` of a value that is not a record", member.field));
  }

  // Inlines a call of a `def`: the body is lowered with its parameters bound
  // to the argument Vals. Calls with node arguments are memoized, so a
  // function called twice with the same arguments is lowered once.
  Val Inline(const ast::Expr& expr, const check::Resolution& r, const std::vector<ast::ExprPtr>& args) {
    const check::CheckedModule& callee = program_.modules[static_cast<std::size_t>(r.module)];
    auto it = callee.symbols.find(r.name);
    if (it == callee.symbols.end() || it->second.def == nullptr)
      return Unsupported(expr, "call of an unknown function");
    const ast::DefDecl* def = it->second.def;
    std::vector<Val> values;
    values.reserve(args.size());
    for (const ast::ExprPtr& arg : args) values.push_back(Lower(*arg));
    if (b_.overflow()) return Val::Node(False());
    std::vector<std::uint32_t> key_nodes;
    bool memoizable = true;
    for (const Val& v : values) {
      if (v.tag != Val::Tag::kNode) memoizable = false;
      key_nodes.push_back(v.node);
    }
    auto key = std::make_tuple(r.module, def, key_nodes);
    if (memoizable) {
      auto found = calls_.find(key);
      if (found != calls_.end()) return found->second;
    }
    frames_.push_back(Frame{r.module, &values, {}});
    Val result = Lower(*def->body);
    frames_.pop_back();
    if (memoizable) calls_.emplace(key, result);
    return result;
  }

  // ------------------------------------------------------------ argument grammars

  // The index of command `name` of module `module` in the policy's commands.
  std::uint32_t CommandIndex(int module, const std::string& name) {
    auto key = std::make_pair(module, name);
    if (auto it = command_indices_.find(key); it != command_indices_.end()) return it->second;
    const check::CheckedModule& m = program_.modules[static_cast<std::size_t>(module)];
    auto index = static_cast<std::uint32_t>(policy_.commands.size());
    policy_.commands.push_back(m.commands.at(name));
    command_indices_.emplace(std::move(key), index);
    return index;
  }

  // `C(list)`: a record whose fields read the parse (docs/ir.md "Argument
  // grammars"), absent exactly when the list does not parse.
  Val ParseWith(const ast::Expr& expr, const check::Resolution& r, const std::vector<ast::ExprPtr>& args) {
    const check::CheckedModule& m = program_.modules[static_cast<std::size_t>(r.module)];
    if (args.size() != 1 || m.commands.count(r.name) == 0) return Unsupported(expr, "a command parse");
    Val list = Lower(*args[0]);
    if (list.tag == Val::Tag::kList) list = ListNode(list);
    if (list.tag != Val::Tag::kNode) return Unsupported(expr, "an argument list built of request-dependent parts");
    const argparse::Command& command = m.commands.at(r.name);
    const std::uint32_t index = CommandIndex(r.module, r.name);
    const std::uint32_t cwd = FieldNode(ir::Field::kCwd, Kind::kStr);
    const std::uint32_t parses = Add(Op::kArgParses, Kind::kBool, false, list.node, cwd, kNo, index);
    std::uint32_t field_number = 0;
    const auto scope_fields = [&](const argparse::CommandScope& scope, Val& record) {
      for (std::size_t i = 0; i < scope.fields.size(); ++i, ++field_number) {
        const auto ref = ir::ArgFieldAt(command, field_number);
        record.fields.push_back(FieldVal{
            scope.fields[i].name, Val::Node(Add(Op::kArgField, ref->kind, true, list.node, cwd, field_number, index))});
      }
    };
    Val parse;
    parse.tag = Val::Tag::kRecord;
    parse.presence = If(parses, True(), None(Kind::kBool));
    scope_fields(command.top, parse);
    if (!command.subcommands.empty()) {
      // A subcommand's field is named as declared (`exec_in` for
      // `subcommand exec_in: "exec"`): the checked record type's record
      // fields, in declaration order as the subcommands are (the top
      // level's fields, declared among them, are never records).
      const Type& parse_type = m.symbols.at(r.name).type;
      std::vector<std::string> sub_names;
      if (parse_type.kind == TypeKind::kRecord && parse_type.fields != nullptr) {
        for (const check::Field& field : *parse_type.fields) {
          if (field.type->kind == TypeKind::kRecord) sub_names.push_back(field.name);
        }
      }
      if (sub_names.size() != command.subcommands.size()) {
        return Unsupported(expr, "a command parse whose type does not match its grammar");
      }
      const std::uint32_t chosen = Add(Op::kArgSubcommand, Kind::kStr, true, list.node, cwd, kNo, index);
      for (std::size_t k = 0; k < command.subcommands.size(); ++k) {
        const argparse::CommandScope& sub = command.subcommands[k];
        Val record;
        record.tag = Val::Tag::kRecord;
        record.presence = If(Eq(chosen, Str(sub.name)), True(), None(Kind::kBool));
        scope_fields(sub, record);
        parse.fields.push_back(FieldVal{sub_names[k], std::move(record)});
      }
      parse.fields.push_back(FieldVal{"subcommand", Val::Node(chosen)});
    }
    return parse;
  }

  // A node for a compile-time list of constant items (`["-f", "x"]`), or
  // the list unchanged when an item depends on the request.
  Val ListNode(const Val& list) {
    std::vector<std::string> items;
    for (const Val& item : list.items) {
      if (item.tag != Val::Tag::kNode || N(item.node).op != Op::kConstStr) return list;
      items.push_back(policy_.strings[N(item.node).a]);
    }
    return Val::Node(Add(Op::kConstList, Kind::kStrList, false, b_.StrList(items)));
  }

  // `value` as a present value of `type` (its checked type without `?`):
  // nodes the checker types as present read their value, or a default the
  // surrounding `as` never lets matter (it requires the value's presence).
  Val Present(const Val& value, const Type& type) {
    if (value.tag == Val::Tag::kNode) {
      if (!Optional(value.node) || type.optional) return value;
      const Kind kind = KindOf(value.node);
      std::uint32_t fallback = kNo;
      switch (kind) {
        case Kind::kBool:
          fallback = False();
          break;
        case Kind::kInt:
          fallback = Int(0);
          break;
        case Kind::kStr:
          fallback = Str("");
          break;
        case Kind::kStrList:
          fallback = Add(Op::kConstList, Kind::kStrList, false, b_.StrList({}));
          break;
        case Kind::kIntList:
          fallback = Add(Op::kConstList, Kind::kIntList, false, b_.IntList({}));
          break;
        case Kind::kStrMap:
          return value;
      }
      return Val::Node(Add(Op::kCoalesce, kind, false, value.node, fallback));
    }
    if (value.tag != Val::Tag::kRecord || type.kind != TypeKind::kRecord || type.fields == nullptr) return value;
    // A record field typed `R?` (a subcommand's parse) keeps its own
    // presence: `c.sub as s: ...` must still test it.
    if (type.optional) return value;
    Val out = value;
    out.presence = kNo;
    for (FieldVal& field : out.fields) {
      if (const Type* field_type = type.FieldType(field.name)) field.value = Present(field.value, *field_type);
    }
    return out;
  }

  Val LowerNode(const ast::Expr&, const ast::Bind& bind) {
    Val value = Lower(*bind.value);
    const std::uint32_t present = Not(IsAbsent(value));
    const Type bound_type = TypeOf(*bind.value).AsRequired();
    const std::uint32_t body = Bind(bind.var, Present(value, bound_type), *bind.body);
    return Val::Node(And({present, body}));
  }

  Val LowerNode(const ast::Expr& expr, const ast::Call& call) {
    const check::Resolution r = Module().resolutions[expr.id];
    if (r.kind == check::Resolution::Kind::kDef) return Inline(expr, r, call.args);
    if (r.kind == check::Resolution::Kind::kCommand) return ParseWith(expr, r, call.args);
    if (r.kind == check::Resolution::Kind::kBuiltin && call.args.size() == 1) {
      Val arg = Lower(*call.args[0]);
      if (call.callee == "path" && arg.tag == Val::Tag::kNode) {
        return Val::Node(Add(Op::kToPath, Kind::kStr, Optional(arg.node), arg.node));
      }
      if (call.callee == "len") return Length(arg);
    }
    return Unsupported(expr, fmt::format("call of `{}`", call.callee));
  }

  Val LowerNode(const ast::Expr& expr, const ast::MethodCall& call) {
    const check::Resolution r = Module().resolutions[expr.id];
    if (r.kind == check::Resolution::Kind::kDef) return Inline(expr, r, call.args);
    if (r.kind == check::Resolution::Kind::kCommand) return ParseWith(expr, r, call.args);
    Val receiver = Lower(*call.receiver);
    const std::string& method = call.method;
    if (method == "len") return Length(receiver);
    if (receiver.tag != Val::Tag::kNode) return Unsupported(expr, fmt::format("method `{}`", method));
    std::uint32_t s = receiver.node;
    if (method == "lower" || method == "upper") {
      return Val::Node(Add(method == "lower" ? Op::kLower : Op::kUpper, Kind::kStr, Optional(s), s));
    }
    if ((method == "starts_with" || method == "ends_with" || method == "contains") && call.args.size() == 1) {
      Val arg = Lower(*call.args[0]);
      Op op = method == "starts_with" ? Op::kStartsWith : method == "ends_with" ? Op::kEndsWith : Op::kContains;
      return Val::Node(Add(op, Kind::kBool, false, s, arg.node));
    }
    return Unsupported(expr, fmt::format("method `{}`", method));
  }

  // len() of a string, list, set or map.
  Val Length(const Val& v) {
    if (v.tag == Val::Tag::kNode) return Val::Node(Add(Op::kLen, Kind::kInt, Optional(v.node), v.node));
    std::uint32_t length = 0;
    if (v.tag == Val::Tag::kList && v.is_set) {
      // Elements may turn out equal at run time: count each first occurrence.
      length = v.items.empty() ? Int(0) : Int(1);
      for (std::size_t i = 1; i < v.items.size(); ++i) {
        std::vector<std::uint32_t> earlier;
        for (std::size_t j = 0; j < i; ++j) earlier.push_back(Equal(v.items[i], v.items[j]));
        std::uint32_t fresh = If(Or(earlier), Int(0), Int(1));
        length = IsConstInt(length) && IsConstInt(fresh) ? Int(N(length).imm + N(fresh).imm)
                                                         : Add(Op::kAdd, Kind::kInt, false, length, fresh);
      }
    } else {
      length = Int(static_cast<std::int64_t>(v.tag == Val::Tag::kList ? v.items.size() : v.fields.size()));
    }
    return Mask(Val::Node(length), v.presence);
  }

  bool IsConstInt(std::uint32_t n) const { return N(n).op == Op::kConstInt; }

  Val LowerNode(const ast::Expr& expr, const ast::Index& index) {
    Val object = Lower(*index.object);
    Val key = Lower(*index.index);
    const Type& element_type = TypeOf(expr);
    if (object.tag == Val::Tag::kNode) {
      Kind kind = KindOf(object.node);
      Op op = kind == Kind::kStrMap ? Op::kMapGet : Op::kIndex;
      return Val::Node(Add(op, ElementKind(kind), true, object.node, key.node));
    }
    // A structure indexed by a node key: a chain of comparisons.
    Val result = Absent(element_type);
    if (object.tag == Val::Tag::kList) {
      for (std::size_t i = object.items.size(); i-- > 0;) {
        std::uint32_t hit = Eq(key.node, Int(static_cast<std::int64_t>(i)));
        result = Select(expr, hit, object.items[i], result);
      }
    } else {
      for (std::size_t i = object.fields.size(); i-- > 0;) {
        std::uint32_t hit = Eq(key.node, Str(object.fields[i].name));
        result = Select(expr, hit, object.fields[i].value, result);
      }
    }
    return Mask(result, object.presence);
  }

  Val LowerNode(const ast::Expr& expr, const ast::Unary& unary) {
    Val operand = Lower(*unary.operand);
    if (operand.tag != Val::Tag::kNode) return Unsupported(expr, "an operator on a structure");
    if (unary.op == ast::UnaryOp::kNot) return Val::Node(Not(operand.node));
    return Val::Node(Add(Op::kNeg, Kind::kInt, Optional(operand.node), operand.node));
  }

  Val LowerNode(const ast::Expr& expr, const ast::Binary& binary) {
    using B = ast::BinaryOp;
    const Type& lhs_type = TypeOf(*binary.lhs);
    const Type& rhs_type = TypeOf(*binary.rhs);
    switch (binary.op) {
      case B::kEq:
      case B::kNe: {
        std::uint32_t equal = 0;
        auto is_none = [&](const ast::Expr& e, const Type& t) {
          const Value* v = t.kind == TypeKind::kNone ? nullptr : Folded(e);
          return t.kind == TypeKind::kNone || (v != nullptr && v->IsNone());
        };
        if (is_none(*binary.lhs, lhs_type)) {
          equal = IsAbsent(Lower(*binary.rhs));
        } else if (is_none(*binary.rhs, rhs_type)) {
          equal = IsAbsent(Lower(*binary.lhs));
        } else {
          Val lhs = Lower(*binary.lhs);
          Val rhs = Lower(*binary.rhs);
          if (lhs.tag == Val::Tag::kNode && rhs.tag == Val::Tag::kNode) {
            if (binary.op == B::kNe) {
              std::uint32_t eq = Eq(lhs.node, rhs.node);
              if (N(eq).op == Op::kConstBool) return Val::Node(Not(eq));
              return Val::Node(Add(Op::kNe, Kind::kBool, false, lhs.node, rhs.node));
            }
            return Val::Node(Eq(lhs.node, rhs.node));
          }
          equal = Equal(lhs, rhs, &lhs_type);
        }
        return Val::Node(binary.op == B::kEq ? equal : Not(equal));
      }
      case B::kLt:
      case B::kLe:
      case B::kGt:
      case B::kGe: {
        Val lhs = Lower(*binary.lhs);
        Val rhs = Lower(*binary.rhs);
        Op op = binary.op == B::kLt ? Op::kLt : binary.op == B::kLe ? Op::kLe : binary.op == B::kGt ? Op::kGt : Op::kGe;
        return Val::Node(Add(op, Kind::kBool, false, lhs.node, rhs.node));
      }
      case B::kIn:
      case B::kNotIn: {
        Val element = Lower(*binary.lhs);
        Val collection = Lower(*binary.rhs);
        std::uint32_t in = In(element, collection, rhs_type);
        if (binary.op == B::kIn) return Val::Node(in);
        // Membership on an absent value is false for `not in` too.
        return Val::Node(And({Not(IsAbsent(element)), Not(in)}));
      }
      case B::kUnder: {
        Val lhs = Lower(*binary.lhs);
        Val rhs = Lower(*binary.rhs);
        return Val::Node(Add(Op::kUnder, Kind::kBool, false, lhs.node, rhs.node));
      }
      case B::kMatches:
        return Matches(expr, binary);
      case B::kCoalesce: {
        Val lhs = Lower(*binary.lhs);
        Val rhs = Lower(*binary.rhs);
        if (lhs.tag == Val::Tag::kNode && rhs.tag == Val::Tag::kNode) {
          if (!Optional(lhs.node)) return lhs;
          if (N(lhs.node).op == Op::kNone) return rhs;
          return Val::Node(Add(Op::kCoalesce, KindOf(rhs.node), Optional(rhs.node), lhs.node, rhs.node));
        }
        return Select(expr, IsAbsent(lhs), rhs, lhs);
      }
      default:
        return Arithmetic(expr, binary);
    }
  }

  Val Arithmetic(const ast::Expr& expr, const ast::Binary& binary) {
    using B = ast::BinaryOp;
    Val lhs = Lower(*binary.lhs);
    Val rhs = Lower(*binary.rhs);
    if (lhs.tag != Val::Tag::kNode || rhs.tag != Val::Tag::kNode) return Unsupported(expr, "arithmetic on a structure");
    TypeKind result = TypeOf(expr).kind;
    bool optional = Optional(lhs.node) || Optional(rhs.node);
    if (result == TypeKind::kPath) return Val::Node(Add(Op::kPathJoin, Kind::kStr, optional, lhs.node, rhs.node));
    if (result == TypeKind::kString) return Val::Node(Add(Op::kConcat, Kind::kStr, optional, lhs.node, rhs.node));
    Op op = Op::kAdd;
    switch (binary.op) {
      case B::kAdd:
        op = Op::kAdd;
        break;
      case B::kSub:
        op = Op::kSub;
        break;
      case B::kMul:
        op = Op::kMul;
        break;
      case B::kDiv:
        op = Op::kDiv;
        break;
      case B::kMod:
        op = Op::kMod;
        break;
      default:
        return Unsupported(expr, "an unknown operator");
    }
    return Val::Node(Add(op, Kind::kInt, optional, lhs.node, rhs.node));
  }

  // `text matches P`. A regex whose union automaton is much larger than the
  // automata of its top-level alternatives together (a union of unanchored
  // searches multiplies their states) is matched as the `or` of its
  // alternatives, one automaton each — when evaluating the text once per
  // alternative changes nothing: it takes no scratch and cannot fail.
  Val Matches(const ast::Expr& expr, const ast::Binary& binary) {
    Val text = Lower(*binary.lhs);
    const Value* pattern_value = Folded(*binary.rhs);
    if (pattern_value == nullptr || text.tag != Val::Tag::kNode)
      return Unsupported(expr, "a pattern that is not constant");
    const bool is_regex = pattern_value->kind == TypeKind::kRegex;
    const PatternForms* forms = FormsOf(is_regex, pattern_value->text);
    if (forms == nullptr) return Unsupported(expr, "a pattern that does not compile");
    if (!forms->alternatives.empty() && RepeatableText(text.node)) {
      std::vector<std::uint32_t> parts;
      for (std::uint32_t index : forms->alternatives)
        parts.push_back(Add(Op::kMatches, Kind::kBool, false, text.node, kNo, kNo, index));
      return Val::Node(Or(parts));
    }
    const std::uint32_t whole = PooledPattern(is_regex, pattern_value->text, forms->whole);
    return Val::Node(Add(Op::kMatches, Kind::kBool, false, text.node, kNo, kNo, whole));
  }

  // A pattern compiled once: its automaton's bytes, and the pool indices of
  // its top-level alternatives when they are to be matched apart (together
  // less than half the whole's size), else none.
  struct PatternForms {
    std::string whole;
    std::vector<std::uint32_t> alternatives;
  };

  // The forms of pattern `source`; null when it does not compile. Only the
  // alternatives go into the pool here; the whole goes in when a text needs
  // it (PooledPattern).
  const PatternForms* FormsOf(bool is_regex, const std::string& source) {
    auto key = std::make_pair(is_regex, source);
    if (auto it = pattern_forms_.find(key); it != pattern_forms_.end()) return &it->second;
    const pattern::Syntax syntax = is_regex ? pattern::Syntax::kRegex : pattern::Syntax::kGlob;
    pattern::CompileResult whole = pattern::Compile(syntax, source);
    if (!whole.dfa) return nullptr;
    PatternForms forms{whole.dfa->Serialize(), {}};
    const std::vector<std::string> alternatives = pattern::TopLevelAlternatives(syntax, source);
    if (alternatives.size() > 1) {
      std::vector<std::string> parts;
      std::size_t parts_size = 0;
      for (const std::string& alternative : alternatives) {
        pattern::CompileResult part = pattern::Compile(syntax, alternative);
        if (!part.dfa) break;
        parts.push_back(part.dfa->Serialize());
        parts_size += parts.back().size();
      }
      if (parts.size() == alternatives.size() && 2 * parts_size < forms.whole.size()) {
        for (std::size_t k = 0; k < parts.size(); ++k) {
          forms.alternatives.push_back(PooledPattern(is_regex, alternatives[k], parts[k]));
        }
      }
    }
    return &pattern_forms_.emplace(key, std::move(forms)).first->second;
  }

  // The pool index of pattern `source` with automaton `dfa`, added once.
  std::uint32_t PooledPattern(bool is_regex, const std::string& source, const std::string& dfa) {
    auto [it, fresh] = pattern_index_.try_emplace(std::make_pair(is_regex, source), 0);
    if (fresh) it->second = b_.Pattern(is_regex, source, dfa);
    return it->second;
  }

  // True when evaluating node `index` takes no scratch and cannot fail, so
  // evaluating it again gives the same value at no other cost.
  bool RepeatableText(std::uint32_t index) const {
    const ir::Node& n = b_.node(index);
    switch (n.op) {
      case Op::kConstStr:
      case Op::kConstInt:
      case Op::kConstList:
      case Op::kConstMap:
      case Op::kNone:
      case Op::kField:
      case Op::kLocal:
        return true;
      case Op::kIndex:
      case Op::kMapGet:
      case Op::kCoalesce:
        return RepeatableText(n.a) && RepeatableText(n.b);
      default:
        return false;
    }
  }

  Val LowerNode(const ast::Expr&, const ast::Logical& logical) {
    std::vector<std::uint32_t> parts;
    parts.reserve(logical.operands.size());
    for (const ast::ExprPtr& operand : logical.operands) {
      parts.push_back(LowerBool(*operand));
      if (b_.overflow()) break;
    }
    return Val::Node(logical.op == ast::LogicalOp::kAnd ? And(parts) : Or(parts));
  }

  Val LowerNode(const ast::Expr&, const ast::Quantified& q) {
    Val domain = Lower(*q.domain);
    bool any = q.quantifier == ast::Quantifier::kAny;
    if (domain.tag == Val::Tag::kNode) {
      std::uint32_t slot = next_slot_++;
      std::uint32_t local = Add(Op::kLocal, ElementKind(KindOf(domain.node)), false, slot);
      std::uint32_t body = Bind(q.var, Val::Node(local), *q.body);
      return Val::Node(Add(any ? Op::kAny : Op::kAll, Kind::kBool, false, domain.node, body, kNo, slot));
    }
    // A compile-time structure: one body per element (or key).
    std::vector<std::uint32_t> parts;
    if (domain.tag == Val::Tag::kList) {
      for (const Val& item : domain.items) {
        parts.push_back(Bind(q.var, item, *q.body));
        if (b_.overflow()) break;
      }
    } else {
      for (const FieldVal& entry : domain.fields) {
        parts.push_back(Bind(q.var, Val::Node(Str(entry.name)), *q.body));
        if (b_.overflow()) break;
      }
    }
    return Val::Node(any ? Or(parts) : And(parts));
  }

  // Lowers `body` with quantifier variable `name` bound to `value`.
  std::uint32_t Bind(const std::string& name, Val value, const ast::Expr& body) {
    frames_.back().locals.emplace_back(name, std::move(value));
    std::uint32_t out = LowerBool(body);
    frames_.back().locals.pop_back();
    return out;
  }

  Val LowerNode(const ast::Expr& expr, const ast::Conditional& conditional) {
    const Type& type = TypeOf(expr);
    auto branch = [&](const ast::Expr& e) {
      if (TypeOf(e).kind == TypeKind::kNone) return Absent(type);
      return Lower(e);
    };
    if (const Value* c = Folded(*conditional.condition)) {
      return branch(c->boolean ? *conditional.then_value : *conditional.else_value);
    }
    std::uint32_t c = LowerBool(*conditional.condition);
    Val then_value = branch(*conditional.then_value);
    Val else_value = branch(*conditional.else_value);
    return Select(expr, c, then_value, else_value);
  }

  // `if c then t else e` on Vals.
  Val Select(const ast::Expr& expr, std::uint32_t c, const Val& t, const Val& e) {
    if (IsConstBool(c, true)) return t;
    if (IsConstBool(c, false)) return e;
    if (t.tag == Val::Tag::kNode && e.tag == Val::Tag::kNode) return Val::Node(If(c, t.node, e.node));
    auto constant_absent = [&](const Val& v) {
      std::uint32_t n = v.tag == Val::Tag::kNode ? v.node : v.presence;
      return n != kNo && N(n).op == Op::kNone;
    };
    if (constant_absent(e) && t.tag != Val::Tag::kNode) return Mask(t, If(c, True(), None(Kind::kBool)));
    if (constant_absent(t) && e.tag != Val::Tag::kNode) return Mask(e, If(c, None(Kind::kBool), True()));
    if (t.tag != e.tag) return Unsupported(expr, "branches of different shapes");
    Val out = t;
    if (t.presence != kNo || e.presence != kNo) {
      out.presence = If(c, BoolPresence(t.presence), BoolPresence(e.presence));
    }
    if (t.tag == Val::Tag::kList) {
      if (t.items.size() != e.items.size() || t.is_set != e.is_set) {
        return Unsupported(expr, "lists of different lengths");
      }
      for (std::size_t i = 0; i < t.items.size(); ++i) out.items[i] = Select(expr, c, t.items[i], e.items[i]);
      return out;
    }
    if (t.fields.size() != e.fields.size()) return Unsupported(expr, "maps with different keys");
    for (std::size_t i = 0; i < t.fields.size(); ++i) {
      if (t.fields[i].name != e.fields[i].name) return Unsupported(expr, "maps with different keys");
      out.fields[i].value = Select(expr, c, t.fields[i].value, e.fields[i].value);
    }
    return out;
  }

  Val LowerNode(const ast::Expr& expr, const ast::ListLiteral& list) {
    Val out;
    out.tag = Val::Tag::kList;
    for (const ast::ExprPtr& element : list.elements) out.items.push_back(Lower(*element));
    (void)expr;
    return out;
  }

  Val LowerNode(const ast::Expr& expr, const ast::SetLiteral& set) {
    Val out;
    out.tag = Val::Tag::kList;
    out.is_set = true;
    for (const ast::ExprPtr& element : set.elements) out.items.push_back(Lower(*element));
    (void)expr;
    return out;
  }

  Val LowerNode(const ast::Expr& expr, const ast::RecordLiteral& record) {
    const Type& type = TypeOf(expr);
    Val out;
    if (type.kind == TypeKind::kMap) {
      out.tag = Val::Tag::kMap;
      for (const ast::RecordLiteralField& field : record.fields) {
        out.fields.push_back(FieldVal{field.name, Lower(*field.value)});
      }
      // Sorted by key; a key given twice keeps its last value.
      std::stable_sort(out.fields.begin(), out.fields.end(),
                       [](const FieldVal& x, const FieldVal& y) { return x.name < y.name; });
      std::vector<FieldVal> unique;
      for (FieldVal& field : out.fields) {
        if (!unique.empty() && unique.back().name == field.name) unique.pop_back();
        unique.push_back(std::move(field));
      }
      out.fields = std::move(unique);
      return out;
    }
    if (type.kind == TypeKind::kList || type.kind == TypeKind::kSet) {
      out.tag = Val::Tag::kList;
      out.is_set = type.kind == TypeKind::kSet;
      return out;
    }
    if (type.kind != TypeKind::kRecord || !type.fields) return Unsupported(expr, "a record literal");
    out.tag = Val::Tag::kRecord;
    for (const check::Field& field : *type.fields) {
      const ast::Expr* given = nullptr;
      for (const ast::RecordLiteralField& f : record.fields) {
        if (f.name == field.name) given = f.value.get();
      }
      if (given != nullptr && TypeOf(*given).kind != TypeKind::kNone) {
        out.fields.push_back(FieldVal{field.name, Lower(*given)});
      } else {
        out.fields.push_back(FieldVal{field.name, Absent(*field.type)});
      }
    }
    return out;
  }

  // ------------------------------------------------------------ equality and membership

  // Bool node: `a == b` with absent == absent. `type` is the static type of
  // the operands when known (it tells lists from sets for node operands).
  std::uint32_t Equal(const Val& a, const Val& b, const Type* type = nullptr) {
    if (a.tag == Val::Tag::kNode && b.tag == Val::Tag::kNode) return Eq(a.node, b.node);
    std::uint32_t contents = EqualPresent(a, b, type);
    if (!MayBeAbsent(a) && !MayBeAbsent(b)) return contents;
    return If(IsAbsent(a), IsAbsent(b), And({Not(IsAbsent(b)), contents}));
  }

  // Equality of two values assumed present; at least one is a structure.
  std::uint32_t EqualPresent(const Val& a, const Val& b, const Type* type) {
    const Val& s = a.tag != Val::Tag::kNode ? a : b;  // a structure
    const Val& o = a.tag != Val::Tag::kNode ? b : a;  // the other side
    const Type* element_type = type != nullptr && !type->args.empty() ? &type->args.back() : nullptr;
    if (s.tag == Val::Tag::kRecord) {
      if (o.tag != Val::Tag::kRecord || o.fields.size() != s.fields.size()) return False();
      std::vector<std::uint32_t> parts;
      for (std::size_t i = 0; i < s.fields.size(); ++i) {
        const Type* field_type = type != nullptr && type->fields ? (*type->fields)[i].type.get() : nullptr;
        parts.push_back(Equal(s.fields[i].value, o.fields[i].value, field_type));
      }
      return And(parts);
    }
    if (s.tag == Val::Tag::kMap) {
      if (o.tag == Val::Tag::kMap) {
        if (o.fields.size() != s.fields.size()) return False();
        std::vector<std::uint32_t> parts;
        for (std::size_t i = 0; i < s.fields.size(); ++i) {
          if (s.fields[i].name != o.fields[i].name) return False();
          parts.push_back(Equal(s.fields[i].value, o.fields[i].value, element_type));
        }
        return And(parts);
      }
      std::vector<std::uint32_t> parts = {
          Eq(Add(Op::kLen, Kind::kInt, false, o.node), Int(static_cast<std::int64_t>(s.fields.size())))};
      for (const FieldVal& entry : s.fields) {
        Val got = Val::Node(Add(Op::kMapGet, Kind::kStr, true, o.node, Str(entry.name)));
        parts.push_back(Equal(got, entry.value));
      }
      return And(parts);
    }
    // Lists and sets.
    bool is_set = s.is_set || (type != nullptr && type->kind == TypeKind::kSet);
    if (o.tag == Val::Tag::kList) {
      if (is_set) {
        std::vector<std::uint32_t> parts;
        for (const Val& x : s.items) parts.push_back(In(x, o, Type{}));
        for (const Val& x : o.items) parts.push_back(In(x, s, Type{}));
        return And(parts);
      }
      if (o.items.size() != s.items.size()) return False();
      std::vector<std::uint32_t> parts;
      for (std::size_t i = 0; i < s.items.size(); ++i) parts.push_back(Equal(s.items[i], o.items[i], element_type));
      return And(parts);
    }
    // `o` is a list node, `s` a structure of nodes.
    Kind element_kind = ElementKind(KindOf(o.node));
    if (is_set) {
      std::vector<std::uint32_t> parts;
      for (const Val& x : s.items) parts.push_back(In(x, o, Type{}));
      std::uint32_t slot = next_slot_++;
      std::uint32_t local = Add(Op::kLocal, element_kind, false, slot);
      std::uint32_t body = In(Val::Node(local), s, Type{});
      parts.push_back(Add(Op::kAll, Kind::kBool, false, o.node, body, kNo, slot));
      return And(parts);
    }
    std::vector<std::uint32_t> parts = {
        Eq(Add(Op::kLen, Kind::kInt, false, o.node), Int(static_cast<std::int64_t>(s.items.size())))};
    for (std::size_t i = 0; i < s.items.size(); ++i) {
      Val got = Val::Node(Add(Op::kIndex, element_kind, true, o.node, Int(static_cast<std::int64_t>(i))));
      parts.push_back(Equal(got, s.items[i]));
    }
    return And(parts);
  }

  // Bool node: `x in collection` (false when x is absent).
  std::uint32_t In(const Val& x, const Val& collection, const Type& collection_type) {
    const Type* element_type = collection_type.args.empty() ? nullptr : &collection_type.args[0];
    if (collection.tag == Val::Tag::kNode) {
      Kind kind = KindOf(collection.node);
      if (x.tag != Val::Tag::kNode) return False();
      return Add(kind == Kind::kStrMap ? Op::kHasKey : Op::kIn, Kind::kBool, false, x.node, collection.node);
    }
    std::vector<std::uint32_t> parts;
    if (collection.tag == Val::Tag::kMap) {
      for (const FieldVal& entry : collection.fields) parts.push_back(Eq(x.node, Str(entry.name)));
    } else {
      // Elements are never absent, so an absent `x` equals none of them.
      for (const Val& item : collection.items) parts.push_back(Equal(x, item, element_type));
    }
    return Or(parts);
  }

  // ------------------------------------------------------------ rules

  // The index of a rule: from one top-level conjunct of its condition that
  // pins program.path or program.name to constants (the one with fewest keys).
  ir::RuleIndex IndexOf(std::uint32_t root) {
    std::vector<std::uint32_t> conjuncts;
    const ir::Node& r = N(root);
    if (r.op == Op::kAnd) {
      for (std::uint32_t i = 0; i < r.b; ++i) conjuncts.push_back(policy_.operands[r.a + i]);
    } else {
      conjuncts.push_back(root);
    }
    ir::RuleIndex best;
    std::size_t best_count = 0;
    for (std::uint32_t conjunct : conjuncts) {
      const ir::Node& n = N(conjunct);
      std::optional<ir::Field> field;
      std::vector<std::string> keys;
      auto program_field = [&](std::uint32_t x) -> std::optional<ir::Field> {
        const ir::Node& f = N(x);
        if (f.op != Op::kField) return std::nullopt;
        auto which = static_cast<ir::Field>(f.imm);
        if (which == ir::Field::kProgramPath || which == ir::Field::kProgramName) return which;
        return std::nullopt;
      };
      if (n.op == Op::kEq) {
        for (auto [f, c] : {std::pair{n.a, n.b}, std::pair{n.b, n.a}}) {
          if (auto which = program_field(f); which && N(c).op == Op::kConstStr) {
            field = which;
            keys = {policy_.strings[N(c).a]};
          }
        }
      } else if (n.op == Op::kIn && N(n.b).op == Op::kConstList && N(n.b).kind == Kind::kStrList) {
        if (auto which = program_field(n.a)) {
          field = which;
          keys = policy_.str_lists[N(n.b).a];
        }
      }
      if (!field || keys.empty()) continue;
      if (*field == ir::Field::kProgramPath) {
        for (std::string& key : keys) key = paths::Normalize(key);
      }
      std::sort(keys.begin(), keys.end());
      keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
      if (best_count != 0 && keys.size() >= best_count) continue;
      best = ir::RuleIndex{};
      best_count = keys.size();
      (*field == ir::Field::kProgramPath ? best.paths : best.names) = std::move(keys);
    }
    return best;
  }

  // ------------------------------------------------------------ compaction

  // Drops nodes, operand lists, pool entries and slots no rule reaches, and
  // renumbers what is left (post-order is kept).
  void Compact() {
    const std::vector<ir::Node> nodes = policy_.nodes;
    const std::vector<std::uint32_t> operands = policy_.operands;
    std::vector<char> live(nodes.size(), 0);
    for (const ir::Rule& rule : policy_.rules) {
      if (rule.condition < nodes.size()) live[rule.condition] = 1;
    }
    for (std::size_t i = nodes.size(); i-- > 0;) {
      if (!live[i]) continue;
      const ir::Node& n = nodes[i];
      if (n.op == Op::kAnd || n.op == Op::kOr) {
        for (std::uint32_t k = 0; k < n.b; ++k) live[operands[n.a + k]] = 1;
        continue;
      }
      int count = NodeOperandCount(n.op);
      if (count >= 1) live[n.a] = 1;
      if (count >= 2) live[n.b] = 1;
      if (count >= 3) live[n.c] = 1;
    }
    // Quantifier slots: a quantifier gets slot = the number of quantifiers
    // whose body (transitively) contains it, so nested quantifiers always
    // differ and the slot count is the deepest nesting.
    std::vector<std::uint32_t> level(nodes.size(), 0);
    std::map<std::int64_t, std::uint32_t> slot_level;  // old slot → new slot
    std::uint32_t slot_count = 0;
    for (std::size_t i = nodes.size(); i-- > 0;) {
      if (!live[i]) continue;
      const ir::Node& n = nodes[i];
      auto reach = [&](std::uint32_t child, std::uint32_t at_least) {
        level[child] = std::max(level[child], at_least);
      };
      if (n.op == Op::kAnd || n.op == Op::kOr) {
        for (std::uint32_t k = 0; k < n.b; ++k) reach(operands[n.a + k], level[i]);
      } else if (n.op == Op::kAny || n.op == Op::kAll) {
        slot_level[n.imm] = level[i];
        slot_count = std::max(slot_count, level[i] + 1);
        reach(n.a, level[i]);
        reach(n.b, level[i] + 1);
      } else {
        int count = NodeOperandCount(n.op);
        if (count >= 1) reach(n.a, level[i]);
        if (count >= 2) reach(n.b, level[i]);
        if (count >= 3) reach(n.c, level[i]);
      }
    }
    auto slot_of = [&](std::int64_t slot) { return slot_level[slot]; };
    ir::Policy old = std::move(policy_);
    policy_ = ir::Policy{};
    policy_.name = std::move(old.name);
    policy_.version = std::move(old.version);
    policy_.context = std::move(old.context);
    policy_.commands = std::move(old.commands);
    Builder fresh(policy_, options_.max_nodes);
    std::vector<std::uint32_t> remap(nodes.size(), kNo);
    for (std::size_t i = 0; i < nodes.size(); ++i) {
      if (!live[i]) continue;
      ir::Node n = nodes[i];
      switch (n.op) {
        case Op::kConstStr:
          n.a = fresh.String(old.strings[n.a]);
          break;
        case Op::kConstList:
          n.a = n.kind == Kind::kStrList ? fresh.StrList(old.str_lists[n.a]) : fresh.IntList(old.int_lists[n.a]);
          break;
        case Op::kConstMap:
          n.a = fresh.Map(old.maps[n.a]);
          break;
        case Op::kLocal:
          n.a = slot_of(n.a);
          break;
        case Op::kMatches: {
          const ir::PatternConst& p = old.patterns[static_cast<std::size_t>(n.imm)];
          n.imm = fresh.Pattern(p.is_regex, p.source, p.dfa);
          n.a = remap[n.a];
          break;
        }
        case Op::kAny:
        case Op::kAll:
          n.imm = slot_of(n.imm);
          n.a = remap[n.a];
          n.b = remap[n.b];
          break;
        case Op::kAnd:
        case Op::kOr: {
          std::vector<std::uint32_t> list;
          for (std::uint32_t k = 0; k < n.b; ++k) list.push_back(remap[operands[n.a + k]]);
          n.a = fresh.Operands(list);
          break;
        }
        default: {
          int count = NodeOperandCount(n.op);
          if (count >= 1) n.a = remap[n.a];
          if (count >= 2) n.b = remap[n.b];
          if (count >= 3) n.c = remap[n.c];
          break;
        }
      }
      remap[i] = fresh.Add(n);
    }
    policy_.local_slots = slot_count;
    for (ir::Rule& rule : old.rules) {
      rule.condition = remap[rule.condition];
      policy_.rules.push_back(std::move(rule));
    }
  }

  const check::Program& program_;
  diagnostics::Collector& diagnostics_;
  ir::Policy& policy_;
  LowerOptions options_;
  Builder b_;
  bool failed_ = false;
  std::uint64_t steps_ = 0;
  std::uint32_t next_slot_ = 0;  // slots are unique while lowering; Compact renumbers them
  std::map<std::pair<int, std::string>, std::uint32_t> command_indices_;
  std::vector<Frame> frames_;
  std::vector<std::vector<std::int8_t>> taint_;
  std::map<std::tuple<int, const ast::DefDecl*, std::vector<std::uint32_t>>, Val> calls_;
  std::map<std::pair<bool, std::string>, std::uint32_t> pattern_index_;
  std::map<std::pair<bool, std::string>, PatternForms> pattern_forms_;
  std::unordered_map<const Value*, Val> const_cache_;
};

}  // namespace

namespace {

// Days since 1970-01-01 of a proleptic Gregorian date (month 1..12).
std::int64_t DaysFromCivil(std::int64_t year, std::int64_t month, std::int64_t day) {
  // Count years from March so the leap day ends the year.
  if (month <= 2) year -= 1;
  std::int64_t era = (year >= 0 ? year : year - 399) / 400;
  std::int64_t year_of_era = year - era * 400;                            // 0..399
  std::int64_t month_from_march = month > 2 ? month - 3 : month + 9;      // 0..11
  std::int64_t day_of_year = (153 * month_from_march + 2) / 5 + day - 1;  // 0..365
  std::int64_t day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
  return era * 146097 + day_of_era - 719468;
}

// "YYYY-MM-DDTHH:MM:SSZ" (already validated by the checker) → Unix seconds.
std::int64_t UnixFromTimestamp(const std::string& text) {
  auto number = [&](std::size_t at, std::size_t length) {
    std::int64_t n = 0;
    for (std::size_t i = at; i < at + length && i < text.size(); ++i) n = n * 10 + (text[i] - '0');
    return n;
  };
  std::int64_t days = DaysFromCivil(number(0, 4), number(5, 2), number(8, 2));
  return days * 86400 + number(11, 2) * 3600 + number(14, 2) * 60 + number(17, 2);
}

// The folded value of a test-case expression, or nullptr.
const Value* TestValue(const check::CheckedModule& m, const ast::Expr& expr) {
  if (expr.id >= m.values.size() || !m.values[expr.id]) return nullptr;
  return &*m.values[expr.id];
}

void ApplyModifier(const check::CheckedModule& m, const ast::TestModifier& modifier, request::Request& r) {
  const ast::Expr& value = *modifier.value;
  const std::string& kind = modifier.kind;
  if (kind == "cwd" || kind == "host" || kind == "sha256" || kind == "time" || kind == "via" || kind == "argv0") {
    const Value* v = TestValue(m, value);
    if (v == nullptr) return;
    if (kind == "via") {
      r.program_path = paths::Normalize(v->text);
      r.program_name = paths::BaseName(r.program_path);
    }
    if (kind == "argv0") r.argv0 = v->text;
    if (kind == "cwd") r.cwd = paths::Normalize(v->text);
    if (kind == "host") r.host = v->text;
    if (kind == "sha256") r.program_sha256 = v->text;
    if (kind == "time") r.time_unix = v->kind == TypeKind::kInt ? v->number : UnixFromTimestamp(v->text);
    return;
  }
  if (kind == "written_in_session") {
    if (const Value* v = TestValue(m, value)) r.program_written_in_session = v->boolean;
    return;
  }
  const auto* record = std::get_if<ast::RecordLiteral>(&value.node);
  if (record == nullptr) return;
  if (kind == "parent") {
    // Fields a test leaves out of `parent { ... }`.
    r.has_parent = true;
    r.parent_run_id = "test-parent";
    r.parent_depth = 1;
    r.parent_program = "/";
  }
  for (const ast::RecordLiteralField& field : record->fields) {
    const Value* v = TestValue(m, *field.value);
    if (v == nullptr) continue;
    if (kind == "env") {
      r.env.emplace_back(field.name, v->text);
    } else if (kind == "user") {
      if (field.name == "name") r.user_name = v->text;
      if (field.name == "uid") r.uid = v->number;
      if (field.name == "gid") r.gid = v->number;
      if (field.name == "groups") {
        r.groups.clear();
        for (const Value& item : v->items) r.groups.push_back(item.text);
      }
    } else if (kind == "parent") {
      if (field.name == "run_id") r.parent_run_id = v->text;
      if (field.name == "depth") r.parent_depth = v->number;
      if (field.name == "program") r.parent_program = paths::Normalize(v->text);
    } else if (kind == "context") {
      for (std::size_t i = 0; i < m.context.size(); ++i) {
        if (m.context[i].name != field.name) continue;
        request::ContextValue& out = r.context[i];
        out.present = !v->IsNone();
        if (!out.present) continue;
        if (v->kind == TypeKind::kBool)
          out.number = v->boolean ? 1 : 0;
        else if (ScalarKind(v->kind) == Kind::kInt)
          out.number = v->number;
        else
          out.text = v->kind == TypeKind::kPath ? paths::Normalize(v->text) : v->text;
      }
    }
  }
}

// One case of `test`: the request `command` describes with the case's
// modifiers, and its expectations.
LoweredTest LowerTestCase(const check::CheckedModule& m, const ast::TestBlock& block, const ast::TestCase& test,
                          const ast::Expr& command) {
  LoweredTest lowered;
  lowered.block = block.name;
  // A table's row is located at its command line; a single case at `exec`.
  lowered.span = test.argvs.size() > 1 ? command.span : test.span;
  lowered.expected = VerdictOf(test.expected);
  request::Request& r = lowered.request;
  r.context.assign(m.context.size(), request::ContextValue{});
  if (const Value* argv = TestValue(m, command); argv != nullptr && !argv->items.empty()) {
    // The program as invoked; `via` names a different file that runs,
    // `argv0` a different spelling of the invocation.
    r.argv0 = argv->items[0].text;
    r.invoked_path = paths::Normalize(r.argv0);
    r.program_path = r.invoked_path;
    r.program_name = paths::BaseName(r.program_path);
    for (std::size_t i = 1; i < argv->items.size(); ++i) r.args.push_back(argv->items[i].text);
  }
  for (const ast::TestModifier& modifier : test.modifiers) ApplyModifier(m, modifier, r);
  // The lowering's order: the module's rules, the included ones, then
  // `default` (with `default ask`).
  auto rule_id = [&](const std::string& name) -> std::optional<std::uint32_t> {
    for (std::size_t i = 0; i < m.rules.size(); ++i) {
      if (m.rules[i]->name == name) return static_cast<std::uint32_t>(i);
    }
    for (std::size_t i = 0; i < m.included_rules.size(); ++i) {
      if (m.included_rules[i].name == name) return static_cast<std::uint32_t>(m.rules.size() + i);
    }
    if (name == "default" && m.default_ask) {
      return static_cast<std::uint32_t>(m.rules.size() + m.included_rules.size());
    }
    return std::nullopt;
  };
  for (const std::string& name : test.by_rules) {
    lowered.by_names.push_back(name);
    if (auto id = rule_id(name)) lowered.by_rules.push_back(*id);
  }
  std::sort(lowered.by_rules.begin(), lowered.by_rules.end());
  lowered.by_rules.erase(std::unique(lowered.by_rules.begin(), lowered.by_rules.end()), lowered.by_rules.end());
  lowered.by_exact = !test.by_rules.empty() && !test.by_and_others;
  for (const std::string& name : test.not_by_rules) {
    lowered.not_by_names.push_back(name);
    if (auto id = rule_id(name)) lowered.not_by_rules.push_back(*id);
  }
  if (auto checked = m.test_obligations.find(&test); checked != m.test_obligations.end()) {
    lowered.obligations = LowerObligations(checked->second);
  }
  return lowered;
}

}  // namespace

std::vector<LoweredTest> LowerTests(const check::Program& program) {
  std::vector<LoweredTest> out;
  if (program.entry < 0) return out;
  const check::CheckedModule& m = program.Entry();
  for (const ast::TestBlock* block : m.tests) {
    for (const ast::TestCase& test : block->cases) {
      for (const ast::ExprPtr& command : test.argvs) out.push_back(LowerTestCase(m, *block, test, *command));
    }
  }
  return out;
}

ir::Policy Lower(const check::Program& program, diagnostics::Collector& diagnostics, const LowerOptions& options) {
  ir::Policy policy;
  if (program.entry < 0) return policy;
  Lowerer(program, diagnostics, policy, options).Run();
  return policy;
}

}  // namespace gov::lower
