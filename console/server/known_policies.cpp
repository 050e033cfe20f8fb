// Reading the bundles given with `govconsole --policy` (docs/console.md "Policies").
#include "console/server/known_policies.h"

#include "runtime/bundle/bundle.h"
#include "runtime/bundle/loader.h"
#include "runtime/interp/interp.h"
#include "runtime/ir/serialize.h"

namespace gov::console {

ErrorOr<KnownPolicy> ReadKnownPolicy(const std::string& file, const std::vector<PinnedKey>& keys) {
  std::vector<crypto::PublicKey> trusted;
  std::vector<const PinnedKey*> pinned;
  for (const PinnedKey& key : keys) {
    if (key.role != "policy" && key.role != "both") continue;
    trusted.push_back(key.key);
    pinned.push_back(&key);
  }
  if (trusted.empty()) return Error{"--policy " + file + ": no --policy-key or --trust key to verify it with"};
  auto bytes = bundle::ReadBundleFile(file);
  if (!bytes.ok()) return Error{"--policy " + file + ": " + bytes.error().message};
  auto verified = bundle::VerifyBundle(bytes.value(), trusted);
  if (!verified.ok()) return Error{"--policy " + file + ": " + verified.error().message};
  const bundle::VerifiedBundle& bundle = verified.value();
  auto policy = ir::Deserialize(bundle.ir);
  if (!policy.ok()) return Error{"--policy " + file + ": its IR does not decode: " + policy.error().message};
  KnownPolicy known;
  known.file = file;
  known.digest = bundle.digest;
  known.name = bundle.manifest.policy_name;
  known.version = bundle.manifest.policy_version;
  known.created = bundle.manifest.created;
  known.compiler = bundle.manifest.compiler_version;
  for (const PinnedKey* key : pinned) {
    if (key->key == bundle.signer) {
      known.signer_id = key->key.IdHex();
      known.signer_file = key->file;
      break;
    }
  }
  for (const ir::Rule& rule : policy.value().rules) {
    known.rules.push_back({rule.name, interp::VerdictName(static_cast<std::uint32_t>(rule.verdict)), rule.reason});
  }
  if (bundle.tests) {
    auto tests = bundle::ParseBuildTests(*bundle.tests);
    if (!tests.ok()) return Error{"--policy " + file + ": " + tests.error().message};
    if (tests.value().rules != known.rules.size()) {
      return Error{"--policy " + file + ": the TESTS section counts " + std::to_string(tests.value().rules) +
                   " rules, the policy has " + std::to_string(known.rules.size())};
    }
    known.tests = std::move(tests).value();
  }
  return known;
}

}  // namespace gov::console
