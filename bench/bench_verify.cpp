// Lineage benchmark: verifying a generated log of 1,000,000 records (issue
// 15's goal: ≤ 1.2 s on 2 cores; prints records/s), and what recording adds to one govrun
// invocation (authorization + fsync, start, end, checkpoint signature + fsync).
//
// usage: bench_verify [--records N] [--all-signatures] [--invocations N] [--rounds N] [--dir DIR [--reuse]]
//
// --rounds verifies the log N times (default 5) and prints the best round and the median.
//
// --reuse verifies the log an earlier run left in DIR instead of generating
// one (with --invocations 0 it is left unchanged; else it grows).
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "bench/session_log.h"
#include "runtime/crypto/ed25519.h"
#include "runtime/crypto/fast_sha256.h"
#include "runtime/lineage/format.h"
#include "runtime/lineage/log_io.h"
#include "runtime/lineage/recorder.h"
#include "runtime/lineage/verify.h"

namespace gov::lineage {
namespace {

using Clock = std::chrono::steady_clock;
using Json = nlohmann::json;

double Seconds(Clock::time_point since) { return std::chrono::duration<double>(Clock::now() - since).count(); }

// CPU seconds (user + system) this process has used: the figure that does
// not depend on what else the machine runs.
double CpuSeconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
         static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
}

crypto::PrivateKey BenchKey() {
  std::array<std::uint8_t, crypto::kEd25519SeedSize> seed{};
  seed.fill(42);
  return crypto::PrivateKey::FromSeed(seed).value();
}

Authorization RealisticAuthorization(const std::string& run) {
  Authorization auth;
  auth.run_id = run;
  auth.request.program_path = "/usr/bin/git";
  auth.request.program_sha256 = "sha256:" + std::string(64, 'a');
  auth.request.args = {"commit", "-m", "update the build scripts", "--author", "agent <agent@example.com>"};
  auth.request.env = {{"HOME", "/home/agent"},
                      {"PATH", "/usr/local/bin:/usr/bin:/bin"},
                      {"LANG", "C.UTF-8"},
                      {"API_TOKEN", "secret"},
                      {"TERM", "xterm-256color"}};
  auth.request.cwd = "/work/repo";
  auth.request.user_name = "agent";
  auth.request.groups = {"agent", "docker"};
  auth.request.host = "build-7";
  auth.policy_digest = "sha256:" + std::string(64, 'b');
  auth.policy_name = "agent-policy";
  auth.policy_version = "3";
  auth.engine = "native code for x86_64-pc-linux-gnu (x86-64-v2)";
  auth.verdict = "allow";
  auth.execute = true;
  auth.rules = {{3, "git_commit", "allow", "commits in the work tree"}};
  auth.obligations.timeout_ms = 600000;
  auth.obligations.has_write = true;
  auth.obligations.write = {"/tmp", "/work/repo"};
  auth.env_in_clear = {"PATH", "LANG", "HOME"};
  return auth;
}

// Writes a log of about `records` records as govrun would (authorization,
// start, end, checkpoint per invocation) straight to `path`, with real
// bodies, hashes and signatures, and returns its size.
std::uint64_t GenerateLog(const std::string& path, std::uint64_t records, const crypto::PrivateKey& key) {
  LogFileWriter writer(path);
  const std::string& log = writer.log();
  auto append = [&writer](const Head& head, const std::string& body) { writer.Append(head, body); };
  // One authorization body rendered by the recorder's own encoder is too
  // slow to repeat a million times; reuse its shape with the run id swapped.
  const std::string template_run(32, '0');
  Authorization auth = RealisticAuthorization(template_run);
  Json body = {{"run", template_run},
               {"parent", ""},
               {"request", Json::parse(request::RequestToJson(auth.request, {}))},
               {"env_hashed", {{"API_TOKEN", "sha256:" + std::string(64, 'd')}}},
               {"interpreter", {{"path", ""}, {"sha256", ""}}},
               {"policy", {{"digest", auth.policy_digest}, {"name", auth.policy_name}, {"version", auth.policy_version}}},
               {"engine", auth.engine},
               {"verdict", "allow"},
               {"error", ""},
               {"rules", Json::array({{{"id", 3}, {"name", "git_commit"}, {"verdict", "allow"}, {"reason", "commits"}}})},
               {"obligations", ObligationsToJson(auth.obligations)},
               {"ask_answer", ""},
               {"execute", true}};
  const std::string auth_template = Canonical(body);
  while (writer.seq() + 4 <= records) {
    std::string run = NewId();
    std::string text = auth_template;
    for (std::size_t at = text.find(template_run); at != std::string::npos; at = text.find(template_run, at)) {
      text.replace(at, 32, run);
    }
    Head a;
    a.type = RecordType::kAuthorization;
    a.run = run;
    a.parent = "";
    a.policy = auth.policy_digest;
    a.verdict = "allow";
    a.exec = true;
    append(a, text);
    Head s;
    s.type = RecordType::kStart;
    s.run = run;
    append(s, Canonical(Json{{"run", run}, {"pid", 12345}, {"time_unix_ns", 1767268800000000000},
                              {"limits", Json::array({{{"obligation", "timeout"}, {"mechanism", "timer"}, {"value", "600000"}},
                                                      {{"obligation", "write"}, {"mechanism", "landlock ABI 4"},
                                                       {"value", "/tmp:/work/repo"}}})}}));
    Head e;
    e.type = RecordType::kEnd;
    e.run = run;
    append(e, Canonical(Json{{"run", run}, {"time_unix_ns", 1767268801000000000}, {"duration_ns", 1000000000},
                              {"exited", true}, {"exit_status", 0}, {"signal", 0}, {"killed_by", ""},
                              {"user_cpu_us", 1200}, {"system_cpu_us", 300}, {"max_rss_kib", 20480},
                              {"exec_error", ""}}));
    Head c;
    c.type = RecordType::kCheckpoint;
    append(c, CheckpointBody(log, writer.seq(), writer.prev(), {{"/usr/bin/git", auth.request.program_sha256}}, {run},
                             key, nullptr));
  }
  return writer.bytes();
}

int Main(int argc, char** argv) {
  std::uint64_t records = 1000000;
  bool all_signatures = false;
  bool reuse = false;
  int invocations = 200;
  int rounds = 5;
  std::string dir;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--records" && i + 1 < argc) {
      records = std::strtoull(argv[++i], nullptr, 10);
    } else if (arg == "--all-signatures") {
      all_signatures = true;
    } else if (arg == "--invocations" && i + 1 < argc) {
      invocations = std::atoi(argv[++i]);
    } else if (arg == "--dir" && i + 1 < argc) {
      dir = argv[++i];
    } else if (arg == "--reuse") {
      reuse = true;
    } else if (arg == "--rounds" && i + 1 < argc) {
      rounds = std::max(1, std::atoi(argv[++i]));
    } else {
      std::fprintf(stderr,
                   "usage: bench_verify [--records N] [--all-signatures] [--invocations N] [--rounds N] [--dir DIR "
                   "[--reuse]]\n");
      return 64;
    }
  }
  bool own_dir = dir.empty();
  if (reuse && own_dir) {
    std::fprintf(stderr, "bench_verify: --reuse needs --dir\n");
    return 64;
  }
  if (own_dir) {
    std::string pattern = (std::filesystem::temp_directory_path() / "gov-bench-verify-XXXXXX").string();
    if (mkdtemp(pattern.data()) == nullptr) return 1;
    dir = pattern;
  }
  const crypto::PrivateKey key = BenchKey();

  // 1. Verify a generated log.
  const std::string log_path = dir + "/" + std::string(kLogFileName);
  auto start = Clock::now();
  std::uint64_t bytes = 0;
  if (reuse) {
    struct stat st {};
    if (stat(log_path.c_str(), &st) != 0) {
      std::perror(log_path.c_str());
      return 1;
    }
    bytes = static_cast<std::uint64_t>(st.st_size);
    std::printf("reusing %s (%.1f MiB)\n", log_path.c_str(), static_cast<double>(bytes) / (1 << 20));
  } else {
    bytes = GenerateLog(log_path, records, key);
    std::printf("generated %llu records (%.1f MiB) in %.2f s\n", static_cast<unsigned long long>(records),
                static_cast<double>(bytes) / (1 << 20), Seconds(start));
  }
  VerifyOptions options;
  options.trusted = {key.public_key()};
  options.all_signatures = all_signatures;
  Verify(log_path, options);  // warm the page cache
  // Several rounds: this VM's speed drifts by tens of percent within
  // minutes, so the best round and the median say more than one run.
  Report report;
  std::vector<std::pair<double, double>> timed;  // (wall, CPU) seconds per round
  for (int round = 0; round < rounds; ++round) {
    start = Clock::now();
    const double cpu_start = CpuSeconds();
    report = Verify(log_path, options);
    timed.emplace_back(Seconds(start), CpuSeconds() - cpu_start);
    if (report.failure != Failure::kNone) {
      std::fprintf(stderr, "verification failed: %s\n", report.message.c_str());
      return 1;
    }
  }
  std::sort(timed.begin(), timed.end());
  double seconds = timed.front().first;
  const double cpu = timed.front().second;
  std::printf(
      "verify %llu records, %llu runs, %llu signature(s) checked, best of %d rounds: %.2f s (%.2f s CPU), "
      "%.0f records/s, %.0f MiB/s; median %.2f s (issue 15's goal for 1,000,000 records: <= 1.2 s)\n",
      static_cast<unsigned long long>(report.records), static_cast<unsigned long long>(report.runs),
      static_cast<unsigned long long>(report.signatures_checked), rounds, seconds, cpu,
      static_cast<double>(report.records) / seconds, static_cast<double>(bytes) / (1 << 20) / seconds,
      timed[timed.size() / 2].first);
  std::printf("SHA-256: %s\n", crypto::FastSha256Accelerated() ? "x86 SHA extensions" : "libsodium (portable)");

  // 2. Recording cost per govrun invocation, appended to the same big log.
  std::vector<double> open_us, auth_us, start_us, end_us, checkpoint_us, total_us;
  for (int i = 0; i < invocations; ++i) {
    auto t0 = Clock::now();
    auto recorder = OpenLog(dir, key);
    if (!recorder.ok()) {
      std::fprintf(stderr, "%s\n", recorder.error().message.c_str());
      return 1;
    }
    auto t1 = Clock::now();
    Authorization auth = RealisticAuthorization(NewRunId());
    if (!recorder.value()->RecordAuthorization(auth).ok()) return 1;
    auto t2 = Clock::now();
    if (!recorder.value()->RecordStart(Start{auth.run_id, 1, 1, {{"timeout", "timer", "600000"}}}).ok()) return 1;
    auto t3 = Clock::now();
    End end;
    end.run_id = auth.run_id;
    end.exited = true;
    if (!recorder.value()->RecordEnd(end).ok()) return 1;
    auto t4 = Clock::now();
    if (!recorder.value()->Checkpoint().ok()) return 1;
    auto t5 = Clock::now();
    auto us = [](Clock::time_point a, Clock::time_point b) { return std::chrono::duration<double, std::micro>(b - a).count(); };
    open_us.push_back(us(t0, t1));
    auth_us.push_back(us(t1, t2));
    start_us.push_back(us(t2, t3));
    end_us.push_back(us(t3, t4));
    checkpoint_us.push_back(us(t4, t5));
    total_us.push_back(us(t0, t5));
  }
  auto median = [](std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v.empty() ? 0.0 : v[v.size() / 2];
  };
  std::printf("recording per govrun invocation (median of %d, on a log of %llu records):\n", invocations,
              static_cast<unsigned long long>(records));
  std::printf("  open %.0f us, authorization + fsync %.0f us, start %.0f us, end %.0f us, checkpoint (sign + fsync) %.0f us\n",
              median(open_us), median(auth_us), median(start_us), median(end_us), median(checkpoint_us));
  std::printf("  total %.0f us added per invocation\n", median(total_us));
  // 3. The log again, now with its published tree (the recorder publishes
  // tiles, entry bundles and a signed note at each checkpoint): the tiles
  // and entry bundles are compared with the log's records too.
  start = Clock::now();
  const double cpu_after = CpuSeconds();
  Report after = Verify(log_path, options);
  seconds = Seconds(start);
  if (after.failure != Failure::kNone) {
    std::fprintf(stderr, "the log does not verify after recording: %s\n", after.message.c_str());
    return 1;
  }
  std::printf("verify %llu records with %llu published in tiles: %.2f s (%.2f s CPU), %.0f records/s\n",
              static_cast<unsigned long long>(after.records), static_cast<unsigned long long>(after.published), seconds,
              CpuSeconds() - cpu_after, static_cast<double>(after.records) / seconds);
  if (own_dir) {
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }
  return 0;
}

}  // namespace
}  // namespace gov::lineage

int main(int argc, char** argv) { return gov::lineage::Main(argc, argv); }
