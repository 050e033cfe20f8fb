// Proof viewer benchmark (issue 16 §5): for session-shaped lineage logs of
// 10,000 and 100,000 runs, the time `govverify --html` takes to verify and
// write the page, the page's size, and the time headless Chromium takes from
// navigation to the viewer's first rendered view (goals: 10,000 runs ≤ 1 s,
// 100,000 runs < 3 s).
//
// usage: bench_viewer [--runs N]... [--keep DIR]
#include <fmt/format.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "bench/session_log.h"
#include "runtime/crypto/ed25519.h"
#include "runtime/lineage/format.h"
#include "runtime/lineage/log_io.h"
#include "runtime/request/request.h"

namespace gov::lineage {
namespace {

using Clock = std::chrono::steady_clock;
using Json = nlohmann::json;

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
