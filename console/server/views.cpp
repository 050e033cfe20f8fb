// The console's API documents and metrics (views.h). Each document has
// "version": 1 (docs/schemas/govconsole-*.schema.json).
#include "console/server/views.h"

#include <fmt/format.h>
#include <sys/prctl.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <sstream>

#include "runtime/exec/sandbox.h"
#include "runtime/support/display.h"
#include "runtime/support/histogram.h"

namespace gov::console {
namespace {

using Json = nlohmann::json;

constexpr std::size_t kArgumentShown = 200;
constexpr std::size_t kTop = 10;

Json Row(const Json& run) {
  const Json& request = run.value("request", Json::object());
  Json argv = Json::array();
  auto add = [&argv](const Json& word) {
    std::string bytes = BytesOf(word);
    if (bytes.size() > kArgumentShown) bytes = bytes.substr(0, kArgumentShown) + "…";
    argv.push_back(EscapeForDisplay(bytes));
  };
  add(request.contains("argv0") ? request["argv0"] : request.value("program", Json()));
  for (const auto& arg : request.value("args", Json::array())) {
    if (argv.size() == 64) {
      argv.push_back(fmt::format("… {} more", request["args"].size() - 63));
      break;
    }
    add(arg);
  }
  Json rules = Json::array();
  for (const auto& rule : run.value("rules", Json::array()))
    rules.push_back(EscapeForDisplay(BytesOf(rule.value("name", Json()))));
  const auto time = RunTime(run);
  return {{"id", run.value("id", "")},
          {"parent", run.value("parent", "")},
          {"time", time ? Json(*time) : Json(nullptr)},
          {"verdict", run.value("verdict", "")},
          {"exec", run.value("exec", false)},
          {"outcome", Outcome(run)},
          {"program", EscapeForDisplay(BytesOf(request.value("program", Json())))},
          {"argv", argv},
          {"rules", rules},
          {"certified", run.value("certified", false)}};
}

// `name{labels}` with OpenMetrics label escaping (\\, \", \n).
std::string LabelValue(std::string_view text) {
  std::string out;
  for (char c : EscapeForDisplay(text)) {
    if (c == '\\' || c == '"') out += '\\';
    out += c;
  }
  return out;
}

std::int64_t CheckpointAgeSeconds(const LineageSnapshot& snapshot, std::int64_t now_ns) {
  return std::max<std::int64_t>(0, (now_ns - snapshot.log_modified_ns) / 1000000000);
}

}  // namespace

Json RunsPage(const LineageSnapshot& snapshot, const RunFilter& filter, std::size_t offset, std::size_t limit) {
  const Json& runs = snapshot.data["runs"];
  Json page = Json::array();
  std::size_t total = 0;
  for (auto run = runs.rbegin(); run != runs.rend(); ++run) {
    if (!Matches(*run, filter)) continue;
    if (total >= offset && page.size() < limit) page.push_back(Row(*run));
    ++total;
  }
  return {{"version", 1}, {"total", total}, {"offset", offset}, {"runs", page}, {"generation", snapshot.generation}};
}

Json RunPage(const LineageSnapshot& snapshot, const std::string& id) {
  auto found = snapshot.by_id.find(id);
  if (found == snapshot.by_id.end()) return nullptr;
  const Json& runs = snapshot.data["runs"];
  const Json& run = runs[found->second];
  Json children = Json::array();
  if (auto kids = snapshot.children.find(id); kids != snapshot.children.end()) {
    for (std::size_t child : kids->second) children.push_back(Row(runs[child]));
  }
  Json parent = nullptr;
  if (auto up = snapshot.by_id.find(run.value("parent", "")); up != snapshot.by_id.end())
    parent = Row(runs[up->second]);
  return {{"version", 1},
          {"run", run},
          {"children", children},
          {"parent", parent},
          {"kind", snapshot.report.value("kind", "")},
          {"published", snapshot.report.value("published", 0)}};
}

Json HostMechanisms() {
  Json host;
  host["landlock_abi"] = exec::LandlockAbi();
  bool v2 = false;
  Json controllers = Json::array();
  for (const auto& mount : exec::CgroupMounts()) {
    v2 = v2 || mount.v2;
    for (const auto& controller : mount.v1_controllers) {
      if (controller != "rw" && controller != "ro" && !controller.starts_with("name="))
        controllers.push_back(controller);
    }
  }
  host["cgroup_v2"] = v2;
  host["cgroup_v1_controllers"] = controllers;
  host["seccomp"] = prctl(PR_GET_SECCOMP, 0, 0, 0, 0) >= 0;
  std::ifstream lsm("/sys/kernel/security/lsm");
  std::string lsms;
  std::getline(lsm, lsms);
  host["lsm"] = lsms;
  host["bpf_lsm"] = ("," + lsms + ",").find(",bpf,") != std::string::npos;
  host["session_mechanism"] = host["bpf_lsm"].get<bool>() ? "kernel (BPF LSM) for root, ptrace otherwise" : "ptrace";
  return host;
}

Json Overview(const LineageSnapshot& snapshot, const Json& host, std::int64_t now_ns) {
  const Json& runs = snapshot.data["runs"];
  std::map<std::string, std::uint64_t> verdicts = {{"allow", 0}, {"deny", 0}, {"ask", 0}};
  std::map<std::string, std::uint64_t> denied_programs, denied_rules, asks, exits;
  std::int64_t newest = 0;
  for (const auto& run : runs) newest = std::max(newest, RunTime(run).value_or(0));
  const std::int64_t window_end = newest / 60 * 60 + 60;  // the newest decision's minute, included
  std::vector<Json> minutes(60);
  for (std::size_t i = 0; i < minutes.size(); ++i) {
    minutes[i] = {
        {"minute", window_end - static_cast<std::int64_t>(60 - i) * 60}, {"allow", 0}, {"deny", 0}, {"ask", 0}};
  }
  for (const auto& run : runs) {
    const std::string verdict = run.value("verdict", "");
    ++verdicts[verdict];
    const auto time = RunTime(run);
    if (time && *time < window_end && *time >= window_end - 3600) {
      Json& bucket = minutes[static_cast<std::size_t>((*time - (window_end - 3600)) / 60)];
      if (bucket.contains(verdict)) bucket[verdict] = bucket[verdict].get<std::uint64_t>() + 1;
    }
    if (verdict == "deny") {
      ++denied_programs[EscapeForDisplay(BytesOf(run.value("request", Json::object()).value("program", Json())))];
      for (const auto& rule : run.value("rules", Json::array())) {
        if (rule.value("verdict", "") == "deny") ++denied_rules[EscapeForDisplay(BytesOf(rule.value("name", Json())))];
      }
    }
    if (verdict == "ask") ++asks[run.value("ask_answer", std::string("-"))];
    if (run.contains("end")) {
      const Json& end = run["end"];
      if (!end.value("killed_by", std::string()).empty()) {
        ++exits["killed (" + end.value("killed_by", std::string()) + ")"];
      } else if (end.value("exited", false)) {
        ++exits[fmt::format("exit {}", end.value("exit_status", 0))];
      } else {
        ++exits[fmt::format("signal {}", end.value("signal", 0))];
      }
    }
  }
  auto top = [](const std::map<std::string, std::uint64_t>& counts) {
    std::vector<std::pair<std::string, std::uint64_t>> sorted(counts.begin(), counts.end());
    std::stable_sort(sorted.begin(), sorted.end(), [](const auto& a, const auto& b) { return a.second > b.second; });
    Json out = Json::array();
    for (std::size_t i = 0; i < sorted.size() && i < kTop; ++i)
      out.push_back({{"name", sorted[i].first}, {"count", sorted[i].second}});
    return out;
  };
  Json last_checkpoint = nullptr;
  if (!snapshot.data["checkpoints"].empty()) last_checkpoint = snapshot.data["checkpoints"].back();
  return {{"version", 1},
          {"report", snapshot.report},
          {"verified_at_ns", snapshot.verified_at_ns},
          {"verify_seconds", snapshot.verify_seconds},
          {"generation", snapshot.generation},
          {"durability",
           {{"log_bytes", snapshot.log_size},
            {"last_write_ns", snapshot.log_modified_ns},
            {"last_write_age_seconds", CheckpointAgeSeconds(snapshot, now_ns)},
            {"checkpoints", snapshot.data.value("checkpoint_count", 0)},
            {"last_checkpoint", last_checkpoint}}},
          {"verdicts", verdicts},
          {"per_minute", minutes},
          {"top_denied_programs", top(denied_programs)},
          {"top_denied_rules", top(denied_rules)},
          {"ask_outcomes", asks},
          {"outcomes", top(exits)},
          {"host", host}};
}

Json Policies(const LineageSnapshot& snapshot, const std::vector<KnownPolicy>& known) {
  std::map<std::string, Json> by_digest;
  std::map<std::string, std::map<std::uint64_t, std::uint64_t>> decisions_by_rule_id;
  for (const auto& run : snapshot.data["runs"]) {
    const Json& policy = run.value("policy", Json::object());
    const std::string digest = policy.value("digest", run.value("policy_digest", ""));
    Json& entry = by_digest[digest];
    if (entry.is_null()) {
      entry = {{"digest", digest},
               {"name", EscapeForDisplay(BytesOf(policy.value("name", Json())))},
               {"version", EscapeForDisplay(BytesOf(policy.value("version", Json())))},
               {"engine", run.value("engine", Json(""))},
               {"decisions", 0},
               {"rules", Json::object()}};
    }
    entry["decisions"] = entry["decisions"].get<std::uint64_t>() + 1;
    for (const auto& rule : run.value("rules", Json::array())) {
      const std::string name = EscapeForDisplay(BytesOf(rule.value("name", Json())));
      Json& seen = entry["rules"][name];
      if (seen.is_null()) {
        seen = {{"name", name},
                {"verdict", rule.value("verdict", "")},
                {"reason", EscapeForDisplay(BytesOf(rule.value("reason", Json())))},
                {"decisions", 0}};
      }
      seen["decisions"] = seen["decisions"].get<std::uint64_t>() + 1;
      if (rule.contains("id") && rule["id"].is_number_unsigned()) {
        ++decisions_by_rule_id[digest][rule["id"].get<std::uint64_t>()];
      }
    }
  }
  // A bundle given with --policy: who signed it, and every rule it has.
  for (const KnownPolicy& bundle : known) {
    Json& entry = by_digest[bundle.digest];
    if (entry.is_null()) {
      entry = {{"digest", bundle.digest},
               {"name", EscapeForDisplay(bundle.name)},
               {"version", EscapeForDisplay(bundle.version)},
               {"engine", ""},
               {"decisions", 0},
               {"rules", Json::object()}};
    }
    entry["bundle"] = {{"file", EscapeForDisplay(bundle.file)},
                       {"signer", bundle.signer_id},
                       {"signer_file", EscapeForDisplay(bundle.signer_file)},
                       {"created", bundle.created},
                       {"compiler", EscapeForDisplay(bundle.compiler)}};
    const auto& counts = decisions_by_rule_id[bundle.digest];
    Json rules = Json::array();
    std::uint64_t decided = 0;
    for (std::size_t id = 0; id < bundle.rules.size(); ++id) {
      const auto count = counts.find(id);
      const std::uint64_t decisions = count == counts.end() ? 0 : count->second;
      decided += decisions > 0 ? 1 : 0;
      rules.push_back({{"name", EscapeForDisplay(bundle.rules[id].name)},
                       {"verdict", bundle.rules[id].verdict},
                       {"reason", EscapeForDisplay(bundle.rules[id].reason)},
                       {"decisions", decisions}});
    }
    if (bundle.tests) {
      const bundle::BuildTests& tests = *bundle.tests;
      entry["tests"] = {{"cases", tests.cases}, {"exercised", tests.exercised.size()}, {"engine", tests.engine}};
      for (const std::uint32_t id : tests.exercised) rules[id]["tested"] = true;
      for (Json& rule : rules) {
        if (!rule.contains("tested")) rule["tested"] = false;
      }
    } else {
      entry["tests"] = nullptr;
    }
    entry["rules"] = std::move(rules);
    entry["coverage"] = {{"rules", bundle.rules.size()}, {"decided", decided}};
  }
  Json out = Json::array();
  for (auto& [digest, entry] : by_digest) {
    if (entry["rules"].is_object()) {
      Json rules = Json::array();
      for (auto& [name, rule] : entry["rules"].items()) rules.push_back(rule);
      entry["rules"] = rules;
      entry["bundle"] = nullptr;
    }
    out.push_back(entry);
  }
  return {{"version", 1}, {"policies", out}};
}

namespace {

// Whether govd's metrics file holds only gov_govd_ families in printable
// ASCII (docs/govd.md "Metrics"): nothing else may reach /metrics through it.
bool IsServiceMetricsText(const std::string& text) {
  if (text.empty() || text.back() != '\n') return false;
  std::size_t start = 0;
  while (start < text.size()) {
    const std::size_t end = text.find('\n', start);
    const std::string_view line(text.data() + start, end - start);
    if (!line.starts_with("# HELP gov_govd_") && !line.starts_with("# TYPE gov_govd_") &&
        !line.starts_with("gov_govd_")) {
      return false;
    }
    for (const char c : line) {
      if (c < 0x20 || c > 0x7e) return false;
    }
    start = end + 1;
  }
  return true;
}

}  // namespace

std::string Metrics(const LineageSnapshot& snapshot, std::int64_t now_ns, const std::string& service_metrics) {
  std::map<std::pair<std::string, std::string>, std::uint64_t> decisions;
  std::map<std::string, std::uint64_t> ended;
  Histogram durations({0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 60, 600});
  // From the start records (the supervisor's own measurements; logs written
  // before they carried them count nothing here).
  Histogram decision_latency, exec_latency;
  for (const auto& run : snapshot.data["runs"]) {
    const std::string verdict = run.value("verdict", "");
    const Json& rules = run.value("rules", Json::array());
    const std::string rule = rules.empty() ? "" : BytesOf(rules[0].value("name", Json()));
    ++decisions[{verdict, rule}];
    if (const auto start = run.find("start"); start != run.end() && start->is_object()) {
      const Json& decided = start->value("decision_ns", Json());
      const Json& held = start->value("exec_latency_ns", Json());
      if (decided.is_number_unsigned() && held.is_number_unsigned()) {
        decision_latency.Observe(static_cast<double>(decided.get<std::uint64_t>()) / 1e9);
        exec_latency.Observe(static_cast<double>(held.get<std::uint64_t>()) / 1e9);
      }
    }
    if (run.contains("end")) {
      const Json& end = run["end"];
      ++ended[end.value("killed_by", std::string()).empty() ? (end.value("exited", false) ? "exited" : "signaled")
                                                            : end.value("killed_by", std::string())];
      durations.Observe(static_cast<double>(end.value("duration_ns", std::int64_t{0})) / 1e9);
    }
  }
  std::string out;
  out +=
      "# HELP gov_decisions_total Decisions recorded in the lineage log, by final verdict and first deciding rule.\n";
  out += "# TYPE gov_decisions_total counter\n";
  for (const auto& [key, count] : decisions) {
    out += fmt::format("gov_decisions_total{{verdict=\"{}\",rule=\"{}\"}} {}\n", LabelValue(key.first),
                       LabelValue(key.second), count);
  }
  out += "# HELP gov_runs_ended_total Executed runs with an end record, by how they ended.\n";
  out += "# TYPE gov_runs_ended_total counter\n";
  for (const auto& [how, count] : ended)
    out += fmt::format("gov_runs_ended_total{{how=\"{}\"}} {}\n", LabelValue(how), count);
  durations.Write(out, "gov_run_duration_seconds", "Wall time of executed runs, from exec to exit.");
  decision_latency.Write(out, "gov_decision_latency_seconds",
                         "Time the supervisor took to build an executed run's request and decide it (start records).");
  exec_latency.Write(out, "gov_exec_latency_seconds",
                     "Time an executed run's exec was held: from govrun's start, or a session's interception of the "
                     "exec call, until the program was let run (start records).");
  const Json& report = snapshot.report;
  out += "# HELP gov_lineage_records Records in the lineage log's chain.\n# TYPE gov_lineage_records gauge\n";
  out += fmt::format("gov_lineage_records {}\n", report.value("records", 0));
  out += "# HELP gov_lineage_certified_records Records covered by the last verified checkpoint.\n";
  out += "# TYPE gov_lineage_certified_records gauge\n";
  out += fmt::format("gov_lineage_certified_records {}\n", report.value("certified", 0));
  out += "# HELP gov_lineage_bytes Size of the lineage log.\n# TYPE gov_lineage_bytes gauge\n";
  out += fmt::format("gov_lineage_bytes {}\n", snapshot.log_size);
  out +=
      "# HELP gov_lineage_last_write_age_seconds Seconds since the log was last written (its last checkpoint or "
      "record).\n";
  out += "# TYPE gov_lineage_last_write_age_seconds gauge\n";
  out += fmt::format("gov_lineage_last_write_age_seconds {}\n", CheckpointAgeSeconds(snapshot, now_ns));
  out += "# HELP gov_lineage_verified Whether the log verified at the last check (1) or failed (0).\n";
  out += "# TYPE gov_lineage_verified gauge\n";
  out += fmt::format("gov_lineage_verified {}\n", report.value("ok", false) ? 1 : 0);
  out +=
      "# HELP gov_lineage_verification_failure The class of the last verification failure (govverify's exit code), 0 "
      "when verified.\n";
  out += "# TYPE gov_lineage_verification_failure gauge\n";
  out += fmt::format("gov_lineage_verification_failure {}\n",
                     report.value("failure", Json()).is_object() ? report["failure"].value("exit_code", 0) : 0);
  out +=
      "# HELP gov_lineage_verify_seconds Time the last verification took.\n# TYPE gov_lineage_verify_seconds gauge\n";
  out += fmt::format("gov_lineage_verify_seconds {}\n", snapshot.verify_seconds);
  if (IsServiceMetricsText(service_metrics)) out += service_metrics;
  return out;
}

}  // namespace gov::console
