// The signed policy bundle (.govb): framing, writer and verification.
// docs/bundle-format.md specifies the bytes:
//
//   "GOVBNDL\0"  u32 version (=2)
//   sections, each: u32 type, u64 length, `length` bytes   (little-endian)
//     MANIFEST (1) canonical JSON      IR (2) runtime/ir/serialize.h bytes
//     NATIVE (3) optional code image (runtime/bundle/image.h)
//   SIGNATURE (0x7f), last: key id (8) || Ed25519 signature (64) over
//     "gov-policy-bundle-v2\0" || SHA-256(every byte of the file before the
//     signature's 72 payload bytes, the SIGNATURE section header included).
//
// One SHA-256 pass over the file authenticates every section (no per-section
// digests); Ed25519 then signs a 53-byte message.
//
// Section types below 0x80000000 are critical: a reader that does not know
// one rejects the bundle. Types from 0x80000000 up are skippable extensions
// (still covered by the signature). Sections other than SIGNATURE appear in
// strictly ascending type order; nothing follows SIGNATURE.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/bundle/image.h"
#include "runtime/bundle/manifest.h"
#include "runtime/crypto/ed25519.h"
#include "runtime/crypto/sha256.h"
#include "runtime/support/error_or.h"

namespace gov::bundle {

inline constexpr std::string_view kMagic{"GOVBNDL\0", 8};
inline constexpr std::uint32_t kFormatVersion = 2;
// The domain-separation prefix of the signed message (NUL included).
inline constexpr std::string_view kSignatureDomain{"gov-policy-bundle-v2\0", 21};

inline constexpr std::uint32_t kSectionManifest = 1;
inline constexpr std::uint32_t kSectionIr = 2;
inline constexpr std::uint32_t kSectionNative = 3;
inline constexpr std::uint32_t kSectionSignature = 0x7f;
// Types at or above this are non-critical extensions.
inline constexpr std::uint32_t kFirstOptionalSection = 0x80000000u;

inline constexpr std::size_t kHeaderSize = 12;         // magic + version
inline constexpr std::size_t kSectionHeaderSize = 12;  // type + length
inline constexpr std::size_t kSignaturePayloadSize = crypto::kKeyIdSize + crypto::kEd25519SignatureSize;

// Most sections a bundle may have besides SIGNATURE (format 2 defines 3
// types; the rest is room for extensions). Bounds the framing's memory,
// which is read before the signature is checked.
inline constexpr std::size_t kMaxSections = 1024;

// Largest bundle LoadBundleFile reads.
inline constexpr std::uint64_t kMaxBundleSize = 256ull << 20;

// What `govc build` puts into a bundle.
struct BundleContents {
  // Filled in by the caller except `sources`, which WriteBundle sorts.
  Manifest manifest;
  // runtime/ir/serialize.h bytes of the policy.
  std::string ir;
  // The code image (runtime/bundle/image.h) whose entry is `gov_decide`, if
  // any (then manifest.target must be set).
  std::optional<std::string> native;
  // The TESTS extension (build_tests.h): the policy's test results at build.
  std::optional<std::string> tests;
};

// Writes a format-2 bundle signed by `key`. Fails if the manifest is
// malformed (CheckManifest), `target` and `native` disagree, the code image
// is malformed or for another machine than the target triple names, the IR
// does not deserialize, or its policy name/version differ from the
// manifest's.
ErrorOr<std::string> WriteBundle(const BundleContents& contents, const crypto::PrivateKey& key);

// One section as found in a file.
struct Section {
  std::uint32_t type = 0;
  std::uint64_t offset = 0;  // of the section header in the file
  std::string_view bytes;    // the payload (a view into the file)
};

// The framing of a bundle: checked for shape, not yet authenticated.
struct Framing {
  std::uint32_t version = 0;
  std::vector<Section> sections;  // every section but SIGNATURE, in file order
  crypto::KeyId key_id{};
  crypto::Signature signature{};
  std::string_view signed_bytes;  // file bytes the signature covers
};

// Checks magic, version (a newer one is reported as built by a newer govc),
// that the sections tile the file exactly with lengths inside it, ascending
// unique types, no unknown critical type, at most kMaxSections sections,
// MANIFEST and IR present, and a 72-byte SIGNATURE section last. Reads
// nothing inside the sections. O(n log n) in the number of sections (n ≤
// kMaxSections), O(1) in their sizes: it runs before the signature check.
ErrorOr<Framing> ParseFraming(std::string_view file);

// The message Ed25519 signs for a bundle whose signed bytes have SHA-256
// `signed_digest`: kSignatureDomain || signed_digest (53 bytes).
std::string SignedMessage(const crypto::Sha256Digest& signed_digest);

// A bundle whose signature, manifest and section digests checked out.
struct VerifiedBundle {
  Manifest manifest;
  std::string_view ir;  // views into the file
  std::optional<std::string_view> native;
  std::optional<CodeImage> image;  // the parsed NATIVE section, when present
  crypto::PublicKey signer;        // the trusted key that signed it
  std::string digest;              // "sha256:…" of the whole file
  std::optional<std::string_view> tests;  // the TESTS extension's payload (not parsed), when present
};

// Verifies `file` against `trusted` keys: framing, then the signature (by a
// trusted key whose id equals the bundle's key id, over the SHA-256 of the
// signed bytes), then the manifest (canonical JSON, ABI version), then that
// a target is named exactly when there is a NATIVE section, and that
// section's code image (ParseCodeImage, machine matching the triple). Does
// not decode the IR.
ErrorOr<VerifiedBundle> VerifyBundle(std::string_view file, const std::vector<crypto::PublicKey>& trusted);

// For tests and tools that need malformed-but-signed bundles: frames
// `sections` (type, payload) after the header with `version`, appends a
// SIGNATURE section by `key` (the format-2 signature), no checks at all. WriteBundle is the product path.
std::string FrameAndSign(std::uint32_t version, const std::vector<std::pair<std::uint32_t, std::string>>& sections,
                         const crypto::PrivateKey& key);

// "MANIFEST", "IR", "NATIVE", "SIGNATURE" or "0x…" for a section type.
std::string SectionName(std::uint32_t type);

}  // namespace gov::bundle
