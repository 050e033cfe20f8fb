// Shared helpers of the lineage tests: temporary directories, keys, sample
// records, file I/O and running programs.
#pragma once

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "runtime/crypto/ed25519.h"
#include "runtime/crypto/sha256.h"
#include "runtime/lineage/format.h"
#include "runtime/lineage/log_io.h"
#include "runtime/lineage/recorder.h"

namespace gov::lineage {

// A fresh directory under $TMPDIR, removed with its contents (kept when
// GOV_LINEAGE_KEEP is set).
struct TempDir {
  std::string path;
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "gov-lineage-XXXXXX").string();
    REQUIRE(mkdtemp(pattern.data()) != nullptr);
    path = pattern;
  }
  ~TempDir() {
    if (std::getenv("GOV_LINEAGE_KEEP") != nullptr) return;  // for debugging: keep the files
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
};

inline crypto::PrivateKey TestKey(std::uint8_t fill) {
  std::array<std::uint8_t, crypto::kEd25519SeedSize> seed{};
  seed.fill(fill);
  auto key = crypto::PrivateKey::FromSeed(seed);
  REQUIRE(key.ok());
  return key.value();
}

inline std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline void WriteFile(const std::string& path, const std::string& data) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << data;
}

// Lines of `text` without their LF (a final fragment is kept).
inline std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> out;
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t lf = text.find('\n', pos);
    if (lf == std::string::npos) {
      out.push_back(text.substr(pos));
      break;
    }
    out.push_back(text.substr(pos, lf - pos));
    pos = lf + 1;
  }
  return out;
}

inline Authorization SampleAuthorization(const std::string& run_id, const std::string& parent,
                                         const std::string& verdict = "allow") {
  Authorization auth;
  auth.run_id = run_id;
  auth.parent_run_id = parent;
  auth.request.program_path = "/usr/bin/git";
  auth.request.program_sha256 = "sha256:" + std::string(64, 'a');
  auth.request.args = {"status"};
  auth.request.env = {{"HOME", "/home/agent"}, {"API_TOKEN", "s3cr3t-value-never-in-clear"}};
  if (!parent.empty()) {
    auth.request.has_parent = true;
    auth.request.parent_run_id = parent;
    auth.request.parent_depth = 0;
    auth.request.parent_program = "/bin/sh";
  }
  auth.policy_digest = "sha256:" + std::string(64, 'b');
  auth.policy_name = "test";
  auth.policy_version = "1";
  auth.engine = "IR interpreter";
  auth.verdict = verdict;
  auth.execute = verdict != "deny";
  auth.rules.push_back(RecordedRule{0, "git", verdict, "read-only git"});
  return auth;
}

// Appends `runs` sample runs (authorization, start, end) to the log in
// `dir`, each followed by a checkpoint as a govrun invocation does.
inline void AppendSampleRuns(const std::string& dir, const crypto::PrivateKey& key, int runs) {
  auto opened = OpenLog(dir, key);
  REQUIRE(opened.ok());
  for (int i = 0; i < runs; ++i) {
    const std::string run = NewRunId();
    REQUIRE(opened.value()->RecordAuthorization(SampleAuthorization(run, "")).ok());
    REQUIRE(opened.value()->RecordStart(Start{run, 1, 1, {}, 1, 1, "boot", 0, "/usr/bin/git"}).ok());
    REQUIRE(opened.value()->RecordEnd(End{run, 2, 1, true, 0}).ok());
    REQUIRE(opened.value()->Checkpoint().ok());
  }
}

}  // namespace gov::lineage

#include "runtime/bundle/bundle.h"
#include "runtime/bundle/loader.h"
#include "runtime/bundle/manifest.h"
#include "runtime/interp/interp.h"
#include "runtime/ir/serialize.h"
#include "runtime/lineage/verify.h"
#include "runtime/request/request.h"
#include "tests/support/ir_node.h"

namespace gov::lineage {

// allow git when program.name == "git";
// allow make_ci when program.name == "make" and env["MODE"] == "ci";
// anything else: deny (no rule allows).
inline ir::Policy TestPolicy(const std::string& version = "1") {
  ir::Policy policy;
  policy.name = "lineage-test";
  policy.version = version;
  policy.strings = {"git", "MODE", "ci", "make"};
  auto node = [](auto... args) { return gov::test_support::Node(args...); };
  using ir::Kind;
  using ir::Op;
  policy.nodes = {
      node(Op::kField, Kind::kStr, ir::kNoNode, ir::kNoNode, static_cast<std::int64_t>(ir::Field::kProgramName)),  // 0
      node(Op::kConstStr, Kind::kStr, 0),                                                                     // 1 "git"
      node(Op::kEq, Kind::kBool, 0, 1),                                                                       // 2
      node(Op::kField, Kind::kStrMap, ir::kNoNode, ir::kNoNode, static_cast<std::int64_t>(ir::Field::kEnv)),  // 3
      node(Op::kConstStr, Kind::kStr, 1),                                                                     // 4 "MODE"
      node(Op::kMapGet, Kind::kStr, 3, 4, 0, true),                                                           // 5
      node(Op::kConstStr, Kind::kStr, 2),                                                                     // 6 "ci"
      node(Op::kConstStr, Kind::kStr, 3),                                                                     // 7 "make"
      node(Op::kEq, Kind::kBool, 0, 7),                                                                       // 8
      node(Op::kEq, Kind::kBool, 5, 6),                                                                       // 9 (optional vs plain)
      node(Op::kAnd, Kind::kBool, 0, 2),                                                                      // 10
  };
  policy.operands = {8, 9};
  ir::Rule git;
  git.name = "git";
  git.verdict = ir::Verdict::kAllow;
  git.reason = "read-only git";
  git.condition = 2;
  git.obligations.timeout_ms = 5000;
  ir::Rule make;
  make.name = "make_ci";
  make.verdict = ir::Verdict::kAllow;
  make.condition = 10;
  make.obligations.has_env = true;
  make.obligations.env = {"MODE", "PATH"};
  policy.rules = {git, make};
  return policy;
}

// Writes `policy` as a signed .govb (IR only) at `path`.
inline void WritePolicyBundle(const std::string& path, const crypto::PrivateKey& key, const ir::Policy& policy) {
  INFO(ir::Validate(policy));
  REQUIRE(ir::Validate(policy).empty());
  bundle::BundleContents contents;
  contents.manifest.policy_name = policy.name;
  contents.manifest.policy_version = policy.version;
  contents.manifest.sources = {{"policy/test.gov", "sha256:" + std::string(64, 'c')}};
  contents.manifest.compiler_version = "lineage test";
  contents.manifest.created = "2026-01-02T03:04:05Z";
  contents.manifest.abi_version = GOV_ABI_VERSION;
  contents.ir = ir::Serialize(policy);
  auto bytes = bundle::WriteBundle(contents, key);
  INFO((bytes.ok() ? std::string() : bytes.error().message));
  REQUIRE(bytes.ok());
  WriteFile(path, bytes.value());
}

// Writes TestPolicy as a signed .govb at `path`.
inline void WriteTestBundle(const std::string& path, const crypto::PrivateKey& key, const std::string& version = "1") {
  WritePolicyBundle(path, key, TestPolicy(version));
}

inline bundle::LoadedPolicy LoadTestBundle(const std::string& path, const crypto::PrivateKey& key) {
  bundle::LoadOptions options;
  options.allow_native = false;
  auto loaded = bundle::LoadBundleFile(path, {key.public_key()}, options);
  INFO((loaded.ok() ? std::string() : loaded.error().message));
  REQUIRE(loaded.ok());
  return std::move(loaded).value();
}

// What govrun does for one command, minus the exec: decide, record the
// authorization, then start/end when allowed, then a checkpoint.
inline std::string GovernedRun(Recorder& recorder, const bundle::LoadedPolicy& policy, request::Request request,
                               const std::string& parent = "", bool checkpoint = true) {
  Authorization auth;
  auth.run_id = NewRunId();
  auth.parent_run_id = parent;
  if (!parent.empty()) {
    request.has_parent = true;
    request.parent_run_id = parent;
    request.parent_depth = 0;
    request.parent_program = "/bin/sh";
  }
  request::RequestView view(request);
  gov_decision decision{};
  policy.Decide(view.get(), decision);
  auth.request = request;
  auth.context_fields = policy.policy().context;
  auth.policy_digest = policy.digest();
  auth.policy_name = policy.policy().name;
  auth.policy_version = policy.policy().version;
  auth.engine = policy.engine();
  FillDecision(policy.policy(), decision, auth);
  auth.execute = auth.verdict == "allow";
  auto recorded = recorder.RecordAuthorization(auth);
  INFO((recorded.ok() ? std::string() : recorded.error().message));
  REQUIRE(recorded.ok());
  if (auth.execute) {
    REQUIRE(recorder.RecordStart(Start{auth.run_id, 4242, 1767268800000000000, {{"timeout", "RLIMIT_CPU", "5"}}}).ok());
    End end;
    end.run_id = auth.run_id;
    end.exited = true;
    end.duration_ns = 1000;
    REQUIRE(recorder.RecordEnd(end).ok());
  }
  if (checkpoint) REQUIRE(recorder.Checkpoint().ok());
  return auth.run_id;
}

inline request::Request MakeRequest(const std::string& program, std::vector<std::pair<std::string, std::string>> env = {}) {
  request::Request request;
  request.program_path = "/usr/bin/" + program;
  request.program_sha256 = "sha256:" + std::string(64, 'e');
  request.args = {"--version"};
  request.env = std::move(env);
  return request;
}

inline VerifyOptions Trusting(const crypto::PrivateKey& key) {
  VerifyOptions options;
  options.trusted = {key.public_key()};
  return options;
}

// A lineage_dir with a small governed session:
//   root  git (allow)  ─┬─ child make MODE=ci (allow)
//                       └─ child curl (deny)
//   other git (allow), a separate root run.
struct Session {
  TempDir dir;
  crypto::PrivateKey key = TestKey(7);
  std::string policy_path;
  std::string root, child_make, child_curl, other;
  std::string log_path;
  std::string bundle_path;

  Session() {
    policy_path = dir.path + "/policy.govb";
    WriteTestBundle(policy_path, key);
    bundle::LoadedPolicy policy = LoadTestBundle(policy_path, key);
    auto opened = OpenLog(dir.path, key);
    REQUIRE(opened.ok());
    Recorder& recorder = *opened.value();
    root = GovernedRun(recorder, policy, MakeRequest("git", {{"API_TOKEN", "s3cr3t-value-never-in-clear"}}));
    child_make = GovernedRun(recorder, policy,
                             MakeRequest("make", {{"MODE", "ci"}, {"API_TOKEN", "s3cr3t-value-never-in-clear"}}), root);
    child_curl = GovernedRun(recorder, policy, MakeRequest("curl"), root);
    other = GovernedRun(recorder, policy, MakeRequest("git"));
    log_path = dir.path + "/lineage.log";
    bundle_path = dir.path + "/root.bundle";
    auto exported = recorder.ExportBundle(root, bundle_path);
    INFO((exported.ok() ? std::string() : exported.error().message));
    REQUIRE(exported.ok());
  }

  VerifyOptions Options() const { return Trusting(key); }
};

inline std::string Join(const std::vector<std::string>& lines) {
  std::string out;
  for (const auto& line : lines) out += line + "\n";
  return out;
}

// Recomputes body digests and prev links from line `from` on (lines without
// LF; a bundle's first line is its header and is skipped), re-signing
// checkpoints with `key` when given.
inline void Rechain(std::vector<std::string>& lines, std::size_t first_record, const crypto::PrivateKey* key) {
  std::string prev;
  for (std::size_t i = first_record; i < lines.size(); ++i) {
    SplitLine split = Split(lines[i]);
    auto parsed = ParseHead(split.head);
    REQUIRE(parsed.ok());
    Head head = parsed.value();
    std::string log(head.log), run(head.run), parent(head.parent), policy(head.policy), verdict(head.verdict);
    std::string old_prev(head.prev);
    std::string body(split.body);
    head.log = log;
    head.run = run;
    head.parent = parent;
    head.policy = policy;
    head.verdict = verdict;
    head.prev = i == first_record ? old_prev : prev;
    std::string prev_copy(head.prev);
    head.prev = prev_copy;
    if (head.type == RecordType::kCheckpoint && key != nullptr && split.has_body) {
      body = CheckpointBody(log, head.seq, prev_copy, {}, {}, *key, nullptr);
    }
    std::string digest = DigestOf(body);
    if (split.has_body) head.body = digest;
    std::string body_digest(head.body);
    head.body = body_digest;
    std::string head_text = HeadText(head);
    lines[i] = split.has_body ? head_text + "\t" + body : head_text;
    prev = DigestOf(head_text);
  }
}

struct Ran {
  int code = -1;
  std::string out;
  std::string err;
};

// Runs `argv` with stdout/stderr captured in files under `dir`; `env` entries
// (NAME=VALUE) are added to the environment.
inline Ran RunProgram(const std::vector<std::string>& argv, const std::string& dir,
                      const std::vector<std::string>& env = {}) {
  const std::string out_path = dir + "/stdout." + std::to_string(getpid()) + ".txt";
  const std::string err_path = dir + "/stderr." + std::to_string(getpid()) + ".txt";
  pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    int out = open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    int err = open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (out < 0 || err < 0) _exit(127);
    dup2(out, 1);
    dup2(err, 2);
    for (const auto& entry : env) putenv(const_cast<char*>(entry.c_str()));
    std::vector<char*> args;
    for (const auto& arg : argv) args.push_back(const_cast<char*>(arg.c_str()));
    args.push_back(nullptr);
    execvp(args[0], args.data());
    _exit(127);
  }
  int status = 0;
  REQUIRE(waitpid(pid, &status, 0) == pid);
  Ran ran;
  ran.code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  ran.out = ReadFile(out_path);
  ran.err = ReadFile(err_path);
  return ran;
}

}  // namespace gov::lineage
