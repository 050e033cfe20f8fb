// Spawning, exec of the hashed descriptor, and supervision (see run.h).
#include "runtime/exec/run.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <type_traits>
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

// Raw system calls for the CLONE_VM child: it shares govrun's memory
// (including the thread's errno and malloc state) while govrun goes on, so
// it must not go through libc wrappers. Returns -errno on failure.
#if defined(__x86_64__)
[[gnu::always_inline]] inline long RawSyscall(long number, long a1 = 0, long a2 = 0, long a3 = 0, long a4 = 0,
                                              long a5 = 0) {
  long result;
  register long r10 __asm__("r10") = a4;
  register long r8 __asm__("r8") = a5;
  __asm__ volatile("syscall"
                   : "=a"(result)
                   : "a"(number), "D"(a1), "S"(a2), "d"(a3), "r"(r10), "r"(r8)
                   : "rcx", "r11", "memory");
  return result;
}
#elif defined(__aarch64__)
[[gnu::always_inline]] inline long RawSyscall(long number, long a1 = 0, long a2 = 0, long a3 = 0, long a4 = 0,
                                              long a5 = 0) {
  register long x8 __asm__("x8") = number;
  register long x0 __asm__("x0") = a1;
  register long x1 __asm__("x1") = a2;
  register long x2 __asm__("x2") = a3;
  register long x3 __asm__("x3") = a4;
  register long x4 __asm__("x4") = a5;
  __asm__ volatile("svc 0" : "+r"(x0) : "r"(x8), "r"(x1), "r"(x2), "r"(x3), "r"(x4) : "memory");
  return x0;
}
#else
#error "govrun's child needs RawSyscall for this architecture"
#endif

// Code the child runs between clone and exec: on a borrowed stack, with no
// sanitizer runtime calls (GCC and clang both spell the attribute this way).
#define GOV_CHILD_UNINSTRUMENTED __attribute__((no_sanitize("address", "undefined")))

template <typename T>
long Arg(T value) {
  if constexpr (std::is_pointer_v<T>) {
    return reinterpret_cast<long>(value);
  } else {
    return static_cast<long>(value);
  }
}

[[noreturn]] GOV_CHILD_UNINSTRUMENTED void RawExit(int code) {
  while (true) {
    RawSyscall(SYS_exit, code);
  }
}

[[noreturn]] GOV_CHILD_UNINSTRUMENTED void ReportAndExit(int fd, const char* stage, long error, bool sandbox,
                                                         bool changed) {
  ChildReport report;
  report.error = static_cast<int>(error < 0 ? -error : error);
  report.sandbox = sandbox ? 1 : 0;
  report.changed = changed ? 1 : 0;
  for (std::size_t i = 0; i + 1 < sizeof report.stage && stage[i] != '\0'; ++i) {
    report.stage[i] = stage[i];
  }
  RawSyscall(SYS_write, fd, Arg(&report), sizeof report);
  RawExit(127);
}

GOV_CHILD_UNINSTRUMENTED bool SameFileState(const struct stat& a, const struct stat& b) {
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

struct Child::Plan {
  std::vector<std::string> argv_storage;
  std::vector<char*> argv;
  std::vector<std::string> env_storage;
  std::vector<char*> envp;
  int exec_fd = -1;
  int script_fd = -1;  // a script's descriptor, passed on as /dev/fd/N
  struct stat expected {};
  struct stat expected_script {};
  // The start signal: a word in an anonymous shared mapping that only govrun
  // and the child map (no descriptor, no name another process could open).
  std::uint32_t* go_word = nullptr;
  const std::uint64_t* late_value = nullptr;  // in the same page
  std::uint32_t* ready_word = nullptr;        // in the same page: a traced child is ready to be attached
  std::int32_t* listener_word = nullptr;      // in the same page: the child's seccomp listener (-1: none)
  char* late_digits = nullptr;                // 16 characters in env_storage, or null
  int report_fd = -1;                         // write end of the status pipe (close-on-exec)
  int parent_end = -1;                        // govrun's end of the status pipe: the child closes its copy
  pid_t parent = 0;
  const int* inherited = nullptr;
  std::size_t inherited_count = 0;
  Sandbox::ChildSteps steps;
  const Sandbox* sandbox = nullptr;
  bool forked = false;  // own address space: ApplyNamespacesInChild first
};

namespace {

constexpr std::size_t kChildStackBytes = 64 * 1024;

// Values of the start word.
constexpr std::uint32_t kWait = 0;
constexpr std::uint32_t kGo = 1;

// Applies the sandbox's remaining steps (sandbox.h ChildSteps) with raw
// system calls. Returns 0 or -errno with `*stage` set; `*listener` is the
// session filter's listener descriptor (seccomp_listener), else -1.
GOV_CHILD_UNINSTRUMENTED long ApplySteps(const Sandbox::ChildSteps& steps, const char** stage, long* listener) {
  *listener = -1;
  long rc;
  if (steps.has_rlimit_as) {
    const struct rlimit limit { steps.rlimit_as, steps.rlimit_as };
    if ((rc = RawSyscall(SYS_prlimit64, 0, RLIMIT_AS, Arg(&limit), 0)) < 0) {
      *stage = "setrlimit(RLIMIT_AS)";
      return rc;
    }
  }
  if (steps.has_rlimit_nproc) {
    const struct rlimit limit { steps.rlimit_nproc, steps.rlimit_nproc };
    if ((rc = RawSyscall(SYS_prlimit64, 0, RLIMIT_NPROC, Arg(&limit), 0)) < 0) {
      *stage = "setrlimit(RLIMIT_NPROC)";
      return rc;
    }
  }
  // Capabilities: the bounding set first (it needs CAP_SETPCAP, which capset
  // below gives up), then the sets themselves, then ambient.
  for (int i = 0; i < steps.bounding_drop_count; ++i) {
    if ((rc = RawSyscall(SYS_prctl, PR_CAPBSET_DROP, steps.bounding_drop[i], 0, 0, 0)) < 0) {
      *stage = "prctl(PR_CAPBSET_DROP)";
      return rc;
    }
  }
  if ((rc = RawSyscall(SYS_prctl, PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0)) < 0 && rc != -EINVAL) {
    *stage = "prctl(PR_CAP_AMBIENT_CLEAR_ALL)";
    return rc;
  }
  __user_cap_header_struct header = steps.cap_header;
  if ((rc = RawSyscall(SYS_capset, Arg(&header), Arg(steps.cap_data))) < 0) {
    *stage = "capset";
    return rc;
  }
  for (int i = 0; i < steps.ambient_count; ++i) {
    if ((rc = RawSyscall(SYS_prctl, PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, steps.ambient[i], 0, 0)) < 0) {
      *stage = "prctl(PR_CAP_AMBIENT_RAISE)";
      return rc;
    }
  }
  if ((rc = RawSyscall(SYS_prctl, PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)) < 0) {
    *stage = "prctl(PR_SET_NO_NEW_PRIVS)";
    return rc;
  }
  if (steps.landlock_fd >= 0 && (rc = RawSyscall(SYS_landlock_restrict_self, steps.landlock_fd, 0)) < 0) {
    *stage = "landlock_restrict_self";
    return rc;
  }
  if (steps.seccomp != nullptr) {
    struct sock_fprog program {};
    program.len = steps.seccomp_length;
    program.filter = const_cast<sock_filter*>(steps.seccomp);
    if (steps.seccomp_listener) {
      // A notification the supervisor received is not interrupted by a
      // signal into a retry (Linux 5.19); without that flag on older kernels.
      rc = RawSyscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER,
                      SECCOMP_FILTER_FLAG_NEW_LISTENER | SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV, Arg(&program));
      if (rc == -EINVAL) {
        rc = RawSyscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_NEW_LISTENER, Arg(&program));
      }
      if (rc < 0) {
        *stage = "seccomp(SECCOMP_SET_MODE_FILTER, NEW_LISTENER)";
        return rc;
      }
      *listener = rc;
    } else if ((rc = RawSyscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, Arg(&program))) < 0) {
      *stage = "seccomp(SECCOMP_SET_MODE_FILTER)";
      return rc;
    }
  }
  return 0;
}

// The child, from clone to execveat. Raw system calls only (on the CLONE_VM
// path it shares govrun's memory, errno and malloc state); the plan is read,
// never written.
[[noreturn]] GOV_CHILD_UNINSTRUMENTED void ChildMain(const Child::Plan& plan) {
  const int report = plan.report_fd;
  RawSyscall(SYS_close, plan.parent_end);
  long rc = RawSyscall(SYS_setsid);
  if (rc < 0) {
    ReportAndExit(report, "setsid", rc, false, false);
  }
  rc = RawSyscall(SYS_prctl, PR_SET_PDEATHSIG, SIGKILL);
  if (rc < 0) {
    ReportAndExit(report, "prctl(PR_SET_PDEATHSIG)", rc, false, false);
  }
  if (RawSyscall(SYS_getppid) != plan.parent) {
    RawExit(127);  // govrun died before PR_SET_PDEATHSIG took effect
  }
  if (plan.forked) {
    const char* stage = "sandbox";
    if (const int error = plan.sandbox->ApplyNamespacesInChild(&stage); error != 0) {
      ReportAndExit(report, stage, error, true, false);
    }
  }
  const char* stage = "sandbox";
  long listener = -1;
  if ((rc = ApplySteps(plan.steps, &stage, &listener)) < 0) {
    ReportAndExit(report, stage, rc, true, false);
  }
  // A session's root (forked: this memory is its own) lets the supervisor
  // attach. Another process of the user could now write this memory too,
  // but whatever it makes this child execute stops for the supervisor,
  // which checks the new image against the authorized one (session/).
  if (plan.steps.traced) {
    if ((rc = RawSyscall(SYS_prctl, PR_SET_DUMPABLE, 1, 0, 0, 0)) < 0) {
      ReportAndExit(report, "prctl(PR_SET_DUMPABLE)", rc, false, false);
    }
    __atomic_store_n(plan.listener_word, static_cast<std::int32_t>(listener), __ATOMIC_RELEASE);
    __atomic_store_n(plan.ready_word, 1u, __ATOMIC_RELEASE);
    RawSyscall(SYS_futex, Arg(plan.ready_word), FUTEX_WAKE, 1, 0, 0);
  }
  // Wait for Go(): only govrun can store to the start word.
  while (__atomic_load_n(plan.go_word, __ATOMIC_ACQUIRE) == kWait) {
    rc = RawSyscall(SYS_futex, Arg(plan.go_word), FUTEX_WAIT, kWait, 0, 0);
    if (rc < 0 && rc != -EAGAIN && rc != -EINTR) {
      RawExit(127);
    }
  }
  if (__atomic_load_n(plan.go_word, __ATOMIC_ACQUIRE) != kGo) {
    RawExit(127);  // govrun gave up on this run
  }
  if (listener >= 0) {
    RawSyscall(SYS_close, listener);  // govrun took its copy: the tree never answers its own execs
  }
  if (plan.late_digits != nullptr) {
    const std::uint64_t value = __atomic_load_n(plan.late_value, __ATOMIC_ACQUIRE);
    for (int i = 0; i < 16; ++i) {
      plan.late_digits[i] = "0123456789abcdef"[(value >> (60 - 4 * i)) & 15];
    }
  }
  // Only the descriptors govrun inherited (and a script's) reach the program.
  if ((rc = RawSyscall(SYS_close_range, 3, static_cast<long>(~0U), CLOSE_RANGE_CLOEXEC)) < 0) {
    ReportAndExit(report, "close_range (Linux 5.11)", rc, false, false);
  }
  for (std::size_t i = 0; i < plan.inherited_count; ++i) {
    RawSyscall(SYS_fcntl, plan.inherited[i], F_SETFD, 0);
  }
  RawSyscall(SYS_fcntl, report, F_SETFD, FD_CLOEXEC);
  if (plan.script_fd >= 0 && (rc = RawSyscall(SYS_fcntl, plan.script_fd, F_SETFD, 0)) < 0) {
    ReportAndExit(report, "fcntl(script)", rc, false, false);
  }
  struct stat now {};
  if (RawSyscall(SYS_fstat, plan.exec_fd, Arg(&now)) != 0 || !SameFileState(now, plan.expected) ||
      (plan.script_fd >= 0 &&
       (RawSyscall(SYS_fstat, plan.script_fd, Arg(&now)) != 0 || !SameFileState(now, plan.expected_script)))) {
    ReportAndExit(report, "fstat", ESTALE, false, true);
  }
  // govrun ignores SIGPIPE and blocks the forwarded signals; the program
  // starts with the default disposition and an empty mask. The kernel's
  // struct sigaction, all zero: SIG_DFL, no flags, empty mask.
  const unsigned long default_action[4] = {0, 0, 0, 0};
  RawSyscall(SYS_rt_sigaction, SIGPIPE, Arg(default_action), 0, 8);
  const unsigned long empty_mask = 0;
  RawSyscall(SYS_rt_sigprocmask, SIG_SETMASK, Arg(&empty_mask), 0, 8);
  rc = RawSyscall(SYS_execveat, plan.exec_fd, Arg(""), Arg(plan.argv.data()), Arg(plan.envp.data()), AT_EMPTY_PATH);
  ReportAndExit(report, "execveat", rc, false, false);
}

GOV_CHILD_UNINSTRUMENTED int CloneEntry(void* plan) {
  ChildMain(*static_cast<const Child::Plan*>(plan));
}

// struct clone_args (Linux 5.7 for `cgroup`).
struct CloneArgs {
  std::uint64_t flags;
  std::uint64_t pidfd;
  std::uint64_t child_tid;
  std::uint64_t parent_tid;
  std::uint64_t exit_signal;
  std::uint64_t stack;
  std::uint64_t stack_size;
  std::uint64_t tls;
  std::uint64_t set_tid;
  std::uint64_t set_tid_size;
  std::uint64_t cgroup;
};
constexpr std::uint64_t kCloneIntoCgroup = 0x200000000ULL;

// clone3(2) whose child calls `entry(arg)` (which never returns) on the
// stack `args` names (or, without CLONE_VM, on its copy of this one).
// Returns the child's pid or -errno, like the system call.
[[gnu::noinline]] GOV_CHILD_UNINSTRUMENTED long Clone3(CloneArgs* args, int (*entry)(void*), void* arg) {
#if defined(__x86_64__)
  long result;
  register long r12 __asm__("r12") = reinterpret_cast<long>(entry);
  register long r13 __asm__("r13") = reinterpret_cast<long>(arg);
  __asm__ volatile(
      "syscall\n\t"
      "test %%rax, %%rax\n\t"
      "jnz 1f\n\t"
      "xor %%ebp, %%ebp\n\t"
      "and $-16, %%rsp\n\t"
      "mov %%r13, %%rdi\n\t"
      "call *%%r12\n\t"
      "ud2\n"
      "1:\n\t"
      : "=a"(result)
      : "a"(SYS_clone3), "D"(args), "S"(sizeof(CloneArgs)), "r"(r12), "r"(r13)
      : "rcx", "r11", "memory");
  return result;
#elif defined(__aarch64__)
  register long x8 __asm__("x8") = SYS_clone3;
  register long x0 __asm__("x0") = reinterpret_cast<long>(args);
  register long x1 __asm__("x1") = sizeof(CloneArgs);
  register long x19 __asm__("x19") = reinterpret_cast<long>(entry);
  register long x20 __asm__("x20") = reinterpret_cast<long>(arg);
  __asm__ volatile(
      "svc 0\n\t"
      "cbnz x0, 1f\n\t"
      "mov x29, xzr\n\t"
      "mov x0, x20\n\t"
      "blr x19\n\t"
      "brk #0\n"
      "1:\n\t"
      : "+r"(x0)
      : "r"(x8), "r"(x1), "r"(x19), "r"(x20)
      : "x30", "memory");
  return x0;
#else
  (void)args;
  (void)entry;
  (void)arg;
  return -ENOSYS;
#endif
}

// Kills a child that has not executed anything and reaps it.
void KillAndReap(pid_t pid) {
  kill(pid, SIGKILL);
  int status = 0;
  while (waitpid(pid, &status, __WALL) < 0 && errno == EINTR) {
  }
}

}  // namespace

Child::Child(Child&& other) noexcept
    : pid_(std::exchange(other.pid_, -1)),
      status_fd_(std::exchange(other.status_fd_, -1)),
      born_in_cgroup_(std::exchange(other.born_in_cgroup_, false)),
      plan_(std::move(other.plan_)),
      stack_(std::exchange(other.stack_, nullptr)),
      stack_size_(std::exchange(other.stack_size_, 0)),
      go_page_(std::exchange(other.go_page_, nullptr)) {}

Child& Child::operator=(Child&& other) noexcept {
  if (this != &other) {
    std::swap(pid_, other.pid_);
    std::swap(status_fd_, other.status_fd_);
    std::swap(born_in_cgroup_, other.born_in_cgroup_);
    std::swap(plan_, other.plan_);
    std::swap(stack_, other.stack_);
    std::swap(stack_size_, other.stack_size_);
    std::swap(go_page_, other.go_page_);
  }
  return *this;
}

Child::~Child() {
  if (plan_ != nullptr && pid_ > 0) {
    Abort();  // it may still be reading the plan: it must be gone first
  }
  if (status_fd_ >= 0) {
    close(status_fd_);
  }
  Release();
}

void Child::Release() {
  plan_.reset();
  if (stack_ != nullptr) {
    munmap(stack_, stack_size_);
    stack_ = nullptr;
  }
  if (go_page_ != nullptr) {
    munmap(go_page_, static_cast<std::size_t>(sysconf(_SC_PAGESIZE)));
    go_page_ = nullptr;
  }
}

void Child::Abort() {
  if (pid_ <= 0) {
    return;
  }
  KillAndReap(pid_);
  pid_ = -1;
  Release();
}

Outcome<bool> Child::Go(std::uint64_t late_value, bool wait) {
  auto* word = static_cast<std::uint32_t*>(go_page_);
  __atomic_store_n(reinterpret_cast<std::uint64_t*>(static_cast<char*>(go_page_) + 8), late_value, __ATOMIC_RELEASE);
  __atomic_store_n(word, kGo, __ATOMIC_RELEASE);
  if (syscall(SYS_futex, word, FUTEX_WAKE, 1, nullptr, nullptr, 0) < 0) {
    const int error = errno;
    Abort();
    return Failure{kExitInternal, std::string("cannot signal the child to start: ") + std::strerror(error)};
  }
  if (!wait) {
    return true;
  }
  return FinishGo();
}

Outcome<int> Child::TakeListener() const {
  const std::int32_t number =
      __atomic_load_n(reinterpret_cast<std::int32_t*>(static_cast<char*>(go_page_) + 20), __ATOMIC_ACQUIRE);
  if (number < 0) {
    return Failure{kExitInternal, "the session's root installed no seccomp listener"};
  }
  const int pidfd = static_cast<int>(syscall(SYS_pidfd_open, pid_, 0));
  if (pidfd < 0) {
    return Failure{kExitConfig, std::string("pidfd_open (Linux 5.3): ") + std::strerror(errno)};
  }
  const int listener = static_cast<int>(syscall(SYS_pidfd_getfd, pidfd, number, 0));
  const int error = errno;
  close(pidfd);
  if (listener < 0) {
    return Failure{kExitConfig,
                   std::string("pidfd_getfd (Linux 5.6) of the seccomp listener: ") + std::strerror(error)};
  }
  return listener;
}

std::vector<std::string> Child::ExecArgv() const {
  return plan_ != nullptr ? plan_->argv_storage : std::vector<std::string>{};
}

Outcome<bool> Child::WaitReady() {
  auto* word = reinterpret_cast<std::uint32_t*>(static_cast<char*>(go_page_) + 16);
  while (__atomic_load_n(word, __ATOMIC_ACQUIRE) == 0) {
    siginfo_t info{};
    // Not reaped (WNOWAIT): a child that failed is reported by FinishGo.
    if (waitid(P_PID, static_cast<id_t>(pid_), &info, WEXITED | WNOHANG | WNOWAIT) == 0 && info.si_pid == pid_) {
      auto finished = FinishGo();
      if (finished.ok()) {
        return Failure{kExitInternal, "the child ended before it could execute the program"};
      }
      return finished;
    }
    const timespec wait{0, 10000000};
    syscall(SYS_futex, word, FUTEX_WAIT, 0, &wait, nullptr, 0);
  }
  return true;
}

Outcome<bool> Child::FinishGo() {
  ChildReport report;
  ssize_t got;
  do {
    got = read(status_fd_, &report, sizeof report);
  } while (got < 0 && errno == EINTR);
  close(status_fd_);
  status_fd_ = -1;
  if (got == 0) {
    // EOF: the report descriptor closed at exec (after the kernel gave the
    // child its own memory) or when the child died (after it released
    // ours). Either way the plan and the stack are no longer in use.
    Release();
    return true;
  }
  int status = 0;
  while (waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
  }
  pid_ = -1;
  Release();
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
  auto plan = std::make_unique<Child::Plan>();
  // argv as the kernel would build it for a script, but naming the hashed
  // script descriptor instead of its path.
  plan->exec_fd = program.file.fd.get();
  plan->expected = program.file.st;
  if (program.is_script) {
    plan->exec_fd = program.interpreter.fd.get();
    plan->script_fd = program.file.fd.get();
    plan->expected = program.interpreter.st;
    plan->expected_script = program.file.st;
    plan->argv_storage.push_back(program.interpreter_argv0);
    if (program.has_interpreter_arg) {
      plan->argv_storage.push_back(program.interpreter_arg);
    }
    plan->argv_storage.push_back("/dev/fd/" + std::to_string(plan->script_fd));
    plan->argv_storage.insert(plan->argv_storage.end(), spec.argv.begin() + (spec.argv.empty() ? 0 : 1),
                              spec.argv.end());
  } else {
    plan->argv_storage = spec.argv;
  }
  for (std::string& arg : plan->argv_storage) {
    plan->argv.push_back(arg.data());
  }
  plan->argv.push_back(nullptr);
  plan->env_storage = spec.envp;
  for (std::string& entry : plan->env_storage) {
    plan->envp.push_back(entry.data());
    if (!spec.late_env_name.empty() && entry.size() == spec.late_env_name.size() + 17 &&
        entry.starts_with(spec.late_env_name + "=")) {
      plan->late_digits = entry.data() + spec.late_env_name.size() + 1;
    }
  }
  plan->envp.push_back(nullptr);
  plan->parent = getpid();
  // A child born into another PID namespace (a session's, kernel mechanism)
  // sees no pid for its parent outside it: getppid() is 0 while govrun lives.
  if (struct stat own{}, children{}; stat("/proc/self/ns/pid", &own) == 0 &&
                                     stat("/proc/self/ns/pid_for_children", &children) == 0 &&
                                     own.st_ino != children.st_ino) {
    plan->parent = 0;
  }
  plan->inherited = InheritedFds().data();
  plan->inherited_count = InheritedFds().size();
  plan->steps = spec.sandbox->StepsForChild();
  plan->sandbox = spec.sandbox;
  plan->forked = plan->steps.namespaces || plan->steps.traced;

  Child child;
  const auto page = static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
  void* go_page = mmap(nullptr, page, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (go_page == MAP_FAILED) {
    return Failure{kExitInternal, std::string("mmap (start word): ") + std::strerror(errno)};
  }
  child.go_page_ = go_page;
  plan->go_word = static_cast<std::uint32_t*>(go_page);
  plan->late_value = reinterpret_cast<const std::uint64_t*>(static_cast<char*>(go_page) + 8);
  plan->ready_word = reinterpret_cast<std::uint32_t*>(static_cast<char*>(go_page) + 16);
  plan->listener_word = reinterpret_cast<std::int32_t*>(static_cast<char*>(go_page) + 20);
  *plan->listener_word = -1;
  int status_pipe[2];
  if (pipe2(status_pipe, O_CLOEXEC) != 0) {
    return Failure{kExitInternal, std::string("pipe2: ") + std::strerror(errno)};
  }
  plan->report_fd = status_pipe[1];
  plan->parent_end = status_pipe[0];
  auto close_pipe = [&] {
    close(status_pipe[0]);
    close(status_pipe[1]);
  };

  void* stack = nullptr;
  if (!plan->forked) {
    stack = mmap(nullptr, kChildStackBytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
    if (stack == MAP_FAILED) {
      const int error = errno;
      close_pipe();
      return Failure{kExitInternal, std::string("mmap (child stack): ") + std::strerror(error)};
    }
    child.stack_ = stack;
    child.stack_size_ = kChildStackBytes;
  }
  // Not CLONE_FILES: the child gets its own copy of the descriptor table.
  long pid = -ENOSYS;
  if (plan->steps.cgroup_v2_fd >= 0) {
    // Born inside the run's cgroup v2: not even its first instruction runs
    // outside its limits.
    CloneArgs args{};
    args.flags = kCloneIntoCgroup | (plan->forked ? 0 : CLONE_VM);
    args.exit_signal = SIGCHLD;
    if (!plan->forked) {
      args.stack = reinterpret_cast<std::uint64_t>(stack);
      args.stack_size = kChildStackBytes;
    }
    args.cgroup = static_cast<std::uint64_t>(plan->steps.cgroup_v2_fd);
    pid = Clone3(&args, CloneEntry, plan.get());
    if (pid > 0) {
      child.born_in_cgroup_ = true;
    } else if (pid != -ENOSYS && pid != -E2BIG) {
      close_pipe();
      return Failure{kExitInternal,
                     std::string("clone3 (into the run's cgroup): ") + std::strerror(static_cast<int>(-pid))};
    }
  }
  if (pid == -ENOSYS || pid == -E2BIG) {
    // No clone3 or no CLONE_INTO_CGROUP (Linux < 5.7): the child is moved
    // into its cgroups by AdoptChild before it may execute anything.
    if (plan->forked) {
      pid = fork();
      if (pid == 0) {
        ChildMain(*plan);
      }
    } else {
      pid = clone(CloneEntry, static_cast<char*>(stack) + kChildStackBytes, CLONE_VM | SIGCHLD, plan.get());
    }
    if (pid < 0) {
      const int error = errno;
      close_pipe();
      return Failure{kExitInternal, std::string(plan->forked ? "fork: " : "clone: ") + std::strerror(error)};
    }
  }
  close(status_pipe[1]);
  child.pid_ = static_cast<pid_t>(pid);
  child.status_fd_ = status_pipe[0];
  child.plan_ = std::move(plan);
  return child;
}

RunKiller::~RunKiller() {
  if (sandbox_ == nullptr) {
    return;
  }
  // Bounded: a fork bomb racing the kills is stopped by SIGKILL reaching
  // every member within a few rounds (and by its pids limit).
  for (int round = 0; round < 200; ++round) {
    const int signalled = SignalRun(round == 0 ? group_ : 0, *sandbox_, SIGKILL);
    int status = 0;
    while (waitpid(-1, &status, WNOHANG | __WALL) > 0) {
    }
    if (signalled == 0 && Descendants().empty() && sandbox_->CgroupsEmpty()) {
      return;
    }
    const timespec pause{0, 5000000};
    nanosleep(&pause, nullptr);
  }
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
        if (WIFSTOPPED(status)) {
          // A ptrace stop: a process of the run made govrun its tracer
          // (PTRACE_TRACEME). govrun traces nothing: let it go on.
          ptrace(PTRACE_DETACH, done, nullptr, reinterpret_cast<void*>(static_cast<long>(WSTOPSIG(status))));
          continue;
        }
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
