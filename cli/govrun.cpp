// govrun: authorize, record, enforce, execute. `govrun [options] -- PROGRAM
// [ARGS…]` runs PROGRAM only when the configured, signed policy allows it,
// after the authorization is durably recorded, under the policy's
// obligations, executing the very file descriptor that was hashed. Every
// failure before exec means the program does not run (docs/govrun.md).
#include <poll.h>
#include <signal.h>
#include <pwd.h>
#include <grp.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "runtime/abi/gov_abi.h"
#include "runtime/bundle/loader.h"
#include "runtime/config/config.h"
#include "runtime/crypto/ed25519.h"
#include "runtime/exec/env.h"
#include "runtime/exec/exit_codes.h"
#include "runtime/exec/program.h"
#include "runtime/exec/run.h"
#include "runtime/exec/sandbox.h"
#include "runtime/interp/interp.h"
#include "runtime/ir/ir.h"
#include "runtime/lineage/recorder.h"
#include "runtime/request/request.h"

extern char** environ;

namespace gov {
namespace {

using exec::Failure;

constexpr const char* kVersion = "govrun 0.1.0";

// Phase timings for --timings (CLOCK_MONOTONIC ns).
struct Timings {
  bool enabled = false;
  std::int64_t main_entry = 0;
  std::vector<std::pair<const char*, std::int64_t>> marks;
  void Mark(const char* name) {
    if (enabled) {
      marks.emplace_back(name, exec::MonotonicNs());
    }
  }
  void Print() const {
    if (!enabled) {
      return;
    }
    std::fprintf(stderr, "govrun-timings main_entry_ns=%lld", static_cast<long long>(main_entry));
    std::int64_t previous = main_entry;
    for (const auto& [name, at] : marks) {
      std::fprintf(stderr, " %s=%lld", name, static_cast<long long>(at - previous));
      previous = at;
    }
    std::fprintf(stderr, "\n");
  }
};

[[noreturn]] void Exit(int code, const Timings& timings) {
  timings.Print();
  std::fflush(stderr);
  std::exit(code);
}

int Fail(const Failure& failure) {
  std::fprintf(stderr, "govrun: %s\n", failure.message.c_str());
  return failure.exit_code;
}

std::string GetEnv(const char* name, bool* set = nullptr) {
  const char* value = std::getenv(name);
  if (set != nullptr) {
    *set = value != nullptr;
  }
  return value != nullptr ? value : "";
}

bool IsRunId(std::string_view id) {
  return id.size() == 32 && std::all_of(id.begin(), id.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

// The enclosing govrun run, from GOV_RUN_ID / GOV_RUN_DEPTH / GOV_RUN_PROGRAM.
exec::Outcome<bool> ReadParent(request::Request& request) {
  bool has_id = false;
  const std::string id = GetEnv(lineage::kEnvRunId, &has_id);
  if (!has_id) {
    return false;
  }
  if (!IsRunId(id)) {
    return Failure{exec::kExitConfig, std::string(lineage::kEnvRunId) + " is set but is not a run id (32 lower-case hex digits)"};
  }
  bool has_depth = false;
  const std::string depth = GetEnv(lineage::kEnvRunDepth, &has_depth);
  if (!has_depth || depth.empty() || depth.size() > 6 ||
      !std::all_of(depth.begin(), depth.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return Failure{exec::kExitConfig, std::string(lineage::kEnvRunDepth) + " must accompany " + lineage::kEnvRunId +
                                          " as a non-negative integer"};
  }
  const std::string program = GetEnv(lineage::kEnvRunProgram);
  if (program.empty() || program[0] != '/') {
    return Failure{exec::kExitConfig, std::string(lineage::kEnvRunProgram) + " must accompany " +
                                          lineage::kEnvRunId + " as an absolute path"};
  }
  request.has_parent = true;
  request.parent_run_id = id;
  request.parent_depth = std::stoll(depth);
  request.parent_program = program;
  return true;
}

// --context KEY=VALUE values, checked against the policy's declarations.
exec::Outcome<bool> ReadContext(const std::vector<std::string>& items, const std::vector<ir::ContextField>& context,
                                request::Request& request) {
  request.context.assign(context.size(), request::ContextValue{});
  std::vector<bool> seen(context.size(), false);
  for (const std::string& item : items) {
    const std::size_t equal = item.find('=');
    if (equal == std::string::npos || equal == 0) {
      return Failure{exec::kExitConfig, "--context `" + item + "`: expected KEY=VALUE"};
    }
    const std::string key = item.substr(0, equal);
    std::size_t index = 0;
    while (index < context.size() && context[index].name != key) {
      ++index;
    }
    if (index == context.size()) {
      std::string declared;
      for (const ir::ContextField& field : context) {
        declared += (declared.empty() ? "" : ", ") + field.name;
      }
      return Failure{exec::kExitConfig, "--context `" + key + "`: the policy declares no such context field" +
                                            (declared.empty() ? std::string(" (it declares none)")
                                                              : " (declared: " + declared + ")")};
    }
    if (seen[index]) {
      return Failure{exec::kExitConfig, "--context `" + key + "` is given more than once"};
    }
    seen[index] = true;
    auto value = request::ParseContextValue(context[index], std::string_view(item).substr(equal + 1));
    if (!value.ok()) {
      return Failure{exec::kExitConfig, "--context: " + value.error().message};
    }
    request.context[index] = std::move(value.value());
  }
  for (std::size_t i = 0; i < context.size(); ++i) {
    if (!seen[i] && !context[i].optional) {
      return Failure{exec::kExitConfig, "the policy requires --context " + context[i].name + "=VALUE"};
    }
  }
  return true;
}

std::string UserName(uid_t uid) {
  struct passwd entry {};
  struct passwd* found = nullptr;
  char buffer[4096];
  if (getpwuid_r(uid, &entry, buffer, sizeof buffer, &found) == 0 && found != nullptr) {
    return found->pw_name;
  }
  return std::to_string(uid);
}

std::string GroupName(gid_t gid) {
  struct group entry {};
  struct group* found = nullptr;
  char buffer[8192];
  if (getgrgid_r(gid, &entry, buffer, sizeof buffer, &found) == 0 && found != nullptr) {
    return found->gr_name;
  }
  return std::to_string(gid);
}

exec::Outcome<bool> FillIdentity(request::Request& request) {
  char* cwd = getcwd(nullptr, 0);
  if (cwd == nullptr) {
    return Failure{exec::kExitInternal, std::string("cannot determine the current directory: ") + std::strerror(errno)};
  }
  request.cwd = cwd;
  std::free(cwd);
  const uid_t uid = geteuid();
  const gid_t gid = getegid();
  request.uid = uid;
  request.gid = gid;
  request.user_name = UserName(uid);
  const int count = getgroups(0, nullptr);
  std::vector<gid_t> groups(static_cast<std::size_t>(std::max(count, 0)));
  if (count > 0 && getgroups(count, groups.data()) < 0) {
    return Failure{exec::kExitInternal, std::string("getgroups: ") + std::strerror(errno)};
  }
  request.groups.push_back(GroupName(gid));
  for (const gid_t group : groups) {
    if (group != gid) {
      request.groups.push_back(GroupName(group));
    }
  }
  char host[256] = {};
  if (gethostname(host, sizeof host - 1) != 0) {
    return Failure{exec::kExitInternal, std::string("gethostname: ") + std::strerror(errno)};
  }
  request.host = host;
  request.time_unix = static_cast<std::int64_t>(std::time(nullptr));
  return true;
}

// The `ask` prompt: y/N on the terminal, "no" after the timeout.
std::string Ask(const interp::Explanation& explanation, const std::string& program, std::int64_t timeout_ms) {
  if (isatty(STDIN_FILENO) != 1 || isatty(STDERR_FILENO) != 1) {
    return "no-terminal";
  }
  std::string reasons;
  for (const interp::ExplainedRule& rule : explanation.rules) {
    reasons += "\n  rule " + rule.name + (rule.reason.empty() ? "" : ": " + rule.reason);
  }
  std::fprintf(stderr, "govrun: the policy asks before running %s:%s\nRun it? [y/N] (%llds) ", program.c_str(),
               reasons.c_str(), static_cast<long long>(timeout_ms / 1000));
  std::fflush(stderr);
  std::string line;
  const std::int64_t deadline = exec::MonotonicNs() + timeout_ms * 1000000;
  while (true) {
    const std::int64_t left_ms = (deadline - exec::MonotonicNs()) / 1000000;
    if (left_ms <= 0) {
      std::fprintf(stderr, "\n");
      return "timeout";
    }
    // Terminating signals are blocked (see PrepareSupervisor): look for them
    // between short polls so that Ctrl-C at the prompt answers no.
    sigset_t pending;
    sigemptyset(&pending);
    if (sigpending(&pending) == 0 && (sigismember(&pending, SIGINT) == 1 || sigismember(&pending, SIGTERM) == 1 ||
                                      sigismember(&pending, SIGHUP) == 1 || sigismember(&pending, SIGQUIT) == 1)) {
      std::fprintf(stderr, "\n");
      return "no";
    }
    struct pollfd poll_fd {STDIN_FILENO, POLLIN, 0};
    const int ready = poll(&poll_fd, 1, static_cast<int>(std::min<std::int64_t>(left_ms, 100)));
    if (ready < 0 && errno == EINTR) {
      continue;
    }
    if (ready == 0) {
      continue;
    }
    if (ready < 0) {
      std::fprintf(stderr, "\n");
      return "no";
    }
    char c = 0;
    const ssize_t got = read(STDIN_FILENO, &c, 1);
    if (got <= 0 || c == '\n') {
      break;
    }
    if (line.size() < 16) {
      line.push_back(c);
    }
  }
  while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) {
    line.pop_back();
  }
  return (line == "y" || line == "Y" || line == "yes" || line == "YES" || line == "Yes") ? "yes" : "no";
}

std::string NetworkName(ir::Network network) {
  switch (network) {
    case ir::Network::kNone:
      return "none";
    case ir::Network::kLoopback:
      return "loopback";
    case ir::Network::kAny:
      return "any";
    default:
      return "unset";
  }
}

std::string JoinList(const std::vector<std::string>& items) {
  std::string out;
  for (const std::string& item : items) {
    out += (out.empty() ? "" : ", ") + item;
  }
  return "[" + out + "]";
}

void PrintExplanation(const bundle::LoadedPolicy& policy, const request::Request& request,
                      const interp::Explanation& explanation, const ir::Obligations& obligations,
                      const exec::Program& program) {
  std::fprintf(stderr, "govrun: policy %s %s (%s), %s\n", policy.manifest().policy_name.c_str(),
               policy.manifest().policy_version.c_str(), policy.digest().c_str(), policy.engine().c_str());
  std::fprintf(stderr, "govrun: program %s (%s)\n", request.program_path.c_str(), request.program_sha256.c_str());
  std::fprintf(stderr, "govrun: invoked %s as %s\n", request.invoked_path.c_str(), request.argv0.c_str());
  if (program.is_script) {
    std::fprintf(stderr, "govrun: script interpreter %s (%s)\n", program.interpreter.path.c_str(),
                 program.interpreter.sha256.c_str());
  }
  std::fprintf(stderr, "govrun: args %s, cwd %s, user %s (uid %lld), host %s\n", JoinList(request.args).c_str(),
               request.cwd.c_str(), request.user_name.c_str(), static_cast<long long>(request.uid),
               request.host.c_str());
  if (request.has_parent) {
    std::fprintf(stderr, "govrun: parent run %s (depth %lld, %s)\n", request.parent_run_id.c_str(),
                 static_cast<long long>(request.parent_depth), request.parent_program.c_str());
  }
  std::fprintf(stderr, "govrun: decision: %s\n", explanation.summary.c_str());
  for (const interp::ExplainedRule& rule : explanation.rules) {
    std::fprintf(stderr, "govrun:   rule %s (%s)%s%s\n", rule.name.c_str(), interp::VerdictName(static_cast<std::uint32_t>(rule.verdict)),
                 rule.reason.empty() ? "" : ": ", rule.reason.c_str());
  }
  std::string text;
  if (obligations.timeout_ms > 0) {
    text += " timeout=" + std::to_string(obligations.timeout_ms) + "ms";
  }
  if (obligations.memory_bytes > 0) {
    text += " memory=" + std::to_string(obligations.memory_bytes) + "B";
  }
  if (obligations.processes > 0) {
    text += " processes=" + std::to_string(obligations.processes);
  }
  if (obligations.network != ir::Network::kUnset) {
    text += " network=" + NetworkName(obligations.network);
  }
  if (obligations.has_read) {
    text += " read=" + JoinList(obligations.read);
  }
  if (obligations.has_write) {
    text += " write=" + JoinList(obligations.write);
  }
  if (obligations.has_env) {
    text += " env=" + JoinList(obligations.env);
  }
  std::fprintf(stderr, "govrun: obligations:%s\n", text.empty() ? " none" : text.c_str());
}

struct Options {
  std::string config;
  std::vector<std::string> context;
  bool explain = false;
  bool timings = false;
  std::string bundle;
  std::vector<std::string> command;
};

constexpr const char* kHelp =
    "govrun: run a command only when the signed policy allows it, under its limits, recorded\n"
    "Usage: govrun [options] -- PROGRAM [ARGS...]\n"
    "\n"
    "Options (before `--`; `--option VALUE` or `--option=VALUE`):\n"
    "  -h, --help                Print this help message and exit\n"
    "  --version                 Print the version and exit\n"
    "  --config FILE             Configuration file (else $GOV_CONFIG, ~/.config/gov/config.toml,\n"
    "                            /etc/gov/config.toml)\n"
    "  --context KEY=VALUE       A context value the policy declares (repeatable)\n"
    "  --explain                 Explain the decision on stderr\n"
    "  --bundle FILE             After the run, export its lineage bundle to FILE\n"
    "  --timings                 Print phase timings on stderr (for bench/bench_govrun)\n"
    "\n"
    "Exit codes: the program's status (128+N when killed by signal N); 77 denied or ask refused; 78 "
    "configuration, policy, bundle, trust, --context or unenforceable obligation; 74 lineage I/O; 127 "
    "program not found; 126 not executable; 70 internal error. See docs/govrun.md.\n"
    "Examples:\n"
    "  govrun -- git status\n"
    "  govrun --context ticket=CHG-1234 -- make release\n"
    "  govrun --explain -- rm -rf build\n"
    "  GOV_CONFIG=./config.toml govrun --bundle run.lineage -- make test\n";

int UsageError(const std::string& message) {
  std::fprintf(stderr, "govrun: %s\ngovrun: usage: govrun [options] -- PROGRAM [ARGS...] (see govrun --help)\n",
               message.c_str());
  return exec::kExitConfig;
}

// The command line: options up to the first `--`, the command after it.
// Hand-written rather than CLI11: CLI11's header pulls in <iostream>, whose
// static initialisation (the standard streams and the whole C++ locale)
// costs every govrun start about as much as parsing does (docs/govrun.md
// "Performance"). An unknown option, a missing or empty value, a repeated
// --config or --bundle and an argument before `--` are usage errors (78).
std::optional<int> ParseCommandLine(int argc, char** argv, Options& options) {
  int index = 1;
  bool has_config = false;
  bool has_bundle = false;
  for (; index < argc; ++index) {
    const std::string_view arg = argv[index];
    if (arg == "--") {
      break;
    }
    if (arg == "-h" || arg == "--help") {
      std::fputs(kHelp, stdout);
      return 0;
    }
    if (arg == "--version") {
      std::printf("%s\n", kVersion);
      return 0;
    }
    if (arg == "--explain") {
      options.explain = true;
      continue;
    }
    if (arg == "--timings") {
      options.timings = true;
      continue;
    }
    const std::size_t equal = arg.find('=');
    const std::string_view name = arg.substr(0, equal);
    if (name != "--config" && name != "--context" && name != "--bundle") {
      return UsageError(arg.size() > 1 && arg[0] == '-' ? "unknown option `" + std::string(arg) + "`"
                                                         : "unexpected argument `" + std::string(arg) +
                                                               "` before `--`");
    }
    std::string value;
    if (equal != std::string_view::npos) {
      value = std::string(arg.substr(equal + 1));
    } else if (index + 1 < argc && std::strcmp(argv[index + 1], "--") != 0) {
      value = argv[++index];
    } else {
      return UsageError(std::string(name) + " needs a value");
    }
    if (value.empty()) {
      return UsageError(std::string(name) + " needs a non-empty value");
    }
    if (name == "--context") {
      options.context.push_back(std::move(value));
    } else if (name == "--config") {
      if (std::exchange(has_config, true)) {
        return UsageError("--config is given more than once");
      }
      options.config = std::move(value);
    } else {
      if (std::exchange(has_bundle, true)) {
        return UsageError("--bundle is given more than once");
      }
      options.bundle = std::move(value);
    }
  }
  if (index >= argc) {
    return UsageError("`--` and the program to run are required");
  }
  if (index + 1 >= argc) {
    return UsageError("no program after `--`");
  }
  for (int i = index + 1; i < argc; ++i) {
    options.command.emplace_back(argv[i]);
  }
  return std::nullopt;
}

int Main(int argc, char** argv, Timings& timings) {
  Options options;
  if (auto code = ParseCommandLine(argc, argv, options)) {
    return *code;
  }
  timings.enabled = options.timings;
  timings.Mark("startup");

  // 1. Configuration, trust, the policy, the lineage key and log.
  config::Search search;
  search.explicit_path = options.config;
  search.gov_config = GetEnv("GOV_CONFIG", &search.has_gov_config);
  if (search.has_gov_config && search.gov_config.empty() && options.config.empty()) {
    return Fail({exec::kExitConfig, "GOV_CONFIG is set but empty"});
  }
  search.xdg_config_home = GetEnv("XDG_CONFIG_HOME");
  search.home = GetEnv("HOME");
  auto config = config::LoadConfig(search);
  if (!config.ok()) {
    return Fail({exec::kExitConfig, config.error().message});
  }
  std::vector<crypto::PublicKey> trusted;
  for (const std::string& path : config.value().trusted_keys) {
    auto key = crypto::ReadPublicKeyFile(path);
    if (!key.ok()) {
      return Fail({exec::kExitConfig, "trusted key " + path + ": " + key.error().message});
    }
    trusted.push_back(key.value());
  }
  timings.Mark("config");
  // Native code decides without the whole IR decoded: govrun reads the few
  // rule records a decision names (RulesOf) and the view's context and env
  // summary (bundle/loader.h LoadOptions::decode_ir).
  bundle::LoadOptions load_options;
  load_options.decode_ir = false;
  auto loaded = bundle::LoadBundleFile(config.value().policy, trusted, load_options);
  if (!loaded.ok()) {
    return Fail({exec::kExitConfig, "policy bundle " + config.value().policy + ": " + loaded.error().message});
  }
  const bundle::LoadedPolicy& policy = loaded.value();
  timings.Mark("load_verify");
  auto signing_key = crypto::ReadPrivateKeyFile(config.value().signing_key);
  if (!signing_key.ok()) {
    return Fail({exec::kExitConfig, "lineage signing key " + config.value().signing_key + ": " +
                                        signing_key.error().message});
  }
  auto opened_log = lineage::OpenLog(config.value().lineage_dir, signing_key.value());
  if (!opened_log.ok()) {
    return Fail({exec::kExitLineage, "lineage log " + config.value().lineage_dir + ": " + opened_log.error().message});
  }
  lineage::Recorder& recorder = *opened_log.value();
  timings.Mark("open_log");

  // 2-3. The program and the request.
  request::Request request;
  if (auto context = ReadContext(options.context, policy.view().context(), request); !context.ok()) {
    return Fail(context.failure());
  }
  if (auto parent = ReadParent(request); !parent.ok()) {
    return Fail(parent.failure());
  }
  bool path_set = false;
  const std::string path_env = GetEnv("PATH", &path_set);
  auto resolved = exec::ResolveProgram(options.command[0], path_env, path_set);
  if (!resolved.ok()) {
    return Fail(resolved.failure());
  }
  exec::Program& program = resolved.value();
  timings.Mark("resolve_hash");
  exec::FillProgramFields(program, options.command[0], request);
  request.args.assign(options.command.begin() + 1, options.command.end());
  request.env = exec::SplitEnvironment(environ);
  if (auto identity = FillIdentity(request); !identity.ok()) {
    return Fail(identity.failure());
  }

  // 4. Decide.
  gov_decision decision{};
  {
    const request::RequestView view(request);
    policy.Decide(view.get(), decision);
  }
  auto decided_rules = policy.RulesOf(decision);
  if (!decided_rules.ok()) {
    return Fail({exec::kExitConfig, "policy bundle " + config.value().policy + ": " + decided_rules.error().message});
  }
  const interp::RuleLookup rules = decided_rules.value().lookup();
  const interp::Explanation explanation = interp::Explain(rules, decision);
  const ir::Obligations obligations = interp::MergeObligations(rules, decision);
  timings.Mark("decide");
  if (options.explain) {
    PrintExplanation(policy, request, explanation, obligations, program);
  }

  const std::string run_id = lineage::NewRunId();
  lineage::Authorization record;
  record.run_id = run_id;
  record.parent_run_id = request.has_parent ? request.parent_run_id : "";
  record.context_fields = policy.view().context();
  record.env_in_clear = obligations.env;
  if (program.is_script) {
    record.interpreter_path = program.interpreter.path;
    record.interpreter_sha256 = program.interpreter.sha256;
  }
  record.policy_digest = policy.digest();
  record.policy_name = policy.manifest().policy_name;
  record.policy_version = policy.manifest().policy_version;
  record.engine = policy.engine();
  // Verdict, error, rules, obligations and the env names the policy reads,
  // derived exactly as govverify --replay derives them.
  lineage::FillDecision(rules, policy.view().env_reads(), decision, record);

  bool execute = decision.verdict == GOV_ALLOW && decision.error == GOV_OK;
  if (decision.verdict == GOV_ASK && decision.error == GOV_OK) {
    record.ask_answer = Ask(explanation, request.program_path, config.value().ask_timeout_ms);
    execute = record.ask_answer == "yes";
  }

  // 6 (planned before recording): an obligation this kernel cannot enforce
  // means no run.
  std::optional<exec::Sandbox> sandbox;
  std::optional<Failure> unenforceable;
  if (execute) {
    exec::SandboxOptions sandbox_options;
    sandbox_options.run_id = run_id;
    sandbox_options.program_files.push_back(program.file.path);
    if (program.is_script) {
      sandbox_options.program_files.push_back(program.interpreter.path);
    }
    auto planned = exec::Sandbox::Plan(obligations, sandbox_options);
    if (planned.ok()) {
      sandbox.emplace(std::move(planned.value()));
    } else {
      unenforceable = planned.failure();
      execute = false;
    }
  }
  record.execute = execute;
  record.request = std::move(request);
  const request::Request& decided = record.request;

  // The child is forked (and sets up its sandbox) while the authorization
  // is made durable; it executes nothing before Go().
  const std::int64_t depth = decided.has_parent ? decided.parent_depth + 1 : 0;
  const std::vector<std::pair<std::string, std::string>> run_vars = {
      {lineage::kEnvRunId, run_id},
      {lineage::kEnvRunDepth, std::to_string(depth)},
      {lineage::kEnvRunProgram, decided.program_path},
  };
  exec::LaunchSpec spec;
  std::optional<exec::Outcome<exec::Child>> spawned;
  if (execute) {
    spec.program = &program;
    spec.argv = options.command;
    spec.envp = exec::ChildEnvironment(decided.env, obligations, run_vars);
    spec.sandbox = &*sandbox;
    spawned.emplace(exec::Spawn(spec));
    timings.Mark("spawn");
  }

  // 5. Record the authorization, durably, before anything runs.
  if (auto recorded = recorder.RecordAuthorization(record); !recorded.ok()) {
    if (spawned && spawned->ok()) {
      spawned->value().Abort();
    }
    return Fail({exec::kExitLineage, "cannot record the authorization (the program was not run): " +
                                         recorded.error().message});
  }
  timings.Mark("record_auth");

  auto finish = [&](int code) -> int {
    if (auto checkpoint = recorder.Checkpoint(); !checkpoint.ok()) {
      std::fprintf(stderr, "govrun: cannot write the lineage checkpoint: %s\n", checkpoint.error().message.c_str());
      return exec::kExitLineage;
    }
    if (!options.bundle.empty()) {
      if (auto exported = recorder.ExportBundle(run_id, options.bundle); !exported.ok()) {
        std::fprintf(stderr, "govrun: cannot export the lineage bundle: %s\n", exported.error().message.c_str());
        return exec::kExitLineage;
      }
    }
    return code;
  };

  if (!execute) {
    if (unenforceable) {
      Fail(*unenforceable);
      return finish(unenforceable->exit_code);
    }
    if (decision.verdict == GOV_ASK && decision.error == GOV_OK) {
      const std::string& answer = record.ask_answer;
      std::fprintf(stderr, "govrun: %s; %s was not run (%s)\n", explanation.summary.c_str(),
                   decided.program_path.c_str(),
                   answer == "no-terminal" ? "no terminal to ask on"
                   : answer == "timeout"   ? "no answer in time"
                                           : "refused");
    } else {
      std::fprintf(stderr, "govrun: %s; %s was not run\n", explanation.summary.c_str(), decided.program_path.c_str());
    }
    return finish(exec::kExitDenied);
  }

  // 6-7. Start, enforce, execute the hashed descriptor, supervise.

  auto end_without_run = [&](const Failure& failure) -> int {
    lineage::End end;
    end.run_id = run_id;
    end.time_unix_ns = exec::RealtimeNs();
    end.exec_error = failure.message;
    Fail(failure);
    if (auto recorded = recorder.RecordEnd(end); !recorded.ok()) {
      std::fprintf(stderr, "govrun: cannot record the end of the run: %s\n", recorded.error().message.c_str());
      return exec::kExitLineage;
    }
    return finish(failure.exit_code);
  };

  if (!spawned->ok()) {
    return end_without_run(spawned->failure());
  }
  exec::Child& child = spawned->value();
  if (auto adopted = sandbox->AdoptChild(child.pid()); !adopted.ok()) {
    child.Abort();
    return end_without_run({exec::kExitConfig, "cannot enforce the obligations: " + adopted.error().message});
  }
  const std::int64_t started_ns = exec::MonotonicNs();
  lineage::Start start;
  start.run_id = run_id;
  start.pid = child.pid();
  start.time_unix_ns = exec::RealtimeNs();
  start.limits = sandbox->limits();
  if (obligations.timeout_ms > 0) {
    start.limits.push_back({"timeout", "govrun supervisor (SIGTERM to the run, SIGKILL after " +
                                           std::to_string(config.value().kill_grace_ms) + " ms)",
                            std::to_string(obligations.timeout_ms) + "ms"});
  }
  if (options.explain) {
    for (const lineage::EnforcedLimit& limit : start.limits) {
      std::fprintf(stderr, "govrun: enforce %s=%s with %s\n", limit.obligation.c_str(), limit.value.c_str(),
                   limit.mechanism.c_str());
    }
  }
  if (auto recorded = recorder.RecordStart(start); !recorded.ok()) {
    child.Abort();
    std::fprintf(stderr, "govrun: cannot record the start (the program was not run): %s\n",
                 recorded.error().message.c_str());
    return exec::kExitLineage;
  }
  if (const int signal = exec::TakePendingTermination(); signal != 0) {
    child.Abort();
    return end_without_run({128 + signal, std::string("received ") + sigabbrev_np(signal) +
                                              " before the program started; it was not run"});
  }
  timings.Mark("record_start");
  auto went = child.Go();
  if (!went.ok()) {
    return end_without_run(went.failure());
  }
  timings.Mark("exec");
  exec::SuperviseOptions supervise;
  supervise.timeout_ms = obligations.timeout_ms;
  supervise.kill_grace_ms = config.value().kill_grace_ms;
  const exec::RunResult result = exec::Supervise(child, *sandbox, supervise, started_ns);
  timings.Mark("run");
  if (result.killed_by == "timeout") {
    std::fprintf(stderr, "govrun: %s exceeded its timeout of %lld ms and was stopped\n",
                 decided.program_path.c_str(), static_cast<long long>(obligations.timeout_ms));
  } else if (result.killed_by == "memory") {
    std::fprintf(stderr, "govrun: %s was killed at its memory limit\n", decided.program_path.c_str());
  }
  lineage::End end;
  end.run_id = run_id;
  end.time_unix_ns = exec::RealtimeNs();
  end.duration_ns = result.duration_ns;
  end.exited = result.exited;
  end.exit_status = result.exit_status;
  end.signal = result.signal;
  end.killed_by = result.killed_by;
  end.user_cpu_us = static_cast<std::int64_t>(result.usage.ru_utime.tv_sec) * 1000000 + result.usage.ru_utime.tv_usec;
  end.system_cpu_us =
      static_cast<std::int64_t>(result.usage.ru_stime.tv_sec) * 1000000 + result.usage.ru_stime.tv_usec;
  end.max_rss_kib = result.usage.ru_maxrss;
  if (auto recorded = recorder.RecordEnd(end); !recorded.ok()) {
    std::fprintf(stderr, "govrun: cannot record the end of the run: %s\n", recorded.error().message.c_str());
    return exec::kExitLineage;
  }
  const int code = finish(result.ExitCode());
  timings.Mark("record_end");
  return code;
}

}  // namespace
}  // namespace gov

int main(int argc, char** argv) {
  gov::exec::PrepareSupervisor();
  gov::Timings timings;
  timings.main_entry = gov::exec::MonotonicNs();
  int code = gov::exec::kExitInternal;
  try {
    code = gov::Main(argc, argv, timings);
  } catch (const std::exception& error) {
    std::fprintf(stderr, "govrun: internal error: %s\n", error.what());
    code = gov::exec::kExitInternal;
  } catch (...) {
    std::fprintf(stderr, "govrun: internal error\n");
    code = gov::exec::kExitInternal;
  }
  gov::Exit(code, timings);
}
