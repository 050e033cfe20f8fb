// The NATIVE section of a format-2 bundle: a flat, position-independent code
// image that govc links itself (compiler/codegen/link.h) and the loader maps
// without a dynamic linker. docs/bundle-format.md "Native code image"
// specifies the bytes:
//
//   "GOVCODE\0"  u16 machine (ELF e_machine)  u16 0  u32 fixup count F
//   u64 code size C  u64 data offset D  u64 data size S  u64 entry offset E
//   F × u64 fixup offsets (strictly ascending)   C code bytes   S data bytes
//
// Mapped at base B: code at [B, B+C) becomes read+execute, data at
// [B+D, B+D+S) read-only; before that, for each fixup f the u64 at B+f (an
// image offset) has B added. Nothing else is relocated.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/support/error_or.h"

namespace gov::bundle {

inline constexpr std::string_view kImageMagic{"GOVCODE\0", 8};
inline constexpr std::size_t kImageHeaderSize = 48;
// The data segment starts at a multiple of this (the largest page size a
// Linux kernel uses), so code and data can get different protections.
inline constexpr std::uint64_t kImageSegmentAlign = 65536;
// Largest code or data segment an image may have.
inline constexpr std::uint64_t kImageMaxSegment = 64ull << 20;
// ELF machine numbers the loader knows.
inline constexpr std::uint16_t kMachineX86_64 = 62;
inline constexpr std::uint16_t kMachineAarch64 = 183;

// A parsed image: views into the bytes it was parsed from.
struct CodeImage {
  std::uint16_t machine = 0;
  std::uint64_t code_size = 0;
  std::uint64_t data_offset = 0;
  std::uint64_t data_size = 0;
  std::uint64_t entry = 0;
  std::string_view fixups;  // fixup count × 8 bytes, little-endian offsets
  std::string_view code;
  std::string_view data;

  std::size_t fixup_count() const { return fixups.size() / 8; }
  std::uint64_t fixup(std::size_t i) const;
  // Bytes of address space the image occupies: data_offset + data_size.
  std::uint64_t mapped_size() const { return data_offset + data_size; }
};

// Checks every rule of the format (exact magic, reserved zero, sizes within
// kImageMaxSegment, data_offset == code_size rounded up to
// kImageSegmentAlign, entry inside the code, fixups strictly ascending, each
// 8-byte slot inside the data segment and no two overlapping, each stored
// value at most mapped_size(), and the bytes end exactly after the data).
// Each violation has its own message.
ErrorOr<CodeImage> ParseCodeImage(std::string_view bytes);

// What a linker produces: code, data, entry and fixups (data already holds
// image offsets at the fixup slots).
struct CodeImageParts {
  std::uint16_t machine = 0;
  std::string code;
  std::string data;
  std::uint64_t entry = 0;
  std::vector<std::uint64_t> fixups;  // image offsets, ascending
};

// Encodes `parts` (data_offset = code size rounded up to kImageSegmentAlign).
// Does not check them; ParseCodeImage does.
std::string WriteCodeImage(const CodeImageParts& parts);

// The image offset where data starts for `code_size` bytes of code.
std::uint64_t ImageDataOffset(std::uint64_t code_size);

// "x86-64", "aarch64" or "machine N".
std::string MachineName(std::uint16_t machine);

// The ELF machine of the code this build can run (x86-64 only for now), or 0.
std::uint16_t HostMachine();

}  // namespace gov::bundle
