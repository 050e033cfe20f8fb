// The lineage log writer: one append-only file per lineage_dir, appended
// under flock(LOCK_EX) by any number of govrun processes.
#include "runtime/lineage/recorder.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <functional>
#include <map>
#include <optional>
#include <set>

#include <fmt/format.h>

#include "runtime/crypto/sha256.h"
#include "runtime/lineage/log_io.h"
#include "runtime/request/byte_string.h"

namespace gov::lineage {
namespace {

using Json = nlohmann::json;

std::string Errno(const char* what) { return fmt::format("{}: {}", what, std::strerror(errno)); }

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

std::int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Holds flock(LOCK_EX) on the log for one append.
class ExclusiveLock {
 public:
  explicit ExclusiveLock(int fd) : fd_(fd) {
    while ((rc_ = flock(fd_, LOCK_EX)) != 0 && errno == EINTR) {
    }
  }
  ~ExclusiveLock() {
    if (rc_ == 0) flock(fd_, LOCK_UN);
  }
  bool ok() const { return rc_ == 0; }

 private:
  int fd_;
  int rc_ = -1;
};

ErrorOr<std::string> ReadOrCreateSalt(const std::string& dir) {
  const std::string path = dir + "/" + std::string(kSaltFileName);
  for (int attempt = 0; attempt < 2; ++attempt) {
    int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd >= 0) {
      char buffer[33];
      ssize_t n = read(fd, buffer, sizeof buffer);
      close(fd);
      if (n != 32) return Error{fmt::format("lineage: {} is not a 32-byte salt file", path)};
      return std::string(buffer, 32);
    }
    if (errno != ENOENT) return Error{Errno(("lineage: cannot open " + path).c_str())};
    std::string salt(32, '\0');
    if (getrandom(salt.data(), salt.size(), 0) != 32) return Error{"lineage: getrandom failed"};
    std::string tmp = path + ".tmp." + NewId().substr(0, 8);
    int out = open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (out < 0) return Error{Errno(("lineage: cannot create " + tmp).c_str())};
    auto written = WriteAll(out, salt);
    bool synced = fsync(out) == 0;
    close(out);
    if (!written.ok() || !synced) {
      unlink(tmp.c_str());
      return Error{"lineage: cannot write the salt file"};
    }
    int linked = link(tmp.c_str(), path.c_str());
    int saved = errno;
    unlink(tmp.c_str());
    if (linked != 0 && saved != EEXIST) return Error{fmt::format("lineage: cannot create {}: {}", path, std::strerror(saved))};
  }
  return Error{"lineage: cannot create the salt file"};
}

Json RequestJson(const request::Request& request, const std::vector<ir::ContextField>& fields) {
  return Json::parse(request::RequestToJson(request, fields));
}

class LogRecorder final : public Recorder {
 public:
  LogRecorder(int fd, std::string log_path, crypto::PrivateKey key, std::string salt, std::optional<Tail> tail)
      : fd_(fd),
        log_path_(std::move(log_path)),
        key_(std::move(key)),
        salt_(std::move(salt)),
        tail_(std::move(tail)) {}
  ~LogRecorder() override { close(fd_); }

  ErrorOr<void> RecordAuthorization(const Authorization& record) override {
    if (!IsId(record.run_id)) return Error{"lineage: run id must be 32 lower-case hex digits"};
    if (!record.parent_run_id.empty() && !IsId(record.parent_run_id)) {
      return Error{fmt::format("lineage: parent run id '{}' is not 32 lower-case hex digits", record.parent_run_id)};
    }
    if (record.verdict != "allow" && record.verdict != "deny" && record.verdict != "ask") {
      return Error{"lineage: verdict must be allow, deny or ask"};
    }
    if (record.execute && record.verdict == "deny") return Error{"lineage: a denied run cannot be executed"};
    if (!crypto::IsDigestString(record.policy_digest)) return Error{"lineage: policy digest must be sha256:<hex>"};
    if (runs_.count(record.run_id) != 0) return Error{"lineage: run id recorded twice"};

    // Environment: the last occurrence of each name; values in clear only
    // when opted in, else salted hashes.
    std::set<std::string> clear(record.env_in_clear.begin(), record.env_in_clear.end());
    if (record.obligations.has_env) clear.insert(record.obligations.env.begin(), record.obligations.env.end());
    std::map<std::string, std::string> env;
    for (const auto& [name, value] : record.request.env) env[name] = value;
    request::Request shown = record.request;
    shown.env.clear();
    std::vector<std::pair<std::string, Json>> hashed;
    for (const auto& [name, value] : env) {
      if (record.env_all_in_clear || clear.count(name) != 0) {
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
    GOV_RETURN_IF_ERROR(Append(head, [&](const Tail&) { return text; }, /*durable=*/true, &offset));
    runs_[record.run_id] = offset;
    pending_runs_.push_back(record.run_id);
    if (record.execute) pending_subjects_.emplace_back(record.request.program_path, record.request.program_sha256);
    return {};
  }

  ErrorOr<void> RecordStart(const Start& record) override {
    if (runs_.count(record.run_id) == 0) return Error{"lineage: start of a run without its authorization"};
    Json limits = Json::array();
    for (const auto& limit : record.limits) {
      limits.push_back({{"obligation", limit.obligation}, {"mechanism", limit.mechanism}, {"value", limit.value}});
    }
    Json body = {{"run", record.run_id}, {"pid", record.pid}, {"time_unix_ns", record.time_unix_ns}, {"limits", limits}};
    Head head;
    head.type = RecordType::kStart;
    head.run = record.run_id;
    std::string text = Canonical(body);
    return Append(head, [&](const Tail&) { return text; }, /*durable=*/false, nullptr);
  }

  ErrorOr<void> RecordEnd(const End& record) override {
    if (runs_.count(record.run_id) == 0) return Error{"lineage: end of a run without its authorization"};
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
    Head head;
    head.type = RecordType::kEnd;
    head.run = record.run_id;
    std::string text = Canonical(body);
    return Append(head, [&](const Tail&) { return text; }, /*durable=*/false, nullptr);
  }

  ErrorOr<void> Checkpoint() override {
    Head head;
    head.type = RecordType::kCheckpoint;
    GOV_RETURN_IF_ERROR(Append(
        head,
        [&](const Tail& tail) {
          return CheckpointBody(tail.log_id, tail.next_seq, tail.prev, pending_subjects_, pending_runs_, key_);
        },
        /*durable=*/true, nullptr));
    pending_subjects_.clear();
    pending_runs_.clear();
    return {};
  }

  ErrorOr<void> ExportBundle(const std::string& run_id, const std::string& path) override {
    auto it = runs_.find(run_id);
    return ExportBundleFromLog(log_path_, run_id, path, it == runs_.end() ? 0 : it->second);
  }

  // Appends one record under the lock: a recovery record first when the log
  // ends in torn bytes. `make_body` sees the tail the record extends.
  ErrorOr<void> Append(Head head, const std::function<std::string(const Tail&)>& make_body, bool durable,
                       std::uint64_t* offset) {
    ExclusiveLock lock(fd_);
    if (!lock.ok()) return Error{Errno("lineage log: cannot lock")};
    GOV_ASSIGN_OR_RETURN(Tail tail, CurrentTail());
    if (tail.empty) return Error{"lineage log: the log file lost its header"};
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
      tail.prev = DigestOf(Split(std::string_view(line).substr(0, line.size() - 1)).head);
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
  std::map<std::string, std::uint64_t> runs_;  // run id → offset of its authorization
  std::vector<std::string> pending_runs_;
  std::vector<std::pair<std::string, std::string>> pending_subjects_;
  std::optional<Tail> tail_;  // after this recorder's last append (or OpenLog's read)
};

}  // namespace

std::string NewRunId() { return NewId(); }

ErrorOr<std::unique_ptr<Recorder>> OpenLog(const std::string& lineage_dir, const crypto::PrivateKey& signing_key) {
  struct stat st {};
  if (stat(lineage_dir.c_str(), &st) != 0) return Error{Errno(("lineage: " + lineage_dir).c_str())};
  if (!S_ISDIR(st.st_mode)) return Error{fmt::format("lineage: {} is not a directory", lineage_dir)};
  const std::string path = lineage_dir + "/" + std::string(kLogFileName);
  int fd = open(path.c_str(), O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) return Error{Errno(("lineage: cannot open " + path).c_str())};
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    close(fd);
    return Error{fmt::format("lineage: {} is not a regular file", path)};
  }
  auto fail = [&](std::string message) -> ErrorOr<std::unique_ptr<Recorder>> {
    close(fd);
    return Error{std::move(message)};
  };
  std::string salt;
  std::optional<Tail> known_tail;
  {
    ExclusiveLock lock(fd);
    if (!lock.ok()) return fail(Errno("lineage: cannot lock the log"));
    auto tail = ReadTail(fd);
    if (!tail.ok()) return fail(fmt::format("lineage: {}: {}", path, tail.error().message));
    if (tail.value().empty) {
      Head head;
      head.type = RecordType::kHeader;
      head.seq = 0;
      std::string log_id = NewId();
      head.log = log_id;
      head.prev = kGenesisPrev;
      std::string body = Canonical(Json{{"format", kLogFormat}, {"log", log_id}, {"created_unix_ns", NowNs()}});
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
    auto read_salt = ReadOrCreateSalt(lineage_dir);
    if (!read_salt.ok()) return fail(read_salt.error().message);
    salt = read_salt.value();
  }
  return std::unique_ptr<Recorder>(new LogRecorder(fd, path, signing_key, std::move(salt), std::move(known_tail)));
}

}  // namespace gov::lineage
