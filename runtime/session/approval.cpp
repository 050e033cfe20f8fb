// The approval prompt of an `ask` (approval.h).
#include "runtime/session/approval.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <nlohmann/json.hpp>

#include "runtime/exec/run.h"
#include "runtime/support/display.h"
#include "runtime/support/output_file.h"

namespace gov::session {
namespace {

std::string JoinList(const std::vector<std::string>& items) {
  std::string out;
  for (const std::string& item : items) {
    out += (out.empty() ? "" : ", ") + item;
  }
  return "[" + out + "]";
}

}  // namespace

std::string ObligationsText(const ir::Obligations& obligations) {
  std::string text;
  if (obligations.timeout_ms > 0) {
    text += " timeout=" + ir::FormatDuration(obligations.timeout_ms);
  }
  if (obligations.memory_bytes > 0) {
    text += " memory=" + ir::FormatSize(obligations.memory_bytes);
  }
  if (obligations.processes > 0) {
    text += " processes=" + std::to_string(obligations.processes);
  }
  if (obligations.network != ir::Network::kUnset) {
    text += std::string(" network=") + ir::NetworkName(obligations.network);
  }
  if (obligations.has_read) {
    text += " read=" + EscapeForDisplay(JoinList(obligations.read));
  }
  if (obligations.has_write) {
    text += " write=" + EscapeForDisplay(JoinList(obligations.write));
  }
  if (obligations.has_create) {
    text += " create=" + EscapeForDisplay(JoinList(obligations.create));
  }
  if (obligations.private_tmp) {
    text += " tmp=private";
  }
  if (obligations.has_env) {
    text += " env=" + EscapeForDisplay(JoinList(obligations.env));
  }
  if (obligations.has_capabilities) {
    text += " capabilities=" + EscapeForDisplay(JoinList(obligations.capabilities));
  }
  return text.empty() ? " none" : text;
}

std::string ApprovalQuestion(const interp::Explanation& explanation, const request::Request& request,
                             const std::vector<std::string>& argv, const ir::Obligations& obligations,
                             std::int64_t timeout_ms) {
  std::string reasons;
  for (const interp::ExplainedRule& rule : explanation.rules) {
    reasons += "\n  rule " + rule.name + (rule.reason.empty() ? "" : ": " + EscapeForDisplay(rule.reason));
  }
  return "govrun: the policy asks before running " + EscapeForDisplay(request.program_path) + ":" + reasons +
         "\n  command: " + CommandLineForDisplay(argv) + "\n  in: " + EscapeForDisplay(request.cwd) +
         "\n  limits:" + ObligationsText(obligations) + "\nRun it? [y/N] (" + std::to_string(timeout_ms / 1000) + "s) ";
}

std::string ApprovalQuestionJson(const interp::Explanation& explanation, const request::Request& request,
                                 const std::vector<std::string>& argv, const ir::Obligations& obligations,
                                 std::int64_t timeout_ms) {
  nlohmann::json rules = nlohmann::json::array();
  for (const interp::ExplainedRule& rule : explanation.rules) {
    rules.push_back({{"name", EscapeForDisplay(rule.name)}, {"reason", EscapeForDisplay(rule.reason)}});
  }
  std::string limits = ObligationsText(obligations);
  if (!limits.empty() && limits.front() == ' ') limits.erase(0, 1);
  const nlohmann::json question = {{"program", EscapeForDisplay(request.program_path)},
                                   {"command", CommandLineForDisplay(argv)},
                                   {"cwd", EscapeForDisplay(request.cwd)},
                                   {"rules", rules},
                                   {"limits", limits},
                                   {"text", ApprovalQuestion(explanation, request, argv, obligations, timeout_ms)}};
  return question.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string AskOnTerminal(int tty, const std::string& question, std::int64_t timeout_ms) {
  // Nothing queued before the question (typed ahead, or by whatever owns
  // the terminal) answers it. The flush comes before the prompt is written
  // so that an answer given once the question is visible is never lost.
  if (tcflush(tty, TCIFLUSH) != 0) {
    return "no-terminal";
  }
  output::WriteAllToFd(tty, question);
  std::string line;
  const std::int64_t deadline = exec::MonotonicNs() + timeout_ms * 1000000;
  while (true) {
    const std::int64_t left_ms = (deadline - exec::MonotonicNs()) / 1000000;
    if (left_ms <= 0) {
      output::WriteAllToFd(tty, "\n");
      return "timeout";
    }
    // Terminating signals are blocked: look for them between short polls
    // so that Ctrl-C at the prompt answers no.
    sigset_t pending;
    sigemptyset(&pending);
    if (sigpending(&pending) == 0 && (sigismember(&pending, SIGINT) == 1 || sigismember(&pending, SIGTERM) == 1 ||
                                      sigismember(&pending, SIGHUP) == 1 || sigismember(&pending, SIGQUIT) == 1)) {
      output::WriteAllToFd(tty, "\n");
      return "no";
    }
    struct pollfd poll_fd {
      tty, POLLIN, 0
    };
    const int ready = poll(&poll_fd, 1, static_cast<int>(std::min<std::int64_t>(left_ms, 100)));
    if (ready < 0 && errno == EINTR) {
      continue;
    }
    if (ready == 0) {
      continue;
    }
    if (ready < 0 || (poll_fd.revents & (POLLERR | POLLHUP | POLLNVAL)) != 0) {
      output::WriteAllToFd(tty, "\n");
      return "no";
    }
    char c = 0;
    const ssize_t got = read(tty, &c, 1);
    if (got <= 0 || c == '\n' || c == '\r') {
      break;
    }
    if (line.size() < 16) {
      line.push_back(c);
    }
  }
  while (!line.empty() && line.back() == ' ') {
    line.pop_back();
  }
  return (line == "y" || line == "Y" || line == "yes" || line == "YES" || line == "Yes") ? "yes" : "no";
}

ErrorOr<int> OpenApprovalTerminal(const std::string& path) {
  const int fd = open(path.c_str(), O_RDWR | O_NOCTTY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) {
    return Error{EscapeForDisplay(path) + ": " + std::strerror(errno)};
  }
  struct stat terminal {};
  if (!isatty(fd) || fstat(fd, &terminal) != 0 || !S_ISCHR(terminal.st_mode)) {
    close(fd);
    return Error{EscapeForDisplay(path) + " is not a terminal"};
  }
  const int controlling = open("/dev/tty", O_RDONLY | O_NOCTTY | O_CLOEXEC | O_NONBLOCK);
  for (const int own : {0, 1, 2, controlling}) {
    struct stat st {};
    if (own >= 0 && fstat(own, &st) == 0 && S_ISCHR(st.st_mode) && st.st_rdev == terminal.st_rdev) {
      close(fd);
      if (controlling >= 0) {
        close(controlling);
      }
      return Error{EscapeForDisplay(path) +
                   " is the session's own terminal (govrun's standard input, output, error or controlling "
                   "terminal): a program of the session could answer; give a terminal the session does not use"};
    }
  }
  if (controlling >= 0) {
    close(controlling);
  }
  // Blocking from here: AskOnTerminal polls before each read.
  fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
  return fd;
}

}  // namespace gov::session
