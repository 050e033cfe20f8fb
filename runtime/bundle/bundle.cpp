// Bundle framing, writing and verification (see bundle.h and
// docs/bundle-format.md).
#include "runtime/bundle/bundle.h"

#include <algorithm>
#include <cstring>

#include "runtime/abi/gov_abi.h"
#include "runtime/bundle/build_tests.h"
#include "runtime/crypto/fast_sha256.h"
#include "runtime/crypto/sha256.h"
#include "runtime/ir/serialize.h"

namespace gov::bundle {
namespace {

void PutU32(std::string& out, std::uint32_t value) {
  for (int i = 0; i < 4; ++i) {
    out.push_back(static_cast<char>((value >> (8 * i)) & 0xff));
  }
}

void PutU64(std::string& out, std::uint64_t value) {
  for (int i = 0; i < 8; ++i) {
    out.push_back(static_cast<char>((value >> (8 * i)) & 0xff));
  }
}

std::uint32_t GetU32(std::string_view bytes, std::size_t at) {
  std::uint32_t value = 0;
  for (int i = 3; i >= 0; --i) {
    value = (value << 8) | static_cast<unsigned char>(bytes[at + static_cast<std::size_t>(i)]);
  }
  return value;
}

std::uint64_t GetU64(std::string_view bytes, std::size_t at) {
  std::uint64_t value = 0;
  for (int i = 7; i >= 0; --i) {
    value = (value << 8) | static_cast<unsigned char>(bytes[at + static_cast<std::size_t>(i)]);
  }
  return value;
}

std::string Hex32(std::uint32_t value) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out = "0x";
  bool started = false;
  for (int shift = 28; shift >= 0; shift -= 4) {
    const std::uint32_t digit = (value >> shift) & 0xF;
    if (digit != 0 || started || shift == 0) {
      out.push_back(kDigits[digit]);
      started = true;
    }
  }
  return out;
}

std::string_view SectionPayload(const Framing& framing, std::uint32_t type) {
  for (const Section& section : framing.sections) {
    if (section.type == type) {
      return section.bytes;
    }
  }
  return {};
}

bool HasSection(const Framing& framing, std::uint32_t type) {
  return std::any_of(framing.sections.begin(), framing.sections.end(),
                     [&](const Section& section) { return section.type == type; });
}

// The code image's machine must be the one the target triple names.
ErrorOr<void> CheckImageMachine(const CodeImage& image, const Target& target) {
  const std::string_view arch = std::string_view(target.triple).substr(0, target.triple.find('-'));
  std::uint16_t named = 0;
  if (arch == "x86_64") named = kMachineX86_64;
  if (arch == "aarch64") named = kMachineAarch64;
  if (named != image.machine) {
    return Error{"the native code image is for " + MachineName(image.machine) + " but the target triple is `" +
                 target.triple + "`"};
  }
  return {};
}

}  // namespace

std::string SectionName(std::uint32_t type) {
  switch (type) {
    case kSectionManifest:
      return "MANIFEST";
    case kSectionIr:
      return "IR";
    case kSectionNative:
      return "NATIVE";
    case kSectionSignature:
      return "SIGNATURE";
    case kSectionTests:
      return "TESTS";
    default:
      return Hex32(type);
  }
}

std::string SignedMessage(const crypto::Sha256Digest& signed_digest) {
  std::string message;
  message.reserve(kSignatureDomain.size() + signed_digest.size());
  message.append(kSignatureDomain);
  message.append(reinterpret_cast<const char*>(signed_digest.data()), signed_digest.size());
  return message;
}

std::string FrameAndSign(std::uint32_t version, const std::vector<std::pair<std::uint32_t, std::string>>& sections,
                         const crypto::PrivateKey& key) {
  std::string out(kMagic);
  PutU32(out, version);
  for (const auto& [type, payload] : sections) {
    PutU32(out, type);
    PutU64(out, payload.size());
    out += payload;
  }
  PutU32(out, kSectionSignature);
  PutU64(out, kSignaturePayloadSize);
  const crypto::Signature signature = key.Sign(SignedMessage(crypto::FastSha256(out)));
  const crypto::KeyId id = key.public_key().Id();
  out.append(reinterpret_cast<const char*>(id.data()), id.size());
  out.append(reinterpret_cast<const char*>(signature.data()), signature.size());
  return out;
}

ErrorOr<std::string> WriteBundle(const BundleContents& contents, const crypto::PrivateKey& key) {
  Manifest manifest = contents.manifest;
  std::sort(manifest.sources.begin(), manifest.sources.end(),
            [](const SourceFile& a, const SourceFile& b) { return a.path < b.path; });
  if (manifest.target.has_value() != contents.native.has_value()) {
    return Error{contents.native ? "bundle has native code but the manifest names no target"
                                 : "the manifest names a target but the bundle has no native code"};
  }
  if (manifest.abi_version != GOV_ABI_VERSION) {
    return Error{"manifest abi_version " + std::to_string(manifest.abi_version) + " is not this build's " +
                 std::to_string(GOV_ABI_VERSION)};
  }
  GOV_RETURN_IF_ERROR(CheckManifest(manifest));
  if (contents.native) {
    auto image = ParseCodeImage(*contents.native);
    if (!image.ok()) return Error{"the code to bundle: " + image.error().message};
    GOV_RETURN_IF_ERROR(CheckImageMachine(image.value(), *manifest.target));
  }
  auto policy = ir::Deserialize(contents.ir);
  if (!policy.ok()) {
    return Error{"the IR to bundle does not decode: " + policy.error().message};
  }
  if (policy.value().name != manifest.policy_name || policy.value().version != manifest.policy_version) {
    return Error{"the manifest names policy `" + manifest.policy_name + "` version `" + manifest.policy_version +
                 "`, the IR is `" + policy.value().name + "` version `" + policy.value().version + "`"};
  }
  std::vector<std::pair<std::uint32_t, std::string>> sections;
  sections.emplace_back(kSectionManifest, ManifestToJson(manifest));
  sections.emplace_back(kSectionIr, contents.ir);
  if (contents.native) {
    sections.emplace_back(kSectionNative, *contents.native);
  }
  if (contents.tests) {
    GOV_RETURN_IF_ERROR(ParseBuildTests(*contents.tests));
    sections.emplace_back(kSectionTests, *contents.tests);
  }
  return FrameAndSign(kFormatVersion, sections, key);
}

ErrorOr<Framing> ParseFraming(std::string_view file) {
  if (file.size() < kMagic.size() || file.substr(0, kMagic.size()) != kMagic) {
    if (file.size() < kMagic.size() && kMagic.substr(0, file.size()) == file) {
      return Error{"not a policy bundle: file is truncated inside the magic (" + std::to_string(file.size()) +
                   " bytes)"};
    }
    return Error{"not a policy bundle: wrong magic (expected `GOVBNDL\\0`)"};
  }
  if (file.size() < kHeaderSize) {
    return Error{"bundle is truncated inside the format version"};
  }
  Framing framing;
  framing.version = GetU32(file, kMagic.size());
  if (framing.version == 1) {
    return Error{"bundle format version 1 was written by an older govc; this build reads format version " +
                 std::to_string(kFormatVersion) + ": rebuild the bundle with this govc (govc build)"};
  }
  if (framing.version > kFormatVersion) {
    return Error{"bundle format version " + std::to_string(framing.version) +
                 " was built by a newer govc; this build reads format version " + std::to_string(kFormatVersion)};
  }
  if (framing.version != kFormatVersion) {
    return Error{"bundle format version " + std::to_string(framing.version) + " is invalid"};
  }
  // Every step below is O(1) per section, or O(log n) for a type that
  // repeats or goes back (a binary search of the types seen, which ascend),
  // and the number of sections is capped: hostile framing costs time and
  // memory in proportion to the file, read before the signature is checked.
  std::size_t offset = kHeaderSize;
  std::uint32_t previous_type = 0;
  bool signed_found = false;
  while (offset < file.size()) {
    const auto at = [offset] { return " at offset " + std::to_string(offset); };
    if (file.size() - offset < kSectionHeaderSize) {
      return Error{"bundle is truncated inside a section header" + at()};
    }
    const std::uint32_t type = GetU32(file, offset);
    const std::uint64_t length = GetU64(file, offset + 4);
    const std::size_t available = file.size() - offset - kSectionHeaderSize;
    if (length > available) {
      return Error{"section " + SectionName(type) + at() + " claims " + std::to_string(length) + " bytes, but only " +
                   std::to_string(available) + " follow (truncated bundle?)"};
    }
    if (type == kSectionSignature) {
      if (length != kSignaturePayloadSize) {
        return Error{"SIGNATURE section" + at() + " has " + std::to_string(length) + " bytes, expected " +
                     std::to_string(kSignaturePayloadSize)};
      }
      const std::size_t payload = offset + kSectionHeaderSize;
      if (payload + kSignaturePayloadSize != file.size()) {
        return Error{std::to_string(file.size() - payload - kSignaturePayloadSize) +
                     " trailing bytes after the SIGNATURE section"};
      }
      std::memcpy(framing.key_id.data(), file.data() + payload, crypto::kKeyIdSize);
      std::memcpy(framing.signature.data(), file.data() + payload + crypto::kKeyIdSize, crypto::kEd25519SignatureSize);
      framing.signed_bytes = file.substr(0, payload);
      signed_found = true;
      break;
    }
    if (type < kFirstOptionalSection && type != kSectionManifest && type != kSectionIr && type != kSectionNative) {
      return Error{"unknown critical section type " + SectionName(type) + at() + " (built by a newer govc?)"};
    }
    if (!framing.sections.empty() && type <= previous_type) {
      // The types so far ascend strictly: a binary search tells a repeat
      // from a type that is merely out of order.
      const auto seen = std::lower_bound(framing.sections.begin(), framing.sections.end(), type,
                                         [](const Section& section, std::uint32_t t) { return section.type < t; });
      if (seen != framing.sections.end() && seen->type == type) {
        return Error{"duplicate " + SectionName(type) + " section" + at()};
      }
      return Error{"section " + SectionName(type) + at() + " is out of order (types must ascend)"};
    }
    if (framing.sections.size() == kMaxSections) {
      return Error{"bundle has more than " + std::to_string(kMaxSections) + " sections before SIGNATURE (section " +
                   SectionName(type) + at() + ")"};
    }
    framing.sections.push_back({type, offset, file.substr(offset + kSectionHeaderSize, length)});
    previous_type = type;
    offset += kSectionHeaderSize + length;
  }
  if (!signed_found) {
    return Error{"bundle has no SIGNATURE section (truncated bundle?)"};
  }
  if (!HasSection(framing, kSectionManifest)) {
    return Error{"bundle has no MANIFEST section"};
  }
  if (!HasSection(framing, kSectionIr)) {
    return Error{"bundle has no IR section"};
  }
  return framing;
}

ErrorOr<VerifiedBundle> VerifyBundle(std::string_view file, const std::vector<crypto::PublicKey>& trusted) {
  GOV_ASSIGN_OR_RETURN(const Framing framing, ParseFraming(file));

  // 1. The signature, before anything inside the sections is read.
  if (trusted.empty()) {
    return Error{"no trusted public keys given: cannot verify the bundle signature"};
  }
  const std::string bundle_key = crypto::HexEncode(std::span<const std::uint8_t>(framing.key_id));
  const crypto::PublicKey* signer = nullptr;
  bool id_matched = false;
  // One SHA-256 pass gives both the signed digest and the whole file's.
  crypto::Sha256Digest signed_digest{};
  const crypto::Sha256Digest file_digest =
      crypto::FastSha256WithPrefix(file, framing.signed_bytes.size(), signed_digest);
  const std::string message = SignedMessage(signed_digest);
  for (const crypto::PublicKey& key : trusted) {
    if (key.Id() != framing.key_id) {
      continue;
    }
    id_matched = true;
    if (key.Verify(message, framing.signature)) {
      signer = &key;
      break;
    }
  }
  if (signer == nullptr) {
    if (!id_matched) {
      std::string known;
      for (const crypto::PublicKey& key : trusted) {
        known += (known.empty() ? "" : ", ") + key.IdHex();
      }
      return Error{"bundle is signed by key " + bundle_key + ", which is not trusted (trusted: " + known + ")"};
    }
    return Error{"bundle signature by key " + bundle_key +
                 " does not verify: the bundle was modified after it was signed"};
  }

  // 2. The manifest.
  auto manifest = ParseManifest(SectionPayload(framing, kSectionManifest));
  if (!manifest.ok()) {
    return Error{"bundle manifest: " + manifest.error().message};
  }
  VerifiedBundle verified{std::move(manifest).value(), SectionPayload(framing, kSectionIr), std::nullopt,
                          std::nullopt, *signer, crypto::DigestString(file_digest)};
  if (verified.manifest.abi_version != GOV_ABI_VERSION) {
    std::string abi_error = "bundle uses decision ABI version " + std::to_string(verified.manifest.abi_version) +
                            "; this build supports version " + std::to_string(GOV_ABI_VERSION);
    if (verified.manifest.abi_version < GOV_ABI_VERSION) {
      abi_error += ": the bundle was built by an older govc; rebuild it with this govc (govc build)";
    }
    return Error{abi_error};
  }

  // 3. The native code: present exactly when the manifest names a target,
  // a well-formed image for the triple's machine.
  const bool has_native = HasSection(framing, kSectionNative);
  if (has_native != verified.manifest.target.has_value()) {
    return Error{has_native ? "bundle has a NATIVE section but the manifest names no target"
                            : "bundle manifest names a target but there is no NATIVE section"};
  }
  if (has_native) {
    verified.native = SectionPayload(framing, kSectionNative);
    auto image = ParseCodeImage(*verified.native);
    if (!image.ok()) return Error{"bundle NATIVE section: " + image.error().message};
    GOV_RETURN_IF_ERROR(CheckImageMachine(image.value(), *verified.manifest.target));
    verified.image = image.value();
  }
  if (HasSection(framing, kSectionTests)) verified.tests = SectionPayload(framing, kSectionTests);
  return verified;
}

}  // namespace gov::bundle
