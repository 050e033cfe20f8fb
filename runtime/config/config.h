// govrun's configuration (TOML): where it is found and what it may say.
// Search order: --config FILE, else $GOV_CONFIG, else
// $XDG_CONFIG_HOME/gov/config.toml (or ~/.config/gov/config.toml when
// XDG_CONFIG_HOME is unset or empty), else /etc/gov/config.toml. An explicit
// --config or $GOV_CONFIG that cannot be read is an error (no fallback).
// A root-owned /etc/gov/config.toml with `lock = true` is the only
// configuration of a caller who is not root: --config and $GOV_CONFIG are
// then refused (docs/govrun.md "Configuration").
// docs/govrun.md lists every key.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "runtime/support/error_or.h"

namespace gov::config {

// A validated configuration. Paths are absolute (relative ones in the file
// are resolved against the file's directory).
struct Config {
  std::string source;                     // the file it was read from
  std::string policy;                     // the signed bundle (.govb)
  std::vector<std::string> trusted_keys;  // public key PEM files, at least one
  std::string lineage_dir;                // the lineage log directory
  std::string signing_key;                // private key PEM for lineage (without a service)
  // govd's socket (docs/govd.md): records go to the lineage service, which
  // alone holds the key and writes the log in lineage_dir. Excludes
  // signing_key.
  std::string lineage_service;
  std::int64_t ask_timeout_ms = 30000;           // `ask` prompt: no answer in time ⇒ no
  // `ask = "service"`: every `ask` goes to the lineage service's approvers
  // (docs/govd.md "Approvals"), never to a terminal; needs lineage_service.
  // The default ("terminal") asks on govrun's controlling terminal (and in
  // a session only on --ask-terminal).
  bool ask_via_service = false;
  std::int64_t kill_grace_ms = 2000;             // timeout: SIGTERM, then SIGKILL after this
  std::int64_t lineage_lock_timeout_ms = 10000;  // longest wait for the lineage log's lock
  // session_drift: what a governed session does on drift (the bundle, keys
  // or this file changed on disk; a running script changed): deny further
  // execs and stop the changed script's run ("deny-execs", the default), or
  // also end the whole session ("stop-session").
  bool session_stop_on_drift = false;
  // `lock = true` (system configuration only): callers who are not root
  // cannot choose another configuration.
  bool locked = false;
};

// Where the system configuration is.
inline constexpr const char* kSystemConfigPath = "/etc/gov/config.toml";

// Where to look, in order, given the --config value (may be empty) and the
// environment.
struct Search {
  std::string explicit_path;  // --config
  bool has_gov_config = false;
  std::string gov_config;  // $GOV_CONFIG
  std::string xdg_config_home;
  std::string home;
  // Whether the caller is root (real uid 0): a locked system configuration
  // binds everyone else.
  bool caller_is_root = false;
};

// The candidate files for `search`, in order; `strict` is true for the
// first (and only) candidate when it came from --config or $GOV_CONFIG.
std::vector<std::string> CandidatePaths(const Search& search, bool* strict);

// Finds and parses the configuration. Errors name the file and the problem:
// none found (listing where it looked), unreadable, not a regular file,
// larger than 1 MiB, TOML syntax (with line and column), unknown keys,
// wrong types, missing required keys.
ErrorOr<Config> LoadConfig(const Search& search);

// Parses `text` as the configuration file `path` (used by LoadConfig and tests).
ErrorOr<Config> ParseConfig(const std::string& text, const std::string& path);

}  // namespace gov::config
