// glibc's copy of the CPUID leaves it read at startup (glibc_cpuid.h).
#include "runtime/support/glibc_cpuid.h"

#if defined(__x86_64__) && defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 33))
#define GOV_GLIBC_CPUID_COPY 1
// glibc's public <sys/platform/x86.h> interface (since 2.33), declared here
// because that header uses C's _Bool, which only g++ accepts in C++: the
// registers glibc read for one of its cached CPUID leaves, by leaf index.
struct GlibcCpuidLeaf {
  unsigned int cpuid_array[4];   // eax, ebx, ecx, edx as CPUID returned them
  unsigned int active_array[4];  // glibc's "usable" bits (not used here)
};
extern "C" const GlibcCpuidLeaf* __x86_get_cpuid_feature_leaf(unsigned int leaf_index);
#endif

namespace gov::support {

#if defined(GOV_GLIBC_CPUID_COPY)
// glibc executes CPUID for these leaves when every process starts (to pick
// its string functions) and keeps the registers; its copy is the hardware's
// answer (GLIBC_TUNABLES changes only glibc's separate "active" bits) and a
// leaf beyond the CPU's maximum reads as zero. Null when glibc holds no copy
// of the leaf, or did not fill that range (a vendor it does not know).
// glibc's leaf indexes (its enum CPUID_INDEX_*).
enum GlibcLeafIndex : unsigned {
  CPUID_INDEX_1 = 0,
  CPUID_INDEX_7 = 1,
  CPUID_INDEX_80000001 = 2,
  CPUID_INDEX_D_ECX_1 = 3,
  CPUID_INDEX_80000007 = 4,
  CPUID_INDEX_80000008 = 5,
  CPUID_INDEX_7_ECX_1 = 6,
  CPUID_INDEX_19 = 7,
  CPUID_INDEX_14_ECX_0 = 8,
};

const std::uint32_t* GlibcCpuidCopy(std::uint32_t leaf, std::uint32_t subleaf) {
  unsigned index = 0;
  if (leaf == 1 && subleaf == 0) {
    index = CPUID_INDEX_1;
  } else if (leaf == 7 && subleaf == 0) {
    index = CPUID_INDEX_7;
  } else if (leaf == 7 && subleaf == 1) {
    index = CPUID_INDEX_7_ECX_1;
  } else if (leaf == 0xD && subleaf == 1) {
    index = CPUID_INDEX_D_ECX_1;
  } else if (leaf == 0x14 && subleaf == 0) {
    index = CPUID_INDEX_14_ECX_0;
  } else if (leaf == 0x19 && subleaf == 0) {
    index = CPUID_INDEX_19;
  } else if (leaf == 0x80000001u && subleaf == 0) {
    index = CPUID_INDEX_80000001;
  } else if (leaf == 0x80000007u && subleaf == 0) {
    index = CPUID_INDEX_80000007;
  } else if (leaf == 0x80000008u && subleaf == 0) {
    index = CPUID_INDEX_80000008;
  } else {
    return nullptr;
  }
  // Leaf 1's signature (EAX) is never zero, nor is 0x80000001's EDX on
  // x86-64 (long mode): zero means glibc did not fill that range.
  const GlibcCpuidLeaf* basic = __x86_get_cpuid_feature_leaf(CPUID_INDEX_1);
  if (basic == nullptr || basic->cpuid_array[0] == 0 /* eax */) {
    return nullptr;
  }
  if ((leaf & 0x80000000u) != 0) {
    const GlibcCpuidLeaf* extended = __x86_get_cpuid_feature_leaf(CPUID_INDEX_80000001);
    if (extended == nullptr || extended->cpuid_array[3] == 0 /* edx */) {
      return nullptr;
    }
  }
  const GlibcCpuidLeaf* copy = __x86_get_cpuid_feature_leaf(index);
  return copy == nullptr ? nullptr : copy->cpuid_array;
}
#else
const std::uint32_t* GlibcCpuidCopy(std::uint32_t, std::uint32_t) {
  return nullptr;
}
#endif

}  // namespace gov::support
