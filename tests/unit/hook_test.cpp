// Unit tests for runtime/hook: the Claude Code PreToolUse adapter with a fake
// decider (table-driven: the hook input Claude Code documents → stdout JSON
// and exit status), the first-simple-command reader, and the quoting of the
// rewritten command — which bash itself parses (and runs, through a stand-in
// govrun) to prove that the original command comes back byte for byte.
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "runtime/hook/claude_code.h"
#include "runtime/hook/shell_words.h"

namespace gov::hook {
namespace {

using Json = nlohmann::ordered_json;
using Words = std::vector<std::string>;

constexpr const char* kGovrun = "/usr/local/bin/govrun";
constexpr const char* kConfig = "/etc/gov/config.toml";

// Decides by argv[0]: `rm` is denied by a rule, `curl` by no rule, `git`
// asks, a name in `missing` has no program, anything else is allowed.
class FakeDecider final : public Decider {
 public:
  ErrorOr<std::string> Ready() override {
    ++ready_calls;
    if (!ready_error.empty()) return Error{ready_error};
    return std::string(kConfig);
  }
  ErrorOr<std::optional<CommandDecision>> Decide(const Words& argv, const std::string& cwd) override {
    calls.push_back(argv);
    cwds.push_back(cwd);
    if (!decide_error.empty()) return Error{decide_error};
    const std::string& name = argv.at(0);
    if (name == "missing") return std::optional<CommandDecision>();
    if (name == "rm") return std::optional<CommandDecision>({Verdict::kDeny, "/usr/bin/rm", "no_rm", "deletes files"});
    if (name == "curl") return std::optional<CommandDecision>({Verdict::kDeny, "/usr/bin/curl", "", "no rule allows"});
    if (name == "git")
      return std::optional<CommandDecision>({Verdict::kAsk, "/usr/bin/git", "push", "leaves the machine"});
    return std::optional<CommandDecision>({Verdict::kAllow, "/usr/bin/" + name, "tools", "test tools"});
  }

  std::string ready_error;
  std::string decide_error;
  int ready_calls = 0;
  std::vector<Words> calls;
  std::vector<std::string> cwds;
};

SessionOptions Options() {
  SessionOptions options;
  options.govrun = kGovrun;
  return options;
}

// A PreToolUse input as Claude Code's hooks reference shows it.
Json Input(const std::string& tool, const Json& tool_input) {
  Json input = Json::object();
  input["session_id"] = "abc123";
  input["transcript_path"] = "/home/dev/.claude/projects/repo/00893aaf.jsonl";
  input["cwd"] = "/work/repo";
  input["permission_mode"] = "default";
  input["hook_event_name"] = "PreToolUse";
  input["tool_name"] = tool;
  input["tool_input"] = tool_input;
  input["tool_use_id"] = "toolu_01ABC123";
  return input;
}

Json BashInput(const std::string& command) {
  return Input("Bash", Json{{"command", command}, {"description", "Run it"}, {"timeout", 120000}});
}

HookOutput RunHook(const std::string& input, FakeDecider& decider) {
  return RunClaudeCodeHook(input, Options(), decider);
}

Json Specific(const HookOutput& output) {
  INFO("stdout: " << output.out << "\nstderr: " << output.err);
  REQUIRE(output.exit_code == 0);
  REQUIRE(!output.out.empty());
  REQUIRE(output.out.back() == '\n');
  const Json parsed = Json::parse(output.out);
  REQUIRE(parsed.size() == 1);
  const Json& specific = parsed.at("hookSpecificOutput");
  CHECK(specific.at("hookEventName") == "PreToolUse");
  return specific;
}

// Runs `argv` (no shell in between), returns its exit status and stdout.
std::pair<int, std::string> Capture(const Words& argv) {
  int out[2];
  REQUIRE(pipe(out) == 0);
  const pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    dup2(out[1], 1);
    close(out[0]);
    close(out[1]);
    std::vector<char*> args;
    for (const std::string& arg : argv) args.push_back(const_cast<char*>(arg.c_str()));
    args.push_back(nullptr);
    execv(args[0], args.data());
    _exit(127);
  }
  close(out[1]);
  std::string text;
  char buffer[4096];
  ssize_t got = 0;
  while ((got = read(out[0], buffer, sizeof buffer)) > 0) text.append(buffer, static_cast<std::size_t>(got));
  close(out[0]);
  int status = 0;
  REQUIRE(waitpid(pid, &status, 0) == pid);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status), text};
}

// The words bash makes of `line` (a simple command), NUL-separated by printf.
Words BashWords(const std::string& line) {
  const auto [status, text] = Capture({"/bin/bash", "-c", "set -- " + line + "\nprintf '%s\\0' \"$@\""});
  REQUIRE(status == 0);
  Words words;
  std::size_t start = 0;
  for (std::size_t at = text.find('\0'); at != std::string::npos; at = text.find('\0', start)) {
    words.push_back(text.substr(start, at - start));
    start = at + 1;
  }
  REQUIRE(start == text.size());
  return words;
}

// Commands no shell-word reader should be trusted with.
const Words kHostile = {
    "it's",
    "'",
    "''",
    "'\\''",
    "\"'\"'\"'",
    "$(rm -rf /)",
    "`id`",
    "${HOME} $HOME $0 $1 $@ $*",
    "echo a\nrm -rf /\n",
    "\n\n",
    "\\",
    "a\\",
    "\\'",
    "!! !$ ^a^b",
    "\xff\xfe\x80 not UTF-8 \xc3\x28",
    "\x01\x1b[31m\x7f",
    "tab\there",
    "  leading and trailing  ",
    "%s\\0 %n",
    "--",
    "-c",
    "cat <<'EOF'\n$(x) `y` 'z'\nEOF\n",
    "a; b && c || d | e & f",
    "\xe2\x80\x8b zero width, \xf0\x9f\x92\xa5",
};

TEST_CASE("hook: a denied first program is denied early, naming the rule and its reason", "[hook]") {
  FakeDecider decider;
  const HookOutput output = RunHook(BashInput("rm -rf /tmp/x && echo done").dump(), decider);
  const Json specific = Specific(output);
  CHECK(specific.at("permissionDecision") == "deny");
  CHECK(specific.at("permissionDecisionReason") ==
        "govrun: deny by no_rm (deletes files): the policy denies /usr/bin/rm, the first program of this command; "
        "nothing was run");
  CHECK_FALSE(specific.contains("updatedInput"));
  CHECK(output.err.empty());
  REQUIRE(decider.calls.size() == 1);
  CHECK(decider.calls[0] == Words{"rm", "-rf", "/tmp/x"});
  CHECK(decider.cwds[0] == "/work/repo");
}

TEST_CASE("hook: a deny by no rule says so", "[hook]") {
  FakeDecider decider;
  const Json specific = Specific(RunHook(BashInput("curl https://example.com").dump(), decider));
  CHECK(specific.at("permissionDecision") == "deny");
  CHECK(specific.at("permissionDecisionReason") ==
        "govrun: deny: no rule allows: the policy denies /usr/bin/curl, the first program of this command; nothing "
        "was run");
}

TEST_CASE("hook: an allowed command is rewritten to run inside govrun --session", "[hook]") {
  FakeDecider decider;
  const Json input = BashInput("ls -la 'my dir'");
  const Json specific = Specific(RunHook(input.dump(), decider));
  CHECK(specific.at("permissionDecision") == "ask");
  CHECK(specific.at("permissionDecisionReason").get<std::string>().find("govrun --session") != std::string::npos);
  Json expected = input.at("tool_input");
  expected["command"] =
      "/usr/local/bin/govrun --session --config /etc/gov/config.toml -- /bin/bash -c 'ls -la '\\''my dir'\\'''";
  // Every other field, in its order, is unchanged.
  CHECK(specific.at("updatedInput") == expected);
  CHECK(specific.at("updatedInput").dump() == expected.dump());
  CHECK(decider.calls == std::vector<Words>{{"ls", "-la", "my dir"}});
}

TEST_CASE("hook: table of inputs, outputs and exit statuses", "[hook]") {
  struct Case {
    std::string name;
    std::string input;
    int exit_code;
    std::string decision;  // "" = no stdout
    std::string in_err;    // expected in stderr
    bool decided;          // the decider was asked about a first program
  };
  const Json no_command = Input("Bash", Json{{"description", "x"}});
  const Json number_command = Input("Bash", Json{{"command", 42}});
  Json no_event = BashInput("ls");
  no_event.erase("hook_event_name");
  Json post = BashInput("ls");
  post["hook_event_name"] = "PostToolUse";
  Json no_tool = BashInput("ls");
  no_tool.erase("tool_name");
  Json bad_cwd = BashInput("ls");
  bad_cwd["cwd"] = 7;
  Json no_cwd = BashInput("ls");
  no_cwd.erase("cwd");
  const std::string deep = std::string(100, '[') + std::string(100, ']');
  const std::vector<Case> cases = {
      {"deny early", BashInput("rm -rf /").dump(), 0, "deny", "", true},
      {"deny after blanks and blank lines", BashInput("\n  \trm x").dump(), 0, "deny", "", true},
      {"deny only judges the first simple command", BashInput("ls; rm -rf /").dump(), 0, "ask", "", true},
      {"allow is rewritten", BashInput("make -j8").dump(), 0, "ask", "", true},
      {"ask is rewritten", BashInput("git push").dump(), 0, "ask", "", true},
      {"no program by that name is rewritten", BashInput("missing --flag").dump(), 0, "ask", "", true},
      {"not understood: no early check, rewritten", BashInput("rm $(echo -rf) /").dump(), 0, "ask", "", false},
      {"a builtin: no early check", BashInput("cd /tmp && rm -rf x").dump(), 0, "ask", "", false},
      {"an assignment: no early check", BashInput("X=1 rm -rf x").dump(), 0, "ask", "", false},
      {"a redirection: no early check", BashInput("rm x 2>/dev/null").dump(), 0, "ask", "", false},
      {"no cwd is fine", no_cwd.dump(), 0, "ask", "", true},
      {"non-Bash tool passes through", Input("Write", Json{{"file_path", "/x"}, {"content", "y"}}).dump(), 0, "", "",
       false},
      {"non-Bash tool without tool_input passes through",
       R"({"hook_event_name":"PreToolUse","tool_name":"mcp__db__query"})", 0, "", "", false},
      {"malformed JSON", "{\"hook_event_name\": \"PreToolUse\", \"tool_name\": \"Bash\"", 2, "", "not valid JSON",
       false},
      {"empty input", "", 2, "", "not valid JSON", false},
      {"not UTF-8", "{\"hook_event_name\":\"PreToolUse\",\"tool_name\":\"Bash\",\"tool_input\":{\"command\":\"\xff\"}}",
       2, "", "not valid JSON", false},
      {"not an object", "[1, 2]", 2, "", "not a JSON object", false},
      {"nested too deep", deep, 2, "", "deeper than", false},
      {"no hook_event_name", no_event.dump(), 2, "", "hook_event_name", false},
      {"another event", post.dump(), 2, "", "PostToolUse", false},
      {"no tool_name", no_tool.dump(), 2, "", "tool_name", false},
      {"no tool_input", R"({"hook_event_name":"PreToolUse","tool_name":"Bash"})", 2, "", "tool_input", false},
      {"tool_input not an object", R"({"hook_event_name":"PreToolUse","tool_name":"Bash","tool_input":"ls"})", 2, "",
       "tool_input", false},
      {"no command", no_command.dump(), 2, "", "tool_input.command", false},
      {"command not a string", number_command.dump(), 2, "", "tool_input.command", false},
      {"empty command", BashInput("").dump(), 2, "", "empty", false},
      {"blank command", BashInput(" \n\t ").dump(), 2, "", "empty", false},
      {"NUL in the command", BashInput(std::string("ls\0rm", 5)).dump(), 2, "", "NUL", false},
      {"cwd not a string", bad_cwd.dump(), 2, "", "cwd", false},
  };
  for (const Case& c : cases) {
    DYNAMIC_SECTION(c.name) {
      FakeDecider decider;
      const HookOutput output = RunHook(c.input, decider);
      INFO("stdout: " << output.out << "\nstderr: " << output.err);
      CHECK(output.exit_code == c.exit_code);
      CHECK(decider.calls.empty() == !c.decided);
      if (c.decision.empty()) {
        CHECK(output.out.empty());
      } else {
        CHECK(Specific(output).at("permissionDecision") == c.decision);
      }
      if (c.exit_code == kExitBlock) {
        CHECK(output.err.starts_with("govrun hook claude-code: "));
        CHECK(output.err.find(c.in_err) != std::string::npos);
        CHECK(output.err.ends_with("the tool call is blocked\n"));
      } else {
        CHECK(output.err.empty());
      }
    }
  }
}

TEST_CASE("hook: a policy that cannot be loaded or decide blocks every Bash call", "[hook]") {
  SECTION("Ready fails") {
    FakeDecider decider;
    decider.ready_error = "policy bundle /etc/gov/p.govb: bad signature";
    for (const std::string command : {"ls", "rm -rf /", "$(x)"}) {
      const HookOutput output = RunHook(BashInput(command).dump(), decider);
      CHECK(output.exit_code == kExitBlock);
      CHECK(output.out.empty());
      CHECK(output.err.find("bad signature") != std::string::npos);
    }
    CHECK(decider.calls.empty());
    // Other tools do not need the policy.
    CHECK(RunHook(Input("Read", Json{{"file_path", "/x"}}).dump(), decider).exit_code == 0);
  }
  SECTION("Decide fails") {
    FakeDecider decider;
    decider.decide_error = "cannot enter the command's directory";
    const HookOutput output = RunHook(BashInput("ls").dump(), decider);
    CHECK(output.exit_code == kExitBlock);
    CHECK(output.out.empty());
    CHECK(output.err.find("cannot enter") != std::string::npos);
  }
}

TEST_CASE("hook: --context values and the configuration are forwarded, quoted", "[hook]") {
  SessionOptions options;
  options.govrun = "/opt/gov tools/govrun";
  options.context = {"ticket=CHG-1", "note=it's $HOME"};
  const std::string line = SessionCommand("make test", options, "/etc/gov/my config.toml");
  CHECK(line ==
        "'/opt/gov tools/govrun' --session --config '/etc/gov/my config.toml' --context ticket=CHG-1 --context "
        "'note=it'\\''s $HOME' -- /bin/bash -c 'make test'");
  CHECK(BashWords(line) == Words{"/opt/gov tools/govrun", "--session", "--config", "/etc/gov/my config.toml",
                                 "--context", "ticket=CHG-1", "--context", "note=it's $HOME", "--", "/bin/bash", "-c",
                                 "make test"});
  // No configuration: govrun's own search order.
  CHECK(SessionCommand("true", Options(), "") == "/usr/local/bin/govrun --session -- /bin/bash -c 'true'");
}

TEST_CASE("hook: bash reads the rewritten command back byte for byte", "[hook]") {
  for (const std::string& command : kHostile) {
    INFO("command: " << Json(command).dump(-1, ' ', true, Json::error_handler_t::replace));
    const Words words = BashWords(SessionCommand(command, Options(), kConfig));
    CHECK(words == Words{kGovrun, "--session", "--config", kConfig, "--", "/bin/bash", "-c", command});
    CHECK(BashWords(SingleQuote(command)) == Words{command});
    CHECK(BashWords(ShellQuote(command)) == Words{command});
  }
  // Through the hook's JSON: the updatedInput command parses back to the
  // original (valid UTF-8 only: JSON text is UTF-8).
  for (const std::string command : {"printf '%s\\n' \"$(date)\" `id` it's", "a\nb\r\nc", "caf\xc3\xa9 \xe6\x97\xa5"}) {
    FakeDecider decider;
    const Json specific = Specific(RunHook(BashInput(command).dump(), decider));
    const Words words = BashWords(specific.at("updatedInput").at("command").get<std::string>());
    REQUIRE(words.size() == 8);
    CHECK(words.back() == command);
  }
}

TEST_CASE("hook: the rewritten command runs the original command's very text", "[hook]") {
  // A stand-in for govrun that drops its options and executes what follows
  // `--`: the rewritten command must behave exactly like the original.
  char pattern[] = "/tmp/gov-hook-test-XXXXXX";
  REQUIRE(mkdtemp(pattern) != nullptr);
  const std::string dir = pattern;
  const std::string fake = dir + "/fake govrun";
  {
    std::ofstream out(fake);
    out << "#!/bin/bash\nwhile [ \"$1\" != -- ]; do shift; done\nshift\nexec \"$@\"\n";
  }
  REQUIRE(chmod(fake.c_str(), 0755) == 0);
  SessionOptions options;
  options.govrun = fake;
  const Words commands = {
      "printf '%s|' \"$(echo sub)\" `echo back` 'it'\\''s' \"$HOME\" \\$x",
      "printf '%s' 'line1\nline2'; echo; echo \"two\"",
      "x='\xff\xfe'; printf '%s' \"$x\" | od -An -tx1",
      "for i in 1 2; do printf '<%s>' \"$i\"; done",
      "cat <<'EOF'\n$(not run) `nor this`\nEOF",
      "printf '%s\\n' \"$0\" \"$#\"",
      "exit 3",
  };
  for (const std::string& command : commands) {
    INFO("command: " << command);
    const auto direct = Capture({"/bin/bash", "-c", command});
    const auto governed = Capture({"/bin/bash", "-c", SessionCommand(command, options, "")});
    CHECK(governed == direct);
  }
  std::filesystem::remove_all(dir);
}

TEST_CASE("shell words: the first simple command, or nothing when not understood", "[hook]") {
  const std::vector<std::pair<std::string, std::optional<Words>>> cases = {
      {"ls", Words{"ls"}},
      {"  ls   -la\t/tmp  ", Words{"ls", "-la", "/tmp"}},
      {"git commit -m 'fix: it works'", Words{"git", "commit", "-m", "fix: it works"}},
      {"git commit -m \"say \\\"hi\\\" \\\\ \\a\"", Words{"git", "commit", "-m", "say \"hi\" \\ \\a"}},
      {"echo2 a\\ b \\'c", Words{"echo2", "a b", "'c"}},
      {"rm ''", Words{"rm", ""}},
      {"rm a''b\"\"c", Words{"rm", "abc"}},
      {"rm 'a\nb'", Words{"rm", "a\nb"}},
      {"rm -rf /; echo", Words{"rm", "-rf", "/"}},
      {"rm x&&y", Words{"rm", "x"}},
      {"rm x & y", Words{"rm", "x"}},
      {"rm x|y", Words{"rm", "x"}},
      {"rm x\ny", Words{"rm", "x"}},
      {"/usr/bin/rm -- -x", Words{"/usr/bin/rm", "--", "-x"}},
      {"python3 -c 'print(1)'", Words{"python3", "-c", "print(1)"}},
      {"npm run build:prod --x=y,z@1%2+3", Words{"npm", "run", "build:prod", "--x=y,z@1%2+3"}},
      {"caf\xc3\xa9 \xff", Words{"caf\xc3\xa9", "\xff"}},
      {"", std::nullopt},
      {"   \n ", std::nullopt},
      {"; rm", std::nullopt},
      {"rm $HOME", std::nullopt},
      {"rm \"$HOME\"", std::nullopt},
      {"rm `x`", std::nullopt},
      {"rm \"`x`\"", std::nullopt},
      {"rm $(x)", std::nullopt},
      {"rm *", std::nullopt},
      {"rm a?", std::nullopt},
      {"rm [ab]", std::nullopt},
      {"rm {a,b}", std::nullopt},
      {"rm ~/x", std::nullopt},
      {"rm x # comment", std::nullopt},
      {"rm x > y", std::nullopt},
      {"rm x < y", std::nullopt},
      {"rm x &> y", std::nullopt},
      {"rm 'unterminated", std::nullopt},
      {"rm \"unterminated", std::nullopt},
      {"rm \\", std::nullopt},
      {"rm \\\nx", std::nullopt},
      {"rm \"a\\\nb\"", std::nullopt},
      {"rm \"!x\"", std::nullopt},
      {"(rm x)", std::nullopt},
      {"{ rm x; }", std::nullopt},
      {"! rm x", std::nullopt},
      {"X=1 rm x", std::nullopt},
      {"if true; then rm x; fi", std::nullopt},
      {"cd /; rm x", std::nullopt},
      {"exec rm x", std::nullopt},
      {"command rm x", std::nullopt},
      {"eval rm x", std::nullopt},
      {"echo x", std::nullopt},
      {"time rm x", std::nullopt},
      {"'' x", std::nullopt},
      {"rm\x01", std::nullopt},
  };
  for (const auto& [command, expected] : cases) {
    INFO("command: " << Json(command).dump(-1, ' ', true, Json::error_handler_t::replace));
    const auto words = FirstSimpleCommand(command);
    CHECK(words == expected);
    // Whatever it understood, bash splits the same way.
    if (words && command.find_first_of(";&|\n") == std::string::npos) {
      CHECK(BashWords(command) == *words);
    }
  }
}

TEST_CASE("shell words: quoting", "[hook]") {
  CHECK(ShellQuote("/usr/bin/govrun") == "/usr/bin/govrun");
  CHECK(ShellQuote("--context=a:b,c@d%e+f") == "--context=a:b,c@d%e+f");
  CHECK(ShellQuote("") == "''");
  CHECK(ShellQuote("a b") == "'a b'");
  CHECK(ShellQuote("^x") == "'^x'");
  CHECK(ShellQuote("caf\xc3\xa9") == "'caf\xc3\xa9'");
  CHECK(SingleQuote("it's") == "'it'\\''s'");
  CHECK(SingleQuote("") == "''");
}

}  // namespace
}  // namespace gov::hook
