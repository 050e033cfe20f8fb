// govd's service loop (server.h): one thread, poll(2) over the listening
// socket, the stop descriptor, the recorder's durability events and every
// connection. Requests read in one round are appended in order and share one
// fdatasync, made by the recorder's syncing thread while this loop goes on
// reading and appending the next round (pipelined group commit); an
// acknowledgement that promises durability is written only once the sync
// covering its record has completed, and every connection's answers leave in
// request order.
#include "runtime/service/server.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <deque>
#include <iterator>
#include <list>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <vector>

#include "runtime/service/approvals.h"
#include "runtime/service/protocol.h"
#include "runtime/support/histogram.h"

namespace gov::service {
namespace {

using Json = nlohmann::json;

// How many runs authorized without execution each connection remembers.
constexpr std::size_t kSettledRunsKept = 4096;

// An answer not yet written: a `durable` one waits until the log is durable
// up to `ticket` (assigned at the end of the round that appended it); one
// for an ask waits while `awaiting_ask` names it.
struct PendingReply {
  Json reply;
  bool durable = false;
  std::optional<std::uint64_t> ticket;
  std::string awaiting_ask;
  std::int64_t received_ns = 0;  // CLOCK_MONOTONIC when its request was read
};

// One connection and what is buffered for it.
struct Client {
  int fd = -1;
  ucred peer{};
  bool greeted = false;
  bool closing = false;  // close once every answer is written
  std::string in;
  std::string out;
  // Answers in request order; the first ones that are ready move to `out`.
  std::deque<PendingReply> replies;
  // Runs authorized to execute on this connection: only they may get start
  // and end records from it (an end removes its run).
  std::set<std::string> runs;
  // Runs authorized here without execution (denied, refused asks), newest
  // last, at most kSettledRunsKept: a repeated authorization of one of them
  // is refused, and they get no start or end. Bounded, so a long session
  // that is denied again and again does not grow govd.
  std::set<std::string> settled;
  std::deque<std::string> settled_order;
  // An approver's connection (the approvals socket): only hello, pending
  // and answer.
  bool approver = false;
  // Asks of this connection that got their answer, by ask id, until an
  // authorization uses it.
  std::map<std::string, ResolvedAsk> answered;
};

Json Refusal(const std::string& message) {
  return Json{{"ok", false}, {"error", message}};
}

std::int64_t ClockNs(clockid_t clock) {
  timespec now{};
  clock_gettime(clock, &now);
  return static_cast<std::int64_t>(now.tv_sec) * 1000000000 + now.tv_nsec;
}

std::int64_t MonotonicMs() {
  return ClockNs(CLOCK_MONOTONIC) / 1000000;
}

void Reply(Client& client, Json reply, bool durable) {
  client.replies.push_back(
      PendingReply{std::move(reply), durable, std::nullopt, "", durable ? ClockNs(CLOCK_MONOTONIC) : 0});
}

// govd's own measurements, which the log does not hold (docs/govd.md
// "Metrics"), written for govconsole's /metrics and any textfile collector.
struct ServiceMetrics {
  Histogram ack;                                 // a durable request read → its acknowledgement queued
  Histogram checkpoint;                          // a signed checkpoint written and synced
  std::map<std::string, std::uint64_t> records;  // appended, by type
  std::uint64_t refusals = 0;
  std::uint64_t connections_refused = 0;
  bool changed = false;
  std::int64_t written_ms = 0;

  std::string Text() const {
    std::string out;
    ack.Write(out, "gov_govd_ack_seconds",
              "Time from govd reading a submission that waits for durability to its acknowledgement (includes the "
              "shared fdatasync).");
    checkpoint.Write(out, "gov_govd_checkpoint_seconds", "Time to sign, append and sync a checkpoint.");
    out += "# HELP gov_govd_records_total Records govd appended to the log since it started, by type.\n";
    out += "# TYPE gov_govd_records_total counter\n";
    for (const auto& [type, count] : records) {
      out += fmt::format("gov_govd_records_total{{type=\"{}\"}} {}\n", type, count);
    }
    out += "# HELP gov_govd_refusals_total Requests govd refused since it started.\n";
    out += "# TYPE gov_govd_refusals_total counter\n";
    out += fmt::format("gov_govd_refusals_total {}\n", refusals);
    out += "# HELP gov_govd_connections_refused_total Connections refused at accept (identity, limit).\n";
    out += "# TYPE gov_govd_connections_refused_total counter\n";
    out += fmt::format("gov_govd_connections_refused_total {}\n", connections_refused);
    out += "# HELP gov_govd_metrics_time_seconds When govd wrote these metrics (Unix time).\n";
    out += "# TYPE gov_govd_metrics_time_seconds gauge\n";
    out += fmt::format("gov_govd_metrics_time_seconds {}\n", ClockNs(CLOCK_REALTIME) / 1000000000);
    return out;
  }
};

// Replaces `path` with `text` (a temporary file beside it, then rename),
// mode 0644; the reason when it cannot.
std::optional<std::string> WriteMetricsFile(const std::string& path, const std::string& text) {
  // A fresh file (never one planted at the temporary name), then rename.
  const std::string temporary = path + ".tmp";
  unlink(temporary.c_str());
  const int fd = open(temporary.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
  if (fd < 0) return std::string(std::strerror(errno));
  const bool written = write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  const int write_errno = errno;
  fchmod(fd, 0644);
  close(fd);
  if (written && rename(temporary.c_str(), path.c_str()) == 0) return std::nullopt;
  const std::string reason = std::strerror(written ? errno : write_errno);
  unlink(temporary.c_str());
  return reason;
}

// Gives the asking connection its answer: the waiting reply is filled, and
// the answer is kept for the authorization that will name it.
void Deliver(Client& asker, const ResolvedAsk& resolved) {
  const lineage::Approval& approval = resolved.approval;
  Json reply = {{"ok", true},
                {"ask", approval.ask_id},
                {"answer", approval.answer},
                {"by_uid", approval.by_uid},
                {"by_user", approval.by_user},
                {"at_unix_ns", approval.at_unix_ns}};
  for (PendingReply& pending : asker.replies) {
    if (pending.awaiting_ask == approval.ask_id) {
      pending.reply = std::move(reply);
      pending.awaiting_ask.clear();
      break;
    }
  }
  asker.answered[approval.ask_id] = resolved;
}

// Handles one request of an approver's connection.
void HandleApprover(Client& client, const std::string& name, const Json& request, ApprovalDesk& desk,
                    std::list<Client>& clients) {
  if (name == "pending") {
    Reply(client, Json{{"ok", true}, {"asks", desk.Pending()}}, false);
    return;
  }
  if (name == "answer") {
    const auto ask = request.find("ask");
    const auto approve = request.find("approve");
    if (ask == request.end() || !ask->is_string() || approve == request.end() || !approve->is_boolean()) {
      Reply(client, Refusal("answer needs ask (its id) and approve (true or false)"), false);
      return;
    }
    auto resolved = desk.Answer(ask->get<std::string>(), client.peer, approve->get<bool>());
    if (!resolved.ok()) {
      Reply(client, Refusal(resolved.error().message), false);
      return;
    }
    for (Client& other : clients) {
      if (&other == resolved.value().asker) Deliver(other, resolved.value());
    }
    Reply(client, Json{{"ok", true}}, false);
    return;
  }
  Reply(client, Refusal("unknown op " + Json(name).dump() + " on the approvals socket"), false);
  client.closing = true;
}

// One round's shared work: whether anything waits for durability, whether
// a checkpoint was asked for, and whether anything was appended.
struct Round {
  bool sync = false;
  bool checkpoint = false;
  bool appended = false;
  std::size_t authorizations = 0;
};

// What every request may use: the log and the approval desk.
struct Shared {
  lineage::Recorder& recorder;
  ApprovalDesk& desk;
  std::list<Client>& clients;
  ServiceMetrics& metrics;
};

// Handles one request of `client`; queues its reply.
void Handle(Client& client, const std::string& payload, Shared& shared, Round& round) {
  lineage::Recorder& recorder = shared.recorder;
  Json request;
  try {
    request = Json::parse(payload);
  } catch (const Json::exception&) {
    Reply(client, Refusal("the request is not JSON"), false);
    client.closing = true;
    return;
  }
  const auto op = request.find("op");
  if (!request.is_object() || op == request.end() || !op->is_string()) {
    Reply(client, Refusal("the request has no op"), false);
    client.closing = true;
    return;
  }
  const std::string name = op->get<std::string>();
  if (!client.greeted) {
    const auto version = request.find("version");
    if (name != "hello" || version == request.end() || *version != kProtocolVersion) {
      Reply(client, Refusal(fmt::format("the first request must be hello with version {}", kProtocolVersion)), false);
      client.closing = true;
      return;
    }
    client.greeted = true;
    Reply(client, Json{{"ok", true}, {"version", kProtocolVersion}}, false);
    return;
  }
  if (client.approver) {
    HandleApprover(client, name, request, shared.desk, shared.clients);
    return;
  }
  if (name == "ask") {
    auto asked = shared.desk.Ask(&client, client.peer, request, MonotonicMs());
    if (!asked.ok()) {
      Reply(client, Refusal(asked.error().message), false);
      return;
    }
    client.replies.push_back(PendingReply{Json(), false, std::nullopt, asked.value()});
    return;
  }
  const auto record = request.find("record");
  if (name == "authorize") {
    const auto durable = request.find("durable");
    if (record == request.end() || durable == request.end() || !durable->is_boolean()) {
      Reply(client, Refusal("authorize needs record and durable"), false);
      client.closing = true;
      return;
    }
    auto decoded = AuthorizationFromJson(*record);
    if (!decoded.ok()) {
      Reply(client, Refusal(decoded.error().message), false);
      client.closing = true;
      return;
    }
    lineage::Authorization& authorization = decoded.value();
    authorization.submitter = lineage::Authorization::Submitter{client.peer.pid, client.peer.uid, client.peer.gid};
    if (client.runs.count(authorization.run_id) != 0 || client.settled.count(authorization.run_id) != 0) {
      Reply(client, Refusal("run " + authorization.run_id + " was authorized before"), false);
      return;
    }
    // An ask answered through govd: the answer is govd's own, never the
    // submitter's, and it binds this run once.
    const auto ask = request.find("ask");
    std::map<std::string, ResolvedAsk>::iterator answered = client.answered.end();
    if (ask != request.end()) {
      if (ask->is_string()) answered = client.answered.find(ask->get<std::string>());
      if (answered == client.answered.end()) {
        Reply(client, Refusal("authorize: ask " + ask->dump() + " was not answered on this connection"), false);
        return;
      }
      const ResolvedAsk& resolved = answered->second;
      if (resolved.run_id != authorization.run_id || authorization.verdict != "ask" ||
          authorization.ask_answer != resolved.approval.answer) {
        Reply(client,
              Refusal(fmt::format("authorize: the record does not match ask {}, answered {} for run {}",
                                  resolved.approval.ask_id, resolved.approval.answer, resolved.run_id)),
              false);
        return;
      }
      authorization.approval = resolved.approval;
    }
    auto appended = recorder.AppendAuthorizationOnly(authorization);
    if (!appended.ok()) {
      Reply(client, Refusal(appended.error().message), false);
      return;
    }
    if (answered != client.answered.end()) client.answered.erase(answered);
    if (authorization.execute) {
      client.runs.insert(authorization.run_id);
    } else {
      client.settled.insert(authorization.run_id);
      client.settled_order.push_back(authorization.run_id);
      if (client.settled_order.size() > kSettledRunsKept) {
        client.settled.erase(client.settled_order.front());
        client.settled_order.pop_front();
      }
    }
    round.appended = true;
    ++round.authorizations;
    ++shared.metrics.records["authorization"];
    shared.metrics.changed = true;
    const bool wait = durable->get<bool>();
    round.sync = round.sync || wait;
    Reply(client, Json{{"ok", true}}, wait);
    return;
  }
  if (name == "sync") {
    round.sync = true;
    Reply(client, Json{{"ok", true}}, true);
    return;
  }
  if (name == "checkpoint") {
    round.checkpoint = true;
    Reply(client, Json{{"ok", true}}, true);
    return;
  }
  if (name == "start" || name == "end") {
    if (record == request.end()) {
      Reply(client, Refusal(name + " needs record"), false);
      client.closing = true;
      return;
    }
    const auto run = record->find("run_id");
    if (!record->is_object() || run == record->end() || !run->is_string() ||
        client.runs.count(run->get<std::string>()) == 0) {
      Reply(client, Refusal(name + " of a run this connection did not authorize to execute"), false);
      return;
    }
    if (name == "start") {
      auto decoded = StartFromJson(*record);
      if (!decoded.ok()) {
        Reply(client, Refusal(decoded.error().message), false);
        client.closing = true;
        return;
      }
      auto offset = recorder.RecordStart(decoded.value());
      round.appended = round.appended || offset.ok();
      if (offset.ok()) {
        ++shared.metrics.records["start"];
        shared.metrics.changed = true;
      }
      Reply(client, offset.ok() ? Json{{"ok", true}, {"offset", offset.value()}} : Refusal(offset.error().message),
            false);
      return;
    }
    auto decoded = EndFromJson(*record);
    if (!decoded.ok()) {
      Reply(client, Refusal(decoded.error().message), false);
      client.closing = true;
      return;
    }
    auto ended = recorder.RecordEnd(decoded.value());
    if (ended.ok()) {
      client.runs.erase(decoded.value().run_id);  // a run ends once
      round.appended = true;
      ++shared.metrics.records["end"];
      shared.metrics.changed = true;
    }
    Reply(client, ended.ok() ? Json{{"ok", true}} : Refusal(ended.error().message), false);
    return;
  }
  Reply(client, Refusal("unknown op " + Json(name).dump()), false);
  client.closing = true;
}

// Reads what `client` sent; false when the connection ended or broke.
bool ReadFrom(Client& client, Shared& shared, Round& round) {
  char buffer[65536];
  while (true) {
    const ssize_t got = read(client.fd, buffer, sizeof buffer);
    if (got > 0) {
      client.in.append(buffer, static_cast<std::size_t>(got));
      std::string payload;
      while (!client.closing) {
        auto taken = TakeFrame(client.in, payload);
        if (!taken.ok()) {
          Reply(client, Refusal(taken.error().message), false);
          client.closing = true;
          break;
        }
        if (!taken.value()) break;
        Handle(client, payload, shared, round);
      }
      if (client.closing) return true;
      // A short read emptied the socket: poll reports what comes next
      // (saves a read that would only say EAGAIN, once per request).
      if (static_cast<std::size_t>(got) < sizeof buffer) return true;
      continue;
    }
    if (got < 0 && errno == EINTR) continue;
    if (got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return true;
    return false;  // end of stream or an error
  }
}

// Writes what is buffered for `client`; false when the connection broke.
bool WriteTo(Client& client) {
  while (!client.out.empty()) {
    const ssize_t put = send(client.fd, client.out.data(), client.out.size(), MSG_NOSIGNAL);
    if (put > 0) {
      client.out.erase(0, static_cast<std::size_t>(put));
      continue;
    }
    if (put < 0 && errno == EINTR) continue;
    return put < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
  }
  return true;
}

void Queue(Client& client, const Json& reply, ServiceMetrics& metrics) {
  // Text from the host (a user name) may not be UTF-8: replaced, never thrown.
  auto frame = EncodeFrame(reply.dump(-1, ' ', false, Json::error_handler_t::replace));
  if (frame.ok()) client.out += frame.value();
  const auto ok = reply.find("ok");
  if (ok != reply.end() && *ok == false) {
    ++metrics.refusals;
    metrics.changed = true;
  }
}

// Moves `client`'s answers that are ready — in order, up to the first that
// waits for a sync not yet done — to its output. `durable` is how far the
// log is durable, or the failure that ended syncing: then every waiting
// answer becomes a refusal.
void QueueReady(Client& client, const ErrorOr<std::uint64_t>& durable, ServiceMetrics& metrics) {
  while (!client.replies.empty()) {
    PendingReply& front = client.replies.front();
    if (!front.awaiting_ask.empty()) return;
    if (front.durable && durable.ok() && (!front.ticket || *front.ticket > durable.value())) return;
    if (front.durable && durable.ok()) {
      metrics.ack.Observe(static_cast<double>(ClockNs(CLOCK_MONOTONIC) - front.received_ns) / 1e9);
      metrics.changed = true;
    }
    Queue(
        client,
        front.durable && !durable.ok() ? Refusal("lineage log: not durable: " + durable.error().message) : front.reply,
        metrics);
    client.replies.pop_front();
  }
}

}  // namespace

ErrorOr<void> Serve(int listen_fd, int stop_fd, lineage::Recorder& recorder, const ServerOptions& options) {
  const int durable_fd = recorder.DurableEventFd();
  if (durable_fd < 0) return Error{"govd: the lineage log offers no durability events (eventfd)"};
  std::list<Client> clients;
  ApprovalDesk desk(options.approvals_fd >= 0 ? options.approvers : std::vector<std::int64_t>{},
                    options.max_pending_asks);
  ServiceMetrics metrics;
  Shared shared{recorder, desk, clients, metrics};
  bool appended_since_checkpoint = false;
  std::size_t authorizations_since_checkpoint = 0;
  bool metrics_failed = false;
  // At most once a second, and once more after the last change.
  auto write_metrics = [&](bool now) {
    if (options.metrics_file.empty() || !metrics.changed) return;
    const std::int64_t now_ms = MonotonicMs();
    if (!now && now_ms - metrics.written_ms < 1000) return;
    metrics.written_ms = now_ms;
    metrics.changed = false;
    if (auto failed = WriteMetricsFile(options.metrics_file, metrics.Text()); failed && !metrics_failed) {
      // Said once; the log itself is unaffected.
      std::fprintf(stderr, "govd: cannot write the metrics file %s: %s\n", options.metrics_file.c_str(),
                   failed->c_str());
      metrics_failed = true;
    } else if (!failed) {
      metrics_failed = false;
    }
  };
  write_metrics(true);
  // Writes what is ready for every connection, then drops the ones that
  // ended, broke or were told to close (withdrawing their asks).
  auto answer = [&](const ErrorOr<std::uint64_t>& durable, const std::vector<Client*>& broken) {
    for (auto it = clients.begin(); it != clients.end();) {
      QueueReady(*it, durable, metrics);
      const bool dead = std::find(broken.begin(), broken.end(), &*it) != broken.end();
      const bool written = WriteTo(*it);
      if (dead || !written || (it->closing && it->replies.empty() && it->out.empty())) {
        desk.Withdraw(&*it);
        close(it->fd);
        it = clients.erase(it);
      } else {
        ++it;
      }
    }
  };
  while (true) {
    std::vector<pollfd> fds;
    fds.push_back({stop_fd, POLLIN, 0});
    fds.push_back({listen_fd, POLLIN, 0});
    fds.push_back({durable_fd, POLLIN, 0});
    fds.push_back({options.approvals_fd, POLLIN, 0});  // ignored when -1
    for (const Client& client : clients) {
      fds.push_back({client.fd, static_cast<short>(client.out.empty() ? POLLIN : POLLIN | POLLOUT), 0});
    }
    int timeout_ms = desk.MillisUntilNextDeadline(MonotonicMs());
    if (metrics.changed && !options.metrics_file.empty()) {
      const int metrics_due = static_cast<int>(std::max<std::int64_t>(0, metrics.written_ms + 1000 - MonotonicMs()));
      timeout_ms = timeout_ms < 0 ? metrics_due : std::min(timeout_ms, metrics_due);
    }
    if (poll(fds.data(), fds.size(), timeout_ms) < 0) {
      if (errno == EINTR) continue;
      return Error{fmt::format("poll: {}", std::strerror(errno))};
    }
    if (fds[0].revents != 0) {
      // A last checkpoint (synced) makes every appended record durable:
      // answer what waited for it, then close.
      if (appended_since_checkpoint) GOV_RETURN_IF_ERROR(recorder.Checkpoint());
      answer(recorder.DurableProgress(), {});
      for (Client& client : clients) close(client.fd);
      write_metrics(true);
      return {};
    }
    if ((fds[2].revents & POLLIN) != 0) {
      std::uint64_t events = 0;
      (void)!read(durable_fd, &events, sizeof events);
    }
    // New connections: submitters on the service socket, approvers on the
    // approvals socket; each identified by the kernel (SO_PEERCRED).
    for (const bool approvers : {false, true}) {
      if ((fds[approvers ? 3 : 1].revents & POLLIN) == 0) continue;
      while (true) {
        const int fd =
            accept4(approvers ? options.approvals_fd : listen_fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) break;
        ucred peer{};
        socklen_t size = sizeof peer;
        std::string refusal;
        if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &peer, &size) != 0) {
          refusal = "govd cannot identify this peer";
        } else if (static_cast<int>(clients.size()) >= options.max_clients) {
          refusal = fmt::format("govd serves at most {} connections at once", options.max_clients);
        } else if (approvers && !desk.IsApprover(peer.uid)) {
          refusal = fmt::format("uid {} is not an approver of this govd (govd --approver)", peer.uid);
        } else if (!approvers && options.submitter_gid >= 0 && peer.uid != 0 &&
                   static_cast<std::int64_t>(peer.gid) != options.submitter_gid) {
          refusal = fmt::format(
              "govd takes records only from govrun installed set-gid to group {} (this peer: uid {}, gid {})",
              options.submitter_gid, peer.uid, peer.gid);
        }
        if (!refusal.empty()) {
          ++metrics.connections_refused;
          metrics.changed = true;
          // Said once, without waiting: the peer reads it even after close.
          auto frame = EncodeFrame(Refusal(refusal).dump());
          if (frame.ok()) (void)send(fd, frame.value().data(), frame.value().size(), MSG_NOSIGNAL | MSG_DONTWAIT);
          close(fd);
          continue;
        }
        clients.push_back(Client{});
        clients.back().fd = fd;
        clients.back().peer = peer;
        clients.back().approver = approvers;
      }
    }
    // Read and handle every readable connection's requests.
    Round round;
    std::size_t index = 4;
    std::vector<Client*> broken;
    for (Client& client : clients) {
      if (index >= fds.size()) break;
      const pollfd& polled = fds[index++];
      if ((polled.revents & (POLLIN | POLLHUP | POLLERR)) != 0 && !client.closing) {
        if (!ReadFrom(client, shared, round)) broken.push_back(&client);
      }
    }
    // Asks nobody answered in time.
    for (const ResolvedAsk& expired : desk.Expire(MonotonicMs())) {
      for (Client& client : clients) {
        if (&client == expired.asker) Deliver(client, expired);
      }
    }
    appended_since_checkpoint = appended_since_checkpoint || round.appended;
    authorizations_since_checkpoint += round.authorizations;
    if (authorizations_since_checkpoint >= std::max<std::size_t>(1, options.authorizations_per_checkpoint)) {
      round.checkpoint = true;
    }
    // One sync for the round: a signed checkpoint (written and synced
    // here), or an fdatasync started in the recorder's syncing thread.
    std::optional<std::uint64_t> ticket;
    if (round.checkpoint) {
      const std::int64_t checkpoint_started = ClockNs(CLOCK_MONOTONIC);
      GOV_RETURN_IF_ERROR(recorder.Checkpoint());
      metrics.checkpoint.Observe(static_cast<double>(ClockNs(CLOCK_MONOTONIC) - checkpoint_started) / 1e9);
      metrics.changed = true;
      appended_since_checkpoint = false;
      authorizations_since_checkpoint = 0;
      ticket = 0;
    } else if (round.sync) {
      auto started = recorder.StartDurable();
      if (!started.ok()) return started.error();
      ticket = started.value();
    }
    if (ticket) {
      for (Client& client : clients) {
        for (PendingReply& reply : client.replies) {
          if (reply.durable && !reply.ticket) reply.ticket = *ticket;
        }
      }
    }
    const ErrorOr<std::uint64_t> durable = recorder.DurableProgress();
    answer(durable, broken);
    if (!durable.ok()) return durable.error();
    write_metrics(false);
  }
}

}  // namespace gov::service
