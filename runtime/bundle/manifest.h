// The MANIFEST of a policy bundle: what was compiled, by what, for which
// machine (the signature binds every section; there are no per-section
// digests since format 2). Encoded
// as canonical JSON (docs/bundle-format.md "Manifest"); the parser accepts
// exactly the bytes ManifestToJson produces for the parsed value.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/support/error_or.h"

namespace gov::bundle {

// One policy source file that went into the bundle.
struct SourceFile {
  std::string path;    // as given to govc (relative paths stay relative)
  std::string sha256;  // "sha256:<64 hex>" of the file's bytes

  bool operator==(const SourceFile&) const = default;
};

// The machine the NATIVE section was compiled for.
struct Target {
  std::string triple;  // LLVM target triple, e.g. "x86_64-pc-linux-gnu"
  std::string cpu;     // LLVM CPU name, e.g. "x86-64-v2" (informational; see features)
  // Every CPU feature the code may use, in LLVM spelling with a sign:
  // "+avx2". Entries starting with '-' name disabled features (ignored by
  // the loader). The loader runs the code only if this CPU has every '+' one.
  std::vector<std::string> features;

  bool operator==(const Target&) const = default;
};

// The decoded manifest.
struct Manifest {
  std::string policy_name;
  std::string policy_version;
  std::vector<SourceFile> sources;  // sorted by path, unique paths
  std::string compiler_version;     // e.g. "govc 0.1.0"
  std::string created;              // RFC 3339 UTC, exactly "YYYY-MM-DDTHH:MM:SSZ"
  std::optional<Target> target;     // present iff the bundle has a NATIVE section
  std::uint32_t abi_version = 0;    // GOV_ABI_VERSION the code and requests use

  bool operator==(const Manifest&) const = default;
};

// Checks every field's form: non-empty names, digest strings, `created`
// format, sorted unique sources, feature spellings.
ErrorOr<void> CheckManifest(const Manifest& manifest);

// The canonical JSON of `manifest` (keys sorted, no whitespace, minimal
// escapes). The manifest should pass CheckManifest.
std::string ManifestToJson(const Manifest& manifest);

// Parses a manifest: exactly the expected fields with the expected types,
// CheckManifest, and the bytes must equal ManifestToJson of the result.
ErrorOr<Manifest> ParseManifest(std::string_view json);

namespace internal {

// ParseManifest's two halves, for tests and the fuzzer that check they
// agree. ReadCanonicalManifest reads the canonical layout directly when
// every string is printable ASCII without '"' or '\\' (no escapes; what govc
// writes for ASCII paths), without any checks of the values; std::nullopt for
// anything else. ParseManifestGeneral parses any JSON and reports precisely
// what is wrong (the path of bundles that fail, or need escapes).
std::optional<Manifest> ReadCanonicalManifest(std::string_view json);
ErrorOr<Manifest> ParseManifestGeneral(std::string_view json);

}  // namespace internal

// `unix_seconds` as "YYYY-MM-DDTHH:MM:SSZ" (UTC).
std::string FormatRfc3339Utc(std::int64_t unix_seconds);

// Splits an LLVM feature string "+a,+b,-c" into {"+a", "+b", "-c"} (empty
// string ⇒ no features).
std::vector<std::string> SplitFeatureString(std::string_view features);

}  // namespace gov::bundle
