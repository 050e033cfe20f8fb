// Unit tests for runtime/bundle: manifest canonical JSON, the writer, the
// framing and verification errors (untrusted key, future version, unknown
// sections, digests), truncation at every length and every single-bit flip
// (always rejected), host CPU checks, and the loader's engine choice: native
// code through a sealed memfd (a tiny shared object built with the system C
// compiler when one is installed, and code from compiler/codegen), or the IR
// interpreter as fallback.
#include "runtime/bundle/bundle.h"

#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "compiler/codegen/codegen.h"
#include "runtime/abi/gov_abi.h"
#include "runtime/bundle/host_cpu.h"
#include "runtime/bundle/loader.h"
#include "runtime/bundle/manifest.h"
#include "runtime/crypto/ed25519.h"
#include "runtime/crypto/sha256.h"
#include "runtime/ir/ir.h"
#include "runtime/ir/serialize.h"

#ifndef GOV_SOURCE_DIR
#define GOV_SOURCE_DIR "."
#endif

namespace gov::bundle {
namespace {

constexpr std::string_view kMadeUpFeature = "+gov-made-up-feature";

// allow "git" when program.name == "git" (timeout 5s); nothing else.
ir::Policy TinyPolicy(const std::string& name = "tiny") {
  ir::Policy policy;
  policy.name = name;
  policy.version = "1.0";
  policy.strings = {"git"};
  ir::Node field{};
  field.op = ir::Op::kField;
  field.kind = ir::Kind::kStr;
  field.imm = static_cast<std::int64_t>(ir::Field::kProgramName);
  ir::Node constant{};
  constant.op = ir::Op::kConstStr;
  constant.kind = ir::Kind::kStr;
  constant.a = 0;
  ir::Node equal{};
  equal.op = ir::Op::kEq;
  equal.kind = ir::Kind::kBool;
  equal.a = 0;
  equal.b = 1;
  policy.nodes = {field, constant, equal};
  ir::Rule rule;
  rule.name = "git";
  rule.verdict = ir::Verdict::kAllow;
  rule.condition = 2;
  rule.obligations.timeout_ms = 5000;
  policy.rules = {rule};
  return policy;
}

crypto::PrivateKey TestKey(std::uint8_t fill) {
  std::array<std::uint8_t, crypto::kEd25519SeedSize> seed{};
  seed.fill(fill);
  auto key = crypto::PrivateKey::FromSeed(seed);
  REQUIRE(key.ok());
  return key.value();
}

Manifest BaseManifest(const ir::Policy& policy) {
  Manifest manifest;
  manifest.policy_name = policy.name;
  manifest.policy_version = policy.version;
  manifest.sources = {{"policy/tiny.gov", crypto::DigestString(crypto::Sha256Of("allow git"))}};
  manifest.compiler_version = "govc 0.1.0";
  manifest.created = "2026-01-02T03:04:05Z";
  manifest.abi_version = GOV_ABI_VERSION;
  return manifest;
}

BundleContents Contents(const ir::Policy& policy) {
  BundleContents contents;
  REQUIRE(ir::Validate(policy).empty());
  contents.manifest = BaseManifest(policy);
  contents.ir = ir::Serialize(policy);
  return contents;
}

// Contents with native code `code` for `features` on this machine.
BundleContents NativeContents(const ir::Policy& policy, std::string code, std::vector<std::string> features) {
  BundleContents contents = Contents(policy);
  contents.manifest.target = Target{HostTriple(), "x86-64", std::move(features)};
  contents.native = std::move(code);
  return contents;
}

std::string Write(const BundleContents& contents, const crypto::PrivateKey& key) {
  auto bytes = WriteBundle(contents, key);
  INFO((bytes.ok() ? std::string() : bytes.error().message));
  REQUIRE(bytes.ok());
  return bytes.value();
}

template <typename T>
void ExpectError(const ErrorOr<T>& result, std::string_view part) {
  INFO("expected an error containing: " << part);
  REQUIRE_FALSE(result.ok());
  INFO("actual error: " << result.error().message);
  CHECK(result.error().message.find(part) != std::string::npos);
}

// A request for program `name` (everything else empty).
struct TestRequest {
  explicit TestRequest(std::string_view name) : name_(name) {
    std::memset(&request, 0, sizeof(request));
    request.abi_version = GOV_ABI_VERSION;
    request.program_name = {name_.data(), name_.size()};
    request.program_path = {path_.data(), path_.size()};
    request.program_sha256 = {digest_.data(), digest_.size()};
    request.cwd = {"/", 1};
    request.time_weekday = {"mon", 3};
    request.time_date = {"2026-01-05", 10};
  }
  std::string name_;
  std::string path_ = "/usr/bin/" + name_;
  std::string digest_ = "sha256:" + std::string(64, '0');
  gov_request request;
};

std::uint32_t DecideFor(const LoadedPolicy& loaded, std::string_view program, gov_decision& decision) {
  TestRequest request(program);
  return loaded.Decide(request.request, decision);
}

std::string Manifest1Json(const ir::Policy& policy, const std::string& ir) {
  Manifest manifest = BaseManifest(policy);
  manifest.ir_sha256 = crypto::DigestString(crypto::Sha256Of(ir));
  return ManifestToJson(manifest);
}

// Builds a shared object exporting gov_decide that answers `verdict` with
// timeout `timeout_ms`, with the system C compiler. Empty if there is none.
std::string BuildFakeNative(int verdict, int timeout_ms) {
  if (std::system("command -v cc >/dev/null 2>&1") != 0) {
    return {};
  }
  char dir_pattern[] = "/tmp/gov-bundle-test-XXXXXX";
  const char* dir = mkdtemp(dir_pattern);
  REQUIRE(dir != nullptr);
  const std::string source = std::string(dir) + "/fake.c";
  const std::string object = std::string(dir) + "/fake.so";
  {
    std::ofstream out(source);
    out << "#include \"runtime/abi/gov_abi.h\"\n"
           "uint32_t gov_decide(const gov_request* r, gov_decision* d, const gov_helpers* h) {\n"
           "  (void)r; (void)h;\n"
           "  d->verdict = "
        << verdict
        << "; d->error = 0; d->error_rule = GOV_NO_RULE;\n"
           "  d->rule_count = 1; d->rules[0] = 0; d->timeout_ms = "
        << timeout_ms
        << ";\n"
           "  return d->verdict;\n"
           "}\n";
  }
  const std::string command = "cc -shared -fPIC -nostdlib -O1 -I" + std::string(GOV_SOURCE_DIR) + " -o " + object +
                              " " + source + " >/dev/null 2>&1";
  std::string bytes;
  if (std::system(command.c_str()) == 0) {
    std::ifstream in(object, std::ios::binary);
    std::stringstream buffer;
    buffer << in.rdbuf();
    bytes = buffer.str();
  }
  std::system(("rm -rf '" + std::string(dir) + "'").c_str());
  return bytes;
}

TEST_CASE("manifest canonical JSON round trip and strict parsing", "[bundle]") {
  Manifest manifest = BaseManifest(TinyPolicy());
  manifest.ir_sha256 = crypto::DigestString(crypto::Sha256Of("ir"));
  manifest.policy_version = "quote\" backslash\\ tab\t nl\n ctl\x01 é";
  const std::string json = ManifestToJson(manifest);
  CHECK(json.find("\"policy\":{\"name\":\"tiny\",\"version\":\"quote\\\" backslash\\\\ tab\\t nl\\n ctl\\u0001 é\"}") !=
        std::string::npos);
  auto parsed = ParseManifest(json);
  REQUIRE(parsed.ok());
  CHECK(parsed.value() == manifest);

  manifest.target = Target{"x86_64-pc-linux-gnu", "x86-64-v2", {"+sse4.2", "-avx"}};
  manifest.code_sha256 = crypto::DigestString(crypto::Sha256Of("code"));
  const std::string with_target = ManifestToJson(manifest);
  auto parsed_target = ParseManifest(with_target);
  REQUIRE(parsed_target.ok());
  CHECK(parsed_target.value() == manifest);
  CHECK(with_target.find(",\"target\":{\"cpu\":\"x86-64-v2\",\"features\":[\"+sse4.2\",\"-avx\"],\"triple\":"
                         "\"x86_64-pc-linux-gnu\"}}") != std::string::npos);

  ExpectError(ParseManifest("{"), "not valid JSON");
  ExpectError(ParseManifest("[]"), "not a JSON object");
  ExpectError(ParseManifest(" " + json), "not in canonical JSON form");
  std::string spaced = json;
  spaced.insert(1, " ");
  ExpectError(ParseManifest(spaced), "not in canonical JSON form");
  std::string extra = json;
  extra.insert(1, "\"zzz\":1,");
  ExpectError(ParseManifest(extra), "unknown field `zzz`");
  std::string missing = json;
  missing.replace(missing.find("\"abi_version\":1,"), 16, "");
  ExpectError(ParseManifest(missing), "lacks field `abi_version`");
  std::string negative = json;
  negative.replace(negative.find("\"abi_version\":1"), 15, "\"abi_version\":-1");
  ExpectError(ParseManifest(negative), "unsigned 32-bit integer");
  std::string bad_digest = json;
  bad_digest.replace(bad_digest.find("\"ir_sha256\":\"sha256:") + 20, 1, "X");
  ExpectError(ParseManifest(bad_digest), "`ir_sha256` is not a `sha256:<64 hex>` digest");
  std::string bad_time = json;
  bad_time.replace(bad_time.find("2026-01-02T03:04:05Z"), 20, "2026-01-02 03:04:05Z");
  ExpectError(ParseManifest(bad_time), "RFC 3339");
  std::string bad_month = json;
  bad_month.replace(bad_month.find("2026-01-02T03:04:05Z"), 20, "2026-13-02T03:04:05Z");
  ExpectError(ParseManifest(bad_month), "out-of-range");

  Manifest unsorted = manifest;
  unsorted.sources.push_back({"a.gov", manifest.sources[0].sha256});
  ExpectError(CheckManifest(unsorted), "not sorted");
  Manifest half_target = manifest;
  half_target.code_sha256.clear();
  ExpectError(CheckManifest(half_target), "both `target` and `code_sha256` or neither");
  Manifest bad_feature = manifest;
  bad_feature.target->features = {"avx2"};
  ExpectError(CheckManifest(bad_feature), "must be `+name` or `-name`");
  Manifest bad_utf8 = manifest;
  bad_utf8.policy_name = "\xc3\x28";
  ExpectError(CheckManifest(bad_utf8), "not valid UTF-8");
  Manifest overlong = manifest;
  overlong.policy_name = "\xe0\x80\xaf";
  ExpectError(CheckManifest(overlong), "not valid UTF-8");

  CHECK(FormatRfc3339Utc(0) == "1970-01-01T00:00:00Z");
  CHECK(FormatRfc3339Utc(1767268800) == "2026-01-01T12:00:00Z");
  CHECK(SplitFeatureString("+a,+b,-c") == std::vector<std::string>{"+a", "+b", "-c"});
  CHECK(SplitFeatureString("").empty());
}

TEST_CASE("bundle round trip through the interpreter", "[bundle]") {
  const ir::Policy policy = TinyPolicy();
  const crypto::PrivateKey key = TestKey(7);
  const std::string bytes = Write(Contents(policy), key);
  CHECK(bytes.substr(0, 12) == std::string("GOVBNDL\0\x01\0\0\0", 12));

  auto loaded = LoadBundle(bytes, {key.public_key()});
  INFO((loaded.ok() ? std::string() : loaded.error().message));
  REQUIRE(loaded.ok());
  const LoadedPolicy& policy_loaded = loaded.value();
  CHECK_FALSE(policy_loaded.native());
  CHECK(policy_loaded.engine() == "IR interpreter: the bundle has no native code");
  CHECK(policy_loaded.policy() == policy);
  CHECK(policy_loaded.digest() == crypto::DigestString(crypto::Sha256Of(bytes)));
  CHECK(policy_loaded.signer() == key.public_key());
  CHECK(policy_loaded.manifest().ir_sha256 == crypto::DigestString(crypto::Sha256Of(ir::Serialize(policy))));
  CHECK(policy_loaded.manifest().code_sha256.empty());
  CHECK_FALSE(policy_loaded.manifest().target.has_value());

  gov_decision decision{};
  CHECK(DecideFor(policy_loaded, "git", decision) == GOV_ALLOW);
  CHECK(decision.rule_count == 1);
  CHECK(decision.rules[0] == 0);
  CHECK(decision.timeout_ms == 5000);
  CHECK(DecideFor(policy_loaded, "rm", decision) == GOV_DENY);
  CHECK(decision.rule_count == 0);

  // Deterministic: the same contents and key give the same bytes.
  CHECK(Write(Contents(policy), key) == bytes);

  // Several trusted keys; the signer is found among them.
  const crypto::PrivateKey other = TestKey(8);
  auto among = LoadBundle(bytes, {other.public_key(), key.public_key()});
  REQUIRE(among.ok());
  CHECK(among.value().signer() == key.public_key());

  // Files.
  char dir_pattern[] = "/tmp/gov-bundle-file-XXXXXX";
  const char* dir = mkdtemp(dir_pattern);
  REQUIRE(dir != nullptr);
  const std::string path = std::string(dir) + "/tiny.govb";
  {
    std::ofstream out(path, std::ios::binary);
    out << bytes;
  }
  auto from_file = LoadBundleFile(path, {key.public_key()});
  REQUIRE(from_file.ok());
  CHECK(from_file.value().digest() == policy_loaded.digest());
  ExpectError(LoadBundleFile(std::string(dir), {key.public_key()}), "is not a regular file");
  ExpectError(LoadBundleFile(std::string(dir) + "/missing.govb", {key.public_key()}), "cannot open bundle");
  ExpectError(LoadBundleFile(path, {other.public_key()}), path + ": bundle is signed by key");
  std::system(("rm -rf '" + std::string(dir) + "'").c_str());
}

TEST_CASE("the writer refuses inconsistent contents", "[bundle]") {
  const ir::Policy policy = TinyPolicy();
  const crypto::PrivateKey key = TestKey(7);
  BundleContents no_target = Contents(policy);
  no_target.native = "code";
  ExpectError(WriteBundle(no_target, key), "manifest names no target");
  BundleContents no_code = Contents(policy);
  no_code.manifest.target = Target{HostTriple(), "x86-64", {}};
  ExpectError(WriteBundle(no_code, key), "has no native code");
  BundleContents renamed = Contents(policy);
  renamed.manifest.policy_name = "other";
  ExpectError(WriteBundle(renamed, key), "the IR is `tiny`");
  BundleContents bad_ir = Contents(policy);
  bad_ir.ir = "not ir";
  ExpectError(WriteBundle(bad_ir, key), "the IR to bundle does not decode");
  BundleContents bad_time = Contents(policy);
  bad_time.manifest.created = "yesterday";
  ExpectError(WriteBundle(bad_time, key), "RFC 3339");
  BundleContents bad_abi = Contents(policy);
  bad_abi.manifest.abi_version = GOV_ABI_VERSION + 1;
  ExpectError(WriteBundle(bad_abi, key), "abi_version");
  // Sources are sorted by the writer.
  BundleContents sources = Contents(policy);
  sources.manifest.sources.push_back({"a.gov", sources.manifest.sources[0].sha256});
  auto written = WriteBundle(sources, key);
  REQUIRE(written.ok());
  auto verified = VerifyBundle(written.value(), {key.public_key()});
  REQUIRE(verified.ok());
  CHECK(verified.value().manifest.sources[0].path == "a.gov");
}

TEST_CASE("signatures: untrusted keys and tampering", "[bundle]") {
  const ir::Policy policy = TinyPolicy();
  const crypto::PrivateKey key = TestKey(7);
  const crypto::PrivateKey stranger = TestKey(9);
  const std::string bytes = Write(Contents(policy), key);

  ExpectError(LoadBundle(bytes, {}), "no trusted public keys");
  ExpectError(LoadBundle(bytes, {stranger.public_key()}),
              "bundle is signed by key " + key.public_key().IdHex() +
                  ", which is not trusted (trusted: " + stranger.public_key().IdHex() + ")");
  ExpectError(LoadBundle(Write(Contents(policy), stranger), {key.public_key()}), "which is not trusted");

  // A byte of the manifest changed: the signature no longer verifies.
  std::string tampered = bytes;
  const std::size_t at = tampered.find("tiny");
  REQUIRE(at != std::string::npos);
  tampered[at] = 'T';
  ExpectError(LoadBundle(tampered, {key.public_key()}), "does not verify: the bundle was modified after it was signed");

  // Re-signing by another key while claiming the trusted key's id fails too.
  std::string forged = Write(Contents(policy), stranger);
  const crypto::KeyId id = key.public_key().Id();
  std::memcpy(forged.data() + forged.size() - kSignaturePayloadSize, id.data(), id.size());
  ExpectError(LoadBundle(forged, {key.public_key()}), "does not verify");
}

TEST_CASE("framing errors are precise", "[bundle]") {
  const ir::Policy policy = TinyPolicy();
  const crypto::PrivateKey key = TestKey(7);
  const std::vector<crypto::PublicKey> trusted = {key.public_key()};
  const std::string ir_bytes = ir::Serialize(policy);
  const std::string manifest = Manifest1Json(policy, ir_bytes);
  using Sections = std::vector<std::pair<std::uint32_t, std::string>>;
  const Sections good = {{kSectionManifest, manifest}, {kSectionIr, ir_bytes}};

  REQUIRE(LoadBundle(FrameAndSign(1, good, key), trusted).ok());
  ExpectError(LoadBundle("", trusted), "truncated inside the magic (0 bytes)");
  ExpectError(LoadBundle("GOVB", trusted), "truncated inside the magic (4 bytes)");
  ExpectError(LoadBundle("PK\x03\x04 not a bundle", trusted), "wrong magic");
  ExpectError(LoadBundle(std::string("GOVBNDL\0\x01\0", 10), trusted), "truncated inside the format version");
  ExpectError(LoadBundle(FrameAndSign(2, good, key), trusted),
              "bundle format version 2 was built by a newer govc; this build reads format version 1");
  ExpectError(LoadBundle(FrameAndSign(0, good, key), trusted), "bundle format version 0 is invalid");
  ExpectError(
      LoadBundle(FrameAndSign(1, {{kSectionManifest, manifest}, {kSectionIr, ir_bytes}, {4, "x"}}, key), trusted),
      "unknown critical section type 0x4 at offset");
  ExpectError(
      LoadBundle(FrameAndSign(1, {{0, "x"}, {kSectionManifest, manifest}, {kSectionIr, ir_bytes}}, key), trusted),
      "unknown critical section type 0x0 at offset 12");
  ExpectError(
      LoadBundle(FrameAndSign(1, {{kSectionManifest, manifest}, {kSectionIr, ir_bytes}, {kSectionIr, ir_bytes}}, key),
                 trusted),
      "duplicate IR section");
  ExpectError(LoadBundle(FrameAndSign(1, {{kSectionIr, ir_bytes}, {kSectionManifest, manifest}}, key), trusted),
              "section MANIFEST at offset");
  ExpectError(LoadBundle(FrameAndSign(1, {{kSectionIr, ir_bytes}}, key), trusted), "no MANIFEST section");
  ExpectError(LoadBundle(FrameAndSign(1, {{kSectionManifest, manifest}}, key), trusted), "no IR section");
  ExpectError(
      LoadBundle(
          FrameAndSign(
              1, {{kSectionManifest, manifest}, {kSectionIr, ir_bytes}, {kSectionSignature, std::string(72, '\0')}},
              key),
          trusted),
      "84 trailing bytes after the SIGNATURE section");

  // Skippable extension sections are accepted (and signed).
  auto extended = LoadBundle(
      FrameAndSign(1, {{kSectionManifest, manifest}, {kSectionIr, ir_bytes}, {0x80000001u, "future"}}, key), trusted);
  INFO((extended.ok() ? std::string() : extended.error().message));
  CHECK(extended.ok());

  const std::string bytes = FrameAndSign(1, good, key);
  ExpectError(LoadBundle(bytes + "x", trusted), "1 trailing bytes after the SIGNATURE section");
  std::string long_length = bytes;
  long_length[12 + 4 + 7] = '\x01';  // MANIFEST length += 2^56
  ExpectError(LoadBundle(long_length, trusted), "section MANIFEST at offset 12 claims");
  std::string bad_signature_length = bytes;
  bad_signature_length[bytes.size() - kSignaturePayloadSize - 8] = 71;
  ExpectError(LoadBundle(bad_signature_length, trusted), "SIGNATURE section at offset");
  ExpectError(LoadBundle(bytes.substr(0, bytes.size() - kSignaturePayloadSize - 12), trusted),
              "no SIGNATURE section (truncated bundle?)");
  ExpectError(LoadBundle(bytes.substr(0, 20), trusted), "truncated inside a section header at offset 12");
}

TEST_CASE("manifest and section digests must agree", "[bundle]") {
  const ir::Policy policy = TinyPolicy();
  const crypto::PrivateKey key = TestKey(7);
  const std::vector<crypto::PublicKey> trusted = {key.public_key()};
  const std::string ir_bytes = ir::Serialize(policy);
  Manifest manifest = BaseManifest(policy);
  manifest.ir_sha256 = crypto::DigestString(crypto::Sha256Of(ir_bytes));

  Manifest wrong_ir = manifest;
  wrong_ir.ir_sha256 = crypto::DigestString(crypto::Sha256Of("other"));
  ExpectError(
      LoadBundle(FrameAndSign(1, {{kSectionManifest, ManifestToJson(wrong_ir)}, {kSectionIr, ir_bytes}}, key), trusted),
      "IR section does not match the manifest's ir_sha256");
  ExpectError(
      LoadBundle(
          FrameAndSign(
              1, {{kSectionManifest, ManifestToJson(manifest)}, {kSectionIr, ir_bytes}, {kSectionNative, "code"}}, key),
          trusted),
      "NATIVE section the manifest does not name");
  Manifest names_code = manifest;
  names_code.target = Target{HostTriple(), "x86-64", {}};
  names_code.code_sha256 = crypto::DigestString(crypto::Sha256Of("code"));
  ExpectError(LoadBundle(FrameAndSign(1, {{kSectionManifest, ManifestToJson(names_code)}, {kSectionIr, ir_bytes}}, key),
                         trusted),
              "names native code but there is no NATIVE section");
  ExpectError(
      LoadBundle(
          FrameAndSign(
              1, {{kSectionManifest, ManifestToJson(names_code)}, {kSectionIr, ir_bytes}, {kSectionNative, "c0de"}},
              key),
          trusted),
      "NATIVE section does not match the manifest's code_sha256");
  Manifest future_abi = manifest;
  future_abi.abi_version = GOV_ABI_VERSION + 1;
  ExpectError(LoadBundle(FrameAndSign(1, {{kSectionManifest, ManifestToJson(future_abi)}, {kSectionIr, ir_bytes}}, key),
                         trusted),
              "decision ABI version 2");
  ExpectError(
      LoadBundle(FrameAndSign(1, {{kSectionManifest, " " + ManifestToJson(manifest)}, {kSectionIr, ir_bytes}}, key),
                 trusted),
      "bundle manifest: manifest is not in canonical JSON form");
  // Signed, digests right, but the IR does not decode or names another policy.
  Manifest garbage_ir = manifest;
  garbage_ir.ir_sha256 = crypto::DigestString(crypto::Sha256Of("garbage"));
  ExpectError(
      LoadBundle(FrameAndSign(1, {{kSectionManifest, ManifestToJson(garbage_ir)}, {kSectionIr, "garbage"}}, key),
                 trusted),
      "bundle IR: ");
  const std::string other_ir = ir::Serialize(TinyPolicy("other"));
  Manifest other = manifest;
  other.ir_sha256 = crypto::DigestString(crypto::Sha256Of(other_ir));
  ExpectError(
      LoadBundle(FrameAndSign(1, {{kSectionManifest, ManifestToJson(other)}, {kSectionIr, other_ir}}, key), trusted),
      "bundle manifest names policy `tiny` version `1.0`, its IR is `other` version `1.0`");
}

// Every prefix and every single-bit flip of `bytes` is rejected.
void ExpectEveryCorruptionRejected(const std::string& bytes, const std::vector<crypto::PublicKey>& trusted) {
  REQUIRE(LoadBundle(bytes, trusted).ok());
  std::size_t accepted_prefixes = 0;
  for (std::size_t size = 0; size < bytes.size(); ++size) {
    if (LoadBundle(std::string_view(bytes).substr(0, size), trusted).ok()) {
      ++accepted_prefixes;
      UNSCOPED_INFO("accepted a prefix of " << size << " bytes");
    }
  }
  CHECK(accepted_prefixes == 0);
  std::size_t accepted_flips = 0;
  std::string flipped = bytes;
  for (std::size_t bit = 0; bit < bytes.size() * 8; ++bit) {
    flipped[bit / 8] = static_cast<char>(flipped[bit / 8] ^ (1 << (bit % 8)));
    if (LoadBundle(flipped, trusted).ok()) {
      ++accepted_flips;
      UNSCOPED_INFO("accepted a flip of bit " << bit);
    }
    flipped[bit / 8] = bytes[bit / 8];
  }
  CHECK(accepted_flips == 0);
}

TEST_CASE("every truncation and every bit flip is rejected", "[bundle]") {
  const ir::Policy policy = TinyPolicy();
  const crypto::PrivateKey key = TestKey(7);
  const std::vector<crypto::PublicKey> trusted = {key.public_key()};
  SECTION("IR only") {
    ExpectEveryCorruptionRejected(Write(Contents(policy), key), trusted);
  }
  SECTION("with a small fake native section") {
    const std::string bytes =
        Write(NativeContents(policy, std::string(48, '\x90') + "fake code", {std::string(kMadeUpFeature)}), key);
    ExpectEveryCorruptionRejected(bytes, trusted);
  }
}

TEST_CASE("openssl verifies a bundle signature", "[bundle]") {
  if (std::system("command -v openssl >/dev/null 2>&1") != 0) {
    WARN("openssl is not installed: skipping the bundle signature interoperability check");
    return;
  }
  const crypto::PrivateKey key = TestKey(7);
  const std::string bytes = Write(Contents(TinyPolicy()), key);
  char dir_pattern[] = "/tmp/gov-bundle-openssl-XXXXXX";
  const char* dir = mkdtemp(dir_pattern);
  REQUIRE(dir != nullptr);
  const std::string base = std::string(dir) + "/";
  auto write_file = [](const std::string& path, std::string_view content) {
    std::ofstream out(path, std::ios::binary);
    out.write(content.data(), static_cast<std::streamsize>(content.size()));
  };
  const std::string_view signed_part = std::string_view(bytes).substr(0, bytes.size() - kSignaturePayloadSize);
  write_file(base + "signer.pub", key.public_key().ToPem());
  write_file(base + "message", SignedMessage(signed_part));
  write_file(base + "signature", std::string_view(bytes).substr(bytes.size() - crypto::kEd25519SignatureSize));
  write_file(base + "other", SignedMessage(std::string(signed_part) + "x"));
  const std::string verify =
      "openssl pkeyutl -verify -pubin -inkey " + base + "signer.pub -rawin -sigfile " + base + "signature -in " + base;
  CHECK(std::system((verify + "message >/dev/null 2>&1").c_str()) == 0);
  CHECK(std::system((verify + "other >/dev/null 2>&1").c_str()) != 0);
  std::system(("rm -rf '" + std::string(dir) + "'").c_str());
}

TEST_CASE("host CPU detection and target checks", "[bundle]") {
  const auto& features = HostCpuFeatures();
  CHECK(std::is_sorted(features.begin(), features.end()));
  if (HostArch() == "x86_64") {
    CHECK(HostHasFeature("sse2"));
    CHECK(HostHasFeature("64bit"));
    CHECK(NativeIncompatibility(Target{"x86_64-pc-linux-gnu", "x86-64", {"+sse2", "+cx8", "-avx512f"}}).empty());
    CHECK(NativeIncompatibility(Target{"x86_64-unknown-linux-gnu", "generic", {}}).empty());
    CHECK(NativeIncompatibility(Target{"x86_64-linux-gnu", "x86-64", {}}).empty());
    CHECK(NativeIncompatibility(Target{"aarch64-unknown-linux-gnu", "generic", {}}) ==
          "the code is for aarch64, this machine is x86_64");
    CHECK(NativeIncompatibility(Target{"x86_64-apple-darwin", "generic", {}}) ==
          "the code is for `x86_64-apple-darwin`, not for linux");
  }
  CHECK_FALSE(HostHasFeature("gov-made-up-feature"));
  CHECK(NativeIncompatibility(Target{HostTriple(), "generic", {std::string(kMadeUpFeature)}}) ==
        "the code needs CPU feature gov-made-up-feature, which this CPU lacks");
}

TEST_CASE("code for another CPU falls back to the interpreter", "[bundle]") {
  const ir::Policy policy = TinyPolicy();
  const crypto::PrivateKey key = TestKey(7);
  const std::vector<crypto::PublicKey> trusted = {key.public_key()};
  // Real code when a C compiler is present, else bytes that are never loaded.
  std::string code = BuildFakeNative(GOV_ASK, 4242);
  if (code.empty()) {
    code = "never loaded";
  }
  const std::string bytes = Write(NativeContents(policy, code, {"+sse2", std::string(kMadeUpFeature)}), key);

  auto loaded = LoadBundle(bytes, trusted);
  REQUIRE(loaded.ok());
  CHECK_FALSE(loaded.value().native());
  CHECK(loaded.value().engine() ==
        "IR interpreter: the code needs CPU feature gov-made-up-feature, which this CPU lacks");
  gov_decision decision{};
  CHECK(DecideFor(loaded.value(), "git", decision) == GOV_ALLOW);
  CHECK(decision.timeout_ms == 5000);

  ExpectError(LoadBundle(bytes, trusted, LoadOptions{.require_native = true}),
              "bundle native code cannot be used: the code needs CPU feature gov-made-up-feature");
  ExpectError(LoadBundle(bytes, trusted, LoadOptions{.require_native = true, .allow_native = false}),
              "contradictory load options");

  // Code for this machine that is not a loadable object: fallback, or an error when required.
  const std::string junk = Write(NativeContents(policy, "not an ELF object", {}), key);
  auto junk_loaded = LoadBundle(junk, trusted);
  REQUIRE(junk_loaded.ok());
  CHECK_FALSE(junk_loaded.value().native());
  CHECK(junk_loaded.value().engine().find("IR interpreter: cannot load the native code: dlopen failed") == 0);
  ExpectError(LoadBundle(junk, trusted, LoadOptions{.require_native = true}), "cannot load the native code");
}

TEST_CASE("native code runs from a sealed memfd", "[bundle]") {
  const std::string ask_code = BuildFakeNative(GOV_ASK, 4242);
  const std::string deny_code = BuildFakeNative(GOV_DENY, 17);
  if (ask_code.empty() || deny_code.empty()) {
    WARN("no C compiler (cc): skipping the native loading checks");
    return;
  }
  const ir::Policy policy = TinyPolicy();
  const crypto::PrivateKey key = TestKey(7);
  const std::vector<crypto::PublicKey> trusted = {key.public_key()};
  const std::string ask_bundle = Write(NativeContents(policy, ask_code, {}), key);
  const std::string deny_bundle = Write(NativeContents(policy, deny_code, {"-avx512f"}), key);

  auto ask = LoadBundle(ask_bundle, trusted, LoadOptions{.require_native = true});
  INFO((ask.ok() ? std::string() : ask.error().message));
  REQUIRE(ask.ok());
  CHECK(ask.value().native());
  CHECK(ask.value().engine() == "native code for " + HostTriple() + " (x86-64)");
  auto deny = LoadBundle(deny_bundle, trusted);
  REQUIRE(deny.ok());
  CHECK(deny.value().native());

  // Each loaded policy runs its own code (the fake code ignores the request).
  gov_decision decision{};
  CHECK(DecideFor(ask.value(), "git", decision) == GOV_ASK);
  CHECK(decision.timeout_ms == 4242);
  CHECK(DecideFor(deny.value(), "git", decision) == GOV_DENY);
  CHECK(decision.timeout_ms == 17);

  // The interpreter can still be forced.
  auto interpreted = LoadBundle(ask_bundle, trusted, LoadOptions{.allow_native = false});
  REQUIRE(interpreted.ok());
  CHECK_FALSE(interpreted.value().native());
  CHECK(interpreted.value().engine() == "IR interpreter: native code was not allowed by the caller");
  CHECK(DecideFor(interpreted.value(), "git", decision) == GOV_ALLOW);

  // Unload and load again many times: no stale objects, no leaked descriptors.
  for (int i = 0; i < 20; ++i) {
    auto again = LoadBundle(i % 2 == 0 ? deny_bundle : ask_bundle, trusted, LoadOptions{.require_native = true});
    REQUIRE(again.ok());
    CHECK(DecideFor(again.value(), "git", decision) == (i % 2 == 0 ? GOV_DENY : GOV_ASK));
  }
  // Moving a loaded policy keeps its code.
  LoadedPolicy moved = std::move(ask).value();
  CHECK(DecideFor(moved, "git", decision) == GOV_ASK);
}

TEST_CASE("code from the code generator loads from a bundle and agrees with the interpreter", "[bundle]") {
  if (access("/usr/bin/ld", X_OK) != 0) {
    WARN("no /usr/bin/ld: skipping the generated-code bundle check");
    return;
  }
  const ir::Policy policy = TinyPolicy();
  auto jit = codegen::JitPolicy::Compile(policy);
  INFO((jit.ok() ? std::string() : jit.error().message));
  REQUIRE(jit.ok());
  const codegen::NativeCode& native = jit.value()->native();
  REQUIRE_FALSE(native.shared_object.empty());
  BundleContents contents = Contents(policy);
  contents.manifest.target = Target{native.target_triple, native.cpu, SplitFeatureString(native.cpu_features)};
  contents.native = native.shared_object;
  const crypto::PrivateKey key = TestKey(7);
  const std::string bytes = Write(contents, key);

  auto loaded = LoadBundle(bytes, {key.public_key()}, LoadOptions{.require_native = true});
  INFO((loaded.ok() ? std::string() : loaded.error().message));
  REQUIRE(loaded.ok());
  CHECK(loaded.value().native());
  auto interpreted = LoadBundle(bytes, {key.public_key()}, LoadOptions{.allow_native = false});
  REQUIRE(interpreted.ok());
  for (const std::string_view program : {"git", "gitk", "", "rm"}) {
    gov_decision from_code{};
    gov_decision from_ir{};
    INFO("program " << program);
    CHECK(DecideFor(loaded.value(), program, from_code) == DecideFor(interpreted.value(), program, from_ir));
    CHECK(interp::SameDecision(from_code, from_ir));
  }
  gov_decision decision{};
  CHECK(DecideFor(loaded.value(), "git", decision) == GOV_ALLOW);
  CHECK(decision.timeout_ms == 5000);
}

}  // namespace
}  // namespace gov::bundle
