// One-shot SHA-256 for verifying large logs quickly: the x86 SHA extensions
// when the CPU has them, else libsodium (runtime/crypto/sha256.h). Same
// results either way (checked by tests/lineage).
#pragma once

#include <string_view>

#include "runtime/crypto/sha256.h"

namespace gov::lineage {

// SHA-256 of `bytes`.
crypto::Sha256Digest FastSha256(std::string_view bytes);

// True when FastSha256 uses the CPU's SHA instructions.
bool FastSha256Accelerated();

}  // namespace gov::lineage
