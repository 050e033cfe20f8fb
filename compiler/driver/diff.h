// govc diff: the requests two versions of a policy decide differently, as
// classes (a verdict or obligations under the old policy, another under the
// new one) each with a concrete example request that both policies were run
// on, and whether the list is proved complete (docs/diff.md).
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "compiler/analysis/space.h"
#include "runtime/ir/ir.h"
#include "runtime/request/request.h"
#include "runtime/support/error_or.h"

namespace gov::driver {

// One side of a difference: how one policy decided the example request.
struct DiffDecision {
  std::string verdict;                        // allow, deny, ask
  std::vector<std::string> rules;             // deciding rules (names)
  std::vector<std::string> obligation_rules;  // an ask's matching allow rules
  std::string summary;                        // interp::Explain's one line
  bool has_obligations = false;               // an allow, or an ask
  ir::Obligations obligations;                // merged (if approved, for an ask)
};

struct DiffClass {
  DiffDecision old_decision;
  DiffDecision new_decision;
  request::Request request;      // as the old policy reads it (its context declarations)
  request::Request new_request;  // the same request as the new policy reads it
};

struct DiffReport {
  std::vector<DiffClass> classes;
  // True when the search ran out of candidates with every test modelled
  // exactly and no budget reached: no other request is decided differently.
  bool proved = false;
  // Why not proved: tests the model leaves to the interpreter (by kind),
  // assignments the interpreter contradicted, budgets reached, the class cap.
  std::vector<std::string> opaque_kinds;
  std::size_t opaque_atoms = 0;
  std::size_t unresolved = 0;
  std::size_t budget_hits = 0;
  bool truncated = false;
  std::size_t searches = 0;
};

struct DiffOptions {
  analysis::Space::Limits limits;
  std::size_t max_classes = 100;
  // Candidates the interpreter may contradict (tests left to it) before the
  // search stops, unproved.
  std::size_t max_unresolved = 1000;
};

// Compares two lowered policies.
ErrorOr<DiffReport> DiffPolicies(const ir::Policy& old_policy, const ir::Policy& new_policy,
                                 const DiffOptions& options);

// Renderings: text for terminals, JSON (docs/schemas/govc-diff.schema.json),
// Markdown for pull-request comments.
std::string DiffText(const DiffReport& report, const ir::Policy& old_policy, const ir::Policy& new_policy);
nlohmann::json DiffJson(const DiffReport& report, const ir::Policy& old_policy, const ir::Policy& new_policy);
std::string DiffMarkdown(const DiffReport& report, const ir::Policy& old_policy, const ir::Policy& new_policy);

}  // namespace gov::driver
