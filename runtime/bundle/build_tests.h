// The TESTS extension section of a bundle (docs/bundle-format.md "TESTS"):
// what `govc build` found when it ran the policy's own test cases before
// signing — how many cases passed and which rules they exercised. A
// non-critical section: govrun never reads it; the console shows it as the
// policy's test coverage.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/support/error_or.h"

namespace gov::bundle {

// Section type 0x80000001 (the first extension).
inline constexpr std::uint32_t kSectionTests = 0x80000001u;

struct BuildTests {
  std::uint64_t cases = 0;               // test cases run, all passed (govc builds nothing otherwise)
  std::uint64_t rules = 0;               // rules of the policy
  std::vector<std::uint32_t> exercised;  // ids of the rules some case decided, ascending, each < rules
  std::string engine;                    // what ran them, e.g. "IR interpreter"

  bool operator==(const BuildTests&) const = default;
};

// The section's payload: canonical JSON {"cases","engine","exercised","rules"}.
std::string BuildTestsToJson(const BuildTests& tests);

// Parses a payload: exactly those members with those types, `exercised`
// ascending, unique and below `rules`, and the bytes canonical.
ErrorOr<BuildTests> ParseBuildTests(std::string_view payload);

}  // namespace gov::bundle
