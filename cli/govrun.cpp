// govrun: authorize, record, enforce, execute. `govrun [options] -- PROGRAM
// [ARGS…]` runs PROGRAM only when the configured, signed policy allows it,
// after the authorization is durably recorded, under the policy's
// obligations, executing the very file descriptor that was hashed. Every
// failure before exec means the program does not run (docs/govrun.md).
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <sys/auxv.h>
#include <sys/stat.h>
#include <termios.h>
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

#include "cli/govrun_check.h"
#include "runtime/abi/gov_abi.h"
#include "runtime/bundle/loader.h"
#include "runtime/config/config.h"
#include "runtime/crypto/ed25519.h"
#include "runtime/exec/env.h"
#include "runtime/exec/exit_codes.h"
#include "runtime/exec/process.h"
#include "runtime/exec/program.h"
#include "runtime/exec/run.h"
#include "runtime/exec/sandbox.h"
#include "runtime/exec/secure_start.h"
#include "runtime/hook/claude_code.h"
#include "runtime/interp/interp.h"
#include "runtime/ir/capabilities.h"
#include "runtime/ir/ir.h"
#include "runtime/lineage/recorder.h"
#include "runtime/request/request.h"
#include "runtime/service/client.h"
#include "runtime/session/approval.h"
#include "runtime/session/authorization.h"
#include "runtime/session/session.h"
#include "runtime/support/display.h"
#include "runtime/support/output_file.h"

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
  return id.size() == 32 &&
         std::all_of(id.begin(), id.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

// The enclosing governed run, verified: GOV_RUN_ID and GOV_RUN_RECORD are
// only a claim (any caller can set them); the run is this request's parent
// only when the start record at that offset of this log is the start of
// that run and names a supervisor that is a live ancestor of this process
// (same pid, same start time, same boot). Otherwise the request has no
// parent and `notice` says why (docs/request.md). Without a recorder
// (--check), the log in `lineage_dir` is read without being opened for
// writing.
void VerifyParent(lineage::Recorder* recorder, const std::string& lineage_dir, request::Request& request,
                  std::string& notice) {
  bool has_id = false;
  const std::string id = GetEnv(lineage::kEnvRunId, &has_id);
  if (!has_id) {
    return;
  }
  auto reject = [&](const std::string& why) {
    notice = std::string(lineage::kEnvRunId) + " names run " + EscapeForDisplay(id) +
             ", which is not an enclosing governed run in progress (" + why + "); deciding without a parent";
  };
  if (!IsRunId(id)) {
    return reject("not a run id");
  }
  const std::string record = GetEnv(lineage::kEnvRunRecord);
  std::uint64_t offset = 0;
  if (record.size() != 16 || !std::all_of(record.begin(), record.end(),
                                          [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); })) {
    return reject(std::string(lineage::kEnvRunRecord) + " is not 16 hex digits");
  }
  offset = std::stoull(record, nullptr, 16);
  auto started =
      recorder != nullptr ? recorder->ReadStart(id, offset) : lineage::ReadStartFromLog(lineage_dir, id, offset);
  if (!started.ok()) {
    return reject("its start record is not in this lineage log: " + started.error().message);
  }
  const lineage::StartedRun& run = started.value();
  if (run.boot_id != exec::BootId()) {
    return reject("it started before this boot");
  }
  for (const exec::ProcessIdentity& ancestor : exec::Ancestors()) {
    if (ancestor.SameProcess(static_cast<pid_t>(run.supervisor_pid), run.supervisor_start_time)) {
      // A supervisor is a govrun. Its executable cannot be looked at when it
      // is not dumpable (as govrun makes itself); one that can be, and is
      // another program, is no supervisor.
      struct stat supervisor {};
      struct stat self {};
      const std::string exe = "/proc/" + std::to_string(ancestor.pid) + "/exe";
      if (stat(exe.c_str(), &supervisor) == 0 && stat("/proc/self/exe", &self) == 0 &&
          (supervisor.st_dev != self.st_dev || supervisor.st_ino != self.st_ino)) {
        return reject("the process its start record names is not govrun");
      }
      request.has_parent = true;
      request.parent_run_id = id;
      request.parent_depth = run.depth;
      request.parent_program = run.program;
      return;
    }
  }
  reject("its supervising govrun is not an ancestor of this process");
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
      return Failure{exec::kExitConfig,
                     "--context `" + key + "`: the policy declares no such context field" +
                         (declared.empty() ? std::string(" (it declares none)") : " (declared: " + declared + ")")};
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

// The user and group databases are read from /etc/passwd and /etc/group
// (root's files) with glibc's file parsers, never through NSS: a static
// program that loads an NSS module (systemd, sss, ldap) gets a second C
// library and crashed for a uid that only such a module knows. Accounts
// known only to another source show as numbers (docs/govrun.md).
std::string GroupName(gid_t gid) {
  std::string name = std::to_string(gid);
  FILE* file = std::fopen("/etc/group", "rce");
  if (file == nullptr) return name;
  struct group entry {};
  struct group* found = nullptr;
  std::vector<char> buffer(1 << 16);
  while (fgetgrent_r(file, &entry, buffer.data(), buffer.size(), &found) == 0 && found != nullptr) {
    if (found->gr_gid == gid) {
      name = found->gr_name;
      break;
    }
  }
  std::fclose(file);
  return name;
}

// The /etc/passwd entry of `uid`: false when there is none.
bool FindUser(uid_t uid, std::string& name, std::string& home, std::string& shell) {
  FILE* file = std::fopen("/etc/passwd", "rce");
  if (file == nullptr) return false;
  struct passwd entry {};
  struct passwd* found = nullptr;
  std::vector<char> buffer(1 << 14);
  bool matched = false;
  while (fgetpwent_r(file, &entry, buffer.data(), buffer.size(), &found) == 0 && found != nullptr) {
    if (found->pw_uid == uid) {
      name = found->pw_name;
      home = found->pw_dir != nullptr ? found->pw_dir : "";
      shell = found->pw_shell != nullptr ? found->pw_shell : "";
      matched = true;
      break;
    }
  }
  std::fclose(file);
  return matched;
}

// The caller's identity as govrun measures it, and the account variables
// the default environment sets from the user database.
exec::Outcome<bool> FillIdentity(request::Request& request, exec::AccountVariables& account) {
  char* cwd = getcwd(nullptr, 0);
  if (cwd == nullptr) {
    return Failure{exec::kExitInternal, std::string("cannot determine the current directory: ") + std::strerror(errno)};
  }
  request.cwd = cwd;
  account.cwd = cwd;
  std::free(cwd);
  const uid_t uid = geteuid();
  const gid_t gid = getegid();
  request.uid = uid;
  request.gid = gid;
  if (FindUser(uid, account.user, account.home, account.shell)) {
    request.user_name = account.user;
  } else {
    request.user_name = std::to_string(uid);
  }
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

std::string JoinList(const std::vector<std::string>& items) {
  std::string out;
  for (const std::string& item : items) {
    out += (out.empty() ? "" : ", ") + item;
  }
  return "[" + out + "]";
}

// The decision in words: --explain (on stderr), --check (on stdout).
void PrintExplanation(const bundle::LoadedPolicy& policy, const request::Request& request,
                      const interp::Explanation& explanation, const ir::Obligations& obligations,
                      const exec::Program& program, std::FILE* out = stderr) {
  std::fprintf(out, "govrun: policy %s %s (%s), %s\n", EscapeForDisplay(policy.manifest().policy_name).c_str(),
               EscapeForDisplay(policy.manifest().policy_version).c_str(), policy.digest().c_str(),
               policy.engine().c_str());
  std::fprintf(out, "govrun: program %s (%s)\n", EscapeForDisplay(request.program_path).c_str(),
               request.program_sha256.c_str());
  std::fprintf(out, "govrun: invoked %s as %s\n", EscapeForDisplay(request.invoked_path).c_str(),
               EscapeForDisplay(request.argv0).c_str());
  if (program.is_script) {
    std::fprintf(out, "govrun: script interpreter %s (%s)\n", EscapeForDisplay(program.interpreter.path).c_str(),
                 program.interpreter.sha256.c_str());
  }
  std::fprintf(out, "govrun: args %s, cwd %s, user %s (uid %lld), host %s\n",
               EscapeForDisplay(JoinList(request.args)).c_str(), EscapeForDisplay(request.cwd).c_str(),
               EscapeForDisplay(request.user_name).c_str(), static_cast<long long>(request.uid),
               EscapeForDisplay(request.host).c_str());
  if (request.has_parent) {
    std::fprintf(out, "govrun: parent run %s (depth %lld, %s)\n", request.parent_run_id.c_str(),
                 static_cast<long long>(request.parent_depth), EscapeForDisplay(request.parent_program).c_str());
  }
  std::fprintf(out, "govrun: decision: %s\n", EscapeForDisplay(explanation.summary).c_str());
  for (const interp::ExplainedRule& rule : explanation.rules) {
    std::fprintf(out, "govrun:   rule %s (%s)%s%s\n", rule.name.c_str(),
                 interp::VerdictName(static_cast<std::uint32_t>(rule.verdict)), rule.reason.empty() ? "" : ": ",
                 EscapeForDisplay(rule.reason).c_str());
  }
  std::fprintf(out, "govrun: obligations:%s\n", session::ObligationsText(obligations).c_str());
}

// Where `tmp = private` makes the run's directory: the caller's TMPDIR when
// it names a directory by an absolute path (so a nested run's directory lies
// inside its parent's) that no other user can rename entries in — owned by
// this user or root, and sticky if others may write it — else /tmp.
std::string PrivateTmpBase(const std::vector<std::pair<std::string, std::string>>& env) {
  std::string tmpdir;
  for (const auto& [name, value] : env) {
    if (name == "TMPDIR") tmpdir = value;
  }
  struct stat st {};
  if (!tmpdir.empty() && tmpdir.front() == '/' && stat(tmpdir.c_str(), &st) == 0 && S_ISDIR(st.st_mode) &&
      (st.st_uid == geteuid() || st.st_uid == 0) &&
      ((st.st_mode & (S_IWGRP | S_IWOTH)) == 0 || (st.st_mode & S_ISVTX) != 0)) {
    return tmpdir;
  }
  return "/tmp";
}

// Plans the enforcement of `obligations` for `program` (docs/govrun.md
// "Enforcing obligations"): a real run before it records, --check alike.
exec::Outcome<exec::Sandbox> PlanSandbox(const ir::Obligations& obligations, const exec::Program& program,
                                         const request::Request& request, const std::string& run_id,
                                         bool governed_session = false, bool session_notify = false) {
  exec::SandboxOptions sandbox_options;
  sandbox_options.run_id = run_id;
  sandbox_options.private_tmp_base = PrivateTmpBase(request.env);
  sandbox_options.governed_session = governed_session;
  sandbox_options.session_notify = session_notify;
  sandbox_options.program_fds.push_back(program.file.fd.get());
  for (const std::string& name : obligations.capabilities) {
    if (const auto number = ir::CapabilityNumber(name)) {
      sandbox_options.keep_capabilities.push_back(*number);
    }
  }
  if (program.is_script) {
    sandbox_options.program_fds.push_back(program.interpreter.fd.get());
  }
  return exec::Sandbox::Plan(obligations, sandbox_options);
}

// How each obligation is enforced: the sandbox's mechanisms, then the
// supervisor's timeout (the start record, --explain, --check).
std::vector<lineage::EnforcedLimit> EnforcedLimits(const exec::Sandbox& sandbox, const ir::Obligations& obligations,
                                                   std::int64_t kill_grace_ms) {
  std::vector<lineage::EnforcedLimit> limits = sandbox.limits();
  if (obligations.timeout_ms > 0) {
    limits.push_back({"timeout",
                      "govrun supervisor (SIGTERM to the run, SIGKILL after " + ir::FormatDuration(kill_grace_ms) + ")",
                      ir::FormatDuration(obligations.timeout_ms)});
  }
  return limits;
}

// The `ask` prompt, on govrun's controlling terminal (/dev/tty) — never on
// stdin, which a harness may have filled (session::AskOnTerminal). "no-terminal"
// without a controlling terminal in the foreground.
std::string Ask(const interp::Explanation& explanation, const request::Request& request,
                const std::vector<std::string>& argv, const ir::Obligations& obligations, std::int64_t timeout_ms) {
  const int tty = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (tty < 0) {
    return "no-terminal";
  }
  exec::UniqueFd holder(tty);
  // A background job must not read the terminal (nor be stopped by it).
  if (tcgetpgrp(tty) != getpgrp()) {
    return "no-terminal";
  }
  return session::AskOnTerminal(tty, session::ApprovalQuestion(explanation, request, argv, obligations, timeout_ms),
                                timeout_ms);
}

struct Options {
  std::string config;
  std::vector<std::string> context;
  bool explain = false;
  bool timings = false;
  bool session = false;
  std::string ask_terminal;       // --ask-terminal: a session's approval terminal
  std::string session_mechanism;  // --session-mechanism: auto (default), kernel, ptrace
  std::string bundle;
  // --check: decide and explain, run and record nothing; --format text|json.
  bool check = false;
  std::string format;
  std::vector<std::string> command;
};

constexpr const char* kHelp =
    "govrun: run a command only when the signed policy allows it, under its limits, recorded\n"
    "Usage: govrun [options] -- PROGRAM [ARGS...]\n"
    "       govrun --session [options] -- PROGRAM [ARGS...]\n"
    "       govrun hook claude-code [--config FILE] [--context KEY=VALUE]...  (Claude Code hook, see\n"
    "       docs/integrations.md)\n"
    "\n"
    "Options (before `--`; `--option VALUE` or `--option=VALUE`):\n"
    "  -h, --help                Print this help message and exit\n"
    "  --version                 Print the version and exit\n"
    "  --config FILE             Configuration file (else $GOV_CONFIG, ~/.config/gov/config.toml,\n"
    "                            /etc/gov/config.toml)\n"
    "  --context KEY=VALUE       A context value the policy declares (repeatable)\n"
    "  --session                 Govern every exec of PROGRAM's whole process tree: each is decided\n"
    "                            by the policy before it runs, recorded as a child run, and denied\n"
    "                            with EACCES in the caller when not allowed\n"
    "  --session-mechanism M     With --session: `kernel` (root: seccomp notification + BPF + PID\n"
    "                            namespace), `ptrace` (any user), or `auto` (default: kernel when root\n"
    "                            and the kernel loads it, else ptrace); an unavailable choice is 78\n"
    "  --ask-terminal TTY        With --session: ask a person on TTY (a terminal the session does not\n"
    "                            use) when the policy says ask; without it an ask in a session is denied\n"
    "  --explain                 Explain the decision on stderr\n"
    "  --check                   Decide and explain on stdout; run and record nothing (0 allow, 77 deny or ask)\n"
    "  --format text|json        With --check: the explanation as text (default) or one JSON document\n"
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
    "  govrun --session -- bash -c 'make && ./run-tests'\n"
    "  govrun --check --format json -- git push\n"
    "  GOV_CONFIG=./config.toml govrun --bundle run.lineage -- make test\n";

int UsageError(const std::string& message) {
  std::fprintf(stderr, "govrun: %s\ngovrun: usage: govrun [options] -- PROGRAM [ARGS...] (see govrun --help)\n",
               message.c_str());
  return exec::kExitUsage;
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
    if (arg == "--session") {
      options.session = true;
      continue;
    }
    if (arg == "--check") {
      options.check = true;
      continue;
    }
    const std::size_t equal = arg.find('=');
    const std::string_view name = arg.substr(0, equal);
    if (name != "--config" && name != "--context" && name != "--bundle" && name != "--format" &&
        name != "--ask-terminal" && name != "--session-mechanism") {
      return UsageError(arg.size() > 1 && arg[0] == '-' ? "unknown option `" + std::string(arg) + "`"
                                                        : "unexpected argument `" + std::string(arg) + "` before `--`");
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
    } else if (name == "--ask-terminal") {
      if (!options.ask_terminal.empty()) {
        return UsageError("--ask-terminal is given more than once");
      }
      options.ask_terminal = std::move(value);
    } else if (name == "--session-mechanism") {
      if (!options.session_mechanism.empty()) {
        return UsageError("--session-mechanism is given more than once");
      }
      if (value != "auto" && value != "kernel" && value != "ptrace") {
        return UsageError("--session-mechanism must be `auto`, `kernel` or `ptrace`");
      }
      options.session_mechanism = std::move(value);
    } else if (name == "--format") {
      if (!options.format.empty()) {
        return UsageError("--format is given more than once");
      }
      if (value != "text" && value != "json") {
        return UsageError("--format must be `text` or `json`");
      }
      options.format = std::move(value);
    } else {
      if (std::exchange(has_bundle, true)) {
        return UsageError("--bundle is given more than once");
      }
      options.bundle = std::move(value);
    }
  }
  if (!options.session_mechanism.empty() && !options.session) {
    return UsageError("--session-mechanism needs --session");
  }
  if (!options.ask_terminal.empty() && !options.session) {
    return UsageError("--ask-terminal needs --session (a one-shot run asks on its own terminal)");
  }
  if (!options.format.empty() && !options.check) {
    return UsageError("--format needs --check");
  }
  if (options.check && !options.bundle.empty()) {
    return UsageError("--bundle cannot be used with --check: nothing is recorded");
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

// govrun --check: what a real run would decide and do, without running or
// recording anything (docs/govrun.md "govrun --check"). Main calls it right
// after the decision, with the request built, decided, explained and its
// obligations merged exactly as for a real run; the enforcement is planned
// as a real run plans it (for an ask: as if approved) and the plan dropped
// (which removes any cgroup it created). Prints the explanation or one JSON
// document on stdout. Exit: 0 for an allow that would run; 77 for a deny or
// an ask (never asked); for an allow whose obligations this kernel cannot
// enforce, the plan's exit code (78) and its message on stderr, as a real run.
int Check(const Options& options, const bundle::LoadedPolicy& policy, const request::Request& request,
          const exec::Program& program, const gov_decision& decision, const interp::Explanation& explanation,
          const ir::Obligations& obligations, const std::string& parent_notice, std::int64_t kill_grace_ms) {
  const bool allow = decision.verdict == GOV_ALLOW && decision.error == GOV_OK;
  const bool ask = decision.verdict == GOV_ASK && decision.error == GOV_OK;
  govrun::CheckReport report;
  std::optional<exec::Outcome<exec::Sandbox>> planned;
  if (allow || ask) {
    planned.emplace(PlanSandbox(obligations, program, request, lineage::NewRunId()));
    report.planned = true;
    report.enforceable = planned->ok();
    if (planned->ok()) {
      report.limits = EnforcedLimits(planned->value(), obligations, kill_grace_ms);
    } else {
      report.failure = planned->failure().message;
    }
  }
  if (allow) {
    report.outcome = planned->ok() ? "run" : "refused";
    report.exit_code = planned->ok() ? 0 : planned->failure().exit_code;
  } else {
    report.outcome = ask ? "ask" : "deny";
    report.exit_code = exec::kExitDenied;
  }
  if (!parent_notice.empty()) {
    report.notices.push_back(parent_notice);
  }
  if (options.format == "json") {
    const std::string text = govrun::CheckJson(policy, request, program, explanation, obligations, report);
    std::fwrite(text.data(), 1, text.size(), stdout);
  } else {
    PrintExplanation(policy, request, explanation, obligations, program, stdout);
    for (const lineage::EnforcedLimit& limit : report.limits) {
      std::fprintf(stdout, "govrun: enforce %s=%s with %s\n", limit.obligation.c_str(),
                   EscapeForDisplay(limit.value).c_str(), EscapeForDisplay(limit.mechanism).c_str());
    }
    if (report.planned && !report.enforceable) {
      std::fprintf(stdout, "govrun: %s\n", EscapeForDisplay(report.failure).c_str());
    }
    const char* verdict = report.outcome == "run"       ? "allow: the program would run"
                          : report.outcome == "refused" ? "refused: the program would not run (an obligation cannot be "
                                                          "enforced)"
                          : report.outcome == "ask"     ? "ask: a real run would ask on the terminal (not asked)"
                                                        : "deny: the program would not run";
    std::fprintf(stdout, "govrun: check: %s; nothing was run or recorded\n", verdict);
  }
  if (std::fflush(stdout) != 0 || std::ferror(stdout) != 0) {
    std::fprintf(stderr, "govrun: cannot write the --check output: %s\n", std::strerror(errno));
    return exec::kExitLineage;
  }
  if (report.outcome == "refused") {
    Fail(planned->failure());
  }
  return report.exit_code;
}

int Main(int argc, char** argv, Timings& timings) {
  Options options;
  if (auto code = ParseCommandLine(argc, argv, options)) {
    return *code;
  }
  timings.enabled = options.timings;
  timings.Mark("startup");
  if (std::string why; options.session && !session::Supported(&why)) {
    return Fail({exec::kExitConfig, "cannot govern a session: " + why});
  }
  // The kernel mechanism is loaded before anything is decided: when it was
  // asked for and cannot be had, nothing runs (78); `auto` takes the ptrace
  // mechanism instead, and the start record names the one used.
  std::unique_ptr<session::KernelMechanism> kernel;
  if (options.session && options.session_mechanism != "ptrace" && !options.check) {
    const bool explicit_kernel = options.session_mechanism == "kernel";
    if (geteuid() != 0) {
      if (explicit_kernel) {
        return Fail({exec::kExitConfig, "--session-mechanism kernel needs root (CAP_BPF, CAP_SYS_ADMIN)"});
      }
    } else if (auto loaded = session::LoadKernelMechanism(); loaded.ok()) {
      kernel = std::move(loaded.value());
    } else if (explicit_kernel) {
      return Fail({exec::kExitConfig, "cannot govern a session with the kernel mechanism: " + loaded.error().message});
    }
  }
  timings.Mark("session_mechanism");

  // 1. Configuration, trust, the policy, the lineage key and log.
  config::Search search;
  search.explicit_path = options.config;
  search.gov_config = GetEnv("GOV_CONFIG", &search.has_gov_config);
  search.caller_is_root = getuid() == 0;
  if (search.has_gov_config && search.gov_config.empty() && options.config.empty()) {
    return Fail({exec::kExitConfig, "GOV_CONFIG is set but empty"});
  }
  search.xdg_config_home = GetEnv("XDG_CONFIG_HOME");
  search.home = GetEnv("HOME");
  auto config = config::LoadConfig(search);
  if (!config.ok()) {
    return Fail({exec::kExitConfig, config.error().message});
  }
  // With ask = "service" (lockable) asks go to govd's approvers only: a
  // terminal of the caller's choosing — a pseudo-terminal an agent opened
  // and holds — must not take their place.
  exec::UniqueFd ask_tty;
  if (!options.ask_terminal.empty()) {
    if (config.value().ask_via_service) {
      return Fail({exec::kExitConfig, "--ask-terminal: " + config.value().source +
                                          " puts asks to govd's approvers (ask = \"service\"), not to a terminal"});
    }
    auto opened = session::OpenApprovalTerminal(options.ask_terminal);
    if (!opened.ok()) {
      return Fail({exec::kExitConfig, "--ask-terminal: " + opened.error().message});
    }
    ask_tty = exec::UniqueFd(opened.value());
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
  // --check records nothing: it needs neither the signing key nor the log.
  std::unique_ptr<lineage::Recorder> log;
  if (!options.check && !config.value().lineage_service.empty()) {
    exec::RaiseSubmitterGroup();
    auto connected = service::ConnectService(config.value().lineage_service, config.value().lineage_dir,
                                             config.value().lineage_lock_timeout_ms);
    exec::LowerSubmitterGroup();
    if (!connected.ok()) {
      return Fail({exec::kExitLineage, connected.error().message});
    }
    log = std::move(connected.value());
  } else if (!options.check) {
    auto signing_key = crypto::ReadPrivateKeyFile(config.value().signing_key);
    if (!signing_key.ok()) {
      return Fail({exec::kExitConfig,
                   "lineage signing key " + config.value().signing_key + ": " + signing_key.error().message});
    }
    auto opened_log = lineage::OpenLog(config.value().lineage_dir, signing_key.value(),
                                       lineage::OpenOptions{config.value().lineage_lock_timeout_ms});
    if (!opened_log.ok()) {
      return Fail(
          {exec::kExitLineage, "lineage log " + config.value().lineage_dir + ": " + opened_log.error().message});
    }
    log = std::move(opened_log.value());
  }
  exec::ForgetSubmitterGroup();  // the connection to govd (if any) is made
  timings.Mark("open_log");

  // 2-3. The program and the request.
  const std::int64_t request_started_ns = exec::MonotonicNs();
  request::Request request;
  if (auto context = ReadContext(options.context, policy.view().context(), request); !context.ok()) {
    return Fail(context.failure());
  }
  std::string parent_notice;
  VerifyParent(log.get(), config.value().lineage_dir, request, parent_notice);
  if (!parent_notice.empty()) {
    std::fprintf(stderr, "govrun: %s\n", parent_notice.c_str());
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
  // What SecureStart removed from govrun's own environment is still part of
  // what the caller gave.
  const auto& scrubbed = exec::ScrubbedEnvironment();
  request.env.insert(request.env.end(), scrubbed.begin(), scrubbed.end());
  exec::AccountVariables account;
  if (auto identity = FillIdentity(request, account); !identity.ok()) {
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
  // A decision that names a rule the policy does not define (or names
  // none) must not run with some obligations skipped: it denies.
  if (interp::DenyUnknownRules(rules, decision)) {
    std::fprintf(stderr, "govrun: the policy's decision names a rule the bundle does not define; denying\n");
  }
  const interp::Explanation explanation = interp::Explain(rules, decision);
  const ir::Obligations obligations = interp::MergeObligations(rules, decision);
  const std::int64_t decision_ns = exec::MonotonicNs() - request_started_ns;
  timings.Mark("decide");
  if (options.check) {
    return Check(options, policy, request, program, decision, explanation, obligations, parent_notice,
                 config.value().kill_grace_ms);
  }
  if (options.explain) {
    PrintExplanation(policy, request, explanation, obligations, program);
  }
  lineage::Recorder& recorder = *log;

  const std::string run_id = lineage::NewRunId();
  lineage::Authorization record = session::NewAuthorization(run_id, request.has_parent ? request.parent_run_id : "",
                                                            policy, rules, decision, obligations, program);

  bool execute = decision.verdict == GOV_ALLOW && decision.error == GOV_OK;
  if (decision.verdict == GOV_ASK && decision.error == GOV_OK) {
    if (config.value().ask_via_service) {
      // The lineage service's approvers answer (docs/govd.md "Approvals");
      // no terminal is asked, and a failure to ask runs nothing.
      auto approval = recorder.AskApprovers(run_id,
                                            session::ApprovalQuestionJson(explanation, request, options.command,
                                                                          obligations, config.value().ask_timeout_ms),
                                            config.value().ask_timeout_ms);
      if (!approval.ok()) {
        return Fail({exec::kExitLineage,
                     "ask: cannot put it to approvers (the program was not run): " + approval.error().message});
      }
      record.ask_answer = approval.value().answer;
      record.approval = approval.value();
    } else {
      record.ask_answer = Ask(explanation, request, options.command, obligations, config.value().ask_timeout_ms);
    }
    execute = record.ask_answer == "yes";
  }

  // 6 (planned before recording): an obligation this kernel cannot enforce
  // means no run.
  std::optional<exec::Sandbox> sandbox;
  std::optional<Failure> unenforceable;
  // The kernel mechanism holds against a tree that cannot reach BPF, the
  // kernel or other processes: a root rule that keeps such a capability
  // gets the ptrace mechanism (auto), or no run (kernel asked for).
  if (kernel) {
    for (const std::string& name : obligations.capabilities) {
      if (name != "sys_admin" && name != "bpf" && name != "perfmon" && name != "sys_ptrace" && name != "sys_module" &&
          name != "sys_rawio") {
        continue;
      }
      if (options.session_mechanism == "kernel") {
        unenforceable = Failure{exec::kExitConfig,
                                "the kernel session mechanism cannot hold against a tree that "
                                "keeps " +
                                    name + " (obligation capabilities)"};
        execute = false;
      } else {
        kernel.reset();
      }
      break;
    }
  }
  if (execute) {
    auto planned = PlanSandbox(obligations, program, request, run_id, options.session, kernel != nullptr);
    timings.Mark("plan");
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
  const std::string shown_program = EscapeForDisplay(decided.program_path);

  // The child is created (and sets up its sandbox) while the authorization
  // is made durable; it executes nothing before Go(), which only this
  // process can give. The offset of this run's start record reaches the
  // program's environment at Go() (GOV_RUN_RECORD, for nested govruns).
  std::vector<std::pair<std::string, std::string>> run_vars = {
      {lineage::kEnvRunId, run_id},
      {lineage::kEnvRunRecord, std::string(16, '0')},
  };
  if (sandbox && !sandbox->private_tmp_path().empty()) {
    run_vars.emplace_back("TMPDIR", sandbox->private_tmp_path());
  }
  exec::LaunchSpec spec;
  std::optional<exec::Outcome<exec::Child>> spawned;
  if (execute) {
    spec.program = &program;
    spec.argv = options.command;
    spec.envp = exec::ChildEnvironment(decided.env, obligations, account, run_vars);
    spec.late_env_name = lineage::kEnvRunRecord;
    spec.sandbox = &*sandbox;
    if (kernel) {
      // The root is spawned into the tree's PID namespace.
      if (auto entered = session::EnterTreeNamespace(*kernel); !entered.ok()) {
        return Fail({exec::kExitConfig, "cannot govern a session: " + entered.error().message});
      }
    }
    spawned.emplace(exec::Spawn(spec));
    if (kernel) {
      if (auto left = session::LeaveTreeNamespace(*kernel); !left.ok()) {
        if (spawned->ok()) {
          spawned->value().Abort();
        }
        return Fail({exec::kExitInternal, left.error().message});
      }
    }
    timings.Mark("spawn");
  }

  // 5. Record the authorization, durably, before anything runs.
  if (auto recorded = recorder.RecordAuthorization(record); !recorded.ok()) {
    if (spawned && spawned->ok()) {
      spawned->value().Abort();
    }
    return Fail(
        {exec::kExitLineage, "cannot record the authorization (the program was not run): " + recorded.error().message});
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
      std::fprintf(stderr, "govrun: %s; %s was not run (%s)\n", EscapeForDisplay(explanation.summary).c_str(),
                   shown_program.c_str(),
                   answer == "no-terminal" ? "no terminal to ask on"
                   : answer == "timeout"   ? "no answer in time"
                                           : "refused");
    } else {
      std::fprintf(stderr, "govrun: %s; %s was not run\n", EscapeForDisplay(explanation.summary).c_str(),
                   shown_program.c_str());
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
  if (options.session) {
    // The session's root lets govrun attach before it may start: its first
    // exec, and every exec of its tree, stop for the supervisor.
    auto ready = child.WaitReady();
    if (!ready.ok()) {
      return end_without_run(ready.failure());
    }
    if (auto attached = kernel ? session::AttachKernel(child, *kernel) : session::Attach(child); !attached.ok()) {
      child.Abort();
      return end_without_run(attached.failure());
    }
  }
  if (auto adopted = sandbox->AdoptChild(child.pid(), child.born_in_cgroup()); !adopted.ok()) {
    child.Abort();
    return end_without_run({exec::kExitConfig, "cannot enforce the obligations: " + adopted.error().message});
  }
  const std::int64_t started_ns = exec::MonotonicNs();
  lineage::Start start;
  start.run_id = run_id;
  start.pid = child.pid();
  start.time_unix_ns = exec::RealtimeNs();
  start.limits = EnforcedLimits(*sandbox, obligations, config.value().kill_grace_ms);
  const auto self = exec::IdentityOf(0);
  if (!self) {
    child.Abort();
    return end_without_run({exec::kExitInternal, "cannot read govrun's own /proc/self/stat"});
  }
  start.supervisor_pid = self->pid;
  start.supervisor_start_time = self->start_time;
  start.boot_id = exec::BootId();
  start.depth = decided.has_parent ? decided.parent_depth + 1 : 0;
  start.program = decided.program_path;
  start.decision_ns = decision_ns;
  start.exec_latency_ns = exec::MonotonicNs() - timings.main_entry;
  if (options.explain) {
    for (const lineage::EnforcedLimit& limit : start.limits) {
      std::fprintf(stderr, "govrun: enforce %s=%s with %s\n", limit.obligation.c_str(),
                   EscapeForDisplay(limit.value).c_str(), EscapeForDisplay(limit.mechanism).c_str());
    }
  }
  auto start_offset = recorder.RecordStart(start);
  if (!start_offset.ok()) {
    child.Abort();
    std::fprintf(stderr, "govrun: cannot record the start (the program was not run): %s\n",
                 start_offset.error().message.c_str());
    return exec::kExitLineage;
  }
  if (const int signal = exec::TakePendingTermination(); signal != 0) {
    child.Abort();
    return end_without_run({128 + signal, std::string("received ") + sigabbrev_np(signal) +
                                              " before the program started; it was not run"});
  }
  timings.Mark("record_start");
  // From here on every way out of this function ends the whole run.
  exec::RunKiller killer(child.pid(), *sandbox);
  // A session checks the root's new image against exactly what executes:
  // the argv the child passes and the environment with the late value.
  std::vector<std::string> root_argv;
  std::vector<std::string> root_envp;
  if (options.session) {
    root_argv = child.ExecArgv();
    root_envp = spec.envp;
    const std::string late_prefix = std::string(lineage::kEnvRunRecord) + "=";
    for (std::string& entry : root_envp) {
      if (entry.starts_with(late_prefix)) {
        char digits[17];
        std::snprintf(digits, sizeof digits, "%016llx", static_cast<unsigned long long>(start_offset.value()));
        entry = late_prefix + digits;
      }
    }
  }
  const timespec session_started = session::StartTime();
  if (kernel) {
    // Executable memory from files written from now on ends the run that maps it.
    if (auto set = kernel->binding->SetWrittenSince(session_started.tv_sec); !set.ok()) {
      child.Abort();
      return end_without_run({exec::kExitConfig, "cannot govern a session: " + set.error().message});
    }
  }
  auto went = child.Go(start_offset.value(), /*wait=*/!options.session);
  if (!went.ok()) {
    killer.Disarm();  // the child executed nothing and is reaped: there is no run to kill
    return end_without_run(went.failure());
  }
  timings.Mark("exec");
  if (options.session) {
    session::SessionOptions session_options;
    session_options.policy = &policy;
    session_options.recorder = &recorder;
    session_options.root_request = &decided;
    session_options.root_obligations = obligations;
    session_options.root_run_id = run_id;
    session_options.root_depth = start.depth;
    session_options.root_file = program.is_script ? program.interpreter.st : program.file.st;
    if (program.is_script) {
      session_options.root_script_path = program.file.path;
      session_options.root_script = program.file.st;
    }
    session_options.root_argv = std::move(root_argv);
    session_options.root_envp = std::move(root_envp);
    session_options.started = session_started;
    session_options.root_timeout_ms = obligations.timeout_ms;
    session_options.kill_grace_ms = config.value().kill_grace_ms;
    session_options.ask_tty = ask_tty.get();
    session_options.stop_on_drift = config.value().session_stop_on_drift;
    session_options.ask_timeout_ms = config.value().ask_timeout_ms;
    session_options.ask_via_service = config.value().ask_via_service;
    session_options.watched_files = config.value().trusted_keys;
    session_options.watched_files.push_back(config.value().policy);
    session_options.watched_files.push_back(config.value().source);
    session_options.kernel = kernel.get();
    auto supervised = session::Supervise(child, *sandbox, session_options, started_ns);
    if (!supervised.ok()) {
      killer.Disarm();
      return end_without_run(supervised.failure());
    }
    killer.Disarm();
    const session::SessionResult& result = supervised.value();
    if (options.timings) {
      const auto& costs = result.costs;
      std::fprintf(stderr,
                   "govrun-session-timings runs=%d denied=%d read_ns=%lld resolve_hash_ns=%lld decide_ns=%lld "
                   "record_ns=%lld durable_wait_ns=%lld check_start_ns=%lld\n",
                   result.runs, result.denied, static_cast<long long>(costs.read_ns),
                   static_cast<long long>(costs.resolve_hash_ns), static_cast<long long>(costs.decide_ns),
                   static_cast<long long>(costs.record_ns), static_cast<long long>(costs.durable_wait_ns),
                   static_cast<long long>(costs.check_start_ns));
    }
    if (!result.lineage_error.empty()) {
      std::fprintf(stderr, "govrun: the session's lineage could not be written completely: %s\n",
                   result.lineage_error.c_str());
      finish(exec::kExitLineage);
      return exec::kExitLineage;
    }
    return finish(result.root.ExitCode());
  }
  exec::SuperviseOptions supervise;
  supervise.timeout_ms = obligations.timeout_ms;
  supervise.kill_grace_ms = config.value().kill_grace_ms;
  const exec::RunResult result = exec::Supervise(child, *sandbox, supervise, started_ns);
  killer.Disarm();
  timings.Mark("run");
  if (result.killed_by == "timeout") {
    std::fprintf(stderr, "govrun: %s exceeded its timeout of %s and was stopped\n", shown_program.c_str(),
                 ir::FormatDuration(obligations.timeout_ms).c_str());
  } else if (result.killed_by == "memory") {
    std::fprintf(stderr, "govrun: %s was killed at its memory limit\n", shown_program.c_str());
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
  end.system_cpu_us = static_cast<std::int64_t>(result.usage.ru_stime.tv_sec) * 1000000 + result.usage.ru_stime.tv_usec;
  end.max_rss_kib = result.usage.ru_maxrss;
  if (auto recorded = recorder.RecordEnd(end); !recorded.ok()) {
    std::fprintf(stderr, "govrun: cannot record the end of the run: %s\n", recorded.error().message.c_str());
    return exec::kExitLineage;
  }
  const int code = finish(result.ExitCode());
  timings.Mark("record_end");
  return code;
}

// `govrun hook claude-code [--config FILE] [--context KEY=VALUE]...`: the
// Claude Code PreToolUse hook (runtime/hook/claude_code.h,
// docs/integrations.md). Decides in process, with the same configuration,
// trust, bundle, program resolution and request as a run — but without a
// parent run (the hook is not part of one) and without a lineage record:
// nothing runs here, the command is either denied before anything runs or
// handed to `govrun --session`, which records everything it runs. Every
// failure exits 2, the status that blocks the tool call (any other non-zero
// status would let it run).
class PolicyDecider final : public hook::Decider {
 public:
  PolicyDecider(std::string config, std::vector<std::string> context)
      : config_path_(std::move(config)), context_(std::move(context)) {}

  ErrorOr<std::string> Ready() override {
    config::Search search;
    search.explicit_path = config_path_;
    search.gov_config = GetEnv("GOV_CONFIG", &search.has_gov_config);
    search.caller_is_root = getuid() == 0;
    if (search.has_gov_config && search.gov_config.empty() && config_path_.empty()) {
      return Error{"GOV_CONFIG is set but empty"};
    }
    search.xdg_config_home = GetEnv("XDG_CONFIG_HOME");
    search.home = GetEnv("HOME");
    auto loaded_config = config::LoadConfig(search);
    if (!loaded_config.ok()) return loaded_config.error();
    config_ = std::move(loaded_config).value();
    std::vector<crypto::PublicKey> trusted;
    for (const std::string& path : config_.trusted_keys) {
      auto key = crypto::ReadPublicKeyFile(path);
      if (!key.ok()) return Error{"trusted key " + path + ": " + key.error().message};
      trusted.push_back(key.value());
    }
    bundle::LoadOptions load_options;
    load_options.decode_ir = false;
    auto loaded = bundle::LoadBundleFile(config_.policy, trusted, load_options);
    if (!loaded.ok()) return Error{"policy bundle " + config_.policy + ": " + loaded.error().message};
    policy_.emplace(std::move(loaded).value());
    if (auto context = ReadContext(context_, policy_->view().context(), context_request_); !context.ok()) {
      return Error{context.failure().message};
    }
    char* absolute = realpath(config_.source.c_str(), nullptr);
    if (absolute == nullptr) {
      return Error{"configuration " + config_.source + ": " + std::strerror(errno)};
    }
    std::string source = absolute;
    std::free(absolute);
    return source;
  }

  ErrorOr<std::optional<hook::CommandDecision>> Decide(const std::vector<std::string>& argv,
                                                       const std::string& cwd) override {
    // The command runs in the hook's `cwd`: judge it there (the hook runs
    // nothing, so changing its own directory is harmless).
    if (!cwd.empty() && chdir(cwd.c_str()) != 0) {
      return Error{"cannot enter the command's directory " + EscapeForDisplay(cwd) + ": " + std::strerror(errno)};
    }
    bool path_set = false;
    const std::string path_env = GetEnv("PATH", &path_set);
    auto resolved = exec::ResolveProgram(argv[0], path_env, path_set);
    if (!resolved.ok()) {
      const int code = resolved.failure().exit_code;
      if (code == exec::kExitNotFound || code == exec::kExitNotExecutable) {
        return std::optional<hook::CommandDecision>();
      }
      return Error{resolved.failure().message};
    }
    request::Request request;
    request.context = context_request_.context;
    exec::FillProgramFields(resolved.value(), argv[0], request);
    request.args.assign(argv.begin() + 1, argv.end());
    request.env = exec::SplitEnvironment(environ);
    const auto& scrubbed = exec::ScrubbedEnvironment();
    request.env.insert(request.env.end(), scrubbed.begin(), scrubbed.end());
    exec::AccountVariables account;
    if (auto identity = FillIdentity(request, account); !identity.ok()) {
      return Error{identity.failure().message};
    }
    gov_decision decision{};
    {
      const request::RequestView view(request);
      policy_->Decide(view.get(), decision);
    }
    auto decided_rules = policy_->RulesOf(decision);
    if (!decided_rules.ok()) return Error{"policy bundle " + config_.policy + ": " + decided_rules.error().message};
    const interp::RuleLookup rules = decided_rules.value().lookup();
    interp::DenyUnknownRules(rules, decision);
    const interp::Explanation explanation = interp::Explain(rules, decision);
    hook::CommandDecision out;
    out.program = request.program_path;
    if (decision.error != GOV_OK || decision.verdict == GOV_DENY) {
      out.verdict = hook::Verdict::kDeny;
    } else {
      out.verdict = decision.verdict == GOV_ASK ? hook::Verdict::kAsk : hook::Verdict::kAllow;
    }
    if (decision.error != GOV_OK || explanation.rules.empty()) {
      // "deny: no rule allows", "deny: rule quota failed: division by zero"
      const std::size_t colon = explanation.summary.find(": ");
      out.reason = colon == std::string::npos ? explanation.summary : explanation.summary.substr(colon + 2);
    } else {
      for (const interp::ExplainedRule& rule : explanation.rules) {
        out.rule += (out.rule.empty() ? "" : ", ") + rule.name;
        if (!rule.reason.empty()) {
          out.reason += (out.reason.empty() ? "" : "; ") + rule.reason;
        }
      }
    }
    return std::optional<hook::CommandDecision>(std::move(out));
  }

 private:
  std::string config_path_;
  std::vector<std::string> context_;
  config::Config config_;
  std::optional<bundle::LoadedPolicy> policy_;
  request::Request context_request_;  // the --context values, checked
};

constexpr const char* kHookHelp =
    "govrun hook: adapters that put an agent's tool calls under the policy\n"
    "Usage: govrun hook claude-code [--config FILE] [--context KEY=VALUE]...\n"
    "\n"
    "  claude-code   Claude Code PreToolUse hook: reads the hook's JSON on stdin; for a Bash tool call,\n"
    "                denies it when the policy denies its first program, else rewrites the command to run\n"
    "                inside `govrun --session`; other tools pass through. Every failure exits 2, which\n"
    "                blocks the tool call. See docs/integrations.md.\n";

// Reads all of standard input (at most 64 MiB).
ErrorOr<std::string> ReadStdin() {
  constexpr std::size_t kMax = 64u << 20;
  std::string text;
  char buffer[65536];
  while (true) {
    const ssize_t got = read(0, buffer, sizeof buffer);
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) return Error{std::string("cannot read standard input: ") + std::strerror(errno)};
    if (got == 0) return text;
    text.append(buffer, static_cast<std::size_t>(got));
    if (text.size() > kMax) return Error{"the hook input is larger than 64 MiB"};
  }
}

int HookMain(int argc, char** argv) {
  auto block = [](const std::string& why) {
    std::fprintf(stderr, "govrun hook claude-code: %s; the tool call is blocked\n", why.c_str());
    return hook::kExitBlock;
  };
  if (argc < 3) {
    std::fputs(kHookHelp, stderr);
    return hook::kExitBlock;
  }
  const std::string_view adapter = argv[2];
  if (adapter == "-h" || adapter == "--help") {
    std::fputs(kHookHelp, stdout);
    return 0;
  }
  if (adapter != "claude-code") {
    return block("unknown hook `" + std::string(adapter) + "` (known: claude-code)");
  }
  std::string config_path;
  std::vector<std::string> context;
  for (int index = 3; index < argc; ++index) {
    const std::string_view arg = argv[index];
    if (arg == "-h" || arg == "--help") {
      std::fputs(kHookHelp, stdout);
      return 0;
    }
    const std::size_t equal = arg.find('=');
    const std::string_view name = arg.substr(0, equal);
    if (name != "--config" && name != "--context") {
      return block("unknown argument `" + std::string(arg) + "`");
    }
    std::string value;
    if (equal != std::string_view::npos) {
      value = std::string(arg.substr(equal + 1));
    } else if (index + 1 < argc) {
      value = argv[++index];
    }
    if (value.empty()) return block(std::string(name) + " needs a non-empty value");
    if (name == "--context") {
      context.push_back(std::move(value));
    } else if (!config_path.empty()) {
      return block("--config is given more than once");
    } else {
      config_path = std::move(value);
    }
  }
  // The absolute path of this govrun, for the rewritten command.
  char self[4096];
  const ssize_t length = readlink("/proc/self/exe", self, sizeof self - 1);
  if (length <= 0 || self[0] != '/') return block("cannot read govrun's own path from /proc/self/exe");
  hook::SessionOptions options;
  options.govrun.assign(self, static_cast<std::size_t>(length));
  if (options.govrun.ends_with(" (deleted)")) return block("govrun's own file was deleted");
  options.context = context;
  auto input = ReadStdin();
  if (!input.ok()) return block(input.error().message);
  PolicyDecider decider(config_path, context);
  const hook::HookOutput output = hook::RunClaudeCodeHook(input.value(), options, decider);
  // A decision Claude Code does not receive must not become a silent exit 0.
  std::size_t done = 0;
  while (done < output.out.size()) {
    const ssize_t wrote = write(1, output.out.data() + done, output.out.size() - done);
    if (wrote < 0 && errno == EINTR) continue;
    if (wrote <= 0) return block(std::string("cannot write the decision to standard output: ") + std::strerror(errno));
    done += static_cast<std::size_t>(wrote);
  }
  output::WriteAllToFd(2, output.err);
  return output.exit_code;
}

}  // namespace
}  // namespace gov

#if defined(GOV_SANITIZED)
// Sanitizer builds only: LeakSanitizer cannot stop the threads of a process
// started set-gid (AT_SECURE: not dumpable, no ptrace of itself) and would
// turn govrun's exit status into 1; such runs skip the leak check.
extern "C" int __lsan_is_turned_off() {
  return getauxval(AT_SECURE) != 0 ? 1 : 0;
}
#endif

int main(int argc, char** argv) {
  gov::exec::RunNamespaceHelperIfAsked(argc, argv);
  gov::exec::SecureStart(argv);
  if (argc > 1 && std::strcmp(argv[1], "hook") == 0) {
    // An adapter that decides and runs nothing: no supervisor set-up (blocked
    // signals, subreaper), so that Claude Code's hook timeout can end it.
    int code = gov::hook::kExitBlock;
    try {
      code = gov::HookMain(argc, argv);
    } catch (...) {
      std::fprintf(stderr, "govrun hook: internal error; the tool call is blocked\n");
    }
    std::fflush(stdout);
    std::fflush(stderr);
    return code;
  }
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
