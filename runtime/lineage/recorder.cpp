// The lineage log writer: one append-only file per lineage_dir, appended
// under flock(LOCK_EX) by any number of govrun processes.
#include "runtime/lineage/recorder.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <pthread.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <thread>

#include "runtime/crypto/sha256.h"
#include "runtime/ir/env_names.h"
#include "runtime/lineage/log_io.h"
#include "runtime/lineage/publish.h"
#include "runtime/request/byte_string.h"
#include "runtime/support/clock.h"

namespace gov::lineage {
namespace {

using Json = nlohmann::json;

std::string Errno(const char* what) {
  return fmt::format("{}: {}", what, std::strerror(errno));
}

ErrorOr<void> WriteAll(int fd, std::string_view data) {
  std::size_t done = 0;
  while (done < data.size()) {
    ssize_t n = write(fd, data.data() + done, data.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Error{Errno("lineage log: write failed")};
    }
    done += static_cast<std::size_t>(n);
  }
  return {};
}

// The pid holding a lock on the file open as `fd`, from /proc/locks; 0 if unknown.
long LockHolder(int fd) {
  struct stat st {};
  if (fstat(fd, &st) != 0) return 0;
  std::FILE* locks = std::fopen("/proc/locks", "re");
  if (locks == nullptr) return 0;
  char line[512];
  long holder = 0;
  // "1: FLOCK  ADVISORY  WRITE 1234 08:01:5678 0 EOF" (blocked waiters start with "->").
  while (holder == 0 && std::fgets(line, sizeof line, locks) != nullptr) {
    char kind[16], mode[16], access[16];
    long pid = 0;
    unsigned major = 0, minor = 0;
    unsigned long long inode = 0;
    if (std::strstr(line, "->") != nullptr) continue;
    const char* colon = std::strchr(line, ':');
    if (colon == nullptr) continue;
    if (std::sscanf(colon + 1, " %15s %15s %15s %ld %x:%x:%llu", kind, mode, access, &pid, &major, &minor, &inode) ==
            7 &&
        inode == st.st_ino && makedev(major, minor) == st.st_dev) {
      holder = pid;
    }
  }
  std::fclose(locks);
  return holder;
}

// A blocking flock(LOCK_EX) that gives up after `timeout_ms`: the kernel
// queues the waiter (fair under contention, unlike polling), and a one-shot
// timer aimed at this thread interrupts the wait with a signal whose handler
// does nothing (no SA_RESTART, so flock returns EINTR). The handler, the
// thread's mask and the timer are restored; a timer signal still pending is
// consumed. Returns 0, or the errno of the failure (ETIMEDOUT at the deadline).
int FlockWithTimeout(int fd, std::int64_t timeout_ms) {
  if (flock(fd, LOCK_EX | LOCK_NB) == 0) return 0;
  if (errno != EWOULDBLOCK) return errno;
  const int kSignal = SIGRTMIN + 3;
  struct sigaction action {};
  action.sa_handler = [](int) {};
  sigemptyset(&action.sa_mask);
  struct sigaction old_action {};
  if (sigaction(kSignal, &action, &old_action) != 0) return errno;
  sigset_t only;
  sigemptyset(&only);
  sigaddset(&only, kSignal);
  sigset_t old_mask;
  pthread_sigmask(SIG_UNBLOCK, &only, &old_mask);
  struct sigevent event {};
  event.sigev_notify = SIGEV_THREAD_ID;
  event.sigev_signo = kSignal;
  event._sigev_un._tid = static_cast<pid_t>(syscall(SYS_gettid));
  timer_t timer{};
  int result = 0;
  if (timer_create(CLOCK_MONOTONIC, &event, &timer) != 0) {
    result = errno;
  } else {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    while (true) {
      const auto left =
          std::chrono::duration_cast<std::chrono::nanoseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) {
        result = ETIMEDOUT;
        break;
      }
      struct itimerspec when {};
      when.it_value.tv_sec = static_cast<time_t>(left.count() / 1000000000);
      when.it_value.tv_nsec = static_cast<long>(left.count() % 1000000000);
      timer_settime(timer, 0, &when, nullptr);
      if (flock(fd, LOCK_EX) == 0) break;
      if (errno != EINTR) {
        result = errno;
        break;
      }
    }
    timer_delete(timer);
  }
  // Consume a timer signal that fired after the lock was taken, then restore.
  pthread_sigmask(SIG_BLOCK, &only, nullptr);
  const struct timespec zero {};
  while (sigtimedwait(&only, nullptr, &zero) == kSignal) {
  }
  sigaction(kSignal, &old_action, nullptr);
  pthread_sigmask(SIG_SETMASK, &old_mask, nullptr);
  return result;
}

// Holds flock(LOCK_EX) on the log for one append, waiting at most
// `timeout_ms` for another holder.
class ExclusiveLock {
 public:
  ExclusiveLock(int fd, std::int64_t timeout_ms) : fd_(fd) {
    const int error = FlockWithTimeout(fd_, timeout_ms);
    if (error == 0) {
      locked_ = true;
      return;
    }
    if (error != ETIMEDOUT) {
      error_ = fmt::format("lineage log: cannot lock: {}", std::strerror(error));
      return;
    }
    const long holder = LockHolder(fd_);
    error_ = fmt::format(
        "lineage log: another process{} has held the log's lock for more than {} ms; not waiting "
        "longer (lineage_lock_timeout in the configuration)",
        holder > 0 ? fmt::format(" (pid {})", holder) : "", timeout_ms);
  }
  ~ExclusiveLock() {
    if (locked_) flock(fd_, LOCK_UN);
  }
  bool ok() const { return locked_; }
  const std::string& error() const { return error_; }

 private:
  int fd_;
  bool locked_ = false;
  std::string error_;
};

Json RequestJson(const request::Request& request, const std::vector<ir::ContextField>& fields) {
  return request::RequestToJsonValue(request, fields);
}

// The start record of `run_id` at byte `offset` of the log open as `fd`
// (Recorder::ReadStart, ReadStartFromLog); reads only, takes no lock.
ErrorOr<StartedRun> ReadStartAt(int fd, const std::string& run_id, std::uint64_t offset) {
  struct stat st {};
  if (fstat(fd, &st) != 0) return Error{Errno("lineage log: stat failed")};
  const auto size = static_cast<std::uint64_t>(st.st_size);
  if (offset >= size) return Error{"the offset is beyond the end of this log"};
  // A start record is a few KiB (its limits); 256 KiB bounds the read.
  const std::uint64_t length = std::min<std::uint64_t>(size - offset, 256 * 1024);
  std::string region(length, '\0');
  const ssize_t got = pread(fd, region.data(), length, static_cast<off_t>(offset));
  if (got <= 0) return Error{Errno("lineage log: read failed")};
  region.resize(static_cast<std::size_t>(got));
  const std::size_t end = region.find('\n');
  if (end == std::string::npos) return Error{"no complete record at that offset"};
  const SplitLine split = Split(std::string_view(region).substr(0, end));
  if (!split.has_body) return Error{"no record at that offset"};
  auto head = ParseHead(split.head);
  if (!head.ok()) return Error{"no record at that offset"};
  if (DigestOf(split.body) != head.value().body) return Error{"the record at that offset does not match its digest"};
  if (head.value().type != RecordType::kStart || head.value().run != run_id) {
    return Error{"the record at that offset is not the start of that run"};
  }
  auto body = ParseUntrusted(split.body);
  if (!body.ok()) return Error{"the start record does not decode: " + body.error().message};
  const Json& json = body.value();
  StartedRun run;
  run.run_id = run_id;
  try {
    const Json& supervisor = json.at("supervisor");
    run.supervisor_pid = supervisor.at("pid").get<std::int64_t>();
    run.supervisor_start_time = supervisor.at("start_time").get<std::uint64_t>();
    auto boot_id = request::BytesFromJson(supervisor.at("boot_id"), "supervisor.boot_id");
    auto program = request::BytesFromJson(json.at("program"), "program");
    if (!boot_id.ok() || !program.ok()) return Error{"the start record's supervisor or program does not decode"};
    run.boot_id = boot_id.value();
    run.depth = json.at("depth").get<std::int64_t>();
    run.program = program.value();
  } catch (const Json::exception&) {
    return Error{"the start record names no supervisor (written by an older govrun)"};
  }
  return run;
}

// Group commit for deferred appends: a thread started on first use runs
// fdatasync whenever a ticket (an end offset of the log) waits, and each
// sync makes durable every byte written before it began. A failed sync is
// final: every later Await fails (the kernel reports a writeback error
// once; what it lost cannot be told).
class DurableFlusher {
 public:
  explicit DurableFlusher(const int& fd) : fd_(fd) {}
  DurableFlusher(const DurableFlusher&) = delete;
  DurableFlusher& operator=(const DurableFlusher&) = delete;
  ~DurableFlusher() {
    Stop();
    if (event_fd_ >= 0) close(event_fd_);
  }

  void Request(std::uint64_t ticket) {
    std::lock_guard<std::mutex> lock(mutex_);
    requested_ = std::max(requested_, ticket);
    if (!thread_.joinable()) thread_ = std::thread([this] { Loop(); });
    wake_.notify_all();
  }

  ErrorOr<void> Await(std::uint64_t ticket) {
    std::unique_lock<std::mutex> lock(mutex_);
    done_.wait(lock, [&] { return durable_ >= ticket || !failure_.empty(); });
    if (durable_ >= ticket) return {};
    return Error{failure_};
  }

  // The caller's own sync failed: no later record is durable either.
  void MarkFailed(const std::string& failure) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (failure_.empty()) failure_ = failure;
    Notify();
  }

  // Everything up to `ticket` was made durable by the caller's own sync.
  void MarkDurable(std::uint64_t ticket) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (failure_.empty()) durable_ = std::max(durable_, ticket);
    Notify();
  }

  // The highest ticket made durable, or the failure that ended syncing.
  ErrorOr<std::uint64_t> Progress() {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!failure_.empty()) return Error{failure_};
    return durable_;
  }

  // An eventfd signalled at every change of Progress (created on first use).
  ErrorOr<int> EventFd() {
    std::lock_guard<std::mutex> lock(mutex_);
    if (event_fd_ < 0) event_fd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (event_fd_ < 0) return Error{fmt::format("eventfd: {}", std::strerror(errno))};
    return event_fd_;
  }

  void Stop() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stop_ = true;
      wake_.notify_all();
    }
    if (thread_.joinable()) thread_.join();
  }

 private:
  void Loop() {
    sigset_t all;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, nullptr);  // signals stay the supervisor's
    std::unique_lock<std::mutex> lock(mutex_);
    while (true) {
      wake_.wait(lock, [&] { return stop_ || (requested_ > durable_ && failure_.empty()); });
      if (stop_) return;
      const std::uint64_t target = requested_;
      lock.unlock();
      const int result = fdatasync(fd_);
      const int error = errno;
      lock.lock();
      if (result != 0) {
        failure_ = fmt::format("lineage log: fdatasync failed: {}", std::strerror(error));
      } else {
        durable_ = std::max(durable_, target);
      }
      Notify();
    }
  }

  // With mutex_ held.
  void Notify() {
    done_.notify_all();
    if (event_fd_ >= 0) {
      const std::uint64_t one = 1;
      (void)!write(event_fd_, &one, sizeof one);  // a full counter is already readable
    }
  }

  const int& fd_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::condition_variable done_;
  std::uint64_t requested_ = 0;
  std::uint64_t durable_ = 0;
  std::string failure_;
  bool stop_ = false;
  int event_fd_ = -1;
  std::thread thread_;
};

class LogRecorder final : public Recorder {
 public:
  LogRecorder(int fd, std::string lineage_dir, std::string log_path, crypto::PrivateKey key, std::string salt,
              std::optional<Tail> tail, const OpenOptions& options, int sole_writer_lock)
      : fd_(fd),
        log_path_(std::move(log_path)),
        key_(std::move(key)),
        salt_(std::move(salt)),
        tail_(std::move(tail)),
        lock_timeout_ms_(options.lock_timeout_ms),
        sole_writer_lock_(sole_writer_lock),
        publisher_(std::move(lineage_dir), key_, options.log_mode, sole_writer_lock >= 0) {}
  ~LogRecorder() override {
    flusher_.Stop();
    if (sole_writer_lock_ >= 0) close(sole_writer_lock_);
    close(fd_);
  }

  ErrorOr<void> RecordAuthorization(const Authorization& record) override {
    GOV_RETURN_IF_ERROR(AppendAuthorization(record, /*durable=*/true));
    flusher_.MarkDurable(tail_->size);
    return {};
  }

  ErrorOr<std::uint64_t> RecordAuthorizationDeferred(const Authorization& record) override {
    GOV_RETURN_IF_ERROR(AppendAuthorization(record, /*durable=*/false));
    const std::uint64_t ticket = tail_->size;
    flusher_.Request(ticket);
    return ticket;
  }

  ErrorOr<void> AwaitDurable(std::uint64_t ticket) override { return flusher_.Await(ticket); }

  ErrorOr<void> AppendAuthorizationOnly(const Authorization& record) override {
    return AppendAuthorization(record, /*durable=*/false);
  }

  ErrorOr<std::uint64_t> StartDurable() override {
    const std::uint64_t ticket = tail_->size;
    flusher_.Request(ticket);
    return ticket;
  }

  ErrorOr<std::uint64_t> DurableProgress() override { return flusher_.Progress(); }

  int DurableEventFd() override {
    auto fd = flusher_.EventFd();
    return fd.ok() ? fd.value() : -1;
  }

  ErrorOr<void> MakeDurableNow() override {
    const std::uint64_t ticket = tail_->size;
    if (fdatasync(fd_) != 0) {
      const Error error{Errno("lineage log: fdatasync failed")};
      flusher_.MarkFailed(error.message);
      return error;
    }
    flusher_.MarkDurable(ticket);
    return flusher_.Await(ticket);  // an earlier failure stays final
  }

  // Appends the authorization record (with fdatasync when `durable`); then
  // tail_ is the log's end after it.
  ErrorOr<void> AppendAuthorization(const Authorization& record, bool durable) {
    if (!IsId(record.run_id)) return Error{"lineage: run id must be 32 lower-case hex digits"};
    if (!record.parent_run_id.empty() && !IsId(record.parent_run_id)) {
      return Error{fmt::format("lineage: parent run id '{}' is not 32 lower-case hex digits", record.parent_run_id)};
    }
    if (record.parent_run_id == record.run_id) return Error{"lineage: a run cannot be its own parent"};
    if (record.verdict != "allow" && record.verdict != "deny" && record.verdict != "ask") {
      return Error{"lineage: verdict must be allow, deny or ask"};
    }
    if (record.execute && record.verdict == "deny") return Error{"lineage: a denied run cannot be executed"};
    if (record.execute && record.verdict == "ask" && record.ask_answer != "yes") {
      return Error{"lineage: an ask not answered yes cannot be executed"};
    }
    if (record.approval &&
        (record.verdict != "ask" || record.approval->answer != record.ask_answer || !IsId(record.approval->ask_id))) {
      return Error{"lineage: an approval must be the ask's answer"};
    }
    if (!crypto::IsDigestString(record.policy_digest)) return Error{"lineage: policy digest must be sha256:<hex>"};
    if (KeepsRuns() && runs_.count(record.run_id) != 0) return Error{"lineage: run id recorded twice"};

    // Environment: the last occurrence of each name; values in clear only
    // when opted in, else salted hashes.
    std::set<std::string> clear(record.env_in_clear.begin(), record.env_in_clear.end());
    std::map<std::string, std::string> env;
    for (const auto& [name, value] : record.request.env) env[name] = value;
    request::Request shown = record.request;
    shown.env.clear();
    std::vector<std::pair<std::string, Json>> hashed;
    for (const auto& [name, value] : env) {
      if (record.env_all_in_clear || clear.count(name) != 0 ||
          (record.obligations.has_env && ir::EnvNameListed(record.obligations.env, name))) {
        shown.env.emplace_back(name, value);
      } else {
        hashed.emplace_back(name, EnvValueHash(salt_, name, value));
      }
    }
    Json rules = Json::array();
    for (const auto& rule : record.rules) {
      rules.push_back({{"id", rule.id},
                       {"name", request::BytesToJson(rule.name)},
                       {"verdict", rule.verdict},
                       {"reason", request::BytesToJson(rule.reason)}});
    }
    Json body;
    try {
      body = {{"run", record.run_id},
              {"parent", record.parent_run_id},
              {"request", RequestJson(shown, record.context_fields)},
              {"env_hashed", request::NamedToJson(hashed)},
              {"interpreter",
               {{"path", request::BytesToJson(record.interpreter_path)}, {"sha256", record.interpreter_sha256}}},
              {"policy",
               {{"digest", record.policy_digest}, {"name", record.policy_name}, {"version", record.policy_version}}},
              {"engine", record.engine},
              {"verdict", record.verdict},
              {"error", record.error},
              {"rules", rules},
              {"obligations", ObligationsToJson(record.obligations)},
              {"ask_answer", record.ask_answer},
              {"execute", record.execute}};
      if (record.submitter) {
        body["submitter"] = {
            {"pid", record.submitter->pid}, {"uid", record.submitter->uid}, {"gid", record.submitter->gid}};
      }
      if (record.approval) {
        const Approval& approval = *record.approval;
        body["approval"] = {{"ask", approval.ask_id},
                            {"answer", approval.answer},
                            {"by_uid", approval.by_uid},
                            {"by_user", request::BytesToJson(approval.by_user)},
                            {"at_unix_ns", approval.at_unix_ns}};
      }
    } catch (const Json::exception& e) {
      return Error{fmt::format("lineage: cannot encode the authorization: {}", e.what())};
    }
    Head head;
    head.type = RecordType::kAuthorization;
    head.run = record.run_id;
    head.parent = record.parent_run_id;
    head.policy = record.policy_digest;
    head.verdict = record.verdict;
    head.exec = record.execute;
    std::string text = Canonical(body);
    std::uint64_t offset = 0;
    GOV_RETURN_IF_ERROR(Append(
        head, [&](const Tail&) { return text; }, durable, &offset));
    if (KeepsRuns()) runs_[record.run_id] = offset;
    pending_runs_.push_back(record.run_id);
    if (record.execute) pending_subjects_.emplace_back(record.request.program_path, record.request.program_sha256);
    return {};
  }

  ErrorOr<std::uint64_t> RecordStart(const Start& record) override {
    if (KeepsRuns() && runs_.count(record.run_id) == 0) {
      return Error{"lineage: start of a run without its authorization"};
    }
    Json limits = Json::array();
    for (const auto& limit : record.limits) {
      limits.push_back({{"obligation", limit.obligation},
                        {"mechanism", request::BytesToJson(limit.mechanism)},
                        {"value", request::BytesToJson(limit.value)}});
    }
    Json body = {{"run", record.run_id},
                 {"pid", record.pid},
                 {"time_unix_ns", record.time_unix_ns},
                 {"limits", limits},
                 {"supervisor",
                  {{"pid", record.supervisor_pid},
                   {"start_time", record.supervisor_start_time},
                   {"boot_id", request::BytesToJson(record.boot_id)}}},
                 {"depth", record.depth},
                 {"program", request::BytesToJson(record.program)},
                 {"decision_ns", record.decision_ns},
                 {"exec_latency_ns", record.exec_latency_ns}};
    Head head;
    head.type = RecordType::kStart;
    head.run = record.run_id;
    const std::string text = Canonical(body);
    if (text.empty()) return Error{"lineage: cannot encode the start record"};
    std::uint64_t offset = 0;
    GOV_RETURN_IF_ERROR(Append(
        head, [&](const Tail&) { return text; }, /*durable=*/false, &offset));
    return offset;
  }

  ErrorOr<StartedRun> ReadStart(const std::string& run_id, std::uint64_t offset) override {
    return ReadStartAt(fd_, run_id, offset);
  }

  ErrorOr<void> RecordEnd(const End& record) override {
    if (KeepsRuns() && runs_.count(record.run_id) == 0) {
      return Error{"lineage: end of a run without its authorization"};
    }
    Json body = {{"run", record.run_id},
                 {"time_unix_ns", record.time_unix_ns},
                 {"duration_ns", record.duration_ns},
                 {"exited", record.exited},
                 {"exit_status", record.exit_status},
                 {"signal", record.signal},
                 {"killed_by", record.killed_by},
                 {"user_cpu_us", record.user_cpu_us},
                 {"system_cpu_us", record.system_cpu_us},
                 {"max_rss_kib", record.max_rss_kib},
                 {"exec_error", record.exec_error}};
    if (!record.replaced_by.empty()) {
      if (!IsId(record.replaced_by)) return Error{"lineage: replaced_by must be a run id"};
      body["replaced_by"] = record.replaced_by;
    }
    Head head;
    head.type = RecordType::kEnd;
    head.run = record.run_id;
    std::string text = Canonical(body);
    return Append(
        head, [&](const Tail&) { return text; }, /*durable=*/false, nullptr);
  }

  ErrorOr<void> Checkpoint() override {
    Head head;
    head.type = RecordType::kCheckpoint;
    GOV_RETURN_IF_ERROR(Append(
        head,
        [&](const Tail& tail) {
          const tlog::Hash root = publisher_.RootHash();
          return CheckpointBody(tail.log_id, tail.next_seq, tail.prev, pending_subjects_, pending_runs_, key_, &root);
        },
        /*durable=*/true, nullptr, /*publish=*/true));
    flusher_.MarkDurable(tail_->size);
    pending_subjects_.clear();
    pending_runs_.clear();
    return {};
  }

  ErrorOr<void> ExportBundle(const std::string& run_id, const std::string& path) override {
    auto it = runs_.find(run_id);
    return ExportBundleFromLog(log_path_, run_id, path, it == runs_.end() ? 0 : it->second);
  }

  // Appends one record under the lock: a recovery record first when the log
  // ends in torn bytes. `make_body` sees the tail the record extends. With
  // `publish` (checkpoints), the published tree is brought up to the
  // record before (make_body reads its head from publisher_), and the
  // record is published with it once durable.
  ErrorOr<void> Append(Head head, const std::function<std::string(const Tail&)>& make_body, bool durable,
                       std::uint64_t* offset, bool publish = false) {
    // The sole writer (govd) needs no lock per append: readers may hold
    // the log's flock, and must not be able to stall it.
    std::optional<ExclusiveLock> lock;
    if (sole_writer_lock_ < 0) {
      lock.emplace(fd_, lock_timeout_ms_);
      if (!lock->ok()) return Error{lock->error()};
    }
    GOV_ASSIGN_OR_RETURN(Tail tail, CurrentTail());
    if (tail.empty) return Error{"lineage log: the log file lost its header"};
    if (publish) GOV_RETURN_IF_ERROR(publisher_.CatchUp(fd_, tail));
    std::string out;
    std::uint64_t position = tail.size;
    if (tail.valid_end < tail.size) {
      // Torn bytes after the last valid record (a writer died mid-write):
      // keep them, end them with LF if needed, and account for them.
      std::uint64_t length = tail.size - tail.valid_end;
      std::string region(length, '\0');
      if (pread(fd_, region.data(), length, static_cast<off_t>(tail.valid_end)) != static_cast<ssize_t>(length)) {
        return Error{Errno("lineage log: cannot read torn bytes")};
      }
      if (region.back() != '\n') {
        region += '\n';
        out += '\n';
      }
      Head recovery;
      recovery.type = RecordType::kRecovery;
      recovery.seq = tail.next_seq;
      recovery.log = tail.log_id;
      recovery.prev = tail.prev;
      Json body = {{"offset", tail.valid_end}, {"length", region.size()}, {"sha256", DigestOf(region)}};
      std::string line = MakeLine(recovery, Canonical(body));
      const std::string_view recovery_head = Split(std::string_view(line).substr(0, line.size() - 1)).head;
      if (publish) GOV_RETURN_IF_ERROR(publisher_.AddHead(recovery_head));
      tail.prev = DigestOf(recovery_head);
      tail.next_seq += 1;
      out += line;
      position = tail.size + out.size();
    }
    head.seq = tail.next_seq;
    head.log = tail.log_id;
    std::string prev = tail.prev;
    head.prev = prev;
    std::string body = make_body(tail);
    if (body.size() > kMaxRecordBytes) return Error{"lineage log: record too large"};
    if (body.empty()) return Error{"lineage log: a record holds text that is not UTF-8 (not recorded)"};
    const std::string line = MakeLine(head, body);
    out += line;
    tail_.reset();
    GOV_RETURN_IF_ERROR(WriteAll(fd_, out));
    if (durable && fdatasync(fd_) != 0) return Error{Errno("lineage log: fdatasync failed")};
    if (offset != nullptr) *offset = position;
    Tail next;
    next.empty = false;
    next.size = tail.size + out.size();
    next.next_seq = head.seq + 1;
    next.prev = DigestOf(Split(std::string_view(line).substr(0, line.size() - 1)).head);
    next.log_id = std::string(head.log);
    next.valid_end = next.size;
    tail_ = std::move(next);
    if (publish) {
      GOV_RETURN_IF_ERROR(publisher_.AddHead(Split(std::string_view(line).substr(0, line.size() - 1)).head));
      GOV_RETURN_IF_ERROR(publisher_.Publish(head.log, tail_->size, body));
    }
    return {};
  }

  // The log's tail (the caller holds the lock): the one this recorder left
  // after its last append when the file has not grown since — appends only
  // grow the file, so an unchanged size means no other writer appended, not
  // even torn bytes — else read from the file.
  ErrorOr<Tail> CurrentTail() {
    if (tail_) {
      struct stat st {};
      if (fstat(fd_, &st) != 0) return Error{Errno("lineage log: stat failed")};
      if (static_cast<std::uint64_t>(st.st_size) == tail_->size) return *tail_;
    }
    return ReadTail(fd_);
  }

 private:
  int fd_;
  std::string log_path_;
  crypto::PrivateKey key_;
  std::string salt_;
  // The sole writer (govd) lives for months: it keeps no table of every run
  // (its connections check their own runs); a govrun keeps its few.
  bool KeepsRuns() const { return sole_writer_lock_ < 0; }
  std::map<std::string, std::uint64_t> runs_;  // run id → offset of its authorization
  std::vector<std::string> pending_runs_;
  std::vector<std::pair<std::string, std::string>> pending_subjects_;
  std::optional<Tail> tail_;  // after this recorder's last append (or OpenLog's read)
  std::int64_t lock_timeout_ms_;
  int sole_writer_lock_;  // OpenOptions::sole_writer: the held lineage.lock, else -1
  TlogPublisher publisher_;
  DurableFlusher flusher_{fd_};
};

}  // namespace

std::string NewRunId() {
  return NewId();
}

ErrorOr<std::unique_ptr<Recorder>> OpenLog(const std::string& lineage_dir, const crypto::PrivateKey& signing_key,
                                           const OpenOptions& options) {
  struct stat st {};
  if (stat(lineage_dir.c_str(), &st) != 0) return Error{Errno(("lineage: " + lineage_dir).c_str())};
  if (!S_ISDIR(st.st_mode)) return Error{fmt::format("lineage: {} is not a directory", lineage_dir)};
  const std::string path = lineage_dir + "/" + std::string(kLogFileName);
  int sole_writer_lock = -1;
  if (options.sole_writer) {
    const std::string lock_path = lineage_dir + "/lineage.lock";
    sole_writer_lock = open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (sole_writer_lock < 0) return Error{Errno(("lineage: cannot open " + lock_path).c_str())};
    if (flock(sole_writer_lock, LOCK_EX | LOCK_NB) != 0) {
      close(sole_writer_lock);
      return Error{fmt::format("lineage: another process (govd?) already writes {} (it holds {})", path, lock_path)};
    }
  }
  int fd = open(path.c_str(), O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, options.log_mode);
  if (fd < 0) {
    if (sole_writer_lock >= 0) close(sole_writer_lock);
    return Error{Errno(("lineage: cannot open " + path).c_str())};
  }
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    close(fd);
    return Error{fmt::format("lineage: {} is not a regular file", path)};
  }
  auto fail = [&](std::string message) -> ErrorOr<std::unique_ptr<Recorder>> {
    close(fd);
    if (sole_writer_lock >= 0) close(sole_writer_lock);
    return Error{std::move(message)};
  };
  std::string log_id;
  std::optional<Tail> known_tail;
  // An existing log is read without the lock: appends only add whole or torn
  // lines at the end, which ReadTail tells apart, and every append re-checks
  // the tail under the lock (CurrentTail). So a process holding the lock can
  // delay govrun only where it must wait: at its first append.
  if (fstat(fd, &st) == 0 && st.st_size > 0) {
    auto tail = ReadTail(fd);
    if (tail.ok() && !tail.value().empty && !tail.value().log_id.empty()) {
      if (tail.value().valid_end == tail.value().size) known_tail = tail.value();
      log_id = tail.value().log_id;
    }
  }
  if (log_id.empty()) {
    std::optional<ExclusiveLock> lock;
    if (sole_writer_lock < 0) {
      lock.emplace(fd, options.lock_timeout_ms);
      if (!lock->ok()) return fail(lock->error());
    }
    auto tail = ReadTail(fd);
    if (!tail.ok()) return fail(fmt::format("lineage: {}: {}", path, tail.error().message));
    if (tail.value().empty) {
      Head head;
      head.type = RecordType::kHeader;
      head.seq = 0;
      log_id = NewId();
      head.log = log_id;
      head.prev = kGenesisPrev;
      std::string body = Canonical(Json{{"format", kLogFormat}, {"log", log_id}, {"created_unix_ns", UnixNowNs()}});
      auto written = WriteAll(fd, MakeLine(head, body));
      if (!written.ok()) return fail(written.error().message);
      if (fsync(fd) != 0) return fail(Errno("lineage: fsync failed"));
      int dir_fd = open(lineage_dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      if (dir_fd >= 0) {
        fsync(dir_fd);
        close(dir_fd);
      }
    }
    // A log that ends cleanly: the first append need not read it again.
    if (!tail.value().empty && tail.value().valid_end == tail.value().size) known_tail = tail.value();
    if (!tail.value().empty) log_id = tail.value().log_id;
  }
  if (log_id.empty()) return fail(fmt::format("lineage: {}: the log names no log id", path));
  return std::unique_ptr<Recorder>(new LogRecorder(fd, lineage_dir, path, signing_key,
                                                   DeriveEnvSalt(signing_key, log_id), std::move(known_tail), options,
                                                   sole_writer_lock));
}

ErrorOr<StartedRun> ReadStartFromLog(const std::string& lineage_dir, const std::string& run_id, std::uint64_t offset) {
  const std::string path = lineage_dir + "/" + std::string(kLogFileName);
  // O_NONBLOCK: opening a FIFO planted in its place must not hang.
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
  if (fd < 0) return Error{Errno(("cannot open " + path).c_str())};
  struct stat st {};
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    close(fd);
    return Error{fmt::format("{} is not a regular file", path)};
  }
  auto run = ReadStartAt(fd, run_id, offset);
  close(fd);
  return run;
}

}  // namespace gov::lineage
