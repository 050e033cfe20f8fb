// Internal to gov_codegen: lowering of a Decision IR policy to an LLVM module
// (unoptimized; optimization runs in the JIT's IR transform layer).
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "runtime/ir/ir.h"
#include "runtime/support/error_or.h"

namespace llvm {
class LLVMContext;
class Module;
}  // namespace llvm

namespace gov::codegen::internal {

// The name of the one external function of every generated module.
inline constexpr const char* kDecideSymbol = "gov_decide";

// Builds a module in `context` for the target described by `triple` and
// `data_layout` that defines `gov_decide` (runtime/abi/gov_abi.h) for
// `policy`. Fails when the policy does not pass ir::Validate, nests deeper
// than kMaxDepth, or expands to more than `max_emitted_nodes` nodes.
ErrorOr<std::unique_ptr<llvm::Module>> EmitModule(const ir::Policy& policy, llvm::LLVMContext& context,
                                                  const std::string& triple, const std::string& data_layout,
                                                  std::uint64_t max_emitted_nodes);

}  // namespace gov::codegen::internal
