// The bridge to Sigstore (docs/lineage-format.md "Transparency log"): the
// `checkpoint.sigstore.json` published beside each checkpoint is a Sigstore
// bundle v0.3 that sigstore-js (@sigstore/verify, from npm; ./gov.sh
// installs it under build/node) verifies offline with the lineage key, and
// refuses with another key or a changed statement.
#include <catch2/catch.hpp>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "runtime/crypto/ed25519.h"
#include "runtime/lineage/publish.h"
#include "tests/lineage/helpers.h"

namespace gov::lineage {
namespace {

TEST_CASE("sigstore: the published checkpoint bundle verifies with sigstore-js, only with the lineage key",
          "[lineage][sigstore]") {
  const std::string modules = std::string(GOV_SOURCE_DIR) + "/build/node/node_modules";
  INFO("sigstore-js is installed by ./gov.sh deps (or test) under " << modules);
  REQUIRE(std::filesystem::exists(modules + "/@sigstore/verify"));
  TempDir dir;
  const crypto::PrivateKey key = TestKey(7);
  {
    auto opened = OpenLog(dir.path, key);
    REQUIRE(opened.ok());
    const std::string run = NewRunId();
    REQUIRE(opened.value()->RecordAuthorization(SampleAuthorization(run, "")).ok());
    REQUIRE(opened.value()->Checkpoint().ok());
  }
  const std::string bundle = dir.path + "/checkpoint.sigstore.json";
  const std::string right = dir.path + "/lineage.pub", wrong = dir.path + "/other.pub";
  WriteFile(right, key.public_key().ToPem());
  WriteFile(wrong, TestKey(99).public_key().ToPem());
  const std::string env = "NODE_PATH=" + modules;
  auto verify = [&](const std::string& file, const std::string& pub) {
    return RunProgram({"/usr/bin/env", env, "node",
                       std::string(GOV_SOURCE_DIR) + "/tests/lineage/sigstore/verify_bundle.js", file, pub},
                      dir.path);
  };
  Ran ok = verify(bundle, right);
  INFO(ok.out << ok.err);
  CHECK(ok.code == 0);
  CHECK(ok.out == "verified https://gov.dev/lineage/checkpoint/v2\n");
  // The envelope is the last checkpoint record's, byte for byte.
  const nlohmann::json parsed = nlohmann::json::parse(ReadFile(bundle));
  CHECK(parsed.at("mediaType") == "application/vnd.dev.sigstore.bundle.v0.3+json");
  CHECK(parsed.at("verificationMaterial").at("publicKey").at("hint") == key.public_key().IdHex());
  const std::vector<std::string> lines = Lines(ReadFile(dir.path + "/lineage.log"));
  CHECK(nlohmann::json::parse(Split(lines.back()).body).at("envelope") == parsed.at("dsseEnvelope"));

  Ran other_key = verify(bundle, wrong);
  INFO(other_key.out << other_key.err);
  CHECK(other_key.code == 1);
  CHECK(other_key.out.starts_with("not verified"));
  // Another statement under the same signature.
  nlohmann::json changed = parsed;
  auto statement = crypto::Base64Decode(changed["dsseEnvelope"]["payload"].get<std::string>());
  REQUIRE(statement.ok());
  std::string altered = statement.value();
  altered.replace(altered.find("\"count\":"), 9, "\"count\":9");
  changed["dsseEnvelope"]["payload"] = crypto::Base64Encode(altered);
  const std::string changed_path = dir.path + "/changed.sigstore.json";
  WriteFile(changed_path, changed.dump());
  Ran tampered = verify(changed_path, right);
  INFO(tampered.out << tampered.err);
  CHECK(tampered.code == 1);
}

}  // namespace
}  // namespace gov::lineage
