// WriteOutputFile (see output_file.h): classify the target, then write to
// standard output, write a device or FIFO directly, or create or replace a
// regular file atomically in its own directory.
#include "runtime/support/output_file.h"

#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace gov::output {
namespace {

// How often a target that changes kind while it is being written is
// classified again before giving up.
constexpr int kAttempts = 3;
// Symlinks followed to a dangling target (the kernel's limit).
constexpr int kMaxSymlinkHops = 40;

std::string Why(int error) {
  return std::strerror(error);
}

std::string DirOf(const std::string& path) {
  const std::size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

std::string BaseOf(const std::string& path) {
  const std::size_t slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

// "a directory", "a socket", … for an error message.
const char* KindOf(mode_t mode) {
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISSOCK(mode)) return "a socket";
  if (S_ISBLK(mode)) return "a block device";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISFIFO(mode)) return "a FIFO";
  if (S_ISLNK(mode)) return "a symbolic link";
  if (S_ISREG(mode)) return "a regular file";
  return "not a file";
}

// Writes all of `bytes` to `fd` (waiting when it is non-blocking).
ErrorOr<void> WriteAll(int fd, std::string_view bytes, const std::string& name) {
  std::size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t wrote = write(fd, bytes.data() + done, bytes.size() - done);
    if (wrote < 0 && errno == EINTR) continue;
    if (wrote < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      pollfd ready{fd, POLLOUT, 0};
      (void)poll(&ready, 1, -1);
      continue;
    }
    if (wrote <= 0) return Error{name + ": write failed: " + Why(wrote < 0 ? errno : EIO)};
    done += static_cast<std::size_t>(wrote);
  }
  return {};
}

// Standard output: written as it is (a terminal, pipe or file opened by the
// shell, appends included), synced when it is a regular file.
ErrorOr<void> WriteStdout(std::string_view bytes) {
  struct stat st {};
  if (fstat(STDOUT_FILENO, &st) != 0) return Error{"-: standard output is not open: " + Why(errno)};
  std::fflush(stdout);
  GOV_RETURN_IF_ERROR(WriteAll(STDOUT_FILENO, bytes, "-"));
  if (S_ISREG(st.st_mode) && fsync(STDOUT_FILENO) != 0 && errno != EINVAL && errno != EROFS) {
    return Error{"-: cannot flush standard output: " + Why(errno)};
  }
  return {};
}

// A character device or FIFO: opened for writing (never created, truncated
// or replaced) and written to.
ErrorOr<void> WriteDirectly(const std::string& path, std::string_view bytes) {
  const int fd = open(path.c_str(), O_WRONLY | O_NOCTTY | O_CLOEXEC);
  if (fd < 0) return Error{path + ": cannot open: " + Why(errno)};
  struct stat st {};
  if (fstat(fd, &st) != 0 || !(S_ISCHR(st.st_mode) || S_ISFIFO(st.st_mode))) {
    close(fd);
    return Error{path + ": changed while it was opened; nothing was written"};
  }
  auto written = WriteAll(fd, bytes, path);
  if (close(fd) != 0 && written.ok() && errno != EINTR) return Error{path + ": write failed: " + Why(errno)};
  return written;
}

// A temporary file in `dir`, removed unless released.
struct TempFile {
  std::string path;
  int fd = -1;
  ~TempFile() {
    if (fd >= 0) close(fd);
    if (!path.empty()) unlink(path.c_str());
  }
};

ErrorOr<void> OpenTemp(const std::string& target, mode_t mode, TempFile& temp) {
  // Hidden, next to the target, named after it (shortened to fit NAME_MAX).
  const std::string dir = DirOf(target);
  const std::string base = BaseOf(target).substr(0, 200);
  for (int attempt = 0; attempt < 16; ++attempt) {
    unsigned char random[8];
    if (getrandom(random, sizeof random, 0) != static_cast<ssize_t>(sizeof random)) {
      return Error{target + ": getrandom failed: " + Why(errno)};
    }
    char suffix[17];
    for (int i = 0; i < 8; ++i) std::snprintf(suffix + 2 * i, 3, "%02x", random[i]);
    const std::string name = dir + "/." + base + ".tmp-" + suffix;
    // O_EXCL|O_NOFOLLOW: never through a link someone planted; the umask applies.
    const int fd = open(name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
    if (fd >= 0) {
      temp.path = name;
      temp.fd = fd;
      return {};
    }
    if (errno != EEXIST) return Error{target + ": cannot create a temporary file in " + dir + ": " + Why(errno)};
  }
  return Error{target + ": cannot create a temporary file in " + dir + ": too many name collisions"};
}

// Syncs directory `dir` so that a rename in it is durable.
ErrorOr<void> SyncDir(const std::string& dir, const std::string& target) {
  const int fd = open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return {};  // e.g. a directory we may write but not read: the rename itself is done
  const int rc = fsync(fd);
  const int saved = errno;
  close(fd);
  if (rc != 0 && saved != EINVAL && saved != EROFS) {
    return Error{target + ": written, but its directory could not be synced: " + Why(saved)};
  }
  return {};
}

enum class Placed { kDone, kRaced };

// Writes `bytes` to a temporary file in the target's directory and puts it at
// `target`: over the regular file `existing` (same inode still there), or,
// when `existing` is null, only if nothing is at `target` (kRaced if
// something appeared).
ErrorOr<Placed> PutAtomically(const std::string& target, std::string_view bytes, const OutputOptions& options,
                              const struct stat* existing) {
  TempFile temp;
  GOV_RETURN_IF_ERROR(OpenTemp(target, options.private_key ? 0600 : options.mode, temp));
  if (existing != nullptr) {
    // Keep the owner where we may (root replacing a user's file), then the
    // permission bits (a chown may clear them).
    (void)fchown(temp.fd, existing->st_uid, existing->st_gid);
    const mode_t keep = options.private_key ? 0600 : (existing->st_mode & 0777);
    if (fchmod(temp.fd, keep) != 0) return Error{target + ": cannot set the mode of " + temp.path + ": " + Why(errno)};
  } else if (options.private_key && fchmod(temp.fd, 0600) != 0) {
    return Error{target + ": cannot set the mode of " + temp.path + ": " + Why(errno)};
  }
  GOV_RETURN_IF_ERROR(WriteAll(temp.fd, bytes, temp.path));
  if (fsync(temp.fd) != 0) return Error{target + ": cannot flush " + temp.path + ": " + Why(errno)};
  const int fd = temp.fd;
  temp.fd = -1;
  if (close(fd) != 0) return Error{target + ": cannot flush " + temp.path + ": " + Why(errno)};

  if (existing != nullptr) {
    // Replace only what was classified: the same regular file.
    struct stat now {};
    if (lstat(target.c_str(), &now) != 0 || !S_ISREG(now.st_mode) || now.st_ino != existing->st_ino ||
        now.st_dev != existing->st_dev) {
      return Placed::kRaced;
    }
    if (rename(temp.path.c_str(), target.c_str()) != 0) return Error{target + ": cannot replace: " + Why(errno)};
    temp.path.clear();
  } else {
    // Create without replacing whatever may have appeared meanwhile.
    int rc = renameat2(AT_FDCWD, temp.path.c_str(), AT_FDCWD, target.c_str(), RENAME_NOREPLACE);
    bool linked = false;
    if (rc != 0 && (errno == EINVAL || errno == ENOSYS)) {
      // A file system without RENAME_NOREPLACE: a hard link is just as exclusive.
      rc = link(temp.path.c_str(), target.c_str());
      linked = rc == 0;
    }
    if (rc != 0) {
      if (errno == EEXIST) return Placed::kRaced;
      return Error{target + ": cannot create: " + Why(errno)};
    }
    // Renamed: nothing left to remove; linked: the temporary name goes (~TempFile).
    if (!linked) temp.path.clear();
  }
  GOV_RETURN_IF_ERROR(SyncDir(DirOf(target), target));
  return Placed::kDone;
}

// The missing file a dangling symlink chain at `path` ends in.
ErrorOr<std::string> DanglingTarget(const std::string& path) {
  std::string current = path;
  for (int hop = 0; hop <= kMaxSymlinkHops; ++hop) {
    struct stat st {};
    if (lstat(current.c_str(), &st) != 0) {
      if (errno == ENOENT) return current;
      return Error{path + ": cannot follow the link to " + current + ": " + Why(errno)};
    }
    if (!S_ISLNK(st.st_mode)) return Error{path + ": changed while it was written"};
    char buffer[PATH_MAX];
    const ssize_t length = readlink(current.c_str(), buffer, sizeof buffer);
    if (length < 0) return Error{path + ": cannot read the link " + current + ": " + Why(errno)};
    if (static_cast<std::size_t>(length) >= sizeof buffer) return Error{path + ": the link target is too long"};
    const std::string target(buffer, static_cast<std::size_t>(length));
    current = target.starts_with('/') ? target : DirOf(current) + "/" + target;
  }
  return Error{path + ": " + Why(ELOOP)};
}

}  // namespace

ErrorOr<void> WriteOutputFile(const std::string& path, std::string_view bytes, const OutputOptions& options) {
  if (path.empty()) return Error{"the output path is empty"};
  if (path == "-") {
    if (options.private_key) return Error{"refusing to write a private key to standard output"};
    return WriteStdout(bytes);
  }
  for (int attempt = 0; attempt < kAttempts; ++attempt) {
    struct stat link {};
    if (lstat(path.c_str(), &link) != 0) {
      if (errno != ENOENT) return Error{path + ": " + Why(errno)};
      GOV_ASSIGN_OR_RETURN(const Placed placed, PutAtomically(path, bytes, options, nullptr));
      if (placed == Placed::kDone) return {};
      continue;
    }
    if (!options.replace_existing) return Error{path + " already exists; refusing to overwrite it"};
    struct stat target {};
    if (stat(path.c_str(), &target) != 0) {
      if (errno != ENOENT || !S_ISLNK(link.st_mode)) return Error{path + ": " + Why(errno)};
      // A dangling symlink: the file is created where it points, the link stays.
      GOV_ASSIGN_OR_RETURN(const std::string missing, DanglingTarget(path));
      GOV_ASSIGN_OR_RETURN(const Placed placed, PutAtomically(missing, bytes, options, nullptr));
      if (placed == Placed::kDone) return {};
      continue;
    }
    if (S_ISREG(target.st_mode)) {
      // Through any symlinks, to the real file: replaced in its own directory.
      std::string real = path;
      if (S_ISLNK(link.st_mode)) {
        char* resolved = realpath(path.c_str(), nullptr);
        if (resolved == nullptr) return Error{path + ": cannot resolve the link: " + Why(errno)};
        real = resolved;
        std::free(resolved);
      }
      GOV_ASSIGN_OR_RETURN(const Placed placed, PutAtomically(real, bytes, options, &target));
      if (placed == Placed::kDone) return {};
      continue;
    }
    if (S_ISCHR(target.st_mode) || S_ISFIFO(target.st_mode)) {
      if (options.private_key) {
        return Error{path + " is " + KindOf(target.st_mode) +
                     "; refusing to write a private key anywhere but a regular file"};
      }
      return WriteDirectly(path, bytes);
    }
    return Error{path + " is " + KindOf(target.st_mode) + ", not a file to write; nothing was written"};
  }
  return Error{path + ": changed while it was written (tried " + std::to_string(kAttempts) +
               " times); nothing was replaced"};
}

bool WriteAllToFd(int fd, std::string_view bytes) {
  std::size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t wrote = write(fd, bytes.data() + done, bytes.size() - done);
    if (wrote < 0 && errno == EINTR) {
      continue;
    }
    if (wrote <= 0) {
      return false;
    }
    done += static_cast<std::size_t>(wrote);
  }
  return true;
}

}  // namespace gov::output
