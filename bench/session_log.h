// Lineage logs written straight to a file for the benchmarks (bench_verify,
// bench_viewer, bench_console), with real hashes and signatures: a writer,
// and session-shaped logs (one bash, a make under it and cc under make, one
// deny in ten, a signed checkpoint every 50 runs).
#pragma once

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "runtime/crypto/ed25519.h"
#include "runtime/lineage/format.h"
#include "runtime/lineage/log_io.h"
#include "runtime/request/request.h"

namespace gov::lineage {

// A new log file, its header record written; appends records, chaining
// each HEAD to the one before.
class LogFileWriter {
 public:
  explicit LogFileWriter(const std::string& path) : out_(std::fopen(path.c_str(), "wb")) {
    if (out_ == nullptr) {
      std::perror(path.c_str());
      std::exit(1);
    }
    Head header;
    header.type = RecordType::kHeader;
    Append(header, Canonical(nlohmann::json{{"format", kLogFormat}, {"log", log_}, {"created_unix_ns", 0}}));
  }
  ~LogFileWriter() { std::fclose(out_); }
  LogFileWriter(const LogFileWriter&) = delete;
  LogFileWriter& operator=(const LogFileWriter&) = delete;

  void Append(Head head, const std::string& body) {
    head.seq = seq_++;
    head.log = log_;
    head.prev = prev_;
    const std::string line = MakeLine(head, body);
    prev_ = DigestOf(std::string_view(line).substr(0, line.find('\t')));
    std::fwrite(line.data(), 1, line.size(), out_);
    bytes_ += line.size();
  }
  const std::string& log() const { return log_; }
  std::uint64_t seq() const { return seq_; }  // the next record's
  const std::string& prev() const { return prev_; }
  std::uint64_t bytes() const { return bytes_; }

 private:
  FILE* out_;
  std::string log_ = NewId();
  std::uint64_t seq_ = 0;
  std::string prev_ = kGenesisPrev;
  std::uint64_t bytes_ = 0;
};

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
inline void GenerateSessionLog(const std::string& path, std::uint64_t runs, const crypto::PrivateKey& key) {
  using Json = nlohmann::json;
  LogFileWriter writer(path);
  const std::string& log = writer.log();
  auto append = [&writer](const Head& head, const std::string& body) { writer.Append(head, body); };
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
    request.user_name = i % 7 == 3 ? "ci" : "agent";
    request.time_unix = 1767268800 + static_cast<std::int64_t>(i / 20);  // 20 decisions a second
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
      append(c, CheckpointBody(log, writer.seq(), writer.prev(), {}, since_checkpoint, key, nullptr));
      since_checkpoint.clear();
    }
  }
}

}  // namespace gov::lineage
