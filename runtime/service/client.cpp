// The Recorder that submits to govd (client.h). Replies come in request
// order; deferred authorizations are requests whose reply is read later.
#include "runtime/service/client.h"

#include <fmt/format.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <nlohmann/json.hpp>

#include "runtime/lineage/log_io.h"
#include "runtime/service/protocol.h"

namespace gov::service {
namespace {

using Json = nlohmann::json;

std::int64_t NowMs() {
  timespec now{};
  clock_gettime(CLOCK_MONOTONIC, &now);
  return static_cast<std::int64_t>(now.tv_sec) * 1000 + now.tv_nsec / 1000000;
}

// One connection to govd: frames out, replies in request order; a refusal
// or a broken connection is an error, and everything after it too.
class Connection {
 public:
  Connection(int fd, std::string socket_path, std::int64_t timeout_ms)
      : fd_(fd), socket_path_(std::move(socket_path)), timeout_ms_(timeout_ms) {}
  ~Connection() { close(fd_); }
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  std::uint64_t sent() const { return sent_; }
  std::uint64_t received() const { return received_; }

  // Sends `request` and returns its reply (earlier replies are read and
  // dropped), waiting at most `timeout_ms` for it (< 0: the connection's).
  ErrorOr<Json> Call(const Json& request, std::int64_t timeout_ms = -1) {
    GOV_RETURN_IF_ERROR(Send(request));
    while (received_ + 1 < sent_) {
      GOV_ASSIGN_OR_RETURN(Json earlier, Receive());
      (void)earlier;
    }
    return Receive(timeout_ms);
  }

  // Call for a request whose answer carries nothing but ok.
  ErrorOr<void> CallOk(const Json& request) {
    GOV_ASSIGN_OR_RETURN(Json reply, Call(request));
    (void)reply;
    return {};
  }

  // The first request of every connection, answered before anything else.
  ErrorOr<void> Greet() { return CallOk(Json{{"op", "hello"}, {"version", kProtocolVersion}}); }

  // The greeting sent without waiting for govd's answer: the first call
  // reads it before its own (a refusal is that call's error), which saves a
  // round trip at every govrun start.
  ErrorOr<void> SendGreeting() { return Send(Json{{"op", "hello"}, {"version", kProtocolVersion}}); }

  ErrorOr<void> Send(const Json& request) {
    if (!failed_.empty()) return Error{failed_};
    std::string text;
    try {
      text = request.dump();
    } catch (const Json::exception& e) {
      return Error{fmt::format("lineage service: cannot encode the request: {}", e.what())};
    }
    auto frame = EncodeFrame(text);
    if (!frame.ok()) return Fail("lineage service: " + frame.error().message);
    std::string_view rest = frame.value();
    const std::int64_t deadline = NowMs() + timeout_ms_;
    while (!rest.empty()) {
      const ssize_t put = send(fd_, rest.data(), rest.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
      if (put > 0) {
        rest.remove_prefix(static_cast<std::size_t>(put));
        continue;
      }
      if (put < 0 && errno == EINTR) continue;
      if (put < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        GOV_RETURN_IF_ERROR(Wait(POLLOUT, deadline, timeout_ms_));
        continue;
      }
      const int error = errno;
      // govd may have refused the connection and closed it: its reason is
      // still there to read.
      ++sent_;
      if (auto said = Receive(); !said.ok() && said.error().message.starts_with("lineage service refused")) {
        return Error{said.error().message};
      }
      return Fail(fmt::format("lineage service {}: cannot send: {}", socket_path_, std::strerror(error)));
    }
    ++sent_;
    return {};
  }

  // The next reply; a refusal is an error (and so is everything after it:
  // the caller stops at the first).
  // `timeout_ms` < 0: the connection's timeout.
  ErrorOr<Json> Receive(std::int64_t timeout_ms = -1) {
    if (!failed_.empty()) return Error{failed_};
    const std::int64_t wait_ms = timeout_ms >= 0 ? timeout_ms : timeout_ms_;
    const std::int64_t deadline = NowMs() + wait_ms;
    std::string payload;
    while (true) {
      auto taken = TakeFrame(buffer_, payload);
      if (!taken.ok()) return Fail("lineage service: " + taken.error().message);
      if (taken.value()) break;
      char chunk[4096];
      const ssize_t got = recv(fd_, chunk, sizeof chunk, MSG_DONTWAIT);
      if (got > 0) {
        buffer_.append(chunk, static_cast<std::size_t>(got));
        continue;
      }
      if (got == 0) return Fail(fmt::format("lineage service {}: govd closed the connection", socket_path_));
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) {
        GOV_RETURN_IF_ERROR(Wait(POLLIN, deadline, wait_ms));
        continue;
      }
      return Fail(fmt::format("lineage service {}: cannot receive: {}", socket_path_, std::strerror(errno)));
    }
    ++received_;
    Json reply;
    try {
      reply = Json::parse(payload);
    } catch (const Json::exception&) {
      return Fail("lineage service: its answer is not JSON");
    }
    if (!reply.is_object() || !reply.value("ok", false)) {
      const auto why = reply.is_object() ? reply.find("error") : reply.end();
      return Fail("lineage service refused: " +
                  (why != reply.end() && why->is_string() ? why->get<std::string>() : std::string("no reason given")));
    }
    return reply;
  }

  ErrorOr<void> Wait(short events, std::int64_t deadline, std::int64_t wait_ms) {
    const std::int64_t left = deadline - NowMs();
    pollfd polled{fd_, events, 0};
    const int ready = left > 0 ? poll(&polled, 1, static_cast<int>(std::min<std::int64_t>(left, INT32_MAX))) : 0;
    if (ready == 0) {
      return Fail(fmt::format("lineage service {}: no answer within {} ms", socket_path_, wait_ms));
    }
    if (ready < 0 && errno != EINTR) {
      return Fail(fmt::format("lineage service {}: poll: {}", socket_path_, std::strerror(errno)));
    }
    return {};
  }

  // A broken connection stays broken: later calls fail with the same text.
  Error Fail(std::string message) {
    failed_ = message;
    return Error{std::move(message)};
  }

 private:
  int fd_;
  std::string socket_path_;
  std::int64_t timeout_ms_;
  std::string buffer_;
  std::uint64_t sent_ = 0;
  std::uint64_t received_ = 0;
  std::string failed_;
};

// The asking side's copy of govd's answer to an ask.
ErrorOr<lineage::Approval> ApprovalFromReply(const Json& reply) {
  lineage::Approval approval;
  try {
    approval.ask_id = reply.at("ask").get<std::string>();
    approval.answer = reply.at("answer").get<std::string>();
    approval.by_uid = reply.at("by_uid").get<std::int64_t>();
    approval.by_user = reply.at("by_user").get<std::string>();
    approval.at_unix_ns = reply.at("at_unix_ns").get<std::int64_t>();
  } catch (const Json::exception& e) {
    return Error{fmt::format("lineage service: its answer to an ask is malformed: {}", e.what())};
  }
  if (approval.answer != "yes" && approval.answer != "no" && approval.answer != "timeout") {
    return Error{"lineage service: its answer to an ask is neither yes, no nor timeout"};
  }
  return approval;
}

class ServiceRecorder final : public lineage::Recorder {
 public:
  ServiceRecorder(int fd, std::string socket_path, std::string lineage_dir, std::int64_t timeout_ms)
      : connection_(fd, std::move(socket_path), timeout_ms), lineage_dir_(std::move(lineage_dir)) {}

  ErrorOr<void> SendGreeting() { return connection_.SendGreeting(); }

  ErrorOr<void> RecordAuthorization(const lineage::Authorization& record) override {
    return connection_.CallOk(Authorize(record, true));
  }

  ErrorOr<std::uint64_t> RecordAuthorizationDeferred(const lineage::Authorization& record) override {
    GOV_ASSIGN_OR_RETURN(Json request, Encoded(Authorize(record, true)));
    GOV_RETURN_IF_ERROR(connection_.Send(request));
    return connection_.sent();
  }

  ErrorOr<void> AwaitDurable(std::uint64_t ticket) override {
    while (connection_.received() < ticket) {
      GOV_ASSIGN_OR_RETURN(Json reply, connection_.Receive());
      (void)reply;
    }
    return {};
  }

  ErrorOr<void> AppendAuthorizationOnly(const lineage::Authorization& record) override {
    return connection_.CallOk(Authorize(record, false));
  }

  ErrorOr<void> MakeDurableNow() override { return connection_.CallOk(Json{{"op", "sync"}}); }

  ErrorOr<std::uint64_t> RecordStart(const lineage::Start& record) override {
    GOV_ASSIGN_OR_RETURN(Json reply, connection_.Call(Json{{"op", "start"}, {"record", StartToJson(record)}}));
    const auto offset = reply.find("offset");
    if (offset == reply.end() || !offset->is_number_unsigned()) {
      return Error{"lineage service: its answer to a start record has no offset"};
    }
    return offset->get<std::uint64_t>();
  }

  ErrorOr<void> RecordEnd(const lineage::End& record) override {
    return connection_.CallOk(Json{{"op", "end"}, {"record", EndToJson(record)}});
  }

  ErrorOr<void> Checkpoint() override { return connection_.CallOk(Json{{"op", "checkpoint"}}); }

  ErrorOr<void> ExportBundle(const std::string& run_id, const std::string& path) override {
    return lineage::ExportBundleFromLog(lineage_dir_ + "/lineage.log", run_id, path);
  }

  ErrorOr<lineage::StartedRun> ReadStart(const std::string& run_id, std::uint64_t offset) override {
    return lineage::ReadStartFromLog(lineage_dir_, run_id, offset);
  }

  ErrorOr<lineage::Approval> AskApprovers(const std::string& run_id, const std::string& question,
                                          std::int64_t timeout_ms) override {
    Json parsed;
    try {
      parsed = Json::parse(question);
    } catch (const Json::exception&) {
      return Error{"ask: the question is not JSON"};
    }
    // govd answers "timeout" itself at the deadline; a little longer here.
    GOV_ASSIGN_OR_RETURN(
        Json reply,
        connection_.Call(Json{{"op", "ask"}, {"run", run_id}, {"question", parsed}, {"timeout_ms", timeout_ms}},
                         timeout_ms + 10000));
    return ApprovalFromReply(reply);
  }

 private:
  // An ask answered through govd names its ask: govd writes its own copy
  // of the answer into the record.
  static Json Authorize(const lineage::Authorization& record, bool durable) {
    Json request{{"op", "authorize"}, {"durable", durable}, {"record", AuthorizationToJson(record)}};
    if (record.approval) request["ask"] = record.approval->ask_id;
    return request;
  }

  // The request's text (a record that cannot be encoded is an error here,
  // not an exception).
  static ErrorOr<Json> Encoded(Json request) {
    try {
      (void)request.dump();
    } catch (const Json::exception& e) {
      return Error{fmt::format("lineage service: cannot encode the request: {}", e.what())};
    }
    return request;
  }

  Connection connection_;
  std::string lineage_dir_;
};

// A connected Unix stream socket to `socket_path`, or why not.
ErrorOr<int> ConnectUnix(const std::string& socket_path) {
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  if (socket_path.size() >= sizeof address.sun_path) {
    return Error{fmt::format("lineage service {}: the socket path is too long", socket_path)};
  }
  std::memcpy(address.sun_path, socket_path.data(), socket_path.size());
  const int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return Error{fmt::format("lineage service: socket: {}", std::strerror(errno))};
  if (connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0) {
    const int error = errno;
    close(fd);
    return Error{
        fmt::format("lineage service {}: cannot connect: {} (is govd running?)", socket_path, std::strerror(error))};
  }
  return fd;
}

class ApproverConnection final : public Approver {
 public:
  ApproverConnection(int fd, std::string socket_path, std::int64_t timeout_ms)
      : connection_(fd, std::move(socket_path), timeout_ms) {}

  ErrorOr<void> Greet() { return connection_.Greet(); }

  ErrorOr<Json> Pending() override {
    GOV_ASSIGN_OR_RETURN(Json reply, connection_.Call(Json{{"op", "pending"}}));
    const auto asks = reply.find("asks");
    if (asks == reply.end() || !asks->is_array()) return Error{"lineage service: its list of asks is malformed"};
    return *asks;
  }

  ErrorOr<void> Answer(const std::string& ask_id, bool approve) override {
    return connection_.CallOk(Json{{"op", "answer"}, {"ask", ask_id}, {"approve", approve}});
  }

 private:
  Connection connection_;
};

}  // namespace

ErrorOr<std::unique_ptr<lineage::Recorder>> ConnectService(const std::string& socket_path,
                                                           const std::string& lineage_dir, std::int64_t timeout_ms) {
  GOV_ASSIGN_OR_RETURN(const int fd, ConnectUnix(socket_path));
  auto recorder = std::make_unique<ServiceRecorder>(fd, socket_path, lineage_dir, timeout_ms);
  GOV_RETURN_IF_ERROR(recorder->SendGreeting());
  return std::unique_ptr<lineage::Recorder>(std::move(recorder));
}

ErrorOr<std::unique_ptr<Approver>> ConnectApprover(const std::string& socket_path, std::int64_t timeout_ms) {
  GOV_ASSIGN_OR_RETURN(const int fd, ConnectUnix(socket_path));
  auto approver = std::make_unique<ApproverConnection>(fd, socket_path, timeout_ms);
  GOV_RETURN_IF_ERROR(approver->Greet());
  return std::unique_ptr<Approver>(std::move(approver));
}

}  // namespace gov::service
