// The lineage service's protocol and loop (runtime/service): lossless record
// forms, strict decoding, frames, and a Serve loop in a thread driven by the
// real client over a real Unix socket (govd end to end: tests/govrun).
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <atomic>
#include <filesystem>
#include <functional>
#include <mutex>
#include <thread>

#include "runtime/lineage/verify.h"
#include "runtime/service/client.h"
#include "runtime/service/protocol.h"
#include "runtime/service/server.h"
#include "tests/lineage/helpers.h"

namespace gov::service {
namespace {

using lineage::TempDir;
using lineage::TestKey;
using Json = nlohmann::json;

TEST_CASE("service protocol: records survive the wire unchanged, bytes and all", "[lineage][service]") {
  lineage::Authorization auth = lineage::SampleAuthorization(lineage::NewRunId(), lineage::NewRunId(), "ask");
  auth.request.args.push_back(std::string("\xff\xfe not utf-8\n", 14));
  auth.request.env.emplace_back("BIN\x01", std::string("\x80", 1));
  auth.context_fields.push_back(ir::ContextField{"ticket", ir::Kind::kStr, true, ir::ContextField::Spelling::kString});
  auth.request.context.push_back(request::ContextValue{true, 0, "OPS-1"});
  auth.env_in_clear = {"HOME"};
  auth.interpreter_path = "/bin/sh";
  auth.interpreter_sha256 = "sha256:" + std::string(64, 'c');
  auth.obligations.timeout_ms = 5000;
  auth.obligations.network = ir::Network::kLoopback;
  auth.obligations.has_write = true;
  auth.obligations.write = {"/tmp", std::string("/w\xff", 3)};
  auth.obligations.has_create = true;
  auth.obligations.create = {"/out"};
  auth.ask_answer = "yes";
  auto decoded = AuthorizationFromJson(Json::parse(AuthorizationToJson(auth).dump()));
  REQUIRE(decoded.ok());
  // The request's env is compared as the recorder sees it (last value per name).
  CHECK(AuthorizationToJson(decoded.value()) == AuthorizationToJson(auth));
  CHECK(decoded.value().request.args == auth.request.args);
  CHECK(decoded.value().obligations == auth.obligations);
  CHECK(decoded.value().context_fields == auth.context_fields);
  CHECK_FALSE(decoded.value().submitter.has_value());

  lineage::Start start{auth.run_id, 42, 7, {{"memory", "cgroup v1", "1024"}}, 9, 10, "boot", 1, "/bin/\xfe"};
  auto start_back = StartFromJson(Json::parse(StartToJson(start).dump()));
  REQUIRE(start_back.ok());
  CHECK(StartToJson(start_back.value()) == StartToJson(start));
  lineage::End end;
  end.run_id = auth.run_id;
  end.exited = true;
  end.exit_status = 3;
  end.exec_error = "no \xff";
  auto end_back = EndFromJson(Json::parse(EndToJson(end).dump()));
  REQUIRE(end_back.ok());
  CHECK(EndToJson(end_back.value()) == EndToJson(end));
}

TEST_CASE("service protocol: decoding is strict and names the field", "[lineage][service]") {
  const Json good = AuthorizationToJson(lineage::SampleAuthorization(lineage::NewRunId(), ""));
  struct Case {
    const char* what;
    Json json;
    const char* message;
  };
  std::vector<Case> cases;
  Json unknown = good;
  unknown["submitter"] = Json::object();  // only govd sets it
  cases.push_back({"a submitter from the client", unknown, "unknown key 'submitter'"});
  Json missing = good;
  missing.erase("verdict");
  cases.push_back({"a missing key", missing, "authorization.verdict is missing"});
  Json wrong = good;
  wrong["execute"] = "yes";
  cases.push_back({"a wrong type", wrong, "authorization.execute must be true or false"});
  Json network = good;
  network["obligations"]["network"] = 9;
  cases.push_back({"an enum out of range", network, "obligations.network is out of range"});
  Json request = good;
  request["request"]["cwd"] = "relative";
  cases.push_back({"a bad request", request, "authorization.request:"});
  cases.push_back({"not an object", Json::array(), "authorization must be an object"});
  for (const Case& c : cases) {
    INFO(c.what);
    auto decoded = AuthorizationFromJson(c.json);
    REQUIRE_FALSE(decoded.ok());
    CHECK(decoded.error().message.find(c.message) != std::string::npos);
  }
}

TEST_CASE("service protocol: frames split at their length, an oversized one is refused", "[lineage][service]") {
  auto frame = EncodeFrame("{\"op\":\"sync\"}");
  REQUIRE(frame.ok());
  std::string buffer = frame.value().substr(0, 6);
  std::string payload;
  auto taken = TakeFrame(buffer, payload);
  REQUIRE(taken.ok());
  CHECK_FALSE(taken.value());
  buffer += frame.value().substr(6) + frame.value();
  REQUIRE(TakeFrame(buffer, payload).value());
  CHECK(payload == "{\"op\":\"sync\"}");
  REQUIRE(TakeFrame(buffer, payload).value());
  CHECK(buffer.empty());
  std::string huge("\xff\xff\xff\xff", 4);
  CHECK_FALSE(TakeFrame(huge, payload).ok());
}

// A real log whose durability the test hands out: StartDurable only takes a
// ticket; nothing becomes durable until Release, or everything fails with
// Fail. Every other call goes to the log.
class GatedRecorder final : public lineage::Recorder {
 public:
  explicit GatedRecorder(std::unique_ptr<lineage::Recorder> log)
      : log_(std::move(log)), event_fd_(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {}
  ~GatedRecorder() override { close(event_fd_); }

  ErrorOr<void> RecordAuthorization(const lineage::Authorization& record) override {
    return log_->RecordAuthorization(record);
  }
  ErrorOr<std::uint64_t> RecordAuthorizationDeferred(const lineage::Authorization& record) override {
    return log_->RecordAuthorizationDeferred(record);
  }
  ErrorOr<void> AwaitDurable(std::uint64_t ticket) override { return log_->AwaitDurable(ticket); }
  ErrorOr<void> AppendAuthorizationOnly(const lineage::Authorization& record) override {
    return log_->AppendAuthorizationOnly(record);
  }
  ErrorOr<void> MakeDurableNow() override { return log_->MakeDurableNow(); }
  ErrorOr<std::uint64_t> RecordStart(const lineage::Start& record) override { return log_->RecordStart(record); }
  ErrorOr<void> RecordEnd(const lineage::End& record) override { return log_->RecordEnd(record); }
  ErrorOr<void> Checkpoint() override { return log_->Checkpoint(); }
  ErrorOr<void> ExportBundle(const std::string& run_id, const std::string& path) override {
    return log_->ExportBundle(run_id, path);
  }
  ErrorOr<lineage::StartedRun> ReadStart(const std::string& run_id, std::uint64_t offset) override {
    return log_->ReadStart(run_id, offset);
  }

  ErrorOr<std::uint64_t> StartDurable() override {
    std::lock_guard<std::mutex> lock(mutex_);
    return ++requested_;
  }
  ErrorOr<std::uint64_t> DurableProgress() override {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!failure_.empty()) return Error{failure_};
    return durable_;
  }
  int DurableEventFd() override { return event_fd_; }

  std::uint64_t Requested() {
    std::lock_guard<std::mutex> lock(mutex_);
    return requested_;
  }
  void Release() {
    std::lock_guard<std::mutex> lock(mutex_);
    durable_ = requested_;
    Signal();
  }
  void Fail(const std::string& failure) {
    std::lock_guard<std::mutex> lock(mutex_);
    failure_ = failure;
    Signal();
  }

 private:
  void Signal() {
    const std::uint64_t one = 1;
    (void)!write(event_fd_, &one, sizeof one);
  }

  std::unique_ptr<lineage::Recorder> log_;
  int event_fd_;
  std::mutex mutex_;
  std::uint64_t requested_ = 0;
  std::uint64_t durable_ = 0;
  std::string failure_;
};

// A Serve loop on a socket in `dir`, in a thread, until destroyed; `wrap`
// may put a recorder around the log.
class TestServer {
 public:
  using Wrap = std::function<std::unique_ptr<lineage::Recorder>(std::unique_ptr<lineage::Recorder>)>;
  // With `approvers`, an approvals socket (mode 0666) at approvals_path.
  explicit TestServer(const std::string& dir, const Wrap& wrap = nullptr,
                      const std::vector<std::int64_t>& approvers = {}, std::size_t authorizations_per_checkpoint = 1024)
      : socket_path(dir + "/govd.sock"), approvals_path(dir + "/approvals.sock") {
    auto log = lineage::OpenLog(dir, TestKey(3), lineage::OpenOptions{0, 0644, true});
    REQUIRE(log.ok());
    recorder_ = wrap ? wrap(std::move(log.value())) : std::move(log.value());
    listen_fd_ = Listen(socket_path);
    ServerOptions options;
    options.metrics_file = dir + "/govd-metrics.prom";
    options.authorizations_per_checkpoint = authorizations_per_checkpoint;
    if (!approvers.empty()) {
      options.approvals_fd = approvals_fd_ = Listen(approvals_path);
      REQUIRE(chmod(approvals_path.c_str(), 0666) == 0);
      options.approvers = approvers;
    }
    stop_fd_ = eventfd(0, EFD_CLOEXEC);
    thread_ = std::thread([this, options] {
      served_ = Serve(listen_fd_, stop_fd_, *recorder_, options).ok();
      ended_ = true;
    });
  }
  ~TestServer() {
    const std::uint64_t one = 1;
    (void)write(stop_fd_, &one, sizeof one);
    thread_.join();
    close(stop_fd_);
    close(listen_fd_);
    if (approvals_fd_ >= 0) close(approvals_fd_);
  }
  TestServer(const TestServer&) = delete;
  TestServer& operator=(const TestServer&) = delete;

  // A raw connection (no client library), for protocol abuse.
  int Raw() const {
    const int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::memcpy(address.sun_path, socket_path.c_str(), socket_path.size() + 1);
    REQUIRE(connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) == 0);
    return fd;
  }

  std::string socket_path;
  std::string approvals_path;
  std::atomic<bool> served_{false};  // Serve returned without an error
  std::atomic<bool> ended_{false};   // Serve returned

 private:
  static int Listen(const std::string& path) {
    const int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::memcpy(address.sun_path, path.c_str(), path.size() + 1);
    REQUIRE(bind(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) == 0);
    REQUIRE(listen(fd, 64) == 0);
    return fd;
  }

  std::unique_ptr<lineage::Recorder> recorder_;
  int approvals_fd_ = -1;
  int listen_fd_ = -1;
  int stop_fd_ = -1;
  std::thread thread_;
};

// Sends frames on `fd` and reads one reply per frame (or until EOF).
std::vector<Json> Exchange(int fd, const std::vector<std::string>& payloads) {
  for (const std::string& payload : payloads) {
    const std::string frame = EncodeFrame(payload).value();
    REQUIRE(send(fd, frame.data(), frame.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(frame.size()));
  }
  std::vector<Json> replies;
  std::string buffer;
  std::string payload;
  char chunk[4096];
  while (replies.size() < payloads.size()) {
    if (TakeFrame(buffer, payload).value()) {
      replies.push_back(Json::parse(payload));
      continue;
    }
    const ssize_t got = recv(fd, chunk, sizeof chunk, 0);
    if (got <= 0) break;
    buffer.append(chunk, static_cast<std::size_t>(got));
  }
  return replies;
}

// How many records of `type` ("authorization", "checkpoint", ...) the log at `path` holds.
std::size_t RecordsOfType(const std::string& path, const std::string& type) {
  const std::string log = lineage::ReadFile(path);
  const std::string needle = "\"type\":\"" + type + "\"";
  std::size_t count = 0;
  for (std::size_t at = log.find(needle); at != std::string::npos; at = log.find(needle, at + 1)) ++count;
  return count;
}

TEST_CASE("service: records from many clients share one log that verifies, abuse is refused", "[lineage][service]") {
  TempDir dir;
  {
    TestServer server(dir.path);
    // Eight clients at once, each an authorization, start, end and checkpoint.
    std::vector<std::thread> clients;
    std::atomic<int> recorded{0};
    for (int i = 0; i < 8; ++i) {
      clients.emplace_back([&] {
        auto client = ConnectService(server.socket_path, dir.path, 20000);
        if (!client.ok()) return;
        lineage::Authorization auth = lineage::SampleAuthorization(lineage::NewRunId(), "");
        lineage::Start start;
        start.run_id = auth.run_id;
        lineage::End end;
        end.run_id = auth.run_id;
        end.exited = true;
        if (client.value()->RecordAuthorization(auth).ok() && client.value()->RecordStart(start).ok() &&
            client.value()->RecordEnd(end).ok() && client.value()->Checkpoint().ok()) {
          ++recorded;
        }
      });
    }
    for (std::thread& client : clients) client.join();
    CHECK(recorded == 8);

    // Another connection cannot end (or start) a run this one authorized.
    auto owner = ConnectService(server.socket_path, dir.path, 20000);
    auto intruder = ConnectService(server.socket_path, dir.path, 20000);
    REQUIRE(owner.ok());
    REQUIRE(intruder.ok());
    lineage::Authorization denied = lineage::SampleAuthorization(lineage::NewRunId(), "", "deny");
    REQUIRE(owner.value()->RecordAuthorization(denied).ok());
    lineage::End forged;
    forged.run_id = denied.run_id;
    forged.exited = true;
    auto refused = intruder.value()->RecordEnd(forged);
    REQUIRE_FALSE(refused.ok());
    CHECK(refused.error().message.find("did not authorize") != std::string::npos);
    // A run authorized without execution gets no start or end, not even
    // from the connection that authorized it.
    lineage::Start started;
    started.run_id = denied.run_id;
    auto not_executed = owner.value()->RecordStart(started);
    REQUIRE_FALSE(not_executed.ok());
    CHECK(not_executed.error().message.find("did not authorize to execute") != std::string::npos);
    CHECK_FALSE(owner.value()->RecordEnd(forged).ok());
    // The same run authorized twice on one connection is refused (govd
    // keeps no table of every run ever recorded; each connection does).
    auto twice = ConnectService(server.socket_path, dir.path, 20000);
    REQUIRE(twice.ok());
    lineage::Authorization once = lineage::SampleAuthorization(lineage::NewRunId(), "", "deny");
    REQUIRE(twice.value()->RecordAuthorization(once).ok());
    auto duplicate = twice.value()->RecordAuthorization(once);
    REQUIRE_FALSE(duplicate.ok());
    CHECK(duplicate.error().message.find("was authorized before") != std::string::npos);
    // A refusal ends what a client does on its connection (later calls
    // fail with the same text); another connection goes on.
    auto after_refusal = owner.value()->Checkpoint();
    REQUIRE_FALSE(after_refusal.ok());
    CHECK(after_refusal.error().message.find("did not authorize to execute") != std::string::npos);
    auto fresh = ConnectService(server.socket_path, dir.path, 20000);
    REQUIRE(fresh.ok());
    REQUIRE(fresh.value()->Checkpoint().ok());

    // Without hello, with garbage, with an unknown op: refused and closed.
    for (const std::string& first : {std::string("{\"op\":\"sync\"}"), std::string("not json"),
                                     std::string("{\"op\":\"hello\",\"version\":99}")}) {
      INFO(first);
      const int fd = server.Raw();
      const auto replies = Exchange(fd, {first});
      REQUIRE(replies.size() == 1);
      CHECK(replies[0]["ok"] == false);
      char byte = 0;
      CHECK(recv(fd, &byte, 1, 0) == 0);  // closed by govd
      close(fd);
    }
    const int fd = server.Raw();
    const auto replies = Exchange(fd, {"{\"op\":\"hello\",\"version\":2}", "{\"op\":\"rewrite\"}"});
    REQUIRE(replies.size() == 2);
    CHECK(replies[1]["error"] == "unknown op \"rewrite\"");
    close(fd);
  }
  CHECK(RecordsOfType(dir.path + "/lineage.log", "authorization") == 10);
  const lineage::Report report = lineage::Verify(dir.path, lineage::Trusting(TestKey(3)));
  INFO(report.message);
  CHECK(report.failure == lineage::Failure::kNone);
  CHECK(report.runs == 10);
}

// Whether `fd` has something to read within `ms` milliseconds.
bool Readable(int fd, int ms) {
  pollfd polled{fd, POLLIN, 0};
  return poll(&polled, 1, ms) == 1;
}

// Reads `count` replies from `fd` (fewer when it closes or stays silent 20 s).
std::vector<Json> ReadReplies(int fd, std::size_t count) {
  std::vector<Json> replies;
  std::string buffer;
  std::string payload;
  char chunk[4096];
  while (replies.size() < count && Readable(fd, 20000)) {
    const ssize_t got = recv(fd, chunk, sizeof chunk, 0);
    if (got <= 0) break;
    buffer.append(chunk, static_cast<std::size_t>(got));
    while (TakeFrame(buffer, payload).value()) replies.push_back(Json::parse(payload));
  }
  return replies;
}

TEST_CASE("service: govd writes its own metrics (records, acknowledgement latency, checkpoints, refusals)",
          "[lineage][service]") {
  TempDir dir;
  {
    TestServer server(dir.path);
    auto client = ConnectService(server.socket_path, dir.path, 20000);
    REQUIRE(client.ok());
    for (int i = 0; i < 3; ++i) {
      lineage::Authorization auth = lineage::SampleAuthorization(lineage::NewRunId(), "");
      lineage::Start start;
      start.run_id = auth.run_id;
      REQUIRE(client.value()->RecordAuthorization(auth).ok());
      REQUIRE(client.value()->RecordStart(start).ok());
    }
    REQUIRE(client.value()->Checkpoint().ok());
    lineage::End stranger;
    stranger.run_id = lineage::NewRunId();
    CHECK_FALSE(client.value()->RecordEnd(stranger).ok());
  }  // govd writes its metrics once more as it stops
  const std::string text = lineage::ReadFile(dir.path + "/govd-metrics.prom");
  INFO(text);
  CHECK(text.find("gov_govd_records_total{type=\"authorization\"} 3\n") != std::string::npos);
  CHECK(text.find("gov_govd_records_total{type=\"start\"} 3\n") != std::string::npos);
  // Three authorizations and the checkpoint waited for durability.
  CHECK(text.find("gov_govd_ack_seconds_count 4\n") != std::string::npos);
  CHECK(text.find("gov_govd_ack_seconds_bucket{le=\"+Inf\"} 4\n") != std::string::npos);
  CHECK(text.find("gov_govd_checkpoint_seconds_count 1\n") != std::string::npos);
  CHECK(text.find("gov_govd_refusals_total 1\n") != std::string::npos);
  struct stat st {};
  REQUIRE(stat((dir.path + "/govd-metrics.prom").c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0644);
  REQUIRE(std::filesystem::exists("/usr/bin/promtool"));
  const lineage::Ran promtool = lineage::RunProgram(
      {"/bin/sh", "-c", "/usr/bin/promtool check metrics < " + dir.path + "/govd-metrics.prom"}, dir.path);
  INFO(promtool.out << promtool.err);
  CHECK(promtool.code == 0);
}

TEST_CASE("service: govd checkpoints on its own after so many authorizations, asked or not", "[lineage][service]") {
  TempDir dir;
  const auto checkpoints = [&] { return RecordsOfType(dir.path + "/lineage.log", "checkpoint"); };
  {
    TestServer server(dir.path, nullptr, {}, /*authorizations_per_checkpoint=*/5);
    auto client = ConnectService(server.socket_path, dir.path, 20000);
    REQUIRE(client.ok());
    const std::size_t before = checkpoints();
    for (int i = 0; i < 12; ++i) {
      REQUIRE(client.value()->RecordAuthorization(lineage::SampleAuthorization(lineage::NewRunId(), "", "deny")).ok());
    }
    // The client never asked: one checkpoint after the 5th, one after the 10th.
    CHECK(checkpoints() == before + 2);
  }
  const lineage::Report report = lineage::Verify(dir.path, lineage::Trusting(TestKey(3)));
  INFO(report.message);
  CHECK(report.failure == lineage::Failure::kNone);
  CHECK(report.runs == 12);
}

TEST_CASE("service: an acknowledgement that promises durability waits for the sync, answers keep their order",
          "[lineage][service]") {
  TempDir dir;
  GatedRecorder* gate = nullptr;
  TestServer server(dir.path, [&](std::unique_ptr<lineage::Recorder> log) {
    auto gated = std::make_unique<GatedRecorder>(std::move(log));
    gate = gated.get();
    return gated;
  });
  const int fd = server.Raw();
  REQUIRE(Exchange(fd, {"{\"op\":\"hello\",\"version\":2}"})[0]["ok"] == true);

  // A durable authorization, then the run's start (which promises nothing):
  // neither answer leaves before the sync that covers the authorization.
  const lineage::Authorization auth = lineage::SampleAuthorization(lineage::NewRunId(), "");
  lineage::Start start;
  start.run_id = auth.run_id;
  const Json authorize = {{"op", "authorize"}, {"durable", true}, {"record", AuthorizationToJson(auth)}};
  const Json started = {{"op", "start"}, {"record", StartToJson(start)}};
  for (const Json& request : {authorize, started}) {
    const std::string frame = EncodeFrame(request.dump()).value();
    REQUIRE(send(fd, frame.data(), frame.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(frame.size()));
  }
  for (int i = 0; i < 200 && gate->Requested() == 0; ++i) usleep(10000);
  REQUIRE(gate->Requested() == 1);  // govd asked for the sync...
  CHECK_FALSE(Readable(fd, 300));   // ...and answers nothing until it is done
  gate->Release();
  const std::vector<Json> replies = ReadReplies(fd, 2);
  REQUIRE(replies.size() == 2);
  CHECK(replies[0] == Json{{"ok", true}});  // the authorization's, first
  CHECK(replies[1]["ok"] == true);
  CHECK(replies[1].contains("offset"));  // then the start's

  // A sync that fails: the waiting answer is a refusal, and govd stops.
  const lineage::Authorization second = lineage::SampleAuthorization(lineage::NewRunId(), "");
  const std::string frame =
      EncodeFrame(Json{{"op", "authorize"}, {"durable", true}, {"record", AuthorizationToJson(second)}}.dump()).value();
  REQUIRE(send(fd, frame.data(), frame.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(frame.size()));
  for (int i = 0; i < 200 && gate->Requested() == 1; ++i) usleep(10000);
  REQUIRE(gate->Requested() == 2);
  CHECK_FALSE(Readable(fd, 100));
  gate->Fail("fdatasync failed: No space left on device");
  const std::vector<Json> refused = ReadReplies(fd, 1);
  REQUIRE(refused.size() == 1);
  CHECK(refused[0]["ok"] == false);
  CHECK(refused[0]["error"].get<std::string>().find("not durable: fdatasync failed") != std::string::npos);
  close(fd);
  for (int i = 0; i < 500 && !server.ended_; ++i) usleep(10000);
  CHECK(server.ended_);  // the loop ended, with the log's failure
  CHECK_FALSE(server.served_);
}

#ifdef GOV_GOVD
// `govd approvals ARGS` as uid `uid` (setpriv, util-linux).
lineage::Ran ApproveAs(int uid, const std::vector<std::string>& args, const std::string& dir) {
  std::vector<std::string> argv = {
      "setpriv",  "--reuid=" + std::to_string(uid), "--regid=" + std::to_string(uid), "--clear-groups", GOV_GOVD,
      "approvals"};
  argv.insert(argv.end(), args.begin(), args.end());
  return lineage::RunProgram(argv, dir);
}

TEST_CASE("service: an ask waits for an approver of another uid, govd writes who answered into the record",
          "[lineage][service][approvals]") {
  if (geteuid() != 0) {
    WARN("skipped: needs root (approvers of other uids)");
    return;
  }
  TempDir dir;
  REQUIRE(chmod(dir.path.c_str(), 0755) == 0);  // the approvers' uids reach the socket
  constexpr int kApprover = 65534;              // nobody
  constexpr int kStranger = 65533;
  {
    TestServer server(dir.path, nullptr, {0, kApprover});
    auto client = ConnectService(server.socket_path, dir.path, 20000);
    REQUIRE(client.ok());
    const lineage::Authorization asked = [] {
      lineage::Authorization auth = lineage::SampleAuthorization(lineage::NewRunId(), "", "ask");
      auth.execute = false;
      return auth;
    }();
    std::optional<ErrorOr<lineage::Approval>> answer;
    std::thread asking([&] {
      // A terminal escape in the question: shown escaped to approvers.
      answer = client.value()->AskApprovers(
          asked.run_id, R"({"program":"/usr/bin/git","command":"git push \u001b]0;pwned\u0007"})", 20000);
    });
    // govd lists it to approvers, with the asker as the kernel reported it.
    auto root = ConnectApprover(server.approvals_path, 20000);
    REQUIRE(root.ok());
    Json pending = Json::array();
    for (int i = 0; i < 500 && pending.empty(); ++i) {
      auto listed = root.value()->Pending();
      REQUIRE(listed.ok());
      pending = listed.value();
      if (pending.empty()) usleep(10000);
    }
    REQUIRE(pending.size() == 1);
    const std::string ask_id = pending[0]["ask"];
    CHECK(pending[0]["run"] == asked.run_id);
    CHECK(pending[0]["asker"]["uid"] == 0);
    CHECK(pending[0]["question"]["command"] == "git push \x1b]0;pwned\x07");

    // The asker's own uid cannot answer, nor can a uid that is no approver.
    auto own = root.value()->Answer(ask_id, true);
    REQUIRE_FALSE(own.ok());
    CHECK(own.error().message.find("never answers an ask of their own uid") != std::string::npos);
    const lineage::Ran stranger = ApproveAs(kStranger, {"--socket", server.approvals_path, "list"}, dir.path);
    CHECK(stranger.code == 1);
    CHECK(stranger.err.find("not an approver") != std::string::npos);

    // Another approver answers; the asker gets govd's answer.
    const lineage::Ran listed = ApproveAs(kApprover, {"--socket", server.approvals_path, "list"}, dir.path);
    CHECK(listed.code == 0);
    CHECK(listed.out.find("ask " + ask_id) != std::string::npos);
    CHECK(listed.out.find("command: git push \\x1b]0;pwned\\x07\n") != std::string::npos);
    CHECK(listed.out.find('\x1b') == std::string::npos);
    const lineage::Ran approved =
        ApproveAs(kApprover, {"--socket", server.approvals_path, "approve", ask_id}, dir.path);
    INFO(approved.err);
    CHECK(approved.code == 0);
    asking.join();
    REQUIRE(answer.has_value());
    REQUIRE(answer->ok());
    CHECK(answer->value().answer == "yes");
    CHECK(answer->value().by_uid == kApprover);
    CHECK(answer->value().ask_id == ask_id);
    CHECK(ApproveAs(kApprover, {"--socket", server.approvals_path, "approve", ask_id}, dir.path).code == 1);

    // The answer binds the connection that asked, for that run, once.
    auto second = ConnectService(server.socket_path, dir.path, 20000);
    REQUIRE(second.ok());
    lineage::Authorization approved_run = asked;
    approved_run.approval = answer->value();
    approved_run.ask_answer = "yes";
    approved_run.execute = true;
    auto elsewhere = second.value()->AppendAuthorizationOnly(approved_run);
    REQUIRE_FALSE(elsewhere.ok());
    CHECK(elsewhere.error().message.find("was not answered on this connection") != std::string::npos);
    REQUIRE(client.value()->RecordAuthorization(approved_run).ok());
    lineage::Authorization reused = approved_run;
    reused.run_id = lineage::NewRunId();
    auto again = client.value()->AppendAuthorizationOnly(reused);
    REQUIRE_FALSE(again.ok());
    CHECK(again.error().message.find("was not answered on this connection") != std::string::npos);

    // An ask nobody answers times out; the record must say what govd said.
    for (const std::string claimed : {"no", "timeout"}) {
      auto asking_again = ConnectService(server.socket_path, dir.path, 20000);
      REQUIRE(asking_again.ok());
      lineage::Authorization unanswered = lineage::SampleAuthorization(lineage::NewRunId(), "", "ask");
      auto late = asking_again.value()->AskApprovers(unanswered.run_id, "{}", 200);
      REQUIRE(late.ok());
      CHECK(late.value().answer == "timeout");
      CHECK(late.value().by_uid == -1);
      unanswered.execute = false;
      unanswered.ask_answer = claimed;
      unanswered.approval = late.value();
      auto recorded = asking_again.value()->RecordAuthorization(unanswered);
      if (claimed == "no") {
        REQUIRE_FALSE(recorded.ok());
        CHECK(recorded.error().message.find("does not match ask") != std::string::npos);
      } else {
        REQUIRE(recorded.ok());
        REQUIRE(asking_again.value()->Checkpoint().ok());
      }
    }
  }
  const std::string log = lineage::ReadFile(dir.path + "/lineage.log");
  CHECK(log.find("\"by_uid\":65534,\"by_user\":\"nobody\"") != std::string::npos);
  CHECK(log.find("\"by_uid\":-1") != std::string::npos);
  CHECK(log.find("\"answer\":\"timeout\"") != std::string::npos);
  const lineage::Report report = lineage::Verify(dir.path, lineage::Trusting(TestKey(3)));
  INFO(report.message);
  CHECK(report.failure == lineage::Failure::kNone);
}
#endif

}  // namespace
}  // namespace gov::service
