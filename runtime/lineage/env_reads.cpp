// Which environment values a policy can read (a conservative scan of the IR),
// and the decision fields of an authorization as replay re-derives them.
#include <algorithm>

#include "runtime/interp/interp.h"
#include "runtime/lineage/recorder.h"

namespace gov::lineage {

EnvReads EnvReadByPolicy(const ir::Policy& policy) {
  EnvReads reads;
  const auto& nodes = policy.nodes;
  auto is_env = [&](std::uint32_t index) {
    return index < nodes.size() && nodes[index].op == ir::Op::kField &&
           nodes[index].imm == static_cast<std::int64_t>(ir::Field::kEnv);
  };
  for (std::uint32_t i = 0; i < nodes.size(); ++i) {
    const ir::Node& node = nodes[i];
    if (static_cast<int>(node.op) <= static_cast<int>(ir::Op::kLocal)) continue;  // leaves
    if (node.op == ir::Op::kAnd || node.op == ir::Op::kOr) {
      for (std::uint64_t k = node.a; k < static_cast<std::uint64_t>(node.a) + node.b && k < policy.operands.size();
           ++k) {
        if (is_env(policy.operands[k])) reads.all = true;
      }
      continue;
    }
    const std::uint32_t operands[3] = {node.a, node.b, node.c};
    for (int slot = 0; slot < 3; ++slot) {
      if (operands[slot] == ir::kNoNode || !is_env(operands[slot])) continue;
      bool names_only = false;
      switch (node.op) {
        case ir::Op::kHasKey:  // key in env: names only
          names_only = slot == 1;
          break;
        case ir::Op::kLen:  // number of variables
          names_only = slot == 0;
          break;
        case ir::Op::kAny:  // iterate names; the body sees names, not values
        case ir::Op::kAll:
          names_only = slot == 0;
          break;
        case ir::Op::kMapGet: {
          const std::uint32_t key = node.b;
          if (slot == 0 && key < nodes.size() && nodes[key].op == ir::Op::kConstStr &&
              nodes[key].a < policy.strings.size()) {
            reads.names.push_back(policy.strings[nodes[key].a]);
            names_only = true;  // accounted for by name
          }
          break;
        }
        default:
          break;
      }
      if (!names_only) reads.all = true;
    }
  }
  std::sort(reads.names.begin(), reads.names.end());
  reads.names.erase(std::unique(reads.names.begin(), reads.names.end()), reads.names.end());
  return reads;
}

void AddPolicyEnvReads(const ir::Policy& policy, Authorization& record) {
  EnvReads reads = EnvReadByPolicy(policy);
  if (reads.all) record.env_all_in_clear = true;
  for (auto& name : reads.names) record.env_in_clear.push_back(std::move(name));
}

}  // namespace gov::lineage

namespace gov::lineage {

void FillDecision(const ir::Policy& policy, const gov_decision& decision, Authorization& record) {
  interp::Explanation explained = interp::Explain(policy, decision);
  record.verdict = explained.verdict;
  record.error = decision.error == GOV_OK ? "" : interp::ErrorName(decision.error);
  record.rules.clear();
  for (const auto& rule : explained.rules) {
    const char* verdict = rule.verdict == ir::Verdict::kAllow ? "allow" : rule.verdict == ir::Verdict::kAsk ? "ask" : "deny";
    record.rules.push_back(RecordedRule{rule.id, rule.name, verdict, rule.reason});
  }
  record.obligations = interp::MergeObligations(policy, decision);
  AddPolicyEnvReads(policy, record);
}

}  // namespace gov::lineage
