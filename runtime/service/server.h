// govd's service loop (docs/govd.md): accepts govrun's connections on a Unix
// socket, appends what they submit to the lineage log it alone can write,
// signs checkpoints with the key it alone holds, and acknowledges an
// authorization only once it is durable. Every request read in one round of
// the loop shares one fdatasync (group commit).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "runtime/lineage/recorder.h"
#include "runtime/support/error_or.h"

namespace gov::service {

struct ServerOptions {
  // Peers must present this effective gid (SO_PEERCRED): the group govrun
  // is installed set-gid to, which no other program of a user can take on.
  // Root (euid 0) is always accepted. -1: any peer (tests of the protocol
  // only; govd's command line does not offer it).
  std::int64_t submitter_gid = -1;
  // At most this many connections at once; more are closed at accept.
  int max_clients = 512;
  // Approvals (docs/govd.md "Approvals"): a listening socket for approvers
  // (-1: none), the uids that may answer asks on it (SO_PEERCRED), and how
  // many asks may wait at once.
  int approvals_fd = -1;
  std::vector<std::int64_t> approvers;
  std::size_t max_pending_asks = 256;
  // Where govd's own metrics go (Prometheus text format, docs/govd.md
  // "Metrics"): rewritten (temporary file, rename) at most once a second
  // while they change. Empty: not written.
  std::string metrics_file;
  // A signed checkpoint at least this often (authorizations appended since
  // the last one), whether or not a client asks for one: a checkpoint lists
  // the runs it covers, so its size (and govd's memory) stays bounded.
  std::size_t authorizations_per_checkpoint = 1024;
};

// Serves `listen_fd` (a listening SOCK_STREAM Unix socket) until `stop_fd`
// (e.g. a signalfd) becomes readable, then writes a last checkpoint and
// returns. Records go to `recorder` (lineage::OpenLog). An error is a
// failure of the log itself (a failed fdatasync or append): every
// unacknowledged submission has been refused by then, and govd exits.
ErrorOr<void> Serve(int listen_fd, int stop_fd, lineage::Recorder& recorder, const ServerOptions& options);

}  // namespace gov::service
