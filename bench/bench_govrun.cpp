// Benchmark: wall time of `govrun -- /usr/bin/true` against `/usr/bin/true`
// alone, in paired runs (each pair runs both, alternating which goes first),
// with a real bundle built and signed by govc, native code loaded, and the
// lineage records written (fsynced) as in production. Prints both medians,
// their ratio (goal ≤ 1.5×), the median of the per-pair ratios, and where
// govrun's time goes, from `govrun --timings`: startup (exec of govrun up to
// main, plus argument parsing), config + load + verify, open log, resolve +
// hash, decide, record (authorization, start, end + checkpoint), spawn, exec,
// the program itself.
//
// Also prints the median CPU time (user + system) of both, less sensitive to
// other load on a shared machine.
//
// Usage: bench_govrun [PAIRS]   (default 200)
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "runtime/crypto/ed25519.h"

namespace {

namespace fs = std::filesystem;

std::int64_t NowNs() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

// Runs argv with stdout to /dev/null and stderr to `stderr_file` (or
// /dev/null); returns the wall time in ns and sets `*start` to the fork time.
std::int64_t RunTimed(const std::vector<std::string>& argv, const std::string& stderr_file, int* status,
                      std::int64_t* start = nullptr, double* cpu_ms = nullptr) {
  std::vector<char*> args;
  for (const std::string& arg : argv) {
    args.push_back(const_cast<char*>(arg.c_str()));
  }
  args.push_back(nullptr);
  const std::int64_t begin = NowNs();
  const pid_t pid = fork();
  if (pid == 0) {
    const int null_fd = open("/dev/null", O_RDWR);
    const int err = stderr_file.empty() ? null_fd : open(stderr_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(null_fd, 0);
    dup2(null_fd, 1);
    dup2(err, 2);
    execv(args[0], args.data());
    _exit(127);
  }
  struct rusage usage {};
  wait4(pid, status, 0, &usage);
  const std::int64_t end = NowNs();
  if (cpu_ms != nullptr) {
    *cpu_ms = static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) * 1e3 +
              static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e3;
  }
  if (start != nullptr) {
    *start = begin;
  }
  return end - begin;
}

double Median(std::vector<double> values) {
  if (values.empty()) {
    return 0;
  }
  std::sort(values.begin(), values.end());
  const std::size_t mid = values.size() / 2;
  return values.size() % 2 == 1 ? values[mid] : (values[mid - 1] + values[mid]) / 2;
}

std::string ReadText(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

}  // namespace

int main(int argc, char** argv) {
  const int pairs = argc > 1 ? std::max(10, std::atoi(argv[1])) : 200;
  char pattern[] = "/tmp/bench-govrun-XXXXXX";
  if (mkdtemp(pattern) == nullptr) {
    std::perror("mkdtemp");
    return 1;
  }
  const std::string dir = pattern;
  // Removes the directory (keys, bundle, lineage) however main returns.
  struct Cleanup {
    std::string dir;
    ~Cleanup() {
      std::error_code ignored;
      fs::remove_all(dir, ignored);
    }
  } cleanup{dir};
  for (const char* name : {"pol", "lin"}) {
    auto key = gov::crypto::PrivateKey::Generate();
    if (!key.ok() || !gov::crypto::WritePrivateKeyFile(dir + "/" + name + ".key", key.value()).ok() ||
        !gov::crypto::WritePublicKeyFile(dir + "/" + name + ".pub", key.value().public_key()).ok()) {
      std::fprintf(stderr, "cannot write keys\n");
      return 1;
    }
  }
  {
    std::ofstream policy(dir + "/bench.gov");
    policy << "policy bench version \"1.0.0\"\n"
              "allow true_cmd when program.path == \"/usr/bin/true\" because \"benchmark\"\n"
              "deny rm_root when program.name == \"rm\" and \"/\" in args because \"never\"\n";
  }
  int status = 0;
  RunTimed({GOV_GOVC, "build", dir + "/bench.gov", "--key", dir + "/pol.key", "-o", dir + "/bench.govb"}, "",
           &status);
  if (status != 0) {
    std::fprintf(stderr, "govc build failed\n");
    return 1;
  }
  fs::create_directory(dir + "/lineage");
  {
    std::ofstream config(dir + "/config.toml");
    config << "policy = \"bench.govb\"\ntrusted_keys = [\"pol.pub\"]\nlineage_dir = \"lineage\"\n"
              "signing_key = \"lin.key\"\n";
  }
  const std::vector<std::string> bare = {"/usr/bin/true"};
  const std::vector<std::string> governed = {GOV_GOVRUN, "--timings", "--config", dir + "/config.toml", "--",
                                             "/usr/bin/true"};
  const std::string timings_file = dir + "/timings";

  // Warm-up: page cache, dynamic loader caches.
  for (int i = 0; i < 5; ++i) {
    RunTimed(bare, "", &status);
    RunTimed(governed, timings_file, &status);
    if (status != 0) {
      std::fprintf(stderr, "govrun failed (status %d): %s\n", status, ReadText(timings_file).c_str());
      return 1;
    }
  }

  std::vector<double> bare_ms;
  std::vector<double> governed_ms;
  std::vector<double> ratios;
  std::vector<double> bare_cpu;
  std::vector<double> governed_cpu;
  std::map<std::string, std::vector<double>> phases;
  for (int i = 0; i < pairs; ++i) {
    double bare_one = 0;
    double governed_one = 0;
    for (int order = 0; order < 2; ++order) {
      if ((order == 0) == (i % 2 == 0)) {
        double cpu = 0;
        bare_one = static_cast<double>(RunTimed(bare, "", &status, nullptr, &cpu)) / 1e6;
        bare_cpu.push_back(cpu);
      } else {
        std::int64_t start = 0;
        double cpu = 0;
        governed_one = static_cast<double>(RunTimed(governed, timings_file, &status, &start, &cpu)) / 1e6;
        governed_cpu.push_back(cpu);
        if (status != 0) {
          std::fprintf(stderr, "govrun failed (status %d)\n", status);
          return 1;
        }
        // "govrun-timings main_entry_ns=N startup=N load_verify=N ..."
        std::istringstream line(ReadText(timings_file));
        std::string word;
        line >> word;
        while (line >> word) {
          const std::size_t equal = word.find('=');
          if (equal == std::string::npos) {
            continue;
          }
          const std::string name = word.substr(0, equal);
          const double value = std::strtod(word.c_str() + equal + 1, nullptr);
          if (name == "main_entry_ns") {
            phases["exec of govrun to main"].push_back((value - static_cast<double>(start)) / 1e6);
          } else {
            phases[name].push_back(value / 1e6);
          }
        }
      }
    }
    bare_ms.push_back(bare_one);
    governed_ms.push_back(governed_one);
    ratios.push_back(governed_one / bare_one);
  }
  const double bare_median = Median(bare_ms);
  const double governed_median = Median(governed_ms);
  std::printf("bench_govrun: %d paired runs, real signed bundle (native code), lineage records fsynced\n", pairs);
  std::printf("  /usr/bin/true                   median %8.3f ms\n", bare_median);
  std::printf("  govrun -- /usr/bin/true         median %8.3f ms\n", governed_median);
  std::printf("  ratio of medians                %8.2fx   (goal <= 1.50x)\n", governed_median / bare_median);
  std::printf("  median of per-pair ratios       %8.2fx\n", Median(ratios));
  // CPU time (user + system, the process and what it reaped) depends less on
  // other load on the machine than wall time does.
  std::printf("  CPU time: /usr/bin/true %.3f ms, govrun -- /usr/bin/true %.3f ms (%.2fx)\n", Median(bare_cpu),
              Median(governed_cpu), Median(governed_cpu) / std::max(Median(bare_cpu), 1e-9));
  std::printf("where govrun's time goes (median ms per phase):\n");
  const char* const order[] = {"exec of govrun to main", "startup", "load_verify", "open_log", "resolve_hash",
                               "decide", "spawn", "record_auth", "record_start", "exec", "run", "record_end"};
  const char* const labels[] = {"startup: exec of govrun, loader, static init",
                                "startup: argument parsing",
                                "config + load + verify bundle",
                                "lineage: read key, open log",
                                "resolve + hash program",
                                "decide (request + native code)",
                                "fork the child (it prepares in parallel)",
                                "record authorization (fsync)",
                                "cgroups + record start",
                                "exec (child setup + execveat)",
                                "the program runs, reaped",
                                "record end + checkpoint"};
  double sum = 0;
  for (std::size_t i = 0; i < std::size(order); ++i) {
    const double median = Median(phases[order[i]]);
    sum += median;
    std::printf("  %-46s %8.3f\n", labels[i], median);
  }
  std::printf("  %-46s %8.3f\n", "(sum of phase medians)", sum);
  return 0;
}
