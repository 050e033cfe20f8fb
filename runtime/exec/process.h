// Kernel-vouched identities of processes: a pid alone can be reused, a pid
// with its start time (clock ticks since boot, /proc/PID/stat) and the boot
// id cannot. govrun records its own identity in each start record, and a
// nested govrun accepts a parent run only when that identity is one of its
// live ancestors (docs/request.md "Who vouches for each field").
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace gov::exec {

// One process as the kernel reports it.
struct ProcessIdentity {
  pid_t pid = 0;
  pid_t ppid = 0;
  std::uint64_t start_time = 0;  // clock ticks since boot

  bool SameProcess(pid_t other_pid, std::uint64_t other_start) const {
    return pid == other_pid && start_time == other_start;
  }
};

// The identity of `pid` from /proc/PID/stat (0: this process, from
// /proc/self/stat), or nothing when it is gone or the file cannot be parsed.
// Pids are those of the /proc mount's namespace: in a session's PID
// namespace getpid() differs from them, so a process names itself with 0.
std::optional<ProcessIdentity> IdentityOf(pid_t pid);

// This boot's id (/proc/sys/kernel/random/boot_id), or empty.
std::string BootId();

// The ancestors of this process, nearest first, up to (not including) pid 0.
// A link is kept only when the parent started no later than its child (a
// reused pid would have started later), so every entry was alive and an
// ancestor when read. At most 4096 entries.
std::vector<ProcessIdentity> Ancestors();

}  // namespace gov::exec
