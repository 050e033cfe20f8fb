// EnvReadsOf (see env_reads.h).
#include "runtime/ir/env_reads.h"

#include <algorithm>

namespace gov::ir {

EnvReads EnvReadsOf(const Policy& policy) {
  EnvReads reads;
  const auto& nodes = policy.nodes;
  auto is_env = [&](std::uint32_t index) {
    return index < nodes.size() && nodes[index].op == Op::kField &&
           nodes[index].imm == static_cast<std::int64_t>(Field::kEnv);
  };
  for (std::uint32_t i = 0; i < nodes.size(); ++i) {
    const Node& node = nodes[i];
    if (static_cast<int>(node.op) <= static_cast<int>(Op::kLocal)) continue;  // leaves
    if (node.op == Op::kAnd || node.op == Op::kOr) {
      for (std::uint64_t k = node.a; k < static_cast<std::uint64_t>(node.a) + node.b && k < policy.operands.size();
           ++k) {
        if (is_env(policy.operands[k])) reads.all = true;
      }
      continue;
    }
    // kArgField's c is a field number, not a node.
    const std::uint32_t operands[3] = {node.a, node.b, node.op == Op::kArgField ? kNoNode : node.c};
    for (int slot = 0; slot < 3; ++slot) {
      if (operands[slot] == kNoNode || !is_env(operands[slot])) continue;
      bool names_only = false;
      switch (node.op) {
        case Op::kHasKey:  // key in env: names only
          names_only = slot == 1;
          break;
        case Op::kLen:  // number of variables
          names_only = slot == 0;
          break;
        case Op::kAny:  // iterate names; the body sees names, not values
        case Op::kAll:
          names_only = slot == 0;
          break;
        case Op::kMapGet: {
          const std::uint32_t key = node.b;
          if (slot == 0 && key < nodes.size() && nodes[key].op == Op::kConstStr &&
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

}  // namespace gov::ir
