// The wall clock as lineage and the console record it.
#pragma once

#include <time.h>

#include <cstdint>

namespace gov {

// Nanoseconds since the Unix epoch (CLOCK_REALTIME).
inline std::int64_t UnixNowNs() {
  timespec now{};
  clock_gettime(CLOCK_REALTIME, &now);
  return static_cast<std::int64_t>(now.tv_sec) * 1000000000 + now.tv_nsec;
}

}  // namespace gov
