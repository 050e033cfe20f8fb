// Reading an argument list under a command grammar (command.h).
#include "runtime/argparse/command.h"

#include <algorithm>
#include <charconv>
#include <set>

#include "runtime/support/display.h"
#include "runtime/support/path.h"

namespace gov::argparse {
namespace {

// Adds the options of `scope` to `spec`, their fields numbered from `first`.
void AddOptions(const CommandScope& scope, int first, Spec& spec) {
  for (std::size_t i = 0; i < scope.fields.size(); ++i) {
    const CommandField& field = scope.fields[i];
    if (field.role == FieldRole::kOperands) continue;
    spec.options.push_back(Option{field.shorts, field.longs,
                                  field.role == FieldRole::kFlag ? Value::kNone : field.value,
                                  first + static_cast<int>(i), field.ends_options});
  }
}

Spec SpecOf(const CommandScope& scope, bool stop_at_operand) {
  Spec spec;
  spec.style = scope.style;
  spec.stop_at_operand = stop_at_operand || scope.options_first;
  AddOptions(scope, 0, spec);
  return spec;
}

// A subcommand's table. Persistent top-level options (cobra's persistent
// flags, `options persistent`) are read after the subcommand's name too:
// they follow the subcommand's own, numbered from its field count, and an
// abbreviation is resolved among both (as pip's command parsers, which hold
// the general options, resolve it).
Spec SubcommandSpecOf(const Command& command, const CommandScope& scope) {
  Spec spec = SpecOf(scope, false);
  if (HasPersistentOptions(command)) AddOptions(command.top, static_cast<int>(scope.fields.size()), spec);
  return spec;
}

// NAME=VALUE as env(1) reads it: any word with a `=` (even `=x`).
bool IsAssignment(std::string_view text) {
  return text.find('=') != std::string_view::npos;
}

// Adds `text` converted under `type` to `values`; false when it does not convert.
bool AddValue(const ValueSpec& type, std::string_view text, std::string_view cwd, FieldValues& values) {
  switch (type.type) {
    case ValueType::kString:
      values.texts.emplace_back(text);
      return true;
    case ValueType::kPath:
      if (text.empty()) return false;
      values.texts.push_back(paths::Join(cwd, text));
      return true;
    case ValueType::kAssignment:
      if (!IsAssignment(text)) return false;
      values.texts.emplace_back(text);
      return true;
    case ValueType::kEnum:
      for (const std::string& choice : type.choices) {
        if (choice == text) {
          values.texts.emplace_back(text);
          return true;
        }
      }
      return false;
    case ValueType::kInt: {
      std::string_view digits = text;
      if (digits.starts_with('+')) digits.remove_prefix(1);
      if (digits.empty() || digits.starts_with('+')) return false;
      std::int64_t number = 0;
      const auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), number);
      if (error != std::errc() || end != digits.data() + digits.size()) return false;
      if (number < type.min || number > type.max) return false;
      values.numbers.push_back(number);
      return true;
    }
  }
  return false;
}

// The subcommand cobra runs: the first word of `arguments` that its
// stripFlags leaves, with the options of `spec` (cobra's Find does not read
// clusters: it skips the word after `-x` or `--name` unless the option takes
// no value or is written with `=`); none when there is none.
std::optional<std::string_view> CobraCommandWord(const Spec& spec, const std::vector<std::string_view>& arguments) {
  const auto takes_no_value = [&](std::string_view name, bool is_long) {
    for (const Option& option : spec.options) {
      const bool named = is_long ? std::find(option.longs.begin(), option.longs.end(), name) != option.longs.end()
                                 : name.size() == 1 && option.shorts.find(name[0]) != std::string::npos;
      if (named) return option.value != Value::kRequired;
    }
    return false;  // unknown: cobra takes it to have a value
  };
  for (std::size_t i = 0; i < arguments.size(); ++i) {
    const std::string_view word = arguments[i];
    if (word == "--") return std::nullopt;
    const bool has_equals = word.find('=') != std::string_view::npos;
    const bool long_with_value = word.starts_with("--") && !has_equals && !takes_no_value(word.substr(2), true);
    const bool short_with_value =
        word.size() == 2 && word[0] == '-' && !has_equals && !takes_no_value(word.substr(1), false);
    if (long_with_value || short_with_value) {
      if (arguments.size() - i - 1 <= 1) return std::nullopt;  // cobra stops: no word after the value
      ++i;
      continue;
    }
    if (!word.empty() && !word.starts_with('-')) return word;
  }
  return std::nullopt;
}

// `010`, `-07`, `+00`: digits after an optional sign that start with a zero.
bool HasLeadingZero(std::string_view text) {
  if (text.starts_with('+') || text.starts_with('-')) text.remove_prefix(1);
  return text.size() > 1 && text[0] == '0';
}

bool HasOperands(const CommandScope& scope) {
  for (const CommandField& field : scope.fields) {
    if (field.role == FieldRole::kOperands) return true;
  }
  return false;
}

std::string TypeError(const CommandField& field, std::string_view text) {
  return "value " + EscapeForDisplay(text) + " of " + field.name + " is not a valid " +
         (field.type.type == ValueType::kInt          ? "int"
          : field.type.type == ValueType::kEnum       ? "choice"
          : field.type.type == ValueType::kAssignment ? "assignment (NAME=VALUE)"
                                                      : "path");
}

// Fills `values` (one per field of `scope`) from the options of `parsed`
// and `operands`; an error message when something does not fit.
std::string Assign(const CommandScope& scope, const std::vector<Occurrence>& options,
                   const std::vector<std::string_view>& operands, std::string_view cwd,
                   std::vector<FieldValues>& values) {
  values.assign(scope.fields.size(), FieldValues{});
  for (const Occurrence& occurrence : options) {
    const CommandField& field = scope.fields[static_cast<std::size_t>(occurrence.field)];
    FieldValues& value = values[static_cast<std::size_t>(occurrence.field)];
    if (field.role == FieldRole::kFlag && occurrence.value) {
      // pflag's `--force=false`: Go's strconv.ParseBool words; the last
      // occurrence wins.
      static constexpr std::string_view kTrue[] = {"1", "t", "T", "TRUE", "true", "True"};
      static constexpr std::string_view kFalse[] = {"0", "f", "F", "FALSE", "false", "False"};
      if (std::find(std::begin(kTrue), std::end(kTrue), *occurrence.value) != std::end(kTrue)) {
        value.present = true;
      } else if (std::find(std::begin(kFalse), std::end(kFalse), *occurrence.value) != std::end(kFalse)) {
        value.present = false;
      } else {
        return "value " + EscapeForDisplay(*occurrence.value) + " of " + field.name + " is not a valid bool";
      }
      continue;
    }
    value.present = true;
    if (field.role != FieldRole::kOption) continue;
    if (!field.repeatable) {
      // The last occurrence wins, as getopt-based programs read them.
      value.texts.clear();
      value.numbers.clear();
    }
    if (!occurrence.value) {
      // An option whose value is optional, given without one (`--color`):
      // present, and read as the empty string, unconverted.
      if (field.value == Value::kOptional) value.texts.emplace_back();
      continue;
    }
    // pflag reads ints with Go's base prefixes (`010` is 8): a leading zero is not read.
    if (scope.style == Style::kCobra && field.type.type == ValueType::kInt && HasLeadingZero(*occurrence.value)) {
      return TypeError(field, *occurrence.value);
    }
    if (!AddValue(field.type, *occurrence.value, cwd, value)) return TypeError(field, *occurrence.value);
  }
  // Operand groups in order: each takes as many as it can while leaving the
  // groups after it their minimum.
  std::uint64_t reserved = 0;
  for (const CommandField& field : scope.fields) {
    if (field.role == FieldRole::kOperands) reserved += field.min_count;
  }
  if (operands.size() < reserved) {
    return std::to_string(operands.size()) + (operands.size() == 1 ? " operand" : " operands") + " where at least " +
           std::to_string(reserved) + (reserved == 1 ? " is needed" : " are needed");
  }
  std::size_t next = 0;
  for (std::size_t i = 0; i < scope.fields.size(); ++i) {
    const CommandField& field = scope.fields[i];
    if (field.role != FieldRole::kOperands) continue;
    reserved -= field.min_count;
    const std::uint64_t left = operands.size() - next;  // >= reserved + min_count: checked above
    std::uint64_t take = std::min<std::uint64_t>(field.max_count, left - reserved);
    if (field.type.type == ValueType::kAssignment) {
      // Only the leading assignments: the first other operand ends the group.
      std::uint64_t leading = 0;
      while (leading < take && IsAssignment(operands[next + leading])) ++leading;
      if (leading < field.min_count) {
        return "operand " + EscapeForDisplay(operands[next + leading]) + " of " + field.name +
               " is not an assignment (NAME=VALUE)";
      }
      take = leading;
    }
    FieldValues& value = values[i];
    value.present = take > 0;
    for (std::uint64_t k = 0; k < take; ++k, ++next) {
      if (!AddValue(field.type, operands[next], cwd, value)) return TypeError(field, operands[next]);
    }
  }
  if (next != operands.size()) return "unexpected operand " + EscapeForDisplay(operands[next]);
  return "";
}

}  // namespace

bool HasPersistentOptions(const Command& command) {
  return (command.top.style == Style::kCobra && !command.top.options_first) || command.top.options_persistent;
}

PreparedCommand::PreparedCommand(Command command)
    : command_(std::move(command)), top_(SpecOf(command_.top, !command_.subcommands.empty())) {
  subcommands_.reserve(command_.subcommands.size());
  for (const CommandScope& scope : command_.subcommands) subcommands_.push_back(SubcommandSpecOf(command_, scope));
}

CommandResult ParseCommand(const Command& command, const std::vector<std::string_view>& arguments,
                           std::string_view cwd) {
  return ParseCommand(PreparedCommand(command), arguments, cwd);
}

CommandResult ParseCommand(const PreparedCommand& prepared, const std::vector<std::string_view>& arguments,
                           std::string_view cwd) {
  const auto fail = [](std::string why) { return CommandResult{std::nullopt, std::move(why)}; };
  const Command& command = prepared.command();
  const bool has_subcommands = !command.subcommands.empty();
  Result top = Parse(prepared.top(), arguments);
  if (!top.parsed) return fail(std::move(top.error));
  CommandParse parse;
  std::vector<std::string_view> top_operands = std::move(top.parsed->operands);
  std::vector<std::string_view> rest;
  if (command.top.style == Style::kCobra && HasPersistentOptions(command) && has_subcommands) {
    // cobra finds the subcommand its own way (stripFlags); where that is
    // not the word pflag's reading leaves first, the line is not read.
    // (With `options first` at the top, as docker reads its global options,
    // the first operand is the subcommand for both.)
    const std::optional<std::string_view> found = CobraCommandWord(prepared.top(), arguments);
    const std::optional<std::string_view> read =
        top_operands.empty() ? std::nullopt : std::optional<std::string_view>(top_operands.front());
    if (found != read) {
      return fail("cobra would run " +
                  (found ? "subcommand " + EscapeForDisplay(*found) : std::string("no subcommand")) +
                  " where the options read " + (read ? EscapeForDisplay(*read) : std::string("none")));
    }
  }
  if (has_subcommands && !top_operands.empty()) {
    const std::string_view name = top_operands.front();
    for (std::size_t i = 0; i < command.subcommands.size(); ++i) {
      if (command.subcommands[i].name == name) parse.subcommand = static_cast<int>(i);
    }
    // Top-level operand groups read every operand as written (the
    // subcommand's name first), whether or not it names a declared
    // subcommand; without them an undeclared subcommand does not parse.
    const bool top_takes_operands = HasOperands(command.top);
    if (parse.subcommand < 0 && !top_takes_operands) return fail("unknown subcommand " + EscapeForDisplay(name));
    if (parse.subcommand >= 0) rest.assign(top_operands.begin() + 1, top_operands.end());
    if (!top_takes_operands) top_operands.clear();
  }
  std::vector<Occurrence> top_options = std::move(top.parsed->options);
  if (parse.subcommand >= 0 && command.top.options_persistent) {
    // pip's reading: the top level's parse only finds the subcommand; its
    // parser then reads the whole list without the first word equal to the
    // name — which is the value of an option before it in `--proxy install
    // --log x install` (pip installs `x` and `install`, with proxy --log).
    const std::string_view name = command.subcommands[static_cast<std::size_t>(parse.subcommand)].name;
    rest.assign(arguments.begin(), arguments.end());
    if (const auto first = std::find(rest.begin(), rest.end(), name); first != rest.end()) rest.erase(first);
    top_options.clear();
  }
  if (parse.subcommand >= 0) {
    const CommandScope& scope = command.subcommands[static_cast<std::size_t>(parse.subcommand)];
    // A cobra subcommand's nested command (`rollout restart`), declared as
    // a first operand group of choices, is read where cobra finds it for
    // certain: right after the subcommand's name.
    if (command.top.style == Style::kCobra) {
      for (const CommandField& field : scope.fields) {
        if (field.role != FieldRole::kOperands) continue;
        if (field.type.type == ValueType::kEnum && field.min_count >= 1 &&
            (rest.empty() || rest.front().starts_with('-'))) {
          return fail("the " + field.name + " of " + scope.name + " must follow it directly");
        }
        break;
      }
    }
    Result sub = Parse(prepared.subcommand(static_cast<std::size_t>(parse.subcommand)), rest);
    if (!sub.parsed) return fail(std::move(sub.error));
    // Persistent (top-level) options after the name count as the top
    // level's, after those before it: the last one wins across both.
    std::vector<Occurrence> own;
    const int persistent = static_cast<int>(scope.fields.size());
    for (const Occurrence& occurrence : sub.parsed->options) {
      if (occurrence.field >= persistent) {
        top_options.push_back(Occurrence{occurrence.field - persistent, occurrence.value});
      } else {
        own.push_back(occurrence);
      }
    }
    if (std::string error = Assign(scope, own, sub.parsed->operands, cwd, parse.chosen); !error.empty()) {
      return fail(std::move(error));
    }
  }
  if (std::string error = Assign(command.top, top_options, top_operands, cwd, parse.top); !error.empty()) {
    return fail(std::move(error));
  }
  return CommandResult{std::move(parse), ""};
}

bool ParseMemo::Entry::Holds(const PreparedCommand& for_command, const std::vector<std::string_view>& list,
                             std::string_view in_cwd) const {
  if (command != &for_command || arguments.size() != list.size() || cwd != in_cwd) return false;
  for (std::size_t i = 0; i < list.size(); ++i) {
    if (arguments[i] != list[i]) return false;
  }
  return true;
}

const CommandResult& ParseMemo::Parse(const PreparedCommand& command, const std::vector<std::string_view>& arguments,
                                      std::string_view cwd) {
  // The entry that answered last first: a decision reads the fields of one
  // parse one after another.
  if (last_ < entries_.size() && entries_[last_].Holds(command, arguments, cwd)) return entries_[last_].result;
  for (std::size_t k = 0; k < entries_.size(); ++k) {
    if (k != last_ && entries_[k].Holds(command, arguments, cwd)) {
      last_ = k;
      return entries_[k].result;
    }
  }
  constexpr std::size_t kEntries = 4;
  if (entries_.size() < kEntries) {
    entries_.emplace_back();
    next_ = entries_.size() - 1;
  }
  last_ = next_;
  Entry& entry = entries_[next_];
  next_ = (next_ + 1) % kEntries;
  entry.command = &command;
  entry.arguments.assign(arguments.begin(), arguments.end());
  entry.cwd = std::string(cwd);
  entry.result = ParseCommand(command, arguments, cwd);
  return entry.result;
}

namespace {

std::string ValidateScope(const CommandScope& scope, const std::string& where) {
  if (scope.options_first && scope.style != Style::kCobra) {
    return where + ": `options first` is for style cobra (the posix style always stops at the first operand)";
  }
  if (scope.options_persistent && (scope.style == Style::kCobra || !scope.name.empty())) {
    return where + ": `options persistent` is for the top level of a gnu or posix command (cobra's are already)";
  }
  std::set<char> shorts;
  std::set<std::string> longs;
  std::set<std::string> names;
  for (const CommandField& field : scope.fields) {
    if (!names.insert(field.name).second) return where + ": field " + field.name + " is declared twice";
    if (field.role == FieldRole::kOperands) {
      if (!field.shorts.empty() || !field.longs.empty()) return where + ": operands " + field.name + " have spellings";
      if (field.min_count > field.max_count || field.max_count == 0) {
        return where + ": operands " + field.name + " can never be matched";
      }
    } else {
      if (field.shorts.empty() && field.longs.empty()) return where + ": " + field.name + " has no spelling";
      for (char letter : field.shorts) {
        if (letter == '-' || letter == '\0' || !shorts.insert(letter).second) {
          return where + ": short option -" + std::string(1, letter) + " is invalid or declared twice";
        }
      }
      if (scope.style == Style::kCobra && field.shorts.find('=') != std::string::npos) {
        return where + ": short option -= is invalid";  // pflag reads `-x=` as a value
      }
      for (const std::string& spelling : field.longs) {
        if (spelling.empty() || spelling.find('=') != std::string::npos || !longs.insert(spelling).second ||
            (scope.style == Style::kCobra && spelling.starts_with('-'))) {
          return where + ": long option --" + spelling + " is invalid or declared twice";
        }
      }
      if (field.role == FieldRole::kFlag && (field.value != Value::kNone || field.repeatable)) {
        return where + ": flag " + field.name + " takes a value";
      }
      if (field.role == FieldRole::kOption && field.value == Value::kNone) {
        return where + ": option " + field.name + " takes no value";
      }
      if (field.ends_options && (field.role != FieldRole::kOption || scope.style == Style::kCobra)) {
        return where + ": only an option of a gnu or posix scope ends options (" + field.name + ")";
      }
      if (field.value == Value::kOptional && field.type.type == ValueType::kInt) {
        return where + ": option " + field.name + " reads \"\" without its optional value, which is not an int";
      }
    }
    if (field.type.type == ValueType::kEnum && field.type.choices.empty()) {
      return where + ": " + field.name + " has no choices";
    }
    if (field.type.min > field.type.max) return where + ": " + field.name + " has an empty range";
  }
  return "";
}

}  // namespace

std::string ValidateCommand(const Command& command) {
  if (std::string error = ValidateScope(command.top, "command " + command.name); !error.empty()) return error;
  const bool cobra = command.top.style == Style::kCobra;
  const bool persistent = HasPersistentOptions(command);
  if (command.top.options_persistent && command.subcommands.empty()) {
    return "command " + command.name + ": `options persistent` needs subcommands (they read the top-level options)";
  }
  if (persistent && !command.subcommands.empty() && HasOperands(command.top)) {
    // Its persistent options after an undeclared subcommand could not be
    // told from that subcommand's own.
    return "command " + command.name + ": " +
           (cobra ? "a cobra command with subcommands" : "a command with persistent options and subcommands") +
           " has no top-level operands (declare every subcommand it may run)";
  }
  std::set<std::string> names;
  for (const CommandScope& scope : command.subcommands) {
    if (scope.name.empty() || scope.name.starts_with('-')) {
      return "command " + command.name + ": subcommand \"" + scope.name + "\" needs a name that is not an option";
    }
    if (!names.insert(scope.name).second) {
      return "command " + command.name + ": subcommand " + scope.name + " is declared twice";
    }
    const std::string where = "command " + command.name + " " + scope.name;
    if (std::string error = ValidateScope(scope, where); !error.empty()) return error;
    if (cobra != (scope.style == Style::kCobra)) {
      return where + ": a cobra command's subcommands read options as it does (style cobra at both levels or neither)";
    }
    if (persistent) {
      // The top level's options are read here too: one meaning per spelling.
      CommandScope both = scope;
      both.fields.insert(both.fields.end(), command.top.fields.begin(), command.top.fields.end());
      for (std::size_t i = 0; i < both.fields.size(); ++i) both.fields[i].name = std::to_string(i);
      if (std::string error = ValidateScope(both, where + " (with the persistent options of " + command.name + ")");
          !error.empty()) {
        return error;
      }
    }
  }
  return "";
}

}  // namespace gov::argparse
