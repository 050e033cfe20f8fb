// The Decision IR: a checked policy lowered to plain data. It is the semantic
// reference (runtime/interp evaluates it), what a policy bundle carries, what
// govverify replays, and what the native code is generated from.
//
// Shape: a policy is a constant pool, a flat array of expression nodes in
// post-order (every operand index is smaller than its user's index, so the
// graph is acyclic and any walk terminates), and a list of rules whose
// conditions are node indices. All constants were folded and every `def`
// inlined by lowering; records were flattened into request fields.
// docs/ir.md specifies every operation; serialize.h gives the byte format.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "runtime/argparse/command.h"

namespace gov::ir {

inline constexpr std::uint32_t kNoNode = 0xffffffffu;

// What a node evaluates to. Every value may additionally be absent when the
// node's `optional` flag is set.
enum class Kind : std::uint8_t {
  kBool = 0,
  kInt = 1,      // int, duration (milliseconds), size (bytes)
  kStr = 2,      // string, path (normalized), digest
  kStrList = 3,  // list<string|path>, set<string|path> (sets: sorted, unique)
  kIntList = 4,  // list<int>, set<int> (sets: sorted, unique)
  kStrMap = 5,   // map<string, string> (sorted by key, unique keys)
};

// The request fields a policy can read (the flattened request model).
enum class Field : std::uint8_t {
  kProgramPath = 0,    // Str
  kProgramName = 1,    // Str
  kProgramSha256 = 2,  // Str ("sha256:" + 64 hex)
  kArgs = 3,           // StrList (argv[1..])
  kArgv0 = 4,          // Str
  kEnv = 5,            // StrMap
  kCwd = 6,            // Str (absolute, normalized)
  kUserName = 7,       // Str
  kUserUid = 8,        // Int
  kUserGid = 9,        // Int
  kUserGroups = 10,    // StrList (sorted set of group names)
  kHostName = 11,      // Str
  kTimeUnix = 12,      // Int (seconds, UTC)
  kTimeHour = 13,      // Int 0..23 (UTC)
  kTimeMinute = 14,    // Int 0..59
  kTimeWeekday = 15,   // Str "mon".."sun"
  kTimeDate = 16,      // Str "YYYY-MM-DD"
  kParentRunId = 17,   // Str, optional (absent without an enclosing governed run)
  kParentDepth = 18,   // Int, optional
  kParentProgram = 19, // Str, optional
  kContext = 20,       // context field number `a` (see Policy::context), optional if declared `T?`
  kInvokedPath = 21,   // Str (absolute, normalized; before symlinks are resolved)
  kInvokedName = 22,   // Str
  // Bool: the file that runs changed during the governed session (ctime).
  kProgramWrittenInSession = 23,
};
inline constexpr int kFieldCount = 24;

// Expression operations. Operands are node indices a, b, c; n-ary operations
// use operands[a .. a+b). "Absent" means an optional operand without a value.
enum class Op : std::uint8_t {
  // Leaves.
  kConstBool = 0,  // imm = 0/1
  kConstInt = 1,   // imm
  kConstStr = 2,   // a = string pool index
  kConstList = 3,  // a = list pool index (StrList or IntList per kind)
  kConstMap = 4,   // a = map pool index
  kNone = 5,       // absent value of `kind`
  kField = 6,      // request field `imm` (Field); for kContext, a = context field number
  kLocal = 7,      // quantifier variable slot `a`

  // Logic (operands are plain Bool). Order-independent: see docs/ir.md.
  kAnd = 10,  // n-ary: false if any operand is false; else error if any errs; else true
  kOr = 11,   // n-ary: true if any operand is true; else error if any errs; else false
  kNot = 12,  // a
  kIf = 13,   // a ? b : c (only the chosen branch is evaluated)

  // Comparison; result Bool (never optional).
  kEq = 20,  // a == b; absent equals absent; absent != any value. Same kind on both sides.
  kNe = 21,
  kLt = 22,  // Int or Str (bytewise); false if either is absent
  kLe = 23,
  kGt = 24,
  kGe = 25,

  // Membership and tests; result Bool, false when a tested operand is absent.
  kIn = 30,          // a in b: element (Str/Int) in list b (StrList/IntList; sorted sets may binary search)
  kHasKey = 31,      // a (Str) is a key of map b
  kUnder = 32,       // path a under path b (lexical, both normalized)
  kMatches = 33,     // Str a matches pattern pool index `imm`
  kStartsWith = 34,  // Str a starts with Str b
  kEndsWith = 35,
  kContains = 36,  // substring
  kIsNone = 37,    // a is absent

  // Values; absent in ⇒ absent out (for the listed operand).
  kCoalesce = 40,  // a if present, else b
  kLower = 41,     // ASCII lower-case of a
  kUpper = 42,
  kLen = 43,         // length of Str (bytes) / list / map, as Int
  kConcat = 44,      // Str a + Str b
  kPathJoin = 45,    // a / b: b if b is absolute, else normalize(a + "/" + b)
  kPathName = 46,    // last segment of a
  kPathParent = 47,  // a without its last segment
  kPathExt = 48,     // extension of a's last segment
  kToPath = 49,      // normalize Str a as a path
  kIndex = 50,       // list a [Int b]: element or absent when out of range (negative ⇒ absent)
  kMapGet = 51,      // map a [Str b]: value or absent

  // Checked 64-bit integer arithmetic; overflow or division by zero is an error.
  kAdd = 60,
  kSub = 61,
  kMul = 62,
  kDiv = 63,  // truncates toward zero
  kMod = 64,  // sign of the dividend
  kNeg = 65,

  // Quantifiers over list a (StrList/IntList) or the keys of map a (StrMap);
  // slot `imm` holds the element while body b is evaluated.
  kAny = 70,  // true if some body is true; else error if some body errs; else false
  kAll = 71,  // false if some body is false; else error if some body errs; else true

  // Argument grammars (docs/design/argument-grammars.md §3a): list a (StrList)
  // read under command `imm` (Policy::commands), path values resolved against
  // b (Str). Absent a ⇒ the list does not parse.
  kArgParses = 80,      // Bool, never absent: a parses
  kArgField = 81,       // field c (ArgFieldAt numbering); absent when a does not parse or c's subcommand was not chosen
  kArgSubcommand = 82,  // Str, optional: the chosen subcommand's name
};

// One expression node.
struct Node {
  Op op;
  Kind kind;              // result kind
  bool optional = false;  // result may be absent
  std::uint32_t a = kNoNode;
  std::uint32_t b = kNoNode;
  std::uint32_t c = kNoNode;
  std::int64_t imm = 0;
};

enum class Verdict : std::uint8_t { kAllow = 0, kDeny = 1, kAsk = 2 };

enum class Network : std::uint8_t { kUnset = 0, kNone = 1, kLoopback = 2, kAny = 3 };

// "none", "loopback", "any" as the policy language spells them; "unset".
const char* NetworkName(Network network);

// "10m", "1500ms": a duration in milliseconds, exactly, in its largest whole
// unit, as the policy language spells it (every tool prints limits this way).
std::string FormatDuration(std::int64_t ms);
// "4GiB", "3000B": a size in bytes, exactly, in its largest whole binary unit.
std::string FormatSize(std::int64_t bytes);

// Obligations of one allow or ask rule (constants). Unset limits are 0 /
// empty with the matching `has_` flag false.
struct Obligations {
  std::int64_t timeout_ms = 0;     // 0: unset
  std::int64_t memory_bytes = 0;   // 0: unset
  std::int64_t processes = 0;      // 0: unset
  Network network = Network::kUnset;
  bool has_read = false;
  std::vector<std::string> read;   // absolute normalized paths
  bool has_write = false;
  std::vector<std::string> write;
  // `create`: beneath these paths new files, directories and links may be
  // made and written, nothing removed, renamed or truncated. A rule with
  // `create` and no `write` may write nowhere else (docs/language.md).
  bool has_create = false;
  std::vector<std::string> create;
  // `tmp = private`: the run gets a temporary directory of its own
  // (TMPDIR), writable whatever `write` says, removed after the run.
  bool private_tmp = false;
  bool has_env = false;
  std::vector<std::string> env;    // sorted, unique variable names
  // Linux capabilities the command may keep (runtime/ir/capabilities.h
  // spellings, sorted, unique); every other one is dropped.
  bool has_capabilities = false;
  std::vector<std::string> capabilities;

  bool operator==(const Obligations&) const = default;
};

// Index keys of a rule: the rule can only match requests whose program path
// is one of `paths` or whose program name is one of `names` (both sorted).
// A rule with neither is checked for every request.
struct RuleIndex {
  std::vector<std::string> paths;
  std::vector<std::string> names;

  bool Unindexed() const { return paths.empty() && names.empty(); }
  bool operator==(const RuleIndex&) const = default;
};

struct Rule {
  std::string name;
  Verdict verdict = Verdict::kDeny;
  std::string reason;  // `because` text, may be empty
  std::uint32_t condition = kNoNode;
  Obligations obligations;
  RuleIndex index;

  bool operator==(const Rule&) const = default;
};

// A declared context field.
struct ContextField {
  std::string name;
  Kind kind;
  bool optional = false;
  // For the request loader: how a `--context name=value` string is parsed.
  enum class Spelling : std::uint8_t { kString, kPath, kInt, kBool, kDuration, kSize, kDigest } spelling;

  bool operator==(const ContextField&) const = default;
};

// A compiled pattern: a minimized DFA (see runtime/pattern), serialized.
struct PatternConst {
  std::string source;      // for messages
  bool is_regex = false;
  std::string dfa;         // pattern::Dfa::Serialize() bytes

  bool operator==(const PatternConst&) const = default;
};

// A whole lowered policy.
struct Policy {
  std::string name;
  std::string version;
  std::vector<std::string> strings;                       // string pool
  std::vector<std::vector<std::string>> str_lists;        // StrList pool (sets sorted+unique)
  std::vector<std::vector<std::int64_t>> int_lists;       // IntList pool
  std::vector<std::vector<std::pair<std::string, std::string>>> maps;  // StrMap pool (sorted)
  std::vector<PatternConst> patterns;
  std::vector<std::uint32_t> operands;                    // n-ary operand lists
  std::vector<Node> nodes;                                // post-order
  std::vector<Rule> rules;
  std::vector<ContextField> context;
  std::vector<argparse::Command> commands;                // argument grammars (kArg* ops)
  std::uint32_t local_slots = 0;                          // quantifier slots used

  bool operator==(const Policy&) const = default;
};

bool operator==(const Node& a, const Node& b);

// Field `index` of `command` in kArgField numbering (the top scope's fields,
// then each subcommand's in order): its scope (-1 top, else the subcommand)
// and declaration, and the kind a kArgField node reading it has. Nullopt
// when out of range.
struct ArgFieldRef {
  int subcommand = -1;
  const argparse::CommandField* field = nullptr;
  Kind kind = Kind::kBool;
  std::uint32_t index_in_scope = 0;
};
std::optional<ArgFieldRef> ArgFieldAt(const argparse::Command& command, std::uint32_t index);
// The values of `ref`'s field in `parse`, or null when the field belongs to a
// subcommand that was not chosen (both engines read fields through this).
const argparse::FieldValues* ArgFieldValues(const ArgFieldRef& ref, const argparse::CommandParse& parse);

// Validates structural invariants (operand indices precede their users and are
// in range, kinds match each op's signature, pool indices valid, slots < local_slots).
// Returns an empty string when valid, else the first violation.
std::string Validate(const Policy& policy);

// The parts of Validate that need no nodes: one rule's record apart from its
// condition (name, verdict, obligations, index keys), and the context
// declarations. For readers that decode rules one at a time.
std::string ValidateRuleRecord(const Rule& rule);
std::string ValidateContext(const std::vector<ContextField>& context);

}  // namespace gov::ir
