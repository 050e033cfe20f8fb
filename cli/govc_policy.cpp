// govc keygen / build / eval / test / check --cost (see govc_policy.h).
#include "cli/govc_policy.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>

#include "compiler/codegen/codegen.h"
#include "compiler/driver/bench.h"
#include "compiler/driver/build.h"
#include "compiler/driver/decider.h"
#include "compiler/driver/diff.h"
#include "compiler/driver/driver.h"
#include "compiler/driver/test_runner.h"
#include "compiler/lower/cost.h"
#include "runtime/abi/helpers.h"
#include "runtime/bundle/loader.h"
#include "runtime/crypto/ed25519.h"
#include "runtime/crypto/fast_sha256.h"
#include "runtime/crypto/sha256.h"
#include "runtime/interp/interp.h"
#include "runtime/request/request.h"
#include "runtime/support/input_file.h"
#include "runtime/support/output_file.h"

namespace gov::cli {

using driver::Decider;
using driver::DescribeObligations;
using driver::ObligationsJson;

int ToolFailure(const std::string& message) {
  std::fprintf(stderr, "govc: error: %s\n", message.c_str());
  return kExitToolFailure;
}

namespace {

ColorMode color_mode = ColorMode::kAuto;

}  // namespace

void SetColorMode(ColorMode mode) {
  color_mode = mode;
}

bool UseColor(FILE* stream) {
  switch (color_mode) {
    case ColorMode::kAlways:
      return true;
    case ColorMode::kNever:
      return false;
    case ColorMode::kAuto:
      break;
  }
  // NO_COLOR (no-color.org): set and not empty.
  const char* no_color = std::getenv("NO_COLOR");
  return isatty(fileno(stream)) != 0 && (no_color == nullptr || *no_color == '\0');
}

namespace {

// Prints a compilation's diagnostics (text, stderr); true when it has errors.
bool PrintDiagnostics(driver::Compilation& c) {
  c.diagnostics.Sort();
  std::fputs(diagnostics::RenderText(c.sources, c.diagnostics.diagnostics(), UseColor(stderr)).c_str(), stderr);
  return c.diagnostics.HasErrors();
}

// Lowers `path` on a large stack; diagnostics are printed. Errors: tool
// failures; `ok` is false when the policy has errors.
ErrorOr<driver::LoweredPolicy> LowerAndReport(const std::string& path, bool& ok) {
  std::optional<ErrorOr<driver::LoweredPolicy>> result;
  driver::RunWithLargeStack([&] { result.emplace(driver::LowerPolicy(path)); });
  if (!result->ok()) return result->error();
  ok = !PrintDiagnostics(*result->value().compilation);
  return std::move(*result).value();
}

// Exactly one policy file from `paths` (folders expanded).
ErrorOr<std::string> SinglePolicy(const std::vector<std::string>& paths, const char* command) {
  GOV_ASSIGN_OR_RETURN(std::vector<std::string> files, driver::ExpandPaths(paths));
  if (files.size() != 1) {
    return Error{fmt::format("`govc {}` takes exactly one policy file (its imports are found automatically); got {}",
                             command, files.size())};
  }
  return files.front();
}

}  // namespace

int RunKeygen(const std::string& name, bool force) {
  if (name.empty()) return ToolFailure("keygen needs a NAME");
  ErrorOr<crypto::PrivateKey> key = crypto::PrivateKey::Generate();
  if (!key.ok()) return ToolFailure(key.error().message);
  std::string private_path = name + ".key";
  std::string public_path = name + ".pub";
  if (!force) {
    for (const std::string& path : {private_path, public_path}) {
      if (access(path.c_str(), F_OK) == 0) {
        return ToolFailure(fmt::format("{} exists; use --force to replace it", path));
      }
    }
  }
  if (ErrorOr<void> written = crypto::WritePrivateKeyFile(private_path, key.value(), force); !written.ok()) {
    return ToolFailure(written.error().message);
  }
  if (ErrorOr<void> written = crypto::WritePublicKeyFile(public_path, key.value().public_key(), force);
      !written.ok()) {
    return ToolFailure(written.error().message);
  }
  std::printf("wrote %s (private key, mode 0600) and %s (public key); key id %s\n", private_path.c_str(),
              public_path.c_str(), key.value().public_key().IdHex().c_str());
  return kExitOk;
}

int RunBuild(const BuildArgs& args) {
  ErrorOr<std::string> path = SinglePolicy(args.paths, "build");
  if (!path.ok()) return ToolFailure(path.error().message);
  ErrorOr<crypto::PrivateKey> key = crypto::ReadPrivateKeyFile(args.key_path);
  if (!key.ok()) return ToolFailure(key.error().message);
  driver::BuildOptions options;
  options.native = args.native;
  options.codegen.cpu = args.cpu;
  options.codegen.opt_level = args.opt_level;
  bool ok = false;
  ErrorOr<driver::LoweredPolicy> lowered = LowerAndReport(path.value(), ok);
  if (!lowered.ok()) return ToolFailure(lowered.error().message);
  if (!ok) {
    std::fprintf(stderr, "govc: %s has errors; no bundle was written\n", path.value().c_str());
    return kExitFindings;
  }
  // A policy is not shipped while its own tests fail (with the interpreter,
  // which native code is checked against by `govc test`).
  if (!args.skip_tests) {
    driver::TestRunOptions test_options;
    test_options.interp = true;
    ErrorOr<driver::PolicyTestReport> tested = driver::RunPolicyTests(path.value(), lowered.value(), test_options);
    if (!tested.ok()) return ToolFailure(tested.error().message);
    if (const std::size_t failed = tested.value().failed(); failed > 0) {
      std::fputs(driver::RenderTestText(tested.value()).failures.c_str(), stderr);
      std::fprintf(stderr,
                   "govc: %zu of %zu test case%s of %s fail%s; no bundle was written (--skip-tests builds anyway)\n",
                   failed, tested.value().cases.size(), tested.value().cases.size() == 1 ? "" : "s",
                   path.value().c_str(), failed == 1 ? "s" : "");
      return kExitFindings;
    }
    options.tests = driver::BuildTestsOf(tested.value());
  }
  // Reproducible builds: SOURCE_DATE_EPOCH, when set, is the creation time.
  options.created_unix = static_cast<std::int64_t>(std::time(nullptr));
  if (const char* epoch = std::getenv("SOURCE_DATE_EPOCH"); epoch != nullptr && *epoch != '\0') {
    char* end = nullptr;
    errno = 0;
    long long value = std::strtoll(epoch, &end, 10);
    if (errno != 0 || *end != '\0' || value < 0 || value > 253402300799LL) {
      return ToolFailure(fmt::format("SOURCE_DATE_EPOCH `{}` is not a time in seconds", epoch));
    }
    options.created_unix = value;
  }
  if (!args.emit_llvm.empty()) {
    ErrorOr<std::string> text = codegen::EmitLlvmIr(lowered.value().policy, /*optimized=*/true, options.codegen);
    if (!text.ok()) return ToolFailure(text.error().message);
    if (ErrorOr<void> written = output::WriteOutputFile(args.emit_llvm, text.value()); !written.ok()) {
      return ToolFailure(written.error().message);
    }
  }
  std::optional<ErrorOr<std::string>> bundle;
  driver::RunWithLargeStack([&] { bundle.emplace(driver::BuildBundle(lowered.value(), key.value(), options)); });
  if (!bundle->ok()) return ToolFailure(bundle->error().message);
  if (ErrorOr<void> written = output::WriteOutputFile(args.output, bundle->value()); !written.ok()) {
    return ToolFailure(written.error().message);
  }
  const ir::Policy& policy = lowered.value().policy;
  // With `-o -` the bundle is standard output: the summary goes to stderr.
  FILE* summary = args.output == "-" || args.emit_llvm == "-" ? stderr : stdout;
  std::fprintf(summary, "wrote %s: policy %s %s, %zu rule%s, %s, %zu bytes, %s, signed by key %s\n",
               args.output == "-" ? "standard output" : args.output.c_str(), policy.name.c_str(),
               policy.version.c_str(), policy.rules.size(), policy.rules.size() == 1 ? "" : "s",
               args.native ? "native code + IR" : "IR only", bundle->value().size(),
               crypto::DigestString(crypto::FastSha256(bundle->value())).c_str(),
               key.value().public_key().IdHex().c_str());
  return kExitOk;
}

namespace {

// Why no allow rule applied, for a default deny.
nlohmann::json WhyNotAllowed(const interp::PreparedPolicy& prepared, const gov_request& request) {
  nlohmann::json out = nlohmann::json::array();
  const ir::Policy& policy = prepared.policy();
  for (std::uint32_t id = 0; id < policy.rules.size(); ++id) {
    const ir::Rule& rule = policy.rules[id];
    if (rule.verdict != ir::Verdict::kAllow) continue;
    interp::RuleTrace trace = interp::TraceRule(prepared, request, id);
    nlohmann::json item{{"rule", rule.name}, {"id", id}};
    if (!trace.candidate) {
      item["why"] = "not considered";
      std::vector<std::string> keys;
      for (const std::string& p : rule.index.paths) keys.push_back("program.path " + p);
      for (const std::string& n : rule.index.names) keys.push_back("program.name " + n);
      std::string joined;
      for (const std::string& key : keys) joined += (joined.empty() ? "" : ", ") + key;
      item["detail"] = "applies only to " + joined;
    } else if (trace.first_failing != interp::RuleTrace::kNone) {
      item["why"] = trace.error != GOV_OK ? "condition failed" : "condition false";
      item["detail"] =
          trace.conjuncts > 1
              ? fmt::format("operand {} of {} of the top-level `and` is {}", trace.first_failing + 1, trace.conjuncts,
                            trace.error != GOV_OK ? std::string(interp::ErrorName(trace.error)) : "false")
              : (trace.error != GOV_OK ? std::string(interp::ErrorName(trace.error)) : "the condition is false");
    } else {
      item["why"] = "matched";
      item["detail"] = "the condition holds";
    }
    out.push_back(std::move(item));
  }
  return out;
}

}  // namespace

int RunBenchCommand(const BenchArgs& args) {
  if (args.bundle.empty() == args.paths.empty()) {
    return ToolFailure("give either a policy file or --bundle FILE.govb");
  }
  driver::BenchInput input;
  std::vector<ir::ContextField> context;
  if (!args.bundle.empty()) {
    if (args.trusted_keys.empty()) {
      return ToolFailure("--bundle needs at least one --trust KEY.pub to verify the bundle's signature");
    }
    if (args.requests.empty()) return ToolFailure("--bundle needs --requests FILE.jsonl (a bundle holds no tests)");
    for (const std::string& key_path : args.trusted_keys) {
      ErrorOr<crypto::PublicKey> key = crypto::ReadPublicKeyFile(key_path);
      if (!key.ok()) return ToolFailure(key.error().message);
      input.trusted.push_back(key.value());
    }
    ErrorOr<std::string> bytes = input::ReadInputFile(args.bundle, bundle::kMaxBundleSize);
    if (!bytes.ok()) return ToolFailure(bytes.error().message);
    ErrorOr<bundle::LoadedPolicy> policy = bundle::LoadBundle(bytes.value(), input.trusted);
    if (!policy.ok())
      return ToolFailure(fmt::format("{}: {}", input::DisplayName(args.bundle), policy.error().message));
    context = policy.value().policy().context;
    input.bundle = std::move(bytes).value();
  } else {
    ErrorOr<std::string> path = SinglePolicy(args.paths, "bench");
    if (!path.ok()) return ToolFailure(path.error().message);
    bool ok = false;
    const auto started = std::chrono::steady_clock::now();
    ErrorOr<driver::LoweredPolicy> lowered = LowerAndReport(path.value(), ok);
    const double lower_ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started).count();
    if (!lowered.ok()) return ToolFailure(lowered.error().message);
    if (!ok) return kExitFindings;
    ErrorOr<driver::BenchInput> built = driver::BenchInputFromSource(lowered.value(), lower_ms);
    if (!built.ok()) return ToolFailure(built.error().message);
    input = std::move(built).value();
    context = lowered.value().policy.context;
  }
  if (!args.requests.empty()) {
    ErrorOr<std::string> text = input::ReadInputFile(args.requests, 256u << 20);
    if (!text.ok()) return ToolFailure(text.error().message);
    ErrorOr<std::vector<request::Request>> requests = driver::ReadRequestLines(text.value(), context);
    if (!requests.ok()) {
      return ToolFailure(fmt::format("{}: {}", input::DisplayName(args.requests), requests.error().message));
    }
    input.requests = std::move(requests).value();
    input.requests_from = input::DisplayName(args.requests);
  }
  driver::BenchOptions options;
  options.decision_batches = args.rounds;
  options.per_rule = args.per_rule;
  ErrorOr<driver::BenchReport> report = driver::RunBench(input, options);
  if (!report.ok()) return ToolFailure(report.error().message);
  const std::string out =
      args.format == "json" ? driver::RenderBenchJson(report.value()) : driver::RenderBenchText(report.value());
  std::fputs(out.c_str(), stdout);
  return 0;
}

int RunEval(const EvalArgs& args) {
  if (args.bundle.empty() == args.paths.empty()) {
    return ToolFailure("give either a policy file or --bundle FILE.govb");
  }
  const bool policy_on_stdin =
      args.bundle == input::kStandardInput ||
      std::find(args.paths.begin(), args.paths.end(), input::kStandardInput) != args.paths.end();
  if (policy_on_stdin && args.request == input::kStandardInput) {
    return ToolFailure("standard input (`-`) can hold the policy or the request, not both");
  }
  // The policy: from source (compiled here) or from a verified bundle.
  std::optional<driver::LoweredPolicy> lowered;
  std::optional<bundle::LoadedPolicy> loaded;
  std::unique_ptr<Decider> decider;
  std::string engine;
  if (!args.bundle.empty()) {
    if (args.trusted_keys.empty()) {
      return ToolFailure("--bundle needs at least one --trust KEY.pub to verify the bundle's signature");
    }
    std::vector<crypto::PublicKey> trusted;
    for (const std::string& key_path : args.trusted_keys) {
      ErrorOr<crypto::PublicKey> key = crypto::ReadPublicKeyFile(key_path);
      if (!key.ok()) return ToolFailure(key.error().message);
      trusted.push_back(key.value());
    }
    bundle::LoadOptions options;
    options.allow_native = !args.interp;
    options.prepare_interpreter = true;  // explanations use the interpreter's form
    ErrorOr<bundle::LoadedPolicy> policy = Error{""};
    if (args.bundle == input::kStandardInput) {
      ErrorOr<std::string> bytes = input::ReadInputFile(args.bundle, bundle::kMaxBundleSize);
      if (!bytes.ok()) return ToolFailure(bytes.error().message);
      policy = bundle::LoadBundle(bytes.value(), trusted, options);
    } else {
      policy = bundle::LoadBundleFile(args.bundle, trusted, options);
    }
    if (!policy.ok()) {
      return ToolFailure(fmt::format("{}: {}", input::DisplayName(args.bundle), policy.error().message));
    }
    loaded.emplace(std::move(policy).value());
    engine = loaded->engine();
  } else {
    ErrorOr<std::string> path = SinglePolicy(args.paths, "eval");
    if (!path.ok()) return ToolFailure(path.error().message);
    bool ok = false;
    ErrorOr<driver::LoweredPolicy> result = LowerAndReport(path.value(), ok);
    if (!result.ok()) return ToolFailure(result.error().message);
    if (!ok) return kExitFindings;
    lowered.emplace(std::move(result).value());
    ErrorOr<std::unique_ptr<Decider>> created = Decider::Create(lowered->policy, args.interp);
    if (!created.ok()) return ToolFailure(created.error().message);
    decider = std::move(created).value();
    engine = decider->engine();
  }
  const interp::PreparedPolicy& prepared = loaded ? loaded->prepared() : decider->prepared();
  const ir::Policy& policy = prepared.policy();

  ErrorOr<std::string> text = input::ReadInputFile(args.request, 16u << 20);
  if (!text.ok()) return ToolFailure(text.error().message);
  ErrorOr<request::Request> parsed = request::RequestFromJson(text.value(), policy.context);
  if (!parsed.ok()) {
    return ToolFailure(fmt::format("{}: {}", input::DisplayName(args.request), parsed.error().message));
  }
  request::RequestView view(parsed.value());
  gov_decision decision{};
  if (loaded) {
    loaded->Decide(view.get(), decision);
  } else if (ErrorOr<void> decided = decider->Decide(view.get(), decision); !decided.ok()) {
    return ToolFailure(decided.error().message);
  }

  interp::Explanation explanation = interp::Explain(policy, decision);
  ir::Obligations obligations = interp::MergeObligations(policy, decision);
  bool default_deny = decision.verdict == GOV_DENY && decision.error == GOV_OK && decision.rule_count == 0;
  nlohmann::json why = default_deny ? WhyNotAllowed(prepared, view.get()) : nlohmann::json::array();

  if (args.format == "json") {
    nlohmann::json out;
    out["version"] = 1;  // of this document (docs/schemas/govc-eval.schema.json)
    out["policy"] = {{"name", policy.name}, {"version", policy.version}};
    out["engine"] = engine;
    out["verdict"] = explanation.verdict;
    out["error"] = explanation.error.empty() ? nlohmann::json() : nlohmann::json(explanation.error);
    out["summary"] = explanation.summary;
    auto rules_json = [](const std::vector<interp::ExplainedRule>& rules) {
      nlohmann::json list = nlohmann::json::array();
      for (const interp::ExplainedRule& rule : rules) {
        list.push_back({{"id", rule.id},
                        {"name", rule.name},
                        {"verdict", interp::VerdictName(static_cast<std::uint32_t>(rule.verdict))},
                        {"reason", rule.reason}});
      }
      return list;
    };
    out["rules"] = rules_json(explanation.rules);
    // For an ask: the matching allow rules whose obligations apply if it is approved.
    out["obligation_rules"] = rules_json(explanation.obligation_rules);
    out["obligations"] = ObligationsJson(obligations);
    if (default_deny) out["not_allowed"] = why;
    std::printf("%s\n", out.dump(2, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
    return kExitOk;
  }
  std::printf("%s\n", explanation.summary.c_str());
  // The rules one by one, unless the summary names the only one.
  if (explanation.rules.size() + explanation.obligation_rules.size() > 1) {
    for (const interp::ExplainedRule& rule : explanation.rules) {
      std::printf("  %s %s%s\n", interp::VerdictName(static_cast<std::uint32_t>(rule.verdict)), rule.name.c_str(),
                  rule.reason.empty() ? "" : fmt::format(": {}", rule.reason).c_str());
    }
    for (const interp::ExplainedRule& rule : explanation.obligation_rules) {
      std::printf("  %s %s (obligations only)%s\n", interp::VerdictName(static_cast<std::uint32_t>(rule.verdict)),
                  rule.name.c_str(), rule.reason.empty() ? "" : fmt::format(": {}", rule.reason).c_str());
    }
  }
  auto described = DescribeObligations(obligations);
  if (!described.empty()) {
    std::printf(decision.verdict == GOV_ASK ? "obligations if approved:\n" : "obligations:\n");
    for (const auto& [key, value] : described) std::printf("  %s = %s\n", key.c_str(), value.c_str());
  }
  if (default_deny) {
    if (why.empty()) {
      std::printf("why: the policy has no allow rule\n");
    } else {
      std::printf("why no allow rule applied:\n");
      for (const nlohmann::json& item : why) {
        std::printf("  %s: %s (%s)\n", item["rule"].get<std::string>().c_str(),
                    item["why"].get<std::string>().c_str(), item["detail"].get<std::string>().c_str());
      }
    }
  }
  std::printf("engine: %s\n", engine.c_str());
  return kExitOk;
}

namespace {

// Parses a decimal percentage "N", "N.M" into value/10^scale.
std::optional<std::pair<std::uint64_t, std::uint32_t>> ParsePercentage(const std::string& text) {
  std::uint64_t value = 0;
  std::uint32_t scale = 0;
  bool dot = false;
  bool digits = false;
  for (char c : text) {
    if (c == '.' && !dot) {
      dot = true;
      continue;
    }
    if (c < '0' || c > '9') return std::nullopt;
    if (scale >= 6 || value > 100'000'000'000ull) return std::nullopt;  // at most 6 decimals
    value = value * 10 + static_cast<std::uint64_t>(c - '0');
    digits = true;
    if (dot) ++scale;
  }
  if (!digits) return std::nullopt;
  std::uint64_t hundred = 100;
  for (std::uint32_t k = 0; k < scale; ++k) hundred *= 10;
  if (value > hundred) return std::nullopt;
  return std::make_pair(value, scale);
}

}  // namespace

int RunTest(const TestArgs& args) {
  std::optional<std::pair<std::uint64_t, std::uint32_t>> minimum;
  std::string minimum_text = args.coverage_min;  // without a trailing `%`
  if (!minimum_text.empty() && minimum_text.back() == '%') minimum_text.pop_back();
  if (!args.coverage_min.empty()) {
    minimum = ParsePercentage(minimum_text);
    if (!minimum) {
      return ToolFailure(fmt::format("--coverage-min `{}` is not a percentage between 0 and 100", args.coverage_min));
    }
  }
  ErrorOr<std::vector<std::string>> files = driver::ExpandPaths(args.paths);
  if (!files.ok()) return ToolFailure(files.error().message);
  if (files.value().empty()) return ToolFailure("no policy file (*.gov) to test in the given paths");
  const bool text = args.format == "text";
  driver::TestRunOptions options;
  options.interp = args.interp;
  options.filter = args.filter;
  int status = kExitOk;
  std::vector<driver::PolicyTestReport> reports;
  for (const std::string& path : files.value()) {
    std::optional<ErrorOr<driver::LoweredPolicy>> lowered;
    driver::RunWithLargeStack([&] { lowered.emplace(driver::LowerPolicy(path)); });
    if (!lowered->ok()) return ToolFailure(lowered->error().message);
    driver::LoweredPolicy& lp = lowered->value();
    // Diagnostics go to stderr in every format; the report is on stdout.
    const bool has_errors = PrintDiagnostics(*lp.compilation);
    driver::PolicyTestReport report;
    if (has_errors) {
      report.path = path;
      status = std::max(status, kExitFindings);
    } else {
      ErrorOr<driver::PolicyTestReport> ran = driver::RunPolicyTests(path, lp, options);
      if (!ran.ok()) return ToolFailure(ran.error().message);
      report = std::move(ran).value();
      if (report.failed() > 0) status = std::max(status, kExitFindings);
    }
    if (text) {
      const driver::TestText rendered = driver::RenderTestText(report);
      std::fputs(rendered.failures.c_str(), stderr);
      std::fputs(rendered.summary.c_str(), stdout);
    }
    if (report.tested && minimum) {
      // covered / rules * 100 >= value / 10^scale, in exact integers.
      // (at most 6 decimals and 10^8 for the percentage: no overflow below 10^10 rules)
      const std::size_t covered = report.covered();
      const std::size_t rules = report.rules.size();
      std::uint64_t lhs = static_cast<std::uint64_t>(covered) * 100;
      std::uint64_t rhs = minimum->first * static_cast<std::uint64_t>(rules);
      for (std::uint32_t k = 0; k < minimum->second; ++k) lhs *= 10;
      if (rules != 0 && lhs < rhs) {
        std::fprintf(stderr, "%s: rule coverage %zu/%zu is below --coverage-min %s%%\n", path.c_str(), covered, rules,
                     minimum_text.c_str());
        status = std::max(status, kExitFindings);
      }
    }
    reports.push_back(std::move(report));
  }
  if (args.format == "json") {
    std::fputs(driver::RenderTestJson(reports).c_str(), stdout);
  } else if (args.format == "junit") {
    std::fputs(driver::RenderTestJunit(reports).c_str(), stdout);
  } else if (reports.size() > 1) {
    std::size_t total_cases = 0;
    std::size_t total_failed = 0;
    for (const driver::PolicyTestReport& report : reports) {
      total_cases += report.cases.size();
      total_failed += report.failed();
    }
    std::printf("total: %zu case%s, %zu failed, in %zu files\n", total_cases, total_cases == 1 ? "" : "s", total_failed,
                reports.size());
  }
  if (std::fflush(stdout) != 0 || std::ferror(stdout) != 0) return ToolFailure("cannot write the test report");
  return status;
}

int RunCost(const std::vector<std::string>& paths) {
  ErrorOr<std::vector<std::string>> files = driver::ExpandPaths(paths);
  if (!files.ok()) return ToolFailure(files.error().message);
  int status = kExitOk;
  for (const std::string& path : files.value()) {
    bool ok = false;
    ErrorOr<driver::LoweredPolicy> lowered = LowerAndReport(path, ok);
    if (!lowered.ok()) return ToolFailure(lowered.error().message);
    if (!ok) {
      status = std::max(status, kExitFindings);
      continue;
    }
    const ir::Policy& policy = lowered.value().policy;
    lower::PolicyCost cost = lower::ComputeCost(policy);
    std::printf("%s: policy %s: at most %s steps per decision (%u of %zu rule%s evaluated at most)\n", path.c_str(),
                policy.name.c_str(), cost.decision.ToString().c_str(), cost.max_rules_evaluated, policy.rules.size(),
                policy.rules.size() == 1 ? "" : "s");
    for (std::size_t r = 0; r < policy.rules.size(); ++r) {
      std::printf("  rule %s: %s\n", policy.rules[r].name.c_str(), cost.rules[r].ToString().c_str());
    }
  }
  return status;
}

namespace {

// A cost polynomial as {"text", "terms": [{"coefficient", "variables"}]}.
nlohmann::json CostPolynomialJson(const lower::CostPolynomial& cost) {
  nlohmann::json terms = nlohmann::json::array();
  for (const auto& [monomial, coefficient] : cost.terms()) {
    if (coefficient != 0) terms.push_back({{"coefficient", coefficient}, {"variables", monomial}});
  }
  return {{"text", cost.ToString()}, {"terms", std::move(terms)}};
}

}  // namespace

ErrorOr<nlohmann::json> CostJson(const std::vector<std::string>& paths) {
  ErrorOr<std::vector<std::string>> files = driver::ExpandPaths(paths);
  if (!files.ok()) return files.error();
  nlohmann::json costs = nlohmann::json::array();
  for (const std::string& path : files.value()) {
    std::optional<ErrorOr<driver::LoweredPolicy>> lowered;
    driver::RunWithLargeStack([&] { lowered.emplace(driver::LowerPolicy(path)); });
    if (!lowered->ok()) return lowered->error();
    if (lowered->value().compilation->diagnostics.HasErrors()) {
      return Error{fmt::format("{}: the policy has errors; no cost to compute", path)};
    }
    const ir::Policy& policy = lowered->value().policy;
    const lower::PolicyCost cost = lower::ComputeCost(policy);
    nlohmann::json rules = nlohmann::json::array();
    for (std::size_t r = 0; r < policy.rules.size(); ++r) {
      nlohmann::json rule = CostPolynomialJson(cost.rules[r]);
      rule["name"] = policy.rules[r].name;
      rules.push_back(std::move(rule));
    }
    costs.push_back({{"path", path},
                     {"policy", policy.name},
                     {"decision", CostPolynomialJson(cost.decision)},
                     {"max_rules_evaluated", cost.max_rules_evaluated},
                     {"rules", std::move(rules)}});
  }
  return costs;
}

namespace {

// A lowered policy from a source file (compiled here) or a verified bundle.
ErrorOr<ir::Policy> PolicyForDiff(const std::string& path, const std::vector<std::string>& trusted_keys, bool& ok) {
  ok = true;
  if (path.size() > 5 && path.compare(path.size() - 5, 5, ".govb") == 0) {
    if (trusted_keys.empty())
      return Error{path + ": a bundle needs at least one --trust KEY.pub to verify its signature"};
    std::vector<crypto::PublicKey> trusted;
    for (const std::string& key_path : trusted_keys) {
      GOV_ASSIGN_OR_RETURN(crypto::PublicKey key, crypto::ReadPublicKeyFile(key_path));
      trusted.push_back(key);
    }
    bundle::LoadOptions options;
    options.allow_native = false;
    ErrorOr<bundle::LoadedPolicy> loaded = bundle::LoadBundleFile(path, trusted, options);
    if (!loaded.ok()) return Error{fmt::format("{}: {}", path, loaded.error().message)};
    return loaded.value().policy();
  }
  GOV_ASSIGN_OR_RETURN(driver::LoweredPolicy lowered, LowerAndReport(path, ok));
  return std::move(lowered.policy);
}

}  // namespace

int RunDiff(const DiffArgs& args) {
  bool old_ok = true;
  bool new_ok = true;
  ErrorOr<ir::Policy> old_policy = PolicyForDiff(args.old_policy, args.trusted_keys, old_ok);
  if (!old_policy.ok()) return ToolFailure(old_policy.error().message);
  ErrorOr<ir::Policy> new_policy = PolicyForDiff(args.new_policy, args.trusted_keys, new_ok);
  if (!new_policy.ok()) return ToolFailure(new_policy.error().message);
  if (!old_ok || !new_ok) return kExitFindings;
  driver::DiffOptions options;
  options.max_classes = args.max_classes;
  ErrorOr<driver::DiffReport> report = Error{""};
  driver::RunWithLargeStack([&] { report = driver::DiffPolicies(old_policy.value(), new_policy.value(), options); });
  if (!report.ok()) return ToolFailure(report.error().message);
  const driver::DiffReport& r = report.value();
  if (args.format == "json") {
    std::string text = driver::DiffJson(r, old_policy.value(), new_policy.value())
                           .dump(2, ' ', false, nlohmann::json::error_handler_t::replace);
    std::printf("%s\n", text.c_str());
  } else if (args.format == "markdown") {
    std::fputs(driver::DiffMarkdown(r, old_policy.value(), new_policy.value()).c_str(), stdout);
  } else {
    std::fputs(driver::DiffText(r, old_policy.value(), new_policy.value()).c_str(), stdout);
  }
  if (!r.proved) return kExitDiffIncomplete;
  return r.classes.empty() ? kExitOk : kExitFindings;
}

}  // namespace gov::cli
