// Unit tests for runtime/interp: every IR op on hand-built policies
// (absence, errors, evaluation order, scratch accounting), decision
// combination, error precedence, obligation merging, rule index
// equivalence, and a hand-lowered examples/agent.gov.
#include "runtime/interp/interp.h"

#include <catch2/catch.hpp>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "compiler/driver/driver.h"
#include "runtime/ir/ir.h"
#include "runtime/pattern/pattern.h"
#include "runtime/request/request.h"

namespace gov::interp {
namespace {

using ir::Field;
using ir::Kind;
using ir::Node;
using ir::Op;
using ir::Verdict;

// Builds IR policies node by node (post-order by construction), deriving
// each node's kind and optionality from its operands like lowering does.
class Builder {
 public:
  ir::Policy policy;

  const Node& At(std::uint32_t i) const { return policy.nodes[i]; }

  std::uint32_t Add(Node n) {
    policy.nodes.push_back(n);
    return static_cast<std::uint32_t>(policy.nodes.size() - 1);
  }
  std::uint32_t Bool(bool b) {
    return Add({Op::kConstBool, Kind::kBool, false, ir::kNoNode, ir::kNoNode, ir::kNoNode, b ? 1 : 0});
  }
  std::uint32_t Int(std::int64_t v) {
    return Add({Op::kConstInt, Kind::kInt, false, ir::kNoNode, ir::kNoNode, ir::kNoNode, v});
  }
  std::uint32_t Str(const std::string& s) {
    policy.strings.push_back(s);
    return Add({Op::kConstStr, Kind::kStr, false, Pool(policy.strings), ir::kNoNode, ir::kNoNode, 0});
  }
  std::uint32_t StrList(std::vector<std::string> list) {
    policy.str_lists.push_back(std::move(list));
    return Add({Op::kConstList, Kind::kStrList, false, Pool(policy.str_lists), ir::kNoNode, ir::kNoNode, 0});
  }
  std::uint32_t IntList(std::vector<std::int64_t> list) {
    policy.int_lists.push_back(std::move(list));
    return Add({Op::kConstList, Kind::kIntList, false, Pool(policy.int_lists), ir::kNoNode, ir::kNoNode, 0});
  }
  std::uint32_t Map(std::vector<std::pair<std::string, std::string>> map) {
    policy.maps.push_back(std::move(map));
    return Add({Op::kConstMap, Kind::kStrMap, false, Pool(policy.maps), ir::kNoNode, ir::kNoNode, 0});
  }
  std::uint32_t None(Kind kind) { return Add({Op::kNone, kind, true, ir::kNoNode, ir::kNoNode, ir::kNoNode, 0}); }
  std::uint32_t Get(Field field) {
    static const Kind kKinds[] = {Kind::kStr, Kind::kStr, Kind::kStr,  Kind::kStrList, Kind::kStr,     Kind::kStrMap,
                                  Kind::kStr, Kind::kStr, Kind::kInt,  Kind::kInt,     Kind::kStrList, Kind::kStr,
                                  Kind::kInt, Kind::kInt, Kind::kInt,  Kind::kStr,     Kind::kStr,     Kind::kStr,
                                  Kind::kInt, Kind::kStr, Kind::kBool, Kind::kStr,     Kind::kStr,     Kind::kBool};
    auto f = static_cast<int>(field);
    bool optional = field == Field::kParentRunId || field == Field::kParentDepth || field == Field::kParentProgram;
    return Add({Op::kField, kKinds[f], optional, ir::kNoNode, ir::kNoNode, ir::kNoNode, f});
  }
  std::uint32_t Context(std::uint32_t index) {
    const ir::ContextField& field = policy.context[index];
    return Add({Op::kField, field.kind, field.optional, index, ir::kNoNode, ir::kNoNode,
                static_cast<std::int64_t>(Field::kContext)});
  }
  std::uint32_t Local(std::uint32_t slot, Kind kind) {
    if (slot >= policy.local_slots) policy.local_slots = slot + 1;
    return Add({Op::kLocal, kind, false, slot, ir::kNoNode, ir::kNoNode, 0});
  }
  std::uint32_t Nary(Op op, std::initializer_list<std::uint32_t> operands) {
    auto start = static_cast<std::uint32_t>(policy.operands.size());
    policy.operands.insert(policy.operands.end(), operands.begin(), operands.end());
    auto count = static_cast<std::uint32_t>(operands.size());
    return Add({op, Kind::kBool, false, count == 0 ? ir::kNoNode : start, count, ir::kNoNode, 0});
  }
  std::uint32_t And(std::initializer_list<std::uint32_t> operands) { return Nary(Op::kAnd, operands); }
  std::uint32_t Or(std::initializer_list<std::uint32_t> operands) { return Nary(Op::kOr, operands); }
  std::uint32_t If(std::uint32_t a, std::uint32_t b, std::uint32_t c) {
    return Add({Op::kIf, At(b).kind, At(b).optional || At(c).optional, a, b, c, 0});
  }
  std::uint32_t Un(Op op, std::uint32_t a) {
    Kind kind = Kind::kStr;
    bool optional = At(a).optional;
    switch (op) {
      case Op::kNot:
      case Op::kIsNone:
        kind = Kind::kBool;
        optional = false;
        break;
      case Op::kLen:
      case Op::kNeg:
        kind = Kind::kInt;
        break;
      default:
        break;
    }
    return Add({op, kind, optional, a, ir::kNoNode, ir::kNoNode, 0});
  }
  std::uint32_t Bin(Op op, std::uint32_t a, std::uint32_t b) {
    Kind kind = Kind::kBool;
    bool optional = false;
    switch (op) {
      case Op::kCoalesce:
        kind = At(a).kind;
        optional = At(b).optional;
        break;
      case Op::kConcat:
      case Op::kPathJoin:
        kind = Kind::kStr;
        optional = At(a).optional || At(b).optional;
        break;
      case Op::kIndex:
        kind = At(a).kind == Kind::kIntList ? Kind::kInt : Kind::kStr;
        optional = true;
        break;
      case Op::kMapGet:
        kind = Kind::kStr;
        optional = true;
        break;
      case Op::kAdd:
      case Op::kSub:
      case Op::kMul:
      case Op::kDiv:
      case Op::kMod:
        kind = Kind::kInt;
        optional = At(a).optional || At(b).optional;
        break;
      default:
        break;
    }
    return Add({op, kind, optional, a, b, ir::kNoNode, 0});
  }
  std::uint32_t Eq(std::uint32_t a, std::uint32_t b) { return Bin(Op::kEq, a, b); }
  std::uint32_t Pattern(std::uint32_t a, pattern::Syntax syntax, const std::string& source) {
    pattern::CompileResult compiled = pattern::Compile(syntax, source);
    REQUIRE(compiled.dfa.has_value());
    policy.patterns.push_back({source, syntax == pattern::Syntax::kRegex, compiled.dfa->Serialize()});
    return Add({Op::kMatches, Kind::kBool, false, a, ir::kNoNode, ir::kNoNode,
                static_cast<std::int64_t>(policy.patterns.size() - 1)});
  }
  std::uint32_t Quant(Op op, std::uint32_t list, std::uint32_t slot, std::uint32_t body) {
    if (slot >= policy.local_slots) policy.local_slots = slot + 1;
    return Add({op, Kind::kBool, false, list, body, ir::kNoNode, slot});
  }
  // An expression that errs: `1 / 0 == 0` (division) or `max + 1 == 0` (overflow).
  std::uint32_t DivErr() { return Eq(Bin(Op::kDiv, Int(1), Int(0)), Int(0)); }
  std::uint32_t OverflowErr() { return Eq(Bin(Op::kAdd, Int(INT64_MAX), Int(1)), Int(0)); }

  std::uint32_t Rule(const std::string& name, Verdict verdict, std::uint32_t condition, ir::Obligations o = {},
                     ir::RuleIndex index = {}, const std::string& reason = "") {
    ir::Rule rule;
    rule.name = name;
    rule.verdict = verdict;
    rule.reason = reason;
    rule.condition = condition;
    rule.obligations = std::move(o);
    rule.index = std::move(index);
    policy.rules.push_back(std::move(rule));
    return static_cast<std::uint32_t>(policy.rules.size() - 1);
  }

 private:
  template <typename T>
  static std::uint32_t Pool(const std::vector<T>& pool) {
    return static_cast<std::uint32_t>(pool.size() - 1);
  }
};

request::Request GitStatus() {
  request::Request r;
  r.program_path = "/usr/bin/git";
  r.args = {"status"};
  r.env = {{"HOME", "/home/u"}, {"A", "1"}};
  r.cwd = "/work/repo";
  r.groups = {"wheel", "dev"};
  return r;
}

PreparedPolicy Prepare(const ir::Policy& policy) {
  ErrorOr<PreparedPolicy> prepared = PreparedPolicy::Create(policy);
  INFO((prepared.ok() ? std::string() : prepared.error().message));
  REQUIRE(prepared.ok());
  return std::move(prepared).value();
}

// Decides with and without the rule index and checks both agree.
gov_decision DecideBoth(const PreparedPolicy& prepared, const request::Request& r) {
  request::RequestView view(r);
  gov_decision with_index{};
  gov_decision without_index{};
  std::uint32_t verdict = Decide(prepared, view.get(), with_index, {.use_index = true});
  Decide(prepared, view.get(), without_index, {.use_index = false});
  CHECK(verdict == with_index.verdict);
  CHECK(SameDecision(with_index, without_index));
  return with_index;
}

// The outcome of one boolean expression as the condition of an allow rule.
struct Outcome {
  bool value = false;
  std::uint32_t error = GOV_OK;
  bool operator==(const Outcome&) const = default;
};
std::ostream& operator<<(std::ostream& os, const Outcome& o) {
  return os << "{value " << o.value << ", error " << ErrorName(o.error) << "}";
}
constexpr Outcome kTrue{true, GOV_OK};
constexpr Outcome kFalse{false, GOV_OK};
constexpr Outcome Err(std::uint32_t error) {
  return {false, error};
}

Outcome Run(Builder& b, std::uint32_t condition, const request::Request& r = GitStatus()) {
  ir::Policy policy = b.policy;
  policy.rules.clear();
  ir::Rule rule;
  rule.name = "probe";
  rule.verdict = Verdict::kAllow;
  rule.condition = condition;
  policy.rules.push_back(rule);
  PreparedPolicy prepared = Prepare(policy);
  gov_decision d = DecideBoth(prepared, r);
  if (d.error != GOV_OK) {
    CHECK(d.verdict == GOV_DENY);
    CHECK(d.error_rule == 0);
    CHECK(d.rule_count == 1);
    return {false, d.error};
  }
  return {d.verdict == GOV_ALLOW, GOV_OK};
}

TEST_CASE("interp: request fields", "[interp]") {
  request::Request r = GitStatus();
  r.uid = 501;
  r.gid = 20;
  r.host = "build-1";
  r.time_unix = 951782400 + 3 * 3600 + 7 * 60;  // 2000-02-29T03:07Z, a Tuesday
  r.argv0 = "git";
  Builder b;
  auto eq = [&](Field f, std::uint32_t value) { return Run(b, b.Eq(b.Get(f), value), r); };
  CHECK(eq(Field::kProgramPath, b.Str("/usr/bin/git")) == kTrue);
  CHECK(eq(Field::kProgramName, b.Str("git")) == kTrue);
  CHECK(eq(Field::kProgramSha256, b.Str("sha256:" + std::string(64, '0'))) == kTrue);
  CHECK(eq(Field::kArgs, b.StrList({"status"})) == kTrue);
  CHECK(eq(Field::kArgv0, b.Str("git")) == kTrue);
  CHECK(eq(Field::kEnv, b.Map({{"A", "1"}, {"HOME", "/home/u"}})) == kTrue);
  CHECK(eq(Field::kCwd, b.Str("/work/repo")) == kTrue);
  CHECK(eq(Field::kUserName, b.Str("user")) == kTrue);
  CHECK(eq(Field::kUserUid, b.Int(501)) == kTrue);
  CHECK(eq(Field::kUserGid, b.Int(20)) == kTrue);
  CHECK(eq(Field::kUserGroups, b.StrList({"dev", "wheel"})) == kTrue);
  CHECK(eq(Field::kHostName, b.Str("build-1")) == kTrue);
  CHECK(eq(Field::kTimeUnix, b.Int(951782400 + 3 * 3600 + 7 * 60)) == kTrue);
  CHECK(eq(Field::kTimeHour, b.Int(3)) == kTrue);
  CHECK(eq(Field::kTimeMinute, b.Int(7)) == kTrue);
  CHECK(eq(Field::kTimeWeekday, b.Str("tue")) == kTrue);
  CHECK(eq(Field::kTimeDate, b.Str("2000-02-29")) == kTrue);
  // Without a parent the parent fields are absent.
  CHECK(Run(b, b.Un(Op::kIsNone, b.Get(Field::kParentRunId)), r) == kTrue);
  CHECK(Run(b, b.Un(Op::kIsNone, b.Get(Field::kParentDepth)), r) == kTrue);
  CHECK(Run(b, b.Un(Op::kIsNone, b.Get(Field::kParentProgram)), r) == kTrue);
  CHECK(Run(b, b.Eq(b.Get(Field::kParentDepth), b.Int(0)), r) == kFalse);
  r.has_parent = true;
  r.parent_run_id = "run-7";
  r.parent_depth = 2;
  r.parent_program = "/usr/bin//make";
  CHECK(eq(Field::kParentRunId, b.Str("run-7")) == kTrue);
  CHECK(eq(Field::kParentDepth, b.Int(2)) == kTrue);
  CHECK(eq(Field::kParentProgram, b.Str("/usr/bin/make")) == kTrue);
}

TEST_CASE("interp: the invoked program beside the file that runs", "[interp]") {
  request::Request r = GitStatus();
  Builder b;
  auto eq = [&](Field f, std::uint32_t value) { return Run(b, b.Eq(b.Get(f), value), r); };
  // Without an invoked path, the program was invoked by its own path.
  CHECK(eq(Field::kInvokedPath, b.Str("/usr/bin/git")) == kTrue);
  CHECK(eq(Field::kInvokedName, b.Str("git")) == kTrue);
  CHECK(eq(Field::kArgv0, b.Str("/usr/bin/git")) == kTrue);
  // npm: a link to a script; the invoked name is the link's, normalized.
  r.program_path = "/usr/lib/node_modules/npm/bin/npm-cli.js";
  r.invoked_path = "/usr//bin/./npm";
  r.argv0.clear();
  CHECK(eq(Field::kProgramName, b.Str("npm-cli.js")) == kTrue);
  CHECK(eq(Field::kInvokedPath, b.Str("/usr/bin/npm")) == kTrue);
  CHECK(eq(Field::kInvokedName, b.Str("npm")) == kTrue);
  CHECK(eq(Field::kArgv0, b.Str("/usr/bin/npm")) == kTrue);
  r.argv0 = "npm";
  CHECK(eq(Field::kArgv0, b.Str("npm")) == kTrue);
  CHECK(eq(Field::kInvokedPath, b.Str("/usr/bin/npm")) == kTrue);
}

TEST_CASE("interp: whether the program was written in the session", "[interp]") {
  request::Request r = GitStatus();
  Builder b;
  // False unless the caller (a governed session) says the file changed during it.
  CHECK(Run(b, b.Get(Field::kProgramWrittenInSession), r) == kFalse);
  CHECK(Run(b, b.Un(Op::kNot, b.Get(Field::kProgramWrittenInSession)), r) == kTrue);
  r.program_written_in_session = true;
  CHECK(Run(b, b.Get(Field::kProgramWrittenInSession), r) == kTrue);
  CHECK(Run(b, b.Eq(b.Get(Field::kProgramWrittenInSession), b.Bool(false)), r) == kFalse);
}

TEST_CASE("interp: context fields", "[interp]") {
  Builder b;
  b.policy.context = {{"ticket", Kind::kStr, true, ir::ContextField::Spelling::kString},
                      {"urgent", Kind::kBool, false, ir::ContextField::Spelling::kBool},
                      {"budget", Kind::kInt, true, ir::ContextField::Spelling::kDuration}};
  request::Request r = GitStatus();
  r.context = {{true, 0, "CHG-1"}, {true, 1, ""}, {false, 0, ""}};
  CHECK(Run(b, b.Eq(b.Context(0), b.Str("CHG-1")), r) == kTrue);
  CHECK(Run(b, b.Context(1), r) == kTrue);
  CHECK(Run(b, b.Un(Op::kIsNone, b.Context(2)), r) == kTrue);
  CHECK(Run(b, b.Eq(b.Context(2), b.None(Kind::kInt)), r) == kTrue);
  r.context[0].present = false;
  r.context[1].number = 0;
  r.context[2] = {true, 600000, ""};
  CHECK(Run(b, b.Eq(b.Context(0), b.None(Kind::kStr)), r) == kTrue);
  CHECK(Run(b, b.Context(1), r) == kFalse);
  CHECK(Run(b, b.Eq(b.Context(2), b.Int(600000)), r) == kTrue);
}

TEST_CASE("interp: and/or are order-independent with errors", "[interp]") {
  Builder b;
  std::uint32_t t = b.Bool(true);
  std::uint32_t f = b.Bool(false);
  CHECK(Run(b, b.And({})) == kTrue);
  CHECK(Run(b, b.Or({})) == kFalse);
  CHECK(Run(b, b.And({t, t})) == kTrue);
  CHECK(Run(b, b.And({t, f})) == kFalse);
  CHECK(Run(b, b.Or({f, t})) == kTrue);
  CHECK(Run(b, b.Or({f, f})) == kFalse);
  // A false operand wins over an error before or after it.
  CHECK(Run(b, b.And({b.DivErr(), f})) == kFalse);
  CHECK(Run(b, b.And({f, b.DivErr()})) == kFalse);
  CHECK(Run(b, b.And({b.DivErr(), t})) == Err(GOV_ERR_DIVISION));
  // The first erring operand's error is the result.
  CHECK(Run(b, b.And({b.OverflowErr(), b.DivErr()})) == Err(GOV_ERR_OVERFLOW));
  CHECK(Run(b, b.And({b.DivErr(), b.OverflowErr(), t})) == Err(GOV_ERR_DIVISION));
  CHECK(Run(b, b.Or({b.DivErr(), t})) == kTrue);
  CHECK(Run(b, b.Or({t, b.DivErr()})) == kTrue);
  CHECK(Run(b, b.Or({b.DivErr(), f})) == Err(GOV_ERR_DIVISION));
  CHECK(Run(b, b.Or({f, b.OverflowErr(), b.DivErr()})) == Err(GOV_ERR_OVERFLOW));
  CHECK(Run(b, b.Un(Op::kNot, f)) == kTrue);
  CHECK(Run(b, b.Un(Op::kNot, t)) == kFalse);
  CHECK(Run(b, b.Un(Op::kNot, b.DivErr())) == Err(GOV_ERR_DIVISION));
}

TEST_CASE("interp: if evaluates only the chosen branch", "[interp]") {
  Builder b;
  CHECK(Run(b, b.If(b.Bool(true), b.Bool(true), b.DivErr())) == kTrue);
  CHECK(Run(b, b.If(b.Bool(false), b.DivErr(), b.Bool(false))) == kFalse);
  CHECK(Run(b, b.If(b.Bool(true), b.OverflowErr(), b.Bool(true))) == Err(GOV_ERR_OVERFLOW));
  CHECK(Run(b, b.If(b.DivErr(), b.Bool(true), b.Bool(true))) == Err(GOV_ERR_DIVISION));
  // Optional branches make an optional result.
  std::uint32_t pick = b.If(b.Bool(false), b.Int(1), b.None(Kind::kInt));
  CHECK(b.At(pick).optional);
  CHECK(Run(b, b.Un(Op::kIsNone, pick)) == kTrue);
}

TEST_CASE("interp: equality with absence, lists and maps", "[interp]") {
  Builder b;
  CHECK(Run(b, b.Eq(b.None(Kind::kStr), b.None(Kind::kStr))) == kTrue);
  CHECK(Run(b, b.Eq(b.None(Kind::kStr), b.Str(""))) == kFalse);
  CHECK(Run(b, b.Eq(b.Str(""), b.None(Kind::kStr))) == kFalse);
  CHECK(Run(b, b.Bin(Op::kNe, b.None(Kind::kInt), b.Int(0))) == kTrue);
  CHECK(Run(b, b.Bin(Op::kNe, b.None(Kind::kInt), b.None(Kind::kInt))) == kFalse);
  CHECK(Run(b, b.Eq(b.Int(3), b.Int(3))) == kTrue);
  CHECK(Run(b, b.Bin(Op::kNe, b.Int(3), b.Int(4))) == kTrue);
  CHECK(Run(b, b.Eq(b.Bool(false), b.Bool(false))) == kTrue);
  CHECK(Run(b, b.Eq(b.StrList({"a", "b"}), b.StrList({"a", "b"}))) == kTrue);
  CHECK(Run(b, b.Eq(b.StrList({"a", "b"}), b.StrList({"b", "a"}))) == kFalse);
  CHECK(Run(b, b.Eq(b.StrList({"a"}), b.StrList({"a", "b"}))) == kFalse);
  CHECK(Run(b, b.Eq(b.IntList({1, 2}), b.IntList({1, 2}))) == kTrue);
  CHECK(Run(b, b.Eq(b.IntList({1, 2}), b.IntList({1, 3}))) == kFalse);
  CHECK(Run(b, b.Eq(b.Map({{"a", "1"}}), b.Map({{"a", "1"}}))) == kTrue);
  CHECK(Run(b, b.Eq(b.Map({{"a", "1"}}), b.Map({{"a", "2"}}))) == kFalse);
  CHECK(Run(b, b.Eq(b.Get(Field::kArgs), b.StrList({"status"}))) == kTrue);
  // Operands are evaluated a then b; the first error propagates.
  CHECK(Run(b, b.Eq(b.Bin(Op::kMod, b.Int(1), b.Int(0)), b.Un(Op::kNeg, b.Int(INT64_MIN)))) == Err(GOV_ERR_DIVISION));
}

TEST_CASE("interp: ordering of ints and strings", "[interp]") {
  Builder b;
  struct Case {
    Op op;
    bool lt, eq, gt;  // expected for a<b, a==b, a>b
  };
  for (Case c : {Case{Op::kLt, true, false, false}, Case{Op::kLe, true, true, false}, Case{Op::kGt, false, false, true},
                 Case{Op::kGe, false, true, true}}) {
    CHECK(Run(b, b.Bin(c.op, b.Int(-5), b.Int(3))).value == c.lt);
    CHECK(Run(b, b.Bin(c.op, b.Int(3), b.Int(3))).value == c.eq);
    CHECK(Run(b, b.Bin(c.op, b.Int(4), b.Int(3))).value == c.gt);
    // Strings compare bytewise, unsigned: "\xff" sorts after "z".
    CHECK(Run(b, b.Bin(c.op, b.Str("abc"), b.Str("abd"))).value == c.lt);
    CHECK(Run(b, b.Bin(c.op, b.Str("ab"), b.Str("ab"))).value == c.eq);
    CHECK(Run(b, b.Bin(c.op, b.Str("\xff"), b.Str("z"))).value == c.gt);
    CHECK(Run(b, b.Bin(c.op, b.Str("ab"), b.Str("a"))).value == c.gt);
    // Absent on either side: false.
    CHECK(Run(b, b.Bin(c.op, b.None(Kind::kInt), b.Int(3))) == kFalse);
    CHECK(Run(b, b.Bin(c.op, b.Int(3), b.None(Kind::kInt))) == kFalse);
    CHECK(Run(b, b.Bin(c.op, b.None(Kind::kStr), b.None(Kind::kStr))) == kFalse);
  }
}

TEST_CASE("interp: membership and string tests", "[interp]") {
  Builder b;
  CHECK(Run(b, b.Bin(Op::kIn, b.Str("log"), b.StrList({"diff", "log"}))) == kTrue);
  CHECK(Run(b, b.Bin(Op::kIn, b.Str("push"), b.StrList({"diff", "log"}))) == kFalse);
  CHECK(Run(b, b.Bin(Op::kIn, b.Int(3), b.IntList({1, 3}))) == kTrue);
  CHECK(Run(b, b.Bin(Op::kIn, b.Int(2), b.IntList({1, 3}))) == kFalse);
  CHECK(Run(b, b.Bin(Op::kIn, b.None(Kind::kStr), b.StrList({""}))) == kFalse);
  CHECK(Run(b, b.Bin(Op::kIn, b.Str("status"), b.Get(Field::kArgs))) == kTrue);
  CHECK(Run(b, b.Bin(Op::kHasKey, b.Str("HOME"), b.Get(Field::kEnv))) == kTrue);
  CHECK(Run(b, b.Bin(Op::kHasKey, b.Str("PATH"), b.Get(Field::kEnv))) == kFalse);
  CHECK(Run(b, b.Bin(Op::kHasKey, b.None(Kind::kStr), b.Get(Field::kEnv))) == kFalse);
  CHECK(Run(b, b.Bin(Op::kUnder, b.Str("/work/repo/src"), b.Str("/work/repo"))) == kTrue);
  CHECK(Run(b, b.Bin(Op::kUnder, b.Str("/work/repo"), b.Str("/work/repo"))) == kTrue);
  CHECK(Run(b, b.Bin(Op::kUnder, b.Str("/work/repository"), b.Str("/work/repo"))) == kFalse);
  CHECK(Run(b, b.Bin(Op::kUnder, b.Str("/etc"), b.Str("/"))) == kTrue);
  CHECK(Run(b, b.Bin(Op::kUnder, b.None(Kind::kStr), b.Str("/"))) == kFalse);
  CHECK(Run(b, b.Bin(Op::kStartsWith, b.Str("-rf"), b.Str("-"))) == kTrue);
  CHECK(Run(b, b.Bin(Op::kStartsWith, b.Str("rf"), b.Str("-"))) == kFalse);
  CHECK(Run(b, b.Bin(Op::kStartsWith, b.Str("x"), b.Str(""))) == kTrue);
  CHECK(Run(b, b.Bin(Op::kEndsWith, b.Str("a.tar.gz"), b.Str(".gz"))) == kTrue);
  CHECK(Run(b, b.Bin(Op::kEndsWith, b.Str("gz"), b.Str(".gz"))) == kFalse);
  CHECK(Run(b, b.Bin(Op::kContains, b.Str("hello"), b.Str("ell"))) == kTrue);
  CHECK(Run(b, b.Bin(Op::kContains, b.Str("hello"), b.Str("elk"))) == kFalse);
  CHECK(Run(b, b.Bin(Op::kContains, b.None(Kind::kStr), b.Str(""))) == kFalse);
  CHECK(Run(b, b.Bin(Op::kContains, b.Str(""), b.None(Kind::kStr))) == kFalse);
  std::uint32_t glob = b.Pattern(b.Get(Field::kProgramPath), pattern::Syntax::kGlob, "/usr/bin/*");
  CHECK(Run(b, glob) == kTrue);
  std::uint32_t regex = b.Pattern(b.Str("CHG-12"), pattern::Syntax::kRegex, "CHG-[0-9]+");
  CHECK(Run(b, regex) == kTrue);
  std::uint32_t miss = b.Pattern(b.Str("CHG-x"), pattern::Syntax::kRegex, "CHG-[0-9]+");
  CHECK(Run(b, miss) == kFalse);
  std::uint32_t absent = b.Pattern(b.None(Kind::kStr), pattern::Syntax::kGlob, "*");
  CHECK(Run(b, absent) == kFalse);
  CHECK(Run(b, b.Un(Op::kIsNone, b.None(Kind::kStrList))) == kTrue);
  CHECK(Run(b, b.Un(Op::kIsNone, b.Str(""))) == kFalse);
  CHECK(Run(b, b.Un(Op::kIsNone, b.DivErr())) == Err(GOV_ERR_DIVISION));
}

TEST_CASE("interp: value ops and absence", "[interp]") {
  Builder b;
  auto is_none = [&](std::uint32_t v) { return Run(b, b.Un(Op::kIsNone, v)); };
  // coalesce: a if present, else b; both are evaluated.
  CHECK(Run(b, b.Eq(b.Bin(Op::kCoalesce, b.None(Kind::kStr), b.Str("d")), b.Str("d"))) == kTrue);
  CHECK(Run(b, b.Eq(b.Bin(Op::kCoalesce, b.Str("x"), b.Str("d")), b.Str("x"))) == kTrue);
  CHECK(is_none(b.Bin(Op::kCoalesce, b.None(Kind::kStr), b.None(Kind::kStr))) == kTrue);
  CHECK(Run(b, b.Eq(b.Bin(Op::kCoalesce, b.Int(1), b.Bin(Op::kDiv, b.Int(1), b.Int(0))), b.Int(1))) ==
        Err(GOV_ERR_DIVISION));

  CHECK(Run(b, b.Eq(b.Un(Op::kLower, b.Str("MiXeD-\xc3\x84")), b.Str("mixed-\xc3\x84"))) == kTrue);
  CHECK(Run(b, b.Eq(b.Un(Op::kUpper, b.Str("MiXeD-z")), b.Str("MIXED-Z"))) == kTrue);
  CHECK(is_none(b.Un(Op::kLower, b.None(Kind::kStr))) == kTrue);

  CHECK(Run(b, b.Eq(b.Un(Op::kLen, b.Str("h\xc3\xa9")), b.Int(3))) == kTrue);
  CHECK(Run(b, b.Eq(b.Un(Op::kLen, b.Get(Field::kArgs)), b.Int(1))) == kTrue);
  CHECK(Run(b, b.Eq(b.Un(Op::kLen, b.Get(Field::kEnv)), b.Int(2))) == kTrue);
  CHECK(Run(b, b.Eq(b.Un(Op::kLen, b.IntList({4, 5, 6})), b.Int(3))) == kTrue);
  CHECK(is_none(b.Un(Op::kLen, b.None(Kind::kStrList))) == kTrue);

  CHECK(Run(b, b.Eq(b.Bin(Op::kConcat, b.Str("ab"), b.Str("cd")), b.Str("abcd"))) == kTrue);
  CHECK(is_none(b.Bin(Op::kConcat, b.Str("ab"), b.None(Kind::kStr))) == kTrue);
  CHECK(is_none(b.Bin(Op::kConcat, b.None(Kind::kStr), b.Str("ab"))) == kTrue);

  CHECK(Run(b, b.Eq(b.Bin(Op::kPathJoin, b.Str("/work/repo"), b.Str("../x/./y")), b.Str("/work/x/y"))) == kTrue);
  CHECK(Run(b, b.Eq(b.Bin(Op::kPathJoin, b.Str("/work/repo"), b.Str("/etc")), b.Str("/etc"))) == kTrue);
  CHECK(is_none(b.Bin(Op::kPathJoin, b.None(Kind::kStr), b.Str("a"))) == kTrue);
  CHECK(Run(b, b.Eq(b.Un(Op::kPathName, b.Str("/usr/bin/git")), b.Str("git"))) == kTrue);
  CHECK(Run(b, b.Eq(b.Un(Op::kPathName, b.Str("/")), b.Str(""))) == kTrue);
  CHECK(Run(b, b.Eq(b.Un(Op::kPathParent, b.Str("/usr/bin/git")), b.Str("/usr/bin"))) == kTrue);
  CHECK(Run(b, b.Eq(b.Un(Op::kPathParent, b.Str("/x")), b.Str("/"))) == kTrue);
  CHECK(Run(b, b.Eq(b.Un(Op::kPathExt, b.Str("a/b.tar.gz")), b.Str("gz"))) == kTrue);
  CHECK(Run(b, b.Eq(b.Un(Op::kPathExt, b.Str("/a/b")), b.Str(""))) == kTrue);
  CHECK(Run(b, b.Eq(b.Un(Op::kToPath, b.Str("/a//b/./c/../d/")), b.Str("/a/b/d"))) == kTrue);
  CHECK(is_none(b.Un(Op::kPathName, b.None(Kind::kStr))) == kTrue);
  CHECK(is_none(b.Un(Op::kPathParent, b.None(Kind::kStr))) == kTrue);
  CHECK(is_none(b.Un(Op::kPathExt, b.None(Kind::kStr))) == kTrue);
  CHECK(is_none(b.Un(Op::kToPath, b.None(Kind::kStr))) == kTrue);

  std::uint32_t args = b.Get(Field::kArgs);
  CHECK(Run(b, b.Eq(b.Bin(Op::kIndex, args, b.Int(0)), b.Str("status"))) == kTrue);
  CHECK(is_none(b.Bin(Op::kIndex, args, b.Int(1))) == kTrue);
  CHECK(is_none(b.Bin(Op::kIndex, args, b.Int(-1))) == kTrue);
  CHECK(is_none(b.Bin(Op::kIndex, args, b.Int(INT64_MIN))) == kTrue);
  CHECK(is_none(b.Bin(Op::kIndex, b.None(Kind::kStrList), b.Int(0))) == kTrue);
  CHECK(is_none(b.Bin(Op::kIndex, args, b.None(Kind::kInt))) == kTrue);
  CHECK(Run(b, b.Eq(b.Bin(Op::kIndex, b.IntList({7, 8}), b.Int(1)), b.Int(8))) == kTrue);
  CHECK(Run(b, b.Eq(b.Bin(Op::kMapGet, b.Get(Field::kEnv), b.Str("HOME")), b.Str("/home/u"))) == kTrue);
  CHECK(is_none(b.Bin(Op::kMapGet, b.Get(Field::kEnv), b.Str("PATH"))) == kTrue);
  CHECK(Run(b, b.Eq(b.Bin(Op::kMapGet, b.Map({{"k", "v"}}), b.Str("k")), b.Str("v"))) == kTrue);
  CHECK(is_none(b.Bin(Op::kMapGet, b.None(Kind::kStrMap), b.Str("k"))) == kTrue);
}

TEST_CASE("interp: checked arithmetic", "[interp]") {
  Builder b;
  auto value = [&](Op op, std::int64_t x, std::int64_t y, std::int64_t want) {
    return Run(b, b.Eq(b.Bin(op, b.Int(x), b.Int(y)), b.Int(want)));
  };
  auto fails = [&](Op op, std::int64_t x, std::int64_t y) {
    return Run(b, b.Eq(b.Bin(op, b.Int(x), b.Int(y)), b.Int(0))).error;
  };
  CHECK(value(Op::kAdd, 2, 3, 5) == kTrue);
  CHECK(value(Op::kSub, 2, 3, -1) == kTrue);
  CHECK(value(Op::kMul, -4, 3, -12) == kTrue);
  CHECK(value(Op::kDiv, 7, 2, 3) == kTrue);
  CHECK(value(Op::kDiv, -7, 2, -3) == kTrue);  // toward zero
  CHECK(value(Op::kMod, -7, 2, -1) == kTrue);  // sign of the dividend
  CHECK(value(Op::kMod, 7, -2, 1) == kTrue);
  CHECK(value(Op::kAdd, INT64_MAX - 1, 1, INT64_MAX) == kTrue);
  CHECK(value(Op::kDiv, INT64_MIN, 1, INT64_MIN) == kTrue);
  CHECK(fails(Op::kAdd, INT64_MAX, 1) == GOV_ERR_OVERFLOW);
  CHECK(fails(Op::kSub, INT64_MIN, 1) == GOV_ERR_OVERFLOW);
  CHECK(fails(Op::kMul, INT64_MAX / 2 + 1, 2) == GOV_ERR_OVERFLOW);
  CHECK(fails(Op::kDiv, 5, 0) == GOV_ERR_DIVISION);
  CHECK(fails(Op::kMod, 5, 0) == GOV_ERR_DIVISION);
  CHECK(fails(Op::kDiv, INT64_MIN, -1) == GOV_ERR_OVERFLOW);
  CHECK(fails(Op::kMod, INT64_MIN, -1) == GOV_ERR_OVERFLOW);
  CHECK(Run(b, b.Eq(b.Un(Op::kNeg, b.Int(5)), b.Int(-5))) == kTrue);
  CHECK(Run(b, b.Eq(b.Un(Op::kNeg, b.Int(INT64_MIN)), b.Int(0))) == Err(GOV_ERR_OVERFLOW));
  // Absent in ⇒ absent out, but both operands are still evaluated first.
  CHECK(Run(b, b.Un(Op::kIsNone, b.Bin(Op::kAdd, b.None(Kind::kInt), b.Int(1)))) == kTrue);
  CHECK(Run(b, b.Un(Op::kIsNone, b.Bin(Op::kDiv, b.Int(1), b.None(Kind::kInt)))) == kTrue);
  CHECK(Run(b, b.Un(Op::kIsNone, b.Un(Op::kNeg, b.None(Kind::kInt)))) == kTrue);
  CHECK(Run(b, b.Un(Op::kIsNone, b.Bin(Op::kAdd, b.None(Kind::kInt), b.Bin(Op::kDiv, b.Int(1), b.Int(0))))) ==
        Err(GOV_ERR_DIVISION));
  // The first operand's error wins over the second's.
  CHECK(Run(b, b.Eq(b.Bin(Op::kAdd, b.Bin(Op::kMul, b.Int(INT64_MAX), b.Int(2)), b.Bin(Op::kDiv, b.Int(1), b.Int(0))),
                    b.Int(0))) == Err(GOV_ERR_OVERFLOW));
}

TEST_CASE("interp: quantifiers", "[interp]") {
  Builder b;
  request::Request r = GitStatus();
  r.args = {"-rf", "/etc", "b"};
  std::uint32_t args = b.Get(Field::kArgs);
  auto starts_dash = [&](std::uint32_t slot) { return b.Bin(Op::kStartsWith, b.Local(slot, Kind::kStr), b.Str("-")); };
  CHECK(Run(b, b.Quant(Op::kAny, args, 0, starts_dash(0)), r) == kTrue);
  CHECK(Run(b, b.Quant(Op::kAll, args, 0, starts_dash(0)), r) == kFalse);
  CHECK(Run(b, b.Quant(Op::kAll, args, 0, b.Un(Op::kNot, b.Eq(b.Local(0, Kind::kStr), b.Str("")))), r) == kTrue);
  // Empty lists: any is false, all is true. Absent lists: both false.
  CHECK(Run(b, b.Quant(Op::kAny, b.StrList({}), 0, b.Bool(true))) == kFalse);
  CHECK(Run(b, b.Quant(Op::kAll, b.StrList({}), 0, b.Bool(false))) == kTrue);
  CHECK(Run(b, b.Quant(Op::kAny, b.None(Kind::kStrList), 0, b.Bool(true))) == kFalse);
  CHECK(Run(b, b.Quant(Op::kAll, b.None(Kind::kStrList), 0, b.Bool(true))) == kFalse);
  // Ints and map keys.
  std::uint32_t ints = b.IntList({0, 1, 2});
  auto ten_div = [&](std::int64_t want) {
    return b.Eq(b.Bin(Op::kDiv, b.Int(10), b.Local(1, Kind::kInt)), b.Int(want));
  };
  // Element 0 errs, element 1 decides: the decision wins over the error.
  CHECK(Run(b, b.Quant(Op::kAny, ints, 1, ten_div(10))) == kTrue);
  CHECK(Run(b, b.Quant(Op::kAll, ints, 1, ten_div(10))) == kFalse);
  // No element decides: the first error is the result.
  CHECK(Run(b, b.Quant(Op::kAny, ints, 1, ten_div(99))) == Err(GOV_ERR_DIVISION));
  CHECK(Run(b, b.Quant(Op::kAll, b.IntList({0, 5}), 1, b.Un(Op::kNot, ten_div(99)))) == Err(GOV_ERR_DIVISION));
  CHECK(Run(b, b.Quant(Op::kAny, b.Get(Field::kEnv), 0, b.Eq(b.Local(0, Kind::kStr), b.Str("HOME")))) == kTrue);
  CHECK(Run(b, b.Quant(Op::kAll, b.Get(Field::kEnv), 0, b.Eq(b.Local(0, Kind::kStr), b.Str("HOME")))) == kFalse);
  // An erring list operand propagates.
  CHECK(Run(b, b.Quant(Op::kAny, b.If(b.DivErr(), b.StrList({"a"}), b.StrList({})), 0, b.Bool(true))) ==
        Err(GOV_ERR_DIVISION));
  // Nested quantifiers, the inner one shadowing the same slot, then the
  // outer slot is visible again: any x in [a, b]: (all x in [c]: x == c) and x == b.
  std::uint32_t inner = b.Quant(Op::kAll, b.StrList({"c"}), 2, b.Eq(b.Local(2, Kind::kStr), b.Str("c")));
  std::uint32_t outer =
      b.Quant(Op::kAny, b.StrList({"a", "b"}), 2, b.And({inner, b.Eq(b.Local(2, Kind::kStr), b.Str("b"))}));
  CHECK(Run(b, outer) == kTrue);
  // Cross product: any x in [1,2]: any y in [3,4]: x * y == 8.
  std::uint32_t cross =
      b.Quant(Op::kAny, b.IntList({1, 2}), 3,
              b.Quant(Op::kAny, b.IntList({3, 4}), 4,
                      b.Eq(b.Bin(Op::kMul, b.Local(3, Kind::kInt), b.Local(4, Kind::kInt)), b.Int(8))));
  CHECK(Run(b, cross) == kTrue);
}

TEST_CASE("interp: scratch accounting", "[interp]") {
  Builder b;
  request::Request r = GitStatus();
  auto lower_eq = [&](std::uint32_t s) { return b.Eq(b.Un(Op::kLower, s), b.Str("zz")); };
  SECTION("a single result fits exactly, one byte more does not") {
    r.args = {std::string(kScratchBytes, 'A')};
    std::uint32_t arg0 = b.Bin(Op::kIndex, b.Get(Field::kArgs), b.Int(0));
    CHECK(Run(b, lower_eq(arg0), r) == kFalse);
    r.args = {std::string(kScratchBytes + 1, 'A')};
    CHECK(Run(b, lower_eq(arg0), r) == Err(GOV_ERR_SCRATCH));
  }
  SECTION("results accumulate within a rule") {
    std::uint32_t arg0 = b.Bin(Op::kIndex, b.Get(Field::kArgs), b.Int(0));
    std::uint32_t cond = b.Or({lower_eq(arg0), lower_eq(arg0)});
    r.args = {std::string(kScratchBytes / 2, 'A')};
    CHECK(Run(b, cond, r) == kFalse);
    r.args = {std::string(kScratchBytes / 2 + 1, 'A')};
    CHECK(Run(b, cond, r) == Err(GOV_ERR_SCRATCH));
    // concat needs room for its whole result.
    std::uint32_t twice = b.Eq(b.Bin(Op::kConcat, arg0, arg0), b.Str(""));
    r.args = {std::string(kScratchBytes / 2, 'A')};
    CHECK(Run(b, twice, r) == kFalse);
    r.args = {std::string(kScratchBytes / 2 + 1, 'A')};
    CHECK(Run(b, twice, r) == Err(GOV_ERR_SCRATCH));
    // path_name counts its whole result even though it is a suffix.
    std::uint32_t names =
        b.Or({b.Eq(b.Un(Op::kPathName, arg0), b.Str("")), b.Eq(b.Un(Op::kPathName, arg0), b.Str(""))});
    r.args = {"/" + std::string(kScratchBytes / 2, 'a')};
    CHECK(Run(b, names, r) == kFalse);
    r.args = {"/" + std::string(kScratchBytes / 2 + 1, 'a')};
    CHECK(Run(b, names, r) == Err(GOV_ERR_SCRATCH));
  }
  SECTION("each quantifier iteration starts from the same fill level") {
    r.args.assign(200, std::string(40000, 'A'));  // 8 MB in total, 40000 bytes per iteration
    std::uint32_t body = lower_eq(b.Local(0, Kind::kStr));
    CHECK(Run(b, b.Quant(Op::kAny, b.Get(Field::kArgs), 0, body), r) == kFalse);
    // With 30000 bytes already used before the quantifier, every iteration overflows.
    std::uint32_t pre = b.Eq(b.Un(Op::kUpper, b.Str(std::string(30000, 'q'))), b.Str(""));
    CHECK(Run(b, b.Or({pre, b.Quant(Op::kAny, b.Get(Field::kArgs), 0, body)}), r) == Err(GOV_ERR_SCRATCH));
    // The quantifier keeps the scratch used by its list operand... none here,
    // and once it finishes the fill level is back to where it began.
    CHECK(Run(b, b.Or({b.Quant(Op::kAny, b.Get(Field::kArgs), 0, body), lower_eq(b.Str(std::string(60000, 'B')))}),
              r) == kFalse);
  }
  SECTION("each rule starts with an empty arena") {
    std::uint32_t big = b.Eq(b.Un(Op::kLower, b.Str(std::string(40000, 'Q'))), b.Str(""));
    b.Rule("one", Verdict::kDeny, big);
    b.Rule("two", Verdict::kDeny, big);
    PreparedPolicy prepared = Prepare(b.policy);
    gov_decision d = DecideBoth(prepared, r);
    CHECK(d.error == GOV_OK);
    CHECK(d.verdict == GOV_DENY);
    CHECK(d.rule_count == 0);
  }
}

// Runs `body` on the stack a decision is checked on. The depth limit bounds
// the stack a decision needs; a sanitizer build's frames are several times
// larger (clang 14's ASan at -O0 overflows 8 MiB at the limit), so there it
// runs on a thread with a large stack. The release suite uses the default one.
void OnDecisionStack(const std::function<void()>& body) {
#if defined(GOV_SANITIZED)
  gov::driver::RunWithLargeStack(body);
#else
  body();
#endif
}

TEST_CASE("interp: evaluation depth is bounded", "[interp]") {
  OnDecisionStack([] {
    // Chains of and, if and any at the limit fit the stack; one more level errs.
    for (int levels : {kMaxEvalDepth - 1, kMaxEvalDepth}) {
      Builder b;
      std::uint32_t and_chain = b.Bool(true);
      for (int i = 0; i < levels; ++i) and_chain = b.And({and_chain});
      std::uint32_t if_chain = b.Bool(true);
      for (int i = 0; i < levels; ++i) if_chain = b.If(b.Bool(true), if_chain, b.Bool(false));
      std::uint32_t any_chain = b.Bool(true);
      for (int i = 0; i < levels; ++i) any_chain = b.Quant(Op::kAny, b.IntList({1}), 0, any_chain);
      Outcome want = levels + 1 <= kMaxEvalDepth ? kTrue : Err(GOV_ERR_INTERNAL);
      CHECK(Run(b, and_chain) == want);
      CHECK(Run(b, if_chain) == want);
      CHECK(Run(b, any_chain) == want);
    }
    for (int nots : {kMaxEvalDepth - 1, kMaxEvalDepth}) {
      Builder b;
      std::uint32_t node = b.Bool(true);
      for (int i = 0; i < nots; ++i) node = b.Un(Op::kNot, node);
      // Depth of the leaf = nots + 1.
      Outcome got = Run(b, node);
      if (nots + 1 <= kMaxEvalDepth) {
        CHECK(got == Outcome{nots % 2 == 0, GOV_OK});
      } else {
        CHECK(got == Err(GOV_ERR_INTERNAL));
      }
    }
  });
}

TEST_CASE("interp: decision combination", "[interp]") {
  Builder b;
  std::uint32_t t = b.Bool(true);
  std::uint32_t f = b.Bool(false);
  request::Request r = GitStatus();
  auto decide = [&](const ir::Policy& policy) { return DecideBoth(Prepare(policy), r); };
  auto rules_of = [](const gov_decision& d) { return std::vector<std::uint32_t>(d.rules, d.rules + d.rule_count); };

  SECTION("no rules: default deny") {
    gov_decision d = decide(b.policy);
    CHECK(d.verdict == GOV_DENY);
    CHECK(d.error == GOV_OK);
    CHECK(d.error_rule == GOV_NO_RULE);
    CHECK(d.rule_count == 0);
  }
  SECTION("deny beats ask beats allow; all rules of the verdict decide") {
    b.Rule("allow0", Verdict::kAllow, t);
    b.Rule("ask1", Verdict::kAsk, t);
    b.Rule("deny2", Verdict::kDeny, f);
    b.Rule("allow3", Verdict::kAllow, t);
    b.Rule("ask4", Verdict::kAsk, t);
    gov_decision d = decide(b.policy);
    CHECK(d.verdict == GOV_ASK);
    // The ask rules decide; the matching allow rules follow them.
    CHECK(d.deciding_count == 2);
    CHECK(rules_of(d) == std::vector<std::uint32_t>{1, 4, 0, 3});
    b.policy.rules[2].condition = t;
    b.Rule("deny5", Verdict::kDeny, t);
    d = decide(b.policy);
    CHECK(d.verdict == GOV_DENY);
    CHECK(d.deciding_count == 2);
    CHECK(rules_of(d) == std::vector<std::uint32_t>{2, 5});
    CHECK(d.error_rule == GOV_NO_RULE);
    b.policy.rules[1].condition = f;
    b.policy.rules[2].condition = f;
    b.policy.rules[4].condition = f;
    b.policy.rules[5].condition = f;
    d = decide(b.policy);
    CHECK(d.verdict == GOV_ALLOW);
    CHECK(d.deciding_count == 2);
    CHECK(rules_of(d) == std::vector<std::uint32_t>{0, 3});
    b.policy.rules[0].condition = f;
    b.policy.rules[3].condition = f;
    d = decide(b.policy);
    CHECK(d.verdict == GOV_DENY);
    CHECK(d.rule_count == 0);
  }
  SECTION("any erring rule denies, naming the lowest erring rule") {
    b.Rule("deny0", Verdict::kDeny, t);
    b.Rule("allow1", Verdict::kAllow, t);
    b.Rule("allow2", Verdict::kAllow, b.OverflowErr());
    b.Rule("ask3", Verdict::kAsk, b.DivErr());
    gov_decision d = decide(b.policy);
    CHECK(d.verdict == GOV_DENY);
    CHECK(d.error == GOV_ERR_OVERFLOW);
    CHECK(d.error_rule == 2);
    CHECK(rules_of(d) == std::vector<std::uint32_t>{2});
    CHECK(d.timeout_ms == 0);
    CHECK(d.network == GOV_NET_UNSET);
    Explanation e = Explain(b.policy, d);
    CHECK(e.summary == "deny: rule allow2 failed: integer overflow");
    CHECK(e.error == "integer overflow");
  }
  SECTION("too many deciding rules") {
    for (std::uint32_t i = 0; i < GOV_MAX_DECIDING_RULES; ++i) {
      b.Rule("r" + std::to_string(i), Verdict::kAllow, t);
    }
    gov_decision d = decide(b.policy);
    CHECK(d.verdict == GOV_ALLOW);
    CHECK(d.rule_count == GOV_MAX_DECIDING_RULES);
    CHECK(d.rules[GOV_MAX_DECIDING_RULES - 1] == GOV_MAX_DECIDING_RULES - 1);
    b.Rule("one_more", Verdict::kAllow, t);
    d = decide(b.policy);
    CHECK(d.verdict == GOV_DENY);
    CHECK(d.error == GOV_ERR_TOO_MANY_RULES);
    CHECK(d.error_rule == GOV_NO_RULE);
    CHECK(d.rule_count == 0);
    // A deny decides over 257 allows.
    b.Rule("deny", Verdict::kDeny, t);
    d = decide(b.policy);
    CHECK(d.verdict == GOV_DENY);
    CHECK(d.error == GOV_OK);
    CHECK(rules_of(d) == std::vector<std::uint32_t>{GOV_MAX_DECIDING_RULES + 1});
  }
  SECTION("an ask and its matching allow rules share the limit") {
    for (std::uint32_t i = 0; i + 1 < GOV_MAX_DECIDING_RULES; ++i) {
      b.Rule("r" + std::to_string(i), Verdict::kAllow, t);
    }
    b.Rule("ask", Verdict::kAsk, t);
    gov_decision d = decide(b.policy);
    CHECK(d.verdict == GOV_ASK);
    CHECK(d.rule_count == GOV_MAX_DECIDING_RULES);
    CHECK(d.deciding_count == 1);
    CHECK(d.rules[0] == GOV_MAX_DECIDING_RULES - 1);
    CHECK(d.rules[GOV_MAX_DECIDING_RULES - 1] == GOV_MAX_DECIDING_RULES - 2);
    b.Rule("one_more_ask", Verdict::kAsk, t);
    d = decide(b.policy);
    CHECK(d.verdict == GOV_DENY);
    CHECK(d.error == GOV_ERR_TOO_MANY_RULES);
    CHECK(d.rule_count == 0);
    CHECK(d.deciding_count == 0);
  }
  SECTION("bad requests") {
    b.policy.context = {{"ticket", Kind::kStr, true, ir::ContextField::Spelling::kString},
                        {"level", Kind::kInt, false, ir::ContextField::Spelling::kInt}};
    b.Rule("allow", Verdict::kAllow, t);
    PreparedPolicy prepared = Prepare(b.policy);
    r.context = {{false, 0, ""}, {true, 3, ""}};
    CHECK(DecideBoth(prepared, r).verdict == GOV_ALLOW);
    auto expect_bad = [&](const gov_request& q) {
      gov_decision d{};
      CHECK(Decide(prepared, q, d) == GOV_DENY);
      CHECK(d.error == GOV_ERR_BAD_REQUEST);
      CHECK(d.error_rule == GOV_NO_RULE);
      CHECK(d.rule_count == 0);
    };
    {
      request::RequestView view(r);
      gov_request q = view.get();
      q.abi_version = GOV_ABI_VERSION + 1;
      expect_bad(q);
      q = view.get();
      q.context_count = 1;
      expect_bad(q);
    }
    r.context = {{true, 0, "x"}, {false, 0, ""}};  // the non-optional field is absent
    request::RequestView view(r);
    expect_bad(view.get());
    r.context.pop_back();
    request::RequestView short_view(r);
    expect_bad(short_view.get());
  }
}

TEST_CASE("interp: scalar obligations merge to the most restrictive", "[interp]") {
  Builder b;
  std::uint32_t t = b.Bool(true);
  ir::Obligations o1;
  o1.timeout_ms = 600000;
  o1.network = ir::Network::kAny;
  o1.has_read = true;
  o1.read = {"/tmp", "/work"};
  o1.has_env = true;
  o1.env = {"HOME", "PATH"};
  ir::Obligations o2;
  o2.timeout_ms = 1000;
  o2.memory_bytes = 1 << 30;
  o2.network = ir::Network::kLoopback;
  o2.has_read = true;
  o2.read = {"/var", "/work/repo"};
  o2.has_write = true;
  o2.write = {"/work/repo/out"};
  o2.private_tmp = true;
  o2.has_env = true;
  o2.env = {"PATH", "TERM"};
  ir::Obligations o3;
  o3.processes = 16;
  b.Rule("a", Verdict::kAllow, t, o1);
  b.Rule("b", Verdict::kAllow, t, o2);
  b.Rule("c", Verdict::kAllow, t, o3);
  PreparedPolicy prepared = Prepare(b.policy);
  gov_decision d = DecideBoth(prepared, GitStatus());
  REQUIRE(d.verdict == GOV_ALLOW);
  CHECK(d.timeout_ms == 1000);
  CHECK(d.memory_bytes == (1 << 30));
  CHECK(d.processes == 16);
  CHECK(d.network == GOV_NET_LOOPBACK);
  ir::Obligations merged = MergeObligations(b.policy, d);
  CHECK(merged.timeout_ms == 1000);
  CHECK(merged.memory_bytes == (1 << 30));
  CHECK(merged.processes == 16);
  CHECK(merged.network == ir::Network::kLoopback);
  CHECK(merged.has_read);
  CHECK(merged.read == std::vector<std::string>{"/work/repo"});
  CHECK(merged.has_write);
  CHECK(merged.write == std::vector<std::string>{"/work/repo/out"});
  CHECK(merged.private_tmp);  // any rule's `tmp = private`
  CHECK(merged.has_env);
  CHECK(merged.env == std::vector<std::string>{"PATH"});
  // A deny decision imposes nothing.
  gov_decision deny{};
  deny.verdict = GOV_DENY;
  deny.rule_count = 1;
  deny.rules[0] = 0;
  CHECK(MergeObligations(b.policy, deny) == ir::Obligations{});
  // Only rule c: lists stay unset.
  gov_decision only_c{};
  only_c.verdict = GOV_ALLOW;
  only_c.rule_count = 1;
  only_c.rules[0] = 2;
  ir::Obligations c = MergeObligations(b.policy, only_c);
  CHECK_FALSE(c.has_read);
  CHECK_FALSE(c.has_write);
  CHECK_FALSE(c.private_tmp);
  CHECK_FALSE(c.has_env);
  CHECK(c.processes == 16);
  CHECK(c.network == ir::Network::kUnset);
  // network none is the narrowest.
  ir::Obligations none;
  none.network = ir::Network::kNone;
  b.Rule("d", Verdict::kAllow, t, none);
  CHECK(DecideBoth(Prepare(b.policy), GitStatus()).network == GOV_NET_NONE);
}

TEST_CASE("interp: write and create obligations merge by what each rule lets a run write and create", "[interp]") {
  // A side of the table: `write` and `create` lists, each unset when absent.
  struct Writes {
    std::optional<std::vector<std::string>> write;
    std::optional<std::vector<std::string>> create;
  };
  auto obligations = [](const Writes& w) {
    ir::Obligations o;
    if (w.write) {
      o.has_write = true;
      o.write = *w.write;
    }
    if (w.create) {
      o.has_create = true;
      o.create = *w.create;
    }
    return o;
  };
  using Paths = std::vector<std::string>;
  struct Case {
    const char* what;
    std::vector<Writes> rules;
    Writes merged;
  };
  const Case cases[] = {
      {"one rule is its canonical form", {{Paths{"/w/b", "/w"}, Paths{"/c"}}}, {Paths{"/w"}, Paths{"/c"}}},
      {"create beneath write adds nothing", {{Paths{"/w"}, Paths{"/w/c"}}}, {Paths{"/w"}, Paths{}}},
      {"create alone", {{std::nullopt, Paths{"/tmp"}}}, {std::nullopt, Paths{"/tmp"}}},
      {"a rule without either confines nothing", {{}, {std::nullopt, Paths{"/tmp"}}}, {std::nullopt, Paths{"/tmp"}}},
      {"write meets create: only creation is left",
       {{Paths{"/tmp"}, std::nullopt}, {std::nullopt, Paths{"/tmp"}}},
       {Paths{}, Paths{"/tmp"}}},
      {"create-only rule forbids writing elsewhere",
       {{Paths{"/work"}, std::nullopt}, {std::nullopt, Paths{"/tmp"}}},
       {Paths{}, Paths{}}},
      {"the deeper path of each pair",
       {{Paths{"/a"}, Paths{"/b"}}, {Paths{"/a/x"}, Paths{"/b/y", "/a"}}},
       {Paths{"/a/x"}, Paths{"/a", "/b/y"}}},
      {"create meets write beneath it",
       {{std::nullopt, Paths{"/t"}}, {Paths{"/t/x"}, std::nullopt}},
       {Paths{}, Paths{"/t/x"}}},
      {"two writes stay writes",
       {{Paths{"/a", "/b"}, std::nullopt}, {Paths{"/b/c"}, std::nullopt}},
       {Paths{"/b/c"}, std::nullopt}},
  };
  for (const Case& c : cases) {
    INFO(c.what);
    std::vector<ir::Rule> rules;
    gov_decision d{};
    d.verdict = GOV_ALLOW;
    for (std::size_t i = 0; i < c.rules.size(); ++i) {
      ir::Rule rule;
      rule.name = "r" + std::to_string(i);
      rule.verdict = Verdict::kAllow;
      rule.obligations = obligations(c.rules[i]);
      rules.push_back(rule);
      d.rules[d.rule_count++] = static_cast<std::uint32_t>(i);
    }
    const ir::Obligations merged = MergeObligations(
        [&](std::uint32_t id) -> const ir::Rule* { return id < rules.size() ? &rules[id] : nullptr; }, d);
    const ir::Obligations want = obligations(c.merged);
    CHECK(merged.has_write == want.has_write);
    CHECK(merged.write == want.write);
    CHECK(merged.has_create == want.has_create);
    CHECK(merged.create == want.create);
    // Merging is order-independent.
    std::reverse(d.rules, d.rules + d.rule_count);
    CHECK(MergeObligations(
              [&](std::uint32_t id) -> const ir::Rule* { return id < rules.size() ? &rules[id] : nullptr; }, d) ==
          merged);
  }
}

TEST_CASE("interp: an approved ask runs under its ask rules' and every matching allow rule's obligations", "[interp]") {
  // Issue 13 finding 4: the allow rule that matched `touch ok/a outside2`
  // had `write = [ok]`; approving the ask must not lift it.
  Builder b;
  std::uint32_t t = b.Bool(true);
  std::uint32_t f = b.Bool(false);
  ir::Obligations touch;
  touch.timeout_ms = 600000;
  touch.network = ir::Network::kAny;
  touch.has_write = true;
  touch.write = {"/work/ok"};
  ir::Obligations broad;
  broad.memory_bytes = 1 << 30;
  broad.network = ir::Network::kLoopback;
  broad.has_env = true;
  broad.env = {"HOME", "PATH"};
  ir::Obligations asked;
  asked.timeout_ms = 60000;
  asked.processes = 8;
  asked.has_write = true;
  asked.write = {"/work"};
  asked.has_env = true;
  asked.env = {"PATH", "TERM"};
  ir::Obligations unmatched;
  unmatched.timeout_ms = 1;
  b.Rule("touch", Verdict::kAllow, t, touch);
  b.Rule("outside", Verdict::kAsk, t, asked, {}, "writes outside ok/");
  b.Rule("broad", Verdict::kAllow, t, broad);
  b.Rule("not_matching", Verdict::kAllow, f, unmatched);
  b.Rule("plain_ask", Verdict::kAsk, t);
  PreparedPolicy prepared = Prepare(b.policy);
  gov_decision d = DecideBoth(prepared, GitStatus());
  REQUIRE(d.verdict == GOV_ASK);
  REQUIRE(d.error == GOV_OK);
  CHECK(d.deciding_count == 2);
  CHECK(std::vector<std::uint32_t>(d.rules, d.rules + d.rule_count) == std::vector<std::uint32_t>{1, 4, 0, 2});
  // Scalars in the decision: over the ask rules and the matching allow rules.
  CHECK(d.timeout_ms == 60000);
  CHECK(d.memory_bytes == (1 << 30));
  CHECK(d.processes == 8);
  CHECK(d.network == GOV_NET_LOOPBACK);
  ir::Obligations merged = MergeObligations(b.policy, d);
  CHECK(merged.timeout_ms == 60000);
  CHECK(merged.memory_bytes == (1 << 30));
  CHECK(merged.processes == 8);
  CHECK(merged.network == ir::Network::kLoopback);
  CHECK(merged.has_write);
  CHECK(merged.write == std::vector<std::string>{"/work/ok"});
  CHECK(merged.has_env);
  CHECK(merged.env == std::vector<std::string>{"PATH"});
  CHECK_FALSE(merged.has_read);
  // The lookup over just the named rules (govrun's path) gives the same.
  RuleSubset subset;
  for (std::uint32_t k = 0; k < d.rule_count; ++k) subset.rules.emplace_back(d.rules[k], b.policy.rules[d.rules[k]]);
  CHECK(MergeObligations(subset.lookup(), d) == merged);
  Explanation e = Explain(b.policy, d);
  CHECK(e.verdict == "ask");
  REQUIRE(e.rules.size() == 2);
  CHECK(e.rules[0].name == "outside");
  CHECK(e.rules[1].name == "plain_ask");
  REQUIRE(e.obligation_rules.size() == 2);
  CHECK(e.obligation_rules[0].name == "touch");
  CHECK(e.obligation_rules[0].verdict == Verdict::kAllow);
  CHECK(e.obligation_rules[1].name == "broad");
  CHECK(e.summary ==
        "ask by outside (writes outside ok/), plain_ask; if approved, the obligations of touch, broad also apply");
  CHECK(Explain(subset.lookup(), d).summary == e.summary);

  // An ask without matching allow rules: its own obligations.
  b.policy.rules[0].condition = f;
  b.policy.rules[2].condition = f;
  d = DecideBoth(Prepare(b.policy), GitStatus());
  REQUIRE(d.verdict == GOV_ASK);
  CHECK(d.rule_count == 2);
  CHECK(d.deciding_count == 2);
  CHECK(d.timeout_ms == 60000);
  CHECK(d.network == GOV_NET_UNSET);
  merged = MergeObligations(b.policy, d);
  CHECK(merged.write == std::vector<std::string>{"/work"});
  CHECK(merged.env == std::vector<std::string>{"PATH", "TERM"});
  CHECK(Explain(b.policy, d).obligation_rules.empty());
  CHECK(Explain(b.policy, d).summary == "ask by outside (writes outside ok/), plain_ask");

  // A deny decides: nothing applies, and no allow rule is listed.
  b.policy.rules[0].condition = t;
  b.Rule("deny", Verdict::kDeny, t);
  d = DecideBoth(Prepare(b.policy), GitStatus());
  REQUIRE(d.verdict == GOV_DENY);
  CHECK(d.rule_count == 1);
  CHECK(d.deciding_count == 1);
  CHECK(d.timeout_ms == 0);
  CHECK(MergeObligations(b.policy, d) == ir::Obligations{});
  // An erring decision imposes nothing either.
  gov_decision erred = d;
  erred.verdict = GOV_ASK;
  erred.error = GOV_ERR_OVERFLOW;
  CHECK(MergeObligations(b.policy, erred) == ir::Obligations{});
}

TEST_CASE("interp: capabilities merge to the names every setting rule grants", "[interp]") {
  Builder b;
  std::uint32_t t = b.Bool(true);
  std::uint32_t f = b.Bool(false);
  auto granting = [](std::vector<std::string> names) {
    ir::Obligations o;
    o.has_capabilities = true;
    o.capabilities = std::move(names);
    return o;
  };
  b.Rule("web", Verdict::kAllow, t, granting({"chown", "net_bind_service", "setuid"}));
  b.Rule("silent", Verdict::kAllow, t);  // sets no capabilities: takes no part
  b.Rule("files", Verdict::kAllow, t, granting({"chown", "fowner", "setuid"}));
  b.Rule("off", Verdict::kAllow, f, granting({}));
  gov_decision d = DecideBoth(Prepare(b.policy), GitStatus());
  REQUIRE(d.verdict == GOV_ALLOW);
  ir::Obligations merged = MergeObligations(b.policy, d);
  CHECK(merged.has_capabilities);
  CHECK(merged.capabilities == std::vector<std::string>{"chown", "setuid"});
  // An approved ask: its own grant narrows the allow rules' further.
  b.Rule("asked", Verdict::kAsk, t, granting({"setuid", "sys_admin"}));
  d = DecideBoth(Prepare(b.policy), GitStatus());
  REQUIRE(d.verdict == GOV_ASK);
  merged = MergeObligations(b.policy, d);
  CHECK(merged.capabilities == std::vector<std::string>{"setuid"});
  // An explicitly empty grant empties the result and stays set.
  b.policy.rules[3].condition = t;
  d = DecideBoth(Prepare(b.policy), GitStatus());
  merged = MergeObligations(b.policy, d);
  CHECK(merged.has_capabilities);
  CHECK(merged.capabilities.empty());
  // No rule sets it: unset (govrun then grants none).
  gov_decision only_silent{};
  only_silent.verdict = GOV_ALLOW;
  only_silent.rule_count = 1;
  only_silent.deciding_count = 1;
  only_silent.rules[0] = 1;
  CHECK_FALSE(MergeObligations(b.policy, only_silent).has_capabilities);
}

TEST_CASE("interp: path prefix set intersection", "[interp]") {
  using V = std::vector<std::string>;
  CHECK(IntersectPrefixSets({"/"}, {"/b/c", "/a"}) == V{"/a", "/b/c"});
  CHECK(IntersectPrefixSets({"/a", "/b"}, {"/c"}) == V{});
  CHECK(IntersectPrefixSets({}, {"/a"}) == V{});
  CHECK(IntersectPrefixSets({"/a/b", "/a"}, {"/a"}) == V{"/a"});
  CHECK(IntersectPrefixSets({"/work/", "/tmp"}, {"/work/repo/../repo", "/tmpfoo"}) == V{"/work/repo"});
  CHECK(IntersectPrefixSets({"/x/1", "/x/2"}, {"/x"}) == V{"/x/1", "/x/2"});
}

TEST_CASE("interp: the rule index gives the same decisions as a full scan", "[interp]") {
  Builder b;
  std::uint32_t path = b.Get(Field::kProgramPath);
  std::uint32_t name = b.Get(Field::kProgramName);
  std::uint32_t is_git = b.Eq(path, b.Str("/usr/bin/git"));
  std::uint32_t is_make = b.Bin(Op::kIn, name, b.StrList({"cmake", "make"}));
  std::uint32_t first_arg = b.Bin(Op::kIndex, b.Get(Field::kArgs), b.Int(0));
  ir::RuleIndex git_index{{"/usr/bin/git"}, {}};
  ir::RuleIndex make_index{{}, {"cmake", "make"}};
  // Indexed rules whose other conjuncts err: without the index they are
  // evaluated and still false because the index conjunct is false.
  b.Rule("git_read", Verdict::kAllow, b.And({is_git, b.Eq(first_arg, b.Str("status"))}), {}, git_index);
  b.Rule("git_crash", Verdict::kDeny, b.And({b.DivErr(), is_git, b.Eq(first_arg, b.Str("crash"))}), {}, git_index);
  b.Rule("make_any", Verdict::kAllow, b.And({is_make}), {}, make_index);
  b.Rule("make_bad", Verdict::kDeny, b.And({is_make, b.Eq(first_arg, b.Str("release"))}), {}, make_index);
  b.Rule("either", Verdict::kAsk, b.And({b.Or({is_git, is_make}), b.Eq(first_arg, b.Str("push"))}), {},
         ir::RuleIndex{{"/usr/bin/git"}, {"cmake", "make"}});
  b.Rule("anything_rm", Verdict::kDeny, b.Eq(name, b.Str("rm")));
  PreparedPolicy prepared = Prepare(b.policy);
  REQUIRE(prepared.unindexed_rules() == std::vector<std::uint32_t>{5});
  REQUIRE(prepared.RulesForPath("/usr/bin/git") != nullptr);
  CHECK(*prepared.RulesForPath("/usr/bin/git") == std::vector<std::uint32_t>{0, 1, 4});
  CHECK(*prepared.RulesForName("make") == std::vector<std::uint32_t>{2, 3, 4});
  CHECK(prepared.RulesForName("git") == nullptr);

  struct Case {
    std::string program;
    std::vector<std::string> args;
    std::uint32_t verdict;
    std::uint32_t error;
  };
  const Case cases[] = {
      {"/usr/bin/git", {"status"}, GOV_ALLOW, GOV_OK},
      {"/usr/bin/git", {"crash"}, GOV_DENY, GOV_ERR_DIVISION},  // git_crash errs
      {"/usr/bin/make", {"all"}, GOV_ALLOW, GOV_OK},
      {"/usr/local/bin/make", {"release"}, GOV_DENY, GOV_OK},
      {"/usr/bin/cmake", {"push"}, GOV_ASK, GOV_OK},
      {"/bin/rm", {"-rf"}, GOV_DENY, GOV_OK},
      {"/usr/bin/curl", {}, GOV_DENY, GOV_OK},
      {"/opt/git", {"status"}, GOV_DENY, GOV_OK},
  };
  for (const Case& c : cases) {
    request::Request r;
    r.program_path = c.program;
    r.args = c.args;
    gov_decision d = DecideBoth(prepared, r);  // compares index on and off
    INFO(c.program);
    CHECK(d.verdict == c.verdict);
    CHECK(d.error == c.error);
  }
}

TEST_CASE("interp: explanations", "[interp]") {
  Builder b;
  b.Rule("git_read", Verdict::kAllow, b.Bool(true), {}, {}, "read-only git");
  b.Rule("build", Verdict::kAllow, b.Bool(true));
  gov_decision d = DecideBoth(Prepare(b.policy), GitStatus());
  Explanation e = Explain(b.policy, d);
  CHECK(e.verdict == "allow");
  CHECK(e.error.empty());
  REQUIRE(e.rules.size() == 2);
  CHECK(e.rules[0].name == "git_read");
  CHECK(e.rules[0].reason == "read-only git");
  CHECK(e.rules[1].id == 1);
  CHECK(e.summary == "allow by git_read (read-only git), build");
  gov_decision none{};
  none.verdict = GOV_DENY;
  none.error_rule = GOV_NO_RULE;
  CHECK(Explain(b.policy, none).summary == "deny: no rule allows");
  none.error = GOV_ERR_BAD_REQUEST;
  CHECK(Explain(b.policy, none).summary == "deny: bad request");
  CHECK(std::string(VerdictName(7)) == "invalid");
  CHECK(std::string(ErrorName(GOV_ERR_SCRATCH)) == "scratch memory exhausted");
}

TEST_CASE("interp: invalid policies are refused", "[interp]") {
  Builder b;
  b.Rule("r", Verdict::kAllow, 5);  // no such node
  ErrorOr<PreparedPolicy> prepared = PreparedPolicy::Create(b.policy);
  REQUIRE_FALSE(prepared.ok());
  CHECK(prepared.error().message == "invalid policy IR: rule 0: condition is not a node");
}

// examples/agent.gov, lowered by hand the way compiler/lower is specified to.
TEST_CASE("interp: examples/agent.gov lowered by hand", "[interp]") {
  Builder b;
  b.policy.name = "agent";
  b.policy.version = "1.0.0";
  b.policy.context = {{"ticket", Kind::kStr, true, ir::ContextField::Spelling::kString}};
  std::uint32_t path = b.Get(Field::kProgramPath);
  std::uint32_t name = b.Get(Field::kProgramName);
  std::uint32_t args = b.Get(Field::kArgs);
  std::uint32_t cwd = b.Get(Field::kCwd);
  std::uint32_t workspace = b.Str("/work/repo");
  std::uint32_t is_git = b.Eq(path, b.Str("/usr/bin/git"));
  std::uint32_t arg0 = b.Bin(Op::kIndex, args, b.Int(0));
  std::uint32_t git_read = b.And({is_git, b.Bin(Op::kIn, arg0, b.StrList({"diff", "log", "show", "status"}))});
  std::uint32_t build =
      b.And({b.Bin(Op::kIn, name, b.StrList({"cmake", "make", "ninja"})), b.Bin(Op::kUnder, cwd, workspace)});
  std::uint32_t git_push = b.And({is_git, b.Eq(arg0, b.Str("push"))});
  std::uint32_t a = b.Local(0, Kind::kStr);
  std::uint32_t body = b.And({b.Un(Op::kNot, b.Bin(Op::kStartsWith, a, b.Str("-"))),
                              b.Un(Op::kNot, b.Bin(Op::kUnder, b.Bin(Op::kPathJoin, cwd, a), workspace))});
  std::uint32_t delete_outside = b.And({b.Eq(name, b.Str("rm")), b.Quant(Op::kAny, args, 0, body)});
  std::uint32_t release = b.And(
      {b.Eq(name, b.Str("make")), b.Bin(Op::kIn, b.Str("release"), args), b.Eq(b.Context(0), b.None(Kind::kStr))});
  ir::Obligations build_obligations;
  build_obligations.timeout_ms = 600000;
  build_obligations.memory_bytes = 4LL << 30;
  build_obligations.processes = 256;
  build_obligations.network = ir::Network::kNone;
  build_obligations.has_write = true;
  build_obligations.write = {"/work/repo", "/tmp"};
  b.Rule("git_read", Verdict::kAllow, git_read, {}, {{"/usr/bin/git"}, {}}, "read-only git");
  b.Rule("build", Verdict::kAllow, build, build_obligations, {{}, {"cmake", "make", "ninja"}});
  b.Rule("git_push", Verdict::kAsk, git_push, {}, {{"/usr/bin/git"}, {}}, "pushing leaves the machine");
  b.Rule("delete_outside", Verdict::kDeny, delete_outside, {}, {{}, {"rm"}}, "deletes outside the workspace");
  b.Rule("release_without_ticket", Verdict::kDeny, release, {}, {{}, {"make"}}, "a release needs a change ticket");
  PreparedPolicy prepared = Prepare(b.policy);

  auto exec = [&](std::vector<std::string> argv, std::string cwd_path = "/", std::optional<std::string> ticket = {}) {
    request::Request r;
    r.program_path = argv[0];
    r.args.assign(argv.begin() + 1, argv.end());
    r.cwd = std::move(cwd_path);
    r.context = {{ticket.has_value(), 0, ticket.value_or("")}};
    return DecideBoth(prepared, r);
  };
  auto by = [&](const gov_decision& d) { return Explain(b.policy, d).summary; };
  CHECK(by(exec({"/usr/bin/git", "status"})) == "allow by git_read (read-only git)");
  CHECK(by(exec({"/usr/bin/git"})) == "deny: no rule allows");
  CHECK(by(exec({"/usr/bin/git", "push"})) == "ask by git_push (pushing leaves the machine)");
  CHECK(by(exec({"/usr/bin/rm", "-rf", "/etc"}, "/work/repo")) ==
        "deny by delete_outside (deletes outside the workspace)");
  CHECK(by(exec({"/usr/bin/rm", "-rf", "build"}, "/work/repo")) == "deny: no rule allows");
  CHECK(by(exec({"/usr/bin/make", "release"}, "/work/repo")) ==
        "deny by release_without_ticket (a release needs a change ticket)");
  gov_decision d = exec({"/usr/bin/make", "release"}, "/work/repo", "CHG-1");
  CHECK(by(d) == "allow by build");
  CHECK(d.timeout_ms == 600000);
  CHECK(d.memory_bytes == 4LL << 30);
  CHECK(d.processes == 256);
  CHECK(d.network == GOV_NET_NONE);
  ir::Obligations merged = MergeObligations(b.policy, d);
  CHECK(merged.write == std::vector<std::string>{"/tmp", "/work/repo"});
  CHECK(by(exec({"/usr/bin/curl", "example.com"})) == "deny: no rule allows");
}

TEST_CASE("interp: EvaluateBool evaluates a closed node as a rule condition would, and refuses free variables",
          "[interp]") {
  Builder b;
  const std::uint32_t is_git = b.Eq(b.Get(Field::kProgramName), b.Str("git"));
  const std::uint32_t element = b.Local(0, Kind::kStr);
  const std::uint32_t body = b.Eq(element, b.Str("status"));
  const std::uint32_t any = b.Quant(Op::kAny, b.Get(Field::kArgs), 0, body);
  const std::uint32_t both = b.And({is_git, any});
  b.Rule("r", Verdict::kAllow, both);
  PreparedPolicy prepared = Prepare(b.policy);
  request::Request r = GitStatus();
  request::RequestView view(r);
  bool value = false;
  CHECK(EvaluateBool(prepared, view.get(), both, value) == GOV_OK);
  CHECK(value == TraceRule(prepared, view.get(), 0).matched);
  CHECK(value);
  r.args = {"log"};
  request::RequestView other(r);
  CHECK(EvaluateBool(prepared, other.get(), any, value) == GOV_OK);
  CHECK_FALSE(value);
  // The quantifier's body reads its variable: not evaluable on its own.
  CHECK(EvaluateBool(prepared, view.get(), body, value) == GOV_ERR_INTERNAL);
  // Not a Bool node, or out of range.
  CHECK(EvaluateBool(prepared, view.get(), element, value) == GOV_ERR_INTERNAL);
  CHECK(EvaluateBool(prepared, view.get(), 100000, value) == GOV_ERR_INTERNAL);
}

}  // namespace
}  // namespace gov::interp
