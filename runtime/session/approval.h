// Approval of an `ask` by a person at a terminal: the question (what would
// run, where, why the policy asks, the limits it would run under) and the
// dialog on a terminal govrun opened itself — the one-shot run's controlling
// terminal, or the terminal a session was given for approvals.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "runtime/interp/interp.h"
#include "runtime/ir/ir.h"
#include "runtime/request/request.h"
#include "runtime/support/error_or.h"

namespace gov::session {

// The obligations as one line of text: " timeout=600000ms write=[...]" or " none".
std::string ObligationsText(const ir::Obligations& obligations);

// The question of an approval prompt, ending in "Run it? [y/N] (Ns) ".
std::string ApprovalQuestion(const interp::Explanation& explanation, const request::Request& request,
                             const std::vector<std::string>& argv, const ir::Obligations& obligations,
                             std::int64_t timeout_ms);

// The question put to approvers through the lineage service (docs/govd.md
// "Approvals"), as JSON text: {"program","command","cwd","rules":[{"name",
// "reason"}],"limits","text"} — every string escaped for display (valid
// UTF-8, control and bidirectional characters as escapes); "text" is the
// terminal prompt's question.
std::string ApprovalQuestionJson(const interp::Explanation& explanation, const request::Request& request,
                                 const std::vector<std::string>& argv, const ir::Obligations& obligations,
                                 std::int64_t timeout_ms);

// Asks on `tty` (open read-write): discards every byte typed before the
// question is shown, writes it, and reads one line. "yes" for y/yes (any
// case), "timeout" when no line comes within `timeout_ms`, else "no" (also
// on hang-up and when SIGINT, SIGTERM, SIGHUP or SIGQUIT is pending — the
// caller keeps them blocked). "no-terminal" when the input cannot be
// flushed.
std::string AskOnTerminal(int tty, const std::string& question, std::int64_t timeout_ms);

// Opens `path` as a session's approval terminal (read-write, close-on-exec,
// not as a controlling terminal). Refused: a file that is not a terminal,
// and the terminal of govrun's standard input, output or error or its
// controlling terminal — the session's programs hold those and could answer.
ErrorOr<int> OpenApprovalTerminal(const std::string& path);

}  // namespace gov::session
