// One-shot SHA-256 for large inputs (lineage logs, policy bundles): the x86 SHA extensions
// when the CPU has them, else libsodium (runtime/crypto/sha256.h). Same
// results either way (checked by tests/lineage/fast_sha256_test.cpp).
#pragma once

#include <span>
#include <string_view>

#include "runtime/crypto/sha256.h"

namespace gov::crypto {

// SHA-256 of `bytes`.
Sha256Digest FastSha256(std::string_view bytes);

// SHA-256 of `bytes` and, from the same single pass, of its first
// `prefix_size` bytes (clamped to the size) into `prefix_digest` (signed
// bundles need both: the signed part and the whole file).
Sha256Digest FastSha256WithPrefix(std::string_view bytes, std::size_t prefix_size, Sha256Digest& prefix_digest);

// SHA-256 of each message into `digests` (as many): with the SHA
// instructions two messages are hashed at a time, their rounds interleaved,
// which gives ~1.4x the throughput for many small inputs (a log's records)
// on CPUs whose round instruction has more latency than throughput.
void FastSha256Batch(std::span<const std::string_view> messages, std::span<Sha256Digest> digests);

// SHA-256 of the whole file open as `fd`, like Sha256OfFd (pread from
// offset 0; the descriptor's offset is unchanged), with the SHA instructions.
ErrorOr<Sha256Digest> FastSha256OfFd(int fd);

// True when FastSha256 uses the CPU's SHA instructions.
bool FastSha256Accelerated();

}  // namespace gov::crypto
