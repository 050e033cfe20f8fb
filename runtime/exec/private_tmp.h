// The `tmp = private` obligation: a temporary directory of the run's own
// (BASE/gov-tmp-RUN_ID, BASE being the caller's TMPDIR or /tmp; mode 0700,
// made fresh: an existing entry of that name is refused), named to the
// program by TMPDIR and removed after the run.
// Removal never follows a symbolic link, never leaves the directory's file
// system, and deletes only what the run's user owns, so a program that
// moves other files into it cannot make govrun delete them for it.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <string>

#include "runtime/exec/program.h"
#include "runtime/support/error_or.h"

namespace gov::exec {

class PrivateTmp {
 public:
  // Makes `base`/gov-tmp-`run_id` (base: "/tmp" but for tests).
  static ErrorOr<PrivateTmp> Create(const std::string& run_id, const std::string& base = "/tmp");

  PrivateTmp(PrivateTmp&&) noexcept = default;
  PrivateTmp& operator=(PrivateTmp&&) noexcept = default;
  // Removes the directory (Remove()).
  ~PrivateTmp();

  const std::string& path() const { return path_; }
  // The directory, open (for Landlock rules bound to it, not to its name).
  int fd() const { return dir_.get(); }

  // Deletes what the run left (see the file comment) and the directory when
  // it is then empty and its name still names it. Returns how many entries
  // were left (owned by another user, on another file system, nested deeper
  // than 64 levels, or vanished/changed while looked at); 0 when all is gone.
  std::size_t Remove();

 private:
  PrivateTmp(std::string path, std::string base, std::string name, UniqueFd dir, uid_t owner, dev_t device, ino_t inode)
      : path_(std::move(path)),
        base_(std::move(base)),
        name_(std::move(name)),
        dir_(std::move(dir)),
        owner_(owner),
        device_(device),
        inode_(inode) {}

  std::string path_;
  std::string base_;
  std::string name_;
  UniqueFd dir_;
  uid_t owner_ = 0;
  dev_t device_ = 0;
  ino_t inode_ = 0;
};

}  // namespace gov::exec
