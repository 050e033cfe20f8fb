// Reading the bundles given with `govconsole --policy` (docs/console.md "Policies").
#include "console/server/known_policies.h"

#include "runtime/bundle/loader.h"

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
  bundle::LoadOptions options;
  options.allow_native = false;
  auto loaded = bundle::LoadBundleFile(file, trusted, options);
  if (!loaded.ok()) return Error{"--policy " + file + ": " + loaded.error().message};
  const bundle::LoadedPolicy& policy = loaded.value();
  KnownPolicy known;
  known.file = file;
  known.digest = policy.digest();
  known.name = policy.manifest().policy_name;
  known.version = policy.manifest().policy_version;
  known.created = policy.manifest().created;
  known.compiler = policy.manifest().compiler_version;
  for (const PinnedKey* key : pinned) {
    if (key->key == policy.signer()) {
      known.signer_id = key->key.IdHex();
      known.signer_file = key->file;
      break;
    }
  }
  for (const ir::Rule& rule : policy.policy().rules) {
    known.rules.push_back({rule.name,
                           rule.verdict == ir::Verdict::kAllow  ? "allow"
                           : rule.verdict == ir::Verdict::kDeny ? "deny"
                                                                : "ask",
                           rule.reason});
  }
  return known;
}

}  // namespace gov::console
