// C2SP signed notes (https://c2sp.org/signed-note) with Ed25519 keys, as
// golang.org/x/mod/sumdb/note writes and reads them: a text ending in a
// newline, a blank line, then signature lines `— <name> <base64(key id ||
// signature)>`; verifier keys `<name>+<hex key id>+<base64(0x01 || key)>`
// and signer keys `PRIVATE+KEY+<name>+<hex key id>+<base64(0x01 || seed)>`.
// Parsing is strict and every rejection names its reason. docs/tlog.md
// describes the formats.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "runtime/crypto/ed25519.h"
#include "runtime/support/error_or.h"

namespace gov::tlog {

// The signature type byte of Ed25519 note keys.
inline constexpr std::uint8_t kNoteEd25519 = 0x01;
// Notes with more signature lines are rejected (as sumdb/note does).
inline constexpr std::size_t kMaxNoteSignatures = 100;
// The em dash (U+2014) and space that start a signature line.
inline constexpr std::string_view kNoteSignaturePrefix = "\xe2\x80\x94 ";

// True iff `name` can name a note key: non-empty UTF-8 with neither Unicode
// white space nor `+`.
bool IsValidNoteKeyName(std::string_view name);

// Checks `text` can be signed as a note text: it ends in a newline and is
// UTF-8 without control characters other than newline.
ErrorOr<void> CheckNoteText(std::string_view text);

// The key id of an Ed25519 note key: the first 4 bytes, big-endian, of
// SHA-256(name || 0x0A || 0x01 || 32-byte public key).
std::uint32_t NoteKeyId(std::string_view name, const crypto::PublicKey& key);

// An Ed25519 note verifier key: a name and a public key.
class NoteVerifier {
 public:
  // Parses "<name>+<8 lower-case hex digits>+<base64(0x01 || 32-byte key)>";
  // the key id must be the one NoteKeyId computes.
  static ErrorOr<NoteVerifier> Parse(std::string_view vkey);
  // The verifier of `key` under `name` (a valid key name).
  static ErrorOr<NoteVerifier> Create(std::string_view name, const crypto::PublicKey& key);

  // The vkey text that Parse reads.
  std::string Encode() const;

  const std::string& name() const { return name_; }
  std::uint32_t key_id() const { return key_id_; }
  const crypto::PublicKey& public_key() const { return key_; }

  // True iff `signature` (the bytes after the key id) is this key's Ed25519
  // signature of `text`.
  bool Verify(std::string_view text, std::string_view signature) const;

 private:
  friend class NoteSigner;
  NoteVerifier(std::string name, std::uint32_t key_id, const crypto::PublicKey& key)
      : name_(std::move(name)), key_id_(key_id), key_(key) {}

  std::string name_;
  std::uint32_t key_id_;
  crypto::PublicKey key_;
};

// An Ed25519 note signer key: a name and a private key.
class NoteSigner {
 public:
  // Parses "PRIVATE+KEY+<name>+<8 lower-case hex digits>+<base64(0x01 ||
  // 32-byte seed)>"; the key id must match the derived public key.
  static ErrorOr<NoteSigner> Parse(std::string_view skey);
  // The signer of `key` under `name` (a valid key name).
  static ErrorOr<NoteSigner> Create(std::string_view name, const crypto::PrivateKey& key);

  // The skey text that Parse reads. It holds the secret.
  std::string Encode() const;

  const std::string& name() const { return name_; }
  std::uint32_t key_id() const { return key_id_; }
  NoteVerifier Verifier() const;

  // The Ed25519 signature of `text`.
  crypto::Signature Sign(std::string_view text) const;

 private:
  NoteSigner(std::string name, std::uint32_t key_id, const crypto::PrivateKey& key)
      : name_(std::move(name)), key_id_(key_id), key_(key) {}

  std::string name_;
  std::uint32_t key_id_;
  crypto::PrivateKey key_;
};

// One signature line of a note.
struct NoteSignature {
  std::string name;
  std::uint32_t key_id = 0;
  // The signature bytes after the key id.
  std::string signature;

  bool operator==(const NoteSignature&) const = default;
};

// A note split into its text and signature lines, nothing verified.
struct Note {
  // Everything before the last blank line, including the final newline.
  std::string text;
  std::vector<NoteSignature> signatures;
};

// Splits a signed note strictly: UTF-8 without control characters other
// than newline, the text separated from 1-100 signature lines by the last
// blank line, each line `— <valid name> <base64 of at least 5 bytes>` and
// ending in a newline.
ErrorOr<Note> ParseNote(std::string_view message);

// A note whose text is vouched for by at least one known key.
struct VerifiedNote {
  std::string text;
  // Signatures by known keys, each verified (repeats by one key dropped).
  std::vector<NoteSignature> verified;
  // Signatures by unknown keys, not checked (exact repeats dropped).
  std::vector<NoteSignature> unknown;
};

// Parses `message` (ParseNote) and checks its signatures against `known`:
// a signature whose name and key id match a known key must verify, others
// are set aside, and at least one must be by a known key. A signature
// matching two known keys is an error (the key list is ambiguous).
ErrorOr<VerifiedNote> OpenNote(std::string_view message, std::span<const NoteVerifier> known);

// The bytes of `note`: its text, a blank line and its signature lines in
// order (what ParseNote reads back). The caller keeps the note valid.
std::string FormatNote(const Note& note);

// `text` (CheckNoteText) followed by a blank line and one signature line per
// signer, in order.
ErrorOr<std::string> SignNote(std::string_view text, std::span<const NoteSigner> signers);

}  // namespace gov::tlog
