// C2SP tlog cosignatures (cosignature/v1, Ed25519).
#include "runtime/tlog/cosignature.h"

#include <cstring>

#include "runtime/crypto/sha256.h"
#include "runtime/support/display.h"

namespace gov::tlog {
namespace {

constexpr std::size_t kTimestampSize = 8;

std::string BigEndian64(std::uint64_t value) {
  std::string bytes(kTimestampSize, '\0');
  for (std::size_t i = kTimestampSize; i-- > 0;) {
    bytes[i] = static_cast<char>(value & 0xff);
    value >>= 8;
  }
  return bytes;
}

std::uint64_t ReadBigEndian64(std::string_view bytes) {
  std::uint64_t value = 0;
  for (std::size_t i = 0; i < kTimestampSize; ++i) value = (value << 8) | static_cast<unsigned char>(bytes[i]);
  return value;
}

}  // namespace

std::uint32_t CosignatureKeyId(std::string_view name, const crypto::PublicKey& key) {
  crypto::Sha256 sha;
  sha.Update(name);
  const std::uint8_t separator[2] = {'\n', kCosignatureEd25519};
  sha.Update(separator, sizeof(separator));
  sha.Update(key.raw().data(), key.raw().size());
  const crypto::Sha256Digest digest = sha.Finish();
  return (std::uint32_t{digest[0]} << 24) | (std::uint32_t{digest[1]} << 16) | (std::uint32_t{digest[2]} << 8) |
         std::uint32_t{digest[3]};
}

std::string CosignedMessage(std::string_view checkpoint_text, std::uint64_t timestamp) {
  return "cosignature/v1\ntime " + std::to_string(timestamp) + "\n" + std::string(checkpoint_text);
}

ErrorOr<NoteSignature> Cosign(std::string_view checkpoint_text, std::string_view name, const crypto::PrivateKey& key,
                              std::uint64_t timestamp) {
  if (!IsValidNoteKeyName(name)) {
    return Error{"invalid cosigner name `" + EscapeForDisplay(name) + "` (empty, or with white space or `+`)"};
  }
  GOV_RETURN_IF_ERROR(CheckNoteText(checkpoint_text));
  if (timestamp > kMaxCosignatureTime) return Error{"a cosignature timestamp is at most 2^63 - 1"};
  const crypto::Signature signature = key.Sign(CosignedMessage(checkpoint_text, timestamp));
  std::string bytes = BigEndian64(timestamp);
  bytes.append(reinterpret_cast<const char*>(signature.data()), signature.size());
  return NoteSignature{std::string(name), CosignatureKeyId(name, key.public_key()), std::move(bytes)};
}

ErrorOr<VerifiedCosignature> FindCosignature(const Note& note, const crypto::PublicKey& key) {
  for (const NoteSignature& line : note.signatures) {
    if (line.key_id != CosignatureKeyId(line.name, key)) continue;
    const std::string who = "the cosignature of `" + EscapeForDisplay(line.name) + "`";
    if (line.signature.size() != kTimestampSize + crypto::kEd25519SignatureSize) {
      return Error{who + " is not a timestamp and an Ed25519 signature"};
    }
    const std::uint64_t timestamp = ReadBigEndian64(line.signature);
    if (timestamp > kMaxCosignatureTime) return Error{who + " has a timestamp above 2^63 - 1"};
    crypto::Signature signature{};
    std::memcpy(signature.data(), line.signature.data() + kTimestampSize, signature.size());
    if (!key.Verify(CosignedMessage(note.text, timestamp), signature)) return Error{who + " does not verify"};
    return VerifiedCosignature{line.name, timestamp};
  }
  return Error{"no cosignature by the witness key"};
}

}  // namespace gov::tlog
