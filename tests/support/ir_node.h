// Building IR nodes by hand in tests and fuzz targets: one node from its
// operation, result kind, operands and immediate (ir.h Node).
#pragma once

#include <cstdint>

#include "runtime/ir/ir.h"

namespace gov::test_support {

inline ir::Node Node(ir::Op op, ir::Kind kind, std::uint32_t a = ir::kNoNode, std::uint32_t b = ir::kNoNode,
                     std::int64_t imm = 0, bool optional = false) {
  ir::Node n{};
  n.op = op;
  n.kind = kind;
  n.a = a;
  n.b = b;
  n.imm = imm;
  n.optional = optional;
  return n;
}

}  // namespace gov::test_support
