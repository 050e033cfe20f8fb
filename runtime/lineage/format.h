// The lineage record line format shared by the log writer, the bundle
// exporter and the verifier (docs/lineage-format.md is the specification):
// a record is one line `HEAD TAB BODY LF` where HEAD and BODY are canonical
// JSON; HEAD is a flat object parsed strictly and fast, BODY is hashed into it.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "runtime/support/error_or.h"

namespace gov::lineage {

// Format names and constants written into files.
inline constexpr std::string_view kLogFileName = "lineage.log";
inline constexpr std::string_view kLogFormat = "gov-lineage-log-v1";
inline constexpr std::string_view kBundleFormat = "gov-lineage-bundle-v1";
// Version 2 bundles carry the log's checkpoint note and an inclusion proof.
inline constexpr std::string_view kBundleFormatV2 = "gov-lineage-bundle-v2";
inline constexpr std::string_view kDssePayloadType = "application/vnd.in-toto+json";
inline constexpr std::string_view kStatementType = "https://in-toto.io/Statement/v1";
// Version 2 statements carry the Merkle tree head; version 1 (logs written
// before) only the chain head. Verifiers accept both.
inline constexpr std::string_view kCheckpointPredicateType = "https://gov.dev/lineage/checkpoint/v2";
inline constexpr std::string_view kCheckpointPredicateTypeV1 = "https://gov.dev/lineage/checkpoint/v1";
// The `prev` of record 0: "sha256:" followed by 64 zeros.
inline const std::string kGenesisPrev = "sha256:" + std::string(64, '0');
// Records longer than this are refused by writers and reported by readers.
inline constexpr std::size_t kMaxRecordBytes = 64u << 20;

// Record types (HEAD "type").
enum class RecordType : std::uint8_t { kHeader, kAuthorization, kStart, kEnd, kCheckpoint, kRecovery };

const char* RecordTypeName(RecordType type);

// A parsed HEAD. String views point into the parsed text.
struct Head {
  RecordType type = RecordType::kHeader;
  std::uint64_t seq = 0;
  std::string_view body;     // "sha256:…" of BODY
  std::string_view log;      // 32 lower-case hex
  std::string_view prev;     // "sha256:…" of the previous record's HEAD
  std::string_view run;      // authorization, start, end
  std::string_view parent;   // authorization: "" or a run id
  std::string_view policy;   // authorization: "sha256:…"
  std::string_view verdict;  // authorization: allow | deny | ask
  bool exec = false;         // authorization
};

// Parses a HEAD exactly as canonical JSON with the fields its type requires
// (docs/lineage-format.md "HEAD"); anything else is an error naming why.
ErrorOr<Head> ParseHead(std::string_view text);

// Writes the canonical HEAD text for `head` (fields per its type).
std::string HeadText(const Head& head);

// "sha256:" + hex of SHA-256(bytes): a record's hash (of HEAD), a body digest.
std::string DigestOf(std::string_view bytes);

// True iff `text` is 32 lower-case hex digits (log and run ids).
bool IsId(std::string_view text);

// A new random id (32 lower-case hex digits, system CSPRNG).
std::string NewId();

// DSSE pre-authentication encoding: "DSSEv1 <len(type)> <type> <len(body)> <body>".
std::string Pae(std::string_view payload_type, std::string_view payload);

}  // namespace gov::lineage
