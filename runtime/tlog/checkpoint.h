// C2SP tlog checkpoints (https://c2sp.org/tlog-checkpoint): the signed note
// text naming a log's tree head — origin line, decimal tree size line,
// base64 root hash line, optional extension lines. docs/tlog.md describes
// the format.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/support/error_or.h"
#include "runtime/tlog/merkle.h"
#include "runtime/tlog/note.h"

namespace gov::tlog {

// A log's tree head as a checkpoint states it.
struct Checkpoint {
  // The log's identity, e.g. "example.com/log42".
  std::string origin;
  std::uint64_t size = 0;
  Hash root_hash{};
  // Opaque extra lines, each non-empty.
  std::vector<std::string> extensions;

  bool operator==(const Checkpoint&) const = default;
};

// The note text of `checkpoint`: "<origin>\n<size>\n<base64 root>\n" then
// each extension line. Fails for an empty origin or extension line, or one
// holding a newline or another character notes forbid.
ErrorOr<std::string> FormatCheckpoint(const Checkpoint& checkpoint);

// Parses a checkpoint note text strictly: at least three non-empty lines,
// each ending in a newline; the size decimal without leading zeros and at
// most 2^64 - 1; the root hash canonical base64 of exactly 32 bytes.
ErrorOr<Checkpoint> ParseCheckpoint(std::string_view text);

// The signed note of `checkpoint` (FormatCheckpoint, SignNote).
ErrorOr<std::string> SignCheckpoint(const Checkpoint& checkpoint, std::span<const NoteSigner> signers);

// Opens a signed checkpoint: OpenNote with `known`, then ParseCheckpoint,
// and its origin must be `origin`.
ErrorOr<Checkpoint> OpenCheckpoint(std::string_view message, std::string_view origin,
                                   std::span<const NoteVerifier> known);

}  // namespace gov::tlog
