// govd: the lineage service (docs/govd.md). It alone holds the lineage
// signing key and writes the log; govrun submits records over a Unix socket
// that only the set-gid govrun (and root) can use.
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <string>
#include <vector>

#include "runtime/crypto/ed25519.h"
#include "runtime/exec/exit_codes.h"
#include "runtime/lineage/recorder.h"
#include "runtime/service/approvals.h"
#include "runtime/service/client.h"
#include "runtime/service/server.h"
#include "runtime/service/witness.h"
#include "runtime/support/clock.h"
#include "runtime/support/display.h"

namespace {

using gov::Error;
using gov::ErrorOr;

int Fail(int code, const std::string& message) {
  std::fprintf(stderr, "govd: %s\n", message.c_str());
  return code;
}

// A user or group given by name or number.
ErrorOr<uid_t> UserId(const std::string& text, gid_t* primary_group) {
  if (const passwd* entry = getpwnam(text.c_str()); entry != nullptr) {
    *primary_group = entry->pw_gid;
    return entry->pw_uid;
  }
  char* end = nullptr;
  const unsigned long number = std::strtoul(text.c_str(), &end, 10);
  if (text.empty() || *end != '\0' || number >= 0xffffffffUL) return Error{"no user " + text};
  *primary_group = static_cast<gid_t>(number);
  return static_cast<uid_t>(number);
}

ErrorOr<gid_t> GroupId(const std::string& text) {
  if (const group* entry = getgrnam(text.c_str()); entry != nullptr) return entry->gr_gid;
  char* end = nullptr;
  const unsigned long number = std::strtoul(text.c_str(), &end, 10);
  if (text.empty() || *end != '\0' || number >= 0xffffffffUL) return Error{"no group " + text};
  return static_cast<gid_t>(number);
}

// A new listening socket at `path` with `mode`, owned by `owner`:`group`
// when `chown_it`.
ErrorOr<int> Bind(const std::string& path, bool chown_it, uid_t owner, gid_t group, mode_t mode) {
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  if (path.size() >= sizeof address.sun_path) return Error{"the socket path is too long: " + path};
  std::memcpy(address.sun_path, path.data(), path.size());
  struct stat existing {};
  if (lstat(path.c_str(), &existing) == 0) {
    if (!S_ISSOCK(existing.st_mode)) return Error{path + " exists and is not a socket; not removed"};
    unlink(path.c_str());  // a previous govd's
  }
  const int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return Error{std::string("socket: ") + std::strerror(errno)};
  const mode_t old_mask = umask(0177);
  const int bound = bind(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address);
  umask(old_mask);
  if (bound != 0 || listen(fd, 128) != 0) {
    const int error = errno;
    close(fd);
    return Error{"cannot listen on " + path + ": " + std::strerror(error)};
  }
  if ((chown_it && chown(path.c_str(), owner, group) != 0) || chmod(path.c_str(), mode) != 0) {
    const int error = errno;
    close(fd);
    return Error{"cannot set the owner and mode of " + path + ": " + std::strerror(error)};
  }
  return fd;
}

// The submitters' listening socket: systemd's (socket activation, one
// descriptor) or a new one at `path`, owned by `owner`:`submitters` with
// mode 0660 so that only the set-gid govrun and root can connect.
ErrorOr<int> Listen(const std::string& path, bool chown_it, uid_t owner, gid_t submitters) {
  const char* listen_pid = std::getenv("LISTEN_PID");
  const char* listen_fds = std::getenv("LISTEN_FDS");
  if (listen_pid != nullptr && listen_fds != nullptr && std::atol(listen_pid) == getpid()) {
    if (std::strcmp(listen_fds, "1") != 0) return Error{"systemd passed more than one socket; govd takes one"};
    unsetenv("LISTEN_PID");
    unsetenv("LISTEN_FDS");
    unsetenv("LISTEN_FDNAMES");
    return 3;  // SD_LISTEN_FDS_START
  }
  return Bind(path, chown_it, owner, submitters, 0660);
}

ErrorOr<void> DropTo(uid_t uid, gid_t gid) {
  if (setgroups(0, nullptr) != 0 || setresgid(gid, gid, gid) != 0 || setresuid(uid, uid, uid) != 0) {
    return Error{std::string("cannot change to the service user: ") + std::strerror(errno)};
  }
  if (setresuid(0, 0, 0) == 0 && uid != 0) return Error{"the service user could regain root"};
  return {};
}

// Exit codes of `govd witness` (docs/govd.md "Witnessing").
constexpr int kWitnessUnsigned = 1;      // a log's note is not signed by a pinned lineage key
constexpr int kWitnessInconsistent = 2;  // rollback or fork: refused
constexpr int kWitnessInput = 66;        // a file cannot be read or written

// govd witness: cosign each log's published checkpoint after checking it.
int Witness(const std::string& name, const std::string& key_path, const std::vector<std::string>& log_key_paths,
            const std::string& state_dir, const std::vector<std::string>& log_dirs) {
  prctl(PR_SET_DUMPABLE, 0);
  auto key = gov::crypto::ReadPrivateKeyFile(key_path);
  if (!key.ok()) return Fail(gov::exec::kExitConfig, "witness key " + key_path + ": " + key.error().message);
  gov::service::WitnessOptions options{name, key.value(), state_dir, {}, static_cast<std::uint64_t>(time(nullptr))};
  for (const std::string& path : log_key_paths) {
    auto log_key = gov::crypto::ReadPublicKeyFile(path);
    if (!log_key.ok()) return Fail(gov::exec::kExitConfig, "--log-key " + path + ": " + log_key.error().message);
    if (log_key.value().raw() == key.value().public_key().raw()) {
      return Fail(gov::exec::kExitConfig,
                  "--log-key " + path + " is the witness's own key: a witness key has one role");
    }
    options.log_keys.push_back(log_key.value());
  }
  int worst = 0;
  for (const std::string& dir : log_dirs) {
    auto outcome = gov::service::WitnessLog(dir, options);
    if (!outcome.ok()) {
      Fail(kWitnessInput, dir + ": " + outcome.error().message);
      worst = std::max(worst, kWitnessInput);
      continue;
    }
    const gov::service::WitnessOutcome& o = outcome.value();
    switch (o.verdict) {
      case gov::service::WitnessVerdict::kCosigned:
        std::printf(
            "%s: cosigned log %s at %llu records (%s) -> %s\n", dir.c_str(), o.log_id.c_str(),
            static_cast<unsigned long long>(o.size),
            o.previous_size == 0 ? "first sight" : ("consistent with " + std::to_string(o.previous_size)).c_str(),
            o.cosigned_path.c_str());
        break;
      case gov::service::WitnessVerdict::kUnsigned:
        Fail(kWitnessUnsigned, dir + ": not cosigned: " + o.message);
        worst = std::max(worst, kWitnessUnsigned);
        break;
      case gov::service::WitnessVerdict::kInconsistent:
        Fail(kWitnessInconsistent, dir + ": not cosigned: " + o.message);
        worst = std::max(worst, kWitnessInconsistent);
        break;
    }
  }
  return worst;
}

// Exit codes of `govd approvals` (docs/govd.md "Approvals").
constexpr int kApprovalsRefused = 1;       // govd refused the answer (e.g. not an approver, own ask, no such ask)
constexpr int kApprovalsUnavailable = 69;  // govd cannot be reached (EX_UNAVAILABLE)

// govd approvals: an approver lists the waiting asks or answers one.
int Approvals(const std::string& socket_path, const std::string& action, const std::string& ask_id, bool json) {
  auto approver = gov::service::ConnectApprover(socket_path, 10000);
  if (!approver.ok()) {
    const bool refused = approver.error().message.find("refused") != std::string::npos;
    return Fail(refused ? kApprovalsRefused : kApprovalsUnavailable, approver.error().message);
  }
  if (action == "list") {
    auto asks = approver.value()->Pending();
    if (!asks.ok()) return Fail(kApprovalsUnavailable, asks.error().message);
    if (json) {
      std::printf("%s\n", nlohmann::json{{"version", 1}, {"asks", asks.value()}}.dump(2).c_str());
      return 0;
    }
    if (asks.value().empty()) std::printf("no ask is waiting\n");
    // Everything shown comes from other processes: escaped for the terminal.
    auto shown = [](const nlohmann::json& value) {
      return gov::EscapeForDisplay(value.is_string() ? value.get<std::string>() : value.dump());
    };
    for (const nlohmann::json& ask : asks.value()) {
      const nlohmann::json& question = ask.value("question", nlohmann::json::object());
      const nlohmann::json& asker = ask.value("asker", nlohmann::json::object());
      const long long left_s =
          std::max<long long>(0, (ask.value("expires_unix_ns", 0LL) - gov::UnixNowNs()) / 1000000000LL);
      const std::string user = shown(asker.value("user", nlohmann::json("")));
      std::printf("ask %s (run %s), from uid %s%s, %llds left\n", shown(ask.value("ask", nlohmann::json(""))).c_str(),
                  shown(ask.value("run", nlohmann::json(""))).c_str(),
                  shown(asker.value("uid", nlohmann::json(-1))).c_str(),
                  user.empty() ? "" : (" (" + user + ")").c_str(), left_s);
      for (const char* field : {"program", "command", "cwd", "limits"}) {
        std::printf("  %s: %s\n", std::string(field) == "cwd" ? "in" : field,
                    shown(question.value(field, nlohmann::json(""))).c_str());
      }
      for (const nlohmann::json& rule : question.value("rules", nlohmann::json::array())) {
        if (!rule.is_object()) continue;
        std::printf("  rule %s: %s\n", shown(rule.value("name", nlohmann::json(""))).c_str(),
                    shown(rule.value("reason", nlohmann::json(""))).c_str());
      }
    }
    return 0;
  }
  auto answered = approver.value()->Answer(ask_id, action == "approve");
  if (!answered.ok()) return Fail(kApprovalsRefused, answered.error().message);
  std::printf("ask %s: %s\n", ask_id.c_str(), action == "approve" ? "approved" : "refused");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"govd: the lineage service — holds the lineage key and writes the log (docs/govd.md)", "govd"};
  std::string lineage_dir;
  std::string key_path;
  std::string socket_path = "/run/gov/govd.sock";
  std::string submitter_group = "gov";
  std::string user;
  app.add_option("--lineage", lineage_dir, "the lineage log directory (govd alone writes it)");
  app.add_option("--key", key_path, "the lineage signing key (PEM, mode 0600)");
  app.add_option("--socket", socket_path, "where to listen (ignored under systemd socket activation)");
  app.add_option("--submitter-group", submitter_group,
                 "the group govrun is installed set-gid to; only it (and root) may submit");
  app.add_option("--user", user, "when started as root: the user to run as after reading the key");
  std::string metrics_file;
  bool no_metrics = false;
  auto* metrics_option = app.add_option(
      "--metrics-file", metrics_file,
      "where govd writes its own metrics (Prometheus text; default: govd-metrics.prom in the lineage directory)");
  app.add_flag("--no-metrics", no_metrics, "write no metrics file")->excludes(metrics_option);
  std::string approvals_socket;
  std::vector<std::string> approver_names;
  app.add_option("--approvals-socket", approvals_socket,
                 "where approvers connect to answer asks (mode 0666: govd checks each peer's uid)");
  app.add_option("--approver", approver_names, "a user (name or uid) who may answer asks (repeatable)")
      ->expected(1)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  app.require_subcommand(0, 1);
  CLI::App* witness = app.add_subcommand(
      "witness", "cosign other logs' published checkpoints after checking they only grew (C2SP tlog-cosignature)");
  std::string witness_name;
  std::string witness_key;
  std::vector<std::string> log_keys;
  std::string witness_state;
  std::vector<std::string> witnessed_dirs;
  witness->add_option("--name", witness_name, "the witness's name, e.g. witness.host-a.example/gov")->required();
  witness->add_option("--key", witness_key, "the witness signing key (PEM; the witness role only)")->required();
  witness->add_option("--log-key", log_keys, "a lineage public key whose logs are witnessed (repeatable)")
      ->required()
      ->expected(1)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  witness->add_option("--state", witness_state, "the witness's directory: what it cosigned, per log")->required();
  witness->add_option("LOG_DIR", witnessed_dirs, "published lineage directories (live or mirrored)")->required();
  CLI::App* approvals =
      app.add_subcommand("approvals", "as an approver: list the asks waiting for an answer, or answer one");
  std::string approvals_at = "/run/gov/approvals.sock";
  std::string approvals_action;
  std::string approvals_ask;
  bool approvals_json = false;
  approvals->add_option("--socket", approvals_at, "govd's approvals socket");
  approvals->add_flag("--json", approvals_json, "list as JSON (version 1)");
  approvals->add_option("ACTION", approvals_action, "list, approve or refuse")
      ->required()
      ->check(CLI::IsMember({"list", "approve", "refuse"}));
  approvals->add_option("ASK", approvals_ask, "the ask's id (approve, refuse)");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return e.get_exit_code() == 0 ? app.exit(e) : (app.exit(e), gov::exec::kExitUsage);
  }
  if (witness->parsed()) return Witness(witness_name, witness_key, log_keys, witness_state, witnessed_dirs);
  if (approvals->parsed()) {
    if ((approvals_action == "list") != approvals_ask.empty()) {
      return Fail(gov::exec::kExitUsage, "approvals: approve and refuse take an ask id; list takes none");
    }
    return Approvals(approvals_at, approvals_action, approvals_ask, approvals_json);
  }
  if (lineage_dir.empty() || key_path.empty()) {
    return Fail(gov::exec::kExitUsage, "--lineage and --key are required to serve (or use `govd witness`)");
  }
  prctl(PR_SET_DUMPABLE, 0);  // the key in memory: no ptrace, no core
  auto submitters = GroupId(submitter_group);
  if (!submitters.ok()) return Fail(gov::exec::kExitConfig, "--submitter-group: " + submitters.error().message);
  uid_t run_uid = geteuid();
  gid_t run_gid = getegid();
  if (!user.empty()) {
    auto uid = UserId(user, &run_gid);
    if (!uid.ok()) return Fail(gov::exec::kExitConfig, "--user: " + uid.error().message);
    run_uid = uid.value();
    if (geteuid() != 0 && run_uid != geteuid()) return Fail(gov::exec::kExitConfig, "--user needs root");
  }
  auto key = gov::crypto::ReadPrivateKeyFile(key_path);
  if (!key.ok()) return Fail(gov::exec::kExitConfig, "lineage key " + key_path + ": " + key.error().message);
  std::vector<std::int64_t> approvers;
  for (const std::string& name : approver_names) {
    gid_t ignored = 0;
    auto uid = UserId(name, &ignored);
    if (!uid.ok()) return Fail(gov::exec::kExitConfig, "--approver: " + uid.error().message);
    approvers.push_back(uid.value());
  }
  if (approvals_socket.empty() != approvers.empty()) {
    return Fail(gov::exec::kExitConfig, "--approvals-socket and --approver go together");
  }
  auto listening = Listen(socket_path, geteuid() == 0, run_uid, submitters.value());
  if (!listening.ok()) return Fail(gov::exec::kExitConfig, listening.error().message);
  int approvals_fd = -1;
  if (!approvals_socket.empty()) {
    // Anyone may connect; govd answers only the uids named by --approver.
    auto bound = Bind(approvals_socket, geteuid() == 0, run_uid, run_gid, 0666);
    if (!bound.ok()) return Fail(gov::exec::kExitConfig, bound.error().message);
    approvals_fd = bound.value();
  }
  if (!user.empty() && geteuid() == 0 && run_uid != 0) {
    if (auto dropped = DropTo(run_uid, run_gid); !dropped.ok()) {
      return Fail(gov::exec::kExitConfig, dropped.error().message);
    }
    prctl(PR_SET_DUMPABLE, 0);
  }
  umask(022);  // the log is readable by everyone, writable by govd alone
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGTERM);
  sigaddset(&stop, SIGINT);
  sigprocmask(SIG_BLOCK, &stop, nullptr);
  signal(SIGPIPE, SIG_IGN);
  const int stop_fd = signalfd(-1, &stop, SFD_CLOEXEC);
  if (stop_fd < 0) return Fail(gov::exec::kExitConfig, std::string("signalfd: ") + std::strerror(errno));
  auto log = gov::lineage::OpenLog(lineage_dir, key.value(), gov::lineage::OpenOptions{0, 0644, /*sole_writer=*/true});
  if (!log.ok()) return Fail(gov::exec::kExitLineage, "lineage log " + lineage_dir + ": " + log.error().message);
  gov::service::ServerOptions options;
  options.submitter_gid = submitters.value();
  options.approvals_fd = approvals_fd;
  options.approvers = approvers;
  if (!no_metrics) options.metrics_file = metrics_file.empty() ? lineage_dir + "/govd-metrics.prom" : metrics_file;
  std::fprintf(stderr, "govd: serving %s on %s\n", lineage_dir.c_str(), socket_path.c_str());
  auto served = gov::service::Serve(listening.value(), stop_fd, *log.value(), options);
  if (!served.ok()) return Fail(gov::exec::kExitLineage, served.error().message);
  return 0;
}
