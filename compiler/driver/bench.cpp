// `govc bench` (docs/govc.md "bench"): build, bundle size, load+verify as
// govrun loads, and decisions of a user's requests.
#include "compiler/driver/bench.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <deque>
#include <nlohmann/json.hpp>
#include <optional>

#include "compiler/codegen/codegen.h"
#include "runtime/bundle/bundle.h"
#include "runtime/interp/interp.h"

namespace gov::driver {
namespace {

using Clock = std::chrono::steady_clock;

double Since(Clock::time_point start, double unit) {
  return std::chrono::duration<double>(Clock::now() - start).count() * unit;
}

Spread SpreadOf(std::vector<double> values) {
  if (values.empty()) return {};
  std::sort(values.begin(), values.end());
  const std::size_t p99 = std::min(values.size() - 1, (values.size() * 99) / 100);
  return {values[values.size() / 2], values[p99]};
}

// Per-decision time (ns) of `batches` batches, each deciding every view
// `repeat` times with `decide`.
template <typename DecideFn>
Spread TimeDecisions(const DecideFn& decide, const std::deque<request::RequestView>& views, int batches,
                     std::size_t repeat) {
  std::vector<double> per_decision;
  gov_decision decision{};
  std::uint64_t sink = 0;
  for (int batch = 0; batch < batches; ++batch) {
    const auto start = Clock::now();
    for (std::size_t r = 0; r < repeat; ++r) {
      for (const request::RequestView& view : views) {
        sink += decide(view.get(), decision);
      }
    }
    per_decision.push_back(Since(start, 1e9) / static_cast<double>(repeat * views.size()));
  }
  if (sink == 0xffffffffffffffffull) per_decision.push_back(0);  // keeps the loop observable
  return SpreadOf(std::move(per_decision));
}

Spread TimeDecisions(const bundle::LoadedPolicy& policy, const std::deque<request::RequestView>& views, int batches,
                     std::size_t repeat) {
  return TimeDecisions([&](const gov_request& r, gov_decision& d) { return policy.Decide(r, d); }, views, batches,
                       repeat);
}

// The median per decision of `policy` compiled by the JIT as govc build
// compiles it (default target and optimization).
ErrorOr<double> JitMedian(const ir::Policy& policy, const std::deque<request::RequestView>& views, int batches,
                          std::size_t repeat) {
  std::optional<ErrorOr<std::unique_ptr<codegen::JitPolicy>>> compiled;
  RunWithLargeStack([&] { compiled.emplace(codegen::JitPolicy::Compile(policy)); });
  if (!compiled->ok()) return compiled->error();
  const codegen::JitPolicy& jit = *compiled->value();
  return TimeDecisions([&](const gov_request& r, gov_decision& d) { return jit.Decide(r, d); }, views, batches, repeat)
      .median;
}

// BenchReport::per_rule: each rule compiled alone, beside the policy with
// none, deciding the same requests.
ErrorOr<void> MeasureRules(const ir::Policy& policy, const std::deque<request::RequestView>& views, int batches,
                           std::size_t repeat, BenchReport& report) {
  ir::Policy alone = policy;
  alone.rules.clear();
  GOV_ASSIGN_OR_RETURN(double base, JitMedian(alone, views, batches, repeat));
  report.no_rules_ns = base;
  for (const ir::Rule& rule : policy.rules) {
    alone.rules = {rule};
    GOV_ASSIGN_OR_RETURN(double median, JitMedian(alone, views, batches, repeat));
    report.per_rule.push_back(
        {rule.name, interp::VerdictName(static_cast<std::uint32_t>(rule.verdict)), std::max(0.0, median - base)});
  }
  std::stable_sort(
      report.per_rule.begin(), report.per_rule.end(),
      [](const BenchReport::RuleCost& a, const BenchReport::RuleCost& b) { return a.native_ns > b.native_ns; });
  return {};
}

std::string Bytes(std::uint64_t bytes) { return std::to_string(bytes); }

}  // namespace

ErrorOr<BenchInput> BenchInputFromSource(const LoweredPolicy& lowered, double check_lower_ms) {
  GOV_ASSIGN_OR_RETURN(crypto::PrivateKey key, crypto::PrivateKey::Generate());
  BuildOptions options;
  options.created_unix = 0;
  std::optional<ErrorOr<std::string>> built;
  const auto start = Clock::now();
  RunWithLargeStack([&] { built.emplace(BuildBundle(lowered, key, options)); });
  const double native_ms = Since(start, 1e3);
  if (!built->ok()) return built->error();
  BenchInput input;
  input.bundle = std::move(*built).value();
  input.trusted = {key.public_key()};
  for (const lower::LoweredTest& test : lowered.tests) input.requests.push_back(test.request);
  input.requests_from = fmt::format("the policy's {} test case{}", lowered.tests.size(),
                                    lowered.tests.size() == 1 ? "" : "s");
  input.check_lower_ms = check_lower_ms;
  input.native_code_ms = native_ms;
  return input;
}

ErrorOr<std::vector<request::Request>> ReadRequestLines(const std::string& text,
                                                        const std::vector<ir::ContextField>& context) {
  std::vector<request::Request> requests;
  std::size_t line_number = 0, start = 0;
  while (start < text.size()) {
    std::size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    const std::string_view line(text.data() + start, end - start);
    ++line_number;
    start = end + 1;
    if (line.find_first_not_of(" \t\r") == std::string_view::npos) continue;
    auto request = request::RequestFromJson(line, context);
    if (!request.ok()) return Error{fmt::format("line {}: {}", line_number, request.error().message)};
    requests.push_back(std::move(request).value());
  }
  return requests;
}

ErrorOr<BenchReport> RunBench(const BenchInput& input, const BenchOptions& options) {
  if (input.requests.empty()) {
    return Error{"no requests to decide: the policy has no test cases; give --requests FILE.jsonl"};
  }
  BenchReport report;
  report.check_lower_ms = input.check_lower_ms;
  report.native_code_ms = input.native_code_ms;
  report.bundle_bytes = input.bundle.size();
  GOV_ASSIGN_OR_RETURN(bundle::Framing framing, bundle::ParseFraming(input.bundle));
  for (const bundle::Section& section : framing.sections) {
    if (section.type == bundle::kSectionNative) report.native_bytes = section.bytes.size();
    if (section.type == bundle::kSectionIr) report.ir_bytes = section.bytes.size();
  }
  // Loaded as govrun loads it (the IR decoded only on demand).
  bundle::LoadOptions as_govrun;
  as_govrun.decode_ir = false;
  std::vector<double> loads;
  std::optional<bundle::LoadedPolicy> native;
  for (int round = 0; round < std::max(1, options.load_rounds); ++round) {
    const auto start = Clock::now();
    auto loaded = bundle::LoadBundle(input.bundle, input.trusted, as_govrun);
    loads.push_back(Since(start, 1e6));
    if (!loaded.ok()) return loaded.error();
    native.emplace(std::move(loaded).value());
  }
  report.load_verify_us = SpreadOf(loads);
  report.engine = native->engine();
  bundle::LoadOptions interpreted;
  interpreted.allow_native = false;
  GOV_ASSIGN_OR_RETURN(bundle::LoadedPolicy interp, bundle::LoadBundle(input.bundle, input.trusted, interpreted));
  report.policy_name = interp.policy().name;
  report.policy_version = interp.policy().version;
  report.rules = interp.policy().rules.size();

  std::deque<request::RequestView> views;  // not movable: built in place
  for (const request::Request& request : input.requests) views.emplace_back(request);
  for (const request::RequestView& view : views) {
    gov_decision decision{};
    interp.Decide(view.get(), decision);
    ++report.verdicts[decision.error != GOV_OK ? "error" : interp::VerdictName(decision.verdict)];
  }
  report.requests = views.size();
  report.requests_from = input.requests_from;
  const std::size_t repeat = std::max<std::size_t>(1, 1000 / views.size());
  report.batch_decisions = repeat * views.size();
  if (native->native()) report.native_ns = TimeDecisions(*native, views, options.decision_batches, repeat);
  report.interp_ns = TimeDecisions(interp, views, options.decision_batches, repeat);
  if (options.per_rule && !native->native()) {
    return Error{"--per-rule measures native code, which does not run here: " + report.engine};
  }
  if (options.per_rule) {
    // Fewer batches per rule: a policy of 100 rules is 101 compiles and timings.
    const int batches = std::max(1, options.decision_batches / 4);
    GOV_RETURN_IF_ERROR(MeasureRules(interp.policy(), views, batches, repeat, report));
  }
  return report;
}

std::string RenderBenchText(const BenchReport& report) {
  std::string out = fmt::format("policy {} {}: {} rule{}\n", report.policy_name, report.policy_version, report.rules,
                                report.rules == 1 ? "" : "s");
  if (report.check_lower_ms && report.native_code_ms) {
    out += fmt::format("  build: {:.1f} ms (check + lower {:.1f} ms, native code + link + sign {:.1f} ms)\n",
                       *report.check_lower_ms + *report.native_code_ms, *report.check_lower_ms,
                       *report.native_code_ms);
  }
  out += fmt::format("  bundle: {} bytes (native code {}, IR {})\n", Bytes(report.bundle_bytes),
                     Bytes(report.native_bytes), Bytes(report.ir_bytes));
  out += fmt::format("  load + verify as govrun loads it: median {:.1f} µs, p99 {:.1f} µs\n",
                     report.load_verify_us.median, report.load_verify_us.p99);
  out += fmt::format("  decisions of {} request{} ({}), batches of {}:\n", report.requests,
                     report.requests == 1 ? "" : "s", report.requests_from, report.batch_decisions);
  if (report.native_ns.median > 0) {
    out += fmt::format("    native code    median {:.1f} ns, p99 {:.1f} ns\n", report.native_ns.median,
                       report.native_ns.p99);
  } else {
    out += fmt::format("    native code    not used here: {}\n", report.engine);
  }
  out += fmt::format("    interpreter    median {:.1f} ns, p99 {:.1f} ns\n", report.interp_ns.median,
                     report.interp_ns.p99);
  std::string verdicts;
  for (const auto& [verdict, count] : report.verdicts) {
    verdicts += fmt::format("{}{} {}", verdicts.empty() ? "" : ", ", verdict, count);
  }
  out += "  verdicts: " + verdicts + "\n";
  if (report.no_rules_ns) {
    out += fmt::format("  per rule (each compiled alone; native median per decision beyond the {:.1f} ns of none):\n",
                       *report.no_rules_ns);
    std::size_t width = 4;
    for (const BenchReport::RuleCost& rule : report.per_rule) width = std::max(width, rule.name.size());
    for (const BenchReport::RuleCost& rule : report.per_rule) {
      out += fmt::format("    {:<{}}  {:<5} {:>10.1f} ns\n", rule.name, width, rule.verdict, rule.native_ns);
    }
  }
  return out;
}

std::string RenderBenchJson(const BenchReport& report) {
  nlohmann::json out = {
      {"version", 1},
      {"policy", {{"name", report.policy_name}, {"version", report.policy_version}, {"rules", report.rules}}},
      {"bundle", {{"bytes", report.bundle_bytes}, {"native_bytes", report.native_bytes}, {"ir_bytes", report.ir_bytes}}},
      {"load_verify_us", {{"median", report.load_verify_us.median}, {"p99", report.load_verify_us.p99}}},
      {"engine", report.engine},
      {"requests", {{"count", report.requests}, {"from", report.requests_from}}},
      {"batch_decisions", report.batch_decisions},
      {"interpreter_ns", {{"median", report.interp_ns.median}, {"p99", report.interp_ns.p99}}},
      {"verdicts", report.verdicts}};
  out["native_ns"] = report.native_ns.median > 0
                         ? nlohmann::json{{"median", report.native_ns.median}, {"p99", report.native_ns.p99}}
                         : nlohmann::json(nullptr);
  if (report.no_rules_ns) {
    nlohmann::json rules = nlohmann::json::array();
    for (const BenchReport::RuleCost& rule : report.per_rule) {
      rules.push_back({{"rule", rule.name}, {"verdict", rule.verdict}, {"native_ns", rule.native_ns}});
    }
    out["per_rule"] = {{"no_rules_ns", *report.no_rules_ns}, {"rules", std::move(rules)}};
  }
  out["build_ms"] = report.check_lower_ms && report.native_code_ms
                        ? nlohmann::json{{"check_lower", *report.check_lower_ms},
                                         {"native_code", *report.native_code_ms},
                                         {"total", *report.check_lower_ms + *report.native_code_ms}}
                        : nlohmann::json(nullptr);
  return out.dump(2) + "\n";
}

}  // namespace gov::driver
