// Spawning, exec of the hashed descriptor, and supervision (see run.h).
#include "runtime/exec/run.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <unordered_map>
#include <utility>

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

namespace gov::exec {

namespace {

// Descriptors govrun inherited without FD_CLOEXEC: passed on to the program.
std::vector<int>& InheritedFds() {
  static std::vector<int> fds;
  return fds;
}

void RecordInheritedFds() {
  DIR* dir = opendir("/proc/self/fd");
  if (dir == nullptr) {
    return;
  }
  const int own = dirfd(dir);
  while (const dirent* entry = readdir(dir)) {
    char* end = nullptr;
    const long fd = std::strtol(entry->d_name, &end, 10);
    if (end == entry->d_name || *end != '\0' || fd < 3 || fd == own) {
      continue;
    }
    const int flags = fcntl(static_cast<int>(fd), F_GETFD);
    if (flags >= 0 && (flags & FD_CLOEXEC) == 0) {
      InheritedFds().push_back(static_cast<int>(fd));
    }
  }
  closedir(dir);
}

sigset_t SupervisedSignals() {
  sigset_t set;
  sigemptyset(&set);
  for (const int signal : kForwardedSignals) {
    sigaddset(&set, signal);
  }
  sigaddset(&set, SIGCHLD);
  return set;
}

// The report a child sends when it cannot exec.
struct ChildReport {
  int error = 0;
  int changed = 0;  // the file changed between hashing and exec
  int sandbox = 0;  // the failing step enforces an obligation
  char stage[112] = {};
};

[[noreturn]] void ReportAndExit(int fd, const char* stage, int error, bool sandbox, bool changed) {
  ChildReport report;
  report.error = error;
  report.sandbox = sandbox ? 1 : 0;
  report.changed = changed ? 1 : 0;
  std::strncpy(report.stage, stage, sizeof report.stage - 1);
  [[maybe_unused]] const ssize_t ignored = write(fd, &report, sizeof report);
  _exit(127);
}

bool SameFileState(const struct stat& a, const struct stat& b) {
  return a.st_dev == b.st_dev && a.st_ino == b.st_ino && a.st_size == b.st_size &&
         a.st_mtim.tv_sec == b.st_mtim.tv_sec && a.st_mtim.tv_nsec == b.st_mtim.tv_nsec &&
         a.st_ctim.tv_sec == b.st_ctim.tv_sec && a.st_ctim.tv_nsec == b.st_ctim.tv_nsec;
}

// Every descendant of this process (it is a subreaper, so orphans of the run
// are reparented here and stay descendants), from /proc.
std::vector<pid_t> Descendants() {
  std::unordered_map<pid_t, std::vector<pid_t>> children;
  DIR* dir = opendir("/proc");
  if (dir == nullptr) {
    return {};
  }
  while (const dirent* entry = readdir(dir)) {
    char* end = nullptr;
    const long pid = std::strtol(entry->d_name, &end, 10);
    if (end == entry->d_name || *end != '\0') {
      continue;
    }
    char path[64];
    std::snprintf(path, sizeof path, "/proc/%ld/stat", pid);
    FILE* file = std::fopen(path, "re");
    if (file == nullptr) {
      continue;
    }
    char buffer[512];
    const std::size_t got = std::fread(buffer, 1, sizeof buffer - 1, file);
    std::fclose(file);
    buffer[got] = '\0';
    const char* close_paren = std::strrchr(buffer, ')');
    if (close_paren == nullptr) {
      continue;
    }
    char state = 0;
    long ppid = 0;
    if (std::sscanf(close_paren + 1, " %c %ld", &state, &ppid) == 2) {
      children[static_cast<pid_t>(ppid)].push_back(static_cast<pid_t>(pid));
    }
  }
  closedir(dir);
  std::vector<pid_t> out;
  std::vector<pid_t> queue = {getpid()};
  while (!queue.empty()) {
    const pid_t next = queue.back();
    queue.pop_back();
    auto found = children.find(next);
    if (found == children.end()) {
      continue;
    }
    for (const pid_t child : found->second) {
      out.push_back(child);
      queue.push_back(child);
    }
  }
  return out;
}

// Signals the whole run: the program's process group, every descendant, and
// every process in the run's cgroups. Returns how many were signalled.
int SignalRun(pid_t group, const Sandbox& sandbox, int signal) {
  int count = 0;
  if (group > 0 && kill(-group, signal) == 0) {
    ++count;
  }
  for (const pid_t pid : Descendants()) {
    if (kill(pid, signal) == 0) {
      ++count;
    }
  }
  count += sandbox.SignalCgroups(signal);
  return count;
}

timespec ToTimespec(std::int64_t ns) {
  timespec ts{};
  ts.tv_sec = static_cast<time_t>(ns / 1000000000);
  ts.tv_nsec = static_cast<long>(ns % 1000000000);
  return ts;
}

}  // namespace

std::int64_t MonotonicNs() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

std::int64_t RealtimeNs() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

void PrepareSupervisor() {
  // A closed 0, 1 or 2 would be reused by the next open() — the bundle, the
  // lineage log — and handed to the program as its stdin/stdout/stderr.
  for (int fd = 0; fd <= 2; ++fd) {
    if (fcntl(fd, F_GETFD) < 0 && errno == EBADF) {
      const int null_fd = open("/dev/null", O_RDWR);
      if (null_fd >= 0 && null_fd != fd) {
        dup2(null_fd, fd);
        close(null_fd);
      }
    }
  }
  const sigset_t set = SupervisedSignals();
  sigprocmask(SIG_BLOCK, &set, nullptr);
  signal(SIGPIPE, SIG_IGN);
  prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
  RecordInheritedFds();
}

int TakePendingTermination() {
  sigset_t pending;
  sigemptyset(&pending);
  if (sigpending(&pending) != 0) {
    return 0;
  }
  for (const int signal : {SIGTERM, SIGINT, SIGHUP, SIGQUIT}) {
    if (sigismember(&pending, signal) == 1) {
      sigset_t one;
      sigemptyset(&one);
      sigaddset(&one, signal);
      const timespec zero{};
      sigtimedwait(&one, nullptr, &zero);
      return signal;
    }
  }
  return 0;
}

Child::Child(Child&& other) noexcept
    : pid_(std::exchange(other.pid_, -1)),
      go_fd_(std::exchange(other.go_fd_, -1)),
      status_fd_(std::exchange(other.status_fd_, -1)) {}

Child& Child::operator=(Child&& other) noexcept {
  if (this != &other) {
    std::swap(pid_, other.pid_);
    std::swap(go_fd_, other.go_fd_);
    std::swap(status_fd_, other.status_fd_);
  }
  return *this;
}

Child::~Child() {
  if (go_fd_ >= 0) {
    close(go_fd_);
  }
  if (status_fd_ >= 0) {
    close(status_fd_);
  }
}

void Child::Abort() {
  if (pid_ <= 0) {
    return;
  }
  kill(pid_, SIGKILL);
  int status = 0;
  while (waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
  }
  if (go_fd_ >= 0) {
    close(go_fd_);
    go_fd_ = -1;
  }
}

Outcome<bool> Child::Go() {
  const char go = 'g';
  if (write(go_fd_, &go, 1) != 1) {
    const int error = errno;
    Abort();
    return Failure{kExitInternal, std::string("cannot signal the child to start: ") + std::strerror(error)};
  }
  close(go_fd_);
  go_fd_ = -1;
  ChildReport report;
  ssize_t got;
  do {
    got = read(status_fd_, &report, sizeof report);
  } while (got < 0 && errno == EINTR);
  close(status_fd_);
  status_fd_ = -1;
  if (got == 0) {
    return true;
  }
  int status = 0;
  while (waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
  }
  if (got != static_cast<ssize_t>(sizeof report)) {
    return Failure{kExitInternal, "the child ended before it could execute the program"};
  }
  report.stage[sizeof report.stage - 1] = '\0';
  const std::string what = std::string(report.stage) + ": " + std::strerror(report.error);
  if (report.changed != 0) {
    return Failure{kExitNotExecutable, "the program file changed after it was hashed; not running it"};
  }
  if (report.sandbox != 0) {
    return Failure{kExitConfig, "cannot enforce the obligations: " + what};
  }
  switch (report.error) {
    case ENOENT:
    case ENOTDIR:
      return Failure{kExitNotFound, "cannot execute the program: " + what};
    case EACCES:
    case EPERM:
    case ENOEXEC:
    case EISDIR:
    case ETXTBSY:
    case ELIBBAD:
      return Failure{kExitNotExecutable, "cannot execute the program: " + what};
    default:
      return Failure{kExitInternal, "cannot execute the program: " + what};
  }
}

Outcome<Child> Spawn(const LaunchSpec& spec) {
  const Program& program = *spec.program;
  // argv as the kernel would build it for a script, but naming the hashed
  // script descriptor instead of its path.
  std::vector<std::string> argv_storage;
  int exec_fd = program.file.fd.get();
  int script_fd = -1;
  const struct stat* expected_exec = &program.file.st;
  if (program.is_script) {
    exec_fd = program.interpreter.fd.get();
    script_fd = program.file.fd.get();
    expected_exec = &program.interpreter.st;
    argv_storage.push_back(program.interpreter_argv0);
    if (program.has_interpreter_arg) {
      argv_storage.push_back(program.interpreter_arg);
    }
    argv_storage.push_back("/dev/fd/" + std::to_string(script_fd));
    argv_storage.insert(argv_storage.end(), spec.argv.begin() + (spec.argv.empty() ? 0 : 1), spec.argv.end());
  } else {
    argv_storage = spec.argv;
  }
  std::vector<char*> argv;
  for (std::string& arg : argv_storage) {
    argv.push_back(arg.data());
  }
  argv.push_back(nullptr);
  std::vector<std::string> env_storage = spec.envp;
  std::vector<char*> envp;
  for (std::string& entry : env_storage) {
    envp.push_back(entry.data());
  }
  envp.push_back(nullptr);

  int go_pipe[2];
  int status_pipe[2];
  if (pipe2(go_pipe, O_CLOEXEC) != 0) {
    return Failure{kExitInternal, std::string("pipe2: ") + std::strerror(errno)};
  }
  if (pipe2(status_pipe, O_CLOEXEC) != 0) {
    const int error = errno;
    close(go_pipe[0]);
    close(go_pipe[1]);
    return Failure{kExitInternal, std::string("pipe2: ") + std::strerror(error)};
  }
  const pid_t parent = getpid();
  const struct stat expected_script = program.file.st;
  const struct stat expected = *expected_exec;
  const pid_t pid = fork();
  if (pid < 0) {
    const int error = errno;
    for (const int fd : {go_pipe[0], go_pipe[1], status_pipe[0], status_pipe[1]}) {
      close(fd);
    }
    return Failure{kExitInternal, std::string("fork: ") + std::strerror(error)};
  }
  if (pid == 0) {
    close(go_pipe[1]);
    close(status_pipe[0]);
    const int report_fd = status_pipe[1];
    if (setsid() < 0) {
      ReportAndExit(report_fd, "setsid", errno, false, false);
    }
    if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) != 0) {
      ReportAndExit(report_fd, "prctl(PR_SET_PDEATHSIG)", errno, false, false);
    }
    if (getppid() != parent) {
      _exit(127);
    }
    const char* stage = "sandbox";
    if (const int error = spec.sandbox->ApplyInChild(&stage); error != 0) {
      ReportAndExit(report_fd, stage, error, true, false);
    }
    char go = 0;
    ssize_t got;
    do {
      got = read(go_pipe[0], &go, 1);
    } while (got < 0 && errno == EINTR);
    if (got != 1) {
      _exit(127);
    }
    close(go_pipe[0]);
    // Only the descriptors govrun inherited (and a script's) reach the program.
    syscall(SYS_close_range, 3u, ~0u, CLOSE_RANGE_CLOEXEC);
    for (const int fd : InheritedFds()) {
      fcntl(fd, F_SETFD, 0);
    }
    fcntl(report_fd, F_SETFD, FD_CLOEXEC);
    if (script_fd >= 0 && fcntl(script_fd, F_SETFD, 0) != 0) {
      ReportAndExit(report_fd, "fcntl(script)", errno, false, false);
    }
    struct stat now {};
    if (fstat(exec_fd, &now) != 0 || !SameFileState(now, expected) ||
        (script_fd >= 0 && (fstat(script_fd, &now) != 0 || !SameFileState(now, expected_script)))) {
      ReportAndExit(report_fd, "fstat", ESTALE, false, true);
    }
    signal(SIGPIPE, SIG_DFL);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    syscall(SYS_execveat, exec_fd, "", argv.data(), envp.data(), AT_EMPTY_PATH);
    ReportAndExit(report_fd, "execveat", errno, false, false);
  }
  close(go_pipe[0]);
  close(status_pipe[1]);
  Child child;
  child.pid_ = pid;
  child.go_fd_ = go_pipe[1];
  child.status_fd_ = status_pipe[0];
  return child;
}

RunResult Supervise(const Child& child, const Sandbox& sandbox, const SuperviseOptions& options,
                    std::int64_t started_ns) {
  RunResult result;
  const sigset_t set = SupervisedSignals();
  const pid_t pid = child.pid();
  std::int64_t term_deadline = options.timeout_ms > 0 ? started_ns + options.timeout_ms * 1000000 : 0;
  std::int64_t kill_deadline = 0;
  std::int64_t leftover_deadline = 0;
  bool main_done = false;
  int forwarded = 0;
  while (true) {
    // Reap everything that has ended.
    bool others_alive = false;
    while (true) {
      int status = 0;
      struct rusage usage {};
      const pid_t done = wait4(-1, &status, WNOHANG, &usage);
      if (done > 0) {
        if (done == pid) {
          main_done = true;
          result.usage = usage;
          result.duration_ns = MonotonicNs() - started_ns;
          if (WIFEXITED(status)) {
            result.exited = true;
            result.exit_status = WEXITSTATUS(status);
          } else if (WIFSIGNALED(status)) {
            result.signal = WTERMSIG(status);
          }
        }
        continue;
      }
      if (done == 0) {
        others_alive = true;
      }
      break;
    }
    const bool leftovers = main_done && (others_alive || !sandbox.CgroupsEmpty());
    if (main_done && !leftovers) {
      break;
    }
    const std::int64_t now = MonotonicNs();
    if (leftovers) {
      // The program ended but left processes behind: they would escape its
      // limits and its record, so they end with it.
      if (leftover_deadline == 0) {
        leftover_deadline = now + 5000000000LL;
        result.leftover_killed = static_cast<int>(Descendants().size());
      }
      SignalRun(0, sandbox, SIGKILL);
      if (now > leftover_deadline) {
        break;
      }
    }
    if (term_deadline != 0 && now >= term_deadline && !main_done) {
      result.killed_by = "timeout";
      SignalRun(pid, sandbox, SIGTERM);
      term_deadline = 0;
      kill_deadline = now + std::max<std::int64_t>(options.kill_grace_ms, 0) * 1000000;
    }
    if (kill_deadline != 0 && now >= kill_deadline) {
      SignalRun(main_done ? 0 : pid, sandbox, SIGKILL);
      kill_deadline = now + 100000000;  // again until everything is gone
    }
    std::int64_t wake = 0;
    for (const std::int64_t deadline : {term_deadline, kill_deadline}) {
      if (deadline != 0 && (wake == 0 || deadline < wake)) {
        wake = deadline;
      }
    }
    if (leftovers) {
      wake = now + 10000000;
    }
    siginfo_t info{};
    int got;
    if (wake == 0) {
      got = sigwaitinfo(&set, &info);
    } else {
      const timespec wait = ToTimespec(std::max<std::int64_t>(wake - now, 0));
      got = sigtimedwait(&set, &info, &wait);
    }
    if (got <= 0 || got == SIGCHLD) {
      continue;
    }
    if (!main_done) {
      kill(-pid, got);
      forwarded = got;
    }
  }
  if (result.killed_by.empty()) {
    std::string hit = sandbox.LimitHit();
    if (!hit.empty() && !result.exited && result.signal == SIGKILL) {
      result.killed_by = hit;
    } else if (forwarded != 0 && !result.exited && result.signal == forwarded) {
      result.killed_by = "govrun-signal";
    }
  }
  return result;
}

}  // namespace gov::exec
