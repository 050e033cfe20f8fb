// govconsole's HTTP server (docs/console.md "The live console"): the console
// page and its JSON API over one lineage directory, behind a bearer token,
// on loopback or a Unix socket. cpp-httplib serves HTTP; nothing here writes
// lineage.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "console/server/known_policies.h"
#include "console/viewer/proof_viewer.h"
#include "runtime/support/error_or.h"

namespace gov::console {

struct ConsoleOptions {
  std::string lineage_dir;
  std::vector<PinnedKey> keys;  // lineage keys the log is verified against
  // The index file (docs/console.md "The index"); ":memory:" keeps none.
  std::string index_path = ":memory:";
  // Called while the index is brought up to the log at start (bytes done, log size).
  std::function<void(std::uint64_t, std::uint64_t)> index_progress;
  std::vector<KnownPolicy> policies;  // bundles given with --policy, verified at start
  std::string host = "127.0.0.1";
  int port = 0;       // 0: any free port
  // A Unix socket path to listen on instead of host:port (created 0600;
  // a stale socket there is replaced, anything else is left alone).
  std::string unix_socket;
  std::string token;  // every API request must carry "Authorization: Bearer <token>"
  int refresh_ms = 500;
  // govd's approvals socket (docs/govd.md "Approvals"): the console answers
  // asks as the uid it runs under. Empty: no approvals page.
  std::string approvals_socket;
};

// Serves until `stop` returns true (checked every refresh) or the server
// fails; `listening` is called once with the bound port (0 on a Unix socket).
ErrorOr<void> ServeConsole(const ConsoleOptions& options, const std::function<void(int port)>& listening,
                           const std::function<bool()>& stop);

}  // namespace gov::console
