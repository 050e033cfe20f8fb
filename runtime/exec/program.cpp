// Program resolution, opening and hashing (see program.h).
#include "runtime/exec/program.h"

#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>
#include <utility>

#include "runtime/crypto/fast_sha256.h"
#include "runtime/crypto/sha256.h"
#include "runtime/support/errno_text.h"
#include "runtime/support/path.h"

namespace gov::exec {

UniqueFd& UniqueFd::operator=(UniqueFd&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) {
      close(fd_);
    }
    fd_ = other.Release();
  }
  return *this;
}

UniqueFd::~UniqueFd() {
  if (fd_ >= 0) {
    close(fd_);
  }
}

int UniqueFd::Release() {
  const int fd = fd_;
  fd_ = -1;
  return fd;
}

namespace {

constexpr std::string_view kDeletedSuffix = " (deleted)";
// Longest `#!` line the kernel reads (BINPRM_BUF_SIZE since Linux 5.1).
constexpr std::size_t kShebangMax = 256;

// The canonical path of an open descriptor, from /proc/self/fd.
Outcome<std::string> PathOfFd(int fd, const struct stat& st) {
  char link[64];
  std::snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
  std::string buffer(PATH_MAX, '\0');
  const ssize_t size = readlink(link, buffer.data(), buffer.size());
  if (size < 0) {
    return Failure{kExitInternal, std::string("cannot read ") + link + " (is /proc mounted?): " + ErrnoText(errno)};
  }
  if (static_cast<std::size_t>(size) >= buffer.size()) {
    return Failure{kExitInternal, "the program's path is longer than PATH_MAX"};
  }
  buffer.resize(static_cast<std::size_t>(size));
  // Replaced or removed after opening: the descriptor still holds the file
  // that was hashed; its former name is the best path there is.
  if (st.st_nlink == 0 && buffer.size() > kDeletedSuffix.size() && buffer.ends_with(kDeletedSuffix)) {
    buffer.resize(buffer.size() - kDeletedSuffix.size());
  }
  if (buffer.empty() || buffer[0] != '/') {
    return Failure{kExitNotExecutable, "the program is not a file on a mounted file system: " + buffer};
  }
  return buffer;
}

// Opens a candidate. kExitNotFound for names that do not exist.
Outcome<OpenedFile> OpenCandidate(const std::string& path) {
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  if (fd < 0) {
    const int error = errno;
    if (error == ENOENT || error == ENOTDIR || error == ELOOP || error == ENAMETOOLONG) {
      return Failure{kExitNotFound, path + ": " + ErrnoText(error)};
    }
    if (error == EACCES || error == EPERM) {
      return Failure{kExitNotExecutable, path + ": cannot open it to hash it: " + ErrnoText(error)};
    }
    return Failure{kExitNotExecutable, path + ": " + ErrnoText(error)};
  }
  OpenedFile file;
  file.fd = UniqueFd(fd);
  if (fstat(fd, &file.st) != 0) {
    return Failure{kExitInternal, path + ": fstat: " + ErrnoText(errno)};
  }
  if (S_ISDIR(file.st.st_mode)) {
    return Failure{kExitNotExecutable, path + ": is a directory"};
  }
  if (!S_ISREG(file.st.st_mode)) {
    return Failure{kExitNotExecutable, path + ": not a regular file"};
  }
  // The descriptor must not stay non-blocking for the interpreter that may
  // read it (#! scripts run as /dev/fd/N).
  const int flags = fcntl(fd, F_GETFL);
  if (flags < 0 || fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) != 0) {
    return Failure{kExitInternal, path + ": fcntl: " + ErrnoText(errno)};
  }
  if (faccessat(fd, "", X_OK, AT_EMPTY_PATH | AT_EACCESS) != 0) {
    const int error = errno;
    return Failure{kExitNotExecutable, path + ": not executable: " + ErrnoText(error)};
  }
  return file;
}

// Refuses a file some process has open for writing when it is hashed. The
// checks after hashing compare the file's state (size, mtime, ctime), and
// every write changes ctime — except a write through a shared mapping whose
// page is already dirty and writable, which changes no timestamp. Such a
// mapping keeps the file open for writing, which a read lease detects
// (F_SETLEASE F_RDLCK fails with EAGAIN while any writer exists). A writer
// that opens the file after this check changes ctime with its first write.
// Without a lease (a file of another user, or a file system without
// leases) a file this user cannot write has no writer among its programs.
Outcome<bool> CheckNoWriters(const OpenedFile& file, const std::string& path) {
  const int fd = file.fd.get();
  // A writer opening while the lease is held breaks it with a signal to
  // this process: SIGURG, ignored by default, rather than SIGIO.
  fcntl(fd, F_SETSIG, SIGURG);
  const bool leased = fcntl(fd, F_SETLEASE, F_RDLCK) == 0;
  const int error = errno;
  if (leased) {
    fcntl(fd, F_SETLEASE, F_UNLCK);
  }
  fcntl(fd, F_SETSIG, 0);
  if (leased) {
    return true;
  }
  if (error == EAGAIN) {
    return Failure{kExitNotExecutable, path +
                                           ": a process has it open for writing (or mapped writable); it could "
                                           "change after it is hashed, so it is not run"};
  }
  if (file.st.st_uid != geteuid() && faccessat(fd, "", W_OK, AT_EMPTY_PATH | AT_EACCESS) != 0) {
    return true;
  }
  return Failure{kExitNotExecutable,
                 path + ": cannot check that no process has it open for writing (F_SETLEASE: " + ErrnoText(error) +
                     "); it could change after it is hashed. Run it from a file system with "
                     "leases, or from a file this user cannot write"};
}

// Finishes an opened candidate: canonical path and hash (from `cache` when
// it knows the file in this very state).
Outcome<OpenedFile> Identify(OpenedFile file, DigestCache* cache) {
  auto path = PathOfFd(file.fd.get(), file.st);
  if (!path.ok()) {
    return path.failure();
  }
  file.path = std::move(path.value());
  if (cache != nullptr) {
    if (const std::string* known = cache->Find(file.st)) {
      file.sha256 = *known;
      return file;
    }
  }
  if (auto no_writers = CheckNoWriters(file, file.path); !no_writers.ok()) {
    return no_writers.failure();
  }
  timespec hashed_at{};
  clock_gettime(CLOCK_REALTIME, &hashed_at);
  auto digest = crypto::FastSha256OfFd(file.fd.get());
  if (!digest.ok()) {
    return Failure{kExitInternal, file.path + ": " + digest.error().message};
  }
  file.sha256 = crypto::DigestString(digest.value());
  if (cache != nullptr) {
    cache->Add(file.st, file.sha256, hashed_at);
  }
  return file;
}

struct Shebang {
  bool present = false;
  std::string interpreter;
  std::string arg;
  bool has_arg = false;
};

// Parses the `#!` line the way Linux does: the interpreter ends at the first
// blank, the rest of the line (trimmed) is one optional argument.
Outcome<Shebang> ReadShebang(int fd, const std::string& path) {
  char buffer[kShebangMax];
  ssize_t got;
  do {
    got = pread(fd, buffer, sizeof buffer, 0);
  } while (got < 0 && errno == EINTR);
  if (got < 0) {
    return Failure{kExitInternal, path + ": read: " + ErrnoText(errno)};
  }
  Shebang shebang;
  const std::string_view head(buffer, static_cast<std::size_t>(got));
  if (!head.starts_with("#!")) {
    return shebang;
  }
  shebang.present = true;
  const std::size_t end = head.find('\n');
  if (end == std::string_view::npos && head.size() == kShebangMax) {
    return Failure{kExitNotExecutable, path + ": the #! line is longer than " + std::to_string(kShebangMax) + " bytes"};
  }
  std::string_view line = head.substr(2, end == std::string_view::npos ? std::string_view::npos : end - 2);
  auto is_blank = [](char c) { return c == ' ' || c == '\t'; };
  while (!line.empty() && is_blank(line.front())) {
    line.remove_prefix(1);
  }
  while (!line.empty() && (is_blank(line.back()) || line.back() == '\r')) {
    line.remove_suffix(1);
  }
  std::size_t split = 0;
  while (split < line.size() && !is_blank(line[split])) {
    ++split;
  }
  shebang.interpreter = std::string(line.substr(0, split));
  std::string_view rest = line.substr(split);
  while (!rest.empty() && is_blank(rest.front())) {
    rest.remove_prefix(1);
  }
  if (!rest.empty()) {
    shebang.arg = std::string(rest);
    shebang.has_arg = true;
  }
  if (shebang.interpreter.empty()) {
    return Failure{kExitNotExecutable, path + ": the #! line names no interpreter"};
  }
  if (shebang.interpreter.find('\0') != std::string::npos || shebang.arg.find('\0') != std::string::npos) {
    return Failure{kExitNotExecutable, path + ": the #! line contains a NUL byte"};
  }
  if (shebang.interpreter[0] != '/') {
    return Failure{kExitNotExecutable,
                   path + ": the #! interpreter `" + shebang.interpreter + "` is not an absolute path"};
  }
  return shebang;
}

bool HasDotDotSegment(std::string_view path) {
  std::size_t start = 0;
  while (start <= path.size()) {
    std::size_t end = path.find('/', start);
    if (end == std::string_view::npos) {
      end = path.size();
    }
    if (path.substr(start, end - start) == "..") {
      return true;
    }
    start = end + 1;
  }
  return false;
}

// The invoked path of the absolute path `opened` through which `file` was
// opened: `opened` normalized lexically. A `..` after a symbolic link leads
// where the kernel went, not where the lexical form points, so then the
// lexical form must name the same file or the program is refused.
Outcome<std::string> InvokedPath(const std::string& opened, const OpenedFile& file) {
  std::string invoked = paths::Normalize(opened);
  if (!HasDotDotSegment(opened)) {
    return invoked;
  }
  struct stat st {};
  if (stat(invoked.c_str(), &st) != 0 || st.st_dev != file.st.st_dev || st.st_ino != file.st.st_ino) {
    return Failure{kExitNotExecutable, opened + ": its `..` does not lead to " + invoked +
                                           " (a `..` after a symbolic link): give the program's path without `..`"};
  }
  return invoked;
}

Outcome<Program> FinishProgram(std::string opened, OpenedFile file, DigestCache* cache) {
  auto invoked = InvokedPath(opened, file);
  if (!invoked.ok()) {
    return invoked.failure();
  }
  auto identified = Identify(std::move(file), cache);
  if (!identified.ok()) {
    return identified.failure();
  }
  Program program;
  program.invoked = std::move(invoked.value());
  program.file = std::move(identified.value());
  auto shebang = ReadShebang(program.file.fd.get(), program.file.path);
  if (!shebang.ok()) {
    return shebang.failure();
  }
  if (!shebang.value().present) {
    return program;
  }
  program.is_script = true;
  program.interpreter_argv0 = shebang.value().interpreter;
  program.interpreter_arg = shebang.value().arg;
  program.has_interpreter_arg = shebang.value().has_arg;
  auto interpreter = OpenCandidate(program.interpreter_argv0);
  if (!interpreter.ok()) {
    return Failure{kExitNotExecutable,
                   program.file.path + ": its #! interpreter cannot be used: " + interpreter.failure().message};
  }
  auto identified_interpreter = Identify(std::move(interpreter.value()), cache);
  if (!identified_interpreter.ok()) {
    return identified_interpreter.failure();
  }
  if (IsDynamicLoader(identified_interpreter.value())) {
    // The loader would run the program named after it on the `#!` line,
    // which no request shows.
    return Failure{kExitNotExecutable, program.file.path + ": its #! interpreter " +
                                           identified_interpreter.value().path +
                                           " is the dynamic loader, which would run a program the policy never sees"};
  }
  program.interpreter = std::move(identified_interpreter.value());
  auto nested = ReadShebang(program.interpreter.fd.get(), program.interpreter.path);
  if (!nested.ok()) {
    return nested.failure();
  }
  if (nested.value().present) {
    return Failure{kExitNotExecutable, program.file.path + ": its #! interpreter " + program.interpreter.path +
                                           " is itself a script; govrun runs one level of #! only"};
  }
  return program;
}

}  // namespace

std::vector<std::string> SearchDirs(std::string_view path_env, bool path_env_set) {
  return paths::SearchDirs(path_env_set ? path_env : paths::kDefaultSearchPath);
}

Outcome<OpenedFile> OpenExecutable(const std::string& path) {
  auto file = OpenCandidate(path);
  if (!file.ok()) {
    return file.failure();
  }
  return Identify(std::move(file.value()), nullptr);
}

Outcome<Program> ResolveProgram(std::string_view name, std::string_view path_env, bool path_env_set,
                                DigestCache* cache) {
  if (name.empty()) {
    return Failure{kExitNotFound, "the program name is empty"};
  }
  if (name.find('\0') != std::string_view::npos) {
    return Failure{kExitNotFound, "the program name contains a NUL byte"};
  }
  if (name.find('/') != std::string_view::npos) {
    auto file = OpenCandidate(std::string(name));
    if (!file.ok()) {
      return file.failure();
    }
    std::string opened(name);
    if (name[0] != '/') {
      char* cwd = getcwd(nullptr, 0);
      if (cwd == nullptr) {
        return Failure{kExitInternal, std::string("cannot determine the current directory: ") + ErrnoText(errno)};
      }
      opened = std::string(cwd) + "/" + opened;
      std::free(cwd);
    }
    return FinishProgram(std::move(opened), std::move(file.value()), cache);
  }
  // Like execvp: remember the first "found but not usable" and keep looking.
  std::optional<Failure> first_unusable;
  for (const std::string& dir : SearchDirs(path_env, path_env_set)) {
    std::string candidate = dir;
    if (!candidate.ends_with('/')) {
      candidate += '/';
    }
    candidate += name;
    auto file = OpenCandidate(candidate);
    if (file.ok()) {
      return FinishProgram(std::move(candidate), std::move(file.value()), cache);
    }
    if (file.failure().exit_code != kExitNotFound && !first_unusable) {
      first_unusable = file.failure();
    }
  }
  if (first_unusable) {
    return *first_unusable;
  }
  return Failure{kExitNotFound, std::string(name) + ": command not found in PATH"};
}

bool IsDynamicLoader(const OpenedFile& file) {
  const std::size_t slash = file.path.rfind('/');
  const std::string_view name =
      slash == std::string::npos ? std::string_view(file.path) : std::string_view(file.path).substr(slash + 1);
  if ((name.starts_with("ld-") || name.starts_with("ld64.so") || name.starts_with("ld.so")) &&
      name.find(".so") != std::string_view::npos) {
    return true;
  }
  // A copy under another name: this system's loader, hashed once (only
  // when the sizes match).
  static constexpr const char* kSystemLoader = "/lib64/ld-linux-x86-64.so.2";
  struct stat loader {};
  if (stat(kSystemLoader, &loader) != 0 || loader.st_size != file.st.st_size) {
    return false;
  }
  static const std::string loader_digest = [] {
    const int fd = open(kSystemLoader, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      return std::string();
    }
    auto digest = crypto::FastSha256OfFd(fd);
    close(fd);
    return digest.ok() ? crypto::DigestString(digest.value()) : std::string();
  }();
  return !loader_digest.empty() && loader_digest == file.sha256;
}

const std::string* DigestCache::Find(const struct stat& st) const {
  const auto found = entries_.find({st.st_dev, st.st_ino});
  if (found == entries_.end()) {
    return nullptr;
  }
  const Entry& entry = found->second;
  const bool same = entry.size == st.st_size && entry.mtime.tv_sec == st.st_mtim.tv_sec &&
                    entry.mtime.tv_nsec == st.st_mtim.tv_nsec && entry.ctime.tv_sec == st.st_ctim.tv_sec &&
                    entry.ctime.tv_nsec == st.st_ctim.tv_nsec;
  return same ? &entry.digest : nullptr;
}

void DigestCache::Add(const struct stat& st, const std::string& digest, const timespec& hashed_at) {
  // Only a file whose last change is a second older than the hashing: a
  // write after it gets a later ctime, whatever the timestamp granularity.
  if (st.st_ctim.tv_sec + 1 >= hashed_at.tv_sec || entries_.size() >= kMaxEntries) {
    return;
  }
  entries_[{st.st_dev, st.st_ino}] = Entry{st.st_size, st.st_mtim, st.st_ctim, digest};
}

bool ChangedSince(const struct stat& st, const timespec& since) {
  return st.st_ctim.tv_sec > since.tv_sec || (st.st_ctim.tv_sec == since.tv_sec && st.st_ctim.tv_nsec >= since.tv_nsec);
}

bool ChangedSince(const Program& program, const timespec& since) {
  return ChangedSince(program.file.st, since) || (program.is_script && ChangedSince(program.interpreter.st, since));
}

void FillProgramFields(const Program& program, std::string_view name, request::Request& request) {
  request.program_path = program.file.path;
  request.program_name.clear();
  request.program_sha256 = program.file.sha256;
  request.invoked_path = program.invoked;
  request.argv0 = std::string(name);
}

}  // namespace gov::exec
