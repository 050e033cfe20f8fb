// govd's approval desk (approvals.h).
#include "runtime/service/approvals.h"

#include <fmt/format.h>
#include <pwd.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <limits>

#include "runtime/support/clock.h"

namespace gov::service {
namespace {

using Json = nlohmann::json;

// The longest an ask may wait for a person: a day.
constexpr std::int64_t kMaxAskTimeoutMs = 24 * 3600 * 1000;
// The largest question shown to approvers (its JSON text).
constexpr std::size_t kMaxQuestionBytes = 64 * 1024;

bool IsRunId(const std::string& id) {
  return id.size() == 32 &&
         std::all_of(id.begin(), id.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

}  // namespace

std::string UserNameOf(std::int64_t uid) {
  if (uid < 0) return "";
  passwd entry{};
  passwd* found = nullptr;
  std::vector<char> buffer(16384);
  if (getpwuid_r(static_cast<uid_t>(uid), &entry, buffer.data(), buffer.size(), &found) != 0 || found == nullptr) {
    return "";
  }
  return found->pw_name;
}

bool ApprovalDesk::IsApprover(std::int64_t uid) const {
  return std::find(approvers_.begin(), approvers_.end(), uid) != approvers_.end();
}

ErrorOr<std::string> ApprovalDesk::Ask(const void* asker, const ucred& peer, const Json& request, std::int64_t now_ms) {
  if (approvers_.empty()) return Error{"govd has no approvers (govd --approver): the ask cannot be put to anyone"};
  const auto run = request.find("run");
  const auto question = request.find("question");
  const auto timeout = request.find("timeout_ms");
  if (run == request.end() || !run->is_string() || !IsRunId(run->get<std::string>())) {
    return Error{"ask needs run: the run id (32 lower-case hex digits)"};
  }
  if (question == request.end() || !question->is_object()) return Error{"ask needs question: an object"};
  if (timeout == request.end() || !timeout->is_number_integer() || timeout->get<std::int64_t>() < 1 ||
      timeout->get<std::int64_t>() > kMaxAskTimeoutMs) {
    return Error{fmt::format("ask needs timeout_ms: 1 to {}", kMaxAskTimeoutMs)};
  }
  if (question->dump(-1, ' ', false, Json::error_handler_t::replace).size() > kMaxQuestionBytes) {
    return Error{fmt::format("ask: the question is larger than {} bytes", kMaxQuestionBytes)};
  }
  for (const auto& [id, waiting] : waiting_) {
    if (waiting.asker == asker) return Error{"ask: this connection already has an ask waiting"};
  }
  if (waiting_.size() >= max_pending_) {
    return Error{fmt::format("ask: {} asks are already waiting for approvers", waiting_.size())};
  }
  const std::int64_t timeout_ms = timeout->get<std::int64_t>();
  Waiting waiting;
  waiting.asker = asker;
  waiting.peer = peer;
  waiting.run_id = run->get<std::string>();
  waiting.question = *question;
  waiting.created_unix_ns = UnixNowNs();
  waiting.deadline_ms = now_ms + timeout_ms;
  waiting.expires_unix_ns = waiting.created_unix_ns + timeout_ms * 1000000;
  const std::string id = lineage::NewRunId();
  waiting_.emplace(id, std::move(waiting));
  return id;
}

Json ApprovalDesk::Pending() const {
  std::vector<const std::pair<const std::string, Waiting>*> order;
  for (const auto& entry : waiting_) order.push_back(&entry);
  std::sort(order.begin(), order.end(),
            [](const auto* a, const auto* b) { return a->second.created_unix_ns < b->second.created_unix_ns; });
  Json asks = Json::array();
  for (const auto* entry : order) {
    const Waiting& waiting = entry->second;
    asks.push_back({{"ask", entry->first},
                    {"run", waiting.run_id},
                    {"asker",
                     {{"pid", waiting.peer.pid},
                      {"uid", waiting.peer.uid},
                      {"gid", waiting.peer.gid},
                      {"user", UserNameOf(waiting.peer.uid)}}},
                    {"question", waiting.question},
                    {"created_unix_ns", waiting.created_unix_ns},
                    {"expires_unix_ns", waiting.expires_unix_ns}});
  }
  return asks;
}

ErrorOr<ResolvedAsk> ApprovalDesk::Answer(const std::string& ask_id, const ucred& approver, bool approve) {
  if (!IsApprover(approver.uid)) return Error{fmt::format("uid {} is not an approver of this govd", approver.uid)};
  const auto found = waiting_.find(ask_id);
  if (found == waiting_.end()) {
    return Error{fmt::format("no ask {} is waiting: it was answered, timed out or withdrawn", ask_id)};
  }
  if (found->second.peer.uid == approver.uid) {
    return Error{fmt::format("uid {} submitted ask {}: an approver never answers an ask of their own uid", approver.uid,
                             ask_id)};
  }
  ResolvedAsk resolved;
  resolved.asker = found->second.asker;
  resolved.run_id = found->second.run_id;
  resolved.approval.ask_id = ask_id;
  resolved.approval.answer = approve ? "yes" : "no";
  resolved.approval.by_uid = approver.uid;
  resolved.approval.by_user = UserNameOf(approver.uid);
  resolved.approval.at_unix_ns = UnixNowNs();
  waiting_.erase(found);
  return resolved;
}

std::vector<ResolvedAsk> ApprovalDesk::Expire(std::int64_t now_ms) {
  std::vector<ResolvedAsk> expired;
  for (auto it = waiting_.begin(); it != waiting_.end();) {
    if (it->second.deadline_ms > now_ms) {
      ++it;
      continue;
    }
    ResolvedAsk resolved;
    resolved.asker = it->second.asker;
    resolved.run_id = it->second.run_id;
    resolved.approval.ask_id = it->first;
    resolved.approval.answer = "timeout";
    resolved.approval.at_unix_ns = UnixNowNs();
    expired.push_back(std::move(resolved));
    it = waiting_.erase(it);
  }
  return expired;
}

void ApprovalDesk::Withdraw(const void* asker) {
  std::erase_if(waiting_, [&](const auto& entry) { return entry.second.asker == asker; });
}

int ApprovalDesk::MillisUntilNextDeadline(std::int64_t now_ms) const {
  std::int64_t next = -1;
  for (const auto& [id, waiting] : waiting_) {
    const std::int64_t left = std::max<std::int64_t>(0, waiting.deadline_ms - now_ms);
    if (next < 0 || left < next) next = left;
  }
  return static_cast<int>(std::min<std::int64_t>(next, std::numeric_limits<int>::max()));
}

}  // namespace gov::service
