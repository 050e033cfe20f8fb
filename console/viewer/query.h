// Questions asked of the viewer data's runs (ProofViewerData), shared by
// `govverify list` / `govverify show` and the console: filters, and runs as
// terminal text. Every lineage string is shown escaped (EscapeForDisplay).
// docs/govverify.md "list and show".
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "runtime/support/error_or.h"

namespace gov::console {

// Which runs to show; an empty member matches every run.
struct RunFilter {
  std::string verdict;                // "allow" | "deny" | "ask"
  std::string program;                // the program's path, or its last segment
  std::optional<std::int64_t> since;  // decision time ≥ (Unix seconds)
  std::optional<std::int64_t> until;  // decision time < (Unix seconds)
  std::string user;                   // the user's name
  std::string rule;                   // a deciding rule's name
  std::optional<int> exit_status;     // exited with this status
  std::string text;                   // a substring of the command line
};

// A time for --since/--until: `YYYY-MM-DD`, `YYYY-MM-DDTHH:MM:SSZ` (UTC),
// `@SECONDS` (Unix), or a duration before `now` (`90s`, `30m`, `12h`, `7d`).
ErrorOr<std::int64_t> ParseTimeArgument(std::string_view text, std::int64_t now);

// The decision time of a run (its request's `time`), in Unix seconds.
std::optional<std::int64_t> RunTime(const nlohmann::json& run);

// What the text filter searches in a run: its argv (argv0, else the
// program, then the arguments), each word followed by a space.
std::string SearchText(const nlohmann::json& run);

bool Matches(const nlohmann::json& run, const RunFilter& filter);

// The bytes of a byte string (a JSON string or {"base64": …}); "" otherwise.
std::string BytesOf(const nlohmann::json& value);

// One line per run: time, verdict, outcome, run id, command line.
std::string RunLine(const nlohmann::json& run);

// Everything recorded about one run, as text (`govverify show`), with its
// children taken from `data`'s runs.
std::string RunText(const nlohmann::json& run, const nlohmann::json& data);

// The run's outcome in words: "exit 0", "not run", "killed (timeout)", …
std::string Outcome(const nlohmann::json& run);

}  // namespace gov::console
