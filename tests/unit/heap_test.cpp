// PrepareCompilerHeap (compiler/driver/heap.h): in a child process (it changes
// malloc's settings for good), the advised range is a huge-page VMA of the
// brk heap, and allocations of the process and of a thread land in it.
#include "compiler/driver/heap.h"

#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>

namespace {

// The "VmFlags:" line of the mapping that contains `address`, from
// /proc/self/smaps; empty if none does.
std::string VmFlagsOf(std::uintptr_t address) {
  std::ifstream smaps("/proc/self/smaps");
  std::string line;
  bool inside = false;
  while (std::getline(smaps, line)) {
    std::uintptr_t begin = 0;
    std::uintptr_t end = 0;
    char dash = 0;
    std::istringstream header(line);
    if (header >> std::hex >> begin >> dash >> end && dash == '-') {
      inside = begin <= address && address < end;
      continue;
    }
    if (inside && line.rfind("VmFlags:", 0) == 0) return line;
  }
  return "";
}

// Whether the `size` bytes at `block` lie in the advised range (all but a
// chunk header's worth at the start: the next allocation begins about at the
// range's start).
bool InRange(const void* block, std::size_t size, const gov::driver::HeapPreparation& heap) {
  auto first = reinterpret_cast<std::uintptr_t>(block) + 64;
  auto last = reinterpret_cast<std::uintptr_t>(block) + size - 1;
  auto begin = reinterpret_cast<std::uintptr_t>(heap.advised_begin);
  return begin <= first && last < begin + heap.advised_bytes;
}

// Runs the checks in this (child) process; 0 when all hold, else which failed.
int CheckInChild() {
  gov::driver::HeapPreparation heap = gov::driver::PrepareCompilerHeap();
  if (!heap.applied) {
    std::fprintf(stderr, "heap_test: heap not prepared: %s\n", heap.why_not.c_str());
    // Only acceptable with an allocator that is not glibc's (sanitizers) or
    // a kernel without transparent huge pages.
#if defined(GOV_SANITIZED)
    return heap.why_not.empty() ? 10 : 0;
#else
    return access("/sys/kernel/mm/transparent_hugepage/enabled", F_OK) != 0 ? 0 : 11;
#endif
  }
  if (heap.advised_bytes < (std::size_t{60} << 20)) return 12;
  if (reinterpret_cast<std::uintptr_t>(heap.advised_begin) % (std::size_t{2} << 20) != 0) return 13;
  std::string flags = VmFlagsOf(reinterpret_cast<std::uintptr_t>(heap.advised_begin));
  if (flags.find(" hg") == std::string::npos) return 14;  // MADV_HUGEPAGE set on the mapping
  // The next allocation comes from the advised range and works.
  void* block = std::malloc(std::size_t{4} << 20);
  if (block == nullptr || !InRange(block, std::size_t{4} << 20, heap)) {
    std::fprintf(stderr, "heap_test: block %p outside [%p, +%zu)\n", block, heap.advised_begin, heap.advised_bytes);
    return 15;
  }
  std::memset(block, 0x5a, std::size_t{4} << 20);
  std::free(block);
  // So does one made by another thread (one arena).
  void* from_thread = nullptr;
  std::thread([&from_thread] { from_thread = std::malloc(std::size_t{1} << 20); }).join();
  const bool thread_in_range = from_thread != nullptr && InRange(from_thread, std::size_t{1} << 20, heap);
  std::free(from_thread);
  if (!thread_in_range) return 16;
  return 0;
}

}  // namespace

TEST_CASE("PrepareCompilerHeap puts the heap on huge pages, for every thread", "[heap]") {
  pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) ::_exit(CheckInChild());
  int status = 0;
  REQUIRE(::waitpid(child, &status, 0) == child);
  REQUIRE(WIFEXITED(status));
  // 11 not applied; 12 range too small; 13 unaligned; 14 no MADV_HUGEPAGE
  // flag on the mapping; 15/16 an allocation outside the range.
  CHECK(WEXITSTATUS(status) == 0);
}
