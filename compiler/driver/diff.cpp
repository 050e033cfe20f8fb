// govc diff: the search for differently decided requests and its renderings.
#include "compiler/driver/diff.h"

#include <fmt/format.h>
#include <z3.h>

#include <algorithm>
#include <map>
#include <set>
#include <tuple>
#include <utility>

#include "compiler/driver/decider.h"
#include "runtime/interp/interp.h"

namespace gov::driver {
namespace {

// What a decision consists of, for grouping requests into classes.
struct OutcomeKey {
  std::uint32_t verdict = GOV_DENY;
  std::uint32_t error = GOV_OK;
  std::vector<std::uint32_t> deciding;
  std::vector<std::uint32_t> obligation_rules;
  auto operator<=>(const OutcomeKey&) const = default;
};

OutcomeKey KeyOf(const gov_decision& d) {
  OutcomeKey k;
  k.verdict = d.verdict;
  k.error = d.error;
  k.deciding.assign(d.rules, d.rules + d.deciding_count);
  k.obligation_rules.assign(d.rules + d.deciding_count, d.rules + d.rule_count);
  return k;
}

// One policy's rules, as formulas over the shared space.
class SymbolicPolicy {
 public:
  SymbolicPolicy(analysis::Space& space, const ir::Policy& policy, std::size_t index)
      : space_(space), policy_(policy), index_(index) {
    const ByVerdict<Z3_ast> rules =
        Group([](std::uint32_t) { return true; }, [&](std::uint32_t r) { return space.Matches(index, r); });
    deny_ = space.Or(rules.deny);
    ask_ = space.Or(rules.ask);
    allow_ = space.Or(rules.allow);
  }

  Z3_ast IsDeny() const { return space_.Or({deny_, space_.And({space_.Not(ask_), space_.Not(allow_)})}); }
  Z3_ast IsAsk() const { return space_.And({space_.Not(deny_), ask_}); }
  Z3_ast IsAllow() const { return space_.And({space_.Not(deny_), space_.Not(ask_), allow_}); }

  // The rules of `verdict` that match are exactly `ids`.
  Z3_ast ExactlyMatching(ir::Verdict verdict, const std::vector<std::uint32_t>& ids) const {
    std::vector<Z3_ast> parts;
    for (std::uint32_t r = 0; r < policy_.rules.size(); ++r) {
      if (policy_.rules[r].verdict != verdict) continue;
      const bool in = std::find(ids.begin(), ids.end(), r) != ids.end();
      Z3_ast m = space_.Matches(index_, r);
      parts.push_back(in ? m : space_.Not(m));
    }
    return space_.And(parts);
  }

  // The policy decides as `key` says.
  Z3_ast Outcome(const OutcomeKey& key) const {
    if (key.verdict == GOV_DENY) {
      if (key.deciding.empty()) return space_.And({space_.Not(deny_), space_.Not(ask_), space_.Not(allow_)});
      return space_.And({deny_, ExactlyMatching(ir::Verdict::kDeny, key.deciding)});
    }
    if (key.verdict == GOV_ASK) {
      return space_.And({space_.Not(deny_), ExactlyMatching(ir::Verdict::kAsk, key.deciding),
                         ExactlyMatching(ir::Verdict::kAllow, key.obligation_rules)});
    }
    return space_.And({space_.Not(deny_), space_.Not(ask_), ExactlyMatching(ir::Verdict::kAllow, key.deciding)});
  }

  // The outcome the last assignment predicts.
  OutcomeKey Predicted() const {
    const ByVerdict<std::uint32_t> matching =
        Group([&](std::uint32_t r) { return space_.LastAssignmentSays(space_.Matches(index_, r)); },
              [](std::uint32_t r) { return r; });
    OutcomeKey k;
    if (!matching.deny.empty()) {
      k.deciding = matching.deny;
    } else if (!matching.ask.empty()) {
      k.verdict = GOV_ASK;
      k.deciding = matching.ask;
      k.obligation_rules = matching.allow;
    } else if (!matching.allow.empty()) {
      k.verdict = GOV_ALLOW;
      k.deciding = matching.allow;
    }
    return k;
  }

 private:
  template <typename T>
  struct ByVerdict {
    std::vector<T> deny, ask, allow;
  };
  // `value(r)` for each rule `r` that `keep` keeps, grouped by verdict, in rule order.
  template <typename Keep, typename Value>
  auto Group(Keep keep, Value value) const -> ByVerdict<decltype(value(0u))> {
    ByVerdict<decltype(value(0u))> out;
    for (std::uint32_t r = 0; r < policy_.rules.size(); ++r) {
      if (!keep(r)) continue;
      const ir::Verdict v = policy_.rules[r].verdict;
      (v == ir::Verdict::kDeny ? out.deny : v == ir::Verdict::kAsk ? out.ask : out.allow).push_back(value(r));
    }
    return out;
  }

  analysis::Space& space_;
  const ir::Policy& policy_;
  std::size_t index_;
  Z3_ast deny_;
  Z3_ast ask_;
  Z3_ast allow_;
};

// Over-approximates "the obligations may differ": some rule contributing
// obligations on one side has no counterpart of the same name, verdict and
// obligations contributing on the other.
Z3_ast RuleSetsMayDiffer(analysis::Space& space, const ir::Policy& a, const ir::Policy& b, ir::Verdict verdict) {
  std::vector<Z3_ast> parts;
  std::map<std::string, std::uint32_t> b_by_name;
  for (std::uint32_t r = 0; r < b.rules.size(); ++r) b_by_name.emplace(b.rules[r].name, r);
  std::set<std::uint32_t> b_paired;
  for (std::uint32_t r = 0; r < a.rules.size(); ++r) {
    const ir::Rule& rule = a.rules[r];
    if (rule.verdict != verdict) continue;
    auto it = b_by_name.find(rule.name);
    if (it != b_by_name.end() && b.rules[it->second].verdict == verdict &&
        interp::CanonicalObligations(b.rules[it->second].obligations) ==
            interp::CanonicalObligations(rule.obligations)) {
      b_paired.insert(it->second);
      Z3_ast ma = space.Matches(0, r);
      Z3_ast mb = space.Matches(1, it->second);
      parts.push_back(space.Not(Z3_mk_iff(space.context(), ma, mb)));
    } else {
      parts.push_back(space.Matches(0, r));
    }
  }
  for (std::uint32_t r = 0; r < b.rules.size(); ++r) {
    if (b.rules[r].verdict == verdict && b_paired.count(r) == 0) parts.push_back(space.Matches(1, r));
  }
  return space.Or(parts);
}

DiffDecision Describe(const ir::Policy& policy, const gov_decision& d) {
  DiffDecision out;
  out.verdict = interp::VerdictName(d.verdict);
  for (std::uint32_t i = 0; i < d.rule_count; ++i) {
    (i < d.deciding_count ? out.rules : out.obligation_rules).push_back(policy.rules[d.rules[i]].name);
  }
  out.summary = interp::Explain(policy, d).summary;
  out.has_obligations = d.error == GOV_OK && (d.verdict == GOV_ALLOW || d.verdict == GOV_ASK);
  if (out.has_obligations) out.obligations = interp::CanonicalObligations(interp::MergeObligations(policy, d));
  return out;
}

bool Differ(const DiffDecision& a, const DiffDecision& b) {
  if (a.verdict != b.verdict) return true;
  return a.has_obligations && b.has_obligations && !(a.obligations == b.obligations);
}

}  // namespace

ErrorOr<DiffReport> DiffPolicies(const ir::Policy& old_policy, const ir::Policy& new_policy,
                                 const DiffOptions& options) {
  GOV_ASSIGN_OR_RETURN(interp::PreparedPolicy old_prepared, interp::PreparedPolicy::Create(old_policy));
  GOV_ASSIGN_OR_RETURN(interp::PreparedPolicy new_prepared, interp::PreparedPolicy::Create(new_policy));
  GOV_ASSIGN_OR_RETURN(std::unique_ptr<analysis::Space> space,
                       analysis::Space::Create({&old_policy, &new_policy}, options.limits));
  SymbolicPolicy old_side(*space, old_policy, 0);
  SymbolicPolicy new_side(*space, new_policy, 1);

  Z3_context ctx = space->context();
  Z3_ast verdict_differs = space->Or({space->Not(Z3_mk_iff(ctx, old_side.IsDeny(), new_side.IsDeny())),
                                      space->Not(Z3_mk_iff(ctx, old_side.IsAsk(), new_side.IsAsk()))});
  Z3_ast allows_differ = RuleSetsMayDiffer(*space, old_policy, new_policy, ir::Verdict::kAllow);
  Z3_ast asks_differ = RuleSetsMayDiffer(*space, old_policy, new_policy, ir::Verdict::kAsk);
  Z3_ast obligations_differ =
      space->Or({space->And({old_side.IsAllow(), new_side.IsAllow(), allows_differ}),
                 space->And({old_side.IsAsk(), new_side.IsAsk(), space->Or({allows_differ, asks_differ})})});
  Z3_ast query = space->Or({verdict_differs, obligations_differ});

  DiffReport report;
  std::set<std::pair<OutcomeKey, OutcomeKey>> seen;
  bool exhausted = false;
  for (;;) {
    ++report.searches;
    analysis::Found found = space->Find(query);
    if (found.status == analysis::Found::Status::kExhausted) {
      exhausted = true;
      break;
    }
    if (found.status == analysis::Found::Status::kGaveUp) break;
    request::RequestView old_view(found.requests[0]);
    request::RequestView new_view(found.requests[1]);
    gov_decision old_decision{};
    gov_decision new_decision{};
    interp::Decide(old_prepared, old_view.get(), old_decision);
    interp::Decide(new_prepared, new_view.get(), new_decision);
    const OutcomeKey old_key = KeyOf(old_decision);
    const OutcomeKey new_key = KeyOf(new_decision);
    const bool as_predicted = old_key == old_side.Predicted() && new_key == new_side.Predicted();
    if (!as_predicted) {
      if (space->OpaqueAtoms() == 0 && old_key.error == GOV_OK && new_key.error == GOV_OK) {
        return Error{"internal error: the symbolic model and the interpreter disagree on request " +
                     request::RequestToJson(found.requests[0], old_policy.context)};
      }
      ++report.unresolved;
      space->BlockLastAssignment();
    }
    if (report.unresolved >= options.max_unresolved) break;
    if (old_key.error == GOV_OK && new_key.error == GOV_OK) {
      space->Assert(space->Not(space->And({old_side.Outcome(old_key), new_side.Outcome(new_key)})));
      // What the interpreter decided holds for every assignment that builds
      // this request again: the search then leaves it, instead of proposing
      // it once per combination of the opaque tests' values.
      if (!as_predicted) {
        space->Assert(Z3_mk_implies(ctx, space->LastRequestInputs(),
                                    space->And({old_side.Outcome(old_key), new_side.Outcome(new_key)})));
      }
    }
    DiffClass c;
    c.old_decision = Describe(old_policy, old_decision);
    c.new_decision = Describe(new_policy, new_decision);
    if (!Differ(c.old_decision, c.new_decision)) continue;
    if (!seen.emplace(old_key, new_key).second) continue;
    c.request = found.requests[0];
    c.new_request = found.requests[1];
    report.classes.push_back(std::move(c));
    if (report.classes.size() >= options.max_classes) {
      report.truncated = true;
      break;
    }
  }
  report.opaque_atoms = space->OpaqueAtoms();
  report.opaque_kinds = space->OpaqueKinds();
  report.budget_hits = space->BudgetHits();
  report.proved = exhausted && report.opaque_atoms == 0 && report.budget_hits == 0 && report.unresolved == 0;
  std::stable_sort(report.classes.begin(), report.classes.end(), [](const DiffClass& a, const DiffClass& b) {
    return std::tie(a.old_decision.verdict, a.new_decision.verdict, a.old_decision.rules, a.new_decision.rules) <
           std::tie(b.old_decision.verdict, b.new_decision.verdict, b.old_decision.rules, b.new_decision.rules);
  });
  return report;
}

namespace {

std::string JsonQuoted(const std::string& s) {
  return nlohmann::json(s).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

// The request in one line: its program and every field that is not a default.
std::string DescribeRequest(const request::Request& r, const ir::Policy& policy) {
  const request::Request defaults;
  std::string out = "program " + r.program_path;
  if (!r.invoked_path.empty() && r.invoked_path != r.program_path) out += " (invoked as " + r.invoked_path + ")";
  std::vector<std::string> args;
  for (const std::string& a : r.args) args.push_back(JsonQuoted(a));
  out += fmt::format(", args [{}]", fmt::join(args, ", "));
  if (!r.argv0.empty()) out += ", argv0 " + JsonQuoted(r.argv0);
  if (r.cwd != defaults.cwd) out += ", cwd " + r.cwd;
  for (const auto& [k, v] : r.env) out += ", env " + k + "=" + JsonQuoted(v);
  if (r.user_name != defaults.user_name) out += ", user " + JsonQuoted(r.user_name);
  if (r.uid != defaults.uid) out += fmt::format(", uid {}", r.uid);
  if (r.gid != defaults.gid) out += fmt::format(", gid {}", r.gid);
  if (!r.groups.empty()) out += fmt::format(", groups [{}]", fmt::join(r.groups, ", "));
  if (r.host != defaults.host) out += ", host " + JsonQuoted(r.host);
  if (r.time_unix != defaults.time_unix) out += fmt::format(", time {}", r.time_unix);
  if (r.program_sha256 != defaults.program_sha256) out += ", sha256 " + r.program_sha256;
  if (r.program_written_in_session) out += ", written in session";
  if (r.has_parent) out += ", inside run " + JsonQuoted(r.parent_run_id) + " of " + r.parent_program;
  for (std::size_t i = 0; i < r.context.size() && i < policy.context.size(); ++i) {
    const request::ContextValue& v = r.context[i];
    if (!v.present) continue;
    const ir::ContextField& f = policy.context[i];
    std::string value = f.kind == ir::Kind::kStr ? JsonQuoted(v.text) : std::to_string(v.number);
    if (f.kind == ir::Kind::kBool) value = v.number != 0 ? "true" : "false";
    out += ", context " + f.name + "=" + value;
  }
  return out;
}

// One side in words: the decision's summary and its obligations — with
// `other` (the other side), only those that differ from it, and none when
// they are the same.
std::string Side(const DiffDecision& d, const DiffDecision* other = nullptr) {
  std::string out = d.summary;
  if (!d.has_obligations) return out;
  const auto mine = DescribeObligations(d.obligations);
  if (other == nullptr || !other->has_obligations) return out + " " + ObligationsText(d.obligations);
  const auto theirs = DescribeObligations(other->obligations);
  if (mine.empty()) return out + " {}";
  std::vector<std::string> differing;
  for (const auto& [key, value] : mine) {
    if (std::find(theirs.begin(), theirs.end(), std::make_pair(key, value)) == theirs.end()) {
      differing.push_back(key + " = " + value);
    }
  }
  if (differing.empty() && mine.size() == theirs.size()) return out;
  if (differing.empty()) return out + " {}";
  return out + fmt::format(" {{ {} }}", fmt::join(differing, ", "));
}

std::string Status(const DiffReport& report) {
  if (report.proved) return "proved exhaustive: no other request is decided differently";
  std::vector<std::string> why;
  if (report.opaque_atoms > 0) {
    why.push_back(fmt::format("{} test{} left to the interpreter ({})", report.opaque_atoms,
                              report.opaque_atoms == 1 ? "" : "s", fmt::join(report.opaque_kinds, ", ")));
  }
  if (report.unresolved > 0)
    why.push_back(fmt::format("{} candidate{} the interpreter contradicted", report.unresolved,
                              report.unresolved == 1 ? "" : "s"));
  if (report.budget_hits > 0)
    why.push_back(fmt::format("{} search budget{} reached", report.budget_hits, report.budget_hits == 1 ? "" : "s"));
  if (report.truncated) why.push_back("the class limit reached");
  return fmt::format("not proved exhaustive: {}; other requests may be decided differently", fmt::join(why, "; "));
}

// "3 classes of requests decided differently" (Markdown: in bold), or that none is.
std::string Headline(const DiffReport& report, bool markdown) {
  if (report.classes.empty())
    return markdown ? "No request is decided differently" : "no request is decided differently";
  const std::string text = fmt::format("{} class{} of requests decided differently", report.classes.size(),
                                       report.classes.size() == 1 ? "" : "es");
  return markdown ? "**" + text + "**" : text;
}

nlohmann::json DecisionJson(const DiffDecision& d) {
  nlohmann::json j = {{"verdict", d.verdict}, {"rules", d.rules}, {"summary", d.summary}};
  if (!d.obligation_rules.empty()) j["obligation_rules"] = d.obligation_rules;
  if (d.has_obligations) j["obligations"] = ObligationsJson(d.obligations);
  return j;
}

}  // namespace

std::string DiffText(const DiffReport& report, const ir::Policy& old_policy, const ir::Policy& new_policy) {
  (void)new_policy;
  std::string out = Headline(report, false) + " (" + Status(report) + ")\n";
  std::size_t n = 0;
  for (const DiffClass& c : report.classes) {
    out += fmt::format("\n{}. {} → {}\n", ++n, c.old_decision.verdict, c.new_decision.verdict);
    out += "   old: " + Side(c.old_decision, &c.new_decision) + "\n";
    out += "   new: " + Side(c.new_decision, &c.old_decision) + "\n";
    out += "   for example: " + DescribeRequest(c.request, old_policy) + "\n";
  }
  return out;
}

nlohmann::json DiffJson(const DiffReport& report, const ir::Policy& old_policy, const ir::Policy& new_policy) {
  nlohmann::json classes = nlohmann::json::array();
  for (const DiffClass& c : report.classes) {
    classes.push_back({{"old", DecisionJson(c.old_decision)},
                       {"new", DecisionJson(c.new_decision)},
                       {"request", request::RequestToJsonValue(c.request, old_policy.context)},
                       {"new_request", request::RequestToJsonValue(c.new_request, new_policy.context)}});
  }
  return {{"version", 1},
          {"old", {{"policy", old_policy.name}, {"version", old_policy.version}}},
          {"new", {{"policy", new_policy.name}, {"version", new_policy.version}}},
          {"proved", report.proved},
          {"status", Status(report)},
          {"classes", classes},
          {"opaque_tests", report.opaque_atoms},
          {"opaque_kinds", report.opaque_kinds},
          {"unresolved", report.unresolved},
          {"budget_hits", report.budget_hits},
          {"truncated", report.truncated}};
}

std::string DiffMarkdown(const DiffReport& report, const ir::Policy& old_policy, const ir::Policy& new_policy) {
  auto cell = [](std::string s) {
    std::string out;
    for (char c : s) {
      if (c == '|')
        out += "\\|";
      else if (c == '\n')
        out += " ";
      else
        out.push_back(c);
    }
    return out;
  };
  std::string out = fmt::format("### Policy change: {} {} → {} {}\n\n", old_policy.name, old_policy.version,
                                new_policy.name, new_policy.version);
  out += Headline(report, true) + " (" + Status(report) + ").\n";
  if (report.classes.empty()) return out;
  out += "\n| | before | after | for example |\n|---|---|---|---|\n";
  std::size_t n = 0;
  for (const DiffClass& c : report.classes) {
    out += fmt::format("| {} | {} | {} | `{}` |\n", ++n, cell(Side(c.old_decision, &c.new_decision)),
                       cell(Side(c.new_decision, &c.old_decision)), cell(DescribeRequest(c.request, old_policy)));
  }
  return out;
}

}  // namespace gov::driver
