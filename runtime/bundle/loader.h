// Loading a signed policy bundle for deciding: verify (signature first, see
// bundle.h), decode and validate the IR, then run the bundle's native code if
// it was built for this machine — its verified code image copied into a
// private mapping, fixups applied, code read+execute and data read-only, no
// dynamic linker — or else the IR interpreter. Any failure is an Error:
// callers deny.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/abi/gov_abi.h"
#include "runtime/bundle/bundle.h"
#include "runtime/bundle/manifest.h"
#include "runtime/crypto/ed25519.h"
#include "runtime/interp/interp.h"
#include "runtime/ir/ir.h"
#include "runtime/ir/serialize.h"
#include "runtime/support/error_or.h"

namespace gov::bundle {

// How to load.
struct LoadOptions {
  // Fail unless the bundle's native code is used (no interpreter fallback).
  bool require_native = false;
  // Never run native code; always the interpreter (govverify replay, tests).
  bool allow_native = true;
  // Prepare the interpreter's form (prepared()) at load even when native
  // code decides, so that its failures are load errors (govc eval, which
  // explains decisions). Without it, native loads prepare on first use.
  bool prepare_interpreter = false;
  // Decode and validate the whole IR at load (ir::Deserialize). govrun turns
  // this off: when native code decides, it needs only view() and RulesOf(),
  // and decoding every rule and node would be most of its load time. The
  // signature covers every byte either way; what is deferred is decoding
  // and validating the parts only the interpreter reads, until policy() or
  // Prepare() is first called. The interpreter deciding implies decoding.
  bool decode_ir = true;
  // Map native code through a sealed memfd (the fast path). False forces the
  // anonymous-mapping fallback the loader otherwise uses only when memfds
  // cannot be mapped executable (for tests).
  bool map_through_memfd = true;
};

// A verified policy ready to decide. Move-only; unloads its code when destroyed.
class LoadedPolicy {
 public:
  LoadedPolicy(LoadedPolicy&&) noexcept;
  LoadedPolicy& operator=(LoadedPolicy&&) noexcept;
  ~LoadedPolicy();

  // Decides `request` (native code or interpreter) and returns the verdict.
  // Thread-safe.
  std::uint32_t Decide(const gov_request& request, gov_decision& decision) const;

  // The decoded IR: made at load unless LoadOptions::decode_ir was off, else
  // on the first call (thread-safe); ends the process (fail closed, message
  // on stderr) if it does not decode — possible only for a bundle whose
  // trusted signer shipped malformed IR.
  const ir::Policy& policy() const;
  // What deciding needs of the IR without decoding it (context, env reads,
  // rule records by id): always available.
  const ir::PolicyView& view() const;
  // The records of the rules `decision` names (its deciding rules and its
  // erring rule), read through view(): what interp::Explain,
  // interp::MergeObligations and lineage::FillDecision need. An error when
  // one does not decode (callers deny).
  ErrorOr<interp::RuleSubset> RulesOf(const gov_decision& decision) const;
  // The manifest, the trusted key that signed the bundle, and "sha256:…" of
  // the whole bundle file.
  // The interpreter's form of the IR (for explanations and replay). Made at
  // load when the interpreter decides or LoadOptions::prepare_interpreter is
  // set; otherwise on the first call (thread-safe). Prepare() reports a
  // failure; prepared() ends the process (fail closed, message on stderr)
  // instead of returning without one — possible only for a bundle whose
  // trusted signer shipped pattern automata that do not decode.
  ErrorOr<const interp::PreparedPolicy*> Prepare() const;
  const interp::PreparedPolicy& prepared() const;
  const Manifest& manifest() const;
  const crypto::PublicKey& signer() const;
  const std::string& digest() const;

  // True when decisions run the bundle's native code.
  bool native() const;
  // One line on which engine decides and why, e.g. "native code for
  // x86_64-pc-linux-gnu (x86-64-v2)" or "IR interpreter: the code needs CPU
  // feature avx512f, which this CPU lacks".
  const std::string& engine() const;

 private:
  struct State;
  // LoadBundle of `bytes`, or of the whole bundle file `*file`, which the
  // policy then keeps (LoadBundleFile: no copy of the IR).
  static ErrorOr<LoadedPolicy> Load(std::string_view bytes, std::string* file,
                                    const std::vector<crypto::PublicKey>& trusted, const LoadOptions& options);
  friend ErrorOr<LoadedPolicy> LoadBundle(std::string_view, const std::vector<crypto::PublicKey>&, const LoadOptions&);
  friend ErrorOr<LoadedPolicy> LoadBundleFile(const std::string&, const std::vector<crypto::PublicKey>&,
                                              const LoadOptions&);
  explicit LoadedPolicy(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

// Verifies and loads `bytes` (a whole .govb file).
ErrorOr<LoadedPolicy> LoadBundle(std::string_view bytes, const std::vector<crypto::PublicKey>& trusted,
                                 const LoadOptions& options = {});

// Reads `path` (a regular file of at most kMaxBundleSize bytes, opened
// O_RDONLY|O_CLOEXEC) and loads it.
ErrorOr<LoadedPolicy> LoadBundleFile(const std::string& path, const std::vector<crypto::PublicKey>& trusted,
                                     const LoadOptions& options = {});

// Reads a whole bundle file (same checks as LoadBundleFile).
ErrorOr<std::string> ReadBundleFile(const std::string& path);

}  // namespace gov::bundle
