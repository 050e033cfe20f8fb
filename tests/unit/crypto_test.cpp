// Unit tests for runtime/crypto: SHA-256 vectors and fd hashing, hex and
// digest strings, strict base64/PEM/DER parsing (every error), Ed25519
// signatures (RFC 8032 vector), key files (modes, no overwrite), and
// interoperability with the openssl command when it is installed.
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/crypto/ed25519.h"
#include "runtime/crypto/sha256.h"
#include "tests/unit/test_support.h"

namespace gov::crypto {
namespace {

constexpr std::string_view kRfcSeedHex = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60";
constexpr std::string_view kRfcPublicHex = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a";
constexpr std::string_view kRfcEmptySignatureHex =
    "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe2465"
    "5141438e7a100b";
// TEST FIXTURE ONLY: the public RFC 8032 test-vector-1 private key; never use it to sign anything.
constexpr std::string_view kRfcPrivatePem =
    "-----BEGIN PRIVATE KEY-----\n"
    "MC4CAQAwBQYDK2VwBCIEIJ1hsZ3v/VpguoRK9JLsLMREScVpezJpGXA7rAMcrn9g\n"
    "-----END PRIVATE KEY-----\n";
constexpr std::string_view kRfcPublicPem =
    "-----BEGIN PUBLIC KEY-----\n"
    "MCowBQYDK2VwAyEA11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=\n"
    "-----END PUBLIC KEY-----\n";

std::string Unhex(std::string_view hex) {
  auto bytes = HexDecode(hex);
  REQUIRE(bytes.ok());
  return bytes.value();
}

std::span<const std::uint8_t> AsSpan(const std::string& s) {
  return std::span<const std::uint8_t>(reinterpret_cast<const std::uint8_t*>(s.data()), s.size());
}

PrivateKey RfcKey() {
  const std::string seed = Unhex(kRfcSeedHex);
  auto key = PrivateKey::FromSeed(AsSpan(seed));
  REQUIRE(key.ok());
  return key.value();
}

using gov::testing::ExpectError;

// A fresh private temporary directory, removed (shallowly) at scope exit.
class TempDir {
 public:
  TempDir() {
    char pattern[] = "/tmp/gov-crypto-test-XXXXXX";
    const char* made = mkdtemp(pattern);
    REQUIRE(made != nullptr);
    path_ = made;
  }
  ~TempDir() { std::system(("rm -rf '" + path_ + "'").c_str()); }
  std::string File(std::string_view name) const { return path_ + "/" + std::string(name); }

 private:
  std::string path_;
};

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

void WriteFile(const std::string& path, std::string_view bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

// Runs a shell command; returns its exit status (or -1).
int Run(const std::string& command) {
  const int status = std::system(command.c_str());
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

TEST_CASE("sha256 known vectors, streaming and digest strings", "[crypto]") {
  CHECK(DigestString(Sha256Of("")) == "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  CHECK(DigestString(Sha256Of("abc")) == "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  const std::string long_message = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
  CHECK(HexEncode(std::span<const std::uint8_t>(Sha256Of(long_message))) ==
        "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");

  Sha256 streaming;
  for (const char c : long_message) {
    streaming.Update(std::string_view(&c, 1));
  }
  CHECK(streaming.Finish() == Sha256Of(long_message));

  const std::string text = DigestString(Sha256Of("abc"));
  auto parsed = ParseDigestString(text);
  REQUIRE(parsed.ok());
  CHECK(parsed.value() == Sha256Of("abc"));
  CHECK(IsDigestString(text));
  ExpectError(ParseDigestString("sha512:" + text.substr(7)), "does not start with `sha256:`");
  ExpectError(ParseDigestString(text.substr(0, text.size() - 1)), "64 hex digits");
  std::string upper = text;
  upper[10] = 'A';
  ExpectError(ParseDigestString(upper), "offset 10");
  CHECK_FALSE(IsDigestString(text + "0"));
}

TEST_CASE("hex encoding", "[crypto]") {
  CHECK(HexEncode(std::string_view("\x00\xff\x10", 3)) == "00ff10");
  auto decoded = HexDecode("00FF10");
  REQUIRE(decoded.ok());
  CHECK(decoded.value() == std::string("\x00\xff\x10", 3));
  ExpectError(HexDecode("abc"), "odd number");
  ExpectError(HexDecode("0g"), "offset 1");
}

TEST_CASE("sha256 of an open file descriptor keeps its offset", "[crypto]") {
  TempDir dir;
  const std::string path = dir.File("blob");
  std::string content;
  for (int i = 0; i < 200000; ++i) {
    content.push_back(static_cast<char>(i * 7));
  }
  WriteFile(path, content);
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  REQUIRE(fd >= 0);
  REQUIRE(lseek(fd, 1234, SEEK_SET) == 1234);
  auto digest = Sha256OfFd(fd);
  REQUIRE(digest.ok());
  CHECK(digest.value() == Sha256Of(content));
  CHECK(lseek(fd, 0, SEEK_CUR) == 1234);
  close(fd);

  int pipe_fds[2];
  REQUIRE(pipe(pipe_fds) == 0);
  ExpectError(Sha256OfFd(pipe_fds[0]), "cannot read file to hash it");
  close(pipe_fds[0]);
  close(pipe_fds[1]);
}

TEST_CASE("base64 is strict", "[crypto]") {
  CHECK(Base64Encode("") == "");
  CHECK(Base64Encode("f") == "Zg==");
  CHECK(Base64Encode("fo") == "Zm8=");
  CHECK(Base64Encode("foo") == "Zm9v");
  CHECK(Base64Encode("foob") == "Zm9vYg==");
  for (const std::string_view plain : {"", "f", "fo", "foo", "foob", "fooba", "foobar"}) {
    auto round = Base64Decode(Base64Encode(plain));
    REQUIRE(round.ok());
    CHECK(round.value() == plain);
  }
  ExpectError(Base64Decode("Zm9"), "not a multiple of 4");
  ExpectError(Base64Decode("Zg==Zm9v"), "padding `=` before the end");
  ExpectError(Base64Decode("Z==="), "padding `=` before the end");
  ExpectError(Base64Decode("Zm=v"), "padding `=` before the end");
  ExpectError(Base64Decode("Zm9*"), "invalid base64 character 0x2a at offset 3");
  ExpectError(Base64Decode("Zh=="), "non-canonical base64");
  ExpectError(Base64Decode("Zm9="), "non-canonical base64");
}

TEST_CASE("ed25519 RFC 8032 test vector 1", "[crypto]") {
  const PrivateKey key = RfcKey();
  CHECK(HexEncode(std::span<const std::uint8_t>(key.public_key().raw())) == kRfcPublicHex);
  const Signature signature = key.Sign("");
  CHECK(HexEncode(std::span<const std::uint8_t>(signature)) == kRfcEmptySignatureHex);
  CHECK(key.public_key().Verify("", signature));
  CHECK(key.public_key().IdHex() == "21fe31dfa154a261");
  const Sha256Digest digest = Sha256Of(Unhex(kRfcPublicHex));
  CHECK(key.public_key().Id() ==
        KeyId{digest[0], digest[1], digest[2], digest[3], digest[4], digest[5], digest[6], digest[7]});
}

TEST_CASE("sign and verify", "[crypto]") {
  auto generated = PrivateKey::Generate();
  REQUIRE(generated.ok());
  const PrivateKey& key = generated.value();
  auto other = PrivateKey::Generate();
  REQUIRE(other.ok());
  CHECK_FALSE(key.public_key() == other.value().public_key());

  const std::string message = "gov signs this";
  const Signature signature = key.Sign(message);
  CHECK(key.public_key().Verify(message, signature));
  CHECK_FALSE(key.public_key().Verify("gov signs thiS", signature));
  CHECK_FALSE(other.value().public_key().Verify(message, signature));
  for (std::size_t bit = 0; bit < signature.size() * 8; ++bit) {
    Signature flipped = signature;
    flipped[bit / 8] ^= static_cast<std::uint8_t>(1u << (bit % 8));
    INFO("flipped bit " << bit);
    CHECK_FALSE(key.public_key().Verify(message, flipped));
  }
  // Deterministic signatures; copies sign identically.
  const PrivateKey copy = key;
  CHECK(copy.Sign(message) == signature);
}

TEST_CASE("PEM and DER round trips", "[crypto]") {
  const PrivateKey key = RfcKey();
  CHECK(key.ToPem() == kRfcPrivatePem);
  CHECK(key.public_key().ToPem() == kRfcPublicPem);
  CHECK(key.ToDer().size() == 48);
  CHECK(key.public_key().ToDer().size() == 44);

  auto parsed_private = PrivateKey::FromPem(kRfcPrivatePem);
  REQUIRE(parsed_private.ok());
  CHECK(parsed_private.value().public_key() == key.public_key());
  CHECK(parsed_private.value().Sign("x") == key.Sign("x"));
  auto parsed_public = PublicKey::FromPem(kRfcPublicPem);
  REQUIRE(parsed_public.ok());
  CHECK(parsed_public.value() == key.public_key());

  // CRLF line endings, no final line break, and wrapped base64 lines are fine.
  std::string crlf(kRfcPublicPem);
  for (std::size_t at = crlf.find('\n'); at != std::string::npos; at = crlf.find('\n', at + 2)) {
    crlf.insert(at, "\r");
  }
  CHECK(PublicKey::FromPem(crlf).ok());
  std::string no_final_newline(kRfcPublicPem);
  no_final_newline.pop_back();
  CHECK(PublicKey::FromPem(no_final_newline).ok());
  const std::string wrapped =
      "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEA\n11qYAYKxCrfVS/7TyWQHOg7hcvPa\npiMlrwIaaPcHURo=\n"
      "-----END PUBLIC KEY-----\n";
  auto wrapped_key = PublicKey::FromPem(wrapped);
  REQUIRE(wrapped_key.ok());
  CHECK(wrapped_key.value() == key.public_key());

  for (int i = 0; i < 20; ++i) {
    auto fresh = PrivateKey::Generate();
    REQUIRE(fresh.ok());
    auto again = PrivateKey::FromPem(fresh.value().ToPem());
    REQUIRE(again.ok());
    CHECK(again.value().public_key() == fresh.value().public_key());
    auto public_again = PublicKey::FromPem(fresh.value().public_key().ToPem());
    REQUIRE(public_again.ok());
    CHECK(public_again.value() == fresh.value().public_key());
  }
}

TEST_CASE("malformed PEM is rejected with precise errors", "[crypto]") {
  const std::string body_private = "MC4CAQAwBQYDK2VwBCIEIJ1hsZ3v/VpguoRK9JLsLMREScVpezJpGXA7rAMcrn9g";
  const std::string begin = "-----BEGIN PRIVATE KEY-----\n";
  const std::string end = "-----END PRIVATE KEY-----\n";
  ExpectError(PrivateKey::FromPem(""), "empty input");
  ExpectError(PrivateKey::FromPem("hello\n"), "not a PEM block: line 1");
  ExpectError(PrivateKey::FromPem("\n" + begin + body_private + "\n" + end), "not a PEM block: line 1");
  ExpectError(PrivateKey::FromPem(" " + begin + body_private + "\n" + end), "not a PEM block: line 1");
  ExpectError(PrivateKey::FromPem(std::string(kRfcPublicPem)), "this is a public key");
  ExpectError(PublicKey::FromPem(std::string(kRfcPrivatePem)), "this is a private key");
  ExpectError(PrivateKey::FromPem("-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n"),
              "encrypted private keys are not supported");
  ExpectError(PrivateKey::FromPem("-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n-----END OPENSSH PRIVATE KEY-----\n"),
              "found `-----BEGIN OPENSSH PRIVATE KEY-----` (only PKCS#8 Ed25519 keys are supported)");
  ExpectError(PublicKey::FromPem("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"),
              "expected a `-----BEGIN PUBLIC KEY-----` block, found `-----BEGIN CERTIFICATE-----`");
  ExpectError(PrivateKey::FromPem(begin + end), "no base64 body");
  ExpectError(PrivateKey::FromPem(begin + body_private + "\n"), "missing `-----END PRIVATE KEY-----` line");
  ExpectError(PrivateKey::FromPem(begin + body_private + "\n-----END PUBLIC KEY-----\n"),
              "line 3 should be `-----END PRIVATE KEY-----`, found `-----END PUBLIC KEY-----`");
  ExpectError(PrivateKey::FromPem(begin + body_private + "\n" + end + "\n"), "unexpected data after");
  ExpectError(PrivateKey::FromPem(begin + body_private + "\n" + end + "junk"), "unexpected data after");
  ExpectError(PrivateKey::FromPem(begin + body_private + "\n" + end + begin + body_private + "\n" + end),
              "unexpected data after");
  ExpectError(PrivateKey::FromPem(begin + "\n" + body_private + "\n" + end), "line 2 is empty");
  ExpectError(PrivateKey::FromPem(begin + "Proc-Type: 4,ENCRYPTED\n" + body_private + "\n" + end),
              "line 2 is a PEM header");
  ExpectError(PrivateKey::FromPem(begin + body_private + "AAAA\n" + end), "line 2 has 68 characters (at most 64)");
  ExpectError(PrivateKey::FromPem(begin + body_private.substr(0, 10) + " " + body_private.substr(10) + "\n" + end),
              "line 2 column 11: whitespace is not base64");
  ExpectError(PrivateKey::FromPem(begin + body_private.substr(0, 10) + "-" + body_private.substr(11) + "\n" + end),
              "line 2 column 11: character 0x2d is not base64");
  ExpectError(PrivateKey::FromPem(begin + body_private + "\r\r\n" + end), "carriage return");
  ExpectError(PrivateKey::FromPem(begin + body_private.substr(0, 63) + "\n" + end), "not a multiple of 4");
  ExpectError(PrivateKey::FromPem(begin + std::string(1, '\0') + "\n" + end), "NUL byte");
  ExpectError(PrivateKey::FromPem(std::string(70000, 'A')), "too large");
}

TEST_CASE("malformed DER is rejected with precise errors", "[crypto]") {
  const std::string seed(kRfcSeedHex);
  const std::string pub(kRfcPublicHex);
  auto private_der = [](const std::string& hex) { return PrivateKey::FromDer(Unhex(hex)); };
  auto public_der = [](const std::string& hex) { return PublicKey::FromDer(Unhex(hex)); };

  CHECK(private_der("302e020100300506032b657004220420" + seed).ok());
  ExpectError(private_der(""), "DER ends where PrivateKeyInfo was expected");
  ExpectError(private_der("312e020100300506032b657004220420" + seed), "does not start with a SEQUENCE (tag 0x31)");
  ExpectError(private_der("302f020100300506032b657004220420" + seed), "runs past the end");
  ExpectError(private_der("302e020100300506032b657004220420" + seed + "00"), "1 trailing bytes");
  ExpectError(private_der("3080020100300506032b657004220420" + seed + "0000"), "indefinite length");
  ExpectError(private_der("30812e020100300506032b657004220420" + seed), "not minimally encoded");
  ExpectError(private_der("3083000030"), "too large for a key");
  ExpectError(private_der("302e020101300506032b657004220420" + seed), "PKCS#8 v2");
  ExpectError(private_der("302e020102300506032b657004220420" + seed), "unsupported PKCS#8 version 2");
  ExpectError(private_der("302f02020000300506032b657004220420" + seed), "version is not a small INTEGER");
  ExpectError(private_der("302e020100300506032b657104220420" + seed), "key algorithm is Ed448 (1.3.101.113)");
  ExpectError(private_der("302e020100300506032b656e04220420" + seed), "key algorithm is X25519 (1.3.101.110)");
  ExpectError(private_der("3034020100300b06092a864886f70d01010104220420" + seed),
              "key algorithm is rsaEncryption (1.2.840.113549.1.1.1)");
  ExpectError(private_der("3030020100300706032b6570050004220420" + seed), "must not have parameters");
  ExpectError(private_der("302e020100310506032b657004220420" + seed), "algorithm identifier is not a SEQUENCE");
  ExpectError(private_der("302e020100300505032b657004220420" + seed), "does not start with an OID");
  ExpectError(private_der("302e020100300506032b657003220420" + seed), "not an OCTET STRING (tag 0x03)");
  ExpectError(private_der("302e020100300506032b657004220320" + seed), "CurvePrivateKey is not a single OCTET STRING");
  ExpectError(private_der("302d020100300506032b65700421041f" + seed.substr(2)), "must be 32 bytes, got 31");
  ExpectError(private_der("3033020100300506032b657004220420" + seed + "a003020100"),
              "attributes or an embedded public key");

  CHECK(public_der("302a300506032b6570032100" + pub).ok());
  ExpectError(public_der("302a300506032b6571032100" + pub), "key algorithm is Ed448");
  ExpectError(public_der("302a300506032b6570042100" + pub), "not a BIT STRING (tag 0x04)");
  ExpectError(public_der("302a300506032b6570032101" + pub), "0 unused bits");
  ExpectError(public_der("3029300506032b6570032000" + pub.substr(2)), "must be 32 bytes, got 31");
  ExpectError(public_der("302c300506032b6570032100" + pub + "0500"), "unexpected trailing bytes");
  ExpectError(public_der("302a300506032b6570032100" + pub + "00"), "1 trailing bytes");
  ExpectError(public_der("302a300506032b6570032100" + std::string(64, '0')), "not a valid curve point");
  ExpectError(public_der("302a300506032b6570032100" + std::string("01") + std::string(62, '0')),
              "not a valid curve point");
  // A non-minimal but structurally valid encoding is refused too.
  ExpectError(public_der("30812a300506032b6570032100" + pub), "not minimally encoded");

  ExpectError(PublicKey::FromRaw(std::span<const std::uint8_t>()), "must be 32 bytes, got 0");
  ExpectError(PrivateKey::FromSeed(std::span<const std::uint8_t>()), "seed must be 32 bytes, got 0");
}

TEST_CASE("key files: modes, no overwrite, strict reading", "[crypto]") {
  TempDir dir;
  const PrivateKey key = RfcKey();
  const std::string private_path = dir.File("k.key");
  const std::string public_path = dir.File("k.pub");
  REQUIRE(WritePrivateKeyFile(private_path, key).ok());
  REQUIRE(WritePublicKeyFile(public_path, key.public_key()).ok());
  struct stat info {};
  REQUIRE(stat(private_path.c_str(), &info) == 0);
  CHECK((info.st_mode & 0777) == 0600);
  CHECK(ReadFile(private_path) == kRfcPrivatePem);
  CHECK(ReadFile(public_path) == kRfcPublicPem);

  auto read_private = ReadPrivateKeyFile(private_path);
  REQUIRE(read_private.ok());
  CHECK(read_private.value().public_key() == key.public_key());
  auto read_public = ReadPublicKeyFile(public_path);
  REQUIRE(read_public.ok());
  CHECK(read_public.value() == key.public_key());

  auto other = PrivateKey::Generate();
  REQUIRE(other.ok());
  auto refused = WritePrivateKeyFile(private_path, other.value());
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.error().message.find("already exists; refusing to overwrite it") != std::string::npos);
  CHECK(ReadFile(private_path) == kRfcPrivatePem);
  CHECK_FALSE(WritePublicKeyFile(public_path, other.value().public_key()).ok());

  REQUIRE(WritePrivateKeyFile(private_path, other.value(), /*overwrite=*/true).ok());
  REQUIRE(stat(private_path.c_str(), &info) == 0);
  CHECK((info.st_mode & 0777) == 0600);
  auto replaced = ReadPrivateKeyFile(private_path);
  REQUIRE(replaced.ok());
  CHECK(replaced.value().public_key() == other.value().public_key());

  REQUIRE(chmod(private_path.c_str(), 0640) == 0);
  ExpectError(ReadPrivateKeyFile(private_path), "accessible by group or others (mode 0640)");
  // A public key given where the private one belongs is named as such, whatever its mode.
  ExpectError(ReadPrivateKeyFile(public_path), public_path + " is a public key; signing needs the private key");
  REQUIRE(chmod(public_path.c_str(), 0600) == 0);
  ExpectError(ReadPrivateKeyFile(public_path), public_path + " is a public key; signing needs the private key");
  ExpectError(ReadPrivateKeyFile(dir.File("missing.key")), "cannot open key file");
  ExpectError(ReadPublicKeyFile(dir.File("")), "is not a regular file");
  const std::string bad_public = dir.File("bad.pub");
  WriteFile(bad_public, "-----BEGIN PUBLIC KEY-----\n");
  ExpectError(ReadPublicKeyFile(bad_public), "public key file " + bad_public + ": missing `-----END PUBLIC KEY-----`");
  const std::string big = dir.File("big.pub");
  WriteFile(big, std::string(70000, 'A'));
  ExpectError(ReadPublicKeyFile(big), "too large");
}

TEST_CASE("openssl interoperability", "[crypto]") {
  if (Run("command -v openssl >/dev/null 2>&1") != 0) {
    WARN("openssl is not installed: skipping the interoperability checks");
    return;
  }
  TempDir dir;
  auto generated = PrivateKey::Generate();
  REQUIRE(generated.ok());
  const PrivateKey& key = generated.value();
  const std::string our_key = dir.File("ours.key");
  const std::string our_pub = dir.File("ours.pub");
  REQUIRE(WritePrivateKeyFile(our_key, key).ok());
  REQUIRE(WritePublicKeyFile(our_pub, key.public_key()).ok());

  // openssl derives the same public key PEM from our private key.
  REQUIRE(Run("openssl pkey -in " + our_key + " -pubout -out " + dir.File("derived.pub") + " 2>/dev/null") == 0);
  CHECK(ReadFile(dir.File("derived.pub")) == ReadFile(our_pub));
  // openssl re-encodes our private key byte for byte.
  REQUIRE(Run("openssl pkey -in " + our_key + " -out " + dir.File("reencoded.key") + " 2>/dev/null") == 0);
  CHECK(ReadFile(dir.File("reencoded.key")) == ReadFile(our_key));

  // openssl verifies our signature.
  const std::string message = "message signed by gov\n\x01\x02";
  WriteFile(dir.File("msg"), message);
  const Signature signature = key.Sign(message);
  WriteFile(dir.File("sig"), std::string_view(reinterpret_cast<const char*>(signature.data()), signature.size()));
  CHECK(Run("openssl pkeyutl -verify -pubin -inkey " + our_pub + " -rawin -in " + dir.File("msg") + " -sigfile " +
            dir.File("sig") + " >/dev/null 2>&1") == 0);
  Signature wrong = signature;
  wrong[0] ^= 1;
  WriteFile(dir.File("wrong.sig"), std::string_view(reinterpret_cast<const char*>(wrong.data()), wrong.size()));
  CHECK(Run("openssl pkeyutl -verify -pubin -inkey " + our_pub + " -rawin -in " + dir.File("msg") + " -sigfile " +
            dir.File("wrong.sig") + " >/dev/null 2>&1") != 0);

  // We read openssl's keys and verify openssl's signatures.
  REQUIRE(Run("openssl genpkey -algorithm ed25519 -out " + dir.File("theirs.key") + " 2>/dev/null") == 0);
  REQUIRE(Run("openssl pkey -in " + dir.File("theirs.key") + " -pubout -out " + dir.File("theirs.pub") +
              " 2>/dev/null") == 0);
  REQUIRE(Run("openssl pkeyutl -sign -inkey " + dir.File("theirs.key") + " -rawin -in " + dir.File("msg") + " -out " +
              dir.File("theirs.sig") + " 2>/dev/null") == 0);
  REQUIRE(chmod(dir.File("theirs.key").c_str(), 0600) == 0);
  auto their_key = ReadPrivateKeyFile(dir.File("theirs.key"));
  REQUIRE(their_key.ok());
  auto their_pub = ReadPublicKeyFile(dir.File("theirs.pub"));
  REQUIRE(their_pub.ok());
  CHECK(their_key.value().public_key() == their_pub.value());
  const std::string their_sig_bytes = ReadFile(dir.File("theirs.sig"));
  REQUIRE(their_sig_bytes.size() == kEd25519SignatureSize);
  Signature their_sig{};
  std::copy(their_sig_bytes.begin(), their_sig_bytes.end(), their_sig.begin());
  CHECK(their_pub.value().Verify(message, their_sig));
  CHECK(their_key.value().Sign(message) == their_sig);
}

}  // namespace
}  // namespace gov::crypto
