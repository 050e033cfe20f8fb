// The environment a governed program receives: the caller's environment
// filtered by the policy's `env` obligation, without dynamic-loader
// variables (unless the policy names them), plus the GOV_RUN_* variables
// that link nested govrun calls to this run.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "runtime/ir/ir.h"

namespace gov::exec {

// Variables removed from every governed program's environment unless the
// policy's `env` obligation lists them by name: every name starting with
// `LD_` and these (glibc reads them to load code or data).
extern const std::vector<std::string_view> kLoaderVariables;

// True when `name` is a loader variable (LD_* or one of kLoaderVariables).
bool IsLoaderVariable(std::string_view name);

// Splits `environ`-style "NAME=value" entries (entries without `=` are dropped).
std::vector<std::pair<std::string, std::string>> SplitEnvironment(char** environ_entries);

// The child's environment as "NAME=value" strings: `env` filtered (the
// obligation's names when `obligations.has_env`; loader variables dropped
// unless listed), the GOV_RUN_* variables of `run_vars` always appended
// (replacing any inherited ones). Order is preserved; for a name given twice
// the last occurrence wins.
std::vector<std::string> ChildEnvironment(const std::vector<std::pair<std::string, std::string>>& env,
                                          const ir::Obligations& obligations,
                                          const std::vector<std::pair<std::string, std::string>>& run_vars);

}  // namespace gov::exec
