// Obligation enforcement: cgroups, rlimits, Landlock, seccomp, network
// namespace (see sandbox.h).
#include "runtime/exec/sandbox.h"

#include <fcntl.h>
#include <linux/audit.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/landlock.h>
#include <linux/seccomp.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <termios.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <utility>

#include "runtime/exec/program.h"

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

namespace gov::exec {

namespace {

std::string ErrnoText(int error) { return std::strerror(error); }

// ---------------------------------------------------------------- cgroups --

struct Cgroup {
  std::string dir;        // the per-run cgroup directory
  bool v2 = false;
  std::string controller; // "memory" or "pids"
};

struct CgroupMount {
  std::string mount_point;
  bool v2 = false;
  std::vector<std::string> v1_controllers;  // from the super options
};

std::vector<CgroupMount> CgroupMounts() {
  std::vector<CgroupMount> mounts;
  std::ifstream in("/proc/self/mountinfo");
  std::string line;
  while (std::getline(in, line)) {
    // id parent major:minor root mount-point options [optional...] - fstype source super-options
    const std::size_t dash = line.find(" - ");
    if (dash == std::string::npos) {
      continue;
    }
    std::istringstream head(line.substr(0, dash));
    std::string id, parent, dev, root, mount_point;
    head >> id >> parent >> dev >> root >> mount_point;
    std::istringstream tail(line.substr(dash + 3));
    std::string fstype, source, super_options;
    tail >> fstype >> source >> super_options;
    if (fstype == "cgroup2") {
      mounts.push_back({mount_point, true, {}});
    } else if (fstype == "cgroup") {
      CgroupMount mount{mount_point, false, {}};
      std::istringstream options(super_options);
      std::string option;
      while (std::getline(options, option, ',')) {
        mount.v1_controllers.push_back(option);
      }
      mounts.push_back(std::move(mount));
    }
  }
  return mounts;
}

// This process's cgroup path in the v2 hierarchy ("0::/x") or in the v1
// hierarchy holding `controller` ("N:a,b:/x").
std::optional<std::string> OwnCgroupPath(bool v2, const std::string& controller) {
  std::ifstream in("/proc/self/cgroup");
  std::string line;
  while (std::getline(in, line)) {
    const std::size_t first = line.find(':');
    const std::size_t second = line.find(':', first + 1);
    if (first == std::string::npos || second == std::string::npos) {
      continue;
    }
    const std::string controllers = line.substr(first + 1, second - first - 1);
    const std::string path = line.substr(second + 1);
    if (v2 && line.starts_with("0::")) {
      return path;
    }
    if (!v2) {
      std::istringstream list(controllers);
      std::string item;
      while (std::getline(list, item, ',')) {
        if (item == controller) {
          return path;
        }
      }
    }
  }
  return std::nullopt;
}

bool ReadFile(const std::string& path, std::string& out) {
  std::ifstream in(path);
  if (!in) {
    return false;
  }
  std::ostringstream buffer;
  buffer << in.rdbuf();
  out = buffer.str();
  return true;
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
  std::istringstream in(text);
  std::string item;
  while (in >> item) {
    if (item == word) {
      return true;
    }
  }
  return false;
}

// Creates the per-run cgroup for `controller` with `files` written, trying
// cgroup v2 then v1. Fills `why` with the reasons when neither works.
std::optional<Cgroup> CreateCgroup(const std::string& controller,
                                   const std::vector<std::pair<std::string, std::string>>& v2_files,
                                   const std::vector<std::pair<std::string, std::string>>& v1_files,
                                   const std::string& run_id, std::string& why) {
  const std::vector<CgroupMount> mounts = CgroupMounts();
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
      const std::string dir = parent + "/gov-" + run_id + (v2 ? "" : "");
      if (mkdir(dir.c_str(), 0755) != 0) {
        why += "cannot create " + dir + ": " + ErrnoText(errno) + "; ";
        continue;
      }
      bool ok = true;
      for (const auto& [name, value] : (v2 ? v2_files : v1_files)) {
        // A leading '?' marks a file the kernel may lack (e.g. memory.swap.max
        // without swap accounting).
        const bool optional = name.starts_with('?');
        const std::string file = dir + "/" + (optional ? name.substr(1) : name);
        if (optional && access(file.c_str(), F_OK) != 0) {
          continue;
        }
        auto written = WriteFile(file, value);
        if (!written.ok()) {
          why += written.error().message + "; ";
          ok = false;
          break;
        }
      }
      if (!ok) {
        rmdir(dir.c_str());
        continue;
      }
      return Cgroup{dir, v2, controller};
    }
  }
  if (why.empty()) {
    why = "no cgroup hierarchy with the " + controller + " controller is mounted; ";
  }
  return std::nullopt;
}

std::vector<pid_t> CgroupPids(const Cgroup& cgroup) {
  std::vector<pid_t> pids;
  std::ifstream in(cgroup.dir + "/cgroup.procs");
  long pid = 0;
  while (in >> pid) {
    pids.push_back(static_cast<pid_t>(pid));
  }
  return pids;
}

// --------------------------------------------------------------- Landlock --

constexpr std::uint64_t kLandlockFileRights = LANDLOCK_ACCESS_FS_EXECUTE | LANDLOCK_ACCESS_FS_WRITE_FILE |
                                              LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_TRUNCATE |
                                              LANDLOCK_ACCESS_FS_IOCTL_DEV;

constexpr std::uint64_t kReadRights = LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_READ_DIR;

std::uint64_t WriteRights(int abi) {
  std::uint64_t rights = LANDLOCK_ACCESS_FS_WRITE_FILE | LANDLOCK_ACCESS_FS_REMOVE_DIR |
                         LANDLOCK_ACCESS_FS_REMOVE_FILE | LANDLOCK_ACCESS_FS_MAKE_CHAR |
                         LANDLOCK_ACCESS_FS_MAKE_DIR | LANDLOCK_ACCESS_FS_MAKE_REG | LANDLOCK_ACCESS_FS_MAKE_SOCK |
                         LANDLOCK_ACCESS_FS_MAKE_FIFO | LANDLOCK_ACCESS_FS_MAKE_BLOCK | LANDLOCK_ACCESS_FS_MAKE_SYM;
  if (abi >= 2) {
    rights |= LANDLOCK_ACCESS_FS_REFER;
  }
  if (abi >= 3) {
    rights |= LANDLOCK_ACCESS_FS_TRUNCATE;
  }
  return rights;
}

// Read-only locations every dynamically linked program needs to start.
const char* const kLoaderReadPaths[] = {"/lib", "/lib32", "/lib64", "/libx32", "/usr/lib", "/usr/lib32",
                                        "/usr/lib64", "/usr/libx32", "/etc/ld.so.cache", "/dev/null",
                                        "/dev/zero", "/dev/urandom", "/dev/random"};
// Write targets that leak nothing: writing to the null device.
const char* const kAlwaysWritable[] = {"/dev/null"};

struct LandlockRuleset {
  UniqueFd fd;
  std::string description;
};

// Adds a path-beneath rule; a missing path grants nothing and is skipped.
ErrorOr<bool> AddLandlockRule(int ruleset, const std::string& path, std::uint64_t rights, std::uint64_t handled) {
  const int fd = open(path.c_str(), O_PATH | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT || errno == ENOTDIR) {
      return false;
    }
    return Error{path + ": " + ErrnoText(errno)};
  }
  UniqueFd holder(fd);
  struct stat st {};
  if (fstat(fd, &st) != 0) {
    return Error{path + ": fstat: " + ErrnoText(errno)};
  }
  struct landlock_path_beneath_attr attr {};
  attr.allowed_access = rights & handled;
  if (!S_ISDIR(st.st_mode)) {
    attr.allowed_access &= kLandlockFileRights;
  }
  attr.parent_fd = fd;
  if (attr.allowed_access == 0) {
    return false;
  }
  if (syscall(SYS_landlock_add_rule, ruleset, LANDLOCK_RULE_PATH_BENEATH, &attr, 0) != 0) {
    return Error{"landlock_add_rule " + path + ": " + ErrnoText(errno)};
  }
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
// `int`/`unsigned int` arguments filtered here to those bits.
constexpr std::uint32_t ArgLow(int i) {
  return static_cast<std::uint32_t>(offsetof(struct seccomp_data, args) + 8 * static_cast<std::size_t>(i));
}

struct SyscallNumbers {
  std::uint32_t arch;
  std::uint32_t ioctl;
  std::uint32_t socket;
  std::uint32_t socketpair;
  std::uint32_t io_uring_setup;
  std::uint32_t socketcall;  // 0: none
};

#if defined(__x86_64__)
constexpr SyscallNumbers kNative{AUDIT_ARCH_X86_64, __NR_ioctl, __NR_socket, __NR_socketpair, 425, 0};
constexpr std::optional<SyscallNumbers> kCompat = SyscallNumbers{AUDIT_ARCH_I386, 54, 359, 360, 425, 102};
constexpr bool kHasX32 = true;
constexpr bool kSeccompSupported = true;
#elif defined(__aarch64__)
constexpr SyscallNumbers kNative{AUDIT_ARCH_AARCH64, __NR_ioctl, __NR_socket, __NR_socketpair, 425, 0};
constexpr std::optional<SyscallNumbers> kCompat = std::nullopt;
constexpr bool kHasX32 = false;
constexpr bool kSeccompSupported = true;
#else
constexpr SyscallNumbers kNative{0, 0, 0, 0, 0, 0};
constexpr std::optional<SyscallNumbers> kCompat = std::nullopt;
constexpr bool kHasX32 = false;
constexpr bool kSeccompSupported = false;
#endif

constexpr std::uint32_t Errno(int error) {
  return SECCOMP_RET_ERRNO | (static_cast<std::uint32_t>(error) & SECCOMP_RET_DATA);
}

// Per-architecture block: terminal injection always refused; with
// `no_network`, sockets of any family but AF_UNIX and io_uring refused.
void EmitArchBlock(Bpf& bpf, const SyscallNumbers& numbers, bool no_network, bool x32) {
  const int ioctl_check = bpf.NewLabel();
  const int family_check = bpf.NewLabel();
  const int deny_eperm = bpf.NewLabel();
  const int deny_enosys = bpf.NewLabel();
  bpf.Load(kOffsetNr);
  if (x32) {
    // x32 system calls (__X32_SYSCALL_BIT) are refused outright.
    bpf.JumpIfAtLeast(0x40000000u, deny_enosys);
  }
  bpf.JumpIfEqual(numbers.ioctl, ioctl_check);
  if (no_network) {
    bpf.JumpIfEqual(numbers.socket, family_check);
    bpf.JumpIfEqual(numbers.socketpair, family_check);
    bpf.JumpIfEqual(numbers.io_uring_setup, deny_eperm);
    if (numbers.socketcall != 0) {
      bpf.JumpIfEqual(numbers.socketcall, deny_eperm);
    }
  }
  bpf.Return(SECCOMP_RET_ALLOW);
  bpf.Bind(deny_enosys);
  bpf.Return(Errno(ENOSYS));
  bpf.Bind(ioctl_check);
  {
    bpf.Load(ArgLow(1));
    bpf.JumpIfEqual(TIOCSTI, deny_eperm);
    bpf.JumpIfEqual(TIOCLINUX, deny_eperm);
    bpf.Return(SECCOMP_RET_ALLOW);
  }
  bpf.Bind(family_check);
  {
    const int unix_ok = bpf.NewLabel();
    bpf.Load(ArgLow(0));
    bpf.JumpIfEqual(AF_UNIX, unix_ok);
    bpf.Return(Errno(EAFNOSUPPORT));
    bpf.Bind(unix_ok);
    bpf.Return(SECCOMP_RET_ALLOW);
  }
  bpf.Bind(deny_eperm);
  bpf.Return(Errno(EPERM));
}

std::optional<std::vector<sock_filter>> BuildSeccompProgram(bool no_network) {
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
  EmitArchBlock(bpf, kNative, no_network, kHasX32);
  bpf.Bind(compat);
  if (kCompat) {
    EmitArchBlock(bpf, *kCompat, no_network, false);
  } else {
    bpf.Return(SECCOMP_RET_KILL_PROCESS);
  }
  return bpf.Finish();
}

bool HasEffectiveCapability(int capability) {
  __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[2]{};
  if (syscall(SYS_capget, &header, data) != 0) {
    return false;
  }
  const int word = capability / 32;
  const int bit = capability % 32;
  return (data[word].effective >> bit) & 1u;
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

int LandlockAbi() {
  const long abi = syscall(SYS_landlock_create_ruleset, nullptr, 0, LANDLOCK_CREATE_RULESET_VERSION);
  return abi < 0 ? 0 : static_cast<int>(abi);
}

struct Sandbox::State {
  std::vector<lineage::EnforcedLimit> limits;
  std::vector<Cgroup> cgroups;
  std::optional<rlim_t> rlimit_as;
  std::optional<rlim_t> rlimit_nproc;
  UniqueFd landlock;
  std::vector<sock_filter> seccomp;
  bool new_netns = false;
  bool new_userns = false;  // unprivileged: the network namespace needs its own user namespace

  ~State() {
    for (const Cgroup& cgroup : cgroups) {
      rmdir(cgroup.dir.c_str());
    }
  }
};

Sandbox::Sandbox(std::unique_ptr<State> state) : state_(std::move(state)) {}
Sandbox::Sandbox(Sandbox&&) noexcept = default;
Sandbox& Sandbox::operator=(Sandbox&&) noexcept = default;
Sandbox::~Sandbox() = default;

const std::vector<lineage::EnforcedLimit>& Sandbox::limits() const { return state_->limits; }

Outcome<Sandbox> Sandbox::Plan(const ir::Obligations& obligations, const SandboxOptions& options) {
  auto state = std::make_unique<State>();
  auto refuse = [](const std::string& obligation, const std::string& why) {
    return Failure{kExitConfig, "cannot enforce the `" + obligation + "` obligation: " + why};
  };

  if (obligations.memory_bytes > 0) {
    const std::string value = std::to_string(obligations.memory_bytes);
    std::string why;
    auto cgroup = CreateCgroup("memory", {{"memory.max", value}, {"?memory.swap.max", "0"}},
                               {{"memory.limit_in_bytes", value}}, options.run_id, why);
    if (cgroup) {
      state->limits.push_back({"memory", cgroup->v2 ? "cgroup v2 memory.max" : "cgroup v1 memory.limit_in_bytes",
                               value});
      if (!cgroup->v2) {
        // Count swap too where the kernel accounts it; without swap
        // accounting there is nothing more to limit.
        const std::string memsw = cgroup->dir + "/memory.memsw.limit_in_bytes";
        if (access(memsw.c_str(), F_OK) == 0 && !WriteFile(memsw, value).ok()) {
          rmdir(cgroup->dir.c_str());
          return refuse("memory", "cannot write " + memsw);
        }
      }
      state->cgroups.push_back(std::move(*cgroup));
    } else {
      state->rlimit_as = static_cast<rlim_t>(obligations.memory_bytes);
      state->limits.push_back({"memory", "RLIMIT_AS (no usable cgroup: " + why.substr(0, why.size() - 2) + ")",
                               value});
    }
  }
  if (obligations.processes > 0) {
    const std::string value = std::to_string(obligations.processes);
    std::string why;
    auto cgroup = CreateCgroup("pids", {{"pids.max", value}}, {{"pids.max", value}}, options.run_id, why);
    if (cgroup) {
      state->limits.push_back({"processes", cgroup->v2 ? "cgroup v2 pids.max" : "cgroup v1 pids.max", value});
      state->cgroups.push_back(std::move(*cgroup));
    } else if (HasEffectiveCapability(CAP_SYS_RESOURCE) || HasEffectiveCapability(CAP_SYS_ADMIN)) {
      return refuse("processes", "no usable cgroup pids controller (" + why.substr(0, why.size() - 2) +
                                     ") and RLIMIT_NPROC does not bind a process with CAP_SYS_RESOURCE or "
                                     "CAP_SYS_ADMIN");
    } else {
      state->rlimit_nproc = static_cast<rlim_t>(obligations.processes);
      state->limits.push_back(
          {"processes",
           "RLIMIT_NPROC (counts every process of uid " + std::to_string(getuid()) +
               "; no usable cgroup: " + why.substr(0, why.size() - 2) + ")",
           value});
    }
  }

  if (obligations.has_read || obligations.has_write) {
    const int abi = LandlockAbi();
    const char* name = obligations.has_read && obligations.has_write ? "read/write"
                       : obligations.has_read                         ? "read"
                                                                      : "write";
    if (abi < 1) {
      return refuse(name, "Landlock is not available in this kernel (not built in or not enabled as an LSM)");
    }
    std::uint64_t handled = 0;
    if (obligations.has_read) {
      handled |= kReadRights;
    }
    if (obligations.has_write) {
      handled |= WriteRights(abi);
    }
    struct landlock_ruleset_attr attr {};
    attr.handled_access_fs = handled;
    const long fd = syscall(SYS_landlock_create_ruleset, &attr, sizeof attr, 0);
    if (fd < 0) {
      return refuse(name, std::string("landlock_create_ruleset: ") + ErrnoText(errno));
    }
    state->landlock = UniqueFd(static_cast<int>(fd));
    const int ruleset = state->landlock.get();
    std::vector<std::string> missing;
    auto add = [&](const std::string& path, std::uint64_t rights, bool from_policy = false) -> std::optional<Failure> {
      auto added = AddLandlockRule(ruleset, path, rights, handled);
      if (!added.ok()) {
        return refuse(name, added.error().message);
      }
      if (!added.value() && from_policy) {
        missing.push_back(path);
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
    if (obligations.has_read) {
      for (const std::string& path : obligations.read) {
        if (auto failure = add(path, kReadRights, true)) {
          return *failure;
        }
      }
      for (const char* path : kLoaderReadPaths) {
        if (auto failure = add(path, kReadRights)) {
          return *failure;
        }
      }
      for (const std::string& path : options.program_files) {
        if (auto failure = add(path, LANDLOCK_ACCESS_FS_READ_FILE)) {
          return *failure;
        }
      }
      state->limits.push_back({"read", mechanism(), JoinPaths(obligations.read)});
    }
    if (obligations.has_write) {
      for (const std::string& path : obligations.write) {
        if (auto failure = add(path, WriteRights(abi), true)) {
          return *failure;
        }
      }
      for (const char* path : kAlwaysWritable) {
        if (auto failure = add(path, LANDLOCK_ACCESS_FS_WRITE_FILE)) {
          return *failure;
        }
      }
      state->limits.push_back({"write", mechanism(), JoinPaths(obligations.write)});
    }
  }

  const bool no_network = obligations.network == ir::Network::kNone;
  if (obligations.network == ir::Network::kLoopback) {
    state->new_netns = true;
    if (HasEffectiveCapability(CAP_SYS_ADMIN)) {
      state->limits.push_back({"network", "network namespace (only lo)", "loopback"});
    } else {
      // Unprivileged: a user namespace owning the network namespace, with
      // the caller's uid and gid mapped to themselves.
      std::string text;
      const bool userns_allowed =
          ReadFile("/proc/sys/user/max_user_namespaces", text) && std::atol(text.c_str()) > 0 &&
          (!ReadFile("/proc/sys/kernel/unprivileged_userns_clone", text) || std::atol(text.c_str()) == 1);
      if (!userns_allowed) {
        return refuse("network", "`loopback` needs a new network namespace; govrun lacks CAP_SYS_ADMIN and this "
                                 "kernel does not allow unprivileged user namespaces");
      }
      state->new_userns = true;
      state->limits.push_back(
          {"network", "user + network namespace (only lo; uid and gid mapped to themselves)", "loopback"});
    }
  }
  if (!kSeccompSupported) {
    if (no_network) {
      return refuse("network", "govrun has no seccomp filter for this CPU architecture");
    }
  } else {
    auto program = BuildSeccompProgram(no_network);
    if (!program) {
      return Failure{kExitInternal, "internal error: the seccomp program does not assemble"};
    }
    state->seccomp = std::move(*program);
    if (no_network) {
      state->limits.push_back({"network", "seccomp (socket families other than AF_UNIX and io_uring refused)",
                               "none"});
    }
  }
  if (obligations.has_env) {
    state->limits.push_back({"env", "environment filtered by govrun", JoinPaths(obligations.env)});
  }
  return Sandbox(std::move(state));
}

ErrorOr<void> Sandbox::AdoptChild(pid_t pid) const {
  for (const Cgroup& cgroup : state_->cgroups) {
    GOV_RETURN_IF_ERROR(WriteFile(cgroup.dir + "/cgroup.procs", std::to_string(pid)));
  }
  return {};
}

int Sandbox::ApplyInChild(const char** stage) const {
  if (state_->rlimit_as) {
    const struct rlimit limit {*state_->rlimit_as, *state_->rlimit_as};
    if (setrlimit(RLIMIT_AS, &limit) != 0) {
      *stage = "setrlimit(RLIMIT_AS)";
      return errno;
    }
  }
  if (state_->rlimit_nproc) {
    const struct rlimit limit {*state_->rlimit_nproc, *state_->rlimit_nproc};
    if (setrlimit(RLIMIT_NPROC, &limit) != 0) {
      *stage = "setrlimit(RLIMIT_NPROC)";
      return errno;
    }
  }
  if (state_->new_userns) {
    const uid_t uid = geteuid();
    const gid_t gid = getegid();
    if (unshare(CLONE_NEWUSER) != 0) {
      *stage = "unshare(CLONE_NEWUSER)";
      return errno;
    }
    if (!WriteFile("/proc/self/setgroups", "deny").ok() ||
        !WriteFile("/proc/self/uid_map", std::to_string(uid) + " " + std::to_string(uid) + " 1").ok() ||
        !WriteFile("/proc/self/gid_map", std::to_string(gid) + " " + std::to_string(gid) + " 1").ok()) {
      *stage = "writing the user namespace's uid/gid maps";
      return errno != 0 ? errno : EPERM;
    }
  }
  if (state_->new_netns) {
    if (unshare(CLONE_NEWNET) != 0) {
      *stage = "unshare(CLONE_NEWNET)";
      return errno;
    }
    if (const int error = LoopbackUp(); error != 0) {
      *stage = "bringing up lo in the new network namespace";
      return error;
    }
  }
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
    *stage = "prctl(PR_SET_NO_NEW_PRIVS)";
    return errno;
  }
  if (state_->landlock.valid()) {
    if (syscall(SYS_landlock_restrict_self, state_->landlock.get(), 0) != 0) {
      *stage = "landlock_restrict_self";
      return errno;
    }
  }
  if (!state_->seccomp.empty()) {
    struct sock_fprog program {};
    program.len = static_cast<unsigned short>(state_->seccomp.size());
    program.filter = const_cast<sock_filter*>(state_->seccomp.data());
    if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &program) != 0) {
      *stage = "seccomp(SECCOMP_SET_MODE_FILTER)";
      return errno;
    }
  }
  return 0;
}

Sandbox::ChildSteps Sandbox::StepsForChild() const {
  ChildSteps steps;
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
  return steps;
}

bool Sandbox::HasCgroups() const { return !state_->cgroups.empty(); }

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
    for (const pid_t pid : CgroupPids(cgroup)) {
      if (kill(pid, signal) == 0) {
        ++count;
      }
    }
  }
  return count;
}

std::string Sandbox::LimitHit() const {
  for (const Cgroup& cgroup : state_->cgroups) {
    if (cgroup.controller != "memory") {
      continue;
    }
    std::string text;
    if (!ReadFile(cgroup.dir + (cgroup.v2 ? "/memory.events" : "/memory.oom_control"), text)) {
      continue;
    }
    std::istringstream in(text);
    std::string key;
    long long value = 0;
    while (in >> key >> value) {
      if (key == "oom_kill" && value > 0) {
        return "memory";
      }
    }
  }
  return "";
}

}  // namespace gov::exec
