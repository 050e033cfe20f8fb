// Benchmark: decisions of compiled policies (issue 3 §7). For generated
// policies of 10, 200, 2,000 and 10,000 rules prints: compile time (govc
// build's back end: LLVM ORC + link), bundle size, bundle load+verify time as
// govrun loads (SHA-256 + Ed25519, manifest, IR view, code mapping; the whole
// IR decoded only on demand), decision time median and
// p99 for native code and the IR interpreter, and heap allocations per
// decision; then the Cedar yardstick measured on this machine; then each
// example policy (examples/*.gov) on its own test cases, as `govc bench`.
//
// Decision times are per decision, averaged over batches of kBatch decisions
// over a mix of requests (a clock read costs as much as a decision); median
// and p99 are over the batches. The shared VM this runs on changes speed by
// up to 1.5x for seconds at a time (other guests), so decisions and govrun's
// load are measured in kRounds rounds that visit every policy size in turn,
// and each figure is the best round's: sizes are compared under the same
// conditions. Usage: bench_decide [MAX_RULES] [OPT_LEVEL].
#include <fcntl.h>
#include <fmt/format.h>
#include <malloc.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "bench/generated_policy.h"
#include "compiler/codegen/codegen.h"
#include "compiler/driver/bench.h"
#include "compiler/driver/build.h"
#include "compiler/driver/driver.h"
#include "runtime/abi/helpers.h"
#include "runtime/bundle/loader.h"
#include "runtime/crypto/ed25519.h"
#include "runtime/crypto/fast_sha256.h"
#include "runtime/interp/interp.h"
#include "runtime/ir/serialize.h"
#include "runtime/request/request.h"

// Counts heap allocations (malloc and everything built on it) while enabled.
namespace {
std::atomic<bool> g_counting{false};
std::atomic<std::uint64_t> g_allocations{0};
}  // namespace

extern "C" void* __libc_malloc(std::size_t size);  // NOLINT(bugprone-reserved-identifier)
extern "C" void* malloc(std::size_t size) {        // NOLINT(readability-inconsistent-declaration-parameter-name)
  if (g_counting.load(std::memory_order_relaxed)) g_allocations.fetch_add(1, std::memory_order_relaxed);
  return __libc_malloc(size);
}

namespace {

using Clock = std::chrono::steady_clock;
constexpr int kBatch = 256;
// Rounds over all policy sizes (see the file comment).
constexpr int kRounds = 5;

double Micros(Clock::time_point from, Clock::time_point to) {
  return std::chrono::duration<double, std::micro>(to - from).count();
}

std::string GeneratePolicy(int rules) {
  return gov::bench::GeneratePolicy(rules, gov::bench::FourthShape::kProgramName);
}

// Requests that hit rules of every shape, and misses.
std::vector<gov::request::Request> MakeRequests(int rules, int count) {
  std::vector<gov::request::Request> requests;
  std::uint64_t state = 0x9e3779b97f4a7c15ull;
  auto next = [&] {
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return state;
  };
  for (int k = 0; k < count; ++k) {
    gov::request::Request r;
    int i = static_cast<int>(next() % static_cast<std::uint64_t>(rules));
    r.cwd = next() % 2 == 0 ? "/work/repo" : "/tmp";
    switch (k % 5) {
      case 0:
        r.program_path = fmt::format("/usr/bin/tool{}", i - i % 4);
        r.args = {next() % 2 == 0 ? "status" : "commit"};
        break;
      case 1:
        r.program_path = fmt::format("/bin/rm{}", i - i % 4 + 1);
        r.args = {"-rf", "build", next() % 2 == 0 ? "/etc" : "out"};
        break;
      case 2:
        r.program_path = fmt::format("/usr/bin/net{}", i - i % 4 + 2);
        r.args = {"push", "origin"};
        break;
      case 3:
        r.program_path = fmt::format("/usr/local/bin/t{}", i - i % 4 + 3);
        r.args = {"all"};
        break;
      default:
        r.program_path = "/bin/ls";
        r.args = {"-l"};
        break;
    }
    requests.push_back(std::move(r));
  }
  return requests;
}

// Wall time of one run of `argv` (stdin, stdout, stderr on /dev/null) in ms,
// or a negative value when it could not run or failed.
double WallMs(const std::vector<std::string>& argv) {
  std::vector<char*> args;
  for (const std::string& arg : argv) args.push_back(const_cast<char*>(arg.c_str()));
  args.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  for (int fd : {0, 1, 2})
    posix_spawn_file_actions_addopen(&actions, fd, "/dev/null", fd == 0 ? O_RDONLY : O_WRONLY, 0);
  auto start = Clock::now();
  pid_t pid = 0;
  int spawned = posix_spawn(&pid, args[0], &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (spawned != 0) return -1;
  int status = 0;
  if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0) return -1;
  return Micros(start, Clock::now()) / 1000;
}

// Median wall time of `runs` runs of `argv` (ms), negative on failure.
double MedianWallMs(const std::vector<std::string>& argv, int runs) {
  std::vector<double> times;
  for (int k = 0; k < runs; ++k) {
    double ms = WallMs(argv);
    if (ms < 0) return ms;
    times.push_back(ms);
  }
  std::sort(times.begin(), times.end());
  return times[times.size() / 2];
}

// Whole-process `govc build` of the generated 1,000-rule policy and `govc
// --version` (start-up alone), with the govc built next to this benchmark.
void PrintGovcProcessTimes(const std::string& dir) {
  std::error_code error;
  std::filesystem::path self = std::filesystem::read_symlink("/proc/self/exe", error);
  std::string govc = (self.parent_path().parent_path() / "cli" / "govc").string();
  if (error || access(govc.c_str(), X_OK) != 0) {
    fmt::print("\ngovc process times: {} not found, not measured\n", govc);
    return;
  }
  std::string policy = dir + "/generated1000_process.gov";
  if (FILE* f = std::fopen(policy.c_str(), "w")) {
    std::string text = GeneratePolicy(1000);
    std::fwrite(text.data(), 1, text.size(), f);
    std::fclose(f);
  }
  std::string key = dir + "/bench_key";
  if (WallMs({govc, "keygen", key}) < 0) {
    fmt::print("\ngovc process times: govc keygen failed, not measured\n");
    return;
  }
  constexpr int kRuns = 11;
  double version = MedianWallMs({govc, "--version"}, kRuns);
  double check = MedianWallMs({govc, "check", policy}, kRuns);
  double build = MedianWallMs({govc, "build", policy, "--key", key + ".key", "-o", dir + "/process.govb"}, kRuns);
  double interp_only = MedianWallMs(
      {govc, "build", policy, "--key", key + ".key", "-o", dir + "/process_ir.govb", "--no-native"}, kRuns);
  fmt::print("\nwhole govc processes, 1,000 generated rules, median wall ms of {} runs (target: build <= 150 ms)\n",
             kRuns);
  fmt::print("{:>12} {:>12} {:>12} {:>20}\n", "--version", "check", "build", "build --no-native");
  fmt::print("{:>12.1f} {:>12.1f} {:>12.1f} {:>20.1f}\n", version, check, build, interp_only);
}

struct Timing {
  double median_ns = 0;
  double p99_ns = 0;
  double allocations = 0;  // per decision
};

template <typename Decide>
Timing TimeDecisions(const std::vector<std::unique_ptr<gov::request::RequestView>>& views, Decide&& decide) {
  gov_decision decision{};
  for (const auto& view : views) decide(view->get(), decision);  // warm up
  std::vector<double> batches;
  std::size_t cursor = 0;
  std::uint64_t decisions = 0;
  g_allocations = 0;
  g_counting = true;
  auto deadline = Clock::now() + std::chrono::milliseconds(100);
  while (batches.size() < 200 || Clock::now() < deadline) {
    auto start = Clock::now();
    for (int k = 0; k < kBatch; ++k) {
      decide(views[cursor]->get(), decision);
      cursor = cursor + 1 == views.size() ? 0 : cursor + 1;
    }
    auto stop = Clock::now();
    batches.push_back(std::chrono::duration<double, std::nano>(stop - start).count() / kBatch);
    decisions += kBatch;
    if (batches.size() >= 20000) break;
  }
  g_counting = false;
  std::sort(batches.begin(), batches.end());
  Timing timing;
  timing.median_ns = batches[batches.size() / 2];
  timing.p99_ns = batches[batches.size() * 99 / 100];
  timing.allocations = static_cast<double>(g_allocations.load()) / static_cast<double>(decisions);
  return timing;
}

// One policy size: what was measured once, and the policy and requests the
// rounds measure again.
struct Subject {
  int rules = 0;
  double compile_ms = 0;
  double bundle_kib = 0;
  std::string bundle;
  std::unique_ptr<gov::bundle::LoadedPolicy> loaded;
  std::vector<gov::request::Request> requests;
  std::vector<std::unique_ptr<gov::request::RequestView>> views;
  // Best over the rounds.
  double load_us = 1e18;
  Timing native{1e18, 0, 0};
  Timing interp{1e18, 0, 0};
  // The phases line without its load columns: before and after them.
  std::string phases_head;
  std::string phases_tail;
  double verify_us = 0;
  double view_us = 0;
};

// Best of `loads` govrun-style loads of `subject`'s bundle, keeping the last
// loaded policy; false (with a message) when a load fails.
bool MeasureLoad(Subject& subject, const std::vector<gov::crypto::PublicKey>& trusted, int loads) {
  gov::bundle::LoadOptions govrun_load;
  govrun_load.decode_ir = false;
  for (int k = 0; k < loads; ++k) {
    // (Unloaded first and outside the timing: unmapping code costs tens of
    // µs in this VM.)
    subject.loaded.reset();
    auto t0 = Clock::now();
    auto policy = gov::bundle::LoadBundle(subject.bundle, trusted, govrun_load);
    double us = Micros(t0, Clock::now());
    if (!policy.ok()) {
      fmt::print(stderr, "load failed: {}\n", policy.error().message);
      return false;
    }
    subject.load_us = std::min(subject.load_us, us);
    subject.loaded = std::make_unique<gov::bundle::LoadedPolicy>(std::move(policy).value());
  }
  return true;
}

// The verification and IR-view parts of a load (best of a few), keeping the
// best, so that map+rest (load - verify - view) compares figures of the same
// conditions.
void MeasureLoadPhases(Subject& subject, const std::vector<gov::crypto::PublicKey>& trusted) {
  auto verified = gov::bundle::VerifyBundle(subject.bundle, trusted);
  if (!verified.ok()) return;
  for (int k = 0; k < 5; ++k) {
    auto t0 = Clock::now();
    (void)gov::bundle::VerifyBundle(subject.bundle, trusted);
    auto t1 = Clock::now();
    (void)gov::ir::PolicyView::Open(verified.value().ir);
    auto t2 = Clock::now();
    subject.verify_us = std::min(subject.verify_us, Micros(t0, t1));
    subject.view_us = std::min(subject.view_us, Micros(t1, t2));
  }
}

// One round of decision timings for `subject`, keeping the best medians (and
// the p99 of that round) and the most allocations seen.
void MeasureDecisions(Subject& subject) {
  const gov::bundle::LoadedPolicy& loaded = *subject.loaded;
  Timing native = TimeDecisions(subject.views, [&](const gov_request& q, gov_decision& d) { loaded.Decide(q, d); });
  const gov::interp::PreparedPolicy& prepared = loaded.prepared();
  Timing interp =
      TimeDecisions(subject.views, [&](const gov_request& q, gov_decision& d) { gov::interp::Decide(prepared, q, d); });
  double native_allocations = std::max(subject.native.allocations, native.allocations);
  double interp_allocations = std::max(subject.interp.allocations, interp.allocations);
  if (native.median_ns < subject.native.median_ns) subject.native = native;
  if (interp.median_ns < subject.interp.median_ns) subject.interp = interp;
  subject.native.allocations = native_allocations;
  subject.interp.allocations = interp_allocations;
}

// The shipped example policies, measured as `govc bench` measures a user's
// policy (driver/bench.h): each on its own test cases (issue 17 §6).
int ExamplePolicies() {
  fmt::print("\nthe example policies (examples/*.gov), each deciding its own test cases, as `govc bench` measures\n");
  fmt::print("{:<16} {:>6} {:>10} {:>11} {:>12} {:>12} {:>12}\n", "policy", "rules", "build ms", "bundle KiB",
             "load µs", "native ns", "interp ns");
  std::vector<std::filesystem::path> examples;
  for (const auto& entry : std::filesystem::directory_iterator(std::string(GOV_SOURCE_DIR) + "/examples")) {
    if (entry.path().extension() == ".gov") examples.push_back(entry.path());
  }
  std::sort(examples.begin(), examples.end());
  for (const std::filesystem::path& example : examples) {
    const auto started = std::chrono::steady_clock::now();
    auto lowered = gov::driver::LowerPolicy(example.string());
    const double lower_ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started).count();
    if (!lowered.ok() || !lowered.value().ok()) {
      fmt::print("{:<16} does not compile\n", example.stem().string());
      return 1;
    }
    auto input = gov::driver::BenchInputFromSource(lowered.value(), lower_ms);
    if (!input.ok()) {
      fmt::print("{:<16} {}\n", example.stem().string(), input.error().message);
      return 1;
    }
    gov::driver::BenchOptions options;
    options.per_rule = true;
    auto report = gov::driver::RunBench(input.value(), options);
    if (!report.ok()) {
      fmt::print("{:<16} {}\n", example.stem().string(), report.error().message);
      continue;
    }
    const gov::driver::BenchReport& r = report.value();
    fmt::print("{:<16} {:>6} {:>10.0f} {:>11.1f} {:>12.1f} {:>12.1f} {:>12.1f}\n", example.stem().string(), r.rules,
               r.check_lower_ms.value_or(0) + r.native_code_ms.value_or(0), r.bundle_bytes / 1024.0,
               r.load_verify_us.median, r.native_ns.median, r.interp_ns.median);
    std::string costliest;
    for (std::size_t i = 0; i < std::min<std::size_t>(3, r.per_rule.size()); ++i) {
      costliest += fmt::format("{}{} {:.0f} ns", i == 0 ? "" : ", ", r.per_rule[i].name, r.per_rule[i].native_ns);
    }
    if (!costliest.empty()) fmt::print("{:<16} costliest rules (govc bench --per-rule): {}\n", "", costliest);
  }
  fmt::print(
      "targets (issue 17 §6, each example): build <= 250 ms, bundle <= 80 KiB, load <= 150 µs, decision <= 150 ns\n");
  return 0;
}

int Run(int max_rules, int opt_level) {
  auto key = gov::crypto::PrivateKey::Generate();
  if (!key.ok()) {
    fmt::print(stderr, "{}\n", key.error().message);
    return 1;
  }
  std::vector<gov::crypto::PublicKey> trusted{key.value().public_key()};
  std::string dir = "/tmp/gov_bench_decide_" + std::to_string(getpid());
  std::string mkdir = "mkdir -p " + dir;
  if (std::system(mkdir.c_str()) != 0) return 1;

  fmt::print("decisions of generated policies (native code at {}; govrun's engine) and the IR interpreter\n",
             opt_level < 0 ? std::string("govc build's default -O") : fmt::format("-O{}", opt_level));
  fmt::print("{:>6} {:>10} {:>10} {:>12} {:>11} {:>9} {:>11} {:>9} {:>10} {:>11}\n", "rules", "compile ms",
             "bundle KiB", "load+verify", "native med", "p99", "interp med", "p99", "allocs", "engine");
  std::vector<std::string> phases;
  std::vector<std::unique_ptr<Subject>> subjects;
  double native_at_200 = 0;
  double native_at_max = 0;
  for (int rules : {10, 200, 1000, 2000, 10000}) {
    if (rules > max_rules) break;
    std::string path = fmt::format("{}/generated{}.gov", dir, rules);
    if (FILE* f = std::fopen(path.c_str(), "w")) {
      std::string text = GeneratePolicy(rules);
      std::fwrite(text.data(), 1, text.size(), f);
      std::fclose(f);
    }
    std::unique_ptr<gov::driver::LoweredPolicy> lowered;
    gov::driver::RunWithLargeStack([&] {
      auto result = gov::driver::LowerPolicy(path);
      if (result.ok()) lowered = std::make_unique<gov::driver::LoweredPolicy>(std::move(result).value());
    });
    if (!lowered || !lowered->ok()) {
      fmt::print(stderr, "the generated policy does not compile\n");
      return 1;
    }
    gov::driver::BuildOptions options;
    options.codegen.opt_level = opt_level;
    auto start = Clock::now();
    auto bundle = gov::driver::BuildBundle(*lowered, key.value(), options);
    double compile_ms = Micros(start, Clock::now()) / 1000;
    if (!bundle.ok()) {
      fmt::print(stderr, "build failed: {}\n", bundle.error().message);
      return 1;
    }
    Subject& subject = *subjects.emplace_back(std::make_unique<Subject>());
    subject.rules = rules;
    subject.compile_ms = compile_ms;
    subject.bundle = bundle.value();
    subject.bundle_kib = static_cast<double>(bundle.value().size()) / 1024;
    // Load + verify as govrun loads (decode_ir off: native code decides, the
    // IR's view serves rule records): best of several now and in each round.
    if (!MeasureLoad(subject, trusted, 15)) return 1;
    // Where load time goes (best of several each).
    auto best_of = [](auto&& step) {
      double best = 1e18;
      for (int k = 0; k < 15; ++k) {
        auto t0 = Clock::now();
        step();
        best = std::min(best, Micros(t0, Clock::now()));
      }
      return best;
    };
    const std::string& file = bundle.value();
    auto verified = gov::bundle::VerifyBundle(file, trusted);
    gov::crypto::Sha256Digest signed_digest{};
    double hash_us = best_of([&] {
      (void)gov::crypto::FastSha256WithPrefix(file, file.size() - gov::bundle::kSignaturePayloadSize, signed_digest);
    });
    const std::string message = gov::bundle::SignedMessage(signed_digest);
    gov::crypto::Signature signature{};
    std::copy_n(reinterpret_cast<const std::uint8_t*>(file.data() + file.size() - signature.size()), signature.size(),
                signature.begin());
    double ed25519_us = best_of([&] { (void)trusted[0].Verify(message, signature); });
    double verify_us = best_of([&] { (void)gov::bundle::VerifyBundle(file, trusted); });
    double view_us = best_of([&] { (void)gov::ir::PolicyView::Open(verified.value().ir); });
    // (Each loaded policy is unloaded after its time is taken: unmapping
    // code costs tens of µs in this VM.)
    double eager_us = 1e18;
    for (int k = 0; k < 15; ++k) {
      auto t0 = Clock::now();
      auto eager = gov::bundle::LoadBundle(file, trusted);
      eager_us = std::min(eager_us, Micros(t0, Clock::now()));
    }
    double decode_us = best_of([&] { (void)gov::ir::Deserialize(verified.value().ir); });
    auto decoded = gov::ir::Deserialize(verified.value().ir);
    double validate_us = best_of([&] { (void)gov::ir::Validate(decoded.value()); });
    double prepare_us = best_of([&] { (void)gov::interp::PreparedPolicy::Create(decoded.value()); });
    // Page faults of one whole load (fewest of several).
    gov::bundle::LoadOptions govrun_load;
    govrun_load.decode_ir = false;
    long faults = 1L << 40;
    for (int k = 0; k < 15; ++k) {
      rusage before{};
      rusage after{};
      getrusage(RUSAGE_SELF, &before);
      auto policy = gov::bundle::LoadBundle(file, trusted, govrun_load);
      getrusage(RUSAGE_SELF, &after);
      faults = std::min(faults, after.ru_minflt - before.ru_minflt + after.ru_majflt - before.ru_majflt);
    }
    const double code_kib = verified.value().image ? static_cast<double>(verified.value().native->size()) / 1024 : 0.0;
    subject.verify_us = verify_us;
    subject.view_us = view_us;
    subject.phases_head = fmt::format("{:>6} {:>8.1f} {:>8.1f} {:>8.1f}", rules, code_kib, hash_us, ed25519_us);
    subject.phases_tail = fmt::format("{:>7} | {:>8.1f} {:>8.1f} {:>10.1f} {:>10.1f} {:>10.1f}", faults, decode_us,
                                      validate_us, eager_us, prepare_us, static_cast<double>(file.size()) / 1024);
    subject.requests = MakeRequests(rules, 1024);
    for (const auto& r : subject.requests) subject.views.push_back(std::make_unique<gov::request::RequestView>(r));
  }
  // The rounds: every size in turn, kRounds times.
  for (int round = 0; round < kRounds; ++round) {
    for (auto& subject : subjects) {
      if (!MeasureLoad(*subject, trusted, 5)) return 1;
      MeasureLoadPhases(*subject, trusted);
      MeasureDecisions(*subject);
    }
  }
  for (const auto& subject : subjects) {
    fmt::print(
        "{:>6} {:>10.1f} {:>10.1f} {:>9.1f} µs {:>8.1f} ns {:>6.1f} ns {:>8.1f} ns {:>6.1f} ns {:>10.2f} {:>11}\n",
        subject->rules, subject->compile_ms, subject->bundle_kib, subject->load_us, subject->native.median_ns,
        subject->native.p99_ns, subject->interp.median_ns, subject->interp.p99_ns, subject->native.allocations,
        subject->loaded->native() ? "native" : "interpreter");
    phases.push_back(fmt::format("{} {:>8.1f} {:>8.1f} {:>9.1f} {:>10.1f} {}", subject->phases_head, subject->verify_us,
                                 subject->view_us, subject->load_us - subject->verify_us - subject->view_us,
                                 subject->load_us, subject->phases_tail));
    if (subject->rules == 200) native_at_200 = subject->native.median_ns;
    native_at_max = subject->native.median_ns;
  }
  if (max_rules >= 1000) PrintGovcProcessTimes(dir);
  std::string rm = "rm -rf " + dir;
  if (std::system(rm.c_str()) != 0) return 1;
  fmt::print(
      "\nload+verify phases, µs (best of all loads; verify, IR view and govrun load also over the rounds). govrun's "
      "load: verify = framing + SHA-256 (every byte) + "
      "Ed25519 + manifest +\ncode image checks; IR view = the IR's framing, header, context and rule index "
      "(what native decisions need);\nmap+rest = govrun load - verify - IR view (reservation, sealed memfd, "
      "mapping, CPU check). Deferred until the\ninterpreter or an explanation needs them (right of |): the "
      "whole IR decoded (incl. validate, shown alone),\na load that decodes it eagerly (govc eval, govverify), "
      "and the interpreter's form (prepare)\n");
  fmt::print("{:>6} {:>8} {:>8} {:>8} {:>8} {:>8} {:>9} {:>10} {:>7} | {:>8} {:>8} {:>10} {:>10} {:>10}\n", "rules",
             "code KiB", "SHA-256", "Ed25519", "verify", "IR view", "map+rest", "govrun load", "faults", "IR dec",
             "validate", "eager load", "(prepare)", "bundle KiB");
  for (const std::string& line : phases) fmt::print("{}\n", line);
  fmt::print(
      "\ntargets: <= 100 ns median at 200 rules; <= 1.5x growth 200 -> 10,000 rules; 0 allocations;\n"
      "         govc build of 1,000 rules <= 150 ms; load+verify <= 100 µs\n");
  if (native_at_200 > 0 && max_rules >= 10000) {
    fmt::print("growth of the native median from 200 to 10,000 rules: {:.2f}x\n", native_at_max / native_at_200);
  }
  fmt::print(
      "yardstick: Cedar (cedar-wasm 4.13, node 20) on this machine: 458 µs per decision at 200 policies,\n"
      "           4.7 ms at 2,000\n");
  return ExamplePolicies();
}

}  // namespace

int main(int argc, char** argv) {
  int max_rules = argc > 1 ? std::atoi(argv[1]) : 10000;
  int opt_level = argc > 2 ? std::atoi(argv[2]) : gov::codegen::kAutoOptLevel;
  return Run(max_rules, opt_level);
}
