// The proof viewer (`govverify --html`): one self-contained HTML page that
// shows a lineage log's or bundle's verification verdict, the keys and
// checkpoints that vouch for it, and its run tree with every run's request,
// decision, enforcement and outcome. No external resource of any kind; a
// Content-Security-Policy that admits only the page's own script and style.
// docs/console.md "The proof viewer".
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/crypto/ed25519.h"
#include "runtime/lineage/format.h"

namespace gov::console {

// A key the verification pinned, in its role ("lineage", "policy", "both",
// "witness"), and the file it was read from.
struct PinnedKey {
  std::string role;
  std::string file;
  crypto::PublicKey key;
};

// What the page shows: the bytes govverify verified and its report of them.
struct ProofViewerInput {
  std::string_view bytes;       // the log or bundle, exactly as verified
  nlohmann::json report;        // govverify's JSON report of `bytes` (one entry of "results")
  std::vector<PinnedKey> keys;  // the keys the verification trusted
  std::string note;             // the signed checkpoint note it checked ("" when none)
  std::string generator;        // e.g. "govverify 0.1.0"
};

// The page's data document, version 1 (docs/console.md "Viewer data"): the
// report, keys, checkpoints and runs read from `bytes`. Records past what the
// report certifies are marked uncertified; lines that do not parse are
// listed, never trusted.
nlohmann::json ProofViewerData(const ProofViewerInput& input);

// A run of the viewer data from its authorization record (HEAD and parsed
// BODY): id, parent, seq, verdict, exec, certified and the body's members.
nlohmann::json RunFromAuthorization(const lineage::Head& head, nlohmann::json body, bool certified);

// Adds a start or end record (HEAD and parsed BODY) to `run`.
void AddRunRecord(nlohmann::json& run, const lineage::Head& head, nlohmann::json body, bool certified);

// The Content-Security-Policy source that admits exactly one inline script
// or style: "'sha256-BASE64'" of `text`.
std::string CspHash(std::string_view text);

// The HTML page of `data` (from ProofViewerData).
std::string RenderProofViewer(const nlohmann::json& data);

}  // namespace gov::console
