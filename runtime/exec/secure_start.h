// What govrun does before anything else: nothing a caller's environment
// names may be loaded into govrun. govrun is linked statically (no dynamic
// loader: LD_PRELOAD, LD_AUDIT and LD_LIBRARY_PATH-driven loading cannot
// happen at start), and because the static C library still reads
// LD_LIBRARY_PATH for the modules it may dlopen later (NSS) and its tunables
// (GLIBC_TUNABLES, MALLOC_*) before main, SecureStart re-executes govrun
// once without those variables (LD_*, MALLOC_*, GLIBC_TUNABLES, GCONV_PATH,
// LOCPATH, NLSPATH), carrying the removed entries in
// GOV_SCRUBBED_ENVIRONMENT so the request still shows the environment the
// caller gave. It also makes govrun non-dumpable: other
// processes of the same user can then neither open /proc/<govrun>/fd/*,
// /proc/<govrun>/mem nor ptrace it. docs/threat-model.md.
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace gov::exec {

// Call first in main. Either returns (the environment is clean) or
// re-executes /proc/self/exe; on a failure it prints why and exits 70 (or 78
// for a malformed GOV_SCRUBBED_ENVIRONMENT).
void SecureStart(char** argv);

// The environment entries the re-execution removed (restored for the
// request), in their original order.
const std::vector<std::pair<std::string, std::string>>& ScrubbedEnvironment();

// govrun installed set-gid to the lineage service's group (docs/govd.md):
// SecureStart lowers the effective gid to the real one at once (everything
// govrun reads or creates is the caller's) and keeps the group only as the
// saved gid. RaiseSubmitterGroup makes it effective for connecting to govd
// (the socket is mode 0660 in that group), LowerSubmitterGroup undoes that,
// ForgetSubmitterGroup drops it for good (exits 70 if it cannot). Without a
// set-gid start they do nothing.
void RaiseSubmitterGroup();
void LowerSubmitterGroup();
void ForgetSubmitterGroup();

// The carrier variable's name.
inline constexpr const char* kScrubbedEnvironmentVariable = "GOV_SCRUBBED_ENVIRONMENT";

}  // namespace gov::exec
