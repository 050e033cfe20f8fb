// The console's API documents and metrics (views.h). Each document has
// "version": 1 (docs/schemas/govconsole-*.schema.json).
#include "console/server/views.h"

#include <fmt/format.h>
#include <sys/prctl.h>

#include <algorithm>
#include <chrono>
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
// Children listed on a run's page (children_total counts them all).
constexpr std::size_t kChildrenShown = 500;
// How long the overview and /metrics wait for the first verification.
constexpr auto kFirstVerification = std::chrono::seconds(60);

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
  Json row = {{"id", run.value("id", "")},
              {"parent", run.value("parent", "")},
              {"time", time ? Json(*time) : Json(nullptr)},
              {"verdict", run.value("verdict", "")},
              {"exec", run.value("exec", false)},
              {"outcome", Outcome(run)},
              {"program", EscapeForDisplay(BytesOf(request.value("program", Json())))},
              {"argv", argv},
              {"rules", rules},
              {"certified", run.value("certified", false)}};
  if (run.contains("problem")) row["problem"] = run["problem"];
  return row;
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

std::int64_t CheckpointAgeSeconds(const LineageIndex& index, std::int64_t now_ns) {
  return std::max<std::int64_t>(0, (now_ns - index.log_modified_ns()) / 1000000000);
}

// The first verification, or an error when it is still running.
ErrorOr<Verification> VerificationOf(LineageIndex& index) {
  Verification verification = index.LastVerification(kFirstVerification);
  if (!verification.done) return Error{"the first verification of the log is still running"};
  return verification;
}

const std::map<std::string, Tally>& KindOf(const IndexTallies& tallies, const std::string& kind) {
  static const std::map<std::string, Tally> kNone;
  const auto found = tallies.counts.find(kind);
  return found == tallies.counts.end() ? kNone : found->second;
}

Json ParsedOr(const std::string& text, Json fallback) {
  Json parsed = Json::parse(text, nullptr, false);
  return parsed.is_discarded() ? fallback : parsed;
}

// A histogram of `bounds` from the index's tallies of `kind`.
Histogram HistogramOf(const IndexTallies& tallies, const std::string& kind, const std::vector<double>& bounds) {
  Histogram histogram(bounds);
  const auto& counts = KindOf(tallies, kind);
  std::vector<std::uint64_t> buckets(bounds.size(), 0);
  for (std::size_t i = 0; i < bounds.size(); ++i) {
    if (auto found = counts.find(std::to_string(i)); found != counts.end()) buckets[i] = found->second.count;
  }
  const auto count = counts.find("count");
  const auto sum = counts.find("sum");
  histogram.Merge(buckets, sum == counts.end() ? 0 : sum->second.total,
                  count == counts.end() ? 0 : count->second.count);
  return histogram;
}

}  // namespace

ErrorOr<Json> LoadRun(LineageIndex& index, const RunRef& ref) {
  const auto records = index.Records();
  auto distrust = [&index](const Error& error) {
    index.Distrust(error.message);
    return Error{"the console's index does not match the log (" + error.message +
                 "); it is being made again from the log"};
  };
  auto authorization = records->Read(ref.authorization, lineage::RecordType::kAuthorization, ref.id);
  if (!authorization.ok()) return distrust(authorization.error());
  const CheckedRecord& auth = authorization.value();
  Json run = RunFromAuthorization(auth.Head(), auth.body, auth.certified);
  std::string problem = auth.problem;
  for (const RecordRef* part : {&ref.start, &ref.end}) {
    if (part->length == 0) continue;
    const auto type = part == &ref.start ? lineage::RecordType::kStart : lineage::RecordType::kEnd;
    auto record = records->Read(*part, type, ref.id);
    if (!record.ok()) return distrust(record.error());
    AddRunRecord(run, record.value().Head(), record.value().body, record.value().certified);
    if (problem.empty()) problem = record.value().problem;
  }
  if (!problem.empty()) {
    run["certified"] = false;
    run["problem"] = problem;
  }
  return run;
}

ErrorOr<Json> RunsPage(LineageIndex& index, const RunFilter& filter, std::size_t offset, std::size_t limit) {
  auto found = index.Find(filter, offset, limit);
  if (!found.ok()) return found.error();
  Json page = Json::array();
  for (const RunRef& ref : found.value().runs) {
    auto run = LoadRun(index, ref);
    if (!run.ok()) return run.error();
    page.push_back(Row(run.value()));
  }
  return Json{{"version", 1},
              {"total", found.value().total},
              {"offset", offset},
              {"runs", page},
              {"generation", index.generation()}};
}

ErrorOr<Json> RunPage(LineageIndex& index, const std::string& id) {
  auto found = index.Run(id);
  if (!found.ok()) return found.error();
  if (!found.value()) return Json(nullptr);
  auto run = LoadRun(index, *found.value());
  if (!run.ok()) return run.error();
  auto kids = index.Children(id, kChildrenShown);
  if (!kids.ok()) return kids.error();
  Json children = Json::array();
  for (const RunRef& ref : kids.value().runs) {
    auto child = LoadRun(index, ref);
    if (!child.ok()) return child.error();
    children.push_back(Row(child.value()));
  }
  Json parent = nullptr;
  const std::string parent_id = run.value().value("parent", "");
  if (!parent_id.empty()) {
    auto up = index.Run(parent_id);
    if (!up.ok()) return up.error();
    if (up.value()) {
      auto parent_run = LoadRun(index, *up.value());
      if (!parent_run.ok()) return parent_run.error();
      parent = Row(parent_run.value());
    }
  }
  return Json{{"version", 1},
              {"run", run.value()},
              {"children", children},
              {"children_total", kids.value().total},
              {"parent", parent},
              {"kind", "log"},
              {"published", index.Records()->tree_size()}};
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

ErrorOr<Json> Overview(LineageIndex& index, const Json& host, std::int64_t now_ns) {
  auto verified = VerificationOf(index);
  if (!verified.ok()) return verified.error();
  auto counted = index.Tallies();
  if (!counted.ok()) return counted.error();
  const IndexTallies& tallies = counted.value();
  std::map<std::string, std::uint64_t> verdicts = {{"allow", 0}, {"deny", 0}, {"ask", 0}};
  for (const auto& [verdict, tally] : KindOf(tallies, "verdict")) verdicts[verdict] = tally.count;
  const std::int64_t newest = tallies.minutes.empty() ? 0 : tallies.minutes.rbegin()->first;
  const std::int64_t window_end = newest + 60;  // the newest decision's minute, included
  Json minutes = Json::array();
  for (std::int64_t i = 0; i < 60; ++i) {
    const std::int64_t minute = window_end - (60 - i) * 60;
    Json bucket = {{"minute", minute}, {"allow", 0}, {"deny", 0}, {"ask", 0}};
    if (auto found = tallies.minutes.find(minute); found != tallies.minutes.end()) {
      for (const auto& [verdict, count] : found->second) {
        if (bucket.contains(verdict)) bucket[verdict] = count;
      }
    }
    minutes.push_back(std::move(bucket));
  }
  auto top = [&tallies](const std::string& kind) {
    std::vector<std::pair<std::string, std::uint64_t>> sorted;
    for (const auto& [name, tally] : KindOf(tallies, kind)) sorted.emplace_back(name, tally.count);
    std::stable_sort(sorted.begin(), sorted.end(), [](const auto& a, const auto& b) { return a.second > b.second; });
    Json out = Json::array();
    for (std::size_t i = 0; i < sorted.size() && i < kTop; ++i)
      out.push_back({{"name", sorted[i].first}, {"count", sorted[i].second}});
    return out;
  };
  std::map<std::string, std::uint64_t> asks;
  for (const auto& [answer, tally] : KindOf(tallies, "ask_outcome")) asks[answer] = tally.count;
  Json last_checkpoint = nullptr;
  if (!tallies.last_checkpoint.empty()) {
    last_checkpoint = ParsedOr(tallies.last_checkpoint, nullptr);
    if (last_checkpoint.is_object()) {
      last_checkpoint["certified"] = last_checkpoint.value("seq", std::uint64_t{0}) < index.Records()->tree_size();
    }
  }
  const Verification& verification = verified.value();
  return Json{{"version", 1},
              {"report", verification.report},
              {"verified_at_ns", verification.verified_at_ns},
              {"verify_seconds", verification.seconds},
              {"verifying", verification.running},
              {"generation", index.generation()},
              {"durability",
               {{"log_bytes", index.log_size()},
                {"last_write_ns", index.log_modified_ns()},
                {"last_write_age_seconds", CheckpointAgeSeconds(index, now_ns)},
                {"checkpoints", tallies.checkpoints},
                {"last_checkpoint", last_checkpoint}}},
              {"verdicts", verdicts},
              {"per_minute", minutes},
              {"top_denied_programs", top("denied_program")},
              {"top_denied_rules", top("denied_rule")},
              {"ask_outcomes", asks},
              {"outcomes", top("outcome")},
              {"host", host}};
}

ErrorOr<Json> Policies(LineageIndex& index, const std::vector<KnownPolicy>& known) {
  auto counted = index.Tallies();
  if (!counted.ok()) return counted.error();
  const IndexTallies& tallies = counted.value();
  const auto& labels = tallies.labels;
  auto label = [&labels](const std::string& kind, const std::string& key) {
    const auto of_kind = labels.find(kind);
    if (of_kind == labels.end()) return Json::object();
    const auto found = of_kind->second.find(key);
    return found == of_kind->second.end() ? Json::object() : ParsedOr(found->second, Json::object());
  };
  std::map<std::string, Json> by_digest;
  for (const auto& [digest, tally] : KindOf(tallies, "policy")) {
    const Json names = label("policy", digest);
    by_digest[digest] = {{"digest", digest},
                         {"name", names.value("name", "")},
                         {"version", names.value("version", "")},
                         {"engine", names.value("engine", Json(""))},
                         {"decisions", tally.count},
                         {"rules", Json::object()}};
  }
  for (const auto& [key, tally] : KindOf(tallies, "rule")) {
    const Json pair = ParsedOr(key, Json::array());
    if (!pair.is_array() || pair.size() != 2 || !pair[0].is_string() || !pair[1].is_string()) continue;
    const std::string digest = pair[0], name = pair[1];
    const Json seen = label("rule", key);
    by_digest[digest]["rules"][name] = {{"name", name},
                                        {"verdict", seen.value("verdict", "")},
                                        {"reason", seen.value("reason", "")},
                                        {"decisions", tally.count}};
  }
  std::map<std::string, std::map<std::uint64_t, std::uint64_t>> decisions_by_rule_id;
  for (const auto& [key, tally] : KindOf(tallies, "rule_id")) {
    const Json pair = ParsedOr(key, Json::array());
    if (pair.is_array() && pair.size() == 2 && pair[0].is_string() && pair[1].is_number_unsigned()) {
      decisions_by_rule_id[pair[0].get<std::string>()][pair[1].get<std::uint64_t>()] = tally.count;
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
  return Json{{"version", 1}, {"policies", out}};
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

ErrorOr<std::string> Metrics(LineageIndex& index, std::int64_t now_ns, const std::string& service_metrics) {
  auto verified = VerificationOf(index);
  if (!verified.ok()) return verified.error();
  auto counted = index.Tallies();
  if (!counted.ok()) return counted.error();
  const IndexTallies& tallies = counted.value();
  std::map<std::pair<std::string, std::string>, std::uint64_t> decisions;
  for (const auto& [key, tally] : KindOf(tallies, "decision")) {
    const Json pair = ParsedOr(key, Json::array());
    if (pair.is_array() && pair.size() == 2 && pair[0].is_string() && pair[1].is_string()) {
      decisions[{pair[0].get<std::string>(), pair[1].get<std::string>()}] += tally.count;
    }
  }
  std::map<std::string, std::uint64_t> ended;
  for (const auto& [how, tally] : KindOf(tallies, "ended")) ended[how] = tally.count;
  const Histogram durations = HistogramOf(tallies, "hist.duration", RunIndex::DurationBounds());
  // From the start records (the supervisor's own measurements; logs written
  // before they carried them count nothing here).
  const Histogram decision_latency = HistogramOf(tallies, "hist.decision", Histogram::LatencyBounds());
  const Histogram exec_latency = HistogramOf(tallies, "hist.exec", Histogram::LatencyBounds());
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
  const Json& report = verified.value().report;
  out += "# HELP gov_lineage_records Records in the lineage log's chain.\n# TYPE gov_lineage_records gauge\n";
  out += fmt::format("gov_lineage_records {}\n", report.value("records", 0));
  out += "# HELP gov_lineage_certified_records Records covered by the last verified checkpoint.\n";
  out += "# TYPE gov_lineage_certified_records gauge\n";
  out += fmt::format("gov_lineage_certified_records {}\n", report.value("certified", 0));
  out += "# HELP gov_lineage_bytes Size of the lineage log.\n# TYPE gov_lineage_bytes gauge\n";
  out += fmt::format("gov_lineage_bytes {}\n", index.log_size());
  out +=
      "# HELP gov_lineage_last_write_age_seconds Seconds since the log was last written (its last checkpoint or "
      "record).\n";
  out += "# TYPE gov_lineage_last_write_age_seconds gauge\n";
  out += fmt::format("gov_lineage_last_write_age_seconds {}\n", CheckpointAgeSeconds(index, now_ns));
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
  out += fmt::format("gov_lineage_verify_seconds {}\n", verified.value().seconds);
  if (IsServiceMetricsText(service_metrics)) out += service_metrics;
  return out;
}

}  // namespace gov::console
