// Structural validation of the Decision IR (ir::Validate): every invariant
// the interpreter and the code generator rely on, so that a policy that
// passes can be evaluated without further checks. docs/ir.md lists them.
#include "runtime/ir/ir.h"

#include <algorithm>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "runtime/ir/capabilities.h"
#include "runtime/ir/env_names.h"
#include "runtime/pattern/pattern.h"
#include "runtime/support/path.h"

namespace gov::ir {

bool operator==(const Node& a, const Node& b) {
  return a.op == b.op && a.kind == b.kind && a.optional == b.optional && a.a == b.a && a.b == b.b && a.c == b.c &&
         a.imm == b.imm;
}

namespace {

// Most quantifier slots a policy may declare.
constexpr std::uint32_t kMaxLocalSlots = 65536;

bool ValidKind(Kind kind) {
  return static_cast<std::uint8_t>(kind) <= static_cast<std::uint8_t>(Kind::kStrMap);
}

bool ValidOp(Op op) {
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
    case Op::kNot:
    case Op::kIf:
    case Op::kEq:
    case Op::kNe:
    case Op::kLt:
    case Op::kLe:
    case Op::kGt:
    case Op::kGe:
    case Op::kIn:
    case Op::kHasKey:
    case Op::kUnder:
    case Op::kMatches:
    case Op::kStartsWith:
    case Op::kEndsWith:
    case Op::kContains:
    case Op::kIsNone:
    case Op::kCoalesce:
    case Op::kLower:
    case Op::kUpper:
    case Op::kLen:
    case Op::kConcat:
    case Op::kPathJoin:
    case Op::kPathName:
    case Op::kPathParent:
    case Op::kPathExt:
    case Op::kToPath:
    case Op::kIndex:
    case Op::kMapGet:
    case Op::kAdd:
    case Op::kSub:
    case Op::kMul:
    case Op::kDiv:
    case Op::kMod:
    case Op::kNeg:
    case Op::kAny:
    case Op::kAll:
    case Op::kArgParses:
    case Op::kArgField:
    case Op::kArgSubcommand:
      return true;
  }
  return false;
}

// The kind and optionality of a request field other than kContext.
struct FieldType {
  Kind kind;
  bool optional;
};
FieldType TypeOfField(Field field) {
  switch (field) {
    case Field::kProgramPath:
    case Field::kProgramName:
    case Field::kProgramSha256:
    case Field::kInvokedPath:
    case Field::kInvokedName:
    case Field::kArgv0:
    case Field::kCwd:
    case Field::kUserName:
    case Field::kHostName:
    case Field::kTimeWeekday:
    case Field::kTimeDate:
      return {Kind::kStr, false};
    case Field::kArgs:
    case Field::kUserGroups:
      return {Kind::kStrList, false};
    case Field::kEnv:
      return {Kind::kStrMap, false};
    case Field::kUserUid:
    case Field::kUserGid:
    case Field::kTimeUnix:
    case Field::kTimeHour:
    case Field::kTimeMinute:
      return {Kind::kInt, false};
    case Field::kParentRunId:
    case Field::kParentProgram:
      return {Kind::kStr, true};
    case Field::kParentDepth:
      return {Kind::kInt, true};
    case Field::kProgramWrittenInSession:
      return {Kind::kBool, false};
    case Field::kContext:
      break;
  }
  return {Kind::kBool, false};
}

std::string NodeError(std::size_t index, const std::string& message) {
  return "node " + std::to_string(index) + ": " + message;
}

// Quantifier variables a node reads without binding them: (slot, kind),
// sorted by slot. Computed bottom-up; a slot read with two kinds is invalid.
using FreeSlots = std::vector<std::pair<std::uint32_t, Kind>>;

// Merges `from` into `into`; false on a kind conflict.
bool MergeFree(FreeSlots& into, const FreeSlots& from) {
  if (from.empty()) return true;
  if (into.empty()) {
    into = from;
    return true;
  }
  for (const auto& entry : from) {
    auto it = std::lower_bound(into.begin(), into.end(), entry,
                               [](const auto& x, const auto& y) { return x.first < y.first; });
    if (it != into.end() && it->first == entry.first) {
      if (it->second != entry.second) return false;
    } else {
      into.insert(it, entry);
    }
  }
  return true;
}

class Validator {
 public:
  explicit Validator(const Policy& policy) : p_(policy) {}

  std::string Run() {
    if (p_.local_slots > kMaxLocalSlots) {
      return "local_slots " + std::to_string(p_.local_slots) + " exceeds " + std::to_string(kMaxLocalSlots);
    }
    if (std::string e = CheckPools(); !e.empty()) return e;
    if (std::string e = CheckContext(); !e.empty()) return e;
    for (const argparse::Command& command : p_.commands) {
      if (std::string e = argparse::ValidateCommand(command); !e.empty()) return e;
    }
    free_.resize(p_.nodes.size());
    for (std::size_t i = 0; i < p_.nodes.size(); ++i) {
      if (std::string e = CheckNode(i); !e.empty()) return NodeError(i, e);
    }
    for (std::size_t r = 0; r < p_.rules.size(); ++r) {
      if (std::string e = CheckRule(p_.rules[r]); !e.empty()) return "rule " + std::to_string(r) + ": " + e;
    }
    return {};
  }

 private:
  std::string CheckPools() {
    for (std::size_t i = 0; i < p_.maps.size(); ++i) {
      const auto& map = p_.maps[i];
      for (std::size_t k = 1; k < map.size(); ++k) {
        if (!(map[k - 1].first < map[k].first)) {
          return "map " + std::to_string(i) + ": keys are not sorted and unique";
        }
      }
    }
    for (std::size_t i = 0; i < p_.patterns.size(); ++i) {
      if (!pattern::Dfa::Deserialize(p_.patterns[i].dfa)) {
        return "pattern " + std::to_string(i) + ": automaton bytes are invalid";
      }
    }
    return {};
  }

  std::string CheckContext() const { return CheckContextFields(p_.context); }

 public:
  static std::string CheckContextFields(const std::vector<ContextField>& context) {
    for (std::size_t i = 0; i < context.size(); ++i) {
      const ContextField& field = context[i];
      std::string where = "context field " + std::to_string(i) + ": ";
      if (field.name.empty()) return where + "empty name";
      for (std::size_t j = 0; j < i; ++j) {
        if (context[j].name == field.name) return where + "duplicate name `" + field.name + "`";
      }
      Kind want;
      switch (field.spelling) {
        case ContextField::Spelling::kBool:
          want = Kind::kBool;
          break;
        case ContextField::Spelling::kInt:
        case ContextField::Spelling::kDuration:
        case ContextField::Spelling::kSize:
          want = Kind::kInt;
          break;
        case ContextField::Spelling::kString:
        case ContextField::Spelling::kPath:
        case ContextField::Spelling::kDigest:
          want = Kind::kStr;
          break;
        default:
          return where + "unknown spelling";
      }
      if (field.kind != want) return where + "kind does not match its spelling";
    }
    return {};
  }

 private:
  // Checks that operand `index` of node `user` exists and precedes it.
  std::string Operand(std::size_t user, std::uint32_t index, const char* which) const {
    if (index == kNoNode || index >= user || index >= p_.nodes.size()) [[unlikely]] {
      return OperandError(index, which);
    }
    return {};
  }
  [[gnu::cold, gnu::noinline]] static std::string OperandError(std::uint32_t index, const char* which) {
    return std::string("operand ") + which + " (" + (index == kNoNode ? "none" : std::to_string(index)) +
           ") must be a node before this one";
  }

  const Node& At(std::uint32_t index) const { return p_.nodes[index]; }

  static bool IsPlainBool(const Node& n) { return n.kind == Kind::kBool && !n.optional; }

  std::string CheckNode(std::size_t i) {
    const Node& n = p_.nodes[i];
    if (!ValidOp(n.op)) return "unknown op " + std::to_string(static_cast<int>(n.op));
    if (!ValidKind(n.kind)) return "unknown kind " + std::to_string(static_cast<int>(n.kind));

    // Which of a, b, c are node operands, and whether imm is used.
    int node_operands = 0;      // a, then b, then c
    bool uses_a_other = false;  // a is a pool index / slot / field number
    bool uses_imm = false;
    bool nary = false;
    switch (n.op) {
      case Op::kConstBool:
      case Op::kConstInt:
        uses_imm = true;
        break;
      case Op::kConstStr:
      case Op::kConstList:
      case Op::kConstMap:
      case Op::kLocal:
        uses_a_other = true;
        break;
      case Op::kNone:
        break;
      case Op::kField:
        uses_imm = true;
        uses_a_other = static_cast<Field>(n.imm) == Field::kContext;
        break;
      case Op::kAnd:
      case Op::kOr:
        nary = true;
        break;
      case Op::kNot:
      case Op::kIsNone:
      case Op::kLower:
      case Op::kUpper:
      case Op::kLen:
      case Op::kPathName:
      case Op::kPathParent:
      case Op::kPathExt:
      case Op::kToPath:
      case Op::kNeg:
        node_operands = 1;
        break;
      case Op::kMatches:
        node_operands = 1;
        uses_imm = true;
        break;
      case Op::kIf:
        node_operands = 3;
        break;
      case Op::kAny:
      case Op::kAll:
      case Op::kArgParses:
      case Op::kArgSubcommand:
        node_operands = 2;
        uses_imm = true;
        break;
      case Op::kArgField:  // c is a field number
        node_operands = 2;
        uses_imm = true;
        break;
      default:
        node_operands = 2;
        break;
    }
    if (nary) {
      if (n.a == kNoNode && n.b != 0) return "n-ary operand range without a start";
      if (n.b != 0 && static_cast<std::uint64_t>(n.a) + n.b > p_.operands.size()) {
        return "n-ary operand range out of bounds";
      }
      if (n.c != kNoNode) return "unused operand c is set";
    } else {
      if (node_operands < 1 && !uses_a_other && n.a != kNoNode) return "unused operand a is set";
      if (node_operands < 2 && n.b != kNoNode) return "unused operand b is set";
      if (node_operands < 3 && n.c != kNoNode && n.op != Op::kArgField) return "unused operand c is set";
    }
    if (!uses_imm && n.imm != 0) return "unused imm is set";
    const std::uint32_t ops[3] = {n.a, n.b, n.c};
    static const char* const kNames[3] = {"a", "b", "c"};
    for (int k = 0; k < node_operands; ++k) {
      if (std::string e = Operand(i, ops[k], kNames[k]); !e.empty()) return e;
    }
    FreeSlots free;
    for (int k = 0; k < node_operands; ++k) {
      if (!(n.op == Op::kAny || n.op == Op::kAll) || k == 0) {
        if (!MergeFree(free, free_[ops[k]])) return "a quantifier slot is read with two kinds";
      }
    }
    if (nary) {
      for (std::uint32_t k = 0; k < n.b; ++k) {
        std::uint32_t operand = p_.operands[n.a + k];
        if (std::string e = Operand(i, operand, "of the list"); !e.empty()) return e;
        if (!IsPlainBool(At(operand))) return "operands of and/or must be plain bool";
        if (!MergeFree(free, free_[operand])) return "a quantifier slot is read with two kinds";
      }
    }

    std::string e = CheckSignature(n, free);
    if (!e.empty()) return e;
    free_[i] = std::move(free);
    return {};
  }

  // Checks kinds and optionality against the op's signature (docs/ir.md).
  std::string CheckSignature(const Node& n, FreeSlots& free) const {
    auto result = [&](Kind kind, bool optional) -> std::string {
      if (n.kind != kind) return "result kind does not match the op";
      if (n.optional != optional) return optional ? "result must be optional" : "result must not be optional";
      return {};
    };
    switch (n.op) {
      case Op::kConstBool:
        if (n.imm != 0 && n.imm != 1) return "bool constant must be 0 or 1";
        return result(Kind::kBool, false);
      case Op::kConstInt:
        return result(Kind::kInt, false);
      case Op::kConstStr:
        if (n.a >= p_.strings.size()) return "string pool index out of range";
        return result(Kind::kStr, false);
      case Op::kConstList:
        if (n.kind == Kind::kStrList) {
          if (n.a >= p_.str_lists.size()) return "string list pool index out of range";
        } else if (n.kind == Kind::kIntList) {
          if (n.a >= p_.int_lists.size()) return "int list pool index out of range";
        } else {
          return "list constant must be a list";
        }
        return result(n.kind, false);
      case Op::kConstMap:
        if (n.a >= p_.maps.size()) return "map pool index out of range";
        return result(Kind::kStrMap, false);
      case Op::kNone:
        return result(n.kind, true);
      case Op::kField: {
        if (n.imm < 0 || n.imm >= kFieldCount) return "unknown field " + std::to_string(n.imm);
        Field field = static_cast<Field>(n.imm);
        if (field == Field::kContext) {
          if (n.a >= p_.context.size()) return "context field number out of range";
          const ContextField& declared = p_.context[n.a];
          return result(declared.kind, declared.optional);
        }
        FieldType type = TypeOfField(field);
        return result(type.kind, type.optional);
      }
      case Op::kLocal:
        if (n.a >= p_.local_slots) return "slot out of range";
        if (n.kind != Kind::kStr && n.kind != Kind::kInt) return "a slot holds a string or an int";
        if (n.optional) return "result must not be optional";
        free = {{n.a, n.kind}};
        return {};
      case Op::kAnd:
      case Op::kOr:
        return result(Kind::kBool, false);
      case Op::kNot:
        if (!IsPlainBool(At(n.a))) return "operand must be plain bool";
        return result(Kind::kBool, false);
      case Op::kIf: {
        if (!IsPlainBool(At(n.a))) return "condition must be plain bool";
        const Node& b = At(n.b);
        const Node& c = At(n.c);
        if (b.kind != n.kind || c.kind != n.kind) return "branches must have the result kind";
        return result(n.kind, b.optional || c.optional);
      }
      case Op::kEq:
      case Op::kNe:
        if (At(n.a).kind != At(n.b).kind) return "compared operands must have the same kind";
        return result(Kind::kBool, false);
      case Op::kLt:
      case Op::kLe:
      case Op::kGt:
      case Op::kGe: {
        Kind k = At(n.a).kind;
        if (k != At(n.b).kind || (k != Kind::kInt && k != Kind::kStr)) return "ordering needs two ints or two strings";
        return result(Kind::kBool, false);
      }
      case Op::kIn: {
        Kind e = At(n.a).kind;
        Kind l = At(n.b).kind;
        if (!((e == Kind::kStr && l == Kind::kStrList) || (e == Kind::kInt && l == Kind::kIntList))) {
          return "`in` needs an element and a list of its kind";
        }
        return result(Kind::kBool, false);
      }
      case Op::kHasKey:
        if (At(n.a).kind != Kind::kStr || At(n.b).kind != Kind::kStrMap) return "has_key needs a string and a map";
        return result(Kind::kBool, false);
      case Op::kUnder:
      case Op::kStartsWith:
      case Op::kEndsWith:
      case Op::kContains:
        if (At(n.a).kind != Kind::kStr || At(n.b).kind != Kind::kStr) return "operands must be strings";
        return result(Kind::kBool, false);
      case Op::kMatches:
        if (n.imm < 0 || static_cast<std::uint64_t>(n.imm) >= p_.patterns.size()) return "pattern index out of range";
        if (At(n.a).kind != Kind::kStr) return "operand must be a string";
        return result(Kind::kBool, false);
      case Op::kIsNone:
        return result(Kind::kBool, false);
      case Op::kCoalesce: {
        const Node& b = At(n.b);
        if (At(n.a).kind != n.kind || b.kind != n.kind) return "operands must have the result kind";
        return result(n.kind, b.optional);
      }
      case Op::kLower:
      case Op::kUpper:
      case Op::kPathName:
      case Op::kPathParent:
      case Op::kPathExt:
      case Op::kToPath:
        if (At(n.a).kind != Kind::kStr) return "operand must be a string";
        return result(Kind::kStr, At(n.a).optional);
      case Op::kLen: {
        Kind k = At(n.a).kind;
        if (k == Kind::kBool || k == Kind::kInt) return "len needs a string, list or map";
        return result(Kind::kInt, At(n.a).optional);
      }
      case Op::kConcat:
      case Op::kPathJoin:
        if (At(n.a).kind != Kind::kStr || At(n.b).kind != Kind::kStr) return "operands must be strings";
        return result(Kind::kStr, At(n.a).optional || At(n.b).optional);
      case Op::kIndex: {
        Kind l = At(n.a).kind;
        if (At(n.b).kind != Kind::kInt) return "index must be an int";
        if (l == Kind::kStrList) return result(Kind::kStr, true);
        if (l == Kind::kIntList) return result(Kind::kInt, true);
        return "indexed operand must be a list";
      }
      case Op::kMapGet:
        if (At(n.a).kind != Kind::kStrMap || At(n.b).kind != Kind::kStr) return "map lookup needs a map and a string";
        return result(Kind::kStr, true);
      case Op::kAdd:
      case Op::kSub:
      case Op::kMul:
      case Op::kDiv:
      case Op::kMod:
        if (At(n.a).kind != Kind::kInt || At(n.b).kind != Kind::kInt) return "operands must be ints";
        return result(Kind::kInt, At(n.a).optional || At(n.b).optional);
      case Op::kNeg:
        if (At(n.a).kind != Kind::kInt) return "operand must be an int";
        return result(Kind::kInt, At(n.a).optional);
      case Op::kArgParses:
      case Op::kArgField:
      case Op::kArgSubcommand: {
        if (n.imm < 0 || static_cast<std::uint64_t>(n.imm) >= p_.commands.size()) return "command index out of range";
        if (At(n.a).kind != Kind::kStrList || At(n.b).kind != Kind::kStr) {
          return "an argument grammar reads a string list with a string cwd";
        }
        if (n.op == Op::kArgParses) return result(Kind::kBool, false);
        if (n.op == Op::kArgSubcommand) return result(Kind::kStr, true);
        const auto field = ArgFieldAt(p_.commands[static_cast<std::size_t>(n.imm)], n.c);
        if (!field) return "argument field out of range";
        return result(field->kind, true);
      }
      case Op::kAny:
      case Op::kAll: {
        if (n.imm < 0 || static_cast<std::uint64_t>(n.imm) >= p_.local_slots) return "slot out of range";
        Kind l = At(n.a).kind;
        Kind element;
        if (l == Kind::kStrList || l == Kind::kStrMap) {
          element = Kind::kStr;
        } else if (l == Kind::kIntList) {
          element = Kind::kInt;
        } else {
          return "quantified operand must be a list or a map";
        }
        if (!IsPlainBool(At(n.b))) return "body must be plain bool";
        auto slot = static_cast<std::uint32_t>(n.imm);
        FreeSlots body = free_[n.b];
        auto it = std::find_if(body.begin(), body.end(), [&](const auto& x) { return x.first == slot; });
        if (it != body.end()) {
          if (it->second != element) return "the body reads the slot with another kind";
          body.erase(it);
        }
        if (!MergeFree(free, body)) return "a quantifier slot is read with two kinds";
        return result(Kind::kBool, false);
      }
    }
    return "unknown op";
  }

  static std::string CheckPathList(const std::vector<std::string>& list, const char* what) {
    for (const std::string& path : list) {
      if (path.empty() || path[0] != '/' || paths::Normalize(path) != path) {
        return std::string(what) + " path `" + path + "` is not absolute and normalized";
      }
    }
    return {};
  }

  static bool SortedUnique(const std::vector<std::string>& list) {
    for (std::size_t k = 1; k < list.size(); ++k) {
      if (!(list[k - 1] < list[k])) return false;
    }
    return true;
  }

  std::string CheckRule(const Rule& rule) const {
    if (std::string e = CheckRuleRecord(rule); !e.empty()) return e;
    if (rule.condition >= p_.nodes.size()) return "condition is not a node";
    const Node& condition = p_.nodes[rule.condition];
    if (!IsPlainBool(condition)) return "condition must be plain bool";
    if (!free_[rule.condition].empty()) return "condition reads an unbound quantifier slot";
    return {};
  }

 public:
  // The checks of one rule that do not involve its condition.
  static std::string CheckRuleRecord(const Rule& rule) {
    if (rule.name.empty()) return "empty name";
    if (rule.verdict != Verdict::kAllow && rule.verdict != Verdict::kDeny && rule.verdict != Verdict::kAsk) {
      return "unknown verdict";
    }
    const Obligations& o = rule.obligations;
    if (rule.verdict == Verdict::kDeny && !(o == Obligations{})) return "deny rules have no obligations";
    if (o.timeout_ms < 0 || o.memory_bytes < 0 || o.processes < 0) return "negative obligation limit";
    if (o.network != Network::kUnset && o.network != Network::kNone && o.network != Network::kLoopback &&
        o.network != Network::kAny) {
      return "unknown network obligation";
    }
    if (!o.has_read && !o.read.empty()) return "read paths without has_read";
    if (!o.has_write && !o.write.empty()) return "write paths without has_write";
    if (!o.has_create && !o.create.empty()) return "create paths without has_create";
    if (!o.has_env && !o.env.empty()) return "env names without has_env";
    if (std::string e = CheckPathList(o.read, "read"); !e.empty()) return e;
    if (std::string e = CheckPathList(o.write, "write"); !e.empty()) return e;
    if (std::string e = CheckPathList(o.create, "create"); !e.empty()) return e;
    if (!SortedUnique(o.env)) return "env names are not sorted and unique";
    for (const std::string& entry : o.env) {
      if (!IsEnvEntry(entry)) return "env entry is neither a variable name nor NAME*";
    }
    if (!o.has_capabilities && !o.capabilities.empty()) return "capabilities without has_capabilities";
    if (!SortedUnique(o.capabilities)) return "capabilities are not sorted and unique";
    for (const std::string& name : o.capabilities) {
      if (!CapabilityNumber(name)) return "unknown capability `" + name + "`";
    }
    if (!SortedUnique(rule.index.paths) || !SortedUnique(rule.index.names)) {
      return "index keys are not sorted and unique";
    }
    return {};
  }

 private:
  const Policy& p_;
  std::vector<FreeSlots> free_;
};

}  // namespace

namespace {

struct Unit {
  std::int64_t size;
  const char* name;
};

}  // namespace

std::string FormatDuration(std::int64_t ms) {
  for (Unit unit : {Unit{86400000, "d"}, Unit{3600000, "h"}, Unit{60000, "m"}, Unit{1000, "s"}}) {
    if (ms % unit.size == 0) return std::to_string(ms / unit.size) + unit.name;
  }
  return std::to_string(ms) + "ms";
}

std::string FormatSize(std::int64_t bytes) {
  for (Unit unit : {Unit{1LL << 40, "TiB"}, Unit{1LL << 30, "GiB"}, Unit{1LL << 20, "MiB"}, Unit{1LL << 10, "KiB"}}) {
    if (bytes % unit.size == 0) return std::to_string(bytes / unit.size) + unit.name;
  }
  return std::to_string(bytes) + "B";
}

const char* NetworkName(Network network) {
  switch (network) {
    case Network::kNone:
      return "none";
    case Network::kLoopback:
      return "loopback";
    case Network::kAny:
      return "any";
    case Network::kUnset:
      break;
  }
  return "unset";
}

std::optional<ArgFieldRef> ArgFieldAt(const argparse::Command& command, std::uint32_t index) {
  const auto in_scope = [&](const argparse::CommandScope& scope, int subcommand) -> std::optional<ArgFieldRef> {
    if (index >= scope.fields.size()) {
      index -= static_cast<std::uint32_t>(scope.fields.size());
      return std::nullopt;
    }
    const argparse::CommandField& field = scope.fields[index];
    const bool number = field.type.type == argparse::ValueType::kInt;
    Kind kind = Kind::kBool;
    if (field.role == argparse::FieldRole::kOption) {
      kind = field.repeatable ? (number ? Kind::kIntList : Kind::kStrList) : (number ? Kind::kInt : Kind::kStr);
    } else if (field.role == argparse::FieldRole::kOperands) {
      kind = field.max_count > 1 ? (number ? Kind::kIntList : Kind::kStrList) : (number ? Kind::kInt : Kind::kStr);
    }
    return ArgFieldRef{subcommand, &field, kind, index};
  };
  if (auto found = in_scope(command.top, -1)) return found;
  for (std::size_t i = 0; i < command.subcommands.size(); ++i) {
    if (auto found = in_scope(command.subcommands[i], static_cast<int>(i))) return found;
  }
  return std::nullopt;
}

const argparse::FieldValues* ArgFieldValues(const ArgFieldRef& ref, const argparse::CommandParse& parse) {
  if (ref.subcommand >= 0 && ref.subcommand != parse.subcommand) return nullptr;
  return &(ref.subcommand < 0 ? parse.top : parse.chosen)[ref.index_in_scope];
}

std::string Validate(const Policy& policy) {
  return Validator(policy).Run();
}

std::string ValidateRuleRecord(const Rule& rule) {
  return Validator::CheckRuleRecord(rule);
}

std::string ValidateContext(const std::vector<ContextField>& context) {
  return Validator::CheckContextFields(context);
}

}  // namespace gov::ir
