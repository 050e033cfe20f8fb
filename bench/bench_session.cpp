// Benchmark: a governed session against the same commands ungoverned, in
// one run, interleaved rounds (issue 14 §5):
//   (a) a bash loop of 2,000 `/usr/bin/true` execs;
//   (b) `make -j2` of 200 small C files (every cc, cc1, as, collect2, ld
//       exec decided and recorded).
// A real bundle built and signed by govc (native code), lineage records
// written and fsynced as in production. Prints the median wall time of
// each, the ratio, and where the supervisor's time went per exec (from
// `govrun --timings`: reading the call, resolving and hashing the file,
// deciding, appending the record, waiting for its fsync at the exec event
// (the part the kernel's exec did not hide), the post-exec check with the
// start record; the rest is the mechanism's stops and scheduling).
// Both session mechanisms are measured side by side: `kernel` (root: seccomp
// user notification + BPF binding; the fsync is waited for before the exec
// proceeds) and `ptrace` (any user).
//
// Usage: bench_session [ROUNDS]   (default 3)
#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
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

// Runs argv in `cwd` with stdout to /dev/null and stderr to `err`; returns
// the wall time in ms (negative on failure).
double RunTimed(const std::vector<std::string>& argv, const std::string& cwd, const std::string& err) {
  std::vector<char*> args;
  for (const std::string& arg : argv) {
    args.push_back(const_cast<char*>(arg.c_str()));
  }
  args.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 2, err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_addchdir_np(&actions, cwd.c_str());
  const std::int64_t start = NowNs();
  pid_t pid = 0;
  if (posix_spawn(&pid, args[0], &actions, nullptr, args.data(), environ) != 0) {
    return -1;
  }
  int status = 0;
  waitpid(pid, &status, 0);
  const double ms = static_cast<double>(NowNs() - start) / 1e6;
  posix_spawn_file_actions_destroy(&actions);
  return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? ms : -1;
}

double Median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  return values.empty() ? 0 : values[values.size() / 2];
}

std::string ReadText(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

// The `govrun-session-timings` fields of a --timings stderr.
std::map<std::string, double> SessionTimings(const std::string& text) {
  std::map<std::string, double> fields;
  const std::size_t at = text.find("govrun-session-timings");
  if (at == std::string::npos) {
    return fields;
  }
  std::istringstream line(text.substr(at, text.find('\n', at) - at));
  std::string word;
  while (line >> word) {
    const std::size_t equal = word.find('=');
    if (equal != std::string::npos) {
      fields[word.substr(0, equal)] = std::atof(word.c_str() + equal + 1);
    }
  }
  return fields;
}

}  // namespace

int main(int argc, char** argv) {
  const int rounds = argc > 1 ? std::max(1, std::atoi(argv[1])) : 3;
  char pattern[] = "/tmp/bench-session-XXXXXX";
  if (mkdtemp(pattern) == nullptr) {
    return 1;
  }
  const std::string dir = pattern;
  for (const char* name : {"pol", "lin"}) {
    auto key = gov::crypto::PrivateKey::Generate();
    if (!key.ok() || !gov::crypto::WritePrivateKeyFile(dir + "/" + name + ".key", key.value()).ok() ||
        !gov::crypto::WritePublicKeyFile(dir + "/" + name + ".pub", key.value().public_key()).ok()) {
      std::fprintf(stderr, "cannot write keys\n");
      return 1;
    }
  }
  // A build-agent policy: shells and build tools allowed, a few denials.
  {
    std::ofstream policy(dir + "/bench.gov");
    policy
        << "policy bench version \"1.0.0\"\n"
           "const build: set<string> = {\"make\", \"cc\", \"gcc\", \"cc1\", \"as\", \"collect2\", \"ld\", "
           "\"x86_64-linux-gnu-gcc-12\", \"x86_64-linux-gnu-as\", \"x86_64-linux-gnu-ld\", "
           "\"x86_64-linux-gnu-ld.bfd\", \"gcc-12\", \"ld.bfd\"}\n"
           "allow shells when program.name in {\"bash\", \"sh\", \"dash\"} because \"shells\"\n"
           "allow tools when program.name in {\"true\", \"echo\", \"cat\", \"rm\", \"mkdir\"} because \"tools\"\n"
           "allow builders when program.name in build because \"build tools\"\n"
           "deny network when program.name in {\"curl\", \"wget\", \"ssh\", \"scp\", \"nc\"} because \"no network\"\n"
           "deny destroy when program.name == \"rm\" and \"-rf\" in args and \"/\" in args because \"no rm -rf /\"\n";
  }
  const std::string built_err = dir + "/govc.err";
  if (RunTimed({GOV_GOVC, "build", dir + "/bench.gov", "--key", dir + "/pol.key", "-o", dir + "/bench.govb"}, dir,
               built_err) < 0) {
    std::fprintf(stderr, "govc build failed: %s\n", ReadText(built_err).c_str());
    return 1;
  }
  fs::create_directory(dir + "/lineage");
  {
    std::ofstream config(dir + "/config.toml");
    config << "policy = \"bench.govb\"\ntrusted_keys = [\"pol.pub\"]\nlineage_dir = \"lineage\"\n"
              "signing_key = \"lin.key\"\n";
  }
  // (b)'s project: 200 small C files.
  const std::string project = dir + "/project";
  fs::create_directory(project);
  {
    std::ofstream makefile(project + "/Makefile");
    makefile << "SOURCES := $(wildcard *.c)\nall: $(SOURCES:.c=.o)\n%.o: %.c\n\tcc -O0 -c $< -o $@\n";
    for (int i = 0; i < 200; ++i) {
      std::ofstream source(project + "/f" + std::to_string(i) + ".c");
      source << "int f" << i << "(int x) { return x * " << i << " + 1; }\n";
    }
  }
  const std::string loop = "for ((i = 0; i < 2000; i++)); do /usr/bin/true; done";
  const std::string make = "rm -f *.o && make -j2 -s";
  const std::string err = dir + "/run.err";
  // The mechanisms this host has (the kernel one needs root and a kernel that loads it).
  std::vector<std::string> mechanisms;
  for (const std::string mechanism : {"kernel", "ptrace"}) {
    if (RunTimed({GOV_GOVRUN, "--session", "--session-mechanism", mechanism, "--config", dir + "/config.toml", "--",
                  "/usr/bin/true"},
                 dir, err) >= 0) {
      mechanisms.push_back(mechanism);
    } else {
      std::printf("bench_session: no %s mechanism here: %s", mechanism.c_str(), ReadText(err).c_str());
    }
  }
  struct Measured {
    std::vector<double> governed;
    std::map<std::string, double> costs;
  };
  struct Case {
    const char* name;
    std::string script;
    std::string cwd;
    double goal;
    std::vector<double> plain;
    std::map<std::string, Measured> by_mechanism;
  };
  std::vector<Case> cases = {{"(a) 2,000 /usr/bin/true execs in a bash loop", loop, dir, 1.3, {}, {}},
                             {"(b) make -j2 of 200 small C files", make, project, 1.05, {}, {}}};
  for (int round = 0; round < rounds; ++round) {
    for (Case& c : cases) {
      const double plain = RunTimed({"/bin/bash", "-c", c.script}, c.cwd, err);
      if (plain < 0) {
        std::fprintf(stderr, "%s failed: %s\n", c.name, ReadText(err).c_str());
        return 1;
      }
      c.plain.push_back(plain);
      for (const std::string& mechanism : mechanisms) {
        const double governed = RunTimed({GOV_GOVRUN, "--session", "--session-mechanism", mechanism, "--timings",
                                          "--config", dir + "/config.toml", "--", "/bin/bash", "-c", c.script},
                                         c.cwd, err);
        if (governed < 0) {
          std::fprintf(stderr, "%s (%s) failed: %s\n", c.name, mechanism.c_str(), ReadText(err).c_str());
          return 1;
        }
        Measured& measured = c.by_mechanism[mechanism];
        measured.governed.push_back(governed);
        for (const auto& [field, value] : SessionTimings(ReadText(err))) {
          measured.costs[field] += value / rounds;
        }
      }
    }
  }
  std::printf("bench_session: governed session vs the same commands ungoverned (%d interleaved rounds, medians)\n",
              rounds);
  for (const Case& c : cases) {
    const double plain = Median(c.plain);
    std::printf("%s: ungoverned %.0f ms (goal <= %.2fx)\n", c.name, plain, c.goal);
    for (const auto& [mechanism, measured] : c.by_mechanism) {
      const double governed = Median(measured.governed);
      const std::map<std::string, double>& costs = measured.costs;
      std::printf("  %-6s governed %.0f ms: %.2fx\n", mechanism.c_str(), governed, governed / plain);
      const double runs = costs.count("runs") != 0 ? costs.at("runs") : 0;
      if (runs > 0) {
        const double per_exec_ms = (governed - plain) / runs;
        auto us = [&](const char* field) { return costs.count(field) != 0 ? costs.at(field) / runs / 1000 : 0; };
        std::printf(
            "         %.0f execs decided and recorded; cost per exec %.0f us: read %.0f, resolve+hash %.0f, decide "
            "%.1f, record (append) %.0f, fsync waited for %.0f, post-exec check+start %.0f, the rest (the "
            "mechanism's stops, the kernel's exec, scheduling) %.0f\n",
            runs, per_exec_ms * 1000, us("read_ns"), us("resolve_hash_ns"), us("decide_ns"), us("record_ns"),
            us("durable_wait_ns"), us("check_start_ns"),
            per_exec_ms * 1000 - us("read_ns") - us("resolve_hash_ns") - us("decide_ns") - us("record_ns") -
                us("durable_wait_ns") - us("check_start_ns"));
      }
    }
  }
  std::error_code ignored;
  fs::remove_all(dir, ignored);
  return 0;
}
