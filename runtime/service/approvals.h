// govd's approval desk (docs/govd.md "Approvals"): the `ask` decisions that
// wait for a person. govrun (or a session's supervisor) puts an ask on its
// connection; approvers — uids named on govd's command line, connected to
// the approvals socket — list and answer them; an unanswered ask times out.
// An approver never answers an ask submitted under their own uid, so a
// governed program cannot approve its own request. Answers are kept by
// govd and written into the authorization record by govd, never taken
// from the asking side.
#pragma once

#include <sys/socket.h>

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "runtime/lineage/recorder.h"
#include "runtime/support/error_or.h"

namespace gov::service {

// An ask that got its answer (or timed out), for the connection that put it.
struct ResolvedAsk {
  const void* asker = nullptr;  // the asking connection, as given to Ask
  std::string run_id;
  lineage::Approval approval;
};

class ApprovalDesk {
 public:
  ApprovalDesk(std::vector<std::int64_t> approvers, std::size_t max_pending)
      : approvers_(std::move(approvers)), max_pending_(max_pending) {}

  bool HasApprovers() const { return !approvers_.empty(); }
  bool IsApprover(std::int64_t uid) const;

  // Queues the ask of request {"op":"ask","run":ID,"question":{…},
  // "timeout_ms":N} from connection `asker` (peer `peer`); its id, or why
  // it is refused. `now_ms` is CLOCK_MONOTONIC.
  ErrorOr<std::string> Ask(const void* asker, const ucred& peer, const nlohmann::json& request, std::int64_t now_ms);

  // The waiting asks, oldest first, as the approvals socket lists them.
  nlohmann::json Pending() const;

  // An approver's answer to ask `ask_id`; the resolved ask, or why not.
  ErrorOr<ResolvedAsk> Answer(const std::string& ask_id, const ucred& approver, bool approve);

  // Asks whose time ran out by `now_ms`, resolved as "timeout".
  std::vector<ResolvedAsk> Expire(std::int64_t now_ms);

  // The asking connection closed: its asks are withdrawn.
  void Withdraw(const void* asker);

  // Milliseconds until the next ask times out; -1 when none waits.
  int MillisUntilNextDeadline(std::int64_t now_ms) const;

 private:
  struct Waiting {
    const void* asker = nullptr;
    ucred peer{};
    std::string run_id;
    nlohmann::json question;
    std::int64_t created_unix_ns = 0;
    std::int64_t deadline_ms = 0;      // CLOCK_MONOTONIC
    std::int64_t expires_unix_ns = 0;  // the same instant, as wall time for approvers
  };

  std::vector<std::int64_t> approvers_;
  std::size_t max_pending_;
  std::map<std::string, Waiting> waiting_;  // by ask id
};

// The user name of `uid` on this host, "" when it has none.
std::string UserNameOf(std::int64_t uid);

}  // namespace gov::service
