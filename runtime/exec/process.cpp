// Process identities from /proc (see process.h).
#include "runtime/exec/process.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace gov::exec {

std::optional<ProcessIdentity> IdentityOf(pid_t pid) {
  char path[64];
  if (pid == 0) {
    std::snprintf(path, sizeof path, "/proc/self/stat");
  } else {
    std::snprintf(path, sizeof path, "/proc/%d/stat", static_cast<int>(pid));
  }
  const int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return std::nullopt;
  }
  char buffer[1024];
  ssize_t got;
  do {
    got = read(fd, buffer, sizeof buffer - 1);
  } while (got < 0 && errno == EINTR);
  close(fd);
  if (got <= 0) {
    return std::nullopt;
  }
  buffer[got] = '\0';
  // pid (comm) state ppid ... : comm may hold anything, so fields are
  // counted from the last ')'. starttime is field 22 (the 20th after it).
  const char* fields = std::strrchr(buffer, ')');
  if (fields == nullptr) {
    return std::nullopt;
  }
  ProcessIdentity identity;
  identity.pid = static_cast<pid_t>(std::strtol(buffer, nullptr, 10));  // as /proc names it
  int index = 2;                                                        // the ')' ends field 2
  const char* cursor = fields + 1;
  while (*cursor != '\0') {
    while (*cursor == ' ') {
      ++cursor;
    }
    if (*cursor == '\0') {
      break;
    }
    ++index;
    char* end = nullptr;
    if (index == 4) {
      identity.ppid = static_cast<pid_t>(std::strtol(cursor, &end, 10));
    } else if (index == 22) {
      identity.start_time = std::strtoull(cursor, &end, 10);
      return identity;
    }
    while (*cursor != '\0' && *cursor != ' ') {
      ++cursor;
    }
  }
  return std::nullopt;
}

std::string BootId() {
  const int fd = open("/proc/sys/kernel/random/boot_id", O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return "";
  }
  char buffer[64];
  const ssize_t got = read(fd, buffer, sizeof buffer);
  close(fd);
  if (got <= 0) {
    return "";
  }
  std::string id(buffer, static_cast<std::size_t>(got));
  while (!id.empty() && (id.back() == '\n' || id.back() == ' ')) {
    id.pop_back();
  }
  return id;
}

std::vector<ProcessIdentity> Ancestors() {
  std::vector<ProcessIdentity> out;
  const auto self = IdentityOf(0);
  if (!self) {
    return out;
  }
  ProcessIdentity child = *self;
  while (child.ppid > 0 && out.size() < 4096) {
    const auto parent = IdentityOf(child.ppid);
    if (!parent || parent->start_time > child.start_time) {
      break;
    }
    out.push_back(*parent);
    child = *parent;
  }
  return out;
}

}  // namespace gov::exec
