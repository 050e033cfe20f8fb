// Native code for a policy: Decision IR → LLVM IR → machine code through the
// LLVM ORC JIT (LLJIT). The generated function implements the decision ABI
// (runtime/abi/gov_abi.h) with exactly the semantics of the reference
// interpreter (runtime/interp, docs/ir.md). The machine code ORC produced is
// captured as an ELF object and linked into a flat code image so that `govc
// build` can ship it in a bundle and govrun can load it without LLVM.
// docs/codegen.md describes the generated code.
//
// Only this library (gov_codegen) includes LLVM headers; this header does not.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "runtime/abi/gov_abi.h"
#include "runtime/ir/ir.h"
#include "runtime/support/error_or.h"

namespace gov::codegen {

// Bytes of the per-decision scratch arena for computed strings
// (GOV_SCRATCH_BYTES of the common semantics; equals interp::kScratchBytes).
inline constexpr std::size_t kScratchBytes = 65536;
// Deepest node nesting the code generator accepts (the interpreter's limit).
inline constexpr int kMaxDepth = 10000;

// The default optimization level: 2 (rules of one shape share code, so
// compile time grows with distinct shapes, not rules).
inline constexpr int kAutoOptLevel = -1;

// How to compile.
struct Options {
  // Target CPU. Empty: a conservative CPU so that bundles run on similar
  // machines ("x86-64-v2" on x86-64, "generic" elsewhere). "host": this
  // machine's CPU and all of its features. Anything else: an LLVM CPU name.
  std::string cpu;
  // Optimization: 0 (no IR passes, fast instruction selection), 1 (SROA,
  // EarlyCSE, InstCombine, SimplifyCFG, fast instruction selection), 2 (the
  // inliner, then those passes with GVN and a second InstCombine/SimplifyCFG
  // round; full instruction selection; docs/codegen.md), or kAutoOptLevel (2).
  int opt_level = kAutoOptLevel;
  // Also link NativeCode::image (govc's own linker, compiler/codegen/link.h;
  // no subprocess). govc eval/test only need the in-process function and
  // may skip it.
  bool link_image = true;
  // Upper bound on expression nodes emitted, counting a node once per use
  // (the IR is a DAG; the code is a tree) and each distinct rule shape as 4
  // more nodes; rules of one shape are emitted once. Bounds compile time
  // (about 1 ms of CPU per node at worst). The rule conditions expanded to
  // trees may count 100 times this in total (shape keys are built for all).
  std::uint64_t max_emitted_nodes = 100'000;
};

// What `govc build` packages into a bundle.
struct NativeCode {
  // The ELF relocatable object ORC compiled (captured from its compile step).
  std::string object;
  // The same code linked into a bundle's native code image
  // (runtime/bundle/image.h) whose entry point is `gov_decide` (empty when
  // Options::link_image is false).
  std::string image;
  // LLVM target triple, e.g. "x86_64-pc-linux-gnu".
  std::string target_triple;
  // LLVM CPU name the code was compiled for, e.g. "x86-64-v2".
  std::string cpu;
  // The CPU features the code may use, as LLVM feature names: "+a,+b,..."
  // sorted (only features the host's feature detection knows; tuning flags
  // are not listed). A loader runs the code only if the CPU has them all.
  std::string cpu_features;
};

// A policy compiled into this process, for govc eval/test and differential
// tests. Immutable after Compile; decide() may be called from many threads.
class JitPolicy {
 public:
  // Compiles `policy` (which must pass ir::Validate) for this machine's
  // architecture. Errors: invalid IR, limits exceeded, LLVM failures, a CPU
  // this machine cannot run, the linker failing.
  static ErrorOr<std::unique_ptr<JitPolicy>> Compile(const ir::Policy& policy, const Options& options = {});

  ~JitPolicy();
  JitPolicy(const JitPolicy&) = delete;
  JitPolicy& operator=(const JitPolicy&) = delete;

  // The native decision function (valid while this object lives). It calls
  // helpers (see DefaultHelpers in runtime/abi/helpers.h) for path operations.
  gov_decide_fn decide() const { return decide_; }
  // decide() with the default helpers, as the code image it is (arg_read
  // then finds its command tables by address: abi::CodeImageScope).
  std::uint32_t Decide(const gov_request& request, gov_decision& decision) const;
  // The compiled code for a bundle.
  const NativeCode& native() const { return native_; }

 private:
  struct Impl;
  JitPolicy();

  std::unique_ptr<Impl> impl_;
  gov_decide_fn decide_ = nullptr;
  std::uint64_t image_id_ = 0;
  NativeCode native_;
};

// The LLVM IR (text) the code generator emits for `policy`, before and after
// optimization; for docs, debugging and tests.
ErrorOr<std::string> EmitLlvmIr(const ir::Policy& policy, bool optimized, const Options& options = {});

}  // namespace gov::codegen
