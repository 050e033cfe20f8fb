// Ed25519 keys, PEM/DER encodings, signatures and key files (see ed25519.h).
#include "runtime/crypto/ed25519.h"

#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <vector>

#include "runtime/crypto/sha256.h"
#include "runtime/crypto/sodium_init.h"
#include "runtime/support/output_file.h"

namespace gov::crypto {
namespace {

constexpr std::string_view kPrivateLabel = "PRIVATE KEY";
constexpr std::string_view kPublicLabel = "PUBLIC KEY";
constexpr std::size_t kMaxPemLine = 64;
constexpr std::size_t kMaxPemText = 64 * 1024;
constexpr std::size_t kMaxKeyFile = 64 * 1024;

// RFC 8410 encodings: everything before the key bytes.
constexpr unsigned char kPkcs8Prefix[] = {0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06,
                                          0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20};
constexpr unsigned char kSpkiPrefix[] = {0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00};
constexpr unsigned char kEd25519Oid[] = {0x2b, 0x65, 0x70};

std::string_view PrefixView(const unsigned char* data, std::size_t size) {
  return std::string_view(reinterpret_cast<const char*>(data), size);
}

const std::uint8_t* Bytes(std::string_view s) {
  return reinterpret_cast<const std::uint8_t*>(s.data());
}

std::string HexByte(unsigned char c) {
  static constexpr char kDigits[] = "0123456789abcdef";
  return std::string("0x") + kDigits[c >> 4] + kDigits[c & 0xF];
}

// ---- base64 ----

int Base64Value(char c) {
  if (c >= 'A' && c <= 'Z') {
    return c - 'A';
  }
  if (c >= 'a' && c <= 'z') {
    return c - 'a' + 26;
  }
  if (c >= '0' && c <= '9') {
    return c - '0' + 52;
  }
  if (c == '+') {
    return 62;
  }
  if (c == '/') {
    return 63;
  }
  return -1;
}

// ---- a minimal DER reader (single-byte tags, definite minimal lengths) ----

struct Tlv {
  unsigned char tag = 0;
  std::string_view value;
};

ErrorOr<Tlv> ReadTlv(std::string_view& in, std::string_view what) {
  if (in.empty()) {
    return Error{"DER ends where " + std::string(what) + " was expected"};
  }
  Tlv tlv;
  tlv.tag = static_cast<unsigned char>(in[0]);
  if ((tlv.tag & 0x1f) == 0x1f) {
    return Error{"DER uses a multi-byte tag in " + std::string(what)};
  }
  if (in.size() < 2) {
    return Error{"DER ends inside the length of " + std::string(what)};
  }
  const auto first = static_cast<unsigned char>(in[1]);
  std::size_t length = 0;
  std::size_t header = 2;
  if (first < 0x80) {
    length = first;
  } else if (first == 0x80) {
    return Error{"DER uses an indefinite length in " + std::string(what)};
  } else if (first == 0x81) {
    if (in.size() < 3) {
      return Error{"DER ends inside the length of " + std::string(what)};
    }
    length = static_cast<unsigned char>(in[2]);
    header = 3;
    if (length < 0x80) {
      return Error{"DER length of " + std::string(what) + " is not minimally encoded"};
    }
  } else if (first == 0x82) {
    if (in.size() < 4) {
      return Error{"DER ends inside the length of " + std::string(what)};
    }
    length = (static_cast<std::size_t>(static_cast<unsigned char>(in[2])) << 8) | static_cast<unsigned char>(in[3]);
    header = 4;
    if (length < 0x100) {
      return Error{"DER length of " + std::string(what) + " is not minimally encoded"};
    }
  } else {
    return Error{"DER length of " + std::string(what) + " is too large for a key"};
  }
  if (in.size() - header < length) {
    return Error{"DER length of " + std::string(what) + " (" + std::to_string(length) + " bytes) runs past the end (" +
                 std::to_string(in.size() - header) + " bytes follow)"};
  }
  tlv.value = in.substr(header, length);
  in.remove_prefix(header + length);
  return tlv;
}

// A dotted OID for messages, with names for the usual key algorithms.
std::string DescribeOid(std::string_view oid) {
  struct Known {
    std::string_view bytes;
    const char* name;
  };
  static const Known kKnown[] = {
      {std::string_view("\x2a\x86\x48\x86\xf7\x0d\x01\x01\x01", 9), "rsaEncryption"},
      {std::string_view("\x2a\x86\x48\xce\x3d\x02\x01", 7), "id-ecPublicKey (ECDSA)"},
      {std::string_view("\x2b\x65\x6e", 3), "X25519"},
      {std::string_view("\x2b\x65\x6f", 3), "X448"},
      {std::string_view("\x2b\x65\x71", 3), "Ed448"},
  };
  std::string dotted;
  if (!oid.empty()) {
    const auto first = static_cast<unsigned char>(oid[0]);
    dotted = std::to_string(first < 80 ? first / 40 : 2) + "." + std::to_string(first < 80 ? first % 40 : first - 80);
    std::uint64_t value = 0;
    for (std::size_t i = 1; i < oid.size(); ++i) {
      const auto byte = static_cast<unsigned char>(oid[i]);
      value = (value << 7) | (byte & 0x7f);
      if ((byte & 0x80) == 0) {
        dotted += "." + std::to_string(value);
        value = 0;
      }
    }
  }
  for (const Known& known : kKnown) {
    if (known.bytes == oid) {
      return std::string(known.name) + " (" + dotted + ")";
    }
  }
  return dotted.empty() ? std::string("an empty OID") : dotted;
}

// Checks an AlgorithmIdentifier SEQUENCE's contents: OID 1.3.101.112, no parameters.
ErrorOr<void> CheckAlgorithm(std::string_view algorithm) {
  GOV_ASSIGN_OR_RETURN(const Tlv oid, ReadTlv(algorithm, "the algorithm OID"));
  if (oid.tag != 0x06) {
    return Error{"algorithm identifier does not start with an OID (tag " + HexByte(oid.tag) + ")"};
  }
  if (oid.value != PrefixView(kEd25519Oid, sizeof(kEd25519Oid))) {
    return Error{"key algorithm is " + DescribeOid(oid.value) + ", not Ed25519 (1.3.101.112)"};
  }
  if (!algorithm.empty()) {
    return Error{"Ed25519 algorithm identifier must not have parameters"};
  }
  return {};
}

ErrorOr<std::string> ReadWholeFile(const std::string& path, bool is_private) {
  if (path == "-") {
    // Keys are trust anchors with owner and mode checks: a file, never a stream.
    return Error{"a key is never read from standard input (`-`): give the key file"};
  }
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) {
    return Error{"cannot open key file " + path + ": " + std::strerror(errno)};
  }
  struct stat info {};
  if (fstat(fd, &info) != 0) {
    const int saved = errno;
    close(fd);
    return Error{"cannot stat key file " + path + ": " + std::strerror(saved)};
  }
  if (!S_ISREG(info.st_mode)) {
    close(fd);
    return Error{"key file " + path + " is not a regular file"};
  }
  if (static_cast<std::uint64_t>(info.st_size) > kMaxKeyFile) {
    close(fd);
    return Error{"key file " + path + " is too large (" + std::to_string(info.st_size) + " bytes; at most " +
                 std::to_string(kMaxKeyFile) + ")"};
  }
  const bool exposed = is_private && (info.st_mode & 077) != 0;
  std::string text(static_cast<std::size_t>(info.st_size), '\0');
  std::size_t done = 0;
  while (done < text.size()) {
    const ssize_t got = read(fd, text.data() + done, text.size() - done);
    if (got < 0 && errno == EINTR) {
      continue;
    }
    if (got < 0) {
      const int saved = errno;
      close(fd);
      sodium_memzero(text.data(), text.size());
      return Error{"cannot read key file " + path + ": " + std::strerror(saved)};
    }
    if (got == 0) {
      break;
    }
    done += static_cast<std::size_t>(got);
  }
  close(fd);
  text.resize(done);
  // A private key others can read is refused, unless it is no private key at
  // all (a public key given by mistake; ReadPrivateKeyFile says so).
  if (exposed && text.find("-----BEGIN PUBLIC KEY-----") == std::string::npos) {
    sodium_memzero(text.data(), text.size());
    char mode[8];
    std::snprintf(mode, sizeof(mode), "%04o", static_cast<unsigned>(info.st_mode & 07777));
    return Error{"private key file " + path + " is accessible by group or others (mode " + mode +
                 "); restrict it with `chmod 600 " + path + "`"};
  }
  return text;
}

ErrorOr<void> WriteKeyFile(const std::string& path, std::string_view content, bool private_key, bool overwrite) {
  output::OutputOptions options;
  options.mode = private_key ? 0600 : 0644;
  options.private_key = private_key;
  options.replace_existing = overwrite;
  auto written = output::WriteOutputFile(path, content, options);
  if (!written.ok()) return Error{"key file " + written.error().message};
  return {};
}

}  // namespace

// ---- base64 and PEM ----

std::string Base64Encode(std::string_view bytes) {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    const std::uint32_t v = (static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i])) << 16) |
                            (static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i + 1])) << 8) |
                            static_cast<unsigned char>(bytes[i + 2]);
    out.push_back(kAlphabet[(v >> 18) & 63]);
    out.push_back(kAlphabet[(v >> 12) & 63]);
    out.push_back(kAlphabet[(v >> 6) & 63]);
    out.push_back(kAlphabet[v & 63]);
  }
  const std::size_t rest = bytes.size() - i;
  if (rest == 1) {
    const std::uint32_t v = static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i])) << 16;
    out.push_back(kAlphabet[(v >> 18) & 63]);
    out.push_back(kAlphabet[(v >> 12) & 63]);
    out += "==";
  } else if (rest == 2) {
    const std::uint32_t v = (static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i])) << 16) |
                            (static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i + 1])) << 8);
    out.push_back(kAlphabet[(v >> 18) & 63]);
    out.push_back(kAlphabet[(v >> 12) & 63]);
    out.push_back(kAlphabet[(v >> 6) & 63]);
    out += "=";
  }
  return out;
}

ErrorOr<std::string> Base64Decode(std::string_view text) {
  if (text.size() % 4 != 0) {
    return Error{"base64 length " + std::to_string(text.size()) + " is not a multiple of 4"};
  }
  std::string out;
  out.reserve(text.size() / 4 * 3);
  for (std::size_t i = 0; i < text.size(); i += 4) {
    const bool last = i + 4 == text.size();
    int values[4];
    int padding = 0;
    for (int j = 0; j < 4; ++j) {
      const char c = text[i + static_cast<std::size_t>(j)];
      if (c == '=') {
        if (!last || j < 2) {
          return Error{"base64 padding `=` before the end at offset " +
                       std::to_string(i + static_cast<std::size_t>(j))};
        }
        values[j] = 0;
        ++padding;
        continue;
      }
      if (padding > 0) {
        return Error{"base64 padding `=` before the end at offset " +
                     std::to_string(i + static_cast<std::size_t>(j) - 1)};
      }
      values[j] = Base64Value(c);
      if (values[j] < 0) {
        return Error{"invalid base64 character " + HexByte(static_cast<unsigned char>(c)) + " at offset " +
                     std::to_string(i + static_cast<std::size_t>(j))};
      }
    }
    const std::uint32_t v = (static_cast<std::uint32_t>(values[0]) << 18) |
                            (static_cast<std::uint32_t>(values[1]) << 12) |
                            (static_cast<std::uint32_t>(values[2]) << 6) | static_cast<std::uint32_t>(values[3]);
    if ((padding == 1 && (v & 0xff) != 0) || (padding == 2 && (v & 0xffff) != 0)) {
      return Error{"non-canonical base64: the unused bits of the last character are not zero"};
    }
    out.push_back(static_cast<char>((v >> 16) & 0xff));
    if (padding < 2) {
      out.push_back(static_cast<char>((v >> 8) & 0xff));
    }
    if (padding < 1) {
      out.push_back(static_cast<char>(v & 0xff));
    }
  }
  return out;
}

std::string EncodePem(std::string_view der, std::string_view label) {
  const std::string body = Base64Encode(der);
  std::string out = "-----BEGIN " + std::string(label) + "-----\n";
  for (std::size_t i = 0; i < body.size(); i += kMaxPemLine) {
    out.append(body, i, kMaxPemLine);
    out.push_back('\n');
  }
  out += "-----END " + std::string(label) + "-----\n";
  return out;
}

ErrorOr<std::string> DecodePem(std::string_view text, std::string_view label) {
  if (text.empty()) {
    return Error{"empty input: expected a `-----BEGIN " + std::string(label) + "-----` PEM block"};
  }
  if (text.size() > kMaxPemText) {
    return Error{"PEM input is too large (" + std::to_string(text.size()) + " bytes)"};
  }
  // Split into lines; each line ends in "\n" or "\r\n" except possibly the last.
  struct Line {
    std::string_view text;
    bool terminated;
  };
  std::vector<Line> lines;
  std::size_t pos = 0;
  while (pos < text.size()) {
    const std::size_t newline = text.find('\n', pos);
    std::string_view line = newline == std::string_view::npos ? text.substr(pos) : text.substr(pos, newline - pos);
    if (!line.empty() && line.back() == '\r' && newline != std::string_view::npos) {
      line.remove_suffix(1);
    }
    const std::size_t number = lines.size() + 1;
    if (line.find('\r') != std::string_view::npos) {
      return Error{"line " + std::to_string(number) + " has a carriage return that does not end the line"};
    }
    if (line.find('\0') != std::string_view::npos) {
      return Error{"line " + std::to_string(number) + " has a NUL byte"};
    }
    lines.push_back({line, newline != std::string_view::npos});
    pos = newline == std::string_view::npos ? text.size() : newline + 1;
  }
  const std::string begin = "-----BEGIN " + std::string(label) + "-----";
  const std::string end = "-----END " + std::string(label) + "-----";
  const std::string_view first = lines[0].text;
  if (first != begin) {
    constexpr std::string_view kBegin = "-----BEGIN ";
    constexpr std::string_view kDashes = "-----";
    if (first.substr(0, kBegin.size()) == kBegin && first.size() >= kBegin.size() + kDashes.size() &&
        first.substr(first.size() - kDashes.size()) == kDashes) {
      const std::string found(first.substr(kBegin.size(), first.size() - kBegin.size() - kDashes.size()));
      if (found == "ENCRYPTED PRIVATE KEY") {
        return Error{"encrypted private keys are not supported: decrypt it first (`openssl pkey -in KEY -out PLAIN`)"};
      }
      if (label == kPrivateLabel && found == kPublicLabel) {
        return Error{"this is a public key (`-----BEGIN PUBLIC KEY-----`), a private key was expected"};
      }
      if (label == kPublicLabel && found.find("PRIVATE KEY") != std::string::npos) {
        return Error{"this is a private key (`-----BEGIN " + found + "-----`), a public key was expected"};
      }
      return Error{"expected a `" + begin + "` block, found `-----BEGIN " + found + "-----`" +
                   (label == kPrivateLabel ? " (only PKCS#8 Ed25519 keys are supported)" : "")};
    }
    return Error{"not a PEM block: line 1 is not `" + begin + "`"};
  }
  std::string body;
  std::size_t index = 1;
  for (; index < lines.size(); ++index) {
    const std::string_view line = lines[index].text;
    const std::string number = std::to_string(index + 1);
    if (line.substr(0, 5) == "-----") {
      break;
    }
    if (line.empty()) {
      return Error{"line " + number + " is empty (blank lines are not allowed inside a PEM block)"};
    }
    if (line.find(':') != std::string_view::npos) {
      return Error{"line " + number + " is a PEM header: legacy encrypted PEM is not supported"};
    }
    for (std::size_t column = 0; column < line.size(); ++column) {
      const char c = line[column];
      if (Base64Value(c) < 0 && c != '=') {
        const bool space = c == ' ' || c == '\t' || c == '\v' || c == '\f';
        return Error{"line " + number + " column " + std::to_string(column + 1) + ": " +
                     (space ? std::string("whitespace") : "character " + HexByte(static_cast<unsigned char>(c))) +
                     " is not base64"};
      }
    }
    if (line.size() > kMaxPemLine) {
      return Error{"line " + number + " has " + std::to_string(line.size()) + " characters (at most " +
                   std::to_string(kMaxPemLine) + ")"};
    }
    body.append(line);
  }
  if (index == lines.size()) {
    return Error{"missing `" + end + "` line"};
  }
  const std::string_view end_line = lines[index].text;
  if (end_line != end) {
    return Error{"line " + std::to_string(index + 1) + " should be `" + end + "`, found `" + std::string(end_line) +
                 "`"};
  }
  if (index == 1) {
    return Error{"PEM block has no base64 body"};
  }
  if (index + 1 != lines.size()) {
    return Error{"unexpected data after `" + end + "` (line " + std::to_string(index + 2) + ")"};
  }
  auto decoded = Base64Decode(body);
  if (!decoded.ok()) {
    return Error{"PEM body: " + decoded.error().message};
  }
  return std::move(decoded).value();
}

// ---- PublicKey ----

ErrorOr<PublicKey> PublicKey::FromRaw(std::span<const std::uint8_t> raw) {
  if (raw.size() != kEd25519PublicKeySize) {
    return Error{"Ed25519 public key must be 32 bytes, got " + std::to_string(raw.size())};
  }
  internal::EnsureSodium();
  if (crypto_core_ed25519_is_valid_point(raw.data()) != 1) {
    return Error{"Ed25519 public key is not a valid curve point (small order or non-canonical)"};
  }
  PublicKey key;
  std::memcpy(key.raw_.data(), raw.data(), raw.size());
  return key;
}

ErrorOr<PublicKey> PublicKey::FromDer(std::string_view der) {
  std::string_view rest = der;
  GOV_ASSIGN_OR_RETURN(const Tlv outer, ReadTlv(rest, "SubjectPublicKeyInfo"));
  if (outer.tag != 0x30) {
    return Error{"public key DER does not start with a SEQUENCE (tag " + HexByte(outer.tag) + ")"};
  }
  if (!rest.empty()) {
    return Error{"public key DER has " + std::to_string(rest.size()) + " trailing bytes"};
  }
  std::string_view inner = outer.value;
  GOV_ASSIGN_OR_RETURN(const Tlv algorithm, ReadTlv(inner, "the algorithm identifier"));
  if (algorithm.tag != 0x30) {
    return Error{"public key algorithm identifier is not a SEQUENCE (tag " + HexByte(algorithm.tag) + ")"};
  }
  GOV_RETURN_IF_ERROR(CheckAlgorithm(algorithm.value));
  GOV_ASSIGN_OR_RETURN(const Tlv bits, ReadTlv(inner, "the public key BIT STRING"));
  if (bits.tag != 0x03) {
    return Error{"public key is not a BIT STRING (tag " + HexByte(bits.tag) + ")"};
  }
  if (bits.value.empty() || bits.value[0] != 0) {
    return Error{"public key BIT STRING must have 0 unused bits"};
  }
  if (bits.value.size() != 1 + kEd25519PublicKeySize) {
    return Error{"Ed25519 public key must be 32 bytes, got " + std::to_string(bits.value.size() - 1)};
  }
  if (!inner.empty()) {
    return Error{"SubjectPublicKeyInfo has " + std::to_string(inner.size()) + " unexpected trailing bytes"};
  }
  // The structure is right; insist on the one canonical encoding too.
  if (der.size() != sizeof(kSpkiPrefix) + kEd25519PublicKeySize ||
      der.substr(0, sizeof(kSpkiPrefix)) != PrefixView(kSpkiPrefix, sizeof(kSpkiPrefix))) {
    return Error{"public key DER is not the canonical RFC 8410 encoding"};
  }
  return FromRaw(std::span<const std::uint8_t>(Bytes(der) + sizeof(kSpkiPrefix), kEd25519PublicKeySize));
}

ErrorOr<PublicKey> PublicKey::FromPem(std::string_view pem) {
  GOV_ASSIGN_OR_RETURN(const std::string der, DecodePem(pem, kPublicLabel));
  return FromDer(der);
}

std::string PublicKey::ToDer() const {
  std::string der(PrefixView(kSpkiPrefix, sizeof(kSpkiPrefix)));
  der.append(reinterpret_cast<const char*>(raw_.data()), raw_.size());
  return der;
}

std::string PublicKey::ToPem() const {
  return EncodePem(ToDer(), kPublicLabel);
}

KeyId PublicKey::Id() const {
  const Sha256Digest digest = Sha256Of(std::string_view(reinterpret_cast<const char*>(raw_.data()), raw_.size()));
  KeyId id{};
  std::memcpy(id.data(), digest.data(), id.size());
  return id;
}

std::string PublicKey::IdHex() const {
  const KeyId id = Id();
  return HexEncode(std::span<const std::uint8_t>(id));
}

bool PublicKey::Verify(std::string_view message, const Signature& signature) const {
  internal::EnsureSodium();
  return crypto_sign_verify_detached(signature.data(), Bytes(message), message.size(), raw_.data()) == 0;
}

// ---- PrivateKey ----

ErrorOr<PrivateKey> PrivateKey::Generate() {
  if (!internal::EnsureSodium()) {
    return Error{"libsodium could not be initialized: no randomness to generate a key"};
  }
  std::array<std::uint8_t, kEd25519SeedSize> seed{};
  randombytes_buf(seed.data(), seed.size());
  auto key = FromSeed(seed);
  sodium_memzero(seed.data(), seed.size());
  return key;
}

ErrorOr<PrivateKey> PrivateKey::FromSeed(std::span<const std::uint8_t> seed) {
  if (seed.size() != kEd25519SeedSize) {
    return Error{"Ed25519 private key seed must be 32 bytes, got " + std::to_string(seed.size())};
  }
  internal::EnsureSodium();
  PrivateKey key;
  std::array<std::uint8_t, kEd25519PublicKeySize> public_raw{};
  crypto_sign_seed_keypair(public_raw.data(), key.secret_.data(), seed.data());
  auto public_key = PublicKey::FromRaw(public_raw);
  if (!public_key.ok()) {
    return Error{"internal error: derived public key is invalid"};
  }
  key.public_key_ = public_key.value();
  return key;
}

ErrorOr<PrivateKey> PrivateKey::FromDer(std::string_view der) {
  std::string_view rest = der;
  GOV_ASSIGN_OR_RETURN(const Tlv outer, ReadTlv(rest, "PrivateKeyInfo"));
  if (outer.tag != 0x30) {
    return Error{"private key DER does not start with a SEQUENCE (tag " + HexByte(outer.tag) + ")"};
  }
  if (!rest.empty()) {
    return Error{"private key DER has " + std::to_string(rest.size()) + " trailing bytes"};
  }
  std::string_view inner = outer.value;
  GOV_ASSIGN_OR_RETURN(const Tlv version, ReadTlv(inner, "the PKCS#8 version"));
  if (version.tag != 0x02 || version.value.size() != 1) {
    return Error{"PKCS#8 version is not a small INTEGER"};
  }
  if (version.value[0] == 1) {
    return Error{
        "PKCS#8 v2 (OneAsymmetricKey with an embedded public key) is not supported; "
        "re-export it with `openssl pkey -in KEY -out KEY2`"};
  }
  if (version.value[0] != 0) {
    return Error{"unsupported PKCS#8 version " + std::to_string(static_cast<unsigned char>(version.value[0]))};
  }
  GOV_ASSIGN_OR_RETURN(const Tlv algorithm, ReadTlv(inner, "the algorithm identifier"));
  if (algorithm.tag != 0x30) {
    return Error{"private key algorithm identifier is not a SEQUENCE (tag " + HexByte(algorithm.tag) + ")"};
  }
  GOV_RETURN_IF_ERROR(CheckAlgorithm(algorithm.value));
  GOV_ASSIGN_OR_RETURN(const Tlv octets, ReadTlv(inner, "the private key OCTET STRING"));
  if (octets.tag != 0x04) {
    return Error{"private key is not an OCTET STRING (tag " + HexByte(octets.tag) + ")"};
  }
  std::string_view curve_key = octets.value;
  GOV_ASSIGN_OR_RETURN(const Tlv seed, ReadTlv(curve_key, "the CurvePrivateKey"));
  if (seed.tag != 0x04 || !curve_key.empty()) {
    return Error{"CurvePrivateKey is not a single OCTET STRING"};
  }
  if (seed.value.size() != kEd25519SeedSize) {
    return Error{"Ed25519 private key must be 32 bytes, got " + std::to_string(seed.value.size())};
  }
  if (!inner.empty()) {
    return Error{"PKCS#8 attributes or an embedded public key are not supported (" + std::to_string(inner.size()) +
                 " trailing bytes)"};
  }
  if (der.size() != sizeof(kPkcs8Prefix) + kEd25519SeedSize ||
      der.substr(0, sizeof(kPkcs8Prefix)) != PrefixView(kPkcs8Prefix, sizeof(kPkcs8Prefix))) {
    return Error{"private key DER is not the canonical RFC 8410 encoding"};
  }
  return FromSeed(std::span<const std::uint8_t>(Bytes(der) + sizeof(kPkcs8Prefix), kEd25519SeedSize));
}

ErrorOr<PrivateKey> PrivateKey::FromPem(std::string_view pem) {
  auto der = DecodePem(pem, kPrivateLabel);
  if (!der.ok()) {
    return der.error();
  }
  auto key = FromDer(der.value());
  sodium_memzero(der.value().data(), der.value().size());
  return key;
}

PrivateKey::PrivateKey(const PrivateKey& other) : secret_(other.secret_), public_key_(other.public_key_) {}

PrivateKey& PrivateKey::operator=(const PrivateKey& other) {
  secret_ = other.secret_;
  public_key_ = other.public_key_;
  return *this;
}

PrivateKey::~PrivateKey() {
  sodium_memzero(secret_.data(), secret_.size());
}

std::string PrivateKey::ToDer() const {
  std::string der(PrefixView(kPkcs8Prefix, sizeof(kPkcs8Prefix)));
  der.append(reinterpret_cast<const char*>(secret_.data()), kEd25519SeedSize);
  return der;
}

std::string PrivateKey::ToPem() const {
  std::string der = ToDer();
  std::string pem = EncodePem(der, kPrivateLabel);
  sodium_memzero(der.data(), der.size());
  return pem;
}

Signature PrivateKey::Sign(std::string_view message) const {
  Signature signature{};
  crypto_sign_detached(signature.data(), nullptr, Bytes(message), message.size(), secret_.data());
  return signature;
}

// ---- key files ----

ErrorOr<void> WritePrivateKeyFile(const std::string& path, const PrivateKey& key, bool overwrite) {
  std::string pem = key.ToPem();
  auto result = WriteKeyFile(path, pem, /*private_key=*/true, overwrite);
  sodium_memzero(pem.data(), pem.size());
  return result;
}

ErrorOr<void> WritePublicKeyFile(const std::string& path, const PublicKey& key, bool overwrite) {
  return WriteKeyFile(path, key.ToPem(), /*private_key=*/false, overwrite);
}

ErrorOr<PrivateKey> ReadPrivateKeyFile(const std::string& path) {
  GOV_ASSIGN_OR_RETURN(std::string text, ReadWholeFile(path, /*is_private=*/true));
  if (text.find("-----BEGIN PUBLIC KEY-----") != std::string::npos) {
    sodium_memzero(text.data(), text.size());
    return Error{path +
                 " is a public key; signing needs the private key of the pair (NAME.key beside NAME.pub, "
                 "from `govc keygen NAME`)"};
  }
  auto key = PrivateKey::FromPem(text);
  sodium_memzero(text.data(), text.size());
  if (!key.ok()) {
    return Error{"private key file " + path + ": " + key.error().message};
  }
  return key;
}

ErrorOr<PublicKey> ReadPublicKeyFile(const std::string& path) {
  GOV_ASSIGN_OR_RETURN(const std::string text, ReadWholeFile(path, /*is_private=*/false));
  auto key = PublicKey::FromPem(text);
  if (!key.ok()) {
    return Error{"public key file " + path + ": " + key.error().message};
  }
  return key;
}

}  // namespace gov::crypto
