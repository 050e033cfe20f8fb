// The one writer of gov's output files (govc build/fmt/keygen, govverify
// export, govrun --bundle): what happens to the target depends on what it is
// (docs/architecture.md "Writing output files"):
//
//   absent, or a dangling symlink   a new file (at the link's target), atomically
//   regular file (through symlinks) replaced atomically in ITS directory: a
//                                   temporary file there, fsync, rename over
//                                   it, fsync of the directory; its permission
//                                   bits and owner are kept (when allowed)
//   `-`                             written to standard output
//   character device, FIFO          written to directly (opened, not replaced)
//   directory, socket, block device an error; nothing is written or removed
//
// Private keys (OutputOptions::private_key) go only to regular files (or new
// ones), always with mode 0600: never to `-`, a device or a FIFO, where
// another process could read them.
#pragma once

#include <sys/types.h>

#include <string>
#include <string_view>

#include "runtime/support/error_or.h"

namespace gov::output {

// How to write one output file.
struct OutputOptions {
  // Permission bits of a new file (the umask applies, as for any created
  // file). A replaced regular file keeps its own bits (rwx only: set-id and
  // sticky bits are dropped).
  mode_t mode = 0644;
  // A private key: regular files only, mode exactly 0600 (new or replaced).
  bool private_key = false;
  // False: an existing directory entry at `path` (a dangling symlink too) is
  // an error instead of being written through or replaced.
  bool replace_existing = true;
};

// Writes `bytes` to `path` as the header describes. On an error the target
// is as it was (a half-written temporary file is removed); for a device or
// FIFO, bytes already written cannot be taken back. Errors name the path.
ErrorOr<void> WriteOutputFile(const std::string& path, std::string_view bytes, const OutputOptions& options = {});

// Writes all of `bytes` to the open descriptor `fd` (retrying after EINTR
// and short writes); false at the first error.
bool WriteAllToFd(int fd, std::string_view bytes);

}  // namespace gov::output
