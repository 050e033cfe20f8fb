// Witnessing (docs/govd.md "Witnessing"): two hosts' govd witnesses cosign
// each other's published lineage logs (C2SP tlog-cosignature) only while
// those logs grow consistently; govverify --witness requires the cosignature.
#include "runtime/service/witness.h"

#include <catch2/catch.hpp>
#include <filesystem>

#include "runtime/lineage/publish.h"
#include "runtime/lineage/verify.h"
#include "runtime/tlog/cosignature.h"
#include "runtime/tlog/note.h"
#include "tests/lineage/helpers.h"

namespace gov::lineage {
namespace {

namespace fs = std::filesystem;
using service::WitnessLog;
using service::WitnessOptions;
using service::WitnessVerdict;

std::string LogIdOf(const std::string& dir) {
  const std::string log = ReadFile(dir + "/lineage.log");
  return log.substr(log.find("\"log\":\"") + 7, 32);
}

// One host: its lineage log (key `lineage`) and its witness (key `witness`)
// with the state of what it cosigned.
struct Host {
  std::string name;
  TempDir lineage_dir;
  TempDir state;
  crypto::PrivateKey lineage;
  crypto::PrivateKey witness;

  Host(std::string host, std::uint8_t seed)
      : name(std::move(host)), lineage(TestKey(seed)), witness(TestKey(seed + 1)) {}

  WitnessOptions Witnessing(const Host& other, std::uint64_t now = 1795900000) const {
    return WitnessOptions{"witness." + name + ".example/gov", witness, state.path, {other.lineage.public_key()}, now};
  }
  std::string Cosigned(const Host& other) const {
    return state.path + "/" + LogIdOf(other.lineage_dir.path) + "/checkpoint";
  }
};

Report VerifyWitnessed(const Host& log_host, const std::string& seen, const std::vector<crypto::PublicKey>& witnesses) {
  VerifyOptions options = Trusting(log_host.lineage);
  options.since_checkpoint = seen;
  options.witnesses = witnesses;
  return Verify(log_host.lineage_dir.path, options);
}

TEST_CASE("witness: two hosts witness each other's logs", "[lineage][witness]") {
  Host a("host-a", 10), b("host-b", 20);
  AppendSampleRuns(a.lineage_dir.path, a.lineage, 2);
  AppendSampleRuns(b.lineage_dir.path, b.lineage, 3);

  // Each host's witness cosigns the other's log (first sight).
  for (const auto& [witness, log] : {std::pair<Host*, Host*>{&a, &b}, {&b, &a}}) {
    auto outcome = WitnessLog(log->lineage_dir.path, witness->Witnessing(*log));
    REQUIRE(outcome.ok());
    INFO(outcome.value().message);
    CHECK(outcome.value().verdict == WitnessVerdict::kCosigned);
    CHECK(outcome.value().previous_size == 0);
    CHECK(outcome.value().cosigned_path == witness->Cosigned(*log));
    // The cosigned note: the log's signature and the witness's cosignature.
    auto note = tlog::ParseNote(ReadFile(outcome.value().cosigned_path));
    REQUIRE(note.ok());
    CHECK(note.value().signatures.size() == 2);
    auto cosignature = tlog::FindCosignature(note.value(), witness->witness.public_key());
    REQUIRE(cosignature.ok());
    CHECK(cosignature.value().name == "witness." + witness->name + ".example/gov");
    CHECK(cosignature.value().timestamp == 1795900000);
  }
  // An auditor who pins B's lineage key and A's witness key verifies B's log
  // against what A's witness saw.
  Report verified = VerifyWitnessed(b, ReadFile(a.Cosigned(b)), {a.witness.public_key()});
  INFO(verified.message);
  CHECK(verified.failure == Failure::kNone);
  REQUIRE(verified.witnessed_by.size() == 1);
  CHECK(verified.witnessed_by[0] == "witness.host-a.example/gov at 1795900000");
  // The log grows; the witness cosigns the larger tree after checking the
  // consistency proof read from the tiles.
  AppendSampleRuns(b.lineage_dir.path, b.lineage, 70);
  auto grown = WitnessLog(b.lineage_dir.path, a.Witnessing(b, 1795900060));
  REQUIRE(grown.ok());
  CHECK(grown.value().verdict == WitnessVerdict::kCosigned);
  CHECK(grown.value().previous_size == 13);
  CHECK(grown.value().size == 293);
  CHECK(VerifyWitnessed(b, ReadFile(a.Cosigned(b)), {a.witness.public_key()}).failure == Failure::kNone);

  // Without the cosignature, or with another witness's key, or with the
  // cosignature altered: signature.
  CHECK(VerifyWitnessed(b, ReadFile(b.lineage_dir.path + "/checkpoint"), {a.witness.public_key()}).failure ==
        Failure::kSignature);
  CHECK(VerifyWitnessed(b, ReadFile(a.Cosigned(b)), {b.witness.public_key()}).failure == Failure::kSignature);
  std::string altered = ReadFile(a.Cosigned(b));
  const std::size_t last_line = altered.rfind("\xe2\x80\x94 ");
  const std::size_t at = altered.find(' ', last_line + 4) + 20;
  altered[at] = altered[at] == 'A' ? 'B' : 'A';
  CHECK(VerifyWitnessed(b, altered, {a.witness.public_key()}).failure == Failure::kSignature);
}

TEST_CASE("witness: a rolled-back or forked log is not cosigned", "[lineage][witness][tamper]") {
  Host a("host-a", 10), b("host-b", 20);
  AppendSampleRuns(b.lineage_dir.path, b.lineage, 3);
  TempDir earlier;
  fs::copy(b.lineage_dir.path, earlier.path, fs::copy_options::recursive | fs::copy_options::overwrite_existing);
  AppendSampleRuns(b.lineage_dir.path, b.lineage, 2);
  REQUIRE(WitnessLog(b.lineage_dir.path, a.Witnessing(b)).value().verdict == WitnessVerdict::kCosigned);
  const std::string cosigned = ReadFile(a.Cosigned(b));

  // Rollback: the directory as it was before.
  auto rolled_back = WitnessLog(earlier.path, a.Witnessing(b));
  REQUIRE(rolled_back.ok());
  CHECK(rolled_back.value().verdict == WitnessVerdict::kInconsistent);
  CHECK(rolled_back.value().message.find("rollback") == 0);
  CHECK(ReadFile(a.Cosigned(b)) == cosigned);  // nothing written

  // Forks by someone holding B's lineage key: the earlier state continued
  // differently, to the same size and beyond.
  AppendSampleRuns(earlier.path, b.lineage, 2);
  auto same_size = WitnessLog(earlier.path, a.Witnessing(b));
  REQUIRE(same_size.ok());
  CHECK(same_size.value().verdict == WitnessVerdict::kInconsistent);
  CHECK(same_size.value().message.find("fork") == 0);
  AppendSampleRuns(earlier.path, b.lineage, 1);
  auto longer = WitnessLog(earlier.path, a.Witnessing(b));
  REQUIRE(longer.ok());
  CHECK(longer.value().verdict == WitnessVerdict::kInconsistent);
  CHECK(longer.value().message.find("fork") == 0);
  CHECK(ReadFile(a.Cosigned(b)) == cosigned);
  // The fork still verifies on its own; against the witnessed note it does not.
  Report forked = VerifyWitnessed(b, cosigned, {a.witness.public_key()});
  CHECK(forked.failure == Failure::kNone);  // b itself is the real log
  VerifyOptions options = Trusting(b.lineage);
  options.since_checkpoint = cosigned;
  options.witnesses = {a.witness.public_key()};
  CHECK(Verify(earlier.path, options).failure == Failure::kChain);

  // A log signed by a key the witness does not pin is not cosigned.
  Host stranger("stranger", 30);
  AppendSampleRuns(stranger.lineage_dir.path, stranger.lineage, 1);
  auto unsigned_log = WitnessLog(stranger.lineage_dir.path, a.Witnessing(b));
  REQUIRE(unsigned_log.ok());
  CHECK(unsigned_log.value().verdict == WitnessVerdict::kUnsigned);

  // The witness's own state is checked too: a planted note without its
  // cosignature is an error, and is not overwritten.
  WriteFile(a.Cosigned(b), ReadFile(b.lineage_dir.path + "/checkpoint"));
  CHECK_FALSE(WitnessLog(b.lineage_dir.path, a.Witnessing(b)).ok());
}

#ifdef GOV_GOVD
TEST_CASE("witness: govd witness cosigns, refuses a rollback with exit 2, and govverify --witness agrees",
          "[lineage][witness][cli]") {
  Host a("host-a", 10), b("host-b", 20);
  AppendSampleRuns(b.lineage_dir.path, b.lineage, 2);
  TempDir keys;
  const std::string witness_key = keys.path + "/witness.key", witness_pub = keys.path + "/witness.pub",
                    log_pub = keys.path + "/lineage-b.pub";
  WriteFile(witness_key, a.witness.ToPem());
  WriteFile(witness_pub, a.witness.public_key().ToPem());
  WriteFile(log_pub, b.lineage.public_key().ToPem());
  chmod(witness_key.c_str(), 0600);
  TempDir earlier;
  fs::copy(b.lineage_dir.path, earlier.path, fs::copy_options::recursive | fs::copy_options::overwrite_existing);
  AppendSampleRuns(b.lineage_dir.path, b.lineage, 1);
  auto witness = [&](const std::string& dir) {
    return RunProgram({GOV_GOVD, "witness", "--name", "witness.host-a.example/gov", "--key", witness_key, "--log-key",
                       log_pub, "--state", a.state.path, dir},
                      keys.path);
  };
  Ran cosigned = witness(b.lineage_dir.path);
  INFO(cosigned.out << cosigned.err);
  CHECK(cosigned.code == 0);
  CHECK(cosigned.out.find("cosigned log " + LogIdOf(b.lineage_dir.path) + " at 13 records (first sight)") !=
        std::string::npos);
  Ran refused = witness(earlier.path);
  INFO(refused.out << refused.err);
  CHECK(refused.code == 2);
  CHECK(refused.err.find("not cosigned: rollback") != std::string::npos);
  Ran verified = RunProgram(
      {GOV_GOVVERIFY, "--lineage-key", log_pub, "--witness", witness_pub, "--since", a.Cosigned(b), b.lineage_dir.path},
      keys.path);
  INFO(verified.out << verified.err);
  CHECK(verified.code == 0);
  CHECK(verified.out.find("witnessed: the --since checkpoint is cosigned by witness.host-a.example/gov at ") !=
        std::string::npos);
  Ran caught = RunProgram(
      {GOV_GOVVERIFY, "--lineage-key", log_pub, "--witness", witness_pub, "--since", a.Cosigned(b), earlier.path},
      keys.path);
  CHECK(caught.code == 2);
  CHECK(RunProgram({GOV_GOVVERIFY, "--lineage-key", log_pub, "--witness", log_pub, "--since", a.Cosigned(b),
                    b.lineage_dir.path},
                   keys.path)
            .code == 64);
}
#endif

}  // namespace
}  // namespace gov::lineage
