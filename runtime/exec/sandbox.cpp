// Obligation enforcement and baseline confinement: cgroups, rlimits,
// capabilities, Landlock, seccomp, network namespace (see sandbox.h).
#include "runtime/exec/sandbox.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/landlock.h>
#include <linux/seccomp.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <optional>
#include <string>
#include <utility>

#include "runtime/exec/private_tmp.h"
#include "runtime/exec/program.h"
#include "runtime/ir/capabilities.h"
#include "runtime/support/errno_text.h"

#ifndef LANDLOCK_ACCESS_FS_REFER
#define LANDLOCK_ACCESS_FS_REFER (1ULL << 13)
#endif
#ifndef LANDLOCK_ACCESS_FS_TRUNCATE
#define LANDLOCK_ACCESS_FS_TRUNCATE (1ULL << 14)
#endif
#ifndef LANDLOCK_ACCESS_FS_IOCTL_DEV
#define LANDLOCK_ACCESS_FS_IOCTL_DEV (1ULL << 15)
#endif
#ifndef LANDLOCK_CREATE_RULESET_VERSION
#define LANDLOCK_CREATE_RULESET_VERSION (1U << 0)
#endif
#ifndef TIOCLINUX
#define TIOCLINUX 0x541C
#endif
#ifndef F_SETOWN_EX
#define F_SETOWN_EX 15
#endif
#ifndef PR_CAP_AMBIENT
#define PR_CAP_AMBIENT 47
#define PR_CAP_AMBIENT_RAISE 2
#define PR_CAP_AMBIENT_CLEAR_ALL 4
#endif

namespace gov::exec {

namespace {

// Landlock scopes (ABI 6; not in every libc's headers).
constexpr std::uint64_t kScopeAbstractUnixSocket = 1ULL << 0;
constexpr std::uint64_t kScopeSignal = 1ULL << 1;

// struct landlock_ruleset_attr as of ABI 6; the size passed to the kernel
// is the prefix its ABI knows.
struct RulesetAttr {
  std::uint64_t handled_access_fs = 0;
  std::uint64_t handled_access_net = 0;  // ABI 4
  std::uint64_t scoped = 0;              // ABI 6
};

std::size_t RulesetAttrSize(int abi) {
  if (abi >= 6) {
    return sizeof(RulesetAttr);
  }
  if (abi >= 4) {
    return offsetof(RulesetAttr, scoped);
  }
  return offsetof(RulesetAttr, handled_access_net);
}

// ---------------------------------------------------------------- cgroups --

struct Cgroup {
  std::string dir;  // the per-run cgroup directory
  bool v2 = false;
  std::vector<std::string> controllers;
};

// The whole of a small file (proc, sysfs, cgroupfs) without iostreams,
// whose locale set-up would cost every govrun start.
bool ReadFile(const std::string& path, std::string& out) {
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return false;
  }
  out.clear();
  char buffer[4096];
  while (true) {
    const ssize_t got = read(fd, buffer, sizeof buffer);
    if (got < 0 && errno == EINTR) {
      continue;
    }
    if (got <= 0) {
      close(fd);
      return got == 0;
    }
    out.append(buffer, static_cast<std::size_t>(got));
  }
}

// `text` split at any of `separators`, empty pieces dropped.
std::vector<std::string_view> Split(std::string_view text, std::string_view separators) {
  std::vector<std::string_view> pieces;
  std::size_t start = 0;
  while (start < text.size()) {
    const std::size_t end = std::min(text.find_first_of(separators, start), text.size());
    if (end > start) {
      pieces.push_back(text.substr(start, end - start));
    }
    start = end + 1;
  }
  return pieces;
}

// This process's cgroup path in the v2 hierarchy ("0::/x") or in the v1
// hierarchy holding `controller` ("N:a,b:/x").
std::optional<std::string> OwnCgroupPath(bool v2, const std::string& controller) {
  std::string text;
  if (!ReadFile("/proc/self/cgroup", text)) {
    return std::nullopt;
  }
  for (const std::string_view line : Split(text, "\n")) {
    const std::size_t first = line.find(':');
    const std::size_t second = line.find(':', first + 1);
    if (first == std::string_view::npos || second == std::string_view::npos) {
      continue;
    }
    const std::string_view controllers = line.substr(first + 1, second - first - 1);
    const std::string_view path = line.substr(second + 1);
    if (v2 && line.starts_with("0::")) {
      return std::string(path);
    }
    if (!v2) {
      for (const std::string_view item : Split(controllers, ",")) {
        if (item == controller) {
          return std::string(path);
        }
      }
    }
  }
  return std::nullopt;
}

ErrorOr<void> WriteFile(const std::string& path, const std::string& text) {
  const int fd = open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) {
    return Error{path + ": " + ErrnoText(errno)};
  }
  const ssize_t wrote = write(fd, text.data(), text.size());
  const int error = errno;
  close(fd);
  if (wrote != static_cast<ssize_t>(text.size())) {
    return Error{path + ": " + ErrnoText(wrote < 0 ? error : EIO)};
  }
  return {};
}

bool HasWord(const std::string& text, const std::string& word) {
  for (const std::string_view item : Split(text, " \t\n")) {
    if (item == word) {
      return true;
    }
  }
  return false;
}

// One limit file of a controller. A leading '?' marks a file the kernel may
// lack (memory.swap.max without swap accounting).
struct LimitFile {
  std::string name;
  std::string value;
};

// What a controller needs written, per cgroup version.
struct ControllerLimits {
  std::string controller;  // "memory" | "pids"
  std::vector<LimitFile> v2_files;
  std::vector<LimitFile> v1_files;
};

// Where each controller is available to this process: the parent cgroup
// directory in the hierarchy that will hold the per-run cgroup.
struct Placement {
  std::string parent;  // parent cgroup directory
  bool v2 = false;
};

std::optional<Placement> PlaceController(const std::vector<CgroupMount>& mounts, const std::string& controller,
                                         std::string& why) {
  for (const bool v2 : {true, false}) {
    for (const CgroupMount& mount : mounts) {
      if (mount.v2 != v2) {
        continue;
      }
      if (!v2 && std::find(mount.v1_controllers.begin(), mount.v1_controllers.end(), controller) ==
                     mount.v1_controllers.end()) {
        continue;
      }
      const auto own = OwnCgroupPath(v2, controller);
      if (!own) {
        continue;
      }
      const std::string parent = mount.mount_point + (*own == "/" ? "" : *own);
      if (v2) {
        std::string enabled;
        if (!ReadFile(parent + "/cgroup.subtree_control", enabled) || !HasWord(enabled, controller)) {
          why += "cgroup v2 at " + parent + " does not delegate the " + controller + " controller; ";
          continue;
        }
      }
      return Placement{parent, v2};
    }
  }
  return std::nullopt;
}

// Creates one per-run cgroup in `parent` with every limit file of the
// controllers placed there. On failure nothing is left behind.
std::optional<Cgroup> CreateCgroup(const Placement& placement, const std::vector<const ControllerLimits*>& limits,
                                   const std::string& run_id, std::string& why) {
  const std::string dir = placement.parent + "/gov-" + run_id;
  if (mkdir(dir.c_str(), 0755) != 0) {
    why += "cannot create " + dir + ": " + ErrnoText(errno) + "; ";
    return std::nullopt;
  }
  Cgroup cgroup{dir, placement.v2, {}};
  for (const ControllerLimits* controller : limits) {
    for (const LimitFile& limit : placement.v2 ? controller->v2_files : controller->v1_files) {
      const bool optional = limit.name.starts_with('?');
      const std::string file = dir + "/" + (optional ? limit.name.substr(1) : limit.name);
      if (optional && access(file.c_str(), F_OK) != 0) {
        continue;
      }
      if (auto written = WriteFile(file, limit.value); !written.ok()) {
        why += written.error().message + "; ";
        rmdir(dir.c_str());
        return std::nullopt;
      }
    }
    cgroup.controllers.push_back(controller->controller);
  }
  return cgroup;
}

std::vector<pid_t> CgroupPids(const Cgroup& cgroup) {
  std::vector<pid_t> pids;
  std::string text;
  if (!ReadFile(cgroup.dir + "/cgroup.procs", text)) {
    return pids;
  }
  for (const std::string_view item : Split(text, "\n")) {
    pids.push_back(static_cast<pid_t>(std::strtol(std::string(item).c_str(), nullptr, 10)));
  }
  return pids;
}

bool HasController(const Cgroup& cgroup, const std::string& controller) {
  return std::find(cgroup.controllers.begin(), cgroup.controllers.end(), controller) != cgroup.controllers.end();
}

// --------------------------------------------------------------- Landlock --

constexpr std::uint64_t kLandlockFileRights = LANDLOCK_ACCESS_FS_EXECUTE | LANDLOCK_ACCESS_FS_WRITE_FILE |
                                              LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_TRUNCATE |
                                              LANDLOCK_ACCESS_FS_IOCTL_DEV;

constexpr std::uint64_t kReadRights = LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_READ_DIR;

constexpr std::uint64_t kDeviceRights = LANDLOCK_ACCESS_FS_MAKE_CHAR | LANDLOCK_ACCESS_FS_MAKE_BLOCK;

// What `write` grants beneath its paths. Device nodes only when the run
// keeps CAP_MKNOD (which creating them needs anyway).
std::uint64_t WriteRights(int abi, bool devices) {
  std::uint64_t rights = LANDLOCK_ACCESS_FS_WRITE_FILE | LANDLOCK_ACCESS_FS_REMOVE_DIR |
                         LANDLOCK_ACCESS_FS_REMOVE_FILE | LANDLOCK_ACCESS_FS_MAKE_DIR | LANDLOCK_ACCESS_FS_MAKE_REG |
                         LANDLOCK_ACCESS_FS_MAKE_SOCK | LANDLOCK_ACCESS_FS_MAKE_FIFO | LANDLOCK_ACCESS_FS_MAKE_SYM;
  if (devices) {
    rights |= kDeviceRights;
  }
  if (abi >= 2) {
    rights |= LANDLOCK_ACCESS_FS_REFER;
  }
  if (abi >= 3) {
    rights |= LANDLOCK_ACCESS_FS_TRUNCATE;
  }
  return rights;
}

// What `create` grants beneath its paths: making regular files, directories
// and symbolic links, and writing what is opened there — no removal, no
// rename away or over (both need a removal right), no link across
// directories (REFER), no truncation (the caller requires ABI >= 3, where
// TRUNCATE is handled; a file the open itself creates is not truncated).
constexpr std::uint64_t kCreateRights = LANDLOCK_ACCESS_FS_WRITE_FILE | LANDLOCK_ACCESS_FS_MAKE_REG |
                                        LANDLOCK_ACCESS_FS_MAKE_DIR | LANDLOCK_ACCESS_FS_MAKE_SYM;

// Read-only locations every dynamically linked program needs to start.
// Root-owned system paths: opened by name.
const char* const kLoaderReadPaths[] = {"/lib",       "/lib32",       "/lib64",      "/libx32",          "/usr/lib",
                                        "/usr/lib32", "/usr/lib64",   "/usr/libx32", "/etc/ld.so.cache", "/dev/null",
                                        "/dev/zero",  "/dev/urandom", "/dev/random"};
// Write targets that leak nothing, writable under any `write` obligation.
const char* const kAlwaysWritable[] = {"/dev/null", "/dev/zero", "/dev/full"};

// The kernel's and the devices' interfaces: /proc (its sys/ tunables, other
// processes), /sys (with the cgroup hierarchies) and /dev (disks). Root owns
// them, and a run keeps uid 0 even without capabilities, so no run may write
// beneath them unless its `write` obligation names a path there.
const char* const kSystemInterfaces[] = {"proc", "sys", "dev"};
// What a run without a `write` obligation may still write beneath /dev.
const char* const kWritableDevices[] = {"/dev/null", "/dev/zero", "/dev/full", "/dev/tty", "/dev/ptmx"};
const char* const kWritableDeviceDirs[] = {"/dev/pts", "/dev/shm", "/dev/mqueue"};

// Adds a path-beneath rule for the file or directory open at `fd`.
ErrorOr<void> AddLandlockRuleForFd(int ruleset, int fd, const std::string& what, std::uint64_t rights,
                                   std::uint64_t handled) {
  struct stat st {};
  if (fstat(fd, &st) != 0) {
    return Error{what + ": fstat: " + ErrnoText(errno)};
  }
  struct landlock_path_beneath_attr attr {};
  attr.allowed_access = rights & handled;
  if (!S_ISDIR(st.st_mode)) {
    attr.allowed_access &= kLandlockFileRights;
  }
  attr.parent_fd = fd;
  if (attr.allowed_access == 0) {
    return {};
  }
  if (syscall(SYS_landlock_add_rule, ruleset, LANDLOCK_RULE_PATH_BENEATH, &attr, 0) != 0) {
    return Error{"landlock_add_rule " + what + ": " + ErrnoText(errno)};
  }
  return {};
}

// Grants `rights` beneath every entry of `/` but the system interfaces.
// Symbolic links are skipped (their targets are reached through their own
// top-level entry; following them could lead back into /proc or /sys).
ErrorOr<void> GrantOutsideSystemInterfaces(int ruleset, std::uint64_t rights, std::uint64_t handled) {
  const int root = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (root < 0) {
    return Error{std::string("/: ") + ErrnoText(errno)};
  }
  DIR* dir = fdopendir(root);
  if (dir == nullptr) {
    close(root);
    return Error{std::string("/: ") + ErrnoText(errno)};
  }
  ErrorOr<void> result;
  while (const dirent* entry = readdir(dir)) {
    const std::string_view name = entry->d_name;
    if (name == "." || name == ".." ||
        std::find(std::begin(kSystemInterfaces), std::end(kSystemInterfaces), name) != std::end(kSystemInterfaces)) {
      continue;
    }
    const int fd = openat(dirfd(dir), entry->d_name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
      continue;  // gone meanwhile: nothing to grant
    }
    UniqueFd holder(fd);
    struct stat st {};
    if (fstat(fd, &st) != 0 || S_ISLNK(st.st_mode)) {
      continue;
    }
    result = AddLandlockRuleForFd(ruleset, fd, "/" + std::string(name), rights, handled);
    if (!result.ok()) {
      break;
    }
  }
  closedir(dir);
  return result;
}

// Adds a path-beneath rule for a path named by the policy or by govrun's
// fixed lists (resolved once, here); a missing path grants nothing: false.
ErrorOr<bool> AddLandlockRule(int ruleset, const std::string& path, std::uint64_t rights, std::uint64_t handled) {
  const int fd = open(path.c_str(), O_PATH | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT || errno == ENOTDIR) {
      return false;
    }
    return Error{path + ": " + ErrnoText(errno)};
  }
  UniqueFd holder(fd);
  GOV_RETURN_IF_ERROR(AddLandlockRuleForFd(ruleset, fd, path, rights, handled));
  return true;
}

std::string JoinPaths(const std::vector<std::string>& paths) {
  std::string out;
  for (const std::string& path : paths) {
    out += (out.empty() ? "" : ":") + path;
  }
  return out;
}

// ---------------------------------------------------------------- seccomp --

// A tiny classic-BPF assembler with forward labels.
class Bpf {
 public:
  int NewLabel() {
    labels_.push_back(-1);
    return static_cast<int>(labels_.size()) - 1;
  }
  void Bind(int label) { labels_[static_cast<std::size_t>(label)] = static_cast<int>(code_.size()); }
  void Load(std::uint32_t offset) { Emit(BPF_LD | BPF_W | BPF_ABS, offset, -1, -1); }
  void Return(std::uint32_t value) { Emit(BPF_RET | BPF_K, value, -1, -1); }
  // if (A == k) goto target;
  void JumpIfEqual(std::uint32_t k, int target) { Emit(BPF_JMP | BPF_JEQ | BPF_K, k, target, -1); }
  // if (A >= k) goto target;
  void JumpIfAtLeast(std::uint32_t k, int target) { Emit(BPF_JMP | BPF_JGE | BPF_K, k, target, -1); }
  // A &= k;
  void And(std::uint32_t k) { Emit(BPF_ALU | BPF_AND | BPF_K, k, -1, -1); }

  // Resolves labels; fails on backward or too-long jumps.
  std::optional<std::vector<sock_filter>> Finish() const {
    std::vector<sock_filter> out;
    for (std::size_t i = 0; i < code_.size(); ++i) {
      const Insn& insn = code_[i];
      sock_filter filter{insn.code, 0, 0, insn.k};
      for (int which = 0; which < 2; ++which) {
        const int label = which == 0 ? insn.jt : insn.jf;
        if (label < 0) {
          continue;
        }
        const int target = labels_[static_cast<std::size_t>(label)];
        const long offset = static_cast<long>(target) - static_cast<long>(i) - 1;
        if (target < 0 || offset < 0 || offset > 255) {
          return std::nullopt;
        }
        (which == 0 ? filter.jt : filter.jf) = static_cast<std::uint8_t>(offset);
      }
      out.push_back(filter);
    }
    return out;
  }

 private:
  struct Insn {
    std::uint16_t code;
    std::uint32_t k;
    int jt;
    int jf;
  };
  void Emit(std::uint16_t code, std::uint32_t k, int jt, int jf) { code_.push_back({code, k, jt, jf}); }
  std::vector<Insn> code_;
  std::vector<int> labels_;
};

constexpr std::uint32_t kOffsetNr = offsetof(struct seccomp_data, nr);
constexpr std::uint32_t kOffsetArch = offsetof(struct seccomp_data, arch);
// The low 32 bits of argument `i` (little-endian); the kernel truncates the
// `int`/`unsigned int`/`pid_t` arguments filtered here to those bits.
constexpr std::uint32_t ArgLow(int i) {
  return static_cast<std::uint32_t>(offsetof(struct seccomp_data, args) + 8 * static_cast<std::size_t>(i));
}

// The system calls the filter looks at, per architecture (0: none).
struct SyscallNumbers {
  std::uint32_t arch;
  std::uint32_t ioctl;
  std::uint32_t socket;
  std::uint32_t socketpair;
  std::uint32_t io_uring_setup;
  std::uint32_t socketcall;
  std::uint32_t kill;
  std::uint32_t tkill;
  std::uint32_t tgkill;
  std::uint32_t rt_sigqueueinfo;
  std::uint32_t rt_tgsigqueueinfo;
  std::uint32_t pidfd_send_signal;
  std::uint32_t fcntl;
  std::uint32_t fcntl64;
  std::uint32_t truncate;
  std::uint32_t truncate64;
  std::uint32_t open;  // 0: none (aarch64 has only openat)
  std::uint32_t openat;
  std::uint32_t openat2;
  std::uint32_t execve;
  std::uint32_t execveat;
  std::uint32_t ptrace;
  std::uint32_t process_vm_writev;
  std::uint32_t clone;
  std::uint32_t clone3;
  std::uint32_t seccomp;
  std::uint32_t mmap;  // mmap (x86-64), mmap2 (i386)
  std::uint32_t mprotect;
  std::uint32_t pkey_mprotect;
};

#if defined(__x86_64__) || defined(__aarch64__)
// This architecture's numbers, from the build's own headers.
constexpr SyscallNumbers NativeNumbers(std::uint32_t arch) {
  return SyscallNumbers{.arch = arch,
                        .ioctl = __NR_ioctl,
                        .socket = __NR_socket,
                        .socketpair = __NR_socketpair,
                        .io_uring_setup = __NR_io_uring_setup,
                        .socketcall = 0,
                        .kill = __NR_kill,
                        .tkill = __NR_tkill,
                        .tgkill = __NR_tgkill,
                        .rt_sigqueueinfo = __NR_rt_sigqueueinfo,
                        .rt_tgsigqueueinfo = __NR_rt_tgsigqueueinfo,
                        .pidfd_send_signal = __NR_pidfd_send_signal,
                        .fcntl = __NR_fcntl,
                        .fcntl64 = 0,
                        .truncate = __NR_truncate,
                        .truncate64 = 0,
#ifdef __NR_open
                        .open = __NR_open,
#else
                        .open = 0,
#endif
                        .openat = __NR_openat,
                        .openat2 = 437,
                        .execve = __NR_execve,
                        .execveat = __NR_execveat,
                        .ptrace = __NR_ptrace,
                        .process_vm_writev = __NR_process_vm_writev,
                        .clone = __NR_clone,
                        .clone3 = 435,
                        .seccomp = __NR_seccomp,
                        .mmap = __NR_mmap,
                        .mprotect = __NR_mprotect,
                        .pkey_mprotect = __NR_pkey_mprotect};
}
#endif

#if defined(__x86_64__)
constexpr SyscallNumbers kNative = NativeNumbers(AUDIT_ARCH_X86_64);
// i386 numbers (arch/x86/entry/syscalls/syscall_32.tbl).
constexpr std::optional<SyscallNumbers> kCompat = SyscallNumbers{.arch = AUDIT_ARCH_I386,
                                                                 .ioctl = 54,
                                                                 .socket = 359,
                                                                 .socketpair = 360,
                                                                 .io_uring_setup = 425,
                                                                 .socketcall = 102,
                                                                 .kill = 37,
                                                                 .tkill = 238,
                                                                 .tgkill = 270,
                                                                 .rt_sigqueueinfo = 178,
                                                                 .rt_tgsigqueueinfo = 335,
                                                                 .pidfd_send_signal = 424,
                                                                 .fcntl = 55,
                                                                 .fcntl64 = 221,
                                                                 .truncate = 92,
                                                                 .truncate64 = 193,
                                                                 .open = 5,
                                                                 .openat = 295,
                                                                 .openat2 = 437,
                                                                 .execve = 11,
                                                                 .execveat = 358,
                                                                 .ptrace = 26,
                                                                 .process_vm_writev = 348,
                                                                 .clone = 120,
                                                                 .clone3 = 435,
                                                                 .seccomp = 354,
                                                                 .mmap = 192,
                                                                 .mprotect = 125,
                                                                 .pkey_mprotect = 380};
constexpr bool kHasX32 = true;
constexpr bool kSeccompSupported = true;
#elif defined(__aarch64__)
constexpr SyscallNumbers kNative = NativeNumbers(AUDIT_ARCH_AARCH64);
constexpr std::optional<SyscallNumbers> kCompat = std::nullopt;
constexpr bool kHasX32 = false;
constexpr bool kSeccompSupported = true;
#else
constexpr SyscallNumbers kNative{};
constexpr std::optional<SyscallNumbers> kCompat = std::nullopt;
constexpr bool kHasX32 = false;
constexpr bool kSeccompSupported = false;
#endif

constexpr std::uint32_t Errno(int error) {
  return SECCOMP_RET_ERRNO | (static_cast<std::uint32_t>(error) & SECCOMP_RET_DATA);
}

// What the filter enforces.
struct FilterSpec {
  // `network = none` / `loopback`: which socket calls are refused.
  bool no_sockets = false;       // none: socket() of every family, io_uring
  bool no_unix_sockets = false;  // loopback: socket(AF_UNIX)
  // Landlock below ABI 3 cannot restrict truncation: refuse truncate(2),
  // opens that truncate a file opened read-only (O_RDONLY|O_TRUNC needs
  // only the read right there), and openat2 (its flags are out of reach).
  bool no_truncate = false;
  // io_uring performs opens and sockets the filter never sees.
  bool no_io_uring = false;
  // Signals aimed at govrun: these argument values are refused.
  std::vector<std::uint32_t> protected_pids;    // kill/tkill/tgkill/rt_*sigqueueinfo first argument
  std::vector<std::uint32_t> protected_owners;  // F_SETOWN argument
  // Below Landlock ABI 6 (no signal scoping): refuse the ways to signal a
  // process whose target the filter cannot read.
  bool no_unchecked_signals = false;
  // A governed session: execve/execveat stop for the session supervisor
  // (SECCOMP_RET_TRACE; without a tracer the kernel fails them with
  // ENOSYS), and no process of the session writes another's memory
  // (process_vm_writev) or traces one (ptrace). The compat (i386) exec
  // calls are refused instead: the supervisor reads native registers only.
  bool trace_exec = false;
  // With trace_exec: SECCOMP_RET_USER_NOTIF instead (the kernel mechanism).
  bool notify_exec = false;
  // With trace_exec and without notify_exec (the ptrace mechanism): native
  // mmap of a file and mprotect/pkey_mprotect that ask for PROT_EXEC stop
  // for the supervisor too (kSessionMemoryTraceData), which kills a process
  // that would get executable memory from a file written in the session.
  // (The kernel mechanism watches them with BPF.)
  bool trace_exec_memory = false;
};

// Per-architecture block.
void EmitArchBlock(Bpf& bpf, const SyscallNumbers& numbers, const FilterSpec& spec, bool native, bool x32) {
  const int ioctl_check = bpf.NewLabel();
  const int socket_check = bpf.NewLabel();
  const int signal_check = bpf.NewLabel();
  const int fcntl_check = bpf.NewLabel();
  const int deny_eperm = bpf.NewLabel();
  const int deny_enosys = bpf.NewLabel();
  const int deny_eacces = bpf.NewLabel();
  const int open_flags1 = bpf.NewLabel();  // flags in argument 1 (open)
  const int open_flags2 = bpf.NewLabel();  // flags in argument 2 (openat)
  bpf.Load(kOffsetNr);
  if (x32) {
    // x32 system calls (__X32_SYSCALL_BIT) are refused outright.
    bpf.JumpIfAtLeast(0x40000000u, deny_enosys);
  }
  const int trace_exec = bpf.NewLabel();
  const int clone_check = bpf.NewLabel();
  const int seccomp_check = bpf.NewLabel();
  const int mmap_check = bpf.NewLabel();
  const int mprotect_check = bpf.NewLabel();
  const bool trace_memory = spec.trace_exec && spec.trace_exec_memory && native;
  // Compat (i386) calls of a session: executable memory from a file is
  // refused outright (neither mechanism reads compat calls' files).
  const bool refuse_compat_memory = spec.trace_exec && !native;
  if (trace_memory || refuse_compat_memory) {
    bpf.JumpIfEqual(numbers.mmap, mmap_check);
    bpf.JumpIfEqual(numbers.mprotect, mprotect_check);
    bpf.JumpIfEqual(numbers.pkey_mprotect, mprotect_check);
  }
  if (spec.trace_exec) {
    const int exec_action = native ? trace_exec : deny_enosys;
    bpf.JumpIfEqual(numbers.execve, exec_action);
    bpf.JumpIfEqual(numbers.execveat, exec_action);
    bpf.JumpIfEqual(numbers.ptrace, deny_eperm);
    bpf.JumpIfEqual(numbers.process_vm_writev, deny_eperm);
    // No process leaves the tracing: clone(CLONE_UNTRACED) is refused, and
    // clone3 (whose flags a filter cannot read; libc falls back to clone);
    // and none becomes the supervisor's own child (CLONE_PARENT from the
    // root), which the kernel mechanism would never reap.
    bpf.JumpIfEqual(numbers.clone, clone_check);
    bpf.JumpIfEqual(numbers.clone3, deny_enosys);
    // No filter of the run's own may answer an exec in the supervisor's
    // place: SECCOMP_RET_USER_NOTIF outranks SECCOMP_RET_TRACE, and without
    // a listener (NEW_LISTENER refused) the kernel fails such a call.
    bpf.JumpIfEqual(numbers.seccomp, seccomp_check);
  }
  bpf.JumpIfEqual(numbers.ioctl, ioctl_check);
  for (const std::uint32_t call :
       {numbers.kill, numbers.tkill, numbers.tgkill, numbers.rt_sigqueueinfo, numbers.rt_tgsigqueueinfo}) {
    bpf.JumpIfEqual(call, signal_check);
  }
  bpf.JumpIfEqual(numbers.fcntl, fcntl_check);
  if (numbers.fcntl64 != 0) {
    bpf.JumpIfEqual(numbers.fcntl64, fcntl_check);
  }
  if (spec.no_unchecked_signals) {
    bpf.JumpIfEqual(numbers.pidfd_send_signal, deny_enosys);
  }
  if (spec.no_io_uring) {
    bpf.JumpIfEqual(numbers.io_uring_setup, deny_eperm);
  }
  if (spec.no_sockets || spec.no_unix_sockets) {
    bpf.JumpIfEqual(numbers.socket, socket_check);
    if (numbers.socketcall != 0) {
      bpf.JumpIfEqual(numbers.socketcall, deny_eperm);
    }
  }
  if (spec.no_truncate) {
    bpf.JumpIfEqual(numbers.truncate, deny_eacces);
    if (numbers.truncate64 != 0) {
      bpf.JumpIfEqual(numbers.truncate64, deny_eacces);
    }
    if (numbers.open != 0) {
      bpf.JumpIfEqual(numbers.open, open_flags1);
    }
    bpf.JumpIfEqual(numbers.openat, open_flags2);
    bpf.JumpIfEqual(numbers.openat2, deny_enosys);
  }
  bpf.Return(SECCOMP_RET_ALLOW);
  bpf.Bind(open_flags1);
  bpf.Load(ArgLow(1));
  bpf.And(O_ACCMODE | O_TRUNC);
  bpf.JumpIfEqual(O_RDONLY | O_TRUNC, deny_eacces);
  bpf.Return(SECCOMP_RET_ALLOW);
  bpf.Bind(open_flags2);
  bpf.Load(ArgLow(2));
  bpf.And(O_ACCMODE | O_TRUNC);
  bpf.JumpIfEqual(O_RDONLY | O_TRUNC, deny_eacces);
  bpf.Return(SECCOMP_RET_ALLOW);
  bpf.Bind(ioctl_check);
  {
    bpf.Load(ArgLow(1));
    bpf.JumpIfEqual(TIOCSTI, deny_eperm);
    bpf.JumpIfEqual(TIOCLINUX, deny_eperm);
    if (spec.no_unchecked_signals) {
      bpf.JumpIfEqual(FIOSETOWN, deny_eperm);
      bpf.JumpIfEqual(SIOCSPGRP, deny_eperm);
    }
    bpf.Return(SECCOMP_RET_ALLOW);
  }
  bpf.Bind(signal_check);
  {
    bpf.Load(ArgLow(0));
    for (const std::uint32_t pid : spec.protected_pids) {
      bpf.JumpIfEqual(pid, deny_eperm);
    }
    bpf.Return(SECCOMP_RET_ALLOW);
  }
  bpf.Bind(fcntl_check);
  {
    const int owner_check = bpf.NewLabel();
    bpf.Load(ArgLow(1));
    bpf.JumpIfEqual(F_SETOWN, owner_check);
    if (spec.no_unchecked_signals) {
      bpf.JumpIfEqual(F_SETOWN_EX, deny_eperm);
    }
    bpf.Return(SECCOMP_RET_ALLOW);
    bpf.Bind(owner_check);
    bpf.Load(ArgLow(2));
    for (const std::uint32_t owner : spec.protected_owners) {
      bpf.JumpIfEqual(owner, deny_eperm);
    }
    bpf.Return(SECCOMP_RET_ALLOW);
  }
  bpf.Bind(socket_check);
  {
    // network = none: every family; loopback: AF_UNIX only (the namespace
    // already confines the others). socketpair() reaches nothing outside.
    if (spec.no_sockets) {
      bpf.Return(Errno(EAFNOSUPPORT));
    } else {
      const int unix_family = bpf.NewLabel();
      bpf.Load(ArgLow(0));
      bpf.JumpIfEqual(AF_UNIX, unix_family);
      bpf.Return(SECCOMP_RET_ALLOW);
      bpf.Bind(unix_family);
      bpf.Return(Errno(EAFNOSUPPORT));
    }
  }
  if (spec.trace_exec) {
    bpf.Bind(clone_check);
    const int plain_clone = bpf.NewLabel();
    bpf.Load(ArgLow(0));
    bpf.And(CLONE_UNTRACED | CLONE_PARENT);
    bpf.JumpIfEqual(0, plain_clone);
    bpf.Return(Errno(EPERM));
    bpf.Bind(plain_clone);
    bpf.Return(SECCOMP_RET_ALLOW);
    bpf.Bind(seccomp_check);
    const int listener = bpf.NewLabel();
    bpf.Load(ArgLow(1));
    bpf.And(SECCOMP_FILTER_FLAG_NEW_LISTENER);
    bpf.JumpIfEqual(SECCOMP_FILTER_FLAG_NEW_LISTENER, listener);
    bpf.Return(SECCOMP_RET_ALLOW);
    bpf.Bind(listener);
    bpf.Return(Errno(EPERM));
  }
  if (trace_memory || refuse_compat_memory) {
    // mmap(addr, len, prot, flags, fd, off): PROT_EXEC of a file (not
    // MAP_ANONYMOUS) stops; mprotect(addr, len, prot) with PROT_EXEC stops
    // (the supervisor finds what backs the range). Compat calls: EPERM.
    const std::uint32_t memory_action = trace_memory ? SECCOMP_RET_TRACE | kSessionMemoryTraceData : Errno(EPERM);
    const int exec_wanted = bpf.NewLabel();
    const int anonymous = bpf.NewLabel();
    const int memory_trace = bpf.NewLabel();
    bpf.Bind(mmap_check);
    bpf.Load(ArgLow(2));
    bpf.And(PROT_EXEC);
    bpf.JumpIfEqual(PROT_EXEC, exec_wanted);
    bpf.Return(SECCOMP_RET_ALLOW);
    bpf.Bind(exec_wanted);
    bpf.Load(ArgLow(3));
    bpf.And(MAP_ANONYMOUS);
    bpf.JumpIfEqual(MAP_ANONYMOUS, anonymous);
    bpf.Return(memory_action);
    bpf.Bind(anonymous);
    bpf.Return(SECCOMP_RET_ALLOW);
    bpf.Bind(mprotect_check);
    bpf.Load(ArgLow(2));
    bpf.And(PROT_EXEC);
    bpf.JumpIfEqual(PROT_EXEC, memory_trace);
    bpf.Return(SECCOMP_RET_ALLOW);
    bpf.Bind(memory_trace);
    bpf.Return(memory_action);
  }
  // The refusals come last: every jump to them is forward.
  bpf.Bind(trace_exec);
  bpf.Return(spec.notify_exec ? SECCOMP_RET_USER_NOTIF : SECCOMP_RET_TRACE | kSessionTraceData);
  bpf.Bind(deny_enosys);
  bpf.Return(Errno(ENOSYS));
  bpf.Bind(deny_eacces);
  bpf.Return(Errno(EACCES));
  bpf.Bind(deny_eperm);
  bpf.Return(Errno(EPERM));
}

std::optional<std::vector<sock_filter>> BuildSeccompProgram(const FilterSpec& spec) {
  Bpf bpf;
  const int native = bpf.NewLabel();
  const int compat = bpf.NewLabel();
  bpf.Load(kOffsetArch);
  bpf.JumpIfEqual(kNative.arch, native);
  if (kCompat) {
    bpf.JumpIfEqual(kCompat->arch, compat);
  }
  // An architecture this filter does not know: its system call numbers mean
  // something else, so nothing it asks can be judged.
  bpf.Return(SECCOMP_RET_KILL_PROCESS);
  bpf.Bind(native);
  EmitArchBlock(bpf, kNative, spec, true, kHasX32);
  bpf.Bind(compat);
  if (kCompat) {
    EmitArchBlock(bpf, *kCompat, spec, false, false);
  } else {
    bpf.Return(SECCOMP_RET_KILL_PROCESS);
  }
  return bpf.Finish();
}

// ----------------------------------------------------------- capabilities --

struct CapabilitySets {
  std::uint64_t effective = 0;
  std::uint64_t permitted = 0;
  std::uint64_t inheritable = 0;
};

std::optional<CapabilitySets> OwnCapabilities() {
  __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[2]{};
  if (syscall(SYS_capget, &header, data) != 0) {
    return std::nullopt;
  }
  auto join = [](std::uint32_t low, std::uint32_t high) {
    return static_cast<std::uint64_t>(low) | (static_cast<std::uint64_t>(high) << 32);
  };
  return CapabilitySets{join(data[0].effective, data[1].effective), join(data[0].permitted, data[1].permitted),
                        join(data[0].inheritable, data[1].inheritable)};
}

bool HasEffectiveCapability(int capability) {
  const auto sets = OwnCapabilities();
  return sets && ((sets->effective >> capability) & 1u) != 0;
}

// Capability numbers this kernel knows: 0 .. the last one PR_CAPBSET_READ accepts.
int CapabilityCount() {
  int count = 0;
  while (count < 64 && prctl(PR_CAPBSET_READ, count, 0, 0, 0) >= 0) {
    ++count;
  }
  return count;
}

// Brings `lo` up in the current (new) network namespace.
int LoopbackUp() {
  const int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    return errno;
  }
  struct ifreq request {};
  std::strncpy(request.ifr_name, "lo", IFNAMSIZ - 1);
  int result = 0;
  if (ioctl(fd, SIOCGIFFLAGS, &request) != 0) {
    result = errno;
  } else {
    request.ifr_flags = static_cast<short>(request.ifr_flags | IFF_UP | IFF_RUNNING);
    if (ioctl(fd, SIOCSIFFLAGS, &request) != 0) {
      result = errno;
    }
  }
  close(fd);
  return result;
}

}  // namespace

std::vector<CgroupMount> CgroupMounts() {
  std::vector<CgroupMount> mounts;
  std::string text;
  if (!ReadFile("/proc/self/mountinfo", text)) {
    return mounts;
  }
  for (const std::string_view line : Split(text, "\n")) {
    // id parent major:minor root mount-point options [optional...] - fstype source super-options
    const std::size_t dash = line.find(" - ");
    if (dash == std::string_view::npos) {
      continue;
    }
    const std::vector<std::string_view> head = Split(line.substr(0, dash), " ");
    const std::vector<std::string_view> tail = Split(line.substr(dash + 3), " ");
    if (head.size() < 5 || tail.size() < 3) {
      continue;
    }
    if (tail[0] == "cgroup2") {
      mounts.push_back({std::string(head[4]), true, {}});
    } else if (tail[0] == "cgroup") {
      CgroupMount mount{std::string(head[4]), false, {}};
      for (const std::string_view option : Split(tail[2], ",")) {
        mount.v1_controllers.emplace_back(option);
      }
      mounts.push_back(std::move(mount));
    }
  }
  return mounts;
}

int LandlockAbi() {
  const long abi = syscall(SYS_landlock_create_ruleset, nullptr, 0, LANDLOCK_CREATE_RULESET_VERSION);
  return abi < 0 ? 0 : static_cast<int>(abi);
}

namespace {

// Everything planned for one run (Sandbox::State is this).
struct PlannedState {
  std::vector<lineage::EnforcedLimit> limits;
  std::vector<Cgroup> cgroups;
  UniqueFd cgroup_v2_fd;
  std::optional<rlim_t> rlimit_as;
  std::optional<rlim_t> rlimit_nproc;
  UniqueFd landlock;
  std::vector<sock_filter> seccomp;
  Sandbox::ChildSteps capability_steps;  // only the capability fields are used
  bool new_netns = false;
  bool new_userns = false;        // unprivileged: the network namespace needs its own user namespace
  std::optional<PrivateTmp> private_tmp;  // `tmp = private`; removed after the cgroups
  bool governed_session = false;  // SandboxOptions::governed_session
  bool session_notify = false;    // SandboxOptions::session_notify
  uid_t outer_uid = 0;

  PlannedState() = default;
  PlannedState(const PlannedState&) = delete;
  PlannedState& operator=(const PlannedState&) = delete;
  ~PlannedState() {
    cgroup_v2_fd = UniqueFd();
    for (const Cgroup& cgroup : cgroups) {
      rmdir(cgroup.dir.c_str());
    }
  }
};

// The capabilities the run will hold: those asked for that this process has.
struct RunCapabilities {
  std::uint64_t keep = 0;
  bool root = false;  // uid 0 (RLIMIT_NPROC never binds it)
  bool Keeps(int capability) const { return ((keep >> capability) & 1u) != 0; }
};

Failure Refuse(const std::string& obligation, const std::string& why) {
  return Failure{kExitConfig, "cannot enforce the `" + obligation + "` obligation: " + why};
}

// "a; b; " → "a; b".
std::string TrimReasons(std::string why) {
  if (why.size() >= 2) {
    why.resize(why.size() - 2);
  }
  return why;
}

// memory and processes: one per-run cgroup per hierarchy holding every
// limit file of that hierarchy, else the rlimit where it binds; then the
// run's own cgroup v2 for tracking when none of those is a v2 one.
std::optional<Failure> PlanProcessLimits(PlannedState& state, const ir::Obligations& obligations,
                                         const SandboxOptions& options, const RunCapabilities& caps) {
  const std::vector<CgroupMount> mounts =
      options.cgroup_mounts_override ? *options.cgroup_mounts_override : CgroupMounts();
  ControllerLimits memory_limits{"memory", {}, {}};
  ControllerLimits pids_limits{"pids", {}, {}};
  std::vector<const ControllerLimits*> wanted;
  if (obligations.memory_bytes > 0) {
    const std::string value = std::to_string(obligations.memory_bytes);  // the cgroup files take bytes
    memory_limits.v2_files = {{"memory.max", value}, {"?memory.swap.max", "0"}};
    // Count swap too where the kernel accounts it.
    memory_limits.v1_files = {{"memory.limit_in_bytes", value}, {"?memory.memsw.limit_in_bytes", value}};
    wanted.push_back(&memory_limits);
  }
  if (obligations.processes > 0) {
    const std::string value = std::to_string(obligations.processes);
    pids_limits.v2_files = {{"pids.max", value}};
    pids_limits.v1_files = {{"pids.max", value}};
    wanted.push_back(&pids_limits);
  }
  std::map<std::string, std::string> why_not;  // controller → reasons it has no cgroup
  // Controllers grouped by the parent directory they are placed in.
  std::map<std::string, std::pair<Placement, std::vector<const ControllerLimits*>>> groups;
  for (const ControllerLimits* limits : wanted) {
    std::string why;
    if (auto placement = PlaceController(mounts, limits->controller, why)) {
      auto& group = groups[placement->parent];
      group.first = *placement;
      group.second.push_back(limits);
    } else {
      why_not[limits->controller] =
          why.empty() ? "no cgroup hierarchy with the " + limits->controller + " controller is mounted"
                      : TrimReasons(why);
    }
  }
  for (auto& [parent, group] : groups) {
    std::string why;
    auto cgroup = CreateCgroup(group.first, group.second, options.run_id, why);
    if (!cgroup) {
      for (const ControllerLimits* limits : group.second) {
        why_not[limits->controller] = TrimReasons(why);
      }
      continue;
    }
    if (cgroup->v2) {
      const int fd = open(cgroup->dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
      if (fd < 0) {
        const int error = errno;
        rmdir(cgroup->dir.c_str());
        return Refuse(group.second.front()->controller == "memory" ? "memory" : "processes",
                      "cannot open " + cgroup->dir + ": " + ErrnoText(error));
      }
      state.cgroup_v2_fd = UniqueFd(fd);
    }
    state.cgroups.push_back(std::move(*cgroup));
  }
  // Every run lives in a cgroup v2 of its own when govrun may create one
  // (root, or a delegated subtree): the child is born in it, the whole run
  // is killed at once with cgroup.kill, and processes that left the
  // program's session are still found. No controller is needed for that.
  for (const CgroupMount& mount : mounts) {
    if (state.cgroup_v2_fd.valid()) {
      break;
    }
    const auto own_path = mount.v2 ? OwnCgroupPath(true, "") : std::nullopt;
    if (!own_path) {
      continue;
    }
    std::string why;
    const Placement placement{mount.mount_point + (*own_path == "/" ? "" : *own_path), true};
    if (auto cgroup = CreateCgroup(placement, {}, options.run_id, why)) {
      const int fd = open(cgroup->dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
      if (fd < 0) {
        rmdir(cgroup->dir.c_str());
        continue;
      }
      state.cgroup_v2_fd = UniqueFd(fd);
      state.cgroups.push_back(std::move(*cgroup));
    }
  }
  std::string tracking = "govrun as child subreaper (no cgroup v2 of its own)";
  for (const Cgroup& cgroup : state.cgroups) {
    if (cgroup.v2) {
      tracking = "cgroup v2 " + cgroup.dir + " (the child is born in it; cgroup.kill ends the whole run)";
    }
  }
  state.limits.push_back({"tracking", tracking, "always"});

  auto cgroup_with = [&](const std::string& controller) -> const Cgroup* {
    for (const Cgroup& cgroup : state.cgroups) {
      if (HasController(cgroup, controller)) {
        return &cgroup;
      }
    }
    return nullptr;
  };
  if (obligations.memory_bytes > 0) {
    const std::string value = ir::FormatSize(obligations.memory_bytes);  // as the policy writes it
    if (const Cgroup* cgroup = cgroup_with("memory")) {
      state.limits.push_back(
          {"memory", cgroup->v2 ? "cgroup v2 memory.max" : "cgroup v1 memory.limit_in_bytes", value});
    } else if (caps.Keeps(CAP_SYS_RESOURCE)) {
      return Refuse("memory", "no usable cgroup memory controller (" + why_not["memory"] +
                                  ") and RLIMIT_AS does not bind a run that keeps CAP_SYS_RESOURCE");
    } else {
      state.rlimit_as = static_cast<rlim_t>(obligations.memory_bytes);
      state.limits.push_back({"memory", "RLIMIT_AS (no usable cgroup: " + why_not["memory"] + ")", value});
    }
  }
  if (obligations.processes > 0) {
    const std::string value = std::to_string(obligations.processes);
    if (const Cgroup* cgroup = cgroup_with("pids")) {
      state.limits.push_back({"processes", cgroup->v2 ? "cgroup v2 pids.max" : "cgroup v1 pids.max", value});
    } else if (caps.root || caps.Keeps(CAP_SYS_RESOURCE) || caps.Keeps(CAP_SYS_ADMIN)) {
      return Refuse("processes", "no usable cgroup pids controller (" + why_not["pids"] +
                                     ") and RLIMIT_NPROC does not bind uid 0 or a run that keeps CAP_SYS_RESOURCE "
                                     "or CAP_SYS_ADMIN");
    } else {
      state.rlimit_nproc = static_cast<rlim_t>(obligations.processes);
      state.limits.push_back({"processes",
                              "RLIMIT_NPROC (counts every process of uid " + std::to_string(getuid()) +
                                  "; no usable cgroup: " + why_not["pids"] + ")",
                              value});
    }
  }
  return std::nullopt;
}

// The child empties its capability sets down to `caps.keep` (and drops the
// bounding set where this process may), so no_new_privs keeps exec from
// giving any back — also to root.
void PlanCapabilities(PlannedState& state, const RunCapabilities& caps) {
  Sandbox::ChildSteps& steps = state.capability_steps;
  steps.cap_header = {_LINUX_CAPABILITY_VERSION_3, 0};
  for (int word = 0; word < 2; ++word) {
    const auto bits = static_cast<std::uint32_t>(caps.keep >> (32 * word));
    steps.cap_data[word].effective = bits;
    steps.cap_data[word].permitted = bits;
    steps.cap_data[word].inheritable = bits;
  }
  const int count = CapabilityCount();
  const bool can_drop_bounding = HasEffectiveCapability(CAP_SETPCAP);
  std::string kept;
  for (int capability = 0; capability < count; ++capability) {
    if (caps.Keeps(capability)) {
      steps.ambient[steps.ambient_count++] = capability;
      const std::string_view name = ir::CapabilityName(capability);
      kept += (kept.empty() ? "" : ",") + (name.empty() ? std::to_string(capability) : std::string(name));
    } else if (can_drop_bounding && prctl(PR_CAPBSET_READ, capability, 0, 0, 0) == 1) {
      steps.bounding_drop[steps.bounding_drop_count++] = capability;
    }
  }
  state.limits.push_back({"capabilities",
                          std::string("capability sets emptied before exec, no_new_privs") +
                              (can_drop_bounding ? ", bounding set dropped" : ""),
                          kept.empty() ? "none" : kept});
}

// The Landlock domain: the baseline (no device nodes, no writes beneath
// /proc, /sys and /dev, no tracing and, on ABI >= 6, no signals or abstract
// sockets outside the run) and the read/write obligations.
std::optional<Failure> PlanLandlock(PlannedState& state, const ir::Obligations& obligations,
                                    const SandboxOptions& options, const RunCapabilities& caps, int abi) {
  const bool devices = caps.Keeps(CAP_MKNOD);
  const bool confined_network =
      obligations.network == ir::Network::kNone || obligations.network == ir::Network::kLoopback;
  const bool confined_writes = obligations.has_write || obligations.has_create;
  // The obligations a failure is reported against ("read/create"), else
  // the baseline every run gets.
  std::string name;
  for (const auto& [set, obligation] :
       {std::pair{obligations.has_read, "read"}, std::pair{obligations.has_write, "write"},
        std::pair{obligations.has_create, "create"}}) {
    if (set) {
      name += (name.empty() ? "" : "/") + std::string(obligation);
    }
  }
  if (name.empty()) {
    name = "baseline";
  }
  if (abi < 1) {
    if (obligations.has_read || confined_writes) {
      return Refuse(name, "Landlock is not available in this kernel (not built in or not enabled as an LSM)");
    }
    state.limits.push_back({"baseline",
                            "no Landlock in this kernel: device nodes refused by the emptied capability sets only; "
                            "/proc, /sys and /dev protected by file permissions only (a root run can write them); "
                            "processes outside the run are protected by ordinary same-user rules only",
                            "always"});
    return std::nullopt;
  }
  if (obligations.has_create && abi < 3) {
    return Refuse("create", "Landlock ABI " + std::to_string(abi) +
                                " cannot forbid truncation (ABI 3, Linux 6.2, can): a run could empty the files it "
                                "may not remove");
  }
  const std::uint64_t write_rights = WriteRights(abi, devices);
  // Writes are always handled: without a `write` obligation they are
  // granted everywhere but beneath the system interfaces.
  RulesetAttr attr;
  attr.handled_access_fs = kDeviceRights | write_rights;
  if (obligations.has_read) {
    attr.handled_access_fs |= kReadRights;
  }
  if (abi >= 6) {
    attr.scoped = kScopeSignal | (confined_network ? kScopeAbstractUnixSocket : 0);
  }
  const std::uint64_t handled = attr.handled_access_fs;
  const long fd = syscall(SYS_landlock_create_ruleset, &attr, RulesetAttrSize(abi), 0);
  if (fd < 0) {
    return Refuse(name, std::string("landlock_create_ruleset: ") + ErrnoText(errno));
  }
  state.landlock = UniqueFd(static_cast<int>(fd));
  const int ruleset = state.landlock.get();
  std::vector<std::string> missing;
  auto add = [&](const std::string& path, std::uint64_t rights, bool from_policy = false) -> std::optional<Failure> {
    auto added = AddLandlockRule(ruleset, path, rights, handled);
    if (!added.ok()) {
      return Refuse(name, added.error().message);
    }
    if (!added.value() && from_policy) {
      missing.push_back(path);
    }
    return std::nullopt;
  };
  auto everywhere_but_system = [&]() -> std::optional<Failure> {
    if (auto granted = GrantOutsideSystemInterfaces(ruleset, write_rights, handled); !granted.ok()) {
      return Refuse(confined_writes ? name : "baseline", granted.error().message);
    }
    return std::nullopt;
  };
  auto mechanism = [&] {
    std::string text = "landlock ABI " + std::to_string(abi);
    if (!missing.empty()) {
      text += " (missing, so granting nothing: " + JoinPaths(missing) + ")";
    }
    missing.clear();
    return text;
  };
  // The private temporary directory: readable and writable whatever the
  // obligations, bound to the directory made, not to its name.
  if (state.private_tmp) {
    const std::uint64_t rights = (obligations.has_read ? kReadRights : 0) | (confined_writes ? write_rights : 0);
    if (auto added = AddLandlockRuleForFd(ruleset, state.private_tmp->fd(), state.private_tmp->path(), rights, handled);
        !added.ok()) {
      return Refuse("tmp", added.error().message);
    }
  }
  if (obligations.has_read) {
    for (const std::string& path : obligations.read) {
      if (auto failure = add(path, kReadRights, true)) {
        return failure;
      }
    }
    for (const char* path : kLoaderReadPaths) {
      if (auto failure = add(path, kReadRights)) {
        return failure;
      }
    }
    // The program and interpreter: the very files that were hashed.
    for (const int program_fd : options.program_fds) {
      if (auto added = AddLandlockRuleForFd(ruleset, program_fd, "the program", LANDLOCK_ACCESS_FS_READ_FILE, handled);
          !added.ok()) {
        return Refuse(name, added.error().message);
      }
    }
    state.limits.push_back({"read", mechanism(), JoinPaths(obligations.read)});
  }
  if (confined_writes) {
    // Without `write`, a `create` run writes nowhere else (write = []).
    for (const std::string& path : obligations.write) {
      // `/` stands for everything but the system interfaces; a path beneath
      // them (`/dev/shm`) is granted as named.
      if (auto failure = path == "/" ? everywhere_but_system() : add(path, write_rights, true)) {
        return failure;
      }
    }
    if (obligations.has_write) {
      std::string text = mechanism();
      if (abi < 3) {
        text +=
            "; truncate(2), truncating read-only opens, openat2 and io_uring refused by seccomp (Landlock below "
            "ABI 3 cannot restrict truncation)";
      }
      state.limits.push_back({"write", text, JoinPaths(obligations.write)});
    }
    if (obligations.has_create) {
      for (const std::string& path : obligations.create) {
        if (auto failure = add(path, kCreateRights & write_rights, true)) {
          return failure;
        }
      }
      state.limits.push_back({"create",
                              mechanism() + ": make files, directories and links and write them; no removal, "
                                            "rename or truncation",
                              JoinPaths(obligations.create)});
    }
    for (const char* path : kAlwaysWritable) {
      if (auto failure = add(path, LANDLOCK_ACCESS_FS_WRITE_FILE)) {
        return failure;
      }
    }
  } else {
    if (auto failure = everywhere_but_system()) {
      return failure;
    }
    for (const char* path : kWritableDevices) {
      if (auto failure = add(path, LANDLOCK_ACCESS_FS_WRITE_FILE)) {
        return failure;
      }
    }
    for (const char* path : kWritableDeviceDirs) {
      if (auto failure = add(path, write_rights)) {
        return failure;
      }
    }
  }
  std::string baseline = "landlock ABI " + std::to_string(abi) + ": " +
                         (devices ? "device nodes allowed (CAP_MKNOD kept)" : "no device nodes") +
                         ", no writes beneath /proc, /sys, /dev but what is named, no tracing of processes outside "
                         "the run";
  baseline += abi >= 6 ? ", no signals to processes outside the run" : "";
  baseline += abi >= 6 && confined_network ? ", no abstract Unix sockets outside the run" : "";
  state.limits.push_back({"baseline", baseline, "always"});
  return std::nullopt;
}

// `network`: the namespaces of `loopback`; the seccomp filter (sockets,
// truncate(2) below Landlock ABI 3, signals to govrun).
std::optional<Failure> PlanNetworkAndSeccomp(PlannedState& state, const ir::Obligations& obligations,
                                             const SandboxOptions& options, int abi) {
  const bool no_network = obligations.network == ir::Network::kNone;
  const bool loopback = obligations.network == ir::Network::kLoopback;
  if (loopback) {
    state.new_netns = true;
    if (HasEffectiveCapability(CAP_SYS_ADMIN)) {
      state.limits.push_back({"network", "network namespace (only lo), no AF_UNIX sockets, no io_uring", "loopback"});
    } else {
      // Unprivileged: a user namespace owning the network namespace, with
      // the caller's uid and gid mapped to themselves.
      std::string text;
      const bool userns_allowed =
          ReadFile("/proc/sys/user/max_user_namespaces", text) && std::atol(text.c_str()) > 0 &&
          (!ReadFile("/proc/sys/kernel/unprivileged_userns_clone", text) || std::atol(text.c_str()) == 1);
      if (!userns_allowed) {
        return Refuse("network",
                      "`loopback` needs a new network namespace; govrun lacks CAP_SYS_ADMIN and this "
                      "kernel does not allow unprivileged user namespaces");
      }
      state.new_userns = true;
      state.outer_uid = geteuid();
      state.limits.push_back({"network",
                              "user + network namespace (only lo; uid and gid mapped to themselves), no AF_UNIX "
                              "sockets, no io_uring",
                              "loopback"});
    }
  }
  if (!kSeccompSupported) {
    return Refuse(no_network || loopback ? "network" : "baseline",
                  "govrun has no seccomp filter for this CPU architecture");
  }
  FilterSpec spec;
  spec.no_sockets = no_network;
  spec.no_unix_sockets = loopback;
  spec.no_truncate = obligations.has_write && abi < 3;
  spec.no_io_uring = no_network || loopback || spec.no_truncate;
  const pid_t supervisor = options.supervisor_pid > 0 ? options.supervisor_pid : getpid();
  const pid_t group = options.supervisor_pgid > 0 ? options.supervisor_pgid : getpgrp();
  spec.protected_pids = {static_cast<std::uint32_t>(supervisor), static_cast<std::uint32_t>(-supervisor),
                         static_cast<std::uint32_t>(-group), static_cast<std::uint32_t>(-1)};
  spec.protected_owners = {static_cast<std::uint32_t>(supervisor), static_cast<std::uint32_t>(-supervisor),
                           static_cast<std::uint32_t>(-group)};
  spec.no_unchecked_signals = abi < 6;
  spec.trace_exec = options.governed_session;
  spec.notify_exec = options.governed_session && options.session_notify;
  spec.trace_exec_memory = options.governed_session && !options.session_notify;
  auto program = BuildSeccompProgram(spec);
  if (!program) {
    return Failure{kExitInternal, "internal error: the seccomp program does not assemble"};
  }
  state.seccomp = std::move(*program);
  if (no_network) {
    state.limits.push_back({"network", "seccomp (no socket() of any family, no io_uring; socketpair only)", "none"});
  }
  state.limits.push_back(
      {"signals",
       std::string("seccomp: no signal to govrun (pid, process group, -1)") +
           (spec.no_unchecked_signals ? "; pidfd_send_signal, F_SETOWN_EX, FIOSETOWN, SIOCSPGRP refused (Landlock "
                                        "below ABI 6 cannot scope signals)"
                                      : ""),
       "always"});
  if (options.governed_session) {
    state.governed_session = true;
    state.session_notify = options.session_notify;
    state.limits.push_back(
        {"session",
         options.session_notify
             ? "seccomp user notification + BPF (every execve/execveat waits for the session supervisor's decision; "
               "the kernel kills an image that is not the authorized one before it runs; a PID namespace ends with "
               "govrun; no ptrace or process_vm_writev in the session)"
             : "ptrace + seccomp (every execve/execveat stops for the session supervisor and is "
               "decided before the new image runs; so does executable memory mapped from a file; no ptrace or "
               "process_vm_writev in the session)",
         "every exec"});
  }
  return std::nullopt;
}

}  // namespace

struct Sandbox::State : PlannedState {};

Sandbox::Sandbox(std::unique_ptr<State> state) : state_(std::move(state)) {}
Sandbox::Sandbox(Sandbox&&) noexcept = default;
Sandbox& Sandbox::operator=(Sandbox&&) noexcept = default;
Sandbox::~Sandbox() = default;

const std::vector<lineage::EnforcedLimit>& Sandbox::limits() const {
  return state_->limits;
}

std::string Sandbox::private_tmp_path() const {
  return state_->private_tmp ? state_->private_tmp->path() : std::string();
}

Outcome<Sandbox> Sandbox::Plan(const ir::Obligations& obligations, const SandboxOptions& options) {
  auto state = std::make_unique<State>();
  const auto own = OwnCapabilities();
  if (!own) {
    return Failure{kExitInternal, std::string("capget: ") + ErrnoText(errno)};
  }
  RunCapabilities caps;
  for (const int capability : options.keep_capabilities) {
    if (capability >= 0 && capability < 64) {
      caps.keep |= std::uint64_t{1} << capability;
    }
  }
  caps.keep &= own->permitted;
  caps.root = getuid() == 0 || geteuid() == 0;
  const int kernel_abi = LandlockAbi();
  const int abi = options.landlock_abi_override > 0 ? std::min(options.landlock_abi_override, kernel_abi) : kernel_abi;

  if (auto failure = PlanProcessLimits(*state, obligations, options, caps)) {
    return *failure;
  }
  PlanCapabilities(*state, caps);
  if (obligations.private_tmp) {
    if (options.run_id.empty()) {
      return Failure{kExitInternal, "internal error: a private temporary directory needs the run's id"};
    }
    auto made =
        PrivateTmp::Create(options.run_id, options.private_tmp_base.empty() ? "/tmp" : options.private_tmp_base);
    if (!made.ok()) {
      return Refuse("tmp", made.error().message);
    }
    state->private_tmp.emplace(std::move(made.value()));
    state->limits.push_back({"tmp",
                             "a directory of its own (mode 0700, TMPDIR names it), removed after the run; "
                             "only what the run's user owns is deleted, no link is followed",
                             state->private_tmp->path()});
  }
  if (auto failure = PlanLandlock(*state, obligations, options, caps, abi)) {
    return *failure;
  }
  if (auto failure = PlanNetworkAndSeccomp(*state, obligations, options, abi)) {
    return *failure;
  }
  if (obligations.has_env) {
    state->limits.push_back({"env", "environment filtered by govrun", JoinPaths(obligations.env)});
  }
  return Sandbox(std::move(state));
}

ErrorOr<void> Sandbox::AdoptChild(pid_t pid, bool born_in_v2_cgroup) const {
  for (const Cgroup& cgroup : state_->cgroups) {
    if (cgroup.v2 && born_in_v2_cgroup) {
      continue;
    }
    GOV_RETURN_IF_ERROR(WriteFile(cgroup.dir + "/cgroup.procs", std::to_string(pid)));
  }
  return {};
}

namespace {

// The namespace helper (exec'd, so its memory holds nothing of govrun's):
// creates a user and a network namespace, maps the caller's uid and gid to
// themselves, brings `lo` up and passes both namespaces as descriptors on
// descriptor 3. Returns 0 or an errno value.
int RunNamespaceHelper() {
  const uid_t uid = geteuid();
  const gid_t gid = getegid();
  if (unshare(CLONE_NEWUSER | CLONE_NEWNET) != 0) {
    return errno;
  }
  if (!WriteFile("/proc/self/setgroups", "deny").ok() ||
      !WriteFile("/proc/self/uid_map", std::to_string(uid) + " " + std::to_string(uid) + " 1").ok() ||
      !WriteFile("/proc/self/gid_map", std::to_string(gid) + " " + std::to_string(gid) + " 1").ok()) {
    return errno != 0 ? errno : EPERM;
  }
  const int user_ns = open("/proc/self/ns/user", O_RDONLY | O_CLOEXEC);
  const int net_ns = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
  if (user_ns < 0 || net_ns < 0) {
    return errno;
  }
  const int fds[2] = {user_ns, net_ns};
  char control[CMSG_SPACE(sizeof fds)] = {};
  char byte = 'n';
  iovec io{&byte, 1};
  msghdr message{};
  message.msg_iov = &io;
  message.msg_iovlen = 1;
  message.msg_control = control;
  message.msg_controllen = sizeof control;
  cmsghdr* header = CMSG_FIRSTHDR(&message);
  header->cmsg_level = SOL_SOCKET;
  header->cmsg_type = SCM_RIGHTS;
  header->cmsg_len = CMSG_LEN(sizeof fds);
  std::memcpy(CMSG_DATA(header), fds, sizeof fds);
  return sendmsg(3, &message, 0) == 1 ? 0 : errno;
}

// The interfaces of the current network namespace are exactly `lo`.
bool OnlyLoopback() {
  struct if_nameindex* names = if_nameindex();
  if (names == nullptr) {
    return false;
  }
  int count = 0;
  bool only_lo = true;
  for (const struct if_nameindex* name = names; name->if_index != 0; ++name) {
    ++count;
    only_lo = only_lo && std::strcmp(name->if_name, "lo") == 0;
  }
  if_freenameindex(names);
  return count == 1 && only_lo;
}

}  // namespace

void RunNamespaceHelperIfAsked(int argc, char** argv) {
  if (argc == 2 && std::strcmp(argv[1], kNamespaceHelperFlag) == 0) {
    _exit(RunNamespaceHelper());
  }
}

int Sandbox::ApplyNamespacesInChild(const char** stage) const {
  if (state_->new_userns) {
    // This child is not dumpable (its memory is a copy of govrun's), so it
    // cannot write its own /proc/self/uid_map. A helper exec'd afresh does,
    // in namespaces of its own, and hands them over by descriptor; this
    // child joins them and checks what it joined.
    int pair[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) != 0) {
      *stage = "socketpair (namespace helper)";
      return errno;
    }
    const pid_t helper = fork();
    if (helper < 0) {
      *stage = "fork (namespace helper)";
      return errno;
    }
    if (helper == 0) {
      if (dup2(pair[1], 3) != 3) {
        _exit(EBADF);
      }
      syscall(SYS_close_range, 4, ~0U, 0);
      char name[] = "govrun-namespace-helper";
      char flag[sizeof kNamespaceHelperFlag];
      std::memcpy(flag, kNamespaceHelperFlag, sizeof flag);
      char* argv[] = {name, flag, nullptr};
      char* envp[] = {nullptr};
      execve("/proc/self/exe", argv, envp);
      _exit(errno);
    }
    close(pair[1]);
    int fds[2] = {-1, -1};
    char control[CMSG_SPACE(sizeof fds)] = {};
    char byte = 0;
    iovec io{&byte, 1};
    msghdr message{};
    message.msg_iov = &io;
    message.msg_iovlen = 1;
    message.msg_control = control;
    message.msg_controllen = sizeof control;
    const ssize_t got = recvmsg(pair[0], &message, MSG_CMSG_CLOEXEC);
    int status = 0;
    while (waitpid(helper, &status, 0) < 0 && errno == EINTR) {
    }
    close(pair[0]);
    const cmsghdr* header = CMSG_FIRSTHDR(&message);
    if (got != 1 || header == nullptr || header->cmsg_type != SCM_RIGHTS || header->cmsg_len != CMSG_LEN(sizeof fds)) {
      *stage = "the namespace helper (user + network namespace)";
      return WIFEXITED(status) && WEXITSTATUS(status) != 0 ? WEXITSTATUS(status) : EPROTO;
    }
    std::memcpy(fds, CMSG_DATA(header), sizeof fds);
    const bool joined = setns(fds[0], CLONE_NEWUSER) == 0 && setns(fds[1], CLONE_NEWNET) == 0;
    const int error = errno;
    close(fds[0]);
    close(fds[1]);
    if (!joined) {
      *stage = "setns (the helper's user and network namespaces)";
      return error;
    }
    // What was joined: our uid mapped to itself, and no interface but lo.
    std::string map;
    const std::vector<std::string_view> fields =
        ReadFile("/proc/self/uid_map", map) ? Split(map, " \n") : std::vector<std::string_view>{};
    const std::string uid = std::to_string(state_->outer_uid);
    if (fields.size() != 3 || fields[0] != uid || fields[1] != uid || fields[2] != "1" ||
        getuid() != state_->outer_uid) {
      *stage = "checking the joined user namespace's uid map";
      return EPERM;
    }
  } else if (state_->new_netns) {
    if (unshare(CLONE_NEWNET) != 0) {
      *stage = "unshare(CLONE_NEWNET)";
      return errno;
    }
  }
  if (state_->new_netns) {
    if (const int error = LoopbackUp(); error != 0) {
      *stage = "bringing up lo in the new network namespace";
      return error;
    }
    if (!OnlyLoopback()) {
      *stage = "checking that the network namespace has only lo";
      return EPERM;
    }
  }
  return 0;
}

Sandbox::ChildSteps Sandbox::StepsForChild() const {
  ChildSteps steps = state_->capability_steps;
  steps.namespaces = state_->new_userns || state_->new_netns;
  if (state_->rlimit_as) {
    steps.has_rlimit_as = true;
    steps.rlimit_as = *state_->rlimit_as;
  }
  if (state_->rlimit_nproc) {
    steps.has_rlimit_nproc = true;
    steps.rlimit_nproc = *state_->rlimit_nproc;
  }
  steps.landlock_fd = state_->landlock.valid() ? state_->landlock.get() : -1;
  if (!state_->seccomp.empty()) {
    steps.seccomp = state_->seccomp.data();
    steps.seccomp_length = static_cast<unsigned short>(state_->seccomp.size());
  }
  steps.cgroup_v2_fd = state_->cgroup_v2_fd.valid() ? state_->cgroup_v2_fd.get() : -1;
  steps.traced = state_->governed_session;
  steps.seccomp_listener = state_->governed_session && state_->session_notify;
  return steps;
}

bool Sandbox::HasCgroups() const {
  return !state_->cgroups.empty();
}

bool Sandbox::CgroupsEmpty() const {
  for (const Cgroup& cgroup : state_->cgroups) {
    if (!CgroupPids(cgroup).empty()) {
      return false;
    }
  }
  return true;
}

int Sandbox::SignalCgroups(int signal) const {
  int count = 0;
  for (const Cgroup& cgroup : state_->cgroups) {
    const std::vector<pid_t> pids = CgroupPids(cgroup);
    if (signal == SIGKILL && cgroup.v2 && !pids.empty() && WriteFile(cgroup.dir + "/cgroup.kill", "1").ok()) {
      count += static_cast<int>(pids.size());
      continue;
    }
    for (const pid_t pid : pids) {
      if (kill(pid, signal) == 0) {
        ++count;
      }
    }
  }
  return count;
}

std::string Sandbox::LimitHit() const {
  for (const Cgroup& cgroup : state_->cgroups) {
    if (!HasController(cgroup, "memory")) {
      continue;
    }
    std::string text;
    if (!ReadFile(cgroup.dir + (cgroup.v2 ? "/memory.events" : "/memory.oom_control"), text)) {
      continue;
    }
    const std::vector<std::string_view> words = Split(text, " \n");
    for (std::size_t i = 0; i + 1 < words.size(); i += 2) {
      if (words[i] == "oom_kill" && words[i + 1] != "0") {
        return "memory";
      }
    }
  }
  return "";
}

}  // namespace gov::exec
