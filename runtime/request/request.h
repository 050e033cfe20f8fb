// The request a policy decides: an owning C++ form (`Request`), the ABI view
// over it (`RequestView` → gov_request), and its JSON form (docs/request.md)
// used by govc eval/test and lineage records.
#pragma once

#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "runtime/abi/gov_abi.h"
#include "runtime/ir/ir.h"
#include "runtime/support/error_or.h"

namespace gov::request {

// 2026-01-01T12:00:00Z, the time of a request that names none.
inline constexpr std::int64_t kDefaultTimeUnix = 1767268800;
// Latest time the JSON form accepts: 9999-12-31T23:59:59Z (dates keep 4 digits).
inline constexpr std::int64_t kMaxJsonTimeUnix = 253402300799;

// The value of one declared context field (gov_context_value, owning).
struct ContextValue {
  bool present = false;     // false: absent (only valid for optional fields)
  std::int64_t number = 0;  // bool (0/1), int, duration (ms), size (bytes)
  std::string text;         // string, path (normalized), digest

  bool operator==(const ContextValue&) const = default;
};

// Everything a policy may read about one command, owning its strings.
// Defaults are those of a JSON request that omits the field.
struct Request {
  // The file that runs: absolute, symlinks resolved (govrun reads it from
  // the descriptor it hashes and executes).
  std::string program_path;
  std::string program_name;  // empty: derived from program_path by RequestView
  std::string program_sha256 = "sha256:" + std::string(64, '0');
  // How the program was invoked: the PATH candidate or the name as given,
  // absolute, before symlinks are resolved. Empty: program_path is used by
  // RequestView. `invoked.name` is always derived from it.
  std::string invoked_path;
  // In a governed session: the file that runs (or a script's interpreter)
  // changed at or after the session started (its ctime). False outside one.
  bool program_written_in_session = false;
  std::vector<std::string> args;  // argv[1..]
  std::string argv0;              // empty: the invoked path is used by RequestView
  // Environment in any order; RequestView sorts it by key and, for a key
  // given more than once, keeps the LAST occurrence (like a shell's export).
  std::vector<std::pair<std::string, std::string>> env;
  std::string cwd = "/";
  std::string user_name = "user";
  std::int64_t uid = 1000;
  std::int64_t gid = 1000;
  std::vector<std::string> groups;  // any order; RequestView sorts and dedupes
  std::string host = "localhost";
  std::int64_t time_unix = kDefaultTimeUnix;  // seconds since 1970-01-01T00:00:00Z
  bool has_parent = false;
  std::string parent_run_id;
  std::int64_t parent_depth = 0;
  std::string parent_program;
  std::vector<ContextValue> context;  // one per declared field, declaration order

  bool operator==(const Request&) const = default;
};

// Calendar fields of a Unix time in UTC (proleptic Gregorian calendar).
struct CivilTime {
  std::int64_t hour = 0;    // 0..23
  std::int64_t minute = 0;  // 0..59
  std::string weekday;      // "mon".."sun"
  std::string date;         // "YYYY-MM-DD" (years outside 0..9999 print more digits / a sign)
};
// Derives the calendar fields of `time_unix` without locale or time zone.
CivilTime CivilFromUnix(std::int64_t time_unix);

// A gov_request over a Request. Normalizes program_path, invoked_path, cwd
// and parent_program lexically (runtime/support/path.h), derives
// program_name (when empty), invoked_name and the time fields, sorts env and
// groups (see Request).
// Points into `request` and into itself: `request` must outlive the view,
// and the view can be neither copied nor moved.
class RequestView {
 public:
  explicit RequestView(const Request& request);
  // A temporary would die before the view that points into it.
  explicit RequestView(Request&&) = delete;
  RequestView(const RequestView&) = delete;
  RequestView& operator=(const RequestView&) = delete;

  // The ABI request; valid as long as this view (and its Request) live.
  const gov_request& get() const { return view_; }

 private:
  gov_request view_{};
  std::string program_path_;
  std::string program_name_;
  std::string invoked_path_;
  std::string invoked_name_;
  std::string argv0_;
  std::string cwd_;
  std::string parent_program_;
  CivilTime civil_;
  std::vector<gov_str> args_;
  std::vector<gov_str> groups_;
  std::vector<gov_str> env_keys_;
  std::vector<gov_str> env_values_;
  std::vector<gov_context_value> context_;
};

// Parses the text form of a context value of `field` (govrun --context k=v):
// bool `true`/`false`; int decimal; duration `<n><unit>` with ms,s,m,h,d (a
// bare number is milliseconds); size `<n><unit>` with B,KB,MB,GB,TB,KiB,MiB,
// GiB,TiB (a bare number is bytes); path absolute (normalized); digest
// `sha256:` + 64 lower-case hex; string as is. Errors name the field.
ErrorOr<ContextValue> ParseContextValue(const ir::ContextField& field, std::string_view text);

// Parses a JSON request (docs/request.md) for a policy declaring `fields`.
// Strict: unknown keys, wrong types, relative paths, bad digests, byte
// strings not in their one canonical form (byte_string.h) and undeclared or
// ill-typed context values are errors with a precise message.
ErrorOr<Request> RequestFromJson(std::string_view json, const std::vector<ir::ContextField>& fields);

// The canonical JSON form of `request`: every field written, keys sorted,
// 2-space indentation, a final newline; env as an object (last duplicate
// wins; an array of pairs when a name is not UTF-8), context values typed per
// `fields` (absent ones omitted). Lossless: every string is a byte string
// (byte_string.h), so RequestFromJson(RequestToJson(r)) == r for any bytes
// in a request read from JSON.
std::string RequestToJson(const Request& request, const std::vector<ir::ContextField>& fields);

// The same two as JSON values, for callers that embed a request in a larger
// document (lineage records, govd's protocol) without printing and parsing
// it again.
nlohmann::json RequestToJsonValue(const Request& request, const std::vector<ir::ContextField>& fields);
ErrorOr<Request> RequestFromJsonValue(const nlohmann::json& json, const std::vector<ir::ContextField>& fields);

}  // namespace gov::request
