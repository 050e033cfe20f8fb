// Verification of logs and bundles written by the recorder: a governed
// session verifies (with replay); every single-byte flip, deletion,
// insertion, reorder, truncation, splice, foreign signature and altered
// decision is detected with its failure class; BODYs are checked against
// their HEADs; checkpoint envelopes are read as DSSE consumers read them; env
// secrets never in clear; torn tails are reported and recovered.
#include <catch2/catch.hpp>

#include <algorithm>
#include <functional>
#include <nlohmann/json.hpp>
#include <random>

#include "tests/lineage/helpers.h"
#include "tests/lineage/mutations.h"

namespace gov::lineage {
namespace {

Report Check(const std::string& data, const VerifyOptions& options) {
  return VerifyBytes(data, "test", options);
}

TEST_CASE("a governed session verifies, with binding and replay", "[lineage][verify]") {
  Session s;
  bundle::LoadedPolicy policy = LoadTestBundle(s.policy_path, s.key);
  VerifyOptions options = s.Options();
  options.policies = {ReplayPolicy{policy.digest(), &policy.prepared()}};
  Report log = Verify(s.dir.path, options);
  INFO(log.message);
  REQUIRE(log.failure == Failure::kNone);
  CHECK(log.kind == "log");
  CHECK(log.runs == 4);
  CHECK(log.allow == 3);
  CHECK(log.deny == 1);
  CHECK(log.replayed == 4);
  CHECK(log.incomplete.empty());
  CHECK(log.uncertified == 0);
  CHECK(log.checkpoints == 4);
  CHECK(log.signatures_checked == 1);

  Report bundle = Verify(s.bundle_path, options);
  INFO(bundle.message);
  REQUIRE(bundle.failure == Failure::kNone);
  CHECK(bundle.kind == "bundle");
  CHECK(bundle.root == s.root);
  CHECK(bundle.runs == 3);  // the root and its two children; not the other root
  CHECK(bundle.replayed == 3);

  options.all_signatures = true;
  Report all = Verify(s.log_path, options);
  CHECK(all.failure == Failure::kNone);
  CHECK(all.signatures_checked == 4);
}

TEST_CASE("env values are names plus salted hashes unless the policy reads them", "[lineage][secrets]") {
  Session s;
  const std::string log = ReadFile(s.log_path);
  const std::string bundle = ReadFile(s.bundle_path);
  CHECK(log.find("s3cr3t") == std::string::npos);
  CHECK(bundle.find("s3cr3t") == std::string::npos);
  CHECK(log.find("\"API_TOKEN\":\"sha256:") != std::string::npos);
  CHECK(log.find("\"MODE\":\"ci\"") != std::string::npos);  // read by the policy: replay needs it
  // The salt is per log, derived from the lineage key (no file a governed
  // program could read), and kept out of the log and bundles.
  CHECK(access((s.dir.path + "/env-salt").c_str(), F_OK) != 0);
  const std::size_t at = log.find("\"log\":\"");
  REQUIRE(at != std::string::npos);
  const std::string log_id = log.substr(at + 7, 32);
  const std::string salt = DeriveEnvSalt(s.key, log_id);
  REQUIRE(salt.size() == 32);
  CHECK(log.find(crypto::HexEncode(salt)) == std::string::npos);
  CHECK(DeriveEnvSalt(s.key, std::string(32, '0')) != salt);
  // The recorded hash is the documented one.
  CHECK(log.find(EnvValueHash(salt, "API_TOKEN", "s3cr3t-value-never-in-clear")) != std::string::npos);
}

TEST_CASE("an environment value's hash is SHA-256 of salt, name, NUL and value, short or long", "[lineage]") {
  const std::string salt(32, '\x5a');
  for (const std::size_t length : {0, 1, 55, 56, 64, 447, 448, 479, 480, 481, 600, 5000}) {
    const std::string value(length, 'v');
    INFO("value of " << length << " bytes");
    CHECK(EnvValueHash(salt, "NAME", value) ==
          crypto::DigestString(crypto::Sha256Of(salt + "NAME" + std::string(1, '\0') + value)));
  }
  CHECK(EnvValueHash(salt, "", "") == crypto::DigestString(crypto::Sha256Of(salt + std::string(1, '\0'))));
}

// Finding 7: records replaced bytes that are not UTF-8 by U+FFFD, so `a\xff`
// and `a\xfe` gave the same record and replay saw another request than the
// policy did. Records now hold the exact bytes (byte strings), replay
// reproduces them, env hashes are over the raw bytes.
TEST_CASE("argv, paths and env that are not UTF-8 are recorded byte for byte and replay", "[lineage][bytes]") {
  TempDir dir;
  crypto::PrivateKey key = TestKey(7);
  const std::string policy_path = dir.path + "/policy.govb";
  WriteTestBundle(policy_path, key);
  bundle::LoadedPolicy policy = LoadTestBundle(policy_path, key);
  auto opened = OpenLog(dir.path, key);
  REQUIRE(opened.ok());
  std::vector<std::string> runs;
  for (const char* arg : {"a\xff", "a\xfe"}) {
    request::Request request = MakeRequest("git", {{"T\xff", "v\xfe"}, {"MODE", "ci\x80"}});
    request.args = {arg};
    request.cwd = "/work/d\xff";
    runs.push_back(GovernedRun(*opened.value(), policy, request));
  }
  // make_ci reads env["MODE"]: its value (not UTF-8) is evidence, in clear.
  request::Request make = MakeRequest("make", {{"MODE", "ci"}, {"K\xfe", "secret\xff"}});
  make.args = {"\xc3\x28"};
  runs.push_back(GovernedRun(*opened.value(), policy, make));

  const std::string log = ReadFile(dir.path + "/lineage.log");
  std::vector<nlohmann::json> bodies;
  for (const std::string& line : Lines(log)) {
    SplitLine split = Split(line);
    auto head = ParseHead(split.head);
    REQUIRE(head.ok());
    if (head.value().type == RecordType::kAuthorization) bodies.push_back(nlohmann::json::parse(split.body));
  }
  REQUIRE(bodies.size() == 3);
  CHECK(bodies[0].at("request").at("args") == nlohmann::json::parse(R"([{"base64":"Yf8="}])"));
  CHECK(bodies[1].at("request").at("args") == nlohmann::json::parse(R"([{"base64":"Yf4="}])"));
  CHECK(bodies[0].at("request").at("cwd") == nlohmann::json::parse(R"({"base64":"L3dvcmsvZP8="})"));
  CHECK(bodies[0].at("request") != bodies[1].at("request"));
  // Names that are not UTF-8: env_hashed is an array of [name, hash] pairs,
  // the hash over the raw bytes.
  const std::size_t log_at = log.find("\"log\":\"");
  REQUIRE(log_at != std::string::npos);
  const std::string salt = DeriveEnvSalt(key, log.substr(log_at + 7, 32));
  CHECK(bodies[0].at("env_hashed") ==
        nlohmann::json::array({nlohmann::json::array({{{"base64", "VP8="}}, EnvValueHash(salt, "T\xff", "v\xfe")})}));
  // MODE is read by the policy: in clear, its value as bytes.
  CHECK(bodies[0].at("request").at("env") == nlohmann::json::parse(R"({"MODE":{"base64":"Y2mA"}})"));
  CHECK(bodies[2].at("request").at("env") == nlohmann::json::parse(R"({"MODE":"ci"})"));
  CHECK(bodies[2].at("request").at("args") == nlohmann::json::parse(R"([{"base64":"wyg="}])"));
  CHECK(bodies[2].at("env_hashed") == nlohmann::json::array({nlohmann::json::array(
                                          {{{"base64", "S/4="}}, EnvValueHash(salt, "K\xfe", "secret\xff")})}));
  CHECK(log.find("\xef\xbf\xbd") == std::string::npos);  // nothing was replaced

  // Replay decodes the exact bytes and reproduces every decision.
  VerifyOptions options = Trusting(key);
  options.policies = {ReplayPolicy{policy.digest(), &policy.prepared()}};
  Report report = Verify(dir.path, options);
  INFO(report.message);
  CHECK(report.failure == Failure::kNone);
  CHECK(report.replayed == 3);
  // A record altered the way the old writer lost bytes (U+FFFD for a byte),
  // re-signed with the right key: replay sees another request than the one
  // decided (make_ci no longer matches) and fails.
  std::vector<std::string> lines = Lines(log);
  for (std::string& line : lines) {
    const std::size_t at = line.find(R"("env":{"MODE":"ci"})");
    if (at != std::string::npos) line.replace(at, 19, "\"env\":{\"MODE\":\"c\xef\xbf\xbd\"}");
  }
  Rechain(lines, 0, &key);
  Report altered = VerifyBytes(Join(lines), "altered", options);
  INFO(altered.message);
  CHECK(altered.failure == Failure::kReplay);
}

// Positions the exhaustive cases visit: every one, or under the sanitizers
// every fifth and every separator (a record's head and body are far longer
// than five bytes, so every failure class and code path is still reached;
// the release suite checks each byte).
#if defined(GOV_SANITIZED)
constexpr std::size_t kExhaustiveStride = 5;
#else
constexpr std::size_t kExhaustiveStride = 1;
#endif

// Flips every byte of `data` with `mask` and checks the failure class: bytes
// of a BODY ⇒ chain (digest mismatch); with mask 0x80, bytes of a HEAD ⇒
// malformed (HEAD is ASCII); separators and the rest ⇒ chain or malformed,
// and in a version 2 bundle header (its signed note) also signature.
void ExhaustiveFlips(const std::string& data, const VerifyOptions& options, bool bundle) {
  std::vector<char> region(data.size(), 'h');  // h: head, b: body, s: separator, x: bundle header
  std::size_t pos = 0;
  bool first = true;
  while (pos < data.size()) {
    std::size_t lf = data.find('\n', pos);
    std::size_t tab = data.find('\t', pos);
    for (std::size_t i = pos; i < lf; ++i) region[i] = (bundle && first) ? 'x' : (tab < lf && i > tab) ? 'b' : 'h';
    if (tab < lf) region[tab] = 's';
    region[lf] = 's';
    pos = lf + 1;
    first = false;
  }
  std::size_t checked = 0;
  for (unsigned char mask : {0x01, 0x80}) {
    for (std::size_t i = 0; i < data.size(); ++i) {
      if (i % kExhaustiveStride != 0 && region[i] != 's') continue;
      std::string copy = data;
      copy[i] = static_cast<char>(copy[i] ^ mask);
      Report report = Check(copy, options);
      INFO("flip of byte " << i << " ('" << data[i] << "', region " << region[i] << ") with mask " << int(mask) << ": "
                           << FailureName(report.failure) << ": " << report.message);
      REQUIRE(report.failure != Failure::kNone);
      if (region[i] == 'b') {
        CHECK(report.failure == Failure::kChain);
      } else if (region[i] == 'h' && mask == 0x80) {
        CHECK(report.failure == Failure::kMalformed);
      } else if (region[i] == 'x') {
        // A version 2 header holds the signed checkpoint note.
        CHECK((report.failure == Failure::kChain || report.failure == Failure::kMalformed ||
               report.failure == Failure::kSignature));
      } else {
        CHECK((report.failure == Failure::kChain || report.failure == Failure::kMalformed));
      }
      ++checked;
    }
  }
  CHECK(checked >= 2 * data.size() / kExhaustiveStride);
}

TEST_CASE("every single-byte flip of a small log is detected with its class", "[lineage][tamper][exhaustive]") {
  Session s;
  ExhaustiveFlips(ReadFile(s.log_path), s.Options(), false);
}

TEST_CASE("every single-byte flip of a small bundle is detected with its class", "[lineage][tamper]") {
  Session s;
  ExhaustiveFlips(ReadFile(s.bundle_path), s.Options(), true);
}

TEST_CASE("deleted, inserted, duplicated and reordered records are detected", "[lineage][tamper]") {
  Session s;
  for (const std::string& path : {s.log_path, s.bundle_path}) {
    const bool bundle = path == s.bundle_path;
    const std::vector<std::string> lines = Lines(ReadFile(path));
    REQUIRE(Check(Join(lines), s.Options()).failure == Failure::kNone);
    for (std::size_t i = 0; i < lines.size(); ++i) {
      INFO((bundle ? "bundle" : "log") << " line " << i);
      std::vector<std::string> removed = lines;
      removed.erase(removed.begin() + static_cast<long>(i));
      Report report = Check(Join(removed), s.Options());
      if (!bundle && i + 1 == lines.size()) {
        // The log without its last checkpoint: an older log. Nothing after
        // the previous checkpoint is vouched for.
        CHECK(report.failure == Failure::kNone);
        CHECK(report.uncertified > 0);
        CHECK(report.runs == 3);
      } else {
        CHECK(report.failure != Failure::kNone);
      }
      std::vector<std::string> duplicated = lines;
      duplicated.insert(duplicated.begin() + static_cast<long>(i), lines[i]);
      CHECK(Check(Join(duplicated), s.Options()).failure != Failure::kNone);
      if (i + 1 < lines.size()) {
        std::vector<std::string> swapped = lines;
        std::swap(swapped[i], swapped[i + 1]);
        CHECK(Check(Join(swapped), s.Options()).failure != Failure::kNone);
      }
    }
  }
  // A record of another log inserted.
  Session other;
  std::vector<std::string> lines = Lines(ReadFile(s.log_path));
  std::vector<std::string> foreign = Lines(ReadFile(other.log_path));
  for (std::size_t i = 1; i < lines.size(); ++i) {
    std::vector<std::string> inserted = lines;
    inserted.insert(inserted.begin() + static_cast<long>(i), foreign[i]);
    CHECK(Check(Join(inserted), s.Options()).failure == Failure::kChain);
  }
}

TEST_CASE("truncation is detected, a log cut at a record boundary vouches only for its checkpoints",
          "[lineage][tamper][exhaustive]") {
  Session s;
  const std::string log = ReadFile(s.log_path);
  for (std::size_t n = 0; n < log.size(); ++n) {
    if (n % kExhaustiveStride != 0 && log[n - 1] != '\n') continue;  // every cut at a record boundary
    Report report = Check(log.substr(0, n), s.Options());
    INFO("log cut at " << n << ": " << FailureName(report.failure) << " " << report.message);
    if (n == 0) {
      CHECK(report.failure == Failure::kMalformed);
    } else if (log[n - 1] != '\n') {
      CHECK(report.failure == Failure::kChain);
      CHECK(report.message.find("torn") != std::string::npos);
    } else if (report.failure == Failure::kNone) {
      CHECK(report.runs <= 4);
      CHECK(report.certified + report.uncertified == report.records);
    } else {
      CHECK(report.failure == Failure::kSignature);  // records but no checkpoint yet
    }
  }
  const std::string bundle = ReadFile(s.bundle_path);
  for (std::size_t n = 0; n < bundle.size(); ++n) {
    if (n % kExhaustiveStride != 0 && bundle[n - 1] != '\n') continue;
    Report report = Check(bundle.substr(0, n), s.Options());
    INFO("bundle cut at " << n << ": " << report.message);
    CHECK(report.failure != Failure::kNone);
  }
}

TEST_CASE("a bundle cut at a checkpoint before its tree ended is refused", "[lineage][tamper]") {
  TempDir dir;
  auto key = TestKey(7);
  auto opened = OpenLog(dir.path, key);
  REQUIRE(opened.ok());
  Recorder& log = *opened.value();
  // The root runs; a child is denied while it runs; a checkpoint (another
  // govrun's) falls in between; then the root ends.
  Authorization root = SampleAuthorization(NewRunId(), "");
  REQUIRE(log.RecordAuthorization(root).ok());
  REQUIRE(log.RecordStart(Start{root.run_id, 42, 1, {}}).ok());
  REQUIRE(log.RecordAuthorization(SampleAuthorization(NewRunId(), root.run_id, "deny")).ok());
  REQUIRE(log.Checkpoint().ok());
  End end;
  end.run_id = root.run_id;
  end.exited = true;
  REQUIRE(log.RecordEnd(end).ok());
  REQUIRE(log.Checkpoint().ok());
  const std::string path = dir.path + "/root.bundle";
  REQUIRE(log.ExportBundle(root.run_id, path).ok());
  std::vector<std::string> lines = Lines(ReadFile(path));
  CHECK(Check(Join(lines), Trusting(key)).failure == Failure::kNone);
  // Cut after the first checkpoint: a valid prefix that hides the end.
  std::size_t first_checkpoint = 0;
  for (std::size_t i = 1; i < lines.size() && first_checkpoint == 0; ++i) {
    if (lines[i].find("\"type\":\"checkpoint\"") != std::string::npos) first_checkpoint = i;
  }
  REQUIRE(first_checkpoint + 1 < lines.size());
  lines.resize(first_checkpoint + 1);
  // Its body from the readable log, as a bundle's last checkpoint needs.
  for (const std::string& line : Lines(ReadFile(dir.path + "/lineage.log"))) {
    if (line.starts_with(lines.back() + "\t")) lines.back() = line;
  }
  Report cut = Check(Join(lines), Trusting(key));
  INFO(cut.message);
  CHECK(cut.failure == Failure::kChain);
  CHECK(cut.message.find("does not carry the end of run " + root.run_id) != std::string::npos);
}

TEST_CASE("splicing two bundles is detected", "[lineage][tamper]") {
  Session s;
  // A second bundle from the same log: the other root's.
  std::string other_bundle = s.dir.path + "/other.bundle";
  REQUIRE(ExportBundleFromLog(s.log_path, s.other, other_bundle).ok());
  REQUIRE(Check(ReadFile(other_bundle), s.Options()).failure == Failure::kNone);
  std::vector<std::string> a = Lines(ReadFile(s.bundle_path));
  std::vector<std::string> b = Lines(ReadFile(other_bundle));
  // A's header and first records, then B's records.
  std::vector<std::string> spliced(a.begin(), a.begin() + 3);
  spliced.insert(spliced.end(), b.begin() + 1, b.end());
  CHECK(Check(Join(spliced), s.Options()).failure == Failure::kChain);
  // A's header with B's records.
  std::vector<std::string> swapped_header = b;
  swapped_header[0] = a[0];
  CHECK(Check(Join(swapped_header), s.Options()).failure == Failure::kChain);
  // A bundle from another log with A's header.
  Session other;
  std::vector<std::string> c = Lines(ReadFile(other.bundle_path));
  c[0] = a[0];
  CHECK(Check(Join(c), s.Options()).failure == Failure::kChain);
}

TEST_CASE("a rewritten record re-signed by an untrusted key fails as signature", "[lineage][tamper]") {
  Session s;
  crypto::PrivateKey stranger = TestKey(99);
  for (const std::string& path : {s.log_path, s.bundle_path}) {
    const bool bundle = path == s.bundle_path;
    std::vector<std::string> lines = Lines(ReadFile(path));
    // Rewrite the root's authorization: another program path.
    std::size_t target = bundle ? 1 : 1;
    REQUIRE(lines[target].find("/usr/bin/git") != std::string::npos);
    lines[target].replace(lines[target].find("/usr/bin/git"), 12, "/usr/bin/gjt");
    Rechain(lines, bundle ? 1 : 0, &stranger);
    Report report = Check(Join(lines), s.Options());
    INFO(report.message);
    CHECK(report.failure == Failure::kSignature);
    CHECK(report.message.find(stranger.public_key().IdHex()) != std::string::npos);
    // Trusting the stranger too makes it verify: keys are pinned, not looked up.
    VerifyOptions both = s.Options();
    both.trusted.push_back(stranger.public_key());
    // A bundle's checkpoint note (signed by the log's key, not re-signed
    // here) still states the original tree: the rewrite is not in it.
    CHECK(Check(Join(lines), both).failure == (bundle ? Failure::kChain : Failure::kNone));
    // A checkpoint whose signature bytes were replaced (digests fixed) too.
    std::vector<std::string> forged = Lines(ReadFile(path));
    std::string& last = forged.back();
    std::size_t sig = last.find("\"sig\":\"");
    REQUIRE(sig != std::string::npos);
    last[sig + 8] = last[sig + 8] == 'A' ? 'B' : 'A';
    Rechain(forged, bundle ? 1 : 0, nullptr);
    CHECK(Check(Join(forged), s.Options()).failure == Failure::kSignature);
  }
}

TEST_CASE("replay catches an altered decision re-signed with the right key, binding catches another policy",
          "[lineage][replay]") {
  Session s;
  bundle::LoadedPolicy policy = LoadTestBundle(s.policy_path, s.key);
  VerifyOptions replay = s.Options();
  replay.policies = {ReplayPolicy{policy.digest(), &policy.prepared()}};
  for (const std::string& path : {s.log_path, s.bundle_path}) {
    const bool bundle = path == s.bundle_path;
    std::vector<std::string> lines = Lines(ReadFile(path));
    // The curl run was denied: make it an executed allow.
    std::size_t target = 0;
    for (std::size_t i = 0; i < lines.size(); ++i) {
      if (lines[i].find("\"verdict\":\"deny\"") != std::string::npos &&
          lines[i].find(s.child_curl) != std::string::npos) {
        target = i;
      }
    }
    REQUIRE(target != 0);
    std::string& line = lines[target];
    line.replace(line.find("\"exec\":false"), 12, "\"exec\":true");
    line.replace(line.find("\"execute\":false"), 15, "\"execute\":true");
    line.replace(line.find("\"verdict\":\"deny\""), 16, "\"verdict\":\"allow\"");
    line.replace(line.find("\"verdict\":\"deny\""), 16, "\"verdict\":\"allow\"");
    Rechain(lines, bundle ? 1 : 0, &s.key);
    const std::string forged = Join(lines);
    Report plain = Check(forged, s.Options());
    INFO(plain.message);
    // Signatures and chain are fine (a bundle also misses the forged run's end)…
    CHECK(plain.failure == (bundle ? Failure::kChain : Failure::kNone));
    Report replayed = Check(forged, replay);
    INFO(replayed.message);
    CHECK(replayed.failure == Failure::kReplay);  // …the decision does not replay
    CHECK(replayed.failure_seq >= 0);
  }
  // Another policy (same rules, another version ⇒ another digest).
  std::string v2 = s.dir.path + "/v2.govb";
  WriteTestBundle(v2, s.key, "2");
  bundle::LoadedPolicy other = LoadTestBundle(v2, s.key);
  VerifyOptions bind = s.Options();
  bind.policies = {ReplayPolicy{other.digest(), &other.prepared()}};
  Report report = Verify(s.log_path, bind);
  CHECK(report.failure == Failure::kBinding);
  CHECK(Verify(s.bundle_path, bind).failure == Failure::kBinding);
}

TEST_CASE("a log that spans a policy update binds and replays with every version given", "[lineage][replay]") {
  TempDir dir;
  crypto::PrivateKey key = TestKey(7);
  const std::string v1_path = dir.path + "/v1.govb", v2_path = dir.path + "/v2.govb", v3_path = dir.path + "/v3.govb";
  WriteTestBundle(v1_path, key, "1");
  WriteTestBundle(v2_path, key, "2");
  WriteTestBundle(v3_path, key, "3");
  bundle::LoadedPolicy v1 = LoadTestBundle(v1_path, key), v2 = LoadTestBundle(v2_path, key),
                       v3 = LoadTestBundle(v3_path, key);
  {
    auto opened = OpenLog(dir.path, key);
    REQUIRE(opened.ok());
    GovernedRun(*opened.value(), v1, MakeRequest("git"));
    GovernedRun(*opened.value(), v2, MakeRequest("git"));  // the policy was updated
    GovernedRun(*opened.value(), v2, MakeRequest("curl"));
  }
  const std::string log = dir.path + "/lineage.log";
  auto with = [&](std::vector<const bundle::LoadedPolicy*> policies) {
    VerifyOptions options = Trusting(key);
    for (const auto* policy : policies) options.policies.push_back(ReplayPolicy{policy->digest(), &policy->prepared()});
    return Verify(log, options);
  };
  const Report both = with({&v1, &v2});
  INFO(both.message);
  CHECK(both.failure == Failure::kNone);
  CHECK(both.bound == 3);
  CHECK(both.replayed == 3);
  CHECK(with({&v2, &v1}).failure == Failure::kNone);  // order does not matter
  const Report only_v1 = with({&v1});
  CHECK(only_v1.failure == Failure::kBinding);
  CHECK(only_v1.message.find("not the given policy") != std::string::npos);
  const Report wrong = with({&v1, &v3});
  CHECK(wrong.failure == Failure::kBinding);
  CHECK(wrong.message.find("none of the 2 given policies") != std::string::npos);
  // On the command line: --policy again for each version.
  const std::string pub = dir.path + "/key.pub";
  WriteFile(pub, key.public_key().ToPem());
  const Ran cli =
      RunProgram({GOV_GOVVERIFY, "--trust", pub, "--policy", v1_path, "--policy", v2_path, "--replay", log}, dir.path);
  INFO(cli.out << cli.err);
  CHECK(cli.code == 0);
  CHECK(cli.out.find("policy: 3 decisions bound, 3 replayed") != std::string::npos);
  CHECK(RunProgram({GOV_GOVVERIFY, "--trust", pub, "--policy", v1_path, "--replay", log}, dir.path).code == 3);
}

TEST_CASE("replay refuses a decision that read an env value recorded only as a hash", "[lineage][replay]") {
  TempDir dir;
  crypto::PrivateKey key = TestKey(7);
  std::string policy_path = dir.path + "/policy.govb";
  WriteTestBundle(policy_path, key);
  bundle::LoadedPolicy policy = LoadTestBundle(policy_path, key);
  auto opened = OpenLog(dir.path, key);
  REQUIRE(opened.ok());
  // A recorder fed by a govrun that forgot the policy's env reads.
  request::Request request = MakeRequest("make", {{"MODE", "ci"}});
  request::RequestView view(request);
  gov_decision decision{};
  policy.Decide(view.get(), decision);
  Authorization auth;
  auth.run_id = NewRunId();
  auth.request = request;
  auth.policy_digest = policy.digest();
  FillDecision(policy.policy(), decision, auth);
  auth.env_in_clear.clear();
  auth.obligations.has_env = false;  // would opt MODE in
  auth.execute = false;
  REQUIRE(opened.value()->RecordAuthorization(auth).ok());
  REQUIRE(opened.value()->Checkpoint().ok());
  VerifyOptions options = Trusting(key);
  options.policies = {ReplayPolicy{policy.digest(), &policy.prepared()}};
  Report report = Verify(dir.path, options);
  INFO(report.message);
  CHECK(report.failure == Failure::kReplay);
}

// allow touch_ok when program.name == "touch"
//     with { timeout = 10m, write = ["/work/ok"], capabilities = ["chown", "fowner"] }
// ask outside when program.name == "touch" and "outside2" in args
//     with { timeout = 1m, env = ["PATH"], capabilities = ["chown", "setuid"] }
ir::Policy AskPolicy() {
  ir::Policy policy;
  policy.name = "ask-test";
  policy.version = "1";
  policy.strings = {"touch", "outside2"};
  auto node = [](auto... args) { return gov::test_support::Node(args...); };
  using ir::Kind;
  using ir::Op;
  policy.nodes = {
      node(Op::kField, Kind::kStr, ir::kNoNode, ir::kNoNode, static_cast<std::int64_t>(ir::Field::kProgramName)),  // 0
      node(Op::kConstStr, Kind::kStr, 0),  // 1 "touch"
      node(Op::kEq, Kind::kBool, 0, 1),    // 2
      node(Op::kConstStr, Kind::kStr, 1),  // 3 "outside2"
      node(Op::kField, Kind::kStrList, ir::kNoNode, ir::kNoNode, static_cast<std::int64_t>(ir::Field::kArgs)),  // 4
      node(Op::kIn, Kind::kBool, 3, 4),                                                                         // 5
      node(Op::kAnd, Kind::kBool, 0, 2),                                                                        // 6
  };
  policy.operands = {2, 5};
  ir::Rule touch;
  touch.name = "touch_ok";
  touch.verdict = ir::Verdict::kAllow;
  touch.reason = "creates files in ok/";
  touch.condition = 2;
  touch.obligations.timeout_ms = 600000;
  touch.obligations.has_write = true;
  touch.obligations.write = {"/work/ok"};
  touch.obligations.has_capabilities = true;
  touch.obligations.capabilities = {"chown", "fowner"};
  ir::Rule outside;
  outside.name = "outside";
  outside.verdict = ir::Verdict::kAsk;
  outside.condition = 6;
  outside.obligations.timeout_ms = 60000;
  outside.obligations.has_env = true;
  outside.obligations.env = {"PATH"};
  outside.obligations.has_capabilities = true;
  outside.obligations.capabilities = {"chown", "setuid"};
  policy.rules = {touch, outside};
  return policy;
}

TEST_CASE("an approved ask records the obligations of its ask and allow rules, and they replay", "[lineage][replay]") {
  // Issue 13 finding 4: approving `touch ok/a outside2` ran without the
  // allow rule's `write = [/work/ok]`.
  TempDir dir;
  crypto::PrivateKey key = TestKey(7);
  const std::string policy_path = dir.path + "/policy.govb";
  WritePolicyBundle(policy_path, key, AskPolicy());
  bundle::LoadedPolicy policy = LoadTestBundle(policy_path, key);
  {
    auto opened = OpenLog(dir.path, key);
    REQUIRE(opened.ok());
    request::Request request = MakeRequest("touch");
    request.args = {"ok/a", "outside2"};
    request::RequestView view(request);
    gov_decision decision{};
    policy.Decide(view.get(), decision);
    REQUIRE(decision.verdict == GOV_ASK);
    Authorization auth;
    auth.run_id = NewRunId();
    auth.request = request;
    auth.policy_digest = policy.digest();
    FillDecision(policy.policy(), decision, auth);
    CHECK(auth.verdict == "ask");
    REQUIRE(auth.rules.size() == 2);
    CHECK(auth.rules[0].name == "outside");
    CHECK(auth.rules[0].verdict == "ask");
    CHECK(auth.rules[1].name == "touch_ok");
    CHECK(auth.rules[1].verdict == "allow");
    CHECK(auth.obligations.timeout_ms == 60000);
    CHECK(auth.obligations.has_write);
    CHECK(auth.obligations.write == std::vector<std::string>{"/work/ok"});
    CHECK(auth.obligations.env == std::vector<std::string>{"PATH"});
    CHECK(auth.obligations.capabilities == std::vector<std::string>{"chown"});
    // The lazily read rules govrun uses give the same record.
    auto named = policy.RulesOf(decision);
    REQUIRE(named.ok());
    Authorization lazy;
    FillDecision(named.value().lookup(), policy.view().env_reads(), decision, lazy);
    CHECK(lazy.obligations == auth.obligations);
    CHECK(lazy.rules.size() == auth.rules.size());
    auth.ask_answer = "yes";
    auth.execute = true;
    REQUIRE(opened.value()->RecordAuthorization(auth).ok());
    End end;
    end.run_id = auth.run_id;
    end.exited = true;
    REQUIRE(opened.value()->RecordStart(Start{auth.run_id, 4242, 1767268800000000000, {}}).ok());
    REQUIRE(opened.value()->RecordEnd(end).ok());
    REQUIRE(opened.value()->Checkpoint().ok());
  }
  const std::string log_path = dir.path + "/lineage.log";
  const std::string text = ReadFile(log_path);
  CHECK(text.find("\"write\":[\"/work/ok\"]") != std::string::npos);
  CHECK(text.find("\"obligations\":{\"capabilities\":[\"chown\"],") != std::string::npos);
  VerifyOptions replay = Trusting(key);
  replay.policies = {ReplayPolicy{policy.digest(), &policy.prepared()}};
  Report report = Verify(log_path, replay);
  INFO(report.message);
  REQUIRE(report.failure == Failure::kNone);
  CHECK(report.replayed == 1);
  CHECK(report.ask == 1);

  // A record of the approved ask without the allow rule's limit (what the
  // old code wrote), re-signed with the right key, does not replay.
  std::vector<std::string> lines = Lines(text);
  const std::string write = ",\"write\":[\"/work/ok\"]";
  std::size_t target = 0;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    if (lines[i].find(write) != std::string::npos) target = i;
  }
  REQUIRE(target != 0);
  lines[target].replace(lines[target].find(write), write.size(), "");
  Rechain(lines, 0, &key);
  const std::string forged = Join(lines);
  Report plain = Check(forged, Trusting(key));
  INFO(plain.message);
  CHECK(plain.failure == Failure::kNone);
  Report replayed = Check(forged, replay);
  INFO(replayed.message);
  CHECK(replayed.failure == Failure::kReplay);
  CHECK(replayed.message.find("obligations") != std::string::npos);

  // So does one that grants a capability the rules do not both grant.
  lines = Lines(text);
  const std::string granted = "\"capabilities\":[\"chown\"]";
  lines[target].replace(lines[target].find(granted), granted.size(), "\"capabilities\":[\"chown\",\"setuid\"]");
  Rechain(lines, 0, &key);
  replayed = Check(Join(lines), replay);
  INFO(replayed.message);
  CHECK(replayed.failure == Failure::kReplay);
}

TEST_CASE("a torn last record is reported, then recovered by the next writer", "[lineage][crash]") {
  Session s;
  std::string log = ReadFile(s.log_path);
  // Power loss in the middle of the last checkpoint: part of it reached disk.
  std::size_t last_start = log.rfind('\n', log.size() - 2) + 1;
  std::size_t cut = last_start + (log.size() - last_start) / 2;
  REQUIRE(truncate(s.log_path.c_str(), static_cast<off_t>(cut)) == 0);
  Report torn = Verify(s.log_path, s.Options());
  CHECK(torn.failure == Failure::kChain);
  CHECK(torn.message.find("torn") != std::string::npos);
  CHECK(torn.failure_offset == last_start);
  {
    auto opened = OpenLog(s.dir.path, s.key);
    REQUIRE(opened.ok());
    bundle::LoadedPolicy policy = LoadTestBundle(s.policy_path, s.key);
    GovernedRun(*opened.value(), policy, MakeRequest("git"));
  }
  Report recovered = Verify(s.log_path, s.Options());
  INFO(recovered.message);
  CHECK(recovered.failure == Failure::kNone);
  CHECK(recovered.recoveries == 1);
  CHECK(recovered.runs == 5);
  // The torn bytes are still there, byte for byte.
  CHECK(ReadFile(s.log_path).substr(last_start, cut - last_start) == log.substr(last_start, cut - last_start));
  // Tampering with the kept torn bytes is detected.
  std::string data = ReadFile(s.log_path);
  data[last_start + 3] ^= 0x01;
  CHECK(Check(data, s.Options()).failure == Failure::kChain);
}

TEST_CASE("a torn write of a recovery record is itself recovered", "[lineage][crash]") {
  Session s;
  std::string log = ReadFile(s.log_path);
  // Torn bytes, then a torn recovery: "fragment LF partial-recovery".
  std::string junk = log.substr(log.size() - 40, 20) + "\n" + log.substr(log.size() - 100, 30);
  std::string appended = log + junk;
  WriteFile(s.log_path, appended);
  CHECK(Verify(s.log_path, s.Options()).failure == Failure::kChain);
  {
    auto opened = OpenLog(s.dir.path, s.key);
    REQUIRE(opened.ok());
    REQUIRE(opened.value()->Checkpoint().ok());
  }
  Report report = Verify(s.log_path, s.Options());
  INFO(report.message);
  CHECK(report.failure == Failure::kNone);
  CHECK(report.recoveries == 1);
}

TEST_CASE("invalid bytes inside the log without a recovery record are corruption", "[lineage][tamper]") {
  Session s;
  std::vector<std::string> lines = Lines(ReadFile(s.log_path));
  lines.insert(lines.begin() + 3, "{\"garbage\":true}");
  CHECK(Check(Join(lines), s.Options()).failure == Failure::kMalformed);
  CHECK(Check("", s.Options()).failure == Failure::kMalformed);
  CHECK(Check("hello\n", s.Options()).failure == Failure::kMalformed);
  VerifyOptions none;
  CHECK(Check(ReadFile(s.log_path), none).failure == Failure::kUsage);
}

}  // namespace
}  // namespace gov::lineage

namespace gov::lineage {
namespace {

TEST_CASE("hostile inputs: random mutations, garbage and deep nesting never crash", "[lineage][hostile]") {
  Session s;
  std::mt19937 random(424242);
  const std::vector<std::string> seeds = {ReadFile(s.log_path), ReadFile(s.bundle_path)};
  const char alphabet[] = "{}[]\":,\t\n0123456789abcdefsha256:truefalse\\u";
  for (int i = 0; i < 3000; ++i) {
    std::string data = seeds[i % 2];
    const int edits = 1 + static_cast<int>(random() % 8);
    for (int e = 0; e < edits && !data.empty(); ++e) {
      std::size_t at = random() % data.size();
      switch (random() % 4) {
        case 0:
          data[at] = alphabet[random() % (sizeof alphabet - 1)];
          break;
        case 1:
          data.erase(at, random() % 64);
          break;
        case 2:
          data.insert(at, data.substr(random() % data.size(), random() % 200));
          break;
        default:
          data[at] = static_cast<char>(random());
          break;
      }
    }
    Report report = Check(data, s.Options());
    CHECK(report.failure != Failure::kUsage);
  }
  // Deeply nested JSON where bodies are parsed: a checkpoint body, a bundle header.
  std::string deep(200000, '[');
  std::vector<std::string> lines = Lines(ReadFile(s.log_path));
  Head head;
  head.type = RecordType::kCheckpoint;
  auto parsed = ParseHead(Split(lines.back()).head);
  REQUIRE(parsed.ok());
  std::string log(parsed.value().log), prev(parsed.value().prev);
  head.log = log;
  head.prev = prev;
  head.seq = parsed.value().seq;
  lines.back() = MakeLine(head, deep);
  lines.back().pop_back();
  Report nested = Check(Join(lines), s.Options());
  CHECK(nested.failure == Failure::kMalformed);
  CHECK(nested.message.find("nested") != std::string::npos);
  CHECK(Check("{\"format\":" + deep + "\n", s.Options()).failure == Failure::kMalformed);
  CHECK(Check(std::string(100000, '\n'), s.Options()).failure == Failure::kMalformed);
  CHECK(Check(std::string(100000, '\t'), s.Options()).failure != Failure::kNone);
}

}  // namespace
}  // namespace gov::lineage

namespace gov::lineage {
namespace {

TEST_CASE("all signatures: runs are attributed to their signers, records inserted without a key are named",
          "[lineage][tamper]") {
  Session s;
  VerifyOptions all = s.Options();
  all.all_signatures = true;
  Report clean = Verify(s.log_path, all);
  REQUIRE(clean.failure == Failure::kNone);
  CHECK(clean.unattributed.empty());
  // Someone with write access but no key appends a chain-valid authorization…
  std::vector<std::string> lines = Lines(ReadFile(s.log_path));
  auto last = ParseHead(Split(lines.back()).head);
  REQUIRE(last.ok());
  const std::string forged_run = NewRunId();
  std::string line = lines[1];
  line.replace(line.find(s.root), 32, forged_run);
  line.replace(line.find(s.root), 32, forged_run);
  lines.push_back(line);
  {
    SplitLine split = Split(lines.back());
    auto head = ParseHead(split.head);
    REQUIRE(head.ok());
    Head h = head.value();
    std::string body(split.body), log(h.log), run(h.run), policy(h.policy), verdict(h.verdict);
    std::string prev = DigestOf(Split(lines[lines.size() - 2]).head);
    h.log = log;
    h.run = run;
    h.parent = "";
    h.policy = policy;
    h.verdict = verdict;
    h.prev = prev;
    h.seq = last.value().seq + 1;
    std::string text = MakeLine(h, body);
    text.pop_back();
    lines.back() = text;
  }
  WriteFile(s.log_path, Join(lines));
  // …and a legitimate govrun then checkpoints the log, covering it.
  {
    auto opened = OpenLog(s.dir.path, s.key);
    REQUIRE(opened.ok());
    bundle::LoadedPolicy policy = LoadTestBundle(s.policy_path, s.key);
    GovernedRun(*opened.value(), policy, MakeRequest("git"));
  }
  Report plain = Verify(s.log_path, s.Options());
  INFO(plain.message);
  CHECK(plain.failure == Failure::kNone);  // one signature: the log state is vouched for…
  Report attributed = Verify(s.log_path, all);
  INFO(attributed.message);
  CHECK(attributed.failure == Failure::kNone);
  REQUIRE(attributed.unattributed.size() == 1);  // …but no signer claims the inserted run
  CHECK(attributed.unattributed[0] == forged_run);
}

}  // namespace
}  // namespace gov::lineage
namespace gov::lineage {
namespace {

// Issue 15 §3.1: statistics and the run rules read HEAD, replay reads BODY;
// a BODY that was not canonical or said another run, verdict, parent, policy
// or execute than its HEAD passed, even with --replay.
TEST_CASE("a BODY that is not canonical or contradicts its HEAD is rejected, with or without replay",
          "[lineage][tamper][body]") {
  Session s;
  bundle::LoadedPolicy policy = LoadTestBundle(s.policy_path, s.key);
  VerifyOptions replay = s.Options();
  replay.policies = {ReplayPolicy{policy.digest(), &policy.prepared()}};
  for (const bool bundle : {false, true}) {
    for (const Mutation& m : BodyHeadMutations(s, bundle)) {
      for (const bool with_replay : {true, false}) {
        Report report = Check(m.data, with_replay ? replay : s.Options());
        INFO((bundle ? "bundle: " : "log: ") << m.name << (with_replay ? " (replay)" : "") << ": "
                                             << FailureName(report.failure) << ": " << report.message);
        CHECK(report.failure == m.expected);
        if (m.expected != Failure::kNone) CHECK(report.failure_seq > 0);
      }
    }
  }
}

// The one-pass canonical check agrees with parsing and re-encoding.
TEST_CASE("IsCanonicalJson accepts exactly what parses and re-encodes to itself", "[lineage][body]") {
  Session s;
  std::vector<std::string> texts = {"{}",
                                    "[]",
                                    "0",
                                    "-1",
                                    "-0",
                                    "01",
                                    "1.0",
                                    "1e3",
                                    "true",
                                    "nul",
                                    "\"a\"",
                                    "{\"a\":1,\"a\":2}",
                                    "{\"b\":1,\"a\":2}",
                                    "{\"a\":1,\"b\":2}",
                                    " {}",
                                    "{} ",
                                    "\"\\u001f\"",
                                    "\"\\u001F\"",
                                    "\"\\u0009\"",
                                    "\"\\t\"",
                                    "\"\\/\"",
                                    "\"\x7f\"",
                                    "\"\x1f\"",
                                    "\"\xc3\xa9\"",
                                    "\"\\u00e9\"",
                                    "\"\xc0\xaf\"",
                                    "\"\xed\xa0\x80\"",
                                    "\"\xf4\x90\x80\x80\"",
                                    "\"\xef\xbb\xbf\"",
                                    "\xef\xbb\xbf{}",
                                    "18446744073709551615",
                                    "18446744073709551616",
                                    "-9223372036854775808",
                                    "-9223372036854775809",
                                    "{\"\\n\":1,\"A\":2}",
                                    "{\"A\":1,\"\\n\":2}",
                                    std::string(32, '[') + std::string(32, ']'),
                                    std::string(33, '[') + std::string(33, ']')};
  for (const std::string& line : Lines(ReadFile(s.log_path))) texts.push_back(std::string(Split(line).body));
  std::mt19937 random(15);
  const std::size_t seeds = texts.size();
  const char alphabet[] = "{}[]\":,0123456789-eE.\\untrfalse\x7f\x80\xc3\xff ";
  for (int i = 0; i < 20000; ++i) {
    std::string text = texts[random() % seeds];
    const int edits = 1 + static_cast<int>(random() % 3);
    for (int e = 0; e < edits && !text.empty(); ++e) {
      const std::size_t at = random() % text.size();
      if (random() % 2 == 0) {
        text[at] = alphabet[random() % (sizeof alphabet - 1)];
      } else {
        text.erase(at, 1 + random() % 4);
      }
    }
    texts.push_back(text);
  }
  // Canonical JSON has integers only; nlohmann writes `1.0` back as it read it.
  std::function<bool(const nlohmann::json&)> has_float = [&](const nlohmann::json& value) {
    if (value.is_number_float()) return true;
    if (!value.is_structured()) return false;
    return std::any_of(value.begin(), value.end(), has_float);
  };
  std::size_t canonical = 0;
  for (const std::string& text : texts) {
    auto parsed = ParseUntrusted(text);
    const bool expected = parsed.ok() && Canonical(parsed.value()) == text && !has_float(parsed.value());
    std::string why;
    const bool got = IsCanonicalJson(text, &why);
    INFO("text: " << text << " (" << why << ")");
    CHECK(got == expected);
    canonical += expected ? 1 : 0;
  }
  CHECK(canonical > 40);
}

// Issue 15 §3.2: the envelope is read as a DSSE consumer must read it, gov
// writes one exact form, and only the last checkpoint's bytes are outside
// the chain.
TEST_CASE("checkpoint envelopes are read as DSSE says a consumer must, and written in one exact form",
          "[lineage][tamper][dsse]") {
  Session s;
  for (const bool bundle : {false, true}) {
    for (const Mutation& m : DsseMutations(s, bundle)) {
      Report report = Check(m.data, s.Options());
      INFO((bundle ? "bundle: " : "log: ") << m.name << ": " << FailureName(report.failure) << ": " << report.message);
      CHECK(report.failure == m.expected);
    }
  }
  // What gov writes: exactly payload, payloadType and one {keyid, sig}, the
  // key id in lower-case hex, standard base64 with padding.
  for (const std::string& line : Lines(ReadFile(s.log_path))) {
    SplitLine split = Split(line);
    auto head = ParseHead(split.head);
    REQUIRE(head.ok());
    if (head.value().type != RecordType::kCheckpoint) continue;
    const nlohmann::json envelope = nlohmann::json::parse(split.body).at("envelope");
    CHECK(envelope.size() == 3);
    CHECK(envelope.at("payloadType") == "application/vnd.in-toto+json");
    REQUIRE(envelope.at("signatures").size() == 1);
    const nlohmann::json& signature = envelope.at("signatures").at(0);
    CHECK(signature.size() == 2);
    CHECK(signature.at("keyid") == s.key.public_key().IdHex());
    for (const std::string member : {"payload", "sig"}) {
      const std::string text =
          member == "sig" ? signature.at("sig").get<std::string>() : envelope.at("payload").get<std::string>();
      auto decoded = crypto::Base64Decode(text);
      REQUIRE(decoded.ok());
      CHECK(crypto::Base64Encode(decoded.value()) == text);
    }
    CHECK(crypto::Base64Decode(signature.at("sig").get<std::string>()).value().size() == 64);
  }
}

}  // namespace
}  // namespace gov::lineage
#include "tests/support/ir_node.h"

namespace gov::lineage {
namespace {

// lineage-format.md "Verifying a log", step 6: no run is its own parent —
// not even re-signed by the right key (it is not an external parent).
TEST_CASE("a run that names itself as its parent is refused", "[lineage][tamper]") {
  Session s;
  std::vector<std::string> lines = Lines(ReadFile(s.log_path));
  const std::string empty_parent = "\"parent\":\"\"";
  const std::string self_parent = "\"parent\":\"" + s.root + "\"";
  std::size_t changed = 0;
  for (std::string& line : lines) {
    if (line.find("\"run\":\"" + s.root + "\"") == std::string::npos ||
        line.find("\"type\":\"authorization\"") == std::string::npos) {
      continue;
    }
    for (std::size_t at; (at = line.find(empty_parent)) != std::string::npos; ++changed) {
      line.replace(at, empty_parent.size(), self_parent);
    }
  }
  REQUIRE(changed == 2);  // HEAD and BODY
  Rechain(lines, 0, &s.key);
  Report report = Check(Join(lines), s.Options());
  INFO(report.message);
  CHECK(report.failure == Failure::kChain);
  CHECK(report.message.find("names itself as its parent") != std::string::npos);
  // The writer refuses to record one.
  TempDir dir;
  auto opened = OpenLog(dir.path, s.key);
  REQUIRE(opened.ok());
  const std::string run = NewRunId();
  CHECK_FALSE(opened.value()->RecordAuthorization(SampleAuthorization(run, run)).ok());
}

}  // namespace
}  // namespace gov::lineage

namespace gov::lineage {
namespace {

// A version 2 bundle rewritten as version 1 (note and proof dropped) so that
// its last checkpoint's envelope can be re-encoded unnoticed: refused.
TEST_CASE("a version 2 bundle downgraded to version 1 is refused", "[lineage][tamper]") {
  Session s;
  std::vector<std::string> lines = Lines(ReadFile(s.bundle_path));
  const nlohmann::json header = nlohmann::json::parse(lines[0]);
  REQUIRE(header.at("format") == "gov-lineage-bundle-v2");
  lines[0] = Canonical(nlohmann::json{{"format", "gov-lineage-bundle-v1"}, {"log", header.at("log")},
                                      {"root", header.at("root")}});
  Report report = Check(Join(lines), s.Options());
  INFO(report.message);
  CHECK(report.failure == Failure::kChain);
  CHECK(report.message.find("withheld") != std::string::npos);
}

TEST_CASE("an approval must be the ask's answer: a signed log that says otherwise is malformed",
          "[lineage][verify][approvals]") {
  TempDir dir;
  const crypto::PrivateKey key = TestKey(5);
  {
    auto opened = OpenLog(dir.path, key);
    REQUIRE(opened.ok());
    Authorization asked = SampleAuthorization(NewRunId(), "", "ask");
    asked.ask_answer = "yes";
    asked.approval = Approval{std::string(32, 'c'), "yes", 1001, "alice", 1767268800000000000};
    REQUIRE(opened.value()->RecordAuthorization(asked).ok());
    REQUIRE(opened.value()->Checkpoint().ok());
  }
  const std::string text = ReadFile(dir.path + "/lineage.log");
  const Report genuine = Check(text, Trusting(key));
  INFO(genuine.message);
  REQUIRE(genuine.failure == Failure::kNone);
  // Each rewritten by the key's holder, the chain and checkpoints made good.
  struct Case {
    std::string from, to, why;
  };
  for (const Case& c : std::vector<Case>{{"\"answer\":\"yes\"", "\"answer\":\"no\"", "ask_answer does not"},
                                         {"\"by_uid\":1001", "\"by_uid\":-1", "out of range"},
                                         {"\"ask\":\"cccc", "\"ask\":\"CCCC", "no ask id"},
                                         {",\"by_user\":\"alice\"", "", "not an object of"},
                                         {"\"verdict\":\"ask\"}", "\"verdict\":\"allow\"}", "not ask"}}) {
    INFO(c.from << " -> " << c.to);
    std::vector<std::string> lines = Lines(text);
    std::size_t target = lines.size();
    for (std::size_t i = 0; i < lines.size(); ++i) {
      if (lines[i].find("\"approval\"") != std::string::npos) target = i;
    }
    REQUIRE(target < lines.size());
    const std::size_t body = lines[target].find('\t');
    const std::size_t at = lines[target].rfind(c.from);
    REQUIRE((at != std::string::npos && at > body));
    lines[target].replace(at, c.from.size(), c.to);
    if (c.to == "\"verdict\":\"allow\"}") {  // the HEAD too, so that only the approval is wrong
      const std::string in_head = "\"verdict\":\"ask\"";
      lines[target].replace(lines[target].find(in_head), in_head.size(), "\"verdict\":\"allow\"");
    }
    Rechain(lines, 0, &key);
    const Report forged = Check(Join(lines), Trusting(key));
    INFO(forged.message);
    CHECK(forged.failure == Failure::kMalformed);
    CHECK(forged.message.find(c.why) != std::string::npos);
  }
}

}  // namespace
}  // namespace gov::lineage
