// NewAuthorization (authorization.h).
#include "runtime/session/authorization.h"

namespace gov::session {

lineage::Authorization NewAuthorization(const std::string& run_id, const std::string& parent_run_id,
                                        const bundle::LoadedPolicy& policy, const interp::RuleLookup& rules,
                                        const gov_decision& decision, const ir::Obligations& obligations,
                                        const exec::Program& program) {
  lineage::Authorization record;
  record.run_id = run_id;
  record.parent_run_id = parent_run_id;
  record.context_fields = policy.view().context();
  record.env_in_clear = obligations.env;
  if (program.is_script) {
    record.interpreter_path = program.interpreter.path;
    record.interpreter_sha256 = program.interpreter.sha256;
  }
  record.policy_digest = policy.digest();
  record.policy_name = policy.manifest().policy_name;
  record.policy_version = policy.manifest().policy_version;
  record.engine = policy.engine();
  // Verdict, error, rules, obligations and the env names the policy reads.
  lineage::FillDecision(rules, policy.view().env_reads(), decision, record);
  return record;
}

}  // namespace gov::session
