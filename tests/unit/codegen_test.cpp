// Unit tests for compiler/codegen: every IR op on hand-built policies (each
// case compared with the reference interpreter and with an exact expected
// outcome), decision combination, error precedence, request validation, the
// rule index, scratch accounting, random differential testing against the
// interpreter, concurrent calls, the object's symbol table, and the shared
// object loaded from a memfd with dlopen.
#include "compiler/codegen/codegen.h"

#include <dlfcn.h>
#include <sys/mman.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <charconv>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <functional>
#include <initializer_list>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "compiler/codegen/elf.h"
#include "runtime/abi/helpers.h"
#include "runtime/argparse/command.h"
#include "runtime/bundle/bundle.h"
#include "runtime/bundle/loader.h"
#include "runtime/crypto/ed25519.h"
#include "runtime/interp/interp.h"
#include "runtime/ir/ir.h"
#include "runtime/ir/serialize.h"
#include "runtime/pattern/pattern.h"
#include "runtime/request/request.h"
#include "runtime/support/path.h"

namespace gov::codegen {
namespace {

using ir::Field;
using ir::Kind;
using ir::Op;
using ir::Verdict;

constexpr std::uint32_t kNo = ir::kNoNode;

// Builds policies node by node; kinds and optionality follow ir::Validate.
class Ir {
 public:
  ir::Policy p;

  const ir::Node& At(std::uint32_t i) const { return p.nodes[i]; }
  std::uint32_t Add(Op op, Kind kind, bool optional, std::uint32_t a = kNo, std::uint32_t b = kNo,
                    std::uint32_t c = kNo, std::int64_t imm = 0) {
    p.nodes.push_back(ir::Node{op, kind, optional, a, b, c, imm});
    return static_cast<std::uint32_t>(p.nodes.size() - 1);
  }

  std::uint32_t Bool(bool v) { return Add(Op::kConstBool, Kind::kBool, false, kNo, kNo, kNo, v ? 1 : 0); }
  std::uint32_t Int(std::int64_t v) { return Add(Op::kConstInt, Kind::kInt, false, kNo, kNo, kNo, v); }
  std::uint32_t Str(const std::string& s) {
    p.strings.push_back(s);
    return Add(Op::kConstStr, Kind::kStr, false, Last(p.strings));
  }
  std::uint32_t Strs(std::vector<std::string> list) {
    p.str_lists.push_back(std::move(list));
    return Add(Op::kConstList, Kind::kStrList, false, Last(p.str_lists));
  }
  std::uint32_t Ints(std::vector<std::int64_t> list) {
    p.int_lists.push_back(std::move(list));
    return Add(Op::kConstList, Kind::kIntList, false, Last(p.int_lists));
  }
  std::uint32_t Map(std::vector<std::pair<std::string, std::string>> map) {
    p.maps.push_back(std::move(map));
    return Add(Op::kConstMap, Kind::kStrMap, false, Last(p.maps));
  }
  std::uint32_t None(Kind kind) { return Add(Op::kNone, kind, true); }
  std::uint32_t Get(Field field) {
    Kind kind = Kind::kStr;
    bool optional = false;
    switch (field) {
      case Field::kArgs:
      case Field::kUserGroups:
        kind = Kind::kStrList;
        break;
      case Field::kEnv:
        kind = Kind::kStrMap;
        break;
      case Field::kUserUid:
      case Field::kUserGid:
      case Field::kTimeUnix:
      case Field::kTimeHour:
      case Field::kTimeMinute:
        kind = Kind::kInt;
        break;
      case Field::kParentDepth:
        kind = Kind::kInt;
        optional = true;
        break;
      case Field::kParentRunId:
      case Field::kParentProgram:
        optional = true;
        break;
      case Field::kProgramWrittenInSession:
        kind = Kind::kBool;
        break;
      default:
        break;
    }
    return Add(Op::kField, kind, optional, kNo, kNo, kNo, static_cast<std::int64_t>(field));
  }
  std::uint32_t Context(std::uint32_t index) {
    const ir::ContextField& f = p.context[index];
    return Add(Op::kField, f.kind, f.optional, index, kNo, kNo, static_cast<std::int64_t>(Field::kContext));
  }
  std::uint32_t Local(std::uint32_t slot, Kind kind) {
    if (slot >= p.local_slots) p.local_slots = slot + 1;
    return Add(Op::kLocal, kind, false, slot);
  }
  std::uint32_t Nary(Op op, const std::vector<std::uint32_t>& operands) {
    auto start = static_cast<std::uint32_t>(p.operands.size());
    p.operands.insert(p.operands.end(), operands.begin(), operands.end());
    auto count = static_cast<std::uint32_t>(operands.size());
    return Add(op, Kind::kBool, false, count == 0 ? kNo : start, count);
  }
  std::uint32_t And(const std::vector<std::uint32_t>& operands) { return Nary(Op::kAnd, operands); }
  std::uint32_t Or(const std::vector<std::uint32_t>& operands) { return Nary(Op::kOr, operands); }
  std::uint32_t Not(std::uint32_t a) { return Add(Op::kNot, Kind::kBool, false, a); }
  std::uint32_t If(std::uint32_t a, std::uint32_t b, std::uint32_t c) {
    return Add(Op::kIf, At(b).kind, At(b).optional || At(c).optional, a, b, c);
  }
  // Any Bool-valued binary op (comparisons, tests).
  std::uint32_t Test(Op op, std::uint32_t a, std::uint32_t b) { return Add(op, Kind::kBool, false, a, b); }
  std::uint32_t Eq(std::uint32_t a, std::uint32_t b) { return Test(Op::kEq, a, b); }
  std::uint32_t IsNone(std::uint32_t a) { return Add(Op::kIsNone, Kind::kBool, false, a); }
  std::uint32_t Match(std::uint32_t a, pattern::Syntax syntax, const std::string& source) {
    pattern::CompileResult compiled = pattern::Compile(syntax, source);
    REQUIRE(compiled.dfa.has_value());
    p.patterns.push_back({source, syntax == pattern::Syntax::kRegex, compiled.dfa->Serialize()});
    return Add(Op::kMatches, Kind::kBool, false, a, kNo, kNo, static_cast<std::int64_t>(p.patterns.size() - 1));
  }
  std::uint32_t Coalesce(std::uint32_t a, std::uint32_t b) {
    return Add(Op::kCoalesce, At(a).kind, At(b).optional, a, b);
  }
  // kLower, kUpper, kPathName, kPathParent, kPathExt, kToPath.
  std::uint32_t StrOp(Op op, std::uint32_t a) { return Add(op, Kind::kStr, At(a).optional, a); }
  std::uint32_t Len(std::uint32_t a) { return Add(Op::kLen, Kind::kInt, At(a).optional, a); }
  // kConcat, kPathJoin.
  std::uint32_t StrOp2(Op op, std::uint32_t a, std::uint32_t b) {
    return Add(op, Kind::kStr, At(a).optional || At(b).optional, a, b);
  }
  std::uint32_t Index(std::uint32_t list, std::uint32_t at) {
    return Add(Op::kIndex, At(list).kind == Kind::kIntList ? Kind::kInt : Kind::kStr, true, list, at);
  }
  std::uint32_t MapGet(std::uint32_t map, std::uint32_t key) { return Add(Op::kMapGet, Kind::kStr, true, map, key); }
  std::uint32_t Arith(Op op, std::uint32_t a, std::uint32_t b) {
    return Add(op, Kind::kInt, At(a).optional || At(b).optional, a, b);
  }
  std::uint32_t Neg(std::uint32_t a) { return Add(Op::kNeg, Kind::kInt, At(a).optional, a); }
  std::uint32_t Quant(Op op, std::uint32_t list, std::uint32_t slot, std::uint32_t body) {
    if (slot >= p.local_slots) p.local_slots = slot + 1;
    return Add(op, Kind::kBool, false, list, body, kNo, slot);
  }
  // Expressions that err: 1 / 0 == 0 and INT64_MAX + 1 == 0.
  std::uint32_t DivError() { return Eq(Arith(Op::kDiv, Int(1), Int(0)), Int(0)); }
  std::uint32_t Overflow() { return Eq(Arith(Op::kAdd, Int(INT64_MAX), Int(1)), Int(0)); }

  std::uint32_t Rule(const std::string& name, Verdict verdict, std::uint32_t condition, ir::Obligations o = {},
                     ir::RuleIndex index = {}) {
    ir::Rule rule;
    rule.name = name;
    rule.verdict = verdict;
    rule.condition = condition;
    rule.obligations = std::move(o);
    rule.index = std::move(index);
    p.rules.push_back(std::move(rule));
    return static_cast<std::uint32_t>(p.rules.size() - 1);
  }

 private:
  template <typename T>
  static std::uint32_t Last(const std::vector<T>& pool) {
    return static_cast<std::uint32_t>(pool.size() - 1);
  }
};

request::Request GitStatus() {
  request::Request r;
  r.program_path = "/usr/bin/git";
  r.args = {"status", "--short"};
  r.env = {{"HOME", "/home/u"}, {"PATH", "/usr/bin:/bin"}};
  r.cwd = "/work/repo";
  r.groups = {"wheel", "dev"};
  return r;
}

Options FastOptions() {
  Options options;
  options.link_image = false;
  return options;
}

std::unique_ptr<JitPolicy> MustCompile(const ir::Policy& policy, const Options& options = FastOptions()) {
  ErrorOr<std::unique_ptr<JitPolicy>> compiled = JitPolicy::Compile(policy, options);
  INFO((compiled.ok() ? std::string() : compiled.error().message));
  REQUIRE(compiled.ok());
  return std::move(compiled).value();
}

interp::PreparedPolicy MustPrepare(const ir::Policy& policy) {
  ErrorOr<interp::PreparedPolicy> prepared = interp::PreparedPolicy::Create(policy);
  INFO((prepared.ok() ? std::string() : prepared.error().message));
  REQUIRE(prepared.ok());
  return std::move(prepared).value();
}

std::string Describe(const gov_decision& d) {
  std::string text = std::string(interp::VerdictName(d.verdict)) + " error=" + interp::ErrorName(d.error) +
                     " error_rule=" + std::to_string(d.error_rule) + " deciding=" + std::to_string(d.deciding_count) +
                     " rules=[";
  for (std::uint32_t k = 0; k < d.rule_count && k < GOV_MAX_DECIDING_RULES; ++k) {
    text += (k > 0 ? "," : "") + std::to_string(d.rules[k]);
  }
  return text + "] timeout=" + std::to_string(d.timeout_ms) + " memory=" + std::to_string(d.memory_bytes) +
         " processes=" + std::to_string(d.processes) + " network=" + std::to_string(d.network);
}

// Every field the ABI defines must be equal (rules[count..] are unspecified;
// SameDecision compares all the others).
bool Identical(const gov_decision& a, const gov_decision& b) {
  return interp::SameDecision(a, b);
}

// Decides natively (checking the return value) and with the interpreter;
// the two must agree exactly. Returns the native decision.
gov_decision Decide(const JitPolicy& jit, const interp::PreparedPolicy& prepared, const gov_request& request) {
  gov_decision native;
  std::memset(&native, 0xab, sizeof native);
  std::uint32_t verdict = jit.decide()(&request, &native, abi::DefaultHelpers());
  gov_decision reference;
  std::memset(&reference, 0xcd, sizeof reference);
  interp::Decide(prepared, request, reference);
  INFO("native:    " << Describe(native));
  INFO("reference: " << Describe(reference));
  CHECK(verdict == native.verdict);
  CHECK(Identical(native, reference));
  return native;
}

// The outcome of a boolean expression as the condition of one allow rule.
struct Outcome {
  bool value = false;
  std::uint32_t error = GOV_OK;
  bool operator==(const Outcome&) const = default;
};
std::ostream& operator<<(std::ostream& os, const Outcome& o) {
  return os << "{" << (o.value ? "true" : "false") << ", " << interp::ErrorName(o.error) << "}";
}
constexpr Outcome kTrue{true, GOV_OK};
constexpr Outcome kFalse{false, GOV_OK};
constexpr Outcome Err(std::uint32_t error) {
  return {false, error};
}

// Compiles `b`'s nodes with one allow rule on `condition` and decides `r`.
Outcome Probe(const Ir& b, std::uint32_t condition, const request::Request& r = GitStatus()) {
  ir::Policy policy = b.p;
  policy.rules.clear();
  ir::Rule rule;
  rule.name = "probe";
  rule.verdict = Verdict::kAllow;
  rule.condition = condition;
  policy.rules.push_back(rule);
  std::unique_ptr<JitPolicy> jit = MustCompile(policy);
  interp::PreparedPolicy prepared = MustPrepare(policy);
  request::RequestView view(r);
  gov_decision d = Decide(*jit, prepared, view.get());
  if (d.error != GOV_OK) {
    CHECK(d.error_rule == (d.error == GOV_ERR_BAD_REQUEST ? GOV_NO_RULE : 0));
    return Err(d.error);
  }
  return {d.verdict == GOV_ALLOW, GOV_OK};
}

// Many probes on one policy: each condition becomes an allow rule on its
// own policy copy (errors would otherwise mask each other).
void ExpectAll(const Ir& b, const std::vector<std::pair<std::uint32_t, Outcome>>& cases,
               const request::Request& r = GitStatus()) {
  for (std::size_t k = 0; k < cases.size(); ++k) {
    INFO("case " << k << " (node " << cases[k].first << ")");
    CHECK(Probe(b, cases[k].first, r) == cases[k].second);
  }
}

TEST_CASE("codegen: request fields", "[codegen]") {
  Ir b;
  request::Request r = GitStatus();
  r.argv0 = "git";
  r.user_name = "ann";
  r.uid = 1001;
  r.gid = 1002;
  r.host = "box";
  r.time_unix = 1767268800 + 3 * 3600 + 25 * 60;  // 2026-01-01 15:25 UTC, a Thursday
  ExpectAll(b,
            {
                {b.Eq(b.Get(Field::kProgramPath), b.Str("/usr/bin/git")), kTrue},
                {b.Eq(b.Get(Field::kProgramName), b.Str("git")), kTrue},
                {b.Eq(b.Get(Field::kProgramSha256), b.Str("sha256:" + std::string(64, '0'))), kTrue},
                {b.Eq(b.Get(Field::kArgs), b.Strs({"status", "--short"})), kTrue},
                {b.Eq(b.Get(Field::kArgv0), b.Str("git")), kTrue},
                {b.Eq(b.Get(Field::kEnv), b.Map({{"HOME", "/home/u"}, {"PATH", "/usr/bin:/bin"}})), kTrue},
                {b.Eq(b.Get(Field::kCwd), b.Str("/work/repo")), kTrue},
                {b.Eq(b.Get(Field::kUserName), b.Str("ann")), kTrue},
                {b.Eq(b.Get(Field::kUserUid), b.Int(1001)), kTrue},
                {b.Eq(b.Get(Field::kUserGid), b.Int(1002)), kTrue},
                {b.Eq(b.Get(Field::kUserGroups), b.Strs({"dev", "wheel"})), kTrue},
                {b.Eq(b.Get(Field::kHostName), b.Str("box")), kTrue},
                {b.Eq(b.Get(Field::kTimeUnix), b.Int(r.time_unix)), kTrue},
                {b.Eq(b.Get(Field::kTimeHour), b.Int(15)), kTrue},
                {b.Eq(b.Get(Field::kTimeMinute), b.Int(25)), kTrue},
                {b.Eq(b.Get(Field::kTimeWeekday), b.Str("thu")), kTrue},
                {b.Eq(b.Get(Field::kTimeDate), b.Str("2026-01-01")), kTrue},
                {b.IsNone(b.Get(Field::kParentRunId)), kTrue},
                {b.IsNone(b.Get(Field::kParentDepth)), kTrue},
                {b.IsNone(b.Get(Field::kParentProgram)), kTrue},
            },
            r);
  r.has_parent = true;
  r.parent_run_id = "run-1";
  r.parent_depth = 2;
  r.parent_program = "/bin/sh";
  ExpectAll(b,
            {
                {b.Eq(b.Get(Field::kParentRunId), b.Str("run-1")), kTrue},
                {b.Eq(b.Get(Field::kParentDepth), b.Int(2)), kTrue},
                {b.Eq(b.Get(Field::kParentProgram), b.Str("/bin/sh")), kTrue},
                {b.IsNone(b.Get(Field::kParentDepth)), kFalse},
            },
            r);
  // How the program was invoked, beside the file that runs (a symlink, as
  // /usr/bin/npm is to npm-cli.js): the native code reads the same fields.
  ExpectAll(b,
            {
                {b.Eq(b.Get(Field::kInvokedPath), b.Str("/usr/bin/git")), kTrue},
                {b.Eq(b.Get(Field::kInvokedName), b.Str("git")), kTrue},
            },
            r);
  r.program_path = "/usr/lib/node_modules/npm/bin/npm-cli.js";
  r.invoked_path = "/usr/bin/npm";
  ExpectAll(b,
            {
                {b.Eq(b.Get(Field::kProgramName), b.Str("npm-cli.js")), kTrue},
                {b.Eq(b.Get(Field::kInvokedPath), b.Str("/usr/bin/npm")), kTrue},
                {b.Eq(b.Get(Field::kInvokedName), b.Str("npm")), kTrue},
                {b.Eq(b.Get(Field::kInvokedName), b.Get(Field::kProgramName)), kFalse},
            },
            r);
  // Whether the file changed during the governed session: one byte of the
  // request, read by the native code as by the interpreter.
  const std::uint32_t written = b.Get(Field::kProgramWrittenInSession);
  ExpectAll(b, {{written, kFalse}, {b.Not(written), kTrue}, {b.Eq(written, b.Bool(false)), kTrue}}, r);
  r.program_written_in_session = true;
  ExpectAll(b,
            {{written, kTrue},
             {b.Not(written), kFalse},
             {b.And({written, b.Eq(b.Get(Field::kProgramName), b.Str("npm-cli.js"))}), kTrue}},
            r);
}

TEST_CASE("codegen: context fields and request validation", "[codegen]") {
  Ir b;
  using Spelling = ir::ContextField::Spelling;
  b.p.context = {{"ticket", Kind::kStr, false, Spelling::kString},
                 {"urgent", Kind::kBool, true, Spelling::kBool},
                 {"budget", Kind::kInt, true, Spelling::kInt}};
  request::Request r = GitStatus();
  r.context = {{true, 0, "T-1"}, {true, 1, ""}, {false, 0, ""}};
  ExpectAll(b,
            {
                {b.Eq(b.Context(0), b.Str("T-1")), kTrue},
                {b.Eq(b.Context(1), b.Bool(true)), kTrue},
                {b.IsNone(b.Context(2)), kTrue},
                {b.Eq(b.Coalesce(b.Context(2), b.Int(5)), b.Int(5)), kTrue},
            },
            r);

  std::uint32_t always = b.Bool(true);
  SECTION("a missing required field is a bad request") {
    r.context[0].present = false;
    CHECK(Probe(b, always, r) == Err(GOV_ERR_BAD_REQUEST));
  }
  SECTION("a wrong context count is a bad request") {
    r.context.pop_back();
    CHECK(Probe(b, always, r) == Err(GOV_ERR_BAD_REQUEST));
  }
  SECTION("a wrong ABI version is a bad request") {
    ir::Policy policy = b.p;
    policy.rules.clear();
    ir::Rule rule;
    rule.name = "x";
    rule.verdict = Verdict::kAllow;
    rule.condition = always;
    policy.rules.push_back(rule);
    std::unique_ptr<JitPolicy> jit = MustCompile(policy);
    interp::PreparedPolicy prepared = MustPrepare(policy);
    request::RequestView view(r);
    gov_request bad = view.get();
    bad.abi_version = GOV_ABI_VERSION + 1;
    gov_decision d = Decide(*jit, prepared, bad);
    CHECK(d.error == GOV_ERR_BAD_REQUEST);
    CHECK(d.error_rule == GOV_NO_RULE);
    CHECK(d.rule_count == 0);
    bad = view.get();
    bad.context = nullptr;
    d = Decide(*jit, prepared, bad);
    CHECK(d.error == GOV_ERR_BAD_REQUEST);
  }
}

TEST_CASE("codegen: and/or are order-independent with errors", "[codegen]") {
  Ir b;
  std::uint32_t t = b.Bool(true);
  std::uint32_t f = b.Bool(false);
  std::uint32_t div = b.DivError();
  std::uint32_t ovf = b.Overflow();
  ExpectAll(b, {
                   {b.And({}), kTrue},
                   {b.Or({}), kFalse},
                   {b.And({t, t}), kTrue},
                   {b.And({div, f}), kFalse},
                   {b.And({f, div}), kFalse},
                   {b.And({div, t}), Err(GOV_ERR_DIVISION)},
                   {b.And({t, ovf, div}), Err(GOV_ERR_OVERFLOW)},
                   {b.And({div, ovf}), Err(GOV_ERR_DIVISION)},
                   {b.Or({div, t}), kTrue},
                   {b.Or({t, div}), kTrue},
                   {b.Or({div, f}), Err(GOV_ERR_DIVISION)},
                   {b.Or({f, ovf, div}), Err(GOV_ERR_OVERFLOW)},
                   {b.Or({f, f}), kFalse},
                   {b.Not(f), kTrue},
                   {b.Not(div), Err(GOV_ERR_DIVISION)},
                   {b.And({b.Or({div, f}), f}), kFalse},
               });
}

TEST_CASE("codegen: if evaluates only the chosen branch", "[codegen]") {
  Ir b;
  std::uint32_t div = b.DivError();
  ExpectAll(b, {
                   {b.If(b.Bool(true), b.Bool(true), div), kTrue},
                   {b.If(b.Bool(false), div, b.Bool(false)), kFalse},
                   {b.If(b.Bool(false), b.Bool(true), div), Err(GOV_ERR_DIVISION)},
                   {b.If(div, b.Bool(true), b.Bool(true)), Err(GOV_ERR_DIVISION)},
                   {b.Eq(b.If(b.Bool(true), b.Str("a"), b.None(Kind::kStr)), b.Str("a")), kTrue},
                   {b.IsNone(b.If(b.Bool(false), b.Str("a"), b.None(Kind::kStr))), kTrue},
                   {b.Eq(b.Len(b.If(b.Bool(false), b.Get(Field::kArgs), b.Strs({"x", "y", "z"}))), b.Int(3)), kTrue},
               });
}

TEST_CASE("codegen: equality with absence, lists and maps", "[codegen]") {
  Ir b;
  ExpectAll(b, {
                   {b.Eq(b.None(Kind::kStr), b.None(Kind::kStr)), kTrue},
                   {b.Eq(b.None(Kind::kStr), b.Str("")), kFalse},
                   {b.Test(Op::kNe, b.Str(""), b.None(Kind::kStr)), kTrue},
                   {b.Eq(b.Str("ab"), b.Str("ab")), kTrue},
                   {b.Eq(b.Str("ab"), b.Str("abc")), kFalse},
                   {b.Test(Op::kNe, b.Int(1), b.Int(2)), kTrue},
                   {b.Eq(b.Bool(false), b.Bool(false)), kTrue},
                   {b.Eq(b.Strs({"a", "b"}), b.Strs({"a", "b"})), kTrue},
                   {b.Eq(b.Strs({"a", "b"}), b.Strs({"b", "a"})), kFalse},
                   {b.Eq(b.Strs({"a"}), b.Strs({"a", "b"})), kFalse},
                   {b.Eq(b.Ints({1, 2}), b.Ints({1, 2})), kTrue},
                   {b.Eq(b.Ints({1, 2}), b.Ints({1, 3})), kFalse},
                   {b.Eq(b.Map({{"a", "1"}}), b.Map({{"a", "1"}})), kTrue},
                   {b.Eq(b.Map({{"a", "1"}}), b.Map({{"a", "2"}})), kFalse},
                   {b.Eq(b.Map({{"a", "1"}}), b.Map({{"b", "1"}})), kFalse},
                   {b.Eq(b.None(Kind::kStrMap), b.Map({})), kFalse},
                   {b.Eq(b.Get(Field::kArgs), b.Strs({"status"})), kFalse},
               });
}

TEST_CASE("codegen: ordering of ints and strings", "[codegen]") {
  Ir b;
  ExpectAll(b, {
                   {b.Test(Op::kLt, b.Int(-5), b.Int(3)), kTrue},
                   {b.Test(Op::kLe, b.Int(3), b.Int(3)), kTrue},
                   {b.Test(Op::kGt, b.Int(INT64_MIN), b.Int(INT64_MAX)), kFalse},
                   {b.Test(Op::kGe, b.Int(4), b.Int(3)), kTrue},
                   {b.Test(Op::kLt, b.Str("ab"), b.Str("abc")), kTrue},
                   {b.Test(Op::kLt, b.Str("abc"), b.Str("abd")), kTrue},
                   {b.Test(Op::kGt, b.Str("b"), b.Str("abc")), kTrue},
                   {b.Test(Op::kLt, b.Str("\x7f"), b.Str("\x80")), kTrue},  // bytes are unsigned
                   {b.Test(Op::kGe, b.Str(""), b.Str("")), kTrue},
                   {b.Test(Op::kLt, b.None(Kind::kInt), b.Int(1)), kFalse},
                   {b.Test(Op::kGe, b.None(Kind::kStr), b.None(Kind::kStr)), kFalse},
               });
}

TEST_CASE("codegen: membership and string tests", "[codegen]") {
  Ir b;
  std::vector<std::string> many;
  for (int i = 0; i < 100; ++i) many.push_back("item" + std::to_string(i * 7 % 100));
  std::uint32_t big = b.Strs(many);
  ExpectAll(b, {
                   {b.Test(Op::kIn, b.Str("status"), b.Get(Field::kArgs)), kTrue},
                   {b.Test(Op::kIn, b.Str("push"), b.Get(Field::kArgs)), kFalse},
                   {b.Test(Op::kIn, b.Str("b"), b.Strs({"c", "a", "b", "a"})), kTrue},
                   {b.Test(Op::kIn, b.Str("item63"), big), kTrue},
                   {b.Test(Op::kIn, b.Str("item"), big), kFalse},
                   {b.Test(Op::kIn, b.Str(""), b.Strs({})), kFalse},
                   {b.Test(Op::kIn, b.Int(3), b.Ints({9, 3, -1})), kTrue},
                   {b.Test(Op::kIn, b.Int(4), b.Ints({9, 3, -1})), kFalse},
                   {b.Test(Op::kIn, b.None(Kind::kStr), b.Strs({""})), kFalse},
                   {b.Test(Op::kIn, b.Str("x"), b.None(Kind::kStrList)), kFalse},
                   {b.Test(Op::kHasKey, b.Str("HOME"), b.Get(Field::kEnv)), kTrue},
                   {b.Test(Op::kHasKey, b.Str("HOM"), b.Get(Field::kEnv)), kFalse},
                   {b.Test(Op::kHasKey, b.Str("k"), b.Map({{"a", ""}, {"k", "v"}})), kTrue},
                   {b.Test(Op::kUnder, b.Get(Field::kCwd), b.Str("/work")), kTrue},
                   {b.Test(Op::kUnder, b.Str("/workx"), b.Str("/work")), kFalse},
                   {b.Test(Op::kUnder, b.Str("/a//b/"), b.Str("/a/b")), kTrue},
                   {b.Test(Op::kUnder, b.Str("a"), b.Str("/")), kFalse},
                   {b.Test(Op::kStartsWith, b.Str("status"), b.Str("st")), kTrue},
                   {b.Test(Op::kStartsWith, b.Str("s"), b.Str("st")), kFalse},
                   {b.Test(Op::kEndsWith, b.Str("x.tar.gz"), b.Str(".gz")), kTrue},
                   {b.Test(Op::kEndsWith, b.Str("gz"), b.Str(".gz")), kFalse},
                   {b.Test(Op::kContains, b.Str("abcabd"), b.Str("abd")), kTrue},
                   {b.Test(Op::kContains, b.Str("abcab"), b.Str("abd")), kFalse},
                   {b.Test(Op::kContains, b.Str("abc"), b.Str("")), kTrue},
                   {b.Test(Op::kContains, b.None(Kind::kStr), b.Str("")), kFalse},
                   {b.Match(b.Str("notes.txt"), pattern::Syntax::kGlob, "*.txt"), kTrue},
                   {b.Match(b.Str("notes.txt.bak"), pattern::Syntax::kGlob, "*.txt"), kFalse},
                   {b.Match(b.Str("abcbd"), pattern::Syntax::kRegex, "a(b|c)*d?"), kTrue},
                   {b.Match(b.Str("abx"), pattern::Syntax::kRegex, "a(b|c)*d?"), kFalse},
                   {b.Match(b.Str(std::string("\xff\0z", 3)), pattern::Syntax::kRegex, "\\C*"), kTrue},
                   {b.Match(b.None(Kind::kStr), pattern::Syntax::kRegex, "\\C*"), kFalse},
                   {b.IsNone(b.Str("")), kFalse},
                   {b.IsNone(b.DivError()), Err(GOV_ERR_DIVISION)},
               });
}

TEST_CASE("codegen: value ops and absence", "[codegen]") {
  Ir b;
  std::uint32_t none = b.None(Kind::kStr);
  ExpectAll(b, {
                   {b.Eq(b.StrOp(Op::kLower, b.Str("AbC-Z@[")), b.Str("abc-z@[")), kTrue},
                   {b.Eq(b.StrOp(Op::kUpper, b.Str("aBc-z`{")), b.Str("ABC-Z`{")), kTrue},
                   {b.IsNone(b.StrOp(Op::kLower, none)), kTrue},
                   {b.Eq(b.Len(b.Str("abc")), b.Int(3)), kTrue},
                   {b.Eq(b.Len(b.Get(Field::kArgs)), b.Int(2)), kTrue},
                   {b.Eq(b.Len(b.Get(Field::kEnv)), b.Int(2)), kTrue},
                   {b.IsNone(b.Len(b.None(Kind::kStrList))), kTrue},
                   {b.Eq(b.StrOp2(Op::kConcat, b.Str("ab"), b.Str("cd")), b.Str("abcd")), kTrue},
                   {b.IsNone(b.StrOp2(Op::kConcat, b.Str("ab"), none)), kTrue},
                   {b.Eq(b.StrOp2(Op::kPathJoin, b.Str("/a"), b.Str("b/../c")), b.Str("/a/c")), kTrue},
                   {b.Eq(b.StrOp2(Op::kPathJoin, b.Str("/a"), b.Str("/x")), b.Str("/x")), kTrue},
                   {b.Eq(b.StrOp(Op::kPathName, b.Str("/usr/bin/git")), b.Str("git")), kTrue},
                   {b.Eq(b.StrOp(Op::kPathName, b.Str("/")), b.Str("")), kTrue},
                   {b.Eq(b.StrOp(Op::kPathParent, b.Str("/usr/bin/git")), b.Str("/usr/bin")), kTrue},
                   {b.Eq(b.StrOp(Op::kPathParent, b.Str("x")), b.Str(".")), kTrue},
                   {b.Eq(b.StrOp(Op::kPathExt, b.Str("a/b.tar.gz")), b.Str("gz")), kTrue},
                   {b.Eq(b.StrOp(Op::kPathExt, b.Str(".bashrc")), b.Str("")), kTrue},
                   {b.Eq(b.StrOp(Op::kToPath, b.Str("/a//b/./c/")), b.Str("/a/b/c")), kTrue},
                   {b.IsNone(b.StrOp(Op::kToPath, none)), kTrue},
                   {b.Eq(b.Index(b.Get(Field::kArgs), b.Int(1)), b.Str("--short")), kTrue},
                   {b.IsNone(b.Index(b.Get(Field::kArgs), b.Int(2))), kTrue},
                   {b.IsNone(b.Index(b.Get(Field::kArgs), b.Int(-1))), kTrue},
                   {b.IsNone(b.Index(b.Get(Field::kArgs), b.Int(INT64_MIN))), kTrue},
                   {b.Eq(b.Index(b.Ints({5, 6}), b.Int(0)), b.Int(5)), kTrue},
                   {b.Eq(b.MapGet(b.Get(Field::kEnv), b.Str("HOME")), b.Str("/home/u")), kTrue},
                   {b.IsNone(b.MapGet(b.Get(Field::kEnv), b.Str("NOPE"))), kTrue},
                   {b.Eq(b.MapGet(b.Map({{"a", "1"}, {"b", "2"}, {"c", "3"}}), b.Str("c")), b.Str("3")), kTrue},
                   {b.IsNone(b.MapGet(b.Map({{"a", "1"}}), none)), kTrue},
                   {b.Eq(b.Coalesce(none, b.Str("d")), b.Str("d")), kTrue},
                   {b.Eq(b.Coalesce(b.Str("v"), b.Str("d")), b.Str("v")), kTrue},
                   // Both operands of coalesce are evaluated (errors propagate).
                   {b.Eq(b.Coalesce(b.Int(1), b.Arith(Op::kDiv, b.Int(1), b.Int(0))), b.Int(1)), Err(GOV_ERR_DIVISION)},
               });
}

TEST_CASE("codegen: checked arithmetic", "[codegen]") {
  Ir b;
  auto is = [&](Op op, std::int64_t x, std::int64_t y, std::int64_t want) {
    return b.Eq(b.Arith(op, b.Int(x), b.Int(y)), b.Int(want));
  };
  auto fails = [&](Op op, std::int64_t x, std::int64_t y) { return b.Eq(b.Arith(op, b.Int(x), b.Int(y)), b.Int(0)); };
  ExpectAll(
      b,
      {
          {is(Op::kAdd, 2, 3, 5), kTrue},
          {is(Op::kSub, 2, 3, -1), kTrue},
          {is(Op::kMul, -4, 3, -12), kTrue},
          {is(Op::kDiv, -7, 2, -3), kTrue},
          {is(Op::kMod, -7, 2, -1), kTrue},
          {is(Op::kMod, 7, -2, 1), kTrue},
          {fails(Op::kAdd, INT64_MAX, 1), Err(GOV_ERR_OVERFLOW)},
          {fails(Op::kSub, INT64_MIN, 1), Err(GOV_ERR_OVERFLOW)},
          {fails(Op::kMul, INT64_MAX / 2 + 1, 2), Err(GOV_ERR_OVERFLOW)},
          {fails(Op::kDiv, 1, 0), Err(GOV_ERR_DIVISION)},
          {fails(Op::kMod, 1, 0), Err(GOV_ERR_DIVISION)},
          {fails(Op::kDiv, INT64_MIN, -1), Err(GOV_ERR_OVERFLOW)},
          {fails(Op::kMod, INT64_MIN, -1), Err(GOV_ERR_OVERFLOW)},
          {b.Eq(b.Neg(b.Int(5)), b.Int(-5)), kTrue},
          {b.Eq(b.Neg(b.Int(INT64_MIN)), b.Int(0)), Err(GOV_ERR_OVERFLOW)},
          {b.IsNone(b.Arith(Op::kDiv, b.None(Kind::kInt), b.Int(0))), kTrue},
          {b.IsNone(b.Neg(b.None(Kind::kInt))), kTrue},
          // Operands are evaluated in order; the first error wins.
          {b.Eq(b.Arith(Op::kAdd, b.Arith(Op::kDiv, b.Int(1), b.Int(0)), b.Arith(Op::kAdd, b.Int(INT64_MAX), b.Int(1))),
                b.Int(0)),
           Err(GOV_ERR_DIVISION)},
      });
}

TEST_CASE("codegen: quantifiers", "[codegen]") {
  Ir b;
  std::uint32_t args = b.Get(Field::kArgs);
  std::uint32_t s0 = b.Local(0, Kind::kStr);
  std::uint32_t i0 = b.Local(0, Kind::kInt);
  std::uint32_t s1 = b.Local(1, Kind::kStr);
  std::uint32_t div = b.DivError();
  ExpectAll(
      b, {
             {b.Quant(Op::kAny, args, 0, b.Eq(s0, b.Str("--short"))), kTrue},
             {b.Quant(Op::kAll, args, 0, b.Test(Op::kStartsWith, s0, b.Str("s"))), kFalse},
             {b.Quant(Op::kAll, args, 0, b.Test(Op::kContains, s0, b.Str("s"))), kTrue},
             {b.Quant(Op::kAny, b.Strs({}), 0, b.Bool(true)), kFalse},
             {b.Quant(Op::kAll, b.Strs({}), 0, b.Bool(false)), kTrue},
             {b.Quant(Op::kAny, b.None(Kind::kStrList), 0, b.Bool(true)), kFalse},
             {b.Quant(Op::kAll, b.None(Kind::kStrList), 0, b.Bool(true)), kFalse},
             {b.Quant(Op::kAny, b.Ints({3, 4}), 0, b.Eq(i0, b.Int(4))), kTrue},
             {b.Quant(Op::kAny, b.Get(Field::kEnv), 0, b.Eq(s0, b.Str("PATH"))), kTrue},
             // An error in one body, a later true body: true.
             {b.Quant(Op::kAny, args, 0, b.If(b.Eq(s0, b.Str("status")), div, b.Bool(true))), kTrue},
             {b.Quant(Op::kAny, args, 0, b.If(b.Eq(s0, b.Str("status")), div, b.Bool(false))), Err(GOV_ERR_DIVISION)},
             {b.Quant(Op::kAll, args, 0, b.If(b.Eq(s0, b.Str("status")), div, b.Bool(false))), kFalse},
             // Nested: some arg equals some element of another list.
             {b.Quant(Op::kAny, args, 0, b.Quant(Op::kAny, b.Strs({"x", "status"}), 1, b.Eq(s0, s1))), kTrue},
             {b.Quant(Op::kAll, args, 0, b.Test(Op::kIn, s0, args)), kTrue},
         });
}

TEST_CASE("codegen: scratch accounting", "[codegen]") {
  Ir b;
  request::Request r = GitStatus();
  r.args = {std::string(30000, 'x'), std::string(30000, 'y'), std::string(40000, 'z')};
  std::uint32_t args = b.Get(Field::kArgs);
  std::uint32_t a0 = b.Index(args, b.Int(0));
  std::uint32_t a2 = b.Index(args, b.Int(2));
  std::uint32_t s0 = b.Local(0, Kind::kStr);
  std::uint32_t upper0 = b.StrOp(Op::kUpper, s0);
  ExpectAll(b,
            {
                // 30000 + 40000 bytes do not fit in 65536.
                {b.IsNone(b.StrOp2(Op::kConcat, a0, a2)), Err(GOV_ERR_SCRATCH)},
                {b.IsNone(b.StrOp2(Op::kConcat, a0, a0)), kFalse},
                // Two results of 30000 + 40000: the second does not fit.
                {b.And({b.Not(b.IsNone(b.StrOp(Op::kLower, a0))), b.Not(b.IsNone(b.StrOp(Op::kLower, a2)))}),
                 Err(GOV_ERR_SCRATCH)},
                // Each quantifier iteration gets its bytes back.
                {b.Quant(Op::kAll, args, 0, b.Eq(b.Len(upper0), b.Len(s0))), kTrue},
                // ... but bytes used before the quantifier stay used.
                {b.And({b.Not(b.IsNone(b.StrOp(Op::kLower, a0))),
                        b.Quant(Op::kAll, args, 0, b.Eq(b.Len(upper0), b.Len(s0)))}),
                 Err(GOV_ERR_SCRATCH)},
                // Path helpers report a full arena the same way.
                {b.IsNone(b.StrOp2(Op::kPathJoin, b.StrOp2(Op::kConcat, a0, a0), a0)), Err(GOV_ERR_SCRATCH)},
                // 30001 + 30000 bytes fit; 40001 + 40000 do not.
                {b.IsNone(b.StrOp(Op::kToPath, b.StrOp2(Op::kConcat, a0, b.Str("/")))), kFalse},
                {b.IsNone(b.StrOp(Op::kToPath, b.StrOp2(Op::kConcat, a2, b.Str("/")))), Err(GOV_ERR_SCRATCH)},
                // The arena is empty again for the next rule (see the policy test below).
            },
            r);

  // Rule 0 uses 60000 bytes; rule 1 still has the whole arena.
  Ir two = b;
  std::uint32_t big = two.Not(two.IsNone(two.StrOp2(Op::kConcat, a0, a0)));
  two.Rule("first", Verdict::kAllow, big);
  two.Rule("second", Verdict::kAllow, big);
  std::unique_ptr<JitPolicy> jit = MustCompile(two.p);
  interp::PreparedPolicy prepared = MustPrepare(two.p);
  request::RequestView view(r);
  gov_decision d = Decide(*jit, prepared, view.get());
  CHECK(d.verdict == GOV_ALLOW);
  CHECK(d.rule_count == 2);
}

// What a quantifier's body evaluates first without reading the element is
// computed once before the loop (docs/codegen.md "Quantifiers"): the same
// values, errors and scratch fill levels as evaluating it in every body.
TEST_CASE("codegen: values hoisted out of quantifier loops", "[codegen]") {
  Ir b;
  std::uint32_t args = b.Get(Field::kArgs);
  std::uint32_t s0 = b.Local(0, Kind::kStr);
  std::uint32_t s1 = b.Local(1, Kind::kStr);
  std::uint32_t joined = b.StrOp2(Op::kPathJoin, b.Get(Field::kCwd), b.Str("sub/../x"));
  std::uint32_t div = b.DivError();
  ExpectAll(b,
            {
                {b.Quant(Op::kAny, b.Strs({"/etc", "/work"}), 0, b.Test(Op::kUnder, joined, s0)), kTrue},
                {b.Quant(Op::kAll, b.Strs({"/etc", "/work"}), 0, b.Test(Op::kUnder, joined, s0)), kFalse},
                // The hoisted value's error stays where it stood: recorded by the `and`, whose
                // next operand still decides.
                {b.Quant(Op::kAny, b.Strs({"a", "b"}), 0, b.And({div, b.Eq(s0, b.Str("b"))})), Err(GOV_ERR_DIVISION)},
                {b.Quant(Op::kAll, b.Strs({"a", "b"}), 0, b.And({div, b.Eq(s0, b.Str("b"))})), kFalse},
                {b.Quant(Op::kAny, b.Strs({"a", "b"}), 0, b.Or({div, b.Eq(s0, b.Str("b"))})), kTrue},
                // Nothing to iterate: not evaluated at all.
                {b.Quant(Op::kAny, b.Strs({}), 0, b.And({div, b.Eq(s0, b.Str("b"))})), kFalse},
                {b.Quant(Op::kAll, b.Strs({}), 0, b.And({div, b.Eq(s0, b.Str("b"))})), kTrue},
                {b.Quant(Op::kAll, b.None(Kind::kStrList), 0, b.And({div, b.Eq(s0, b.Str("b"))})), kFalse},
                // Nested: the inner loop's hoisted join reads the outer element.
                {b.Quant(Op::kAny, args, 0,
                         b.Quant(Op::kAny, b.Strs({"/etc", "/work/repo/status"}), 1,
                                 b.Test(Op::kUnder, b.StrOp2(Op::kPathJoin, b.Get(Field::kCwd), s0), s1))),
                 kTrue},
                {b.Quant(Op::kAll, args, 0,
                         b.Quant(Op::kAny, b.Strs({"/etc", "/work/repo/status"}), 1,
                                 b.Test(Op::kUnder, b.StrOp2(Op::kPathJoin, b.Get(Field::kCwd), s0), s1))),
                 kFalse},
                // Through an `if`'s condition; over an int list; over a map's keys.
                {b.Quant(Op::kAny, b.Strs({"a", "b"}), 0,
                         b.If(b.Test(Op::kUnder, joined, b.Str("/work")), b.Eq(s0, b.Str("b")), b.Bool(false))),
                 kTrue},
                {b.Quant(Op::kAny, b.Ints({3, 10}), 0,
                         b.Eq(b.Len(b.StrOp(Op::kLower, b.Get(Field::kCwd))), b.Local(0, Kind::kInt))),
                 kTrue},
                {b.Quant(Op::kAll, b.Ints({3, 10}), 0,
                         b.Eq(b.Len(b.StrOp(Op::kLower, b.Get(Field::kCwd))), b.Local(0, Kind::kInt))),
                 kFalse},
                {b.Quant(Op::kAny, b.Get(Field::kEnv), 0,
                         b.And({b.Test(Op::kUnder, joined, b.Str("/work")), b.Eq(s0, b.Str("PATH"))})),
                 kTrue},
                // A hoisted node that is itself a loop with a hoisted node.
                {b.Quant(Op::kAny, b.Strs({"a", "b"}), 0,
                         b.And({b.Quant(Op::kAny, b.Strs({"/etc", "/work"}), 1, b.Test(Op::kUnder, joined, s1)),
                                b.Eq(s0, b.Str("b"))})),
                 kTrue},
            });

  request::Request big = GitStatus();
  big.args = {std::string(30000, 'x'), std::string(30000, 'y'), std::string(40000, 'z')};
  std::uint32_t a0 = b.Index(args, b.Int(0));
  std::uint32_t a2 = b.Index(args, b.Int(2));
  auto made = [&](std::uint32_t text) { return b.Not(b.IsNone(text)); };
  std::uint32_t lower0 = b.StrOp(Op::kLower, a0);  // 30000 bytes
  std::uint32_t lower2 = b.StrOp(Op::kLower, a2);  // 40000 bytes
  std::uint32_t upper_element = made(b.StrOp(Op::kUpper, s0));
  std::uint32_t made2 = made(lower2);  // one node, used twice below
  ExpectAll(b,
            {
                // The hoisted 30000 bytes stay used through every body: 30000 + 30000 fit, 30000 +
                // 40000 do not, exactly as when each body makes them anew.
                {b.Quant(Op::kAny, args, 0, b.And({made(lower0), upper_element})), kTrue},
                {b.Quant(Op::kAll, args, 0, b.And({made(lower0), upper_element})), Err(GOV_ERR_SCRATCH)},
                // A hoisted value that does not fit fails in every body, and only there.
                {b.Quant(Op::kAny, args, 0, b.And({made(b.StrOp2(Op::kConcat, a0, a2)), b.Eq(s0, b.Str(""))})), kFalse},
                {b.Quant(Op::kAny, args, 0, b.Or({made(b.StrOp2(Op::kConcat, a0, a2)), b.Eq(s0, b.Str(""))})),
                 Err(GOV_ERR_SCRATCH)},
                // After the loop the arena is back where it was: 60000 bytes fit again.
                {b.Or({b.Quant(Op::kAny, args, 0, b.And({made(lower0), b.Eq(s0, b.Str(""))})),
                       made(b.StrOp2(Op::kConcat, a0, a0))}),
                 kTrue},
                // Only the first use is replaced: a second use of the node in the body makes its
                // bytes again (40000 + 40000 do not fit).
                {b.Quant(Op::kAny, args, 0, b.And({made2, made2, b.Eq(s0, s0)})), Err(GOV_ERR_SCRATCH)},
            },
            big);

  // Two rules of one shape with other constants and a third of another shape, the hoisted node
  // outlined (8 nodes, in both shapes): each rule's own constants, decided as the interpreter does.
  {
    Ir two;
    auto rule = [&](const std::string& x, const std::string& y, const std::string& element, bool other_shape) {
      std::uint32_t joined_name =
          two.Not(two.IsNone(two.StrOp2(Op::kPathJoin, two.Get(Field::kCwd),
                                        two.StrOp(Op::kLower, two.StrOp2(Op::kConcat, two.Str(x), two.Str(y))))));
      std::vector<std::uint32_t> operands{joined_name, two.Eq(two.Local(0, Kind::kStr), two.Str(element))};
      if (other_shape) operands.push_back(two.Bool(true));
      return two.Quant(Op::kAny, two.Get(Field::kArgs), 0, two.And(operands));
    };
    two.Rule("first", Verdict::kAllow, rule("A", "b", "status", false));
    two.Rule("second", Verdict::kDeny, rule("C", "d", "--long", false));
    two.Rule("third", Verdict::kAsk, rule("E", "f", "--short", true));
    std::unique_ptr<JitPolicy> jit = MustCompile(two.p);
    interp::PreparedPolicy prepared = MustPrepare(two.p);
    const request::Request git_status = GitStatus();  // outlives the view, which points into it
    request::RequestView view(git_status);
    gov_decision d = Decide(*jit, prepared, view.get());
    CHECK(d.verdict == GOV_ASK);
    CHECK(d.rule_count == 2);  // the ask, then the allow
    ErrorOr<std::string> text = EmitLlvmIr(two.p, /*optimized=*/false, FastOptions());
    REQUIRE(text.ok());
    CHECK(text.value().find("quant.hoist") != std::string::npos);
    CHECK(text.value().find("define internal i32 @gov.sub.") != std::string::npos);
  }

  // The loop of `any s in dirs: (cwd / "x") under s` computes the join once.
  ir::Rule rule;
  rule.name = "hoisted";
  rule.condition = b.Quant(Op::kAny, b.Strs({"/etc", "/work"}), 0, b.Test(Op::kUnder, joined, s0));
  ir::Policy policy = b.p;
  policy.rules = {rule};
  ErrorOr<std::string> ir_text = EmitLlvmIr(policy, /*optimized=*/false, FastOptions());
  REQUIRE(ir_text.ok());
  CHECK(ir_text.value().find("quant.hoist") != std::string::npos);
}

TEST_CASE("codegen: decision combination, errors and obligations", "[codegen]") {
  Ir b;
  std::uint32_t t = b.Bool(true);
  std::uint32_t f = b.Bool(false);
  std::uint32_t div = b.DivError();
  std::uint32_t ovf = b.Overflow();
  const request::Request git_status = GitStatus();
  request::RequestView view(git_status);
  auto run = [&](const Ir& policy) {
    std::unique_ptr<JitPolicy> jit = MustCompile(policy.p);
    interp::PreparedPolicy prepared = MustPrepare(policy.p);
    return Decide(*jit, prepared, view.get());
  };

  SECTION("no rules: default deny") {
    gov_decision d = run(b);
    CHECK(d.verdict == GOV_DENY);
    CHECK(d.error == GOV_OK);
    CHECK(d.error_rule == GOV_NO_RULE);
    CHECK(d.rule_count == 0);
  }
  SECTION("deny beats ask beats allow; every deciding rule is listed") {
    Ir p = b;
    p.Rule("a0", Verdict::kAllow, t);
    p.Rule("k1", Verdict::kAsk, t);
    p.Rule("d2", Verdict::kDeny, f);
    p.Rule("k3", Verdict::kAsk, t);
    gov_decision d = run(p);
    CHECK(d.verdict == GOV_ASK);
    // The ask rules decide; the matching allow rule follows them.
    CHECK(d.deciding_count == 2);
    REQUIRE(d.rule_count == 3);
    CHECK(d.rules[0] == 1);
    CHECK(d.rules[1] == 3);
    CHECK(d.rules[2] == 0);
    p.Rule("d4", Verdict::kDeny, t);
    d = run(p);
    CHECK(d.verdict == GOV_DENY);
    REQUIRE(d.rule_count == 1);
    CHECK(d.rules[0] == 4);
  }
  SECTION("the lowest erring rule decides, even over matching denies") {
    Ir p = b;
    p.Rule("d0", Verdict::kDeny, t);
    p.Rule("x1", Verdict::kAllow, ovf);
    p.Rule("x2", Verdict::kDeny, div);
    gov_decision d = run(p);
    CHECK(d.verdict == GOV_DENY);
    CHECK(d.error == GOV_ERR_OVERFLOW);
    CHECK(d.error_rule == 1);
    REQUIRE(d.rule_count == 1);
    CHECK(d.rules[0] == 1);
    CHECK(d.timeout_ms == 0);
  }
  SECTION("obligations of allow rules merge to the most restrictive") {
    Ir p = b;
    ir::Obligations o1;
    o1.timeout_ms = 5000;
    o1.network = ir::Network::kAny;
    o1.processes = 10;
    ir::Obligations o2;
    o2.timeout_ms = 2000;
    o2.memory_bytes = 1 << 20;
    o2.network = ir::Network::kLoopback;
    ir::Obligations o3;
    o3.timeout_ms = 1000;
    p.Rule("a0", Verdict::kAllow, t, o1);
    p.Rule("a1", Verdict::kAllow, t, o2);
    p.Rule("a2", Verdict::kAllow, f, o3);
    gov_decision d = run(p);
    CHECK(d.verdict == GOV_ALLOW);
    CHECK(d.rule_count == 2);
    CHECK(d.timeout_ms == 2000);
    CHECK(d.memory_bytes == 1 << 20);
    CHECK(d.processes == 10);
    CHECK(d.network == GOV_NET_LOOPBACK);
    // An ask rule wins: if approved, the matching allow rules' obligations
    // apply with its own (issue 13 finding 4).
    p.Rule("k3", Verdict::kAsk, t);
    d = run(p);
    CHECK(d.verdict == GOV_ASK);
    CHECK(d.deciding_count == 1);
    REQUIRE(d.rule_count == 3);
    CHECK(d.rules[0] == 3);
    CHECK(d.rules[1] == 0);
    CHECK(d.rules[2] == 1);
    CHECK(d.timeout_ms == 2000);
    CHECK(d.memory_bytes == 1 << 20);
    CHECK(d.processes == 10);
    CHECK(d.network == GOV_NET_LOOPBACK);
    ir::Obligations asked;
    asked.timeout_ms = 1500;
    asked.processes = 20;
    asked.network = ir::Network::kNone;
    p.Rule("k4", Verdict::kAsk, t, asked);
    d = run(p);
    CHECK(d.verdict == GOV_ASK);
    CHECK(d.deciding_count == 2);
    CHECK(d.rule_count == 4);
    CHECK(d.timeout_ms == 1500);
    CHECK(d.processes == 10);
    CHECK(d.network == GOV_NET_NONE);
    // A deny wins: nothing applies.
    p.Rule("d5", Verdict::kDeny, t);
    d = run(p);
    CHECK(d.verdict == GOV_DENY);
    CHECK(d.rule_count == 1);
    CHECK(d.deciding_count == 1);
    CHECK(d.timeout_ms == 0);
    CHECK(d.network == GOV_NET_UNSET);
  }
  SECTION("an ask and its matching allow rules share the ABI limit") {
    Ir p = b;
    for (std::uint32_t k = 0; k + 1 < GOV_MAX_DECIDING_RULES; ++k) p.Rule("a" + std::to_string(k), Verdict::kAllow, t);
    p.Rule("ask", Verdict::kAsk, t);
    gov_decision d = run(p);
    CHECK(d.verdict == GOV_ASK);
    CHECK(d.deciding_count == 1);
    CHECK(d.rule_count == GOV_MAX_DECIDING_RULES);
    CHECK(d.rules[0] == GOV_MAX_DECIDING_RULES - 1);
    CHECK(d.rules[GOV_MAX_DECIDING_RULES - 1] == GOV_MAX_DECIDING_RULES - 2);
    p.Rule("ask2", Verdict::kAsk, t);
    d = run(p);
    CHECK(d.verdict == GOV_DENY);
    CHECK(d.error == GOV_ERR_TOO_MANY_RULES);
    CHECK(d.rule_count == 0);
    CHECK(d.deciding_count == 0);
  }
  SECTION("more deciding rules than the ABI holds") {
    Ir p = b;
    for (std::uint32_t k = 0; k < GOV_MAX_DECIDING_RULES + 1; ++k) p.Rule("a" + std::to_string(k), Verdict::kAllow, t);
    gov_decision d = run(p);
    CHECK(d.verdict == GOV_DENY);
    CHECK(d.error == GOV_ERR_TOO_MANY_RULES);
    CHECK(d.error_rule == GOV_NO_RULE);
    CHECK(d.rule_count == 0);
    // Exactly the limit is fine.
    p.p.rules.pop_back();
    d = run(p);
    CHECK(d.verdict == GOV_ALLOW);
    CHECK(d.rule_count == GOV_MAX_DECIDING_RULES);
    CHECK(d.rules[GOV_MAX_DECIDING_RULES - 1] == GOV_MAX_DECIDING_RULES - 1);
    // A deny among many allows: the deny decides.
    p.Rule("deny", Verdict::kDeny, t);
    p.Rule("more", Verdict::kAllow, t);
    d = run(p);
    CHECK(d.verdict == GOV_DENY);
    CHECK(d.rule_count == 1);
  }
}

TEST_CASE("codegen: the rule index selects candidate rules", "[codegen]") {
  Ir b;
  std::uint32_t div = b.DivError();
  std::uint32_t t = b.Bool(true);
  b.Rule("git_broken", Verdict::kAllow, div, {}, {{"/usr/bin/git"}, {}});
  b.Rule("ls_by_name", Verdict::kAllow, t, {}, {{}, {"ls"}});
  b.Rule("both", Verdict::kAsk, t, {}, {{"/bin/ls", "/usr/bin/ls"}, {"ls"}});
  b.Rule("everyone", Verdict::kAllow, t);
  std::unique_ptr<JitPolicy> jit = MustCompile(b.p);
  interp::PreparedPolicy prepared = MustPrepare(b.p);
  auto decide = [&](const std::string& path) {
    request::Request r = GitStatus();
    r.program_path = path;
    request::RequestView view(r);
    return Decide(*jit, prepared, view.get());
  };
  gov_decision git = decide("/usr/bin/git");
  CHECK(git.error == GOV_ERR_DIVISION);
  CHECK(git.error_rule == 0);
  gov_decision ls = decide("/bin/ls");
  CHECK(ls.verdict == GOV_ASK);
  // The ask rule decides; the allow rules the index selected follow it.
  REQUIRE(ls.deciding_count == 1);
  REQUIRE(ls.rule_count == 3);
  CHECK(ls.rules[0] == 2);
  CHECK(ls.rules[1] == 1);
  CHECK(ls.rules[2] == 3);
  gov_decision other_ls = decide("/opt/ls");
  CHECK(other_ls.verdict == GOV_ASK);
  gov_decision cat = decide("/bin/cat");
  CHECK(cat.verdict == GOV_ALLOW);
  REQUIRE(cat.rule_count == 1);
  CHECK(cat.rules[0] == 3);
}

TEST_CASE("codegen: compile errors are reported, not thrown", "[codegen]") {
  SECTION("invalid IR") {
    Ir b;
    b.Rule("bad", Verdict::kAllow, 7);
    ErrorOr<std::unique_ptr<JitPolicy>> compiled = JitPolicy::Compile(b.p, FastOptions());
    REQUIRE_FALSE(compiled.ok());
    CHECK(compiled.error().message.find("invalid Decision IR") != std::string::npos);
  }
  SECTION("too deep") {
    Ir b;
    std::uint32_t node = b.Bool(true);
    for (int k = 0; k < kMaxDepth + 5; ++k) node = b.Not(node);
    b.Rule("deep", Verdict::kAllow, node);
    ErrorOr<std::unique_ptr<JitPolicy>> compiled = JitPolicy::Compile(b.p, FastOptions());
    REQUIRE_FALSE(compiled.ok());
    CHECK(compiled.error().message.find("nests deeper") != std::string::npos);
  }
  SECTION("a DAG that expands beyond the budget") {
    Ir b;
    std::uint32_t node = b.Bool(true);
    for (int k = 0; k < 40; ++k) node = b.And({node, node});
    b.Rule("wide", Verdict::kAllow, node);
    ErrorOr<std::unique_ptr<JitPolicy>> compiled = JitPolicy::Compile(b.p, FastOptions());
    REQUIRE_FALSE(compiled.ok());
    CHECK(compiled.error().message.find("expression nodes") != std::string::npos);
  }
  SECTION("an unknown CPU") {
    Options options = FastOptions();
    options.cpu = "no-such-cpu";
    ErrorOr<std::unique_ptr<JitPolicy>> compiled = JitPolicy::Compile(Ir().p, options);
    REQUIRE_FALSE(compiled.ok());
    CHECK(compiled.error().message.find("unknown CPU") != std::string::npos);
  }
}

TEST_CASE("codegen: default helpers implement runtime/support/path.h", "[codegen]") {
  const gov_helpers* helpers = abi::DefaultHelpers();
  REQUIRE(helpers->abi_version == GOV_ABI_VERSION);
  const std::vector<std::string> paths = {"",          "/",       "//",    "/a",   "/a/",    "/a/b", "/a//b", "/a/./b",
                                          "/a/../b",   "/ab",     "/a/bc", "a",    "a/b",    ".",    "..",    "../a",
                                          "/..",       "/a/b/..", "/./a",  "a/",   "/a/b/c", "/.a",  "/..a",  "/a.",
                                          "/a/.b/..c", "/.../x",  "a/.",   "a/..", ".a/b",   "/a/.", "/a/.."};
  char out[64];
  for (const std::string& x : paths) {
    for (const std::string& y : paths) {
      INFO("`" << x << "` `" << y << "`");
      CHECK(helpers->path_under(x.data(), x.size(), y.data(), y.size()) == (paths::Under(x, y) ? 1 : 0));
      std::string joined = paths::Join(x, y);
      CHECK(helpers->path_join(x.data(), x.size(), y.data(), y.size(), out, sizeof out) ==
            static_cast<std::int64_t>(joined.size()));
      CHECK(std::string(out, joined.size()) == joined);
    }
    std::string expected[4] = {paths::Normalize(x), paths::BaseName(x), paths::DirName(x), paths::Extension(x)};
    for (std::uint32_t op = GOV_PATH_NORMALIZE; op <= GOV_PATH_EXT; ++op) {
      INFO("`" << x << "` op " << op);
      REQUIRE(helpers->path_unary(op, x.data(), x.size(), out, sizeof out) ==
              static_cast<std::int64_t>(expected[op].size()));
      CHECK(std::string(out, expected[op].size()) == expected[op]);
      if (!expected[op].empty()) CHECK(helpers->path_unary(op, x.data(), x.size(), out, expected[op].size() - 1) == -1);
    }
  }
}

TEST_CASE("codegen: allocation-free path helpers agree with runtime/support/path.h at every capacity", "[codegen]") {
  const gov_helpers* helpers = abi::DefaultHelpers();
  std::uint64_t state = 0x2545f4914f6cdd1dull;
  auto next = [&] {
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return state;
  };
  auto random_path = [&] {
    static const char* const pieces[] = {"a", "bc", ".", "..", "/", "//", "d.e", ".f"};
    std::string text;
    std::uint64_t count = next() % 7;
    for (std::uint64_t k = 0; k < count; ++k) text += pieces[next() % 8];
    return text;
  };
  char out[64];
  for (int round = 0; round < 100000; ++round) {
    std::string x = random_path();
    std::string y = random_path();
    std::uint64_t capacity = next() % 24;
    INFO("`" << x << "` `" << y << "` capacity " << capacity);
    std::string joined = paths::Join(x, y);
    std::int64_t expected = joined.size() <= capacity ? static_cast<std::int64_t>(joined.size()) : -1;
    REQUIRE(helpers->path_join(x.data(), x.size(), y.data(), y.size(), out, capacity) == expected);
    if (expected >= 0) REQUIRE(std::string(out, joined.size()) == joined);
    std::string unary[4] = {paths::Normalize(x), paths::BaseName(x), paths::DirName(x), paths::Extension(x)};
    for (std::uint32_t op = GOV_PATH_NORMALIZE; op <= GOV_PATH_EXT; ++op) {
      std::int64_t want = unary[op].size() <= capacity ? static_cast<std::int64_t>(unary[op].size()) : -1;
      INFO("op " << op);
      REQUIRE(helpers->path_unary(op, x.data(), x.size(), out, capacity) == want);
      if (want >= 0) REQUIRE(std::string(out, unary[op].size()) == unary[op]);
    }
  }
}

// ---- Random differential testing against the interpreter ---------------

// Generates random valid policies and requests over a small vocabulary, so
// that comparisons hit, errors happen and absence is common. The structure of
// conditions comes from one random stream and constant values (strings, ints,
// lists, maps, patterns, verdicts, obligations) from another, so that with
// `repeat_shapes` a rule can replay an earlier rule's structure with other
// constants: rules of one shape share generated code (docs/codegen.md), and a
// subexpression can replay an earlier one's, which codegen emits once as an
// outlined function called with each occurrence's constants.
class RandomPolicies {
 public:
  explicit RandomPolicies(std::uint64_t seed) : rng_(seed), values_(seed ^ 0x5eed5eed5eedULL) {}

  ir::Policy MakePolicy(bool repeat_shapes = false) {
    b_ = Ir();
    repeat_subtrees_ = repeat_shapes;
    subtrees_.clear();
    using Spelling = ir::ContextField::Spelling;
    int contexts = Pick(4);
    for (int k = 0; k < contexts; ++k) {
      int which = Pick(3);
      Kind kind = which == 0 ? Kind::kBool : which == 1 ? Kind::kInt : Kind::kStr;
      Spelling spelling = which == 0 ? Spelling::kBool : which == 1 ? Spelling::kInt : Spelling::kString;
      b_.p.context.push_back({"c" + std::to_string(k), kind, Chance(50), spelling});
    }
    for (const char* source : {"*.txt", "git*", "/usr/**"}) AddPattern(pattern::Syntax::kGlob, source);
    for (const char* source : {"a(b|c)*d?", "[0-9]+", "\\C*", "(a|b)*a(a|b){3}"}) {
      AddPattern(pattern::Syntax::kRegex, source);
    }
    int rules = 1 + Pick(repeat_shapes ? 12 : 6);
    std::vector<std::mt19937_64> structures;
    for (int r = 0; r < rules; ++r) {
      scope_.clear();
      if (repeat_shapes && !structures.empty() && ValueChance(70)) {
        // Replay an earlier rule's structure; constants continue to vary.
        std::mt19937_64 resume = rng_;
        rng_ = structures[static_cast<std::size_t>(PickValue(static_cast<int>(structures.size())))];
        std::uint32_t condition = Gen(Kind::kBool, 1 + Pick(5), false);
        rng_ = resume;
        AddRule(r, condition);
        continue;
      }
      structures.push_back(rng_);
      std::uint32_t condition = Gen(Kind::kBool, 1 + Pick(5), false);
      AddRule(r, condition);
    }
    return b_.p;
  }

  // Adds rule `r` with `condition` and random verdict, obligations, index.
  void AddRule(int r, std::uint32_t condition) {
    {
      auto verdict = static_cast<Verdict>(PickValue(3));
      ir::Obligations o;
      if (verdict != Verdict::kDeny) {
        o.timeout_ms = std::vector<std::int64_t>{0, 100, 5000}[PickValue(3)];
        o.memory_bytes = std::vector<std::int64_t>{0, 1 << 20, 1 << 30}[PickValue(3)];
        o.processes = PickValue(3);
        o.network = static_cast<ir::Network>(PickValue(4));
      }
      ir::RuleIndex index;
      if (ValueChance(25)) index.paths = {kPrograms[PickValue(3)]};
      if (ValueChance(15)) index.names = {"git"};
      b_.Rule("r" + std::to_string(r), verdict, condition, o, index);
    }
  }

  request::Request MakeRequest(const ir::Policy& policy) {
    request::Request r;
    r.program_path = kPrograms[Pick(4)];
    int args = Pick(5);
    for (int k = 0; k < args; ++k) r.args.push_back(Chance(3) ? std::string(20000 + Pick(30000), 'q') : Text());
    int env = Pick(4);
    for (int k = 0; k < env; ++k)
      r.env.push_back({std::vector<std::string>{"HOME", "PATH", "A", "a"}[Pick(4)], Text()});
    if (Chance(50)) r.groups = {"dev", "wheel"};
    r.cwd = std::vector<std::string>{"/", "/usr", "/home/u", "/work/repo"}[Pick(4)];
    r.uid = Integer();
    r.gid = Integer();
    r.time_unix = 1767268800 + Pick(100000);
    r.has_parent = Chance(50);
    r.parent_run_id = Text();
    r.parent_depth = Integer();
    r.parent_program = "/bin/sh";
    for (const ir::ContextField& field : policy.context) {
      request::ContextValue value;
      value.present = !field.optional || Chance(60);
      value.number = field.kind == Kind::kBool ? Pick(2) : Integer();
      value.text = Text();
      r.context.push_back(value);
    }
    if (Chance(2) && !r.context.empty()) r.context[0].present = false;
    if (Chance(1)) r.context.push_back({});
    return r;
  }

 private:
  static constexpr const char* kPrograms[4] = {"/usr/bin/git", "/bin/ls", "/usr/bin/python3", "/opt/x/git"};

  int Pick(int n) { return std::uniform_int_distribution<int>(0, n - 1)(rng_); }
  bool Chance(int percent) { return Pick(100) < percent; }
  int PickValue(int n) { return std::uniform_int_distribution<int>(0, n - 1)(values_); }
  bool ValueChance(int percent) { return PickValue(100) < percent; }
  std::string Text() {
    static const std::vector<std::string> kWords = {"",
                                                    "a",
                                                    "A",
                                                    "ab",
                                                    "git",
                                                    "Git",
                                                    "status",
                                                    "/",
                                                    "/usr",
                                                    "/usr/bin",
                                                    "/usr/bin/git",
                                                    "/home/u",
                                                    "/home/u/x.txt",
                                                    "x.tar.gz",
                                                    "..",
                                                    "../a",
                                                    "a/./b",
                                                    "/a//b/",
                                                    "HOME",
                                                    "1",
                                                    "0042",
                                                    "abcbd",
                                                    "aaba",
                                                    "a.txt",
                                                    "x/"};
    return kWords[PickValue(static_cast<int>(kWords.size()))];
  }
  std::int64_t Integer() {
    static const std::vector<std::int64_t> kInts = {
        0, 1, -1, 2, 3, 7, 1000, -1000, INT64_MAX, INT64_MIN, INT64_MAX / 2 + 1};
    return kInts[PickValue(static_cast<int>(kInts.size()))];
  }
  void AddPattern(pattern::Syntax syntax, const char* source) {
    pattern::CompileResult compiled = pattern::Compile(syntax, source);
    REQUIRE(compiled.dfa.has_value());
    b_.p.patterns.push_back({source, syntax == pattern::Syntax::kRegex, compiled.dfa->Serialize()});
  }
  Kind AnyKind() { return static_cast<Kind>(Pick(6)); }

  // A node of `kind`; optional only if `may_be_absent`.
  std::uint32_t Gen(Kind kind, int depth, bool may_be_absent) {
    if (repeat_subtrees_ && depth >= 2) {
      // Replay the structure of an earlier subexpression of this kind and
      // scope (its quantifier slots), with other constants.
      std::vector<const Subtree*> candidates;
      for (const Subtree& subtree : subtrees_) {
        if (subtree.kind == kind && subtree.may_be_absent == may_be_absent && subtree.scope == scope_) {
          candidates.push_back(&subtree);
        }
      }
      if (!candidates.empty() && ValueChance(80)) {
        const Subtree& replayed = *candidates[static_cast<std::size_t>(PickValue(static_cast<int>(candidates.size())))];
        std::mt19937_64 resume = rng_;
        rng_ = replayed.structure;
        std::uint32_t node = GenAttempts(kind, replayed.depth, may_be_absent);
        rng_ = resume;
        return node;
      }
      subtrees_.push_back(Subtree{rng_, kind, depth, may_be_absent, scope_});
    }
    return GenAttempts(kind, depth, may_be_absent);
  }
  std::uint32_t GenAttempts(Kind kind, int depth, bool may_be_absent) {
    for (int attempt = 0; attempt < 8; ++attempt) {
      std::uint32_t node = GenAny(kind, depth);
      if (may_be_absent || !b_.At(node).optional) return node;
    }
    return Leaf(kind);
  }

  std::uint32_t Leaf(Kind kind) {
    switch (kind) {
      case Kind::kBool:
        return b_.Bool(ValueChance(50));
      case Kind::kInt:
        return b_.Int(Integer());
      case Kind::kStr:
        return b_.Str(Text());
      case Kind::kStrList: {
        std::vector<std::string> list;
        int n = PickValue(4);
        for (int k = 0; k < n; ++k) list.push_back(Text());
        return b_.Strs(list);
      }
      case Kind::kIntList: {
        std::vector<std::int64_t> list;
        int n = PickValue(4);
        for (int k = 0; k < n; ++k) list.push_back(Integer());
        return b_.Ints(list);
      }
      case Kind::kStrMap: {
        std::vector<std::pair<std::string, std::string>> map;
        for (const char* key : {"A", "HOME", "PATH"}) {
          if (ValueChance(50)) map.push_back({key, Text()});
        }
        return b_.Map(map);
      }
    }
    return b_.Bool(false);
  }

  std::uint32_t Local(Kind kind) {
    std::vector<std::uint32_t> slots;
    for (std::size_t k = 0; k < scope_.size(); ++k) {
      if (scope_[k] == kind) slots.push_back(static_cast<std::uint32_t>(k));
    }
    if (slots.empty()) return Leaf(kind);
    return b_.Local(slots[static_cast<std::size_t>(Pick(static_cast<int>(slots.size())))], kind);
  }

  std::uint32_t Context(Kind kind) {
    std::vector<std::uint32_t> fields;
    for (std::size_t k = 0; k < b_.p.context.size(); ++k) {
      if (b_.p.context[k].kind == kind) fields.push_back(static_cast<std::uint32_t>(k));
    }
    if (fields.empty()) return Leaf(kind);
    return b_.Context(fields[static_cast<std::size_t>(Pick(static_cast<int>(fields.size())))]);
  }

  std::uint32_t GenAny(Kind kind, int depth) {
    if (depth <= 0 || Chance(15)) {
      switch (Pick(4)) {
        case 0:
          return Leaf(kind);
        case 1:
          if (kind == Kind::kStr || kind == Kind::kInt) return Local(kind);
          return Leaf(kind);
        case 2:
          return Context(kind);
        default:
          break;
      }
      switch (kind) {
        case Kind::kInt:
          return b_.Get(
              std::vector<Field>{Field::kUserUid, Field::kUserGid, Field::kTimeHour, Field::kParentDepth}[Pick(4)]);
        case Kind::kStr:
          return b_.Get(std::vector<Field>{Field::kProgramPath, Field::kProgramName, Field::kCwd, Field::kArgv0,
                                           Field::kParentRunId, Field::kTimeWeekday}[Pick(6)]);
        case Kind::kStrList:
          return b_.Get(Chance(70) ? Field::kArgs : Field::kUserGroups);
        case Kind::kStrMap:
          return b_.Get(Field::kEnv);
        default:
          return Leaf(kind);
      }
    }
    int d = depth - 1;
    // Shared by every kind.
    switch (Pick(8)) {
      case 0:
        return b_.If(Gen(Kind::kBool, d, false), Gen(kind, d, true), Gen(kind, d, true));
      case 1:
        return b_.Coalesce(Gen(kind, d, true), Gen(kind, d, true));
      case 2:
        return b_.None(kind);
      default:
        break;
    }
    switch (kind) {
      case Kind::kBool: {
        switch (Pick(14)) {
          case 0: {
            Kind k = AnyKind();
            return b_.Test(Chance(50) ? Op::kEq : Op::kNe, Gen(k, d, true), Gen(k, d, true));
          }
          case 1: {
            Kind k = Chance(50) ? Kind::kInt : Kind::kStr;
            Op op = std::vector<Op>{Op::kLt, Op::kLe, Op::kGt, Op::kGe}[Pick(4)];
            return b_.Test(op, Gen(k, d, true), Gen(k, d, true));
          }
          case 2:
            if (Chance(50)) return b_.Test(Op::kIn, Gen(Kind::kStr, d, true), Gen(Kind::kStrList, d, true));
            return b_.Test(Op::kIn, Gen(Kind::kInt, d, true), Gen(Kind::kIntList, d, true));
          case 3:
            return b_.Test(Op::kHasKey, Gen(Kind::kStr, d, true), Gen(Kind::kStrMap, d, true));
          case 4: {
            Op op = std::vector<Op>{Op::kUnder, Op::kStartsWith, Op::kEndsWith, Op::kContains}[Pick(4)];
            return b_.Test(op, Gen(Kind::kStr, d, true), Gen(Kind::kStr, d, true));
          }
          case 5:
            return b_.Add(Op::kMatches, Kind::kBool, false, Gen(Kind::kStr, d, true), kNo, kNo,
                          PickValue(static_cast<int>(b_.p.patterns.size())));
          case 6:
            return b_.IsNone(Gen(AnyKind(), d, true));
          case 7:
            return b_.Not(Gen(Kind::kBool, d, false));
          case 8:
          case 9: {
            std::vector<std::uint32_t> operands;
            int n = Pick(5);
            for (int k = 0; k < n; ++k) operands.push_back(Gen(Kind::kBool, d, false));
            return Chance(50) ? b_.And(operands) : b_.Or(operands);
          }
          case 10:
          case 11: {
            int which = Pick(3);
            Kind list = which == 0 ? Kind::kStrList : which == 1 ? Kind::kIntList : Kind::kStrMap;
            std::uint32_t over = Gen(list, d, true);
            scope_.push_back(list == Kind::kIntList ? Kind::kInt : Kind::kStr);
            auto slot = static_cast<std::uint32_t>(scope_.size() - 1);
            std::uint32_t body = Gen(Kind::kBool, d, false);
            scope_.pop_back();
            return b_.Quant(Chance(50) ? Op::kAny : Op::kAll, over, slot, body);
          }
          default:
            return Leaf(kind);
        }
      }
      case Kind::kInt:
        switch (Pick(6)) {
          case 0:
            return b_.Len(
                Gen(std::vector<Kind>{Kind::kStr, Kind::kStrList, Kind::kIntList, Kind::kStrMap}[Pick(4)], d, true));
          case 1:
          case 2: {
            Op op = std::vector<Op>{Op::kAdd, Op::kSub, Op::kMul, Op::kDiv, Op::kMod}[Pick(5)];
            return b_.Arith(op, Gen(Kind::kInt, d, true), Gen(Kind::kInt, d, true));
          }
          case 3:
            return b_.Neg(Gen(Kind::kInt, d, true));
          case 4:
            return b_.Index(Gen(Kind::kIntList, d, true), Gen(Kind::kInt, d, true));
          default:
            return Local(kind);
        }
      case Kind::kStr:
        switch (Pick(6)) {
          case 0: {
            Op op = std::vector<Op>{
                Op::kLower, Op::kUpper, Op::kPathName, Op::kPathParent, Op::kPathExt, Op::kToPath}[Pick(6)];
            return b_.StrOp(op, Gen(Kind::kStr, d, true));
          }
          case 1:
            return b_.StrOp2(Chance(50) ? Op::kConcat : Op::kPathJoin, Gen(Kind::kStr, d, true),
                             Gen(Kind::kStr, d, true));
          case 2:
            return b_.Index(Gen(Kind::kStrList, d, true), Gen(Kind::kInt, d, true));
          case 3:
            return b_.MapGet(Gen(Kind::kStrMap, d, true), Gen(Kind::kStr, d, true));
          default:
            return Local(kind);
        }
      default:
        return Leaf(kind);
    }
  }

  std::mt19937_64 rng_;     // structure
  std::mt19937_64 values_;  // constant values
  Ir b_;
  std::vector<Kind> scope_;  // kinds of the quantifier slots in scope
  // Subexpressions that may be replayed: the structure stream where each
  // began, and what it was generated for.
  struct Subtree {
    std::mt19937_64 structure;
    Kind kind;
    int depth;
    bool may_be_absent;
    std::vector<Kind> scope;
  };
  bool repeat_subtrees_ = false;
  std::vector<Subtree> subtrees_;
};

// Environment overrides for longer runs: GOV_CODEGEN_RANDOM_POLICIES (count)
// and GOV_CODEGEN_RANDOM_SEED.
std::uint64_t FromEnvironment(const char* name, std::uint64_t otherwise) {
  const char* text = std::getenv(name);
  return text != nullptr && *text != '\0' ? std::strtoull(text, nullptr, 10) : otherwise;
}

// Compares native code and interpreter on `policies` random policies x
// `requests` random requests each; returns how many policies had at least one
// rule sharing its shape (counted from the emitted LLVM IR).
int RandomDifferential(int policies, int requests, std::uint64_t seed, bool repeat_shapes) {
  INFO("seed " << seed);
  RandomPolicies random(seed);
  const int kPolicies = policies;
  const int kRequests = requests;
  int decisions = 0;
  int errors = 0;
  int allows = 0;
  int asks_with_allows = 0;
  int sharing = 0;
  int outlining = 0;
  for (int k = 0; k < kPolicies; ++k) {
    ir::Policy policy = random.MakePolicy(repeat_shapes);
    std::string problem = ir::Validate(policy);
    INFO("policy " << k << ": " << problem);
    REQUIRE(problem.empty());
    std::unique_ptr<JitPolicy> jit = MustCompile(policy);
    interp::PreparedPolicy prepared = MustPrepare(policy);
    if (repeat_shapes) {
      ErrorOr<std::string> text = EmitLlvmIr(policy, /*optimized=*/false, FastOptions());
      REQUIRE(text.ok());
      std::size_t shapes = 0;
      for (std::size_t at = 0; (at = text.value().find("define internal i32 @gov.shape.", at)) != std::string::npos;
           ++at) {
        ++shapes;
      }
      CHECK(shapes >= 1);
      CHECK(shapes <= policy.rules.size());
      sharing += shapes < policy.rules.size() ? 1 : 0;
      outlining += text.value().find("define internal i32 @gov.sub.") != std::string::npos ? 1 : 0;
    }
    for (int q = 0; q < kRequests; ++q) {
      request::Request r = random.MakeRequest(policy);
      request::RequestView view(r);
      gov_decision native;
      gov_decision reference;
      jit->decide()(&view.get(), &native, abi::DefaultHelpers());
      interp::Decide(prepared, view.get(), reference);
      ++decisions;
      errors += native.error != GOV_OK ? 1 : 0;
      allows += native.verdict == GOV_ALLOW ? 1 : 0;
      asks_with_allows += native.verdict == GOV_ASK && native.rule_count > native.deciding_count ? 1 : 0;
      if (!Identical(native, reference)) {
        INFO("request " << q << "\n" << request::RequestToJson(r, policy.context));
        INFO("native:    " << Describe(native));
        INFO("reference: " << Describe(reference));
        FAIL("native code and interpreter disagree");
      }
    }
  }
  // The generator must exercise errors and every verdict: at least 1% of the
  // decisions each (the smaller AddressSanitizer run sees about 1.6% errors
  // with its seed), asks over allows at least 0.1% (the policies a seed gives
  // differ between compilers, which order the generator's calls in one
  // expression differently: the clang sanitizer build's shape-sharing run
  // sees 0.125%).
  CHECK(decisions == kPolicies * kRequests);
  CHECK(errors > decisions / 100);
  CHECK(allows > decisions / 100);
  CHECK(asks_with_allows > decisions / 1000);
  // With repeated structures, policies must call outlined functions
  // (seeds give 12-28 of 100 policies here).
  if (repeat_shapes) CHECK(outlining > kPolicies / 20);
  return sharing;
}

TEST_CASE("codegen: random policies decide like the interpreter", "[codegen]") {
  // With the default 150 policies: 105,000 pairs (issue 3: >= 100,000 in CI,
  // met by the release suite). Under AddressSanitizer 40 policies, 28,000
  // pairs: the sanitizers look for memory errors, not scale.
#if defined(GOV_SANITIZED)
  constexpr int kDefaultPolicies = 40;
#else
  constexpr int kDefaultPolicies = 150;
#endif
  RandomDifferential(static_cast<int>(FromEnvironment("GOV_CODEGEN_RANDOM_POLICIES", kDefaultPolicies)), 700,
                     FromEnvironment("GOV_CODEGEN_RANDOM_SEED", 20260101), /*repeat_shapes=*/false);
}

TEST_CASE("codegen: random policies whose rules repeat shapes decide like the interpreter", "[codegen]") {
  // Rules replay earlier rules' structures with other constants: 40,000 pairs
  // (12,000 under AddressSanitizer, whose build is several times slower).
#if defined(GOV_SANITIZED)
  constexpr int kDefaultPolicies = 30;
#else
  constexpr int kDefaultPolicies = 100;
#endif
  int policies = static_cast<int>(FromEnvironment("GOV_CODEGEN_RANDOM_POLICIES", kDefaultPolicies));
  int sharing = RandomDifferential(policies, 400, FromEnvironment("GOV_CODEGEN_RANDOM_SEED", 20260101) + 1,
                                   /*repeat_shapes=*/true);
  // Most policies must really share code between rules.
  CHECK(sharing > policies / 2);
}

// ---- Concurrency, objects, shared objects ------------------------------

// A policy in the spirit of examples/agent.gov.
ir::Policy AgentLikePolicy() {
  Ir b;
  std::uint32_t args = b.Get(Field::kArgs);
  std::uint32_t s0 = b.Local(0, Kind::kStr);
  std::uint32_t name = b.Get(Field::kProgramName);
  std::uint32_t git = b.Eq(name, b.Str("git"));
  std::uint32_t read_only = b.Test(Op::kIn, b.Index(args, b.Int(0)), b.Strs({"status", "log", "diff", "show"}));
  ir::Obligations limits;
  limits.timeout_ms = 30000;
  limits.network = ir::Network::kNone;
  b.Rule("git_read", Verdict::kAllow, b.And({git, read_only}), limits, {{}, {"git"}});
  b.Rule("git_push", Verdict::kAsk, b.And({git, b.Eq(b.Index(args, b.Int(0)), b.Str("push"))}), {}, {{}, {"git"}});
  b.Rule("no_force", Verdict::kDeny,
         b.And({git, b.Quant(Op::kAny, args, 0, b.Match(s0, pattern::Syntax::kGlob, "--force*"))}), {}, {{}, {"git"}});
  b.Rule("in_workspace", Verdict::kAllow,
         b.And({b.Test(Op::kUnder, b.Get(Field::kCwd), b.Str("/work")),
                b.Test(Op::kIn, name, b.Strs({"ls", "cat", "grep", "python3"}))}));
  b.Rule("secrets", Verdict::kDeny,
         b.Quant(Op::kAny, args, 0, b.Test(Op::kContains, b.StrOp(Op::kLower, s0), b.Str(".ssh"))));
  b.Rule("depth", Verdict::kDeny, b.Test(Op::kGt, b.Coalesce(b.Get(Field::kParentDepth), b.Int(0)), b.Int(3)));
  return b.p;
}

std::vector<request::Request> VariedRequests(int count) {
  std::vector<request::Request> requests;
  const std::vector<std::string> programs = {"/usr/bin/git", "/bin/ls", "/usr/bin/python3", "/bin/rm"};
  const std::vector<std::string> words = {"status", "push", "--force-with-lease", "log", "~/.SSH/id", "x"};
  for (int k = 0; k < count; ++k) {
    request::Request r = GitStatus();
    r.program_path = programs[static_cast<std::size_t>(k) % programs.size()];
    r.args.clear();
    for (int a = 0; a < k % 4; ++a) r.args.push_back(words[static_cast<std::size_t>(k * 7 + a * 3) % words.size()]);
    r.cwd = k % 3 == 0 ? "/tmp" : "/work/repo";
    r.has_parent = k % 5 == 0;
    r.parent_depth = k % 7;
    requests.push_back(r);
  }
  return requests;
}

TEST_CASE("codegen: decide is safe to call from many threads", "[codegen]") {
  ir::Policy policy = AgentLikePolicy();
  std::unique_ptr<JitPolicy> jit = MustCompile(policy);
  interp::PreparedPolicy prepared = MustPrepare(policy);
  std::vector<request::Request> requests = VariedRequests(64);
  std::vector<std::unique_ptr<request::RequestView>> views;
  std::vector<gov_decision> expected(requests.size());
  for (std::size_t k = 0; k < requests.size(); ++k) {
    views.push_back(std::make_unique<request::RequestView>(requests[k]));
    expected[k] = Decide(*jit, prepared, views[k]->get());
  }
  std::vector<int> mismatches(8, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int round = 0; round < 500; ++round) {
        std::size_t k = static_cast<std::size_t>(round * 8 + t) % views.size();
        gov_decision d;
        jit->decide()(&views[k]->get(), &d, abi::DefaultHelpers());
        if (!Identical(d, expected[k])) ++mismatches[static_cast<std::size_t>(t)];
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  CHECK(mismatches == std::vector<int>(8, 0));
}

TEST_CASE("codegen: the object references no external symbol", "[codegen]") {
  ir::Policy policy = AgentLikePolicy();
  std::unique_ptr<JitPolicy> jit = MustCompile(policy);
  const NativeCode& native = jit->native();
  ErrorOr<ElfSymbols> symbols = ReadElfSymbols(native.object);
  REQUIRE(symbols.ok());
  CHECK(symbols.value().undefined.empty());
  CHECK(symbols.value().defined_global == std::vector<std::string>{"gov_decide"});
  CHECK(native.target_triple.find("x86_64") == 0);
  CHECK(native.cpu == "x86-64-v2");
  CHECK(native.cpu_features.find("+sse4.2") != std::string::npos);
  CHECK(native.cpu_features.find("+avx2") == std::string::npos);
  CHECK(native.image.empty());

  CHECK_FALSE(ReadElfSymbols("not an elf").ok());
  CHECK_FALSE(ReadElfSymbols(native.object.substr(0, 100)).ok());

  // Big byte loops stay loops: no memcpy/memset/memcmp calls anywhere.
  ErrorOr<std::string> optimized = EmitLlvmIr(policy, true, FastOptions());
  REQUIRE(optimized.ok());
  CHECK(optimized.value().find(" @gov_decide(") != std::string::npos);
  CHECK(optimized.value().find("@llvm.mem") == std::string::npos);
  std::size_t declared = 0;
  for (std::size_t at = optimized.value().find("\ndeclare "); at != std::string::npos;
       at = optimized.value().find("\ndeclare ", at + 1)) {
    std::string line = optimized.value().substr(at + 1, optimized.value().find('\n', at + 1) - at - 1);
    INFO(line);
    CHECK(line.find("@llvm.") != std::string::npos);
    ++declared;
  }
  CHECK(declared < 20);
}

TEST_CASE("codegen: host CPU code", "[codegen]") {
  Options options = FastOptions();
  options.cpu = "host";
  std::unique_ptr<JitPolicy> jit = MustCompile(AgentLikePolicy(), options);
  CHECK_FALSE(jit->native().cpu.empty());
  CHECK(jit->native().cpu != "x86-64-v2");
  interp::PreparedPolicy prepared = MustPrepare(AgentLikePolicy());
  for (const request::Request& r : VariedRequests(16)) {
    request::RequestView view(r);
    Decide(*jit, prepared, view.get());
  }
}

TEST_CASE("codegen: the code image loads from a signed bundle and decides the same", "[codegen]") {
  ir::Policy policy = AgentLikePolicy();
  std::unique_ptr<JitPolicy> jit = MustCompile(policy, Options{});
  const NativeCode& native = jit->native();
  REQUIRE_FALSE(native.image.empty());
  ErrorOr<bundle::CodeImage> image = bundle::ParseCodeImage(native.image);
  REQUIRE(image.ok());
  CHECK(image.value().machine == bundle::kMachineX86_64);

  std::array<std::uint8_t, crypto::kEd25519SeedSize> seed{};
  seed.fill(3);
  ErrorOr<crypto::PrivateKey> key = crypto::PrivateKey::FromSeed(seed);
  REQUIRE(key.ok());
  bundle::BundleContents contents;
  policy.name = "agent-like";
  contents.manifest.policy_name = policy.name;
  contents.manifest.policy_version = policy.version;
  contents.manifest.compiler_version = "govc test";
  contents.manifest.created = "2026-01-01T00:00:00Z";
  contents.manifest.abi_version = GOV_ABI_VERSION;
  contents.manifest.target =
      bundle::Target{native.target_triple, native.cpu, bundle::SplitFeatureString(native.cpu_features)};
  contents.ir = ir::Serialize(policy);
  contents.native = native.image;
  ErrorOr<std::string> bytes = bundle::WriteBundle(contents, key.value());
  INFO((bytes.ok() ? std::string() : bytes.error().message));
  REQUIRE(bytes.ok());
  ErrorOr<bundle::LoadedPolicy> loaded =
      bundle::LoadBundle(bytes.value(), {key.value().public_key()}, bundle::LoadOptions{.require_native = true});
  INFO((loaded.ok() ? std::string() : loaded.error().message));
  REQUIRE(loaded.ok());
  int compared = 0;
  for (const request::Request& r : VariedRequests(64)) {
    request::RequestView view(r);
    gov_decision from_bundle;
    gov_decision jitted;
    loaded.value().Decide(view.get(), from_bundle);
    jit->decide()(&view.get(), &jitted, abi::DefaultHelpers());
    CHECK(Identical(from_bundle, jitted));
    ++compared;
  }
  CHECK(compared == 64);
}

TEST_CASE("codegen: large policies compile in bounded time and dispatch by index", "[codegen]") {
  // 1000 rules, each indexed under its own program path.
  Ir b;
  std::uint32_t args = b.Get(Field::kArgs);
  std::uint32_t first = b.Index(args, b.Int(0));
  for (int k = 0; k < 1000; ++k) {
    std::string path = "/usr/bin/tool" + std::to_string(k);
    std::uint32_t condition = b.And(
        {b.Eq(b.Get(Field::kProgramPath), b.Str(path)), b.Test(Op::kIn, first, b.Strs({"a", "b", std::to_string(k)}))});
    b.Rule("tool" + std::to_string(k), k % 2 == 0 ? Verdict::kAllow : Verdict::kDeny, condition, {}, {{path}, {}});
  }
  // CPU time, not wall time: the build machine is shared.
  std::clock_t start = std::clock();
  std::unique_ptr<JitPolicy> jit = MustCompile(b.p);
  double seconds = static_cast<double>(std::clock() - start) / CLOCKS_PER_SEC;
  WARN("compiling 1000 rules took " << seconds << " s of CPU");
  CHECK(seconds < 30);
  interp::PreparedPolicy prepared = MustPrepare(b.p);
  request::Request r = GitStatus();
  r.program_path = "/usr/bin/tool234";
  r.args = {"234"};
  request::RequestView view(r);
  gov_decision d = Decide(*jit, prepared, view.get());
  CHECK(d.verdict == GOV_ALLOW);
  REQUIRE(d.rule_count == 1);
  CHECK(d.rules[0] == 234);
}

TEST_CASE("codegen: rules of one shape share code and keep their own constants", "[codegen]") {
  // 60 rules in two shapes that differ only in constants: strings, ints,
  // lists (membership and quantifier), maps, patterns, verdicts.
  Ir b;
  for (int k = 0; k < 60; ++k) {
    std::string tool = "/usr/bin/tool" + std::to_string(k);
    std::uint32_t condition = 0;
    if (k % 2 == 0) {
      condition = b.And({b.Eq(b.Get(Field::kProgramPath), b.Str(tool)),
                         b.Test(Op::kIn, b.Index(b.Get(Field::kArgs), b.Int(0)), b.Strs({"x", std::to_string(k)})),
                         b.Test(Op::kLe, b.Len(b.Get(Field::kArgs)), b.Int(k % 5 + 1)),
                         b.Test(Op::kIn, b.Get(Field::kUserUid), b.Ints({k, 1000 + k}))});
    } else {
      std::uint32_t word = b.Local(0, Kind::kStr);
      condition = b.And({b.Eq(b.Get(Field::kProgramPath), b.Str(tool)),
                         b.Quant(Op::kAny, b.Get(Field::kArgs), 0,
                                 b.Match(word, pattern::Syntax::kGlob, "a" + std::to_string(k) + "*")),
                         b.Eq(b.MapGet(b.Map({{"HOME", "/home/u" + std::to_string(k)}}), b.Str("HOME")),
                              b.MapGet(b.Get(Field::kEnv), b.Str("HOME")))});
    }
    b.Rule("r" + std::to_string(k), std::vector<Verdict>{Verdict::kAllow, Verdict::kDeny, Verdict::kAsk}[k % 3],
           condition, {}, {{tool}, {}});
  }
  ErrorOr<std::string> text = EmitLlvmIr(b.p, /*optimized=*/false, FastOptions());
  REQUIRE(text.ok());
  std::size_t shapes = 0;
  for (std::size_t at = 0; (at = text.value().find("define internal i32 @gov.shape.", at)) != std::string::npos; ++at) {
    ++shapes;
  }
  CHECK(shapes == 2);

  std::unique_ptr<JitPolicy> jit = MustCompile(b.p);
  interp::PreparedPolicy prepared = MustPrepare(b.p);
  int matched = 0;
  for (int k = 0; k < 60; ++k) {
    for (int variant = 0; variant < 4; ++variant) {
      request::Request r = GitStatus();
      r.program_path = "/usr/bin/tool" + std::to_string(k);
      r.uid = variant == 0 ? k : variant == 1 ? 1000 + k : k + 1;
      r.args = {variant < 2 ? std::to_string(k) : "x", "a" + std::to_string(k) + "z"};
      r.env = {{"HOME", "/home/u" + std::to_string(variant == 3 ? k + 1 : k)}};
      request::RequestView view(r);
      gov_decision d = Decide(*jit, prepared, view.get());
      if (d.rule_count == 1 && d.rules[0] == static_cast<std::uint32_t>(k)) ++matched;
    }
  }
  // Each rule matched its own constants at least once (and Decide checked
  // every decision against the interpreter).
  CHECK(matched >= 60);
}

TEST_CASE("codegen: a repeated subexpression is emitted once and evaluates at every use", "[codegen]") {
  // is_risky(w) = starts_with(cwd / w, PREFIX) or 100 / (len(w) - BAD) > 0 or
  // lower(w) in SET — the shape of an inlined standard-library predicate: a
  // quantifier variable, scratch (the join, the lower-case copy), an error
  // that depends on the argument, and constants that differ per use.
  Ir b;
  auto is_risky = [&](std::uint32_t word, const std::string& prefix, std::int64_t bad, std::vector<std::string> set) {
    std::uint32_t joined = b.StrOp2(Op::kPathJoin, b.Get(Field::kCwd), word);
    return b.Or({b.Test(Op::kStartsWith, joined, b.Str(prefix)),
                 b.Test(Op::kGt, b.Arith(Op::kDiv, b.Int(100), b.Arith(Op::kSub, b.Len(word), b.Int(bad))), b.Int(0)),
                 b.Test(Op::kIn, b.StrOp(Op::kLower, word), b.Strs(std::move(set)))});
  };
  std::uint32_t args = b.Get(Field::kArgs);
  std::uint32_t w = b.Local(0, Kind::kStr);
  std::uint32_t v = b.Local(1, Kind::kStr);
  b.Rule("one_use", Verdict::kAllow, b.Quant(Op::kAny, args, 0, is_risky(w, "/work/a", 3, {"x"})));
  // Two uses in one rule: both take scratch from the same arena.
  b.Rule("two_uses", Verdict::kDeny,
         b.Quant(Op::kAll, args, 0,
                 b.And({b.Not(is_risky(w, "/tmp", 5, {"status"})), b.Not(is_risky(w, "/usr", 7, {"y"}))})));
  // Inside a nested quantifier, over the inner variable (another slot).
  b.Rule("nested", Verdict::kAsk,
         b.Quant(Op::kAny, args, 0,
                 b.Quant(Op::kAny, b.Strs({"a", "bb", "ccc"}), 1,
                         b.And({b.Eq(v, w), is_risky(v, "/work/repo/a", 2, {"bb"})}))));

  ErrorOr<std::string> text = EmitLlvmIr(b.p, /*optimized=*/false, FastOptions());
  REQUIRE(text.ok());
  auto count = [&](const std::string& needle) {
    std::size_t n = 0;
    for (std::size_t at = 0; (at = text.value().find(needle, at)) != std::string::npos; ++at) ++n;
    return n;
  };
  // is_risky over slot 0 is used three times: one function, called three
  // times; inside it `100 / (len(w) - BAD)` (used again, over slot 1, in
  // the nested rule, but there only once: inline) is a function too, since
  // its structure occurs three times.
  CHECK(count("define internal i32 @gov.sub.") == 2);
  CHECK(count("call i32 @gov.sub.") == 4);

  std::unique_ptr<JitPolicy> jit = MustCompile(b.p);
  interp::PreparedPolicy prepared = MustPrepare(b.p);
  std::set<std::uint32_t> errors;
  std::set<std::uint32_t> verdicts;
  const std::vector<std::vector<std::string>> arg_lists = {{"status"},
                                                           {"abc"},
                                                           {"bb"},
                                                           {"X"},
                                                           {"Y", "zz"},
                                                           {"hello", "/tmp/x"},
                                                           {"aaaaa"},
                                                           {"aaaaaaa"},
                                                           {"/usr/lib", "q"},
                                                           {"ccc"},
                                                           {"a", "status"},
                                                           {std::string(30000, 'p')},
                                                           {std::string(40000, 'p')}};
  for (const auto& list : arg_lists) {
    request::Request r = GitStatus();
    r.args = list;
    request::RequestView view(r);
    INFO("args[0] " << list[0].substr(0, 20) << " (" << list[0].size() << " bytes)");
    gov_decision d = Decide(*jit, prepared, view.get());
    if (d.error != GOV_OK) errors.insert(d.error);
    verdicts.insert(d.verdict);
  }
  // The cases reach each error kind and each verdict.
  CHECK(errors == std::set<std::uint32_t>{GOV_ERR_DIVISION, GOV_ERR_SCRATCH});
  CHECK(verdicts == std::set<std::uint32_t>{GOV_ALLOW, GOV_DENY, GOV_ASK});
}

TEST_CASE("codegen: automata in flat and comb tables match like the interpreter", "[codegen]") {
  // Larger automata are stored row-displaced (kDfaComb) when that is
  // smaller; small ones flat. One rule per pattern over the first argument.
  const std::vector<std::pair<pattern::Syntax, std::string>> patterns = {
      {pattern::Syntax::kRegex,
       R"((/root|/home/[^/]+)/(\.ssh|\.aws|\.azure|\.config/gcloud|\.gnupg|\.kube|\.docker/config\.json|\.netrc)(/.*)?)"},
      {pattern::Syntax::kRegex, R"(.*(/etc/g?shadow|/etc/sudoers|/run/secrets|/proc/[^/]+/(task/[^/]+/)?environ).*)"},
      {pattern::Syntax::kRegex, R"(--(ex(e(c)?)?|up(l(o(a(d(-(p(a(c(k)?)?)?)?)?)?)?)?)?|receive-pack)(=.*)?)"},
      {pattern::Syntax::kRegex, "(a|b)*a(a|b){5}"},
      {pattern::Syntax::kGlob, "src/**/*.c"},
      {pattern::Syntax::kGlob, "-[a-z]*x*"},
  };
  Ir b;
  std::uint32_t first = b.Coalesce(b.Index(b.Get(Field::kArgs), b.Int(0)), b.Str(""));
  for (std::size_t k = 0; k < patterns.size(); ++k) {
    b.Rule("p" + std::to_string(k), Verdict::kAllow, b.Match(first, patterns[k].first, patterns[k].second));
  }
  ErrorOr<std::string> text = EmitLlvmIr(b.p, /*optimized=*/false, FastOptions());
  REQUIRE(text.ok());
  // Both forms are present: a comb table with entries, and flat rows.
  CHECK(text.value().find("@gov.dfa.comb = private unnamed_addr constant [1 x") == std::string::npos);
  CHECK(text.value().find("@gov.dfa.next8 = private unnamed_addr constant [1 x") == std::string::npos);

  std::unique_ptr<JitPolicy> jit = MustCompile(b.p);
  interp::PreparedPolicy prepared = MustPrepare(b.p);
  std::vector<std::string> texts = {"",
                                    "/root/.ssh",
                                    "/home/u/.aws/credentials",
                                    "/home/u/.awsx",
                                    "/home//.kube",
                                    "x/etc/shadow/y",
                                    "/etc/gshadow",
                                    "/proc/1/task/2/environ",
                                    "--exec=x",
                                    "--upl",
                                    "--upload-pack",
                                    "--receive-pack=z",
                                    "aababb",
                                    "abbbbb",
                                    "src/a/b.c",
                                    "src/b.c",
                                    "-abx",
                                    "-x",
                                    "-xy"};
  // And random texts over the patterns' bytes.
  std::mt19937 rng(7);
  const std::string alphabet = "/.-=abcehikmoprstuvwxy";
  for (int n = 0; n < 3000; ++n) {
    std::string t = n % 2 == 0 ? texts[rng() % texts.size()] : "";
    const std::size_t extra = rng() % 24;
    for (std::size_t i = 0; i < extra; ++i)
      t.insert(t.begin() + static_cast<std::ptrdiff_t>(rng() % (t.size() + 1)), alphabet[rng() % alphabet.size()]);
    texts.push_back(t);
  }
  std::size_t matched = 0;
  for (const std::string& t : texts) {
    request::Request r = GitStatus();
    r.args = {t};
    request::RequestView view(r);
    INFO(t);
    matched += Decide(*jit, prepared, view.get()).rule_count;
  }
  CHECK(matched > 25);  // 33 with this seed: matching and failing texts both occur
}

TEST_CASE("codegen: the hash rule index finds keys of every length, and no rules is default deny", "[codegen]") {
  // Path keys "/p" + k and name keys k for k of 0..24 bytes (whole 8-byte
  // words and every tail length); requests with those paths and names must
  // find exactly their rules.
  Ir b;
  std::vector<std::string> keys;
  for (int n = 0; n <= 24; ++n) {
    std::string key;
    for (int k = 0; k < n; ++k) key.push_back(static_cast<char>('a' + (k * 7 + n) % 26));
    keys.push_back(key);
    b.Rule("path" + std::to_string(n), Verdict::kAllow, b.Eq(b.Get(Field::kProgramPath), b.Str("/p" + key)), {},
           {{"/p" + key}, {}});
    b.Rule("name" + std::to_string(n), Verdict::kAsk, b.Eq(b.Get(Field::kProgramName), b.Str(key)), {}, {{}, {key}});
  }
  std::unique_ptr<JitPolicy> jit = MustCompile(b.p);
  interp::PreparedPolicy prepared = MustPrepare(b.p);
  for (int n = 0; n <= 24; ++n) {
    request::Request r = GitStatus();
    r.program_path = "/p" + keys[static_cast<std::size_t>(n)];
    request::RequestView view(r);
    gov_decision d = Decide(*jit, prepared, view.get());
    CHECK(d.verdict == GOV_ALLOW);
    REQUIRE(d.rule_count == 1);
    CHECK(d.rules[0] == static_cast<std::uint32_t>(2 * n));
    // A key one byte longer is another key (no rule: default deny).
    r.program_path = "/p" + keys[static_cast<std::size_t>(n)] + "0";
    request::RequestView longer(r);
    CHECK(Decide(*jit, prepared, longer.get()).rule_count == 0);
  }
  // Names: the view derives program_name from program_path's last segment.
  for (int n = 1; n <= 24; ++n) {
    request::Request r = GitStatus();
    r.program_path = "/opt/" + keys[static_cast<std::size_t>(n)];
    request::RequestView view(r);
    gov_decision d = Decide(*jit, prepared, view.get());
    CHECK(d.verdict == GOV_ASK);
    REQUIRE(d.rule_count == 1);
    CHECK(d.rules[0] == static_cast<std::uint32_t>(2 * n + 1));
  }

  Ir empty;
  std::unique_ptr<JitPolicy> none = MustCompile(empty.p);
  interp::PreparedPolicy none_prepared = MustPrepare(empty.p);
  const request::Request git_status = GitStatus();
  request::RequestView view(git_status);
  gov_decision d = Decide(*none, none_prepared, view.get());
  CHECK(d.verdict == GOV_DENY);
  CHECK(d.error == GOV_OK);
  CHECK(d.rule_count == 0);
}

// Not run by default (hidden tag): ns per decision, native vs interpreter.
TEST_CASE("codegen: decision speed", "[.][codegen-bench]") {
  ir::Policy policy = AgentLikePolicy();
  std::unique_ptr<JitPolicy> jit = MustCompile(policy);
  interp::PreparedPolicy prepared = MustPrepare(policy);
  std::vector<request::Request> requests = VariedRequests(64);
  std::vector<std::unique_ptr<request::RequestView>> views;
  for (const request::Request& r : requests) views.push_back(std::make_unique<request::RequestView>(r));
  constexpr int kRounds = 2000;
  auto time = [&](auto&& decide) {
    auto start = std::chrono::steady_clock::now();
    for (int round = 0; round < kRounds; ++round) {
      for (const auto& view : views) decide(view->get());
    }
    auto elapsed = std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - start).count();
    return elapsed / (kRounds * static_cast<double>(views.size()));
  };
  gov_decision d;
  double native = time([&](const gov_request& q) { jit->decide()(&q, &d, abi::DefaultHelpers()); });
  double reference = time([&](const gov_request& q) { interp::Decide(prepared, q, d); });
  WARN("native " << native << " ns/decision, interpreter " << reference << " ns/decision");
  CHECK(native < reference);
}

// A grammar with every kind of field: top-level int option, repeatable path
// option and flag; subcommand `a` with a flag, an optional path operand and
// int operands; subcommand `b` with an enum option.
argparse::Command EveryFieldKind(argparse::Style style, bool options_first, bool options_persistent) {
  using argparse::CommandField;
  using argparse::FieldRole;
  using argparse::ValueType;
  auto field = [](std::string name, FieldRole role, std::string shorts, std::vector<std::string> longs,
                  ValueType type = ValueType::kString) {
    CommandField f;
    f.name = std::move(name);
    f.role = role;
    f.shorts = std::move(shorts);
    f.longs = std::move(longs);
    f.type.type = type;
    f.value = role == FieldRole::kOption ? argparse::Value::kRequired : argparse::Value::kNone;
    return f;
  };
  argparse::Command command;
  command.name = "tool";
  command.top.style = style;
  CommandField dirs = field("dirs", FieldRole::kOption, "C", {}, ValueType::kPath);
  dirs.repeatable = true;
  command.top.fields = {field("lines", FieldRole::kOption, "n", {"lines"}, ValueType::kInt), dirs,
                        field("verbose", FieldRole::kFlag, "v", {"verbose"})};
  argparse::CommandScope a;
  a.name = "a";
  if (style == argparse::Style::kCobra) a.style = style;
  CommandField target = field("target", FieldRole::kOperands, "", {}, ValueType::kPath);
  target.min_count = 0;
  CommandField numbers = field("numbers", FieldRole::kOperands, "", {}, ValueType::kInt);
  numbers.min_count = 0;
  numbers.max_count = argparse::kUnbounded;
  a.fields = {field("force", FieldRole::kFlag, "f", {"force"}), target, numbers};
  argparse::CommandScope b;
  b.name = "b";
  if (style == argparse::Style::kCobra) b.style = style;
  CommandField colour = field("colour", FieldRole::kOption, "o", {"colour"}, ValueType::kEnum);
  colour.type.choices = {"red", "blue"};
  b.fields = {colour};
  if (style != argparse::Style::kCobra) {
    // `ends options`: the words after `-e VALUE` are operands of `b`.
    CommandField end = field("end", FieldRole::kOption, "e", {"end"});
    end.ends_options = true;
    CommandField rest = field("rest", FieldRole::kOperands, "", {});
    rest.min_count = 0;
    rest.max_count = argparse::kUnbounded;
    b.fields.push_back(end);
    b.fields.push_back(rest);
  }
  // `options first` (cobra only): the top level's options not persistent, `a` stops at its first operand.
  command.top.options_first = options_first;
  a.options_first = options_first;
  // `options persistent` (gnu, posix): the top level's options read in `a` and `b` too.
  command.top.options_persistent = options_persistent;
  command.subcommands = {a, b};
  return command;
}

// One rule per (field, value) probe and per field's presence; the rules
// that fire for a list are computed from ParseCommand directly, and the
// native code and the interpreter must both give exactly that decision.
void CheckGrammarAgreement(argparse::Style style, bool options_first = false, bool options_persistent = false) {
  const std::vector<std::string> words = {"-n",        "5",      "-n7",  "--lines=3", "-C",       "/r",
                                          "sub",       "a",      "b",    "-f",        "-v",       "--",
                                          "-o",        "red",    "blue", "12",        "-x",       "--force",
                                          "-vf",       "x",      "-n=4", "-o=blue",   "-v=false", "--verbose=true",
                                          "--force=0", "--verb", "-e",   "--end"};
  const argparse::Command command = EveryFieldKind(style, options_first, options_persistent);
  INFO("style " << static_cast<int>(style) << (options_first ? ", options first" : "")
                << (options_persistent ? ", options persistent" : ""));
  REQUIRE(argparse::ValidateCommand(command).empty());
  Ir b;
  b.p.commands = {command};
  const std::uint32_t args = b.Get(Field::kArgs);
  const std::uint32_t cwd = b.Get(Field::kCwd);
  struct Probe {
    std::string what;
    std::function<bool(const argparse::CommandParse&)> expected;
  };
  std::vector<Probe> probes;
  const auto rule = [&](std::string what, std::uint32_t condition,
                        std::function<bool(const argparse::CommandParse&)> expected) {
    b.Rule("r" + std::to_string(probes.size()), Verdict::kDeny, condition);
    probes.push_back(Probe{std::move(what), std::move(expected)});
  };
  rule("parses", b.Add(Op::kArgParses, Kind::kBool, false, args, cwd, kNo, 0),
       [](const argparse::CommandParse&) { return true; });
  const std::uint32_t chosen = b.Add(Op::kArgSubcommand, Kind::kStr, true, args, cwd, kNo, 0);
  for (int sub = 0; sub < 2; ++sub) {
    rule("subcommand " + std::to_string(sub), b.Eq(chosen, b.Str(sub == 0 ? "a" : "b")),
         [sub](const argparse::CommandParse& p) { return p.subcommand == sub; });
  }
  for (std::uint32_t f = 0;; ++f) {
    const std::optional<ir::ArgFieldRef> ref = ir::ArgFieldAt(command, f);
    if (!ref) break;
    const std::uint32_t node = b.Add(Op::kArgField, ref->kind, true, args, cwd, f, 0);
    const auto values = [ref](const argparse::CommandParse& p) -> const argparse::FieldValues* {
      if (ref->subcommand >= 0 && ref->subcommand != p.subcommand) return nullptr;
      return &(ref->subcommand < 0 ? p.top : p.chosen)[ref->index_in_scope];
    };
    rule(ref->field->name + " present", b.Not(b.IsNone(node)), [values, ref](const argparse::CommandParse& p) {
      // Flags and lists are present whenever their scope parsed; a
      // single value only when it was given.
      const argparse::FieldValues* v = values(p);
      if (v == nullptr) return false;
      if (ref->kind == Kind::kInt) return !v->numbers.empty();
      if (ref->kind == Kind::kStr) return !v->texts.empty();
      return true;
    });
    if (ref->kind == Kind::kBool) {
      rule(ref->field->name + " true", b.Eq(node, b.Bool(true)),
           [values](const argparse::CommandParse& p) { return values(p) != nullptr && values(p)->present; });
      continue;
    }
    if (ref->kind == Kind::kStrList || ref->kind == Kind::kIntList) {
      rule(ref->field->name + " length", b.Eq(b.Len(node), b.Int(0)), [values](const argparse::CommandParse& p) {
        return values(p) != nullptr && values(p)->texts.empty() && values(p)->numbers.empty();
      });
    }
    for (const std::string& word : words) {
      const bool number = ref->kind == Kind::kInt || ref->kind == Kind::kIntList;
      std::int64_t n = 0;
      if (number && std::from_chars(word.data(), word.data() + word.size(), n).ec != std::errc()) continue;
      const std::string text = ref->field->type.type == argparse::ValueType::kPath ? paths::Join("/w", word) : word;
      const std::uint32_t constant = number ? b.Int(n) : b.Str(text);
      const bool list = ref->kind == Kind::kStrList || ref->kind == Kind::kIntList;
      const std::uint32_t test = list ? b.Test(Op::kIn, constant, node) : b.Eq(node, constant);
      rule(ref->field->name + " has " + word, test, [values, number, n, text, list](const argparse::CommandParse& p) {
        const argparse::FieldValues* v = values(p);
        if (v == nullptr) return false;
        if (number) {
          if (v->numbers.empty()) return false;
          return list ? std::find(v->numbers.begin(), v->numbers.end(), n) != v->numbers.end() : v->numbers.back() == n;
        }
        if (v->texts.empty()) return false;
        return list ? std::find(v->texts.begin(), v->texts.end(), text) != v->texts.end() : v->texts.back() == text;
      });
    }
  }
  REQUIRE(probes.size() < GOV_MAX_DECIDING_RULES);
  REQUIRE(ir::Validate(b.p).empty());
  std::unique_ptr<JitPolicy> jit = MustCompile(b.p);
  interp::PreparedPolicy prepared = MustPrepare(b.p);
  std::mt19937 random(20261206);
  for (int round = 0; round < 600; ++round) {
    request::Request r = GitStatus();
    r.cwd = "/w";
    r.args.clear();
    const int length = static_cast<int>(random() % 7);
    for (int k = 0; k < length; ++k) r.args.push_back(words[random() % words.size()]);
    const argparse::CommandResult reference =
        argparse::ParseCommand(command, std::vector<std::string_view>(r.args.begin(), r.args.end()), r.cwd);
    std::vector<std::uint32_t> expected;
    if (reference.parse) {
      for (std::uint32_t id = 0; id < probes.size(); ++id) {
        if (probes[id].expected(*reference.parse)) expected.push_back(id);
      }
    }
    std::string argv;
    for (const std::string& a : r.args) argv += " " + a;
    INFO("args:" << argv << (reference.parse ? "" : " (does not parse: " + reference.error + ")"));
    request::RequestView view(r);
    const gov_decision d = Decide(*jit, prepared, view.get());
    REQUIRE(d.error == GOV_OK);
    std::vector<std::uint32_t> fired(d.rules, d.rules + d.rule_count);
    std::string missing;
    std::string extra;
    for (std::uint32_t id : expected) {
      if (std::find(fired.begin(), fired.end(), id) == fired.end()) missing += " [" + probes[id].what + "]";
    }
    for (std::uint32_t id : fired) {
      if (std::find(expected.begin(), expected.end(), id) == expected.end()) extra += " [" + probes[id].what + "]";
    }
    INFO("missing:" << missing << " extra:" << extra);
    CHECK(fired == expected);
  }
}

TEST_CASE("codegen: argument grammars agree with argparse::ParseCommand in both engines", "[codegen]") {
  CheckGrammarAgreement(argparse::Style::kGnu);
  CheckGrammarAgreement(argparse::Style::kCobra);
  CheckGrammarAgreement(argparse::Style::kCobra, /*options_first=*/true);
  CheckGrammarAgreement(argparse::Style::kGnu, /*options_first=*/false, /*options_persistent=*/true);
  CheckGrammarAgreement(argparse::Style::kPosix, /*options_first=*/false, /*options_persistent=*/true);
}

TEST_CASE("codegen: argument grammar values take scratch as in the interpreter", "[codegen]") {
  argparse::Command command;
  command.name = "cp";
  argparse::CommandField files;
  files.name = "files";
  files.role = argparse::FieldRole::kOperands;
  files.type.type = argparse::ValueType::kPath;
  files.min_count = 0;
  files.max_count = argparse::kUnbounded;
  command.top.fields = {files};
  Ir b;
  b.p.commands = {command};
  request::Request r = GitStatus();
  r.cwd = "/" + std::string(20000, 'c');
  const std::uint32_t args = b.Get(Field::kArgs);
  const std::uint32_t cwd = b.Get(Field::kCwd);
  const std::uint32_t list = b.Add(Op::kArgField, Kind::kStrList, true, args, cwd, 0, 0);
  const std::uint32_t count = b.Eq(b.Len(list), b.Int(2));
  // Each operand resolves to a 20003-byte path: three and their 48 bytes of
  // items fit in the 65536-byte arena, four do not.
  r.args = {"a", "b"};
  ExpectAll(b, {{count, kTrue}}, r);
  r.args = {"a", "b", "c"};
  ExpectAll(b, {{b.Not(b.IsNone(list)), kTrue}}, r);
  r.args = {"a", "b", "c", "d"};
  ExpectAll(b, {{b.Not(b.IsNone(list)), Err(GOV_ERR_SCRATCH)}}, r);
  // A list that did not fit takes nothing: after it, the `or`'s next operand has the whole arena
  // for its 20001 bytes (the interpreter once kept the three paths it had copied).
  ExpectAll(b, {{b.Or({b.Not(b.IsNone(list)), b.Not(b.IsNone(b.StrOp(Op::kLower, cwd)))}), kTrue}}, r);
}

}  // namespace
}  // namespace gov::codegen
