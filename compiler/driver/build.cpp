// Lowering, native code and bundle packaging for govc build / eval / test.
#include "compiler/driver/build.h"

#include <algorithm>
#include <utility>

#include "runtime/abi/gov_abi.h"
#include "runtime/bundle/bundle.h"
#include "runtime/crypto/sha256.h"
#include "runtime/ir/serialize.h"

namespace gov::driver {

ErrorOr<LoweredPolicy> LowerPolicy(const std::string& path) {
  LoweredPolicy lowered;
  GOV_ASSIGN_OR_RETURN(lowered.compilation, Compile(path));
  Compilation& c = *lowered.compilation;
  if (c.diagnostics.HasErrors()) return lowered;
  lowered.policy = lower::Lower(c.program, c.diagnostics);
  if (c.diagnostics.HasErrors()) return lowered;
  lowered.tests = lower::LowerTests(c.program);
  return lowered;
}

std::vector<bundle::SourceFile> SourceDigests(const Compilation& compilation) {
  std::vector<bundle::SourceFile> sources;
  for (const auto& file : compilation.files) {
    const source::SourceFile& text = compilation.sources.file(file->file_id);
    sources.push_back({text.path(), crypto::DigestString(crypto::Sha256Of(text.text()))});
  }
  std::sort(sources.begin(), sources.end(), [](const auto& a, const auto& b) { return a.path < b.path; });
  sources.erase(std::unique(sources.begin(), sources.end(), [](const auto& a, const auto& b) { return a.path == b.path; }),
                sources.end());
  return sources;
}

ErrorOr<std::string> BuildBundle(const LoweredPolicy& lowered, const crypto::PrivateKey& key,
                                 const BuildOptions& options) {
  if (!lowered.ok()) return Error{"the policy has errors; no bundle was written"};
  bundle::BundleContents contents;
  bundle::Manifest& manifest = contents.manifest;
  manifest.policy_name = lowered.policy.name;
  manifest.policy_version = lowered.policy.version;
  manifest.sources = SourceDigests(*lowered.compilation);
  manifest.compiler_version = kCompilerVersion;
  manifest.created = bundle::FormatRfc3339Utc(options.created_unix);
  manifest.abi_version = GOV_ABI_VERSION;
  contents.ir = ir::Serialize(lowered.policy);
  if (options.native) {
    codegen::Options codegen_options = options.codegen;
    codegen_options.link_image = true;
    GOV_ASSIGN_OR_RETURN(std::unique_ptr<codegen::JitPolicy> jit,
                         codegen::JitPolicy::Compile(lowered.policy, codegen_options));
    const codegen::NativeCode& native = jit->native();
    manifest.target = bundle::Target{native.target_triple, native.cpu, bundle::SplitFeatureString(native.cpu_features)};
    contents.native = native.image;
  }
  if (options.tests) contents.tests = bundle::BuildTestsToJson(*options.tests);
  return bundle::WriteBundle(contents, key);
}

}  // namespace gov::driver
