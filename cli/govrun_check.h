// govrun --check's JSON document (docs/govrun.md "govrun --check",
// docs/schemas/govrun-check.schema.json). Kept apart from cli/govrun.cpp so
// that JSON code stays out of the translation unit every run executes.
#pragma once

#include <string>
#include <vector>

#include "runtime/bundle/loader.h"
#include "runtime/exec/program.h"
#include "runtime/interp/interp.h"
#include "runtime/ir/ir.h"
#include "runtime/lineage/recorder.h"
#include "runtime/request/request.h"

namespace gov::govrun {

// What --check found besides the decision.
struct CheckReport {
  std::string outcome;   // what a real run would do: "run" | "refused" | "deny" | "ask"
  int exit_code = 0;     // this --check's exit code
  bool planned = false;  // the enforcement was planned (an allow, or an ask as if approved)
  bool enforceable = false;
  std::string failure;                         // why not, when planned and not enforceable
  std::vector<lineage::EnforcedLimit> limits;  // how, when enforceable
  std::vector<std::string> notices;            // what a real run notes on stderr before deciding
};

// The JSON document (version 1, 2-space indented, keys sorted, final
// newline). Every byte string (paths, args, names, reasons, messages) is a
// JSON string when valid UTF-8, else {"base64": …} (request/byte_string.h).
// `request` is in the JSON form of docs/request.md, except that `env` holds
// only the variables whose values the policy reads — enough for `govc eval`
// to reproduce the decision; the other names are listed in `env_withheld`
// (their values may be secrets, and stdout may be logged).
std::string CheckJson(const bundle::LoadedPolicy& policy, const request::Request& request, const exec::Program& program,
                      const interp::Explanation& explanation, const ir::Obligations& obligations,
                      const CheckReport& report);

}  // namespace gov::govrun
