// libFuzzer target: arbitrary bytes through the runtime's text readers that
// take input govrun and govverify do not control. The first byte picks the
// reader, the rest is its input:
//   0  request::RequestFromJson (a policy with context fields); when it
//      accepts: RequestToJson reads back to an equal request and the same
//      text (the canonical round trip, for any bytes), and the interpreter
//      decides the request;
//   1  config::ParseConfig (govrun's TOML); when it accepts: every path is
//      absolute, at least one trusted key, durations in range;
//   2  lineage::VerifyBytes (log or bundle) against a fixed key, bound to a
//      fixed policy digest and replaying with the interpreter; the report's
//      counts are consistent;
//   3  the same with every checkpoint's signature checked (--all-signatures);
//   4  lineage::ParseHead; when it accepts: HeadText writes the same bytes;
//   5  lineage::OpenCheckpoint against the fixed key;
//   6  lineage::ExportBundleFromLog (the input as a log, to /dev/null);
//   7  govd's protocol (runtime/service/protocol.h): frames split with
//      TakeFrame, each payload's `record` decoded as an authorization, a
//      start and an end; what decodes re-encodes to JSON that decodes to
//      the same encoding;
//   8  the transparency-log readers: tlog::ParseNote (when it accepts,
//      FormatNote writes the same bytes back), the lineage note of a fixed
//      log opened with the fixed key, ParseCheckpoint, FindCosignature,
//      DecodeEntryBundle (when it accepts, EncodeEntryBundle writes the same
//      bytes back) and the tile path parsers (when they accept, the writers
//      give the same path).
// Any crash, sanitizer report, hang or broken property is a bug
// (std::abort).
//
// Seeds (fuzz/corpus/readers): requests, configurations, and logs and
// bundles the recorder wrote with the fixed key and digest, made by running
// the target with GOV_FUZZ_WRITE_SEEDS=DIR (see WriteSeeds).
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

#include "runtime/config/config.h"
#include "runtime/crypto/ed25519.h"
#include "runtime/interp/interp.h"
#include "runtime/ir/ir.h"
#include "runtime/lineage/format.h"
#include "runtime/lineage/log_io.h"
#include "runtime/lineage/publish.h"
#include "runtime/lineage/recorder.h"
#include "runtime/lineage/verify.h"
#include "runtime/request/request.h"
#include "runtime/service/protocol.h"
#include "runtime/tlog/checkpoint.h"
#include "runtime/tlog/cosignature.h"
#include "runtime/tlog/note.h"
#include "runtime/tlog/tile.h"
#include "tests/support/ir_node.h"

namespace {

using namespace gov;

void Check(bool property) {
  if (!property) std::abort();
}

const crypto::PrivateKey& Key() {
  static const crypto::PrivateKey key = [] {
    std::array<std::uint8_t, crypto::kEd25519SeedSize> seed{};
    seed.fill(7);
    return crypto::PrivateKey::FromSeed(seed).value();
  }();
  return key;
}

// The digest records must name to be replayed.
const std::string kPolicyDigest = "sha256:" + std::string(64, 'b');

// allow git when program.name == "git" (timeout 5s);
// allow make_ci when program.name == "make" and env["MODE"] == "ci" (env MODE, PATH);
// context: ticket: string?, dir: path?, n: int?, flag: bool?
ir::Policy FuzzPolicy() {
  ir::Policy policy;
  policy.name = "fuzz";
  policy.version = "1.0.0";
  policy.strings = {"git", "MODE", "ci", "make"};
  auto node = [](auto... args) { return gov::test_support::Node(args...); };
  using ir::Kind;
  using ir::Op;
  policy.nodes = {
      node(Op::kField, Kind::kStr, ir::kNoNode, ir::kNoNode, static_cast<std::int64_t>(ir::Field::kProgramName)),
      node(Op::kConstStr, Kind::kStr, 0),
      node(Op::kEq, Kind::kBool, 0, 1),
      node(Op::kField, Kind::kStrMap, ir::kNoNode, ir::kNoNode, static_cast<std::int64_t>(ir::Field::kEnv)),
      node(Op::kConstStr, Kind::kStr, 1),
      node(Op::kMapGet, Kind::kStr, 3, 4, 0, true),
      node(Op::kConstStr, Kind::kStr, 2),
      node(Op::kConstStr, Kind::kStr, 3),
      node(Op::kEq, Kind::kBool, 0, 7),
      node(Op::kEq, Kind::kBool, 5, 6),
      node(Op::kAnd, Kind::kBool, 0, 2),
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
  using Spelling = ir::ContextField::Spelling;
  policy.context = {{"ticket", Kind::kStr, true, Spelling::kString},
                    {"dir", Kind::kStr, true, Spelling::kPath},
                    {"n", Kind::kInt, true, Spelling::kInt},
                    {"flag", Kind::kBool, true, Spelling::kBool}};
  return policy;
}

const interp::PreparedPolicy& Prepared() {
  static const interp::PreparedPolicy* prepared = [] {
    ir::Policy policy = FuzzPolicy();
    if (!ir::Validate(policy).empty()) std::abort();
    auto created = interp::PreparedPolicy::Create(std::move(policy));
    if (!created.ok()) std::abort();
    return new interp::PreparedPolicy(std::move(created).value());
  }();
  return *prepared;
}

void FuzzRequest(std::string_view bytes) {
  const std::vector<ir::ContextField>& fields = Prepared().policy().context;
  auto parsed = request::RequestFromJson(bytes, fields);
  if (!parsed.ok()) return;
  const std::string json = request::RequestToJson(parsed.value(), fields);
  auto again = request::RequestFromJson(json, fields);
  Check(again.ok());
  Check(again.value() == parsed.value());
  Check(request::RequestToJson(again.value(), fields) == json);
  const request::RequestView view(parsed.value());
  gov_decision decision{};
  interp::Decide(Prepared(), view.get(), decision);
  Check(decision.verdict == GOV_ALLOW || decision.verdict == GOV_DENY || decision.verdict == GOV_ASK);
}

void FuzzConfig(std::string_view bytes) {
  auto config = config::ParseConfig(std::string(bytes), "/etc/gov/config.toml");
  if (!config.ok()) return;
  for (const std::string* path : {&config.value().policy, &config.value().lineage_dir, &config.value().signing_key}) {
    Check(!path->empty() && (*path)[0] == '/');
  }
  Check(!config.value().trusted_keys.empty());
  for (const std::string& path : config.value().trusted_keys) Check(!path.empty() && path[0] == '/');
  Check(config.value().ask_timeout_ms >= 0 && config.value().ask_timeout_ms <= 86400000);
  Check(config.value().kill_grace_ms >= 0 && config.value().kill_grace_ms <= 86400000);
}

void FuzzVerify(std::string_view bytes, bool all_signatures) {
  lineage::VerifyOptions options;
  options.trusted = {Key().public_key()};
  options.policies = {lineage::ReplayPolicy{kPolicyDigest, &Prepared()}};
  options.all_signatures = all_signatures;
  const lineage::Report report = lineage::VerifyBytes(bytes, "fuzz", options);
  if (report.failure != lineage::Failure::kNone) return;
  Check(report.certified + report.uncertified == report.records);
  Check(report.runs == report.allow + report.deny + report.ask);
  Check(report.replayed <= report.bound);
  Check(report.incomplete.size() <= report.runs);
}

void FuzzHead(std::string_view bytes) {
  auto head = lineage::ParseHead(bytes);
  if (!head.ok()) return;
  Check(lineage::HeadText(head.value()) == bytes);
}

void FuzzCheckpoint(std::string_view bytes) {
  bool signature_failure = false;
  auto claim = lineage::OpenCheckpoint(bytes, {Key().public_key()}, signature_failure);
  if (claim.ok()) Check(!signature_failure);
}

void FuzzExport(std::string_view bytes) {
  // The log as a memory file; its run id: the first `"run":"` value.
  const int fd = memfd_create("fuzz-log", MFD_CLOEXEC);
  if (fd < 0) return;
  std::size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t wrote = write(fd, bytes.data() + done, bytes.size() - done);
    if (wrote <= 0) break;
    done += static_cast<std::size_t>(wrote);
  }
  std::string run(32, '0');
  if (const std::size_t at = bytes.find("\"run\":\""); at != std::string_view::npos && at + 39 <= bytes.size()) {
    run = std::string(bytes.substr(at + 7, 32));
  }
  (void)lineage::ExportBundleFromLog("/proc/self/fd/" + std::to_string(fd), run, "/dev/null");
  close(fd);
}

// GOV_FUZZ_WRITE_SEEDS=DIR: writes the seed corpus to DIR and exits.
void WriteSeeds(const std::string& dir) {
  namespace fs = std::filesystem;
  fs::create_directories(dir);
  auto put = [&](const std::string& name, char mode, std::string_view text) {
    std::ofstream(dir + "/" + name, std::ios::binary) << mode << text;
  };
  put("request-agent", 0,
      R"({"program": "/usr/bin/make", "args": ["release"], "cwd": "/work/repo",
          "env": {"HOME": "/home/dev", "MODE": "ci"}, "user": {"name": "dev", "uid": 1000, "gid": 1000,
          "groups": ["dev"]}, "time": "2026-01-01T12:00:00Z", "parent": {"run_id": "r", "depth": 1,
          "program": "/bin/sh"}, "context": {"ticket": "CHG-1", "dir": "/tmp/./x", "n": -3, "flag": "true"}})");
  put("request-bytes", 0,
      R"({"program": "/bin/echo", "args": [{"base64": "Yf8="}, "a\ufffd"], "cwd": {"base64": "L2T/"},
          "env": [["A", {"base64": "/w=="}], [{"base64": "Qv8="}, "v"]], "context": {"ticket": {"base64": "/g=="}}})");
  put("config", 1,
      "policy = \"p.govb\"\ntrusted_keys = [\"/etc/gov/a.pub\", \"b.pub\"]\nlineage_dir = \"/var/lib/gov\"\n"
      "signing_key = \"lin.key\"\nask_timeout = \"30s\"\nkill_grace = 1500\n");
  {
    // govd's protocol: an authorize, a start and an end request in frames.
    lineage::Authorization auth;
    auth.run_id = std::string(32, 'a');
    auth.request.program_path = "/usr/bin/make";
    auth.request.args = {"release", std::string("\xff", 1)};
    auth.request.env = {{"HOME", "/home/dev"}};
    auth.policy_digest = "sha256:" + std::string(64, 'b');
    auth.verdict = "allow";
    auth.execute = true;
    auth.rules.push_back({1, "build", "allow", "builds"});
    auth.obligations.has_write = true;
    auth.obligations.write = {"/work/repo"};
    auth.obligations.has_create = true;
    auth.obligations.create = {"/tmp/out"};
    auth.obligations.private_tmp = true;
    lineage::Start start;
    start.run_id = auth.run_id;
    start.limits.push_back({"timeout", "govrun", "600000ms"});
    lineage::End end;
    end.run_id = auth.run_id;
    end.exited = true;
    std::string frames;
    for (const nlohmann::json& message :
         {nlohmann::json{{"op", "authorize"}, {"durable", true}, {"record", service::AuthorizationToJson(auth)}},
          nlohmann::json{{"op", "start"}, {"record", service::StartToJson(start)}},
          nlohmann::json{{"op", "end"}, {"record", service::EndToJson(end)}}}) {
      frames += service::EncodeFrame(message.dump()).value();
    }
    put("service", 7, frames);
  }

  // A log and a bundle by the recorder, with the fixed key and digest.
  const fs::path temp = fs::temp_directory_path() / ("gov-fuzz-seeds-" + std::to_string(getpid()));
  fs::create_directories(temp);
  {
    auto opened = lineage::OpenLog(temp.string(), Key());
    if (!opened.ok()) std::abort();
    lineage::Recorder& recorder = *opened.value();
    std::string root;
    const std::vector<std::tuple<std::string, std::string, std::vector<std::pair<std::string, std::string>>>> runs = {
        {"git", "status", {{"HOME", "/home/a"}, {"TOKEN", "secret"}}},
        {"make", "a\xff", {{"MODE", "ci"}, {"N\xfe", "v\xff"}}},
        {"curl", "x", {}}};
    for (const auto& [program, arg, env] : runs) {
      request::Request request;
      request.program_path = "/usr/bin/" + program;
      request.program_sha256 = "sha256:" + std::string(64, 'e');
      request.args = {arg};
      request.env = env;
      request.context.assign(Prepared().policy().context.size(), request::ContextValue{});
      request.context[0] = {true, 0, "CHG-7"};
      lineage::Authorization auth;
      auth.run_id = lineage::NewRunId();
      if (!root.empty()) {
        auth.parent_run_id = root;
        request.has_parent = true;
        request.parent_run_id = root;
        request.parent_program = "/usr/bin/git";
      }
      const request::RequestView view(request);
      gov_decision decision{};
      interp::Decide(Prepared(), view.get(), decision);
      auth.request = request;
      auth.context_fields = Prepared().policy().context;
      auth.policy_digest = kPolicyDigest;
      auth.policy_name = "fuzz";
      auth.policy_version = "1.0.0";
      auth.engine = "IR interpreter";
      lineage::FillDecision(Prepared().policy(), decision, auth);
      auth.execute = auth.verdict == "allow";
      if (!recorder.RecordAuthorization(auth).ok()) std::abort();
      if (auth.execute) {
        if (!recorder.RecordStart(lineage::Start{auth.run_id, 42, 1, {{"timeout", "RLIMIT_CPU", "5"}}}).ok()) {
          std::abort();
        }
        lineage::End end;
        end.run_id = auth.run_id;
        end.exited = true;
        if (!recorder.RecordEnd(end).ok()) std::abort();
      }
      if (!recorder.Checkpoint().ok()) std::abort();
      if (root.empty()) root = auth.run_id;
    }
    const std::string bundle = (temp / "root.lineage").string();
    if (!recorder.ExportBundle(root, bundle).ok()) std::abort();
    auto read = [](const fs::path& path) {
      std::ifstream in(path, std::ios::binary);
      return std::string(std::istreambuf_iterator<char>(in), {});
    };
    const std::string log = read(temp / "lineage.log");
    // The seeds must get past verification and replay, or they seed nothing deep.
    lineage::VerifyOptions options;
    options.trusted = {Key().public_key()};
    options.policies = {lineage::ReplayPolicy{kPolicyDigest, &Prepared()}};
    for (const std::string& text : {log, read(bundle)}) {
      const lineage::Report report = lineage::VerifyBytes(text, "seed", options);
      if (report.failure != lineage::Failure::kNone || report.replayed == 0) {
        std::fprintf(stderr, "seed does not verify: %s\n", report.message.c_str());
        std::abort();
      }
    }
    put("log", 2, log);
    put("bundle", 2, read(bundle));
    put("log-all-signatures", 3, log);
    put("export", 6, log);
    // One HEAD and one checkpoint body, from the log's last line.
    const std::string last = log.substr(log.rfind('\n', log.size() - 2) + 1);
    const lineage::SplitLine split = lineage::Split(std::string_view(last).substr(0, last.size() - 1));
    put("head-checkpoint", 4, split.head);
    put("checkpoint", 5, split.body);
    // The published note and a partial entry bundle.
    put("note", 8, read(temp / "checkpoint"));
    for (const auto& entry : fs::directory_iterator(temp / "tile" / "entries" / "000.p")) {
      put("entries", 8, read(entry.path()));
    }
  }
  fs::remove_all(temp);
}

// A decoded record must survive its own encoding (7).
template <typename Record>
void RoundTrip(const nlohmann::json& json, ErrorOr<Record> (*decode)(const nlohmann::json&),
               nlohmann::json (*encode)(const Record&)) {
  auto decoded = decode(json);
  if (!decoded.ok()) return;
  const nlohmann::json encoded = encode(decoded.value());
  auto again = decode(nlohmann::json::parse(encoded.dump()));
  Check(again.ok() && encode(again.value()) == encoded);
}

void FuzzTransparencyLog(std::string_view bytes) {
  if (auto note = tlog::ParseNote(bytes); note.ok()) {
    Check(tlog::FormatNote(note.value()) == bytes);
    (void)tlog::ParseCheckpoint(note.value().text);
    (void)tlog::FindCosignature(note.value(), Key().public_key());
  }
  bool signature_failure = false;
  (void)lineage::OpenLineageNote(bytes, std::string(32, '0'), {Key().public_key()}, signature_failure);
  if (auto entries = tlog::DecodeEntryBundle(bytes); entries.ok()) {
    auto encoded = tlog::EncodeEntryBundle(entries.value());
    Check(encoded.ok() && encoded.value() == bytes);
  }
  if (auto tile = tlog::ParseTilePath(bytes); tile.ok()) Check(tlog::TilePath(tile.value()) == bytes);
  if (auto tile = tlog::ParseEntryBundlePath(bytes); tile.ok()) Check(tlog::EntryBundlePath(tile.value()) == bytes);
}

void FuzzServiceMessage(std::string_view bytes) {
  std::string buffer(bytes);
  std::string payload;
  for (int frames = 0; frames < 64; ++frames) {
    auto taken = service::TakeFrame(buffer, payload);
    if (!taken.ok() || !taken.value()) break;
    nlohmann::json message;
    try {
      message = nlohmann::json::parse(payload);
    } catch (const nlohmann::json::exception&) {
      continue;
    }
    const nlohmann::json& record = message.is_object() && message.contains("record") ? message["record"] : message;
    RoundTrip<lineage::Authorization>(record, service::AuthorizationFromJson, service::AuthorizationToJson);
    RoundTrip<lineage::Start>(record, service::StartFromJson, service::StartToJson);
    RoundTrip<lineage::End>(record, service::EndFromJson, service::EndToJson);
  }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  if (const char* dir = std::getenv("GOV_FUZZ_WRITE_SEEDS")) {
    WriteSeeds(dir);
    std::exit(0);
  }
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0 || size > (1u << 20)) return 0;
  const std::string_view bytes(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0] % 9) {
    case 0:
      FuzzRequest(bytes);
      break;
    case 1:
      FuzzConfig(bytes);
      break;
    case 2:
      FuzzVerify(bytes, false);
      break;
    case 3:
      FuzzVerify(bytes, true);
      break;
    case 4:
      FuzzHead(bytes);
      break;
    case 5:
      FuzzCheckpoint(bytes);
      break;
    case 6:
      FuzzExport(bytes);
      break;
    case 7:
      FuzzServiceMessage(bytes);
      break;
    default:
      FuzzTransparencyLog(bytes);
      break;
  }
  return 0;
}
