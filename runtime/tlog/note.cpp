// Signed notes: the key encodings, strict note parsing, verification against
// known keys, and signing.
#include "runtime/tlog/note.h"

#include <cstring>
#include <set>
#include <tuple>
#include <utility>

#include "runtime/crypto/sha256.h"
#include "runtime/support/display.h"

namespace gov::tlog {
namespace {

constexpr std::string_view kSignerKeyPrefix = "PRIVATE+KEY+";
constexpr std::size_t kKeyIdSize = 4;

// The length of the well-formed UTF-8 sequence (RFC 3629: no overlong forms,
// no surrogates, at most U+10FFFF) at text[position], and its code point; 0
// when the bytes there are not one.
std::size_t DecodeUtf8(std::string_view text, std::size_t position, char32_t& code_point) {
  const auto byte = [&](std::size_t i) { return static_cast<unsigned char>(text[position + i]); };
  const unsigned char lead = byte(0);
  std::size_t length = 0;
  unsigned char low = 0x80;
  unsigned char high = 0xbf;
  if (lead < 0x80) {
    code_point = lead;
    return 1;
  } else if (lead >= 0xc2 && lead <= 0xdf) {
    length = 2;
    code_point = lead & 0x1f;
  } else if (lead >= 0xe0 && lead <= 0xef) {
    length = 3;
    code_point = lead & 0x0f;
    low = lead == 0xe0 ? 0xa0 : 0x80;
    high = lead == 0xed ? 0x9f : 0xbf;
  } else if (lead >= 0xf0 && lead <= 0xf4) {
    length = 4;
    code_point = lead & 0x07;
    low = lead == 0xf0 ? 0x90 : 0x80;
    high = lead == 0xf4 ? 0x8f : 0xbf;
  } else {
    return 0;
  }
  if (text.size() - position < length) {
    return 0;
  }
  for (std::size_t i = 1; i < length; ++i) {
    const unsigned char next = byte(i);
    if (next < (i == 1 ? low : 0x80) || next > (i == 1 ? high : 0xbf)) {
      return 0;
    }
    code_point = (code_point << 6) | (next & 0x3f);
  }
  return length;
}

// Unicode White_Space (what Go's unicode.IsSpace, and so sumdb/note, rejects).
bool IsUnicodeSpace(char32_t c) {
  return (c >= 0x09 && c <= 0x0d) || c == 0x20 || c == 0x85 || c == 0xa0 || c == 0x1680 ||
         (c >= 0x2000 && c <= 0x200a) || c == 0x2028 || c == 0x2029 || c == 0x202f || c == 0x205f || c == 0x3000;
}

std::string HexByte(unsigned char byte) {
  constexpr char kDigits[] = "0123456789abcdef";
  return std::string("0x") + kDigits[byte >> 4] + kDigits[byte & 0xf];
}

// Checks every byte of `text` is part of well-formed UTF-8 and no character
// is a control character other than newline.
ErrorOr<void> CheckCharacters(std::string_view text, std::string_view what) {
  std::size_t position = 0;
  while (position < text.size()) {
    char32_t code_point = 0;
    const std::size_t length = DecodeUtf8(text, position, code_point);
    if (length == 0) {
      return Error{std::string(what) + ": byte " + std::to_string(position) + " (" +
                   HexByte(static_cast<unsigned char>(text[position])) + ") is not valid UTF-8"};
    }
    if (code_point < 0x20 && code_point != '\n') {
      return Error{std::string(what) + ": control character " + HexByte(static_cast<unsigned char>(code_point)) +
                   " at byte " + std::to_string(position) + " (only newline is allowed)"};
    }
    position += length;
  }
  return {};
}

std::string KeyIdHex(std::uint32_t key_id) {
  constexpr char kDigits[] = "0123456789abcdef";
  std::string hex(8, '0');
  for (int i = 7; i >= 0; --i) {
    hex[static_cast<std::size_t>(i)] = kDigits[key_id & 0xf];
    key_id >>= 4;
  }
  return hex;
}

std::string KeyLabel(std::string_view name, std::uint32_t key_id) {
  return EscapeForDisplay(name) + "+" + KeyIdHex(key_id);
}

// Parses the 8 lower-case hex digits of a key id. `quote_input` puts the
// text in the error; never for signer keys, where it may be key material.
ErrorOr<std::uint32_t> ParseKeyIdHex(std::string_view hex, std::string_view what, bool quote_input) {
  const auto fail = [&] {
    return Error{std::string(what) + ": key id " + (quote_input ? "`" + EscapeForDisplay(hex) + "` " : "") +
                 "is not 8 lower-case hex digits"};
  };
  if (hex.size() != 8) {
    return fail();
  }
  std::uint32_t key_id = 0;
  for (const char c : hex) {
    std::uint32_t digit = 0;
    if (c >= '0' && c <= '9') {
      digit = static_cast<std::uint32_t>(c - '0');
    } else if (c >= 'a' && c <= 'f') {
      digit = static_cast<std::uint32_t>(c - 'a' + 10);
    } else {
      return fail();
    }
    key_id = (key_id << 4) | digit;
  }
  return key_id;
}

std::uint32_t ReadBigEndian32(std::string_view bytes) {
  std::uint32_t value = 0;
  for (std::size_t i = 0; i < kKeyIdSize; ++i) {
    value = (value << 8) | static_cast<unsigned char>(bytes[i]);
  }
  return value;
}

std::string BigEndian32(std::uint32_t value) {
  std::string bytes(kKeyIdSize, '\0');
  for (std::size_t i = kKeyIdSize; i-- > 0;) {
    bytes[i] = static_cast<char>(value & 0xff);
    value >>= 8;
  }
  return bytes;
}

// Overwrites a string that held secret bytes.
void Wipe(std::string& secret) {
  volatile char* bytes = secret.data();
  for (std::size_t i = 0; i < secret.size(); ++i) {
    bytes[i] = 0;
  }
}

// The parts of "<name>+<key id>+<base64 key>".
struct KeyParts {
  std::string_view name;
  std::uint32_t key_id = 0;
  std::string_view key_base64;
};

ErrorOr<KeyParts> SplitKey(std::string_view text, std::string_view what, bool quote_input) {
  const std::size_t first = text.find('+');
  const std::size_t second = first == std::string_view::npos ? first : text.find('+', first + 1);
  if (second == std::string_view::npos) {
    return Error{std::string(what) + " is not `<name>+<key id>+<key>`"};
  }
  KeyParts parts;
  parts.name = text.substr(0, first);
  if (!IsValidNoteKeyName(parts.name)) {
    return Error{std::string(what) + ": invalid key name " +
                 (quote_input ? "`" + EscapeForDisplay(parts.name) + "` " : "") +
                 "(empty, or with white space or `+`)"};
  }
  GOV_ASSIGN_OR_RETURN(parts.key_id, ParseKeyIdHex(text.substr(first + 1, second - first - 1), what, quote_input));
  parts.key_base64 = text.substr(second + 1);
  return parts;
}

// Checks the signature type byte and size of a decoded key.
ErrorOr<void> CheckKeyBytes(std::string_view bytes, std::string_view what, std::string_view part) {
  if (bytes.empty()) {
    return Error{std::string(what) + ": the key is empty"};
  }
  if (static_cast<unsigned char>(bytes[0]) != kNoteEd25519) {
    return Error{std::string(what) + ": unknown signature type " + HexByte(static_cast<unsigned char>(bytes[0])) +
                 " (only 0x01, Ed25519, is supported)"};
  }
  if (bytes.size() != 1 + crypto::kEd25519PublicKeySize) {
    return Error{std::string(what) + ": an Ed25519 " + std::string(part) + " is 32 bytes, got " +
                 std::to_string(bytes.size() - 1)};
  }
  return {};
}

std::span<const std::uint8_t> AsBytes(std::string_view text) {
  return std::span<const std::uint8_t>(reinterpret_cast<const std::uint8_t*>(text.data()), text.size());
}

}  // namespace

bool IsValidNoteKeyName(std::string_view name) {
  if (name.empty()) {
    return false;
  }
  std::size_t position = 0;
  while (position < name.size()) {
    char32_t code_point = 0;
    const std::size_t length = DecodeUtf8(name, position, code_point);
    if (length == 0 || code_point == '+' || IsUnicodeSpace(code_point)) {
      return false;
    }
    position += length;
  }
  return true;
}

ErrorOr<void> CheckNoteText(std::string_view text) {
  GOV_RETURN_IF_ERROR(CheckCharacters(text, "note text"));
  if (text.empty() || text.back() != '\n') {
    return Error{"note text does not end in a newline"};
  }
  return {};
}

std::uint32_t NoteKeyId(std::string_view name, const crypto::PublicKey& key) {
  crypto::Sha256 sha;
  sha.Update(name);
  const std::uint8_t separator[2] = {'\n', kNoteEd25519};
  sha.Update(separator, sizeof(separator));
  sha.Update(key.raw().data(), key.raw().size());
  const crypto::Sha256Digest digest = sha.Finish();
  return ReadBigEndian32(std::string_view(reinterpret_cast<const char*>(digest.data()), kKeyIdSize));
}

ErrorOr<NoteVerifier> NoteVerifier::Parse(std::string_view vkey) {
  constexpr std::string_view kWhat = "verifier key";
  GOV_ASSIGN_OR_RETURN(const KeyParts parts, SplitKey(vkey, kWhat, /*quote_input=*/true));
  auto decoded = crypto::Base64Decode(parts.key_base64);
  if (!decoded.ok()) {
    return Error{std::string(kWhat) + ": the key is not base64: " + decoded.error().message};
  }
  GOV_RETURN_IF_ERROR(CheckKeyBytes(decoded.value(), kWhat, "public key"));
  auto key = crypto::PublicKey::FromRaw(AsBytes(decoded.value()).subspan(1));
  if (!key.ok()) {
    return Error{std::string(kWhat) + ": " + key.error().message};
  }
  const std::uint32_t expected = NoteKeyId(parts.name, key.value());
  if (parts.key_id != expected) {
    return Error{std::string(kWhat) + ": key id " + KeyIdHex(parts.key_id) + " does not match the name and key (" +
                 KeyIdHex(expected) + ")"};
  }
  return NoteVerifier(std::string(parts.name), parts.key_id, key.value());
}

ErrorOr<NoteVerifier> NoteVerifier::Create(std::string_view name, const crypto::PublicKey& key) {
  if (!IsValidNoteKeyName(name)) {
    return Error{"invalid note key name `" + EscapeForDisplay(name) + "` (empty, or with white space or `+`)"};
  }
  return NoteVerifier(std::string(name), NoteKeyId(name, key), key);
}

std::string NoteVerifier::Encode() const {
  std::string key_bytes(1, static_cast<char>(kNoteEd25519));
  key_bytes.append(reinterpret_cast<const char*>(key_.raw().data()), key_.raw().size());
  return name_ + "+" + KeyIdHex(key_id_) + "+" + crypto::Base64Encode(key_bytes);
}

bool NoteVerifier::Verify(std::string_view text, std::string_view signature) const {
  crypto::Signature raw{};
  if (signature.size() != raw.size()) {
    return false;
  }
  std::memcpy(raw.data(), signature.data(), raw.size());
  return key_.Verify(text, raw);
}

ErrorOr<NoteSigner> NoteSigner::Parse(std::string_view skey) {
  constexpr std::string_view kWhat = "signer key";
  if (skey.substr(0, kSignerKeyPrefix.size()) != kSignerKeyPrefix) {
    return Error{std::string(kWhat) + " does not start with `PRIVATE+KEY+`"};
  }
  GOV_ASSIGN_OR_RETURN(const KeyParts parts,
                       SplitKey(skey.substr(kSignerKeyPrefix.size()), kWhat, /*quote_input=*/false));
  auto decoded = crypto::Base64Decode(parts.key_base64);
  if (!decoded.ok()) {
    return Error{std::string(kWhat) + ": the key is not canonical base64"};
  }
  std::string seed = std::move(decoded).value();
  auto checked = CheckKeyBytes(seed, kWhat, "seed");
  if (!checked.ok()) {
    Wipe(seed);
    return checked.error();
  }
  auto key = crypto::PrivateKey::FromSeed(AsBytes(seed).subspan(1));
  Wipe(seed);
  if (!key.ok()) {
    return Error{std::string(kWhat) + ": " + key.error().message};
  }
  const std::uint32_t expected = NoteKeyId(parts.name, key.value().public_key());
  if (parts.key_id != expected) {
    return Error{std::string(kWhat) + ": key id " + KeyIdHex(parts.key_id) +
                 " does not match the name and derived public key (" + KeyIdHex(expected) + ")"};
  }
  return NoteSigner(std::string(parts.name), parts.key_id, key.value());
}

ErrorOr<NoteSigner> NoteSigner::Create(std::string_view name, const crypto::PrivateKey& key) {
  if (!IsValidNoteKeyName(name)) {
    return Error{"invalid note key name `" + EscapeForDisplay(name) + "` (empty, or with white space or `+`)"};
  }
  return NoteSigner(std::string(name), NoteKeyId(name, key.public_key()), key);
}

std::string NoteSigner::Encode() const {
  std::string der = key_.ToDer();
  std::string key_bytes(1, static_cast<char>(kNoteEd25519));
  key_bytes.append(der, der.size() - crypto::kEd25519SeedSize, crypto::kEd25519SeedSize);
  Wipe(der);
  std::string encoded =
      std::string(kSignerKeyPrefix) + name_ + "+" + KeyIdHex(key_id_) + "+" + crypto::Base64Encode(key_bytes);
  Wipe(key_bytes);
  return encoded;
}

NoteVerifier NoteSigner::Verifier() const {
  return NoteVerifier(name_, key_id_, key_.public_key());
}

crypto::Signature NoteSigner::Sign(std::string_view text) const {
  return key_.Sign(text);
}

ErrorOr<Note> ParseNote(std::string_view message) {
  GOV_RETURN_IF_ERROR(CheckCharacters(message, "signed note"));
  const std::size_t split = message.rfind("\n\n");
  if (split == std::string_view::npos) {
    return Error{"signed note has no blank line before its signatures"};
  }
  Note note;
  note.text = std::string(message.substr(0, split + 1));
  std::string_view block = message.substr(split + 2);
  if (block.empty()) {
    return Error{"signed note has no signature lines after the blank line"};
  }
  if (block.back() != '\n') {
    return Error{"signed note: the last signature line does not end in a newline"};
  }
  std::size_t line_number = 0;
  while (!block.empty()) {
    ++line_number;
    if (line_number > kMaxNoteSignatures) {
      return Error{"signed note has more than " + std::to_string(kMaxNoteSignatures) + " signature lines"};
    }
    const std::size_t newline = block.find('\n');
    std::string_view line = block.substr(0, newline);
    block.remove_prefix(newline + 1);
    const std::string where = "signed note: signature line " + std::to_string(line_number);
    if (line.substr(0, kNoteSignaturePrefix.size()) != kNoteSignaturePrefix) {
      return Error{where + " does not start with an em dash (U+2014) and a space"};
    }
    line.remove_prefix(kNoteSignaturePrefix.size());
    const std::size_t space = line.find(' ');
    if (space == std::string_view::npos) {
      return Error{where + " has no space between the key name and the signature"};
    }
    const std::string_view name = line.substr(0, space);
    if (!IsValidNoteKeyName(name)) {
      return Error{where + ": invalid key name `" + EscapeForDisplay(name) + "` (empty, or with white space or `+`)"};
    }
    auto decoded = crypto::Base64Decode(line.substr(space + 1));
    if (!decoded.ok()) {
      return Error{where + ": the signature is not base64: " + decoded.error().message};
    }
    const std::string& bytes = decoded.value();
    if (bytes.size() <= kKeyIdSize) {
      return Error{where + ": the signature has " + std::to_string(bytes.size()) +
                   " bytes, fewer than a 4-byte key id and a signature"};
    }
    note.signatures.push_back(NoteSignature{std::string(name), ReadBigEndian32(bytes), bytes.substr(kKeyIdSize)});
  }
  return note;
}

ErrorOr<VerifiedNote> OpenNote(std::string_view message, std::span<const NoteVerifier> known) {
  GOV_ASSIGN_OR_RETURN(Note note, ParseNote(message));
  VerifiedNote result;
  result.text = std::move(note.text);
  std::set<std::pair<std::string, std::uint32_t>> verified_keys;
  std::set<std::tuple<std::string, std::uint32_t, std::string>> unknown_seen;
  for (NoteSignature& signature : note.signatures) {
    const NoteVerifier* match = nullptr;
    std::size_t matches = 0;
    for (const NoteVerifier& verifier : known) {
      if (verifier.name() == signature.name && verifier.key_id() == signature.key_id) {
        match = &verifier;
        ++matches;
      }
    }
    if (matches == 0) {
      if (unknown_seen.emplace(signature.name, signature.key_id, signature.signature).second) {
        result.unknown.push_back(std::move(signature));
      }
      continue;
    }
    const std::string label = KeyLabel(signature.name, signature.key_id);
    if (matches > 1) {
      return Error{"signed note: key " + label + " matches " + std::to_string(matches) +
                   " known verifier keys; the key list is ambiguous"};
    }
    if (!verified_keys.emplace(signature.name, signature.key_id).second) {
      continue;
    }
    if (!match->Verify(result.text, signature.signature)) {
      return Error{"signed note: the signature by known key " + label + " does not verify"};
    }
    result.verified.push_back(std::move(signature));
  }
  if (result.verified.empty()) {
    constexpr std::size_t kListed = 8;
    std::string signers;
    for (std::size_t i = 0; i < result.unknown.size() && i < kListed; ++i) {
      signers += (i == 0 ? "" : ", ") + KeyLabel(result.unknown[i].name, result.unknown[i].key_id);
    }
    if (result.unknown.size() > kListed) {
      signers += " and " + std::to_string(result.unknown.size() - kListed) + " more";
    }
    return Error{"signed note has no signature by a known key (signed by " + signers + ")"};
  }
  return result;
}

std::string FormatNote(const Note& note) {
  std::string message = note.text;
  message.push_back('\n');
  for (const NoteSignature& signature : note.signatures) {
    message += kNoteSignaturePrefix;
    message += signature.name;
    message.push_back(' ');
    message += crypto::Base64Encode(BigEndian32(signature.key_id) + signature.signature);
    message.push_back('\n');
  }
  return message;
}

ErrorOr<std::string> SignNote(std::string_view text, std::span<const NoteSigner> signers) {
  GOV_RETURN_IF_ERROR(CheckNoteText(text));
  if (signers.empty()) {
    return Error{"a signed note needs at least one signer"};
  }
  if (signers.size() > kMaxNoteSignatures) {
    return Error{"a signed note has at most " + std::to_string(kMaxNoteSignatures) + " signatures"};
  }
  std::string message(text);
  message.push_back('\n');
  for (const NoteSigner& signer : signers) {
    const crypto::Signature signature = signer.Sign(text);
    std::string bytes = BigEndian32(signer.key_id());
    bytes.append(reinterpret_cast<const char*>(signature.data()), signature.size());
    message += kNoteSignaturePrefix;
    message += signer.name();
    message.push_back(' ');
    message += crypto::Base64Encode(bytes);
    message.push_back('\n');
  }
  return message;
}

}  // namespace gov::tlog
