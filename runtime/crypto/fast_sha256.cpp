// SHA-256 for large inputs (logs, bundles, programs): the x86 SHA extensions when
// the CPU has them (about 10x libsodium's portable code), else libsodium.
#include "runtime/crypto/fast_sha256.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "runtime/crypto/sha256.h"

#if defined(__x86_64__)
#include <cpuid.h>
#include <immintrin.h>
#endif

#include "runtime/support/glibc_cpuid.h"

namespace gov::crypto {
namespace {

#if defined(__x86_64__)

alignas(16) constexpr std::uint32_t kK[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

// From glibc's record of the CPU when it has one: every cpuid instruction
// traps to the hypervisor in a VM (~7 µs each on the reference machine),
// and this runs at the start of every govrun.
bool CpuHasShaNi() {
  unsigned a = 0, b = 0, c = 0, d = 0;
  if (const std::uint32_t* leaf1 = support::GlibcCpuidCopy(1, 0)) {
    c = leaf1[2];
  } else if (__get_cpuid(1, &a, &b, &c, &d) == 0) {
    return false;
  }
  const bool ssse3 = (c & (1u << 9)) != 0;
  const bool sse41 = (c & (1u << 19)) != 0;
  if (const std::uint32_t* leaf7 = support::GlibcCpuidCopy(7, 0)) {
    b = leaf7[1];
  } else if (__get_cpuid_count(7, 0, &a, &b, &c, &d) == 0) {
    return false;
  }
  const bool sha = (b & (1u << 29)) != 0;
  return ssse3 && sse41 && sha;
}

// The SHA-NI state layout (ABEF, CDGH) of `state` (a..h), and back.
__attribute__((target("sha,sse4.1,ssse3"))) inline void LoadState(const std::uint32_t state[8], __m128i& state0,
                                                                  __m128i& state1) {
  const __m128i tmp = _mm_shuffle_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(&state[0])), 0xB1);
  state1 = _mm_shuffle_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(&state[4])), 0x1B);
  state0 = _mm_alignr_epi8(tmp, state1, 8);
  state1 = _mm_blend_epi16(state1, tmp, 0xF0);
}

__attribute__((target("sha,sse4.1,ssse3"))) inline void StoreState(__m128i state0, __m128i state1,
                                                                   std::uint32_t state[8]) {
  const __m128i tmp = _mm_shuffle_epi32(state0, 0x1B);
  state1 = _mm_shuffle_epi32(state1, 0xB1);
  _mm_storeu_si128(reinterpret_cast<__m128i*>(&state[0]), _mm_blend_epi16(tmp, state1, 0xF0));
  _mm_storeu_si128(reinterpret_cast<__m128i*>(&state[4]), _mm_alignr_epi8(state1, tmp, 8));
}

// Rounds 4g..4g+3 of one message: its schedule words in `w`, its state in
// `state0`/`state1`. Inlined into the unrolled loops below, so the callers
// that run two messages interleave their instructions.
__attribute__((target("sha,sse4.1,ssse3"), always_inline)) inline void FourRounds(int g, const unsigned char* data,
                                                                                  __m128i w[4], __m128i& state0,
                                                                                  __m128i& state1) {
  const __m128i mask = _mm_set_epi64x(0x0c0d0e0f08090a0bULL, 0x0405060700010203ULL);
  __m128i& cur = w[g & 3];
  if (g < 4) cur = _mm_shuffle_epi8(_mm_loadu_si128(reinterpret_cast<const __m128i*>(data + 16 * g)), mask);
  __m128i msg = _mm_add_epi32(cur, _mm_load_si128(reinterpret_cast<const __m128i*>(&kK[4 * g])));
  state1 = _mm_sha256rnds2_epu32(state1, state0, msg);
  if (g >= 3 && g <= 14) {
    __m128i& next = w[(g + 1) & 3];
    next = _mm_add_epi32(next, _mm_alignr_epi8(cur, w[(g + 3) & 3], 4));
    next = _mm_sha256msg2_epu32(next, cur);
  }
  msg = _mm_shuffle_epi32(msg, 0x0E);
  state0 = _mm_sha256rnds2_epu32(state0, state1, msg);
  if (g >= 1 && g <= 12) {
    __m128i& prev = w[(g + 3) & 3];
    prev = _mm_sha256msg1_epu32(prev, cur);
  }
}

// Compresses `blocks` 64-byte blocks into `state` (a..h).
__attribute__((target("sha,sse4.1,ssse3"))) void Compress(std::uint32_t state[8], const unsigned char* data,
                                                          std::size_t blocks) {
  __m128i state0, state1;
  LoadState(state, state0, state1);
  for (std::size_t block = 0; block < blocks; ++block, data += 64) {
    const __m128i save0 = state0;
    const __m128i save1 = state1;
    __m128i w[4];
#if defined(__clang__)
#pragma unroll
#else
#pragma GCC unroll 16
#endif
    for (int g = 0; g < 16; ++g) FourRounds(g, data, w, state0, state1);
    state0 = _mm_add_epi32(state0, save0);
    state1 = _mm_add_epi32(state1, save1);
  }
  StoreState(state0, state1, state);
}

// Copies the last `rest` (< 64) bytes of a message of `total` bytes into
// `out` (zeroed, 128 bytes) with SHA-256's padding; returns its block count (1 or 2).
std::size_t PadTail(const unsigned char* tail, std::size_t rest, std::uint64_t total, unsigned char out[128]) {
  if (rest > 0) std::memcpy(out, tail, rest);
  out[rest] = 0x80;
  const std::size_t tail_blocks = rest + 9 <= 64 ? 1 : 2;
  const std::uint64_t bits = total * 8;
  for (int i = 0; i < 8; ++i) out[tail_blocks * 64 - 1 - i] = static_cast<unsigned char>(bits >> (8 * i));
  return tail_blocks;
}

// One message's blocks: its full 64-byte blocks in place, then the padded
// tail (one or two blocks) in `tail`.
struct Blocks {
  const unsigned char* data = nullptr;
  std::size_t full = 0;
  unsigned char tail[128] = {};
  std::size_t count = 0;

  explicit Blocks(std::string_view bytes) : data(reinterpret_cast<const unsigned char*>(bytes.data())) {
    full = bytes.size() / 64;
    count = full + PadTail(data + full * 64, bytes.size() - full * 64, bytes.size(), tail);
  }
  const unsigned char* operator[](std::size_t block) const {
    return block < full ? data + 64 * block : tail + 64 * (block - full);
  }
};

// Compresses `blocks` blocks of `a` from `first_a` and of `b` from
// `first_b` into their states, the two interleaved: SHA256RNDS2 has a latency of several cycles and a
// throughput of one every one or two, so one message leaves the unit idle.
__attribute__((target("sha,sse4.1,ssse3"))) void CompressPair(std::uint32_t state_a[8], const Blocks& a,
                                                              std::size_t first_a, std::uint32_t state_b[8],
                                                              const Blocks& b, std::size_t first_b,
                                                              std::size_t blocks) {
  __m128i a0, a1, b0, b1;
  LoadState(state_a, a0, a1);
  LoadState(state_b, b0, b1);
  for (std::size_t block = 0; block < blocks; ++block) {
    const unsigned char* data_a = a[first_a + block];
    const unsigned char* data_b = b[first_b + block];
    const __m128i save_a0 = a0, save_a1 = a1, save_b0 = b0, save_b1 = b1;
    __m128i wa[4], wb[4];
#if defined(__clang__)
#pragma unroll
#else
#pragma GCC unroll 16
#endif
    for (int g = 0; g < 16; ++g) {
      FourRounds(g, data_a, wa, a0, a1);
      FourRounds(g, data_b, wb, b0, b1);
    }
    a0 = _mm_add_epi32(a0, save_a0);
    a1 = _mm_add_epi32(a1, save_a1);
    b0 = _mm_add_epi32(b0, save_b0);
    b1 = _mm_add_epi32(b1, save_b1);
  }
  StoreState(a0, a1, state_a);
  StoreState(b0, b1, state_b);
}

constexpr std::uint32_t kInitialState[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                                            0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};

// The digest of a final state: its words big-endian.
__attribute__((target("ssse3"))) Sha256Digest DigestOf(const std::uint32_t state[8]) {
  const __m128i byte_swap = _mm_set_epi64x(0x0c0d0e0f08090a0bULL, 0x0405060700010203ULL);
  Sha256Digest digest{};
  _mm_storeu_si128(reinterpret_cast<__m128i*>(digest.data()),
                   _mm_shuffle_epi8(_mm_loadu_si128(reinterpret_cast<const __m128i*>(&state[0])), byte_swap));
  _mm_storeu_si128(reinterpret_cast<__m128i*>(digest.data() + 16),
                   _mm_shuffle_epi8(_mm_loadu_si128(reinterpret_cast<const __m128i*>(&state[4])), byte_swap));
  return digest;
}

// Pads the last `rest` (< 64) bytes of a message of `total` bytes, compresses
// them and returns the digest.
Sha256Digest Finish(std::uint32_t state[8], const unsigned char* tail, std::size_t rest, std::uint64_t total) {
  unsigned char last[128] = {};
  Compress(state, last, PadTail(tail, rest, total, last));
  return DigestOf(state);
}

Sha256Digest ShaNi(std::string_view bytes) {
  std::uint32_t state[8];
  std::memcpy(state, kInitialState, sizeof state);
  const auto* data = reinterpret_cast<const unsigned char*>(bytes.data());
  const std::size_t full = bytes.size() / 64;
  Compress(state, data, full);
  return Finish(state, data + full * 64, bytes.size() - full * 64, bytes.size());
}

Sha256Digest ShaNiWithPrefix(std::string_view bytes, std::size_t prefix_size, Sha256Digest& prefix_digest) {
  std::uint32_t state[8];
  std::memcpy(state, kInitialState, sizeof state);
  const auto* data = reinterpret_cast<const unsigned char*>(bytes.data());
  const std::size_t shared = prefix_size / 64;
  Compress(state, data, shared);
  std::uint32_t prefix_state[8];
  std::memcpy(prefix_state, state, sizeof state);
  prefix_digest = Finish(prefix_state, data + shared * 64, prefix_size - shared * 64, prefix_size);
  const std::size_t full = bytes.size() / 64;
  Compress(state, data + shared * 64, full - shared);
  return Finish(state, data + full * 64, bytes.size() - full * 64, bytes.size());
}

// Two lanes, each hashing the next message when its current one ends, so
// messages of different lengths keep both lanes busy.
void ShaNiBatch(std::span<const std::string_view> messages, std::span<Sha256Digest> digests) {
  struct Lane {
    std::size_t message = 0;  // the index it hashes
    std::optional<Blocks> blocks;
    std::size_t next_block = 0;
    std::uint32_t state[8];
  };
  std::size_t next_message = 0;
  const auto start = [&](Lane& lane) {
    lane.blocks.reset();
    if (next_message == messages.size()) return;
    lane.message = next_message++;
    lane.blocks.emplace(messages[lane.message]);
    lane.next_block = 0;
    std::memcpy(lane.state, kInitialState, sizeof lane.state);
  };
  Lane lanes[2];
  start(lanes[0]);
  start(lanes[1]);
  while (lanes[0].blocks && lanes[1].blocks) {
    Lane& a = lanes[0];
    Lane& b = lanes[1];
    const std::size_t together = std::min(a.blocks->count - a.next_block, b.blocks->count - b.next_block);
    CompressPair(a.state, *a.blocks, a.next_block, b.state, *b.blocks, b.next_block, together);
    a.next_block += together;
    b.next_block += together;
    for (Lane& lane : lanes) {
      if (lane.next_block < lane.blocks->count) continue;
      digests[lane.message] = DigestOf(lane.state);
      start(lane);
    }
  }
  for (Lane& lane : lanes) {
    if (!lane.blocks) continue;
    for (; lane.next_block < lane.blocks->count; ++lane.next_block) {
      Compress(lane.state, (*lane.blocks)[lane.next_block], 1);
    }
    digests[lane.message] = DigestOf(lane.state);
  }
}

// The file read with pread() from offset 0 (the descriptor's offset is left alone).
ErrorOr<Sha256Digest> ShaNiOfFd(int fd) {
  constexpr std::size_t kChunk = 1 << 16;
  // Not zero-filled: only the pages pread() writes are touched (a page
  // fault is expensive on some VMs and small programs fill few pages).
  std::unique_ptr<unsigned char[]> storage(new unsigned char[kChunk + 64]);
  unsigned char* const buffer = storage.get();
  std::uint32_t state[8];
  std::memcpy(state, kInitialState, sizeof state);
  std::size_t carry = 0;
  std::uint64_t total = 0;
  while (true) {
    const ssize_t got = pread(fd, buffer + carry, kChunk, static_cast<off_t>(total));
    if (got < 0) {
      if (errno == EINTR) continue;
      return Error{std::string("cannot read file to hash it: ") + std::strerror(errno)};
    }
    if (got == 0) break;
    total += static_cast<std::uint64_t>(got);
    const std::size_t have = carry + static_cast<std::size_t>(got);
    const std::size_t blocks = have / 64;
    Compress(state, buffer, blocks);
    carry = have - blocks * 64;
    std::memmove(buffer, buffer + blocks * 64, carry);
  }
  return Finish(state, buffer, carry, total);
}

const bool kHaveShaNi = CpuHasShaNi();

#endif

}  // namespace

bool FastSha256Accelerated() {
#if defined(__x86_64__)
  return kHaveShaNi;
#else
  return false;
#endif
}

Sha256Digest FastSha256(std::string_view bytes) {
#if defined(__x86_64__)
  if (kHaveShaNi) return ShaNi(bytes);
#endif
  return Sha256Of(bytes);
}

Sha256Digest FastSha256WithPrefix(std::string_view bytes, std::size_t prefix_size, Sha256Digest& prefix_digest) {
  prefix_size = std::min(prefix_size, bytes.size());
#if defined(__x86_64__)
  if (kHaveShaNi) return ShaNiWithPrefix(bytes, prefix_size, prefix_digest);
#endif
  prefix_digest = Sha256Of(bytes.substr(0, prefix_size));
  return Sha256Of(bytes);
}

void FastSha256Batch(std::span<const std::string_view> messages, std::span<Sha256Digest> digests) {
#if defined(__x86_64__)
  if (kHaveShaNi) return ShaNiBatch(messages, digests);
#endif
  for (std::size_t i = 0; i < messages.size(); ++i) digests[i] = Sha256Of(messages[i]);
}

ErrorOr<Sha256Digest> FastSha256OfFd(int fd) {
#if defined(__x86_64__)
  if (kHaveShaNi) return ShaNiOfFd(fd);
#endif
  return Sha256OfFd(fd);
}

}  // namespace gov::crypto
