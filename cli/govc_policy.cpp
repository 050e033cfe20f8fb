// govc keygen / build / eval / test / check --cost (see govc_policy.h).
#include "cli/govc_policy.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>

#include "compiler/codegen/codegen.h"
#include "compiler/driver/build.h"
#include "compiler/driver/driver.h"
#include "compiler/lower/cost.h"
#include "runtime/abi/helpers.h"
#include "runtime/bundle/loader.h"
#include "runtime/crypto/ed25519.h"
#include "runtime/crypto/fast_sha256.h"
#include "runtime/crypto/sha256.h"
#include "runtime/interp/interp.h"
#include "runtime/request/request.h"
#include "runtime/support/output_file.h"

namespace gov::cli {

int ToolFailure(const std::string& message) {
  std::fprintf(stderr, "govc: error: %s\n", message.c_str());
  return kExitToolFailure;
}

namespace {

bool UseColor() { return isatty(fileno(stderr)) != 0 && std::getenv("NO_COLOR") == nullptr; }

// Prints a compilation's diagnostics (text, stderr); true when it has errors.
bool PrintDiagnostics(driver::Compilation& c) {
  c.diagnostics.Sort();
  std::fputs(diagnostics::RenderText(c.sources, c.diagnostics.diagnostics(), UseColor()).c_str(), stderr);
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

ErrorOr<std::string> ReadWholeFile(const std::string& path, std::size_t limit) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Error{fmt::format("{}: cannot open: {}", path, std::strerror(errno))};
  std::string text;
  char buffer[65536];
  for (;;) {
    ssize_t n = read(fd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int saved = errno;
      close(fd);
      return Error{fmt::format("{}: cannot read: {}", path, std::strerror(saved))};
    }
    if (n == 0) break;
    text.append(buffer, static_cast<std::size_t>(n));
    if (text.size() > limit) {
      close(fd);
      return Error{fmt::format("{}: larger than {} bytes", path, limit)};
    }
  }
  close(fd);
  return text;
}

// "10m", "1500ms", "4GiB", "3000B": the exact value in its largest whole unit.
std::string FormatDuration(std::int64_t ms) {
  struct Unit {
    std::int64_t size;
    const char* name;
  };
  for (Unit unit : {Unit{86400000, "d"}, Unit{3600000, "h"}, Unit{60000, "m"}, Unit{1000, "s"}}) {
    if (ms % unit.size == 0) return fmt::format("{}{}", ms / unit.size, unit.name);
  }
  return fmt::format("{}ms", ms);
}

std::string FormatSize(std::int64_t bytes) {
  struct Unit {
    std::int64_t size;
    const char* name;
  };
  for (Unit unit : {Unit{1LL << 40, "TiB"}, Unit{1LL << 30, "GiB"}, Unit{1LL << 20, "MiB"}, Unit{1LL << 10, "KiB"}}) {
    if (bytes % unit.size == 0) return fmt::format("{}{}", bytes / unit.size, unit.name);
  }
  return fmt::format("{}B", bytes);
}

const char* NetworkName(ir::Network network) {
  switch (network) {
    case ir::Network::kNone: return "none";
    case ir::Network::kLoopback: return "loopback";
    case ir::Network::kAny: return "any";
    case ir::Network::kUnset: break;
  }
  return "unset";
}

std::string JoinList(const std::vector<std::string>& items) {
  std::string text;
  for (const std::string& item : items) text += (text.empty() ? "" : ", ") + item;
  return "[" + text + "]";
}

// The obligations as `key = value` pairs in the language's spelling.
std::vector<std::pair<std::string, std::string>> DescribeObligations(const ir::Obligations& o) {
  std::vector<std::pair<std::string, std::string>> out;
  if (o.timeout_ms != 0) out.emplace_back("timeout", FormatDuration(o.timeout_ms));
  if (o.memory_bytes != 0) out.emplace_back("memory", FormatSize(o.memory_bytes));
  if (o.processes != 0) out.emplace_back("processes", std::to_string(o.processes));
  if (o.network != ir::Network::kUnset) out.emplace_back("network", NetworkName(o.network));
  if (o.has_read) out.emplace_back("read", JoinList(o.read));
  if (o.has_write) out.emplace_back("write", JoinList(o.write));
  if (o.has_env) out.emplace_back("env", JoinList(o.env));
  if (o.has_capabilities) out.emplace_back("capabilities", JoinList(o.capabilities));
  return out;
}

nlohmann::json ObligationsJson(const ir::Obligations& o) {
  nlohmann::json json = nlohmann::json::object();
  if (o.timeout_ms != 0) json["timeout_ms"] = o.timeout_ms;
  if (o.memory_bytes != 0) json["memory_bytes"] = o.memory_bytes;
  if (o.processes != 0) json["processes"] = o.processes;
  if (o.network != ir::Network::kUnset) json["network"] = NetworkName(o.network);
  if (o.has_read) json["read"] = o.read;
  if (o.has_write) json["write"] = o.write;
  if (o.has_env) json["env"] = o.env;
  if (o.has_capabilities) json["capabilities"] = o.capabilities;
  return json;
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

// The deciding function of a lowered policy: JIT-compiled native code, or
// the interpreter.
class Decider {
 public:
  static ErrorOr<std::unique_ptr<Decider>> Create(const ir::Policy& policy, bool interp) {
    auto decider = std::unique_ptr<Decider>(new Decider());
    GOV_ASSIGN_OR_RETURN(interp::PreparedPolicy prepared, interp::PreparedPolicy::Create(policy));
    decider->prepared_ = std::make_unique<interp::PreparedPolicy>(std::move(prepared));
    if (!interp) {
      codegen::Options options;
      options.link_image = false;
      options.cpu = "host";
      GOV_ASSIGN_OR_RETURN(decider->jit_, codegen::JitPolicy::Compile(policy, options));
    }
    return decider;
  }

  // Decides with the chosen engine; with native code also with the
  // interpreter, and a disagreement is a tool failure (a compiler bug).
  ErrorOr<void> Decide(const gov_request& request, gov_decision& decision) const {
    interp::Decide(*prepared_, request, decision);
    if (jit_ == nullptr) return {};
    gov_decision native{};
    jit_->decide()(&request, &native, abi::DefaultHelpers());
    if (!interp::SameDecision(native, decision)) {
      return Error{"internal error: native code and the IR interpreter disagree on this request; please report it"};
    }
    decision = native;
    return {};
  }

  const interp::PreparedPolicy& prepared() const { return *prepared_; }
  const char* engine() const { return jit_ != nullptr ? "native code (LLVM ORC JIT)" : "IR interpreter"; }

 private:
  Decider() = default;
  std::unique_ptr<interp::PreparedPolicy> prepared_;
  std::unique_ptr<codegen::JitPolicy> jit_;
};

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
               args.output.c_str(), policy.name.c_str(), policy.version.c_str(), policy.rules.size(),
               policy.rules.size() == 1 ? "" : "s", args.native ? "native code + IR" : "IR only",
               bundle->value().size(), crypto::DigestString(crypto::FastSha256(bundle->value())).c_str(),
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
      item["detail"] = "applies only to " + JoinList(keys).substr(1, JoinList(keys).size() - 2);
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

int RunEval(const EvalArgs& args) {
  if (args.bundle.empty() == args.paths.empty()) {
    return ToolFailure("give either a policy file or --bundle FILE.govb");
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
    ErrorOr<bundle::LoadedPolicy> policy = bundle::LoadBundleFile(args.bundle, trusted, options);
    if (!policy.ok()) return ToolFailure(fmt::format("{}: {}", args.bundle, policy.error().message));
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

  ErrorOr<std::string> text = ReadWholeFile(args.request, 16u << 20);
  if (!text.ok()) return ToolFailure(text.error().message);
  ErrorOr<request::Request> parsed = request::RequestFromJson(text.value(), policy.context);
  if (!parsed.ok()) return ToolFailure(fmt::format("{}: {}", args.request, parsed.error().message));
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

std::string DescribeDecision(const ir::Policy& policy, const gov_decision& decision) {
  std::string text = interp::VerdictName(decision.verdict);
  if (decision.error != GOV_OK) {
    std::string rule = decision.error_rule < policy.rules.size() ? policy.rules[decision.error_rule].name : "?";
    return text + fmt::format(" (rule {} failed: {})", rule, interp::ErrorName(decision.error));
  }
  if (decision.rule_count == 0) return text + (decision.verdict == GOV_DENY ? " (no rule allows)" : "");
  // The deciding rules, then (for an ask) the allow rules whose obligations apply.
  auto names = [&](std::uint32_t begin, std::uint32_t end) {
    std::string joined;
    for (std::uint32_t k = begin; k < end; ++k) {
      joined += (joined.empty() ? "" : ", ") +
                (decision.rules[k] < policy.rules.size() ? policy.rules[decision.rules[k]].name : "?");
    }
    return joined;
  };
  const std::uint32_t count = std::min<std::uint32_t>(decision.rule_count, GOV_MAX_DECIDING_RULES);
  const std::uint32_t deciding = std::min(decision.deciding_count, count);
  text += " by " + names(0, deciding);
  if (deciding < count) text += " (obligations also of " + names(deciding, count) + ")";
  return text;
}

// The case's command line as written: `exec [invoked, args...]`, with `via`
// and `argv0` when they differ from the invoked path, and
// `written_in_session true` when the case sets it.
std::string DescribeCase(const lower::LoweredTest& test) {
  const request::Request& r = test.request;
  const std::string& invoked = r.invoked_path.empty() ? r.program_path : r.invoked_path;
  std::vector<std::string> argv{invoked};
  argv.insert(argv.end(), r.args.begin(), r.args.end());
  std::string text;
  for (const std::string& arg : argv) text += (text.empty() ? "" : ", ") + nlohmann::json(arg).dump();
  text = "exec [" + text + "]";
  if (r.program_path != invoked) text += " via " + nlohmann::json(r.program_path).dump();
  if (!r.argv0.empty() && r.argv0 != invoked) text += " argv0 " + nlohmann::json(r.argv0).dump();
  if (r.program_written_in_session) text += " written_in_session true";
  return text;
}

}  // namespace

int RunTest(const TestArgs& args) {
  std::optional<std::pair<std::uint64_t, std::uint32_t>> minimum;
  if (!args.coverage_min.empty()) {
    minimum = ParsePercentage(args.coverage_min);
    if (!minimum) {
      return ToolFailure(fmt::format("--coverage-min `{}` is not a percentage between 0 and 100", args.coverage_min));
    }
  }
  ErrorOr<std::vector<std::string>> files = driver::ExpandPaths(args.paths);
  if (!files.ok()) return ToolFailure(files.error().message);
  int status = kExitOk;
  std::size_t total_cases = 0;
  std::size_t total_failed = 0;
  for (const std::string& path : files.value()) {
    bool ok = false;
    ErrorOr<driver::LoweredPolicy> lowered = LowerAndReport(path, ok);
    if (!lowered.ok()) return ToolFailure(lowered.error().message);
    if (!ok) {
      std::fprintf(stderr, "%s: not tested: the policy has errors\n", path.c_str());
      status = std::max(status, kExitFindings);
      continue;
    }
    const driver::LoweredPolicy& lp = lowered.value();
    ErrorOr<std::unique_ptr<Decider>> decider = Decider::Create(lp.policy, args.interp);
    if (!decider.ok()) return ToolFailure(fmt::format("{}: {}", path, decider.error().message));
    std::vector<bool> exercised(lp.policy.rules.size(), false);
    std::size_t failed = 0;
    for (const lower::LoweredTest& test : lp.tests) {
      request::RequestView view(test.request);
      gov_decision decision{};
      if (ErrorOr<void> decided = decider.value()->Decide(view.get(), decision); !decided.ok()) {
        return ToolFailure(fmt::format("{}: {}", path, decided.error().message));
      }
      // The deciding rules (an ask's matching allow rules decide nothing).
      const std::uint32_t* deciding_begin = decision.rules;
      const std::uint32_t* deciding_end =
          deciding_begin + std::min<std::uint32_t>(decision.deciding_count, GOV_MAX_DECIDING_RULES);
      if (decision.error == GOV_OK) {
        for (const std::uint32_t* id = deciding_begin; id != deciding_end; ++id) exercised[*id] = true;
      }
      bool verdict_ok = decision.verdict == static_cast<std::uint32_t>(test.expected);
      bool by_ok = std::all_of(test.by_rules.begin(), test.by_rules.end(), [&](std::uint32_t id) {
        return decision.error == GOV_OK && std::find(deciding_begin, deciding_end, id) != deciding_end;
      });
      if (verdict_ok && by_ok) continue;
      ++failed;
      const source::SourceManager& sources = lp.compilation->sources;
      source::LineColumn at = sources.file(test.span.file).Locate(test.span.begin);
      std::string expected = interp::VerdictName(static_cast<std::uint32_t>(test.expected));
      if (!test.by_names.empty()) {
        std::string names;
        for (const std::string& name : test.by_names) names += (names.empty() ? "" : ", ") + name;
        expected += " by " + names;
      }
      std::fprintf(stderr, "%s:%u:%u: FAIL test \"%s\": %s\n    expected: %s\n    actual:   %s\n",
                   sources.file(test.span.file).path().c_str(), at.line, at.column, test.block.c_str(),
                   DescribeCase(test).c_str(), expected.c_str(), DescribeDecision(lp.policy, decision).c_str());
    }
    std::size_t covered = static_cast<std::size_t>(std::count(exercised.begin(), exercised.end(), true));
    std::size_t rules = exercised.size();
    std::printf("%s: %zu case%s, %zu passed, %zu failed (%s); rules exercised: %zu of %zu\n", path.c_str(),
                lp.tests.size(), lp.tests.size() == 1 ? "" : "s", lp.tests.size() - failed, failed,
                decider.value()->engine(), covered, rules);
    for (std::size_t r = 0; r < rules; ++r) {
      if (!exercised[r]) std::printf("  rule %s decided no test case\n", lp.policy.rules[r].name.c_str());
    }
    total_cases += lp.tests.size();
    total_failed += failed;
    if (failed > 0) status = std::max(status, kExitFindings);
    if (minimum) {
      // covered / rules * 100 >= value / 10^scale, in exact integers.
      // (at most 6 decimals and 10^8 for the percentage: no overflow below 10^10 rules)
      std::uint64_t lhs = static_cast<std::uint64_t>(covered) * 100;
      std::uint64_t rhs = minimum->first * static_cast<std::uint64_t>(rules);
      for (std::uint32_t k = 0; k < minimum->second; ++k) lhs *= 10;
      bool enough = rules == 0 ? true : lhs >= rhs;
      if (!enough) {
        std::fprintf(stderr, "%s: rule coverage %zu/%zu is below --coverage-min %s%%\n", path.c_str(), covered, rules,
                     args.coverage_min.c_str());
        status = std::max(status, kExitFindings);
      }
    }
  }
  if (files.value().size() > 1) {
    std::printf("total: %zu cases, %zu failed, in %zu files\n", total_cases, total_failed, files.value().size());
  }
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
    std::printf("%s: policy %s: at most %s steps per decision (%u of %zu rules evaluated at most)\n", path.c_str(),
                policy.name.c_str(), cost.decision.ToString().c_str(), cost.max_rules_evaluated,
                policy.rules.size());
    for (std::size_t r = 0; r < policy.rules.size(); ++r) {
      std::printf("  rule %s: %s\n", policy.rules[r].name.c_str(), cost.rules[r].ToString().c_str());
    }
  }
  return status;
}

}  // namespace gov::cli
