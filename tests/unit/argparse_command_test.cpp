// argparse::ParseCommand: typed fields, operand groups and subcommands over
// the getopt rules (command.h), table-driven; ValidateCommand's refusals.
#include <catch2/catch.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "runtime/argparse/command.h"

namespace gov::argparse::command_test {
namespace {

CommandField Flag(std::string name, std::string shorts, std::vector<std::string> longs) {
  CommandField field;
  field.name = std::move(name);
  field.role = FieldRole::kFlag;
  field.shorts = std::move(shorts);
  field.longs = std::move(longs);
  return field;
}

CommandField Opt(std::string name, std::string shorts, std::vector<std::string> longs, ValueSpec type = {},
                 bool repeatable = false, Value value = Value::kRequired) {
  CommandField field = Flag(std::move(name), std::move(shorts), std::move(longs));
  field.role = FieldRole::kOption;
  field.type = std::move(type);
  field.repeatable = repeatable;
  field.value = value;
  return field;
}

CommandField Operands(std::string name, std::uint32_t min, std::uint32_t max, ValueSpec type = {}) {
  CommandField field;
  field.name = std::move(name);
  field.role = FieldRole::kOperands;
  field.type = std::move(type);
  field.min_count = min;
  field.max_count = max;
  return field;
}

const ValueSpec kPathType{ValueType::kPath, {}, INT64_MIN, INT64_MAX};

// rm: flags and `targets: path+`.
Command Rm() {
  Command rm;
  rm.name = "rm";
  rm.top.fields = {Flag("force", "f", {"force"}), Flag("recursive", "rR", {"recursive"}),
                   Opt("interactive", "", {"interactive"}, ValueSpec{ValueType::kEnum, {"never", "once", "always"}},
                       false, Value::kOptional),
                   Operands("targets", 1, kUnbounded, kPathType)};
  return rm;
}

// cp: `sources: path+, destination: path`; head: `-n int 0..`.
Command Cp() {
  Command cp;
  cp.name = "cp";
  cp.top.fields = {Flag("recursive", "rR", {"recursive"}), Operands("sources", 1, kUnbounded, kPathType),
                   Operands("destination", 1, 1, kPathType)};
  return cp;
}

// git: global -C (repeatable path) and -c, subcommands push and status.
Command Git() {
  Command git;
  git.name = "git";
  git.top.fields = {Opt("dir", "C", {}, kPathType, true), Opt("config", "c", {}, {}, true),
                    Flag("no_pager", "", {"no-pager"})};
  CommandScope push;
  push.name = "push";
  push.fields = {
      Flag("force", "f", {"force"}), Opt("force_with_lease", "", {"force-with-lease"}, {}, false, Value::kOptional),
      Flag("set_upstream", "u", {"set-upstream"}), Operands("remote", 0, 1), Operands("refspecs", 0, kUnbounded)};
  CommandScope status;
  status.name = "status";
  status.fields = {Flag("short", "s", {"short"}), Operands("paths", 0, kUnbounded, kPathType)};
  git.subcommands = {push, status};
  return git;
}

// The parse as text: `name=v1,v2` per present field (`name` for a flag),
// subcommand fields after `name:`; or `error: ...`.
std::string Show(const Command& command, std::vector<std::string_view> arguments, std::string_view cwd = "/w") {
  const CommandResult result = ParseCommand(command, arguments, cwd);
  if (!result.parse) return "error: " + result.error;
  std::ostringstream out;
  const auto scope = [&](const CommandScope& s, const std::vector<FieldValues>& values) {
    for (std::size_t i = 0; i < s.fields.size(); ++i) {
      if (!values[i].present) continue;
      out << s.fields[i].name;
      const char* separator = "=";
      for (const std::string& text : values[i].texts) out << std::exchange(separator, ",") << text;
      for (std::int64_t number : values[i].numbers) out << std::exchange(separator, ",") << number;
      out << " ";
    }
  };
  scope(command.top, result.parse->top);
  if (result.parse->subcommand >= 0) {
    const CommandScope& chosen = command.subcommands[static_cast<std::size_t>(result.parse->subcommand)];
    out << chosen.name << ": ";
    scope(chosen, result.parse->chosen);
  }
  std::string text = out.str();
  if (!text.empty() && text.back() == ' ') text.pop_back();
  return text;
}

TEST_CASE("command: flags, typed operands resolved against cwd, permutation and --", "[argparse]") {
  CHECK(Show(Rm(), {"-rf", "a"}) == "force recursive targets=/w/a");
  CHECK(Show(Rm(), {"a", "-r", "../b", "/c/./d"}) == "recursive targets=/w/a,/b,/c/d");
  CHECK(Show(Rm(), {"--", "-f"}) == "targets=/w/-f");
  CHECK(Show(Rm(), {"--rec", "x"}) == "recursive targets=/w/x");
  CHECK(Show(Rm(), {"--interactive=once", "x"}) == "interactive=once targets=/w/x");
  // Given without its optional value, an option reads as "" (present), and the last occurrence wins.
  CHECK(Show(Rm(), {"--interactive", "x"}) == "interactive= targets=/w/x");
  CHECK(Show(Rm(), {"--interactive=once", "--interactive", "x"}) == "interactive= targets=/w/x");
  CHECK(Show(Rm(), {"--interactive", "--interactive=once", "x"}) == "interactive=once targets=/w/x");
}

TEST_CASE("command: what the program refuses does not parse", "[argparse]") {
  CHECK(Show(Rm(), {"-f"}) == "error: 0 operands where at least 1 is needed");
  CHECK(Show(Rm(), {"-x", "a"}) == "error: unknown option -x in -x");
  CHECK(Show(Rm(), {"--interactive=sometimes", "a"}) == "error: value sometimes of interactive is not a valid choice");
  CHECK(Show(Rm(), {""}) == "error: value  of targets is not a valid path");
  CHECK(Show(Rm(), {"--i", "a"}) == "interactive= targets=/w/a");  // the one long option starting with i
}

TEST_CASE("command: fixed groups after a variable one are taken from the end", "[argparse]") {
  CHECK(Show(Cp(), {"a", "b", "c"}) == "sources=/w/a,/w/b destination=/w/c");
  CHECK(Show(Cp(), {"-r", "a", "d"}) == "recursive sources=/w/a destination=/w/d");
  CHECK(Show(Cp(), {"a"}) == "error: 1 operand where at least 2 are needed");
  CHECK(Show(Cp(), {}) == "error: 0 operands where at least 2 are needed");
}

TEST_CASE("command: ints convert exactly and within range, the last occurrence wins", "[argparse]") {
  Command head;
  head.name = "head";
  head.top.fields = {Opt("lines", "n", {"lines"}, ValueSpec{ValueType::kInt, {}, 0, 1000}),
                     Opt("exclude", "e", {}, {}, /*repeatable=*/true), Operands("files", 0, kUnbounded)};
  CHECK(Show(head, {"-n5", "f"}) == "lines=5 files=f");
  CHECK(Show(head, {"-n", "5", "--lines=+7"}) == "lines=7");
  CHECK(Show(head, {"-e", "a", "-eb"}) == "exclude=a,b");
  CHECK(Show(head, {"-n", "1001"}) == "error: value 1001 of lines is not a valid int");
  CHECK(Show(head, {"-n", "-1"}) == "error: value -1 of lines is not a valid int");
  CHECK(Show(head, {"-n", "5x"}) == "error: value 5x of lines is not a valid int");
  CHECK(Show(head, {"-n", "99999999999999999999"}).starts_with("error: "));
  CHECK(Show(head, {"-n", "++5"}).starts_with("error: "));
  CHECK(Show(head, {"-n", ""}).starts_with("error: "));
}

TEST_CASE("command: assignments take only the leading NAME=VALUE operands", "[argparse]") {
  // env: `assignments: assignment*, program: string?, arguments: string*`, options before them.
  Command env;
  env.name = "env";
  env.top.style = Style::kPosix;
  env.top.fields = {Flag("ignore_environment", "i", {"ignore-environment"}),
                    Operands("assignments", 0, kUnbounded, ValueSpec{ValueType::kAssignment, {}, INT64_MIN, INT64_MAX}),
                    Operands("program", 0, 1), Operands("arguments", 0, kUnbounded)};
  CHECK(Show(env, {"A=1", "B=x=y", "cmd", "C=3", "-i"}) == "assignments=A=1,B=x=y program=cmd arguments=C=3,-i");
  CHECK(Show(env, {"-i", "cmd", "a"}) == "ignore_environment program=cmd arguments=a");
  CHECK(Show(env, {"A=1", "B=2"}) == "assignments=A=1,B=2");
  CHECK(Show(env, {"=x", "cmd"}) == "assignments==x program=cmd");  // env sets `=x` too
  CHECK(Show(env, {}).empty());
  // A group that needs an assignment where the first operand is none does not parse.
  Command one;
  one.name = "one";
  one.top.fields = {Operands("setting", 1, 1, ValueSpec{ValueType::kAssignment, {}, INT64_MIN, INT64_MAX}),
                    Operands("rest", 0, kUnbounded)};
  CHECK(Show(one, {"A=1", "b"}) == "setting=A=1 rest=b");
  CHECK(Show(one, {"b", "A=1"}) == "error: operand b of setting is not an assignment (NAME=VALUE)");
}

TEST_CASE("command: subcommands after the global options, each with its own options", "[argparse]") {
  CHECK(Show(Git(), {"push", "--force", "origin", "main"}) == "push: force remote=origin refspecs=main");
  CHECK(Show(Git(), {"-C", "/r", "-c", "x=y", "push", "-fu", "origin"}) ==
        "dir=/r config=x=y push: force set_upstream remote=origin");
  CHECK(Show(Git(), {"-C", "a", "-C", "b", "status", "-s", "x"}) == "dir=/w/a,/w/b status: short paths=/w/x");
  CHECK(Show(Git(), {"push", "origin", "--force-with-lease"}) == "push: force_with_lease= remote=origin");
  CHECK(Show(Git(), {"push", "--set-up"}) == "push: set_upstream");
  CHECK(Show(Git(), {"push", "--forc"}) == "error: ambiguous option --forc");  // --force, --force-with-lease
  CHECK(Show(Git(), {"push", "--", "--force"}) == "push: remote=--force");
  CHECK(Show(Git(), {}) == "");
  CHECK(Show(Git(), {"--no-pager"}) == "no_pager");
  // Global options end at the subcommand: -f is push's here, unknown globally.
  CHECK(Show(Git(), {"-f", "push"}) == "error: unknown option -f in -f");
  CHECK(Show(Git(), {"pull"}) == "error: unknown subcommand pull");
  CHECK(Show(Git(), {"status", "--force"}) == "error: unknown option --force");
}

TEST_CASE("command: top-level operands beside subcommands read every operand as written", "[argparse]") {
  Command open = Git();
  open.top.fields.push_back(Operands("command", 0, 1));
  open.top.fields.push_back(Operands("arguments", 0, kUnbounded));
  CHECK(ValidateCommand(open).empty());
  // An undeclared subcommand parses: the operands alone, no subcommand chosen.
  CHECK(Show(open, {"-C", "r", "pull", "--rebase", "x"}) == "dir=/w/r command=pull arguments=--rebase,x");
  // A declared one is read by its grammar too, and the operands still hold it as written.
  CHECK(Show(open, {"push", "-f", "origin"}) == "command=push arguments=-f,origin push: force remote=origin");
  // Its grammar must accept it: a subcommand's unknown option still fails the whole parse.
  CHECK(Show(open, {"push", "--bogus"}) == "error: unknown option --bogus");
  CHECK(Show(open, {"status", "--force"}) == "error: unknown option --force");
  CHECK(Show(open, {}) == "");
  CHECK(Show(open, {"-f", "push"}) == "error: unknown option -f in -f");
}

// kubectl, cobra style: persistent -n/--namespace, --context and -A; get and delete.
Command Kubectl() {
  Command kubectl;
  kubectl.name = "kubectl";
  kubectl.top.style = Style::kCobra;
  kubectl.top.fields = {Opt("namespace", "n", {"namespace"}), Opt("context", "", {"context"}),
                        Flag("all_namespaces", "A", {"all-namespaces"})};
  CommandScope get;
  get.name = "get";
  get.style = Style::kCobra;
  get.fields = {Opt("output", "o", {"output"}), Flag("watch", "w", {"watch"}), Operands("resources", 0, kUnbounded)};
  CommandScope del;
  del.name = "delete";
  del.style = Style::kCobra;
  del.fields = {Flag("all", "", {"all"}), Opt("filename", "f", {"filename"}, kPathType, true),
                Operands("resources", 0, kUnbounded)};
  CommandScope rollout;
  rollout.name = "rollout";
  rollout.style = Style::kCobra;
  rollout.fields = {Flag("recursive", "R", {"recursive"}), Opt("selector", "l", {"selector"}),
                    Operands("action", 1, 1, ValueSpec{ValueType::kEnum, {"status", "restart"}}),
                    Operands("resources", 0, kUnbounded)};
  kubectl.subcommands = {get, del, rollout};
  return kubectl;
}

TEST_CASE("command: a cobra command's top-level options are read before and after its subcommand", "[argparse]") {
  CHECK(ValidateCommand(Kubectl()).empty());
  CHECK(Show(Kubectl(), {"get", "pods", "-n", "shop"}) == "namespace=shop get: resources=pods");
  CHECK(Show(Kubectl(), {"-n", "shop", "get", "pods"}) == "namespace=shop get: resources=pods");
  // pflag's values: `-n=x` is x, `-nx` is x; the last occurrence wins across both places.
  CHECK(Show(Kubectl(), {"get", "pods", "-n=kube-system"}) == "namespace=kube-system get: resources=pods");
  CHECK(Show(Kubectl(), {"get", "pods", "-nkube-system"}) == "namespace=kube-system get: resources=pods");
  CHECK(Show(Kubectl(), {"--context=a", "get", "--context", "b"}) == "context=b get:");
  CHECK(Show(Kubectl(), {"get", "-Aw", "-o=json"}) == "all_namespaces get: output=json watch");
  CHECK(Show(Kubectl(), {"delete", "-f", "x.yaml", "--all", "-n", "shop"}) ==
        "namespace=shop delete: all filename=/w/x.yaml");
  // No abbreviations; a subcommand's own options are not read before its name or in another one.
  CHECK(Show(Kubectl(), {"get", "--name", "x"}) == "error: unknown option --name");
  CHECK(Show(Kubectl(), {"-o", "json", "get"}) == "error: unknown option -o in -o");
  CHECK(Show(Kubectl(), {"get", "--all"}) == "error: unknown option --all");
  CHECK(Show(Kubectl(), {"exec", "pod"}) == "error: unknown subcommand exec");
  CHECK(Show(Kubectl(), {"get", "--", "-n", "x"}) == "get: resources=-n,x");
  // cobra finds the subcommand without reading clusters (stripFlags): where it would run
  // another subcommand than pflag's reading leaves, the line does not parse.
  Command bool_short = Kubectl();
  bool_short.top.fields.push_back(Flag("brief", "b", {}));
  CHECK(Show(bool_short, {"-bn", "delete", "get", "pods"}) ==
        "error: cobra would run subcommand delete where the options read get");
  CHECK(Show(bool_short, {"-b", "-n", "x", "get"}) == "namespace=x brief get:");
  CHECK(Show(Kubectl(), {"--", "get"}) == "error: cobra would run no subcommand where the options read get");
  CHECK(Show(Kubectl(), {"-n", "get"}) == "namespace=get");
  // A nested command (an enum first operand) is read only right after its subcommand.
  CHECK(Show(Kubectl(), {"rollout", "restart", "x", "-R"}) == "rollout: recursive action=restart resources=x");
  CHECK(Show(Kubectl(), {"rollout", "-Rl", "restart", "status", "x"}) ==
        "error: the action of rollout must follow it directly");
  CHECK(Show(Kubectl(), {"-n", "x", "rollout", "status"}) == "namespace=x rollout: action=status");
  // A flag given a bool, as Go's ParseBool reads it; the last occurrence wins.
  CHECK(Show(Kubectl(), {"get", "-w", "--watch=false"}) == "get:");
  CHECK(Show(Kubectl(), {"--all-namespaces=false", "get", "-A=T"}) == "all_namespaces get:");
  CHECK(Show(Kubectl(), {"get", "--watch=yes"}) == "error: value yes of watch is not a valid bool");
  CHECK(Show(Kubectl(), {"get", "--watch="}) == "error: value  of watch is not a valid bool");
}

TEST_CASE("command: a cobra command's levels read options alike, spell each once and declare every subcommand",
          "[argparse]") {
  Command mixed = Kubectl();
  mixed.subcommands[0].style = Style::kGnu;
  CHECK(ValidateCommand(mixed) ==
        "command kubectl get: a cobra command's subcommands read options as it does (style cobra at both levels or "
        "neither)");
  Command shadow = Kubectl();
  shadow.subcommands[1].fields.push_back(Flag("nope", "n", {}));
  CHECK(ValidateCommand(shadow) ==
        "command kubectl delete (with the persistent options of kubectl): short option -n is invalid or declared "
        "twice");
  Command open = Kubectl();
  open.top.fields.push_back(Operands("arguments", 0, kUnbounded));
  CHECK(ValidateCommand(open).find("has no top-level operands") != std::string::npos);
  // Spellings pflag cannot have: `---x` (bad flag syntax), `-=` (`-x=` gives a value).
  Command dashes = Kubectl();
  dashes.top.fields.push_back(Flag("odd", "", {"-x"}));
  CHECK(ValidateCommand(dashes) == "command kubectl: long option ---x is invalid or declared twice");
  Command equals = Kubectl();
  equals.top.fields.push_back(Flag("odd", "=", {}));
  CHECK(ValidateCommand(equals) == "command kubectl: short option -= is invalid");
}

// docker, cobra style with `options first`: global options only before the subcommand;
// `run` ends its options at the image.
Command Docker() {
  Command docker;
  docker.name = "docker";
  docker.top.style = Style::kCobra;
  docker.top.options_first = true;
  docker.top.fields = {Flag("debug", "D", {"debug"}), Opt("host", "H", {"host"})};
  CommandScope run;
  run.name = "run";
  run.style = Style::kCobra;
  run.options_first = true;
  run.fields = {
      Flag("privileged", "", {"privileged"}), Flag("interactive", "i", {}), Flag("tty", "t", {}),
      Opt("hostname", "h", {"hostname"}),     Operands("image", 1, 1),      Operands("command", 0, kUnbounded)};
  CommandScope ps;
  ps.name = "ps";
  ps.style = Style::kCobra;
  ps.fields = {Flag("all", "a", {"all"}), Flag("debug", "D", {})};
  docker.subcommands = {run, ps};
  return docker;
}

TEST_CASE("command: a cobra scope with `options first` ends its options at its first operand", "[argparse]") {
  CHECK(ValidateCommand(Docker()).empty());
  CHECK(Show(Docker(), {"run", "-it", "alpine", "sh", "--privileged"}) ==
        "run: interactive tty image=alpine command=sh,--privileged");
  CHECK(Show(Docker(), {"run", "--privileged=false", "-h", "x", "alpine"}) == "run: hostname=x image=alpine");
  CHECK(Show(Docker(), {"run", "--privileged", "alpine", "--", "x"}) == "run: privileged image=alpine command=--,x");
  // The global options are read before the subcommand only: not persistent.
  CHECK(Show(Docker(), {"-D", "-H=tcp://h", "ps", "-a"}) == "debug host=tcp://h ps: all");
  CHECK(Show(Docker(), {"ps", "-H", "x"}) == "error: unknown option -H in -H");
  CHECK(Show(Docker(), {"run", "--debug", "alpine"}) == "error: unknown option --debug");
  // So a subcommand may spell an option as a global one does, meaning its own.
  CHECK(Show(Docker(), {"ps", "-D"}) == "ps: debug");
  // The subcommand is the first operand for cobra and pflag alike.
  CHECK(Show(Docker(), {"-H", "ps", "run", "alpine"}) == "host=ps run: image=alpine");
  // Only for the cobra style: posix always stops, gnu is written `style posix`.
  Command gnu = Docker();
  gnu.top.style = Style::kGnu;
  for (CommandScope& scope : gnu.subcommands) scope.style = Style::kGnu;
  CHECK(ValidateCommand(gnu) ==
        "command docker: `options first` is for style cobra (the posix style always stops at the first operand)");
}

// pip, gnu style with `options persistent`: its general options are read before the
// subcommand and among the subcommand's own arguments, as pip's command parsers (which hold
// the general options) read them; an abbreviation is resolved among both.
Command Pip() {
  Command pip;
  pip.name = "pip";
  pip.top.options_persistent = true;
  pip.top.fields = {Flag("verbose", "v", {"verbose"}), Opt("python", "", {"python"}), Opt("log", "", {"log"}),
                    Flag("quiet", "q", {"quiet"})};
  CommandScope install;
  install.name = "install";
  install.fields = {Flag("upgrade", "U", {"upgrade"}), Opt("requirement", "r", {"requirement"}),
                    Opt("target", "t", {"target"}), Operands("packages", 0, kUnbounded)};
  CommandScope list;
  list.name = "list";
  list.fields = {Flag("outdated", "o", {"outdated"})};
  pip.subcommands = {install, list};
  return pip;
}

TEST_CASE("command: `options persistent` reads the top-level options after the subcommand too", "[argparse]") {
  CHECK(ValidateCommand(Pip()).empty());
  CHECK(Show(Pip(), {"-v", "install", "-U", "x"}) == "verbose install: upgrade packages=x");
  CHECK(Show(Pip(), {"install", "x", "-v", "--python", "/tmp/py"}) == "verbose python=/tmp/py install: packages=x");
  CHECK(Show(Pip(), {"list", "--pyth=./evil", "-o"}) == "python=./evil list: outdated");
  // Clusters mix both levels' letters; the last occurrence wins across both.
  CHECK(Show(Pip(), {"--log", "a", "install", "-qUv", "--log=b"}) == "verbose log=b quiet install: upgrade");
  // Before the subcommand only the top level's options are known, and options end at its name.
  CHECK(Show(Pip(), {"-U", "install"}) == "error: unknown option -U in -U");
  CHECK(Show(Pip(), {"install", "--", "-v"}) == "install: packages=-v");
  // The subcommand's table reads the whole list without the first word equal to its name, as
  // pip does: here that word is --proxy's value, so pip installs x and install (proxy --log).
  Command proxied = Pip();
  proxied.top.fields.push_back(Opt("proxy", "", {"proxy"}));
  CHECK(Show(proxied, {"--proxy", "install", "--log", "x", "install"}) ==
        "proxy=--log install: packages=x,install");
  CHECK(Show(Pip(), {"--log", "install", "install", "y"}) == "log=install install: packages=y");
  // `--t` is ambiguous only after the subcommand's name, where --target is known too.
  CHECK(Show(Pip(), {"install", "--ta", "d"}) == "install: target=d");
  // A spelling means one option at both levels; no top-level operands beside subcommands.
  Command twice = Pip();
  twice.subcommands[1].fields.push_back(Flag("verbose_list", "v", {}));
  CHECK(ValidateCommand(twice) ==
        "command pip list (with the persistent options of pip): short option -v is invalid or declared twice");
  Command open = Pip();
  open.top.fields.push_back(Operands("arguments", 0, kUnbounded));
  CHECK(ValidateCommand(open).find("has no top-level operands") != std::string::npos);
  Command alone = Pip();
  alone.subcommands.clear();
  CHECK(ValidateCommand(alone) ==
        "command pip: `options persistent` needs subcommands (they read the top-level options)");
  Command nested = Pip();
  nested.subcommands[0].options_persistent = true;
  CHECK(ValidateCommand(nested).find("`options persistent` is for the top level") != std::string::npos);
}

// python3, posix style: `-c CODE` and `-m MODULE` end python's options (`ends options`); the
// words after them are the code's or the module's, whatever they look like.
Command Python() {
  Command python;
  python.name = "python3";
  python.top.style = Style::kPosix;
  CommandField code = Opt("code", "c", {});
  code.ends_options = true;
  CommandField module = Opt("module", "m", {});
  module.ends_options = true;
  python.top.fields = {
      Flag("isolated", "I", {}),           Flag("quiet", "q", {}), Opt("warnings", "W", {}), code, module,
      Operands("arguments", 0, kUnbounded)};
  return python;
}

TEST_CASE("command: an option that ends options leaves every later word to the operands", "[argparse]") {
  CHECK(ValidateCommand(Python()).empty());
  CHECK(Show(Python(), {"-m", "pip", "-q", "install", "x"}) == "module=pip arguments=-q,install,x");
  CHECK(Show(Python(), {"-I", "-qm", "pip", "--", "-v"}) == "isolated quiet module=pip arguments=--,-v");
  CHECK(Show(Python(), {"-Impip", "list"}) == "isolated module=pip arguments=list");
  CHECK(Show(Python(), {"-c", "print(1)", "-m", "x"}) == "code=print(1) arguments=-m,x");
  CHECK(Show(Python(), {"-Wignore", "script.py", "-m", "x"}) == "warnings=ignore arguments=script.py,-m,x");
  CHECK(Show(Python(), {"-m"}) == "error: option -m needs a value");
  // gnu: options after operands are read until the option that ends them.
  Command gnu = Python();
  gnu.top.style = Style::kGnu;
  CHECK(Show(gnu, {"a", "-q", "-m", "mod", "-q"}) == "quiet module=mod arguments=a,-q");
  // Not a flag's, not a cobra scope's.
  Command flag = Python();
  flag.top.fields[0].ends_options = true;
  CHECK(ValidateCommand(flag) == "command python3: only an option of a gnu or posix scope ends options (isolated)");
}

TEST_CASE("command: a cobra int is read only where Go reads it alike", "[argparse]") {
  Command tail;
  tail.name = "tail";
  tail.top.style = Style::kCobra;
  tail.top.fields = {Opt("lines", "n", {"lines"}, ValueSpec{ValueType::kInt, {}, INT64_MIN, INT64_MAX})};
  CHECK(Show(tail, {"-n", "10"}) == "lines=10");
  CHECK(Show(tail, {"-n=-3"}) == "lines=-3");
  CHECK(Show(tail, {"--lines=0"}) == "lines=0");
  // Go's ParseInt(s, 0, 64): `010` is 8, `0x10` 16; the grammar refuses them rather than misread.
  CHECK(Show(tail, {"-n", "010"}) == "error: value 010 of lines is not a valid int");
  CHECK(Show(tail, {"-n", "-07"}) == "error: value -07 of lines is not a valid int");
  CHECK(Show(tail, {"-n", "0x10"}) == "error: value 0x10 of lines is not a valid int");
}

TEST_CASE("command: malformed grammars are refused", "[argparse]") {
  CHECK(ValidateCommand(Rm()).empty());
  CHECK(ValidateCommand(Cp()).empty());
  CHECK(ValidateCommand(Git()).empty());
  Command twice = Rm();
  twice.top.fields.push_back(Flag("again", "f", {}));
  CHECK(ValidateCommand(twice) == "command rm: short option -f is invalid or declared twice");
  Command long_twice = Rm();
  long_twice.top.fields.push_back(Flag("again", "", {"force"}));
  CHECK(ValidateCommand(long_twice) == "command rm: long option --force is invalid or declared twice");
  Command never = Rm();
  never.top.fields.back().max_count = 0;
  CHECK(ValidateCommand(never) == "command rm: operands targets can never be matched");
  Command no_choices = Rm();
  no_choices.top.fields[2].type.choices.clear();
  CHECK(ValidateCommand(no_choices) == "command rm: interactive has no choices");
  Command optional_int = Rm();
  optional_int.top.fields[2].type = ValueSpec{ValueType::kInt, {}};
  CHECK(ValidateCommand(optional_int) ==
        "command rm: option interactive reads \"\" without its optional value, which is not an int");
  Command same_name = Git();
  same_name.subcommands.push_back(same_name.subcommands.front());
  CHECK(ValidateCommand(same_name).find("subcommand push is declared twice") != std::string::npos);
  Command dash_name = Git();
  dash_name.subcommands.front().name = "-";
  CHECK(ValidateCommand(dash_name) == "command git: subcommand \"-\" needs a name that is not an option");
  Command flag_value = Rm();
  flag_value.top.fields[0].value = Value::kRequired;
  CHECK(ValidateCommand(flag_value) == "command rm: flag force takes a value");
}

}  // namespace
}  // namespace gov::argparse::command_test
