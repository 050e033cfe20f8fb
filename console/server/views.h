// What the console's API serves, from the index of the log and the log's
// records re-checked (docs/console.md "API"): the runs list, a run, the overview and health,
// the policies seen, the host's enforcement mechanisms, and /metrics in the
// OpenMetrics text format.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "console/server/known_policies.h"
#include "console/server/lineage_index.h"
#include "console/viewer/query.h"

namespace gov::console {

// A run of the viewer data read from the log at `ref`: its authorization,
// start and end records, each re-checked (log_records.h); "certified" only
// when all pass, "problem" naming the first that fails. An error when the
// index pointed at something else (the index is then made again).
ErrorOr<nlohmann::json> LoadRun(LineageIndex& index, const RunRef& ref);

// The runs matching `filter`, newest first: {"total": n, "offset", "runs": [row…]}
// with rows of id, parent, time, verdict, exec, outcome, program, argv
// (each argument cut at 200 bytes), rules' names, certified (and problem).
ErrorOr<nlohmann::json> RunsPage(LineageIndex& index, const RunFilter& filter, std::size_t offset, std::size_t limit);

// One run: {"run": …, "children": [row…] (the first 500), "children_total",
// "parent": row or null, "kind", "published"}; null when unknown.
ErrorOr<nlohmann::json> RunPage(LineageIndex& index, const std::string& id);

// Enforcement mechanisms this host offers (probed once at start).
nlohmann::json HostMechanisms();

// The overview and health: verification, durability, counts, decisions per
// minute over the newest hour of activity, top denied programs and rules,
// ask outcomes, exits; `host` as HostMechanisms.
// An error while the first verification of the log runs (up to a minute).
ErrorOr<nlohmann::json> Overview(LineageIndex& index, const nlohmann::json& host, std::int64_t now_ns);

// The policies seen in the log or given with --policy, by bundle digest:
// name, version, decisions, the rules that decided with their verdicts and
// reasons; for a known bundle also its signer, every rule it has (with its
// decisions, 0 for none) and how many of them decided.
ErrorOr<nlohmann::json> Policies(LineageIndex& index, const std::vector<KnownPolicy>& known = {});

// The Prometheus text exposition (format 0.0.4) of the log, followed by
// govd's own metrics (`service_metrics`: the text of its metrics file, taken
// only when every line is a gov_govd_ sample or its HELP/TYPE; else left out).
ErrorOr<std::string> Metrics(LineageIndex& index, std::int64_t now_ns, const std::string& service_metrics = "");

}  // namespace gov::console
