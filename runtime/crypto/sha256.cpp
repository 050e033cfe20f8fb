// SHA-256 and hex/digest-string helpers over libsodium (see sha256.h).
#include "runtime/crypto/sha256.h"

#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <new>
#include <vector>

#include "runtime/crypto/sodium_init.h"

namespace gov::crypto {

namespace internal {

bool EnsureSodium() {
  static const bool initialized = sodium_init() >= 0;
  return initialized;
}

}  // namespace internal

namespace {

static_assert(sizeof(crypto_hash_sha256_state) <= 128, "Sha256::state_ is too small");
static_assert(alignof(crypto_hash_sha256_state) <= 8, "Sha256::state_ is under-aligned");

crypto_hash_sha256_state* State(unsigned char* storage) {
  return std::launder(reinterpret_cast<crypto_hash_sha256_state*>(storage));
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') {
    return c - '0';
  }
  if (c >= 'a' && c <= 'f') {
    return c - 'a' + 10;
  }
  if (c >= 'A' && c <= 'F') {
    return c - 'A' + 10;
  }
  return -1;
}

}  // namespace

Sha256::Sha256() {
  internal::EnsureSodium();
  new (state_) crypto_hash_sha256_state;
  crypto_hash_sha256_init(State(state_));
}

Sha256::~Sha256() {
  sodium_memzero(state_, sizeof(state_));
}

void Sha256::Update(std::string_view bytes) {
  Update(bytes.data(), bytes.size());
}

void Sha256::Update(const void* data, std::size_t size) {
  crypto_hash_sha256_update(State(state_), static_cast<const unsigned char*>(data), size);
}

Sha256Digest Sha256::Finish() {
  Sha256Digest digest{};
  crypto_hash_sha256_final(State(state_), digest.data());
  return digest;
}

Sha256Digest Sha256Of(std::string_view bytes) {
  Sha256Digest digest{};
  crypto_hash_sha256(digest.data(), reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size());
  return digest;
}

ErrorOr<Sha256Digest> Sha256OfFd(int fd) {
  constexpr std::size_t kChunk = 1 << 16;
  std::vector<unsigned char> buffer(kChunk);
  Sha256 hasher;
  off_t offset = 0;
  while (true) {
    const ssize_t got = pread(fd, buffer.data(), buffer.size(), offset);
    if (got < 0) {
      if (errno == EINTR) {
        continue;
      }
      return Error{std::string("cannot read file to hash it: ") + std::strerror(errno)};
    }
    if (got == 0) {
      break;
    }
    hasher.Update(buffer.data(), static_cast<std::size_t>(got));
    offset += got;
  }
  return hasher.Finish();
}

std::string HexEncode(std::span<const std::uint8_t> bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (const std::uint8_t byte : bytes) {
    out.push_back(kDigits[byte >> 4]);
    out.push_back(kDigits[byte & 0xF]);
  }
  return out;
}

std::string HexEncode(std::string_view bytes) {
  return HexEncode(std::span<const std::uint8_t>(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()));
}

ErrorOr<std::string> HexDecode(std::string_view hex) {
  if (hex.size() % 2 != 0) {
    return Error{"hex string has an odd number of digits (" + std::to_string(hex.size()) + ")"};
  }
  std::string out;
  out.reserve(hex.size() / 2);
  for (std::size_t i = 0; i < hex.size(); i += 2) {
    const int high = HexValue(hex[i]);
    const int low = HexValue(hex[i + 1]);
    if (high < 0 || low < 0) {
      return Error{"invalid hex digit at offset " + std::to_string(high < 0 ? i : i + 1)};
    }
    out.push_back(static_cast<char>((high << 4) | low));
  }
  return out;
}

std::string DigestString(const Sha256Digest& digest) {
  return std::string(kDigestPrefix) + HexEncode(std::span<const std::uint8_t>(digest));
}

ErrorOr<Sha256Digest> ParseDigestString(std::string_view text) {
  if (text.substr(0, kDigestPrefix.size()) != kDigestPrefix) {
    return Error{"digest does not start with `sha256:`"};
  }
  const std::string_view hex = text.substr(kDigestPrefix.size());
  if (hex.size() != 2 * kSha256Size) {
    return Error{"digest must have 64 hex digits after `sha256:`, found " + std::to_string(hex.size())};
  }
  Sha256Digest digest{};
  for (std::size_t i = 0; i < kSha256Size; ++i) {
    const char hi = hex[2 * i];
    const char lo = hex[2 * i + 1];
    const bool hi_ok = (hi >= '0' && hi <= '9') || (hi >= 'a' && hi <= 'f');
    const bool lo_ok = (lo >= '0' && lo <= '9') || (lo >= 'a' && lo <= 'f');
    if (!hi_ok || !lo_ok) {
      return Error{"digest has a character that is not a lower-case hex digit at offset " +
                   std::to_string(kDigestPrefix.size() + 2 * i + (hi_ok ? 1 : 0))};
    }
    digest[i] = static_cast<std::uint8_t>((HexValue(hi) << 4) | HexValue(lo));
  }
  return digest;
}

bool IsDigestString(std::string_view text) {
  return ParseDigestString(text).ok();
}

}  // namespace gov::crypto
