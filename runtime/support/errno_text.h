// errno values as text, for the messages of ErrorOr failures.
#pragma once

#include <cstring>
#include <string>

namespace gov {

// strerror(error), as a string to append to a message.
inline std::string ErrnoText(int error) {
  return std::strerror(error);
}

}  // namespace gov
