// The decision fields of an authorization as replay re-derives them, and the
// environment names recorded in clear.
#include <algorithm>

#include "runtime/interp/interp.h"
#include "runtime/lineage/recorder.h"

namespace gov::lineage {

void AddPolicyEnvReads(const EnvReads& reads, Authorization& record) {
  if (reads.all) record.env_all_in_clear = true;
  for (const std::string& name : reads.names) record.env_in_clear.push_back(name);
}

}  // namespace gov::lineage

namespace gov::lineage {

std::vector<RecordedRule> RecordedRules(const interp::Explanation& explained) {
  std::vector<RecordedRule> recorded;
  for (const auto* part : {&explained.rules, &explained.obligation_rules}) {
    for (const interp::ExplainedRule& rule : *part) {
      const char* verdict = rule.verdict == ir::Verdict::kAllow ? "allow"
                            : rule.verdict == ir::Verdict::kAsk ? "ask"
                                                                : "deny";
      recorded.push_back(RecordedRule{rule.id, rule.name, verdict, rule.reason});
    }
  }
  return recorded;
}

void FillDecision(const interp::RuleLookup& rules, const EnvReads& reads, const gov_decision& decision,
                  Authorization& record) {
  interp::Explanation explained = interp::Explain(rules, decision);
  record.verdict = explained.verdict;
  record.error = decision.error == GOV_OK ? "" : interp::ErrorName(decision.error);
  record.rules = RecordedRules(explained);
  record.obligations = interp::MergeObligations(rules, decision);
  AddPolicyEnvReads(reads, record);
}

void FillDecision(const ir::Policy& policy, const gov_decision& decision, Authorization& record) {
  FillDecision(interp::RulesOf(policy), ir::EnvReadsOf(policy), decision, record);
}

}  // namespace gov::lineage
