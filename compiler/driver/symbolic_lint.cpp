// Symbolic lints: GOV3006 and GOV3008 proved over the decision space.
#include "compiler/driver/symbolic_lint.h"

#include <fmt/format.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "compiler/analysis/space.h"
#include "compiler/lower/lower.h"

namespace gov::driver {
namespace {

using diagnostics::Diagnostic;
using diagnostics::Kind;

// Whether `c` already has a finding of `kind` inside `rule`'s text.
bool AlreadyReported(const Compilation& c, Kind kind, const ast::Rule& rule) {
  for (const Diagnostic& d : c.diagnostics.diagnostics()) {
    if (d.kind == kind && d.span.file == rule.span.file && d.span.begin >= rule.span.begin &&
        d.span.end <= rule.span.end) {
      return true;
    }
  }
  return false;
}

void Add(Compilation& c, const lint::Config& config, Diagnostic d) {
  const lint::Level level = lint::LevelFor(config, d.kind);
  if (level == lint::Level::kOff) return;
  d.severity = level == lint::Level::kError ? diagnostics::Severity::kError : diagnostics::Severity::kWarning;
  c.diagnostics.Add(std::move(d));
}

}  // namespace

void SymbolicLints(Compilation& c, const lint::Config& config) {
  if (c.program.entry < 0) return;
  const check::CheckedModule& entry = c.program.Entry();
  std::map<std::string, const ast::Rule*> by_name;
  for (const ast::Rule* rule : entry.rules) by_name.emplace(rule->name, rule);

  diagnostics::Collector lowering;
  const ir::Policy policy = lower::Lower(c.program, lowering);
  if (lowering.HasErrors()) return;  // `govc build` reports those
  analysis::Space::Limits limits;
  limits.searches = 4000;
  limits.language_states = 20000;
  ErrorOr<std::unique_ptr<analysis::Space>> created = analysis::Space::Create({&policy}, limits);
  if (!created.ok()) return;  // no finding is better than a guess
  analysis::Space& space = *created.value();

  std::vector<Z3_ast> denies;
  for (std::uint32_t r = 0; r < policy.rules.size(); ++r) {
    if (policy.rules[r].verdict == ir::Verdict::kDeny) denies.push_back(space.Matches(0, r));
  }
  // A search that met a budget rules assignments out without proof (space.h):
  // from then on nothing is reported.
  auto never = [&](Z3_ast query) {
    return space.Find(query).status == analysis::Found::Status::kExhausted && space.BudgetHits() == 0;
  };

  for (std::uint32_t r = 0; r < policy.rules.size(); ++r) {
    const ir::Rule& rule = policy.rules[r];
    auto it = by_name.find(rule.name);
    if (it == by_name.end()) continue;  // a rule of an included module
    const ast::Rule& source = *it->second;
    Z3_ast matches = space.Matches(0, r);
    if (never(matches)) {
      // A pattern that matches nothing (GOV3011) already says why.
      if (AlreadyReported(c, Kind::kConditionNeverTrue, source) ||
          AlreadyReported(c, Kind::kPatternMatchesNothing, source)) {
        continue;
      }
      Diagnostic d{Kind::kConditionNeverTrue,
                   diagnostics::Severity::kWarning,
                   source.name_span,
                   fmt::format("no request satisfies the condition of rule `{}`: it never fires", rule.name),
                   {},
                   {}};
      d.help =
          "its tests exclude each other once the functions it calls, the patterns and the paths are taken into "
          "account: look for an `and` meant as `or`, or a value no test can share";
      Add(c, config, std::move(d));
      continue;
    }
    if (rule.verdict != ir::Verdict::kAllow || denies.empty()) continue;
    if (AlreadyReported(c, Kind::kAllowShadowedByDeny, source)) continue;
    if (!never(space.And({matches, space.Not(space.Or(denies))}))) continue;
    // Which denies cover it alone; else they do together.
    std::vector<const ast::Rule*> covering;
    for (std::uint32_t d = 0; d < policy.rules.size(); ++d) {
      if (policy.rules[d].verdict != ir::Verdict::kDeny) continue;
      auto deny = by_name.find(policy.rules[d].name);
      if (deny == by_name.end()) continue;
      if (never(space.And({matches, space.Not(space.Matches(0, d))}))) covering.push_back(deny->second);
    }
    Diagnostic d{Kind::kAllowShadowedByDeny, diagnostics::Severity::kWarning, source.name_span, "", {}, {}};
    if (!covering.empty()) {
      d.message = fmt::format("allow rule `{}` can never decide: deny rule `{}` matches whenever it does", rule.name,
                              covering.front()->name);
      for (const ast::Rule* deny : covering) {
        if (d.notes.size() == 3) break;
        d.notes.push_back(
            {deny->name_span, fmt::format("`{}` matches every request `{}` matches", deny->name, rule.name)});
      }
    } else {
      d.message = fmt::format("allow rule `{}` can never decide: on every request it matches, some deny rule matches",
                              rule.name);
      for (std::uint32_t k = 0; k < policy.rules.size() && d.notes.size() < 3; ++k) {
        if (policy.rules[k].verdict != ir::Verdict::kDeny) continue;
        auto deny = by_name.find(policy.rules[k].name);
        if (deny == by_name.end() || never(space.And({matches, space.Matches(0, k)}))) continue;
        d.notes.push_back({deny->second->name_span, fmt::format("`{}` matches some of the requests `{}` matches",
                                                                deny->second->name, rule.name)});
      }
    }
    d.help = "narrow the deny, or drop the allow if it is dead";
    Add(c, config, std::move(d));
  }
}

}  // namespace gov::driver
