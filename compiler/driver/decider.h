// What govc's subcommands decide with (native code checked against the IR
// interpreter, or the interpreter alone) and how they show obligations.
#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "compiler/codegen/codegen.h"
#include "runtime/abi/gov_abi.h"
#include "runtime/interp/interp.h"
#include "runtime/ir/ir.h"
#include "runtime/support/error_or.h"

namespace gov::driver {

// The deciding function of a lowered policy: JIT-compiled native code, or
// the interpreter.
class Decider {
 public:
  static ErrorOr<std::unique_ptr<Decider>> Create(const ir::Policy& policy, bool interp);

  // Decides with the chosen engine; with native code also with the
  // interpreter, and a disagreement is a tool failure (a compiler bug).
  ErrorOr<void> Decide(const gov_request& request, gov_decision& decision) const;

  const interp::PreparedPolicy& prepared() const { return *prepared_; }
  const char* engine() const { return jit_ != nullptr ? "native code (LLVM ORC JIT)" : "IR interpreter"; }

 private:
  Decider() = default;
  std::unique_ptr<interp::PreparedPolicy> prepared_;
  std::unique_ptr<codegen::JitPolicy> jit_;
};

// The obligations as `key = value` pairs in the language's spelling
// (`timeout = 10m`, `read = ["/work"]`), in the language's order.
std::vector<std::pair<std::string, std::string>> DescribeObligations(const ir::Obligations& obligations);

// `{ timeout = 10m, read = ["/work"] }`, `{}` for none.
std::string ObligationsText(const ir::Obligations& obligations);

// The obligations as JSON (`timeout_ms`, `memory_bytes`, `processes`,
// `network`, `read`, `write`, `env`, `capabilities`; absent when unset).
nlohmann::json ObligationsJson(const ir::Obligations& obligations);

}  // namespace gov::driver
