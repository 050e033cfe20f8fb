// Policy bundles the console is given (`govconsole --policy FILE.govb`): each
// verified under a pinned policy key at start, so the Policies view can say
// who signed the bundle behind a digest in the log, list every rule it has
// (also those that never decided) and how many of them the log exercised.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "console/viewer/proof_viewer.h"
#include "runtime/bundle/build_tests.h"
#include "runtime/support/error_or.h"

namespace gov::console {

// One rule of a known bundle, by its index (the rule id lineage records).
struct KnownRule {
  std::string name;
  std::string verdict;  // "allow" | "deny" | "ask"
  std::string reason;
};

// A bundle read and verified at start.
struct KnownPolicy {
  std::string file;
  std::string digest;       // "sha256:…" of the whole file (what authorizations record)
  std::string name, version;
  std::string created;      // the manifest's RFC 3339 time
  std::string compiler;     // e.g. "govc 0.1.0"
  std::string signer_id;    // the pinned key that verified the signature (key id, hex)
  std::string signer_file;  // the file it was read from
  std::vector<KnownRule> rules;
  // The bundle's TESTS section (what govc build's run of the policy's tests
  // found); absent when it was built with --skip-tests or carries none.
  std::optional<bundle::BuildTests> tests;
};

// Reads and verifies `file` under the pinned keys whose role is "policy" or
// "both" (no native code is loaded), and its TESTS section when it has one.
// An error says which and why; govconsole refuses to start on it (exit 78).
ErrorOr<KnownPolicy> ReadKnownPolicy(const std::string& file, const std::vector<PinnedKey>& keys);

}  // namespace gov::console
