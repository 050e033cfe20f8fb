// getopt_long's and pflag's reading of an argument list, from a table
// (argparse.h).
#include "runtime/argparse/argparse.h"

#include "runtime/support/display.h"

namespace gov::argparse {
namespace {

// The options a long name (before any `=`) selects: exact spelling first,
// else every option one of whose spellings it abbreviates. Two spellings
// of one option are one candidate (getopt_long compares what an option
// does, not its name).
// pflag (kCobra) takes exact spellings only.
std::vector<const Option*> LongCandidates(const Spec& spec, std::string_view name) {
  for (const Option& option : spec.options) {
    for (const std::string& spelling : option.longs) {
      if (spelling == name) return {&option};
    }
  }
  std::vector<const Option*> found;
  if (spec.style == Style::kCobra) return found;
  for (const Option& option : spec.options) {
    for (const std::string& spelling : option.longs) {
      if (!std::string_view(spelling).starts_with(name)) continue;
      bool same = false;
      for (const Option* seen : found) same |= seen->field == option.field && seen->value == option.value;
      if (!same) found.push_back(&option);
      break;
    }
  }
  return found;
}

const Option* ShortOption(const Spec& spec, char letter) {
  for (const Option& option : spec.options) {
    if (option.shorts.find(letter) != std::string::npos) return &option;
  }
  return nullptr;
}

}  // namespace

Result Parse(const Spec& spec, const std::vector<std::string_view>& arguments) {
  Parsed parsed;
  const auto fail = [](std::string why) { return Result{std::nullopt, std::move(why)}; };
  const std::size_t count = arguments.size();
  // After an option that ends options, every later word is an operand.
  const auto rest_are_operands = [&](std::size_t next) {
    parsed.operands.insert(parsed.operands.end(), arguments.begin() + static_cast<std::ptrdiff_t>(next),
                           arguments.end());
  };
  for (std::size_t i = 0; i < count; ++i) {
    const std::string_view argument = arguments[i];
    if (argument == "--") {
      parsed.operands.insert(parsed.operands.end(), arguments.begin() + static_cast<std::ptrdiff_t>(i) + 1,
                             arguments.end());
      break;
    }
    if (argument.size() < 2 || argument[0] != '-') {
      if (spec.style == Style::kPosix || spec.stop_at_operand) {
        parsed.operands.insert(parsed.operands.end(), arguments.begin() + static_cast<std::ptrdiff_t>(i),
                               arguments.end());
        break;
      }
      parsed.operands.push_back(argument);
      continue;
    }
    if (argument[1] == '-') {
      const std::string_view body = argument.substr(2);
      const std::size_t equals = body.find('=');
      const std::string_view name = body.substr(0, equals);
      const std::vector<const Option*> candidates = LongCandidates(spec, name);
      if (candidates.empty()) return fail("unknown option " + EscapeForDisplay(argument));
      if (candidates.size() > 1) return fail("ambiguous option " + EscapeForDisplay(argument));
      const Option& option = *candidates.front();
      Occurrence occurrence{option.field, std::nullopt};
      if (equals != std::string_view::npos) {
        // pflag's `--flag=false`: the caller reads the value as a bool.
        if (option.value == Value::kNone && spec.style != Style::kCobra) {
          return fail("option " + EscapeForDisplay(argument) + " takes no value");
        }
        occurrence.value = body.substr(equals + 1);
      } else if (option.value == Value::kRequired) {
        if (i + 1 == count) return fail("option " + EscapeForDisplay(argument) + " needs a value");
        occurrence.value = arguments[++i];
      }
      parsed.options.push_back(occurrence);
      if (option.ends_options) {
        rest_are_operands(i + 1);
        break;
      }
      continue;
    }
    // A cluster of short options: `-rf`, `-n5`, `-n 5`.
    bool ended = false;
    for (std::size_t at = 1; at < argument.size(); ++at) {
      const Option* option = ShortOption(spec, argument[at]);
      if (option == nullptr) {
        return fail("unknown option -" + EscapeForDisplay(argument.substr(at, 1)) + " in " +
                    EscapeForDisplay(argument));
      }
      Occurrence occurrence{option->field, std::nullopt};
      if (spec.style == Style::kCobra) {
        // pflag: `-x=VALUE` gives any option VALUE (a flag's is a bool,
        // checked by the caller); flags and optional values go on with the
        // cluster; a required value is the rest or the next argument.
        const std::string_view rest = argument.substr(at + 1);
        if (rest.size() > 1 && rest[0] == '=') {
          occurrence.value = rest.substr(1);
          parsed.options.push_back(occurrence);
          break;
        }
        if (option->value != Value::kRequired) {
          parsed.options.push_back(occurrence);
          continue;
        }
        if (!rest.empty()) {
          occurrence.value = rest;
        } else if (i + 1 == count) {
          return fail("option -" + EscapeForDisplay(argument.substr(at, 1)) + " needs a value");
        } else {
          occurrence.value = arguments[++i];
        }
        parsed.options.push_back(occurrence);
        break;
      }
      if (option->value != Value::kNone) {
        if (at + 1 < argument.size()) {
          occurrence.value = argument.substr(at + 1);
        } else if (option->value == Value::kRequired) {
          if (i + 1 == count) return fail("option -" + EscapeForDisplay(argument.substr(at, 1)) + " needs a value");
          occurrence.value = arguments[++i];
        }
        parsed.options.push_back(occurrence);
        ended = option->ends_options;
        break;
      }
      parsed.options.push_back(occurrence);
    }
    if (ended) {
      rest_are_operands(i + 1);
      break;
    }
  }
  return Result{std::move(parsed), ""};
}

}  // namespace gov::argparse
