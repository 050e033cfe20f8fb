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

class ServiceRecorder final : public lineage::Recorder {
 public:
  ServiceRecorder(int fd, std::string socket_path, std::string lineage_dir, std::int64_t timeout_ms)
      : fd_(fd), socket_path_(std::move(socket_path)), lineage_dir_(std::move(lineage_dir)), timeout_ms_(timeout_ms) {}
  ~ServiceRecorder() override { close(fd_); }

  ErrorOr<void> Greet() {
    GOV_ASSIGN_OR_RETURN(Json reply, Call(Json{{"op", "hello"}, {"version", kProtocolVersion}}));
    (void)reply;
    return {};
  }

  ErrorOr<void> RecordAuthorization(const lineage::Authorization& record) override {
    GOV_ASSIGN_OR_RETURN(Json reply, Call(Authorize(record, true)));
    (void)reply;
    return {};
  }

  ErrorOr<std::uint64_t> RecordAuthorizationDeferred(const lineage::Authorization& record) override {
    GOV_ASSIGN_OR_RETURN(Json request, Encoded(Authorize(record, true)));
    GOV_RETURN_IF_ERROR(Send(request));
    return sent_;
  }

  ErrorOr<void> AwaitDurable(std::uint64_t ticket) override {
    while (received_ < ticket) {
      GOV_ASSIGN_OR_RETURN(Json reply, Receive());
      (void)reply;
    }
    return {};
  }

  ErrorOr<void> AppendAuthorizationOnly(const lineage::Authorization& record) override {
    GOV_ASSIGN_OR_RETURN(Json reply, Call(Authorize(record, false)));
    (void)reply;
    return {};
  }

  ErrorOr<void> MakeDurableNow() override {
    GOV_ASSIGN_OR_RETURN(Json reply, Call(Json{{"op", "sync"}}));
    (void)reply;
    return {};
  }

  ErrorOr<std::uint64_t> RecordStart(const lineage::Start& record) override {
    GOV_ASSIGN_OR_RETURN(Json reply, Call(Json{{"op", "start"}, {"record", StartToJson(record)}}));
    const auto offset = reply.find("offset");
    if (offset == reply.end() || !offset->is_number_unsigned()) {
      return Error{"lineage service: its answer to a start record has no offset"};
    }
    return offset->get<std::uint64_t>();
  }

  ErrorOr<void> RecordEnd(const lineage::End& record) override {
    GOV_ASSIGN_OR_RETURN(Json reply, Call(Json{{"op", "end"}, {"record", EndToJson(record)}}));
    (void)reply;
    return {};
  }

  ErrorOr<void> Checkpoint() override {
    GOV_ASSIGN_OR_RETURN(Json reply, Call(Json{{"op", "checkpoint"}}));
    (void)reply;
    return {};
  }

  ErrorOr<void> ExportBundle(const std::string& run_id, const std::string& path) override {
    return lineage::ExportBundleFromLog(lineage_dir_ + "/lineage.log", run_id, path);
  }

  ErrorOr<lineage::StartedRun> ReadStart(const std::string& run_id, std::uint64_t offset) override {
    return lineage::ReadStartFromLog(lineage_dir_, run_id, offset);
  }

 private:
  static Json Authorize(const lineage::Authorization& record, bool durable) {
    return Json{{"op", "authorize"}, {"durable", durable}, {"record", AuthorizationToJson(record)}};
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

  ErrorOr<Json> Call(const Json& request) {
    GOV_RETURN_IF_ERROR(Send(request));
    while (received_ + 1 < sent_) {
      GOV_ASSIGN_OR_RETURN(Json earlier, Receive());
      (void)earlier;
    }
    return Receive();
  }

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
        GOV_RETURN_IF_ERROR(Wait(POLLOUT, deadline));
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
  ErrorOr<Json> Receive() {
    if (!failed_.empty()) return Error{failed_};
    const std::int64_t deadline = NowMs() + timeout_ms_;
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
        GOV_RETURN_IF_ERROR(Wait(POLLIN, deadline));
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

  ErrorOr<void> Wait(short events, std::int64_t deadline) {
    const std::int64_t left = deadline - NowMs();
    pollfd polled{fd_, events, 0};
    const int ready = left > 0 ? poll(&polled, 1, static_cast<int>(std::min<std::int64_t>(left, INT32_MAX))) : 0;
    if (ready == 0) {
      return Fail(fmt::format("lineage service {}: no answer within {} ms", socket_path_, timeout_ms_));
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

  int fd_;
  std::string socket_path_;
  std::string lineage_dir_;
  std::int64_t timeout_ms_;
  std::string buffer_;
  std::uint64_t sent_ = 0;
  std::uint64_t received_ = 0;
  std::string failed_;
};

}  // namespace

ErrorOr<std::unique_ptr<lineage::Recorder>> ConnectService(const std::string& socket_path,
                                                           const std::string& lineage_dir, std::int64_t timeout_ms) {
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
  auto recorder = std::make_unique<ServiceRecorder>(fd, socket_path, lineage_dir, timeout_ms);
  GOV_RETURN_IF_ERROR(recorder->Greet());
  return std::unique_ptr<lineage::Recorder>(std::move(recorder));
}

}  // namespace gov::service
