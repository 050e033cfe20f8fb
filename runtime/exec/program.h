// Finding, opening and hashing the program govrun is asked to run, so that the
// file the policy judges is the file that executes: PATH search (absolute
// entries only), one O_RDONLY|O_CLOEXEC descriptor per file, SHA-256 of that
// descriptor, and `#!` scripts resolved to their interpreter (also opened and
// hashed). Execution later uses these same descriptors (execveat
// AT_EMPTY_PATH), never the names.
#pragma once

#include <sys/stat.h>
#include <time.h>

#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "runtime/exec/exit_codes.h"
#include "runtime/request/request.h"

namespace gov::exec {

// An open descriptor that closes itself.
class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  UniqueFd(UniqueFd&& other) noexcept : fd_(other.Release()) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept;
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  ~UniqueFd();

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  int Release();

 private:
  int fd_ = -1;
};

// One opened, identified file.
struct OpenedFile {
  // Canonical absolute path of the opened file (symlinks resolved, read from
  // /proc/self/fd after opening, so it names the file actually opened).
  std::string path;
  UniqueFd fd;
  struct stat st {};
  std::string sha256;  // "sha256:…" of the descriptor's content
};

// A program ready to run: the file named on the command line and, for a
// `#!` script, the interpreter the kernel would have used.
struct Program {
  // How the program was invoked: the PATH candidate that was opened, or the
  // name as given made absolute against the current directory; lexically
  // normalized, symlinks not resolved (the request's `invoked.path`).
  std::string invoked;
  OpenedFile file;
  bool is_script = false;
  OpenedFile interpreter;         // valid only for scripts
  std::string interpreter_argv0;  // the interpreter path as written after `#!`
  std::string interpreter_arg;    // the optional single argument after it
  bool has_interpreter_arg = false;
};

// File digests remembered across resolutions (a governed session resolves
// the same compilers thousands of times; cc1 alone is tens of MB). An entry
// is used only while the file's device, inode, size, mtime and ctime are
// all unchanged, and is made only for a file whose last change (ctime) is
// at least a second older than the hashing — so any later write, even one
// in the same coarse timestamp tick as a change just before the hashing,
// gives the file a ctime the entry does not match.
class DigestCache {
 public:
  const std::string* Find(const struct stat& st) const;
  void Add(const struct stat& st, const std::string& digest, const timespec& hashed_at);

 private:
  static constexpr std::size_t kMaxEntries = 4096;
  struct Entry {
    off_t size;
    timespec mtime;
    timespec ctime;
    std::string digest;
  };
  std::map<std::pair<dev_t, ino_t>, Entry> entries_;
};

// The directories searched for a name without a slash: the entries of
// `path_env` (":"-separated) that are absolute; empty entries, `.` and other
// relative entries are ignored. `path_env_set` false ⇒ "/usr/local/bin:/usr/bin:/bin"
// (paths::SearchDirs, paths::kDefaultSearchPath).
std::vector<std::string> SearchDirs(std::string_view path_env, bool path_env_set);

// Resolves `name` (a slash ⇒ relative to the current directory, else the
// PATH search above), opens it, checks it is a regular file executable by
// the caller, hashes it, and resolves a `#!` interpreter (absolute path,
// itself not a script). Sets `invoked`; when the path it opened has a `..`
// segment, the lexical `invoked` must name the same file (a `..` after a
// symbolic link leads elsewhere), else kExitNotExecutable. Failures:
// kExitNotFound (nothing by that name), kExitNotExecutable (directory, not a
// regular file, no execute or read permission, bad `#!` line, ambiguous
// `..`), kExitInternal (hashing, /proc or getcwd failures).
// `cache`, when given, supplies and remembers digests (DigestCache).
Outcome<Program> ResolveProgram(std::string_view name, std::string_view path_env, bool path_env_set,
                                DigestCache* cache = nullptr);

// True when `file` is an ELF dynamic loader (ld-linux*.so*, ld64.so*,
// ld.so*, ld-musl*, by name; or a copy of this system's loader, by size and
// digest). Run as a program or named as a `#!` interpreter, the loader maps
// and runs a program that no exec names, which a policy never sees.
bool IsDynamicLoader(const OpenedFile& file);

// Sets the request's program fields from a resolved program, as govrun does:
// `program` (path and digest of the file that runs), `invoked` and `argv0`
// (`name` as given on the command line).
void FillProgramFields(const Program& program, std::string_view name, request::Request& request);

// Whether the file that runs, or a script's interpreter, changed at or after
// `since`: its ctime, from the stat made when it was opened (OpenedFile::st),
// is not before `since`. Creating, writing, renaming, chmod, chown and
// linking a file set its ctime, and no user can set it back. A governed
// session's `program.written_in_session` (since = the session's start).
bool ChangedSince(const Program& program, const timespec& since);

// The same test for one file's stat: its ctime is not before `since`.
bool ChangedSince(const struct stat& st, const timespec& since);

// Opens `path` (already chosen) as an executable candidate and hashes it.
Outcome<OpenedFile> OpenExecutable(const std::string& path);

}  // namespace gov::exec
