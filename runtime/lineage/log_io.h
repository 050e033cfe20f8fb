// Lineage internals shared by the recorder, the exporter, govverify and tests:
// canonical JSON, record bodies, the log's tail, and bundle export.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/crypto/ed25519.h"
#include "runtime/lineage/format.h"
#include "runtime/lineage/recorder.h"
#include "runtime/support/error_or.h"
#include "runtime/tlog/merkle.h"

namespace gov::lineage {

// Canonical JSON (docs/lineage-format.md "Canonical JSON"): keys sorted
// bytewise, no whitespace, integers only, minimal escapes, UTF-8. Bytes that
// are not UTF-8 are never replaced: writers encode them as byte strings
// (runtime/request/byte_string.h), and a value holding such a string anyway
// gives the empty text, which no reader accepts and Append refuses.
std::string Canonical(const nlohmann::json& value);

// Obligations and recorded rules as JSON (authorization bodies; replay
// compares these exact forms); paths and names as byte strings.
nlohmann::json ObligationsToJson(const ir::Obligations& obligations);

// The salted hash of an environment value: "sha256:" + hex of
// SHA-256(salt || name || 0x00 || value).
std::string EnvValueHash(std::string_view salt, std::string_view name, std::string_view value);

// The 32-byte salt of a log's environment hashes: SHA-256("gov lineage env
// salt v2" || 0x00 || the signing key's 32-byte seed || the log id). It is
// exactly as secret as the lineage signing key; no separate salt file
// exists (docs/lineage-format.md "Environment values").
std::string DeriveEnvSalt(const crypto::PrivateKey& key, std::string_view log_id);

// Parses untrusted JSON text (record bodies, envelopes, statements, bundle
// headers): an error for invalid JSON and for nesting deeper than 32 levels
// (our formats need 4; deeper input would only exercise recursion).
ErrorOr<nlohmann::json> ParseUntrusted(std::string_view text);

// The end of a log: the last valid record and any bytes after it.
struct Tail {
  bool empty = true;            // no byte in the file
  std::uint64_t size = 0;       // file size
  std::uint64_t next_seq = 0;   // seq of the next record
  std::string prev;             // hash of the last valid record
  std::string log_id;           // the log's id (from the last valid record)
  std::uint64_t valid_end = 0;  // offset just after the last valid record's LF
};

// Reads the tail of the log open as `fd` (the caller holds the lock).
ErrorOr<Tail> ReadTail(int fd);

// One complete record line split in HEAD and BODY (views into the line).
struct SplitLine {
  std::string_view head;
  std::string_view body;
  bool has_body = false;  // a bundle may carry a HEAD alone
};
// Splits a line (without its LF) at its first TAB.
SplitLine Split(std::string_view line);

// The whole record line for `head` (whose `body` field is set here) and `body`.
std::string MakeLine(Head head, const std::string& body);

// The checkpoint body for a log at `count` records whose last hash is `prev`
// and whose first `count` records have Merkle tree head `root` (a version 2
// statement; version 1, without a tree head, when null: tests of old logs).
// `subjects` are (name, "sha256:…") pairs after the log subject.
std::string CheckpointBody(std::string_view log_id, std::uint64_t count, std::string_view prev,
                           const std::vector<std::pair<std::string, std::string>>& subjects,
                           const std::vector<std::string>& runs, const crypto::PrivateKey& key, const tlog::Hash* root);

// The verified content of a checkpoint body's statement.
struct CheckpointClaim {
  std::string log;
  std::uint64_t count = 0;
  std::string head;
  std::string key_id_hint;
  std::vector<std::string> runs;  // the runs the signing govrun says it recorded
  std::optional<tlog::Hash> root;  // version 2: the tree head of the first `count` records
};
// Decodes a checkpoint body and checks its signature against `trusted`:
// returns the claim, or an error; `signature_failure` tells a bad/untrusted
// signature from a malformed body.
ErrorOr<CheckpointClaim> OpenCheckpoint(std::string_view body, const std::vector<crypto::PublicKey>& trusted,
                                        bool& signature_failure);

// Writes a lineage bundle for `run_id` and its descendants from the log at
// `log_path` to `out_path` (output::WriteOutputFile: a regular file is
// replaced atomically, `-`, a FIFO or a character device written directly).
// `from_offset` may point at or before the root's authorization to skip a scan.
ErrorOr<void> ExportBundleFromLog(const std::string& log_path, const std::string& run_id, const std::string& out_path,
                                  std::uint64_t from_offset = 0);

}  // namespace gov::lineage
