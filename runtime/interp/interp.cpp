// The reference interpreter: a direct recursive evaluator over IR node
// indices, written to be obviously faithful to docs/ir.md rather than fast.
// Computed strings live in a real 64 KiB scratch arena per decision, with
// the same fill-level accounting the native code uses.
#include "runtime/interp/interp.h"

#include <algorithm>
#include <cstring>
#include <deque>
#include <memory>
#include <string_view>
#include <utility>

#include "runtime/argparse/command.h"
#include "runtime/ir/env_names.h"
#include "runtime/support/path.h"

namespace gov::interp {
namespace {

using ir::Kind;
using ir::Node;
using ir::Op;

std::string_view View(const gov_str& s) {
  return s.size == 0 ? std::string_view() : std::string_view(s.data, static_cast<std::size_t>(s.size));
}

// A list or map value: a view of request data or of a pool constant.
struct Seq {
  enum class Source : std::uint8_t { kEmpty, kRequestStrs, kPoolStrs, kPoolInts, kRequestMap, kPoolMap };
  Source source = Source::kEmpty;
  const void* data = nullptr;   // gov_str* / std::string* / int64* / gov_str* keys / pair*
  const void* data2 = nullptr;  // gov_str* values (kRequestMap)
  std::uint64_t count = 0;

  // Element i of a string list, or key i of a map.
  std::string_view StrAt(std::uint64_t i) const {
    switch (source) {
      case Source::kRequestStrs:
      case Source::kRequestMap:
        return View(static_cast<const gov_str*>(data)[i]);
      case Source::kPoolStrs:
        return static_cast<const std::string*>(data)[i];
      case Source::kPoolMap:
        return static_cast<const std::pair<std::string, std::string>*>(data)[i].first;
      default:
        return {};
    }
  }
  std::int64_t IntAt(std::uint64_t i) const { return static_cast<const std::int64_t*>(data)[i]; }
  // Value i of a map.
  std::string_view ValueAt(std::uint64_t i) const {
    if (source == Source::kRequestMap) return View(static_cast<const gov_str*>(data2)[i]);
    if (source == Source::kPoolMap) return static_cast<const std::pair<std::string, std::string>*>(data)[i].second;
    return {};
  }
};

// The value of a node: `number` for Bool (0/1) and Int, `text` for Str,
// `seq` for lists and maps; `present` false when absent.
struct Value {
  bool present = true;
  std::int64_t number = 0;
  std::string_view text;
  Seq seq;
};

Value Absent() {
  Value v;
  v.present = false;
  return v;
}
Value BoolValue(bool b) {
  Value v;
  v.number = b ? 1 : 0;
  return v;
}
Value IntValue(std::int64_t n) {
  Value v;
  v.number = n;
  return v;
}
Value TextValue(std::string_view s) {
  Value v;
  v.text = s;
  return v;
}
Value SeqValue(Seq seq) {
  Value v;
  v.seq = seq;
  return v;
}

// Equality of two present values of kind `kind`.
bool EqualPresent(Kind kind, const Value& x, const Value& y) {
  switch (kind) {
    case Kind::kBool:
    case Kind::kInt:
      return x.number == y.number;
    case Kind::kStr:
      return x.text == y.text;
    case Kind::kStrList:
      if (x.seq.count != y.seq.count) return false;
      for (std::uint64_t i = 0; i < x.seq.count; ++i) {
        if (x.seq.StrAt(i) != y.seq.StrAt(i)) return false;
      }
      return true;
    case Kind::kIntList:
      if (x.seq.count != y.seq.count) return false;
      for (std::uint64_t i = 0; i < x.seq.count; ++i) {
        if (x.seq.IntAt(i) != y.seq.IntAt(i)) return false;
      }
      return true;
    case Kind::kStrMap:
      if (x.seq.count != y.seq.count) return false;
      for (std::uint64_t i = 0; i < x.seq.count; ++i) {
        if (x.seq.StrAt(i) != y.seq.StrAt(i) || x.seq.ValueAt(i) != y.seq.ValueAt(i)) return false;
      }
      return true;
  }
  return false;
}

// Absent equals absent; absent never equals a value.
bool Equal(Kind kind, const Value& x, const Value& y) {
  if (!x.present || !y.present) return x.present == y.present;
  return EqualPresent(kind, x, y);
}

// Evaluates rule conditions of one decision.
class Evaluator {
 public:
  Evaluator(const PreparedPolicy& prepared, const gov_request& request, char* scratch)
      : prepared_(prepared),
        policy_(prepared.policy()),
        request_(request),
        scratch_(scratch),
        slots_(policy_.local_slots),
        bound_(policy_.local_slots, 0) {}

  // Evaluates the condition of `rule` with an empty scratch arena.
  std::uint32_t EvalRule(const ir::Rule& rule, bool& matched) {
    fill_ = 0;
    Value v;
    std::uint32_t error = Eval(rule.condition, v, 1);
    matched = error == GOV_OK && v.number != 0;
    return error;
  }

  // Evaluates node `index` (a boolean) with an empty scratch arena.
  std::uint32_t EvalBool(std::uint32_t index, bool& value) {
    fill_ = 0;
    Value v;
    std::uint32_t error = Eval(index, v, 1);
    value = error == GOV_OK && v.number != 0;
    return error;
  }

 private:
  // Appends `s` to the scratch arena and points `out` at the copy.
  std::uint32_t Append(std::string_view s, Value& out) {
    if (s.size() > kScratchBytes - fill_) return GOV_ERR_SCRATCH;
    if (!s.empty()) std::memcpy(scratch_ + fill_, s.data(), s.size());
    out = TextValue(std::string_view(scratch_ + fill_, s.size()));
    fill_ += s.size();
    return GOV_OK;
  }

  // The path operations allocate; kept out of Eval's frame.
  [[gnu::noinline]] std::uint32_t PathOp(Op op, std::string_view a, std::string_view b, Value& out) {
    std::string result;
    switch (op) {
      case Op::kPathJoin:
        result = paths::Join(a, b);
        break;
      case Op::kPathName:
        result = paths::BaseName(a);
        break;
      case Op::kPathParent:
        result = paths::DirName(a);
        break;
      case Op::kPathExt:
        result = paths::Extension(a);
        break;
      default:
        result = paths::Normalize(a);
        break;
    }
    return Append(result, out);
  }

  [[gnu::noinline]] std::uint32_t CaseOp(bool upper, std::string_view a, Value& out) {
    if (a.size() > kScratchBytes - fill_) return GOV_ERR_SCRATCH;
    char* dest = scratch_ + fill_;
    for (std::size_t i = 0; i < a.size(); ++i) {
      char c = a[i];
      if (upper && c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
      if (!upper && c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
      dest[i] = c;
    }
    out = TextValue(std::string_view(dest, a.size()));
    fill_ += a.size();
    return GOV_OK;
  }

  std::uint32_t Concat(std::string_view a, std::string_view b, Value& out) {
    if (a.size() > kScratchBytes - fill_ || b.size() > kScratchBytes - fill_ - a.size()) return GOV_ERR_SCRATCH;
    char* dest = scratch_ + fill_;
    if (!a.empty()) std::memcpy(dest, a.data(), a.size());
    if (!b.empty()) std::memcpy(dest + a.size(), b.data(), b.size());
    out = TextValue(std::string_view(dest, a.size() + b.size()));
    fill_ += a.size() + b.size();
    return GOV_OK;
  }

  static std::uint32_t Arith(Op op, std::int64_t a, std::int64_t b, Value& out) {
    std::int64_t r = 0;
    switch (op) {
      case Op::kAdd:
        if (__builtin_add_overflow(a, b, &r)) return GOV_ERR_OVERFLOW;
        break;
      case Op::kSub:
        if (__builtin_sub_overflow(a, b, &r)) return GOV_ERR_OVERFLOW;
        break;
      case Op::kMul:
        if (__builtin_mul_overflow(a, b, &r)) return GOV_ERR_OVERFLOW;
        break;
      case Op::kDiv:
      case Op::kMod:
        if (b == 0) return GOV_ERR_DIVISION;
        if (a == INT64_MIN && b == -1) return GOV_ERR_OVERFLOW;
        r = op == Op::kDiv ? a / b : a % b;
        break;
      default:
        return GOV_ERR_INTERNAL;
    }
    out = IntValue(r);
    return GOV_OK;
  }

  [[gnu::noinline]] Value FieldValue(const Node& n) const {
    const gov_request& q = request_;
    switch (static_cast<ir::Field>(n.imm)) {
      case ir::Field::kProgramPath:
        return TextValue(View(q.program_path));
      case ir::Field::kProgramName:
        return TextValue(View(q.program_name));
      case ir::Field::kProgramSha256:
        return TextValue(View(q.program_sha256));
      case ir::Field::kInvokedPath:
        return TextValue(View(q.invoked_path));
      case ir::Field::kInvokedName:
        return TextValue(View(q.invoked_name));
      case ir::Field::kProgramWrittenInSession:
        return BoolValue(q.program_written_in_session != 0);
      case ir::Field::kArgs:
        return SeqValue({Seq::Source::kRequestStrs, q.args.items, nullptr, q.args.count});
      case ir::Field::kArgv0:
        return TextValue(View(q.argv0));
      case ir::Field::kEnv:
        return SeqValue({Seq::Source::kRequestMap, q.env.keys, q.env.values, q.env.count});
      case ir::Field::kCwd:
        return TextValue(View(q.cwd));
      case ir::Field::kUserName:
        return TextValue(View(q.user_name));
      case ir::Field::kUserUid:
        return IntValue(q.user_uid);
      case ir::Field::kUserGid:
        return IntValue(q.user_gid);
      case ir::Field::kUserGroups:
        return SeqValue({Seq::Source::kRequestStrs, q.user_groups.items, nullptr, q.user_groups.count});
      case ir::Field::kHostName:
        return TextValue(View(q.host_name));
      case ir::Field::kTimeUnix:
        return IntValue(q.time_unix);
      case ir::Field::kTimeHour:
        return IntValue(q.time_hour);
      case ir::Field::kTimeMinute:
        return IntValue(q.time_minute);
      case ir::Field::kTimeWeekday:
        return TextValue(View(q.time_weekday));
      case ir::Field::kTimeDate:
        return TextValue(View(q.time_date));
      case ir::Field::kParentRunId:
        return q.has_parent ? TextValue(View(q.parent_run_id)) : Absent();
      case ir::Field::kParentDepth:
        return q.has_parent ? IntValue(q.parent_depth) : Absent();
      case ir::Field::kParentProgram:
        return q.has_parent ? TextValue(View(q.parent_program)) : Absent();
      case ir::Field::kContext: {
        const gov_context_value& c = q.context[n.a];
        if (!c.present) return Absent();
        if (n.kind == Kind::kBool) return BoolValue(c.number != 0);
        if (n.kind == Kind::kInt) return IntValue(c.number);
        return TextValue(View(c.text));
      }
    }
    return Absent();
  }

  // Per-depth operand storage for the recursive functions, which keep no
  // Value on the machine stack (deep policies must fit the stack even in
  // sanitizer builds). Only one frame per depth is active at a time, so
  // depth-indexed slots never clash; deque growth keeps references valid.
  [[gnu::noinline]] Value& Temp(int depth, int k) {
    auto index = static_cast<std::size_t>(depth) * 2 + static_cast<std::size_t>(k);
    while (temps_.size() <= index) temps_.emplace_back();
    return temps_[index];
  }

  static void SetBool(Value& v, bool b) {
    v.present = true;
    v.number = b ? 1 : 0;
  }

  [[gnu::noinline]] static void BindElement(Value& slot, const Seq& seq, std::uint64_t i, bool is_int) {
    slot = is_int ? IntValue(seq.IntAt(i)) : TextValue(seq.StrAt(i));
  }

  // Evaluates n-ary and/or: `stop` is the operand value that decides.
  std::uint32_t EvalLogic(const Node& n, bool stop, Value& out, int depth) {
    std::uint32_t first_error = GOV_OK;
    for (std::uint32_t k = 0; k < n.b; ++k) {
      std::uint32_t error = Eval(policy_.operands[n.a + k], out, depth + 1);
      if (error != GOV_OK) {
        if (first_error == GOV_OK) first_error = error;
        continue;
      }
      if ((out.number != 0) == stop) {
        SetBool(out, stop);
        return GOV_OK;
      }
    }
    if (first_error != GOV_OK) return first_error;
    SetBool(out, !stop);
    return GOV_OK;
  }

  // Evaluates any (stop = true) / all (stop = false) over list or map a.
  std::uint32_t EvalQuantifier(const Node& n, bool stop, Value& out, int depth) {
    Value& list = Temp(depth, 0);
    if (std::uint32_t error = Eval(n.a, list, depth + 1); error != GOV_OK) return error;
    if (!list.present) {
      SetBool(out, false);
      return GOV_OK;
    }
    auto slot = static_cast<std::size_t>(n.imm);
    Value& saved_value = Temp(depth, 1);
    saved_value = slots_[slot];
    char saved_bound = bound_[slot];
    bool element_is_int = policy_.nodes[n.a].kind == Kind::kIntList;
    std::uint32_t first_error = GOV_OK;
    bool decided = false;
    for (std::uint64_t i = 0; i < list.seq.count && !decided; ++i) {
      BindElement(slots_[slot], list.seq, i, element_is_int);
      bound_[slot] = 1;
      std::size_t fill = fill_;
      std::uint32_t error = Eval(n.b, out, depth + 1);
      fill_ = fill;
      if (error != GOV_OK) {
        if (first_error == GOV_OK) first_error = error;
      } else if ((out.number != 0) == stop) {
        decided = true;
      }
    }
    slots_[slot] = saved_value;
    bound_[slot] = saved_bound;
    if (decided) {
      SetBool(out, stop);
      return GOV_OK;
    }
    if (first_error != GOV_OK) return first_error;
    SetBool(out, !stop);
    return GOV_OK;
  }

  // Evaluates a leaf (constant, field or slot).
  [[gnu::noinline]] std::uint32_t EvalLeaf(const Node& n, Value& out) {
    switch (n.op) {
      case Op::kConstBool:
        out = BoolValue(n.imm != 0);
        return GOV_OK;
      case Op::kConstInt:
        out = IntValue(n.imm);
        return GOV_OK;
      case Op::kConstStr:
        out = TextValue(policy_.strings[n.a]);
        return GOV_OK;
      case Op::kConstList:
        if (n.kind == Kind::kIntList) {
          const auto& list = policy_.int_lists[n.a];
          out = SeqValue({Seq::Source::kPoolInts, list.data(), nullptr, list.size()});
        } else {
          const auto& list = policy_.str_lists[n.a];
          out = SeqValue({Seq::Source::kPoolStrs, list.data(), nullptr, list.size()});
        }
        return GOV_OK;
      case Op::kConstMap: {
        const auto& map = policy_.maps[n.a];
        out = SeqValue({Seq::Source::kPoolMap, map.data(), nullptr, map.size()});
        return GOV_OK;
      }
      case Op::kNone:
        out = Absent();
        return GOV_OK;
      case Op::kField:
        out = FieldValue(n);
        return GOV_OK;
      case Op::kLocal:
        if (!bound_[n.a]) return GOV_ERR_INTERNAL;
        out = slots_[n.a];
        return GOV_OK;
      default:
        return GOV_ERR_INTERNAL;
    }
  }

  // Evaluates node `index` into `out`; returns GOV_OK or the error. The
  // recursive frame is kept small (the operand values and nothing else) so
  // kMaxEvalDepth levels fit in an ordinary thread stack even in sanitizer
  // builds; the per-op work happens in Apply, which does not recurse.
  std::uint32_t Eval(std::uint32_t index, Value& out, int depth) {
    if (depth > kMaxEvalDepth) return GOV_ERR_INTERNAL;
    const Node& n = policy_.nodes[index];
    switch (n.op) {
      case Op::kConstBool:
      case Op::kConstInt:
      case Op::kConstStr:
      case Op::kConstList:
      case Op::kConstMap:
      case Op::kNone:
      case Op::kField:
      case Op::kLocal:
        return EvalLeaf(n, out);
      case Op::kAnd:
        return EvalLogic(n, false, out, depth);
      case Op::kOr:
        return EvalLogic(n, true, out, depth);
      case Op::kIf: {
        std::uint32_t error = Eval(n.a, out, depth + 1);
        if (error != GOV_OK) return error;
        return Eval(out.number != 0 ? n.b : n.c, out, depth + 1);
      }
      case Op::kAny:
        return EvalQuantifier(n, true, out, depth);
      case Op::kAll:
        return EvalQuantifier(n, false, out, depth);
      default:
        break;
    }
    // Every other op: operands a, then b (when the op has one), in order;
    // the first error propagates.
    // Operand a is held in `out` until Apply overwrites it.
    Value& b = Temp(depth, 0);
    std::uint32_t error = Eval(n.a, out, depth + 1);
    if (error != GOV_OK) return error;
    if (n.b != ir::kNoNode) {
      error = Eval(n.b, b, depth + 1);
      if (error != GOV_OK) return error;
    }
    return Apply(n, out, b, out);
  }

  // Computes op `n` from its evaluated operands `x` (a) and `y` (b).
  // `x` is a copy because it may be `out`.
  [[gnu::noinline]] std::uint32_t Apply(const Node& n, Value x, const Value& y, Value& out) {
    switch (n.op) {
      case Op::kNot:
        out = BoolValue(x.number == 0);
        return GOV_OK;

      case Op::kEq:
      case Op::kNe: {
        bool equal = Equal(policy_.nodes[n.a].kind, x, y);
        out = BoolValue(n.op == Op::kEq ? equal : !equal);
        return GOV_OK;
      }
      case Op::kLt:
      case Op::kLe:
      case Op::kGt:
      case Op::kGe: {
        if (!x.present || !y.present) {
          out = BoolValue(false);
          return GOV_OK;
        }
        int c = 0;
        if (policy_.nodes[n.a].kind == Kind::kInt) {
          c = x.number < y.number ? -1 : x.number > y.number ? 1 : 0;
        } else {
          c = x.text.compare(y.text);
        }
        bool r = n.op == Op::kLt ? c < 0 : n.op == Op::kLe ? c <= 0 : n.op == Op::kGt ? c > 0 : c >= 0;
        out = BoolValue(r);
        return GOV_OK;
      }

      case Op::kIn: {
        bool found = false;
        if (x.present && y.present) {
          bool ints = policy_.nodes[n.a].kind == Kind::kInt;
          for (std::uint64_t i = 0; i < y.seq.count && !found; ++i) {
            found = ints ? y.seq.IntAt(i) == x.number : y.seq.StrAt(i) == x.text;
          }
        }
        out = BoolValue(found);
        return GOV_OK;
      }
      case Op::kHasKey: {
        bool found = false;
        if (x.present && y.present) {
          for (std::uint64_t i = 0; i < y.seq.count && !found; ++i) found = y.seq.StrAt(i) == x.text;
        }
        out = BoolValue(found);
        return GOV_OK;
      }
      case Op::kUnder:
      case Op::kStartsWith:
      case Op::kEndsWith:
      case Op::kContains: {
        bool r = false;
        if (x.present && y.present) {
          switch (n.op) {
            case Op::kUnder:
              r = paths::Under(x.text, y.text);
              break;
            case Op::kStartsWith:
              r = x.text.starts_with(y.text);
              break;
            case Op::kEndsWith:
              r = x.text.ends_with(y.text);
              break;
            default:
              r = x.text.find(y.text) != std::string_view::npos;
              break;
          }
        }
        out = BoolValue(r);
        return GOV_OK;
      }
      case Op::kMatches:
        out = BoolValue(x.present && prepared_.dfa(static_cast<std::size_t>(n.imm)).Matches(x.text));
        return GOV_OK;
      case Op::kIsNone:
        out = BoolValue(!x.present);
        return GOV_OK;

      case Op::kCoalesce:
        out = x.present ? x : y;
        return GOV_OK;
      case Op::kLower:
      case Op::kUpper:
        if (!x.present) {
          out = Absent();
          return GOV_OK;
        }
        return CaseOp(n.op == Op::kUpper, x.text, out);
      case Op::kLen:
        if (!x.present) {
          out = Absent();
        } else if (policy_.nodes[n.a].kind == Kind::kStr) {
          out = IntValue(static_cast<std::int64_t>(x.text.size()));
        } else {
          out = IntValue(static_cast<std::int64_t>(x.seq.count));
        }
        return GOV_OK;
      case Op::kConcat:
        if (!x.present || !y.present) {
          out = Absent();
          return GOV_OK;
        }
        return Concat(x.text, y.text, out);
      case Op::kPathJoin:
        if (!x.present || !y.present) {
          out = Absent();
          return GOV_OK;
        }
        return PathOp(n.op, x.text, y.text, out);
      case Op::kPathName:
      case Op::kPathParent:
      case Op::kPathExt:
      case Op::kToPath:
        if (!x.present) {
          out = Absent();
          return GOV_OK;
        }
        return PathOp(n.op, x.text, {}, out);
      case Op::kIndex:
        if (!x.present || !y.present || y.number < 0 || static_cast<std::uint64_t>(y.number) >= x.seq.count) {
          out = Absent();
        } else if (n.kind == Kind::kInt) {
          out = IntValue(x.seq.IntAt(static_cast<std::uint64_t>(y.number)));
        } else {
          out = TextValue(x.seq.StrAt(static_cast<std::uint64_t>(y.number)));
        }
        return GOV_OK;
      case Op::kMapGet:
        out = Absent();
        if (x.present && y.present) {
          for (std::uint64_t i = 0; i < x.seq.count; ++i) {
            if (x.seq.StrAt(i) == y.text) {
              out = TextValue(x.seq.ValueAt(i));
              break;
            }
          }
        }
        return GOV_OK;

      case Op::kAdd:
      case Op::kSub:
      case Op::kMul:
      case Op::kDiv:
      case Op::kMod:
        if (!x.present || !y.present) {
          out = Absent();
          return GOV_OK;
        }
        return Arith(n.op, x.number, y.number, out);
      case Op::kNeg:
        if (!x.present) {
          out = Absent();
          return GOV_OK;
        }
        if (x.number == INT64_MIN) return GOV_ERR_OVERFLOW;
        out = IntValue(-x.number);
        return GOV_OK;

      case Op::kArgParses:
      case Op::kArgField:
      case Op::kArgSubcommand:
        return ArgOp(n, x, y, out);

      default:
        return GOV_ERR_INTERNAL;  // handled in Eval
    }
  }

  // Reserves `size` bytes of scratch at an 8-byte aligned fill level.
  char* Reserve(std::size_t size) {
    const std::size_t aligned = (fill_ + 7) & ~std::size_t{7};
    if (aligned > kScratchBytes || size > kScratchBytes - aligned) return nullptr;
    fill_ = aligned + size;
    return scratch_ + aligned;
  }

  // kArgParses, kArgField, kArgSubcommand over list `x` and cwd `y`
  // (docs/ir.md "Argument grammars"): the strings and lists a field yields
  // are copied into scratch.
  [[gnu::noinline]] std::uint32_t ArgOp(const Node& n, const Value& x, const Value& y, Value& out) {
    const argparse::PreparedCommand& prepared = prepared_.command(static_cast<std::size_t>(n.imm));
    const argparse::Command& command = prepared.command();
    out = n.op == Op::kArgParses ? BoolValue(false) : Absent();
    if (!x.present || !y.present) return GOV_OK;
    std::vector<std::string_view> arguments;
    arguments.reserve(x.seq.count);
    for (std::uint64_t i = 0; i < x.seq.count; ++i) arguments.push_back(x.seq.StrAt(i));
    const argparse::CommandResult& result = memo_.Parse(prepared, arguments, y.text);
    if (n.op == Op::kArgParses) {
      out = BoolValue(result.parse.has_value());
      return GOV_OK;
    }
    if (!result.parse) return GOV_OK;
    const argparse::CommandParse& parse = *result.parse;
    if (n.op == Op::kArgSubcommand) {
      if (parse.subcommand >= 0)
        return Append(command.subcommands[static_cast<std::size_t>(parse.subcommand)].name, out);
      return GOV_OK;
    }
    const std::optional<ir::ArgFieldRef> ref = ir::ArgFieldAt(command, n.c);
    if (!ref) return GOV_ERR_INTERNAL;
    const argparse::FieldValues* found = ir::ArgFieldValues(*ref, parse);
    if (found == nullptr) return GOV_OK;
    const argparse::FieldValues& values = *found;
    switch (ref->kind) {
      case Kind::kBool:
        out = BoolValue(values.present);
        return GOV_OK;
      case Kind::kInt:
        if (!values.numbers.empty()) out = IntValue(values.numbers.back());
        return GOV_OK;
      case Kind::kStr:
        if (!values.texts.empty()) return Append(values.texts.back(), out);
        return GOV_OK;
      case Kind::kIntList: {
        char* at = Reserve(values.numbers.size() * sizeof(std::int64_t));
        if (at == nullptr) return GOV_ERR_SCRATCH;
        if (!values.numbers.empty())
          std::memcpy(at, values.numbers.data(), values.numbers.size() * sizeof(std::int64_t));
        out = SeqValue({Seq::Source::kPoolInts, at, nullptr, values.numbers.size()});
        return GOV_OK;
      }
      case Kind::kStrList: {
        // A list that does not fit takes nothing (docs/ir.md "Scratch memory"), as in native code.
        const std::size_t fill_before = fill_;
        auto* items = reinterpret_cast<gov_str*>(Reserve(values.texts.size() * sizeof(gov_str)));
        if (items == nullptr) return GOV_ERR_SCRATCH;
        for (std::size_t i = 0; i < values.texts.size(); ++i) {
          Value copy;
          if (std::uint32_t error = Append(values.texts[i], copy); error != GOV_OK) {
            fill_ = fill_before;
            return error;
          }
          items[i] = gov_str{copy.text.data(), copy.text.size()};
        }
        out = SeqValue({Seq::Source::kRequestStrs, items, nullptr, values.texts.size()});
        return GOV_OK;
      }
      default:
        return GOV_ERR_INTERNAL;
    }
  }

  const PreparedPolicy& prepared_;
  const ir::Policy& policy_;
  const gov_request& request_;
  char* scratch_;
  std::size_t fill_ = 0;
  std::vector<Value> slots_;
  std::vector<char> bound_;
  std::deque<Value> temps_;
  argparse::ParseMemo memo_;  // the parses of this decision's argument lists
};

// Sets every field of `decision` to a default deny without rules, except
// rules[] itself: rules[rule_count..] are unspecified (docs/abi.md), so the
// 1 KiB of rule ids is not zeroed on every decision.
void ClearDecision(gov_decision& decision) {
  decision.verdict = GOV_DENY;
  decision.error = GOV_OK;
  decision.error_rule = GOV_NO_RULE;
  decision.rule_count = 0;
  decision.timeout_ms = 0;
  decision.memory_bytes = 0;
  decision.processes = 0;
  decision.network = GOV_NET_UNSET;
  decision.deciding_count = 0;
}

// Ends a decision as deny with `error` attributed to `rule`.
std::uint32_t DenyWithError(gov_decision& decision, std::uint32_t error, std::uint32_t rule) {
  ClearDecision(decision);
  decision.error = error;
  decision.error_rule = rule;
  if (rule != GOV_NO_RULE) {
    decision.rule_count = 1;
    decision.deciding_count = 1;
    decision.rules[0] = rule;
  }
  return GOV_DENY;
}

bool RequestIsValid(const ir::Policy& policy, const gov_request& request) {
  if (request.abi_version != GOV_ABI_VERSION) return false;
  if (request.context_count != policy.context.size()) return false;
  if (request.context_count > 0 && request.context == nullptr) return false;
  for (std::size_t i = 0; i < policy.context.size(); ++i) {
    if (!policy.context[i].optional && !request.context[i].present) return false;
  }
  return true;
}

// Reduces a prefix set: normalized, sorted, unique, no entry under another.
std::vector<std::string> ReducePrefixSet(std::vector<std::string> list) {
  for (std::string& path : list) path = paths::Normalize(path);
  std::sort(list.begin(), list.end());
  list.erase(std::unique(list.begin(), list.end()), list.end());
  std::vector<std::string> result;
  for (std::size_t i = 0; i < list.size(); ++i) {
    bool covered = false;
    for (std::size_t j = 0; j < list.size() && !covered; ++j) {
      covered = j != i && paths::Under(list[i], list[j]);
    }
    if (!covered) result.push_back(list[i]);
  }
  return result;
}

std::vector<std::string> IntersectNames(const std::vector<std::string>& a, const std::vector<std::string>& b) {
  std::vector<std::string> x = a;
  std::vector<std::string> y = b;
  std::sort(x.begin(), x.end());
  x.erase(std::unique(x.begin(), x.end()), x.end());
  std::sort(y.begin(), y.end());
  y.erase(std::unique(y.begin(), y.end()), y.end());
  std::vector<std::string> result;
  std::set_intersection(x.begin(), x.end(), y.begin(), y.end(), std::back_inserter(result));
  return result;
}

}  // namespace

ErrorOr<PreparedPolicy> PreparedPolicy::Create(ir::Policy policy) {
  if (std::string problem = ir::Validate(policy); !problem.empty()) {
    return Error{"invalid policy IR: " + problem};
  }
  PreparedPolicy prepared;
  for (std::size_t i = 0; i < policy.patterns.size(); ++i) {
    std::optional<pattern::Dfa> dfa = pattern::Dfa::Deserialize(policy.patterns[i].dfa);
    if (!dfa) return Error{"invalid policy IR: pattern " + std::to_string(i) + " has invalid automaton bytes"};
    prepared.dfas_.push_back(std::move(*dfa));
  }
  for (std::size_t r = 0; r < policy.rules.size(); ++r) {
    auto id = static_cast<std::uint32_t>(r);
    const ir::RuleIndex& index = policy.rules[r].index;
    if (index.Unindexed()) {
      prepared.unindexed_.push_back(id);
      continue;
    }
    for (const std::string& path : index.paths) {
      auto& ids = prepared.by_path_[path];
      if (ids.empty() || ids.back() != id) ids.push_back(id);
    }
    for (const std::string& name : index.names) {
      auto& ids = prepared.by_name_[name];
      if (ids.empty() || ids.back() != id) ids.push_back(id);
    }
  }
  prepared.commands_.reserve(policy.commands.size());
  for (const argparse::Command& command : policy.commands) prepared.commands_.emplace_back(command);
  prepared.policy_ = std::move(policy);
  return prepared;
}

const std::vector<std::uint32_t>* PreparedPolicy::RulesForPath(std::string_view path) const {
  auto it = by_path_.find(std::string(path));
  return it == by_path_.end() ? nullptr : &it->second;
}

const std::vector<std::uint32_t>* PreparedPolicy::RulesForName(std::string_view name) const {
  auto it = by_name_.find(std::string(name));
  return it == by_name_.end() ? nullptr : &it->second;
}

std::uint32_t Decide(const PreparedPolicy& prepared, const gov_request& request, gov_decision& decision,
                     const DecideOptions& options) {
  const ir::Policy& policy = prepared.policy();
  if (!RequestIsValid(policy, request)) return DenyWithError(decision, GOV_ERR_BAD_REQUEST, GOV_NO_RULE);

  // The rules that can match, ascending.
  std::vector<std::uint32_t> candidates;
  if (options.use_index) {
    candidates = prepared.unindexed_rules();
    if (const auto* ids = prepared.RulesForPath(View(request.program_path))) {
      candidates.insert(candidates.end(), ids->begin(), ids->end());
    }
    if (const auto* ids = prepared.RulesForName(View(request.program_name))) {
      candidates.insert(candidates.end(), ids->begin(), ids->end());
    }
    std::sort(candidates.begin(), candidates.end());
    candidates.erase(std::unique(candidates.begin(), candidates.end()), candidates.end());
  } else {
    candidates.resize(policy.rules.size());
    for (std::size_t r = 0; r < candidates.size(); ++r) candidates[r] = static_cast<std::uint32_t>(r);
  }

  // Uninitialized: the arena is written before it is read (make_unique would zero 64 KiB).
  std::unique_ptr<char[]> scratch(new char[kScratchBytes]);
  Evaluator evaluator(prepared, request, scratch.get());
  std::vector<std::uint32_t> matched[3];  // by ir::Verdict
  for (std::uint32_t id : candidates) {
    const ir::Rule& rule = policy.rules[id];
    bool match = false;
    std::uint32_t error = evaluator.EvalRule(rule, match);
    // Candidates ascend, so the first erring rule is the lowest.
    if (error != GOV_OK) return DenyWithError(decision, error, id);
    if (match) matched[static_cast<int>(rule.verdict)].push_back(id);
  }

  ClearDecision(decision);
  ir::Verdict verdict = ir::Verdict::kDeny;
  const std::vector<std::uint32_t>* deciding = &matched[static_cast<int>(ir::Verdict::kDeny)];
  if (deciding->empty()) {
    if (!matched[static_cast<int>(ir::Verdict::kAsk)].empty()) {
      verdict = ir::Verdict::kAsk;
    } else if (!matched[static_cast<int>(ir::Verdict::kAllow)].empty()) {
      verdict = ir::Verdict::kAllow;
    }
    deciding = &matched[static_cast<int>(verdict)];
  }
  // An ask also names the matching allow rules: if it is approved, their
  // obligations apply together with the ask rules' own.
  static const std::vector<std::uint32_t> kNone;
  const std::vector<std::uint32_t>& also =
      verdict == ir::Verdict::kAsk ? matched[static_cast<int>(ir::Verdict::kAllow)] : kNone;
  if (deciding->size() + also.size() > GOV_MAX_DECIDING_RULES) {
    return DenyWithError(decision, GOV_ERR_TOO_MANY_RULES, GOV_NO_RULE);
  }
  decision.verdict = static_cast<std::uint32_t>(verdict);
  decision.deciding_count = static_cast<std::uint32_t>(deciding->size());
  decision.rule_count = static_cast<std::uint32_t>(deciding->size() + also.size());
  std::copy(also.begin(), also.end(), std::copy(deciding->begin(), deciding->end(), decision.rules));
  if (verdict != ir::Verdict::kDeny) {
    for (std::uint32_t k = 0; k < decision.rule_count; ++k) {
      const ir::Obligations& o = policy.rules[decision.rules[k]].obligations;
      auto min_set = [](std::int64_t& into, std::int64_t value) {
        if (value != 0 && (into == 0 || value < into)) into = value;
      };
      min_set(decision.timeout_ms, o.timeout_ms);
      min_set(decision.memory_bytes, o.memory_bytes);
      min_set(decision.processes, o.processes);
      auto network = static_cast<std::uint32_t>(o.network);
      if (network != GOV_NET_UNSET && (decision.network == GOV_NET_UNSET || network < decision.network)) {
        decision.network = network;
      }
    }
  }
  return decision.verdict;
}

RuleTrace TraceRule(const PreparedPolicy& prepared, const gov_request& request, std::uint32_t rule_id) {
  RuleTrace trace;
  const ir::Policy& policy = prepared.policy();
  if (rule_id >= policy.rules.size() || !RequestIsValid(policy, request)) return trace;
  const ir::Rule& rule = policy.rules[rule_id];
  trace.candidate = rule.index.Unindexed() ||
                    std::binary_search(rule.index.paths.begin(), rule.index.paths.end(), View(request.program_path)) ||
                    std::binary_search(rule.index.names.begin(), rule.index.names.end(), View(request.program_name));
  // Uninitialized: the arena is written before it is read (make_unique would zero 64 KiB).
  std::unique_ptr<char[]> scratch(new char[kScratchBytes]);
  Evaluator evaluator(prepared, request, scratch.get());
  std::vector<std::uint32_t> conjuncts;
  const ir::Node& root = policy.nodes[rule.condition];
  if (root.op == Op::kAnd) {
    for (std::uint32_t k = 0; k < root.b; ++k) conjuncts.push_back(policy.operands[root.a + k]);
  } else {
    conjuncts.push_back(rule.condition);
  }
  trace.conjuncts = static_cast<std::uint32_t>(conjuncts.size());
  bool all_true = true;
  for (std::uint32_t k = 0; k < conjuncts.size(); ++k) {
    bool value = false;
    std::uint32_t error = evaluator.EvalBool(conjuncts[k], value);
    if (error != GOV_OK || !value) {
      all_true = false;
      if (trace.first_failing == RuleTrace::kNone) {
        trace.first_failing = k;
        trace.error = error;
      }
      if (error == GOV_OK) {  // a false conjunct decides `and`, even over errors
        trace.first_failing = k;
        trace.error = GOV_OK;
        break;
      }
    }
  }
  trace.matched = all_true;
  return trace;
}

std::uint32_t EvaluateBool(const PreparedPolicy& prepared, const gov_request& request, std::uint32_t node,
                           bool& value) {
  value = false;
  const ir::Policy& policy = prepared.policy();
  if (node >= policy.nodes.size() || policy.nodes[node].kind != ir::Kind::kBool || !RequestIsValid(policy, request)) {
    return GOV_ERR_INTERNAL;
  }
  std::unique_ptr<char[]> scratch(new char[kScratchBytes]);
  Evaluator evaluator(prepared, request, scratch.get());
  return evaluator.EvalBool(node, value);
}

bool SameDecision(const gov_decision& a, const gov_decision& b) {
  if (a.verdict != b.verdict || a.error != b.error || a.error_rule != b.error_rule || a.rule_count != b.rule_count ||
      a.deciding_count != b.deciding_count || a.timeout_ms != b.timeout_ms || a.memory_bytes != b.memory_bytes ||
      a.processes != b.processes || a.network != b.network) {
    return false;
  }
  std::uint32_t count = std::min<std::uint32_t>(a.rule_count, GOV_MAX_DECIDING_RULES);
  return std::equal(a.rules, a.rules + count, b.rules);
}

std::vector<std::string> IntersectPrefixSets(const std::vector<std::string>& a, const std::vector<std::string>& b) {
  std::vector<std::string> result;
  for (const std::string& x : a) {
    for (const std::string& y : b) {
      if (paths::Under(x, y)) {
        result.push_back(x);
      } else if (paths::Under(y, x)) {
        result.push_back(y);
      }
    }
  }
  return ReducePrefixSet(std::move(result));
}

RuleLookup RulesOf(const ir::Policy& policy) {
  return
      [&policy](std::uint32_t id) -> const ir::Rule* { return id < policy.rules.size() ? &policy.rules[id] : nullptr; };
}

RuleLookup RuleSubset::lookup() const {
  return [this](std::uint32_t id) -> const ir::Rule* {
    for (const auto& [known, rule] : rules) {
      if (known == id) return &rule;
    }
    return nullptr;
  };
}

ir::Obligations MergeObligations(const ir::Policy& policy, const gov_decision& decision) {
  return MergeObligations(RulesOf(policy), decision);
}

namespace {

// Whether obligations confine writes (`write`, `create` or both).
bool ConfinesWrites(const ir::Obligations& o) {
  return o.has_write || o.has_create;
}

// Paths a run may create beneath: its `write` and `create` paths.
std::vector<std::string> CreatablePaths(const ir::Obligations& o) {
  std::vector<std::string> all = o.write;
  all.insert(all.end(), o.create.begin(), o.create.end());
  return ReducePrefixSet(std::move(all));
}

// Merges the write confinement of `o` into `merged`. Each rule permits all
// write rights beneath its `write` paths (none when it has only `create`)
// and creation beneath its `write` and `create` paths; a rule with neither
// permits everything. The merge intersects both sets: `write` becomes the
// intersection of the full-write sets, `create` that of the creatable sets
// without what lies beneath the new `write`.
void MergeWritesInto(ir::Obligations& merged, const ir::Obligations& o) {
  if (!ConfinesWrites(o)) return;
  std::vector<std::string> full;
  std::vector<std::string> creatable;
  if (ConfinesWrites(merged)) {
    full = IntersectPrefixSets(merged.write, o.write);
    creatable = IntersectPrefixSets(CreatablePaths(merged), CreatablePaths(o));
  } else {
    full = ReducePrefixSet(o.write);
    creatable = CreatablePaths(o);
  }
  std::erase_if(creatable, [&](const std::string& path) {
    return std::any_of(full.begin(), full.end(), [&](const std::string& top) { return paths::Under(path, top); });
  });
  merged.has_write = merged.has_write || o.has_write;
  merged.has_create = merged.has_create || o.has_create;
  merged.write = merged.has_write ? std::move(full) : std::vector<std::string>{};
  merged.create = merged.has_create ? std::move(creatable) : std::vector<std::string>{};
}

// Merges `o` into `merged` (see MergeObligations).
void MergeInto(ir::Obligations& merged, const ir::Obligations& o) {
  auto min_set = [](std::int64_t& into, std::int64_t value) {
    if (value != 0 && (into == 0 || value < into)) into = value;
  };
  min_set(merged.timeout_ms, o.timeout_ms);
  min_set(merged.memory_bytes, o.memory_bytes);
  min_set(merged.processes, o.processes);
  if (o.network != ir::Network::kUnset &&
      (merged.network == ir::Network::kUnset || static_cast<int>(o.network) < static_cast<int>(merged.network))) {
    merged.network = o.network;
  }
  if (o.has_read) {
    merged.read = merged.has_read ? IntersectPrefixSets(merged.read, o.read) : ReducePrefixSet(o.read);
    merged.has_read = true;
  }
  MergeWritesInto(merged, o);
  merged.private_tmp = merged.private_tmp || o.private_tmp;
  if (o.has_env) {
    merged.env = merged.has_env ? ir::IntersectEnvEntries(merged.env, o.env) : ir::IntersectEnvEntries(o.env, o.env);
    merged.has_env = true;
  }
  if (o.has_capabilities) {
    merged.capabilities = merged.has_capabilities ? IntersectNames(merged.capabilities, o.capabilities)
                                                  : IntersectNames(o.capabilities, o.capabilities);
    merged.has_capabilities = true;
  }
}

}  // namespace

ir::Obligations MergeObligations(const RuleLookup& rules, const gov_decision& decision) {
  ir::Obligations merged;
  // An allow runs under its deciding rules' obligations; an approved ask
  // under those of its ask rules and of every matching allow rule (all of
  // rules[0..rule_count) in both cases). A deny or an error imposes none.
  if ((decision.verdict != GOV_ALLOW && decision.verdict != GOV_ASK) || decision.error != GOV_OK) return merged;
  std::uint32_t count = std::min<std::uint32_t>(decision.rule_count, GOV_MAX_DECIDING_RULES);
  for (std::uint32_t k = 0; k < count; ++k) {
    const ir::Rule* rule = rules(decision.rules[k]);
    if (rule != nullptr) MergeInto(merged, rule->obligations);
  }
  return merged;
}

ir::Obligations CanonicalObligations(const ir::Obligations& obligations) {
  ir::Obligations canonical;
  MergeInto(canonical, obligations);
  return canonical;
}

const char* VerdictName(std::uint32_t verdict) {
  switch (verdict) {
    case GOV_ALLOW:
      return "allow";
    case GOV_DENY:
      return "deny";
    case GOV_ASK:
      return "ask";
    default:
      return "invalid";
  }
}

const char* ErrorName(std::uint32_t error) {
  switch (error) {
    case GOV_OK:
      return "ok";
    case GOV_ERR_OVERFLOW:
      return "integer overflow";
    case GOV_ERR_DIVISION:
      return "division by zero";
    case GOV_ERR_SCRATCH:
      return "scratch memory exhausted";
    case GOV_ERR_BAD_REQUEST:
      return "bad request";
    case GOV_ERR_TOO_MANY_RULES:
      return "too many deciding rules";
    case GOV_ERR_INTERNAL:
      return "internal error";
    default:
      return "unknown error";
  }
}

Explanation Explain(const ir::Policy& policy, const gov_decision& decision) {
  return Explain(RulesOf(policy), decision);
}

bool DenyUnknownRules(const RuleLookup& rules, gov_decision& decision) {
  if (decision.error != GOV_OK || (decision.verdict != GOV_ALLOW && decision.verdict != GOV_ASK)) return false;
  const std::uint32_t count = decision.rule_count;
  const std::uint32_t deciding = decision.verdict == GOV_ASK ? decision.deciding_count : count;
  bool sound = count > 0 && count <= GOV_MAX_DECIDING_RULES && deciding > 0 && deciding <= count;
  for (std::uint32_t k = 0; sound && k < count; ++k) {
    const ir::Rule* rule = rules(decision.rules[k]);
    const auto wanted = k < deciding ? static_cast<ir::Verdict>(decision.verdict) : ir::Verdict::kAllow;
    sound = rule != nullptr && rule->verdict == wanted;
  }
  if (sound) return false;
  decision.verdict = GOV_DENY;
  decision.error = GOV_ERR_INTERNAL;
  decision.error_rule = GOV_NO_RULE;
  decision.rule_count = 0;
  decision.deciding_count = 0;
  decision.timeout_ms = 0;
  decision.memory_bytes = 0;
  decision.processes = 0;
  decision.network = GOV_NET_UNSET;
  return true;
}

Explanation Explain(const RuleLookup& rules, const gov_decision& decision) {
  Explanation e;
  e.verdict = VerdictName(decision.verdict);
  if (decision.error != GOV_OK) e.error = ErrorName(decision.error);
  std::uint32_t count = std::min<std::uint32_t>(decision.rule_count, GOV_MAX_DECIDING_RULES);
  std::uint32_t deciding = std::min<std::uint32_t>(decision.deciding_count, count);
  for (std::uint32_t k = 0; k < count; ++k) {
    std::uint32_t id = decision.rules[k];
    const ir::Rule* rule = rules(id);
    if (rule == nullptr) continue;
    (k < deciding ? e.rules : e.obligation_rules).push_back({id, rule->name, rule->verdict, rule->reason});
  }
  if (decision.error != GOV_OK) {
    if (const ir::Rule* failed = rules(decision.error_rule); failed != nullptr) {
      e.summary = e.verdict + ": rule " + failed->name + " failed: " + e.error;
    } else {
      e.summary = e.verdict + ": " + e.error;
    }
  } else if (e.rules.empty()) {
    e.summary = e.verdict + (decision.verdict == GOV_DENY ? ": no rule allows" : "");
  } else {
    e.summary = e.verdict + " by ";
    for (std::size_t k = 0; k < e.rules.size(); ++k) {
      if (k > 0) e.summary += ", ";
      e.summary += e.rules[k].name;
      if (!e.rules[k].reason.empty()) e.summary += " (" + e.rules[k].reason + ")";
    }
  }
  if (decision.error == GOV_OK && !e.obligation_rules.empty()) {
    e.summary += "; if approved, the obligations of ";
    for (std::size_t k = 0; k < e.obligation_rules.size(); ++k) {
      e.summary += (k > 0 ? ", " : "") + e.obligation_rules[k].name;
    }
    e.summary += " also apply";
  }
  return e;
}

}  // namespace gov::interp
