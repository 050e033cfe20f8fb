// Parsing a program's argument list the way the program itself does, from a
// table that describes its options (docs/design/argument-grammars.md, step
// 1). The GNU style is getopt_long's: short clusters (`-rf`), attached and
// separate values (`-n5`, `-n 5`, `--lines=5`, `--lines 5`), unambiguous
// abbreviations of long options, permutation (options after operands) and
// `--`; the POSIX style stops at the first operand. Tested against glibc's
// getopt_long (tests/unit/argparse_test.cpp). The cobra style is pflag's,
// as Go programs built on cobra read their flags (kubectl, docker, helm):
// long options spelled out in full, `-n=VALUE` as well as `-nVALUE`, and
// options anywhere.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace gov::argparse {

enum class Style {
  kGnu,    // getopt_long with permutation
  kPosix,  // options end at the first operand (getopt_long with a leading '+')
  // pflag: no abbreviations; a short option's value attached as `-nVALUE`
  // or `-n=VALUE` (the `=` is not part of it); an optional value only with
  // `=`; a flag may be given a bool (`--force=false`, `-f=true`: the
  // occurrence carries it); permutation and `--` as kGnu.
  kCobra,
};

enum class Value {
  kNone,      // a flag
  kRequired,  // `-n5`, `-n 5`, `--lines=5`, `--lines 5`
  kOptional,  // `-n5`, `--lines=5` only: a separate argument is never its value
};

// One option: its spellings and what it takes. `field` is the caller's
// index for it (several spellings of one option share it).
struct Option {
  std::string shorts;              // the letters of its short spellings (`"rR"` for -r and -R)
  std::vector<std::string> longs;  // its long spellings without the dashes (`"recursive"`)
  Value value = Value::kNone;
  int field = 0;
  // The words after this option (and its value) are operands, whatever
  // they look like: python's `-c CODE` and `-m MODULE`. kGnu and kPosix.
  bool ends_options = false;
};

struct Spec {
  Style style = Style::kGnu;
  std::vector<Option> options;
  // Options end at the first operand whatever the style (kPosix always
  // does): a command's top level, whose first operand names a subcommand.
  bool stop_at_operand = false;
};

// An option as it occurred, in argument order.
struct Occurrence {
  int field = 0;
  std::optional<std::string_view> value;  // into the argument list; a flag has one only in kCobra
};

struct Parsed {
  std::vector<Occurrence> options;
  std::vector<std::string_view> operands;  // in order, options removed
};

// The parse of `arguments` (argv[1..]) under `spec`, or why the program
// would refuse them: an unknown option, an ambiguous abbreviation, a
// missing value, a value given to a flag. The views point into `arguments`.
struct Result {
  std::optional<Parsed> parsed;
  std::string error;  // when !parsed
};
Result Parse(const Spec& spec, const std::vector<std::string_view>& arguments);

}  // namespace gov::argparse
