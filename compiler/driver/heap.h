// govc's heap on transparent huge pages. A compile touches megabytes of fresh
// heap (1,000 rules: ~8 MB across parse, check, lower and code generation),
// and on the paravirtualized VMs govc is measured on every first touch of a
// 4 KiB page costs ~12 µs: a third of `govc build`'s wall time was page
// faults. PrepareCompilerHeap asks for the heap in 2 MiB pages instead.
// docs/architecture.md ("govc's heap") has the measurements.
#pragma once

#include <cstddef>
#include <string>

namespace gov::driver {

// What PrepareCompilerHeap did.
struct HeapPreparation {
  // The heap's `advised_bytes` bytes from `advised_begin` (2 MiB aligned)
  // are advised MADV_HUGEPAGE.
  bool applied = false;
  const void* advised_begin = nullptr;
  std::size_t advised_bytes = 0;
  // Why not, when !applied (an allocator that is not glibc's brk heap, e.g.
  // a sanitizer's; no transparent huge pages in this kernel).
  std::string why_not;
};

// Call once at the start of a compiler process, before other threads start.
// Sets glibc's malloc to one arena (govc's threads allocate one at a time),
// grows the brk heap by 64 MiB that is kept rather than trimmed, and advises
// that range MADV_HUGEPAGE; allocations up to 16 MiB come from it. Purely a
// speed measure: whatever fails leaves malloc working as before.
HeapPreparation PrepareCompilerHeap();

}  // namespace gov::driver
