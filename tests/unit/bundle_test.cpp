// Unit tests for runtime/bundle and govc's code-image linker: manifest
// canonical JSON, the writer, the framing and verification errors (untrusted
// key, old and future versions, unknown sections, target/NATIVE agreement),
// every rule of the code image format, truncation at every length and every
// single-bit flip (always rejected), host CPU checks, the linker's
// rejections, and the loader's engine choice: native code mapped from the
// verified image (objects built with the system C compiler when one is
// installed and linked by compiler/codegen/link.h, and code from the code
// generator), or the IR interpreter as fallback.
#include "runtime/bundle/bundle.h"

#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "compiler/codegen/codegen.h"
#include "compiler/codegen/link.h"
#include "runtime/abi/gov_abi.h"
#include "runtime/bundle/build_tests.h"
#include "runtime/bundle/host_cpu.h"
#include "runtime/bundle/loader.h"
#include "runtime/bundle/manifest.h"
#include "runtime/crypto/ed25519.h"
#include "runtime/crypto/sha256.h"
#include "runtime/interp/interp.h"
#include "runtime/ir/env_reads.h"
#include "runtime/ir/ir.h"
#include "runtime/ir/serialize.h"
#include "tests/unit/test_support.h"

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

using gov::testing::ExpectError;

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

std::string ManifestJson(const ir::Policy& policy) {
  return ManifestToJson(BaseManifest(policy));
}

bool HaveCompiler() {
  return HostMachine() == kMachineX86_64 && std::system("command -v cc >/dev/null 2>&1") == 0;
}

// Compiles C `source` with the system C compiler (`flags` added) into an ELF
// relocatable object; empty if it fails.
std::string CompileObject(const std::string& source, const std::string& flags = "-fPIC") {
  char dir_pattern[] = "/tmp/gov-bundle-test-XXXXXX";
  const char* dir = mkdtemp(dir_pattern);
  REQUIRE(dir != nullptr);
  const std::string path = std::string(dir) + "/fake.c";
  const std::string object = std::string(dir) + "/fake.o";
  {
    std::ofstream out(path);
    out << source;
  }
  const std::string command = "cc -c -O1 -fno-asynchronous-unwind-tables -ffreestanding " + flags + " -I" +
                              std::string(GOV_SOURCE_DIR) + " -o " + object + " " + path + " >/dev/null 2>&1";
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

// A code image whose gov_decide answers `verdict` with timeout `timeout_ms`
// (read through a table of pointers, so the image has fixups), built with
// the system C compiler and govc's linker. Empty without a compiler.
std::string BuildFakeNative(int verdict, int timeout_ms, std::uint32_t rule_id = 0) {
  if (!HaveCompiler()) {
    return {};
  }
  std::ostringstream source;
  source << "#include \"runtime/abi/gov_abi.h\"\n"
            "static const uint32_t timeouts[2] = {"
         << timeout_ms << ", " << timeout_ms
         << "};\n"
            "static const uint32_t* const table[2] = {&timeouts[0], &timeouts[1]};\n"
            "uint32_t gov_decide(const gov_request* r, gov_decision* d, const gov_helpers* h) {\n"
            "  (void)h;\n"
            "  d->verdict = "
         << verdict
         << "; d->error = 0; d->error_rule = GOV_NO_RULE;\n"
            "  d->rule_count = 1; d->deciding_count = 1; d->rules[0] = "
         << rule_id
         << ";\n"
            "  d->timeout_ms = *table[r->program_name.size & 1];\n"
            "  return d->verdict;\n"
            "}\n";
  const std::string object = CompileObject(source.str());
  REQUIRE_FALSE(object.empty());
  auto image = codegen::LinkCodeImage(object, "gov_decide");
  INFO((image.ok() ? std::string() : image.error().message));
  REQUIRE(image.ok());
  return image.value();
}

// A small well-formed image for this machine: `ret` code, one fixup.
std::string TinyImage() {
  CodeImageParts parts;
  parts.machine = HostMachine() != 0 ? HostMachine() : kMachineX86_64;
  parts.code = std::string(15, '\x90') + "\xc3";
  parts.data = std::string(16, '\0');
  parts.data[0] = 8;  // points at the image's 9th byte
  parts.fixups = {ImageDataOffset(parts.code.size())};
  parts.entry = 0;
  return WriteCodeImage(parts);
}

// `policy`'s IR with a host-target manifest and TinyImage as its native
// code, framed and signed by `key` without the writer's checks (so the IR
// may be one govc would refuse).
std::string SignedWithTinyImage(const ir::Policy& policy, const crypto::PrivateKey& key) {
  Manifest manifest = BaseManifest(policy);
  manifest.target = Target{HostTriple(), "x86-64", {}};
  return FrameAndSign(2,
                      {{kSectionManifest, ManifestToJson(manifest)},
                       {kSectionIr, ir::Serialize(policy)},
                       {kSectionNative, TinyImage()}},
                      key);
}

TEST_CASE("manifest direct reader agrees with the general parser", "[bundle]") {
  using gov::bundle::internal::ParseManifestGeneral;
  using gov::bundle::internal::ReadCanonicalManifest;
  Manifest manifest = BaseManifest(TinyPolicy());
  manifest.sources.push_back({"z/other.gov", manifest.sources[0].sha256});
  manifest.target = Target{"x86_64-pc-linux-gnu", "x86-64-v2", {"+sse4.2", "-avx"}};
  for (bool with_target : {false, true}) {
    Manifest m = manifest;
    if (!with_target) m.target.reset();
    const std::string json = ManifestToJson(m);
    auto read = ReadCanonicalManifest(json);
    REQUIRE(read.has_value());
    CHECK(*read == m);
    auto general = ParseManifestGeneral(json);
    REQUIRE(general.ok());
    CHECK(general.value() == m);
  }
  Manifest empty_lists = manifest;
  empty_lists.target->features.clear();
  auto read_empty = ReadCanonicalManifest(ManifestToJson(empty_lists));
  REQUIRE(read_empty.has_value());
  CHECK(*read_empty == empty_lists);

  // Strings needing escapes or outside printable ASCII: left to the general
  // parser, which reads them.
  for (std::string version : {"q\"", "b\\", "t\t", "\xc3\xa9"}) {
    Manifest m = manifest;
    m.policy_version = version;
    const std::string json = ManifestToJson(m);
    CHECK_FALSE(ReadCanonicalManifest(json).has_value());
    auto parsed = ParseManifest(json);
    REQUIRE(parsed.ok());
    CHECK(parsed.value() == m);
  }
  // Any byte out of the canonical layout: not read directly.
  const std::string json = ManifestToJson(manifest);
  const std::string abi = ":" + std::to_string(GOV_ABI_VERSION) + ",";
  for (const std::string& bad : {" " + json, json + " ", json.substr(0, json.size() - 1),
                                 std::string(json).replace(json.find(abi), abi.size(), ":0" + abi.substr(1)),
                                 std::string(json).replace(json.find(abi), abi.size(), ":4294967296,"),
                                 std::string(json).replace(json.find("\"sources\""), 9, "\"sourcez\""),
                                 std::string(json).replace(json.find("],\"triple\""), 1, ",]")}) {
    CHECK_FALSE(ReadCanonicalManifest(bad).has_value());
    CHECK_FALSE(ParseManifest(bad).ok());
  }
  // Read but failing CheckManifest: ParseManifest reports the general
  // parser's error.
  std::string bad_time = json;
  bad_time.replace(bad_time.find("2026-01-02T03:04:05Z"), 20, "2026-13-02T03:04:05Z");
  CHECK(ReadCanonicalManifest(bad_time).has_value());
  ExpectError(ParseManifest(bad_time), "out-of-range");
}

TEST_CASE("manifest canonical JSON round trip and strict parsing", "[bundle]") {
  Manifest manifest = BaseManifest(TinyPolicy());
  manifest.policy_version = "quote\" backslash\\ tab\t nl\n ctl\x01 é";
  const std::string json = ManifestToJson(manifest);
  CHECK(json.find("\"policy\":{\"name\":\"tiny\",\"version\":\"quote\\\" backslash\\\\ tab\\t nl\\n ctl\\u0001 é\"}") !=
        std::string::npos);
  auto parsed = ParseManifest(json);
  REQUIRE(parsed.ok());
  CHECK(parsed.value() == manifest);

  manifest.target = Target{"x86_64-pc-linux-gnu", "x86-64-v2", {"+sse4.2", "-avx"}};
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
  const std::string abi_field = "\"abi_version\":" + std::to_string(GOV_ABI_VERSION);
  std::string missing = json;
  missing.replace(missing.find(abi_field + ","), abi_field.size() + 1, "");
  ExpectError(ParseManifest(missing), "lacks field `abi_version`");
  std::string negative = json;
  negative.replace(negative.find(abi_field), abi_field.size(), "\"abi_version\":-1");
  ExpectError(ParseManifest(negative), "unsigned 32-bit integer");
  std::string bad_digest = json;
  bad_digest.replace(bad_digest.find("\"sha256\":\"sha256:") + 17, 1, "X");
  ExpectError(ParseManifest(bad_digest), "`sources[].sha256` is not a `sha256:<64 hex>` digest");
  std::string old_field = json;
  old_field.insert(old_field.find("\"compiler_version\""), "\"code_sha256\":null,");
  ExpectError(ParseManifest(old_field), "unknown field `code_sha256`");
  std::string bad_time = json;
  bad_time.replace(bad_time.find("2026-01-02T03:04:05Z"), 20, "2026-01-02 03:04:05Z");
  ExpectError(ParseManifest(bad_time), "RFC 3339");
  std::string bad_month = json;
  bad_month.replace(bad_month.find("2026-01-02T03:04:05Z"), 20, "2026-13-02T03:04:05Z");
  ExpectError(ParseManifest(bad_month), "out-of-range");

  Manifest unsorted = manifest;
  unsorted.sources.push_back({"a.gov", manifest.sources[0].sha256});
  ExpectError(CheckManifest(unsorted), "not sorted");
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
  CHECK(bytes.substr(0, 12) == std::string("GOVBNDL\0\x02\0\0\0", 12));

  auto loaded = LoadBundle(bytes, {key.public_key()});
  INFO((loaded.ok() ? std::string() : loaded.error().message));
  REQUIRE(loaded.ok());
  const LoadedPolicy& policy_loaded = loaded.value();
  CHECK_FALSE(policy_loaded.native());
  CHECK(policy_loaded.engine() == "IR interpreter: the bundle has no native code");
  CHECK(policy_loaded.policy() == policy);
  CHECK(policy_loaded.digest() == crypto::DigestString(crypto::Sha256Of(bytes)));
  CHECK(policy_loaded.signer() == key.public_key());
  CHECK(policy_loaded.prepared().policy() == policy);
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

TEST_CASE("the TESTS extension: written after NATIVE, skipped by the loader, strict to parse", "[bundle]") {
  const ir::Policy policy = TinyPolicy();
  const crypto::PrivateKey key = TestKey(7);
  BuildTests tests;
  tests.cases = 12;
  tests.rules = 2;
  tests.exercised = {1};
  tests.engine = "IR interpreter";
  const std::string payload = BuildTestsToJson(tests);
  CHECK(payload == R"({"cases":12,"engine":"IR interpreter","exercised":[1],"rules":2})");
  BundleContents contents = Contents(policy);
  contents.tests = payload;
  const std::string bytes = Write(contents, key);
  auto verified = VerifyBundle(bytes, {key.public_key()});
  REQUIRE(verified.ok());
  REQUIRE(verified.value().tests.has_value());
  CHECK(*verified.value().tests == payload);
  auto framing = ParseFraming(bytes);
  REQUIRE(framing.ok());
  CHECK(framing.value().sections.back().type == kSectionTests);
  CHECK(SectionName(kSectionTests) == "TESTS");
  // govrun's loader decides with it as without it (a non-critical section).
  auto loaded = LoadBundle(bytes, {key.public_key()});
  REQUIRE(loaded.ok());
  gov_decision decision{};
  CHECK(DecideFor(loaded.value(), "git", decision) == GOV_ALLOW);
  CHECK(!VerifyBundle(Write(Contents(policy), key), {key.public_key()}).value().tests.has_value());

  auto parsed = ParseBuildTests(payload);
  REQUIRE(parsed.ok());
  CHECK(parsed.value() == tests);
  for (const char* bad : {R"({"cases":12,"engine":"IR interpreter","exercised":[2],"rules":2})",
                          R"({"cases":12,"engine":"IR interpreter","exercised":[1,0],"rules":2})",
                          R"({"cases":12,"engine":"IR interpreter","exercised":[1,1],"rules":2})",
                          R"({"cases":-1,"engine":"IR interpreter","exercised":[],"rules":2})",
                          R"({"cases":12,"engine":"IR interpreter","exercised":[],"rules":2,"x":1})",
                          R"({"cases":12, "engine":"IR interpreter","exercised":[],"rules":2})",
                          R"({"engine":"IR interpreter","cases":12,"exercised":[],"rules":2})", R"([12])", "", "{"}) {
    INFO(bad);
    CHECK(!ParseBuildTests(bad).ok());
  }
  // The writer refuses a payload that does not parse.
  contents.tests = "{}";
  CHECK(!WriteBundle(contents, key).ok());
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
  BundleContents not_image = NativeContents(policy, "code", {});
  ExpectError(WriteBundle(not_image, key),
              "the code to bundle: native code image is truncated inside its 48-byte header");
  BundleContents other_machine = NativeContents(policy, TinyImage(), {});
  other_machine.manifest.target->triple = "aarch64-unknown-linux-gnu";
  ExpectError(WriteBundle(other_machine, key), "but the target triple is `aarch64-unknown-linux-gnu`");
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
  const std::string manifest = ManifestJson(policy);
  using Sections = std::vector<std::pair<std::uint32_t, std::string>>;
  const Sections good = {{kSectionManifest, manifest}, {kSectionIr, ir_bytes}};

  REQUIRE(LoadBundle(FrameAndSign(2, good, key), trusted).ok());
  ExpectError(LoadBundle("", trusted), "truncated inside the magic (0 bytes)");
  ExpectError(LoadBundle("GOVB", trusted), "truncated inside the magic (4 bytes)");
  ExpectError(LoadBundle("PK\x03\x04 not a bundle", trusted), "wrong magic");
  ExpectError(LoadBundle(std::string("GOVBNDL\0\x01\0", 10), trusted), "truncated inside the format version");
  ExpectError(LoadBundle(FrameAndSign(3, good, key), trusted),
              "bundle format version 3 was built by a newer govc; this build reads format version 2");
  ExpectError(LoadBundle(FrameAndSign(1, good, key), trusted),
              "bundle format version 1 was written by an older govc; this build reads format version 2: rebuild the "
              "bundle with this govc (govc build)");
  ExpectError(LoadBundle(FrameAndSign(0, good, key), trusted), "bundle format version 0 is invalid");
  ExpectError(
      LoadBundle(FrameAndSign(2, {{kSectionManifest, manifest}, {kSectionIr, ir_bytes}, {4, "x"}}, key), trusted),
      "unknown critical section type 0x4 at offset");
  ExpectError(
      LoadBundle(FrameAndSign(2, {{0, "x"}, {kSectionManifest, manifest}, {kSectionIr, ir_bytes}}, key), trusted),
      "unknown critical section type 0x0 at offset 12");
  ExpectError(
      LoadBundle(FrameAndSign(2, {{kSectionManifest, manifest}, {kSectionIr, ir_bytes}, {kSectionIr, ir_bytes}}, key),
                 trusted),
      "duplicate IR section");
  ExpectError(LoadBundle(FrameAndSign(2, {{kSectionIr, ir_bytes}, {kSectionManifest, manifest}}, key), trusted),
              "section MANIFEST at offset");
  ExpectError(LoadBundle(FrameAndSign(2, {{kSectionIr, ir_bytes}}, key), trusted), "no MANIFEST section");
  ExpectError(LoadBundle(FrameAndSign(2, {{kSectionManifest, manifest}}, key), trusted), "no IR section");
  ExpectError(
      LoadBundle(
          FrameAndSign(
              2, {{kSectionManifest, manifest}, {kSectionIr, ir_bytes}, {kSectionSignature, std::string(72, '\0')}},
              key),
          trusted),
      "84 trailing bytes after the SIGNATURE section");

  // Skippable extension sections are accepted (and signed).
  auto extended = LoadBundle(
      FrameAndSign(2, {{kSectionManifest, manifest}, {kSectionIr, ir_bytes}, {0x80000001u, "future"}}, key), trusted);
  INFO((extended.ok() ? std::string() : extended.error().message));
  CHECK(extended.ok());

  const std::string bytes = FrameAndSign(2, good, key);
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

// Finding 11: 200,000 empty extension sections (2.4 MB) took 12 s in the
// quadratic duplicate check, before the signature was checked. Bounded by
// counts: the framing refuses more than kMaxSections sections, and at the
// cap a repeat and a step back are still told apart (binary search).
TEST_CASE("hostile framing: too many sections are refused before the signature", "[bundle][hostile]") {
  const ir::Policy policy = TinyPolicy();
  const crypto::PrivateKey key = TestKey(7);
  const std::vector<crypto::PublicKey> trusted = {key.public_key()};
  const std::string ir_bytes = ir::Serialize(policy);
  const std::string manifest = ManifestJson(policy);
  using Sections = std::vector<std::pair<std::uint32_t, std::string>>;
  auto with_extensions = [&](std::size_t count) {
    Sections sections = {{kSectionManifest, manifest}, {kSectionIr, ir_bytes}};
    for (std::size_t i = 0; i < count; ++i) sections.emplace_back(0x80000000u + static_cast<std::uint32_t>(i), "");
    return sections;
  };
  // The finding's file, signed by a trusted key: refused at section 1025.
  const std::string hostile = FrameAndSign(2, with_extensions(200'000), key);
  REQUIRE(hostile.size() > 2'400'000);
  const std::size_t offset_1025 = 12 + 12 + manifest.size() + 12 + ir_bytes.size() + 12 * (kMaxSections - 2);
  const std::string expected = "bundle has more than 1024 sections before SIGNATURE (section 0x800003fe at offset " +
                               std::to_string(offset_1025) + ")";
  ExpectError(ParseFraming(hostile), expected);
  ExpectError(LoadBundle(hostile, trusted), expected);
  // Unsigned (an untrusted key): the same, the framing comes first.
  ExpectError(LoadBundle(FrameAndSign(2, with_extensions(200'000), TestKey(9)), trusted), expected);

  // Exactly at the cap: accepted (extensions are skipped).
  auto at_cap = LoadBundle(FrameAndSign(2, with_extensions(kMaxSections - 2), key), trusted);
  INFO((at_cap.ok() ? std::string() : at_cap.error().message));
  CHECK(at_cap.ok());
  // A repeat far back and a type between two seen ones, after 1000 sections.
  Sections repeat = with_extensions(1000);
  repeat.emplace_back(0x80000000u + 17, "");
  ExpectError(ParseFraming(FrameAndSign(2, repeat, key)), "duplicate 0x80000011 section at offset");
  Sections back = with_extensions(1000);
  back.back().first = 0x90000000u;
  back.emplace_back(0x8fffffffu, "");
  ExpectError(ParseFraming(FrameAndSign(2, back, key)), "section 0x8fffffff at offset");
  ExpectError(ParseFraming(FrameAndSign(2, back, key)), "is out of order (types must ascend)");
  Sections manifest_again = {{kSectionManifest, manifest}, {kSectionIr, ir_bytes}, {kSectionManifest, manifest}};
  ExpectError(ParseFraming(FrameAndSign(2, manifest_again, key)), "duplicate MANIFEST section at offset");
}

TEST_CASE("manifest, NATIVE section and code image must agree", "[bundle]") {
  const ir::Policy policy = TinyPolicy();
  const crypto::PrivateKey key = TestKey(7);
  const std::vector<crypto::PublicKey> trusted = {key.public_key()};
  const std::string ir_bytes = ir::Serialize(policy);
  Manifest manifest = BaseManifest(policy);

  ExpectError(
      LoadBundle(
          FrameAndSign(
              2, {{kSectionManifest, ManifestToJson(manifest)}, {kSectionIr, ir_bytes}, {kSectionNative, TinyImage()}},
              key),
          trusted),
      "bundle has a NATIVE section but the manifest names no target");
  Manifest names_code = manifest;
  names_code.target = Target{HostTriple(), "x86-64", {}};
  ExpectError(LoadBundle(FrameAndSign(2, {{kSectionManifest, ManifestToJson(names_code)}, {kSectionIr, ir_bytes}}, key),
                         trusted),
              "bundle manifest names a target but there is no NATIVE section");
  // A malformed image rejects the bundle even when native code is not allowed.
  for (const LoadOptions& options : {LoadOptions{}, LoadOptions{.allow_native = false}}) {
    ExpectError(
        LoadBundle(
            FrameAndSign(
                2, {{kSectionManifest, ManifestToJson(names_code)}, {kSectionIr, ir_bytes}, {kSectionNative, "c0de"}},
                key),
            trusted, options),
        "bundle NATIVE section: native code image is truncated inside its 48-byte header (4 bytes)");
  }
  Manifest arm = names_code;
  arm.target->triple = "aarch64-unknown-linux-gnu";
  ExpectError(
      LoadBundle(
          FrameAndSign(
              2, {{kSectionManifest, ManifestToJson(arm)}, {kSectionIr, ir_bytes}, {kSectionNative, TinyImage()}}, key),
          trusted),
      "the native code image is for x86-64 but the target triple is `aarch64-unknown-linux-gnu`");
  Manifest future_abi = manifest;
  future_abi.abi_version = GOV_ABI_VERSION + 1;
  ExpectError(LoadBundle(FrameAndSign(2, {{kSectionManifest, ManifestToJson(future_abi)}, {kSectionIr, ir_bytes}}, key),
                         trusted),
              "decision ABI version " + std::to_string(GOV_ABI_VERSION + 1) + "; this build supports version " +
                  std::to_string(GOV_ABI_VERSION));
  // A bundle of an older govc gets a rebuild hint.
  Manifest old_abi = manifest;
  old_abi.abi_version = GOV_ABI_VERSION - 1;
  ExpectError(
      LoadBundle(FrameAndSign(2, {{kSectionManifest, ManifestToJson(old_abi)}, {kSectionIr, ir_bytes}}, key), trusted),
      "bundle uses decision ABI version " + std::to_string(GOV_ABI_VERSION - 1) + "; this build supports version " +
          std::to_string(GOV_ABI_VERSION) +
          ": the bundle was built by an older govc; rebuild it with this govc (govc build)");
  ExpectError(
      LoadBundle(FrameAndSign(2, {{kSectionManifest, " " + ManifestToJson(manifest)}, {kSectionIr, ir_bytes}}, key),
                 trusted),
      "bundle manifest: manifest is not in canonical JSON form");
  // Signed, digests right, but the IR does not decode or names another policy.
  Manifest garbage_ir = manifest;
  ExpectError(
      LoadBundle(FrameAndSign(2, {{kSectionManifest, ManifestToJson(garbage_ir)}, {kSectionIr, "garbage"}}, key),
                 trusted),
      "bundle IR: ");
  const std::string other_ir = ir::Serialize(TinyPolicy("other"));
  Manifest other = manifest;
  ExpectError(
      LoadBundle(FrameAndSign(2, {{kSectionManifest, ManifestToJson(other)}, {kSectionIr, other_ir}}, key), trusted),
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
  SECTION("with a small native code image") {
    const std::string bytes = Write(NativeContents(policy, TinyImage(), {std::string(kMadeUpFeature)}), key);
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
  // The commands of docs/bundle-format.md: openssl computes the SHA-256 of
  // the signed part itself and checks the Ed25519 signature over
  // "gov-policy-bundle-v2\0" || that digest.
  write_file(base + "signer.pub", key.public_key().ToPem());
  write_file(base + "tiny.govb", bytes);
  std::string tampered = bytes;
  tampered[20] = static_cast<char>(tampered[20] ^ 1);
  write_file(base + "tampered.govb", tampered);
  auto openssl_accepts = [&](const std::string& file) {
    const std::string script = "cd '" + base + "' && size=$(stat -c %s " + file +
                               ") && { printf 'gov-policy-bundle-v2\\000'; head -c $((size - 72)) " + file +
                               " | openssl dgst -sha256 -binary; } > message && tail -c 64 " + file +
                               " > signature && openssl pkeyutl -verify -pubin -inkey signer.pub -rawin -in message "
                               "-sigfile signature >/dev/null 2>&1";
    return std::system(script.c_str()) == 0;
  };
  CHECK(openssl_accepts("tiny.govb"));
  CHECK_FALSE(openssl_accepts("tampered.govb"));
  // The message is what SignedMessage builds.
  std::ifstream message_file(base + "message", std::ios::binary);
  std::stringstream message;
  message << message_file.rdbuf();
  CHECK(message.str().size() == 53);
  CHECK(message.str().substr(0, 21) == kSignatureDomain);
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
  // glibc's copy of the CPUID leaves (what govrun reads) says what the
  // CPUID instruction says.
  CHECK(HostCpuFeaturesByInstruction() == features);
  // The lazy per-feature query agrees with the full detection.
  for (const std::string_view name :
       {"x87",     "sse2",     "sse4.2", "crc32", "popcnt", "sahf",    "64bit",  "avx",      "avx2",
        "avx512f", "avx512vl", "fma",    "bmi",   "bmi2",   "lzcnt",   "sha",    "aes",      "pku",
        "xsave",   "xsaveopt", "xsavec", "sse4a", "clzero", "ptwrite", "widekl", "amx-tile", "movbe"}) {
    INFO("feature " << name);
    CHECK(HostHasFeature(name) == std::binary_search(features.begin(), features.end(), name));
  }
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
    code = TinyImage();
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
}

// Finding 12 (issue 13): native code that allows under a rule the bundle
// does not define used to run with that rule's obligations skipped.
TEST_CASE("a decision naming a rule the policy does not define denies", "[bundle][failclosed]") {
  const std::string unknown_rule = BuildFakeNative(GOV_ALLOW, 4242, 7);
  if (unknown_rule.empty()) {
    WARN("no C compiler (cc): skipping");
    return;
  }
  const ir::Policy policy = TinyPolicy();
  const crypto::PrivateKey key = TestKey(7);
  const std::vector<crypto::PublicKey> trusted = {key.public_key()};
  auto loaded = LoadBundle(Write(NativeContents(policy, unknown_rule, {}), key), trusted,
                           LoadOptions{.require_native = true, .decode_ir = false});
  REQUIRE(loaded.ok());
  gov_decision decision{};
  CHECK(DecideFor(loaded.value(), "git", decision) == GOV_ALLOW);
  auto rules = loaded.value().RulesOf(decision);
  REQUIRE(rules.ok());
  const interp::RuleLookup lookup = rules.value().lookup();
  // As govrun acts on it: a deny with an internal error, no obligations.
  CHECK(interp::DenyUnknownRules(lookup, decision));
  CHECK(decision.verdict == GOV_DENY);
  CHECK(decision.error == GOV_ERR_INTERNAL);
  CHECK(decision.rule_count == 0);
  CHECK(interp::Explain(lookup, decision).summary == "deny: internal error");
}

TEST_CASE("DenyUnknownRules: which decisions stand", "[bundle][failclosed]") {
  ir::Rule allow;
  allow.name = "a";
  allow.verdict = ir::Verdict::kAllow;
  ir::Rule ask;
  ask.name = "q";
  ask.verdict = ir::Verdict::kAsk;
  const interp::RuleLookup lookup = [&](std::uint32_t id) -> const ir::Rule* {
    return id == 0 ? &allow : id == 1 ? &ask : nullptr;
  };
  struct Case {
    std::uint32_t verdict;
    std::uint32_t error;
    std::vector<std::uint32_t> rules;
    std::uint32_t deciding;
    bool denied;
  };
  const Case cases[] = {
      {GOV_ALLOW, GOV_OK, {0}, 1, false},    // a known allow rule
      {GOV_ALLOW, GOV_OK, {}, 0, true},      // an allow that names no rule
      {GOV_ALLOW, GOV_OK, {0, 9}, 2, true},  // one unknown id
      {GOV_ALLOW, GOV_OK, {1}, 1, true},     // an ask rule deciding an allow
      {GOV_ASK, GOV_OK, {1, 0}, 1, false},   // ask, then its obligation rule
      {GOV_ASK, GOV_OK, {1, 1}, 1, true},    // an obligation rule that is no allow
      {GOV_ASK, GOV_OK, {0}, 0, true},       // an ask without an ask rule
      {GOV_DENY, GOV_OK, {}, 0, false},      // default deny stands
      {GOV_DENY, GOV_ERR_OVERFLOW, {}, 0, false},
  };
  for (const Case& c : cases) {
    gov_decision decision{};
    decision.verdict = c.verdict;
    decision.error = c.error;
    decision.rule_count = static_cast<std::uint32_t>(c.rules.size());
    decision.deciding_count = c.deciding;
    for (std::size_t k = 0; k < c.rules.size(); ++k) decision.rules[k] = c.rules[k];
    INFO("verdict " << c.verdict << " rules " << c.rules.size());
    CHECK(interp::DenyUnknownRules(lookup, decision) == c.denied);
    if (c.denied) {
      CHECK(decision.verdict == GOV_DENY);
      CHECK(decision.error == GOV_ERR_INTERNAL);
    }
  }
}

// True when some mapping of this process is writable and executable.
bool AnyWritableExecutableMapping() {
  std::ifstream maps("/proc/self/maps");
  std::string line;
  while (std::getline(maps, line)) {
    const std::size_t space = line.find(' ');
    if (space == std::string::npos || line.size() < space + 5) continue;
    const std::string perms = line.substr(space + 1, 4);
    if (perms[1] == 'w' && perms[2] == 'x') return true;
  }
  return false;
}

TEST_CASE("native code runs from a private read+execute mapping", "[bundle]") {
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
  CHECK(DecideFor(deny.value(), "gitk", decision) == GOV_DENY);  // the other table entry (a fixup)
  CHECK(decision.timeout_ms == 17);
  CHECK_FALSE(AnyWritableExecutableMapping());
  // The interpreter's form is prepared on demand, once.
  const interp::PreparedPolicy& prepared = deny.value().prepared();
  CHECK(&prepared == &deny.value().prepared());
  CHECK(prepared.policy() == policy);
  auto eager = LoadBundle(deny_bundle, trusted, LoadOptions{.prepare_interpreter = true});
  REQUIRE(eager.ok());
  CHECK(eager.value().native());
  CHECK(eager.value().Prepare().ok());

  // The interpreter can still be forced.
  auto interpreted = LoadBundle(ask_bundle, trusted, LoadOptions{.allow_native = false});
  REQUIRE(interpreted.ok());
  CHECK_FALSE(interpreted.value().native());
  CHECK(interpreted.value().engine() == "IR interpreter: native code was not allowed by the caller");
  CHECK(DecideFor(interpreted.value(), "git", decision) == GOV_ALLOW);

  // Unload and load again many times: no stale mappings, no leaked descriptors.
  auto open_descriptors = [] {
    return std::distance(std::filesystem::directory_iterator("/proc/self/fd"), std::filesystem::directory_iterator());
  };
  const auto descriptors = open_descriptors();
  for (int i = 0; i < 20; ++i) {
    auto again = LoadBundle(i % 2 == 0 ? deny_bundle : ask_bundle, trusted, LoadOptions{.require_native = true});
    REQUIRE(again.ok());
    CHECK(DecideFor(again.value(), "git", decision) == (i % 2 == 0 ? GOV_DENY : GOV_ASK));
  }
  CHECK(open_descriptors() == descriptors);
  // The anonymous-mapping fallback maps the same code just as well.
  auto fallback = LoadBundle(deny_bundle, trusted, LoadOptions{.require_native = true, .map_through_memfd = false});
  REQUIRE(fallback.ok());
  CHECK(DecideFor(fallback.value(), "git", decision) == GOV_DENY);
  CHECK(decision.timeout_ms == 17);
  CHECK(DecideFor(fallback.value(), "gitk", decision) == GOV_DENY);
  CHECK(decision.timeout_ms == 17);
  CHECK_FALSE(AnyWritableExecutableMapping());
  // Moving a loaded policy keeps its code.
  LoadedPolicy moved = std::move(ask).value();
  CHECK(DecideFor(moved, "git", decision) == GOV_ASK);
}

TEST_CASE("code from the code generator loads from a bundle and agrees with the interpreter", "[bundle]") {
  const ir::Policy policy = TinyPolicy();
  auto jit = codegen::JitPolicy::Compile(policy);
  INFO((jit.ok() ? std::string() : jit.error().message));
  REQUIRE(jit.ok());
  const codegen::NativeCode& native = jit.value()->native();
  REQUIRE_FALSE(native.image.empty());
  BundleContents contents = Contents(policy);
  contents.manifest.target = Target{native.target_triple, native.cpu, SplitFeatureString(native.cpu_features)};
  contents.native = native.image;
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

  // govrun's load (decode_ir off): the decision's rules, the context and the
  // env summary come from the view; the whole IR is decoded on first use.
  auto lazy = LoadBundle(bytes, {key.public_key()}, LoadOptions{.require_native = true, .decode_ir = false});
  REQUIRE(lazy.ok());
  gov_decision lazy_decision{};
  CHECK(DecideFor(lazy.value(), "git", lazy_decision) == GOV_ALLOW);
  auto rules = lazy.value().RulesOf(lazy_decision);
  REQUIRE(rules.ok());
  REQUIRE(rules.value().rules.size() == 1);
  CHECK(rules.value().rules[0].second == policy.rules[0]);
  CHECK(interp::Explain(rules.value().lookup(), lazy_decision).summary ==
        interp::Explain(policy, lazy_decision).summary);
  CHECK(interp::MergeObligations(rules.value().lookup(), lazy_decision) ==
        interp::MergeObligations(policy, lazy_decision));
  CHECK(lazy.value().view().context() == policy.context);
  CHECK(lazy.value().view().env_reads() == ir::EnvReadsOf(policy));
  CHECK(lazy.value().policy() == policy);
}

TEST_CASE("a load that defers decoding the IR still refuses it before the interpreter uses it", "[bundle]") {
  // IR that frames and decodes but fails ir::Validate (a comparison claims
  // to yield an int), signed by a trusted key: possible only for a broken or
  // hostile signer, as govc checks what it writes.
  ir::Policy policy = TinyPolicy();
  policy.nodes[2].kind = ir::Kind::kInt;
  const crypto::PrivateKey key = TestKey(7);
  const std::vector<crypto::PublicKey> trusted = {key.public_key()};
  const std::string bytes = SignedWithTinyImage(policy, key);
  ExpectError(LoadBundle(bytes, trusted), "bundle IR: invalid policy IR: node 2: result kind does not match the op");
  ExpectError(LoadBundle(bytes, trusted, LoadOptions{.allow_native = false, .decode_ir = false}),
              "bundle IR: invalid policy IR: node 2: result kind does not match the op");
  auto deferred = LoadBundle(bytes, trusted, LoadOptions{.require_native = true, .decode_ir = false});
  INFO((deferred.ok() ? std::string() : deferred.error().message));
  REQUIRE(deferred.ok());
  CHECK(deferred.value().view().rule_count() == 1);
  auto prepared = deferred.value().Prepare();
  REQUIRE_FALSE(prepared.ok());
  CHECK(prepared.error().message == "bundle IR: invalid policy IR: node 2: result kind does not match the op");
}

TEST_CASE("a decision naming a rule whose record does not decode is an error, not an explanation", "[bundle]") {
  // A deny rule carrying a timeout: a record ir::ValidateRuleRecord refuses.
  // govrun reads decided rules through RulesOf and denies on this error.
  ir::Policy policy = TinyPolicy();
  policy.rules[0].verdict = ir::Verdict::kDeny;
  const crypto::PrivateKey key = TestKey(7);
  const std::string bytes = SignedWithTinyImage(policy, key);
  auto deferred = LoadBundle(bytes, {key.public_key()}, LoadOptions{.require_native = true, .decode_ir = false});
  INFO((deferred.ok() ? std::string() : deferred.error().message));
  REQUIRE(deferred.ok());
  gov_decision decision{};
  decision.verdict = GOV_DENY;
  decision.rule_count = 1;
  decision.rules[0] = 0;
  decision.error_rule = GOV_NO_RULE;
  auto rules = deferred.value().RulesOf(decision);
  REQUIRE_FALSE(rules.ok());
  CHECK(rules.error().message == "bundle IR: invalid policy IR: rule 0: deny rules have no obligations");
  // An id the policy does not have is skipped, as Explain skips it.
  decision.rules[0] = 7;
  auto none = deferred.value().RulesOf(decision);
  REQUIRE(none.ok());
  CHECK(none.value().rules.empty());
}

// Little-endian u64 at `at` of `bytes` set to `value`.
void Set64(std::string& bytes, std::size_t at, std::uint64_t value) {
  for (int i = 0; i < 8; ++i) bytes[at + static_cast<std::size_t>(i)] = static_cast<char>((value >> (8 * i)) & 0xff);
}

TEST_CASE("code image format: every rule has its own error", "[bundle]") {
  const std::string good = TinyImage();
  auto parsed = ParseCodeImage(good);
  REQUIRE(parsed.ok());
  CHECK(parsed.value().code_size == 16);
  CHECK(parsed.value().data_offset == kImageSegmentAlign);
  CHECK(parsed.value().data_size == 16);
  CHECK(parsed.value().fixup_count() == 1);
  CHECK(parsed.value().fixup(0) == kImageSegmentAlign);
  CHECK(parsed.value().mapped_size() == kImageSegmentAlign + 16);
  // Header: magic u16 machine u16 0 u32 fixups, code size @16, data offset @24, data size @32, entry @40.
  ExpectError(ParseCodeImage(good.substr(0, 47)), "truncated inside its 48-byte header (47 bytes)");
  std::string magic = good;
  magic[0] = 'g';
  ExpectError(ParseCodeImage(magic), "wrong magic");
  std::string reserved = good;
  reserved[11] = 1;
  ExpectError(ParseCodeImage(reserved), "reserved header bytes");
  std::string no_code = good;
  Set64(no_code, 16, 0);
  ExpectError(ParseCodeImage(no_code), "has no code");
  std::string huge_code = good;
  Set64(huge_code, 16, kImageMaxSegment + 1);
  ExpectError(ParseCodeImage(huge_code), "code size 67108865 exceeds");
  std::string huge_data = good;
  Set64(huge_data, 32, ~std::uint64_t{0});
  ExpectError(ParseCodeImage(huge_data), "data size 18446744073709551615 exceeds");
  std::string overlap = good;
  Set64(overlap, 24, 8);
  ExpectError(ParseCodeImage(overlap), "data offset 8 is not the code size 16 rounded up to 65536 (segments overlap");
  std::string entry = good;
  Set64(entry, 40, 16);
  ExpectError(ParseCodeImage(entry), "entry offset 16 lies outside the code (16 bytes)");
  ExpectError(ParseCodeImage(good.substr(0, good.size() - 1)), "its header says 88 (truncated)");
  ExpectError(ParseCodeImage(good + "x"), "its header says 88 (trailing bytes)");
  std::string more_fixups = good;
  more_fixups[12] = 2;
  ExpectError(ParseCodeImage(more_fixups), "(truncated)");

  CodeImageParts parts;
  parts.machine = kMachineX86_64;
  parts.code = "\xc3";
  parts.data = std::string(32, '\0');
  const std::uint64_t data = ImageDataOffset(1);
  parts.fixups = {data - 8};
  ExpectError(ParseCodeImage(WriteCodeImage(parts)), "fixup 0 at offset 65528 is outside the data segment");
  parts.fixups = {data + 25};
  ExpectError(ParseCodeImage(WriteCodeImage(parts)), "fixup 0 at offset 65561 is outside the data segment");
  parts.fixups = {data + 8, data + 12};
  ExpectError(ParseCodeImage(WriteCodeImage(parts)), "fixup 1 at offset 65548 overlaps the previous one");
  parts.fixups = {data + 8, data};
  ExpectError(ParseCodeImage(WriteCodeImage(parts)), "fixup 1 at offset 65536 overlaps the previous one");
  parts.fixups = {data};
  Set64(parts.data, 0, data + 33);
  ExpectError(ParseCodeImage(WriteCodeImage(parts)),
              "fixup 0 at offset 65536 holds 65569, outside the image (65568 bytes)");
  Set64(parts.data, 0, data + 32);
  CHECK(ParseCodeImage(WriteCodeImage(parts)).ok());
  CHECK(MachineName(kMachineAarch64) == "aarch64");
  CHECK(MachineName(3) == "machine 3");
}

TEST_CASE("signed bundles with malformed code images are rejected", "[bundle]") {
  const ir::Policy policy = TinyPolicy();
  const crypto::PrivateKey key = TestKey(7);
  const std::vector<crypto::PublicKey> trusted = {key.public_key()};
  Manifest manifest = BaseManifest(policy);
  manifest.target = Target{HostTriple(), "x86-64", {}};
  const std::string good = TinyImage();
  auto sign = [&](const std::string& image) {
    return FrameAndSign(
        2, {{kSectionManifest, ManifestToJson(manifest)}, {kSectionIr, ir::Serialize(policy)}, {kSectionNative, image}},
        key);
  };
  auto loaded = LoadBundle(sign(good), trusted, LoadOptions{.require_native = true});
  INFO((loaded.ok() ? std::string() : loaded.error().message));
  REQUIRE(loaded.ok());
  CHECK(loaded.value().native());
  std::string bad_fixup = good;
  Set64(bad_fixup, 48, 4);  // a fixup inside the code
  ExpectError(LoadBundle(sign(bad_fixup), trusted), "bundle NATIVE section: native code image: fixup 0 at offset 4");
  std::string bad_entry = good;
  Set64(bad_entry, 40, 1u << 20);
  ExpectError(LoadBundle(sign(bad_entry), trusted), "entry offset 1048576 lies outside the code");
  std::string other_machine = good;
  other_machine[8] = static_cast<char>(kMachineAarch64);
  ExpectError(LoadBundle(sign(other_machine), trusted), "the native code image is for aarch64 but the target triple");
  for (std::size_t size = 0; size < good.size(); ++size) {
    INFO("image truncated to " << size << " bytes");
    ExpectError(LoadBundle(sign(good.substr(0, size)), trusted), "bundle NATIVE section: native code image");
  }
}

TEST_CASE("govc's linker: what it resolves and what it rejects", "[bundle]") {
  if (!HaveCompiler()) {
    WARN("no C compiler (cc) for x86-64: skipping the linker checks");
    return;
  }
  const std::string decide = "#include \"runtime/abi/gov_abi.h\"\n";
  // Calls between functions, a string table (pointers: fixups), constants.
  const std::string good = CompileObject(
      decide +
      "static const char* const names[3] = {\"a\", \"bb\", \"ccc\"};\n"
      "__attribute__((noinline)) static uint32_t length(uint32_t i) { uint32_t n = 0; while (names[i % 3][n]) ++n; "
      "return n; }\n"
      "uint32_t gov_decide(const gov_request* r, gov_decision* d, const gov_helpers* h) {\n"
      "  (void)h; d->verdict = GOV_DENY; d->timeout_ms = length((uint32_t)r->program_name.size); return d->verdict;\n"
      "}\n");
  REQUIRE_FALSE(good.empty());
  auto image = codegen::LinkCodeImage(good, "gov_decide");
  INFO((image.ok() ? std::string() : image.error().message));
  REQUIRE(image.ok());
  auto parsed = ParseCodeImage(image.value());
  REQUIRE(parsed.ok());
  CHECK(parsed.value().fixup_count() == 3);
  CHECK(parsed.value().machine == kMachineX86_64);
  ExpectError(codegen::LinkCodeImage(good, "gov_other"), "does not define the function `gov_other`");

  const std::string external = CompileObject(
      decide +
      "uint32_t outside(void);\nuint32_t gov_decide(const gov_request* r, gov_decision* d, const gov_helpers* "
      "h) { (void)r; (void)h; d->verdict = outside(); return d->verdict; }\n");
  ExpectError(codegen::LinkCodeImage(external, "gov_decide"), "references the external symbol `outside`");
  const std::string got =
      CompileObject(decide +
                    "extern uint32_t shared_value;\nuint32_t gov_decide(const gov_request* r, gov_decision* d, const "
                    "gov_helpers* h) { (void)r; (void)h; d->verdict = shared_value; return d->verdict; }\n");
  ExpectError(codegen::LinkCodeImage(got, "gov_decide"), "needs a GOT or PLT");
  const std::string state =
      CompileObject(decide +
                    "static uint32_t calls = 1;\nuint32_t gov_decide(const gov_request* r, gov_decision* d, const "
                    "gov_helpers* h) { (void)r; (void)h; d->verdict = ++calls; return d->verdict; }\n");
  ExpectError(codegen::LinkCodeImage(state, "gov_decide"), "writable data (global state) is not supported");
  const std::string zero =
      CompileObject(decide +
                    "static uint32_t calls;\nuint32_t gov_decide(const gov_request* r, gov_decision* d, const "
                    "gov_helpers* h) { (void)r; (void)h; d->verdict = ++calls; return d->verdict; }\n");
  ExpectError(codegen::LinkCodeImage(zero, "gov_decide"), "zero-initialized data (global state) is not supported");
  const std::string tls =
      CompileObject(decide +
                    "static __thread uint32_t calls;\nuint32_t gov_decide(const gov_request* r, gov_decision* d, const "
                    "gov_helpers* h) { (void)r; (void)h; d->verdict = ++calls; return d->verdict; }\n");
  ExpectError(codegen::LinkCodeImage(tls, "gov_decide"), "thread-local storage is not supported");
  const std::string absolute = CompileObject(
      decide +
          "static const uint32_t table[4] = {1, 2, 3, 4};\nuint32_t gov_decide(const gov_request* r, "
          "gov_decision* d, const gov_helpers* h) { (void)h; d->verdict = table[r->program_name.size & 3]; "
          "return d->verdict; }\n",
      "-fno-pic -mcmodel=small");
  ExpectError(codegen::LinkCodeImage(absolute, "gov_decide"),
              "R_X86_64_32S is an absolute address narrower than 64 bits");

  std::string arm = good;
  arm[18] = static_cast<char>(183);  // e_machine = EM_AARCH64
  arm[19] = 0;
  ExpectError(codegen::LinkCodeImage(arm, "gov_decide"),
              "native code for aarch64 is not supported yet; use --no-native");
  ExpectError(codegen::LinkCodeImage("not an object", "gov_decide"), "not an ELF object");
  // Every truncation of the object is an error or a correct image, never a crash.
  for (std::size_t size = 0; size < good.size(); size += 7) {
    auto truncated = codegen::LinkCodeImage(std::string_view(good).substr(0, size), "gov_decide");
    if (truncated.ok()) CHECK(ParseCodeImage(truncated.value()).ok());
  }
}

}  // namespace
}  // namespace gov::bundle
