// Real processes on one log: 8 concurrent writers × 200 runs (50 under ASan), and writers
// SIGKILLed at random points (interrupted runs are incomplete, never corrupt
// or missing).
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <atomic>
#include <chrono>
#include <map>
#include <random>
#include <set>
#include <thread>

#include "tests/lineage/helpers.h"

namespace gov::lineage {
namespace {

// One governed run as govrun records it, in a child process, reporting on
// `report_fd` (letters in the order of the run's progress): "A <run>" once a
// deny's authorization is durable, "B <run>" once an allow's is, "C <run>"
// once its end is written, "E <run>" once the checkpoint is. Returns false
// on any failure.
bool ChildRun(Recorder& recorder, int report_fd, int index) {
  Authorization auth = SampleAuthorization(NewRunId(), "", index % 5 == 0 ? "deny" : "allow");
  auto report = [&](char state) {
    const std::string line = std::string(1, state) + " " + auth.run_id + "\n";
    return write(report_fd, line.data(), line.size()) == static_cast<ssize_t>(line.size());
  };
  if (!recorder.RecordAuthorization(auth).ok()) return false;
  if (!report(auth.execute ? 'B' : 'A')) return false;
  if (auth.execute) {
    if (!recorder.RecordStart(Start{auth.run_id, getpid(), 1, {}}).ok()) return false;
    End end;
    end.run_id = auth.run_id;
    end.exited = true;
    if (!recorder.RecordEnd(end).ok()) return false;
    if (!report('C')) return false;
  }
  if (!recorder.Checkpoint().ok()) return false;
  return report('E');
}

// Forks a writer doing `runs` runs (0: forever) into `dir`, reporting on a pipe.
pid_t SpawnWriter(const std::string& dir, const crypto::PrivateKey& key, int runs, int report_fd) {
  pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    int status = 0;
    try {
      auto recorder = OpenLog(dir, key);
      if (!recorder.ok()) _exit(3);
      // "opened": the parent may time its kill from here (OpenLog reads the
      // log, which takes longer as it grows, and much longer under ASan).
      if (write(report_fd, "O\n", 2) != 2) _exit(5);
      for (int i = 0; runs == 0 || i < runs; ++i) {
        if (!ChildRun(*recorder.value(), report_fd, i)) {
          status = 2;
          break;
        }
      }
    } catch (...) {
      status = 4;
    }
    _exit(status);
  }
  return pid;
}

// Reads from the pipe until `opened` writers have said "O" (or the pipe is
// closed); returns what was read.
std::string ReadUntilOpened(int fd, int opened) {
  std::string all;
  char buffer[4096];
  while (static_cast<int>(std::count(all.begin(), all.end(), 'O')) < opened) {
    struct pollfd ready {fd, POLLIN, 0};
    if (poll(&ready, 1, 30000) <= 0) break;  // a writer that never opens: kill now
    ssize_t n = read(fd, buffer, sizeof buffer);
    if (n <= 0) break;
    all.append(buffer, static_cast<std::size_t>(n));
  }
  return all;
}

// Reads from the pipe until a complete report line of state `state` (e.g.
// "B <run>": an allow authorized, not yet ended) has come, or the pipe is
// closed or silent for 30 s; returns what was read.
std::string ReadUntilReport(int fd, char state) {
  std::string all;
  char buffer[4096];
  auto seen = [&] {
    for (const std::string& line : Lines(all)) {
      if (line.size() == 34 && line[0] == state) return true;
    }
    return false;
  };
  while (!seen()) {
    struct pollfd ready {
      fd, POLLIN, 0
    };
    if (poll(&ready, 1, 30000) <= 0) break;
    ssize_t n = read(fd, buffer, sizeof buffer);
    if (n <= 0) break;
    all.append(buffer, static_cast<std::size_t>(n));
  }
  return all;
}

// Reads every report line from the pipe (the write ends must be closed),
// after `already` read bytes.
std::map<std::string, char> ReadReports(int fd, std::string already = {}) {
  std::string all = std::move(already);
  char buffer[4096];
  ssize_t n;
  while ((n = read(fd, buffer, sizeof buffer)) > 0) all.append(buffer, static_cast<std::size_t>(n));
  std::map<std::string, char> state;  // run → the furthest report: 'A', 'B', 'C' or 'E'
  for (const std::string& line : Lines(all)) {
    if (line.size() != 34) continue;  // a report cut by SIGKILL
    state[line.substr(2)] = std::max(state[line.substr(2)], line[0]);
  }
  return state;
}

// Run ids of every complete authorization record in the log (a write torn
// by SIGKILL — the kernel stops a write between pages — is not a record: the
// next writer accounts for it with a recovery record).
std::set<std::string> LoggedRuns(const std::string& log) {
  std::set<std::string> runs;
  for (const std::string& line : Lines(ReadFile(log))) {
    SplitLine split = Split(line);
    auto head = ParseHead(split.head);
    if (head.ok() && split.has_body && head.value().body == DigestOf(split.body) &&
        head.value().type == RecordType::kAuthorization) {
      runs.insert(std::string(head.value().run));
    }
  }
  return runs;
}

TEST_CASE("8 concurrent writer processes: every record present, the log verifies", "[lineage][processes]") {
#if defined(GOV_SANITIZED)
  const int kRuns = 50;  // per writer; ASan makes each run and the live verifier ~10x slower
#else
  const int kRuns = 200;
#endif
  const std::size_t kAll = 8 * kRuns;
  const std::size_t kAllowed = 8 * kRuns * 4 / 5;  // every fifth run is denied (ChildRun)
  TempDir dir;
  crypto::PrivateKey key = TestKey(7);
  int fds[2];
  REQUIRE(pipe(fds) == 0);
  std::vector<pid_t> pids;
  for (int i = 0; i < 8; ++i) pids.push_back(SpawnWriter(dir.path, key, kRuns, fds[1]));
  close(fds[1]);
  // A verifier running while they write never sees a torn or broken log.
  std::atomic<bool> writing{true};
  std::atomic<int> verified{0};
  std::atomic<int> bad{0};
  std::string first_bad;
  std::thread verifier([&] {
    while (writing) {
      if (access((dir.path + "/lineage.log").c_str(), F_OK) != 0) continue;
      Report live = Verify(dir.path, Trusting(key));
      const bool before_first_checkpoint = live.failure == Failure::kSignature && live.checkpoints == 0;
      if (live.failure != Failure::kNone && !before_first_checkpoint) {
        if (bad++ == 0) first_bad = live.message;
      }
      ++verified;
    }
  });
  std::map<std::string, char> reports = ReadReports(fds[0]);
  close(fds[0]);
  writing = false;
  verifier.join();
  INFO("first failure of a concurrent verification: " << first_bad);
  CHECK(bad == 0);
  CHECK(verified > 0);
  for (pid_t pid : pids) {
    int status = 0;
    REQUIRE(waitpid(pid, &status, 0) == pid);
    CHECK(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
  }
  REQUIRE(reports.size() == kAll);
  for (const auto& [run, state] : reports) CHECK(state == 'E');
  Report report = Verify(dir.path, Trusting(key));
  INFO(report.message);
  REQUIRE(report.failure == Failure::kNone);
  CHECK(report.runs == kAll);
  CHECK(report.deny == kAll - kAllowed);
  CHECK(report.allow == kAllowed);
  CHECK(report.incomplete.empty());
  CHECK(report.checkpoints == kAll);
  CHECK(report.records == 1 + kAll + 2 * kAllowed + kAll);
  CHECK(report.uncertified == 0);
  std::set<std::string> logged = LoggedRuns(dir.path + "/lineage.log");
  for (const auto& [run, state] : reports) CHECK(logged.count(run) == 1);
}

TEST_CASE("writers SIGKILLed at random points: the log verifies, interrupted runs are incomplete",
          "[lineage][processes][crash]") {
  TempDir dir;
  crypto::PrivateKey key = TestKey(7);
  std::mt19937 random(20261129);
  std::map<std::string, char> reports;
  int kills = 0;
#if defined(GOV_SANITIZED)
  const std::size_t kRuns = 30;  // ASan makes each run ~10x slower; the release suite runs 200
  const int kMaxDelayUs = 200000;
  const int kMaxKills = 400;  // well inside the test's timeout even on a loaded machine
#else
  const std::size_t kRuns = 200;
  const int kMaxDelayUs = 40000;
  const int kMaxKills = 2000;
#endif
  // Whether the log holds an executed run without an end — one killed
  // between its authorization and its end, the case the test is about.
  auto interrupted = [&] {
    std::set<std::string> open;
    for (const std::string& line : Lines(ReadFile(dir.path + "/lineage.log"))) {
      const SplitLine split = Split(line);
      auto head = ParseHead(split.head);
      // Torn bytes are not records.
      if (!split.has_body || !head.ok() || head.value().body != DigestOf(split.body)) continue;
      if (head.value().type == RecordType::kAuthorization && head.value().exec) open.emplace(head.value().run);
      if (head.value().type == RecordType::kEnd) open.erase(std::string(head.value().run));
    }
    return !open.empty();
  };
  // Kills at random points, bounded by the kill count.
  while (reports.size() < kRuns) {
    int fds[2];
    REQUIRE(pipe(fds) == 0);
    // Two writers at once, so a kill can also land while the other waits on the lock.
    pid_t a = SpawnWriter(dir.path, key, 0, fds[1]);
    pid_t b = SpawnWriter(dir.path, key, 0, fds[1]);
    close(fds[1]);
    // Kill at a random point after both have opened the log.
    std::string early = ReadUntilOpened(fds[0], 2);
    std::this_thread::sleep_for(std::chrono::microseconds(std::uniform_int_distribution<int>(0, kMaxDelayUs)(random)));
    kill(a, SIGKILL);
    kill(b, SIGKILL);
    ++kills;
    for (pid_t pid : {a, b}) {
      int status = 0;
      REQUIRE(waitpid(pid, &status, 0) == pid);
      CHECK(WIFSIGNALED(status));
    }
    for (const auto& [run, state] : ReadReports(fds[0], std::move(early))) reports[run] = state;
    close(fds[0]);
    REQUIRE(kills < kMaxKills);
  }
  // On a busy machine most random kills land outside that moment: then kill
  // a writer as soon as it reports an allow authorized (before its end),
  // a bounded number of times.
  for (int targeted = 0; !interrupted(); ++targeted) {
    REQUIRE(targeted < 100);
    int fds[2];
    REQUIRE(pipe(fds) == 0);
    pid_t writer = SpawnWriter(dir.path, key, 0, fds[1]);
    close(fds[1]);
    std::string seen = ReadUntilReport(fds[0], 'B');
    kill(writer, SIGKILL);
    ++kills;
    int status = 0;
    REQUIRE(waitpid(writer, &status, 0) == writer);
    for (const auto& [run, state] : ReadReports(fds[0], std::move(seen))) reports[run] = state;
    close(fds[0]);
  }
  // A last, uninterrupted run signs everything before it.
  int fds[2];
  REQUIRE(pipe(fds) == 0);
  pid_t last = SpawnWriter(dir.path, key, 1, fds[1]);
  close(fds[1]);
  for (const auto& [run, state] : ReadReports(fds[0])) reports[run] = state;
  close(fds[0]);
  int status = 0;
  REQUIRE(waitpid(last, &status, 0) == last);
  REQUIRE(WEXITSTATUS(status) == 0);

  Report report = Verify(dir.path, Trusting(key));
  INFO(report.message << " (" << kills << " kill rounds)");
  REQUIRE(report.failure == Failure::kNone);
  CHECK(report.uncertified == 0);
  WARN(kills << " kill rounds, " << report.incomplete.size() << " incomplete runs of " << report.runs << ", "
              << report.recoveries << " torn writes recovered");
  std::set<std::string> logged = LoggedRuns(dir.path + "/lineage.log");
  std::set<std::string> incomplete(report.incomplete.begin(), report.incomplete.end());
  for (const auto& [run, state] : reports) {
    CHECK(logged.count(run) == 1);  // durable before it was reported: never missing
    // Ended ('C', 'E') or denied ('A'): complete. Killed after an allow's
    // authorization ('B'): incomplete, unless the kill came in the moment
    // between writing its end and reporting it.
    if (state != 'B') CHECK(incomplete.count(run) == 0);
  }
  // Every incomplete run was interrupted: an allow authorized, never ended.
  for (const std::string& run : incomplete) {
    auto it = reports.find(run);
    CHECK((it == reports.end() || it->second == 'B'));
  }
  CHECK(report.runs == logged.size());
  CHECK(!incomplete.empty());
}

}  // namespace
}  // namespace gov::lineage
