// The Claude Code PreToolUse hook adapter (see claude_code.h). The contract
// followed is Claude Code's hooks reference (docs/integrations.md cites it):
// input on stdin as a JSON object with "hook_event_name", "tool_name",
// "tool_input" and "cwd"; output on stdout as
// {"hookSpecificOutput": {"hookEventName": "PreToolUse", "permissionDecision":
// ..., "permissionDecisionReason": ..., "updatedInput": ...}} with exit 0;
// exit 2 blocks the tool call with stderr as the reason. nlohmann-json's
// exceptions stay inside this file.
#include "runtime/hook/claude_code.h"

#include <exception>
#include <nlohmann/json.hpp>
#include <utility>

#include "runtime/hook/shell_words.h"
#include "runtime/support/json_depth.h"

namespace gov::hook {
namespace {

// Keeps the order of the tool input's fields in updatedInput.
using Json = nlohmann::ordered_json;

constexpr int kMaxDepth = 64;

HookOutput Block(const std::string& why) {
  return HookOutput{kExitBlock, "", "govrun hook claude-code: " + why + "; the tool call is blocked\n"};
}

std::string Summary(const CommandDecision& decision, std::string_view verdict) {
  if (decision.rule.empty()) {
    return std::string(verdict) + (decision.reason.empty() ? "" : ": " + decision.reason);
  }
  return std::string(verdict) + " by " + decision.rule + (decision.reason.empty() ? "" : " (" + decision.reason + ")");
}

std::string Decision(const std::string& decision, const std::string& reason, const Json* updated_input) {
  Json specific = Json::object();
  specific["hookEventName"] = "PreToolUse";
  specific["permissionDecision"] = decision;
  specific["permissionDecisionReason"] = reason;
  if (updated_input != nullptr) {
    specific["updatedInput"] = *updated_input;
  }
  Json output = Json::object();
  output["hookSpecificOutput"] = std::move(specific);
  // The input was valid UTF-8 JSON, so every string is: strict is safe.
  return output.dump(-1, ' ', false, Json::error_handler_t::strict) + "\n";
}

bool IsBlank(std::string_view text) {
  return text.find_first_not_of(" \t\r\n") == std::string_view::npos;
}

HookOutput Run(std::string_view input, const SessionOptions& options, Decider& decider) {
  if (JsonNestsDeeperThan(input, kMaxDepth))
    return Block("the hook input nests deeper than " + std::to_string(kMaxDepth) + " levels");
  Json root;
  try {
    root = Json::parse(input);
  } catch (const Json::exception& error) {
    return Block(std::string("the hook input is not valid JSON: ") + error.what());
  }
  if (!root.is_object()) return Block("the hook input is not a JSON object");
  const auto event = root.find("hook_event_name");
  if (event == root.end() || !event->is_string()) return Block("the hook input has no string \"hook_event_name\"");
  if (event->get_ref<const std::string&>() != "PreToolUse") {
    return Block("this hook handles PreToolUse events, not \"" + event->get<std::string>() +
                 "\" (register it under \"PreToolUse\")");
  }
  const auto tool = root.find("tool_name");
  if (tool == root.end() || !tool->is_string()) return Block("the hook input has no string \"tool_name\"");
  if (tool->get_ref<const std::string&>() != "Bash") {
    // Not a shell command: nothing for the policy to decide here.
    return HookOutput{};
  }
  const auto tool_input = root.find("tool_input");
  if (tool_input == root.end() || !tool_input->is_object()) {
    return Block("the Bash tool call has no object \"tool_input\"");
  }
  const auto command_field = tool_input->find("command");
  if (command_field == tool_input->end() || !command_field->is_string()) {
    return Block("the Bash tool call has no string \"tool_input.command\"");
  }
  const std::string& command = command_field->get_ref<const std::string&>();
  if (IsBlank(command)) return Block("the Bash command is empty");
  if (command.find('\0') != std::string::npos) {
    return Block("the Bash command contains a NUL byte, which no shell command can hold");
  }
  std::string cwd;
  if (const auto cwd_field = root.find("cwd"); cwd_field != root.end()) {
    if (!cwd_field->is_string()) return Block("the hook input's \"cwd\" is not a string");
    cwd = cwd_field->get<std::string>();
  }

  auto ready = decider.Ready();
  if (!ready.ok()) return Block("the policy cannot be used: " + ready.error().message);
  const std::string& config = ready.value();
  // The early explanation: the first simple command's program, when this
  // reader understands the text. Never trusted: the session decides.
  std::optional<CommandDecision> early;
  if (auto words = FirstSimpleCommand(command)) {
    auto decided = decider.Decide(*words, cwd);
    if (!decided.ok()) return Block("cannot decide the command's first program: " + decided.error().message);
    early = std::move(decided).value();
  }
  if (early && early->verdict == Verdict::kDeny) {
    return HookOutput{0,
                      Decision("deny",
                               "govrun: " + Summary(*early, "deny") + ": the policy denies " + early->program +
                                   ", the first program of this command; nothing was run",
                               nullptr),
                      ""};
  }

  Json updated = *tool_input;
  updated["command"] = SessionCommand(command, options, config);
  std::string reason =
      "govrun: this command runs inside a governed session (govrun --session): the signed policy decides every "
      "program it executes";
  if (early && early->verdict == Verdict::kAsk) {
    reason += "; the policy asks before running " + early->program + " (" + Summary(*early, "ask") + ")";
  }
  return HookOutput{0, Decision("ask", reason, &updated), ""};
}

}  // namespace

std::string SessionCommand(std::string_view command, const SessionOptions& options, std::string_view config) {
  std::string out = ShellQuote(options.govrun) + " --session";
  if (!config.empty()) {
    out += " --config " + ShellQuote(config);
  }
  for (const std::string& item : options.context) {
    out += " --context " + ShellQuote(item);
  }
  out += " -- /bin/bash -c " + SingleQuote(command);
  return out;
}

HookOutput RunClaudeCodeHook(std::string_view input, const SessionOptions& options, Decider& decider) {
  try {
    return Run(input, options, decider);
  } catch (const std::exception& error) {
    return Block(std::string("internal error: ") + error.what());
  } catch (...) {
    return Block("internal error");
  }
}

}  // namespace gov::hook
