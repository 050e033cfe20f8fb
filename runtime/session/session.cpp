// The session supervisor (session.h): ptrace event loop, exec decisions,
// post-exec checks and child-run lineage.
#include "runtime/session/session.h"

#include <fcntl.h>
#include <linux/audit.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/inotify.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/uio.h>
#include <sys/user.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <map>
#include <memory>
#include <optional>
#include <string_view>
#include <unordered_map>
#include <utility>

#include "runtime/abi/gov_abi.h"
#include "runtime/exec/process.h"
#include "runtime/exec/program.h"
#include "runtime/interp/interp.h"
#include "runtime/ir/env_names.h"
#include "runtime/session/approval.h"
#include "runtime/session/authorization.h"
#include "runtime/session/exec_hold.h"
#include "runtime/session/kernel_binding.h"
#include "runtime/support/display.h"
#include "runtime/support/errno_text.h"
#include "runtime/support/path.h"

namespace gov::session {

namespace {

using exec::Failure;

// argv and environment bytes the supervisor reads per exec (the kernel's own
// limit is a quarter of the stack rlimit, 2 MiB by default).
constexpr std::size_t kMaxExecBytes = 4u << 20;
constexpr std::size_t kMaxExecStrings = 1u << 16;

// ---------------------------------------------------------- tracee memory --

// The memory of a stopped process, read a page at a time and kept for the
// duration of one exec call: argv and environment strings cluster on a few
// pages, so a call costs a few reads instead of one per pointer and string.
class TraceeMemory {
 public:
  explicit TraceeMemory(pid_t pid) : pid_(pid) {}

  // `size` bytes at `address`; false when any of them is not mapped.
  bool Read(std::uint64_t address, void* out, std::size_t size) {
    auto* bytes = static_cast<unsigned char*>(out);
    while (size > 0) {
      const std::uint64_t page_address = address & ~std::uint64_t{kPage - 1};
      const Page* page = PageAt(page_address);
      if (page == nullptr) {
        return false;
      }
      const std::size_t offset = static_cast<std::size_t>(address - page_address);
      const std::size_t take = std::min(size, kPage - offset);
      std::memcpy(bytes, page->data() + offset, take);
      bytes += take;
      address += take;
      size -= take;
    }
    return true;
  }

  // A NUL-terminated string at `address`, at most `budget` bytes (counted down).
  bool ReadString(std::uint64_t address, std::size_t& budget, std::string& out) {
    out.clear();
    while (true) {
      const std::uint64_t page_address = address & ~std::uint64_t{kPage - 1};
      const Page* page = PageAt(page_address);
      if (page == nullptr) {
        return false;
      }
      const std::size_t offset = static_cast<std::size_t>(address - page_address);
      const char* begin = reinterpret_cast<const char*>(page->data()) + offset;
      const std::size_t available = kPage - offset;
      const void* nul = std::memchr(begin, 0, available);
      const std::size_t take =
          nul != nullptr ? static_cast<std::size_t>(static_cast<const char*>(nul) - begin) : available;
      if (take + 1 > budget) {
        return false;
      }
      budget -= take;
      out.append(begin, take);
      if (nul != nullptr) {
        budget -= 1;
        return true;
      }
      address += available;
    }
  }

  // A NULL-terminated array of string pointers (argv, envp) at `address`.
  bool ReadStringArray(std::uint64_t address, std::size_t& budget, std::vector<std::string>& out) {
    out.clear();
    if (address == 0) {
      return true;  // the kernel takes a NULL array as empty
    }
    while (out.size() < kMaxExecStrings) {
      std::uint64_t pointer = 0;
      if (!Read(address + 8 * out.size(), &pointer, sizeof pointer)) {
        return false;
      }
      if (pointer == 0) {
        return true;
      }
      std::string item;
      if (!ReadString(pointer, budget, item)) {
        return false;
      }
      out.push_back(std::move(item));
    }
    return false;
  }

 private:
  static constexpr std::size_t kPage = 4096;
  using Page = std::array<unsigned char, kPage>;

  // process_vm_readv, else PTRACE_PEEKDATA (a non-dumpable image refuses
  // the former to its own user).
  const Page* PageAt(std::uint64_t page_address) {
    if (auto found = pages_.find(page_address); found != pages_.end()) {
      return &found->second;
    }
    if (pages_.size() >= kMaxExecBytes / kPage + 16) {
      return nullptr;
    }
    Page page;
    iovec local{page.data(), kPage};
    iovec remote{reinterpret_cast<void*>(page_address), kPage};
    if (process_vm_readv(pid_, &local, 1, &remote, 1, 0) != static_cast<ssize_t>(kPage)) {
      for (std::size_t done = 0; done < kPage; done += 8) {
        errno = 0;
        const long word = ptrace(PTRACE_PEEKDATA, pid_, reinterpret_cast<void*>(page_address + done), nullptr);
        if (errno != 0) {
          return nullptr;
        }
        std::memcpy(page.data() + done, &word, 8);
      }
    }
    return &pages_.emplace(page_address, page).first->second;
  }

  pid_t pid_;
  std::unordered_map<std::uint64_t, Page> pages_;
};

bool ReadWholeFile(const std::string& path, std::string& out, std::size_t limit) {
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return false;
  }
  out.clear();
  char buffer[65536];
  while (out.size() <= limit) {
    const ssize_t got = read(fd, buffer, sizeof buffer);
    if (got < 0 && errno == EINTR) {
      continue;
    }
    if (got < 0) {
      close(fd);
      return false;
    }
    if (got == 0) {
      close(fd);
      return true;
    }
    out.append(buffer, static_cast<std::size_t>(got));
  }
  close(fd);
  return false;
}

// "a\0b\0" → {"a", "b"} (/proc/PID/cmdline and environ).
std::vector<std::string> SplitNul(const std::string& text) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start < text.size()) {
    const std::size_t end = text.find('\0', start);
    if (end == std::string::npos) {
      out.push_back(text.substr(start));
      break;
    }
    out.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

std::string ReadLink(const std::string& path) {
  char buffer[4096];
  const ssize_t got = readlink(path.c_str(), buffer, sizeof buffer);
  return got > 0 ? std::string(buffer, static_cast<std::size_t>(got)) : std::string();
}

// --------------------------------------------------------------- runs ------

// One run of the session: an image some process executed.
struct TrackedRun {
  std::uint64_t number = 0;  // the kernel mechanism's name for it (task marks, authorizations, events)
  std::string id;
  std::string program;
  std::int64_t depth = 0;
  std::shared_ptr<TrackedRun> parent;
  pid_t leader = 0;  // the process that executed this image
  std::int64_t started_ns = 0;
  // When its exec call was intercepted, and how long deciding it took
  // (reading the call through the decision): its start record's figures.
  std::int64_t intercepted_ns = 0;
  std::int64_t decision_ns = 0;
  // The kernel mechanism: when the call was let proceed (the exec event and
  // the start record come later, from the ring buffer).
  std::int64_t released_ns = 0;
  // The kernel mechanism, an exec held at its exec stop: when its sync
  // completed (what the new image waited for, if it was bound earlier).
  std::int64_t durable_ns = 0;
  std::int64_t term_deadline_ns = 0;  // timeout: SIGTERM at, then SIGKILL after the grace
  std::int64_t kill_deadline_ns = 0;
  std::string killed_by;
  bool ended = false;

  bool Within(const TrackedRun& ancestor) const {
    for (const TrackedRun* run = this; run != nullptr; run = run->parent.get()) {
      if (run == &ancestor) {
        return true;
      }
    }
    return false;
  }
};

// An exec the supervisor allowed at its entry, until the kernel reports it.
struct PendingExec {
  std::shared_ptr<TrackedRun> run;
  struct stat file {};            // what /proc/PID/exe must be
  std::vector<std::string> argv;  // the new image's argv and envp
  std::vector<std::string> envp;
  bool root = false;
  // A `#!` script: the script as hashed (its interpreter reads it by name
  // once it runs). Empty for a binary.
  std::string script_path;
  struct stat script {};
  std::uint64_t durable_ticket = 0;  // the authorization's (Recorder::AwaitDurable)
};

struct Proc {
  std::shared_ptr<TrackedRun> run;  // the image it runs; null until its parent's fork event
  bool waiting_for_parent = false;  // stopped at birth before its fork event was seen
  std::optional<PendingExec> pending;
};

// What a process asked the kernel to execute, read at the call's entry
// (the caller's memory: a claim the post-exec check verifies).
struct ExecCall {
  bool at = false;
  int dirfd = AT_FDCWD;
  int flags = 0;
  std::string path;
  std::vector<std::string> argv;
  std::vector<std::string> envp;
  std::int64_t intercepted_ns = 0;  // when the supervisor began reading the call
};

// How to answer the exec call being decided: a ptrace stop at its entry
// (registers), or a seccomp user notification (the kernel mechanism).
struct Caller {
  user_regs_struct* regs = nullptr;
  std::uint64_t notification = 0;
};

bool SameFileState(const struct stat& a, const struct stat& b) {
  return a.st_dev == b.st_dev && a.st_ino == b.st_ino && a.st_size == b.st_size &&
         a.st_mtim.tv_sec == b.st_mtim.tv_sec && a.st_mtim.tv_nsec == b.st_mtim.tv_nsec &&
         a.st_ctim.tv_sec == b.st_ctim.tv_sec && a.st_ctim.tv_nsec == b.st_ctim.tv_nsec;
}

bool IsUnder(const std::string& path, const std::string& root) {
  if (root == "/") {
    return true;
  }
  return path == root ||
         (path.size() > root.size() && path.compare(0, root.size(), root) == 0 && path[root.size()] == '/');
}

int NetworkStrictness(ir::Network network) {
  switch (network) {
    case ir::Network::kNone:
      return 0;
    case ir::Network::kLoopback:
      return 1;
    default:
      return 2;
  }
}

// The root's run in the kernel mechanism's marks (AttachKernel).
constexpr std::uint64_t kRootRunNumber = 1;

sigset_t SessionSignals() {
  sigset_t set;
  sigemptyset(&set);
  for (const int signal : exec::kForwardedSignals) {
    sigaddset(&set, signal);
  }
  sigaddset(&set, SIGCHLD);
  sigaddset(&set, SIGIO);  // the script watches (never forwarded)
  return set;
}

class Supervisor {
 public:
  Supervisor(exec::Child& root, const exec::Sandbox& sandbox, const SessionOptions& options, std::int64_t started_ns)
      : root_child_(root), sandbox_(sandbox), options_(options), root_pid_(root.pid()) {
    auto run = std::make_shared<TrackedRun>();
    run->id = options.root_run_id;
    run->program = options.root_request->program_path;
    run->depth = options.root_depth;
    run->leader = root_pid_;
    run->number = kRootRunNumber;
    run->started_ns = started_ns;
    if (options.root_timeout_ms > 0) {
      run->term_deadline_ns = started_ns + options.root_timeout_ms * 1000000;
    }
    root_run_ = run;
    runs_by_number_[kRootRunNumber] = run;
    if (const auto self = exec::IdentityOf(0)) {
      supervisor_start_time_ = self->start_time;
    }
    boot_id_ = exec::BootId();
    for (const std::string& path : options.watched_files) {
      watched_states_.push_back(StateOf(path));
    }
    Proc& proc = procs_[root_pid_];
    proc.run = run;
    PendingExec pending;
    pending.run = run;
    pending.file = options.root_file;
    pending.argv = options.root_argv;
    pending.envp = options.root_envp;
    pending.root = true;
    pending.script_path = options.root_script_path;
    pending.script = options.root_script;
    proc.pending = std::move(pending);
    // Script watches wake the loop with SIGIO (blocked: taken by sigtimedwait).
    sigset_t io;
    sigemptyset(&io);
    sigaddset(&io, SIGIO);
    sigprocmask(SIG_BLOCK, &io, nullptr);
    watch_fd_ = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (watch_fd_ >= 0) {
      fcntl(watch_fd_, F_SETOWN, getpid());
      fcntl(watch_fd_, F_SETFL, O_NONBLOCK | O_ASYNC);
    }
  }

  ~Supervisor() {
    for (const ScriptWatch& watch : script_watches_) {
      close(watch.fd);
    }
    if (watch_fd_ >= 0) {
      close(watch_fd_);
    }
  }
  Supervisor(const Supervisor&) = delete;
  Supervisor& operator=(const Supervisor&) = delete;

  exec::Outcome<SessionResult> Loop() {
    const sigset_t set = SessionSignals();
    std::int64_t leftover_deadline = 0;
    while (true) {
      bool no_tracees = false;
      while (true) {
        int status = 0;
        struct rusage usage {};
        const pid_t pid = wait4(-1, &status, WNOHANG | __WALL, &usage);
        if (pid < 0 && errno == ECHILD) {
          no_tracees = true;  // nothing is traced or a child any more
        }
        if (pid <= 0) {
          break;
        }
        Handle(pid, status, usage);
        if (root_failure_) {
          return *root_failure_;
        }
      }
      const std::int64_t now = exec::MonotonicNs();
      if (root_done_) {
        if (no_tracees || (procs_.empty() && sandbox_.CgroupsEmpty())) {
          break;  // entries left are processes the kernel no longer reports: not signalled
        }
        // The root ended and left processes behind: they end with it.
        if (leftover_deadline == 0) {
          leftover_deadline = now + 5000000000LL;
        }
        KillAll();
        if (now > leftover_deadline) {
          break;
        }
      }
      EnforceDeadlines(now);
      std::int64_t wake = root_done_ ? now + 10000000 : NextDeadline();
      siginfo_t info{};
      int got;
      if (wake == 0) {
        got = sigwaitinfo(&set, &info);
      } else {
        const std::int64_t wait_ns = std::max<std::int64_t>(wake - now, 0);
        const timespec wait{static_cast<time_t>(wait_ns / 1000000000), static_cast<long>(wait_ns % 1000000000)};
        got = sigtimedwait(&set, &info, &wait);
      }
      if (got == SIGIO) {
        CheckScripts();
      } else if (got > 0 && got != SIGCHLD && !root_done_) {
        kill(-root_pid_, got);
        forwarded_ = got;
      }
    }
    return Finish();
  }

  // The kernel mechanism's loop: notifications of exec calls, the kernel's
  // events (forks, bound or killed images, exits), govrun's signals, the
  // root's end; then the PID namespace's init is killed, which ends every
  // process left.
  exec::Outcome<SessionResult> KernelLoop() {
    const sigset_t set = SessionSignals();
    const int signals = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
    if (signals < 0) {
      return Failure{exec::kExitInternal, "signalfd: " + ErrnoText(errno)};
    }
    int listener = options_.kernel->listener;
    bool tree_killed = false;
    std::int64_t leftover_deadline = 0;
    while (true) {
      DrainEvents();
      ReapKernelChildren();
      if (root_failure_) {
        close(signals);
        return *root_failure_;
      }
      const std::int64_t now = exec::MonotonicNs();
      if (root_done_) {
        if (!tree_killed) {
          tree_killed = true;
          KillAll();  // the root ended: what it left behind ends with it
        }
        if (namespace_init_done_) {
          DrainEvents();  // every exit of the namespace was reported before its init was reaped
          break;
        }
        if (leftover_deadline == 0) {
          leftover_deadline = now + 5000000000LL;
        }
        if (now > leftover_deadline) {
          break;
        }
      }
      EnforceDeadlines(now);
      const std::int64_t deadline = NextDeadline();
      std::int64_t wait_ms = root_done_ ? 10 : 100;  // the ring buffer wakes govrun for kills only
      if (deadline > 0) {
        wait_ms = std::clamp<std::int64_t>((deadline - now) / 1000000 + 1, 0, wait_ms);
      }
      pollfd fds[3] = {{signals, POLLIN, 0}, {options_.kernel->binding->EventFd(), POLLIN, 0}, {listener, POLLIN, 0}};
      if (poll(fds, listener >= 0 ? 3 : 2, static_cast<int>(wait_ms)) < 0 && errno != EINTR) {
        close(signals);
        return Failure{exec::kExitInternal, "poll: " + ErrnoText(errno)};
      }
      signalfd_siginfo info{};
      while (read(signals, &info, sizeof info) == static_cast<ssize_t>(sizeof info)) {
        const int got = static_cast<int>(info.ssi_signo);
        if (got == SIGIO) {
          DrainEvents();
          CheckScripts();
        } else if (got == SIGCHLD) {
          holds_.Poll();  // held images stopped or ended
        } else if (!root_done_) {
          kill(-root_pid_, got);
          forwarded_ = got;
        }
      }
      if (listener >= 0 && (fds[2].revents & POLLIN) != 0) {
        // Every exec waiting now is decided, then one sync releases them all.
        for (int batched = 0; batched < 64; ++batched) {
          Notified();
          pollfd more{listener, POLLIN, 0};
          if (poll(&more, 1, 0) != 1 || (more.revents & POLLIN) == 0) {
            break;
          }
        }
        ReleaseBatch();
      } else if (listener >= 0 && (fds[2].revents & (POLLHUP | POLLERR | POLLNVAL)) != 0) {
        listener = -1;  // no process uses the session's filter any more
      }
    }
    close(signals);
    return Finish();
  }

  // The session's end, for both mechanisms.
  exec::Outcome<SessionResult> Finish() {
    // Runs whose processes the kernel never reported ending (killed as
    // leftovers, or gone untraced): ended here, never left open.
    for (auto& entry : procs_) {
      const auto pid = entry.first;
      auto& proc = entry.second;  // named, not a structured binding: lambdas below capture it
      if (proc.pending && !proc.pending->root) {
        EndRun(*proc.pending->run, [&](lineage::End& end) { end.exec_error = "the session ended first"; });
      }
      if (proc.run && proc.run->leader == pid && !proc.run->ended) {
        EndRun(*proc.run, [&](lineage::End& end) {
          end.duration_ns = exec::MonotonicNs() - proc.run->started_ns;
          end.signal = SIGKILL;
          end.killed_by = "session-end";
        });
      }
    }
    if (result_.root.killed_by.empty() && !result_.root.exited && forwarded_ != 0 &&
        result_.root.signal == forwarded_) {
      result_.root.killed_by = "govrun-signal";
    }
    return result_;
  }

 private:
  // ------------------------------------------------------------ events --
  void Handle(pid_t pid, int status, const struct rusage& usage) {
    if (WIFEXITED(status) || WIFSIGNALED(status)) {
      Exited(pid, status, usage);
      return;
    }
    if (!WIFSTOPPED(status)) {
      return;
    }
    const int event = status >> 16;
    const int signal = WSTOPSIG(status);
    switch (event) {
      case PTRACE_EVENT_STOP:
        if (signal == SIGSTOP || signal == SIGTSTP || signal == SIGTTIN || signal == SIGTTOU) {
          ptrace(PTRACE_LISTEN, pid, nullptr, nullptr);  // a group stop (job control): stay stopped
          return;
        }
        Born(pid);
        return;
      case PTRACE_EVENT_FORK:
      case PTRACE_EVENT_VFORK:
      case PTRACE_EVENT_CLONE:
        Forked(pid);
        return;
      case PTRACE_EVENT_SECCOMP:
        ExecEntry(pid);
        return;
      case PTRACE_EVENT_EXEC:
        Executed(pid);
        return;
      case 0:
        break;
      default:
        Continue(pid, 0);
        return;
    }
    if (signal == (SIGTRAP | 0x80)) {
      ExecReturned(pid);
      return;
    }
    Continue(pid, signal);  // a signal for the tracee: deliver it
  }

  void Continue(pid_t pid, int signal) {
    ptrace(PTRACE_CONT, pid, nullptr, reinterpret_cast<void*>(static_cast<long>(signal)));
  }

  // A new process or thread at its first stop (or an interrupt).
  void Born(pid_t pid) {
    auto found = procs_.find(pid);
    if (found == procs_.end() || !found->second.run) {
      // Its parent's fork event has not been seen yet: the kernel names
      // its thread group and parent, whose image it runs.
      std::shared_ptr<TrackedRun> run = RunOfCreator(pid);
      Proc& proc = procs_[pid];
      if (!run) {
        proc.waiting_for_parent = true;  // runs once the fork event names it
        return;
      }
      proc.run = std::move(run);
    }
    Continue(pid, 0);
  }

  // The run of the process (or thread group) that created `pid`, from
  // /proc/PID/status; null when neither is a process of the session.
  std::shared_ptr<TrackedRun> RunOfCreator(pid_t pid) const {
    std::string status;
    if (!ReadWholeFile("/proc/" + std::to_string(pid) + "/status", status, 1 << 16)) {
      return nullptr;
    }
    auto field = [&](const char* name) -> pid_t {
      const std::size_t at = status.find(std::string("\n") + name + ":\t");
      return at == std::string::npos ? 0 : static_cast<pid_t>(std::atol(status.c_str() + at + std::strlen(name) + 3));
    };
    for (const pid_t creator : {field("Tgid"), field("PPid")}) {
      if (creator == pid || creator <= 0) {
        continue;
      }
      if (auto found = procs_.find(creator); found != procs_.end() && found->second.run) {
        return found->second.run;
      }
    }
    return nullptr;
  }

  void Forked(pid_t pid) {
    unsigned long message = 0;
    ptrace(PTRACE_GETEVENTMSG, pid, nullptr, &message);
    const auto child = static_cast<pid_t>(message);
    // The parent's run, copied before the insertion below may rehash the map.
    std::shared_ptr<TrackedRun> run = root_run_;
    if (auto parent = procs_.find(pid); parent != procs_.end() && parent->second.run) {
      run = parent->second.run;
    }
    if (child > 0) {
      auto existing = procs_.find(child);
      if (existing == procs_.end()) {
        // Unless the child already ran and ended before this event.
        if (kill(child, 0) == 0 || errno != ESRCH) {
          procs_[child].run = std::move(run);
        }
      } else {
        Proc& proc = existing->second;
        // Under load the child can reach its first stop, and even its own
        // exec, before its parent's fork event is read: the run it has by
        // then (its creator's, or the image it executed) stands.
        if (!proc.run) {
          proc.run = std::move(run);
        }
        if (proc.waiting_for_parent) {
          proc.waiting_for_parent = false;
          Continue(child, 0);
        }
      }
    }
    Continue(pid, 0);
  }

  void Exited(pid_t pid, int status, const struct rusage& usage) {
    auto found = procs_.find(pid);
    if (found != procs_.end()) {
      Proc& proc = found->second;
      if (proc.pending && !proc.pending->root) {
        EndRun(*proc.pending->run,
               [&](lineage::End& end) { end.exec_error = "the process ended before the authorized exec completed"; });
      }
      if (proc.run && proc.run->leader == pid && !proc.run->ended) {
        EndRun(*proc.run, [&](lineage::End& end) {
          end.duration_ns = exec::MonotonicNs() - proc.run->started_ns;
          end.exited = WIFEXITED(status);
          end.exit_status = WIFEXITED(status) ? WEXITSTATUS(status) : 0;
          end.signal = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
          end.killed_by = proc.run->killed_by;
          end.user_cpu_us = static_cast<std::int64_t>(usage.ru_utime.tv_sec) * 1000000 + usage.ru_utime.tv_usec;
          end.system_cpu_us = static_cast<std::int64_t>(usage.ru_stime.tv_sec) * 1000000 + usage.ru_stime.tv_usec;
          end.max_rss_kib = usage.ru_maxrss;
        });
      }
      procs_.erase(found);
    }
    if (pid == root_pid_) {
      if (!root_started_) {
        // The root never executed: its own report says why.
        auto went = root_child_.FinishGo();
        root_failure_ =
            went.ok() ? Failure{exec::kExitInternal, "the session's program ended before it started"} : went.failure();
        return;
      }
      root_done_ = true;
      result_.root.usage = usage;
      result_.root.duration_ns = exec::MonotonicNs() - root_run_->started_ns;
      result_.root.exited = WIFEXITED(status);
      result_.root.exit_status = WIFEXITED(status) ? WEXITSTATUS(status) : 0;
      result_.root.signal = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
      if (result_.root.killed_by.empty()) {
        result_.root.killed_by = root_killed_by_;
      }
    }
  }

  // ------------------------------------------------------ exec: entry --
  void ExecEntry(pid_t pid) {
    CheckScripts();  // a script changed before this call stops its run first
    user_regs_struct regs{};
    __ptrace_syscall_info info{};
    if (ptrace(PTRACE_GETREGS, pid, nullptr, &regs) != 0 ||
        ptrace(PTRACE_GET_SYSCALL_INFO, pid, reinterpret_cast<void*>(sizeof info), &info) <= 0) {
      return;  // gone (killed meanwhile)
    }
    Caller caller{&regs, 0};
    const long number = static_cast<long>(regs.orig_rax);
    const bool native = info.op == PTRACE_SYSCALL_INFO_SECCOMP && info.arch == AUDIT_ARCH_X86_64;
    const bool exec_call = native && (number == SYS_execve || number == SYS_execveat);
    if (native && info.seccomp.ret_data == exec::kSessionMemoryTraceData &&
        (number == SYS_mmap || number == SYS_mprotect || number == SYS_pkey_mprotect)) {
      MemoryEntry(pid, regs, number);
      return;
    }
    if (!exec_call) {
      // A SECCOMP_RET_TRACE of a filter the process installed itself (the
      // session's own traces native exec calls only): as without a tracer,
      // the call fails with ENOSYS.
      Refuse(pid, caller, ENOSYS);
      return;
    }
    auto found = procs_.find(pid);
    if (found == procs_.end() || !found->second.run) {
      Refuse(pid, caller, EACCES);
      return;
    }
    Proc& proc = found->second;
    if (info.seccomp.ret_data != exec::kSessionTraceData) {
      // A native exec whose trace another filter of the process answered
      // first: governed all the same, it is denied.
      Deny(pid, caller, *proc.run, "", "an exec traced by another seccomp filter of the process", EACCES);
      return;
    }
    if (proc.pending && proc.pending->root && !root_started_) {
      // The root's own exec, authorized by govrun: checked when it happened.
      ptrace(PTRACE_SYSCALL, pid, nullptr, nullptr);
      return;
    }
    proc.pending.reset();
    ExecCall call;
    call.at = number == SYS_execveat;
    std::uint64_t path_address = regs.rdi;
    std::uint64_t argv_address = regs.rsi;
    std::uint64_t envp_address = regs.rdx;
    if (call.at) {
      call.dirfd = static_cast<int>(regs.rdi);
      path_address = regs.rsi;
      argv_address = regs.rdx;
      envp_address = regs.r10;
      call.flags = static_cast<int>(regs.r8);
    }
    const bool read_ok = ReadCall(pid, path_address, argv_address, envp_address, call);
    if (!read_ok) {
      // Unreadable or beyond what the supervisor reads: the kernel would
      // fault or refuse most of these too; nothing unread runs.
      Deny(pid, caller, *proc.run, "", "its path, arguments or environment could not be read (or exceed 4 MiB)", E2BIG);
      return;
    }
    Decide(pid, caller, proc, call);
  }

  // The path, argv and environment of an exec call from the caller's memory
  // (at most kMaxExecBytes); false when any of it cannot be read.
  bool ReadCall(pid_t pid, std::uint64_t path_address, std::uint64_t argv_address, std::uint64_t envp_address,
                ExecCall& call) {
    std::size_t budget = kMaxExecBytes;
    const std::int64_t read_start = exec::MonotonicNs();
    call.intercepted_ns = read_start;
    TraceeMemory memory(pid);
    const bool read_ok = memory.ReadString(path_address, budget, call.path) &&
                         memory.ReadStringArray(argv_address, budget, call.argv) &&
                         memory.ReadStringArray(envp_address, budget, call.envp);
    result_.costs.read_ns += exec::MonotonicNs() - read_start;
    return read_ok;
  }

  void Refuse(pid_t pid, const Caller& caller, int error) {
    if (caller.regs == nullptr) {
      Answer(caller.notification, error);
      return;
    }
    user_regs_struct& regs = *caller.regs;
    regs.orig_rax = static_cast<unsigned long long>(-1);
    regs.rax = static_cast<unsigned long long>(-static_cast<long long>(error));
    ptrace(PTRACE_SETREGS, pid, nullptr, &regs);
    Continue(pid, 0);
  }

  // The kernel mechanism's answer to a notification: the call fails with
  // `error`, or (0) proceeds into the kernel's exec.
  void Answer(std::uint64_t notification, int error) {
    seccomp_notif_resp response{};
    response.id = notification;
    if (error != 0) {
      response.error = -error;
    } else {
      response.flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
    }
    // ENOENT: the caller is gone (killed meanwhile); nothing to answer.
    while (ioctl(options_.kernel->listener, SECCOMP_IOCTL_NOTIF_SEND, &response) != 0 && errno == EINTR) {
    }
  }

  // One line on the session's stderr, never blocking the supervisor (a
  // full pipe must not stall the decisions and timeouts of the session):
  // at most PIPE_BUF bytes, written only when that much fits, else dropped.
  void Notice(const std::string& text) {
    std::string line = "govrun: " + text;
    if (line.size() > 4000) {
      line.resize(4000);
      line += "…";
    }
    line += "\n";
    pollfd ready{options_.notice_fd, POLLOUT, 0};
    if (poll(&ready, 1, 0) != 1 || (ready.revents & POLLOUT) == 0) {
      return;
    }
    while (write(options_.notice_fd, line.data(), line.size()) < 0 && errno == EINTR) {
    }
  }

  // A denial that no authorization record could describe (the call could
  // not be read): a notice only.
  void Deny(pid_t pid, const Caller& caller, const TrackedRun& parent, const std::string& path, const std::string& why,
            int error) {
    ++result_.denied;
    Notice("deny (" + EscapeForDisplay(why) + "): an exec by run " + parent.id.substr(0, 8) +
           (path.empty() ? "" : " of " + EscapeForDisplay(path)) + " was not run");
    Refuse(pid, caller, error);
  }

  // The file the call names, as the calling process sees it: relative
  // paths against its current directory or its descriptor, /proc/self
  // against its own /proc entry. (A symbolic link elsewhere into
  // /proc/self leads to the supervisor's entry instead: the post-exec check
  // then finds another file executed and kills the process.)
  std::string FileForCall(pid_t pid, const ExecCall& call, std::string& invoked) const {
    const std::string proc_dir = "/proc/" + std::to_string(pid);
    std::string path = call.path;
    if (call.at && path.empty() && (call.flags & AT_EMPTY_PATH) != 0) {
      invoked = "/dev/fd/" + std::to_string(call.dirfd);
      return proc_dir + "/fd/" + std::to_string(call.dirfd);
    }
    std::string base;
    if (!path.empty() && path[0] != '/') {
      if (call.at && call.dirfd != AT_FDCWD) {
        invoked = "/dev/fd/" + std::to_string(call.dirfd) + "/" + path;
        return proc_dir + "/fd/" + std::to_string(call.dirfd) + "/" + path;
      }
      base = ReadLink(proc_dir + "/cwd");
      path = base + "/" + path;
    }
    invoked = paths::Normalize(path);
    for (const auto& [prefix, replacement] : {std::pair<std::string, std::string>{"/proc/self/", proc_dir + "/"},
                                              {"/proc/thread-self/", proc_dir + "/task/" + std::to_string(pid) + "/"},
                                              {"/dev/fd/", proc_dir + "/fd/"},
                                              {"/dev/stdin", proc_dir + "/fd/0"}}) {
      if (invoked.compare(0, prefix.size(), prefix) == 0) {
        return replacement + invoked.substr(prefix.size());
      }
    }
    return invoked;
  }

  void Decide(pid_t pid, const Caller& caller, Proc& proc, const ExecCall& call) {
    const TrackedRun& parent = *proc.run;
    const request::Request& root = *options_.root_request;
    request::Request request;
    request.context = root.context;
    request.user_name = root.user_name;
    request.uid = root.uid;
    request.gid = root.gid;
    request.groups = root.groups;
    request.host = root.host;
    request.time_unix = static_cast<std::int64_t>(std::time(nullptr));
    request.cwd = ReadLink("/proc/" + std::to_string(pid) + "/cwd");
    request.has_parent = true;
    request.parent_run_id = parent.id;
    request.parent_depth = parent.depth;
    request.parent_program = parent.program;
    for (const std::string& entry : call.envp) {
      const std::size_t equal = entry.find('=');
      if (equal == std::string::npos) {
        request.env.emplace_back(entry, "");
      } else {
        request.env.emplace_back(entry.substr(0, equal), entry.substr(equal + 1));
      }
    }
    if (call.argv.empty()) {
      Deny(pid, caller, parent, call.path, "an exec with an empty argv", EINVAL);
      return;
    }
    for (const TrackedRun* run = &parent; run != nullptr; run = run->parent.get()) {
      if (run->killed_by == "drift") {
        Deny(pid, caller, parent, call.path,
             "its run was stopped (drift: a script it runs changed, or code written in the session was mapped)",
             EACCES);
        return;
      }
    }
    std::string invoked;
    const std::string file = FileForCall(pid, call, invoked);
    std::int64_t mark = exec::MonotonicNs();
    auto resolved = exec::ResolveProgram(file, "", true, &digests_);
    result_.costs.resolve_hash_ns += exec::MonotonicNs() - mark;
    if (!resolved.ok()) {
      if (resolved.failure().exit_code == exec::kExitNotFound) {
        Refuse(pid, caller, ENOENT);  // as the kernel would answer (a PATH search tries on)
        return;
      }
      // Not executable, unreadable, changed: nothing runs.
      Deny(pid, caller, parent, invoked, resolved.failure().message, EACCES);
      return;
    }
    exec::Program& program = resolved.value();
    if (exec::IsDynamicLoader(program.file) || (program.is_script && exec::IsDynamicLoader(program.interpreter))) {
      // `ld.so PROGRAM` (or a script whose interpreter is the loader): the
      // loader maps and runs a program no exec names, so the policy could
      // not see it. Run programs directly.
      Deny(pid, caller, parent, program.file.path,
           "the dynamic loader as a program (the program it would load is never decided)", EACCES);
      return;
    }
    exec::FillProgramFields(program, call.argv[0], request);
    request.invoked_path = invoked;
    request.program_written_in_session = exec::ChangedSince(program, options_.started);
    request.args.assign(call.argv.begin() + 1, call.argv.end());

    mark = exec::MonotonicNs();
    const bundle::LoadedPolicy& policy = *options_.policy;
    gov_decision decision{};
    {
      const request::RequestView view(request);
      policy.Decide(view.get(), decision);
    }
    auto decided_rules = policy.RulesOf(decision);
    if (!decided_rules.ok()) {
      Deny(pid, caller, parent, request.program_path, "the policy bundle: " + decided_rules.error().message, EACCES);
      return;
    }
    const interp::RuleLookup rules = decided_rules.value().lookup();
    interp::DenyUnknownRules(rules, decision);
    const interp::Explanation explanation = interp::Explain(rules, decision);
    const ir::Obligations obligations = interp::MergeObligations(rules, decision);

    auto run = std::make_shared<TrackedRun>();
    run->id = lineage::NewRunId();
    run->program = request.program_path;
    run->depth = parent.depth + 1;
    run->intercepted_ns = call.intercepted_ns;
    run->decision_ns = call.intercepted_ns > 0 ? exec::MonotonicNs() - call.intercepted_ns : 0;
    run->parent = proc.run;
    run->number = next_run_number_++;
    lineage::Authorization record = NewAuthorization(run->id, parent.id, policy, rules, decision, obligations, program);

    std::string refusal;  // why an allowed exec still does not run
    bool execute = decision.verdict == GOV_ALLOW && decision.error == GOV_OK;
    if (decision.verdict == GOV_ASK && decision.error == GOV_OK) {
      if (options_.ask_tty >= 0) {
        // A terminal the session does not use (OpenApprovalTerminal).
        record.ask_answer = AskOnTerminal(
            options_.ask_tty, ApprovalQuestion(explanation, request, call.argv, obligations, options_.ask_timeout_ms),
            options_.ask_timeout_ms);
        execute = record.ask_answer == "yes";
        if (!execute) {
          refusal = "ask: answered " + record.ask_answer + " on the approval terminal";
        }
      } else if (options_.ask_via_service) {
        // The lineage service's approvers, whom the governed tree cannot
        // impersonate (govd refuses an answer from the asker's own uid).
        auto approval = options_.recorder->AskApprovers(
            run->id, ApprovalQuestionJson(explanation, request, call.argv, obligations, options_.ask_timeout_ms),
            options_.ask_timeout_ms);
        if (approval.ok()) {
          record.ask_answer = approval.value().answer;
          record.approval = approval.value();
          execute = record.ask_answer == "yes";
          if (!execute) refusal = "ask: answered " + record.ask_answer + " by the approvers";
        } else {
          record.ask_answer = "no";
          refusal = "ask: cannot put it to approvers: " + approval.error().message;
        }
      } else {
        // The session's terminal belongs to the governed tree (an agent
        // holding it could answer): no approval channel here.
        record.ask_answer = "no-terminal";
        refusal = "ask: no approval channel outside the session (see --ask-terminal)";
      }
    }
    if (execute) {
      refusal = UnenforceableInSession(obligations, options_.root_obligations, request.env);
      execute = refusal.empty();
    }
    if (const std::string drift = Drift(); !drift.empty()) {
      execute = false;
      refusal = drift;
    }
    record.execute = execute;
    record.request = std::move(request);
    const request::Request& decided = record.request;
    result_.costs.decide_ns += exec::MonotonicNs() - mark;
    mark = exec::MonotonicNs();
    // Durable before the program's first instruction, not before the exec:
    // the kernel builds the new image while the log is synced. ptrace: the
    // exec event waits for the syncing thread (Executed). Kernel mechanism:
    // the batch's sync runs in this thread (a hand-off to the syncing thread
    // costs two context switches per exec) and the image waits at its exec
    // stop (ReleaseBatch, ExecHolds); a denial's record need not be synced.
    ErrorOr<std::uint64_t> recorded = std::uint64_t{0};
    if (caller.regs == nullptr && execute) {
      // Made durable with the others of its batch (KernelLoop).
      if (auto appended = options_.recorder->AppendAuthorizationOnly(record); !appended.ok()) {
        recorded = appended.error();
      }
      result_.costs.record_ns += exec::MonotonicNs() - mark;
    } else {
      recorded = options_.recorder->RecordAuthorizationDeferred(record);
      result_.costs.record_ns += exec::MonotonicNs() - mark;
    }
    if (!recorded.ok()) {
      result_.lineage_error = recorded.error().message;
      Deny(pid, caller, parent, decided.program_path, "cannot record the authorization: " + recorded.error().message,
           EACCES);
      return;
    }
    MaybeCheckpoint();
    if (!execute) {
      ++result_.denied;
      std::string line = explanation.summary;
      if (!refusal.empty()) {
        line += "; " + refusal;
      }
      Notice(EscapeForDisplay(line) + ": " + EscapeForDisplay(decided.program_path) + " was not run");
      Refuse(pid, caller, EACCES);
      return;
    }
    if (obligations.timeout_ms > 0) {
      run->term_deadline_ns = -obligations.timeout_ms;  // armed at start
    }
    PendingExec pending;
    pending.run = run;
    pending.durable_ticket = recorded.value();
    pending.file = program.is_script ? program.interpreter.st : program.file.st;
    if (program.is_script) {
      pending.script_path = program.file.path;
      pending.script = program.file.st;
    }
    if (program.is_script) {
      // As binfmt_script builds it: interpreter, its argument, the name
      // the script was executed by, then argv[1..].
      pending.argv.push_back(program.interpreter_argv0);
      if (program.has_interpreter_arg) {
        pending.argv.push_back(program.interpreter_arg);
      }
      pending.argv.push_back(call.at && !call.path.empty() && call.path[0] != '/'
                                 ? "/dev/fd/" + std::to_string(call.dirfd) + "/" + call.path
                             : call.at && call.path.empty() ? "/dev/fd/" + std::to_string(call.dirfd)
                                                            : call.path);
      pending.argv.insert(pending.argv.end(), call.argv.begin() + 1, call.argv.end());
    } else {
      pending.argv = call.argv;
    }
    pending.envp = call.envp;
    if (caller.regs == nullptr) {
      ProceedInKernel(pid, caller, proc, std::move(pending));
      return;
    }
    proc.pending = std::move(pending);
    // Resume to the call's exit: an exec that fails returns there.
    ptrace(PTRACE_SYSCALL, pid, nullptr, nullptr);
  }

  struct Batched;  // an allowed exec waiting for the sync of its batch

  // The kernel mechanism holds an allowed exec until its authorization is
  // durable: the execs decided in one batch (KernelLoop) share one sync.
  void ProceedInKernel(pid_t pid, const Caller& caller, Proc& /*proc*/, PendingExec pending) {
    batch_.push_back({pid, caller.notification, std::move(pending)});
  }

  // Lets the batch's execs proceed once their authorizations are durable.
  // Each is bound first (its script watched, the kernel told what its new
  // image must be); an exec that ExecHolds can hold at its exec stop
  // proceeds before the sync, so the kernel builds the new image while the
  // log is synced, and the image waits at the stop only for what the exec
  // did not hide; the others proceed after it. A failed sync kills the
  // held images before their first instruction and refuses the others.
  void ReleaseBatch() {
    if (batch_.empty()) {
      return;
    }
    std::vector<Batched> batch = std::move(batch_);
    batch_.clear();
    std::vector<Batched*> after_sync;
    std::vector<std::shared_ptr<TrackedRun>> held;
    for (Batched& waiting : batch) {
      TrackedRun& run = *waiting.pending.run;
      if (procs_.find(waiting.pid) == procs_.end()) {
        EndRun(run,
               [&](lineage::End& end) { end.exec_error = "the process ended before the authorized exec completed"; });
        continue;
      }
      std::string refusal;
      if (!waiting.pending.script_path.empty()) {
        refusal = WatchScript(waiting.pending.run, waiting.pending.script_path, waiting.pending.script);
      }
      if (refusal.empty()) {
        if (auto bound = options_.kernel->binding->Authorize(waiting.pid, run.number, waiting.pending.file,
                                                             waiting.pending.argv, waiting.pending.envp);
            !bound.ok()) {
          refusal = bound.error().message;
        }
      }
      if (!refusal.empty()) {
        RefuseBatched(waiting, refusal);
        continue;
      }
      // govrun reaps the root itself (wait4): it is never held. The pid
      // must still name the caller (its notification pending) when seized.
      if (waiting.pid != root_pid_ && NotificationPending(waiting.notification) && holds_.Hold(waiting.pid)) {
        held.push_back(waiting.pending.run);
        Proceed(waiting);
      } else {
        after_sync.push_back(&waiting);
      }
    }
    const std::int64_t mark = exec::MonotonicNs();
    auto durable = options_.recorder->MakeDurableNow();
    const std::int64_t synced = exec::MonotonicNs();
    if (!durable.ok()) {
      result_.lineage_error = durable.error().message;
      for (const std::shared_ptr<TrackedRun>& run : held) {
        ++result_.denied;
        run->killed_by = "lineage";  // its end record says why
        Notice("cannot make its authorization durable: " + EscapeForDisplay(durable.error().message) + ": " +
               EscapeForDisplay(run->program) + " was killed before it started");
      }
    }
    holds_.Release(durable.ok());
    holds_.Poll();
    for (const std::shared_ptr<TrackedRun>& run : held) {
      run->durable_ns = synced;
    }
    if (!after_sync.empty()) {
      result_.costs.durable_wait_ns += synced - mark;
    }
    for (Batched* waiting : after_sync) {  // procs_ is as above: no event was read since
      if (!durable.ok()) {
        RefuseBatched(*waiting, "cannot make its authorization durable: " + durable.error().message);
      } else {
        Proceed(*waiting);
      }
    }
  }

  // True while the caller of notification `id` still waits for its answer.
  bool NotificationPending(std::uint64_t id) const {
    return ioctl(options_.kernel->listener, SECCOMP_IOCTL_NOTIF_ID_VALID, &id) == 0;
  }

  // A bound exec of the batch goes on into the kernel.
  void Proceed(Batched& waiting) {
    runs_by_number_[waiting.pending.run->number] = waiting.pending.run;
    waiting.pending.run->released_ns = exec::MonotonicNs();
    procs_[waiting.pid].pending = std::move(waiting.pending);
    Answer(waiting.notification, 0);
  }

  // An exec of the batch that cannot be let proceed after all.
  void RefuseBatched(Batched& waiting, const std::string& refusal) {
    TrackedRun& run = *waiting.pending.run;
    options_.kernel->binding->Revoke(waiting.pid);
    ++result_.denied;
    EndRun(run, [&](lineage::End& end) { end.exec_error = "not run: " + refusal; });
    Notice(EscapeForDisplay(refusal) + ": " + EscapeForDisplay(run.program) + " was not run");
    Refuse(waiting.pid, Caller{nullptr, waiting.notification}, EACCES);
  }

  // ------------------------------------------------- kernel mechanism --
  // An exec call waiting for its answer (seccomp user notification).
  void Notified() {
    if (notification_.empty()) {
      seccomp_notif_sizes sizes{};
      if (syscall(SYS_seccomp, SECCOMP_GET_NOTIF_SIZES, 0, &sizes) != 0) {
        sizes.seccomp_notif = sizeof(seccomp_notif);
      }
      notification_.resize(std::max<std::size_t>(sizes.seccomp_notif, sizeof(seccomp_notif)));
    }
    std::fill(notification_.begin(), notification_.end(), 0);
    auto* notification = reinterpret_cast<seccomp_notif*>(notification_.data());
    if (ioctl(options_.kernel->listener, SECCOMP_IOCTL_NOTIF_RECV, notification) != 0) {
      return;  // the caller went away (ENOENT) or a signal: the next poll says
    }
    DrainEvents();   // the kernel reported the caller's birth before it could run
    CheckScripts();  // a script changed before this call stops its run first
    const auto pid = static_cast<pid_t>(notification->pid);
    const Caller caller{nullptr, notification->id};
    const seccomp_data& data = notification->data;
    const bool exec_call = data.arch == AUDIT_ARCH_X86_64 && (data.nr == SYS_execve || data.nr == SYS_execveat);
    if (!exec_call) {
      Refuse(pid, caller, ENOSYS);  // the session's filter notifies native exec calls only
      return;
    }
    auto found = procs_.find(pid);
    if (found == procs_.end() || !found->second.run) {
      // Its birth was not reported (the ring buffer was full): its parent
      // run is not known, so nothing it asks for runs.
      std::shared_ptr<TrackedRun> creator = RunOfCreator(pid);
      if (!creator) {
        ++result_.denied;
        Notice("deny (a process the session has no record of): an exec by pid " + std::to_string(pid) + " was not run");
        Refuse(pid, caller, EACCES);
        return;
      }
      procs_[pid].run = std::move(creator);
      found = procs_.find(pid);
    }
    Proc& proc = found->second;
    if (proc.pending && proc.pending->root && !root_started_) {
      // The root's own exec, authorized by govrun.
      const PendingExec& root = *proc.pending;
      if (auto bound = options_.kernel->binding->Authorize(pid, kRootRunNumber, root.file, root.argv, root.envp);
          !bound.ok()) {
        Notice("the session's program was not run: " + bound.error().message);
        Refuse(pid, caller, EACCES);
        return;
      }
      Answer(caller.notification, 0);
      return;
    }
    if (proc.pending && !proc.pending->root) {
      // This thread's previous authorized exec never reached the kernel's
      // point of no return (it failed: ENOENT, ENOEXEC, E2BIG, …).
      EndRun(*proc.pending->run, [&](lineage::End& end) { end.exec_error = "execve failed in the kernel"; });
    }
    proc.pending.reset();
    ExecCall call;
    call.at = data.nr == SYS_execveat;
    std::uint64_t path_address = data.args[0];
    std::uint64_t argv_address = data.args[1];
    std::uint64_t envp_address = data.args[2];
    if (call.at) {
      call.dirfd = static_cast<int>(data.args[0]);
      path_address = data.args[1];
      argv_address = data.args[2];
      envp_address = data.args[3];
      call.flags = static_cast<int>(data.args[4]);
    }
    const bool read_ok = ReadCall(pid, path_address, argv_address, envp_address, call);
    // The pid still names the caller (not a process that reused it).
    if (!NotificationPending(notification->id)) {
      return;
    }
    if (!read_ok) {
      Deny(pid, caller, *proc.run, "", "its path, arguments or environment could not be read (or exceed 4 MiB)", E2BIG);
      return;
    }
    Decide(pid, caller, proc, call);
  }

  void DrainEvents() {
    options_.kernel->binding->Drain([this](const gov_session_event& event) { OnKernelEvent(event); });
  }

  std::shared_ptr<TrackedRun> RunNumbered(std::uint64_t number) const {
    const auto found = runs_by_number_.find(number);
    return found == runs_by_number_.end() ? nullptr : found->second;
  }

  void OnKernelEvent(const gov_session_event& event) {
    const auto pid = static_cast<pid_t>(event.pid);
    switch (event.type) {
      case GOV_SESSION_FORK: {
        std::shared_ptr<TrackedRun> run = RunNumbered(event.run);
        Proc& proc = procs_[pid];
        if (!proc.run) {
          proc.run = run ? std::move(run) : root_run_;
        }
        return;
      }
      case GOV_SESSION_EXEC:
      case GOV_SESSION_KILL:
        KernelExecuted(event);
        return;
      case GOV_SESSION_EXIT:
        KernelExited(event);
        return;
      case GOV_SESSION_EXEC_MEMORY:
        ExecutableMemoryWritten(event);
        return;
      default:
        return;
    }
  }

  static std::string KillReason(std::uint32_t reason) {
    switch (reason) {
      case GOV_SESSION_NO_AUTHORIZATION:
        return "no authorization for this exec";
      case GOV_SESSION_OTHER_FILE:
        return "another file, or the file changed after it was hashed";
      case GOV_SESSION_WRITERS:
        return "the file is open for writing";
      case GOV_SESSION_COUNTS:
      case GOV_SESSION_LENGTH:
      case GOV_SESSION_HASH:
        return "its arguments or environment differ from the authorized ones";
      default:
        return "its arguments or environment could not be read";
    }
  }

  // The kernel bound an authorized image (it runs), or killed an image
  // before its first instruction.
  void KernelExecuted(const gov_session_event& event) {
    const auto pid = static_cast<pid_t>(event.pid);
    const auto former = static_cast<pid_t>(event.other);
    const bool killed = event.type == GOV_SESSION_KILL;
    std::optional<PendingExec> pending;
    std::shared_ptr<TrackedRun> previous;
    Proc& proc = TakeExecuted(pid, former, pending, previous);
    if (!previous) {
      previous = proc.run;
    }
    if (!pending || pending->run->number != event.run) {
      if (killed) {
        ++result_.mismatches;
        Notice("an exec that was not authorized was stopped (pid " + std::to_string(pid) + ": " +
               KillReason(event.detail) + ")");
      }
      return;
    }
    TrackedRun& run = *pending->run;
    if (pending->root && !RootExecuted(pid)) {
      return;
    }
    EndReplaced(previous, run, pid);
    run.leader = pid;
    proc.run = pending->run;
    if (killed) {
      ++result_.mismatches;
      run.killed_by = "exec-mismatch";
      if (pending->root) {
        root_killed_by_ = "exec-mismatch";
      }
      Notice("the executed image is not the one authorized (" + KillReason(event.detail) + "); run " +
             run.id.substr(0, 8) + " was killed before it started");
      return;
    }
    if (pending->root) {
      return;
    }
    // When the kernel bound it, on govrun's clocks.
    const std::int64_t bound_ns = static_cast<std::int64_t>(event.time_ns);
    const std::int64_t age_ns = std::max<std::int64_t>(exec::MonotonicNs() - bound_ns, 0);
    run.started_ns = bound_ns;
    if (run.durable_ns > bound_ns) {
      result_.costs.durable_wait_ns += run.durable_ns - bound_ns;  // it waited at its exec stop
    }
    if (run.term_deadline_ns < 0) {
      run.term_deadline_ns = run.started_ns - run.term_deadline_ns * 1000000;
    }
    // An image held for a sync that failed was bound, then killed at its
    // exec stop: counted as denied (ReleaseBatch), not as a run.
    if (RecordChildStart(run, pid, exec::RealtimeNs() - age_ns) && run.killed_by != "lineage") {
      ++result_.runs;
    }
  }

  // A task of the session ended; the last of a process ends its run.
  void KernelExited(const gov_session_event& event) {
    const auto pid = static_cast<pid_t>(event.pid);
    const auto tgid = static_cast<pid_t>(event.tgid);
    if (pid == root_pid_) {
      return;  // the root's leader: govrun reaps it and ends its run (Exited)
    }
    if (auto found = procs_.find(pid); found != procs_.end()) {
      if (found->second.pending && !found->second.pending->root) {
        EndRun(*found->second.pending->run,
               [&](lineage::End& end) { end.exec_error = "the process ended before the authorized exec completed"; });
      }
      procs_.erase(found);
    }
    if ((event.detail & GOV_SESSION_GROUP_DEAD) == 0 || tgid == root_pid_) {
      return;  // a thread; or the root, which govrun reaps itself
    }
    procs_.erase(tgid);
    const std::shared_ptr<TrackedRun> run = RunNumbered(event.run);
    if (!run || run->leader != tgid || run->ended) {
      return;
    }
    const int status = event.status;
    EndRun(*run, [&](lineage::End& end) {
      end.duration_ns = std::max<std::int64_t>(static_cast<std::int64_t>(event.time_ns) - run->started_ns, 0);
      end.exited = WIFEXITED(status);
      end.exit_status = WIFEXITED(status) ? WEXITSTATUS(status) : 0;
      end.signal = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
      end.killed_by = run->killed_by;
      end.user_cpu_us = static_cast<std::int64_t>(event.user_ns / 1000);
      end.system_cpu_us = static_cast<std::int64_t>(event.system_ns / 1000);
      end.max_rss_kib = static_cast<std::int64_t>(event.max_rss_kib);
    });
  }

  // A process mapped a file written in the session executable: the kernel
  // killed it before the call returned; its run (and every run it started)
  // is stopped as for a changed script (drift), and with it the session when
  // the configuration says so.
  void ExecutableMemoryWritten(const gov_session_event& event) {
    std::shared_ptr<TrackedRun> run = RunNumbered(event.run);
    ExecutableMemoryDrift(static_cast<pid_t>(event.tgid), run ? run : root_run_,
                          static_cast<unsigned>(event.file_dev >> 20), static_cast<unsigned>(event.file_dev & 0xfffff),
                          event.file_ino);
  }

  // The ptrace mechanism's executable memory: a native mmap of a file, or
  // an mprotect/pkey_mprotect, asking for PROT_EXEC stops here at its entry.
  // When the file that would back the memory changed at or after the
  // session's start and still has a name (as for program.written_in_session
  // and the kernel mechanism), the process is killed before the call runs.
  void MemoryEntry(pid_t pid, const user_regs_struct& regs, long number) {
    const std::optional<struct stat> written = number == SYS_mmap
                                                   ? WrittenFileOfDescriptor(pid, static_cast<int>(regs.r8))
                                                   : WrittenFileInRange(pid, regs.rdi, regs.rsi);
    if (!written) {
      Continue(pid, 0);
      return;
    }
    kill(pid, SIGKILL);  // stopped at the call's entry: it never runs
    auto found = procs_.find(pid);
    ExecutableMemoryDrift(pid, found != procs_.end() && found->second.run ? found->second.run : root_run_,
                          major(written->st_dev), minor(written->st_dev), written->st_ino);
  }

  // The file open as `fd` in process `pid` when it is a named regular file
  // written in the session (a memfd, an O_TMPFILE or a removed file count
  // as generated code, as in the kernel mechanism).
  std::optional<struct stat> WrittenFileOfDescriptor(pid_t pid, int fd) const {
    const std::string link = "/proc/" + std::to_string(pid) + "/fd/" + std::to_string(fd);
    struct stat st {};
    if (fd < 0 || stat(link.c_str(), &st) != 0 || !S_ISREG(st.st_mode) || st.st_nlink == 0) return std::nullopt;
    const std::string target = ReadLink(link);
    if (target.empty() || target[0] != '/' || target.ends_with(" (deleted)")) return std::nullopt;
    return WrittenSinceStart(st) ? std::optional<struct stat>(st) : std::nullopt;
  }

  // The first named file written in the session that backs a mapping of
  // [address, address + length) in process `pid` (/proc/PID/maps: the
  // path must still name the mapped inode).
  std::optional<struct stat> WrittenFileInRange(pid_t pid, std::uint64_t address, std::uint64_t length) const {
    std::string maps;
    if (!ReadWholeFile("/proc/" + std::to_string(pid) + "/maps", maps, 64u << 20)) return std::nullopt;
    const std::uint64_t end = address + length < address ? UINT64_MAX : address + length;
    std::size_t at = 0;
    while (at < maps.size()) {
      std::size_t eol = maps.find('\n', at);
      if (eol == std::string::npos) eol = maps.size();
      const std::string line = maps.substr(at, eol - at);
      at = eol + 1;
      unsigned long long from = 0, to = 0, inode = 0;
      unsigned dev_major = 0, dev_minor = 0;
      int path_at = 0;
      if (std::sscanf(line.c_str(), "%llx-%llx %*s %*s %x:%x %llu %n", &from, &to, &dev_major, &dev_minor, &inode,
                      &path_at) < 5 ||
          to <= address || from >= end || inode == 0 || path_at <= 0) {
        continue;
      }
      const std::string path = line.substr(static_cast<std::size_t>(path_at));
      struct stat st {};
      if (path.empty() || path[0] != '/' || stat(path.c_str(), &st) != 0 || st.st_ino != inode ||
          major(st.st_dev) != dev_major || minor(st.st_dev) != dev_minor || !S_ISREG(st.st_mode)) {
        continue;  // no name left for that inode: generated code, as a memfd
      }
      if (WrittenSinceStart(st)) return st;
    }
    return std::nullopt;
  }

  bool WrittenSinceStart(const struct stat& st) const { return exec::ChangedSince(st, options_.started); }

  // Executable memory from a file written in the session (either
  // mechanism): the process was killed before it had it; its run and every
  // run it started stop (drift), and the session too when so configured.
  void ExecutableMemoryDrift(pid_t pid, const std::shared_ptr<TrackedRun>& run, unsigned dev_major, unsigned dev_minor,
                             std::uint64_t inode) {
    Notice("drift: process " + std::to_string(pid) + " of run " + run->id.substr(0, 8) +
           " mapped executable memory from a file written in the session (device " + std::to_string(dev_major) + ":" +
           std::to_string(dev_minor) + ", inode " + std::to_string(inode) + "); the run was stopped");
    if (run->killed_by.empty() || run->killed_by != "drift") {
      run->killed_by = "drift";
      if (run == root_run_) {
        root_killed_by_ = "drift";
      }
    }
    SignalRunTree(*run, SIGKILL);
    StopSessionOnDrift();
  }

  // govrun's children in this mechanism: the root and the namespace's init.
  void ReapKernelChildren() {
    int status = 0;
    struct rusage usage {};
    if (!root_done_ && !root_failure_ && wait4(root_pid_, &status, WNOHANG, &usage) == root_pid_) {
      DrainEvents();  // the root's exec was reported before it could end
      Exited(root_pid_, status, usage);
    }
    const pid_t init = options_.kernel->namespace_init;
    if (!namespace_init_done_ && (init <= 0 || waitpid(init, &status, WNOHANG) == init)) {
      namespace_init_done_ = true;
      options_.kernel->namespace_init = 0;  // reaped: its pid may name another process now
    }
  }

  // ---------------------------------------------------- script drift --
  // A `#!` script's interpreter reads the script while it runs, so a change
  // after the check would run code nobody decided. Each script run keeps the
  // very inode that was hashed (O_PATH) under an inotify watch until it
  // ends; any change of that inode's state (content, size, mode, links:
  // ctime) stops the run. A write through a shared mapping raises no
  // inotify event, but a mapping made after the hash (hashing refuses a file
  // with a writer) changes ctime with its first write: every exec decision
  // re-checks first.
  struct ScriptWatch {
    std::shared_ptr<TrackedRun> run;
    std::string path;
    struct stat hashed {};
    int fd = -1;
    int wd = -1;
  };

  // Empty when `path` is still the script as hashed and is now watched;
  // else why the run cannot go on.
  std::string WatchScript(const std::shared_ptr<TrackedRun>& run, const std::string& path, const struct stat& hashed) {
    const int fd = open(path.c_str(), O_PATH | O_CLOEXEC | O_NOFOLLOW);
    struct stat now {};
    if (fd < 0 || fstat(fd, &now) != 0 || !SameFileState(now, hashed)) {
      if (fd >= 0) {
        close(fd);
      }
      return "the script " + EscapeForDisplay(path) + " changed after it was hashed";
    }
    const int wd = watch_fd_ < 0 ? -1
                                 : inotify_add_watch(watch_fd_, ("/proc/self/fd/" + std::to_string(fd)).c_str(),
                                                     IN_MODIFY | IN_ATTRIB | IN_MOVE_SELF | IN_DELETE_SELF);
    if (wd < 0) {
      const std::string why = watch_fd_ < 0 ? "no inotify instance" : ErrnoText(errno);
      close(fd);
      return "the script " + EscapeForDisplay(path) + " cannot be watched while it runs (" + why + ")";
    }
    script_watches_.push_back({run, path, hashed, fd, wd});
    return "";
  }

  // With `session_drift = "stop-session"`: every process of the session
  // is killed, the root's end says why.
  void StopSessionOnDrift() {
    if (!options_.stop_on_drift || stopped_on_drift_) {
      return;
    }
    stopped_on_drift_ = true;
    if (root_run_->killed_by.empty()) {
      root_run_->killed_by = "drift";
    }
    if (root_killed_by_.empty()) {
      root_killed_by_ = "drift";
    }
    Notice("drift: the session was stopped (session_drift = \"stop-session\")");
    KillAll();
  }

  // Drains the watch events, stops every run whose script is no longer as
  // hashed, and forgets the watches of ended runs.
  void CheckScripts() {
    if (script_watches_.empty()) {
      return;
    }
    alignas(struct inotify_event) char events[4096];
    while (watch_fd_ >= 0 && read(watch_fd_, events, sizeof events) > 0) {
    }
    for (auto it = script_watches_.begin(); it != script_watches_.end();) {
      struct stat now {};
      TrackedRun& run = *it->run;
      if (!run.ended && run.killed_by != "drift" && (fstat(it->fd, &now) != 0 || !SameFileState(now, it->hashed))) {
        run.killed_by = "drift";
        if (&run == root_run_.get()) {
          root_killed_by_ = "drift";
        }
        Notice("drift: the script " + EscapeForDisplay(it->path) + " of run " + run.id.substr(0, 8) +
               " changed while it ran; the run was stopped");
        SignalRunTree(run, SIGKILL);
        StopSessionOnDrift();
      }
      if (!run.ended && run.killed_by != "drift") {
        ++it;
        continue;
      }
      const int wd = it->wd;
      close(it->fd);
      it = script_watches_.erase(it);
      if (std::none_of(script_watches_.begin(), script_watches_.end(),
                       [&](const ScriptWatch& other) { return other.wd == wd; })) {
        inotify_rm_watch(watch_fd_, wd);
      }
    }
  }

  // ------------------------------------------------------------ drift --
  // The state of each watched file (lstat: device, inode, size, mtime,
  // ctime; absent is a state too).
  struct FileState {
    bool present = false;
    struct stat st {};
  };
  static FileState StateOf(const std::string& path) {
    FileState state;
    state.present = stat(path.c_str(), &state.st) == 0;
    return state;
  }
  static bool Same(const FileState& a, const FileState& b) {
    return a.present == b.present && (!a.present || SameFileState(a.st, b.st));
  }

  // Empty while every watched file is as it was when the session started;
  // else why no exec may run any more (said once).
  std::string Drift() {
    if (!drift_.empty()) {
      return drift_;
    }
    for (std::size_t i = 0; i < options_.watched_files.size(); ++i) {
      if (!Same(StateOf(options_.watched_files[i]), watched_states_[i])) {
        drift_ = "drift: " + EscapeForDisplay(options_.watched_files[i]) +
                 " changed on disk during the session; no further exec is allowed";
        Notice(drift_);
        StopSessionOnDrift();
        return drift_;
      }
    }
    return "";
  }

  // ----------------------------------------------- exec: after the fact --
  // The exec failed in the kernel (the call returned).
  void ExecReturned(pid_t pid) {
    user_regs_struct regs{};
    auto found = procs_.find(pid);
    if (found != procs_.end() && found->second.pending && ptrace(PTRACE_GETREGS, pid, nullptr, &regs) == 0) {
      PendingExec pending = std::move(*found->second.pending);
      found->second.pending.reset();
      if (!pending.root) {
        const int error = -static_cast<int>(static_cast<long long>(regs.rax));
        EndRun(*pending.run, [&](lineage::End& end) { end.exec_error = "execve: " + ErrnoText(error); });
      }
    }
    Continue(pid, 0);
  }

  // An exec happened: the thread `former` executed and is now `pid` (the
  // leader). Takes its pending authorization and the run it ran before,
  // ends a pending exec of the leader that lost to it, and returns the
  // process's entry.
  Proc& TakeExecuted(pid_t pid, pid_t former, std::optional<PendingExec>& pending,
                     std::shared_ptr<TrackedRun>& previous) {
    if (auto found = procs_.find(former); found != procs_.end()) {
      pending = std::move(found->second.pending);
      previous = found->second.run;
      if (former != pid) {
        procs_.erase(found);  // a thread executed: it now has the leader's pid
      }
    }
    Proc& proc = procs_[pid];
    if (former != pid && proc.pending && !proc.pending->root) {
      // The leader was executing too; another thread's exec won.
      EndRun(*proc.pending->run,
             [&](lineage::End& end) { end.exec_error = "another thread of the process executed first"; });
    }
    proc.pending.reset();
    return proc;
  }

  // The root's own exec happened: the rest of Child::Go. False (the session
  // ends with that failure) when the child reported one.
  bool RootExecuted(pid_t pid) {
    root_started_ = true;
    if (auto went = root_child_.FinishGo(); !went.ok()) {
      root_failure_ = went.failure();
      kill(pid, SIGKILL);
      return false;
    }
    return true;
  }

  // The image `previous` of process `pid` ends: `run` replaced it.
  void EndReplaced(const std::shared_ptr<TrackedRun>& previous, const TrackedRun& run, pid_t pid) {
    if (previous && previous.get() != &run && previous->leader == pid && !previous->ended) {
      EndRun(*previous, [&](lineage::End& end) {
        end.duration_ns = exec::MonotonicNs() - previous->started_ns;
        end.replaced_by = run.id;
      });
    }
  }

  // PTRACE_EVENT_EXEC: the new image exists and has run nothing.
  void Executed(pid_t pid) {
    unsigned long former_message = 0;
    ptrace(PTRACE_GETEVENTMSG, pid, nullptr, &former_message);
    const auto former = static_cast<pid_t>(former_message);
    std::optional<PendingExec> pending;
    std::shared_ptr<TrackedRun> previous;
    Proc& proc = TakeExecuted(pid, former, pending, previous);
    proc.waiting_for_parent = false;
    if (!pending) {
      // Every exec stops at its entry first: an image nobody authorized
      // must never run.
      ++result_.mismatches;
      kill(pid, SIGKILL);
      Notice("an exec that was not authorized was stopped (pid " + std::to_string(pid) + ")");
      Continue(pid, 0);
      return;
    }
    const std::int64_t check_start = exec::MonotonicNs();
    std::string mismatch = CheckImage(pid, *pending);
    if (mismatch.empty() && !pending->script_path.empty()) {
      mismatch = WatchScript(pending->run, pending->script_path, pending->script);
    }
    TrackedRun& run = *pending->run;
    if (pending->root && !RootExecuted(pid)) {
      return;
    }
    if (!mismatch.empty()) {
      ++result_.mismatches;
      kill(pid, SIGKILL);
      // The image this process ran before is gone all the same.
      EndReplaced(previous, run, pid);
      run.leader = pid;
      run.killed_by = "exec-mismatch";
      if (pending->root) {
        root_killed_by_ = "exec-mismatch";
      }
      Notice("the executed image is not the one authorized (" + mismatch + "); run " + run.id.substr(0, 8) +
             " was killed before it started");
      proc.run = pending->run;
      Continue(pid, 0);
      return;
    }
    // The image this process ran before ends here.
    EndReplaced(previous, run, pid);
    run.leader = pid;
    proc.run = pending->run;
    if (!pending->root) {
      const std::int64_t wait_start = exec::MonotonicNs();
      auto durable = options_.recorder->AwaitDurable(pending->durable_ticket);
      const std::int64_t waited = exec::MonotonicNs() - wait_start;
      result_.costs.durable_wait_ns += waited;
      if (!durable.ok()) {
        // Not durably authorized ⇒ not run: it dies before its first instruction.
        result_.lineage_error = durable.error().message;
        kill(pid, SIGKILL);
        run.killed_by = "lineage";
        Notice("cannot make the authorization of " + EscapeForDisplay(run.program) +
               " durable (it was not run): " + durable.error().message);
        Continue(pid, 0);
        return;
      }
      run.started_ns = exec::MonotonicNs();
      if (run.term_deadline_ns < 0) {
        run.term_deadline_ns = run.started_ns - run.term_deadline_ns * 1000000;
      }
      if (!RecordChildStart(run, pid, exec::RealtimeNs())) {
        Continue(pid, 0);
        return;
      }
      ++result_.runs;
      result_.costs.check_start_ns += exec::MonotonicNs() - check_start - waited;
    }
    Continue(pid, 0);
  }

  // The start record of a child run whose image the kernel executed as
  // authorized; false when it cannot be written (the process is killed: not
  // recorded ⇒ not run on).
  bool RecordChildStart(TrackedRun& run, pid_t pid, std::int64_t time_unix_ns) {
    lineage::Start start;
    start.run_id = run.id;
    start.pid = pid;
    start.time_unix_ns = time_unix_ns;
    start.limits.push_back(
        {"session", "the session root's sandbox, inherited (run " + options_.root_run_id + ")", "inherited"});
    if (run.term_deadline_ns > 0) {
      start.limits.push_back({"timeout",
                              "govrun session supervisor (SIGTERM to the run's processes, SIGKILL after " +
                                  std::to_string(options_.kill_grace_ms) + " ms)",
                              std::to_string((run.term_deadline_ns - run.started_ns) / 1000000) + "ms"});
    }
    start.supervisor_pid = getpid();
    start.supervisor_start_time = supervisor_start_time_;
    start.boot_id = boot_id_;
    start.depth = run.depth;
    start.program = run.program;
    start.decision_ns = run.decision_ns;
    // Held from the interception until the kernel mechanism let the call
    // proceed, or (ptrace) until the new image is let run after this record.
    start.exec_latency_ns =
        run.intercepted_ns > 0 ? (run.released_ns > 0 ? run.released_ns : exec::MonotonicNs()) - run.intercepted_ns : 0;
    if (auto recorded = options_.recorder->RecordStart(start); !recorded.ok()) {
      result_.lineage_error = recorded.error().message;
      kill(pid, SIGKILL);
      run.killed_by = "lineage";
      Notice("cannot record the start of " + EscapeForDisplay(run.program) +
             " (it was killed): " + recorded.error().message);
      return false;
    }
    return true;
  }

  // Empty when the kernel executed exactly what was authorized.
  std::string CheckImage(pid_t pid, const PendingExec& pending) const {
    const std::string proc_dir = "/proc/" + std::to_string(pid);
    struct stat exe {};
    if (stat((proc_dir + "/exe").c_str(), &exe) != 0) {
      return "its executable cannot be examined: " + ErrnoText(errno);
    }
    if (!SameFileState(exe, pending.file)) {
      return "another file, or the file changed after it was hashed";
    }
    std::string text;
    if (!ReadWholeFile(proc_dir + "/cmdline", text, kMaxExecBytes)) {
      return "its arguments cannot be read";
    }
    if (SplitNul(text) != pending.argv) {
      return "its arguments differ from the authorized ones";
    }
    if (!ReadWholeFile(proc_dir + "/environ", text, kMaxExecBytes)) {
      return "its environment cannot be read";
    }
    if (SplitNul(text) != pending.envp) {
      return "its environment differs from the authorized one";
    }
    return "";
  }

  // ---------------------------------------------------------- lineage --
  template <typename Fill>
  void EndRun(TrackedRun& run, Fill fill) {
    if (run.ended) {
      return;
    }
    run.ended = true;
    lineage::End end;
    end.run_id = run.id;
    end.time_unix_ns = exec::RealtimeNs();
    fill(end);
    if (auto recorded = options_.recorder->RecordEnd(end); !recorded.ok()) {
      result_.lineage_error = recorded.error().message;
      Notice("cannot record the end of run " + run.id + ": " + recorded.error().message);
    }
  }

  void MaybeCheckpoint() {
    if (++since_checkpoint_ < options_.checkpoint_every) {
      return;
    }
    since_checkpoint_ = 0;
    if (auto done = options_.recorder->Checkpoint(); !done.ok()) {
      result_.lineage_error = done.error().message;
      Notice("cannot write a lineage checkpoint: " + done.error().message);
    }
  }

  // -------------------------------------------------------- deadlines --
  // The processes of `run` and of every run it started. The runs' own
  // processes (the images that executed: a script's interpreter, a shell)
  // first: signalled after one of their children, they could see it die
  // and go on before their own signal is sent (govrun may be preempted in
  // between).
  void SignalRunTree(const TrackedRun& run, int signal) {
    for (const bool leaders : {true, false}) {
      for (const auto& [pid, proc] : procs_) {
        if (proc.run && proc.run->Within(run) && (proc.run->leader == pid) == leaders) {
          kill(pid, signal);
        }
      }
    }
  }

  void EnforceDeadlines(std::int64_t now) {
    std::vector<TrackedRun*> runs;
    for (const auto& [pid, proc] : procs_) {
      if (proc.run) {
        runs.push_back(proc.run.get());
      }
    }
    std::sort(runs.begin(), runs.end());
    runs.erase(std::unique(runs.begin(), runs.end()), runs.end());
    for (TrackedRun* run : runs) {
      if (run->term_deadline_ns > 0 && now >= run->term_deadline_ns) {
        run->term_deadline_ns = 0;
        run->killed_by = "timeout";
        if (run == root_run_.get()) {
          root_killed_by_ = "timeout";
        }
        Notice(EscapeForDisplay(run->program) + " exceeded its timeout and was stopped");
        SignalRunTree(*run, SIGTERM);
        run->kill_deadline_ns = now + std::max<std::int64_t>(options_.kill_grace_ms, 0) * 1000000;
      }
      if (run->kill_deadline_ns > 0 && now >= run->kill_deadline_ns) {
        SignalRunTree(*run, SIGKILL);
        run->kill_deadline_ns = now + 100000000;
      }
    }
  }

  std::int64_t NextDeadline() const {
    std::int64_t wake = 0;
    for (const auto& [pid, proc] : procs_) {
      if (!proc.run) {
        continue;
      }
      for (const std::int64_t deadline : {proc.run->term_deadline_ns, proc.run->kill_deadline_ns}) {
        if (deadline > 0 && (wake == 0 || deadline < wake)) {
          wake = deadline;
        }
      }
    }
    return wake;
  }

  void KillAll() {
    if (options_.kernel != nullptr && options_.kernel->namespace_init > 0 && !namespace_init_done_) {
      kill(options_.kernel->namespace_init, SIGKILL);  // the kernel ends every process of the namespace
    }
    // The root first, synchronously: the namespace's init ends the others
    // only once it is scheduled to exit, and the root must not finish its
    // script meanwhile. (Not once reaped: its pid may name another process.)
    if (!root_done_) {
      kill(root_pid_, SIGKILL);
    }
    for (const auto& [pid, proc] : procs_) {
      kill(pid, SIGKILL);
    }
    sandbox_.SignalCgroups(SIGKILL);
  }

  exec::Child& root_child_;
  const exec::Sandbox& sandbox_;
  const SessionOptions& options_;
  const pid_t root_pid_;
  std::shared_ptr<TrackedRun> root_run_;
  std::unordered_map<pid_t, Proc> procs_;
  exec::DigestCache digests_;
  std::uint64_t supervisor_start_time_ = 0;  // this govrun, for the start records
  std::vector<FileState> watched_states_;    // SessionOptions::watched_files at the start
  std::string drift_;                        // why execs are denied since a watched file changed
  std::string boot_id_;
  SessionResult result_;
  std::optional<Failure> root_failure_;
  std::string root_killed_by_;
  bool root_started_ = false;
  bool root_done_ = false;
  int forwarded_ = 0;
  int since_checkpoint_ = 0;
  bool stopped_on_drift_ = false;
  int watch_fd_ = -1;  // inotify of the running scripts (SIGIO on events)
  // The kernel mechanism: runs by number (marks and events name them), the
  // next number, the receive buffer, and whether the namespace's init ended.
  std::unordered_map<std::uint64_t, std::shared_ptr<TrackedRun>> runs_by_number_;
  std::uint64_t next_run_number_ = kRootRunNumber + 1;
  std::vector<unsigned char> notification_;
  struct Batched {
    pid_t pid;
    std::uint64_t notification;
    PendingExec pending;
  };
  std::vector<Batched> batch_;  // allowed execs waiting for their authorizations' sync
  ExecHolds holds_;             // allowed execs proceeding while their sync runs
  bool namespace_init_done_ = false;
  std::vector<ScriptWatch> script_watches_;  // one per running script run
};

}  // namespace

timespec StartTime() {
  timespec now{};
  clock_gettime(CLOCK_REALTIME_COARSE, &now);
  return timespec{now.tv_sec, 0};
}

bool Supported(std::string* why) {
#if defined(__x86_64__)
  // PTRACE_GET_SYSCALL_INFO (which tells a trace stop's origin) is Linux 5.3.
  utsname host{};
  int major = 0;
  int minor = 0;
  if (uname(&host) != 0 || std::sscanf(host.release, "%d.%d", &major, &minor) != 2 ||
      (major < 5 || (major == 5 && minor < 3))) {
    if (why != nullptr) {
      *why = std::string("governed sessions need Linux 5.3 or later (PTRACE_GET_SYSCALL_INFO); this kernel is ") +
             host.release;
    }
    return false;
  }
  return true;
#else
  if (why != nullptr) {
    *why = "governed sessions read x86-64 system call registers; this build is for another architecture";
  }
  return false;
#endif
}

exec::Outcome<bool> Attach(const exec::Child& root) {
  const long options = PTRACE_O_EXITKILL | PTRACE_O_TRACESECCOMP | PTRACE_O_TRACEEXEC | PTRACE_O_TRACEFORK |
                       PTRACE_O_TRACEVFORK | PTRACE_O_TRACECLONE | PTRACE_O_TRACESYSGOOD;
  if (ptrace(PTRACE_SEIZE, root.pid(), nullptr, reinterpret_cast<void*>(options)) != 0) {
    const int error = errno;
    return Failure{
        exec::kExitConfig,
        "cannot govern a session: ptrace(PTRACE_SEIZE) of the session's root: " + ErrnoText(error) +
            (error == EPERM ? " (is /proc/sys/kernel/yama/ptrace_scope above 1, or is govrun traced?)" : "")};
  }
  return true;
}

exec::Outcome<SessionResult> Supervise(exec::Child& root, const exec::Sandbox& sandbox, const SessionOptions& options,
                                       std::int64_t started_ns) {
  Supervisor supervisor(root, sandbox, options, started_ns);
  return options.kernel != nullptr ? supervisor.KernelLoop() : supervisor.Loop();
}

KernelMechanism::~KernelMechanism() {
  if (outer_namespace >= 0) {
    setns(outer_namespace, CLONE_NEWPID);
    close(outer_namespace);
  }
  if (namespace_init > 0) {
    kill(namespace_init, SIGKILL);
    while (waitpid(namespace_init, nullptr, 0) < 0 && errno == EINTR) {
    }
  }
  if (listener >= 0) {
    close(listener);
  }
}

ErrorOr<std::unique_ptr<KernelMechanism>> LoadKernelMechanism() {
  auto mechanism = std::make_unique<KernelMechanism>();
  auto binding = KernelBinding::Load();
  if (!binding.ok()) {
    return binding.error();
  }
  mechanism->binding = std::move(binding.value());
  return mechanism;
}

ErrorOr<void> EnterTreeNamespace(KernelMechanism& mechanism) {
  mechanism.outer_namespace = open("/proc/self/ns/pid", O_RDONLY | O_CLOEXEC);
  if (mechanism.outer_namespace < 0) {
    return Error{"cannot open /proc/self/ns/pid: " + ErrnoText(errno)};
  }
  if (unshare(CLONE_NEWPID) != 0) {
    return Error{"cannot create the session's PID namespace: " + ErrnoText(errno)};
  }
  // Outside the namespace govrun has no pid the init could see: it watches
  // govrun through a pidfd instead (readable once govrun has exited).
  const int govrun = static_cast<int>(syscall(SYS_pidfd_open, getpid(), 0));
  if (govrun < 0) {
    return Error{"pidfd_open (Linux 5.3): " + ErrnoText(errno)};
  }
  const pid_t init = fork();
  if (init < 0) {
    const int error = errno;
    close(govrun);
    return Error{"cannot start the PID namespace's init: " + ErrnoText(error)};
  }
  if (init == 0) {
    // pid 1 of the tree's namespace: dies with govrun (then the kernel kills
    // every process of the namespace) and reaps the orphans meanwhile. It
    // ignores every signal the tree could send (the kernel's rule for a
    // namespace's init without handlers); govrun ends it with SIGKILL.
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    // Real-time priority narrows the moment between govrun's death and the
    // tree's (the kernel kills the namespace when this process runs its
    // exit); it only ever wakes to reap, so it cannot starve the machine.
    // Refused (no CAP_SYS_NICE, RT throttled) it is merely slower to die.
    sched_param realtime{};
    realtime.sched_priority = 1;
    sched_setscheduler(0, SCHED_FIFO | SCHED_RESET_ON_FORK, &realtime);
    pollfd parent{govrun, POLLIN, 0};
    if (poll(&parent, 1, 0) != 0) {
      _exit(0);  // govrun died before PR_SET_PDEATHSIG took effect
    }
    sigset_t child;
    sigemptyset(&child);
    sigaddset(&child, SIGCHLD);
    sigprocmask(SIG_BLOCK, &child, nullptr);
    for (int fd = 3; fd < 1024; ++fd) {
      close(fd);
    }
    while (true) {
      while (waitpid(-1, nullptr, WNOHANG | __WALL) > 0) {
      }
      siginfo_t info;
      sigwaitinfo(&child, &info);
    }
  }
  close(govrun);
  mechanism.namespace_init = init;
  return {};
}

ErrorOr<void> LeaveTreeNamespace(KernelMechanism& mechanism) {
  if (mechanism.outer_namespace < 0) {
    return {};
  }
  const int done = setns(mechanism.outer_namespace, CLONE_NEWPID);
  const int error = errno;
  close(mechanism.outer_namespace);
  mechanism.outer_namespace = -1;
  if (done != 0) {
    return Error{"cannot return to govrun's PID namespace: " + ErrnoText(error)};
  }
  return {};
}

exec::Outcome<bool> AttachKernel(const exec::Child& root, KernelMechanism& mechanism) {
  auto listener = root.TakeListener();
  if (!listener.ok()) {
    return listener.failure();
  }
  mechanism.listener = listener.value();
  const int pidfd = static_cast<int>(syscall(SYS_pidfd_open, root.pid(), 0));
  if (pidfd < 0) {
    return Failure{exec::kExitConfig, "pidfd_open of the session's root: " + ErrnoText(errno)};
  }
  auto marked = mechanism.binding->MarkRoot(pidfd, kRootRunNumber);
  close(pidfd);
  if (!marked.ok()) {
    return Failure{exec::kExitConfig, marked.error().message};
  }
  return true;
}

std::string UnenforceableInSession(const ir::Obligations& child, const ir::Obligations& root,
                                   const std::vector<std::pair<std::string, std::string>>& env) {
  if (child.memory_bytes > 0 && !(root.memory_bytes > 0 && root.memory_bytes <= child.memory_bytes)) {
    return "obligation memory cannot be applied to one process of a session (the session root's limit is not as "
           "strict)";
  }
  if (child.processes > 0 && !(root.processes > 0 && root.processes <= child.processes)) {
    return "obligation processes cannot be applied to one process of a session (the session root's limit is not as "
           "strict)";
  }
  if (NetworkStrictness(child.network) < NetworkStrictness(root.network)) {
    return "obligation network cannot be applied to one process of a session (the session root's network is wider)";
  }
  const auto covered = [](const std::vector<std::string>& granted, const std::vector<std::string>& allowed) {
    return std::all_of(granted.begin(), granted.end(), [&](const std::string& path) {
      return std::any_of(allowed.begin(), allowed.end(), [&](const std::string& top) { return IsUnder(path, top); });
    });
  };
  if (child.has_read && !(root.has_read && covered(root.read, child.read))) {
    return "obligation read cannot be applied to one process of a session (the session root may read more)";
  }
  // Writes: everything the root may write fully lies beneath the child's
  // `write` paths, and everything it may create beneath the child's `write`
  // or `create` paths (a child's `create` is kept only where the root
  // removes nothing the child's rule protects).
  const auto creatable = [](const ir::Obligations& o) {
    std::vector<std::string> all = o.write;
    all.insert(all.end(), o.create.begin(), o.create.end());
    return all;
  };
  if ((child.has_write || child.has_create) &&
      !((root.has_write || root.has_create) && covered(root.write, child.write) &&
        covered(creatable(root), creatable(child)))) {
    const char* which = child.has_write && child.has_create ? "write/create" : child.has_write ? "write" : "create";
    return std::string("obligation ") + which +
           " cannot be applied to one process of a session (the session root may write or remove more)";
  }
  if (child.private_tmp && !root.private_tmp) {
    return "obligation tmp cannot be applied to one process of a session (the session root has no private "
           "temporary directory, and a session cannot change a process's environment)";
  }
  if (child.has_capabilities && root.has_capabilities &&
      !std::all_of(root.capabilities.begin(), root.capabilities.end(), [&](const std::string& name) {
        return std::find(child.capabilities.begin(), child.capabilities.end(), name) != child.capabilities.end();
      })) {
    return "obligation capabilities cannot be applied to one process of a session (the session root keeps more)";
  }
  if (child.has_env) {
    for (const auto& [name, value] : env) {
      // govrun's own variables for nested runs: set at the root, verified by a nested govrun;
      // and the root's private temporary directory, which the tree inherits.
      if (name == lineage::kEnvRunId || name == lineage::kEnvRunRecord) continue;
      if (name == "TMPDIR" && root.private_tmp) continue;
      if (!ir::EnvNameListed(child.env, name)) {
        return "obligation env: the environment it was given has " + EscapeForDisplay(name) +
               ", which its rule does not pass (a session cannot change a process's environment)";
      }
    }
  }
  return "";
}

}  // namespace gov::session
