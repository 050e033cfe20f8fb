// Proof viewer benchmark (issue 16 §5): for session-shaped lineage logs of
// 10,000 and 100,000 runs, the time `govverify --html` takes to verify and
// write the page, the page's size, and the time headless Chromium takes from
// navigation to the viewer's first rendered view (goals: 10,000 runs ≤ 1 s,
// 100,000 runs < 3 s).
//
// usage: bench_viewer [--runs N]... [--keep DIR]
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fmt/format.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "runtime/crypto/ed25519.h"
#include "runtime/lineage/format.h"
#include "runtime/lineage/log_io.h"
#include "runtime/request/request.h"

namespace gov::lineage {
namespace {

using Clock = std::chrono::steady_clock;
using Json = nlohmann::json;

// A run's three records as a session writes them, plus its place in the tree.
struct RunShape {
  std::string program;
  std::vector<std::string> args;
  std::string parent;
  std::string verdict;
};

// Writes a session-shaped log of `runs` runs to `path`: sessions of one bash,
// a make under it and cc under make, one deny in ten, a signed checkpoint
// every 50 runs and at the end (real hashes and signatures).
void GenerateSessionLog(const std::string& path, std::uint64_t runs, const crypto::PrivateKey& key) {
  FILE* out = std::fopen(path.c_str(), "wb");
  if (out == nullptr) {
    std::perror(path.c_str());
    std::exit(1);
  }
  const std::string log = NewId();
  std::uint64_t seq = 0;
  std::string prev = kGenesisPrev;
  auto append = [&](Head head, const std::string& body) {
    head.seq = seq++;
    head.log = log;
    head.prev = prev;
    const std::string line = MakeLine(head, body);
    prev = DigestOf(std::string_view(line).substr(0, line.find('\t')));
    std::fwrite(line.data(), 1, line.size(), out);
  };
  Head header;
  header.type = RecordType::kHeader;
  append(header, Canonical(Json{{"format", kLogFormat}, {"log", log}, {"created_unix_ns", 0}}));
  const std::string policy_digest = "sha256:" + std::string(64, 'b');
  std::string shell, make;
  std::vector<std::string> since_checkpoint;
  for (std::uint64_t i = 0; i < runs; ++i) {
    RunShape shape;
    if (i % 100 == 0) {
      shape = {"/usr/bin/bash", {"-lc", "make -j2 && ./run-tests"}, "", "allow"};
    } else if (i % 100 == 1) {
      shape = {"/usr/bin/make", {"-j2"}, shell, "allow"};
    } else if (i % 10 == 5) {
      shape = {"/usr/bin/curl", {"-fsSL", "https://example.com/install.sh"}, make, "deny"};
    } else {
      shape = {"/usr/bin/cc", {"-O2", "-c", "src/file" + std::to_string(i) + ".c", "-o", "obj/file.o"}, make, "allow"};
    }
    const std::string run = NewId();
    if (i % 100 == 0) shell = run;
    if (i % 100 == 1) make = run;
    request::Request request;
    request.program_path = shape.program;
    request.program_sha256 = "sha256:" + std::string(64, 'a');
    request.args = shape.args;
    request.env = {{"PATH", "/usr/local/bin:/usr/bin:/bin"}, {"LANG", "C.UTF-8"}};
    request.cwd = "/work/repo";
    request.user_name = "agent";
    request.host = "build-7";
    const bool allowed = shape.verdict == "allow";
    Json body = {
        {"run", run},
        {"parent", shape.parent},
        {"request", request::RequestToJsonValue(request, {})},
        {"env_hashed", {{"API_TOKEN", "sha256:" + std::string(64, 'd')}, {"HOME", "sha256:" + std::string(64, 'e')}}},
        {"interpreter", {{"path", ""}, {"sha256", ""}}},
        {"policy", {{"digest", "sha256:" + std::string(64, 'b')}, {"name", "agent"}, {"version", "3"}}},
        {"engine", "native code for x86_64-pc-linux-gnu (x86-64-v2)"},
        {"verdict", shape.verdict},
        {"error", ""},
        {"rules", Json::array({{{"id", allowed ? 3 : 7},
                                {"name", allowed ? "build_tools" : "no_network_tools"},
                                {"verdict", shape.verdict},
                                {"reason", allowed ? "builds are allowed" : "downloads run nothing"}}})},
        {"obligations", {{"memory_bytes", 0}, {"network", "unset"}, {"processes", 0}, {"timeout_ms", 600000}}},
        {"ask_answer", ""},
        {"execute", allowed}};
    Head a;
    a.type = RecordType::kAuthorization;
    a.run = run;
    a.parent = shape.parent;
    a.policy = policy_digest;  // Head holds views: the strings must outlive append
    a.verdict = shape.verdict;
    a.exec = allowed;
    append(a, Canonical(body));
    if (allowed) {
      Head s;
      s.type = RecordType::kStart;
      s.run = run;
      append(s, Canonical(Json{{"run", run},
                               {"pid", 12345},
                               {"depth", shape.parent.empty() ? 0 : 1},
                               {"program", shape.program},
                               {"time_unix_ns", 1767268800000000000},
                               {"limits", Json::array({{{"obligation", "timeout"},
                                                        {"mechanism", "govrun timer (SIGKILL)"},
                                                        {"value", "600000 ms"}}})}}));
      Head e;
      e.type = RecordType::kEnd;
      e.run = run;
      append(e, Canonical(Json{{"run", run},
                               {"time_unix_ns", 1767268801000000000},
                               {"duration_ns", 1000000000},
                               {"exited", true},
                               {"exit_status", 0},
                               {"signal", 0},
                               {"killed_by", ""},
                               {"user_cpu_us", 1200},
                               {"system_cpu_us", 300},
                               {"max_rss_kib", 20480},
                               {"exec_error", ""}}));
    }
    since_checkpoint.push_back(run);
    if (since_checkpoint.size() == 50 || i + 1 == runs) {
      Head c;
      c.type = RecordType::kCheckpoint;
      append(c, CheckpointBody(log, seq, prev, {}, since_checkpoint, key, nullptr));
      since_checkpoint.clear();
    }
  }
  std::fclose(out);
}

// Runs argv; its stdout goes to `stdout_path`. Returns the exit status.
int Spawn(const std::vector<std::string>& argv, const std::string& stdout_path) {
  std::fflush(stdout);  // the child's freopen would write the parent's buffered lines again
  const pid_t pid = fork();
  if (pid == 0) {
    FILE* out = std::freopen(stdout_path.c_str(), "w", stdout);
    if (out == nullptr) _exit(127);
    std::vector<char*> args;
    for (const auto& arg : argv) args.push_back(const_cast<char*>(arg.c_str()));
    args.push_back(nullptr);
    execvp(args[0], args.data());
    _exit(127);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

double Seconds(Clock::time_point since) {
  return std::chrono::duration<double>(Clock::now() - since).count();
}

int Main(int argc, char** argv) {
  std::vector<std::uint64_t> sizes;
  std::string keep;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--runs" && i + 1 < argc) {
      sizes.push_back(std::strtoull(argv[++i], nullptr, 10));
    } else if (arg == "--keep" && i + 1 < argc) {
      keep = argv[++i];
    } else {
      std::fprintf(stderr, "usage: bench_viewer [--runs N]... [--keep DIR]\n");
      return 64;
    }
  }
  if (sizes.empty()) sizes = {10000, 100000};
  std::string dir = keep;
  if (dir.empty()) {
    std::string pattern = (std::filesystem::temp_directory_path() / "gov-bench-viewer-XXXXXX").string();
    if (mkdtemp(pattern.data()) == nullptr) return 1;
    dir = pattern;
  } else {
    std::filesystem::create_directories(dir);
  }
  std::array<std::uint8_t, crypto::kEd25519SeedSize> seed{};
  seed.fill(42);
  const crypto::PrivateKey key = crypto::PrivateKey::FromSeed(seed).value();
  const std::string key_path = dir + "/lineage.pub";
  {
    FILE* pub = std::fopen(key_path.c_str(), "w");
    if (pub == nullptr) return 1;
    const std::string pem = key.public_key().ToPem();
    std::fwrite(pem.data(), 1, pem.size(), pub);
    std::fclose(pub);
  }
  const std::string modules = std::string(GOV_SOURCE_DIR) + "/build/node/node_modules";
  const bool browser =
      std::filesystem::exists(modules + "/puppeteer-core") && std::filesystem::exists("/usr/bin/chromium");
  std::printf("proof viewer: session-shaped logs (bash > make > cc, 1 deny in 10, a checkpoint every 50 runs)\n");
  std::printf("%10s %10s %12s %14s %16s  %s\n", "runs", "log (MiB)", "page (MiB)", "--html (s)", "Chromium (s)",
              "goal");
  for (const std::uint64_t runs : sizes) {
    const std::string log_path = dir + "/viewer-" + std::to_string(runs) + ".log";
    const std::string page = dir + "/viewer-" + std::to_string(runs) + ".html";
    GenerateSessionLog(log_path, runs, key);
    auto started = Clock::now();
    const int verified =
        Spawn({GOV_GOVVERIFY, "--quiet", "--lineage-key", key_path, "--html", page, log_path}, "/dev/null");
    const double html_seconds = Seconds(started);
    if (verified != 0) {
      std::fprintf(stderr, "bench_viewer: govverify --html exited %d\n", verified);
      return 1;
    }
    double chromium_seconds = -1;
    std::string split;
    if (browser) {
      const std::string report = dir + "/browser-" + std::to_string(runs) + ".json";
      const int opened = Spawn(
          {"/usr/bin/env", "NODE_PATH=" + modules, "node", std::string(GOV_SOURCE_DIR) + "/tests/console/browser.js",
           page, dir + "/viewer-" + std::to_string(runs) + ".png"},
          report);
      if (opened == 0) {
        std::FILE* in = std::fopen(report.c_str(), "r");
        std::string text;
        for (int c = std::fgetc(in); c != EOF; c = std::fgetc(in)) text += static_cast<char>(c);
        std::fclose(in);
        const Json seen = Json::parse(text);
        chromium_seconds = seen.at("ready_ms").get<double>() / 1000.0;
        const Json& marks = seen.at("marks");
        if (marks.contains("gov-ready")) {
          const int dom = marks.value("dom_interactive", 0), inflated = marks.value("gov-inflated", 0),
                    parsed = marks.value("gov-parsed", 0), ready = marks.value("gov-ready", 0);
          split = fmt::format("  (in the page: HTML {} ms, inflate {} ms, JSON.parse {} ms, first view {} ms)", dom,
                              inflated - dom, parsed - inflated, ready - parsed);
        }
      }
    }
    std::printf("%10llu %10.1f %12.1f %14.2f ", static_cast<unsigned long long>(runs),
                static_cast<double>(std::filesystem::file_size(log_path)) / (1 << 20),
                static_cast<double>(std::filesystem::file_size(page)) / (1 << 20), html_seconds);
    if (chromium_seconds >= 0) {
      std::printf("%16.2f", chromium_seconds);
    } else {
      std::printf("%16s", browser ? "failed" : "no browser");
    }
    std::printf("  %s%s\n", runs <= 10000 ? "Chromium <= 1 s" : "Chromium < 3 s (100,000 runs)", split.c_str());
    if (keep.empty()) {
      std::filesystem::remove(log_path);
      std::filesystem::remove(page);
    }
  }
  if (keep.empty()) std::filesystem::remove_all(dir);
  return 0;
}

}  // namespace
}  // namespace gov::lineage

int main(int argc, char** argv) {
  return gov::lineage::Main(argc, argv);
}
