// govverify as a process: exit codes per failure class, text and JSON
// output, export; and the independent Python verifier
// (tests/lineage/verify_lineage.py, written from docs/lineage-format.md)
// agreeing with govverify on intact and tampered logs and bundles.
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <thread>

#include "tests/lineage/helpers.h"
#include "tests/lineage/mutations.h"

#ifndef GOV_GOVVERIFY
#define GOV_GOVVERIFY "govverify"
#endif

namespace gov::lineage {
namespace {

struct CliSession : Session {
  std::string pub = dir.path + "/key.pub";
  std::string stranger_pub = dir.path + "/stranger.pub";
  CliSession() {
    REQUIRE(crypto::WritePublicKeyFile(pub, key.public_key()).ok());
    REQUIRE(crypto::WritePublicKeyFile(stranger_pub, TestKey(99).public_key()).ok());
  }
  Ran Govverify(std::vector<std::string> args) {
    args.insert(args.begin(), GOV_GOVVERIFY);
    return RunProgram(args, dir.path);
  }
};

TEST_CASE("govverify: `-` verifies a log or bundle read from standard input", "[lineage][cli]") {
  CliSession s;
  const std::string govverify = std::string("'") + GOV_GOVVERIFY + "' --trust '" + s.pub + "'";
  Ran bundle = RunProgram(
      {"sh", "-c", govverify + " --html '" + s.dir.path + "/page.html' - < '" + s.bundle_path + "'"}, s.dir.path);
  INFO(bundle.out << bundle.err);
  CHECK(bundle.code == 0);
  CHECK(bundle.out.find("-: verified bundle") != std::string::npos);
  CHECK(ReadFile(s.dir.path + "/page.html").find("<html") != std::string::npos);
  Ran log = RunProgram({"sh", "-c", govverify + " - < '" + s.log_path + "'"}, s.dir.path);
  CHECK(log.code == 0);
  CHECK(log.out.find("-: verified log") != std::string::npos);
  // A byte changed on the way in fails as it would from a file.
  Ran tampered =
      RunProgram({"sh", "-c", "sed 's/\"deny\"/\"allow\"/' '" + s.bundle_path + "' | " + govverify + " -"}, s.dir.path);
  CHECK(tampered.code != 0);
  CHECK((tampered.out + tampered.err).find("FAILED") != std::string::npos);
  Ran twice = s.Govverify({"--trust", s.pub, "-", "-"});
  CHECK(twice.code == 64);
}

TEST_CASE("govverify: exit codes per failure class, text and JSON", "[lineage][cli]") {
  CliSession s;
  Ran ok = s.Govverify({"--trust", s.pub, s.dir.path, s.bundle_path});
  INFO(ok.out << ok.err);
  CHECK(ok.code == 0);
  CHECK(ok.out.find("verified log") != std::string::npos);
  CHECK(ok.out.find("verified bundle") != std::string::npos);
  CHECK(ok.out.find("runs: 4 (allow 3, deny 1, ask 0), incomplete 0") != std::string::npos);

  Ran replay = s.Govverify({"--trust", s.pub, "--policy", s.policy_path, "--replay", s.log_path, s.bundle_path});
  INFO(replay.out << replay.err);
  CHECK(replay.code == 0);
  CHECK(replay.out.find("4 decisions bound, 4 replayed") != std::string::npos);

  Ran json = s.Govverify({"--trust", s.pub, "--format", "json", s.bundle_path});
  CHECK(json.code == 0);
  auto parsed = nlohmann::json::parse(json.out);
  CHECK(parsed.at("exit_code") == 0);
  CHECK(parsed.at("results").at(0).at("kind") == "bundle");
  CHECK(parsed.at("results").at(0).at("root") == s.root);
  CHECK(parsed.at("results").at(0).at("runs") == 3);
  CHECK(parsed.at("results").at(0).at("failure").is_null());

  // signature: only the stranger's key is pinned.
  Ran untrusted = s.Govverify({"--trust", s.stranger_pub, s.log_path});
  CHECK(untrusted.code == 1);
  CHECK(untrusted.out.find("FAILED (signature)") != std::string::npos);

  // chain: a deleted record.
  std::vector<std::string> lines = Lines(ReadFile(s.log_path));
  lines.erase(lines.begin() + 2);
  WriteFile(s.dir.path + "/deleted.log", Join(lines));
  Ran deleted = s.Govverify({"--trust", s.pub, "--format", "json", s.dir.path + "/deleted.log"});
  CHECK(deleted.code == 2);
  auto failure = nlohmann::json::parse(deleted.out).at("results").at(0).at("failure");
  CHECK(failure.at("class") == "chain");
  CHECK(failure.at("record") == 3);
  CHECK(failure.at("line") == 3);

  // binding: another policy.
  std::string v2 = s.dir.path + "/v2.govb";
  WriteTestBundle(v2, s.key, "2");
  CHECK(s.Govverify({"--trust", s.pub, "--policy", v2, s.log_path}).code == 3);

  // replay: an altered verdict, re-signed with the right key.
  lines = Lines(ReadFile(s.bundle_path));
  for (auto& line : lines) {
    if (line.find(s.child_curl) != std::string::npos && line.find("\"exec\":false") != std::string::npos) {
      line.replace(line.find("\"exec\":false"), 12, "\"exec\":true");
      line.replace(line.find("\"execute\":false"), 15, "\"execute\":true");
      while (line.find("\"verdict\":\"deny\"") != std::string::npos) {
        line.replace(line.find("\"verdict\":\"deny\""), 16, "\"verdict\":\"allow\"");
      }
    }
  }
  Rechain(lines, 1, &s.key);
  WriteFile(s.dir.path + "/forged.bundle", Join(lines));
  // Signatures and chain are fine, but the executed run has no end: a
  // bundle must carry its whole tree.
  CHECK(s.Govverify({"--trust", s.pub, s.dir.path + "/forged.bundle"}).code == 2);
  Ran forged = s.Govverify({"--trust", s.pub, "--policy", s.policy_path, "--replay", s.dir.path + "/forged.bundle"});
  CHECK(forged.code == 4);
  CHECK(forged.out.find("FAILED (replay)") != std::string::npos);

  // malformed, usage, unreadable.
  WriteFile(s.dir.path + "/garbage", "not a log\n");
  CHECK(s.Govverify({"--trust", s.pub, s.dir.path + "/garbage"}).code == 5);
  CHECK(s.Govverify({s.log_path}).code == 64);
  CHECK(s.Govverify({"--trust", s.pub, "--replay", s.log_path}).code == 64);
  CHECK(s.Govverify({"--trust", s.pub, "--format", "xml", s.log_path}).code == 64);
  // A usage error is one line and where the help is; every subcommand has --help.
  const Ran unknown = s.Govverify({"--bogus", s.log_path});
  CHECK(unknown.code == 64);
  CHECK(unknown.err ==
        "govverify: unknown option --bogus\ngovverify: usage: govverify [OPTIONS] PATH... (govverify --help)\n");
  for (const char* subcommand : {"export", "list", "show", "note-key"}) {
    const Ran help = s.Govverify({subcommand, "--help"});
    INFO(subcommand);
    CHECK(help.code == 0);
    CHECK(help.out.find("govverify export LOG_OR_DIR RUN_ID -o BUNDLE") != std::string::npos);
  }
  CHECK(s.Govverify({"--trust", s.pub, s.dir.path + "/missing"}).code == 66);
  // The first failing PATH decides the exit code.
  CHECK(s.Govverify({"--trust", s.pub, s.log_path, s.dir.path + "/garbage", s.dir.path + "/deleted.log"}).code == 5);
}

TEST_CASE("govverify key roles: a policy key cannot vouch for lineage, nor a lineage key for a policy",
          "[lineage][cli]") {
  CliSession s;
  // The log re-signed with another key (say, the policy signer's).
  std::vector<std::string> lines = Lines(ReadFile(s.log_path));
  const crypto::PrivateKey policy_signer = TestKey(99);
  Rechain(lines, 0, &policy_signer);
  const std::string resigned = s.dir.path + "/resigned.log";
  WriteFile(resigned, Join(lines));
  Ran roles = s.Govverify({"--lineage-key", s.pub, "--policy-key", s.stranger_pub, resigned});
  INFO(roles.out << roles.err);
  CHECK(roles.code == 1);  // signature: not a lineage key
  // --trust gives a key both roles (what the finding exploited; documented).
  CHECK(s.Govverify({"--trust", s.pub, "--trust", s.stranger_pub, resigned}).code == 0);
  // A lineage key does not make a policy bundle trusted.
  Ran unbound = s.Govverify({"--lineage-key", s.pub, "--policy", s.policy_path, s.log_path});
  CHECK(unbound.code == 3);
  Ran bound =
      s.Govverify({"--lineage-key", s.pub, "--policy-key", s.pub, "--policy", s.policy_path, "--replay", s.log_path});
  INFO(bound.out << bound.err);
  CHECK(bound.code == 0);
  CHECK(s.Govverify({"--policy-key", s.pub, s.log_path}).code == 64);  // no lineage key at all
}

TEST_CASE("govverify --since: a log that grew passes, a rollback, a fork or another log fails", "[lineage][cli]") {
  CliSession s;
  const std::string seen = s.dir.path + "/seen.checkpoint";
  Ran saved = s.Govverify({"--trust", s.pub, "--save-checkpoint", seen, s.log_path});
  INFO(saved.out << saved.err);
  REQUIRE(saved.code == 0);
  // The lineage directory as it was then: log, checkpoint note, tiles.
  TempDir early;
  const auto copy_lineage = [](const std::string& from, const std::string& to) {
    for (const char* name : {"lineage.log", "checkpoint", "checkpoint.sigstore.json", "tlog.state", "tile"}) {
      const std::filesystem::path source = from + "/" + name;
      if (std::filesystem::exists(source)) {
        std::filesystem::copy(source, to + "/" + name, std::filesystem::copy_options::recursive);
      }
    }
  };
  copy_lineage(s.dir.path, early.path);
  auto policy = bundle::LoadBundleFile(s.policy_path, {s.key.public_key()}, bundle::LoadOptions{});
  REQUIRE(policy.ok());
  {
    auto log = OpenLog(s.dir.path, s.key);
    REQUIRE(log.ok());
    GovernedRun(*log.value(), policy.value(), MakeRequest("git"));
  }
  Ran grown = s.Govverify({"--trust", s.pub, "--since", seen, s.log_path});
  INFO(grown.out << grown.err);
  CHECK(grown.code == 0);
  const std::string seen_later = s.dir.path + "/seen-later.checkpoint";
  REQUIRE(s.Govverify({"--trust", s.pub, "--save-checkpoint", seen_later, s.log_path}).code == 0);

  // Rolled back to the state of the first checkpoint: valid on its own.
  TempDir rolled;
  copy_lineage(early.path, rolled.path);
  Ran alone = s.Govverify({"--trust", s.pub, rolled.path});
  INFO(alone.out << alone.err);
  CHECK(alone.code == 0);
  Ran rollback = s.Govverify({"--trust", s.pub, "--since", seen_later, rolled.path});
  INFO(rollback.out << rollback.err);
  CHECK(rollback.code == 2);
  CHECK(rollback.out.find("rollback: the log has 15 records, fewer than the 19 of the checkpoint seen earlier") !=
        std::string::npos);

  // A fork: the early state, then other runs signed with the same key.
  {
    auto log = OpenLog(rolled.path, s.key);
    REQUIRE(log.ok());
    GovernedRun(*log.value(), policy.value(), MakeRequest("make"));
    GovernedRun(*log.value(), policy.value(), MakeRequest("make"));  // longer than the log that was seen
  }
  CHECK(s.Govverify({"--trust", s.pub, "--since", seen, rolled.path}).code == 0);  // extends the first
  Ran fork = s.Govverify({"--trust", s.pub, "--since", seen_later, rolled.path});
  INFO(fork.out << fork.err);
  CHECK(fork.code == 2);
  CHECK(fork.out.find("fork: the log's first 19 records are not the tree the checkpoint seen earlier") !=
        std::string::npos);

  // Another log in its place.
  TempDir other;
  {
    auto log = OpenLog(other.path, s.key);
    REQUIRE(log.ok());
    GovernedRun(*log.value(), policy.value(), MakeRequest("git"));
    GovernedRun(*log.value(), policy.value(), MakeRequest("git"));
    GovernedRun(*log.value(), policy.value(), MakeRequest("git"));
  }
  Ran replaced = s.Govverify({"--trust", s.pub, "--since", seen, other.path});
  INFO(replaced.out << replaced.err);
  CHECK(replaced.code == 2);
  CHECK(replaced.out.find("another log was put in this") != std::string::npos);

  // Usage: a bundle has no place in a log's history; garbage is not a checkpoint.
  CHECK(s.Govverify({"--trust", s.pub, "--since", seen, s.bundle_path}).code == 64);
  WriteFile(s.dir.path + "/garbage", "not a checkpoint\n");
  CHECK(s.Govverify({"--trust", s.pub, "--since", s.dir.path + "/garbage", s.log_path}).code == 64);
}

TEST_CASE("govverify export writes a bundle that verifies", "[lineage][cli]") {
  CliSession s;
  std::string out = s.dir.path + "/exported.bundle";
  Ran exported = s.Govverify({"export", s.dir.path, s.child_make, "-o", out});
  INFO(exported.err);
  REQUIRE(exported.code == 0);
  Ran verified = s.Govverify({"--trust", s.pub, "--policy", s.policy_path, "--replay", "--format", "json", out});
  INFO(verified.out);
  CHECK(verified.code == 0);
  auto result = nlohmann::json::parse(verified.out).at("results").at(0);
  CHECK(result.at("root") == s.child_make);
  CHECK(result.at("root_parent") == s.root);  // a nested run: its parent is outside this bundle
  CHECK(result.at("runs") == 1);
  CHECK(s.Govverify({"export", s.dir.path, std::string(32, 'f'), "-o", out}).code == 66);
  CHECK(s.Govverify({"export", s.dir.path, "nonsense", "-o", out}).code == 66);
  CHECK(s.Govverify({"export", s.dir.path}).code == 64);
}

// Finding 15: `govverify export -o FIFO` replaced the FIFO with a file.
TEST_CASE("govverify export -o: a FIFO is written to, a symlink written through, a directory refused",
          "[lineage][cli][output]") {
  CliSession s;
  const std::string reference = s.dir.path + "/reference.bundle";
  REQUIRE(s.Govverify({"export", s.dir.path, s.child_make, "-o", reference}).code == 0);
  const std::string bundle = ReadFile(reference);
  REQUIRE(!bundle.empty());

  const std::string fifo = s.dir.path + "/fifo";
  REQUIRE(mkfifo(fifo.c_str(), 0600) == 0);
  std::string got;
  std::thread reader([&] {
    const int fd = open(fifo.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return;
    char buffer[4096];
    ssize_t n;
    while ((n = read(fd, buffer, sizeof buffer)) > 0) got.append(buffer, static_cast<std::size_t>(n));
    close(fd);
  });
  Ran to_fifo = s.Govverify({"export", s.dir.path, s.child_make, "-o", fifo});
  reader.join();
  INFO(to_fifo.err);
  CHECK(to_fifo.code == 0);
  CHECK(got == bundle);
  struct stat st {};
  REQUIRE(lstat(fifo.c_str(), &st) == 0);
  CHECK(S_ISFIFO(st.st_mode));

  const std::string link = s.dir.path + "/link.bundle";
  REQUIRE(symlink("reference.bundle", link.c_str()) == 0);
  WriteFile(reference, "old");
  CHECK(s.Govverify({"export", s.dir.path, s.child_make, "-o", link}).code == 0);
  REQUIRE(lstat(link.c_str(), &st) == 0);
  CHECK(S_ISLNK(st.st_mode));
  CHECK(ReadFile(reference) == bundle);

  const std::string dir = s.dir.path + "/adir";
  REQUIRE(mkdir(dir.c_str(), 0700) == 0);
  Ran to_dir = s.Govverify({"export", s.dir.path, s.child_make, "-o", dir});
  CHECK(to_dir.code == 66);
  CHECK(to_dir.err.find("is a directory, not a file to write; nothing was written") != std::string::npos);
}

// Writes `variants` to files and runs the Python verifier over all of them at
// once; checks it agrees with govverify's class for every one.
void AgreeWithPython(CliSession& s, const std::vector<std::string>& variants, const std::string& tag) {
  std::string dir = s.dir.path + "/" + tag;
  REQUIRE(mkdir(dir.c_str(), 0700) == 0);
  std::vector<std::string> args = {"python3", std::string(GOV_SOURCE_DIR) + "/tests/lineage/verify_lineage.py",
                                   "--trust", s.pub};
  std::vector<Failure> expected;
  for (std::size_t i = 0; i < variants.size(); ++i) {
    std::string path = dir + "/" + std::to_string(i);
    WriteFile(path, variants[i]);
    args.push_back(path);
    expected.push_back(VerifyBytes(variants[i], path, s.Options()).failure);
  }
  Ran ran = RunProgram(args, s.dir.path);
  INFO(ran.err);
  REQUIRE(ran.code != 64);
  std::vector<std::string> lines = Lines(ran.out);
  REQUIRE(lines.size() == variants.size());
  for (std::size_t i = 0; i < variants.size(); ++i) {
    std::string cls = lines[i].substr(lines[i].find('\t') + 1);
    cls = cls.substr(0, cls.find('\t'));
    INFO(tag << " variant " << i << ": python says " << lines[i] << "; govverify says " << FailureName(expected[i]));
    CHECK(cls == FailureName(expected[i]));
  }
}

TEST_CASE("an independent Python verifier agrees with govverify", "[lineage][python]") {
  if (RunProgram({"python3", "-c", "pass"}, "/tmp").code != 0) FAIL("python3 is required for this test");
  CliSession s;
  for (const std::string& path : {s.log_path, s.bundle_path}) {
    const std::string data = ReadFile(path);
    const bool bundle = path == s.bundle_path;
    std::vector<std::string> variants = {data};
    for (std::size_t i = 0; i < data.size(); i += bundle ? 7 : 13) {
      std::string copy = data;
      copy[i] = static_cast<char>(copy[i] ^ (i % 4 == 1 ? 0x80 : 0x01));
      variants.push_back(copy);
    }
    std::vector<std::string> lines = Lines(data);
    for (std::size_t i = 0; i < lines.size(); ++i) {
      std::vector<std::string> removed = lines;
      removed.erase(removed.begin() + static_cast<long>(i));
      variants.push_back(Join(removed));
      if (i + 1 < lines.size()) {
        std::vector<std::string> swapped = lines;
        std::swap(swapped[i], swapped[i + 1]);
        variants.push_back(Join(swapped));
      }
    }
    for (std::size_t n = 1; n < data.size(); n += 97) variants.push_back(data.substr(0, n));
    std::vector<std::string> resigned = lines;
    resigned[1].replace(resigned[1].find("/usr/bin/git"), 12, "/usr/bin/gjt");
    crypto::PrivateKey stranger = TestKey(99);
    Rechain(resigned, bundle ? 1 : 0, &stranger);
    variants.push_back(Join(resigned));
    AgreeWithPython(s, variants, bundle ? "bundle" : "log");
  }
  // A log with a recovered torn write.
  std::string log = ReadFile(s.log_path);
  REQUIRE(truncate(s.log_path.c_str(), static_cast<off_t>(log.size() - 50)) == 0);
  {
    auto opened = OpenLog(s.dir.path, s.key);
    REQUIRE(opened.ok());
    REQUIRE(opened.value()->Checkpoint().ok());
  }
  std::string recovered = ReadFile(s.log_path);
  REQUIRE(VerifyBytes(recovered, "recovered", s.Options()).recoveries == 1);
  std::string bad_recovery = recovered;
  bad_recovery[log.size() - 60] ^= 0x01;  // inside the kept torn bytes
  AgreeWithPython(s, {recovered, bad_recovery, log.substr(0, log.size() - 50)}, "recovered");
}

// Issue 15 §3: BODYs against HEADs and DSSE envelopes, in govverify and in
// the Python verifier (which reads docs/lineage-format.md, not govverify).
TEST_CASE("the Python verifier agrees on BODYs against HEADs and on DSSE envelopes", "[lineage][python]") {
  if (RunProgram({"python3", "-c", "pass"}, "/tmp").code != 0) FAIL("python3 is required for this test");
  CliSession s;
  for (const bool bundle : {false, true}) {
    std::vector<Mutation> mutations = BodyHeadMutations(s, bundle);
    for (Mutation& m : DsseMutations(s, bundle)) mutations.push_back(std::move(m));
    std::vector<std::string> variants;
    for (const Mutation& m : mutations) {
      INFO(m.name);
      CHECK(VerifyBytes(m.data, m.name, s.Options()).failure == m.expected);
      variants.push_back(m.data);
    }
    AgreeWithPython(s, variants, bundle ? "body-dsse-bundle" : "body-dsse-log");
  }
  // The finding as reported: a HEAD allow over a BODY deny, re-signed, passed
  // `govverify --replay` with exit 0 (replay read the BODY's deny).
  for (const Mutation& m : BodyHeadMutations(s, false)) {
    if (m.name != "HEAD allow over BODY deny") continue;
    const std::string path = s.dir.path + "/allow-over-deny.log";
    WriteFile(path, m.data);
    Ran ran = s.Govverify({"--trust", s.pub, "--policy", s.policy_path, "--replay", path});
    INFO(ran.out << ran.err);
    CHECK(ran.code == 2);
    CHECK(ran.out.find("FAILED (chain)") != std::string::npos);
  }
}

}  // namespace
}  // namespace gov::lineage
