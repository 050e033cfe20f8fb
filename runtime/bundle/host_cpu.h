// What this machine can run: its architecture and CPU features (read with
// CPUID and XGETBV on x86-64, so a feature counts only when the OS also
// enables its register state), and the check that decides whether a
// bundle's native code may run here.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "runtime/bundle/manifest.h"

namespace gov::bundle {

// This machine's architecture as an LLVM triple's first component
// ("x86_64", "aarch64", ...).
std::string HostArch();

// A target triple for this machine, e.g. "x86_64-unknown-linux-gnu".
std::string HostTriple();

// The CPU features this machine has, in LLVM spelling without a sign
// ("avx2", "sse4.2", ...), sorted. Only features the detection knows are
// listed; on architectures other than x86-64 the list is empty.
const std::vector<std::string>& HostCpuFeatures();

// HostCpuFeatures() as the CPUID instruction alone reports it, without
// glibc's copy of the leaves it read at start-up (for tests: both must agree).
std::vector<std::string> HostCpuFeaturesByInstruction();

// True iff this machine has `feature` (LLVM spelling, no sign).
bool HostHasFeature(std::string_view feature);

// Empty when code compiled for `target` can run on this machine: the
// triple's architecture equals HostArch(), its OS is linux, and every
// '+feature' (and every feature implied by a known x86-64 level CPU name,
// e.g. "x86-64-v3") is in HostCpuFeatures(). Otherwise one line saying why
// not, e.g. "the code needs CPU feature avx512f, which this CPU lacks".
std::string NativeIncompatibility(const Target& target);

}  // namespace gov::bundle
