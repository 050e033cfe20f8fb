// The environment a governed program receives. By default an allow-list —
// the caller's values of a few variables that only describe the terminal,
// the locale, the time zone and the command search path, plus the account's
// own HOME, USER, LOGNAME and SHELL from the user database — so that no
// variable the caller (or a compromised agent) sets can make an allowed tool
// load or run other code (GIT_CONFIG_*, BASH_ENV, PYTHONPATH, NODE_OPTIONS,
// LD_PRELOAD, …). A policy's `env` obligation replaces the allow-list by
// exactly the names it lists. The GOV_RUN_* variables that link nested
// govrun calls to this run are always set. docs/govrun.md "Environment".
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "runtime/ir/ir.h"

namespace gov::exec {

// glibc's list of variables it removes for setuid programs (its
// UNSECURE_ENVVARS, besides LD_*): they make glibc load code or data.
extern const std::vector<std::string_view> kLoaderVariables;

// True when `name` is a loader variable (LD_*, MALLOC_* tunable aliases, or
// one of kLoaderVariables).
bool IsLoaderVariable(std::string_view name);

// True when the default allow-list passes the caller's value of `name`:
// PATH, TERM, COLORTERM, NO_COLOR, LANG, LANGUAGE, LC_*, TZ, COLUMNS, LINES,
// and GOV_CONFIG (so that a nested govrun uses the same configuration).
bool IsDefaultPassedVariable(std::string_view name);

// What govrun itself knows about the caller, used for the variables the
// default environment sets rather than copies (empty: not set).
struct AccountVariables {
  std::string home;   // HOME: the user database's home directory
  std::string user;   // USER and LOGNAME: the user database's name
  std::string shell;  // SHELL: the user database's login shell
  std::string cwd;    // PWD: the working directory govrun measured
};

// Splits `environ`-style "NAME=value" entries (entries without `=` are dropped).
std::vector<std::pair<std::string, std::string>> SplitEnvironment(char** environ_entries);

// The child's environment as "NAME=value" strings. With an `env` obligation:
// the caller's entries whose names it lists. Without: the caller's entries
// that IsDefaultPassedVariable accepts, then HOME, USER, LOGNAME, SHELL and
// PWD from `account`. The GOV_RUN_* variables of `run_vars` are always
// appended (replacing any inherited ones). Order is preserved; for a name
// given twice the last occurrence wins.
std::vector<std::string> ChildEnvironment(const std::vector<std::pair<std::string, std::string>>& env,
                                          const ir::Obligations& obligations, const AccountVariables& account,
                                          const std::vector<std::pair<std::string, std::string>>& run_vars);

}  // namespace gov::exec
