// The kernel mechanism's BPF side (bpf/session.bpf.c): loads and attaches the
// session's tracing programs, holds the session's SipHash key, marks the root,
// writes one authorization per exec and reads the kernel's events. Root only
// (CAP_BPF and CAP_PERFMON, or CAP_SYS_ADMIN); docs/govrun.md "Sessions".
#pragma once

#include <sys/stat.h>
#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "runtime/session/bpf/session_abi.h"
#include "runtime/support/error_or.h"

namespace gov::session {

class KernelBinding {
 public:
  // Loads, verifies and attaches the programs; an Error says why not (not
  // built in, not root, kernel without BTF/task storage/bpf_loop, or a host
  // policy that refuses BPF).
  static ErrorOr<std::unique_ptr<KernelBinding>> Load();
  ~KernelBinding();
  KernelBinding(const KernelBinding&) = delete;
  KernelBinding& operator=(const KernelBinding&) = delete;

  // Marks the not-yet-started root (by pidfd) as run `run`: its exec and every
  // task it creates are the session's from then on.
  ErrorOr<void> MarkRoot(int pidfd, std::uint64_t run);

  // What the exec of thread `tid` may become: `file` (stat of the descriptor
  // govrun hashed: the binary, or a script's interpreter) with exactly this
  // argv and envp in the new image. Replaces an earlier authorization of tid.
  ErrorOr<void> Authorize(pid_t tid, std::uint64_t run, const struct stat& file, const std::vector<std::string>& argv,
                          const std::vector<std::string>& envp);
  // From now on a process of the tree that maps a file whose ctime is at or
  // after `seconds` (realtime) executable is killed, and an event says so.
  ErrorOr<void> SetWrittenSince(std::int64_t seconds);

  // Withdraws tid's authorization (its exec was not let through after all).
  void Revoke(pid_t tid);

  // Readable when kill events (or many others) wait: poll it.
  int EventFd() const;
  // Calls `handle` for every event available now, in order.
  void Drain(const std::function<void(const gov_session_event&)>& handle);

  struct State;  // the loaded object, maps and key (kernel_binding.cpp)

 private:
  explicit KernelBinding(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

// True when this build has the kernel mechanism (GOV_SESSION_BPF).
bool KernelBindingBuilt();

}  // namespace gov::session
