// The authorization record of a decision, as one-shot govrun and the session
// supervisor both write it: the run and its parent, the request's context
// types, the `#!` interpreter, the policy's identity, and the decision
// derived exactly as govverify --replay derives it. The caller adds the
// request, the ask answer and whether the program runs.
#pragma once

#include <string>

#include "runtime/abi/gov_abi.h"
#include "runtime/bundle/loader.h"
#include "runtime/exec/program.h"
#include "runtime/interp/interp.h"
#include "runtime/ir/ir.h"
#include "runtime/lineage/recorder.h"

namespace gov::session {

lineage::Authorization NewAuthorization(const std::string& run_id, const std::string& parent_run_id,
                                        const bundle::LoadedPolicy& policy, const interp::RuleLookup& rules,
                                        const gov_decision& decision, const ir::Obligations& obligations,
                                        const exec::Program& program);

}  // namespace gov::session
