// Reading one input file whole (input_file.h).
#include "runtime/support/input_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>

namespace gov::input {

std::string DisplayName(const std::string& path) {
  return path == kStandardInput ? "standard input" : path;
}

ErrorOr<std::string> ReadInputFile(const std::string& path, std::size_t limit) {
  const bool standard_input = path == kStandardInput;
  const std::string name = DisplayName(path);
  const int fd = standard_input ? STDIN_FILENO : open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Error{name + ": cannot open: " + std::strerror(errno)};
  auto close_fd = [&] {
    if (!standard_input) close(fd);
  };
  struct stat status {};
  if (fstat(fd, &status) == 0 && S_ISDIR(status.st_mode)) {
    close_fd();
    return Error{name + ": is a directory"};
  }
  std::string text;
  // A regular file's size known: one allocation, no copies as it grows.
  if (S_ISREG(status.st_mode) && status.st_size > 0 && static_cast<std::uint64_t>(status.st_size) <= limit) {
    text.reserve(static_cast<std::size_t>(status.st_size) + 1);
  }
  char buffer[65536];
  while (true) {
    const ssize_t n = read(fd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int saved = errno;
      close_fd();
      return Error{name + ": cannot read: " + std::strerror(saved)};
    }
    if (n == 0) break;
    text.append(buffer, static_cast<std::size_t>(n));
    if (text.size() > limit) {
      close_fd();
      return Error{name + ": larger than " + std::to_string(limit) + " bytes"};
    }
  }
  close_fd();
  return text;
}

}  // namespace gov::input
