// The Claude Code PreToolUse hook adapter (`govrun hook claude-code`, issue
// 14 §3), as a pure function: the hook's JSON input and a Decider in, the
// hook's JSON output, stderr text and exit status out. It never executes the
// command: it either denies it early (the policy denies its first program)
// or rewrites the Bash tool's input so that the command runs inside
// `govrun --session`, where every program it executes is decided. Every
// failure blocks the tool call (exit 2). docs/integrations.md describes the
// contract followed and what it does and does not cover.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/support/error_or.h"

namespace gov::hook {

enum class Verdict { kAllow, kDeny, kAsk };

// The policy's decision about one command.
struct CommandDecision {
  Verdict verdict = Verdict::kDeny;
  std::string program;  // the program the policy judged (its resolved path)
  std::string rule;     // the deciding rule(s), "" when no rule decided
  std::string reason;   // their `because` text, or why no rule decided ("no rule allows")
};

// Decides commands with the configured policy.
class Decider {
 public:
  virtual ~Decider() = default;
  // Loads the configuration and the policy (and checks the --context
  // values). Called once for every Bash tool call, before anything else is
  // decided; an Error blocks the tool call. Returns the absolute path of the
  // configuration file it loaded: the session is given it as --config, so
  // that it decides under the same configuration ("" leaves the session to
  // govrun's search order).
  virtual ErrorOr<std::string> Ready() = 0;
  // Decides `argv` (argv[0] as typed) run in `cwd` ("" = the current
  // directory). std::nullopt when its program cannot be judged here (no
  // program by that name, or not executable: the session will report it);
  // an Error blocks the tool call.
  virtual ErrorOr<std::optional<CommandDecision>> Decide(const std::vector<std::string>& argv,
                                                         const std::string& cwd) = 0;
};

// What the rewritten command passes to `govrun --session` besides the
// configuration (Decider::Ready).
struct SessionOptions {
  std::string govrun;                // absolute path of govrun
  std::vector<std::string> context;  // --context KEY=VALUE items, in order
};

// What the hook prints and how it exits.
struct HookOutput {
  int exit_code = 0;
  std::string out;  // stdout: the hook's JSON output (empty: no decision)
  std::string err;  // stderr: the blocking reason when exit_code is 2
};

// The exit status that blocks a PreToolUse tool call; stderr is the reason
// Claude is shown.
constexpr int kExitBlock = 2;

// The shell command that runs `command` inside a governed session:
// `GOVRUN --session [--config CONFIG] [--context KV]... -- /bin/bash -c
// 'COMMAND'` (no --config when `config` is empty), every word shell-quoted
// so that bash passes COMMAND on byte for byte.
std::string SessionCommand(std::string_view command, const SessionOptions& options, std::string_view config);

// Runs the adapter on the hook's input (the JSON text Claude Code writes to
// the hook's stdin):
//   - not JSON, not an object, nesting deeper than 64 levels, no
//     "hook_event_name" "PreToolUse", no string "tool_name": block (exit 2);
//   - a tool other than "Bash": no output, exit 0 (pass-through);
//   - Bash without an object "tool_input" holding a non-empty string
//     "command" without NUL bytes, a Decider error: block (exit 2);
//   - the first simple command's program denied by the policy: exit 0 with
//     permissionDecision "deny" naming the rule and its reason;
//   - otherwise: exit 0 with permissionDecision "ask" and updatedInput = the
//     tool input with "command" replaced by SessionCommand (other fields
//     unchanged), so that Claude Code shows the user the governed command.
HookOutput RunClaudeCodeHook(std::string_view input, const SessionOptions& options, Decider& decider);

}  // namespace gov::hook
