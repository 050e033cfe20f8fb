// libFuzzer target: arbitrary bytes through the runtime's binary readers.
// The first byte picks the reader, the rest is its input:
//   0  ir::Deserialize; when it accepts: the bytes are canonical
//      (re-serialize identically), PolicyView reads the same policy, and
//      the interpreter prepares it and decides a request (a validated IR
//      must be safe to interpret);
//   1  ir::PolicyView::Open and RuleAt of its rules;
//   2  bundle::ParseCodeImage;
//   3  bundle::ParseManifest (its direct reader against the general parser,
//      and the canonical re-encoding it checks);
//   4+ bundle::VerifyBundle against a fixed key (framing, then signature).
// Any crash, sanitizer report or broken property is a bug (std::abort).
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "runtime/bundle/bundle.h"
#include "runtime/bundle/image.h"
#include "runtime/bundle/manifest.h"
#include "runtime/crypto/ed25519.h"
#include "runtime/interp/interp.h"
#include "runtime/ir/serialize.h"
#include "runtime/request/request.h"

namespace {

using namespace gov;

void Check(bool property) {
  if (!property) std::abort();
}

void FuzzIr(std::string_view bytes) {
  auto policy = ir::Deserialize(bytes);
  if (!policy.ok()) return;
  Check(ir::Serialize(policy.value()) == bytes);
  auto view = ir::PolicyView::Open(bytes);
  Check(view.ok());
  Check(view.value().context() == policy.value().context);
  Check(view.value().env_reads() == ir::EnvReadsOf(policy.value()));
  Check(view.value().rule_count() == policy.value().rules.size());
  for (std::uint32_t id = 0; id < view.value().rule_count() && id < 64; ++id) {
    auto rule = view.value().RuleAt(id);
    Check(rule.ok() && rule.value() == policy.value().rules[id]);
  }
  const std::size_t context_fields = policy.value().context.size();
  auto prepared = interp::PreparedPolicy::Create(std::move(policy).value());
  if (!prepared.ok()) return;  // e.g. pattern automata that do not decode: an error, not a crash
  request::Request request;
  request.program_path = "/usr/bin/git";
  request.args = {"status", "-s"};
  request.env = {{"HOME", "/home/user"}};
  request.cwd = "/work/repo";
  request.context.assign(context_fields, request::ContextValue{});
  const request::RequestView view_of_request(request);
  gov_decision decision{};
  interp::Decide(prepared.value(), view_of_request.get(), decision);
  Check(decision.verdict == GOV_ALLOW || decision.verdict == GOV_DENY || decision.verdict == GOV_ASK);
}

void FuzzView(std::string_view bytes) {
  auto view = ir::PolicyView::Open(bytes);
  if (!view.ok()) return;
  for (std::uint32_t id = 0; id < view.value().rule_count() && id < 256; ++id) {
    auto rule = view.value().RuleAt(id);
    if (rule.ok()) Check(ir::ValidateRuleRecord(rule.value()).empty());
  }
}

void FuzzImage(std::string_view bytes) {
  auto image = bundle::ParseCodeImage(bytes);
  if (!image.ok()) return;
  Check(image.value().code.size() == image.value().code_size);
  Check(image.value().data.size() == image.value().data_size);
  Check(image.value().entry < image.value().code_size);
}

void FuzzManifest(std::string_view bytes) {
  // The direct reader never accepts what the general parser rejects, and
  // both read the same value.
  auto general = bundle::internal::ParseManifestGeneral(bytes);
  auto read = bundle::internal::ReadCanonicalManifest(bytes);
  if (read && bundle::CheckManifest(*read).ok()) Check(general.ok() && general.value() == *read);
  auto manifest = bundle::ParseManifest(bytes);
  Check(manifest.ok() == general.ok());
  if (!manifest.ok()) return;
  Check(manifest.value() == general.value());
  Check(bundle::ManifestToJson(manifest.value()) == bytes);
}

void FuzzBundle(std::string_view bytes) {
  static const crypto::PrivateKey key = [] {
    std::array<std::uint8_t, crypto::kEd25519SeedSize> seed{};
    seed.fill(7);
    return crypto::PrivateKey::FromSeed(seed).value();
  }();
  (void)bundle::VerifyBundle(bytes, {key.public_key()});
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0 || size > (1u << 20)) return 0;
  const std::string_view bytes(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0]) {
    case 0:
      FuzzIr(bytes);
      break;
    case 1:
      FuzzView(bytes);
      break;
    case 2:
      FuzzImage(bytes);
      break;
    case 3:
      FuzzManifest(bytes);
      break;
    default:
      FuzzBundle(bytes);
      break;
  }
  return 0;
}
