// The compiler's heap on transparent huge pages (see heap.h).
#include "compiler/driver/heap.h"

#include <malloc.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>

namespace gov::driver {
namespace {

constexpr std::size_t kHugePage = std::size_t{2} << 20;
// Extra heap obtained whenever the brk heap grows (M_TOP_PAD), and so the
// size of the advised range.
constexpr int kTopPad = 64 << 20;
// Free heap kept instead of returned to the kernel (M_TRIM_THRESHOLD).
constexpr int kTrimThreshold = 256 << 20;
// Allocations from this size up get their own mapping (M_MMAP_THRESHOLD).
constexpr int kMmapThreshold = 16 << 20;
// Larger than the free top of a heap that glibc's default top pad and trim
// threshold (128 KiB each) can leave, so allocating it grows the heap.
constexpr std::size_t kProbeBytes = std::size_t{1} << 20;
// About what glibc adds to an allocation (its chunk header and rounding).
constexpr std::uintptr_t kChunkOverhead = 16;

std::uintptr_t RoundUp(std::uintptr_t value) {
  return (value + kHugePage - 1) & ~(kHugePage - 1);
}
std::uintptr_t RoundDown(std::uintptr_t value) {
  return value & ~(kHugePage - 1);
}

}  // namespace

HeapPreparation PrepareCompilerHeap() {
  HeapPreparation result;
  if (mallopt(M_ARENA_MAX, 1) != 1 || mallopt(M_TOP_PAD, kTopPad) != 1 ||
      mallopt(M_TRIM_THRESHOLD, kTrimThreshold) != 1 || mallopt(M_MMAP_THRESHOLD, kMmapThreshold) != 1) {
    result.why_not = "malloc does not take glibc's options";
    return result;
  }
  auto before = reinterpret_cast<std::uintptr_t>(sbrk(0));
  // Kept (1 MiB of address space, one touched page): freeing it would only
  // return it to the top of the heap.
  void* probe = std::malloc(kProbeBytes);
  if (probe == nullptr) {
    result.why_not = "out of memory";
    return result;
  }
  *static_cast<volatile char*>(probe) = 1;  // not optimized away
  auto after = reinterpret_cast<std::uintptr_t>(sbrk(0));
  if (after <= before) {
    result.why_not = "the allocator did not grow the brk heap";
    return result;
  }
  // The heap continues right after the probe. A filler up to the next 2 MiB
  // boundary (kept, never touched beyond its header) makes what follows
  // start there, so no allocation lands on the unadvisable part below it.
  std::uintptr_t probe_end = reinterpret_cast<std::uintptr_t>(probe) + kProbeBytes;
  std::uintptr_t begin = RoundUp(probe_end + kChunkOverhead);
  std::uintptr_t end = RoundDown(after);
  if (end <= begin) {
    result.why_not = "the heap grew by less than a huge page";
    return result;
  }
  if (begin - probe_end > 2 * kChunkOverhead) {
    // malloc may satisfy the filler from a free chunk elsewhere (left by
    // earlier frees) and leave the gap open; such misses are kept (never
    // touched beyond their header) and the filler asked for again.
    const std::size_t filler_bytes = begin - probe_end - 2 * kChunkOverhead;
    for (int attempt = 0; attempt < 16; ++attempt) {
      void* filler = std::malloc(filler_bytes);
      if (filler == nullptr) break;
      *static_cast<volatile char*>(filler) = 1;
      const auto at = reinterpret_cast<std::uintptr_t>(filler);
      if (at >= probe_end && at < begin) break;
    }
  }
  if (madvise(reinterpret_cast<void*>(begin), end - begin, MADV_HUGEPAGE) != 0) {
    result.why_not = std::string("madvise(MADV_HUGEPAGE): ") + std::strerror(errno);
    return result;
  }
  result.applied = true;
  result.advised_begin = reinterpret_cast<const void*>(begin);
  result.advised_bytes = end - begin;
  return result;
}

}  // namespace gov::driver
