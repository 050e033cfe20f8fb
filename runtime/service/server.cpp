// govd's service loop (server.h): one thread, poll(2) over the listening
// socket, the stop descriptor and every connection; requests read in one
// round are appended in order and share one fdatasync before any of their
// acknowledgements is written.
#include "runtime/service/server.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <list>
#include <nlohmann/json.hpp>
#include <set>
#include <vector>

#include "runtime/service/protocol.h"

namespace gov::service {
namespace {

using Json = nlohmann::json;

// One connection and what is buffered for it.
struct Client {
  int fd = -1;
  ucred peer{};
  bool greeted = false;
  bool closing = false;  // close once `out` is written
  std::string in;
  std::string out;
  // Replies of this round, in request order; `durable` ones wait for the
  // round's fdatasync (or checkpoint).
  std::vector<std::pair<Json, bool>> replies;
  // Runs authorized on this connection: only they may get start and end
  // records from it.
  std::set<std::string> runs;
};

Json Refusal(const std::string& message) {
  return Json{{"ok", false}, {"error", message}};
}

// One round's shared work: whether anything waits for durability and
// whether a checkpoint was asked for.
struct Round {
  bool sync = false;
  bool checkpoint = false;
};

// Handles one request of `client`; queues its reply.
void Handle(Client& client, const std::string& payload, lineage::Recorder& recorder, Round& round) {
  Json request;
  try {
    request = Json::parse(payload);
  } catch (const Json::exception&) {
    client.replies.emplace_back(Refusal("the request is not JSON"), false);
    client.closing = true;
    return;
  }
  const auto op = request.find("op");
  if (!request.is_object() || op == request.end() || !op->is_string()) {
    client.replies.emplace_back(Refusal("the request has no op"), false);
    client.closing = true;
    return;
  }
  const std::string name = op->get<std::string>();
  if (!client.greeted) {
    const auto version = request.find("version");
    if (name != "hello" || version == request.end() || *version != kProtocolVersion) {
      client.replies.emplace_back(
          Refusal(fmt::format("the first request must be hello with version {}", kProtocolVersion)), false);
      client.closing = true;
      return;
    }
    client.greeted = true;
    client.replies.emplace_back(Json{{"ok", true}, {"version", kProtocolVersion}}, false);
    return;
  }
  const auto record = request.find("record");
  if (name == "authorize") {
    const auto durable = request.find("durable");
    if (record == request.end() || durable == request.end() || !durable->is_boolean()) {
      client.replies.emplace_back(Refusal("authorize needs record and durable"), false);
      client.closing = true;
      return;
    }
    auto decoded = AuthorizationFromJson(*record);
    if (!decoded.ok()) {
      client.replies.emplace_back(Refusal(decoded.error().message), false);
      client.closing = true;
      return;
    }
    lineage::Authorization& authorization = decoded.value();
    authorization.submitter = lineage::Authorization::Submitter{client.peer.pid, client.peer.uid, client.peer.gid};
    if (client.runs.count(authorization.run_id) != 0) {
      client.replies.emplace_back(Refusal("run " + authorization.run_id + " was authorized before"), false);
      return;
    }
    auto appended = recorder.AppendAuthorizationOnly(authorization);
    if (!appended.ok()) {
      client.replies.emplace_back(Refusal(appended.error().message), false);
      return;
    }
    client.runs.insert(authorization.run_id);
    const bool wait = durable->get<bool>();
    round.sync = round.sync || wait;
    client.replies.emplace_back(Json{{"ok", true}}, wait);
    return;
  }
  if (name == "sync") {
    round.sync = true;
    client.replies.emplace_back(Json{{"ok", true}}, true);
    return;
  }
  if (name == "checkpoint") {
    round.checkpoint = true;
    client.replies.emplace_back(Json{{"ok", true}}, true);
    return;
  }
  if (name == "start" || name == "end") {
    if (record == request.end()) {
      client.replies.emplace_back(Refusal(name + " needs record"), false);
      client.closing = true;
      return;
    }
    const auto run = record->find("run_id");
    if (!record->is_object() || run == record->end() || !run->is_string() ||
        client.runs.count(run->get<std::string>()) == 0) {
      client.replies.emplace_back(Refusal(name + " of a run this connection did not authorize"), false);
      return;
    }
    if (name == "start") {
      auto decoded = StartFromJson(*record);
      if (!decoded.ok()) {
        client.replies.emplace_back(Refusal(decoded.error().message), false);
        client.closing = true;
        return;
      }
      auto offset = recorder.RecordStart(decoded.value());
      client.replies.emplace_back(
          offset.ok() ? Json{{"ok", true}, {"offset", offset.value()}} : Refusal(offset.error().message), false);
      return;
    }
    auto decoded = EndFromJson(*record);
    if (!decoded.ok()) {
      client.replies.emplace_back(Refusal(decoded.error().message), false);
      client.closing = true;
      return;
    }
    auto ended = recorder.RecordEnd(decoded.value());
    if (ended.ok()) client.runs.erase(decoded.value().run_id);  // a run ends once
    client.replies.emplace_back(ended.ok() ? Json{{"ok", true}} : Refusal(ended.error().message), false);
    return;
  }
  client.replies.emplace_back(Refusal("unknown op " + Json(name).dump()), false);
  client.closing = true;
}

// Reads what `client` sent; false when the connection ended or broke.
bool ReadFrom(Client& client, lineage::Recorder& recorder, Round& round) {
  char buffer[65536];
  while (true) {
    const ssize_t got = read(client.fd, buffer, sizeof buffer);
    if (got > 0) {
      client.in.append(buffer, static_cast<std::size_t>(got));
      std::string payload;
      while (!client.closing) {
        auto taken = TakeFrame(client.in, payload);
        if (!taken.ok()) {
          client.replies.emplace_back(Refusal(taken.error().message), false);
          client.closing = true;
          break;
        }
        if (!taken.value()) break;
        Handle(client, payload, recorder, round);
      }
      if (client.closing) return true;
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

void Queue(Client& client, const Json& reply) {
  auto frame = EncodeFrame(reply.dump());
  if (frame.ok()) client.out += frame.value();
}

}  // namespace

ErrorOr<void> Serve(int listen_fd, int stop_fd, lineage::Recorder& recorder, const ServerOptions& options) {
  std::list<Client> clients;
  bool appended_since_checkpoint = false;
  while (true) {
    std::vector<pollfd> fds;
    fds.push_back({stop_fd, POLLIN, 0});
    fds.push_back({listen_fd, POLLIN, 0});
    for (const Client& client : clients) {
      fds.push_back({client.fd, static_cast<short>(client.out.empty() ? POLLIN : POLLIN | POLLOUT), 0});
    }
    if (poll(fds.data(), fds.size(), -1) < 0) {
      if (errno == EINTR) continue;
      return Error{fmt::format("poll: {}", std::strerror(errno))};
    }
    if (fds[0].revents != 0) {
      if (appended_since_checkpoint) GOV_RETURN_IF_ERROR(recorder.Checkpoint());
      for (Client& client : clients) close(client.fd);
      return {};
    }
    if ((fds[1].revents & POLLIN) != 0) {
      while (true) {
        const int fd = accept4(listen_fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) break;
        ucred peer{};
        socklen_t size = sizeof peer;
        std::string refusal;
        if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &peer, &size) != 0) {
          refusal = "govd cannot identify this peer";
        } else if (static_cast<int>(clients.size()) >= options.max_clients) {
          refusal = fmt::format("govd serves at most {} connections at once", options.max_clients);
        } else if (options.submitter_gid >= 0 && peer.uid != 0 &&
                   static_cast<std::int64_t>(peer.gid) != options.submitter_gid) {
          refusal = fmt::format(
              "govd takes records only from govrun installed set-gid to group {} (this peer: uid {}, gid {})",
              options.submitter_gid, peer.uid, peer.gid);
        }
        if (!refusal.empty()) {
          // Said once, without waiting: the peer reads it even after close.
          auto frame = EncodeFrame(Refusal(refusal).dump());
          if (frame.ok()) (void)send(fd, frame.value().data(), frame.value().size(), MSG_NOSIGNAL | MSG_DONTWAIT);
          close(fd);
          continue;
        }
        clients.push_back(Client{});
        clients.back().fd = fd;
        clients.back().peer = peer;
      }
    }
    // Read and handle every readable connection's requests.
    Round round;
    std::size_t index = 2;
    std::vector<Client*> broken;
    for (Client& client : clients) {
      if (index >= fds.size()) break;
      const pollfd& polled = fds[index++];
      if ((polled.revents & (POLLIN | POLLHUP | POLLERR)) != 0 && !client.closing) {
        if (!ReadFrom(client, recorder, round)) broken.push_back(&client);
      }
    }
    for (const Client& client : clients) {
      for (const auto& [reply, durable] : client.replies) {
        (void)durable;
        if (reply.value("ok", false)) appended_since_checkpoint = true;
      }
    }
    // One fdatasync (or one signed checkpoint, which is synced) for all.
    ErrorOr<void> made_durable;
    if (round.checkpoint) {
      made_durable = recorder.Checkpoint();
      if (made_durable.ok()) appended_since_checkpoint = false;
    } else if (round.sync) {
      made_durable = recorder.MakeDurableNow();
    }
    for (Client& client : clients) {
      for (const auto& [reply, durable] : client.replies) {
        Queue(client, durable && !made_durable.ok()
                          ? Refusal("lineage log: not durable: " + made_durable.error().message)
                          : reply);
      }
      client.replies.clear();
    }
    // Write, then drop connections that ended or broke.
    for (auto it = clients.begin(); it != clients.end();) {
      const bool dead = std::find(broken.begin(), broken.end(), &*it) != broken.end();
      const bool written = WriteTo(*it);
      if (dead || !written || (it->closing && it->out.empty())) {
        close(it->fd);
        it = clients.erase(it);
      } else {
        ++it;
      }
    }
    if (!made_durable.ok()) return made_durable.error();
  }
}

}  // namespace gov::service
