// govrun's secure start (see secure_start.h).
#include "runtime/exec/secure_start.h"

#include <fcntl.h>
#include <sys/auxv.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <set>
#include <string>
#include <string_view>

#include "runtime/exec/exit_codes.h"

extern char** environ;

namespace gov::exec {
namespace {

std::vector<std::pair<std::string, std::string>>& Scrubbed() {
  static std::vector<std::pair<std::string, std::string>> entries;
  return entries;
}

constexpr char kHex[] = "0123456789abcdef";

void AppendHex(std::string& out, std::string_view bytes) {
  for (const char c : bytes) {
    const auto byte = static_cast<unsigned char>(c);
    out += kHex[byte >> 4];
    out += kHex[byte & 15];
  }
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') {
    return c - '0';
  }
  if (c >= 'a' && c <= 'f') {
    return c - 'a' + 10;
  }
  return -1;
}

// Decodes "HEX(NAME=value):HEX(...)" into entries; false when malformed.
bool DecodeCarrier(std::string_view text, std::vector<std::pair<std::string, std::string>>& out) {
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t end = text.find(':', start);
    if (end == std::string_view::npos) {
      end = text.size();
    }
    const std::string_view hex = text.substr(start, end - start);
    if (hex.empty() || hex.size() % 2 != 0) {
      return false;
    }
    std::string entry;
    for (std::size_t i = 0; i < hex.size(); i += 2) {
      const int high = HexValue(hex[i]);
      const int low = HexValue(hex[i + 1]);
      if (high < 0 || low < 0) {
        return false;
      }
      entry += static_cast<char>(high * 16 + low);
    }
    const std::size_t equal = entry.find('=');
    if (equal == std::string::npos || equal == 0) {
      return false;
    }
    out.emplace_back(entry.substr(0, equal), entry.substr(equal + 1));
    start = end + 1;
  }
  return true;
}

// Variables the static C library reads before main (tunables and their
// MALLOC_* aliases, LD_* in _dl_non_dynamic_init) or when it loads code or
// data govrun could come to need (NSS modules through LD_LIBRARY_PATH,
// gconv modules, locales, message catalogs). The rest of glibc's unsecure
// list (TMPDIR, TZDIR, the resolver's) only steers functions govrun never
// calls, so it costs no re-execution; it is still kept from the program.
bool ReadByGovrunsLibc(std::string_view name) {
  return name.starts_with("LD_") || name.starts_with("MALLOC_") || name == "GLIBC_TUNABLES" || name == "GCONV_PATH" ||
         name == "LOCPATH" || name == "NLSPATH";
}

[[noreturn]] void Die(int code, const std::string& message) {
  std::fprintf(stderr, "govrun: %s\n", message.c_str());
  std::fflush(stderr);
  _exit(code);
}

// The pid tracing this process, from /proc/self/status; -1 when unreadable.
long TracerPid() {
  const int fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return -1;
  }
  char buffer[4096];
  const ssize_t got = read(fd, buffer, sizeof buffer - 1);
  close(fd);
  if (got <= 0) {
    return -1;
  }
  buffer[got] = '\0';
  const char* field = std::strstr(buffer, "\nTracerPid:");
  return field == nullptr ? -1 : std::strtol(field + 11, nullptr, 10);
}

// Started set-gid (AT_SECURE), the C library removed the variables it deems
// unsafe for privileged programs (LD_*, TMPDIR, TZDIR, LOCALDOMAIN, …)
// before main. They are still the caller's environment: the strings of the
// initial environment block (left intact in govrun's own memory, between
// env_start and env_end of /proc/self/stat; /proc/self/environ is root's
// while govrun is not dumpable) that are no longer in `environ` join the
// scrubbed ones, so the request and the program see them as without the
// set-gid bit. A block that cannot be found stops govrun.
void RecoverSecureModeRemovals(const std::string& carrier_prefix) {
  const int fd = open("/proc/self/stat", O_RDONLY | O_CLOEXEC);
  char stat[4096];
  const ssize_t got = fd < 0 ? -1 : read(fd, stat, sizeof stat - 1);
  if (fd >= 0) close(fd);
  if (got <= 0) Die(kExitInternal, "cannot read /proc/self/stat; nothing was run");
  stat[got] = '\0';
  // Fields after the command name's closing parenthesis start at field 3;
  // env_start and env_end are fields 50 and 51 (proc(5)).
  const char* field = std::strrchr(stat, ')');
  unsigned long long env_start = 0;
  unsigned long long env_end = 0;
  for (int number = 2; field != nullptr && number < 51; ++number) {
    field = std::strchr(field + 1, ' ');
    if (field != nullptr && number + 1 == 50) env_start = std::strtoull(field + 1, nullptr, 10);
    if (field != nullptr && number + 1 == 51) env_end = std::strtoull(field + 1, nullptr, 10);
  }
  if (env_start == 0 || env_end <= env_start || env_end - env_start > (64u << 20)) {
    Die(kExitInternal, "cannot find the initial environment in /proc/self/stat; nothing was run");
  }
  const std::string_view block(reinterpret_cast<const char*>(static_cast<std::uintptr_t>(env_start)),
                               static_cast<std::size_t>(env_end - env_start));
  std::set<std::string_view> present;
  for (char** entry = environ; entry != nullptr && *entry != nullptr; ++entry) present.insert(*entry);
  std::size_t start = 0;
  while (start < block.size()) {
    std::size_t end = block.find('\0', start);
    if (end == std::string_view::npos) end = block.size();
    const std::string_view text = block.substr(start, end - start);
    start = end + 1;
    const std::size_t equal = text.find('=');
    if (equal == std::string_view::npos || text.starts_with(carrier_prefix) || present.count(text) != 0) continue;
    Scrubbed().emplace_back(std::string(text.substr(0, equal)), std::string(text.substr(equal + 1)));
  }
}

// The set-gid group govrun started with, kept as the saved gid; -1: none.
gid_t g_submitter_group = static_cast<gid_t>(-1);

void LowerSetGidGroupAtStart() {
  const gid_t real = getgid();
  const gid_t effective = getegid();
  if (effective == real) return;
  g_submitter_group = effective;
  if (setresgid(real, real, effective) != 0) {
    Die(kExitInternal, std::string("cannot lower the set-gid group: ") + std::strerror(errno) + "; nothing was run");
  }
}

}  // namespace

void RaiseSubmitterGroup() {
  if (g_submitter_group != static_cast<gid_t>(-1))
    setresgid(static_cast<gid_t>(-1), g_submitter_group, static_cast<gid_t>(-1));
}

void LowerSubmitterGroup() {
  if (g_submitter_group != static_cast<gid_t>(-1) &&
      setresgid(static_cast<gid_t>(-1), getgid(), static_cast<gid_t>(-1)) != 0) {
    Die(kExitInternal, std::string("cannot lower the set-gid group: ") + std::strerror(errno) + "; nothing was run");
  }
}

void ForgetSubmitterGroup() {
  if (g_submitter_group == static_cast<gid_t>(-1)) return;
  const gid_t real = getgid();
  gid_t r = 0;
  gid_t e = 0;
  gid_t saved = 0;
  if (setresgid(real, real, real) != 0 || getresgid(&r, &e, &saved) != 0 || r != real || e != real || saved != real) {
    Die(kExitInternal, "cannot drop the set-gid group; nothing was run");
  }
  g_submitter_group = static_cast<gid_t>(-1);
}

void SecureStart(char** argv) {
  prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
  // Non-dumpable only keeps new tracers out: one attached before (the
  // caller's PTRACE_TRACEME, a tracer racing the exec) could still steer
  // govrun, so govrun refuses to work under one.
  if (const long tracer = TracerPid(); tracer != 0) {
    Die(kExitConfig, tracer < 0 ? "cannot read /proc/self/status to check for a tracer; nothing was run"
                                : "govrun is being traced (TracerPid " + std::to_string(tracer) +
                                      "): it decides and runs nothing under a tracer");
  }
  const std::string carrier_prefix = std::string(kScrubbedEnvironmentVariable) + "=";
  std::vector<char*> kept;
  std::string carried;  // an earlier instance's carrier value
  bool has_carrier = false;
  std::string removed;  // hex entries removed now
  for (char** entry = environ; entry != nullptr && *entry != nullptr; ++entry) {
    const std::string_view text(*entry);
    if (text.starts_with(carrier_prefix)) {
      carried = std::string(text.substr(carrier_prefix.size()));
      has_carrier = true;
      continue;
    }
    const std::size_t equal = text.find('=');
    const std::string_view name = text.substr(0, equal);
    if (equal != std::string_view::npos && ReadByGovrunsLibc(name)) {
      if (!removed.empty()) {
        removed += ':';
      }
      AppendHex(removed, text);
      continue;
    }
    kept.push_back(*entry);
  }
  if (removed.empty()) {
    if (has_carrier) {
      if (!DecodeCarrier(carried, Scrubbed())) {
        Die(kExitConfig, std::string(kScrubbedEnvironmentVariable) + " is set but malformed");
      }
      unsetenv(kScrubbedEnvironmentVariable);
    }
    if (getauxval(AT_SECURE) != 0) RecoverSecureModeRemovals(carrier_prefix);
    LowerSetGidGroupAtStart();
    return;
  }
  std::string carrier = carrier_prefix + carried + (carried.empty() ? "" : ":") + removed;
  kept.push_back(carrier.data());
  kept.push_back(nullptr);
  execve("/proc/self/exe", argv, kept.data());
  Die(kExitInternal, std::string("cannot restart without the loader variables of the environment (exec "
                                 "/proc/self/exe: ") +
                         std::strerror(errno) + "); nothing was run");
}

const std::vector<std::pair<std::string, std::string>>& ScrubbedEnvironment() {
  return Scrubbed();
}

}  // namespace gov::exec
