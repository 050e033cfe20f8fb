// A program's whole command line as data — the runtime form of a Gov
// `command` declaration (docs/design/argument-grammars.md): options with
// typed values, operand groups with counts, one level of subcommands. Parse
// reads an argument list under it with the program's own option rules
// (argparse.h) and yields typed field values, or nothing when the program
// would refuse the list or a value does not convert.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/argparse/argparse.h"

namespace gov::argparse {

// What one value converts to.
enum class ValueType : std::uint8_t {
  kString = 0,  // as written
  kPath = 1,    // lexically joined to cwd and normalized (no symlink is followed)
  kInt = 2,     // decimal, optional sign, within [min, max]
  kEnum = 3,    // one of `choices`, exactly
  // NAME=VALUE, as written: a word with a `=`, as env(1) reads the words
  // before its command. An operand group of assignments takes only the
  // leading operands that are assignments (then the next group begins).
  kAssignment = 4,
};

struct ValueSpec {
  ValueType type = ValueType::kString;
  std::vector<std::string> choices;  // kEnum
  std::int64_t min = INT64_MIN;      // kInt
  std::int64_t max = INT64_MAX;

  bool operator==(const ValueSpec&) const = default;
};

enum class FieldRole : std::uint8_t {
  kFlag = 0,      // bool: one of its spellings occurs
  kOption = 1,    // the value of its last occurrence, or all of them when repeatable
  kOperands = 2,  // a group of the operands, in order
};

// One field of a scope. Flags and options have spellings (argparse::Option
// without `field`); operand groups a count range.
struct CommandField {
  std::string name;
  FieldRole role = FieldRole::kFlag;
  std::string shorts;              // flag, option: short letters
  std::vector<std::string> longs;  // flag, option: long spellings without dashes
  Value value = Value::kNone;      // option: kRequired or kOptional
  bool repeatable = false;         // option: every occurrence is kept
  bool ends_options = false;       // option: the words after it are operands (`ends options`)
  ValueSpec type;                  // option, operands
  std::uint32_t min_count = 1;     // operands: `T` 1..1, `T?` 0..1, `T*` 0.., `T+` 1..
  std::uint32_t max_count = 1;     // kUnbounded for `*` and `+`

  bool operator==(const CommandField&) const = default;
};
inline constexpr std::uint32_t kUnbounded = 0xffffffffu;

// The options and operands read at one level.
struct CommandScope {
  std::string name;  // the subcommand's name; empty for the top level
  Style style = Style::kGnu;
  // kCobra only (`options first`): the scope's options end at its first
  // operand, as a cobra command with SetInterspersed(false) reads them
  // (`docker run IMAGE CMD -x`: -x is CMD's). At the top level of a command
  // with subcommands its options are then read only before the
  // subcommand's name: not persistent (docker's global options).
  bool options_first = false;
  // kGnu and kPosix, the top level of a command with subcommands only
  // (`options persistent`): its options are read after the subcommand's
  // name too, as pip reads its general options (cobra's top-level options
  // always are, unless `options first`).
  bool options_persistent = false;
  std::vector<CommandField> fields;

  bool operator==(const CommandScope&) const = default;
};

// A command: the top-level scope and its subcommands. With subcommands the
// top level's options end at the first operand (git, kubectl, docker), which
// names the subcommand; the rest of the list is read under that scope. The
// top level's operand groups, if any, read all the operands as written (the
// subcommand's name first) and let a subcommand that is not declared parse;
// without them it does not.
struct Command {
  std::string name;
  CommandScope top;
  std::vector<CommandScope> subcommands;

  bool operator==(const Command&) const = default;
};

// Whether the top level's options are also read after the subcommand's
// name (cobra's persistent flags: kubectl; `options persistent`: pip), not
// only before it.
bool HasPersistentOptions(const Command& command);

// The values of one field: `present` for a flag or an option that occurred
// (an option with an optional value may occur without one); the converted
// values in argument order (paths resolved; ints in `numbers`).
struct FieldValues {
  bool present = false;
  std::vector<std::string> texts;     // string, path, enum values
  std::vector<std::int64_t> numbers;  // int values
};

struct CommandParse {
  int subcommand = -1;              // index into Command::subcommands, -1: none
  std::vector<FieldValues> top;     // per field of Command::top
  std::vector<FieldValues> chosen;  // per field of the chosen subcommand
};

struct CommandResult {
  std::optional<CommandParse> parse;
  std::string error;  // when !parse: why the list does not parse
};

// A command with the option table of each scope built once: a grammar such
// as GNU tar's has ~150 options, whose table ParseCommand(Command) would
// rebuild on every call. Owns its copy of the command.
class PreparedCommand {
 public:
  explicit PreparedCommand(Command command);

  const Command& command() const { return command_; }
  // The option table of the top level, and of subcommand `index`.
  const Spec& top() const { return top_; }
  const Spec& subcommand(std::size_t index) const { return subcommands_[index]; }

 private:
  Command command_;
  Spec top_;
  std::vector<Spec> subcommands_;
};

// `arguments` (argv[1..], or any list a policy names) under `command`;
// `cwd` resolves path values.
CommandResult ParseCommand(const PreparedCommand& command, const std::vector<std::string_view>& arguments,
                           std::string_view cwd);
// The same, preparing `command` first (for one-off parses).
CommandResult ParseCommand(const Command& command, const std::vector<std::string_view>& arguments,
                           std::string_view cwd);

// The last few parses, so that the reads of one decision (each field of a
// parse is a separate read in both engines) parse a list once. Keyed by
// the prepared command's address and the list and cwd by content. Not
// thread-safe: one per evaluator or thread.
class ParseMemo {
 public:
  const CommandResult& Parse(const PreparedCommand& command, const std::vector<std::string_view>& arguments,
                             std::string_view cwd);
  void Clear() {
    entries_.clear();
    next_ = last_ = 0;
  }

 private:
  struct Entry {
    const PreparedCommand* command = nullptr;
    std::vector<std::string> arguments;
    std::string cwd;
    CommandResult result;
    // Whether this is the parse of `list` in `cwd` under `command`.
    bool Holds(const PreparedCommand& for_command, const std::vector<std::string_view>& list,
               std::string_view in_cwd) const;
  };
  std::vector<Entry> entries_;
  std::size_t next_ = 0;  // the entry replaced next once full
  std::size_t last_ = 0;  // the entry that answered last
};

// Why `command` is not a well-formed grammar (a spelling given twice in a
// scope, an operand group count range that is empty, a top level with both
// subcommands and operands, ...), or empty. The checker reports these in
// the policy; a bundle's grammar that fails this is refused.
std::string ValidateCommand(const Command& command);

}  // namespace gov::argparse
