// Host architecture and CPU feature detection (see host_cpu.h). The x86-64
// table maps CPUID bits to LLVM feature names; a feature whose register state
// the OS has not enabled (XCR0) is reported as absent.
#include "runtime/bundle/host_cpu.h"

#include <algorithm>
#include <cstdint>
#include <mutex>

#include "runtime/support/glibc_cpuid.h"

#if defined(__x86_64__)
#include <cpuid.h>
#endif

namespace gov::bundle {
namespace {

#if defined(__x86_64__)

enum Reg { kEax, kEbx, kEcx, kEdx };
// Register state a feature needs enabled by the OS.
enum State { kNoState, kAvxState, kAvx512State, kAmxState, kXsaveOs };

struct FeatureBit {
  const char* name;
  std::uint32_t leaf;
  std::uint32_t subleaf;
  Reg reg;
  int bit;
  State state;
};

// CPUID bits (Intel SDM vol. 2A "CPUID", AMD APM vol. 3 appendix E).
constexpr FeatureBit kFeatureBits[] = {
    // Leaf 1.
    {"x87", 1, 0, kEdx, 0, kNoState},
    {"cx8", 1, 0, kEdx, 8, kNoState},
    {"cmov", 1, 0, kEdx, 15, kNoState},
    {"mmx", 1, 0, kEdx, 23, kNoState},
    {"fxsr", 1, 0, kEdx, 24, kNoState},
    {"sse", 1, 0, kEdx, 25, kNoState},
    {"sse2", 1, 0, kEdx, 26, kNoState},
    {"sse3", 1, 0, kEcx, 0, kNoState},
    {"pclmul", 1, 0, kEcx, 1, kNoState},
    {"ssse3", 1, 0, kEcx, 9, kNoState},
    {"fma", 1, 0, kEcx, 12, kAvxState},
    {"cx16", 1, 0, kEcx, 13, kNoState},
    {"sse4.1", 1, 0, kEcx, 19, kNoState},
    {"sse4.2", 1, 0, kEcx, 20, kNoState},
    {"crc32", 1, 0, kEcx, 20, kNoState},
    {"movbe", 1, 0, kEcx, 22, kNoState},
    {"popcnt", 1, 0, kEcx, 23, kNoState},
    {"aes", 1, 0, kEcx, 25, kNoState},
    {"xsave", 1, 0, kEcx, 26, kXsaveOs},
    {"avx", 1, 0, kEcx, 28, kAvxState},
    {"f16c", 1, 0, kEcx, 29, kAvxState},
    {"rdrnd", 1, 0, kEcx, 30, kNoState},
    // Leaf 7, subleaf 0.
    {"fsgsbase", 7, 0, kEbx, 0, kNoState},
    {"sgx", 7, 0, kEbx, 2, kNoState},
    {"bmi", 7, 0, kEbx, 3, kNoState},
    {"hle", 7, 0, kEbx, 4, kNoState},
    {"avx2", 7, 0, kEbx, 5, kAvxState},
    {"bmi2", 7, 0, kEbx, 8, kNoState},
    {"invpcid", 7, 0, kEbx, 10, kNoState},
    {"rtm", 7, 0, kEbx, 11, kNoState},
    {"avx512f", 7, 0, kEbx, 16, kAvx512State},
    {"evex512", 7, 0, kEbx, 16, kAvx512State},
    {"avx512dq", 7, 0, kEbx, 17, kAvx512State},
    {"rdseed", 7, 0, kEbx, 18, kNoState},
    {"adx", 7, 0, kEbx, 19, kNoState},
    {"avx512ifma", 7, 0, kEbx, 21, kAvx512State},
    {"clflushopt", 7, 0, kEbx, 23, kNoState},
    {"clwb", 7, 0, kEbx, 24, kNoState},
    {"avx512cd", 7, 0, kEbx, 28, kAvx512State},
    {"sha", 7, 0, kEbx, 29, kNoState},
    {"avx512bw", 7, 0, kEbx, 30, kAvx512State},
    {"avx512vl", 7, 0, kEbx, 31, kAvx512State},
    {"prefetchwt1", 7, 0, kEcx, 0, kNoState},
    {"avx512vbmi", 7, 0, kEcx, 1, kAvx512State},
    {"waitpkg", 7, 0, kEcx, 5, kNoState},
    {"avx512vbmi2", 7, 0, kEcx, 6, kAvx512State},
    {"shstk", 7, 0, kEcx, 7, kNoState},
    {"gfni", 7, 0, kEcx, 8, kNoState},
    {"vaes", 7, 0, kEcx, 9, kAvxState},
    {"vpclmulqdq", 7, 0, kEcx, 10, kAvxState},
    {"avx512vnni", 7, 0, kEcx, 11, kAvx512State},
    {"avx512bitalg", 7, 0, kEcx, 12, kAvx512State},
    {"avx512vpopcntdq", 7, 0, kEcx, 14, kAvx512State},
    {"rdpid", 7, 0, kEcx, 22, kNoState},
    {"kl", 7, 0, kEcx, 23, kNoState},
    {"cldemote", 7, 0, kEcx, 25, kNoState},
    {"movdiri", 7, 0, kEcx, 27, kNoState},
    {"movdir64b", 7, 0, kEcx, 28, kNoState},
    {"enqcmd", 7, 0, kEcx, 29, kNoState},
    {"uintr", 7, 0, kEdx, 5, kNoState},
    {"avx512vp2intersect", 7, 0, kEdx, 8, kAvx512State},
    {"serialize", 7, 0, kEdx, 14, kNoState},
    {"tsxldtrk", 7, 0, kEdx, 16, kNoState},
    {"pconfig", 7, 0, kEdx, 18, kNoState},
    {"amx-bf16", 7, 0, kEdx, 22, kAmxState},
    {"avx512fp16", 7, 0, kEdx, 23, kAvx512State},
    {"amx-tile", 7, 0, kEdx, 24, kAmxState},
    {"amx-int8", 7, 0, kEdx, 25, kAmxState},
    // Leaf 7, subleaf 1.
    {"sha512", 7, 1, kEax, 0, kAvxState},
    {"sm3", 7, 1, kEax, 1, kAvxState},
    {"sm4", 7, 1, kEax, 2, kAvxState},
    {"raoint", 7, 1, kEax, 3, kNoState},
    {"avxvnni", 7, 1, kEax, 4, kAvxState},
    {"avx512bf16", 7, 1, kEax, 5, kAvx512State},
    {"cmpccxadd", 7, 1, kEax, 7, kNoState},
    {"amx-fp16", 7, 1, kEax, 21, kAmxState},
    {"hreset", 7, 1, kEax, 22, kNoState},
    {"avxifma", 7, 1, kEax, 23, kAvxState},
    {"avxvnniint8", 7, 1, kEdx, 4, kAvxState},
    {"avxneconvert", 7, 1, kEdx, 5, kAvxState},
    {"amx-complex", 7, 1, kEdx, 8, kAmxState},
    {"avxvnniint16", 7, 1, kEdx, 10, kAvxState},
    {"prefetchi", 7, 1, kEdx, 14, kNoState},
    {"usermsr", 7, 1, kEdx, 15, kNoState},
    // Leaf 0xD, subleaf 1 (XSAVE extensions).
    {"xsaveopt", 0xD, 1, kEax, 0, kXsaveOs},
    {"xsavec", 0xD, 1, kEax, 1, kXsaveOs},
    {"xsaves", 0xD, 1, kEax, 3, kXsaveOs},
    // Leaf 0x14 (processor trace), leaf 0x19 (key locker).
    {"ptwrite", 0x14, 0, kEbx, 4, kNoState},
    {"widekl", 0x19, 0, kEbx, 2, kNoState},
    // Extended leaves.
    {"sahf", 0x80000001, 0, kEcx, 0, kNoState},
    {"lzcnt", 0x80000001, 0, kEcx, 5, kNoState},
    {"sse4a", 0x80000001, 0, kEcx, 6, kNoState},
    {"prfchw", 0x80000001, 0, kEcx, 8, kNoState},
    {"xop", 0x80000001, 0, kEcx, 11, kAvxState},
    {"lwp", 0x80000001, 0, kEcx, 15, kNoState},
    {"fma4", 0x80000001, 0, kEcx, 16, kAvxState},
    {"tbm", 0x80000001, 0, kEcx, 21, kNoState},
    {"mwaitx", 0x80000001, 0, kEcx, 29, kNoState},
    {"64bit", 0x80000001, 0, kEdx, 29, kNoState},
    {"clzero", 0x80000008, 0, kEbx, 0, kNoState},
    {"rdpru", 0x80000008, 0, kEbx, 4, kNoState},
    {"wbnoinvd", 0x80000008, 0, kEbx, 9, kNoState},
};

// Features of the x86-64 micro-architecture levels (psABI), cumulative.
constexpr const char* kLevel1[] = {"64bit", "cmov", "cx8", "fxsr", "mmx", "sse", "sse2", "x87"};
constexpr const char* kLevel2[] = {"cx16", "popcnt", "sahf", "sse3", "sse4.1", "sse4.2", "ssse3"};
constexpr const char* kLevel3[] = {"avx", "avx2", "bmi", "bmi2", "f16c", "fma", "lzcnt", "movbe", "xsave"};
constexpr const char* kLevel4[] = {"avx512bw", "avx512cd", "avx512dq", "avx512f", "avx512vl"};

// Guards Cpuid's cache and the OS state below.
std::mutex& CpuidMutex() {
  static std::mutex mutex;
  return mutex;
}

// Which source Cpuid reads.
enum class CpuidSource { kGlibcCopyFirst, kInstructionOnly };

// CPUID traps to the hypervisor in a virtual machine (about 10 µs each
// here), and govrun runs this at every start. Every leaf the feature table
// uses is one glibc already read (GlibcCpuidCopy), so normally no CPUID
// instruction runs at all; otherwise each (leaf, subleaf) and each range's
// maximum leaf is queried once, and only when a feature asked about needs
// it. Callers hold CpuidMutex().
bool Cpuid(std::uint32_t leaf, std::uint32_t subleaf, std::uint32_t regs[4],
           CpuidSource source = CpuidSource::kGlibcCopyFirst) {
  if (source == CpuidSource::kGlibcCopyFirst) {
    if (const std::uint32_t* copy = support::GlibcCpuidCopy(leaf, subleaf)) {
      std::copy(copy, copy + 4, regs);
      return true;
    }
  }
  struct Entry {
    std::uint32_t leaf;
    std::uint32_t subleaf;
    bool valid;
    std::uint32_t regs[4];
  };
  static std::vector<Entry> cache;
  static std::uint32_t max_basic = 0xffffffffu;
  static std::uint32_t max_extended = 0xffffffffu;
  // Every x86-64 CPU has leaves 1 and 0x80000001 (the long-mode bit lives
  // there), so they need no maximum-leaf query; a bundle for x86-64-v2 needs
  // only these two.
  if (leaf != 1 && leaf != 0x80000001u) {
    std::uint32_t& max_slot = (leaf & 0x80000000u) != 0 ? max_extended : max_basic;
    if (max_slot == 0xffffffffu) {
      max_slot = __get_cpuid_max(leaf & 0x80000000u, nullptr);
    }
    if (max_slot == 0 || leaf > max_slot) {
      return false;
    }
  }
  for (const Entry& entry : cache) {
    if (entry.leaf == leaf && entry.subleaf == subleaf) {
      std::copy(entry.regs, entry.regs + 4, regs);
      return entry.valid;
    }
  }
  __cpuid_count(leaf, subleaf, regs[0], regs[1], regs[2], regs[3]);
  cache.push_back(Entry{leaf, subleaf, true, {regs[0], regs[1], regs[2], regs[3]}});
  return true;
}

// Which register states the OS enabled (XCR0), read once. Callers hold
// CpuidMutex().
struct OsState {
  bool xsave = false;
  bool avx = false;
  bool avx512 = false;
  bool amx = false;
};

const OsState& EnabledState() {
  static bool known = false;
  static OsState state;
  if (known) {
    return state;
  }
  known = true;
  std::uint32_t leaf1[4] = {};
  if (!Cpuid(1, 0, leaf1)) {
    return state;
  }
  state.xsave = (leaf1[kEcx] >> 27) & 1;
  std::uint64_t xcr0 = 0;
  if (state.xsave) {
    std::uint32_t low = 0;
    std::uint32_t high = 0;
    __asm__ volatile("xgetbv" : "=a"(low), "=d"(high) : "c"(0));
    xcr0 = (static_cast<std::uint64_t>(high) << 32) | low;
  }
  state.avx = state.xsave && (xcr0 & 0x6) == 0x6;
  state.avx512 = state.avx && (xcr0 & 0xE0) == 0xE0;
  state.amx = state.xsave && (xcr0 & 0x60000) == 0x60000;
  return state;
}

// Whether this CPU has the feature of table entry `entry` (and the OS its
// register state). Callers hold CpuidMutex().
bool HasEntry(const FeatureBit& entry, CpuidSource source = CpuidSource::kGlibcCopyFirst) {
  std::uint32_t regs[4] = {};
  if (!Cpuid(entry.leaf, entry.subleaf, regs, source) || ((regs[entry.reg] >> entry.bit) & 1) == 0) {
    return false;
  }
  if (entry.state == kNoState) {
    return true;
  }
  const OsState& os = EnabledState();
  return (entry.state == kXsaveOs && os.xsave) || (entry.state == kAvxState && os.avx) ||
         (entry.state == kAvx512State && os.avx512) || (entry.state == kAmxState && os.amx);
}

// Protection keys also need the OS to enable them (OSPKE). Callers hold
// CpuidMutex().
bool HasPku(CpuidSource source = CpuidSource::kGlibcCopyFirst) {
  std::uint32_t leaf7[4] = {};
  return Cpuid(7, 0, leaf7, source) && ((leaf7[kEcx] >> 3) & 1) && ((leaf7[kEcx] >> 4) & 1);
}

// One feature, querying only the CPUID leaves it needs.
bool DetectFeature(std::string_view name) {
  const std::lock_guard<std::mutex> lock(CpuidMutex());
  if (name == "pku") {
    return HasPku();
  }
  return std::any_of(std::begin(kFeatureBits), std::end(kFeatureBits),
                     [&](const FeatureBit& entry) { return entry.name == name && HasEntry(entry); });
}

std::vector<std::string> DetectFeatures(CpuidSource source = CpuidSource::kGlibcCopyFirst) {
  const std::lock_guard<std::mutex> lock(CpuidMutex());
  std::vector<std::string> features;
  for (const FeatureBit& entry : kFeatureBits) {
    if (HasEntry(entry, source)) {
      features.emplace_back(entry.name);
    }
  }
  if (HasPku(source)) {
    features.emplace_back("pku");
  }
  std::sort(features.begin(), features.end());
  features.erase(std::unique(features.begin(), features.end()), features.end());
  return features;
}

// Features implied by a CPU name that is an x86-64 level; empty for others.
std::vector<std::string> LevelFeatures(std::string_view cpu) {
  int level = 0;
  if (cpu == "x86-64") {
    level = 1;
  } else if (cpu == "x86-64-v2") {
    level = 2;
  } else if (cpu == "x86-64-v3") {
    level = 3;
  } else if (cpu == "x86-64-v4") {
    level = 4;
  }
  std::vector<std::string> out;
  if (level >= 1) {
    out.insert(out.end(), std::begin(kLevel1), std::end(kLevel1));
  }
  if (level >= 2) {
    out.insert(out.end(), std::begin(kLevel2), std::end(kLevel2));
  }
  if (level >= 3) {
    out.insert(out.end(), std::begin(kLevel3), std::end(kLevel3));
  }
  if (level >= 4) {
    out.insert(out.end(), std::begin(kLevel4), std::end(kLevel4));
  }
  return out;
}

#else

enum class CpuidSource { kGlibcCopyFirst, kInstructionOnly };

std::vector<std::string> DetectFeatures(CpuidSource = CpuidSource::kGlibcCopyFirst) {
  return {};
}
bool DetectFeature(std::string_view) {
  return false;
}
std::vector<std::string> LevelFeatures(std::string_view) {
  return {};
}

#endif

std::string NormalizeArch(std::string_view arch) {
  if (arch == "amd64") {
    return "x86_64";
  }
  if (arch == "arm64") {
    return "aarch64";
  }
  return std::string(arch);
}

}  // namespace

std::string HostArch() {
#if defined(__x86_64__)
  return "x86_64";
#elif defined(__aarch64__)
  return "aarch64";
#elif defined(__riscv) && __riscv_xlen == 64
  return "riscv64";
#elif defined(__powerpc64__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
  return "powerpc64le";
#elif defined(__s390x__)
  return "s390x";
#else
  return "unknown";
#endif
}

std::string HostTriple() {
  return HostArch() + "-unknown-linux-gnu";
}

const std::vector<std::string>& HostCpuFeatures() {
  static const std::vector<std::string> features = DetectFeatures();
  return features;
}

std::vector<std::string> HostCpuFeaturesByInstruction() {
  return DetectFeatures(CpuidSource::kInstructionOnly);
}

bool HostHasFeature(std::string_view feature) {
  // Only the leaves this feature needs (NativeIncompatibility asks about a
  // bundle's few features at every govrun start), not the whole table.
  return DetectFeature(feature);
}

std::string NativeIncompatibility(const Target& target) {
  std::vector<std::string_view> parts;
  std::size_t start = 0;
  while (start <= target.triple.size()) {
    const std::size_t dash = std::min(target.triple.find('-', start), target.triple.size());
    parts.push_back(std::string_view(target.triple).substr(start, dash - start));
    start = dash + 1;
  }
  const std::string arch = NormalizeArch(parts.empty() ? std::string_view() : parts[0]);
  if (arch != HostArch()) {
    return "the code is for " + (arch.empty() ? std::string("an unknown architecture") : arch) + ", this machine is " +
           HostArch();
  }
  if (std::find(parts.begin(), parts.end(), std::string_view("linux")) == parts.end()) {
    return "the code is for `" + target.triple + "`, not for linux";
  }
  for (const std::string& feature : LevelFeatures(target.cpu)) {
    if (!HostHasFeature(feature)) {
      return "the code is for CPU " + target.cpu + ", which needs feature " + feature + " that this CPU lacks";
    }
  }
  for (const std::string& feature : target.features) {
    if (feature.empty() || feature[0] == '-') {
      continue;
    }
    const std::string_view name = feature[0] == '+' ? std::string_view(feature).substr(1) : std::string_view(feature);
    if (!HostHasFeature(name)) {
      return "the code needs CPU feature " + std::string(name) + ", which this CPU lacks";
    }
  }
  return {};
}

}  // namespace gov::bundle
