// Benchmark: wall time of `govrun -- /usr/bin/true` against `/usr/bin/true`
// alone and against the floor — govrun_floor (bench/govrun_floor.c), the
// smallest static wrapper that spawns the program and waits for it, which
// is what any wrapper that stays the parent (as govrun must) costs at least
// on this machine. Paired runs: each round runs all three, rotating which
// goes first. A real bundle built and signed by govc, native code loaded,
// the lineage records written (fsynced) as in production. The harness
// starts every run with posix_spawn (vfork: its own size does not inflate
// the runs) and reads each run's CPU time and page faults from wait4.
// Prints the medians, govrun's ratios to both and its overhead over the
// floor, page faults, and where govrun's time goes, from `govrun --timings`.
//
// Usage: bench_govrun [ROUNDS]   (default 200)
#include <fcntl.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <array>
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

extern char** environ;

namespace {

namespace fs = std::filesystem;

std::int64_t NowNs() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

// One run: wall time, CPU time (user + system) and minor page faults of
// the process and everything it waited for.
struct Sample {
  double wall_ms = 0;
  double cpu_ms = 0;
  double faults = 0;
};

// Runs argv (posix_spawn) with stdin/stdout on /dev/null and stderr to
// `stderr_file` (or /dev/null); sets `*status` and `*start` (the spawn time).
Sample RunTimed(const std::vector<std::string>& argv, const std::string& stderr_file, int* status,
                std::int64_t* start = nullptr) {
  std::vector<char*> args;
  for (const std::string& arg : argv) {
    args.push_back(const_cast<char*>(arg.c_str()));
  }
  args.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 2, stderr_file.empty() ? "/dev/null" : stderr_file.c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0644);
  Sample sample;
  const std::int64_t begin = NowNs();
  pid_t pid = -1;
  if (posix_spawn(&pid, args[0], &actions, nullptr, args.data(), environ) != 0) {
    posix_spawn_file_actions_destroy(&actions);
    *status = 127 << 8;
    return sample;
  }
  struct rusage usage {};
  wait4(pid, status, 0, &usage);
  const std::int64_t end = NowNs();
  posix_spawn_file_actions_destroy(&actions);
  sample.wall_ms = static_cast<double>(end - begin) / 1e6;
  sample.cpu_ms = static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) * 1e3 +
                  static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e3;
  sample.faults = static_cast<double>(usage.ru_minflt + usage.ru_majflt);
  if (start != nullptr) {
    *start = begin;
  }
  return sample;
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
  const int rounds = argc > 1 ? std::max(10, std::atoi(argv[1])) : 200;
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
  RunTimed({GOV_GOVC, "build", dir + "/bench.gov", "--key", dir + "/pol.key", "-o", dir + "/bench.govb"}, "", &status);
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
  const std::vector<std::string> floor = {GOV_FLOOR, "/usr/bin/true"};
  const std::vector<std::string> governed = {GOV_GOVRUN,           "--timings", "--config",
                                             dir + "/config.toml", "--",        "/usr/bin/true"};
  const std::string timings_file = dir + "/timings";

  // Warm-up: page cache, dynamic loader caches.
  for (int i = 0; i < 5; ++i) {
    RunTimed(bare, "", &status);
    RunTimed(floor, "", &status);
    RunTimed(governed, timings_file, &status);
    if (status != 0) {
      std::fprintf(stderr, "govrun failed (status %d): %s\n", status, ReadText(timings_file).c_str());
      return 1;
    }
  }

  // kinds: 0 /usr/bin/true, 1 floor, 2 govrun
  std::array<std::vector<Sample>, 3> samples;
  std::vector<double> ratio_true;
  std::vector<double> ratio_floor;
  std::map<std::string, std::vector<double>> phases;
  for (int i = 0; i < rounds; ++i) {
    std::array<double, 3> wall{};
    for (int k = 0; k < 3; ++k) {
      const int kind = (i + k) % 3;
      if (kind == 2) {
        std::int64_t start = 0;
        const Sample sample = RunTimed(governed, timings_file, &status, &start);
        if (status != 0) {
          std::fprintf(stderr, "govrun failed (status %d)\n", status);
          return 1;
        }
        samples[2].push_back(sample);
        wall[2] = sample.wall_ms;
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
      } else {
        const Sample sample = RunTimed(kind == 0 ? bare : floor, "", &status);
        if (status != 0) {
          std::fprintf(stderr, "%s failed (status %d)\n", kind == 0 ? "/usr/bin/true" : "govrun_floor", status);
          return 1;
        }
        samples[static_cast<std::size_t>(kind)].push_back(sample);
        wall[static_cast<std::size_t>(kind)] = sample.wall_ms;
      }
    }
    ratio_true.push_back(wall[2] / wall[0]);
    ratio_floor.push_back(wall[2] / wall[1]);
  }
  // `govrun --version`: process startup alone (loader, static initialisers).
  std::vector<Sample> version;
  for (int i = 0; i < 20; ++i) {
    version.push_back(RunTimed({GOV_GOVRUN, "--version"}, "", &status));
  }
  auto median_of = [](const std::vector<Sample>& runs, double Sample::*field) {
    std::vector<double> values;
    for (const Sample& sample : runs) {
      values.push_back(sample.*field);
    }
    return Median(values);
  };
  const char* const names[] = {"/usr/bin/true", "floor: govrun_floor /usr/bin/true", "govrun -- /usr/bin/true"};
  std::printf(
      "bench_govrun: %d rounds (each runs /usr/bin/true, the floor and govrun, order rotated), real signed\n"
      "bundle (native code), lineage records fsynced; harness spawns with posix_spawn\n",
      rounds);
  std::printf("  %-36s %12s %12s %12s\n", "", "wall (ms)", "CPU (ms)", "page faults");
  for (std::size_t kind = 0; kind < 3; ++kind) {
    std::printf("  %-36s %12.3f %12.3f %12.0f\n", names[kind], median_of(samples[kind], &Sample::wall_ms),
                median_of(samples[kind], &Sample::cpu_ms), median_of(samples[kind], &Sample::faults));
  }
  std::printf("  %-36s %12.3f %12.3f %12.0f\n", "govrun --version (startup alone)",
              median_of(version, &Sample::wall_ms), median_of(version, &Sample::cpu_ms),
              median_of(version, &Sample::faults));
  const double true_ms = median_of(samples[0], &Sample::wall_ms);
  const double floor_ms = median_of(samples[1], &Sample::wall_ms);
  const double govrun_ms = median_of(samples[2], &Sample::wall_ms);
  std::printf("  floor / true                         %8.2fx   (no wrapper that stays the parent does better here)\n",
              floor_ms / true_ms);
  std::printf(
      "  govrun / true                        %8.2fx   (issue goal <= 1.50x; median of per-round ratios %.2fx)\n",
      govrun_ms / true_ms, Median(ratio_true));
  std::printf("  govrun / floor                       %8.2fx   (median of per-round ratios %.2fx)\n",
              govrun_ms / floor_ms, Median(ratio_floor));
  std::printf("  govrun's overhead over the floor     %8.3f ms\n", govrun_ms - floor_ms);
  std::printf("where govrun's time goes (median ms per phase):\n");
  const char* const order[] = {"exec of govrun to main", "startup", "config", "load_verify", "open_log",
                               "resolve_hash",           "decide",  "plan",   "spawn",       "record_auth",
                               "record_start",           "exec",    "run",    "record_end"};
  const char* const labels[] = {"startup: exec of govrun, loader, static init",
                                "startup: argument parsing",
                                "config + trusted keys",
                                "load + verify bundle",
                                "lineage: read key, open log",
                                "resolve + hash program",
                                "decide (request + native code)",
                                "plan the sandbox (cgroup, Landlock, seccomp)",
                                "clone the child (it prepares in parallel)",
                                "record authorization (fdatasync)",
                                "cgroups + record start",
                                "exec (child setup + execveat)",
                                "the program runs, reaped",
                                "record end + checkpoint (fdatasync)"};
  double sum = 0;
  for (std::size_t i = 0; i < std::size(order); ++i) {
    const double median = Median(phases[order[i]]);
    sum += median;
    std::printf("  %-46s %8.3f\n", labels[i], median);
  }
  std::printf("  %-46s %8.3f\n", "(sum of phase medians)", sum);
  return 0;
}
