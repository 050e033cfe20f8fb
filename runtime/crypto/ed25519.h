// Ed25519 keys and detached signatures (libsodium), in the standard encodings
// other tools read: private keys as PKCS#8 PEM (label "PRIVATE KEY", RFC 8410
// OneAsymmetricKey v1), public keys as SubjectPublicKeyInfo PEM ("BEGIN PUBLIC
// KEY"). The parsers accept exactly those DER encodings; docs/keys.md gives
// the byte layouts and the openssl commands that interoperate.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "runtime/support/error_or.h"

namespace gov::crypto {

inline constexpr std::size_t kEd25519SeedSize = 32;
inline constexpr std::size_t kEd25519PublicKeySize = 32;
inline constexpr std::size_t kEd25519SignatureSize = 64;
inline constexpr std::size_t kKeyIdSize = 8;

// A detached Ed25519 signature.
using Signature = std::array<std::uint8_t, kEd25519SignatureSize>;

// A key id: the first 8 bytes of SHA-256(raw 32-byte public key). Only a hint
// for choosing among trusted keys and for messages; never a trust decision.
using KeyId = std::array<std::uint8_t, kKeyIdSize>;

// An Ed25519 public key (32 raw bytes, a valid curve point).
class PublicKey {
 public:
  // From 32 raw bytes; rejects a wrong size and bytes that are not a valid
  // point of the main subgroup (identity, small order, non-canonical).
  static ErrorOr<PublicKey> FromRaw(std::span<const std::uint8_t> raw);
  // From a "-----BEGIN PUBLIC KEY-----" PEM block (SPKI DER, exactly
  // 30 2a 30 05 06 03 2b 65 70 03 21 00 || key).
  static ErrorOr<PublicKey> FromPem(std::string_view pem);
  // From the 44-byte SPKI DER.
  static ErrorOr<PublicKey> FromDer(std::string_view der);

  // The SPKI DER (44 bytes) and its PEM (one 60-character base64 line).
  std::string ToDer() const;
  std::string ToPem() const;

  const std::array<std::uint8_t, kEd25519PublicKeySize>& raw() const { return raw_; }
  KeyId Id() const;
  // The key id as 16 lower-case hex digits.
  std::string IdHex() const;

  // True iff `signature` is a valid signature of `message` by this key.
  bool Verify(std::string_view message, const Signature& signature) const;

  bool operator==(const PublicKey&) const = default;

 private:
  friend class PrivateKey;
  PublicKey() = default;
  std::array<std::uint8_t, kEd25519PublicKeySize> raw_{};
};

// An Ed25519 private key (the 32-byte seed of RFC 8032). Its memory is wiped
// when destroyed.
class PrivateKey {
 public:
  // A fresh key from the system's CSPRNG; fails only if libsodium cannot
  // initialize.
  static ErrorOr<PrivateKey> Generate();
  // From a 32-byte seed.
  static ErrorOr<PrivateKey> FromSeed(std::span<const std::uint8_t> seed);
  // From a PKCS#8 PEM block labelled "PRIVATE KEY" (DER, exactly
  // 30 2e 02 01 00 30 05 06 03 2b 65 70 04 22 04 20 || seed).
  static ErrorOr<PrivateKey> FromPem(std::string_view pem);
  // From the 48-byte PKCS#8 DER.
  static ErrorOr<PrivateKey> FromDer(std::string_view der);

  PrivateKey(const PrivateKey& other);
  PrivateKey& operator=(const PrivateKey& other);
  ~PrivateKey();

  // The PKCS#8 DER (48 bytes) and its PEM. The returned strings hold the
  // secret: callers should not keep them longer than needed.
  std::string ToDer() const;
  std::string ToPem() const;

  const PublicKey& public_key() const { return public_key_; }

  // The detached signature of `message`.
  Signature Sign(std::string_view message) const;

 private:
  PrivateKey() = default;
  // libsodium's 64-byte secret key: seed || public key.
  std::array<std::uint8_t, 64> secret_{};
  PublicKey public_key_;
};

// Writes `key` as PEM to `path` with mode 0600 (output::WriteOutputFile as a
// private key: a regular file only, never `-`, a device or a FIFO). An
// existing directory entry is an error unless `overwrite`; then a regular
// file, or the one a symlink leads to, is replaced atomically (a fresh 0600
// file in its directory, fsync'ed, renamed over it).
ErrorOr<void> WritePrivateKeyFile(const std::string& path, const PrivateKey& key, bool overwrite = false);

// Writes `key` as PEM to `path` with mode 0644 (less the umask), like any
// output file (output::WriteOutputFile); an existing entry is an error
// unless `overwrite`.
ErrorOr<void> WritePublicKeyFile(const std::string& path, const PublicKey& key, bool overwrite = false);

// Reads a private key PEM file. Refuses files that are not regular, larger
// than 64 KiB, or readable/writable by group or others (mode & 077).
ErrorOr<PrivateKey> ReadPrivateKeyFile(const std::string& path);

// Reads a public key PEM file (regular file, at most 64 KiB).
ErrorOr<PublicKey> ReadPublicKeyFile(const std::string& path);

// Decodes one strict PEM block labelled `label` (e.g. "PUBLIC KEY"): the first
// line is "-----BEGIN <label>-----", then 1-64 character lines of padded,
// canonical base64, then "-----END <label>-----", then at most one line
// break. Lines end in LF or CRLF. Returns the decoded bytes, or an error that
// names the line and the problem.
ErrorOr<std::string> DecodePem(std::string_view text, std::string_view label);

// Encodes `der` as a PEM block labelled `label` with 64-character lines.
std::string EncodePem(std::string_view der, std::string_view label);

// Strict standard base64 (RFC 4648 with padding; non-zero trailing bits and
// any character outside the alphabet are errors).
ErrorOr<std::string> Base64Decode(std::string_view text);
std::string Base64Encode(std::string_view bytes);

}  // namespace gov::crypto
