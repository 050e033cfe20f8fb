// The kernel mechanism's hold of a new image before its first instruction,
// so that an allowed exec proceeds while its authorization is being made
// durable instead of after (docs/govrun.md "Mechanisms"): the exec'ing
// thread, blocked in its notification, is seized with ptrace
// (PTRACE_O_TRACEEXEC), the kernel stops the new image at PTRACE_EVENT_EXEC
// before it returns to user space, and the supervisor lets it go once the
// sync completed — or kills it there when the sync failed. A ptrace stop is
// reported to the tracer only: the caller's parent and job control see none.
#pragma once

#include <sys/types.h>

#include <unordered_map>

namespace gov::session {

class ExecHolds {
 public:
  ExecHolds() = default;
  // Kills what it still holds (a session that ends) and reaps it.
  ~ExecHolds();
  ExecHolds(const ExecHolds&) = delete;
  ExecHolds& operator=(const ExecHolds&) = delete;

  // Takes hold of thread `tid`, blocked in an exec call not yet answered.
  // False when it is not held — another tracer has it, it is not its
  // process's leader (a thread's exec changes its id), or it was held before
  // (an exec the kernel refused) — and then the caller must make the
  // authorization durable before answering.
  bool Hold(pid_t tid);

  // The authorizations of every held thread are durable: each goes on at
  // its exec stop (now, when it is there). Not durable: each is killed, at
  // the stop or before it; nothing of its new image runs.
  void Release(bool durable);

  // Takes the reports of held threads (after SIGCHLD): exec stops, other
  // stops (an exec that failed returns to the old image, which is let go),
  // exits (reaped as their tracer, so their parent can reap them).
  void Poll();

 private:
  struct Held {
    bool released = false;  // Release(true) came: detach at the exec stop
    bool killed = false;    // Release(false) came: SIGKILL sent
    bool stopped = false;   // waits at its exec stop
  };
  // Applies a wait status of `tid`; true when it is no longer held.
  bool Apply(pid_t tid, Held& held, int status);

  std::unordered_map<pid_t, Held> held_;
};

}  // namespace gov::session
