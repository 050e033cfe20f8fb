// argparse::Parse: getopt_long's reading of argument lists — table-driven
// cases for each rule, and a differential test against glibc's getopt_long
// on random option tables and argument lists.
#include "runtime/argparse/argparse.h"

#include <getopt.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <random>
#include <sstream>
#include <string>
#include <vector>

namespace gov::argparse {
namespace {

enum Field { kForce, kRecursive, kLines, kColor, kDir, kVerbose };

Spec Rm(Style style = Style::kGnu) {
  return Spec{
      style,
      {Option{"f", {"force"}, Value::kNone, kForce}, Option{"rR", {"recursive", "recurse"}, Value::kNone, kRecursive},
       Option{"n", {"lines"}, Value::kRequired, kLines}, Option{"", {"color", "colour"}, Value::kOptional, kColor},
       Option{"C", {"directory"}, Value::kRequired, kDir},
       Option{"v", {"verbose", "version"}, Value::kNone, kVerbose}}};
}

// The parse as text: `field[=value] ... | operand ...`, or `error: ...`.
std::string Show(const Result& result) {
  if (!result.parsed) return "error: " + result.error;
  std::ostringstream out;
  for (const Occurrence& o : result.parsed->options) {
    out << o.field;
    if (o.value) out << "=" << *o.value;
    out << " ";
  }
  out << "|";
  for (std::string_view operand : result.parsed->operands) out << " " << operand;
  return out.str();
}

std::string ParseText(const Spec& spec, std::vector<std::string_view> arguments) {
  return Show(Parse(spec, arguments));
}

TEST_CASE("argparse: the GNU rules, one case each", "[argparse]") {
  struct Case {
    std::vector<std::string_view> arguments;
    std::string expected;
  };
  const std::vector<Case> cases = {
      {{}, "|"},
      {{"file"}, "| file"},
      {{"-rf", "dir"}, "1 0 | dir"},                 // a cluster
      {{"dir", "-r", "-f"}, "1 0 | dir"},            // permutation: options after operands
      {{"--recursive", "--force", "x"}, "1 0 | x"},  // long spellings
      {{"--recur", "x"}, "1 | x"},                   // an unambiguous abbreviation
      {{"--rec", "x"}, "1 | x"},                     // two spellings of one option: not ambiguous
      {{"--ver"}, "5 |"},                            // --verbose and --version spell one option
      {{"-n5", "-n", "6", "--lines=7", "--lines", "8"}, "2=5 2=6 2=7 2=8 |"},
      {{"-n", "-5"}, "2=-5 |"},  // a required value may start with a dash
      {{"-n"}, "error: option -n needs a value"},
      {{"--lines"}, "error: option --lines needs a value"},
      {{"--force=yes"}, "error: option --force=yes takes no value"},
      {{"--color", "always"}, "3 | always"},  // an optional value only with =
      {{"--color=always"}, "3=always |"},
      {{"--colo="}, "3= |"},
      {{"-rn3", "x"}, "1 2=3 | x"},  // a value ends the cluster
      {{"-x"}, "error: unknown option -x in -x"},
      {{"-rx"}, "error: unknown option -x in -rx"},
      {{"--nope"}, "error: unknown option --nope"},
      {{"--", "-rf", "--force"}, "| -rf --force"},  // -- ends options
      {{"-", "-r"}, "1 | -"},                       // - alone is an operand
      {{"-C", "--", "x"}, "4=-- | x"},              // ...and -- can be a value
      {{"-Cdir", "-C", "d2"}, "4=dir 4=d2 |"},
  };
  for (const Case& c : cases) {
    std::string joined;
    for (std::string_view a : c.arguments) joined += std::string(a) + " ";
    INFO("arguments: " << joined);
    CHECK(ParseText(Rm(), c.arguments) == c.expected);
  }
}

TEST_CASE("argparse: an abbreviation of two options is ambiguous, an exact spelling is not", "[argparse]") {
  const Spec spec{Style::kGnu, {Option{"", {"all"}, Value::kNone, 0}, Option{"", {"allow"}, Value::kNone, 1}}};
  CHECK(ParseText(spec, {"--al"}) == "error: ambiguous option --al");
  CHECK(ParseText(spec, {"--all"}) == "0 |");
  CHECK(ParseText(spec, {"--allo"}) == "1 |");
  // Two entries for one option (same field, same value kind) are one option, as in getopt_long.
  const Spec same{Style::kGnu, {Option{"", {"verbose"}, Value::kNone, 5}, Option{"", {"version"}, Value::kNone, 5}}};
  CHECK(ParseText(same, {"--ver"}) == "5 |");
  const Spec differ{Style::kGnu,
                    {Option{"", {"verbose"}, Value::kNone, 5}, Option{"", {"version"}, Value::kRequired, 5}}};
  CHECK(ParseText(differ, {"--ver"}) == "error: ambiguous option --ver");
}

TEST_CASE("argparse: the POSIX style stops at the first operand", "[argparse]") {
  CHECK(ParseText(Rm(Style::kPosix), {"-r", "dir", "-f"}) == "1 | dir -f");
  CHECK(ParseText(Rm(Style::kPosix), {"--", "-r"}) == "| -r");
  CHECK(ParseText(Rm(Style::kPosix), {"-n", "x", "y", "-z"}) == "2=x | y -z");
}

TEST_CASE("argparse: the cobra style reads flags as Go's pflag does", "[argparse]") {
  struct Case {
    std::vector<std::string_view> arguments;
    std::string expected;
  };
  const std::vector<Case> cases = {
      {{"-rf", "dir"}, "1 0 | dir"},                        // a cluster of flags
      {{"dir", "-r", "--force"}, "1 0 | dir"},              // options after operands
      {{"-n=kube-system"}, "2=kube-system |"},              // `=` after a short option is not its value
      {{"-nkube-system"}, "2=kube-system |"},               // an attached value
      {{"-n", "x"}, "2=x |"},                               // a separate one
      {{"-n="}, "2== |"},                                   // `=` alone is the value (pflag: "=")
      {{"-rn=x"}, "1 2=x |"},                               // a value ends the cluster
      {{"--lines=7", "--lines", "8"}, "2=7 2=8 |"},         // long values
      {{"--recur", "x"}, "error: unknown option --recur"},  // no abbreviations
      {{"--ver"}, "error: unknown option --ver"},
      {{"--force=false"}, "0=false |"},  // a flag's bool: ParseCommand reads it
      {{"-f=true", "-rf=0"}, "0=true 1 0=0 |"},
      {{"-f="}, "error: unknown option -= in -f="},  // as pflag: `=` alone is no value
      {{"--color", "always"}, "3 | always"},         // an optional value only with `=`
      {{"--color=always"}, "3=always |"},
      {{"--", "-rf"}, "| -rf"},
      {{"-", "-r"}, "1 | -"},
      {{"-x"}, "error: unknown option -x in -x"},
  };
  for (const Case& c : cases) {
    std::string joined;
    for (std::string_view a : c.arguments) joined += std::string(a) + " ";
    INFO("arguments: " << joined);
    CHECK(ParseText(Rm(Style::kCobra), c.arguments) == c.expected);
  }
  // An optional short value only after `=`; without it the cluster goes on.
  const Spec optional{Style::kCobra,
                      {Option{"o", {"output"}, Value::kOptional, 0}, Option{"q", {"quiet"}, Value::kNone, 1}}};
  CHECK(ParseText(optional, {"-oq"}) == "0 1 |");
  CHECK(ParseText(optional, {"-o=json"}) == "0=json |");
  CHECK(ParseText(optional, {"-o", "json"}) == "0 | json");
  // Options end at the first operand when the table says so (a command's top level).
  Spec top = Rm(Style::kCobra);
  top.stop_at_operand = true;
  CHECK(ParseText(top, {"-n=x", "get", "-r"}) == "2=x | get -r");
}

// --------------------------------------------------------- against glibc

// glibc's getopt_long over `arguments` with the options of `spec`, in the
// same text form; any '?' (unknown, ambiguous, missing or unwanted value)
// is an error. POSIXLY_CORRECT must be unset (checked by the caller).
std::string Glibc(const Spec& spec, const std::vector<std::string>& arguments) {
  std::string optstring = spec.style == Style::kPosix ? "+" : "";
  std::vector<option> longs;
  std::vector<std::string> names;
  names.reserve(64);
  for (const Option& o : spec.options) {
    for (char letter : o.shorts) {
      optstring += letter;
      if (o.value == Value::kRequired) optstring += ":";
      if (o.value == Value::kOptional) optstring += "::";
    }
    for (const std::string& name : o.longs) names.push_back(name);
  }
  std::size_t name_index = 0;
  for (const Option& o : spec.options) {
    for (std::size_t k = 0; k < o.longs.size(); ++k) {
      const int has_arg = o.value == Value::kNone       ? no_argument
                          : o.value == Value::kRequired ? required_argument
                                                        : optional_argument;
      longs.push_back(option{names[name_index++].c_str(), has_arg, nullptr, 1000 + o.field});
    }
  }
  longs.push_back(option{nullptr, 0, nullptr, 0});
  std::vector<std::string> storage = {"prog"};
  storage.insert(storage.end(), arguments.begin(), arguments.end());
  std::vector<char*> argv;
  for (std::string& s : storage) argv.push_back(s.data());
  argv.push_back(nullptr);
  const int argc = static_cast<int>(storage.size());
  optind = 0;  // glibc: full reinitialization
  opterr = 0;
  std::ostringstream out;
  while (true) {
    const int c = getopt_long(argc, argv.data(), optstring.c_str(), longs.data(), nullptr);
    if (c == -1) break;
    if (c == '?') return "error";
    int field = c >= 1000 ? c - 1000 : -1;
    if (field < 0) {
      for (const Option& o : spec.options) {
        if (o.shorts.find(static_cast<char>(c)) != std::string::npos) field = o.field;
      }
    }
    out << field;
    if (optarg != nullptr) out << "=" << optarg;
    out << " ";
  }
  out << "|";
  for (int i = optind; i < argc; ++i) out << " " << argv[static_cast<std::size_t>(i)];
  return out.str();
}

TEST_CASE("argparse agrees with glibc's getopt_long on random tables and argument lists", "[argparse]") {
  REQUIRE(std::getenv("POSIXLY_CORRECT") == nullptr);
  std::mt19937 random(20261206);
  const std::string letters = "abcdefghnrvxyzABCR0123456789";
  const std::vector<std::string> words = {"all",    "allow", "al",    "color", "colour", "col",     "force",
                                          "forced", "f",     "lines", "line",  "list",   "verbose", "version"};
  int compared = 0, errors = 0;
  for (int table = 0; table < 300; ++table) {
    Spec spec;
    spec.style = random() % 4 == 0 ? Style::kPosix : Style::kGnu;
    std::string used;
    const int options = 1 + static_cast<int>(random() % 6);
    for (int field = 0; field < options; ++field) {
      Option o;
      o.field = field > 0 && random() % 5 == 0 ? field - 1 : field;  // sometimes a second entry of one option
      o.value = static_cast<Value>(random() % 3);
      for (int k = static_cast<int>(random() % 3); k > 0; --k) {
        const char letter = letters[random() % letters.size()];
        if (used.find(letter) == std::string::npos) {
          used += letter;
          o.shorts += letter;
        }
      }
      for (int k = static_cast<int>(random() % 3); k > 0; --k) {
        const std::string& word = words[random() % words.size()];
        bool taken = false;
        for (const Option& other : spec.options) {
          for (const std::string& name : other.longs) taken |= name == word;
        }
        for (const std::string& name : o.longs) taken |= name == word;
        if (!taken) o.longs.push_back(word);
      }
      spec.options.push_back(o);
    }
    // Argument lists made of the table's spellings, abbreviations, values and operands.
    for (int list = 0; list < 60; ++list) {
      std::vector<std::string> arguments;
      const int length = static_cast<int>(random() % 6);
      for (int k = 0; k < length; ++k) {
        switch (random() % 8) {
          case 0:
            arguments.push_back("file" + std::to_string(k));
            break;
          case 1:
            arguments.push_back(random() % 2 ? "--" : "-");
            break;
          case 2: {
            std::string cluster = "-";
            for (int n = 1 + static_cast<int>(random() % 3); n > 0; --n) cluster += letters[random() % letters.size()];
            arguments.push_back(cluster);
            break;
          }
          case 3:
          case 4: {
            const std::string& word = words[random() % words.size()];
            std::string spelled = "--" + word.substr(0, 1 + random() % word.size());
            if (random() % 3 == 0) spelled += "=v" + std::to_string(k);
            arguments.push_back(spelled);
            break;
          }
          case 5:
            arguments.push_back("-" + std::string(1, used.empty() ? 'q' : used[random() % used.size()]));
            break;
          case 6:
            arguments.push_back("-" + std::string(1, used.empty() ? 'q' : used[random() % used.size()]) + "val");
            break;
          default:
            arguments.push_back(std::to_string(k));
        }
      }
      std::vector<std::string_view> views(arguments.begin(), arguments.end());
      const Result ours = Parse(spec, views);
      const std::string theirs = Glibc(spec, arguments);
      std::string joined;
      for (const std::string& a : arguments) joined += a + " ";
      INFO("table " << table << ", arguments: " << joined);
      if (theirs == "error") {
        CHECK_FALSE(ours.parsed);
        ++errors;
      } else {
        CHECK(Show(ours) == theirs);
      }
      ++compared;
    }
  }
  // Both outcomes were exercised.
  CHECK(compared == 300 * 60);
  CHECK(errors > 1000);
  CHECK(errors < compared - 1000);
}

}  // namespace
}  // namespace gov::argparse
