// C2SP tlog cosignatures (https://c2sp.org/tlog-cosignature), Ed25519
// `cosignature/v1`: a cosigner's (witness's) timestamped statement that a
// checkpoint is the largest consistent tree head it has observed for its
// log. A cosignature is one more signature line on the checkpoint note.
// docs/tlog.md describes the format.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "runtime/crypto/ed25519.h"
#include "runtime/support/error_or.h"
#include "runtime/tlog/note.h"

namespace gov::tlog {

// The signature type byte of Ed25519 cosignature keys (in key ids and vkeys).
inline constexpr std::uint8_t kCosignatureEd25519 = 0x04;
// Timestamps are POSIX seconds at most 2^63 - 1.
inline constexpr std::uint64_t kMaxCosignatureTime = (std::uint64_t{1} << 63) - 1;

// SHA-256(name || 0x0A || 0x04 || 32-byte public key)[:4], big-endian.
std::uint32_t CosignatureKeyId(std::string_view name, const crypto::PublicKey& key);

// What a cosignature/v1 signs: "cosignature/v1\ntime <timestamp>\n" followed
// by the checkpoint's note text (with its final newline).
std::string CosignedMessage(std::string_view checkpoint_text, std::uint64_t timestamp);

// The signature line of cosigner `name` (a valid note key name) with `key`
// over `checkpoint_text` at `timestamp`: key id, then the 8-byte big-endian
// timestamp and the 64-byte signature.
ErrorOr<NoteSignature> Cosign(std::string_view checkpoint_text, std::string_view name, const crypto::PrivateKey& key,
                              std::uint64_t timestamp);

// A cosignature that verified.
struct VerifiedCosignature {
  std::string name;
  std::uint64_t timestamp = 0;
};

// The cosignature by `key` among `note`'s signature lines — a line whose key
// id is CosignatureKeyId(its name, key) — verified over the note's text. An
// error when there is none, when such a line does not verify, or when its
// timestamp exceeds 2^63 - 1.
ErrorOr<VerifiedCosignature> FindCosignature(const Note& note, const crypto::PublicKey& key);

}  // namespace gov::tlog
