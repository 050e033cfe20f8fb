// The linter behind `govc lint`: checks on a type-checked policy that find
// likely mistakes (unused names, rules that never or always fire, rules no
// test exercises, ...) and report them as GOV3xxx diagnostics. Their levels
// come from the registry and may be changed per project in gov.toml, whose
// own problems are GOV4xxx diagnostics. docs/lint.md describes each lint.
#pragma once

#include <map>
#include <string>

#include "compiler/check/check.h"
#include "compiler/diagnostics/diagnostic.h"
#include "compiler/source/source.h"

namespace gov::lint {

// How a lint is reported: dropped, as a warning, or as an error.
enum class Level { kOff, kWarning, kError };

// Per-code level overrides from gov.toml; codes not mentioned keep their
// registry default.
struct Config {
  std::map<diagnostics::Kind, Level> levels;
  // Path of the gov.toml used, or empty.
  std::string path;
};

// The name of a configuration file the linter looks for.
inline constexpr const char* kConfigFileName = "gov.toml";

// Parses gov.toml text (the `[lint]` table; see docs/lint.md). Problems are
// GOV4001..GOV4004 diagnostics with spans into `file`, which the caller has
// added to `sources`, so they render with carets like policy errors. Returns
// the configuration, partial when there were problems. Never throws.
Config ParseConfig(const source::SourceManager& sources, source::FileId file, diagnostics::Collector& diagnostics);

// Finds gov.toml in the directory of `policy_path` (or in `policy_path`
// itself when it names a directory) or in any parent directory, up to the
// filesystem root. Returns its path — relative when `policy_path` is
// relative — or empty when there is none. Never throws.
std::string FindConfig(const std::string& policy_path);

// Runs every lint over the program's entry module (imported modules are not
// linted) and adds the findings to `diagnostics` in source order, at the
// levels `config` gives (kOff drops a finding).
void Lint(const check::Program& program, const source::SourceManager& sources, const Config& config,
          diagnostics::Collector& diagnostics);

// The level a finding of `kind` is reported at under `config`.
Level LevelFor(const Config& config, diagnostics::Kind kind);

}  // namespace gov::lint
