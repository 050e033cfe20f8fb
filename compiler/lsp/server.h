// `govc lsp`: a Language Server (LSP 3.17, JSON-RPC 2.0 over stdio) for Gov
// policies. Diagnostics come from the same check and lint passes as `govc
// lint`, formatting from `govc fmt`'s printer; docs/lsp.md lists what it does.
#pragma once

#include <string>

namespace gov::lsp {

// Serves requests read from `in_fd` and writes responses and notifications to
// `out_fd` until the client sends `exit` or the input ends. Returns the exit
// status: 0 when `shutdown` came first, 1 otherwise (as LSP specifies).
int RunServer(int in_fd, int out_fd, const std::string& version);

}  // namespace gov::lsp
