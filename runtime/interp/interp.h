// The reference interpreter of the Decision IR: it defines what a decision
// means. Native code generated from the same IR must produce the same
// gov_decision for every request (see docs/ir.md and docs/abi.md). Used by
// govc eval/test, by govrun when a bundle has no code for this CPU, and by
// govverify to replay decisions.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "runtime/abi/gov_abi.h"
#include "runtime/argparse/command.h"
#include "runtime/ir/ir.h"
#include "runtime/pattern/pattern.h"
#include "runtime/support/error_or.h"

namespace gov::interp {

// Bytes of scratch memory one rule evaluation may use for computed strings
// (the GOV_SCRATCH_BYTES of the common semantics; see docs/ir.md "Scratch").
inline constexpr std::size_t kScratchBytes = 65536;
// Deepest node nesting the interpreter evaluates; deeper ⇒ GOV_ERR_INTERNAL.
inline constexpr int kMaxEvalDepth = 10000;

// A policy made ready for repeated decisions: validated, pattern automata
// deserialized, and the rule index built. Immutable after creation; Decide
// may be called on one PreparedPolicy from many threads at once.
class PreparedPolicy {
 public:
  // Validates `policy` (ir::Validate), deserializes its pattern automata and
  // indexes its rules. Fails with the first problem found.
  static ErrorOr<PreparedPolicy> Create(ir::Policy policy);

  // The policy this was prepared from.
  const ir::Policy& policy() const { return policy_; }
  // The automaton of pattern pool entry `index`.
  const pattern::Dfa& dfa(std::size_t index) const { return dfas_[index]; }
  // Rule ids (ascending) indexed under a program path / name; null if none.
  const std::vector<std::uint32_t>* RulesForPath(std::string_view path) const;
  const std::vector<std::uint32_t>* RulesForName(std::string_view name) const;
  // Rule ids (ascending) whose index is empty: checked for every request.
  const std::vector<std::uint32_t>& unindexed_rules() const { return unindexed_; }
  // Command `index` of the policy, with its option tables built.
  const argparse::PreparedCommand& command(std::size_t index) const { return commands_[index]; }

 private:
  PreparedPolicy() = default;

  ir::Policy policy_;
  std::vector<pattern::Dfa> dfas_;
  std::unordered_map<std::string, std::vector<std::uint32_t>> by_path_;
  std::unordered_map<std::string, std::vector<std::uint32_t>> by_name_;
  std::vector<std::uint32_t> unindexed_;
  std::vector<argparse::PreparedCommand> commands_;
};

// How one rule fared on one request, for explanations (`govc eval`): whether
// the rule index makes it a candidate, and which top-level conjunct of its
// condition (the whole condition when it is not an `and`) made it not match.
struct RuleTrace {
  static constexpr std::uint32_t kNone = 0xffffffffu;
  bool candidate = false;  // the index selects it for this request
  bool matched = false;    // its condition holds (regardless of the index)
  std::uint32_t conjuncts = 0;
  // The first false conjunct (0-based), else the first erring one, else kNone.
  std::uint32_t first_failing = kNone;
  std::uint32_t error = GOV_OK;  // the error of `first_failing`, if it erred
};

// Evaluates rule `rule_id`'s condition conjunct by conjunct on `request`.
// For explanations only; Decide alone defines decisions.
RuleTrace TraceRule(const PreparedPolicy& prepared, const gov_request& request, std::uint32_t rule_id);

// Evaluates Bool node `node` on `request` with an empty scratch arena, as a
// rule condition is evaluated; a node reading a quantifier variable errs
// (GOV_ERR_INTERNAL), as does a node that is not Bool. For analyses (govc
// diff learns what tests it does not model were for a request); Decide
// alone defines decisions.
std::uint32_t EvaluateBool(const PreparedPolicy& prepared, const gov_request& request, std::uint32_t node, bool& value);

// Knobs for tests; the defaults are what every product path uses.
struct DecideOptions {
  // Skip rules whose index excludes the request (results are identical
  // either way; tests compare both).
  bool use_index = true;
};

// Decides `request` under `prepared`, writing every field of `decision`
// but rules[rule_count..] (unspecified, docs/abi.md), and returns the verdict
// (gov_verdict).
// Implements the semantics of docs/ir.md exactly; never throws.
std::uint32_t Decide(const PreparedPolicy& prepared, const gov_request& request, gov_decision& decision,
                     const DecideOptions& options = {});

// True when two decisions agree on every meaningful field: verdict, error,
// error_rule, rule_count, deciding_count, rules[0..rule_count), scalar
// obligations.
bool SameDecision(const gov_decision& a, const gov_decision& b);

// Rule `id`'s record, or null when the policy has no such rule: where
// MergeObligations and Explain read the rules a decision names. govrun's
// reads them one by one from the bundle (bundle::LoadedPolicy::RulesOf)
// instead of decoding every rule.
using RuleLookup = std::function<const ir::Rule*(std::uint32_t id)>;
// The lookup over a decoded policy's rules.
RuleLookup RulesOf(const ir::Policy& policy);

// A few rule records by id (those a decision names), and the lookup over
// them (valid while the subset lives where it is).
struct RuleSubset {
  std::vector<std::pair<std::uint32_t, ir::Rule>> rules;
  RuleLookup lookup() const;
};

// Makes a decision that would run a program under rules the policy does not
// define fail closed: an allow or an ask (without error) whose rule list is
// empty, names an id `rules` does not know, or names a rule whose verdict
// does not fit its place (deciding rules: the decision's verdict; an ask's
// obligation rules: allow) becomes a deny with GOV_ERR_INTERNAL and no rules
// — so no rule's obligations can be skipped. Returns true when it changed
// `decision`. govrun applies it to every decision before acting on it.
bool DenyUnknownRules(const RuleLookup& rules, gov_decision& decision);

// The obligations a decision imposes: for an allow or an ask without error,
// the merge over rules[0..rule_count) — an allow's deciding rules; an ask's
// ask rules and the matching allow rules listed after them, which apply if
// the ask is approved (scalars: minimum of set limits, narrowest network;
// read/write: intersection of path-prefix sets; create: intersection of
// what may be created, without what `write` already grants; tmp: private
// when any rule asks for it; env and capabilities:
// intersection of names; lists no such rule sets stay unset). A deny or an
// error: no obligations.
ir::Obligations MergeObligations(const RuleLookup& rules, const gov_decision& decision);
ir::Obligations MergeObligations(const ir::Policy& policy, const gov_decision& decision);

// `obligations` as MergeObligations gives them for one rule that sets them:
// paths normalized with entries under another removed, names sorted and
// unique. Two sets are equivalent when their canonical forms are equal.
ir::Obligations CanonicalObligations(const ir::Obligations& obligations);

// Intersection of two path-prefix sets (each path permits itself and all
// below it): the deeper of every comparable pair, normalized, sorted, unique,
// entries lying under another entry removed. Exposed for tests and lineage.
std::vector<std::string> IntersectPrefixSets(const std::vector<std::string>& a, const std::vector<std::string>& b);

// "allow", "deny", "ask" (or "invalid") for a gov_verdict value.
const char* VerdictName(std::uint32_t verdict);
// "ok", "overflow", "division by zero", "scratch exhausted", "bad request",
// "too many rules", "internal error" (or "unknown error") for a gov_error value.
const char* ErrorName(std::uint32_t error);

// One deciding (or erring) rule, for messages and lineage records.
struct ExplainedRule {
  std::uint32_t id = GOV_NO_RULE;
  std::string name;
  ir::Verdict verdict = ir::Verdict::kDeny;
  std::string reason;  // the `because` text, may be empty
};

// A decision in words.
struct Explanation {
  std::string verdict;               // VerdictName
  std::string error;                 // empty without error, else ErrorName
  std::vector<ExplainedRule> rules;  // the deciding rules (or the erring rule)
  // For an ask: the matching allow rules, whose obligations apply (with the
  // ask rules' own) if the ask is approved. Empty for any other decision.
  std::vector<ExplainedRule> obligation_rules;
  // One line, e.g. `allow by git_read (read-only git)`, `deny: no rule allows`,
  // `deny: rule build failed: integer overflow`, `ask by push (leaves the
  // machine); if approved, the obligations of build also apply`.
  std::string summary;
};

// Explains `decision`, made under a policy whose rules `rules` finds (or
// under `policy`). Rule ids it does not find are skipped.
Explanation Explain(const RuleLookup& rules, const gov_decision& decision);
Explanation Explain(const ir::Policy& policy, const gov_decision& decision);

}  // namespace gov::interp
