// Lowering: a checked policy (compiler/check) → the Decision IR
// (runtime/ir). The entry module's rules become IR rules; imported modules
// contribute constants and functions only. Every constant is folded into a
// pool constant, every `def` call is inlined, records are flattened into
// request fields, and each rule gets an index of the program paths or names
// it can match. docs/architecture.md ("Lowering") summarizes the mapping.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "compiler/check/check.h"
#include "compiler/diagnostics/diagnostic.h"
#include "compiler/source/source.h"
#include "runtime/ir/ir.h"
#include "runtime/request/request.h"

namespace gov::lower {

// Most expression nodes a lowered policy may have. Beyond it lowering stops
// with GOV2029 (TooLarge) on the rule being lowered.
inline constexpr std::size_t kMaxNodes = 1'000'000;

// Knobs of the lowering; every product path uses the defaults.
struct LowerOptions {
  // Most nodes (and n-ary operand entries) the IR may have.
  std::size_t max_nodes = kMaxNodes;
};

// Lowers the entry module of `program` (which must have no check errors).
// Problems found while lowering (the size limit, a context field an imported
// module reads but the entry does not declare) are reported to `diagnostics`;
// when any is reported the returned policy is incomplete and must not be used.
ir::Policy Lower(const check::Program& program, diagnostics::Collector& diagnostics, const LowerOptions& options = {});

// One `exec [...] => verdict by rules` case of the entry module, as data.
struct LoweredTest {
  std::string block;         // the `test "..."` block's name
  source::Span span;         // the whole case
  request::Request request;  // the request the case describes, defaults filled in
  ir::Verdict expected = ir::Verdict::kDeny;
  std::vector<std::uint32_t> by_rules;  // ids (index in ir::Policy::rules) of the `by` rules, ascending
  std::vector<std::string> by_names;    // the `by` rule names as written
  bool by_exact = false;                // `by` without `and others`: exactly these rules decide
  std::vector<std::uint32_t> not_by_rules;     // `not by`: ids of rules that must not decide
  std::vector<std::string> not_by_names;       // as written
  std::optional<ir::Obligations> obligations;  // `with { ... }`: exactly the obligations that apply
};

// A rule's (or a test case's) checked obligations as the IR holds them.
ir::Obligations LowerObligations(const std::vector<check::CheckedObligation>& obligations);

// The test cases of the entry module, in source order. Defaults (docs/request.md):
// cwd "/", env {}, user {name "user", uid 1000, gid 1000, groups []}, host
// "localhost", time 2026-01-01T12:00:00Z, sha256 "sha256:" + 64 zeros, no
// parent; invoked path = argv[0] normalized, program path = the invoked path
// (or `via`), program name = its last segment, argv0 = argv[0] (or `argv0`),
// args = argv[1..]. Modifiers override the defaults; a
// `parent { ... }` modifier sets a parent whose unnamed fields are run_id
// "test-parent", depth 1, program "/".
std::vector<LoweredTest> LowerTests(const check::Program& program);

}  // namespace gov::lower
