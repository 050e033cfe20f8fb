// The back half of govc's pipeline: a checked policy lowered to the Decision
// IR with its test cases, compiled to native code, and packaged into a signed
// bundle (docs/bundle-format.md). Used by govc build / eval / test.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "compiler/codegen/codegen.h"
#include "compiler/driver/driver.h"
#include "compiler/lower/lower.h"
#include "runtime/bundle/build_tests.h"
#include "runtime/bundle/manifest.h"
#include "runtime/crypto/ed25519.h"
#include "runtime/ir/ir.h"
#include "runtime/support/error_or.h"

namespace gov::driver {

// govc's version string as recorded in bundles.
inline constexpr const char* kCompilerVersion = "govc 0.1.0";

// A policy file checked and lowered. `policy` and `tests` are meaningful
// only when `compilation->diagnostics` has no error.
struct LoweredPolicy {
  std::unique_ptr<Compilation> compilation;
  ir::Policy policy;
  std::vector<lower::LoweredTest> tests;

  bool ok() const { return !compilation->diagnostics.HasErrors(); }
};

// Compiles `path` (with its imports) and lowers its entry module. Tool
// failures are Errors; problems in the policy are diagnostics.
ErrorOr<LoweredPolicy> LowerPolicy(const std::string& path);

// The SHA-256 of every source file of the compilation (entry and imports),
// sorted by path.
std::vector<bundle::SourceFile> SourceDigests(const Compilation& compilation);

// What `govc build` does besides lowering.
struct BuildOptions {
  // Include native code (compiled through LLVM ORC) for `codegen.cpu`.
  bool native = true;
  codegen::Options codegen;
  // Unix seconds recorded as the bundle's creation time.
  std::int64_t created_unix = 0;
  // The policy's test results, recorded in the TESTS section (absent when
  // the build skipped the tests).
  std::optional<bundle::BuildTests> tests;
};

// Packages an ok() policy into a signed bundle (the whole .govb file).
ErrorOr<std::string> BuildBundle(const LoweredPolicy& lowered, const crypto::PrivateKey& key,
                                 const BuildOptions& options);

}  // namespace gov::driver
