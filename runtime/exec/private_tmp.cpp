// The run's private temporary directory: made fresh, removed without
// following links or leaving its file system (private_tmp.h).
#include "runtime/exec/private_tmp.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

#include "runtime/support/errno_text.h"

namespace gov::exec {
namespace {

constexpr int kMaxDepth = 64;

// What the removal keeps fixed: whose entries it deletes and on which file
// system.
struct Scope {
  uid_t owner;
  dev_t device;
};

// Deletes the entries of the directory open at `dir` that `scope` allows,
// depth first; returns how many it left.
std::size_t RemoveContents(int dir, const Scope& scope, int depth) {
  const int listing_fd = fcntl(dir, F_DUPFD_CLOEXEC, 0);
  if (listing_fd < 0) return 1;
  DIR* listing = fdopendir(listing_fd);
  if (listing == nullptr) {
    close(listing_fd);
    return 1;
  }
  // Names first, then deletions: deleting while reading may skip entries.
  std::vector<std::string> names;
  while (const dirent* entry = readdir(listing)) {
    const std::string name = entry->d_name;
    if (name != "." && name != "..") names.push_back(name);
  }
  closedir(listing);
  std::size_t left = 0;
  for (const std::string& name : names) {
    struct stat st {};
    if (fstatat(dir, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
      left += errno == ENOENT ? 0 : 1;
      continue;
    }
    if (st.st_uid != scope.owner || st.st_dev != scope.device) {
      ++left;
      continue;
    }
    if (!S_ISDIR(st.st_mode)) {
      left += unlinkat(dir, name.c_str(), 0) == 0 || errno == ENOENT ? 0 : 1;
      continue;
    }
    if (depth >= kMaxDepth) {
      ++left;
      continue;
    }
    // O_NOFOLLOW: a directory swapped for a link since the fstatat is not
    // entered; the identity check catches any other swap.
    const int child = openat(dir, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (child < 0) {
      ++left;
      continue;
    }
    struct stat opened {};
    if (fstat(child, &opened) != 0 || opened.st_ino != st.st_ino || opened.st_dev != st.st_dev) {
      close(child);
      ++left;
      continue;
    }
    const std::size_t inner = RemoveContents(child, scope, depth + 1);
    close(child);
    left += inner;
    if (inner == 0) {
      left += unlinkat(dir, name.c_str(), AT_REMOVEDIR) == 0 || errno == ENOENT ? 0 : 1;
    }
  }
  return left;
}

}  // namespace

ErrorOr<PrivateTmp> PrivateTmp::Create(const std::string& run_id, const std::string& base) {
  const std::string name = "gov-tmp-" + run_id;
  const std::string path = base + "/" + name;
  const int base_fd = open(base.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (base_fd < 0) return Error{base + ": " + ErrnoText(errno)};
  UniqueFd base_dir(base_fd);
  // mkdirat fails on any existing entry, a planted link included.
  if (mkdirat(base_dir.get(), name.c_str(), 0700) != 0) {
    return Error{"cannot make " + path + ": " + ErrnoText(errno)};
  }
  const int fd = openat(base_dir.get(), name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) {
    const int error = errno;
    unlinkat(base_dir.get(), name.c_str(), AT_REMOVEDIR);
    return Error{"cannot open " + path + ": " + ErrnoText(error)};
  }
  UniqueFd dir(fd);
  struct stat st {};
  if (fstat(dir.get(), &st) != 0 || st.st_uid != geteuid() || (st.st_mode & 07777) != 0700) {
    unlinkat(base_dir.get(), name.c_str(), AT_REMOVEDIR);
    return Error{path + " is not the private directory govrun made (owner or mode changed)"};
  }
  return PrivateTmp(path, base, name, std::move(dir), st.st_uid, st.st_dev, st.st_ino);
}

PrivateTmp::~PrivateTmp() {
  Remove();
}

std::size_t PrivateTmp::Remove() {
  if (!dir_.valid()) return 0;
  std::size_t left = RemoveContents(dir_.get(), Scope{owner_, device_}, 1);
  dir_ = UniqueFd();
  if (left == 0) {
    // The name is removed only while it still names the directory made.
    const int base_fd = open(base_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    struct stat st {};
    if (base_fd >= 0 && fstatat(base_fd, name_.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 && st.st_ino == inode_ &&
        st.st_dev == device_) {
      if (unlinkat(base_fd, name_.c_str(), AT_REMOVEDIR) != 0) left = 1;
    } else {
      left = 1;
    }
    if (base_fd >= 0) close(base_fd);
  } else {
    ++left;  // the directory itself
  }
  return left;
}

}  // namespace gov::exec
