// The CPUID registers glibc read when the process started, for the leaves
// it keeps: reading them costs nothing, where each CPUID instruction traps
// to the hypervisor in a virtual machine (~7-10 µs on the reference one).
#pragma once

#include <cstdint>

namespace gov::support {

// The registers (eax, ebx, ecx, edx) of CPUID `leaf`/`subleaf` as glibc
// read them, or null when glibc keeps no copy of that leaf (another leaf,
// another C library, glibc before 2.33, a vendor whose range it did not
// fill): then ask the CPU.
const std::uint32_t* GlibcCpuidCopy(std::uint32_t leaf, std::uint32_t subleaf);

}  // namespace gov::support
