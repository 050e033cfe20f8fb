// A small reader of ELF64 symbol tables, without LLVM: used to prove that
// generated code references no external symbol and defines only
// `gov_decide` (govc's linker, link.h, reads the object itself).
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/support/error_or.h"

namespace gov::codegen {

// The symbols of an ELF64 little-endian file (relocatable object or shared
// object), from its static (.symtab) and dynamic (.dynsym) tables. Names are
// sorted and unique; unnamed symbols are skipped.
struct ElfSymbols {
  // SHN_UNDEF, any binding.
  std::vector<std::string> undefined;
  // Defined, STB_GLOBAL or STB_WEAK, either table.
  std::vector<std::string> defined_global;
  // Defined entries of .dynsym (the exports of a shared object).
  std::vector<std::string> dynamic;
};

// Copies a T from bytes [offset, offset + sizeof(T)) if they are in range.
template <typename T>
bool ReadElfAt(std::string_view bytes, std::uint64_t offset, T& out) {
  if (offset > bytes.size() || bytes.size() - offset < sizeof(T)) return false;
  std::memcpy(&out, bytes.data() + offset, sizeof(T));
  return true;
}

// Reads the symbol tables of `elf`. Never reads out of bounds; malformed or
// non-ELF64 input is an Error.
ErrorOr<ElfSymbols> ReadElfSymbols(std::string_view elf);

}  // namespace gov::codegen
