// Environment filtering for governed programs (see env.h).
#include "runtime/exec/env.h"

#include <algorithm>
#include <cstring>
#include <unordered_map>

#include "runtime/ir/env_names.h"

namespace gov::exec {

const std::vector<std::string_view> kLoaderVariables = {
    "GCONV_PATH", "GETCONF_DIR", "GLIBC_TUNABLES",   "HOSTALIASES", "LOCALDOMAIN", "LOCPATH", "MALLOC_TRACE",
    "NIS_PATH",   "NLSPATH",     "RESOLV_HOST_CONF", "RES_OPTIONS", "TMPDIR",      "TZDIR",
};

bool IsLoaderVariable(std::string_view name) {
  return name.starts_with("LD_") || name.starts_with("MALLOC_") ||
         std::find(kLoaderVariables.begin(), kLoaderVariables.end(), name) != kLoaderVariables.end();
}

bool IsDefaultPassedVariable(std::string_view name) {
  static constexpr std::string_view kPassed[] = {"PATH",     "TERM", "COLORTERM", "NO_COLOR", "LANG",
                                                 "LANGUAGE", "TZ",   "COLUMNS",   "LINES",    "GOV_CONFIG"};
  return std::find(std::begin(kPassed), std::end(kPassed), name) != std::end(kPassed) ||
         (name.starts_with("LC_") && name.size() > 3);
}

std::vector<std::pair<std::string, std::string>> SplitEnvironment(char** environ_entries) {
  std::vector<std::pair<std::string, std::string>> env;
  for (char** entry = environ_entries; entry != nullptr && *entry != nullptr; ++entry) {
    const char* equal = std::strchr(*entry, '=');
    if (equal == nullptr || equal == *entry) {
      continue;
    }
    env.emplace_back(std::string(*entry, static_cast<std::size_t>(equal - *entry)), std::string(equal + 1));
  }
  return env;
}

std::vector<std::string> ChildEnvironment(const std::vector<std::pair<std::string, std::string>>& env,
                                          const ir::Obligations& obligations, const AccountVariables& account,
                                          const std::vector<std::pair<std::string, std::string>>& run_vars) {
  auto listed = [&](std::string_view name) { return ir::EnvNameListed(obligations.env, name); };
  auto is_run_var = [&](std::string_view name) {
    return std::any_of(run_vars.begin(), run_vars.end(), [&](const auto& var) { return var.first == name; });
  };
  // Last occurrence wins: remember the index of each name's last entry.
  std::unordered_map<std::string_view, std::size_t> last;
  for (std::size_t i = 0; i < env.size(); ++i) {
    last[env[i].first] = i;
  }
  std::vector<std::string> out;
  out.reserve(env.size() + run_vars.size() + 5);
  for (std::size_t i = 0; i < env.size(); ++i) {
    const auto& [name, value] = env[i];
    if (last[name] != i || is_run_var(name)) {
      continue;
    }
    if (obligations.has_env ? !listed(name) : !IsDefaultPassedVariable(name)) {
      continue;
    }
    out.push_back(name + "=" + value);
  }
  if (!obligations.has_env) {
    const std::pair<const char*, const std::string*> measured[] = {{"HOME", &account.home},
                                                                   {"USER", &account.user},
                                                                   {"LOGNAME", &account.user},
                                                                   {"SHELL", &account.shell},
                                                                   {"PWD", &account.cwd}};
    for (const auto& [name, value] : measured) {
      if (!value->empty() && !is_run_var(name)) {
        out.push_back(std::string(name) + "=" + *value);
      }
    }
  }
  for (const auto& [name, value] : run_vars) {
    out.push_back(name + "=" + value);
  }
  return out;
}

}  // namespace gov::exec
