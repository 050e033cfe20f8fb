// SHA-256 (one-shot, streaming, over an open file descriptor), lower-case hex,
// and the "sha256:<64 hex>" digest strings used in requests, manifests and
// lineage records. Backed by libsodium.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "runtime/support/error_or.h"

namespace gov::crypto {

inline constexpr std::size_t kSha256Size = 32;

// A raw SHA-256 digest.
using Sha256Digest = std::array<std::uint8_t, kSha256Size>;

// The prefix of digest strings: "sha256:" + 64 lower-case hex digits.
inline constexpr std::string_view kDigestPrefix = "sha256:";

// Incremental SHA-256: Update() any number of times, then Finish() once.
class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;

  // Appends bytes to the hashed message.
  void Update(std::string_view bytes);
  void Update(const void* data, std::size_t size);

  // Returns the digest of everything appended. The object is spent afterwards.
  Sha256Digest Finish();

 private:
  // libsodium's crypto_hash_sha256_state, kept opaque (checked in sha256.cpp).
  alignas(8) unsigned char state_[128];
};

// The SHA-256 of `bytes`.
Sha256Digest Sha256Of(std::string_view bytes);

// The SHA-256 of the whole file open as `fd`, read with pread() from offset 0
// to end of file (the descriptor's own offset is left unchanged, so the same
// descriptor can then be passed to fexecve). Fails on read errors and on
// descriptors that cannot pread (pipes, sockets).
ErrorOr<Sha256Digest> Sha256OfFd(int fd);

// Lower-case hex of `bytes`.
std::string HexEncode(std::span<const std::uint8_t> bytes);
std::string HexEncode(std::string_view bytes);

// Decodes lower- or upper-case hex (even length, digits only).
ErrorOr<std::string> HexDecode(std::string_view hex);

// "sha256:" + lower-case hex of `digest`.
std::string DigestString(const Sha256Digest& digest);

// Parses exactly "sha256:" + 64 lower-case hex digits.
ErrorOr<Sha256Digest> ParseDigestString(std::string_view text);

// True iff `text` is a well-formed digest string (see ParseDigestString).
bool IsDigestString(std::string_view text);

}  // namespace gov::crypto
