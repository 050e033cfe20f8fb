// The byte format of a Decision IR policy: what a signed bundle carries and
// what govverify replays. Deterministic (equal policies give equal bytes),
// little-endian, versioned; docs/ir.md gives the layout byte for byte.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "runtime/ir/ir.h"
#include "runtime/support/error_or.h"

namespace gov::ir {

// The first six bytes of every serialized policy: "GOVIR" and a NUL.
inline constexpr std::string_view kSerializedMagic{"GOVIR\0", 6};
// The only format version this build writes and reads.
inline constexpr std::uint32_t kSerializedVersion = 2;

// Encodes `policy` (which should satisfy Validate) in format version 2.
std::string Serialize(const Policy& policy);

// Decodes bytes produced by Serialize. Never reads out of bounds; rejects
// truncated input, trailing bytes, other versions, unknown enum values,
// non-canonical booleans, and any policy that fails Validate.
ErrorOr<Policy> Deserialize(std::string_view bytes);

}  // namespace gov::ir
