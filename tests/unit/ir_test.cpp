// Unit tests for runtime/ir: Validate (each invariant accepted and violated),
// Node equality, and the byte format: round trip, determinism, header bytes,
// and robustness against every truncation and every single-bit flip.
#include "runtime/ir/ir.h"

#include <linux/capability.h>

#include <catch2/catch.hpp>
#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "runtime/ir/capabilities.h"
#include "runtime/ir/env_names.h"
#include "runtime/ir/env_reads.h"
#include "runtime/ir/serialize.h"
#include "runtime/pattern/pattern.h"

namespace gov::ir {
namespace {

constexpr std::uint32_t N = kNoNode;

std::uint32_t Push(Policy& p, Node n) {
  p.nodes.push_back(n);
  return static_cast<std::uint32_t>(p.nodes.size() - 1);
}

// A small policy using every pool, a pattern, a quantifier, context and
// obligations; valid by construction.
Policy SamplePolicy() {
  Policy p;
  p.name = "sample";
  p.version = "1.2.3";
  p.strings = {"/usr/bin/git", "-", "status"};
  p.str_lists = {{"diff", "log"}};
  p.int_lists = {{1, -2, 3}};
  p.maps = {{{"A", "1"}, {"B", "2"}}};
  pattern::CompileResult glob = pattern::Compile(pattern::Syntax::kGlob, "/usr/*/git");
  REQUIRE(glob.dfa.has_value());
  p.patterns = {{"/usr/*/git", false, glob.dfa->Serialize()}};
  p.context = {{"ticket", Kind::kStr, true, ContextField::Spelling::kString},
               {"budget", Kind::kInt, false, ContextField::Spelling::kDuration}};
  p.local_slots = 1;
  std::uint32_t path =
      Push(p, {Op::kField, Kind::kStr, false, N, N, N, static_cast<std::int64_t>(Field::kProgramPath)});
  std::uint32_t git = Push(p, {Op::kConstStr, Kind::kStr, false, 0, N, N, 0});
  std::uint32_t is_git = Push(p, {Op::kEq, Kind::kBool, false, path, git, N, 0});
  std::uint32_t args = Push(p, {Op::kField, Kind::kStrList, false, N, N, N, static_cast<std::int64_t>(Field::kArgs)});
  std::uint32_t a = Push(p, {Op::kLocal, Kind::kStr, false, 0, N, N, 0});
  std::uint32_t dash = Push(p, {Op::kConstStr, Kind::kStr, false, 1, N, N, 0});
  std::uint32_t starts = Push(p, {Op::kStartsWith, Kind::kBool, false, a, dash, N, 0});
  std::uint32_t any = Push(p, {Op::kAny, Kind::kBool, false, args, starts, N, 0});
  std::uint32_t matches = Push(p, {Op::kMatches, Kind::kBool, false, path, N, N, 0});
  std::uint32_t ticket = Push(p, {Op::kField, Kind::kStr, true, 0, N, N, static_cast<std::int64_t>(Field::kContext)});
  std::uint32_t none = Push(p, {Op::kNone, Kind::kStr, true, N, N, N, 0});
  std::uint32_t no_ticket = Push(p, {Op::kEq, Kind::kBool, false, ticket, none, N, 0});
  std::uint32_t ints = Push(p, {Op::kConstList, Kind::kIntList, false, 0, N, N, 0});
  std::uint32_t three = Push(p, {Op::kConstInt, Kind::kInt, false, N, N, N, 3});
  std::uint32_t in = Push(p, {Op::kIn, Kind::kBool, false, three, ints, N, 0});
  std::uint32_t map = Push(p, {Op::kConstMap, Kind::kStrMap, false, 0, N, N, 0});
  std::uint32_t len = Push(p, {Op::kLen, Kind::kInt, false, map, N, N, 0});
  std::uint32_t two = Push(p, {Op::kConstInt, Kind::kInt, false, N, N, N, 2});
  std::uint32_t len2 = Push(p, {Op::kEq, Kind::kBool, false, len, two, N, 0});
  std::uint32_t list = Push(p, {Op::kConstList, Kind::kStrList, false, 0, N, N, 0});
  std::uint32_t status = Push(p, {Op::kConstStr, Kind::kStr, false, 2, N, N, 0});
  std::uint32_t in_list = Push(p, {Op::kIn, Kind::kBool, false, status, list, N, 0});
  p.operands = {is_git, any, matches, no_ticket, in, len2, in_list};
  std::uint32_t all = Push(p, {Op::kAnd, Kind::kBool, false, 0, 7, N, 0});
  std::uint32_t t = Push(p, {Op::kConstBool, Kind::kBool, false, N, N, N, 1});

  argparse::Command rm;
  rm.name = "rm";
  argparse::CommandField force;
  force.name = "force";
  force.shorts = "f";
  force.longs = {"force"};
  argparse::CommandField targets;
  targets.name = "targets";
  targets.role = argparse::FieldRole::kOperands;
  targets.type.type = argparse::ValueType::kPath;
  targets.max_count = argparse::kUnbounded;
  rm.top.fields = {force, targets};
  p.commands = {rm};
  std::uint32_t cwd = Push(p, {Op::kField, Kind::kStr, false, N, N, N, static_cast<std::int64_t>(Field::kCwd)});
  std::uint32_t parses = Push(p, {Op::kArgParses, Kind::kBool, false, args, cwd, N, 0});
  std::uint32_t forced = Push(p, {Op::kArgField, Kind::kBool, true, args, cwd, 0, 0});
  std::uint32_t no = Push(p, {Op::kConstBool, Kind::kBool, false, N, N, N, 0});
  std::uint32_t not_forced = Push(p, {Op::kEq, Kind::kBool, false, forced, no, N, 0});
  p.operands.push_back(parses);
  p.operands.push_back(not_forced);
  std::uint32_t rm_unforced = Push(p, {Op::kAnd, Kind::kBool, false, 7, 2, N, 0});
  Rule allow;
  allow.name = "allow_git";
  allow.verdict = Verdict::kAllow;
  allow.reason = "because";
  allow.condition = all;
  allow.obligations.timeout_ms = 1000;
  allow.obligations.memory_bytes = 1 << 20;
  allow.obligations.processes = 4;
  allow.obligations.network = Network::kLoopback;
  allow.obligations.has_read = true;
  allow.obligations.read = {"/usr", "/work"};
  allow.obligations.has_write = true;
  allow.obligations.has_create = true;
  allow.obligations.create = {"/tmp/out"};
  allow.obligations.private_tmp = true;
  allow.obligations.has_env = true;
  allow.obligations.env = {"HOME", "PATH"};
  allow.obligations.has_capabilities = true;
  allow.obligations.capabilities = {"chown", "net_bind_service"};
  allow.index.paths = {"/usr/bin/git"};
  Rule deny;
  deny.name = "deny_all";
  deny.verdict = Verdict::kDeny;
  deny.condition = t;
  deny.index.names = {"rm", "shred"};
  Rule rm_rule;
  rm_rule.name = "allow_rm";
  rm_rule.verdict = Verdict::kAllow;
  rm_rule.condition = rm_unforced;
  p.rules = {allow, deny, rm_rule};
  return p;
}

TEST_CASE("ir: the sample policy is valid", "[ir]") {
  Policy p = SamplePolicy();
  CHECK(Validate(p).empty());
  CHECK(Validate(Policy{}).empty());
}

TEST_CASE("ir: node equality compares every member", "[ir]") {
  Node a{Op::kAdd, Kind::kInt, true, 1, 2, N, 0};
  Node b = a;
  CHECK(a == b);
  b.imm = 1;
  CHECK_FALSE(a == b);
  b = a;
  b.optional = false;
  CHECK_FALSE(a == b);
  b = a;
  b.c = 3;
  CHECK_FALSE(a == b);
  b = a;
  b.op = Op::kSub;
  CHECK_FALSE(a == b);
}

// Applies `mutate` to the sample policy and returns Validate's message.
std::string Broken(const std::function<void(Policy&)>& mutate) {
  Policy p = SamplePolicy();
  mutate(p);
  return Validate(p);
}

TEST_CASE("ir: Validate rejects each broken invariant", "[ir]") {
  // Node indices: 0 path, 1 git, 2 is_git, 3 args, 4 local, 5 dash, 6 starts,
  // 7 any, 8 matches, 9 ticket, 10 none, 11 no_ticket, 12 ints, 13 three,
  // 14 in, 15 map, 16 len, 17 two, 18 len2, 19 list, 20 status, 21 in_list,
  // 22 and, 23 true.
  CHECK(Broken([](Policy& p) { p.nodes[2].b = 2; }) == "node 2: operand b (2) must be a node before this one");
  CHECK(Broken([](Policy& p) { p.nodes[2].b = 99; }) == "node 2: operand b (99) must be a node before this one");
  CHECK(Broken([](Policy& p) { p.nodes[2].a = N; }) == "node 2: operand a (none) must be a node before this one");
  CHECK(Broken([](Policy& p) { p.nodes[2].c = 0; }) == "node 2: unused operand c is set");
  CHECK(Broken([](Policy& p) { p.nodes[1].imm = 4; }) == "node 1: unused imm is set");
  CHECK(Broken([](Policy& p) { p.nodes[2].b = 0; }).empty());  // path == path is fine
  CHECK(Broken([](Policy& p) { p.nodes[18].b = 15; }) == "node 18: compared operands must have the same kind");
  CHECK(Broken([](Policy& p) { p.nodes[2].optional = true; }) == "node 2: result must not be optional");
  CHECK(Broken([](Policy& p) { p.nodes[2].kind = Kind::kInt; }) == "node 2: result kind does not match the op");
  CHECK(Broken([](Policy& p) { p.nodes[2].op = static_cast<Op>(8); }) == "node 2: unknown op 8");
  CHECK(Broken([](Policy& p) { p.nodes[2].kind = static_cast<Kind>(6); }) == "node 2: unknown kind 6");
  CHECK(Broken([](Policy& p) { p.nodes[1].a = 3; }) == "node 1: string pool index out of range");
  CHECK(Broken([](Policy& p) { p.nodes[12].a = 1; }) == "node 12: int list pool index out of range");
  CHECK(Broken([](Policy& p) { p.nodes[19].a = 1; }) == "node 19: string list pool index out of range");
  CHECK(Broken([](Policy& p) { p.nodes[15].a = 1; }) == "node 15: map pool index out of range");
  CHECK(Broken([](Policy& p) { p.nodes[8].imm = 1; }) == "node 8: pattern index out of range");
  CHECK(Broken([](Policy& p) { p.nodes[0].imm = ir::kFieldCount; }) ==
        "node 0: unknown field " + std::to_string(ir::kFieldCount));
  CHECK(Broken([](Policy& p) { p.nodes[0].imm = -1; }) == "node 0: unknown field -1");
  CHECK(Broken([](Policy& p) { p.nodes[0].imm = static_cast<std::int64_t>(Field::kArgs); }) ==
        "node 0: result kind does not match the op");
  CHECK(Broken([](Policy& p) { p.nodes[0].a = 0; }) == "node 0: unused operand a is set");
  CHECK(Broken([](Policy& p) { p.nodes[9].a = 2; }) == "node 9: context field number out of range");
  CHECK(Broken([](Policy& p) { p.nodes[9].optional = false; }) == "node 9: result must be optional");
  CHECK(Broken([](Policy& p) { p.nodes[10].optional = false; }) == "node 10: result must be optional");
  CHECK(Broken([](Policy& p) { p.nodes[4].a = 1; }) == "node 4: slot out of range");
  CHECK(Broken([](Policy& p) { p.nodes[7].imm = 1; }) == "node 7: slot out of range");
  CHECK(Broken([](Policy& p) { p.nodes[4].kind = Kind::kInt; }) == "node 6: operands must be strings");
  CHECK(Broken([](Policy& p) { p.nodes[3] = {Op::kConstList, Kind::kIntList, false, 0, N, N, 0}; }) ==
        "node 7: the body reads the slot with another kind");
  CHECK(Broken([](Policy& p) { p.nodes[7].b = 5; }) == "node 7: body must be plain bool");
  CHECK(Broken([](Policy& p) { p.nodes[7].a = 0; }) == "node 7: quantified operand must be a list or a map");
  CHECK(Broken([](Policy& p) { p.rules[0].condition = 6; }) == "rule 0: condition reads an unbound quantifier slot");
  CHECK(Broken([](Policy& p) { p.nodes[22].b = 10; }) == "node 22: n-ary operand range out of bounds");
  CHECK(Broken([](Policy& p) { p.operands[0] = 22; }) ==
        "node 22: operand of the list (22) must be a node before this one");
  CHECK(Broken([](Policy& p) { p.operands[0] = 0; }) == "node 22: operands of and/or must be plain bool");
  CHECK(Broken([](Policy& p) { p.nodes[23].imm = 2; }) == "node 23: bool constant must be 0 or 1");
  CHECK(Broken([](Policy& p) { p.nodes[16].optional = true; }) == "node 16: result must not be optional");
  CHECK(Broken([](Policy& p) { p.nodes[14].a = 1; }) == "node 14: `in` needs an element and a list of its kind");
  CHECK(Broken([](Policy& p) { p.maps[0] = {{"B", "1"}, {"A", "2"}}; }) == "map 0: keys are not sorted and unique");
  CHECK(Broken([](Policy& p) { p.patterns[0].dfa[0] = 'X'; }) == "pattern 0: automaton bytes are invalid");
  CHECK(Broken([](Policy& p) { p.local_slots = 70000; }) == "local_slots 70000 exceeds 65536");
  CHECK(Broken([](Policy& p) { p.context[1].kind = Kind::kStr; }) ==
        "context field 1: kind does not match its spelling");
  CHECK(Broken([](Policy& p) { p.context[1].name = "ticket"; }) == "context field 1: duplicate name `ticket`");
  CHECK(Broken([](Policy& p) { p.rules[0].condition = static_cast<std::uint32_t>(p.nodes.size()); }) ==
        "rule 0: condition is not a node");
  CHECK(Broken([](Policy& p) { p.rules[0].condition = 0; }) == "rule 0: condition must be plain bool");
  CHECK(Broken([](Policy& p) { p.rules[0].name.clear(); }) == "rule 0: empty name");
  CHECK(Broken([](Policy& p) { p.rules[0].verdict = static_cast<Verdict>(3); }) == "rule 0: unknown verdict");
  CHECK(Broken([](Policy& p) { p.rules[1].obligations.timeout_ms = 5; }) == "rule 1: deny rules have no obligations");
  CHECK(Broken([](Policy& p) {
          p.rules[1].verdict = Verdict::kAsk;
          p.rules[1].obligations.timeout_ms = 5;
        }).empty());
  CHECK(Broken([](Policy& p) { p.rules[0].obligations.processes = -1; }) == "rule 0: negative obligation limit");
  CHECK(Broken([](Policy& p) { p.rules[0].obligations.network = static_cast<Network>(4); }) ==
        "rule 0: unknown network obligation");
  CHECK(Broken([](Policy& p) { p.rules[0].obligations.read = {"/a/../b"}; }) ==
        "rule 0: read path `/a/../b` is not absolute and normalized");
  CHECK(Broken([](Policy& p) { p.rules[0].obligations.write = {"tmp"}; }) ==
        "rule 0: write path `tmp` is not absolute and normalized");
  CHECK(Broken([](Policy& p) { p.rules[0].obligations.has_read = false; }) == "rule 0: read paths without has_read");
  CHECK(Broken([](Policy& p) {
          p.rules[0].obligations.env = {"PATH", "HOME"};
        }) == "rule 0: env names are not sorted and unique");
  CHECK(Broken([](Policy& p) {
          p.rules[1].index.names = {"shred", "rm"};
        }) == "rule 1: index keys are not sorted and unique");
  CHECK(Broken([](Policy& p) {
          p.rules[0].obligations.capabilities = {"net_bind_service", "chown"};
        }) == "rule 0: capabilities are not sorted and unique");
  CHECK(Broken([](Policy& p) {
          p.rules[0].obligations.capabilities = {"chown", "chown"};
        }) == "rule 0: capabilities are not sorted and unique");
  CHECK(Broken([](Policy& p) { p.rules[0].obligations.capabilities = {"CAP_CHOWN"}; }) ==
        "rule 0: unknown capability `CAP_CHOWN`");
  CHECK(Broken([](Policy& p) {
          p.rules[0].obligations.capabilities = {"chown", "sys_everything"};
        }) == "rule 0: unknown capability `sys_everything`");
  CHECK(Broken([](Policy& p) { p.rules[0].obligations.has_capabilities = false; }) ==
        "rule 0: capabilities without has_capabilities");
  // An explicitly empty list is valid: no capability at all.
  CHECK(Broken([](Policy& p) { p.rules[0].obligations.capabilities.clear(); }).empty());
  CHECK(Broken([](Policy& p) { p.rules[0].obligations.has_create = false; }) ==
        "rule 0: create paths without has_create");
  CHECK(Broken([](Policy& p) { p.rules[0].obligations.create = {"tmp"}; }) != "");
}

TEST_CASE("ir: the obligations mask is a varint whose unknown bits are refused", "[ir]") {
  Policy p;
  p.nodes.push_back({Op::kConstBool, Kind::kBool, false, kNoNode, kNoNode, kNoNode, 1});
  Rule rule;
  rule.name = "scratch";
  rule.verdict = Verdict::kAllow;
  rule.condition = 0;
  rule.obligations.has_create = true;
  rule.obligations.create = {"/tmp/out"};
  p.rules.push_back(rule);
  const std::string bytes = Serialize(p);
  ErrorOr<Policy> back = Deserialize(bytes);
  REQUIRE(back.ok());
  CHECK(back.value() == p);
  // Bit 8 alone: the varint 0x80 0x02, then the list of one path.
  const std::string create_mask("\x80\x02\x01\x08/tmp/out", 12);
  const std::size_t at = bytes.find(create_mask);
  REQUIRE(at != std::string::npos);
  std::string unknown = bytes;
  unknown[at + 1] = '\x0a';  // bits 8 and 10
  ErrorOr<Policy> refused = Deserialize(unknown);
  REQUIRE(!refused.ok());
  CHECK(refused.error().message.find("unknown bits in an obligations mask") != std::string::npos);
  auto view = PolicyView::Open(unknown);
  CHECK((!view.ok() || !view.value().RuleAt(0).ok()));
}

TEST_CASE("ir: the capability table is Linux's", "[ir]") {
  // Every name maps to the CAP_* number of <linux/capability.h> and back.
  const std::pair<const char*, int> linux_caps[] = {
      {"chown", CAP_CHOWN},
      {"dac_override", CAP_DAC_OVERRIDE},
      {"dac_read_search", CAP_DAC_READ_SEARCH},
      {"fowner", CAP_FOWNER},
      {"fsetid", CAP_FSETID},
      {"kill", CAP_KILL},
      {"setgid", CAP_SETGID},
      {"setuid", CAP_SETUID},
      {"setpcap", CAP_SETPCAP},
      {"linux_immutable", CAP_LINUX_IMMUTABLE},
      {"net_bind_service", CAP_NET_BIND_SERVICE},
      {"net_broadcast", CAP_NET_BROADCAST},
      {"net_admin", CAP_NET_ADMIN},
      {"net_raw", CAP_NET_RAW},
      {"ipc_lock", CAP_IPC_LOCK},
      {"ipc_owner", CAP_IPC_OWNER},
      {"sys_module", CAP_SYS_MODULE},
      {"sys_rawio", CAP_SYS_RAWIO},
      {"sys_chroot", CAP_SYS_CHROOT},
      {"sys_ptrace", CAP_SYS_PTRACE},
      {"sys_pacct", CAP_SYS_PACCT},
      {"sys_admin", CAP_SYS_ADMIN},
      {"sys_boot", CAP_SYS_BOOT},
      {"sys_nice", CAP_SYS_NICE},
      {"sys_resource", CAP_SYS_RESOURCE},
      {"sys_time", CAP_SYS_TIME},
      {"sys_tty_config", CAP_SYS_TTY_CONFIG},
      {"mknod", CAP_MKNOD},
      {"lease", CAP_LEASE},
      {"audit_write", CAP_AUDIT_WRITE},
      {"audit_control", CAP_AUDIT_CONTROL},
      {"setfcap", CAP_SETFCAP},
      {"mac_override", CAP_MAC_OVERRIDE},
      {"mac_admin", CAP_MAC_ADMIN},
      {"syslog", CAP_SYSLOG},
      {"wake_alarm", CAP_WAKE_ALARM},
      {"block_suspend", CAP_BLOCK_SUSPEND},
      {"audit_read", CAP_AUDIT_READ},
      {"perfmon", CAP_PERFMON},
      {"bpf", CAP_BPF},
      {"checkpoint_restore", CAP_CHECKPOINT_RESTORE},
  };
  // A kernel header that defines more capabilities than the table is a
  // reason to extend the table (and this list).
  CHECK(kLastCapability == CAP_LAST_CAP);
  REQUIRE(Capabilities().size() == std::size(linux_caps));
  for (const auto& [name, number] : linux_caps) {
    INFO(name);
    CHECK(CapabilityNumber(name) == number);
    CHECK(CapabilityName(number) == name);
    CHECK(Capabilities()[static_cast<std::size_t>(number)].name == name);
  }
  // Only the policy spelling: lower case, no prefix.
  CHECK_FALSE(CapabilityNumber("CAP_CHOWN"));
  CHECK_FALSE(CapabilityNumber("cap_chown"));
  CHECK_FALSE(CapabilityNumber("Chown"));
  CHECK_FALSE(CapabilityNumber(""));
  CHECK(CapabilityName(-1).empty());
  CHECK(CapabilityName(kLastCapability + 1).empty());
}

TEST_CASE("ir: kinds and optionality per op", "[ir]") {
  // A tiny policy: one leaf per kind, then one op under test.
  auto check = [](Node op_node, const std::string& want) {
    Policy p;
    p.strings = {"s"};
    p.str_lists = {{"a"}};
    p.int_lists = {{1}};
    p.maps = {{}};
    Push(p, {Op::kConstStr, Kind::kStr, false, 0, N, N, 0});       // 0 Str
    Push(p, {Op::kConstInt, Kind::kInt, false, N, N, N, 7});       // 1 Int
    Push(p, {Op::kConstBool, Kind::kBool, false, N, N, N, 1});     // 2 Bool
    Push(p, {Op::kNone, Kind::kStr, true, N, N, N, 0});            // 3 Str?
    Push(p, {Op::kConstList, Kind::kStrList, false, 0, N, N, 0});  // 4 StrList
    Push(p, {Op::kConstList, Kind::kIntList, false, 0, N, N, 0});  // 5 IntList
    Push(p, {Op::kConstMap, Kind::kStrMap, false, 0, N, N, 0});    // 6 StrMap
    Push(p, {Op::kNone, Kind::kInt, true, N, N, N, 0});            // 7 Int?
    Push(p, op_node);
    INFO(static_cast<int>(op_node.op));
    CHECK(Validate(p) == want);
  };
  check({Op::kConcat, Kind::kStr, true, 0, 3, N, 0}, "");
  check({Op::kConcat, Kind::kStr, false, 0, 3, N, 0}, "node 8: result must be optional");
  check({Op::kLower, Kind::kStr, false, 0, N, N, 0}, "");
  check({Op::kLower, Kind::kStr, true, 3, N, N, 0}, "");
  check({Op::kLower, Kind::kStr, false, 1, N, N, 0}, "node 8: operand must be a string");
  check({Op::kLen, Kind::kInt, false, 4, N, N, 0}, "");
  check({Op::kLen, Kind::kInt, false, 1, N, N, 0}, "node 8: len needs a string, list or map");
  check({Op::kIndex, Kind::kStr, true, 4, 1, N, 0}, "");
  check({Op::kIndex, Kind::kInt, true, 5, 1, N, 0}, "");
  check({Op::kIndex, Kind::kStr, false, 4, 1, N, 0}, "node 8: result must be optional");
  check({Op::kIndex, Kind::kStr, true, 4, 0, N, 0}, "node 8: index must be an int");
  check({Op::kMapGet, Kind::kStr, true, 6, 0, N, 0}, "");
  check({Op::kMapGet, Kind::kStr, true, 6, 1, N, 0}, "node 8: map lookup needs a map and a string");
  check({Op::kCoalesce, Kind::kStr, false, 3, 0, N, 0}, "");
  check({Op::kCoalesce, Kind::kStr, false, 0, 3, N, 0}, "node 8: result must be optional");
  check({Op::kAdd, Kind::kInt, true, 1, 7, N, 0}, "");
  check({Op::kAdd, Kind::kInt, false, 1, 1, N, 0}, "");
  check({Op::kAdd, Kind::kInt, false, 1, 0, N, 0}, "node 8: operands must be ints");
  check({Op::kNeg, Kind::kInt, true, 7, N, N, 0}, "");
  check({Op::kLt, Kind::kBool, false, 0, 3, N, 0}, "");
  check({Op::kLt, Kind::kBool, false, 4, 4, N, 0}, "node 8: ordering needs two ints or two strings");
  check({Op::kEq, Kind::kBool, false, 6, 6, N, 0}, "");
  check({Op::kIn, Kind::kBool, false, 1, 5, N, 0}, "");
  check({Op::kHasKey, Kind::kBool, false, 0, 6, N, 0}, "");
  check({Op::kHasKey, Kind::kBool, false, 0, 4, N, 0}, "node 8: has_key needs a string and a map");
  check({Op::kUnder, Kind::kBool, false, 0, 3, N, 0}, "");
  check({Op::kIsNone, Kind::kBool, false, 6, N, N, 0}, "");
  check({Op::kNot, Kind::kBool, false, 2, N, N, 0}, "");
  check({Op::kNot, Kind::kBool, false, 1, N, N, 0}, "node 8: operand must be plain bool");
  check({Op::kIf, Kind::kStr, true, 2, 0, 3, 0}, "");
  check({Op::kIf, Kind::kStr, false, 2, 0, 3, 0}, "node 8: result must be optional");
  check({Op::kIf, Kind::kStr, false, 2, 0, 1, 0}, "node 8: branches must have the result kind");
  check({Op::kIf, Kind::kStr, false, 1, 0, 0, 0}, "node 8: condition must be plain bool");
  check({Op::kConstList, Kind::kStr, false, 0, N, N, 0}, "node 8: list constant must be a list");
  check({Op::kLocal, Kind::kStr, false, 0, N, N, 0}, "node 8: slot out of range");
  check({Op::kAnd, Kind::kBool, false, N, 0, N, 0}, "");
  check({Op::kOr, Kind::kBool, false, N, 1, N, 0}, "node 8: n-ary operand range without a start");
}

TEST_CASE("ir: serialize round trip", "[ir]") {
  Policy p = SamplePolicy();
  std::string bytes = Serialize(p);
  CHECK(bytes == Serialize(p));
  REQUIRE(bytes.size() > 10);
  CHECK(bytes.substr(0, 6) == std::string("GOVIR\0", 6));
  CHECK(bytes.substr(6, 4) == std::string("\x08\x00\x00\x00", 4));
  // The header section follows: tag 1, its length, name "sample" (a varint length).
  CHECK(bytes.substr(10, 4) == std::string("\x01\x00\x00\x00", 4));
  CHECK(bytes.substr(18, 7) == std::string("\x06sample", 7));
  ErrorOr<Policy> back = Deserialize(bytes);
  INFO((back.ok() ? "" : back.error().message));
  REQUIRE(back.ok());
  CHECK(back.value() == p);
  ErrorOr<Policy> empty = Deserialize(Serialize(Policy{}));
  REQUIRE(empty.ok());
  CHECK(empty.value() == Policy{});
}

TEST_CASE("ir: deserialize rejects malformed input", "[ir]") {
  std::string bytes = Serialize(SamplePolicy());
  auto message = [](std::string_view b) {
    ErrorOr<Policy> p = Deserialize(b);
    return p.ok() ? std::string("ok") : p.error().message;
  };
  CHECK(message("") == "invalid policy IR: not a gov IR file (bad magic)");
  CHECK(message("GOVIR") == "invalid policy IR: not a gov IR file (bad magic)");
  std::string v9 = bytes;
  v9[6] = 9;
  CHECK(message(v9) == "invalid policy IR: unsupported format version 9");
  std::string v0 = bytes;
  v0[6] = 0;
  CHECK(message(v0) == "invalid policy IR: unsupported format version 0");
  for (char old : {'\x01', '\x02', '\x03', '\x04', '\x05', '\x06', '\x07'}) {
    std::string older = bytes;
    older[6] = old;
    CHECK(message(older) == "invalid policy IR: IR format version " + std::to_string(old) +
                                " was written by an older govc; this build reads version 8: rebuild the bundle with "
                                "this govc (govc build)");
    CHECK(PolicyView::Open(older).error().message == message(older));
  }
  CHECK(message(bytes + '\0') == "invalid policy IR: trailing bytes after the last section");
  CHECK(message(bytes.substr(0, bytes.size() - 1)) == "invalid policy IR: commands section: truncated input");
  std::string tag = bytes;
  tag[10] = 2;
  CHECK(message(tag) == "invalid policy IR: expected section header, found tag 2");
  // An invalid policy that serializes fine is refused by Validate.
  Policy bad = SamplePolicy();
  bad.rules[0].condition = 0;
  CHECK(message(Serialize(bad)) == "invalid policy IR: rule 0: condition must be plain bool");
  // A huge count is refused before any allocation.
  Policy few;
  few.strings = {"a"};
  std::string counted = Serialize(few);
  // strings section: after magic(6)+version(4)+header section(8 + name,
  // version, slots, env-reads flag, env name count: 5 bytes) come tag(4),
  // length(4), count (a one-byte varint), "\x01a".
  std::size_t count_at = 6 + 4 + 8 + 5 + 8;
  REQUIRE(counted.substr(count_at, 3) == std::string("\x01\x01"
                                                     "a",
                                                     3));
  counted[count_at] = 0x7f;
  CHECK(message(counted) == "invalid policy IR: strings section: a count exceeds the remaining bytes");
  // Varints must be in their shortest form, so every policy has one encoding:
  // the count 1 spelled in two bytes (0x81 0x00) is refused. The section
  // length grows by the extra byte.
  std::string padded = Serialize(few);
  padded.replace(count_at, 1, std::string("\x81\x00", 2));
  padded[count_at - 4] = static_cast<char>(padded[count_at - 4] + 1);
  CHECK(message(padded) == "invalid policy IR: strings section: a varint is not in its shortest form");
  // Neither may a node mark present an immediate that is 0 (absent is the
  // only spelling of 0).
  Policy one;
  one.nodes = {Node{Op::kConstInt, Kind::kInt, false, kNoNode, kNoNode, kNoNode, 5}};
  std::string node_bytes = Serialize(one);
  const std::size_t imm_at = node_bytes.find(std::string("\x01\x81\x0a", 3));  // op, flags (has imm), zigzag 5
  REQUIRE(imm_at != std::string::npos);
  node_bytes[imm_at + 2] = 0;
  CHECK(message(node_bytes) == "invalid policy IR: nodes section: node 0: an immediate marked present is 0");
}

// SamplePolicy reading the value of env["HOME"] in one more rule.
Policy SampleReadingEnv() {
  Policy p = SamplePolicy();
  p.strings.push_back("HOME");
  std::uint32_t env = Push(p, {Op::kField, Kind::kStrMap, false, N, N, N, static_cast<std::int64_t>(Field::kEnv)});
  std::uint32_t key =
      Push(p, {Op::kConstStr, Kind::kStr, false, static_cast<std::uint32_t>(p.strings.size() - 1), N, N, 0});
  std::uint32_t home = Push(p, {Op::kMapGet, Kind::kStr, true, env, key, N, 0});
  std::uint32_t unset = Push(p, {Op::kIsNone, Kind::kBool, false, home, N, N, 0});
  Rule rule;
  rule.name = "no_home";
  rule.verdict = Verdict::kDeny;
  rule.condition = unset;
  p.rules.push_back(rule);
  REQUIRE(Validate(p).empty());
  return p;
}

// The view agrees with the decoded policy on everything it offers.
void CheckViewAgrees(const PolicyView& view, const Policy& policy) {
  CHECK(view.name() == policy.name);
  CHECK(view.version() == policy.version);
  CHECK(view.context() == policy.context);
  CHECK(view.env_reads() == EnvReadsOf(policy));
  REQUIRE(view.rule_count() == policy.rules.size());
  for (std::uint32_t id = 0; id < view.rule_count(); ++id) {
    ErrorOr<Rule> rule = view.RuleAt(id);
    REQUIRE(rule.ok());
    CHECK(rule.value() == policy.rules[id]);
  }
}

TEST_CASE("ir: the policy view reads what deciding needs without decoding the rest", "[ir]") {
  const Policy p = SampleReadingEnv();
  CHECK(EnvReadsOf(p) == EnvReads{false, {"HOME"}});
  const std::string bytes = Serialize(p);
  ErrorOr<PolicyView> view = PolicyView::Open(bytes);
  INFO((view.ok() ? "" : view.error().message));
  REQUIRE(view.ok());
  CheckViewAgrees(view.value(), p);
  ErrorOr<Rule> missing = view.value().RuleAt(view.value().rule_count());
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.error().message == "invalid policy IR: rule 4 does not exist");

  // The header's summary must match the nodes: Deserialize checks it (the
  // view cannot, it does not read the nodes). Header body: name "sample"
  // (7 bytes), version "1.2.3" (6), slots (1), then the `all` flag.
  std::string claims_all = bytes;
  const std::size_t all_at = 6 + 4 + 8 + 7 + 6 + 1;
  REQUIRE(claims_all[all_at] == 0);
  claims_all[all_at] = 1;
  ErrorOr<Policy> decoded = Deserialize(claims_all);
  REQUIRE_FALSE(decoded.ok());
  CHECK(decoded.error().message ==
        "invalid policy IR: header section: the summary of environment reads does not match the policy's nodes");
}

TEST_CASE("ir: the policy view survives every truncation and single-bit flip", "[ir]") {
  const std::string bytes = Serialize(SampleReadingEnv());
  for (std::size_t n = 0; n < bytes.size(); ++n) {
    INFO(n);
    CHECK_FALSE(PolicyView::Open(std::string_view(bytes).substr(0, n)).ok());
  }
  std::size_t opened = 0;
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    for (int bit = 0; bit < 8; ++bit) {
      std::string flipped = bytes;
      flipped[i] = static_cast<char>(flipped[i] ^ (1 << bit));
      INFO("byte " << i << " bit " << bit);
      ErrorOr<PolicyView> view = PolicyView::Open(flipped);
      ErrorOr<Policy> decoded = Deserialize(flipped);
      // What Deserialize accepts, the view opens and reads the same way.
      if (decoded.ok()) {
        REQUIRE(view.ok());
        CheckViewAgrees(view.value(), decoded.value());
      }
      if (!view.ok()) continue;
      ++opened;
      // Any rule of a view that opened either reads or is an error; under
      // the sanitizers, never an out-of-bounds read.
      for (std::uint32_t id = 0; id < view.value().rule_count(); ++id) {
        ErrorOr<Rule> rule = view.value().RuleAt(id);
        if (rule.ok()) CHECK(ValidateRuleRecord(rule.value()).empty());
      }
    }
  }
  CHECK(opened > 0);
}

TEST_CASE("ir: every truncation is rejected", "[ir]") {
  std::string bytes = Serialize(SamplePolicy());
  for (std::size_t n = 0; n < bytes.size(); ++n) {
    ErrorOr<Policy> p = Deserialize(std::string_view(bytes).substr(0, n));
    INFO(n);
    CHECK_FALSE(p.ok());
  }
}

TEST_CASE("ir: every single-bit flip is rejected or decodes to a valid, canonical policy", "[ir]") {
  std::string bytes = Serialize(SamplePolicy());
  std::size_t accepted = 0;
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    for (int bit = 0; bit < 8; ++bit) {
      std::string flipped = bytes;
      flipped[i] = static_cast<char>(flipped[i] ^ (1 << bit));
      ErrorOr<Policy> p = Deserialize(flipped);
      if (!p.ok()) continue;
      ++accepted;
      INFO("byte " << i << " bit " << bit);
      CHECK(Validate(p.value()).empty());
      // Accepted bytes are canonical: they re-serialize identically.
      CHECK(Serialize(p.value()) == flipped);
    }
  }
  // Flips inside strings and integer constants are legitimately accepted.
  CHECK(accepted > 0);
}

}  // namespace
}  // namespace gov::ir

TEST_CASE("ir: env obligation entries are names or NAME* prefixes, matched and combined exactly", "[ir]") {
  using gov::ir::EnvNameListed;
  using gov::ir::IntersectEnvEntries;
  using gov::ir::IsEnvEntry;
  CHECK(IsEnvEntry("PATH"));
  CHECK(IsEnvEntry("LC_*"));
  CHECK(IsEnvEntry("A*"));
  CHECK_FALSE(IsEnvEntry(""));
  CHECK_FALSE(IsEnvEntry("*"));
  CHECK_FALSE(IsEnvEntry("A*B"));
  CHECK_FALSE(IsEnvEntry("A**"));
  CHECK_FALSE(IsEnvEntry("*A"));
  CHECK_FALSE(IsEnvEntry("A=B"));
  CHECK_FALSE(IsEnvEntry(std::string("A\0B", 3)));

  const std::vector<std::string> entries = {"HOME", "LC_*"};
  CHECK(EnvNameListed(entries, "HOME"));
  CHECK(EnvNameListed(entries, "LC_ALL"));
  CHECK(EnvNameListed(entries, "LC_"));
  CHECK_FALSE(EnvNameListed(entries, "LC"));
  CHECK_FALSE(EnvNameListed(entries, "LCX"));
  CHECK_FALSE(EnvNameListed(entries, "HOMEDIR"));
  CHECK_FALSE(EnvNameListed(entries, "LD_PRELOAD"));
  CHECK_FALSE(EnvNameListed({}, "HOME"));

  struct Case {
    std::vector<std::string> a, b, both;
  };
  const Case cases[] = {
      {{"LC_*", "PATH"}, {"LC_ALL", "HOME"}, {"LC_ALL"}},
      {{"LC_*"}, {"LC_*"}, {"LC_*"}},
      {{"L*"}, {"LC_*", "LANG"}, {"LANG", "LC_*"}},
      {{"LC_*", "LC_ALL"}, {"LC_*", "LC_ALL"}, {"LC_*"}},
      {{"A*"}, {"B*"}, {}},
      {{"PATH"}, {"PATH*"}, {"PATH"}},
      {{"PATH*"}, {"PATH"}, {"PATH"}},
      {{}, {"PATH"}, {}},
  };
  for (const Case& c : cases) {
    INFO("a and b");
    CHECK(IntersectEnvEntries(c.a, c.b) == c.both);
    CHECK(IntersectEnvEntries(c.b, c.a) == c.both);
  }
}
