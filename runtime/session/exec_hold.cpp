// The kernel mechanism's hold of new images at their exec stop (exec_hold.h).
#include "runtime/session/exec_hold.h"

#include <signal.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>

namespace gov::session {

bool ExecHolds::Hold(pid_t tid) {
  // A leader's exec keeps its id; another thread's takes the leader's.
  if (syscall(SYS_tgkill, tid, tid, 0) != 0) {
    return false;
  }
  if (auto found = held_.find(tid); found != held_.end()) {
    // An entry left by an exec the kernel refused: the thread may still be
    // seized (it runs its old image), or the id may now name a thread whose
    // exec took over the process (the kernel drops a traced leader without
    // a report), which govrun does not trace. Neither is trusted: this exec
    // is synced before it proceeds, and a thread still seized is let go at
    // its next stop (its exec stop included).
    found->second.released = true;
    return false;
  }
  // The thread waits in its notification, which only a fatal signal ends
  // (SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV; before Linux 5.19 a signal
  // restarts the call, which notifies again): nothing runs between the seize
  // and the exec. EXITKILL: if govrun dies, what it holds dies too.
  if (ptrace(PTRACE_SEIZE, tid, nullptr, PTRACE_O_TRACEEXEC | PTRACE_O_EXITKILL) != 0) {
    return false;
  }
  held_.emplace(tid, Held{});
  return true;
}

void ExecHolds::Release(bool durable) {
  for (auto it = held_.begin(); it != held_.end();) {
    Held& held = it->second;
    if (held.released || held.killed) {
      ++it;  // settled by an earlier sync
      continue;
    }
    if (!durable) {
      held.killed = true;
      kill(it->first, SIGKILL);  // a leader: its whole process; reaped by Poll
      ++it;
      continue;
    }
    held.released = true;
    if (held.stopped) {
      if (ptrace(PTRACE_DETACH, it->first, nullptr, 0) == 0) {
        it = held_.erase(it);
        continue;
      }
    }
    ++it;
  }
}

void ExecHolds::Poll() {
  for (auto it = held_.begin(); it != held_.end();) {
    int status = 0;
    const pid_t got = waitpid(it->first, &status, WNOHANG | __WALL);
    if (got < 0 && errno == EINTR) {
      continue;
    }
    if (got < 0 || (got == it->first && Apply(it->first, it->second, status))) {
      it = held_.erase(it);  // gone (ECHILD: no longer its tracer), let go, or reaped
    } else {
      ++it;
    }
  }
}

ExecHolds::~ExecHolds() {
  // Nothing held outlives the supervisor, and a traced process's exit must
  // be reaped by its tracer before its parent (or the PID namespace's dying
  // init) sees it. Only what govrun can still wait for is killed: an id it
  // no longer traces may name another process now.
  for (auto it = held_.begin(); it != held_.end();) {
    int status = 0;
    const pid_t got = waitpid(it->first, &status, WNOHANG | __WALL);
    if (got == 0 || (got == it->first && WIFSTOPPED(status))) {
      it->second.killed = true;
      kill(it->first, SIGKILL);
      ++it;
    } else {
      it = held_.erase(it);  // ended (reaped now) or not govrun's
    }
  }
  // Killed processes end at once unless the kernel holds them; bounded.
  for (int round = 0; round < 2000 && !held_.empty(); ++round) {
    Poll();
    if (!held_.empty()) {
      usleep(1000);
    }
  }
}

bool ExecHolds::Apply(pid_t tid, Held& held, int status) {
  if (WIFEXITED(status) || WIFSIGNALED(status)) {
    return true;  // reaped as its tracer: its parent now sees the exit
  }
  if (!WIFSTOPPED(status)) {
    return false;
  }
  const int event = status >> 16;
  if (event == PTRACE_EVENT_EXEC) {
    if (held.killed) {
      kill(tid, SIGKILL);
      return false;
    }
    if (!held.released) {
      held.stopped = true;  // waits for the sync
      return false;
    }
    return ptrace(PTRACE_DETACH, tid, nullptr, 0) == 0;
  }
  // Any other stop comes after an exec that failed (the new image's first
  // stop is its exec stop): the old image goes on, with the signal of a
  // signal-delivery stop; a group stop stays one after the detach.
  const int signal = event == 0 ? WSTOPSIG(status) : 0;
  return ptrace(PTRACE_DETACH, tid, nullptr, signal) == 0;
}

}  // namespace gov::session
